"""argparse's own words (usage, options, its refusals) in the language in force.

argparse writes its headings and its error lines in English. ``Parser`` is argparse's parser
with those words put through the catalogs (``host/locale``, ids ``argparse.*``), so a
Chinese officer's mistyped option is refused in Chinese too; subcommands inherit the class.
A refusal argparse words in a way the catalogue does not know stays as argparse wrote it.
"""

import argparse
import re
import sys
from typing import NoReturn

from host import i18n

# argparse asks gettext for every word it writes, and gettext looks for an ``argparse``
# catalog on disk each time (a tenth of a second over sealcam's fifty-odd commands). No
# such catalog is wanted: the words are matched in English below and put through ours.
argparse._ = lambda text: text  # type: ignore[attr-defined]
argparse.ngettext = lambda one, many, n: one if n == 1 else many  # type: ignore[attr-defined]

# argparse's refusals (Python 3.10 to 3.13), most specific first: pattern -> message id,
# the pattern's named groups being the message's fields.
_REFUSALS = (
    (r"argument (?P<name>.+?): (?P<problem>.+)", i18n.N_("argparse.argument")),
    (r"the following arguments are required: (?P<names>.+)", i18n.N_("argparse.required")),
    (r"one of the arguments (?P<names>.+) is required", i18n.N_("argparse.one_required")),
    (r"unrecognized arguments: (?P<args>.+)", i18n.N_("argparse.unrecognized")),
    (
        r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
        i18n.N_("argparse.choice"),
    ),
    (r"expected one argument", i18n.N_("argparse.one_value")),
    (r"not allowed with argument (?P<other>.+)", i18n.N_("argparse.not_with")),
    (r"invalid (?P<type>\S+) value: (?P<value>.+)", i18n.N_("argparse.invalid_value")),
)

# Headings and the help option's line, as argparse writes them.
_WORDS = (
    ("usage: ", i18n.N_("argparse.usage")),
    ("\npositional arguments:\n", i18n.N_("argparse.positional")),
    ("\noptions:\n", i18n.N_("argparse.options")),
    ("show this help message and exit", i18n.N_("argparse.help")),
)


def refusal(message: str) -> str:
    """An argparse error message in the language in force."""
    for pattern, msg_id in _REFUSALS:
        found = re.fullmatch(pattern, message, re.DOTALL)
        if found is None:
            continue
        fields = found.groupdict()
        if "problem" in fields:
            fields["problem"] = refusal(fields["problem"])
        return i18n.text(msg_id, **fields)
    return message


def words(text: str) -> str:
    """argparse's help or usage text with its headings in the language in force."""
    for english, msg_id in _WORDS:
        text = text.replace(english, i18n.text(msg_id))
    return text


class Parser(argparse.ArgumentParser):
    """argparse's parser, speaking the language in force."""

    def format_usage(self) -> str:
        return words(super().format_usage())

    def format_help(self) -> str:
        return words(super().format_help())

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, i18n.text("argparse.error", prog=self.prog, problem=refusal(message)) + "\n")
