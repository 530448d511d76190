"""``sealcam record`` as the officer works it (issue 17): keys from a real pseudo-terminal or a
script, pre-record before the record key, the announcement confirmed by the officer, a pause
with its reason and a resume, a status line a person reads, and refused runs that leave
nothing behind."""
# micropython: skip (runs the command line on a pseudo-terminal)

import os
import pty
import select
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from firmware.store import ledger_bytes
from protocol.ledger import read_ledger
from protocol.registry import (
    EV_ANNOUNCEMENT,
    EV_MARK_IMPORTANT,
    EV_NARRATION,
    EV_NO_RECORD,
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    F_DETAIL,
    F_EVENT,
    F_REASON,
    F_SPOKEN,
    KIND_EVENT,
    NO_RECORD_SECRECY,
    PAUSE_PLACE_CHANGE,
)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_LIMIT_S = 120.0  # a generous bound on each wait for the recorder's output
LIVE_FPS = 30
LIVE_FRAMES_BOUND = LIVE_FPS * 900  # a bound on the live camera's loop, never reached


def write_video(path: Path, frames: int) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 96))
    for i in range(frames):
        img = np.full((96, 160, 3), 60, np.uint8)
        img[:, (i * 3) % 140 : (i * 3) % 140 + 20] = 230
        w.write(img)
    w.release()


class LiveCamera:
    """A camera that never runs out: a thread plays a vendor's live encoder, H.264 pictures
    at 30 a second into a named pipe (``--input``), until the recorder closes its end.

    The tests wait on what the recorder shows and on its exit, so however slowly the
    machine runs them, the pictures are still coming when the last key is pressed (a clip
    of fixed length could end first)."""

    def __init__(self, path: Path) -> None:
        from tests.firmware.avmedia import PipeEncoder

        self.path = path
        os.mkfifo(self.path)
        self.stop = threading.Event()
        self.encoder = PipeEncoder(self.path, self._play)

    def _play(self, out) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
        ctx.width, ctx.height, ctx.pix_fmt = 160, 96, "yuv420p"
        ctx.time_base = Fraction(1, LIVE_FPS)
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "keyint=15"}
        for i in range(LIVE_FRAMES_BOUND):
            if self.stop.is_set():
                return
            img = np.full((96, 160, 3), 60, np.uint8)
            img[:, (i * 3) % 140 : (i * 3) % 140 + 20] = 230
            frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            frame.pts = i
            for packet in ctx.encode(frame):
                out.write(bytes(packet))
            out.flush()
            # A live encoder's pace (pictures come as they are taken); not a deadline.
            self.stop.wait(1 / LIVE_FPS)

    def close(self) -> None:
        self.stop.set()
        self.encoder.join()


class LiveMicrophone:
    """A microphone that never runs out, as LiveCamera is for pictures: a thread plays a
    16-bit WAV stream (a 440 Hz tone) into a named pipe that ``--mic`` reads, until the
    recorder closes its end. Its header names more sound than the loop's bound will ever
    write, so the recorder reads it as a WAV file that is still being said; the tests wait
    on the recorder, never on the sound's length."""

    RATE = 16000
    BLOCK = RATE // 10  # samples a write: 100 ms

    def __init__(self, path: Path, silent: bool = False) -> None:
        from tests.firmware.avmedia import PipeEncoder

        self.path = path
        self.silent = silent  # a microphone that hears nothing
        os.mkfifo(self.path)
        self.stop = threading.Event()
        self.encoder = PipeEncoder(self.path, self._play)

    def _play(self, out) -> None:
        import struct

        size = 0x7FFF0000  # bytes of sound the header promises: over 18 hours
        out.write(
            b"RIFF" + struct.pack("<I", size + 36) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, self.RATE, 2 * self.RATE, 2, 16)
            + b"data" + struct.pack("<I", size)
        )  # fmt: skip
        n = np.arange(self.BLOCK)
        tone = (np.sin(n * 2 * np.pi * 440 / self.RATE) * 9000).astype("<i2").tobytes()
        if self.silent:
            tone = bytes(len(tone))
        for _ in range(LIVE_FRAMES_BOUND):  # bounded like the camera, never reached
            if self.stop.is_set():
                return
            out.write(tone)  # a full pipe blocks here: the recorder sets the pace
            out.flush()

    def close(self) -> None:
        self.stop.set()
        self.encoder.join()


