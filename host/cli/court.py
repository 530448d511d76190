"""``sealcam export --case CASE | --recording DEVICE/N ... --out DIR``: the court package,
and ``sealcam verify PACKAGE_DIR|FILE.iso``.

``sealcam export`` with ``--device`` is the older export of one recording to one video file
(``host.cli.export``); without ``--device`` it makes a court package (``host.court``,
docs/court-package.md) of the recordings ``--case`` links and those ``--recording`` names.

On a store with accounts the package is made as ``--user``: before anything is written every
recording's ``export`` is checked at the one door (``host.access.Desk``: the role, an
officer's own footage, and for restricted footage an approval in force, R-HOST-6); a refusal
is one line naming whose approval is needed, exit 1, on record. Each recording packaged is an
``export`` audit record naming the package and its manifest's SHA-256; an attempt that fails
(damaged footage, no space, an output that exists) is a refused record. A store without
accounts (a demo's) packages as ``--extractor`` and is not written to. The manifest and the
checkpoint are signed with the host key: ``--host-key FILE``, else the store's setting.
"""

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from host import audit, i18n
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem, host_signer
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host.access import Desk
    from host.court.package import Wanted
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d\d)\Z")


def media_time(text: str) -> int:
    """``MM:SS`` or ``H:MM:SS`` as milliseconds (an argparse type)."""
    m = _CLOCK.match(text.strip())
    if not m or int(m.group(3)) >= 60 or (m.group(1) and int(m.group(2)) >= 60):
        raise argparse.ArgumentTypeError(i18n.text("court.bad_time", text=text))
    hours = int(m.group(1) or 0)
    return ((hours * 60 + int(m.group(2))) * 60 + int(m.group(3))) * 1000


def add_package_options(p: argparse.ArgumentParser) -> None:
    """The options only a court package takes (``sealcam export`` without ``--device``)."""
    p.add_argument("--case", help=i18n.text("court.opt_case"))
    p.add_argument("--iso", metavar="FILE", help=i18n.text("court.opt_iso"))
    p.add_argument("--force", action="store_true", help=i18n.text("court.opt_force"))
    p.add_argument(
        "--from", dest="from_ms", type=media_time, metavar="MM:SS", help=i18n.text("court.opt_from")
    )
    p.add_argument(
        "--to", dest="to_ms", type=media_time, metavar="MM:SS", help=i18n.text("court.opt_to")
    )
    p.add_argument("--place", default="", help=i18n.text("court.opt_place"))
    p.add_argument("--purpose", default="", help=i18n.text("court.opt_purpose"))
    p.add_argument("--host-key", metavar="FILE", help=i18n.text("court.opt_host_key"))


PACKAGE_ONLY = ("case", "iso", "force", "from_ms", "to_ms", "host_key")


def package_only_given(args: argparse.Namespace) -> "list[str]":
    """The package's options given to the one-file export (which takes none of them)."""
    return [
        "--" + name.replace("_ms", "").replace("_", "-")
        for name in PACKAGE_ONLY
        if getattr(args, name, None) not in (None, False)
    ]


def cmd_package(args: argparse.Namespace) -> int:
    from host.court.package import Options

    if not args.case and not args.recording:
        raise UsageProblem(i18n.text("court.what"))
    if args.mark_changed or args.sign_with or args.agency_key:
        raise UsageProblem(i18n.text("court.file_only"))
    out = Path(args.out)
    iso = Path(args.iso) if args.iso else None
    if iso is not None and iso.exists() and not args.force:
        raise UsageProblem(i18n.text("court.iso_exists", iso=iso))
    if iso is not None and iso.resolve().is_relative_to(out.resolve()):
        raise UsageProblem(i18n.text("court.iso_inside", iso=iso, out=out))
    from host.cli.auth import desk_if_accounts, has_accounts, open_store
    from host.cli.scaleout import is_scaleout
    from host.evidence import SqliteEvidenceStore, StoreUnopenable

    root = Path(args.evidence)
    desk: Desk | None = None
    media = getattr(args, "media", None)
    scaleout = is_scaleout(args.evidence)
    if args.user or scaleout or has_accounts(root):  # as the one-file export decides it
        opened = open_store(args.evidence, media)
        desk = desk_if_accounts(opened, args.user)
    if desk is not None:
        store = desk.store
    elif scaleout:
        store = opened  # a scale-out store without accounts yet: read as a demo's
    else:
        if not (root / "evidence.db").is_file():
            raise UsageProblem(i18n.text("auth.no_store", path=args.evidence))
        try:
            store = SqliteEvidenceStore(root, readonly=True)  # a demo's: never written
        except StoreUnopenable as exc:
            raise UsageProblem(str(exc)) from None
    from host.pgstore import PgEvidenceStore

    assert isinstance(store, (SqliteEvidenceStore, PgEvidenceStore))
    zone = _zone(store)
    opts = Options(out, args.force, args.place, args.purpose, args.from_ms, args.to_ms, zone)
    if desk is None:
        return _package(store, None, args, opts, iso)
    try:
        return _package(store, desk, args, opts, iso)
    except (Unusable, Refused) as exc:
        _on_record(desk, getattr(exc, "items", None) or [None], out, exc)
        raise


