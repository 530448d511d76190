"""The scale-out store's object locks brought to what retention says (``host.objectlock``'s
plan, applied through ``host.s3media``).

Retention is read through one interface, ``ItemRetention``: which items use each media
object, and for each item the date its media must be kept to and whether a hold is in force
(``objectlock.Keep``). ``CursorRetention`` reads it from the management tables (items, their
notes, cases, holds, the policy; ``host.retention``) through a cursor of either store
(``host.sqlstore``). ``apply`` then, for the objects asked about: combines the items' wants
per object, plans against the lock the object has (as this host noted it when it set it,
``PgEvidenceStore.locks``; asked of the object store where there is no note), makes the
calls and notes the result. An object whose noted lock already covers its plan costs no
call to the object store at all.

Which objects a run looks at:
- after a change to retention (``after_change``, from the desk's commit): the objects of
  the recordings the change touched, and of no others. The store marks them
  (``lock_pending``) in the transaction that changed them, whatever code made the change,
  and a run clears a mark only once the object store took every lock it planned; so a
  change the object store missed (down, refusing) is planned again by the next run;
- at a dock, the session's new objects (``after_dock``; their first lock is set by the
  upload: ``objectlock.new_object_until``), in a pass the store runs after the receipt
  (``PgEvidenceStore.make_durable``): the commit that records them notes them
  (``lock_new``), the pass clears the notes of those whose locks it set;
- the periodic upkeep (``keep_up``, ``sealcam retention keep-up``): the marked recordings,
  the objects of docks whose pass did not run or did not finish (the host stopped first,
  the object store refused), and every recording linked to an open case, whose lock moves
  on with time and which no
  change extends (``objectlock``: "while a case is open"), planned ``margin`` ahead so a
  lock is extended before it falls short; with ``full``, every object, its lock read from
  the object store itself (the authority) to correct the notes, and each object whose
  real lock is shorter than its plan reported.

A call the object store refuses is reported (``Applied.failed``), not raised: the note is
only changed for calls that were made, and the recording stays marked.
"""

import datetime
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from host import objectlock, retention, sqlstore
from host.objectlock import Keep, Lock

if TYPE_CHECKING:
    import contextlib

    from host.s3media import S3Media
    from host.sqlstore import Cursor


class LockedStore(Protocol):
    """What the applier needs of a store whose media are locked objects
    (``host.pgstore.PgEvidenceStore``; named here, not imported: the store calls this)."""

    media: "S3Media"

    def read(self) -> "contextlib.AbstractContextManager[Cursor]": ...

    def write(self) -> "contextlib.AbstractContextManager[Cursor]": ...

    def locks(self, digests: "list | None" = None) -> dict: ...

    def note_locks(self, changed: dict, exact: bool = False) -> None: ...

    def pending_locks(self) -> "list[tuple[str, int]]": ...

    def clear_pending(self, done: "list[tuple[str, int]]") -> None: ...

    def new_objects(self) -> "list[bytes]": ...

    def clear_new(self, digests: "list[bytes]") -> None: ...


MANY = 20_000  # items read by lists of ids up to this; the whole tables above it
READERS = 4  # objects whose locks a full check asks the object store about at once
MARGIN_DAYS = objectlock.STEP_DAYS  # the upkeep's default: a lock short within it is extended

# The desk's actions after which retention may have grown or a hold changed (host.audit).
RETENTION_ACTIONS = frozenset(
    {"categorise", "case-change", "link-case", "retention-change", "policy-change", "hold",
     "release-hold"}
)  # fmt: skip

Progress = Callable[[int, int], None]  # (objects done, objects in all)


class ItemRetention(Protocol):
    """What the lock driver asks of retention."""

    def users(self, digests: "list[bytes] | None") -> "dict[bytes, list[str]]":
        """The items that use each media object (every object's, for None)."""
        ...

    def keeps(self, item_ids: "list[str]", now_ms: int) -> "dict[str, Keep]":
        """For each item, how long its media must stay locked, and whether it is held;
        an item retention does not know is left out."""
        ...


class Applied(NamedTuple):
    """What one run did: objects looked at, extended, holds put on and taken off, and the
    calls the object store refused (``(digest hex, why)``). A full check also gives the
    objects whose real lock was shorter than planned (``(digest hex, its retain-until ms
    or None, the date planned)``; extended since, unless in ``failed``) and how many notes
    it corrected to the object store's answer."""

    objects: int
    extended: int
    held: int
    released: int
    failed: list
    short: tuple = ()
    corrected: int = 0


