"""What the page derives from a ledger and keeps: a recording's view (``recordview``), a
device's compliance flags (``dashboard``).

Each is kept by name (a recording's id, a device's) as of the ledger's last seq it was
derived from, and looked for in three places, cheapest first: here in memory; in the store,
where an earlier server kept it (a lookup); else made again from the entries (seconds for
a long ledger), one maker per name at a time, so that twenty reviewers opening the same
recording wait for one parse, and then kept in the store for the next server. A thing
derived from an older ledger never replaces one derived from a newer one here: a page that
read the ledger before a dock gets what it asked for, and the next page the newer one.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """Things derived from ledgers, by name and last seq (``seq``; None: an empty ledger),
    at most ``limit`` of them in memory (None: no limit), the least recently used dropped
    first."""

    def __init__(self, limit: "int | None" = None) -> None:
        self.limit = limit
        self._kept: OrderedDict[str, tuple[int | None, T]] = OrderedDict()
        # Per name being made: its maker's lock, and how many hold it or wait for it. The
        # entry goes only when that count is back to nought: a lock dropped while another
        # waits for it would let the next caller make a lock of its own, and two make at once.
        self._making: dict[str, tuple[threading.Lock, list[int]]] = {}
        self._lock = threading.Lock()

    def known(self, name: str, seq: "int | None") -> "T | None":
        """What is kept here for ``name`` as of ``seq``, or None."""
        with self._lock:
            got = self._kept.get(name)
            if got is None or got[0] != seq:
                return None
            self._kept.move_to_end(name)
            return got[1]

    def ready(self, name: str, seq: "int | None", stored: "Callable[[], T | None]") -> "T | None":
        """What costs no making: kept here, else ``stored()`` (kept in the store, or None);
        None at once while it is being made (by another request, or the preparer)."""
        got = self.known(name, seq)
        if got is not None:
            return got
        with self._lock:
            if name in self._making:
                return None
        got = stored()
        if got is not None:
            self._put(name, seq, got)
        return got

    def get(
        self,
        name: str,
        seq: "int | None",
        stored: "Callable[[], T | None]",
        make: "Callable[[], T]",
        keep: "Callable[[T], None] | None" = None,
    ) -> T:
        """Kept here, else ``stored()``, else ``make()`` (then ``keep``: into the store),
        one maker per name at a time."""
        got = self.known(name, seq)
        if got is not None:
            return got
        with self._lock:
            making, users = self._making.setdefault(name, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with making:
                got = self.known(name, seq)  # made meanwhile, by the one before
                if got is not None:
                    return got
                got = stored()
                if got is None:
                    got = make()
                    if keep is not None:
                        keep(got)
                self._put(name, seq, got)
                return got
        finally:  # made or failed: no longer "being made" (``ready``), once nobody waits
            with self._lock:
                users[0] -= 1
                if users[0] == 0:
                    del self._making[name]

    def drop(self, name: str) -> None:
        """Forget what is kept here for ``name``."""
        with self._lock:
            self._kept.pop(name, None)

    def snapshot(self) -> "dict[str, tuple[int | None, T]]":
        """Everything kept here: name -> (seq, thing)."""
        with self._lock:
            return dict(self._kept)

    def _put(self, name: str, seq: "int | None", thing: T) -> None:
        with self._lock:
            old = self._kept.get(name)
            if old is not None and _newer(old[0], seq):
                return  # derived from a newer ledger already: kept as it is
            self._kept[name] = (seq, thing)
            self._kept.move_to_end(name)
            while self.limit is not None and len(self._kept) > self.limit:
                self._kept.popitem(last=False)


def _newer(kept: "int | None", seq: "int | None") -> bool:
    """Whether a ledger with last seq ``kept`` is newer than one with ``seq``."""
    return kept is not None and (seq is None or kept > seq)


__all__ = ["Kept"]
