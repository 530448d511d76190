"""Object Lock by retention class on the real object store (issue 18: "COMPLIANCE retention
set from the item's retention class, extended when retention grows, legal holds for holds,
never shortened; deletion through retention deletes the object version only when the lock
allows, and records it in the audit log"), against PostgreSQL 15 and Ceph's S3 gateway.
The planner's rules alone: tests/host/test_objectlock.py."""
# micropython: skip (host code, real services)
# R-HOST-3: the host's categories decide how long footage is kept; R-HOST-5: no deletion
# but retention's, approved and on record.

import datetime
import hashlib
import time

from host import audit, i18n, items, medialocks, objectlock, people, pgverify, retention
from host.access import Desk
from host.cli.main import main
from host.objectlock import Keep, Lock
from host.pgstore import PgEvidenceStore
from tests.host.helpers import ACCOUNT_PASSWORD, sign_checkpoint, synced_evidence
from tests.scaleout.helpers import clock_passes, docked_copy

ACCOUNTS = (
    ("admin", (people.ADMINISTRATOR,), None),
    ("clerk", (people.CLERK,), None),
    ("boss", (people.APPROVER,), None),
)
DAY = retention.DAY_MS


def scaleout_copy(tmp_path, url, media) -> PgEvidenceStore:
    """A scale-out store holding one synced recording, stored as a dock stores it (its
    objects locked from when the chunks were recorded), with accounts."""
    return docked_copy(synced_evidence(tmp_path / "ev"), url, media, ACCOUNTS)


def in_store(store: PgEvidenceStore) -> dict:
    """digest -> the lock the object store says each recorded object's version has."""
    return {
        d: medialocks.lock_in_store(store.media, d, version)
        for d, (version, _noted) in store.locks().items()
    }


def near(ms_a, ms_b) -> bool:
    return ms_a is not None and abs(ms_a - ms_b) < 1000  # the store keeps whole seconds


def test_locks_follow_the_items_retention_grow_with_it_and_never_shrink(tmp_path, scale_store):
    url, media = scale_store
    store = scaleout_copy(tmp_path, url, media)
    with store.read() as cur:
        (item,) = items.find(cur)
    # Stored at the dock: each object locked for the shortest period any class gives
    # (two years by default) from when its chunk was recorded, no hold.
    first = in_store(store)
    assert first and all(not lk.held for lk in first.values())
    for lk in first.values():
        assert item.started_ms + 700 * DAY < lk.until_ms < item.started_ms + 740 * DAY
    now = [item.started_ms + DAY]
    clerk = Desk.login(store, "clerk", ACCOUNT_PASSWORD, now=lambda: now[0], sign=sign_checkpoint)

    # A legal hold: every object of the item gets its S3 legal hold ON.
    with clerk.act(audit.HOLD, item.item_id) as act:
        retention.place_hold(act.cur, item.item_id, None, "court order", "clerk", now[0])
    held = in_store(store)
    refs = set(medialocks.CursorRetention(store.read).users(None))  # made by the hold's run
    assert refs and all(held[d].held for d in refs if d in held)
    # Released: OFF again, the dates as they were.
    with clerk.act(audit.RELEASE_HOLD, item.item_id) as act:
        retention.release_holds(act.cur, item.item_id, None, "done", "clerk", now[0])
    released = in_store(store)
    assert not any(lk.held for lk in released.values())
    assert all(released[d].until_ms == first[d].until_ms for d in first)

    # Linked to a major case: kept forever, so each object's date grows far ahead.
    with clerk.act(audit.LINK_CASE, item.item_id) as act:
        act.cur.execute(
            "INSERT INTO cases (case_no, case_type, title, responsible, place, happened_ms, "
            "opened_ms, closed_ms, major, created_by, created_ms) "
            "VALUES ('A-1', 'search', 't', 'r', 'p', 0, 0, NULL, 1, 'clerk', 0)"
        )
        act.cur.execute("INSERT INTO case_items VALUES ('A-1', ?, 'clerk', 0)", (item.item_id,))
    grown = in_store(store)
    for d in refs & set(grown):
        forever = retention.add_years(item.started_ms, objectlock.FOREVER_YEARS)
        assert grown[d].until_ms == min(forever, objectlock.LATEST_MS)
        assert grown[d].until_ms > first[d].until_ms
    # The case unlinked: retention shrinks, the locks do not (the store would refuse).
    with clerk.act(audit.LINK_CASE, item.item_id) as act:
        act.cur.execute("DELETE FROM case_items WHERE item_id = ?", (item.item_id,))
    assert in_store(store) == grown
    assert store.lock_problems == []
    report = pgverify.check(store)
    assert report.ok, report.findings
    store.close()


