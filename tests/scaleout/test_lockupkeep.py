"""The object locks' upkeep on the real object store (issue 18): a change to retention
touches only the objects of the recordings it changed, counted as S3 requests on the real
client; a change the object store missed stays marked and is made by the next run; and
``sealcam retention keep-up`` extends the locks of open cases' recordings before they fall
short, checks every lock against the object store with ``--full``, and says in one line
when a service is down. Against PostgreSQL 15 and Ceph's S3 gateway."""
# micropython: skip (host code, real services)
# R-HOST-3: footage linked to an open case is kept while the case is open; the object
# store's lock must keep it too, however long the case stays open.

import json
import select
import signal
import subprocess
import time
from collections import Counter

import pytest

from host import audit, i18n, items, medialocks, objectlock, people, retention
from host.access import Desk
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from host.pgstore import PgEvidenceStore
from tests.firmware.helpers import start
from tests.host.helpers import (
    ACCOUNT_PASSWORD,
    HOST_KID,
    SEALCAM,
    evidence,
    host_keys,
    run_pair,
    sign_checkpoint,
    with_accounts,
)

ACCOUNTS = (
    ("admin", (people.ADMINISTRATOR,), None),
    ("clerk", (people.CLERK,), None),
)
DAY = retention.DAY_MS
CALLS = ("put_object_retention", "put_object_legal_hold", "get_object_retention",
         "get_object_legal_hold", "head_object", "get_object", "put_object")  # fmt: skip


class Counted:
    """The real S3 client, each request counted by operation and object key."""

    def __init__(self, s3) -> None:
        self.s3 = s3
        self.calls: Counter = Counter()

    def __getattr__(self, name):
        real = getattr(self.s3, name)
        if name not in CALLS:
            return real

        def call(**kw):
            self.calls[(name, kw.get("Key", "").removeprefix("media/"))] += 1
            return real(**kw)

        return call

    def keys(self) -> set:
        return {key for _op, key in self.calls}


class Refusing(Counted):
    """The real client, but the object store 'down' for setting locks."""

    def __getattr__(self, name):
        if name in ("put_object_retention", "put_object_legal_hold"):

            def refuse(**kw):
                raise ConnectionError("the object store did not answer")

            return refuse
        return super().__getattr__(name)


def two_recordings(tmp_path, url, media) -> PgEvidenceStore:
    """A scale-out store holding two recordings of one device, stored as a dock stores
    them (no object shared between them), with accounts."""
    agent, camera = start(str(tmp_path / "device"), frames=6, pad=200)
    for _ in range(2):
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        camera.n += 6
    ev = evidence(tmp_path / "ev")
    run_pair(agent, ev)
    agent.store.close()
    ev.close()
    src = SqliteEvidenceStore(tmp_path / "ev", readonly=True)
    store = PgEvidenceStore(url, media)
    for device in src.devices():
        store.enrol(device, src.device_key(device))
        store.add_entries(device, src.entries(device), 0)
        staged = [
            store.put_media(digest, src.read_media(digest), defer=True)
            for digest, _size in store.missing_media(device)
        ]
        store.make_durable(staged)
        store.wait_for_locks()  # the dock's lock pass, run after the receipt
        store.record_session({"device": device, "result": "done", "entries_stored": 0,
                              "media_stored": 0, "bytes_in": 0}, 0)  # fmt: skip
    src.close()
    with_accounts(store, ACCOUNTS)
    store.add_tables(retention.SCHEMA)
    return store


def objects(store, item_id) -> set:
    """The objects the recording uses, as hex (``media_refs``, brought up to the ledger)."""
    with store.write() as cur:
        retention.refresh_refs(cur)
    with store.read() as cur:
        return {d.hex() for d in medialocks.objects_of(cur, [item_id])}


def open_case(act, case_no, item_id) -> None:
    act.cur.execute(
        "INSERT INTO cases (case_no, case_type, title, responsible, place, happened_ms, "
        "opened_ms, closed_ms, major, created_by, created_ms) "
        "VALUES (?, 'search', 't', 'r', 'p', 0, 0, NULL, 0, 'clerk', 0)",
        (case_no,),
    )
    act.cur.execute("INSERT INTO case_items VALUES (?, ?, 'clerk', 0)", (case_no, item_id))


