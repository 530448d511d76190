"""The CPython port: a Linux terminal with a camera (or a video file) and a storage folder.

OpenCV captures from a camera index or reads a video file and burns the overlay into every
frame (R-DEV-1). By default PyAV encodes the frames as H.264 (or H.265) and a microphone's
sound as AAC, and the recorder signs them as fragmented MP4 chunks, one GOP each
(``firmware.ports.encoder``, ``firmware.packager``); ``--codec mjpeg`` keeps the raw mode,
every frame a JPEG that stands alone. A vendor's hardware encoder can stand in for the camera
and the encoder (``firmware.ports.vendor``): its stream is signed as it is.
"""
# micropython: skip (OpenCV, PyAV and the system clock are CPython-only)

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np

from firmware.capture import CaptureQueue
from firmware.errors import FirmwareError, RecorderError
from firmware.hal import Battery, Camera, Clock, Indicators
from firmware.ports.docking import DockServer
from firmware.ports.terminalkeys import N_
from firmware.recorder import (
    BUZZER,
    LOCAL_OFFSET_MS,
    P_ANNOUNCE,
    P_NARRATE,
    P_STATE_REASON,
    PAUSED,
    RECORDING,
    RESUMING,
    STATE_NAMES,
    STREAM_AUDIO,
    STREAM_VIDEO,
)
from firmware.storelock import StoreClaim
from protocol.registry import MEDIA_H264, MEDIA_H265, MEDIA_MJPEG

if TYPE_CHECKING:
    from firmware.packager import Fmp4Packager
    from firmware.ports.encoder import ReasonClip
    from firmware.ports.keysource import KeySource
    from firmware.ports.vendor import AnnexBInput, Mp4Input
    from protocol.mp4 import Track

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
            from firmware.ports.encoder import MediaError

            raise MediaError(
                "cannot open camera %r: give a camera index such as 0, or a readable video "
                "file" % source,
                N_("record.media.camera"),
                source=repr(source),  # as the English says it (%r)
            )

    def working(self) -> bool:
        return bool(self.capture.isOpened())

    def fps(self) -> int:
        """The source's frame rate as it reports it, 0 when unknown."""
        rate = self.capture.get(cv2.CAP_PROP_FPS)
        return round(rate) if 0 < rate < 1000 else 0

    def read_image(self, overlay: str) -> tuple | None:
        """The next frame as ``(bgr_image, mono_ms)``, the overlay burned in; None at the end.

        A paced file's frame is stamped with the time it is due (its position in the file
        after the first frame), so its timing is the file's own however the threads run.
        """
        ok, image = self.capture.read()
        if not ok:
            return None
        mono = -1
        if self.pace:
            if self.started < 0:
                self.started = self.clock.mono_ms()
            mono = self.started + int(self.capture.get(cv2.CAP_PROP_POS_MSEC))
            wait = mono - self.clock.mono_ms()
            if wait > 0:
                self.sleep(wait / 1000)
        burn_overlay(image, overlay)
        return image, mono if mono >= 0 else self.clock.mono_ms()

    def read(self, overlay: str) -> tuple | None:
        got = self.read_image(overlay)
        if got is None:
            return None
        image, mono = got
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise FirmwareError("the JPEG encoder refused a frame from %r" % self.source)
        return encoded.tobytes(), True, mono

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


# How the officer's terminal renders a message: ``say(message_id, fields)`` gives the line in
# the officer's language. The texts live above the firmware (``host/locale``, read by
# ``host.i18n``); a field that is itself ``(message_id, fields)`` is rendered first.
Say = Callable[[str, dict], str]

# The prompts the terminal words itself (what to press next); any other prompt is shown with
# the device's own text.
_PROMPTS = {
    P_ANNOUNCE: N_("prompt.announce"),
    P_NARRATE: N_("prompt.narrate"),
    P_STATE_REASON: N_("prompt.reason"),
}


