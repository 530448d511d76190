"""The sync sessions back to back: handshake, pulls, receipts, and every refusal."""

import hashlib

from protocol import cbor
from protocol.device_session import D_CLOSED, D_MEDIA, D_READY, DEVICE_TABLE, DeviceSession
from protocol.host_session import H_CLOSED, H_MEDIA, H_READY, HOST_TABLE, HostSession
from protocol.hostconfig import sign_config
from protocol.messages import (
    ACK,
    AUTH,
    CONFIG,
    DATA,
    ERR_ALGORITHM,
    ERR_BAD_OFFSET,
    ERR_BAD_SIGNATURE,
    ERR_MALFORMED,
    ERR_MISMATCH,
    ERR_NONE,
    ERR_PROTOCOL_VERSION,
    ERR_REFUSED,
    ERR_REPLAY,
    ERR_TOO_LARGE,
    ERR_UNEXPECTED,
    ERR_UNKNOWN_DEVICE,
    ERR_UNKNOWN_TYPE,
    ERR_UNTRUSTED_HOST,
    ERROR,
    GONE,
    GONE_DAMAGED,
    GONE_NOT_FOUND,
    HELLO,
    K_CODE,
    K_DIGEST,
    K_ENTRIES,
    K_HEAD_HASH,
    K_LAST,
    K_LOG_ORIGIN,
    K_LOG_ROOT,
    K_LOG_SIZE,
    K_OF,
    K_OFFSET,
    K_REASON,
    K_SEQ,
    K_TEXT,
    K_VERSIONS,
    MIN_FRAME,
    PULL,
    RECEIPT,
    REFUSED,
    TIME,
    LocalProtocolError,
    decode,
    encode,
)
from protocol.signer import make_signer
from tests.portable import raises
from tests.protocol.helpers import (
    DEVICE,
    HOST,
    HOST_KID,
    LOG_ORIGIN,
    LOG_ROOT,
    PINNED,
    SEED_B,
    SENDS,
    T0,
    MemoryStore,
    Randomness,
    closed,
    connect,
    enrolled,
    make_pair,
    pull_all,
    receipt,
    receipt_event,
    run,
)

OTHER_HOST_SEED = bytes(range(50, 82))


def test_tables_name_every_state_once():
    for table, width in ((DEVICE_TABLE, D_CLOSED + 1), (HOST_TABLE, H_CLOSED + 1)):
        for row in table.values():
            assert len(row) == width
            assert row[-1] is None  # a closed session accepts nothing


def test_unenrolled_device_is_refused():
    host, device = make_pair(MemoryStore([]), device_kw={})
    host.lookup = lambda device_id: None
    h, d = run(host, device, [host.start()])
    assert closed(h)[0][1] == ERR_UNKNOWN_DEVICE
    assert closed(d) == [("closed", ERR_UNKNOWN_DEVICE, closed(h)[0][2], "peer")]
    assert "not enrolled" in closed(h)[0][2]


def test_untrusted_host_is_refused():
    other = make_signer(OTHER_HOST_SEED)
    host, device = make_pair(
        MemoryStore([]), device_kw={"pinned": {"agency-2": other.public_key()}}
    )
    h, d = run(host, device, [host.start()])
    assert closed(d)[0][1:] == (ERR_UNTRUSTED_HOST, closed(d)[0][2], "us")
    assert closed(h)[0][1] == ERR_UNTRUSTED_HOST
    # A host key id the device pins, but signed with another key: a forgery.
    host, device = make_pair(MemoryStore([]), device_kw={"pinned": {HOST_KID: other.public_key()}})
    h, d = run(host, device, [host.start()])
    assert closed(d)[0][1] == ERR_BAD_SIGNATURE


def test_forged_device_auth_is_refused():
    host, device = make_pair(MemoryStore([]), device_kw={"signer": make_signer(SEED_B)})
    h, _d = run(host, device, [host.start()])
    assert closed(h)[0][1] == ERR_BAD_SIGNATURE
    assert host.state == H_CLOSED and device.state == D_CLOSED


