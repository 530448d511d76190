"""A recording the server cannot prepare for its page (issue 16's preparer, ``host.web.
prepare``): a chunk entry the view cannot be made of. It is said once in the server's log,
with its device and number; its page says it could not be prepared instead of waiting for
ever (202); the other recordings are prepared as before, one whose media is missing among
them (its chunks shown missing: that is what its page has to say, not a failure).

One chunk's file unreadable (a folder where it should be) is not such a failure: that chunk
is shown unreadable, and the recording's timeline and track are kept, with the preparer or
without it."""
# micropython: skip (the review page)

import html
import logging
import sqlite3
import threading

import pytest

from host import i18n
from host.web import prepare
from host.web.app import create_app
from host.web.state import Web
from protocol import cbor
from protocol.ledger import media_digest
from protocol.registry import F_PLAIN_LEN
from tests.host import webstore
from tests.host.served import serving
from tests.protocol.helpers import DEVICE

FIRST = webstore.FIRST
HTML = webstore.HTML
BOUND = 600  # polls of 0.1 s: a generous bound on what the server's own thread is awaited for


def _own(recs) -> "tuple[bytes, bytes]":
    """A chunk's digest of the first recording, and one of the second, neither shared (the
    test's two recordings share some media: the same pictures)."""
    first, second = ([media_digest(e.fields) for e in r.chunks] for r in recs[:2])
    return next(d for d in first if d not in second), next(d for d in second if d not in first)


def damaged(ev, recs) -> str:
    """A chunk entry of the second recording stored with a length that is no number (its
    view cannot be made), a chunk's file of the first recording removed; the second
    recording's id."""
    first, _ = _own(recs)
    ev.media_file(first).unlink()
    chunk = recs[1].chunks[1]
    item = cbor.loads(chunk.raw)
    fields = cbor.loads(item.value[2])
    fields[F_PLAIN_LEN] = "not a length"
    item.value[2] = cbor.dumps(fields)
    db = sqlite3.connect(str(ev.root / "evidence.db"))
    with db:
        db.execute("UPDATE entries SET raw = ? WHERE raw = ?", (cbor.dumps(item), chunk.raw))
    db.close()
    return webstore.second_id(recs)


def unreadable(ev, recs) -> str:
    """A chunk's file of the second recording made unreadable (a folder where it was); the
    second recording's id."""
    _, second = _own(recs)
    path = ev.media_file(second)
    path.unlink()
    path.mkdir()
    return webstore.second_id(recs)


@pytest.fixture
def fresh(tmp_path):
    ev, recs = webstore.make(tmp_path / "ev")
    yield ev, recs
    ev.close()


def test_a_recording_not_prepared_is_logged_once_and_its_page_says_so(fresh, caplog):
    ev, recs = fresh
    second = damaged(ev, recs)
    number = second.rsplit("/", 1)[1]
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    app = create_app(ev, web=web)
    prepare.Preparer(web.front, web.views, poll_s=3600.0)  # attached; its rounds run here
    caplog.set_level(logging.INFO, logger="sealcam.web")
    assert prepare.once(web.front, web.views, checks=web.checks) == 1  # the first: missing media
    assert prepare.once(web.front, web.views, checks=web.checks) == 0  # not tried again
    said = [r.getMessage() for r in caplog.records if r.name == "sealcam.web"]
    assert len(said) == 1 and DEVICE in said[0] and number in said[0]
    assert prepare.wanting(web.front) == [second]

    approver = webstore.logged_in(app, "approver")  # the restricted one's page: not played
    for lang in (i18n.EN, i18n.ZH):
        approver.cookies.set("sealcam_lang", lang)
        page = approver.get("/recording/" + second, headers=HTML)
        assert page.status_code == 200
        assert i18n.text("web.rec.unprepared", lang) in html.unescape(page.text)
        assert "data-from" not in page.text and 'class="preparing"' not in page.text
        parts = approver.get("/recording/%s/timeline?shown=playable" % second)
        assert parts.status_code == 200  # not 202 for ever
        assert i18n.text("web.rec.unprepared", lang) in html.unescape(parts.text)
    assert web.views.next_asked() is None  # nobody waits for it
    # The recording with a chunk missing was prepared: its page shows the chunk missing.
    page = approver.get("/recording/" + FIRST, headers=HTML)
    assert page.status_code == 200 and 'class="events"' in page.text
    assert "missing" in page.text


