"""Evidence items: the recordings the store holds, and what was made from them.

An item is what evidence staff handle: a recording (an original: its device's signed entries
from record-start to record-stop, never edited, R-HOST-5), or a derivative (an export, a
clip: a new file, linked to its original by the hash of what it holds). Cases, categories,
retention, restrictions and the audit trail all name items by their id:

- a recording: ``DEVICE/N``, N its recording number (the seq of its record-start entry, as
  every report and ``sealcam export --recording`` name it, ``host.recordings``);
- a derivative: ``DEVICE/N~HEX``, HEX the first 12 hex digits of the file's SHA-256.

The recordings are an index of the ledger, not a second truth: ``refresh`` reads the entries
stored since it last ran (per device, from the seq it reached) and folds each into the
recording it names, so the index costs one pass over new entries, whatever the store's size.
It runs before any command reads the index; the ledger stays the record.
"""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from host.errors import Unusable
from host.recordings import recording_number
from protocol.errors import ProtocolError
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_RECORD_STOP,
    F_END_MS,
    F_EVENT,
    F_KIND,
    F_OFFICER,
    F_PLAIN_LEN,
    F_RECORDING,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from host.sqlstore import Cursor

RECORDING = "recording"
DERIVATIVE = "derivative"

SCHEMA = """
-- Evidence items (host.items): recordings indexed from the ledger, and derivatives.
CREATE TABLE IF NOT EXISTS items (
    item_id     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    rec         INTEGER NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    started_ms  INTEGER NOT NULL,
    ended_ms    INTEGER NOT NULL,
    officer     TEXT,
    chunks      INTEGER NOT NULL DEFAULT 0,
    size        INTEGER NOT NULL DEFAULT 0,
    stopped     INTEGER NOT NULL DEFAULT 0,
    origin      TEXT,
    sha256      BLOB,
    note        TEXT
);
CREATE INDEX IF NOT EXISTS items_officer ON items (officer, started_ms);
CREATE INDEX IF NOT EXISTS items_started ON items (started_ms);
CREATE INDEX IF NOT EXISTS items_origin ON items (origin) WHERE origin IS NOT NULL;
-- How far the index has read each device's ledger.
CREATE TABLE IF NOT EXISTS items_read (
    device_id  TEXT PRIMARY KEY,
    next_seq   INTEGER NOT NULL
);
"""

COLUMNS = (
    "item_id, kind, device_id, rec, first_seq, last_seq, started_ms, ended_ms, officer, "
    "chunks, size, stopped, origin, sha256, note"
)

_DERIVED = re.compile(r"~[0-9a-f]{12}$")


class ItemError(Unusable):
    """No such item, or an id that names none; the message says what to give."""


@dataclass(frozen=True)
class Item:
    item_id: str
    kind: str
    device_id: str
    rec: int
    first_seq: int
    last_seq: int
    started_ms: int
    ended_ms: int
    officer: "str | None"
    chunks: int
    size: int
    stopped: bool
    origin: "str | None" = None
    sha256: "bytes | None" = None
    note: "str | None" = None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["sha256"] = self.sha256.hex() if self.sha256 else None
        return d


def recording_id(device_id: str, rec: int) -> str:
    return "%s/%d" % (device_id, rec)


def parse_id(item_id: str) -> "tuple[str, int]":
    """``(device, recording number)`` of an item id (a derivative's: its original's);
    ItemError when the text is no item id."""
    base = _DERIVED.sub("", item_id)
    device, _, number = base.rpartition("/")
    if not device or not number.isdigit():
        raise ItemError(
            "%r is not an item id: give DEVICE/N (a recording, e.g. SC-0001/42) or "
            "DEVICE/N~HEX (a derivative)" % item_id
        )
    return device, int(number)


def behind(cur: "Cursor") -> bool:
    """Whether a device's ledger holds an entry the index has not read (its high-water
    mark, ``items_read``, is below the newest seq): a read, one indexed lookup per device,
    so a login with nothing new takes no write lock to find that out."""
    return (
        cur.execute(
            "SELECT 1 FROM devices d LEFT JOIN items_read r ON r.device_id = d.device_id "
            "WHERE (SELECT max(seq) FROM entries e WHERE e.device_id = d.device_id) "
            ">= coalesce(r.next_seq, 0) LIMIT 1"
        ).fetchone()
        is not None
    )


def catch_up(
    read: "Callable[[], AbstractContextManager[Cursor]]",
    write: "Callable[[], AbstractContextManager[Cursor]]",
) -> int:
    """The index brought up to the ledger where it is behind (``behind``, a read: when
    nothing is new, as on most pages, no write lock is taken to find that out), in a write
    transaction of its own (``refresh``): what a reader of the index calls first, outside
    the transaction its own action records in. How many entries were read."""
    with read() as cur:
        if not behind(cur):
            return 0
    with write() as cur:
        return refresh(cur)


def refresh(cur: "Cursor") -> int:
    """Fold every entry stored since the last refresh into the recordings it names; returns
    how many entries were read. Inside the caller's write transaction."""
    read = 0
    devices = [r[0] for r in cur.execute("SELECT device_id FROM devices ORDER BY device_id")]
    for device_id in devices:
        row = cur.execute(
            "SELECT next_seq FROM items_read WHERE device_id = ?", (device_id,)
        ).fetchone()
        start = row[0] if row else 0
        open_recs: dict[int, list] = {}
        last = start - 1
        for seq, raw in cur.execute(
            "SELECT seq, raw FROM entries WHERE device_id = ? AND seq >= ? ORDER BY seq",
            (device_id, start),
        ).fetchall():
            last = seq
            read += 1
            try:
                fields = parse_entry(bytes(raw)).fields
            except ProtocolError:
                continue  # verify reports a damaged entry; the index skips it
            rec_id = fields.get(F_RECORDING)
            if not isinstance(rec_id, bytes) or not rec_id:
                continue
            _fold(open_recs, recording_number(rec_id), seq, fields)
        for rec, acc in open_recs.items():
            _save(cur, device_id, rec, acc)
        if last >= start:
            cur.execute(
                "INSERT INTO items_read VALUES (?, ?) ON CONFLICT (device_id) "
                "DO UPDATE SET next_seq = excluded.next_seq",
                (device_id, last + 1),
            )
    return read


