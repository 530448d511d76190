"""What a recorder remembers across power-offs, and the checkpoint that spares re-reading it.

The ledger is the record. What the agent needs from it at power-on (the media still on the
card and what host receipts cover, the recordings marked important, the host-signed
settings) is a fold over its entries, ``Memory.fold``, which the agent also applies to each
entry it stores, so the state it runs on and the state a reboot rebuilds are one code path.

Folding months of entries at every boot costs seconds that grow with the ledger, so the
agent saves the fold (``encode_checkpoint``) and the next boot folds only the entries after
it. A checkpoint is a cache, never evidence: it names the entry it was folded through, by
seq and hash, and carries a MAC under a key only this device can derive (the device key's
signature over a fixed label: Ed25519 signatures are deterministic, and the key never
leaves the signer). A checkpoint that was edited, damaged, or does not match the ledger is
ignored, and the whole ledger is folded again.
"""

import hashlib
import struct

from firmware.retention import Catalogue, MediaItem
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
    F_PLAIN_LEN,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Generator, Iterable
    from typing import Protocol

    from protocol.signer import Ed25519Signer

    class LedgerStore(Protocol):
        """What a boot reads of the device store (``firmware.store.Store``)."""

        def load_checkpoint(self) -> bytes | None: ...

        def entries(self, from_seq: int = 0) -> Generator[bytes, None, None]: ...


MAGIC = b"SCCK\x01"  # sealcam checkpoint, format 1
MAC_LABEL = b"sealcam checkpoint key v1"
_ITEM = ">32sQQQIB"  # digest, recorded_ms, size, seq, recording, flags
_ITEM_LEN = struct.calcsize(_ITEM)
_MS_BIAS = 1 << 63  # recorded_ms is stored unsigned: a clock never set may read below 0
_RECEIVED = 1
_PROTECTED = 2


def media_item(entry: Entry) -> MediaItem:
    """What retention needs to know of a chunk entry's media (stored under this digest)."""
    f = entry.fields
    start, size = f[F_START_MS], f[F_PLAIN_LEN]
    return MediaItem(media_digest(f), start, size, seq=entry.seq, recording=f.get(F_RECORDING))


class Memory:
    """The fold of a device's ledger, entry by entry.

    ``catalogue``        retention's items, one per chunk whose media is still on the card
                         (an eviction event removes what it names), dated by the first frame;
                         a host receipt (``EV_HOST_RECEIPT`` with ``{"through_seq": n}``)
                         marks the chunks up to ``n`` received; a recording marked important
                         (``EV_MARK_IMPORTANT``) protects its chunks, later ones too.
    ``settings``         every host-signed setting applied (``EV_CONFIG_APPLIED``), the
                         retention floor and the officer id among them (R-DEV-17)
    ``config_issued_ms`` when the last applied config was issued, against replays
    ``seq``, ``digest``  the last entry folded in (-1 and b"" before any)
    """

    def __init__(self) -> None:
        self.catalogue = Catalogue()
        self.settings: dict = {}
        self.config_issued_ms = -1
        self.received_through = -1
        self.important: dict = {}  # recording id -> True
        self.seq = -1
        self.digest = b""

    def fold(self, entry: Entry) -> bool:
        """Take in the next entry; True when it changed more than adding a chunk (a receipt,
        an eviction, a mark or a setting), which retention's totals must follow."""
        f = entry.fields
        changed = False
        if entry.kind == KIND_CHUNK:
            item = media_item(entry)
            item.protected = item.recording in self.important
            item.received = item.seq <= self.received_through
            self.catalogue.add(item)
        else:
            event = f.get(F_EVENT)
            changed = event in (EV_HOST_RECEIPT, EV_EVICTION, EV_MARK_IMPORTANT, EV_CONFIG_APPLIED)
            if event == EV_HOST_RECEIPT:
                # A receipt covers every entry up to its seq, and the host's head only grows.
                through = f.get(F_DETAIL, {}).get("through_seq", -1)
                if type(through) is int and through > self.received_through:
                    self.received_through = through
                    self.catalogue.mark_received(through)
            elif event == EV_EVICTION:
                # That media is gone from the card: it is no longer the store's to free.
                self.catalogue.drop(f.get(F_DETAIL, {}).get("media", []))
            elif event == EV_MARK_IMPORTANT and F_RECORDING in f:
                self.important[f[F_RECORDING]] = True
                self.catalogue.protect(f[F_RECORDING])
            elif event == EV_CONFIG_APPLIED:
                detail = f.get(F_DETAIL, {})
                for key in detail:
                    if key not in ("by", "issued_ms"):
                        self.settings[key] = detail[key]
                issued = detail.get("issued_ms", -1)
                if type(issued) is int and issued > self.config_issued_ms:
                    self.config_issued_ms = issued
        self.seq = entry.seq
        self.digest = entry.digest
        return changed


