"""Moving an embedded evidence store (a folder: SQLite and media files) into the scale-out
form (PostgreSQL and an S3 bucket with Object Lock), then proving the copy whole.

What moves: the devices, their ledgers, the sync sessions, the notes of media still owed
and of media devices could not give; the host's own log (its leaves, head, signed
checkpoints and host keys, and the store's id, so every checkpoint signed before still
verifies); every media file, as a locked object; and the evidence-management tables (people,
the audit trail, items, cases, retention, registers, review, ...), table by table through
the schema both stores share (``host.access.SCHEMAS`` and the layers' own, made in
PostgreSQL's types by ``host.sqlstore``), column by column. The caches a store rebuilds
(retention's plan index, the review page's views) are left behind and named.

The target must be empty: a database with no rows (a ``sealcam`` schema made but never
written is empty), and a bucket holding nothing but objects of this very store's media (an
earlier run's, cut off). The database is written in ONE transaction, after every object is
stored: all or nothing. The objects cannot be taken back (they are locked the moment they
are written), so that side is resumable: run the same command again and each object already
in the bucket is kept, checked by the MD5 the object store computed of it, not sent again.

Each object is locked from when its chunk was recorded for the shortest period the store's
policy gives (``host.objectlock.new_object_until``), then brought to its item's class and
holds once the tables are in (``host.medialocks``). Then the copy is verified
(``host.pgverify``) and compared with the source: the same log (size and root), the same
entries per device, the same media. Reads the source only; it is never changed.

A media file that no longer hashes to the digest its signed entry names (bit rot, or a
change) stops the move, unless ``carry_damaged``: then everything else moves as above, and
the damaged bytes are kept, never under the digest (an object ``media/HEX`` always hashes
to HEX), but as an object of their own, ``damaged/OWN`` (OWN: their own SHA-256), locked and
under a legal hold. The copy records each one in ``damaged_media`` (the digest, the bytes'
own hash and size, when and by whom it was found) with one ``store-migrate`` audit record
naming them all, so its verify names those chunks as the source's does and is NOT OK for
them: the move neither hides damage nor makes any up. A run cut off can leave a chunk both
objects (the media stored from the file while it was whole, and the damaged bytes); the
run again records what the bucket holds: the media, once it hashes to its digest, is the
chunk's, and the damaged bytes stay kept, named in the audit record as kept aside.
"""

import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from host import hostlog, i18n, objectlock, retention, sqlstore
from host.errors import Unusable

if TYPE_CHECKING:
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore

# Rebuilt by the store that needs them, never copied: retention's plan index and the review
# page's views and dashboard flags. (PostgreSQL numbers sessions, gone media and
# checkpoints with an id that SQLite keeps as the rowid: it is given from there, so their
# order stays.)
REBUILT = frozenset(
    {"retention_index", "retention_stale", "retention_index_of", "web_views", "web_flags"}
)
DAMAGED = "damaged/"  # the key prefix of bytes kept that did not match their digest
# The copy's note of each digest whose source file was damaged when it was moved (the
# media row and the log's leaf stay as the source had them; no object of the digest
# exists, so its media_locks row is marked removed at the move, and verify reads this
# table, not retention's deletions, for it).
DAMAGED_SCHEMA = """
CREATE TABLE IF NOT EXISTS damaged_media (
    digest BYTEA PRIMARY KEY,
    sha256 BYTEA NOT NULL,
    size BIGINT NOT NULL,
    object TEXT NOT NULL,
    version TEXT NOT NULL,
    found_ms BIGINT NOT NULL,
    found_by TEXT NOT NULL
)
"""
UPLOADERS = 4  # objects sent at once
BATCH = 2000  # rows per insert


class Report(NamedTuple):
    """What was moved, what was left behind (rebuilt), and the copy's verdict."""

    tables: "dict[str, int]"  # table -> rows copied
    media: int  # objects stored
    reused: int  # of which already in the bucket from a run cut off
    media_bytes: int
    removed: int  # media retention had deleted: recorded as removed, nothing to send
    left: "list[str]"  # tables not copied (rebuilt where needed)
    verified: Any  # host.pgverify.ScaleReport
    differences: "list[str]"  # where the copy and the source disagree
    damaged: "tuple[Damaged, ...]" = ()  # carried damaged media (``carry_damaged``)


