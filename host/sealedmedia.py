"""Sealed footage opened for an export (R-DEV-3): the evidence store as an export reads it,
with every chunk sealed to the agency's X25519 key decrypted on the way.

A sealed chunk's entry signs both hashes: F_CIPHER_SHA of the sealed bytes the store holds
and F_PLAIN_SHA of the footage inside. ``OpenedMedia.open`` is the MP4 exporter's
``ChunkOpener`` (``host.mp4export`` checks the sealed bytes against F_CIPHER_SHA first);
for the video exporter, ``OpenedMedia.read_media(plain_sha)`` finds the chunk, reads its
sealed bytes, checks them against F_CIPHER_SHA and opens them. Either way the exporter then
checks the plaintext against F_PLAIN_SHA as it does for footage that was never sealed.
Sealed bytes that fail their hash are refused (or marked) as changed, naming the chunk.
"""

import hashlib

from host.errors import Unusable
from host.evidence import MediaReader
from host.problems import Said
from protocol.ledger import Entry
from protocol.registry import F_CIPHER_SHA, F_PLAIN_SHA, KIND_CHUNK
from protocol.sealing import SealingError, open_sealed

CIPHER_NAME = "libsodium sealed box (X25519, XSalsa20-Poly1305)"


class SealedMediaProblem(Said, Unusable):
    """Sealed footage cannot be opened with the key given; the message says what to do."""


def is_sealed(chunks: list) -> bool:
    return any(F_CIPHER_SHA in e.fields for e in chunks)


class OpenedMedia:
    """The store's media as an export reads it (``read_media`` by the plaintext SHA-256),
    the sealed chunks among ``chunks`` opened with ``private`` (the agency's X25519 key)."""

    def __init__(self, store: MediaReader, chunks: list, private: bytes, key_name: str) -> None:
        self.store = store
        self.private = private
        self.key_name = key_name  # how messages name the key: its file and fingerprint
        self.sealed: dict = {}  # plaintext SHA-256 -> the chunk entry that seals it
        for e in chunks:
            if e.kind == KIND_CHUNK and F_CIPHER_SHA in e.fields:
                self.sealed.setdefault(e.fields[F_PLAIN_SHA], e)
        self.opened = 0  # chunks decrypted so far

    def read_media(self, digest: bytes) -> bytes:
        e = self.sealed.get(digest)
        if e is None:
            return self.store.read_media(digest)
        sealed = self.store.read_media(e.fields[F_CIPHER_SHA])
        if hashlib.sha256(sealed).digest() != e.fields[F_CIPHER_SHA]:
            return sealed  # not what the device sealed: the exporter names the chunk
        return self.open(e, sealed)

    def open(self, entry: Entry, sealed: bytes) -> bytes:
        """The plaintext of chunk ``entry``'s sealed bytes (already checked against its
        F_CIPHER_SHA): ``host.mp4export``'s ChunkOpener."""
        try:
            plain = open_sealed(sealed, self.private)
        except SealingError:
            raise SealedMediaProblem.said(
                "export.seal_other_key", seq=entry.seq, key=self.key_name
            ) from None
        self.opened += 1
        return plain
