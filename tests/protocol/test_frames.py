"""Per-frame hashing for chunk entries."""

import hashlib

from protocol.frames import FrameHashes


def test_every_frame_is_hashed_in_capture_order():
    fh = FrameHashes()
    frames = [("frame-%d" % i).encode() for i in range(5)]
    for f in frames:
        fh.add(f)
    assert fh.take() == [hashlib.sha256(f).digest() for f in frames]
    assert fh.take() == []
