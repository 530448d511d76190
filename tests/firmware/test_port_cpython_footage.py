"""Real footage on a Linux recorder: ``firmware.ports.cpython.record`` signs fMP4 chunks.

A short video file and a WAV file play on a virtual clock (the pacing sleeps move it, so no
test waits in real time); the store's init segment and fragments, concatenated, are an MP4
that PyAV decodes with video and sound of the right codec, and each chunk's frame digests
are those of the samples in its mdat.
"""
# micropython: skip (OpenCV, PyAV, threads and named pipes are CPython-only)
# Issue 12 "CPython port" and "A vendor's hardware encoder"; R-DEV-1 (HD video and audio,
# the overlay in every frame), R-DEV-2 (every signed frame named by its digest).

import io
import os
import threading

import av
import pytest

from firmware.ports import cpython
from firmware.ports.encoder import MediaError
from firmware.store import Store, ledger_bytes
from protocol import h26x, mp4
from protocol.frames import frame_digest
from protocol.ledger import read_ledger
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.avmedia import FRAGMENTED, PipeEncoder, mux, write_video, write_wav
from tests.firmware.portclock import DEVICE, ROOM, SEED, VirtualClock


def recording(store) -> tuple:
    """(entries, [media of each chunk in ledger order]) of the store."""
    raw = ledger_bytes(str(store))
    assert verify_ledger(raw, DEVICE, make_signer(SEED).public_key()).state == OK
    entries = [x[2] for x in read_ledger(raw) if x[0] == "entry"]
    held = Store(str(store))
    try:
        from protocol.ledger import media_digest

        media = [held.read_media(media_digest(e.fields)) for e in entries if e.kind == KIND_CHUNK]
    finally:
        held.close()
    return entries, media


def play(data: bytes) -> dict:
    """What PyAV (ffmpeg) finds in an MP4: codec and decoded frame count per stream type."""
    out: dict = {}
    with av.open(io.BytesIO(data)) as container:
        kinds = {s.index: s.type for s in container.streams}
        names = {s.type: s.codec_context.name for s in container.streams}
        for frame in container.decode(*[s for s in container.streams if s.type != "subtitle"]):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            out[kind] = out.get(kind, 0) + 1
        assert kinds
    return {k: (names[k], n) for k, n in out.items()}


def check_fmp4(store, video_codec: str, pictures: int, audio: bool = True) -> list:
    entries, media = recording(store)
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    types = [e.fields[F_MEDIA_TYPE] for e in chunks]
    assert types[0] == MEDIA_MP4_INIT and set(types[1:]) == {MEDIA_MP4}
    assert chunks[0].fields[F_FRAME_HASHES] == []
    events = [e.fields.get(F_EVENT) for e in entries if e.kind != KIND_CHUNK]
    assert EV_RECORD_START in events and events[-1] == EV_RECORD_STOP
    movie = b"".join(media)
    found = play(movie)
    signed = sum(len(e.fields[F_FRAME_HASHES]) for e in chunks)
    assert found["video"] == (video_codec, signed) and signed == pictures
    if audio:
        assert found["audio"][0] == "aac" and found["audio"][1] > 0
    else:
        assert "audio" not in found
    # Each chunk names its pictures: the digests of the samples in its own mdat (R-DEV-2).
    tracks = mp4.read_init(media[0])
    video_id = next(t.track_id for t in tracks if t.handler == mp4.HANDLER_VIDEO)
    for entry, fragment in zip(chunks[1:], media[1:], strict=True):
        samples = mp4.track_samples(fragment, video_id)
        assert entry.fields[F_FRAME_HASHES] == [frame_digest(s) for s in samples]
    return tracks


