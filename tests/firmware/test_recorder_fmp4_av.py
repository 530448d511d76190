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
from av.video.frame import PictureType

from firmware.packager import Fmp4Packager, aac_track, video_track
from firmware.recorder import RECORDING, RESUMING, STORE, Recorder
from protocol import h26x, mp4
from protocol.frames import frame_digest
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_RESUME,
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
SECONDS = 4
ORIGIN = 1000  # mono ms of the button and of the first frame
# s after the origin: a white picture and a tone start together; the second while the spoken
# reason is recorded, so its sound is in the spoken reason's own fragment
FLASHES = (1.5, 3.0)
PAUSE, RESUME = 2.0, 2.5  # s after the origin


def frame_ms(i: int) -> int:
    return ORIGIN + i * 1000 // FPS


def picture(i: int) -> av.VideoFrame:
    t = i / FPS
    lit = any(f <= t < f + 0.2 for f in FLASHES)
    img = np.full((HEIGHT, WIDTH, 3), 235 if lit else 20, np.uint8)
    img[(i * 7) % HEIGHT, :, 1] = 128  # something moves
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def tone() -> np.ndarray:
    t = np.arange(SECONDS * RATE) / RATE
    on = np.zeros_like(t)
    for f in FLASHES:
        on[(t >= f) & (t < f + 0.2)] = 1.0
    return (0.5 * on * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)


def aac_frames() -> tuple:
    """(AudioSpecificConfig, [(raw AAC frame, capture mono ms)]) of the tone, mono."""
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = RATE
    ctx.layout = "mono"
    ctx.format = "fltp"
    ctx.time_base = Fraction(1, RATE)
    ctx.open()
    pcm = tone()
    packets = []
    for start in range(0, len(pcm) - 1023, 1024):
        f = av.AudioFrame.from_ndarray(
            pcm[None, start : start + 1024], format="fltp", layout="mono"
        )
        f.sample_rate = RATE
        f.pts = start
        packets += [bytes(p) for p in ctx.encode(f)]
    packets += [bytes(p) for p in ctx.encode(None)]
    # Each AAC frame is 1024 samples captured from where the one before it ended.
    out = [(p, ORIGIN + k * 1024 * 1000 // RATE) for k, p in enumerate(packets)]
    return bytes(ctx.extradata), out


def h264_encoder() -> av.CodecContext:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = FPS
    ctx.gop_size = FPS  # a keyframe a second: one fragment each
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "bframes": "0"}
    return ctx


def record() -> tuple:
    """Film SECONDS of the scene with a pause, as a port would; return the stored chunks."""
    asc, audio = aac_frames()
    packager = Fmp4Packager(None, aac_track(asc, RATE, 1), frame_ms=1000 // FPS)
    config = {"chunk_ms": 1000, "max_chunk_ms": 2000, "pre_record_ms": 0, "spoken_reason_ms": 1000}
    rec = Recorder(make_signer(SEED_A), DEVICE, "OFC-1", config=config, packager=packager)
    stored: list = []

    def keep(actions: list) -> None:
        stored.extend((parse_entry(a[1]), a[2]) for a in actions if a[0] == STORE)

    keep(rec.power_on(T0, 0, {"camera_ok": True, "battery_percent": 90, "storage_hours": 40}))
    keep(rec.press_record(T0 + ORIGIN, ORIGIN))
    encoder = h264_encoder()
    fed = []  # the samples of frames fed while recording, as they go into the mdat
    inputs = [(frame_ms(i), 0, i) for i in range(SECONDS * FPS)]
    inputs += [(mono, 1, k) for k, (_data, mono) in enumerate(audio)]
    paused = resumed = False
    for mono, kind, n in sorted(inputs):
        t = (mono - ORIGIN) / 1000
        if not paused and t >= PAUSE:
            keep(rec.pause(PAUSE_WEATHER, T0 + mono, mono))
            paused = True
        if not resumed and t >= RESUME:
            keep(rec.resume(T0 + mono, mono))
            resumed = True
        if kind == 1:
            keep(rec.audio(audio[n][0], T0 + mono, mono))
            continue
        frame = picture(n)
        frame.pts = n
        # The encoder makes a keyframe when the recorder asks (after the resume).
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
            state = rec.state
            keep(rec.frame(sample, h26x.is_keyframe(nals, "avc1"), T0 + mono, mono))
            if state in (RECORDING, RESUMING):
                fed.append(sample)
    end = ORIGIN + SECONDS * 1000
    keep(rec.press_stop(T0 + end, end))
    return stored, fed


def test_h264_and_aac_through_the_recorder_play_in_sync(tmp_path):
    stored, fed = record()
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
    resume = [e for e, _ in stored if e.kind != KIND_CHUNK and e.fields[F_EVENT] == EV_RESUME]
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
    assert samples > 0.8 * (SECONDS - (RESUME - PAUSE)) * RATE
    # Picture and sound of each flash start within one frame of each other, and where they
    # were captured (media time 0 is the button).
    assert len(lit_at) == len(loud_at) == len(FLASHES)
    for lit, loud, want in zip(lit_at, loud_at, FLASHES, strict=True):
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
