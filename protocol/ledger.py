"""The device ledger: one append-only, hash-chained sequence of signed entries.

``LedgerWriter`` turns facts (a chunk, an event) into encoded entries; it does no I/O, so the
recorder, the simulator and the tests all use it the same way. ``parse_entry`` and
``read_ledger`` turn bytes back into ``Entry`` objects. A ledger file is a CBOR sequence
(RFC 8742): the encoded entries one after another, nothing between them.
"""

import hashlib

from protocol import cbor
from protocol.bounds import MAX_UNSIGNED_BYTES, MAX_UNSIGNED_RUN
from protocol.cose import decode_sign1, encode_sign1, protected_header, to_be_signed
from protocol.errors import DecodeError, EntryError, TruncatedError
from protocol.registry import (
    F_BOOT,
    F_DEVICE,
    F_KIND,
    F_MONO_MS,
    F_PREV,
    F_SEQ,
    F_VERSION,
    F_WALL_MS,
    FORMAT_VERSION,
    HASH_LEN,
    KIND_NAMES,
    ZERO_HASH,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Iterator

    from protocol.signer import Ed25519Signer

# An entry starts with tag 18 and an array of four: the reader resynchronises on these bytes.
_ENTRY_START = b"\xd2\x84"
MAX_ENTRY_BYTES = 1 << 20


def entry_hash(raw: bytes) -> bytes:
    """The SHA-256 of an entry's full encoded bytes: what the next entry's ``prev`` holds."""
    return hashlib.sha256(raw).digest()


class Entry:
    """One parsed ledger entry. ``raw`` is exactly the bytes that were hashed and chained."""

    def __init__(
        self,
        raw: bytes,
        protected: bytes,
        kid: bytes,
        payload: bytes,
        signature: bytes,
        fields: dict,
    ) -> None:
        self.raw = raw
        self.protected = protected
        self.kid = kid
        self.payload = payload
        self.signature = signature
        self.fields = fields
        self.digest = entry_hash(raw)

    @property
    def seq(self) -> int:
        return self.fields[F_SEQ]

    @property
    def prev(self) -> bytes:
        return self.fields[F_PREV]

    @property
    def kind(self) -> int:
        return self.fields[F_KIND]

    @property
    def device_id(self) -> str:
        return self.fields[F_DEVICE]

    @property
    def signed(self) -> bool:
        return len(self.signature) > 0

    def to_be_signed(self) -> bytes:
        return to_be_signed(self.protected, self.payload)


_COMMON_TYPES = (
    (F_VERSION, int, "format version"),
    (F_DEVICE, str, "device id"),
    (F_SEQ, int, "seq"),
    (F_PREV, bytes, "prev"),
    (F_WALL_MS, int, "wall time"),
    (F_MONO_MS, int, "monotonic time"),
    (F_BOOT, int, "boot counter"),
    (F_KIND, int, "kind"),
)


def entry_from_item(raw: bytes, item: object) -> Entry:
    """Build an Entry from a decoded COSE_Sign1 item and the bytes it was decoded from."""
    protected, kid, payload, signature = decode_sign1(item)
    try:
        fields = cbor.loads(payload)
    except DecodeError as exc:
        raise EntryError("payload is not deterministic CBOR: %s" % exc) from None
    if type(fields) is not dict:
        raise EntryError("payload must be a map")
    for key, typ, name in _COMMON_TYPES:
        value = fields.get(key)
        if type(value) is not typ:
            raise EntryError(
                "payload field %d (%s) is missing or not %s" % (key, name, typ.__name__)
            )
    if fields[F_VERSION] != FORMAT_VERSION:
        raise EntryError("format version %d is not supported" % fields[F_VERSION])
    if fields[F_SEQ] < 0 or len(fields[F_PREV]) != HASH_LEN:
        raise EntryError("seq must be >= 0 and prev a 32-byte hash")
    if fields[F_KIND] not in KIND_NAMES:
        raise EntryError("unknown entry kind %d" % fields[F_KIND])
    if kid != fields[F_DEVICE].encode():
        raise EntryError("protected kid does not match the payload's device id")
    return Entry(raw, protected, kid, payload, signature, fields)


def parse_entry(raw: bytes) -> Entry:
    """Parse one encoded entry; raise EntryError or DecodeError saying what is wrong."""
    return entry_from_item(raw, cbor.loads(raw))


class LedgerWriter:
    """Builds the device's chained entries. Sign every entry, or every ``sign_every``-th."""

    def __init__(
        self,
        signer: "Ed25519Signer",
        device_id: str,
        seq: int = 0,
        prev: bytes = ZERO_HASH,
        boot: int = 0,
        sign_every: int = 1,
    ) -> None:
        self.signer = signer
        self.device_id = device_id
        self.seq = seq
        self.prev = prev
        self.boot = boot
        self.sign_every = sign_every
        self.unsigned_run = 0
        self.unsigned_bytes = 0  # bytes of the unsigned run, which readers bound too
        self.protected = protected_header(device_id.encode())

    def append(
        self, kind: int, fields: dict, wall_ms: int, mono_ms: int, sign: bool = False
    ) -> bytes:
        """Encode the next entry and advance the chain; return its bytes for the caller to store.

        ``sign`` forces a signature now (at record stop, before sync, before shutdown) so
        that no entry waits for one.
        """
        payload = dict(fields)
        payload[F_VERSION] = FORMAT_VERSION
        payload[F_DEVICE] = self.device_id
        payload[F_SEQ] = self.seq
        payload[F_PREV] = self.prev
        payload[F_WALL_MS] = wall_ms
        payload[F_MONO_MS] = mono_ms
        payload[F_BOOT] = self.boot
        payload[F_KIND] = kind
        body = cbor.dumps(payload)
        # A reader holds at most MAX_UNSIGNED_RUN unsigned entries (and MAX_UNSIGNED_BYTES)
        # waiting for a signature: whatever ``sign_every`` says, one comes before that.
        if (
            sign
            or self.unsigned_run + 1 >= self.sign_every
            or self.unsigned_run + 1 >= MAX_UNSIGNED_RUN
            or self.unsigned_bytes + len(body) > MAX_UNSIGNED_BYTES // 2
        ):
            signature = self.signer.sign(to_be_signed(self.protected, body))
            self.unsigned_run = 0
            self.unsigned_bytes = 0
        else:
            signature = b""
            self.unsigned_run += 1
            self.unsigned_bytes += len(body)
        raw = encode_sign1(self.protected, body, signature)
        self.prev = entry_hash(raw)
        self.seq += 1
        return raw


# What read_ledger yields: ("entry", offset, Entry), ("malformed", offset, end, message),
# ("truncated", offset, end, message).


def read_ledger(data: bytes) -> "Iterator[tuple]":
    """Yield the entries of a ledger file in file order, and every unreadable stretch.

    Bytes that do not parse are reported as one malformed stretch up to the next place
    where a whole entry parses; bytes at the end that start an entry but stop short are a
    truncated tail.
    """
    pos = 0
    end = len(data)
    while pos < end:
        try:
            item, stop = cbor.decode_item(data, pos)
            if stop - pos > MAX_ENTRY_BYTES:
                raise EntryError(
                    "entry of %d bytes exceeds the %d limit" % (stop - pos, MAX_ENTRY_BYTES)
                )
            raw = bytes(data[pos:stop])
            yield ("entry", pos, entry_from_item(raw, item))
            pos = stop
        except (DecodeError, EntryError) as exc:
            resume = _next_entry_start(data, pos + 1)
            if resume < 0 and isinstance(exc, TruncatedError):
                yield ("truncated", pos, end, str(exc))
                return
            stop = end if resume < 0 else resume
            yield ("malformed", pos, stop, str(exc))
            pos = stop


def _next_entry_start(data: bytes, pos: int) -> int:
    """Offset of the next place at or after ``pos`` where a whole entry parses, or -1."""
    while True:
        pos = data.find(_ENTRY_START, pos)
        if pos < 0:
            return -1
        try:
            item, stop = cbor.decode_item(data, pos)
            entry_from_item(bytes(data[pos:stop]), item)
            return pos
        except (DecodeError, EntryError):
            pos += 1
