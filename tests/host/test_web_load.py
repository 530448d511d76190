"""The review page under many people at once (issue 16: 20 reviewers keep p95 under 300 ms;
every view and play is in the audit log): the views' records committed in groups, each
durable before its page is sent, all of them on the trail and in the host's log; reads on
connections of their own; each request's language its own."""

import re
import signal
import sqlite3
import subprocess
import threading
import urllib.parse
from http import client

import pytest
from starlette.testclient import TestClient

from host import audit, i18n
from host.evidence import SqliteEvidenceStore
from host.web.app import create_app
from host.web.state import Web
from host.web.storefront import Front
from tests.host import webstore
from tests.host.helpers import SEALCAM

FIRST = webstore.FIRST
HTML = {"accept": "text/html"}
BASE = "https://127.0.0.1"
BOUND = 600  # polls of 0.1 s: a generous bound on what another thread is awaited for


@pytest.fixture
def fresh(tmp_path):
    ev, recs = webstore.make(tmp_path / "ev")
    yield ev, recs
    ev.close()


def logged_in(app, name: str) -> TestClient:
    c = TestClient(app, base_url=BASE)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"csrf": token, "name": name, "password": webstore.PASSWORD,
                               "next": "/"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return c


def on_disk(root) -> "list[tuple]":
    """The audit rows as another connection finds them: what is committed, no more."""
    db = sqlite3.connect("file:%s?mode=ro" % (root / "evidence.db"), uri=True)
    try:
        return db.execute("SELECT %s FROM audit ORDER BY seq" % audit.COLUMNS).fetchall()
    finally:
        db.close()


def audit_leaves(root) -> int:
    db = sqlite3.connect("file:%s?mode=ro" % (root / "evidence.db"), uri=True)
    try:
        return db.execute("SELECT count(*) FROM log WHERE kind = 'audit'").fetchone()[0]
    finally:
        db.close()


def test_a_page_is_sent_only_once_its_view_is_committed(fresh):
    # Issue 16: every view is in the audit log; the page is not sent before its record is
    # durable (another connection sees it the moment the page has arrived).
    ev, _ = fresh
    c = logged_in(create_app(ev, web=Web(ev, webstore.Clock(), webstore.sign_checkpoint)), "legal")
    for path in ("/recording/" + FIRST, "/", "/search?officer=" + webstore.OFFICER):
        before = len(on_disk(ev.root))
        assert c.get(path, headers=HTML).status_code == 200
        rows = audit.records_of(on_disk(ev.root)[before:])
        assert [(r.actor, r.action, r.outcome) for r in rows] == [("legal", audit.VIEW, audit.DONE)]


