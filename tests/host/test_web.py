"""The review page's routes, in process (Starlette's TestClient): every route for every role
and for no session, the audit trail of views and plays, logins, CSRF, the per-address limit,
range requests on the footage, the language, and ``sealcam serve`` itself (issue 16)."""

import io
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import av
import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from host import audit, i18n, people, registers, restricted
from host.web import gpstrack, ranges
from host.web.session import Limiter
from protocol.registry import F_CHUNK_INDEX
from tests.host import webstore
from tests.host.helpers import SEALCAM
from tests.protocol.helpers import DEVICE

FIRST = webstore.FIRST
CASE_PAGE = "/case/" + quote(webstore.CASE, safe="")
HTML = webstore.HTML
BASE = webstore.BASE
app_on, csrf_in, logged_in = webstore.app_on, webstore.csrf_in, webstore.logged_in


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    ev, recs = webstore.make(tmp_path_factory.mktemp("web") / "ev")
    yield ev, recs
    ev.close()


@pytest.fixture
def fresh(tmp_path):
    ev, recs = webstore.make(tmp_path / "ev")
    yield ev, recs
    ev.close()


def form_token(c: TestClient) -> str:
    return csrf_in(c.get("/approvals", headers=HTML).text)


def _media_of(rec, e) -> bytes:
    from protocol.ledger import media_digest

    return rec.media[media_digest(e.fields)]


# --- every route, every role ---------------------------------------------------------------

OFFICER_ONLY = {"officer", "stranger"}


def _expect(name: str, key: str, second: str) -> int:
    """The status a role gets from a route (``key``); the walk below asks every one."""
    roles = dict((n, r) for n, r, _ in webstore.ACCOUNTS)[name]
    user = people.User(name, roles, dict((n, o) for n, _, o in webstore.ACCOUNTS)[name])
    stranger = name == "stranger"  # another officer: not one of these recordings is theirs
    may_play = user.may(audit.PLAY)
    if key in ("dashboard", "search", "approvals"):
        return 200
    if key in ("review", "review-form"):  # R-HOST-7: only the roles that review
        return 200 if user.may(audit.REVIEW) else 403
    if key == "review-record":
        return 303 if user.may(audit.REVIEW) else 403
    if key == "registers":
        return 200 if user.may(audit.REPORT) else 403
    if key == "export-second":  # restricted, no approval: refused, or unknown to a stranger
        return 404 if stranger else 403
    if key in ("export-made", "export-iso"):  # a package this session never made
        return 404
    if key == "recording":
        return 404 if stranger else 200
    if key in ("recording-second",):
        return 404 if stranger else 200
    if key == "recording-none":
        return 404
    if key in ("parts", "parts-second"):  # the page's door: the view is not gated
        return 404 if stranger else 200
    if key == "parts-none":
        return 404
    if key == "flags":  # the whole fleet's flags: not on an officer's dashboard
        return 404 if user.officer_only else 200
    if key in ("media-none", "thumb-none", "clip-none"):
        return 404 if may_play else 403  # the role is refused before the item is looked up
    if key in ("media", "clip", "thumb"):
        return 404 if stranger else (206 if key != "thumb" else 200) if may_play else 403
    if key in ("media-second", "clip-second", "thumb-second"):
        return 404 if stranger else 403  # restricted: no approval yet
    if key == "ask":
        return 404 if stranger else 303 if user.may(audit.REQUEST_APPROVAL) else 403
    if key == "decide":
        return 303 if user.may(audit.APPROVE) else 403
    if key == "logout":
        return 303
    if key == "case":  # an officer sees a case through their own recordings in it
        return 404 if stranger else 200
    if key == "case-none":
        return 404
    if key == "case-export":  # the restricted one has no export approval: refused
        return 404 if stranger else 403
    if key in ("derivative-status", "derivative-start", "derivative-play"):
        return 404 if stranger else 409 if may_play else 403  # fMP4: no derivative
    raise AssertionError(key)


