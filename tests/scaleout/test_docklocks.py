"""A dock's lock pass on the scale-out store runs after its receipt: ``make_durable`` (what
the receipt waits for) neither waits for the management tables' write lock nor makes the
object store's lock requests; the pass owed is noted in the commit that records the
objects, so a host stopped between the receipt and the pass leaves it for the upkeep,
which sets the locks. Against PostgreSQL 15 and Ceph's S3 gateway."""
# micropython: skip (host code, real services)
# R-HOST-3: a recording already held (or classed, or in a case) when its media arrive is
# kept as that says; the object store's lock must say so too, whatever stopped the host.

import json
import os
import signal
import socket
import subprocess
import sys
import threading

import psycopg
import pytest

from host import audit, i18n, items, medialocks, people, retention
from host.access import Desk
from host.cli.main import main
from host.evidence import EvidenceError, SqliteEvidenceStore
from host.pgstore import FAULT_ENV, WRITE_LOCK, PgEvidenceStore
from tests.firmware.helpers import start
from tests.host.helpers import (
    ACCOUNT_PASSWORD,
    evidence,
    run_pair,
    sign_checkpoint,
    with_accounts,
)

ACCOUNTS = (("clerk", (people.CLERK,), None),)
DAY = retention.DAY_MS
WAIT_S = 300  # a bound on a hang, never a timing assertion

# A host that stores a session's media and records them (what the receipt waits for),
# says so, then closes its store (which waits for the dock's lock pass).
HOST = """
import sys
from host.evidence import SqliteEvidenceStore
from host.pgstore import PgEvidenceStore

url, media, source, device = sys.argv[1:]
src = SqliteEvidenceStore(source, readonly=True)
store = PgEvidenceStore(url, media)
due = store.missing_media(device)
staged = [store.put_media(d, src.read_media(d), defer=True) for d, _n in due]
store.make_durable(staged)
print("durable", flush=True)
store.close()
"""

# The same host, whose object store stops answering while its session (a thread, as a sync
# daemon's) uploads the media ("uploads") or once they are stored there, when the dock's
# lock pass asks it ("lock-pass"). Ctrl-C closes the store; the host then says which
# threads, besides its main one, would still hold the interpreter's exit, and the state of
# its store's pools (each shut down, and how many of its calls have not ended), and ends.
UNANSWERED_HOST = """
import os
import sys
import threading
from host import s3media
from host.evidence import SqliteEvidenceStore
from host.pgstore import PgEvidenceStore

url, media, source, device, endpoint, stage = sys.argv[1:]
src = SqliteEvidenceStore(source, readonly=True)
store = PgEvidenceStore(url, media)
due = store.missing_media(device)
data = [(d, src.read_media(d)) for d, _n in due]


def unanswered():
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    store.media.s3 = s3media.client()  # the host's own settings: timeouts, retries


def session():
    staged = [store.put_media(d, blob, defer=True) for d, blob in data]
    if stage == "lock-pass":
        for upload in staged:
            upload.future.result()  # in the bucket before the store stops answering
        unanswered()
    store.make_durable(staged)


if stage == "uploads":
    unanswered()
threading.Thread(target=session, daemon=True).start()
try:
    print("serving", flush=True)
    threading.Event().wait()
except KeyboardInterrupt:
    store.close()
main = threading.main_thread()
held = [t.name for t in threading.enumerate() if t is not main and not t.daemon]
print("closed", *held, flush=True)
for pool in (store._pool, store._passes):
    if pool is not None:
        print(pool.name, "shut" if pool._shut else "open", pool._unfinished, flush=True)
"""


