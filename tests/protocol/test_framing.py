"""Transport framing: COBS vectors, CRC-32, round trips, resync and every error event."""

import hashlib

from protocol.crc32 import crc32, portable_crc32
from protocol.errors import ProtocolError
from protocol.framing import (
    BAD_COBS,
    BAD_CRC,
    BODY,
    DEFAULT_MAX_BODY,
    OVERSIZED,
    STREAM_OVERHEAD,
    TOO_SHORT,
    TRUNCATED,
    Framer,
    FramingError,
    SerialDecoder,
    StreamDecoder,
    cobs_decode,
    cobs_encode,
    encode_serial,
    encode_stream,
    serial_overhead,
)
from tests.portable import raises


def h(s):
    return bytes.fromhex(s)


def run(first, last):
    """The bytes first..last (inclusive)."""
    return bytes(range(first, last + 1))


def pseudo_random(n, seed=b"sealcam"):
    """``n`` reproducible bytes that look random (zeros included), without the random module."""
    out = bytearray()
    block = hashlib.sha256(seed).digest()
    while len(out) < n:
        out.extend(block)
        block = hashlib.sha256(block).digest()
    return bytes(out[:n])


def kinds(events):
    return [kind for kind, _ in events]


def bodies(events):
    return [value for kind, value in events if kind == BODY]


def one_byte_at_a_time(decoder, data):
    events = []
    for i in range(len(data)):
        events.extend(decoder.feed(data[i : i + 1]))
    return events


# --- CRC-32 ---------------------------------------------------------------------------------


def test_crc32_check_value():
    # The check value every CRC-32/ISO-HDLC implementation must give for "123456789".
    assert crc32(b"123456789") == 0xCBF43926
    assert portable_crc32(b"123456789") == 0xCBF43926
    assert crc32(b"") == 0
    assert portable_crc32(b"") == 0


def test_crc32_native_and_portable_agree_and_continue():
    data = pseudo_random(1000)
    assert crc32(data) == portable_crc32(data)
    assert crc32(bytearray(data)) == crc32(memoryview(data)) == crc32(data)
    for cut in (0, 1, 500, 999, 1000):
        assert crc32(data[cut:], crc32(data[:cut])) == crc32(data)
        assert portable_crc32(data[cut:], portable_crc32(data[:cut])) == crc32(data)


# --- COBS -----------------------------------------------------------------------------------

# Derived from the rules: every zero is replaced by the distance to the next zero (or to the
# end, where a zero is implied and dropped); a run of 254 non-zero bytes gets the code 0xFF,
# which implies no zero, and the encoder drops an empty block after a data-final 0xFF block.
COBS_VECTORS = (
    (b"", h("01")),
    (h("00"), h("0101")),
    (h("0000"), h("010101")),
    (h("00110000"), h("0102110101")),
    (h("11220033"), h("0311220233")),
    (h("11223344"), h("0511223344")),
    (h("11000000"), h("0211010101")),
    (run(1, 254), h("ff") + run(1, 254)),
    (run(0, 254), h("01ff") + run(1, 254)),
    (run(1, 255), h("ff") + run(1, 254) + h("02ff")),
    (run(2, 255) + h("00"), h("ff") + run(2, 255) + h("0101")),
    (run(3, 255) + h("0001"), h("fe") + run(3, 255) + h("0201")),
    (b"\x01" * 508, h("ff") + b"\x01" * 254 + h("ff") + b"\x01" * 254),
    (b"\x01" * 509, h("ff") + b"\x01" * 254 + h("ff") + b"\x01" * 254 + h("0201")),
    (b"\x01" * 254 + h("00") + b"\x01", h("ff") + b"\x01" * 254 + h("010201")),
)


def test_cobs_known_vectors():
    for data, encoded in COBS_VECTORS:
        assert cobs_encode(data) == encoded, data
        assert cobs_decode(encoded) == data, encoded


def test_cobs_output_holds_no_zero():
    data = pseudo_random(5000) + bytes(300) + b"\x07" * 600
    encoded = cobs_encode(data)
    assert encoded.find(b"\x00") < 0
    assert cobs_decode(encoded) == data


def test_cobs_decode_refuses_what_is_not_an_encoding():
    assert cobs_decode(b"") is None  # not even the empty string encodes to nothing
    assert cobs_decode(h("0311")) is None  # the block needs 2 bytes, 1 is left
    assert cobs_decode(h("ff") + b"\x01" * 253) is None
    assert cobs_decode(h("021100")) is None  # a zero is never part of an encoding


