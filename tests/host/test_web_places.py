"""The search by place (issue 16: "search by ... place"): a point and a distance, or a box;
the rules without a store (hypothesis against a brute-force model), then the search page
on the review page's test store, whose two recordings walk north-east from People's
Square, and the table that keeps each recording's track so a search reads no ledger."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host import i18n
from host.web import places
from tests.host import webstore
from tests.host.webstore import BASE, HTML, app_on, logged_in

EARTH_M = places.EARTH_M
LAT0, LON0 = webstore.LAT0 / 1e7, webstore.LON0 / 1e7


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): the model the exact test is held to."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(a))


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, want",
    [
        ("31.2304, 121.4737", (31.2304, 121.4737)),
        ("31.2304，121.4737", (31.2304, 121.4737)),  # a Chinese comma
        (" -33.8 151.2 ", (-33.8, 151.2)),
        ("90,180", (90.0, 180.0)),
    ],
)
def test_a_position_is_latitude_then_longitude(text, want):
    assert places.point(text) == want


@pytest.mark.parametrize("text", ["", "31.2", "abc, def", "121.47, 31.23", "31.2, 200", "1,2,3"])
def test_a_position_that_is_none_says_what_to_give(text):
    with pytest.raises(places.PlaceError) as got:
        places.point(text)
    assert "31.2304, 121.4737" in str(got.value) or "-90" in str(got.value)


def test_the_form_gives_a_circle_a_box_or_nothing():
    assert places.parse("", "", "") is None
    assert places.parse("31.2, 121.4", "", "") == places.Near(31.2, 121.4, 200)
    assert places.parse("31.2, 121.4", "50", "") == places.Near(31.2, 121.4, 50)
    assert places.parse("31.3, 121.4", "", "31.2, 121.5") == places.Box(31.2, 121.4, 31.3, 121.5)
    for near, radius, corner in (("31.2, 121.4", "0", ""), ("31.2, 121.4", "1e9", ""),
                                 ("31.2, 121.4", "nan", ""), ("", "", "31.2, 121.4")):  # fmt: skip
        with pytest.raises(places.PlaceError):
            places.parse(near, radius, corner)


def test_a_place_error_reads_in_chinese_too():
    i18n.use("zh")
    try:
        with pytest.raises(places.PlaceError) as got:
            places.point("abc")
        assert "纬度" in str(got.value)
    finally:
        i18n.use("en")


fix = st.tuples(
    st.integers(LAT0 * 1e7 - 50_000, LAT0 * 1e7 + 50_000).map(int),
    st.integers(LON0 * 1e7 - 50_000, LON0 * 1e7 + 50_000).map(int),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(fix, min_size=1, max_size=6),
    st.floats(LAT0 - 0.006, LAT0 + 0.006),
    st.floats(LON0 - 0.006, LON0 + 0.006),
    st.floats(5, 800),
)
def test_near_matches_the_model_of_points_along_the_track(fixes, lat, lon, radius):
    # The track passes within the radius when some point along it does: sampled densely,
    # the great-circle model agrees but for a sliver at the rim (the projection's error).
    got = places.passes(fixes, places.Near(lat, lon, radius))
    pts = [(a / 1e7, b / 1e7) for a, b in fixes]
    samples = [pts[0]] + [
        (p[0] + (q[0] - p[0]) * k / 200, p[1] + (q[1] - p[1]) * k / 200)
        for p, q in itertools.pairwise(pts)
        for k in range(1, 201)
    ]
    nearest = min(metres(lat, lon, a, b) for a, b in samples)
    if nearest < radius * 0.99 - 1:
        assert got
    elif nearest > radius * 1.01 + 1:
        assert not got


@settings(max_examples=200, deadline=None)
@given(st.floats(-80, 80), st.floats(-179, 179), st.floats(1, 100_000), st.floats(0, 2 * math.pi))
def test_the_index_box_holds_the_whole_circle(lat, lon, radius, bearing):
    # A point on the circle (just inside) lies in the box the index searches.
    s, w, n, e = places.bounds(places.Near(lat, lon, radius))
    d = radius * 0.999 / EARTH_M
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    assert s <= math.degrees(p2) * 1e7 <= n
    assert w <= math.degrees(l2) * 1e7 <= e


def test_a_track_crossing_a_box_between_two_fixes_passes_through_it():
    box = places.Box(31.0, 121.0, 31.001, 121.001)
    across = [(309_990_000, 1_210_005_000), (310_020_000, 1_210_005_000)]  # south to north
    beside = [(309_990_000, 1_210_020_000), (310_020_000, 1_210_020_000)]
    assert places.passes(across, box)
    assert not places.passes(beside, box)
    assert places.passes([(310_005_000, 1_210_005_000)], box)
    assert not places.passes([], box)


def test_a_track_passing_a_point_between_two_fixes_passes_near_it():
    # Two fixes 2 km apart, the point 50 m off the line between them, in the middle.
    a, b = (310_000_000, 1_210_000_000), (310_180_000, 1_210_000_000)
    off = 50 / (EARTH_M * math.cos(math.radians(31.009))) * 180 / math.pi
    assert places.passes([a, b], places.Near(31.009, 121.0 + off, 60))
    assert not places.passes([a, b], places.Near(31.009, 121.0 + off, 40))


def test_kept_fixes_read_back_as_made():
    fixes = [(312_304_000, 1_214_737_000), (-338_000_000, -1_512_000_000)]
    assert places.unpack(places.pack(fixes)) == fixes


# --- the search page ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ev, _recs = webstore.make(tmp_path_factory.mktemp("places") / "ev")
    yield ev, app_on(ev)
    ev.close()


def found(c, query: str) -> int:
    page = c.get("/search?" + query, headers=HTML).text
    return page.count('class="open"')


def test_search_near_a_point_finds_the_recordings_that_passed_it(site):
    _ev, app = site
    c = logged_in(app, "clerk")
    # The first recording's track starts here; the second one's is further north-east.
    start = "%f,%f" % (LAT0 + 900e-7, LON0 + 600e-7)
    assert found(c, "near=%s&within=30" % start) == 1
    assert found(c, "near=%s&within=5000" % start) == 2
    assert found(c, "near=%f,%f&within=500" % (LAT0 + 0.1, LON0)) == 0  # 11 km north
    # A box around the start, given by two corners in either order.
    box = "near=%f,%f&corner=%f,%f" % (LAT0 + 0.0002, LON0 + 0.0002, LAT0, LON0)
    assert found(c, box) == 1
    # With the other filters: a device that is not there finds nothing.
    assert found(c, "near=%s&within=5000&device=SC-NONE" % start) == 0
    # An officer searches their own recordings only, by place too.
    assert found(logged_in(app, "stranger"), "near=%s&within=5000" % start) == 0
    assert found(logged_in(app, "officer"), "near=%s&within=5000" % start) == 2


def test_a_place_that_does_not_parse_is_said_on_the_form(site):
    _, app = site
    c = logged_in(app, "clerk")
    page = c.get("/search?near=north", headers=HTML).text
    assert 'role="alert"' in page and "north" in page
    c.get("/lang/zh")
    page = c.get("/search?near=31.2&within=5", headers=HTML).text
    assert i18n.text("web.place.err.point", "zh", text="31.2") in page


def test_a_search_by_place_reads_no_ledger_once_the_tracks_are_kept(site, monkeypatch):
    # Issue 16: not scanning every GPS fix per search: each recording's track is read from
    # its entries once (kept with its box); later searches read the table only, and the
    # index lets SQL pass over recordings whose box is elsewhere.
    ev, app = site
    c = logged_in(app, "clerk")
    near = "near=%f,%f&within=5000" % (LAT0, LON0)
    found(c, near)
    read = []
    real = places.track_of
    monkeypatch.setattr(places, "track_of", lambda e, rec: read.append(rec) or real(e, rec))
    tested = []
    real_passes = places.passes
    monkeypatch.setattr(places, "passes", lambda f, p: tested.append(1) or real_passes(f, p))
    assert found(c, near) == 2
    assert read == [] and len(tested) == 2
    tested.clear()
    assert found(c, "near=%f,%f&within=500" % (LAT0 + 0.1, LON0)) == 0
    assert tested == []  # no box there: no track tested
    with ev.read() as cur:
        plan = " ".join(
            str(r)
            for r in cur.execute(
                "EXPLAIN QUERY PLAN SELECT item_id FROM web_places WHERE min_lat <= 1 AND "
                "max_lat >= 0 AND min_lon <= 1 AND max_lon >= 0"
            )
        )
    assert "web_places_lat" in plan


def test_a_recording_that_grew_is_read_again(site):
    ev, _ = site
    with ev.write() as cur:
        cur.execute("UPDATE web_places SET last_seq = last_seq - 1")
        assert len(places.stale(cur)) == 2
    assert places.keep_up(ev.read, ev.write) == 2
    with ev.read() as cur:
        assert places.stale(cur) == []


def test_a_click_on_the_track_names_a_place(site):
    # The recording's page maps its drawn track back to degrees (the script turns a click
    # into a search near that point): at once, from its drawing and its first fix.
    import re

    _, app = site
    c = logged_in(app, "clerk")
    page = c.get("/recording/" + webstore.FIRST, headers=HTML).text
    a, b, cc, d = map(float, re.search(r'data-geo="([^"]+)"', page).group(1).split())
    points = re.search(r'<polyline class="path" points="([^"]+)"', page).group(1).split()
    for n, point in enumerate(points):  # the test walker moves 900 and 600 x 1e-7 a chunk
        x, y = map(float, point.split(","))
        assert abs(a + b * x - (LON0 + (n + 1) * 600e-7)) < 2e-6  # to the drawing's 0.1 px
        assert abs(cc + d * y - (LAT0 + (n + 1) * 900e-7)) < 2e-6
    assert BASE.startswith("https://")


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4000), st.floats(-60, 60), st.floats(-170, 170), st.floats(1e-6, 1e-3))
def test_the_drawing_maps_back_to_the_fixes_it_drew(count, lat, lon, step):
    from host.web import gpstrack

    track = [
        gpstrack.Fix(i, lat + step * math.sin(i / 7), lon + step * i / count * 3, 5)
        for i in range(count)
    ]
    drawing = gpstrack.draw(track)
    a, b, c, d = gpstrack.georef(drawing, track[0].lat, track[0].lon)
    first, last = drawing.points[0], drawing.points[-1]
    assert (
        abs(a + b * first[0] - track[0].lon) < 1e-9 and abs(c + d * first[1] - track[0].lat) < 1e-9
    )
    assert (
        abs(a + b * last[0] - track[-1].lon) < 1e-9 and abs(c + d * last[1] - track[-1].lat) < 1e-9
    )
