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
import time
from pathlib import Path

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


def write_video(path: Path, frames: int) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 96))
    for i in range(frames):
        img = np.full((96, 160, 3), 60, np.uint8)
        img[:, (i * 3) % 140 : (i * 3) % 140 + 20] = 230
        w.write(img)
    w.release()


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


class Pty:
    """``sealcam record`` with a pseudo-terminal as its standard input and output."""

    def __init__(self, args: list, lang: str) -> None:
        self.master, slave = pty.openpty()
        self.slave_name = os.ttyname(slave)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            env=env(lang),
            cwd=ROOT,
        )
        os.close(slave)
        self.seen = b""

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
        return code


@pytest.mark.parametrize("lang", ["en_US.UTF-8", "zh_CN.UTF-8"])
def test_the_officer_works_the_recorder_from_a_terminal(tmp_path, lang):  # issue 17, R-DEV-15
    video = tmp_path / "street.avi"
    write_video(video, 3000)  # longer than the test: q ends the recording
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
    t = Pty(["record", "--camera", str(video), "--store", str(store),
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
        assert t.finish() == 0, t.proc.stderr.read() if t.proc.stderr else ""
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


def test_ctrl_c_on_the_terminal_stops_a_signed_recording_and_gives_the_terminal_back(tmp_path):
    import termios

    video = tmp_path / "street.avi"
    write_video(video, 3000)
    store = tmp_path / "store"
    t = Pty(["record", "--camera", str(video), "--store", str(store),
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


def test_a_key_script_works_the_recorder_and_a_no_record_work_record(tmp_path):  # issue 17
    video = tmp_path / "street.avi"
    write_video(video, 3000)
    store = tmp_path / "store"
    script = tmp_path / "keys.txt"
    script.write_text("w%d\ntype 当事人住宅内 #2\nwait 0.4\nr\na\nm\ns\nq\n" % NO_RECORD_SECRECY)
    common = ["--camera", str(video), "--store", str(store), "--device-id", "SC-0018"]
    r = run_record([*common, "--keys", str(script)])
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
    r = run_record([*common, "--keys", "-"], "zh_CN.UTF-8", b"r\nq\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "开始录像" in out and "签名日志校验通过" in out


def test_the_reason_for_a_pause_is_recorded_from_the_microphone(tmp_path):  # R-DEV-9
    from tests.firmware.avmedia import write_wav

    video = tmp_path / "street.avi"
    write_video(video, 3000)
    wav = tmp_path / "officer.wav"
    write_wav(wav, seconds=60)  # the microphone: longer than the test
    store = tmp_path / "store"
    script = tmp_path / "keys.txt"
    # Two seconds to state the reason: the sound heard meanwhile is fed before the d key.
    script.write_text("r\na\nwait 0.5\np%d\nwait 0.3\nc\nwait 2\nd\nq\n" % PAUSE_PLACE_CHANGE)
    r = run_record(["--camera", str(video), "--mic", str(wav), "--store", str(store),
                    "--device-id", "SC-0021", "--keys", str(script)])  # fmt: skip
    assert r.returncode == 0, r.stderr
    resumes = [f for f in events(store) if f[F_EVENT] == EV_RESUME]
    assert len(resumes) == 1 and resumes[0][F_REASON] == PAUSE_PLACE_CHANGE
    assert resumes[0].get(F_SPOKEN), "the resume names no spoken-reason chunk"


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
    video = tmp_path / "street.avi"
    write_video(video, 20)
    store = tmp_path / "store"
    bad_agency = tmp_path / "agency.pub"
    bad_agency.write_bytes(b"not a key")
    bad_script = tmp_path / "keys.txt"
    bad_script.write_text("wait soon\n")
    for args in (
        ["--camera", str(tmp_path / "no-such.avi")],
        ["--camera", str(video), "--seal-to", str(bad_agency)],
        ["--camera", str(video), "--seal-to", str(tmp_path / "missing.pub")],
        ["--camera", str(video), "--keys", str(bad_script)],
        ["--camera", str(video), "--mic", str(tmp_path / "missing.wav")],
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