def restore(entries: "Iterable[bytes]") -> Memory:
    """The fold of every entry in ``entries`` (encoded), oldest first."""
    memory = Memory()
    for raw in entries:
        memory.fold(parse_entry(raw))
    return memory


def recall(store: "LedgerStore", key: bytes) -> Memory:
    """The memory at the head of ``store``'s ledger: its checkpoint brought up to date when
    the checkpoint is intact and names an entry the ledger holds, else the whole fold."""
    data = store.load_checkpoint()
    memory = decode_checkpoint(data, key) if data is not None else None
    if memory is not None and memory.seq >= 0:
        entries = store.entries(memory.seq)
        try:
            first = next(entries)
        except StopIteration:
            first = None
        if first is not None and entry_hash(first) == memory.digest:
            for raw in entries:
                memory.fold(parse_entry(raw))
            return memory
        entries.close()
    return restore(store.entries())


def checkpoint_key(signer: "Ed25519Signer") -> bytes:
    """The device's checkpoint MAC key: only a holder of the device key can compute it."""
    return hashlib.sha256(signer.sign(MAC_LABEL)).digest()


def _mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-256 (RFC 2104), written out: MicroPython has no hmac module."""
    block = key + bytes(64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + data).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in block) + inner).digest()


def encode_checkpoint(memory: Memory, key: bytes) -> bytes:
    """The memory as checkpoint bytes: a CBOR head, fixed-size items, a MAC over both."""
    recordings: list = []
    index: dict = {}
    parts = []
    for item in memory.catalogue:
        rec = item.recording
        if rec is None:
            n = 0
        else:
            n = index.get(rec, 0)
            if not n:
                recordings.append(rec)
                n = index[rec] = len(recordings)
        flags = (_RECEIVED if item.received else 0) | (_PROTECTED if item.protected else 0)
        parts.append(
            struct.pack(
                _ITEM, item.digest, item.recorded_ms + _MS_BIAS, item.size, item.seq + 1, n, flags
            )
        )
    head = cbor.dumps(
        {
            "seq": memory.seq,
            "digest": memory.digest,
            "settings": memory.settings,
            "issued": memory.config_issued_ms,
            "received": memory.received_through,
            "important": list(memory.important),
            "recordings": recordings,
            "items": len(parts),
        }
    )
    body = MAGIC + len(head).to_bytes(4, "big") + head + b"".join(parts)
    return body + _mac(key, body)


def decode_checkpoint(data: bytes, key: bytes) -> "Memory | None":
    """The memory a checkpoint holds, or None when it is not one this device wrote intact."""
    if len(data) < len(MAGIC) + 4 + 32 or data[: len(MAGIC)] != MAGIC:
        return None
    body = data[:-32]
    if _mac(key, body) != data[-32:]:
        return None
    at = len(MAGIC) + 4
    end = at + int.from_bytes(body[len(MAGIC) : at], "big")
    try:
        head: dict = cbor.loads(body[at:end])  # type: ignore[assignment]  # its MAC proved it the map we wrote
        memory = Memory()
        memory.seq = head["seq"]
        memory.digest = head["digest"]
        memory.settings = head["settings"]
        memory.config_issued_ms = head["issued"]
        memory.received_through = head["received"]
        for rec in head["important"]:
            memory.important[rec] = True
        recordings = [None] + head["recordings"]
        count = head["items"]
    except (DecodeError, KeyError, TypeError):
        return None  # the MAC held, so a bug wrote it: fold the ledger instead
    if len(body) != end + count * _ITEM_LEN:
        return None
    catalogue = memory.catalogue
    try:
        for i in range(end, len(body), _ITEM_LEN):
            digest, ms, size, seq, rec, flags = struct.unpack_from(_ITEM, body, i)
            catalogue.add(
                MediaItem(
                    digest,
                    ms - _MS_BIAS,
                    size,
                    flags & _RECEIVED != 0,
                    flags & _PROTECTED != 0,
                    seq - 1,
                    recordings[rec],
                )
            )
    except (IndexError, ValueError):
        return None
    return memory
