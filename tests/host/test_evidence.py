"""The embedded evidence store: durable, append-only, content-addressed, no delete."""
# micropython: skip (host code)
# R-HOST-5: nobody cuts or edits original footage on the host either.

import hashlib
import os
import threading

import pytest

from host.evidence import (
    EvidenceError,
    EvidenceStore,
    SqliteEvidenceStore,
    StoreUnopenable,
    chunk_media,
)
from protocol.ledger import parse_entry
from protocol.messages import GONE_DAMAGED, GONE_NOT_FOUND
from protocol.registry import F_CHUNK_INDEX
from tests.protocol.helpers import DEVICE, SEED_B, device_key, make_entries

KEY = device_key()


@pytest.fixture
def store(tmp_path):
    s = SqliteEvidenceStore(tmp_path)
    s.enrol(DEVICE, KEY.public)
    yield s
    s.close()


def test_entries_survive_a_reopen_in_order(tmp_path, store):
    entries = make_entries(6)
    assert store.add_entries(DEVICE, entries[:4], 1000) == 4
    assert store.add_entries(DEVICE, entries[4:], 2000) == 6
    store.close()
    again = SqliteEvidenceStore(tmp_path)
    assert again.entries(DEVICE) == entries
    assert again.head(DEVICE) == (6, hashlib.sha256(entries[-1]).digest())
    assert again.received_ms(DEVICE, 5) == 2000
    again.close()


def test_a_resent_window_is_stored_once(store):
    entries = make_entries(5)
    store.add_entries(DEVICE, entries[:3], 1000)
    assert store.add_entries(DEVICE, entries[1:], 1000) == 5  # 1 and 2 again, then 3, 4
    assert store.entries(DEVICE) == entries


def test_a_different_entry_for_a_stored_seq_is_refused_and_nothing_stored(store):
    store.add_entries(DEVICE, make_entries(3), 1000)
    forged = make_entries(4, seed=SEED_B)
    with pytest.raises(EvidenceError, match="forked or altered"):
        store.add_entries(DEVICE, forged, 1000)
    assert store.head(DEVICE)[0] == 3


def test_a_gap_is_refused_and_the_batch_rolls_back(store):
    entries = make_entries(6)
    store.add_entries(DEVICE, entries[:2], 1000)
    with pytest.raises(EvidenceError, match="does not continue"):
        store.add_entries(DEVICE, [entries[2], entries[4]], 1000)
    assert store.head(DEVICE)[0] == 2  # entry 2 was not kept either


def test_unknown_device_and_rekeying_are_refused(tmp_path, store):
    with pytest.raises(EvidenceError, match="not enrolled"):
        store.add_entries("SC-NOBODY", make_entries(1, device="SC-NOBODY"), 1000)
    with pytest.raises(EvidenceError, match="another key"):
        store.enrol(DEVICE, device_key(SEED_B).public)
    store.enrol(DEVICE, KEY.public)  # the same key again is fine
    assert store.device_key(DEVICE) == KEY.public and store.devices() == [DEVICE]


def test_media_is_content_addressed_verified_and_read_only(store):
    data = b"chunk media" * 1000
    digest = hashlib.sha256(data).digest()
    store.put_media(digest, data)
    store.put_media(digest, data)  # idempotent
    assert store.read_media(digest) == data and store.has_media(digest)
    with pytest.raises(EvidenceError, match="does not match"):
        store.put_media(digest, data + b"x")
    with pytest.raises(EvidenceError, match="no media"):
        store.read_media(bytes(32))


def test_there_is_no_delete_verb():  # R-HOST-5
    verbs = [n for n in dir(EvidenceStore) if not n.startswith("_")]
    assert not [v for v in verbs if any(w in v for w in ("delete", "remove", "drop", "evict"))]


def test_many_devices_write_at_once(tmp_path):
    s = SqliteEvidenceStore(tmp_path)
    ids = ["SC-%04d" % i for i in range(8)]
    ledgers = {}
    for d in ids:
        s.enrol(d, KEY.public)
        ledgers[d] = make_entries(20, device=d)

    def push(d):
        for i in range(0, 20, 5):
            s.add_entries(d, ledgers[d][i : i + 5], 1000)

    threads = [threading.Thread(target=push, args=(d,)) for d in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s.entries(d) == ledgers[d] for d in ids)
    s.close()


def test_deferred_media_is_invisible_until_made_durable_and_gone_after_a_crash(tmp_path):
    s = SqliteEvidenceStore(tmp_path)
    data = b"chunk" * 1000
    digest = hashlib.sha256(data).digest()
    handle = s.put_media(digest, data, defer=True)
    assert not s.has_media(digest)  # no name yet: a receipt must not count on it
    s.make_durable([handle])
    assert s.has_media(digest) and s.read_media(digest) == data
    other = b"other" * 1000
    s.put_media(hashlib.sha256(other).digest(), other, defer=True)
    s.close()  # the host dies before make_durable
    again = SqliteEvidenceStore(tmp_path)
    assert not again.has_media(hashlib.sha256(other).digest())  # pulled again next time
    assert list((tmp_path / "media" / "incoming").iterdir()) == []
    again.close()