def test_cobs_decode_accepts_an_empty_block_after_a_full_one():
    # Another encoder may write the empty final block this one leaves out; it means the same.
    assert cobs_decode(h("ff") + run(1, 254) + h("01")) == run(1, 254)


def test_cobs_accepts_bytearray_and_memoryview():
    data = h("1100220000")
    assert cobs_encode(bytearray(data)) == cobs_encode(memoryview(data)) == cobs_encode(data)
    encoded = cobs_encode(data)
    assert cobs_decode(bytearray(encoded)) == cobs_decode(memoryview(encoded)) == data


# --- encoders -------------------------------------------------------------------------------


def test_serial_frame_layout():
    body = b"\xa1\x00\x01"
    expected = cobs_encode(body + crc32(body).to_bytes(4, "big")) + b"\x00"
    assert encode_serial(body) == expected
    assert encode_serial(body).find(b"\x00") == len(expected) - 1
    # The empty body's CRC is 0: four zeros, five one-byte blocks.
    assert encode_serial(b"") == h("010101010100")


def test_stream_frame_layout():
    body = b"hello"
    assert encode_stream(body) == h("00000009") + body + crc32(body).to_bytes(4, "big")
    assert encode_stream(b"") == h("0000000400000000")


def test_encoding_a_body_over_the_limit_is_misuse():
    body = bytes(DEFAULT_MAX_BODY + 1)
    for encode in (encode_serial, encode_stream):
        exc = raises(FramingError, encode, body)
        assert "exceeds" in str(exc)
        assert isinstance(exc, ProtocolError)
        raises(FramingError, encode, b"abc", 2)
        assert len(encode(bytes(DEFAULT_MAX_BODY))) > DEFAULT_MAX_BODY
    for make in (SerialDecoder, StreamDecoder):
        raises(FramingError, make, -1)
        raises(FramingError, make, 1 << 32)


# --- overhead -------------------------------------------------------------------------------


def test_worst_case_overhead_at_the_default_size_is_under_one_percent():
    assert DEFAULT_MAX_BODY == 16384
    # ceil((16384 + 4) / 254) COBS codes + 4 CRC + 1 delimiter.
    assert serial_overhead(DEFAULT_MAX_BODY) == 65 + 4 + 1
    assert serial_overhead(DEFAULT_MAX_BODY) * 100 < DEFAULT_MAX_BODY
    assert STREAM_OVERHEAD == 8


def test_real_frames_of_the_default_size_stay_within_the_bound():
    bound = serial_overhead(DEFAULT_MAX_BODY)
    samples = [pseudo_random(DEFAULT_MAX_BODY, seed) for seed in (b"a", b"b", b"c")]
    # Zero-free bodies are COBS's worst case: every byte costs, none is replaced.
    samples.append(b"\x01" * DEFAULT_MAX_BODY)
    samples.append(b"\xff" * DEFAULT_MAX_BODY)
    for body in samples:
        added = len(encode_serial(body)) - len(body)
        assert added <= bound
        assert added * 100 < len(body)
        assert len(encode_stream(body)) - len(body) == STREAM_OVERHEAD


# --- serial decoder -------------------------------------------------------------------------

SAMPLE_BODIES = (
    b"",
    b"\x00",
    b"\x00" * 9,
    b"hello",
    run(1, 254),
    run(0, 255),
    b"\x01" * 508,
    pseudo_random(3000),
    pseudo_random(DEFAULT_MAX_BODY, b"full"),
)


def test_serial_round_trip():
    wire = b"".join(encode_serial(b) for b in SAMPLE_BODIES)
    dec = SerialDecoder()
    assert dec.feed(wire) == [(BODY, b) for b in SAMPLE_BODIES]
    assert dec.buffered == 0
    assert dec.end() == []


def test_serial_round_trip_one_byte_at_a_time():
    wire = b"".join(encode_serial(b) for b in SAMPLE_BODIES[:-1])
    assert one_byte_at_a_time(SerialDecoder(), wire) == [(BODY, b) for b in SAMPLE_BODIES[:-1]]


def test_serial_round_trip_in_uneven_pieces():
    wire = b"".join(encode_serial(b) for b in SAMPLE_BODIES)
    for size in (2, 3, 253, 254, 255, 4096):
        dec = SerialDecoder()
        events = []
        for i in range(0, len(wire), size):
            events.extend(dec.feed(bytearray(wire[i : i + size])))
        assert events == [(BODY, b) for b in SAMPLE_BODIES], size


def test_serial_feed_accepts_memoryview():
    assert SerialDecoder().feed(memoryview(encode_serial(b"abc"))) == [(BODY, b"abc")]


