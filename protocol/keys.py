"""Device key files: COSE_Key (RFC 9052 §7) maps for Ed25519, deterministically encoded.

A public key file is ``{1: 1 (OKP), 2: kid, 3: -8 (EdDSA), -1: 6 (Ed25519), -2: x}`` where
``kid`` is the device id in UTF-8 and ``x`` the 32-byte public key. A private key file adds
``-4: d``, the 32-byte seed; it stays on the device (or, in the simulator, in its directory).
"""

from protocol import cbor
from protocol.errors import DecodeError, EntryError
from protocol.registry import (
    COSE_ALG_EDDSA,
    COSE_CRV_ED25519,
    COSE_KEY_ALG,
    COSE_KEY_CRV,
    COSE_KEY_D,
    COSE_KEY_KID,
    COSE_KEY_KTY,
    COSE_KEY_X,
    COSE_KTY_OKP,
)


class DeviceKey:
    """A device's identity: its id, its Ed25519 public key and, on the device, its seed."""

    def __init__(self, device_id: str, public: bytes, seed: bytes = b"") -> None:
        self.device_id = device_id
        self.public = public
        self.seed = seed

    def public_only(self) -> "DeviceKey":
        return DeviceKey(self.device_id, self.public)


def encode_key(key: DeviceKey) -> bytes:
    """The COSE_Key bytes for ``key``; includes the seed only if the key has one."""
    m = {
        COSE_KEY_KTY: COSE_KTY_OKP,
        COSE_KEY_KID: key.device_id.encode(),
        COSE_KEY_ALG: COSE_ALG_EDDSA,
        COSE_KEY_CRV: COSE_CRV_ED25519,
        COSE_KEY_X: key.public,
    }
    if key.seed:
        m[COSE_KEY_D] = key.seed
    return cbor.dumps(m)


def decode_key(data: bytes) -> DeviceKey:
    """Read a key file written by ``encode_key``; raise EntryError saying what is wrong."""
    try:
        m = cbor.loads(data)
    except DecodeError as exc:
        raise EntryError(
            "key file is not a COSE_Key in deterministic CBOR: %s" % exc,
            "cbor.key.not_cbor",
            why=exc,
        ) from None
    if type(m) is not dict:
        raise EntryError("key file must hold a COSE_Key map", "cbor.key.not_map")
    if m.get(COSE_KEY_KTY) != COSE_KTY_OKP or m.get(COSE_KEY_CRV) != COSE_CRV_ED25519:
        raise EntryError(
            "key file must hold an Ed25519 key (kty OKP, crv Ed25519)", "cbor.key.not_ed25519"
        )
    kid = m.get(COSE_KEY_KID)
    x = m.get(COSE_KEY_X)
    d = m.get(COSE_KEY_D, b"")
    if type(kid) is not bytes or not kid:
        raise EntryError("key file must name the device in kid (label 2)", "cbor.key.no_kid")
    if type(x) is not bytes or len(x) != 32:
        raise EntryError("key file must hold a 32-byte public key in x (label -2)", "cbor.key.no_x")
    if type(d) is not bytes or len(d) not in (0, 32):
        raise EntryError(
            "a private key file must hold a 32-byte seed in d (label -4)", "cbor.key.bad_d"
        )
    try:
        device_id = kid.decode("utf-8")
    except UnicodeError:
        raise EntryError("key file's kid is not UTF-8 text", "cbor.key.kid_not_utf8") from None
    return DeviceKey(device_id, x, d)
