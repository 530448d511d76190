"""The video's parameter sets: learnt by the thread that packages, and never changed mid-way.

Our own encoder shows its SPS/PPS (and VPS) with its first picture, which the capture thread
reads; the packager that turns pictures into the init segment and fragments belongs to the
main thread. A vendor's encoder may send other parameter sets mid-stream (a new resolution
or profile); the samples are stored without them (they live in the signed init segment),
so a picture after them cannot decode with the init segment that was signed.
"""
# micropython: skip (PyAV, OpenCV and threads are CPython-only)
# Issue 12 "A vendor's hardware encoder" (R-DEV-2: every signed picture decodes as it was
# encoded, named by its digest).

import io
import threading

import av
import pytest

import firmware.packager
from firmware.packager import Fmp4Packager, video_track
from firmware.ports import cpython
from firmware.ports.cpython import PictureQueue
from firmware.ports.vendor import open_input
from firmware.store import Store, ledger_bytes
from protocol import h26x, mp4
from protocol.ledger import media_digest, read_ledger
from protocol.registry import EV_RECORD_STOP, F_EVENT, F_FRAME_HASHES, KIND_CHUNK
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.avmedia import FRAGMENTED, encode, mux, write_video
from tests.firmware.helpers import InputClock, packaged, read_all

CODECS = [("h264", "libx264"), ("hevc", "libx265")]


SEED = bytes(range(32))
DEVICE = "SC-0042"
ROOM = 128  # room for every picture: the counts are exact (drops are the run loop's tests)


def decoded(track, items) -> list:
    """The items packaged as the device does (one init segment, fragments of 15 pictures)
    and decoded by PyAV: each picture's RGB bytes."""
    with av.open(io.BytesIO(packaged(track, items))) as container:
        return [f.to_ndarray(format="rgb24").tobytes() for f in container.decode(video=0)]


def signed_pictures(store) -> tuple:
    """(pictures the store's chunks sign, pictures PyAV decodes from them); the ledger must
    verify, and end with the stop event."""
    raw = ledger_bytes(str(store))
    assert verify_ledger(raw, DEVICE, make_signer(SEED).public_key()).state == OK
    entries = [x[2] for x in read_ledger(raw) if x[0] == "entry"]
    assert entries[-1].fields.get(F_EVENT) == EV_RECORD_STOP
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    held = Store(str(store))
    try:
        movie = b"".join(held.read_media(media_digest(e.fields)) for e in chunks)
    finally:
        held.close()
    with av.open(io.BytesIO(movie)) as container:
        shown = len(list(container.decode(video=0)))
    return sum(len(e.fields[F_FRAME_HASHES]) for e in chunks), shown


@pytest.mark.parametrize("fmt,codec", CODECS)
def test_new_parameter_sets_mid_stream_end_it_with_every_picture_before_them(tmp_path, fmt, codec):
    # The encoder is restarted at a new resolution: its SPS/PPS (VPS) change at the second
    # stream's IDR. Before, all 45 pictures were handed out for the first stream's init
    # segment, and the last 15 decoded as garbage of the first picture size.
    first = io.BytesIO()
    mux(first, fmt, codec, frames=30)
    path = tmp_path / "vendor.bin"
    path.write_bytes(first.getvalue() + encode(fmt, codec, (320, 192), 15))
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    assert len(items) == 30  # the first stream, every picture of it, and nothing after
    assert source.params_changed and source.ended_early == ""
    pictures = decoded(source.track, items)
    assert len(pictures) == 30 and {len(p) for p in pictures} == {160 * 96 * 3}


@pytest.mark.parametrize("fmt,codec", CODECS)
def test_the_same_parameter_sets_before_every_idr_go_on(tmp_path, fmt, codec):
    # Two runs of the same encoder settings: the second's parameter sets are the first's,
    # byte for byte, as an encoder repeats them before every IDR. Nothing ends.
    data = encode(fmt, codec, (160, 96), 15)
    path = tmp_path / "vendor.bin"
    path.write_bytes(data + data)
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    assert len(items) == 30 and not source.params_changed and source.ended_early == ""


def test_an_mp4_with_its_parameter_sets_also_in_band_goes_on(tmp_path):
    # x264's repeat-headers writes the SPS/PPS into every keyframe besides the avcC: the same
    # bytes, so the recording goes on to the end.
    path = tmp_path / "vendor.mp4"
    path.write_bytes(encode("mp4", "libx264", (160, 96), 30, FRAGMENTED))
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    assert len(read_all(source)) == 30 and not source.params_changed


