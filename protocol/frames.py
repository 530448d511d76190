"""Per-frame hashing: the SHA-256 of every frame, taken the moment it is captured.

A chunk entry lists these digests in capture order, so a lost or changed frame is pinpointed
to its index, as in ONVIF Media Signing's per-NAL-unit mode.
"""

import hashlib


class FrameHashes:
    """The digests of one chunk's frames, in capture order."""

    def __init__(self) -> None:
        self.digests: list = []

    def add(self, frame: bytes) -> bytes:
        """Hash one encoded frame and remember its digest."""
        digest = hashlib.sha256(frame).digest()
        self.digests.append(digest)
        return digest

    def take(self) -> list:
        """The digests so far, and start a new chunk."""
        out = self.digests
        self.digests = []
        return out
