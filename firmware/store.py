"""The recorder's crash-safe, append-only store: ledger segments and media (R-DEV-14, R-DEV-2).

Layout of a store directory::

    ledger/00000000.seg   records [u32 length BE][u32 CRC-32 BE of payload][payload], where
                          each payload is one encoded ledger entry; a new segment starts when
                          the current one would grow past ``segment_bytes``
    media/new/HEX.bin     media whose ledger record is not yet known to be durable
    media/new/HEX.part    a media write in progress (or cut short by a power loss)
    media/new/HEX.N.cut   a media write cut short, named in power-loss event seq N (kept)
    media/ab/HEX.bin      media named by a durable ledger record (HEX = its SHA-256)
    checkpoint.bin        what the agent remembers, saved so a boot need not re-read the
                          whole ledger (``save_checkpoint``); a cache, never evidence
    shared/HEX            a note that media HEX was already on the card when a later chunk
                          named it again (identical bytes share one file): retention keeps
                          such a file, since an older and a younger chunk both name it
    retention/            the agent's on-card retention index (``firmware.retindex``),
                          framed like the ledger; derived from the ledger, never evidence
    running               present from a writer's first write until it closes the store:
                          found at opening, it says the last run was cut short (a power
                          loss, a kill, a crash), even when no write was under way

Order of writes for one ``append``: the media goes to ``new/HEX.part``, is synced and
renamed to ``new/HEX.bin`` (and the directory synced where the port allows), and only then
is the ledger record written, so a record never names media that is not durable. Once a
sync has made the record durable the media moves to its final home. After a power cut the
files left in ``new/`` are exactly the media whose record may have been lost: recovery
keeps every one of them and reports those no surviving record names (never delete footage).

The record framing and the scan that finds the torn tail are pure functions over bytes
(``encode_record``, ``scan_records``, ``is_torn_tail``); ``Store`` is the thin file edge.
The only CPython-only calls (fsync, truncate, directory sync) sit behind ``_sync``,
``_sync_dir`` and ``_truncate``, each with a MicroPython fallback.
"""

import binascii
import errno
import hashlib
import os