def _fold(open_recs: "dict[int, list]", rec: int, seq: int, fields: dict) -> None:
    """Add one entry to its recording's running summary:
    [first_seq, last_seq, started_ms, ended_ms, officer, chunks, size, stopped]."""
    wall = fields.get(F_WALL_MS, 0)
    start = fields.get(F_START_MS, wall)
    end = fields.get(F_END_MS, wall)
    acc = open_recs.get(rec)
    if acc is None:
        acc = open_recs[rec] = [seq, seq, start, end, None, 0, 0, False]
    acc[1] = max(acc[1], seq)
    acc[0] = min(acc[0], seq)
    acc[2] = min(acc[2], start)
    acc[3] = max(acc[3], end)
    officer = fields.get(F_OFFICER)
    if isinstance(officer, str) and acc[4] is None:
        acc[4] = officer
    if fields.get(F_KIND) == KIND_CHUNK:
        acc[5] += 1
        acc[6] += fields.get(F_PLAIN_LEN, 0)
    if fields.get(F_EVENT) == EV_RECORD_STOP:
        acc[7] = True


# The smaller (larger) of a row's column and the one being merged in: written as CASE, which
# both engines take (SQLite's two-argument min/max is PostgreSQL's LEAST/GREATEST); the
# columns are NOT NULL, so no NULL makes them differ.
def _least(column: str) -> str:
    return "CASE WHEN excluded.%s < items.%s THEN excluded.%s ELSE items.%s END" % ((column,) * 4)


def _most(column: str) -> str:
    return "CASE WHEN excluded.%s > items.%s THEN excluded.%s ELSE items.%s END" % ((column,) * 4)


def _save(cur: "Cursor", device_id: str, rec: int, acc: list) -> None:
    """Merge a recording's summary from this refresh into its row (made on first sight)."""
    item_id = recording_id(device_id, rec)
    first, last, started, ended, officer, chunks, size, stopped = acc
    cur.execute(
        "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, started_ms, "
        "ended_ms, officer, chunks, size, stopped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (item_id) DO UPDATE SET "
        "first_seq = %s, last_seq = %s, started_ms = %s, ended_ms = %s, "
        "officer = coalesce(items.officer, excluded.officer), "
        "chunks = items.chunks + excluded.chunks, size = items.size + excluded.size, "
        "stopped = %s"
        % (
            _least("first_seq"),
            _most("last_seq"),
            _least("started_ms"),
            _most("ended_ms"),
            _most("stopped"),
        ),
        (
            item_id,
            RECORDING,
            device_id,
            rec,
            first,
            last,
            started,
            ended,
            officer,
            chunks,
            size,
            int(stopped),
        ),
    )


def add_derivative(cur: "Cursor", origin: str, sha256: bytes, note: str, now_ms: int) -> str:
    """Register a file made from item ``origin`` (an export, a clip) as an item of its own,
    linked to its original; returns its id. The same file again is the same item."""
    src = get(cur, origin)
    item_id = "%s/%d~%s" % (src.device_id, src.rec, sha256.hex()[:12])
    cur.execute(
        "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, "
        "started_ms, ended_ms, officer, chunks, size, stopped, origin, sha256, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 1, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            item_id,
            DERIVATIVE,
            src.device_id,
            src.rec,
            src.first_seq,
            src.last_seq,
            now_ms,
            now_ms,
            src.officer,
            origin,
            sha256,
            note,
        ),
    )
    return item_id


def _item(row: tuple) -> Item:
    fields = list(row)
    fields[11] = bool(fields[11])
    fields[13] = bytes(fields[13]) if fields[13] is not None else None
    return Item(*fields)


def get(cur: "Cursor", item_id: str) -> Item:
    """The item ``item_id``; ItemError when the store holds none by that id."""
    parse_id(item_id)
    row = cur.execute("SELECT %s FROM items WHERE item_id = ?" % COLUMNS, (item_id,)).fetchone()
    if row is None:
        raise ItemError("the store holds no item %s (sealcam items lists them)" % item_id)
    return _item(row)


def find(
    cur: "Cursor",
    officer: "str | None" = None,
    device_id: "str | None" = None,
    since_ms: "int | None" = None,
    until_ms: "int | None" = None,
    limit: int = 1000,
) -> "list[Item]":
    """Items matching every filter given, newest first, at most ``limit``."""
    where, params = [], []
    for column, op, value in (
        ("officer", "=", officer),
        ("device_id", "=", device_id),
        ("started_ms", ">=", since_ms),
        ("started_ms", "<", until_ms),
    ):
        if value is not None:
            where.append("%s %s ?" % (column, op))
            params.append(value)
    sql = "SELECT %s FROM items" % COLUMNS
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started_ms DESC, item_id LIMIT %d" % int(limit)
    return [_item(r) for r in cur.execute(sql, params).fetchall()]


def derivatives_of(cur: "Cursor", origin: str) -> "list[Item]":
    rows = cur.execute(
        "SELECT %s FROM items WHERE origin = ? ORDER BY started_ms" % COLUMNS, (origin,)
    ).fetchall()
    return [_item(r) for r in rows]
