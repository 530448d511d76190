"""Any ledger: the index's walk frees exactly what a chunk-by-chunk reading of the rules frees."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-4, R-DEV-5: oldest first, stopping at the first chunk younger than the floor or not
# yet received; held chunks kept; issue 12: an init segment goes only once the walk has
# passed into the next recording. The estimate (whole spans, no ledger reads) and the plan
# (chunk by chunk) agree with each other and with the rules read straight off the ledger.

from hypothesis import event, given, settings
from hypothesis import strategies as st

from firmware import retindex
from firmware.memory import Memory
from firmware.retindex import EVICT, Walk
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_HOST_RECEIPT,
    EV_MARK_IMPORTANT,
    F_DETAIL,
    F_EVENT,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MJPEG,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
)
from tests.protocol.helpers import T0, make_writer

DAY = 86_400_000
FLOOR = 183 * DAY

steps = st.lists(
    st.one_of(
        st.tuples(st.just("chunk"), st.integers(0, 3 * DAY), st.integers(1, 900)),
        st.tuples(st.just("recording"), st.booleans()),  # a new recording; fMP4 when True
        st.tuples(st.just("receipt"), st.integers(0, 80)),
        st.tuples(st.just("mark"), st.integers(0, 5)),  # a recording, counted back from now
    ),
    max_size=60,
)


def ledger(plan: list) -> list:
    writer = make_writer()
    out = []
    start = T0
    recording = 0
    fmp4 = False
    first = True
    n = 0
    for step in plan:
        if step[0] == "recording":
            recording += 1
            fmp4 = step[1]
            first = True
            continue
        if step[0] == "chunk":
            start += step[1]
            media = MEDIA_MJPEG
            if fmp4:
                media = MEDIA_MP4_INIT if first else MEDIA_MP4
            first = False
            n += 1
            kind, fields = (
                KIND_CHUNK,
                {
                    F_RECORDING: b"rec-%d" % recording,
                    F_START_MS: start,
                    F_PLAIN_LEN: step[2],
                    F_PLAIN_SHA: n.to_bytes(32, "big"),
                    F_MEDIA_TYPE: media,
                },
            )
        elif step[0] == "receipt":
            kind, fields = (
                KIND_EVENT,
                {F_EVENT: EV_HOST_RECEIPT, F_DETAIL: {"through_seq": step[1]}},
            )
        else:
            named = b"rec-%d" % max(recording - step[1], 0)
            kind, fields = KIND_EVENT, {F_EVENT: EV_MARK_IMPORTANT, F_RECORDING: named}
        out.append(writer.append(kind, fields, T0, 0))
    return out


class ListLedger:
    """The ledger as a store holds it: each entry at a byte offset, framed by 8 bytes."""

    def __init__(self, raws: list) -> None:
        self.raws = raws
        self.at: dict = {}
        offset = 0
        self.offsets = []
        for i, raw in enumerate(raws):
            self.at[offset] = i
            self.offsets.append(offset)
            offset += 8 + len(raw)

    def entries_at(self, index: int, offset: int):
        for i in range(self.at[offset], len(self.raws)):
            yield 0, self.offsets[i], self.raws[i]


def oracle(entries: list, now: int) -> list:
    """The rules read straight off the ledger: seqs whose files may go now, in order."""
    received = -1
    marked: dict = {}
    for e in entries:
        if e.kind != KIND_CHUNK:
            if e.fields[F_EVENT] == EV_HOST_RECEIPT:
                received = max(received, e.fields[F_DETAIL]["through_seq"])
            elif e.fields[F_EVENT] == EV_MARK_IMPORTANT:
                marked[e.fields[F_RECORDING]] = True
    out = []
    init = None  # (seq, recording) of the recording's init segment the walk passed
    for e in entries:
        if e.kind != KIND_CHUNK:
            continue
        f = e.fields
        if now - f[F_START_MS] < FLOOR or e.seq > received:
            break
        rec = f[F_RECORDING]
        if init is not None and init[1] != rec:
            if init[1] not in marked:
                out.append(init[0])
            init = None
        if f[F_MEDIA_TYPE] == MEDIA_MP4_INIT:
            init = (e.seq, rec)
            continue
        if rec not in marked:
            out.append(e.seq)
    return out


@settings(max_examples=300, deadline=None)
@given(plan=steps, now_days=st.integers(150, 400))
def test_the_walk_frees_exactly_what_the_rules_allow(plan: list, now_days: int) -> None:
    saved = retindex.SPAN_CHUNKS
    retindex.SPAN_CHUNKS = 3  # many spans from few chunks
    try:
        raws = ledger(plan)
        entries = [parse_entry(r) for r in raws]
        reader = ListLedger(raws)
        memory = Memory()
        for e, offset in zip(entries, reader.offsets, strict=True):
            memory.fold(e, (0, offset))
        now = T0 + now_days * DAY
        want = oracle(entries, now)
        event("frees %s" % ("none" if not want else "some"))
        size = {e.seq: e.fields[F_PLAIN_LEN] for e in entries if e.kind == KIND_CHUNK}
        digest = {e.fields[F_PLAIN_SHA]: e.seq for e in entries if e.kind == KIND_CHUNK}
        planned = []
        for step in Walk(memory.index, reader, FLOOR, now, False):
            if step[4] is not None:
                planned.append(digest[step[4][0]])
            if step[0] == EVICT:
                planned.append(digest[step[2]])
        assert sorted(planned) == sorted(want)
        estimate = 0
        for step in Walk(memory.index, reader, FLOOR, now, True):
            if step[4] is not None:
                estimate += step[4][1]
            if step[0] == EVICT:
                estimate += step[3]
        assert estimate == sum(size[s] for s in want)
    finally:
        retindex.SPAN_CHUNKS = saved
