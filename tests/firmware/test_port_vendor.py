"""A vendor's hardware encoder as the camera: its stream from a pipe, signed as it is."""
# micropython: skip (PyAV, named pipes and threads are CPython-only)
# Issue 12 "A vendor's hardware encoder": an H.264/H.265 Annex B stream or fragmented MP4
# written into a pipe by another thread (PyAV's libx264 standing in for the hardware) is cut
# into access units without re-encoding; bad streams are one clear line before anything.

import io
import itertools
import os
import threading

import av
import pytest

from firmware.packager import Fmp4Packager
from firmware.ports.encoder import MediaError
from firmware.ports.vendor import (
    NO_AUDIO_CONFIG,
    AnnexBInput,
    Mp4Input,
    detect_codec,
    open_input,
)
from firmware.recorder import STORE, STREAM_AUDIO, STREAM_VIDEO, Recorder
from protocol import h26x, mp4
from protocol.frames import frame_digest
from protocol.ledger import parse_entry
from protocol.registry import F_FRAME_HASHES, F_MEDIA_TYPE, KIND_CHUNK, MEDIA_MP4, MEDIA_MP4_INIT
from protocol.signer import make_signer
from tests.firmware.avmedia import FRAGMENTED, PipeEncoder, mux, without_audio_config
from tests.firmware.helpers import InputClock, read_all
from tests.protocol.helpers import DEVICE, SEED_A, T0

GOOD = {"camera_ok": True, "battery_percent": 90, "storage_hours": 40, "clock_ok": True}


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "video.pipe"
    os.mkfifo(path)
    return str(path)


def play(track, items, audio_track=None) -> tuple:
    """Package the items with protocol.mp4 and decode them with PyAV: (video, audio) frames."""
    tracks = [track] + ([audio_track] if audio_track is not None else [])
    video = [mp4.Sample(d, 3000, k, cto) for s, d, k, _, cto in items if s == STREAM_VIDEO]
    runs = [mp4.Run(track.track_id, 0, video)]
    sound = [mp4.Sample(d, 1024) for s, d, _, _, _ in items if s == STREAM_AUDIO]
    if sound:
        runs.append(mp4.Run(audio_track.track_id, 0, sound))
    data = mp4.init_segment(tracks) + mp4.fragment(1, runs)
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(*container.streams))
        pictures = [f for f in frames if isinstance(f, av.VideoFrame)]
        return (
            container.streams.video[0].codec_context.name,
            len(pictures),
            len(frames) - len(pictures),
        )


