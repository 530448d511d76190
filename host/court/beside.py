"""Work a court package does beside its media's copy, in a process forked for it.

Most of making a package is exporting its media: the kernel copies the fragments and the
export hashes them as they land, waiting on the disk in between. The rest is Python work
that needs no media: the inclusion proofs of thousands of entries, and the loading of the
note's PDF library (WeasyPrint), then the PDF. Done in this process it comes before or
after the export and adds to its time; in a thread it would share the interpreter lock with
the export's checks. In a process forked at the package's start it runs on the other core
while the export waits on the disk, and shares, copy-on-write, what this process had made
before the fork (the host log's tree).

A job is a module-level function and its (picklable) arguments; it is called with the
object given at the fork (``shared``) first. Jobs run one after another in the order given;
their results are asked for in any order. Where no process can be forked, or the process
fails a job or is gone, or this process runs other threads (see ``Beside``), the job is run
here when its result is asked for, so the result, or the error the job raises, is the same
as if it had never left this process.
"""

import multiprocessing
import signal
import threading
from collections.abc import Callable
from typing import Any

from host import forking

_FAILED = object()  # a job the process did not finish: run it here


def _serve(conn: Any, shared: object) -> None:
    """The forked process: run each job received, in order, and answer its result."""
    import queue

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command handles Ctrl-C
    jobs: Any = queue.SimpleQueue()

    def receive() -> None:
        # Taken off the pipe at once, even while a job runs, so that the sender never
        # waits on a full pipe for a long job to end.
        while True:
            try:
                jobs.put(conn.recv())
            except (EOFError, OSError):
                jobs.put(None)
                return

    threading.Thread(target=receive, daemon=True).start()
    while True:
        job = jobs.get()
        if job is None:
            return
        ticket, fn, args = job
        try:
            value, ok = fn(shared, *args), True
        except BaseException:  # the caller runs the job itself and meets the error there
            value, ok = None, False
        try:
            conn.send((ticket, ok, value))
        except (OSError, ValueError):
            return


class Beside:
    """Jobs run in a process forked now (see the module's docstring)."""

    def __init__(self, shared: object) -> None:
        self._shared = shared
        self._jobs: dict = {}  # ticket -> (fn, args) not yet answered
        self._done: dict = {}  # ticket -> result answered before it was asked for
        self._given: dict = {}  # ticket -> result given to the caller
        self._next = 0
        self._conn: Any = None
        self._proc: Any = None
        # Forked only from a process of one thread: a lock another thread holds at the fork
        # (an import's, a logger's) stays held in the child for ever, and a job that needs
        # it never ends (a web server's worker thread, the demo's daemon threads).
        if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
            return
        try:
            context = multiprocessing.get_context("fork")
            mine, theirs = context.Pipe()
            proc = context.Process(target=_serve, args=(theirs, shared), daemon=True)
            # A finaliser of an object inherited (a database's, a stopped server's) run in
            # the child can wait for ever on a lock (the demo's package hung on one).
            forking.start(proc)
            theirs.close()
            self._conn, self._proc = mine, proc
        except (OSError, ValueError):
            pass

    @property
    def forked(self) -> bool:
        """Whether jobs run in another process (else each runs here when asked for)."""
        return self._conn is not None

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Start ``fn(shared, *args)`` beside; the ticket to ask for its result with."""
        ticket = self._next
        self._next += 1
        self._jobs[ticket] = (fn, args)
        if self._conn is not None:
            try:
                self._conn.send((ticket, fn, args))
            except (OSError, ValueError):
                self._lost()
        return ticket

    def result(self, ticket: int) -> Any:
        """The result of job ``ticket`` (run here if the process could not give it)."""
        if ticket in self._given:
            return self._given[ticket]
        while ticket not in self._done and self._conn is not None:
            try:
                got = self._conn.recv()
            except (OSError, EOFError):
                self._lost()
                break
            if type(got) is not tuple or len(got) != 3 or got[0] not in self._jobs:
                self._lost()  # not what the process says: believe nothing more of it
                break
            self._done[got[0]] = got[2] if got[1] else _FAILED
        value = self._done.pop(ticket, _FAILED)
        fn, args = self._jobs.pop(ticket)
        if value is _FAILED:
            value = fn(self._shared, *args)
        self._given[ticket] = value
        return value

    def _lost(self) -> None:
        self.close()

    def close(self) -> None:
        """End the process (at once: whatever it still does is not wanted any more)."""
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            conn.close()
        if proc is not None:
            proc.kill()
            proc.join()
