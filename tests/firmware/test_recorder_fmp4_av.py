"""Real H.264 and AAC from PyAV through the recorder and the packager: ffmpeg plays the result.

PyAV (ffmpeg) is the independent oracle: the init segment and every fragment the ledger
signed, concatenated as an export does, must decode, with picture and sound in sync.
"""
# micropython: skip (PyAV is a CPython library)
# Issue 12 (real footage); R-DEV-1 (video and audio), R-DEV-9 (the spoken reason's sound),
# R-DEV-2 (nothing left out: every frame fed while recording decodes).

from fractions import Fraction

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from firmware.packager import Fmp4Packager, aac_track, video_track
from firmware.recorder import RECORDING, RESUMING, STORE, Recorder
from protocol import h26x, mp4
from protocol.frames import frame_digest
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_RECORD_START,
    EV_RESUME,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_SPOKEN,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

FPS = 30
RATE = 48000
WIDTH, HEIGHT = 320, 240
END = 5000  # mono ms when the officer stops
ORIGIN = 1000  # mono ms that media time 0 stands for, in both shifts below
# ms: a white picture and a tone start together; the second while the spoken reason is
# recorded, so its sound is in the spoken reason's own fragment
FLASHES = (2500, 4000)
PAUSE, RESUME = 3000, 3500
# (when the camera starts, when the button is pressed, pre-record ms). Without pre-record the
# button is the origin. With it, the camera runs from 0 with a keyframe a second; the button
# at 1500 keeps the second before it, from its first keyframe (1000) on, the P-frames before
# that keyframe left out.
PLAIN = (ORIGIN, ORIGIN, 0)
PRE_RECORD = (0, 1500, 1000)


