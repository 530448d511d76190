"""``sealcam serve`` and ``sealcam export`` (the one-file MP4 and the court package) on both
stores (issue 18: "every command works on both"): the embedded store (a folder) and the
scale-out one (PostgreSQL and Ceph's S3 gateway), each started and run as a person does,
``--evidence DIR`` or ``--evidence postgresql://... --media s3://B``. The review page serves a
recording's footage by range from either store's media (files, or objects read with S3 range
requests) and puts the look on the audit trail; an export is an MP4 and a court package that
``sealcam verify`` accepts. Faults: the object store away while a range is served (503 and
one line, no traceback); an object missing or changed under an export (refused, the chunk
named, the refusal on record)."""
# micropython: skip (host code, real services)

import hashlib
import json
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from host import audit, i18n, items, settings
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from protocol.ledger import media_digest, parse_entry
from protocol.registry import F_RECORDING, KIND_CHUNK
from tests.host import courtstore
from tests.host.helpers import ACCOUNT_PASSWORD, SEALCAM, sign_checkpoint, with_accounts
from tests.protocol.helpers import DEVICE
from tests.scaleout.helpers import copy_into_scaleout

CLERK = courtstore.CLERK
WAIT_S = 180  # a bound on a server's start or end, reached only when it is broken


class Room:
    """One store of either kind holding one fMP4 recording, with accounts and the host key
    set: the store open here, its ``--evidence``/``--media`` arguments, the recording's item
    and the bytes the page must serve for it (its chunks' media end to end, in ledger order)."""

    def __init__(self, store, where: tuple, item: str, footage: bytes, digests: list) -> None:
        self.store = store
        self.where = where
        self.item = item
        self.footage = footage
        self.digests = digests

    def trail(self) -> list:
        with self.store.read() as cur:
            return audit.history(cur)

    @property
    def scaleout(self) -> bool:
        return "--media" in self.where


def _recording_media(src: SqliteEvidenceStore) -> "tuple[bytes, list]":
    entries = [parse_entry(raw) for raw in src.entries(DEVICE)]
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    rec = chunks[0].fields[F_RECORDING]
    digests = [media_digest(e.fields) for e in chunks if e.fields.get(F_RECORDING) == rec]
    return b"".join(src.read_media(d) for d in digests), digests


def _room(request, tmp_path, monkeypatch, path: Path):
    """The store ``path`` as the test's kind of store (the scale-out one: a copy)."""
    i18n.use("en")
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    monkeypatch.delenv("SEALCAM_USER", raising=False)
    item = courtstore.the_item(path)
    src = SqliteEvidenceStore(path, readonly=True)
    footage, digests = _recording_media(src)
    if request.param == "embedded":
        src.close()
        store = SqliteEvidenceStore(path)
        where: tuple = ("--evidence", str(path))
    else:
        url, media = request.getfixturevalue("scale_store")
        store = copy_into_scaleout(src, url, media)
        src.close()
        with_accounts(store, courtstore.ACCOUNTS)
        with store.write() as cur:
            settings.put(cur, settings.HOST_KEY, str(tmp_path / "host.key"))
            items.refresh(cur)
        sign_checkpoint(store)
        where = ("--evidence", url, "--media", media)
    return Room(store, where, item, footage, digests)


@pytest.fixture(params=["embedded", "scaleout"])
def room(request, tmp_path, monkeypatch):
    """Either store, holding one fMP4 recording."""
    made = _room(request, tmp_path, monkeypatch, courtstore.fmp4_store(tmp_path))
    yield made
    made.store.close()
    i18n.use(None)


@pytest.fixture(params=["embedded", "scaleout"])
def raw_room(request, tmp_path, monkeypatch):
    """Either store, holding one raw recording (JPEG frames, PCM sound)."""
    made = _room(request, tmp_path, monkeypatch, courtstore.raw_store(tmp_path))
    yield made
    made.store.close()
    i18n.use(None)


# --- the review page ------------------------------------------------------------------------