def held_recording(tmp_path, url, media):
    """A scale-out store holding one recording's entries but none of its media yet (a dock
    cut off before them), with evidence management, the recording under a legal hold.
    ``(store, the embedded store its media come from, the device, the recording's item)``."""
    agent, _camera = start(str(tmp_path / "device"), frames=6, pad=200)
    agent.input("press_record")
    while agent.capture():
        pass
    agent.input("press_stop")
    ev = evidence(tmp_path / "ev")
    run_pair(agent, ev)
    agent.store.close()
    ev.close()
    src = SqliteEvidenceStore(tmp_path / "ev", readonly=True)
    store = PgEvidenceStore(url, media)
    (device,) = src.devices()
    store.enrol(device, src.device_key(device))
    store.add_entries(device, src.entries(device), 0)
    store.record_session({"device": device, "result": "failed", "entries_stored": 0,
                          "media_stored": 0, "bytes_in": 0}, 0)  # fmt: skip
    with_accounts(store, ACCOUNTS)
    store.add_tables(retention.SCHEMA)
    with store.read() as cur:
        (item,) = items.find(cur)
    clerk = Desk.login(
        store, "clerk", ACCOUNT_PASSWORD, now=lambda: item.started_ms + DAY, sign=sign_checkpoint
    )
    with clerk.act(audit.HOLD, item.item_id) as act:
        retention.place_hold(act.cur, item.item_id, None, "court order", "clerk", item.started_ms)
    assert store.missing_media(device)
    return store, src, device, item


def in_store(store) -> dict:
    """digest -> the lock the object store says each recorded object's version has."""
    return {
        d: medialocks.lock_in_store(store.media, d, version)
        for d, (version, _noted) in store.locks().items()
    }


def owed(url) -> set:
    """The objects whose dock's lock pass is owed (``lock_new``)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {bytes(r[0]) for r in conn.execute("SELECT digest FROM lock_new")}


def test_what_the_receipt_waits_for_waits_for_no_lock_and_the_pass_follows(tmp_path, scale_store):
    # Another host holds the management tables' write lock for as long as it likes: the
    # media are still stored and recorded (the receipt can go), their lock pass owed; once
    # the lock is let go the pass puts each object's legal hold on.
    url, media = scale_store
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    other = psycopg.connect(url, autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
    done = []

    def durable():
        staged = [store.put_media(d, src.read_media(d), defer=True) for d in sorted(digests)]
        store.make_durable(staged)
        done.append(True)

    worker = threading.Thread(target=durable)
    worker.start()
    try:
        worker.join(WAIT_S)
        assert done, "make_durable waited for the write lock another host holds"
        assert owed(url) == digests
        assert not any(lk.held for lk in in_store(store).values())
    finally:
        other.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
        other.close()
        worker.join(WAIT_S)
    store.wait_for_locks()
    locks = in_store(store)
    assert set(locks) == digests and all(lk.held for lk in locks.values())
    assert owed(url) == set() and store.lock_problems == []
    src.close()
    store.close()


def test_a_host_stopped_between_the_receipt_and_the_lock_pass_is_caught_up_by_keep_up(
    tmp_path, scale_store, monkeypatch, capsys
):
    from host.cli import auth

    i18n.use("en")
    url, media = scale_store
    store, src, device, item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    store.close()
    src.close()
    # The host records the media (the receipt's moment), then stops dead before its lock
    # pass has set anything.
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, url, media, str(tmp_path / "ev"), device],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, **{FAULT_ENV: "lock-pass"}),
    )  # fmt: skip
    try:
        assert host.stdout.readline().strip() == "durable"
        assert host.poll() is None  # its pass held still where the fault stands
    finally:
        host.kill()
        host.communicate(timeout=WAIT_S)
    store = PgEvidenceStore(url, media)
    assert set(store.locks()) == digests and owed(url) == digests
    assert not any(lk.held for lk in in_store(store).values())  # the first lock only
    store.close()

    monkeypatch.setattr(auth, "clock", lambda: item.started_ms + DAY)
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    where = ["--evidence", url, "--media", media, "--user", "clerk"]
    assert main(["retention", "keep-up", *where, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["held"] == len(digests) and out["failed"] == 0
    store = PgEvidenceStore(url, media)
    assert all(lk.held for lk in in_store(store).values()) and owed(url) == set()
    assert main(["retention", "keep-up", *where, "--json"]) == 0  # nothing more to do
    assert json.loads(capsys.readouterr().out)["objects"] == 0
    store.close()


@pytest.fixture(autouse=True)
def _english():
    yield
    i18n.use(None)


def waiting_on_advisory_lock(url) -> bool:
    """Whether a connection to this test's database waits for an advisory lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()[0]
        )


