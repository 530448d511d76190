"""Whether an evidence store still holds everything its own log says it stored.

``check_store`` opens ``evidence.db`` read-only (SQLite ``mode=ro``: nothing is created,
cleaned or written) and reads it in one snapshot, so a daemon may keep syncing meanwhile.
It recomputes the host's log (``host.hostlog``) from the rows: each leaf must still have its
row (an entry, an enrolled device, a session record, a GONE report, a media file), each row
its leaf, and the tree over the leaves must hash to the root of every signed checkpoint the
store keeps, the newest checked against the host key it names (or one pinned). A checkpoint
held elsewhere (``witness``) must be a prefix of the log: a consistency proof from its size
to the log's shows a store rolled back or rewritten behind it.

A database that cannot be read at all raises ``StoreUnusable``; one that was emptied or
replaced while the store still holds evidence (media files, a witness) is NOT OK.
"""

import re
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from host import audit, hostlog, tlog
from host.evidence import StoreUnopenable, check_database_file
from host.i18n import N_

if TYPE_CHECKING:
    from host.sqlstore import Cursor

OK = "OK"
NOT_OK = "NOT OK"
ERROR = "error"
INFO = "info"

EVIDENCE_TABLES = ("devices", "entries", "sessions", "missing_media", "gone_media")
REQUIRED_TABLES = EVIDENCE_TABLES + hostlog.TABLES


class StoreUnusable(Exception):
    """The store cannot be checked at all; the message says why, in one line (English).
    ``msg_id`` and ``fields`` are the same line as a message of the catalogue (area
    ``store``), for ``host.report_text.finding_text`` to give in the reader's language;
    empty when the line is another layer's (``StoreUnopenable``)."""

    def __init__(self, message: str, msg_id: str = "", fields: "dict | None" = None) -> None:
        super().__init__(message)
        self.message = message
        self.msg_id = msg_id
        self.fields = fields


class StoreFinding:
    """One thing the store check found. ``message`` is the English sentence (``--json``);
    ``msg_id`` and ``fields``, when given, are the same sentence as a message of the
    catalogue (area ``store``) and the values it names, so that a report shows it in the
    reader's language with its times (``_ms`` fields) in the agency's zone (issue 13
    "Chinese first"). A field may itself be a message ``(msg_id, fields)``."""

    def __init__(
        self,
        code: str,
        message: str,
        severity: str = ERROR,
        msg_id: str = "",
        fields: "dict | None" = None,
    ) -> None:
        self.code = code
        self.message = message
        self.severity = severity
        self.msg_id = msg_id
        self.fields = fields

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message}


class StoreReport:
    """The verdict on the store as a whole and the findings behind it."""

    def __init__(self) -> None:
        self.findings: list = []
        self.stats: dict = {"store_id": None, "leaves": 0, "checkpoint": None, "witness": None}
        # Media files removed by an approved retention deletion: digest -> the item's id.
        self.deleted_media: dict[bytes, str] = {}

    def add(
        self,
        code: str,
        message: str,
        severity: str = ERROR,
        said: "tuple | None" = None,
    ) -> None:
        """A finding: ``message`` in English, ``said`` the same as ``(msg_id, fields)``."""
        msg_id, fields = said if said is not None else ("", None)
        self.findings.append(StoreFinding(code, message, severity, msg_id, fields))

    @property
    def state(self) -> str:
        return NOT_OK if any(f.severity == ERROR for f in self.findings) else OK

    @property
    def ok(self) -> bool:
        return self.state == OK

    def to_dict(self) -> dict:
        return {
            "state": self.state,
            "findings": [f.to_dict() for f in self.findings],
            "stats": self.stats,
        }


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def _said(msg_id: str, **fields: object) -> tuple:
    """A message of the catalogue and its fields, for a finding or a field of one."""
    return (msg_id, fields)


def _joined(parts: list, msg_id: str) -> tuple:
    """Messages ``parts`` as one, joined by ``msg_id`` (``{first}`` and ``{rest}``)."""
    if len(parts) == 1:
        return parts[0]
    return _said(msg_id, first=parts[0], rest=_joined(parts[1:], msg_id))


def _unusable(message: str, msg_id: str, **fields: object) -> StoreUnusable:
    return StoreUnusable(message, msg_id, fields)


def _ranges(seqs: list) -> str:
    """``[1, 2, 3, 7]`` as "1-3, 7"."""
    out = []
    seqs = sorted(seqs)
    start = prev = seqs[0]
    for s in [*seqs[1:], None]:
        if s is not None and s == prev + 1:
            prev = s
            continue
        out.append("%d" % start if start == prev else "%d-%d" % (start, prev))
        if s is not None:
            start = prev = s
    return ", ".join(out)