def test_a_recording_whose_encoder_changes_its_parameter_sets_is_signed_up_to_there(tmp_path):
    first = io.BytesIO()
    mux(first, "h264", frames=30)
    path = tmp_path / "vendor.h264"
    path.write_bytes(first.getvalue() + encode("h264", "libx264", (320, 192), 15))
    summary = cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", codec="", input_spec=str(path),
        fps=30, pace=False, indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    # The CLI says so and exits 1 (tests/host/test_record_params.py); the stop is signed, and every
    # signed picture decodes with the signed init segment.
    assert (
        summary["parameter_sets_changed"]
        and "input_ended_early" not in summary
        and summary["frames"] == 30
    )
    assert signed_pictures(tmp_path / "rec") == (30, 30)


SEEN: list = []  # (method, thread) of every call to the packager of the recording


class ThreadsSeen(Fmp4Packager):
    """The real packager, noting which thread calls each of its methods."""

    def __getattribute__(self, name: str):
        if name in ("ready", "set_video", "begin", "init_segment", "fragment", "tracks"):
            SEEN.append((name, threading.current_thread().name))
        return super().__getattribute__(name)


def test_the_packager_is_only_touched_by_the_thread_that_signs(tmp_path, monkeypatch):
    # Before, the capture thread gave the packager our own encoder's track (set_video) while
    # the main thread could be making the init segment from the same packager.
    SEEN.clear()
    monkeypatch.setattr(firmware.packager, "Fmp4Packager", ThreadsSeen)
    video = tmp_path / "scene.avi"
    write_video(video, frames=20)
    summary = cpython.record(
        str(tmp_path / "rec"), str(video), SEED, DEVICE, "P-1", pace=False,
        indicators=cpython.Indicators(), queue_frames=ROOM,
    )  # fmt: skip
    assert summary["frames"] == 20 and signed_pictures(tmp_path / "rec") == (20, 20)
    calls = list(SEEN)
    assert [c for c in calls if c[0] == "set_video"] == [("set_video", "MainThread")]
    assert {thread for _name, thread in calls} == {"MainThread"}


def test_a_new_track_reaches_the_packager_with_the_first_picture_of_it():
    # The capture side queues pictures of track a, then of track b; held there, the main
    # thread takes them one by one: the packager has each track exactly from its first
    # picture on, whatever the capture side has read meanwhile.
    a = video_track("jpeg", b"", 160, 96)
    b = video_track("jpeg", b"", 320, 192)
    packager = Fmp4Packager(None, None)
    queue = PictureQueue(8, threading.Lock(), packager, None)
    queued = threading.Event()

    def capture() -> None:
        for track in (a, a, b, b):
            queue.put((b"x", True, 0, 0, 0, track), 0)
        queued.set()

    thread = threading.Thread(target=capture)
    thread.start()
    assert queued.wait(60)  # a bound on a thread that cannot block, not a timing
    thread.join()
    assert packager.video is None  # nothing is learnt before the main thread takes it
    had = []
    while queue.get() is not None:
        had.append(packager.video)
    assert had == [a, a, b, b]
    # Once a recording's init segment is made, a new track waits for the next recording.
    packager.begin(0)
    packager.init_segment()
    queue.put((b"x", True, 0, 0, 0, a), 0)
    queue.get()
    assert packager.video is b
    packager.begin(0)
    assert packager.video is a


def test_an_mp4_whose_in_band_parameter_sets_change_ends_at_the_change(tmp_path):
    # The second keyframe's in-band SPS says another level (same length, so every box and
    # NAL length still fits): the pictures from there on were not made for the avcC.
    data = encode("mp4", "libx264", (160, 96), 45, FRAGMENTED)
    config = mp4.read_init(data[: data.find(b"moof") - 4])[0].config
    sps = config[8 : 8 + int.from_bytes(config[6:8], "big")]  # avcC: the first SPS
    assert h26x.is_parameter_set(sps, "avc1")
    at = [i for i in range(len(data)) if data.startswith(sps, i)]
    assert len(at) == 4  # the avcC, and before each of the three IDRs
    changed = sps[:3] + bytes([sps[3] ^ 1]) + sps[4:]
    path = tmp_path / "vendor.mp4"
    path.write_bytes(data[: at[2]] + changed + data[at[2] + len(sps) :])
    clock = InputClock()
    source = open_input(str(path), "", 30, clock, pace=False, sleep=clock.sleep)
    items = read_all(source)
    assert len(items) == 15 and source.params_changed
