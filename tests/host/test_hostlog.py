"""The host store proves its own completeness: its log, its checkpoints, and `sealcam verify`
finding every row deleted, every store emptied, replaced, truncated or rolled back."""
# micropython: skip (host code, SQLite, threads and sockets)
# R-HOST-5: nobody cuts or edits original footage on the host either, and deleting a row
# from the host's store is never silent.

import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.link import DeviceLink
from firmware.ports.transports import SocketTransport
from host import hostlog, tlog
from host.cli import main
from host.daemon import Daemon
from host.evidence import EvidenceError, SqliteEvidenceStore
from host.verify_store import check_store
from protocol import cbor
from protocol.keys import DeviceKey, encode_key
from protocol.ledger import parse_entry
from protocol.messages import GONE_NOT_FOUND
from protocol.registry import EV_HOST_RECEIPT, F_DETAIL, F_EVENT, F_PLAIN_SHA
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.host.helpers import HOST_KID, HOST_SEED, device_run
from tests.host.storetext import every_store_finding_said  # noqa: F401 (a fixture)
from tests.protocol.helpers import DEVICE, SEED_A, SEED_B, T0, device_key, make_entries

# Every store finding these tests provoke says in English what its message says, and is
# Chinese in Chinese (issue 13 "Chinese first").
pytestmark = pytest.mark.usefixtures("every_store_finding_said")

HOST = make_signer(HOST_SEED)
FIXTURES = [HealthCheck.function_scoped_fixture]
OTHER_DEVICE = "SC-TEST-0002"


def dock(agent, ev):
    """One dock as the daemon serves it: the session, its record, the checkpoint after."""
    a, b = socket.socketpair()
    pinned = {HOST_KID: HOST.public_key()}
    device = DeviceLink(agent, make_signer(SEED_A), pinned, SocketTransport(a), False, os.urandom)
    t = threading.Thread(target=device_run, args=(device,))
    t.start()
    daemon = Daemon(ev, HOST, HOST_KID, out=io.StringIO())
    try:
        summary = daemon.serve_link(SocketTransport(b), False, "tcp:test")
    finally:
        b.close()
        t.join(10)
        a.close()
    return summary, device


@pytest.fixture
def docked(tmp_path):
    """An evidence store after two docks of one recorder, closed; and the recorder's agent."""
    agent = recorded_device(tmp_path / "dev", frames=60)
    ev = SqliteEvidenceStore(tmp_path / "ev")
    ev.enrol(DEVICE, device_key().public)
    for _ in range(2):
        summary, _device = dock(agent, ev)
        assert summary["result"] == "done", summary
    ev.close()
    yield tmp_path / "ev", agent
    agent.store.close()


