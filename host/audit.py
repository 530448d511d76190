"""The audit trail: every action a person takes on the evidence, in one hash-chained record.

A record says who (``actor``, a user name, or the name someone tried to log in with), did
what (``action``, one of the names below), to which item (a recording, a case, a user: its
id, or none), with what outcome (``done``, or ``refused`` with the reason in ``details``),
when (``at_ms``, UTC), and the particulars (``details``: a small map, e.g. a category's old
and new value, an approval's purpose and end). Refusals are records too: a denied view of
restricted footage is exactly what an oversight report must see (R-HOST-10).

Each record holds the hash of the one before it (``prev``; 32 zero bytes for the first),
and is a leaf of the host's log (``host.hostlog``, kind ``audit``), appended in the same
transaction as the change it records. So a change and its record land together or not at
all; the signed checkpoints cover the trail; and a record edited or deleted afterwards shows
twice in ``sealcam verify``: its leaf no longer matches a row, and the chain breaks.

Nothing here checks permissions (``host.access`` does) or renders text for people (the
command line does, through ``host.i18n``).
"""

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from host import hostlog
from protocol import cbor

if TYPE_CHECKING:
    from host.sqlstore import Cursor


class Log(Protocol):
    """The host's log as the trail appends to it (``hostlog.HostLog``, or the scale-out
    store's ``pgstore.PgHostLog``): leaves, in the caller's write transaction."""

    def append(self, cur: Any, leaves: list) -> None: ...


# Actions: what a person did. The names are stable (they are in signed records).
LOGIN = "login"
LOGIN_FAILED = "login-failed"
VIEW = "view"  # read an item's particulars or list items
PLAY = "play"  # watch footage
EXPORT = "export"  # a copy leaves the store (a file, a court package)
SHARE = "share"  # shown to someone outside the agency
LEND = "lend"  # lent out (a disc, a device)
PUBLISH = "publish"  # published
CATEGORISE = "categorise"  # category and what a recording is meant to prove
CASE_CHANGE = "case-change"  # a case made or its particulars changed
LINK_CASE = "link-case"  # a recording linked to (or unlinked from) a case
RETENTION_CHANGE = "retention-change"  # an item's retention class changed
POLICY_CHANGE = "policy-change"  # the agency's retention periods, time zone, case types
HOLD = "hold"  # a legal hold placed
RELEASE_HOLD = "release-hold"
DELETE_REQUEST = "delete-request"  # media deletion asked for, once retention allows it
DELETE_APPROVE = "delete-approve"
DELETE_UNDO = "delete-undo"  # taken back within the grace period
DELETE = "delete"  # the media bytes removed (the ledger entries never are)
RESTRICT = "restrict"  # marked as holding state secrets, trade secrets or private matters
REQUEST_APPROVAL = "request-approval"
APPROVE = "approve"
REFUSE = "refuse"  # an approval refused
REVIEW = "review"  # the legal department's review of a sampled recording
USER_ADD = "user-add"
USER_CHANGE = "user-change"
PASSWORD_CHANGE = "password-change"  # one's own (another's, reset, is a user-change)
AUDIT_READ = "audit-read"
# Oversight (registers, allocation, random review, reports) and the store's own checks.
REGISTER = "register"  # the device register or the units changed (a device, a state, upkeep)
CHECKOUT = "checkout"  # a recorder handed out to an officer
RETURN = "return"  # a recorder given back
HANDOVER = "handover"  # a recorder passed from one officer to another
SAMPLE = "sample-draw"  # a random review sample drawn (its seed recorded)
REPORT = "report"  # an oversight report read (allocation, review, violations)
VERIFY = "verify"  # the store verified by a person
CHECKPOINT_EXPORT = "checkpoint-export"  # a signed checkpoint handed to a witness
LOCK_KEEP_UP = "lock-keep-up"  # the object locks of the scale-out store's media kept up
STORE_MIGRATE = "store-migrate"  # moved into the scale-out form carrying damaged media

ACTIONS = (
    LOGIN,
    LOGIN_FAILED,
    VIEW,
    PLAY,
    EXPORT,
    SHARE,
    LEND,
    PUBLISH,
    CATEGORISE,
    CASE_CHANGE,
    LINK_CASE,
    RETENTION_CHANGE,
    POLICY_CHANGE,
    HOLD,
    RELEASE_HOLD,
    DELETE_REQUEST,
    DELETE_APPROVE,
    DELETE_UNDO,
    DELETE,
    RESTRICT,
    REQUEST_APPROVAL,
    APPROVE,
    REFUSE,
    REVIEW,
    USER_ADD,
    USER_CHANGE,
    PASSWORD_CHANGE,
    AUDIT_READ,
    REGISTER,
    CHECKOUT,
    RETURN,
    HANDOVER,
    SAMPLE,
    REPORT,
    VERIFY,
    CHECKPOINT_EXPORT,
    LOCK_KEEP_UP,
    STORE_MIGRATE,
)

DONE = "done"
REFUSED = "refused"

ZERO = bytes(32)

SCHEMA = """
-- The audit trail (host.audit): seq from 0 without gaps; prev chains each record to the one
-- before; hash = SHA-256 of the record's leaf data in the host log.
CREATE TABLE IF NOT EXISTS audit (
    seq      INTEGER PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    item     TEXT,
    outcome  TEXT NOT NULL,
    details  BLOB NOT NULL,
    prev     BLOB NOT NULL,
    hash     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_item ON audit (item, seq) WHERE item IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, seq);
"""

