"""The sync protocol's messages: one registry of type codes, field keys, limits and error codes.

A message body is one deterministic CBOR map ``{0: type, key: value, ...}`` with small
integer keys. ``encode`` builds a body and ``decode`` checks one: the type is known, every
required field is there, no field is unknown, each value has its kind and range, and the
body is no larger than its type allows (and, for every type, than the negotiated max frame).
Framing (CRC, COBS, length prefixes) wraps these bodies later; nothing here knows about it.

Two exceptions, as h11 has them: ``LocalProtocolError`` when this side tries to send what
the protocol forbids (a bug in the caller), ``RemoteProtocolError`` when the peer sent it.
Both carry ``code``, one of the ``ERR_*`` codes below, which an ERROR message names.

There is no delete message, and never will be: nothing the protocol says removes footage.
"""

from protocol import cbor
from protocol.errors import DecodeError, EncodeError, ProtocolError
from protocol.registry import MAX_ID_LEN

PROTOCOL_VERSION = 1  # the version this code speaks
MIN_PROTOCOL_VERSION = 1  # older versions are refused (downgrade)
SUPPORTED_VERSIONS = (1,)

# Algorithms, by their COSE numbers (RFC 9053): both are required of every peer.
ALG_EDDSA = -8
ALG_SHA256 = -16
REQUIRED_ALGS = (ALG_EDDSA, ALG_SHA256)

NONCE_LEN = 16
MIN_FRAME = 1024  # every negotiated max frame is at least this: it holds any control message
MAX_FRAME = 65536  # and at most this, so a microcontroller can hold one frame in RAM
DEFAULT_MAX_FRAME = 16384
MAX_WINDOW = 32  # DATA messages in flight
DEFAULT_WINDOW = 8
MAX_HOST_KEYS = 8
MAX_TEXT = 200

# --- message types ------------------------------------------------------------------------
HELLO = 1  # both ways: versions, limits, algorithms, nonce; the device adds id, firmware, head
AUTH = 2  # each side's Ed25519 signature over the transcript of both HELLOs
STATUS_REQ = 3  # host asks for the device's status
STATUS = 4  # battery, free storage, clock, ledger head
TIME = 5  # host-signed current time, bound to this session
PULL = 6  # host asks for entries from a seq, or media bytes from an offset
DATA = 7  # device sends entries (or media bytes), at most a negotiated frame each
ACK = 8  # host states the next seq (or a media's next byte offset) it expects; cumulative
RECEIPT = 9  # host-signed: it holds a verified durable copy of entries through seq N
CONFIG = 10  # a protocol.hostconfig blob
PROVISION = 11  # factory mode only: host keys for the device to pin
PROVISIONED = 12  # factory mode only: the device's new public key, with proof of possession
OK = 13  # the device accepted a TIME, CONFIG or RECEIPT
ERROR = 14  # code and text; the sender closes the session
BYE = 15  # clean end of the session
GONE = 16  # device: a media pull it cannot serve (reason and text); it goes on to the next
# device: its own rules refused a TIME or CONFIG (code and why); unlike ERROR, the session
# goes on (a clock is not set while recording, yet the footage is still collected)
REFUSED = 17

TYPE_NAMES = {
    HELLO: "HELLO",
    AUTH: "AUTH",
    STATUS_REQ: "STATUS_REQ",
    STATUS: "STATUS",
    TIME: "TIME",
    PULL: "PULL",
    DATA: "DATA",
    ACK: "ACK",
    RECEIPT: "RECEIPT",
    CONFIG: "CONFIG",
    PROVISION: "PROVISION",
    PROVISIONED: "PROVISIONED",
    OK: "OK",
    ERROR: "ERROR",
    BYE: "BYE",
    GONE: "GONE",
    REFUSED: "REFUSED",
}

# --- why a media is gone (GONE's reason) --------------------------------------------------
# A GONE is an answer, not an error: the session goes on, and the host keeps the answer as
# evidence. The device tells the two apart by whether it still holds a file under that name.
GONE_NOT_FOUND = 1  # the device holds no such file: never written whole, or evicted
GONE_DAMAGED = 2  # it holds one, but cannot serve it intact (it no longer matches its hash)

GONE_NAMES = {
    GONE_NOT_FOUND: "not-found",
    GONE_DAMAGED: "damaged",
}

