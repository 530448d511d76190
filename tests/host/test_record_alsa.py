"""`sealcam record --mic DEVICE` through a real ALSA capture device, on a machine without a
sound card: ALSA's own ``file`` plugin over its ``null`` device plays a raw PCM file as the
device's capture stream, named in an ALSA configuration that ``ALSA_CONFIG_PATH`` points at.
Everything below ALSA is the same path a body-worn camera's microphone takes: FFmpeg's
``alsa`` input (PyAV), the port's resampler, the AAC encoder, the packager, the ledger."""
# micropython: skip (runs `sealcam record` in a subprocess, with PyAV decoding the result)
# Issue 12 "CPython port": `sealcam record --camera ... --mic DEVICE`, tested end to end.

import errno
import io
import json
import os
import signal
import subprocess
import threading

import av
import numpy as np
import pytest

from firmware.store import Store, ledger_bytes, named_media
from protocol import mp4
from protocol.keys import decode_key
from protocol.ledger import read_ledger
from protocol.registry import (
    EV_RECORD_STOP,
    F_EVENT,
    F_MEDIA_TYPE,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
)
from protocol.verify import verify_ledger
from tests.firmware.avmedia import write_video
from tests.host.helpers import SEALCAM

LIMIT_S = 600  # a generous bound on one recording, never a deadline the test races
RATE = 48000  # what the port asks a sound device for
TONE_HZ = 440

pytestmark = pytest.mark.skipif(
    "alsa" not in av.formats_available, reason="this PyAV has no ALSA input"
)


def entries(store) -> list:
    raw = ledger_bytes(str(store))
    key = decode_key((store / "device.pub").read_bytes())
    assert verify_ledger(raw, key.device_id, key.public).state == "OK"
    return [x[2] for x in read_ledger(raw) if x[0] == "entry"]


def alsa_config(tmp_path, raw=None) -> str:
    """An ALSA configuration with one capture device, ``sealmic``, whose samples are a
    440 Hz tone read from a file (or from ``raw``, a named pipe, say); returns the
    configuration's path."""
    if raw is None:
        tone = np.sin(np.arange(RATE * 20) * 2 * np.pi * TONE_HZ / RATE) * 8000
        raw = tmp_path / "tone.raw"  # 20 s of signed 16-bit mono, more than any test reads
        raw.write_bytes(tone.astype("<i2").tobytes())
    conf = tmp_path / "asound.conf"
    conf.write_text(
        "pcm.sealmic {\n"
        "    type file\n"
        '    slave.pcm "null"\n'
        '    file "/dev/null"\n'  # what would be played back goes nowhere
        '    infile "%s"\n'  # what is captured comes from here
        '    format "raw"\n'
        "}\n"
        "pcm.null { type null }\n" % raw
    )
    return str(conf)


def record(tmp_path, mic: str, conf: str, *more: str) -> subprocess.CompletedProcess:
    video = tmp_path / "scene.avi"
    write_video(video, frames=90)  # 3 s of pictures: thousands of samples even under load
    env = dict(os.environ, ALSA_CONFIG_PATH=conf)
    return subprocess.run(
        [*SEALCAM, "record", "--camera", str(video), "--mic", mic, "--store",
         str(tmp_path / "rec"), "--device-id", "SC-0007", "--officer", "P-1", "--json", *more],
        capture_output=True, timeout=LIMIT_S, check=False, env=env,
    )  # fmt: skip


