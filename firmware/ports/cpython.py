"""The CPython port: a Linux terminal with a camera (or a video file) and a storage folder.

OpenCV captures from a camera index or reads a video file, burns the overlay into every frame
(R-DEV-1) and encodes each frame as JPEG, so every frame is a keyframe and stands alone.
"""
# micropython: skip (OpenCV and the system clock are CPython-only)

import signal
import threading
import time

import cv2
import numpy as np

from firmware.errors import FirmwareError
from firmware.hal import Battery, Camera, Clock, Indicators
from firmware.ports.docking import DockServer
from firmware.storelock import StoreClaim
from protocol.registry import MEDIA_MJPEG

JPEG_QUALITY = 85


class SystemClock(Clock):
    """The host's clock; ``now`` functions are injectable for tests."""

    def __init__(self, wall_ns=time.time_ns, mono_ns=time.monotonic_ns) -> None:
        self._wall_ns = wall_ns
        self._mono_ns = mono_ns
        self._mono0 = mono_ns()

    def wall_ms(self) -> int:
        return self._wall_ns() // 1_000_000

    def mono_ms(self) -> int:
        return (self._mono_ns() - self._mono0) // 1_000_000


def burn_overlay(image: np.ndarray, text: str) -> None:
    """Draw ``text`` along the bottom of the frame, white on a dark band, in place."""
    h, w = image.shape[:2]
    scale = max(0.4, w / 1600)
    thickness = max(1, int(scale * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    band = th + base + 8
    image[h - band : h, 0 : min(w, tw + 12)] //= 3
    cv2.putText(
        image,
        text,
        (6, h - base - 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )


class OpenCVCamera(Camera):
    """A camera index (``"0"``) or a video file path."""

    def __init__(self, source: str, clock: Clock, pace: bool = True, sleep=time.sleep) -> None:
        self.source = source
        self.clock = clock
        # A file is played at its own frame rate, as a camera would deliver it, so chunks
        # span the footage's real duration; a camera paces itself.
        self.pace = pace and not source.isdigit()
        self.sleep = sleep
        self.started = -1
        self.capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
        if not self.capture.isOpened():
            raise FirmwareError(
                "cannot open camera %r: give a camera index such as 0, or a readable video "
                "file" % source
            )

    def working(self) -> bool:
        return bool(self.capture.isOpened())

    def read(self, overlay: str) -> tuple | None:
        ok, image = self.capture.read()
        if not ok:
            return None
        if self.pace:
            if self.started < 0:
                self.started = self.clock.mono_ms()
            due = self.started + int(self.capture.get(cv2.CAP_PROP_POS_MSEC))
            wait = due - self.clock.mono_ms()
            if wait > 0:
                self.sleep(wait / 1000)
        burn_overlay(image, overlay)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise FirmwareError("the JPEG encoder refused a frame from %r" % self.source)
        return encoded.tobytes(), True, self.clock.mono_ms()

    def close(self) -> None:
        self.capture.release()


class MainsBattery(Battery):
    """A terminal on external power, or one whose battery the OS does not report."""

    def percent(self) -> int:
        return 100


class ConsoleIndicators(Indicators):
    """Prompts and indicator changes printed for the operator of a terminal."""

    def __init__(self, write=print) -> None:
        self.write = write

    def show(self, name: str, value: object) -> None:
        self.write("[%s] %s" % (name, value))

    def prompt(self, prompt_id: int, text: str) -> None:
        self.write(">> %s" % text)


class StopKey:
    """^C asks a recording to stop; it never lands in the middle of an entry.

    Python turns ^C into a KeyboardInterrupt raised wherever the main thread happens to be,
    which may be between the recorder signing an entry and the store writing it: the entry
    after it then follows a seq the store never got, the store refuses it (one chain, never
    a gap) and the recording dies. While a recording runs, ^C only sets ``stop`` and counts;
    the loop reads both between frames. Outside the main thread (a test driving the port)
    signals are not ours to take, and nothing changes.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.presses = 0
        self._previous: object = None

    def __enter__(self) -> "StopKey":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._pressed)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]  # what signal.signal gave back
            self._previous = None

    def _pressed(self, signum: int, frame: object) -> None:
        self.presses += 1
        self.stop.set()


def record(
    store: str,
    camera_source: str,
    seed: bytes,
    device_id: str,
    officer_id: str,
    seconds: float = 0,
    agency_public: bytes = b"",
    indicators: Indicators | None = None,
    queue_frames: int = 8,
    store_claim: "StoreClaim | None" = None,
) -> dict:
    """Run the agent on this machine: capture until the source ends, ``seconds`` pass, or ^C.

    A capture thread reads the camera into a bounded queue and never waits on the agent;
    the main thread signs and stores. Frames the queue had no room for are logged as an
    overrun (R-DEV-6). The agent is the store's only writer: it claims the store first
    (``firmware.storelock``; ``StoreInUse`` when another process holds it), unless the
    caller holds the claim already and passes it as ``store_claim``.
    """
    from firmware.storelock import claim

    held = store_claim if store_claim is not None else claim(store, "sealcam record")
    try:
        return _record(
            store,
            camera_source,
            seed,
            device_id,
            officer_id,
            seconds,
            agency_public,
            indicators,
            queue_frames,
        )
    finally:
        if store_claim is None:
            held.release()


def _record(
    store: str,
    camera_source: str,
    seed: bytes,
    device_id: str,
    officer_id: str,
    seconds: float,
    agency_public: bytes,
    indicators: Indicators | None,
    queue_frames: int,
) -> dict:
    from firmware.agent import boot
    from firmware.capture import CaptureQueue
    from firmware.runloop import RunLoop
    from protocol.sealing import sealed_fields
    from protocol.signer import make_signer

    clock = SystemClock()
    camera = OpenCVCamera(camera_source, clock)
    sealer = (lambda media: sealed_fields(media, agency_public)) if agency_public else None
    signer = make_signer(seed)
    agent = boot(
        store,
        signer,
        device_id,
        officer_id,
        clock,
        camera,
        indicators or ConsoleIndicators(),
        MainsBattery(),
        sealer=sealer,
        config={"video_media": MEDIA_MJPEG},  # every frame is a JPEG of its own
    )
    queue = CaptureQueue(queue_frames, threading.Lock())
    stop = threading.Event()
    counts = {"captured": 0}
    start = clock.mono_ms()

    def capture() -> None:
        while not stop.is_set():
            got = camera.read(agent.recorder.overlay(clock.wall_ms()))
            if got is None:
                break
            counts["captured"] += 1
            queue.put((got[0], got[1], clock.wall_ms(), got[2]), clock.wall_ms())
            if seconds and clock.mono_ms() - start >= seconds * 1000:
                break
        stop.set()

    # The agent serves docks itself, between frames (firmware.ports.docking).
    docks = DockServer(store, agent, signer)
    unavailable = docks.open()
    agent.input("press_record")
    agent.input("announce_done")
    loop = RunLoop(agent)  # ticks and storage checks between frames (no microphone here)
    thread = threading.Thread(target=capture, name="capture", daemon=True)
    thread.start()
    fed = 0
    with StopKey(stop) as key:
        try:
            while not stop.is_set() or queue.items:
                n = loop.drain(queue)
                fed += n
                docks.poll()
                if not n:
                    # Nothing queued: let the camera deliver the next frame (sooner while
                    # docked).
                    stop.wait(0.001 if docks.busy else 0.005)
        finally:
            stop.set()
            thread.join()
            fed += loop.drain(queue)
            agent.input("press_stop")
            try:
                # The footage has ended, the power has not: a dock under way finishes
                # (bounded by its idle limit); ^C ends it at once.
                while docks.busy and not key.presses:
                    docks.poll()
                    time.sleep(0.001)
            finally:
                docks.close()
                agent.shut_down()
                camera.close()
    summary = {
        "frames": fed,
        "frames_dropped": counts["captured"] - fed,
        "entries": agent.stored_entries,
        "media_bytes": agent.stored_media_bytes,
        "recovered_power_loss": agent.store.recovery.in_flight,
        "docks": docks.served,
    }
    if unavailable:
        summary["docks_unavailable"] = unavailable
    return summary
