"""Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding), for MicroPython and CPython.

``dumps`` writes the one deterministic encoding of a value: shortest heads, definite lengths,
map keys sorted by their encoded bytes, floats in the shortest form that keeps their value.
``loads`` reads only that encoding: anything another encoder could have written differently
(a long head, an indefinite length, unsorted or repeated keys, a wide float) is refused, as
is truncated, oversized or too deeply nested input. Declared lengths are checked against the
bytes actually present before anything is allocated, so input cannot make it allocate more
than its own size.

Python types: int, bool, None, bytes (bytearray and memoryview encode as bytes), str,
list and tuple (arrays), dict (maps), float, and ``Tag``. Integers outside 64 bits use the
bignum tags 2 and 3, as RFC 8949 §3.4.3 prescribes.
"""

import struct
import sys

from protocol.errors import DecodeError, EncodeError, TruncatedError

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Collection

DEFAULT_MAX_DEPTH = 32

_UINT64_LIMIT = 1 << 64
# MicroPython decodes overlong forms, surrogates and code points above U+10FFFF without
# complaint, so there the decoder checks UTF-8 itself; CPython's decoder is already strict.
_LAX_UTF8 = sys.implementation.name == "micropython"
_NAN = b"\xf9\x7e\x00"


class Tag:
    """A tagged data item (major type 6): tag number and content."""

    def __init__(self, tag: int, value: object) -> None:
        self.tag = tag
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tag) and other.tag == self.tag and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.tag)

    def __repr__(self) -> str:
        return "Tag(%d, %r)" % (self.tag, self.value)


# --- encoding -------------------------------------------------------------------------------


def _head(out: bytearray, major: int, n: int) -> None:
    mt = major << 5
    if n < 24:
        out.append(mt | n)
    elif n < 0x100:
        out.append(mt | 24)
        out.append(n)
    elif n < 0x10000:
        out.extend(struct.pack(">BH", mt | 25, n))
    elif n < 0x100000000:
        out.extend(struct.pack(">BI", mt | 26, n))
    else:
        out.extend(struct.pack(">BQ", mt | 27, n))


def _float_bytes(x: float) -> bytes:
    """The shortest of half, single and double precision that holds ``x`` exactly."""
    if x != x:
        return _NAN
    try:
        half = struct.pack(">e", x)
        if struct.unpack(">e", half)[0] == x:
            return b"\xf9" + half
    except OverflowError:
        pass
    try:
        single = struct.pack(">f", x)
        if struct.unpack(">f", single)[0] == x:
            return b"\xfa" + single
    except OverflowError:
        pass
    return b"\xfb" + struct.pack(">d", x)


def _encode_int(out: bytearray, n: int) -> None:
    if n >= 0:
        if n < _UINT64_LIMIT:
            _head(out, 0, n)
            return
        tag = 2
    else:
        n = -1 - n
        if n < _UINT64_LIMIT:
            _head(out, 1, n)
            return
        tag = 3
    _head(out, 6, tag)
    size = 9  # n >= 2**64 here; MicroPython ints have no bit_length()
    while n >> (8 * size):
        size += 1
    raw = n.to_bytes(size, "big")
    _head(out, 2, len(raw))
    out.extend(raw)


