"""The steps of flashing a board, each a function of plain values.

A step that cannot go on raises FlashError naming itself; what went well is returned, for the
caller to report. The board is reached through its raw REPL (``Board``), the code run there
is ``host.board.onboard``'s, and the board side of provisioning is ``firmware.provision``.
"""

import ast
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from host.board import onboard
from host.board.errors import BoardError, FlashError
from host.board.files import PACKAGES, module_name
from host.board.image import board_mpy_version, version_problem

DEFAULT_STORE = "sealcam"  # on the board, relative to its working directory (its flash)
BOARD_TIMEOUT_S = 30.0
# Pure-Python Ed25519 on a microcontroller takes seconds per key or signature.
CRYPTO_TIMEOUT_S = 300.0
MPREMOTE_TIMEOUT_S = 900.0


class Repl(Protocol):
    """What the steps need of a raw REPL (``host.board.rawrepl.RawRepl``)."""

    def exec(self, code: str, timeout_s: float | None = None) -> bytes: ...

    def soft_reset(self) -> None: ...

    def close(self) -> None: ...


def board_value(repl: Repl, code: str, timeout_s: float = BOARD_TIMEOUT_S) -> Any:
    """Run ``code`` on the board; its printed repr is the value."""
    text = repl.exec(code, timeout_s).decode("utf-8", "replace").strip()
    return ast.literal_eval(text.splitlines()[-1]) if text else None


def query_board(repl: Repl, store: str) -> dict:
    """What the board runs (release, .mpy version, platform, cwd) and whether it holds a key."""
    from firmware.provision import KEY_FILE

    out = repl.exec(onboard.QUERY % {"key": store.rstrip("/") + "/" + KEY_FILE}, BOARD_TIMEOUT_S)
    return dict(ast.literal_eval(out.decode("utf-8", "replace").strip()))


