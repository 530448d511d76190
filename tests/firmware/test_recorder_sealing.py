"""Chunks sealed for the agency: the device stores only ciphertext, and signs both hashes."""
# micropython: skip (sealing needs PyNaCl or a board's native module)
# R-DEV-3: footage encrypted on the device; the officer cannot read or copy it.

import hashlib

from firmware.recorder import STORE, Recorder
from protocol.ledger import parse_entry
from protocol.registry import (
    CIPHER_SEALED_BOX,
    F_CIPHER_ALG,
    F_CIPHER_SHA,
    F_PLAIN_SHA,
    KIND_CHUNK,
)
from protocol.sealing import agency_keypair, open_sealed, sealed_fields
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

GOOD = {"camera_ok": True, "battery_percent": 90, "storage_hours": 40}


def test_stored_media_is_sealed_and_the_entry_signs_both_hashes():
    private, public = agency_keypair()
    rec = Recorder(
        make_signer(SEED_A), DEVICE, "P-0427", sealer=lambda media: sealed_fields(media, public)
    )
    actions = rec.power_on(T0, 0, GOOD)
    actions += rec.press_record(T0, 0)
    frames = [b"frame-%d" % i for i in range(6)]
    for i, f in enumerate(frames):
        actions += rec.frame(f, i % 3 == 0, T0 + 100 * i, 100 * i)
    actions += rec.press_stop(T0 + 1000, 1000)
    chunks = [(parse_entry(a[1]), a[2]) for a in actions if a[0] == STORE and a[2] is not None]
    assert chunks
    plain = b""
    for entry, stored in chunks:
        assert entry.kind == KIND_CHUNK
        assert not any(f in stored for f in frames)  # nothing readable on the device
        assert entry.fields[F_CIPHER_SHA] == hashlib.sha256(stored).digest()
        assert entry.fields[F_CIPHER_ALG] == CIPHER_SEALED_BOX
        opened = open_sealed(stored, private)  # the agency reads it
        assert entry.fields[F_PLAIN_SHA] == hashlib.sha256(opened).digest()
        plain += opened
    assert plain == b"".join(frames)
    key = device_key()
    ledger = b"".join(a[1] for a in actions if a[0] == STORE)
    assert verify_ledger(ledger, key.device_id, key.public).state == OK
