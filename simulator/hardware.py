"""The simulator's virtual hardware: what ``firmware.hal`` asks of a port, on virtual time.

Every part reads one ``SimClock``, whose true time moves only when the simulation says so,
so a ten-hour shift or six months of retention take as long as the work they contain. The
camera renders a moving scene with OpenCV and burns the agent's overlay into it, the
microphone yields PCM blocks (a quiet tone, or speech queued for a spoken reason), the
battery drains by a simple model, the SD card refuses writes past its capacity the way a full
card does, the RTC drifts and can lose its time, the GPS walks a track, and the buttons name
the recorder inputs they cause.
"""
# micropython: skip (OpenCV and numpy; the simulator runs on CPython only)

import bisect
import errno
import itertools
import math
import os
import struct
import time
import wave
import weakref
from collections.abc import Callable
from typing import ClassVar

import cv2
import numpy as np

from firmware.hal import Battery, Camera, Clock, Gps, Microphone
from firmware.ports.cpython import burn_overlay
from firmware.store import DEFAULT_SEGMENT_BYTES, Store
from simulator.errors import SimulatorError

RTC_RESET_MS = 946684800000  # 2000-01-01T00:00:00Z: where an RTC starts after losing power


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SimulatorError("%s must be a whole number >= 0, not %r" % (what, value))
    return value


# --- clock -----------------------------------------------------------------------------------


class SimClock(Clock):
    """The device's RTC and monotonic counter, driven by a true time the simulation moves.

    The RTC runs ``drift_ppm`` parts per million fast (negative: slow) from the moment it was
    last set; the monotonic counter restarts at every power-up.
    """

    def __init__(self, true_start_ms: int, drift_ppm: float = 0.0) -> None:
        if drift_ppm <= -1e6:
            raise SimulatorError("drift_ppm must be above -1000000 (a clock that runs forward)")
        self._true = _whole(true_start_ms, "true_start_ms")
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
        self._true += _whole(ms, "advance (ms)")

    def reset(self) -> None:
        """The RTC's backup cell died: it restarts at 2000-01-01 and is unset until set()."""
        self._rtc_base = RTC_RESET_MS
        self._rtc_since = self._true
        self._set = False

    def set(self, wall_ms: int) -> None:
        """The host (or the officer's menu) sets the RTC; drift accumulates from here."""
        self._rtc_base = _whole(wall_ms, "wall_ms")
        self._rtc_since = self._true
        self._set = True

    def power_cycle(self) -> None:
        """Power off and on: monotonic time restarts at 0; the RTC keeps running."""
        self._boot_true = self._true


# --- camera ----------------------------------------------------------------------------------

_PAN_PX_PER_S = 40  # how fast the background slides past, at 640 pixels wide
_SHAPES = 6