def media_files(root: Path) -> int:
    """How many named media files the store's folder holds (never those in incoming/)."""
    media = root / "media"
    if not media.is_dir():
        return 0
    return sum(1 for p in media.glob("??/*") if p.parent.name != "incoming")


def media_names(root: Path) -> set:
    """The names (hex digests) of the named media files in the store's folder."""
    media = root / "media"
    if not media.is_dir():
        return set()
    return {p.name for p in media.glob("??/*") if p.parent.name != "incoming"}


def open_readonly(db_path: Path) -> sqlite3.Connection:
    uri = "file:%s?mode=ro" % quote(str(db_path.absolute()))
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def read_witness(data: bytes, keys: list) -> tuple:
    """``(checkpoint, kid)`` of a witness note that one of ``keys`` (``(kid, public)``)
    signed, or ``(None, "")`` when none did. StoreUnusable when it is no signed note."""
    if not data.strip():
        raise _unusable("the witness file is empty: give a checkpoint from sealcam "
                        "checkpoint export", "store.unusable.witness_empty")  # fmt: skip
    for kid, public in keys:
        try:
            return tlog.open_checkpoint(data, kid, public), kid
        except tlog.CheckpointError:
            continue
    try:
        tlog.parse_checkpoint_body(data.split(b"\n\n")[0] + b"\n")
    except (tlog.CheckpointError, ValueError):
        raise _unusable(
            "the witness file is not a signed checkpoint (sealcam checkpoint export writes one)",
            "store.unusable.witness_not_note",
        ) from None
    return None, ""


def check_store(
    root: Path, witness: bytes | None = None, host_key: tuple | None = None
) -> StoreReport:
    """Check the store at ``root`` against its own log, its newest checkpoint and, when
    given, a ``witness`` checkpoint (the note's bytes). ``host_key`` ``(kid, public)`` pins
    the key the checkpoints must be signed with; otherwise the keys the store kept are used.
    """
    db_path = root / "evidence.db"
    try:
        check_database_file(db_path)
    except StoreUnopenable as exc:
        raise StoreUnusable(str(exc)) from None
    report = StoreReport()
    if not db_path.exists():
        held = media_files(root)
        if not held and witness is None:
            raise _unusable(
                "%s has no evidence.db: not an evidence store" % root,
                "store.unusable.no_database",
                path=str(root),
            )
        trace = _said("store.trace.media", files=held) if held else _said("store.trace.witness")
        report.add(
            "database-deleted",
            "evidence.db is gone, yet %s: the evidence database was deleted"
            % ("media/ holds %d file(s)" % held if held else "a witness checkpoint is held of it"),
            said=_said("store.database_deleted", traces=trace),
        )
        return report
    # Listed before the database is read: a file named before this was stored with a note
    # (missing_media) that its leaf replaces in one transaction, so the snapshot read next
    # has the one or the other for it, even while a daemon syncs.
    on_disk = media_names(root)
    try:
        db = open_readonly(db_path)
    except sqlite3.Error as exc:
        raise _unusable(
            "cannot open %s: %s" % (db_path, exc), "store.unusable.open", path=str(db_path), why=exc
        ) from None
    try:
        try:
            db.execute("BEGIN")  # one snapshot for every read below
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            raise _unusable(
                "%s is not an SQLite database, or is damaged (%s)" % (db_path, exc),
                "store.unusable.not_sqlite",
                path=str(db_path),
                why=exc,
            ) from None
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            _missing_tables(report, root, db_path, db, tables, missing, witness)
            return report
        try:
            _check(report, root, db, witness, host_key, on_disk)
        except sqlite3.Error as exc:
            raise _unusable(
                "cannot read %s: %s" % (db_path, exc),
                "store.unusable.read",
                path=str(db_path),
                why=exc,
            ) from None
    finally:
        db.close()
    return report


