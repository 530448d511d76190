"""``sealcam sim``: run scenarios against a host daemon, and serve a virtual board."""
# micropython: skip (the simulator runs on CPython only)

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

from host import i18n
from host.i18n import N_

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def add_parser(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser(
        "sim",
        help="virtual recorders: run a scenario, serve a virtual MicroPython board",
        description=i18n.text("sim.help.description"),
    )
    simsub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    simsub.required = True
    run = simsub.add_parser(
        "run",
        help="run a scenario file and check the host's verdict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=i18n.text("sim.help.run"),
        epilog=i18n.text("sim.help.run_examples", examples=RUN_EXAMPLES),
    )
    run.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=i18n.text("sim.help.scenarios")
    )
    run.add_argument("--all", action="store_true", help=i18n.text("sim.help.all"))
    run.add_argument("--dir", help=i18n.text("sim.help.dir"))
    run.add_argument("--keep", action="store_true", help=i18n.text("sim.help.keep"))
    run.add_argument("--junit", metavar="FILE", help=i18n.text("sim.help.junit"))
    run.add_argument("--device", metavar="PORT", help=i18n.text("sim.help.device"))
    run.add_argument("--evidence", help=i18n.text("sim.help.evidence"))
    run.add_argument("--host-key", help=i18n.text("sim.help.host_key"))
    run.add_argument("--json", action="store_true", help=i18n.text("sim.help.json"))
    run.set_defaults(run=cmd_run)
    try:
        importlib.import_module("simulator.mpboard")
    except ImportError:  # the virtual board's bridge is not installed with this build
        return
    add_board(simsub)


# The commands `sealcam sim run --help` shows as examples: the same in every language.
RUN_EXAMPLES = (
    "  sealcam sim run simulator/scenarios/clean-shift.toml\n"
    "  sealcam sim run --all\n"
    "  sealcam sim run SCENARIO --json\n"
    "  sealcam sim run --all --junit results.xml\n"
    "  sealcam sim run SCENARIO --keep\n"
    "  sealcam sim run SCENARIO --device /dev/ttyACM0 --evidence ev/ --host-key host.key"
)
BOARD_EXAMPLE = "  sealcam sim board --flash board-flash/"
BOARD_THEN = (
    "  mpremote connect PORT fs ls\n"
    "  sealcam flash --port PORT --device-id SC-0001 --evidence evidence/ \\\n"
    "                --host-key keys/agency-host-1.key"
)

# Where each scenario's stores are, said after its report (one message per case).
STORES_KEPT = N_("sim.stores_kept")
STORES_REMOVED = N_("sim.stores_removed")


def cmd_run(args: argparse.Namespace) -> int:
    import shutil
    import time

    from host.errors import EXIT_NOT_OK, EXIT_OK, Unusable
    from simulator.errors import BoardError, ScenarioError, SimulatorError
    from simulator.report import render
    from simulator.run import run_file

    files = list(args.scenarios)
    if args.all:
        files += [str(p) for p in sorted(SCENARIO_DIR.glob("*.toml"))]
    if not files:
        raise Unusable(i18n.text("sim.no_scenario"))
    if args.device and len(files) > 1:
        raise Unusable(i18n.text("sim.one_on_board"))
    live = (not args.json) and sys.stderr.isatty()
    reports = []
    results: list = []  # (path, report or None, seconds, error) for --junit
    for i, path in enumerate(files):
        # Stores under --dir are the user's; a temporary folder goes after the scenario
        # unless --keep (the whole library leaves hundreds of MiB otherwise).
        work = Path(args.dir) / Path(path).stem if args.dir else None
        if work is None:
            work = Path(tempfile.mkdtemp(prefix="sealcam-sim-%s-" % Path(path).stem))
        keep = bool(args.dir) or args.keep
        say = (lambda line: print("  " + line, file=sys.stderr)) if live else None
        if live:
            print(i18n.text("sim.progress", at=i + 1, of=len(files), path=path), file=sys.stderr)
        started = time.monotonic()
        try:
            if not Path(path).exists():
                # Said here with what to do (the parser only says the file is missing).
                raise ScenarioError(i18n.text("sim.no_such_scenario", path=path))
            report = run_file(path, str(work), args.device, args.evidence, args.host_key, say)
        except (SimulatorError, BoardError) as exc:
            results.append((path, None, time.monotonic() - started, str(exc)))
            if args.junit:
                write_junit(args.junit, results)
            raise Unusable(str(exc)) from None
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
        results.append((path, report, time.monotonic() - started, ""))
        report["workdir"] = str(work)
        report["kept"] = keep
        reports.append(report)
        if not args.json:
            print(render(report))
            print(i18n.text(STORES_KEPT if keep else STORES_REMOVED, path=work))
    if args.junit:
        write_junit(args.junit, results)
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2, default=str))
    return EXIT_OK if all(r["passed"] for r in reports) else EXIT_NOT_OK