def policy_of(store: Any) -> retention.Policy:
    """The agency's policy as the store holds it; the regulations' defaults where it has
    no settings yet (a store only the sync has written)."""
    with store.read() as cur:
        if not sqlstore.has_table(cur, "settings"):
            return retention.Policy()
        return retention.policy(cur)


def _ms(when: "datetime.datetime | None") -> "int | None":
    return None if when is None else int(when.timestamp() * 1000)


def _when(ms: "int | None") -> "datetime.datetime | None":
    return None if ms is None else datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


def lock_in_store(media: "S3Media", digest: bytes, version: str) -> Lock:
    """The lock the object store says the version has."""
    until, held = media.lock(digest, version)
    return Lock(_ms(until), held)


class CursorRetention:
    """``ItemRetention`` over the management tables, through ``cursor()`` (a context
    manager giving a read cursor of either store: ``store.read``)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def users(self, digests: "list[bytes] | None") -> "dict[bytes, list[str]]":
        out: dict = {}
        with self.cursor() as cur:
            if not sqlstore.has_table(cur, "media_refs"):
                return out
            if digests is None:
                rows = cur.execute("SELECT digest, item_id FROM media_refs").fetchall()
            else:
                sql = "SELECT digest, item_id FROM media_refs WHERE digest IN (%s)"
                rows = list(sqlstore.rows_in(cur, sql, [bytes(d) for d in digests]))
        for digest, item_id in rows:
            out.setdefault(bytes(digest), []).append(item_id)
        return out

    def keeps(self, item_ids: "list[str]", now_ms: int) -> "dict[str, Keep]":
        with self.cursor() as cur:
            return keeps_from(cur, item_ids, now_ms)


def objects_of(cur: "Cursor", item_ids: "Iterable[str]") -> "list[bytes]":
    """The media objects the recordings ``item_ids`` use (``media_refs``)."""
    if not sqlstore.has_table(cur, "media_refs"):
        return []
    sql = "SELECT DISTINCT digest FROM media_refs WHERE item_id IN (%s)"
    return list(
        dict.fromkeys(bytes(r[0]) for r in sqlstore.rows_in(cur, sql, sorted(set(item_ids))))
    )


def open_case_items(cur: "Cursor") -> "set[str]":
    """The recordings linked to a case still open: their locks move on with time."""
    if not (sqlstore.has_table(cur, "case_items") and sqlstore.has_table(cur, "cases")):
        return set()
    return {
        r[0]
        for r in cur.execute(
            "SELECT ci.item_id FROM case_items ci JOIN cases c ON c.case_no = ci.case_no "
            "WHERE c.closed_ms IS NULL"
        )
    }


def keeps_from(cur: "Cursor", item_ids: "Iterable[str]", now_ms: int) -> "dict[str, Keep]":
    """Each item's ``Keep`` from the management tables, read as ``retention`` reads the
    facts (``retention._case_links``, ``retention.held_items``): by lists of ids up to
    ``MANY`` items (four statements per ``sqlstore.CHUNK`` ids, beside the policy's and the tables'
    own: a dock's handful of items costs what a case's hundred do), the whole tables above
    it."""
    wanted = set(item_ids)
    if not wanted or not sqlstore.has_table(cur, "items"):
        return {}
    pol = retention.policy(cur) if sqlstore.has_table(cur, "settings") else retention.Policy()
    notes = sqlstore.has_table(cur, "item_notes")
    sql = "SELECT i.item_id, i.started_ms, %s FROM items i %s WHERE i.kind = 'recording'" % (
        ("n.category", "LEFT JOIN item_notes n ON n.item_id = i.item_id") if notes else ("NULL", "")
    )
    if len(wanted) <= MANY:  # a dock's new objects, a case's recordings: by lists of ids
        ids = sorted(wanted)
        rows = list(sqlstore.rows_in(cur, sql.replace("%", "%%") + " AND i.item_id IN (%s)", ids))
        links = retention._case_links(cur, ids=ids)
        held = retention.held_items(cur, ids=ids)
    else:
        rows = cur.execute(sql).fetchall()
        links = retention._case_links(cur)
        held = retention.held_items(cur)
    out = {}
    for item_id, started, category in rows:
        if item_id not in wanted:
            continue
        facts = retention.Facts(
            item_id, started, category, tuple(links.get(item_id, ())), item_id in held
        )
        out[item_id] = objectlock.keep_of(facts, pol, now_ms)
    return out


def apply(
    store: "LockedStore",
    source: ItemRetention,
    now_ms: int,
    digests: "list[bytes] | None" = None,
    check: bool = False,
    progress: "Progress | None" = None,
) -> Applied:
    """Bring the locks of the store's objects (all, or those of ``digests``) to what
    ``source`` says at ``now_ms``; see the module's docstring. ``check``: each object's
    lock is read from the object store, not from the note (a full check)."""
    objects = store.locks(digests)
    users = source.users(list(objects) if digests is not None else None)
    items = sorted({i for d in objects for i in users.get(d, ())})
    keeps = source.keeps(items, now_ms)
    extended = held = released = corrected = 0
    failed, short = [], []
    changed, exact = {}, {}
    asked = _ask_ahead(store.media, objects) if check else iter(())
    for n, (digest, (version, noted)) in enumerate(objects.items()):
        if progress is not None:
            progress(n, len(objects))
        answer = next(asked, None)  # the object store's answer for this object (check)
        want = objectlock.combine(keeps[i] for i in users.get(digest, ()) if i in keeps)
        if want is None and not check:
            continue  # no item uses it (yet): its first lock stands
        try:
            if answer is not None or noted is None:  # asked of the object store
                have = (
                    answer.result()
                    if answer is not None
                    else lock_in_store(store.media, digest, version)
                )
                if have != noted:
                    corrected += noted is not None
                    exact[digest] = have
            else:
                have = noted
            if want is None:
                continue
            calls = objectlock.plan(digest, version, want, have)
            if check and calls and (have.until_ms is None or have.until_ms < want.need_ms):
                short.append((digest.hex(), have.until_ms, want.need_ms))
            for call in calls:
                if isinstance(call, objectlock.Extend):
                    # The date it has is known (noted, or just asked): set, not read again.
                    until = datetime.datetime.fromtimestamp(call.until_ms / 1000, datetime.UTC)
                    now_held = store.media.extend(digest, version, until, _when(have.until_ms))
                    if now_held > until:  # the store held more than the note said
                        exact[digest] = Lock(_ms(now_held), have.held)
                    extended += 1
                else:
                    store.media.hold(digest, version, call.on)
                    held, released = held + call.on, released + (not call.on)
        except Exception as exc:  # the object store refused or is down: planned again later
            failed.append((digest.hex(), str(exc).splitlines()[0] if str(exc) else repr(exc)))
            continue
        if calls:
            changed[digest] = objectlock.after(have, calls)
    if progress is not None:
        progress(len(objects), len(objects))
    store.note_locks(exact, exact=True)  # the object store's answer first, then what was set
    store.note_locks(changed)
    return Applied(len(objects), extended, held, released, failed, tuple(short), corrected)


def _ask_ahead(media: "S3Media", objects: dict) -> "Iterator[Any]":
    """Each object's lock as the object store answers it (a future, in ``objects``'
    order), READERS asked at once and at most a few dozen ahead of the one waited for:
    a full check of many objects waits on the store's round trips, not on one at a time.
    The reads run on daemon threads (``host.daemonpool``): one waiting on an object store
    that does not answer never holds the process's end, and a read cut off changes
    nothing; those not started when the check ends are dropped."""
    from host.daemonpool import DaemonPool, NoThread, run_here

    ahead = READERS * 8
    pool = DaemonPool("lock-check", READERS)

    def ask(digest: bytes, version: str) -> "Any":
        try:
            return pool.submit(lock_in_store, media, digest, version)
        except NoThread:  # no thread could start: asked here, one at a time
            return run_here(lock_in_store, media, digest, version)

    try:
        items = iter(objects.items())
        queue = [ask(d, v) for d, (v, _n) in _take(items, ahead)]
        while queue:
            yield queue.pop(0)
            for d, (v, _n) in _take(items, 1):
                queue.append(ask(d, v))
    finally:
        pool.shutdown(cancel_futures=True)


def _take(items: "Iterator[Any]", n: int) -> list:
    return [x for _i, x in zip(range(n), items, strict=False)]


def _refresh_refs(store: "LockedStore") -> bool:
    """``media_refs`` brought up to the ledger (an index of it, as items.refresh); False
    where the store has no evidence management yet."""
    with store.write() as cur:
        if not sqlstore.has_table(cur, "media_refs"):
            return False
        retention.refresh_refs(cur)
    return True


def _marked(store: "LockedStore", items: "Iterable[str]", now_ms: int, **kw: Any) -> Applied:
    """Apply to the objects of ``items``, of the marked recordings, and of the docks whose
    lock pass did not run (``lock_new``); clear the marks and notes of those whose every
    object took its lock."""
    pending = store.pending_locks()
    new = store.new_objects()
    wanted = set(items) | {i for i, _m in pending}
    if not wanted and not new:
        return Applied(0, 0, 0, 0, [])
    with store.read() as cur:
        digests = list(dict.fromkeys([*objects_of(cur, wanted), *new]))
    applied = apply(store, CursorRetention(store.read), now_ms, digests, **kw)
    still, failed = set(), set()
    if applied.failed:
        failed = {bytes.fromhex(d) for d, _why in applied.failed}
        still = {i for ids in CursorRetention(store.read).users(list(failed)).values() for i in ids}
    store.clear_pending([(i, m) for i, m in pending if i not in still])
    store.clear_new([d for d in new if d not in failed])
    return applied


def after_change(store: "LockedStore", now_ms: int, every: bool = False) -> Applied:
    """After a change to retention: the locks of the objects of the recordings it touched
    (``lock_pending``) brought up to date; ``every``: every object's (a store just filled
    by a migration, whose changes were never marked)."""
    if not _refresh_refs(store):
        return Applied(0, 0, 0, 0, [])
    if every:
        pending = store.pending_locks()
        applied = apply(store, CursorRetention(store.read), now_ms)
        if not applied.failed:
            store.clear_pending(pending)
        return applied
    return _marked(store, (), now_ms)


def after_dock(store: "LockedStore", digests: "list[bytes]", now_ms: int) -> "Applied | None":
    """For a session's new objects, once recorded (the store runs it after the receipt):
    those that belong to a recording whose retention is longer than their first lock (a case
    already linked, a class already set, a hold) are brought to it; the notes of those
    done leave ``lock_new``, those the object store refused stay for the upkeep. Nothing
    to bring where the store has no evidence management yet."""
    if not _refresh_refs(store):
        store.clear_new(digests)  # no retention beyond the first lock to bring them to
        return None
    applied = apply(store, CursorRetention(store.read), now_ms, digests)
    failed = {bytes.fromhex(d) for d, _why in applied.failed}
    store.clear_new([d for d in digests if bytes(d) not in failed])
    return applied


def keep_up(
    store: "LockedStore",
    now_ms: int,
    margin_days: int = MARGIN_DAYS,
    full: bool = False,
    progress: "Progress | None" = None,
) -> Applied:
    """The periodic upkeep (see the module's docstring): the marked recordings' objects and
    those of every recording linked to an open case, planned at ``now_ms`` plus
    ``margin_days``: a lock that moves with time and would fall short of its want within
    the margin is extended now, one that would not is left alone. ``full``: every object,
    checked against the object store's own answer."""
    if not _refresh_refs(store):
        return Applied(0, 0, 0, 0, [])
    at = now_ms + margin_days * objectlock.DAY_MS
    if full:
        pending, new = store.pending_locks(), store.new_objects()
        applied = apply(store, CursorRetention(store.read), at, None, True, progress)
        if not applied.failed:
            store.clear_pending(pending)
            store.clear_new(new)
        return applied
    with store.read() as cur:
        moving = open_case_items(cur)
    return _marked(store, moving, at, progress=progress)


def counts(done: Applied, margin_days: int, full: bool) -> dict:
    """A run's counts, as its audit record and its reports give them."""
    return {
        "margin_days": margin_days,
        "full": full,
        "objects": done.objects,
        "extended": done.extended,
        "held": done.held,
        "released": done.released,
        "failed": len(done.failed),
        "short": len(done.short),
        "corrected": done.corrected,
    }


def daemon_upkeep(open_store: "Callable[[], Any]", actor: str, now_ms: int) -> "dict | None":
    """One upkeep run as a sync daemon makes it (``host.daemon.Daemon.upkeep``): on a store
    of its own (its own database connection and S3 client, so no session waits for it),
    by one host at a time (``try_upkeep``; None when another holds it, or the store has no
    evidence management yet), with one ``lock-keep-up`` audit record by ``actor`` (the
    daemon's host key id: no person ran it). Its counts."""
    from host import audit

    store = open_store()
    try:
        if not store.try_upkeep():
            return None
        with store.read() as cur:
            if not sqlstore.has_table(cur, "audit"):
                return None
        done = keep_up(store, now_ms)
        out = counts(done, MARGIN_DAYS, False)
        details = dict(out, failed_digests=[d for d, _why in done.failed][:100])
        with store.write() as cur:
            audit.record(cur, store.log, actor, audit.LOCK_KEEP_UP, now_ms, details=details)
        return out
    finally:
        store.close()
