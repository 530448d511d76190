"""Footage made by PyAV (ffmpeg) for the protocol tests: pictures, H.264/H.265 and AAC
from the real encoders, and a fixture that catches what ffmpeg logs."""
# micropython: skip (PyAV is a CPython library)

from fractions import Fraction

import av
import numpy as np

FPS = 30
TICKS = 90000 // FPS  # one frame at the video timescale
FRAMES = 14
GOP = 5


def pictures(width, height, n=FRAMES):
    for i in range(n):
        img = np.zeros((height, width, 3), np.uint8)
        img[:, :, 0] = (i * 17) % 256
        img[(i * 7) % height, :, 1] = 255
        img[:, (i * 11) % width, 2] = 200
        yield i, av.VideoFrame.from_ndarray(img, format="rgb24")


def encode_video(
    codec, width, height, pix_fmt="yuv420p", n=FRAMES, global_header=False, interlaced=False
):
    """(Annex B byte stream, [packet bytes], codec context) from PyAV's encoder; with
    ``global_header`` the parameter sets are in the context's extradata, not the stream."""
    ctx = av.CodecContext.create(codec, "w")
    if global_header:
        ctx.flags |= av.codec.context.Flags.global_header
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = FPS
    ctx.gop_size = GOP
    if codec == "libx264":
        ctx.options = {"bframes": "0", "preset": "ultrafast", "keyint": str(GOP)}
        if interlaced:  # MBAFF: frame_mbs_only_flag 0, so the SPS counts map units of 32 rows
            ctx.options = dict(ctx.options, **{"x264-params": "interlaced=1"})
    elif codec == "libx265":
        ctx.options = {"x265-params": "bframes=0:keyint=%d:log-level=error" % GOP}
    packets = []
    for i, frame in pictures(width, height, n):
        frame = frame.reformat(format=pix_fmt)
        frame.pts = i
        packets += [bytes(p) for p in ctx.encode(frame)]
    packets += [bytes(p) for p in ctx.encode(None)]
    return b"".join(packets), packets, ctx


def encode_aac(seconds=0.5, rate=48000):
    """(AudioSpecificConfig, [raw AAC frames]) from PyAV's AAC encoder, mono."""
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = rate
    ctx.layout = "mono"
    ctx.format = "fltp"
    ctx.time_base = Fraction(1, rate)
    ctx.open()
    frames = []
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for i in range(0, len(tone) - 1023, 1024):
        f = av.AudioFrame.from_ndarray(tone[None, i : i + 1024], format="fltp", layout="mono")
        f.sample_rate = rate
        f.pts = i
        frames += [bytes(p) for p in ctx.encode(f)]
    frames += [bytes(p) for p in ctx.encode(None)]
    return bytes(ctx.extradata), frames
