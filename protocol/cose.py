"""COSE_Sign1 (RFC 9052 §4.2) with EdDSA, as the ledger uses it.

An entry is ``18([protected, {}, payload, signature])`` where ``protected`` is the encoded map
``{1: -8, 4: kid}``. A signature covers ``["Signature1", protected, h'', payload]``. An entry
written between two signatures under the adaptive signing cadence carries an empty
signature; the next signed entry covers it through the hash chain.
"""

from protocol import cbor
from protocol.errors import DecodeError, EntryError
from protocol.registry import (
    COSE_ALG_EDDSA,
    COSE_HDR_ALG,
    COSE_HDR_KID,
    COSE_SIGN1_TAG,
    SIG_CONTEXT,
)


def protected_header(kid: bytes) -> bytes:
    """The encoded protected header for an Ed25519 signer identified by ``kid``."""
    return cbor.dumps({COSE_HDR_ALG: COSE_ALG_EDDSA, COSE_HDR_KID: kid})


# Both encodings below are assembled from fixed prefixes and byte-string heads: the same
# bytes cbor.dumps gives for these arrays (a test holds them to that), at a fraction of the
# cost on the per-entry path.
_TBS_PREFIX = b"\x84" + cbor.dumps(SIG_CONTEXT)  # array of 4, then "Signature1"
_SIGN1_PREFIX = b"\xd2\x84"  # tag 18 (COSE_SIGN1_TAG), then an array of 4


def to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """The Sig_structure bytes a COSE_Sign1 signature covers (no external AAD)."""
    global _last_tbs_head
    last = _last_tbs_head
    if protected != last[0]:
        head = b"".join((_TBS_PREFIX, cbor.bstr_head(len(protected)), protected, b"\x40"))
        last = _last_tbs_head = (protected, head)
    return b"".join((last[1], cbor.bstr_head(len(payload)), payload))


# The Sig_structure's bytes up to the payload for the last protected header: a device's
# entries all share it. One tuple, replaced whole (threads see the old or the new pair).
_last_tbs_head: tuple = (None, b"")


def encode_sign1(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    """A tagged COSE_Sign1 message with an empty unprotected header."""
    h = cbor.bstr_head
    return b"".join(
        (
            _SIGN1_PREFIX,
            h(len(protected)),
            protected,
            b"\xa0",
            h(len(payload)),
            payload,
            h(len(signature)),
            signature,
        )
    )


# Said where a part of a COSE_Sign1 is not a byte string (the ledger reader says it too).
NOT_BYTES = "COSE_Sign1 protected header, payload and signature must be byte strings"


def decode_sign1(item: object) -> tuple:
    """Check a decoded COSE_Sign1 item; return ``(protected_bytes, kid, payload, signature)``."""
    if not isinstance(item, cbor.Tag) or item.tag != COSE_SIGN1_TAG:
        raise EntryError("not a COSE_Sign1 message (tag 18)", "cbor.entry.not_sign1")
    parts = item.value
    if type(parts) is not list or len(parts) != 4:
        raise EntryError("COSE_Sign1 must be an array of 4 items", "cbor.entry.not_array")
    protected, unprotected, payload, signature = parts
    if type(protected) is not bytes or type(payload) is not bytes or type(signature) is not bytes:
        raise EntryError(NOT_BYTES, "cbor.entry.not_bytes")
    if type(unprotected) is not dict:
        raise EntryError("COSE_Sign1 unprotected header must be a map", "cbor.entry.unprotected")
    kid = _protected_kid(protected)
    if len(signature) not in (0, 64):
        raise EntryError(
            "an Ed25519 signature is 64 bytes, not %d" % len(signature),
            "cbor.entry.signature_length",
            length=len(signature),
        )
    return protected, kid, payload, signature


# The last protected header that passed, with its kid: a device's entries all carry the
# same one, so a ledger's worth of them is checked once. One tuple, replaced whole, so
# threads reading it see either the old pair or the new.
_last_protected: tuple = (None, b"")


def _protected_kid(protected: bytes) -> bytes:
    """The kid of a valid protected header; raise EntryError saying what is wrong."""
    global _last_protected
    last = _last_protected
    if protected == last[0]:
        return last[1]
    try:
        header = cbor.loads_fast(protected)
    except DecodeError as exc:
        raise EntryError(
            "protected header is not deterministic CBOR: %s" % exc,
            "cbor.entry.protected_not_cbor",
            why=exc,
        ) from None
    if type(header) is not dict or header.get(COSE_HDR_ALG) != COSE_ALG_EDDSA:
        raise EntryError("protected header must name algorithm EdDSA (-8)", "cbor.entry.not_eddsa")
    kid = header.get(COSE_HDR_KID)
    if type(kid) is not bytes:
        raise EntryError("protected header must carry the device id as kid", "cbor.entry.no_kid")
    _last_protected = (protected, kid)
    return kid
