"""``sealcam sim``: run scenarios against a host daemon, and serve a virtual board."""
# micropython: skip (the simulator runs on CPython only)

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def add_parser(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser(
        "sim",
        help="virtual recorders: run a scenario, serve a virtual MicroPython board",
        description="The simulator, for QA: virtual recorders running the unchanged firmware "
        "on simulated hardware and virtual time, docked to a real host daemon.",
    )
    simsub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    simsub.required = True
    run = simsub.add_parser(
        "run",
        help="run a scenario file and check the host's verdict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run an officer's shift from a TOML scenario: the device lives through "
        "the steps (self-check, announcement, recording, pauses with spoken reasons, faults), "
        "docks with `sealcam sync` running in its own process over a pseudo-terminal (or "
        "TCP), and the host's verification and compliance verdicts are checked against the "
        "scenario's [expect] table.",
        epilog="examples:\n"
        "  sealcam sim run simulator/scenarios/place-change.toml\n"
        "  sealcam sim run --all                      # the whole scenario library\n"
        "  sealcam sim run SCENARIO --json             # the report as JSON\n"
        "  sealcam sim run --all --junit results.xml   # and JUnit XML for a CI system\n"
        "  sealcam sim run SCENARIO --keep             # keep its stores to look into\n"
        "  sealcam sim run SCENARIO --device /dev/ttyACM0 --evidence ev/ --host-key host.key\n"
        "                                             # hardware in the loop: a flashed board\n"
        "\nexit status: 0 every expectation held, 1 one did not, 2 the scenario could not run",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario TOML files")
    run.add_argument("--all", action="store_true", help="run every scenario in the library")
    run.add_argument(
        "--dir",
        help="keep the device stores and evidence here, one folder per scenario (default: a "
        "temporary folder, removed after the scenario unless --keep)",
    )
    run.add_argument(
        "--keep",
        action="store_true",
        help="keep each scenario's temporary folder (its path is printed after its report)",
    )
    run.add_argument(
        "--junit",
        metavar="FILE",
        help="also write the results as JUnit XML, for CI systems to show",
    )
    run.add_argument("--device", metavar="PORT", help="drive a real board on this serial port")
    run.add_argument("--evidence", help="the host evidence store (default: a fresh one)")
    run.add_argument("--host-key", help="the host's private key (the one the board pins)")
    run.add_argument("--json", action="store_true", help="print the reports as JSON")
    run.set_defaults(run=cmd_run)
    try:
        importlib.import_module("simulator.mpboard")
    except ImportError:  # the virtual board's bridge is not installed with this build
        return
    add_board(simsub)


# Where each scenario's stores are, said after its report (one message per case).
STORES_KEPT = "sim.stores_kept"
STORES_REMOVED = "sim.stores_removed"


def cmd_run(args: argparse.Namespace) -> int:
    import shutil
    import time

    from host import i18n
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
                # The parser's words are English (it is the library's); the person's are here.
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

    from simulator.report import render

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
                "%s: expected %s, got %s" % (c["what"], c["expected"], c["got"]) for c in failed
            )
            ET.SubElement(
                case, "failure", message="%d expectation(s) failed" % len(failed)
            ).text = text
        ET.SubElement(case, "system-out").text = render(report)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(path: str, results: list) -> None:
    """Write the JUnit XML whole or not at all; a file that cannot be written is one line."""
    from host import i18n
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
        description="Start a virtual MicroPython board: the MicroPython WebAssembly port's\n"
        "REPL (raw REPL and raw-paste mode included) behind a pseudo-terminal, so serial\n"
        "tools (mpremote, pyserial, sealcam flash) open it as they would a board on a USB\n"
        "cable. Its flash filesystem is a directory on this machine, kept across soft\n"
        "resets and restarts. Prints the port, then serves until Ctrl-C.",
        epilog="example:\n"
        "  sealcam sim board --flash board-flash/\n"
        "then, in another terminal, with the port it printed:\n"
        "  mpremote connect PORT fs ls\n"
        "  sealcam flash --port PORT --device-id SC-0001 --evidence evidence/ \\\n"
        "                --host-key keys/agency-host-1.key",
    )
    b.add_argument(
        "--flash",
        required=True,
        metavar="DIR",
        help="the board's flash filesystem (created if missing); the board sees it as /flash",
    )
    b.add_argument("--json", action="store_true", help="print the port as a JSON object")
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
        print("virtual MicroPython board on %s (flash: %s); Ctrl-C stops it" % (port, flash))
        print("  try: mpremote connect %s fs ls" % port, flush=True)
    try:
        status = board.wait()
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        board.stop()
    if status != 0:
        print(board.log().strip(), flush=True)
    return EXIT_NOT_OK if status != 0 else EXIT_OK
