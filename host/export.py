"""Evidence export: one recording as a video file a person can open, with its note (R-HOST-4).

The recording's video chunks are read from the host evidence store in ledger order. Before a
chunk is used its media is hashed and compared with the SHA-256 its signed entry names, and
the recording's span of the device's ledger is verified against the enrolled key, so the
file holds exactly the footage the device signed (R-HOST-5); a changed chunk is refused, or,
when the caller asks, kept with a visible mark and named in the note.

Only the span is read, parsed and verified (``host.spans``): the entries from the
recording's record-start to its record-stop, on to the first signed entry, found by seq in
the store without reading the rest of the ledger, and the link into it: its first entry must
chain to the hash the store holds of the entry before it, so a chain broken at the span's
start is found. Every signature and link inside the span is checked; a broken one stops the
export. One elsewhere in the device's ledger (another recording) does not stop this export:
``sealcam verify`` of the store, and the violation reports, judge the whole ledger. So an
export costs the recording's length, whatever the device has docked before or since.
The span is read and parsed once; its verification runs in a worker process
(``host.sigworker.LedgerWorker``) while an MP4 export copies and checks the fragments, and
its verdict is taken before the file is made final.
Each chunk is cut into its frames by the per-frame digests of its entry, the JPEG frames are
decoded and written at the recording's frame rate as AVI (Motion JPEG, the originals' own kind
of frames, no sound) or as MP4: an H.264 derivative with the recording's PCM sound as AAC
(``host.derivative``), labelled in its metadata and in the note as a derivative and linked to
the signed originals by their hashes.
Beside the file goes a JSON note: who extracted it and when, the device and officer that made
it, the recording, every chunk's seq and hash, and the store it came from.

A recording made in fMP4 mode (an initialisation segment and MP4 fragments) is exported by
``host.mp4export`` instead: its signed fragments unchanged, with its pause notes and the
evidence that makes the file verify alone; the note beside it says so.

Sealed footage (R-DEV-3) is ciphertext here; given the agency's X25519 private key
(``agency_key``), the export opens it on the way (``host.sealedmedia``) and says, in the file
and in the note, that it was decrypted for export, by whom and with which key. Given the
agency's signing identity (``sign_with``), an MP4 export also carries Content Credentials, a
C2PA manifest signed with the agency's certificate (``host.contentcred``).

On the scale-out store (``postgresql://...`` with its bucket, ``host.pgstore``) the
recording's objects are first fetched, in order, into a private folder beside the output
(``host.mediafetch.fetch``), and the export reads them there as
it reads the embedded store's files; the folder is removed whatever happens. An object the
store recorded and the bucket does not give, or an object store that does not answer, stops
the export before anything is written, the chunk named.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from host import i18n, retention, spans
from host.evidence import (
    EvidenceError,
    MediaFiles,
    MediaReader,
    SqliteEvidenceStore,
    StoreUnopenable,
)
from host.files import fsync_dir, write_atomic
from host.problems import Said
from host.recordings import recording_number
from host.sigworker import LedgerWorker
from protocol.frames import frame_digest
from protocol.ledger import Entry, media_digest
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_CHUNK_INDEX,
    F_CIPHER_SHA,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_SHA,
    F_RECORDING,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
    MEDIA_H264,
    MEDIA_H265,
    MEDIA_MJPEG,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    MEDIA_NAMES,
    MEDIA_PCM,
)
from protocol.verify import NOT_OK, UNKNOWN_KEY

if TYPE_CHECKING:  # OpenCV and numpy load only when an export runs, not with every command
    from collections.abc import Callable

    import cv2
    import numpy as np

    from host.agencykeys import SealKey, SigningIdentity
    from host.derivative import H264Derivative
    from host.mediafetch import Fetched
    from host.pgstore import PgEvidenceStore
    from host.sealedmedia import OpenedMedia

# File suffix -> (FourCC, or "h264" for the PyAV derivative; what the note calls the format).
FORMATS = {
    ".avi": ("MJPG", "AVI, Motion JPEG"),
    ".mp4": ("h264", "MP4, H.264 derivative (re-encoded from the signed Motion JPEG)"),
}
DERIVATIVE = "h264"
VIDEO_MEDIA = (MEDIA_H264, MEDIA_H265, MEDIA_MJPEG)
FMP4_MEDIA = (MEDIA_MP4_INIT, MEDIA_MP4)  # an fMP4 recording's chunks (host.mp4export)
JPEG_START = b"\xff\xd8"
JPEG_END = b"\xff\xd9"
MIN_FPS, MAX_FPS = 0.1, 240.0


class ExportError(Said):
    """The export cannot be made from this input; the message says what to do. Made by
    ``said`` (or ``passing`` another problem made so), it keeps its message's id and fields
    too, so that a reader in another language (a page's) can say it again in its own."""


class NotAuthentic(ExportError):
    """The footage is not what the device signed: a changed chunk or a broken ledger."""


# --- the recording's chunks ----------------------------------------------------------------


def video_chunks(entries: list, rec_id: bytes) -> list:
    """The chunks of a recording that hold its video: its JPEG (or raw H.264/H.265) video
    chunks, or, for a recording in fMP4 mode, its initialisation segment and fragments."""
    chunks = [
        e
        for e in entries
        if e.kind == KIND_CHUNK
        and e.fields.get(F_RECORDING) == rec_id
        and e.fields.get(F_MEDIA_TYPE) in VIDEO_MEDIA + FMP4_MEDIA
    ]
    if any(e.fields[F_MEDIA_TYPE] in FMP4_MEDIA for e in chunks):
        return [e for e in chunks if e.fields[F_MEDIA_TYPE] in FMP4_MEDIA]
    return chunks


def pick_recording(
    store: "spans.LedgerRows", recording: int | None, device_id: str
) -> "spans.Span":
    """The span (``host.spans``) of recording ``recording`` (its number), or of the newest
    one with video, read from the store by seq: the rest of the ledger is not read. A span
    without entries: the store holds no such recording (the caller verifies what was read,
    then says so with ``no_such_recording``)."""
    if recording is None:
        # Rows deleted from the ledger's end would leave an older recording as the newest
        # the store holds: the gap's span, verified, refuses the export instead.
        gone = spans.deleted_tail(store, device_id)
        if gone is not None:
            # Unless the gap cut the newest recording short (its record-start kept): its
            # span then runs to the gap and is refused under its own number.
            newest = next(spans.starts(store, device_id, damaged=True), None)
            cut = spans.read(store, device_id, newest) if newest is not None else gone
            return cut if cut.entries and cut.held_to is not None else gone
        # Newest first: usually the first. A damaged event is a candidate (it may have been
        # the newest record-start): its span, verified, refuses the export rather than the
        # recording before it being given in its place.
        for rec_id in spans.starts(store, device_id, damaged=True):
            span = spans.read(store, device_id, rec_id)
            if span.entries and video_chunks(span.entries, rec_id):
                return span
            if not span.entries and span.records:
                return span  # the caller verifies it, then says no such recording
        raise ExportError.said("export.no_video_recording", device=device_id)
    if recording < 0 or recording >= 1 << 64:
        raise ExportError.said("export.bad_recording_number", number=recording)
    return spans.read(store, device_id, recording.to_bytes(8, "big"))


def no_such_recording(store: "spans.LedgerRows", recording: int, device_id: str) -> ExportError:
    """The refusal of a recording number the device's ledger does not hold, naming its ten
    newest recordings (read from the newest down, no further)."""
    ids: list = []
    for rec_id in spans.starts(store, device_id):
        ids.insert(0, rec_id)
        if len(ids) > 10:
            break
    known = ", ".join("%d (%s)" % (recording_number(r), r.hex()) for r in ids[-10:])
    return ExportError(
        i18n.text(
            "export.no_such_recording",
            device=device_id,
            number=recording,
            last=i18n.text("export.last_ten") if len(ids) > 10 else "",
            known=known or i18n.text("export.none"),
        )
    )


def split_frames(media: bytes, digests: list) -> list | None:
    """Cut a chunk's JPEG frames apart where the signed per-frame digests say; None when the
    media does not split into frames with exactly those digests."""
    frames = []
    pos = 0
    for digest in digests:
        end = media.find(JPEG_END, pos)
        while end >= 0 and frame_digest(media[pos : end + 2]) != digest:
            # An end marker can also occur inside a frame's headers; try the next one.
            end = media.find(JPEG_END, end + 2)
        if end < 0:
            return None
        frames.append(media[pos : end + 2])
        pos = end + 2
    return frames if pos == len(media) else None


def split_loosely(media: bytes) -> list:
    """Best-effort cut of changed media into JPEG frames, at each end marker before a start."""
    frames = []
    pos = 0
    while pos < len(media):
        end = media.find(JPEG_END + JPEG_START, pos)
        if end < 0:
            frames.append(media[pos:])
            break
        frames.append(media[pos : end + 2])
        pos = end + 2
    return frames


def frame_rate(chunks: list) -> float:
    """Frames per second from the chunks' signed frame counts and start and end times: the
    median over the chunks, so a chunk that a stop or pause closed late does not skew it."""
    rates = []
    for e in chunks:
        n = len(e.fields[F_FRAME_HASHES])
        span = e.fields[F_END_MS] - e.fields[F_START_MS]
        if n > 1 and span > 0:
            rates.append(1000 * n / span)
    if not rates:
        return 1.0
    return round(min(MAX_FPS, max(MIN_FPS, statistics.median(rates))), 3)


# --- the export -----------------------------------------------------------------------------


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def _check_output(out_path: str) -> tuple:
    suffix = Path(out_path).suffix.lower()
    if suffix not in FORMATS:
        raise ExportError.said("export.unknown_format", path=repr(out_path))
    parent = Path(out_path).resolve().parent
    if not parent.is_dir():
        raise ExportError.said("export.no_folder", folder=parent)
    return FORMATS[suffix]


def _chunk_frames(store: "MediaReader", e: Entry, mark_changed: bool) -> tuple:
    """``(frames, changed)`` of one video chunk, checked against its signed entry."""
    f = e.fields
    try:
        media = store.read_media(f[F_PLAIN_SHA])
    except EvidenceError:
        raise ExportError.said("export.chunk_not_synced", seq=e.seq) from None
    if hashlib.sha256(media).digest() == f[F_PLAIN_SHA]:
        if not media.startswith(JPEG_START):
            raise ExportError.said(
                "export.not_jpeg",
                seq=e.seq,
                media=MEDIA_NAMES.get(f[F_MEDIA_TYPE], "video"),
            )
        frames = split_frames(media, list(f[F_FRAME_HASHES]))
        if frames is None:
            raise ExportError.said("export.bad_frames", seq=e.seq)
        return frames, False
    if not mark_changed:
        raise NotAuthentic.said("export.changed_chunk", seq=e.seq)
    return split_loosely(media), True


def _decode(frame: bytes) -> "np.ndarray | None":
    import cv2
    import numpy as np

    return cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)


