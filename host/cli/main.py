"""The ``sealcam`` command: one entry point, a subcommand per job."""

import argparse
import os
import sys
from typing import TYPE_CHECKING

from host import i18n
from host.cli import (
    about,
    approve,
    case,
    demo,
    dock,
    export,
    flash,
    keys,
    ledger,
    record,
    serve,
    sync,
    verify,
)
from host.cli import audit as audit_cmd
from host.cli import items as items_cmd
from host.cli import people as people_cmd
from host.cli import retention as retention_cmd
from host.cli import setting as setting_cmd
from host.cli.argwords import Parser
from host.cli.common import EXIT_INTERRUPTED, EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE, Unusable
from host.errors import Refused

if TYPE_CHECKING:
    from collections.abc import Callable


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, its help in the language in force (``host.i18n``)."""
    p = Parser(
        prog="sealcam",
        description=i18n.text("main.description"),
        epilog=i18n.text("main.epilog"),
    )
    p.add_argument("--version", action=about.VersionAction, help=i18n.text("main.version"))
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
    approve.add_restrict(sub)
    approve.add_approval(sub)
    flash.add_parser(sub)
    # Evidence management: the accounts, the agency's settings, the items, the trail.
    people_cmd.add_user(sub)
    setting_cmd.add_setting(sub)
    items_cmd.add_items(sub)
    audit_cmd.add_audit(sub)
    case.add_case(sub)
    case.add_item(sub)
    retention_cmd.add_retention(sub)
    serve.add_serve(sub)
    add_plugins(sub)
    _every_command(p, "", _lang_option)
    return p


def _lang_option(parser: argparse.ArgumentParser, path: str) -> None:
    """``--lang`` before or after the command: ``main`` has read it already (the help must
    be in that language before argparse prints it); here it is documented and checked."""
    parser.add_argument(
        "--lang",
        choices=i18n.LANGS,
        default=argparse.SUPPRESS if path else None,
        help=i18n.text("main.lang"),
    )


def _every_command(
    parser: argparse.ArgumentParser,
    path: str,
    visit: "Callable[[argparse.ArgumentParser, str], None]",
) -> None:
    """Call ``visit(parser, path)`` on ``parser`` and every (sub)command below it, and put
    each command's one-line summary in the language in force where the catalogue has it
    (``cmd.PATH``; a test checks that its English is the summary the command declares)."""
    visit(parser, path)
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for choice in action._choices_actions:
            msg_id = "cmd." + (path + " " + choice.dest).strip()
            if i18n.known(msg_id):
                choice.help = i18n.text(msg_id)
        for name, child in action.choices.items():
            _every_command(child, (path + " " + name).strip(), visit)


def lang_from_argv(argv: "list[str]") -> "str | None":
    """The language ``--lang`` names anywhere before ``--``; None when it is not given (or
    not a language: argparse then refuses it in one line)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value in i18n.LANGS:
            return value
    return None


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
            error = "%s: %s" % (type(exc).__name__, exc)
            print(
                i18n.text("main.plugin_broken", name=plugin.name, value=plugin.value, error=error),
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    from host.evidence import StoreUnopenable

    if argv is None:
        argv = sys.argv[1:]
    # The language first: the help argparse prints while parsing is already in it.
    i18n.use(lang_from_argv(argv))
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except Unusable as exc:  # UsageProblem, and what the layers below cannot use
        print(i18n.text("main.failed", command=args.command, problem=exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except StoreUnopenable as exc:  # an evidence store that any command opens
        print(i18n.text("main.failed", command=args.command, problem=exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except Refused as exc:  # the evidence rules said no; the attempt is in the audit trail
        print(i18n.text("main.failed", command=args.command, problem=exc), file=sys.stderr)
        return EXIT_NOT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
