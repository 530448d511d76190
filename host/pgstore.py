"""The scale-out evidence store: PostgreSQL for ledgers, sessions and the host's log; media
as write-once objects in an S3 bucket with Object Lock (``host.s3media``).

The same ``EvidenceStore`` as the embedded one, for many sync hosts writing one store:
- Each device's entries are appended exactly once, in order, whoever serves it. A session
  claims its device when it first stores (a session-level advisory lock, held on a
  connection of its own until the session is recorded): a second session of the same
  device, on this host or another, is refused then and ends cleanly; the device keeps its
  footage and its next dock goes on. Inside the commit the device's row is locked too, and
  the head read under that lock, so a resent window is skipped, never stored twice.
- The host's log (``host.hostlog``'s leaves, its head and signed checkpoints) lives in the
  same database and is appended in the transaction that writes the rows it covers; its head
  row is locked by each append, which orders every host's leaves into one log.
- Media is stored in the bucket first (the store checks its checksums, ``S3Media.put``),
  then recorded (``media``: digest and the object's version) in the transaction that clears
  its note in ``missing_media`` and logs it. A receipt goes out only after that commit and
  the entries' own; a host that dies between the two leaves an object nothing names yet and
  the note still open, so the next dock asks for the media again and records the object.
  The objects' lock pass (a recording already held, classed or in a case gets its longer
  lock, ``host.medialocks.after_dock``) is noted as owed in that commit (``lock_new``) and
  runs after it, on a thread and a connection of its own: the receipt does not wait for it,
  and one a host never ran is run by the locks' upkeep.
- Evidence management (``host.access``'s Desk and everything behind it) runs on the same
  database through ``write``/``read``/``add_tables``: its SQL, written once for both stores,
  through ``host.sqlstore``'s adapter. Its writes take one advisory lock first, so they run
  one at a time across every host, as the embedded store's do: each chains its audit record
  to the one before.
"""

import contextlib
import copy
import datetime
import hashlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from host import hostlog, i18n, sqlstore, tlog
from host.daemonpool import DaemonPool, NoThread
from host.evidence import (
    EvidenceError,
    EvidenceStore,
    MediaWriter,
    SameAsStored,
    StoreUnopenable,
    media_notes,
    order_batch,
    parse_batch,
    sort_notes,
)
from host.mediasource import ObjectMedia
from host.s3media import MediaRefused, MediaUnusable, S3Media
from protocol.registry import F_WALL_MS, ZERO_HASH, id_problem

