"""Factory provisioning: the device makes its own key and learns which hosts it trusts.

Runs on the board (MicroPython) and on CPython alike; ``sealcam flash`` calls it through the
board's raw REPL. What provisioning leaves in the device's store directory, beside the
ledger and media that ``firmware.store`` keeps there:

    device.key      the device's key pair: a COSE_Key with the seed (``protocol.keys``); the
                    private half never leaves the device. Made once: a provisioned device is
                    never re-keyed, since the host has enrolled its public key.
    trust/KID.pub   each pinned agency host key, a public COSE_Key named by its key id (the
                    files ``sealcam dock --trust`` reads); ``pinned_host_keys`` gives the map
                    that ``firmware.agent.boot`` takes as ``host_keys``.
    config.cose     the host-signed config (R-DEV-17) installed at provisioning, checked
                    against the pinned keys before it is kept; ``Agent.apply_config`` takes it.

Every file is written to a temporary name, synced and renamed, so a power cut leaves the old
state or the new one.
"""

import os

from firmware.agent import FLOOR_SETTING
from firmware.errors import ConfigError, FirmwareError
from firmware.retention import DEFAULT_FLOOR_DAYS
from firmware.store import _exists, _listdir, _mkdir, _sync, _sync_dir
from protocol import cbor
from protocol.errors import DecodeError, EntryError
from protocol.hostconfig import ConfigRejected, open_config
from protocol.keys import DeviceKey, decode_key, encode_key
from protocol.registry import id_problem
from protocol.signer import SEED_SIZE, SignerError, generate_seed, make_signer

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

KEY_FILE = "device.key"
TRUST_DIR = "trust"
CONFIG_FILE = "config.cose"
PUB_SUFFIX = ".pub"
# Signed by the device key to prove it to the host that enrolled it; the prefix keeps such a
# signature from ever being mistaken for one over a ledger entry.
PROOF_CONTEXT = b"sealcam-key-proof/1:"


class ProvisionError(FirmwareError):
    """Provisioning cannot do what was asked; the message says why and what to do."""


def provision(
    store_dir: str, device_id: str, random_bytes: "Callable[[int], bytes] | None" = None
) -> bytes:
    """Make this device's key pair in ``store_dir``; return the public COSE_Key to enrol.

    ``random_bytes(n)`` is the board's hardware random source (default: ``os.urandom``).
    Refuses, changing nothing, when the store already holds a device key.
    """
    check_id(device_id, "device id")
    path = _join(store_dir, KEY_FILE)
    if _exists(path):
        raise ProvisionError(
            "this device is already provisioned (%s holds the key of %s): a provisioned device "
            "is never re-keyed, since the host has enrolled its public key; keep the device as "
            "it is" % (path, _key_owner(path))
        )
    seed = _seed(random_bytes)
    key = DeviceKey(device_id, make_signer(seed).public_key(), seed)
    _makedirs(store_dir)
    _write_atomic(path, encode_key(key))
    return encode_key(key.public_only())


def load_device_key(store_dir: str) -> DeviceKey:
    """The device's key pair, as ``provision`` stored it."""
    path = _join(store_dir, KEY_FILE)
    if not _exists(path):
        raise ProvisionError(
            "this device is not provisioned: %s has no %s; provision it first (sealcam flash)"
            % (store_dir, KEY_FILE)
        )
    try:
        key = decode_key(read_file(path))
    except EntryError as exc:
        raise ProvisionError("%s is damaged: %s" % (path, exc)) from None
    if not key.seed:
        raise ProvisionError("%s holds no private key; the device cannot sign" % path)
    return key


def prove_key(store_dir: str, challenge: bytes) -> bytes:
    """The device key's signature over ``proof_message(challenge)``."""
    key = load_device_key(store_dir)
    return make_signer(key.seed).sign(proof_message(challenge))


def proof_message(challenge: bytes) -> bytes:
    """What ``prove_key`` signs: the challenge under a context of its own."""
    return PROOF_CONTEXT + bytes(challenge)


# --- pinned host keys ----------------------------------------------------------------------


def encode_host_keys(keys: list) -> bytes:
    """The argument of ``install_host_keys``: a CBOR array of public COSE_Keys (as bytes)."""
    return cbor.dumps([encode_key(k.public_only()) for k in keys])


def install_host_keys(store_dir: str, keys: bytes) -> list:
    """Pin the agency host keys in ``keys`` (see ``encode_host_keys``); return their ids.

    A key already pinned under the same id must be the same key: a pinned key is never
    replaced silently.
    """
    parsed = _host_keys(keys)
    pinned = pinned_host_keys(store_dir)
    for key in parsed:
        have = pinned.get(key.device_id)
        if have is not None and have != key.public:
            raise ProvisionError(
                "this device already pins a different key as host key %r; a pinned key is "
                "never replaced at provisioning" % key.device_id
            )
    trust = _join(store_dir, TRUST_DIR)
    _makedirs(trust)
    for key in parsed:
        if key.device_id not in pinned:
            _write_atomic(_join(trust, key.device_id + PUB_SUFFIX), encode_key(key))
    return [key.device_id for key in parsed]


