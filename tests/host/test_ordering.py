"""The one ordering check every evidence store appends a ledger by (``host.evidence``'s
``order_batch``, sans-I/O): a resent window skipped, a fork refused, a gap refused; and the
media notes and their settling beside it. Each store's own tests (tests/host/test_evidence.py,
tests/scaleout/) prove it is the check they use."""
# micropython: skip (host code)
# R-HOST-5: the host stores a device's ledger once, in order, as the device signed it.

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.evidence import (
    EvidenceError,
    chunk_media,
    media_notes,
    order_batch,
    parse_batch,
    sort_notes,
)
from protocol.ledger import parse_entry
from protocol.registry import ZERO_HASH
from tests.protocol.helpers import DEVICE, SEED_B, make_entries

LEDGER = [parse_entry(raw) for raw in make_entries(12)]
OTHER = [parse_entry(raw) for raw in make_entries(12, seed=SEED_B)]  # the same device, forked


def stored(k: int) -> tuple:
    """The head of a store holding LEDGER[:k], and its "same as stored?" check."""
    head = (k, LEDGER[k - 1].digest) if k else (0, ZERO_HASH)

    def same(seq: int, digest: bytes) -> bool:
        assert seq < k, "asked about a seq the store does not hold"
        return LEDGER[seq].digest == digest

    return head, same


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12), st.integers(0, 12), st.integers(0, 12))
def test_a_window_is_appended_from_the_stored_head_or_refused_as_a_gap(k, i, j):
    # Any window of the ledger: what the store lacks of it is appended, in order; what it
    # holds is skipped; a window that starts past the head leaves a gap and is refused.
    i, j = min(i, j), max(i, j)
    head, same = stored(k)
    window = LEDGER[i:j]
    if i > k and window:
        with pytest.raises(EvidenceError, match="does not continue"):
            order_batch(DEVICE, window, head, same)
        return
    new, next_seq = order_batch(DEVICE, window, head, same)
    assert [e.seq for e in new] == list(range(max(i, k), j))
    assert next_seq == (max(k, j) if window else k)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(0, 11))
def test_an_entry_unlike_the_stored_one_for_its_seq_is_a_fork(k, seq):
    seq = seq % k
    head, same = stored(k)
    with pytest.raises(EvidenceError, match="forked or altered"):
        order_batch(DEVICE, [*LEDGER[:seq], OTHER[seq], *LEDGER[seq + 1 :]], head, same)


def test_two_entries_for_one_seq_in_a_batch_are_a_fork_even_when_both_are_new():
    head, same = stored(3)
    with pytest.raises(EvidenceError, match="two different entries for seq 4"):
        order_batch(DEVICE, [LEDGER[3], LEDGER[4], OTHER[4]], head, same)
    # The same entry twice is a resend, not a fork.
    new, next_seq = order_batch(DEVICE, [LEDGER[3], LEDGER[3], LEDGER[4]], head, same)
    assert [e.seq for e in new] == [3, 4] and next_seq == 5


def test_the_next_seq_must_link_to_the_stored_head():
    # The other ledger's entry 3 takes the right seq but links to its own entry 2.
    head, same = stored(3)
    with pytest.raises(EvidenceError, match="does not continue"):
        order_batch(DEVICE, [OTHER[3]], head, same)


def test_a_batch_of_another_device_or_an_unreadable_entry_is_refused_whole():
    others = make_entries(2, device="SC-TEST-0002")
    with pytest.raises(EvidenceError, match="belongs to device SC-TEST-0002"):
        parse_batch(DEVICE, [make_entries(1)[0], *others])
    assert [e.seq for e in parse_batch(DEVICE, [LEDGER[0], make_entries(2)[1]])] == [0, 1]


def test_media_notes_name_each_new_chunk_whose_media_is_not_held():
    chunks = [e for e in LEDGER if chunk_media(e) is not None]
    held = {chunk_media(chunks[0])[0]}
    notes = media_notes(DEVICE, LEDGER, held.__contains__)
    assert [(d, s) for _dev, d, _seq, s in notes] == [chunk_media(e) for e in chunks[1:]]
    assert [seq for _dev, _d, seq, _s in notes] == [e.seq for e in chunks[1:]]


def test_notes_are_sorted_into_still_owed_and_held_in_their_order():
    a, b, c = (hashlib.sha256(bytes([n])).digest() for n in range(3))
    due, settled = sort_notes([(a, 1), (bytearray(b), 2), (c, 3)], {b}.__contains__)
    assert due == [(a, 1), (c, 3)] and settled == [b]
