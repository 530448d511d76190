"""Whether a scale-out evidence store still holds everything its own signed log says.

The check of ``host.verify_store``, on PostgreSQL and the bucket: the log's leaves are
re-hashed and the tree over them must hash to every signed checkpoint's root (the newest
one's signature checked with the host key it names); every logged row must still be there
and every row must have its leaf; each device's stored ledger must verify with its enrolled
key; and every recorded object must be in the bucket as its newest version, hashing to its
digest (``S3Media.check``). Media found damaged when the store was moved into this form
(``host.migrate``'s ``damaged_media``) are named as the embedded store's verify names them,
by device and chunk seq (``media-altered``), their devices NOT OK; the damaged bytes kept
must still be in the bucket, hashing to their own SHA-256. Reads only; nothing is written.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from host import hostlog, tlog
from host.i18n import N_, text

if TYPE_CHECKING:
    from host.pgstore import PgEvidenceStore

READERS = 4  # objects read and hashed at once

PROBLEM_WORDS = {
    "missing": N_("scaleout.p.missing"),
    "replaced": N_("scaleout.p.replaced"),
    "altered": N_("scaleout.p.altered"),
}


class ScaleReport:
    """Lines a person reads (``lines``), the same as data (``to_dict``), and ``ok``."""

    def __init__(self) -> None:
        self.findings: list = []  # (code, message in the language in force)
        self.fields: list = []  # each finding's fields (device and seq of a chunk's)
        self.stats: dict = {"store_id": "", "leaves": 0, "checkpoint": None, "devices": {}}
        self.media_checked = 0
        self.media_waiting = 0
        self.media_removed = 0  # by retention's approved deletions

    def add(self, code: str, msg_id: str, **fields: object) -> None:
        self.findings.append((code, text(msg_id, None, **fields)))
        self.fields.append(fields)

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self, url: str, bucket: str) -> list:
        s = self.stats
        out = [text("scaleout.store", url=url, bucket=bucket, store_id=s["store_id"] or "?")]
        cp = s["checkpoint"]
        if cp:
            out.append(text("scaleout.log", leaves=s["leaves"], size=cp["size"], kid=cp["kid"]))
        else:
            out.append(text("scaleout.log.none", leaves=s["leaves"]))
        for device, d in sorted(s["devices"].items()):
            entries, state = d["entries"], d["state"]
            out.append(text("scaleout.device", device=device, entries=entries, state=state))
        out.append(text("scaleout.media", count=self.media_checked, waiting=self.media_waiting))
        if self.media_removed:
            out.append(text("scaleout.media.removed", count=self.media_removed))
        if self.findings:
            out.append(text("scaleout.findings"))
            out.extend("  %-16s %s" % f for f in self.findings)
            out.append(text("scaleout.verdict.not_ok", count=len(self.findings)))
        else:
            out.append(text("scaleout.verdict.ok"))
        return out

    def to_dict(self) -> dict:
        return {
            "state": "OK" if self.ok else "NOT OK",
            "findings": [_finding(c, m, f) for (c, m), f in
                         zip(self.findings, self.fields, strict=True)],
            "stats": dict(self.stats, media_checked=self.media_checked,
                          media_waiting=self.media_waiting, media_removed=self.media_removed),
        }  # fmt: skip


def _finding(code: str, message: str, fields: dict) -> dict:
    """A finding as data: its code and message, and the chunk or media it names."""
    named = {k: v for k, v in fields.items() if k in ("device", "seq", "digest")}
    return dict(named, code=code, message=message)


def check(store: "PgEvidenceStore") -> ScaleReport:
    """The store's verdict, read in one snapshot of the database (repeatable read)."""
    from protocol.verify import verify_ledger

    report = ScaleReport()
    db = store._db
    with store._lock, db.transaction():
        cur = db.cursor()
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        report.stats["store_id"] = store.log.store_id(cur)
        leaves = cur.execute("SELECT idx, leaf, kind, data FROM log ORDER BY idx").fetchall()
        head_size = cur.execute("SELECT size FROM log_head").fetchone()
        checkpoints = cur.execute(
            "SELECT size, root, kid, note FROM checkpoints ORDER BY size, id"
        ).fetchall()
        keys = cur.execute("SELECT kid, public_key FROM host_keys").fetchall()
        rows = _row_leaves(cur)
        devices = cur.execute("SELECT device_id, public_key FROM devices ORDER BY device_id")
        ledgers = [
            (dev, bytes(key), [bytes(r[0]) for r in cur.execute(
                "SELECT raw FROM entries WHERE device_id = %s ORDER BY seq", (dev,)).fetchall()])
            for dev, key in devices.fetchall()
        ]  # fmt: skip
        media = [(bytes(d), v) for d, v in cur.execute(
            "SELECT digest, version FROM media WHERE digest NOT IN (%s)" % _REMOVED
            if _has(cur, "media_locks") else "SELECT digest, version FROM media")]  # fmt: skip
        damaged: dict = {}
        if _has(cur, "damaged_media"):
            noted = cur.execute("SELECT digest, sha256, object, version FROM damaged_media")
            damaged = {bytes(r[0]): (bytes(r[1]), r[2], r[3]) for r in noted.fetchall()}
        removed = []
        if _has(cur, "media_locks"):
            removed = [bytes(r[0]) for r in cur.execute(_REMOVED).fetchall()]
            removed = [d for d in removed if d not in damaged]
        approved = set()
        if _has(cur, "deleted_media"):
            approved = {bytes(r[0]) for r in cur.execute("SELECT digest FROM deleted_media")}
        report.media_waiting = cur.execute(
            "SELECT count(DISTINCT digest) FROM missing_media"
        ).fetchone()[0]
    _check_log(report, leaves, head_size[0] if head_size else 0, checkpoints, keys, store)
    _check_rows(report, leaves, rows)
    for device, key, raws in ledgers:
        result = verify_ledger(b"".join(raws), device, key)
        report.stats["devices"][device] = {"entries": len(raws), "state": result.state}
        # As the embedded store judges a ledger: OK with missing information (a device
        # enrolled that has not docked yet holds no entries) is not a problem.
        if not result.ok:
            report.add("ledger", "scaleout.f.ledger", device=device, state=result.state)
    _check_damaged(report, store, damaged, ledgers)
    for digest in removed:
        # Removed by retention's deletion (the object store let it go): authorised only
        # where a deletion, approved and on record, names it.
        if digest in approved:
            report.media_removed += 1
        else:
            report.add("object-removed", "scaleout.f.removed", digest=digest.hex())
    # The objects are read and hashed a few at once: each is a round trip to the object
    # store, which serves several as fast as one (boto3's client is thread-safe).
    with ThreadPoolExecutor(READERS, thread_name_prefix="verify-media") as pool:
        problems = list(pool.map(lambda dv: store.media.check(*dv), media))
    for (digest, _version), problem in zip(media, problems, strict=True):
        report.media_checked += 1
        if problem is not None:
            report.add(
                "object-" + problem,
                "scaleout.f.object",
                digest=digest.hex(),
                problem=text(PROBLEM_WORDS[problem]),
            )
    return report


