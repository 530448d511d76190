# micropython: skip (hypothesis is a CPython library)
"""Both session state machines under fuzzing, windowed and pipelined transfer across dropped
links, and the media DATA decoding shortcut against a full decode."""

import hashlib

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocol.device_session import D_CLOSED, D_READY
from protocol.host_session import H_CLOSED, H_READY
from protocol.messages import (
    _BLOBS,
    _BOOL,
    _BYTES,
    _INT,
    _INTS,
    _KEYS,
    _TEXT,
    _UINT,
    DATA,
    ERR_NONE,
    ERROR,
    FIELDS,
    GONE_DAMAGED,
    GONE_NOT_FOUND,
    K_BYTES,
    K_CODE,
    K_DIGEST,
    K_LAST,
    K_OFFSET,
    MESSAGES,
    MIN_FRAME,
    SHAPES,
    LocalProtocolError,
    RemoteProtocolError,
    decode,
    decode_in_full,
    encode,
    encode_media_data,
)
from tests.protocol.helpers import SENDS, MemoryStore, make_pair, run


def field_value(key):
    _, kind, lo, hi = FIELDS[key]
    if kind == _UINT or kind == _INT:
        return st.one_of(st.integers(lo, min(hi, lo + 300)), st.sampled_from((lo, hi)))
    if kind == _BYTES:
        return st.binary(min_size=lo, max_size=min(hi, max(lo, 80)))
    if kind == _TEXT:
        return st.text(min_size=lo, max_size=min(hi, 20))
    if kind == _BOOL:
        return st.booleans()
    if kind == _INTS:
        return st.lists(st.integers(-20, 20), min_size=lo, max_size=hi)
    if kind == _BLOBS:
        return st.lists(st.binary(min_size=1, max_size=60), min_size=lo, max_size=4)
    assert kind == _KEYS
    return st.dictionaries(st.text(min_size=1, max_size=8), st.binary(min_size=32, max_size=32),
                           min_size=lo, max_size=3)  # fmt: skip


@st.composite
def valid_message(draw):
    msg_type = draw(st.sampled_from(sorted(MESSAGES)))
    _, required, optional = MESSAGES[msg_type]
    keys = list(required)
    if msg_type in SHAPES:
        keys.extend(draw(st.sampled_from(SHAPES[msg_type])))
    else:
        keys.extend(k for k in optional if draw(st.booleans()))
    fields = {k: draw(field_value(k)) for k in keys}
    try:
        return encode(msg_type, fields)
    except LocalProtocolError:  # in range field by field, but too large as a whole
        assume(False)
        return b""


bodies = st.lists(st.one_of(st.binary(max_size=120), valid_message()), min_size=1, max_size=12)


LOST = hashlib.sha256(b"lost").digest()
DAMAGED = hashlib.sha256(b"damaged").digest()


def prepared(stage):
    """A host and a device, advanced to a stage: 0 fresh, 1 mid-handshake, 2 ready,
    3 mid-pull, 4 two media pulls in flight, 5 pulls of a lost and a held media in flight,
    6 of a damaged and a held one."""
    media = {hashlib.sha256(m).digest(): m for m in (b"a" * 3000, b"b" * 1500)}
    store = MemoryStore([b"entry %d" % i * 30 for i in range(30)], media, damaged=(DAMAGED,))
    host, device = make_pair(store, "fuzz %d" % stage)
    if stage == 0:
        return host, device, []
    first = host.start()
    if stage == 1:
        device.receive(first)
        return host, device, []
    run(host, device, [first])
    if stage == 2:
        return host, device, []
    if stage == 3:
        return host, device, [ev[1] for ev in device.receive(host.pull(0))]
    pulls = list(media) if stage == 4 else [LOST if stage == 5 else DAMAGED, next(iter(media))]
    in_flight = []
    for digest in pulls:
        in_flight.extend(ev[1] for ev in device.receive(host.pull_media(digest)) if ev[0] == "send")
    return host, device, in_flight


