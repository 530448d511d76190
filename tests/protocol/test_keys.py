"""Device key files: COSE_Key round trips and clear refusals."""

from protocol import cbor
from protocol.errors import EntryError
from protocol.keys import DeviceKey, decode_key, encode_key
from tests.portable import raises


def test_public_key_file_round_trip():
    key = DeviceKey("SC-0001", bytes(range(32)))
    back = decode_key(encode_key(key))
    assert (back.device_id, back.public, back.seed) == ("SC-0001", key.public, b"")


def test_private_key_file_keeps_the_seed_and_public_only_drops_it():
    key = DeviceKey("SC-0001", bytes(range(32)), bytes(32))
    assert decode_key(encode_key(key)).seed == bytes(32)
    assert decode_key(encode_key(key.public_only())).seed == b""


def test_key_file_is_a_cose_key_map():
    m = cbor.loads(encode_key(DeviceKey("SC-0001", bytes(32))))
    assert m == {1: 1, 2: b"SC-0001", 3: -8, -1: 6, -2: bytes(32)}


def test_bad_key_files_say_what_is_wrong():
    cases = (
        (b"\xff", "not a COSE_Key"),
        (cbor.dumps([1]), "map"),
        (cbor.dumps({1: 2, -1: 6, 2: b"x", -2: bytes(32)}), "Ed25519"),
        (cbor.dumps({1: 1, -1: 6, -2: bytes(32)}), "kid"),
        (cbor.dumps({1: 1, -1: 6, 2: b"x", -2: bytes(31)}), "32-byte public key"),
        (cbor.dumps({1: 1, -1: 6, 2: b"x", -2: bytes(32), -4: b"short"}), "seed"),
    )
    for data, words in cases:
        err = raises(EntryError, decode_key, data)
        assert words in str(err), (words, str(err))