def _mark(image: "np.ndarray", seq: int) -> None:
    """Burn a red warning across the top of a frame from a changed chunk."""
    import cv2

    w = image.shape[1]
    scale = max(0.4, w / 1600)
    text = "CHANGED: not the footage signed in chunk seq %d" % seq
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(image, (0, 0), (w, th + base + 8), (0, 0, 200), -1)
    cv2.putText(
        image,
        text,
        (6, th + 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        max(1, int(scale * 2)),
        cv2.LINE_AA,
    )


class _Video:
    """The video file being written, opened at the first frame (which sets its size): with
    OpenCV for a FourCC, or, for ``DERIVATIVE``, as a labelled H.264 derivative with PyAV
    (``metadata`` its title and comment; sound when ``audio_rate`` is given)."""

    def __init__(
        self,
        path: Path,
        fourcc: str,
        fps: float,
        metadata: dict | None = None,
        audio_rate: int | None = None,
    ) -> None:
        self.path = path
        self.fourcc = fourcc
        self.fps = fps
        self.writer: cv2.VideoWriter | None = None
        self.size = (0, 0)
        self.frames = 0
        self.derivative: H264Derivative | None = None
        if fourcc == DERIVATIVE:
            from host import derivative

            self.derivative = derivative.H264Derivative(path, fps, metadata or {}, audio_rate)

    def add(self, image: "np.ndarray", changed_seq: int | None) -> None:
        import cv2

        if self.derivative is not None:
            if changed_seq is not None:
                _mark(image, changed_seq)
            self._encode(image)
            self.size = self.derivative.size
            self.frames = self.derivative.frames
            return
        h, w = image.shape[:2]
        if self.writer is None:
            self.size = (w, h)
            code = cv2.VideoWriter.fourcc(*self.fourcc)
            writer = cv2.VideoWriter(str(self.path), code, self.fps, self.size)
            if not writer.isOpened():
                raise ExportError.said(
                    "export.opencv_cannot", fourcc=self.fourcc, suffix=self.path.suffix
                )
            self.writer = writer
        elif (w, h) != self.size:
            image = cv2.resize(image, self.size)
        if changed_seq is not None:
            _mark(image, changed_seq)
        self.writer.write(image)
        self.frames += 1

    def _encode(self, image: "np.ndarray") -> None:
        from host.derivative import DerivativeProblem

        assert self.derivative is not None
        try:
            self.derivative.add(image)
        except DerivativeProblem as exc:
            raise ExportError.passing(exc) from None

    @property
    def has_sound(self) -> bool:
        return self.derivative is not None and self.derivative.audio_rate is not None

    def add_audio(self, pcm: bytes, at_s: float) -> None:
        """PCM samples meant to start ``at_s`` seconds in (the derivative only; an AVI has
        no sound). Nothing is written before the first frame has opened the file."""
        from host.derivative import DerivativeProblem

        if self.derivative is None or not self.derivative.frames:
            return
        try:
            self.derivative.add_audio(pcm, at_s)
        except DerivativeProblem as exc:
            raise ExportError.passing(exc) from None

    def close(self) -> None:
        if self.derivative is not None:
            self.derivative.close()
        if self.writer is not None:
            self.writer.release()
            self.writer = None


def _file_sha256(path: Path) -> str:
    """Make ``path`` durable and return its SHA-256 (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def note_json(note: dict) -> bytes:
    """The note as indented JSON text, each row of its chunk table on one line.

    An hour's table has thousands of rows: ``json.dumps`` with ``indent`` writes them in
    pure Python, and without it in C; a row a line also reads and compares more easily."""
    chunks = note.get("chunks")
    if not isinstance(chunks, list) or not chunks:
        return (json.dumps(note, indent=2) + "\n").encode()
    # The table goes in where a placeholder no note value can hold stands.
    placeholder = json.dumps("chunk table %s" % os.urandom(16).hex())
    top = json.dumps(dict(note, chunks=json.loads(placeholder)), indent=2)
    rows = ",\n".join("    " + json.dumps(c) for c in chunks)
    return (top.replace(placeholder, "[\n%s\n  ]" % rows, 1) + "\n").encode()


def export_recording(
    evidence_dir: str,
    device_id: str,
    recording: int | None,
    out_path: str,
    extractor: str,
    mark_changed: bool = False,
    now_ms: int | None = None,
    sign_with: str | None = None,
    agency_key: str | None = None,
    gate: "Callable[[int], None] | None" = None,
    media: str | None = None,
    span: "spans.Span | None" = None,
    verdict: "Callable[[], object] | None" = None,
) -> dict:
    """Export recording number ``recording`` of ``device_id`` (None: its newest) to
    ``out_path`` (.avi or .mp4) and write the note ``out_path + ".json"``; return the note.
    ``sign_with``: the folder of the agency's signing identity (an MP4 of an fMP4 recording
    then carries a C2PA manifest); ``agency_key``: the agency's X25519 private key file,
    which opens sealed footage. ``gate``, given the recording's number once it is known and
    before anything is written, may stop the export by raising (the evidence rules:
    ``host.access``). ``evidence_dir`` may be a scale-out store's ``postgresql://...`` URL,
    ``media`` then its bucket, ``s3://BUCKET``. ``span`` and ``verdict``: the recording's
    span already read from this store (``host.spans``) and the verdict on it (a callable
    that raises when the span is not what the device signed, as ``export_fmp4``'s
    ``ledger``), given by a caller that verifies the span itself (the court package):
    neither is then done again.

    Raises NotAuthentic when the footage is not what the device signed, ExportError when the
    input cannot be used (no such store, device or recording; sealed footage without the
    agency key, or missing media); Unusable for a key file that is not one.
    """
    if not extractor.strip():
        raise ExportError.said("export.need_extractor")
    fourcc, format_name = _check_output(out_path)
    from host import agencykeys

    identity = agencykeys.load_signing(sign_with) if sign_with else None
    seal = agencykeys.load_seal_key(agency_key) if agency_key else None
    root = Path(evidence_dir)
    store = _open_store(evidence_dir, media)
    ledger: _Ledger | None = None
    fetched: Path | None = None
    try:
        try:
            public, ledger, entries, rec_id, chunks = _recording(
                store, device_id, recording, mark_changed, seal is not None, span, verdict
            )
        except sqlite3.Error as exc:
            raise ExportError.said(
                "export.store_unreadable", store=evidence_dir, problem=exc
            ) from None
        try:
            if gate is not None:
                gate(recording_number(rec_id))
            number = recording_number(rec_id)
            digests = [media_digest(e.fields) for e in chunks]
            deleted = retention.deleted_note(store.query, digests)
            if deleted is not None:  # its media removed under the retention rules, not lost
                raise ExportError.said(
                    "retention.export_deleted", **retention.deleted_fields(deleted, number)
                )
            out = Path(out_path)
            # Said before anything is fetched: it needs no media.
            if identity is not None and chunks[0].fields[F_MEDIA_TYPE] not in FMP4_MEDIA:
                raise ExportError.said("export.sign_needs_fmp4", number=number)
            if isinstance(store, SqliteEvidenceStore):
                files: MediaFiles = store
            else:  # objects: fetched into a folder of files, then read as the store's are
                fetched = Path(tempfile.mkdtemp(prefix=".sealcam-fetch-", dir=out.resolve().parent))
                files = _fetch(store, entries, rec_id, fetched)
            reader, opened = _opened(files, chunks, seal, extractor)
            if chunks[0].fields[F_MEDIA_TYPE] in FMP4_MEDIA:
                opener = reader if opened else None  # the sealed chunks' ChunkOpener
                note = _export_fmp4(files, public, entries, rec_id, chunks, out, extractor,
                                    mark_changed, now_ms, identity, opened, opener,
                                    ledger.check)  # fmt: skip
                note.update(
                    {
                        "device_id": device_id,
                        "device_key_sha256": hashlib.sha256(public).hexdigest(),
                        "made_by": _makers(entries, rec_id, device_id),
                        "recording": _recording_note(entries, rec_id),
                        "ledger_verification": ledger.check(),
                        "source_store": _source_name(store, root),
                    }
                )
                if opened:
                    note["decrypted_for_export"] = dict(opened, chunks=reader.opened)
                write_atomic(Path(str(out) + ".json"), note_json(note))
                return note
            state = ledger.check()  # before anything is written
            tmp = out.with_name(".%s.tmp-%d%s" % (out.stem, os.getpid(), out.suffix))
            sound: list = []
            derivative = None
            if fourcc == DERIVATIVE:
                from host.derivative import pcm_rate

                sound = pcm_chunks(entries, rec_id, reader)
                metadata, derivative = _derivative_facts(chunks, sound, number)
                rate = pcm_rate(sound) if sound else None
                video = _Video(tmp, fourcc, frame_rate(chunks), metadata, rate)
            else:
                video = _Video(tmp, fourcc, frame_rate(chunks))
            try:
                chunk_notes, undecodable = _write_chunks(reader, chunks, video, mark_changed, sound)
                video.close()
                if not video.frames:
                    raise ExportError.said("export.no_frame_decoded", number=number)
                sha = _file_sha256(tmp)
                os.replace(tmp, out)
            finally:
                video.close()
                tmp.unlink(missing_ok=True)
        except ExportError:
            # A broken ledger is said first, whatever else went wrong, as when the ledger
            # was verified before anything else.
            ledger.check()
            raise
    finally:
        if ledger is not None:
            ledger.close()
        store.close()
        if fetched is not None:
            shutil.rmtree(fetched, ignore_errors=True)
    fsync_dir(out.resolve().parent)
    width, height = video.size
    note = _note(out, sha, format_name, (video.frames, width, height, video.fps), extractor, now_ms)
    note.update(
        {
            "device_id": device_id,
            "device_key_sha256": hashlib.sha256(public).hexdigest(),
            "made_by": _makers(entries, rec_id, device_id),
            "recording": _recording_note(entries, rec_id),
            "chunks": [c for c in chunk_notes if "sound" not in c],
            "changed_chunks": [c["seq"] for c in chunk_notes if not c["matches_signed_hash"]],
            "undecodable_frames": undecodable,
            "ledger_verification": state,
            "source_store": _source_name(store, root),
        }
    )
    if derivative is not None:
        note["note"] += "; a derivative: H.264 re-encoded from the signed originals"
        note["derivative"] = derivative
        note["sound_chunks"] = [c for c in chunk_notes if "sound" in c]
    if not sound:
        note["not_included"] = (
            "sound: the recording's audio chunks are in the evidence store; this video file "
            "has none"
        )
    if opened:
        note["decrypted_for_export"] = dict(opened, chunks=reader.opened)
    write_atomic(Path(str(out) + ".json"), note_json(note))
    return note


def _open_store(evidence: str, media: str | None) -> "SqliteEvidenceStore | PgEvidenceStore":
    """The store, read only (an export never creates, cleans or writes anything in it): the
    folder ``evidence``, or the scale-out store at its URL with its bucket ``media``."""
    from host.pgstore import is_url

    if is_url(evidence):
        from host.pgstore import PgEvidenceStore

        if not media:
            raise ExportError.said("scaleout.need_media")
        try:
            return PgEvidenceStore(evidence, media, readonly=True)
        except StoreUnopenable as exc:
            raise ExportError.passing(exc) from None
    root = Path(evidence)
    if not (root / "evidence.db").is_file():
        raise ExportError.said("export.not_a_store", path=evidence)
    try:
        return SqliteEvidenceStore(root, readonly=True)
    except StoreUnopenable as exc:
        raise ExportError.passing(exc) from None


def _shown_store(store: "SqliteEvidenceStore | PgEvidenceStore") -> str:
    """The store as a message names it: its folder as given, or its database's URL
    without the password."""
    if isinstance(store, SqliteEvidenceStore):
        return str(store.root)
    from host.pgstore import _shown

    return _shown(store.url)


def _source_name(store: "SqliteEvidenceStore | PgEvidenceStore", root: Path) -> str:
    """The store the note names: its folder, or its database (no password) and bucket."""
    if isinstance(store, SqliteEvidenceStore):
        return str(root.resolve())
    from host.pgstore import _shown

    return "%s %s" % (_shown(store.url), store.media.url)


def _fetch(store: "PgEvidenceStore", entries: list, rec_id: bytes, folder: Path) -> "Fetched":
    """The recording's media (every chunk of it: video, fragments, sound) fetched from the
    object store into ``folder`` (``host.mediafetch.fetch_chunks``); ExportError, in one
    line, where they cannot all be."""
    from host.mediafetch import FetchProblem, fetch_chunks

    chunks = [e for e in entries if e.kind == KIND_CHUNK and e.fields.get(F_RECORDING) == rec_id]
    try:
        return fetch_chunks(store, chunks, folder)
    except FetchProblem as exc:
        raise ExportError.passing(exc) from None


def _opened(store: "MediaFiles", chunks: list, seal: "SealKey | None", extractor: str) -> tuple:
    """``(media, facts)``: the store as the export reads its media (sealed chunks opened with
    the agency key ``seal``), and the facts of that decryption ({} when nothing is sealed)."""
    from host import sealedmedia

    if seal is None or not sealedmedia.is_sealed(chunks):
        return store, {}
    name = i18n.text("export.seal_key_name", path=seal.path, fingerprint=seal.fingerprint)
    facts = {
        "decrypted": "sealed on the device to the agency's X25519 key (R-DEV-3, %s); "
        "decrypted for this export" % sealedmedia.CIPHER_NAME,
        "decrypted_by": extractor,
        "decrypted_with": "agency seal key %s (X25519 public key fingerprint)" % seal.fingerprint,
    }
    return sealedmedia.OpenedMedia(store, chunks, seal.private, name), facts


def _export_fmp4(
    store: "MediaFiles",
    public: bytes,
    entries: list,
    rec_id: bytes,
    chunks: list,
    out: Path,
    extractor: str,
    mark_changed: bool,
    now_ms: int | None,
    identity: "SigningIdentity | None" = None,
    opened: dict | None = None,
    opener: "OpenedMedia | None" = None,
    ledger: "Callable[[], object] | None" = None,
) -> dict:
    """The MP4 export of an fMP4 recording (``host.mp4export``), and the start of its note;
    signed with the agency's C2PA manifest when ``identity`` is given (``host.contentcred``),
    and saying it was decrypted for export when ``opened`` holds those facts. ``ledger`` is
    called once the fragments are written and checked, before the file is made final: it
    raises when the ledger is not what the device signed."""
    from host import contentcred, mp4export
    from host.sealedmedia import SealedMediaProblem

    if out.suffix.lower() != ".mp4":
        raise ExportError.said(
            "export.fmp4_needs_mp4", number=recording_number(rec_id), name=out.name
        )
    # Signed exports are written unsigned beside the output first, then signed into it.
    target = out if identity is None else out.with_name(".%s.unsigned-%d%s" % (
        out.stem, os.getpid(), out.suffix))  # fmt: skip
    try:
        facts = mp4export.export_fmp4(
            store, chunks[0].device_id, public, entries, rec_id, chunks, target, extractor,
            mark_changed, now_ms, opener, opened or None, ledger,
        )  # fmt: skip
        if identity is not None:
            started = _started_ms(entries, rec_id)
            facts = contentcred.sign_export(target, out, identity, facts, started)
    except mp4export.ChangedMedia as exc:
        raise NotAuthentic.said("export.changed_fragment", seq=exc.seq) from None
    except (mp4export.ExportProblem, SealedMediaProblem, contentcred.CredentialsProblem) as exc:
        raise ExportError.passing(exc) from None
    finally:
        if target != out:
            target.unlink(missing_ok=True)
    when = facts.pop("extracted_at_ms")
    note: dict = {
        "note": "evidence export (R-HOST-4): a copy made from the evidence store; the MP4 "
        "holds the recording's signed initialisation segment and fragments byte for byte "
        "(no re-encoding), an unsigned subtitle fragment with the pause notes, and the "
        "device-signed ledger entries with the device key (sealcam verify %s)" % out.name,
        "file": out.name,
        "file_bytes": out.stat().st_size,
        "extracted_by": extractor,
        "extracted_at": _iso(when),
        "extracted_by_tool": "sealcam export",
    }
    if opened:
        note["note"] += (
            "; the footage was sealed on the device to the agency's key (R-DEV-3) and was "
            "decrypted for this export by %s with %s" % (extractor, opened["decrypted_with"])
        )
    if identity is not None:
        note["note"] += (
            "; Content Credentials: a C2PA manifest signed with the agency's certificate "
            "(%s) whose %s assertion holds the same entries"
            % (identity.subject, contentcred.LEDGER_LABEL)
        )
    note.update(facts)
    return note


def _started_ms(entries: list, rec_id: bytes) -> int | None:
    """The wall time of the recording's record-start, in ms."""
    for e in entries:
        if e.kind != KIND_CHUNK and e.fields.get(F_RECORDING) == rec_id:
            if e.fields.get(F_EVENT) == EV_RECORD_START:
                return int(e.fields[F_WALL_MS])
    return None