def junit_xml(results: list) -> bytes:
    """JUnit XML for CI systems: one test case per scenario, its failed expectations as the
    failure, a scenario that could not run as an error, the text report as its output."""
    import xml.etree.ElementTree as ET

    from simulator.report import render, value
    from simulator.said import say

    failures = sum(1 for _, r, _, err in results if r is not None and not r["passed"])
    errors = sum(1 for _, r, _, _ in results if r is None)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="sealcam scenarios",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        time="%.3f" % sum(t for _, _, t, _ in results),
    )
    for path, report, seconds, error in results:
        name = report["scenario"] if report is not None else Path(path).stem
        case = ET.SubElement(
            suite,
            "testcase",
            classname="sealcam.scenarios.%s" % Path(path).stem,
            name=name,
            file=str(path),
            time="%.3f" % seconds,
        )
        if report is None:
            ET.SubElement(case, "error", message=error).text = error
            continue
        failed = [c for c in report["expectations"] if not c["passed"]]
        if failed:
            text = "\n".join(
                i18n.text(
                    "sim.junit.check",
                    what=say(c["what"]),
                    expected=value(c["expected"]),
                    got=value(c["got"]),
                )
                for c in failed
            )
            message = i18n.text("sim.junit.failed", count=len(failed))
            ET.SubElement(case, "failure", message=message).text = text
        ET.SubElement(case, "system-out").text = render(report)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(path: str, results: list) -> None:
    """Write the JUnit XML whole or not at all; a file that cannot be written is one line."""
    from host.errors import Unusable
    from host.files import os_why, write_atomic

    try:
        write_atomic(Path(path), junit_xml(results))
    except OSError as exc:
        raise Unusable(i18n.text("sim.cannot_write", path=path, why=os_why(exc))) from None


def add_board(sub: argparse._SubParsersAction) -> None:
    """Register ``board`` (``sealcam sim board``) on a subparsers object."""
    b = sub.add_parser(
        "board",
        help="run a virtual MicroPython board on a pseudo-terminal",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=i18n.text("sim.help.board"),
        epilog=i18n.text("sim.help.board_example", example=BOARD_EXAMPLE, then=BOARD_THEN),
    )
    b.add_argument("--flash", required=True, metavar="DIR", help=i18n.text("sim.help.flash"))
    b.add_argument("--json", action="store_true", help=i18n.text("sim.help.board_json"))
    b.set_defaults(run=cmd_board)


def cmd_board(args: argparse.Namespace) -> int:
    """Run a virtual board until Ctrl-C; 0 when stopped so, 1 if the board itself ended."""
    from host.errors import EXIT_NOT_OK, EXIT_OK, Unusable
    from simulator.errors import BoardError
    from simulator.mpboard import VirtualBoard

    board = VirtualBoard(args.flash)
    try:
        port = board.start()
    except BoardError as exc:
        raise Unusable(str(exc)) from None
    flash = str(Path(args.flash).resolve())
    if args.json:
        print(json.dumps({"port": port, "flash": flash}), flush=True)
    else:
        print(i18n.text("sim.board.running", port=port, flash=flash))
        print(i18n.text("sim.board.try", port=port), flush=True)
    try:
        status = board.wait()
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        board.stop()
    if status != 0:
        print(board.log().strip(), flush=True)
    return EXIT_NOT_OK if status != 0 else EXIT_OK
