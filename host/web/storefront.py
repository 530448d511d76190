"""The evidence store as the page's many requests use it at once: reads on connections of
their own, writes gathered into group commits.

Every page a person opens is a write: its ``view`` record on the audit trail (a leaf of the
host's log, ``host.audit``), committed with a full sync before the page is sent. One
transaction and one sync per page make twenty reviewers queue on the disk; and the
store's one connection, which reads take too, makes them queue for reading as well. So:

- ``read()`` runs on a SQLite connection of the calling thread's own (WAL: readers go on
  while a writer commits), made read-only (``query_only``), so that a page's reads never
  wait for another page's sync;
- ``write()`` joins the transaction under way, if there is one: each caller's block runs in
  it alone (one at a time, in a savepoint of its own, so a block that fails undoes only
  what it did), and the transaction is committed once nobody else is waiting to join it;
  those who arrive meanwhile form the next one. ``write()`` returns only once the COMMIT
  that holds its block is on disk (``synchronous=FULL``), or raises ``NotDurable`` if it is
  not (the commit failed, or SQLite refused the block's writes): a page is never sent before
  its record is durable (the application answers 503 instead, ``host.web.app``), and a
  crash after it was sent cannot lose it. The group costs one sync however many records it
  holds; the records stay in the order their blocks ran, each chained to the one before and
  a leaf of the log.

Everything else (the log, checkpoints, media) is the store's own (``__getattr__``). Only an
SQLite store has a file to open more connections on; on any other, ``read()`` is the store's.
Only an SQLite store's transaction may be joined and committed by another thread than the one
that opened it; the PostgreSQL store's belongs to its opener (its one connection is guarded by
a re-entrant lock, which only the thread holding it may release), so there each ``write()`` is
a transaction of its own, on the caller's thread, one at a time: a commit made by a joiner
would leave that lock with a thread that no longer uses it, and every later read, and the
store's close at the server's end, would wait for it for ever.
"""

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.evidence import EvidenceError

if TYPE_CHECKING:
    from host import hostlog
    from host.access import Store
    from host.sqlstore import Cursor


class NotDurable(sqlite3.OperationalError):
    """A write the store did not make durable (a full disk, a database locked or read-only,
    a commit refused): none of the block is on disk, and nothing that needed it may be sent.
    An ``sqlite3.Error`` still, for callers that let such a write go (a view not kept)."""


BUSY_MS = 30_000  # a reader waits this long for a checkpoint of the WAL, at most
MOST_BLOCKS = 64  # blocks in one group at most
MOST_OPEN_S = 0.05  # a group takes no one else in once it has been open this long


