"""One writer per device store (R-DEV-2, R-DEV-14).

A device store is written by exactly one process: its ledger's next seq and the hash it
chains to live in that writer's memory, so a second writer beside it signs different
entries for the same seqs (a forked ledger the host must refuse from then on). Every
writer claims the store before it opens it (``claim``) and keeps the claim until it stops
writing; readers (``firmware.store.ledger_bytes``, ``sealcam verify``) take none.

On CPython the claim is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``writer.lock`` in the store
directory. The kernel drops it when its holder exits, however it exits (a power cut of the
terminal, SIGKILL), so a claim is never stale. The holder writes who it is into the file
(pid, command, start time), so a refused writer can name it. Claims are not re-entrant:
two claims of one store in one process refuse each other too.

On a board (MicroPython: no ``fcntl``) the single agent on it is the only writer, and a
claim is a no-op.
"""

import errno
import json
import os
import time

from firmware.errors import StoreError

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Protocol

    class Fcntl(Protocol):
        """What a claim uses of CPython's ``fcntl`` module."""

        LOCK_EX: int
        LOCK_NB: int

        def flock(self, __fd: int, __operation: int) -> None: ...

    class Closable(Protocol):
        """What a claim keeps of its lock file: closing it drops the flock."""

        def close(self) -> None: ...


def _load_fcntl() -> "Fcntl | None":
    try:
        return __import__("fcntl")
    except ImportError:  # MicroPython: the agent is the board's only writer
        return None


_fcntl = _load_fcntl()

LOCK_NAME = "writer.lock"
# What flock answers when another holds the lock: EWOULDBLOCK, which is EAGAIN (11 on
# Linux, 35 on BSD and macOS); some systems say EACCES.
_HELD = (getattr(errno, "EAGAIN", 11), getattr(errno, "EACCES", 13), 35)
# What a holder record may hold at most; a longer file is not a holder record.
_MAX_RECORD = 4096


class StoreInUse(StoreError):
    """The store is claimed by another writer; ``holder`` says which (a dict, maybe empty)."""

    def __init__(self, path: str, holder: dict) -> None:
        self.path = path
        self.holder = holder
        StoreError.__init__(
            self,
            "the store %s is in use by %s; only one process may write a device store: stop "
            "that one first" % (path, describe(holder)),
        )


def describe(holder: dict) -> str:
    """A holder record for people: "sealcam record (pid 1234, since 2026-12-05 10:31:02)"."""
    command = holder.get("command")
    pid = holder.get("pid")
    since = holder.get("since")
    if not isinstance(command, str) or not command:
        command = "another process"
    detail = []
    if type(pid) is int:
        detail.append("pid %d" % pid)
    if type(since) is int:
        detail.append("since %s" % _local_time(since))
    return command + (" (%s)" % ", ".join(detail) if detail else "")


def parse_holder(data: bytes) -> dict:
    """The holder record in a lock file's bytes; {} when they hold none (an older holder
    that had not written it yet, or a file that is not one)."""
    if not data or len(data) > _MAX_RECORD:
        return {}
    try:
        record = json.loads(data)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _local_time(seconds: int) -> str:
    t = time.localtime(seconds)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (t[0], t[1], t[2], t[3], t[4], t[5])


class StoreClaim:
    """A writer's claim on one store, held until ``release`` (or until the process ends)."""

    def __init__(self, path: str, file: "Closable | None") -> None:
        self.path = path
        self._file = file

    @property
    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        """Give the store up. The lock file stays: removing it would let a newcomer lock a
        fresh file while a waiting one locks the removed one."""
        f = self._file
        if f is None:
            return
        self._file = None
        f.close()  # closing the file drops the flock

    def __enter__(self) -> "StoreClaim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim(path: str, command: str) -> StoreClaim:
    """Claim the store at ``path`` for this process, as ``command`` (what a refused writer
    is told holds it); raise ``StoreInUse`` when another writer holds it."""
    if _fcntl is None:
        return StoreClaim(path, None)
    try:
        os.mkdir(path)
    except OSError:
        pass  # it exists (or cannot be made, which opening the lock file reports)
    lock_path = path + "/" + LOCK_NAME
    try:
        f = open(lock_path, "a+b")
    except OSError as exc:
        raise StoreError("cannot open %s to claim the store: %s" % (lock_path, exc)) from None
    try:
        _fcntl.flock(f.fileno(), _fcntl.LOCK_EX | _fcntl.LOCK_NB)
    except OSError as exc:
        if exc.args and exc.args[0] not in _HELD:
            f.close()
            raise StoreError(
                "cannot lock %s to claim the store (%s): the file system must support flock"
                % (lock_path, exc)
            ) from None
        f.seek(0)
        holder = parse_holder(f.read(_MAX_RECORD + 1))
        f.close()
        raise StoreInUse(path, holder) from None
    getpid = getattr(os, "getpid", None)  # every port with fcntl has it
    pid = getpid() if getpid is not None else -1
    record = {"pid": pid, "command": command, "since": int(time.time())}
    try:
        f.seek(0)
        f.truncate()
        f.write(json.dumps(record).encode())
        f.flush()
    except OSError:
        pass  # the claim stands without its record; a refusal then names no holder
    return StoreClaim(path, f)
