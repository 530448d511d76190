"""The evidence store: every device's ledger and media, kept durably on the host.

The embedded default is SQLite in WAL mode for the ledgers and the device register, and
content-addressed files for media (``media/ab/HEX``, named by their SHA-256). A scale-out
back end (PostgreSQL for the index, an S3-compatible store for media) implements the same
``EvidenceStore`` interface.

Durability order, so a receipt never promises what a crash could lose: ledger entries are
committed in one SQLite transaction with ``synchronous=FULL``, and with them a note of every
chunk's media the store does not hold yet (``missing_media``); media arrives into unnamed
files (hashed as it comes, ``begin_media``), is synced, then named by its digest, and only
then is its note cleared (``make_durable``). A host that dies at any point therefore knows,
at the next sync, which media it still lacks, and asks for it again before any receipt.

A device may answer that it cannot give a media file at all (GONE: it holds no such file,
or one that no longer matches its hash). That answer is evidence in its own right: it is
kept for good (``record_gone``, ``gone_media``), and the file stays noted as missing, so
every later sync asks again and stores it if the device can give it after all.
Nothing in this interface removes an entry or a record of one (R-HOST-5); the one removal is
of media bytes whose retention has run, approved and recorded (``remove_media``, used only by
``host.retention``'s deletion, which ``sealcam verify`` then reports as authorised). Every
entry and record is also a leaf of the host's own log (``host.hostlog``),
appended in the transaction that stores it, and the host signs checkpoints of that log
(``checkpoint``), so a row removed later shows when the store is verified.
"""

import contextlib
import errno
import hashlib
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from host import hostlog, i18n
from host.files import fsync_dir, start_writeback, sync_files, write_all, write_atomic
from host.mediasource import FileMedia
from host.problems import Said
from protocol.bounds import entry_problem
from protocol.ledger import Entry, media_digest, parse_entry
from protocol.registry import (
    F_CIPHER_SHA,
    F_PLAIN_LEN,
    F_WALL_MS,
    KIND_CHUNK,
    ZERO_HASH,
    id_problem,
)
from protocol.sealing import OVERHEAD as SEALED_OVERHEAD


class EvidenceError(Exception):
    """The evidence store refused an operation; the message says why and what to do."""


DISK_FULL = "disk-full"  # the reason a session ends with when the store has no room left
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the store's disk (or its quota, or SQLite's page limit) is full:
    an OSError ENOSPC or EDQUOT writing files, or SQLite's SQLITE_FULL."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF == _SQLITE_FULL
        return "database or disk is full" in str(exc)
    return False


class StoreUnopenable(Said, EvidenceError):
    """The evidence store cannot be opened at all (its database is a directory, a FIFO or a
    device, or not an SQLite database); the message says which, in one line, in the
    reader's language, and keeps its id and fields (``Said``) for a reader of another
    language later (a failed export the review page keeps)."""


# SQLite's primary result codes (its C API's, the low byte of sqlite_errorcode) that a
# person meets opening a store, and the line each becomes in the reader's language.
_SQLITE_REASONS = {
    5: i18n.N_("store.sqlite.locked"),  # SQLITE_BUSY: another process holds it
    6: i18n.N_("store.sqlite.locked"),  # SQLITE_LOCKED
    8: i18n.N_("store.sqlite.readonly"),  # SQLITE_READONLY
    10: i18n.N_("store.sqlite.io"),  # SQLITE_IOERR
    11: i18n.N_("store.sqlite.malformed"),  # SQLITE_CORRUPT
    13: i18n.N_("store.sqlite.full"),  # SQLITE_FULL
    14: i18n.N_("store.sqlite.cannot_open"),  # SQLITE_CANTOPEN
    26: i18n.N_("store.sqlite.not_a_database"),  # SQLITE_NOTADB
}
# The same by SQLite's English words, for an error that carries no code.
_SQLITE_WORDS = {
    "database is locked": i18n.N_("store.sqlite.locked"),
    "database table is locked": i18n.N_("store.sqlite.locked"),
    "attempt to write a readonly database": i18n.N_("store.sqlite.readonly"),
    "disk I/O error": i18n.N_("store.sqlite.io"),
    "database disk image is malformed": i18n.N_("store.sqlite.malformed"),
    "database or disk is full": i18n.N_("store.sqlite.full"),
    "unable to open database file": i18n.N_("store.sqlite.cannot_open"),
    "file is not a database": i18n.N_("store.sqlite.not_a_database"),
}