class Front:
    """``store`` with per-thread readers and group commits (see the module's docstring)."""

    def __init__(
        self, store: "Store", most_blocks: int = MOST_BLOCKS, most_open_s: float = MOST_OPEN_S
    ) -> None:
        self.store = store
        self.most_blocks = most_blocks
        self.most_open_s = most_open_s
        self.log = store.log
        root = getattr(store, "root", None)
        db = Path(str(root)) / "evidence.db" if root is not None else None
        self._db = db if db is not None and db.exists() else None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # The group commit: ``_turn`` lets one block at a time into the open transaction;
        # ``_state`` guards the counters and wakes those waiting for their commit.
        self._turn = threading.Lock()
        self._state = threading.Condition()
        self._queued = 0  # callers waiting for their turn: the open group waits for them
        self._open: tuple[contextlib.AbstractContextManager[Cursor], Cursor] | None = None
        self._group = 0  # the number of the group now open (or next to open)
        self._failed: dict[int, BaseException] = {}  # groups whose commit failed, recent
        self._committed = -1  # the newest group committed (or failed)
        self._opened = 0.0  # when the open group began (monotonic s)
        self._held = 0  # blocks the open group holds
        self.groups = 0  # commits made, and blocks they held: for the benchmark's figures
        self.blocks = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    # --- reads ---

    @contextlib.contextmanager
    def read(self) -> "Iterator[Cursor]":
        """A cursor on one snapshot, on this thread's own connection."""
        if self._db is None:
            with self.store.read() as cur:
                yield cur
            return
        db = self._reader()
        cur = db.cursor()
        cur.execute("BEGIN")
        try:
            yield cur
        finally:
            if db.in_transaction:
                cur.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(str(self._db), check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout = %d" % BUSY_MS)
            db.execute("PRAGMA query_only = ON")  # a read that would write is refused
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def close(self) -> None:
        """Close the readers (the store itself is its opener's to close)."""
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()

    # --- writes ---

    @contextlib.contextmanager
    def write(self) -> "Iterator[Cursor]":
        """The block in the open group's transaction; on return its commit is durable.
        NotDurable when it is not (the transaction could not begin, SQLite refused the
        block's writes, or the group's commit failed; on another store, its transaction
        failed, as the PostgreSQL store's does when its connection is lost): nothing of the
        block is on disk."""
        try:
            with self._grouped() as cur:
                yield cur
        except NotDurable:
            raise
        except sqlite3.Error as exc:
            raise NotDurable(str(exc)) from exc

    @contextlib.contextmanager
    def _grouped(self) -> "Iterator[Cursor]":
        with self._state:
            self._queued += 1
        try:
            self._turn.acquire()
        finally:
            with self._state:
                self._queued -= 1
        if self._db is None:  # not SQLite: the store's own transaction, on this thread
            blocks: list[BaseException] = []  # what the block itself raised, if anything
            try:
                with self.store.write() as cur:
                    try:
                        yield cur
                    except BaseException as exc:
                        blocks.append(exc)
                        raise
            except EvidenceError as exc:
                # The store's transaction failed to begin or to commit, or its connection
                # went under the block (the PostgreSQL store says so as EvidenceError): not
                # durable. The block's own EvidenceError is its caller's, as it was raised.
                if blocks and exc is blocks[0]:
                    raise
                raise NotDurable(str(exc)) from exc
            finally:
                self.blocks += 1
                self.groups += 1
                self._turn.release()
            return
        try:
            if self._open is None:
                opening = self.store.write()
                self._open = (opening, opening.__enter__())  # BEGIN IMMEDIATE
                self._opened = time.monotonic()
                self._held = 0
            cur = self._open[1]
            group = self._group
            cur.execute("SAVEPOINT grouped")
            try:
                yield cur
            except BaseException:
                self._undo(cur)
                raise
            else:
                cur.execute("RELEASE grouped")
            finally:
                self.blocks += 1
                self._held += 1
                self._commit_unless_joined()
        finally:
            self._turn.release()
        self._wait(group)

    def _undo(self, cur: "Cursor") -> None:
        """Undo one failed block; if SQLite ended the whole transaction (a full disk does),
        the group is lost: its commit fails for everyone in it."""
        if _in_transaction(cur):
            cur.execute("ROLLBACK TO grouped")
            cur.execute("RELEASE grouped")

    def _commit_unless_joined(self) -> None:
        """Commit the open group now unless someone is waiting to join it (the last to join
        commits), or it holds ``most_blocks`` blocks, or it has been open ``most_open_s``: what a
        block waits for its commit is bounded however many keep coming. Runs in the
        caller's turn (the connection is the group's until its COMMIT is done)."""
        with self._state:
            joining = self._queued
        young = time.monotonic() - self._opened < self.most_open_s
        if joining and self._held < self.most_blocks and young:
            return
        assert self._open is not None
        opening, cur = self._open
        self._open = None
        group = self._group
        self._group += 1
        failed: BaseException | None = None
        try:
            if _in_transaction(cur):
                opening.__exit__(None, None, None)  # COMMIT, synced
            else:
                raise sqlite3.OperationalError("the transaction was rolled back by SQLite")
        except BaseException as exc:
            failed = exc
            with contextlib.suppress(BaseException):
                opening.__exit__(type(exc), exc, exc.__traceback__)  # the store's lock back
        self.groups += 1
        with self._state:
            if failed is not None:
                self._failed[group] = failed
                for old in [g for g in self._failed if g < group - 1000]:
                    del self._failed[old]
            self._committed = group
            self._state.notify_all()

    def _wait(self, group: int) -> None:
        with self._state:
            while self._committed < group:
                self._state.wait()
            failed = self._failed.get(group)
        if failed is not None:
            raise NotDurable("the commit failed: %s" % failed) from failed

    # --- what else a desk needs of a store ---

    def add_tables(self, schema: str) -> None:
        self.store.add_tables(schema)

    def checkpoint(self, signer: "hostlog.tlog.NoteSigner", kid: str) -> object:
        return self.store.checkpoint(signer, kid)


__all__ = ["Front", "NotDurable"]


def _in_transaction(cur: "Cursor") -> bool:
    """Whether the transaction ``cur`` writes in is still open: SQLite ends the whole of it
    on some failures (a full disk); a cursor of another engine keeps it open until told."""
    connection = getattr(cur, "connection", None)
    return bool(getattr(connection, "in_transaction", True))
