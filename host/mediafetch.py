"""A recording's objects fetched into a private folder of files, for the readers that copy
files: the export (``host.mp4export`` reads one file per fragment) and the court package,
each of which checks every chunk against its signed hash as it reads it. ``Fetched`` stands
in for the embedded store's files (``media_file``, ``read_media``)."""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from host.evidence import EvidenceError
from host.mediasource import MediaMissing, MediaSource, MediaUnreachable
from host.problems import Said
from protocol.ledger import media_digest

if TYPE_CHECKING:
    from host.pgstore import PgEvidenceStore

FETCHERS = 4  # objects fetched at once: the gateway serves several as fast as one


class Fetched:
    """A recording's media fetched into a folder of files (``fetch``): the shape an export
    reads the embedded store in, ``media_file`` (a path per digest) and ``read_media``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def media_file(self, digest: bytes) -> Path:
        return self.folder / bytes(digest).hex()

    def read_media(self, digest: bytes) -> bytes:
        try:
            return self.media_file(digest).read_bytes()
        except FileNotFoundError:
            raise EvidenceError("no media %s in the evidence store" % digest.hex()) from None


def fetch(source: MediaSource, digests: "list[bytes]", folder: Path) -> Fetched:
    """Bring the media of ``digests`` into files in ``folder`` (FETCHERS at a time), as the
    object store holds them: the readers check every chunk against its signed hash
    themselves, so a changed object is kept as it came, for them to name and refuse. A
    digest the store does not hold gets no file (its reader says so). MediaUnreachable
    when the object store cannot be asked; nothing is left half-written under a digest's
    name (each file is written under another first)."""
    folder.mkdir(parents=True, exist_ok=True)

    def one(digest: bytes) -> None:
        target = folder / bytes(digest).hex()
        if target.exists():
            return
        part = target.with_name(target.name + ".part")
        try:
            blocks = source.read_range(digest)
        except MediaMissing:
            return
        with open(part, "wb") as fh:
            for block in blocks:
                fh.write(block)
        os.replace(part, target)

    unique = list(dict.fromkeys(bytes(d) for d in digests))
    with ThreadPoolExecutor(FETCHERS) as pool:
        for done in [pool.submit(one, d) for d in unique]:
            done.result()
    return Fetched(folder)


class FetchProblem(Said):
    """A recording's objects could not all be fetched; the message (one line) says which
    and why."""


def fetch_chunks(store: "PgEvidenceStore", chunks: list, folder: Path) -> Fetched:
    """The media of ``chunks`` (chunk entries) fetched from the scale-out store into
    ``folder``. FetchProblem when the object store does not answer, or when an object the
    store recorded is not in its bucket (the chunk named). A chunk never stored gets no
    file, for its reader to say it is not yet synced; a changed object is kept as it came,
    for the caller's own check to refuse by its seq."""
    try:
        files = fetch(store.media_source(), [media_digest(e.fields) for e in chunks], folder)
    except MediaUnreachable as exc:
        raise FetchProblem.said("export.objects_unreachable", why=exc) from None
    for e in chunks:
        digest = media_digest(e.fields)
        if not files.media_file(digest).exists() and store.version_of(digest) is not None:
            raise FetchProblem.said(
                "export.object_missing", seq=e.seq, digest=digest.hex(), bucket=store.media.url
            )
    return files
