"""A store's media read by digest, whichever store holds it: files or objects.

The readers of footage (the review page's range requests, its checks and thumbnails, the
exports) ask one thing of a store's media: the bytes of a digest, or a range of them, a block
at a time (``MediaSource``). The embedded store answers from its files (``FileMedia``); the
scale-out store from its bucket, an S3 GET with a ``Range`` of the version it recorded
(``ObjectMedia``), so a seek in a long recording reads only what it needs from the object
store, never a whole fragment first.

Two ways a read fails, told apart because they mean different things to a person:
``MediaMissing`` (the store does not hold it: not collected yet, removed under retention, or
an object gone from the bucket) and ``MediaUnreachable`` (the object store cannot be asked
now: down, or the network; try again). Both are ``OSError``s, so a reader that only cares
whether it got the bytes handles them as any failed file read.

An export copies files (``host.mp4export`` hands the kernel one path per fragment): the
objects it needs are fetched into a folder of files first (``host.mediafetch``).
"""

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from host.daemonpool import DaemonPool, NoThread, run_here
from host.problems import Said

READ_BLOCK = 256 * 1024
VERSIONS_KEPT = 100_000  # digest -> recorded version, remembered (a version never changes)
# Ranges of objects asked for at once by one reader of many (a seek across small fragments):
# each is a round trip to the gateway, so one after another they add up. Within the S3
# client's ten pooled connections for two such readers at once.
READ_AHEAD = 4
READERS = 16  # the threads asking, for every reader of one store together


class MediaMissing(FileNotFoundError):
    """The store holds no media of this digest (never stored, removed, or its object gone)."""


class MediaUnreachable(Said, OSError):
    """The object store cannot be asked now (down, the network); the message says which.
    Made by ``said``, it keeps its message's id and fields, so that a failure kept since
    (a page's, asked about later) is said again in each reader's language."""


class MediaShort(Said, OSError):
    """A store's media ended before the length the ledger signed (a file cut short). Made by
    ``said``, it keeps its message's id and fields: it is no refusal of the system, so it has
    no errno to say it by (``host.problems.kept``)."""


class MediaSource(Protocol):
    """What a reader of footage needs of a store's media."""

    def read_range(
        self, digest: bytes, first: int = 0, last: "int | None" = None
    ) -> Iterator[bytes]:
        """Bytes ``first`` to ``last`` inclusive (None: to the end) of the media of
        ``digest``, in blocks. MediaMissing, MediaUnreachable; OSError when the media is
        shorter than asked for."""
        ...

    def read_spans(self, spans: "Iterable[tuple[bytes, int, int]]") -> Iterator[bytes]:
        """The bytes of each ``(digest, first, last)`` in turn, in blocks: a range of a
        virtual file that crosses many media (``host.web.footage``). The same failures."""
        ...


def read_all(source: MediaSource, digest: bytes) -> bytes:
    """The whole media of ``digest``."""
    return b"".join(source.read_range(digest))


class FileMedia:
    """The embedded store's media: one file per digest (``file_of``: its path)."""

    def __init__(self, file_of: "Callable[[bytes], Path]") -> None:
        self.file_of = file_of

    def read_range(
        self, digest: bytes, first: int = 0, last: "int | None" = None
    ) -> Iterator[bytes]:
        try:
            fh = open(self.file_of(digest), "rb")  # closed by the blocks, as they are read
        except FileNotFoundError:
            raise MediaMissing("no media %s in the evidence store" % bytes(digest).hex()) from None
        return self._blocks(fh, digest, first, last)

    @staticmethod
    def _blocks(fh: Any, digest: bytes, first: int, last: "int | None") -> Iterator[bytes]:
        with fh:
            fh.seek(first)
            left = None if last is None else last - first + 1
            while left is None or left > 0:
                block = fh.read(READ_BLOCK if left is None else min(READ_BLOCK, left))
                if not block:
                    if left is None:
                        return
                    raise MediaShort.said("media.shorter", digest=bytes(digest).hex())
                if left is not None:
                    left -= len(block)
                yield block

    def read_spans(self, spans: "Iterable[tuple[bytes, int, int]]") -> Iterator[bytes]:
        for digest, first, last in spans:
            yield from self.read_range(digest, first, last)


