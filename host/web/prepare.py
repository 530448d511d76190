"""Recordings' pages made ready before anyone asks: when a dock brings a recording, or more
of one, the server makes what its page needs (``recordview``) and keeps it in the store.

A ten-hour recording is 36,000 entries, seconds of parsing; done while a person waits, that
is their first look. ``sealcam serve`` runs a ``Preparer`` beside the page instead: a thread
that looks every ``poll_s`` seconds for what the ledger holds that the items index has not
read (one indexed lookup per device), brings the index up to it, and makes the view of
every recording that has none kept for its last seq, the newest first. The view is derived
from the signed entries, as the index is; nothing it holds is a verdict (the chunks' media
are checked when a page shows them, ``footage.Checks``).
"""

import threading
from typing import TYPE_CHECKING

from host import items
from host.web.recordview import VERSION, Views

if TYPE_CHECKING:
    from host.access import Store

POLL_S = 2.0  # how soon after a dock its recordings are made ready, at most (plus the work)

_WANTING = """
SELECT i.item_id FROM items i
WHERE i.kind = ? AND NOT EXISTS (
    SELECT 1 FROM web_views v
    WHERE v.item_id = i.item_id AND v.last_seq = i.last_seq AND v.version = ?)
ORDER BY i.started_ms DESC, i.item_id
"""


def wanting(store: "Store") -> "list[str]":
    """The recordings whose view is not kept for their last seq, newest first."""
    with store.read() as cur:
        return [r[0] for r in cur.execute(_WANTING, (items.RECORDING, VERSION)).fetchall()]


def once(store: "Store", views: Views, stop: "threading.Event | None" = None) -> int:
    """Bring the items index up to the ledger and make every wanting view; how many were
    made. Stops early once ``stop`` is set."""
    with store.read() as cur:
        behind = items.behind(cur)
    if behind:
        with store.write() as cur:
            items.refresh(cur)
    made = 0
    for item_id in wanting(store):
        if stop is not None and stop.is_set():
            break
        with store.read() as cur:
            item = items.get(cur, item_id)
        views.get(store.read, item, store.write)
        made += 1
    return made


class Preparer:
    """``once`` now and every ``poll_s`` seconds after, in a thread, until ``stop``."""

    def __init__(self, store: "Store", views: Views, poll_s: float = POLL_S) -> None:
        self.store = store
        self.views = views
        self.poll_s = poll_s
        self.made = 0
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prepare-views", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 60.0) -> None:
        """Stop after the view under way (a ten-hour one: seconds), waiting at most
        ``wait_s``; the store may then be closed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.made += once(self.store, self.views, self._stop)
            except Exception:  # a store busy or closing: the next round tries again
                pass
            self.rounds += 1
            self._stop.wait(self.poll_s)


__all__ = ["POLL_S", "Preparer", "once", "wanting"]
