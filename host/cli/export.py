"""``sealcam export``: one recording as a video with its note (``host.export`` makes it)."""

import argparse
import json
import sys

from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem
from host.export import ExportError, NotAuthentic, export_recording


def _recording_arg(text: str) -> int:
    """A recording number: decimal, or the 16 hex digits ``sealcam verify`` prints."""
    t = text.strip()
    try:
        return int(t, 16) if len(t) == 16 else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "give a recording number (decimal) or its 16-hex-digit id, not %r" % text
        ) from None


def _fmp4_summary(note: dict, out: str) -> str:
    """What ``sealcam export`` says of an fMP4 recording's export (``host.mp4export``)."""
    v = note["video"]
    chunks = note["chunks"]
    lines = [
        "exported recording %d of %s as MP4 to %s: its initialisation segment and %d "
        "fragments, byte for byte (%d frames, %s %dx%d, %s sound)"
        % (
            note["recording"]["number"],
            note["device_id"],
            out,
            len(chunks) - 1,
            v["frames"],
            v["codec"] or "video",
            v["width"],
            v["height"],
            "with" if note["audio"] else "no",
        ),
        "  %d chunks checked against their signed SHA-256%s"
        % (
            len(chunks),
            (
                "; CHANGED (exported as stored): seqs %s" % note["changed_chunks"]
                if note["changed_chunks"]
                else ""
            ),
        ),
        "  %d pause note(s) in an unsigned subtitle fragment; the signed entries and the "
        "device key in the sealcam evidence box (sealcam verify %s)"
        % (len(note["pause_notes"]), out),
        "  note: %s.json" % out,
    ]
    opened = note.get("decrypted_for_export")
    if opened:
        lines.insert(-1, "  decrypted for export (sealed to the agency) by %s with %s"
                     % (opened["decrypted_by"], opened["decrypted_with"]))  # fmt: skip
    creds = note.get("content_credentials")
    if creds:
        lines.insert(-1, "  Content Credentials: C2PA manifest signed by %s (%s assertion)"
                     % (creds["signed_by"], creds["ledger_assertion"]))  # fmt: skip
    return "\n".join(lines)


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
        "case-17.avi --extractor 'W. Li (evidence room)'",
    )
    p.add_argument("--evidence", required=True, help="the evidence store directory")
    p.add_argument("--device", required=True, help="the device's id")
    p.add_argument(
        "--recording",
        type=_recording_arg,
        help="the recording: its number, or the 16-hex-digit id sealcam verify prints "
        "(default: the device's newest recording with video)",
    )
    p.add_argument("--out", required=True, help="the video file to write: NAME.avi or NAME.mp4")
    p.add_argument("--extractor", required=True, help="who is extracting the footage")
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
    p.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    try:
        note = export_recording(
            args.evidence,
            args.device,
            args.recording,
            args.out,
            args.extractor,
            mark_changed=args.mark_changed,
            sign_with=args.sign_with,
            agency_key=args.agency_key,
        )
    except NotAuthentic as exc:
        print("sealcam export: NOT OK: %s" % exc, file=sys.stderr)
        return EXIT_NOT_OK
    except ExportError as exc:
        raise UsageProblem(str(exc)) from None
    if args.json:
        print(json.dumps(note, indent=2))
    elif "evidence_box" in note:
        print(_fmp4_summary(note, args.out))
    else:
        v = note["video"]
        print(
            "exported recording %d of %s: %d frames, %dx%d at %s fps (%.1f s) to %s\n"
            "  %d chunks checked against their signed SHA-256%s\n  note: %s.json"
            % (
                note["recording"]["number"],
                note["device_id"],
                v["frames"],
                v["width"],
                v["height"],
                v["fps"],
                v["seconds"],
                args.out,
                len(note["chunks"]),
                (
                    "; CHANGED (marked): seqs %s" % note["changed_chunks"]
                    if note["changed_chunks"]
                    else ""
                ),
                args.out,
            )
        )
        opened = note.get("decrypted_for_export")
        if opened:
            print("  decrypted for export (sealed to the agency) by %s with %s"
                  % (opened["decrypted_by"], opened["decrypted_with"]))  # fmt: skip
    return EXIT_NOT_OK if note["changed_chunks"] else EXIT_OK
