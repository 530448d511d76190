"""The on-card retention index: what retention needs of months of chunks, in spans.

A recorder filming ten hours a day in 1 s chunks stores millions of chunks in six months;
what retention knows of them cannot sit in RAM. The index keeps it on the card, summarised
per span: consecutive chunks of one recording, closed at a recording change, a day change
or ``SPAN_CHUNKS`` chunks. A span holds its first and last seq, first, last and latest
time, the bytes its chunks brought to the card, whether it is held (marked important), and
where its first entry sits in the ledger, so its chunks' digests are read back from the
ledger itself when it is evicted: the index never holds digests.

What stays in RAM (``SpanIndex``) is constant in size: the open span, the current run of
one recording, the receipt and eviction frontiers and a few recent marks. Received is a
frontier (a host receipt covers every entry up to its seq), and so is evicted: retention
frees the oldest chunks first, so every chunk at or before ``evicted_through`` is gone
from the card unless it was held. A mark that protects chunks already in closed spans
appends a held range (``HELD_NAME``), which the walk merges in seq order.

Both files are append-only, framed like the ledger (``firmware.store.encode_record``), and
derived from the ledger alone: the fold that writes them is the one a boot replays, so a
checkpoint names their lengths and last records, and the entries after the checkpoint
write the rest again. An index that does not match is rebuilt from the ledger.

Two rules the walk keeps beside ``RetentionPolicy``'s: a file that a later chunk named
again (identical bytes, ``Store.is_shared``) stays on the card, and a recording's init
segment (``MEDIA_MP4_INIT``) goes only once the walk has passed into the next recording,
so a fragment on the card always has its init segment.
"""

import os