class Damaged(NamedTuple):
    """A source file that did not hash to its digest, as carried into the copy."""

    digest: bytes  # the digest its signed entry names
    sha256: bytes  # the bytes' own
    size: int
    key: str  # their object, ``damaged/OWN``
    version: str
    # The bucket also holds the digest's own object, stored by an earlier run from the
    # file while it was whole, and it hashes to the digest: that object is the chunk's
    # media in the copy (nothing is damaged there); these bytes are only kept aside.
    recovered: bool = False
    # Recovered the other way round: an earlier run kept these bytes aside and the file
    # is whole now (restored), its media stored whole (``_kept_aside``).
    earlier: bool = False


def _schemas() -> tuple:
    from host import access, review, sampling

    return (*access.SCHEMAS, retention.SCHEMA, sampling.SCHEMA, review.SCHEMA)


def _source_tables(src: "SqliteEvidenceStore") -> "list[str]":
    rows = src._db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def _columns_sqlite(src: "SqliteEvidenceStore", table: str) -> "list[str]":
    return [r[1] for r in src._db.execute("PRAGMA table_info(%s)" % table)]


def _columns_pg(cur: Any, table: str) -> "list[str]":
    rows = cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def target_problem(url: str) -> "str | None":
    """Why the database at ``url`` is no empty target, or None. Read before anything is
    made in it: a database holding anything (ours or another's) is refused."""
    from host.pgstore import _shown, connect

    conn = connect(url)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "current_schema() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        for table in sorted(tables):
            if table in ("log_head", "store_meta"):
                # Made with the schema: the empty log's head, the store's new id.
                if table == "log_head":
                    n = conn.execute("SELECT count(*) FROM log_head WHERE size > 0").fetchone()
                else:
                    n = conn.execute(
                        "SELECT count(*) FROM store_meta WHERE name != 'store_id'"
                    ).fetchone()
            else:
                n = conn.execute('SELECT 1 FROM "%s" LIMIT 1' % table.replace('"', '""'))
                n = (len(n.fetchall()),)
            if n[0]:
                return i18n.text("migrate.not_empty", url=_shown(url), table=table)
    finally:
        conn.close()
    return None


def bucket_problem(
    media: Any, digests: "set[bytes]", kept: "set[str] | None" = None
) -> "str | None":
    """Why the bucket is no target for the store whose media are ``digests``, or None: it
    may hold only objects of those media (a run cut off). ``kept``: the damaged bytes this
    store keeps (their keys); None: any ``damaged/OWN`` passes here, and the caller checks
    it once it knows which files are damaged."""
    from host.s3media import PREFIX

    pages = media.s3.get_paginator("list_object_versions").paginate(Bucket=media.bucket)
    for page in pages:
        for v in page.get("DeleteMarkers", []):
            return i18n.text("migrate.bucket_used", bucket=media.bucket, key=v.get("Key"))
        for v in page.get("Versions", []):
            key = str(v.get("Key", ""))
            if key.startswith(DAMAGED) and (key in kept if kept is not None else _hex64(key)):
                continue
            try:
                digest = bytes.fromhex(key[len(PREFIX) :]) if key.startswith(PREFIX) else b""
            except ValueError:
                digest = b""
            if digest not in digests:
                return i18n.text("migrate.bucket_used", bucket=media.bucket, key=key)
    return None


def _hex64(key: str) -> bool:
    name = key[len(DAMAGED) :]
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _recorded(src: "SqliteEvidenceStore") -> "dict[bytes, int]":
    """digest -> when the first chunk naming it was recorded (ms)."""
    from host.evidence import chunk_media
    from protocol.errors import ProtocolError
    from protocol.ledger import parse_entry
    from protocol.registry import KIND_CHUNK

    out: dict = {}
    for raw, wall_ms in src._db.execute(
        "SELECT raw, wall_ms FROM entries WHERE kind = ? ORDER BY wall_ms", (KIND_CHUNK,)
    ):
        try:
            media = chunk_media(parse_entry(bytes(raw)))
        except ProtocolError:
            continue  # verify reports it; it names nothing to lock
        if media is not None:
            out.setdefault(media[0], wall_ms)
    return out


