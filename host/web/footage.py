"""What the page plays of a recording: its signed fMP4 parts laid end to end, read in pieces.

A recording made in fMP4 mode is its initialisation segment (chunk 0) and its fragments;
their bytes in ledger order are an MP4 a browser plays as it stands (``host.mp4export``
writes the same bytes, plus its notes, into an export). The page serves them as one
virtual file (``Footage``): a byte range maps onto the parts it covers, each read from the
store's file for its digest, so a seek reads only what it needs and nothing is copied or
assembled on disk. A spoken reason is its own audio-only fragment; with the init segment
before it, it is a file of its own, played on its own (``clip``).

A raw recording's chunks (JPEG frames, PCM) are no MP4: the page plays its derivative
(``derivplay``), and its thumbnail is its first JPEG frame. Sealed footage (R-DEV-3) is opened
only with the agency's private key, which the web server never holds: not playable here.

Every read goes through the store by digest (its ``media_source``, ``host.mediasource``: the
embedded store's files, or the scale-out store's objects read a range at a time); no part of a
URL names a file or an object. Thumbnails (the first keyframe, decoded with PyAV) are made
on demand and kept in memory (``Thumbnails``), as are the checks of each chunk's media
against its signed hash (``Checks``).
"""

import bisect
import hashlib
import io
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

from host.mediasource import MediaMissing, MediaSource, MediaUnreachable, read_all
from protocol.ledger import Entry, media_digest
from protocol.registry import (
    F_CHUNK_INDEX,
    F_CIPHER_SHA,
    F_END_MS,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_START_MS,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
)

# Why a recording does not play in the browser.
PLAYABLE = "playable"
RAW = "raw"  # JPEG frames and PCM: sealcam export makes a playable derivative
SEALED = "sealed"  # opened only with the agency's private key
NO_INIT = "no-init"  # the init segment is missing: no fragment plays without it

# A chunk's media, as the page shows it along the timeline.
CHECK_OK = "ok"  # present, and its SHA-256 is the one its signed entry names
CHECK_MISSING = "missing"  # not (yet) in the store: not collected, or deleted
CHECK_ALTERED = "altered"  # present, but its bytes are not those the entry signed
CHECK_PENDING = "checking"  # not checked yet: a background thread is on its way
# Its file could not be read (a folder where it should be, no permission, an I/O error, too
# many files open): not checkable now. Not kept: a passing cause is gone at the next look.
CHECK_UNREADABLE = "unreadable"

READ_BLOCK = 256 * 1024


class MediaFiles(Protocol):
    """What footage needs of an evidence store: its media, read by digest."""

    def media_source(self) -> MediaSource: ...


def source_of(files: object) -> MediaSource:
    """The media ``files`` reads from: a store's (or the page's front over one), or
    ``files`` itself when it is a source already."""
    get = getattr(files, "media_source", None)
    return cast("MediaSource", get() if get is not None else files)


@dataclass(frozen=True)
class Part:
    """One chunk in the virtual file: its entry's seq, chunk index, digest and length."""

    seq: int
    index: int
    digest: bytes
    size: int
    start_ms: int
    end_ms: int
    video: bool  # a fragment of footage (not the init segment, not a sound-only fragment)


def part_of(e: Entry) -> Part:
    f = e.fields
    return Part(
        e.seq,
        int(f.get(F_CHUNK_INDEX, -1)),
        media_digest(f),
        int(f.get(F_PLAIN_LEN, 0)),
        int(f.get(F_START_MS, 0)),
        int(f.get(F_END_MS, 0)),
        f.get(F_MEDIA_TYPE) == MEDIA_MP4 and bool(f.get(F_FRAME_HASHES)),
    )


def chunk_entries(entries: list) -> "list[Entry]":
    return [e for e in entries if e.kind == KIND_CHUNK]


def playability(chunks: "list[Entry]") -> str:
    """PLAYABLE, or why not (RAW, SEALED, NO_INIT), from a recording's chunk entries."""
    media = [e.fields.get(F_MEDIA_TYPE) for e in chunks]
    if not media or any(m not in (MEDIA_MP4_INIT, MEDIA_MP4) for m in media):
        return RAW
    if any(e.fields.get(F_CIPHER_SHA) is not None for e in chunks):
        return SEALED
    if media[0] != MEDIA_MP4_INIT:
        return NO_INIT
    return PLAYABLE


class Footage:
    """Parts laid end to end: a file of ``size`` bytes, read a range at a time."""

    def __init__(self, parts: "list[Part]") -> None:
        self.parts = parts
        self.starts: list[int] = []
        at = 0
        for p in parts:
            self.starts.append(at)
            at += p.size
        self.size = at

    def read(self, files: object, first: int, last: int) -> Iterator[bytes]:
        """Bytes ``first`` to ``last`` inclusive, in blocks; each part read from the store
        (a range of its file, or of its object). OSError when a part cannot be read
        (``host.mediasource``'s MediaMissing, MediaUnreachable among them)."""
        return source_of(files).read_spans(self.spans(first, last))

    def spans(self, first: int, last: int) -> "Iterator[tuple[bytes, int, int]]":
        """``(digest, first, last)`` of each part bytes ``first`` to ``last`` cover, in order."""
        at = first
        i = bisect.bisect_right(self.starts, at) - 1
        while at <= last and 0 <= i < len(self.parts):
            part, base = self.parts[i], self.starts[i]
            stop = min(last, base + part.size - 1)
            yield part.digest, at - base, stop - base
            at = stop + 1
            i += 1


