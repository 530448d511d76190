"""The bounds of every ledger entry field, in one table, and the check that applies them.

``protocol.registry`` numbers the fields; this table says what each may hold: its kind and
range, which fields each entry kind requires and which it may carry. ``entry_problem`` says
what is wrong with an entry's payload, or "" when nothing is. The host checks every entry
it is sent before using any field (a validly signed entry with a field out of range must
not reach the store or a report), the verifier reports such an entry as a finding, and the
device's ledger writer keeps to ``MAX_UNSIGNED_RUN``.

The bounds are wide: they refuse what no sane recorder writes (a 5-byte hash, a time past
2^63 ms, a negative length), not what one recorder happens not to write today. Codes the
host only reports (event, pause reason, media type) may be numbers this registry does not
name yet; the compliance check flags those. Codes that change how the host reads an entry
(its kind, the cipher) must be known.
"""

from protocol.registry import (
    CIPHER_SEALED_BOX,
    F_BOOT,
    F_CHUNK_INDEX,
    F_CIPHER_ALG,
    F_CIPHER_SHA,
    F_DETAIL,
    F_DEVICE,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_GPS,
    F_KIND,
    F_MEDIA_TYPE,
    F_MONO_MS,
    F_OFFICER,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_PREV,
    F_REASON,
    F_RECORDING,
    F_SEQ,
    F_SPOKEN,
    F_START_MS,
    F_VERSION,
    F_WALL_MS,
    FORMAT_VERSION,
    HASH_LEN,
    KIND_CHUNK,
    KIND_EVENT,
    MAX_ID_LEN,
)

U63 = (1 << 63) - 1  # times, seqs and counts: what a signed 64-bit SQLite integer holds
# device and officer ids, characters: the sync protocol's own limit for a device id
MAX_ID = MAX_ID_LEN
MAX_RECORDING_ID = 32  # bytes; the recorder writes 8
MIN_FRAME_DIGEST = 16  # protocol.frames cuts SHA-256 to 16 bytes; a whole one is 32
MAX_FRAMES = 4096  # frame digests in one chunk: minutes of 30 fps video, far past a chunk
MAX_MEDIA_LEN = 1 << 40  # one chunk's plaintext, bytes: 1 TiB, past any recorder's card
MAX_CODE = 0xFFFF  # event, reason and media codes: room for the registry to grow
MAX_DETAIL_KEYS = 64  # pairs in an event's detail map
MAX_DETAIL_TEXT = 4096  # characters of a detail text (a no-record note is at most 1000)
MAX_DETAIL_BYTES = 1024  # bytes of a detail byte string (digests are 32)
MAX_DETAIL_LIST = 4096  # items of a detail list (an eviction's digests)
# Unsigned entries in a row that a reader holds waiting for the signature that covers them.
# The signing cadence (protocol.cadence) signs at least every 64th entry; four times that
# leaves room for a slow board and keeps what a host holds for one device small (with
# MAX_UNSIGNED_BYTES), whatever a peer sends.
MAX_UNSIGNED_RUN = 256
MAX_UNSIGNED_BYTES = 4 << 20  # and their bytes: a few KiB each at most for a real recorder

# Field kinds
_UINT = 0  # int in [lo, hi]
_BYTES = 1  # bytes, length in [lo, hi]
_TEXT = 2  # text, length in [lo, hi]
_CODE = 3  # int in a tuple of allowed values (lo)
_DIGESTS = 4  # list of at most hi byte strings, each MIN_FRAME_DIGEST..HASH_LEN bytes
_GPS = 5  # [lat_e7, lon_e7, accuracy_m]
_DETAIL = 6  # map of text (or integer) keys to detail values (see _detail_problem)
_INT = 7  # int in [lo, hi], may be negative

# key: (name, kind, lo, hi)
ENTRY_FIELDS = {
    F_VERSION: ("format version", _CODE, (FORMAT_VERSION,), 0),
    F_DEVICE: ("device id", _TEXT, 1, MAX_ID),
    F_SEQ: ("seq", _UINT, 0, U63),
    F_PREV: ("prev", _BYTES, HASH_LEN, HASH_LEN),
    F_WALL_MS: ("wall_ms", _UINT, 0, U63),
    F_MONO_MS: ("mono_ms", _UINT, 0, U63),
    F_BOOT: ("boot counter", _UINT, 0, U63),
    F_KIND: ("kind", _CODE, (KIND_CHUNK, KIND_EVENT), 0),
    F_RECORDING: ("recording id", _BYTES, 1, MAX_RECORDING_ID),
    F_CHUNK_INDEX: ("chunk index", _UINT, 0, U63),
    F_START_MS: ("start_ms", _UINT, 0, U63),
    F_END_MS: ("end_ms", _UINT, 0, U63),
    F_FRAME_HASHES: ("frame digests", _DIGESTS, 0, MAX_FRAMES),
    F_MEDIA_TYPE: ("media type", _UINT, 1, MAX_CODE),
    F_PLAIN_LEN: ("plain_len", _UINT, 0, MAX_MEDIA_LEN),
    F_PLAIN_SHA: ("plain_sha", _BYTES, HASH_LEN, HASH_LEN),
    F_CIPHER_SHA: ("cipher_sha", _BYTES, HASH_LEN, HASH_LEN),
    F_CIPHER_ALG: ("cipher", _CODE, (CIPHER_SEALED_BOX,), 0),
    F_GPS: ("position", _GPS, 0, 0),
    F_EVENT: ("event", _UINT, 1, MAX_CODE),
    F_REASON: ("reason", _UINT, 0, MAX_CODE),
    F_SPOKEN: ("spoken reason", _BYTES, HASH_LEN, HASH_LEN),
    F_DETAIL: ("detail", _DETAIL, 0, MAX_DETAIL_KEYS),
    F_OFFICER: ("officer id", _TEXT, 1, MAX_ID),
}

