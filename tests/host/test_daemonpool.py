"""Calls run on daemon threads (``host.daemonpool``): with one worker they run in the
order given, each once, their results and errors through their futures; with more, that
many at once; a pool shut down takes no more and can be waited for within a bound; and a
call that never returns does not keep the process from ending (the scale-out store's
uploads and lock passes waiting on an object store that never answers:
``tests/scaleout/test_docklocks.py``)."""
# R-HOST-1: what carries footage into the scale-out store (its uploads, its lock passes)
# runs here; a call cut off loses nothing the next dock or the upkeep does not bring back.

import subprocess
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.daemonpool import DaemonPool, NoThread

WAIT_S = 300  # a bound on a hang, never a timing assertion


@given(st.lists(st.integers(), max_size=30), st.booleans())
def test_calls_run_in_order_once_each_and_the_queued_ones_run_after_a_shutdown(values, cancel):
    pool = DaemonPool("test-pool")
    started, gate = threading.Event(), threading.Event()
    ran: list = []

    def first_call():
        started.set()
        return gate.wait(WAIT_S)

    first = pool.submit(first_call)
    assert started.wait(WAIT_S)  # running: the calls after it wait for it
    futures = [pool.submit(ran.append, v) for v in values]
    pool.shutdown(cancel_futures=cancel)
    with pytest.raises(RuntimeError):
        pool.submit(ran.append, 0)
    assert not pool.join(0)  # the first call still runs
    gate.set()
    assert pool.join(WAIT_S)
    assert first.result(0) is True  # a shutdown never cuts off a call running
    assert [f.cancelled() for f in futures] == [cancel] * len(values)
    assert ran == ([] if cancel else values)


def test_a_calls_error_is_its_futures_and_the_next_call_runs():
    pool = DaemonPool("test-pool")
    failed = pool.submit(int, "not a number")
    after = pool.submit(len, "abc")
    with pytest.raises(ValueError):
        failed.result(WAIT_S)
    assert after.result(WAIT_S) == 3
    pool.shutdown()
    assert pool.join(WAIT_S)


def test_a_call_its_caller_cancelled_is_not_run_and_ends():
    pool = DaemonPool("test-pool")
    gate = threading.Event()
    pool.submit(gate.wait, WAIT_S)
    ran: list = []
    later = pool.submit(ran.append, 1)
    assert later.cancel()
    gate.set()
    pool.shutdown()
    assert pool.join(WAIT_S) and ran == []


def test_workers_run_that_many_calls_at_once():
    pool = DaemonPool("test-pool", workers=2)
    both = threading.Barrier(2, timeout=WAIT_S)  # broken unless the two run together
    futures = [pool.submit(both.wait) for _ in range(2)]
    assert sorted(f.result(WAIT_S) for f in futures) == [0, 1]
    pool.shutdown()
    assert pool.join(WAIT_S)


def test_threads_the_system_refused_are_tried_again_and_none_started_is_its_own_error(
    monkeypatch,
):
    # A pool whose threads the system refuses: with none started, the call is refused as
    # NoThread (not the RuntimeError of a pool shut down) and nothing is queued; with some
    # started, they run the calls and the rest are started at a later call, never more
    # than ``workers`` in all.
    pool = DaemonPool("refused-pool", workers=3)
    start = threading.Thread.start
    allowed = [0]

    def refusing(thread):
        if thread.name.startswith("refused-pool"):
            if allowed[0] == 0:
                raise RuntimeError("can't start new thread")
            allowed[0] -= 1
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refusing)
    with pytest.raises(NoThread):
        pool.submit(len, "a")
    assert pool.join(0)  # nothing was queued
    allowed[0] = 1
    assert pool.submit(len, "ab").result(WAIT_S) == 2  # one thread runs it
    allowed[0] = 5
    assert pool.submit(len, "abc").result(WAIT_S) == 3
    names = sorted(t.name for t in threading.enumerate() if t.name.startswith("refused-pool"))
    assert names == ["refused-pool_0", "refused-pool_1", "refused-pool_2"]
    pool.shutdown()
    assert pool.join(WAIT_S)


# Calls that never return, then the end of the program: it ends (a ThreadPoolExecutor's
# workers would be joined at exit, for ever).
STUCK = """
import threading
from host.daemonpool import DaemonPool, NoThread

pool = DaemonPool("stuck", workers=2)
for _ in range(3):
    pool.submit(threading.Event().wait)
pool.shutdown()
print("ending", pool.join(0), flush=True)
"""


def test_calls_that_never_return_do_not_hold_the_process_end():
    done = subprocess.run(
        [sys.executable, "-c", STUCK], capture_output=True, text=True, timeout=WAIT_S
    )
    assert (done.returncode, done.stdout) == (0, "ending False\n"), done.stderr


# The review page's reads of footage ahead, and a full check's reads of the objects'
# locks, waiting on an object store that never answers; then the end of the program.
STUCK_READS = """
import threading
from host import medialocks
from host.mediasource import ObjectMedia

reading = threading.Barrier(3)


class Unanswered(ObjectMedia):
    def read_range(self, *span):
        reading.wait()
        threading.Event().wait()


def lock_in_store(media, digest, version):
    reading.wait()
    threading.Event().wait()


medialocks.lock_in_store = lock_in_store
media = Unanswered(None, "bucket", lambda digest: "v1")
spans = media.read_spans([(bytes(32), 0, 1)])
threading.Thread(target=next, args=(spans,), daemon=True).start()
checks = medialocks._ask_ahead(None, {bytes(32): ("v1", None)})
next(checks)
reading.wait()
print("ending", flush=True)
"""


def test_reads_that_never_return_do_not_hold_the_process_end():
    # A server asked to stop ends: the reads run on daemon threads.
    done = subprocess.run(
        [sys.executable, "-c", STUCK_READS], capture_output=True, text=True, timeout=WAIT_S
    )
    assert (done.returncode, done.stdout) == (0, "ending\n"), done.stderr
