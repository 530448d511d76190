"""One court-package builder for every way a package is asked for (issue 15): ``sealcam
export`` and the review page's export button both make it through
``host.court.fromobjects.build``, which reads the embedded store as it stands and fetches
the scale-out store's objects first (tests/scaleout makes packages there through it)."""
# micropython: skip (the host's command line and the review page)

from pathlib import Path

import pytest

from host.court import fromobjects
from host.court.check import check_path
from tests.host import webstore
from tests.host.courtstore import export


@pytest.fixture
def fresh(tmp_path):
    ev, recs = webstore.make(tmp_path / "ev")
    yield ev, recs
    ev.close()


def test_the_command_line_and_the_page_build_a_package_through_one_function(
    fresh, tmp_path, monkeypatch
):
    # R-HOST-4: the same package, however asked for; the builder counted at its one seam.
    ev, _ = fresh
    built: list = []
    real = fromobjects.build

    def counted(store, wanted, *rest):
        built.append([w.item for w in wanted])
        return real(store, wanted, *rest)

    monkeypatch.setattr(fromobjects, "build", counted)
    out = tmp_path / "by-command"
    assert export(monkeypatch, Path(ev.root), out, "--recording", webstore.FIRST, user="clerk") == 0
    assert built == [[webstore.FIRST]] and check_path(out).ok

    clerk = webstore.logged_in(webstore.app_on(ev), "clerk")
    page = clerk.get("/recording/" + webstore.FIRST, headers=webstore.HTML).text
    r = clerk.post(
        "/export/" + webstore.FIRST,
        data={"csrf": webstore.csrf_in(page), "purpose": "庭审"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert built == [[webstore.FIRST]] * 2
    name = r.headers["location"].rsplit("/", 1)[1]
    assert check_path(Path(ev.root) / "exports" / name).ok
