"""The court package's manifest: signed with the host key as COSE_Sign1, and its JSON twin.

The manifest (docs/court-package.md, section 3) is a map of text, integers, booleans, null,
arrays and maps only: no byte strings and no floats, so that its deterministic CBOR and its
JSON are the same value and a verifier can hold one to the other. It is signed as a
COSE_Sign1 message (RFC 9052) with EdDSA by the host key, the key that signs the host log's
checkpoints, so generic COSE tooling checks it with the public key the package carries.
"""

import json
from typing import Protocol

from protocol import cbor, cose

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


def payload(manifest: dict) -> bytes:
    """The manifest as deterministic CBOR."""
    _plain(manifest)
    return cbor.dumps(manifest)


def as_json(manifest: dict) -> bytes:
    """``manifest.json``: the same value, UTF-8, keys sorted, for people and simple tools."""
    _plain(manifest)
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def sign(manifest: dict, signer: Signer, kid: str) -> bytes:
    """``manifest.cbor``: COSE_Sign1 over the manifest's CBOR, by ``signer`` named ``kid``."""
    body = payload(manifest)
    protected = cose.protected_header(kid.encode("utf-8"))
    signature = signer.sign(cose.to_be_signed(protected, body))
    return cose.encode_sign1(protected, body, signature)
