"""What a vendor's encoder may change mid-stream without ending the recording: a new VUI in
its SPS (colour description, here), or a new MP4 (ftyp+moov) with the same settings; and
that a new MP4 with other settings ends the recording where it begins, as new parameter
sets do. The pictures after a harmless change are signed and decode with the signed init
segment exactly as the encoder made them (PyAV, the same YUV planes)."""
# micropython: skip (PyAV makes and decodes the streams; named pipes)
# Issue 12 "A vendor's hardware encoder" (docs/vendor-encoder.md, "What a vendor may change
# mid-stream"); R-DEV-2: every signed picture decodes as it was encoded.

import io
import os

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.ports import cpython
from firmware.ports.vendor import Mp4Input, SignedSets, open_input
from firmware.recorder import STREAM_AUDIO, STREAM_VIDEO
from firmware.store import Store, ledger_bytes
from protocol import h26x
from protocol.ledger import media_digest, read_ledger
from protocol.registry import EV_RECORD_STOP, F_EVENT, KIND_CHUNK
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.avmedia import FRAGMENTED, PipeEncoder, encode, mux
from tests.firmware.helpers import InputClock, packaged, read_all
from tests.protocol.spswriter import avc_sps, hevc_sps

COLOUR = "colorprim=bt709:transfer=bt709:colormatrix=bt709"  # a VUI change, nothing else
SEED = bytes(range(32))
DEVICE = "SC-0043"
ROOM = 256  # room for every picture: the counts are exact


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "video.pipe"
    os.mkfifo(path)
    return str(path)


def planes(data: bytes, fmt: "str | None" = None) -> list:
    """Each picture PyAV decodes from ``data``, as its YUV planes (no colour conversion, so
    a new colour description does not change what is compared)."""
    with av.open(io.BytesIO(data), format=fmt) as container:
        return [f.to_ndarray().tobytes() for f in container.decode(video=0)]


def first_sps(data: bytes, codec: str) -> bytes:
    kind = h26x.HEVC_SPS if codec == "hvc1" else h26x.AVC_SPS
    return next(n for n in h26x.split_annexb(data) if h26x.nal_type(n, codec) == kind)


def stored_movie(store) -> bytes:
    """The init segment and fragments the ledger signs, byte for byte (what the export
    writes); the ledger verifies and ends with the stop event."""
    raw = ledger_bytes(str(store))
    assert verify_ledger(raw, DEVICE, make_signer(SEED).public_key()).state == OK
    entries = [x[2] for x in read_ledger(raw) if x[0] == "entry"]
    assert entries[-1].fields.get(F_EVENT) == EV_RECORD_STOP
    held = Store(str(store))
    try:
        return b"".join(
            held.read_media(media_digest(e.fields)) for e in entries if e.kind == KIND_CHUNK
        )
    finally:
        held.close()


@pytest.mark.parametrize(
    "fmt,codec,entry", [("h264", "libx264", "avc1"), ("hevc", "libx265", "hvc1")]
)
def test_an_sps_that_changes_only_its_vui_goes_on_and_every_picture_decodes_as_made(
    tmp_path, fmt, codec, entry
):
    # The encoder is told a colour description mid-stream: its SPS changes in the VUI only.
    # Before, the byte-exact comparison ended the recording after the first 15 pictures.
    first = encode(fmt, codec, (160, 96), 15)
    second = encode(fmt, codec, (160, 96), 15, extra=COLOUR)
    assert first_sps(first, entry) != first_sps(second, entry)  # the bytes do differ
    path = tmp_path / "vendor.bin"
    path.write_bytes(first + second)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    assert len(items) == 30 and not source.params_changed and source.ended_early == ""
    assert planes(packaged(source.track, items)) == planes(first, fmt) + planes(second, fmt)


def test_an_sps_with_other_decoding_fields_still_ends_the_recording(tmp_path):
    # x264 at another level and reference count: the VUI alone is not what differs.
    first = encode("h264", "libx264", (160, 96), 15)
    second = encode("h264", "libx264", (160, 96), 15, extra="ref=3:level=4.1")
    key = h26x.decoding_key
    assert key(first_sps(first, "avc1"), "avc1") != key(first_sps(second, "avc1"), "avc1")
    path = tmp_path / "vendor.h264"
    path.write_bytes(first + second)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    assert len(read_all(source)) == 15 and source.params_changed


def test_a_recording_through_a_new_vui_is_signed_whole_and_its_export_decodes(tmp_path):
    first = encode("h264", "libx264", (160, 96), 30)
    second = encode("h264", "libx264", (160, 96), 30, extra=COLOUR)
    path = tmp_path / "vendor.h264"
    path.write_bytes(first + second)
    summary = cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", codec="", input_spec=str(path),
        fps=30, pace=False, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    assert summary["frames"] == 60 and "parameter_sets_changed" not in summary
    movie = stored_movie(tmp_path / "rec")
    assert planes(movie) == planes(first, "h264") + planes(second, "h264")


