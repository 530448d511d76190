"""``sealcam verify`` (a ledger file, a device store, a host evidence store) and
``sealcam checkpoint``.

Every report is in the language in force (``host.i18n``), every time in it in the agency's
time zone with the offset, as the overlay burns it (issue 17, issue 13 "Chinese first"): an
evidence store's own setting (``host.settings``), else Asia/Shanghai; ``--tz`` names
another. ``--json`` is for machines: UTC milliseconds and English, as before.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from host import audit, i18n, settings
from host.cli.auth import add_reader_option, reader_desk, recorded, recorder
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
from host.files import os_why, write_atomic
from host.i18n import text
from host.localtime import DEFAULT_ZONE, zone_problem
from host.progress import Progress
from host.report_text import finding_text, render, when
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


def chosen_zone(args: argparse.Namespace, store: "Path | None" = None) -> str:
    """The time zone a report shows its times in: ``--tz``; else the evidence store's
    setting (``store``: its folder); else the default, Asia/Shanghai. An unknown ``--tz`` is
    unusable (exit 2); a store's zone this machine does not know gives the default."""
    given = getattr(args, "tz", None)
    if given:
        if zone_problem(given):
            raise UsageProblem(text("refuse.tz", zone=given))
        return given
    if store is not None:
        zone = _store_zone(store / "evidence.db")
        if isinstance(zone, str) and zone and not zone_problem(zone):
            return zone
    return DEFAULT_ZONE


def _store_zone(db_path: Path) -> object:
    """The zone an evidence store's settings name (their default in a store made before
    settings existed), or None when its database cannot be read (its report says why)."""
    import sqlite3

    from host.verify_store import open_readonly

    if not db_path.is_file():
        return None
    try:
        db = open_readonly(db_path)
    except sqlite3.Error:
        return None
    try:
        return settings.get(db.cursor(), settings.TIME_ZONE)
    except (sqlite3.Error, ValueError):
        return None
    finally:
        db.close()


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
    from host.cli.scaleout import is_scaleout, verify_scaleout

    if is_scaleout(args.ledger):
        return verify_scaleout(args, recorder(getattr(args, "user", None), audit.VERIFY))
    if getattr(args, "media", None):
        raise UsageProblem(text("scaleout.media_alone"))
    path = Path(args.ledger)
    from host.court.check import is_package

    if is_package(path):  # a court package: its folder or its disc image (host.court)
        from host.cli.court import cmd_verify_package

        return cmd_verify_package(args)
    if _is_mp4(path):
        return verify_mp4_file(args)
    if _is_segment(path):
        store = _segment_store(path)
        raise UsageProblem(text("refuse.segment", path=path, store=store))
    if args.agency_ca:
        raise UsageProblem(text("refuse.agency_ca", path=path))
    # An evidence store whose database was deleted still has its media: check it as one.
    gone_db = (path / "media").is_dir() and not (path / "ledger").is_dir()
    if path.is_dir() and ((path / "evidence.db").exists() or gone_db):
        return verify_evidence(path, args)
    if args.witness or args.host_key:  # never let a reader believe a witness was checked
        raise UsageProblem(text("refuse.witness", path=path))
    if path.is_dir() and (path / "ledger").is_dir():
        from firmware.store import ledger_records

        size = sum(p.stat().st_size for p in (path / "ledger").glob("*.seg"))
        chunks = ledger_records(str(path), LEDGER_READ)
    elif path.is_dir():
        raise UsageProblem(text("refuse.directory", path=path))
    else:
        f = open_regular(args.ledger, "ledger")
        size = os.fstat(f.fileno()).st_size
        chunks = file_chunks(f)
    if not args.key:
        raise UsageProblem(text("refuse.no_key"))
    zone = chosen_zone(args)
    key = load_key(args.key)
    progress = Progress(text("evidence.verifying", path=args.ledger), size)
    from host.sigworker import worker_checks

    checks = worker_checks(key.public)
    report = verify_chunks(chunks, key.device_id, key.public, progress.update, checks)
    progress.close()
    if args.json:
        print(json.dumps(dict(report.to_dict(), ledger=args.ledger), indent=2))
    else:
        print(render(report, args.ledger, zone))
    return EXIT_OK if report.ok else EXIT_NOT_OK


