"""A scripted officer's shift, run through the real recorder on a virtual clock.

The recorder is the firmware's own state machine; only the hardware is simulated: synthetic
frames stand in for the camera and microphone, and time moves when the script says so, so a
shift of minutes runs in a fraction of a second.
"""

from firmware.recorder import STORE, Recorder
from protocol.registry import PAUSE_PLACE_CHANGE
from protocol.signer import Ed25519Signer

GOOD_CHECKS = {"camera_ok": True, "battery_percent": 95, "storage_hours": 40}


class ShiftScript:
    """A recorder, a virtual clock and every ledger entry the recorder asked to store."""

    def __init__(self, signer: Ed25519Signer, device_id: str, officer: str, start_ms: int) -> None:
        self.recorder = Recorder(signer, device_id, officer)
        self.wall = start_ms
        self.mono = 0
        self.entries: list = []
        self.media: list = []  # the chunks' media, as the recorder handed it over
        self.media_bytes = 0

    def do(self, name: str, *args: object) -> None:
        for action in getattr(self.recorder, name)(*args, self.wall, self.mono):
            if action[0] == STORE:
                self.entries.append(action[1])
                if action[2] is not None:
                    self.media.append(action[2])
                    self.media_bytes += len(action[2])

    def wait(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms

    def film(self, seconds: int, fps: int, tag: str) -> None:
        """``seconds`` of synthetic video, a keyframe each second, with 200 ms audio blocks."""
        interval = 1000 // fps
        for i in range(seconds * fps):
            frame = ("%s frame %d @%d" % (tag, i, self.wall)).encode()
            self.do("frame", frame, i % fps == 0)
            if i % (fps // 5 or 1) == 0:
                self.do("audio", ("%s audio @%d" % (tag, self.wall)).encode())
            self.wait(interval)


def write_shift(
    signer: Ed25519Signer,
    device_id: str,
    start_ms: int,
    officer: str,
    seconds: int = 60,
    fps: int = 10,
) -> list:
    """Self-check, record with the announcement, pause for a change of place, resume with
    the spoken reason, record again, stop; return the encoded ledger entries."""
    return run_shift(signer, device_id, start_ms, officer, seconds, fps).entries


def run_shift(
    signer: Ed25519Signer,
    device_id: str,
    start_ms: int,
    officer: str,
    seconds: int = 60,
    fps: int = 10,
) -> ShiftScript:
    """The scripted shift; the returned script holds its entries and its media."""
    s = ShiftScript(signer, device_id, officer, start_ms)
    for action in s.recorder.power_on(s.wall, s.mono, GOOD_CHECKS):  # times first, by design
        if action[0] == STORE:
            s.entries.append(action[1])
    s.do("press_record")
    s.do("announce_done")
    s.do("narration_done")
    half = max(1, seconds // 2)
    s.film(half, fps, "street")
    s.do("pause", PAUSE_PLACE_CHANGE)
    s.wait(5 * 60 * 1000)  # the officer walks to the next place
    s.do("resume")
    for i in range(3):  # "moving to the station entrance, crowd blocked the view"
        s.do("audio", ("spoken reason %d" % i).encode())
        s.wait(1000)
    s.do("spoken_reason_done")
    s.film(seconds - half, fps, "entrance")
    s.do("press_stop")
    return s
