"""The scale-out store's object locks brought to what retention says (``host.objectlock``'s
plan, applied through ``host.s3media``).

Retention is read through one interface, ``ItemRetention``: which items use each media
object, and for each item the date its media must be kept to and whether a hold is in force
(``objectlock.Keep``). ``CursorRetention`` reads it from the management tables (items, their
notes, cases, holds, the policy; ``host.retention``) through a cursor of either store
(``host.sqlstore``). ``apply`` then, for the objects asked about: combines the items' wants
per object, plans against the lock the object has (as this host noted it when it set it,
``PgEvidenceStore.locks``; asked of the object store where there is no note), makes the
calls and notes the result. It runs after every change to retention (``after_change``,
from the desk's commit) and for a session's new objects at the dock (their first lock is
set by the upload: ``objectlock.new_object_until``).

A call the object store refuses is reported (``Applied.failed``), not raised: the next run
plans it again, since the note is only changed for calls that were made.
"""

import datetime
from collections.abc import Iterable
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

    def note_locks(self, changed: dict) -> None: ...

FEW = 32  # items read one by one below this; the whole table in one read above it

# The desk's actions after which retention may have grown or a hold changed (host.audit).
RETENTION_ACTIONS = frozenset(
    {"categorise", "case-change", "link-case", "retention-change", "policy-change", "hold",
     "release-hold"}
)  # fmt: skip


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
    calls the object store refused (``(digest hex, why)``)."""

    objects: int
    extended: int
    held: int
    released: int
    failed: list


def policy_of(store: Any) -> retention.Policy:
    """The agency's policy as the store holds it; the regulations' defaults where it has
    no settings yet (a store only the sync has written)."""
    with store.read() as cur:
        if not sqlstore.has_table(cur, "settings"):
            return retention.Policy()
        return retention.policy(cur)


def _ms(when: "datetime.datetime | None") -> "int | None":
    return None if when is None else int(when.timestamp() * 1000)


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
                rows = []
                for digest in digests:
                    rows += cur.execute(
                        "SELECT digest, item_id FROM media_refs WHERE digest = ?", (digest,)
                    ).fetchall()
        for digest, item_id in rows:
            out.setdefault(bytes(digest), []).append(item_id)
        return out

    def keeps(self, item_ids: "list[str]", now_ms: int) -> "dict[str, Keep]":
        with self.cursor() as cur:
            return keeps_from(cur, item_ids, now_ms)


def keeps_from(cur: "Cursor", item_ids: "Iterable[str]", now_ms: int) -> "dict[str, Keep]":
    """Each item's ``Keep`` from the management tables, in a handful of queries however many
    items (as ``retention.plan_scan`` reads the facts)."""
    wanted = set(item_ids)
    if not wanted or not sqlstore.has_table(cur, "items"):
        return {}
    pol = (
        retention.policy(cur) if sqlstore.has_table(cur, "settings") else retention.Policy()
    )
    notes = sqlstore.has_table(cur, "item_notes")
    sql = "SELECT i.item_id, i.started_ms, %s FROM items i %s WHERE i.kind = 'recording'" % (
        ("n.category", "LEFT JOIN item_notes n ON n.item_id = i.item_id") if notes else ("NULL", "")
    )
    if len(wanted) <= FEW:  # a dock's new objects, one item's change: read those alone
        rows, links, held = [], {}, set()
        for item_id in sorted(wanted):
            rows += cur.execute(sql + " AND i.item_id = ?", (item_id,)).fetchall()
            links.update(retention._case_links(cur, item_id))
            held |= retention.held_items(cur, item_id)
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
) -> Applied:
    """Bring the locks of the store's objects (all, or those of ``digests``) to what
    ``source`` says; see the module's docstring."""
    objects = store.locks(digests)
    users = source.users(list(objects) if digests is not None else None)
    items = sorted({i for d in objects for i in users.get(d, ())})
    keeps = source.keeps(items, now_ms)
    extended = held = released = 0
    failed = []
    changed = {}
    for digest, (version, noted) in objects.items():
        want = objectlock.combine(keeps[i] for i in users.get(digest, ()) if i in keeps)
        if want is None:
            continue  # no item uses it (yet): its first lock stands
        try:
            have = noted if noted is not None else lock_in_store(store.media, digest, version)
            calls = objectlock.plan(digest, version, want, have)
            for call in calls:
                if isinstance(call, objectlock.Extend):
                    until = datetime.datetime.fromtimestamp(call.until_ms / 1000, datetime.UTC)
                    store.media.extend(digest, version, until)
                    extended += 1
                else:
                    store.media.hold(digest, version, call.on)
                    held, released = held + call.on, released + (not call.on)
        except Exception as exc:  # the object store refused or is down: planned again later
            failed.append((digest.hex(), str(exc).splitlines()[0] if str(exc) else repr(exc)))
            continue
        if calls or noted is None:
            changed[digest] = objectlock.after(have, calls)
    store.note_locks(changed)
    return Applied(len(objects), extended, held, released, failed)


def after_change(store: "LockedStore", now_ms: int) -> Applied:
    """After a change to retention: every object's lock brought up to date (the plan asks
    the object store only where a lock must change)."""
    with store.write() as cur:  # media_refs is an index of the ledger, as items.refresh
        if sqlstore.has_table(cur, "media_refs"):
            retention.refresh_refs(cur)
    return apply(store, CursorRetention(store.read), now_ms)


def after_dock(store: "LockedStore", digests: "list[bytes]", now_ms: int) -> "Applied | None":
    """For a session's new objects, once recorded: those that belong to a recording whose
    retention is longer than their first lock (a case already linked, a class already set,
    a hold) are brought to it. Nothing where the store has no evidence management yet."""
    with store.write() as cur:
        if not sqlstore.has_table(cur, "media_refs"):
            return None
        retention.refresh_refs(cur)
    return apply(store, CursorRetention(store.read), now_ms, digests)
