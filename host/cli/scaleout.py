"""The evidence store a command names: a folder (the embedded store) or ``postgresql://...``
with ``--media s3://BUCKET`` (``host.pgstore``), and ``sealcam verify`` of the latter."""

import argparse
import json
from typing import TYPE_CHECKING, Any

from host import i18n
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable

    from host.evidence import EvidenceStore

    # What records a read-only check: given the open store, ``record(**details)``.
    Recorder = Callable[[Any], Callable[..., contextlib.AbstractContextManager[None]]]


def is_scaleout(evidence: str) -> bool:
    return evidence.startswith(("postgresql://", "postgres://"))


def add_media_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--media", metavar="s3://BUCKET", help=i18n.text("scaleout.media_help"))


def open_store(evidence: str, media: "str | None", readonly: bool = False) -> "EvidenceStore":
    """The store ``--evidence`` names (and ``--media``, for a PostgreSQL one); anything that
    keeps it from opening is one line, exit 2."""
    from host.evidence import SqliteEvidenceStore, StoreUnopenable

    if not is_scaleout(evidence):
        if media:
            raise UsageProblem(i18n.text("scaleout.media_alone"))
        return SqliteEvidenceStore(evidence, readonly=readonly)
    if not media:
        raise UsageProblem(i18n.text("scaleout.need_media"))
    from host.pgstore import PgEvidenceStore

    try:
        return PgEvidenceStore(evidence, media, readonly=readonly)
    except StoreUnopenable as exc:
        raise UsageProblem(str(exc)) from None


def verify_scaleout(args: argparse.Namespace, recorder: "Recorder") -> int:
    """``sealcam verify postgresql://... --media s3://BUCKET``: the store's own check;
    ``recorder`` (``host.cli.auth.recorder``) checks the reader's role and records it."""
    from host import pgverify
    from host.pgstore import PgEvidenceStore, _shown

    store = open_store(args.ledger, getattr(args, "media", None), readonly=True)
    assert isinstance(store, PgEvidenceStore)
    try:
        # A store with accounts records who checked it, and what they found, as the
        # embedded store's verify does (``host.cli.auth.reader_desk``).
        record = recorder(store)
        report = pgverify.check(store)
        details = {"verdict": "OK" if report.ok else "NOT OK",
                   "store_findings": len(report.findings),
                   "devices": len(report.stats["devices"])}  # fmt: skip
        with record(**details):
            if args.json:
                print(json.dumps(report.to_dict(), indent=2, default=str))
            else:
                for line in report.lines(_shown(args.ledger), store.media.bucket):
                    print(line)
    finally:
        store.close()
    return EXIT_OK if report.ok else EXIT_NOT_OK