def test_a_change_to_one_recording_touches_only_its_objects(tmp_path, scale_store):
    url, media = scale_store
    store = two_recordings(tmp_path, url, media)
    with store.read() as cur:
        first, second = sorted(items.find(cur), key=lambda i: i.started_ms)
    mine, theirs = objects(store, first.item_id), objects(store, second.item_id)
    assert mine and theirs and not mine & theirs
    now = [first.started_ms + DAY]
    clerk = Desk.login(store, "clerk", ACCOUNT_PASSWORD, now=lambda: now[0], sign=sign_checkpoint)
    counted = store.media.s3 = Counted(store.media.s3)

    # A hold on the first recording: a legal hold ON for each of its objects, nothing else.
    with clerk.act(audit.HOLD, first.item_id) as act:
        retention.place_hold(act.cur, first.item_id, None, "court order", "clerk", now[0])
    assert counted.keys() == mine
    assert counted.calls == Counter({("put_object_legal_hold", d): 1 for d in mine})
    # Its class made a permanent one: its dates grow, the other recording's are not asked,
    # nor even planned (the objects whose locks the applier reads, counted too).
    counted.calls.clear()
    planned = []
    read_locks = store.locks

    def locks(digests=None):
        planned.append(None if digests is None else {bytes(d).hex() for d in digests})
        return read_locks(digests)

    store.locks = locks
    with clerk.act(audit.CATEGORISE, first.item_id) as act:
        act.cur.execute(
            "INSERT INTO item_notes VALUES (?, ?, '', 'clerk', 0)",
            (first.item_id, retention.OBSTRUCTION),
        )
    assert counted.keys() == mine
    # Each date set in one request: the note says what it was, nothing is read first.
    assert counted.calls == Counter({("put_object_retention", d): 1 for d in mine})
    assert planned == [mine]
    # A change that asks nothing more of the locks (the hold placed again): no request.
    counted.calls.clear()
    with clerk.act(audit.HOLD, first.item_id) as act:
        retention.place_hold(act.cur, first.item_id, None, "second order", "clerk", now[0])
    assert counted.calls == Counter()
    assert store.pending_locks() == [] and store.lock_problems == []
    store.close()


def change_policy(store, now_ms: int, years: int) -> None:
    """The agency's default period made ``years``, as ``sealcam retention policy`` makes it
    (its own desk action: every recording's retention may move)."""
    admin = Desk.login(store, "admin", ACCOUNT_PASSWORD, now=lambda: now_ms, sign=sign_checkpoint)
    with admin.act(audit.POLICY_CHANGE, None) as act:
        old = retention.policy(act.cur)
        act.details["changed"] = retention.put_policy(act.cur, old._replace(years=years))


def test_a_policy_change_extends_each_lock_in_one_request_read_from_the_notes(
    tmp_path, scale_store
):
    # A policy change over every object: one put_object_retention each, no lock read from
    # the object store (the notes know each date); the locks are then what was planned.
    url, media = scale_store
    store = two_recordings(tmp_path, url, media)
    with store.read() as cur:
        first, _second = sorted(items.find(cur), key=lambda i: i.started_ms)
    every = objects_all(url, media)
    counted = store.media.s3 = Counted(store.media.s3)
    change_policy(store, first.started_ms + DAY, 4)
    assert store.lock_problems == [] and store.pending_locks() == []
    assert counted.calls == Counter({("put_object_retention", d): 1 for d in every})
    for digest, (version, noted) in store.locks().items():
        real = medialocks.lock_in_store(store.media, digest, version)
        assert real == noted and real.until_ms >= retention.add_years(first.started_ms, 4)
    store.close()


