"""What the page needs of a recording, read from its ledger entries once and kept.

A recording's entries never change once it is stopped, and while it grows its last seq
changes with it: so its story (``host.timeline``), its parts (``footage``), whether it
plays and its GPS fixes are kept per ``(item, last seq)``, and only what they amount to,
not the entries. Parsing a ten-hour recording's 36,000 entries costs seconds; with this, it
is paid once per process, and every seek and every later look costs a lookup.
"""

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
from protocol.registry import F_RECORDING

if TYPE_CHECKING:
    from sqlite3 import Cursor


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
    start = item.started_ms
    length = max(item.ended_ms, start + 1) - start
    places = [(axis(p.start_ms, start, length), axis(p.end_ms, start, length)) for p in parts]
    track = gpstrack.draw(gpstrack.fixes(chunks))
    return View(story, parts, playable, whole, track, places)


def axis(ms: int, start: int, length: int) -> float:
    """Where ``ms`` falls along a recording from ``start`` lasting ``length``, in %."""
    return max(0.0, min(100.0, (ms - start) * 100.0 / length))


class Views:
    """The views of the recordings looked at lately (at most ``limit``)."""

    def __init__(self, limit: int = 16) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple, View] = OrderedDict()
        self._making: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, look: "Callable[[], AbstractContextManager[Cursor]]", item: items.Item) -> View:
        """The view of ``item``; made (its entries read through ``look``, a desk's, then
        parsed with the store free for others) unless kept."""
        key = (item.item_id, item.last_seq)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
            # One maker per recording: twenty reviewers opening it at once wait for one.
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._kept:
                    return self._kept[key]
            with look() as cur:
                stored = raws(cur, item.device_id, item.first_seq, item.last_seq)
            view = make(item, stored)
            with self._lock:
                self._kept[key] = view
                self._making.pop(key, None)
                while len(self._kept) > self.limit:
                    self._kept.popitem(last=False)
        return view
