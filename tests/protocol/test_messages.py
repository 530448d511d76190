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
    GONE,
    GONE_DAMAGED,
    GONE_NAMES,
    GONE_NOT_FOUND,
    HELLO,
    K_ALGS,
    K_BYTES,
    K_CODE,
    K_DIGEST,
    K_ENTRIES,
    K_LAST,
    K_MAX_FRAME,
    K_NONCE,
    K_OFFSET,
    K_REASON,
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
    decode_in_full,
    encode,
    encode_media_data,
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
    assert sorted(TYPE_NAMES) == list(range(1, 18))  # 17: REFUSED (issue 11 §2)
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
    # A media ACK names its media (pipelined pulls): an offset alone says too little.
    ack = {K_DIGEST: bytes(range(32)), K_OFFSET: (1 << 63) - 1}
    assert decode(encode(ACK, ack)) == (ACK, ack)
    assert raises(LocalProtocolError, encode, ACK, {K_OFFSET: 2}).code == ERR_MALFORMED
    assert raises(RemoteProtocolError, decode, cbor.dumps({0: ACK, K_OFFSET: 2})).code == (
        ERR_MALFORMED
    )
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


def _same_decoding(body):
    """decode (with its shortcut for media DATA) and decode_in_full agree on ``body``."""
    try:
        full = decode_in_full(body)
    except RemoteProtocolError as exc:
        assert raises(RemoteProtocolError, decode, body).code == exc.code
        return None
    assert decode(body) == full
    return full


def test_the_media_data_shortcut_reads_exactly_what_a_full_decode_reads():
    digest = bytes(range(32))
    for offset in (0, 23, 24, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 63) - 1):
        for size in (0, 1, 23, 24, 255, 256, 16000):
            for last in (False, True):
                fields = {K_DIGEST: digest, K_OFFSET: offset, K_BYTES: b"\x5a" * size}
                fields[K_LAST] = last
                body = encode(DATA, fields)
                assert _same_decoding(body) == (DATA, fields)
                assert encode_media_data(digest, offset, b"\x5a" * size, last) == body
    # Every single-byte change and every cut of a media DATA body: the shortcut never
    # accepts what the full decode refuses, nor reads it differently.
    body = encode(DATA, {K_DIGEST: digest, K_OFFSET: 300, K_BYTES: b"abc" * 10, K_LAST: True})
    for i in range(len(body)):
        for value in (0x00, 0x12, 0x14, 0x15, 0x18, 0x19, 0x1B, 0x1F, 0x58, 0xF4, 0xF5, 0xFF):
            _same_decoding(body[:i] + bytes([value]) + body[i + 1 :])
        _same_decoding(body[:i])
    _same_decoding(body + b"\x00")
    # Not in shortest form, or over the offset's range: refused by both.
    long_offset = body.replace(b"\x12\x19\x01\x2c", b"\x12\x1a\x00\x00\x01\x2c")
    assert long_offset != body
    assert raises(RemoteProtocolError, decode, long_offset).code == ERR_MALFORMED


def test_the_media_data_encoder_refuses_what_encode_refuses():
    digest = bytes(32)
    bad = (
        (bytes(31), 0, b"", False),
        (digest, -1, b"", True),
        (digest, 1 << 63, b"", True),
        (digest, 0, "text", True),
        (digest, 0, bytes(MESSAGES[DATA][0]), False),
    )
    for args in bad:
        code = raises(LocalProtocolError, encode_media_data, *args).code
        assert code in (ERR_MALFORMED, ERR_TOO_LARGE)
    too_big = raises(LocalProtocolError, encode_media_data, digest, 0, bytes(2000), False, 1024)
    assert too_big.code == ERR_TOO_LARGE


def test_gone_names_a_media_a_reason_and_a_short_text():
    fields = {K_DIGEST: bytes(range(32)), K_REASON: GONE_DAMAGED, K_TEXT: "x" * 200}
    body = encode(GONE, fields)
    assert len(body) <= MESSAGES[GONE][0] and decode(body) == (GONE, fields)
    assert sorted(GONE_NAMES) == [GONE_NOT_FOUND, GONE_DAMAGED]
    for reason in (0, 3, True):
        bad = {K_DIGEST: bytes(32), K_REASON: reason, K_TEXT: ""}
        assert raises(LocalProtocolError, encode, GONE, bad).code == ERR_MALFORMED
    for missing in (K_DIGEST, K_REASON, K_TEXT):
        partial = {k: v for k, v in fields.items() if k != missing}
        assert raises(LocalProtocolError, encode, GONE, partial).code == ERR_MALFORMED
    short = {K_DIGEST: bytes(31), K_REASON: GONE_NOT_FOUND, K_TEXT: ""}
    assert raises(LocalProtocolError, encode, GONE, short).code == ERR_MALFORMED
    # Its size limit holds whatever the text: 200 wide characters are too many bytes.
    wide = cbor.dumps({0: GONE, K_DIGEST: bytes(32), K_REASON: 1, K_TEXT: "\u00e9" * 200})
    assert raises(RemoteProtocolError, decode, wide).code == ERR_TOO_LARGE
    extra = cbor.dumps({0: GONE, K_DIGEST: bytes(32), K_REASON: 1, K_TEXT: "", K_OFFSET: 0})
    assert raises(RemoteProtocolError, decode, extra).code == ERR_MALFORMED
