"""``sealcam export``: one recording as a video with its note (``host.export`` makes it).

On a store with accounts the export is an action of the user who makes it (``--user``,
``host.access``): the ``export`` action is checked before anything is written (the role, an
officer's own recordings, and for restricted footage an approval in force, R-HOST-6), the
note names that user as the extractor, and the file written is registered as a new item, a
derivative linked to its original by the file's SHA-256 (R-HOST-5), which the ``export``
audit record names. A refused export writes no file and leaves a refused record, which
``sealcam approval attempts`` lists as possible leaking (R-HOST-10). The store's write lock
is not held while the video is made: the rules are checked first, and the record is written
once the file is there (were the approval to end meanwhile, the file is removed again).

A store without accounts yet (one being set up, the demo's) exports as before: the
extractor is ``--extractor``, and nothing is written to the store.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from host import audit, i18n, items, restricted
from host.cli.auth import PASSWORD_ENV, USER_ENV, desk_if_accounts, has_accounts, open_store
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem
from host.errors import Refused, Unusable
from host.export import ExportError, NotAuthentic, export_recording

if TYPE_CHECKING:
    from collections.abc import Callable

    from host.access import Desk

NOT_AUTHENTIC = "not-authentic"  # the refused record's reason for footage that was changed


def _recording_arg(text: str) -> int:
    """A recording number: decimal, or the 16 hex digits ``sealcam verify`` prints."""
    t = text.strip()
    try:
        return int(t, 16) if len(t) == 16 else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            i18n.text("export.bad_recording_arg", given=repr(text))
        ) from None


def _changed(note: dict, msg_id: str) -> str:
    return i18n.text(msg_id, seqs=note["changed_chunks"]) if note["changed_chunks"] else ""


def _fmp4_summary(note: dict, out: str) -> str:
    """What ``sealcam export`` says of an fMP4 recording's export (``host.mp4export``)."""
    v = note["video"]
    chunks = note["chunks"]
    lines = [
        i18n.text(
            "export.mp4_done",
            number=note["recording"]["number"],
            device=note["device_id"],
            out=out,
            fragments=len(chunks) - 1,
            frames=v["frames"],
            codec=v["codec"] or "video",
            width=v["width"],
            height=v["height"],
            sound=i18n.text("export.with_sound") if note["audio"] else i18n.text("export.no_sound"),
        ),
        i18n.text(
            "export.checked",
            chunks=len(chunks),
            changed=_changed(note, i18n.N_("export.changed_stored")),
        ),
        i18n.text("export.pauses", count=len(note["pause_notes"]), out=out),
        i18n.text("export.note_file", out=out),
    ]
    opened = note.get("decrypted_for_export")
    if opened:
        lines.insert(-1, _decrypted(opened))
    creds = note.get("content_credentials")
    if creds:
        lines.insert(-1, i18n.text("export.credentials", signer=creds["signed_by"],
                                   assertion=creds["ledger_assertion"]))  # fmt: skip
    return "\n".join(lines)


def _decrypted(opened: dict) -> str:
    return i18n.text("export.decrypted", who=opened["decrypted_by"], key=opened["decrypted_with"])