def test_auth_replayed_from_another_session_is_refused():
    host1, device1 = make_pair(MemoryStore([]), "one")
    device_bodies = [ev[1] for ev in device1.receive(host1.start())]
    old_device_auth = device_bodies[1]
    host_bodies = [ev[1] for ev in host1.receive(device_bodies[0]) + host1.receive(old_device_auth)]
    old_host_auth = host_bodies[0]
    assert decode(old_host_auth)[0] == AUTH

    # The device's AUTH from session one, after session two's HELLOs.
    host2, device2 = make_pair(MemoryStore([]), "two")
    hello2 = device2.receive(host2.start())[0][1]
    assert host2.receive(hello2) == []
    events = host2.receive(old_device_auth)
    assert closed(events)[0][1] == ERR_BAD_SIGNATURE

    # The host's AUTH from session one, to a device in session three.
    host3, device3 = make_pair(MemoryStore([]), "three")
    device3.receive(host3.start())
    events = device3.receive(old_host_auth)
    assert closed(events)[0][1] == ERR_BAD_SIGNATURE
    assert decode(events[0][1])[1][K_CODE] == ERR_BAD_SIGNATURE


def test_downgrade_to_an_older_version_is_refused():
    host, device = make_pair(MemoryStore([]), host_kw={"versions": (0,)})
    h, d = run(host, device, [host.start()])
    assert closed(d)[0][1] == ERR_PROTOCOL_VERSION
    assert "refuses any below 1" in closed(d)[0][2]
    # and a device that offers only an old version
    host, device = make_pair(MemoryStore([]), device_kw={"versions": (0,)})
    h, d = run(host, device, [host.start()])
    assert closed(h)[0][1] == ERR_PROTOCOL_VERSION


def test_downgrade_by_dropping_a_required_algorithm_is_refused():
    host, device = make_pair(MemoryStore([]), device_kw={"algorithms": (-16,)})
    h, _d = run(host, device, [host.start()])
    assert closed(h)[0][1] == ERR_ALGORITHM
    assert "downgrade" in closed(h)[0][2]


def test_oversized_message_is_refused():
    host, _device, _, _ = connect(MemoryStore([b"e"]))
    events = host.receive(b"\x00" * (MIN_FRAME + 1))
    assert events[0][0] == "send" and decode(events[0][1])[1][K_CODE] == ERR_TOO_LARGE
    assert closed(events)[0][1:] == (ERR_TOO_LARGE, closed(events)[0][2], "us")
    assert host.state == H_CLOSED
    # A well-formed DATA larger than the negotiated frame, in a state that would take DATA.
    host, _device, _, _ = connect(MemoryStore([b"e"]))
    host.pull(0)
    big = encode(DATA, {K_SEQ: 0, K_ENTRIES: [b"e" * 1500], K_LAST: True}, 4096)
    assert closed(host.receive(big))[0][1] == ERR_TOO_LARGE


def test_unknown_message_type_is_refused():
    _host, device, _, _ = connect(MemoryStore([]))
    events = device.receive(cbor.dumps({0: 200}))
    assert closed(events)[0][1] == ERR_UNKNOWN_TYPE
    assert device.state == D_CLOSED


def test_malformed_cbor_is_refused():
    for body in (b"\xff", b"", b"\xa1\x00", cbor.dumps({0: PULL, K_SEQ: -1})):
        _host, device = make_pair(MemoryStore([]))
        events = device.receive(body)
        assert events[0][0] == "send" and decode(events[0][1])[0] == ERROR
        assert closed(events)[0][1] == ERR_MALFORMED
        assert device.state == D_CLOSED