def _check_damaged(report: ScaleReport, store, damaged: dict, ledgers: list) -> None:
    """Each chunk whose media was damaged at the move, as the embedded store's verify
    names it (``media-altered``, by device and seq; its device NOT OK); and the bytes kept
    of it, which must still hash to their own SHA-256."""
    import hashlib

    from botocore.exceptions import BotoCoreError, ClientError

    from host.evidence import chunk_media
    from protocol.errors import ProtocolError
    from protocol.ledger import parse_entry
    from protocol.verify import NOT_OK

    if not damaged:
        return
    for device, _key, raws in ledgers:
        for raw in raws:
            try:
                entry = parse_entry(raw)
                media = chunk_media(entry)
            except ProtocolError:
                continue  # the ledger's own check names it
            if media is None or media[0] not in damaged:
                continue
            report.add("media-altered", "scaleout.f.media_altered", device=device,
                       seq=entry.seq, digest=media[0].hex())  # fmt: skip
            report.stats["devices"][device]["state"] = NOT_OK
    for digest, (own, key, version) in sorted(damaged.items()):
        try:
            answer = store.media.s3.get_object(
                Bucket=store.media.bucket, Key=key, VersionId=version
            )
            kept = hashlib.sha256(answer["Body"].read()).digest() == own
        except (ClientError, BotoCoreError):  # gone or unreadable: the bytes are not there
            kept = False
        if not kept:
            report.add("damaged-lost", "scaleout.f.damaged_lost", digest=digest.hex(), key=key)