def chunk_bytes(index):
    """The media of the test ledger's chunk ``index`` (see tests.protocol.helpers)."""
    return b"".join(hashlib.sha256(b"frame %d %d" % (index, i)).digest() for i in range(3))


def test_parsed_entries_are_stored_as_their_bytes(tmp_path, store):
    entries = make_entries(6)
    assert store.add_entries(DEVICE, [parse_entry(r) for r in entries[:4]], 1000) == 4
    assert store.add_entries(DEVICE, entries[2:], 1000) == 6  # bytes again, overlapping
    assert store.entries(DEVICE) == entries


def test_media_the_stored_chunks_name_is_owed_until_it_is_durable(tmp_path):
    s = SqliteEvidenceStore(tmp_path)
    s.enrol(DEVICE, KEY.public)
    entries = [parse_entry(r) for r in make_entries(8)]
    chunks = [e for e in entries if chunk_media(e)]
    s.add_entries(DEVICE, entries, 1000)
    owed = s.missing_media(DEVICE)
    assert owed == [chunk_media(e) for e in chunks] and len(owed) >= 3  # in seq order
    first = chunk_bytes(chunks[0].fields[F_CHUNK_INDEX])
    assert owed[0] == (hashlib.sha256(first).digest(), len(first))
    handle = s.put_media(owed[0][0], first, defer=True)
    assert s.missing_media(DEVICE) == owed  # written, but not durable: still owed
    s.close()  # the host dies here
    s = SqliteEvidenceStore(tmp_path)
    assert s.missing_media(DEVICE) == owed  # the note survived; the next sync brings it
    assert not handle[1].exists()  # and the unnamed file is gone
    writer = s.begin_media(owed[0][0])
    writer.write(first[:40])
    writer.write(first[40:])
    s.make_durable([writer.finish()])
    assert s.missing_media(DEVICE) == owed[1:] and s.read_media(owed[0][0]) == first
    second = chunk_bytes(chunks[1].fields[F_CHUNK_INDEX])
    s.put_media(owed[1][0], second)  # durable at once: no longer owed either
    assert s.missing_media(DEVICE) == owed[2:]
    s.close()


def test_a_streamed_media_file_that_does_not_match_its_hash_is_refused_and_leaves_nothing(
    tmp_path, store
):
    data = b"chunk media " * 5000
    writer = store.begin_media(hashlib.sha256(data).digest())
    writer.write(data[:30000])
    writer.write(b"X" + data[30001:])  # one byte changed in flight
    with pytest.raises(EvidenceError, match="does not match"):
        writer.finish()
    assert list((tmp_path / "media" / "incoming").iterdir()) == []
    writer = store.begin_media(hashlib.sha256(data).digest())
    writer.write(data[:1000])
    writer.discard()  # the link dropped mid-file
    assert list((tmp_path / "media" / "incoming").iterdir()) == []
    assert not store.has_media(hashlib.sha256(data).digest())


def test_a_media_note_left_by_a_crash_after_naming_is_settled(tmp_path, store):
    entries = [parse_entry(r) for r in make_entries(3)]
    store.add_entries(DEVICE, entries, 1000)
    (digest, _size) = store.missing_media(DEVICE)[0]
    index = next(e.fields[F_CHUNK_INDEX] for e in entries if chunk_media(e))
    media_path = tmp_path / "media" / digest.hex()[:2] / digest.hex()
    media_path.parent.mkdir(parents=True)
    media_path.write_bytes(chunk_bytes(index))  # named, but the note not yet cleared
    assert store.missing_media(DEVICE) == []


