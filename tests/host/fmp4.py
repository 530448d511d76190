"""Real fMP4 recordings for the export, verify and compliance tests, made without a device:
H.264 and AAC from PyAV's encoders (libx264, aac), packaged with ``protocol.mp4`` as the
device's packager does (FOOTAGE-SPEC: one GOP a fragment, the spoken reason its own
audio-only fragment, a reserved text track), and signed into real ledger entries that go
into an evidence store with their media, as a sync would leave them."""

import hashlib
from fractions import Fraction

import av
import numpy as np

from host.evidence import SqliteEvidenceStore
from protocol import h26x, mp4
from protocol.frames import frame_digest
from protocol.ledger import LedgerWriter
from protocol.registry import (
    CIPHER_SEALED_BOX,
    EV_ANNOUNCEMENT,
    EV_BOOT,
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    F_CHUNK_INDEX,
    F_CIPHER_ALG,
    F_CIPHER_SHA,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer
from simulator.hardware.microphone import synthetic_voice
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

FPS = 10
FRAME_MS = 1000 // FPS
SIZE = (160, 96)
RATE = 16000
AAC_FRAME = 1024
OFFICER = "P-0427"
BOOT_MONO = 5_000  # the device's monotonic clock when it booted


class Media:
    """Encoded footage: H.264 access units (as mdat samples) and AAC frames, with the
    capture time (ms from the start) of each."""

    def __init__(self) -> None:
        self.video: list = []  # (sample, keyframe, ms)
        self.audio: list = []  # (frame, ms)
        self.avcc = b""
        self.width, self.height = SIZE
        self.asc = b""


def _picture(i: int) -> np.ndarray:
    """A moving picture: a bright square crossing a gradient, and noise that makes each
    frame's bytes its own."""
    w, h = SIZE
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    img[:, :, 1] = (i * 7) % 256
    x = (i * 5) % (w - 20)
    img[30:50, x : x + 20, :] = 255
    rng = np.random.default_rng(i)
    img[:8, :, 2] = rng.integers(0, 255, (8, w), dtype=np.uint8)
    return img


def encode_video(frames: int, first: int = 0) -> tuple:
    """``(samples, avcc)``: ``frames`` H.264 frames from libx264, a keyframe every FPS frames,
    no B-frames; each sample length-prefixed NAL units without parameter sets."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = SIZE
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = Fraction(FPS, 1)
    ctx.options = {
        "preset": "ultrafast",
        "x264-params": "keyint=%d:min-keyint=%d:scenecut=0:bframes=0" % (FPS, FPS),
    }
    units = []
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(_picture(first + i), format="rgb24").reformat(
            format="yuv420p"
        )
        frame.pts = i
        units.extend(bytes(p) for p in ctx.encode(frame))
    units.extend(bytes(p) for p in ctx.encode(None))
    sps: list = []
    pps: list = []
    samples = []
    for unit in units:
        nals = h26x.split_annexb(unit)
        sps += [n for n in nals if h26x.nal_type(n, "avc1") == 7]
        pps += [n for n in nals if h26x.nal_type(n, "avc1") == 8]
        body = [n for n in nals if not h26x.is_parameter_set(n, "avc1")]
        samples.append((h26x.to_sample(body), h26x.is_keyframe(nals, "avc1")))
    return samples, h26x.avcc(sps[:1], pps[:1])


def tone(seconds: float, level: float = 0.3, hz: int = 440) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return level * np.sin(2 * np.pi * hz * t)


def encode_audio(pcm: np.ndarray) -> tuple:
    """``(frames, asc)``: AAC-LC frames of mono float samples, and the AudioSpecificConfig."""
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = RATE
    ctx.layout = "mono"
    ctx.format = "fltp"
    ctx.time_base = Fraction(1, RATE)
    ctx.open()
    out = []
    pcm = pcm.astype(np.float32)
    for k in range(0, len(pcm), AAC_FRAME):
        block = np.zeros((1, AAC_FRAME), np.float32)
        piece = pcm[k : k + AAC_FRAME]
        block[0, : len(piece)] = piece
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
        frame.sample_rate = RATE
        frame.pts = k
        out.extend(bytes(p) for p in ctx.encode(frame))
    out.extend(bytes(p) for p in ctx.encode(None))
    return out, bytes(ctx.extradata or b"")


def tracks(avcc: bytes, asc: bytes) -> list:
    """The init segment's tracks; no sound track when ``asc`` is empty."""
    audio = [mp4.Track(2, mp4.HANDLER_AUDIO, RATE, "mp4a", asc, channels=1, sample_rate=RATE)]
    return [
        mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "avc1", avcc, width=SIZE[0], height=SIZE[1]),
        *(audio if asc else []),
        mp4.Track(3, mp4.HANDLER_TEXT, 1000, "tx3g"),
    ]


SEALED = b"sealed for the test: "


class Unsealer:
    """Opens the tests' stand-in for sealed media (``record(sealed=True)``)."""

    def open(self, entry, sealed: bytes) -> bytes:
        assert sealed.startswith(SEALED)
        return sealed[len(SEALED) :][::-1]