def _logged_media(src: "SqliteEvidenceStore") -> "list[bytes]":
    """Every media the source's log says it stored, in log order."""
    out = []
    for (data,) in src._db.execute("SELECT data FROM log WHERE kind = ? ORDER BY idx",
                                   (hostlog.MEDIA,)):  # fmt: skip
        out.append(bytes(hostlog.parse_leaf(bytes(data))[1]))
    return out


def _head(media: Any, key: str) -> "dict | None":
    """The object ``key``'s newest version as the store describes it; None when none."""
    from botocore.exceptions import ClientError

    try:
        return dict(media.s3.head_object(Bucket=media.bucket, Key=key))
    except ClientError:
        return None


def _same(head: "dict | None", md5: bytes, meta: "dict[str, str]") -> bool:
    """Whether ``head`` is an object of these bytes (the store's MD5 of it) and notes."""
    return (
        head is not None
        and str(head.get("ETag", "")).strip('"') == md5.hex()
        and head.get("Metadata", {}) == meta
        and bool(head.get("VersionId"))
    )


def _store_object(
    media: Any, digest: bytes, path: str, until_ms: int, carry: bool = False
) -> "tuple[str, int, bool, Damaged | None]":
    """``(version, size, reused, damaged)``: the object of ``digest`` in the bucket, its
    bytes the file's; one an earlier run stored is kept when the store's MD5 of it is the
    file's. A file that does not hash to ``digest`` is refused (Unusable), or with ``carry``
    kept as ``damaged/OWN`` (``damaged`` says so, ``version`` is then ""). The file is
    read once: both hashes and the upload are of the same bytes."""
    import datetime

    from host.s3media import PREFIX, SHA_META

    with open(path, "rb") as fh:
        data = fh.read()
    size = len(data)
    md5 = hashlib.md5(data).digest()  # the object store's own check, not for security
    head = _head(media, PREFIX + digest.hex())
    if _same(head, md5, {SHA_META: digest.hex()}):
        assert head is not None
        return str(head["VersionId"]), size, True, None
    own = hashlib.sha256(data).digest()
    until = datetime.datetime.fromtimestamp(until_ms / 1000, datetime.UTC)
    if own != digest:
        if not carry:
            raise Unusable(i18n.text("migrate.media_altered", digest=digest.hex(), path=path))
        version, again = _keep_damaged(media, digest, own, data, md5, until)
        bad = Damaged(digest, own, size, DAMAGED + own.hex(), version)
        # A run cut off after it stored the media, from the file while it was whole, and
        # before it recorded it: that object, if it hashes to the digest, is the media.
        good = _good_object(media, digest, head)
        if good is not None:
            return good[0], good[1], True, bad._replace(recovered=True)
        return "", size, again, bad
    return media.put(digest, data, md5, until), size, False, None


def _good_object(media: Any, digest: bytes, head: "dict | None") -> "tuple[str, int] | None":
    """``(version, size)`` of the object of ``digest`` described by ``head`` (its newest
    version, what a reader by name gets) when its bytes hash to ``digest``; else None."""
    from botocore.exceptions import BotoCoreError, ClientError

    from host.s3media import SHA_META, MediaRefused

    if head is None or head.get("Metadata", {}).get(SHA_META) != digest.hex():
        return None
    version = str(head.get("VersionId") or "")
    if not version:
        return None
    try:
        data = media.read(digest, version)
    except (ClientError, BotoCoreError, MediaRefused):
        return None
    return (version, len(data)) if hashlib.sha256(data).digest() == digest else None


