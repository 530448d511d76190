"""A case's page (issue 16): the case file's particulars, whether its footage is whole
(R-HOST-12), its recordings with their pictures, lengths and states, their notes, the holds
and retention, the approvals, and the court package of the whole case; reached from the
search results and from each recording's page, and shown to an officer only through their
own recordings. The store is the review page's (``webstore``): a search case holding both
recordings, each with a pause, the second restricted, the case under a legal hold."""

import re
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest

from host import audit, i18n, restricted
from tests.host import webstore
from tests.host.webstore import HTML, app_on, csrf_in, logged_in

FIRST = webstore.FIRST
PAGE = "/case/" + quote(webstore.CASE, safe="")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    ev, recs = webstore.make(tmp_path_factory.mktemp("case") / "ev")
    yield ev, recs, app_on(ev)
    ev.close()


def trail(ev) -> list:
    with ev.read() as cur:
        return audit.history(cur)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_the_case_page_shows_the_case_its_footage_and_what_keeps_it(shared):
    ev, recs, app = shared
    second = webstore.second_id(recs)
    with ev.write() as cur:  # an approval asked for the restricted recording's play
        restricted.request(cur, second, audit.PLAY, "legal", "庭审质证", 10**15, webstore.START_MS)
    c = logged_in(app, "clerk")
    r = c.get(PAGE, headers=HTML)
    assert r.status_code == 200
    page, words = r.text, text_of(r.text)
    for shown in (webstore.CASE, "搜查涉案车辆", "王警官", "人民广场", "P-0427", "人民广场派出所"):
        assert shown in words, shown
    # R-HOST-12: a search is recorded in full; both recordings paused, so both are flagged.
    assert i18n.text("web.case.flagged", "en", count=2) in words
    assert words.count("R-HOST-12 %s:" % FIRST) == 1
    assert words.count("R-HOST-12 %s:" % second) == 1
    # Its recordings: opened from here, the first with its picture; the restricted one not.
    assert 'href="/recording/%s"' % FIRST in page and 'href="/recording/%s"' % second in page
    assert 'src="/thumb/%s.jpg"' % FIRST in page and 'src="/thumb/%s.jpg"' % second not in page
    assert "0 min 7 s" in words  # its length
    assert "搜查经过" in words  # what the first is noted to prove
    # The hold on the whole case, and the retention rule that keeps each recording.
    assert "诉讼中" in words and words.count(i18n.text("web.case.held", "en")) >= 2
    assert words.count(i18n.text("retention.rule.case-open", "en", case=webstore.CASE)) == 2
    # The approvals asked for its footage.
    assert "庭审质证" in words
    # The export: the restricted recording needs its export approval first.
    assert i18n.text("web.case.export_needs", "en", items=second) in words
    assert 'action="/case-export/' not in page
    record = trail(ev)[-1]
    assert (record.action, record.item, record.outcome) == (audit.VIEW, webstore.CASE, "done")
    assert record.details["what"] == "case" and record.details["items"] == 2


def test_the_case_page_in_chinese(shared):
    _, _, app = shared
    c = logged_in(app, "legal")
    c.get("/lang/zh")
    words = text_of(c.get(PAGE, headers=HTML).text)
    for msg_id in ("web.case.subject", "web.case.holds", "web.case.approvals", "web.case.kept"):
        assert i18n.text(msg_id, "zh") in words, msg_id
    assert i18n.text("case.type.search", "zh") in words


def test_it_is_reached_from_search_results_and_from_a_recording(shared):
    _, _, app = shared
    c = logged_in(app, "clerk")
    link = 'href="/case/%s"' % quote(webstore.CASE)
    searched = c.get("/search?case=" + quote(webstore.CASE), headers=HTML).text
    assert link in searched
    assert i18n.text("web.search.case_page", "en", case=webstore.CASE) in unescape(searched)
    assert link in c.get("/recording/" + FIRST, headers=HTML).text
    assert c.get("/case/" + quote(webstore.CASE), headers=HTML).status_code == 200


def test_an_officer_sees_a_case_through_their_own_recordings_only(shared):
    ev, _, app = shared
    officer = logged_in(app, "officer")  # both recordings are theirs
    assert officer.get(PAGE, headers=HTML).status_code == 200
    stranger = logged_in(app, "stranger")  # none is: the case is not found, on record
    r = stranger.get(PAGE, headers=HTML)
    assert r.status_code == 404 and "搜查涉案车辆" not in r.text
    record = trail(ev)[-1]
    assert (record.actor, record.action, record.outcome) == ("stranger", audit.VIEW, "refused")
    assert stranger.get("/case/NO-SUCH-CASE", headers=HTML).status_code == 404
    # An officer exports nothing from here: no button.
    assert 'action="/case-export/' not in officer.get(PAGE, headers=HTML).text


def test_the_court_package_of_a_case(tmp_path):
    # Issue 16: the court-package export button for the case: every recording it holds in
    # one package with the case's particulars, each recording's export on record.
    from host.court.check import check_path

    ev, recs = webstore.make(tmp_path / "ev")
    try:
        second = webstore.second_id(recs)
        app = app_on(ev)
        clerk = logged_in(app, "clerk")
        page = clerk.get(PAGE, headers=HTML).text
        token = csrf_in(page)
        # Refused until the restricted recording's export is approved (on record).
        r = clerk.post("/case-export/" + quote(webstore.CASE), data={"csrf": token})
        assert r.status_code == 403
        assert (trail(ev)[-1].item, trail(ev)[-1].outcome) == (second, audit.REFUSED)
        # Asked for and granted through the page (the package proves both on the trail).
        ask = {"csrf": token, "item": second, "purpose": "移送起诉", "hours": "24"}
        clerk.post("/approvals/request", data=dict(ask, action="export"))
        approver = logged_in(app, "approver")
        queue = approver.get("/approvals", headers=HTML).text
        (number,) = re.findall(r'data-approval="(\d+)"', queue)
        approver.post("/approvals/%s/grant" % number, data={"csrf": csrf_in(queue)})
        page = clerk.get(PAGE, headers=HTML).text
        assert 'action="/case-export/' in page
        r = clerk.post(
            "/case-export/" + quote(webstore.CASE),
            data={"csrf": token, "purpose": "移送检察院"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        where = r.headers["location"]
        name = where.rsplit("/", 1)[1]
        done = clerk.get(where, headers=HTML).text
        assert i18n.text("web.export.back_case", "en") in done and webstore.CASE in done
        assert clerk.get(where + "/package.iso").content[0x8001:0x8006] == b"CD001"
        assert check_path(Path(ev.root) / "exports" / name).ok
        exports = [r for r in trail(ev) if r.action == audit.EXPORT and r.outcome == "done"]
        assert sorted(r.item for r in exports) == sorted([FIRST, second])
        assert {r.details["package"] for r in exports} == {name}
        assert {r.details["case"] for r in exports} == {webstore.CASE}
        assert [r.details.get("approval") for r in exports if r.item == second] == [int(number)]
    finally:
        ev.close()
