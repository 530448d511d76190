"""Progress on the terminal: one rewritten line for long work (``Progress``), the sync
daemon's live multi-line view of its sessions (``SessionView``), and the device's side of a
dock (``DockView``). All only draw on a terminal; elsewhere the callers log lines instead."""

import shutil
import sys
import threading
import time


class Progress:
    """Shows ``label  42%  1.3 MB/s`` on one rewritten line, at most a few times a second."""

    def __init__(
        self, label: str, total: int, stream=None, clock=time.monotonic, bytes_: bool = True
    ) -> None:
        self.label = label
        self.bytes = bytes_  # counting bytes (shown as a rate in MB/s), or things (as done/all)
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
        shown = "%.1f MB/s" % (rate / 1e6) if self.bytes else "%d/%d" % (done, self.total)
        self.stream.write("\r%s  %3d%%  %s " % (self.label, 100 * done // self.total, shown))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (len(self.label) + 24) + "\r")
            self.stream.flush()


# --- the sync daemon's live view ----------------------------------------------------------

UP_TO_LINE = "\x1b[%dF"  # cursor to the start of the line N lines up
CLEAR_LINE = "\x1b[2K"
CLEAR_BELOW = "\x1b[J"
RATE_WINDOW_S = 5.0  # a session's rate is measured over about this much recent time
ID_WIDTH = 12  # device ids are usually no longer
ID_MAX = 16  # past this, an id no longer widens every row's column
LINK_MIN = 10  # a link abbreviated below this says nothing: it goes instead


def _abbreviate(text: str, width: int) -> str:
    """``text`` in ``width`` characters: its end (a port's or address's distinctive part)
    after an ellipsis."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]


def human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return "%.1f %s" % (n / size, unit)
    return "%d B" % n


def human_time(seconds: float) -> str:
    s = int(seconds + 0.5)
    if s >= 3600:
        return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)
    return "%d:%02d" % (s // 60, s % 60)


class _Row:
    """One session as the view knows it."""

    def __init__(self, link: str, now: float) -> None:
        self.link = link
        self.device = ""
        self.state = "handshake"
        self.done = 0
        self.total: int | None = None
        self.started = now
        self.ended: float | None = None
        self.outcome = ""
        self.samples: list = [(now, 0)]  # (time, bytes done), the last RATE_WINDOW_S or so

    def sample(self, now: float) -> None:
        self.samples.append((now, self.done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW_S:
            self.samples.pop(0)

    def rate(self, now: float) -> float:
        if self.ended is not None:
            return self.done / max(self.ended - self.started, 1e-6)
        t0, d0 = self.samples[0]
        return (self.done - d0) / (now - t0) if now - t0 > 0 else 0.0


class SessionView:
    """A live view of the sync daemon's sessions, redrawn in place on a terminal.

    One line per session (device, link, state, bytes done of the total, rate, time left)
    and a summary line. A session that ends stays in the view with its outcome for
    ``linger_s``, then leaves it as a permanent line above the view, where ``note`` lines
    (the daemon's own news) go too. Sessions come and go from other threads; ``draw`` is
    called from one, now and then. ``clock`` and ``width`` are injectable for tests.
    """

    def __init__(
        self,
        stream=None,
        clock=time.monotonic,
        linger_s: float = 10.0,
        width: int | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.linger_s = linger_s
        self.width = width
        self.rows: dict = {}
        self.notes: list = []  # permanent lines not yet written
        self.drawn = 0  # lines of the view on screen now
        self.finished = {"done": 0, "failed": 0, "bytes": 0}
        self.started = clock()
        self._lock = threading.Lock()

    @staticmethod
    def wanted(stream, as_json: bool) -> bool:
        """A live view makes sense on a terminal, and not when the output is JSON."""
        return not as_json and bool(getattr(stream, "isatty", lambda: False)())

    def begin(self, key: object, link: str) -> None:
        with self._lock:
            self.rows[key] = _Row(link, self.clock())

    def update(self, key: object, progress: dict) -> None:
        """Take a session's ``HostLink.progress()``."""
        with self._lock:
            row = self.rows.get(key)
            if row is None or row.ended is not None:
                return
            row.device = progress.get("device") or row.device
            row.state = progress.get("state", row.state)
            row.done = progress.get("done", row.done)
            row.total = progress.get("total", row.total)
            row.sample(self.clock())

    def end(self, key: object, summary: dict) -> None:
        """The session is over: ``summary`` is ``HostLink.run()``'s, with ``link``."""
        with self._lock:
            row = self.rows.get(key)
            if row is None:
                return
            row.ended = self.clock()
            row.device = summary.get("device") or row.device
            row.done = summary.get("bytes_stored", row.done)
            result = summary.get("result", "")
            if result == "done":
                row.total = row.done  # all of it, whatever was expected
            row.state = "done" if result == "done" else "failed"
            row.outcome = "" if result == "done" else result
            self.finished[row.state] += 1
            self.finished["bytes"] += row.done

    def note(self, line: str) -> None:
        with self._lock:
            self.notes.append(line)

    # --- drawing ---

    def _width(self) -> int:
        if self.width is not None:
            return self.width
        return shutil.get_terminal_size((100, 24)).columns

    def _line(self, row: _Row, now: float, id_width: int, width: int = 0) -> str:
        """A session's line, fitted to ``width`` columns (0: no limit): the device and its
        state always show, whole; the rate goes first, then the link is abbreviated or goes,
        then the time left, then the amount; the outcome takes what room is left."""
        if row.total is not None:
            amount = "%s / %s" % (human_bytes(row.done), human_bytes(max(row.total, row.done)))
        else:
            amount = "%s / ?" % human_bytes(row.done)
        rate = row.rate(now)
        if row.ended is not None:
            when = "in %s" % human_time(row.ended - row.started)
        elif row.total is not None and rate > 0:
            when = "%s left" % human_time(max(row.total - row.done, 0) / rate)
        else:
            when = "-"
        device = row.device or "?"
        cols = {
            "link": "%-22s" % row.link[:22],
            "amount": "%-21s" % amount,
            "rate": "%9s/s" % human_bytes(rate),
            "when": when,
        }
        keep = ["link", "amount", "rate", "when"]

        def joined() -> str:
            parts = ["%-*s" % (id_width, device)]
            parts += [cols["link"]] if "link" in keep else []
            parts.append("%-9s" % row.state)
            parts += [cols[k] for k in ("amount", "rate", "when") if k in keep]
            if row.outcome:  # why a session failed: worth more than its rate or link
                parts.append(row.outcome)
            return "  ".join(parts).rstrip()

        if width:
            # Columns line up for ids up to ID_MAX; a longer one is whole, its row shifted.
            id_width = min(id_width, ID_MAX)
            for drop in ("rate", "link", "when", "amount"):
                over = len(joined()) - width
                if over <= 0:
                    break
                if drop == "link" and 22 - over >= LINK_MIN:
                    cols["link"] = "%-*s" % (22 - over, _abbreviate(row.link, 22 - over))
                    continue
                keep.remove(drop)
        return joined()

    def render(self) -> list:
        """The view's lines as they stand now, without escape sequences."""
        now = self.clock()
        width = self._width()
        with self._lock:
            for key in [k for k, r in self.rows.items() if r.ended is not None]:
                row = self.rows[key]
                if now - row.ended >= self.linger_s:
                    self.notes.append(self._line(row, now, ID_WIDTH))
                    del self.rows[key]
            rows = list(self.rows.values())
            active = [r for r in rows if r.ended is None]
            id_width = max([len(r.device or "?") for r in rows] + [ID_WIDTH])
            lines = [self._line(r, now, id_width, width)[:width] for r in rows]
            rate = sum(r.rate(now) for r in active)
            done = self.finished["bytes"] + sum(r.done for r in active)
            summary = "%d active, %d done, %d failed  |  %s stored  |  %s/s now  |  up %s" % (
                len(active),
                self.finished["done"],
                self.finished["failed"],
                human_bytes(done),
                human_bytes(rate),
                human_time(now - self.started),
            )
            lines.append(summary[:width])
        return lines

    def frame(self) -> str:
        """What ``draw`` writes: back to the top of the last view, the new notes, the view."""
        lines = self.render()
        with self._lock:
            notes, self.notes = self.notes, []
        width = self._width()
        out = [UP_TO_LINE % self.drawn if self.drawn else "\r"]
        for line in notes:
            out.append(CLEAR_LINE + line[:width] + "\n")
        for line in lines:
            out.append(CLEAR_LINE + line + "\n")
        out.append(CLEAR_BELOW)
        self.drawn = len(lines)
        return "".join(out)

    def draw(self) -> None:
        self.stream.write(self.frame())
        self.stream.flush()

    def close(self) -> None:
        """Leave every session as a permanent line, and the summary under them."""
        with self._lock:
            for row in self.rows.values():
                if row.ended is None:  # the daemon is stopping under it
                    row.ended = self.clock()
                    row.state = "stopped"
            self.linger_s = 0.0
        self.draw()
        self.drawn = 0


# --- the device's side of a dock ----------------------------------------------------------

# What a person reads for the device session's state (protocol.device_session's D_* order).
DOCK_STATES = (
    "connecting",  # IDLE: the host's HELLO not yet in
    "handshake",  # AUTH
    "host working",  # READY: the host checks, stores or asks for the next thing
    "sending entries",  # SENDING
    "sending media",  # MEDIA
    "factory",  # FACTORY
    "factory",  # KEYGEN
    "factory",  # DONE
    "host's time",  # ANSWER: a TIME or CONFIG being judged
    "closed",  # CLOSED
)


def dock_state(state: int, receipts: int) -> str:
    """The words for a device session's state; once a receipt is in, the host has it all."""
    if receipts and state != len(DOCK_STATES) - 1:
        return "receipt in"
    return DOCK_STATES[state] if 0 <= state < len(DOCK_STATES) else "?"


class DockView:
    """The device's side of a dock on one rewritten line, as the host's view shows its
    side: ``SC-0001 -> tcp:HOST:PORT  sending media  1.2 MB sent  300 kB/s  0:04``.
    Redrawn at most every ``every_s`` (at once when the state changes); ``close`` leaves the
    outcome as a last line. Draws only on a terminal; ``clock`` and ``width`` for tests."""

    def __init__(
        self,
        label: str,
        stream=None,
        clock=time.monotonic,
        width: int | None = None,
        every_s: float = 0.2,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.width = width
        self.every_s = every_s
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = clock()
        self.shown_at = -1.0
        self.state = ""
        self.sent = 0
        self.received = 0

    def line(self) -> str:
        elapsed = self.clock() - self.started
        rate = self.sent / elapsed if elapsed > 0 else 0.0
        text = "%s  %s  %s sent  %s/s  %s" % (
            self.label,
            self.state,
            human_bytes(self.sent),
            human_bytes(rate),
            human_time(elapsed),
        )
        width = self.width or shutil.get_terminal_size((80, 24)).columns
        return text[: max(width - 1, 1)]  # the last column would wrap on some terminals

    def update(self, state: str, sent: int, received: int) -> None:
        self.sent, self.received = sent, received
        now = self.clock()
        if state == self.state and now - self.shown_at < self.every_s:
            return
        self.state = state
        self.shown_at = now
        if self.enabled:
            self.stream.write("\r" + CLEAR_LINE + self.line())
            self.stream.flush()

    def close(self, outcome: str) -> None:
        """Leave the last state on screen with the outcome after it."""
        if self.enabled:
            self.state = outcome
            self.stream.write("\r" + CLEAR_LINE + self.line() + "\n")
            self.stream.flush()
