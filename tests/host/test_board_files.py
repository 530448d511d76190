"""What goes on a board, declared once (``host.board.files``): the table, the marker, the
import graph, and every reader of them agreeing (issue 11 §4)."""
# micropython: skip (hypothesis and ast are CPython's; the runner uses skip_reason there)

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.board import files
from host.board.image import REPO, image_modules

ROOT = str(REPO)


def every_module(package: str) -> list[str]:
    return sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / package).rglob("*.py")
        if "__pycache__" not in p.parts
    )


def test_the_table_names_files_that_exist():
    for rel in files.ENTRIES + files.DEBUG_ONLY + files.HOST_ONLY + files.CPYTHON_ONLY:
        assert (REPO / rel).exists(), rel
        assert rel.split("/", 1)[0] in files.PACKAGES, rel
    for rel in files.CPYTHON_ONLY:  # each says so itself too, for the tests' runner
        assert files.skip_reason(str(REPO / rel)) is not None, rel


def test_the_image_is_what_the_firmware_imports_and_nothing_more():
    image = image_modules()
    # Closed: every module a shipped module imports is shipped (or is CPython's, behind a
    # guard such as the CPython port's).
    for rel in image:
        for needed in files.imported_files(ROOT, rel):
            assert needed in image or not files.portable(ROOT, needed), (rel, needed)
    # Minimal: every shipped module is an entry, or imported by a shipped module.
    reached = {needed for rel in image for needed in files.imported_files(ROOT, rel)}
    entries = set(image) - reached
    for rel in entries:
        assert rel in files.ENTRIES or rel.rsplit("/", 1)[0] + "/" in files.ENTRIES, rel


def test_the_verifier_and_cpython_modules_stay_off_the_board():
    image = image_modules()
    debug = image_modules(debug=True)
    for rel in files.HOST_ONLY + files.CPYTHON_ONLY:
        assert rel not in image and rel not in debug, rel
    assert "firmware/testbench.py" in debug and "firmware/testbench.py" not in image
    # Nothing the firmware does not import: the host-side verifier, the terminal's lock.
    assert "protocol/verify.py" not in image and "firmware/storelock.py" not in image
    for rel in image:
        assert files.portable(ROOT, rel), rel
    assert set(image) <= set(every_module("protocol") + every_module("firmware"))


def test_a_module_a_board_must_not_carry_is_refused_when_the_firmware_imports_it(monkeypatch):
    # Declaring a module host-only is one line of the table (the host's side of the sync,
    # once it has a module of its own); if the firmware still imports it, no image is made.
    monkeypatch.setattr(files, "HOST_ONLY", (*files.HOST_ONLY, "protocol/cbor.py"))
    with pytest.raises(ValueError, match=r"protocol/cbor\.py is host-only"):
        image_modules()


def test_imports_for_type_checkers_only_are_not_followed(tmp_path):
    (tmp_path / "firmware").mkdir()
    (tmp_path / "protocol").mkdir()
    for name in ("__init__", "a", "b", "c", "d", "e"):
        (tmp_path / "protocol" / (name + ".py")).write_text("")
    (tmp_path / "firmware" / "__init__.py").write_text("")
    (tmp_path / "firmware" / "m.py").write_text(
        "TYPE_CHECKING = False\n"
        "if TYPE_CHECKING:\n"
        "    from protocol import a\n"
        "else:\n"
        "    import protocol.b\n"
        "try:\n"
        "    from protocol.c import name\n"
        "except ImportError:\n"
        "    import nacl\n"
        "def f():\n"
        "    from protocol import d, not_a_module\n"
        "from . import m\n"
    )
    found = files.imported_files(str(tmp_path), "firmware/m.py")
    assert sorted(found) == [
        "firmware/__init__.py",
        "firmware/m.py",
        "protocol/__init__.py",
        "protocol/b.py",
        "protocol/c.py",
        "protocol/d.py",
    ]


reasons = st.text(
    st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="()"), max_size=30
).map(str.strip)


@given(
    before=st.lists(st.sampled_from(['"""Docs."""', "", "# a comment", "import os"]), max_size=25),
    reason=reasons,
    parens=st.booleans(),
)
def test_the_marker_is_read_among_the_first_lines(tmp_path_factory, before, reason, parens):
    line = files.SKIP_MARKER + ((" (%s)" % reason) if parens else (" " + reason if reason else ""))
    path = tmp_path_factory.mktemp("m") / "m.py"
    path.write_text("\n".join([*before, line, "x = 1"]) + "\n")
    found = files.skip_reason(str(path))
    if len(before) < files.SKIP_SCAN_LINES:
        assert found == (reason or "no reason given")
    else:
        assert found is None


def test_a_module_without_the_marker_runs_on_micropython(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""# micropython: skip is only named here."""\nx = 1\n')
    assert files.skip_reason(str(path)) is None
    with pytest.raises(OSError):
        files.skip_reason(str(tmp_path / "missing.py"))


def test_the_frozen_manifest_and_the_type_check_read_the_same_table():
    manifest = REPO / "tools" / "board" / "manifest.py"
    text = manifest.read_text()
    assert "host/board/files.py" in text and 'micropython: skip"' not in text
    tree = ast.parse(text)
    assert not any(
        isinstance(node, ast.Assign) and "LEFT_OUT" in ast.dump(node) for node in tree.body
    )
    typecheck = (REPO / "tools" / "mpy-typecheck").read_text()
    assert "host.board.files" in typecheck and "head -n" not in typecheck
    runner = (REPO / "tools" / "mpy" / "runner.py").read_text()
    assert "host.board.files" in runner and "SKIP_SCAN_LINES" not in runner


def test_the_module_loads_with_nothing_of_sealcam_on_the_path(tmp_path):
    # The frozen-build manifest loads it by its path inside MicroPython's build.
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('f', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(len(m.board_files(sys.argv[2])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code, str(Path(files.__file__)), ROOT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(image_modules())


def test_flashing_a_board_needs_nothing_of_the_simulator():
    # Issue 11 §1: the layers point one way; sealcam flash is production code.
    code = (
        "import sys\n"
        "import host.cli.flash, host.board.steps, host.board.rawrepl, host.board.image\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulator'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
