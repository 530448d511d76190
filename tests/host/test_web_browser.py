"""The review page in a real browser (headless Chromium): the journeys of issue 16, one
browser for the module. Screenshots of each page, in Chinese, at 1366x768 and 1920x1080,
go to test-artifacts/ for people to look at."""

import contextlib
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from host.cli.serve import bound
from host.web.app import create_app
from tests import browser
from tests.host import webstore

SIZES = ((1366, 768), (1920, 1080))
WAIT_MS = 60_000  # a generous bound on a loaded machine; the conditions are what is awaited


@contextlib.contextmanager
def serving(ev, web=None) -> "Iterator[str]":
    """The review page on ``ev`` (with the application's state ``web``, if given), served by
    uvicorn on loopback: its base URL."""
    import uvicorn

    sock = bound("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(create_app(ev, sign=webstore.sign_checkpoint, web=web),
                       log_level="warning", lifespan="off")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The review page on a store of two recordings."""
    ev, recs = webstore.make(tmp_path_factory.mktemp("webpage") / "ev")
    try:
        with serving(ev) as base:
            yield base, recs
    finally:
        ev.close()


@pytest.fixture(scope="module")
def page(site):
    with browser.browser() as context:
        yield context.new_page()


def shots(page, name: str) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        browser.screenshot(page, "web-%s-%dx%d" % (name, width, height))
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})


def log_in(page, base: str, name: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", webstore.PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + "/")


def log_out(page) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_selector("input[name=password]")


def test_log_in_search_open_play_and_hear_a_pauses_reason(site, page):
    # Issue 16: log in, search, open a recording, play it, jump to a pause and hear its reason.
    base, _ = site
    page.goto(base + "/login")
    assert page.get_attribute("html", "lang") == "zh-CN"  # the browser asks for Chinese
    shots(page, "login")
    log_in(page, base, "clerk")
    shots(page, "dashboard")
    page.click("nav.menu a[href='/search']")
    page.fill("input[name=officer]", webstore.OFFICER)
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("table.results")
    assert page.locator("table.results tbody tr").count() == 2
    page.wait_for_function(
        "() => { const i = document.querySelector('td.thumb img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=WAIT_MS,
    )
    shots(page, "search")
    page.click("a.open[href='/recording/%s']" % webstore.FIRST)
    page.wait_for_selector("video#player")
    page.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 0.5", timeout=WAIT_MS
    )
    # Jump to the pause: the player seeks to its media time and plays on from there.
    page.click("tr[data-event=pause] button.seek")
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return !v.paused && v.currentTime >= 3.0; }",
        timeout=WAIT_MS,
    )
    # Its reason, spoken after the resume, plays on its own (its clock starts where the
    # spoken reason lies in the recording: the clip is the signed bytes, not a re-cut).
    page.evaluate(
        "() => { const a = document.querySelector('audio.spoken');"
        " a.play(); window.clipFrom = a.currentTime; }"
    )
    page.wait_for_function(
        "() => { const a = document.querySelector('audio.spoken');"
        " return !a.paused && a.currentTime > window.clipFrom + 0.3; }",
        timeout=WAIT_MS,
    )
    assert page.evaluate("() => document.getElementById('player').paused")  # one at a time
    page.evaluate("() => document.querySelector('audio.spoken').pause()")
    shots(page, "recording")


def test_request_and_grant_an_approval_then_play(site, page):
    # R-HOST-6 in the browser: ask for the approval, another person grants it, then it plays.
    base, recs = site
    second = webstore.second_id(recs)
    page.goto(base + "/")
    if page.locator("input[name=password]").count():
        log_in(page, base, "clerk")
    page.goto(base + "/recording/" + second)
    assert page.locator("video#player").count() == 0
    page.fill("form.ask input[name=purpose]", "庭审举证")
    page.click("form.ask button[type=submit]")
    page.wait_for_selector("p.hint >> text=1")  # back on the page: one request waiting
    shots(page, "restricted")
    log_out(page)
    log_in(page, base, "approver")
    page.goto(base + "/approvals")
    shots(page, "approvals")
    assert page.locator("text=庭审举证").count() == 1
    page.click("button.grant")
    page.wait_for_load_state()
    assert page.locator("button.grant").count() == 0  # decided: the queue is empty
    log_out(page)
    log_in(page, base, "clerk")
    page.goto(base + "/recording/" + second)
    page.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 0.3", timeout=WAIT_MS
    )
    log_out(page)


def as_user(page, base: str, name: str) -> None:
    """Log in as ``name``, whoever the page had logged in before."""
    page.goto(base + "/")
    if page.locator("form[action='/logout']").count():
        log_out(page)
    log_in(page, base, name)


def test_record_a_review_finding(site, page):
    # Issue 16: record a review finding (R-HOST-7): from the dashboard's reviews due to the
    # queue, the checklist with the ledger's items ticked, one set aside with a note.
    base, _ = site
    as_user(page, base, "legal")
    assert page.locator("section.reviews-due a[href='/review']").count() == 1
    shots(page, "dashboard-legal")
    page.click("section.reviews-due a[href='/review']")
    page.wait_for_selector("table.queue")
    shots(page, "review-queue")
    page.click("a.open-review[href='/review/%s']" % webstore.FIRST)
    page.wait_for_selector("form.review")
    assert page.locator("tr[data-code=no-narration]").count() == 1
    page.check("input[name=aside-no-narration]")
    page.check("input[name=add-late-start]")
    page.fill("textarea[name=note]", "执法记录仪画面外已口头说明时间、地点、人员和事由")
    shots(page, "review-form")
    page.click("form.review button.record")
    page.wait_for_selector("p.recorded")
    assert page.locator("a.open-review[href='/review/%s']" % webstore.FIRST).count() == 0
    shots(page, "review-done")
    log_out(page)


def test_export_a_package(site, page):
    # Issue 16: export a court package from a recording's page and download its ISO image;
    # the registers on the way (R-HOST-8, R-HOST-9).
    base, _ = site
    as_user(page, base, "clerk")
    page.click("nav.menu a[href='/registers']")
    page.wait_for_selector("table.devices")
    shots(page, "registers")
    page.goto(base + "/recording/" + webstore.FIRST)
    page.fill("form.export input[name=purpose]", "移送检察院审查起诉")
    page.locator("section.export").scroll_into_view_if_needed()
    shots(page, "recording-export")
    page.click("form.export button[type=submit]")
    page.wait_for_selector("a.download", timeout=WAIT_MS)
    shots(page, "export")
    with page.expect_download(timeout=WAIT_MS) as got:
        page.click("a.download")
    download = got.value
    assert download.suggested_filename.endswith(".iso")
    with open(download.path(), "rb") as f:
        f.seek(0x8001)
        assert f.read(5) == b"CD001"  # an ISO 9660 volume
    log_out(page)


def test_open_a_case_from_the_search_and_from_a_recording(site, page):
    # Issue 16: a case's page, reached from the search results and from a recording's page;
    # from it, its recordings open.
    base, _ = site
    as_user(page, base, "clerk")
    page.goto(base + "/search?officer=" + webstore.OFFICER)
    page.click("table.results a.case >> nth=0")
    page.wait_for_selector("section.case-recordings")
    assert webstore.CASE in page.inner_text("h1")
    assert page.locator("table.case-items tbody tr").count() == 2
    page.wait_for_function(
        "() => { const i = document.querySelector('table.case-items td.thumb img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=WAIT_MS,
    )
    shots(page, "case")
    page.click("table.case-items a.open[href='/recording/%s']" % webstore.FIRST)
    page.wait_for_selector("video#player")
    page.click("p.facts a.case")
    page.wait_for_selector("section.case-state")
    assert page.url == base + "/case/" + quote(webstore.CASE, safe="")
    log_out(page)


def test_search_by_place_from_a_click_on_the_track(site, page):
    # Issue 16: search by place: a click on a recording's GPS track (no map server) names
    # the point; the search finds the recordings that passed within the distance of it.
    base, _ = site
    as_user(page, base, "clerk")
    page.goto(base + "/recording/" + webstore.FIRST)
    track = page.locator("svg.track[data-geo]")
    start = page.locator("svg.track circle.start")
    start.scroll_into_view_if_needed()
    box = start.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("p.picked a.near")
    assert track.locator("circle.picked").count() == 1
    page.locator("section.gps").scroll_into_view_if_needed()
    shots(page, "recording-track-picked")
    page.click("p.picked a.near")
    page.wait_for_selector("table.results")
    near = page.input_value("input[name=near]")
    lat, lon = (float(v) for v in near.split(","))
    assert abs(lat - webstore.LAT0 / 1e7) < 0.001 and abs(lon - webstore.LON0 / 1e7) < 0.001
    assert page.locator("table.results tbody tr").count() >= 1
    shots(page, "search-place")
    # Far from any track: nothing.
    page.fill("input[name=near]", "31.3304, 121.4737")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("p.count")
    assert page.locator("table.results").count() == 0
    log_out(page)


@pytest.fixture(scope="module")
def raw_site(tmp_path_factory):
    """The review page on a store of one raw recording (JPEG frames, PCM sound)."""
    from host import people
    from host.evidence import SqliteEvidenceStore
    from tests.host.deskstore import store_with

    path = store_with(tmp_path_factory.mktemp("rawpage"), ("clerk", (people.CLERK,), None))
    ev = SqliteEvidenceStore(path)
    try:
        with ev.read() as cur:
            (item,) = [r[0] for r in cur.execute("SELECT item_id FROM items")]
        with serving(ev) as base:
            yield base, item
    finally:
        ev.close()


def test_play_a_raw_recording_through_its_derivative(raw_site, page):
    # Issue 16: a raw-chunk recording plays in the page: its derivative is prepared on the
    # first play, labelled as a derivative, with the signed originals it was made from.
    base, item = raw_site
    page.goto(base + "/login")
    log_in(page, base, "clerk")
    page.goto(base + "/recording/" + item)
    page.wait_for_selector("button.prepare")
    assert page.locator("p.derivative-label").is_visible()
    page.click("button.prepare")
    page.wait_for_selector("video#player:not([hidden])", timeout=WAIT_MS)
    page.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 0.5", timeout=WAIT_MS
    )
    assert page.inner_text("code.derived-item").startswith(item + "~")
    assert page.locator("table.originals tbody tr").count() > 0
    page.evaluate("() => document.getElementById('player').pause()")
    page.click("details.originals summary")
    shots(page, "recording-raw")
    log_out(page)


@pytest.fixture(scope="module")
def unprepared_site(tmp_path_factory):
    """The review page on a store of two recordings, none prepared: its preparer is there
    but runs only when the test says (``prepare.once``), so "before" is certain."""
    from host import access
    from host.web import prepare
    from host.web.state import Web

    ev, _ = webstore.make(tmp_path_factory.mktemp("unprepared") / "ev")
    web = Web(ev, access.wall_ms, webstore.sign_checkpoint)
    prepare.Preparer(web.front, web.views, poll_s=3600.0)  # attached, never started
    try:
        with serving(ev, web) as base:
            yield base, web
    finally:
        ev.close()


def test_open_a_recording_before_it_is_prepared(unprepared_site, page):
    # Issue 16 (a page in under 1 s, the first look included): the dashboard and a
    # recording's page come at once, saying what they are still preparing; their flags and
    # timeline appear by themselves once the preparer has made them, and work as ever.
    from host.web import prepare

    base, web = unprepared_site
    held: list = []  # the player's requests, held: only the preparer makes the view here
    page.route("**/footage.mp4", lambda route: held.append(route))
    as_user(page, base, "clerk")
    page.wait_for_selector("section.late p.preparing")
    shots(page, "dashboard-preparing")
    page.goto(base + "/recording/" + webstore.FIRST)
    page.wait_for_selector("section.timeline p.preparing")
    assert page.locator("video#player").count() == 1  # the player is there at once
    assert page.locator("section.gps p.preparing").count() == 1
    assert page.locator("section.custody tbody tr").count() >= 1
    shots(page, "recording-preparing")
    prepare.once(web.front, web.views)  # the preparer's round
    page.wait_for_selector("table.events", timeout=WAIT_MS)
    page.wait_for_selector("svg.track circle.start", timeout=WAIT_MS)
    assert page.locator("p.preparing").count() == 0
    for route in held:
        route.continue_()
    page.unroute("**/footage.mp4")
    page.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 0.3", timeout=WAIT_MS
    )
    # The timeline put in place works: its jump seeks the player to the pause.
    page.click("tr[data-event=pause] button.seek")
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return !v.paused && v.currentTime >= 3.0; }",
        timeout=WAIT_MS,
    )
    page.evaluate("() => document.getElementById('player').pause()")
    shots(page, "recording-prepared")
    page.goto(base + "/")
    page.wait_for_selector("section.flags")
    assert page.locator("p.preparing").count() == 0
    log_out(page)