class Answer:
    def __init__(self, status: int, headers, content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content
        self.text = content.decode("utf-8", "replace")


class Browser:
    """A client of a running ``sealcam serve`` that keeps its cookies by hand: the page's
    are Secure, which a client sends only over https, and this server is plain loopback."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        where = urlsplit(url)
        self.host, self.port = where.hostname, where.port
        self.cookies: dict = {}

    def _ask(self, method: str, path: str, body: "bytes | None", headers: dict) -> Answer:
        import http.client

        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            cookie = "; ".join("%s=%s" % kv for kv in self.cookies.items())
            conn.request(method, path, body=body, headers=dict(headers, Cookie=cookie))
            r = conn.getresponse()
            answer = Answer(r.status, r.headers, r.read())
        finally:
            conn.close()
        for line in answer.headers.get_all("set-cookie") or []:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in line.lower() or not value.strip('"'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        return self._ask("GET", path, None, headers)

    def post(self, path: str, form: dict) -> Answer:
        from urllib.parse import urlencode

        return self._ask("POST", path, urlencode(form).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    def login(self, name: str) -> None:
        from urllib.parse import urlencode

        page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        form = {"csrf": token, "name": name, "password": ACCOUNT_PASSWORD, "next": "/"}
        r = self._ask("POST", "/login", urlencode(form).encode(),
                      {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert r.status_code == 303, r.text


class Server:
    """``sealcam serve`` on loopback, in its own process, ended with Ctrl-C."""

    def __init__(self, where: tuple, env: "dict | None" = None) -> None:
        import os

        self.p = subprocess.Popen(
            [*SEALCAM, "serve", *where, "--listen", "127.0.0.1:0", "--lang", "en"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})),
        )  # fmt: skip
        first = self.p.stdout.readline()
        found = re.search(r"http://\S+/", first)
        if found is None:
            self.p.kill()
            raise AssertionError("serve did not start: %r %s" % (first, self.p.stderr.read()))
        self.url = found.group(0)

    def stop(self) -> "tuple[int, str, str]":
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            out, err = self.p.communicate(timeout=WAIT_S)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
        return self.p.returncode, out, err


def _media_url(item: str) -> str:
    device, number = items.parse_id(item)
    return "/media/%s/%d/footage.mp4" % (device, number)


def test_serve_plays_a_recording_by_range_and_records_the_look(room):
    # Issue 18 (serve on both stores), issue 16 (range requests; views and plays on the
    # audit trail, R-HOST-5): a seek reads from the store's media, files or objects.
    server = Server(room.where)
    try:
        b = Browser(server.url)
        b.login(CLERK)
        page = b.get("/recording/" + room.item)
        assert page.status_code == 200, server.stop()[2][-3000:]
        assert 'class="chunk altered"' not in page.text
        whole = b.get(_media_url(room.item))
        assert whole.status_code == 200 and whole.content == room.footage
        size = len(room.footage)
        for first, last in ((0, 99), (1000, size // 2), (size - 777, size - 1)):
            got = b.get(_media_url(room.item), Range="bytes=%d-%d" % (first, last))
            assert got.status_code == 206, got.text
            assert got.headers["Content-Range"] == "bytes %d-%d/%d" % (first, last, size)
            assert got.content == room.footage[first : last + 1]
        past = b.get(_media_url(room.item), Range="bytes=%d-" % (size + 10))
        assert past.status_code == 416
    finally:
        code, _out, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    looks = [(r.actor, r.action, r.item) for r in room.trail() if r.actor == CLERK]
    assert (CLERK, audit.LOGIN, CLERK) in looks and (CLERK, audit.VIEW, room.item) in looks
    assert looks.count((CLERK, audit.PLAY, room.item)) == 1  # one play, however many ranges


def test_a_raw_recording_plays_through_its_derivative_made_from_the_store(raw_room):
    # Issue 18 (serve on both stores), issue 16: a raw recording's derivative is made from
    # the store's media (on the scale-out store: its objects, fetched), played by range,
    # and its play on the audit trail names it.
    import time

    device, number = items.parse_id(raw_room.item)
    base = "/media/%s/%d/derivative" % (device, number)
    server = Server(raw_room.where)
    try:
        b = Browser(server.url)
        b.login(CLERK)
        page = b.get("/recording/" + raw_room.item)
        assert page.status_code == 200, server.stop()[2][-3000:]
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        started = b.post(base, {"csrf": token})
        assert started.status_code == 200, started.text
        for _ in range(WAIT_S * 10):  # polled until made, generously bounded
            state = json.loads(b.get(base + ".json").text)
            if state["state"] != "making":
                break
            time.sleep(0.1)
        assert state["state"] == "ready", state
        got = b.get(state["src"], Range="bytes=0-")
        assert got.status_code == 206
        assert hashlib.sha256(got.content).hexdigest() == state["sha256"]
        assert {o["sha256"] for o in state["of"]} <= {d.hex() for d in raw_room.digests}
    finally:
        code, _out, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    plays = [r for r in raw_room.trail() if r.action == audit.PLAY and r.actor == CLERK]
    assert plays[-1].details.get("derivative") == state["item"]


class Relay:
    """A TCP relay on loopback in front of the object store, which the test can cut: the
    object store, as the server sees it, gone away (every connection closed, new ones
    refused), and back."""

    def __init__(self, target: "tuple[str, int]") -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list = []
        self.up = True
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.up:
                    client.close()
                    continue
                upstream = socket.create_connection(self.target)
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(1 << 16):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self.lock:
            self.up = False
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.open = []
        # New connections are refused outright: nothing listens any more.
        self.listener.close()

    def close(self) -> None:
        if self.up:
            self.cut()


def test_serve_says_503_in_one_line_when_the_object_store_is_away(room, services):
    # Issue 18's faults: the object store down while a range is served: a clear 503, one
    # line on the server's stderr, no traceback; the audit trail has the play.
    if not room.scaleout:
        pytest.skip("the embedded store has no object store to lose")
    import os
    from urllib.parse import urlsplit

    endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL_S3"])
    relay = Relay((endpoint.hostname, endpoint.port))
    server = Server(room.where, {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:%d" % relay.port})
    try:
        b = Browser(server.url)
        b.login(CLERK)
        first = b.get(_media_url(room.item), Range="bytes=0-999")
        assert first.status_code == 206 and first.content == room.footage[:1000]
        relay.cut()
        away = b.get(_media_url(room.item), Range="bytes=2000-2999")
        assert away.status_code == 503
        assert away.headers.get("Retry-After")
        assert away.text.strip() == i18n.text("web.media.unavailable", "en")
        assert "Traceback" not in away.text
        zh = b.get(_media_url(room.item), Range="bytes=2000-2999", **{"Accept-Language": "zh"})
        assert zh.status_code == 503 and zh.text.strip() == i18n.text("web.media.unavailable", "zh")
    finally:
        relay.close()
        code, _out, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    said = [line for line in err.splitlines() if line.strip()]
    assert said and all(line.startswith("sealcam serve: ") for line in said), err


def _waiting_for_a_lock(url: str) -> int:
    """How many sessions of the database at ``url`` wait for an advisory lock."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
    return int(row[0])


def test_serve_ends_at_ctrl_c_while_its_work_waits_on_the_store(room):
    # Issue 16 (Ctrl-C ends the server, nothing half-written), issue 18 (serve on both
    # stores): another host holds the store's write lock, so a page's record and the
    # preparer's next step wait for it in the database, with no end of their own, when
    # Ctrl-C comes. The server still ends within its bound, exit 0, no traceback, what
    # waited rolled back (the audit trail's chain whole, without the held page's record).
    if not room.scaleout:
        pytest.skip("the embedded store's writer waits for a lock only SQLite's busy timeout")
    import psycopg

    url = room.where[1]
    server = Server(room.where)
    try:
        b = Browser(server.url)
        b.login(CLERK)
        assert b.get("/recording/" + room.item).status_code == 200
        before = len(room.trail())
        held = threading.Thread(target=_ask_quietly, args=(b, "/recording/" + room.item))
        held.daemon = True
        with psycopg.connect(url, autocommit=True) as other:
            from host.pgstore import WRITE_LOCK

            other.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))  # another host's
            held.start()  # the page's view record, then the preparer, wait for it
            for _ in range(WAIT_S * 10):  # polled until the server waits, bounded
                if _waiting_for_a_lock(url):
                    break
                threading.Event().wait(0.1)
            assert _waiting_for_a_lock(url), "the page's record never waited for the lock"
            code, _out, err = server.stop()  # Ctrl-C, the lock still held
    finally:
        if server.p.poll() is None:
            server.stop()
    assert code == 0 and "Traceback" not in err, err
    said = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("sealcam serve: ") for line in said), err
    with room.store.read() as cur:
        rows = cur.execute("SELECT %s FROM audit ORDER BY seq" % audit.COLUMNS).fetchall()
    assert audit.chain_problems(rows) == []
    assert len(room.trail()) == before  # the held page's record: none, not half of one