def test_message_in_the_wrong_state_is_refused():
    host, device = make_pair(MemoryStore([b"e"]))
    events = device.receive(encode(PULL, {K_SEQ: 0}))  # before any HELLO or AUTH
    assert closed(events)[0][1] == ERR_UNEXPECTED
    assert "PULL is not allowed in state IDLE" in closed(events)[0][2]
    host, device, _, _ = connect(MemoryStore([b"e"]))
    events = host.receive(encode(DATA, {K_SEQ: 0, K_ENTRIES: [b"e"], K_LAST: True}))
    assert closed(events)[0][1] == ERR_UNEXPECTED
    host, device, _, _ = connect(MemoryStore([b"e"]))
    hello = encode(HELLO, {K_VERSIONS: [1], 2: 4096, 3: 2, 4: [-8, -16], 5: bytes(16)})
    assert closed(device.receive(hello))[0][1] == ERR_UNEXPECTED  # a second HELLO


def test_local_misuse_raises_and_a_closed_session_takes_nothing():
    host, device = make_pair(MemoryStore([]))
    raises(LocalProtocolError, host.pull, 0)  # not authenticated yet
    raises(LocalProtocolError, host.durable, 0, bytes(32), 1, LOG_ROOT, LOG_ORIGIN)
    host, device, _, _ = connect(MemoryStore([b"a", b"b"]))
    raises(LocalProtocolError, host.durable, 0, bytes(32), 1, LOG_ROOT, LOG_ORIGIN)  # none held
    run(host, device, [host.pull(0)])
    raises(LocalProtocolError, host.durable, 2, bytes(32), 3, LOG_ROOT, LOG_ORIGIN)  # not arrived
    device.receive(b"\xff")
    raises(LocalProtocolError, device.receive, host.status())


def test_receipt_beyond_the_device_head_is_refused():
    host, device, _, _ = connect(MemoryStore([b"a", b"b"]))
    run(host, device, [host.pull(0)])
    device.store.items.pop()  # the device now holds less than the host was told
    _h, d = run(host, device, [receipt(host, [b"a", b"b"], 1)])
    assert closed(d)[0][1] == ERR_BAD_OFFSET


def test_a_receipt_naming_another_entry_hash_is_refused():
    # R-DEV-2, R-DEV-4: a receipt binds bytes. A host that names a head hash other than the
    # device's own entry at through_seq (it never pulled that entry, or holds another one)
    # is refused, signed or not, and the device logs no receipt and frees nothing.
    items = [b"a", b"b", b"c"]
    for wrong in (bytes(32), hashlib.sha256(b"b").digest(), hashlib.sha256(b"c").digest()):
        host, device, _, _ = connect(MemoryStore(items))
        run(host, device, [host.pull(0)])
        _h, d = run(host, device, [host.durable(0, wrong, 1, LOG_ROOT, LOG_ORIGIN)])
        assert [ev for ev in d if ev[0] == "receipt"] == []
        code, text = closed(d)[0][1:3]
        assert code == ERR_MISMATCH and "seq 0" in text
    host, device, _, _ = connect(MemoryStore(items))
    run(host, device, [host.pull(0)])
    _h, d = run(host, device, [receipt(host, items, 1, log_size=7)])
    assert d == [receipt_event(items, 1, log_size=7)]


def test_a_receipt_whose_head_or_checkpoint_was_changed_does_not_verify():
    # The head hash and the checkpoint are signed with the rest: none can be swapped.
    items = [b"a", b"b"]
    changes = (
        (K_LOG_SIZE, 99),
        (K_LOG_ROOT, bytes(32)),
        (K_LOG_ORIGIN, "sealcam evidence another store"),
        (K_HEAD_HASH, bytes(32)),
    )
    for key, value in changes:
        host, device, _, _ = connect(MemoryStore(items))
        run(host, device, [host.pull(0)])
        msg_type, fields = decode(receipt(host, items, 1))
        fields[key] = value
        assert closed(device.receive(encode(msg_type, fields)))[0][1] == ERR_BAD_SIGNATURE