def test_what_a_device_says_of_media_it_cannot_give_is_kept_for_good(tmp_path, store):
    # R-HOST-5: a device's word that footage is gone is evidence: kept across a restart,
    # never removed, not even when the file arrives after all.
    entries = [parse_entry(r) for r in make_entries(6)]
    store.add_entries(DEVICE, entries, 1000)
    (digest, _size) = store.missing_media(DEVICE)[0]
    store.record_gone(DEVICE, digest, GONE_NOT_FOUND, "not in the store", 2000)
    store.record_gone("SC-OTHER", digest, GONE_NOT_FOUND, "another device's word", 2500)
    store.record_gone(DEVICE, digest, GONE_DAMAGED, "does not match its SHA-256", 3000)
    # Asked again at the next docks, the device says the same: the first report stands.
    store.record_gone(DEVICE, digest, GONE_NOT_FOUND, "not in the store", 4000)
    store.record_gone(DEVICE, digest, GONE_DAMAGED, "does not match its SHA-256", 5000)
    with pytest.raises(EvidenceError, match="32 bytes"):
        store.record_gone(DEVICE, digest[:8], GONE_DAMAGED, "", 3000)
    store.close()  # the host restarts
    again = SqliteEvidenceStore(tmp_path)
    reports = again.gone_media(DEVICE)
    assert reports == [
        {"digest": digest, "reason": GONE_NOT_FOUND, "text": "not in the store",
         "reported_ms": 2000},
        {"digest": digest, "reason": GONE_DAMAGED, "text": "does not match its SHA-256",
         "reported_ms": 3000},
    ]  # fmt: skip
    # Still owed: the next sync asks again, and a file that comes after all is stored.
    assert digest in [d for d, _ in again.missing_media(DEVICE)]
    index = next(e.fields[F_CHUNK_INDEX] for e in entries if chunk_media(e))
    again.put_media(digest, chunk_bytes(index))
    assert digest not in [d for d, _ in again.missing_media(DEVICE)]
    assert again.gone_media(DEVICE) == reports
    assert again.gone_media("SC-NONE") == []
    again.close()


def test_opening_the_store_keeps_a_live_writers_staged_media_and_clears_a_dead_ones(tmp_path):
    # A daemon mid-session stages media in incoming/; `sealcam verify` or `export` opening the
    # same store meanwhile must not delete it. A writer that died leaves litter to clear.
    import subprocess
    import sys

    SqliteEvidenceStore(tmp_path / "ev").close()
    incoming = tmp_path / "ev" / "media" / "incoming"
    # A live writer: a process that waits on its input until the test ends it.
    daemon = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        live = incoming / ("%s.%d.0" % ("ab" * 32, daemon.pid))
        live.write_bytes(b"half a chunk")
        ended = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dead = incoming / ("%s.%s.0" % ("cd" * 32, ended))
        dead.write_bytes(b"litter")
        SqliteEvidenceStore(tmp_path / "ev").close()
        assert live.exists()
        assert not dead.exists()
    finally:
        daemon.communicate(b"")


# --- an evidence.db that is no database: one clear error, nothing made beside it ---
# Issue 10 item 2: a corrupt or non-SQLite evidence.db, or a directory in its place, is one
# clear line (StoreUnopenable, which the command line prints with exit 2), never a traceback.


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
        (lambda p: p.write_bytes(b"not a database at all" * 50), "file is not a database"),
    ],
)
def test_an_evidence_db_that_is_no_database_cannot_be_opened(tmp_path, make, words):
    make(tmp_path / "evidence.db")
    for readonly in (False, True):
        with pytest.raises(StoreUnopenable, match=words):
            SqliteEvidenceStore(tmp_path, readonly=readonly).close()
    assert not (tmp_path / "media").exists()  # nothing created beside it


def test_a_store_path_that_is_a_file_cannot_be_opened(tmp_path):
    (tmp_path / "ev").write_bytes(b"x")
    with pytest.raises(StoreUnopenable, match="cannot make the evidence store"):
        SqliteEvidenceStore(tmp_path / "ev")


def test_a_device_id_the_protocol_cannot_carry_is_never_enrolled(store):
    # Issue 10 item 5: a key for a 300-character id was enrolled; the device could never
    # dock (the sync protocol's ids are 1 to 64 characters, protocol/bounds.py).
    for bad in ("X" * 65, "X" * 300):
        with pytest.raises(EvidenceError, match="1 to 64 characters, not %d" % len(bad)):
            store.enrol(bad, KEY.public)
    store.enrol("X" * 64, SEED_B[:32])
    assert "X" * 64 in store.devices() and "X" * 65 not in store.devices()


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_no_new_store_is_made_over_the_footage_of_one_whose_database_is_gone(tmp_path, how):
    # Issue 10 item 2: with evidence.db deleted or emptied, `sealcam enrol` or `sealcam sync`
    # made a fresh store (a new id, an empty log) over the old footage, and verify could then
    # no longer say the database was deleted.
    store = SqliteEvidenceStore(tmp_path)
    store.put_media(hashlib.sha256(b"footage").digest(), b"footage")
    store.close()
    for name in os.listdir(tmp_path):
        if name.startswith("evidence.db"):
            os.remove(tmp_path / name)
    if how == "emptied":
        (tmp_path / "evidence.db").write_bytes(b"")
    with pytest.raises(StoreUnopenable, match="database was deleted or emptied"):
        SqliteEvidenceStore(tmp_path)
    assert (tmp_path / "evidence.db").exists() == (how == "emptied")
    assert not (tmp_path / "evidence.db").exists() or (tmp_path / "evidence.db").stat().st_size == 0