class _Shape:
    """One moving thing in the scene: a disc or a bar on a Lissajous path."""

    def __init__(self, round_: bool, rng: np.random.Generator, scale: int) -> None:
        self.round = round_
        self.color = tuple(int(c) for c in rng.integers(0, 256, 3))
        self.size = int(scale * rng.uniform(0.05, 0.14)) + 2
        self.fx, self.fy = float(rng.uniform(0.05, 0.4)), float(rng.uniform(0.05, 0.4))
        self.px, self.py = float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))

    def draw(self, image: np.ndarray, t: float) -> None:
        h, w = image.shape[:2]
        r = self.size
        x = int(w / 2 + (w / 2 - r) * math.sin(2 * math.pi * self.fx * t + self.px))
        y = int(h / 2 + (h / 2 - r) * math.sin(2 * math.pi * self.fy * t + self.py))
        if self.round:
            cv2.circle(image, (x, y), r, self.color, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(image, (x - r, y - r // 2), (x + r, y + r // 2), self.color, -1)


class SceneCamera(Camera):
    """A street-like synthetic scene: a panning background and shapes moving on their own
    paths, rendered for the clock's true time, overlay burned in, encoded as JPEG.

    The picture is a function of the seed and the time only, so a run is reproducible and
    consecutive frames differ.
    """

    def __init__(
        self, clock: SimClock, width: int = 640, height: int = 360, quality: int = 80, seed: int = 0
    ) -> None:
        if width < 16 or height < 16:
            raise SimulatorError(
                "a camera frame must be at least 16x16, not %dx%d" % (width, height)
            )
        if not 1 <= quality <= 100:
            raise SimulatorError("JPEG quality must be 1..100, not %r" % quality)
        self.clock = clock
        self.width = width
        self.height = height
        self.quality = quality
        self.seed = seed
        self.frames = 0
        self._failed = False
        rng = np.random.default_rng(seed)
        # The background is a smooth texture twice the frame's width; each frame is a window
        # into it, so panning costs one copy and no per-pixel arithmetic.
        cells = rng.integers(30, 226, (height // 24 + 2, width // 24 + 2, 3), dtype=np.uint8)
        tile = cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC)
        self._texture = np.concatenate([tile, tile[:, ::-1]], axis=1)  # mirrored: no seam
        self._shapes = [_Shape(i % 2 == 0, rng, min(width, height)) for i in range(_SHAPES)]
        self._pan = max(1, _PAN_PX_PER_S * width // 640)

    def render(self, t_ms: int) -> np.ndarray:
        """The scene at true time ``t_ms`` without the overlay (BGR, height x width x 3)."""
        w = self.width
        offset = (t_ms * self._pan // 1000) % (2 * w)
        if offset <= w:
            image = self._texture[:, offset : offset + w].copy()
        else:  # the window wraps around the texture's end
            image = np.concatenate(
                [self._texture[:, offset:], self._texture[:, : offset - w]], axis=1
            )
        t = (t_ms % 3_600_000_000) / 1000  # keep the phase arithmetic small and exact enough
        for shape in self._shapes:
            shape.draw(image, t)
        return image

    def encode(self, image: np.ndarray) -> bytes:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise SimulatorError(
                "the JPEG encoder refused a %dx%d frame" % (self.width, self.height)
            )
        return data.tobytes()

    def read(self, overlay: str) -> tuple | None:
        if self._failed:
            return None
        image = self.render(self.clock.true_ms)
        burn_overlay(image, overlay)
        self.frames += 1
        return self.encode(image), True, self.clock.mono_ms()

    def working(self) -> bool:
        return not self._failed

    def fail(self) -> None:
        """The camera module stops answering (self-check fails, reads return None)."""
        self._failed = True

    def repair(self) -> None:
        self._failed = False


# --- microphone ------------------------------------------------------------------------------

_TONE_HZ = 440  # a whole number of Hz, so the tone repeats in whole samples
_TONE_LEVEL = 0.03  # of full scale: a quiet background hum
_VOICE_LEVEL = 0.5


def synthetic_voice(seconds: float, rate: int) -> np.ndarray:
    """Speech-like float samples in -1..1: a gliding pitch with harmonics, syllables, pauses."""
    n = max(0, int(seconds * rate))
    t = np.arange(n) / rate
    pitch = 150 + 30 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 5.3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = np.zeros(n)
    for k in range(1, 9):
        # Harmonics near 500-900 Hz (a vowel's first formant) are the loudest.
        formant = 1 + 2 * np.exp(-((((k * pitch) - 700) / 350) ** 2))
        voice += formant * np.sin(k * phase) / k
    syllables = (0.5 - 0.5 * np.cos(2 * np.pi * 4 * t)) ** 2
    words = np.sin(2 * np.pi * 0.9 * t + 0.4) > -0.7  # a short gap between words
    voice *= syllables * words
    peak = float(np.max(np.abs(voice))) if n else 0.0
    return voice * (_VOICE_LEVEL / peak) if peak > 0 else voice


def read_wav(path: str, rate: int) -> np.ndarray:
    """A PCM WAV file's samples as mono floats in -1..1 at ``rate`` samples per second."""
    try:
        with wave.open(path, "rb") as w:
            width, channels, src_rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise SimulatorError("WAV file %s does not exist" % path) from None
    except (wave.Error, EOFError) as exc:
        raise SimulatorError(
            "%s is not a PCM WAV file (%s): give 8-, 16-, 24- or 32-bit integer PCM, for "
            "example converted with ffmpeg -i IN -c:a pcm_s16le OUT.wav" % (path, exc)
        ) from None
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128) / 128
    elif width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float64) / 32768
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float64) / (1 << 23)
    elif width == 4:
        samples = np.frombuffer(raw, "<i4").astype(np.float64) / (1 << 31)
    else:
        raise SimulatorError("%s has %d-byte samples; give 1 to 4" % (path, width))
    frames = len(samples) // channels
    mono = samples[: frames * channels].reshape(frames, channels).mean(axis=1)
    if src_rate != rate and frames > 1:
        out_n = max(1, round(frames * rate / src_rate))
        mono = np.interp(np.arange(out_n) * (src_rate / rate), np.arange(frames), mono)
    return mono


class SimMicrophone(Microphone):
    """16-bit little-endian mono PCM in blocks of ``block_ms``; one block per read.

    The caller reads one block for every ``block_ms`` of virtual time that passes. Between
    spoken clips the microphone hears a quiet tone; ``speak`` queues a clip, which the next
    blocks carry over the tone.
    """

    def __init__(self, clock: SimClock, rate: int = 8000, block_ms: int = 200) -> None:
        if rate < 1000 or block_ms < 1 or rate * block_ms % 1000:
            raise SimulatorError(
                "rate %r and block_ms %r must make a whole number of samples a block"
                % (rate, block_ms)
            )
        self.clock = clock
        self.rate = rate
        self.block_ms = block_ms
        self.block_samples = rate * block_ms // 1000
        self._n = 0  # samples produced so far: keeps the tone's phase continuous
        self._speech = np.zeros(0)
        self._pos = 0
        self._failed = False
        # The tone alone repeats every ``_period`` samples: between clips a block is a slice
        # of it, made once, not computed again a block at a time.
        self._period = rate // math.gcd(rate, _TONE_HZ)
        reps = -(-(self._period + self.block_samples) // self._period)
        self._tone = self._pcm(self._signal(0, self._period * reps)).tobytes()

    def speak(self, seconds: float | None = None, wav: str | None = None) -> None:
        """Queue a spoken clip: the WAV file's samples (cut to ``seconds`` if given) or,
        without a file, ``seconds`` of a synthetic voice."""
        if wav is not None:
            clip = read_wav(wav, self.rate)
            if seconds is not None:
                clip = clip[: max(0, int(seconds * self.rate))]
        elif seconds is not None and seconds >= 0:
            clip = synthetic_voice(seconds, self.rate)
        else:
            raise SimulatorError("speak needs seconds >= 0 or a WAV file, not %r" % (seconds,))
        rest = self._speech[self._pos :]
        self._speech = np.concatenate([rest, clip])
        self._pos = 0

    def speaking(self) -> bool:
        """Whether queued speech is still to come out of read()."""
        return self._pos < len(self._speech)

    def _signal(self, start: int, n: int) -> np.ndarray:
        t = (start + np.arange(n)) / self.rate
        return _TONE_LEVEL * np.sin(2 * np.pi * _TONE_HZ * t)

    @staticmethod
    def _pcm(signal: np.ndarray) -> np.ndarray:
        return np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")

    def read(self) -> tuple | None:
        if self._failed:
            return None
        n = self.block_samples
        start = self._n
        self._n += n
        if not self.speaking():
            at = 2 * (start % self._period)
            return self._tone[at : at + 2 * n], self.clock.mono_ms()
        signal = self._signal(start, n)
        speech = self._speech[self._pos : self._pos + n]
        signal[: len(speech)] += speech
        self._pos += len(speech)
        return self._pcm(signal).tobytes(), self.clock.mono_ms()

    def fail(self) -> None:
        self._failed = True

    def repair(self) -> None:
        self._failed = False


def pcm_samples(block: bytes) -> np.ndarray:
    """The int16 samples of a block the microphone returned."""
    return np.frombuffer(block, "<i2")


# --- battery ---------------------------------------------------------------------------------


class SimBattery(Battery):
    """A charge that drains linearly: a full battery lasts ``hours_recording`` while
    recording and ``hours_idle`` while on but not recording."""

    def __init__(
        self, percent: float = 100.0, hours_recording: float = 10.0, hours_idle: float = 48.0
    ) -> None:
        if hours_recording <= 0 or hours_idle <= 0:
            raise SimulatorError("a full battery must last some time: hours must be above 0")
        self.hours_recording = hours_recording
        self.hours_idle = hours_idle
        self.level = self._checked(percent)

    @staticmethod
    def _checked(percent: float) -> float:
        if not 0 <= percent <= 100:
            raise SimulatorError("a battery charge is 0..100 percent, not %r" % (percent,))
        return float(percent)

    def percent(self) -> int:
        # Rounded up, so the gauge reads 0 only when the battery is really empty; the small
        # allowance keeps float error from showing 91 for a level of 90.000000001.
        return max(0, math.ceil(self.level - 1e-9))

    def drain(self, ms: int, recording: bool) -> None:
        hours = self.hours_recording if recording else self.hours_idle
        self.level = max(0.0, self.level - 100 * _whole(ms, "drain (ms)") / (hours * 3_600_000))

    def empty(self) -> bool:
        return self.level <= 0

    def die(self) -> None:
        self.level = 0.0

    def charge(self, percent: float = 100.0) -> None:
        """Charge (or swap) the battery to ``percent``."""
        self.level = self._checked(percent)


# --- SD card ---------------------------------------------------------------------------------

# A directory whose mtime is this close to now may change again within the same tick of the
# file system's coarse clock without its mtime moving, so its cached count is not trusted.
_RACY_NS = 100_000_000

# Linux inotify (linux/inotify.h): the events that can change what a folder's files take.
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_Q_OVERFLOW, _IN_IGNORED = 0x4000, 0x8000
_IN_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, name length; the name follows


class _Watcher:
    """Which of the card's folders changed since last asked, from Linux inotify.

    Raises OSError where inotify is missing or its per-user limits are reached; the card then
    falls back to checking every folder's mtime.
    """

    def __init__(self) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._folders: dict = {}  # watch descriptor -> folder
        self._wds: dict = {}  # folder -> watch descriptor

    def watch(self, folder: str) -> None:
        """Watch ``folder`` unless it is watched already (a folder made again is not)."""
        if folder in self._wds:
            return
        wd = self._add(self.fd, os.fsencode(folder), _IN_MASK)
        if wd < 0:
            raise OSError("cannot watch %s (inotify's watch limit?)" % folder)
        self._folders[wd] = folder
        self._wds[folder] = wd

    def changed(self) -> set | None:
        """The folders with events since the last call; None when events were lost."""
        out: set = set()
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return out
            pos = 0
            while pos < len(data):
                wd, mask, _cookie, size = _EVENT.unpack_from(data, pos)
                pos += _EVENT.size + size
                if mask & _IN_Q_OVERFLOW:
                    return None
                folder = self._folders.get(wd)
                if folder is not None:
                    out.add(folder)
                if mask & _IN_IGNORED and folder is not None:
                    del self._folders[wd]  # the folder went: its watch is gone with it
                    if self._wds.get(folder) == wd:
                        del self._wds[folder]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Folder:
    __slots__ = ("bytes", "mtime", "racy", "subdirs")

    def __init__(self, nbytes: int, mtime: int, racy: bool, subdirs: list) -> None:
        self.bytes = nbytes
        self.mtime = mtime
        self.racy = racy
        self.subdirs = subdirs


def _scan(folder: str) -> tuple:
    """``(bytes of the files directly in folder, its subfolders)``; (0, []) if it is gone."""
    nbytes = 0
    subdirs = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        nbytes += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue  # removed while we looked
    except (FileNotFoundError, NotADirectoryError):
        pass
    return nbytes, subdirs


class SdCard:
    """A small SD card: a directory whose writes stop at ``capacity_bytes``.

    Files the store writes are opened through ``opener``: a write that does not fit takes
    what room is left and fails with ENOSPC, as a full card does. Used space is counted from
    the files on disk, so media removed with ``os.remove`` frees room at once. The count is
    kept per folder and redone only for folders that changed: on Linux, inotify says which
    (asking for free space when nothing changed costs one read); elsewhere, or past inotify's
    limits, every folder's mtime is checked.

    The store's syncs reach the host's disk only with ``host_sync``. Without it a sync is a
    flush: the card's files live on the host only to hold its bytes, and what a power cut
    keeps is the simulator's to decide (its power-cut fault tears a write at a chosen
    moment), so an fsync of the host's disk would buy the simulation nothing but time.
    """

    def __init__(
        self, path: str, capacity_bytes: int, watch: bool = True, host_sync: bool = False
    ) -> None:
        if capacity_bytes <= 0:
            raise SimulatorError("an SD card holds some bytes: capacity must be above 0")
        os.makedirs(path, exist_ok=True)
        self.path = os.path.abspath(path)
        self.capacity_bytes = int(capacity_bytes)
        self.host_sync = host_sync
        self.filled = 0  # bytes other data takes (fault: the card was filled elsewhere)
        self.refusals = 0  # writes refused for want of room
        self._folders: dict = {}  # folder -> _Folder
        self._dirty: set = set()  # folders the opener wrote into since the last count
        self._counted = 0  # used bytes at the last count
        self._grown = 0  # bytes written through the opener since then
        self._watcher: _Watcher | None = None
        if watch:
            try:
                self._watcher = _Watcher()
            except (OSError, AttributeError):
                self._watcher = None  # no inotify here, or its limits reached
        self._finalizer = weakref.finalize(self, _close_watcher, self._watcher)

    @property
    def watched(self) -> bool:
        """Whether changes are learnt from inotify (else from folder mtimes)."""
        return self._watcher is not None

    def close(self) -> None:
        """Release the card's inotify handle (also done when the card is collected)."""
        self._finalizer()
        self._watcher = None

    # -- space --

    def used_bytes(self) -> int:
        """Bytes the card's files take now (other data from ``fill`` included)."""
        self._count()
        return self._counted + self.filled

    def free_bytes(self) -> int:
        return max(0, self.capacity_bytes - self.used_bytes())

    def fill(self, nbytes: int) -> None:
        """Fault: other data takes ``nbytes`` more of the card."""
        self.filled += _whole(nbytes, "fill (bytes)")

    def _room(self, want: int) -> int:
        """How many of ``want`` more bytes fit; counts afresh only when the estimate is short."""
        estimate = self._counted + self._grown + self.filled
        if estimate + want <= self.capacity_bytes:
            return want
        self._count()
        return max(0, min(want, self.capacity_bytes - self._counted - self.filled))

    def _count(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            try:
                self._count_watched(watcher)
            except OSError:
                watcher.close()  # past inotify's limits: check mtimes from now on
                self._watcher = None
                self._folders.clear()
        if self._watcher is None:
            self._count_walked()
        self._dirty.clear()
        self._grown = 0

    def _count_watched(self, watcher: _Watcher) -> None:
        changed = watcher.changed() if self._folders else None
        if changed is None:  # the first count, or inotify lost events: start again
            self._folders.clear()
            self._counted = 0
            changed = {self.path}
        for folder in changed | self._dirty:
            self._recount(watcher, folder)

    def _recount(self, watcher: _Watcher, folder: str) -> None:
        """Count ``folder`` again (watching it first, so no change slips between); follow
        new subfolders down and forget the ones gone."""
        if folder != self.path and not folder.startswith(self.path + os.sep):
            return  # not on the card
        old = self._folders.pop(folder, None)
        if old is not None:
            self._counted -= old.bytes
        if not os.path.isdir(folder):
            for sub in old.subdirs if old is not None else ():
                self._forget(sub)
            return
        watcher.watch(folder)
        nbytes, subdirs = _scan(folder)
        self._folders[folder] = _Folder(nbytes, 0, False, subdirs)
        self._counted += nbytes
        for sub in old.subdirs if old is not None else ():
            if sub not in subdirs:
                self._forget(sub)
        for sub in subdirs:
            if sub not in self._folders:
                self._recount(watcher, sub)

    def _forget(self, folder: str) -> None:
        gone = self._folders.pop(folder, None)
        if gone is not None:
            self._counted -= gone.bytes
            for sub in gone.subdirs:
                self._forget(sub)

    def _count_walked(self) -> None:
        now = time.time_ns()
        total = 0
        seen = set()
        stack = [self.path]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
            except FileNotFoundError:
                continue
            seen.add(folder)
            cached = self._folders.get(folder)
            if (
                cached is None
                or cached.racy
                or cached.mtime != st.st_mtime_ns
                or folder in self._dirty
            ):
                nbytes, subdirs = _scan(folder)
                mtime = st.st_mtime_ns
                cached = _Folder(nbytes, mtime, now - mtime < _RACY_NS, subdirs)
                self._folders[folder] = cached
            total += cached.bytes
            stack.extend(cached.subdirs)
        for gone in set(self._folders) - seen:
            del self._folders[gone]
        self._counted = total

    # -- files --

    def opener(self, file: str, mode: str = "r", *args: object, **kwargs: object) -> object:
        """``open`` for files on the card: pass as ``Store(path, opener=card.opener)``."""
        if not any(c in mode for c in "wax+"):
            return open(file, mode, *args, **kwargs)  # type: ignore[call-overload]
        binary = "b" in mode
        if binary:
            # Unbuffered, so the size on disk is always what was written (the count reads it).
            kwargs["buffering"] = 0
        f = open(file, mode, *args, **kwargs)  # type: ignore[call-overload]
        self._dirty.add(os.path.dirname(os.path.abspath(file)))
        return _CardFile(self, f, str(file), binary, "a" in mode)

    def open_store(self, sync_every: int = 1, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> Store:
        """A ``firmware.store.Store`` at the card's root that writes through ``opener`` and
        reports the card's free space."""
        return CardStore(self, None, sync_every, segment_bytes)

    def _wrote(self, folder: str, grown: int) -> None:
        self._grown += grown
        self._dirty.add(folder)


def _close_watcher(watcher: "_Watcher | None") -> None:
    if watcher is not None:
        watcher.close()


class _CardFile:
    """A file open for writing on an SdCard: every write is checked against the room left."""

    def __init__(self, card: SdCard, f: object, path: str, binary: bool, append: bool) -> None:
        self._card = card
        self._f = f
        self._path = path
        self._folder = os.path.dirname(os.path.abspath(path))
        self._binary = binary
        self._append = append
        self._size = os.fstat(f.fileno()).st_size  # type: ignore[attr-defined]

    def _growth(self, n: int) -> int:
        """How many bytes writing ``n`` more adds to the file."""
        if self._append:
            return n
        pos = self._f.tell()  # type: ignore[attr-defined]
        return max(0, pos + n - self._size)

    def write(self, data: object) -> int:
        if self._binary:
            payload = memoryview(data).cast("B")  # type: ignore[arg-type]
            size = len(payload)
        else:
            text = str(data)
            size = len(text.encode(self._f.encoding or "utf-8"))  # type: ignore[attr-defined]
        grow = self._growth(size)
        room = self._card._room(grow)
        fits = size - (grow - room)  # bytes of this write that fit
        if self._binary:
            written = 0
            while written < fits:
                n = self._f.write(payload[written:fits])  # type: ignore[attr-defined]
                written += n or 0
        else:
            written = self._write_text(text, fits)
        self._after(written)
        if written < size:
            self._card.refusals += 1
            raise OSError(
                errno.ENOSPC, "No space left on device (simulated SD card full)", self._path
            )
        return size if self._binary else len(text)

    def _write_text(self, text: str, fits: int) -> int:
        enc = self._f.encoding or "utf-8"  # type: ignore[attr-defined]
        part = text
        while part and len(part.encode(enc)) > fits:
            part = part[: len(part) - 1]
        self._f.write(part)  # type: ignore[attr-defined]
        self._f.flush()  # type: ignore[attr-defined]
        return len(part.encode(enc))

    def _after(self, written: int) -> None:
        end = os.fstat(self._f.fileno()).st_size  # type: ignore[attr-defined]
        grown = max(0, end - self._size)
        self._size = end
        self._card._wrote(self._folder, grown)

    def truncate(self, size: int | None = None) -> int:
        out = self._f.truncate(size)  # type: ignore[attr-defined]
        self._size = os.fstat(self._f.fileno()).st_size  # type: ignore[attr-defined]
        self._card._dirty.add(self._folder)
        return int(out)

    def close(self) -> None:
        self._card._dirty.add(self._folder)
        self._f.close()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._f, name)

    def __enter__(self) -> "_CardFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CardStore(Store):
    """The device's store on an SdCard: its writes go through the card, its free space is
    the card's."""

    def __init__(
        self,
        card: SdCard,
        path: str | None = None,
        sync_every: int = 1,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        opener: "Callable | None" = None,
    ) -> None:
        """``opener`` wraps the card's own (the simulator's power cuts do); it must write
        through ``card.opener``, or the card cannot count what is written."""
        self.card = card
        super().__init__(path or card.path, sync_every, segment_bytes, opener or card.opener)

    def free_bytes(self) -> int:
        return self.card.free_bytes()

    def _sync_file(self, f: object) -> None:
        if self.card.host_sync:
            super()._sync_file(f)
        else:
            f.flush()  # type: ignore[attr-defined]

    def _sync_folder(self, path: str) -> None:
        if self.card.host_sync:
            super()._sync_folder(path)


# --- GPS -------------------------------------------------------------------------------------

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
            raise SimulatorError("a GPS track needs at least one (lat, lon) point")
        track = []
        for p in points:
            if len(p) != 2 or not (-90 <= p[0] <= 90 and -180 <= p[1] <= 180):
                raise SimulatorError("a GPS point is (lat, lon) in degrees, not %r" % (p,))
            track.append((float(p[0]), float(p[1])))
        if speed_mps < 0:
            raise SimulatorError("speed_mps must be >= 0, not %r" % speed_mps)
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


# --- buttons ---------------------------------------------------------------------------------


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
                "there is no %r button; the buttons are: %s" % (name, ", ".join(self.INPUTS))
            ) from None
        self.log.append((self.clock.true_ms if self.clock is not None else None, name))
        return action
