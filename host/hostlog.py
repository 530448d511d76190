"""The host's own log: what the evidence store holds, as one append-only Merkle tree.

Every row that is evidence becomes a leaf, in the order it was stored: each ledger entry a
device gave (``entry``: device, seq, entry hash), each media file made durable (``media``:
its SHA-256), each device enrolled (``device``: id and public key), each GONE a device
answered (``gone``), each sync session's record (``session``) and each record of the audit
trail (``audit``: a person's action on the evidence, ``host.audit``). A leaf's data is a small
deterministic CBOR array that names its kind first; its hash is RFC 6962's (``host.tlog``).
Leaves are appended inside the SQLite transaction that writes the rows they cover, so a
crash never leaves a row without its leaf or a leaf without its row; the tree's frontier is
kept beside them (``log_head``), so an append costs O(log n) whatever the log's size.

After every session the host signs a checkpoint of the whole log (C2SP signed note with a
tlog-checkpoint body; origin ``sealcam evidence STORE-ID``) with its host key, and keeps it
with the key it was signed with. ``sealcam verify`` recomputes the tree from the rows and
compares it with the newest checkpoint: a deleted row, a truncated log or a replaced
database shows. A checkpoint someone else holds (``sealcam checkpoint export``) shows a
store rolled back or rewritten behind it, by a consistency proof.
"""

import os
import sqlite3
import time
from collections.abc import Sequence

from host import tlog
from protocol import cbor

ENTRY = "entry"
MEDIA = "media"
DEVICE = "device"
GONE = "gone"
SESSION = "session"
AUDIT = "audit"  # one record of the audit trail (host.audit): who did what to which item
KINDS = (ENTRY, MEDIA, DEVICE, GONE, SESSION, AUDIT)
ORIGIN_PREFIX = "sealcam evidence "

SCHEMA = """
-- What the store is: its id, made once when it is created (the checkpoints' origin).
CREATE TABLE IF NOT EXISTS store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- The host's own log: leaf ``idx`` (from 0, no gaps), its RFC 6962 leaf hash and its data.
CREATE TABLE IF NOT EXISTS log (
    idx  INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL
);
-- Media is logged once, however many chunks name it or sessions bring it.
CREATE UNIQUE INDEX IF NOT EXISTS log_media ON log (data) WHERE kind = 'media';
-- The tree's size and frontier (its perfect subtrees' roots, concatenated), one row.
CREATE TABLE IF NOT EXISTS log_head (
    one      INTEGER PRIMARY KEY CHECK (one = 0),
    size     INTEGER NOT NULL,
    frontier BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size      INTEGER NOT NULL,
    root      BLOB NOT NULL,
    kid       TEXT NOT NULL,
    signed_ms INTEGER NOT NULL,
    note      TEXT NOT NULL
);
-- Every host key a checkpoint was signed with, so verify needs no key to be given.
CREATE TABLE IF NOT EXISTS host_keys (
    kid        TEXT NOT NULL,
    public_key BLOB NOT NULL,
    first_ms   INTEGER NOT NULL,
    PRIMARY KEY (kid, public_key)
) WITHOUT ROWID;
"""

TABLES = ("store_meta", "log", "log_head", "checkpoints", "host_keys")


# --- leaf data: one deterministic CBOR array per row, its kind first ---


def _head(major: int, n: int) -> bytes:
    """A CBOR head in its shortest form, for a non-negative ``n`` below 2**64."""
    if n < 24:
        return bytes((major << 5 | n,))
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes((major << 5 | ai,)) + n.to_bytes(size, "big")
    raise ValueError("%d does not fit a CBOR head" % n)


_ENTRY_HEAD = cbor.dumps([ENTRY, "", 0, b""])[:7]  # array of 4, then the text "entry"


def entry_leaf(device_id: str, seq: int, entry_hash: bytes) -> bytes:
    """``cbor.dumps([ENTRY, device_id, seq, entry_hash])``, written directly: a leaf per
    stored entry is on the sync's hot path."""
    name = device_id.encode("utf-8")
    digest = bytes(entry_hash)
    if not 0 <= seq < 1 << 64:
        return cbor.dumps([ENTRY, device_id, seq, digest])
    return b"".join(
        (_ENTRY_HEAD, _head(3, len(name)), name, _head(0, seq), _head(2, len(digest)), digest)
    )


def media_leaf(digest: bytes) -> bytes:
    return cbor.dumps([MEDIA, bytes(digest)])


def device_leaf(device_id: str, public_key: bytes) -> bytes:
    return cbor.dumps([DEVICE, device_id, bytes(public_key)])


def gone_leaf(device_id: str, digest: bytes, reason: int, text: str, reported_ms: int) -> bytes:
    return cbor.dumps([GONE, device_id, bytes(digest), reason, text, reported_ms])


def session_leaf(row: tuple) -> bytes:
    """A ``sessions`` row as stored: device, ended_ms, link, result, entries, media,
    bytes_in, drift_ms, device_head."""
    return cbor.dumps([SESSION, *row])