# --- error codes --------------------------------------------------------------------------
ERR_NONE = 0  # a clean close (BYE), never sent in an ERROR
ERR_PROTOCOL_VERSION = 1  # no common version, or only one older than MIN_PROTOCOL_VERSION
ERR_ALGORITHM = 2  # a required algorithm is missing from the peer's list
ERR_MALFORMED = 3  # not deterministic CBOR, or a field missing, unknown or out of range
ERR_UNKNOWN_TYPE = 4  # a message type this version does not define
ERR_UNEXPECTED = 5  # a known message in a state that does not allow it
ERR_UNKNOWN_DEVICE = 6  # the host has no enrolled key for this device (or it is unprovisioned)
ERR_UNTRUSTED_HOST = 7  # the host key is not among the keys pinned on the device
ERR_BAD_SIGNATURE = 8  # a signature does not verify (forged, or replayed from another session)
ERR_REPLAY = 9  # a signed config that is not newer than the last one applied
ERR_TOO_LARGE = 10  # a body above its type's limit or the negotiated max frame
ERR_BAD_OFFSET = 11  # a seq or byte offset that is not the one expected
ERR_NOT_FOUND = 12  # a thing asked for is not held (media the device lacks is a GONE, not this)
ERR_INTERNAL = 13  # this side failed (a store error, a bug); the peer did nothing wrong
ERR_MISMATCH = 14  # a hash the peer names is not the one this side holds (a RECEIPT's head)
ERR_REFUSED = 15  # the device's rules refused a TIME or CONFIG (in REFUSED, not in ERROR)

ERROR_NAMES = {
    ERR_NONE: "NONE",
    ERR_PROTOCOL_VERSION: "PROTOCOL_VERSION",
    ERR_ALGORITHM: "ALGORITHM",
    ERR_MALFORMED: "MALFORMED",
    ERR_UNKNOWN_TYPE: "UNKNOWN_TYPE",
    ERR_UNEXPECTED: "UNEXPECTED",
    ERR_UNKNOWN_DEVICE: "UNKNOWN_DEVICE",
    ERR_UNTRUSTED_HOST: "UNTRUSTED_HOST",
    ERR_BAD_SIGNATURE: "BAD_SIGNATURE",
    ERR_REPLAY: "REPLAY",
    ERR_TOO_LARGE: "TOO_LARGE",
    ERR_BAD_OFFSET: "BAD_OFFSET",
    ERR_NOT_FOUND: "NOT_FOUND",
    ERR_INTERNAL: "INTERNAL",
    ERR_MISMATCH: "MISMATCH",
    ERR_REFUSED: "REFUSED",
}

# --- field keys ---------------------------------------------------------------------------
K_TYPE = 0
K_VERSIONS = 1  # list of protocol versions the sender speaks
K_MAX_FRAME = 2  # largest body the sender accepts
K_WINDOW = 3  # DATA messages the sender lets be in flight
K_ALGS = 4  # COSE algorithm numbers the sender supports
K_NONCE = 5  # NONCE_LEN random bytes, fresh per session
K_DEVICE = 6  # device id (serial number), text
K_FIRMWARE = 7  # firmware version, text
K_HEAD_SEQ = 8  # the seq the device's next entry will get (= entries held)
K_HEAD_HASH = 9  # entry hash of the device's newest entry (zeros when it has none); in a
# RECEIPT, the entry hash at its through seq: the receipt binds the bytes the host holds
K_FACTORY = 10  # true: the device is in factory mode (no key yet)
K_KID = 11  # host key id, text
K_SIG = 12  # Ed25519 signature, 64 bytes
K_BATTERY = 13  # battery percent
K_STORAGE = 14  # free storage, bytes
K_CLOCK = 15  # wall clock, ms since the Unix epoch
K_SEQ = 16  # a ledger seq: PULL from, DATA first, ACK next expected
K_DIGEST = 17  # SHA-256 of a media file: PULL, DATA and ACK of a media pull
K_OFFSET = 18  # a byte offset in that media: PULL from, DATA at, ACK next expected
K_ENTRIES = 19  # encoded ledger entries, consecutive seqs
K_BYTES = 20  # media bytes
K_LAST = 21  # true on the last DATA of a pull
K_THROUGH = 22  # RECEIPT: entries through this seq are held durably by the host
K_CONFIG = 23  # a signed config (protocol.hostconfig)
K_HOST_KEYS = 24  # map host key id (text) -> 32-byte Ed25519 public key
K_PUBLIC = 25  # a 32-byte Ed25519 public key
K_CODE = 26  # an ERR_* code
K_TEXT = 27  # why, for a person reading the log
K_OF = 28  # OK, REFUSED: the type of the message accepted or refused
K_REASON = 29  # GONE: a GONE_* code
K_LOG_SIZE = 30  # RECEIPT: the size (leaves) of the host-log checkpoint that holds the entries
K_LOG_ROOT = 31  # RECEIPT: that checkpoint's Merkle root hash (RFC 6962)
K_LOG_ORIGIN = 32  # RECEIPT: that checkpoint's origin, naming the host's log (its store)

