"""Calls run on a few daemon threads: threads that never hold the process's end.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits,
even after ``shutdown(wait=False)``: a call stuck on a peer that never answers (an object
store waiting out its client's timeouts and retries) then keeps a server that was asked to
stop alive for minutes. A ``DaemonPool`` runs its calls on daemon threads instead, so what
it runs must be safe to cut off anywhere: the scale-out store's uploads (an object is
recorded only once stored and confirmed), its lock passes (each one's objects stay
noted as owed until it has set their locks), and the reads of objects and of their locks
(``host.mediasource``, ``host.medialocks``: a read cut off changes nothing) are.
"""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class NoThread(Exception):
    """Not one of a pool's threads could be started (the system refused new threads): the
    call was not queued. Apart from the RuntimeError of a pool shut down, which a caller
    reads as "stopping"."""


def run_here(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` run in this thread, its result or error in a future: for a caller
    whose pool could start no thread (``NoThread``) and that can do the work itself."""
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:  # the caller's to judge, through the future
        future.set_exception(exc)
    return future


class DaemonPool:
    """``submit`` and ``shutdown`` as an executor has them, and ``join`` with a bound.
    ``workers`` calls run at once, started in the order given: with one, one after
    another in that order. The threads start at the first call; those the system refused
    then are tried again at the next."""

    def __init__(self, name: str, workers: int = 1) -> None:
        self.name = name
        self.workers = workers
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._shut = False
        self._threads = 0  # started (the system may refuse some)
        self._unfinished = 0  # calls taken that have not ended (run, failed or cancelled)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """``fn(*args)`` queued after the calls before it; RuntimeError once shut down,
        NoThread when no thread runs the pool's calls and none could be started."""
        future: Future = Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("%s is shut down" % self.name)
            while self._threads < self.workers:
                n = self._threads
                name = self.name if self.workers == 1 else "%s_%d" % (self.name, n)
                try:
                    threading.Thread(target=self._work, name=name, daemon=True).start()
                except RuntimeError as exc:  # "can't start new thread"
                    if self._threads == 0:
                        raise NoThread("%s: %s" % (self.name, exc)) from None
                    break  # those started run the calls; the rest are tried again later
                self._threads += 1
            self._unfinished += 1
            self._calls.put((future, fn, args))
        return future

    def shutdown(self, cancel_futures: bool = False) -> None:
        """No call is taken after this; those queued still run, unless ``cancel_futures``:
        then those not started are cancelled. Never waits for those running."""
        with self._lock:
            self._shut = True
            if cancel_futures:
                while True:
                    try:
                        call = self._calls.get_nowait()
                    except queue.Empty:
                        break
                    if call is not None:
                        call[0].cancel()
                        self._ended()
            for _ in range(self._threads):
                self._calls.put(None)  # a worker ends once it reaches one

    def join(self, timeout: float) -> bool:
        """Wait until every call taken has ended, ``timeout`` seconds at most; whether
        they have."""
        with self._lock:
            return self._lock.wait_for(lambda: self._unfinished == 0, timeout)

    def _ended(self) -> None:
        with self._lock:
            self._unfinished -= 1
            self._lock.notify_all()

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            future, fn, args = call
            try:
                if not future.set_running_or_notify_cancel():
                    continue  # cancelled by its caller before it started
                try:
                    result = fn(*args)
                except BaseException as exc:  # the caller's to judge, through the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            finally:
                self._ended()