def _ask_quietly(b: "Browser", path: str) -> None:
    """``b.get(path)``, whatever becomes of it (the server may end under it)."""
    try:
        b.get(path)
    except OSError:
        pass


def _case_of(room: Room, case_no: str) -> None:
    """A case in ``room``'s store holding its recording."""
    from host import access, cases

    access.prepare(room.store)
    at = 1_770_000_000_000
    with room.store.write() as cur:
        cases.add(cur, cases.Case(case_no, "search", "搜查涉案车辆", "王警官", "人民广场",
                                  at, at, None, False, CLERK, at))  # fmt: skip
        cases.link(cur, case_no, room.item, CLERK, at)


def _press(b: Browser, page: str, action: str) -> Answer:
    """The form posting to ``action`` on ``page``, sent with the page's CSRF token."""
    shown = b.get(page)
    assert shown.status_code == 200 and 'action="%s"' % action in shown.text, shown.text[-2000:]
    token = re.search(r'name="csrf" value="([^"]+)"', shown.text).group(1)
    return b.post(action, {"csrf": token, "purpose": "审查", "place": "法院"})


def test_the_court_package_buttons_make_packages_that_verify(room, tmp_path):
    # Issue 18 (every command works on both stores), issues 15 and 16: the court-package
    # buttons of the recording's page and of its case's page make, on either store, an ISO
    # that sealcam verify accepts, each on the audit trail with the package it made; on the
    # scale-out store from the objects, fetched, and nothing of them left once it ends.
    from urllib.parse import quote

    case_no = "峨公(治)行罚决字〔2026〕7号"
    _case_of(room, case_no)
    device, number = items.parse_id(room.item)
    server = Server(room.where)
    made = []
    try:
        b = Browser(server.url)
        b.login(CLERK)
        for page, action in (
            ("/recording/" + room.item, "/export/%s/%d" % (device, number)),
            ("/case/" + quote(case_no), "/case-export/" + quote(case_no)),
        ):
            pressed = _press(b, page, action)
            assert pressed.status_code == 303, pressed.text[-2000:]
            name = pressed.headers["Location"].rsplit("/", 1)[1]
            iso = b.get("/exports/%s/package.iso" % name)
            assert iso.status_code == 200, iso.text[-2000:]
            (tmp_path / (name + ".iso")).write_bytes(iso.content)
            made.append(name)
            last = room.trail()[-1]
            assert (last.actor, last.action, last.item, last.outcome) == (
                CLERK, audit.EXPORT, room.item, audit.DONE)  # fmt: skip
            assert last.details["package"] == name and last.details["manifest_sha256"]
    finally:
        code, _out, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    for name in made:
        checked = _verify(tmp_path / (name + ".iso"))
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert len(made) == 2
    if room.scaleout:  # the packages' private folder went with the server
        import tempfile

        left = Path(tempfile.gettempdir()).glob("sealcam-exports-*/" + made[0])
        assert list(left) == []


