"""What the review page derives from a ledger and keeps (``host.web.kept``): a recording's
view and a device's compliance flags alike (issue 16: a first look parses nothing made
before), checked against a model of what it promises."""
# micropython: skip (the review page)

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