def _walk(c: TestClient, second: str, approval: int) -> "dict[str, int]":
    """Every route of the app, as a logged-in person would reach it (or guess it)."""
    dev2, rec2 = second.split("/")
    token = form_token(c) if c.cookies.get("sealcam_session") else "no-session"
    ranged = {"range": "bytes=0-"}
    got = {
        "dashboard": c.get("/", headers=HTML, follow_redirects=False).status_code,
        "search": c.get("/search?officer=P-0427", headers=HTML, follow_redirects=False).status_code,
        "approvals": c.get("/approvals", headers=HTML, follow_redirects=False).status_code,
        "recording": c.get("/recording/" + FIRST, headers=HTML, follow_redirects=False).status_code,
        "recording-second": c.get(
            "/recording/" + second, headers=HTML, follow_redirects=False
        ).status_code,
        "recording-none": c.get(
            "/recording/%s/999" % DEVICE, headers=HTML, follow_redirects=False
        ).status_code,
        "parts": c.get("/recording/%s/timeline" % FIRST).status_code,
        "parts-second": c.get("/recording/%s/timeline" % second).status_code,
        "parts-none": c.get("/recording/%s/999/timeline" % DEVICE).status_code,
        "flags": c.get("/dashboard/flags").status_code,
        "media": c.get("/media/%s/footage.mp4" % FIRST, headers=ranged).status_code,
        "media-second": c.get("/media/%s/footage.mp4" % second, headers=ranged).status_code,
        "media-none": c.get("/media/%s/999/footage.mp4" % DEVICE, headers=ranged).status_code,
        "clip": c.get("/media/%s/clip/4.mp4" % FIRST, headers=ranged).status_code,
        "clip-second": c.get("/media/%s/clip/3.mp4" % second, headers=ranged).status_code,
        "clip-none": c.get("/media/%s/999/clip/4.mp4" % DEVICE, headers=ranged).status_code,
        "thumb": c.get("/thumb/%s.jpg" % FIRST).status_code,
        "thumb-second": c.get("/thumb/%s.jpg" % second).status_code,
        "thumb-none": c.get("/thumb/%s/999.jpg" % DEVICE).status_code,
        "ask": c.post(
            "/approvals/request",
            data={"csrf": token, "item": second, "purpose": "court", "hours": "24"},
            follow_redirects=False,
        ).status_code,
        "decide": c.post(
            "/approvals/%d/grant" % approval, data={"csrf": token}, follow_redirects=False
        ).status_code,
        "review": c.get("/review", headers=HTML, follow_redirects=False).status_code,
        "review-form": c.get("/review/" + FIRST, headers=HTML, follow_redirects=False).status_code,
        "review-record": c.post(
            "/review/" + FIRST, data={"csrf": token, "note": ""}, follow_redirects=False
        ).status_code,
        "registers": c.get("/registers", headers=HTML, follow_redirects=False).status_code,
        "export-second": c.post(
            "/export/" + second, data={"csrf": token}, follow_redirects=False
        ).status_code,
        "export-made": c.get(
            "/exports/%s-1-1" % DEVICE, headers=HTML, follow_redirects=False
        ).status_code,
        "export-iso": c.get("/exports/%s-1-1/package.iso" % DEVICE).status_code,
        "case": c.get(CASE_PAGE, headers=HTML, follow_redirects=False).status_code,
        "case-none": c.get("/case/A-404", headers=HTML, follow_redirects=False).status_code,
        "case-export": c.post(
            "/case-export/" + quote(webstore.CASE), data={"csrf": token}, follow_redirects=False
        ).status_code,
        "derivative-status": c.get("/media/%s/derivative.json" % FIRST).status_code,
        "derivative-start": c.post(
            "/media/%s/derivative" % FIRST, data={"csrf": token}, follow_redirects=False
        ).status_code,
        "derivative-play": c.get("/media/%s/derivative.mp4" % FIRST, headers=ranged).status_code,
    }
    assert dev2 == DEVICE and rec2.isdigit()
    got["logout"] = c.post("/logout", data={"csrf": token}, follow_redirects=False).status_code
    return got


# Which route each key of the walk reaches: the walk must reach every route the app has.
WALKED = {
    "/": "dashboard",
    "/search": "search",
    "/approvals": "approvals",
    "/recording/{device}/{rec:int}": "recording",
    "/recording/{device}/{rec:int}/timeline": "parts, parts-second, parts-none",
    "/dashboard/flags": "flags",
    "/media/{device}/{rec:int}/footage.mp4": "media",
    "/media/{device}/{rec:int}/clip/{index:int}.mp4": "clip",
    "/thumb/{device}/{rec:int}.jpg": "thumb",
    "/approvals/request": "ask",
    "/approvals/{id:int}/{step}": "decide",
    "/logout": "logout",
    "/review": "review",
    "/review/{device}/{rec:int}": "review-form, review-record",
    "/registers": "registers",
    "/export/{device}/{rec:int}": "export-second (a package made: below)",
    "/exports/{name}": "export-made",
    "/exports/{name}/package.iso": "export-iso",
    "/login": "login (below)",
    "/lang/{lang}": "language (below)",
    "/case/{number:path}": "case, case-none",
    "/case-export/{number:path}": "case-export (a package made: below)",
    "/media/{device}/{rec:int}/derivative.json": "derivative-status (a raw one: below)",
    "/media/{device}/{rec:int}/derivative": "derivative-start",
    "/media/{device}/{rec:int}/derivative.mp4": "derivative-play",
}


def test_the_walk_reaches_every_route(shared):  # issue 16: roles on every route
    app = app_on(shared[0])
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    assert paths == set(WALKED), "a route the role walk does not reach: add it to _walk"
    assert [r.path for r in app.routes if isinstance(r, Mount)] == ["/static"]


def test_every_route_for_every_role_and_for_no_session(fresh):
    # Issue 16: roles enforced on the server for every route; an officer cannot open another
    # officer's recording, its footage, its clip or its thumbnail by guessing the URL.
    ev, recs = fresh
    second = webstore.second_id(recs)
    app = app_on(ev)
    anonymous = TestClient(app, base_url=BASE)
    got = _walk(anonymous, second, 1)
    pages = ("dashboard", "search", "approvals", "recording", "recording-second", "review",
             "review-form", "registers", "export-made", "case")  # fmt: skip
    for key, status in got.items():
        if key in pages or key in ("recording-none", "case-none"):
            assert status == 303, key  # to the login form
        else:
            assert status == 401, key
    assert anonymous.get("/", headers=HTML, follow_redirects=False).headers["location"] == (
        "/login?next=/"
    )
    # The approver goes last: the grant it makes is the only change the walk leaves.
    for name in ("clerk", "legal", "admin", "officer", "stranger", "approver"):
        with ev.write() as cur:
            asked = restricted.request(
                cur, second, audit.PLAY, "clerk", "for the walk", webstore.START_MS + 10**8,
                webstore.START_MS,
            )  # fmt: skip
        got = _walk(logged_in(app, name), second, asked.id)
        want = {key: _expect(name, key, second) for key in got}
        assert got == want, name


def test_a_page_and_its_play_are_on_the_audit_trail_once_each(shared):
    # Issue 16: every view and play is in the audit log (the range requests of one play are
    # that play, not one record each).
    ev, _ = shared
    app = app_on(ev)
    c = logged_in(app, "legal")
    before = len(_trail(ev))
    assert c.get("/recording/" + FIRST).status_code == 200
    for start in (0, 1000, 50_000):
        r = c.get("/media/%s/footage.mp4" % FIRST, headers={"range": "bytes=%d-" % start})
        assert r.status_code == 206
    new = _trail(ev)[before:]
    mine = [(r.actor, r.action, r.item, r.outcome) for r in new]
    assert mine == [
        ("legal", audit.VIEW, FIRST, audit.DONE),
        ("legal", audit.PLAY, FIRST, audit.DONE),
    ]


