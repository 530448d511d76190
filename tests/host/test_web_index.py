"""The recordings' index (``host.items``) as the review page reads it (issue 16): brought up
to what docks stored where something is new, in a write of its own (``items.catch_up``),
never inside the transaction of each page's ``view`` record: a look with nothing new takes
no index write, and a recording docked since shows on the next look."""
# micropython: skip (the review page)

import pytest

from host import items
from host.evidence import SqliteEvidenceStore
from tests.host import fmp4, webstore
from tests.host.helpers import with_accounts
from tests.protocol.helpers import DEVICE, device_key

HTML = webstore.HTML


@pytest.fixture
def docked_once(tmp_path):
    """A store holding the first of the officer's two recordings; the second's entries and
    media (to be docked later) beside it."""
    raws, media, recs = webstore.recordings()
    first = len(recs[0].entries)
    ev = SqliteEvidenceStore(tmp_path / "ev")
    ev.enrol(DEVICE, device_key().public)
    ev.add_entries(DEVICE, raws[:first], fmp4.T0 + 3_600_000)
    for sha, data in media.items():
        ev.put_media(sha, data)
    with_accounts(ev, webstore.ACCOUNTS)
    yield ev, raws[first:], webstore.second_id(recs)
    ev.close()


def test_a_views_write_does_not_refresh_the_index_and_a_new_recording_shows(
    docked_once, monkeypatch
):
    # R-HOST-1 (footage listed once stored): a docked recording is on the next dashboard;
    # the index's refresh runs once for it, not once per page.
    ev, later, second = docked_once
    refreshed: list = []
    real = items.refresh

    def counted(cur):
        refreshed.append(1)
        return real(cur)

    monkeypatch.setattr(items, "refresh", counted)
    app = webstore.app_on(ev)
    officer = webstore.logged_in(app, "officer")
    clerk = webstore.logged_in(app, "clerk")
    page = officer.get("/", headers=HTML)
    assert page.status_code == 200 and webstore.FIRST in page.text and second not in page.text
    for c, path in ((officer, "/"), (clerk, "/"), (clerk, "/search?officer=" + fmp4.OFFICER)):
        assert c.get(path, headers=HTML).status_code == 200
    assert refreshed == []  # four looks with nothing new: the index not written once

    ev.add_entries(DEVICE, later, fmp4.T0 + 7_200_000)  # a dock brings the second recording
    page = officer.get("/", headers=HTML)
    assert page.status_code == 200 and second in page.text
    assert refreshed == [1]
    found = clerk.get("/search?officer=" + fmp4.OFFICER, headers=HTML)
    assert found.status_code == 200 and second in found.text
    assert officer.get("/", headers=HTML).status_code == 200
    assert refreshed == [1]
