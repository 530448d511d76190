"""Evidence export of an fMP4 recording: the device's own signed fragments, byte for byte.

A recording made in fMP4 mode is, in its ledger, an initialisation segment (chunk 0,
MEDIA_MP4_INIT) and fragments (MEDIA_MP4), each signed by its SHA-256. Their bytes laid end
to end are already an MP4 every player opens, with sound, so the export re-encodes nothing
(R-HOST-5): it writes

1. the initialisation segment and every fragment, in ledger order, unchanged, each
   checked against the SHA-256 its signed entry names as it lies in the written file (a
   fragment is copied from the store by the kernel, then read back and hashed);
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

The file is written under a temporary name, at most one fragment in memory at a time,
checked, made durable and only then renamed: a reader never sees half an export, and a
fragment that fails its check leaves nothing behind.

Sealed footage (R-DEV-3) is opened through a ``ChunkOpener`` (the agency's private key,
``host.sealedmedia``) that the caller passes, and is refused without one; ``export_facts``
then say who decrypted it. The C2PA manifest (``host.contentcred``) is signed into the
finished file by the caller: one more top-level box, which the verifier tells apart from
the initialisation segment it stands beside (``host.mp4verify``).
"""

import errno
import hashlib
import multiprocessing
import os
import signal
import statistics
import struct
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, overload

from host import forking, mp4evidence
from host.errors import Unusable
from host.evidence import EvidenceError, SqliteEvidenceStore
from host.files import fsync_dir, write_all
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


class ExportProblem(Unusable):
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


def _media(
    store: SqliteEvidenceStore,
    e: Entry,
    mark_changed: bool,
    opener: "ChunkOpener | None",
) -> tuple:
    """``(bytes, changed)`` of one chunk's stored media, checked against its signed hash
    (a sealed chunk's, once ``opener`` has opened it)."""
    sealed = F_CIPHER_SHA in e.fields
    if sealed and opener is None:
        raise ExportProblem(
            "chunk seq %d is sealed to the agency's key (R-DEV-3): exporting it needs the "
            "agency's private key, which this export was not given" % e.seq
        )
    try:
        data = store.read_media(media_digest(e.fields))
    except (EvidenceError, FileNotFoundError):
        raise _not_synced(e) from None
    if sealed and opener is not None:
        if hashlib.sha256(data).digest() != e.fields[F_CIPHER_SHA]:
            if not mark_changed:
                raise ChangedMedia(e.seq)
            return data, True
        data = opener.open(e, data)
    # The check that makes the export evidence: these very bytes, which are written next,
    # are what the device signed.
    changed = hashlib.sha256(data).digest() != e.fields[F_PLAIN_SHA]
    if changed and not mark_changed:
        raise ChangedMedia(e.seq)
    return data, changed


# The copier's reports: per fragment, where it lies (offset, length) and how far the file
# is handed to the disk; a length of FAILED says the copy failed, the offset then holding
# the error's number. Reports go in batches, each one write of at most PIPE_BUF bytes, so
# that no report is ever read in part and the reader wakes once per batch.
REPORT = struct.Struct("<qqq")
REPORTS_AT_ONCE = 4096 // REPORT.size
FAILED = -1
# Bytes read back and checked at once: a run of fragments that lie one after another in the
# file (at least one fragment). A run takes one report from the copier, one read, one
# hand-over to each hashing thread and one wait for each, where a fragment at a time took
# one each per fragment: on a busy machine every wait for another thread or process is a
# wait for a core too, and the hour's 3,600 fragments made thousands of them.
RUN = 8 << 20