def _sqlite_reason(exc: Exception) -> "tuple | str":
    """SQLite's reason as a message ``(msg_id, fields)`` where the catalogue has it (said
    in each reader's language, ``host.problems``), else SQLite's own words."""
    code = getattr(exc, "sqlite_errorcode", None)
    msg_id = _SQLITE_REASONS.get(code & 0xFF) if isinstance(code, int) else None
    msg_id = msg_id or _SQLITE_WORDS.get(str(exc))
    return (msg_id, {}) if msg_id else str(exc)


def _sqlite_why(exc: Exception) -> str:
    """SQLite's reason, in the reader's language where the catalogue has it."""
    why = _sqlite_reason(exc)
    return i18n.text(why[0]) if isinstance(why, tuple) else why


def _holds_media(media: Path) -> bool:
    """Whether ``media`` holds a named media file (``ab/HEX``; incoming/ is not one)."""
    return media.is_dir() and next(media.glob("??/*"), None) is not None


def check_database_file(db_path: Path) -> None:
    """StoreUnopenable unless ``db_path`` is missing (a store not made yet) or a regular file
    (through symlinks). SQLite would block opening a FIFO for reading until some writer
    appears, and read a device such as /dev/zero as an empty database."""
    if db_path.is_dir():
        raise StoreUnopenable.said("store.unopenable.directory", path=db_path)
    if db_path.exists() and not db_path.is_file():
        raise StoreUnopenable.said("store.unopenable.not_regular", path=db_path)


def chunk_media(e: Entry) -> tuple | None:
    """``(digest, size)`` of the media a chunk entry names (sealed, when it is); None for an
    event."""
    if e.kind != KIND_CHUNK:
        return None
    f = e.fields
    size = f.get(F_PLAIN_LEN, 0)
    if F_CIPHER_SHA in f:
        size += SEALED_OVERHEAD  # the device holds, and sends, the sealed bytes
    return media_digest(f), size


# --- the order every store appends a device's ledger in (sans-I/O) ----------------------


class SameAsStored(Protocol):
    """Whether the entry a store holds for ``seq`` is the one hashing to ``digest`` (True
    when it holds none there: there is nothing to differ from)."""

    def __call__(self, seq: int, digest: bytes) -> bool: ...


class MediaReader(Protocol):
    """Reads a media file's bytes by its SHA-256 (EvidenceError where it is not held)."""

    def read_media(self, digest: bytes) -> bytes: ...


class MediaFiles(MediaReader, Protocol):
    """Media held as one file per digest, as the export reads them: the embedded store, or
    a recording's objects fetched from the scale-out store into a folder
    (``host.mediafetch.Fetched``)."""

    def media_file(self, digest: bytes) -> Path: ...


class HeldMedia(Protocol):
    """Whether a store durably holds the media of ``digest``."""

    def __call__(self, digest: bytes) -> bool: ...


def parse_batch(device_id: str, entries: list) -> "list[Entry]":
    """``entries`` (encoded, or parsed ``Entry`` objects) parsed once, each checked to be the
    device's and readable; EvidenceError for the first that is not."""
    parsed = [item if isinstance(item, Entry) else parse_entry(item) for item in entries]
    for e in parsed:
        if e.device_id != device_id:
            raise EvidenceError(
                "entry seq %d belongs to device %s, not %s" % (e.seq, e.device_id, device_id)
            )
        problem = entry_problem(e.fields)  # the store never holds what no reader can use
        if problem:
            raise EvidenceError("entry seq %d: %s" % (e.seq, problem))
    return parsed


