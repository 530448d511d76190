"""Signature checks in a worker process: the same outcomes, in order, whatever happens to it."""
# issue 10 (verify throughput): `sealcam verify` checks signatures in a second process while
# it reads on; the report is the one the verifier gives alone.

import json
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host import sigworker
from host.sigworker import BATCH, IN_FLIGHT, LedgerWorker, WorkerChecks, worker_checks
from protocol.ledger import read_chunks, read_ledger
from protocol.signer import SignatureChecker
from protocol.verify import verify_chunks
from tests.host.helpers import run, write_case
from tests.protocol.helpers import DEVICE, SEED_B, device_key, make_entries

KEY = device_key()


def signed_pairs(n: int) -> list:
    """(message, signature) of ``n`` entries, every third with a signature of another key
    or of other bytes."""
    good = make_entries(n)
    other = make_entries(n, seed=SEED_B)
    records = zip(read_ledger(b"".join(good)), read_ledger(b"".join(other)), strict=True)
    pairs = []
    for i, (a, b) in enumerate(records):
        message, signature = a[2].to_be_signed(), a[2].signature
        if i % 3 == 1:
            signature = b[2].signature
        elif i % 3 == 2:
            message = message[:-1] + bytes([message[-1] ^ 1])
        pairs.append((message, signature))
    return pairs


def outcomes(checks: WorkerChecks, pairs: list) -> list:
    got = []
    for message, signature in pairs:
        checks.submit(message, signature)
        while checks.ready():
            got.append(checks.take())
    while len(got) < len(pairs):
        got.append(checks.take())
    return got


def test_worker_outcomes_are_the_checkers_in_order():
    pairs = signed_pairs(BATCH * (IN_FLIGHT + 2) + 5)
    checker = SignatureChecker(KEY.public)
    expected = [checker.check(m, s) for m, s in pairs]
    assert True in expected and False in expected
    checks = WorkerChecks(KEY.public)
    try:
        assert outcomes(checks, pairs) == expected
        assert checks._proc is not None  # a worker did the full batches
    finally:
        checks.close()
    assert checks._proc is None


def test_a_short_ledger_starts_no_worker():
    pairs = signed_pairs(BATCH - 1)
    checks = WorkerChecks(KEY.public)
    checker = SignatureChecker(KEY.public)
    assert outcomes(checks, pairs) == [checker.check(m, s) for m, s in pairs]
    assert checks._proc is None
    checks.close()


def _serve_garbled(conn, public_key: bytes) -> None:
    while True:
        conn.send_bytes(b"\x02" * len(conn.recv()))  # not an outcome: neither 0 nor 1


def _serve_then_stall(conn, public_key: bytes) -> None:
    """The worker, but it never answers its third batch (nor any after): the batch stays
    in flight until the worker is killed."""
    checker = SignatureChecker(public_key)
    for _ in range(2):
        batch = conn.recv()
        conn.send_bytes(bytes(checker.check(m, s) for m, s in batch))
    conn.recv()
    threading.Event().wait()


@pytest.mark.parametrize("taken", [0, BATCH + 1])
@pytest.mark.parametrize("worker", ["killed", "garbled", "another thread"])
def test_a_worker_that_dies_changes_no_outcome(monkeypatch, worker, taken):
    # R-HOST-5: the outcomes are the checker's, in order, whether the worker is killed in
    # the middle (with batches in flight, before or after answers were taken), answers
    # what it should not, or is never forked (a thread started after worker_checks).
    pairs = signed_pairs(BATCH * 4)
    checker = SignatureChecker(KEY.public)
    expected = [checker.check(m, s) for m, s in pairs]
    if worker == "garbled":
        monkeypatch.setattr(sigworker, "_serve", _serve_garbled)
    elif worker == "killed":
        monkeypatch.setattr(sigworker, "_serve", _serve_then_stall)
    forked: list = []  # each worker WorkerChecks started (None: it could not)
    start = WorkerChecks._start

    def recorded(checks: WorkerChecks) -> None:
        start(checks)
        forked.append(checks._proc)

    monkeypatch.setattr(WorkerChecks, "_start", recorded)
    held = threading.Event()
    other = threading.Thread(target=held.wait, daemon=True)
    checks = WorkerChecks(KEY.public)
    if worker == "another thread":
        other.start()
    try:
        for message, signature in pairs[: 3 * BATCH]:
            checks.submit(message, signature)
        got = [checks.take() for _ in range(taken)]
        assert len(forked) == 1 and (forked[0] is None) == (worker == "another thread")
        if worker == "killed":
            worker_proc = checks._proc
            assert worker_proc is not None  # it never answers the third batch: still at work
            assert checks._sent  # that batch, at least, is in flight as it is killed
            worker_proc.proc.kill()
            worker_proc.proc.join()
        got += [checks.take() for _ in range(3 * BATCH - taken)]
        for message, signature in pairs[3 * BATCH :]:
            checks.submit(message, signature)
        got += [checks.take() for _ in range(BATCH)]
        assert checks._proc is None  # gone or never there: nothing is sent to it again
    finally:
        checks.close()
        held.set()
        if other.is_alive():
            other.join()
    assert got == expected