class Recording:
    """One fMP4 recording, signed: the device's entries, the media of each chunk, and what
    the tests look up (the chunks' entries, the fragments' bytes, the pause in media time)."""

    def __init__(self) -> None:
        self.entries: list = []  # Entry, in seq order
        self.media: dict = {}  # SHA-256 -> bytes: what the device's store would hold
        self.init: bytes = b""
        self.chunks: list = []  # chunk entries, init first
        self.fragments: list = []  # (entry, bytes) of each fragment, in ledger order
        self.spoken: list = []  # entries of the spoken-reason fragments
        self.origin_mono = 0
        self.pause_ms: list = []  # (pause media ms, resume entry's media ms)
        self.rec_id = b""

    @property
    def raws(self) -> list:
        return [e.raw for e in self.entries]


class _Builder:
    """Writes a recording's entries as the device's recorder would, in ledger order."""

    def __init__(self, sealed: bool = False) -> None:
        self.writer = LedgerWriter(make_signer(SEED_A), DEVICE)
        self.rec = Recording()
        self.sealed = sealed
        self.mono = BOOT_MONO
        self.index = 0
        self.sequence = 0
        self.audio_time = 0  # the next AAC frame's decode time, in samples from the origin
        self.append(KIND_EVENT, {F_EVENT: EV_BOOT}, self.mono, sign=True)
        self.mono += 1000
        self.rec.origin_mono = self.mono
        self.rec.rec_id = self.writer.seq.to_bytes(8, "big")
        self.event(
            EV_RECORD_START, self.mono, {F_DETAIL: {"pre_frames": 0, "origin_mono": self.mono}}
        )

    def append(self, kind: int, fields: dict, at: int, sign: bool = False):
        e = self.writer.append_entry(kind, fields, T0 + at, at, sign)
        self.rec.entries.append(e)
        return e

    def event(self, code: int, at: int, extra: "dict | None" = None, sign: bool = False):
        fields = {F_EVENT: code, F_RECORDING: self.rec.rec_id, F_OFFICER: OFFICER}
        fields.update(extra or {})
        return self.append(KIND_EVENT, fields, at, sign)

    def chunk(self, data: bytes, media_type: int, start: int, end: int, hashes: list):
        sha = hashlib.sha256(data).digest()
        fields = {
            F_RECORDING: self.rec.rec_id,
            F_CHUNK_INDEX: self.index,
            F_START_MS: T0 + start,
            F_END_MS: T0 + end,
            F_FRAME_HASHES: hashes,
            F_MEDIA_TYPE: media_type,
            F_PLAIN_LEN: len(data),
            F_PLAIN_SHA: sha,
        }
        if self.sealed:
            # A stand-in for a sealed box, which tests open with ``unseal``: only the seam
            # between the export and whoever holds the agency's key is under test.
            cipher = SEALED + data[::-1]
            fields[F_CIPHER_SHA] = hashlib.sha256(cipher).digest()
            fields[F_CIPHER_ALG] = CIPHER_SEALED_BOX
            self.rec.media[fields[F_CIPHER_SHA]] = cipher
        else:
            self.rec.media[sha] = data
        self.index += 1
        e = self.append(KIND_CHUNK, fields, end)
        self.rec.chunks.append(e)
        if media_type == MEDIA_MP4:
            self.rec.fragments.append((e, data))
        return e

    def init(self, init: bytes) -> None:
        self.rec.init = init
        self.chunk(init, MEDIA_MP4_INIT, self.mono, self.mono, [])

    def gop(self, video: list, audio: list) -> None:
        """One fragment: ``video`` [(sample, keyframe)] at FPS from now, with as many of the
        AAC frames ``audio`` (taken from its front) as were captured meanwhile."""
        start = self.mono
        end = start + len(video) * FRAME_MS
        base = (start - self.rec.origin_mono) * 90
        runs = [mp4.Run(1, base, [mp4.Sample(s, FRAME_MS * 90, key) for s, key in video])]
        a_start = max(self.audio_time, round((start - self.rec.origin_mono) * RATE / 1000))
        a_end = round((end - self.rec.origin_mono) * RATE / 1000)
        frames = []
        t = a_start
        while t < a_end and audio:
            frames.append(audio.pop(0))
            t += AAC_FRAME
        if frames:
            self.audio_time = t
            runs.append(mp4.Run(2, a_start, [mp4.Sample(a, AAC_FRAME) for a in frames]))
        self.sequence += 1
        data = mp4.fragment(self.sequence, runs)
        self.chunk(data, MEDIA_MP4, start, end, [frame_digest(s) for s, _ in video])
        self.mono = end

    def pause(self, seconds: int, spoken: list) -> None:
        """A pause (weather) of ``seconds``, then the resume with ``spoken`` (AAC frames)
        as its own audio-only fragment, and the resume entry pointing at it (R-DEV-9)."""
        pause_at = self.mono
        self.event(EV_PAUSE, pause_at, {F_REASON: PAUSE_WEATHER}, sign=True)
        self.mono += seconds * 1000
        resume_at = self.mono
        a_base = round((resume_at - self.rec.origin_mono) * RATE / 1000)
        self.audio_time = a_base + len(spoken) * AAC_FRAME
        spoken_end = resume_at + 2000
        fields = {F_REASON: PAUSE_WEATHER, F_DETAIL: {"resumed_ms": T0 + resume_at}}
        if spoken:  # no sound at all: the resume points at nothing, as the recorder logs it
            self.sequence += 1
            data = mp4.fragment(
                self.sequence, [mp4.Run(2, a_base, [mp4.Sample(a, AAC_FRAME) for a in spoken])]
            )
            entry = self.chunk(data, MEDIA_MP4, resume_at, spoken_end, [])
            self.rec.spoken.append(entry)
            fields[F_SPOKEN] = entry.digest
        self.event(EV_RESUME, spoken_end, fields, sign=True)
        origin = self.rec.origin_mono
        self.rec.pause_ms.append((pause_at - origin, spoken_end - origin))

    def stop(self) -> Recording:
        self.event(EV_RECORD_STOP, self.mono + 5, {F_DETAIL: {"chunks": self.index}}, sign=True)
        return self.rec