def test_retentions_deletion_waits_for_the_lock_reported_and_on_record(
    tmp_path, scale_store, monkeypatch, capsys
):
    # The rules let the recording go (the desk's clock two years on), but the object store
    # locks its media until two years after it was recorded by its own clock: the run says
    # so, exits 0, keeps the deletion approved and records the refusal.
    from host.cli import auth

    i18n.use("en")
    url, media = scale_store
    store = scaleout_copy(tmp_path, url, media)
    with store.read() as cur:
        (item,) = items.find(cur)
    store.close()
    clock = [item.started_ms + 731 * DAY]
    monkeypatch.setattr(auth, "clock", lambda: clock[0])
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    where = ["--evidence", url, "--media", media]

    def run(user, *argv):
        code = main([*argv, *where, "--user", user])
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("clerk", "retention", "delete", item.item_id, "--reason", "expired")[0] == 0
    assert run("boss", "retention", "approve", item.item_id)[0] == 0
    clock[0] += 31 * DAY  # past the grace period
    code, out, err = run("clerk", "retention", "run")
    assert code == 0, err
    assert "still locks" in out and item.item_id in out, out
    store = PgEvidenceStore(url, media)
    with store.read() as cur:
        trail = audit.history(cur)
        live = retention.live_deletion(cur, item.item_id)
    last = [r for r in trail if r.action == audit.DELETE][-1]
    assert last.outcome == audit.REFUSED and last.details["reason"] == objectlock.LOCKED
    assert live is not None and live.deleted_ms is None  # still approved, not done
    assert all(store.has_media(d) for d in store.locks())
    store.close()


def test_an_object_is_deleted_only_once_its_date_passed_and_its_hold_is_off(scale_store):
    url, media = scale_store
    store = PgEvidenceStore(url, media)
    data = b"footage to be deleted" * 500
    digest = hashlib.sha256(data).digest()
    soon = int(time.time() * 1000) + 3000
    store._first_lock = lambda _digest: soon  # a lock of seconds, so the test sees it end
    store.put_media(digest, data)
    again = store.media.put(
        digest, data, until=datetime.datetime.fromtimestamp(soon / 1000, datetime.UTC)
    )  # a second version of the same bytes (a crash before it was recorded)
    assert len(store.media.versions(digest)) == 2 and again
    # Before its date: the store refuses, the refusal is reported, the object stays.
    assert [d for d, _lk in store.locked_media([digest], soon - 1000)] == [digest]
    assert store.remove_media([digest]) == 0
    assert store.refused_removals == [digest] and store.has_media(digest)
    # A legal hold keeps it past its date.
    version = store.version_of(digest)
    store.media.hold(digest, version, True)
    store.note_locks({digest: Lock(soon, True)})
    clock_passes(lambda: time.time() * 1000 > soon + 1000)
    assert store.locked_media([digest], int(time.time() * 1000))
    store.refused_removals.clear()
    assert store.remove_media([digest]) == 0 and store.has_media(digest)
    # The hold off: every version goes (the other version's date passed too).
    store.media.hold(digest, version, False)
    store.note_locks({digest: Lock(soon, False)})
    assert store.locked_media([digest], int(time.time() * 1000)) == []
    store.refused_removals.clear()
    assert clock_passes(lambda: store.remove_media([digest]) == 1)
    assert not store.has_media(digest) and store.media.versions(digest) == []
    # No approved deletion names it (it was removed by hand here): verify says so.
    report = pgverify.check(store)
    assert [code for code, _m in report.findings] == ["object-removed"]
    store.close()


def test_the_applier_plans_against_the_stores_own_answer_where_it_has_no_note(scale_store):
    # An object recorded before locks were noted: its lock is read from the object store,
    # extended to what retention wants, and noted; a shared object takes the longest.
    url, media = scale_store
    store = PgEvidenceStore(url, media)
    blobs = [b"shared init" * 300, b"chunk of a" * 300]
    digests = [hashlib.sha256(b).digest() for b in blobs]
    for data in blobs:
        store.put_media(hashlib.sha256(data).digest(), data)
    with store._transaction() as cur:
        cur.execute("DELETE FROM media_locks")
    now = int(time.time() * 1000)
    far, farther = now + 800 * DAY, now + 900 * DAY

    class Source:
        def users(self, wanted):
            return {digests[0]: ["a", "b"], digests[1]: ["a"]}

        def keeps(self, item_ids, now_ms):
            return {"a": Keep(far, far), "b": Keep(farther, farther, True)}

    done = medialocks.apply(store, Source(), now)
    assert done.failed == [] and done.extended == 2 and done.held == 1
    locks = in_store(store)
    assert near(locks[digests[0]].until_ms, farther) and locks[digests[0]].held
    assert near(locks[digests[1]].until_ms, far) and not locks[digests[1]].held
    noted = {d: lk for d, (_v, lk) in store.locks().items()}
    # Noted as asked: in whole seconds, rounded up (the store keeps no more).
    whole = objectlock.whole_s
    assert noted == {digests[0]: Lock(whole(farther), True), digests[1]: Lock(whole(far), False)}
    # Run again: nothing to call.
    assert medialocks.apply(store, Source(), now)[1:4] == (0, 0, 0)
    store.close()
