"""The microphone: PCM blocks of a quiet tone, or speech (synthetic or from WAV files) queued
for a spoken announcement or reason."""
# micropython: skip (OpenCV and numpy; the simulator runs on CPython only)

import math
import wave

import numpy as np

from firmware.hal import Microphone
from host.i18n import text
from simulator.errors import SimulatorError
from simulator.hardware.clock import SimClock

_TONE_HZ = 440  # a whole number of Hz, so the tone repeats in whole samples
_TONE_LEVEL = 0.03  # of full scale: a quiet background hum
_VOICE_LEVEL = 0.5
# A hand, a raincoat or a pocket over the capsule: what reaches it is about 50 dB down, so
# the tone sits near -84 dBFS and speech below -60 dBFS, under the level at which the host
# hears a spoken reason (host.compliance: -50 dBFS).
_COVERED_GAIN = 10 ** (-50 / 20)


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
        raise SimulatorError(text("sim.hw.wav_missing", path=path)) from None
    except (wave.Error, EOFError) as exc:
        raise SimulatorError(text("sim.hw.wav_not_pcm", path=path, why=exc)) from None
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
        raise SimulatorError(text("sim.hw.wav_width", path=path, width=width))
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
    blocks carry over the tone. ``cover`` muffles everything it hears until ``uncover``.
    """

    def __init__(self, clock: SimClock, rate: int = 8000, block_ms: int = 200) -> None:
        if rate < 1000 or block_ms < 1 or rate * block_ms % 1000:
            raise SimulatorError(text("sim.hw.mic_block", rate=rate, block_ms=block_ms))
        self.clock = clock
        self.rate = rate
        self.block_ms = block_ms
        self.block_samples = rate * block_ms // 1000
        self._n = 0  # samples produced so far: keeps the tone's phase continuous
        self._speech = np.zeros(0)
        self._pos = 0
        self._failed = False
        self.covered = False
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
            raise SimulatorError(text("sim.hw.speak", value=seconds))
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
        if not self.speaking() and not self.covered:
            at = 2 * (start % self._period)
            return self._tone[at : at + 2 * n], self.clock.mono_ms()
        signal = self._signal(start, n)
        speech = self._speech[self._pos : self._pos + n]
        signal[: len(speech)] += speech
        self._pos += len(speech)
        if self.covered:
            signal *= _COVERED_GAIN
        return self._pcm(signal).tobytes(), self.clock.mono_ms()

    def fail(self) -> None:
        self._failed = True

    def cover(self) -> None:
        """Something covers the capsule: it still delivers blocks, of near silence."""
        self.covered = True

    def uncover(self) -> None:
        self.covered = False

    def repair(self) -> None:
        self._failed = False


def pcm_samples(block: bytes) -> np.ndarray:
    """The int16 samples of a block the microphone returned."""
    return np.frombuffer(block, "<i2")