class _Ledger:
    """The recording's span of the device's ledger (``host.spans``), read and parsed once,
    for the export and its verifier alike; the verification (the hash chain from the entry
    before the span, and every signature in it) runs in a worker process
    (``host.sigworker.LedgerWorker``) while the export copies and checks the recording's
    chunks. ``check`` takes the verdict; the export takes it before anything is made final
    (an MP4 export: before its file is made durable and renamed into place; any other:
    before its file is begun), so nothing is exported from a span that is not what the
    device signed."""

    def __init__(
        self,
        span: "spans.Span",
        public: bytes,
        mark_changed: bool,
        verdict: "Callable[[], object] | None" = None,
        newest: bool = False,
    ) -> None:
        self.device_id = span.device_id
        self.number = recording_number(span.rec_id)
        self.mark_changed = mark_changed
        # The newest recording asked for, and rows gone from the ledger's end instead
        # (``spans.deleted_tail``): the span names no recording, only the gap.
        self.tail_gone = newest and not span.entries and span.held_to is not None
        self.entries = span.entries
        self._verdict = verdict  # the caller's, who verifies the span itself
        self._worker = (
            LedgerWorker(
                span.records, span.device_id, public, resume=span.resume, held_to=span.held_to
            )
            if verdict is None
            else None
        )

    def check(self) -> str:
        """The ledger's state; NotAuthentic when it is not what the device signed (unless
        the caller asked to export changed footage anyway). With the caller's verdict,
        whatever it says or raises."""
        if self._worker is None:
            assert self._verdict is not None
            return str(self._verdict())
        report = self._worker.report()
        # Changed footage may be exported marked (``mark_changed``); a newest recording
        # deleted from the store cannot: what is left is an older one, not the newest.
        if report.state in (NOT_OK, UNKNOWN_KEY) and (self.tail_gone or not self.mark_changed):
            from host.report_text import finding_text

            # The finding as a person reads it, in the language of the refusal around it.
            first = (
                finding_text(report.findings[0]) if report.findings else i18n.verdict(report.state)
            )
            if self.tail_gone:
                raise NotAuthentic.said(
                    "export.newest_deleted",
                    device=self.device_id,
                    state=i18n.verdict(report.state),
                    first=first,
                )
            raise NotAuthentic.said(
                "export.ledger_not_ok",
                number=self.number,
                device=self.device_id,
                state=i18n.verdict(report.state),
                first=first,
            )
        return report.state

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()


