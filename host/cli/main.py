"""The ``sealcam`` command: one entry point, a subcommand per job."""

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING

from host import i18n
from host.cli import about
from host.cli.argwords import Parser
from host.errors import EXIT_INTERRUPTED, EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE, Refused, Unusable

if TYPE_CHECKING:
    from collections.abc import Callable

# Every command, in the order ``--help`` lists them: (its name, its module in host.cli, the
# function there that adds it to the subcommands). A command's module, and the domain
# modules it imports, are loaded only when that command runs or its help is asked for; the
# others stand in the parser as their name and one-line summary (``cmd.NAME``, which every
# command has in the catalogue), so ``sealcam --help`` still lists them all and no command
# pays for importing every other's. A new command module adds one line here, nothing else.
COMMANDS: "tuple[tuple[str, str, str], ...]" = (
    ("verify", "verify", "add_verify"),
    ("checkpoint", "verify", "add_checkpoint"),
    ("ledger", "ledger", "add_ledger"),
    ("keygen", "keys", "add_keygen"),
    ("record", "record", "add_record"),
    ("enrol", "keys", "add_enrol"),
    ("sync", "sync", "add_sync"),
    ("dock", "dock", "add_dock"),
    ("demo", "demo", "add_demo"),
    ("export", "export", "add_export"),
    ("restrict", "approve", "add_restrict"),
    ("approval", "approve", "add_approval"),
    ("flash", "flash", "add_parser"),
    # Evidence management: the accounts, the agency's settings, the items, the trail.
    ("user", "people", "add_user"),
    ("setting", "setting", "add_setting"),
    ("items", "items", "add_items"),
    ("audit", "audit", "add_audit"),
    ("case", "case", "add_case"),
    ("item", "case", "add_item"),
    ("retention", "retention", "add_retention"),
    ("store", "store", "add_store"),  # the scale-out form: an embedded store moved into it
    # Oversight: the register of recorders, units, and the reports over them.
    ("device", "register", "add_device"),
    ("unit", "register", "add_unit"),
    ("review", "review", "add_review"),
    ("report", "report", "add_report"),
    # The review page: the evidence store in a browser.
    ("serve", "serve", "add_serve"),
)


def command_in(argv: "list[str]") -> "str | None":
    """The command ``argv`` names: its first word that is no option (nor ``--lang``'s
    value); None when there is none (``sealcam --help``)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--lang":
            skip = True
        elif arg == "--":
            break
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: "list[str] | None" = None) -> argparse.ArgumentParser:
    """The whole command line, its help in the language in force (``host.i18n``). With
    ``argv``, only the command it names is built in full (see ``COMMANDS``); without, every
    command is (the tests, and anything that walks the whole command line)."""
    chosen = command_in(argv) if argv is not None else None
    p = Parser(
        prog="sealcam",
        description=i18n.text("main.description"),
        epilog=i18n.text("main.epilog"),
    )
    p.add_argument("--version", action=about.VersionAction, help=i18n.text("main.version"))
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module, adder in COMMANDS:
        if argv is None or name == chosen:
            getattr(importlib.import_module("host.cli." + module), adder)(sub)
        else:
            sub.add_parser(name, help=i18n.text("cmd." + name))
    if argv is None or chosen not in {name for name, _, _ in COMMANDS}:
        add_plugins(sub)  # their names are known only once they are loaded
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
    if argv is None:
        argv = sys.argv[1:]
    # The language first: the help argparse prints while parsing is already in it.
    i18n.use(lang_from_argv(argv))
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.run(args))
    except Unusable as exc:  # UsageProblem, and what the layers below cannot use
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
    except Exception as exc:
        # A store that refused, or could not be opened or reached (host.evidence's
        # EvidenceError, StoreUnopenable among them; the object store's refusals): its
        # message is one line saying what to do. Looked up only here, so a command that
        # never opens a store never imports them.
        if not isinstance(exc, _store_failures()):
            raise
        print(i18n.text("main.failed", command=args.command, problem=exc), file=sys.stderr)
        return EXIT_UNUSABLE


def _store_failures() -> "tuple[type, ...]":
    found: list = []
    evidence = sys.modules.get("host.evidence")
    if evidence is not None:
        found.append(evidence.EvidenceError)
    s3media = sys.modules.get("host.s3media")
    if s3media is not None:
        found += [s3media.MediaUnusable, s3media.MediaRefused]
    return tuple(found)


if __name__ == "__main__":
    sys.exit(main())
