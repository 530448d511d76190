"""A progress line on the terminal for long work; silent when stderr is not a terminal."""

import sys
import time


class Progress:
    """Shows ``label  42%  1.3 MB/s`` on one rewritten line, at most a few times a second."""

    def __init__(self, label: str, total: int, stream=None, clock=time.monotonic) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = clock()
        self.shown_at = -1.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.shown_at < 0.2 and done < self.total:
            return
        self.shown_at = now
        rate = done / max(now - self.start, 1e-6)
        self.stream.write(
            "\r%s  %3d%%  %.1f MB/s " % (self.label, 100 * done // self.total, rate / 1e6)
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (len(self.label) + 24) + "\r")
            self.stream.flush()