def check_step(session, events, closed_state):
    """What every receive must give: a bounded answer, and if it closed, a clean close."""
    sent = [ev[1] for ev in events if ev[0] in SENDS]
    assert all(len(b) <= session.max_frame for b in sent)
    assert sum(len(b) for b in sent) <= (session.window + 2) * session.max_frame
    inflight = getattr(session, "_inflight", [])
    assert len(inflight) <= session.window
    if session.state == closed_state:
        code, text, by = session.closed_reason
        assert events[-1] == ("closed", code, text, by)
        if by == "us":
            msg_type, fields = decode(sent[-1])
            assert msg_type == ERROR and fields[K_CODE] == code != ERR_NONE


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 6), st.booleans(), bodies)
def test_random_bodies_never_raise_and_close_cleanly(stage, to_host, feed):
    host, device, _ = prepared(stage)
    session, closed_state = (host, H_CLOSED) if to_host else (device, D_CLOSED)
    for body in feed:
        events = session.receive(body)  # never raises for anything the peer sends
        check_step(session, events, closed_state)
        if session.state == closed_state:
            break


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 6), st.lists(st.integers(0, 9), max_size=20), st.booleans(), bodies)
def test_valid_traffic_with_injected_messages_stays_bounded(stage, order, to_host, feed):
    """Real traffic with peer-invented messages spliced in: every step is checked."""
    host, device, in_flight = prepared(stage)
    queue = [(True, b) for b in in_flight] + [(to_host, b) for b in feed]
    for i in order:
        if not queue:
            break
        target, body = queue.pop(i % len(queue))
        session, closed_state = (host, H_CLOSED) if target else (device, D_CLOSED)
        if session.state == closed_state:
            continue
        events = session.receive(body)
        check_step(session, events, closed_state)
        for ev in events:
            if ev[0] in SENDS:
                queue.append((not target, ev[1]))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 700), min_size=1, max_size=60),
    st.integers(1, 6),
    st.sampled_from((MIN_FRAME, 2048, 4096)),
    st.lists(st.integers(0, 25), max_size=6),
    st.lists(st.integers(0, 5), max_size=6),
)
def test_windowed_transfer_survives_drops_exactly_once_in_order(
    sizes, window, max_frame, drops, appends
):
    """Links drop after a number of deliveries; the recorder keeps appending between
    sessions; every session pulls from the host's durable head. Every entry reaches the
    host once, in order, and what is re-sent after a drop is never more than the window."""
    entries = [bytes([i % 251 + 1]) * n for i, n in enumerate(sizes)]
    store = MemoryStore(entries)
    got: list = []
    for attempt, limit in enumerate([*drops, None]):
        if attempt < len(appends):
            for _ in range(appends[attempt]):
                store.items.append(b"later %d" % len(store.items))
        host, device = make_pair(
            store, "t%d" % attempt, {"max_frame": max_frame, "window": window}, {}
        )
        link = [(False, host.start())]
        delivered = 0
        pulled = False
        data_sent = 0
        data_received = 0
        while link and (limit is None or delivered < limit):
            to_host, body = link.pop(0)
            session = host if to_host else device
            events = session.receive(body)
            delivered += 1
            if to_host and decode(body)[0] == DATA:
                data_received += 1
            for ev in events:
                if ev[0] in SENDS:
                    if not to_host and decode(ev[1])[0] == DATA:
                        data_sent += 1
                    link.append((not to_host, ev[1]))
                elif ev[0] == "entries":
                    assert ev[1] == len(got)  # in order, nothing twice
                    got.extend(ev[2])
                elif ev[0] == "closed":
                    raise AssertionError("session closed: %r" % (ev,))
            if host.state == H_READY and not pulled:  # READY: pull from the durable head
                link.append((False, host.pull(len(got))))
                pulled = True
            elif pulled and host.state == H_READY and not link:
                break
        # Sent but never received: the only DATA a drop makes the device send again.
        assert data_sent - data_received <= window
        assert got == store.items[: len(got)]
    assert got == store.items


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 5000), min_size=1, max_size=8),
    st.integers(1, 6),
    st.sampled_from((MIN_FRAME, 2048)),
    st.lists(st.integers(0, 30), max_size=5),
    st.lists(st.booleans(), min_size=1, max_size=16),
    st.lists(st.sampled_from((None, GONE_NOT_FOUND, GONE_DAMAGED)), min_size=1, max_size=8),
)
def test_pipelined_media_pulls_survive_drops_and_coalesced_acks(
    sizes, window, max_frame, drops, coalesce, fates
):
    """The host keeps up to ``window`` media pulls outstanding and sometimes answers a run of
    DATA with its last ACK only; links drop after a number of deliveries, and each session
    asks again for every media not yet answered. Some media the device has lost, or holds
    damaged: those are answered GONE. Each media arrives whole or is declared gone, once, in
    order of asking; a GONE frees its place in the window (the pulls it lets in are taken),
    the device never has more than the window in flight, and nothing hangs."""
    media = {}
    gone = {}  # digest -> the reason the device will give
    order = []
    for i, n in enumerate(sizes):
        data = bytes([i + 1]) * n + bytes([i])  # distinct media, never empty
        digest = hashlib.sha256(data).digest()
        if digest in media or digest in gone:
            continue
        fate = fates[i % len(fates)]
        if fate is None:
            media[digest] = data
        else:
            gone[digest] = fate
        order.append(digest)
    damaged = [d for d in gone if gone[d] == GONE_DAMAGED]
    store = MemoryStore([], media, damaged=damaged)
    complete: list = []
    for attempt, limit in enumerate([*drops, None]):
        host, device = make_pair(
            store, "m%d" % attempt, {"max_frame": max_frame, "window": window}, {}
        )
        run(host, device, [host.start()])
        wanted = [d for d in order if d not in complete]
        partial = {d: b"" for d in wanted}
        link = []
        while wanted and host.pulls_outstanding() < window:
            link.append((False, host.pull_media(wanted.pop(0))))
        delivered = 0
        step = 0
        while link and (limit is None or delivered < limit):
            to_host = link[0][0]
            # Sometimes the host takes every body waiting for it at once, as one read.
            step += 1
            batch = 1
            if to_host and coalesce[step % len(coalesce)]:
                while batch < len(link) and link[batch][0]:
                    batch += 1
            bodies = [body for _, body in link[:batch]]
            del link[:batch]
            out: list = []
            for body in bodies:
                delivered += 1
                for ev in (host if to_host else device).receive(body):
                    if ev[0] == "ack":
                        if out and out[-1][0] == "ack":
                            out.pop()  # cumulative: the later ACK covers this one
                        out.append(ev)
                    elif ev[0] == "send":
                        out.append(ev)
                    elif ev[0] == "media":
                        assert ev[2] == len(partial[ev[1]])
                        partial[ev[1]] += ev[3]
                    elif ev[0] == "media-done":
                        assert partial[ev[1]] == media[ev[1]] and ev[1] not in complete
                        complete.append(ev[1])
                        if wanted:
                            out.append(("send", host.pull_media(wanted.pop(0))))
                    elif ev[0] == "gone" and to_host:  # (the device says it too)
                        assert ev[2] == gone[ev[1]] and partial[ev[1]] == b""
                        assert ev[1] not in complete
                        complete.append(ev[1])
                        if wanted:
                            out.append(("send", host.pull_media(wanted.pop(0))))
                    elif ev[0] == "closed":
                        raise AssertionError("session closed: %r" % (ev,))
            link.extend((not to_host, ev[1]) for ev in out)
            assert len(device._inflight) <= window
            # Every PULL the host sent within its window was taken (a refusal would have
            # closed the session): both sides count GONE as the end of its pull.
            assert device._open <= window and host.pulls_outstanding() <= window
        if limit is None:
            assert host.state == H_READY and device.state == D_READY
            assert device._open == 0 and device._queue == []
    assert complete == order


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=32, max_size=32),
    st.integers(0, (1 << 63) - 1),
    st.binary(max_size=3000),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=3),
    st.integers(0, 4000),
)
def test_the_media_data_shortcut_agrees_with_a_full_decode(digest, offset, data, last, edits, cut):
    """Media DATA bodies, as sent and as damaged: ``encode_media_data`` writes what
    ``encode`` writes, and ``decode`` (which reads media DATA by a shortcut) gives what
    ``decode_in_full`` gives, the same fields or the same refusal."""
    fields = {K_DIGEST: digest, K_OFFSET: offset, K_BYTES: data, K_LAST: last}
    body = encode(DATA, fields)
    assert encode_media_data(digest, offset, data, last) == body  # the device's shortcut
    assert decode(body) == decode_in_full(body) == (DATA, fields)
    damaged = bytearray(body)
    for pos, value in edits:
        damaged[pos % len(damaged)] = value
    damaged = bytes(damaged[: len(damaged) - cut % 8])
    try:
        expected = decode_in_full(damaged)
    except RemoteProtocolError as exc:
        try:
            decode(damaged)
        except RemoteProtocolError as again:
            assert again.code == exc.code
        else:
            raise AssertionError("the shortcut accepted a body the full decode refuses")
    else:
        assert decode(damaged) == expected