def add_export(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam export``."""
    p = sub.add_parser(
        "export",
        help="export a recording as a video file with its extraction note",
        description="Export one recording from the evidence store as a video a person can "
        "open (.avi Motion JPEG or .mp4 H.264 with sound, chosen by the file name), with the "
        "overlay as it was burned in; a recording of JPEG frames exports to .mp4 as a "
        "re-encoded derivative, labelled so in the file and the note. A recording made as "
        "MP4 fragments exports as .mp4: its signed fragments byte for byte, with sound, a "
        "subtitle for each pause and the signed "
        "ledger entries, so that 'sealcam verify FILE.mp4' checks the file alone. Every chunk "
        "is checked against the SHA-256 its signed entry "
        "names and the device's ledger is verified first; changed footage is refused. A JSON "
        "note beside the file (FILE.json) names the extractor, the time, the device and "
        "officer, the recording and every chunk's seq and hash (R-HOST-4).",
        epilog="Example: sealcam export --evidence evidence/ --device SC-0001 --out "
        "case-17.avi --extractor 'W. Li (evidence room)'. Without --device it makes a court "
        "package (docs/court-package.md): sealcam export --evidence evidence/ --user li "
        "--case 2026-0042 [--recording SC-0001/42 ...] --out pkg/ [--iso pkg.iso] "
        "[--from MM:SS --to MM:SS]; check it with sealcam verify pkg/.",
    )
    p.add_argument("--evidence", required=True, help="the evidence store directory")
    from host.cli.scaleout import add_media_option

    add_media_option(p)
    p.add_argument(
        "--device",
        help="the device's id: export one recording to one video file; without --device, "
        "sealcam export makes a court package (see --case)",
    )
    p.add_argument(
        "--recording",
        action="append",
        help="with --device: the recording, its number or the 16-hex-digit id sealcam verify "
        "prints (default: the device's newest recording with video); for a court package: "
        "a recording's item id DEVICE/N, as often as needed",
    )
    p.add_argument(
        "--out",
        required=True,
        help="the video file to write (NAME.avi or NAME.mp4), or a court package's folder",
    )
    p.add_argument(
        "--extractor",
        help="who is extracting the footage, as the note names them; on a store with "
        "accounts the note names the user (--user), and --extractor, if given, must be "
        "that user's name or display name",
    )
    p.add_argument(
        "--user",
        default=os.environ.get(USER_ENV),
        help=i18n.text("export.opt_user", env=USER_ENV, password_env=PASSWORD_ENV),
    )
    p.add_argument(
        "--mark-changed",
        action="store_true",
        help="export footage that fails its signed hash anyway, every such frame marked "
        "CHANGED and listed in the note (for showing what was altered)",
    )
    p.add_argument(
        "--sign-with",
        metavar="DIR",
        help="sign the MP4 with Content Credentials (a C2PA manifest holding the signed "
        "ledger entries) using the agency's certificate in DIR, as sealcam keygen --agency "
        "wrote it (agency-sign.pem, agency-sign.key)",
    )
    p.add_argument(
        "--agency-key",
        metavar="FILE",
        help="the agency's private seal key (agency-seal.key): opens footage the recorder "
        "sealed to the agency (sealcam record --seal-to); the export says who decrypted it",
    )
    p.add_argument("--json", action="store_true", help="print the note as JSON")
    from host.cli.court import add_package_options

    add_package_options(p)
    p.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    if args.device is None:  # a court package (host.cli.court)
        from host.cli.court import cmd_package

        return cmd_package(args)
    from host.cli.court import package_only_given

    given = package_only_given(args)
    if given:
        raise UsageProblem(i18n.text("court.package_only", options=" ".join(given)))
    if len(args.recording or []) > 1:
        raise UsageProblem(i18n.text("court.one_recording"))
    try:
        args.recording = _recording_arg(args.recording[0]) if args.recording else None
    except argparse.ArgumentTypeError as exc:
        raise UsageProblem(str(exc)) from None
    desk = _desk(args)
    if desk is None:
        if not (args.extractor or "").strip():
            raise UsageProblem(i18n.text("export.no_extractor"))
        try:
            note = _export(args, args.extractor)
        except NotAuthentic as exc:
            print(i18n.text("export.not_ok", problem=exc), file=sys.stderr)
            return EXIT_NOT_OK
        except ExportError as exc:
            raise UsageProblem(str(exc)) from None
        return _report(args, note)
    return _export_as(desk, args)


def _desk(args: argparse.Namespace) -> "Desk | None":
    """The desk of ``--user`` on a store with accounts; None on one without them."""
    from host.cli.scaleout import is_scaleout

    if not args.user and not is_scaleout(args.evidence) and not has_accounts(args.evidence):
        return None
    return desk_if_accounts(open_store(args.evidence, args.media), args.user)


def _extractor(desk: "Desk", given: "str | None") -> str:
    """The note's extractor: the user, by display name and account name."""
    user = desk.user
    name = "%s (%s)" % (user.display, user.name) if user.display else user.name
    if given and given.strip() not in (user.name, user.display, name):
        raise UsageProblem(i18n.text("export.extractor_mismatch", given=given, user=user.name))
    return name


def _export(
    args: argparse.Namespace,
    extractor: str,
    gate: "Callable[[int], None] | None" = None,
    now_ms: "int | None" = None,
) -> dict:
    return export_recording(
        args.evidence,
        args.device,
        args.recording,
        args.out,
        extractor,
        mark_changed=args.mark_changed,
        now_ms=now_ms,
        sign_with=args.sign_with,
        agency_key=args.agency_key,
        gate=gate,
        media=args.media,
    )


def _export_as(desk: "Desk", args: argparse.Namespace) -> int:
    """Export as ``desk``'s user: checked, recorded, and registered as a derivative."""
    extractor = _extractor(desk, args.extractor)
    out = Path(args.out)
    gated: list[str] = []

    def gate(number: int) -> None:
        item = items.recording_id(args.device, number)
        gated.append(item)
        said_no = desk.refusal(audit.EXPORT, item)
        if said_no is not None:
            # The refusal goes on record through the door itself (which says no again,
            # or, had an approval arrived meanwhile, records this one).
            with desk.act(audit.EXPORT, item, file=out.name):
                raise said_no

    try:
        note = _export(args, extractor, gate, desk.now())
    except (NotAuthentic, ExportError) as exc:
        if not gated and not isinstance(exc, NotAuthentic):
            raise UsageProblem(str(exc)) from None  # no recording found: nothing to record
        # Refused as not authentic before any recording was found (a record-start deleted;
        # the newest recording deleted to the ledger's end) is tampering, on record like any
        # other: under the recording asked for, or (the newest asked for) the device.
        named, details = (gated[0], {}) if gated else _not_found_item(args)
        problem = (
            Refused(str(exc), NOT_AUTHENTIC)
            if isinstance(exc, NotAuthentic)
            else Unusable(str(exc))
        )
        try:
            with desk.act(audit.EXPORT, named, file=out.name, **details):
                raise problem
        except Refused as refused:
            if refused is not problem:
                # The rules' own refusal (no right to export; another officer's or restricted
                # footage), found by act before ours: it is what the user must be told.
                raise
            print(i18n.text("export.not_ok", problem=exc), file=sys.stderr)
            return EXIT_NOT_OK
    item = gated[0]
    sha = str(note["file_sha256"])
    try:
        with desk.act(audit.EXPORT, item, file=out.name, sha256=sha) as act:
            made = "%s (%s)" % (out.name, note.get("format", ""))
            derived = items.add_derivative(act.cur, item, bytes.fromhex(sha), made, desk.now())
            act.details["derivative"] = derived
            if note.get("changed_chunks"):
                act.details["changed_chunks"] = list(note["changed_chunks"])
            allowed = restricted.approval_in_force(
                act.cur, item, desk.user.name, audit.EXPORT, desk.now()
            )
            if allowed is not None:
                act.details["approval"] = allowed[0]
    except Refused:
        # The rules changed while the file was made (the approval ended): it must not stay.
        out.unlink(missing_ok=True)
        Path(str(out) + ".json").unlink(missing_ok=True)
        raise
    # --json prints the note with the item it became; the note file is as export wrote it.
    code = _report(args, dict(note, derivative_item={"id": derived, "origin": item}))
    if not args.json:
        print(i18n.text("export.derivative", id=derived, origin=item, sha=sha))
    return code


def _not_found_item(args: argparse.Namespace) -> "tuple[str | None, dict]":
    """The audit record's item and details for an export refused before its recording was
    found: the recording asked for, or none and the device when its newest was asked for."""
    if args.recording is not None:
        return items.recording_id(args.device, args.recording), {}
    return None, {"device": args.device}


def _report(args: argparse.Namespace, note: dict) -> int:
    if args.json:
        print(json.dumps(note, indent=2))
    elif "evidence_box" in note:
        print(_fmp4_summary(note, args.out))
    else:
        v = note["video"]
        print(
            i18n.text(
                "export.avi_done",
                number=note["recording"]["number"],
                device=note["device_id"],
                frames=v["frames"],
                width=v["width"],
                height=v["height"],
                fps=v["fps"],
                seconds=v["seconds"],
                out=args.out,
            )
        )
        changed = _changed(note, i18n.N_("export.changed_marked"))
        print(i18n.text("export.checked", chunks=len(note["chunks"]), changed=changed))
        print(i18n.text("export.note_file", out=args.out))
        opened = note.get("decrypted_for_export")
        if opened:
            print(_decrypted(opened))
    return EXIT_NOT_OK if note["changed_chunks"] else EXIT_OK