_COMMON = (F_VERSION, F_DEVICE, F_SEQ, F_PREV, F_WALL_MS, F_MONO_MS, F_BOOT, F_KIND)

# kind: (required fields beyond the common ones, optional fields)
KINDS = {
    KIND_CHUNK: (
        (
            F_RECORDING,
            F_CHUNK_INDEX,
            F_START_MS,
            F_END_MS,
            F_FRAME_HASHES,
            F_MEDIA_TYPE,
            F_PLAIN_LEN,
            F_PLAIN_SHA,
        ),
        (F_CIPHER_SHA, F_CIPHER_ALG, F_GPS, F_OFFICER),
    ),
    KIND_EVENT: (
        (F_EVENT,),
        (F_OFFICER, F_RECORDING, F_REASON, F_SPOKEN, F_DETAIL, F_GPS),
    ),
}

# Detail keys the host reads, with their bounds (other keys only need a detail value's shape).
DETAIL_FIELDS = {
    "through_seq": (_UINT, 0, U63),  # host-receipt
    "by": (_TEXT, 0, MAX_ID),  # host-receipt, clock-set, config-applied: a host key id
    "old_ms": (_UINT, 0, U63),  # clock-set
    "new_ms": (_UINT, 0, U63),  # clock-set
    "issued_ms": (_INT, -1, U63),  # config-applied
    "torn_bytes": (_UINT, 0, U63),  # power-loss-recovered
    "resumed_ms": (_UINT, 0, U63),  # resume
    "origin_mono": (_UINT, 0, U63),  # record-start (fMP4): the mono ms media time 0 stands for
    "media": (_DIGESTS, 0, MAX_DETAIL_LIST),  # eviction: the digests evicted
}

_I64_LO = -(1 << 63)
_I32_LO = -(1 << 31)
_I32_HI = (1 << 31) - 1

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Any


def _scalar_problem(value: "Any") -> str:
    t = type(value)
    if t is int:
        if not _I64_LO <= value <= U63:
            return "an integer beyond 64 bits"
    elif t is str:
        if len(value) > MAX_DETAIL_TEXT:
            return "a text over %d characters" % MAX_DETAIL_TEXT
    elif t is bytes:
        if len(value) > MAX_DETAIL_BYTES:
            return "a byte string over %d bytes" % MAX_DETAIL_BYTES
    elif t is not bool and value is not None:
        return "a %s" % t.__name__
    return ""


def _detail_problem(value: dict) -> str:
    for key in value:
        if type(key) is int:
            if not _I32_LO <= key <= _I32_HI:
                return "detail keys must be text or 32-bit integers"
        elif type(key) is not str or not 1 <= len(key) <= MAX_ID:
            return "detail keys must be text of 1..%d characters (or integers)" % MAX_ID
        item = value[key]
        spec = DETAIL_FIELDS.get(key)
        if spec is not None:
            problem = _value_problem("detail " + key, spec[0], spec[1], spec[2], item)
            if problem:
                return problem
        elif type(item) is list:
            if len(item) > MAX_DETAIL_LIST:
                return "detail %s must have at most %d items" % (key, MAX_DETAIL_LIST)
            for x in item:
                why = _scalar_problem(x)
                if why:
                    return "detail %s holds %s" % (key, why)
        else:
            why = _scalar_problem(item)
            if why:
                return "detail %s is %s" % (key, why)
    return ""


