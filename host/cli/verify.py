"""``sealcam verify`` (a ledger file, a device store, a host evidence store) and
``sealcam checkpoint``."""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from host import i18n
from host.cli.common import (
    EXIT_NOT_OK,
    EXIT_OK,
    LEDGER_READ,
    UsageProblem,
    file_chunks,
    load_key,
    number_at_least,
    open_regular,
    read_regular,
)
from host.files import write_atomic
from host.progress import Progress
from host.report_text import render
from protocol.verify import verify_chunks

if TYPE_CHECKING:
    from host.checkup import Checkup
    from host.verify_store import StoreReport


MP4_SUFFIXES = (".mp4", ".m4v", ".mov")


def _is_mp4(path: Path) -> bool:
    """An MP4 file, by its name or by its first box (a ledger starts with a COSE tag)."""
    if path.suffix.lower() in MP4_SUFFIXES and not path.is_dir():
        return True  # a missing one too: "MP4 file ... does not exist" says it best
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(8)[4:8] == b"ftyp"
    except OSError:
        return False


SEGMENT_TEXT = (
    "%s is a segment of a device store's ledger, not a ledger file: a store's entries are "
    "checked together, so verify the store folder (sealcam verify %s --key KEY), or write "
    "its ledger as one file with sealcam ledger export %s --out FILE"
)


def _is_segment(path: Path) -> bool:
    """A device store's ledger segment: its first bytes are a store record (length, CRC-32,
    entry) where a ledger file starts with an entry's COSE tag."""
    from firmware.store import HEADER_LEN, MAX_PAYLOAD
    from protocol.crc32 import crc32

    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER_LEN)
            if len(head) < HEADER_LEN:
                return False
            n = int.from_bytes(head[:4], "big")
            if not 0 < n <= MAX_PAYLOAD:
                return False
            payload = fh.read(n)
    except OSError:
        return False
    return len(payload) == n and crc32(payload) == int.from_bytes(head[4:8], "big")


def _segment_store(path: Path) -> str:
    """The store a segment belongs to, as the user can type it (``STORE`` when unknown)."""
    if path.parent.name == "ledger":
        return str(path.parent.parent)  # as typed: rec/ledger/00000000.seg -> rec
    parent = path.resolve().parent
    return str(parent.parent) if parent.name == "ledger" else "STORE"


def cmd_verify(args: argparse.Namespace) -> int:
    path = Path(args.ledger)
    if _is_mp4(path):
        return verify_mp4_file(args)
    if _is_segment(path):
        store = _segment_store(path)
        raise UsageProblem(SEGMENT_TEXT % (path, store, store))
    if args.agency_ca:
        raise UsageProblem(
            "--agency-ca checks the Content Credentials of an exported MP4, and %s is not one"
            % path
        )
    # An evidence store whose database was deleted still has its media: check it as one.
    gone_db = (path / "media").is_dir() and not (path / "ledger").is_dir()
    if path.is_dir() and ((path / "evidence.db").exists() or gone_db):
        return verify_evidence(path, args)
    if args.witness or args.host_key:  # never let a reader believe a witness was checked
        raise UsageProblem(
            "--witness and --host-key check a host evidence store, and %s is not one (a "
            "ledger or a device store is checked with --key alone)" % path
        )
    if path.is_dir() and (path / "ledger").is_dir():
        from firmware.store import ledger_records

        size = sum(p.stat().st_size for p in (path / "ledger").glob("*.seg"))
        chunks = ledger_records(str(path), LEDGER_READ)
    elif path.is_dir():
        raise UsageProblem(
            "%s is a directory but neither a device store (ledger/) nor an evidence store "
            "(evidence.db)" % path
        )
    else:
        f = open_regular(args.ledger, "ledger")
        size = os.fstat(f.fileno()).st_size
        chunks = file_chunks(f)
    if not args.key:
        raise UsageProblem("a ledger file or device store needs --key DEVICE.pub to check it")
    key = load_key(args.key)
    progress = Progress("verifying %s" % args.ledger, size)
    from host.sigworker import worker_checks

    checks = worker_checks(key.public)
    report = verify_chunks(chunks, key.device_id, key.public, progress.update, checks)
    progress.close()
    if args.json:
        print(json.dumps(dict(report.to_dict(), ledger=args.ledger), indent=2))
    else:
        print(render(report, args.ledger))
    return EXIT_OK if report.ok else EXIT_NOT_OK