def _recording(
    store: "SqliteEvidenceStore | PgEvidenceStore",
    device_id: str,
    recording: int | None,
    mark_changed: bool,
    can_open: bool = False,
    read: "spans.Span | None" = None,
    verdict: "Callable[[], object] | None" = None,
) -> tuple:
    """``(public key, ledger, entries, recording id, video chunks)``: the device enrolled,
    the recording's span of its ledger read, parsed and being verified (``_Ledger``), its
    video not sealed (unless ``can_open``: the agency key was given). ``read`` and
    ``verdict``: the span already read and the caller's verdict on it
    (``export_recording``)."""
    public = store.device_key(device_id)
    if public is None:
        enrolled = ", ".join(store.devices()) or i18n.text("export.none")
        raise ExportError.said(
            "export.not_enrolled",
            device=device_id,
            store=_shown_store(store),
            enrolled=enrolled,
        )
    span = read if read is not None else pick_recording(store, recording, device_id)
    ledger = _Ledger(span, public, mark_changed, verdict, newest=recording is None)
    try:
        entries = ledger.entries
        rec_id = span.rec_id
        if not entries:
            raise no_such_recording(store, recording_number(rec_id), device_id)
        chunks = video_chunks(entries, rec_id)
        number = recording_number(rec_id)
        if not chunks:
            raise ExportError.said("export.no_video_chunks", number=number, device=device_id)
        if any(F_CIPHER_SHA in e.fields for e in chunks) and not can_open:
            raise ExportError.said("export.sealed_need_key", number=number)
    except BaseException as exc:
        try:
            if isinstance(exc, ExportError):
                ledger.check()  # a broken ledger is said first, as before anything else
        finally:
            ledger.close()
        raise
    return public, ledger, entries, rec_id, chunks


