"""Property tests: framing round trips, survives any input, and keeps its memory bounded."""
# micropython: skip (hypothesis is a CPython library)

import itertools
import random
import tracemalloc
import zlib

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocol.crc32 import crc32, portable_crc32
from protocol.framing import (
    BAD_COBS,
    BAD_CRC,
    BODY,
    DEFAULT_MAX_BODY,
    OVERSIZED,
    STREAM_OVERHEAD,
    TOO_SHORT,
    TRUNCATED,
    SerialDecoder,
    StreamDecoder,
    cobs_decode,
    cobs_encode,
    encode_serial,
    encode_stream,
    serial_overhead,
)

ERRORS = {BAD_COBS, BAD_CRC, OVERSIZED, TOO_SHORT, TRUNCATED}
# Small limits make oversized frames common in generated input.
LIMIT = 300

bodies_st = st.lists(st.binary(max_size=LIMIT), max_size=8)
# Bytes rich in zeros and in long zero-free runs, the two things COBS cares about.
wire_st = st.lists(
    st.binary(max_size=40) | st.sampled_from([b"\x00", b"\x01" * 300, b"\xff" * 255]),
    max_size=12,
).map(b"".join)


def textbook_cobs(data: bytes) -> bytes:
    """Byte-at-a-time COBS as the paper describes it: an independent check on the encoder."""
    out = bytearray()
    block = bytearray()
    ended_full = False  # the last thing written was a 254-byte block
    for b in data:
        ended_full = False
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
            continue
        block.append(b)
        if len(block) == 254:
            out.append(0xFF)
            out += block
            block = bytearray()
            ended_full = True
    if not ended_full:
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def pieces(data: bytes, cuts: list) -> list:
    """``data`` cut at the given positions (taken modulo its length)."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def feed_all(decoder, parts):
    events = []
    for part in parts:
        events.extend(decoder.feed(part))
        assert decoder.buffered <= decoder.max_body + 4
        assert len(decoder._buf) == decoder.max_body + 4
    return events


def decoded_len(frame: bytes) -> int:
    """How many bytes a COBS reader has produced by the end of ``frame``, whole or cut off."""
    n = pos = 0
    implied_zero = False
    while pos < len(frame):
        code = frame[pos]
        n += implied_zero + min(code - 1, len(frame) - pos - 1)
        implied_zero = code != 0xFF
        pos += code
    return n


def serial_reference(data: bytes, max_body: int) -> list:
    """What a serial decoder must report for ``data``: one entry per non-empty delimited frame,
    the body when the frame is well formed and matches its CRC, else None; and None for an
    undelimited tail that is already too long."""
    out: list = []
    *frames, tail = data.split(b"\x00")
    for frame in frames:
        if not frame:
            continue
        decoded = cobs_decode(frame)
        if (
            decoded is not None
            and 4 <= len(decoded) <= max_body + 4
            and zlib.crc32(decoded[:-4]) == int.from_bytes(decoded[-4:], "big")
        ):
            out.append(decoded[:-4])
        else:
            out.append(None)
    if decoded_len(tail) > max_body + 4:
        out.append(None)
    return out


def kinds_of(events: list) -> list:
    return [kind for kind, _ in events]


def as_reference(events: list) -> list:
    return [value if kind == BODY else None for kind, value in events]


# --- CRC-32 and COBS ------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=2**32 - 1))
def test_crc32_matches_zlib(data, start):
    assert crc32(data) == portable_crc32(data) == zlib.crc32(data)
    assert crc32(data, start) == portable_crc32(data, start) == zlib.crc32(data, start)


@settings(max_examples=1000)
@given(wire_st)
def test_cobs_matches_the_textbook_and_its_bound(data):
    encoded = cobs_encode(data)
    assert encoded == textbook_cobs(data)
    assert b"\x00" not in encoded
    assert len(encoded) <= len(data) + max(1, -(-len(data) // 254))
    assert cobs_decode(encoded) == data


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=300)
@given(bodies_st, st.lists(st.integers(min_value=0), max_size=20))
def test_serial_round_trip_under_any_split(bodies, cuts):
    wire = b"".join(encode_serial(b, LIMIT) for b in bodies)
    events = feed_all(SerialDecoder(LIMIT), pieces(wire, cuts))
    assert events == [(BODY, b) for b in bodies]


@settings(max_examples=300)
@given(bodies_st, st.lists(st.integers(min_value=0), max_size=20))
def test_stream_round_trip_under_any_split(bodies, cuts):
    wire = b"".join(encode_stream(b, LIMIT) for b in bodies)
    dec = StreamDecoder(LIMIT)
    events = feed_all(dec, pieces(wire, cuts))
    assert events == [(BODY, b) for b in bodies]
    assert dec.failed is None and dec.end() == []


# --- any input ------------------------------------------------------------------------------


@settings(max_examples=1000)
@given(wire_st, st.lists(st.integers(min_value=0), max_size=10))
def test_serial_any_bytes_match_the_reference(data, cuts):
    # Never raises, never holds more than a frame, and reports exactly what a whole-buffer
    # reading (split at zeros, COBS-decode, check the CRC) finds: a body only where the CRC
    # matches. The reference checks the CRC itself, so a chance match cannot make this flaky.
    dec = SerialDecoder(LIMIT)
    events = feed_all(dec, pieces(data, cuts))
    assert {kind for kind, _ in events} <= ERRORS | {BODY}
    assert as_reference(events) == serial_reference(data, LIMIT)
    tail = dec.end()
    trailing = data.rsplit(b"\x00", 1)[-1]
    oversized_tail = decoded_len(trailing) > LIMIT + 4
    assert kinds_of(tail) == ([TRUNCATED] if trailing and not oversized_tail else [])


def stream_reference(data: bytes, max_body: int) -> list:
    """What a stream decoder must report for ``data``: per whole frame, the body when it
    matches its CRC, else None; "fatal" for an impossible length, after which nothing."""
    out: list = []
    pos = 0
    while len(data) - pos >= 4:
        n = int.from_bytes(data[pos : pos + 4], "big")
        if not 4 <= n <= max_body + 4:
            out.append("fatal")
            break
        frame = data[pos + 4 : pos + 4 + n]
        if len(frame) < n:
            break
        good = zlib.crc32(frame[:-4]) == int.from_bytes(frame[-4:], "big")
        out.append(frame[:-4] if good else None)
        pos += 4 + n
    return out


stream_wire_st = st.lists(
    st.binary(max_size=LIMIT).map(lambda b: encode_stream(b, LIMIT))
    | st.binary(max_size=12)
    | st.integers(min_value=0, max_value=LIMIT + 10).map(lambda n: n.to_bytes(4, "big")),
    max_size=10,
).map(b"".join)


@settings(max_examples=1000)
@given(stream_wire_st, st.lists(st.integers(min_value=0), max_size=10))
def test_stream_any_bytes_match_the_reference(data, cuts):
    dec = StreamDecoder(LIMIT)
    events = feed_all(dec, pieces(data, cuts))
    assert {kind for kind, _ in events} <= ERRORS | {BODY}
    fatal = [e for e in events if e[0] in (OVERSIZED, TOO_SHORT)]
    assert fatal == ([dec.failed] if dec.failed else [])
    got = ["fatal" if e is dec.failed else as_reference([e])[0] for e in events]
    assert got == stream_reference(data, LIMIT)
    tail = dec.end()
    assert all(kind == TRUNCATED for kind, _ in tail)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.binary(max_size=60), st.binary(max_size=LIMIT)), max_size=8),
    st.lists(st.integers(min_value=0), max_size=10),
)
def test_frames_between_garbage_all_come_out_in_order(pairs, cuts):
    wire = b""
    for garbage, body in pairs:
        # A delimiter after the garbage keeps it from gluing itself to the frame.
        wire += garbage + b"\x00" + encode_serial(body, LIMIT)
    # Garbage that happens to be a valid frame (odds of 2^-32) is not garbage.
    for garbage, _ in pairs:
        assume(all(b is None for b in serial_reference(garbage + b"\x00", LIMIT)))
    events = feed_all(SerialDecoder(LIMIT), pieces(wire, cuts))
    assert [v for k, v in events if k == BODY] == [body for _, body in pairs]
    garbage_frames = sum(len([f for f in g.split(b"\x00") if f]) for g, _ in pairs)
    assert len(events) == len(pairs) + garbage_frames


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=10), st.data())
def test_bit_flips_lose_only_the_frames_they_touch(bodies, data):
    frames = [encode_serial(b) for b in bodies]
    wire = bytearray(b"".join(frames))
    flips = data.draw(
        st.lists(st.integers(min_value=0, max_value=len(wire) * 8 - 1), max_size=4, unique=True)
    )
    for bit in flips:
        wire[bit // 8] ^= 1 << (bit % 8)
    # Frame i survives when no flip lands in it (its delimiter included) and the delimiter
    # before it still stands; a flipped delimiter glues two frames into one.
    spans, pos = [], 0
    for f in frames:
        spans.append((pos, pos + len(f)))
        pos += len(f)
    hit = [any(a <= bit // 8 < b for bit in flips) for a, b in spans]
    glued = [any(bit // 8 == b - 1 for bit in flips) for _, b in spans]
    survivors = [b for i, b in enumerate(bodies) if not hit[i] and not (i and glued[i - 1])]
    reference = serial_reference(bytes(wire), DEFAULT_MAX_BODY)
    # A damaged frame that still matches its CRC (odds of 2^-32 or less) is left out.
    assume([b for b in reference if b is not None] == survivors)
    events = SerialDecoder().feed(bytes(wire))
    assert [v for k, v in events if k == BODY] == survivors
    assert as_reference(events) == reference


# --- memory and overhead --------------------------------------------------------------------


def test_memory_stays_bounded_whatever_is_fed():
    # Serial: 1 MiB without a zero, one endless frame. TCP: 1 MiB of full-size frames whose
    # CRCs are wrong. Fed in pieces, neither decoder allocates beyond the events it returns.
    endless = bytes(range(1, 256)) * 4112
    full = (1024 + 4).to_bytes(4, "big") + bytes(range(1, 256)) * 4 + b"1234abcd"
    for dec, data in ((SerialDecoder(1024), endless), (StreamDecoder(1024), full * 1016)):
        dec.feed(data[:10])
        tracemalloc.start()
        try:
            for i in range(10, len(data), 1000):
                dec.feed(data[i : i + 1000])
                assert dec.buffered <= 1024 + 4
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4096, peak
        assert len(dec._buf) == 1024 + 4
        assert getattr(dec, "failed", None) is None


@settings(max_examples=30)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_overhead_of_random_default_size_bodies_is_under_one_percent(seed):
    body = random.Random(seed).randbytes(DEFAULT_MAX_BODY)
    serial = len(encode_serial(body)) - len(body)
    assert serial <= serial_overhead(DEFAULT_MAX_BODY)
    assert serial * 100 < DEFAULT_MAX_BODY
    assert len(encode_stream(body)) - len(body) == STREAM_OVERHEAD
