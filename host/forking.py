"""Forking a worker that shares this process's memory, and letting it go safely.

The export, the verifier, the signature checks and the court package fork helpers that
share the parent's memory. Two things make that safe, and both are here.

A forked child runs the garbage collector over everything it inherited, and a finaliser
run there can wait for ever: a PyAV codec freed in the child joins its encoder's threads,
which the fork did not copy, and the child hangs on their condition variable (seen: a
shift recorded with PyAV, then exported, in one process). ``start`` moves every object the
parent holds into the collector's permanent generation for the moment of the fork, so the
child never collects them; the parent gets them back at once.

A lock another thread holds at the fork (an import's, a logger's, a web server's worker
exporting a derivative) stays held in the child for ever, and work that needs it never
ends: ``Forked`` forks only from a process of one thread. It is the worker as its users see
it: a child forked for a ``target``, with this end of a pipe to it, started only where it
may help and is safe, and ended (killed) once its answers are not wanted. A worker that
could not be started, or that fails, is simply none (``Forked.start`` answers None,
``receive`` answers None) and the caller does the work itself: what it gets never depends
on the worker.
"""

import gc
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeGuard, TypeVar

T = TypeVar("T")


class Startable(Protocol):
    def start(self) -> None: ...


def start(process: Startable) -> None:
    """``process.start()`` with the parent's objects out of the child's collector."""
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def can_fork(cores: int = 1) -> bool:
    """Whether a worker may be forked here: the system forks, this process runs one thread
    (see the module's docstring), and at least ``cores`` cores are usable (a worker that
    would only take turns with this process on one core is no help)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and (cores <= 1 or usable_cores() >= cores)
    )


def _child(target: Callable[..., object], conn: Any, args: tuple) -> None:
    """The forked process: ``target(conn, *args)``, deaf to Ctrl-C."""
    # Ctrl-C reaches the whole process group: the parent handles it and ends this worker,
    # which must not die of it first, with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    target(conn, *args)


class Forked:
    """A worker process forked for ``target(conn, *args)``, and this end of its pipe."""

    def __init__(self, conn: Any, proc: Any) -> None:
        self.conn: Any = conn
        self.proc: Any = proc

    @classmethod
    def start(
        cls, target: Callable[..., object], *args: Any, cores: int = 1, duplex: bool = False
    ) -> "Forked | None":
        """Fork a worker running ``target(conn, *args)``, ``conn`` being its end of the
        pipe (one way, from the worker to this process, unless ``duplex``). None where no
        worker may be forked (``can_fork(cores)``) or the system refuses one."""
        if not can_fork(cores):
            return None
        try:
            context = multiprocessing.get_context("fork")
            mine, theirs = context.Pipe(duplex=duplex)
            proc = context.Process(target=_child, args=(target, theirs, args), daemon=True)
            start(proc)
            theirs.close()
        except (OSError, ValueError):
            return None
        return cls(mine, proc)

    @property
    def alive(self) -> bool:
        """Whether the worker may still answer (False once it failed or was closed)."""
        return self.conn is not None

    def send(self, message: object) -> bool:
        """Send ``message`` to the worker; False (and the worker ended) when it is gone."""
        if self.conn is None:
            return False
        try:
            self.conn.send(message)
        except (OSError, ValueError):
            self.close()
            return False
        return True

    def poll(self) -> bool:
        """Whether ``receive`` would answer at once: the worker's next message is in, or
        the worker has gone (then it answers None). Never waits; False once closed."""
        if self.conn is None:
            return False
        try:
            return bool(self.conn.poll())
        except (OSError, ValueError):
            self.close()
            return False

    def receive(self, valid: Callable[[object], TypeGuard[T]]) -> "T | None":
        """The worker's next message (never None), waiting for it; None (and the worker
        ended) when it is gone, or when its message is not ``valid``: nothing more is
        believed of a worker that says what it should not."""
        return self._next(False, valid)

    def receive_bytes(self, valid: Callable[[bytes], bool]) -> "bytes | None":
        """As ``receive``, for a worker that answers with ``conn.send_bytes``: the bytes as
        it sent them, with no pickle (a batch of outcomes, a run of digests: a worker that
        answers often or at length spares both ends the pickling)."""
        return self._next(True, valid)

    def _next(self, raw: bool, valid: Callable[[Any], bool]) -> Any:
        if self.conn is None:
            return None
        try:
            got = self.conn.recv_bytes() if raw else self.conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            got = None
        if got is None or not valid(got):
            self.close()
            return None
        return got

    def close(self) -> None:
        """End the worker, at once: whatever it still does is not wanted any more."""
        conn, proc = self.conn, self.proc
        self.conn = self.proc = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join()