def test_many_reviewers_at_once_each_view_on_the_trail_and_in_the_log(fresh, sealcam):
    # Issue 16: twenty reviewers at once (here six, in threads); every page is one record,
    # the trail's chain holds, each record is a leaf of the host's log, and `sealcam audit`
    # shows them.
    ev, _ = fresh
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    app = create_app(ev, web=web)
    names = ["clerk", "legal", "admin", "approver", "clerk", "legal"]
    clients = [logged_in(app, n) for n in names]
    before = len(on_disk(ev.root))
    start = threading.Barrier(len(clients))
    got: list = []
    lock = threading.Lock()

    def reviewer(c: TestClient) -> None:
        start.wait(timeout=60)
        for _ in range(3):
            for path in ("/recording/" + FIRST, "/", "/search?officer=" + webstore.OFFICER):
                status = c.get(path, headers=HTML).status_code
                with lock:
                    got.append(status)

    threads = [threading.Thread(target=reviewer, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert got == [200] * (len(clients) * 9)
    rows = on_disk(ev.root)
    new = audit.records_of(rows[before:])
    assert len(new) == len(got) and {r.action for r in new} == {audit.VIEW}
    assert sorted(r.actor for r in new) == sorted(n for n in names for _ in range(9))
    assert audit.chain_problems(rows) == []
    assert audit_leaves(ev.root) == len(rows)
    assert web.front.groups <= web.front.blocks
    code, out, err = sealcam(
        "audit", "--evidence", str(ev.root), "--user", "clerk", "--item", FIRST, "--json",
        password=webstore.PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    import json

    shown = [r for r in json.loads(out)["records"] if r["action"] == audit.VIEW]
    assert len(shown) == len(clients) * 3  # each reviewer's three looks at the recording


def test_a_view_survives_the_server_killed_right_after_its_page(fresh):
    # Issue 16: a view is not lost when the server dies after the page was sent (SIGKILL:
    # nothing is flushed or finished on the way out).
    ev, _ = fresh
    root = ev.root
    ev.close()
    p = subprocess.Popen(
        [*SEALCAM, "serve", "--evidence", str(root), "--listen", "127.0.0.1:0", "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = int(re.search(r":(\d+)/", p.stdout.readline()).group(1))
        conn = client.HTTPConnection("127.0.0.1", port, timeout=120)
        cookies: dict = {}

        def ask(method: str, path: str, form: "dict | None" = None) -> "tuple[int, bytes]":
            headers = {"Accept": "text/html",
                       "Cookie": "; ".join("%s=%s" % kv for kv in cookies.items())}  # fmt: skip
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body, headers)
            r = conn.getresponse()
            data = r.read()
            for name, value in r.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookies[key] = rest.split(";", 1)[0].strip('"')
            return r.status, data

        _, page = ask("GET", "/login")
        token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        status, _ = ask("POST", "/login", {"csrf": token, "name": "legal",
                                           "password": webstore.PASSWORD})  # fmt: skip
        assert status == 303
        before = len(on_disk(root))
        status, _ = ask("GET", "/recording/" + FIRST)
        assert status == 200
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    after = SqliteEvidenceStore(root)  # opened as the next server would, after the crash
    try:
        with after.read() as cur:
            rows = cur.execute("SELECT %s FROM audit ORDER BY seq" % audit.COLUMNS).fetchall()
    finally:
        after.close()
    new = audit.records_of(rows[before:])
    assert [(r.actor, r.action, r.item) for r in new] == [("legal", audit.VIEW, FIRST)]
    assert audit.chain_problems(rows) == []


def _two_writers(front: Front, second_fails: bool) -> "tuple[list, list]":
    """Writer A's block waits, inside, until writer B is waiting to join its group; both
    insert a row. The order things happened in, and what each writer raised."""
    order: list = []
    raised: list = []
    inside = threading.Event()

    def a() -> None:
        with front.write() as cur:
            cur.execute("INSERT INTO t VALUES ('a')")
            inside.set()
            for _ in range(BOUND):
                if front._queued:
                    break
                threading.Event().wait(0.1)
            order.append("a block")
        order.append("a back")

    def b() -> None:
        inside.wait(timeout=60)
        try:
            with front.write() as cur:
                cur.execute("INSERT INTO t VALUES ('b')")
                order.append("b block")
                if second_fails:
                    raise ValueError("b's block fails")
        except ValueError as exc:
            raised.append(str(exc))
        order.append("b back")

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return order, raised


@pytest.mark.parametrize("second_fails", [False, True])
def test_writers_at_once_share_one_commit_and_a_failed_block_undoes_only_itself(
    tmp_path, second_fails
):
    # Issue 16 (20 reviewers): one sync for the records of many pages; the first writer
    # returns only after the commit that holds its block, made when the last one joined.
    ev = SqliteEvidenceStore(tmp_path / "ev")
    try:
        ev.add_tables("CREATE TABLE IF NOT EXISTS t (who TEXT NOT NULL);")
        front = Front(ev, most_open_s=3600.0)
        order, raised = _two_writers(front, second_fails)
        assert order[:2] == ["a block", "b block"] and sorted(order[2:]) == ["a back", "b back"]
        assert (front.groups, front.blocks) == (1, 2)
        db = sqlite3.connect("file:%s?mode=ro" % (tmp_path / "ev" / "evidence.db"), uri=True)
        rows = [r[0] for r in db.execute("SELECT who FROM t ORDER BY rowid")]
        db.close()
        assert rows == (["a"] if second_fails else ["a", "b"])
        assert raised == (["b's block fails"] if second_fails else [])
        front.close()
    finally:
        ev.close()


def test_a_reader_cannot_write(tmp_path):
    ev = SqliteEvidenceStore(tmp_path / "ev")
    try:
        front = Front(ev)
        with pytest.raises(sqlite3.OperationalError), front.read() as cur:
            cur.execute("CREATE TABLE u (x)")
        front.close()
    finally:
        ev.close()


def test_each_request_thread_speaks_its_own_language():
    # Issue 16: Chinese or English per browser; two people at once, each in theirs (no lock
    # held across a request any more).
    both = threading.Barrier(2)
    said: dict = {}

    def speak(lang: str) -> None:
        with i18n.speaking(lang):
            both.wait(timeout=60)  # both inside at once
            said[lang] = i18n.text("web.menu.search")
            both.wait(timeout=60)

    threads = [threading.Thread(target=speak, args=(lang,)) for lang in i18n.LANGS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert said == {lang: i18n.text("web.menu.search", lang) for lang in i18n.LANGS}
    assert said[i18n.EN] != said[i18n.ZH]


def test_a_docked_recording_is_made_ready_before_anyone_looks(fresh, monkeypatch):
    # Issue 16 (a ten-hour recording's page under 1 s, its first look included): the server
    # makes each recording's view as docks bring it; the first look then parses nothing.
    from host.web import prepare, recordview

    ev, recs = fresh
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    create_app(ev, web=web)
    assert sorted(prepare.wanting(web.front)) == sorted([FIRST, webstore.second_id(recs)])
    assert prepare.once(web.front, web.views) == 2
    assert prepare.wanting(web.front) == [] and prepare.once(web.front, web.views) == 0

    def parse(*args):
        raise AssertionError("the entries were parsed at the first look")

    monkeypatch.setattr(recordview, "make", parse)
    c = logged_in(create_app(ev, web=Web(ev, webstore.Clock(), webstore.sign_checkpoint)), "legal")
    page = c.get("/recording/" + FIRST, headers=HTML)
    assert page.status_code == 200 and 'class="seek"' in page.text


def test_the_preparer_stops_when_asked(fresh):
    from host.web import prepare

    ev, _ = fresh
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    create_app(ev, web=web)
    p = prepare.Preparer(web.front, web.views, poll_s=3600.0)
    p.start()
    for _ in range(BOUND):  # its first round, awaited with a generous bound
        if p.rounds:
            break
        threading.Event().wait(0.1)
    p.stop()
    assert p.rounds == 1 and p.made == 2 and not p._thread.is_alive()


def test_the_chunks_are_checked_before_the_first_look_and_an_altered_one_shows(fresh):
    # Issue 16: the per-chunk verification state at the first look is what a check found,
    # never "verified" for a chunk not checked: made ready with its checks, an altered
    # chunk shows altered and the others ok, none left "checking".
    from host.web import prepare
    from host.web.footage import CHECK_ALTERED, CHECK_OK, CHECK_PENDING, Checks
    from protocol.ledger import media_digest

    ev, recs = fresh
    altered = media_digest(recs[0].fragments[1][0].fields)
    path = ev.media_file(altered)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    create_app(ev, web=web)
    checks = Checks(inline=0)  # nothing checked at look time: all must be known already
    digests = [media_digest(e.fields) for e in recs[0].chunks]
    assert set(checks.states(ev, digests)) == {CHECK_PENDING}
    checks = Checks(inline=0)
    assert prepare.once(web.front, web.views, checks=checks) == 2
    states = dict(zip(digests, checks.states(ev, digests), strict=True))
    assert states.pop(altered) == CHECK_ALTERED and set(states.values()) == {CHECK_OK}
    # Over the budget, nothing is checked ahead (the page checks them when it shows them).
    other, _ = webstore.make(ev.root.parent / "other")
    try:
        web2 = Web(other, webstore.Clock(), webstore.sign_checkpoint)
        create_app(other, web=web2)
        none = Checks(inline=0)
        assert prepare.once(web2.front, web2.views, checks=none, budget=1) == 2
        assert set(none.states(other, digests)) == {CHECK_PENDING}
    finally:
        other.close()
