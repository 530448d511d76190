"""What a peer cannot wear down: deadlines bytes do not extend, a cap on connections not yet
authenticated, a limit on bad frames, and log lines summarised instead of repeated.

Nothing here reads a socket or a clock of its own: the link tells a ``LinkGuard`` what the
framing decoder reports (the frame in progress, a bad frame, a good one) and when the peer
authenticated; the guard, asked with the link's clock, says whether the link must close
and why. ``Admission`` counts the connections not yet authenticated for the daemon's accept
loop; ``Tally`` turns a burst of one log event into one line. Limits and clock are
injected, so tests run them on a virtual clock.
"""

import threading
import time

# From connect until the device has proved its key. A microcontroller signing its AUTH
# with pure-Python Ed25519 may take a second or more, over a serial line that may lose a
# frame to noise; 15 s covers that, and no peer holds an unauthenticated place longer,
# however it trickles its bytes (a slowloris peer at 1 byte a second resets any idle timer).
HANDSHAKE_LIMIT_S = 15.0
# From a frame's first byte to its last. The largest frame (64 KiB + framing) takes about
# 6 s at 115200 baud and under 1 s at the default 921600; 20 s is room for a slow line.
FRAME_LIMIT_S = 20.0
# Connections accepted but not yet authenticated, at once; more are closed at once, with
# no thread. From one address: the simulator's rack docks 64 devices at one moment from
# one address, each at its first attempt. From all: twice that, so one address flooding
# its share leaves room for docks from every other. A held place costs a thread and a
# frame buffer, about 150 KB (64 held add 9 MB to the daemon, BENCHMARKS.md): 128 of them
# keep it under its 64 MB goal.
MAX_UNAUTHENTICATED_PER_ADDRESS = 64
MAX_UNAUTHENTICATED = 128
# Bad frames (CRC, COBS, impossible length) in a row before the link is closed. TCP
# checks its own bytes, so a bad frame there is never line noise: 8 is generous. A noisy
# serial cable can spoil a burst of frames; 64 in a row is a cable no session can use.
MAX_BAD_FRAMES_TCP = 8
MAX_BAD_FRAMES_SERIAL = 64
# A repeated log event is written once, then as one line with its count at most this often.
LOG_EVERY_S = 3.0


class Limits:
    """The limits one daemon applies; tests pass smaller ones."""

    def __init__(
        self,
        handshake_s: float = HANDSHAKE_LIMIT_S,
        frame_s: float = FRAME_LIMIT_S,
        max_unauthenticated: int = MAX_UNAUTHENTICATED,
        max_unauthenticated_per_address: int = MAX_UNAUTHENTICATED_PER_ADDRESS,
        bad_frames_tcp: int = MAX_BAD_FRAMES_TCP,
        bad_frames_serial: int = MAX_BAD_FRAMES_SERIAL,
        log_every_s: float = LOG_EVERY_S,
    ) -> None:
        self.handshake_s = handshake_s
        self.frame_s = frame_s
        self.max_unauthenticated = max_unauthenticated
        self.max_unauthenticated_per_address = max_unauthenticated_per_address
        self.bad_frames_tcp = bad_frames_tcp
        self.bad_frames_serial = bad_frames_serial
        self.log_every_s = log_every_s


class Admission:
    """Places for connections not yet authenticated: ``enter(address)`` gives a ``Ticket``,
    or None when every place (or every place for that address) is taken: close the
    connection at once. The ticket's ``release`` gives the place back."""

    def __init__(
        self,
        limit: int = MAX_UNAUTHENTICATED,
        per_address: int = MAX_UNAUTHENTICATED_PER_ADDRESS,
    ) -> None:
        self.limit = limit
        self.per_address = per_address
        self.held = 0
        self.by_address: dict = {}
        self._lock = threading.Lock()

    def enter(self, address: str) -> "Ticket | None":
        with self._lock:
            mine = self.by_address.get(address, 0)
            if self.held >= self.limit or mine >= self.per_address:
                return None
            self.held += 1
            self.by_address[address] = mine + 1
        return Ticket(self, address)

    def _leave(self, address: str) -> None:
        with self._lock:
            self.held -= 1
            left = self.by_address[address] - 1
            if left:
                self.by_address[address] = left
            else:
                del self.by_address[address]


