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
        "  sealcam sim run SCENARIO --device /dev/ttyACM0 --evidence ev/ --host-key host.key\n"
        "                                             # hardware in the loop: a flashed board\n"
        "\nexit status: 0 every expectation held, 1 one did not, 2 the scenario could not run",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario TOML files")
    run.add_argument("--all", action="store_true", help="run every scenario in the library")
    run.add_argument("--dir", help="keep the device stores and evidence here (default: temp)")
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


def cmd_run(args: argparse.Namespace) -> int:
    from host.errors import EXIT_NOT_OK, EXIT_OK, Unusable
    from simulator.errors import BoardError, SimulatorError
    from simulator.report import render
    from simulator.run import run_file

    files = list(args.scenarios)
    if args.all:
        files += [str(p) for p in sorted(SCENARIO_DIR.glob("*.toml"))]
    if not files:
        raise Unusable("give a scenario file, or --all for the scenario library")
    if args.device and len(files) > 1:
        raise Unusable("a board runs one scenario at a time: give one SCENARIO")
    live = (not args.json) and sys.stderr.isatty()
    reports = []
    for i, path in enumerate(files):
        work = Path(args.dir) / Path(path).stem if args.dir else None
        if work is None:
            tmp = tempfile.mkdtemp(prefix="sealcam-sim-")
            work = Path(tmp)
        say = (lambda line: print("  " + line, file=sys.stderr)) if live else None
        if live:
            print("[%d/%d] %s" % (i + 1, len(files), path), file=sys.stderr)
        try:
            report = run_file(path, str(work), args.device, args.evidence, args.host_key, say)
        except (SimulatorError, BoardError) as exc:
            raise Unusable(str(exc)) from None
        report["workdir"] = str(work)
        reports.append(report)
        if not args.json:
            print(render(report))
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2, default=str))
    return EXIT_OK if all(r["passed"] for r in reports) else EXIT_NOT_OK


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
