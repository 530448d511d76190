"""Evidence export of an fMP4 recording: the device's own signed fragments, byte for byte.

A recording made in fMP4 mode is, in its ledger, an initialisation segment (chunk 0,
MEDIA_MP4_INIT) and fragments (MEDIA_MP4), each signed by its SHA-256. Their bytes laid end
to end are already an MP4 every player opens, with sound, so the export re-encodes nothing
(R-HOST-5): it writes

1. the initialisation segment and every fragment, in ledger order, unchanged, each
   checked against the SHA-256 its signed entry names as it lies in the buffer that is
   written to the file (a fragment is read from the store straight into that buffer);
2. one unsigned fragment of the text track the device reserves in every initialisation
   segment and never fills (``sbtl``/``tx3g``): a subtitle per pause, from the pause to the
   resume, naming it, its objective reason (R-DEV-9) and that the officer's spoken reason
   follows, in Chinese and English. No signed byte changes for it, and the verifier tells
   it apart from footage (its only track is the text track);
3. the sealcam evidence box (``host.mp4evidence``): the recording's signed ledger entries
   and the device's public key, so that the file verifies alone (``sealcam verify``).

Media time (what a player's clock shows) starts at the record-start's ``origin_mono``: an
event's media time is its F_MONO_MS minus that, in ms. A resume entry is written when the
spoken reason ends, so a pause's note lasts through the spoken reason that explains it.

The file is written under a temporary name through a few fixed buffers (``_Stream``: at
most 4 MiB of the recording in memory), checked, made durable and only then renamed: a
reader never sees half an export, and a fragment that fails its check leaves nothing
behind.

Sealed footage (R-DEV-3) is opened through a ``ChunkOpener`` (the agency's private key,
``host.sealedmedia``) that the caller passes, and is refused without one; ``export_facts``
then say who decrypted it. The C2PA manifest (``host.contentcred``) is signed into the
finished file by the caller: one more top-level box, which the verifier tells apart from
the initialisation segment it stands beside (``host.mp4verify``).
"""

import errno
import hashlib
import mmap
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from host import exportlayout, mp4evidence, problems
from host.errors import Unusable
from host.evidence import EvidenceError, MediaFiles
from host.files import fsync_dir
from host.problems import Said
from protocol import mp4
from protocol.ledger import Entry, media_digest
from protocol.registry import (
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    F_CHUNK_INDEX,
    F_CIPHER_SHA,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_MONO_MS,
    F_PLAIN_SHA,
    F_REASON,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    PAUSE_BATTERY,
    PAUSE_DAMAGE,
    PAUSE_FAULT,
    PAUSE_OBSTRUCTION,
    PAUSE_OTHER,
    PAUSE_PLACE_CHANGE,
    PAUSE_STORAGE,
    PAUSE_WEATHER,
)

FMP4_MEDIA = (MEDIA_MP4_INIT, MEDIA_MP4)
FORMAT_NAME = "MP4, fragmented: the device's signed fragments, unchanged"

# The objective reasons of R-DEV-9 as the regulations name them, for the Chinese viewer.
PAUSE_NAMES_ZH = {
    PAUSE_FAULT: "设备故障",
    PAUSE_DAMAGE: "设备损坏",
    PAUSE_WEATHER: "天气恶劣",
    PAUSE_BATTERY: "电量不足",
    PAUSE_STORAGE: "存储空间不足",
    PAUSE_PLACE_CHANGE: "执法场所变换",
    PAUSE_OBSTRUCTION: "遭遇阻挠",
    PAUSE_OTHER: "其他客观原因",
}
# The same reasons in plain English for the viewer (PAUSE_NAMES are codes for machines).
PAUSE_NAMES_EN = {
    PAUSE_FAULT: "the equipment failed",
    PAUSE_DAMAGE: "the equipment was damaged",
    PAUSE_WEATHER: "severe weather",
    PAUSE_BATTERY: "the battery ran low",
    PAUSE_STORAGE: "the storage ran out",
    PAUSE_PLACE_CHANGE: "a change of place",
    PAUSE_OBSTRUCTION: "the officer was obstructed",
    PAUSE_OTHER: "another objective reason",
}


