"""What the host tests share: the test host's keys and an evidence store with the test device
enrolled; a device and the host syncing over a socket pair, in this process; ``sealcam`` as a
user runs it, and ``sealcam sync`` and ``sealcam dock`` as processes; a fake terminal; what
tells a Chinese line from one with English left in it; a signature broken in a store."""

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from firmware.link import DeviceLink
from firmware.ports.transports import SocketTransport
from firmware.store import media_key
from host.evidence import SqliteEvidenceStore
from host.sync import HostLink
from protocol.keys import DeviceKey, encode_key
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.protocol.helpers import DEVICE, SEED_A, device_key

HOST_SEED = bytes(range(50, 82))
HOST_KID = "agency-host-1"
# These tests are not about a quiet link: the host's idle limit would otherwise end a session
# whose device thread a loaded machine starved for a few seconds. Both bounds below matter
# only when the code under test is broken (a hung end), never on a slow machine.
QUIET_S = 600.0
JOIN_S = 300.0


def device_link(agent, transport, seed=SEED_A, pinned_seed=HOST_SEED) -> DeviceLink:
    """The device's end of a sync over ``transport``, signing with ``seed``'s key and trusting
    the test host's key (or ``pinned_seed``'s under its name)."""
    pinned = {HOST_KID: make_signer(pinned_seed).public_key()}
    return DeviceLink(agent, make_signer(seed), pinned, transport, False, os.urandom)


def joined(t: threading.Thread) -> None:
    """Wait for the device's thread to finish its session (its last store write included)."""
    t.join(JOIN_S)
    assert not t.is_alive(), "the device's end of the link did not finish"


def evidence(path, enrol=True):
    ev = SqliteEvidenceStore(path)
    if enrol:
        ev.enrol(DEVICE, device_key().public)
    return ev


def device_run(device):
    """Run the device's end; a host that hung up first may cut off its last write."""
    try:
        return device.run()
    except BrokenPipeError:
        return "link lost"


def run_pair(
    agent, ev, host_seed=HOST_SEED, pinned_seed=HOST_SEED, device_end=SocketTransport, log=None
):
    a, b = socket.socketpair()
    device = device_link(agent, device_end(a), pinned_seed=pinned_seed)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("device", device_run(device)))
    t.start()
    host = HostLink(
        ev, make_signer(host_seed), HOST_KID, SocketTransport(b), False, log=log, idle_s=QUIET_S
    )
    try:
        summary = host.run()
    finally:
        b.close()  # the device sees the link go and ends its session
        joined(t)
        a.close()
    return summary, device, out.get("device")


def daemon_sessions(tmp_path, daemon, devices):
    """Serve each (agent, seed) over a socket pair through ``daemon.serve_link``, at once."""
    threads = []
    for n, (agent, seed) in enumerate(devices):
        a, b = socket.socketpair()
        device = device_link(agent, SocketTransport(a), seed)

        def serve(b=b, a=a, device=device, n=n):
            t = threading.Thread(target=device_run, args=(device,))
            t.start()
            daemon.serve_link(SocketTransport(b), False, "tcp:127.0.0.1:%d" % (40000 + n))
            b.close()
            joined(t)
            a.close()

        threads.append(threading.Thread(target=serve))
    for t in threads:
        t.start()
    for t in threads:
        joined(t)


def media_file(agent, digest):
    """Where the device's store keeps this media on its card."""
    return agent.store._media_path(media_key(digest))


class Tty(io.StringIO):
    """A terminal, as far as the live view asks."""

    def isatty(self) -> bool:
        return True


# --- the command line, and the daemon and the dock as processes ----------------------------

SEALCAM_SCRIPT = Path(sys.executable).with_name("sealcam")
SEALCAM = [str(SEALCAM_SCRIPT)]  # the start of a ``sealcam`` command's argv


