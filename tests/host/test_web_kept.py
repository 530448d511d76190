"""What the review page derives from a ledger and keeps (``host.web.kept``): a recording's
view and a device's compliance flags alike (issue 16: a first look parses nothing made
before), checked against a model of what it promises."""
# micropython: skip (the review page)

import inspect
import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from host.web.kept import Kept

NAMES = st.sampled_from(["SC-1/0", "SC-1/7", "SC-2"])
SEQS = st.one_of(st.none(), st.integers(0, 3))
OPS = st.lists(st.tuples(st.sampled_from(["get", "ready", "store"]), NAMES, SEQS), max_size=40)


class Model:
    """What ``Kept`` promises, written plainly: memory, then the store, then made."""

    def __init__(self, limit):
        self.limit = limit
        self.memory: dict = {}  # name -> (seq, value), least recently used first

    def put(self, name, seq, value):
        old = self.memory.get(name)
        if old is not None and old[0] is not None and (seq is None or old[0] > seq):
            return
        self.memory.pop(name, None)
        self.memory[name] = (seq, value)
        while self.limit is not None and len(self.memory) > self.limit:
            del self.memory[next(iter(self.memory))]

    def known(self, name, seq):
        got = self.memory.get(name)
        if got is None or got[0] != seq:
            return None
        self.memory[name] = self.memory.pop(name)
        return got[1]


@given(OPS, st.sampled_from([None, 1, 2]))
@settings(max_examples=300, deadline=None)
def test_kept_finds_in_memory_then_the_store_then_makes_and_never_goes_back(ops, limit):
    # Issue 16: what is kept is found without making it again; what is made is kept in the
    # store; an older ledger's never replaces a newer one's; memory holds ``limit`` at most.
    kept: Kept[tuple] = Kept(limit)
    model = Model(limit)
    store: dict = {}  # (name, seq) -> value, as a store keeps them
    made: list = []
    for op, name, seq in ops:
        if op == "store":  # another server kept it in the store meanwhile
            store[(name, seq)] = ("stored", name, seq)
            continue
        in_memory = model.known(name, seq)
        from_store = store.get((name, seq))

        def stored(name=name, seq=seq):
            return store.get((name, seq))

        def make(name=name, seq=seq):
            made.append((name, seq))
            return ("made", name, seq, len(made))

        def keep(value, name=name, seq=seq):
            store[(name, seq)] = value

        before = len(made)
        if op == "ready":
            got = kept.ready(name, seq, stored)
            expected = in_memory if in_memory is not None else from_store
        else:
            got = kept.get(name, seq, stored, make, keep)
            expected = in_memory if in_memory is not None else from_store
            if expected is None:
                expected = ("made", name, seq, before + 1)
                assert store[(name, seq)] == expected
        assert got == expected
        assert len(made) == before + (op == "get" and in_memory is None and from_store is None)
        if got is not None and in_memory is None:
            model.put(name, seq, got)
        assert kept.snapshot() == model.memory
        assert list(kept.snapshot()) == list(model.memory)  # the same one dropped next


def test_many_at_once_wait_for_one_maker():
    # Issue 16 (20 reviewers): twenty first looks at one recording make its view once.
    kept: Kept[str] = Kept(16)
    made: list = []
    go = threading.Event()

    def make():
        go.wait(timeout=60)
        made.append(1)
        return "view"

    got: list = []
    threads = [
        threading.Thread(target=lambda: got.append(kept.get("SC-1/0", 5, lambda: None, make)))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=600)
    assert got == ["view"] * 20 and made == [1]
    assert kept.ready("SC-1/0", 5, lambda: None) == "view"
    assert kept.ready("SC-1/0", 6, lambda: None) is None  # the recording grew: made again


BOUND = 6000  # polls of 0.01 s: a generous bound on a thread reaching where it waits


def _waits_in_get(thread: threading.Thread, or_else: threading.Event) -> None:
    """Return once ``thread`` waits for the maker's lock inside ``Kept.get``, or once
    ``or_else`` is set (it made instead of waiting)."""
    source, first = inspect.getsourcelines(Kept.get)
    line = first + next(i for i, text in enumerate(source) if "with making:" in text)
    for _ in range(BOUND):
        if or_else.is_set():
            return
        frame = sys._current_frames().get(thread.ident or -1)
        if frame is not None and frame.f_code is Kept.get.__code__ and frame.f_lineno == line:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the thread neither waited for the maker nor made")


class _Round:
    """Three callers of ``Kept.get`` for one name, each a newer seq, their makers held
    until let go; how many were making at once, at most."""

    def __init__(self) -> None:
        self.kept: Kept[int] = Kept()
        self.lock = threading.Lock()
        self.making = 0
        self.most = 0
        self.go = {seq: threading.Event() for seq in (1, 2, 3)}
        self.began = {seq: threading.Event() for seq in (1, 2, 3)}

    def make(self, seq: int) -> int:
        with self.lock:
            self.making += 1
            self.most = max(self.most, self.making)
        self.began[seq].set()
        self.go[seq].wait()
        with self.lock:
            self.making -= 1
        return seq

    def asks(self, seq: int) -> threading.Thread:
        made = self.make
        thread = threading.Thread(
            target=self.kept.get, args=("SC-1/0", seq, lambda: None, lambda: made(seq))
        )
        thread.start()
        return thread

    def run(self) -> int:
        first = self.asks(1)
        assert self.began[1].wait(60)
        second = self.asks(2)
        _waits_in_get(second, self.began[2])
        self.go[1].set()
        first.join(60)
        assert self.began[2].wait(60)  # the second makes now
        third = self.asks(3)
        _waits_in_get(third, self.began[3])  # for the second's lock, or making beside it
        for seq in (2, 3):
            self.go[seq].set()
        for t in (second, third):
            t.join(60)
        assert self.kept.known("SC-1/0", 3) == 3
        return self.most


def test_a_maker_done_while_another_waits_leaves_one_maker_at_a_time():
    # The first maker ending while a second waits for its lock must not drop that lock:
    # a third caller would make one of its own and make beside the second (each a newer
    # seq, as docks bring more of a recording).
    for _ in range(5):
        assert _Round().run() == 1
