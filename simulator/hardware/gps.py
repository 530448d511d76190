"""The GPS: a walk along a track of (lat, lon) points."""
# micropython: skip (the simulator runs on CPython only)

import bisect
import itertools
import math

from firmware.hal import Gps
from host.i18n import text
from simulator.errors import SimulatorError
from simulator.hardware.clock import SimClock

_EARTH_M = 6_371_008.8  # mean Earth radius


def _metres(a: tuple, b: tuple) -> float:
    """Distance between two (lat, lon) points: equirectangular, fine for a walk through town."""
    lat = math.radians((a[0] + b[0]) / 2)
    dy = math.radians(b[0] - a[0])
    dx = math.radians(b[1] - a[1]) * math.cos(lat)
    return _EARTH_M * math.hypot(dx, dy)


class GpsTrack(Gps):
    """A receiver carried along a polyline at ``speed_mps``, to its end and back again."""

    ACCURACY_M = 5

    def __init__(self, clock: SimClock, points: list, speed_mps: float = 1.4) -> None:
        if not points:
            raise SimulatorError(text("sim.hw.gps_empty"))
        track = []
        for p in points:
            if len(p) != 2 or not (-90 <= p[0] <= 90 and -180 <= p[1] <= 180):
                raise SimulatorError(text("sim.hw.gps_point", value=p))
            track.append((float(p[0]), float(p[1])))
        if speed_mps < 0:
            raise SimulatorError(text("sim.hw.gps_speed", value=speed_mps))
        self.clock = clock
        self.points = track
        self.speed_mps = speed_mps
        self.start_ms = clock.true_ms
        self._along = [0.0]  # distance from the first point to each point
        for a, b in itertools.pairwise(track):
            self._along.append(self._along[-1] + _metres(a, b))
        self._lost = False

    @property
    def length_m(self) -> float:
        return self._along[-1]

    def position(self) -> tuple:
        """Where the receiver is now, (lat, lon) in degrees."""
        total = self._along[-1]
        if total <= 0:
            return self.points[0]
        d = self.speed_mps * (self.clock.true_ms - self.start_ms) / 1000 % (2 * total)
        if d > total:
            d = 2 * total - d  # on the way back
        i = min(bisect.bisect_right(self._along, d) - 1, len(self.points) - 2)
        span = self._along[i + 1] - self._along[i]
        f = (d - self._along[i]) / span if span > 0 else 0.0
        a, b = self.points[i], self.points[i + 1]
        return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f

    def fix(self) -> list | None:
        if self._lost:
            return None
        lat, lon = self.position()
        return [round(lat * 1e7), round(lon * 1e7), self.ACCURACY_M]

    def lose(self) -> None:
        """No fix (a tunnel, a building)."""
        self._lost = True

    def regain(self) -> None:
        self._lost = False