def mp4_items(source) -> tuple:
    items = read_all(source)
    video = [i for i in items if i[0] == STREAM_VIDEO]
    audio = [i for i in items if i[0] == STREAM_AUDIO]
    return items, video, audio


def test_two_fragmented_mp4s_with_the_same_settings_through_a_pipe_are_one_recording(fifo):
    # The encoder's muxer is restarted (as a driver does after a pause of its own): a
    # second ftyp+moov, its fragments' times from zero again. Before, the demuxer skipped
    # the moov and the second MP4's pictures went back in time.
    def twice(out) -> None:
        mux(out, "mp4", audio=True, options=FRAGMENTED)
        mux(out, "mp4", audio=True, options=FRAGMENTED)

    encoder = PipeEncoder(fifo, twice)
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    assert isinstance(source, Mp4Input)
    items, video, audio = mp4_items(source)
    encoder.join()
    assert len(video) == 90 and len(audio) >= 40
    assert source.new_moov == 1 and not source.params_changed and source.ended_early == ""
    times = [i[3] for i in video]
    assert times == sorted(times) and len(set(times)) == 90  # the second follows the first
    # The new MP4 starts a picture's time after the latest packet (here the sound's, a
    # little after the last picture's), not back at zero and not seconds later.
    frame = times[44] - times[43]
    assert frame <= times[45] - times[44] <= 2 * frame
    once = io.BytesIO()
    mux(once, "mp4", options=FRAGMENTED)
    assert planes(packaged(source.track, items)) == planes(once.getvalue()) * 2


def test_a_new_moov_whose_sps_differs_only_in_its_vui_goes_on(fifo):
    def twice(out) -> None:
        encode("mp4", "libx264", (160, 96), 30, FRAGMENTED, into=out)
        encode("mp4", "libx264", (160, 96), 30, FRAGMENTED, extra=COLOUR, into=out)

    encoder = PipeEncoder(fifo, twice)
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    items, video, _ = mp4_items(source)
    encoder.join()
    assert len(video) == 60 and source.new_moov == 1 and not source.params_changed
    plain = encode("mp4", "libx264", (160, 96), 30, FRAGMENTED)
    coloured = encode("mp4", "libx264", (160, 96), 30, FRAGMENTED, extra=COLOUR)
    assert planes(packaged(source.track, items)) == planes(plain) + planes(coloured)


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_a_new_moov_with_other_settings_ends_the_recording_where_it_begins(fifo, codec):
    def twice(out) -> None:
        encode("mp4", codec, (160, 96), 30, FRAGMENTED, into=out)
        encode("mp4", codec, (320, 192), 30, FRAGMENTED, into=out)

    encoder = PipeEncoder(fifo, twice)
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    items, video, _ = mp4_items(source)
    source_changed = (source.params_changed, source.moov_changed, source.new_moov)
    encoder.join()
    assert len(video) == 30 and source_changed == (True, True, 0) and source.ended_early == ""
    assert planes(packaged(source.track, items)) == planes(
        encode("mp4", codec, (160, 96), 30, FRAGMENTED)
    )


def test_a_recording_whose_mp4_begins_again_otherwise_is_signed_up_to_there(tmp_path):
    path = tmp_path / "vendor.mp4"
    path.write_bytes(
        encode("mp4", "libx264", (160, 96), 30, FRAGMENTED)
        + encode("mp4", "libx264", (320, 192), 30, FRAGMENTED)
    )
    summary = cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", codec="", input_spec=str(path),
        fps=30, pace=False, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    assert summary["frames"] == 30 and summary["parameter_sets_changed"]
    assert summary["new_moov_changed"] and "input_ended_early" not in summary
    assert len(planes(stored_movie(tmp_path / "rec"))) == 30


