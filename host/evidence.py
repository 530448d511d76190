"""The evidence store: every device's ledger and media, kept durably on the host.

The embedded default is SQLite in WAL mode for the ledgers and the device register, and
content-addressed files for media (``media/ab/HEX``, named by their SHA-256). A scale-out
back end (PostgreSQL for the index, an S3-compatible store for media) implements the same
``EvidenceStore`` interface.

Durability order, so a receipt never promises what a crash could lose: media files are
written to a temporary name, fsynced, renamed and the folder fsynced; ledger entries are
committed in one SQLite transaction with ``synchronous=FULL``; only when ``add_entries``
returns may the sync daemon send the device a receipt. There is no delete: nothing in this
interface removes an entry or media (R-HOST-5).
"""

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path

from host.files import sync_files, write_atomic
from protocol.ledger import parse_entry
from protocol.registry import F_CIPHER_SHA, F_PLAIN_SHA, F_WALL_MS, KIND_CHUNK


class EvidenceError(Exception):
    """The evidence store refused an operation; the message says why and what to do."""


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
        """Durably append verified, consecutive entries; return the new next seq."""
        raise NotImplementedError

    def entries(self, device_id: str, from_seq: int = 0) -> object:
        raise NotImplementedError

    def put_media(self, digest: bytes, data: bytes, defer: bool = False) -> object:
        raise NotImplementedError

    def make_durable(self, staged: list) -> None:
        """Make deferred media durable; a receipt is sent only after this returns."""
        raise NotImplementedError

    def has_media(self, digest: bytes) -> bool:
        raise NotImplementedError

    def read_media(self, digest: bytes) -> bytes:
        raise NotImplementedError


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
    drift_ms    INTEGER
);
"""


class SqliteEvidenceStore(EvidenceStore):
    """The embedded evidence store: a folder with ``evidence.db`` and ``media/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.media = self.root / "media"
        self.media.mkdir(parents=True, exist_ok=True)
        # Media received in a session but not yet durable lives here under its digest; a
        # crash leaves it unnamed, so has_media never counts it (see make_durable).
        self.incoming = self.media / "incoming"
        if self.incoming.exists():
            for stale in self.incoming.iterdir():
                stale.unlink()
        self.incoming.mkdir(exist_ok=True)
        self._lock = threading.Lock()  # one writer; SQLite serialises commits anyway
        self._db = sqlite3.connect(
            str(self.root / "evidence.db"), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- the device register ---

    def enrol(self, device_id: str, public_key: bytes) -> None:
        """Enrol a device's public key; re-enrolling the same key is a no-op."""
        if len(public_key) != 32:
            raise EvidenceError("an Ed25519 public key is 32 bytes, not %d" % len(public_key))
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
            self._db.execute(
                "INSERT INTO devices VALUES (?, ?, ?)",
                (device_id, public_key, int(time.time() * 1000)),
            )

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
            return 0, bytes(32)
        return row[0] + 1, bytes(row[1])

    def add_entries(self, device_id: str, entries: list, received_ms: int) -> int:
        """Append entries the daemon has verified; they must continue the stored chain.

        All or nothing: one transaction, committed with a full sync before this returns.
        An entry the store already holds, byte for byte, is skipped (a resent window); a
        different entry for a seq it holds is refused: that is a forked ledger.
        """
        rows = []
        for raw in entries:
            e = parse_entry(raw)
            if e.device_id != device_id:
                raise EvidenceError(
                    "entry seq %d belongs to device %s, not %s" % (e.seq, e.device_id, device_id)
                )
            rows.append((e, bytes(raw)))
        with self._lock:
            known = self._db.execute(
                "SELECT 1 FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
            if known is None:
                raise EvidenceError(
                    "device %s is not enrolled: enrol its public key before storing its "
                    "ledger" % device_id
                )
            next_seq, last = self._head(device_id)
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for e, raw in rows:
                    if e.seq < next_seq:
                        self._check_same(cur, device_id, e.seq, e.digest)
                        continue
                    if e.seq != next_seq or (e.seq > 0 and e.prev != last):
                        raise EvidenceError(
                            "entry seq %d does not continue device %s's stored ledger (next "
                            "seq %d): store entries in order, verified"
                            % (e.seq, device_id, next_seq)
                        )
                    cur.execute(
                        "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (device_id, e.seq, e.digest, raw, e.kind, e.fields[F_WALL_MS], received_ms),
                    )
                    next_seq, last = e.seq + 1, e.digest
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return next_seq

    def _check_same(self, cur: sqlite3.Cursor, device_id: str, seq: int, digest: bytes) -> None:
        row = cur.execute(
            "SELECT hash FROM entries WHERE device_id = ? AND seq = ?", (device_id, seq)
        ).fetchone()
        if row is not None and bytes(row[0]) != digest:
            raise EvidenceError(
                "device %s sent a different entry for seq %d than the one stored: the ledger "
                "was forked or altered; nothing was stored" % (device_id, seq)
            )

    def entries(self, device_id: str, from_seq: int = 0) -> list:
        with self._lock:
            rows = self._db.execute(
                "SELECT raw FROM entries WHERE device_id = ? AND seq >= ? ORDER BY seq",
                (device_id, from_seq),
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
        """Keep a sync session's outcome, clock drift included (R-HOST-11)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    summary.get("device") or "",
                    ended_ms,
                    summary.get("link", ""),
                    summary["result"],
                    summary["entries_stored"],
                    summary["media_stored"],
                    summary["bytes_in"],
                    summary.get("clock_drift_ms"),
                ),
            )

    def sessions(self, device_id: str) -> list:
        """The device's sync sessions, oldest first, as dicts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ended_ms, link, result, entries, media, bytes_in, drift_ms FROM sessions "
                "WHERE device_id = ? ORDER BY ended_ms",
                (device_id,),
            ).fetchall()
        keys = ("ended_ms", "link", "result", "entries", "media", "bytes_in", "drift_ms")
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
            return None
        # Unique per writer: two sessions may bring the same media at once.
        staged = self.incoming / ("%s.%d" % (digest.hex(), threading.get_ident()))
        staged.write_bytes(data)
        return (digest, staged)

    def make_durable(self, staged: list) -> None:
        """Make the deferred media behind ``staged`` handles durable, then name it."""
        # The same media can come twice in one session (two chunks of identical silence):
        # it is stored once, under its hash.
        unique: dict = {}
        for h in staged:
            if h is not None and h[0] not in unique:
                unique[h[0]] = h
        staged = list(unique.values())
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

    def has_media(self, digest: bytes) -> bool:
        return self._media_path(digest).exists()

    def check_media(self, entries: list) -> list:
        """Re-hash the stored media of every chunk entry given: ``(seq, problem)`` for each
        file that is missing or no longer matches the hash its signed entry names."""
        problems = []
        for e in entries:
            if e.kind != KIND_CHUNK:
                continue
            f = e.fields
            digest = f[F_CIPHER_SHA] if F_CIPHER_SHA in f else f[F_PLAIN_SHA]
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

    def read_media(self, digest: bytes) -> bytes:
        try:
            return self._media_path(digest).read_bytes()
        except FileNotFoundError:
            raise EvidenceError("no media %s in the evidence store" % digest.hex()) from None
