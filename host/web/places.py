"""Search by place: the recordings whose GPS track passes within a distance of a point, or
through a box of latitudes and longitudes.

A search must not read every GPS fix of every recording: each recording's fixes are read
from its ledger entries once, and kept (``SCHEMA``) as its bounding box, indexed, beside the
fixes themselves packed small. A search asks SQL for the recordings whose box meets the
place's own box, and tests only those exactly, segment by segment (a track that crosses the
circle between two fixes passes through it). Like the store's index of items, the table is
derived from the signed ledger: a recording that grew since (its last seq moved) is read
again, and the ledger stays the record (``keep_up``).

The rules (parsing a place, the boxes, the exact test) are pure functions, tested without a
store; the positions are the chunks' F_GPS, [lat_e7, lon_e7, accuracy_m] (R-DEV-13).
"""

import itertools
import math
import re
import struct
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from host import i18n, items
from host.errors import Unusable
from host.recordings import recording_number
from protocol.registry import F_GPS, F_RECORDING, KIND_CHUNK

if TYPE_CHECKING:
    from host.sqlstore import Cursor

SCHEMA = """
-- Where each recording went (host.web.places), from its chunks' GPS fixes up to last_seq:
-- its bounding box in degrees x 1e7 (NULL: no fix), indexed for the search by place, and
-- the fixes packed as little-endian int32 pairs (lat_e7, lon_e7) for the exact test.
CREATE TABLE IF NOT EXISTS web_places (
    item_id   TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    min_lat   INTEGER,
    max_lat   INTEGER,
    min_lon   INTEGER,
    max_lon   INTEGER,
    fixes     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS web_places_lat ON web_places (min_lat, max_lat);
"""

EARTH_M = 6_371_000.0
MOST_RADIUS_M = 100_000  # a place is a place, not a province
DEFAULT_RADIUS_M = 200
_PAIR = struct.Struct("<ii")
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_POINT = re.compile(r"\s*(%s)\s*[,，\s]\s*(%s)\s*\Z" % (_NUMBER, _NUMBER))


class PlaceError(Unusable):
    """A place that is no place: the message says what to give."""


@dataclass(frozen=True)
class Near:
    """Within ``radius_m`` metres of a point (degrees)."""

    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class Box:
    """Inside the box between two latitudes and two longitudes (degrees, west < east)."""

    south: float
    west: float
    north: float
    east: float


# --- the rules (no store) ------------------------------------------------------------------


def point(text: str) -> "tuple[float, float]":
    """``31.2304, 121.4737`` (latitude, longitude in degrees; a comma, a Chinese comma or a
    space between) as a pair; PlaceError for anything else or out of range."""
    m = _POINT.match(text or "")
    if m is None:
        raise PlaceError(i18n.text("web.place.err.point", text=text))
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise PlaceError(i18n.text("web.place.err.range", text=text))
    return lat, lon


def parse(near: str, radius: str, corner: str = "") -> "Near | Box | None":
    """The place a search form gives: ``near`` (a point) and ``radius`` (metres; the
    default when empty), or ``near`` and ``corner`` (two opposite corners of a box); None
    when ``near`` is empty."""
    if not (near or "").strip():
        if (corner or "").strip():
            raise PlaceError(i18n.text("web.place.err.corner"))
        return None
    lat, lon = point(near)
    if (corner or "").strip():
        lat2, lon2 = point(corner)
        return Box(min(lat, lat2), min(lon, lon2), max(lat, lat2), max(lon, lon2))
    text = (radius or "").strip()
    try:
        metres = float(text) if text else float(DEFAULT_RADIUS_M)
    except ValueError:
        raise PlaceError(i18n.text("web.place.err.radius", text=text, most=MOST_RADIUS_M)) from None
    if not (0 < metres <= MOST_RADIUS_M):
        raise PlaceError(i18n.text("web.place.err.radius", text=text, most=MOST_RADIUS_M))
    return Near(lat, lon, metres)