# Field kinds
_UINT = 0  # int in [lo, hi]
_INT = 1  # int in [lo, hi] (may be negative)
_BYTES = 2  # bytes, length in [lo, hi]
_TEXT = 3  # text, length in [lo, hi]
_BOOL = 4
_INTS = 5  # list of ints in [-2**31, 2**31), at most hi items
_BLOBS = 6  # list of non-empty bytes, at most hi items
_KEYS = 7  # map text id -> 32 bytes, at most hi pairs

_U63 = (1 << 63) - 1

# key: (name, kind, lo, hi)
FIELDS = {
    K_VERSIONS: ("versions", _INTS, 1, 8),
    K_MAX_FRAME: ("max_frame", _UINT, MIN_FRAME, MAX_FRAME),
    K_WINDOW: ("window", _UINT, 1, MAX_WINDOW),
    K_ALGS: ("algorithms", _INTS, 1, 8),
    K_NONCE: ("nonce", _BYTES, NONCE_LEN, NONCE_LEN),
    K_DEVICE: ("device", _TEXT, 1, MAX_ID_LEN),
    K_FIRMWARE: ("firmware", _TEXT, 0, 64),
    K_HEAD_SEQ: ("head_seq", _UINT, 0, _U63),
    K_HEAD_HASH: ("head_hash", _BYTES, 32, 32),
    K_FACTORY: ("factory", _BOOL, 0, 0),
    K_KID: ("kid", _TEXT, 1, MAX_ID_LEN),
    K_SIG: ("signature", _BYTES, 64, 64),
    K_BATTERY: ("battery", _UINT, 0, 100),
    K_STORAGE: ("storage", _UINT, 0, _U63),
    K_CLOCK: ("clock", _UINT, 0, _U63),
    K_SEQ: ("seq", _UINT, 0, _U63),
    K_DIGEST: ("digest", _BYTES, 32, 32),
    K_OFFSET: ("offset", _UINT, 0, _U63),
    K_ENTRIES: ("entries", _BLOBS, 0, 1024),
    K_BYTES: ("bytes", _BYTES, 0, MAX_FRAME),
    K_LAST: ("last", _BOOL, 0, 0),
    K_THROUGH: ("through_seq", _UINT, 0, _U63),
    K_CONFIG: ("config", _BYTES, 1, 2048),
    K_HOST_KEYS: ("host_keys", _KEYS, 1, MAX_HOST_KEYS),
    K_PUBLIC: ("public_key", _BYTES, 32, 32),
    K_CODE: ("code", _UINT, 1, 255),
    K_TEXT: ("text", _TEXT, 0, MAX_TEXT),
    K_OF: ("of", _UINT, 1, 255),
    K_REASON: ("reason", _UINT, GONE_NOT_FOUND, GONE_DAMAGED),
    K_LOG_SIZE: ("log_size", _UINT, 1, _U63),
    K_LOG_ROOT: ("log_root", _BYTES, 32, 32),
    K_LOG_ORIGIN: ("log_origin", _TEXT, 1, 100),
}

