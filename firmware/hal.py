"""The hardware the agent needs, as small interfaces a port fills in.

A port is a module that provides these for one kind of device: ``firmware.ports.cpython``
(a Linux terminal: OpenCV camera, the system clock, a storage directory),
``firmware.ports.board_template`` (what a MicroPython board vendor fills in), and the
simulator's virtual hardware. The agent sees only these methods, so the same recorder runs
on all of them.

Times are integers in milliseconds: wall time from the RTC (ms since the Unix epoch, UTC)
and monotonic time since boot.
"""


class Clock:
    """The RTC and a monotonic counter."""

    def wall_ms(self) -> int:
        raise NotImplementedError

    def mono_ms(self) -> int:
        raise NotImplementedError

    def is_set(self) -> bool:
        """False while the RTC has never been set (after a dead backup battery)."""
        return True


class Camera:
    """Yields encoded frames, each burned in with the overlay the agent supplies."""

    def read(self, overlay: str) -> tuple | None:
        """The next frame as ``(encoded_bytes, keyframe, mono_ms)``; None when there is none."""
        raise NotImplementedError

    def working(self) -> bool:
        """Whether the camera answers, for the pre-use self-check."""
        return True


class Microphone:
    """Yields encoded audio blocks."""

    def read(self) -> tuple | None:
        """The next block as ``(encoded_bytes, mono_ms)``; None when there is none."""
        raise NotImplementedError


class Battery:
    def percent(self) -> int:
        raise NotImplementedError


class Indicators:
    """Lights, buzzer or vibration, display and speaker (R-DEV-16)."""

    def show(self, name: str, value: object) -> None:
        """Set one indicator (e.g. "record-light", True) or a display field."""

    def prompt(self, prompt_id: int, text: str) -> None:
        """Say or display a prompt to the officer."""


class Gps:
    def fix(self) -> list | None:
        """``[lat_e7, lon_e7, accuracy_m]`` (degrees x 1e7, integers) or None without a fix."""
        return None
