"""The signing port: Ed25519 through PyNaCl where it is installed, else pure Python.

The host has PyNaCl (libsodium); the device runs MicroPython and uses ``protocol.ed25519``.
Both produce the same bytes, since Ed25519 signatures are deterministic, and both verifiers
apply the same rules (see ``protocol.ed25519``).
"""

from protocol import ed25519
from protocol.ed25519 import need_bytes
from protocol.errors import ProtocolError

try:
    from nacl.bindings import crypto_sign_open
    from nacl.exceptions import BadSignatureError
    from nacl.signing import SigningKey, VerifyKey

    HAVE_NACL = True
except ImportError:
    HAVE_NACL = False

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Protocol

    class Signer(Protocol):
        """What signs for a session or a ledger: an Ed25519Signer, a cadenced one, a board's
        secure element."""

        def public_key(self) -> bytes: ...

        def sign(self, message: bytes) -> bytes: ...


SEED_SIZE = 32


class SignerError(ProtocolError):
    """A signer cannot be made: a malformed seed, or no entropy to generate one."""


class Ed25519Signer:
    """Signs messages with one Ed25519 key; ``name`` says which implementation does it."""

    name = ""

    def public_key(self) -> bytes:
        """The 32-byte public key."""
        raise NotImplementedError

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        raise NotImplementedError


class NaclSigner(Ed25519Signer):
    """Ed25519 by PyNaCl (libsodium)."""

    name = "pynacl"

    def __init__(self, seed: bytes) -> None:
        self._key = SigningKey(seed)
        self._public = bytes(self._key.verify_key)

    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(bytes(message)).signature


class PureSigner(Ed25519Signer):
    """Ed25519 by ``protocol.ed25519``, in pure Python."""

    name = "pure-python"

    def __init__(self, seed: bytes) -> None:
        self._key = ed25519.SigningKey(seed)

    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._key.public_key

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)


def make_signer(seed: bytes, prefer_native: bool = True) -> Ed25519Signer:
    """A signer for the key with this 32-byte seed: PyNaCl's if available and preferred."""
    need_bytes("seed", seed)
    if len(seed) != SEED_SIZE:
        raise SignerError("an Ed25519 seed is %d bytes, not %d" % (SEED_SIZE, len(seed)))
    seed = bytes(seed)
    if HAVE_NACL and prefer_native:
        return NaclSigner(seed)
    return PureSigner(seed)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``.

    Malformed keys and signatures give False; only arguments that are not bytes raise
    (TypeError), whichever implementation runs.
    """
    if not HAVE_NACL:
        return ed25519.verify(public_key, message, signature)
    need_bytes("public key", public_key)
    need_bytes("message", message)
    need_bytes("signature", signature)
    try:
        VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


class SignatureChecker:
    """Checks many signatures under one public key: ``verify_signature`` with the key
    parsed once (the verifier checks a ledger's worth of entries this way)."""

    def __init__(self, public_key: bytes) -> None:
        need_bytes("public key", public_key)
        self.public_key = bytes(public_key)
        self._key = None
        if HAVE_NACL:
            try:
                self._key = VerifyKey(self.public_key)
            except (ValueError, TypeError):
                self._key = None

    def check(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid signature of ``message`` under the key."""
        key = self._key
        if key is None:
            return verify_signature(self.public_key, message, signature)
        if type(message) is not bytes or type(signature) is not bytes:
            need_bytes("message", message)
            need_bytes("signature", signature)
            message = bytes(message)
            signature = bytes(signature)
        if len(signature) != 64:
            return False
        try:
            # What VerifyKey.verify does, without its per-call checks and encoder.
            crypto_sign_open(signature + message, self.public_key)
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True


def generate_seed() -> bytes:
    """32 bytes from the operating system's random source, for a new device key."""
    try:
        import os

        urandom = getattr(os, "urandom", None)
    except ImportError:
        urandom = None
    if urandom is None:
        # Weak randomness would make a forgeable device key, so refuse rather than fall back
        # to the pseudo-random ``random`` module.
        raise SignerError(
            "this interpreter has no os.urandom: the board port must provide a hardware"
            " entropy source before it can generate device keys"
        )
    seed = bytes(urandom(SEED_SIZE))
    if len(seed) != SEED_SIZE:
        raise SignerError("os.urandom returned %d bytes, not %d" % (len(seed), SEED_SIZE))
    return seed