def test_close_cuts_off_a_lock_pass_stuck_on_another_hosts_write_lock(
    tmp_path, scale_store, monkeypatch
):
    # Another host holds the write lock for ever; the dock's pass waits on it. The close
    # (a daemon's Ctrl-C) waits its bound, cancels the pass on its own connection and
    # returns; the objects stay owed in lock_new for the upkeep.
    import host.pgstore

    monkeypatch.setattr(host.pgstore, "CLOSE_WAIT_S", 0.5)  # shortens the test, no timing
    url, media = scale_store
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    other = psycopg.connect(url, autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
    try:
        staged = [store.put_media(d, src.read_media(d), defer=True) for d in sorted(digests)]
        store.make_durable(staged)
        while not waiting_on_advisory_lock(url):  # the pass is waiting on the write lock
            threading.Event().wait(0.05)
        closer = threading.Thread(target=store.close)
        closer.start()
        closer.join(WAIT_S)
        assert not closer.is_alive(), "close waited for ever on the stuck lock pass"
        assert not waiting_on_advisory_lock(url)  # the pass's statement was cancelled
        assert owed(url) == digests
        store.wait_for_locks()  # after the close: at once
    finally:
        other.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
        other.close()
        src.close()


def test_a_pass_owed_after_the_close_began_is_left_to_the_upkeep(tmp_path, scale_store):
    # A session that committed its media while the store closes queues no pass (none on
    # passes shut down, none started after the close): its receipt goes, the objects stay
    # in lock_new for the upkeep.
    url, media = scale_store
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    staged = [store.put_media(d, src.read_media(d), defer=True) for d in sorted(digests)]
    real = store._lock_later

    def closing_meanwhile(done, now_ms):
        store.close()  # the daemon's close arrives between the commit and the queueing
        real(done, now_ms)

    store._lock_later = closing_meanwhile
    store.make_durable(staged)
    store.wait_for_locks()  # returns at once after the close
    assert owed(url) == digests
    assert store.lock_problems == []  # no pass was tried on the closed store
    src.close()


def test_a_pass_that_starts_after_the_close_began_makes_no_connection_and_says_nothing(
    tmp_path, scale_store
):
    # R-HOST-3: the dock's pass was queued before the close and starts once it has begun:
    # it opens no database connection of its own, notes no lock problem (nothing was
    # refused), and its objects stay owed to the upkeep.
    url, media = scale_store
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    staged = [store.put_media(d, src.read_media(d), defer=True) for d in sorted(digests)]
    closing = threading.Event()
    real_end, real_pass, real_apart = store._end_passes, store._lock_new, store._apart
    apart: list = []

    def end_passes():
        closing.set()  # the close has begun (the store is closing)
        real_end()

    def pass_after_close(done, now_ms):
        assert closing.wait(WAIT_S)
        real_pass(done, now_ms)

    store._end_passes, store._lock_new = end_passes, pass_after_close
    store._apart = lambda: apart.append(True) or real_apart()
    store.make_durable(staged)
    store.close()
    store._last_pass.result(WAIT_S)  # the pass has ended, whatever the close waited
    assert closing.is_set() and apart == []
    assert store.lock_problems == []
    assert owed(url) == digests
    src.close()


@pytest.mark.parametrize("refused", ["s3-upload", "lock-pass"])
def test_threads_the_system_refuses_lose_nothing_and_say_one_line(
    tmp_path, scale_store, monkeypatch, refused
):
    # R-HOST-3: the system refuses the uploads' threads: the upload is refused with one
    # line that says what to do, nothing recorded, the media still missing. It refuses the
    # lock pass's: the dock is recorded, its objects stay owed to the upkeep.
    i18n.use("en")
    url, media = scale_store
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    start = threading.Thread.start

    def refusing(thread):
        if thread.name.startswith(refused):
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refusing)
    if refused == "s3-upload":
        with pytest.raises(EvidenceError) as said:
            store.put_media(min(digests), src.read_media(min(digests)), defer=True)
        why = "s3-upload: can't start new thread"
        assert str(said.value) == i18n.text("pg.no_thread", why=why)
        assert {bytes(d) for d, _n in store.missing_media(device)} == digests
        assert store.locks() == {}
    else:
        staged = [store.put_media(d, src.read_media(d), defer=True) for d in sorted(digests)]
        store.make_durable(staged)
        store.wait_for_locks()  # returns: no pass could run
        assert store.missing_media(device) == [] and owed(url) == digests
    assert store.lock_problems == []
    store.close()
    src.close()


