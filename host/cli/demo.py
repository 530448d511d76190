"""``sealcam demo``: the main job end to end on the embedded defaults."""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from host import i18n, problems
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem
from host.cli.verify import render_checkup

if TYPE_CHECKING:
    from host.checkup import Checkup
    from host.mp4verify import Mp4Report

# The shift the demo runs (a scenario of the library), recorded as a Linux recorder records
# it: H.264 and AAC in signed MP4 fragments, exported as those fragments byte for byte.
DEMO_SCENARIO = "clean-shift.toml"
DEMO_CODEC = "h264"
CODEC_NAMES = {"avc1": "H.264", "hvc1": "H.265", "jpeg": "Motion JPEG"}


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job end to end: a virtual recorder's shift, docked over a pseudo-terminal to
    the host daemon, verified; exported as MP4 and the file verified alone; a byte of stored
    footage changed; verified again."""
    from host.export import ExportError, export_recording
    from host.mp4verify import verify_mp4
    from simulator.command import SCENARIO_DIR
    from simulator.errors import SimulatorError
    from simulator.run import Runner
    from simulator.scenario import load

    out = Path(args.dir)
    if out.exists() and not out.is_dir():
        raise UsageProblem(i18n.text("demo.not_dir", path=out))
    if out.exists() and any(out.iterdir()):
        if not (out / "host").is_dir():
            raise UsageProblem(i18n.text("demo.not_empty", path=out))
        import shutil

        shutil.rmtree(out)  # an earlier demo's files: start afresh
    out.mkdir(parents=True, exist_ok=True)
    say = None if args.json else (lambda line: print("  " + line, flush=True))
    if not args.json:
        print(i18n.text("demo.step_shift"))
    try:
        scenario = load(str(SCENARIO_DIR / DEMO_SCENARIO))
        scenario.device["codec"] = DEMO_CODEC
        report = Runner(scenario, str(out), say=say).run()
    except SimulatorError as exc:
        raise UsageProblem(str(exc)) from None
    evidence = out / "host" / "evidence"
    device = report["device"]
    if not args.json:
        print(i18n.text("demo.step_verify", evidence=evidence))
    before = _checkup(evidence, device, args.json)
    video = out / "recording.mp4"
    try:
        note = export_recording(str(evidence), device, None, str(video), "demo")
        alone = verify_mp4(str(video))
    except (ExportError, ValueError) as exc:
        raise UsageProblem(i18n.text("demo.export_failed", problem=problems.said(exc))) from None
    if not args.json:
        print(i18n.text("demo.step_export", video=video))
        for line in alone.lines():
            print(line)
        print()
    # The court package is made from the store as it was synced, before the change below.
    court = _court_package(evidence, device, note["recording"]["number"], out)
    victim, seq = _change_stored_footage(evidence, device)
    if not args.json:
        print(i18n.text("demo.step_change", seq=seq, file=victim))
    after = _checkup(evidence, device, args.json)
    if args.json:
        print(
            json.dumps(
                {
                    "scenario": report,
                    "export": note,
                    "export_verify": alone.to_dict(),
                    "changed": {"file": str(victim), "chunk_seq": seq},
                    "court_package": court,
                    "before": before.to_dict(),
                    "after": after.to_dict(),
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(i18n.text("demo.step_court"))
        print(
            "   %s export --evidence %s --recording %s/%d --extractor demo --host-key %s "
            "--out %s --iso %s"
            % (
                command_name(),
                shown(evidence),
                device,
                note["recording"]["number"],
                shown(Path(court["host_key"])),
                shown(Path(court["folder"])),
                shown(Path(court["iso"])),
            )
        )
        print(i18n.text("demo.court_holds"))
        for line in _verdicts(before, alone, after):
            print(line)
        print(i18n.text("demo.verdict_folder", state=_state(court["folder_verdict"])))
        print(i18n.text("demo.verdict_iso", state=_state(court["iso_verdict"])))
        v = note["video"]
        notes = len(note["pause_notes"])
        print(i18n.text("demo.mp4_file", path=shown(video)))
        what = i18n.N_("demo.mp4_what_one") if notes == 1 else i18n.N_("demo.mp4_what")
        print(
            i18n.text(
                what,
                frames=v["frames"],
                codec=CODEC_NAMES.get(v["codec"], v["codec"]),
                width=v["width"],
                height=v["height"],
                notes=notes,
                path=shown(video),
            )
        )
        print(i18n.text("demo.play", path=shown(video)))
        print(
            i18n.text(
                "demo.court_files",
                folder=shown(Path(court["folder"])),
                iso=shown(Path(court["iso"])),
            )
        )
        print(i18n.text("demo.court_page", page=shown(Path(court["folder"]) / "verify.html")))
        print(i18n.text("demo.court_note", note=shown(Path(court["folder"]) / "note.pdf")))
        print(i18n.text("demo.try"))
        print("  %s verify %s" % (command_name(), shown(Path(court["folder"]))))
        print("  %s verify %s" % (command_name(), shown(Path(court["iso"]))))
        print("  %s verify %s" % (command_name(), shown(video)))
        print("  %s verify %s" % (command_name(), shown(evidence)))
        print("  %s sim run --all" % command_name())
    ok = before.ok and alone.ok and not after.ok and court["ok"]
    return EXIT_OK if ok else EXIT_NOT_OK


def _court_package(evidence: Path, device: str, number: int, out: Path) -> dict:
    """The recording's court package and its disc image (docs/court-package.md), signed with
    the demo host's key, each then checked as ``sealcam verify`` checks it."""
    import time

    from host import items
    from host.court import check, iso, package
    from host.evidence import SqliteEvidenceStore

    (key_path,) = sorted((evidence.parent).glob("*.key"))
    from host.cli.common import host_signer

    signer, kid = host_signer(str(key_path))
    folder, image = out / "court-package", out / "court-package.iso"
    store = SqliteEvidenceStore(evidence, readonly=True)
    try:
        item = items.recording_id(device, number)
        wanted = [package.Wanted(item, device, number)]
        extractor: dict = {"user": None, "name": "demo", "roles": []}
        opts = package.Options(folder, place="sealcam demo")
        made = package.build(
            store, wanted, None, extractor, signer, kid, opts, int(time.time() * 1000)
        )
    finally:
        store.close()
    iso.write_iso(folder, image, "SEALCAM_DEMO")
    on_folder, on_image = check.check_path(folder), check.check_path(image)
    return {
        "folder": str(folder),
        "iso": str(image),
        "host_key": str(key_path),
        "manifest_sha256": made.manifest_sha256,
        "folder_verdict": "OK" if on_folder.ok else "NOT OK",
        "iso_verdict": "OK" if on_image.ok else "NOT OK",
        "ok": on_folder.ok and on_image.ok,
    }


