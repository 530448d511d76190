"""Pages shown before the server has prepared what they need (issue 16: a ten-hour
recording's page renders in under 1 s, its first look included; the dashboard too): the page
comes at once with what needs no parse of the ledger, says what it is preparing, asks the
preparer for it first, and fetches it (202 until ready). The fetch passes the page's door
and records no second view. "Before prepared" is made certain here by a preparer that has
not run; its rounds are run by the test (``prepare.once``)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from host import audit, restricted
from host.web import prepare
from host.web.app import create_app
from host.web.recordview import FLAGS
from host.web.state import Web
from tests.host import webstore

FIRST = webstore.FIRST
HTML = webstore.HTML
TIMELINE = "/recording/%s/timeline?shown=playable" % FIRST


@pytest.fixture
def fresh(tmp_path):
    ev, recs = webstore.make(tmp_path / "ev")
    yield ev, recs
    ev.close()


def unprepared(ev) -> "tuple[Web, object]":
    """The review page on ``ev`` with a preparer that has not run: every view unmade."""
    web = Web(ev, webstore.Clock(), webstore.sign_checkpoint)
    app = create_app(ev, web=web)
    prepare.Preparer(web.front, web.views, poll_s=3600.0)  # attached, never started
    return web, app


def trail(ev) -> list:
    with ev.read() as cur:
        return audit.history(cur)


def asked_of(web) -> list:
    """What pages have asked the preparer for, in order (asked again after: kept as is)."""
    out = []
    while (key := web.views.next_asked()) is not None:
        out.append(key)
    for key in out:
        web.views.ask(key)
    return out


def test_a_recording_shows_at_once_then_its_timeline_once_ready(fresh):
    # Issue 16: the page before its view is made (no exception for the first look): the
    # item, the player, the custody chain at once; the timeline said to be in preparation,
    # asked of the preparer first, fetched until ready. One view on the trail, not one per
    # fetch.
    ev, _ = fresh
    web, app = unprepared(ev)
    c = webstore.logged_in(app, "legal")
    before = len(trail(ev))
    page = c.get("/recording/" + FIRST, headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert 'data-from="%s"' % TIMELINE in text
    assert 'class="preparing"' in text and 'class="events"' not in text
    assert '<video id="player"' in text  # its first chunk says it plays
    assert 'svg class="track' not in text and 'data-slot="gps"' in text
    assert 'class="panel custody"' in text
    assert asked_of(web) == [FIRST]
    for _ in range(3):
        assert c.get(TIMELINE).status_code == 202
    assert prepare.once(web.front, web.views) == 2
    got = c.get(TIMELINE)
    assert got.status_code == 200
    for slot in ("timeline", "gps", "problems"):
        assert 'data-slot="%s"' % slot in got.text
    assert 'class="events"' in got.text and 'class="seek"' in got.text
    assert 'data-slot="player"' not in got.text  # the page's player was right: kept
    assert "data-from=" not in got.text
    new = [(r.actor, r.action, r.item, r.outcome) for r in trail(ev)[before:]]
    assert new == [("legal", audit.VIEW, FIRST, audit.DONE)]
    # Once ready, the page comes whole, as before.
    again = c.get("/recording/" + FIRST, headers=HTML).text
    assert 'class="events"' in again and "data-from" not in again


def test_a_player_guessed_otherwise_comes_with_the_timeline(fresh):
    ev, _ = fresh
    web, app = unprepared(ev)
    prepare.once(web.front, web.views)
    c = webstore.logged_in(app, "clerk")
    got = c.get("/recording/%s/timeline?shown=none" % FIRST)
    assert got.status_code == 200 and 'data-slot="player"' in got.text
    assert '<video id="player"' in got.text


@pytest.mark.parametrize("name", [n for n, _, _ in webstore.ACCOUNTS])
def test_the_timeline_fetch_passes_the_pages_door_for_every_role(fresh, name):
    # Issue 16, roles on every route: the fetch is the page's (an officer reaches only
    # their own recordings: another's is 404 and on record as refused); restricted footage
    # shows its story to those who may view it, but its spoken reasons and jumps only with
    # an approval to play in force (R-HOST-6).
    ev, recs = fresh
    second = webstore.second_id(recs)
    web, app = unprepared(ev)
    prepare.once(web.front, web.views)
    c = webstore.logged_in(app, name)
    before = len(trail(ev))
    stranger = name == "stranger"
    for item in (FIRST, second):
        got = c.get("/recording/%s/timeline" % item)
        if stranger:
            assert got.status_code == 404
            continue
        assert got.status_code == 200
        may_play = c.get("/media/%s/footage.mp4" % item, headers={"range": "bytes=0-0"})
        plays = may_play.status_code == 206
        assert ('<audio class="spoken"' in got.text) == plays, item
        assert ('class="seek"' in got.text) == plays, item
        if item == second:
            assert not plays  # restricted, no approval in force
    new = trail(ev)[before:]
    timeline_records = [r for r in new if r.action == audit.VIEW and r.item is not None]
    if stranger:
        assert [(r.outcome, r.details.get("reason")) for r in timeline_records] == [
            (audit.REFUSED, "not-own-recording"),
            (audit.REFUSED, "not-own-recording"),
        ]
    else:
        assert timeline_records == []  # the fetch records no view


def test_restricted_footages_spoken_reason_plays_from_the_fetch_once_approved(fresh):
    # R-HOST-6: the same fetch, after the approval to play is granted, offers the clip.
    ev, recs = fresh
    second = webstore.second_id(recs)
    clock = webstore.Clock()
    web = Web(ev, clock, webstore.sign_checkpoint)
    app = create_app(ev, web=web)
    prepare.Preparer(web.front, web.views, poll_s=3600.0)
    prepare.once(web.front, web.views)
    clerk = webstore.logged_in(app, "clerk")
    url = "/recording/%s/timeline" % second
    assert '<audio class="spoken"' not in clerk.get(url).text
    with ev.write() as cur:
        asked = restricted.request(cur, second, audit.PLAY, "clerk", "court",
                                   clock.ms + 3_600_000, clock.ms)  # fmt: skip
    approver = webstore.logged_in(app, "approver")
    queue = approver.get("/approvals", headers=HTML).text
    token = webstore.csrf_in(queue)
    r = approver.post("/approvals/%d/grant" % asked.id, data={"csrf": token},
                      follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert '<audio class="spoken"' in clerk.get(url).text


def test_no_session_gets_no_timeline(fresh):
    ev, _ = fresh
    _, app = unprepared(ev)
    anonymous = TestClient(app, base_url=webstore.BASE)
    assert anonymous.get(TIMELINE).status_code == 401
    assert anonymous.get("/dashboard/flags").status_code == 401


def test_the_dashboard_shows_at_once_then_its_flags_once_checked(fresh):
    # Issue 16: the dashboard's costly panel (every device's whole ledger checked for the
    # compliance flags) is the preparer's: the page comes at once and fetches it.
    ev, _ = fresh
    web, app = unprepared(ev)
    c = webstore.logged_in(app, "clerk")
    before = len(trail(ev))
    page = c.get("/", headers=HTML)
    assert page.status_code == 200
    assert 'data-from="/dashboard/flags"' in page.text and 'class="preparing"' in page.text
    assert FLAGS in asked_of(web)
    assert c.get("/dashboard/flags").status_code == 202
    prepare.once(web.front, web.views)
    got = c.get("/dashboard/flags")
    assert got.status_code == 200
    assert 'data-slot="late"' in got.text and 'data-slot="flags"' in got.text
    assert "data-from" not in got.text and 'class="preparing"' not in got.text
    listed = [r for r in trail(ev)[before:] if r.action == audit.VIEW]
    assert [(r.actor, r.details.get("listed")) for r in listed] == [("clerk", "dashboard")]
    again = c.get("/", headers=HTML).text
    assert "data-from" not in again and re.search(r'data-slot="flags"', again)
    # An officer's dashboard has no fleet's flags, nor its fetch.
    assert webstore.logged_in(app, "officer").get("/dashboard/flags").status_code == 404


def test_the_preparer_takes_what_a_page_asked_for_first(fresh):
    # The recording someone has open is made before the others the preparer had queued.
    ev, recs = fresh
    second = webstore.second_id(recs)
    web, _ = unprepared(ev)
    newest_first = prepare.wanting(web.front)
    last = newest_first[-1]
    web.views.ask(last)
    made = []
    real = web.views.get

    def noting(look, item, keep=None):
        made.append(item.item_id)
        return real(look, item, keep)

    web.views.get = noting  # type: ignore[method-assign]
    assert prepare.once(web.front, web.views) == 2
    assert made[0] == last and sorted(made) == sorted([FIRST, second])


def test_a_restarted_server_reads_the_flags_kept_and_checks_no_ledger(fresh, monkeypatch):
    # The flags made once are kept in the store by the ledger's last seq: a server started
    # again shows its dashboard whole at once, without checking any ledger; they read back
    # as made.
    from host import compliance
    from host.web import dashboard

    ev, _ = fresh
    web, _ = unprepared(ev)
    prepare.once(web.front, web.views)
    made = web.views.flags.snapshot()
    assert made, "no device's flags were made"
    web2, app2 = unprepared(ev)

    def check(*args, **kwargs):
        raise AssertionError("a ledger was checked again")

    monkeypatch.setattr(compliance, "check", check)
    page = webstore.logged_in(app2, "clerk").get("/", headers=HTML).text
    assert "data-from" not in page and 'data-slot="flags"' in page
    for device_id, (top, flags) in made.items():
        again = web2.views.flags.snapshot()[device_id]
        assert again[0] == top
        assert [vars(f) for f in again[1]] == [vars(f) for f in flags]
    # A ledger that grew is checked again (the kept flags are for the seq it had).
    with ev.read() as cur:
        device_id = next(iter(made))
        top = dashboard._top(cur, device_id)
        assert dashboard._kept_in_store(cur, device_id, top) is not None
        assert dashboard._kept_in_store(cur, device_id, top + 1) is None


def test_kept_flags_read_back_as_made(fresh):
    from host import compliance
    from host.web import dashboard

    ev, _ = fresh
    web, _ = unprepared(ev)
    flags = [
        compliance.Flag("late-upload", "R-HOST-1", 7, "chunks 7..9 late", "compliance.late",
                        {"hours": 30, "first": 7, "last": 9,
                         "recording": ("report.recording", {"number": 3})}, 9),
        compliance.Flag("no-announcement", "R-DEV-5", 3, "no announcement"),
    ]  # fmt: skip
    dashboard._keep_in_store(web.front.write, "SC-X", 41, flags)
    with ev.read() as cur:
        again = dashboard._kept_in_store(cur, "SC-X", 41)
        assert dashboard._kept_in_store(cur, "SC-X", 42) is None  # the ledger grew since
    assert again is not None
    assert [vars(f) for f in again] == [vars(f) for f in flags]


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3).map(tuple) | st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip


@given(_VALUES)
@settings(max_examples=200, deadline=None)
def test_a_flags_fields_keep_their_tuples_through_the_store(value):
    # A flag's fields hold messages as tuples (report_text.said renders a tuple as a
    # message, a list as itself): kept and read back, each is what it was.
    from host.web import dashboard
    from protocol import cbor

    assert dashboard._back(cbor.loads(cbor.dumps(dashboard._plain(value)))) == value