def _write_chunks(
    store: "MediaReader",
    chunks: list,
    video: _Video,
    mark_changed: bool,
    audio: list | None = None,
) -> tuple:
    """Check, cut and decode each chunk in turn into ``video``, and, into a video with sound,
    the PCM ``audio`` chunks that start before the next video chunk; ``(chunk notes, frames
    that would not decode)``. One chunk's media is in memory at a time."""
    notes = []
    undecodable = 0
    sound = deque(audio or ()) if video.has_sound else deque()
    for i, e in enumerate(chunks):
        first_frame = video.frames
        frames, changed = _chunk_frames(store, e, mark_changed)
        for frame in frames:
            image = _decode(frame)
            if image is None:
                undecodable += 1
                continue
            video.add(image, e.seq if changed else None)
        notes.append(
            {
                "seq": e.seq,
                "chunk_index": e.fields[F_CHUNK_INDEX],
                "sha256": e.fields[F_PLAIN_SHA].hex(),
                "frames": len(frames),
                "start": _iso(e.fields[F_START_MS]),
                "end": _iso(e.fields[F_END_MS]),
                "matches_signed_hash": not changed,
            }
        )
        later = chunks[i + 1].fields[F_START_MS] if i + 1 < len(chunks) else None
        while sound and (later is None or sound[0].fields[F_START_MS] < later):
            a = sound.popleft()
            # The video is frame-counted, so a pause is a cut: sound is placed by its time
            # after the start of the video chunk it falls in, never before sound already laid.
            at_s = first_frame / video.fps + (a.fields[F_START_MS] - e.fields[F_START_MS]) / 1000
            pcm, changed = _pcm(store, a, mark_changed)
            notes.append(
                {
                    "seq": a.seq,
                    "chunk_index": a.fields[F_CHUNK_INDEX],
                    "sha256": a.fields[F_PLAIN_SHA].hex(),
                    "sound": "PCM",
                    "start": _iso(a.fields[F_START_MS]),
                    "end": _iso(a.fields[F_END_MS]),
                    "matches_signed_hash": not changed,
                }
            )
            if not changed:  # changed sound is left out (silence), and named in the note
                video.add_audio(pcm, max(0.0, at_s))
    if video.has_sound:
        video.add_audio(b"", video.frames / video.fps)  # silence to the end, never no track
    return notes, undecodable