class ObjectMedia:
    """The scale-out store's media: objects in one bucket (``s3``: its boto3 client), each
    read at the version the store recorded (``version_of``: None when none is recorded)."""

    remote = True  # each read a request over the network (``host.web.media`` reads ahead)

    def __init__(self, s3: Any, bucket: str, version_of: "Callable[[bytes], str | None]") -> None:
        self.s3 = s3
        self.bucket = bucket
        self._version_of = version_of
        self._versions: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()
        # The readers ahead: daemon threads, so a read waiting on an object store that does
        # not answer never holds the process's end (a read cut off changes nothing).
        self._pool: DaemonPool | None = None

    def version(self, digest: bytes) -> str:
        """The recorded version of ``digest``'s object (asked of the database once)."""
        digest = bytes(digest)
        with self._lock:
            known = self._versions.get(digest)
        if known is not None:
            return known
        version = self._version_of(digest)
        if version is None:
            raise MediaMissing("no media %s in the evidence store" % digest.hex())
        with self._lock:
            self._versions[digest] = version
            while len(self._versions) > VERSIONS_KEPT:
                self._versions.popitem(last=False)
        return version

    def _get(self, digest: bytes, **extra: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        from host import i18n
        from host.s3media import _code, _key, _status

        args = {"Bucket": self.bucket, "Key": _key(digest), "VersionId": self.version(digest)}
        try:
            return self.s3.get_object(**args, **extra)
        except ClientError as exc:
            status, code = _status(exc), _code(exc)
            if status in (404, 405) or code in ("NoSuchKey", "NoSuchVersion"):
                raise MediaMissing(i18n.text("s3.missing", digest=bytes(digest).hex())) from None
            if status == 416:
                raise OSError("media %s is shorter than signed" % bytes(digest).hex()) from None
            raise self._down(code or status) from None
        except BotoCoreError as exc:
            raise self._down(exc) from None

    def _down(self, why: object) -> MediaUnreachable:
        return MediaUnreachable.said("media.unreachable", bucket=self.bucket,
                                     endpoint=self.s3.meta.endpoint_url, why=why)  # fmt: skip

    def read_range(
        self, digest: bytes, first: int = 0, last: "int | None" = None
    ) -> Iterator[bytes]:
        extra = {}
        if first or last is not None:
            extra["Range"] = "bytes=%d-%s" % (first, "" if last is None else last)
        answer = self._get(digest, **extra)  # asked now: a failure is the caller's at once
        return self._blocks(answer["Body"], digest, None if last is None else last - first + 1)

    def _blocks(self, body: Any, digest: bytes, want: "int | None") -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError

        got = 0
        try:
            for block in body.iter_chunks(READ_BLOCK):
                got += len(block)
                yield block
        except (BotoCoreError, OSError) as exc:  # the gateway went away under the read
            raise self._down(exc) from None
        finally:
            body.close()
        if want is not None and got < want:
            raise OSError("media %s is shorter than signed" % bytes(digest).hex())

    def read_spans(self, spans: "Iterable[tuple[bytes, int, int]]") -> Iterator[bytes]:
        """Each span whole, in order, READ_AHEAD of them asked for at once: a seek that
        crosses twenty small fragments waits for about five round trips, not twenty."""
        with self._lock:
            if self._pool is None:
                self._pool = DaemonPool("media-read", READERS)
            pool = self._pool
        todo = iter(spans)
        asked: deque = deque()

        def ask() -> None:
            while len(asked) < READ_AHEAD:
                span = next(todo, None)
                if span is None:
                    return
                try:
                    asked.append(pool.submit(read, span))
                except NoThread:  # no thread could start: read here, one span at a time
                    asked.append(run_here(read, span))

        def read(span: "tuple[bytes, int, int]") -> bytes:
            return b"".join(self.read_range(*span))

        ask()
        try:
            while asked:
                data = asked.popleft().result()
                ask()
                yield data
        finally:
            for later in asked:
                later.cancel()