def verify_mp4_file(args: argparse.Namespace) -> int:
    """An exported MP4, from the file alone (``host.mp4verify``)."""
    from host.mp4verify import verify_mp4

    if args.witness or args.host_key or args.device:
        raise UsageProblem(
            "--witness, --host-key and --device check a host evidence store; an MP4 file is "
            "checked alone, or with --key DEVICE.pub"
        )
    key = load_key(args.key) if args.key else None
    anchor = None
    if args.agency_ca:
        from host.agencykeys import load_anchor

        anchor = load_anchor(args.agency_ca)
    report = verify_mp4(args.ledger, key, anchor)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in report.lines():
            print(line)
    return EXIT_OK if report.ok else EXIT_NOT_OK


def verify_evidence(path: Path, args: argparse.Namespace) -> int:
    """Every enrolled device in an evidence store: verdict, compliance flags, recordings;
    and first the store itself: does it still hold all that its signed log says it stored."""
    from host import compliance
    from host.checkup import check_evidence

    witness = None
    if getattr(args, "witness", None):
        witness = read_regular(args.witness, "witness checkpoint")
    pinned = None
    if getattr(args, "host_key", None):
        key = load_key(args.host_key)
        pinned = (key.device_id, key.public)
    policy = compliance.Policy(
        upload_hours=args.late_hours, clock_drift_ms=int(args.drift_limit * 1000)
    )
    checkup = check_evidence(path, args.device, policy, witness, pinned)
    if args.json:
        print(json.dumps(checkup.to_dict(), indent=2, default=str))
    else:
        for line in render_checkup(checkup, path):
            print(line)
    return EXIT_OK if checkup.ok else EXIT_NOT_OK


def render_checkup(checkup: "Checkup", path: Path) -> list:
    """An evidence store's verdicts as lines a person reads: the store, each device's
    report, compliance flags and recordings, and one closing Verdict line."""
    from host import timeline
    from host.verify_store import render as render_store

    store_lines = render_store(checkup.store, str(path))
    lines = [*device_summary(checkup), *with_audit_line(store_lines, checkup.store), ""]
    for d in checkup.devices:
        lines.append(render(d.report, "%s (device %s)" % (path, d.device_id)))
        flags = d.flags
        lines.append("Compliance  %s" % ("no flags" if not flags else "%d flag(s)" % len(flags)))
        for f in flags:
            lines.append("  %-30s %-9s %s" % (f.code, f.rule, f.message))
        lines.extend(timeline.render(d.recordings))
        lines.append("")
    lines.append(store_verdict(checkup.store.ok, [(d.device_id, d.ok) for d in checkup.devices]))
    lines.append("")  # the report's end, before whatever follows it (the demo's next step)
    return lines


def with_audit_line(lines: list, store: "StoreReport") -> list:
    """The store's lines with the audit trail's size and state after its Log line (issue 13:
    a person sees at once how long the trail is and whether it still holds together). A
    store made before accounts has no trail, and no such line."""
    count = store.stats.get("audit_records")
    if count is None:
        return lines
    broken = any(f.code.startswith("audit-") for f in store.findings)
    if broken:
        line = i18n.text("verify.audit_broken", count=count)
    else:
        line = i18n.text("verify.audit_ok", count=count)
    at = next((i + 1 for i, text in enumerate(lines) if text.startswith("Log ")), len(lines))
    return [*lines[:at], line, *lines[at:]]


# The summary across devices that opens an evidence store's report: one format per line.
SUMMARY_HEAD = "Summary  %d device(s): %d NOT OK, %d with compliance flags, %d OK without flags"
SUMMARY_NOT_OK = "  NOT OK          %s"
SUMMARY_FLAGS = "  with flags      %s"
SUMMARY_CLEAN = "  OK, no flags    %s"
SUMMARY_NONE = "Summary  no device enrolled"


def device_summary(checkup: "Checkup") -> list:
    """The report's first lines: which devices are NOT OK, which have flags (and how many),
    which are clean, before the store's section and the per-device ones."""
    devices = checkup.devices
    if not devices:
        return [SUMMARY_NONE, ""]
    bad = [d.device_id for d in devices if not d.ok]
    flagged = ["%s (%d)" % (d.device_id, len(d.flags)) for d in devices if d.flags]
    clean = [d.device_id for d in devices if d.ok and not d.flags]
    lines = [SUMMARY_HEAD % (len(devices), len(bad), len(flagged), len(clean))]
    for fmt, names in ((SUMMARY_NOT_OK, bad), (SUMMARY_FLAGS, flagged), (SUMMARY_CLEAN, clean)):
        if names:
            lines.append(fmt % ", ".join(names))
    return [*lines, ""]


def store_verdict(store_ok: bool, devices: list) -> str:
    """One closing line for an evidence store: the store's own State and each device's
    come above it, and a reader must not take the first "OK" for the whole answer."""
    bad = [d for d, good in devices if not good]
    if store_ok and not bad:
        return "Verdict  ✓ OK: the store's log and its %d device(s)" % len(devices)
    parts = [] if store_ok else ["the store's log"]
    if bad:
        parts.append("device%s %s" % ("s" if len(bad) > 1 else "", ", ".join(bad)))
    return "Verdict  ✗ NOT OK: %s (see the findings above)" % " and ".join(parts)