def _pcm(store: "MediaReader", e: Entry, mark_changed: bool) -> tuple:
    """``(pcm, changed)`` of one PCM sound chunk, checked against its signed entry."""
    try:
        media = store.read_media(e.fields[F_PLAIN_SHA])
    except EvidenceError:
        raise ExportError.said("export.sound_not_synced", seq=e.seq) from None
    if hashlib.sha256(media).digest() == e.fields[F_PLAIN_SHA]:
        return media, False
    if not mark_changed:
        raise NotAuthentic.said("export.sound_changed", seq=e.seq)
    return b"", True


def pcm_chunks(entries: list, rec_id: bytes, media: "MediaReader") -> list:
    """A recording's raw PCM sound chunks in ledger order. Sealed ones are opened too when
    ``media`` opens the recording's sealed video (the agency key was given), else left out."""
    from host.sealedmedia import OpenedMedia

    opener = media if isinstance(media, OpenedMedia) else None
    out = []
    for e in entries:
        if (
            e.kind != KIND_CHUNK
            or e.fields.get(F_RECORDING) != rec_id
            or e.fields.get(F_MEDIA_TYPE) != MEDIA_PCM
        ):
            continue
        if F_CIPHER_SHA in e.fields:
            if opener is None:
                continue
            opener.sealed.setdefault(e.fields[F_PLAIN_SHA], e)
        out.append(e)
    return out