def test_receipt_and_time_from_another_session_do_not_verify():
    host1, device1, _, _ = connect(MemoryStore([b"a"]), "one")
    run(host1, device1, [host1.pull(0)])
    other = receipt(host1, [b"a"], 0)  # signed for session one, never delivered there
    raises(LocalProtocolError, host1.set_time, T0)  # one request at a time: it waits for OK
    _host2, device2, _, _ = connect(MemoryStore([b"a"]), "two")
    assert closed(device2.receive(other))[0][1] == ERR_BAD_SIGNATURE

    host3, device3, _, _ = connect(MemoryStore([b"a"]), "three")
    run(host3, device3, [host3.set_time(T0)])
    earlier = host3.set_time(T0 - 1)
    _host4, device4, _, _ = connect(MemoryStore([b"a"]), "four")
    assert closed(device4.receive(earlier))[0][1] == ERR_BAD_SIGNATURE  # another session's
    assert closed(device3.receive(earlier))[0][1] == ERR_REPLAY  # the clock set back


def test_a_time_or_config_is_answered_only_once_the_application_judged_it():
    # Issue 11 §2: the session emits the event and waits; the caller accepts or refuses.
    host, device, _, _ = connect(MemoryStore([b"a"]))
    events = device.receive(host.set_time(T0 + 5))
    assert events == [("time", T0 + 5, HOST_KID)]  # no answer yet: nothing to send
    assert device.state_name() == "ANSWER"
    # While it waits, the host may ask nothing else.
    assert closed(device.receive(encode(PULL, {K_SEQ: 0})))[0][1] == ERR_UNEXPECTED


def test_a_refused_time_reaches_the_host_with_its_reason_and_the_session_goes_on():
    host, device, _, _ = connect(MemoryStore([b"a"]))
    assert device.receive(host.set_time(T0 + 5)) == [("time", T0 + 5, HOST_KID)]
    raises(LocalProtocolError, device.refuse, "no", ERR_NONE)  # a refusal names a code
    answer = device.refuse("recording: the clock is set at the next dock")
    assert host.receive(answer) == [
        ("refused", TIME, ERR_REFUSED, "recording: the clock is set at the next dock")
    ]
    assert host.state == H_READY and device.state == D_READY
    raises(LocalProtocolError, device.accept)  # answered once
    h, _d = run(host, device, [host.pull(0)])
    assert h[-1] == ("pulled", 1)


def test_a_refused_config_does_not_count_as_applied():
    host, device, _, _ = connect(MemoryStore([]), device_kw={"config_issued_ms": T0 - 10})
    config = sign_config(HOST, HOST_KID, DEVICE, T0, {"chunk_ms": 2000})
    assert device.receive(host.send_config(config))[0][0] == "config"
    assert host.receive(device.refuse("config not applied: a rule")) == [
        ("refused", CONFIG, ERR_REFUSED, "config not applied: a rule")
    ]
    assert device.config_issued_ms == T0 - 10
    _h, d = run(host, device, [host.send_config(config)])  # the same config, now taken
    assert d == [("config", config, {"chunk_ms": 2000}, HOST_KID, T0)]
    assert device.config_issued_ms == T0


def test_a_refused_answer_the_host_did_not_ask_for_is_unexpected():
    host, device, _, _ = connect(MemoryStore([b"a"]))
    run(host, device, [host.status()])
    stray = encode(REFUSED, {K_OF: CONFIG, K_CODE: ERR_REFUSED, K_TEXT: "no"})
    assert closed(host.receive(stray))[0][1] == ERR_UNEXPECTED