class Ticket:
    """One place in an ``Admission``; ``release`` returns it once, however often called."""

    def __init__(self, admission: Admission, address: str) -> None:
        self.admission = admission
        self.address = address
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.admission._leave(self.address)


class LinkGuard:
    """One link's deadlines and bad-frame count, decided on the injected ``clock``."""

    def __init__(
        self,
        serial: bool = False,
        limits: "Limits | None" = None,
        clock=time.monotonic,
        ticket: "Ticket | None" = None,
    ) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        self.ticket = ticket
        self.started = clock()
        self.authenticated = False
        self.max_bad = self.limits.bad_frames_serial if serial else self.limits.bad_frames_tcp
        self.bad_in_a_row = 0
        self.frame_at = -1  # stream offset of the frame in progress, -1 for none
        self.frame_since = 0.0

    def authenticate(self) -> None:
        """The peer proved its key: no handshake deadline, and its admission place is free."""
        self.authenticated = True
        if self.ticket is not None:
            self.ticket.release()

    def frame(self, offset: int) -> None:
        """What the decoder holds after a read: the stream offset of the frame it is in
        the middle of, or -1. A new offset is a new frame; its deadline starts now."""
        if offset != self.frame_at:
            self.frame_at = offset
            self.frame_since = self.clock()

    def good_frame(self) -> None:
        self.bad_in_a_row = 0

    def bad_frame(self) -> str:
        """A frame failed its CRC (or COBS, or length); why the link must close, or ""."""
        self.bad_in_a_row += 1
        if self.bad_in_a_row >= self.max_bad:
            return "%d bad frames in a row" % self.bad_in_a_row
        return ""

    def expired(self) -> str:
        """Why the link must close now for a deadline bytes could not extend, or ""."""
        now = self.clock()
        if not self.authenticated and now - self.started > self.limits.handshake_s:
            return "no authentication within %g s of connecting" % self.limits.handshake_s
        if self.frame_at >= 0 and now - self.frame_since > self.limits.frame_s:
            return "a frame not complete within %g s of its first byte" % self.limits.frame_s
        return ""


class Tally:
    """A burst of one log event as one line: the first is logged at once, the rest are
    counted and logged with their count at most every ``every_s`` and at ``flush``."""

    def __init__(self, log, every_s: float = LOG_EVERY_S, clock=time.monotonic) -> None:
        self.log = log
        self.every_s = every_s
        self.clock = clock
        self.counts: dict = {}  # event -> [count not yet logged, since, last fields]
        self._lock = threading.Lock()

    def note(self, event: str, **fields: object) -> None:
        now = self.clock()
        with self._lock:
            held = self.counts.get(event)
            if held is None:
                self.counts[event] = [0, now, fields]
                first = True
            else:
                held[0] += 1
                held[2] = fields
                first = False
                due = now - held[1] >= self.every_s
        if first:
            self.log(event, **fields)
        elif due:
            self._flush_one(event, now)

    def _flush_one(self, event: str, now: float) -> None:
        with self._lock:
            held = self.counts.get(event)
            if held is None or held[0] == 0:
                return
            count, since, fields = held
            self.counts[event] = [0, now, fields]
        self.log(event, count=count, seconds=round(now - since, 1), **fields)

    def flush(self) -> None:
        """Log what is counted and not yet logged."""
        now = self.clock()
        for event in list(self.counts):
            self._flush_one(event, now)


# Lines held for one link until its peer names a device: a handshake's few, and a frame
# error's one (the Tally keeps it to one); more than this is dropped, never stored.
MAX_HELD_LINES = 16


class HeldLog:
    """A link's log lines, held until its peer names a device (in its HELLO), then written
    in order, and every later line at once. A peer that never names one (a port scanner,
    a flood of garbage, a slowloris) leaves no line of its own: the daemon counts it in a
    ``Tally`` instead, so a storm of such connections is a few lines, not a few per
    connection."""

    def __init__(self, log, named) -> None:
        self.log = log
        self.named = named
        self.held: list = []

    def __call__(self, event: str, **fields: object) -> None:
        if not self.named():
            if len(self.held) < MAX_HELD_LINES:
                self.held.append((event, fields))
            return
        if self.held:
            held, self.held = self.held, []
            for ev, kv in held:
                self.log(ev, **kv)
        self.log(event, **fields)
