"""Six-month retention and loop recording (R-DEV-4, R-DEV-5): which media may be evicted.

The rules, each enforced here and nowhere relaxed:

* media younger than the floor (``DEFAULT_FLOOR_DAYS``, 183 days) is never evicted;
* the floor is raised only by a host-signed config and never lowered (R-DEV-17);
* older media is evicted only once a host receipt covers it (the host holds a verified,
  durable copy);
* media marked important, or under a hold, is never evicted automatically;
* loop recording reuses only space these rules free, oldest media first; when that is not
  enough the recorder refuses to record rather than break a rule.

Pure policy: the caller passes the wall clock (``now_ms``), the free space and a catalogue
of ``MediaItem``; the policy answers with media digests to evict. It removes nothing
itself, and it can only name media, never ledger entries: the caller drops the media bytes,
keeps the signed entry as a tombstone and logs an eviction event.

``now_ms`` must come from the clock the host has set (R-DEV-17): a wall clock that jumped
forward would make young media look old. A clock that went back only makes media look
younger, which keeps more.
"""

from firmware.errors import ConfigError, StorageFull

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Protocol

    class MediaSource(Protocol):
        """Media on the card described elsewhere than in a list (``agent.IndexedMedia``)."""

        def evictable_bytes(self, floor_ms: int, now_ms: int) -> int: ...


DAY_MS = 86_400_000
HOUR_MS = 3_600_000
DEFAULT_FLOOR_DAYS = 183

# Why an item is kept, or that it is not: the result of RetentionPolicy.classify.
EVICTABLE = "evictable"
KEEP_YOUNG = "young"  # younger than the floor
KEEP_HELD = "held"  # marked important or under a hold
KEEP_UNRECEIVED = "unreceived"  # old enough, but no host receipt covers it yet


def _is_int(value: object) -> bool:
    # bool is an int on CPython but not on MicroPython: refuse it on both.
    return isinstance(value, int) and type(value) is not bool


class MediaItem:
    """One stored media chunk as retention sees it (plain data, mutable by the store).

    digest       the chunk's media digest (bytes), as its ledger entry names it
    recorded_ms  the chunk's wall time, ms since the epoch
    size         bytes the media takes on storage
    received     True once a host receipt covers the chunk; a receipt's seq is not
                 accepted here, because seq 0 would read as False
    protected    True when marked important or under a hold
    seq          the seq of the chunk's ledger entry (-1 when not known), which host
                 receipts name
    recording    the id of the recording the chunk belongs to (None when not known), so
                 marking a recording important protects its chunks
    """

    def __init__(
        self,
        digest: bytes,
        recorded_ms: int,
        size: int,
        received: bool = False,
        protected: bool = False,
        seq: int = -1,
        recording: object = None,
    ) -> None:
        if not isinstance(digest, bytes) or not digest:
            raise ValueError("digest must be non-empty bytes")
        if not _is_int(recorded_ms):
            raise ValueError("recorded_ms must be an int (wall ms)")
        if not _is_int(size) or size < 0:
            raise ValueError("size must be an int of at least 0")
        if type(received) is not bool or type(protected) is not bool:
            raise ValueError("received and protected must be True or False")
        self.digest = digest
        self.recorded_ms = recorded_ms
        self.size = size
        self.received = received
        self.protected = protected
        self.seq = seq
        self.recording = recording

    def __repr__(self) -> str:
        return "MediaItem(%r, %d, %d, received=%s, protected=%s)" % (
            self.digest[:6],
            self.recorded_ms,
            self.size,
            self.received,
            self.protected,
        )