def _copy_files(report: int, fd: int, paths: list, flushed: int) -> None:
    """The copier (a forked process): copies each file of ``paths`` to the export file
    ``fd`` at its position, in turn (the position is shared with the parent), handing the
    bytes to the disk from ``flushed`` on, and reports on the pipe ``report`` where each
    lies (``REPORT``: offset, length, handed to the disk up to), in batches of about RUN
    bytes; at an error with a number it reports that (length FAILED) and stops, at any
    other it stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command handles Ctrl-C
    sink = _Out(fd)
    sink.offset = os.lseek(fd, 0, os.SEEK_CUR)
    sink.flushed = flushed
    batch: list = []
    run = 0
    try:
        for path in paths:
            try:
                at, length = sink.copy(path)
            except OSError as exc:
                if exc.errno:
                    batch.append(REPORT.pack(exc.errno, FAILED, sink.flushed))
                break
            batch.append(REPORT.pack(at, length, sink.flushed))
            run += length
            if run >= RUN or len(batch) == REPORTS_AT_ONCE:
                write_all(report, b"".join(batch))
                batch, run = [], 0
        if batch:
            write_all(report, b"".join(batch))
    except Exception:
        # The parent has gone, or goes on without this process (it copies the rest itself,
        # and meets and reports whatever went wrong here); no traceback of the copier's.
        return


class _Copier:
    """Copies the plain fragments' stored media to the end of the export, one after
    another, in a forked process, while this one checks them as they are copied.

    A copy waits on the disk whenever the kernel holds back a writer whose dirty pages
    outrun it (and ``sync_file_range`` waits when the disk's queue is full); the checks go
    on meanwhile, so the disk's time and the checks' overlap instead of adding up. (A
    thread was tried first: it and the checking thread passed the interpreter lock back
    and forth at every system call, and the copy took four times as long.) Where no
    process can be forked, or it fails, the fragments not yet copied are copied here."""

    def __init__(self, store: SqliteEvidenceStore, sink: "_Out", fragments: list) -> None:
        self._paths = _MediaFiles(store, fragments)
        self._sink = sink
        self._next = 0  # the fragment whose place is given next
        self._reports = b""  # read from the pipe, not yet taken
        self._pipe = -1
        self._proc: Any = None
        if _cores() >= 2 and "fork" in multiprocessing.get_all_start_methods():
            mine, theirs = os.pipe()
            try:
                context = multiprocessing.get_context("fork")
                proc = context.Process(
                    target=_copy_files,
                    args=(theirs, sink.fd, self._paths, sink.flushed),
                    daemon=True,
                )
                forking.start(proc)
                self._pipe, self._proc = mine, proc
            except (OSError, ValueError):
                os.close(mine)
            finally:
                os.close(theirs)

    def run(self, limit: int = RUN) -> list:
        """Where the next fragments lie in the file, once copied: ``[(offset, length)]`` of
        at least one fragment and of as many more, already copied, as fit in ``limit``
        bytes, one after another. FileNotFoundError when the first is not in the store,
        OSError or ExportProblem when its copy failed."""
        places = [self._take()]
        run = places[0][1]
        while self._next < len(self._paths) and self._pipe >= 0:
            if len(self._reports) < REPORT.size:
                break  # the next is not copied yet: check these meanwhile
            at, length, _ = REPORT.unpack_from(self._reports)
            if length < 0 or at != self._sink.offset or run + length > limit:
                break
            places.append(self._take())
            run += length
        return places

    def _take(self) -> tuple:
        path = self._paths[self._next]
        self._next += 1
        while self._pipe >= 0:
            if len(self._reports) >= REPORT.size:
                at, length, flushed = REPORT.unpack_from(self._reports)
                self._reports = self._reports[REPORT.size :]
                # Believed only where it carries on from the last: the file's fragments
                # lie one after another, in order (each is checked where it is said to lie).
                if length >= 0 and at == self._sink.offset:
                    self._sink.copied((at, length), flushed)
                    return at, length
                self._end(kill=length >= 0)  # saying what cannot be: it copies no more
                if length == FAILED and at > 0:
                    raise OSError(at, os.strerror(at))
                break
            try:
                got = os.read(self._pipe, 1 << 16)
            except OSError:
                got = b""
            if not got:  # gone before it said where this one lies
                self._end(kill=True)
                break
            self._reports += got
        # What the copier wrote past the last fragment it copied is cut off, and the rest
        # is copied here.
        self._sink.cut()
        return self._sink.copy(path)

    def _end(self, kill: bool) -> None:
        pipe, proc = self._pipe, self._proc
        self._pipe, self._proc = -1, None
        self._reports = b""
        if proc is not None and kill:
            proc.kill()
        if pipe >= 0:
            os.close(pipe)
        if proc is not None:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()

    def close(self) -> None:
        """End the copier (stopped, if the export stops before every fragment is copied):
        the file is not closed under its copy."""
        self._end(kill=self._next < len(self._paths))


class _MediaFiles(Sequence):
    """The stored media files of chunk entries, in order, each named when it is asked for:
    the copier names them as it goes, so the export's own process, which forks it, does
    not spend its time on thousands of paths first."""

    def __init__(self, store: SqliteEvidenceStore, entries: list) -> None:
        self._store = store
        self._digests = [media_digest(e.fields) for e in entries]

    def __len__(self) -> int:
        return len(self._digests)

    @overload
    def __getitem__(self, i: int) -> Path: ...

    @overload
    def __getitem__(self, i: slice) -> list: ...

    def __getitem__(self, i: "int | slice") -> "Path | list":
        if isinstance(i, slice):
            return [self._store.media_file(d) for d in self._digests[i]]
        return self._store.media_file(self._digests[i])


def _cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _not_synced(e: Entry) -> "ExportProblem":
    return ExportProblem(
        "the media of chunk seq %d is not in the evidence store (not yet synced from "
        "the device): dock the device and export again" % e.seq
    )


class _Buffer:
    """One buffer that bytes are read into, reused, so that no fragment's bytes are
    allocated afresh (a new 300 KB object is fresh pages the kernel must map and zero, twice
    per fragment: to read it and to free it). A run of fragments is read and checked before
    the next is read, so the buffers hold at most two runs of the recording at a time."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def view(self, size: int) -> memoryview:
        """``size`` bytes of the buffer, valid until the next call."""
        if len(self._buf) < size:
            self._buf = bytearray(size + (size >> 2))
        return memoryview(self._buf)[:size]


# Why a copy in the kernel may be refused before it starts: the call is missing, the two
# files are on file systems it cannot copy between, or the file system does not offer it.
NO_KERNEL_COPY = {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def _libc_sync_file_range():  # -> a callable (fd, offset, length) or None
    """Linux's ``sync_file_range``, which starts writing a range of dirty pages to disk and
    returns; None where the C library lacks it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    fn.restype = ctypes.c_int
    write = 2  # SYNC_FILE_RANGE_WRITE: start writeback of the range; do not wait for it

    def start(fd: int, offset: int, length: int) -> None:
        fn(fd, offset, length, write)  # a hint: a failure only leaves the work to fsync

    return start


# Written bytes handed to the disk at a time, so the disk writes while the export reads
# and checks on, and the fsync at the end waits only for the last of them.
WRITEBACK_EVERY = 16 << 20
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
READ = 1 << 20  # bytes copied at a time where the kernel cannot copy


class _Lane:
    """One thread that runs the calls it is handed, one after another, in order, where
    there are two CPUs; where there is one, each call runs at once, in the caller.

    The export keeps two: the file's hash and the fragments' checks. Both are SHA-256 of
    large buffers, and hashlib lets go of the interpreter lock for large inputs, so they
    run at once on two cores while the export's own thread reads the next run back.
    ``call(fn, args, done)`` sets ``done`` once ``fn(*args)`` has run; what ``args`` hold
    must stay unchanged until then. The thread starts at the first call with a ``done``:
    the first fragment read back, after the copier's process is forked (a process forked
    while a thread holds a lock inherits it held)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: Any = None
        self._thread: Any = None
        self._threaded = _cores() >= 2
        self._failed: Exception | None = None

    def call(self, fn: Callable, args: tuple, done: "threading.Event | None" = None) -> None:
        if self._thread is None and self._threaded and done is not None:
            import queue

            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        if self._thread is None:
            fn(*args)
            if done is not None:
                done.set()
        else:
            self._queue.put((fn, args, done))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, done = item
            try:
                if self._failed is None:
                    fn(*args)
            except Exception as exc:  # raised to the caller by close()
                self._failed = exc
            finally:  # whoever waits is never left waiting
                if done is not None:
                    done.set()

    def close(self) -> None:
        """End the thread (once every call handed over has run); raise what a call raised
        there, if one did (the calls after it did not run)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._threaded = False  # whatever comes after runs in the caller
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed


class _FileHash:
    """The SHA-256 of the export file's bytes, in order, computed in a thread (``_Lane``)
    beside the fragments' checks where there are two CPUs.

    ``update(data, done)`` hands over bytes that stay unchanged until ``done`` is set (the
    buffer they lie in is then free to be read into again)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._lane = _Lane("export-sha256")

    def update(self, data: "bytes | memoryview", done: "threading.Event | None" = None) -> None:
        self._lane.call(self._sha.update, (data,), done)

    def close(self) -> None:
        """End the thread (once every byte handed over is hashed)."""
        self._lane.close()

    def hexdigest(self) -> str:
        self.close()
        return self._sha.hexdigest()


def _check(held: list, view: memoryview, start: int, places: list, digests: list) -> None:
    """Append to ``held`` whether each fragment at ``places`` (offset, length), read back
    into ``view`` from file offset ``start``, has the SHA-256 of ``digests``."""
    sha256 = hashlib.sha256
    held.extend(
        sha256(view[at - start : at - start + length]).digest() == digest
        for (at, length), digest in zip(places, digests, strict=True)
    )


class _Run:
    """A run of fragments read back and being checked: ``held()`` waits for the checks
    and gives whether each fragment is what its entry signs."""

    def __init__(self, size: int) -> None:
        self.checked = threading.Event()
        self.size = size
        self._held: list = []

    def held(self) -> list:
        self.checked.wait()
        if len(self._held) != self.size:  # the check itself failed: nothing is vouched for
            raise ExportProblem("the fragments' checks stopped part way: export again")
        return self._held


class _Out:
    """The export file being written: counts its bytes, writes or copies them, reads them
    back to check them, and hashes them for the note.

    A fragment is copied from the evidence store by the kernel (``copy_file_range``: no
    pass through this process's memory), then read back from the file, where it lies in
    the page cache, once, in a run with the fragments beside it (``check_run``): that one
    read gives both its check against the signed hash and the file's SHA-256 for the note,
    so every byte is read back once and hashed twice, in order, the two hashes in two
    threads (``_Lane``) while the next run is read. The written bytes are handed to the disk
    every WRITEBACK_EVERY bytes (Linux's ``sync_file_range``, which does not wait for the
    disk), so the disk works while the export copies and checks on, instead of all of it
    after, in the final fsync."""

    def __init__(self, fd: int) -> None:
        self.fd = fd  # opened for reading and writing, at offset 0
        self.offset = 0
        self.flushed = 0  # bytes handed to the disk so far
        self._writeback = _libc_sync_file_range()
        self._sha = _FileHash()  # of the file's bytes so far, in order
        self._checks = _Lane("export-check")  # the fragments' checks, run by run
        # What check_run() reads back into, in turn: one is read while the file's hash and
        # the checks still take the other's bytes. A buffer is free again once both are
        # done with it (its file hash's event, and its run's).
        self._buffers = [_Buffer(), _Buffer()]
        self._hashed = [threading.Event(), threading.Event()]
        self._runs: list = [None, None]
        for hashed in self._hashed:
            hashed.set()
        self._turn = 0
        self._copy_buffer = _Buffer()  # what copy() goes through where the kernel cannot
        self._kernel_copy = hasattr(os, "copy_file_range")

    def write(self, data: "bytes | memoryview") -> tuple:
        """Write ``data``; return ``(offset, length)`` where it lies in the file."""
        at = self.offset
        write_all(self.fd, data)
        self.offset += len(data)
        self._sha.update(bytes(data))  # a copy: the caller's buffer may change after this
        self._hand_to_disk()
        return at, len(data)

    def copy(self, path: Path) -> tuple:
        """Copy the whole file at ``path`` (FileNotFoundError if none) to the end of this
        one; return ``(offset, length)`` where it lies here, for ``check_run`` to check."""
        at = self.offset
        src = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(src).st_size
            got = 0
            while got < size:
                n = self._copy_some(src, size - got)
                if not n:
                    raise ExportProblem(
                        "%s shrank while it was copied (%d of %d bytes): another program is "
                        "changing the evidence store; export again" % (path, got, size)
                    )
                got += n
                self.offset += n
        finally:
            os.close(src)
        self._hand_to_disk()
        return at, size

    def copied(self, where: tuple, flushed: int) -> None:
        """Another process copied ``where`` (offset, length) to the end of the file, and
        handed the file to the disk up to ``flushed``."""
        self.offset = where[0] + where[1]
        self.flushed = flushed

    def cut(self) -> None:
        """Cut off whatever lies past the bytes counted (a copy another process left half
        done), so that the next bytes go where they are counted."""
        os.ftruncate(self.fd, self.offset)
        os.lseek(self.fd, self.offset, os.SEEK_SET)

    def _copy_some(self, src: int, count: int) -> int:
        """Copy up to ``count`` bytes from ``src``'s position to this file's; the count."""
        if self._kernel_copy:
            try:
                return os.copy_file_range(src, self.fd, count)
            except OSError as exc:
                if exc.errno not in NO_KERNEL_COPY:
                    raise
                # Both files' positions are where the kernel stopped: go on through memory.
                self._kernel_copy = False
        view = self._copy_buffer.view(min(count, READ))
        n = os.readv(src, [view])
        write_all(self.fd, view[:n])
        return n

    def check_run(self, places: list, digests: list) -> _Run:
        """Read back the file's bytes at ``places`` ((offset, length), one after another,
        copied there last) at once, hand them to the file's hash and start checking each
        against the SHA-256 of ``digests``; the ``_Run`` says whether each holds."""
        start = places[0][0]
        size = places[-1][0] + places[-1][1] - start
        turn = self._turn
        self._turn ^= 1
        hashed = self._hashed[turn]
        hashed.wait()  # the file's hash is done with this buffer's last bytes
        last = self._runs[turn]
        if last is not None:
            last.checked.wait()  # and so are the last run's checks
        view = self._buffers[turn].view(size)
        got = 0
        while got < size:
            n = os.preadv(self.fd, [view[got:]], start + got)
            if n <= 0:
                raise ExportProblem(
                    "the export file was cut short while it was written (%d of %d bytes at "
                    "byte %d): another program is changing it; export again" % (got, size, start)
                )
            got += n
        hashed.clear()
        self._sha.update(view, hashed)
        run = self._runs[turn] = _Run(len(places))
        self._checks.call(_check, (run._held, view, start, places, digests), run.checked)
        return run

    def _hand_to_disk(self) -> None:
        # Whole pages only: the page the file ends in is written again by the next copy,
        # and a page under writeback cannot be changed until the disk has it, so handing
        # it over made the next copy wait for the whole range's write (a stall of tens of
        # ms, every WRITEBACK_EVERY bytes).
        end = self.offset - self.offset % PAGE
        if self._writeback is not None and end - self.flushed >= WRITEBACK_EVERY:
            self._writeback(self.fd, self.flushed, end - self.flushed)
            self.flushed = end

    def finish(self) -> str:
        """Make the file durable; return its SHA-256 (hex)."""
        os.fsync(self.fd)
        return self._sha.hexdigest()

    def close(self) -> None:
        """End the file hash's and the checks' threads (an export that stops early never
        calls finish)."""
        try:
            self._checks.close()
        finally:
            self._sha.close()


def export_fmp4(
    store: SqliteEvidenceStore,
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
        raise ExportProblem(
            "recording %s has no initialisation segment as its first chunk (chunk 0, "
            "video/mp4-init): it cannot be exported as MP4" % rec_id.hex()
        )
    fragments = [e for e in chunks[1:] if e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4]
    span = recording_span(entries, rec_id)
    when = int(time.time() * 1000) if now_ms is None else now_ms
    tmp = out.with_name(".%s.tmp-%d%s" % (out.stem, os.getpid(), out.suffix))
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        sink = _Out(fd)
        try:
            facts = _write(store, sink, init_entry, fragments, span, rec_id, mark_changed,
                           opener)  # fmt: skip
            if ledger is not None:
                ledger()
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
            at, length = sink.write(mp4evidence.box(body))
            file_sha = sink.finish()
        finally:
            sink.close()
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
    store: SqliteEvidenceStore,
    sink: _Out,
    init_entry: Entry,
    fragments: list,
    span: list,
    rec_id: bytes,
    mark_changed: bool,
    opener: "ChunkOpener | None",
) -> dict:
    """Write the initialisation segment, the fragments and the notes; return the facts."""
    chunk_notes = []
    init, changed = _media(store, init_entry, mark_changed, opener)
    try:
        tracks = mp4.read_init(init)
    except mp4.Mp4Error as exc:
        raise ExportProblem(
            "the initialisation segment of chunk seq %d is not readable MP4: %s"
            % (init_entry.seq, exc)
        ) from None
    chunk_notes.append(_chunk_note(init_entry, sink.write(init), changed))
    del init
    # Sealed fragments are opened and checked here, then written; plain ones are copied in
    # the copier's thread and checked here as they come.
    sealed = any(F_CIPHER_SHA in e.fields for e in fragments)
    copier = _Copier(store, sink, fragments) if fragments and not sealed else None
    try:
        if copier is None:
            for e in fragments:
                data, changed = _media(store, e, mark_changed, opener)
                chunk_notes.append(_chunk_note(e, sink.write(data), changed))
        done = 0
        checking: tuple = ()  # the run being checked while the next is read back
        while copier is not None and done < len(fragments):
            try:
                places = copier.run()
            except FileNotFoundError:
                raise _not_synced(fragments[done]) from None
            run = fragments[done : done + len(places)]
            done += len(places)
            digests = [e.fields[F_PLAIN_SHA] for e in run]
            read = (run, places, sink.check_run(places, digests))
            if checking:
                _settle(chunk_notes, checking, mark_changed)
            checking = read
        if checking:
            _settle(chunk_notes, checking, mark_changed)
        frames = sum(len(e.fields.get(F_FRAME_HASHES, ())) for e in fragments)
    finally:
        if copier is not None:
            copier.close()
    text = [t for t in tracks if t.handler == mp4.HANDLER_TEXT]
    notes = pause_notes(span, rec_id) if span else []
    note_at = None
    if notes and text:
        note_at = sink.write(note_fragment(notes, text[0], len(fragments) + 1))
    video = [t for t in tracks if t.handler == mp4.HANDLER_VIDEO]
    audio = [t for t in tracks if t.handler == mp4.HANDLER_AUDIO]
    return {
        "chunks": chunk_notes,
        "changed_chunks": [c["seq"] for c in chunk_notes if not c["matches_signed_hash"]],
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


def _settle(notes: list, read: tuple, mark_changed: bool) -> None:
    """Take the checks of a run read back (``(entries, places, _Run)``) into the chunk
    notes; ChangedMedia for its first fragment that is not what its entry signs (unless the
    caller asked to export changed footage anyway).

    The check that makes the export evidence: each fragment's bytes as they lie in the
    file, read back after the copy, against the hash its entry signs; so they are what the
    device signed even if the store's file changed meanwhile."""
    run, places, checks = read
    for e, where, ok in zip(run, places, checks.held(), strict=True):
        if not ok and not mark_changed:
            raise ChangedMedia(e.seq)
        notes.append(_chunk_note(e, where, not ok))


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