def _zone(store: "SqliteEvidenceStore | PgEvidenceStore") -> str:
    import sqlite3

    from host import settings
    from host.localtime import DEFAULT_ZONE, zone_problem

    try:
        with store.read() as cur:
            zone = settings.get(cur, settings.TIME_ZONE)
    except sqlite3.Error:  # a store without settings
        return DEFAULT_ZONE
    return zone if isinstance(zone, str) and not zone_problem(zone) else DEFAULT_ZONE


def _on_record(desk: "Desk", items: list, out: Path, exc: Exception) -> None:
    """A failed attempt as a refused ``export`` record for each item (once: an attempt the
    door itself refused is on record already)."""
    if getattr(exc, "recorded", False):
        return
    for item in items:
        try:
            with desk.act(audit.EXPORT, item, package=out.name):
                raise exc
        except (Refused, Unusable):
            pass


def _package(
    store: "SqliteEvidenceStore | PgEvidenceStore",
    desk: "Desk | None",
    args: argparse.Namespace,
    opts: "object",
    iso: "Path | None",
) -> int:
    from host.court import fromobjects, package

    assert isinstance(opts, package.Options)
    signer, kid = _signer(store, args)
    case, wanted = _wanted(store, desk, args)
    items = [w.item for w in wanted]
    if desk is not None:
        extractor = _extractor(desk, args.extractor)
        for item in items:
            refused = desk.refusal(audit.EXPORT, item)
            if refused is not None:
                # Through the door, so the refusal is on record (it says no again).
                _through_door(desk, item, package=opts.out.name)
    else:
        name = (args.extractor or "").strip()
        if not name:
            raise UsageProblem(i18n.text("export.no_extractor"))
        extractor = {"user": None, "name": name, "roles": []}
    now = desk.now() if desk is not None else _wall_ms()
    try:
        made = fromobjects.build(store, wanted, case, extractor, signer, kid, opts, now)
    except (Unusable, Refused) as exc:
        setattr(exc, "items", items)  # noqa: B010  (for the refused records)
        raise
    if desk is not None:
        try:
            for w in wanted:
                details: dict[str, object] = {
                    "package": opts.out.name,
                    "package_id": made.package_id,
                    "manifest_sha256": made.manifest_sha256,
                }
                if w.approval:
                    details["approval"] = w.approval["id"]
                if opts.from_ms is not None or opts.to_ms is not None:
                    details["part"] = [opts.from_ms, opts.to_ms]
                with desk.act(audit.EXPORT, w.item, **details):
                    pass
        except Refused as exc:  # the approval ended while the package was made
            shutil.rmtree(opts.out, ignore_errors=True)
            exc.recorded = True  # type: ignore[attr-defined]
            raise
    result = {
        "package": str(opts.out),
        "manifest_sha256": made.manifest_sha256,
        "package_id": made.package_id,
        "files": made.files,
        "bytes": made.bytes,
        "recordings": made.recordings,
    }
    if iso is not None:
        from host.court.iso import write_iso

        try:
            result["iso"] = str(iso)
            result["iso_bytes"] = write_iso(opts.out, iso, "SEALCAM_" + made.package_id[:8])
        except OSError as exc:
            raise UsageProblem(i18n.text("court.iso_failed", iso=iso, problem=exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(
        i18n.text(
            "court.made",
            out=opts.out,
            recordings=", ".join(made.recordings),
            files=made.files,
            bytes=made.bytes,
            sha=made.manifest_sha256,
        )
    )
    if iso is not None:
        print(i18n.text("court.iso_made", iso=iso, bytes=result["iso_bytes"]))
    print(i18n.text("court.check_it", out=opts.out))
    return EXIT_OK


def _through_door(desk: "Desk", item: str, **details: object) -> None:
    """Act on ``item`` at the door, for the refusal it gives to be recorded and raised."""
    try:
        with desk.act(audit.EXPORT, item, **details):
            pass
    except Refused as exc:
        exc.recorded = True  # type: ignore[attr-defined]
        raise


def _wall_ms() -> int:
    import time

    return int(time.time() * 1000)


def _signer(store: "SqliteEvidenceStore | PgEvidenceStore", args: argparse.Namespace) -> tuple:
    path = args.host_key
    if not path:
        import sqlite3

        from host import settings

        try:
            with store.read() as cur:
                path = settings.get(cur, settings.HOST_KEY)
        except sqlite3.Error:
            path = None
    if not path:
        raise UsageProblem(i18n.text("court.no_host_key"))
    return host_signer(str(path))


def _extractor(desk: "Desk", given: "str | None") -> dict:
    """The note's extractor: the user, by display name and account name (``--extractor``,
    if given, must name the same person)."""
    user = desk.user
    name = "%s (%s)" % (user.display, user.name) if user.display else user.name
    if given and given.strip() not in (user.name, user.display, name):
        raise UsageProblem(i18n.text("export.extractor_mismatch", given=given, user=user.name))
    return {"user": desk.user.name, "name": name, "roles": sorted(desk.user.roles)}


def _wanted(
    store: "SqliteEvidenceStore | PgEvidenceStore", desk: "Desk | None", args: argparse.Namespace
) -> "tuple[dict | None, list[Wanted]]":
    from host import items as items_mod
    from host.court.package import Wanted

    named: list = []
    case = None
    if args.case:
        if desk is None:
            raise UsageProblem(i18n.text("court.case_needs_accounts"))
        case, linked = _case(desk, args.case)
        named.extend(linked)
    for text in args.recording or []:
        device, number = items_mod.parse_id(text)
        if "~" in text:
            raise UsageProblem(i18n.text("court.derivative", item=text))
        named.append(items_mod.recording_id(device, number))
    ordered = list(dict.fromkeys(named))
    wanted = []
    for item in ordered:
        device, number = items_mod.parse_id(item)
        wanted.append(Wanted(item, device, number))
    if desk is not None:
        _describe(desk, wanted)
    return case, wanted


def _case(desk: "Desk", case_no: str) -> "tuple[dict, list[str]]":
    from host import cases

    with desk.look() as cur:
        found = cases.get(cur, case_no)
        linked = cases.linked(cur, case_no)
    footage = [held.item.item_id for held in linked if held.is_footage]
    if not footage:
        problem = Unusable(i18n.text("court.case_empty", case=case_no))
        try:
            with desk.act(audit.EXPORT, None, case=case_no):
                raise problem
        except Unusable as exc:
            exc.recorded = True  # type: ignore[attr-defined]
            raise
    case = {
        "number": found.case_no,
        "type": found.case_type,
        "title": found.title,
        "responsible": found.responsible,
        "place": found.place,
        "when_ms": found.happened_ms,
        "major": bool(found.major),
    }
    return case, footage


def _describe(desk: "Desk", wanted: "list[Wanted]") -> None:
    """What the evidence room says of each recording (``package.describe``); Unusable
    (exit 2) for a recording the store lacks."""
    from host import items
    from host.court.package import describe

    now = desk.now()
    with desk.look() as cur:
        for w in wanted:
            items.get(cur, w.item)
            describe(cur, w, desk.user.name, now)


def cmd_verify_package(args: argparse.Namespace) -> int:
    """``sealcam verify PACKAGE_DIR|FILE.iso``."""
    from host.court.check import check_path, render

    report = check_path(Path(args.ledger))
    if args.json:
        print(json.dumps(dict(report.to_dict(), package=args.ledger), indent=2, ensure_ascii=False))
    else:
        print(render(report, args.ledger))
    if not report.ok:
        sys.stdout.flush()
    return EXIT_OK if report.ok else EXIT_NOT_OK