def test_a_failure_on_this_side_is_not_hidden_as_an_error_message():
    # Issue 11 §2: a bug (here, in the store view) surfaces as itself; the link, not the
    # session, turns it into ERR_INTERNAL (tests/firmware/test_link.py).
    class BrokenStore(MemoryStore):
        def head(self) -> tuple:
            raise ZeroDivisionError("a bug in the store view")

    host, device = make_pair(BrokenStore([b"a"]))
    raises(ZeroDivisionError, device.receive, host.start())
    host, device, _, _ = connect(MemoryStore([b"a"]))

    def broken(fields, out):
        raise ZeroDivisionError("a bug in the host's handler")

    host._on_status = broken
    status = device.receive(host.status())[0][1]
    raises(ZeroDivisionError, host.receive, status)


def test_config_replay_is_refused():
    config = sign_config(HOST, HOST_KID, DEVICE, T0, {"chunk_ms": 2000})
    host, device, _, _ = connect(MemoryStore([]), device_kw={"config_issued_ms": T0})
    _h, d = run(host, device, [host.send_config(config)])
    assert closed(d)[0][1] == ERR_REPLAY


def test_media_is_pulled_in_windowed_chunks():
    media = bytes(range(256)) * 20  # 5120 bytes: six DATA of at most a frame each
    digest = hashlib.sha256(media).digest()
    host, device, _, _ = connect(MemoryStore([], {digest: media}))
    first = device.receive(host.pull_media(digest, 100))
    assert len([ev for ev in first if ev[0] == "send"]) == 2  # the window, no more
    h, _d = run(host, device, [], [ev[1] for ev in first])
    got = b"".join(ev[3] for ev in h if ev[0] == "media")
    assert got == media[100:]
    assert h[-1] == ("media-done", digest, len(media))
    # Media the device lacks is answered, not fatal: the session stays open.
    h, d = run(host, device, [host.pull_media(bytes(32))])
    assert h == [("gone", bytes(32), GONE_NOT_FOUND, "media not held")] == d
    assert host.state == H_READY and device.state == D_READY


def media_set(sizes):
    """Media of the given sizes (distinct bytes each) and their digests, in order."""
    media = {}
    digests = []
    for i, size in enumerate(sizes):
        data = bytes((i * 7 + j) % 251 for j in range(size))
        digest = hashlib.sha256(data).digest()
        media[digest] = data
        digests.append(digest)
    return media, digests


def test_media_pulls_pipeline_in_order_and_share_the_window():
    media, digests = media_set([2500, 0, 900, 3100])  # an empty media too
    host, device, _, _ = connect(MemoryStore([], media))
    first = []
    for d in digests[:2]:  # two pulls before any DATA came back: the window is 2
        first.extend(device.receive(host.pull_media(d)))
    raises(LocalProtocolError, host.pull_media, digests[2])  # a third would exceed it
    assert len([ev for ev in first if ev[0] == "send"]) == 2  # DATA in flight: the window
    assert host.pulls_outstanding() == 2
    got = {}
    done = []
    to_host = [ev[1] for ev in first]
    while to_host or host.state != H_READY:
        for ev in host.receive(to_host.pop(0)):
            if ev[0] == "media":
                assert ev[2] == len(got.get(ev[1], b""))  # each media in order, no gap
                got[ev[1]] = got.get(ev[1], b"") + ev[3]
            elif ev[0] == "media-done":
                done.append(ev[1])
                if len(done) + host.pulls_outstanding() < len(digests):
                    to_device = host.pull_media(digests[len(done) + host.pulls_outstanding()])
                    to_host.extend(back[1] for back in device.receive(to_device))
            elif ev[0] in SENDS:
                to_host.extend(back[1] for back in device.receive(ev[1]))
    assert done == digests  # answered in the order asked
    assert [got.get(d, b"") for d in digests] == [media[d] for d in digests]
    assert device.state == D_READY and host.state == H_READY


