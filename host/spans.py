"""One recording's span of its device's ledger, read from the store without the rest of it.

An export (a video, a court package, the review page's buttons) needs one recording: its
entries from record-start to record-stop, every entry between included, on to the first
signed entry (``host.mp4export.recording_span``), and the link into them: the hash of the
entry before the span as the store holds it, which the span's first entry must chain to
(``LedgerVerifier.resume``). A device docks about 29,000 entries a working day; reading,
parsing and verifying all of them to export one hour would grow without end.

Where a span lies. A recording's number is the seq of its record-start entry
(``host.recordings``), so its first seq needs no lookup; its end is the first record-stop
naming it after that (or, for a recording a power loss cut short, the entry before the next
record-start). The index that finds it is the store's own ``entries`` table: its primary key
(device, seq) and each row's ``kind``. The events after the start are read, a few at a time,
until the stop: a handful per recording, while the chunks (one a second) are passed over by
the database unparsed.

Why not the ``items`` table (``host.items``), which holds first_seq/last_seq per recording:
it belongs to evidence management and exists only in a store that layer has prepared (a
store that only syncs has none); it is brought up to date by writing (``items.refresh``),
and an export opens the store read only and writes nothing; and it is stale by whatever
docked since it last ran. The entries table is in every store, on both engines, and always
current. An index only says where to read, never what the recording is: the signed entries
read there decide that, and are verified.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from host.mp4export import recording_span
from protocol.errors import ProtocolError
from protocol.ledger import Entry, parse_entry, read_chunks
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_EVENT,
    F_RECORDING,
    KIND_EVENT,
    ZERO_HASH,
)

EVENT_BATCH = 8  # events read at first when looking for a stop; doubled each time, to MAX
EVENT_BATCH_MAX = 1024
TAIL_BATCH = 64  # entries read at a time past the span's end, to the first signed one
NO_END = (1 << 63) - 1  # the highest seq either engine holds


class LedgerRows(Protocol):
    """What a span is read from: either evidence store (``host.evidence``, ``host.pgstore``)
    or a view of one (``host.court.fromobjects``)."""

    def entries(self, device_id: str, from_seq: int = 0, to_seq: "int | None" = None) -> Any: ...

    def query(self, sql: str, params: tuple = ()) -> list: ...


@dataclass
class Span:
    """A recording's span as read: ``entries`` (parsed, record-start first; empty when the
    store holds no such recording), ``records`` (what the verifier is fed: the reader's
    records of the span, damaged bytes included; of all that was read for a recording
    without a stop, or at the start when there is no span), ``resume`` (``(first seq,
    hash of the entry before it)``; ``(0, ZERO_HASH)`` from seq 0: see ``_resume``),
    ``held_to`` (the highest seq the store's log says it took, when rows it took past its
    last one are gone: ``_last_logged``; set only for a span read to the last row), and
    ``read``, how many entries the store returned for it."""

    device_id: str
    rec_id: bytes
    entries: list = field(default_factory=list)
    records: list = field(default_factory=list)
    resume: "tuple[int, bytes] | None" = None  # None: nothing was read
    held_to: "int | None" = None
    read: int = 0


def _parsed(raw: Any) -> "Entry | None":
    try:
        return parse_entry(bytes(raw))
    except ProtocolError:
        return None


def _is(e: "Entry | None", code: int, rec_id: "bytes | None" = None) -> bool:
    if e is None or e.kind != KIND_EVENT or e.fields.get(F_EVENT) != code:
        return False
    return rec_id is None or e.fields.get(F_RECORDING) == rec_id


def events(
    store: LedgerRows, device_id: str, from_seq: int = 0, newest_first: bool = False
) -> "Iterator[tuple[int, Entry | None]]":
    """``(seq, entry)`` of the device's events from ``from_seq`` on (newest first: from the
    newest down), parsed (None for one that does not parse), read a batch at a time so a
    caller that stops early reads little."""
    lo, hi, n = from_seq, NO_END, EVENT_BATCH
    order = "DESC" if newest_first else "ASC"
    while lo <= hi:
        rows = store.query(
            "SELECT seq, raw FROM entries WHERE device_id = ? AND kind = ? AND seq >= ? "
            "AND seq <= ? ORDER BY seq %s LIMIT %d" % (order, n),
            (device_id, KIND_EVENT, lo, hi),
        )
        for seq, raw in rows:
            yield int(seq), _parsed(raw)
        if len(rows) < n:
            return
        if newest_first:
            hi = int(rows[-1][0]) - 1
        else:
            lo = int(rows[-1][0]) + 1
        n = min(2 * n, EVENT_BATCH_MAX)


def starts(store: LedgerRows, device_id: str, damaged: bool = False) -> "Iterator[bytes]":
    """The ids of the device's recordings, newest first, from their record-start events.
    With ``damaged``, an event that does not parse is a candidate too (its seq as the id):
    it may have been a record-start, and skipping it would quietly give the recording
    before it; its span, read, is what the verifier then refuses."""
    seen: set = set()
    for seq, e in events(store, device_id, newest_first=True):
        if e is None and damaged:
            yield seq.to_bytes(8, "big")
        elif _is(e, EV_RECORD_START):
            assert e is not None
            rec = e.fields.get(F_RECORDING)
            if isinstance(rec, bytes) and rec and rec not in seen:
                seen.add(rec)
                yield rec


def _end(store: LedgerRows, device_id: str, rec_id: bytes, first: int) -> "tuple[int | None, bool]":
    """``(last seq to read, stopped)`` for the recording starting at ``first``: its
    record-stop (True), else the entry before the next record-start, or None: to the newest
    entry (False)."""
    for seq, e in events(store, device_id, first + 1):
        if _is(e, EV_RECORD_STOP, rec_id):
            return seq, True
        if _is(e, EV_RECORD_START) and e is not None and e.fields.get(F_RECORDING) != rec_id:
            return seq - 1, False
    return None, False


def _prev_hash(store: LedgerRows, device_id: str, seq: int) -> bytes:
    """The hash the store holds of entry ``seq`` (the one before a span); a store without it
    gives the zero-length hash, to which no entry chains: the link is then reported broken."""
    rows = store.query("SELECT hash FROM entries WHERE device_id = ? AND seq = ?", (device_id, seq))
    return bytes(rows[0][0]) if rows else b""


def _resume(store: LedgerRows, device_id: str, first: int) -> "tuple[int, bytes]":
    """Where the span's verification starts (``verify_records``' ``resume``): past seq 0,
    the link into the span, to the hash the store holds of the entry before it. From seq 0,
    ``(0, ZERO_HASH)``: the ledger is held from there. A store takes a device's ledger from
    seq 0 only, in order (``host.evidence.order_batch``), logging each entry as it does, so
    a store holding any of its entries once held seq 0: a row at seq 0 missing now is a gap,
    NOT OK, not a ledger that merely starts later (OK with missing information), which would
    let recording 0 be deleted unseen."""
    if first > 0:
        return first, _prev_hash(store, device_id, first - 1)
    return 0, ZERO_HASH


def _last_seq(store: LedgerRows, device_id: str) -> int:
    """The highest seq the store holds of the device, -1 for none."""
    rows = store.query(
        "SELECT seq FROM entries WHERE device_id = ? ORDER BY seq DESC LIMIT 1", (device_id,)
    )
    return int(rows[0][0]) if rows else -1


def _last_logged(store: LedgerRows, device_id: str) -> "int | None":
    """The highest seq of the device the store's host log names (a leaf per entry the store
    took, ``host.hostlog.entry_leaf``), None for none or a store without a log. Asked only
    for a number past the entries the store holds: one query, the newest such leaf."""
    import sqlite3

    from host import hostlog
    from protocol import cbor

    prefix = hostlog.entry_leaf(device_id, 0, b"")[:-2]  # up to the seq: kind and device
    try:
        rows = store.query(
            "SELECT data FROM log WHERE kind = ? AND substr(data, 1, ?) = ? "
            "ORDER BY idx DESC LIMIT 1",
            (hostlog.ENTRY, len(prefix), prefix),
        )
    except sqlite3.OperationalError:  # a store without a host log
        return None
    if not rows:
        return None
    try:
        leaf = cbor.loads(bytes(rows[0][0]))
    except ProtocolError:
        return None
    seq = leaf[2] if isinstance(leaf, list) and len(leaf) == 4 else None
    return seq if isinstance(seq, int) else None


def deleted_tail(store: LedgerRows, device_id: str) -> "Span | None":
    """The span of the rows the store took past the last one it still holds of the device,
    when its host log says it took any (``_last_logged``), else None. A question of "the
    newest recording" asks it first: nothing after such a gap is left to show it, and the
    newest record-start the store still holds would quietly be taken for the newest one
    the device made. The span holds no entries; verified, it is a gap (NOT OK)."""
    last = _last_seq(store, device_id)
    logged = _last_logged(store, device_id)
    if logged is None or logged <= last:
        return None
    span = Span(device_id, (last + 1).to_bytes(8, "big"))
    span.resume = _resume(store, device_id, last + 1)
    span.held_to = logged
    return span


def _on_to_signed(store: LedgerRows, device_id: str, after: int, raws: list) -> bool:
    """Add to ``raws`` the entries past seq ``after``, in seq order, up to and including the
    first signed one (the one that vouches for the unsigned ones before it), unless the last
    of ``raws`` is signed already. The entries are asked for by seq past the last one read,
    never by a window of seqs: a gap of any length is passed over, read across and left to
    the verifier to find, not taken for the ledger's end. False when no signed entry was
    found: what was read then runs to the last row the store holds of the device."""
    if raws:
        last = _parsed(raws[-1])
        if last is not None and last.signed:
            return True
    while True:
        rows = store.query(
            "SELECT seq, raw FROM entries WHERE device_id = ? AND seq > ? "
            "ORDER BY seq LIMIT %d" % TAIL_BATCH,
            (device_id, after),
        )
        for seq, raw in rows:
            raws.append(bytes(raw))
            e = _parsed(raw)
            if e is not None and e.signed:
                return True
            after = int(seq)
        if len(rows) < TAIL_BATCH:
            return False


def _cut_after(store: LedgerRows, device_id: str, records: list) -> "int | None":
    """For a span read to the last row the store holds of the device: the highest seq the
    store's log says it took (``_last_logged``) when that is past the last entry read, else
    None. Rows deleted from the ledger's end inside a recording (its record-start kept)
    leave it looking like one a power loss cut short; the seqs the log names past the last
    row are then a gap, NOT OK. Asked only when the span reaches the last row: one query."""
    seqs = [r[2].seq for r in records if r[0] == "entry"]
    last = max(seqs) if seqs else _last_seq(store, device_id)
    logged = _last_logged(store, device_id)
    return logged if logged is not None and logged > last else None


def read(store: LedgerRows, device_id: str, rec_id: bytes) -> Span:
    """The span of recording ``rec_id`` (its record-start at the seq its number names),
    read from the store by seq range."""
    first = int.from_bytes(rec_id, "big")
    span = Span(device_id, rec_id)
    if first > NO_END:
        return span
    head = store.entries(device_id, first, first)
    start = _parsed(head[0]) if head else None
    if not _is(start, EV_RECORD_START, rec_id):
        # No recording starts there. A number past the ledger's end names none; one within
        # it is a seq the store should hold: what it holds from there on to a signed entry
        # is verified, linked to the entry before, so a start row deleted or swapped for
        # another entry is a broken ledger, said before the recording is said missing.
        last = _last_seq(store, device_id) if not head else first
        if not head and first > last:
            # Past the last row the store holds: no such recording, unless the store's log
            # says it took entries up to this seq or past it. Then the rows from after its
            # last one to the ledger's end were deleted (nothing after them is left to
            # show the gap): verified as a gap, NOT OK, never said to be a recording the
            # store never held.
            logged = _last_logged(store, device_id)
            if logged is None or logged < first:
                return span
            span.resume = _resume(store, device_id, last + 1)
            span.held_to = logged
            return span
        span.resume = _resume(store, device_id, first)
        raws = [bytes(head[0])] if head else []
        _on_to_signed(store, device_id, first if head else first - 1, raws)
        span.records = list(read_chunks((b"".join(raws),)))
        span.read = len(raws)
        return span
    span.resume = _resume(store, device_id, first)
    end, stopped = _end(store, device_id, rec_id, first)
    raws = [bytes(head[0])]
    if end is None or end > first:
        raws.extend(bytes(r) for r in store.entries(device_id, first + 1, end))
    # Read to the newest row the store holds: no stop or next start after the span's
    # start, or no signed entry after its stop.
    to_last = end is None or not _on_to_signed(store, device_id, end, raws)
    span.read = len(raws)
    records = list(read_chunks((b"".join(raws),)))
    entries = [r[2] for r in records if r[0] == "entry"]
    span.entries = recording_span(entries, rec_id)
    if to_last:
        span.held_to = _cut_after(store, device_id, records)
    if not span.entries or not stopped or span.held_to is not None:
        # Without a stop (a power loss, or a stop entry that no longer parses) everything
        # read is verified, up to the next recording's start and on to a signed entry: a
        # damaged stop is then found, not taken for a recording cut short.
        span.records = records
        return span
    last_seq = span.entries[-1].seq
    upto = next(i for i, r in enumerate(records) if r[0] == "entry" and r[2].seq == last_seq)
    span.records = records[: upto + 1]
    return span
