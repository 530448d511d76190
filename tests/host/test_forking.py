"""A forked worker never finalises what its parent left as garbage (host/forking.py)."""
# micropython: skip (host code: fork, multiprocessing)
# R-HOST-4: an export whose forked worker hung on the parent's garbage never finished.

import gc
import multiprocessing
import os

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