def _encode(out: bytearray, obj: object, depth: int) -> None:
    if depth > DEFAULT_MAX_DEPTH:
        raise EncodeError(
            "value is nested deeper than %d levels" % DEFAULT_MAX_DEPTH,
            "cbor.encode_too_deep",
            levels=DEFAULT_MAX_DEPTH,
        )
    # Exact types, not isinstance: a subclass of str, bytes, list or dict is refused. Each
    # test calls type() itself rather than comparing a saved type, since only then does mypy
    # narrow ``obj``; it measured no slower on CPython or MicroPython.
    if obj is False:
        out.append(0xF4)
    elif obj is True:
        out.append(0xF5)
    elif obj is None:
        out.append(0xF6)
    elif type(obj) is int:
        _encode_int(out, obj)
    elif type(obj) is bytes or type(obj) is bytearray or type(obj) is memoryview:
        _head(out, 2, len(obj))
        out.extend(obj)
    elif type(obj) is str:
        raw = obj.encode()
        _head(out, 3, len(raw))
        out.extend(raw)
    elif type(obj) is list or type(obj) is tuple:
        _head(out, 4, len(obj))
        for item in obj:
            _encode(out, item, depth + 1)
    elif type(obj) is dict:
        _encode_map(out, obj, depth)
    elif type(obj) is float:
        out.extend(_float_bytes(obj))
    elif type(obj) is Tag:
        if not 0 <= obj.tag < _UINT64_LIMIT:
            raise EncodeError(
                "tag number %d is outside 0..2^64-1" % obj.tag, "cbor.encode_tag", tag=obj.tag
            )
        _head(out, 6, obj.tag)
        _encode(out, obj.value, depth + 1)
    elif isinstance(obj, int):
        _encode_int(out, int(obj))
    else:
        name = type(obj).__name__
        raise EncodeError(
            "cannot encode a value of type %s as CBOR" % name, "cbor.encode_type", type=name
        )


def _encode_map(out: bytearray, obj: dict, depth: int) -> None:
    _head(out, 5, len(obj))
    keys = list(obj)
    if all(type(k) is int and k >= 0 for k in keys):
        # Unsigned keys (every ledger map): numeric order is the order of their encodings.
        keys.sort()
        for key in keys:
            _encode_int(out, key)
            _encode(out, obj[key], depth + 1)
        return
    items = []
    for key in keys:
        buf = bytearray()
        _encode(buf, key, depth + 1)
        items.append((bytes(buf), key))
    items.sort(key=_first)
    previous = b""
    for encoded, key in items:
        if encoded == previous:
            raise EncodeError(
                "map has two keys with the same encoding %s" % encoded.hex(),
                "cbor.encode_same_key",
                key=encoded.hex(),
            )
        previous = encoded
        out.extend(encoded)
        _encode(out, obj[key], depth + 1)


def _first(pair: tuple) -> bytes:
    return pair[0]


def bstr_head(n: int) -> bytes:
    """The head of a byte string of length ``n``: for building encodings piece by piece."""
    # The lengths an entry's parts have, without the general encoder (a hot path).
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return bytes((0x59, n >> 8, n & 0xFF))
    out = bytearray()
    _head(out, 2, n)
    return bytes(out)


def dumps(obj: object) -> bytes:
    """Encode ``obj`` as deterministic CBOR."""
    out = bytearray()
    _encode(out, obj, 0)
    return bytes(out)


# --- decoding -------------------------------------------------------------------------------


