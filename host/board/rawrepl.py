"""A client for MicroPython's raw REPL over a serial port (pyserial).

The raw REPL is how tools run code on a board: Ctrl-A enters it (the board answers
``raw REPL; CTRL-B to exit\\r\\n>``), the code follows and Ctrl-D runs it; the board answers
``OK``, then what the code printed, Ctrl-D, the traceback if it raised, Ctrl-D and the prompt
``>``. Where the board offers raw-paste mode (Ctrl-E ``A`` Ctrl-A, answered ``R\\x01``), the
code goes with the board's own flow control instead, so no pauses are needed for boards
with small receive buffers; otherwise it is sent in chunks, with ``chunk_pause_s`` between
them if the board needs that.

    with RawRepl("/dev/ttyACM0") as board:
        board.exec("import os")
        files = board.eval("os.listdir()")
"""
# micropython: skip (runs on the host, which talks to the board)

import ast
import time
from collections.abc import Callable

from host.board.errors import BoardError

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
SOFT_REBOOT = b"soft reboot\r\n"
CHUNK = 256  # bytes per write in plain raw mode, what small UART buffers take at once
POLL_S = 0.05  # how long one read waits; the deadlines are what bound a wait


class RawRepl:
    """A board's raw REPL: run code, get back what it printed or the traceback it raised."""

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        timeout_s: float = 10.0,
        chunk_pause_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import serial

        self.port = port
        self.timeout_s = timeout_s
        self.chunk_pause_s = chunk_pause_s
        self._clock = clock
        self._pending = bytearray()
        self._raw = False
        self._paste = True  # try raw-paste mode until the board says it has none
        try:
            self._serial = serial.Serial(port, baudrate=baudrate, timeout=POLL_S)
        except (serial.SerialException, OSError) as exc:
            raise BoardError(
                "cannot open %s: %s. Check the port name and the cable, and that no other "
                "program (a terminal, mpremote) has the port open" % (port, exc)
            ) from None

    # --- what callers use ----------------------------------------------------------------

    def exec(self, code: str, timeout_s: float | None = None) -> bytes:
        """Run ``code`` on the board; return what it printed.

        Raise BoardError with the board's traceback if the code raised, or saying what was
        awaited if the board fell silent for longer than ``timeout_s``.
        """
        wait = self.timeout_s if timeout_s is None else timeout_s
        self._enter_raw()
        self._send(code.encode("utf-8"), wait)
        out = self._read_until(b"\x04", wait, "the output of the code (the first Ctrl-D)")
        err = self._read_until(b"\x04", wait, "the end of the error output (the second Ctrl-D)")
        err = err[:-1]
        self._read_until(b">", wait, "the raw REPL prompt after the code ran")
        if err:
            raise BoardError(
                "the code raised on the board:\n%s" % err.decode("utf-8", "replace").rstrip()
            )
        return out[:-1]

    def eval(self, expr: str) -> object:
        """The value of ``expr`` on the board; it must be a literal (numbers, str, bytes, ...)."""
        text = self.exec("print(repr(%s))" % expr).decode("utf-8", "replace").strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise BoardError(
                "the board's value of %s is not a Python literal: %.200r" % (expr, text)
            ) from None

    def soft_reset(self) -> None:
        """Soft-reset the board (fresh interpreter, same files); stay in the raw REPL."""
        self._enter_raw()
        self._write(b"\x04")
        self._read_until(SOFT_REBOOT, self.timeout_s, "'soft reboot' after Ctrl-D")
        self._read_until(RAW_BANNER + b">", self.timeout_s, "the raw REPL after the reset")

    def close(self) -> None:
        """Leave the raw REPL (Ctrl-B) and close the port."""
        if not self._serial.is_open:
            return
        try:
            if self._raw:
                self._serial.write(b"\r\x02")
                self._serial.flush()
        except OSError:
            pass  # the board is gone; there is nothing left to leave
        finally:
            self._raw = False
            self._serial.close()

    def __enter__(self) -> "RawRepl":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the protocol --------------------------------------------------------------------

    def _enter_raw(self) -> None:
        if self._raw:
            return
        # Ctrl-C twice stops a running program; what the board said before is stale.
        self._write(b"\r\x03\x03")
        self._drain()
        self._write(b"\r\x01")
        self._read_until(RAW_BANNER + b">", self.timeout_s, "the raw REPL banner after Ctrl-A")
        self._raw = True

    def _send(self, data: bytes, wait: float) -> None:
        if self._paste:
            self._write(b"\x05A\x01")
            answer = self._read_exact(2, wait, "the answer to the raw-paste request")
            if answer == b"R\x01":
                self._paste_write(data, wait)
                return
            self._paste = False
            if answer != b"R\x00":
                # A board without raw-paste mode takes the request as input: clear it.
                self._read_until(RAW_BANNER + b">", wait, "the raw REPL after a raw-paste request")
        for i in range(0, len(data), CHUNK):
            self._write(data[i : i + CHUNK])
            if self.chunk_pause_s:
                time.sleep(self.chunk_pause_s)  # the board's receive buffer is that small
        self._write(b"\x04")
        answer = self._read_exact(2, wait, "'OK' after the code was sent")
        if answer != b"OK":
            raise BoardError(
                "the board on %s did not accept the code: it answered %r, not 'OK'"
                % (self.port, answer)
            )

    def _paste_write(self, data: bytes, wait: float) -> None:
        header = self._read_exact(2, wait, "the raw-paste window size")
        window = int.from_bytes(header, "little")
        credit = window
        sent = 0
        while sent < len(data):
            while credit == 0 or self._serial.in_waiting:
                signal = self._read_exact(1, wait, "raw-paste flow control (Ctrl-A)")
                if signal == b"\x01":
                    credit += window
                elif signal == b"\x04":
                    self._write(b"\x04")
                    raise BoardError(
                        "the board on %s ended the raw paste early after %d of %d bytes"
                        % (self.port, sent, len(data))
                    )
                else:
                    raise BoardError(
                        "unexpected byte %r from %s during a raw paste" % (signal, self.port)
                    )
            piece = data[sent : sent + credit]
            self._write(piece)
            sent += len(piece)
            credit -= len(piece)
        self._write(b"\x04")
        self._read_until(b"\x04", wait, "the board's acknowledgement of the pasted code")

    # --- bytes on the wire ---------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
        except OSError as exc:
            raise BoardError("lost the board on %s while writing: %s" % (self.port, exc)) from None

    def _fill(self) -> None:
        """Read whatever arrives within one poll into the pending buffer."""
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
        except OSError as exc:
            raise BoardError("lost the board on %s while reading: %s" % (self.port, exc)) from None
        self._pending += data

    def _drain(self) -> None:
        """Drop what the board sent so far, up to the first quiet poll."""
        self._pending.clear()
        while True:
            before = len(self._pending)
            self._fill()
            if len(self._pending) == before:
                break
        self._pending.clear()

    def _read_until(self, marker: bytes, wait: float, what: str) -> bytes:
        """Bytes up to and including ``marker``; BoardError naming ``what`` after ``wait`` s."""
        deadline = self._clock() + wait
        while True:
            at = self._pending.find(marker)
            if at >= 0:
                end = at + len(marker)
                data = bytes(self._pending[:end])
                del self._pending[:end]
                return data
            if self._clock() >= deadline:
                self._timed_out(what, wait)
            self._fill()

    def _read_exact(self, n: int, wait: float, what: str) -> bytes:
        deadline = self._clock() + wait
        while len(self._pending) < n:
            if self._clock() >= deadline:
                self._timed_out(what, wait)
            self._fill()
        data = bytes(self._pending[:n])
        del self._pending[:n]
        return data

    def _timed_out(self, what: str, wait: float) -> None:
        seen = bytes(self._pending[-200:])
        self._raw = False  # the board's state is unknown: enter the raw REPL afresh next time
        raise BoardError(
            "the board on %s did not answer: waited %.1f s for %s; it sent %s. Check that the "
            "board runs MicroPython and that nothing else uses the port"
            % (self.port, wait, what, repr(seen) if seen else "nothing")
        )