def bounds(place: "Near | Box") -> "tuple[int, int, int, int]":
    """The box that holds ``place``, in degrees x 1e7: (south, west, north, east)."""
    if isinstance(place, Box):
        s, w, n, e = place.south, place.west, place.north, place.east
    else:
        dlat = math.degrees(place.radius_m / EARTH_M)
        shrink = math.cos(math.radians(min(89.0, abs(place.lat) + dlat)))
        dlon = min(180.0, dlat / max(shrink, 1e-6))
        s, n = place.lat - dlat, place.lat + dlat
        w, e = place.lon - dlon, place.lon + dlon
    # Rounded outwards: the box holds the place, whatever the rounding.
    return (math.floor(s * 1e7), math.floor(w * 1e7), math.ceil(n * 1e7), math.ceil(e * 1e7))


def passes(fixes: "list[tuple[int, int]]", place: "Near | Box") -> bool:
    """Whether the track through ``fixes`` ((lat_e7, lon_e7), in order) passes within the
    place: a fix in it, or the straight line between two fixes crossing it."""
    if not fixes:
        return False
    if isinstance(place, Box):
        return _through_box(fixes, place)
    return _near(fixes, place)


def _near(fixes: "list[tuple[int, int]]", place: Near) -> bool:
    # Metres east and north of the point (equirectangular about it: true to a few parts in
    # a thousand over the distances a search asks about).
    k = math.cos(math.radians(place.lat))
    r2 = place.radius_m * place.radius_m
    per = math.radians(1e-7) * EARTH_M
    xy = [((lon / 1e7 - place.lon) * 1e7 * per * k, (lat / 1e7 - place.lat) * 1e7 * per)
          for lat, lon in fixes]  # fmt: skip
    if len(xy) == 1:
        x, y = xy[0]
        return x * x + y * y <= r2
    for (x1, y1), (x2, y2) in itertools.pairwise(xy):
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
        px, py = x1 + t * dx, y1 + t * dy
        if px * px + py * py <= r2:
            return True
    return False


def _through_box(fixes: "list[tuple[int, int]]", box: Box) -> bool:
    s, w, n, e = (round(v * 1e7) for v in (box.south, box.west, box.north, box.east))
    if len(fixes) == 1:
        lat, lon = fixes[0]
        return s <= lat <= n and w <= lon <= e
    for (a_lat, a_lon), (b_lat, b_lon) in itertools.pairwise(fixes):
        if _clips(a_lon, a_lat, b_lon, b_lat, w, s, e, n):
            return True
    return False


def _clips(x1: float, y1: float, x2: float, y2: float, left: float, bottom: float,
           right: float, top: float) -> bool:  # fmt: skip
    """Whether the segment (x1, y1)-(x2, y2) meets the rectangle (Liang-Barsky)."""
    dx, dy = x2 - x1, y2 - y1
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x1 - left), (dx, right - x1), (-dy, y1 - bottom), (dy, top - y1)):
        if p == 0:
            if q < 0:
                return False  # parallel to this edge and outside it
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def track_of(entries: list, rec: int) -> "list[tuple[int, int]]":
    """The fixes (lat_e7, lon_e7) of recording number ``rec``'s chunks among ``entries``."""
    out = []
    for e in entries:
        if e.kind != KIND_CHUNK:
            continue
        rec_id = e.fields.get(F_RECORDING)
        if not isinstance(rec_id, bytes) or recording_number(rec_id) != rec:
            continue
        gps = e.fields.get(F_GPS)
        if isinstance(gps, (list, tuple)) and len(gps) >= 2:
            lat, lon = gps[0], gps[1]
            if isinstance(lat, int) and isinstance(lon, int):
                if -900_000_000 <= lat <= 900_000_000 and -1_800_000_000 <= lon <= 1_800_000_000:
                    out.append((lat, lon))
    return out


def pack(fixes: "list[tuple[int, int]]") -> bytes:
    return b"".join(_PAIR.pack(lat, lon) for lat, lon in fixes)