class Terminal(Indicators):
    """The officer's terminal: a status line a person reads, prompts that say which key comes
    next, and one line per thing that happened, each in the officer's language (``say``).

    On a terminal (``live``) the status line is redrawn in place and other lines are written
    above it; elsewhere (a log, a pipe) it is written when the state changes.
    """

    def __init__(
        self,
        say: Say,
        write: "Callable[[str], object] | None" = None,
        live: bool = False,
        chunks: "Callable[[], int] | None" = None,
    ) -> None:
        self.say = say
        self.out = write if write is not None else sys.stdout.write
        self.live = live
        self.chunks = chunks or (lambda: 0)
        self.status_line = ""
        self.last_state = ""
        self.hears = True  # a microphone is recording: a spoken reason can be

    def render(self, msg_id: str, fields: "dict | None" = None) -> str:
        done = {}
        for name, value in (fields or {}).items():
            if isinstance(value, tuple):
                value = self.render(value[0], value[1])
            done[name] = value
        return self.say(msg_id, done)

    def _write(self, text: str) -> None:
        self.out(text)
        flush = getattr(self.out, "__self__", None)
        if flush is not None and hasattr(flush, "flush"):
            flush.flush()

    def line(self, msg_id: str, fields: "dict | None" = None) -> None:
        """One line for the officer, above the status line."""
        text = self.render(msg_id, fields)
        if self.live:
            self._write("\r\x1b[K" + text + "\r\n" + self.status_line)
        else:
            self._write(text + "\n")

    def show(self, name: str, value: object) -> None:
        if name == "status" and isinstance(value, dict):
            self.status(value)
        elif name == BUZZER and isinstance(value, str):
            self.line("buzzer." + value)

    def status(self, status: dict) -> None:
        """The status line: state, local time, battery, storage hours left, chunks."""
        secs = (int(status.get("time_ms", 0)) + LOCAL_OFFSET_MS) // 1000 % 86400
        hours = status.get("storage_hours", -1)
        percent = status.get("battery_percent", -1)
        state = str(status.get("state", ""))
        fields = {
            "state": ("state." + state, {}),
            "time": "%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60),
            "battery": "%d%%" % percent if isinstance(percent, int) and percent >= 0 else "?",
            "hours": "%.1f" % hours if isinstance(hours, (int, float)) and hours >= 0 else "?",
            "chunks": self.chunks(),
        }
        self.status_line = self.render("status.line", fields)
        if self.live:
            self._write("\r\x1b[K" + self.status_line)
        elif state != self.last_state:
            self._write(self.status_line + "\n")
        self.last_state = state

    def prompt(self, prompt_id: int, text: str) -> None:
        self.line(_PROMPTS.get(prompt_id, N_("prompt.other")), {"text": text})
        if prompt_id == P_STATE_REASON and not self.hears:
            self.line("prompt.no_mic")

    def end(self) -> None:
        """Leave the status line where it is and start a fresh line below it."""
        if self.live and self.status_line:
            self._write("\r\n")


class StopKey:
    """^C asks a recording to stop; it never lands in the middle of an entry.

    Python turns ^C into a KeyboardInterrupt raised wherever the main thread happens to be,
    which may be between the recorder signing an entry and the store writing it: the entry
    after it then follows a seq the store never got, the store refuses it (one chain, never
    a gap) and the recording dies. While a recording runs, ^C only counts, and a thread of
    its own sets ``stop`` and ``wake``; the loop reads ``stop`` between frames. Outside the
    main thread (a test driving the port) signals are not ours to take, and nothing changes.

    The handler itself takes no lock. Python runs it on the main thread between two of its
    steps, wherever that thread is, also inside ``wake.clear()`` or ``wake.wait()`` while it
    holds the event's lock; an ``Event.set`` there waits for that lock for ever, and so does
    every capture thread after it (seen: ^C on the officer's terminal, then nothing more,
    rarely, on a loaded machine). So the handler only writes a byte into a pipe, which
    takes no lock and never waits, and the thread reading it sets the events as any thread
    would.
    """

    def __init__(self, stop: threading.Event, wake: "threading.Event | None" = None) -> None:
        self.stop = stop
        self.wake = wake  # what the loop sleeps on, so that ^C ends its wait at once
        self.presses = 0
        self._previous: object = None
        self._pipe: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StopKey":
        if threading.current_thread() is not threading.main_thread():
            return self
        r, w = os.pipe()
        os.set_blocking(w, False)  # the handler never waits on a full pipe
        self._pipe = (r, w)
        self._thread = threading.Thread(target=self._watch, args=(r,), name="ctrl-c", daemon=True)
        try:
            self._thread.start()
            self._previous = signal.signal(signal.SIGINT, self._pressed)
        except BaseException:  # ^C before the handler was ours: a KeyboardInterrupt, as ever
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]  # what signal.signal gave back
            self._previous = None
        if self._pipe is not None:
            w = self._pipe[1]
            # A byte ends the thread, which closes the reading end; closing the writing end
            # might not end it (a process forked meanwhile may hold it open). No handler
            # writes any more: this may wait.
            os.set_blocking(w, True)
            os.write(w, _STOP_KEY_END)
            if self._thread is not None and self._thread.ident is not None:
                self._thread.join()
            # else ^C came inside its start (a KeyboardInterrupt ends the command): it ends
            # by itself, if it runs at all
            os.close(w)
            self._pipe = self._thread = None

    def _pressed(self, signum: int, frame: object) -> None:
        # Runs on the main thread, wherever it is: nothing here may take a lock.
        self.presses += 1
        if self._pipe is not None:
            self._write(self._pipe[1], _STOP_KEY_PRESSED)

    @staticmethod
    def _write(fd: int, byte: bytes) -> None:
        try:
            os.write(fd, byte)
        except BlockingIOError:
            pass  # full: the thread has a byte still to read, and a stop is a stop

    def _watch(self, fd: int) -> None:
        try:
            while True:
                data = os.read(fd, 64)
                if _STOP_KEY_PRESSED in data:
                    self.stop.set()
                    if self.wake is not None:
                        self.wake.set()
                if not data or _STOP_KEY_END in data:
                    return
        finally:
            os.close(fd)


_STOP_KEY_PRESSED = b"c"  # a ^C, in StopKey's pipe
_STOP_KEY_END = b"e"  # the recording is over


