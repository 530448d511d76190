"""The court package's manifest: signed with the host key as COSE_Sign1, and its JSON twin.

The manifest (docs/court-package.md, section 3) is a map of text, integers, booleans, null,
arrays and maps only: no byte strings and no floats, so that its deterministic CBOR and its
JSON are the same value and a verifier can hold one to the other. It is signed as a
COSE_Sign1 message (RFC 9052) with EdDSA by the host key, the key that signs the host log's
checkpoints, so generic COSE tooling checks it with the public key the package carries.
"""

import json
from typing import Protocol

from protocol import cose

FORMAT = "sealcam-court-package"
VERSION = 1
ALG_EDDSA = -8


class Signer(Protocol):
    def sign(self, message: bytes) -> bytes: ...

    def public_key(self) -> bytes: ...


def _plain(value: object, where: str = "manifest") -> None:
    """Refuse what JSON and the manifest's CBOR would not hold alike."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not -(2**53) < value < 2**53:  # a JavaScript verifier reads JSON numbers as doubles
            raise ValueError("%s: %d is too large for a JSON number" % (where, value))
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _plain(v, "%s[%d]" % (where, i))
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError("%s: a key that is not text: %r" % (where, k))
            _plain(v, "%s.%s" % (where, k))
        return
    raise ValueError("%s: %s has no place in the manifest" % (where, type(value).__name__))


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    for size, extra in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if n < 1 << (8 * size):
            return bytes((major << 5 | extra,)) + n.to_bytes(size, "big")
    raise ValueError("%d is too large for CBOR" % n)


class _Encoder:
    """Deterministic CBOR (RFC 8949 section 4.2.1) of the manifest's few value types, the
    bytes ``protocol.cbor.dumps`` gives, made faster for a manifest of thousands of chunk
    rows: the rows repeat the same keys, so each set of keys is encoded and sorted once.
    It refuses what ``_plain`` refuses (``payload`` then asks ``_plain`` where it is)."""

    def __init__(self) -> None:
        self._orders: dict = {}  # the keys of a map, in order -> [(encoded key, key)] sorted
        self.out: list = []

    def order(self, keys: tuple) -> list:
        got = self._orders.get(keys)
        if got is None:
            pairs = []
            for k in keys:
                if type(k) is not str:
                    raise ValueError("a key that is not text")
                raw = k.encode("utf-8")
                pairs.append((_head(3, len(raw)) + raw, k))
            got = self._orders[keys] = sorted(pairs)
        return got

    def add(self, value: object) -> None:
        out = self.out
        if value is None:
            out.append(b"\xf6")
        elif value is True:
            out.append(b"\xf5")
        elif value is False:
            out.append(b"\xf4")
        elif isinstance(value, str):
            raw = value.encode("utf-8")
            out.append(_head(3, len(raw)))
            out.append(raw)
        elif isinstance(value, int):
            if not -(2**53) < value < 2**53:
                raise ValueError("%d is too large for a JSON number" % value)
            out.append(_head(0, value) if value >= 0 else _head(1, -1 - value))
        elif isinstance(value, dict):
            out.append(_head(5, len(value)))
            for encoded, k in self.order(tuple(value)):
                out.append(encoded)
                self.add(value[k])
        elif isinstance(value, list):
            out.append(_head(4, len(value)))
            for v in value:
                self.add(v)
        else:
            raise ValueError("%s has no place in the manifest" % type(value).__name__)


class Ahead:
    """Values of a manifest's top-level keys encoded (CBOR and JSON) before the manifest is
    finished: ``sign`` and ``as_json`` given it use these encodings for each key whose value
    is still the very object encoded. A package encodes its recordings' thousands of chunk
    rows so while its note's PDF is being made, before the PDF's hash, the last of the
    manifest, is known. An object encoded here must not be changed afterwards."""

    def __init__(self, manifest: dict, keys: "tuple[str, ...]") -> None:
        self._values = {k: manifest[k] for k in keys}
        self.cbor = {}
        self.json = {}
        for k in keys:
            _plain(manifest[k], k)
            encoder = _Encoder()
            encoder.add(manifest[k])
            self.cbor[k] = b"".join(encoder.out)
            parts: list = []
            _pretty(manifest[k], " ", parts)  # as the value of a top-level key
            self.json[k] = "".join(parts)

    def has(self, manifest: dict, key: str) -> bool:
        return key in self._values and manifest[key] is self._values[key]


def payload(manifest: dict, ahead: "Ahead | None" = None) -> bytes:
    """The manifest as deterministic CBOR."""
    encoder = _Encoder()
    try:
        if ahead is None:
            encoder.add(manifest)
        else:
            out = encoder.out
            out.append(_head(5, len(manifest)))
            for encoded, k in encoder.order(tuple(manifest)):
                out.append(encoded)
                if ahead.has(manifest, k):
                    out.append(ahead.cbor[k])
                else:
                    encoder.add(manifest[k])
    except ValueError:
        _plain(manifest)  # says where
        raise
    return b"".join(encoder.out)


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def pretty_json(value: object) -> bytes:
    """JSON for people, UTF-8, keys sorted: indented, but a map of plain values (a chunk
    row, a proof's row) and a list of plain values on one line each, so that thousands of
    rows are written by the json module's C encoder, not its indenting Python one."""
    parts: list = []
    _pretty(value, "", parts)
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def _flat(value: object) -> bool:
    """A list of plain values, or a map whose values are plain or such lists."""
    if type(value) is dict:
        for v in value.values():
            if type(v) is dict or (type(v) is list and not _flat(v)):
                return False
        return True
    return type(value) is list and not any(type(v) in (dict, list) for v in value)


def _pretty(value: object, indent: str, parts: list, ahead: "Ahead | None" = None) -> None:
    if type(value) not in (dict, list) or not value or _flat(value):
        parts.append(_ENCODER.encode(value))
        return
    inner = indent + " "
    if type(value) is list:
        parts.append("[")
        for i, v in enumerate(value):
            parts.append(",\n" + inner if i else "\n" + inner)
            _pretty(v, inner, parts)
        parts.append("\n" + indent + "]")
        return
    assert isinstance(value, dict)
    parts.append("{")
    for i, k in enumerate(sorted(value)):
        parts.append(",\n" + inner if i else "\n" + inner)
        parts.append(_ENCODER.encode(k) + ": ")
        if ahead is not None and ahead.has(value, k):
            parts.append(ahead.json[k])
        else:
            _pretty(value[k], inner, parts)
    parts.append("\n" + indent + "}")


def as_json(manifest: dict, ahead: "Ahead | None" = None) -> bytes:
    """``manifest.json``: the same value, UTF-8, keys sorted, for people and simple tools."""
    if ahead is None:
        _plain(manifest)
        return pretty_json(manifest)
    for k, v in manifest.items():
        if not isinstance(k, str):
            raise ValueError("manifest: a key that is not text: %r" % (k,))
        if not ahead.has(manifest, k):
            _plain(v, "manifest.%s" % k)
    if not manifest:
        return pretty_json(manifest)
    parts: list = []
    _pretty(manifest, "", parts, ahead)
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def sign(manifest: dict, signer: Signer, kid: str, ahead: "Ahead | None" = None) -> bytes:
    """``manifest.cbor``: COSE_Sign1 over the manifest's CBOR, by ``signer`` named ``kid``."""
    body = payload(manifest, ahead)
    protected = cose.protected_header(kid.encode("utf-8"))
    signature = signer.sign(cose.to_be_signed(protected, body))
    return cose.encode_sign1(protected, body, signature)