def diagnostic(value: object) -> str:
    """A decoded value in CBOR's diagnostic notation (RFC 8949 §8: 1, "text", h'00ff', true,
    null, [1, 2]): the same words in any language, where Python's repr would say True, None or
    b'..' inside a line a person reads."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is bytes:
        return "h'%s'" % value.hex()
    if type(value) is str:
        return '"%s"' % value
    if type(value) is list:
        return "[%s]" % ", ".join([diagnostic(v) for v in value])
    if type(value) is dict:
        return "{%s}" % ", ".join([diagnostic(k) + ": " + diagnostic(v) for k, v in value.items()])
    if type(value) is Tag:
        return "%d(%s)" % (value.tag, diagnostic(value.value))
    return str(value)


_MAJOR_NAMES = ("unsigned", "negative", "bytes", "text", "array", "map", "tag", "simple")
# What additional information 31 says, per major type: an indefinite length where one may
# be written (refused here), malformed bytes where none may (unsigned, negative, tag), and in
# major type 7 the break code (0xff), which only ends an indefinite-length item.
_INDEFINITE = (
    "an unsigned integer with additional information 31 is malformed",
    "a negative integer with additional information 31 is malformed",
    "indefinite-length bytes is not deterministic",
    "indefinite-length text is not deterministic",
    "indefinite-length array is not deterministic",
    "indefinite-length map is not deterministic",
    "a tag with additional information 31 is malformed",
    "a break code (0xff) with no indefinite-length item to end",
)
# The message id of "input ends inside WHAT", per what (the host's catalogue, cbor.*): an id
# of each, so that no field holds English words.
_ENDS_INSIDE = {
    "an integer argument": "cbor.ends_in_argument",
    "a byte string": "cbor.ends_in_bytes",
    "a text string": "cbor.ends_in_text",
    "a float": "cbor.ends_in_float",
}


class _Reader:
    """Cursor over the input; every read checks that the bytes are there."""

    def __init__(self, data: bytes, pos: int, end: int, max_depth: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.max_depth = max_depth

    def take(self, n: int, what: str) -> bytes:
        start = self.pos
        stop = start + n
        if stop > self.end:
            left = self.end - start
            raise TruncatedError(
                "input ends inside %s: %d bytes needed, %d left" % (what, n, left),
                start,
                _ENDS_INSIDE.get(what, ""),
                needed=n,
                left=left,
            )
        self.pos = stop
        return self.data[start:stop]

    def head(self) -> tuple:
        """Read an initial byte and its argument: (major, additional info, argument, start)."""
        start = self.pos
        if start >= self.end:
            raise TruncatedError(
                "input ends where a data item should start", start, "cbor.ends_before_item"
            )
        ib = self.data[start]
        self.pos = start + 1
        major = ib >> 5
        ai = ib & 0x1F
        if ai < 24:
            return major, ai, ai, start
        if ai == 31:
            kind = _MAJOR_NAMES[major]
            raise DecodeError(_INDEFINITE[major], start, "cbor.indefinite_" + kind)
        if ai > 27:
            raise DecodeError(
                "reserved additional information %d" % ai, start, "cbor.reserved_info", info=ai
            )
        if major == 7:
            return major, ai, 0, start
        size = 1 << (ai - 24)
        arg = int.from_bytes(self.take(size, "an integer argument"), "big")
        if arg < (24 if size == 1 else 1 << (4 * size)):
            raise DecodeError(
                "argument %d is not in its shortest form" % arg,
                start,
                "cbor.long_argument",
                value=arg,
            )
        return major, ai, arg, start


def _decode(r: _Reader, depth: int) -> object:
    if depth > r.max_depth:
        raise DecodeError(
            "nesting deeper than %d levels" % r.max_depth,
            r.pos,
            "cbor.too_deep",
            levels=r.max_depth,
        )
    major, ai, arg, start = r.head()
    if major == 0:
        return arg
    if major == 1:
        return -1 - arg
    if major == 2:
        return bytes(r.take(arg, "a byte string"))
    if major == 3:
        raw = r.take(arg, "a text string")
        if _LAX_UTF8 and not _valid_utf8(raw):
            raise DecodeError("text string is not valid UTF-8", start, "cbor.not_utf8")
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeError:
            raise DecodeError("text string is not valid UTF-8", start, "cbor.not_utf8") from None
    if major == 4:
        if arg > r.end - r.pos:
            raise TruncatedError(
                "array of %d items is longer than the input" % arg,
                start,
                "cbor.array_past_end",
                count=arg,
            )
        return [_decode(r, depth + 1) for _ in range(arg)]
    if major == 5:
        return _decode_map(r, arg, start, depth)
    if major == 6:
        return _decode_tag(r, arg, start, depth)
    return _decode_simple(r, ai, start)


def _valid_utf8(raw: bytes) -> bool:
    """Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF."""
    i = 0
    n = len(raw)
    while i < n:
        b = raw[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            need, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= b <= 0xEF:
            need = 2
            lo, hi = (0xA0, 0xBF) if b == 0xE0 else (0x80, 0x9F) if b == 0xED else (0x80, 0xBF)
        elif 0xF0 <= b <= 0xF4:
            need = 3
            lo, hi = (0x90, 0xBF) if b == 0xF0 else (0x80, 0x8F) if b == 0xF4 else (0x80, 0xBF)
        else:
            return False
        if i + need >= n:
            return False
        c = raw[i + 1]
        if not lo <= c <= hi:
            return False
        for j in range(i + 2, i + need + 1):
            if not 0x80 <= raw[j] <= 0xBF:
                return False
        i += need + 1
    return True


def _decode_map(r: _Reader, count: int, start: int, depth: int) -> dict:
    if 2 * count > r.end - r.pos:
        raise TruncatedError(
            "map of %d pairs is longer than the input" % count,
            start,
            "cbor.map_past_end",
            count=count,
        )
    result: dict = {}
    previous = b""
    for _ in range(count):
        key_start = r.pos
        key = _decode(r, depth + 1)
        encoded_key = bytes(r.data[key_start : r.pos])
        if encoded_key <= previous:
            repeated = encoded_key == previous
            what = "repeated" if repeated else "not in deterministic order"
            raise DecodeError(
                "map key %s is %s" % (diagnostic(key), what),
                key_start,
                "cbor.key_repeated" if repeated else "cbor.key_order",
                key=diagnostic(key),
            )
        previous = encoded_key
        if type(key) in (list, dict):
            raise DecodeError(
                "map keys that are arrays or maps are not supported",
                key_start,
                "cbor.key_container",
            )
        if key in result:
            # 1, 1.0 and True are different CBOR but one Python key: keep neither silently.
            raise DecodeError(
                "map key %s collides with an earlier key" % diagnostic(key),
                key_start,
                "cbor.key_collides",
                key=diagnostic(key),
            )
        result[key] = _decode(r, depth + 1)
    return result


def _decode_tag(r: _Reader, tag: int, start: int, depth: int) -> object:
    value = _decode(r, depth + 1)
    if tag == 2 or tag == 3:
        if type(value) is not bytes:
            raise DecodeError(
                "bignum tag %d must hold a byte string" % tag, start, "cbor.bignum_type", tag=tag
            )
        if not value or value[0] == 0:
            raise DecodeError("bignum has leading zero bytes", start, "cbor.bignum_zeros")
        n = int.from_bytes(value, "big")
        if n < _UINT64_LIMIT:
            raise DecodeError(
                "bignum %d fits in 64 bits and must be a plain integer" % n,
                start,
                "cbor.bignum_small",
                value=n,
            )
        return n if tag == 2 else -1 - n
    return Tag(tag, value)


def _decode_simple(r: _Reader, ai: int, start: int) -> object:
    if ai == 20:
        return False
    if ai == 21:
        return True
    if ai == 22:
        return None
    if 25 <= ai <= 27:
        size = 1 << (ai - 24)
        raw = r.take(size, "a float")
        value = struct.unpack((">e", ">f", ">d")[ai - 25], raw)[0]
        if _float_bytes(value) != bytes(r.data[start : r.pos]):
            raise DecodeError("float is not in its shortest form", start, "cbor.long_float")
        return value
    raise DecodeError("simple value %d is not supported" % ai, start, "cbor.simple", value=ai)


def decode_item(
    data: bytes, offset: int = 0, max_depth: int = DEFAULT_MAX_DEPTH, end: int = -1
) -> tuple:
    """Decode the one data item that starts at ``offset``; return ``(value, end_offset)``.

    ``end``, if given, is where the input stops for this item: the bytes after it are not
    read, as though they were not there.
    """
    r = _Reader(data, offset, len(data) if end < 0 else end, max_depth)
    value = _decode(r, 0)
    return value, r.pos


def read_head(data: bytes, offset: int, end: int) -> tuple:
    """Read only the head of the item at ``offset``: ``(major, argument, offset after it)``.

    For a byte or text string the argument is its length and the content is not read, so a
    caller can check a structure's shape without copying what it holds.
    """
    r = _Reader(data, offset, end, DEFAULT_MAX_DEPTH)
    major, ai, arg, _start = r.head()
    if major == 7:
        arg = ai
    return major, arg, r.pos


def loads(data: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Decode ``data``, which must be exactly one deterministic CBOR data item."""
    value, end = decode_item(data, 0, max_depth)
    if end != len(data):
        count = len(data) - end
        raise DecodeError(
            "%d bytes follow the data item" % count, end, "cbor.bytes_after", count=count
        )
    return value


