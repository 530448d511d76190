"""Work done one call at a time, in the order given, on one thread that never holds the
process's end.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits,
even after ``shutdown(wait=False)``: a call stuck on a peer that never answers (an object
store waiting out its client's timeouts and retries) then keeps a server that was asked to
stop alive for minutes. A ``Lane`` runs its calls on a daemon thread instead, so what it
does must be safe to cut off anywhere: the scale-out store's lock passes are (each one's
objects stay noted as owed until it has set their locks).
"""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Lane:
    """``submit`` and ``shutdown`` as an executor of one worker has them; the worker is a
    daemon thread, started at the first call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._shut = False
        self._worker: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """``fn(*args)`` queued after the calls before it; RuntimeError once shut down."""
        future: Future = Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("%s is shut down" % self.name)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._worker.start()
            self._calls.put((future, fn, args))
        return future

    def shutdown(self, cancel_futures: bool = False) -> None:
        """No call is taken after this; those queued still run, unless ``cancel_futures``:
        then those not started are cancelled. Never waits for the one running."""
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
            self._calls.put(None)  # the worker ends once it reaches this

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            future, fn, args = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # the caller's to judge, through the future
                future.set_exception(exc)
            else:
                future.set_result(result)