def _verdicts(before: "Checkup", alone: "Mp4Report", after: "Checkup") -> list:
    """The three verdicts side by side: the store's before and after the change, and the
    exported file's on its own."""

    def device_state(checkup: "Checkup") -> str:
        states = [_state(d.report.state) for d in checkup.devices]
        return ", ".join(states) or i18n.text("demo.no_device")

    return [
        i18n.text("demo.verdicts"),
        i18n.text("demo.verdict_before", state=device_state(before)),
        i18n.text("demo.verdict_alone", state=_state(alone.state)),
        i18n.text("demo.verdict_after", state=device_state(after)),
    ]


def _state(state: str) -> str:
    """A verdict as the demo shows it: in the reader's language, an MP4's in capitals."""
    return i18n.verdict(state) if state in i18n.VERDICTS else state.upper()


def command_name(argv0: str | None = None) -> str:
    """How to type this command here: ``sealcam`` when that is what the shell finds, else
    the path it was run by (``.venv/bin/sealcam`` after ``tools/demo``, whose environment is
    not activated), so the commands the demo suggests work as printed."""
    import shutil

    argv0 = sys.argv[0] if argv0 is None else argv0
    found = shutil.which("sealcam")
    if not argv0.endswith("sealcam") or not os.path.exists(argv0):
        return "sealcam"  # run some other way (python -m, tests): name the command only
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "sealcam"
    rel = os.path.relpath(argv0)
    return rel if not rel.startswith("..") else os.path.abspath(argv0)


def shown(path: Path) -> str:
    """A path as the reader types it from here: relative below this folder, else absolute,
    so that the lines the demo suggests work as printed wherever it was started."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else os.path.abspath(path)


def _checkup(evidence: Path, device: str, quiet: bool) -> "Checkup":
    """The host's verdicts on the demo's device, printed as ``sealcam verify`` prints them
    unless ``quiet``."""
    from host.checkup import check_evidence

    checkup = check_evidence(evidence, device)
    if not quiet:
        for line in render_checkup(checkup, evidence):
            print(line)
    return checkup


def _change_stored_footage(evidence: Path, device: str) -> tuple:
    """Flip one bit in the middle of a stored video chunk; return the file and its seq."""
    from host.evidence import SqliteEvidenceStore
    from protocol.ledger import parse_entry
    from protocol.registry import (
        F_MEDIA_TYPE,
        F_PLAIN_SHA,
        KIND_CHUNK,
        MEDIA_H264,
        MEDIA_MJPEG,
        MEDIA_MP4,
    )

    store = SqliteEvidenceStore(evidence, readonly=True)
    try:
        chunks = [
            e
            for e in (parse_entry(r) for r in store.entries(device))
            if e.kind == KIND_CHUNK
            and e.fields.get(F_MEDIA_TYPE) in (MEDIA_H264, MEDIA_MJPEG, MEDIA_MP4)
        ]
        chunk = chunks[len(chunks) // 2]
        path = store.media_file(chunk.fields[F_PLAIN_SHA])
    finally:
        store.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    return path, chunk.seq


def add_demo(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam demo``."""
    d = sub.add_parser(
        "demo",
        help="the main job end to end: a virtual shift, docked, verified, exported, tampered",
        description="The main job end to end on the embedded defaults: a virtual recorder "
        "(the unchanged firmware on simulated hardware, recording H.264 with AAC sound) works "
        "a shift with a pause and its spoken reason, docks with the host daemon over a "
        "pseudo-terminal, and the host verifies and judges it; the recording is exported as "
        "an MP4 with sound (its signed fragments byte for byte) and the file is verified on "
        "its own; then one byte of the stored footage is changed and the report names the "
        "chunk.",
    )
    d.add_argument("--dir", default="sealcam-demo", help="where to write the files")
    d.add_argument("--json", action="store_true", help="print everything as one JSON document")
    d.set_defaults(run=cmd_demo)