class ChunkOpener(Protocol):
    """Opens a sealed chunk: its stored (sealed) bytes back to the plaintext its entry
    signs. Whoever holds the agency's private key implements it (R-DEV-3)."""

    def open(self, entry: Entry, sealed: bytes) -> bytes: ...


class ExportProblem(Said, Unusable):
    """The export cannot be made from this input; the message says what to do."""


class ChangedMedia(Exception):
    """A chunk's stored media is not what its entry signs (and the caller did not ask to
    export it anyway)."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


def is_fmp4(chunks: list) -> bool:
    """Whether a recording's chunks are fMP4 (an initialisation segment and fragments)."""
    return any(e.fields.get(F_MEDIA_TYPE) in FMP4_MEDIA for e in chunks)


# --- what the recording's ledger says ------------------------------------------------------


def recording_span(entries: list, rec_id: bytes) -> list:
    """The entries from the recording's record-start to its record-stop, every entry between
    included, and on to the first signed entry if the last of them waits for a signature
    (a recording cut by a power loss has no stop: its last entry ends it)."""
    first = last = -1
    for i, e in enumerate(entries):
        if e.fields.get(F_RECORDING) != rec_id:
            continue
        if e.kind != KIND_CHUNK and e.fields.get(F_EVENT) == EV_RECORD_START and first < 0:
            first = i
        if first >= 0:
            last = i
        if e.kind != KIND_CHUNK and e.fields.get(F_EVENT) == EV_RECORD_STOP and first >= 0:
            break
    if first < 0:
        return []
    while last + 1 < len(entries) and not entries[last].signed:
        last += 1
    return entries[first : last + 1]


def origin_mono(span: list) -> int:
    """The monotonic ms that media time 0 stands for (the record-start's ``origin_mono``,
    else the press itself)."""
    start = span[0].fields
    detail = start.get(F_DETAIL)
    if type(detail) is dict and type(detail.get("origin_mono")) is int:
        return detail["origin_mono"]
    return start[F_MONO_MS]


def pauses(span: list, rec_id: bytes) -> list:
    """``[(pause entry, end entry)]``: each pause of the recording and the resume (or stop)
    that ended it; the end is None when the span ends paused."""
    out: list = []
    open_pause: Entry | None = None
    for e in span:
        if e.kind == KIND_CHUNK or e.fields.get(F_RECORDING) != rec_id:
            continue
        code = e.fields.get(F_EVENT)
        if code == EV_PAUSE:
            if open_pause is not None:
                out.append((open_pause, e))
            open_pause = e
        elif code in (EV_RESUME, EV_RECORD_STOP) and open_pause is not None:
            out.append((open_pause, e))
            open_pause = None
    if open_pause is not None:
        out.append((open_pause, None))
    return out


def pause_text(number: int, count: int, reason: object) -> str:
    """The subtitle a viewer sees during pause ``number`` of ``count``: Chinese, then
    English, naming the pause, its objective reason and that the spoken reason follows."""
    code = reason if type(reason) is int else -1
    zh = PAUSE_NAMES_ZH.get(code, "未说明原因")
    en = PAUSE_NAMES_EN.get(code, "no reason given")
    return (
        "录像暂停（第%d次，共%d次），原因：%s。恢复录像后，执法人员将口述中断原因。\n"
        "Recording paused (pause %d of %d), reason: %s. When recording resumes, the "
        "officer states the reason for the interruption." % (number, count, zh, number, count, en)
    )