def unpack(data: bytes) -> "list[tuple[int, int]]":
    return [(int(p[0]), int(p[1])) for p in _PAIR.iter_unpack(data)]


# --- the store ------------------------------------------------------------------------------


def stale(cur: "Cursor") -> "list[items.Item]":
    """The recordings the table lacks, or holds as they were before they grew."""
    columns = ", ".join("i." + c.strip() for c in items.COLUMNS.split(","))
    rows = cur.execute(
        "SELECT %s FROM items i LEFT JOIN web_places p ON p.item_id = i.item_id "
        "WHERE i.kind = ? AND (p.item_id IS NULL OR p.last_seq != i.last_seq)" % columns,
        (items.RECORDING,),
    ).fetchall()
    return [items._item(r) for r in rows]


def keep(cur: "Cursor", item: items.Item, fixes: "list[tuple[int, int]]") -> None:
    """Keep ``item``'s fixes and their box (replacing what was kept)."""
    box: tuple = (None, None, None, None)
    if fixes:
        lats, lons = [f[0] for f in fixes], [f[1] for f in fixes]
        box = (min(lats), max(lats), min(lons), max(lons))
    cur.execute(
        "INSERT INTO web_places "
        "(item_id, last_seq, min_lat, max_lat, min_lon, max_lon, fixes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET "
        "last_seq = excluded.last_seq, min_lat = excluded.min_lat, "
        "max_lat = excluded.max_lat, min_lon = excluded.min_lon, "
        "max_lon = excluded.max_lon, fixes = excluded.fixes",
        (item.item_id, item.last_seq, *box, pack(fixes)),
    )


def keep_up(
    look: "Callable[[], AbstractContextManager[Cursor]]",
    write: "Callable[[], AbstractContextManager[Cursor]]",
    batch: int = 100,
) -> int:
    """Read the fixes of every recording the table lacks (or holds as it was before it
    grew) and keep them, ``batch`` recordings at a time (each batch read through ``look``,
    kept through one ``write``: a store's first search by place does not hold the writers
    back for long). Returns how many were read; costs one query when none is new."""
    from host.web.evidence import entries

    with look() as cur:
        todo = stale(cur)
    for at in range(0, len(todo), batch):
        with look() as cur:
            found = [
                (item, track_of(entries(cur, item.device_id, item.first_seq, item.last_seq),
                                item.rec))
                for item in todo[at : at + batch]
            ]  # fmt: skip
        with write() as cur:
            for item, fixes in found:
                keep(cur, item, fixes)
    return len(todo)


def first_fix(cur: "Cursor", item: items.Item, window: int = 64) -> "tuple[int, int] | None":
    """The first fix (lat_e7, lon_e7) of ``item``'s track, read from its first entries on
    (a few, however long the recording): where the page's drawing of the track starts."""
    from host.web.evidence import entries

    at = item.first_seq
    while at <= item.last_seq:
        upto = min(item.last_seq, at + window - 1)
        found = track_of(entries(cur, item.device_id, at, upto), item.rec)
        if found:
            return found[0]
        at = upto + 1
    return None


WHERE_BOX = (
    "i.item_id IN (SELECT item_id FROM web_places WHERE min_lat <= ? AND max_lat >= ? "
    "AND min_lon <= ? AND max_lon >= ?)"
)


def box_params(place: "Near | Box") -> "list[int]":
    """The parameters of ``WHERE_BOX`` for ``place``: the recordings whose box meets its."""
    s, w, n, e = bounds(place)
    return [n, s, e, w]


def matching(cur: "Cursor", item_ids: "list[str]", place: "Near | Box") -> "set[str]":
    """Which of ``item_ids`` (already met the box) pass within ``place`` exactly."""
    out = set()
    for item_id in item_ids:
        row = cur.execute("SELECT fixes FROM web_places WHERE item_id = ?", (item_id,)).fetchone()
        if row is not None and passes(unpack(bytes(row[0])), place):
            out.add(item_id)
    return out