from firmware.errors import StorageFull, StoreError
from protocol.crc32 import crc32
from protocol.errors import DecodeError, EntryError
from protocol.ledger import MAX_ENTRY_BYTES, media_digest, parse_entry
from protocol.registry import (
    EV_POWER_LOSS_RECOVERED,
    F_CIPHER_SHA,
    F_DETAIL,
    F_EVENT,
    F_PLAIN_SHA,
    KIND_CHUNK,
    ZERO_HASH,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator
    from typing import Protocol

    from protocol.ledger import Entry

    class Readable(Protocol):
        """An open file, as far as reading records needs one."""

        def read(self, __size: int) -> bytes: ...  # positional, as files take it

    class WritableFile(Protocol):
        """An open file the store writes: a segment (``opener`` may give a stand-in)."""

        def write(self, __data: bytes) -> int | None: ...

        def flush(self) -> None: ...

        def fileno(self) -> int: ...  # synced by number where the port has os.fsync

        def close(self) -> None: ...


HEADER_LEN = 8
MARK_EVERY = 256  # records between the seek marks of the open segment
MAX_PAYLOAD = MAX_ENTRY_BYTES
DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
# Bytes read per step when scanning a segment: bounded so a 16 MiB segment never sits in RAM,
# and small beside the agent's 128 KB heap budget (a read and the record split from it are
# live at once; a conservative collector may keep a dead one: see SEEK_READ).
READ_CHUNK = 16 * 1024
# Bytes read per step when reading entries from a known place (retention's walk, a few records
# at a time, many times a day once the card is full): small, so what a walk holds, and what a
# conservative collector may keep of it after it is garbage, is a few KB and not 64 KiB
# (BENCHMARKS.md, "Six months on a microcontroller").
SEEK_READ = 4 * 1024
# A torn tail is what one interrupted burst of unsynced appends leaves; more than this many
# bytes after a bad record cannot be one, so they are treated as corruption, never cut.
TAIL_LIMIT = 2 * (HEADER_LEN + MAX_PAYLOAD)

# What scan_records reports as its problem kind.
INCOMPLETE = "incomplete"  # the bytes end inside a record
BAD_LENGTH = "bad-length"  # a length of 0 or above MAX_PAYLOAD
BAD_CRC = "bad-crc"  # a whole record whose payload does not match its CRC

SEG_SUFFIX = ".seg"
_SEG_DIGITS = 8
# MicroPython's errno module lists no ENOSPC; its ports use the POSIX number, 28.
_ENOSPC = getattr(errno, "ENOSPC", 28)
_EEXIST = getattr(errno, "EEXIST", 17)

# --- record framing (pure) -----------------------------------------------------------------


def encode_record(payload: bytes) -> bytes:
    """Frame one payload as [u32 length BE][u32 CRC-32 BE][payload]."""
    n = len(payload)
    if n == 0 or n > MAX_PAYLOAD:
        raise StoreError("a record payload must be 1..%d bytes, not %d" % (MAX_PAYLOAD, n))
    return n.to_bytes(4, "big") + crc32(payload).to_bytes(4, "big") + bytes(payload)


def scan_records(data: bytes, base: int = 0) -> tuple:
    """Split ``data`` into whole, CRC-valid records; stop at the first that is not.

    Returns ``(records, valid_end, problem)``: ``records`` is a list of ``(offset,
    payload)``, ``valid_end`` the offset just past the last good record, and ``problem``
    None when the bytes end exactly there, else ``(kind, offset, message)`` with kind
    INCOMPLETE, BAD_LENGTH or BAD_CRC. Offsets count from ``base``.
    """
    records: list = []
    pos = 0
    end = len(data)
    view = memoryview(data)
    while pos < end:
        if end - pos < HEADER_LEN:
            return records, base + pos, (INCOMPLETE, base + pos, "the bytes end inside a header")
        n = int.from_bytes(bytes(view[pos : pos + 4]), "big")
        if n == 0 or n > MAX_PAYLOAD:
            msg = "record length %d is outside 1..%d" % (n, MAX_PAYLOAD)
            return records, base + pos, (BAD_LENGTH, base + pos, msg)
        stop = pos + HEADER_LEN + n
        if stop > end:
            msg = "a %d-byte record is cut after %d bytes" % (HEADER_LEN + n, end - pos)
            return records, base + pos, (INCOMPLETE, base + pos, msg)
        payload = bytes(view[pos + HEADER_LEN : stop])
        if crc32(payload) != int.from_bytes(bytes(view[pos + 4 : pos + 8]), "big"):
            return records, base + pos, (BAD_CRC, base + pos, "record CRC-32 does not match")
        records.append((base + pos, payload))
        pos = stop
    return records, base + pos, None


class SegmentScan:
    """The records of one open segment file, read ``read_size`` bytes at a time.

    Iterating yields ``(offset, payload)`` for each whole, CRC-valid record, from ``base``
    (where the file is positioned) up to ``end`` (-1: the file's end), and stops at the
    first record that is not (as ``scan_records`` does); ``valid_end`` and ``problem`` then
    say where and why. No more than one read and one record is held at a time, so a 16 MiB
    segment never sits in RAM. The one loop every reader of segments runs.
    """

    def __init__(
        self, f: "Readable", base: int = 0, end: int = -1, read_size: int = READ_CHUNK
    ) -> None:
        self.f = f
        self.base = base
        self.end = end
        self.read_size = read_size
        self.valid_end = base
        self.problem: tuple | None = None

    def __iter__(self) -> "Iterator[tuple]":
        read = self.f.read
        end = self.end
        base = self.base
        buf = b""
        while True:
            chunk = read(self.read_size)
            data = buf + chunk if buf else chunk
            if end >= 0 and base + len(data) > end:
                data = data[: end - base]
                chunk = b""  # bytes past ``end`` are not the reader's
            records, valid_end, problem = scan_records(data, base)
            yield from records
            self.valid_end = valid_end
            if problem is not None and (problem[0] != INCOMPLETE or not chunk):
                self.problem = problem  # an incomplete record is waited for until the end
                return
            if not chunk:
                return
            buf = data[valid_end - base :]
            base = valid_end


def is_torn_tail(rest: bytes) -> bool:
    """Whether ``rest`` (the bytes from a bad record to the end) is what a cut append leaves.

    That is: zero bytes (space the file system allotted before the data landed), a proper
    prefix of a record, or whole records that all fail their CRC followed by either. A
    CRC-valid record anywhere in ``rest``, or an impossible length, means real data lies
    after the bad spot: corruption, which must never be cut away.
    """
    end = len(rest)
    if end > TAIL_LIMIT:
        return False
    pos = 0
    while pos < end:
        if rest[pos:] == bytes(end - pos):
            return True
        if end - pos < HEADER_LEN:
            return True
        n = int.from_bytes(rest[pos : pos + 4], "big")
        if n == 0 or n > MAX_PAYLOAD:
            return False
        stop = pos + HEADER_LEN + n
        if stop > end:
            return True
        if crc32(rest[pos + HEADER_LEN : stop]) == int.from_bytes(rest[pos + 4 : pos + 8], "big"):
            return False
        pos = stop
    return True


def named_media(entry: "Entry") -> list:
    """The SHA-256s of the media files a ledger entry names: a chunk's own media, and the
    whole media files a power-loss event accounts for (left in new/ by the cut). A staged
    media file moves home once a durable record names it."""
    f = entry.fields
    if entry.kind == KIND_CHUNK:
        return [media_digest(f)] if F_PLAIN_SHA in f or F_CIPHER_SHA in f else []
    if f.get(F_EVENT) == EV_POWER_LOSS_RECOVERED:
        detail = f.get(F_DETAIL)
        if type(detail) is dict:
            orphans = detail.get("orphan_media")
            if type(orphans) is list:
                return orphans
    return []


def segment_name(index: int) -> str:
    """The file name of segment ``index``: eight zero-padded digits and ``.seg``."""
    digits = str(index)
    return "0" * (_SEG_DIGITS - len(digits)) + digits + SEG_SUFFIX


def _segment_index(name: str) -> int:
    """The index a segment file name holds, or -1 when the name is not a segment's."""
    if not name.endswith(SEG_SUFFIX):
        return -1
    digits = name[: -len(SEG_SUFFIX)]
    if len(digits) != _SEG_DIGITS or not digits.isdigit():
        return -1
    return int(digits)


def _hex(digest: bytes) -> str:
    return binascii.hexlify(digest).decode()


def media_key(digest: "bytes | str") -> str:
    """A media address as 64 lowercase hex digits, from a 32-byte digest or hex text."""
    if isinstance(digest, str):
        key = digest.lower()
        if len(key) == 64:
            try:
                binascii.unhexlify(key)
                return key
            except ValueError:
                pass
        raise StoreError("a media address is 64 hex digits, not %r" % digest)
    if len(digest) != 32:
        raise StoreError("a media digest is 32 bytes, not %d" % len(digest))
    return _hex(bytes(digest))


CHECKPOINT_NAME = "checkpoint.bin"
# A cut between two appends leaves a store that looks closed: every record whole, nothing in
# new/. This file, made durable before a run's first write and removed only when the store
# is closed, tells such a cut from a clean stop.
RUNNING_NAME = "running"
# Where the last durable record of the open segment starts: "segment offset seq crc", written
# (temp file, sync, rename) with each checkpoint and at close, so an opening scans only from
# there to the end instead of the whole segment (up to 16 MiB). It is a hint, checked against
# the record it names; a missing, stale or wrong one only means a full scan.
TAIL_NAME = "tail"


# --- port functions: the only places that differ between CPython and MicroPython ----------

_os_fsync = getattr(os, "fsync", None)
_os_truncate = getattr(os, "truncate", None)
_os_open = getattr(os, "open", None)
_os_close = getattr(os, "close", None)
_O_RDONLY = getattr(os, "O_RDONLY", 0)


def _sync(f: "WritableFile") -> None:
    """Push a file's bytes to the medium: fsync where the port has it, else flush.

    MicroPython's VFS drivers (FAT, littlefs) commit a file's data on flush, so flush is
    the strongest call available there.
    """
    f.flush()
    if _os_fsync is not None:
        _os_fsync(f.fileno())


def _sync_dir(path: str) -> None:
    """Make a rename or a new file in ``path`` durable, where the port can; else nothing.

    POSIX needs an fsync of the directory itself; MicroPython's file systems commit the
    directory entry with the rename and have no way to open a directory.
    """
    if _os_open is None or _os_fsync is None or _os_close is None:
        return
    try:
        fd = _os_open(path, _O_RDONLY)
    except OSError:
        return
    try:
        _os_fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename stands either way
    finally:
        _os_close(fd)


def _truncate(path: str, size: int) -> None:
    """Cut the file at ``path`` to ``size`` bytes, durably."""
    if _os_truncate is not None:
        _os_truncate(path, size)
        f = open(path, "ab")
        try:
            _sync(f)
        finally:
            f.close()
        return
    truncate_by_copy(path, size)


def truncate_by_copy(path: str, size: int) -> None:
    """Truncate without a truncate call: copy the first ``size`` bytes aside, rename over.

    A cut during the copy leaves the original whole and a ``.tmp`` beside it, which the
    next open removes (it holds nothing the original lacks).
    """
    tmp = path + ".tmp"
    src = open(path, "rb")
    try:
        dst = open(tmp, "wb")
        try:
            left = size
            while left > 0:
                chunk = src.read(min(READ_CHUNK, left))
                if not chunk:
                    break
                dst.write(chunk)
                left -= len(chunk)
            _sync(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.rename(tmp, path)
    _sync_dir(_parent(path))


def _parent(path: str) -> str:
    i = path.rfind("/")
    return path[:i] if i > 0 else "/" if i == 0 else "."


def _exists(path: str) -> bool:
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _size(path: str) -> int:
    return os.stat(path)[6]


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path)
    except OSError as exc:
        if exc.args[0] != _EEXIST and not _exists(path):
            raise


def _listdir(path: str) -> list:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _storage_error(exc: OSError, what: str) -> StoreError:
    """StorageFull for a full medium, StoreError for any other I/O failure."""
    code = exc.args[0] if exc.args else None
    if code == _ENOSPC:
        return StorageFull(
            "storage is full while %s; nothing partial was kept: free space (evict media a "
            "host receipt covers) and append again" % what
        )
    return StoreError("I/O error while %s: %s" % (what, exc))


# --- recovery report -----------------------------------------------------------------------


class Recovery:
    """What opening the store found and repaired: the facts for a power-loss event."""

    def __init__(self) -> None:
        self.segment = ""  # the last segment's file name ("" when the ledger is empty)
        self.torn_offset = -1  # where the torn tail began in that segment, -1 if none
        self.torn_bytes = 0  # how many bytes were cut from it
        self.last_seq = -1  # seq of the last whole entry, -1 when there is none
        self.last_digest = b""  # entry hash of that entry
        self.orphan_media: list = []  # hex digests of whole media no surviving record names
        self.partial_media: list = []  # names of media writes cut short (kept in media/new)
        self.partial_bytes = 0  # how many bytes those hold
        self.orphan_bytes = 0  # how many bytes the orphan media hold
        self.interrupted = False  # the last writer never closed the store (RUNNING_NAME)

    @property
    def in_flight(self) -> bool:
        """Whether a write was under way at the cut: torn bytes, orphans or partial media."""
        return self.torn_bytes > 0 or bool(self.orphan_media) or bool(self.partial_media)

    @property
    def cut_short(self) -> bool:
        """Whether the last run ended without closing the store, or a write was cut."""
        return self.interrupted or self.in_flight

    @property
    def clean(self) -> bool:
        """Whether the store was closed cleanly (nothing to report)."""
        return not self.cut_short

    def __repr__(self) -> str:
        return (
            "Recovery(interrupted=%r, segment=%r, torn_offset=%d, torn_bytes=%d, last_seq=%d, "
            "orphans=%d, partial=%d)"
            % (
                self.interrupted,
                self.segment,
                self.torn_offset,
                self.torn_bytes,
                self.last_seq,
                len(self.orphan_media),
                len(self.partial_media),
            )
        )


class _Scan:
    """The outcome of scanning one segment file (used by open and by entries())."""

    def __init__(self) -> None:
        self.count = 0
        self.first_payload = b""
        self.last_payload = b""
        self.offsets: list = []  # where each MARK_EVERY-th record (from the first) starts
        self.last_offset = -1  # where the last whole record starts
        self.valid_end = 0
        self.problem: tuple | None = None
        self.size = 0


# --- the store -----------------------------------------------------------------------------


class Store:
    """An append-only store of ledger records and the media they name, in one directory.

    ``sync_every`` is the sync policy: 1 (the default) makes every record durable before
    ``append`` returns; n > 1 syncs after every n-th record, so up to n - 1 acknowledged
    records can be lost to a power cut; 0 syncs only when ``sync()`` is called (the agent
    calls it on its own timer). A rollover always syncs the segment it leaves.
    ``opener`` replaces ``open`` for the files the store writes (tests inject faults here).
    Opening recovers from a cut; ``recovery`` says what was found.
    """

    def __init__(
        self,
        path: str,
        sync_every: int = 1,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        opener: "Callable | None" = None,
    ) -> None:
        if sync_every < 0:
            raise StoreError("sync_every must be 0 (on request), 1 (every record) or more")
        if segment_bytes < HEADER_LEN + 1:
            raise StoreError("segment_bytes is too small to hold a record")
        self.path = path
        self.sync_every = sync_every
        self.segment_bytes = segment_bytes
        self._open = opener if opener is not None else open
        self._ledger = path + "/ledger"
        self._media = path + "/media"
        self._new = self._media + "/new"
        self._seg_file: WritableFile | None = None
        self._seg_index = 0
        self._seg_size = 0  # bytes of whole records in the current segment
        self._synced_size = 0  # of those, how many are known durable
        self._unsynced = 0
        self._last_raw = b""  # the newest stored entry
        self._synced_raw = b""  # the newest durable entry
        self._next_seq = -1  # -1: the store is empty and takes any first entry
        self._synced_next_seq = -1
        self._staged: list = []  # hex digests of media in new/
        self._promote: list = []  # of those, the ones a stored record names
        self._broken = False  # a failed write left bytes past _seg_size
        self._usage: list | None = None
        self._homes: dict = {}  # media folders known to exist
        self._running = False  # RUNNING_NAME is there for this store to remove at close
        # (seq, offset) of every MARK_EVERY-th record of the open segment, so reading from a
        # seq seeks near it instead of checking every record before it.
        self._marks: list = []
        # Where the last appended record starts, (segment index, byte offset), so the
        # retention index can read a span's entries back without scanning a segment; and
        # whether that append brought new media bytes to the card (False: the file was
        # there already, or the entry has none).
        self.appended_at = (-1, -1)
        self.appended_new_media = False
        self._synced_at = (-1, -1)  # where the newest durable record starts
        self.recovery = self._recover()

    # -- opening and recovery --

    def _seg_path(self, index: int) -> str:
        return self._ledger + "/" + segment_name(index)

    def _segments(self, cleanup: bool = False) -> list:
        out = []
        for name in _listdir(self._ledger):
            if cleanup and name.endswith(SEG_SUFFIX + ".tmp"):
                # A copy-truncate cut short: the segment itself is whole, the copy is not needed.
                os.remove(self._ledger + "/" + name)
                continue
            index = _segment_index(name)
            if index >= 0:
                out.append(index)
        out.sort()
        for i in range(1, len(out)):
            if out[i] != out[i - 1] + 1:
                raise StoreError(
                    "ledger segment %s is missing (found %s after %s); the store will not "
                    "write past a gap"
                    % (segment_name(out[i - 1] + 1), segment_name(out[i]), segment_name(out[i - 1]))
                )
        return out

    def _scan_file(self, index: int, names: "list | None" = None, start: int = 0) -> _Scan:
        """Scan one segment in bounded reads from byte ``start`` (a record's start); mark
        in ``names`` each digest a record holds."""
        result = _Scan()
        f = open(self._seg_path(index), "rb")
        try:
            if start:
                f.seek(start)
            scan = SegmentScan(f, start)
            for offset, payload in scan:
                if result.count == 0:
                    result.first_payload = payload
                if result.count % MARK_EVERY == 0:
                    result.offsets.append(offset)
                result.count += 1
                result.last_payload = payload
                result.last_offset = offset
                if names:
                    self._mark_named(names, payload)
            result.valid_end = scan.valid_end
            result.problem = scan.problem
        finally:
            f.close()
        result.size = _size(self._seg_path(index))
        return result

    def _mark_named(self, names: list, payload: bytes) -> None:
        # names holds [hex, digest, named] triples. A record that names media holds its hash,
        # so a byte search finds the few records worth parsing; their fields decide.
        named = None
        for item in names:
            if not item[2] and item[1] in payload:
                if named is None:
                    named = named_media(self._parse_stored(payload, "a ledger segment"))
                if item[1] in named:
                    item[2] = True

    def _read_tail(self, index: int, offset: int, size: int) -> bytes:
        f = open(self._seg_path(index), "rb")
        try:
            f.seek(offset)
            return f.read(size - offset)
        finally:
            f.close()

    def _recover(self) -> Recovery:
        rec = Recovery()
        for d in (self.path, self._ledger, self._media, self._new):
            _mkdir(d)
        rec.interrupted = _exists(self.path + "/" + RUNNING_NAME)
        # Media left in new/: whole files wait for a record; .part files are cut-short writes.
        names = []
        for name in _listdir(self._new):
            if name.endswith(".part"):
                rec.partial_media.append(name)
                rec.partial_bytes += _size(self._new + "/" + name)
            elif name.endswith(".bin") and len(name) == 68:
                key = name[:64]
                names.append([key, binascii.unhexlify(key), False])
        segments = self._segments(cleanup=True)
        if not segments:
            self._seg_index = 0
            self._finish_media(names, rec)
            return rec
        last = segments[-1]
        scan = None
        hint = self._read_tail_hint(last) if not names else None
        if hint is not None:
            # Media waiting in new/ (a cut) may be named by any record since the last
            # rename, so that opening scans the whole segment; otherwise from the hint.
            scan = self._scan_file(last, None, hint[0])
            named = scan.first_payload
            if (
                scan.count == 0
                or crc32(named) != hint[2]
                or self._parse_stored(named, segment_name(last)).seq != hint[1]
            ):
                scan = None  # the hint names no record of this ledger: trust only a full scan
        if scan is None:
            scan = self._scan_file(last, names)
        rec.segment = segment_name(last)
        if scan.problem is not None:
            offset, message = scan.problem[1], scan.problem[2]
            size = scan.size
            if size - offset > TAIL_LIMIT or not is_torn_tail(self._read_tail(last, offset, size)):
                raise StoreError(
                    "ledger segment %s is corrupt at byte %d (%s) with %d bytes after it; "
                    "they are left untouched for inspection"
                    % (rec.segment, offset, message, size - offset)
                )
            _truncate(self._seg_path(last), offset)
            rec.torn_offset = offset
            rec.torn_bytes = size - offset
        last_payload = scan.last_payload
        if scan.count == 0 and len(segments) > 1:
            # A segment begun just before the cut holds nothing whole: the head is in the one
            # before, and so are the records that can name media still in new/.
            prev = self._scan_file(segments[-2], names)
            if prev.problem is not None:
                raise StoreError(
                    "ledger segment %s is corrupt at byte %d (%s)"
                    % (segment_name(segments[-2]), prev.problem[1], prev.problem[2])
                )
            last_payload = prev.last_payload
        self._seg_index = last
        self._seg_size = scan.valid_end
        self._synced_size = scan.valid_end
        if last_payload:
            entry = self._parse_stored(last_payload, rec.segment)
            self._last_raw = self._synced_raw = last_payload
            self._next_seq = self._synced_next_seq = entry.seq + 1
            rec.last_seq = entry.seq
            rec.last_digest = entry.digest
            first = entry.seq - scan.count + 1  # seqs run on without a gap
            self._marks = [(first + i * MARK_EVERY, off) for i, off in enumerate(scan.offsets)]
            if scan.count:
                self._synced_at = (last, scan.last_offset)
        self._finish_media(names, rec)
        return rec

    def _read_tail_hint(self, last: int) -> "tuple | None":
        """(offset, seq, crc) of the record TAIL_NAME names in segment ``last``, or None
        when there is no usable hint (none, unreadable, or for another segment)."""
        try:
            f = open(self.path + "/" + TAIL_NAME, "rb")
        except OSError:
            return None
        try:
            text = f.read(80)
        finally:
            f.close()
        try:
            parts = [int(v) for v in text.decode().split()]
        except (UnicodeError, ValueError):
            return None
        if len(parts) != 4 or parts[0] != last or parts[1] < 0:
            return None
        if parts[1] >= _size(self._seg_path(last)):
            return None
        return parts[1], parts[2], parts[3]

    def _note_tail(self) -> None:
        """Write TAIL_NAME for the newest durable record (see its comment). Only a hint:
        a medium that refuses it leaves the old one, which the next opening checks."""
        index, offset = self._synced_at
        if offset < 0 or self._broken or not self._synced_raw:
            return
        text = "%d %d %d %d\n" % (
            index,
            offset,
            self._synced_next_seq - 1,
            crc32(self._synced_raw),
        )
        path = self.path + "/" + TAIL_NAME
        try:
            self._write_whole(path + ".part", path, text.encode())
            self._sync_folder(self.path)
        except OSError:
            pass

    def _finish_media(self, names: list, rec: Recovery) -> None:
        """Move media a surviving record names to its home; keep and report the rest."""
        for key, _, named in names:
            if named:
                self._move_home(key)
            else:
                rec.orphan_media.append(key)
                rec.orphan_bytes += _size(self._staged_path(key))
                self._staged.append(key)
        rec.orphan_media.sort()

    @staticmethod
    def _parse_stored(raw: bytes, where: str) -> "Entry":
        try:
            return parse_entry(raw)
        except (DecodeError, EntryError) as exc:
            raise StoreError(
                "a record in %s passes its CRC but is not a ledger entry: %s" % (where, exc)
            ) from None

    # -- media paths --

    def _home_dir(self, key: str) -> str:
        return self._media + "/" + key[:2]

    def _home(self, key: str) -> str:
        return self._home_dir(key) + "/" + key + ".bin"

    def _staged_path(self, key: str) -> str:
        return self._new + "/" + key + ".bin"

    def _move_home(self, key: str) -> None:
        home = self._home_dir(key)
        if home not in self._homes:
            _mkdir(home)
            self._homes[home] = True
        try:
            os.rename(self._staged_path(key), self._home(key))
        except OSError:
            _mkdir(home)  # the folder went behind the store's back: make it again, once
            os.rename(self._staged_path(key), self._home(key))

    def _media_path(self, key: str) -> str:
        """Where the media with this key lives, or "" when the store does not hold it."""
        for path in (self._home(key), self._staged_path(key)):
            if _exists(path):
                return path
        return ""

    def _put_media(self, key: str, media: bytes) -> bool:
        """Write media durably into new/ (temp file, sync, rename, directory sync); return
        False when the same bytes were already held (a chunk may repeat: silence, a still)."""
        if self._media_path(key):
            self._note_shared(key)
            return False
        try:
            self._write_whole(self._new + "/" + key + ".part", self._staged_path(key), media)
        except OSError as exc:
            # The caller still holds these bytes and is told they were not stored.
            raise _storage_error(exc, "writing media %s" % key) from None
        self._sync_folder(self._new)
        self._staged.append(key)
        if self._usage is not None:
            self._usage[1] += len(media)
        return True

    def _note_shared(self, key: str) -> None:
        """Note on the card, before the record that repeats it is written, that a second
        chunk names this file: retention then keeps it (a cut after the note and before the
        record only keeps a file longer, never loses one)."""
        path = self.path + "/shared/" + key
        if _exists(path):
            return
        _mkdir(self.path + "/shared")
        try:
            self._write_whole(path + ".part", path, b"")
        except OSError as exc:
            raise _storage_error(exc, "noting shared media %s" % key) from None
        self._sync_folder(self.path + "/shared")

    def is_shared(self, digest: "bytes | str") -> bool:
        """Whether more than one chunk was stored naming this media (see _note_shared)."""
        return _exists(self.path + "/shared/" + media_key(digest))

    # -- appending --

    def head(self) -> tuple:
        """``(next_seq, prev)`` for the next entry: what a LedgerWriter must continue from."""
        if not self._last_raw:
            return 0, ZERO_HASH
        return self._next_seq, hashlib.sha256(self._last_raw).digest()

    def last_entry(self) -> "Entry | None":
        """The newest stored entry, parsed, or None when the ledger is empty."""
        if not self._last_raw:
            return None
        return parse_entry(self._last_raw)

    def append(
        self,
        entry_raw: bytes,
        media: "bytes | None" = None,
        media_sha: "bytes | None" = None,
        entry: "Entry | None" = None,
    ) -> int:
        """Store one encoded entry (and the media it names, first); return the entry's seq.

        ``media_sha`` is the media's SHA-256 when the caller already has it (the recorder
        hashes each chunk as its frames arrive), which spares hashing seconds of footage a
        second time on the capture path; the store still checks that the entry names it.
        ``entry`` is ``entry_raw`` already parsed, when the caller has parsed it.
        """
        self._repair()
        self._mark_running()
        if entry is None or entry.raw != entry_raw:
            entry = self._parse_stored(bytes(entry_raw), "the appended entry")
        if self._last_raw:
            if entry.seq != self._next_seq:
                raise StoreError(
                    "entry seq %d does not follow the stored head %d"
                    % (entry.seq, self._next_seq - 1)
                )
            if entry.prev != hashlib.sha256(self._last_raw).digest():
                raise StoreError(
                    "entry seq %d does not chain to the stored head (prev differs)" % entry.seq
                )
        record = encode_record(entry_raw)
        key = ""
        self.appended_new_media = False
        if media is not None:
            digest = media_sha if media_sha is not None else hashlib.sha256(media).digest()
            if digest not in named_media(entry):
                raise StoreError("entry seq %d does not name its media's SHA-256" % entry.seq)
            key = _hex(digest)
            self.appended_new_media = self._put_media(key, media)
        if self._seg_size > 0 and self._seg_size + len(record) > self.segment_bytes:
            self._roll()
        at = (self._seg_index, self._seg_size)
        if self._seg_size == 0 or entry.seq % MARK_EVERY == 0:
            self._marks.append((entry.seq, self._seg_size))
        try:
            f = self._segment_file()
            n = f.write(record)
            if n is not None and n != len(record):
                raise OSError(_ENOSPC, "short write")
            f.flush()
        except OSError as exc:
            self._fail()
            raise _storage_error(exc, "appending entry seq %d" % entry.seq) from None
        self._seg_size += len(record)
        self._last_raw = bytes(entry_raw)
        self._next_seq = entry.seq + 1
        self.appended_at = at
        if self._staged:
            named = named_media(entry)
            for staged in self._staged:
                if staged not in self._promote and (
                    staged == key or binascii.unhexlify(staged) in named
                ):
                    self._promote.append(staged)
        if self._usage is not None:
            self._usage[0] += len(record)
        self._unsynced += 1
        if self.sync_every and self._unsynced >= self.sync_every:
            self.sync()
        return entry.seq

    def sync(self) -> None:
        """Make every appended record durable, then move the media they name to its home."""
        self._repair()
        if self._unsynced and self._seg_file is not None:
            try:
                self._sync_file(self._seg_file)
            except OSError as exc:
                self._fail()
                raise _storage_error(exc, "syncing the ledger") from None
        self._unsynced = 0
        self._synced_size = self._seg_size
        self._synced_raw = self._last_raw
        self._synced_next_seq = self._next_seq
        if self.appended_at[1] >= 0:
            self._synced_at = self.appended_at
        # Not synced: a lost rename leaves the file in new/, where recovery finds it named.
        for key in self._promote:
            self._move_home(key)
            self._staged.remove(key)
        self._promote = []

    def _segment_file(self) -> "WritableFile":
        if self._seg_file is None:
            path = self._seg_path(self._seg_index)
            created = not _exists(path)
            self._seg_file = self._open(path, "ab")
            if created:
                self._sync_folder(self._ledger)
        return self._seg_file

    def set_aside_partial(self, names: list, seq: int) -> None:
        """Rename each cut-short media write ``HEX.part`` in new/ to ``HEX.SEQ.cut``, once
        the power-loss event ``seq`` that names it is durable: kept (footage is never
        deleted), no longer reported by the next opening as a new cut."""
        for name in names:
            if not name.endswith(".part"):
                continue
            try:
                os.rename(self._new + "/" + name, "%s/%s.%d.cut" % (self._new, name[:-5], seq))
            except OSError:
                pass  # reported again at the next opening: a repeat, never a loss
        if names:
            self._sync_folder(self._new)

    def _mark_running(self) -> None:
        """Before this store's first write: make RUNNING_NAME durable (see its comment)."""
        if self._running:
            return
        path = self.path + "/" + RUNNING_NAME
        if not _exists(path):  # else a cut run left it: it stays until this run closes
            try:
                f = self._open(path, "wb")
                try:
                    f.write(b"a writer has this store open\n")
                    self._sync_file(f)
                finally:
                    f.close()
            except OSError as exc:
                raise _storage_error(exc, "marking the store in use") from None
            self._sync_folder(self.path)
        self._running = True

    def _roll(self) -> None:
        """Seal the current segment (synced) and start the next."""
        self.sync()
        self._close_segment()
        self._seg_index += 1
        self._seg_size = 0
        self._synced_size = 0
        self._marks = []

    def _fail(self) -> None:
        """After a failed write or sync: drop what is not durable, or mark it for repair."""
        self._broken = True
        self._last_raw = self._synced_raw
        self._next_seq = self._synced_next_seq
        self._seg_size = self._synced_size
        self.appended_at = self._synced_at  # the records after it are gone
        self._marks = [m for m in self._marks if m[1] < self._seg_size]
        self._unsynced = 0
        self._promote = []
        self._usage = None
        try:
            self._repair()
        except StoreError:
            pass  # still full: the next append or sync tries again

    def _repair(self) -> None:
        """Cut the current segment back to its last whole, durable record after a failure."""
        if not self._broken:
            return
        try:
            self._close_segment()
        except OSError:
            pass  # the handle's buffer could not be written either; the cut below settles it
        path = self._seg_path(self._seg_index)
        try:
            if _exists(path) and _size(path) != self._seg_size:
                _truncate(path, self._seg_size)
        except OSError as exc:
            raise _storage_error(exc, "removing a half-written record") from None
        self._broken = False

    def close(self) -> None:
        """Close the store: the open segment file (appended but unsynced records are synced
        first), then the mark that a writer has it open, so the next opening knows this run
        ended cleanly."""
        self._close_segment()
        if self._running and not self._broken:
            self._note_tail()  # before the clean-stop mark goes: the next opening is quick
            self._running = False
            try:
                os.remove(self.path + "/" + RUNNING_NAME)
            except OSError:
                return  # gone already, or the medium refuses: at worst a false alarm
            self._sync_folder(self.path)

    def _close_segment(self) -> None:
        """Close the open segment file (appended but unsynced records are synced first)."""
        f = self._seg_file
        if f is None:
            return
        self._seg_file = None
        try:
            if self._unsynced and not self._broken:
                self._sync_file(f)
                self._unsynced = 0
                self._synced_size = self._seg_size
                self._synced_raw = self._last_raw
                self._synced_next_seq = self._next_seq
                if self.appended_at[1] >= 0:
                    self._synced_at = self.appended_at
        finally:
            f.close()

    # -- durability: a port whose medium syncs its own way overrides these --

    def _write_whole(self, tmp: str, path: str, data: bytes) -> None:
        """Write ``data`` to ``tmp``, sync it and rename it to ``path``; on an OSError
        remove ``tmp`` and raise it (the directory sync is the caller's)."""
        try:
            f = self._open(tmp, "wb")
            try:
                n = f.write(data)
                if n is not None and n != len(data):
                    raise OSError(_ENOSPC, "short write")
                self._sync_file(f)
            finally:
                f.close()
            os.rename(tmp, path)
        except OSError:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise

    def _sync_file(self, f: "WritableFile") -> None:
        """Push a file's written bytes to the medium."""
        _sync(f)

    def _sync_folder(self, path: str) -> None:
        """Make new and renamed names in ``path`` durable."""
        _sync_dir(path)

    # -- files beside the ledger (the retention index): the same opener and sync --

    def open_file(self, path: str, mode: str) -> "WritableFile":
        """Open a file the store's owner writes beside the ledger, through the store's
        opener (so tests inject the same faults there)."""
        return self._open(path, mode)

    def sync_file(self, f: "WritableFile") -> None:
        """Push a file's written bytes to the medium, as the store does its own."""
        self._sync_file(f)

    def sync_folder(self, path: str) -> None:
        """Make new names in ``path`` durable, as the store does its own."""
        self._sync_folder(path)

    # -- the checkpoint --

    def save_checkpoint(self, data: bytes) -> bool:
        """Replace the checkpoint file with ``data`` (temp file, sync, rename); return False
        and leave the old one when the medium refuses (full, failing): it is only a cache."""
        path = self.path + "/" + CHECKPOINT_NAME
        try:
            self._write_whole(path + ".part", path, data)
        except OSError:
            return False
        self._sync_folder(self.path)
        self._note_tail()  # a boot after a cut then scans from about here, not the segment
        return True

    def load_checkpoint(self) -> "bytes | None":
        """The checkpoint file's bytes, or None when there is none."""
        try:
            f = open(self.path + "/" + CHECKPOINT_NAME, "rb")
        except OSError:
            return None
        try:
            return f.read()
        finally:
            f.close()

    # -- reading --

    def entries(self, from_seq: int = 0) -> "Generator[bytes, None, None]":
        """Yield the stored entries with seq >= ``from_seq``, oldest first, across segments."""
        for _, _, payload in self.positioned(from_seq):
            yield payload

    def positioned(self, from_seq: int = 0) -> "Generator[tuple, None, None]":
        """``(segment index, offset, payload)`` of each stored entry with seq >= ``from_seq``,
        oldest first: ``entries`` with where each record starts, for ``entries_at``."""
        segments = self._segments()
        start = 0
        # Skip whole segments: a segment can be skipped when the next one starts at or
        # before from_seq (its first record is parsed for its seq).
        while start + 1 < len(segments):
            first = self._first_seq(segments[start + 1])
            if first < 0 or first > from_seq:
                break
            start += 1
        for index in segments[start:]:
            yield from self._segment_entries(index, from_seq)

    def entries_at(
        self, index: int, offset: int, read_size: int = SEEK_READ
    ) -> "Generator[tuple, None, None]":
        """``(segment index, offset, payload)`` of each entry from the record that starts
        at ``offset`` in segment ``index`` (a place ``appended_at`` or ``positioned`` gave)
        to the head, without reading the records before it, ``read_size`` bytes a read."""
        if index < 0 or index > self._seg_index:
            return
        yield from self._segment_entries(index, -1, offset, read_size)
        for later in range(index + 1, self._seg_index + 1):
            yield from self._segment_entries(later, 0, 0, read_size)

    def _first_seq(self, index: int) -> int:
        f = open(self._seg_path(index), "rb")
        try:
            head = f.read(HEADER_LEN)
            if len(head) < HEADER_LEN:
                return -1
            n = int.from_bytes(head[:4], "big")
            records, _, _ = scan_records(head + f.read(n) if 0 < n <= MAX_PAYLOAD else head)
        finally:
            f.close()
        if not records:
            return -1
        return self._parse_stored(records[0][1], segment_name(index)).seq

    def _segment_entries(
        self, index: int, from_seq: int, at: int = 0, read_size: int = READ_CHUNK
    ) -> "Iterator[tuple]":
        """(index, offset, payload) of the records of one segment with seq >= ``from_seq``;
        ``from_seq`` -1: every record from byte ``at``."""
        f = open(self._seg_path(index), "rb")
        end = self._seg_size if index == self._seg_index else -1
        seq = -1  # append keeps seqs consecutive, so only a segment's first record is parsed
        base = at
        if index == self._seg_index and from_seq > 0:
            for mark in self._marks:
                if mark[0] > from_seq:
                    break
                seq, base = mark
        if base:
            f.seek(base)
        try:
            # Bytes past the last whole record of the open segment are not the store's yet.
            scan = SegmentScan(f, base, end, read_size)
            for offset, payload in scan:
                if seq < 0 and from_seq > 0:
                    seq = self._parse_stored(payload, segment_name(index)).seq
                if seq >= from_seq or from_seq <= 0:
                    yield index, offset, payload
                seq += 1
            problem = scan.problem
            if problem is not None:
                raise StoreError(
                    "ledger segment %s is corrupt at byte %d (%s)"
                    % (segment_name(index), problem[1], problem[2])
                )
        finally:
            f.close()

    def has_media(self, digest: "bytes | str") -> bool:
        """Whether the store holds the media with this SHA-256 (bytes or hex)."""
        return bool(self._media_path(media_key(digest)))

    def read_media(self, digest: "bytes | str") -> bytes:
        """The media bytes with this SHA-256, checked against it."""
        key = media_key(digest)
        path = self._media_path(key)
        if not path:
            raise StoreError("media %s is not in the store (never stored, or evicted)" % key)
        f = open(path, "rb")
        try:
            data = f.read()
        finally:
            f.close()
        if _hex(hashlib.sha256(data).digest()) != key:
            raise StoreError("media %s does not match its SHA-256: the file is damaged" % key)
        return data

    def evict_media(self, digest: "bytes | str") -> int:
        """Remove one media file (never a ledger entry); return the bytes freed.

        This is the store's only removal verb. Retention decides what may go (R-DEV-4);
        media whose record is not yet durable, or that no record names, is refused.
        """
        key = media_key(digest)
        if key in self._staged:
            raise StoreError(
                "media %s is not yet named by a durable record and cannot be evicted" % key
            )
        path = self._home(key)
        if not _exists(path):
            return 0
        self._mark_running()  # a cut before the eviction is logged must leave a trace
        size = _size(path)
        os.remove(path)
        if self._usage is not None:
            self._usage[1] -= size
        return size

    def usage(self) -> dict:
        """Bytes held: ``{"ledger": n, "media": n}`` (counted once, then kept up to date)."""
        if self._usage is None:
            ledger = 0
            for index in self._segments():
                ledger += _size(self._seg_path(index))
            if self._broken:
                ledger -= _size(self._seg_path(self._seg_index)) - self._seg_size
            media = 0
            for sub in _listdir(self._media):
                folder = self._media + "/" + sub
                for name in _listdir(folder):
                    media += _size(folder + "/" + name)
            self._usage = [ledger, media]
        return {"ledger": self._usage[0], "media": self._usage[1]}

    def free_bytes(self) -> int:
        """Free bytes on the store's file system, or -1 where the port cannot tell."""
        statvfs = getattr(os, "statvfs", None)
        if statvfs is None:
            return -1
        st = statvfs(self.path)
        # (bsize, frsize, blocks, bfree, bavail, ...): blocks a non-root writer may use.
        return (st[1] or st[0]) * st[4]


def ledger_bytes(path: str) -> bytes:
    """The entries of a store's ledger, read only, as one ledger file (a CBOR sequence).

    Nothing is repaired or written: a record that fails its CRC is left out, so a verifier
    reading the result sees the hole it leaves in the chain.
    """
    return b"".join(ledger_records(path))


def ledger_records(path: str, read_size: int = READ_CHUNK) -> "Iterator[bytes]":
    """The payloads of a store's ledger records in order, read ``read_size`` bytes at a time.

    What ``ledger_bytes`` joins, without holding more than one record and one read of a
    segment: a segment is read up to its first record that is cut short, has an impossible
    length or fails its CRC, as ``scan_records`` would.
    """
    folder = path + "/ledger"
    for name in sorted(n for n in _listdir(folder) if n.endswith(SEG_SUFFIX)):
        f = open(folder + "/" + name, "rb")
        try:
            for _, payload in SegmentScan(f, read_size=read_size):
                yield payload
        finally:
            f.close()