def test_an_alsa_capture_device_is_recorded_as_the_sound(tmp_path):
    r = record(tmp_path, "sealmic", alsa_config(tmp_path))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["ledger_state"] == "OK" and summary["audio_frames"] > 0
    store = tmp_path / "rec"
    chunks = [e for e in entries(store) if e.kind == KIND_CHUNK]
    kinds = [e.fields[F_MEDIA_TYPE] for e in chunks]
    assert kinds[0] == MEDIA_MP4_INIT and set(kinds[1:]) == {MEDIA_MP4}
    media = Store(str(store))
    footage = b"".join(media.read_media(named_media(e)[0]) for e in chunks)
    tracks = mp4.read_init(footage)
    assert [t.handler for t in tracks] == ["vide", "soun", "sbtl"]
    assert tracks[1].sample_rate == RATE and tracks[1].channels == 1
    # PyAV (FFmpeg) decodes the signed AAC; its strongest frequency is the device's tone.
    with av.open(io.BytesIO(footage)) as container:
        pcm = np.concatenate(
            [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
        ).astype(float)
    assert len(pcm) >= 1024
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    peak_hz = np.argmax(spectrum) * RATE / len(pcm)
    assert abs(peak_hz - TONE_HZ) < 30, peak_hz


def test_an_alsa_device_the_configuration_does_not_name_is_one_line_exit_2(tmp_path):
    r = record(tmp_path, "nosuchmic", alsa_config(tmp_path))
    assert r.returncode == 2
    text = r.stderr.decode()
    assert text.count("\n") == 1 and "Traceback" not in text
    assert "cannot open the sound device 'nosuchmic'" in text
    assert not ledger_bytes(str(tmp_path / "rec"))  # nothing signed


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_sound_device_that_stops_answering_does_not_keep_the_recording_from_its_stop(
    tmp_path, lang
):
    # R-DEV-9: the sound device's samples come from a named pipe; after a tenth of a second
    # of them nothing more comes, and the pipe stays open, so ALSA's read waits for ever (a
    # driver that stopped answering). The recording still stops when the pictures end, for a
    # fault it names: its record-stop is signed, the summary says the microphone stopped
    # answering, exit 1. (Before, the stop waited on that read for ever.)
    pipe = tmp_path / "mic.pipe"
    os.mkfifo(pipe)
    recorded = threading.Event()

    def device() -> None:
        with open(pipe, "wb") as out:  # opened once ALSA opens the other end
            out.write(bytes(2 * RATE // 10))
            out.flush()
            recorded.wait(LIMIT_S)  # silent, but open, until the recorder has ended

    thread = threading.Thread(target=device, daemon=True)
    thread.start()
    try:
        # Given up on after half a second of silence, not the default's seconds: the test
        # waits no longer than it must (the device stays silent however long it waits).
        r = record(
            tmp_path, "sealmic", alsa_config(tmp_path, pipe), "--mic-wait", "0.5", "--lang", lang
        )
    finally:
        recorded.set()
        thread.join(LIMIT_S)
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    # The line is in the reader's language throughout, the microphone's part too.
    if lang == "zh":
        assert "麦克风不再响应" in lines[0] and "0.5 秒" in lines[0], lines[0]
        assert "microphone" not in lines[0]
    else:
        assert "the microphone stopped answering: nothing from it for 0.5 s" in lines[0]
    summary = json.loads(r.stdout)
    assert summary["ledger_state"] == "OK" and summary["frames"] == 90
    events = [e.fields[F_EVENT] for e in entries(tmp_path / "rec") if e.kind == KIND_EVENT]
    assert events[-1] == EV_RECORD_STOP


def test_a_sound_device_whose_read_fails_is_a_failure_not_the_sound_s_end(tmp_path, monkeypatch):
    # R-DEV-9: ALSA's capture read gives up with EIO when the driver has given nothing for
    # 10 s; that is the sound cut, which the recording must name (exit 1), not the end of a
    # file, after which the pictures go on without a word. The device is real; its next
    # read is made to fail as the kernel's timeout makes FFmpeg's fail.
    from av.error import err_check

    from firmware.ports.cpython import SystemClock
    from firmware.ports.encoder import DeviceMicrophone, MediaError

    monkeypatch.setenv("ALSA_CONFIG_PATH", alsa_config(tmp_path))
    mic = DeviceMicrophone("sealmic", SystemClock())
    try:
        assert mic.read() is not None

        def timed_out():
            err_check(-errno.EIO)
            yield

        mic._frames = timed_out()
        with pytest.raises(MediaError) as caught:
            mic.read()
        assert caught.value.msg_id == "record.media.sound_read"
        assert "the sound device stopped giving sound" in str(caught.value)
        mic._frames = iter(())  # a real end is still None
        assert mic.read() is None
    finally:
        mic.close()


def test_the_wait_on_a_silent_microphone_is_said_and_ctrl_c_ends_it(tmp_path):
    # R-DEV-9: the pictures end, the microphone gives nothing more and is waited for: the
    # terminal says so, and ^C ends the wait at once (not after the minute it would wait);
    # the stop is signed and the sound's cut is named, exit 1. (Before, the wait was silent
    # and ^C did nothing.)
    pipe = tmp_path / "mic.pipe"
    os.mkfifo(pipe)
    recorded = threading.Event()

    def device() -> None:
        with open(pipe, "wb") as out:
            out.write(bytes(2 * RATE // 10))
            out.flush()
            recorded.wait(LIMIT_S)

    thread = threading.Thread(target=device, daemon=True)
    thread.start()
    video = tmp_path / "scene.avi"
    write_video(video, frames=90)
    env = dict(os.environ, ALSA_CONFIG_PATH=alsa_config(tmp_path, pipe))
    proc = subprocess.Popen(
        [*SEALCAM, "record", "--camera", str(video), "--mic", "sealmic", "--store",
         str(tmp_path / "rec"), "--device-id", "SC-0007", "--officer", "P-1",
         "--mic-wait", "60", "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        said = []
        assert proc.stdout is not None
        for line in proc.stdout:  # until the wait is said (or the end, if it never is)
            said.append(line.decode())
            if "waiting for the microphone" in said[-1]:
                proc.send_signal(signal.SIGINT)
                break
        _, err = proc.communicate(timeout=LIMIT_S)
    finally:
        recorded.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        thread.join(LIMIT_S)
    assert any("waiting for the microphone's last sound, 60 s at most" in x for x in said), said
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, err
    assert "the microphone's last sound was not waited for (^C)" in lines[0]
    events = [e.fields[F_EVENT] for e in entries(tmp_path / "rec") if e.kind == KIND_EVENT]
    assert events[-1] == EV_RECORD_STOP