def _kept_aside(media: Any, stored: dict, known: "set[str]") -> "list[Damaged]":
    """Damaged bytes an earlier run kept (``damaged/OWN``, not among ``known``) of a file
    whose media is stored whole now (``stored``: the file is whole again, or an object
    stored before it was damaged was found): the media is the chunk's, these bytes are
    kept aside, each checked to hash to its own SHA-256. Others are left for
    ``bucket_problem`` to refuse."""
    from botocore.exceptions import BotoCoreError, ClientError

    out = []
    pages = media.s3.get_paginator("list_objects_v2").paginate(Bucket=media.bucket, Prefix=DAMAGED)
    for page in pages:
        for listed in page.get("Contents", []):
            key = str(listed.get("Key", ""))
            if key in known or not _hex64(key):
                continue
            try:
                answer = media.s3.get_object(Bucket=media.bucket, Key=key)
                data = bytes(answer["Body"].read())
                digest = bytes.fromhex(answer.get("Metadata", {}).get("entry-sha256", ""))
            except (ClientError, BotoCoreError, ValueError):
                continue
            own = hashlib.sha256(data).digest()
            if digest in stored and own.hex() == key[len(DAMAGED) :] and answer.get("VersionId"):
                version = str(answer["VersionId"])
                out.append(
                    Damaged(digest, own, len(data), key, version, recovered=True, earlier=True)
                )
    return out


def _keep_damaged(
    media: Any, digest: bytes, own: bytes, data: bytes, md5: bytes, until: Any
) -> "tuple[str, bool]":
    """``(version, reused)`` of the object ``damaged/OWN`` holding ``data``: sent with both
    checksums (the object store checks the bytes are the ones hashed here), locked in
    COMPLIANCE mode as the digest's object would have been and under a legal hold, so only
    a person lifting the hold ever lets it go (``S3Media.put_locked``). One an earlier run
    stored is kept."""
    from host.s3media import SHA_META

    key = DAMAGED + own.hex()
    meta = {SHA_META: own.hex(), "entry-sha256": digest.hex()}
    head = _head(media, key)
    if _same(head, md5, meta):
        assert head is not None
        return str(head["VersionId"]), True
    return media.put_locked(key, data, md5, own, meta, until, held=True), False


def migrate(
    src: "SqliteEvidenceStore",
    url: str,
    media_url: str,
    progress: "Callable[[int, int], None]" = lambda done, total: None,
    now_ms: "Callable[[], int]" = lambda: int(time.time() * 1000),
    carry_damaged: bool = False,
    by: str = "",
) -> Report:
    """Move ``src`` into ``url`` and ``media_url`` (see the module's docstring); Unusable,
    in one line, for a target that is not empty or cannot be reached, or a damaged media
    file unless ``carry_damaged``. ``progress(bytes done, bytes in all)`` as the objects
    go; ``by``: who moved it, for the audit record of damage carried."""
    from host import medialocks, pgverify
    from host.evidence import StoreUnopenable
    from host.pgstore import PgEvidenceStore
    from host.s3media import MediaUnusable, S3Media

    try:
        problem = target_problem(url)
    except StoreUnopenable as exc:
        raise Unusable(str(exc)) from None
    if problem:
        raise Unusable(problem)
    logged = _logged_media(src)
    try:
        bucket = S3Media(media_url, create=True)
    except MediaUnusable as exc:
        raise Unusable(str(exc)) from None
    problem = bucket_problem(bucket, set(logged))
    if problem:
        raise Unusable(problem)

    with src.read() as cur:
        pol = retention.policy(cur) if sqlstore.has_table(cur, "settings") else retention.Policy()
        deleted = set(retention.deleted_digests(cur))
    recorded = _recorded(src)
    files = []
    removed = []
    for digest in dict.fromkeys(logged):
        path = str(src.media_file(digest))
        if os.path.exists(path):
            files.append((digest, path))
        else:
            removed.append(digest)  # deleted by retention (or lost: verify says which)
    total = sum(os.path.getsize(p) for _d, p in files)
    now = now_ms()
    stored: dict = {}
    damaged: list = []
    done_bytes = 0
    reused = 0
    with ThreadPoolExecutor(UPLOADERS, thread_name_prefix="migrate") as pool:
        futures = [
            (digest, pool.submit(_store_object, bucket, digest, path,
                                 objectlock.new_object_until(recorded.get(digest, now), pol),
                                 carry_damaged))
            for digest, path in files
        ]  # fmt: skip
        for digest, future in futures:
            version, size, again, bad = future.result()
            until = objectlock.new_object_until(recorded.get(digest, now), pol)
            if bad is None or bad.recovered:
                stored[digest] = (version, size, until)
            if bad is not None:
                damaged.append(bad)
            reused += again
            done_bytes += size
            progress(done_bytes, total)
    if carry_damaged:
        # Damaged bytes a run cut off kept of a file whole now (restored since): the media
        # stored now is the chunk's, the bytes stay kept aside, on record.
        damaged += _kept_aside(bucket, stored, {d.key for d in damaged})
    # Damaged bytes kept by an earlier run must be those of a file found damaged now.
    problem = bucket_problem(bucket, set(logged), {d.key for d in damaged})
    if problem:
        raise Unusable(problem)

    try:
        target = PgEvidenceStore(url, media_url)
    except StoreUnopenable as exc:
        raise Unusable(str(exc)) from None
    try:
        for schema in _schemas():
            target.add_tables(schema)
        copied, left = _copy_tables(src, target, stored, removed, deleted, now, damaged, by)
        with src.read() as cur:
            managed = sqlstore.has_table(cur, "holds")
        if managed:
            medialocks.after_change(target, now, every=True)  # classes and holds onto the locks
        verified = pgverify.check(target)
        differences = _compare(src, target, 1 if damaged else 0)
    finally:
        target.close()
    return Report(
        copied,
        len(stored),
        reused,
        total,
        len(removed),
        left,
        verified,
        differences,
        tuple(damaged),
    )


