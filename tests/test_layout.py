"""The test suite's own layout (issue 11 §5): what tests share lives in their folder's
``helpers.py``, never in another test module; the protocol tests do not import the firmware;
and tests reach for helpers down the layers only, as the code they test does."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# The layers, lowest first: the tests of each may use the helpers of those before it.
LAYERS = ("protocol", "firmware", "host", "simulator")


def python_files() -> list:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def imports(path: Path):
    """(line, module) for every module the file at ``path`` imports, at any depth; for
    ``from package import name`` both the package and ``package.name``, since the name may
    be a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = list(path.relative_to(ROOT).parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module:
                yield node.lineno, module
            for alias in node.names:
                yield node.lineno, (module + "." if module else "") + alias.name


def where(path: Path, line: int) -> str:
    return "%s:%d" % (path.relative_to(ROOT), line)


def layer_of(path: Path) -> "str | None":
    parts = path.relative_to(TESTS).parts
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else None


def test_no_test_imports_another_test_module():
    offences = set()
    for path in python_files():
        for line, module in imports(path):
            parts = module.split(".")
            tests = [i for i, part in enumerate(parts) if part.startswith("test_")]
            if parts[0] == "tests" and tests:
                i = tests[0]
                offences.add(
                    "%s imports %s: move what it shares into %s/helpers.py and import it "
                    "from there"
                    % (where(path, line), ".".join(parts[: i + 1]), "/".join(parts[:i]))
                )
    assert not offences, "\n".join(sorted(offences))


def test_the_protocol_tests_do_not_import_the_firmware():
    offences = set()
    for path in python_files():
        if layer_of(path) != "protocol":
            continue
        for line, module in imports(path):
            parts = module.split(".")
            if parts[0] == "firmware":
                offences.add(
                    "%s imports %s: a test that needs the firmware belongs in tests/firmware"
                    % (where(path, line), ".".join(parts[:2]))
                )
    assert not offences, "\n".join(sorted(offences))


def test_tests_use_the_helpers_of_their_layer_and_those_below():
    offences = set()
    for path in python_files():
        layer = layer_of(path)
        if layer is None:
            continue
        allowed = LAYERS[: LAYERS.index(layer) + 1]
        for line, module in imports(path):
            parts = module.split(".")
            if parts[0] == "tests" and len(parts) > 2 and parts[1] in LAYERS:
                if parts[1] not in allowed:
                    offences.add(
                        "%s imports %s: the %s tests may use the helpers of %s only; a "
                        "helper a lower layer's tests share belongs in that layer's helpers.py"
                        % (where(path, line), ".".join(parts[:3]), layer, ", ".join(allowed))
                    )
    assert not offences, "\n".join(sorted(offences))


def test_helpers_hold_no_tests():
    # Neither pytest nor tools/mpy-test collects helpers.py: a test there would never run.
    offences = []
    for path in python_files():
        if path.name != "helpers.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in tree.body:
            name = getattr(node, "name", "")
            if name.startswith(("test_", "Test")):
                offences.append(
                    "%s defines %s: tests go in a test_*.py module"
                    % (where(path, node.lineno), name)
                )
    assert not offences, "\n".join(offences)


def test_the_readme_layout_names_every_module_and_package():
    # Issue 11: the README's layout section matches the tree.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Layout")
    block = readme[start : readme.index("```", readme.index("```", start) + 3)]
    missing = []
    for package in ("firmware", "protocol", "host", "simulator"):
        for path in sorted((ROOT / package).iterdir()):
            name = path.name
            if name.startswith(("_", ".")) or (path.is_file() and not name.endswith(".py")):
                continue
            shown = name + "/" if path.is_dir() else name
            if shown not in block:
                missing.append("%s/%s" % (package, shown))
    assert not missing, "README.md's Layout does not name: %s" % ", ".join(missing)
