"""`sealcam record` with real footage: the codec, microphone and vendor-input flags.

The command runs as its own process; a vendor's encoder is this test process writing the
stream into its standard input. Each bad input is one line on stderr and the right exit
code, and leaves nothing signed behind it or loses nothing already signed.
"""
# micropython: skip (runs `sealcam record` in a subprocess, with PyAV making the streams)
# Issue 12 "CPython port", "A vendor's hardware encoder" and its bad-input list.

import io
import json
import subprocess

import pytest

from firmware.store import ledger_bytes
from protocol.keys import decode_key
from protocol.ledger import read_ledger
from protocol.registry import EV_RECORD_STOP, F_EVENT, F_MEDIA_TYPE, KIND_CHUNK, MEDIA_MP4
from protocol.verify import verify_ledger
from tests.firmware.avmedia import FRAGMENTED, mux, write_video, write_wav
from tests.host.helpers import SEALCAM

LIMIT_S = 600  # a generous bound on one recording, never a deadline the test races


def sealcam(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SEALCAM, *args], input=stdin, capture_output=True, timeout=LIMIT_S, check=False
    )


def entries(store) -> list:
    raw = ledger_bytes(str(store))
    key = decode_key((store / "device.pub").read_bytes())
    assert verify_ledger(raw, key.device_id, key.public).state == "OK"
    return [x[2] for x in read_ledger(raw) if x[0] == "entry"]


def one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert text.count("\n") == 1 and "Traceback" not in text, text
    return text


@pytest.fixture(scope="module")
def annexb():
    out = io.BytesIO()
    mux(out, "h264", frames=30)
    return out.getvalue()


def test_record_a_camera_file_with_a_wav_microphone(tmp_path):
    video, wav = tmp_path / "scene.avi", tmp_path / "voice.wav"
    write_video(video, frames=12)
    write_wav(wav, seconds=0.4, rate=16000)
    store = tmp_path / "rec"
    r = sealcam("record", "--camera", str(video), "--mic", str(wav), "--store", str(store),
                "--device-id", "SC-0007", "--officer", "P-1", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["codec"] == "h264" and summary["ledger_state"] == "OK"
    assert summary["frames"] + summary["frames_dropped"] == 12 and summary["audio_frames"] > 0
    chunks = [e for e in entries(store) if e.kind == KIND_CHUNK]
    assert chunks[-1].fields[F_MEDIA_TYPE] == MEDIA_MP4


def test_a_vendor_stream_on_standard_input_is_recorded_and_summarised(tmp_path, annexb):
    store = tmp_path / "rec"
    r = sealcam("record", "--input", "-", "--fps", "30", "--store", str(store),
                "--device-id", "SC-0007", stdin=annexb)  # fmt: skip
    assert r.returncode == 0, r.stderr
    line = r.stdout.decode().strip().splitlines()[-1]
    assert line.startswith("recorded 30 h264 frames and no sound into ") and "ledger OK" in line
    assert entries(store)[-1].fields[F_EVENT] == EV_RECORD_STOP


def test_a_stream_cut_mid_way_keeps_everything_signed_and_exits_1(tmp_path):
    whole = io.BytesIO()
    mux(whole, "mp4", frames=60, options=FRAGMENTED)
    cut = whole.getvalue()[: len(whole.getvalue()) * 3 // 5]
    store = tmp_path / "rec"
    r = sealcam("record", "--input", "-", "--store", str(store), "--device-id", "SC-0007",
                "--json", stdin=cut)  # fmt: skip
    assert r.returncode == 1
    text = one_line(r.stderr)
    assert "the input ended inside a fragment after" in text
    assert "everything before it is signed" in text
    summary = json.loads(r.stdout)
    assert summary["ledger_state"] == "OK" and 0 < summary["frames"] < 60
    signed = entries(store)
    assert signed[-1].fields[F_EVENT] == EV_RECORD_STOP  # stopped cleanly, stop signed


@pytest.mark.parametrize(
    "stdin,says",
    [
        (bytes(range(256)) * 64, "is not an H.264/H.265 elementary stream (Annex B) or an MP4"),
        (b"", "standard input is empty: the encoder wrote nothing"),
    ],
)
def test_a_stream_that_is_not_video_is_one_line_exit_2_and_signs_nothing(tmp_path, stdin, says):
    store = tmp_path / "rec"
    r = sealcam("record", "--input", "-", "--store", str(store), "--device-id", "SC-0007",
                stdin=stdin)  # fmt: skip
    assert r.returncode == 2
    assert says in one_line(r.stderr)
    assert not ledger_bytes(str(store))  # nothing signed: the store holds only its key


@pytest.mark.parametrize(
    "mic,says",
    [
        ("{tmp}/missing.wav", "no sound file"),
        ("hw:9,0", "cannot open the sound device 'hw:9,0'"),
    ],
)
def test_a_missing_microphone_is_one_line_exit_2_and_signs_nothing(tmp_path, mic, says):
    video = tmp_path / "scene.avi"
    write_video(video, frames=3)
    store = tmp_path / "rec"
    r = sealcam("record", "--camera", str(video), "--mic", mic.format(tmp=tmp_path),
                "--store", str(store), "--device-id", "SC-0007")  # fmt: skip
    assert r.returncode == 2
    assert says in one_line(r.stderr)  # one line: none of ALSA's own complaints
    assert not ledger_bytes(str(store))


def test_a_microphone_with_motion_jpeg_is_refused(tmp_path):
    video, wav = tmp_path / "scene.avi", tmp_path / "voice.wav"
    write_video(video, frames=3)
    write_wav(wav, seconds=0.1)
    r = sealcam("record", "--camera", str(video), "--codec", "mjpeg", "--mic", str(wav),
                "--store", str(tmp_path / "rec"), "--device-id", "SC-0007")  # fmt: skip
    assert r.returncode == 2 and "records no sound" in one_line(r.stderr)


def test_the_help_teaches_the_new_sources():
    r = sealcam("record", "--help")
    text = r.stdout.decode()
    assert r.returncode == 0
    for words in ("--codec", "--mic", "--input", "--fps", "Annex B", "exit codes",
                  "vendor-encoder.md", "mjpeg"):  # fmt: skip
        assert words in text, words
    r = sealcam("record", "--store", "x")
    assert r.returncode == 2 and b"one of the arguments --camera --input is required" in r.stderr


def test_a_terminal_on_standard_input_is_not_waited_on(tmp_path):
    # `--input -` typed without a pipe would wait for ever on the keyboard: say what to do.
    import os
    import pty

    master, terminal = pty.openpty()
    try:
        r = subprocess.run(
            [*SEALCAM, "record", "--input", "-", "--store", str(tmp_path / "rec"),
             "--device-id", "SC-0007"],
            stdin=terminal, capture_output=True, timeout=LIMIT_S, check=False,
        )  # fmt: skip
    finally:
        os.close(master)
        os.close(terminal)
    assert r.returncode == 2 and "standard input is a terminal" in one_line(r.stderr)
