"""Encryption at rest: sealed to the agency, unreadable on the device, integrity either way."""
# micropython: skip (sealing needs PyNaCl or a board's native module)
# R-DEV-3: footage is encrypted where the agency requires it; the officer cannot read it.

import hashlib

import pytest

from protocol.registry import CIPHER_SEALED_BOX
from protocol.sealing import (
    OVERHEAD,
    SealingError,
    agency_keypair,
    open_sealed,
    seal,
    sealed_fields,
)


def test_only_the_agency_key_opens_sealed_media():
    private, public = agency_keypair()
    media = b"\x00\x01frame bytes" * 100
    sealed = seal(media, public)
    assert media not in sealed and len(sealed) == len(media) + OVERHEAD
    assert open_sealed(sealed, private) == media
    other_private, _ = agency_keypair()
    with pytest.raises(SealingError, match="does not open"):
        open_sealed(sealed, other_private)


def test_device_holds_nothing_that_decrypts():
    # The device is given only the public key; sealing twice gives different bytes, and
    # nothing derived from the public key opens either.
    _, public = agency_keypair()
    a, b = seal(b"same", public), seal(b"same", public)
    assert a != b
    with pytest.raises(SealingError):
        open_sealed(a, public)


def test_sealed_fields_hash_the_ciphertext():
    _, public = agency_keypair()
    sealed, cipher_sha, alg = sealed_fields(b"media", public)
    assert cipher_sha == hashlib.sha256(sealed).digest()
    assert alg == CIPHER_SEALED_BOX


def test_changed_ciphertext_does_not_open():
    private, public = agency_keypair()
    sealed = bytearray(seal(b"media" * 10, public))
    sealed[-1] ^= 1
    with pytest.raises(SealingError):
        open_sealed(bytes(sealed), private)


def test_bad_public_key_is_named():
    with pytest.raises(SealingError, match="32"):
        seal(b"x", b"short")