def _missing_tables(
    report: StoreReport,
    root: Path,
    db_path: Path,
    db: sqlite3.Connection,
    tables: set,
    missing: list,
    witness: bytes | None,
) -> None:
    """Tables are gone: NOT OK when the store shows it held evidence (media files, a log,
    a witness), unusable when nothing says it ever was an evidence store."""
    held = media_files(root)
    logged = 0
    if "log" in tables:
        logged = db.execute("SELECT count(*) FROM log").fetchone()[0]
    traces = []
    said = []
    if held:
        traces.append("media/ holds %d file(s)" % held)
        said.append(_said("store.trace.media", files=held))
    if logged:
        traces.append("its log holds %d leaves" % logged)
        said.append(_said("store.trace.log", leaves=logged))
    if witness:
        traces.append("a witness checkpoint is held of it")
        said.append(_said("store.trace.witness"))
    if not traces:
        what = "is empty" if not tables else "lacks the tables %s" % ", ".join(missing)
        message = "%s %s: not an evidence store (sealcam enrol or sealcam sync makes one)" % (
            db_path,
            what,
        )
        if not tables:
            raise _unusable(message, "store.unusable.empty", path=str(db_path))
        raise _unusable(
            message, "store.unusable.tables", path=str(db_path), tables=", ".join(missing)
        )
    traced = _joined(said, "store.trace.and")
    if not tables or not any(t in tables for t in EVIDENCE_TABLES):
        report.add(
            "database-replaced",
            "evidence.db holds no evidence tables, yet %s: the evidence database was replaced "
            "or emptied" % " and ".join(traces),
            said=_said("store.database_replaced", traces=traced),
        )
    else:
        report.add(
            "tables-missing",
            "evidence.db lacks the tables %s, yet %s: the database was altered"
            % (", ".join(missing), " and ".join(traces)),
            said=_said("store.tables_missing", tables=", ".join(missing), traces=traced),
        )


