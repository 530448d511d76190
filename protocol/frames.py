"""Per-frame hashing: a digest of every frame, taken the moment it is captured.

A chunk entry lists these digests in capture order, so a lost or changed frame is pinpointed
to its index, as in ONVIF Media Signing's per-NAL-unit mode. A frame digest is SHA-256
truncated to its first 16 bytes: 128-bit second-preimage resistance is far beyond forging one
frame to match, and it halves the digests' share of the signed ledger (about 4 kbit/s of
footage at 30 fps; see BENCHMARKS.md). The chunk's media as a whole carries its full SHA-256
(F_PLAIN_SHA).
"""

import hashlib

FRAME_DIGEST_LEN = 16


def frame_digest(frame: bytes) -> bytes:
    """The digest the ledger keeps for one encoded frame or audio block."""
    return hashlib.sha256(frame).digest()[:FRAME_DIGEST_LEN]


class FrameHashes:
    """The digests of one chunk's frames, in capture order."""

    def __init__(self) -> None:
        self.digests: list = []

    def add(self, frame: bytes) -> bytes:
        """Hash one encoded frame and remember its digest."""
        digest = frame_digest(frame)
        self.digests.append(digest)
        return digest

    def take(self) -> list:
        """The digests so far, and start a new chunk."""
        out = self.digests
        self.digests = []
        return out