def test_serial_empty_frames_are_no_event():
    wire = b"\x00\x00" + encode_serial(b"a") + b"\x00\x00\x00" + encode_serial(b"b")
    assert SerialDecoder().feed(wire) == [(BODY, b"a"), (BODY, b"b")]


def test_serial_resyncs_after_garbage():
    garbage = b"\x13\x37noise on the line\xff\xfe"
    wire = garbage + b"\x00" + encode_serial(b"first") + garbage + encode_serial(b"second")
    events = SerialDecoder().feed(wire)
    assert bodies(events) == [b"first"]
    # The second frame was glued to the garbage before it: one error, then nothing else.
    assert len(events) == 3
    assert events[1][0] == BODY and events[2][0] != BODY
    # A lone delimiter before a frame keeps it apart from whatever came before.
    wire = garbage + b"\x00" + encode_serial(b"third")
    assert bodies(SerialDecoder().feed(wire)) == [b"third"]


def test_serial_joins_mid_stream():
    frames = [encode_serial(b) for b in (b"lost", b"kept-1", b"kept-2")]
    wire = b"".join(frames)
    for cut in range(1, len(frames[0])):
        events = SerialDecoder().feed(wire[cut:])
        assert bodies(events) == [b"kept-1", b"kept-2"], cut
        # The tail of the lost frame is one error event, or nothing if it was only the 0x00.
        assert len(events) == (2 if cut == len(frames[0]) - 1 else 3)


def test_serial_bad_crc():
    frame = bytearray(encode_serial(b"evidence"))
    frame[3] ^= 0x20
    events = SerialDecoder().feed(bytes(frame) + encode_serial(b"next"))
    assert kinds(events) == [BAD_CRC, BODY]
    assert "CRC-32" in events[0][1] and "byte 0" in events[0][1]
    assert events[1] == (BODY, b"next")


def test_serial_bad_cobs():
    # A code byte of 0x09 promises 8 more bytes; the delimiter comes after 3.
    events = SerialDecoder().feed(h("0911223300") + encode_serial(b"ok"))
    assert kinds(events) == [BAD_COBS, BODY]
    assert "5 bytes past" in events[0][1]


def test_serial_too_short():
    # Frames that decode to 0..3 bytes cannot hold a CRC.
    for frame in (h("0100"), h("024100"), h("0101010100"), h("0441424300")):
        events = SerialDecoder().feed(frame + encode_serial(b"ok"))
        assert kinds(events) == [TOO_SHORT, BODY], frame


def test_serial_oversized_is_discarded_as_it_streams():
    limit = 100
    dec = SerialDecoder(max_body=limit)
    assert bodies(dec.feed(encode_serial(bytes(limit), limit))) == [bytes(limit)]
    big = encode_serial(pseudo_random(limit + 1), limit + 1)
    events = dec.feed(big[:-1])  # everything but the delimiter
    assert kinds(events) == [OVERSIZED]  # reported before the frame ends
    assert dec.buffered == 0
    assert dec.feed(b"\x00") == []  # the delimiter ends the discard quietly
    assert dec.feed(encode_serial(b"after", limit)) == [(BODY, b"after")]


def test_serial_noise_without_delimiters_keeps_memory_bounded():
    limit = 64
    dec = SerialDecoder(max_body=limit)
    noise = bytes(range(1, 256)) * 40
    events = []
    for i in range(0, len(noise), 97):
        events.extend(dec.feed(noise[i : i + 97]))
        assert dec.buffered <= limit + 4
    assert kinds(events) == [OVERSIZED]
    assert len(dec._buf) == limit + 4
    assert dec.end() == []  # the oversized frame was already reported
    assert dec.feed(encode_serial(b"back", limit)) == [(BODY, b"back")]


def test_serial_oversized_by_an_implied_zero():
    # Decoded bytes land exactly at the limit; the zero a further block implies goes over.
    limit = 4
    dec = SerialDecoder(max_body=limit)
    events = dec.feed(h("09") + b"\x01" * 8 + h("0201"))
    assert kinds(events) == [OVERSIZED]


def test_serial_truncated_at_end():
    dec = SerialDecoder()
    frame = encode_serial(b"cut short")
    assert dec.feed(frame[:6]) == []
    events = dec.end()
    assert kinds(events) == [TRUNCATED]
    assert dec.end() == []
    assert dec.feed(frame) == [(BODY, b"cut short")]


def test_serial_error_offsets_count_from_the_start_of_the_stream():
    first = encode_serial(b"one")
    bad = bytearray(encode_serial(b"two"))
    bad[1] ^= 1
    events = one_byte_at_a_time(SerialDecoder(), first + bytes(bad))
    assert kinds(events) == [BODY, BAD_CRC]
    assert "frame at byte %d:" % len(first) in events[1][1]