@pytest.mark.parametrize("codec,name,entry", [("h264", "h264", "avc1"), ("h265", "hevc", "hvc1")])
def test_a_video_file_and_a_wav_file_record_as_signed_mp4_fragments(tmp_path, codec, name, entry):
    video, wav = tmp_path / "scene.avi", tmp_path / "voice.wav"
    write_video(video, frames=45)
    write_wav(wav, seconds=1.5, rate=16000)
    clock = VirtualClock()
    summary = cpython.record(
        str(tmp_path / "rec"), str(video), SEED, DEVICE, "P-0427", codec=codec, mic=str(wav),
        clock=clock, sleep=clock.sleep, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    assert summary["codec"] == codec and summary["frames"] + summary["frames_dropped"] == 45
    # The sound spans the pictures' 1.5 s: every sample of the WAV file is recorded, however
    # the capture threads ran (1024 samples an AAC frame).
    assert summary["audio_frames"] * 1024 >= 1.5 * 16000
    tracks = check_fmp4(tmp_path / "rec", name, summary["frames"])
    assert [t.codec for t in tracks][:2] == [entry, "mp4a"]
    assert (tracks[0].width, tracks[0].height) == (176, 144)


def hold(obj, name: str, call: int, until: threading.Event) -> None:
    """Make ``obj.name`` wait on its ``call``-th call (from 0) until ``until`` is set: the
    interleaving a loaded machine makes now and then (a thread not run for a while), made
    every time. The bound only keeps a broken recorder from hanging the test."""
    real = getattr(obj, name)
    calls = [0]

    def held(*args):
        if calls[0] == call:
            assert until.wait(60), "what the thread was held for never happened"
        calls[0] += 1
        return real(*args)

    setattr(obj, name, held)


def open_footage(tmp_path, frames: int, sound_s: float, clock) -> tuple:
    """A video file and a WAV file opened as a recording's media, with its stop event."""
    video, wav = tmp_path / "scene.avi", tmp_path / "voice.wav"
    write_video(video, frames=frames)
    write_wav(wav, seconds=sound_s, rate=16000)
    stop = threading.Event()
    opened = cpython.open_media(
        str(video), "h264", clock, mic=str(wav), sleep=clock.sleep, stop=stop
    )
    return opened, stop


def record_opened(tmp_path, opened, stop, clock) -> dict:
    return cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", opened=opened, stop=stop, clock=clock,
        sleep=clock.sleep, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip


@pytest.mark.parametrize("late", ["before its first block", "after five blocks"])
def test_a_microphone_thread_run_late_still_records_the_sound_up_to_the_last_picture(
    tmp_path, late
):
    # A loaded machine may not run the microphone thread until every picture is taken (the
    # sound was then lost: no audio at all, or only what it read before). What the
    # microphone heard until the last picture is in its file or its device's buffer, and
    # belongs in the recording (R-DEV-1).
    clock = VirtualClock()
    (media, sound), stop = open_footage(tmp_path, 45, 1.5, clock)
    assert sound is not None
    if late == "before its first block":
        hold(sound, "begin", 0, stop)
    else:
        hold(sound.mic, "read", 5, stop)
    summary = record_opened(tmp_path, (media, sound), stop, clock)
    assert summary["frames"] == 45 and summary["audio_frames_dropped"] == 0
    # The pictures span 1.5 s, and so does the sound: every one of its samples is recorded.
    assert summary["audio_frames"] * 1024 >= 24000
    check_fmp4(tmp_path / "rec", "h264", 45)


def test_sound_that_ends_before_the_pictures_keeps_its_last_samples(tmp_path):
    # The AAC encoder holds back the last samples it is given until it is flushed; a WAV
    # file shorter than the video ended the microphone thread without that flush.
    clock = VirtualClock()
    (media, sound), stop = open_footage(tmp_path, 45, 0.5, clock)
    assert sound is not None
    ended = threading.Event()
    read = sound.mic.read

    def read_and_tell():
        got = read()
        if got is None:
            ended.set()
        return got

    sound.mic.read = read_and_tell
    hold(media.opencv, "read_image", 40, ended)  # the sound ends while pictures still come
    summary = record_opened(tmp_path, (media, sound), stop, clock)
    assert summary["frames"] == 45 and summary["audio_frames_dropped"] == 0
    assert summary["audio_frames"] * 1024 >= 8000  # all of the half second of sound
    check_fmp4(tmp_path / "rec", "h264", 45)


def test_without_a_microphone_the_mp4_has_no_sound(tmp_path):
    video = tmp_path / "scene.avi"
    write_video(video, frames=20)
    clock = VirtualClock()
    summary = cpython.record(
        str(tmp_path / "rec"), str(video), SEED, DEVICE, "P-1", clock=clock, sleep=clock.sleep,
        indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    assert summary["codec"] == "h264" and summary["audio_frames"] == 0
    check_fmp4(tmp_path / "rec", "h264", summary["frames"], audio=False)


def test_mjpeg_keeps_the_raw_mode(tmp_path):
    from protocol.registry import MEDIA_MJPEG

    video = tmp_path / "scene.avi"
    write_video(video, frames=10)
    clock = VirtualClock()
    summary = cpython.record(
        str(tmp_path / "rec"), str(video), SEED, DEVICE, "P-1", codec="mjpeg", clock=clock,
        sleep=clock.sleep, indicators=cpython.Indicators(),
    )  # fmt: skip
    entries, media = recording(tmp_path / "rec")
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    assert {e.fields[F_MEDIA_TYPE] for e in chunks} == {MEDIA_MJPEG}
    assert sum(len(e.fields[F_FRAME_HASHES]) for e in chunks) == summary["frames"]
    assert media[0][:2] == b"\xff\xd8"


def test_the_recorders_wish_for_a_keyframe_makes_the_encoder_give_one_at_once(tmp_path):
    # Record start and resume need a picture that decodes alone (Recorder.wants_keyframe).
    video = tmp_path / "scene.avi"
    write_video(video, frames=20)
    clock = VirtualClock()
    media = cpython.EncodedFrames(cpython.OpenCVCamera(str(video), clock, pace=False), "h264",
                                  30, gop=100)  # fmt: skip
    keys = []
    for i in range(20):
        keys += [key for _, _, key, _, _ in media.read("2026-12-05 SC-1 P-1", i == 7) or []]
    media.close()
    assert [i for i, key in enumerate(keys) if key] == [0, 7]


class Tee:
    """The encoder's output into the pipe, and a copy of every byte for the test."""

    def __init__(self, out, copy) -> None:
        self.out = out
        self.copy = copy

    def write(self, data) -> int:
        self.copy.write(data)
        return self.out.write(data)


def samples_written(data: bytes, fmt: str) -> list:
    """The mdat samples the bytes an encoder wrote make, cut independently of the port."""
    if fmt == "mp4":
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            return [bytes(p) for p in container.demux(stream) if p.size]
    entry = "avc1" if fmt == "h264" else "hvc1"
    units = h26x.AccessUnits(entry)
    aus = units.feed(data) + units.end()
    return [h26x.to_sample(h26x.sample_nals(nals, entry)) for nals, _ in aus]


@pytest.mark.parametrize(
    "fmt,codec,options,name",
    [
        ("h264", "libx264", None, "h264"),
        ("hevc", "libx265", None, "hevc"),
        ("mp4", "libx264", FRAGMENTED, "h264"),
    ],
)
def test_a_vendor_stream_from_a_pipe_is_signed_without_re_encoding(
    tmp_path, fmt, codec, options, name
):
    fifo = str(tmp_path / "encoder.pipe")
    os.mkfifo(fifo)
    written = io.BytesIO()
    sound = fmt == "mp4"
    encoder = PipeEncoder(
        fifo, lambda out: mux(Tee(out, written), fmt, codec, options=options, audio=sound)
    )
    clock = VirtualClock()
    summary = cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", codec="", input_spec=fifo, fps=30,
        clock=clock, sleep=clock.sleep, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    encoder.join()
    assert summary["codec"] == {"h264": "h264", "hevc": "h265"}[name]
    assert "input_ended_early" not in summary and summary["frames"] == 45
    check_fmp4(tmp_path / "rec", name, 45, audio=sound)
    # Not re-encoded: the signed samples are the encoder's own bytes, in its order.
    _, media = recording(tmp_path / "rec")
    signed = [s for fragment in media[1:] for s in mp4.track_samples(fragment, 1)]
    assert signed == samples_written(written.getvalue(), fmt)


def test_a_vendor_stream_cut_mid_way_ends_the_recording_cleanly(tmp_path):
    fifo = str(tmp_path / "encoder.pipe")
    os.mkfifo(fifo)
    whole = io.BytesIO()
    mux(whole, "mp4", options=FRAGMENTED, frames=60)
    cut = len(whole.getvalue()) * 3 // 5
    encoder = PipeEncoder(fifo, lambda out: mux(out, "mp4", options=FRAGMENTED, frames=60, cut=cut))
    clock = VirtualClock()
    summary = cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", codec="", input_spec=fifo,
        clock=clock, sleep=clock.sleep, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    encoder.join()
    assert summary["input_ended_early"].startswith("inside a fragment")
    assert 0 < summary["frames"] < 60
    # The stop is signed and every picture that arrived whole is in the signed MP4.
    check_fmp4(tmp_path / "rec", "h264", summary["frames"], audio=False)


def test_unusable_media_signs_nothing(tmp_path):
    video = tmp_path / "scene.avi"
    write_video(video, frames=5)
    store = tmp_path / "rec"
    for kwargs in (
        {"mic": str(tmp_path / "missing.wav")},
        {"mic": "hw:9,0"},
        {"codec": "mjpeg", "mic": str(tmp_path / "x.wav")},
        {"codec": "vp9"},
    ):
        with pytest.raises(MediaError):
            cpython.record(str(store), str(video), SEED, DEVICE, "P-1", **kwargs)
    assert not (store / "ledger").exists() or not ledger_bytes(str(store))


def test_an_encoder_that_fails_mid_recording_ends_it_cleanly_and_says_why(tmp_path, monkeypatch):
    # Issue 12 bad input: nothing already signed is lost, the stop is signed, one line why.
    from firmware.ports.encoder import VideoEncoder

    real = VideoEncoder.encode
    calls = []

    def failing(self, image, mono_ms, keyframe=False):
        calls.append(mono_ms)
        if len(calls) > 40:
            raise MediaError("the encoder refused a frame")
        return real(self, image, mono_ms, keyframe)

    monkeypatch.setattr(VideoEncoder, "encode", failing)
    video = tmp_path / "scene.avi"
    write_video(video, frames=60)
    clock = VirtualClock()
    summary = cpython.record(
        str(tmp_path / "rec"), str(video), SEED, DEVICE, "P-1", clock=clock, sleep=clock.sleep,
        indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    assert summary["source_failed"] == "the picture source failed: the encoder refused a frame"
    assert summary["frames"] == 40
    check_fmp4(tmp_path / "rec", "h264", 40, audio=False)
