"""``sealcam --version``: the installed package's version, in one line."""

import argparse


def version_line() -> str:
    """``sealcam 0.1.0``; a source tree run without installing says so rather than fail."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "sealcam %s" % version("sealcam")
    except PackageNotFoundError:
        return "sealcam (not installed: version unknown)"


class VersionAction(argparse.Action):
    """``--version``: the version is looked up only when asked for (the package metadata
    costs every other command a few hundredths of a second)."""

    def __init__(self, option_strings: "list[str]", dest: str, help: "str | None" = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: "str | None" = None,
    ) -> None:
        print(version_line())
        parser.exit()
