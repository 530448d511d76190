"""Which files go on a board, declared once, and the one reader of the CPython-only marker.

A board image is made of modules of ``PACKAGES``: the modules a board runs (``ENTRIES``, and
``DEBUG_ONLY`` in a debug build) and every module of those packages they import, directly or
not, with the ``__init__.py`` of each package on the way. So a module no firmware imports (the
verifier, the host's side of a sync) never reaches a board, and nothing has to be kept in
step by hand. A module that never runs on MicroPython says so on one of its first lines:

    # micropython: skip (reason)

``sealcam flash`` (``host.board.image``), the frozen-build manifest (``tools/board/manifest.py``),
the MicroPython test runner (``tools/mpy/runner.py``) and the MicroPython type-check
(``tools/mpy-typecheck``) all read this module. The runner imports it inside MicroPython and
the manifest loads it by its path inside MicroPython's build, so at module level it uses only
what MicroPython has and imports nothing of sealcam; the import graph, which needs ``ast``,
is CPython's alone.
"""

# --- the table ---------------------------------------------------------------------------
# Paths are relative to the repository, with "/"; a path ending in "/" names every module
# directly in that folder.

PACKAGES = ("protocol", "firmware")  # where the modules of a board image come from
ENTRIES = (
    "firmware/agent.py",  # the recorder agent (boot)
    "firmware/link.py",  # the device's end of a dock
    "firmware/provision.py",  # provisioning, which sealcam flash runs on the board
    "firmware/ports/",  # the board ports: board_template.py and the vendor's own
)
DEBUG_ONLY = ("firmware/testbench.py",)  # the test command set (docs/hil.md): debug builds only
# Never on a board, even where they run on MicroPython; a firmware module importing one is a
# bug that board_files() refuses.
HOST_ONLY = ("protocol/verify.py", "protocol/host_session.py")
# Never on a board: they need CPython (each also carries the marker).
CPYTHON_ONLY = ("firmware/ports/cpython.py", "firmware/ports/docking.py")

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Iterator

SKIP_MARKER = "# micropython: skip"
SKIP_SCAN_LINES = 20  # the marker sits among a module's first lines, under its docstring


def skip_reason(path: str) -> str | None:
    """The reason the module at ``path`` gives for not running on MicroPython, or None.

    Raises OSError if the file cannot be read.
    """
    with open(path) as f:
        for _ in range(SKIP_SCAN_LINES):
            line = f.readline()
            if not line:
                break
            line = line.strip()
            if line.startswith(SKIP_MARKER):
                reason = line[len(SKIP_MARKER) :].strip()
                if reason.startswith("(") and reason.endswith(")"):
                    reason = reason[1:-1].strip()
                return reason or "no reason given"
    return None


def portable(root: str, rel: str) -> bool:
    """Whether the module ``rel`` (under ``root``) may run on MicroPython at all."""
    return rel not in CPYTHON_ONLY and skip_reason(root + "/" + rel) is None


def module_name(rel: str) -> str:
    """``firmware/ports/__init__.mpy`` -> ``firmware.ports``; ``protocol/cbor.py`` -> ..."""
    dotted = rel.rsplit(".", 1)[0].replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


# --- the import graph (CPython) ----------------------------------------------------------


def board_files(root: object, debug: bool = False) -> list[str]:
    """The modules of a board image: paths relative to ``root``, in the order of
    ``PACKAGES`` and then sorted; the test command set only in a ``debug`` build.

    Raises ValueError when a module the board needs is host-only or CPython-only.
    """
    import os

    top = str(root)
    wanted: list[str] = []
    for entry in ENTRIES + (DEBUG_ONLY if debug else ()):
        if entry.endswith("/"):
            folder = os.path.join(top, entry)
            wanted += sorted(entry + n for n in os.listdir(folder) if n.endswith(".py"))
        else:
            wanted.append(entry)
    found: set[str] = set()
    while wanted:
        rel = wanted.pop()
        if rel in found:
            continue
        if rel in HOST_ONLY:
            raise ValueError("%s is host-only, but a module a board runs imports it" % rel)
        if not portable(top, rel):
            if rel in ENTRIES or rel.rsplit("/", 1)[0] + "/" in ENTRIES:
                continue  # a port of the folder that is CPython's, not a board's
            raise ValueError("%s runs on CPython only, but a module a board runs imports it" % rel)
        if rel in DEBUG_ONLY and not debug:
            raise ValueError("%s is for debug builds, but a module a board runs imports it" % rel)
        found.add(rel)
        wanted += imported_files(top, rel)
    order = {name: i for i, name in enumerate(PACKAGES)}
    return sorted(found, key=lambda rel: (order[rel.split("/", 1)[0]], rel))


def imported_files(root: str, rel: str) -> list[str]:
    """The modules of ``PACKAGES`` that importing the module ``rel`` imports: every import
    statement counts (at module level, in a function, behind ``try``), but not those under
    ``if TYPE_CHECKING:``, which only a type checker reads."""
    import ast

    with open(root + "/" + rel, encoding="utf-8") as f:
        tree = ast.parse(f.read(), rel)
    package = module_name(rel)
    if not rel.endswith("/__init__.py"):
        package = package.rpartition(".")[0]
    names: list[str] = []
    for node in _runtime_nodes(tree.body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.append(base)
            names += [base + "." + alias.name for alias in node.names]
    out: list[str] = []
    for name in names:
        parts = name.split(".")
        if parts[0] not in PACKAGES:
            continue
        for i in range(1, len(parts) + 1):
            path = _module_file(root, parts[:i])
            if path is not None and path not in out:
                out.append(path)
    return out


def _module_file(root: str, parts: list[str]) -> str | None:
    """The file of the module named by ``parts``, if it is a module (not a name in one)."""
    import os

    rel = "/".join(parts)
    if os.path.isfile(os.path.join(root, rel, "__init__.py")):
        return rel + "/__init__.py"
    if os.path.isfile(os.path.join(root, rel + ".py")):
        return rel + ".py"
    return None


def _runtime_nodes(body: list) -> "Iterator":
    """Every statement in ``body`` and below it that runs, leaving out ``if TYPE_CHECKING:``
    blocks (their ``else`` runs)."""
    import ast

    for node in body:
        yield node
        if isinstance(node, ast.If) and _names_type_checking(node.test):
            yield from _runtime_nodes(node.orelse)
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _runtime_nodes(getattr(node, field, None) or [])


def _names_type_checking(test: object) -> bool:
    import ast

    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