def order_batch(
    device_id: str, parsed: "list[Entry]", head: tuple, same: SameAsStored
) -> "tuple[list[Entry], int]":
    """Which of ``parsed`` a store appends to a ledger whose ``head`` is ``(next_seq, last
    entry hash)``, and the next seq after them: ``(new entries in order, next_seq)``.

    An entry the store already holds, the same one (``same``), is skipped: a resent window.
    Two different entries for one seq in the batch, or one that differs from the stored
    entry for its seq, is a forked ledger; an entry that does not take the next seq with the
    last entry's hash as its link does not continue the ledger. Either is EvidenceError for
    the whole batch: the caller stores nothing of it. Read the head inside the transaction
    that appends: another host may have stored these very entries meanwhile.
    """
    next_seq, last = head
    held = next_seq  # the store holds the seqs below this; the batch's own are checked here
    batch: dict = {}  # seq -> entry hash of what this batch holds
    new = []
    for e in parsed:
        if batch.setdefault(e.seq, e.digest) != e.digest:
            raise EvidenceError(
                "device %s sent two different entries for seq %d in one batch: the ledger was "
                "forked; nothing was stored" % (device_id, e.seq)
            )
        if e.seq < next_seq:
            if e.seq < held and not same(e.seq, e.digest):
                raise EvidenceError(
                    "device %s sent a different entry for seq %d than the one stored: the "
                    "ledger was forked or altered; nothing was stored" % (device_id, e.seq)
                )
            continue
        if e.seq != next_seq or (e.seq > 0 and e.prev != last):
            raise EvidenceError(
                "entry seq %d does not continue device %s's stored ledger (next seq %d): store "
                "entries in order, verified" % (e.seq, device_id, next_seq)
            )
        new.append(e)
        next_seq, last = e.seq + 1, e.digest
    return new, next_seq


def media_notes(device_id: str, new: "list[Entry]", held: HeldMedia) -> list:
    """The ``missing_media`` rows ``(device_id, digest, seq, size)`` for the chunks among
    ``new`` whose media the store does not hold: what a sync must bring before a receipt."""
    due = []
    for e in new:
        media = chunk_media(e)
        if media is not None and not held(media[0]):
            due.append((device_id, media[0], e.seq, media[1]))
    return due


def sort_notes(notes: list, held: HeldMedia) -> "tuple[list, list]":
    """A device's ``missing_media`` notes ``(digest, size)``, oldest first, split into what
    is still owed (``(digest, size)``, in order) and the digests the store holds already (a
    crash cut off clearing the note, or another device's session brought the same media):
    those notes are to be cleared, and the media logged, by the caller."""
    due = []
    settled = []
    for digest, size in notes:
        digest = bytes(digest)
        if held(digest):
            settled.append(digest)
        else:
            due.append((digest, size))
    return due, settled


class MediaWriter:
    """One media file as it arrives: ``write`` each piece, then ``finish`` (or ``discard``).

    Collects the pieces and stores them through ``put_media`` on ``finish``; a store that
    can write pieces as they come (``SqliteEvidenceStore``) has its own writer.
    """

    def __init__(self, store: "EvidenceStore", digest: bytes) -> None:
        self.store = store
        self.digest = digest
        self.size = 0
        self.parts: list = []

    def write(self, data: bytes) -> None:
        self.parts.append(bytes(data))
        self.size += len(data)

    def finish(self) -> object:
        """Check the bytes against the digest; return the handle ``make_durable`` takes."""
        data = b"".join(self.parts)
        self.parts = []
        return self.store.put_media(self.digest, data, defer=True)

    def discard(self) -> None:
        self.parts = []


