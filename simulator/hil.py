"""Hardware in the loop: a real board, flashed with a debug build, driven step by step.

``BoardDevice`` talks to the board's raw REPL (``host.board.rawrepl.RawRepl``) and drives the
test command set that debug builds carry (``firmware.testbench``, documented in
``docs/hil.md``): every scenario step becomes one call on the board's ``TestBench``, and its
answer comes back as plain data. A dock connects to the host daemon over TCP here, on the
host, and relays the bytes both ways through the board's ``dock_io``, since the REPL owns
the board's console.

A power cut is a soft reset that closes nothing; the bench's virtual hardware (RTC, battery,
camera, card) is read after every step and handed to the fresh bench, as real hardware
would keep it.
"""
# micropython: skip (the host side of hardware-in-the-loop runs on CPython)

import ast
import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from firmware.testbench import DEFAULT_FPS, DEFAULT_START_MS
from firmware.testbench import FAULTS as BOARD_FAULTS
from host.board.steps import DEFAULT_STORE
from host.i18n import known, text
from simulator.errors import BoardError, ScenarioError
from simulator.said import Said, Term, line

BENCH = "_sealcam_bench"  # the bench's name in the board's REPL namespace
# A step films and signs on the board's CPU: slow boards need long for long footage.
STEP_TIMEOUT_S = 600.0
DOCK_IDLE_S = 15.0  # a silent daemon for this long ends the dock; the next one resumes
# A board that answers nothing for this long is gone. The WebAssembly board imports the whole
# firmware from source on a shared CPU, so this bounds a broken board, not a slow one.
REPL_TIMEOUT_S = 60.0
POWER_CUTS = ("power_loss", "dead_battery")
ENTRIES_PER_CALL = 32  # ledger entries fetched from the board per round trip


class Repl(Protocol):
    """The board's raw REPL as the driver uses it (``host.board.rawrepl.RawRepl`` is one)."""

    def exec(self, code: str, timeout_s: "float | None" = None) -> bytes:
        """Run ``code`` on the board; its printed output, or BoardError."""
        ...

    def soft_reset(self) -> None: ...

    def close(self) -> None: ...


def board_message(exc: BaseException) -> str:
    """The last line of a board's traceback ("RecorderError: ..."), or the whole message."""
    lines = [row.strip() for row in str(exc).splitlines() if row.strip()]
    for row in reversed(lines):
        if not row.startswith(("Traceback", 'File "', "File ")):
            return row
    return str(exc)