def test_one_ack_covers_every_data_before_it_across_media():
    media, digests = media_set([1500, 1200])
    host, device, _, _ = connect(MemoryStore([], media), host_kw={"window": 4})
    in_flight = []
    for d in digests:
        in_flight.extend(ev[1] for ev in device.receive(host.pull_media(d)))
    assert len(in_flight) == 4  # 2 DATA per media (frame 1024), all four in the window
    acks = []
    for body in in_flight:
        acks.extend(ev[1] for ev in host.receive(body) if ev[0] == "ack")
    assert len(acks) == 4 and host.state == H_READY
    assert device.receive(acks[-1]) == []  # the last ACK alone completes both pulls
    assert device.state == D_READY
    # An ACK for a DATA never sent (or of another media) is refused.
    host, device, _, _ = connect(MemoryStore([], media), "two")
    device.receive(host.pull_media(digests[0]))
    bad = encode(ACK, {K_DIGEST: digests[1], K_OFFSET: 964})
    assert closed(device.receive(bad))[0][1] == ERR_BAD_OFFSET


def test_media_acks_are_the_checked_encoding_at_every_offset_size():
    media, digests = media_set([70000, 0, 100])  # offsets of every head size
    host, device, _, _ = connect(MemoryStore([], media))
    offsets = []
    for digest in digests:
        to_host = [ev[1] for ev in device.receive(host.pull_media(digest))]
        while to_host:
            for ev in host.receive(to_host.pop(0)):
                if ev[0] == "ack":
                    msg_type, fields = decode(ev[1])
                    assert msg_type == ACK and ev[1] == encode(ACK, fields)
                    offsets.append(fields[K_OFFSET])
                    to_host.extend(back[1] for back in device.receive(ev[1]))
    assert 0 in offsets and 100 in offsets and 960 in offsets and 70000 in offsets
    assert device.state == D_READY and host.state == H_READY


def test_a_device_refuses_more_media_pulls_than_the_window():
    media, digests = media_set([3000, 10, 10])
    host, device, _, _ = connect(MemoryStore([], media))
    for d in digests[:2]:
        device.receive(host.pull_media(d))
    third = encode(PULL, {K_DIGEST: digests[2], K_OFFSET: 0})
    assert closed(device.receive(third))[0][1] == ERR_UNEXPECTED
    # Nor does it take a ledger pull while media is on its way.
    host, device, _, _ = connect(MemoryStore([b"a"], media), "two")
    device.receive(host.pull_media(digests[0]))
    ledger = encode(PULL, {K_SEQ: 0})
    assert closed(device.receive(ledger))[0][1:3] == (
        ERR_UNEXPECTED,
        "a ledger pull while media pulls are in flight",
    )


def test_pulls_the_device_cannot_serve_are_answered_gone_in_turn_and_the_rest_arrive():
    # R-DEV-2: one damaged or lost file must not keep every file after it from the host.
    media, digests = media_set([2500, 900, 0, 1800])
    lost = hashlib.sha256(b"never written whole").digest()
    damaged = hashlib.sha256(b"changed on the card").digest()
    order = [digests[0], lost, digests[1], damaged, digests[2], digests[3]]
    for window in (1, 2, 4):
        store = MemoryStore([], media, damaged=(damaged,))
        host, device, _, _ = connect(store, "w%d" % window, host_kw={"window": window})
        events = pull_all(host, device, order)
        answers = [ev for ev in events if ev[0] != "media"]
        assert [ev[1] for ev in answers] == order  # each answered once, in the order asked
        assert answers[1] == ("gone", lost, GONE_NOT_FOUND, "media not held")
        assert answers[3][:3] == ("gone", damaged, GONE_DAMAGED)
        assert "damaged" in answers[3][3]
        for digest in digests:
            got = b"".join(ev[3] for ev in events if ev[0] == "media" and ev[1] == digest)
            assert got == media[digest]
        assert closed(events) == []
        assert host.state == H_READY and device.state == D_READY
        assert device._open == 0 and device._inflight == [] and host.pulls_outstanding() == 0


def sent(events):
    return [ev[1] for ev in events if ev[0] == "send"]