def record(
    gops_before: int = 3,
    gops_after: int = 2,
    spoken: str = "voice",
    pause_s: int = 4,
    sealed: bool = False,
    background: str = "tone",
) -> Recording:
    """A recording: ``gops_before`` one-second GOPs, a pause (weather) of ``pause_s``
    seconds, the spoken reason (``"voice"``, ``"silence"`` or ``"tone"``, 2 s, its own
    audio-only fragment), then ``gops_after`` GOPs and the stop. ``sealed``: every chunk's
    media sealed to the agency (R-DEV-3), as far as the entries and the store show it.
    ``background``: what the microphone hears while recording, "tone" (a quiet hum),
    "silence", or "none" (no microphone: no sound track, and no spoken reason either)."""
    gops = gops_before + gops_after
    samples, avcc = encode_video(gops * FPS)
    level = {"tone": 0.05, "silence": 0.0, "none": 0.0}[background]
    heard, asc = encode_audio(tone(gops + 2, level=level, hz=300))
    speech = {
        "voice": synthetic_voice(2.0, RATE),
        "silence": np.zeros(2 * RATE),
        "tone": tone(2.0),
    }[spoken]
    spoken_frames, _ = encode_audio(speech)
    if background == "none":
        asc, heard, spoken_frames = b"", [], []
    b = _Builder(sealed)
    b.event(EV_ANNOUNCEMENT, b.mono, {F_DETAIL: {"prompted_ms": T0 + b.mono}})
    b.init(mp4.init_segment(tracks(avcc, asc)))
    for g in range(gops):
        if g == gops_before:
            b.pause(pause_s, spoken_frames)
        b.gop(samples[g * FPS : (g + 1) * FPS], heard)
    return b.stop()


def record_large(fragments: int, fragment_bytes: int) -> Recording:
    """A recording of ``fragments`` fragments of about ``fragment_bytes`` each, their video
    samples random bytes (nothing decodes them; only their size matters), for memory tests."""
    _, avcc = _small_stream()
    _, asc = encode_audio(tone(0.1))
    b = _Builder()
    b.init(mp4.init_segment(tracks(avcc, asc)))
    rng = np.random.default_rng(7)
    for _ in range(fragments):
        video = [(rng.bytes(fragment_bytes // FPS), i == 0) for i in range(FPS)]
        b.gop(video, [])
    return b.stop()


_SMALL: list = []


def _small_stream() -> tuple:
    if not _SMALL:
        _SMALL.append(encode_video(FPS))
    return _SMALL[0]


def evidence_store(path, rec: Recording, media: bool = True) -> SqliteEvidenceStore:
    """An evidence store with the test device enrolled, holding ``rec``'s entries and (when
    ``media``) every chunk's media, as a finished sync leaves them. The caller closes it."""
    ev = SqliteEvidenceStore(path)
    ev.enrol(DEVICE, device_key().public)
    ev.add_entries(DEVICE, rec.raws, T0 + 3_600_000)
    if media:
        for sha, data in rec.media.items():
            ev.put_media(sha, data)
    return ev


def record_mjpeg(seconds: int = 2) -> Recording:
    """A board's recording: Motion JPEG frames in fragments (no encoder, no microphone)."""
    import cv2

    b = _Builder()
    b.init(
        mp4.init_segment(
            [
                mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "jpeg", width=SIZE[0], height=SIZE[1]),
                mp4.Track(2, mp4.HANDLER_TEXT, 1000, "tx3g"),
            ]
        )
    )
    for g in range(seconds):
        frames = []
        for i in range(FPS):
            ok, jpeg = cv2.imencode(".jpg", _picture(g * FPS + i))
            assert ok
            frames.append((jpeg.tobytes(), True))
        b.gop(frames, [])
    return b.stop()