class Media:
    """What a recording captures, opened (and checked) before anything is signed.

    ``read(overlay, keyframe)`` gives the next items ``(stream, data, keyframe, mono_ms,
    cto)`` (STREAM_VIDEO or STREAM_AUDIO), [] while nothing is ready, None at the end;
    ``keyframe`` asks the encoder for an IDR where it can make one. ``video_track`` is None
    until the stream has shown its parameter sets, ``audio_track`` None without sound.
    """

    codec = "mjpeg"
    video_track: "Track | None" = None
    audio_track: "Track | None" = None
    frame_ms = 33
    ended_early = ""
    camera: Camera = Camera()  # what the self-check asks whether it works

    def read(self, overlay: str, keyframe: bool) -> "list | None":
        raise NotImplementedError

    def flush(self) -> list:
        return []

    def notes(self) -> dict:
        """What the summary should say about the source beyond the counts."""
        return {}

    def close(self) -> None:
        pass


class JpegFrames(Media):
    """Today's raw mode: every frame a JPEG of its own (``--codec mjpeg``)."""

    def __init__(self, camera: OpenCVCamera) -> None:
        self.camera = self.opencv = camera
        self.frame_ms = 1000 // (camera.fps() or 30)

    def read(self, overlay: str, keyframe: bool) -> "list | None":
        got = self.opencv.read(overlay)
        return None if got is None else [(STREAM_VIDEO, got[0], True, got[2], 0)]

    def close(self) -> None:
        self.opencv.close()


class EncodedFrames(Media):
    """The camera's frames through the H.264/H.265 encoder (``firmware.ports.encoder``)."""

    def __init__(self, camera: OpenCVCamera, codec: str, fps: int, gop: int = 0) -> None:
        from firmware.ports.encoder import VideoEncoder

        self.camera = self.opencv = camera
        self.codec = codec
        rate = camera.fps() or fps
        self.frame_ms = 1000 // rate
        self.encoder = VideoEncoder(codec, rate, gop)

    def read(self, overlay: str, keyframe: bool) -> "list | None":
        got = self.opencv.read_image(overlay)
        if got is None:
            return None
        samples = self.encoder.encode(got[0], got[1], keyframe)
        self.video_track = self.encoder.track
        return [(STREAM_VIDEO, data, key, mono, 0) for data, key, mono in samples]

    def flush(self) -> list:
        return [(STREAM_VIDEO, d, k, m, 0) for d, k, m in self.encoder.flush()]

    def close(self) -> None:
        self.opencv.close()


class VendorStream(Media):
    """A vendor's encoder output (``firmware.ports.vendor``), signed as it is."""

    def __init__(self, source: "AnnexBInput | Mp4Input", fps: int) -> None:
        self.source = source
        self.codec = {"avc1": "h264", "hvc1": "h265"}[source.codec]
        self.video_track = source.track
        self.audio_track = source.audio_track
        self.frame_ms = 1000 // fps
        self.camera = Camera()  # the probe found a keyframe: the "camera" works

    def read(self, overlay: str, keyframe: bool) -> "list | None":
        # The vendor burns the overlay in and decides its own keyframes (docs/vendor-encoder.md).
        got = self.source.read()
        self.ended_early = self.source.ended_early
        return got

    def notes(self) -> dict:
        out: dict = {"input_format": self.source.kind}
        if self.source.skipped:
            out["skipped_before_first_keyframe"] = self.source.skipped
        if getattr(self.source, "damaged", 0):
            out["damaged_samples"] = getattr(self.source, "damaged", 0)
        if getattr(self.source, "empty", 0):
            out["units_without_picture"] = getattr(self.source, "empty", 0)
        if getattr(self.source, "reordered", 0):
            out["b_frames"] = getattr(self.source, "reordered", 0)
        if self.source.params_changed:
            # The recording ended there: the pictures after them would not decode with the
            # init segment it signed (docs/vendor-encoder.md).
            out["parameter_sets_changed"] = True
        if getattr(self.source, "moov_changed", False):
            out["new_moov_changed"] = True  # the change came as a new MP4 (ftyp/moov)
        if getattr(self.source, "new_moov", 0):
            # New MP4s whose settings decode as the signed ones: the recording went on.
            out["new_moov"] = getattr(self.source, "new_moov", 0)
        if getattr(self.source, "audio_ignored", ""):
            out["audio_ignored"] = getattr(self.source, "audio_ignored", "")
            out["audio_ignored_why"] = getattr(self.source, "audio_ignored_why", "")
        return out

    def close(self) -> None:
        self.source.close()


class Sound:
    """A microphone (``--mic``: a WAV file or a device) through the AAC encoder."""

    def __init__(self, spec: str, clock: Clock, pace: bool, sleep: "Callable[[float], None]"):
        from firmware.ports.encoder import AudioEncoder, open_microphone

        self.mic = open_microphone(spec, clock, pace, sleep)
        try:
            self.encoder = AudioEncoder(self.mic.sample_rate, self.mic.channels)
        except BaseException:
            self.mic.close()
            raise
        self.track = self.encoder.track()
        # The capture time the sound read so far reaches (the end of its last block), -1
        # before the first block: how far the microphone has heard, whatever the encoder
        # still holds back.
        self.heard_ms = -1

    def begin(self, mono_ms: int) -> None:
        self.mic.begin(mono_ms)

    def read(self) -> "list | None":
        got = self.mic.read()
        if got is None:
            return None
        pcm, mono = got
        samples = len(pcm) // (2 * self.mic.channels)
        self.heard_ms = mono + samples * 1000 // self.mic.sample_rate
        return self.encoder.encode(pcm, mono)

    def flush(self) -> list:
        return self.encoder.flush()

    def close(self) -> None:
        self.mic.close()


