"""The ``sealcam`` command: one entry point, a subcommand per job."""

import argparse
import os
import sys

from host.cli import about, demo, dock, export, flash, keys, ledger, record, sync, verify
from host.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNUSABLE, Unusable


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sealcam",
        description="Signed, tamper-evident evidence for enforcement recorders. Every frame "
        "chunk and event a recorder writes is an entry in one hash-chained ledger signed "
        "with the device's Ed25519 key; these commands check and manage that evidence.",
        epilog="Exit codes: 0 success or OK, 1 verification NOT OK, 2 unusable input. "
        "Run 'sealcam COMMAND --help' for each command.",
    )
    p.add_argument("--version", action="version", version=about.version_line())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    verify.add_verify(sub)
    verify.add_checkpoint(sub)
    ledger.add_ledger(sub)
    keys.add_keygen(sub)
    record.add_record(sub)
    keys.add_enrol(sub)
    sync.add_sync(sub)
    dock.add_dock(sub)
    demo.add_demo(sub)
    export.add_export(sub)
    flash.add_parser(sub)
    add_plugins(sub)
    return p


# The entry point group of commands that packages above the host add (``sealcam sim``).
PLUGINS = "sealcam.commands"


def add_plugins(sub: "argparse._SubParsersAction") -> None:
    """Let every ``sealcam.commands`` entry point add its commands to ``sub``.

    A plugin that cannot be loaded is named in one line on stderr, and every other command
    still works: a broken simulator install must not take ``sealcam verify`` with it.
    """
    from importlib.metadata import entry_points

    for plugin in sorted(entry_points(group=PLUGINS), key=lambda ep: ep.name):
        try:
            plugin.load()(sub)
        except Exception as exc:  # whatever a plugin raises, the host's commands stay usable
            print(
                "sealcam: the command plugin %s (%s) could not be loaded: %s: %s"
                % (plugin.name, plugin.value, type(exc).__name__, exc),
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    from host.evidence import StoreUnopenable

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except Unusable as exc:  # UsageProblem, and what the layers below cannot use
        print("sealcam %s: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except StoreUnopenable as exc:  # an evidence store that any command opens
        print("sealcam %s: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
