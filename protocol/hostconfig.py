"""Host-signed configuration (R-DEV-17): settings, the officer id and the time reach a device
only when signed by one of the agency host keys pinned on it at provisioning.

A config is a COSE_Sign1 message, like a ledger entry, signed by a host key whose id is the
kid; its payload names what it is, the one device it is for, when it was issued, and the
settings. A device applies a config only if the signature verifies with a pinned key, it is
addressed to this device, and it is newer than the last one applied (no replay).
"""

from protocol import cbor
from protocol.cose import decode_sign1, encode_sign1, protected_header, to_be_signed
from protocol.errors import DecodeError, EntryError, ProtocolError
from protocol.signer import verify_signature

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from protocol.signer import Signer


CONFIG_TYPE = "sealcam-config/1"


class ConfigRejected(ProtocolError):
    """A config that must not be applied; the message says why."""


def sign_config(
    signer: "Signer", host_kid: str, device_id: str, issued_ms: int, settings: dict
) -> bytes:
    """A config for ``device_id``, signed by the host key ``host_kid``."""
    protected = protected_header(host_kid.encode())
    payload = cbor.dumps(
        {"type": CONFIG_TYPE, "device": device_id, "issued_ms": issued_ms, "settings": settings}
    )
    signature = signer.sign(to_be_signed(protected, payload))
    return encode_sign1(protected, payload, signature)


def open_config(raw: bytes, pinned: dict, device_id: str, last_issued_ms: int = -1) -> tuple:
    """Check a config; return ``(settings, host_kid, issued_ms)`` or raise ConfigRejected.

    ``pinned`` maps host key ids (text) to their 32-byte Ed25519 public keys.
    """
    try:
        protected, kid, payload, signature = decode_sign1(cbor.loads(raw))
        body = cbor.loads(payload)
    except (DecodeError, EntryError) as exc:
        raise ConfigRejected("config is not a signed message: %s" % exc) from None
    host = kid.decode() if _is_utf8(kid) else kid.hex()
    public = pinned.get(host)
    if public is None:
        raise ConfigRejected(
            "config is signed by host key %r, which this device does not trust" % host
        )
    if not signature or not verify_signature(public, to_be_signed(protected, payload), signature):
        raise ConfigRejected("config signature does not verify with host key %r" % host)
    if type(body) is not dict or body.get("type") != CONFIG_TYPE:
        raise ConfigRejected("signed message is not a config")
    if body.get("device") != device_id:
        raise ConfigRejected(
            "config is for device %r, not this device %r" % (body.get("device"), device_id)
        )
    issued = body.get("issued_ms")
    settings = body.get("settings")
    if type(issued) is not int or type(settings) is not dict:
        raise ConfigRejected("config must carry issued_ms and a settings map")
    if issued <= last_issued_ms:
        raise ConfigRejected(
            "config issued at %d is not newer than the last applied (%d): "
            "a replay" % (issued, last_issued_ms)
        )
    return settings, host, issued


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode()
    except UnicodeError:
        return False
    return True
