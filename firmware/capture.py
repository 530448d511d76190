"""The bounded queue between capture and the agent (R-DEV-6: capture never waits).

The camera side only ever puts: when the agent has fallen behind and the queue is full, the
frame is dropped at once and counted, so capture never stalls on signing, sealing or
storage. The agent side drains the queue and turns every drop into a signed overrun event
naming how many frames were lost and when: a loss is always visible, never silent.
"""

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Protocol

    class Lock(Protocol):
        """What the queue needs of a lock (``threading.Lock`` is one): a context manager
        that lets exceptions through."""

        def __enter__(self) -> object: ...

        def __exit__(
            self,
            __kind: "type[BaseException] | None",
            __exc: "BaseException | None",
            __tb: "TracebackType | None",
        ) -> None: ...


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class CaptureQueue:
    """Frames waiting for the agent, at most ``capacity`` of them."""

    def __init__(self, capacity: int = 8, lock: "Lock | None" = None) -> None:
        if capacity < 1:
            raise ValueError("a capture queue holds at least one frame")
        self.capacity = capacity
        # A port with a capture thread passes a real lock; single-threaded ports need none.
        self.lock: Lock = lock if lock is not None else _NoLock()
        self.items: list = []
        self.dropped = 0
        self.first_drop_ms = 0
        self.last_drop_ms = 0

    def put(self, item: object, wall_ms: int) -> bool:
        """Queue a captured frame; False if it was dropped because the queue is full."""
        with self.lock:
            if len(self.items) < self.capacity:
                self.items.append(item)
                return True
            if self.dropped == 0:
                self.first_drop_ms = wall_ms
            self.dropped += 1
            self.last_drop_ms = wall_ms
            return False

    def get(self) -> object:
        """The oldest queued frame, or None."""
        with self.lock:
            return self.items.pop(0) if self.items else None

    def take_drops(self) -> "tuple | None":
        """``(count, first_ms, last_ms)`` of the frames dropped since the last call, or None."""
        with self.lock:
            if not self.dropped:
                return None
            out = (self.dropped, self.first_drop_ms, self.last_drop_ms)
            self.dropped = 0
            return out
