"""Encryption at rest (R-DEV-3): media sealed to the agency's X25519 public key.

A sealed box (libsodium ``crypto_box_seal``: an ephemeral X25519 key, XSalsa20-Poly1305)
needs only the agency's public key to seal, so the recorder can encrypt every chunk while
holding nothing that decrypts it: a lost device or a curious officer reads nothing. The
chunk entry signs both the plaintext hash and the ciphertext hash, so integrity can be
checked with or without the agency's private key.

The port boundary: PyNaCl on CPython. A MicroPython board needs a native sealed-box module
(pure Python is far too slow for video); ``seal`` says so clearly when none is present.
"""

import hashlib

from protocol.errors import ProtocolError
from protocol.registry import CIPHER_SEALED_BOX

try:
    from nacl.exceptions import CryptoError
    from nacl.public import PrivateKey, PublicKey, SealedBox

    HAVE_SEALED_BOX = True
except ImportError:
    HAVE_SEALED_BOX = False

KEY_SIZE = 32
OVERHEAD = 48  # ephemeral public key (32) + Poly1305 tag (16)


class SealingError(ProtocolError):
    """Media cannot be sealed or opened; the message says why."""


def _require() -> None:
    if not HAVE_SEALED_BOX:
        raise SealingError(
            "no sealed-box implementation on this interpreter: a board that must encrypt "
            "footage needs a native crypto_box_seal module (see firmware/ports/board_template.py)"
        )


def seal(media: bytes, agency_public: bytes) -> bytes:
    """Encrypt ``media`` so only the holder of the agency's private key can read it."""
    _require()
    if len(agency_public) != KEY_SIZE:
        raise SealingError(
            "the agency public key is %d bytes, not %d" % (len(agency_public), KEY_SIZE)
        )
    return bytes(SealedBox(PublicKey(bytes(agency_public))).encrypt(bytes(media)))


def open_sealed(sealed: bytes, agency_private: bytes) -> bytes:
    """Decrypt sealed media with the agency's private key (host side only)."""
    _require()
    try:
        return bytes(SealedBox(PrivateKey(bytes(agency_private))).decrypt(bytes(sealed)))
    except CryptoError:
        raise SealingError(
            "sealed media does not open with this key: wrong agency key, or the bytes changed"
        ) from None


def sealed_fields(media: bytes, agency_public: bytes) -> tuple:
    """Seal ``media``; return ``(sealed_bytes, cipher_sha256, CIPHER_SEALED_BOX)``."""
    sealed = seal(media, agency_public)
    return sealed, hashlib.sha256(sealed).digest(), CIPHER_SEALED_BOX


def agency_keypair() -> tuple:
    """A new agency X25519 key pair ``(private, public)``, for provisioning and tests."""
    _require()
    private = PrivateKey.generate()
    return bytes(private), bytes(private.public_key)