def test_a_gone_frees_its_window_place_at_once():
    media, digests = media_set([3000])
    lost = bytes(32)
    host, device, _, _ = connect(MemoryStore([], media))  # window 2
    to_host = sent(device.receive(host.pull_media(lost)))
    assert [decode(b)[0] for b in to_host] == [GONE] and device.state == D_READY
    to_host += sent(device.receive(host.pull_media(digests[0])))
    assert device._open == 1 and device.state == D_MEDIA
    gone = host.receive(to_host.pop(0))
    assert gone == [("gone", lost, GONE_NOT_FOUND, "media not held")]
    assert host.pulls_outstanding() == 1 and host.state == H_MEDIA
    # The window (2) has room for another pull on both sides; it is answered after the
    # media before it, in the order asked.
    to_host += sent(device.receive(host.pull_media(lost)))
    assert device._open == 2 and host.pulls_outstanding() == 2
    assert [decode(b)[0] for b in to_host] == [DATA, DATA]
    h, _d = run(host, device, [], to_host)
    assert [ev[0] for ev in h if ev[0] != "media"] == ["media-done", "gone"]
    assert host.state == H_READY and device.state == D_READY


def test_a_device_that_lost_a_file_still_gets_its_receipt():
    # R-DEV-4: the receipt no longer waits for media the device has declared gone.
    entries = [("entry %d" % i).encode() for i in range(4)]
    media, digests = media_set([700])
    host, device, _, _ = connect(MemoryStore(entries, media))
    run(host, device, [host.pull(0)])
    events = pull_all(host, device, [bytes(32), digests[0]])
    assert [ev[0] for ev in events if ev[0] != "media"] == ["gone", "media-done"]
    h, d = run(host, device, [receipt(host, entries, 3)])
    assert d == [receipt_event(entries, 3)] and h == [("ok", RECEIPT)]


def gone_body(digest, reason=GONE_NOT_FOUND, text="gone"):
    return encode(GONE, {K_DIGEST: digest, K_REASON: reason, K_TEXT: text})


def test_a_gone_that_breaks_the_protocol_closes_the_session_cleanly():
    media, digests = media_set([3000, 100])
    cases = []
    # For a digest other than the one pulled next.
    cases.append(("other", gone_body(digests[1]), ERR_MALFORMED))
    # Without its text, with an unknown reason, with text too wide for its size limit.
    cases.append(("bare", cbor.dumps({0: GONE, K_DIGEST: digests[0], K_REASON: 1}), ERR_MALFORMED))
    bad = cbor.dumps({0: GONE, K_DIGEST: digests[0], K_REASON: 9, K_TEXT: ""})
    cases.append(("reason", bad, ERR_MALFORMED))
    wide = cbor.dumps({0: GONE, K_DIGEST: digests[0], K_REASON: 1, K_TEXT: "\u00e9" * 200})
    cases.append(("wide", wide, ERR_TOO_LARGE))
    for label, body, code in cases:
        host, device, _, _ = connect(MemoryStore([], media), label)
        host.pull_media(digests[0])
        events = host.receive(body)
        assert closed(events)[0][1:3] == (code, closed(events)[0][2]), label
        assert decode(events[0][1])[1][K_CODE] == code and host.state == H_CLOSED
    # After DATA of the same media has come: a file does not vanish halfway.
    host, device, _, _ = connect(MemoryStore([], media), "half")
    host.receive(sent(device.receive(host.pull_media(digests[0])))[0])
    events = host.receive(gone_body(digests[0]))
    assert closed(events)[0][1] == ERR_UNEXPECTED and "after 960 bytes" in closed(events)[0][2]
    # With no pull outstanding, and to the device, which never takes one.
    host, device, _, _ = connect(MemoryStore([], media), "idle")
    assert closed(host.receive(gone_body(digests[0])))[0][1] == ERR_UNEXPECTED
    assert closed(device.receive(gone_body(digests[0])))[0][1] == ERR_UNEXPECTED