def audit_leaf(row: tuple) -> bytes:
    """An ``audit`` row as stored: seq, at_ms, actor, action, item, outcome, details (CBOR),
    prev (the hash of the record before it, chaining the trail)."""
    return cbor.dumps([AUDIT, *row])


def parse_leaf(data: bytes) -> list:
    """The fields of a leaf's data, its kind first; ValueError when it is no leaf."""
    try:
        value = cbor.loads(bytes(data))
    except Exception as exc:  # the codec's own errors, whatever their kind
        raise ValueError("not a log leaf: %s" % exc) from None
    if type(value) is not list or not value or value[0] not in KINDS:
        raise ValueError("not a log leaf")
    return value


def origin_of(store_id: str) -> str:
    return ORIGIN_PREFIX + store_id


def _frontier_bytes(frontier: Sequence[bytes]) -> bytes:
    return b"".join(frontier)


def _frontier_of(blob: bytes) -> tuple:
    blob = bytes(blob)
    return tuple(blob[i : i + 32] for i in range(0, len(blob), 32))


class HostLog:
    """The log's writes, on the evidence store's connection; every call but ``checkpoint``
    runs inside a transaction the caller holds (BEGIN IMMEDIATE), with the rows it covers."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def create(self) -> None:
        """Make the log's tables, and the store's id once, when the store is created."""
        self.db.executescript(SCHEMA)
        self.db.execute(
            "INSERT OR IGNORE INTO store_meta VALUES ('store_id', ?)", (os.urandom(16).hex(),)
        )
        self.db.execute("INSERT OR IGNORE INTO log_head VALUES (0, 0, x'')")

    def store_id(self) -> str:
        row = self.db.execute("SELECT value FROM store_meta WHERE name = 'store_id'").fetchone()
        return row[0] if row else ""

    def append(self, cur: sqlite3.Cursor, leaves: list) -> None:
        """Append ``(kind, data)`` leaves, in order, and move the head along."""
        if not leaves:
            return
        size, frontier = cur.execute("SELECT size, frontier FROM log_head").fetchone()
        tree = tlog.CompactTree(size, _frontier_of(frontier))
        rows = []
        for kind, data in leaves:
            leaf = tlog.leaf_hash(data)
            rows.append((tree.size, leaf, kind, data))
            tree.append(leaf)
        cur.executemany("INSERT INTO log VALUES (?, ?, ?, ?)", rows)
        cur.execute(
            "UPDATE log_head SET size = ?, frontier = ?",
            (tree.size, _frontier_bytes(tree.frontier())),
        )

    def append_media(self, cur: sqlite3.Cursor, digests: list) -> None:
        """A leaf for each media digest not logged yet (once per digest, ever)."""
        new = []
        for digest in dict.fromkeys(bytes(d) for d in digests):
            data = media_leaf(digest)
            held = cur.execute("SELECT 1 FROM log WHERE kind = 'media' AND data = ?", (data,))
            if held.fetchone() is None:
                new.append((MEDIA, data))
        self.append(cur, new)

    def checkpoint(
        self, signer: tlog.NoteSigner, kid: str, now_ms: int | None = None
    ) -> tlog.Checkpoint:
        """Sign a checkpoint of the whole log with the host key (unless the newest one
        already covers every leaf); return it. Committed with a full sync
        before this returns: a receipt that names it goes out after it is on disk."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            size, frontier = cur.execute("SELECT size, frontier FROM log_head").fetchone()
            newest = cur.execute(
                "SELECT size, root FROM checkpoints ORDER BY size DESC, rowid DESC LIMIT 1"
            ).fetchone()
            origin = origin_of(self.store_id())
            if newest is not None and newest[0] == size:
                cur.execute("COMMIT")
                return tlog.Checkpoint(origin, size, bytes(newest[1]))
            root = tlog.CompactTree(size, _frontier_of(frontier)).root()
            cp = tlog.Checkpoint(origin, size, root)
            note = tlog.sign_checkpoint(cp, kid, signer)
            signed_ms = int(time.time() * 1000) if now_ms is None else now_ms
            text = note.decode() if isinstance(note, bytes) else note
            cur.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?)", (size, root, kid, signed_ms, text)
            )
            public = signer.public_key()
            cur.execute(
                "INSERT OR IGNORE INTO host_keys VALUES (?, ?, ?)", (kid, public, signed_ms)
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return cp

    def head(self) -> tlog.Checkpoint:
        """The log as it stands (origin, size, root), unsigned: what a receipt names (the
        receipt's own signature vouches for it), before the session's signed checkpoint,
        made after its record, extends it."""
        size, frontier = self.db.execute("SELECT size, frontier FROM log_head").fetchone()
        root = tlog.CompactTree(size, _frontier_of(frontier)).root()
        return tlog.Checkpoint(origin_of(self.store_id()), size, root)

    def newest_note(self) -> str | None:
        row = self.db.execute(
            "SELECT note FROM checkpoints ORDER BY size DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None
