"""Static check for code that must run unchanged on MicroPython (run by tools/mpy-typecheck).

mypy, pointed at the MicroPython stubs, catches missing module attributes such as
``hashlib.sha512``. It cannot catch what the stubs share with CPython's typeshed, so this
check covers the rest, each item verified against the pinned MicroPython 1.27 build:

* runtime imports of modules MicroPython does not have (``typing``, ``__future__``,
  ``dataclasses``, ...); imports under ``if TYPE_CHECKING:`` are for mypy only and allowed;
* attributes the pinned build's core modules lack (``struct.error``, ``struct.Struct``,
  ``sys.getrecursionlimit``, ``os.environ``);
* builtin names MicroPython lacks (``UnicodeDecodeError``, ``RecursionError``, ``format``);
* methods of builtin types MicroPython lacks (``int.bit_length``, ``str.isascii``,
  ``memoryview.tobytes``, ``hexdigest``) and the ``signed=`` keyword of
  ``int.to_bytes``/``int.from_bytes``.

Code that plans for the gap is left alone: imports inside ``try`` blocks that catch
ImportError, attribute uses inside ``try`` blocks that catch AttributeError, and
``M.name`` under ``if hasattr(M, "name"):``.

Usage: python tools/mpy/portable_check.py FILE_OR_DIR...   (exit status 1 on findings)
"""

import ast
import os
import sys

# Built-in (C) modules of the MicroPython core that the pinned build has and that device
# ports carry too, with the attributes each one has there (from dir() on the pinned
# build). The pyscript build also freezes pure-Python micropython-lib modules and
# extensions (abc, functools, logging, os.path, time.strftime, ...); firmware builds do
# not have them, so they are left out.
_CORE = {
    "array": "array",
    "binascii": "a2b_base64 b2a_base64 crc32 hexlify unhexlify",
    "builtins": "",
    "cmath": "cos e exp log log10 phase pi polar rect sin sqrt",
    "collections": "OrderedDict deque namedtuple",
    "deflate": "AUTO DeflateIO GZIP RAW ZLIB",
    "errno": "EACCES EADDRINUSE EAGAIN EALREADY EBADF ECONNABORTED ECONNREFUSED ECONNRESET"
    " EEXIST EHOSTUNREACH EINPROGRESS EINVAL EIO EISDIR ENOBUFS ENODEV ENOENT ENOMEM"
    " ENOTCONN EOPNOTSUPP EPERM ETIMEDOUT errorcode",
    "gc": "collect disable enable isenabled mem_alloc mem_free threshold",
    "hashlib": "sha256",
    "heapq": "heapify heappop heappush",
    "io": "BytesIO IOBase SEEK_CUR SEEK_END SEEK_SET StringIO open",
    "json": "dump dumps load loads",
    "math": "acos acosh asin asinh atan atan2 atanh ceil copysign cos cosh degrees e erf erfc"
    " exp expm1 fabs factorial floor fmod frexp gamma inf isclose isfinite isinf isnan ldexp"
    " lgamma log log10 log2 modf nan pi pow radians sin sinh sqrt tan tanh tau trunc",
    "micropython": "RingIO const heap_lock heap_unlock kbd_intr mem_info opt_level"
    " pystack_use qstr_info schedule stack_use",
    "os": "VfsPosix chdir getcwd ilistdir listdir mkdir mount remove rename rmdir sep stat"
    " statvfs umount unlink",
    "random": "choice getrandbits randint random randrange seed uniform",
    "re": "compile match search sub",
    "select": "POLLERR POLLHUP POLLIN POLLOUT poll select",
    "struct": "calcsize pack pack_into unpack unpack_from",
    "sys": "argv byteorder exit implementation maxsize modules path platform print_exception"
    " ps1 ps2 stderr stdin stdout version version_info",
    "time": "gmtime localtime mktime sleep sleep_ms sleep_us ticks_add ticks_cpu ticks_diff"
    " ticks_ms ticks_us time time_ns",
}
CORE_MODULES = {name: frozenset(attrs.split()) for name, attrs in _CORE.items()}

# The project's own portable packages.
PROJECT_PACKAGES = frozenset({"protocol", "firmware"})

# CPython builtins that MicroPython 1.27 does not define.
MISSING_BUILTINS = frozenset(
    {
        "BlockingIOError",
        "BrokenPipeError",
        "BufferError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "EnvironmentError",
        "ExceptionGroup",
        "FileExistsError",
        "FileNotFoundError",
        "IOError",
        "IsADirectoryError",
        "ModuleNotFoundError",
        "NotADirectoryError",
        "PermissionError",
        "RecursionError",
        "TimeoutError",
        "UnboundLocalError",
        "UnicodeDecodeError",
        "UnicodeEncodeError",
        "Warning",
        "ascii",
        "format",
        "vars",
    }
)

# Methods of builtin types that CPython has and MicroPython 1.27 lacks on every type.
# Only names distinctive enough not to be some class's own method are listed.
MISSING_METHODS = frozenset(
    {
        "as_integer_ratio",
        "bit_count",
        "bit_length",
        "casefold",
        "digest_size",
        "expandtabs",
        "format_map",
        "hexdigest",
        "is_integer",
        "isalnum",
        "isascii",
        "isdecimal",
        "isidentifier",
        "isnumeric",
        "isprintable",
        "ljust",
        "maketrans",
        "removeprefix",
        "removesuffix",
        "rjust",
        "swapcase",
        "tobytes",
        "tolist",
        "toreadonly",
        "zfill",
    }
)


