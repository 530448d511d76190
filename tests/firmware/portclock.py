"""What the CPython port's capture tests share (CPython only: threads): the device they
record as, the room of their capture queues, and a virtual clock the capture threads pace
themselves on."""

import threading

SEED = bytes(range(32))
DEVICE = "SC-0042"
# On a virtual clock the file plays as fast as the machine reads it, faster than signing:
# a queue with room for every frame keeps the counts exact (drops are the run loop's tests).
ROOM = 128


class VirtualClock:
    """Shared by the capture threads: a pacing sleep moves it to the sleeper's due time.

    A sleeper reads the clock, then sleeps for what is left until its due time; another
    thread may move the clock in between. The due time counts from the sleeper's own
    reading, and the clock never goes back, so two threads sleeping at once end at the
    later due time, as on a real clock, not at the sum of their waits."""

    def __init__(self) -> None:
        self.mono = 0
        self.lock = threading.Lock()
        self.read = threading.local()  # each thread's last reading

    def wall_ms(self) -> int:
        return 1_800_000_000_000 + self.mono

    def mono_ms(self) -> int:
        self.read.mono = self.mono
        return self.read.mono

    def is_set(self) -> bool:
        return True

    def sleep(self, seconds: float) -> None:
        with self.lock:
            due = getattr(self.read, "mono", self.mono) + max(0, round(seconds * 1000))
            self.mono = max(self.mono, due)