def last_line(exc: BaseException) -> str:
    """A board traceback's final line (``ProvisionError: ...``), or the whole message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else str(exc)


class Board:
    """A board on a serial port, its raw REPL opened for each stretch of work."""

    def __init__(self, port: str, baud: int = 115200) -> None:
        self.port = port
        self.baud = baud
        self.repl: Repl | None = None

    def open(self) -> Repl:
        from host.board.rawrepl import RawRepl

        if self.repl is None:
            try:
                self.repl = RawRepl(self.port, self.baud, BOARD_TIMEOUT_S)
            except BoardError as exc:
                raise FlashError("board", str(exc)) from None
        return self.repl

    def close(self) -> None:
        if self.repl is not None:
            self.repl.close()
            self.repl = None

    def value(self, step: str, code: str, timeout_s: float = BOARD_TIMEOUT_S) -> Any:
        """The value ``code`` prints on the board; a board error stops ``step``."""
        try:
            return board_value(self.open(), code, timeout_s)
        except BoardError as exc:
            raise FlashError(step, "the board said: %s" % last_line(exc)) from None


# --- before the board is touched -------------------------------------------------------


def parse_settings(pairs: list[str], officer: str | None) -> dict:
    """The config's settings from ``KEY=VALUE`` pairs (integers stay integers); ValueError
    names a pair that is not one, or a retention floor below six months."""
    import re

    from firmware.agent import FLOOR_SETTING
    from firmware.retention import DEFAULT_FLOOR_DAYS

    settings: dict = {FLOOR_SETTING: DEFAULT_FLOOR_DAYS}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError("--config takes KEY=VALUE, not %r" % pair)
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
        raise ValueError(
            "%s must be a whole number of days, at least %d (six months, R-DEV-4), not %r"
            % (FLOOR_SETTING, DEFAULT_FLOOR_DAYS, floor)
        )
    return settings


def check_ids(device_id: str, host_kids: list[str]) -> None:
    """FlashError("board", ...) unless the device id and the host key ids fit a board."""
    from firmware.provision import ProvisionError, check_id

    try:
        check_id(device_id, "device id")
        for kid in host_kids:
            check_id(kid, "host key id")
    except ProvisionError as exc:
        raise FlashError("board", str(exc)) from None


def check_not_enrolled(evidence: str, device_id: str) -> None:
    """FlashError("board", ...) if the evidence store already holds a key for the device."""
    from host.evidence import SqliteEvidenceStore

    store = SqliteEvidenceStore(evidence)
    try:
        enrolled = store.device_key(device_id)
    finally:
        store.close()
    if enrolled is not None:
        raise FlashError(
            "board",
            "device %s is already enrolled in %s (key %s…): a device id is provisioned "
            "once; give this board a new id" % (device_id, evidence, enrolled[:8].hex()),
        )


# --- 1. board ----------------------------------------------------------------------------


def identify(board: Board, store: str) -> dict:
    """What the board runs and whether it holds a device key (``query_board``)."""
    try:
        found = query_board(board.open(), store)
    except BoardError as exc:
        raise FlashError("board", str(exc)) from None
    return found


def check_board(found: dict, store: str, compiler_version: tuple[str, tuple[int, int]]) -> None:
    """FlashError("board", ...) if the compiler's output would not load on the board or
    the board is already provisioned."""
    problem = version_problem(found, compiler_version)
    if problem:
        raise FlashError("board", problem)
    if found["provisioned"]:
        raise FlashError(
            "board",
            "the board is already provisioned (%s/device.key exists): a provisioned device "
            "is never re-keyed, since the host has enrolled its key; nothing on the board "
            "was changed" % store,
        )


def mpy_text(found: dict) -> str:
    """The ``.mpy`` version a board loads, as ``6.3``, or ``?``."""
    return "%d.%d" % board_mpy_version(found["mpy"]) if found.get("mpy") is not None else "?"


# --- 2. compile is host.board.image.compile_modules; 3. copy ------------------------------


def file_hashes(build: Path, built: list[str]) -> dict[str, str]:
    """The SHA-256 (hex) of each built file, as the board must hold it."""
    return {rel: hashlib.sha256((build / rel).read_bytes()).hexdigest() for rel in built}


def prepare_board(board: Board, built: list[str]) -> list[str]:
    """Remove from the board's package folders what the build no longer has and make the
    folders the build needs; return the paths removed."""
    dirs = sorted({rel.rsplit("/", 1)[0] for rel in built}, key=lambda d: d.count("/"))
    return board.value(
        "copy", onboard.PREPARE % {"packages": list(PACKAGES), "keep": built, "dirs": dirs}
    )


def mpremote_copy(port: str, build: Path, built: list[str]) -> tuple[int, int]:
    """Copy ``built`` (paths in ``build``) to the same paths on the board; return
    ``(copied, already_there)``. mpremote skips a file the board holds with the same hash."""
    command = [sys.executable, "-m", "mpremote", "connect", port]
    for i, rel in enumerate(built):
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
    return len(built) - same, same


# --- 4. provision ------------------------------------------------------------------------


def make_key(board: Board, store: str, device_id: str) -> bytes:
    """The board makes its key pair; return its public key."""
    from protocol.errors import ProtocolError
    from protocol.keys import decode_key

    code = onboard.PROVISION % {"store": store, "device_id": device_id}
    try:
        public = decode_key(bytes.fromhex(board.value("provision", code, CRYPTO_TIMEOUT_S)))
    except (ValueError, TypeError, ProtocolError) as exc:
        raise FlashError("provision", "the board's public key is not usable: %s" % exc) from None
    if public.device_id != device_id or public.seed:
        raise FlashError("provision", "the board returned a key for %r" % public.device_id)
    return public.public


def enrol(evidence: str, device_id: str, public: bytes) -> None:
    """Enrol the board's public key in the evidence store."""
    from host.evidence import EvidenceError, SqliteEvidenceStore

    store = SqliteEvidenceStore(evidence)
    try:
        store.enrol(device_id, public)
    except EvidenceError as exc:
        raise FlashError("provision", str(exc)) from None
    finally:
        store.close()


