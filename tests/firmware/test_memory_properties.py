"""Any ledger, checkpointed anywhere: the boot's memory is the fold of the whole ledger."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-4: what retention knows after a reboot (received, important, evicted) is what the
#          ledger says, whether the boot starts from a checkpoint or from the first entry.
# R-DEV-17: host-signed settings likewise.

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.memory import decode_checkpoint, encode_checkpoint, restore
from firmware.retention import Catalogue, MediaItem, RetentionPolicy
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


def snapshot(memory: object) -> tuple:
    items = [
        (m.digest, m.recorded_ms, m.size, m.received, m.protected, m.seq, m.recording)
        for m in memory.catalogue  # type: ignore[attr-defined]
    ]
    m = memory
    return items, m.settings, m.config_issued_ms, m.received_through, m.important, m.seq, m.digest  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(plan=steps, cut=st.integers(0, 40))
def test_a_checkpoint_anywhere_then_the_rest_equals_the_whole_fold(plan: list, cut: int) -> None:
    raws = ledger(plan)
    cut = min(cut, len(raws))
    whole = restore(raws)
    saved = decode_checkpoint(encode_checkpoint(restore(raws[:cut]), KEY), KEY)
    assert saved is not None
    for raw in raws[cut:]:
        saved.fold(parse_entry(raw))
    assert snapshot(saved) == snapshot(whole)
    assert saved.catalogue.ordered == whole.catalogue.ordered


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