def test_an_sps_that_lets_more_pictures_be_reordered_is_not_the_recordings():
    # R-DEV-2. The display order of an Annex B stream's B-frames is learnt holding back as
    # many pictures as the first SPS lets be reordered: a later VUI that lets more would put
    # pictures in the wrong slots, so it ends the recording. From an MP4 too: its offsets
    # come with the packets, but a decoder sized by the signed avcC's smaller counts would
    # show the pictures out of order (or drop references), so the signed SPS's own counts
    # bound a later one (B-frames switched on mid-stream end the recording).
    fields = {"profile": 100, "level": 30, "width_mbs": 10, "height_units": 6}
    signed = avc_sps(fields, {"restriction": (2, 3)})
    pps = bytes.fromhex("68ce0fc8")
    config = h26x.avcc([signed], [pps])
    annex_b = SignedSets(config, "avc1", reorder=2)
    mp4 = SignedSets(config, "avc1")
    fewer = avc_sps(fields, {"restriction": (1, 3), "timing": (1, 60, 0)})
    more = avc_sps(fields, {"restriction": (4, 5)})
    unsaid = avc_sps(fields, {"timing": (1, 50, 1)})  # High profile, POC type 0: up to 16
    assert annex_b.holds(fewer) and not annex_b.holds(more) and not annex_b.holds(unsaid)
    assert mp4.holds(fewer) and not mp4.holds(more) and not mp4.holds(unsaid)
    # max_dec_frame_buffering alone raised (the same reorder count): not the recording's.
    bigger = avc_sps(fields, {"restriction": (2, 4)})
    assert not annex_b.holds(bigger) and not mp4.holds(bigger)
    assert mp4.config_alike(h26x.avcc([fewer], [pps]))
    assert not mp4.config_alike(h26x.avcc([more], [pps]))
    assert not mp4.config_alike(h26x.avcc([bigger], [pps]))
    other = avc_sps(dict(fields, width_mbs=20), {"restriction": (2, 3)})
    assert not annex_b.holds(other) and not mp4.holds(other)
    assert not mp4.foreign([signed, pps, b"\x65\x88"]) and mp4.foreign([other, pps])


RESTRICTION = st.none() | st.tuples(st.integers(0, 16), st.integers(0, 16))


@given(RESTRICTION, RESTRICTION, st.booleans())
def test_a_later_sps_holds_exactly_when_it_raises_neither_count(signed, later, annex_b):
    # R-DEV-2: the signed SPS's max_num_reorder_frames and max_dec_frame_buffering bound a
    # later one's; an unsaid count (no bitstream restriction: High profile, POC type 0)
    # is the most a level allows.
    fields = {"profile": 100, "level": 30, "width_mbs": 10, "height_units": 6}
    first = avc_sps(fields, None if signed is None else {"restriction": signed})
    sets = SignedSets(
        h26x.avcc([first], [bytes.fromhex("68ce0fc8")]),
        "avc1",
        reorder=(16 if signed is None else signed[0]) if annex_b else None,
    )
    nal = avc_sps(fields, None if later is None else {"restriction": later})
    most = (16, 16)
    bound, said = signed or most, later or most
    assert sets.holds(nal) == (said[0] <= bound[0] and said[1] <= bound[1])


def with_sei(config: bytes, sei: bytes) -> bytes:
    """An hvcC with one more array, of one prefix SEI (as x265 writes its settings)."""
    array = bytes((h26x.HEVC_PREFIX_SEI,)) + (1).to_bytes(2, "big")
    array += len(sei).to_bytes(2, "big") + sei
    return config[:22] + bytes((config[22] + 1,)) + config[23:] + array


def test_a_new_moovs_hvcc_whose_sei_changed_decodes_as_the_signed_one():
    # R-DEV-2, issue 12: an hvcC's arrays may hold an SEI (x265's settings, which name the
    # encoding's time); it is no parameter set and decoding reads nothing of it, so a new
    # moov whose SEI differs goes on as the same recording. Its sets still count.
    sps = hevc_sps({"width": 160, "height": 96}, {"timing": (1, 30, None)})
    vps, pps = bytes.fromhex("40010c01ffff"), bytes.fromhex("4401c172b46240")
    signed = SignedSets(with_sei(h26x.hvcc([vps], [sps], [pps]), b"\x4e\x01\x05\x02ab\x80"), "hvc1")
    later = h26x.hvcc([vps], [hevc_sps({"width": 160, "height": 96})], [pps])
    assert signed.config_alike(with_sei(later, b"\x4e\x01\x05\x02cd\x80"))
    assert signed.config_alike(later)
    other = h26x.hvcc([vps], [hevc_sps({"width": 320, "height": 96})], [pps])
    assert not signed.config_alike(with_sei(other, b"\x4e\x01\x05\x02ab\x80"))


def test_a_silent_recording_whose_new_moov_brings_aac_does_not_call_it_not_aac(fifo):
    # Issue 12: the sound a new MP4 brings when the recording had none is left out (there is
    # no signed sound track to go on), but it is AAC: ``audio_ignored`` names codecs that
    # are not AAC only, and the summary says "not AAC" of it.
    def twice(out) -> None:
        mux(out, "mp4", options=FRAGMENTED)
        mux(out, "mp4", audio=True, options=FRAGMENTED)

    encoder = PipeEncoder(fifo, twice)
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    _, video, audio = mp4_items(source)
    encoder.join()
    assert len(video) == 90 and not audio and source.new_moov == 1
    assert not source.params_changed and source.audio_ignored == ""