# type: (largest body in bytes, required fields, optional fields)
MESSAGES = {
    HELLO: (
        400,
        (K_VERSIONS, K_MAX_FRAME, K_WINDOW, K_ALGS, K_NONCE),
        (K_DEVICE, K_FIRMWARE, K_HEAD_SEQ, K_HEAD_HASH, K_FACTORY),
    ),
    AUTH: (160, (K_SIG,), (K_KID,)),
    STATUS_REQ: (8, (), ()),
    STATUS: (120, (K_BATTERY, K_STORAGE, K_CLOCK, K_HEAD_SEQ, K_HEAD_HASH), ()),
    TIME: (160, (K_CLOCK, K_KID, K_SIG), ()),
    PULL: (64, (), (K_SEQ, K_DIGEST, K_OFFSET)),
    DATA: (MAX_FRAME, (K_LAST,), (K_SEQ, K_ENTRIES, K_DIGEST, K_OFFSET, K_BYTES)),
    ACK: (64, (), (K_SEQ, K_DIGEST, K_OFFSET)),
    # 330 bytes at most: a 64-character kid, a 100-character origin, the largest seq and size.
    RECEIPT: (
        340,
        (K_THROUGH, K_HEAD_HASH, K_LOG_SIZE, K_LOG_ROOT, K_LOG_ORIGIN, K_KID, K_SIG),
        (),
    ),
    CONFIG: (2100, (K_CONFIG,), ()),
    PROVISION: (900, (K_HOST_KEYS,), ()),
    PROVISIONED: (120, (K_PUBLIC, K_SIG), ()),
    OK: (8, (K_OF,), ()),
    ERROR: (260, (K_CODE, K_TEXT), ()),
    BYE: (8, (), ()),
    # 245 bytes with the longest printable text; a text of wider characters is refused.
    GONE: (260, (K_DIGEST, K_REASON, K_TEXT), ()),
    REFUSED: (260, (K_OF, K_CODE, K_TEXT), ()),
}

# Types whose optional fields must form exactly one of these groups: ledger entries or media.
SHAPES = {
    PULL: ((K_SEQ,), (K_DIGEST, K_OFFSET)),
    DATA: ((K_SEQ, K_ENTRIES), (K_DIGEST, K_OFFSET, K_BYTES)),
    # A media ACK names its media: with pipelined pulls, DATA of two media may be in flight.
    ACK: ((K_SEQ,), (K_DIGEST, K_OFFSET)),
}

# Bytes a DATA body spends on everything but its payload, at most: the frame budget left
# for entries (each with a byte-string head of up to 5 bytes) or media bytes.
DATA_OVERHEAD = 64
ENTRY_OVERHEAD = 5


class LocalProtocolError(ProtocolError):
    """This side tried to do what the protocol forbids: a bug in the caller."""

    def __init__(self, text: str, code: int = ERR_INTERNAL) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol; ``code`` is what the ERROR message back will name."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__("%s: %s" % (ERROR_NAMES.get(code, str(code)), text))
        self.code = code
        self.text = text


def type_name(msg_type: int) -> str:
    return TYPE_NAMES.get(msg_type, "type %r" % (msg_type,))


def _field_problem(key: int, value: object) -> str:
    """Why ``value`` is not a valid field ``key``, or "" when it is."""
    name, kind, lo, hi = FIELDS[key]
    # One type() call on each path, in the test itself so that mypy narrows ``value``.
    if kind == _UINT or kind == _INT:
        if type(value) is not int or not lo <= value <= hi:
            return "%s must be an integer in %d..%d" % (name, lo, hi)
    elif kind == _BYTES:
        if type(value) is not bytes or not lo <= len(value) <= hi:
            return "%s must be %d..%d bytes" % (name, lo, hi)
    elif kind == _TEXT:
        if type(value) is not str or not lo <= len(value) <= hi:
            return "%s must be text of %d..%d characters" % (name, lo, hi)
    elif kind == _BOOL:
        if type(value) is not bool:
            return "%s must be true or false" % name
    elif kind == _INTS:
        if type(value) is not list or not lo <= len(value) <= hi:
            return "%s must be a list of %d..%d integers" % (name, lo, hi)
        for item in value:
            if type(item) is not int or not -(1 << 31) <= item < (1 << 31):
                return "%s must hold 32-bit integers" % name
    elif kind == _BLOBS:
        if type(value) is not list or not lo <= len(value) <= hi:
            return "%s must be a list of %d..%d byte strings" % (name, lo, hi)
        for item in value:
            if type(item) is not bytes or not item:
                return "%s must hold non-empty byte strings" % name
    elif kind == _KEYS:
        if type(value) is not dict or not lo <= len(value) <= hi:
            return "%s must be a map of %d..%d keys" % (name, lo, hi)
        for kid in value:
            if type(kid) is not str or not 1 <= len(kid) <= MAX_ID_LEN:
                return "%s ids must be text of 1..%d characters" % (name, MAX_ID_LEN)
            public = value[kid]
            if type(public) is not bytes or len(public) != 32:
                return "%s must map each id to a 32-byte public key" % name
    return ""


