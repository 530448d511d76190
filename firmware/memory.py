"""What a recorder remembers across power-offs, and the checkpoint that spares re-reading it.

The ledger is the record. What the agent needs from it at power-on (what retention knows of
the media on the card, what host receipts cover, the recordings marked important, the
host-signed settings) is a fold over its entries, ``Memory.fold``, which the agent also
applies to each entry it stores, so the state it runs on and the state a reboot rebuilds
are one code path. Retention's part of the fold lives on the card (``firmware.retindex``):
RAM holds a constant amount whatever the ledger's age.

Folding months of entries at every boot costs seconds that grow with the ledger, so the
agent saves the fold (``encode_checkpoint``) and the next boot folds only the entries after
it. A checkpoint is a cache, never evidence: it names the entry it was folded through, by
seq and hash, and the on-card index's lengths and last records, and carries a MAC under a
key only this device can derive (the device key's signature over a fixed label: Ed25519
signatures are deterministic, and the key never leaves the signer). A checkpoint that was
edited, damaged, or does not match the ledger is ignored, and the whole ledger is folded
again; an index that does not match its checkpoint is rebuilt from the ledger (``recall``
says so, and the agent logs a signed event).
"""

import hashlib

from firmware.errors import StoreError
from firmware.retention import Catalogue, MediaItem
from firmware.retindex import MemoryFile, SpanIndex
from protocol import cbor
from protocol.errors import DecodeError
from protocol.ledger import Entry, entry_hash, media_digest, parse_entry
from protocol.registry import (
    EV_CONFIG_APPLIED,
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_MARK_IMPORTANT,
    F_DETAIL,
    F_EVENT,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    MEDIA_MP4_INIT,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Generator, Iterable
    from typing import Protocol

    from protocol.signer import Ed25519Signer

    class LedgerStore(Protocol):
        """What a boot reads of the device store (``firmware.store.Store``)."""

        def load_checkpoint(self) -> bytes | None: ...

        def positioned(self, from_seq: int = 0) -> Generator[tuple, None, None]: ...


MAGIC = b"SCCK\x02"  # sealcam checkpoint, format 2: the index lives on the card
MAC_LABEL = b"sealcam checkpoint key v1"

# Why a boot rebuilt the on-card index (the detail of EV_INDEX_REBUILT).
REBUILT_MISSING = "missing"  # the ledger holds chunks, the card no index of them
REBUILT_DAMAGED = "damaged"  # the index does not match the checkpoint or the ledger


def media_item(entry: Entry) -> MediaItem:
    """What retention needs to know of a chunk entry's media (stored under this digest)."""
    f = entry.fields
    start, size = f[F_START_MS], f[F_PLAIN_LEN]
    return MediaItem(media_digest(f), start, size, seq=entry.seq, recording=f.get(F_RECORDING))


class Memory:
    """The fold of a device's ledger, entry by entry.

    ``index``            retention's view of the chunks, on the card (``SpanIndex``): a host
                         receipt (``EV_HOST_RECEIPT`` with ``{"through_seq": n}``) marks
                         the chunks up to ``n`` received; an eviction event's
                         ``through_seq`` moves the eviction frontier; a recording marked
                         important (``EV_MARK_IMPORTANT``) holds its chunks, later ones too
    ``settings``         every host-signed setting applied (``EV_CONFIG_APPLIED``), the
                         retention floor and the officer id among them (R-DEV-17)
    ``config_issued_ms`` when the last applied config was issued, against replays
    ``seq``, ``digest``  the last entry folded in (-1 and b"" before any)
    """

    def __init__(self, index: "SpanIndex | None" = None) -> None:
        self.index = index if index is not None else SpanIndex(MemoryFile(), MemoryFile())
        self.settings: dict = {}
        self.config_issued_ms = -1
        self.seq = -1
        self.digest = b""

    @property
    def received_through(self) -> int:
        return self.index.received_through

    @property
    def important(self) -> list:
        """The recordings marked important lately (at most ``IMPORTANT_KEEP``)."""
        return self.index.important

    def fold(self, entry: Entry, at: tuple = (-1, -1)) -> bool:
        """Take in the next entry, stored at ``at`` (segment, offset) in the ledger; True
        when it changed more than adding a chunk (a receipt, an eviction, a mark or a
        setting), which retention's totals must follow."""
        f = entry.fields
        changed = False
        if entry.kind == KIND_CHUNK:
            self.index.chunk(
                entry.seq,
                f[F_START_MS],
                f[F_PLAIN_LEN],
                f.get(F_RECORDING),
                at,
                f.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT,
            )
        else:
            event = f.get(F_EVENT)
            changed = event in (EV_HOST_RECEIPT, EV_EVICTION, EV_MARK_IMPORTANT, EV_CONFIG_APPLIED)
            detail = f.get(F_DETAIL, {})
            if type(detail) is not dict:
                detail = {}
            if event == EV_HOST_RECEIPT:
                # A receipt covers every entry up to its seq, and the host's head only grows.
                through = detail.get("through_seq", -1)
                if type(through) is int:
                    self.index.receipt(through)
            elif event == EV_EVICTION:
                # The frontier: every chunk up to it left the card unless held. An event
                # without one (older firmware) named files only; the walk finds them gone.
                through = detail.get("through_seq", -1)
                if type(through) is int:
                    self.index.evicted(through)
            elif event == EV_MARK_IMPORTANT and F_RECORDING in f:
                self.index.mark(f[F_RECORDING])
            elif event == EV_CONFIG_APPLIED:
                for key in detail:
                    if key not in ("by", "issued_ms"):
                        self.settings[key] = detail[key]
                issued = detail.get("issued_ms", -1)
                if type(issued) is int and issued > self.config_issued_ms:
                    self.config_issued_ms = issued
        self.seq = entry.seq
        self.digest = entry.digest
        return changed


def restore(entries: "Iterable[bytes]", index: "SpanIndex | None" = None) -> Memory:
    """The fold of every entry in ``entries`` (encoded), oldest first; each entry's place
    in the ledger is taken as (0, its position in ``entries``)."""
    memory = Memory(index)
    for i, raw in enumerate(entries):
        memory.fold(parse_entry(raw), (0, i))
    return memory


def catalogue_of(entries: "Iterable[bytes]") -> Catalogue:
    """Every chunk whose media a ledger leaves on the card, as ``MediaItem`` in RAM: the
    whole fold, walked chunk by chunk. For tools and tests on small ledgers, never for the
    device (its size grows with the ledger)."""
    catalogue = Catalogue()
    important: dict = {}
    received = -1
    evicted = -1
    for raw in entries:
        entry = parse_entry(raw)
        f = entry.fields
        if entry.kind == KIND_CHUNK:
            item = media_item(entry)
            item.protected = item.recording in important
            item.received = item.seq <= received
            catalogue.add(item)
            continue
        event = f.get(F_EVENT)
        detail = f.get(F_DETAIL, {})
        if type(detail) is not dict:
            detail = {}
        if event == EV_HOST_RECEIPT:
            through = detail.get("through_seq", -1)
            if type(through) is int and through > received:
                received = through
                catalogue.mark_received(through)
        elif event == EV_EVICTION:
            catalogue.drop(detail.get("media", []))
            through = detail.get("through_seq", -1)
            if type(through) is int and through > evicted:
                # Files kept for another chunk or held are not named; their chunks stay.
                evicted = through
        elif event == EV_MARK_IMPORTANT and F_RECORDING in f:
            important[f[F_RECORDING]] = True
            catalogue.protect(f[F_RECORDING])
    return catalogue


def recall(store: "LedgerStore", key: bytes, index: "SpanIndex | None" = None) -> tuple:
    """``(memory, rebuilt)``: the memory at the head of ``store``'s ledger, and why the
    on-card index was rebuilt (REBUILT_MISSING, REBUILT_DAMAGED) or "" when it was not.

    The checkpoint is brought up to date when it is intact, names an entry the ledger
    holds and the index files match it; else the whole ledger is folded again, writing the
    index anew. A boot without a checkpoint rebuilds silently when the index it finds is a
    prefix of the one the ledger gives (what a cut leaves), and says so otherwise.
    """
    if index is None:
        index = SpanIndex(MemoryFile(), MemoryFile())
    data = store.load_checkpoint()
    head = _open_checkpoint(data, key) if data is not None else None
    reason = ""
    if head is not None:
        memory = _memory_from(head, index)
        if memory is None:
            reason = REBUILT_DAMAGED if index.spans.exists() else REBUILT_MISSING
        elif memory.seq >= 0:
            entries = store.positioned(memory.seq)
            try:
                first = next(entries)
            except StopIteration:
                first = None
            if first is not None and entry_hash(first[2]) == memory.digest:
                for seg, off, raw in entries:
                    memory.fold(parse_entry(raw), (seg, off))
                return memory, ""
            entries.close()
    memory, found = rebuild(store, index)
    return memory, reason or found


def rebuild(store: "LedgerStore", index: "SpanIndex") -> tuple:
    """``(memory, why)``: the whole fold of the ledger, writing ``index``'s files anew
    beside the ones found, then compared with them in bounded reads; ``why`` is "" when
    the old index was a prefix of the new one (what a cut after the last checkpoint
    leaves), else REBUILT_MISSING or REBUILT_DAMAGED."""
    had = index.spans.set_aside()
    index.held_file.set_aside()
    memory = Memory(SpanIndex(index.spans, index.held_file))
    for seg, off, raw in store.positioned(0):
        memory.fold(parse_entry(raw), (seg, off))
    why = ""
    if not had:
        why = REBUILT_MISSING if index.spans.length else ""
    elif not (index.spans.aside_is_prefix() and index.held_file.aside_is_prefix()):
        why = REBUILT_DAMAGED
    index.spans.drop_aside()
    index.held_file.drop_aside()
    return memory, why


def checkpoint_key(signer: "Ed25519Signer") -> bytes:
    """The device's checkpoint MAC key: only a holder of the device key can compute it."""
    return hashlib.sha256(signer.sign(MAC_LABEL)).digest()


def _mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-256 (RFC 2104), written out: MicroPython has no hmac module."""
    block = key + bytes(64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + data).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in block) + inner).digest()


def encode_checkpoint(memory: Memory, key: bytes) -> bytes:
    """The memory as checkpoint bytes: a CBOR head and a MAC over it. Its size is bounded
    (the settings, the open span, a few recent marks): the spans are on the card."""
    head = cbor.dumps(
        {
            "seq": memory.seq,
            "digest": memory.digest,
            "settings": memory.settings,
            "issued": memory.config_issued_ms,
            "index": memory.index.state(),
        }
    )
    body = MAGIC + len(head).to_bytes(4, "big") + head
    return body + _mac(key, body)


def _open_checkpoint(data: bytes, key: bytes) -> "dict | None":
    """The head of a checkpoint this device wrote intact, or None."""
    if len(data) < len(MAGIC) + 4 + 32 or data[: len(MAGIC)] != MAGIC:
        return None
    body = data[:-32]
    if _mac(key, body) != data[-32:]:
        return None
    at = len(MAGIC) + 4
    end = at + int.from_bytes(body[len(MAGIC) : at], "big")
    if end != len(body):
        return None
    try:
        head = cbor.loads(body[at:end])
    except DecodeError:
        return None
    return head if type(head) is dict else None


def _memory_from(head: dict, index: "SpanIndex") -> "Memory | None":
    """The memory a checkpoint's head holds, on ``index`` (whose files must match it)."""
    try:
        memory = Memory(index)
        memory.seq = head["seq"]
        memory.digest = head["digest"]
        memory.settings = head["settings"]
        memory.config_issued_ms = head["issued"]
        state = head["index"]
        if not index.restore(state):
            return None
    except (KeyError, TypeError, IndexError, StoreError):
        return None  # the MAC held, so a bug wrote it: fold the ledger instead
    return memory


def decode_checkpoint(data: bytes, key: bytes, index: "SpanIndex | None" = None) -> "Memory | None":
    """The memory a checkpoint holds, or None when it is not one this device wrote intact
    or ``index`` (its files) does not match it."""
    head = _open_checkpoint(data, key)
    if head is None:
        return None
    return _memory_from(head, index if index is not None else SpanIndex(MemoryFile(), MemoryFile()))
