"""The check of a whole host evidence store, as verdicts: first the store against its own
signed log (``host.verify_store``), then every enrolled device: its ledger against its
enrolled key, its media against the hashes its entries sign, what it reported gone or
damaged, the docks that refused it, its compliance flags and its recordings' timelines.

Read-only, and it prints nothing: ``sealcam verify EVIDENCE`` renders what it returns, and
the demo reads the same verdicts.
"""

from collections import Counter
from pathlib import Path

from host import compliance, i18n, timeline
from host.errors import Unusable
from host.evidence import EvidenceError, SqliteEvidenceStore
from host.i18n import text
from host.report_text import finding_text
from host.verify_store import StoreReport, StoreUnusable, check_store
from protocol.ledger import media_digest, parse_entry
from protocol.messages import GONE_DAMAGED
from protocol.registry import KIND_CHUNK
from protocol.verify import NOT_OK, OK, OK_MISSING, Finding, Report, verify_ledger

# Store findings after which its database cannot be read at all: the devices are not checked.
UNREADABLE = ("database-replaced", "database-deleted", "tables-missing")


class DeviceCheck:
    """One device's verdict: its verification report (``protocol.verify``, with the
    evidence store's own findings added), its compliance flags and its recordings."""

    def __init__(self, device_id: str, report: Report, flags: list, recordings: list) -> None:
        self.device_id = device_id
        self.report = report
        self.flags = flags
        self.recordings = recordings

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict:
        return {
            "device_id": self.device_id,
            "verification": self.report.to_dict(),
            "compliance": [f.to_dict() for f in self.flags],
            "recordings": [
                # Without the keys for the text report (``_problems``): the JSON as before.
                {
                    **{k: v for k, v in x.items() if not k.startswith("_")},
                    "id": x["id"].hex() if isinstance(x["id"], bytes) else x["id"],
                }
                for x in self.recordings
            ],
        }


class Checkup:
    """The verdict on an evidence store: the store's own, and one per device checked.
    Compliance flags are for review: they do not make it NOT OK."""

    def __init__(self, store: StoreReport, devices: list) -> None:
        self.store = store
        self.devices: list[DeviceCheck] = devices

    @property
    def ok(self) -> bool:
        return self.store.ok and all(d.ok for d in self.devices)

    def to_dict(self) -> dict:
        return {"store": self.store.to_dict(), "devices": [d.to_dict() for d in self.devices]}


def check_evidence(
    path: Path,
    device: str | None = None,
    policy: compliance.Policy | None = None,
    witness: bytes | None = None,
    host_key: tuple | None = None,
) -> Checkup:
    """Check the evidence store at ``path``: every enrolled device, or only ``device``.

    ``witness`` is a checkpoint kept elsewhere (the signed note's bytes) that the store's log
    must extend; ``host_key`` ``(kid, public)`` pins the key its checkpoints must be signed
    with. Unusable when the store cannot be checked at all, or ``device`` is not enrolled.
    """
    try:
        whole = check_store(path, witness, host_key)
    except StoreUnusable as exc:  # one line, in the reader's language
        raise Unusable(finding_text(exc)) from None
    readable = not any(f.code in UNREADABLE for f in whole.findings)
    if not readable:
        return Checkup(whole, [])
    store = SqliteEvidenceStore(path, readonly=True)
    try:
        devices = [device] if device else store.devices()
        checks = []
        for device_id in devices:
            public = store.device_key(device_id)
            if public is None and not whole.ok:
                continue  # gone from the register: the store's findings name what went
            if public is None:
                raise Unusable(text("evidence.not_enrolled", device=device_id, path=path))
            checks.append(
                _check_device(
                    store, device_id, public, policy or compliance.Policy(), whole.deleted_media
                )
            )
    finally:
        store.close()
    return Checkup(whole, checks)