def pinned_host_keys(store_dir: str) -> dict:
    """The pinned agency host keys: key id -> 32-byte Ed25519 public key."""
    trust = _join(store_dir, TRUST_DIR)
    pinned = {}
    for name in _listdir(trust):
        if not name.endswith(PUB_SUFFIX):
            continue
        path = _join(trust, name)
        try:
            key = decode_key(read_file(path))
        except EntryError as exc:
            raise ProvisionError("pinned host key %s is damaged: %s" % (path, exc)) from None
        if key.device_id + PUB_SUFFIX != name:
            raise ProvisionError(
                "%s holds host key %r, not the key its name says" % (path, key.device_id)
            )
        pinned[key.device_id] = key.public
    return pinned


def _host_keys(keys: bytes) -> list:
    try:
        items = cbor.loads(keys)
    except DecodeError as exc:
        raise ProvisionError("host keys are not CBOR: %s" % exc) from None
    if type(items) is not list or not items:
        raise ProvisionError("host keys must be a non-empty CBOR array of public COSE_Keys")
    parsed = []
    for item in items:
        if type(item) is not bytes:
            raise ProvisionError("each host key must be a COSE_Key in a byte string")
        try:
            key = decode_key(item)
        except EntryError as exc:
            raise ProvisionError("a host key is not usable: %s" % exc) from None
        if key.seed:
            raise ProvisionError(
                "host key %r carries its private half: only public host keys may be written "
                "to a device" % key.device_id
            )
        check_id(key.device_id, "host key id")
        parsed.append(key)
    return parsed


# --- the provisioning config ---------------------------------------------------------------


def install_config(store_dir: str, raw: bytes) -> dict:
    """Keep the host-signed config ``raw`` once it checks out; return its settings.

    It must verify with a pinned host key, be addressed to this device, be newer than the
    config already installed, and keep the retention floor at least at the default (R-DEV-4).
    """
    key = load_device_key(store_dir)
    pinned = pinned_host_keys(store_dir)
    if not pinned:
        raise ProvisionError("no agency host key is pinned: install the host keys first")
    last = _installed_issued_ms(store_dir, pinned, key.device_id)
    try:
        settings, _host, _issued = open_config(raw, pinned, key.device_id, last)
    except ConfigRejected as exc:
        raise ConfigError("config not installed: %s" % exc) from None
    floor = settings.get(FLOOR_SETTING, DEFAULT_FLOOR_DAYS)
    if type(floor) is not int or floor < DEFAULT_FLOOR_DAYS:
        raise ConfigError(
            "config not installed: %s must be at least %d days, not %r"
            % (FLOOR_SETTING, DEFAULT_FLOOR_DAYS, floor)
        )
    _write_atomic(_join(store_dir, CONFIG_FILE), bytes(raw))
    return settings


def installed_config(store_dir: str) -> "bytes | None":
    """The config ``install_config`` kept, or None."""
    path = _join(store_dir, CONFIG_FILE)
    if not _exists(path):
        return None
    return read_file(path)


def _installed_issued_ms(store_dir: str, pinned: dict, device_id: str) -> int:
    raw = installed_config(store_dir)
    if raw is None:
        return -1
    try:
        return open_config(raw, pinned, device_id)[2]
    except ConfigRejected:
        return -1  # a config that no longer verifies holds back nothing


# --- checks and files ----------------------------------------------------------------------


def check_id(text: str, what: str) -> None:
    """Refuse an id that cannot name a key file: 1-64 letters, digits, '-', '_' or '.'."""
    problem = id_problem(text, what, file_name=True)
    if problem:
        raise ProvisionError(problem)


def _seed(random_bytes: "Callable[[int], bytes] | None") -> bytes:
    if random_bytes is None:
        try:
            return generate_seed()
        except SignerError as exc:
            raise ProvisionError(str(exc)) from None
    seed = random_bytes(SEED_SIZE)
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != SEED_SIZE:
        raise ProvisionError("the random source must give %d bytes for the key" % SEED_SIZE)
    seed = bytes(seed)
    if seed == bytes([seed[0]]) * SEED_SIZE:
        # A stuck generator would make a key anyone can guess.
        raise ProvisionError(
            "the random source gave %d identical bytes: it is broken; fix the board's random "
            "number generator before provisioning" % SEED_SIZE
        )
    return seed


def _key_owner(path: str) -> str:
    try:
        return repr(decode_key(read_file(path)).device_id)
    except EntryError:
        return "an unreadable key"


def _join(folder: str, name: str) -> str:
    if not folder:
        return name
    if folder == "/":
        return "/" + name
    return folder.rstrip("/") + "/" + name


def _makedirs(path: str) -> None:
    current = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if not part:
            continue
        current = _join(current, part)
        _mkdir(current)


def read_file(path: str) -> bytes:
    """A whole file's bytes (the board's filesystem has no pathlib)."""
    f = open(path, "rb")
    try:
        return f.read()
    finally:
        f.close()


def _write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    f = open(tmp, "wb")
    try:
        f.write(data)
        _sync(f)
    finally:
        f.close()
    try:
        os.rename(tmp, path)
    except OSError:
        # FAT will not rename over an existing file: the old one must go first.
        if not _exists(path):
            raise
        os.remove(path)
        os.rename(tmp, path)
    i = path.rfind("/")
    _sync_dir(path[:i] if i > 0 else "/" if i == 0 else ".")