from firmware.errors import StoreError
from firmware.retention import DAY_MS, SpaceReport
from firmware.store import SegmentScan, _exists, _mkdir, _truncate, encode_record
from protocol import cbor
from protocol.crc32 import crc32
from protocol.errors import DecodeError
from protocol.ledger import media_digest, parse_entry
from protocol.registry import (
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    MEDIA_MP4_INIT,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Protocol

    from firmware.store import WritableFile

    class RecordFile(Protocol):
        """An append-only file of framed records: on the card, or in RAM for a test."""

        length: int  # bytes of whole records
        tail: int  # where the last record starts, -1 when there is none
        tail_crc: int  # its CRC-32

        def append(self, payload: bytes) -> None: ...

        def records(self, offset: int = 0) -> Iterator[tuple]: ...

        def adopt(self, length: int, tail: int, tail_crc: int) -> bool: ...

        def reset(self) -> None: ...

        def sync(self) -> None: ...

        def exists(self) -> bool: ...

        def set_aside(self) -> bool: ...

        def aside_is_prefix(self) -> bool: ...

        def drop_aside(self) -> None: ...

    class LedgerReader(Protocol):
        """Reads entries back from where the ledger holds them (``firmware.store.Store``)."""

        def entries_at(self, index: int, offset: int) -> Iterator[tuple]: ...

    class RetentionRules(Protocol):
        """The floor of ``firmware.retention.RetentionPolicy``."""

        @property
        def floor_ms(self) -> int: ...

    class FileStore(Protocol):
        """The store's file edge, for the index files beside the ledger."""

        path: str

        def open_file(self, path: str, mode: str) -> WritableFile: ...

        def sync_file(self, f: WritableFile) -> None: ...

        def sync_folder(self, path: str) -> None: ...


SPAN_CHUNKS = 256  # chunks at most in one span: bounds the ledger read of one span
IMPORTANT_KEEP = 8  # marked recordings remembered for their later chunks (see SpanIndex)
FOLDER = "retention"
SPANS_NAME = "spans.idx"
HELD_NAME = "held.idx"
_HEADER = 8


class MemoryFile:
    """A ``RecordFile`` in RAM: for an agent without a card index, and for tests."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.length = 0
        self.tail = -1
        self.tail_crc = 0

    def append(self, payload: bytes) -> None:
        record = encode_record(payload)
        self.tail = self.length
        self.tail_crc = crc32(payload)
        self.data += record
        self.length += len(record)

    def records(self, offset: int = 0) -> "Iterator[tuple]":
        data = bytes(self.data[: self.length])
        pos = offset
        while pos < len(data):
            n = int.from_bytes(data[pos : pos + 4], "big")
            yield pos, data[pos + _HEADER : pos + _HEADER + n]
            pos += _HEADER + n

        self.aside: bytes | None = None

    def adopt(self, length: int, tail: int, tail_crc: int) -> bool:
        if length == 0:
            self.reset()
            return True
        record = bytes(self.data[tail:length])
        if self.length < length or tail < 0 or len(record) < _HEADER:
            return False
        crc = int.from_bytes(record[4:8], "big")
        n = int.from_bytes(record[:4], "big")
        if _HEADER + n != len(record) or crc != tail_crc or crc32(record[_HEADER:]) != crc:
            return False
        del self.data[length:]
        self.length, self.tail, self.tail_crc = length, tail, tail_crc
        return True

    def reset(self) -> None:
        self.data = bytearray()
        self.length, self.tail, self.tail_crc = 0, -1, 0

    def sync(self) -> None:
        pass

    def exists(self) -> bool:
        return self.length > 0

    def set_aside(self) -> bool:
        had = self.length > 0
        self.aside = bytes(self.data[: self.length])
        self.reset()
        return had

    def aside_is_prefix(self) -> bool:
        old = self.aside or b""
        return bytes(self.data[: len(old)]) == old

    def drop_aside(self) -> None:
        self.aside = None


class CardFile:
    """A ``RecordFile`` on the card, written through the store's opener and sync.

    Appends are flushed, and synced only by ``sync`` (before a checkpoint names the
    length): what a cut loses after the last checkpoint, the ledger's entries write again.
    """

    def __init__(self, store: "FileStore", name: str) -> None:
        self.store = store
        folder = store.path + "/" + FOLDER
        _mkdir(folder)
        self.path = folder + "/" + name
        self.length = 0
        self.tail = -1
        self.tail_crc = 0
        self._f: WritableFile | None = None
        self._dirty = False

    def _file(self) -> "WritableFile":
        if self._f is None:
            created = not _exists(self.path)
            self._f = self.store.open_file(self.path, "ab")
            if created:
                self.store.sync_folder(self.store.path + "/" + FOLDER)
        return self._f

    def append(self, payload: bytes) -> None:
        record = encode_record(payload)
        f = self._file()
        f.write(record)
        f.flush()
        self.tail = self.length
        self.tail_crc = crc32(payload)
        self.length += len(record)
        self._dirty = True

    def sync(self) -> None:
        if self._f is not None and self._dirty:
            self.store.sync_file(self._f)
            self._dirty = False

    def close(self) -> None:
        if self._f is not None:
            self.sync()
            self._f.close()
            self._f = None

    def records(self, offset: int = 0) -> "Iterator[tuple]":
        """(offset, payload) of the whole records from ``offset`` to ``length``."""
        if offset >= self.length:
            return
        f = open(self.path, "rb")
        try:
            if offset:
                f.seek(offset)
            scan = SegmentScan(f, offset, self.length, 4096)
            yield from scan
            if scan.problem is not None:
                raise StoreError(
                    "the retention index %s is damaged at byte %d" % (self.path, scan.problem[1])
                )
        finally:
            f.close()

    def _size(self) -> int:
        try:
            return os.stat(self.path)[6]
        except OSError:
            return -1

    def adopt(self, length: int, tail: int, tail_crc: int) -> bool:
        """Take the file as a checkpoint left it: its record at ``tail`` whole, ending at
        ``length``, with that CRC; cut what follows (the entries after the checkpoint write
        it again). False, touching nothing, when the file does not hold that."""
        self.close()
        size = self._size()
        if length == 0:
            if size > 0:
                _truncate(self.path, 0)
            self.length, self.tail, self.tail_crc = 0, -1, 0
            return True
        if size < length or tail < 0 or tail + _HEADER > length:
            return False
        f = open(self.path, "rb")
        try:
            f.seek(tail)
            record = f.read(length - tail)
        finally:
            f.close()
        n = int.from_bytes(record[:4], "big")
        crc = int.from_bytes(record[4:8], "big")
        if _HEADER + n != len(record) or crc != tail_crc or crc32(record[_HEADER:]) != crc:
            return False
        if size > length:
            _truncate(self.path, length)
        self.length, self.tail, self.tail_crc = length, tail, tail_crc
        return True

    def reset(self) -> None:
        """Empty the file (a rebuild writes it again from the ledger)."""
        self.close()
        if self._size() > 0:
            _truncate(self.path, 0)
        self.length, self.tail, self.tail_crc = 0, -1, 0

    def exists(self) -> bool:
        return self._size() >= 0

    def set_aside(self) -> bool:
        """Move the file found aside for ``aside_is_prefix`` and start an empty one; False
        when there was none. The one set aside by a rebuild cut short stays the reference."""
        self.close()
        old = self.path + ".old"
        had = self._size() >= 0
        if had and not _exists(old):
            os.rename(self.path, old)
        elif had:
            os.remove(self.path)
        self.length, self.tail, self.tail_crc = 0, -1, 0
        return had or _exists(old)

    def aside_is_prefix(self) -> bool:
        """Whether each whole record of the file set aside is the same record of this one
        (its cut tail, if any, ignored): read in bounded steps, side by side."""
        self.sync()
        try:
            f = open(self.path + ".old", "rb")
        except OSError:
            return True
        try:
            new = self.records(0)
            for _, payload in SegmentScan(f, 0, -1, 4096):
                got = next(new, None)
                if got is None or got[1] != payload:
                    return False
        finally:
            f.close()
        return True

    def drop_aside(self) -> None:
        try:
            os.remove(self.path + ".old")
        except OSError:
            pass


# --- spans ---------------------------------------------------------------------------------


class Span:
    """Consecutive chunks of one recording, as the index keeps them.

    ``init`` is ``[seq, segment, offset, size, held]`` of the recording's init segment
    when it is fMP4 (every span of the recording carries it), else None; ``at`` is
    ``(segment, offset)`` of the span's first entry in the ledger.
    """

    def __init__(self, seq: int, ms: int, recording: object, at: tuple) -> None:
        self.first_seq = seq
        self.last_seq = seq
        self.first_ms = ms
        self.last_ms = ms
        self.max_ms = ms  # the latest time: a clock set back makes it differ from last_ms
        self.size = 0  # bytes the span's chunks brought to the card (repeats bring none)
        self.count = 0
        self.recording = recording
        self.held = False
        self.at = at
        self.init: list | None = None

    def add(self, seq: int, ms: int, size: int) -> None:
        self.last_seq = seq
        self.last_ms = ms
        if ms > self.max_ms:
            self.max_ms = ms
        self.size += size
        self.count += 1

    def encode(self) -> bytes:
        return cbor.dumps(
            [
                self.first_seq,
                self.last_seq,
                self.first_ms,
                self.last_ms,
                self.max_ms,
                self.size,
                self.count,
                self.recording,
                1 if self.held else 0,
                list(self.at),
                self.init,
            ]
        )

    def fields(self) -> list:
        """Everything the span holds, for comparisons in tests."""
        return cbor.loads(self.encode())  # type: ignore[return-value]  # encode wrote a list


def decode_span(payload: bytes) -> Span:
    try:
        v = cbor.loads(payload)
        if type(v) is not list or len(v) != 11:
            raise ValueError("not a span")
        span = Span(v[0], v[2], v[7], (v[9][0], v[9][1]))
        span.last_seq, span.last_ms, span.max_ms = v[1], v[3], v[4]
        span.size, span.count = v[5], v[6]
        span.held = v[8] == 1
        span.init = v[10]
    except (DecodeError, ValueError, TypeError, IndexError) as exc:
        raise StoreError("a retention index record is not a span: %s" % exc) from None
    return span


class SpanIndex:
    """The fold of the ledger's chunks into spans on the card, with the frontiers.

    ``received_through`` every entry up to this seq is covered by a host receipt
    ``evicted_through``  every chunk up to this seq is gone from the card, unless held
    ``important``        the last ``IMPORTANT_KEEP`` recordings marked important, whose
                         later chunks are held too (a recording's chunks follow one
                         another: only the latest can still grow)
    ``walk_from``, ``evicted_at``: where the last walk found the frontier (the span and
    the ledger record after it), a cache the walk checks and a rebuild drops.
    """

    def __init__(self, spans: "RecordFile", held: "RecordFile") -> None:
        self.spans = spans
        self.held_file = held
        self.open: Span | None = None
        self.run_rec: object = None  # the recording of the current run of chunks
        self.run_lo = -1  # its first chunk's seq; -1 before any chunk
        self.run_closed_hi = -1  # the last seq of its closed spans, -1 when none
        self.run_held = False
        self.run_init: list | None = None
        self.important: list = []
        self.received_through = -1
        self.evicted_through = -1
        self.held_sorted = True  # held ranges appended in order of their first seq
        self.held_top = -1
        self.walk_from = 0
        self.evicted_at: list | None = None

    # -- the fold --

    def chunk(self, seq: int, ms: int, size: int, recording: object, at: tuple, init: bool) -> None:
        """A chunk stored: ``size`` bytes new on the card, ``at`` its place in the ledger."""
        sp = self.open
        if sp is not None and (
            sp.recording != recording
            or sp.first_ms // DAY_MS != ms // DAY_MS
            or sp.count >= SPAN_CHUNKS
        ):
            self.close_span()
        if self.run_lo < 0 or recording != self.run_rec:
            self.run_rec = recording
            self.run_lo = seq
            self.run_closed_hi = -1
            self.run_held = recording in self.important
            self.run_init = [seq, at[0], at[1], size, False] if init else None
        sp = self.open
        if sp is None:
            sp = self.open = Span(seq, ms, recording, at)
            sp.init = self.run_init
        sp.add(seq, ms, size)
        if self.run_held:
            sp.held = True

    def close_span(self) -> None:
        """Write the open span to the card."""
        sp = self.open
        if sp is None:
            return
        init = self.run_init
        if init is not None and sp.first_seq == init[0]:
            init[4] = sp.held  # the init segment is held as the span it opens
        sp.init = None if init is None else list(init)
        self.spans.append(sp.encode())
        self.run_closed_hi = sp.last_seq
        self.open = None

    def receipt(self, through: int) -> bool:
        if through > self.received_through:
            self.received_through = through
            return True
        return False

    def evicted(self, through: int) -> None:
        if through > self.evicted_through:
            self.evicted_through = through
            self.evicted_at = None  # the walk finds the place again

    def mark(self, recording: object) -> None:
        """A recording marked important: its chunks on the card and its later ones are held."""
        if recording not in self.important:
            self.important.append(recording)
            if len(self.important) > IMPORTANT_KEEP:
                self.important.pop(0)
        if self.run_lo >= 0 and recording == self.run_rec:
            self.run_held = True
            if self.open is not None:
                self.open.held = True
            if self.run_closed_hi >= 0:
                self._add_held(self.run_lo, self.run_closed_hi)
            if self.run_init is not None:
                self.run_init[4] = True
            return
        # Not the current run (rare: a mark names the recording being filmed): find its
        # latest run in the closed spans, a slow walk of the index in bounded memory.
        lo = hi = -1
        prev: object = None
        first = True
        for _, payload in self.spans.records(0):
            sp = decode_span(payload)
            if sp.recording == recording:
                if first or prev != recording:
                    lo = sp.first_seq
                hi = sp.last_seq
            prev = sp.recording
            first = False
        if lo >= 0:
            self._add_held(lo, hi)

    def _add_held(self, lo: int, hi: int) -> None:
        lo = max(lo, self.evicted_through + 1)  # what is already gone cannot be held
        if lo > hi:
            return
        self.held_file.append(cbor.dumps([lo, hi]))
        if lo < self.held_top:
            self.held_sorted = False
        if lo > self.held_top:
            self.held_top = lo

    # -- the checkpoint --

    def state(self) -> list:
        """What a checkpoint keeps of the index: a bounded list."""
        sp = self.open
        return [
            None if sp is None else sp.encode(),
            self.run_rec,
            self.run_lo,
            self.run_closed_hi,
            self.run_held,
            self.run_init,
            self.important,
            self.received_through,
            self.evicted_through,
            self.held_sorted,
            self.held_top,
            self.walk_from,
            self.evicted_at,
            [self.spans.length, self.spans.tail, self.spans.tail_crc],
            [self.held_file.length, self.held_file.tail, self.held_file.tail_crc],
        ]

    def restore(self, v: list) -> bool:
        """Take a checkpoint's state; False when the files on the card do not match it."""
        if not self.spans.adopt(v[13][0], v[13][1], v[13][2]):
            return False
        if not self.held_file.adopt(v[14][0], v[14][1], v[14][2]):
            return False
        self.open = None if v[0] is None else decode_span(v[0])
        self.run_rec = v[1]
        self.run_lo = v[2]
        self.run_closed_hi = v[3]
        self.run_held = v[4]
        self.run_init = v[5]
        self.important = v[6]
        self.received_through = v[7]
        self.evicted_through = v[8]
        self.held_sorted = v[9]
        self.held_top = v[10]
        self.walk_from = v[11]
        self.evicted_at = v[12]
        return True

    def sync(self) -> None:
        self.spans.sync()
        self.held_file.sync()

    def close(self) -> None:
        """Sync and close the index files (they reopen on the next append)."""
        for f in (self.spans, self.held_file):
            close = getattr(f, "close", None)
            if close is not None:
                close()

    # -- reading: the walk retention runs --

    def all_spans(self) -> "Iterator[tuple]":
        """(offset, span) of every span, oldest first, the open one last (offset -1)."""
        for offset, payload in self.spans.records(0):
            yield offset, decode_span(payload)
        if self.open is not None:
            yield -1, self.open

    def _spans_from(self, offset: int) -> "Iterator[tuple]":
        if offset > self.spans.length:
            offset = 0
        for off, payload in self.spans.records(offset):
            yield off, decode_span(payload)
        if self.open is not None:
            yield -1, self.open

    def is_held(self, seq: int) -> bool:
        """Whether a held range covers ``seq`` (a full read of the held ranges)."""
        for _, payload in self.held_file.records(0):
            r = cbor.loads(payload)
            if r[0] <= seq <= r[1]:  # type: ignore[index]  # written as [lo, hi]
                return True
        return False


class HeldRanges:
    """The held ranges, asked about seqs that never go down: a merge in bounded memory
    when they were appended in order, else a full read per question (rare)."""

    def __init__(self, index: SpanIndex) -> None:
        self.index = index
        self.sorted = index.held_sorted
        self.source = index.held_file.records(0)  # read only when sorted
        self.pulled: list = []
        self.next: list | None = None
        self.done = index.held_file.length == 0

    def _pull(self, upto: int) -> None:
        while not self.done:
            if self.next is None:
                try:
                    _, payload = next(self.source)
                except StopIteration:
                    self.done = True
                    return
                self.next = cbor.loads(payload)  # type: ignore[assignment]
            if self.next[0] > upto:  # type: ignore[index]
                return
            self.pulled.append(self.next)
            self.next = None

    def any_in(self, lo: int, hi: int) -> bool:
        """Whether a held range meets seqs ``lo``..``hi``."""
        if not self.sorted:
            for _, payload in self.index.held_file.records(0):
                r = cbor.loads(payload)
                if r[0] <= hi and r[1] >= lo:  # type: ignore[index]
                    return True
            return False
        self._pull(hi)
        self.pulled = [r for r in self.pulled if r[1] >= lo]
        for r in self.pulled:
            if r[0] <= hi:
                return True
        return False


# --- the walk ------------------------------------------------------------------------------

EVICT = 0  # the step frees its chunk's file (unless another chunk shares it)
PASS = 1  # the frontier passes the chunk and keeps it (held, or an init segment for now)


class Chunk:
    """A chunk as the walk reads it back from the ledger."""

    def __init__(
        self, seq: int, ms: int, size: int, recording: object, digest: bytes, init: bool
    ) -> None:
        self.seq = seq
        self.ms = ms
        self.size = size
        self.recording = recording
        self.digest = digest
        self.init = init


def close_iter(it: object) -> None:
    """Close a generator left part-way (its file, its read buffer) now: MicroPython runs
    no generator's ``finally`` when the generator becomes garbage, so a walk that stops
    early would leave its segment file open until a collection finds it."""
    close = getattr(it, "close", None)
    if close is not None:
        close()


def _chunks(reader: "LedgerReader", at: tuple, lo: int, hi: int) -> "Iterator[tuple]":
    """(chunk, place of the next record) for the chunks with seq in lo..hi, from ``at``."""
    entries = reader.entries_at(at[0], at[1])
    try:
        for index, offset, raw in entries:
            e = parse_entry(raw)
            if e.seq > hi:
                return
            if e.kind != KIND_CHUNK or e.seq < lo:
                continue
            f = e.fields
            chunk = Chunk(
                e.seq,
                f[F_START_MS],
                f[F_PLAIN_LEN],
                f.get(F_RECORDING),
                media_digest(f),
                f.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT,
            )
            yield chunk, (index, offset + _HEADER + len(raw))
    finally:
        close_iter(entries)


def init_digest(reader: "LedgerReader", init: list) -> bytes:
    """The media digest of an init segment the index names by its place in the ledger."""
    chunks = _chunks(reader, (init[1], init[2]), init[0], init[0])
    try:
        for chunk, _ in chunks:
            return chunk.digest
    finally:
        close_iter(chunks)
    raise StoreError("the ledger holds no chunk seq %d where the index says" % init[0])


class Walk:
    """The chunks retention may free now, oldest first.

    The frontier walks forward from ``evicted_through`` and stops at the first chunk
    younger than the floor (``cutoff``: recorded after it) or not yet received; held chunks
    are passed and kept. Iterating yields steps ``(kind, last seq, digest, bytes, also)``:
    kind EVICT or PASS; ``also`` is None or ``(digest, bytes)`` of the previous
    recording's init segment, freed in the same step because the frontier has now passed
    every fragment of that recording. With ``whole`` a span that is wholly evictable or
    wholly held is one step with digest None, without reading the ledger (the estimate);
    otherwise every chunk is a step and names its digest (the plan).

    After each step, ``frontier``, ``walk_from`` and ``evicted_at`` say where the frontier
    is, for the index to keep when the step was carried out.
    """

    def __init__(
        self, index: SpanIndex, reader: "LedgerReader", floor_ms: int, now_ms: int, whole: bool
    ) -> None:
        self.index = index
        self.reader = reader
        self.cutoff = now_ms - floor_ms
        self.whole = whole
        self.frontier = index.evicted_through
        self.walk_from = index.walk_from
        self.evicted_at = index.evicted_at

    def _free_init(self, pending: "list | None") -> "tuple | None":
        if pending is None or pending[4] or self.index.is_held(pending[0]):
            return None
        digest = None if self.whole else init_digest(self.reader, pending)
        return digest, pending[3]

    def __iter__(self) -> "Iterator[tuple]":
        held = HeldRanges(self.index)
        spans = self.index._spans_from(self.index.walk_from)
        self._reading: object = None
        try:
            yield from self._steps(held, spans)
        finally:
            # A walk stopped early (enough freed) closes its readers now: see close_iter.
            close_iter(self._reading)
            close_iter(spans)
            close_iter(held.source)

    def _steps(self, held: HeldRanges, spans: "Iterator[tuple]") -> "Iterator[tuple]":
        index = self.index
        e = index.evicted_through
        received = index.received_through
        cutoff = self.cutoff
        run: object = None
        started = False  # the run the frontier is in is known
        pending: list | None = None  # that run's init segment, still on the card
        hint = index.walk_from
        for offset, sp in spans:
            if sp.first_seq <= e:
                # The frontier is in or past this span: note its run, and the run's init
                # segment, on the card until the frontier passes into the next recording.
                if not started or sp.recording != run:
                    run = sp.recording
                    pending = sp.init
                    started = True
                if offset >= 0:
                    self.walk_from = offset
                if sp.last_seq <= e:
                    continue
            if sp.first_seq > received:
                return
            span_held = sp.held or held.any_in(sp.first_seq, sp.last_seq)
            fresh = sp.first_seq > e
            if (
                fresh
                and (sp.held or (self.whole and not span_held))
                and (sp.held or (sp.max_ms <= cutoff and sp.last_seq <= received))
            ):
                if sp.held and (sp.first_ms > cutoff or sp.last_seq > received):
                    return  # the frontier stops before what is young or unreceived
                also = None
                if not started or sp.recording != run:
                    also = self._free_init(pending)
                    run = sp.recording
                    pending = sp.init
                    started = True
                size = sp.size
                if pending is not None and sp.first_seq <= pending[0] <= sp.last_seq:
                    size -= pending[3]  # the init segment stays until the run is passed
                self.frontier = sp.last_seq
                self.evicted_at = None
                if offset >= 0:
                    self.walk_from = offset
                yield (PASS if sp.held else EVICT), sp.last_seq, None, size, also
                continue
            at = sp.at
            ea = index.evicted_at
            if not fresh and ea is not None and offset == hint:
                at = (ea[0], ea[1])
            chunks = _chunks(self.reader, at, e + 1, sp.last_seq)
            close_iter(self._reading)
            self._reading = chunks
            for chunk, after in chunks:
                if chunk.ms > cutoff or chunk.seq > received:
                    return
                also = None
                if not started or chunk.recording != run:
                    also = self._free_init(pending)
                    run = chunk.recording
                    started = True
                    pending = sp.init if sp.init is not None and sp.init[0] == chunk.seq else None
                self.frontier = chunk.seq
                self.evicted_at = [after[0], after[1]]
                if offset >= 0:
                    self.walk_from = offset
                if pending is not None and chunk.seq == pending[0]:
                    yield PASS, chunk.seq, None, 0, also  # kept while its fragments are
                elif span_held and (sp.held or held.any_in(chunk.seq, chunk.seq)):
                    yield PASS, chunk.seq, None, 0, also
                else:
                    yield EVICT, chunk.seq, chunk.digest, chunk.size, also


def span_report(index: SpanIndex, policy: "RetentionRules", now_ms: int) -> SpaceReport:
    """The bytes on the card by what retention allows, span by span (a span counted under
    the first rule that keeps any of its chunks): for the message when the rules free too
    little. A walk of the whole index, in bounded memory; it runs only then."""
    r = SpaceReport()
    cutoff = now_ms - policy.floor_ms
    e = index.evicted_through
    for _, sp in index.all_spans():
        held = sp.held or index.is_held(sp.first_seq) or index.is_held(sp.last_seq)
        if sp.last_seq <= e and not held:
            continue  # gone from the card
        if sp.max_ms > cutoff:
            r.young_bytes += sp.size
        elif held:
            r.held_bytes += sp.size
        elif sp.last_seq > index.received_through:
            r.unreceived_bytes += sp.size
        else:
            r.evictable_bytes += sp.size
    return r
