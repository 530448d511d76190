"""Transport framing for the sync protocol: one message body per frame, with no I/O in it.

A frame carries one body (an encoded message) and the CRC-32 of that body, four bytes
big-endian. Serial links (USB CDC, UART, pseudo-terminals) send::

    COBS(body + CRC) 0x00

COBS (Consistent Overhead Byte Stuffing, Cheshire and Baker) rewrites the bytes so that
none of them is zero; the zero that follows is therefore always a frame boundary, and a
receiver that joins mid-stream or meets line noise is back in step at the next zero. TCP
keeps its own boundaries, so it sends the same bytes without stuffing, behind a length::

    [u32 BE length of body + CRC] body CRC

Both sides are plain functions and objects fed with bytes: ``encode_serial`` and
``encode_stream`` make a frame; ``SerialDecoder`` and ``StreamDecoder`` take whatever the
link delivered, in pieces of any size, and return events in stream order. ``Framer`` holds
the pair one end of a link uses (the device's and the host's alike), and ``Transport`` names
what a link's bytes travel over. An event is a
tuple ``(kind, value)``: ``(BODY, body)`` for a body that passed its CRC, otherwise an
error kind and a message that says what was wrong and at which byte of the stream.

On serial every error belongs to one frame; the decoder drops that frame and carries on.
On TCP a bad CRC is reported and the stream goes on (the length still marks where the next
frame starts), but a declared length the encoder could never write (too large or below the
CRC's four bytes) means the two sides are out of step, and a byte stream has no delimiter
to find its way back: that event is fatal, ``StreamDecoder.failed`` holds it, and the
connection must be closed. Exceptions are only for misuse (``FramingError``: a body over
the limit, a limit outside 0..LIMIT_CEILING).

Memory: each decoder owns one buffer of ``max_body + 4`` bytes, allocated once and reused
for every frame. An oversized frame is discarded as it streams, never held whole.

Default size: bodies of up to 16 KiB. In the worst case COBS adds one byte per 254, so a
full serial frame costs ceil((16384 + 4) / 254) + 4 (CRC) + 1 (delimiter) = 70 bytes, 0.43%
(``serial_overhead``). COBS's own share never drops below 1/254 = 0.39% on zero-free data,
so larger frames would buy little while costing a board more RAM and a retransmission more
time (a 16 KiB frame takes about 0.18 s at 921600 baud). Bodies of 900 bytes or fewer can
cost 1% or more, but those are control messages, a negligible share of the traffic. The
session may agree on another ``max_body`` in HELLO.
"""

from protocol.crc32 import crc32
from protocol.errors import ProtocolError

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Protocol

    class Transport(Protocol):
        """A link's bytes, at either end: ``read`` returns what has arrived, b"" when nothing
        has (``at_eof`` says whether the link is gone); ``write`` sends all of ``data`` or
        raises OSError."""

        def read(self) -> bytes: ...

        def write(self, data: bytes) -> None: ...

        def at_eof(self) -> bool: ...


DEFAULT_MAX_BODY = 16 * 1024
CRC_LEN = 4
LENGTH_LEN = 4
# What encode_stream adds to every body: the length and the CRC.
STREAM_OVERHEAD = LENGTH_LEN + CRC_LEN
# The largest body a u32 length (which counts the CRC too) can describe.
LIMIT_CEILING = 0xFFFFFFFF - CRC_LEN

# Event kinds. BODY carries the body's bytes; the others carry a message.
BODY = "body"
BAD_CRC = "bad-crc"  # a whole frame whose body does not match its CRC-32
BAD_COBS = "bad-cobs"  # a COBS block that runs past the frame's delimiter
TOO_SHORT = "too-short"  # fewer bytes than a CRC (serial), or a declared length below 4 (TCP)
OVERSIZED = "oversized"  # a body longer than max_body (fatal on TCP)
TRUNCATED = "truncated"  # the link ended inside a frame (reported by ``end``)

# The longest COBS block: a code byte of 0xFF followed by 254 non-zero bytes.
_BLOCK = 254
_ZERO = b"\x00"


class FramingError(ProtocolError):
    """Misuse of the framing API: a body over the limit, or an impossible limit."""


