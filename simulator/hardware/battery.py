"""The battery: a charge that drains by a simple model."""
# micropython: skip (the simulator runs on CPython only)

import math

from firmware.hal import Battery
from host.i18n import text
from simulator.errors import SimulatorError
from simulator.hardware.clock import whole


class SimBattery(Battery):
    """A charge that drains linearly: a full battery lasts ``hours_recording`` while
    recording and ``hours_idle`` while on but not recording."""

    def __init__(
        self, percent: float = 100.0, hours_recording: float = 10.0, hours_idle: float = 48.0
    ) -> None:
        if hours_recording <= 0 or hours_idle <= 0:
            raise SimulatorError(text("sim.hw.battery_hours"))
        self.hours_recording = hours_recording
        self.hours_idle = hours_idle
        self.level = self._checked(percent)

    @staticmethod
    def _checked(percent: float) -> float:
        if not 0 <= percent <= 100:
            raise SimulatorError(text("sim.hw.battery_percent", value=percent))
        return float(percent)

    def percent(self) -> int:
        # Rounded up, so the gauge reads 0 only when the battery is really empty; the small
        # allowance keeps float error from showing 91 for a level of 90.000000001.
        return max(0, math.ceil(self.level - 1e-9))

    def drain(self, ms: int, recording: bool) -> None:
        hours = self.hours_recording if recording else self.hours_idle
        self.level = max(0.0, self.level - 100 * whole(ms, "drain (ms)") / (hours * 3_600_000))

    def empty(self) -> bool:
        return self.level <= 0

    def die(self) -> None:
        self.level = 0.0

    def charge(self, percent: float = 100.0) -> None:
        """Charge (or swap) the battery to ``percent``."""
        self.level = self._checked(percent)