def _message(exc: BaseException) -> object:
    """``exc`` as a message in plain values, ``(msg_id, fields)`` (a field that is an error
    made one too), when it names its line (``MediaError``); else its English words."""
    msg_id = getattr(exc, "msg_id", "")
    fields = getattr(exc, "fields", None)
    if not msg_id or not isinstance(fields, dict):
        return getattr(exc, "strerror", None) or str(exc)
    said = {}
    for name, value in fields.items():
        said[name] = _message(value) if isinstance(value, BaseException) else value
    return (msg_id, said)


def av_errors() -> "type[Exception]":
    """PyAV's error base (FFmpegError), imported only where PyAV is in use."""
    import av

    return av.FFmpegError


CODECS = ("h264", "h265", "mjpeg")
VIDEO_MEDIA = {"h264": MEDIA_H264, "h265": MEDIA_H265, "mjpeg": MEDIA_MJPEG}


def open_media(
    camera_source: str,
    codec: str,
    clock: Clock,
    input_spec: str = "",
    mic: str = "",
    fps: int = 30,
    gop: int = 0,
    pace: bool = True,
    sleep: "Callable[[float], None]" = time.sleep,
    stop: "threading.Event | None" = None,
) -> "tuple[Media, Sound | None]":
    """Open the picture source and the microphone; FirmwareError (one line) if unusable.

    ``codec`` is h264, h265 or mjpeg for a camera; for ``input_spec`` (a vendor's stream)
    it is h264, h265 or "" (taken from the stream).
    """
    from firmware.ports.encoder import MediaError

    if codec and codec not in CODECS:
        raise MediaError(
            "unknown codec %r: give h264, h265 or mjpeg" % codec,
            N_("record.media.unknown_codec"),
            codec=repr(codec),
        )
    if mic and codec == "mjpeg":
        raise MediaError(
            "the Motion JPEG mode (--codec mjpeg) records no sound: give --codec h264 or "
            "h265 to record the microphone too",
            N_("record.media.mjpeg_mic"),
        )
    if input_spec and codec == "mjpeg":
        raise MediaError(
            "--input takes an H.264 or H.265 stream: give --codec h264 or h265",
            N_("record.media.mjpeg_input"),
        )
    sound = Sound(mic, clock, pace, sleep) if mic else None
    try:
        media: Media
        if input_spec:
            from firmware.ports.vendor import open_input

            source = open_input(input_spec, codec, fps, clock, pace, sleep, stop)
            media = VendorStream(source, fps)
            if sound is not None and media.audio_track is not None:
                media.close()
                raise MediaError(
                    "the MP4 on the input carries its own AAC sound: drop --mic, or mux the "
                    "microphone into the encoder's MP4",
                    N_("record.media.input_sound_mic"),
                )
        else:
            camera = OpenCVCamera(camera_source, clock, pace, sleep)
            if codec == "mjpeg":
                media = JpegFrames(camera)
            else:
                media = EncodedFrames(camera, codec or "h264", fps, gop)
    except BaseException:
        if sound is not None:
            sound.close()
        raise
    return media, sound


def open_reason(path: str, media: Media, sound: "Sound | None") -> "ReasonClip":
    """``--reason FILE.wav``, read and encoded in the recording's sound format before anything
    is recorded; FirmwareError (one line) if the file or the combination is unusable."""
    from firmware.ports.encoder import MediaError, ReasonClip

    if media.codec == "mjpeg":
        raise MediaError(
            "the Motion JPEG mode (--codec mjpeg) records no sound, so no spoken reason: give "
            "--codec h264 or h265 to record the reason from a file",
            N_("record.media.mjpeg_reason"),
        )
    if sound is not None:
        return ReasonClip(path, sound.encoder.sample_rate, sound.encoder.channels)
    if media.audio_track is not None:
        raise MediaError(
            "the MP4 on the input carries its own AAC sound, and the spoken reason is that "
            "sound: drop --reason",
            N_("record.media.input_sound_reason"),
        )
    return ReasonClip(path)


