"""A forked worker never finalises what its parent left as garbage (host/forking.py)."""
# micropython: skip (host code: fork, multiprocessing)
# R-HOST-4: an export whose forked worker hung on the parent's garbage never finished.

import gc
import multiprocessing
import os
import signal
import threading

import pytest

from host import forking

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork here"
)


class Finalised:
    """Garbage in a cycle whose finaliser says in which process it ran (as a PyAV codec's
    joins its encoder threads: in a forked child, where they do not exist, that hangs)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.me = self  # a cycle: only the collector frees it

    def __del__(self) -> None:
        with open(self.path, "a") as f:
            f.write("%d\n" % os.getpid())


def _collect() -> None:
    gc.collect()


def _child_finalised(tmp_path, start) -> bool:
    path = str(tmp_path / "finalised")
    open(path, "w").close()
    gc.collect()
    gc.disable()  # the garbage must still be there at the fork
    try:
        Finalised(path)  # garbage from here on
        proc = multiprocessing.get_context("fork").Process(target=_collect)
        start(proc)
        proc.join(60)
        child = proc.pid
    finally:
        gc.enable()
        gc.collect()  # the parent frees its own garbage, as it would have anyway
    with open(path) as f:
        pids = [int(line) for line in f.read().split()]
    assert os.getpid() in pids  # the parent did free it
    return child in pids


def test_a_forked_worker_leaves_the_parents_garbage_alone(tmp_path):
    # Issue 12/15: the export's and the package's workers hung in a finaliser of an object
    # the parent had dropped (a PyAV codec), collected in the child.
    assert not _child_finalised(tmp_path, forking.start)


def test_without_it_the_child_finalises_the_parents_garbage(tmp_path):
    # The test above can fail: a plain start lets the child collect the parent's garbage.
    assert _child_finalised(tmp_path, lambda proc: proc.start())


# --- Forked: a worker where it may help, and the work done here where it cannot -------------
# R-HOST-4, R-HOST-5: the export's ledger report and the court package's jobs are the same
# whether or not a worker gave them.


def _echo(conn) -> None:
    while True:
        try:
            conn.send(conn.recv())
        except (EOFError, OSError):
            return


def _is_str(message: object) -> bool:
    return isinstance(message, str)


def _ledger():
    from protocol.ledger import read_chunks
    from protocol.verify import verify_chunks
    from tests.protocol.helpers import DEVICE, device_key, make_entries

    entries = make_entries(40, sign_every=3)
    raw = bytearray(entries[20])
    raw[-10] ^= 0x01  # a signature that fails
    entries[20] = bytes(raw)
    data = b"".join(entries)
    alone = verify_chunks([data], DEVICE, device_key().public).to_dict()
    assert alone["state"] == "NOT OK"
    return list(read_chunks([data])), DEVICE, device_key().public, alone


def _job(shared, n):
    return os.getpid(), shared + n


def test_a_worker_answers_and_is_ended_when_closed():
    worker = forking.Forked.start(_echo, duplex=True)
    assert worker is not None and worker.alive
    proc = worker.proc
    assert worker.send("hello")
    assert worker.receive(_is_str) == "hello"
    assert worker.send(42)
    assert worker.receive(_is_str) is None  # not what it should say: believed no more
    assert not worker.alive and not proc.is_alive()
    assert not worker.send("again") and worker.receive(_is_str) is None
    worker.close()  # closed twice: nothing more happens


def _echo_bytes(conn) -> None:
    while True:
        try:
            conn.send_bytes(conn.recv())
        except (EOFError, OSError):
            return


def test_a_worker_may_answer_in_bytes_and_is_believed_no_more_once_gone():
    # The signature checks and the verifier's hashing take their answers as raw bytes.
    worker = forking.Forked.start(_echo_bytes, duplex=True)
    assert worker is not None
    assert not worker.poll()  # asked nothing: no answer is in
    assert worker.send(b"\x00\x01")
    assert worker.receive_bytes(lambda got: len(got) == 2) == b"\x00\x01"
    assert worker.send(b"")
    assert worker.receive_bytes(lambda got: True) == b""  # an empty answer is an answer
    proc = worker.proc
    proc.kill()
    proc.join()
    assert worker.poll()  # gone: receiving does not wait...
    assert worker.receive_bytes(lambda got: True) is None  # ...and says so
    assert not worker.alive and not worker.poll()
    worker = forking.Forked.start(_echo_bytes, duplex=True)
    assert worker is not None and worker.send(b"abc")
    assert worker.receive_bytes(lambda got: len(got) == 2) is None  # not what it should say
    assert not worker.alive and not worker.send(b"")
    worker.close()


def test_a_fork_the_system_refuses_leaves_the_work_here(monkeypatch):
    # The system may refuse a process (EAGAIN: too many, no memory): no worker, and the
    # ledger's report and the package's jobs are made here, the same.
    from host.court.beside import Beside
    from host.sigworker import LedgerWorker

    records, device, public, alone = _ledger()

    def refused():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    assert forking.Forked.start(_echo, duplex=True) is None
    ledger = LedgerWorker(records, device, public, at_least=1)
    assert ledger._proc is None
    assert ledger.report().to_dict() == alone
    b = Beside(5)
    assert not b.forked
    assert b.result(b.submit(_job, 1)) == (os.getpid(), 6)
    b.close()


def _interrupted(conn, gate: int) -> None:
    """Ctrl-C at a terminal, once the parent waits: SIGINT to this worker and to its parent
    (the process group), then no answer ever."""
    os.read(gate, 1)
    os.kill(os.getpid(), signal.SIGINT)  # ignored: the worker lives on
    os.kill(os.getppid(), signal.SIGINT)
    threading.Event().wait()


def _interrupted_job(shared) -> None:
    gate, parent = shared
    if os.getpid() == parent:  # the worker died of it, and the job came back here
        raise RuntimeError("the worker did not live through Ctrl-C")
    _interrupted(None, gate)


@pytest.mark.parametrize("user", ["ledger report", "court job"])
def test_ctrl_c_while_waiting_for_a_worker_ends_it(monkeypatch, user):
    # R-HOST-5: Ctrl-C reaches the command and its worker; the worker does not die of it
    # (no traceback of its own), the command stops waiting, and closing ends the worker.
    from host import sigworker
    from host.court.beside import Beside

    if user == "ledger report" and forking.usable_cores() < 2:
        pytest.skip("a ledger's worker is forked only where two cores are usable")
    gate_r, gate_w = os.pipe()
    try:
        if user == "ledger report":
            monkeypatch.setattr(sigworker, "_verify", lambda conn, *a: _interrupted(conn, gate_r))
            records, device, public, _alone = _ledger()
            holder: object = sigworker.LedgerWorker(records, device, public, at_least=1)
            worker = holder._proc
            wait = holder.report
        else:
            holder = Beside((gate_r, os.getpid()))
            worker = holder._proc
            ticket = holder.submit(_interrupted_job)
            wait = lambda: holder.result(ticket)  # noqa: E731
        assert worker is not None
        proc = worker.proc
        try:
            with pytest.raises(KeyboardInterrupt):
                os.write(gate_w, b"x")
                wait()
            assert proc.is_alive()  # the worker took no Ctrl-C of its own
        finally:
            holder.close()
        assert not proc.is_alive()
    finally:
        os.close(gate_r)
        os.close(gate_w)
