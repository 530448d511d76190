"""The MicroPython board port: a template a device vendor copies and fills in.

Copy this module to ``firmware/ports/<your_board>.py`` and replace every ``NotImplementedError``
with your board's driver calls. Everything else in ``firmware/`` and ``protocol/`` runs
unchanged. What each piece must guarantee:

- ``BoardClock``: ``wall_ms`` from the battery-backed RTC, ``mono_ms`` from a counter that
  never goes backwards while powered. ``is_set`` is False after the RTC lost power, so the
  overlay warns and the self-check fails until the host sets the time (R-DEV-7, R-DEV-17).
- ``BoardCamera.read`` returns the encoder's output frame by frame, with the overlay text
  burned in by the ISP or the encoder's OSD (R-DEV-1), and the keyframe flag, without
  blocking for longer than one frame interval (R-DEV-6).
- ``make_board_signer`` returns an object with ``public_key()`` and ``sign(message)``. Prefer
  a secure element or a native Ed25519 module: the private key then never exists in Python
  memory. Without one, ``protocol.signer.make_signer(seed, prefer_native=False)`` signs in
  pure Python, and ``run`` boots the agent with a signing budget, so the cadenced signer
  (``firmware.signing``) signs every K-th entry if that is slow; a fast signer keeps K = 1.
- ``BoardMicrophone.read`` returns the next 200 ms block of encoded audio, or None while the
  codec has none yet; ``power_off_requested`` reads the power button (and the fuel gauge's
  cut-off).
- ``board_entropy`` feeds key generation at provisioning: a hardware RNG, never ``random``.
- The store directory must be on a filesystem whose writes survive power loss in order
  (littlefs, or FAT with the card's cache flushed on ``sync``).
- On the power button's off (and on a low-battery shutdown), call ``agent.shut_down()``
  before cutting power: it saves the checkpoint that lets the next boot skip re-reading
  the ledger (``firmware.memory``). A cut without it loses nothing; that boot is slower.

``run`` is the board's main loop: boot, then the camera's frames and ``firmware.runloop``'s
ticks, audio and storage checks until the power button says off. The buttons' handlers
call ``agent.input`` ("press_record", "press_stop", ...) between frames.
"""

import time

from firmware.hal import Battery, Camera, Clock, Indicators

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from protocol.signer import Ed25519Signer

STORE_PATH = "/sd/sealcam"  # where the vendor mounts the SD card or flash filesystem
SIGNING_BUDGET_PERCENT = 50  # the share of real time signing may take (firmware.signing)
BITRATE_BPS = 8_000_000  # what the encoder and the codec write per second, for hours left


class BoardClock(Clock):
    def wall_ms(self) -> int:
        raise NotImplementedError("read the RTC, as ms since 1970-01-01 UTC")

    def mono_ms(self) -> int:
        return time.ticks_ms()  # wraps after ~12 days on some ports: extend it if so

    def is_set(self) -> bool:
        raise NotImplementedError("report whether the RTC kept its time")


class BoardCamera(Camera):
    def read(self, overlay: str) -> tuple | None:
        raise NotImplementedError("return (encoded_frame, keyframe, mono_ms) from the encoder")

    def working(self) -> bool:
        raise NotImplementedError("probe the sensor and encoder")


class BoardBattery(Battery):
    def percent(self) -> int:
        raise NotImplementedError("read the fuel gauge")


class BoardIndicators(Indicators):
    def show(self, name: str, value: object) -> None:
        raise NotImplementedError("drive the record light, buzzer, vibration and display")

    def prompt(self, prompt_id: int, text: str) -> None:
        raise NotImplementedError("play the recorded prompt prompt_id, or show text")


class BoardMicrophone:
    def read(self) -> bytes | None:
        raise NotImplementedError("return the next 200 ms block from the audio codec, or None")


def power_off_requested() -> bool:
    raise NotImplementedError("read the power button and the battery's cut-off")


def make_board_signer(seed: bytes) -> "Ed25519Signer":
    """The device's signer; see the module notes for the order of preference."""
    from protocol.signer import make_signer

    return make_signer(seed, prefer_native=False)


def board_entropy(n: int) -> bytes:
    raise NotImplementedError("return n bytes from the hardware random number generator")


def run(store_path: str = STORE_PATH) -> None:
    """Boot the agent on this board and run it until the power button says off."""
    from firmware.agent import boot
    from firmware.provision import load_device_key, pinned_host_keys
    from firmware.runloop import RunLoop

    key = load_device_key(store_path)
    clock = BoardClock()
    agent = boot(
        store_path,
        make_board_signer(key.seed),
        key.device_id,
        "",  # the officer comes with the host-signed config (firmware.provision)
        clock,
        BoardCamera(),
        BoardIndicators(),
        BoardBattery(),
        host_keys=pinned_host_keys(store_path),
        bitrate_bps=BITRATE_BPS,
        signing_budget_percent=SIGNING_BUDGET_PERCENT,
    )
    loop = RunLoop(agent, BoardMicrophone().read)
    try:
        while not power_off_requested():
            agent.capture()  # one frame: blocks for at most one frame interval
            loop.serve()  # audio, ticks and storage checks when due
    finally:
        agent.shut_down()