def serial_overhead(body_len: int) -> int:
    """The most bytes the serial framing adds to a body of ``body_len`` bytes.

    COBS adds at most one byte per 254 (at least one), then the CRC and the delimiter.
    At ``DEFAULT_MAX_BODY`` that is 70 bytes, 0.43% of the body.
    """
    n = body_len + CRC_LEN
    return (n + _BLOCK - 1) // _BLOCK + CRC_LEN + 1


def _check_limit(max_body: int) -> None:
    if not 0 <= max_body <= LIMIT_CEILING:
        raise FramingError("max_body must be 0..%d, not %d" % (LIMIT_CEILING, max_body))


def _check_body(body: bytes, max_body: int) -> None:
    _check_limit(max_body)
    if len(body) > max_body:
        raise FramingError("a %d-byte body exceeds the %d-byte frame limit" % (len(body), max_body))


# --- COBS -----------------------------------------------------------------------------------


def _cobs_into(out: bytearray, data: bytes) -> None:
    """Append the COBS encoding of ``data`` (without a delimiter) to ``out``.

    Works run by run: ``find`` locates each zero, every run of non-zero bytes becomes
    blocks of at most 254 bytes, each behind a code byte of its length + 1. A block shorter
    than 254 stands for its bytes and a zero; a 254-byte block (code 0xFF) for its bytes
    alone. The zero after the last block is implied, so it is not written; nor is the
    empty block that would follow a data-final 254-byte block.
    """
    view = memoryview(data)
    end_of_data = len(data)
    pos = run_start = 0
    while True:
        zero = data.find(_ZERO, pos)
        end = end_of_data if zero < 0 else zero
        while end - pos >= _BLOCK:
            out.append(0xFF)
            out.extend(view[pos : pos + _BLOCK])
            pos += _BLOCK
        if zero >= 0 or pos < end or end == run_start:
            out.append(end - pos + 1)
            out.extend(view[pos:end])
        if zero < 0:
            return
        pos = run_start = zero + 1


def cobs_encode(data: bytes) -> bytes:
    """The COBS encoding of ``data``: no zero byte in it, no delimiter after it."""
    if isinstance(data, memoryview):
        data = bytes(data)
    out = bytearray()
    _cobs_into(out, data)
    return bytes(out)


def cobs_decode(data: bytes) -> "bytes | None":
    """The bytes ``data`` is the COBS encoding of, or None when it is not one.

    ``data`` is one frame without its delimiter. It is not an encoding when it is empty,
    holds a zero byte, or has a block that runs past its end.
    """
    if isinstance(data, memoryview):
        data = bytes(data)
    end_of_data = len(data)
    if end_of_data == 0 or data.find(_ZERO) >= 0:
        return None
    view = memoryview(data)
    out = bytearray()
    pos = 0
    implied_zero = False
    while pos < end_of_data:
        code = data[pos]
        if implied_zero:
            out.append(0)
        end = pos + code
        if end > end_of_data:
            return None
        out.extend(view[pos + 1 : end])
        implied_zero = code != 0xFF
        pos = end
    return bytes(out)


# --- encoders -------------------------------------------------------------------------------


def encode_serial(body: bytes, max_body: int = DEFAULT_MAX_BODY) -> bytes:
    """One serial frame: COBS(body + CRC-32 BE) and the 0x00 delimiter.

    Raises FramingError when ``body`` is longer than ``max_body``.
    """
    _check_body(body, max_body)
    data = bytes(body) + crc32(body).to_bytes(CRC_LEN, "big")
    out = bytearray()
    _cobs_into(out, data)
    out.append(0)
    return bytes(out)


def encode_stream(body: bytes, max_body: int = DEFAULT_MAX_BODY) -> bytes:
    """One TCP frame: u32 BE length of (body + CRC), the body, its CRC-32 BE.

    Raises FramingError when ``body`` is longer than ``max_body``.
    """
    _check_body(body, max_body)
    n = len(body)
    return b"".join(
        (
            (n + CRC_LEN).to_bytes(LENGTH_LEN, "big"),
            bytes(body),
            crc32(body).to_bytes(CRC_LEN, "big"),
        )
    )


# --- decoders -------------------------------------------------------------------------------


def _checked(view: memoryview, size: int, offset: int, events: list) -> None:
    """Append the event for a whole frame of ``size`` bytes (body + CRC) held in ``view``."""
    body_len = size - CRC_LEN
    if crc32(view[:body_len]) == int.from_bytes(view[body_len:size], "big"):
        events.append((BODY, bytes(view[:body_len])))
    else:
        msg = "frame at byte %d: its %d-byte body does not match its CRC-32"
        events.append((BAD_CRC, msg % (offset, body_len)))