# --- the CPython speed-up: loads_fast -------------------------------------------------------
# cbor2's C decoder reads any well-formed CBOR, deterministic or not, and turns some tags
# into other types. Its result is taken only when it holds nothing but integers, strings,
# byte strings, booleans, None, arrays and maps whose keys are unsigned integers in
# increasing order (for those keys the deterministic order is the numeric one), nested no
# deeper than the portable decoder allows, and when cbor2's encoding of it (shortest
# heads, definite lengths, keys in the order read) gives back exactly the input. Then the
# input is the one deterministic encoding of that value, which is what the portable
# decoder accepts and returns. Anything else (an error, a float, a tag, other keys, a
# different encoding) goes to the portable decoder, which gives the verdict and message.

try:
    from cbor2 import dumps as _native_dumps
    from cbor2 import loads as _native_decode

    HAVE_NATIVE = True
except ImportError:
    HAVE_NATIVE = False

_NOT_NATIVE = object()


def loads_fast(data: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """``loads``, with the same results, faster on CPython: a ledger payload's shape in one
    inline pass (``_shallow_loads``), anything else through cbor2's C decoder when it is
    installed, and what neither takes through ``loads`` itself.

    The same values, errors and messages as ``loads``, several times faster on CPython.
    One difference: cbor2 may allocate up to its read chunk (64 KiB) for a declared
    length that the input does not hold, where ``loads`` allocates nothing beyond the
    input's size; so this is for inputs already bounded, such as one ledger entry.
    """
    if _SHALLOW:
        value = _shallow_loads(data, max_depth)
        if value is not _NOT_NATIVE:
            return value
    if HAVE_NATIVE:
        value = _native_loads(data, max_depth)
        if value is not _NOT_NATIVE:
            return value
    return loads(data, max_depth)


def _native_loads(data: bytes, max_depth: int) -> object:
    try:
        value = _native_decode(data)
        if not _plain(value, 0, max_depth):
            return _NOT_NATIVE
        if _native_dumps(value) != data:
            return _NOT_NATIVE
    except Exception:  # whatever cbor2 raises, the portable decoder gives the verdict
        return _NOT_NATIVE
    return value


_LEAF_TYPES = {int, bytes, str, bool, type(None)}


def _plain(value: object, depth: int, max_depth: int) -> bool:
    if depth > max_depth:
        return False
    items: Collection[object]
    # Maps first: a payload is one. ``type(value) is ...`` in each test lets mypy narrow.
    if type(value) is dict:
        keys = list(value)
        # Unsigned keys in increasing order: the deterministic order, as read.
        if keys and (set(map(type, keys)) != {int} or keys[0] < 0 or keys != sorted(keys)):
            return False
        items = value.values()
    elif type(value) is list:
        items = value
    else:
        return type(value) in _LEAF_TYPES
    if depth == max_depth:
        return not value  # anything inside would sit deeper than the limit
    # The types are gathered in C; only containers inside are walked one by one.
    if set(map(type, items)) <= _LEAF_TYPES:
        return True
    for item in items:
        if type(item) not in _LEAF_TYPES and not _plain(item, depth + 1, max_depth):
            return False
    return True


# --- the shallow path: one pass for a ledger payload's shape --------------------------------
# A ledger entry's payload is a map of unsigned keys to integers, strings and arrays of
# byte strings. For that shape one pass over the heads, written out inline, is cheaper
# than cbor2's decoding plus the re-encoding that proves it deterministic. It takes the
# input only when every head is in its shortest form with a definite length, the keys are
# unsigned and strictly increasing, the values are integers, byte or text strings (valid
# UTF-8), false, true, null or arrays of those, and the item ends exactly at the input's
# end: exactly the encodings of this shape that ``loads`` accepts, with the values it
# gives. Anything else (a nested map, a tag, a float, any error) goes on to the other
# paths, which give the verdict and the message. CPython only: MicroPython's lax UTF-8
# decoding and lack of stepped slices would need their own checks.

_SHALLOW = not _LAX_UTF8


def _long_arg(data: bytes, p: int, ai: int) -> tuple:
    """The 1, 2, 4 or 8-byte argument at ``p``: ``(arg, p after it)``; arg -1 if it is
    not in its shortest form or the input ends."""
    stop = p + (1 << (ai - 24))
    if ai > 27 or stop > len(data):
        return -1, p
    arg = int.from_bytes(data[p:stop], "big")
    if arg < (24 if ai == 24 else 1 << (4 << (ai - 24))):
        return -1, p
    return arg, stop


def _shallow_loads(data: bytes, max_depth: int) -> object:
    if type(data) is not bytes or max_depth < 2 or not data or data[0] >> 5 != 5:
        return _NOT_NATIVE
    n = len(data)
    count = data[0] & 0x1F
    p = 1
    if count >= 24:
        count, p = _long_arg(data, 1, count)
        if count < 0:
            return _NOT_NATIVE
    result: dict = {}
    last = -1
    try:
        for _ in range(count):
            key = data[p]
            p += 1
            if key >= 24:
                if key == 24 and data[p] >= 24:
                    key = data[p]
                    p += 1
                elif key >= 0x20:
                    return _NOT_NATIVE  # not an unsigned key
                else:
                    key, p = _long_arg(data, p, key)
            if key <= last:
                return _NOT_NATIVE  # out of order, repeated, or a long head
            last = key
            b = data[p]
            p += 1
            major = b >> 5
            arg = b & 0x1F
            if major == 7:
                if arg == 20:
                    result[key] = False
                elif arg == 21:
                    result[key] = True
                elif arg == 22:
                    result[key] = None
                else:
                    return _NOT_NATIVE
                continue
            if arg >= 24:
                if arg == 24 and data[p] >= 24:
                    arg = data[p]
                    p += 1
                else:
                    arg, p = _long_arg(data, p, arg)
                    if arg < 0:
                        return _NOT_NATIVE
            if major == 0:
                result[key] = arg
            elif major == 2:
                stop = p + arg
                if stop > n:
                    return _NOT_NATIVE
                result[key] = data[p:stop]
                p = stop
            elif major == 3:
                stop = p + arg
                if stop > n:
                    return _NOT_NATIVE
                result[key] = data[p:stop].decode()
                p = stop
            elif major == 1:
                result[key] = -1 - arg
            elif major == 4:
                items, p = _shallow_array(data, p, arg)
                if items is None:
                    return _NOT_NATIVE
                result[key] = items
            else:
                return _NOT_NATIVE
    except (IndexError, UnicodeError):
        return _NOT_NATIVE
    if p != n:
        return _NOT_NATIVE
    return result


def _shallow_array(data: bytes, p: int, count: int) -> tuple:
    """An array's ``count`` items from ``p``: ``(list, p after it)``, or ``(None, p)``."""
    n = len(data)
    if count > 1 and data[p] == 0x58:
        # Byte strings of one length from 24 to 255 bytes (frame digests): their heads
        # sit at a fixed stride and are checked two stepped slices at a time.
        size = data[p + 1]
        step = size + 2
        stop = p + count * step
        if (
            size >= 24
            and stop <= n
            and data[p:stop:step] == b"\x58" * count
            and data[p + 1 : stop : step] == bytes((size,)) * count
        ):
            return [data[q : q + size] for q in range(p + 2, stop, step)], stop
    items: list = []
    for _ in range(count):
        b = data[p]
        p += 1
        major = b >> 5
        arg = b & 0x1F
        if major == 7:
            if arg == 20:
                items.append(False)
            elif arg == 21:
                items.append(True)
            elif arg == 22:
                items.append(None)
            else:
                return None, p
            continue
        if arg >= 24:
            arg, p = _long_arg(data, p, arg)
            if arg < 0:
                return None, p
        if major == 0:
            items.append(arg)
        elif major == 2 or major == 3:
            stop = p + arg
            if stop > n:
                return None, p
            items.append(data[p:stop] if major == 2 else data[p:stop].decode())
            p = stop
        elif major == 1:
            items.append(-1 - arg)
        else:
            return None, p
    return items, p