def pin_host_keys(board: Board, store: str, hosts: dict[str, bytes]) -> list[str]:
    """Pin the host public keys ``hosts`` (kid -> key) on the board; return the kids pinned."""
    from firmware.provision import encode_host_keys
    from protocol.keys import DeviceKey

    keys = encode_host_keys([DeviceKey(kid, pub) for kid, pub in hosts.items()])
    return board.value(
        "provision", onboard.INSTALL_HOST_KEYS % {"store": store, "keys": keys.hex()}
    )


def sign_settings(
    signer: Any, host_kid: str, device_id: str, settings: dict, issued_ms: int | None = None
) -> tuple[bytes, int]:
    """The device's config, signed by the host key; ``(config, issued_ms)``."""
    from protocol.hostconfig import sign_config

    issued = int(time.time() * 1000) if issued_ms is None else issued_ms
    return sign_config(signer, host_kid, device_id, issued, settings), issued


def install_config(board: Board, store: str, config: bytes) -> Any:
    """Install the signed config on the board; return its settings as the board read them."""
    return board.value(
        "provision",
        onboard.INSTALL_CONFIG % {"store": store, "config": config.hex()},
        CRYPTO_TIMEOUT_S,
    )


# --- 5. check: each returns (passed, what it found) ----------------------------------------


def soft_reset(board: Board) -> None:
    """Reset the board, so that the checks import from its flash afresh, as after power-on."""
    try:
        board.open().soft_reset()
    except BoardError as exc:
        raise FlashError(
            "check", "the board did not come back from a soft reset: %s" % exc
        ) from None


def check_files(board: Board, hashes: dict[str, str]) -> tuple[bool, str]:
    """Every built file is on the board, with the same SHA-256."""
    built = list(hashes)
    found = board.value("check", onboard.HASHES % {"paths": built}, CRYPTO_TIMEOUT_S)
    bad = [rel for rel in built if found.get(rel) != hashes[rel]]
    return not bad, "%d/%d files on the board match the build" % (
        len(built) - len(bad),
        len(built),
    ) + ("; differ or missing: " + ", ".join(bad) if bad else "")


def check_imports(board: Board, built: list[str]) -> tuple[bool, str]:
    """Every built module imports on the board."""
    names = [module_name(rel) for rel in built]
    failed = board.value("check", onboard.IMPORTS % {"names": names}, CRYPTO_TIMEOUT_S)
    return not failed, "%d/%d modules import on the board" % (
        len(names) - len(failed),
        len(names),
    ) + ("; " + "; ".join("%s: %s" % kv for kv in sorted(failed.items())) if failed else "")


def check_trust(
    board: Board, store: str, hosts: dict[str, bytes], config: bytes
) -> tuple[bool, str]:
    """The board pins exactly ``hosts`` and holds ``config``."""
    pinned, config_hash = board.value("check", onboard.TRUST % {"store": store})
    want = {kid: pub.hex() for kid, pub in hosts.items()}
    keys_ok = pinned == want
    config_ok = config_hash == hashlib.sha256(config).hexdigest()
    return keys_ok and config_ok, "the board pins %s (%s) and holds %s" % (
        ", ".join(sorted(pinned)) or "no host key",
        "as sent" if keys_ok else "sent: %s" % ", ".join(sorted(want)),
        "the signed config" if config_ok else "NOT the config sent",
    )


def check_key(board: Board, store: str, public: bytes) -> tuple[bool, str]:
    """The board signs a fresh random challenge that verifies with ``public``."""
    from firmware.provision import proof_message
    from protocol.signer import verify_signature

    challenge = os.urandom(32)
    code = onboard.PROVE_KEY % {"store": store, "challenge": challenge.hex()}
    signature = bytes.fromhex(board.value("check", code, CRYPTO_TIMEOUT_S))
    ok = verify_signature(public, proof_message(challenge), signature)
    return ok, (
        "the board signed a fresh challenge; the signature verifies with the enrolled key"
        if ok
        else "the board's signature of a fresh challenge does NOT verify with the enrolled key"
    )
