"""What the page needs of a recording, read from its ledger entries once and kept.

A recording's entries never change once it is stopped, and while it grows its last seq
changes with it: so its story (``host.timeline``), its parts (``footage``), whether it
plays and its GPS fixes are kept per ``(item, last seq)``, and only what they amount to,
not the entries. Parsing a ten-hour recording's 36,000 entries costs seconds; with this, it
is paid once per process, and every seek and every later look costs a lookup.

Once made, a view is also kept in the store (``SCHEMA``: CBOR, by item and last seq), so
that a server started again reads it instead of parsing the entries a second time. Like
the store's index of items, it is derived from the signed ledger and made again from it
whenever the recording grows or the format (``VERSION``) changes; the evidence remains the
entries and the media, which the page checks chunk by chunk against their signed hashes.
"""

import sqlite3
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from host import items, timeline
from host.recordings import recording_number
from host.web import footage, gpstrack
from host.web.evidence import parsed, raws
from host.web.kept import Kept
from protocol import cbor
from protocol.errors import ProtocolError
from protocol.registry import F_RECORDING

if TYPE_CHECKING:
    from host.sqlstore import Cursor


SCHEMA = """
-- What the review page shows of a recording (host.web.recordview), derived from its ledger
-- entries up to last_seq and kept so that a restarted server need not parse them again.
CREATE TABLE IF NOT EXISTS web_views (
    item_id  TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    data     BLOB NOT NULL
);
"""
FLAGS = "flags"  # what a dashboard asks the preparer for: the devices' compliance flags
VERSION = 1  # of the kept form below: a view kept in another is made again
# One part in the kept form: seq, chunk index, media digest, size, start and end (ms), video.
# Packed, not a CBOR array per part: a ten-hour recording's 36,000 parts unpack in
# milliseconds, where decoding them as CBOR in Python took seconds.
_PART = struct.Struct("<qq32sqqq?")


@dataclass(frozen=True)
class View:
    story: "dict | None"  # host.timeline's dict of the recording
    parts: "list[footage.Part]"
    playable: str  # footage.PLAYABLE or why not
    whole: "footage.Footage | None"  # the file the player gets, when it plays
    track: "gpstrack.Drawing | None"
    places: "list[tuple[float, float]]"  # each part's stretch of the page's axis, in %

    def clip(self, index: int) -> "footage.Footage | None":
        if self.playable != footage.PLAYABLE:
            return None
        init = [p for p in self.parts if p.index == 0]
        one = [p for p in self.parts if p.index == index and index != 0]
        return footage.Footage([init[0], one[0]]) if init and one else None


def make(item: items.Item, stored: "list[bytes]") -> View:
    """The view of ``item`` from its span's entries as stored."""
    span = parsed(stored)
    story = None
    for r in timeline.recordings(span):
        if isinstance(r["id"], bytes) and recording_number(r["id"]) == item.rec:
            story = r
            break
    rec_id = story["id"] if story else None
    chunks = [e for e in footage.chunk_entries(span) if e.fields.get(F_RECORDING) == rec_id]
    parts = [footage.part_of(e) for e in chunks]
    playable = footage.playability(chunks)
    whole = footage.Footage(parts) if playable == footage.PLAYABLE else None
    track = gpstrack.draw(gpstrack.fixes(chunks))
    return View(story, parts, playable, whole, track, _places(item, parts))


def first_guess(cur: "Cursor", item: items.Item, within: int = 64) -> "str | None":
    """Whether ``item`` plays (``footage.playability``) as its first chunk says, read from
    the first ``within`` entries of its span, or None when none is a chunk of it: what a
    page shows its player by before the view is made (a recording keeps one media form,
    so its first chunk says it; the view, when made, says it from every chunk)."""
    for raw in raws(
        cur, item.device_id, item.first_seq, min(item.last_seq, item.first_seq + within - 1)
    ):
        for e in footage.chunk_entries(parsed([raw])):
            rec_id = e.fields.get(F_RECORDING)
            if isinstance(rec_id, bytes) and recording_number(rec_id) == item.rec:
                return footage.playability([e])
    return None


def _places(item: items.Item, parts: "list[footage.Part]") -> "list[tuple[float, float]]":
    start = item.started_ms
    length = max(item.ended_ms, start + 1) - start
    return [(axis(p.start_ms, start, length), axis(p.end_ms, start, length)) for p in parts]


def to_bytes(view: View) -> bytes:
    """``view`` in the form kept in the store (what the entries amount to, nothing else)."""
    t = view.track
    if any(len(p.digest) != 32 for p in view.parts):  # "32s" would pad or cut it silently
        raise ValueError("a media digest that is not SHA-256")
    return cbor.dumps(
        {
            "story": view.story,
            "parts": b"".join(
                _PART.pack(p.seq, p.index, p.digest, p.size, p.start_ms, p.end_ms, p.video)
                for p in view.parts
            ),
            "playable": view.playable,
            "track": None
            if t is None
            else [t.width, t.height, [list(q) for q in t.points], t.scale_m, t.scale_px,
                  [list(q) for q in t.labels], t.fixes],
        }
    )  # fmt: skip


