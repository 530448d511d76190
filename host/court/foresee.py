"""The SHA-256 and size an fMP4 recording's ``video.mp4`` will have, foreseen from the store.

The note lists every file of the package with its SHA-256, the video's too, and its PDF
takes a second to lay out; made after the video's export, that second adds to the package's
time. But the export is foreseeable: the initialisation segment and the fragments as
stored, end to end, then the pause subtitles and the evidence box that the export makes
from the recording's entries (``host.mp4export``: the same functions here). Hashed from the
store's files (in the page cache) beside the export, this gives the note, and its PDF, while
the export still runs.

A foreseen hash is only a guess at the file: the package lists the SHA-256 the export
computed of the bytes it wrote and checked. Where the two differ (a store file changed under
the export, or an export that writes its file otherwise than foreseen here), the note made
from the guess is not the note of the package, and is made again; so a wrong guess costs
time, never a wrong note.
"""

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from host import mp4evidence
from host.mp4export import note_fragment, pause_notes, tool_version
from protocol import mp4
from protocol.ledger import media_digest
from protocol.registry import F_MEDIA_TYPE, MEDIA_MP4, MEDIA_MP4_INIT

if TYPE_CHECKING:
    from host.evidence import SqliteEvidenceStore

READ = 1 << 20


@dataclass
class Video:
    """What the export of one fMP4 recording will write: the store's media of ``digests``
    (the init segment, then the fragments) end to end, the pause subtitles, the evidence
    box of the recording's entries. Made here, hashed in the process beside (``digest``)."""

    digests: list
    subtitles: bytes
    device: str
    public_key: bytes
    rec_id: bytes
    entries: list  # the recording's entries as signed
    extractor: str
    now_ms: int

    def digest(self, store: "SqliteEvidenceStore") -> "tuple[str, int] | None":
        """(SHA-256 hex, size) of the file as foreseen; None if a store file cannot be read
        (the export says what is wrong)."""
        body = mp4evidence.payload(
            self.device,
            self.public_key,
            self.rec_id,
            self.entries,
            {
                "by": self.extractor,
                "at": _iso(self.now_ms),
                "at_ms": self.now_ms,
                "tool": tool_version(),
                "source": "sealcam evidence store",
            },
        )
        paths = [store.media_file(d) for d in self.digests]
        return _digest(paths, self.subtitles + mp4evidence.box(body))


def plan(
    store: "SqliteEvidenceStore",
    device: str,
    public_key: bytes,
    span: list,
    rec_id: bytes,
    chunks: list,
    extractor: str,
    now_ms: int,
) -> "Video | None":
    """What ``export_fmp4`` would write for ``chunks`` (the init segment first); None where
    it could not write it."""
    if not chunks or chunks[0].fields.get(F_MEDIA_TYPE) != MEDIA_MP4_INIT:
        return None
    fragments = [e for e in chunks[1:] if e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4]
    digests = [media_digest(e.fields) for e in [chunks[0], *fragments]]
    try:
        tracks = mp4.read_init(store.media_file(digests[0]).read_bytes())
    except (OSError, mp4.Mp4Error):
        return None  # the export says what is wrong
    subtitles = b""
    text = [t for t in tracks if t.handler == mp4.HANDLER_TEXT]
    notes = pause_notes(span, rec_id) if span else []
    if notes and text:
        subtitles = note_fragment(notes, text[0], len(fragments) + 1)
    return Video(
        digests, subtitles, device, public_key, rec_id, [e.raw for e in span], extractor, now_ms
    )


def _digest(paths: list, tail: bytes) -> "tuple[str, int] | None":
    h = hashlib.sha256()
    size = 0
    buf = bytearray(READ)
    view = memoryview(buf)
    try:
        for path in paths:
            with open(path, "rb", buffering=0) as f:
                while True:
                    n = f.readinto(buf)
                    if not n:
                        break
                    h.update(view[:n])
                    size += n
    except OSError:
        return None
    h.update(tail)
    return h.hexdigest(), size + len(tail)


def _iso(ms: int) -> str:
    """The export's time of extraction, as its evidence box writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)
