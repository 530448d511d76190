"""Without a sealed-box implementation, sealing fails with a clear message, never silently."""

from protocol import sealing
from tests.portable import raises


def test_missing_sealed_box_is_named():
    if sealing.HAVE_SEALED_BOX:
        return  # CPython with PyNaCl: tests/protocol/test_sealing.py covers it
    err = raises(sealing.SealingError, sealing.seal, b"media", bytes(32))
    assert "native crypto_box_seal" in str(err)
