"""The scale-out store as a court package reads a store: its database as it stands, its
media fetched first from the bucket into a private folder of files.

``build`` is the package made from either store: the embedded one read as it stands, the
scale-out one through its objects fetched first (what ``sealcam export`` and the review
page's export buttons both call).

The package (``host.court.package``) copies each recording's signed media into the package
by path (``media_file``: the export's copier, and the foresight of a video's hash in the
process beside, which has no database) and reads its raw chunks whole (``read_media``).
Objects have no path, so the media of the recordings wanted are fetched before the package
starts (``host.mediafetch.fetch``), and this view of the store
names those files. Everything else (entries, keys, the log, the audit trail, settings) is
the store's own. The package's own checks stay what they are: every chunk against the hash
its entry signs, each span's signatures and chain (linked to the entry before it), the
log's proofs, nothing half-written.

Each span is verified beside the fetch of its recording's media (a worker process,
``host.sigworker.LedgerWorker``; one recording at a time), and its verdict taken once that
fetch is over: a broken span is refused as not authentic (exit 1) before anything else is
said of it, also when its media could not be fetched, so that tampering with the store is
never said as an object missing; the package takes those verdicts rather than verifying
each span again.
"""

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from host import spans
from host.errors import Unusable
from host.mediafetch import Fetched, FetchProblem, fetch_chunks
from protocol.registry import F_RECORDING, KIND_CHUNK

if TYPE_CHECKING:
    from host.court import package
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore


class _LogOf:
    """The store's log as the package asks it (``store_id()``, with no cursor given)."""

    def __init__(self, store: "PgEvidenceStore") -> None:
        self._store = store

    def store_id(self) -> str:
        with self._store.read() as cur:
            row = cur.execute("SELECT value FROM store_meta WHERE name = 'store_id'").fetchone()
        return str(row[0]) if row else ""


class FetchedStore:
    """A scale-out store with the media of some recordings fetched into files."""

    def __init__(
        self, store: "PgEvidenceStore", fetched: Fetched, spans_read: dict, verdicts: dict
    ) -> None:
        self._store = store
        self._fetched = fetched
        # {(device, recording number): its span (host.spans.Span)}, as read to fetch its
        # media: the package takes them rather than reading each span a second time.
        self.spans_read = spans_read
        # {(device, recording number): its span's verification (protocol.verify.Report)},
        # taken beside its media's fetch: the package takes them rather than verifying again.
        self.verdicts = verdicts
        self.log = _LogOf(store)
        self.root = store.url  # what an export (a raw recording's derivative) opens it by
        self.media_url = store.media.url

    def media_file(self, digest: bytes) -> Path:
        return self._fetched.media_file(digest)

    def read_media(self, digest: bytes) -> bytes:
        return self._fetched.read_media(digest)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def fetched_for(store: "PgEvidenceStore", wanted: "list[package.Wanted]", near: Path) -> tuple:
    """``(FetchedStore, folder)``: the media of every chunk of the recordings ``wanted``
    fetched into a private folder made beside ``near`` (the caller removes it), each span
    verified beside its fetch. Refused (not authentic, exit 1) for a span that is not what
    its device signed; else Unusable, in one line, when the object store does not answer or
    an object the store recorded is not in the bucket (the chunk named)."""
    from host.court.package import ledger_refusal
    from host.sigworker import LedgerWorker

    parent = near.resolve().parent
    folder = Path(
        tempfile.mkdtemp(prefix=".sealcam-fetch-", dir=parent if parent.is_dir() else None)
    )
    try:
        read: dict = {}
        verdicts: dict = {}
        for want in wanted:
            key = (want.device, int(want.number))
            if key in read:
                continue
            rec_id = int(want.number).to_bytes(8, "big")
            read[key] = span = spans.read(store, want.device, rec_id)
            chunks = [
                e
                for e in span.entries
                if e.kind == KIND_CHUNK and e.fields.get(F_RECORDING) == rec_id
            ]  # the recording's span only (host.spans)
            public = store.device_key(want.device) or b""
            worker = LedgerWorker(
                span.records, want.device, public, resume=span.resume, held_to=span.held_to
            )
            problem = None
            try:
                try:
                    fetch_chunks(store, chunks, folder)
                except FetchProblem as exc:
                    problem = exc
                verdicts[key] = worker.report()
            finally:
                worker.close()
            refused = ledger_refusal(want.item, verdicts[key])
            if refused is not None:
                raise refused
            if problem is not None:
                raise Unusable(str(problem))
        # A changed object is kept as it came: the package's own check refuses its chunk.
        return FetchedStore(store, Fetched(folder), read, verdicts), folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def build(
    store: "SqliteEvidenceStore | PgEvidenceStore",
    wanted: "list[package.Wanted]",
    case: "dict | None",
    extractor: dict,
    signer: Any,
    kid: str,
    opts: "package.Options",
    now: int,
) -> "package.Made":
    """``host.court.package.build`` on either store: the embedded one as it stands; from
    the scale-out one, the media of ``wanted`` fetched first into a private folder beside
    the package (``fetched_for``), which is removed after it, made or not."""
    from host.court import package
    from host.evidence import SqliteEvidenceStore

    if isinstance(store, SqliteEvidenceStore):
        return package.build(store, wanted, case, extractor, signer, kid, opts, now)
    view, folder = fetched_for(store, wanted, opts.out)
    try:
        # The view reads as a store's files by digest: the shape the package reads.
        source = cast("SqliteEvidenceStore", view)
        return package.build(source, wanted, case, extractor, signer, kid, opts, now,
                             spans_read=view.spans_read, verdicts=view.verdicts)  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
