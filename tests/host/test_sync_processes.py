"""``sealcam sync`` and ``sealcam dock`` as separate processes, over loopback TCP and over
pseudo-terminals joined by a relay that can injure the link."""
# micropython: skip (host code, subprocesses)

import json
import os
import random
import select
import subprocess
import sys
import threading
from pathlib import Path

from firmware.store import Store
from host.evidence import SqliteEvidenceStore
from protocol.keys import DeviceKey, encode_key
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.host.test_sync import HOST_SEED, recorded_device
from tests.protocol.ledgers import DEVICE, device_key

SEALCAM = [str(Path(sys.executable).with_name("sealcam"))]


def setup(tmp_path, frames=12):
    agent = recorded_device(tmp_path / "dev", frames)
    agent.store.close()
    key = device_key()
    (tmp_path / "dev" / "device.key").write_bytes(encode_key(key))
    (tmp_path / "device.pub").write_bytes(encode_key(key.public_only()))
    host = DeviceKey("agency-host-1", make_signer(HOST_SEED).public_key(), HOST_SEED)
    (tmp_path / "host.key").write_bytes(encode_key(host))
    (tmp_path / "host.pub").write_bytes(encode_key(host.public_only()))
    r = subprocess.run(
        [*SEALCAM, "enrol", "--evidence", str(tmp_path / "ev"), str(tmp_path / "device.pub")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def stored_ok(tmp_path) -> int:
    ev = SqliteEvidenceStore(tmp_path / "ev")
    raws = ev.entries(DEVICE)
    ev.close()
    assert verify_ledger(b"".join(raws), DEVICE, device_key().public).state == OK
    return len(raws)


def start_daemon(evidence, host_key) -> tuple:
    """``sealcam sync --once`` on a free loopback port: the process and its address."""
    daemon = subprocess.Popen(
        [
            *SEALCAM,
            "sync",
            "--evidence",
            str(evidence),
            "--host-key",
            str(host_key),
            "--tcp",
            "127.0.0.1:0",
            "--once",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = json.loads(daemon.stdout.readline())
    assert first["event"] == "listening"
    host, _, port = first["tcp"].rpartition(":")
    return daemon, (host, int(port))


def test_tcp_between_two_processes(tmp_path):
    setup(tmp_path)
    daemon, address = start_daemon(tmp_path / "ev", tmp_path / "host.key")
    dock = subprocess.run(
        [
            *SEALCAM,
            "dock",
            "--store",
            str(tmp_path / "dev"),
            "--trust",
            str(tmp_path / "host.pub"),
            "--connect",
            "%s:%d" % address,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out, _ = daemon.communicate(timeout=60)
    assert dock.returncode == 0, dock.stderr
    assert daemon.returncode == 0, out
    assert json.loads(dock.stdout)["receipts"]
    sessions = [json.loads(line) for line in out.splitlines() if '"session"' in line]
    assert sessions[0]["result"] == "done" and sessions[0]["media_stored"] > 0
    assert stored_ok(tmp_path) > 0
    ev = SqliteEvidenceStore(tmp_path / "ev")
    kept = ev.sessions(DEVICE)
    ev.close()
    assert kept[0]["result"] == "done" and kept[0]["drift_ms"] is not None  # R-HOST-11


class Relay:
    """Two pseudo-terminals joined like a USB cable; ``injure`` may damage what passes."""

    def __init__(self, injure=None) -> None:
        self.a_master, a_slave = os.openpty()
        self.b_master, b_slave = os.openpty()
        self.a_name, self.b_name = os.ttyname(a_slave), os.ttyname(b_slave)
        self.slaves = (a_slave, b_slave)
        self.injure = injure or (lambda data: data)
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        pairs = {self.a_master: self.b_master, self.b_master: self.a_master}
        while not self.stop:
            ready, _, _ = select.select(list(pairs), [], [], 0.1)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                data = self.injure(data)
                if data:
                    os.write(pairs[fd], data)

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        for fd in (self.a_master, self.b_master, *self.slaves):
            os.close(fd)


def dock_until_done(tmp_path, relay: Relay, attempts: int) -> list:
    results = []
    daemon = subprocess.Popen(
        [
            *SEALCAM,
            "sync",
            "--evidence",
            str(tmp_path / "ev"),
            "--host-key",
            str(tmp_path / "host.key"),
            "--serial",
            relay.a_name,
            "--json",
            "--idle",
            "2",  # a frame lost to noise stalls the session: give up on it soon
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(attempts):
            dock = subprocess.run(
                [
                    *SEALCAM,
                    "dock",
                    "--store",
                    str(tmp_path / "dev"),
                    "--trust",
                    str(tmp_path / "host.pub"),
                    "--serial",
                    relay.b_name,
                    "--json",
                    "--idle",
                    "2",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            results.append(json.loads(dock.stdout) if dock.stdout else {"result": dock.stderr})
            if results[-1]["result"] == "done":
                break
    finally:
        daemon.terminate()
        daemon.wait(10)
    return results


def test_serial_between_two_processes_over_pseudo_terminals(tmp_path):
    setup(tmp_path)
    relay = Relay()
    try:
        results = dock_until_done(tmp_path, relay, attempts=3)
    finally:
        relay.close()
    assert results[-1]["result"] == "done", results
    assert stored_ok(tmp_path) > 0


def test_a_noisy_link_stores_nothing_corrupt_and_the_transfer_completes(tmp_path):
    setup(tmp_path, frames=30)
    rng = random.Random(7)
    budget = {"faults": 6}

    def injure(data: bytes) -> bytes:
        if budget["faults"] and rng.random() < 0.3:
            budget["faults"] -= 1
            b = bytearray(data)
            i = rng.randrange(len(b))
            if rng.random() < 0.5:
                b[i] ^= 1 << rng.randrange(8)  # a flipped bit
            else:
                del b[i]  # a dropped byte
            return bytes(b)
        return data

    relay = Relay(injure)
    try:
        results = dock_until_done(tmp_path, relay, attempts=12)
    finally:
        relay.close()
    assert results[-1]["result"] == "done", results
    assert budget["faults"] < 6  # the link really was injured
    stored_ok(tmp_path)  # every stored entry verifies: nothing corrupt was accepted
    ev = SqliteEvidenceStore(tmp_path / "ev")
    raws = ev.entries(DEVICE)
    ev.close()
    assert len(raws) == len(set(raws))  # each entry stored exactly once
    device = list(Store(str(tmp_path / "dev")).entries())
    assert raws == device[: len(raws)]  # the host holds the device's ledger, in order
