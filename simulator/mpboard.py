"""A virtual MicroPython board on a pseudo-terminal, for flashing and hardware-in-the-loop work.

``VirtualBoard(flash_dir)`` runs the MicroPython WebAssembly port's REPL in Node.js
(``tools/mpy/board.mjs``) and relays bytes between it and a pseudo-terminal. The terminal's
far end is the board's port: pyserial, mpremote and ``sealcam flash`` open it exactly as they
open a board's USB serial port. The board's flash filesystem is ``flash_dir`` on the host,
so its files outlive soft resets and the board itself, and the host can read them.

    with VirtualBoard("flash/") as board:
        port = board.port          # give this to mpremote, sealcam flash, RawRepl, ...
"""
# micropython: skip (the host side of the virtual board runs on CPython)

import os
import select
import shutil
import subprocess
import threading
import tty
from pathlib import Path

from host.i18n import text
from simulator.errors import BoardError

REPO = Path(__file__).resolve().parent.parent
BRIDGE = REPO / "tools" / "mpy" / "board.mjs"
MICROPYTHON = REPO / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
READY_LINE = b"board: ready"
START_TIMEOUT_S = 60.0  # loading the WebAssembly port on a busy 2-core machine
STOP_TIMEOUT_S = 10.0
LOG_LIMIT = 64 * 1024  # bytes of the bridge's diagnostics kept for error messages
READ_SIZE = 65536
BACKLOG_LIMIT = 1 << 20  # stop reading a side while this much waits for the other


def find_node() -> str:
    """The ``node`` executable, or a BoardError saying how to get one."""
    node = shutil.which("node")
    if node is None:
        raise BoardError(text("sim.board.no_node"))
    return node


def check_micropython() -> None:
    """Raise BoardError unless the pinned MicroPython WebAssembly port is installed."""
    if not (MICROPYTHON / "package.json").is_file():
        raise BoardError(text("sim.board.no_micropython"))


class VirtualBoard:
    """A MicroPython board whose serial port is a pseudo-terminal; its flash is a directory."""

    def __init__(self, flash_dir: str, heap_bytes: int | None = None) -> None:
        self.flash_dir = str(flash_dir)
        self.heap_bytes = heap_bytes
        self.port = ""
        self._proc: subprocess.Popen | None = None
        self._master = -1
        self._slave = -1
        self._wake_r = -1
        self._wake_w = -1
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._log = bytearray()
        self._log_lock = threading.Lock()

    def start(self) -> str:
        """Start the board; return its port (a pseudo-terminal's path) once it is running."""
        if self._proc is not None:
            return self.port
        node = find_node()
        check_micropython()
        Path(self.flash_dir).mkdir(parents=True, exist_ok=True)
        command = [node, str(BRIDGE), self.flash_dir]
        if self.heap_bytes:
            command += ["--heap", str(self.heap_bytes)]
        self._master, self._slave = os.openpty()
        # No echo, no line editing, no newline translation: a serial line carries bytes.
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C at the terminal is for us, not the board
            )
        except OSError as exc:
            self._close_fds()
            raise BoardError(text("sim.board.cannot_start", node=node, why=exc)) from None
        self._thread = threading.Thread(target=self._relay, name="virtual-board", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._proc.poll() is not None:
            log = self.log()
            self.stop()
            said = log.strip() or text("sim.board.nothing")
            raise BoardError(text("sim.board.did_not_start", seconds=START_TIMEOUT_S, said=said))
        return self.port

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self) -> int:
        """Block until the board's process ends; return its exit status."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    def log(self) -> str:
        """What the bridge reported on its diagnostics channel (its stderr)."""
        with self._log_lock:
            return self._log.decode("utf-8", "replace")

    def stop(self) -> None:
        """Stop the board (as unplugging it would) and release the pseudo-terminal."""
        proc = self._proc
        if proc is None:
            return
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        self._proc = None
        self._thread = None
        self._close_fds()

    def _close_fds(self) -> None:
        for name in ("_master", "_slave", "_wake_r", "_wake_w"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def __enter__(self) -> "VirtualBoard":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the relay: pseudo-terminal <-> the bridge's stdin/stdout ----------------------------

    def _note(self, data: bytes) -> None:
        with self._log_lock:
            self._log += data
            del self._log[:-LOG_LIMIT]
            if not self._ready.is_set() and READY_LINE in self._log:
                self._ready.set()

    def _relay(self) -> None:
        """Copy bytes both ways until stop(); never block on one side while the other waits."""
        proc = self._proc
        assert proc is not None and proc.stdin and proc.stdout and proc.stderr
        child_in, child_out, child_err = (
            proc.stdin.fileno(),
            proc.stdout.fileno(),
            proc.stderr.fileno(),
        )
        for fd in (self._master, child_in, child_out, child_err):
            os.set_blocking(fd, False)
        to_board = bytearray()  # from the port, for the bridge's stdin
        to_port = bytearray()  # from the bridge's stdout, for the port
        open_fds = {self._master, child_out, child_err, self._wake_r}
        board_alive = True
        while True:
            readers = [fd for fd in open_fds if fd != self._master or len(to_board) < BACKLOG_LIMIT]
            if len(to_port) >= BACKLOG_LIMIT:
                readers = [fd for fd in readers if fd != child_out]
            writers = []
            if to_board and board_alive:
                writers.append(child_in)
            if to_port:
                writers.append(self._master)
            readable, writable, _ = select.select(readers, writers, [])
            if self._wake_r in readable:
                break
            if self._master in readable:
                data = _read(self._master)
                if data is not None and board_alive:
                    to_board += data
            if child_out in readable:
                data = _read(child_out)
                if data:
                    to_port += data
                elif data == b"":
                    open_fds.discard(child_out)
                    board_alive = False  # the board is gone; the port stays, silent
                    to_board.clear()
            if child_err in readable:
                data = _read(child_err)
                if data:
                    self._note(data)
                elif data == b"":
                    open_fds.discard(child_err)
            if child_in in writable:
                sent = _write(child_in, to_board)
                if sent is None:
                    board_alive = False
                    to_board.clear()
                else:
                    del to_board[:sent]
            if self._master in writable:
                sent = _write(self._master, to_port)
                del to_port[: sent or 0]
        try:
            proc.stdin.close()  # the bridge exits when its input ends
        except OSError:
            pass


def _read(fd: int) -> bytes | None:
    """Bytes from ``fd``; b"" at its end; None when nothing was ready after all."""
    try:
        return os.read(fd, READ_SIZE)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _write(fd: int, data: bytearray) -> int | None:
    """How many bytes of ``data`` went to ``fd``; None when its reader is gone."""
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError:
        return None
