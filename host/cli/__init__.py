"""The ``sealcam`` command line, on top of every other layer: ``main`` parses the arguments
and runs one command; each command group has its own module (``verify``, ``keys``,
``record``, ``dock``, ``sync``, ``demo``, ``export``) and ``common`` holds what they share."""

from host.cli.common import EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE, UsageProblem, load_key
from host.cli.demo import command_name
from host.cli.main import build_parser, main

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