def test_pipelined_pulls_cut_off_by_a_dropped_link_resume_in_the_next_session():
    media, digests = media_set([2600, 2600, 700])  # 3 DATA each for the first two
    store = MemoryStore([], media)
    host, device, _, _ = connect(store, "one")
    to_host = []
    for d in digests[:2]:
        to_host.extend(ev[1] for ev in device.receive(host.pull_media(d)))
    got = {}
    done = []
    for _ in range(4):  # four DATA reach the host, then the link drops
        for ev in host.receive(to_host.pop(0)):
            if ev[0] == "media":
                got[ev[1]] = got.get(ev[1], b"") + ev[3]
            elif ev[0] == "media-done":
                done.append(ev[1])
            elif ev[0] in SENDS:
                to_host.extend(back[1] for back in device.receive(ev[1]))
    assert done == digests[:1] and host.pulls_outstanding() == 1  # the second was cut off
    # The next session asks for what is missing, the cut-off media from byte 0 again.
    host, device, _, _ = connect(store, "two")
    del got[digests[1]]
    first = []
    for d in digests[1:]:
        first.extend(device.receive(host.pull_media(d)))
    h, _d = run(host, device, [], [ev[1] for ev in first])
    for ev in h:
        if ev[0] == "media":
            got[ev[1]] = got.get(ev[1], b"") + ev[3]
        elif ev[0] == "media-done":
            done.append(ev[1])
    assert done == digests  # each media completed once, in order
    assert [got[d] for d in digests] == [media[d] for d in digests]
    assert host.state == H_READY and device.state == D_READY


def test_pull_beyond_the_device_head_is_refused():
    host, device, _, _ = connect(MemoryStore([b"a"]))
    _h, d = run(host, device, [host.pull(5)])
    assert closed(d)[0][1] == ERR_BAD_OFFSET


def test_resume_after_a_dropped_session_sends_nothing_twice_beyond_the_window():
    entries = [("entry %d " % i).encode() * 20 for i in range(40)]  # 160 bytes: 5 per DATA
    store = MemoryStore(entries)
    host, device, _, _ = connect(store, "one")
    got: list = []
    to_host = [ev[1] for ev in device.receive(host.pull(0))]
    sent = len(to_host)
    for _ in range(3):  # three DATA arrive, then the link drops
        for ev in host.receive(to_host.pop(0)):
            if ev[0] == "entries":
                got.extend(ev[2])
            elif ev[0] in SENDS:
                for back in device.receive(ev[1]):
                    to_host.append(back[1])
                    sent += 1
    lost = len(to_host)
    assert lost <= device.window  # in flight at the drop: what will be sent again
    durable_head = len(got)  # the daemon stored what arrived
    assert got == entries[:durable_head]

    host, device, _, _ = connect(store, "two")
    h, _d = run(host, device, [host.pull(durable_head)])
    for ev in h:
        if ev[0] == "entries":
            assert ev[1] == len(got)
            got.extend(ev[2])
    assert got == entries  # every entry once, in order
    assert h[-1] == ("pulled", 40)


def test_factory_provisioning():
    store = MemoryStore([])
    host = HostSession(enrolled, HOST, HOST_KID, Randomness("fh"), factory=True)
    device = DeviceSession(DEVICE, None, {}, store, Randomness("fd"), factory=True)
    h, d = run(host, device, [host.start()])
    assert h == [("factory", DEVICE)]
    h, d = run(host, device, [host.provision(PINNED)])
    assert d == [("provision", PINNED)]
    new_key = make_signer(SEED_B)
    h, d = run(host, device, [], [device.provisioned(new_key)])
    assert h == [("provisioned", DEVICE, new_key.public_key())]
    # A factory device is no device to sync with, and a provisioned one takes no PROVISION.
    host, device = make_pair(store)
    device.factory = True
    h, d = run(host, device, [host.start()])
    assert closed(h)[0][1] == ERR_UNKNOWN_DEVICE