def test_the_package_button_refuses_a_recording_whose_media_is_missing(room):
    # Issue 18's faults on the page, R-HOST-5: a chunk's media gone (a file removed, an
    # object the bucket does not hold): the button is refused in one line naming the
    # chunk, nothing is offered, and the refusal is on the audit trail.
    device, number = items.parse_id(room.item)
    _spoil(room, room.digests[2], "missing")
    server = Server(room.where)
    try:
        b = Browser(server.url)
        b.login(CLERK)
        pressed = _press(b, "/recording/" + room.item, "/export/%s/%d" % (device, number))
        assert pressed.status_code in (400, 403), pressed.text[-2000:]
        assert "Traceback" not in pressed.text
    finally:
        code, _out, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    last = room.trail()[-1]
    assert (last.actor, last.action, last.item) == (CLERK, audit.EXPORT, room.item)
    assert last.outcome != audit.DONE


# --- the one-file export and the court package -------------------------------------------


def _export(monkeypatch, room: Room, out: Path, *extra: str) -> int:
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    try:
        return main(["export", *room.where, "--out", str(out), "--user", CLERK, *extra])
    finally:
        i18n.use(None)


def _verify(path: Path) -> "subprocess.CompletedProcess":
    return subprocess.run([*SEALCAM, "verify", str(path), "--lang", "en"],
                          capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip


def test_export_makes_an_mp4_that_verifies_and_records_it(room, tmp_path, monkeypatch, capsys):
    # Issue 18 (export on both stores), R-HOST-4/R-HOST-5: the signed fragments byte for
    # byte, the export on the store's audit trail, the file registered as a derivative.
    device, number = items.parse_id(room.item)
    out = tmp_path / "out" / "rec.mp4"
    out.parent.mkdir()
    code = _export(monkeypatch, room, out, "--device", device, "--recording", str(number))
    said = capsys.readouterr()
    assert code == 0, said.err
    checked = _verify(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["rec.mp4", "rec.mp4.json"]
    last = room.trail()[-1]
    assert (last.actor, last.action, last.item, last.outcome) == (
        CLERK, audit.EXPORT, room.item, audit.DONE)  # fmt: skip
    assert last.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_court_package_verifies(room, tmp_path, monkeypatch, capsys):
    # Issue 18 (the court package on both stores), issue 15: the package's originals are
    # the signed fragments, and sealcam verify PACKAGE accepts it.
    out = tmp_path / "pkg"
    code = _export(monkeypatch, room, out, "--recording", room.item, "--iso",
                   str(tmp_path / "pkg.iso"))  # fmt: skip
    said = capsys.readouterr()
    assert code == 0, said.err
    for made in (out, tmp_path / "pkg.iso"):
        checked = _verify(made)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    last = room.trail()[-1]
    assert (last.actor, last.action, last.item, last.outcome) == (
        CLERK, audit.EXPORT, room.item, audit.DONE)  # fmt: skip


def test_a_court_package_reads_its_recordings_span_once(room, tmp_path, monkeypatch, capsys):
    # The span read to fetch a recording's media from the bucket is the one the package
    # builds from, not read a second time (on the embedded store: read once as well).
    from host import spans

    read: list = []
    real = spans.read

    def counted(store, device_id, rec_id):
        read.append((device_id, rec_id))
        return real(store, device_id, rec_id)

    monkeypatch.setattr(spans, "read", counted)
    device, number = items.parse_id(room.item)
    code = _export(monkeypatch, room, tmp_path / "pkg", "--recording", room.item)
    assert code == 0, capsys.readouterr().err
    assert read.count((device, number.to_bytes(8, "big"))) == 1


def _tamper(room: Room, sql: str, params: tuple) -> None:
    """Change the store's entries table behind its back (``?`` for each parameter), as one
    who could write to its database would."""
    if room.scaleout:
        import psycopg

        with psycopg.connect(room.where[1], autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), params)
        return
    import sqlite3

    db = sqlite3.connect(Path(room.where[1]) / "evidence.db")
    try:
        db.execute(sql, params)
        db.commit()
    finally:
        db.close()


@pytest.mark.parametrize(
    "how", ["start deleted", "start to the end deleted", "link into it changed", "and media gone"]
)
def test_a_court_package_of_a_tampered_span_is_not_ok(room, tmp_path, monkeypatch, capsys, how):
    # R-HOST-5, on both stores (the scale-out one through its fetched media): the package
    # verifies its recording's span, linked to the entry before it, as an export does. A
    # record-start row deleted is a broken ledger (exit 1, not authentic), not "no such
    # recording"; the store's hash of the entry before the span changed (every entry of
    # the span still proven in the host log) is found by the chain, beside the copy. With
    # a fragment's media gone as well, so that the package cannot be made (exit 2 alone),
    # the broken ledger is still what is said (on the scale-out store: beside the fetch).
    device, number = items.parse_id(room.item)
    assert number > 0
    if how == "start deleted":
        _tamper(room, "DELETE FROM entries WHERE device_id = ? AND seq = ?", (device, number))
    elif how == "start to the end deleted":  # nothing after it left: the host log tells
        _tamper(room, "DELETE FROM entries WHERE device_id = ? AND seq >= ?", (device, number))
    else:
        _tamper(room, "UPDATE entries SET hash = ? WHERE device_id = ? AND seq = ?",
                (b"\xab" * 32, device, number - 1))  # fmt: skip
    if how == "and media gone":
        _spoil(room, room.digests[2], "missing")
    out = tmp_path / "pkg"
    code = _export(monkeypatch, room, out, "--recording", room.item)
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "NOT OK" in err and room.item in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name or ".sealcam" in p.name]
    last = room.trail()[-1]
    assert (last.actor, last.action, last.item, last.outcome) == (
        CLERK, audit.EXPORT, room.item, audit.REFUSED)  # fmt: skip
    assert last.details["reason"] == "not-authentic"


