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
    rows by encoding each map key once (the rows repeat the same keys)."""

    def __init__(self) -> None:
        self._keys: dict = {}
        self.out: list = []

    def key(self, k: str) -> bytes:
        got = self._keys.get(k)
        if got is None:
            raw = k.encode("utf-8")
            got = self._keys[k] = _head(3, len(raw)) + raw
        return got

    def add(self, value: object) -> None:
        out = self.out
        if value is None:
            out.append(b"\xf6")
        elif value is True:
            out.append(b"\xf5")
        elif value is False:
            out.append(b"\xf4")
        elif type(value) is int:
            out.append(_head(0, value) if value >= 0 else _head(1, -1 - value))
        elif type(value) is str:
            raw = value.encode("utf-8")
            out.append(_head(3, len(raw)))
            out.append(raw)
        elif type(value) is list:
            out.append(_head(4, len(value)))
            for v in value:
                self.add(v)
        elif type(value) is dict:
            out.append(_head(5, len(value)))
            for encoded, k in sorted((self.key(k), k) for k in value):
                out.append(encoded)
                self.add(value[k])
        else:  # _plain refused everything else before
            raise ValueError("%s has no place in the manifest" % type(value).__name__)


def payload(manifest: dict) -> bytes:
    """The manifest as deterministic CBOR."""
    _plain(manifest)
    encoder = _Encoder()
    encoder.add(manifest)
    return b"".join(encoder.out)


def pretty_json(value: object) -> bytes:
    """JSON for people, UTF-8, keys sorted: indented, but a map of plain values (a chunk
    row, a proof's row) and a list of plain values on one line each, so that thousands of
    rows are written by the json module's C encoder, not its indenting Python one."""
    parts: list = []
    _pretty(value, "", parts)
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def _flat(value: object) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) or _flat_list(v) for v in value.values())
    return _flat_list(value)


def _flat_list(value: object) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def _pretty(value: object, indent: str, parts: list) -> None:
    if not isinstance(value, (dict, list)) or not value or _flat(value):
        parts.append(json.dumps(value, ensure_ascii=False, sort_keys=True))
        return
    inner = indent + " "
    if isinstance(value, list):
        parts.append("[")
        for i, v in enumerate(value):
            parts.append(",\n" + inner if i else "\n" + inner)
            _pretty(v, inner, parts)
        parts.append("\n" + indent + "]")
        return
    parts.append("{")
    for i, k in enumerate(sorted(value)):
        parts.append(",\n" + inner if i else "\n" + inner)
        parts.append(json.dumps(k, ensure_ascii=False) + ": ")
        _pretty(value[k], inner, parts)
    parts.append("\n" + indent + "}")


def as_json(manifest: dict) -> bytes:
    """``manifest.json``: the same value, UTF-8, keys sorted, for people and simple tools."""
    _plain(manifest)
    return pretty_json(manifest)


def sign(manifest: dict, signer: Signer, kid: str) -> bytes:
    """``manifest.cbor``: COSE_Sign1 over the manifest's CBOR, by ``signer`` named ``kid``."""
    body = payload(manifest)
    protected = cose.protected_header(kid.encode("utf-8"))
    signature = signer.sign(cose.to_be_signed(protected, body))
    return cose.encode_sign1(protected, body, signature)
