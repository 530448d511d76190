"""``sealcam ledger export``: a device store's ledger as one plain file, the CBOR sequence of
COSE_Sign1 entries that ``sealcam verify FILE --key KEY`` reads, for a case file or a reader
without the store."""

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from host import i18n
from host.cli.common import EXIT_OK, LEDGER_READ, UsageProblem
from host.files import os_why, write_atomic_parts


def export_ledger(store: Path, out: Path) -> tuple:
    """Write the payloads of ``store``'s ledger records, in order, to ``out``: whole or not
    at all (a temporary file renamed over it once synced). Returns (entries, bytes)."""
    from firmware.store import ledger_records

    count = 0

    def batches() -> Iterator[bytes]:
        nonlocal count
        batch: list = []
        held = 0
        for payload in ledger_records(str(store), LEDGER_READ):
            batch.append(payload)
            held += len(payload)
            count += 1
            if held >= LEDGER_READ:  # bounded memory for a ledger of any length
                yield b"".join(batch)
                batch, held = [], 0
        yield b"".join(batch)

    size = write_atomic_parts(out, batches())
    return count, size


def cmd_ledger_export(args: argparse.Namespace) -> int:
    from host.cli.demo import command_name

    store = Path(args.store)
    if not (store / "ledger").is_dir():
        raise UsageProblem(i18n.text("ledger.not_a_store", path=store))
    out = Path(args.out)
    if out.is_dir():
        raise UsageProblem(i18n.text("ledger.out_is_dir", path=out))
    if not out.parent.is_dir():
        raise UsageProblem(i18n.text("ledger.no_folder", path=out.parent))
    try:
        count, size = export_ledger(store, out)
    except OSError as exc:
        raise UsageProblem(i18n.text("ledger.cannot_write", path=out, why=os_why(exc))) from None
    key = store / "device.pub"
    check = "%s verify %s --key %s" % (
        command_name(),
        out,
        key if key.is_file() else "DEVICE.pub",
    )
    print(
        i18n.text("ledger.exported", count=count, size=size, store=store, out=out, check=check),
        file=sys.stderr,
    )
    return EXIT_OK


def add_ledger(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam ledger export``."""
    lg = sub.add_parser(
        "ledger",
        help="export a device store's ledger as one file",
        description="A device store keeps its ledger in segment files (STORE/ledger/*.seg), "
        "each entry framed with its length and a checksum. 'sealcam ledger export' writes "
        "the entries alone, in order, as one plain ledger file (a CBOR sequence of "
        "COSE_Sign1 entries) that 'sealcam verify FILE --key KEY' checks anywhere. The "
        "store is only read.",
    )
    lg_sub = lg.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = lg_sub.add_parser(
        "export",
        help="write the store's ledger entries to one file",
        epilog="Example: sealcam ledger export rec/ --out shift.ledger; then sealcam verify "
        "shift.ledger --key rec/device.pub",
    )
    e.add_argument("store", help="the device store directory (it holds ledger/)")
    e.add_argument("--out", required=True, help="the ledger file to write")
    e.set_defaults(run=cmd_ledger_export)
