"""The device ledger: one append-only, hash-chained sequence of signed entries.

``LedgerWriter`` turns facts (a chunk, an event) into encoded entries; it does no I/O, so the
recorder, the simulator and the tests all use it the same way. ``parse_entry`` and
``read_ledger`` turn bytes back into ``Entry`` objects. A ledger file is a CBOR sequence
(RFC 8742): the encoded entries one after another, nothing between them.
"""

import hashlib

from protocol import cbor
from protocol.bounds import MAX_UNSIGNED_BYTES, MAX_UNSIGNED_RUN
from protocol.cose import NOT_BYTES, decode_sign1, encode_sign1, protected_header, to_be_signed
from protocol.errors import DecodeError, EntryError, TruncatedError, message_of
from protocol.registry import (
    F_BOOT,
    F_CIPHER_SHA,
    F_DEVICE,
    F_KIND,
    F_MONO_MS,
    F_PLAIN_SHA,
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
    from collections.abc import Iterable, Iterator

    from protocol.signer import Ed25519Signer

# An entry starts with tag 18 and an array of four: the reader resynchronises on these bytes.
_ENTRY_START = b"\xd2\x84"
MAX_ENTRY_BYTES = 1 << 20


def entry_hash(raw: bytes) -> bytes:
    """The SHA-256 of an entry's full encoded bytes: what the next entry's ``prev`` holds."""
    return hashlib.sha256(raw).digest()


def media_digest(fields: dict) -> bytes:
    """The SHA-256 that names a chunk's media: of the sealed bytes when the chunk is sealed
    (the device stores and the host fetches only those), else of the plain bytes. The one
    rule every reader of a chunk entry follows; ``fields`` is a chunk entry's payload."""
    digest = fields.get(F_CIPHER_SHA)
    return digest if digest is not None else fields[F_PLAIN_SHA]


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


# Each with its name in English and the message that says the name in any language.
_COMMON_TYPES = (
    (F_VERSION, int, "format version", "cbor.entry.name.version"),
    (F_DEVICE, str, "device id", "cbor.entry.name.device"),
    (F_SEQ, int, "seq", "cbor.entry.name.seq"),
    (F_PREV, bytes, "prev", "cbor.entry.name.prev"),
    (F_WALL_MS, int, "wall time", "cbor.entry.name.wall"),
    (F_MONO_MS, int, "monotonic time", "cbor.entry.name.mono"),
    (F_BOOT, int, "boot counter", "cbor.entry.name.boot"),
    (F_KIND, int, "kind", "cbor.entry.name.kind"),
)
_TYPE_IDS = {int: "cbor.entry.type.int", str: "cbor.entry.type.str", bytes: "cbor.entry.type.bytes"}


def entry_from_item(raw: bytes, item: object) -> Entry:
    """Build an Entry from a decoded COSE_Sign1 item and the bytes it was decoded from."""
    protected, kid, payload, signature = decode_sign1(item)
    return entry_from_parts(raw, protected, kid, payload, signature)


def entry_from_parts(
    raw: bytes, protected: bytes, kid: bytes, payload: bytes, signature: bytes
) -> Entry:
    """Build an Entry from a checked COSE_Sign1's parts: parse and check the payload."""
    try:
        fields = cbor.loads_fast(payload)
    except DecodeError as exc:
        raise EntryError(
            "payload is not deterministic CBOR: %s" % exc, "cbor.entry.payload_not_cbor", why=exc
        ) from None
    if type(fields) is not dict:
        raise EntryError("payload must be a map", "cbor.entry.payload_not_map")
    for key, typ, name, name_id in _COMMON_TYPES:
        value = fields.get(key)
        if type(value) is not typ:
            raise EntryError(
                "payload field %d (%s) is missing or not %s" % (key, name, typ.__name__),
                "cbor.entry.field_type",
                key=key,
                name=(name_id, {}),
                type=(_TYPE_IDS[typ], {}),
            )
    if fields[F_VERSION] != FORMAT_VERSION:
        raise EntryError(
            "format version %d is not supported" % fields[F_VERSION],
            "cbor.entry.version",
            version=fields[F_VERSION],
        )
    if fields[F_SEQ] < 0 or len(fields[F_PREV]) != HASH_LEN:
        raise EntryError("seq must be >= 0 and prev a 32-byte hash", "cbor.entry.seq_prev")
    if fields[F_KIND] not in KIND_NAMES:
        raise EntryError(
            "unknown entry kind %d" % fields[F_KIND], "cbor.entry.kind", kind=fields[F_KIND]
        )
    if kid != fields[F_DEVICE].encode():
        raise EntryError(
            "protected kid does not match the payload's device id", "cbor.entry.kid_mismatch"
        )
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
        self.kid = device_id.encode()
        self.protected = protected_header(self.kid)

    def append(
        self, kind: int, fields: dict, wall_ms: int, mono_ms: int, sign: bool = False
    ) -> bytes:
        """Encode the next entry and advance the chain; return its bytes for the caller to store.

        ``sign`` forces a signature now (at record stop, before sync, before shutdown) so
        that no entry waits for one.
        """
        return self.append_entry(kind, fields, wall_ms, mono_ms, sign).raw

    def append_entry(
        self, kind: int, fields: dict, wall_ms: int, mono_ms: int, sign: bool = False
    ) -> Entry:
        """``append``, returning the new entry as ``parse_entry`` would give it back, so that
        a caller that stores or folds it need not decode the bytes it just encoded. Its
        ``fields`` are the values given (they encode to the entry's payload), so a caller
        gives plain CBOR values: lists, not tuples."""
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
        entry = Entry(
            encode_sign1(self.protected, body, signature),
            self.protected,
            self.kid,
            body,
            signature,
            payload,
        )
        self.prev = entry.digest
        self.seq += 1
        return entry


# What LedgerReader and read_ledger give: ("entry", offset, Entry), ("malformed", offset,
# end, message, why), ("truncated", offset, end, message, why). Offsets count from the
# ledger's start; ``why`` is what ``message`` words, as a message (its id and fields:
# ``protocol.errors.message_of``; ``cbor.ledger.not_tried`` around it when places were passed).

_TAG_ENTRY = 18  # COSE_SIGN1_TAG: the reader checks the tag before anything else
# The resynchronising search may examine this many bytes for each byte it moves past (after
# a first allowance of a few entries' worth); see LedgerReader.
SEARCH_WORK_PER_BYTE = 32
SEARCH_ALLOWANCE = 4 * MAX_ENTRY_BYTES


class LedgerReader:
    """Splits a ledger, fed in chunks of any size, into entries and unreadable stretches.

    Sans-I/O: ``feed`` bytes as they are read, ``close`` at the end of the input, and take
    what is ready from ``next_record`` (None when it needs more bytes, or after the end).
    It holds at most one entry's worth of bytes beyond what it has passed
    (``MAX_ENTRY_BYTES`` plus the chunk being fed), whatever the ledger's size.

    Bytes that do not parse are one malformed stretch up to the next place where a whole
    entry parses; bytes at the end that start an entry but stop short are a truncated tail.
    The search for that next place tries every position holding the two bytes an entry
    starts with. Each try reads at most one entry's length, and tries are checked outer
    structure first, so junk is refused after a few bytes; only bytes crafted to look like
    entry after overlapping entry cost more. To stay linear in the input's size whatever it
    holds, the search spends at most ``SEARCH_WORK_PER_BYTE`` bytes of reading for each
    byte it moves past (plus ``SEARCH_ALLOWANCE``): beyond that, it passes over positions
    without trying them and says how many in the stretch's message. ``work`` counts every
    byte the reader examined, ``tries`` every position it tried.
    """

    def __init__(self) -> None:
        self._buf = b""
        self._base = 0  # ledger offset of self._buf[0]
        self._eof = False
        self._pos = 0  # where the next entry is tried, or where the current stretch began
        self._in_stretch = False  # inside a malformed stretch that began at self._pos
        self._bad = ""  # why the entry at self._pos failed
        self._bad_message: object = ""  # the same, as a message (protocol.errors.message_of)
        self._bad_truncated = False
        self._scan = 0  # where the search for the next entry start resumes
        self._passed = 0  # positions passed over untried in the current stretch
        self._found: tuple = ()  # (offset, Entry, stop) of the entry that ended a stretch
        self._cost = 0
        # The bytes of the last whole entry up to its payload, the protected header's span
        # in them, the unprotected header they hold, and the protected header and kid that
        # decode_sign1 gave for them.
        self._known_head: tuple = (b"", 0, 0, None, b"", b"")
        self.work = 0
        self.failed_work = 0
        self.tries = 0

    def feed(self, data: bytes) -> None:
        """Add the next bytes of the ledger."""
        if self._eof:
            raise ValueError("feed after close")
        keep = self._scan if self._in_stretch else self._pos
        drop = keep - self._base
        if drop > 0:
            self._buf = self._buf[drop:] + bytes(data)
            self._base = keep
        else:
            self._buf = self._buf + bytes(data)

    def close(self) -> None:
        """The ledger ends here."""
        self._eof = True

    def held(self) -> int:
        """Bytes held in the buffer now."""
        return len(self._buf)

    def next_record(self) -> "tuple | None":
        """The next entry or stretch, or None if more bytes are needed or the input ended."""
        buf = self._buf
        base = self._base
        end = base + len(buf)
        while True:
            if not self._in_stretch:
                pos = self._pos
                if self._found:
                    offset, entry, stop = self._found
                    self._found = ()
                    self._pos = stop
                    return ("entry", offset, entry)
                if pos >= end or not (self._eof or end - pos >= MAX_ENTRY_BYTES):
                    return None
                try:
                    entry, stop = self._try(pos)
                except (DecodeError, EntryError) as exc:
                    self._in_stretch = True
                    self._bad = str(exc)
                    self._bad_message = message_of(exc)
                    self._bad_truncated = isinstance(exc, TruncatedError)
                    self._scan = pos + 1
                    self._passed = 0
                    continue
                self._pos = stop
                return ("entry", pos, entry)
            found = buf.find(_ENTRY_START, self._scan - base)
            if found < 0:
                if not self._eof:
                    # Keep the last byte: it may be the first of an entry start.
                    self._scan = max(self._scan, end - 1)
                    return None
                return self._end_stretch(end, -1)
            cand = base + found
            if not (self._eof or end - cand >= MAX_ENTRY_BYTES):
                self._scan = cand
                return None
            self._scan = cand + 1
            third = found + 2
            if third < len(buf) and not 0x40 <= buf[third] <= 0x5B:
                # Not a byte string after tag and array: the try would fail right there.
                self.work += 3
                continue
            allowed = SEARCH_ALLOWANCE + SEARCH_WORK_PER_BYTE * cand
            if self.failed_work > allowed:
                self._passed += 1
                continue
            try:
                entry, stop = self._try(cand)
            except (DecodeError, EntryError):
                continue
            self._found = (cand, entry, stop)
            return self._end_stretch(cand, cand)

    def _end_stretch(self, stop: int, resume: int) -> tuple:
        start = self._pos
        message = self._bad
        # The same as a message, for a host that says it in its reader's language.
        why = self._bad_message
        if self._passed:
            message += "; %d place%s inside that could start an entry %s not tried" % (
                self._passed,
                "" if self._passed == 1 else "s",
                "was" if self._passed == 1 else "were",
            )
            one = self._passed == 1
            said = "cbor.ledger.not_tried_one" if one else "cbor.ledger.not_tried"
            why = (said, {"why": why, "count": self._passed})
        truncated = resume < 0 and self._bad_truncated
        self._in_stretch = False
        self._pos = stop
        self._scan = stop
        return ("truncated" if truncated else "malformed", start, stop, message, why)

    def _try(self, pos: int) -> tuple:
        """Parse the entry at ledger offset ``pos``: ``(Entry, stop)``, or raise why not."""
        self.tries += 1
        self._cost = 0
        try:
            return self._parse(pos)
        except (DecodeError, EntryError):
            self.failed_work += self._cost
            raise
        finally:
            self.work += self._cost

    def _parse(self, pos: int) -> tuple:
        # self._cost counts the bytes read or copied: heads, the unprotected header, and
        # the parts once the outer structure holds. Skipping a declared length costs nothing.
        buf = self._buf
        base = self._base
        start = pos - base
        limit = min(len(buf), start + MAX_ENTRY_BYTES)
        # A read past ``limit`` that is not the end of the input is an entry too long.
        whole = self._eof and limit == len(buf)
        # The outer structure first, from heads alone: junk is refused before anything
        # is copied, whatever lengths it declares.
        p = start
        known = self._known_head
        same_head = False
        try:
            n = len(known[0])
            if n and start + n <= limit and buf[start : start + n] == known[0]:
                # The same bytes as the last whole entry's, up to its payload: the same
                # outcome, without reading them again (a device's entries all share them).
                prot = (start + known[1], start + known[2])
                unprotected = known[3]
                p = start + len(known[0])
                self._cost = p - start
                same_head = True
            else:
                major, arg, p = cbor.read_head(buf, start, limit)
                if major != 6 or arg != _TAG_ENTRY:
                    raise EntryError("not a COSE_Sign1 message (tag 18)", "cbor.entry.not_sign1")
                major, arg, p = cbor.read_head(buf, p, limit)
                if major != 4 or arg != 4:
                    raise EntryError(
                        "COSE_Sign1 must be an array of 4 items", "cbor.entry.not_array"
                    )
                prot, p = _bstr(buf, p, limit)
                self._cost = prot[0] - start
                unprotected, p = cbor.decode_item(buf, p, cbor.DEFAULT_MAX_DEPTH - 2, limit)
                self._cost += p - prot[1]
            unprotected_end = p
            pay, p = _bstr(buf, p, limit)
            sig, p = _bstr(buf, p, limit)
            self._cost += pay[0] - unprotected_end + sig[0] - pay[1]
        except TruncatedError as exc:
            self._charge_failure(exc, base, p)
            if whole:
                raise _rebased(exc, base) from None
            raise EntryError(
                "entry is longer than the %d-byte limit" % MAX_ENTRY_BYTES,
                "cbor.entry.too_long",
                limit=MAX_ENTRY_BYTES,
            ) from None
        except DecodeError as exc:
            self._charge_failure(exc, base, p)
            raise _rebased(exc, base) from None
        except EntryError:
            self._cost += 2
            raise
        # The payload stands in as empty while the header is checked: it is copied only
        # for a well-formed COSE_Sign1 whose payload starts as a map.
        self._cost += 2 * (prot[1] - prot[0]) + sig[1] - sig[0]
        if same_head and (sig[1] - sig[0] == 64 or sig[1] == sig[0]):
            # The headers decode_sign1 accepted for the last entry, and a signature of a
            # length it accepts: its answer, without building the item again.
            protected, kid, signature = known[4], known[5], buf[sig[0] : sig[1]]
        else:
            parts = [buf[prot[0] : prot[1]], unprotected, b"", buf[sig[0] : sig[1]]]
            protected, kid, _, signature = decode_sign1(cbor.Tag(_TAG_ENTRY, parts))
        if pay[1] == pay[0] or buf[pay[0]] >> 5 != 5:
            raise EntryError("payload must be a map", "cbor.entry.payload_not_map")
        # Copied, parsed, and the whole entry copied and hashed.
        self._cost += 2 * (pay[1] - pay[0]) + 2 * (p - start)
        payload = buf[pay[0] : pay[1]]
        raw = buf[start:p]
        entry = entry_from_parts(raw, protected, kid, payload, signature)
        if known[0] != raw[: unprotected_end - start]:
            head = raw[: unprotected_end - start]
            self._known_head = (head, prot[0] - start, prot[1] - start, unprotected, protected, kid)
        return entry, base + p

    def _charge_failure(self, exc: DecodeError, base: int, p: int) -> None:
        """A decoding error's cost: the bytes from where the last step began to the error."""
        self._cost += max(exc.offset - p, 0) + 1 if exc.offset >= 0 else 1


def _bstr(buf: bytes, pos: int, limit: int) -> tuple:
    """The content span ``(start, stop)`` of the byte string at ``pos``, and where it ends."""
    # The heads an entry's parts have, read inline (the hot path); the rest, and every
    # error, through the general head reader.
    b = buf[pos] if pos < limit else 0
    if 0x40 <= b <= 0x57:
        n = b - 0x40
        p = pos + 1
    elif b == 0x58 and pos + 1 < limit and buf[pos + 1] >= 24:
        n = buf[pos + 1]
        p = pos + 2
    elif b == 0x59 and pos + 2 < limit and buf[pos + 1]:
        n = (buf[pos + 1] << 8) | buf[pos + 2]
        p = pos + 3
    else:
        major, n, p = cbor.read_head(buf, pos, limit)
        if major != 2:
            raise EntryError(NOT_BYTES, "cbor.entry.not_bytes")
    if p + n > limit:
        raise TruncatedError(
            "input ends inside a byte string: %d bytes needed, %d left" % (n, limit - p),
            p,
            "cbor.ends_in_bytes",
            needed=n,
            left=limit - p,
        )
    return (p, p + n), p + n


def _rebased(exc: DecodeError, base: int) -> DecodeError:
    """The same error with its offset counted from the ledger's start, not the buffer's."""
    offset = exc.offset + base if exc.offset >= 0 else -1
    if isinstance(exc, TruncatedError):
        return TruncatedError(exc.detail, offset, exc.msg_id, **exc.fields)
    return DecodeError(exc.detail, offset, exc.msg_id, **exc.fields)


def read_ledger(data: bytes) -> "Iterator[tuple]":
    """Yield the records of a whole ledger held in memory (see ``LedgerReader``)."""
    return read_chunks((data,))


def read_chunks(chunks: "Iterable[bytes]") -> "Iterator[tuple]":
    """Yield the records of a ledger given as chunks of bytes, read one chunk at a time."""
    reader = LedgerReader()
    for chunk in chunks:
        reader.feed(chunk)
        record = reader.next_record()
        while record is not None:
            yield record
            record = reader.next_record()
    reader.close()
    record = reader.next_record()
    while record is not None:
        yield record
        record = reader.next_record()
