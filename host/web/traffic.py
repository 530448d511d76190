"""The requests under way, so that the server's background work gives them the process first.

The page runs in one Python process, and its background work (each chunk's media checked
against its signed hash, ``footage.Checks``; recordings' views made ahead, ``prepare``) is
Python that holds the interpreter's lock while it runs. A request spends its time in short
turns between system calls (a file read, a socket write), and after each one it waits for
that lock: against a thread that never blocks, up to the interpreter's switch interval
(5 ms) a turn. A seek of a few dozen turns then took three times as long while a ten-hour
recording's 36,000 chunks were checked beside it.

So the background work asks ``give_way()`` between its steps (one chunk's check, one
recording): while a request is under way it waits until none is, at most ``most_wait_s``,
then runs for a slice of ``slice_s`` before it asks again. Under a steady stream of
requests it still goes on (a slice each ``most_wait_s``); between requests it runs at full
speed. The requests are counted by ``Counted``, the application's outermost layer: from
the moment a request arrives until its answer's last byte is sent.
"""

import threading
import time
from typing import Any

MOST_WAIT_S = 0.25  # how long a background step waits for a quiet moment, at most
SLICE_S = 0.02  # how long it then runs before it asks again


class Traffic:
    """How many requests are under way, and a wait for none to be."""

    def __init__(self, most_wait_s: float = MOST_WAIT_S, slice_s: float = SLICE_S) -> None:
        self.most_wait_s = most_wait_s
        self.slice_s = slice_s
        self._under_way = 0
        self._quiet = threading.Condition()
        self._slice = threading.local()  # each background thread's slice: until when
        self.waits = 0  # steps that waited for a request to end (for tests and benchmarks)

    def enter(self) -> None:
        with self._quiet:
            self._under_way += 1

    def leave(self) -> None:
        with self._quiet:
            self._under_way -= 1
            if self._under_way == 0:
                self._quiet.notify_all()

    @property
    def under_way(self) -> int:
        return self._under_way

    def give_way(self) -> None:
        """Called by background work between its steps: returns at once within the
        thread's slice, else once no request is under way (or ``most_wait_s`` has passed),
        starting the thread's next slice."""
        now = time.monotonic()
        if now < getattr(self._slice, "until", 0.0):
            return
        with self._quiet:
            if self._under_way:
                self.waits += 1
                self._quiet.wait_for(lambda: self._under_way == 0, timeout=self.most_wait_s)
        self._slice.until = time.monotonic() + self.slice_s


class Counted:
    """An ASGI application's requests counted in ``traffic`` while they are under way."""

    def __init__(self, app: Any, traffic: Traffic) -> None:
        self.app = app
        self.traffic = traffic

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        self.traffic.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.traffic.leave()


__all__ = ["Counted", "Traffic"]