def verify_mp4_file(args: argparse.Namespace) -> int:
    """An exported MP4, from the file alone (``host.mp4verify``)."""
    from host.mp4verify import verify_mp4

    if args.witness or args.host_key or args.device:
        raise UsageProblem(text("refuse.mp4_options"))
    zone = chosen_zone(args)
    key = load_key(args.key) if args.key else None
    anchor = None
    if args.agency_ca:
        from host.agencykeys import load_anchor

        anchor = load_anchor(args.agency_ca)
    report = verify_mp4(args.ledger, key, anchor)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in report.lines(zone):
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
    zone = chosen_zone(args, path)
    desk = reader_desk(str(path), getattr(args, "user", None), audit.VERIFY)
    checkup = check_evidence(path, args.device, policy, witness, pinned)
    with recorded(desk, audit.VERIFY, **check_details(checkup, witness is not None)):
        if args.json:
            print(json.dumps(checkup.to_dict(), indent=2, default=str))
        else:
            for line in render_checkup(checkup, path, zone):
                print(line)
    return EXIT_OK if checkup.ok else EXIT_NOT_OK


def check_details(checkup: "Checkup", witnessed: bool) -> dict:
    """What a person's verify found, for its audit record: the verdict and its counts."""
    return {
        "verdict": "OK" if checkup.ok else "NOT OK",
        "store_state": checkup.store.state,
        "store_findings": len(checkup.store.findings),
        "devices": len(checkup.devices),
        "devices_not_ok": sum(1 for d in checkup.devices if not d.ok),
        "flags": sum(len(d.flags) for d in checkup.devices),
        "device": checkup_device(checkup),
        "witness": witnessed,
    }


def checkup_device(checkup: "Checkup") -> "str | None":
    """The one device a verify was limited to (``--device``), else None."""
    return checkup.devices[0].device_id if len(checkup.devices) == 1 else None


def render_checkup(checkup: "Checkup", path: Path, zone: str = DEFAULT_ZONE) -> list:
    """An evidence store's verdicts as lines a person reads: the store, each device's
    report, compliance flags and recordings, and one closing Verdict line; in the language
    in force, times in ``zone``."""
    from host import timeline

    lines = [*device_summary(checkup), *store_section(checkup, path, zone), ""]
    for d in checkup.devices:
        source = text("evidence.device_source", path=path, device=d.device_id)
        lines.append(render(d.report, source, zone))
        flags = d.flags
        count = text("evidence.flags", count=len(flags)) if flags else text("evidence.no_flags")
        lines.append(text("evidence.compliance", flags=count))
        for f in flags:
            lines.append("  %-30s %-9s %s" % (f.code, f.rule, finding_text(f, zone)))
        lines.extend(timeline.render(d.recordings, zone))
        lines.append("")
    lines.append(store_verdict(checkup.store.ok, [(d.device_id, d.ok) for d in checkup.devices]))
    lines.append("")  # the report's end, before whatever follows it (the demo's next step)
    return lines


def audit_line(store: "StoreReport") -> list:
    """The audit trail's size and state, as one line after the log's (issue 13: a person
    sees at once how long the trail is and whether it still holds together); none for a
    store made before accounts, which has no trail."""
    count = store.stats.get("audit_records")
    if count is None:
        return []
    broken = any(f.code.startswith("audit-") for f in store.findings)
    msg_id = i18n.N_("verify.audit_broken") if broken else i18n.N_("verify.audit_ok")
    return [i18n.text(msg_id, count=count)]


def store_section(checkup: "Checkup", path: Path, zone: str = DEFAULT_ZONE) -> list:
    """The store's own section (``host.verify_store``'s verdict): its id, its signed log,
    the witness, its state and findings, in the language in force, times in ``zone``."""
    report = checkup.store
    s = report.stats
    lines = [text("evidence.store", path=path, store_id=s["store_id"] or "?")]
    cp = s["checkpoint"]
    if cp:
        signed = when(cp["signed_ms"], zone)
        if cp.get("key"):
            checkpoint = text(
                "evidence.checkpoint.key",
                size=cp["size"],
                kid=cp["kid"],
                key=cp["key"],
                signed=signed,
            )
        else:
            checkpoint = text("evidence.checkpoint", size=cp["size"], kid=cp["kid"], signed=signed)
        lines.append(text("evidence.log.checkpoint", leaves=s["leaves"], checkpoint=checkpoint))
    else:
        lines.append(text("evidence.log", leaves=s["leaves"]))
    lines.extend(audit_line(report))
    w = s["witness"]
    if w:
        if w["consistent"]:
            msg_id = i18n.N_("evidence.witness.consistent")
        else:
            msg_id = i18n.N_("evidence.witness.not")
        lines.append(text(msg_id, size=w["size"], kid=w["kid"]))
    mark = "✓" if report.ok else "✗"
    lines.append(text("report.state", mark=mark, state=i18n.verdict(report.state)))
    if report.findings:
        lines.append(text("report.findings"))
        for f in report.findings:
            lines.append("  %-22s %s" % (f.code, finding_text(f, zone)))
    return lines


