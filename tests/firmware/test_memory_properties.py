"""Any ledger, checkpointed anywhere: the boot's memory is the fold of the whole ledger."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-4: what retention knows after a reboot (received, important, evicted) is what the
#          ledger says, whether the boot starts from a checkpoint or from the first entry.
# R-DEV-17: host-signed settings likewise.

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.memory import Memory, decode_checkpoint, encode_checkpoint, restore
from firmware.retention import Catalogue, MediaItem, RetentionPolicy
from firmware.retindex import MemoryFile, SpanIndex
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_CONFIG_APPLIED,
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_MARK_IMPORTANT,
    F_DETAIL,
    F_EVENT,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
)
from tests.protocol.helpers import T0, make_writer

DIGESTS = [bytes([n]) * 32 for n in range(6)]  # few, so chunks share files
KEY = bytes(range(32))

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("chunk"),
            st.integers(0, 5),  # which file
            st.integers(-3, 10),  # start, in seconds from the previous chunk's (a clock set back)
            st.integers(0, 2),  # which recording
        ),
        st.tuples(st.just("receipt"), st.integers(-1, 60)),
        st.tuples(st.just("evict"), st.lists(st.integers(0, 5), max_size=3)),
        st.tuples(st.just("mark"), st.integers(0, 2)),
        st.tuples(st.just("config"), st.integers(0, 9), st.integers(0, 10**6)),
    ),
    max_size=40,
)


def ledger(plan: list) -> list:
    writer = make_writer()
    out = []
    start = T0
    for step in plan:
        if step[0] == "chunk":
            start += 1000 * step[2]
            kind, fields = (
                KIND_CHUNK,
                {
                    F_RECORDING: b"rec-%d" % step[3],
                    F_START_MS: start,
                    F_PLAIN_LEN: 100 + step[1],
                    F_PLAIN_SHA: DIGESTS[step[1]],
                },
            )
        elif step[0] == "receipt":
            kind, fields = (
                KIND_EVENT,
                {
                    F_EVENT: EV_HOST_RECEIPT,
                    F_DETAIL: {"through_seq": step[1]},
                },
            )
        elif step[0] == "evict":
            media = [DIGESTS[n] for n in step[1]]
            kind, fields = KIND_EVENT, {F_EVENT: EV_EVICTION, F_DETAIL: {"media": media}}
        elif step[0] == "mark":
            kind, fields = (
                KIND_EVENT,
                {F_EVENT: EV_MARK_IMPORTANT, F_RECORDING: b"rec-%d" % step[1]},
            )
        else:
            detail = {"setting_%d" % step[1]: step[2], "issued_ms": step[2]}
            kind, fields = KIND_EVENT, {F_EVENT: EV_CONFIG_APPLIED, F_DETAIL: detail}
        out.append(writer.append(kind, fields, T0, 0))
    return out


def snapshot(memory: Memory) -> tuple:
    """The fold's state with the on-card index's records (the walk's hints left out)."""
    index = memory.index
    kept = index.state()
    kept = kept[:11] + kept[13:]
    spans = [p for _, p in index.spans.records(0)]
    held = [p for _, p in index.held_file.records(0)]
    return kept, spans, held, memory.settings, memory.config_issued_ms, memory.seq, memory.digest


def fold_on(memory: Memory, raws: list, first: int) -> None:
    for i, raw in enumerate(raws):
        memory.fold(parse_entry(raw), (0, first + i))


@settings(max_examples=150, deadline=None)
@given(
    plan=steps,
    cut=st.integers(0, 40),
    ran=st.integers(0, 40),
    torn=st.integers(0, 10**6),
)
def test_a_checkpoint_anywhere_then_the_rest_equals_the_whole_fold(
    plan: list, cut: int, ran: int, torn: int
) -> None:
    # R-DEV-14, issue 19: the on-card index too. The run went on past its checkpoint and the
    # power went at any byte of its index writes; the boot adopts the index as the
    # checkpoint names it and folds the entries after: the same state and the same index
    # bytes as one fold of the whole ledger.
    raws = ledger(plan)
    cut = min(cut, len(raws))
    ran = min(cut + ran, len(raws))
    whole = restore(raws)
    run = restore(raws[:cut])
    data = encode_checkpoint(run, KEY)
    named = [run.index.spans.length, run.index.held_file.length]
    fold_on(run, raws[cut:ran], cut)
    for f, at in zip((run.index.spans, run.index.held_file), named, strict=True):
        assert isinstance(f, MemoryFile)
        del f.data[at + torn % (len(f.data) - at + 1) :]  # cut at any byte written after
    saved = decode_checkpoint(data, KEY, SpanIndex(run.index.spans, run.index.held_file))
    assert saved is not None
    fold_on(saved, raws[cut:], cut)
    assert snapshot(saved) == snapshot(whole)


items = st.lists(
    st.tuples(
        st.integers(0, 5),  # file
        st.integers(0, 400),  # recorded, days after T0
        st.integers(1, 1000),  # size
        st.booleans(),  # received
        st.integers(0, 9),  # protected when 0
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(
    spec=items, now_days=st.integers(0, 600), free=st.integers(0, 3000), need=st.integers(0, 6000)
)
def test_the_indexed_catalogue_frees_exactly_what_the_full_walk_frees(
    spec: list, now_days: int, free: int, need: int
) -> None:  # R-DEV-4, R-DEV-5
    day = 86_400_000
    catalogue = [
        MediaItem(DIGESTS[f], T0 + d * day, s, received=r, protected=p == 0, seq=i)
        for i, (f, d, s, r, p) in enumerate(sorted(spec, key=lambda t: t[1]))
    ]
    indexed = Catalogue(catalogue)
    assert indexed.ordered
    policy = RetentionPolicy()
    now = T0 + now_days * day
    assert policy.evictable_bytes(indexed, now) == policy.evictable_bytes(catalogue, now)
    walked = policy.can_record(catalogue, now, free, need)
    fast = policy.can_record(indexed, now, free, need)
    assert (fast.ok, fast.evict, fast.message) == (walked.ok, walked.evict, walked.message)
