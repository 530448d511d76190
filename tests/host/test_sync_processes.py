"""``sealcam sync`` and ``sealcam dock`` as separate processes, over loopback TCP and over
pseudo-terminals joined by a relay that can injure the link."""
# micropython: skip (host code, subprocesses)

import json
import random
import subprocess
import time

from firmware.store import Store
from host.evidence import SqliteEvidenceStore
from protocol.ledger import parse_entry
from protocol.registry import EV_CLOCK_SET, F_DETAIL, F_EVENT
from protocol.verify import OK, verify_ledger
from tests.host.helpers import (
    SEALCAM,
    Injury,
    dock_argv,
    holds_open,
    setup,
    start_daemon,
    sync_argv,
)
from tests.protocol.helpers import DEVICE, device_key

# Bounds on waits that end as soon as their condition holds: reached only when the code under
# test is broken, never because a loaded machine ran it slowly.
WAIT_S = 300


def stored_ok(tmp_path) -> int:
    ev = SqliteEvidenceStore(tmp_path / "ev")
    raws = ev.entries(DEVICE)
    ev.close()
    assert verify_ledger(b"".join(raws), DEVICE, device_key().public).state == OK
    return len(raws)


def test_tcp_between_two_processes(tmp_path):
    setup(tmp_path)
    daemon, address = start_daemon(tmp_path / "ev", tmp_path / "host.key")
    dock = subprocess.run(
        dock_argv(
            tmp_path / "dev", tmp_path / "host.pub", "--connect", "%s:%d" % address, "--idle", "60"
        ),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    out, _ = daemon.communicate(timeout=WAIT_S)
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


def test_a_simulated_host_clock_runs_from_the_moment_its_caller_gives(tmp_path):
    # Issue 10, item 6: a simulator reads its scenario's time, then starts the daemon; the
    # daemon's clock must run from that reading, not from whenever the process got going
    # (on a loaded machine that was seconds later, and the host flagged clock drift).
    setup(tmp_path)
    start = 1_800_000_000_000
    at = int(time.time() * 1000) - 3_600_000  # as if read an hour ago
    daemon, address = start_daemon(
        tmp_path / "ev", tmp_path / "host.key", "--clock-start", str(start), "--clock-at", str(at)
    )
    dock = subprocess.run(
        dock_argv(tmp_path / "dev", tmp_path / "host.pub", "--connect", "%s:%d" % address),
        capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    daemon.communicate(timeout=WAIT_S)
    assert dock.returncode == 0, dock.stderr
    events = [parse_entry(raw).fields for raw in Store(str(tmp_path / "dev")).entries()]
    [set_to] = [f[F_DETAIL]["new_ms"] for f in events if f.get(F_EVENT) == EV_CLOCK_SET]
    assert start + 3_600_000 <= set_to < start + 3_600_000 + WAIT_S * 1000
    r = subprocess.run(
        [*SEALCAM, "sync", "--evidence", str(tmp_path / "ev"), "--host-key",
         str(tmp_path / "host.key"), "--tcp", "127.0.0.1:0", "--clock-at", str(at)],
        capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    assert r.returncode == 2 and "--clock-start" in r.stderr and "Traceback" not in r.stderr


def dock_once(tmp_path, injure, host_idle: float, device_idle: float) -> dict:
    """One dock over a fresh cable: ``sealcam dock`` opens its end first, then ``sealcam sync
    --once`` opens the other and speaks first, as a host does when a device is plugged in.

    Opening a port with pyserial discards what arrived before, so the host's HELLO must not
    come before the device's end is open; and a fresh cable carries nothing from the last
    attempt. ``host_idle`` is how soon the host gives up on a stalled session (a frame lost to
    noise); the device waits ``device_idle``, which must cover the daemon's start."""
    from simulator.links import Cable

    with Cable(Injury(injure)) as cable:
        dock = subprocess.Popen(
            dock_argv(
                tmp_path / "dev",
                tmp_path / "host.pub",
                "--serial",
                cable.device_port,
                "--idle",
                str(device_idle),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + WAIT_S
            while not holds_open(dock.pid, cable.device_port) and dock.poll() is None:
                assert time.monotonic() < deadline, "sealcam dock never opened its port"
                time.sleep(0.01)
            daemon = subprocess.run(
                sync_argv(
                    tmp_path / "ev",
                    tmp_path / "host.key",
                    "--serial",
                    cable.host_port,
                    "--idle",
                    str(host_idle),
                ),
                capture_output=True,
                text=True,
                timeout=WAIT_S,
            )
            sessions = [json.loads(x) for x in daemon.stdout.splitlines() if '"session"' in x]
            if not (sessions and sessions[-1]["result"] == "done"):
                # The host gave the session up (noise ate a frame, or its abort): the cable
                # is pulled, and the device hears of it at once rather than at its idle limit.
                cable.close()
            out, err = dock.communicate(timeout=WAIT_S)
        finally:
            if dock.poll() is None:
                dock.kill()
                dock.wait()
    return json.loads(out) if out else {"result": err.strip()[-300:] or "no output"}


def dock_until_done(tmp_path, attempts: int, injure=None, host_idle=60.0) -> list:
    results = []
    for _ in range(attempts):
        results.append(dock_once(tmp_path, injure, host_idle, device_idle=60.0))
        if results[-1]["result"] == "done":
            break
    return results


def test_serial_between_two_processes_over_pseudo_terminals(tmp_path):
    setup(tmp_path)
    # A clean cable loses nothing: the first dock completes.
    results = dock_until_done(tmp_path, attempts=1)
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

    # A frame lost to noise stalls the session: the host gives it up after 2 quiet seconds
    # and the next dock resumes. Each fault ends at most one dock; the rest is headroom.
    results = dock_until_done(tmp_path, attempts=12, injure=injure, host_idle=2.0)
    assert results[-1]["result"] == "done", results
    assert budget["faults"] < 6  # the link really was injured
    stored_ok(tmp_path)  # every stored entry verifies: nothing corrupt was accepted
    ev = SqliteEvidenceStore(tmp_path / "ev")
    raws = ev.entries(DEVICE)
    ev.close()
    assert len(raws) == len(set(raws))  # each entry stored exactly once
    device = list(Store(str(tmp_path / "dev")).entries())
    assert raws == device[: len(raws)]  # the host holds the device's ledger, in order