class Checks:
    """Each chunk's media checked against the hash its signed entry names, once per digest
    (the store's media never change in place: a different byte is a different check).

    A page asks for the states of all its recording's chunks (``states``): up to ``inline``
    unchecked ones are checked there and then; the rest go to one background thread, and
    show as CHECK_PENDING until it has been through them, so a ten-hour recording's page
    does not wait for 36,000 files to be read. That thread, and the preparer's checks, ask
    ``give_way`` before each chunk (the application's ``traffic.Traffic.give_way``: requests
    under way first)."""

    def __init__(self, limit: int = 500_000, inline: int = 300) -> None:
        self.limit = limit
        self.inline = inline
        self.give_way: Callable[[], None] = _at_once
        self._done: dict[bytes, str] = {}
        self._queued: set[bytes] = set()
        self._queue: queue.SimpleQueue[tuple[MediaFiles, bytes]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def states(self, files: MediaFiles, digests: "list[bytes]") -> "list[str]":
        with self._lock:
            done = self._done
            out: list = [done.get(d) for d in digests]
        unknown = [i for i, state in enumerate(out) if state is None]
        for i in unknown[: self.inline]:
            out[i] = self.state(files, digests[i])
        later = unknown[self.inline :]
        if later:
            self._later(files, [digests[i] for i in later])
            for i in later:
                out[i] = CHECK_PENDING
        return out

    def _later(self, files: MediaFiles, digests: "list[bytes]") -> None:
        with self._lock:
            for digest in digests:
                if digest not in self._queued:
                    self._queued.add(digest)
                    self._queue.put((files, digest))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                files, digest = self._queue.get(timeout=5)
            except queue.Empty:
                return  # started again by the next page that needs it
            try:
                self.give_way()
                self.state(files, digest)
            finally:
                with self._lock:
                    self._queued.discard(digest)

    def state(self, files: MediaFiles, digest: bytes) -> str:
        """The state of one digest's media, checked now unless known."""
        with self._lock:
            known = self._done.get(digest)
        if known is not None:
            return known
        try:
            h = hashlib.sha256()
            for block in source_of(files).read_range(digest):
                h.update(block)
        except MediaMissing:
            return CHECK_MISSING  # not kept: it may arrive at the next dock
        except MediaUnreachable:
            return CHECK_PENDING  # the object store is away: not known, asked again later
        except OSError:
            # One chunk's file, not the recording: the others and the view are still shown.
            return CHECK_UNREADABLE
        found = CHECK_OK if h.digest() == digest else CHECK_ALTERED
        with self._lock:
            if len(self._done) >= self.limit:
                self._done.clear()
            self._done[digest] = found
        return found

    def altered(self) -> int:
        """How many media checked so far do not match their signed hash."""
        with self._lock:
            return sum(1 for v in self._done.values() if v == CHECK_ALTERED)


def _at_once() -> None:
    """No request to let go first (a ``Checks`` outside a server)."""


class Thumbnails:
    """The first keyframe of each recording, as a small JPEG, made once and kept (at most
    ``limit`` of them, the least recently shown dropped first)."""

    def __init__(self, limit: int = 512, width: int = 160) -> None:
        self.limit = limit
        self.width = width
        self._kept: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, files: MediaFiles, parts: "list[Part]") -> "bytes | None":
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        jpeg = self.make(files, parts)
        with self._lock:
            self._kept[key] = jpeg
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)
        return jpeg

    def make(self, files: MediaFiles, parts: "list[Part]") -> "bytes | None":
        """The first keyframe of playable footage's ``parts`` as a JPEG ``width`` wide; None
        when there is none to decode (a fragment missing, a decoder error)."""
        if parts and not any(p.video for p in parts):  # raw chunks: the first JPEG frame
            return _first_jpeg(files, parts, self.width)
        if not parts or parts[0].index != 0:
            return None
        first = next((p for p in parts if p.video), None)
        if first is None:
            return None
        try:
            data = b"".join(
                Footage([parts[0], first]).read(files, 0, parts[0].size + first.size - 1)
            )
        except OSError:
            return None
        return _first_picture(data, self.width)


def _first_picture(data: bytes, width: int) -> "bytes | None":
    import av
    import cv2

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                return None
            for frame in container.decode(video=0):
                height = max(2, round(frame.height * width / max(1, frame.width)) // 2 * 2)
                image = frame.to_ndarray(format="bgr24", width=width, height=height)
                ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
                return jpeg.tobytes() if ok else None
    except (av.FFmpegError, ValueError):
        return None
    return None


RAW_LOOKED_AT = 8  # chunks of a raw recording tried for a picture (its sound chunks between)


def _first_jpeg(files: MediaFiles, parts: "list[Part]", width: int) -> "bytes | None":
    """The first picture of a raw recording (chunks of JPEG frames, PCM between) as a JPEG
    ``width`` wide: the first chunk that decodes as a picture; None when none does."""
    import cv2
    import numpy as np

    for part in parts[:RAW_LOOKED_AT]:
        try:
            data = read_all(source_of(files), part.digest)
        except OSError:
            continue
        if not data.startswith(b"\xff\xd8"):  # not a JPEG: a sound chunk
            continue
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            continue
        height = max(2, round(image.shape[0] * width / max(1, image.shape[1])) // 2 * 2)
        ok, jpeg = cv2.imencode(".jpg", cv2.resize(image, (width, height)),
                                [cv2.IMWRITE_JPEG_QUALITY, 80])  # fmt: skip
        return jpeg.tobytes() if ok else None
    return None