def test_the_newest_recording_deleted_to_the_ledgers_end_is_not_ok(
    room, tmp_path, monkeypatch, capsys
):
    # R-HOST-5, on both stores: with no number given the export asks the store for the
    # newest recording; every row from its start to the ledger's end deleted, the host
    # log still names them: NOT OK (exit 1) and on record, not "no recording with video".
    device, number = items.parse_id(room.item)
    _tamper(room, "DELETE FROM entries WHERE device_id = ? AND seq >= ?", (device, number))
    out = tmp_path / "out" / "rec.mp4"
    out.parent.mkdir()
    code = _export(monkeypatch, room, out, "--device", device)
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "NOT OK" in err and device in err, err
    assert "the newest recording was deleted" in err and "seq %d to " % number in err, err
    assert list(out.parent.iterdir()) == []
    last = room.trail()[-1]
    assert (last.actor, last.action, last.item, last.outcome) == (
        CLERK, audit.EXPORT, None, audit.REFUSED)  # fmt: skip
    assert last.details["reason"] == "not-authentic" and last.details["device"] == device


def _spoil(room: Room, digest: bytes, how: str) -> None:
    """The media of ``digest`` changed or gone behind the store's back. In the embedded
    store: its file edited or removed. In the bucket, whose versions are locked (COMPLIANCE)
    and cannot be changed or deleted: the store's record pointed at a new version holding
    other bytes, or at a version the bucket does not hold, which is what a reader of the
    recorded version meets when an object was changed or lost."""
    if not room.scaleout:
        path = room.store.media_file(digest)
        if how == "missing":
            path.unlink()
        else:
            data = bytearray(path.read_bytes())
            data[-1] ^= 1
            path.chmod(0o644)
            path.write_bytes(bytes(data))
        return
    media = room.store.media
    from host.s3media import _key

    if how == "missing":
        # A recorded version the bucket does not hold: what a lost object looks like.
        with room.store.write() as cur:
            gone = ("no-such-version", digest)
            cur.execute("UPDATE media SET version = ? WHERE digest = ?", gone)
        return
    data = bytearray(media.read(digest))
    data[-1] ^= 1
    answer = media.s3.put_object(Bucket=media.bucket, Key=_key(digest), Body=bytes(data))
    with room.store.write() as cur:
        cur.execute("UPDATE media SET version = ? WHERE digest = ?", (answer["VersionId"], digest))