# A microphone that has given no sound for this long once the pictures have ended has
# stopped answering: the recording stops without the rest of its sound rather than wait on
# it for ever. Half of ALSA's own capture read timeout (10 s, after which the read fails
# with EIO, a failure of its own), so the two are never taken for each other.
MIC_SILENT_LIMIT_MS = 5_000


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
    codec: str = "h264",
    mic: str = "",
    input_spec: str = "",
    fps: int = 30,
    gop: int = 0,
    clock: "Clock | None" = None,
    pace: bool = True,
    sleep: "Callable[[float], None]" = time.sleep,
    keys: "KeySource | None" = None,
    opened: "tuple[Media, Sound | None] | None" = None,
    stop: "threading.Event | None" = None,
    reason: "ReasonClip | None" = None,
    mic_wait_ms: int = MIC_SILENT_LIMIT_MS,
) -> dict:
    """Run the agent on this machine: capture until the source ends, ``seconds`` pass, or ^C.

    Without ``keys`` the recording starts at once and nobody is there to confirm the
    announcement, so none is logged (the host flags it). With ``keys`` (a terminal or a
    script, ``firmware.ports.keysource``) the officer works the recorder: the camera runs in
    pre-record (R-DEV-15) until the record key, and every control is a key
    (``firmware.ports.terminalkeys``); ``indicators`` should then be a ``Terminal``.
    ``opened`` is the media and sound the caller has opened already with ``open_media``
    (so it can refuse an unusable camera before it makes a store or a key), with ``stop``,
    the event it gave ``open_media`` (a vendor's stream stops reading on it). ``reason``
    (``open_reason``) is the spoken reason said at every resume, from a file: it stands in
    for the microphone until it has been said, and its end is the officer's d.

    The pictures come from ``camera_source`` (a camera index or a video file), encoded as
    ``codec`` (h264, the default, or h265: fragmented MP4 chunks; mjpeg: today's raw JPEG
    frames), or from ``input_spec``, a vendor encoder's stream signed as it is
    (``firmware.ports.vendor``); ``mic`` adds sound (a WAV file or a device). Everything is
    opened and checked before the store is touched, so unusable media signs nothing.

    A capture thread reads the pictures (and one the microphone) into bounded queues and
    never waits on the agent; the main thread signs and stores. What a queue had no room
    for is logged as an overrun (R-DEV-6). A file is played at its own pace: ``clock`` and
    ``sleep`` are injectable, so a test plays it on a virtual clock, and ``pace`` False
    reads as fast as it can. The agent is the store's only writer: it claims the store first
    (``firmware.storelock``; ``StoreInUse`` when another process holds it), unless the
    caller holds the claim already and passes it as ``store_claim``. Once the pictures have
    ended, a microphone that gives nothing for ``mic_wait_ms`` is given up on (the summary
    says so).
    """
    from firmware.storelock import claim

    clock = clock if clock is not None else SystemClock()
    stop = stop if stop is not None else threading.Event()
    if opened is not None:
        media, sound = opened
    else:
        media, sound = open_media(
            camera_source, codec, clock, input_spec, mic, fps, gop, pace, sleep, stop
        )
    try:
        held = store_claim if store_claim is not None else claim(store, "sealcam record")
    except BaseException:
        media.close()
        if sound is not None:
            sound.close()
        raise
    try:
        return _record(
            store, seed, device_id, officer_id, seconds, agency_public, indicators,
            queue_frames, clock, media, sound, stop, keys, reason, mic_wait_ms,
        )  # fmt: skip
    finally:
        if store_claim is None:
            held.release()


class PictureQueue(CaptureQueue):
    """The capture queue of pictures, each queued with the video track it belongs to.

    The packager is the main thread's: it makes the init segment and the fragments there.
    The capture thread learns the track (our own encoder shows its parameter sets with its
    first picture), but handing it to the packager from there would let the main thread
    package with the old track, or none, while the new one is being set. So the track rides
    in the queue with every picture (``(data, keyframe, wall, mono, cto, track)``), and
    ``get``, on the main thread, gives the packager a track it has not seen before the first
    picture of it is fed. Every picture carries it, so a dropped picture loses no track.
    """

    def __init__(
        self,
        capacity: int,
        lock: "threading.Lock",
        packager: "Fmp4Packager | None",
        track: "Track | None",
    ) -> None:
        super().__init__(capacity, lock)
        self.packager = packager
        self.known = track  # the track the packager has

    def get(self) -> object:
        item = super().get()
        if item is not None and self.packager is not None:
            track = cast(tuple, item)[5]
            if track is not None and track is not self.known:
                self.known = track
                self.packager.set_video(track)
        return item


# The main loop's longest sleep while nothing is queued: a dock that connects, a stop set
# from outside (not by ^C, which wakes the loop itself) and a storage check wait at most
# this long. While a dock is being served its bytes are moved every millisecond.
IDLE_WAIT_S = 0.05
DOCK_WAIT_S = 0.001


def _idle_wait(tick_in_ms: int, docked: bool) -> float:
    """How long the recording loop may sleep with nothing queued, in seconds."""
    bound = DOCK_WAIT_S if docked else IDLE_WAIT_S
    return max(0.0, min(bound, tick_in_ms / 1000))