def _copy_tables(
    src: "SqliteEvidenceStore",
    target: "PgEvidenceStore",
    stored: dict,
    removed: list,
    deleted: set,
    now: int,
    damaged: "list[Damaged] | None" = None,
    by: str = "",
) -> "tuple[dict, list]":
    """Every table, in one transaction of the target: all or nothing. Damaged media
    carried are noted (``damaged_media``) with one audit record naming them, in the same
    transaction."""
    copied: dict = {}
    left = []
    with target._transaction() as cur:
        # The schema's own rows (a new store id, an empty head) give way to the source's.
        cur.execute("DELETE FROM store_meta")
        cur.execute("DELETE FROM log_head")
        have = set(_pg_tables(cur))
        for table in _source_tables(src):
            if table in ("media_locks", "media"):
                continue
            if table in REBUILT or table not in have:
                left.append(table)
                continue
            copied[table] = _copy_one(src, cur, table)
        noted = damaged or []
        # Bytes kept aside of a chunk whose media is whole in the copy are on record only.
        damaged = [d for d in noted if not d.recovered]
        rows = [(d, v, n, now) for d, (v, n, _u) in stored.items()]
        rows += [(d, "", 0, now) for d in removed]
        rows += [(d.digest, "", d.size, now) for d in damaged]
        _insert(cur, "media", ["digest", "version", "size", "stored_ms"], rows)
        locks: list = [(d, u, False, None) for d, (_v, _n, u) in stored.items()]
        # Removed by retention: noted as removed (verify asks for an approved deletion of
        # each); lost otherwise: left for verify to report missing.
        locks += [(d, 0, False, now) for d in removed if d in deleted]
        # No object of a damaged digest exists: nothing to lock or keep up for it.
        locks += [(d.digest, 0, False, now) for d in damaged]
        _insert(cur, "media_locks", ["digest", "until_ms", "held", "removed_ms"], locks)
        copied["media"] = len(rows)
        if noted:
            _note_damaged(target, cur, noted, now, by)
    return copied, sorted(left)


def _note_damaged(
    target: "PgEvidenceStore", cur: Any, damaged: "list[Damaged]", now: int, by: str
) -> None:
    """``damaged_media``'s rows and one ``store-migrate`` audit record naming each (its
    leaf is the only one the copy's log has beyond the source's). Bytes kept aside of a
    chunk whose media is whole in the copy (``Damaged.recovered``) have no row (nothing
    of the copy is damaged): the record names them apart, ``kept_aside``."""
    import psycopg

    from host import audit

    cur.execute(DAMAGED_SCHEMA)
    carried = [d for d in damaged if not d.recovered]
    _insert(cur, "damaged_media",
            ["digest", "sha256", "size", "object", "version", "found_ms", "found_by"],
            [(d.digest, d.sha256, d.size, d.key, d.version, now, by) for d in carried])  # fmt: skip

    def named(ds: "list[Damaged]") -> list:
        return [{"digest": d.digest.hex(), "sha256": d.sha256.hex(), "size": d.size,
                 "object": d.key, "version": d.version} for d in ds]  # fmt: skip

    details: dict = {"damaged": named(carried)}
    aside = [d for d in damaged if d.recovered]
    if aside:
        details["kept_aside"] = named(aside)
    management = sqlstore.PgCursor(psycopg.ClientCursor(target._db))
    audit.record(management, target.log, by or "?", audit.STORE_MIGRATE, now,
                 outcome=audit.DONE, details=details)  # fmt: skip