# --- stream (TCP) decoder -------------------------------------------------------------------


def test_stream_round_trip():
    wire = b"".join(encode_stream(b) for b in SAMPLE_BODIES)
    dec = StreamDecoder()
    assert dec.feed(wire) == [(BODY, b) for b in SAMPLE_BODIES]
    assert dec.failed is None
    assert dec.end() == []


def test_stream_round_trip_one_byte_at_a_time():
    wire = b"".join(encode_stream(b) for b in SAMPLE_BODIES[:-1])
    assert one_byte_at_a_time(StreamDecoder(), wire) == [(BODY, b) for b in SAMPLE_BODIES[:-1]]


def test_stream_round_trip_in_uneven_pieces():
    wire = b"".join(encode_stream(b) for b in SAMPLE_BODIES)
    for size in (3, 4, 5, 1000, 16388, 40000):
        dec = StreamDecoder()
        events = []
        for i in range(0, len(wire), size):
            events.extend(dec.feed(memoryview(wire)[i : i + size]))
            assert dec.buffered <= DEFAULT_MAX_BODY + 4
        assert events == [(BODY, b) for b in SAMPLE_BODIES], size


def test_stream_bad_crc_drops_one_frame():
    frame = bytearray(encode_stream(b"evidence"))
    frame[-1] ^= 0x01
    dec = StreamDecoder()
    events = dec.feed(bytes(frame) + encode_stream(b"next"))
    assert kinds(events) == [BAD_CRC, BODY]
    assert dec.failed is None


def test_stream_oversized_length_is_fatal():
    limit = 100
    dec = StreamDecoder(max_body=limit)
    ok = encode_stream(bytes(limit), limit)
    assert dec.feed(ok) == [(BODY, bytes(limit))]
    events = dec.feed(h("00000069") + b"x" * 10)  # 105 = 101-byte body + CRC
    assert kinds(events) == [OVERSIZED]
    assert "cannot resynchronise" in events[0][1]
    assert dec.failed == events[0]
    assert dec.buffered == 0
    # Nothing after a fatal error is read, not even a well-formed frame.
    assert dec.feed(encode_stream(b"later", limit)) == []
    assert dec.end() == []


def test_stream_length_below_the_crc_is_fatal():
    for length in (0, 3):
        dec = StreamDecoder()
        events = dec.feed(length.to_bytes(4, "big") + encode_stream(b"ok"))
        assert kinds(events) == [TOO_SHORT]
        assert dec.failed == events[0]


def test_stream_huge_length_is_refused_before_any_allocation():
    dec = StreamDecoder(max_body=16)
    assert kinds(dec.feed(h("ffffffff"))) == [OVERSIZED]
    assert len(dec._buf) == 16 + 4


def test_stream_truncated_at_end():
    frame = encode_stream(b"cut short")
    for cut in (1, 4, 5, len(frame) - 1):
        dec = StreamDecoder()
        assert dec.feed(frame[:cut]) == []
        events = dec.end()
        assert kinds(events) == [TRUNCATED]
        assert "%d bytes into it" % cut in events[0][1]
        assert dec.feed(frame) == [(BODY, b"cut short")]


# issue 10 §4: the decoder tells where the frame in progress began; the link's clock decides
def test_both_decoders_say_where_the_frame_in_progress_began():
    stream = StreamDecoder()
    frame = encode_stream(b"hello")
    assert stream.frame_start == -1
    stream.feed(frame[:2])
    assert stream.frame_start == 0
    stream.feed(frame[2:] + frame[:5])
    assert stream.frame_start == len(frame)  # the next frame, a new start
    stream.feed(frame[5:])
    assert stream.frame_start == -1
    serial = SerialDecoder()
    frame = encode_serial(b"hello")
    serial.feed(frame[:3])
    assert serial.frame_start == 0
    serial.feed(frame[3:])
    assert serial.frame_start == -1
    serial.feed(frame + frame[:1])
    assert serial.frame_start == 2 * len(frame)


# issue 11 §3: one Framer serves both ends of a link, serial and stream
def test_a_framer_at_either_end_reads_what_the_other_end_framed():
    for serial in (True, False):
        device, host = Framer(serial, 2048), Framer(serial, 2048)
        bodies = [b"", b"\x00" * 300, bytes(range(256)) * 8]
        wire = b"".join(device.encode(body) for body in bodies)
        assert host.decoder.feed(wire) == [(BODY, body) for body in bodies]
    raises(FramingError, Framer(False, 16).encode, bytes(17))
