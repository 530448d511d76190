"""The buttons: each press names the recorder input it causes."""
# micropython: skip (the simulator runs on CPython only)

from typing import ClassVar

from host.i18n import text
from simulator.errors import SimulatorError
from simulator.hardware.clock import SimClock


class Buttons:
    """The recorder's physical buttons and the recorder input each press causes."""

    INPUTS: ClassVar[dict] = {
        "record": "press_record",
        "stop": "press_stop",
        "pause": "pause",
        "resume": "resume",
        "mark": "mark_important",
    }

    def __init__(self, clock: SimClock | None = None) -> None:
        self.clock = clock
        self.log: list = []  # (true_ms or None, button), oldest first

    def press(self, name: str) -> str:
        """Press button ``name``; return the recorder input it causes."""
        try:
            action = self.INPUTS[name]
        except KeyError:
            raise SimulatorError(
                text("sim.hw.no_button", name=repr(name), buttons=", ".join(self.INPUTS))
            ) from None
        self.log.append((self.clock.true_ms if self.clock is not None else None, name))
        return action