class BoardDevice:
    """One board on a serial port, flashed with a debug build and provisioned.

    ``store_dir`` is where provisioning put the store on the board; ``start_ms`` is where the
    virtual RTC starts (the scenario's start); ``officer``, ``fps`` and ``config`` (recorder
    settings) are handed to the bench. ``repl`` is an open ``RawRepl`` to use instead of
    opening ``port``. A step that runs longer than ``step_timeout_s`` on the board is a
    BoardError.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        store_dir: str = DEFAULT_STORE,
        start_ms: int = DEFAULT_START_MS,
        officer: str = "",
        fps: int = DEFAULT_FPS,
        config: "dict | None" = None,
        repl: "Repl | None" = None,
        step_timeout_s: float = STEP_TIMEOUT_S,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.repl: Repl | None = repl if repl is not None else self._open()
        self.store_dir = store_dir
        self.options = {"officer_id": officer, "fps": fps, "config": config}
        self.start_ms = start_ms
        # The bench's virtual hardware as last read; None until the first bench is made, which
        # then starts its RTC at start_ms or, on a board with a ledger, after its last entry.
        self.hw: dict | None = None
        self.step_timeout_s = step_timeout_s
        try:
            self._start_bench()
            device_id, public_key = self._eval("%s.identity()" % BENCH, text("sim.hil.read_key"))
            self.hw = self._eval("%s.hardware()" % BENCH, text("sim.hil.read_hardware"))
        except BaseException:
            self.close()
            raise
        self.device_id: str = device_id
        self.public_key: bytes = public_key

    # --- the board's side, through the raw REPL ------------------------------------------

    def _board(self) -> Repl:
        """The open REPL; once closed, the port is opened again, with a fresh bench on it."""
        repl = self.repl
        if repl is None:
            repl = self.repl = self._open()
            self._start_bench()
        return repl

    def _open(self) -> Repl:
        from host.board.rawrepl import RawRepl

        return RawRepl(self.port, self.baudrate, REPL_TIMEOUT_S)

    def _start_bench(self) -> None:
        """Make a bench on the board (again, after a reset) with the hardware it had."""
        code = (
            "from firmware.testbench import TestBench\n"
            "%s = TestBench(%r, %r, seed=%r, officer_id=%r, fps=%r, config=%r, hardware=%r)\n"
            % (
                BENCH,
                self.store_dir,
                self.start_ms,
                os.urandom(32),
                self.options["officer_id"],
                self.options["fps"],
                self.options["config"],
                self.hw,
            )
        )
        try:
            self._board().exec(code)
        except BoardError as exc:
            raise BoardError(
                text("sim.hil.no_bench", port=self.port, why=board_message(exc))
            ) from None

    def _eval(self, expr: str, what: str, timeout_s: "float | None" = None) -> Any:
        """Evaluate ``expr`` on the board; a refusal becomes a ScenarioError naming ``what``."""
        try:
            out = self._board().exec("print(repr(%s))" % expr, timeout_s)
        except BoardError as exc:
            if _is_refusal(exc):
                raise ScenarioError(
                    text("sim.hil.refused", what=what, why=board_message(exc))
                ) from None
            raise
        answer = out.decode("utf-8", "replace").strip()
        try:
            return ast.literal_eval(answer)
        except (ValueError, SyntaxError):
            raise BoardError(text("sim.hil.not_data", what=what, answer=answer[:200])) from None

    # --- what a scenario runner calls ----------------------------------------------------

    def step(self, step: dict) -> list:
        """Run one scenario step on the board; return the lines of what happened."""
        do = step.get("do")
        where = text("sim.scenario.step", at=step.get("n", "?"), do=do)
        if do == "dock":
            raise ScenarioError(text("sim.hil.dock_step", where=where))
        if do == "fault":
            self._check_fault(step, where)
        plain = {}
        for key in step:
            if key not in ("n", "at"):  # where the step sits in the scenario: the runner's
                plain[key] = step[key]
        lines, self.hw = self._eval(
            "(%s.run(%r, True), %s.hardware())" % (BENCH, plain, BENCH),
            text("sim.hil.run", where=where),
            self.step_timeout_s,
        )
        if do == "fault" and step.get("kind") in POWER_CUTS:
            # The power goes: the board restarts without closing anything, as after a cut.
            self._board().soft_reset()
            self._start_bench()
        return [board_line(said) for said in lines]

    def _check_fault(self, step: dict, where: str) -> None:
        kind = step.get("kind")
        if kind not in BOARD_FAULTS:
            faults = ", ".join(BOARD_FAULTS)
            raise ScenarioError(text("sim.hil.fault", where=where, kind=kind, faults=faults))
        for key in ("at_write", "target"):
            if key in step:
                raise ScenarioError(text("sim.hil.fault_key", where=where, key=key))

    def dock(
        self,
        address: tuple,
        idle_s: float = DOCK_IDLE_S,
        injure: "Callable[[bytes], bytes] | None" = None,
        since: "float | None" = None,
    ) -> dict:
        """Sync with the host daemon at ``address`` (``sealcam sync --tcp``), relaying the
        bytes between its socket and the board; return ``{"device_id", "result",
        "receipts"}`` as ``sealcam dock --json`` prints. ``injure(bytes) -> bytes``, if
        given, damages what crosses in either direction, as a bad cable would. A recorder
        that is off is powered on first, as a cradle does; ``"lines"`` says so. With
        ``since`` (a ``time.monotonic()`` reading), the board's clock runs in real time from
        then while docked, as the daemon's does from the same moment: the drift the host
        measures is the board's own, not the time the relay and the daemon took."""
        try:
            sock = socket.create_connection(address, timeout=idle_s)
        except OSError as exc:
            address_text = "%s:%d" % (address[0], address[1])
            raise ScenarioError(text("sim.hil.no_daemon", address=address_text, why=exc)) from None
        lines: list = []
        try:
            if self.status()["state"] == "OFF":
                # The cradle powers a switched-off or flat recorder, as on the simulator.
                lines = [line("sim.run.cradle")]
                lines += self.step({"do": "power_on", "battery": 100})
            self._eval("%s.dock_begin(False)" % BENCH, text("sim.hil.dock_begin"))
            try:
                self._relay(sock, idle_s, injure, since)
            finally:
                outcome = self._eval("%s.dock_end()" % BENCH, text("sim.hil.dock_end"))
                self.hw = self._eval("%s.hardware()" % BENCH, text("sim.hil.read_hardware"))
        finally:
            sock.close()
        outcome["lines"] = lines
        return dict(outcome)

    def _relay(
        self,
        sock: socket.socket,
        idle_s: float,
        injure: "Callable[[bytes], bytes] | None",
        since: "float | None",
    ) -> None:
        moved_ms = 0  # how far the board's clock was moved on since ``since``
        quiet_since = time.monotonic()
        while True:
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                if time.monotonic() - quiet_since > idle_s:
                    return  # the daemon fell silent
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return  # the daemon closed the connection
            quiet_since = time.monotonic()
            if injure is not None:
                data = injure(data)
            expr = "(%s.dock_io(%r), %s.dock_closed())" % (BENCH, data, BENCH)
            if since is not None:
                due_ms = int((time.monotonic() - since) * 1000)
                expr = "(%s.clock.advance(%d),) + %s" % (BENCH, due_ms - moved_ms, expr)
                moved_ms = due_ms
            answer, closed = self._eval(expr, text("sim.hil.relay"))[-2:]
            if answer:
                if injure is not None:
                    answer = injure(answer)
                try:
                    sock.sendall(answer)
                except OSError:
                    return
            if closed:
                return

    def status(self) -> dict:
        """What the recorder's display shows (``{"state": "OFF", ...}`` while it is off)."""
        return dict(self._eval("%s.status()" % BENCH, text("sim.hil.read_status")))

    def true_ms(self) -> int:
        """The scenario's time on the bench (the RTC may be wrong; this is not)."""
        return int(self.hw["true_ms"]) if self.hw else self.start_ms

    def ledger_entries(self) -> list:
        """The board's ledger as it stands on its store, oldest first."""
        out: list = []
        while True:
            got = self._eval(
                "%s.entries(%d, %d)" % (BENCH, len(out), ENTRIES_PER_CALL),
                text("sim.hil.read_ledger"),
            )
            out.extend(got)
            if len(got) < ENTRIES_PER_CALL:
                return out

    def close(self) -> None:
        """Let go of the board's port; the board keeps running as it is. Reading the ledger
        afterwards opens the port again."""
        if self.repl is not None:
            self.repl.close()
            self.repl = None

    def __enter__(self) -> "BoardDevice":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def board_line(said: object) -> "Said | str":
    """A line the board said, ``(english, msg_id, fields)`` (``firmware.testbench``): as it
    is in English, and in another language from the catalogue. A line whose id the catalogue
    does not have (a newer bench's), or that is no such line, is shown as the board said it."""
    if type(said) is not tuple or len(said) != 3:
        return str(said)
    english, msg_id, fields = said
    if type(msg_id) is not str or not known(msg_id) or type(fields) is not dict:
        return str(english)
    return Term(str(english), msg_id, **{str(k): _board_value(v) for k, v in fields.items()})


def _board_value(value: object) -> object:
    """A field of a board's line: a line itself (a reason, the cause of a power cut), a
    list of them, or a plain value."""
    if type(value) is tuple:
        return board_line(value)
    if type(value) is list:
        return [_board_value(v) for v in value]
    return value


def _is_refusal(exc: BoardError) -> bool:
    """Whether the board answered with an exception, as opposed to not answering at all."""
    return "Traceback (most recent call last)" in str(exc)