_REMOVED = "SELECT digest FROM media_locks WHERE removed_ms IS NOT NULL"


def _has(cur, table: str) -> bool:
    return cur.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


def _row_leaves(cur) -> Counter:
    """The leaf data every evidence row should have in the log."""
    want: Counter = Counter()
    for dev, seq, digest in cur.execute("SELECT device_id, seq, hash FROM entries"):
        want[hostlog.entry_leaf(dev, seq, bytes(digest))] += 1
    for dev, key in cur.execute("SELECT device_id, public_key FROM devices"):
        want[hostlog.device_leaf(dev, bytes(key))] += 1
    for row in cur.execute(
        "SELECT device_id, digest, reason, text, reported_ms FROM gone_media"
    ).fetchall():
        want[hostlog.gone_leaf(row[0], bytes(row[1]), row[2], row[3], row[4])] += 1
    for row in cur.execute(
        "SELECT device_id, ended_ms, link, result, entries, media, bytes_in, drift_ms, "
        "device_head FROM sessions"
    ).fetchall():
        want[hostlog.session_leaf(tuple(row))] += 1
    for (digest,) in cur.execute("SELECT digest FROM media").fetchall():
        want[hostlog.media_leaf(bytes(digest))] += 1
    return want


def _check_log(report: ScaleReport, leaves, head_size, checkpoints, keys, store) -> None:
    report.stats["leaves"] = len(leaves)
    roots = {}
    wanted = {size for size, *_ in checkpoints}
    tree = tlog.CompactTree()
    if 0 in wanted:
        roots[0] = tree.root()
    for expect, (idx, leaf, _kind, data) in enumerate(leaves):
        if idx != expect:
            report.add("log-gap", "scaleout.f.gap", idx=expect)
            break
        if tlog.leaf_hash(bytes(data)) != bytes(leaf):
            report.add("log-leaf", "scaleout.f.leaf_hash", idx=idx)
        tree.append(tlog.leaf_hash(bytes(data)))
        if tree.size in wanted:
            roots[tree.size] = tree.root()
    if head_size != len(leaves):
        report.add("log-head", "scaleout.f.head", size=head_size, leaves=len(leaves))
    for size, root, _kid, _note in checkpoints:
        if roots.get(size) != bytes(root):
            report.add("checkpoint", "scaleout.f.checkpoint", size=size)
    if not checkpoints:
        return
    size, root, kid, note = checkpoints[-1]
    report.stats["checkpoint"] = {"size": size, "kid": kid}
    publics = [bytes(p) for k, p in keys if k == kid]
    why = "no key"
    for public in publics:
        try:
            cp = tlog.open_checkpoint(note.encode("utf-8"), kid, public)
        except tlog.CheckpointError as exc:
            why = str(exc)
            continue
        origin = hostlog.origin_of(report.stats["store_id"])
        if (cp.origin, cp.size, cp.root) == (origin, size, bytes(root)):
            return
        why = "it names another log"
    report.add("signature", "scaleout.f.signature", kid=kid, why=why)


def _check_rows(report: ScaleReport, leaves, want: Counter) -> None:
    have: Counter = Counter(bytes(data) for _i, _l, kind, data in leaves if kind != hostlog.AUDIT)
    lost: Counter = Counter()
    extra: Counter = Counter()
    for data, n in (have - want).items():
        lost[hostlog.parse_leaf(data)[0]] += n
    for data, n in (want - have).items():
        extra[hostlog.parse_leaf(data)[0]] += n
    for kind, n in sorted(lost.items()):
        report.add("row-missing", "scaleout.f.row_missing", count=n, kind=kind)
    for kind, n in sorted(extra.items()):
        report.add("row-unlogged", "scaleout.f.row_unlogged", count=n, kind=kind)