def _derivative_facts(chunks: list, sound: list, number: int) -> tuple:
    """``(MP4 metadata, the note's "derivative" field)`` of the H.264 derivative of a raw
    recording: what it is, and the signed originals it was made from by seq and SHA-256."""
    of = [
        {
            "seq": e.seq,
            "sha256": e.fields[F_PLAIN_SHA].hex(),
            "media": MEDIA_NAMES.get(e.fields[F_MEDIA_TYPE], "unknown"),
        }
        for e in sorted(chunks + sound, key=lambda e: e.seq)
    ]
    why = (
        "recording %d was recorded as JPEG frames%s (raw mode), which common players do "
        "not open; this file re-encodes them as H.264%s for viewing, so its bytes are not "
        "the signed footage: the originals are the signed chunks listed, by ledger seq and "
        "plaintext SHA-256, in the evidence store"
        % (number, " and PCM sound" if sound else "", " and AAC" if sound else "")
    )
    field = {"of": of, "codec": "H.264", "audio_codec": "AAC" if sound else None, "why": why}
    metadata = {
        "title": "DERIVATIVE of sealcam recording %d (re-encoded, not the signed footage)" % number,
        "comment": "Derivative: H.264%s re-encoded from the device-signed originals; verify "
        "those, not this file. Originals (ledger seq:plaintext SHA-256): %s"
        % ("/AAC" if sound else "", ", ".join("%d:%s" % (o["seq"], o["sha256"]) for o in of)),
    }
    return metadata, field