@st.composite
def damaged(draw) -> bytes:
    entries = make_entries(draw(st.integers(BATCH, 3 * BATCH)), sign_every=draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(entries) - 1))
        raw = bytearray(entries[i])
        raw[draw(st.integers(0, len(raw) - 1))] ^= 0x10
        entries[i] = bytes(raw)
    if draw(st.booleans()):
        entries += make_entries(3, seed=SEED_B)[1:]
    return b"".join(entries)


@settings(max_examples=15, deadline=None)
@given(damaged())
def test_verify_with_a_worker_gives_the_same_report(data):
    seen_alone: list = []
    seen_worker: list = []
    alone = verify_chunks([data], DEVICE, KEY.public, seen_alone.append)
    checks = worker_checks(KEY.public)
    with_worker = verify_chunks([data], DEVICE, KEY.public, seen_worker.append, checks)
    assert with_worker.to_dict() == alone.to_dict()
    assert seen_worker == seen_alone


def test_no_signature_worker_while_another_thread_runs(monkeypatch):
    # R-HOST-5: a lock another thread holds at a fork stays held in the child for ever
    # (host.forking), so with a second thread running the signatures are checked here.
    if not sigworker.HAVE_NACL:
        pytest.skip("the signature worker needs PyNaCl")
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    alone = worker_checks(KEY.public)
    assert alone is not None  # one thread, two cores: a worker may be forked
    alone.close()
    held = threading.Event()
    other = threading.Thread(target=held.wait, daemon=True)
    other.start()
    try:
        assert worker_checks(KEY.public) is None
    finally:
        held.set()
        other.join()


def test_sealcam_verify_with_its_worker_reports_what_the_verifier_alone_does(tmp_path):
    # A ledger long enough for the command to start its worker, with a changed entry, a
    # tail signed by another key and a cut end: the same JSON report as verify_chunks alone.
    entries = make_entries(4 * BATCH, sign_every=2)
    raw = bytearray(entries[40])
    raw[-70] ^= 0x01
    entries[40] = bytes(raw)
    entries += make_entries(3, seed=SEED_B)[1:]
    data = b"".join(entries)[:-7]
    ledger, keyfile = write_case(tmp_path, [data])
    r = run("verify", ledger, "--key", keyfile, "--json")
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""
    alone = verify_chunks([data], DEVICE, KEY.public)
    assert json.loads(r.stdout) == dict(alone.to_dict(), ledger=ledger)


# --- a whole parsed ledger verified in a worker (issue 12: the export's ledger beside its copy)


@settings(max_examples=10, deadline=None)
@given(damaged())
def test_a_parsed_ledger_verified_in_a_worker_gives_the_verifiers_report(data):
    records = list(read_chunks([data]))
    worker = LedgerWorker(records, DEVICE, KEY.public, at_least=1)
    try:
        assert worker._proc is not None
        assert worker.report().to_dict() == verify_chunks([data], DEVICE, KEY.public).to_dict()
    finally:
        worker.close()


def _worker_gone(conn, records, device_id, public_key):
    os._exit(1)


def _worker_garbled(conn, records, device_id, public_key):
    conn.send("not a report")


@pytest.mark.parametrize("worker", ["gone", "garbled", "one core", "another thread", "never asked"])
def test_the_ledgers_report_never_depends_on_its_worker(monkeypatch, worker):
    entries = make_entries(2 * BATCH, sign_every=3)
    raw = bytearray(entries[20])
    raw[-10] ^= 0x01  # a signature that fails
    entries[20] = bytes(raw)
    data = b"".join(entries)
    alone = verify_chunks([data], DEVICE, KEY.public).to_dict()
    assert alone["state"] == "NOT OK"
    if worker == "gone":
        monkeypatch.setattr(sigworker, "_verify", _worker_gone)
    elif worker == "garbled":
        monkeypatch.setattr(sigworker, "_verify", _worker_garbled)
    elif worker == "one core":
        monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    held = threading.Event()
    if worker == "another thread":  # a server's worker: no fork, whose child could hang
        threading.Thread(target=held.wait, daemon=True).start()
    try:
        ledger = LedgerWorker(list(read_chunks([data])), DEVICE, KEY.public, at_least=1)
    finally:
        held.set()
    assert (ledger._proc is None) == (worker in ("one core", "another thread"))
    if worker == "never asked":  # closed before its report: the worker is ended, no wait
        ledger.close()
        assert ledger._proc is None
        return
    assert ledger.report().to_dict() == alone
    assert ledger._proc is None  # ended once the report is in
    assert ledger.report().to_dict() == alone  # asked again: the same, nothing more runs


def test_a_short_ledger_is_verified_without_a_worker():
    data = b"".join(make_entries(sigworker.LEDGER_WORKER_MIN - 1))
    ledger = LedgerWorker(list(read_chunks([data])), DEVICE, KEY.public)
    assert ledger._proc is None
    assert ledger.report().to_dict() == verify_chunks([data], DEVICE, KEY.public).to_dict()