def pause_notes(span: list, rec_id: bytes) -> list:
    """``[(start_ms, end_ms, text, pause seq)]`` in media time, one per pause."""
    origin = origin_mono(span)
    found = pauses(span, rec_id)
    end_of_span = span[-1].fields[F_MONO_MS]
    notes = []
    for n, (pause, end) in enumerate(found, 1):
        start_ms = max(0, pause.fields[F_MONO_MS] - origin)
        end_mono = end.fields[F_MONO_MS] if end is not None else end_of_span
        end_ms = max(start_ms, end_mono - origin)
        text = pause_text(n, len(found), pause.fields.get(F_REASON))
        notes.append((start_ms, end_ms, text, pause.seq))
    return notes


def note_fragment(notes: list, track: "mp4.Track", sequence: int) -> bytes:
    """One fragment of the text track holding ``notes``, with empty samples between them,
    from media time 0."""
    scale = track.timescale
    samples = []
    cursor = 0
    for start_ms, end_ms, text, _seq in notes:
        start = max(cursor, start_ms * scale // 1000)
        end = max(start + 1, end_ms * scale // 1000)
        if start > cursor:
            samples.append(mp4.Sample(mp4.text_sample(""), start - cursor))
        samples.append(mp4.Sample(mp4.text_sample(text), end - start))
        cursor = end
    return mp4.fragment(sequence, [mp4.Run(track.track_id, 0, samples)])


# --- writing the file ------------------------------------------------------------------------


def _iso(ms: "int | None") -> "str | None":
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def tool_version() -> str:
    """``sealcam export`` and the installed sealcam's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "sealcam export %s" % version("sealcam")
    except PackageNotFoundError:
        return "sealcam export (version unknown)"


def _stored(store: MediaFiles, e: Entry, opener: "ChunkOpener | None") -> tuple:
    """``(bytes, intact)`` of one chunk's stored media: a sealed chunk's opened by ``opener``
    (its sealed bytes as stored, ``intact`` False, when they are not what the device sealed);
    a plain chunk's as stored (``intact`` True: the check against its signed hash is the
    caller's)."""
    sealed = F_CIPHER_SHA in e.fields
    if sealed and opener is None:
        raise ExportProblem.said("export.sealed_chunk", seq=e.seq)
    try:
        data = store.read_media(media_digest(e.fields))
    except (EvidenceError, FileNotFoundError):
        raise _not_synced(e) from None
    if opener is None or not sealed:
        return data, True
    if hashlib.sha256(data).digest() != e.fields[F_CIPHER_SHA]:
        return data, False
    return opener.open(e, data), True


def _media(
    store: MediaFiles,
    e: Entry,
    mark_changed: bool,
    opener: "ChunkOpener | None",
) -> tuple:
    """``(bytes, changed)`` of one chunk's stored media, checked against its signed hash
    (a sealed chunk's, once ``opener`` has opened it)."""
    data, intact = _stored(store, e, opener)
    changed = not intact or hashlib.sha256(data).digest() != e.fields[F_PLAIN_SHA]
    if changed and not mark_changed:
        raise ChangedMedia(e.seq)
    return data, changed


def _cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _not_synced(e: Entry) -> "ExportProblem":
    return ExportProblem.said("export.chunk_not_synced", seq=e.seq)


# The export file goes to the disk through BUFFERS buffers of WINDOW bytes (one window of
# the file each, ``host.exportlayout``): one is filled while the others are hashed, checked
# and written. Small enough that the four stay in the processor's cache from the read to
# the two hashes: SHA-256 ran at 1.15 GB/s over 8 MiB buffers here and at 1.67 GB/s over
# 2 MiB and less, and the hour's export took 0.5 s less CPU with four of 1 MiB than with
# four of 8 MiB (eight of 1 MiB lost half of that again). The hand-overs between threads
# this costs (two per window, one to each lane: some 2,400 for the hour) are cheap beside it.
WINDOW = 1 << 20
BUFFERS = 4
# What writes that bypass the page cache are aligned to: a page, which every block device's
# logical block (512 or 4,096 bytes) divides.
BLOCK = 4096


class _Lane:
    """One thread that runs the calls it is handed, one after another, in order, where
    there are two CPUs; where there is one, each call runs at once, in the caller.

    ``call(fn, args, done)`` sets ``done`` once ``fn(*args)`` has run (or has failed, or
    was skipped); what ``args`` hold must stay unchanged until then. The first call that
    fails is kept in ``failed`` and no call after it runs. The thread starts at the first
    call: a process forked while a thread holds a lock inherits the lock held, and the
    export's callers fork their workers before they call it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: Any = None
        self._thread: Any = None
        self._threaded = _cores() >= 2
        self._skip = False
        self.failed: Exception | None = None

    def call(self, fn: Callable, args: tuple, done: threading.Event) -> None:
        if self._thread is None and self._threaded:
            import queue

            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        if self._thread is None:
            self._one(fn, args, done)
        else:
            self._queue.put((fn, args, done))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._one(*item)
            item = None  # hold none of its buffers while waiting for the next

    def _one(self, fn: Callable, args: tuple, done: threading.Event) -> None:
        try:
            if self.failed is None and not self._skip:
                fn(*args)
        except Exception as exc:  # the caller takes it from ``failed``
            self.failed = exc
        finally:  # whoever waits is never left waiting
            done.set()

    def close(self, skip: bool = False) -> None:
        """End the thread once every call handed over has run (``skip``: or been skipped,
        when the export is stopping)."""
        self._skip = self._skip or skip
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._threaded = False  # whatever comes after runs in the caller


class _Stream:
    """The export file, written in order through BUFFERS page-aligned buffers.

    The export's own thread lays the file's pieces end to end (``add``, ``add_file``): the
    bytes it holds (the initialisation segment, opened sealed fragments, the trailing
    boxes) are copied into the buffer at their place, and the stored fragments are read
    from the store's files straight into it (``preadv``), up to BUFFERS - 1 windows ahead
    of the two threads below. Each piece is checked against the SHA-256 its signed entry
    names, of the bytes where they lie in the buffer, which are the very bytes written.
    A full buffer goes to two threads (``_Lane``): the hash lane, which takes the file's
    SHA-256 for the note; and the writer, which writes the buffer whole at its window's
    place in the file, bypassing the page cache (``O_DIRECT``) where the file system allows
    it: the disk takes the bytes from the buffer, with no copy into the page cache and no
    write-back left for the final fsync. Where ``O_DIRECT`` is refused (tmpfs, some FUSE
    and network file systems), at the open or at the first write, the writes go through
    the page cache; so do the bytes after the file's last whole block.

    Who checks a piece: the two SHA-256 passes over every byte are most of the export's
    CPU, and the file's hash alone leaves the hash lane idle part of the time while the
    export's thread reads and checks. So a piece that lies whole in one window is checked
    by the hash lane, after the window's file hash, when that lane has caught up with the
    windows handed to it (it has time to spare); otherwise by the export's thread at once,
    while the bytes it has just read are still in the core's cache. A piece that straddles
    windows is always the export's thread's, a window at a time. The share each takes
    follows the machine (how fast it reads against how fast it hashes), where a fixed
    share would suit one machine only.

    hashlib, ``preadv`` and ``pwrite`` let go of the interpreter lock for large buffers, so
    the threads run on two cores at once. A buffer is filled again only once both lanes
    are done with it, so the buffers hold the recording at most BUFFERS windows at a time."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd  # the file at ``path``, written through the page cache
        self._direct = -1  # the same file opened with O_DIRECT, or -1
        self._use_direct = False
        self._layout = exportlayout.Layout(WINDOW, BLOCK)
        # Anonymous maps: page-aligned, as O_DIRECT wants the memory it writes from.
        self._maps = [mmap.mmap(-1, WINDOW) for _ in range(BUFFERS)]
        self._views = [memoryview(m) for m in self._maps]
        self._busy: list = [() for _ in range(BUFFERS)]  # the lanes' done events, per buffer
        self._window = 0  # the window being filled; its buffer is window % BUFFERS
        self._to_check: list = []  # the pieces in it the hash lane checks: (piece, Span, digest)
        self._partial: Any = None  # the hash so far of a piece that straddles windows
        self._sha = hashlib.sha256()
        # Windows handed to the hash lane, and hashed by it: each counter has one writer.
        self._sent = 0
        self._hashed = 0
        self._lanes = (_Lane("export-sha256"), _Lane("export-write"))
        # Per piece, in the order laid: whether it is what its entry signs (None: nothing
        # to check, or not checked yet); and the pieces found not to be, as found.
        self.held: list = []
        self.changed: list = []
        self._direct = _open_direct(path)  # last: nothing above can fail with it open
        self._use_direct = self._direct >= 0

    def add(
        self, data: "bytes | memoryview", digest: "bytes | None" = None, held: "bool | None" = None
    ) -> tuple:
        """Lay ``data`` next in the file; return ``(offset, length)`` where it lies. It is
        checked against the SHA-256 ``digest`` where it lands; without one, ``held`` is
        its outcome, known already (None: nothing to check)."""
        at = self._layout.end
        src = memoryview(data)
        piece = self._piece(len(src), digest, held)
        done = 0
        for span in self._layout.place(len(src)):
            view = self._enter(span)
            view[:] = src[done : done + span.length]
            done += span.length
            if digest is not None:
                self._laid(piece, span, view, digest)
        return at, len(src)

    def add_file(self, path: Path, digest: bytes) -> tuple:
        """Lay the whole file at ``path`` (FileNotFoundError if none) next in the file,
        read straight into its place, to be checked against ``digest``; return ``(offset,
        length)`` where it lies."""
        src = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(src).st_size
            at = self._layout.end
            piece = self._piece(size, digest, None)
            got = 0
            for span in self._layout.place(size):
                view = self._enter(span)
                n = 0
                while n < span.length:
                    k = os.preadv(src, [view[n:]], got + n)
                    if k <= 0:
                        raise ExportProblem.said("export.shrank", path=path, got=got + n, size=size)
                    n += k
                got += n
                self._laid(piece, span, view, digest)
        finally:
            os.close(src)
        return at, size

    def _piece(self, size: int, digest: "bytes | None", held: "bool | None") -> int:
        piece = len(self.held)
        if digest is not None and size == 0:  # in no window: checked here
            held = hashlib.sha256(b"").digest() == digest
        self.held.append(held if digest is None or size == 0 else None)
        if held is False:
            self.changed.append(piece)
        return piece

    def _enter(self, span: exportlayout.Span) -> memoryview:
        """The place in its buffer of ``span``, the buffer before it handed on if it
        starts the next window."""
        if span.window != self._window:
            self._send(final=False)
            self._window = span.window
            self._take(span.window % BUFFERS)
        return self._views[span.window % BUFFERS][span.at : span.at + span.length]

    def _laid(self, piece: int, span: exportlayout.Span, view: memoryview, digest: bytes) -> None:
        """``span`` of ``piece`` is in place (``view``): checked here, at once, or handed
        to the hash lane with its window (see the class)."""
        if span.first and span.last:
            if self._sent == self._hashed:  # the hash lane has caught up: it has time
                self._to_check.append((piece, span, digest))
            else:
                self._held(piece, hashlib.sha256(view).digest() == digest)
            return
        if span.first:
            self._partial = hashlib.sha256()
        self._partial.update(view)
        if span.last:
            self._held(piece, self._partial.digest() == digest)
            self._partial = None

    def _held(self, piece: int, held: bool) -> None:
        self.held[piece] = held
        if not held:
            self.changed.append(piece)

    def _take(self, buffer: int) -> None:
        """Wait until the lanes are done with ``buffer``; raise what failed in them."""
        for done in self._busy[buffer]:
            done.wait()
        self._busy[buffer] = ()
        for lane in self._lanes:
            if lane.failed is not None:
                raise lane.failed

    def _send(self, final: bool) -> None:
        """Hand the window being filled to the lanes: hashed (and some of its pieces
        checked) and written."""
        window = self._window
        view = self._views[window % BUFFERS]
        filled = self._layout.filled(window)
        writes = self._layout.writes(window, final)
        done = (threading.Event(), threading.Event())
        hasher, writer = self._lanes
        self._sent += 1
        hasher.call(self._hash, (view, filled, self._to_check), done[0])
        writer.call(self._write, (view, writes), done[1])
        self._busy[window % BUFFERS] = done
        self._to_check = []

    def _hash(self, view: memoryview, filled: int, parts: list) -> None:
        """In the hash lane: the window into the file's SHA-256, then the checks of the
        pieces handed with it, each where it lies in the buffer."""
        try:
            self._sha.update(view[:filled])
            sha256 = hashlib.sha256
            for piece, span, digest in parts:
                self._held(piece, sha256(view[span.at : span.at + span.length]).digest() == digest)
        finally:
            self._hashed += 1

    def _write(self, view: memoryview, writes: list) -> None:
        """In the writer's lane: write a window's ``exportlayout.Write``s."""
        for w in writes:
            data = view[w.at : w.at + w.length]
            if w.direct and self._use_direct:
                try:
                    _pwrite_all(self._direct, data, w.offset)
                    continue
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    # Refused (a file system that takes the open but not the write, or an
                    # alignment it wants larger): this write and every one after it go
                    # through the page cache, which the final fsync writes out.
                    self._use_direct = False
            _pwrite_all(self.fd, data, w.offset)

    def finish(self) -> str:
        """Write the last window; wait until every window is hashed, checked and written;
        return the file's SHA-256 (hex). Raise what failed in a lane."""
        self._send(final=True)
        for lane in self._lanes:
            lane.close()
        for lane in self._lanes:
            if lane.failed is not None:
                raise lane.failed
        return self._sha.hexdigest()

    def close(self) -> None:
        """End the lanes (what is still handed over is skipped) and let go of the buffers."""
        for lane in self._lanes:
            lane.close(skip=True)
        views, self._views = self._views, []
        for view in views:
            view.release()
        for m in self._maps:
            try:
                m.close()
            except BufferError:  # a part of it still referred to: unmapped once let go
                pass
        if self._direct >= 0:
            os.close(self._direct)
            self._direct = -1


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        n = os.pwrite(fd, data, offset)
        if n <= 0:
            raise OSError(errno.EIO, "the file system wrote nothing")
        data = data[n:]
        offset += n


def _open_direct(path: Path) -> int:
    """``path`` opened again for writes that bypass the page cache (``O_DIRECT``); -1 where
    the system or the file system refuses it (tmpfs answers EINVAL)."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return -1
    try:
        return os.open(path, os.O_WRONLY | flag)
    except OSError:
        return -1


def export_fmp4(
    store: MediaFiles,
    device_id: str,
    public_key: bytes,
    entries: list,
    rec_id: bytes,
    chunks: list,
    out: Path,
    extractor: str,
    mark_changed: bool = False,
    now_ms: "int | None" = None,
    opener: "ChunkOpener | None" = None,
    export_facts: "dict | None" = None,
    ledger: "Callable[[], object] | None" = None,
) -> dict:
    """Write the MP4 export of the fMP4 recording ``rec_id`` to ``out``; return the facts
    for its note: ``format``, ``file_sha256``, ``video``, ``chunks`` (each with its byte
    offset in the file), ``pause_notes``, ``evidence_box``.

    ChangedMedia when a chunk's stored bytes fail their signed hash (unless
    ``mark_changed``: then they are written as stored and named); ExportProblem when the
    recording cannot be exported (no initialisation segment, media not synced).

    ``ledger``, when given, is called once every fragment is written and checked and before
    the file is made durable and renamed into place; whatever it raises stops the export
    and leaves nothing behind. The caller that parsed ``entries`` without verifying them
    yet passes the verification's verdict here, so that it runs beside the copy."""
    init_entry = chunks[0] if chunks else None
    if init_entry is None or init_entry.fields.get(F_MEDIA_TYPE) != MEDIA_MP4_INIT:
        raise ExportProblem.said("export.no_init", recording=rec_id.hex())
    fragments = [e for e in chunks[1:] if e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4]
    span = recording_span(entries, rec_id)
    when = int(time.time() * 1000) if now_ms is None else now_ms
    tmp = out.with_name(".%s.tmp-%d%s" % (out.stem, os.getpid(), out.suffix))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            stream = _Stream(fd, tmp)
            try:
                facts, placed = _write(store, stream, init_entry, fragments, span, rec_id,
                                       mark_changed, opener)  # fmt: skip
                body = mp4evidence.payload(
                    device_id,
                    public_key,
                    rec_id,
                    [e.raw for e in span],
                    {
                        "by": extractor,
                        "at": _iso(when),
                        "at_ms": when,
                        "tool": tool_version(),
                        "source": "sealcam evidence store",
                        **(export_facts or {}),  # e.g. who decrypted sealed footage, with what
                    },
                )
                at, length = stream.add(mp4evidence.box(body))
                file_sha = stream.finish()
            finally:
                stream.close()
            notes = _settle(placed, stream.held, mark_changed)
            changed = [c["seq"] for c in notes if not c["matches_signed_hash"]]
            facts = {"chunks": notes, "changed_chunks": changed, **facts}
            if ledger is not None:
                ledger()
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(out.resolve().parent)
    facts.update(
        {
            "format": FORMAT_NAME,
            "file_sha256": file_sha,
            "evidence_box": {
                "uuid": mp4evidence.EVIDENCE_UUID.hex(),
                "offset": at,
                "bytes": length,
                "entries": len(span),
                "first_seq": span[0].seq if span else None,
                "last_seq": span[-1].seq if span else None,
            },
            "extracted_at_ms": when,
        }
    )
    return facts


def _write(
    store: MediaFiles,
    stream: _Stream,
    init_entry: Entry,
    fragments: list,
    span: list,
    rec_id: bytes,
    mark_changed: bool,
    opener: "ChunkOpener | None",
) -> tuple:
    """Lay the initialisation segment, the fragments and the notes in ``stream``; return
    the facts (all but the chunks') and ``[(entry, its chunk note)]`` of each chunk, in the
    order laid (the stream's pieces, from the first)."""
    init, changed = _media(store, init_entry, mark_changed, opener)
    try:
        tracks = mp4.read_init(init)
    except mp4.Mp4Error as exc:
        raise ExportProblem.said(
            "export.init_unreadable", seq=init_entry.seq, problem=problems.pair(exc)
        ) from None
    # Each chunk's note is made as it is laid, while the threads hash (not after, when
    # the export waits for it); whether it matches is filled in by _settle.
    placed = [(init_entry, _chunk_note(init_entry, stream.add(init, held=not changed), False))]
    del init
    for e in fragments:
        if stream.changed and not mark_changed:
            break  # refused: what is laid so far is checked, and the chunk named (_settle)
        if F_CIPHER_SHA in e.fields:  # sealed: opened, then laid and checked as any other
            data, intact = _stored(store, e, opener)
            digest = e.fields[F_PLAIN_SHA] if intact else None
            where = stream.add(data, digest, held=None if intact else False)
            placed.append((e, _chunk_note(e, where, False)))
            continue
        try:
            where = stream.add_file(store.media_file(e.fields[F_PLAIN_SHA]), e.fields[F_PLAIN_SHA])
        except FileNotFoundError:
            raise _not_synced(e) from None
        placed.append((e, _chunk_note(e, where, False)))
    frames = sum(len(e.fields.get(F_FRAME_HASHES, ())) for e in fragments)
    text = [t for t in tracks if t.handler == mp4.HANDLER_TEXT]
    notes = pause_notes(span, rec_id) if span else []
    note_at = None
    if notes and text:
        note_at = stream.add(note_fragment(notes, text[0], len(fragments) + 1))
    video = [t for t in tracks if t.handler == mp4.HANDLER_VIDEO]
    audio = [t for t in tracks if t.handler == mp4.HANDLER_AUDIO]
    facts = {
        "video": _video_facts(video[0] if video else None, fragments, frames),
        "audio": bool(audio),
        "pause_notes": [
            {
                "pause_seq": seq,
                "from": _clock(start_ms),
                "to": _clock(end_ms),
                "from_ms": start_ms,
                "to_ms": end_ms,
                "text": text_,
            }
            for start_ms, end_ms, text_, seq in notes
        ],
        "pause_notes_fragment": (
            {"offset": note_at[0], "bytes": note_at[1], "signed": False}
            if note_at is not None
            else None
        ),
        "not_included": (
            ""
            if text or not notes
            else "pause notes: this recording's initialisation segment has no text track"
        ),
    }
    return facts, placed


def _settle(placed: list, held: list, mark_changed: bool) -> list:
    """The chunk notes of the chunks laid (``[(entry, chunk note)]``, the stream's first
    pieces), each saying whether it matches from its check (``held``, by piece);
    ChangedMedia for the first that is not what its entry signs (unless the caller asked to
    export changed footage anyway).

    The check that makes the export evidence: each fragment's bytes as they lay in the
    buffer that was written to the file, against the hash its entry signs; so they are what
    the device signed even if the store's file changed meanwhile."""
    notes = []
    for (e, note), ok in zip(placed, held, strict=False):
        if ok is None:  # every piece laid is checked by now, unless a check failed
            raise ExportProblem.said("export.checks_stopped")
        if not ok and not mark_changed:
            raise ChangedMedia(e.seq)
        note["matches_signed_hash"] = ok
        notes.append(note)
    return notes


def _chunk_note(e: Entry, where: tuple, changed: bool) -> dict:
    f = e.fields
    return {
        "seq": e.seq,
        "chunk_index": f[F_CHUNK_INDEX],
        "media": "video/mp4-init" if f[F_MEDIA_TYPE] == MEDIA_MP4_INIT else "video/mp4",
        "sha256": f[F_PLAIN_SHA].hex(),
        "offset": where[0],
        "bytes": where[1],
        "frames": len(f.get(F_FRAME_HASHES, ())),
        "start": _iso(f.get(F_START_MS)),
        "end": _iso(f.get(F_END_MS)),
        "matches_signed_hash": not changed,
        "opened_from_sealed": F_CIPHER_SHA in f,
    }


def frame_rate(fragments: list) -> float:
    """Frames per second from the fragments' signed frame counts and start and end times:
    the median, so a fragment a pause or stop closed early does not skew it."""
    rates = []
    for e in fragments:
        n = len(e.fields.get(F_FRAME_HASHES, ()))
        span = e.fields[F_END_MS] - e.fields[F_START_MS]
        if n > 1 and span > 0:
            rates.append(1000 * n / span)
    return round(statistics.median(rates), 3) if rates else 0.0


def _video_facts(track: "mp4.Track | None", fragments: list, frames: int) -> dict:
    fps = frame_rate(fragments)
    return {
        "codec": track.codec if track is not None else None,
        "frames": frames,
        "fps": fps,
        "width": track.width if track is not None else 0,
        "height": track.height if track is not None else 0,
        "seconds": round(frames / fps, 3) if fps else 0,
    }


def _clock(ms: int) -> str:
    """Media time as a player shows it: H:MM:SS.mmm."""
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return "%d:%02d:%02d.%03d" % (h, m, s, ms)