class SerialDecoder:
    """Turns a serial byte stream into bodies and per-frame error events.

    ``feed`` takes bytes as the link delivers them and returns the events they complete.
    An empty frame (two delimiters in a row) is no event: a sender may write a lone 0x00
    to close off whatever noise came before. ``end`` reports a frame cut off by the link
    closing or going quiet.
    """

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        _check_limit(max_body)
        self.max_body = max_body
        self._cap = max_body + CRC_LEN
        self._buf = bytearray(self._cap)
        self._view = memoryview(self._buf)
        self._len = 0  # decoded bytes of the current frame held in _buf
        self._left = 0  # bytes still to come in the current COBS block
        self._zero = False  # the last finished block implies a zero, if another block follows
        self._open = False  # the current frame has begun (a byte after the last delimiter)
        self._skip = False  # discarding an oversized frame up to the next delimiter
        self._seen = 0  # bytes fed before the current call
        self._start = 0  # stream offset of the current frame's first byte

    @property
    def buffered(self) -> int:
        """Decoded bytes held for the frame in progress (never more than max_body + 4)."""
        return self._len

    @property
    def frame_start(self) -> int:
        """Stream offset of the first byte of the frame in progress, or -1 between frames.

        The decoder only tells; the link's own clock decides how long a frame may take, so
        that a peer trickling bytes cannot hold a link open (a new offset is a new frame).
        """
        return self._start if self._open or self._skip else -1

    def feed(self, data: bytes) -> list:
        """Consume ``data`` (bytes or bytearray) and return the events it completes, in order."""
        if isinstance(data, memoryview):
            data = bytes(data)
        events: list = []
        view = memoryview(data)
        end_of_data = len(data)
        pos = 0
        while pos < end_of_data:
            zero = data.find(_ZERO, pos)
            end = end_of_data if zero < 0 else zero
            if pos < end and not self._skip:
                self._consume(data, view, pos, end, events)
            if zero < 0:
                break
            self._delimiter(events)
            pos = zero + 1
            self._start = self._seen + pos
        self._seen += end_of_data
        return events

    def end(self) -> list:
        """The link closed or went quiet: report a frame left without its delimiter, if any.

        The decoder starts afresh afterwards, as if a delimiter had arrived.
        """
        events: list = []
        if self._open and not self._skip:
            msg = "frame at byte %d: the link ended %d decoded bytes into it"
            events.append((TRUNCATED, msg % (self._start, self._len)))
        self._reset()
        self._skip = False
        self._start = self._seen
        return events

    def _reset(self) -> None:
        self._len = 0
        self._left = 0
        self._zero = False
        self._open = False

    def _consume(self, data: bytes, view: memoryview, pos: int, end: int, events: list) -> None:
        """Decode data[pos:end], which holds no zero, into the frame in progress."""
        buf = self._buf
        cap = self._cap
        used = self._len
        left = self._left
        zero = self._zero
        while pos < end:
            if left == 0:
                code = data[pos]
                pos += 1
                if zero:
                    if used == cap:
                        self._oversized(events)
                        return
                    buf[used] = 0
                    used += 1
                zero = code != 0xFF
                left = code - 1
                continue
            take = end - pos
            if take > left:
                take = left
            if used + take > cap:
                self._oversized(events)
                return
            buf[used : used + take] = view[pos : pos + take]
            used += take
            pos += take
            left -= take
        self._len = used
        self._left = left
        self._zero = zero
        self._open = True

    def _oversized(self, events: list) -> None:
        msg = "frame at byte %d: its body exceeds %d bytes; discarded up to the next delimiter"
        events.append((OVERSIZED, msg % (self._start, self.max_body)))
        self._reset()
        self._skip = True

    def _delimiter(self, events: list) -> None:
        if self._skip:
            self._skip = False
        elif not self._open:
            pass
        elif self._left:
            msg = "frame at byte %d: a COBS block runs %d bytes past the delimiter"
            events.append((BAD_COBS, msg % (self._start, self._left)))
        elif self._len < CRC_LEN:
            msg = "frame at byte %d: %d decoded bytes cannot hold a CRC-32"
            events.append((TOO_SHORT, msg % (self._start, self._len)))
        else:
            _checked(self._view, self._len, self._start, events)
        self._reset()


