"""COSE_Sign1 encoding: the fast assembly equals the generic encoder, and bad input is named."""

from protocol import cbor
from protocol.cose import decode_sign1, encode_sign1, protected_header, to_be_signed
from protocol.errors import EntryError
from protocol.registry import COSE_SIGN1_TAG, SIG_CONTEXT
from tests.portable import raises


def test_assembled_bytes_equal_the_generic_encoding():
    protected = protected_header(b"SC-0001")
    for size in (0, 1, 23, 24, 255, 256, 70000):
        payload = bytes(size)
        for sig in (b"", bytes(64)):
            msg = cbor.Tag(COSE_SIGN1_TAG, [protected, {}, payload, sig])
            assert encode_sign1(protected, payload, sig) == cbor.dumps(msg)
        assert to_be_signed(protected, payload) == cbor.dumps(
            [SIG_CONTEXT, protected, b"", payload]
        )


def test_protected_header_names_eddsa_and_the_device():
    assert cbor.loads(protected_header(b"SC-0001")) == {1: -8, 4: b"SC-0001"}


def test_decode_sign1_returns_the_parts():
    protected = protected_header(b"SC-0001")
    item = cbor.loads(encode_sign1(protected, b"payload", bytes(64)))
    assert decode_sign1(item) == (protected, b"SC-0001", b"payload", bytes(64))


def test_decode_sign1_refuses_other_structures():
    protected = protected_header(b"SC-0001")
    cases = (
        (cbor.Tag(98, [protected, {}, b"", b""]), "tag 18"),
        (cbor.Tag(18, [protected, {}, b""]), "4 items"),
        (cbor.Tag(18, [protected, [], b"", b""]), "unprotected"),
        (cbor.Tag(18, [b"\xff", {}, b"", b""]), "deterministic"),
        (cbor.Tag(18, [cbor.dumps({1: -8}), {}, b"", b""]), "kid"),
        (cbor.Tag(18, [protected, {}, "text", b""]), "byte strings"),
        (cbor.Tag(18, [protected, {}, b"", bytes(63)]), "64 bytes"),
    )
    for item, words in cases:
        err = raises(EntryError, decode_sign1, item)
        assert words in str(err), (words, str(err))
