"""The cadenced signer: a slow signer signs every K-th entry, K set by what signing costs.

``protocol.cadence.SigningCadence`` does the arithmetic; this module takes its measurements.
Every signature is timed with the processor's own microsecond counter (what the signer
really costs, whatever the agent's clock says), and the time between entries is read from
the agent's clock (real on a board, virtual in the simulator), so K follows the footage.
The K chosen becomes the ledger writer's ``sign_every`` from the next entry on; the writer
still signs forced entries at once and never leaves more unsigned than a reader holds.
"""

import time

from protocol.cadence import SigningCadence
from protocol.signer import Ed25519Signer

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware.hal import Clock
    from protocol.ledger import LedgerWriter

# MicroPython counts microseconds with ticks_us, which wraps (differences go through
# ticks_diff); CPython has no ticks, and its nanosecond clock serves.
_ticks_us = getattr(time, "ticks_us", None)
_ticks_diff = getattr(time, "ticks_diff", None)


def ticks_us() -> int:
    """A microsecond count for timing one call; only differences (``elapsed_us``) mean."""
    ticks = _ticks_us
    if ticks is not None:
        return ticks()
    return time.time_ns() // 1000


def elapsed_us(start: int) -> int:
    """Microseconds since ``start``, a value of ``ticks_us`` (never below 0)."""
    diff = _ticks_diff
    if diff is not None:
        return max(0, diff(ticks_us(), start))
    return max(0, ticks_us() - start)


class CadencedSigner(Ed25519Signer):
    """Signs with ``inner``; after each signature sets the followed writer's ``sign_every``.

    ``follow`` names the writer once it exists (the recorder makes it from this signer).
    ``ticks`` replaces the processor's microsecond counter (tests give a counter they move).
    """

    def __init__(
        self,
        inner: Ed25519Signer,
        cadence: SigningCadence,
        clock: "Clock",
        ticks: "Callable[[], int] | None" = None,
    ) -> None:
        self.inner = inner
        self.ticks = ticks
        self.name = inner.name + " (cadenced)"
        self.cadence = cadence
        self.clock = clock
        self.writer: LedgerWriter | None = None
        self.last_seq = -1  # the writer's seq at the last signature (-1: none yet)
        self.last_mono = 0
        self.k_max = 1  # the highest K chosen so far, for reports

    def follow(self, writer: "LedgerWriter") -> None:
        self.writer = writer

    def public_key(self) -> bytes:
        return self.inner.public_key()

    def sign(self, message: bytes) -> bytes:
        ticks = self.ticks
        start = ticks() if ticks is not None else ticks_us()
        signature = self.inner.sign(message)
        cost = ticks() - start if ticks is not None else elapsed_us(start)
        writer = self.writer
        if writer is not None:
            seq = writer.seq  # the entry being signed: the ones since the last signature
            mono = self.clock.mono_ms()
            entries = seq - self.last_seq
            span = mono - self.last_mono
            if self.last_seq >= 0 and entries > 0 and span > 0:
                k = self.cadence.observe(cost, span * 1000 // entries)
                writer.sign_every = k
                if k > self.k_max:
                    self.k_max = k
            self.last_seq = seq
            self.last_mono = mono
        return signature
