"""What the SD card's folders hold, and which of them changed (Linux inotify), so the card
counts its used space again only where something changed."""
# micropython: skip (the simulator runs on CPython only)

import os
import struct

# A directory whose mtime is this close to now may change again within the same tick of the
# file system's coarse clock without its mtime moving, so its cached count is not trusted.
RACY_NS = 100_000_000

# Linux inotify (linux/inotify.h): the events that can change what a folder's files take.
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_Q_OVERFLOW, _IN_IGNORED = 0x4000, 0x8000
_IN_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, name length; the name follows


class FolderWatcher:
    """Which of the card's folders changed since last asked, from Linux inotify.

    Raises OSError where inotify is missing or its per-user limits are reached; the card then
    falls back to checking every folder's mtime.
    """

    def __init__(self) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._folders: dict = {}  # watch descriptor -> folder
        self._wds: dict = {}  # folder -> watch descriptor

    def watch(self, folder: str) -> None:
        """Watch ``folder`` unless it is watched already (a folder made again is not)."""
        if folder in self._wds:
            return
        wd = self._add(self.fd, os.fsencode(folder), _IN_MASK)
        if wd < 0:
            raise OSError("cannot watch %s (inotify's watch limit?)" % folder)
        self._folders[wd] = folder
        self._wds[folder] = wd

    def changed(self) -> set | None:
        """The folders with events since the last call; None when events were lost."""
        out: set = set()
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return out
            pos = 0
            while pos < len(data):
                wd, mask, _cookie, size = _EVENT.unpack_from(data, pos)
                pos += _EVENT.size + size
                if mask & _IN_Q_OVERFLOW:
                    return None
                folder = self._folders.get(wd)
                if folder is not None:
                    out.add(folder)
                if mask & _IN_IGNORED and folder is not None:
                    del self._folders[wd]  # the folder went: its watch is gone with it
                    if self._wds.get(folder) == wd:
                        del self._wds[folder]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Folder:
    __slots__ = ("bytes", "mtime", "racy", "subdirs")

    def __init__(self, nbytes: int, mtime: int, racy: bool, subdirs: list) -> None:
        self.bytes = nbytes
        self.mtime = mtime
        self.racy = racy
        self.subdirs = subdirs


def scan_folder(folder: str) -> tuple:
    """``(bytes of the files directly in folder, its subfolders)``; (0, []) if it is gone."""
    nbytes = 0
    subdirs = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        nbytes += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue  # removed while we looked
    except (FileNotFoundError, NotADirectoryError):
        pass
    return nbytes, subdirs