def _check(msg_type: int, fields: dict) -> tuple:
    """``(code, text)`` saying what is wrong with a message, or ``(ERR_NONE, "")``."""
    spec = MESSAGES.get(msg_type) if type(msg_type) is int else None
    if spec is None:
        return ERR_UNKNOWN_TYPE, "message type %r is not defined" % (msg_type,)
    _, required, optional = spec
    name = TYPE_NAMES[msg_type]
    for key in fields:
        if type(key) is not int or (key not in required and key not in optional):
            return ERR_MALFORMED, "field %r is not part of %s" % (key, name)
    for key in required:
        if key not in fields:
            return ERR_MALFORMED, "%s lacks its %s field" % (name, FIELDS[key][0])
    for key in fields:
        problem = _field_problem(key, fields[key])
        if problem:
            return ERR_MALFORMED, "%s: %s" % (name, problem)
    shapes = SHAPES.get(msg_type)
    if shapes is not None:
        present = [k for k in optional if k in fields]
        for group in shapes:
            if len(group) == len(present) and all(k in fields for k in group):
                break
        else:
            return ERR_MALFORMED, "%s must carry exactly one of the field sets %s" % (
                name,
                " or ".join("+".join(FIELDS[k][0] for k in g) for g in shapes),
            )
    return ERR_NONE, ""


def encode(msg_type: int, fields: "dict | None" = None, max_frame: int = MAX_FRAME) -> bytes:
    """The deterministic CBOR body of a message; LocalProtocolError if it breaks a rule."""
    fields = {} if fields is None else fields
    if K_TYPE in fields:
        raise LocalProtocolError("the type is given as msg_type, not as field 0", ERR_MALFORMED)
    code, text = _check(msg_type, fields)
    if code:
        raise LocalProtocolError(text, code)
    body_map = {K_TYPE: msg_type}
    for key in fields:
        body_map[key] = fields[key]
    try:
        body = cbor.dumps(body_map)
    except EncodeError as exc:
        raise LocalProtocolError(str(exc), ERR_MALFORMED) from None
    limit = min(MESSAGES[msg_type][0], max_frame)
    if len(body) > limit:
        raise LocalProtocolError(
            "a %s body of %d bytes exceeds its limit of %d"
            % (TYPE_NAMES[msg_type], len(body), limit),
            ERR_TOO_LARGE,
        )
    return body


# A media DATA body has one deterministic layout: {0: DATA, 17: digest (32 bytes), 18: offset,
# 20: bytes, 21: last}. Nearly every body of a sync is one, so ``_media_data`` reads that
# layout directly; whatever differs from it in any way is decoded in full, which gives the
# same fields for a body the shortcut accepts (tests compare the two).
_MEDIA_DATA_HEAD = b"\xa5\x00\x07\x11\x58\x20"  # map of 5, type DATA, digest: 32 bytes
_MEDIA_DATA_MIN = 43  # the head, the digest, and one byte for each of the rest


def _head_at(body: bytes, pos: int, major: int) -> "tuple | None":
    """``(argument, next position)`` of the CBOR head at ``pos`` when it is of ``major``
    type, in shortest form, and within ``body``; None otherwise."""
    if pos >= len(body):
        return None
    ib = body[pos]
    if ib >> 5 != major:
        return None
    ai = ib & 0x1F
    if ai < 24:
        return ai, pos + 1
    if ai > 27:
        return None
    size = 1 << (ai - 24)
    end = pos + 1 + size
    if end > len(body):
        return None
    n = int.from_bytes(body[pos + 1 : end], "big")
    if n < (24 if size == 1 else 1 << (4 * size)):
        return None
    return n, end


def _media_data(body: bytes) -> "dict | None":
    """The fields of a media DATA body in its usual layout, or None to decode it in full."""
    size = len(body)
    if size < _MEDIA_DATA_MIN or size > MESSAGES[DATA][0] or body[:6] != _MEDIA_DATA_HEAD:
        return None
    if body[38] != K_OFFSET:
        return None
    offset = _head_at(body, 39, 0)
    if offset is None or offset[0] > _U63 or offset[1] >= size or body[offset[1]] != K_BYTES:
        return None
    length = _head_at(body, offset[1] + 1, 2)
    if length is None or length[0] > MAX_FRAME:
        return None
    start = length[1]
    stop = start + length[0]
    if stop + 2 != size or body[stop] != K_LAST or body[stop + 1] not in (0xF4, 0xF5):
        return None
    return {
        K_DIGEST: body[6:38],
        K_OFFSET: offset[0],
        K_BYTES: body[start:stop],
        K_LAST: body[stop + 1] == 0xF5,
    }


