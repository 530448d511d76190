"""What the review page's tests share: an evidence store with two fMP4 recordings of officer
P-0427 (each with a pause, its spoken reason and a GPS track; the second one restricted),
an account for every role and a second officer, a clock the test moves by hand; both
recordings drawn for review, the device in the register (unit U-1, held by the officer)
and the host key set, so that a court package can be made; and a case holding both
recordings (a search: recorded in full, so the pauses are flagged), under a legal hold."""

from host import cases, items, people, registers, restricted, retention, review, sampling, settings
from protocol.registry import EV_ANNOUNCEMENT, EV_RECORD_START, F_DETAIL, F_GPS, KIND_CHUNK
from tests.host import fmp4
from tests.host.deskstore import START_MS, Clock
from tests.host.helpers import ACCOUNT_PASSWORD, host_keys, sign_checkpoint, with_accounts
from tests.protocol.helpers import DEVICE

PASSWORD = ACCOUNT_PASSWORD
OFFICER = fmp4.OFFICER
FIRST = "%s/%d" % (DEVICE, 1)  # the first recording's item id (its record-start's seq)
ACCOUNTS = (
    ("clerk", (people.CLERK,), None),
    ("legal", (people.LEGAL,), None),
    ("approver", (people.APPROVER,), None),
    ("admin", (people.ADMINISTRATOR,), None),
    ("officer", (people.OFFICER,), OFFICER),
    ("stranger", (people.OFFICER,), "P-0999"),  # another officer: none of these are theirs
)
UNIT = "U-1"
# A case number as agencies write them: brackets, a Chinese one among them.
CASE = "峨公(治)行罚决字〔2026〕42号"
# Where the track starts: Shanghai, People's Square, in degrees x 1e7.
LAT0, LON0 = 312_304_000, 1_214_737_000


class _Walker(fmp4._Builder):
    """The test builder, its chunks carrying a position that moves north-east (R-DEV-13)."""

    def __init__(self) -> None:
        self.steps = 0
        super().__init__()
        write = self.writer.append_entry

        def with_gps(kind, fields, *rest):
            if kind == KIND_CHUNK:
                self.steps += 1
                fields = {**fields, F_GPS: [LAT0 + self.steps * 900, LON0 + self.steps * 600, 8]}
            return write(kind, fields, *rest)

        self.writer.append_entry = with_gps

    def again(self) -> None:
        """Start the next recording on the same device, as the recorder would."""
        self.rec = fmp4.Recording()
        self.index = self.sequence = self.audio_time = 0
        self.mono += 3000
        self.rec.origin_mono = self.mono
        self.rec.rec_id = self.writer.seq.to_bytes(8, "big")
        self.event(
            EV_RECORD_START, self.mono, {F_DETAIL: {"pre_frames": 0, "origin_mono": self.mono}}
        )


def _one(b: _Walker, gops_before: int, gops_after: int) -> fmp4.Recording:
    gops = gops_before + gops_after
    samples, avcc = fmp4.encode_video(gops * fmp4.FPS)
    background, asc = fmp4.encode_audio(fmp4.tone(gops + 2, level=0.05, hz=300))
    spoken, _ = fmp4.encode_audio(fmp4.tone(2.0, hz=520))
    b.event(EV_ANNOUNCEMENT, b.mono, {F_DETAIL: {"prompted_ms": fmp4.T0 + b.mono}})
    b.init(fmp4.mp4.init_segment(fmp4.tracks(avcc, asc)))
    for g in range(gops):
        if g == gops_before:
            b.pause(3, spoken)
        b.gop(samples[g * fmp4.FPS : (g + 1) * fmp4.FPS], background)
    return b.stop()


def recordings() -> "tuple[list, dict, list]":
    """Two recordings on the test device: (all entries, all media, [each Recording])."""
    b = _Walker()
    first = _one(b, 3, 3)
    media = dict(first.media)
    b.again()
    second = _one(b, 2, 2)
    media.update(second.media)
    return [e.raw for e in first.entries + second.entries], media, [first, second]


def make(path) -> "tuple[object, list]":
    """The store at ``path`` (open) and the two Recordings; the second is restricted."""
    from host.evidence import SqliteEvidenceStore
    from tests.protocol.helpers import device_key

    raws, media, recs = recordings()
    ev = SqliteEvidenceStore(path)
    ev.enrol(DEVICE, device_key().public)
    ev.add_entries(DEVICE, raws, fmp4.T0 + 3_600_000)
    for sha, data in media.items():
        ev.put_media(sha, data)
    with_accounts(ev, ACCOUNTS)
    second = second_id(recs)
    host_keys(path.parent)
    ev.add_tables(sampling.SCHEMA)
    ev.add_tables(review.SCHEMA)
    ev.add_tables(retention.SCHEMA)
    with ev.write() as cur:
        restricted.mark(cur, second, restricted.PRIVATE, "a witness's home", "clerk", START_MS)
        settings.put(cur, settings.HOST_KEY, str(path.parent / "host.key"))
        registers.add_unit(cur, UNIT, "人民广场派出所", "A", 4, None)
        registers.set_member(cur, OFFICER, UNIT)
        registers.register(cur, DEVICE, "DSJ-V9", "SN-0001", UNIT, "王保管", "clerk", START_MS)
        registers.checkout(cur, DEVICE, OFFICER, START_MS + 8 * 3_600_000, "clerk", START_MS)
        # Both recordings drawn for review (a draw of two from two), as sealcam review would.
        plan, _ = sampling.make_plan(cur, None, OFFICER, 0, 2**62, None, 2, "legal", START_MS)
        sampling.draw(cur, plan.plan_id, "legal", START_MS, bytes(32))
        items.refresh(cur)
        cases.add(
            cur,
            cases.Case(
                CASE,
                "search",
                "搜查涉案车辆",
                "王警官",
                "人民广场",
                START_MS,
                START_MS,
                None,
                False,
                "clerk",
                START_MS,
            ),
        )
        for item in (FIRST, second):
            cases.link(cur, CASE, item, "clerk", START_MS)
        cases.note(cur, FIRST, cases.EVIDENCE, "搜查经过", "clerk", START_MS)
        retention.place_hold(cur, None, CASE, "诉讼中", "legal", START_MS)
    return ev, recs


HTML = {"accept": "text/html"}
BASE = "https://127.0.0.1"  # Secure cookies: the test client sends them over https only


def app_on(ev, clock=None, limiter=None):
    """The review page on ``ev``, with the test clock and the checkpoint signer."""
    from host.web.app import create_app
    from host.web.state import Web

    web = Web(ev, clock or Clock(), sign_checkpoint)
    if limiter is not None:
        web.limiter = limiter
    return create_app(ev, web=web)


def csrf_in(html: str) -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def logged_in(app, name: str, password: str = PASSWORD):
    """A test client logged in to ``app`` as ``name``."""
    from starlette.testclient import TestClient

    c = TestClient(app, base_url=BASE)
    token = csrf_in(c.get("/login").text)
    r = c.post(
        "/login",
        data={"csrf": token, "name": name, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def second_id(recs: list) -> str:
    return "%s/%d" % (DEVICE, int.from_bytes(recs[1].rec_id, "big"))


__all__ = ["PASSWORD", "START_MS", "Clock", "make", "sign_checkpoint"]
