"""One writer per device store: a claimed store refuses every other writer, so its ledger
never forks however would-be writers interleave (issue 10, item 1)."""
# micropython: skip (flock and hypothesis are CPython's; a board has one writer, its agent)

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.store import Store, ledger_bytes
from firmware.storelock import LOCK_NAME, StoreInUse, claim, describe, parse_holder
from protocol.ledger import LedgerWriter
from protocol.registry import EV_BOOT, F_EVENT, KIND_EVENT
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.portable import TempDir
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

KEY = device_key()
SIGNER = make_signer(SEED_A)


class Writer:
    """A would-be writer: claims the store, opens it, appends entries that say who it is."""

    def __init__(self, path: str, number: int) -> None:
        self.path = path
        self.number = number
        self.claim = None
        self.store: Store | None = None
        self.ledger: LedgerWriter | None = None

    def open(self, use_lock: bool = True) -> bool:
        if self.store is not None:
            return True
        if use_lock:
            try:
                self.claim = claim(self.path, "writer %d" % self.number)
            except StoreInUse:
                return False
        self.store = Store(self.path)
        seq, prev = self.store.head()
        # Each writer's entries differ (its boot counter), as two processes' would.
        self.ledger = LedgerWriter(SIGNER, DEVICE, seq=seq, prev=prev, boot=self.number)
        return True

    def append(self) -> None:
        if self.store is None or self.ledger is None:
            return
        seq = self.ledger.seq
        raw = self.ledger.append(KIND_EVENT, {F_EVENT: EV_BOOT}, T0 + seq, seq, sign=True)
        self.store.append(raw)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = None
        self.ledger = None
        if self.claim is not None:
            self.claim.release()
        self.claim = None


def findings(path: str) -> list:
    report = verify_ledger(ledger_bytes(path), DEVICE, KEY.public)
    return [f.code for f in report.findings]


def test_two_writers_without_the_claim_fork_the_ledger():
    # What the claim prevents: two writers, each with its own idea of the head, sign two
    # different entries for one seq (R-DEV-2).
    with TempDir() as path:
        a, b = Writer(path, 1), Writer(path, 2)
        a.open(use_lock=False)
        b.open(use_lock=False)
        a.append()
        b.append()
        a.close()
        b.close()
        assert "conflicting-seq" in findings(path)


def test_a_claimed_store_refuses_a_second_writer_and_names_the_first():
    with TempDir() as path:
        first = claim(path, "sealcam record")
        with pytest.raises(StoreInUse) as refused:
            claim(path, "sealcam dock")
        holder = refused.value.holder
        assert holder["pid"] == os.getpid() and holder["command"] == "sealcam record"
        message = str(refused.value)
        named = "the store %s is in use by sealcam record (pid %d, since " % (path, os.getpid())
        assert message.startswith(named)
        assert "\n" not in message
        first.release()
        second = claim(path, "sealcam dock")  # free again once the first lets go
        second.release()
        assert os.path.exists(os.path.join(path, LOCK_NAME))  # kept: see StoreClaim.release


def test_a_holder_record_that_is_not_one_names_no_holder():
    assert parse_holder(b"") == {}
    assert parse_holder(b"not json") == {}
    assert parse_holder(b"[1, 2]") == {}
    assert parse_holder(b"x" * 5000) == {}
    assert describe({}) == "another process"
    assert describe({"command": "sealcam record", "pid": "7"}) == "sealcam record"
    record = {"command": "sealcam dock", "pid": 12}
    assert describe(parse_holder(json.dumps(record).encode())) == "sealcam dock (pid 12)"


OPS = st.lists(
    st.tuples(st.sampled_from(["open", "append", "append", "close"]), st.integers(0, 2)),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_interleaved_writers_through_the_claim_never_fork_the_ledger(ops):
    # R-DEV-2: whatever order three would-be writers open, append and close in, only the
    # one holding the claim writes, so every seq has exactly one entry and the chain holds.
    with TempDir() as path:
        writers = [Writer(path, n + 1) for n in range(3)]
        appended = 0
        for op, n in ops:
            w = writers[n]
            if op == "open":
                opened = w.open()
                assert opened == all(o.store is None for o in writers if o is not w)
            elif op == "append":
                if w.store is not None:
                    appended += 1
                w.append()
            else:
                w.close()
        for w in writers:
            w.close()
        report = verify_ledger(ledger_bytes(path), DEVICE, KEY.public)
        assert "conflicting-seq" not in [f.code for f in report.findings]
        if appended:
            assert report.state == OK
            assert report.stats["last_seq"] == appended - 1