def test_a_note_behind_the_store_is_read_once_the_store_refuses_to_shorten(tmp_path, scale_store):
    # Another host set one lock further than this host's note says: the request from the
    # note would shorten it, the store refuses, the lock is read, it covers the plan, and
    # the note takes the store's date: no failure, the recording not left marked.
    import datetime

    url, media = scale_store
    store = two_recordings(tmp_path, url, media)
    with store.read() as cur:
        first, _second = sorted(items.find(cur), key=lambda i: i.started_ms)
    victim = bytes.fromhex(sorted(objects(store, first.item_id))[0])
    version, _noted = store.locks([victim])[victim]
    further = datetime.datetime.fromtimestamp(
        retention.add_years(first.started_ms, 6) / 1000, datetime.UTC
    ).replace(microsecond=0)
    store.media.extend(victim, version, further)  # as another host would, its note not here
    counted = store.media.s3 = Counted(store.media.s3)
    change_policy(store, first.started_ms + DAY, 4)
    assert store.lock_problems == [] and store.pending_locks() == []
    assert counted.calls[("get_object_retention", victim.hex())] == 1
    assert sum(n for (op, _k), n in counted.calls.items() if op == "get_object_retention") == 1
    assert store.locks([victim])[victim][1].until_ms == int(further.timestamp() * 1000)
    store.close()


