"""The virtual MicroPython board: a real pseudo-terminal, a real Node.js process, real MicroPython.

Serial tools see a board: the raw REPL (and raw-paste mode) answers as a board's does, soft
resets start a fresh interpreter on the same flash, the flash is a directory that outlives
the board, and mpremote works against it unchanged.
"""
# micropython: skip (starts Node.js and opens pseudo-terminals)

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from host.board import errors as board_errors
from host.board.rawrepl import RawRepl
from simulator import mpboard
from simulator.errors import BoardError
from simulator.mpboard import VirtualBoard


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    flash = tmp_path_factory.mktemp("flash")
    with VirtualBoard(str(flash)) as b:
        yield b


# The board answers as soon as it can: this bounds a broken board, not one on a busy CPU.
WAIT_S = 60


@pytest.fixture
def repl(board):
    with RawRepl(board.port, timeout_s=WAIT_S) as r:
        yield r


def mpremote(port: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", port, *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_raw_repl_runs_code_and_returns_what_it_printed(repl):
    assert repl.exec("print('hello', 6 * 7)") == b"hello 42\n"
    assert repl.exec("x = 5") == b""
    assert repl.eval("[x, 'a', b'\\x00\\xff', (1.5, None)]") == [5, "a", b"\x00\xff", (1.5, None)]


def test_an_exception_on_the_board_comes_back_with_its_traceback(repl):
    with pytest.raises(BoardError) as caught:
        repl.exec("def f():\n    raise ValueError('no such officer')\nf()")
    text = str(caught.value)
    assert "Traceback" in text and "ValueError: no such officer" in text
    # One error for a board, the host's (sealcam flash raises it too), which the simulator
    # names as its own: its commands turn it into one line (issue 11 §1).
    assert type(caught.value) is board_errors.BoardError is BoardError
    # The board is still there and in the raw REPL.
    assert repl.eval("1 + 1") == 2


def test_the_board_reports_errnos_as_real_boards_do(repl):
    # The WebAssembly port raises its toolchain's numbers (ENOENT is 44); mpremote and the
    # firmware expect MicroPython's (ENOENT is 2).
    missing = "try:\n    open('no-such-file')\nexcept OSError as e:\n    print(e.errno)"
    assert repl.exec(missing) == b"2\n"
    twice = (
        "import os\nos.mkdir('twice')\ntry:\n    os.mkdir('twice')\n"
        "except OSError as e:\n    print(e.errno)\nos.rmdir('twice')"
    )
    assert repl.exec(twice) == b"17\n"
    assert repl.eval("(__import__('errno').ENOENT, __import__('errno').EEXIST)") == (2, 17)


def test_the_flash_is_a_host_directory_seen_as_the_boards_working_directory(board, repl):
    flash = Path(board.flash_dir)
    (flash / "from-host.txt").write_bytes(b"written on the host")
    assert repl.eval("__import__('os').getcwd()") == "/flash"
    assert "from-host.txt" in repl.eval("__import__('os').listdir()")
    assert repl.eval("open('from-host.txt', 'rb').read()") == b"written on the host"
    repl.exec("f = open('from-board.bin', 'wb')\nf.write(bytes(range(256)))\nf.close()")
    assert (flash / "from-board.bin").read_bytes() == bytes(range(256))
    repl.exec("import os\nos.mkdir('sub')\nos.rename('from-board.bin', 'sub/moved.bin')")
    assert (flash / "sub" / "moved.bin").read_bytes() == bytes(range(256))
    assert repl.eval("[e[0] for e in __import__('os').ilistdir('sub')]") == ["moved.bin"]
    repl.exec("import os\nos.remove('sub/moved.bin')\nos.rmdir('sub')")
    assert not (flash / "sub").exists()


def test_the_board_is_the_port_as_it_reports_itself_with_a_random_source(repl):
    assert repl.eval("__import__('sys').platform") == "webassembly"
    assert repl.eval("__import__('sys').implementation.name") == "micropython"
    assert repl.eval("__import__('sys').implementation.version[:2]") == (1, 27)
    a, b = repl.eval("(__import__('os').urandom(16), __import__('os').urandom(16))")
    assert len(a) == len(b) == 16 and a != b


def test_a_soft_reset_gives_a_fresh_interpreter_on_the_same_files(repl):
    repl.exec("kept_in_ram = 1\nf = open('survives.txt', 'w')\nf.write('still here')\nf.close()")
    repl.soft_reset()
    with pytest.raises(BoardError, match="NameError"):
        repl.exec("kept_in_ram")
    assert repl.eval("open('survives.txt').read()") == "still here"


def test_a_soft_reset_in_the_raw_repl_comes_back_to_the_raw_repl(board):
    with serial.Serial(board.port, timeout=WAIT_S) as port:
        port.write(b"\r\x03\x03")
        port.reset_input_buffer()
        port.write(b"\r\x01")
        assert port.read_until(b"raw REPL; CTRL-B to exit\r\n>").endswith(b">")
        port.write(b"\x04")
        said = port.read_until(b"raw REPL; CTRL-B to exit\r\n>")
        assert b"soft reboot\r\n" in said and said.endswith(b"raw REPL; CTRL-B to exit\r\n>")
        port.write(b"print(3)\x04")
        assert port.read_until(b"\x04>") == b"OK3\n\x04\x04>"
        port.write(b"\x02")
        assert port.read_until(b">>> ").endswith(b">>> ")


def test_raw_paste_mode_takes_code_with_flow_control(board):
    with serial.Serial(board.port, timeout=WAIT_S) as port:
        port.write(b"\r\x03\x03")
        port.reset_input_buffer()
        port.write(b"\r\x01")
        port.read_until(b"raw REPL; CTRL-B to exit\r\n>")
        port.write(b"\x05A\x01")
        header = port.read(5)
        assert header[:2] == b"R\x01" and header[4:] == b"\x01"
        window = int.from_bytes(header[2:4], "little")
        code = b"s = 0\n" + b"s += 1\n" * (window // 7 + 5) + b"print(s)"
        assert len(code) > window  # the board must grant a second window
        port.write(code[:window])
        assert port.read(1) == b"\x01"
        port.write(code[window:] + b"\x04")
        assert port.read_until(b"\x04>") == b"\x04%d\n\x04\x04>" % (window // 7 + 5)


def test_big_code_goes_through_raw_paste_without_pauses(repl):
    values = list(range(3000))
    assert repl.eval(repr(values)) == values


def test_files_persist_when_the_board_is_restarted(tmp_path):
    with VirtualBoard(str(tmp_path)) as first, RawRepl(first.port, timeout_s=WAIT_S) as r:
        r.exec("f = open('kept.txt', 'w')\nf.write('across restarts')\nf.close()")
    with VirtualBoard(str(tmp_path)) as second, RawRepl(second.port, timeout_s=WAIT_S) as r:
        assert r.eval("open('kept.txt').read()") == "across restarts"


def test_mpremote_lists_copies_and_runs_against_the_board(board, tmp_path):
    src = tmp_path / "module.py"
    src.write_text("ANSWER = 42\n")
    done = mpremote(board.port, "fs", "cp", str(src), ":module.py")
    assert done.returncode == 0, done.stderr
    listed = mpremote(board.port, "fs", "ls")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split() == ["12", "module.py"] for line in listed.stdout.splitlines())
    ran = mpremote(board.port, "exec", "import module; print(module.ANSWER * 2)")
    assert ran.returncode == 0 and ran.stdout.strip() == "84", ran.stderr
    assert (Path(board.flash_dir) / "module.py").read_text() == "ANSWER = 42\n"


def test_a_silent_port_times_out_saying_what_was_awaited():
    master, slave = os.openpty()  # a port with nothing behind it
    try:
        with RawRepl(os.ttyname(slave), timeout_s=0.3) as r, pytest.raises(BoardError) as caught:
            r.exec("print(1)")
        assert "raw REPL banner" in str(caught.value) and "0.3 s" in str(caught.value)
    finally:
        os.close(master)
        os.close(slave)


def test_a_port_that_does_not_exist_is_a_board_error(tmp_path):
    with pytest.raises(BoardError, match="cannot open"):
        RawRepl(str(tmp_path / "ttyNONE"))


def test_without_micropython_installed_the_board_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(mpboard, "MICROPYTHON", tmp_path / "missing")
    with pytest.raises(BoardError, match="tools/setup"):
        VirtualBoard(str(tmp_path / "flash")).start()


def test_without_node_the_board_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BoardError, match="node"):
        VirtualBoard(str(tmp_path / "flash")).start()


def test_sim_board_serves_a_board_until_interrupted(tmp_path):
    code = (
        "import argparse, sys\n"
        "from simulator import command\n"
        "p = argparse.ArgumentParser(); command.add_board(p.add_subparsers())\n"
        "args = p.parse_args(sys.argv[1:])\n"
        "sys.exit(args.run(args))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "board", "--flash", str(tmp_path), "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        assert started["flash"] == str(tmp_path.resolve())
        with RawRepl(started["port"], timeout_s=WAIT_S) as r:
            assert r.eval("__import__('os').getcwd()") == "/flash"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(WAIT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
