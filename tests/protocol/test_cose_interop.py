"""Entries and key files read and verify with pycose, an independent COSE implementation."""
# micropython: skip (pycose is a CPython library)
# R-DEV-2: anyone holding the device's public key can check the footage, without our code.

from pycose.keys import CoseKey
from pycose.messages import Sign1Message

from protocol import cbor
from protocol.keys import decode_key, encode_key
from protocol.registry import F_SEQ
from tests.protocol.helpers import device_key, make_entries


def test_every_entry_verifies_with_pycose():
    key = device_key()
    cose_key = CoseKey.decode(encode_key(key.public_only()))
    for seq, raw in enumerate(make_entries(6)):
        msg = Sign1Message.decode(raw)
        msg.key = cose_key
        assert msg.verify_signature(), seq
        assert cbor.loads(msg.payload)[F_SEQ] == seq


def test_pycose_rejects_a_changed_entry():
    key = device_key()
    raw = bytearray(make_entries(2)[1])
    raw[len(raw) // 2] ^= 0x01  # inside the payload
    msg = Sign1Message.decode(bytes(raw))
    msg.key = CoseKey.decode(encode_key(key.public_only()))
    assert not msg.verify_signature()


def test_key_file_is_a_cose_key_pycose_reads():
    key = device_key()
    cose_key = CoseKey.decode(encode_key(key.public_only()))
    assert cose_key.x == key.public
    assert cose_key.kid == key.device_id.encode()
    assert decode_key(encode_key(key)).seed == key.seed
