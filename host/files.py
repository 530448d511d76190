"""Durable file writes: a reader sees the old file or the new one, never half of either; and
reads that take a regular file only, never a device, FIFO or socket."""

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from host import i18n
from host.errors import Unusable


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: "bytes | bytearray | memoryview") -> None:
    """Write all of ``data`` to the file descriptor (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing the file's dirty pages to disk now, without waiting:
    a later sync then has less to do. A hint only; durability still needs the sync."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        # On Linux, DONTNEED starts writeback of dirty pages (and drops the clean ones).
        advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file, fsync it, rename it over ``path``, fsync the folder.

    On any failure (a full disk included) the temporary file is removed and ``path`` keeps
    what it held before.
    """
    write_atomic_parts(path, (data,), mode)


def write_atomic_parts(path: Path, parts: Iterable[bytes], mode: int = 0o644) -> int:
    """``write_atomic`` of the bytes ``parts`` yields one after another, so a file of any
    length is written whole or not at all in bounded memory; return the bytes written."""
    path = Path(path)
    tmp = path.with_name(".%s.tmp-%d" % (path.name, os.getpid()))
    size = 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            for part in parts:
                write_all(fd, part)
                size += len(part)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return size


def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)`` (0 on success), where this system's C library has it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _syncfs()


def sync_files(folder: Path, paths: list) -> None:
    """Make ``paths`` (files inside ``folder``'s filesystem) and their names durable.

    One ``syncfs`` of the filesystem where Linux offers it, in place of an fsync per file and
    per folder; elsewhere each file and each folder is fsynced.
    """
    if _SYNCFS is not None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    folders = set()
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        folders.add(Path(p).parent)
    for f in folders:
        fsync_dir(f)


# The kinds of file callers name (``what``), by their English words: each is said in the
# reader's language. A message id (``file.what.key``) may be given instead.
_WHAT = {
    "key file": i18n.N_("file.what.key"),
    "ledger": i18n.N_("file.what.ledger"),
    "MP4 file": i18n.N_("file.what.mp4"),
    "witness checkpoint": i18n.N_("file.what.witness"),
    "agency public key": i18n.N_("file.what.agency_public"),
    "agency signing certificate": i18n.N_("file.what.agency_cert"),
    "agency CA certificate": i18n.N_("file.what.agency_ca"),
    "agency signing key": i18n.N_("file.what.agency_key"),
}


def said_what(what: str) -> str:
    """``what`` (a kind of file) in the reader's language where the catalogue has it."""
    msg_id = _WHAT.get(what, what)
    return i18n.text(msg_id) if i18n.known(msg_id) else what


def os_why(exc: OSError) -> str:
    """Why the system refused, in the reader's language for the common reasons (the C
    library's English otherwise)."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    if name and i18n.known("oserror." + name):
        return i18n.text("oserror." + name)
    return str(exc.strerror or exc)


def read_regular(path: str, what: str, limit: int = -1) -> bytes:
    """The bytes of the regular file at ``path`` (``what`` names it in messages), at most
    ``limit`` of them when it is given; Unusable in one line otherwise."""
    f = open_regular(path, what)
    with f:
        data = f.read() if limit < 0 else f.read(limit + 1)
    if 0 <= limit < len(data):
        raise Unusable(i18n.text("file.too_large", what=said_what(what), path=path, limit=limit))
    return data


def open_regular(path: str, what: str) -> BinaryIO:
    """Open a regular file for reading; a device, FIFO or socket is refused before a read.

    /dev/zero never ends and a FIFO blocks until someone writes to it, so neither can be a
    ledger or a key; the file is opened without blocking and checked before it is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise Unusable(i18n.text("file.missing", what=said_what(what), path=path)) from None
    except IsADirectoryError:
        raise Unusable(i18n.text("file.directory", what=said_what(what), path=path)) from None
    except OSError as exc:
        why = os_why(exc)
        raise Unusable(
            i18n.text("file.unreadable", what=said_what(what), path=path, why=why)
        ) from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise Unusable(i18n.text("file.directory", what=said_what(what), path=path))
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Unusable(i18n.text("file.not_regular", what=said_what(what), path=path))
    return os.fdopen(fd, "rb")