class EvidenceStore:
    """What the sync daemon, the verifier and the evidence tools need from a store."""

    def enrol(self, device_id: str, public_key: bytes) -> None:
        raise NotImplementedError

    def device_key(self, device_id: str) -> bytes | None:
        raise NotImplementedError

    def devices(self) -> list:
        raise NotImplementedError

    def head(self, device_id: str) -> tuple:
        """``(next_seq, last_entry_hash)`` of what is durably held for the device."""
        raise NotImplementedError

    def add_entries(self, device_id: str, entries: list, received_ms: int) -> int:
        """Durably append verified, consecutive entries (encoded, or parsed ``Entry``
        objects); return the new next seq."""
        raise NotImplementedError

    def missing_media(self, device_id: str) -> list:
        """``(digest, size)`` of every media the device's stored chunks name and the store
        does not durably hold, oldest first: what a sync must bring before its receipt."""
        raise NotImplementedError

    def entries(self, device_id: str, from_seq: int = 0, to_seq: "int | None" = None) -> object:
        """The stored entries (encoded) of seqs ``from_seq`` to ``to_seq`` (both included;
        None: to the newest), in seq order: a ranged read, so that one recording's span
        (``host.spans``) is read without the rest of the ledger."""
        raise NotImplementedError

    def put_media(self, digest: bytes, data: bytes, defer: bool = False) -> object:
        raise NotImplementedError

    def begin_media(self, digest: bytes) -> MediaWriter:
        """A writer for media that arrives in pieces; its ``finish`` gives a deferred handle."""
        return MediaWriter(self, digest)

    def make_durable(self, staged: list) -> None:
        """Make deferred media durable; a receipt is sent only after this returns."""
        raise NotImplementedError

    def discard_staged(self, staged: list) -> None:
        """A session failed before ``make_durable``: let go of its deferred media (never
        named, so no evidence; the device still holds it and brings it again)."""

    def has_media(self, digest: bytes) -> bool:
        raise NotImplementedError

    def read_media(self, digest: bytes) -> bytes:
        raise NotImplementedError

    def record_gone(
        self, device_id: str, digest: bytes, reason: int, text: str, reported_ms: int
    ) -> None:
        """Durably keep a device's word that it cannot give this media (a GONE_* reason and
        its text); every report is kept, none is ever removed."""
        raise NotImplementedError

    def gone_media(self, device_id: str) -> list:
        """Every GONE the device has reported, oldest first, as dicts: digest, reason, text,
        reported_ms."""
        raise NotImplementedError

    def checkpoint(self, signer: hostlog.tlog.NoteSigner, kid: str) -> hostlog.tlog.Checkpoint:
        """Sign a checkpoint of the host's own log with the host key and keep it; return
        it (origin, size, root), durable before this returns."""
        raise NotImplementedError

    def log_head(self) -> hostlog.tlog.Checkpoint:
        """The host's log as it stands (origin, size, root), unsigned and not kept: what a
        receipt names. Every leaf it counts is committed already."""
        raise NotImplementedError

    def record_session(self, summary: dict, ended_ms: int) -> None:
        """Keep a sync session's outcome (the daemon's summary of it) with its log leaf."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the store's connections and files."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id   TEXT PRIMARY KEY,
    public_key  BLOB NOT NULL,
    enrolled_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    raw         BLOB NOT NULL,
    kind        INTEGER NOT NULL,
    wall_ms     INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    device_id   TEXT NOT NULL,
    ended_ms    INTEGER NOT NULL,
    link        TEXT NOT NULL,
    result      TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    media       INTEGER NOT NULL,
    bytes_in    INTEGER NOT NULL,
    drift_ms    INTEGER,
    device_head INTEGER  -- the next seq the device announced at HELLO; NULL before proof
);
-- Media a stored chunk names and the store does not hold durably yet: written with the
-- entries, cleared once the media is named. A sync brings these before its receipt.
CREATE TABLE IF NOT EXISTS missing_media (
    device_id   TEXT NOT NULL,
    digest      BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (device_id, digest)
) WITHOUT ROWID;
-- What devices answered for media they could not give (GONE): a row per distinct report
-- (the host asks again at every dock; the same answer again adds no row), kept forever;
-- it is evidence of footage lost or changed on the device.
CREATE TABLE IF NOT EXISTS gone_media (
    device_id   TEXT NOT NULL,
    digest      BLOB NOT NULL,
    reason      INTEGER NOT NULL,
    text        TEXT NOT NULL,
    reported_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gone_media_device ON gone_media (device_id, reported_ms);
"""


class FileMediaWriter(MediaWriter):
    """Media hashed as its pieces arrive and written to an unnamed file as they come.

    The file lives in the store's ``incoming/`` folder under a name no reader looks at; it
    is named by its digest only in ``make_durable``, after a sync. Each write also asks the
    kernel to start putting it on disk, so that sync has little left to wait for.
    """

    _serial = itertools.count()
    BUFFER = 1 << 20  # pieces are gathered into writes of about this size

    def __init__(self, incoming: Path, digest: bytes) -> None:
        self.digest = digest
        self.size = 0
        self._hash = hashlib.sha256()
        self._buf = bytearray()
        # Unique per writer: two sessions may bring the same media at once.
        self.path = incoming / ("%s.%d.%d" % (digest.hex(), os.getpid(), next(self._serial)))
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise EvidenceError("media %s is already finished" % self.digest.hex())
        self._hash.update(data)
        self._buf += data
        self.size += len(data)
        if len(self._buf) >= self.BUFFER:
            self._write_out()

    def _write_out(self) -> None:
        if self._buf and self._fd is not None:
            write_all(self._fd, self._buf)
            start_writeback(self._fd)
            self._buf = bytearray()

    def finish(self) -> object:
        if self._fd is None:
            raise EvidenceError("media %s is already finished" % self.digest.hex())
        if self._hash.digest() != self.digest:
            self.discard()
            raise EvidenceError(
                "media does not match its SHA-256 %s: not stored" % self.digest.hex()
            )
        try:
            self._write_out()
        except BaseException:
            self.discard()
            raise
        fd, self._fd = self._fd, None
        os.close(fd)
        return (self.digest, self.path)

    def discard(self) -> None:
        self._buf = bytearray()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        self.path.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    """Whether the process that wrote the staged file ``DIGEST.PID.N`` still runs."""
    parts = name.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    if int(parts[1]) == os.getpid():
        return False  # this process opens the store afresh: what it staged before is litter
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


