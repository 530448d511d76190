"""The evidence store against forked batches and against a second writer on the same folder."""
# micropython: skip (host code)

import hashlib
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.evidence import EvidenceError, SqliteEvidenceStore
from protocol.ledger import ZERO_HASH, LedgerWriter
from protocol.registry import EV_PAUSE, F_EVENT, F_REASON, KIND_EVENT, PAUSE_WEATHER
from protocol.signer import make_signer
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key, make_entries

KEY = device_key()
LEDGER = make_entries(10)


def fork_at(seq: int) -> bytes:
    """A validly signed entry for ``seq`` that chains to the ledger's entry before it, and
    differs from the ledger's own entry for ``seq``: what a second writer on one device
    store makes."""
    prev = hashlib.sha256(LEDGER[seq - 1]).digest() if seq else ZERO_HASH
    writer = LedgerWriter(make_signer(SEED_A), DEVICE, seq=seq, prev=prev)
    fields = {F_EVENT: EV_PAUSE, F_REASON: PAUSE_WEATHER}
    return writer.append(KIND_EVENT, fields, T0 + 1000 * seq + 7, 1000 * seq + 7, sign=True)


def open_store(path) -> SqliteEvidenceStore:
    s = SqliteEvidenceStore(path)
    s.enrol(DEVICE, KEY.public)
    return s


def test_a_batch_with_two_entries_for_one_seq_is_refused_as_a_fork(tmp_path):  # issue 10 §1
    store = open_store(tmp_path)
    # Today's daemon stored seq 0-3 and dropped the second seq 2 silently, and its receipt
    # then covered a ledger it never checked whole.
    batch = [*LEDGER[:3], fork_at(2), LEDGER[3]]
    with pytest.raises(EvidenceError, match=r"two different entries for seq 2.*forked"):
        store.add_entries(DEVICE, batch, 1000)
    assert store.head(DEVICE)[0] == 0 and store.entries(DEVICE) == []
    assert store.missing_media(DEVICE) == []  # no media note of the refused batch either
    store.close()


@settings(max_examples=60, deadline=None)
@given(
    held=st.integers(0, len(LEDGER)),
    span=st.tuples(st.integers(0, len(LEDGER) - 1), st.integers(1, len(LEDGER))),
    where=st.integers(0, len(LEDGER)),
    data=st.data(),
)
def test_any_batch_holding_two_entries_for_one_seq_is_refused_whole(
    tmp_path_factory, held, span, where, data
):  # issue 10 §1, R-DEV-2
    start, stop = min(span), max(max(span), min(span) + 1)
    batch = list(LEDGER[start:stop])
    seq = data.draw(st.integers(start, stop - 1), label="forked seq")
    batch.insert(min(where, len(batch)), fork_at(seq))
    store = open_store(tmp_path_factory.mktemp("evidence"))
    try:
        if held:
            store.add_entries(DEVICE, LEDGER[:held], 1000)
        before = store.entries(DEVICE), store.missing_media(DEVICE)
        with pytest.raises(EvidenceError):
            store.add_entries(DEVICE, batch, 2000)
        assert (store.entries(DEVICE), store.missing_media(DEVICE)) == before
    finally:
        store.close()


def test_a_second_writer_between_the_head_read_and_the_write_is_skipped_not_a_clash(tmp_path):
    # issue 10 §5: two daemons on one evidence store. The other daemon stores the same entries
    # right after this one has read the stored head, whenever the store lets it in there;
    # today this one then inserted them again and died on a UNIQUE constraint.
    first = open_store(tmp_path)
    second = SqliteEvidenceStore(tmp_path)
    first.add_entries(DEVICE, LEDGER[:2], 1000)
    results: dict = {}
    errors: list = []

    def other_daemon() -> None:
        try:
            results["second"] = second.add_entries(DEVICE, LEDGER, 2000)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    other = threading.Thread(target=other_daemon)
    real_head = first._head

    def head_then_the_other_daemon(device_id: str) -> tuple:
        found = real_head(device_id)
        if not other.is_alive() and "second" not in results and not errors:
            other.start()
            if not first._db.in_transaction:
                other.join()  # nothing holds it back: it commits before this store writes
            # else this store holds the write lock: the other waits for its commit
        return found

    first._head = head_then_the_other_daemon  # type: ignore[method-assign]
    results["first"] = first.add_entries(DEVICE, LEDGER, 2000)
    other.join()
    assert not errors, errors
    assert results == {"first": len(LEDGER), "second": len(LEDGER)}
    assert first.entries(DEVICE) == LEDGER == second.entries(DEVICE)
    first.close()
    second.close()