def run(*args: str) -> subprocess.CompletedProcess:
    cmd = [str(SEALCAM_SCRIPT)] if SEALCAM_SCRIPT.exists() else [sys.executable, "-m", "host.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)


def write_case(tmp_path: Path, entries: list, key=None) -> tuple:
    key = key or device_key()
    ledger = tmp_path / "device.ledger"
    ledger.write_bytes(b"".join(entries))
    keyfile = tmp_path / "device.pub"
    keyfile.write_bytes(encode_key(key.public_only()))
    return str(ledger), str(keyfile)


def host_keys(folder: Path) -> None:
    """The test host's key pair in ``folder``, as ``host.key`` and ``host.pub``."""
    host = DeviceKey(HOST_KID, make_signer(HOST_SEED).public_key(), HOST_SEED)
    (folder / "host.key").write_bytes(encode_key(host))
    (folder / "host.pub").write_bytes(encode_key(host.public_only()))


def enrol_file(evidence, public_key) -> None:
    """``sealcam enrol``: the device whose public key file is ``public_key`` joins the
    evidence store at ``evidence`` (made if missing)."""
    r = subprocess.run(
        [*SEALCAM, "enrol", "--evidence", str(evidence), str(public_key)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def setup(tmp_path, frames=12):
    """A recorded device store ``dev`` with its key, ``device.pub``, the host's keys, and the
    evidence store ``ev`` with the device enrolled, all in ``tmp_path``."""
    agent = recorded_device(tmp_path / "dev", frames)
    agent.store.close()
    key = device_key()
    (tmp_path / "dev" / "device.key").write_bytes(encode_key(key))
    (tmp_path / "device.pub").write_bytes(encode_key(key.public_only()))
    host_keys(tmp_path)
    enrol_file(tmp_path / "ev", tmp_path / "device.pub")


def dock_argv(store, trust, *link: str) -> list:
    """``sealcam dock --json`` of the device store ``store`` trusting the host key file
    ``trust``, over ``link`` (``--connect HOST:PORT`` or ``--serial PORT``, and options)."""
    return [*SEALCAM, "dock", "--store", str(store), "--trust", str(trust), *link, "--json"]


def sync_argv(evidence, host_key, *link: str) -> list:
    """``sealcam sync --once --json`` into the evidence store ``evidence`` with the host key
    file ``host_key``, over ``link`` (``--tcp ADDRESS`` or ``--serial PORT``, and options)."""
    return [
        *SEALCAM, "sync", "--evidence", str(evidence), "--host-key", str(host_key), *link,
        "--once", "--json",
    ]  # fmt: skip


def start_daemon(evidence, host_key, *extra: str) -> tuple:
    """``sealcam sync --once`` on a free loopback port: the process and its address. TCP
    loses nothing, so its idle limit only has to end a hung session, not a slow one."""
    daemon = subprocess.Popen(
        sync_argv(evidence, host_key, "--tcp", "127.0.0.1:0", "--idle", "60", *extra),
        stdout=subprocess.PIPE,
        text=True,
    )
    first = json.loads(daemon.stdout.readline())
    assert first["event"] == "listening"
    host, _, port = first["tcp"].rpartition(":")
    return daemon, (host, int(port))


class Injury:
    """The cable's faults, as ``simulator.links.Cable`` takes them: ``injure`` damages what
    crosses; the cable never stalls on its own."""

    stall_ms = 0

    def __init__(self, injure=None) -> None:
        self.injure = injure or (lambda data: data)


def holds_open(pid: int, path: str) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux: its descriptors under /proc)."""
    fds = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fds)
    except FileNotFoundError:
        return False
    for fd in names:
        try:
            if os.readlink(os.path.join(fds, fd)) == path:
                return True
        except OSError:
            continue
    return False


# --- evidence staff at the command line (issue 13) ----------------------------------------


def synced_evidence(path: Path) -> Path:
    """An evidence store at ``path`` holding one synced recording of officer P-0427 (the
    test recorder's), made in this process; the device's store is beside it."""
    ev = evidence(path)
    agent = recorded_device(path.with_name(path.name + "-device"), 6)
    run_pair(agent, ev)
    agent.store.close()
    ev.close()
    return path


class WallClock:
    """The desk's clock in a command-line test, moved by hand (no sleeping): what
    ``host.cli.auth.clock`` returns while the ``clock`` fixture below is in force."""

    def __init__(self, ms: int = 1_764_900_000_000) -> None:  # 2025-12-05 02:00 UTC
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


# --- fixtures the command-line tests of evidence staff share (tests/host/conftest.py
# makes them fixtures; a test module asks for them by name) ---


def language_back():
    """Put the language back after a test that chose one (``--lang zh``)."""
    from host import i18n

    yield
    i18n.use(None)


def desk_clock(monkeypatch) -> WallClock:
    """The clock every desk a command opens reads (``host.cli.auth.clock``), moved by the
    test."""
    import host.cli.auth

    c = WallClock()
    monkeypatch.setattr(host.cli.auth, "clock", c)
    return c


def run_sealcam(capsys, monkeypatch):
    """``sealcam ARGS`` run in this process: ``run(*argv, password=, new=)`` sets
    SEALCAM_PASSWORD and SEALCAM_NEW_PASSWORD (unset for None, and SEALCAM_USER always) and
    returns (exit code, stdout, stderr)."""
    from host.cli.main import main

    def run(*argv: str, password: "str | None" = None, new: "str | None" = None) -> tuple:
        for env, value in (("SEALCAM_PASSWORD", password), ("SEALCAM_NEW_PASSWORD", new)):
            if value is None:
                monkeypatch.delenv(env, raising=False)
            else:
                monkeypatch.setenv(env, value)
        monkeypatch.delenv("SEALCAM_USER", raising=False)
        try:
            code = main(list(argv))
        except SystemExit as stop:  # argparse's own refusals
            code = stop.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --- evidence management: accounts on a store, and the host key's signature ---

ACCOUNT_PASSWORD = "correct horse battery"


def with_accounts(ev, accounts, password: str = ACCOUNT_PASSWORD):
    """``ev`` (an open evidence store) made ready for people: the management tables, the
    items indexed from its ledger, and the ``(name, roles, officer id)`` accounts, each
    with ``password``; returns ``ev``."""
    from host import items, people
    from host.access import prepare

    prepare(ev)
    with ev.write() as cur:
        items.refresh(cur)
        for name, roles, officer in accounts:
            people.add_user(cur, name, roles, password, 0, officer)
    return ev


def sign_checkpoint(store) -> None:
    """Sign a checkpoint of ``store``'s log with the test host's key (a desk's ``sign``)."""
    store.checkpoint(make_signer(HOST_SEED), HOST_KID)


# A Chinese character or full-width mark: a line in Chinese has some.
CJK = re.compile("[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
WORD = re.compile("[A-Za-z]+")


def english_run(line: str) -> int:
    """The longest run of plain English words in ``line`` (a path or an option is one
    token, and not a word)."""
    run = longest = 0
    for token in line.split():
        run = run + 1 if WORD.fullmatch(token.strip(",.;:()'")) else 0
        longest = max(longest, run)
    return longest


def break_signature(ev_root: Path, seq: int) -> None:
    """Change a byte of entry ``seq``'s signature where the evidence store holds it."""
    import sqlite3

    db = sqlite3.connect(ev_root / "evidence.db")
    try:
        (raw,) = db.execute("SELECT raw FROM entries WHERE seq = ?", (seq,)).fetchone()
        raw = bytearray(raw)
        raw[-5] ^= 0x01  # the signature is the entry's last field
        db.execute("UPDATE entries SET raw = ? WHERE seq = ?", (bytes(raw), seq))
        db.commit()
    finally:
        db.close()


def record_starts(entries: list) -> list:
    """The seqs of a ledger's record-start entries (its recordings' numbers), oldest first."""
    from protocol.registry import EV_RECORD_START, F_EVENT, KIND_EVENT

    return [e.seq for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_RECORD_START]


def signed_stop(entries: list, number: int) -> int:
    """The seq of recording ``number``'s record-stop, a signed entry inside its span."""
    from protocol.registry import EV_RECORD_STOP, F_EVENT, F_RECORDING

    rec_id = number.to_bytes(8, "big")
    (stop,) = [
        e
        for e in entries
        if e.fields.get(F_RECORDING) == rec_id and e.fields.get(F_EVENT) == EV_RECORD_STOP
    ]
    assert stop.signed
    return stop.seq
