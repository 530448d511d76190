"""The ``sealcam`` command line, on top of every other layer: ``main`` parses the arguments
and runs one command; each command group has its own module (``verify``, ``keys``,
``record``, ``dock``, ``sync``, ``demo``, ``export``, ...: ``main.COMMANDS`` lists them, and
imports each only when it runs) and ``common`` holds what they share."""

from typing import TYPE_CHECKING

from host.cli.main import build_parser, main
from host.errors import EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE

if TYPE_CHECKING:
    from host.cli.common import UsageProblem, load_key
    from host.cli.demo import command_name

# Loaded when first asked for: ``sealcam`` starts by importing this package, and a command
# must not pay for the key files and the demo that it does not use.
_LATER = {
    "UsageProblem": "host.cli.common",
    "load_key": "host.cli.common",
    "command_name": "host.cli.demo",
}


def __getattr__(name: str) -> object:
    if name not in _LATER:
        raise AttributeError("module 'host.cli' has no attribute %r" % name)
    import importlib

    return getattr(importlib.import_module(_LATER[name]), name)


__all__ = [
    "EXIT_NOT_OK",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "UsageProblem",
    "build_parser",
    "command_name",
    "load_key",
    "main",
]