def _value_problem(name: str, kind: int, lo: "Any", hi: int, value: "Any") -> str:
    """Why ``value`` is not a valid field of this kind and range, or "" when it is."""
    t = type(value)
    if kind == _UINT or kind == _INT:
        if t is not int or not lo <= value <= hi:
            return "%s must be an integer in %d..%d" % (name, lo, hi)
    elif kind == _CODE:
        if t is not int or value not in lo:
            return "%s must be one of %s" % (name, ", ".join(str(c) for c in lo))
    elif kind == _BYTES:
        if t is not bytes or not lo <= len(value) <= hi:
            if lo == hi:
                return "%s must be %d bytes" % (name, hi)
            return "%s must be %d..%d bytes" % (name, lo, hi)
    elif kind == _TEXT:
        if t is not str or not lo <= len(value) <= hi:
            return "%s must be text of %d..%d characters" % (name, lo, hi)
    elif kind == _DIGESTS:
        if t is not list or len(value) > hi:
            return "%s must be a list of at most %d digests" % (name, hi)
        for item in value:
            if type(item) is not bytes or not MIN_FRAME_DIGEST <= len(item) <= HASH_LEN:
                return "%s must hold digests of %d..%d bytes" % (name, MIN_FRAME_DIGEST, HASH_LEN)
    elif kind == _GPS:
        if t is not list or len(value) != 3:
            return "%s must be [lat_e7, lon_e7, accuracy_m]" % name
        for item, top, low in ((value[0], 900000000, -900000000),
                               (value[1], 1800000000, -1800000000),
                               (value[2], 0x7FFFFFFF, 0)):  # fmt: skip
            if type(item) is not int or not low <= item <= top:
                return "%s must be [lat_e7, lon_e7, accuracy_m] within the globe" % name
    elif kind == _DETAIL:
        if t is not dict or len(value) > hi:
            return "%s must be a map of at most %d pairs" % (name, hi)
        return _detail_problem(value)
    return ""


def _shown(value: object) -> str:
    """A value for a message: its repr, cut short (a peer chooses it)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def entry_problem(fields: "Any") -> str:
    """What is wrong with a ledger entry's payload map, naming the field, or "" if nothing.

    Every field present is checked against ENTRY_FIELDS, every field its kind requires
    must be there, and no field outside its kind may be.
    """
    if type(fields) is not dict:
        return "the payload must be a map"
    if _plainly_valid(fields):
        return ""
    return _named_problem(fields)


def _named_problem(fields: dict) -> str:
    """``entry_problem``'s checks one by one, in the order that picks the message."""
    for key in fields:
        # false and 0 are one Python key: only integer keys may stand for field numbers
        if type(key) is not int:
            return "field key %s is not an integer" % _shown(key)
    for key in _COMMON:
        if key not in fields:
            return "the %s field is missing" % ENTRY_FIELDS[key][0]
    for key in _COMMON:
        name, kind, lo, hi = ENTRY_FIELDS[key]
        problem = _value_problem(name, kind, lo, hi, fields[key])
        if problem:
            return problem
    required, optional = KINDS[fields[F_KIND]]
    for key in required:
        if key not in fields:
            return "the %s field is missing" % ENTRY_FIELDS[key][0]
    for key in fields:
        if key in _COMMON:
            continue
        if key not in required and key not in optional:
            return "field %s is not part of a %s entry" % (
                _shown(key),
                "chunk" if fields[F_KIND] == KIND_CHUNK else "event",
            )
        name, kind, lo, hi = ENTRY_FIELDS[key]
        problem = _value_problem(name, kind, lo, hi, fields[key])
        if problem:
            return problem
    if (F_CIPHER_SHA in fields) != (F_CIPHER_ALG in fields):
        return "cipher_sha and cipher come together or not at all"
    return ""


# Per kind: the fields an entry may hold, and those it must (the common ones among them).
_ALLOWED = {kind: set(_COMMON + req + opt) for kind, (req, opt) in KINDS.items()}
_NEEDED = {kind: set(_COMMON + req) for kind, (req, opt) in KINDS.items()}
_SPECS: dict = ENTRY_FIELDS  # the same table, its bounds read as plain values


def _plainly_valid(fields: dict) -> bool:
    """True only where ``entry_problem`` finds nothing, with one pass over the fields.

    The same checks, in another order: every key an integer field its kind allows, every
    field its kind needs present, every value within ENTRY_FIELDS, the cipher fields
    together. False sends the entry through the checks that name the problem.
    """
    kind = fields.get(F_KIND)
    if type(kind) is not int or kind not in _ALLOWED:
        return False
    allowed = _ALLOWED[kind]
    needed = _NEEDED[kind]
    present = 0
    for key, value in fields.items():
        if type(key) is not int or key not in allowed:
            return False
        if key in needed:
            present += 1
        name, k, lo, hi = _SPECS[key]
        if k == _UINT:
            if type(value) is not int or not lo <= value <= hi:
                return False
        elif k == _BYTES:
            if type(value) is not bytes or not lo <= len(value) <= hi:
                return False
        elif k == _CODE:
            if type(value) is not int or value not in lo:
                return False
        elif k == _TEXT:
            if type(value) is not str or not lo <= len(value) <= hi:
                return False
        elif _value_problem(name, k, lo, hi, value):
            return False
    return present == len(needed) and (F_CIPHER_SHA in fields) == (F_CIPHER_ALG in fields)