# Where a test stops this process dead (SIGKILL) to prove a crash there leaves nothing
# half-recorded: "media-stored" is after the session's objects are in the bucket and
# before they are recorded. Read once per use; unset in production.
FAULT_ENV = "SEALCAM_TEST_FAULT"
CLAIM_SPACE = 0x5EA1  # the advisory locks' class: a device's claim by one session
SCHEMA_LOCK = 0x5EA10001  # makes the tables one host at a time
# Evidence management's writes (host.access), one at a time across every host, as the
# embedded store's BEGIN IMMEDIATE makes them: each reads the audit trail's last record to
# chain the next, and a plan's index to bring it up, so two at once would fork them.
WRITE_LOCK = 0x5EA10002
# The object locks' upkeep (host.medialocks.keep_up) run by a sync daemon: one host's at a
# time (a session-level lock on the upkeep's own connection, let go when it closes).
UPKEEP_LOCK = 0x5EA10003
# At close, how long a statement another thread has under way is awaited before it is
# cancelled (one waiting on a lock another host holds would keep the close waiting for ever).
CLOSE_WAIT_S = 5.0
CLOSE_CANCELS = 3  # cancels tried before the connection is closed under whoever holds it
UPLOADERS = 2  # uploads run at once, beside the session while it brings the next media
UPLOADS = 4  # uploads running or waiting (the media of each held in memory) at most

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id   TEXT PRIMARY KEY,
    public_key  BYTEA NOT NULL,
    enrolled_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    device_id   TEXT NOT NULL REFERENCES devices (device_id),
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    raw         BYTEA NOT NULL,
    kind        INTEGER NOT NULL,
    wall_ms     BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE IF NOT EXISTS sessions (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT NOT NULL,
    ended_ms    BIGINT NOT NULL,
    link        TEXT NOT NULL,
    result      TEXT NOT NULL,
    entries     BIGINT NOT NULL,
    media       BIGINT NOT NULL,
    bytes_in    BIGINT NOT NULL,
    drift_ms    BIGINT,
    device_head BIGINT
);
CREATE TABLE IF NOT EXISTS missing_media (
    device_id   TEXT NOT NULL,
    digest      BYTEA NOT NULL,
    seq         BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    PRIMARY KEY (device_id, digest)
);
CREATE TABLE IF NOT EXISTS gone_media (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT NOT NULL,
    digest      BYTEA NOT NULL,
    reason      INTEGER NOT NULL,
    text        TEXT NOT NULL,
    reported_ms BIGINT NOT NULL
);
-- Media held in the bucket: the object's digest and the version the store gave it.
CREATE TABLE IF NOT EXISTS media (
    digest    BYTEA PRIMARY KEY,
    version   TEXT NOT NULL,
    size      BIGINT NOT NULL,
    stored_ms BIGINT NOT NULL
);
-- Each recorded object's lock as this host set it (host.objectlock, host.medialocks): its
-- COMPLIANCE retain-until and legal hold; and when retention removed it (removed_ms).
CREATE TABLE IF NOT EXISTS media_locks (
    digest     BYTEA PRIMARY KEY,
    until_ms   BIGINT NOT NULL,
    held       BOOLEAN NOT NULL,
    removed_ms BIGINT
);
-- Recordings whose retention changed since their objects' locks were last brought to it
-- (host.medialocks): marked in the very transaction that changed them (LOCK_PENDING's
-- trigger), cleared once the locks are set, so a change whose locks the object store did
-- not take (down, refusing) is planned again by the next run, and only such changes are.
-- ``mark`` grows with each marking: a run clears only the marks it planned.
CREATE TABLE IF NOT EXISTS lock_pending (
    item_id TEXT PRIMARY KEY,
    mark    BIGSERIAL NOT NULL
);
-- Objects recorded by a dock whose lock pass (host.medialocks.after_dock: a recording whose
-- retention is already longer than the first lock) has not run yet: written in the commit
-- that records them, before the receipt; cleared by the pass, which runs after the receipt.
-- A host that dies between the two leaves them here for the upkeep (``sealcam retention
-- keep-up``, a daemon's start), so no object keeps only its first lock for good.
CREATE TABLE IF NOT EXISTS lock_new (
    digest    BYTEA PRIMARY KEY,
    stored_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
    idx  BIGINT PRIMARY KEY,
    leaf BYTEA NOT NULL,
    kind TEXT NOT NULL,
    data BYTEA NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS log_media ON log (data) WHERE kind = 'media';
CREATE TABLE IF NOT EXISTS log_head (
    one      INTEGER PRIMARY KEY CHECK (one = 0),
    size     BIGINT NOT NULL,
    frontier BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    id        BIGSERIAL PRIMARY KEY,
    size      BIGINT NOT NULL,
    root      BYTEA NOT NULL,
    kid       TEXT NOT NULL,
    signed_ms BIGINT NOT NULL,
    note      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS host_keys (
    kid        TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    first_ms   BIGINT NOT NULL,
    PRIMARY KEY (kid, public_key)
);
"""

# Whatever changes a recording's retention (its class, its cases, a case's state, a hold, a
# policy: any code, audited or not) marks it in the plan's index's stale list, by that
# index's own triggers (host.retention); this trigger marks each such recording for the
# lock applier too, in the same transaction. BEFORE INSERT, so a recording already on the
# stale list (where the list's insert meets a conflict and adds nothing) is marked again.
LOCK_PENDING = """
CREATE TABLE IF NOT EXISTS retention_stale (item_id TEXT PRIMARY KEY);
CREATE OR REPLACE FUNCTION lock_pending_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lock_pending (item_id) VALUES (NEW.item_id)
        ON CONFLICT (item_id) DO UPDATE SET mark = excluded.mark;
    RETURN NEW;
END$$;
"""
# Made only where it is missing: making a trigger locks its table against writers, and every
# store that opens (each command, each daemon) would wait for the desk's transactions.
LOCK_PENDING_TRIGGER = """
CREATE TRIGGER lock_pending_mark BEFORE INSERT ON retention_stale
    FOR EACH ROW EXECUTE FUNCTION lock_pending_mark();
"""

TABLES = (
    "devices", "entries", "sessions", "missing_media", "gone_media", "media", "store_meta",
    "log", "log_head", "checkpoints", "host_keys",
)  # fmt: skip


def is_url(text: str) -> bool:
    """Whether ``--evidence`` names a PostgreSQL database rather than a folder."""
    return text.startswith(("postgresql://", "postgres://"))


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _stall(point: str) -> None:
    """Where a test holds this thread still until it stops the process: "lock-pass" is a
    dock's lock pass, after its receipt went out and before any lock is set."""
    if os.environ.get(FAULT_ENV) == point:
        threading.Event().wait()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _claim_key(device_id: str) -> int:
    """A device's advisory lock key: 32 bits of its id's SHA-256 (two ids sharing one
    only make their sessions wait for each other, never mix their ledgers)."""
    digest = hashlib.sha256(device_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def connect(url: str) -> Any:
    """A connection to ``url`` (its password from the environment or ~/.pgpass, as libpq
    finds it); StoreUnopenable, in one line, when the database cannot be reached."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        why = str(exc).strip().splitlines()
        raise StoreUnopenable.said(
            "pg.unreachable", url=_shown(url), why=why[-1] if why else type(exc).__name__
        ) from None


def _busy(conn: Any) -> bool:
    """Whether a statement is under way on ``conn`` (read from another thread: a cancel
    is worth sending)."""
    from psycopg.pq import TransactionStatus

    try:
        return bool(conn.info.transaction_status == TransactionStatus.ACTIVE)
    except Exception:  # closed or broken: nothing to cancel
        return False


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _shown(url: str) -> str:
    """``url`` without a password it may hold, for a message."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
    return parts._replace(netloc=netloc).geturl()


class PgHostLog:
    """``host.hostlog``'s log on PostgreSQL: the same leaves, head and checkpoints."""

    def create(self, cur: Any) -> None:
        cur.execute(
            "INSERT INTO store_meta VALUES ('store_id', %s) ON CONFLICT DO NOTHING",
            (os.urandom(16).hex(),),
        )
        cur.execute("INSERT INTO log_head VALUES (0, 0, '') ON CONFLICT DO NOTHING")

    def store_id(self, cur: Any) -> str:
        row = cur.execute("SELECT value FROM store_meta WHERE name = 'store_id'").fetchone()
        return row[0] if row else ""

    def append(self, cur: Any, leaves: list) -> None:
        """Append ``(kind, data)`` leaves in order; the head row's lock orders every
        writer's leaves into one log."""
        if not leaves:
            return
        cur = getattr(cur, "raw", cur)  # a management write's cursor: its psycopg one
        size, frontier = cur.execute("SELECT size, frontier FROM log_head FOR UPDATE").fetchone()
        tree = tlog.CompactTree(size, hostlog._frontier_of(frontier))
        rows = []
        for kind, data in leaves:
            leaf = tlog.leaf_hash(data)
            rows.append((tree.size, leaf, kind, data))
            tree.append(leaf)
        cur.executemany("INSERT INTO log VALUES (%s, %s, %s, %s)", rows)
        cur.execute(
            "UPDATE log_head SET size = %s, frontier = %s",
            (tree.size, hostlog._frontier_bytes(tree.frontier())),
        )

    def append_media(self, cur: Any, digests: list) -> None:
        new = []
        for digest in dict.fromkeys(bytes(d) for d in digests):
            data = hostlog.media_leaf(digest)
            held = cur.execute("SELECT 1 FROM log WHERE kind = 'media' AND data = %s", (data,))
            if held.fetchone() is None:
                new.append((hostlog.MEDIA, data))
        self.append(cur, new)

    def head(self, cur: Any) -> tlog.Checkpoint:
        size, frontier = cur.execute("SELECT size, frontier FROM log_head").fetchone()
        root = tlog.CompactTree(size, hostlog._frontier_of(frontier)).root()
        return tlog.Checkpoint(hostlog.origin_of(self.store_id(cur)), size, root)


class PgMediaWriter(MediaWriter):
    """Media hashed as its pieces arrive (SHA-256 against the signed digest, MD5 for the
    object store's own check), handed to the uploads once whole."""

    def __init__(self, store: "PgEvidenceStore", digest: bytes) -> None:
        super().__init__(store, digest)
        self.pg = store
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5()  # the object store's transfer check, not for security

    def write(self, data: bytes) -> None:
        super().write(data)
        self._sha.update(data)
        self._md5.update(data)

    def finish(self) -> object:
        data = b"".join(self.parts)
        self.parts = []
        if self._sha.digest() != bytes(self.digest):
            raise EvidenceError(
                "media does not match its SHA-256 %s: not stored" % bytes(self.digest).hex()
            )
        return self.pg._upload(bytes(self.digest), data, self._md5.digest())


class Upload:
    """One media object on its way to the bucket: what ``put_media(defer=True)`` returns;
    ``until_ms``: the retain-until it is locked to."""

    def __init__(self, digest: bytes, size: int, future: Any, until_ms: int) -> None:
        self.digest = digest
        self.size = size
        self.future = future
        self.until_ms = until_ms


class PgEvidenceStore(EvidenceStore):
    """``postgresql://...`` for the index and the log, ``s3://BUCKET`` for media."""

    def __init__(self, url: str, media_url: str, readonly: bool = False) -> None:
        import psycopg

        self.url = url
        self.readonly = readonly
        self._lock = threading.RLock()  # one connection, one transaction at a time
        self._claims: dict = {}  # thread ident -> (device id, the connection holding it)
        self.log = PgHostLog()
        # The uploads (UPLOADERS at once), made at the first; like the docks' lock passes
        # below, on threads that never hold the process's end (host.daemonpool): one
        # waiting on an object store that never answers does not keep it from ending.
        self._pool: DaemonPool | None = None
        self._passes: DaemonPool | None = None  # the docks' lock passes, one at a time
        self._passer: PgEvidenceStore | None = None  # the passes' own connection (_apart)
        self._last_pass: Any = None  # the future of the pass queued last (close waits for it)
        # Guards _passes and _last_pass, apart from the connection's lock, which a stuck
        # statement may hold while the close reads them.
        self._pass_lock = threading.Lock()
        self._room = threading.BoundedSemaphore(UPLOADS)
        # digest -> when the chunk naming it was recorded (ms), for the media a session is
        # about to bring (``missing_media``): its object's first lock starts from there.
        self._recorded: dict = {}
        self._lock_policy: Any = None  # host.retention.Policy, read at the first upload
        self.lock_problems: list = []  # object locks the object store would not set, why
        self._removed = "media_locks"  # what has_media reads removals from
        self._source: ObjectMedia | None = None  # the readers' view of the media, made once
        self.refused_removals: list = []  # digests retention's deletion found still locked
        self._closing = False  # set by close: no statement starts, no connection is made again
        try:
            self.media = S3Media(media_url, create=not readonly)
        except MediaUnusable as exc:
            raise StoreUnopenable.passing(exc) from None
        self._db = connect(url)
        try:
            if readonly:
                missing = [t for t in TABLES if not self._has_table(t)]
                if missing:
                    raise StoreUnopenable.said(
                        "pg.not_store", url=_shown(url), tables=", ".join(missing)
                    )
                if not self._has_table("media_locks"):  # a store made before locks were noted
                    self._removed = (
                        "(SELECT NULL::bytea AS digest, NULL::bigint AS removed_ms WHERE false)"
                    )
            else:
                with self._db.transaction():
                    self._db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    self._db.execute(SCHEMA)
                    self._db.execute(LOCK_PENDING)
                    made = self._db.execute(
                        "SELECT 1 FROM pg_trigger WHERE tgname = 'lock_pending_mark'"
                    ).fetchone()
                    if made is None:
                        self._db.execute(LOCK_PENDING_TRIGGER)
                    self.log.create(self._db.cursor())
        except psycopg.Error as exc:
            self._db.close()
            raise StoreUnopenable.said("pg.failed", url=_shown(url), why=exc) from None

    def _has_table(self, name: str) -> bool:
        row = self._db.execute("SELECT to_regclass(%s)", (name,)).fetchone()
        return row[0] is not None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One transaction, committed at the block's end. The database failing under it
        (gone down, the connection lost) is EvidenceError: the session that stores ends
        without a receipt, as for any store that will not have its evidence."""
        import psycopg

        try:
            with self._lock, self._live().transaction():
                yield self._db.cursor()
        except psycopg.OperationalError as exc:
            raise EvidenceError(i18n.text("pg.lost", why=_first_line(exc))) from None

    def _live(self) -> Any:
        """The connection, made again when the database dropped it (restarted, or the
        session ended by an administrator): the next session goes on. The caller holds
        the lock. Once the store is closing, EvidenceError: nothing starts any more."""
        if self._closing:
            raise EvidenceError(i18n.text("pg.closing"))
        if self._db.closed or self._db.broken:
            self._db = connect(self.url)
        return self._db

    def _rows(self, sql: str, params: tuple = ()) -> list:
        import psycopg

        try:
            with self._lock:
                return self._live().execute(sql, params).fetchall()
        except psycopg.OperationalError as exc:
            raise EvidenceError(i18n.text("pg.lost", why=_first_line(exc))) from None

    # --- for the layers above the sync (evidence management: host.access and behind) ---

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlstore.PgCursor]:
        """One write transaction (``host.access.Store``): the management writers' lock
        taken first, so they run one at a time as on the embedded store; committed when the
        block ends without an exception, rolled back otherwise. Its cursor takes the
        management code's SQL (``host.sqlstore``)."""
        import psycopg

        with self._transaction() as raw:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield sqlstore.PgCursor(psycopg.ClientCursor(self._db))

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlstore.PgCursor]:
        """A cursor on one snapshot of the store (a repeatable-read transaction)."""
        import psycopg

        with self._transaction() as raw:
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield sqlstore.PgCursor(psycopg.ClientCursor(self._db))

    def query(self, sql: str, params: tuple = ()) -> list:
        """The rows of one read, its SQL as the embedded store's ``query`` takes it
        (``host.sqlstore``). A table this store lacks (a layer never set up here) is
        ``sqlite3.OperationalError``, as there, so the callers written for that (an export
        asking whether retention deleted media) read both stores alike."""
        import sqlite3

        import psycopg

        try:
            with self.read() as cur:
                return list(cur.execute(sql, params).fetchall())
        except psycopg.errors.UndefinedTable as exc:
            raise sqlite3.OperationalError(_first_line(exc)) from None

    def add_tables(self, schema: str) -> None:
        """Make a layer's tables, written for SQLite, in PostgreSQL's types
        (``host.sqlstore.pg_schema``); one host at a time."""
        with self._transaction() as raw:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            raw.execute(sqlstore.pg_schema(schema))

    def close(self) -> None:
        """Close the connection. The uploads under way or queued are left to their threads
        from the moment the close starts: none could be recorded any more (``make_durable``
        refuses once the store is closing), so an object they store is named by nothing and
        its media stay noted as missing: the next dock brings them again. A statement another
        thread has under way is awaited ``CLOSE_WAIT_S``, then cancelled (its transaction
        rolled back: nothing half-written), so that a step waiting on a lock another host
        holds, or on a database that does not answer, cannot keep a server's end waiting
        for ever; no statement starts after this. The docks' lock passes get the same
        bounded wait on their own connection; a pass cut off leaves its objects in
        ``lock_new`` for the upkeep. An upload or a pass left waiting on the object store
        never holds the process's end (``host.daemonpool``)."""
        # First, so that a session committing now queues no pass on a pool shut down
        # (its objects are noted in lock_new already) and no statement starts.
        self._closing = True
        if self._pool is not None:
            self._pool.shutdown()  # none is waited for: see above
        self._end_passes()
        held = self._lock.acquire(timeout=CLOSE_WAIT_S)
        for _ in range(CLOSE_CANCELS):
            if held:
                break
            with contextlib.suppress(Exception):
                self._db.cancel_safe(timeout=CLOSE_WAIT_S)
            held = self._lock.acquire(timeout=CLOSE_WAIT_S)
        try:
            for ident in list(self._claims):
                self._release(ident)
            self._db.close()
        finally:
            if held:
                self._lock.release()

    # --- one session per device at a time ---

    def _end_passes(self) -> None:
        """The docks' lock passes under way or queued are let run ``CLOSE_WAIT_S``; then
        those not started are dropped and the one running is cancelled on its connection
        (a pass waiting for the write lock another host holds, or on a database that does
        not answer), as the main connection's statement is. A pass waiting on the object
        store (no statement under way) is not waited for again: no request to it can be
        cut off, and its thread does not hold the process's end; its connection is closed,
        so nothing it would record after this starts."""
        from concurrent.futures import wait

        with self._pass_lock:  # not the connection's lock, which a stuck statement may hold
            passes = self._passes
            if passes is None:
                return
            passes.shutdown()  # no pass is queued after this; those queued still run
            last = self._last_pass  # read after: a pass queued meanwhile is the one awaited
        done = last is None or bool(wait([last], timeout=CLOSE_WAIT_S).done)
        if not done:
            passes.shutdown(cancel_futures=True)
        passer = self._passer
        for _ in range(CLOSE_CANCELS):
            if done or passer is None or not _busy(passer._db):
                break
            with contextlib.suppress(Exception):
                passer._db.cancel_safe(timeout=CLOSE_WAIT_S)
            done = bool(wait([last], timeout=CLOSE_WAIT_S).done)
        if passer is not None:
            passer._stop()

    def _stop(self) -> None:
        """No statement starts on this store and no connection is made again; its
        connection is closed under whoever holds it (a statement under way then fails)."""
        self._closing = True
        with contextlib.suppress(Exception):
            self._db.close()

    def _claim(self, device_id: str) -> None:
        """This thread's session holds the device (an advisory lock on a connection of its
        own, until ``record_session``); EvidenceError when another session holds it."""
        me = threading.get_ident()
        with self._lock:
            held = self._claims.get(me)
            if held is not None and held[0] == device_id:
                return
            alive = {t.ident for t in threading.enumerate()}
            for ident in [i for i in self._claims if i == me or i not in alive]:
                self._release(ident)  # a thread that ended without recording its session
        conn = connect(self.url)
        got = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (CLAIM_SPACE, _claim_key(device_id))
        ).fetchone()[0]
        if not got:
            conn.close()
            raise EvidenceError(i18n.text("pg.busy", device=device_id))
        with self._lock:
            self._claims[me] = (device_id, conn)

    def _release(self, ident: int) -> None:
        held = self._claims.pop(ident, None)
        if held is not None:
            with contextlib.suppress(Exception):
                held[1].close()  # its session's end lets the lock go

    # --- the device register ---

    def enrol(self, device_id: str, public_key: bytes) -> None:
        if len(public_key) != 32:
            raise EvidenceError("an Ed25519 public key is 32 bytes, not %d" % len(public_key))
        problem = id_problem(device_id)
        if problem:
            raise EvidenceError(problem)
        with self._transaction() as cur:
            cur.execute("LOCK TABLE devices IN SHARE ROW EXCLUSIVE MODE")
            row = cur.execute(
                "SELECT public_key FROM devices WHERE device_id = %s", (device_id,)
            ).fetchone()
            if row is not None:
                if bytes(row[0]) != public_key:
                    raise EvidenceError(
                        "device %s is enrolled with another key; a re-keyed device must be "
                        "registered as a key change, not overwritten" % device_id
                    )
                return
            cur.execute(
                "INSERT INTO devices VALUES (%s, %s, %s)", (device_id, public_key, _now_ms())
            )
            self.log.append(cur, [(hostlog.DEVICE, hostlog.device_leaf(device_id, public_key))])

    def device_key(self, device_id: str) -> bytes | None:
        rows = self._rows("SELECT public_key FROM devices WHERE device_id = %s", (device_id,))
        return bytes(rows[0][0]) if rows else None

    def devices(self) -> list:
        return [r[0] for r in self._rows("SELECT device_id FROM devices ORDER BY device_id")]

    # --- ledgers ---

    def head(self, device_id: str) -> tuple:
        with self._transaction() as cur:
            return self._head(cur, device_id)

    def _head(self, cur: Any, device_id: str) -> tuple:
        row = cur.execute(
            "SELECT seq, hash FROM entries WHERE device_id = %s ORDER BY seq DESC LIMIT 1",
            (device_id,),
        ).fetchone()
        if row is None:
            return 0, ZERO_HASH
        return row[0] + 1, bytes(row[1])

    def add_entries(self, device_id: str, entries: list, received_ms: int) -> int:
        """As the embedded store's (all or nothing, a resent window skipped, a fork
        refused whole), once this session holds the device's claim."""
        parsed = parse_batch(device_id, entries)
        self._claim(device_id)
        with self._transaction() as cur:
            known = cur.execute(
                "SELECT 1 FROM devices WHERE device_id = %s FOR UPDATE", (device_id,)
            ).fetchone()
            if known is None:
                raise EvidenceError(
                    "device %s is not enrolled: enrol its public key before storing its "
                    "ledger" % device_id
                )
            same = self._same_as_stored(cur, device_id)
            new, next_seq = order_batch(device_id, parsed, self._head(cur, device_id), same)
            rows = [
                (device_id, e.seq, e.digest, bytes(e.raw), e.kind, e.fields[F_WALL_MS],
                 received_ms)
                for e in new
            ]  # fmt: skip
            due = media_notes(device_id, new, lambda digest: self._held(cur, digest))
            cur.executemany("INSERT INTO entries VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
            cur.executemany(
                "INSERT INTO missing_media VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", due
            )
            self.log.append(
                cur, [(hostlog.ENTRY, hostlog.entry_leaf(r[0], r[1], r[2])) for r in rows]
            )
        return next_seq

    @staticmethod
    def _same_as_stored(cur: Any, device_id: str) -> SameAsStored:
        def same(seq: int, digest: bytes) -> bool:
            row = cur.execute(
                "SELECT hash FROM entries WHERE device_id = %s AND seq = %s", (device_id, seq)
            ).fetchone()
            return row is None or bytes(row[0]) == digest

        return same

    def entries(self, device_id: str, from_seq: int = 0, to_seq: int | None = None) -> list:
        upto = (1 << 63) - 1 if to_seq is None else to_seq
        rows = self._rows(
            "SELECT raw FROM entries WHERE device_id = %s AND seq >= %s AND seq <= %s ORDER BY seq",
            (device_id, from_seq, upto),
        )
        return [bytes(r[0]) for r in rows]

    def received_ms(self, device_id: str, seq: int) -> int | None:
        rows = self._rows(
            "SELECT received_ms FROM entries WHERE device_id = %s AND seq = %s", (device_id, seq)
        )
        return rows[0][0] if rows else None

    def missing_media(self, device_id: str) -> list:
        rows = self._rows(
            "SELECT m.digest, m.size, d.digest IS NOT NULL AND l.removed_ms IS NULL, e.wall_ms "
            "FROM missing_media m LEFT JOIN media d ON d.digest = m.digest "
            "LEFT JOIN media_locks l ON l.digest = m.digest "
            "LEFT JOIN entries e ON e.device_id = m.device_id AND e.seq = m.seq "
            "WHERE m.device_id = %s ORDER BY m.seq",
            (device_id,),
        )
        have = {bytes(d) for d, _size, held, _ms in rows if held}
        due, held = sort_notes([(d, size) for d, size, _h, _ms in rows], lambda d: d in have)
        if held:  # recorded by a session of another device that names the same media
            with self._transaction() as cur:
                cur.execute("DELETE FROM missing_media WHERE digest = ANY(%s)", (held,))
        with self._lock:
            if len(self._recorded) > 4 * UPLOADS + len(rows):
                self._recorded.clear()  # notes of sessions that ended without their media
            self._recorded.update((bytes(d), ms) for d, _s, _h, ms in rows if ms is not None)
        return due

    # --- sessions ---

    def record_session(self, summary: dict, ended_ms: int) -> None:
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
        try:
            with self._transaction() as cur:
                cur.execute(
                    "INSERT INTO sessions (device_id, ended_ms, link, result, entries, media, "
                    "bytes_in, drift_ms, device_head) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s)",
                    row,
                )
                self.log.append(cur, [(hostlog.SESSION, hostlog.session_leaf(row))])
        finally:
            with self._lock:
                self._release(threading.get_ident())  # the session is over: so is its claim

    def sessions(self, device_id: str) -> list:
        rows = self._rows(
            "SELECT ended_ms, link, result, entries, media, bytes_in, drift_ms, device_head "
            "FROM sessions WHERE device_id = %s ORDER BY ended_ms, id",
            (device_id,),
        )
        keys = (
            "ended_ms", "link", "result", "entries", "media", "bytes_in", "drift_ms",
            "device_head",
        )  # fmt: skip
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # --- media ---

    def _held(self, cur: Any, digest: bytes) -> bool:
        row = cur.execute("SELECT 1 FROM media WHERE digest = %s", (digest,)).fetchone()
        return row is not None

    def has_media(self, digest: bytes) -> bool:
        """Whether the object of ``digest`` is recorded and not removed by retention."""
        return bool(
            self._rows(
                "SELECT 1 FROM media d WHERE d.digest = %%s AND NOT EXISTS (SELECT 1 FROM %s l "
                "WHERE l.digest = d.digest AND l.removed_ms IS NOT NULL)" % self._removed,
                (bytes(digest),),
            )
        )

    def put_media(self, digest: bytes, data: bytes, defer: bool = False) -> object:
        """Store the object (its checksums confirmed by the store); unless ``defer``,
        record it at once. Deferred, the upload runs beside the session (the next media
        streams in meanwhile; at most ``UPLOADS`` wait or run, so a fast device cannot
        fill memory) and ``make_durable`` waits for it before it records it."""
        if hashlib.sha256(data).digest() != bytes(digest):
            raise EvidenceError("media does not match its SHA-256 %s: not stored" % digest.hex())
        if not defer:
            self.make_durable([self._upload(bytes(digest), data, self._md5(data))])
            return None
        return self._upload(bytes(digest), data, self._md5(data))

    def begin_media(self, digest: bytes) -> MediaWriter:
        return PgMediaWriter(self, digest)

    def _upload(self, digest: bytes, data: bytes, md5: bytes | None = None) -> "Upload":
        until_ms = self._first_lock(digest)
        until = datetime.datetime.fromtimestamp(until_ms / 1000, datetime.UTC)
        self._room.acquire()  # back-pressure: the session waits while the uploads catch up
        try:
            future = self._uploader().submit(self.media.put, digest, data, md5, until)
        except NoThread as exc:
            self._room.release()
            raise EvidenceError(i18n.text("pg.no_thread", why=str(exc))) from None
        except BaseException:
            self._room.release()
            raise
        # Its place is given back when it ends, however: stored, failed or cancelled.
        future.add_done_callback(lambda _done: self._room.release())
        return Upload(digest, len(data), future, until_ms)

    def _first_lock(self, digest: bytes) -> int:
        """The retain-until (ms) a new object is stored with (``objectlock.new_object_until``):
        from when its chunk was recorded, as the session's ``missing_media`` read it, or
        from now for media no note names."""
        from host import medialocks, objectlock

        with self._lock:
            recorded = self._recorded.pop(bytes(digest), None)
            if self._lock_policy is None:
                self._lock_policy = medialocks.policy_of(self)
        return objectlock.new_object_until(recorded or _now_ms(), self._lock_policy)

    @staticmethod
    def _md5(data: bytes) -> bytes:
        return hashlib.md5(data).digest()  # the object store's transfer check

    def _uploader(self) -> DaemonPool:
        with self._lock:
            if self._pool is None:
                self._pool = DaemonPool("s3-upload", UPLOADERS)
            return self._pool

    def make_durable(self, staged: list) -> None:
        """Wait for the session's uploads (each confirmed by the store), then record them:
        their rows, their notes cleared and their leaves, in one commit; the receipt waits
        for it. EvidenceError, with nothing recorded, when an upload failed."""
        uploads = [h for h in staged if h is not None]
        if not uploads:
            return
        done = []
        failed = None
        for upload in uploads:
            try:
                done.append((upload.digest, upload.future.result(), upload.size, upload.until_ms))
            except MediaRefused as exc:
                failed = failed or str(exc)
        if failed is not None:
            raise EvidenceError(failed)
        _fault("media-stored")
        now = _now_ms()
        with self._transaction() as cur:
            cur.executemany(
                "INSERT INTO media VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(d, v, n, now) for d, v, n, _u in done],
            )
            # The lock the recorded version was stored with; a version already recorded
            # (another host's, stored at once) keeps the row it has.
            cur.executemany(
                "INSERT INTO media_locks VALUES (%s, %s, false, NULL) ON CONFLICT DO NOTHING",
                [(d, u) for d, _v, _n, u in done],
            )
            # Media retention removed that a newer chunk names again: stored anew.
            cur.executemany(
                "UPDATE media SET version = %s, size = %s, stored_ms = %s WHERE digest = %s AND "
                "digest IN (SELECT digest FROM media_locks WHERE removed_ms IS NOT NULL)",
                [(v, n, now, d) for d, v, n, _u in done],
            )
            cur.executemany(
                "UPDATE media_locks SET until_ms = %s, held = false, removed_ms = NULL "
                "WHERE digest = %s AND removed_ms IS NOT NULL",
                [(u, d) for d, _v, _n, u in done],
            )
            digests = [d for d, _v, _n, _u in done]
            cur.execute("DELETE FROM missing_media WHERE digest = ANY(%s)", (digests,))
            # Their lock pass is owed (``lock_new``): noted in this commit, so a host that
            # dies before the pass leaves it for the upkeep.
            cur.executemany(
                "INSERT INTO lock_new VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [(d, now) for d in digests],
            )
            self.log.append_media(cur, digests)
        self._lock_later(digests, now)

    def _lock_later(self, digests: list, now_ms: int) -> None:
        """The new objects' lock pass, queued to run after this returns: the receipt, which
        waits for ``make_durable``, never waits for the management tables' write lock or
        the object store's lock requests. One pass at a time, in the order of the docks."""
        with self._pass_lock:
            if self._closing:
                return  # the objects are noted in lock_new: the upkeep sets their locks
            if self._passes is None:
                self._passes = DaemonPool("lock-pass")
            try:
                self._last_pass = self._passes.submit(self._lock_new, digests, now_ms)
            except RuntimeError:  # shut down by a close meanwhile: lock_new keeps them
                pass
            except NoThread:  # the system refused the pass a thread: lock_new keeps them
                pass  # for the upkeep, as for a host stopped before its pass

    def wait_for_locks(self) -> None:
        """Return once the lock passes of every dock recorded so far have run (a reader of
        the locks right after a dock; ``close`` waits for them too, within its bound, and
        after it this returns at once)."""
        with self._pass_lock:
            passes = None if self._closing else self._passes
        if passes is None:
            return
        try:
            marker = passes.submit(lambda: None)  # one thread: the passes before it are done
        except (RuntimeError, NoThread):  # closed meanwhile, or no pass could ever run
            return
        marker.result()

    def _lock_new(self, digests: list, now_ms: int) -> None:
        """New objects of a recording whose retention is longer than their first lock get
        it now (``host.medialocks.after_dock``), after the receipt. An object store that
        refuses, or a pass that never ran (the host stopped first), leaves the objects in
        ``lock_new``: the upkeep plans them (``medialocks.keep_up``)."""
        from host import medialocks

        _stall("lock-pass")
        if self._closing:  # the close began before this pass: no connection is made for it
            return  # its objects are noted in lock_new: the upkeep sets their locks
        try:
            if self._passer is None:
                self._passer = self._apart()
                if self._closing:  # the close began meanwhile, perhaps before it was made
                    self._passer._stop()
            applied = medialocks.after_dock(self._passer, digests, now_ms)
        except Exception as exc:  # the session's evidence is stored and recorded already
            if self._closing:
                return  # cut off by the close, not refused: left in lock_new as above
            self.lock_problems.append(("", str(exc).splitlines()[0] if str(exc) else repr(exc)))
            return
        for digest, why in applied.failed if applied is not None else ():
            # Left in lock_new: the upkeep plans them again.
            self.lock_problems.append((digest, why))
            print(i18n.text("lock.failed", digest=digest, why=why), file=sys.stderr)

    def _apart(self) -> "PgEvidenceStore":
        """This store on a database connection of its own (the same bucket, S3 client and
        ``lock_problems``), for the docks' lock passes: a pass that waits for the management
        tables' write lock (another host's desk holds it) then holds no connection a
        session, or a reader of this store, needs."""
        twin = copy.copy(self)
        twin._db = connect(self.url)
        twin._lock = threading.RLock()
        twin._pass_lock = threading.Lock()
        twin._claims = {}
        twin._pool = twin._passes = twin._passer = twin._source = twin._last_pass = None
        return twin

    def new_objects(self) -> "list[bytes]":
        """The objects whose dock's lock pass has not run, or did not finish (``lock_new``)."""
        return [bytes(r[0]) for r in self._rows("SELECT digest FROM lock_new")]

    def clear_new(self, digests: "list[bytes]") -> None:
        """The dock's lock pass of ``digests`` is done: their notes in ``lock_new`` go."""
        if not digests:
            return
        with self._transaction() as cur:
            cur.execute(
                "DELETE FROM lock_new WHERE digest = ANY(%s)", ([bytes(d) for d in digests],)
            )

    def after_act(self, action: str, now_ms: int) -> None:
        """After a desk action is committed (``host.access``): one that may have grown an
        item's retention or changed a hold brings the objects' locks to it."""
        from host import medialocks

        if action in medialocks.RETENTION_ACTIONS:
            applied = medialocks.after_change(self, now_ms)
            for digest, why in applied.failed:  # planned again at the next change
                self.lock_problems.append((digest, why))
                print(i18n.text("lock.failed", digest=digest, why=why), file=sys.stderr)

    def discard_staged(self, staged: list) -> None:
        """The session failed before recording its media: its uploads are let finish (an
        object stored stays in the bucket, locked, named by nothing; the next dock that
        brings the media stores and records it)."""
        for upload in staged:
            if upload is not None:
                upload.future.cancel()

    def locks(self, digests: "list | None" = None) -> dict:
        """``digest -> (version, objectlock.Lock or None)`` of the recorded objects not
        removed (all, or those of ``digests``): the lock as this host set it, None where it
        has no note of it (an object recorded before locks were noted)."""
        from host.objectlock import Lock

        sql = (
            "SELECT d.digest, d.version, l.until_ms, l.held FROM media d "
            "LEFT JOIN media_locks l ON l.digest = d.digest WHERE l.removed_ms IS NULL"
        )
        params: tuple = ()
        if digests is not None:
            sql += " AND d.digest = ANY(%s)"
            params = ([bytes(x) for x in digests],)
        return {
            bytes(d): (v, None if until is None else Lock(until, bool(held)))
            for d, v, until, held in self._rows(sql, params)
        }

    def note_locks(self, changed: dict, exact: bool = False) -> None:
        """Keep ``digest -> objectlock.Lock`` as the objects' locks now stand. A date only
        grows (two hosts noting at once keep the later: the object store never shortens a
        lock either), unless ``exact``: what the object store itself answered (a full
        check), which the note then says whatever it said before."""
        rows = [(bytes(d), lk.until_ms, lk.held) for d, lk in changed.items()]
        if not rows:
            return
        until = (
            "excluded.until_ms" if exact else "GREATEST(media_locks.until_ms, excluded.until_ms)"
        )
        with self._transaction() as cur:
            cur.executemany(
                "INSERT INTO media_locks VALUES (%%s, %%s, %%s, NULL) ON CONFLICT (digest) "
                "DO UPDATE SET until_ms = %s, held = excluded.held" % until,
                rows,
            )

    def try_upkeep(self) -> bool:
        """Whether this store's connection now holds the upkeep's lock (``UPKEEP_LOCK``):
        False while another host's daemon runs it. Held until the store is closed."""
        return bool(self._rows("SELECT pg_try_advisory_lock(%s)", (UPKEEP_LOCK,))[0][0])

    def pending_locks(self) -> "list[tuple[str, int]]":
        """``(item_id, mark)`` of the recordings whose objects' locks wait for a change to
        their retention (``lock_pending``)."""
        return [(r[0], int(r[1])) for r in self._rows("SELECT item_id, mark FROM lock_pending")]

    def clear_pending(self, done: "list[tuple[str, int]]") -> None:
        """The recordings ``done`` (``(item_id, mark)``, as ``pending_locks`` read them)
        have their locks: cleared, unless marked again since."""
        if not done:
            return
        with self._transaction() as cur:
            cur.execute(
                "DELETE FROM lock_pending p USING unnest(%s::text[], %s::bigint[]) AS d(i, m) "
                "WHERE p.item_id = d.i AND p.mark = d.m",
                ([i for i, _m in done], [m for _i, m in done]),
            )

    def locked_media(self, digests: list, now_ms: "int | None" = None) -> list:
        """``(digest, objectlock.Lock)`` of each of ``digests`` whose object the store's
        lock still keeps at ``now_ms`` (by default now: the object store judges a lock by
        its own clock, whatever a desk's says): retention must not delete its item's media
        yet. Read from the store's own answer for objects this host has no note of."""
        from host import medialocks

        now_ms = _now_ms() if now_ms is None else now_ms
        out = []
        for digest, (version, lock) in self.locks(digests).items():
            have = lock or medialocks.lock_in_store(self.media, digest, version)
            if not medialocks.objectlock.removable(have, now_ms):
                out.append((digest, have))
        return out

    def remove_media(self, digests: list) -> int:
        """Delete the objects of ``digests`` (every version) for good; returns how many
        objects went. Only retention's deletion calls this, after the audit record naming
        the digests is committed (``host.retention``). A version the object store's lock
        still keeps is refused by the store: it stays, the object is not counted, and the
        next run (which finds it still held: ``has_media``) tries again."""
        removed = 0
        gone = []
        for digest in dict.fromkeys(bytes(d) for d in digests):
            try:
                _done, refused = self.media.remove(digest)
            except Exception as exc:  # the store down: the next run tries again
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise EvidenceError(
                    i18n.text("s3.remove_failed", digest=digest.hex(), why=why)
                ) from None
            if refused:
                self.refused_removals.append(digest)
            else:
                removed += 1
                gone.append(digest)
        if gone:
            now = _now_ms()
            with self._transaction() as cur:
                cur.executemany(
                    "INSERT INTO media_locks VALUES (%s, 0, false, %s) ON CONFLICT (digest) "
                    "DO UPDATE SET removed_ms = excluded.removed_ms",
                    [(d, now) for d in gone],
                )
        return removed

    def version_of(self, digest: bytes) -> str | None:
        rows = self._rows("SELECT version FROM media WHERE digest = %s", (bytes(digest),))
        return rows[0][0] if rows else None

    def media_source(self) -> ObjectMedia:
        """The media as readers of footage read it (``host.mediasource``): each object at
        the version recorded here, a range at a time."""
        with self._lock:
            if self._source is None:
                self._source = ObjectMedia(self.media.s3, self.media.bucket, self.version_of)
            return self._source

    def read_media(self, digest: bytes) -> bytes:
        version = self.version_of(digest)
        if version is None:
            raise EvidenceError("no media %s in the evidence store" % digest.hex())
        try:
            return self.media.read(digest, version)
        except MediaRefused as exc:
            raise EvidenceError(str(exc)) from None

    # --- media a device could not give ---

    def record_gone(
        self, device_id: str, digest: bytes, reason: int, text: str, reported_ms: int
    ) -> None:
        if len(digest) != 32:
            raise EvidenceError("a media digest is 32 bytes, not %d" % len(digest))
        row = (device_id, bytes(digest), int(reason), str(text))
        with self._transaction() as cur:
            cur.execute("SELECT 1 FROM devices WHERE device_id = %s FOR UPDATE", (device_id,))
            held = cur.execute(
                "SELECT 1 FROM gone_media WHERE device_id = %s AND digest = %s AND reason = %s "
                "AND text = %s",
                row,
            ).fetchone()
            if held is None:
                cur.execute(
                    "INSERT INTO gone_media (device_id, digest, reason, text, reported_ms) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (*row, int(reported_ms)),
                )
                leaf = hostlog.gone_leaf(*row, int(reported_ms))
                self.log.append(cur, [(hostlog.GONE, leaf)])

    def gone_media(self, device_id: str) -> list:
        rows = self._rows(
            "SELECT digest, reason, text, reported_ms FROM gone_media WHERE device_id = %s "
            "ORDER BY reported_ms, id",
            (device_id,),
        )
        return [
            {"digest": bytes(d), "reason": reason, "text": text, "reported_ms": ms}
            for d, reason, text, ms in rows
        ]

    # --- the host's log ---

    def checkpoint(self, signer: tlog.NoteSigner, kid: str) -> tlog.Checkpoint:
        with self._transaction() as cur:
            size, frontier = cur.execute(
                "SELECT size, frontier FROM log_head FOR UPDATE"
            ).fetchone()
            newest = cur.execute(
                "SELECT size, root FROM checkpoints ORDER BY size DESC, id DESC LIMIT 1"
            ).fetchone()
            origin = hostlog.origin_of(self.log.store_id(cur))
            if newest is not None and newest[0] == size:
                return tlog.Checkpoint(origin, size, bytes(newest[1]))
            root = tlog.CompactTree(size, hostlog._frontier_of(frontier)).root()
            cp = tlog.Checkpoint(origin, size, root)
            note = tlog.sign_checkpoint(cp, kid, signer)
            text = note.decode() if isinstance(note, bytes) else note
            now = _now_ms()
            cur.execute(
                "INSERT INTO checkpoints (size, root, kid, signed_ms, note) "
                "VALUES (%s, %s, %s, %s, %s)",
                (size, root, kid, now, text),
            )
            cur.execute(
                "INSERT INTO host_keys VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (kid, signer.public_key(), now),
            )
        return cp

    def log_head(self) -> tlog.Checkpoint:
        with self._transaction() as cur:
            return self.log.head(cur)