@pytest.fixture
def live_microphone(tmp_path):
    """Makes a live microphone (a WAV stream on a named pipe), closed at the end."""
    made: list = []

    def make(silent: bool = False) -> str:
        made.append(LiveMicrophone(tmp_path / ("microphone%d.wav" % len(made)), silent))
        return str(made[-1].path)

    yield make
    for microphone in made:
        microphone.close()


@pytest.fixture
def live_camera(tmp_path):
    """Makes a live camera (one recording reads each), every one closed at the end."""
    made: list = []

    def make() -> str:
        made.append(LiveCamera(tmp_path / ("camera%d.h264" % len(made))))
        return str(made[-1].path)

    yield make
    for camera in made:
        camera.close()


def events(store: Path) -> list:
    entries = [x[2] for x in read_ledger(ledger_bytes(str(store))) if x[0] == "entry"]
    return [e.fields for e in entries if e.kind == KIND_EVENT]


def codes(store: Path) -> list:
    return [f[F_EVENT] for f in events(store)]


def env(lang: str) -> dict:
    out = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    out["LANG"] = lang
    out["PYTHONPATH"] = str(ROOT)
    return out


def _take_terminal() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Pty:
    """``sealcam record`` with a pseudo-terminal as its standard input and output.

    Its standard error is a pipe that a thread reads as it comes (``errors``): a pipe nobody
    reads holds 64 KiB, and a recorder that wrote more there (ALSA's or FFmpeg's complaints,
    a long traceback) would block in that write for ever, never showing what ``expect``
    waits for."""

    def __init__(self, args: list, lang: str, program: "list | None" = None) -> None:
        self.master, slave = pty.openpty()
        self.slave_name = os.ttyname(slave)
        self.proc = subprocess.Popen(
            [*(program or [sys.executable, "-m", "host.cli"]), *args],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            env=env(lang),
            cwd=ROOT,
            # The terminal is the recorder's controlling terminal, as in a login: ^C typed
            # on it is then SIGINT to the recorder (without this, the line discipline has
            # no process to send it to, and ^C is lost).
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.seen = b""
        self._errors: list = []
        self._reader = threading.Thread(target=self._read_errors, daemon=True)
        self._reader.start()

    def _read_errors(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        for block in iter(lambda: stream.read1(1 << 16), b""):  # until the process closes it
            self._errors.append(block)

    @property
    def errors(self) -> str:
        """What the process wrote on its standard error so far."""
        return b"".join(self._errors).decode("utf-8", "replace")

    def expect(self, text: str) -> None:
        """Read until ``text`` has been shown (bounded: the recorder ended, or the limit)."""
        want = text.encode()
        end = time.monotonic() + OUTPUT_LIMIT_S
        while want not in self.seen:
            left = end - time.monotonic()
            assert left > 0, "never shown: %r\n%s" % (text, self.seen.decode(errors="replace"))
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # the recorder has ended and closed the terminal
                    data = b""
                shown = self.seen.decode("utf-8", "replace")
                assert data, "ended before showing %r:\n%s" % (text, shown)
                self.seen += data

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self) -> int:
        try:
            code = self.proc.wait(timeout=OUTPUT_LIMIT_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)
            # The process has ended, so its end of the pipe is closed (a child it left behind
            # could hold it: the bound keeps the test from waiting on that).
            self._reader.join(OUTPUT_LIMIT_S)
            if self.proc.stderr is not None and not self._reader.is_alive():
                self.proc.stderr.close()
        return code


def test_the_terminal_reads_standard_error_as_it_comes():
    # R-DEV-16, the harness its terminal tests stand on: a process that writes more than a
    # pipe holds (64 KiB) on its standard error before it
    # shows anything on the terminal: with that pipe unread its write would block for ever,
    # and expect() would fail with "never shown" once its limit had passed.
    child = "import sys; sys.stderr.write('x' * (1 << 20)); sys.stderr.flush(); print('written')"
    t = Pty(["-c", child], "C.UTF-8", program=[sys.executable])
    try:
        t.expect("written")
    finally:
        code = t.finish()
    assert code == 0 and t.errors == "x" * (1 << 20)


@pytest.mark.parametrize("lang", ["en_US.UTF-8", "zh_CN.UTF-8"])
def test_the_officer_works_the_recorder_from_a_terminal(tmp_path, lang, live_camera):
    # issue 17, R-DEV-15; the camera never runs out: q ends the recording
    store = tmp_path / "store"
    zh = lang.startswith("zh")
    words = {
        "keys": "按键说明" if zh else "Keys:",
        "pre": "[预录中]" if zh else "[pre-record]",
        "started": "开始录像" if zh else "recording started",
        "announce": "宣读完毕按 a" if zh else "then press a",
        "paused": "[已暂停]" if zh else "[PAUSED]",
        "reason": "说完按 d" if zh else "press d when done",
        "stopped": "停止录像" if zh else "recording stopped",
    }
    t = Pty(["record", "--input", live_camera(), "--store", str(store),
             "--device-id", "SC-0017", "--officer", "P-0427"], lang)  # fmt: skip
    try:
        t.expect(words["keys"])  # the keys are documented on screen
        t.expect(words["pre"])  # frames are buffered before the record key
        t.press("r")
        t.expect(words["announce"])  # the announcement is asked for, not assumed
        t.press("a")
        t.expect("n" if not zh else "口述完毕按 n")
        t.press("nm")
        t.press("p%d" % PAUSE_PLACE_CHANGE)
        t.expect(words["paused"])
        t.press("c")
        t.expect(words["reason"])
        t.press("d")
        t.press("s")
        t.expect(words["stopped"])
        t.press("q")
        assert t.finish() == 0, t.errors
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()
    shown = t.seen.decode("utf-8")
    assert "'state':" not in shown and "'battery_percent':" not in shown  # not a dict
    fields = events(store)
    got = [f[F_EVENT] for f in fields]
    order = [EV_RECORD_START, EV_ANNOUNCEMENT, EV_NARRATION, EV_MARK_IMPORTANT, EV_PAUSE,
             EV_RESUME, EV_RECORD_STOP]  # fmt: skip
    assert [c for c in got if c in order] == order
    start = next(f for f in fields if f[F_EVENT] == EV_RECORD_START)
    assert start[F_DETAIL]["pre_frames"] > 0  # R-DEV-15: the pre-record went in
    pause = next(f for f in fields if f[F_EVENT] == EV_PAUSE)
    assert pause[F_REASON] == PAUSE_PLACE_CHANGE


def test_ctrl_c_on_the_terminal_stops_a_signed_recording_and_gives_the_terminal_back(
    tmp_path, live_camera
):
    import termios

    store = tmp_path / "store"
    t = Pty(["record", "--input", live_camera(), "--store", str(store),
             "--device-id", "SC-0022"], "C.UTF-8")  # fmt: skip
    try:
        t.expect("[pre-record]")
        t.press("r")
        t.expect("recording started")
        t.press("\x03")  # ^C from the keyboard: the terminal sends SIGINT
        t.expect("ledger OK")
        assert t.proc.wait(timeout=OUTPUT_LIMIT_S) == 0
        # The keys were read in cbreak mode, without echo; the terminal has them back.
        fd = os.open(t.slave_name, os.O_RDWR | os.O_NOCTTY)
        try:
            lflag = termios.tcgetattr(fd)[3]
        finally:
            os.close(fd)
        assert lflag & termios.ECHO and lflag & termios.ICANON
    finally:
        t.finish()
    got = codes(store)
    assert got.index(EV_RECORD_START) < got.index(EV_RECORD_STOP)


def run_record(args: list, lang: str = "C.UTF-8", stdin: "bytes | None" = None):
    return subprocess.run(
        [sys.executable, "-m", "host.cli", "record", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=env(lang),
        cwd=ROOT,
        timeout=OUTPUT_LIMIT_S,
    )


def test_a_key_script_works_the_recorder_and_a_no_record_work_record(tmp_path, live_camera):
    # issue 17
    store = tmp_path / "store"
    script = tmp_path / "keys.txt"
    script.write_text("w%d\ntype 当事人住宅内 #2\nwait 0.4\nr\na\nm\ns\nq\n" % NO_RECORD_SECRECY)
    common = ["--store", str(store), "--device-id", "SC-0018"]
    r = run_record(["--input", live_camera(), *common, "--keys", str(script)])
    assert r.returncode == 0, r.stderr
    fields = events(store)
    work = [f for f in fields if f[F_EVENT] == EV_NO_RECORD]
    assert [(f[F_REASON], f[F_DETAIL]["note"]) for f in work] == [
        (NO_RECORD_SECRECY, "当事人住宅内 #2")
    ]
    got = [f[F_EVENT] for f in fields]
    want = [EV_NO_RECORD, EV_RECORD_START, EV_ANNOUNCEMENT, EV_MARK_IMPORTANT, EV_RECORD_STOP]
    assert [c for c in got if c in want] == want
    # The same from standard input, in Chinese.
    r = run_record(["--input", live_camera(), *common, "--keys", "-"], "zh_CN.UTF-8", b"r\nq\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "开始录像" in out and "签名日志校验通过" in out


def test_the_reason_for_a_pause_is_recorded_from_the_microphone(
    tmp_path, live_camera, live_microphone
):
    # R-DEV-9; issue 17: the microphone, like the camera, does not run out while the test runs
    wav = live_microphone()
    store = tmp_path / "store"
    script = tmp_path / "keys.txt"
    # Two seconds to state the reason: the sound heard meanwhile is fed before the d key.
    script.write_text("r\na\nwait 0.5\np%d\nwait 0.3\nc\nwait 2\nd\nq\n" % PAUSE_PLACE_CHANGE)
    r = run_record(["--input", live_camera(), "--mic", str(wav), "--store", str(store),
                    "--device-id", "SC-0021", "--keys", str(script)])  # fmt: skip
    assert r.returncode == 0, r.stderr
    resumes = [f for f in events(store) if f[F_EVENT] == EV_RESUME]
    assert len(resumes) == 1 and resumes[0][F_REASON] == PAUSE_PLACE_CHANGE
    assert resumes[0].get(F_SPOKEN), "the resume names no spoken-reason chunk"


def spoken_reason_flags(store: Path) -> list:
    """The host's judgement of the store's spoken reasons: the compliance check, listening
    to the stored media as the evidence store's verify does."""
    from host import compliance
    from protocol.ledger import media_digest

    entries = [x[2] for x in read_ledger(ledger_bytes(str(store))) if x[0] == "entry"]

    def media(digest: bytes) -> "bytes | None":
        path = store / "media" / digest.hex()[:2] / (digest.hex() + ".bin")
        return path.read_bytes() if path.exists() else None

    assert all(media(media_digest(e.fields)) for e in entries if e.kind != KIND_EVENT)
    flags = compliance.check(entries, {}, media=media)
    return [f.code for f in flags if "spoken-reason" in f.code]


@pytest.mark.parametrize("mic", [False, True])
def test_the_spoken_reason_is_recorded_from_a_wav_file(tmp_path, live_camera, live_microphone, mic):
    # R-DEV-9, issue 17 (--reason FILE.wav): said at the resume, in place of the microphone
    from tests.firmware.avmedia import write_wav

    reason = tmp_path / "reason.wav"
    write_wav(reason, seconds=0.5, rate=22050, channels=2)  # resampled to the mic's format
    store = tmp_path / "store"
    script = tmp_path / "keys.txt"
    # No d: the file's end is the end of the reason. The stop may come before the file has
    # been said whole on a slow machine; what was said by then is the reason, either way.
    script.write_text("r\na\np%d\nc\nwait 2\ns\nq\n" % PAUSE_PLACE_CHANGE)
    args = ["--input", live_camera(), "--reason", str(reason), "--store", str(store),
            "--device-id", "SC-0023", "--keys", str(script)]  # fmt: skip
    if mic:
        # A microphone that hears nothing (not the reason), and never runs out (issue 17).
        args += ["--mic", live_microphone(silent=True)]
    r = run_record(args)
    assert r.returncode == 0, r.stderr
    assert ("played from %s" % reason) in r.stdout.decode()
    # issue 17: the summary says what sound there is, never "no sound" beside a reason
    out = [x for x in r.stdout.decode().splitlines() if x.startswith("recorded ")][-1]
    assert "no sound" not in out
    assert ("spoken reasons' sound only" in out) != mic, out
    resumes = [f for f in events(store) if f[F_EVENT] == EV_RESUME]
    assert len(resumes) == 1 and resumes[0].get(F_SPOKEN), "no spoken-reason chunk"
    # The host hears it: neither missing nor silence (the silent microphone was not fed).
    assert spoken_reason_flags(store) == []


def test_unattended_the_announcement_is_not_assumed(tmp_path):  # issue 17
    video = tmp_path / "street.avi"
    write_video(video, 20)
    store = tmp_path / "store"
    r = run_record(["--camera", str(video), "--store", str(store), "--device-id", "SC-0019"])
    assert r.returncode == 0, r.stderr
    got = codes(store)
    assert EV_RECORD_START in got and EV_ANNOUNCEMENT not in got
    assert b"{'" not in r.stdout  # the status is a line a person reads


def test_a_refused_run_leaves_no_store_and_no_key(tmp_path):  # issue 17
    from tests.firmware.avmedia import write_wav

    video = tmp_path / "street.avi"
    write_video(video, 20)
    store = tmp_path / "store"
    bad_agency = tmp_path / "agency.pub"
    bad_agency.write_bytes(b"not a key")
    bad_script = tmp_path / "keys.txt"
    bad_script.write_text("wait soon\n")
    eight_bit = tmp_path / "eight.wav"
    write_wav(eight_bit, seconds=1, width=1)
    reason = tmp_path / "reason.wav"
    write_wav(reason, seconds=1)
    for args in (
        ["--camera", str(tmp_path / "no-such.avi")],
        ["--camera", str(video), "--seal-to", str(bad_agency)],
        ["--camera", str(video), "--seal-to", str(tmp_path / "missing.pub")],
        ["--camera", str(video), "--keys", str(bad_script)],
        ["--camera", str(video), "--mic", str(tmp_path / "missing.wav")],
        ["--camera", str(video), "--reason", str(tmp_path / "missing.wav")],  # issue 17
        ["--camera", str(video), "--reason", str(eight_bit)],
        ["--camera", str(video), "--reason", str(bad_agency)],  # not a WAV file at all
        ["--camera", str(video), "--reason", str(tmp_path)],  # a folder
        ["--camera", str(video), "--reason", str(reason), "--codec", "mjpeg"],  # no sound
    ):
        r = run_record([*args, "--store", str(store), "--device-id", "SC-0020"])
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.decode().strip().splitlines()) == 1, r.stderr
        assert not store.exists(), args


def test_a_refusal_in_chinese_is_one_line_and_leaves_nothing(tmp_path):  # issue 17
    video = tmp_path / "street.avi"
    write_video(video, 20)
    store = tmp_path / "store"
    r = run_record(["--camera", str(video), "--store", str(store)], "zh_CN.UTF-8")
    assert r.returncode == 2
    assert (
        r.stderr.decode()
        == "sealcam record：%s 处没有设备密钥：请用 --device-id 生成设备密钥\n"
        % (store / "device.key")
    )
    assert not store.exists()