@pytest.mark.parametrize("how", ["altered", "missing"])
def test_an_export_of_changed_or_missing_media_is_refused_and_recorded(
    room, tmp_path, monkeypatch, capsys, how
):
    # Issue 18's faults, R-HOST-5: an object changed or gone under an export: refused,
    # the chunk named, nothing written, the refusal on the audit trail.
    device, number = items.parse_id(room.item)
    _spoil(room, room.digests[2], how)
    out = tmp_path / "out" / "rec.mp4"
    out.parent.mkdir()
    code = _export(monkeypatch, room, out, "--device", device, "--recording", str(number))
    said = capsys.readouterr()
    assert code == (1 if how == "altered" else 2), said.err
    assert "Traceback" not in said.err and len(said.err.strip().splitlines()) == 1, said.err
    assert "seq" in said.err
    assert list(out.parent.iterdir()) == []
    last = room.trail()[-1]
    assert (last.actor, last.action, last.item) == (CLERK, audit.EXPORT, room.item)
    assert last.outcome != audit.DONE


def test_any_range_of_the_objects_is_those_bytes(room):
    # Issue 18: the object store's reader gives any range of a recording's parts laid end
    # to end exactly (S3 range requests, several objects at once), as the files do.
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from host.web.footage import Footage, Part

    source = room.store.media_source()
    parts, at = [], 0
    for n, digest in enumerate(room.digests):
        size = len(room.store.read_media(digest))
        parts.append(Part(n, n, digest, size, 0, 0, True))
        at += size
    assert at == len(room.footage)
    whole = Footage(parts)

    @settings(max_examples=25, deadline=None)
    @given(st.data())
    def one(data):
        first = data.draw(st.integers(0, at - 1))
        last = data.draw(st.integers(first, min(at - 1, first + 40_000)))
        assert b"".join(whole.read(source, first, last)) == room.footage[first : last + 1]

    one()
