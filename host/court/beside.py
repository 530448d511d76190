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

import threading
from collections.abc import Callable
from typing import Any, TypeGuard

from host import forking

_FAILED = object()  # a job the process did not finish: run it here


def _serve(conn: Any, shared: object) -> None:
    """The forked process: run each job received, in order, and answer its result."""
    import queue

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
        # Forked whatever the cores: the export it runs beside waits on the disk. Not from
        # a process of other threads (a web server's worker, the demo's daemon threads):
        # ``host.forking`` refuses, and every job runs here.
        self._proc = forking.Forked.start(_serve, shared, duplex=True)

    @property
    def forked(self) -> bool:
        """Whether jobs run in another process (else each runs here when asked for)."""
        return self._proc is not None and self._proc.alive

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Start ``fn(shared, *args)`` beside; the ticket to ask for its result with."""
        ticket = self._next
        self._next += 1
        self._jobs[ticket] = (fn, args)
        if self._proc is not None:
            self._proc.send((ticket, fn, args))
        return ticket

    def result(self, ticket: int) -> Any:
        """The result of job ``ticket`` (run here if the process could not give it)."""
        if ticket in self._given:
            return self._given[ticket]

        def answer(got: object) -> TypeGuard[tuple]:
            # (ticket, done, value) of a job sent: anything else is not what the process says
            return type(got) is tuple and len(got) == 3 and got[0] in self._jobs

        proc = self._proc
        while ticket not in self._done and proc is not None and proc.alive:
            got = proc.receive(answer)
            if got is not None:
                self._done[got[0]] = got[2] if got[1] else _FAILED
        value = self._done.pop(ticket, _FAILED)
        fn, args = self._jobs.pop(ticket)
        if value is _FAILED:
            value = fn(self._shared, *args)
        self._given[ticket] = value
        return value

    def close(self) -> None:
        """End the process (at once: whatever it still does is not wanted any more)."""
        if self._proc is not None:
            self._proc.close()
