"""The SD card: a directory whose writes stop at its capacity, as a full card's do, and the
device's store on it."""
# micropython: skip (the simulator runs on CPython only)

import errno
import os
import time
import weakref
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from firmware.store import DEFAULT_SEGMENT_BYTES, Store
from host.i18n import text
from simulator.errors import SimulatorError
from simulator.hardware.cardspace import RACY_NS, Folder, FolderWatcher, scan_folder
from simulator.hardware.clock import whole

if TYPE_CHECKING:
    from firmware.store import WritableFile


class SdCard:
    """A small SD card: a directory whose writes stop at ``capacity_bytes``.

    Files the store writes are opened through ``opener``: a write that does not fit takes
    what room is left and fails with ENOSPC, as a full card does. Used space is counted from
    the files on disk, so media removed with ``os.remove`` frees room at once. The count is
    kept per folder and redone only for folders that changed: on Linux, inotify says which
    (asking for free space when nothing changed costs one read); elsewhere, or past inotify's
    limits, every folder's mtime is checked.

    The store's syncs reach the host's disk only with ``host_sync``. Without it a sync is a
    flush: the card's files live on the host only to hold its bytes, and what a power cut
    keeps is the simulator's to decide (its power-cut fault tears a write at a chosen
    moment), so an fsync of the host's disk would buy the simulation nothing but time.
    """

    def __init__(
        self, path: str, capacity_bytes: int, watch: bool = True, host_sync: bool = False
    ) -> None:
        if capacity_bytes <= 0:
            raise SimulatorError(text("sim.hw.card_capacity"))
        os.makedirs(path, exist_ok=True)
        self.path = os.path.abspath(path)
        self.capacity_bytes = int(capacity_bytes)
        self.host_sync = host_sync
        self.filled = 0  # bytes other data takes (fault: the card was filled elsewhere)
        self.refusals = 0  # writes refused for want of room
        self._folders: dict = {}  # folder -> Folder
        self._dirty: set = set()  # folders the opener wrote into since the last count
        self._counted = 0  # used bytes at the last count
        self._grown = 0  # bytes written through the opener since then
        self._watcher: FolderWatcher | None = None
        if watch:
            try:
                self._watcher = FolderWatcher()
            except (OSError, AttributeError):
                self._watcher = None  # no inotify here, or its limits reached
        self._finalizer = weakref.finalize(self, _close_watcher, self._watcher)

    @property
    def watched(self) -> bool:
        """Whether changes are learnt from inotify (else from folder mtimes)."""
        return self._watcher is not None

    def close(self) -> None:
        """Release the card's inotify handle (also done when the card is collected)."""
        self._finalizer()
        self._watcher = None

    # -- space --

    def used_bytes(self) -> int:
        """Bytes the card's files take now (other data from ``fill`` included)."""
        self._count()
        return self._counted + self.filled

    def free_bytes(self) -> int:
        return max(0, self.capacity_bytes - self.used_bytes())

    def fill(self, nbytes: int) -> None:
        """Fault: other data takes ``nbytes`` more of the card."""
        self.filled += whole(nbytes, "fill (bytes)")

    def _room(self, want: int) -> int:
        """How many of ``want`` more bytes fit; counts afresh only when the estimate is short."""
        estimate = self._counted + self._grown + self.filled
        if estimate + want <= self.capacity_bytes:
            return want
        self._count()
        return max(0, min(want, self.capacity_bytes - self._counted - self.filled))

    def _count(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            try:
                self._count_watched(watcher)
            except OSError:
                watcher.close()  # past inotify's limits: check mtimes from now on
                self._watcher = None
                self._folders.clear()
        if self._watcher is None:
            self._count_walked()
        self._dirty.clear()
        self._grown = 0

    def _count_watched(self, watcher: FolderWatcher) -> None:
        changed = watcher.changed() if self._folders else None
        if changed is None:  # the first count, or inotify lost events: start again
            self._folders.clear()
            self._counted = 0
            changed = {self.path}
        for folder in changed | self._dirty:
            self._recount(watcher, folder)

    def _recount(self, watcher: FolderWatcher, folder: str) -> None:
        """Count ``folder`` again (watching it first, so no change slips between); follow
        new subfolders down and forget the ones gone."""
        if folder != self.path and not folder.startswith(self.path + os.sep):
            return  # not on the card
        old = self._folders.pop(folder, None)
        if old is not None:
            self._counted -= old.bytes
        if not os.path.isdir(folder):
            for sub in old.subdirs if old is not None else ():
                self._forget(sub)
            return
        watcher.watch(folder)
        nbytes, subdirs = scan_folder(folder)
        self._folders[folder] = Folder(nbytes, 0, False, subdirs)
        self._counted += nbytes
        for sub in old.subdirs if old is not None else ():
            if sub not in subdirs:
                self._forget(sub)
        for sub in subdirs:
            if sub not in self._folders:
                self._recount(watcher, sub)

    def _forget(self, folder: str) -> None:
        gone = self._folders.pop(folder, None)
        if gone is not None:
            self._counted -= gone.bytes
            for sub in gone.subdirs:
                self._forget(sub)

    def _count_walked(self) -> None:
        now = time.time_ns()
        total = 0
        seen = set()
        stack = [self.path]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
            except FileNotFoundError:
                continue
            seen.add(folder)
            cached = self._folders.get(folder)
            if (
                cached is None
                or cached.racy
                or cached.mtime != st.st_mtime_ns
                or folder in self._dirty
            ):
                nbytes, subdirs = scan_folder(folder)
                mtime = st.st_mtime_ns
                cached = Folder(nbytes, mtime, now - mtime < RACY_NS, subdirs)
                self._folders[folder] = cached
            total += cached.bytes
            stack.extend(cached.subdirs)
        for gone in set(self._folders) - seen:
            del self._folders[gone]
        self._counted = total

    # -- files --

    def opener(
        self, file: str, mode: str = "r", *args: Any, **kwargs: Any
    ) -> "_CardFile | IO[Any]":
        """``open`` for files on the card: pass as ``Store(path, opener=card.opener)``."""
        if not any(c in mode for c in "wax+"):
            return open(file, mode, *args, **kwargs)
        binary = "b" in mode
        if binary:
            # Unbuffered, so the size on disk is always what was written (the count reads it).
            kwargs["buffering"] = 0
        f = open(file, mode, *args, **kwargs)
        self._dirty.add(os.path.dirname(os.path.abspath(file)))
        return _CardFile(self, f, str(file), binary, "a" in mode)

    def open_store(self, sync_every: int = 1, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> Store:
        """A ``firmware.store.Store`` at the card's root that writes through ``opener`` and
        reports the card's free space."""
        return CardStore(self, None, sync_every, segment_bytes)

    def _wrote(self, folder: str, grown: int) -> None:
        self._grown += grown
        self._dirty.add(folder)


def _close_watcher(watcher: "FolderWatcher | None") -> None:
    if watcher is not None:
        watcher.close()


class _CardFile:
    """A file open for writing on an SdCard: every write is checked against the room left."""

    def __init__(self, card: SdCard, f: "IO[Any]", path: str, binary: bool, append: bool) -> None:
        self._card = card
        self._f = f
        self._path = path
        self._folder = os.path.dirname(os.path.abspath(path))
        self._binary = binary
        self._append = append
        self._size = os.fstat(f.fileno()).st_size

    def _growth(self, n: int) -> int:
        """How many bytes writing ``n`` more adds to the file."""
        if self._append:
            return n
        pos = self._f.tell()
        return max(0, pos + n - self._size)

    def write(self, data: object) -> int:
        if self._binary:
            payload = memoryview(data).cast("B")  # type: ignore[arg-type]  # bytes-like, as for a file
            size = len(payload)
        else:
            text = str(data)
            size = len(text.encode(getattr(self._f, "encoding", None) or "utf-8"))
        grow = self._growth(size)
        room = self._card._room(grow)
        fits = size - (grow - room)  # bytes of this write that fit
        if self._binary:
            written = 0
            while written < fits:
                n = self._f.write(payload[written:fits])
                written += n or 0
        else:
            written = self._write_text(text, fits)
        self._after(written)
        if written < size:
            self._card.refusals += 1
            raise OSError(
                errno.ENOSPC, "No space left on device (simulated SD card full)", self._path
            )
        return size if self._binary else len(text)

    def _write_text(self, text: str, fits: int) -> int:
        enc = getattr(self._f, "encoding", None) or "utf-8"
        part = text
        while part and len(part.encode(enc)) > fits:
            part = part[: len(part) - 1]
        self._f.write(part)
        self._f.flush()
        return len(part.encode(enc))

    def _after(self, written: int) -> None:
        end = os.fstat(self._f.fileno()).st_size
        grown = max(0, end - self._size)
        self._size = end
        self._card._wrote(self._folder, grown)

    def truncate(self, size: int | None = None) -> int:
        out = self._f.truncate(size)
        self._size = os.fstat(self._f.fileno()).st_size
        self._card._dirty.add(self._folder)
        return int(out)

    def flush(self) -> None:
        self._f.flush()

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._card._dirty.add(self._folder)
        self._f.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._f, name)

    def __enter__(self) -> "_CardFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CardStore(Store):
    """The device's store on an SdCard: its writes go through the card, its free space is
    the card's."""

    def __init__(
        self,
        card: SdCard,
        path: str | None = None,
        sync_every: int = 1,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        opener: "Callable | None" = None,
    ) -> None:
        """``opener`` wraps the card's own (the simulator's power cuts do); it must write
        through ``card.opener``, or the card cannot count what is written."""
        self.card = card
        super().__init__(path or card.path, sync_every, segment_bytes, opener or card.opener)

    def free_bytes(self) -> int:
        return self.card.free_bytes()

    def _sync_file(self, f: "WritableFile") -> None:
        if self.card.host_sync:
            super()._sync_file(f)
        else:
            f.flush()

    def _sync_folder(self, path: str) -> None:
        if self.card.host_sync:
            super()._sync_folder(path)