class SqliteEvidenceStore(EvidenceStore):
    """The embedded evidence store: a folder with ``evidence.db`` and ``media/``."""

    def __init__(self, root: str | Path, readonly: bool = False) -> None:
        self.root = Path(root)
        self.media = self.root / "media"
        self.incoming = self.media / "incoming"
        self._lock = threading.Lock()  # one writer; SQLite serialises commits anyway
        check_database_file(self.root / "evidence.db")
        if readonly:
            self._open_readonly()
            return
        db_path = self.root / "evidence.db"
        if (not db_path.exists() or db_path.stat().st_size == 0) and _holds_media(self.media):
            # A new database here would be a new store (a new id, an empty log) over the
            # footage of one whose database is gone: it must be restored, not replaced.
            gone = i18n.N_("store.unopenable.no_db")
            if db_path.exists():
                gone = i18n.N_("store.unopenable.empty_db")
            raise StoreUnopenable.said(gone, root=self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnopenable.said(
                "store.unopenable.cannot_make", path=self.root, why=exc
            ) from None
        try:
            self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            why = _sqlite_reason(exc)
            raise StoreUnopenable.said(
                "store.unopenable.cannot_open", path=db_path, why=why
            ) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._migrate()
            self.log = hostlog.HostLog(self._db)
            self.log.create()
        except sqlite3.Error as exc:
            self._db.close()
            why = _sqlite_reason(exc)
            raise StoreUnopenable.said(
                "store.unopenable.not_evidence", path=db_path, why=why, root=self.root
            ) from None
        # Opened first: nothing is made beside a file that is no evidence database.
        self.media.mkdir(parents=True, exist_ok=True)
        # Media received in a session but not yet durable lives here under its digest; a
        # crash leaves it unnamed, so has_media never counts it (see make_durable).
        if self.incoming.exists():
            # Left by a writer that died; a live one (a daemon mid-session, while this opens
            # the store to verify or export) keeps its files.
            for stale in self.incoming.iterdir():
                if not _writer_alive(stale.name):
                    stale.unlink(missing_ok=True)
        self.incoming.mkdir(exist_ok=True)

    def _migrate(self) -> None:
        """Bring a store made by an earlier release up to this schema (columns only added)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sessions)")}
        if "device_head" not in columns:
            self._db.execute("ALTER TABLE sessions ADD COLUMN device_head INTEGER")

    def _open_readonly(self) -> None:
        """Open for reading only (``sealcam verify``): nothing is created, cleaned or written,
        and SQLite itself refuses any write (``mode=ro``). A store that is missing or not a
        database is StoreUnopenable; one that lacks tables fails at its first read of them
        (sqlite3.Error)."""
        from urllib.parse import quote

        db_path = self.root / "evidence.db"
        uri = "file:%s?mode=ro" % quote(str(db_path.absolute()))
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            why = _sqlite_reason(exc)
            raise StoreUnopenable.said(
                "store.unopenable.cannot_open", path=db_path, why=why
            ) from None
        self.log = hostlog.HostLog(self._db)

    def checkpoint(self, signer: hostlog.tlog.NoteSigner, kid: str) -> hostlog.tlog.Checkpoint:
        """Sign a checkpoint of the host's log with the host key (``host.hostlog``); return
        it. Durable on return."""
        with self._lock:
            return self.log.checkpoint(signer, kid)

    def log_head(self) -> hostlog.tlog.Checkpoint:
        with self._lock:
            return self.log.head()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- the device register ---

    def enrol(self, device_id: str, public_key: bytes) -> None:
        """Enrol a device's public key; re-enrolling the same key is a no-op."""
        if len(public_key) != 32:
            raise EvidenceError("an Ed25519 public key is 32 bytes, not %d" % len(public_key))
        problem = id_problem(device_id)
        if problem:
            raise EvidenceError(problem)
        with self._lock:
            row = self._db.execute(
                "SELECT public_key FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
            if row is not None:
                if bytes(row[0]) != public_key:
                    raise EvidenceError(
                        "device %s is enrolled with another key; a re-keyed device must be "
                        "registered as a key change, not overwritten" % device_id
                    )
                return
            with self._transaction() as cur:
                cur.execute(
                    "INSERT INTO devices VALUES (?, ?, ?)",
                    (device_id, public_key, int(time.time() * 1000)),
                )
                self.log.append(cur, [(hostlog.DEVICE, hostlog.device_leaf(device_id, public_key))])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction (rows and their log leaves together); the caller holds
        the lock."""
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk does): a second ROLLBACK
            # would fail and hide why.
            if self._db.in_transaction:
                cur.execute("ROLLBACK")
            raise

    # --- for the layers above the sync (evidence management: host.people, host.audit, ...) ---

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction on the store (its lock held, BEGIN IMMEDIATE), committed
        when the block ends without an exception, rolled back otherwise: a change and the
        audit record of it land together or not at all."""
        with self._lock, self._transaction() as cur:
            yield cur

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Cursor]:
        """A cursor on one snapshot of the store (a deferred transaction, ended on exit)."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN")
            try:
                yield cur
            finally:
                if self._db.in_transaction:
                    cur.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list:
        """The rows of one read (a consistent snapshot: SQLite reads one)."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def add_tables(self, schema: str) -> None:
        """Make a layer's tables (``CREATE ... IF NOT EXISTS``), so a store made by an
        earlier release gains them when it is next opened for writing."""
        with self._lock:
            self._db.executescript(schema)

    def device_key(self, device_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT public_key FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def devices(self) -> list:
        with self._lock:
            rows = self._db.execute("SELECT device_id FROM devices ORDER BY device_id")
            return [r[0] for r in rows]

    # --- ledgers ---

    def head(self, device_id: str) -> tuple:
        with self._lock:
            return self._head(device_id)

    def _head(self, device_id: str) -> tuple:
        row = self._db.execute(
            "SELECT seq, hash FROM entries WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
            (device_id,),
        ).fetchone()
        if row is None:
            return 0, ZERO_HASH
        return row[0] + 1, bytes(row[1])

    def add_entries(self, device_id: str, entries: list, received_ms: int) -> int:
        """Append entries the daemon has verified; they must continue the stored chain.

        ``entries`` are encoded entries or ``Entry`` objects (parsed once, by the caller).
        All or nothing: one transaction, committed with a full sync before this returns,
        noting the media of each new chunk the store lacks (``missing_media``). An entry the
        store already holds, byte for byte, is skipped (a resent window); a different entry
        for a seq it holds, or two different entries for one seq in the batch, is refused
        whole: that is a forked ledger.
        """
        parsed = parse_batch(device_id, entries)
        with self._lock:
            known = self._db.execute(
                "SELECT 1 FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
            if known is None:
                raise EvidenceError(
                    "device %s is not enrolled: enrol its public key before storing its "
                    "ledger" % device_id
                )
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                # Read inside the write transaction: another daemon on this store may have
                # stored these very entries since this one last looked, and they are then
                # skipped here, not inserted twice (a UNIQUE failure).
                new, next_seq = order_batch(
                    device_id, parsed, self._head(device_id), self._same_as_stored(device_id)
                )
                rows = [
                    (device_id, e.seq, e.digest, bytes(e.raw), e.kind, e.fields[F_WALL_MS],
                     received_ms)
                    for e in new
                ]  # fmt: skip
                due = media_notes(device_id, new, self.has_media)
                cur.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                cur.executemany("INSERT OR IGNORE INTO missing_media VALUES (?, ?, ?, ?)", due)
                leaves = [(hostlog.ENTRY, hostlog.entry_leaf(r[0], r[1], r[2])) for r in rows]
                self.log.append(cur, leaves)
                cur.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk does): a second ROLLBACK
                # would fail and hide why.
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        return next_seq

    def missing_media(self, device_id: str) -> list:
        with self._lock:
            rows = self._db.execute(
                "SELECT digest, size FROM missing_media WHERE device_id = ? ORDER BY seq",
                (device_id,),
            ).fetchall()
        due, held = sort_notes(rows, self.has_media)
        if held:
            self._settle(held)
        return due

    def _settle(self, digests: list) -> None:
        """The media behind ``digests`` is durably named: no device is owed it any more.

        Committed without waiting for the disk: a note that a crash brings back is only
        checked against the media (``missing_media``) and cleared again.
        """
        with self._lock:
            cur = self._db.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            try:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    cur.executemany(
                        "DELETE FROM missing_media WHERE digest = ?", [(d,) for d in digests]
                    )
                    # Logged as the note is cleared: a crash that undoes this commit undoes
                    # both, and the next sync settles (and logs) the media again. The
                    # checkpoint after it is committed with a full sync, which syncs this.
                    self.log.append_media(cur, digests)
                    cur.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        cur.execute("ROLLBACK")
                    raise
            finally:
                cur.execute("PRAGMA synchronous=FULL")

    def _same_as_stored(self, device_id: str) -> SameAsStored:
        def same(seq: int, digest: bytes) -> bool:
            row = self._db.execute(
                "SELECT hash FROM entries WHERE device_id = ? AND seq = ?", (device_id, seq)
            ).fetchone()
            return row is None or bytes(row[0]) == digest

        return same

    def entries(self, device_id: str, from_seq: int = 0, to_seq: int | None = None) -> list:
        upto = (1 << 63) - 1 if to_seq is None else to_seq
        with self._lock:
            rows = self._db.execute(
                "SELECT raw FROM entries WHERE device_id = ? AND seq >= ? AND seq <= ? "
                "ORDER BY seq",
                (device_id, from_seq, upto),
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def received_ms(self, device_id: str, seq: int) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT received_ms FROM entries WHERE device_id = ? AND seq = ?",
                (device_id, seq),
            ).fetchone()
        return row[0] if row else None

    # --- sync sessions: when each device docked, what came, how far its clock was off ---

    def record_session(self, summary: dict, ended_ms: int) -> None:
        """Keep a sync session's outcome, clock drift included (R-HOST-11), and the ledger
        head the device announced, which shows entries it holds and the host does not."""
        row = (
            summary.get("device") or "",
            ended_ms,
            summary.get("link", ""),
            summary["result"],
            summary["entries_stored"],
            summary["media_stored"],
            summary["bytes_in"],
            summary.get("clock_drift_ms"),
            summary.get("device_head"),
        )
        with self._lock, self._transaction() as cur:
            cur.execute(
                "INSERT INTO sessions (device_id, ended_ms, link, result, entries, media, "
                "bytes_in, drift_ms, device_head) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            self.log.append(cur, [(hostlog.SESSION, hostlog.session_leaf(row))])

    def sessions(self, device_id: str) -> list:
        """The device's sync sessions, oldest first, as dicts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ended_ms, link, result, entries, media, bytes_in, drift_ms, device_head "
                "FROM sessions WHERE device_id = ? ORDER BY ended_ms",
                (device_id,),
            ).fetchall()
        keys = (
            "ended_ms", "link", "result", "entries", "media", "bytes_in", "drift_ms",
            "device_head",
        )  # fmt: skip
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # --- media ---

    def _media_path(self, digest: bytes) -> Path:
        h = digest.hex()
        return self.media / h[:2] / h

    def put_media(self, digest: bytes, data: bytes, defer: bool = False) -> object:
        """Store media under its SHA-256; refuse bytes that do not match it.

        Durable on return, unless ``defer``: then the bytes are written now and a handle is
        returned; ``make_durable`` with the session's handles makes them all durable at once
        (one filesystem sync in place of two fsyncs per file), and a receipt waits for it.
        """
        if hashlib.sha256(data).digest() != digest:
            raise EvidenceError("media does not match its SHA-256 %s: not stored" % digest.hex())
        path = self._media_path(digest)
        if path.exists():
            return None
        if not defer:
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, data, mode=0o444)
            self._settle([digest])
            return None
        writer = self.begin_media(digest)
        writer.write(data)
        return writer.finish()

    def begin_media(self, digest: bytes) -> FileMediaWriter:
        """A writer that hashes each piece as it arrives and writes it to an unnamed file in
        ``incoming/``; a session's media is never held whole in memory."""
        return FileMediaWriter(self.incoming, digest)

    def make_durable(self, staged: list) -> None:
        """Make the deferred media behind ``staged`` handles durable, then name it: the
        bytes are synced before any name points at them, and the names are synced before
        this returns (and so before any receipt)."""
        staged = [h for h in staged if h is not None]
        if not staged:
            return
        sync_files(self.media, [p for _, p in staged])  # the bytes, before a name points at them
        named = []
        for digest, src in staged:
            dst = self._media_path(digest)
            dst.parent.mkdir(exist_ok=True)
            os.chmod(src, 0o444)
            os.replace(src, dst)
            named.append(dst)
        sync_files(self.media, named)  # the names
        self._settle([digest for digest, _ in staged])

    def discard_staged(self, staged: list) -> None:
        for handle in staged:
            if handle is not None:
                Path(handle[1]).unlink(missing_ok=True)  # an unnamed file in incoming/

    def has_media(self, digest: bytes) -> bool:
        return self._media_path(digest).exists()

    def media_file(self, digest: bytes) -> Path:
        """The file that holds (or would hold) the media of ``digest``, for a reader that
        names it to a person; the demo, which changes a byte to show the check catch it."""
        return self._media_path(digest)

    def media_source(self) -> FileMedia:
        """The media as readers of footage read it (``host.mediasource``): its files."""
        return FileMedia(self._media_path)

    def check_media(self, entries: list) -> list:
        """Re-hash the stored media of every chunk entry given: ``(seq, problem)`` for each
        file that is missing or no longer matches the hash its signed entry names."""
        problems = []
        for e in entries:
            if e.kind != KIND_CHUNK:
                continue
            digest = media_digest(e.fields)
            path = self._media_path(digest)
            if not path.exists():
                problems.append((e.seq, "missing"))
                continue
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            if h.digest() != digest:
                problems.append((e.seq, "altered"))
        return problems

    def remove_media(self, digests: list) -> int:
        """Remove the media files of ``digests`` for good, durably (each folder synced once
        its names are gone); returns how many were removed. Only retention's deletion calls
        this, after the audit record naming the digests and the approval behind them is
        committed (``host.retention``); no entry, no leaf and no record is touched."""
        removed = 0
        folders = set()
        for digest in digests:
            path = self._media_path(bytes(digest))
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # removed already (a run a crash cut off is repeated)
            removed += 1
            folders.add(path.parent)
        for folder in sorted(folders):
            fsync_dir(folder)
        return removed

    def read_media(self, digest: bytes) -> bytes:
        try:
            return self._media_path(digest).read_bytes()
        except FileNotFoundError:
            raise EvidenceError("no media %s in the evidence store" % digest.hex()) from None

    # --- media a device could not give ---

    def record_gone(
        self, device_id: str, digest: bytes, reason: int, text: str, reported_ms: int
    ) -> None:
        if len(digest) != 32:
            raise EvidenceError("a media digest is 32 bytes, not %d" % len(digest))
        with self._lock:
            # Committed with a full sync: the receipt that no longer waits for this media
            # goes out only after the reason it need not is on disk.
            row = (device_id, bytes(digest), int(reason), str(text))
            with self._transaction() as cur:
                cur.execute(
                    "INSERT INTO gone_media SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
                    "gone_media WHERE device_id = ? AND digest = ? AND reason = ? AND text = ?)",
                    (*row, int(reported_ms), *row),
                )
                if cur.rowcount == 1:
                    leaf = hostlog.gone_leaf(*row, int(reported_ms))
                    self.log.append(cur, [(hostlog.GONE, leaf)])

    def gone_media(self, device_id: str) -> list:
        with self._lock:
            rows = self._db.execute(
                "SELECT digest, reason, text, reported_ms FROM gone_media WHERE device_id = ? "
                "ORDER BY reported_ms, rowid",
                (device_id,),
            ).fetchall()
        return [
            {"digest": bytes(d), "reason": reason, "text": text, "reported_ms": ms}
            for d, reason, text, ms in rows
        ]