class Catalogue:
    """The stored chunks' media, in the order they were stored, indexed for retention.

    Besides the items it keeps which files several chunks share (two seconds of silence
    have the same bytes) and whether the items are in time order. In order, retention can
    stop at the first chunk younger than the floor instead of walking months of them; a
    clock set back mid-life breaks the order, and retention then walks everything. A plain
    list of ``MediaItem`` works wherever a catalogue does, walked in full each time.
    """

    def __init__(self, items: "list | None" = None) -> None:
        self.items: list = []
        self.ordered = True  # recorded_ms never goes down from one item to the next
        self._first: dict = {}  # digest -> the first item naming it
        self.shared: dict = {}  # digest -> every item naming it, where more than one does
        for item in items or ():
            self.add(item)

    def __iter__(self) -> "Iterator[MediaItem]":
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> MediaItem:
        return self.items[index]

    def add(self, item: MediaItem) -> None:
        items = self.items
        if items and self.ordered and item.recorded_ms < items[-1].recorded_ms:
            self.ordered = False
        items.append(item)
        digest = item.digest
        first = self._first.get(digest)
        if first is None:
            self._first[digest] = item
        elif digest in self.shared:
            self.shared[digest].append(item)
        else:
            self.shared[digest] = [first, item]

    def holds(self, digest: bytes) -> bool:
        return digest in self._first

    def drop(self, digests: list) -> int:
        """Forget every item naming one of ``digests`` (their file left the card); return
        how many files were known."""
        gone: dict = {}
        expect = 0  # items to remove: usually the oldest, so the walk stops early
        for digest in digests:
            if digest in self._first and digest not in gone:
                gone[digest] = True
                expect += len(self.shared[digest]) if digest in self.shared else 1
                del self._first[digest]
                self.shared.pop(digest, None)
        if not gone:
            return 0
        items = self.items
        end = 0
        found = 0
        while found < expect and end < len(items):
            if items[end].digest in gone:
                found += 1
            end += 1
        kept = [item for item in items[:end] if item.digest not in gone]
        self.items = kept + items[end:] if kept else items[end:]
        if not self.ordered:
            self.ordered = _in_time_order(self.items)
        return len(gone)

    def mark_received(self, through_seq: int) -> None:
        """A host receipt covers every chunk up to ``through_seq``."""
        # Receipts only grow, so the received chunks are a prefix: walk back to it.
        items = self.items
        i = len(items) - 1
        while i >= 0:
            item = items[i]
            if item.seq <= through_seq:
                if item.received:
                    break
                item.received = True
            i -= 1

    def protect(self, recording: object) -> None:
        """Protect the chunks of ``recording`` (marked important)."""
        # Recordings follow one another, so the chunks of one are side by side.
        seen = False
        i = len(self.items) - 1
        while i >= 0:
            item = self.items[i]
            if item.recording == recording:
                item.protected = True
                seen = True
            elif seen:
                break
            i -= 1


class SpaceReport:
    """Bytes of a catalogue by what retention allows: each item counted once, under the
    first rule that keeps it (young, then held, then unreceived)."""

    def __init__(self) -> None:
        self.evictable_bytes = 0
        self.young_bytes = 0
        self.held_bytes = 0
        self.unreceived_bytes = 0

    def add(self, verdict: str, size: int) -> None:
        if verdict == EVICTABLE:
            self.evictable_bytes += size
        elif verdict == KEEP_YOUNG:
            self.young_bytes += size
        elif verdict == KEEP_HELD:
            self.held_bytes += size
        else:
            self.unreceived_bytes += size


class RecordDecision:
    """What the recorder may do before writing: ``ok``, the digests to evict first
    (oldest first), and, when refused, the one-line message for the officer and the log."""

    def __init__(self, ok: bool, evict: list, message: str) -> None:
        self.ok = ok
        self.evict = evict
        self.message = message


class ShiftCheck:
    """The storage line of the pre-use self-check (R-DEV-7)."""

    def __init__(self, ok: bool, hours_available: float, hours_needed: float, message: str) -> None:
        self.ok = ok
        self.hours_available = hours_available
        self.hours_needed = hours_needed
        self.message = message


def _in_time_order(items: list) -> bool:
    for i in range(1, len(items)):
        if items[i].recorded_ms < items[i - 1].recorded_ms:
            return False
    return True