def _record(
    store: str,
    seed: bytes,
    device_id: str,
    officer_id: str,
    seconds: float,
    agency_public: bytes,
    indicators: Indicators | None,
    queue_frames: int,
    clock: Clock,
    media: Media,
    sound: "Sound | None",
    stop: threading.Event,
    keys: "KeySource | None" = None,
    reason: "ReasonClip | None" = None,
    mic_wait_ms: int = MIC_SILENT_LIMIT_MS,
) -> dict:
    from firmware.agent import boot
    from firmware.runloop import RunLoop
    from protocol.sealing import sealed_fields
    from protocol.signer import make_signer

    sealer = (lambda media: sealed_fields(media, agency_public)) if agency_public else None
    signer = make_signer(seed)
    packager = None
    if media.codec != "mjpeg":
        from firmware.packager import Fmp4Packager

        audio_track = sound.track if sound is not None else media.audio_track
        if audio_track is None and reason is not None:
            audio_track = reason.track()  # the recording's only sound: its spoken reasons
        # Our own encoder shows its parameter sets with the first frame; the packager learns
        # them as the main thread takes that frame from the queue (PictureQueue).
        packager = Fmp4Packager(media.video_track, audio_track, frame_ms=max(1, media.frame_ms))
    agent = boot(
        store,
        signer,
        device_id,
        officer_id,
        clock,
        media.camera,  # for the self-check; the capture thread reads the media itself
        indicators or ConsoleIndicators(),
        MainsBattery(),
        sealer=sealer,
        config={"video_media": VIDEO_MEDIA[media.codec]},
        packager=packager,
    )
    # A vendor's encoder (or its driver) may hand over a GOP at once: room for two seconds,
    # so a burst is not an overrun that costs the pictures up to the next keyframe.
    room = queue_frames
    if isinstance(media, VendorStream):
        room = max(queue_frames, 2000 // max(1, media.frame_ms))
    queue = PictureQueue(room, threading.Lock(), packager, media.video_track)
    # A second queue for sound: AAC frames are many and small, and a burst of them must not
    # take the room of a picture (nor the other way round).
    audio_queue = CaptureQueue(max(8, queue_frames * 8), threading.Lock())
    counts = {
        "captured": 0,
        "audio_captured": 0,
        "audio_fed": 0,
        "audio_replaced": 0,
        "reason_fed": 0,  # frames of the --reason file said at resumes
    }
    start = clock.mono_ms()
    recorder = agent.recorder

    def wall(mono: int) -> int:
        # The wall time a capture time stands for (both clocks move together).
        return clock.wall_ms() + mono - clock.mono_ms()

    pictures = threading.Event()  # the first picture is queued: sound may start
    # The main loop sleeps on this until there is work: the capture threads set it after
    # each put, and whatever sets ``stop`` here sets it too.
    wake = threading.Event()
    first_picture = [0]  # its capture time
    # The footage's end, up to which the sound is recorded: ``captured`` is set once the
    # capture thread has put its last picture, and ``footage_end`` is then that picture's
    # capture time plus a frame, but never past the clock then (plus a frame): a stream read
    # faster than it was filmed (a file on a pipe) must not keep a live microphone going.
    captured = threading.Event()
    footage_end = [0]
    heard = threading.Event()  # the microphone thread has put its last sound (if any)
    if sound is None:
        heard.set()
    # How many reads the microphone thread has come back from; the silence counted since
    # the last of them once the pictures have ended, and the clock at the turn that last
    # counted it; whether it was given up on as stopped answering (its thread is left in
    # its read).
    answers = [0]
    silence = {"ms": 0, "answers": 0, "turn": -1, "said": 0}  # said: see below
    deaf = threading.Event()

    def put(items: list) -> None:
        for stream, data, keyframe, mono, cto in items:
            if stream == STREAM_VIDEO:
                counts["captured"] += 1
                footage_end[0] = max(footage_end[0], mono + media.frame_ms)
                # The picture goes with the track it belongs to: the main thread gives the
                # packager a new one in order, never this thread (PictureQueue).
                picture = (data, keyframe, wall(mono), mono, cto, media.video_track)
                queue.put(picture, clock.wall_ms())
                if not pictures.is_set():
                    first_picture[0] = mono
                    pictures.set()
            else:
                counts["audio_captured"] += 1
                audio_queue.put((data, wall(mono), mono), clock.wall_ms())
        wake.set()

    # What made a capture thread give up, one each: its English line and the same line as a
    # message ``(msg_id, fields)`` for a host that says it in the officer's language.
    failed: list = []

    def capture() -> None:
        forced = False  # an IDR was asked of the encoder since the recorder wanted one
        try:
            while not stop.is_set():
                # The recorder wants a keyframe from record start or resume until one
                # arrives; ask once, not again for every frame still in the queue.
                wanted = recorder.wants_keyframe
                items = media.read(recorder.overlay(clock.wall_ms()), wanted and not forced)
                forced = wanted
                if items is None:
                    break
                put(items)
                if seconds and clock.mono_ms() - start >= seconds * 1000:
                    break
            put(media.flush())
        except (FirmwareError, av_errors(), ValueError) as exc:
            # The recording ends cleanly with what was captured; the summary says why.
            failed.append(
                (
                    "the picture source failed: %s" % exc,
                    ("record.picture_failed", {"why": _message(exc)}),
                )
            )
        finally:
            footage_end[0] = min(footage_end[0], clock.mono_ms() + media.frame_ms)
            captured.set()
            stop.set()
            wake.set()

    def listen() -> None:
        try:
            hear()
        except (FirmwareError, av_errors(), ValueError) as exc:
            failed.append(  # the pictures go on
                ("the microphone failed: %s" % exc, ("record.mic_failed", {"why": _message(exc)}))
            )
        finally:
            heard.set()
            wake.set()

    def hear() -> None:
        assert sound is not None
        # The sound starts with the pictures: media time 0 is the first picture, and the init
        # segment needs the video's parameter sets, which come with it.
        while not pictures.wait(0.01):
            if stop.is_set():
                return
        sound.begin(first_picture[0])
        # The sound ends with the footage, not when this thread notices the stop: on a busy
        # machine it may run late (even not have read its first block when the last picture
        # is taken), and what the microphone heard until the last picture is still in its
        # file or its device's buffer. The footage's end is never past the clock (plus a
        # frame), so reading on to it waits for one block at most.
        while not (captured.is_set() and sound.heard_ms >= footage_end[0]):
            frames = sound.read()
            answers[0] += 1
            if deaf.is_set():
                # Given up on while in that read: the recording has fed its last sound and
                # is counting it, so this sound is no longer put (nor the encoder flushed).
                return
            if frames is None:
                break  # the sound has ended before the pictures; the pictures go on
            put([(STREAM_AUDIO, data, False, mono, 0) for data, mono in frames])
        # The encoder holds back the last samples it was given (AAC's look-ahead): without
        # its flush, the recording's last tenth of a second of sound would be lost.
        put([(STREAM_AUDIO, data, False, mono, 0) for data, mono in sound.flush()])

    def given_up_on_the_microphone(presses: int) -> bool:
        """After the pictures have ended, a microphone thread still waiting in a read that
        has given nothing for ``mic_wait_ms`` is given up on (said in the summary):
        the device stopped answering, and a read inside PyAV cannot be interrupted. The
        officer is told it is waited for, and ^C then (or a second ^C) ends the wait.
        ``presses``: how many times ^C was pressed."""
        if deaf.is_set():
            return True
        if heard.is_set() or not captured.is_set():
            return False
        # ^C while the wait is said (or a second one, the first having stopped the pictures)
        if presses > 1 or (silence["said"] and presses >= silence["said"]):
            failed.append(
                (
                    "the microphone's last sound was not waited for (^C), so the sound ends "
                    "where it stopped",
                    ("record.mic_not_waited", {}),
                )
            )
            deaf.set()
            return True
        now = clock.mono_ms()
        if silence["answers"] != answers[0]:
            silence.update(ms=0, answers=answers[0])
        elif silence["turn"] >= 0:
            # Only the time of a turn that ran counts, and no more than two idle waits of it:
            # time the process spent stopped (^Z, SIGSTOP, a frozen machine) is no silence
            # of the microphone, whose thread was stopped too.
            silence["ms"] += max(0, min(now - silence["turn"], 2 * round(IDLE_WAIT_S * 1000)))
        silence["turn"] = now
        said_after = min(500, mic_wait_ms // 2)  # a healthy microphone's blocks come faster
        if terminal is not None and not silence["said"] and silence["ms"] >= said_after:
            silence["said"] = presses + 1  # the ^C count that ends the wait
            terminal.line("mic.waiting", {"seconds": "%g" % (mic_wait_ms / 1000)})
        if silence["ms"] < mic_wait_ms:
            return False
        seconds = "%g" % (mic_wait_ms / 1000)
        failed.append(
            (
                "the microphone stopped answering: nothing from it for %s s after the "
                "pictures ended, so the sound ends where it stopped" % seconds,
                ("record.mic_silent", {"seconds": seconds}),
            )
        )
        deaf.set()
        return True

    # While the --reason file is said: the resume's monotonic time and the clip's frames
    # fed so far; the microphone is not fed meanwhile (its sound would interleave).
    saying = [-1, 0]

    def feed_audio() -> int:
        n = 0
        while True:
            item = audio_queue.get()
            if item is None:
                break
            if saying[0] >= 0:
                counts["audio_replaced"] += 1
                continue
            data, at_wall, at_mono = cast(tuple, item)  # listen() queues 3-tuples
            agent.run(recorder.audio(data, at_wall, at_mono))
            n += 1
        drops = audio_queue.take_drops()
        if drops is not None:
            now, mono = agent.now()
            agent.run(recorder.overrun(drops[0], drops[1], drops[2], STREAM_AUDIO, now, mono))
        counts["audio_fed"] += n
        return n

    # The agent serves docks itself, between frames (firmware.ports.docking).
    docks = DockServer(store, agent, signer)
    unavailable = docks.open()
    terminal = indicators if isinstance(indicators, Terminal) else None
    pressed: SimpleQueue[str] = SimpleQueue()
    keypad = None
    if keys is None:
        agent.input("press_record")  # unattended: no one to confirm the announcement
    else:
        from firmware.ports.terminalkeys import Keypad, help_lines

        keypad = Keypad()
        if terminal is not None:
            # The chunks of the recording under way, as the recorder counts them.
            terminal.chunks = lambda: recorder.chunk_count
            terminal.hears = sound is not None or media.audio_track is not None or bool(reason)
            for msg_id, fields in help_lines():
                terminal.line(msg_id, fields)

    def apply_keys() -> None:
        # The officer's keys, on this thread: the agent has one caller.
        while keypad is not None:
            try:
                key = pressed.get_nowait()
            except Empty:
                return
            inputs, lines = keypad.press(key)
            for msg_id, fields in lines:
                if terminal is not None:
                    terminal.line(msg_id, fields)
            for step in inputs:
                if step[0] == "quit":
                    stop.set()
                    continue
                try:
                    agent.input(*step)
                    if step[0] == "resume" and reason is not None:
                        saying[:] = [clock.mono_ms(), 0]
                        if terminal is not None:
                            terminal.line("prompt.reason_file", {"path": reason.path})
                except RecorderError:
                    # The recorder's table refuses it in this state; nothing has changed.
                    if terminal is not None:
                        state: tuple = ("state." + STATE_NAMES[recorder.state], {})
                        terminal.line("key.not_now", {"state": state})

    def say_reason() -> None:
        # The file's frames, each at its due time from the resume; once all are said, the
        # reason is done, as when the officer presses d. The recorder may have ended it
        # before (its time was up, d, a stop): then the rest is not said.
        if reason is None or saying[0] < 0:
            return
        now = clock.mono_ms()
        while recorder.state == RESUMING and saying[1] < len(reason.frames):
            data, offset = reason.frames[saying[1]]
            if saying[0] + offset > now:
                return
            mono = saying[0] + offset
            agent.run(recorder.audio(data, wall(mono), mono))
            saying[1] += 1
            counts["reason_fed"] += 1
        if recorder.state == RESUMING:
            agent.input("spoken_reason_done")
        saying[0] = -1

    def key_pressed(key: str) -> None:
        pressed.put(key)
        wake.set()

    loop = RunLoop(agent)  # ticks and storage checks between frames; sound comes queued
    threads = [threading.Thread(target=capture, name="capture", daemon=True)]
    if sound is not None:
        threads.append(threading.Thread(target=listen, name="microphone", daemon=True))
    for thread in threads:
        thread.start()
    if keys is not None:
        keys.start(key_pressed, stop)
    fed = 0
    with StopKey(stop, wake) as key:
        try:
            # After the stop, until the microphone has put the sound up to the footage's end.
            while (
                not (stop.is_set() and (heard.is_set() or given_up_on_the_microphone(key.presses)))
                or queue.items
                or audio_queue.items
            ):
                if seconds and clock.mono_ms() - start >= seconds * 1000:
                    stop.set()  # also when a vendor's encoder has gone quiet
                # Cleared before the queues are read: a put after this wakes the next wait.
                wake.clear()
                # Sound first: what was heard up to a picture goes into that picture's chunk.
                feed_audio()
                fed += loop.drain(queue)
                # Keys after the footage queued so far: a key acts on what was captured
                # before it was pressed (the spoken reason's sound before d, say).
                apply_keys()
                say_reason()
                docks.poll()
                if not (stop.is_set() and (heard.is_set() or deaf.is_set())):
                    # Everything queued is fed: sleep until a capture thread puts more (at
                    # once if it did during this turn), the next tick is due, or the dock
                    # server needs a turn. Not another turn to find the queues empty.
                    wake.wait(_idle_wait(loop.tick_due - clock.mono_ms(), docks.busy))
        finally:
            stop.set()
            threads[0].join()  # the pictures' thread ends once stop is set
            for thread in threads[1:]:
                # The microphone's may be waiting on a device that stopped answering
                # (also when ^C ended the loop above): bounded by the same rule.
                while thread.is_alive() and not given_up_on_the_microphone(key.presses):
                    thread.join(IDLE_WAIT_S)
            feed_audio()
            fed += loop.drain(queue)
            if keys is not None:
                keys.close()
            if recorder.state in (RECORDING, RESUMING, PAUSED):
                agent.input("press_stop")
            if terminal is not None:
                terminal.end()
            try:
                # The footage has ended, the power has not: a dock under way finishes
                # (bounded by its idle limit); ^C ends it at once.
                while docks.busy and not key.presses:
                    docks.poll()
                    time.sleep(0.001)
            finally:
                docks.close()
                agent.shut_down()
                media.close()
                if sound is not None and not deaf.is_set():
                    # Not one given up on: its thread is still in a read of that device,
                    # and closing it under that read is not safe; the process's exit
                    # closes it.
                    sound.close()
    summary = {
        "codec": media.codec,
        "frames": fed,
        "frames_dropped": counts["captured"] - fed,
        "audio_frames": counts["audio_fed"],
        "reason_frames": counts["reason_fed"],
        "audio_frames_dropped": counts["audio_captured"]
        - counts["audio_fed"]
        - counts["audio_replaced"],
        "entries": agent.stored_entries,
        "media_bytes": agent.stored_media_bytes,
        "recovered_power_loss": agent.store.recovery.in_flight,
        "docks": docks.served,
    }
    summary.update(media.notes())
    if failed:
        summary["source_failed"] = "; ".join(english for english, _ in failed)
        summary["source_failed_said"] = [message for _, message in failed]
    if media.ended_early:
        summary["input_ended_early"] = media.ended_early
    if unavailable:
        summary["docks_unavailable"] = unavailable
    return summary