class StreamDecoder:
    """Turns a TCP byte stream into bodies and error events.

    ``feed`` takes bytes as the socket delivers them and returns the events they complete.
    A bad CRC drops that frame only. A declared length above ``max_body + 4`` (OVERSIZED)
    or below 4 (TOO_SHORT) is fatal: ``failed`` holds the event, and ``feed`` ignores
    everything after it, since a stream out of step cannot find the next frame.
    """

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        _check_limit(max_body)
        self.max_body = max_body
        self.failed: tuple | None = None
        self._cap = max_body + CRC_LEN
        self._buf = bytearray(self._cap)
        self._view = memoryview(self._buf)
        self._head = bytearray(LENGTH_LEN)
        self._head_len = 0  # bytes of the length prefix received so far
        self._want = 0  # bytes of body + CRC the current frame declared; 0 = reading a length
        self._have = 0  # bytes of body + CRC held in _buf
        self._seen = 0  # bytes fed before the current call
        self._start = 0  # stream offset of the current frame's length prefix

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress (never more than max_body + 4)."""
        return self._head_len + self._have

    @property
    def frame_start(self) -> int:
        """Stream offset of the length prefix of the frame in progress, or -1 between
        frames (see ``SerialDecoder.frame_start``)."""
        return self._start if self._head_len or self._want else -1

    def feed(self, data: bytes) -> list:
        """Consume ``data`` (bytes or bytearray) and return the events it completes, in order."""
        events: list = []
        if self.failed is not None:
            return events
        view = memoryview(data)
        end_of_data = len(data)
        pos = 0
        while pos < end_of_data:
            want = self._want
            if want == 0:
                head_len = self._head_len
                take = min(LENGTH_LEN - head_len, end_of_data - pos)
                self._head[head_len : head_len + take] = view[pos : pos + take]
                head_len += take
                pos += take
                if head_len < LENGTH_LEN:
                    self._head_len = head_len
                    break
                self._head_len = 0
                want = int.from_bytes(self._head, "big")
                if want > self._cap or want < CRC_LEN:
                    self._fail(want, events)
                    return events
                if end_of_data - pos >= want:
                    # The whole frame is in this piece: check it where it lies.
                    _checked(view[pos : pos + want], want, self._start, events)
                    pos += want
                    self._start = self._seen + pos
                    continue
                self._want = want
            have = self._have
            take = min(want - have, end_of_data - pos)
            self._buf[have : have + take] = view[pos : pos + take]
            have += take
            pos += take
            if have < want:
                self._have = have
                break
            _checked(self._view, want, self._start, events)
            self._want = 0
            self._have = 0
            self._start = self._seen + pos
        self._seen += end_of_data
        return events

    def end(self) -> list:
        """The connection closed: report a frame it cut off, if any, and start afresh."""
        events: list = []
        if self.failed is None and (self._head_len or self._want):
            got = self._head_len + (LENGTH_LEN + self._have if self._want else 0)
            msg = "frame at byte %d: the stream ended %d bytes into it"
            events.append((TRUNCATED, msg % (self._start, got)))
        self._head_len = 0
        self._want = 0
        self._have = 0
        self._start = self._seen
        return events

    def _fail(self, declared: int, events: list) -> None:
        if declared < CRC_LEN:
            kind = TOO_SHORT
            why = "a declared length of %d cannot hold a CRC-32" % declared
        else:
            kind = OVERSIZED
            why = "a declared length of %d exceeds max_body %d + 4" % (declared, self.max_body)
        msg = "frame at byte %d: %s; the stream is out of step and cannot resynchronise"
        event = (kind, msg % (self._start, why))
        self.failed = event
        events.append(event)


# --- one end of a link ----------------------------------------------------------------------


class Framer:
    """Frames bodies for one end of a link, the device's or the host's: COBS on serial,
    length prefixes on a stream. ``encode`` makes a frame; ``decoder`` takes what arrives."""

    def __init__(self, serial: bool, max_body: int = DEFAULT_MAX_BODY) -> None:
        _check_limit(max_body)
        self.serial = serial
        self.max_body = max_body
        self.decoder: SerialDecoder | StreamDecoder = (
            SerialDecoder(max_body) if serial else StreamDecoder(max_body)
        )

    def encode(self, body: bytes) -> bytes:
        if self.serial:
            return encode_serial(body, self.max_body)
        return encode_stream(body, self.max_body)