def _uint_head(major: int, n: int) -> bytes:
    """A CBOR head in shortest form (``n`` is a checked non-negative integer below 2**64)."""
    mt = major << 5
    if n < 24:
        return bytes((mt | n,))
    if n < 0x100:
        return bytes((mt | 24, n))
    if n < 0x10000:
        return bytes((mt | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((mt | 26,)) + n.to_bytes(4, "big")
    return bytes((mt | 27,)) + n.to_bytes(8, "big")


def encode_media_data(
    digest: bytes, offset: int, data: bytes, last: bool, max_frame: int = MAX_FRAME
) -> bytes:
    """``encode(DATA, {K_DIGEST: digest, K_OFFSET: offset, K_BYTES: data, K_LAST: last})``,
    the same bytes, written straight into the one layout a media DATA has (the device sends
    one per frame of media, so the general encoder's walk over the map is worth skipping)."""
    if type(digest) is not bytes or len(digest) != 32:
        raise LocalProtocolError("DATA: digest must be 32 bytes", ERR_MALFORMED)
    if type(offset) is not int or not 0 <= offset <= _U63:
        raise LocalProtocolError("DATA: offset must be an integer in 0..%d" % _U63, ERR_MALFORMED)
    if type(data) is not bytes or len(data) > MAX_FRAME:
        raise LocalProtocolError("DATA: bytes must be 0..%d bytes" % MAX_FRAME, ERR_MALFORMED)
    body = b"".join(
        (
            _MEDIA_DATA_HEAD,
            digest,
            bytes((K_OFFSET,)),
            _uint_head(0, offset),
            bytes((K_BYTES,)),
            _uint_head(2, len(data)),
            data,
            b"\x15\xf5" if last else b"\x15\xf4",  # K_LAST: true or false
        )
    )
    limit = min(MESSAGES[DATA][0], max_frame)
    if len(body) > limit:
        raise LocalProtocolError(
            "a DATA body of %d bytes exceeds its limit of %d" % (len(body), limit), ERR_TOO_LARGE
        )
    return body


def decode(body: bytes, max_frame: int = MAX_FRAME) -> tuple:
    """``(type, fields)`` of a received body (fields without key 0); RemoteProtocolError
    with the code to answer with when it is not a valid message."""
    if type(body) is not bytes:
        raise RemoteProtocolError(ERR_MALFORMED, "a message body must be bytes")
    if len(body) > max_frame:
        raise RemoteProtocolError(
            ERR_TOO_LARGE, "a body of %d bytes exceeds the max frame %d" % (len(body), max_frame)
        )
    fields = _media_data(body)
    if fields is not None:
        return DATA, fields
    return decode_in_full(body)


def decode_in_full(body: bytes) -> tuple:
    """``decode`` without its shortcut for media DATA (the max frame already checked)."""
    try:
        value = cbor.loads(body, 3)
    except DecodeError as exc:
        raise RemoteProtocolError(ERR_MALFORMED, "not deterministic CBOR: %s" % exc) from None
    if type(value) is not dict:
        raise RemoteProtocolError(ERR_MALFORMED, "a message is a CBOR map with its type at key 0")
    for key in value:
        # false and 0 are one Python key: only integer keys may stand for field numbers
        if type(key) is not int:
            raise RemoteProtocolError(ERR_MALFORMED, "field key %r is not an integer" % (key,))
    if type(value.get(K_TYPE)) is not int:
        raise RemoteProtocolError(ERR_MALFORMED, "a message is a CBOR map with its type at key 0")
    fields = dict(value)
    msg_type = fields.pop(K_TYPE)
    code, text = _check(msg_type, fields)
    if code:
        raise RemoteProtocolError(code, text)
    limit = MESSAGES[msg_type][0]
    if len(body) > limit:
        raise RemoteProtocolError(
            ERR_TOO_LARGE,
            "a %s body of %d bytes exceeds its limit of %d"
            % (TYPE_NAMES[msg_type], len(body), limit),
        )
    return msg_type, fields
