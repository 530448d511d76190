"""Deterministic CBOR: known encodings from RFC 8949 Appendix A, and every refusal."""

from protocol.cbor import Tag, decode_item, diagnostic, dumps, loads
from protocol.errors import DecodeError, EncodeError, TruncatedError
from tests.portable import raises


def h(s):
    return bytes.fromhex(s)


# (value, encoding) pairs from RFC 8949 Appendix A that the deterministic encoding keeps.
VECTORS = (
    (0, "00"),
    (1, "01"),
    (10, "0a"),
    (23, "17"),
    (24, "1818"),
    (25, "1819"),
    (100, "1864"),
    (1000, "1903e8"),
    (1000000, "1a000f4240"),
    (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"),
    (18446744073709551616, "c249010000000000000000"),
    (-18446744073709551616, "3bffffffffffffffff"),
    (-18446744073709551617, "c349010000000000000000"),
    (-1, "20"),
    (-10, "29"),
    (-100, "3863"),
    (-1000, "3903e7"),
    (0.0, "f90000"),
    (-0.0, "f98000"),
    (1.0, "f93c00"),
    (1.1, "fb3ff199999999999a"),
    (1.5, "f93e00"),
    (65504.0, "f97bff"),
    (100000.0, "fa47c35000"),
    (3.4028234663852886e38, "fa7f7fffff"),
    (1.0e300, "fb7e37e43c8800759c"),
    (5.960464477539063e-8, "f90001"),
    (0.00006103515625, "f90400"),
    (-4.0, "f9c400"),
    (-4.1, "fbc010666666666666"),
    (False, "f4"),
    (True, "f5"),
    (None, "f6"),
    (b"", "40"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"),
    ("a", "6161"),
    ("IETF", "6449455446"),
    ('"\\', "62225c"),
    ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"),
    ([], "80"),
    ([1, 2, 3], "83010203"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    ({}, "a0"),
    ({1: 2, 3: 4}, "a201020304"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
    (Tag(18, [b"", {}, b"", b""]), "d28440a04040"),
)


def test_rfc8949_vectors_encode():
    for value, enc in VECTORS:
        assert dumps(value) == h(enc), (value, dumps(value).hex(), enc)


def test_rfc8949_vectors_decode():
    for value, enc in VECTORS:
        assert loads(h(enc)) == value, enc


def test_special_floats():
    assert dumps(float("inf")) == h("f97c00")
    assert dumps(float("-inf")) == h("f9fc00")
    assert dumps(float("nan")) == h("f97e00")
    nan = loads(h("f97e00"))
    assert nan != nan


def test_tuples_and_bytearrays_encode_as_arrays_and_bytes():
    assert dumps((1, 2)) == dumps([1, 2])
    assert dumps(bytearray(b"ab")) == dumps(b"ab")
    assert dumps(memoryview(b"ab")) == dumps(b"ab")


def test_map_keys_sorted_by_encoded_bytes():
    # RFC 8949 §4.2.1: bytewise order of the encoded keys, so 24 (0x1818) sorts before -1 (0x20)
    assert dumps({-1: 0, 24: 0, 10: 0}) == h("a30a001818002000")
    assert dumps({"b": 1, "aa": 2}) == h("a261620162616102")


def test_refuses_unencodable_values():
    raises(EncodeError, dumps, {1, 2})
    raises(EncodeError, dumps, object())


def test_refuses_too_deep_values():
    v = []
    for _ in range(40):
        v = [v]
    raises(EncodeError, dumps, v)


def test_rejects_long_heads():
    for enc in (
        "1800",
        "1817",
        "190017",
        "1900ff",
        "1a0000ffff",
        "1b00000000ffffffff",
        "3817",
        "5801ff",
        "780161",
        "980100",
        "b8010000",
    ):
        err = raises(DecodeError, loads, h(enc))
        assert "shortest" in str(err), enc


def test_rejects_indefinite_lengths():
    for enc in ("5f41ff", "7f6161ff", "9f01ff", "bf0102ff"):
        err = raises(DecodeError, loads, h(enc))
        assert "indefinite" in str(err), enc


def test_rejects_reserved_and_unsupported():
    for enc in ("1c", "1d", "1e", "f7", "f0", "f818"):
        raises(DecodeError, loads, h(enc))


def test_rejects_wide_floats():
    for enc in ("fa3fc00000", "fb3ff8000000000000", "f97e01", "fa7fc00000", "fb7ff8000000000000"):
        err = raises(DecodeError, loads, h(enc))
        assert "shortest" in str(err), enc


def test_rejects_unsorted_and_repeated_keys():
    err = raises(DecodeError, loads, h("a203040102"))
    assert "order" in str(err)
    err = raises(DecodeError, loads, h("a201020103"))
    assert "repeated" in str(err)


def test_rejects_keys_python_would_merge():
    # 1 and 1.0 are different CBOR keys but one Python dict key: refuse, never drop one.
    err = raises(DecodeError, loads, h("a201f4f93c00f5"))
    assert "collides" in str(err)


def test_rejects_non_shortest_bignums():
    raises(DecodeError, loads, h("c24100"))  # leading zero
    raises(DecodeError, loads, h("c24101"))  # fits in 64 bits
    raises(DecodeError, loads, h("c240"))  # empty
    raises(DecodeError, loads, h("c26161"))  # not a byte string


def test_rejects_invalid_utf8():
    raises(DecodeError, loads, h("62c328"))
    raises(DecodeError, loads, h("61ff"))


def test_truncated_input_says_so():
    full = dumps({1: [b"abcdef", "text", 2**40]})
    for cut in range(len(full)):
        err = raises(TruncatedError, loads, full[:cut])
        assert "ends" in str(err) or "longer than the input" in str(err), cut


def test_declared_length_beyond_input_allocates_nothing():
    # A header claiming 2**63 bytes or items must be refused from the header alone.
    for enc in ("5b7fffffffffffffff", "9b7fffffffffffffff", "bb7fffffffffffffff"):
        raises(TruncatedError, loads, h(enc))


def test_rejects_too_deep_input():
    deep = b"\x81" * 40 + b"\x00"
    err = raises(DecodeError, loads, deep)
    assert "deeper" in str(err)
    assert loads(b"\x81" * 10 + b"\x00", max_depth=10) is not None


def test_rejects_trailing_bytes():
    err = raises(DecodeError, loads, h("0000"))
    assert "follow" in str(err)


def test_decode_item_walks_a_sequence():
    seq = dumps(1) + dumps("two") + dumps([3])
    out = []
    pos = 0
    while pos < len(seq):
        value, pos = decode_item(seq, pos)
        out.append(value)
    assert out == [1, "two", [3]]


def test_error_names_the_offset():
    err = raises(DecodeError, loads, h("8301021800"))
    assert err.offset == 3
    assert "byte 3" in str(err)


def test_rejects_utf8_that_lax_decoders_accept():
    # overlong "/", overlong NUL, a surrogate, a code point above U+10FFFF, a cut sequence
    for enc in ("62c0af", "62c080", "63eda080", "64f4908080", "62e282"):
        err = raises(DecodeError, loads, h(enc))
        assert "UTF-8" in str(err), enc


def test_a_key_in_an_error_is_said_in_diagnostic_notation():
    # R-HOST-4: what the decoder says of a key reads the same in any language (RFC 8949 §8),
    # not as Python's repr (True, None, b'..') would put it inside a Chinese line.
    value = [True, False, None, b"\x01\xff", "a", -2, {1: 2}, Tag(1, 2)]
    assert diagnostic(value) == "[true, false, null, h'01ff', \"a\", -2, {1: 2}, 1(2)]"
    try:
        loads(b"\xa2\xf5\x00\xf5\x00")
    except DecodeError as exc:
        assert str(exc) == "map key true is repeated (at byte 3)"
        assert exc.fields == {"key": "true"}
    else:
        raise AssertionError("a repeated key was accepted")