def _note(
    out: Path, sha: str, format_name: str, video: tuple, extractor: str, now_ms: int | None
) -> dict:
    nframes, width, height, fps = video
    when = int(time.time() * 1000) if now_ms is None else now_ms
    return {
        "note": "evidence export (R-HOST-4): a copy made from the evidence store",
        "file": out.name,
        "file_sha256": sha,
        "file_bytes": out.stat().st_size,
        "format": format_name,
        "video": {
            "frames": nframes,
            "fps": fps,
            "width": width,
            "height": height,
            "seconds": round(nframes / fps, 3),
        },
        "extracted_by": extractor,
        "extracted_at": _iso(when),
        "extracted_by_tool": "sealcam export",
    }


def _makers(entries: list, rec_id: bytes, device_id: str) -> dict:
    officers = []
    for e in entries:
        if e.fields.get(F_RECORDING) == rec_id:
            o = e.fields.get(F_OFFICER)
            if o and o not in officers:
                officers.append(o)
    return {"device_id": device_id, "officers": officers}


def _recording_note(entries: list, rec_id: bytes) -> dict:
    start = stop = None
    for e in entries:
        if e.kind == KIND_CHUNK or e.fields.get(F_RECORDING) != rec_id:
            continue
        code = e.fields.get(F_EVENT)
        if code == EV_RECORD_START:
            start = e.fields[F_WALL_MS]
        elif code == EV_RECORD_STOP:
            stop = e.fields[F_WALL_MS]
    return {
        "number": recording_number(rec_id),
        "id": rec_id.hex(),
        "started": _iso(start),
        "stopped": _iso(stop),
    }