def _expected_leaves(db: sqlite3.Connection) -> Counter:
    """Every leaf the rows call for (media aside: a media leaf's row is its file)."""
    want: Counter = Counter()
    for device_id, seq, digest in db.execute("SELECT device_id, seq, hash FROM entries"):
        want[hostlog.entry_leaf(device_id, seq, bytes(digest))] += 1
    for device_id, public in db.execute("SELECT device_id, public_key FROM devices"):
        want[hostlog.device_leaf(device_id, bytes(public))] += 1
    for row in db.execute("SELECT device_id, digest, reason, text, reported_ms FROM gone_media"):
        want[hostlog.gone_leaf(row[0], bytes(row[1]), row[2], row[3], row[4])] += 1
    for row in db.execute(
        "SELECT device_id, ended_ms, link, result, entries, media, bytes_in, drift_ms, device_head "
        "FROM sessions"
    ):
        want[hostlog.session_leaf(tuple(row))] += 1
    if _has_table(db, "audit"):
        for row in db.execute("SELECT %s FROM audit" % audit.COLUMNS):
            want[audit.leaf_of(tuple(row))] += 1
    return want


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    """Whether the store has ``name`` (evidence management's tables come with its first use)."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return found.fetchone() is not None


def _check_audit(report: StoreReport, db: sqlite3.Connection) -> None:
    """The audit trail's own chain: a record edited, deleted or slipped in shows here as
    well as in the log (``host.audit``)."""
    if not _has_table(db, "audit"):
        return
    rows = [tuple(r) for r in db.execute("SELECT %s FROM audit ORDER BY seq" % audit.COLUMNS)]
    report.stats["audit_records"] = len(rows)
    problems = audit.chain_problems(rows)
    if problems:
        more = " (and %d more)" % (len(problems) - 3) if len(problems) > 3 else ""
        report.add(
            "audit-chain-broken",
            "the audit trail was altered: %s%s" % ("; ".join(problems[:3]), more),
            said=_said(
                "store.audit_chain_broken",
                problems=_joined([_audit_problem(p) for p in problems[:3]], "store.audit.then"),
                more=_said("store.audit.more", count=len(problems) - 3) if more else "",
            ),
        )


_AUDIT_PROBLEMS = (
    (re.compile(r"audit records (\d+)-(\d+) are missing$"), "store.audit.missing"),
    (re.compile(r"audit record (\d+) does not chain to the one before it$"), "store.audit.prev"),
    (re.compile(r"audit record (\d+) does not hash to what it holds$"), "store.audit.hash"),
)


def _audit_problem(problem: str) -> "tuple | str":
    """One of ``audit.chain_problems``'s sentences as a message (they are fixed sentences
    with numbers); one this does not know stays as it is."""
    for pattern, msg_id in _AUDIT_PROBLEMS:
        found = pattern.match(problem)
        if found is None:
            continue
        if msg_id == "store.audit.missing":
            return _said(msg_id, first=int(found[1]), last=int(found[2]))
        return _said(msg_id, seq=int(found[1]))
    return problem


def _check(
    report: StoreReport,
    root: Path,
    db: sqlite3.Connection,
    witness: bytes | None,
    host_key: tuple | None,
    on_disk: set,
) -> None:
    row = db.execute("SELECT value FROM store_meta WHERE name = 'store_id'").fetchone()
    store_id = row[0] if row else ""
    report.stats["store_id"] = store_id or None
    if not store_id:
        report.add(
            "store-id-missing",
            "the store's id is gone from evidence.db: it was altered",
            said=_said("store.store_id_missing"),
        )
    origin = hostlog.origin_of(store_id)
    want = _expected_leaves(db)
    checkpoints = db.execute(
        "SELECT size, root, kid, signed_ms, note FROM checkpoints ORDER BY size, rowid"
    ).fetchall()
    receipts = _receipts(db, origin)  # (log size, log root, device, seq), by size
    rc_at = 0
    bad_receipts: list = []
    cp_at = 0  # the next checkpoint to compare as the tree grows past its size
    matched = -1  # the largest checkpoint size the log still matches
    mismatched: list = []  # checkpoints whose root the log no longer gives
    tree = tlog.CompactTree()
    leaves: list = []  # every leaf hash, for a witness's consistency proof (only then)
    gaps: list = []
    expect = 0  # the index the next log row should have
    altered: list = []
    lost: dict = {}  # kind -> [parsed leaf fields] of leaves whose row is gone
    evidence_leaves = 0

    def compare_at_size() -> None:
        """Hold every checkpoint and receipt naming the tree's present size to its root."""
        nonlocal cp_at, rc_at, matched
        while cp_at < len(checkpoints) and checkpoints[cp_at][0] == tree.size:
            _compare(checkpoints[cp_at], tree, mismatched)
            matched = tree.size if not mismatched else matched
            cp_at += 1
        while rc_at < len(receipts) and receipts[rc_at][0] == tree.size:
            _compare(receipts[rc_at], tree, bad_receipts)
            rc_at += 1

    for idx, leaf, kind, data in db.execute("SELECT idx, leaf, kind, data FROM log ORDER BY idx"):
        compare_at_size()
        if idx != expect:
            gaps.append((expect, idx - 1))
        expect = idx + 1
        data = bytes(data)
        h = tlog.leaf_hash(data)
        if bytes(leaf) != h:
            altered.append(idx)
        tree.append(h)
        if witness is not None:
            leaves.append(h)
        try:
            fields = hostlog.parse_leaf(data)
        except ValueError:
            altered.append(idx)
            continue
        if fields[0] != kind:
            altered.append(idx)
        if fields[0] != hostlog.DEVICE:
            evidence_leaves += 1
        if fields[0] == hostlog.MEDIA:
            digest = fields[1]
            hexd = digest.hex() if isinstance(digest, bytes) else ""
            on_disk.discard(hexd)
            if not hexd or not (root / "media" / hexd[:2] / hexd).is_file():
                lost.setdefault(hostlog.MEDIA, []).append(fields)
        elif want[data] > 0:
            want[data] -= 1
        else:
            lost.setdefault(fields[0], []).append(fields)
    compare_at_size()
    beyond = receipts[rc_at:]  # receipts naming a log larger than this one
    size = tree.size
    report.stats["leaves"] = size
    head = db.execute("SELECT size FROM log_head").fetchone()
    if gaps:
        spans = ", ".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in gaps)
        report.add(
            "log-rows-deleted",
            "leaves %s of the host log were deleted" % spans,
            said=_said("store.log_rows_deleted", leaves=spans),
        )
    if head is None or head[0] != expect:
        report.add(
            "log-head-altered",
            "the host log's head says %s leaves, its rows %d: the log was cut or altered"
            % (head[0] if head else "no", size),
            said=_said("store.log_head_altered", head=head[0], rows=size)
            if head
            else _said("store.log_head_missing", rows=size),
        )
    if altered:
        spans = _ranges(sorted(set(altered)))
        report.add(
            "log-leaf-altered",
            "leaves %s of the host log do not hash to what they hold: the log was edited" % spans,
            said=_said("store.log_leaf_altered", leaves=spans),
        )
    _authorised(report, db, lost)
    _lost_rows(report, lost)
    _unlogged_rows(report, want)
    _check_audit(report, db)
    _receipt_findings(report, bad_receipts, beyond, tree.size)
    for (digest,) in db.execute("SELECT digest FROM missing_media"):
        on_disk.discard(bytes(digest).hex())  # named, not yet logged: a sync under way
    if on_disk:
        names = ", ".join(sorted(on_disk)[:3]) + (", ..." if len(on_disk) > 3 else "")
        report.add(
            "media-not-logged",
            "media/ holds %d file(s) the host log never recorded (%s): the evidence database "
            "was replaced or emptied, or rows were removed with their leaves"
            % (len(on_disk), names),
            said=_said("store.media_not_logged", files=len(on_disk), names=names),
        )
    _checkpoint(
        report, checkpoints, size, matched, mismatched, origin, host_key, db, evidence_leaves
    )
    if witness is not None:
        _witness(report, witness, size, leaves, tree.root(), origin, host_key, db)