def from_bytes(item: items.Item, data: bytes) -> "View | None":
    """The view ``to_bytes`` kept, or None when it is not one (made again, then)."""
    try:
        kept = cbor.loads(data)
        assert isinstance(kept, dict)
        parts = [footage.Part(*p) for p in _PART.iter_unpack(kept["parts"])]
        t = kept["track"]
        track = (
            None
            if t is None
            else gpstrack.Drawing(t[0], t[1], [tuple(q) for q in t[2]], t[3], t[4],
                                  [tuple(q) for q in t[5]], t[6])
        )  # fmt: skip
        playable = str(kept["playable"])
        story = kept["story"]
        assert story is None or isinstance(story, dict)
    except (ProtocolError, AssertionError, KeyError, TypeError, IndexError, ValueError,
            struct.error):  # fmt: skip
        return None
    whole = footage.Footage(parts) if playable == footage.PLAYABLE else None
    return View(story, parts, playable, whole, track, _places(item, parts))


def axis(ms: int, start: int, length: int) -> float:
    """Where ``ms`` falls along a recording from ``start`` lasting ``length``, in %."""
    return max(0.0, min(100.0, (ms - start) * 100.0 / length))


class Views:
    """The views of the recordings looked at lately (at most ``limit``).

    Where a preparer makes them (``host.web.prepare``: ``prepared`` is then set), a page
    does not wait for a view that is not ready: it asks for it (``ask``: the preparer takes
    what is asked before anything else) and shows what it can at once; the view's parts of
    the page follow when it is ready (``ready``)."""

    def __init__(self, limit: int = 16) -> None:
        self.prepared = False  # a preparer makes the views (pages then never parse)
        # What pages asked the preparer for, oldest first (recording ids, or ``FLAGS``);
        # ``wake`` is set at each ask, so that the preparer starts on it at once.
        self.wake = threading.Event()
        self._asked: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        # The dashboard's compliance flags, kept here beside the views and made by the same
        # preparer: per device, as of its last seq when checked (``dashboard``).
        self.flags: Kept[list] = Kept()
        self._kept: Kept[View] = Kept(limit)
        # The recordings the preparer could not prepare, and their last seq then.
        self._unprepared: dict[str, int] = {}

    def ask(self, key: str) -> None:
        """Ask the preparer for ``key`` next (a recording's id, or ``FLAGS``)."""
        with self._lock:
            self._asked[key] = None
        self.wake.set()

    def next_asked(self) -> "str | None":
        """The oldest key asked for and not yet taken, or None."""
        with self._lock:
            if not self._asked:
                return None
            return self._asked.popitem(last=False)[0]

    def ready(
        self, look: "Callable[[], AbstractContextManager[Cursor]]", item: items.Item
    ) -> "View | None":
        """The view of ``item`` when it costs no parse: kept here, or kept in the store
        (read through ``look``; milliseconds); None while it is still to be made, or when
        it could not be (``could_not``)."""
        if self.could_not(item):
            return None
        return self._kept.ready(item.item_id, item.last_seq, lambda: _kept_in_store(look, item))

    def failed(self, item: items.Item) -> None:
        """The preparer could not prepare ``item`` as it is now (its media unreadable,
        its entries not made into a view): its page says so, and nobody waits for it."""
        with self._lock:
            self._unprepared[item.item_id] = item.last_seq
        self._kept.drop(item.item_id)

    def could_not(self, item: items.Item) -> bool:
        """Whether the preparer could not prepare ``item`` as it is now (a recording that
        grew since is tried again)."""
        with self._lock:
            return self._unprepared.get(item.item_id) == item.last_seq

    def get(
        self,
        look: "Callable[[], AbstractContextManager[Cursor]]",
        item: items.Item,
        keep: "Callable[[], AbstractContextManager[Cursor]] | None" = None,
    ) -> View:
        """The view of ``item``: kept here, else kept in the store (read through ``look``,
        a desk's), else made (its entries read through ``look``, then parsed with the store
        free for others) and, with ``keep`` (the store's ``write``), kept in the store."""

        def made() -> View:
            with look() as cur:
                stored = raws(cur, item.device_id, item.first_seq, item.last_seq)
            return make(item, stored)

        return self._kept.get(
            item.item_id,
            item.last_seq,
            lambda: _kept_in_store(look, item),
            made,
            None if keep is None else lambda view: keep_in_store(keep, item, view),
        )


def _kept_in_store(
    look: "Callable[[], AbstractContextManager[Cursor]]", item: items.Item
) -> "View | None":
    try:
        with look() as cur:
            row = cur.execute(
                "SELECT data FROM web_views WHERE item_id = ? AND last_seq = ? AND version = ?",
                (item.item_id, item.last_seq, VERSION),
            ).fetchone()
    except sqlite3.Error:  # a store without the table (never served): made, then
        return None
    return None if row is None else from_bytes(item, bytes(row[0]))


def keep_in_store(
    keep: "Callable[[], AbstractContextManager[Cursor]]", item: items.Item, view: View
) -> None:
    try:
        data = to_bytes(view)
    except (ProtocolError, TypeError, ValueError, struct.error):  # not kept: made each time
        return
    try:
        with keep() as cur:
            cur.execute(
                "INSERT INTO web_views (item_id, last_seq, version, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (item_id) DO UPDATE SET last_seq = excluded.last_seq, "
                "version = excluded.version, data = excluded.data",
                (item.item_id, item.last_seq, VERSION, data),
            )
    except sqlite3.Error:  # a store that cannot take it now: the page works without
        return
