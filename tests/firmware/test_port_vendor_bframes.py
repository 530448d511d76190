"""B-frames in a vendor's Annex B stream: shown in the encoder's order, first picture at 0."""
# micropython: skip (PyAV, named pipes and threads are CPython-only)
# Issue 12 "A vendor's hardware encoder" (R-DEV-2) and the ends12 items: an H.264/H.265
# elementary stream with B-frames gets composition offsets from its picture order counts,
# and the init segment an edit list so the first picture shows at time zero.

import io
import os

import av
import pytest

from firmware.packager import aac_track
from firmware.ports.vendor import AnnexBInput, open_input
from firmware.recorder import STREAM_VIDEO
from protocol import h26x, mp4
from tests.firmware.avmedia import FRAGMENTED, PipeEncoder, mux
from tests.firmware.helpers import InputClock, packaged, read_all

CODECS = [("libx264", "h264"), ("libx265", "hevc")]
AAC_CONFIG = bytes.fromhex("1408")  # AAC-LC, 16 kHz, mono


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "video.pipe"
    os.mkfifo(path)
    return str(path)


def decoded(data: bytes) -> tuple:
    """PyAV's pictures of ``data`` in presentation order, and their times in seconds."""
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(video=0))
    return [f.to_ndarray(format="rgb24").tobytes() for f in frames], [f.time for f in frames]


def package(source, items, with_audio=True) -> bytes:
    """The items as the device packages them: init segment, fragments of 15 pictures."""
    audio = aac_track(AAC_CONFIG, 16000, 1) if with_audio else None
    return packaged(source.track, items, audio)


@pytest.mark.parametrize("codec,fmt", CODECS)
def test_b_frames_in_annex_b_play_in_the_encoders_order_from_time_zero(tmp_path, codec, fmt):
    path = tmp_path / "vendor.bin"
    with open(path, "wb") as out:
        mux(out, fmt, codec=codec, bframes=3, frames=40)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    assert isinstance(source, AnnexBInput)
    items = read_all(source)
    assert len(items) == 40 and source.reordered > 0 and source.reorder > 0
    assert all(cto >= 0 for *_, cto in items)  # trun version 0: offsets are never negative
    footage = package(source, items)
    # Every track of the recording starts at the same moment: the video's delay.
    delay = source.reorder * 1000 // 30
    starts = {t.handler: t.media_time for t in mp4.read_init(footage)}
    assert starts == {"vide": delay * 90, "soun": delay * 16, "sbtl": delay}
    ours, times = decoded(footage)
    reference, _ = decoded(path.read_bytes())
    assert ours == reference  # the encoder's display order, every picture
    assert times[0] == 0.0 and times == sorted(times)  # the first picture shows at time zero


@pytest.mark.parametrize("codec,fmt", CODECS)
def test_without_b_frames_nothing_changes(tmp_path, codec, fmt):
    path = tmp_path / "vendor.bin"
    with open(path, "wb") as out:
        mux(out, fmt, codec=codec, bframes=0, frames=30)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    assert [cto for *_, cto in items] == [0] * 30 and source.reordered == 0
    footage = package(source, items)
    assert b"edts" not in footage[: footage.find(b"moof")]  # no edit list when none is needed
    assert decoded(footage)[0] == decoded(path.read_bytes())[0]


def test_b_frames_from_a_pipe_keep_their_order(fifo):
    whole = io.BytesIO()
    mux(whole, "h264", bframes=2, frames=45)
    encoder = PipeEncoder(fifo, lambda out: mux(out, "h264", bframes=2, frames=45))
    try:
        source = open_input(fifo, "", 30, InputClock())
        items = read_all(source)
    finally:
        encoder.join()  # releases the writer whatever happened above
    assert len(items) == 45 and source.ended_early == ""
    assert decoded(package(source, items, with_audio=False))[0] == decoded(whole.getvalue())[0]


def test_a_picture_whose_order_cannot_be_read_ends_the_stream_with_what_was_whole(tmp_path):
    whole = io.BytesIO()
    mux(whole, "h264", bframes=2, frames=45)
    data = whole.getvalue()
    # From the second IDR on, the slices name a PPS the stream never showed.
    second = data.find(b"\x00\x00\x01\x67", 10)
    units = h26x.split_annexb(data[second:])
    bad = b"".join(
        b"\x00\x00\x00\x01" + (n[:1] + b"\x98\x9f" + n[3:] if h26x.is_vcl(n, "avc1") else n)
        for n in units
    )  # bits 1 00110 00100: first_mb_in_slice 0, slice_type 5, pic_parameter_set_id 3
    path = tmp_path / "vendor.h264"
    path.write_bytes(data[:second] + bad)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    assert len(items) == 15  # the first GOP, every picture of it
    assert source.ended_early.startswith("at a picture sealcam cannot place in display order")
    assert "parameter set 3" in source.ended_early and "\n" not in source.ended_early


def test_b_frames_in_a_vendors_mp4_start_at_their_first_picture_too(tmp_path):
    # The first keyframe's composition offset is the MP4 stream's start delay: the edit list
    # skips it, as it does for Annex B.
    path = tmp_path / "vendor.mp4"
    with open(path, "wb") as out:
        mux(out, "mp4", bframes=2, frames=30, audio=True, options=FRAGMENTED)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    first = next(i for i in items if i[0] == STREAM_VIDEO)
    assert source.track.media_time == first[4] > 0
    footage = package(source, items)
    ours, times = decoded(footage)
    assert ours == decoded(path.read_bytes())[0] and times[0] == 0.0