def _receipts(db: sqlite3.Connection, origin: str) -> list:
    """Every receipt from this store's log a device logged and the host stored:
    ``(log_size, log_root, device, seq)``, by size. Each names a checkpoint of this log, so
    each is a witness the host cannot take back: the log must still hash to that root at
    that size. (Receipts of other hosts' logs, a device docked elsewhere too, are left out.)"""
    from protocol.errors import ProtocolError
    from protocol.ledger import parse_entry
    from protocol.registry import EV_HOST_RECEIPT, F_DETAIL, F_EVENT, KIND_EVENT

    out = []
    for device_id, seq, raw in db.execute(
        "SELECT device_id, seq, raw FROM entries WHERE kind = ?", (KIND_EVENT,)
    ):
        try:
            e = parse_entry(bytes(raw))
        except ProtocolError:
            continue  # the device's own verification reports it
        if e.fields.get(F_EVENT) != EV_HOST_RECEIPT:
            continue
        detail = e.fields.get(F_DETAIL)
        if not isinstance(detail, dict):
            continue
        if detail.get("log_origin") != origin:
            continue
        size, root = detail.get("log_size"), detail.get("log_root")
        if type(size) is int and size >= 0 and isinstance(root, bytes) and len(root) == 32:
            out.append((size, root, device_id, seq))
    out.sort(key=lambda r: r[0])
    return out


def _receipt_findings(report: StoreReport, bad: list, beyond: list, size: int) -> None:
    if bad:
        first = bad[0]
        report.add(
            "receipt-contradicted",
            "%d receipt(s) the host gave devices name a log this store no longer has: device "
            "%s logged at seq %d a receipt for a log of %d leaves whose root differs from this "
            "log's first %d: the store was rewritten"
            % (len(bad), first[2], first[3], first[0], first[0]),
            said=_said(
                "store.receipt_contradicted",
                receipts=len(bad),
                device=first[2],
                seq=first[3],
                size=first[0],
            ),
        )
    if beyond:
        first = beyond[-1]
        report.add(
            "receipt-beyond-log",
            "device %s logged at seq %d a receipt for a log of %d leaves, but this log has only "
            "%d: the store was truncated or rolled back" % (first[2], first[3], first[0], size),
            said=_said(
                "store.receipt_beyond_log",
                device=first[2],
                seq=first[3],
                size=first[0],
                leaves=size,
            ),
        )


def _compare(checkpoint: tuple, tree: tlog.CompactTree, mismatched: list) -> None:
    if bytes(checkpoint[1]) != tree.root():
        mismatched.append(checkpoint)


def _authorised(report: StoreReport, db: sqlite3.Connection, lost: dict) -> None:
    """Take out of ``lost`` the media files an approved retention deletion removed, and
    report them as such (info, not loss): the audit trail must hold, for the item, a
    deletion request, an approval by someone else that was not undone, and after its grace
    period the ``delete`` record naming the file's digest (``host.retention``)."""
    media = lost.get(hostlog.MEDIA, [])
    if not media or not _has_table(db, "audit"):
        return
    allowed = authorised_deletions(db)
    kept: list = []
    done: dict = {}
    for fields in media:
        digest = fields[1] if isinstance(fields[1], bytes) else b""
        why = allowed.get(digest)
        if why is None:
            kept.append(fields)
        else:
            done.setdefault(why, []).append(digest)
            report.deleted_media[digest] = why[0]
    if kept:
        lost[hostlog.MEDIA] = kept
    else:
        del lost[hostlog.MEDIA]
    if not done:
        return
    from host import i18n, localtime

    zone = _zone(db)
    items = [
        i18n.text(
            "retention.verify_deleted_item",
            item=item,
            files=len(digests),
            requested_by=requested_by,
            approved_by=approved_by,
            approved=localtime.show(approved_ms, zone),
            deleted=localtime.show(deleted_ms, zone),
        )
        for (item, requested_by, approved_by, approved_ms, deleted_ms), digests in sorted(
            done.items()
        )
    ]
    report.add(
        "media-deleted-authorised",
        i18n.text(
            "retention.verify_deleted",
            files=sum(len(d) for d in done.values()),
            items="; ".join(items),
        ),
        INFO,
    )
    report.stats["media_deleted_authorised"] = sum(len(d) for d in done.values())