def verify(path, *args, capsys):
    """``sealcam verify PATH --json ARGS``: the exit code and the parsed report (or the
    error line)."""
    code = main(["verify", str(path), "--json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else err)


def findings(report):
    return {f["code"]: f["message"] for f in report["store"]["findings"]}


def sql(path, *statements):
    db = sqlite3.connect(str(path / "evidence.db"))
    for s in statements:
        db.execute(*s) if isinstance(s, tuple) else db.execute(s)
    db.commit()
    db.close()


def snapshot(path):
    db = path / "evidence.db"
    return db.read_bytes(), db.stat().st_mtime_ns


@given(
    device=st.text(max_size=80),
    seq=st.integers(0, (1 << 64) - 1),
    digest=st.binary(max_size=40),
)
def test_an_entry_leaf_is_the_deterministic_cbor_of_its_fields(device, seq, digest):
    # The fast encoder and the codec agree byte for byte, so anyone can rebuild a leaf.
    assert hostlog.entry_leaf(device, seq, digest) == cbor.dumps(["entry", device, seq, digest])
    assert hostlog.parse_leaf(hostlog.entry_leaf(device, seq, digest)) == [
        "entry",
        device,
        seq,
        digest,
    ]


# --- the untouched store ---


def test_a_docked_store_verifies_ok_and_verify_changes_nothing(docked, capsys):
    path, _agent = docked
    before = snapshot(path)
    code, report = verify(path, capsys=capsys)
    assert code == 0, report
    assert report["store"]["state"] == "OK" and report["store"]["findings"] == []
    stats = report["store"]["stats"]
    assert stats["leaves"] == stats["checkpoint"]["size"] > 0
    assert report["devices"][0]["verification"]["state"] == "OK"
    assert snapshot(path) == before  # read-only: not a byte, not the mtime
    assert sorted(os.listdir(path / "media" / "incoming")) == []
    # Text output too, and the same once more.
    assert main(["verify", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Store" in text and "newest checkpoint" in text and "✓ OK" in text
    assert snapshot(path) == before


def test_every_stored_row_is_a_leaf_of_the_log_in_order(docked):
    path, _agent = docked
    db = sqlite3.connect(str(path / "evidence.db"))
    kinds = [k for (k,) in db.execute("SELECT kind FROM log ORDER BY idx")]
    n_entries = db.execute("SELECT count(*) FROM entries").fetchone()[0]
    n_sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
    assert kinds[0] == hostlog.DEVICE
    assert kinds.count(hostlog.ENTRY) == n_entries and kinds.count(hostlog.SESSION) == n_sessions
    assert kinds.count(hostlog.MEDIA) == len(list((path / "media").glob("??/*")))
    leaves = [bytes(h) for (h,) in db.execute("SELECT leaf FROM log ORDER BY idx")]
    size, root, note = db.execute(
        "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"
    ).fetchone()
    store_id = db.execute("SELECT value FROM store_meta").fetchone()[0]
    db.close()
    assert size == len(leaves) and bytes(root) == tlog.root_of(leaves)
    cp = tlog.open_checkpoint(note.encode(), HOST_KID, HOST.public_key())
    assert cp.origin == "sealcam evidence " + store_id and cp.size == size


def test_the_receipt_binds_the_head_hash_and_a_checkpoint_that_holds_it(tmp_path):
    # R-DEV-2: the device's receipt event names the entry hash it covers and the host's
    # checkpoint; that entry is provably in that checkpoint (an inclusion proof).
    agent = recorded_device(tmp_path / "dev", frames=12)
    ev = SqliteEvidenceStore(tmp_path / "ev")
    ev.enrol(DEVICE, device_key().public)
    summary, device = dock(agent, ev)
    assert summary["result"] == "done" and device.receipts
    through = device.receipts[-1]
    receipt = [
        parse_entry(r)
        for r in agent.store.entries()
        if parse_entry(r).fields.get(F_EVENT) == EV_HOST_RECEIPT
    ][-1]
    detail = receipt.fields[F_DETAIL]
    held = ev.entries(DEVICE)
    assert detail["through_seq"] == through and detail["by"] == HOST_KID
    assert detail["log_origin"] == "sealcam evidence " + ev.log.store_id()
    assert detail["head_hash"] == hashlib.sha256(held[through]).digest()
    db = sqlite3.connect(str(tmp_path / "ev" / "evidence.db"))
    leaves = [bytes(h) for (h,) in db.execute("SELECT leaf FROM log ORDER BY idx")]
    sizes = {s: bytes(r) for s, r in db.execute("SELECT size, root FROM checkpoints")}
    db.close()
    size, root = detail["log_size"], detail["log_root"]
    # The receipt names the log's head when it was sent (its own signature vouches for it);
    # the session's one signed checkpoint, after the session's record, extends that head.
    assert tlog.root_of(leaves[:size]) == root
    ((signed, signed_root),) = sizes.items()
    assert signed == size + 1 == len(leaves)  # what the receipt named, and the record
    proof = tlog.consistency_proof(leaves, size, signed)
    assert tlog.verify_consistency(size, signed, root, signed_root, proof)
    leaf = tlog.leaf_hash(hostlog.entry_leaf(DEVICE, through, detail["head_hash"]))
    index = leaves.index(leaf)
    assert tlog.verify_inclusion(leaf, index, size, tlog.inclusion_proof(leaves, index, size), root)
    ev.close()
    agent.store.close()


def test_each_dock_signs_one_checkpoint_after_its_record(tmp_path):
    # Issue 11 (from issue 10's review): the receipt and the session's end signed one each.
    agent = recorded_device(tmp_path / "dev", frames=12)
    ev = SqliteEvidenceStore(tmp_path / "ev")
    ev.enrol(DEVICE, device_key().public)
    db = sqlite3.connect(str(tmp_path / "ev" / "evidence.db"))
    for n in (1, 2, 3):
        summary, device = dock(agent, ev)
        assert summary["result"] == "done" and device.receipts
        rows = db.execute("SELECT size FROM checkpoints ORDER BY size").fetchall()
        (leaves,) = db.execute("SELECT size FROM log_head").fetchone()
        assert len(rows) == n and rows[-1][0] == leaves  # one each, covering the record
    db.close()
    ev.close()
    agent.store.close()


# --- each tampering the issue names ---


def test_deleting_the_newest_entries_of_a_device_is_not_ok(docked, capsys):
    path, _agent = docked
    db = sqlite3.connect(str(path / "evidence.db"))
    last = db.execute("SELECT max(seq) FROM entries").fetchone()[0]
    db.close()
    sql(path, ("DELETE FROM entries WHERE device_id = ? AND seq >= ?", (DEVICE, last - 2)))
    before = snapshot(path)
    code, report = verify(path, capsys=capsys)
    assert code == 1 and report["store"]["state"] == "NOT OK"
    message = findings(report)["entries-deleted"]
    assert DEVICE in message and "seq %d-%d " % (last - 2, last) in message
    assert snapshot(path) == before


def test_deleting_a_whole_device_is_not_ok(docked, capsys):
    path, _agent = docked
    sql(
        path,
        ("DELETE FROM entries WHERE device_id = ?", (DEVICE,)),
        ("DELETE FROM missing_media WHERE device_id = ?", (DEVICE,)),
        ("DELETE FROM devices WHERE device_id = ?", (DEVICE,)),
    )
    code, report = verify(path, capsys=capsys)
    assert code == 1 and report["devices"] == []
    found = findings(report)
    assert DEVICE in found["device-deleted"] and "seq 0-" in found["entries-deleted"]
    code, report = verify(path, "--device", DEVICE, capsys=capsys)  # asked for by name
    assert code == 1 and "device-deleted" in findings(report)


def test_an_evidence_db_replaced_by_an_empty_file_is_not_ok(docked, capsys):
    path, _agent = docked
    for name in os.listdir(path):
        if name.startswith("evidence.db"):
            os.remove(path / name)
    (path / "evidence.db").write_bytes(b"")
    code, report = verify(path, capsys=capsys)
    assert code == 1
    assert "replaced or emptied" in findings(report)["database-replaced"]
    assert (path / "evidence.db").read_bytes() == b""  # verify made no database of it
    os.remove(path / "evidence.db")
    code, report = verify(path, capsys=capsys)
    assert code == 1 and "deleted" in findings(report)["database-deleted"]


def test_an_evidence_db_emptied_to_a_fresh_store_is_not_ok(docked, capsys):
    path, _agent = docked
    for name in os.listdir(path):
        if name.startswith("evidence.db"):
            os.remove(path / name)
    # A new, empty store in its place (made elsewhere: sealcam refuses to make one over
    # the media of another, test_evidence.py): the media stays.
    SqliteEvidenceStore(path.parent / "fresh").close()
    shutil.copy(path.parent / "fresh" / "evidence.db", path / "evidence.db")
    code, report = verify(path, capsys=capsys)
    assert code == 1
    assert "replaced or emptied" in findings(report)["media-not-logged"]


def test_deleting_a_media_file_or_its_leaf_is_not_ok(docked, capsys):
    path, _agent = docked
    victim = sorted((path / "media").glob("??/*"))[0]
    victim.unlink()
    code, report = verify(path, capsys=capsys)
    assert code == 1 and victim.name[:16] in findings(report)["media-deleted"]

    # The leaf of another media file removed from the log: the log no longer hashes to
    # its checkpoints, and the gap shows.
    db = sqlite3.connect(str(path / "evidence.db"))
    idx = db.execute("SELECT max(idx) FROM log WHERE kind = 'media'").fetchone()[0]
    db.execute("DELETE FROM log WHERE idx = ?", (idx,))
    db.commit()
    db.close()
    code, report = verify(path, capsys=capsys)
    found = findings(report)
    assert code == 1 and "log-rows-deleted" in found and "log-rewritten" in found


def test_deleting_a_session_record_or_a_gone_report_is_not_ok(docked, capsys):
    path, _agent = docked
    store = SqliteEvidenceStore(path)
    store.record_gone(DEVICE, bytes(32), GONE_NOT_FOUND, "not in the store", T0)
    store.checkpoint(HOST, HOST_KID)
    store.close()
    assert verify(path, capsys=capsys)[0] == 0
    sql(path, "DELETE FROM sessions WHERE rowid = (SELECT min(rowid) FROM sessions)")
    code, report = verify(path, capsys=capsys)
    assert code == 1 and DEVICE in findings(report)["session-deleted"]
    sql(path, "DELETE FROM gone_media")
    code, report = verify(path, capsys=capsys)
    assert code == 1 and "not in the store" in findings(report)["gone-report-deleted"]


def test_a_truncated_log_is_not_ok(docked, capsys):
    path, _agent = docked
    db = sqlite3.connect(str(path / "evidence.db"))
    size = db.execute("SELECT count(*) FROM log").fetchone()[0]
    tail = [
        hostlog.parse_leaf(bytes(d))
        for (d,) in db.execute("SELECT data FROM log WHERE idx >= ?", (size - 5,))
    ]
    db.close()
    # Cut the log's tail and the rows it covered, and move the head back: only the
    # signed checkpoint still knows.
    statements = [("DELETE FROM log WHERE idx >= ?", (size - 5,))]
    for leaf in tail:
        if leaf[0] == hostlog.ENTRY:
            statements.append(("DELETE FROM entries WHERE seq = ?", (leaf[2],)))
        elif leaf[0] == hostlog.SESSION:
            statements.append(("DELETE FROM sessions WHERE ended_ms = ?", (leaf[2],)))
    sql(path, *statements)
    code, report = verify(path, capsys=capsys)
    assert code == 1 and "were removed" in findings(report)["log-truncated"]


def test_a_store_with_evidence_but_no_checkpoint_is_not_ok(tmp_path, capsys):
    store = SqliteEvidenceStore(tmp_path)
    assert verify(tmp_path, capsys=capsys)[0] == 0  # a fresh store holds nothing to prove
    store.enrol(DEVICE, device_key().public)
    assert verify(tmp_path, capsys=capsys)[0] == 0  # enrolled only: still nothing stored
    store.add_entries(DEVICE, make_entries(3), T0)
    code, report = verify(tmp_path, capsys=capsys)
    assert code == 1 and "no-checkpoint" in findings(report)
    sql(tmp_path, "DELETE FROM checkpoints")  # nor may the checkpoints just go
    store.checkpoint(HOST, HOST_KID)
    assert verify(tmp_path, capsys=capsys)[0] == 0
    sql(tmp_path, "DELETE FROM checkpoints")
    assert verify(tmp_path, capsys=capsys)[0] == 1
    store.close()


def test_rows_added_behind_the_logs_back_are_not_ok(tmp_path, capsys):
    store = SqliteEvidenceStore(tmp_path)
    store.enrol(DEVICE, device_key().public)
    raws = make_entries(4)
    store.add_entries(DEVICE, raws[:3], T0)
    store.checkpoint(HOST, HOST_KID)
    store.close()
    e = parse_entry(raws[3])
    sql(
        tmp_path,
        (
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
            (DEVICE, 3, e.digest, raws[3], e.kind, T0, T0),
        ),
    )
    code, report = verify(tmp_path, capsys=capsys)
    assert code == 1 and "seq 3 " in findings(report)["entries-not-logged"]


def test_a_checkpoint_not_signed_by_the_pinned_host_key_is_not_ok(docked, capsys, tmp_path):
    path, _agent = docked
    right = tmp_path / "host.pub"
    right.write_bytes(encode_key(DeviceKey(HOST_KID, HOST.public_key(), b"")))
    assert verify(path, "--host-key", str(right), capsys=capsys)[0] == 0
    wrong = tmp_path / "other.pub"
    wrong.write_bytes(encode_key(DeviceKey(HOST_KID, make_signer(SEED_B).public_key(), b"")))
    code, report = verify(path, "--host-key", str(wrong), capsys=capsys)
    assert code == 1 and "pinned host key" in findings(report)["checkpoint-unverified"]


# --- what cannot be checked at all: exit 2, one line, nothing written ---


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "is empty"),
        (b"not a database at all" * 50, "not an SQLite database"),
        (None, "is a directory"),
    ],
)
def test_an_unusable_evidence_db_is_exit_2_with_one_line(tmp_path, capsys, content, words):
    db = tmp_path / "evidence.db"
    if content is None:
        db.mkdir()
    else:
        db.write_bytes(content)
    code = main(["verify", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
    if content is not None:
        assert db.read_bytes() == content
    assert not (tmp_path / "media").exists()  # nothing created beside it


def test_an_evidence_db_that_is_a_fifo_or_a_device_is_exit_2(docked, capsys):
    """Issue 10 item 2: SQLite opening a FIFO for reading waits for a writer that never
    comes (verify hung for good), and reads /dev/zero as an empty database (a store with
    media was 'replaced'); neither is a database: exit 2, one line, at once."""
    path, _agent = docked
    db = path / "evidence.db"
    db.unlink()
    os.mkfifo(db)
    result = []
    t = threading.Thread(target=lambda: result.append(main(["verify", str(path)])), daemon=True)
    t.start()
    t.join(120)
    if t.is_alive():  # unblock the open verify is stuck in, so the test ends
        os.close(os.open(db, os.O_WRONLY | os.O_NONBLOCK))
        t.join(120)
        pytest.fail("verify blocked opening a FIFO as evidence.db")
    out, err = capsys.readouterr()
    assert result == [2] and out == "" and "not a regular file" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    db.unlink()
    db.symlink_to("/dev/zero")
    code = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "not a regular file" in err and err.count("\n") == 1


def test_verify_no_longer_recreates_a_dropped_table(docked, capsys):
    path, _agent = docked
    sql(path, "DROP TABLE sessions")
    before = snapshot(path)
    code, report = verify(path, capsys=capsys)
    assert code == 1 and "sessions" in findings(report)["tables-missing"]
    assert snapshot(path) == before
    db = sqlite3.connect(str(path / "evidence.db"))
    names = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "sessions" not in names


# --- witnesses ---


def export(path, out, capsys):
    code = main(["checkpoint", "export", "--evidence", str(path), "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    return out.read_bytes()


def test_checkpoint_export_writes_the_newest_signed_note(docked, capsys, tmp_path):
    path, _agent = docked
    note = export(path, tmp_path / "cp.txt", capsys)
    cp = tlog.open_checkpoint(note, HOST_KID, HOST.public_key())
    assert cp.origin.startswith("sealcam evidence ")
    assert main(["checkpoint", "export", "--evidence", str(path)]) == 0
    assert capsys.readouterr().out.encode() == note
    empty = tmp_path / "fresh"
    SqliteEvidenceStore(empty).close()
    assert main(["checkpoint", "export", "--evidence", str(empty)]) == 2
    assert "no checkpoint yet" in capsys.readouterr().err


def test_a_store_rolled_back_behind_a_witness_is_not_ok(docked, capsys, tmp_path):
    path, agent = docked
    old_copy = tmp_path / "old-copy"
    shutil.copytree(path, old_copy)
    agent.input("press_record")  # more footage, another dock
    for _ in range(6):
        agent.capture()
    agent.input("press_stop")
    ev = SqliteEvidenceStore(path)
    assert dock(agent, ev)[0]["result"] == "done"
    ev.close()
    witness = tmp_path / "witness.cp"
    export(path, witness, capsys)
    code, report = verify(path, "--witness", str(witness), capsys=capsys)
    assert code == 0 and report["store"]["stats"]["witness"]["consistent"]

    # The store put back as it was before that dock: consistent in itself, but behind the
    # checkpoint the witness holds.
    shutil.rmtree(path)
    shutil.copytree(old_copy, path)
    assert verify(path, capsys=capsys)[0] == 0
    code, report = verify(path, "--witness", str(witness), capsys=capsys)
    assert code == 1 and "rolled back" in findings(report)["rolled-back"]


def rewrite_log(path, keep):
    """What someone holding the host key could do: delete rows, rebuild the log over the
    leaves ``keep`` leaves, and sign a fresh checkpoint. The store is consistent in itself."""
    db = sqlite3.connect(str(path / "evidence.db"), isolation_level=None)
    db.execute("BEGIN")
    rows = db.execute("SELECT idx, kind, data FROM log ORDER BY idx").fetchall()
    tree = tlog.CompactTree()
    for idx, kind, data in rows:
        fields = hostlog.parse_leaf(bytes(data))
        if keep(fields):
            db.execute("UPDATE log SET idx = ? WHERE idx = ?", (-1 - tree.size, idx))
            tree.append(tlog.leaf_hash(bytes(data)))
        else:
            db.execute("DELETE FROM log WHERE idx = ?", (idx,))
            if kind == hostlog.ENTRY:
                db.execute(
                    "DELETE FROM entries WHERE device_id = ? AND seq = ?", (fields[1], fields[2])
                )
    db.execute("UPDATE log SET idx = -1 - idx")
    db.execute("UPDATE log_head SET size = ?, frontier = ?", (tree.size, b"".join(tree.frontier())))
    db.execute("DELETE FROM checkpoints")
    db.execute("COMMIT")
    db.close()
    store = SqliteEvidenceStore(path)
    store.checkpoint(HOST, HOST_KID)
    store.close()


def test_a_store_rewritten_with_the_host_key_is_caught_by_a_witness(docked, capsys, tmp_path):
    path, _agent = docked
    witness = tmp_path / "witness.cp"
    export(path, witness, capsys)
    # Entry seq 5 and what follows it in the log are gone, the log rebuilt and re-signed.
    rewrite_log(path, lambda f: not (f[0] == hostlog.ENTRY and f[2] == 5))
    sql(path, ("DELETE FROM entries WHERE seq > 5",))
    rewrite_log(path, lambda f: not (f[0] == hostlog.ENTRY and f[2] > 5))
    code, report = verify(path, capsys=capsys)
    assert report["store"]["state"] == "OK"  # nothing in the store itself gives it away
    code, report = verify(path, "--witness", str(witness), capsys=capsys)
    assert code == 1
    found = findings(report)
    assert "rewritten" in found or "rolled-back" in found
    # Even at the same size or larger, a changed prefix fails the consistency proof.
    store = SqliteEvidenceStore(path)
    store.record_session({"result": "done", "entries_stored": 0, "media_stored": 0,
                          "bytes_in": 0}, T0)  # fmt: skip
    for i in range(400):
        store.record_session(
            {"result": "x%d" % i, "entries_stored": 0, "media_stored": 0, "bytes_in": 0}, T0
        )
    store.checkpoint(HOST, HOST_KID)
    store.close()
    code, report = verify(path, "--witness", str(witness), capsys=capsys)
    assert code == 1 and "not an extension" in findings(report)["rewritten"]


def test_the_report_names_the_key_the_checkpoint_verified_with(docked, capsys):
    """Issue 10 item 2: with the host key replaced by another and the checkpoint re-signed,
    a store verified without --host-key or a witness is consistent in itself; the report now
    names the key (as keygen and enrol print it), so a reader who knows the agency's key
    sees the change."""
    path, _agent = docked
    code, report = verify(path, capsys=capsys)
    assert (
        code == 0 and report["store"]["stats"]["checkpoint"]["key"] == HOST.public_key()[:8].hex()
    )
    intruder = make_signer(bytes(range(32)))
    sql(path, "DELETE FROM checkpoints", "DELETE FROM host_keys")
    store = SqliteEvidenceStore(path)
    store.checkpoint(intruder, HOST_KID)
    store.close()
    main(["verify", str(path)])
    out = capsys.readouterr().out
    assert "signed by %s (key %s)" % (HOST_KID, intruder.public_key()[:8].hex()) in out


def test_the_receipts_devices_logged_are_witnesses_too(docked, capsys):
    # R-DEV-2: a media file removed with its leaf, the log rebuilt and re-signed with the host
    # key. The store agrees with itself and the device's ledger only misses a file, but the
    # receipt the device logged (stored at its next dock) names the log as it was.
    path, _agent = docked
    victim = sorted((path / "media").glob("??/*"))[0]
    victim.unlink()
    digest = bytes.fromhex(victim.name)
    rewrite_log(path, lambda f: not (f[0] == hostlog.MEDIA and f[1] == digest))
    code, report = verify(path, capsys=capsys)
    assert code == 1
    found = findings(report)
    assert set(found) == {"receipt-contradicted"} and DEVICE in found["receipt-contradicted"]
    assert report["devices"][0]["verification"]["state"] == "OK with missing information"


def test_receipts_of_another_hosts_log_are_not_held_against_this_one(tmp_path, capsys):
    # A recorder that docks at two hosts carries each one's receipts; each store checks only
    # the receipts of its own log (by the checkpoint's origin).
    agent = recorded_device(tmp_path / "dev", frames=30)
    stores = []
    for name in ("ev-a", "ev-b"):
        ev = SqliteEvidenceStore(tmp_path / name)
        ev.enrol(DEVICE, device_key().public)
        stores.append(ev)
    for ev in stores + stores:
        assert dock(agent, ev)[0]["result"] == "done"
    for ev in stores:
        ev.close()
        code, report = verify(ev.root, capsys=capsys)
        assert code == 0, report["store"]
    agent.store.close()


def test_a_witness_of_a_replaced_store_or_no_note_at_all(docked, capsys, tmp_path):
    path, _agent = docked
    witness = tmp_path / "witness.cp"
    export(path, witness, capsys)
    other = tmp_path / "other"
    store = SqliteEvidenceStore(other)
    store.checkpoint(HOST, HOST_KID)
    store.close()
    code, report = verify(other, "--witness", str(witness), capsys=capsys)
    assert code == 1 and "replaced" in findings(report)["witness-other-store"]
    junk = tmp_path / "junk.cp"
    junk.write_text("hello\n")
    assert main(["verify", str(path), "--witness", str(junk)]) == 2
    assert "not a signed checkpoint" in capsys.readouterr().err


# --- rows and leaves are one transaction ---


class FailingCursor:
    """A cursor that fails at its ``fail_at``-th statement (after BEGIN), as a crash would
    cut a transaction: SQLite then keeps none of it."""

    def __init__(self, cur, counter):
        self.cur = cur
        self.counter = counter

    def execute(self, sql, *args):
        self._tick(sql)
        return self.cur.execute(sql, *args)

    def executemany(self, sql, *args):
        self._tick(sql)
        return self.cur.executemany(sql, *args)

    def _tick(self, sql):
        word = sql.split()[0].upper()
        if word not in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"):
            self.counter[0] -= 1
            if self.counter[0] == 0:
                raise sqlite3.OperationalError("disk I/O error (injected)")

    def __getattr__(self, name):
        return getattr(self.cur, name)


class FailingDb:
    def __init__(self, db, fail_at):
        self.db = db
        self.counter = [fail_at]

    def cursor(self):
        return FailingCursor(self.db.cursor(), self.counter)

    def execute(self, sql, *args):
        return FailingCursor(self.db.cursor(), self.counter).execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


def media_of(raw):
    e = parse_entry(raw)
    return e.fields.get(F_PLAIN_SHA)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fail_at=st.integers(1, 12), step=st.sampled_from(["entries", "session", "gone", "enrol"]))
def test_a_failure_at_any_statement_leaves_rows_and_leaves_together(
    tmp_path_factory, fail_at, step
):
    path = tmp_path_factory.mktemp("ev")
    store = SqliteEvidenceStore(path)
    store.enrol(DEVICE, device_key().public)
    raws = make_entries(6)
    store.add_entries(DEVICE, raws[:2], T0)
    real = store._db
    store._db = FailingDb(real, fail_at)  # type: ignore[assignment]
    store.log.db = store._db  # type: ignore[assignment]
    try:
        if step == "entries":
            store.add_entries(DEVICE, raws[2:], T0)
        elif step == "session":
            store.record_session(
                {"device": DEVICE, "result": "done", "entries_stored": 4, "media_stored": 0,
                 "bytes_in": 9}, T0)  # fmt: skip
        elif step == "gone":
            store.record_gone(DEVICE, bytes(32), GONE_NOT_FOUND, "not here", T0)
        else:
            store.enrol(OTHER_DEVICE, device_key(SEED_B, OTHER_DEVICE).public)
    except (sqlite3.OperationalError, EvidenceError):
        pass
    store._db = real
    store.log.db = real
    store.checkpoint(HOST, HOST_KID)
    store.close()
    report = check_store(path)
    assert report.ok, [f.to_dict() for f in report.findings]


# --- any history of stored rows, any one deletion ---


def chunk_media_bytes(index):
    return b"".join(
        hashlib.sha256(("frame %d %d" % (index, i)).encode()).digest() for i in range(3)
    )


ROW_KINDS = ("entry", "device", "session", "gone", "media")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    gone=st.lists(st.booleans(), min_size=5, max_size=5),
    victim=st.tuples(st.sampled_from(ROW_KINDS), st.integers(0, 10_000)),
)
def test_any_one_row_deleted_from_any_history_is_found(tmp_path_factory, batches, gone, victim):
    # R-HOST-5: sessions of random sizes, each stored, its media made durable, a GONE now
    # and then, its record kept and checkpointed; then one row of any kind goes.
    path = tmp_path_factory.mktemp("ev")
    store = SqliteEvidenceStore(path)
    store.enrol(DEVICE, device_key().public)
    raws = make_entries(sum(batches))
    at = 0
    for n, reported in zip(batches, gone, strict=False):
        store.add_entries(DEVICE, raws[at : at + n], T0 + at)
        for i in range(at, at + n):
            if media_of(raws[i]) is not None:
                store.put_media(media_of(raws[i]), chunk_media_bytes(i))
        if reported:
            store.record_gone(DEVICE, hashlib.sha256(b"%d" % at).digest(), GONE_NOT_FOUND, "x", T0)
        at += n
        store.record_session(
            {"device": DEVICE, "result": "done", "entries_stored": n, "media_stored": 0,
             "bytes_in": at}, T0 + at)  # fmt: skip
        store.checkpoint(HOST, HOST_KID)
    store.close()
    assert check_store(path).ok

    kind, pick = victim
    db = sqlite3.connect(str(path / "evidence.db"))
    if kind == "media":
        files = sorted((path / "media").glob("??/*"))
        if not files:
            db.close()
            return
        files[pick % len(files)].unlink()
    else:
        table = {"entry": "entries", "device": "devices", "session": "sessions",
                 "gone": "gone_media"}[kind]  # fmt: skip
        rowids = [r for (r,) in db.execute("SELECT rowid FROM %s" % table)] if kind != "entry" \
            else None  # fmt: skip
        if kind == "entry":
            seq = pick % at
            db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
        elif not rowids:
            db.close()
            return
        else:
            db.execute("DELETE FROM %s WHERE rowid = ?" % table, (rowids[pick % len(rowids)],))
        db.commit()
    db.close()
    report = check_store(path)
    assert not report.ok
    codes = {f.code for f in report.findings}
    expected = {"entry": "entries-deleted", "device": "device-deleted",
                "session": "session-deleted", "gone": "gone-report-deleted",
                "media": "media-deleted"}[kind]  # fmt: skip
    assert expected in codes