def cmd_checkpoint_export(args: argparse.Namespace) -> int:
    """The newest signed checkpoint of an evidence store's log, for a witness to keep."""
    import sqlite3

    from host.verify_store import open_readonly

    db_path = Path(args.evidence) / "evidence.db"
    if not db_path.is_file():
        raise UsageProblem("%s is not an evidence store (no evidence.db)" % args.evidence)
    try:
        db = open_readonly(db_path)
        try:
            row = db.execute(
                "SELECT note FROM checkpoints ORDER BY size DESC, rowid DESC LIMIT 1"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise UsageProblem("cannot read %s: %s" % (db_path, exc)) from None
    if row is None:
        raise UsageProblem(
            "%s holds no checkpoint yet: the sync daemon signs one after every session"
            % args.evidence
        )
    note = row[0].encode("utf-8")
    if args.out:
        try:
            write_atomic(Path(args.out), note)
        except OSError as exc:
            raise UsageProblem("cannot write %s: %s" % (args.out, exc.strerror or exc)) from None
        print("wrote the checkpoint to %s" % args.out, file=sys.stderr)
    else:
        sys.stdout.write(row[0])
    return EXIT_OK


def add_verify(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam verify``."""
    v = sub.add_parser(
        "verify",
        help="check a ledger against a device's public key",
        description="Check that a ledger file is exactly what the device signed: every "
        "signature, every hash link, no gaps, no reordering, no duplicates, no cut-off tail. "
        "States: OK; OK with missing information (nothing wrong, but part cannot be vouched "
        "for yet); NOT OK (each finding says what broke and where); unknown key. An MP4 "
        "that sealcam export wrote is checked from the file alone: authentic, authentic with "
        "notes, altered (naming the frames by time and chunk seq), missing parts, not signed "
        "or unverifiable.",
        epilog="Examples: sealcam verify shift.ledger --key SC-0001.pub; sealcam verify "
        "case-17.mp4 --key SC-0001.pub",
    )
    v.add_argument(
        "ledger",
        help="a ledger file (a CBOR sequence of COSE_Sign1 entries), a device store "
        "directory, a host evidence store directory (every enrolled device is checked, "
        "with compliance flags and each recording's timeline), or an MP4 that sealcam "
        "export wrote",
    )
    v.add_argument(
        "--key",
        help="the device's public key file (COSE_Key); not needed for "
        "an evidence store, which holds the enrolled keys; for an MP4, the key its entries "
        "must be signed with (default: the key the file carries)",
    )
    v.add_argument("--device", help="in an evidence store, check only this device")
    v.add_argument(
        "--agency-ca",
        metavar="PEM",
        help="for an MP4: the agency's CA certificate (agency-ca.pem, or the folder sealcam "
        "keygen --agency wrote): its C2PA manifest must be signed by a certificate it issued",
    )
    v.add_argument(
        "--late-hours",
        type=number_at_least(0),
        default=24,
        help="in an evidence store, flag footage that reached it later than this (R-HOST-1)",
    )
    v.add_argument(
        "--drift-limit",
        type=number_at_least(0),
        default=2,
        metavar="SECONDS",
        help="in an evidence store, flag a device clock off by more than this (R-HOST-11)",
    )
    v.add_argument(
        "--witness",
        metavar="FILE",
        help="in an evidence store, a checkpoint kept elsewhere (sealcam checkpoint export): "
        "the store's log must extend it, or it was rolled back or rewritten",
    )
    v.add_argument(
        "--host-key",
        metavar="PUB",
        help="in an evidence store, the host public key its checkpoints must be signed with "
        "(default: the keys the store names)",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(run=cmd_verify)


def add_checkpoint(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam checkpoint export``."""
    cp = sub.add_parser(
        "checkpoint",
        help="export the evidence store's newest signed checkpoint for a witness",
        description="The host signs a checkpoint of its own log (every entry, media file, "
        "session and report it stored) after every session. Export the newest one and keep "
        "it elsewhere (another machine, a printout, a court package): 'sealcam verify "
        "EVIDENCE --witness FILE' then shows whether the store was rolled back or rewritten "
        "behind it.",
    )
    cp_sub = cp.add_subparsers(dest="action", metavar="ACTION", required=True)
    cpe = cp_sub.add_parser("export", help="write the newest signed checkpoint (a signed note)")
    cpe.add_argument("--evidence", required=True, help="the evidence store directory")
    cpe.add_argument("--out", help="write it to this file (default: standard output)")
    cpe.set_defaults(run=cmd_checkpoint_export)
