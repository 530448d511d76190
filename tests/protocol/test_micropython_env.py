"""Interpreter facts the protocol code relies on, checked on CPython and on MicroPython.

Where the two interpreters differ, the test pins down what each one really does, so that
a change in either shows up here first and the protocol code knows what it must check
for itself.
"""

import hashlib
import struct
import sys

from tests.portable import raises

MICROPYTHON = sys.implementation.name == "micropython"


def test_big_int_byte_round_trips_up_to_2_to_the_256():
    for value in (0, 1, 255, 256, 2**63, 2**64 - 1, 2**64, 2**128 + 12345, 2**256 - 1, 2**256):
        size = (len("%x" % value) + 1) // 2
        raw = value.to_bytes(size, "big")
        assert len(raw) == size
        assert int.from_bytes(raw, "big") == value
        assert int.from_bytes(value.to_bytes(size + 3, "big"), "big") == value
        assert int.from_bytes(value.to_bytes(size, "little"), "little") == value
    assert (2**256).to_bytes(33, "big") == b"\x01" + bytes(32)
    assert (2**256 - 1) // (2**128) == 2**128 - 1


def test_to_bytes_refuses_a_value_that_does_not_fit():
    raises(OverflowError, (256).to_bytes, 1, "big")
    raises(OverflowError, (2**256).to_bytes, 32, "big")


def test_sha256_known_answers():
    abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert hashlib.sha256(b"abc").digest().hex() == abc
    assert hashlib.sha256(b"").digest().hex() == empty
    h = hashlib.sha256()
    h.update(b"a")
    h.update(memoryview(b"xbc")[1:])
    assert h.digest().hex() == abc


def test_sha256_digest_ends_the_hash_on_micropython():
    # MicroPython's digest() finalises the object: hash once, keep the bytes.
    h = hashlib.sha256(b"abc")
    first = h.digest()
    if MICROPYTHON:
        raises(ValueError, h.digest)
        raises(ValueError, h.update, b"more")
    else:
        assert h.digest() == first
    assert not hasattr(h, "hexdigest") or not MICROPYTHON


def test_half_precision_floats_pack_and_unpack():
    assert struct.pack(">e", 1.5) == b"\x3e\x00"
    assert struct.pack(">e", -0.0) == b"\x80\x00"
    assert struct.unpack(">e", b"\x3e\x00") == (1.5,)
    assert struct.unpack(">e", b"\x7c\x00")[0] == float("inf")
    nan = struct.unpack(">e", b"\x7e\x00")[0]
    assert nan != nan
    assert struct.unpack(">d", struct.pack(">d", 0.1))[0] == 0.1


def test_struct_range_checking_differs():
    # CPython refuses values that do not fit; MicroPython 1.27 silently keeps the low bits
    # (and turns a too-large float into infinity), so encoders must range-check first.
    if MICROPYTHON:
        assert struct.pack(">Q", 2**64) == bytes(8)
        assert struct.pack(">e", 65520.0) == b"\x7c\x00"
    else:
        raises(struct.error, struct.pack, ">Q", 2**64)
        raises(OverflowError, struct.pack, ">e", 65520.0)


def test_memoryview_slices_of_bytes():
    data = b"0123456789"
    view = memoryview(data)
    part = view[2:8][1:3]
    assert len(part) == 2
    assert part[0] == ord("3")
    assert bytes(part) == b"34"
    assert part == b"34"
    assert bytes(view[10:]) == b""
    assert struct.unpack(">H", view[4:6]) == (0x3435,)
    assert struct.unpack_from(">H", data, 4) == (0x3435,)


def test_invalid_utf8_that_both_interpreters_refuse():
    for raw in (
        b"\x80",  # continuation byte without a lead byte
        b"\xff",  # never valid in UTF-8
        b"\xf8\x88\x80\x80\x80",  # five-byte form
        b"\xc3\x28",  # lead byte followed by a non-continuation byte
        b"\xe2\x82",  # sequence cut short
    ):
        raises(UnicodeError, str, raw, "utf-8")
        raises(UnicodeError, raw.decode)


def test_invalid_utf8_that_micropython_accepts():
    # MicroPython 1.27 only checks the shape of each sequence: overlong forms, UTF-16
    # surrogates and code points past U+10FFFF decode without complaint. A decoder that
    # must refuse invalid text cannot rely on str() there and has to validate itself.
    lax = (
        b"\xc0\x80",  # overlong U+0000
        b"\xe0\x80\x80",  # overlong U+0000, three bytes
        b"\xed\xa0\x80",  # surrogate U+D800
        b"\xf4\x90\x80\x80",  # U+110000
    )
    for raw in lax:
        if MICROPYTHON:
            assert isinstance(str(raw, "utf-8"), str)
        else:
            raises(UnicodeError, str, raw, "utf-8")


def test_bool_and_int():
    assert isinstance(True, bool)
    assert not isinstance(1, bool)
    assert True + 1 == 2
    # On MicroPython bool is not a subclass of int: isinstance(True, int) is False.
    assert isinstance(True, int) is (not MICROPYTHON)


def _depth(n):
    return 0 if n == 0 else 1 + _depth(n - 1)


def test_recursion_depth():
    # The MicroPython wasm build gives up after about 150 nested Python calls (its C
    # stack is fixed at build time); recursive decoders must stay well inside that.
    assert _depth(100) == 100
    # Running out is an exception, not a crash: RecursionError on CPython (a subclass of
    # RuntimeError), RuntimeError("maximum recursion depth exceeded") on MicroPython.
    raises(RuntimeError, _depth, 100000)