@pytest.mark.parametrize(
    "codec,entry,name", [("libx264", "avc1", "h264"), ("libx265", "hvc1", "hevc")]
)
def test_an_annex_b_stream_from_a_pipe_is_cut_into_access_units_and_stamped_at_fps(
    fifo, codec, entry, name
):
    encoder = PipeEncoder(fifo, lambda out: mux(out, "h264" if entry == "avc1" else "hevc", codec))
    clock = InputClock()
    source = open_input(fifo, "", 25, clock, sleep=clock.sleep)
    assert isinstance(source, AnnexBInput) and source.codec == entry
    items = read_all(source)
    encoder.join()
    assert len(items) == 45 and source.ended_early == ""
    assert [m for _, _, _, m, _ in items] == [1000 + n * 1000 // 25 for n in range(45)]
    assert [i for i, (_, _, key, _, _) in enumerate(items) if key] == [0, 15, 30]
    for _, data, _, _, cto in items:
        assert cto == 0
        assert not any(h26x.is_parameter_set(n, entry) for n in h26x.from_sample(data))
    assert source.track is not None and (source.track.width, source.track.height) == (160, 96)
    assert play(source.track, items)[:2] == (name, 45)  # the bytes are ffmpeg's own, unchanged


def test_a_fragmented_mp4_from_a_pipe_keeps_its_times_and_its_aac(fifo):
    encoder = PipeEncoder(fifo, lambda out: mux(out, "mp4", audio=True, options=FRAGMENTED))
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    assert isinstance(source, Mp4Input) and source.codec == "avc1"
    assert source.audio_track is not None and source.audio_track.codec == "mp4a"
    items = read_all(source)
    encoder.join()
    video = [i for i in items if i[0] == STREAM_VIDEO]
    audio = [i for i in items if i[0] == STREAM_AUDIO]
    assert len(video) == 45 and len(audio) >= 20 and source.ended_early == ""
    monos = [m for _, _, _, m, _ in video]
    # The encoder's own times: a frame every 1/30 s (ffmpeg's muxer moves all but the first
    # by the AAC priming, 64 ms, which the stream then carries and sealcam keeps).
    assert monos[0] == 1000 and {b - a for a, b in itertools.pairwise(monos[1:])} <= {33, 34}
    codec, pictures, heard = play(source.track, items, source.audio_track)
    assert (codec, pictures) == ("h264", 45) and heard == len(audio)


def test_an_aac_track_without_its_decoder_configuration_is_left_out_and_said_why(fifo):
    # R-DEV-1 (issue 12): an encoder that writes its moov before it has the AAC
    # configuration (the esds without its AudioSpecificConfig). That sound cannot be kept,
    # for no player decodes AAC without it; the pictures are recorded and the summary says
    # why, not just "aac" (which reads as if AAC were refused).
    made = io.BytesIO()
    mux(made, "mp4", audio=True, options=FRAGMENTED)
    data = without_audio_config(made.getvalue())
    encoder = PipeEncoder(fifo, lambda out: out.write(data))
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    assert isinstance(source, Mp4Input) and source.audio_track is None
    items = read_all(source)
    encoder.join()
    assert [s for s, *_ in items] == [STREAM_VIDEO] * 45
    assert (source.audio_ignored, source.audio_ignored_why) == ("aac", NO_AUDIO_CONFIG)


def pictures(data: bytes) -> list:
    """Every picture PyAV decodes from ``data``, in presentation order, as arrays."""
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24").tobytes() for f in container.decode(video=0)]


def test_b_frames_in_an_mp4_are_recorded_with_their_composition_offsets(fifo):
    # Issue 12 "A vendor's hardware encoder", R-DEV-2: a stream with B-frames is signed as
    # it is (decode order, byte-identical samples) and plays in the encoder's display order,
    # the offsets carried through the pre-record buffer and the open fragment into the trun.
    source_mp4 = io.BytesIO()
    mux(source_mp4, "mp4", bframes=2, options=FRAGMENTED)
    with av.open(io.BytesIO(source_mp4.getvalue())) as container:
        vendor = [bytes(p) for p in container.demux(video=0) if p.size]
    encoder = PipeEncoder(fifo, lambda out: mux(out, "mp4", bframes=2, options=FRAGMENTED))
    clock = InputClock()
    source = open_input(fifo, "", 30, clock, sleep=clock.sleep)
    assert isinstance(source, Mp4Input) and source.track is not None
    items = read_all(source)
    encoder.join()
    video = [i for i in items if i[0] == STREAM_VIDEO]
    assert len(video) == 45 and any(cto for *_, cto in video)  # the encoder made B-frames
    packager = Fmp4Packager(source.track, None, frame_ms=33)
    rec = Recorder(
        make_signer(SEED_A), DEVICE, "OFC-1", packager=packager,
        config={"chunk_ms": 300, "max_chunk_ms": 600, "pre_record_ms": 5000},
    )  # fmt: skip
    stored: list = []

    def run(actions: list) -> None:
        stored.extend(parse_entry(a[1]) for a in actions if a[0] == STORE)
        media.extend(a[2] for a in actions if a[0] == STORE and a[2] is not None)

    media: list = []
    mono = video[0][3]
    run(rec.power_on(T0 + mono, mono, GOOD))
    for n, (_, data, key, mono, cto) in enumerate(video):
        if n == 10:  # the first ten pictures come from the pre-record buffer
            run(rec.press_record(T0 + mono, mono))
        run(rec.frame(data, key, T0 + mono, mono, cto))
    run(rec.press_stop(T0 + mono + 40, mono + 40))
    chunks = [e for e in stored if e.kind == KIND_CHUNK]
    kinds = [e.fields[F_MEDIA_TYPE] for e in chunks]
    assert kinds[0] == MEDIA_MP4_INIT and set(kinds[1:]) == {MEDIA_MP4} and len(kinds) > 2
    footage = b"".join(media)
    # The signed samples are the vendor's packets, byte for byte, in decode order.
    samples = []
    ctos = []
    for start, end in mp4.fragment_spans(footage):
        part = footage[start:end]
        samples += mp4.track_samples(part, 1)
        ctos += [r.cto for r in mp4.read_fragment(part)[1] if r.track_id == 1]
    assert samples == vendor
    assert ctos == [cto for *_, cto in video]
    digests = [d for e in chunks for d in e.fields[F_FRAME_HASHES]]
    assert digests == [frame_digest(v) for v in vendor]
    # Played back, the pictures come in the encoder's presentation order.
    played = pictures(footage)
    assert len(played) == 45 and played == pictures(source_mp4.getvalue())


def test_a_fragmented_mp4_cut_inside_a_fragment_ends_early_with_what_was_whole(fifo):
    whole = io.BytesIO()
    mux(whole, "mp4", options=FRAGMENTED)
    cut = len(whole.getvalue()) * 2 // 3
    encoder = PipeEncoder(fifo, lambda out: mux(out, "mp4", options=FRAGMENTED, cut=cut))
    source = open_input(fifo, "", 30, InputClock())
    items = read_all(source)
    encoder.join()
    assert 0 < len(items) < 45 and source.ended_early.startswith("inside a fragment")
    assert play(source.track, items)[:2] == ("h264", len(items))  # every one kept is whole


def test_an_annex_b_stream_cut_after_a_pictures_headers_ends_early(fifo):
    whole = io.BytesIO()
    mux(whole, "h264")
    data = whole.getvalue()
    second_idr = data.find(b"\x00\x00\x01\x67", 10)  # the SPS before frame 15
    pps_end = data.find(b"\x00\x00\x01", data.find(b"\x00\x00\x01\x68", second_idr) + 3)
    encoder = PipeEncoder(fifo, lambda out: out.write(data[:pps_end]))
    source = open_input(fifo, "", 30, InputClock())
    items = read_all(source)
    encoder.join()
    assert len(items) == 15 and source.ended_early == "inside an access unit"


@pytest.mark.parametrize(
    "data,says",
    [
        (bytes(range(7, 250)) * 40, "is not an H.264/H.265 elementary stream (Annex B) or an MP4"),
        (b"", "is empty: the encoder wrote nothing"),
        (b"\x00\x00\x00\x01\x7f\x00" * 500, "first NAL unit is neither H.264 nor H.265"),
        (b"\x00\x00\x00\x01\x09\xf0" * 10, "ended before its first H.264 keyframe"),
        (b"\x00\x00\x00\x18ftypisom" + bytes(30), "not an MP4 that can be read as a stream"),
        (
            b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x68\xce\x38\x80"
            b"\x00\x00\x00\x01\x65\x88\x84\x00\x00\x00\x01\x09\xf0",
            "not a stream sealcam can sign: h26x: not an H.264 SPS",  # an SPS cut short
        ),
    ],
)
def test_a_stream_that_is_not_h26x_or_mp4_is_one_line_before_anything(fifo, data, says):
    encoder = PipeEncoder(fifo, lambda out: out.write(data))
    with pytest.raises(MediaError) as err:
        open_input(fifo, "", 30, InputClock())
    encoder.join()
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_codec_given_that_the_stream_is_not_is_refused(fifo):
    encoder = PipeEncoder(fifo, lambda out: mux(out, "h264", frames=3))
    with pytest.raises(MediaError, match=r"H\.264, not what --codec says"):
        open_input(fifo, "h265", 30, InputClock())
    encoder.join()


def test_an_input_that_cannot_be_opened_is_one_line(tmp_path):
    with pytest.raises(MediaError, match=r"cannot read the input .*No such file"):
        open_input(str(tmp_path / "none.h264"), "", 30, InputClock())
    with pytest.raises(MediaError, match="is a directory"):
        open_input(str(tmp_path), "", 30, InputClock())


def test_a_stop_request_is_not_stuck_behind_a_silent_encoder(fifo):
    # ^C or --seconds while the encoder writes nothing: the read gives up, no deadline raced;
    # and a stop is the operator's, not a stream that ended early, wherever it fell.
    release = threading.Event()
    stop = threading.Event()
    whole = io.BytesIO()
    mux(whole, "h264")
    data = whole.getvalue()
    second_idr = data.find(b"\x00\x00\x01\x67", 10)
    headers_end = data.find(b"\x00\x00\x01", data.find(b"\x00\x00\x01\x68", second_idr) + 3)

    def pictures_then_silence(out):
        out.write(data[:headers_end])  # then the next picture's headers, and no picture
        out.flush()
        release.wait()  # the pipe stays open: the encoder has gone quiet, not away

    encoder = PipeEncoder(fifo, pictures_then_silence)
    source = open_input(fifo, "", 30, InputClock(), stop=stop)
    while source.read() and source.frames < 3:
        pass
    stop.set()
    while source.read() is not None:  # the pipe stays open and silent: ends on the stop
        pass
    release.set()
    source.close()
    encoder.join()
    assert source.frames == 15 and source.ended_early == ""


def test_the_codec_is_told_by_the_first_nal_unit():
    assert detect_codec(b"\x67\x42") == "avc1"  # SPS
    assert detect_codec(b"\x09\xf0") == "avc1"  # AUD
    assert detect_codec(b"\x40\x01") == "hvc1"  # VPS
    assert detect_codec(b"\x46\x01") == "hvc1"  # AUD
    assert detect_codec(b"\x7f\x00") == "" and detect_codec(b"") == ""


def test_a_read_error_mid_stream_ends_it_early_and_says_so(tmp_path, monkeypatch):
    from firmware.ports import vendor

    path = tmp_path / "stream.h264"
    with open(path, "wb") as out:
        mux(out, "h264")
    real_read = os.read
    reads = []

    def failing_read(fd, size):
        reads.append(size)
        if len(reads) > 4:
            raise OSError(5, "Input/output error")
        return real_read(fd, size)

    monkeypatch.setattr(vendor, "READ_SIZE", 512)
    monkeypatch.setattr(vendor.os, "read", failing_read)
    source = open_input(str(path), "", 30, InputClock(), pace=False)
    items = read_all(source)
    assert 0 < len(items) < 45
    assert source.ended_early == "with a read error (Input/output error)"
