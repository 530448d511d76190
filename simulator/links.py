"""Real links for virtual devices: two pseudo-terminals joined like a USB cable, with faults.

The host daemon opens one end with pyserial exactly as it would ``/dev/ttyACM0``; the virtual
device opens the other. Between them a relay thread carries the bytes, and on the way can flip
bits, drop bytes, stall, or pull the cable after a number of bytes, up to a budget of faults
after which the link heals.
"""
# micropython: skip (pseudo-terminals and threads are the simulator's, on CPython)

import os
import random
import select
import termios
import threading
import tty


class LinkFaults:
    """What the cable does to the bytes it carries; zero turns a fault off."""

    def __init__(
        self,
        flip_every: int = 0,
        drop_every: int = 0,
        stall_ms: int = 0,
        disconnect_after: int = 0,
        budget: int = 8,
        seed: int = 0,
    ) -> None:
        self.flip_every = flip_every  # flip one bit in about every N bytes
        self.drop_every = drop_every  # drop one byte in about every N bytes
        self.stall_ms = stall_ms  # once, after the first 4 KiB: carry nothing for this long
        self.disconnect_after = disconnect_after  # carry nothing more after N bytes
        self.budget = budget  # flips and drops in all; then the line is clean
        self.rng = random.Random(seed)
        self.flipped = 0
        self.dropped = 0
        self.stalled = False
        self.disconnected = False
        self.carried = 0

    @property
    def any(self) -> bool:
        return bool(self.flip_every or self.drop_every or self.stall_ms or self.disconnect_after)

    def injure(self, data: bytes) -> bytes:
        """The bytes as they come out of the far end (b"" once the cable is pulled)."""
        if self.disconnected:
            return b""
        if self.disconnect_after and self.carried + len(data) >= self.disconnect_after:
            self.disconnected = True
            data = data[: max(self.disconnect_after - self.carried, 0)]
        self.carried += len(data)
        out = bytearray(data)
        for every, kind in ((self.flip_every, "flip"), (self.drop_every, "drop")):
            if not every or not out or self.flipped + self.dropped >= self.budget:
                continue
            if self.rng.random() < min(1.0, len(out) / every):
                i = self.rng.randrange(len(out))
                if kind == "flip":
                    out[i] ^= 1 << self.rng.randrange(8)
                    self.flipped += 1
                else:
                    del out[i]
                    self.dropped += 1
        return bytes(out)

    def next_attempt(self) -> None:
        """The cable is plugged in again: noise goes on until its budget is spent, but a
        stall and a pull happen once."""
        self.stall_ms = 0
        self.disconnect_after = 0
        self.disconnected = False
        self.carried = 0

    def summary(self) -> dict:
        return {
            "bits_flipped": self.flipped,
            "bytes_dropped": self.dropped,
            "stalled_ms": self.stall_ms if self.stalled else 0,
            "disconnected_after": self.carried if self.disconnected else None,
        }


def _raw_pty() -> tuple:
    master, slave = os.openpty()
    tty.setraw(slave, termios.TCSANOW)
    # The relay never blocks on one end, so a port nobody reads cannot stall the other way.
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


class Cable:
    """Two pseudo-terminals and the relay between them: ``host_port`` and ``device_port``
    are device paths that pyserial opens."""

    def __init__(self, faults: "LinkFaults | None" = None) -> None:
        self.faults = faults or LinkFaults()
        self._host_master, self._host_slave, self.host_port = _raw_pty()
        self._dev_master, self._dev_slave, self.device_port = _raw_pty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="cable", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        other = {self._host_master: self._dev_master, self._dev_master: self._host_master}
        pending = {fd: b"" for fd in other}  # bytes on their way into that master
        while not self._stop.is_set():
            # Backpressure as on a wire: a side is read only once what it sent before has
            # gone out of the other end, so a slow reader slows its sender and nothing is
            # dropped; a reader that never reads stalls only its own direction.
            readable = [fd for fd in other if not pending[other[fd]]]
            writable = [fd for fd in other if pending[fd]]
            ready, out, _ = select.select(readable, writable, [], 0.05)
            for fd in out:
                try:
                    n = os.write(fd, pending[fd])
                except BlockingIOError:
                    continue
                except OSError:
                    n = len(pending[fd])  # that end is gone: the bytes fall on the floor
                pending[fd] = pending[fd][n:]
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue  # the far end is not open yet (or closed): nothing to carry
                self._maybe_stall()
                pending[other[fd]] += self.faults.injure(data)

    def _maybe_stall(self) -> None:
        f = self.faults
        if f.stall_ms and not f.stalled and f.carried >= 4096:
            f.stalled = True
            # A stalled line carries nothing; the relay simply waits (real time: it is a link).
            self._stop.wait(f.stall_ms / 1000)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in (self._host_master, self._host_slave, self._dev_master, self._dev_slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "Cable":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