def picture(mono: int) -> av.VideoFrame:
    lit = any(f <= mono < f + 200 for f in FLASHES)
    img = np.full((HEIGHT, WIDTH, 3), 235 if lit else 20, np.uint8)
    img[(mono // 10) % HEIGHT, :, 1] = 128  # something moves
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def tone(start: int) -> np.ndarray:
    t = start + np.arange((END - start) * RATE // 1000) * 1000 / RATE
    on = np.zeros_like(t)
    for f in FLASHES:
        on[(t >= f) & (t < f + 200)] = 1.0
    return (0.5 * on * np.sin(2 * np.pi * t)).astype(np.float32)  # 1 kHz: t is in ms


def aac_frames(start: int) -> tuple:
    """(AudioSpecificConfig, [(raw AAC frame, capture mono ms)]) of the tone, mono."""
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = RATE
    ctx.layout = "mono"
    ctx.format = "fltp"
    ctx.time_base = Fraction(1, RATE)
    ctx.open()
    pcm = tone(start)
    packets = []
    for at in range(0, len(pcm) - 1023, 1024):
        block = pcm[None, at : at + 1024]
        f = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
        f.sample_rate = RATE
        f.pts = at
        packets += [bytes(p) for p in ctx.encode(f)]
    packets += [bytes(p) for p in ctx.encode(None)]
    # Each AAC frame is 1024 samples captured from where the one before it ended.
    out = [(p, start + k * 1024 * 1000 // RATE) for k, p in enumerate(packets)]
    return bytes(ctx.extradata), out


def h264_encoder() -> av.CodecContext:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = FPS
    ctx.gop_size = FPS  # a keyframe a second: one fragment each
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "bframes": "0"}
    return ctx


def record(shift: tuple) -> tuple:
    """Film the scene with a pause, as a port would: (stored [(entry, media)], the samples of
    the frames the recording keeps, in order)."""
    start, press, pre_ms = shift
    asc, audio = aac_frames(start)
    packager = Fmp4Packager(None, aac_track(asc, RATE, 1), frame_ms=1000 // FPS)
    config = {
        "chunk_ms": 1000,
        "max_chunk_ms": 2000,
        "pre_record_ms": pre_ms,
        "spoken_reason_ms": 1000,
    }
    rec = Recorder(make_signer(SEED_A), DEVICE, "OFC-1", config=config, packager=packager)
    stored: list = []

    def keep(actions: list) -> None:
        stored.extend((parse_entry(a[1]), a[2]) for a in actions if a[0] == STORE)

    keep(rec.power_on(T0, 0, {"camera_ok": True, "battery_percent": 90, "storage_hours": 40}))
    encoder = h264_encoder()
    fed = []  # the samples of frames fed while recording, as they go into the mdat
    before = []  # (sample, keyframe, mono) of frames fed before the button
    frames = (END - start) * FPS // 1000
    inputs = [(start + i * 1000 // FPS, 0, i) for i in range(frames)]
    inputs += [(mono, 1, k) for k, (_data, mono) in enumerate(audio)]
    pressed = paused = resumed = False
    for mono, kind, n in sorted(inputs):
        if not pressed and mono >= press:
            keep(rec.press_record(T0 + mono, mono))
            window = [b for b in before if b[2] >= mono - pre_ms]
            keys = [i for i in range(len(window)) if window[i][1]]
            fed += [b[0] for b in window[keys[0] :]] if keys else []
            pressed = True
        if not paused and mono >= PAUSE:
            keep(rec.pause(PAUSE_WEATHER, T0 + mono, mono))
            paused = True
        if not resumed and mono >= RESUME:
            keep(rec.resume(T0 + mono, mono))
            resumed = True
        if kind == 1:
            keep(rec.audio(audio[n][0], T0 + mono, mono))
            continue
        frame = picture(mono)
        frame.pts = n
        # The encoder makes a keyframe when the recorder asks (after the button, the resume).
        frame.pict_type = PictureType.I if rec.wants_keyframe else PictureType.NONE
        for packet in encoder.encode(frame):
            nals = h26x.split_annexb(bytes(packet))
            sps = [x for x in nals if h26x.nal_type(x, "avc1") == 7]
            pps = [x for x in nals if h26x.nal_type(x, "avc1") == 8]
            if sps and not packager.ready():
                # A vendor's stream: the parameter sets come with the first keyframe.
                size = h26x.picture_size(sps[0], "avc1")
                packager.set_video(video_track("avc1", h26x.avcc(sps, pps), size[0], size[1]))
            sample = h26x.to_sample(h26x.sample_nals(nals, "avc1"))
            key = h26x.is_keyframe(nals, "avc1")
            state = rec.state
            keep(rec.frame(sample, key, T0 + mono, mono))
            if state in (RECORDING, RESUMING):
                fed.append(sample)
            elif not pressed:
                before.append((sample, key, mono))
    keep(rec.press_stop(T0 + END, END))
    return stored, fed


@pytest.mark.parametrize("shift", [PLAIN, PRE_RECORD], ids=["plain", "pre-record"])
def test_h264_and_aac_through_the_recorder_play_in_sync(tmp_path, shift):
    stored, fed = record(shift)
    key = device_key()
    ledger = b"".join(e.raw for e, _ in stored)
    assert verify_ledger(ledger, key.device_id, key.public).state == OK
    chunks = [(e, m) for e, m in stored if e.kind == KIND_CHUNK]
    assert chunks[0][0].fields[F_MEDIA_TYPE] == MEDIA_MP4_INIT
    assert all(e.fields[F_MEDIA_TYPE] == MEDIA_MP4 for e, _ in chunks[1:])
    # The signed digests are those of the samples fed, in order, none missing.
    digests = [d for e, _ in chunks for d in e.fields[F_FRAME_HASHES]]
    assert digests == [frame_digest(s) for s in fed]
    # The resume points at a fragment of sound only.
    events = [e for e, _ in stored if e.kind != KIND_CHUNK]
    start = next(e for e in events if e.fields[F_EVENT] == EV_RECORD_START)
    assert start.fields[F_DETAIL]["origin_mono"] == ORIGIN
    resume = [e for e in events if e.fields[F_EVENT] == EV_RESUME]
    spoken = [e for e, _ in chunks if e.digest == resume[0].fields[F_SPOKEN]]
    assert spoken and spoken[0].fields[F_FRAME_HASHES] == []

    # Every fragment with video starts at a keyframe here: the encoder made one when asked.
    for _e, media in chunks[1:]:
        refs = [r for r in mp4.read_fragment(media)[1] if r.track_id == 1]
        assert not refs or refs[0].sync

    path = tmp_path / "recording.mp4"
    path.write_bytes(b"".join(m for _, m in chunks))  # init + fragments, as signed
    level = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture() as logs:
            lit_at, loud_at, pictures, samples = play(str(path))
    finally:
        av.logging.set_level(level)
    assert [line for line in logs if line[0] <= av.logging.WARNING] == []
    assert pictures == len(fed)
    assert samples > 0.8 * (END - ORIGIN - (RESUME - PAUSE)) * RATE / 1000
    # Picture and sound of each flash start within one frame of each other, and where they
    # were captured (media time 0 is the button).
    assert len(lit_at) == len(loud_at) == len(FLASHES)
    for lit, loud, flash in zip(lit_at, loud_at, FLASHES, strict=True):
        want = (flash - ORIGIN) / 1000
        assert abs(lit - loud) <= 1 / FPS, (lit, loud)
        assert abs(lit - want) <= 1 / FPS, (lit, want)


def play(path: str) -> tuple:
    """Decode the file: (when each flash is seen, when each tone is heard, pictures, samples)."""
    pictures, lit_at, loud_at, samples = 0, [], [], 0
    with av.open(path) as container:
        video = container.streams.video[0]
        sound = container.streams.audio[0]
        assert video.codec_context.name == "h264" and sound.codec_context.name == "aac"
        was_lit = was_loud = False
        for frame in container.decode(video, sound):
            if isinstance(frame, av.VideoFrame):
                pictures += 1
                luma = frame.to_ndarray(format="gray").mean()
                if luma > 128 and not was_lit:
                    lit_at.append(float(frame.time))
                was_lit = luma > 128
            else:
                pcm = np.abs(frame.to_ndarray()[0])
                loud = np.nonzero(pcm > 0.25)[0]
                if len(loud) and not was_loud:
                    loud_at.append(float(frame.time) + loud[0] / RATE)
                was_loud = bool(len(loud)) and pcm[-64:].max() > 0.25
                samples += frame.samples
    return lit_at, loud_at, pictures, samples
