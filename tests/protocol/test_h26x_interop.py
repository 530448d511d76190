"""H.264/H.265 against PyAV's encoders: access units, picture sizes and decoder configs."""
# micropython: skip (PyAV and hypothesis are CPython libraries)
# Issue 12 (real footage): a vendor's Annex B stream, fed in whatever pieces a pipe delivers,
# must become the same samples, and the sample entry must describe the stream exactly.

import functools

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import h26x, mp4
from tests.protocol.avmedia import FRAMES, TICKS, encode_video


@functools.cache
def encoded(codec, width=642, height=362, pix_fmt="yuv420p"):
    stream, packets, _ctx = encode_video(codec, width, height, pix_fmt)
    return stream, tuple(packets)


ENTRY = {"libx264": "avc1", "libx265": "hvc1"}


def whole(entry, stream):
    cut = h26x.AccessUnits(entry)
    return cut.feed(stream) + cut.end()


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_access_units_are_the_encoders_packets(codec):
    stream, packets = encoded(codec)
    entry = ENTRY[codec]
    aus = whole(entry, stream)
    assert len(aus) == len(packets) == FRAMES
    # each packet the encoder returned is one access unit
    assert [nals for nals, _k in aus] == [h26x.split_annexb(p) for p in packets]
    assert [k for _n, k in aus] == [i % 5 == 0 for i in range(FRAMES)]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["libx264", "libx265"]), st.lists(st.integers(1, 3000), max_size=40))
def test_access_units_do_not_depend_on_how_the_stream_is_cut(codec, sizes):
    stream, _packets = encoded(codec)
    entry = ENTRY[codec]
    cut = h26x.AccessUnits(entry)
    got = []
    at = 0
    for n in sizes:
        got += cut.feed(stream[at : at + n])
        at += n
    got += cut.feed(stream[at:]) + cut.end()
    assert got == whole(entry, stream)


# Sizes that are no multiple of the coding block, so the SPS must crop; 4:4:4 and 4:2:2
# crop in whole pixels rather than pairs, 10-bit changes the avcC/hvcC bit depths.
VARIANTS = [
    ("libx264", 642, 362, "yuv420p"),
    ("libx264", 641, 361, "yuv444p"),
    ("libx264", 642, 361, "yuv422p"),
    ("libx264", 642, 362, "yuv420p10le"),
    ("libx265", 642, 362, "yuv420p"),
    ("libx265", 641, 361, "yuv444p"),
    ("libx265", 642, 362, "yuv420p10le"),
]


@pytest.mark.parametrize(("codec", "width", "height", "pix_fmt"), VARIANTS)
def test_picture_size_and_config_match_the_encoder(
    tmp_path, ffmpeg_log, codec, width, height, pix_fmt
):
    try:
        stream, packets = encoded(codec, width, height, pix_fmt)
    except (av.error.FFmpegError, ValueError) as e:  # a build without this pixel format
        pytest.skip("%s cannot encode %s here: %s" % (codec, pix_fmt, e))
    entry = ENTRY[codec]
    cut = h26x.AccessUnits(entry)
    aus = cut.feed(stream) + cut.end()
    assert h26x.picture_size(cut.sps[0], entry) == (width, height)
    if entry == "avc1":
        config = h26x.avcc(cut.sps, cut.pps)
    else:
        config = h26x.hvcc(cut.vps, cut.sps, cut.pps)
    track = mp4.Track(1, mp4.HANDLER_VIDEO, 90000, entry, config, width, height)
    samples = [
        mp4.Sample(h26x.to_sample(h26x.sample_nals(nals, entry)), TICKS, key) for nals, key in aus
    ]
    path = tmp_path / "v.mp4"
    path.write_bytes(mp4.init_segment([track]) + mp4.fragment(1, [mp4.Run(1, 0, samples)]))
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert ffmpeg_log() == []
    assert len(frames) == len(packets)
    assert all((f.width, f.height) == (width, height) for f in frames)
    assert frames[0].format.name.startswith(pix_fmt.replace("le", ""))


