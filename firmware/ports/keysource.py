"""Where the officer's keys come from on this machine: a terminal, or a script.

Each source runs a thread that hands keys, one character at a time, to ``put``; the
recording loop applies them between frames on its own thread (``firmware.ports.cpython``),
since the agent has one caller. Both stop when ``stop`` is set and never block past it.

- ``TtyKeys``: a terminal (a real one, or a pseudo-terminal in tests) in cbreak mode: keys
  arrive as pressed, without Enter and without echo; the mode is restored on close.
- ``ScriptKeys``: a key script for tests and QA (``sealcam record --keys FILE``, ``-`` for
  standard input). One line each: ``wait SECONDS`` (on the recording's clock), ``type
  TEXT`` (the characters, then Enter: a no-record note), or keys to press in order (``ra``
  is record, then the announcement said). ``#`` starts a comment; blank lines are skipped.
"""
# micropython: skip (termios, select and threads of the Linux terminal port)

import codecs
import os
import select
import threading
from collections.abc import Callable
from typing import Protocol

from firmware.errors import FirmwareError
from firmware.hal import Clock
from firmware.ports.terminalkeys import N_


class KeyScriptError(FirmwareError):
    """A key script that cannot be used. The message is English; ``msg_id`` and ``fields``
    name the same line for the command line to say in the officer's language (as
    ``firmware.ports.encoder.MediaError`` does: firmware never imports the host)."""

    def __init__(self, message: str, msg_id: str, **fields: object) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.fields = fields


POLL_S = 0.05  # how long a source waits for a key before looking at ``stop`` again
MAX_SCRIPT_BYTES = 1 << 20  # a key script is a page of text, not a stream
MAX_WAIT_S = 24 * 3600.0  # longer than any shift: a wait beyond it is a typo


class KeySource(Protocol):
    """A supplier of keys for the recording loop."""

    def start(self, put: "Callable[[str], None]", stop: threading.Event) -> None: ...

    def close(self) -> None: ...


def parse_script(text: str) -> list:
    """A key script as steps ``("wait", seconds)`` and ``("keys", text)``; FirmwareError
    naming the line when one cannot be read."""
    steps: list = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line.startswith("type "):  # a note may hold a '#'
            line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        if word == "wait":
            try:
                seconds = float(rest)
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds <= MAX_WAIT_S:
                raise KeyScriptError(
                    "key script line %d: give 'wait SECONDS' with 0 to %d seconds, not %r"
                    % (number, MAX_WAIT_S, raw.strip()),
                    N_("record.keys_script.wait"),
                    line=number,
                    most=MAX_WAIT_S,
                    text=repr(raw.strip()),
                )
            steps.append(("wait", seconds))
        elif word == "type":
            steps.append(("keys", rest + "\n"))
        else:
            steps.append(("keys", line.replace(" ", "")))
    return steps


class ScriptKeys:
    """Keys from a script, its waits measured on ``clock`` (the recording's own)."""

    def __init__(self, text: str, clock: Clock) -> None:
        self.steps = parse_script(text)
        self.clock = clock
        self.thread: threading.Thread | None = None
        self.done = threading.Event()  # every step has been played

    @classmethod
    def from_file(cls, path: str, clock: Clock) -> "ScriptKeys":
        """The script at ``path`` (``-``: standard input), read whole before anything runs."""
        try:
            if path == "-":
                data = os.read(0, MAX_SCRIPT_BYTES + 1)  # one read: a script is short
            else:
                with open(path, "rb") as f:
                    data = f.read(MAX_SCRIPT_BYTES + 1)
        except OSError as exc:
            raise KeyScriptError(
                "cannot read the key script %s: %s" % (path, exc.strerror),
                N_("record.keys_script.unreadable"),
                path=path,
                why=exc,
            ) from None
        if len(data) > MAX_SCRIPT_BYTES:
            raise KeyScriptError(
                "the key script %s is over %d bytes" % (path, MAX_SCRIPT_BYTES),
                N_("record.keys_script.too_big"),
                path=path,
                most=MAX_SCRIPT_BYTES,
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyScriptError(
                "the key script %s is not UTF-8 text" % path,
                N_("record.keys_script.not_utf8"),
                path=path,
            ) from None
        return cls(text, clock)

    def start(self, put: "Callable[[str], None]", stop: threading.Event) -> None:
        def play() -> None:
            for kind, value in self.steps:
                if kind == "wait":
                    until = self.clock.mono_ms() + int(value * 1000)
                    while self.clock.mono_ms() < until:
                        if stop.wait(min(POLL_S, (until - self.clock.mono_ms()) / 1000)):
                            return
                else:
                    for key in value:
                        put(key)
            self.done.set()

        self.thread = threading.Thread(target=play, name="key-script", daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join()


class TtyKeys:
    """Keys pressed on the terminal at ``fd``, as they are pressed (cbreak, no echo)."""

    def __init__(self, fd: int = 0) -> None:
        import termios

        self.fd = fd
        try:
            self.saved: list | None = termios.tcgetattr(fd)
        except termios.error:
            raise FirmwareError("the keys' file descriptor %d is not a terminal" % fd) from None
        self.thread: threading.Thread | None = None

    def start(self, put: "Callable[[str], None]", stop: threading.Event) -> None:
        import termios
        import tty

        tty.setcbreak(self.fd, termios.TCSANOW)  # keys as pressed; no echo
        decoder = codecs.getincrementaldecoder("utf-8")("replace")

        def read() -> None:
            while not stop.is_set():
                ready, _, _ = select.select([self.fd], [], [], POLL_S)
                if not ready:
                    continue
                try:
                    data = os.read(self.fd, 64)
                except OSError:
                    return  # the terminal has gone (hung up): no more keys
                if not data:
                    return
                for key in decoder.decode(data):
                    put(key)

        self.thread = threading.Thread(target=read, name="keys", daemon=True)
        self.thread.start()

    def close(self) -> None:
        import termios

        if self.thread is not None:
            self.thread.join()
        if self.saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:
                pass  # the terminal has gone; nothing to restore
            self.saved = None