def test_a_refused_guess_is_on_the_audit_trail(shared):
    ev, _ = shared
    c = logged_in(app_on(ev), "stranger")
    before = len(_trail(ev))
    assert c.get("/recording/" + FIRST).status_code == 404
    assert c.get("/media/%s/footage.mp4" % FIRST).status_code == 404
    new = _trail(ev)[before:]
    assert [(r.action, r.outcome, r.details.get("reason")) for r in new] == [
        (audit.VIEW, audit.REFUSED, "not-own-recording"),
        (audit.PLAY, audit.REFUSED, "not-own-recording"),
    ]


def _trail(ev) -> list:
    with ev.read() as cur:
        return audit.history(cur)


def test_restricted_footage_plays_only_while_its_approval_is_in_force(fresh):
    # R-HOST-6: restricted footage needs its approval in force to play, at every request.
    ev, recs = fresh
    second = webstore.second_id(recs)
    clock = webstore.Clock()
    app = app_on(ev, clock)
    clerk = logged_in(app, "clerk")
    url = "/media/%s/footage.mp4" % second
    assert clerk.get(url).status_code == 403
    page = clerk.get("/recording/" + second, headers=HTML).text
    assert 'action="/approvals/request"' in page
    token = csrf_in(page)
    r = clerk.post(
        "/approvals/request",
        data={"csrf": token, "item": second, "purpose": "court hearing", "hours": "1",
              "back": "/recording/" + second},
        follow_redirects=False,
    )  # fmt: skip
    assert (r.status_code, r.headers["location"]) == (303, "/recording/" + second)
    approver = logged_in(app, "approver")
    queue = approver.get("/approvals", headers=HTML).text
    (number,) = re.findall(r'data-approval="(\d+)"', queue)
    r = approver.post(
        "/approvals/%s/grant" % number, data={"csrf": csrf_in(queue)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert clerk.get(url, headers={"range": "bytes=0-9"}).status_code == 206
    # The hour passes (the page in use, so the web session stays): when the approval ends,
    # the player's next request is refused.
    seen = []
    for _ in range(3):
        clock.ms += 20 * 60_000
        seen.append(clerk.get(url, headers={"range": "bytes=10-19"}).status_code)
    assert seen == [206, 206, 403]


def test_nobody_grants_their_own_request(fresh):
    ev, recs = fresh
    second = webstore.second_id(recs)
    with ev.write() as cur:
        people.add_user(cur, "clerk-approver", (people.CLERK, people.APPROVER), "pw-long-enough", 0)
    app = app_on(ev)
    c = logged_in(app, "clerk-approver", "pw-long-enough")
    token = form_token(c)
    c.post("/approvals/request", data={"csrf": token, "item": second, "purpose": "x",
                                       "hours": "1"})  # fmt: skip
    queue = c.get("/approvals", headers=HTML).text
    (number,) = re.findall(r'data-approval="(\d+)"', queue)
    assert 'action="/approvals/%s/grant"' % number not in queue
    r = c.post("/approvals/%s/grant" % number, data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 403


# --- logins, sessions, CSRF ---------------------------------------------------------------


def test_one_password_check_per_web_session(shared, monkeypatch):
    # Issue 16: argon2 once per web session, not per request.
    calls = []
    real = people.authenticate
    monkeypatch.setattr(people, "authenticate", lambda *a: calls.append(1) or real(*a))
    c = logged_in(app_on(shared[0]), "clerk")
    for path in ("/", "/search", "/approvals", "/recording/" + FIRST):
        assert c.get(path).status_code == 200
    assert len(calls) == 1


def test_the_session_cookie_is_secure_httponly_and_strict(shared):
    c = TestClient(app_on(shared[0]), base_url=BASE)
    token = csrf_in(c.get("/login").text)
    r = c.post(
        "/login",
        data={"csrf": token, "name": "clerk", "password": webstore.PASSWORD},
        follow_redirects=False,
    )
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "session" in v)
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie


def test_every_form_needs_its_csrf_token(shared):
    ev, recs = shared
    app = app_on(ev)
    c = logged_in(app, "approver")
    second = webstore.second_id(recs)
    for path, data in (
        ("/logout", {}),
        ("/approvals/request", {"item": second, "purpose": "x", "hours": "1"}),
        ("/approvals/1/grant", {}),
        ("/approvals/1/refuse", {"reason": "no"}),
    ):
        for token in (None, "forged"):
            sent = dict(data, **({"csrf": token} if token else {}))
            assert c.post(path, data=sent, follow_redirects=False).status_code == 403, path
    assert c.get("/").status_code == 200  # still logged in: the forged logout did nothing
    # The login form too: its token is in a cookie of its own, which another site lacks.
    other = TestClient(app, base_url=BASE)
    r = other.post("/login", data={"csrf": "x", "name": "clerk", "password": webstore.PASSWORD})
    assert r.status_code == 403


def test_logins_from_one_address_are_limited(shared, monkeypatch):
    # Issue 16: login rate limiting per address, on top of the account's own lock.
    clock = webstore.Clock()
    app = app_on(shared[0], clock, Limiter(tries=3, window_ms=60_000))
    c = TestClient(app, base_url=BASE)
    token = csrf_in(c.get("/login").text)

    def attempt(name, password):
        data = {"csrf": token, "name": name, "password": password}
        return c.post("/login", data=data, follow_redirects=False).status_code

    assert [attempt(n, "wrong") for n in ("clerk", "legal", "officer")] == [403] * 3
    calls = []
    real = people.authenticate
    monkeypatch.setattr(people, "authenticate", lambda *a: calls.append(1) or real(*a))
    assert attempt("approver", webstore.PASSWORD) == 429  # not even checked
    assert calls == []
    clock.ms += 60_000
    assert attempt("approver", webstore.PASSWORD) == 303


def test_a_next_page_is_always_on_this_site(shared):
    c = TestClient(app_on(shared[0]), base_url=BASE)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil"):
        r = c.get("/lang/zh", params={"next": target}, follow_redirects=False)
        assert r.headers["location"] == "/"
    assert c.get("/lang/fr", follow_redirects=False).status_code == 404


# --- media: ranges, files, thumbnails -----------------------------------------------------


def test_the_footage_is_the_signed_parts_and_serves_any_range(shared):
    # Issue 16: video served with range requests, so seeking is instant.
    ev, recs = shared
    whole = b"".join(_media_of(recs[0], e) for e in recs[0].chunks)
    c = logged_in(app_on(ev), "clerk")
    url = "/media/%s/footage.mp4" % FIRST
    r = c.get(url)
    assert r.status_code == 200 and r.content == whole
    assert r.headers["accept-ranges"] == "bytes"
    init = len(recs[0].init)
    for header, first, last in (
        ("bytes=0-99", 0, 99),
        ("bytes=%d-%d" % (init - 10, init + 10), init - 10, init + 10),  # across two parts
        ("bytes=-500", len(whole) - 500, len(whole) - 1),
        ("bytes=%d-" % (len(whole) - 3), len(whole) - 3, len(whole) - 1),
        ("bytes=10-%d" % (len(whole) + 999), 10, len(whole) - 1),
    ):
        r = c.get(url, headers={"range": header})
        assert r.status_code == 206, header
        assert r.content == whole[first : last + 1], header
        assert r.headers["content-range"] == "bytes %d-%d/%d" % (first, last, len(whole))
    r = c.get(url, headers={"range": "bytes=%d-" % len(whole)})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */%d" % len(whole)
    # The oracle: what the player gets demuxes and decodes with PyAV, picture and sound.
    with av.open(io.BytesIO(c.get(url).content)) as container:
        kinds = {s.type for s in container.streams}
        frames = sum(1 for _ in container.decode(video=0))
    assert {"video", "audio"} <= kinds and frames == 60


def test_the_spoken_reason_is_a_clip_of_its_own(shared):
    ev, recs = shared
    spoken = recs[0].spoken[0]
    index = spoken.fields[F_CHUNK_INDEX]
    c = logged_in(app_on(ev), "clerk")
    r = c.get("/media/%s/clip/%d.mp4" % (FIRST, index))
    assert r.content == recs[0].init + _media_of(recs[0], spoken)
    with av.open(io.BytesIO(r.content)) as container:
        assert sum(1 for _ in container.decode(audio=0)) > 10
    assert c.get("/media/%s/clip/0.mp4" % FIRST).status_code == 404  # the init is no clip


def test_the_thumbnail_is_the_first_keyframe(shared):
    c = logged_in(app_on(shared[0]), "clerk")
    r = c.get("/thumb/%s.jpg" % FIRST)
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert r.headers["content-type"] == "image/jpeg" and image.shape[1] == 160


def test_no_url_reaches_a_file_by_its_path(shared):
    # Issue 16: no path from a URL to a file outside the store (or inside it).
    c = logged_in(app_on(shared[0]), "clerk")
    for path in (
        "/static/../evidence.db",
        "/static/%2e%2e/%2e%2e/evidence.db",
        "/media/..%2F..%2Fevidence.db/1/footage.mp4",
        "/media/%s/footage.mp4/../../evidence.db" % FIRST,
        "/thumb/../../etc/passwd",
    ):
        r = c.get(path)
        assert r.status_code == 404, path
        assert b"SQLite" not in r.content and b"root:" not in r.content


def _ready(c: TestClient, item: str) -> dict:
    """The derivative's state once it is no longer being made (polled, generously bounded)."""
    import time

    for _ in range(1200):
        state = c.get("/media/%s/derivative.json" % item).json()
        if state["state"] != "making":
            return state
        time.sleep(0.1)
    raise AssertionError("the derivative was still being made after two minutes")


def test_a_raw_recording_plays_through_its_derivative(tmp_path):
    # Issue 16: a raw-chunk (JPEG/PCM) recording plays in the page through a derivative,
    # made on its first play, kept, labelled, linked to the originals by their hashes, and
    # the play is on the audit trail as for fMP4, naming the derivative it registered.
    from host.evidence import SqliteEvidenceStore
    from protocol.ledger import parse_entry
    from protocol.registry import F_PLAIN_SHA
    from tests.host.deskstore import store_with

    path = store_with(
        tmp_path,
        ("clerk", (people.CLERK,), None),
        ("clerk2", (people.CLERK,), None),
        ("admin", (people.ADMINISTRATOR,), None),  # no role to play
        ("stranger", (people.OFFICER,), "P-0999"),  # not their recording
    )
    ev = SqliteEvidenceStore(path)
    try:
        c = logged_in(app_on(ev), "clerk")
        with ev.read() as cur:
            (item,) = [r[0] for r in cur.execute("SELECT item_id FROM items")]
        page = c.get("/recording/" + item).text
        assert i18n.text("web.deriv.label", "en") in page  # said before it plays
        assert c.get("/media/%s/footage.mp4" % item).status_code == 409  # no signed MP4
        thumb = c.get("/thumb/%s.jpg" % item)  # its first JPEG frame, made small
        picture = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
        assert thumb.status_code == 200 and picture.shape[1] == 160
        assert c.get("/media/%s/derivative.json" % item).json() == {"state": "none"}
        assert c.get("/media/%s/derivative.mp4" % item).status_code == 409  # not made yet
        assert c.post("/media/%s/derivative" % item, data={}).status_code == 403  # no CSRF
        started = c.post("/media/%s/derivative" % item, data={"csrf": csrf_in(page)})
        assert started.status_code == 200 and started.json()["state"] in ("making", "ready")
        state = _ready(c, item)
        assert state["state"] == "ready", state
        # Its originals are the recording's signed chunks, by seq and SHA-256.
        signed = {
            e.seq: e.fields[F_PLAIN_SHA].hex()
            for e in map(parse_entry, ev.entries(DEVICE))
            if F_PLAIN_SHA in e.fields
        }
        assert state["of"] and all(signed[o["seq"]] == o["sha256"] for o in state["of"])
        assert state["item"] == "%s~%s" % (item, state["sha256"][:12])
        r = c.get(state["src"], headers={"range": "bytes=0-"})
        assert r.status_code == 206
        import hashlib

        assert hashlib.sha256(r.content).hexdigest() == state["sha256"]
        with av.open(io.BytesIO(r.content)) as mp4:  # PyAV (ffmpeg) as the oracle
            assert mp4.streams.video[0].codec_context.name == "h264"
            assert mp4.streams.audio[0].codec_context.name == "aac"
            assert "DERIVATIVE" in mp4.metadata.get("title", "")
            assert sum(1 for _ in mp4.decode(video=0)) > 0
        c.get(state["src"], headers={"range": "bytes=100-"})  # a seek: the same play
        with ev.read() as cur:
            plays = [r for r in audit.history(cur) if r.action == audit.PLAY]
            derived = [i.item_id for i in items_of(cur, item)]
        # (the footage.mp4 asked for above is a play refused as not playable, on record)
        assert [(p.item, p.details.get("derivative")) for p in plays][-1] == (item, state["item"])
        assert len([p for p in plays if p.details.get("derivative")]) == 1
        assert derived == [state["item"]]  # registered as an item, linked to its original
        # Kept: a server started again finds it made, checked against its note.
        again = logged_in(app_on(ev), "clerk2")
        assert _ready(again, item)["sha256"] == state["sha256"]
        # Roles on the derivative's routes too: refused (on record), or not found.
        for name, status in (("admin", 403), ("stranger", 404)):
            other = logged_in(app_on(ev), name)
            token = csrf_in(other.get("/", headers=HTML).text)
            assert other.get("/media/%s/derivative.json" % item).status_code == status
            assert (
                other.post("/media/%s/derivative" % item, data={"csrf": token}).status_code
                == status
            )
            assert other.get(state["src"]).status_code == status
            with ev.read() as cur:
                assert audit.history(cur)[-1].outcome == audit.REFUSED
        # Its originals' media deleted (as retention does): no copy outlives them.
        kept = sorted((Path(ev.root) / "derivatives").glob("*.mp4"))
        assert len(kept) == 1
        Path(ev.media_file(bytes.fromhex(state["of"][0]["sha256"]))).unlink()
        gone = again.get("/media/%s/derivative.json" % item).json()
        assert gone["state"] == "failed" and gone["problem"] == i18n.text("web.deriv.gone", "en")
        assert not kept[0].exists() and not Path(str(kept[0]) + ".json").exists()
        assert again.get(state["src"]).status_code == 409
    finally:
        ev.close()


def test_why_a_derivative_failed_is_said_in_each_askers_language(tmp_path):
    # R-HOST-3 (both languages): the reason a playable copy could not be made outlives the
    # page that asked for it; each page that asks later reads it in its own language.
    from host.evidence import SqliteEvidenceStore
    from protocol.ledger import media_digest, parse_entry
    from protocol.registry import F_PLAIN_SHA
    from tests.host.deskstore import store_with

    path = store_with(tmp_path, ("clerk", (people.CLERK,), None))
    ev = SqliteEvidenceStore(path)
    try:
        first = next(e for e in map(parse_entry, ev.entries(DEVICE)) if F_PLAIN_SHA in e.fields)
        changed = Path(ev.media_file(media_digest(first.fields)))
        data = bytearray(changed.read_bytes())
        data[-3] ^= 0xFF  # present, but not what the device signed: no copy is made of it
        changed.write_bytes(bytes(data))
        c = logged_in(app_on(ev), "clerk")
        with ev.read() as cur:
            (item,) = [r[0] for r in cur.execute("SELECT item_id FROM items")]
        c.cookies.set("sealcam_lang", i18n.ZH)
        page = c.get("/recording/" + item).text
        c.post("/media/%s/derivative" % item, data={"csrf": csrf_in(page)})
        assert _ready(c, item)["state"] == "failed"
        for lang in (i18n.EN, i18n.ZH, i18n.EN):
            c.cookies.set("sealcam_lang", lang)
            said = c.get("/media/%s/derivative.json" % item).json()["problem"]
            why = i18n.text("export.changed_chunk", lang, seq=first.seq)
            assert said == i18n.text("web.deriv.failed", lang, problem=why), (lang, said)
    finally:
        ev.close()


def items_of(cur, origin: str) -> list:
    from host import items

    return items.derivatives_of(cur, origin)


# --- Range headers (hypothesis) -----------------------------------------------------------


def _model(header: str, size: int):
    """The RFC's answer, written the long way: a span, None (the whole file) or 416."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header, re.I)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b)
        return "416" if n == 0 or size == 0 else (max(0, size - n), size - 1)
    first = int(a)
    if b and int(b) < first:
        return None
    if first >= size:
        return "416"
    return (first, min(int(b), size - 1) if b else size - 1)


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(0, 10**9),
    first=st.one_of(st.none(), st.integers(0, 2 * 10**9)),
    last=st.one_of(st.none(), st.integers(0, 2 * 10**9)),
    unit=st.sampled_from(["bytes", "BYTES", "items", ""]),
)
def test_range_headers_follow_the_rfc(size, first, last, unit):
    header = "%s=%s-%s" % (unit, "" if first is None else first, "" if last is None else last)
    want = _model(header, size) if unit.lower() == "bytes" else None
    try:
        got = ranges.parse(header, size)
    except ranges.NotSatisfiable:
        got = "416"
    if isinstance(got, ranges.Span):
        assert 0 <= got.first <= got.last < size
        got = (got.first, got.last)
    assert got == want


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.integers(0, 10**6))
def test_any_range_header_is_answered(header, size):
    try:
        span = ranges.parse(header, size)
    except ranges.NotSatisfiable:
        return
    assert span is None or 0 <= span.first <= span.last < size


# --- language -----------------------------------------------------------------------------


def test_the_page_speaks_the_browsers_language_until_one_is_chosen(shared):
    c = TestClient(app_on(shared[0]), base_url=BASE)
    zh = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}
    assert i18n.text("web.login.title", "zh") in c.get("/login", headers=zh).text
    assert 'lang="en"' in c.get("/login", headers={"accept-language": "en-GB"}).text
    c.get("/lang/en?next=/login")
    assert 'lang="en"' in c.get("/login", headers=zh).text  # the choice outranks the header


@pytest.mark.parametrize(
    "header, lang",
    [("zh-CN,zh;q=0.9", "zh"), ("en-US,en;q=0.9,zh;q=0.8", "en"), ("fr, zh;q=0.5", "zh"),
     ("de", "en"), ("", "en"), ("en;q=0.1, zh-TW;q=0.2", "zh"), ("zh;q=0", "en")],
)  # fmt: skip
def test_accept_language(header, lang):
    from host.web import i18n as web_i18n

    assert web_i18n.from_accept(header) == lang


def test_every_message_a_template_shows_is_in_both_catalogs():
    templates = Path(__file__).resolve().parents[2] / "host" / "web" / "templates"
    ids = set()
    for page in templates.glob("*.html"):
        ids |= set(
            re.findall(r"""\bt\(["'](web\.[A-Za-z0-9_.-]*[A-Za-z0-9_-])["']""", page.read_text())
        )
    for state in ("ok", "checking", "missing", "altered", "unreadable"):
        ids.add("web.check." + state)
    for why in ("raw", "sealed", "no-init"):
        ids.add("web.rec.not_playable." + why)
    assert len(ids) > 50
    for lang in i18n.LANGS:
        missing = sorted(m for m in ids if m not in i18n.catalog(lang))
        assert not missing, (lang, missing)


def test_the_recording_page_in_chinese(shared):
    c = logged_in(app_on(shared[0]), "clerk")
    c.get("/lang/zh")
    page = c.get("/recording/" + FIRST).text
    for msg_id in ("web.rec.timeline", "web.rec.gps", "web.rec.custody", "timeline.pause.weather"):
        assert i18n.text(msg_id, "zh") in page
    found = c.get("/search").text
    assert i18n.text("web.search.zone", "zh", zone="Asia/Shanghai") in found


# --- the GPS track --------------------------------------------------------------------------


def test_the_gps_track_is_drawn_to_scale_inside_its_box():
    track = [gpstrack.Fix(i * 1000, 31.23 + i * 1e-4, 121.47 + i * 1e-4, 5) for i in range(20)]
    d = gpstrack.draw(track, 480, 320)
    assert d is not None and d.fixes == 20
    assert all(0 <= x <= 480 and 0 <= y <= 320 for x, y in d.points)
    # The bar's length in pixels is its distance at the drawing's scale: the track's ends
    # (about 270 m apart on the ground) lie that many bars apart.
    (x0, y0), (x1, y1) = d.points[0], d.points[-1]
    metres = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 * d.scale_m / d.scale_px
    assert 250 < metres < 290
    assert d.labels[0][2] == 0 and d.labels[-1][2] == 19_000
    assert gpstrack.draw([]) is None


def test_the_recording_page_draws_its_track(shared):
    page = logged_in(app_on(shared[0]), "clerk").get("/recording/" + FIRST).text
    assert '<polyline class="path"' in page and i18n.text("web.rec.no_gps", "en") not in page


# --- sealcam serve ----------------------------------------------------------------------------


def test_serve_says_when_its_port_is_taken(shared, tmp_path):
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    try:
        r = subprocess.run(
            [*SEALCAM, "serve", "--evidence", str(shared[0].root), "--listen",
             "127.0.0.1:%d" % port, "--lang", "en"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        held.close()
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "in use" in r.stderr and "Traceback" not in r.stderr


def test_serve_serves_and_ends_cleanly_on_ctrl_c(shared):
    import urllib.request

    p = subprocess.Popen(
        [*SEALCAM, "serve", "--evidence", str(shared[0].root), "--listen", "127.0.0.1:0",
         "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = p.stdout.readline()
        url = re.search(r"http://\S+/", first).group(0)
        with urllib.request.urlopen(url + "login", timeout=60) as r:
            assert r.status == 200 and b"csrf" in r.read()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


# --- what the pages show --------------------------------------------------------------------


def test_an_altered_chunk_shows_on_its_recording_and_the_dashboard(fresh):
    # Issue 16: the per-chunk verification state drawn along the timeline; the dashboard's
    # verification failures.
    from protocol.ledger import media_digest

    ev, recs = fresh
    path = ev.media_file(media_digest(recs[0].fragments[1][0].fields))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    c = logged_in(app_on(ev), "clerk")
    page = c.get("/recording/" + FIRST).text
    assert '<rect class="chunk altered"' in page
    assert "%s: 1" % i18n.text("web.check.altered", "en") in page
    assert i18n.text("web.dashboard.altered", "en", count=1) in c.get("/").text


def test_checks_beyond_the_pages_budget_are_made_in_the_background(shared):
    from host.web.footage import CHECK_OK, CHECK_PENDING, Checks
    from protocol.ledger import media_digest

    ev, recs = shared
    digests = [media_digest(e.fields) for e in recs[0].chunks]
    checks = Checks(inline=2)
    first = checks.states(ev, digests)
    assert first[:2] == [CHECK_OK, CHECK_OK] and set(first[2:]) == {CHECK_PENDING}
    for _ in range(600):  # a generous bound: the background thread is what is awaited
        if checks.states(ev, digests) == [CHECK_OK] * len(digests):
            break
        threading.Event().wait(0.1)
    assert checks.states(ev, digests) == [CHECK_OK] * len(digests)


def test_an_officer_sees_their_own_recordings_only(shared):
    app = app_on(shared[0])
    mine = logged_in(app, "officer").get("/").text
    assert "/recording/%s" % FIRST in mine
    theirs = logged_in(app, "stranger")
    assert "/recording/" not in theirs.get("/").text
    # Whatever officer the search asks for, it covers their own recordings only.
    assert "/recording/" not in theirs.get("/search?officer=P-0427").text


def test_an_approver_refuses_a_request_with_a_reason(fresh):
    ev, recs = fresh
    second = webstore.second_id(recs)
    app = app_on(ev)
    clerk = logged_in(app, "clerk")
    clerk.post("/approvals/request", data={"csrf": form_token(clerk), "item": second,
                                           "purpose": "curiosity", "hours": "1"})  # fmt: skip
    approver = logged_in(app, "approver")
    queue = approver.get("/approvals", headers=HTML).text
    (number,) = re.findall(r'data-approval="(\d+)"', queue)
    r = approver.post(
        "/approvals/%s/refuse" % number,
        data={"csrf": csrf_in(queue), "reason": "no case"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert i18n.text("approval.state_refused", "en") in clerk.get("/approvals").text
    assert clerk.get("/media/%s/footage.mp4" % second).status_code == 403


def test_search_by_unit_once_the_registers_keep_units(fresh):
    # Issue 16: search by unit (the units' members are the registers', issue 14).
    ev, _ = fresh
    with ev.write() as cur:  # the store as it was before the register kept units
        cur.execute("DELETE FROM unit_members")
        cur.execute("DELETE FROM units")
    c = logged_in(app_on(ev), "clerk")
    assert 'name="unit"' not in c.get("/search").text  # no units registered: no unit field
    with ev.write() as cur:
        registers.add_unit(cur, "U-01", "Patrol 1", "A", 12, None)
        registers.set_member(cur, webstore.OFFICER, "U-01")
    assert 'name="unit"' in c.get("/search").text
    assert c.get("/search", params={"unit": "U-01"}).text.count('class="open"') == 2
    assert c.get("/search", params={"unit": "U-02"}).text.count('class="open"') == 0


# --- the review queue, the registers, the court package ------------------------------------


def test_a_reviewer_records_findings_from_the_prefilled_checklist(fresh):
    # R-HOST-7 (issue 16: the review queue, findings form with the checklist): the items the
    # ledger fills in are ticked already; the reviewer sets one aside with a note, adds one.
    from host import review

    ev, recs = fresh
    app = app_on(ev)
    legal = logged_in(app, "legal")
    queue = legal.get("/review", headers=HTML).text
    assert 'href="/review/%s"' % FIRST in queue
    assert "/review/" + webstore.second_id(recs) in queue
    form = legal.get("/review/" + FIRST, headers=HTML).text
    assert 'data-code="no-narration"' in form  # the ledger shows no narration: pre-filled
    token = csrf_in(form)
    # Setting an item aside needs a note: nothing recorded, a refused record says why.
    r = legal.post("/review/" + FIRST, data={"csrf": token, "aside-no-narration": "on"})
    assert r.status_code == 400
    with ev.read() as cur:
        assert review.latest(cur, FIRST) is None
    assert legal.post("/review/" + FIRST, data={"note": "x"}).status_code == 403  # no CSRF
    r = legal.post(
        "/review/" + FIRST,
        data={"csrf": token, "aside-no-narration": "on", "add-late-start": "on",
              "note": "叙述在画面外完成 / narrated off camera"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    with ev.read() as cur:
        done = review.latest(cur, FIRST)
    assert done is not None and done.reviewer == "legal"
    marks = {m.code: (m.auto, m.set_aside) for m in done.marks}
    assert marks["no-narration"] == (True, True)
    assert marks["late-start"] == (False, False)
    assert [m.code for m in done.findings] == [c for c in marks if c != "no-narration"]
    record = _trail(ev)[-1]
    assert (record.actor, record.action, record.item) == ("legal", audit.REVIEW, FIRST)
    assert record.details["set_aside"] == ["no-narration"]
    assert 'href="/review/%s"' % FIRST not in legal.get("/review", headers=HTML).text


def test_the_dashboard_shows_reviews_due_to_those_who_review(shared):
    # Issue 16: the dashboard's "reviews due".
    app = app_on(shared[0])
    legal = logged_in(app, "legal").get("/", headers=HTML).text
    assert "reviews-due" in legal and 'href="/review"' in legal
    assert "reviews-due" not in logged_in(app, "clerk").get("/", headers=HTML).text


def test_the_registers_page_shows_devices_holders_and_allocation(shared):
    # R-HOST-8, R-HOST-9 (issue 16: the registers): the device, its state, keeper and who
    # holds it now; the unit against its class (A: one per two of its 4 officers).
    ev, _ = shared
    c = logged_in(app_on(ev), "clerk")
    page = c.get("/registers", headers=HTML).text
    row = page.split('data-device="%s"' % DEVICE)[1].split("</tr>")[0]
    assert "in service" in row and "王保管" in row and webstore.OFFICER in row
    unit = page.split('data-unit="%s"' % webstore.UNIT)[1].split("</tr>")[0]
    assert [int(n) for n in re.findall(r"<td>(\d+)</td>", unit)] == [4, 2, 1]
    assert "1 short" in unit
    assert c.get("/registers?days=0", headers=HTML).status_code == 400
    assert _trail(ev)[-1].details.get("report") == "registers"


def test_a_court_package_is_made_as_the_user_and_offered_as_an_iso(fresh):
    # Issue 16: the court-package export button; issue 15's package, made as the logged-in
    # user (an export record naming it), its ISO image downloaded from this session only.
    from host.court.check import check_path

    ev, recs = fresh
    app = app_on(ev)
    clerk = logged_in(app, "clerk")
    page = clerk.get("/recording/" + FIRST, headers=HTML).text
    assert 'action="/export/%s"' % FIRST in page
    r = clerk.post("/export/" + FIRST, data={"csrf": csrf_in(page), "purpose": "庭审"},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    name = where.rsplit("/", 1)[1]
    made = clerk.get(where, headers=HTML)
    assert made.status_code == 200 and "package.iso" in made.text
    iso = clerk.get(where + "/package.iso")
    assert iso.status_code == 200
    assert iso.headers["content-disposition"] == 'attachment; filename="%s.iso"' % name
    assert iso.content[0x8001:0x8006] == b"CD001"  # an ISO 9660 volume
    folder = Path(ev.root) / "exports" / name
    assert check_path(folder).ok
    record = _trail(ev)[-1]
    assert (record.actor, record.action, record.item) == ("clerk", audit.EXPORT, FIRST)
    assert record.details["package"] == name and len(record.details["manifest_sha256"]) == 64
    # Another session (even the same person's) does not reach it by its name.
    assert logged_in(app, "clerk").get(where + "/package.iso").status_code == 404
    # Restricted footage needs an approval for the export: the refusal names the approvers.
    second = webstore.second_id(recs)
    r = clerk.post("/export/" + second, data={"csrf": csrf_in(page)})
    assert r.status_code == 403 and "approver" in r.text
    assert _trail(ev)[-1].outcome == audit.REFUSED
    assert sorted(p.name for p in (Path(ev.root) / "exports").iterdir()) == [name, name + ".iso"]


def test_a_restarted_server_reads_a_recordings_view_from_the_store(fresh, monkeypatch):
    # Issue 16 (a ten-hour recording's page under 1 s): what the page needs of a recording
    # is made once and kept in the store by item and last seq, so a server started again
    # does not parse the entries a second time; a kept form it cannot read is made again.
    from host.web import recordview

    ev, _ = fresh
    first = logged_in(app_on(ev), "clerk").get("/recording/" + FIRST, headers=HTML)
    assert first.status_code == 200
    with ev.read() as cur:
        kept = cur.execute("SELECT item_id, last_seq FROM web_views").fetchall()
        (item,) = cur.execute("SELECT last_seq FROM items WHERE item_id = ?", (FIRST,))
    assert kept == [(FIRST, item[0])]

    def parse(*args):
        raise AssertionError("the entries were parsed again")

    with monkeypatch.context() as m:
        m.setattr(recordview, "make", parse)
        again = logged_in(app_on(ev), "clerk").get("/recording/" + FIRST, headers=HTML)
        assert again.status_code == 200
        assert again.text.count('class="seek"') == first.text.count('class="seek"') > 0
        media = logged_in(app_on(ev), "clerk").get("/media/%s/footage.mp4" % FIRST)
        assert media.status_code == 200 and media.content.startswith(b"\0\0\0")
    with ev.write() as cur:
        cur.execute("UPDATE web_views SET data = ?", (b"\xff not a view",))
    made = logged_in(app_on(ev), "clerk").get("/recording/" + FIRST, headers=HTML)
    assert made.text.count('class="seek"') == first.text.count('class="seek"')
    with ev.read() as cur:
        (data,) = cur.execute("SELECT data FROM web_views").fetchone()
    assert not bytes(data).startswith(b"\xff")  # made again, and kept again


def test_restricted_footage_is_exported_once_its_export_is_approved(fresh):
    # R-HOST-6 on the export button: an approval to play is not one to export; the page asks
    # for an export approval, another person grants it, then the package is made under it.
    ev, recs = fresh
    second = webstore.second_id(recs)
    app = app_on(ev)
    clerk = logged_in(app, "clerk")
    page = clerk.get("/recording/" + second, headers=HTML).text
    assert 'class="ask-export"' in page and 'action="/export/' not in page
    token = csrf_in(page)
    ask = {"csrf": token, "item": second, "purpose": "移送起诉", "hours": "24"}
    bad = clerk.post("/approvals/request", data=dict(ask, action="delete"))
    assert bad.status_code == 400
    r = clerk.post("/approvals/request", data=dict(ask, action="export"), follow_redirects=False)
    assert r.status_code == 303
    assert 'class="hint asked-export"' in clerk.get("/recording/" + second, headers=HTML).text
    approver = logged_in(app, "approver")
    queue = approver.get("/approvals", headers=HTML).text
    (number,) = re.findall(r'data-approval="(\d+)"', queue)
    approver.post("/approvals/%s/grant" % number, data={"csrf": csrf_in(queue)})
    assert clerk.get("/media/%s/footage.mp4" % second).status_code == 403  # still no play
    page = clerk.get("/recording/" + second, headers=HTML).text
    assert 'action="/export/%s"' % second in page
    r = clerk.post("/export/" + second, data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    record = _trail(ev)[-1]
    assert (record.action, record.item, record.outcome) == (audit.EXPORT, second, audit.DONE)
    assert record.details["approval"] == int(number)


def test_a_kept_view_reads_back_as_made(shared):
    # Issue 16: the kept form of a recording's view is the view, part for part.
    from host import items
    from host.web import recordview
    from host.web.evidence import raws

    ev, _ = shared
    with ev.read() as cur:
        item = items.get(cur, FIRST)
        made = recordview.make(item, raws(cur, item.device_id, item.first_seq, item.last_seq))
    back = recordview.from_bytes(item, recordview.to_bytes(made))
    assert back is not None and made.parts and made.track is not None
    assert (back.story, back.parts, back.playable, back.track, back.places) == (
        made.story, made.parts, made.playable, made.track, made.places
    )  # fmt: skip
    assert back.whole is not None and back.whole.size == made.whole.size
    assert recordview.from_bytes(item, recordview.to_bytes(made)[:-3]) is None  # cut short