def test_a_change_the_object_store_missed_is_made_by_the_next_run(
    tmp_path, scale_store, monkeypatch, capsys
):
    from host.cli import auth

    i18n.use("en")
    url, media = scale_store
    store = two_recordings(tmp_path, url, media)
    with store.read() as cur:
        first, second = sorted(items.find(cur), key=lambda i: i.started_ms)
    now = [first.started_ms + DAY]
    clerk = Desk.login(store, "clerk", ACCOUNT_PASSWORD, now=lambda: now[0], sign=sign_checkpoint)
    real = store.media.s3
    store.media.s3 = Refusing(real)
    with clerk.act(audit.HOLD, second.item_id) as act:
        retention.place_hold(act.cur, second.item_id, None, "court order", "clerk", now[0])
    capsys.readouterr()
    # The hold is committed, its locks are not set: the recording stays marked.
    assert store.lock_problems and [i for i, _m in store.pending_locks()] == [second.item_id]
    store.media.s3 = real
    store.close()

    monkeypatch.setattr(auth, "clock", lambda: now[0])
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    where = ["--evidence", url, "--media", media, "--user", "clerk"]
    assert main(["retention", "keep-up", *where, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["held"] == len(objects(PgEvidenceStore(url, media), second.item_id))
    assert out["failed"] == 0
    store = PgEvidenceStore(url, media)
    assert store.pending_locks() == []
    for digest, (version, _noted) in store.locks().items():
        lock = medialocks.lock_in_store(store.media, digest, version)
        assert lock.held == (digest.hex() in objects(store, second.item_id))
    store.close()


def test_keep_up_extends_an_open_cases_locks_before_they_fall_short(
    tmp_path, scale_store, monkeypatch, capsys
):
    from host.cli import auth

    i18n.use("en")
    url, media = scale_store
    store = two_recordings(tmp_path, url, media)
    with store.read() as cur:
        first, _second = sorted(items.find(cur), key=lambda i: i.started_ms)
    mine = objects(store, first.item_id)
    now = [first.started_ms + DAY]
    clerk = Desk.login(store, "clerk", ACCOUNT_PASSWORD, now=lambda: now[0], sign=sign_checkpoint)
    with clerk.act(audit.LINK_CASE, first.item_id) as act:
        open_case(act, "A-1", first.item_id)
    noted = {d.hex(): lk for d, (_v, lk) in store.locks().items()}
    linked = objectlock.whole_s(retention.add_years(now[0], 2) + objectlock.STEP_DAYS * DAY)
    assert all(noted[d].until_ms == linked for d in mine)
    store.close()

    monkeypatch.setattr(auth, "clock", lambda: now[0])
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    where = ["--evidence", url, "--media", media, "--user", "clerk"]

    def keep_up(*extra):
        code = main(["retention", "keep-up", *where, "--json", *extra])
        return code, json.loads(capsys.readouterr().out)

    # Ten days on the case is still open: with a 30-day margin its locks would fall short
    # within it (the period after closing, counted from 40 days on, ends after them): each
    # of its objects is extended; the other recording's are not looked at.
    now[0] += 10 * DAY
    code, out = keep_up()
    assert code == 0 and out["extended"] == len(mine) and out["objects"] == len(mine)
    # Run again at once: nothing to do (idempotent).
    code, out = keep_up()
    assert code == 0 and out["extended"] == 0
    # With no margin, even later: nothing yet; then past the step, extended again.
    now[0] += 20 * DAY
    assert keep_up("--margin", "0")[1]["extended"] == 0
    now[0] += 45 * DAY
    assert keep_up("--margin", "0")[1]["extended"] == len(mine)
    store = PgEvidenceStore(url, media)
    for digest, (version, noted_lock) in store.locks().items():
        real = medialocks.lock_in_store(store.media, digest, version)
        assert real == noted_lock
        if digest.hex() in mine:
            assert real.until_ms >= retention.add_years(now[0], 2)
    with store.read() as cur:
        runs = [r for r in audit.history(cur) if r.action == audit.LOCK_KEEP_UP]
    assert len(runs) == 4 and runs[0].details["extended"] == len(mine)
    assert all(r.outcome == audit.DONE and r.actor == "clerk" for r in runs)

    # A note that claims more than the object store holds: --full reads every real lock,
    # reports the short one, extends it and corrects the note.
    victim = next(iter(sorted(mine)))
    with store._transaction() as cur:
        cur.execute(
            "UPDATE media_locks SET until_ms = until_ms + %s WHERE digest = %s",
            (400 * DAY, bytes.fromhex(victim)),
        )
    store.close()
    code, out = keep_up("--full", "--margin", "400")
    assert code == 0, out
    assert [s["digest"] for s in out["short_objects"]] == [victim]
    assert out["corrected"] == 1 and out["objects"] == len(objects_all(url, media))
    code, out = keep_up("--full", "--margin", "400")
    assert out["short_objects"] == [] and out["corrected"] == 0 and out["extended"] == 0


def objects_all(url, media) -> set:
    store = PgEvidenceStore(url, media)
    try:
        return {d.hex() for d in store.locks()}
    finally:
        store.close()


def test_keep_up_says_in_one_line_when_a_service_is_down(
    tmp_path, scale_store, monkeypatch, capsys
):
    i18n.use("en")
    url, media = scale_store
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    dead_db = url.rsplit(":", 1)[0] + ":1/nothing"
    code = main(["retention", "keep-up", "--evidence", dead_db, "--media", media,
                 "--user", "clerk"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    code = main(["retention", "keep-up", "--evidence", url, "--media", media,
                 "--user", "clerk"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_serving_daemon_keeps_the_locks_up_at_its_start(tmp_path, scale_store):
    # The sync daemon (not --once) does the upkeep's work at its start, beside serving, on
    # its own connection; recorded by the host's key id, no person having run it.
    url, media = scale_store
    store = two_recordings(tmp_path, url, media)
    with store.read() as cur:
        first, _second = sorted(items.find(cur), key=lambda i: i.started_ms)
    mine = objects(store, first.item_id)
    now = first.started_ms + DAY
    clerk = Desk.login(store, "clerk", ACCOUNT_PASSWORD, now=lambda: now, sign=sign_checkpoint)
    with clerk.act(audit.LINK_CASE, first.item_id) as act:
        open_case(act, "A-1", first.item_id)
    store.close()
    host_keys(tmp_path)
    argv = [*SEALCAM, "sync", "--evidence", url, "--media", media, "--host-key",
            str(tmp_path / "host.key"), "--tcp", "127.0.0.1:0", "--json",
            "--clock-start", str(now + 10 * DAY)]  # fmt: skip
    daemon = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    events = []
    try:
        deadline = time.monotonic() + 300  # a bound on a hang, not a timing assertion
        while not any(e["event"] in ("lock-keep-up", "upkeep-failed") for e in events):
            assert time.monotonic() < deadline, events
            if select.select([daemon.stdout], [], [], 1.0)[0]:
                line = daemon.stdout.readline()
                assert line, events  # the daemon ended
                events.append(json.loads(line))
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.communicate(timeout=120)
    (done,) = [e for e in events if e["event"] == "lock-keep-up"]
    assert done["extended"] == len(mine) and done["failed"] == 0
    store = PgEvidenceStore(url, media)
    with store.read() as cur:
        (run,) = [r for r in audit.history(cur) if r.action == audit.LOCK_KEEP_UP]
    assert run.actor == "sync:" + HOST_KID and run.details["extended"] == len(mine)
    store.close()


@pytest.fixture(autouse=True)
def _english():
    yield
    i18n.use(None)