def _oldest_first(catalogue: "list | Catalogue") -> "list | Catalogue":
    """The catalogue ordered by recorded_ms, then digest; unchanged if already so."""
    # The store appends in time order, so one pass usually proves the order and the sort
    # (which on MicroPython is a quicksort, slow on long sorted lists) is skipped.
    prev = None
    for item in catalogue:
        key = (item.recorded_ms, item.digest)
        if prev is not None and key < prev:
            return sorted(catalogue, key=lambda i: (i.recorded_ms, i.digest))
        prev = key
    return catalogue


def _tenths(numerator: int, denominator: int) -> str:
    """numerator/denominator rounded down to one decimal, without floats: '3.5', '8'."""
    t = numerator * 10 // denominator
    if t % 10:
        return "%d.%d" % (t // 10, t % 10)
    return "%d" % (t // 10)


def format_bytes(n: int) -> str:
    """A byte count for people: '512 B', '3.5 MB', '12 GB' (decimal units, rounded down)."""
    if n < 1000:
        return "%d B" % n
    if n < 1_000_000:
        return _tenths(n, 1000) + " kB"
    if n < 1_000_000_000:
        return _tenths(n, 1_000_000) + " MB"
    return _tenths(n, 1_000_000_000) + " GB"


class RetentionPolicy:
    """The retention floor and the eviction rules; feed it the catalogue and the time."""

    def __init__(self, floor_days: int = DEFAULT_FLOOR_DAYS) -> None:
        # The store persists the floor and passes it back at power-on; it can never start
        # below the six-month default.
        if not _is_int(floor_days):
            raise ConfigError("retention floor must be a whole number of days")
        if floor_days < DEFAULT_FLOOR_DAYS:
            raise ConfigError(
                "retention floor of %d days is below the minimum of %d days (R-DEV-4)"
                % (floor_days, DEFAULT_FLOOR_DAYS)
            )
        self._floor_days = floor_days

    @property
    def floor_days(self) -> int:
        return self._floor_days

    @property
    def floor_ms(self) -> int:
        return self._floor_days * DAY_MS

    def apply_floor(self, days: int, signed_by_host: bool) -> int:
        """Raise the floor from a host config whose signature the caller has verified;
        return the floor now in force. Equal is accepted (a config applied again)."""
        if signed_by_host is not True:
            raise ConfigError(
                "retention floor change refused: it is not signed by the host, and settings "
                "change only through authorised management software (R-DEV-17)"
            )
        if not _is_int(days):
            raise ConfigError("retention floor must be a whole number of days")
        if days < self._floor_days:
            raise ConfigError(
                "retention floor change refused: %d days is below the %d days in force, and "
                "the floor can only be raised (R-DEV-4)" % (days, self._floor_days)
            )
        self._floor_days = days
        return days

    def classify(self, item: MediaItem, now_ms: int) -> str:
        """EVICTABLE, or the first rule that keeps the item: KEEP_YOUNG, KEEP_HELD,
        KEEP_UNRECEIVED (in that order, so 'unreceived' counts only what an upload frees)."""
        if now_ms - item.recorded_ms < self._floor_days * DAY_MS:
            return KEEP_YOUNG
        if item.protected is not False:
            return KEEP_HELD
        if item.received is not True:
            return KEEP_UNRECEIVED
        return EVICTABLE

    def is_evictable(self, item: MediaItem, now_ms: int) -> bool:
        return self.classify(item, now_ms) == EVICTABLE

    def report(self, catalogue: "list | Catalogue", now_ms: int) -> SpaceReport:
        """Bytes of the catalogue that may be reclaimed now, and why the rest may not."""
        r = SpaceReport()
        kept = self._kept(catalogue, now_ms)
        counted: dict = {}
        for item in catalogue:
            kind = self.classify(item, now_ms)
            if kind == EVICTABLE and (item.digest in kept or item.digest in counted):
                continue  # its file stays for another chunk, or is counted once already
            counted[item.digest] = True
            r.add(kind, item.size)
        return r

    def _kept(self, catalogue: "list | Catalogue", now_ms: int) -> dict:
        """Digests some chunk must keep. Chunks with the same bytes (two seconds of silence)
        share one file, so a file may go only when every chunk naming it may let it go."""
        kept: dict = {}
        for item in catalogue:
            if self.classify(item, now_ms) != EVICTABLE:
                kept[item.digest] = True
        return kept

    def _evictable_in_order(self, catalogue: Catalogue, now_ms: int) -> "Iterator[MediaItem]":
        """The evictable items of an ordered catalogue, oldest first, each file once: the
        walk ends at the first item younger than the floor."""
        cutoff = now_ms - self._floor_days * DAY_MS  # younger than the floor: after this
        shared = catalogue.shared
        seen: dict = {}
        items = catalogue.items
        i = 0
        while i < len(items) and items[i].recorded_ms <= cutoff:
            # Items of the same time (a video and an audio chunk) go in digest order, the
            # order of a full walk.
            j = i + 1
            while j < len(items) and items[j].recorded_ms == items[i].recorded_ms:
                j += 1
            same = items[i:j] if j == i + 1 else sorted(items[i:j], key=lambda it: it.digest)
            i = j
            for item in same:
                if item.protected is not False or item.received is not True:
                    continue
                group = shared.get(item.digest)
                if group is not None:
                    if item.digest in seen:
                        continue
                    seen[item.digest] = True
                    if not all(self.classify(other, now_ms) == EVICTABLE for other in group):
                        continue  # another chunk still needs the file
                yield item

    def _evictable(self, catalogue: "list | Catalogue", now_ms: int) -> "Iterator[MediaItem]":
        """The items whose files retention may evict now, oldest first, each file once."""
        if isinstance(catalogue, Catalogue) and catalogue.ordered:
            yield from self._evictable_in_order(catalogue, now_ms)
            return
        kept = self._kept(catalogue, now_ms)
        seen: dict = {}
        for item in _oldest_first(catalogue):
            if item.digest in kept or item.digest in seen:
                continue
            if self.classify(item, now_ms) == EVICTABLE:
                seen[item.digest] = True
                yield item

    def evictable_bytes(self, catalogue: "list | Catalogue | MediaSource", now_ms: int) -> int:
        """Bytes retention may free now; a ``MediaSource`` (the on-card index) counts them
        itself by the same rules."""
        if not isinstance(catalogue, (list, Catalogue)):
            return catalogue.evictable_bytes(self.floor_ms, now_ms)
        total = 0
        for item in self._evictable(catalogue, now_ms):
            total += item.size
        return total

    def plan_space(
        self, catalogue: "list | Catalogue", now_ms: int, free_bytes: int, needed_bytes: int
    ) -> list:
        """Digests to evict, oldest first and no more than needed, so that needed_bytes fit;
        raise StorageFull, saying what is kept and why, when the rules do not allow it."""
        if not _is_int(free_bytes) or not _is_int(needed_bytes):
            raise ValueError("free_bytes and needed_bytes must be ints")
        if free_bytes < 0 or needed_bytes < 0:
            raise ValueError("free_bytes and needed_bytes must be at least 0")
        if needed_bytes <= free_bytes:
            return []
        short = needed_bytes - free_bytes
        plan = []
        freed = 0
        for item in self._evictable(catalogue, now_ms):
            plan.append(item.digest)
            freed += item.size
            if freed >= short:
                return plan
        raise StorageFull(
            self._full_message(self.report(catalogue, now_ms), free_bytes, needed_bytes)
        )

    def can_record(
        self, catalogue: "list | Catalogue", now_ms: int, free_bytes: int, needed_bytes: int
    ) -> RecordDecision:
        """For the recorder before it writes: never raises StorageFull, refuses instead."""
        try:
            plan = self.plan_space(catalogue, now_ms, free_bytes, needed_bytes)
        except StorageFull as exc:
            return RecordDecision(False, [], "recording refused: " + str(exc))
        return RecordDecision(True, plan, "")

    def check_shift(
        self,
        catalogue: "list | Catalogue",
        now_ms: int,
        free_bytes: int,
        bitrate_bps: int,
        shift_hours: float,
    ) -> ShiftCheck:
        """fits_shift on this catalogue: the storage line of the pre-use check (R-DEV-7)."""
        r = self.report(catalogue, now_ms)
        return fits_shift(
            free_bytes, r.evictable_bytes, bitrate_bps, shift_hours, r.unreceived_bytes
        )

    def _full_message(self, r: SpaceReport, free_bytes: int, needed_bytes: int) -> str:
        kept = []
        if r.young_bytes:
            kept.append(
                "%s younger than the %d-day floor" % (format_bytes(r.young_bytes), self._floor_days)
            )
        if r.unreceived_bytes:
            kept.append("%s not yet received by the host" % format_bytes(r.unreceived_bytes))
        if r.held_bytes:
            kept.append("%s marked important or on hold" % format_bytes(r.held_bytes))
        msg = "storage full: %s needed, %s free, and the retention rules allow only %s more" % (
            format_bytes(needed_bytes),
            format_bytes(free_bytes),
            format_bytes(r.evictable_bytes),
        )
        msg += " to be reclaimed"
        if kept:
            msg += "; kept: " + ", ".join(kept)
        # Docking frees old media once the host's receipt covers it; young media stays for
        # the floor whatever happens, so then only another recorder helps.
        if free_bytes + r.evictable_bytes + r.unreceived_bytes >= needed_bytes:
            msg += " — dock the recorder to upload"
        else:
            msg += " — take another recorder"
        return msg


def seconds_left(free_bytes: int, evictable_bytes: int, bitrate_bps: int) -> int:
    """Whole seconds of recording at bitrate_bps (bits per second) that the space holds."""
    if not _is_int(bitrate_bps) or bitrate_bps <= 0:
        raise ValueError("bitrate_bps must be an int above 0")
    if free_bytes < 0 or evictable_bytes < 0:
        raise ValueError("free_bytes and evictable_bytes must be at least 0")
    return (free_bytes + evictable_bytes) * 8 // bitrate_bps


def hours_left(free_bytes: int, evictable_bytes: int, bitrate_bps: int) -> float:
    """Hours of recording at bitrate_bps that free plus evictable space holds."""
    return seconds_left(free_bytes, evictable_bytes, bitrate_bps) / 3600


def fits_shift(
    free_bytes: int,
    evictable_bytes: int,
    bitrate_bps: int,
    shift_hours: float,
    uploadable_bytes: int = 0,
) -> ShiftCheck:
    """Whether a shift of shift_hours fits, with the officer's one-line message.

    uploadable_bytes is old media that waits only for the host's receipt: docking frees it,
    so the advice is to dock when that would be enough, and otherwise to take another
    recorder (young media stays for the floor, docked or not).
    """
    if shift_hours <= 0:
        raise ValueError("shift_hours must be above 0")
    have_s = seconds_left(free_bytes, evictable_bytes, bitrate_bps)
    # Integer seconds keep the comparison exact on ports whose floats are single precision.
    need_s = int(shift_hours * 3600)
    have = "storage holds %s h of recording" % _tenths(have_s, 3600)
    need = _tenths(need_s, 3600)
    if have_s >= need_s:
        return ShiftCheck(
            True, have_s / 3600, need_s / 3600, have + "; enough for the %s h shift" % need
        )
    if have_s + uploadable_bytes * 8 // bitrate_bps >= need_s:
        advice = "dock the recorder to upload"
    else:
        advice = "take another recorder"
    return ShiftCheck(
        False, have_s / 3600, need_s / 3600, have + "; the shift needs %s h — %s" % (need, advice)
    )