def authorised_deletions(db: "sqlite3.Connection | Cursor") -> dict:
    """digest -> ``(item, requested_by, approved_by, approved_ms, deleted_ms)`` for every
    media file the audit trail shows deleted with its approval chain complete: a request,
    then an approval by another user not undone, then, once the grace period the approval
    named was over, the ``delete`` record naming the digest. ``db``: the embedded store's
    database, or a cursor of either store (``host.sqlstore``: the same SQL)."""
    from protocol import cbor

    steps = (audit.DELETE_REQUEST, audit.DELETE_APPROVE, audit.DELETE_UNDO, audit.DELETE)
    pending: dict = {}  # item -> [requested_by, approved_by, approved_ms, grace_until_ms]
    out: dict = {}
    for item, actor, action, at_ms, blob in db.execute(
        "SELECT item, actor, action, at_ms, details FROM audit WHERE outcome = ? AND action IN "
        "(?, ?, ?, ?) ORDER BY seq",
        (audit.DONE, *steps),
    ):
        try:
            details = cbor.loads(bytes(blob))
        except Exception:  # an edited record: the chain check reports it
            continue
        if not isinstance(details, dict):
            continue
        state = pending.get(item)
        if action == audit.DELETE_REQUEST:
            pending[item] = [actor, None, 0, 0]
        elif action == audit.DELETE_UNDO:
            pending.pop(item, None)
        elif action == audit.DELETE_APPROVE:
            grace = details.get("grace_until_ms")
            if state is not None and actor != state[0] and type(grace) is int:
                state[1:] = [actor, at_ms, grace]
        elif state is not None and state[1] is not None and at_ms >= state[3]:
            digests = details.get("digests")
            for digest in digests if isinstance(digests, list) else ():
                if isinstance(digest, bytes):
                    out[digest] = (item, state[0], state[1], state[2], at_ms)
            pending.pop(item, None)
    return out


def _zone(db: sqlite3.Connection) -> str:
    """The agency's time zone (host.settings), for the times a person reads."""
    import json

    from host.localtime import DEFAULT_ZONE, zone_problem

    if not _has_table(db, "settings"):
        return DEFAULT_ZONE
    row = db.execute("SELECT value FROM settings WHERE name = 'time_zone'").fetchone()
    try:
        zone = json.loads(row[0]) if row else DEFAULT_ZONE
    except ValueError:
        return DEFAULT_ZONE
    return zone if isinstance(zone, str) and zone_problem(zone) is None else DEFAULT_ZONE


def _lost_rows(report: StoreReport, lost: dict) -> None:
    """Leaves whose rows are gone, named by what they were."""
    entries: dict = {}
    for fields in lost.get(hostlog.ENTRY, []):
        entries.setdefault(fields[1], []).append(fields[2])
    gone_devices = {fields[1] for fields in lost.get(hostlog.DEVICE, [])}
    for device_id in sorted(gone_devices):
        held = entries.get(device_id, [])
        report.add(
            "device-deleted",
            "device %s is in the host log but gone from the store's register%s"
            % (device_id, " with its %d entries" % len(held) if held else ""),
            said=_said("store.device_deleted.entries", device=device_id, entries=len(held))
            if held
            else _said("store.device_deleted", device=device_id),
        )
    for device_id, seqs in sorted(entries.items()):
        report.add(
            "entries-deleted",
            "device %s: entries seq %s are in the host log but gone from the store (deleted)"
            % (device_id, _ranges(seqs)),
            said=_said("store.entries_deleted", device=device_id, seqs=_ranges(seqs)),
        )
    media = lost.get(hostlog.MEDIA, [])
    if media:
        names = ", ".join(f[1].hex()[:16] for f in media[:5] if isinstance(f[1], bytes))
        names += ", ..." if len(media) > 5 else ""
        report.add(
            "media-deleted",
            "%d media file(s) the host stored are gone from media/ (%s)" % (len(media), names),
            said=_said("store.media_deleted", files=len(media), names=names),
        )
    for fields in lost.get(hostlog.SESSION, []):
        report.add(
            "session-deleted",
            "the record of device %s's session ended %s (%s) is in the host log but gone "
            "from the store" % (fields[1] or "?", _when(fields[2]), fields[4]),
            said=_said(
                "store.session_deleted",
                device=fields[1] or "?",
                ended_ms=fields[2],
                result=fields[4],
            ),
        )
    for fields in lost.get(hostlog.GONE, []):
        report.add(
            "gone-report-deleted",
            "device %s's report that it could not give media %s (%s) is in the host log but "
            "gone from the store" % (fields[1], fields[2].hex()[:16], fields[4]),
            said=_said(
                "store.gone_report_deleted",
                device=fields[1],
                digest=fields[2].hex()[:16],
                reason=fields[4],
            ),
        )
    audits = lost.get(hostlog.AUDIT, [])
    if audits:
        records = _ranges([f[1] for f in audits if type(f[1]) is int])
        report.add(
            "audit-deleted",
            "audit record(s) %s are in the host log but gone from the audit trail, or were "
            "edited: the trail of who did what to the evidence was altered" % records,
            said=_said("store.audit_deleted", records=records),
        )


