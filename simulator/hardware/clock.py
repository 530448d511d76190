"""The simulator's clock: true time that moves only when the simulation says so, and an RTC
that drifts from it and can lose its time."""
# micropython: skip (the simulator runs on CPython only)

import math

from firmware.hal import Clock
from host.i18n import text
from simulator.errors import SimulatorError

RTC_RESET_MS = 946684800000  # 2000-01-01T00:00:00Z: where an RTC starts after losing power


def whole(value: object, what: str) -> int:
    """``value`` if it is a whole number >= 0; SimulatorError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SimulatorError(text("sim.hw.whole", what=what, value=value))
    return value


class SimClock(Clock):
    """The device's RTC and monotonic counter, driven by a true time the simulation moves.

    The RTC runs ``drift_ppm`` parts per million fast (negative: slow) from the moment it was
    last set; the monotonic counter restarts at every power-up.
    """

    def __init__(self, true_start_ms: int, drift_ppm: float = 0.0) -> None:
        if drift_ppm <= -1e6:
            raise SimulatorError(text("sim.hw.drift"))
        self._true = whole(true_start_ms, "true_start_ms")
        self.drift_ppm = float(drift_ppm)
        self._boot_true = self._true  # true time of the last power-up
        self._rtc_base = self._true  # what the RTC read when it was last set (or reset)
        self._rtc_since = self._true  # the true time at that moment
        self._set = True

    @property
    def true_ms(self) -> int:
        """The real time now, ms since the epoch (what the world's clocks read)."""
        return self._true

    def wall_ms(self) -> int:
        elapsed = self._true - self._rtc_since
        return self._rtc_base + elapsed + math.floor(elapsed * self.drift_ppm / 1e6)

    def mono_ms(self) -> int:
        return self._true - self._boot_true

    def is_set(self) -> bool:
        return self._set

    def drift_ms(self) -> int:
        """How far the RTC is ahead of true time (negative: behind)."""
        return self.wall_ms() - self._true

    def advance(self, ms: int) -> None:
        self._true += whole(ms, "advance (ms)")

    def reset(self) -> None:
        """The RTC's backup cell died: it restarts at 2000-01-01 and is unset until set()."""
        self._rtc_base = RTC_RESET_MS
        self._rtc_since = self._true
        self._set = False

    def set(self, wall_ms: int) -> None:
        """The host (or the officer's menu) sets the RTC; drift accumulates from here."""
        self._rtc_base = whole(wall_ms, "wall_ms")
        self._rtc_since = self._true
        self._set = True

    def power_cycle(self) -> None:
        """Power off and on: monotonic time restarts at 0; the RTC keeps running."""
        self._boot_true = self._true