def _pg_tables(cur: Any) -> "list[str]":
    return [
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    ]


def _copy_one(src: "SqliteEvidenceStore", cur: Any, table: str) -> int:
    """A table's rows, by the columns both have; SQLite's rowid as the id where PostgreSQL
    numbers the rows and SQLite does not name the column; identities moved past them."""
    theirs = _columns_pg(cur, table)
    ours = _columns_sqlite(src, table)
    columns = [c for c in ours if c in theirs]
    select = ", ".join('"%s"' % c for c in columns)
    into = list(columns)
    if "id" in theirs and "id" not in ours:
        select = "rowid, " + select
        into = ["id", *columns]
    n = 0
    rows = (
        src._db.execute('SELECT %s FROM "%s" ORDER BY rowid' % (select, table))
        if _has_rowid(src, table)
        else src._db.execute('SELECT %s FROM "%s"' % (select, table))
    )
    while True:
        batch = rows.fetchmany(BATCH)
        if not batch:
            break
        _insert(cur, table, into, [tuple(_pg(v) for v in r) for r in batch])
        n += len(batch)
    for column in into:
        seq = cur.execute("SELECT pg_get_serial_sequence(%s, %s)", (table, column)).fetchone()
        if seq and seq[0]:
            cur.execute(
                'SELECT setval(%%s, coalesce((SELECT max("%s") FROM "%s"), 0) + 1, false)'
                % (column, table),
                (seq[0],),
            )
    return n


def _has_rowid(src: "SqliteEvidenceStore", table: str) -> bool:
    sql = src._db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return bool(sql) and "WITHOUT ROWID" not in str(sql[0]).upper()


def _pg(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def _insert(cur: Any, table: str, columns: "list[str]", rows: list) -> None:
    if not rows:
        return
    names = ", ".join('"%s"' % c for c in columns)
    with cur.copy('COPY "%s" (%s) FROM STDIN' % (table, names)) as copy:
        for row in rows:
            copy.write_row(row)


def _compare(src: "SqliteEvidenceStore", target: "PgEvidenceStore", added: int = 0) -> "list[str]":
    """Where the copy says otherwise than the source: its log, each ledger, the media.
    ``added``: audit leaves the move itself appended (the record of damage carried): the
    copy's log is then the source's and those, nothing else."""
    out = []
    a, b = src.log_head(), target.log_head()
    if (a.origin, a.size + added) != (b.origin, b.size) or _root_at(target, a.size) != a.root:
        out.append(i18n.text("migrate.diff_log", source=a.size, target=b.size))
    elif added and _kinds_after(target, a.size) != [hostlog.AUDIT] * added:
        out.append(i18n.text("migrate.diff_log", source=a.size, target=b.size))
    for device in src.devices():
        n, m = src.head(device), target.head(device)
        if n != m:
            out.append(i18n.text("migrate.diff_ledger", device=device, source=n[0], target=m[0]))
    if sorted(src.devices()) != sorted(target.devices()):
        out.append(i18n.text("migrate.diff_devices"))
    return out


def _root_at(target: "PgEvidenceStore", size: int) -> bytes:
    """The root of the copy's log over its first ``size`` leaves, from the leaves."""
    from host import tlog

    tree = tlog.CompactTree()
    for (data,) in target._rows("SELECT data FROM log WHERE idx < %s ORDER BY idx", (size,)):
        tree.append(tlog.leaf_hash(bytes(data)))
    return tree.root()


def _kinds_after(target: "PgEvidenceStore", size: int) -> "list[str]":
    rows = target._rows("SELECT kind FROM log WHERE idx >= %s ORDER BY idx", (size,))
    return [r[0] for r in rows]
