"""Recordings' pages made ready before anyone asks: when a dock brings a recording, or more
of one, the server makes what its page needs (``recordview``) and keeps it in the store.

A ten-hour recording is 36,000 entries, seconds of parsing; done while a person waits, that
is their first look. ``sealcam serve`` runs a ``Preparer`` beside the page instead: a thread
that looks every ``poll_s`` seconds for what the ledger holds that the items index has not
read (one indexed lookup per device), brings the index up to it, and makes the view of
every recording that has none kept for its last seq, the newest first; and checks its
chunks' media against their signed hashes (``footage.Checks``, the page's own, within a
budget) before it keeps the view, so that the first look shows their states instead of
"checking". The view is derived from the signed entries, as the index is; the checks'
results are what a page would have found itself, and a chunk not checked yet is shown so.

A page that finds its recording's view not made yet does not make it: it is shown at once
without what needs the view, and asks the preparer for it (``Views.ask``), which wakes and
takes it before anything else; the page then fetches the missing parts once ready. The
dashboard's costly part, every device's compliance flags over its whole ledger, is made
here too, each round, for the devices whose ledger grew (``dashboard.all_flags``).

A recording that cannot be prepared (its media unreadable where a file should be, entries
the view cannot be made of) is said once in the server's log, with its device and number,
and its page says so instead of waiting (``Views.could_not``); it is tried again when the
recording grows, or by the next server. The store itself failing (locked, away) is not the
recording's fault: the round ends, said once in the log, and the next round tries again.
"""

import logging
import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from host import i18n, items
from host.evidence import EvidenceError
from host.mediasource import MediaUnreachable
from host.web import dashboard
from host.web.recordview import FLAGS, VERSION, Views, keep_in_store

if TYPE_CHECKING:
    from host.mediasource import MediaSource
    from host.sqlstore import Cursor
    from host.web.footage import Checks


class Store(Protocol):
    """What the preparer needs of the store (the page's ``storefront.Front``): reads,
    writes, and the media by digest, which its checks read."""

    def read(self) -> "AbstractContextManager[Cursor]": ...

    def write(self) -> "AbstractContextManager[Cursor]": ...

    def media_source(self) -> "MediaSource": ...


LOG = logging.getLogger("sealcam.web")
# What fails with the store, not with a recording: the round ends and the next tries again.
STORE_TROUBLE = (sqlite3.Error, EvidenceError, MediaUnreachable)

POLL_S = 2.0  # how soon after a dock its recordings are made ready, at most (plus the work)
# Chunks whose media a round checks ahead of the first look, at most: a server started on a
# store it never served does not read every file it holds before it looks at the next dock.
CHECK_BUDGET = 200_000

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


def once(
    store: "Store",
    views: Views,
    stop: "threading.Event | None" = None,
    checks: "Checks | None" = None,
    budget: int = CHECK_BUDGET,
) -> int:
    """Bring the items index up to the ledger and make every wanting view; how many were
    made. What pages asked for (``Views.ask``) comes first, before each next recording:
    a recording someone has open, the dashboard's compliance flags; then the flags of every
    device whose ledger grew, then the other recordings, newest first. With ``checks`` (the
    page's), each one's chunks are checked against their signed hashes too, within
    ``budget`` chunks, before the view is kept: the first look then shows their states at
    once. Stops early once ``stop`` is set."""
    items.catch_up(store.read, store.write)
    made = 0
    todo = wanting(store)
    flagged = False
    while True:
        if stop is not None and stop.is_set():
            break
        asked = views.next_asked()
        if asked == FLAGS or (asked is None and not flagged):
            dashboard.all_flags(store.read, views, store.write)
            flagged = True
            continue
        if asked is None:
            if not todo:
                break
            item_id = todo.pop(0)
        else:
            item_id = asked
            if item_id in todo:
                todo.remove(item_id)
        with store.read() as cur:
            try:
                item = items.get(cur, item_id)
            except items.ItemError:
                continue  # asked for by a URL that names nothing
        if views.could_not(item):
            continue  # said once already; tried again when the recording grows
        if asked is not None and views.ready(store.read, item) is not None:
            continue  # made already (by a player's request, or an earlier round)
        # What nobody waits for lets the requests under way go first (``traffic``); what a
        # page asked for is awaited by a person (its page polls for it): it goes on at once.
        polite = asked is None
        try:
            left = _prepare(store, views, item, stop, checks, budget, polite)
        except STORE_TROUBLE:
            raise
        except Exception as exc:  # this recording's own: said once, its page told
            views.failed(item)
            LOG.error(
                i18n.text("web.log.unprepared", device=item.device_id, number=item.rec, problem=exc)
            )
            continue
        if left is None:
            return made  # stopped while checking
        budget = left
        made += 1
    return made


def _prepare(
    store: "Store",
    views: Views,
    item: items.Item,
    stop: "threading.Event | None",
    checks: "Checks | None",
    budget: int,
    polite: bool,
) -> "int | None":
    """Make ``item``'s view, check its chunks within ``budget``, keep the view in the
    store; the budget left, or None when ``stop`` was set meanwhile (nothing kept)."""
    if checks is not None and polite:
        checks.give_way()
    view = views.get(store.read, item)
    if checks is not None and len(view.parts) <= budget:
        budget -= len(view.parts)
        # From the end: a page looked at meanwhile queues its chunks from the start to
        # the same checks' own thread, and the two meet in the middle, not hash twice.
        for part in reversed(view.parts):
            if stop is not None and stop.is_set():
                return None
            if polite:
                checks.give_way()
            checks.state(store, part.digest)
    keep_in_store(store.write, item, view)
    return budget


class Preparer:
    """``once`` now and every ``poll_s`` seconds after, in a thread, until ``stop``."""

    def __init__(
        self,
        store: "Store",
        views: Views,
        poll_s: float = POLL_S,
        checks: "Checks | None" = None,
    ) -> None:
        self.store = store
        self.views = views
        self.checks = checks
        self.poll_s = poll_s
        self.made = 0
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The pages on these views no longer make them: they ask this preparer, and show
        # what needs no view at once (``recording``, ``dashboard``).
        views.prepared = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prepare-views", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 60.0) -> None:
        """Stop after the view under way (a ten-hour one: seconds), waiting at most
        ``wait_s``; the store may then be closed."""
        self._stop.set()
        self.views.wake.set()
        if self._thread is not None:
            self._thread.join(wait_s)

    def _run(self) -> None:
        said = None  # the problem the log has just said: not said again each round
        while not self._stop.is_set():
            try:
                self.made += once(self.store, self.views, self._stop, self.checks)
                said = None
            except Exception as exc:  # a store busy or closing: the next round tries again
                if str(exc) != said and not self._stop.is_set():
                    said = str(exc)
                    LOG.warning(i18n.text("web.log.round_failed", problem=exc, seconds=self.poll_s))
            self.rounds += 1
            # The next round in ``poll_s``, or at once when a page asks (``Views.ask``).
            self.views.wake.wait(self.poll_s)
            self.views.wake.clear()


__all__ = ["POLL_S", "Preparer", "once", "wanting"]
