"""Work done one call at a time on one daemon thread (``host.lane``): the calls run in the
order given, each once, their results and errors through their futures; a shut lane takes
no more; and a call that never returns does not keep the process from ending (the
scale-out store's lock pass waiting on an object store that never answers:
``tests/scaleout/test_docklocks.py``)."""

import subprocess
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.lane import Lane

WAIT_S = 300  # a bound on a hang, never a timing assertion


@given(st.lists(st.integers(), max_size=30), st.booleans())
def test_calls_run_in_order_once_each_and_the_queued_ones_run_after_a_shutdown(values, cancel):
    lane = Lane("test-lane")
    started, gate = threading.Event(), threading.Event()
    ran: list = []

    def first_call():
        started.set()
        return gate.wait(WAIT_S)

    first = lane.submit(first_call)
    assert started.wait(WAIT_S)  # running: the calls after it wait for it
    futures = [lane.submit(ran.append, v) for v in values]
    lane.shutdown(cancel_futures=cancel)
    with pytest.raises(RuntimeError):
        lane.submit(ran.append, 0)
    gate.set()
    assert first.result(WAIT_S) is True  # a shutdown never cuts off the call running
    assert [f.cancelled() for f in futures] == [cancel] * len(values)
    for future in futures:
        if not cancel:
            assert future.result(WAIT_S) is None
    assert ran == ([] if cancel else values)


def test_a_calls_error_is_its_futures_and_the_next_call_runs():
    lane = Lane("test-lane")
    failed = lane.submit(int, "not a number")
    after = lane.submit(len, "abc")
    with pytest.raises(ValueError):
        failed.result(WAIT_S)
    assert after.result(WAIT_S) == 3
    lane.shutdown()


# A call that never returns, then the end of the program: it ends (a ThreadPoolExecutor's
# worker would be joined at exit, for ever).
STUCK = """
import threading
from host.lane import Lane

lane = Lane("stuck")
lane.submit(threading.Event().wait)
lane.shutdown()
print("ending", flush=True)
"""


def test_a_call_that_never_returns_does_not_hold_the_process_end():
    done = subprocess.run(
        [sys.executable, "-c", STUCK], capture_output=True, text=True, timeout=WAIT_S
    )
    assert (done.returncode, done.stdout) == (0, "ending\n"), done.stderr