def _handled(handlers):
    """Exception names the handlers of a try statement catch ("*" for a bare except)."""
    names = set()
    for handler in handlers:
        kinds = handler.type
        if kinds is None:
            names.add("*")
            continue
        for kind in kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]:
            if isinstance(kind, ast.Name):
                names.add(kind.id)
    return names


def _hasattr_guard(test):
    """(name, attr) for a test written hasattr(name, "attr"), else None."""
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "hasattr"
        and len(test.args) == 2
        and isinstance(test.args[0], ast.Name)
        and isinstance(test.args[1], ast.Constant)
        and isinstance(test.args[1].value, str)
    ):
        return (test.args[0].id, test.args[1].value)
    return None


def _is_type_checking(test):
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


class Checker(ast.NodeVisitor):
    def __init__(self, path, bound_names):
        self.path = path
        self.bound = bound_names
        self.findings = []
        # Local name -> core module it refers to, for "import struct" and "import struct as s".
        self.modules = {}
        # Depth of enclosing try blocks that catch ImportError / AttributeError, and the
        # (name, attr) pairs an enclosing "if hasattr(name, 'attr'):" vouches for.
        self.import_guarded = 0
        self.attr_guarded = 0
        self.vouched = []

    def report(self, node, message):
        self.findings.append("%s:%d: %s" % (self.path, node.lineno, message))

    def visit_If(self, node):
        if _is_type_checking(node.test):
            # The body is seen by mypy only; the else branch is what runs.
            for child in node.orelse:
                self.visit(child)
            return
        guard = _hasattr_guard(node.test)
        if guard is None:
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.vouched.append(guard)
        for child in node.body:
            self.visit(child)
        self.vouched.pop()
        for child in node.orelse:
            self.visit(child)

    def visit_Try(self, node):
        # Code that expects the import or the attribute may be missing is portable.
        caught = _handled(node.handlers)
        imports = bool(caught & {"*", "Exception", "ImportError"})
        attrs = bool(caught & {"*", "Exception", "AttributeError"})
        self.import_guarded += imports
        self.attr_guarded += attrs
        for child in node.body:
            self.visit(child)
        self.import_guarded -= imports
        self.attr_guarded -= attrs
        for child in node.handlers + node.orelse + node.finalbody:
            self.visit(child)

    def _check_module(self, node, name):
        if self.import_guarded:
            return
        top = name.split(".")[0]
        if top not in CORE_MODULES and top not in PROJECT_PACKAGES:
            self.report(node, "MicroPython has no module %r (runtime import)" % name)

    def _check_attr(self, node, module, attr):
        if attr.startswith("__") or module not in CORE_MODULES or module == "builtins":
            return
        if self.attr_guarded or (self.import_guarded and isinstance(node, ast.ImportFrom)):
            return
        if attr not in CORE_MODULES[module]:
            self.report(node, "MicroPython's %s module has no %r" % (module, attr))

    def visit_Import(self, node):
        for alias in node.names:
            self._check_module(node, alias.name)
            if alias.name in CORE_MODULES:
                self.modules[alias.asname or alias.name] = alias.name

    def visit_ImportFrom(self, node):
        if node.level == 0 and node.module:
            self._check_module(node, node.module)
            for alias in node.names:
                self._check_attr(node, node.module, alias.name)

    def visit_Name(self, node):
        if node.id in MISSING_BUILTINS and node.id not in self.bound:
            self.report(node, "MicroPython has no builtin %r" % node.id)

    def visit_Attribute(self, node):
        value = node.value
        if isinstance(value, ast.Name) and (value.id, node.attr) in self.vouched:
            pass
        elif isinstance(value, ast.Name) and value.id in self.modules:
            self._check_attr(node, self.modules[value.id], node.attr)
        elif node.attr in MISSING_METHODS and not self.attr_guarded:
            self.report(node, "MicroPython's builtin types have no .%s()" % node.attr)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("to_bytes", "from_bytes"):
            for keyword in node.keywords:
                if keyword.arg == "signed":
                    self.report(node, "MicroPython's int.%s() takes no signed=" % func.attr)
        self.generic_visit(node)


def _bound_names(tree):
    """Names the module binds itself, so its own definitions are not taken for builtins."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def check_file(path):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    tree = ast.parse(source, path)
    checker = Checker(path, _bound_names(tree))
    checker.visit(tree)
    return checker.findings


def python_files(target):
    if os.path.isfile(target):
        return [target]
    found = []
    for dirpath, dirnames, filenames in os.walk(target):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        found.extend(os.path.join(dirpath, n) for n in sorted(filenames) if n.endswith(".py"))
    return found


def main(argv):
    if not argv:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    findings = []
    count = 0
    for target in argv:
        for path in python_files(target):
            count += 1
            findings.extend(check_file(path))
    for line in findings:
        print(line)
    print(
        "portable check: %d finding(s) in %d file(s)" % (len(findings), count),
        file=sys.stderr,
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