def _unlogged_rows(report: StoreReport, want: Counter) -> None:
    """Rows no leaf covers: added behind the log's back."""
    extra: dict = {}
    for data, n in want.items():
        if n <= 0:
            continue
        fields = hostlog.parse_leaf(data)
        extra.setdefault(fields[0], []).extend([fields] * n)
    entries: dict = {}
    for fields in extra.get(hostlog.ENTRY, []):
        entries.setdefault(fields[1], []).append(fields[2])
    for device_id, seqs in sorted(entries.items()):
        report.add(
            "entries-not-logged",
            "device %s: entries seq %s are in the store but not in the host log: they were "
            "added behind the log's back" % (device_id, _ranges(seqs)),
            said=_said("store.entries_not_logged", device=device_id, seqs=_ranges(seqs)),
        )
    for kind in (hostlog.DEVICE, hostlog.SESSION, hostlog.GONE, hostlog.AUDIT):
        rows = extra.get(kind, [])
        if rows:
            what = {"device": "device(s) enrolled", "session": "session record(s)",
                    "gone": "GONE report(s)", "audit": "audit record(s)"}[kind]  # fmt: skip
            report.add(
                "rows-not-logged",
                "%d %s in the store are not in the host log: added behind the log's back"
                % (len(rows), what),
                said=_said("store.rows_not_logged", count=len(rows), what=_said(_ROWS[kind])),
            )


# What rows-not-logged names, by the kind of leaf.
_ROWS = {
    hostlog.DEVICE: N_("store.rows.device"),
    hostlog.SESSION: N_("store.rows.session"),
    hostlog.GONE: N_("store.rows.gone"),
    hostlog.AUDIT: N_("store.rows.audit"),
}


def _checkpoint(
    report: StoreReport,
    checkpoints: list,
    size: int,
    matched: int,
    mismatched: list,
    origin: str,
    host_key: tuple | None,
    db: sqlite3.Connection,
    evidence_leaves: int,
) -> None:
    if not checkpoints:
        if evidence_leaves or _has_evidence(db):
            report.add(
                "no-checkpoint",
                "the store holds evidence but no signed checkpoint of its log: it was never "
                "checkpointed, or its checkpoints were deleted",
                said=_said("store.no_checkpoint"),
            )
        return
    newest = checkpoints[-1]
    n_size, n_root, kid, signed_ms, note = newest
    report.stats["checkpoint"] = {
        "size": n_size,
        "kid": kid,
        "signed": _when(signed_ms),
        "signed_ms": signed_ms,  # for a report in the agency's zone (``signed`` is UTC text)
    }
    keys = _host_keys(db, kid, host_key)
    opened = None
    for k, public in keys:
        try:
            opened = tlog.open_checkpoint(note.encode(), k, public)
        except tlog.CheckpointError:
            continue
        # Named in the report, as enrol and keygen name a key: a reader who knows the
        # agency's key sees a replaced one even without --host-key or a witness.
        report.stats["checkpoint"]["key"] = key_fingerprint(public)
        break
    named = "checkpoint of %d leaves signed by %s at %s" % (n_size, kid, _when(signed_ms))
    said_named = _said("store.checkpoint_named", size=n_size, kid=kid, signed_ms=signed_ms)
    if opened is None:
        report.add(
            "checkpoint-unverified",
            "the newest %s does not verify with %s" % (named, _key_names(keys, host_key)),
            said=_said(
                "store.checkpoint_unverified",
                checkpoint=said_named,
                keys=_key_names_said(keys, host_key),
            ),
        )
    elif opened.size != n_size or opened.root != bytes(n_root):
        report.add(
            "checkpoint-altered",
            "the newest %s was edited beside its note" % named,
            said=_said("store.checkpoint_altered", checkpoint=said_named),
        )
    elif opened.origin != origin:
        report.add(
            "checkpoint-origin",
            "the newest %s is of store %r, but this store is %r: the database was replaced"
            % (named, opened.origin, origin),
            said=_said(
                "store.checkpoint_origin",
                checkpoint=said_named,
                theirs=repr(opened.origin),
                ours=repr(origin),
            ),
        )
    if size < n_size:
        report.add(
            "log-truncated",
            "the newest %s, but the log now has %d: leaves %d-%d were removed (the store "
            "was truncated or rolled back)" % (named, size, size, n_size - 1),
            said=_said("store.log_truncated", checkpoint=said_named, size=size, last=n_size - 1),
        )
    if mismatched:
        first = mismatched[0]
        where = "after leaf %d" % (matched - 1) if matched > 0 else "from the first leaf"
        place = (
            _said("store.rewritten_after", leaf=matched - 1)
            if matched > 0
            else _said("store.rewritten_from_first")
        )
        report.add(
            "log-rewritten",
            "the host log no longer hashes to the root of %d signed checkpoint(s), the first "
            "of %d leaves (signed %s): its leaves were changed or removed %s"
            % (len(mismatched), first[0], _when(first[3]), where),
            said=_said(
                "store.log_rewritten",
                count=len(mismatched),
                size=first[0],
                signed_ms=first[3],
                place=place,
            ),
        )
    if size > n_size:
        report.add(
            "not-checkpointed",
            "%d leaves after the newest checkpoint (a session under way, or cut off before its "
            "checkpoint)" % (size - n_size),
            INFO,
            said=_said("store.not_checkpointed", leaves=size - n_size),
        )