def device_summary(checkup: "Checkup") -> list:
    """The report's first lines: which devices are NOT OK, which have flags (and how many),
    which are clean, before the store's section and the per-device ones."""
    devices = checkup.devices
    if not devices:
        return [text("evidence.summary.none"), ""]
    bad = [d.device_id for d in devices if not d.ok]
    flagged = ["%s (%d)" % (d.device_id, len(d.flags)) for d in devices if d.flags]
    clean = [d.device_id for d in devices if d.ok and not d.flags]
    lines = [
        text(
            "evidence.summary",
            devices=len(devices),
            not_ok=len(bad),
            flagged=len(flagged),
            clean=len(clean),
        )
    ]
    for msg_id, names in (
        (i18n.N_("evidence.summary.not_ok"), bad),
        (i18n.N_("evidence.summary.flags"), flagged),
        (i18n.N_("evidence.summary.clean"), clean),
    ):
        if names:
            lines.append(text(msg_id, devices=", ".join(names)))
    return [*lines, ""]


def store_verdict(store_ok: bool, devices: list) -> str:
    """One closing line for an evidence store: the store's own State and each device's
    come above it, and a reader must not take the first "OK" for the whole answer."""
    bad = [d for d, good in devices if not good]
    if store_ok and not bad:
        return text("evidence.verdict.ok", count=len(devices))
    parts = [] if store_ok else [text("evidence.verdict.log")]
    if bad:
        msg_id = "evidence.verdict.devices" if len(bad) > 1 else "evidence.verdict.device"
        parts.append(text(msg_id, devices=", ".join(bad)))
    return text("evidence.verdict.not_ok", what=text("evidence.verdict.and").join(parts))


def cmd_checkpoint_export(args: argparse.Namespace) -> int:
    """The newest signed checkpoint of an evidence store's log, for a witness to keep."""
    import sqlite3

    from host.verify_store import open_readonly

    db_path = Path(args.evidence) / "evidence.db"
    if not db_path.is_file():
        raise UsageProblem(text("checkpoint.not_store", path=args.evidence))
    desk = reader_desk(args.evidence, args.user, audit.CHECKPOINT_EXPORT)
    try:
        db = open_readonly(db_path)
        try:
            row = db.execute(
                "SELECT note, size FROM checkpoints ORDER BY size DESC, rowid DESC LIMIT 1"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise UsageProblem(text("checkpoint.unreadable", path=db_path, why=exc)) from None
    if row is None:
        raise UsageProblem(text("checkpoint.none", path=args.evidence))
    note = row[0].encode("utf-8")
    with recorded(desk, audit.CHECKPOINT_EXPORT, size=row[1], to=args.out or "-"):
        if args.out:
            try:
                write_atomic(Path(args.out), note)
            except OSError as exc:
                why = os_why(exc)
                raise UsageProblem(text("checkpoint.unwritable", path=args.out, why=why)) from None
            print(text("checkpoint.wrote", path=args.out), file=sys.stderr)
        else:
            sys.stdout.write(row[0])
    return EXIT_OK


def add_verify(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam verify``; its help in the language in force (``verifyhelp.*``)."""
    v = sub.add_parser(
        "verify",
        help="check a ledger against a device's public key",
        description=text("verifyhelp.description"),
        epilog=text("verifyhelp.epilog"),
    )
    v.add_argument("ledger", help=text("verifyhelp.ledger"))
    v.add_argument("--key", help=text("verifyhelp.key"))
    v.add_argument("--device", help=text("verifyhelp.device"))
    v.add_argument("--agency-ca", metavar="PEM", help=text("verifyhelp.agency_ca"))
    v.add_argument(
        "--late-hours",
        type=number_at_least(0),
        default=24,
        help=text("verifyhelp.late_hours"),
    )
    v.add_argument(
        "--drift-limit",
        type=number_at_least(0),
        default=2,
        metavar="SECONDS",
        help=text("verifyhelp.drift_limit"),
    )
    v.add_argument("--witness", metavar="FILE", help=text("verifyhelp.witness"))
    v.add_argument("--host-key", metavar="PUB", help=text("verifyhelp.host_key"))
    v.add_argument("--tz", metavar="ZONE", help=text("verifyhelp.tz"))
    from host.cli.scaleout import add_media_option

    add_media_option(v)
    v.add_argument("--json", action="store_true", help=text("verifyhelp.json"))
    add_reader_option(v)
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
    add_reader_option(cpe)
    cpe.set_defaults(run=cmd_checkpoint_export)