COLUMNS = "seq, at_ms, actor, action, item, outcome, details, prev, hash"


@dataclass(frozen=True)
class Record:
    seq: int
    at_ms: int
    actor: str
    action: str
    item: "str | None"
    outcome: str
    details: dict
    prev: bytes
    hash: bytes

    def to_dict(self) -> dict:
        """For ``--json``: UTC milliseconds, hashes in hex."""
        return {
            "seq": self.seq,
            "at_ms": self.at_ms,
            "actor": self.actor,
            "action": self.action,
            "item": self.item,
            "outcome": self.outcome,
            "details": _plain(self.details),
            "prev": self.prev.hex(),
            "hash": self.hash.hex(),
        }


def _plain(value: object) -> object:
    """A details value as JSON can hold it (bytes as hex)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def leaf_of(row: tuple) -> bytes:
    """The host-log leaf of an audit row (every column but ``hash``, in order)."""
    seq, at_ms, actor, action, item, outcome, details, prev = row[:8]
    return hostlog.audit_leaf(
        (seq, at_ms, actor, action, item, outcome, bytes(details), bytes(prev))
    )


def record(
    cur: "Cursor",
    log: Log,
    actor: str,
    action: str,
    now_ms: int,
    item: "str | None" = None,
    outcome: str = DONE,
    details: "dict | None" = None,
) -> Record:
    """Append one record inside the caller's transaction (with the change it records), and
    its leaf to the host log. ``details`` is a map of text keys to CBOR values."""
    if action not in ACTIONS:
        raise ValueError("unknown audit action %r" % action)
    last = cur.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (0, ZERO) if last is None else (last[0] + 1, bytes(last[1]))
    blob = cbor.dumps(dict(details or {}))
    row = (seq, now_ms, actor, action, item, outcome, blob, prev)
    leaf = leaf_of(row)
    digest = hashlib.sha256(leaf).digest()
    cur.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, digest))
    log.append(cur, [(hostlog.AUDIT, leaf)])
    return Record(seq, now_ms, actor, action, item, outcome, dict(details or {}), prev, digest)


def _record(row: tuple) -> Record:
    try:
        details = cbor.loads(bytes(row[6]))
    except Exception:  # an edited row: verify names it; a listing shows it as it is
        details = {"undecodable": bytes(row[6]).hex()}
    if not isinstance(details, dict):
        details = {"value": details}
    return Record(
        row[0], row[1], row[2], row[3], row[4], row[5], details, bytes(row[7]), bytes(row[8])
    )


def records_of(rows: "list[tuple]") -> "list[Record]":
    """Records from rows a caller selected with ``COLUMNS`` (a query of its own)."""
    return [_record(r) for r in rows]


def history(
    cur: "Cursor", item: "str | None" = None, actor: "str | None" = None, limit: int = 0
) -> "list[Record]":
    """The records about ``item`` or by ``actor`` (both: both must hold), oldest first;
    the newest ``limit`` of them when ``limit`` is given."""
    where, params = [], []
    if item is not None:
        where.append("item = ?")
        params.append(item)
    if actor is not None:
        where.append("actor = ?")
        params.append(actor)
    sql = "SELECT %s FROM audit" % COLUMNS
    if where:
        sql += " WHERE " + " AND ".join(where)
    if limit:
        # The subquery named: PostgreSQL wants an alias for it (SQLite takes one too).
        sql = "SELECT * FROM (%s ORDER BY seq DESC LIMIT %d) AS newest ORDER BY seq" % (
            sql, int(limit))  # fmt: skip
    else:
        sql += " ORDER BY seq"
    return [_record(r) for r in cur.execute(sql, params).fetchall()]


def chain_problems(rows: "list[tuple]") -> "list[str]":
    """What is wrong with the trail's chain, ``rows`` being every audit row in seq order:
    a gap in seq, a record whose hash is not its content's, or whose ``prev`` is not the
    hash of the record before it. Empty when the chain holds."""
    problems = []
    prev = ZERO
    expect = 0
    for row in rows:
        seq = row[0]
        if seq != expect:
            problems.append("audit records %d-%d are missing" % (expect, seq - 1))
        if bytes(row[7]) != prev:
            problems.append("audit record %d does not chain to the one before it" % seq)
        if hashlib.sha256(leaf_of(row)).digest() != bytes(row[8]):
            problems.append("audit record %d does not hash to what it holds" % seq)
        prev = bytes(row[8])
        expect = seq + 1
    return problems


CSV_FIELDS = ("seq", "at_ms", "actor", "action", "item", "outcome", "details", "hash")


def as_csv(records: "list[Record]", when: "object" = None) -> str:
    """The records as CSV (one header row; ``details`` as compact JSON). ``when``, a
    function of milliseconds, adds a local-time column for people."""
    import json

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS + (("local_time",) if when else ()))
    for r in records:
        details = json.dumps(_plain(r.details), ensure_ascii=False, sort_keys=True)
        row = [r.seq, r.at_ms, r.actor, r.action, r.item or "", r.outcome, details, r.hash.hex()]
        if callable(when):
            row.append(when(r.at_ms))
        w.writerow(row)
    return out.getvalue()