def _check_device(
    store: SqliteEvidenceStore,
    device: str,
    public: bytes,
    policy: compliance.Policy,
    deleted: "dict[bytes, str] | None" = None,
) -> DeviceCheck:
    raws = store.entries(device)
    report = verify_ledger(b"".join(raws), device, public)
    entries = [parse_entry(r) for r in raws]
    received = {e.seq: store.received_ms(device, e.seq) for e in entries}
    # What the device said of media it could not give, for media still not held here
    # (a file it delivered after all is whole evidence; its report stays as history).
    gone = [g for g in store.gone_media(device) if not store.has_media(g["digest"])]
    flags = compliance.check(entries, received, policy, gone, _media_reader(store))
    recs = timeline.recordings(entries)
    media = store.check_media(entries)
    altered = [seq for seq, problem in media if problem == "altered"]
    digests = {e.seq: media_digest(e.fields) for e in entries if e.kind == KIND_CHUNK}
    for seq, problem in media:
        item = (deleted or {}).get(digests.get(seq, b""))
        if item is not None and problem == "missing":  # the store's findings say by whom
            report.findings.append(
                Finding(
                    "media-missing", i18n.text("retention.verify_chunk", seq=seq, item=item), seq
                )
            )
            continue
        report.findings.append(_media_finding(seq, problem))
    damaged = [
        (chunk.seq, rep)
        for chunk, reason, rep in compliance.gone_chunks(entries, gone)
        if reason == GONE_DAMAGED
    ]
    for seq, rep in damaged:
        report.findings.append(
            Finding(
                "media-damaged-on-device",
                "the device holds the media of chunk seq %d, but it no longer matches the "
                "SHA-256 its signed entry names: the footage was changed or corrupted on "
                "the device (%s)" % (seq, compliance.reported(rep)),
                seq,
                msg_id="finding.media-damaged-on-device",
                fields={"seq": seq, "reported": compliance.reported_said(rep)},
            )
        )
    refusals = [s for s in store.sessions(device) if s["result"].startswith("refused:")]
    # A device refused once is refused at every dock until it is repaired: one finding
    # per reason, with how many docks it ended. (A refused entry may be validly signed:
    # a field out of bounds, so the reason, not a guess, says what is wrong.)
    reasons = Counter(s["result"][len("refused: ") :] for s in refusals)
    for reason, docks in reasons.items():
        report.findings.append(
            Finding(
                "refused-at-dock",
                "at %s the host refused ledger data the device offered (%s): what "
                "follows it cannot be collected until the device's ledger is repaired"
                % ("a dock" if docks == 1 else "%d docks" % docks, reason),
                msg_id="finding.refused-at-dock" + ("" if docks == 1 else ".docks"),
                fields={"docks": docks, "reason": reason},
            )
        )
    held_next = max((e.seq for e in entries), default=-1) + 1
    sessions = store.sessions(device)
    short = compliance.not_collected(device, sessions, held_next)
    if short:
        msg_id, fields = compliance.not_collected_said(device, sessions, held_next) or ("", {})
        report.findings.append(
            Finding("entries-not-collected", short, held_next, msg_id=msg_id, fields=fields)
        )
    if altered or refusals or damaged:
        report.state = NOT_OK
    elif (media or short) and report.state == OK:
        report.state = OK_MISSING
    return DeviceCheck(device, report, flags, recs)


def _media_reader(store: SqliteEvidenceStore) -> "compliance.MediaReader":
    """Stored media by digest for the compliance checks that listen to it; None when the
    store lacks it (the media checks report that)."""

    def read(digest: bytes) -> bytes | None:
        try:
            return store.read_media(digest)
        except EvidenceError:
            return None

    return read


def _media_finding(seq: int, problem: str) -> Finding:
    if problem == "altered":
        return Finding(
            "media-altered",
            "the stored media of chunk seq %d no longer matches the SHA-256 its signed entry "
            "names: the footage was changed in the evidence store" % seq,
            seq,
            msg_id="finding.media-altered",
            fields={"seq": seq},
        )
    return Finding(
        "media-missing",
        "the media of chunk seq %d is not in the evidence store (not yet pulled, or removed)" % seq,
        seq,
        msg_id="finding.media-missing",
        fields={"seq": seq},
    )