class RefusingOne:
    """The real S3 client, but one object's locks refused."""

    def __init__(self, s3, digest: bytes) -> None:
        self.s3, self.key = s3, "media/" + digest.hex()

    def __getattr__(self, name):
        real = getattr(self.s3, name)
        if name not in ("put_object_retention", "put_object_legal_hold"):
            return real

        def call(**kw):
            if kw.get("Key") == self.key:
                raise ConnectionError("the object store refused")
            return real(**kw)

        return call


def test_a_lock_the_object_store_refused_in_a_docks_pass_is_said_and_stays_owed(
    tmp_path, scale_store, capsys
):
    i18n.use("en")
    url, media = scale_store
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = sorted(bytes(d) for d, _n in store.missing_media(device))
    refused = digests[0]
    store.media.s3 = RefusingOne(store.media.s3, refused)
    staged = [store.put_media(d, src.read_media(d), defer=True) for d in digests]
    store.make_durable(staged)
    store.wait_for_locks()
    assert store.lock_problems == [(refused.hex(), "the object store refused")]
    assert owed(url) == {refused}
    why = "the object store refused"
    assert capsys.readouterr().err.splitlines() == [
        i18n.text("lock.failed", digest=refused.hex(), why=why)
    ]
    src.close()
    store.close()


@pytest.fixture
def unanswering():
    """An object store that takes connections and never answers on them: ``(its endpoint,
    an event set once it has taken one)``; its socket and theirs closed after the test."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    taken: list = []
    asked = threading.Event()
    stop = threading.Event()

    def take():
        while not stop.is_set():
            try:
                taken.append(server.accept()[0])
            except TimeoutError:
                continue
            asked.set()

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    try:
        yield "http://127.0.0.1:%d" % server.getsockname()[1], asked
    finally:
        stop.set()
        taker.join(WAIT_S)
        for conn in [*taken, server]:
            conn.close()


@pytest.mark.parametrize("stage", ["uploads", "lock-pass"])
def test_ctrl_c_ends_a_host_waiting_on_an_object_store_that_never_answers(
    tmp_path, scale_store, unanswering, stage
):
    # The session's uploads, or the dock's lock pass after them, wait on the object
    # store's answer, which never comes. Ctrl-C closes the store within its bound and the
    # process ends: once the close has returned, no thread left waiting on the store would
    # hold its exit (before, the pools' threads would have, until the S3 client's timeouts
    # and retries ran out: two minutes), and its pools are shut down. Nothing is lost:
    # media not recorded stay missing for the next dock; objects recorded stay owed their
    # pass, for the upkeep.
    url, media = scale_store
    endpoint, asked = unanswering
    store, src, device, _item = held_recording(tmp_path, url, media)
    digests = {bytes(d) for d, _n in store.missing_media(device)}
    store.close()
    src.close()
    host = subprocess.Popen(
        [sys.executable, "-c", UNANSWERED_HOST, url, media, str(tmp_path / "ev"), device,
         endpoint, stage],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert host.stdout.readline().strip() == "serving"
        for _ in range(WAIT_S * 20):  # until the store has been asked: a bound on a hang
            if asked.wait(0.05) or host.poll() is not None:
                break
        else:
            pytest.fail("the host never asked the object store (%d s)" % WAIT_S)
        assert host.poll() is None, host.communicate()[1]  # it is waiting on the store
        host.send_signal(signal.SIGINT)
        out, err = host.communicate(timeout=WAIT_S)  # a bound on a hang, not the verdict
    finally:
        if host.poll() is None:
            host.kill()
            host.communicate()
    lines = out.splitlines()
    assert lines[0].split() == ["closed"], err  # no thread left waiting holds the end
    # Each pool shut down (how many of its calls have not ended is shown, not judged: the
    # S3 client gives up on its own in the end).
    pools = {line.split()[0]: line.split()[1] for line in lines[1:]}
    passes = {"lock-pass": "shut"} if stage == "lock-pass" else {}
    assert pools == {"s3-upload": "shut", **passes}, out
    assert host.returncode == 0, err
    store = PgEvidenceStore(url, media)
    if stage == "uploads":
        assert store.locks() == {} and owed(url) == set()
        assert {bytes(d) for d, _n in store.missing_media(device)} == digests
    else:
        assert set(store.locks()) == digests and owed(url) == digests
    store.close()
