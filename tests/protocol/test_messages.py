"""The sync protocol's message registry: what a body may hold, and how big it may be."""

from protocol import cbor
from protocol.messages import (
    ACK,
    DATA,
    ERR_MALFORMED,
    ERR_TOO_LARGE,
    ERR_UNKNOWN_TYPE,
    ERROR,
    ERROR_NAMES,
    FIELDS,
    HELLO,
    K_ALGS,
    K_CODE,
    K_DIGEST,
    K_ENTRIES,
    K_LAST,
    K_MAX_FRAME,
    K_NONCE,
    K_OFFSET,
    K_SEQ,
    K_TEXT,
    K_VERSIONS,
    K_WINDOW,
    MESSAGES,
    MIN_FRAME,
    PULL,
    TYPE_NAMES,
    LocalProtocolError,
    RemoteProtocolError,
    decode,
    encode,
)
from tests.portable import raises

HELLO_FIELDS = {
    K_VERSIONS: [1],
    K_MAX_FRAME: 4096,
    K_WINDOW: 4,
    K_ALGS: [-8, -16],
    K_NONCE: bytes(16),
}


def test_round_trip_is_deterministic_cbor_with_type_at_key_0():
    body = encode(HELLO, HELLO_FIELDS)
    assert cbor.loads(body)[0] == HELLO
    assert decode(body) == (HELLO, HELLO_FIELDS)
    assert cbor.dumps(cbor.loads(body)) == body


def test_there_is_no_delete_message():
    # Principle 4: neither the protocol nor any device API can delete footage.
    for name in TYPE_NAMES.values():
        for verb in ("DELETE", "ERASE", "REMOVE", "EVICT", "TRUNCATE", "WIPE", "FORMAT"):
            assert verb not in name
    assert sorted(TYPE_NAMES) == list(range(1, 16))
    assert sorted(MESSAGES) == sorted(TYPE_NAMES)


def test_every_type_has_a_size_limit_and_every_field_a_name():
    for msg_type in MESSAGES:
        limit, required, optional = MESSAGES[msg_type]
        assert 0 < limit <= 65536
        for key in required + optional:
            assert key in FIELDS
    for code in ERROR_NAMES:
        assert type(ERROR_NAMES[code]) is str


def test_unknown_type_is_refused_with_its_own_code():
    exc = raises(RemoteProtocolError, decode, cbor.dumps({0: 99}))
    assert exc.code == ERR_UNKNOWN_TYPE
    assert raises(LocalProtocolError, encode, 99, {}).code == ERR_UNKNOWN_TYPE


def test_unknown_and_missing_fields_are_malformed():
    fields = dict(HELLO_FIELDS)
    fields[77] = 1
    body = cbor.dumps({0: HELLO, 1: [1], 2: 4096, 3: 4, 4: [-8], 5: bytes(16), 77: 1})
    assert raises(RemoteProtocolError, decode, body).code == ERR_MALFORMED
    assert raises(LocalProtocolError, encode, HELLO, fields).code == ERR_MALFORMED
    del fields[77]
    del fields[K_NONCE]
    exc = raises(LocalProtocolError, encode, HELLO, fields)
    assert exc.code == ERR_MALFORMED
    assert "nonce" in str(exc)


def test_field_kinds_and_ranges_are_checked():
    bad = (
        (K_WINDOW, True),  # a bool is not an integer, on either interpreter
        (K_WINDOW, 0),
        (K_MAX_FRAME, MIN_FRAME - 1),
        (K_NONCE, bytes(15)),
        (K_VERSIONS, []),
        (K_ALGS, ["EdDSA"]),
    )
    for key, value in bad:
        fields = dict(HELLO_FIELDS)
        fields[key] = value
        assert raises(LocalProtocolError, encode, HELLO, fields).code == ERR_MALFORMED
    body = cbor.dumps({0: DATA, K_SEQ: 0, K_ENTRIES: [], K_LAST: 1})
    assert raises(RemoteProtocolError, decode, body).code == ERR_MALFORMED


def test_a_false_key_is_not_the_type_key():
    body = cbor.dumps({False: HELLO})
    assert raises(RemoteProtocolError, decode, body).code == ERR_MALFORMED


def test_pull_data_and_ack_carry_exactly_one_shape():
    assert decode(encode(PULL, {K_SEQ: 3})) == (PULL, {K_SEQ: 3})
    assert decode(encode(PULL, {K_DIGEST: bytes(32), K_OFFSET: 0}))[0] == PULL
    for fields in ({}, {K_SEQ: 3, K_DIGEST: bytes(32), K_OFFSET: 0}, {K_DIGEST: bytes(32)}):
        assert raises(LocalProtocolError, encode, PULL, fields).code == ERR_MALFORMED
    assert raises(LocalProtocolError, encode, ACK, {K_SEQ: 1, K_OFFSET: 2}).code == ERR_MALFORMED
    data = {K_SEQ: 0, K_ENTRIES: [b"x"], K_LAST: True, K_OFFSET: 0}
    assert raises(LocalProtocolError, encode, DATA, data).code == ERR_MALFORMED


def test_malformed_cbor_is_refused():
    for body in (b"", b"\xff", b"\xa1\x00", b"\x18\x01", b"\x9f\xff", b"\xa1\x00\x01\x00"):
        assert raises(RemoteProtocolError, decode, body).code == ERR_MALFORMED
    assert raises(RemoteProtocolError, decode, cbor.dumps([1])).code == ERR_MALFORMED
    assert raises(RemoteProtocolError, decode, "text").code == ERR_MALFORMED


def test_size_limits_per_type_and_per_negotiated_frame():
    # A field the type does not define is refused whatever its size...
    body = cbor.dumps({0: ERROR, K_CODE: 1, K_TEXT: "x" * 200, 99: b"y" * 300})
    assert raises(RemoteProtocolError, decode, body).code == ERR_MALFORMED
    # ...and a type's limit holds even when every field is in range.
    huge = cbor.dumps({0: ERROR, K_CODE: 1, K_TEXT: "\u00e9" * 200})  # 400 bytes of text
    assert raises(RemoteProtocolError, decode, huge).code == ERR_TOO_LARGE
    # DATA may be as large as the negotiated frame, and no larger.
    data = {K_SEQ: 0, K_ENTRIES: [b"e" * 1500], K_LAST: True}
    body = encode(DATA, data, 2048)
    assert decode(body, 2048)[0] == DATA
    assert raises(RemoteProtocolError, decode, body, 1024).code == ERR_TOO_LARGE
    assert raises(LocalProtocolError, encode, DATA, data, 1024).code == ERR_TOO_LARGE
    # Anything above the frame is refused before it is parsed.
    assert raises(RemoteProtocolError, decode, b"\xff" * 5000, 4096).code == ERR_TOO_LARGE
