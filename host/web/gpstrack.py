"""A recording's GPS track as an SVG drawing, without any map server (sans I/O).

Agency networks are closed, so no tiles: the track is drawn on its own, north up, to
scale (an equirectangular projection about the track's middle latitude, which is true to
a few parts in a thousand over the kilometres one recording covers), with a scale bar of a
round distance and the time at the start, the end and a few points between. The positions
are the chunks' F_GPS, [lat_e7, lon_e7, accuracy_m] (R-DEV-13).
"""

import math
from dataclasses import dataclass

from protocol.registry import F_END_MS, F_GPS, KIND_CHUNK

EARTH_M = 6_371_000.0
MOST_POINTS = 1500  # drawn of a long track: more adds bytes, not detail, at this size
ROUND_M = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)


@dataclass(frozen=True)
class Fix:
    at_ms: int
    lat: float
    lon: float
    accuracy_m: int


@dataclass(frozen=True)
class Drawing:
    """What the template draws: points in the SVG's box, the scale bar, time labels."""

    width: int
    height: int
    points: "list[tuple[float, float]]"
    scale_m: int
    scale_px: float
    labels: "list[tuple[float, float, int]]"  # x, y, at_ms
    fixes: int

    @property
    def polyline(self) -> str:
        return " ".join("%.1f,%.1f" % p for p in self.points)


def fixes(entries: list) -> "list[Fix]":
    """The positions the chunks of ``entries`` were recorded at, in order."""
    out = []
    for e in entries:
        gps = e.fields.get(F_GPS) if e.kind == KIND_CHUNK else None
        if isinstance(gps, (list, tuple)) and len(gps) >= 2:
            acc = int(gps[2]) if len(gps) > 2 else 0
            out.append(Fix(int(e.fields.get(F_END_MS, 0)), gps[0] / 1e7, gps[1] / 1e7, acc))
    return out


def draw(
    track: "list[Fix]", width: int = 480, height: int = 320, margin: int = 28
) -> "Drawing | None":
    """The track fitted into ``width`` x ``height``; None without a position."""
    if not track:
        return None
    count = len(track)
    if len(track) > MOST_POINTS:  # a ten-hour track: every k-th fix, and the last
        step = -(-len(track) // MOST_POINTS)
        track = track[::step] + ([track[-1]] if (len(track) - 1) % step else [])
    # (the bounds of a decimated track: a fix left out lies between two kept, a step apart)
    mid = math.radians((min(f.lat for f in track) + max(f.lat for f in track)) / 2)
    lon0, lat0 = track[0].lon, track[0].lat
    # Metres east and north of the first fix.
    xy = [
        (
            math.radians(f.lon - lon0) * math.cos(mid) * EARTH_M,
            math.radians(f.lat - lat0) * EARTH_M,
        )
        for f in track
    ]
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 20.0)  # at least 20 m across
    inner_w, inner_h = width - 2 * margin, height - 2 * margin - 16
    per_m = min(inner_w, inner_h) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    points = [
        (width / 2 + (x - cx) * per_m, margin + inner_h / 2 - (y - cy) * per_m) for x, y in xy
    ]
    scale_m = max(m for m in ROUND_M if m * per_m <= inner_w / 3 or m == ROUND_M[0])
    picks = sorted({0, len(track) - 1, *(len(track) * k // 4 for k in (1, 2, 3))})
    labels = [(points[i][0], points[i][1], track[i].at_ms) for i in picks]
    return Drawing(width, height, points, scale_m, scale_m * per_m, labels, count)


def georef(
    drawing: Drawing, lat0: float, lon0: float
) -> "tuple[float, float, float, float] | None":
    """How a point of ``drawing`` maps back to the earth, given the position of the track's
    first fix (``lat0``, ``lon0``, degrees: the drawing's first point): ``(a, b, c, d)``
    with longitude ``a + b * x`` and latitude ``c + d * y``, x and y in the SVG's box.
    The drawing's scale bar gives its pixels per metre, and its points' extent in latitude
    the middle latitude ``draw`` projected about; None for a drawing without a scale. The
    page turns a click on the track into a place to search near (``host.web.places``)."""
    if not drawing.points or drawing.scale_m <= 0 or drawing.scale_px <= 0:
        return None
    per_m = drawing.scale_px / drawing.scale_m
    north = per_m * EARTH_M  # pixels per radian of latitude
    x0, y0 = drawing.points[0]
    ys = [p[1] for p in drawing.points]
    mid = lat0 + math.degrees((y0 - (min(ys) + max(ys)) / 2) / north)
    east = north * math.cos(math.radians(mid))  # pixels per radian of longitude
    return (
        lon0 - math.degrees(x0 / east),
        math.degrees(1 / east),
        lat0 + math.degrees(y0 / north),
        -math.degrees(1 / north),
    )


def distance_text(metres: int) -> str:
    return "%d km" % (metres // 1000) if metres >= 1000 else "%d m" % metres
