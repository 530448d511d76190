"""Per-frame hashing for chunk entries."""

import hashlib

from protocol.frames import FRAME_DIGEST_LEN, FrameHashes, frame_digest


def test_every_frame_is_hashed_in_capture_order():
    fh = FrameHashes()
    frames = [("frame-%d" % i).encode() for i in range(5)]
    for f in frames:
        fh.add(f)
    assert fh.take() == [hashlib.sha256(f).digest()[:16] for f in frames]
    assert fh.take() == []


def test_a_frame_digest_is_sha256_cut_to_16_bytes():
    assert FRAME_DIGEST_LEN == 16
    assert frame_digest(b"abc") == bytes.fromhex("ba7816bf8f01cfea414140de5dae2223")