@settings(max_examples=300)
@given(st.sampled_from(["libx264", "libx265"]), st.data())
def test_damaged_parameter_sets_raise_only_h26x_errors(codec, data):
    stream, _packets = encoded(codec)
    entry = ENTRY[codec]
    cut = h26x.AccessUnits(entry)
    cut.feed(stream)
    sps = bytearray(cut.sps[0])
    for _ in range(data.draw(st.integers(1, 4))):
        sps[data.draw(st.integers(0, len(sps) - 1))] = data.draw(st.integers(0, 255))
    sps = bytes(sps[: data.draw(st.integers(0, len(sps)))])
    for fn, args in (
        (h26x.picture_size, (sps, entry)),
        (h26x.avcc, ([sps], cut.pps)),
        (h26x.hvcc, (cut.vps, [sps], cut.pps)),
    ):
        try:
            fn(*args)
        except h26x.H26xError as e:
            assert str(e).startswith("h26x: ")


@settings(max_examples=300)
@given(st.sampled_from(["avc1", "hvc1"]), st.binary(max_size=300), st.integers(1, 50))
def test_arbitrary_bytes_raise_only_h26x_errors(entry, blob, piece):
    try:
        h26x.from_sample(blob)
    except h26x.H26xError:
        pass
    cut = h26x.AccessUnits(entry, max_au=200)
    try:
        for i in range(0, len(blob), piece):
            cut.feed(blob[i : i + piece])
        cut.end()
    except h26x.H26xError:
        pass
    assert all(h26x.split_annexb(blob))  # never an empty NAL unit


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_parameter_sets_from_the_encoders_extradata(tmp_path, ffmpeg_log, codec):
    # issue 12: an encoder opened for a container keeps its parameter sets out of band
    stream, packets, ctx = encode_video(codec, 642, 362, global_header=True)
    entry = ENTRY[codec]
    cut = h26x.AccessUnits(entry)
    aus = cut.feed(stream) + cut.end()
    assert len(aus) == len(packets) and cut.sps == []
    found = {}
    for nal in h26x.split_annexb(bytes(ctx.extradata)):
        if h26x.is_parameter_set(nal, entry):
            found.setdefault(h26x.nal_type(nal, entry), []).append(nal)
    if entry == "avc1":
        config = h26x.avcc(found[7], found[8])
    else:
        config = h26x.hvcc(found[32], found[33], found[34])
    sps = found[7 if entry == "avc1" else 33][0]
    assert h26x.picture_size(sps, entry) == (642, 362)
    track = mp4.Track(1, mp4.HANDLER_VIDEO, 90000, entry, config, 642, 362)
    samples = [mp4.Sample(h26x.to_sample(nals), TICKS, key) for nals, key in aus]
    path = tmp_path / "v.mp4"
    path.write_bytes(mp4.init_segment([track]) + mp4.fragment(1, [mp4.Run(1, 0, samples)]))
    with av.open(str(path)) as container:
        assert len(list(container.decode(video=0))) == len(packets)
    assert ffmpeg_log() == []


def test_interlaced_h264_size(tmp_path, ffmpeg_log):
    # an interlaced SPS doubles the height unit and the vertical crop unit
    stream, packets, _ctx = encode_video("libx264", 642, 360, interlaced=True)
    cut = h26x.AccessUnits("avc1")
    aus = cut.feed(stream) + cut.end()
    assert len(aus) == len(packets)
    assert h26x.picture_size(cut.sps[0], "avc1") == (642, 360)
    track = mp4.Track(1, "vide", 90000, "avc1", h26x.avcc(cut.sps, cut.pps), 642, 360)
    samples = [
        mp4.Sample(h26x.to_sample(h26x.sample_nals(nals, "avc1")), TICKS, key) for nals, key in aus
    ]
    path = tmp_path / "i.mp4"
    path.write_bytes(mp4.init_segment([track]) + mp4.fragment(1, [mp4.Run(1, 0, samples)]))
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert [(f.width, f.height) for f in frames] == [(642, 360)] * len(packets)
    assert all(f.interlaced_frame for f in frames)
    assert ffmpeg_log() == []