def key_fingerprint(public: bytes) -> str:
    """A public key as people compare it: its first 8 bytes in hex (as enrol prints it)."""
    return bytes(public)[:8].hex()


def _has_evidence(db: sqlite3.Connection) -> bool:
    for table in ("entries", "sessions", "gone_media"):
        if db.execute("SELECT 1 FROM %s LIMIT 1" % table).fetchone():
            return True
    return False


def _host_keys(db: sqlite3.Connection, kid: str | None, host_key: tuple | None) -> list:
    """``(kid, public)`` to check a note with: the pinned key, else the store's own."""
    if host_key is not None:
        return [host_key]
    if kid is None:
        rows = db.execute("SELECT kid, public_key FROM host_keys").fetchall()
    else:
        rows = db.execute("SELECT kid, public_key FROM host_keys WHERE kid = ?", (kid,)).fetchall()
    return [(k, bytes(p)) for k, p in rows]


def _key_names_said(keys: list, host_key: tuple | None) -> tuple:
    """``_key_names`` as a message."""
    if host_key is not None:
        return _said("store.keys.pinned", kid=host_key[0])
    if not keys:
        return _said("store.keys.none")
    return _said("store.keys.store", kids=", ".join(sorted({k for k, _ in keys})))


def _key_names(keys: list, host_key: tuple | None) -> str:
    if host_key is not None:
        return "the pinned host key %s" % host_key[0]
    if not keys:
        return "any host key the store names (it names none)"
    return "the store's host key(s) %s" % ", ".join(sorted({k for k, _ in keys}))


def _witness(
    report: StoreReport,
    witness: bytes,
    size: int,
    leaves: list,
    root: bytes,
    origin: str,
    host_key: tuple | None,
    db: sqlite3.Connection,
) -> None:
    keys = _host_keys(db, None, host_key)
    cp, kid = read_witness(witness, keys)
    if cp is None:
        report.add(
            "witness-unverified",
            "the witness checkpoint is not signed by %s: the store's host keys were replaced, "
            "or the witness is of another host (pin its key with --host-key)"
            % _key_names(keys, host_key),
            said=_said("store.witness_unverified", keys=_key_names_said(keys, host_key)),
        )
        return
    report.stats["witness"] = {"size": cp.size, "kid": kid, "consistent": False}
    if cp.origin != origin:
        report.add(
            "witness-other-store",
            "the witness checkpoint is of %r, but this store is %r: the evidence database was "
            "replaced (or the witness is of another store)" % (cp.origin, origin),
            said=_said("store.witness_other_store", theirs=repr(cp.origin), ours=repr(origin)),
        )
        return
    if cp.size > size:
        report.add(
            "rolled-back",
            "the witness checkpoint holds %d leaves, this store's log only %d: the store was "
            "rolled back or truncated behind a checkpoint someone else holds" % (cp.size, size),
            said=_said("store.rolled_back", witness=cp.size, leaves=size),
        )
        return
    proof = tlog.consistency_proof(leaves, cp.size, size)
    if not tlog.verify_consistency(cp.size, size, cp.root, root, proof):
        report.add(
            "rewritten",
            "the store's log is not an extension of the witness checkpoint of %d leaves: what "
            "it held then was changed or removed" % cp.size,
            said=_said("store.rewritten", size=cp.size),
        )
        return
    report.stats["witness"]["consistent"] = True


def render(report: StoreReport, source: str) -> list:
    """The store's verdict as lines a person reads."""
    s = report.stats
    mark = "✓" if report.ok else "✗"
    lines = ["Store    %s (id %s)" % (source, s["store_id"] or "?")]
    cp = s["checkpoint"]
    log = "%d leaves" % s["leaves"]
    if cp:
        log += "; newest checkpoint %d leaves, signed by %s%s at %s" % (
            cp["size"],
            cp["kid"],
            " (key %s)" % cp["key"] if cp.get("key") else "",
            cp["signed"],
        )
    lines.append("Log      %s" % log)
    w = s["witness"]
    if w:
        lines.append(
            "Witness  %d leaves, signed by %s: %s"
            % (w["size"], w["kid"], "the log extends it" if w["consistent"] else "NOT consistent")
        )
    lines.append("State    %s %s" % (mark, report.state))
    if report.findings:
        lines.append("Findings")
        for f in report.findings:
            lines.append("  %-22s %s" % (f.code, f.message))
    return lines