def test_under_sealcam_serve_the_page_stops_waiting_and_the_log_has_one_line(fresh):
    ev, recs = fresh
    second = damaged(ev, recs)
    root = ev.root
    ev.close()
    with serving(root) as server:
        legal = server.client()
        legal.login("legal")
        status, page = legal.ask("GET", "/recording/" + second)
        assert status == 200
        said = i18n.text("web.rec.unprepared", i18n.EN)
        for _ in range(BOUND):  # as the page's script asks, until it is not 202
            status, parts = legal.ask("GET", "/recording/%s/timeline?shown=playable" % second)
            if status != 202:
                break
            threading.Event().wait(0.1)
        assert status == 200 and said in html.unescape(parts), parts
        status, page = legal.ask("GET", "/recording/" + second)
        assert status == 200 and said in html.unescape(page) and "data-from" not in page
    lines = server.stderr.strip().splitlines()
    assert "Traceback" not in server.stderr
    assert len(lines) == 1, server.stderr
    number = second.rsplit("/", 1)[1]
    assert lines[0].startswith("sealcam serve: recording %s of device %s" % (number, DEVICE))


def test_a_round_the_store_fails_is_said_once_and_tried_again(fresh, caplog):
    # The store failing is not a recording's fault (none is marked): the round ends, said
    # once however many rounds fail the same way, and the next round after the store is
    # back prepares them all.
    ev, _ = fresh
    db = ev.root / "evidence.db"
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    create_app(ev, web=web)
    caplog.set_level(logging.INFO, logger="sealcam.web")
    emptied = sqlite3.connect(str(db))  # the log folded in: a reader reads the file itself
    emptied.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    emptied.close()
    header = db.read_bytes()[:100]
    with db.open("r+b") as f:
        f.write(b"not a database, " * 6)  # what a reader finds where the header was
    p = prepare.Preparer(web.front, web.views, poll_s=0.01)
    p.start()
    try:
        for _ in range(BOUND):
            if p.rounds >= 3:
                break
            threading.Event().wait(0.1)
    finally:
        p.stop()
        with db.open("r+b") as f:
            f.write(header)
    assert p.rounds >= 3 and p.made == 0
    said = [r.getMessage() for r in caplog.records if r.name == "sealcam.web"]
    assert len(said) == 1 and "tries again" in said[0]
    assert prepare.once(web.front, web.views) == 2


def _shows_one_unreadable(client, item_id: str) -> None:
    for lang in (i18n.EN, i18n.ZH):
        client.cookies.set("sealcam_lang", lang)
        page = client.get("/recording/" + item_id, headers=HTML)
        assert page.status_code == 200, page.text
        parts = client.get("/recording/%s/timeline?shown=playable" % item_id)
        assert parts.status_code == 200, parts.text
        text = html.unescape(parts.text)
        assert "%s: 1" % i18n.text("web.check.unreadable", lang) in text
        assert 'class="events"' in text and 'class="chunk unreadable"' in text
        assert i18n.text("web.rec.unprepared", lang) not in text
        assert "Traceback" not in text


@pytest.mark.parametrize("prepared", [False, True])
def test_one_unreadable_chunk_is_shown_so_and_the_recording_kept(fresh, caplog, prepared):
    # R-HOST-3: the page shows each chunk's state; one chunk's file not readable is that
    # chunk's state, not the recording's failure (a 500 without the preparer, the whole
    # recording "could not be prepared" with it).
    ev, recs = fresh
    second = unreadable(ev, recs)
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    app = create_app(ev, web=web)
    caplog.set_level(logging.INFO, logger="sealcam.web")
    if prepared:
        prepare.Preparer(web.front, web.views, poll_s=3600.0)  # attached; its rounds run here
        assert prepare.once(web.front, web.views, checks=web.checks) == 2
        assert prepare.wanting(web.front) == []
        assert not [r for r in caplog.records if r.name == "sealcam.web"]
    legal = webstore.logged_in(app, "legal")
    _shows_one_unreadable(legal, second)
    parts = legal.get("/recording/%s/timeline?shown=playable" % second)
    assert 'class="track' in parts.text  # its GPS track kept
