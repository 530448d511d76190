"""A device and the host sync over a real link: a socket pair, and a pseudo-terminal opened
with pyserial. Entries and media arrive verified and stored once; the device gets a receipt."""
# micropython: skip (host code, threads and sockets)

import os
import socket
import threading

import serial

from firmware.agent import boot
from firmware.link import DeviceLink
from firmware.store import Store
from host.evidence import SqliteEvidenceStore
from host.sync import HostLink, SerialTransport, SocketTransport
from protocol.ledger import parse_entry
from protocol.registry import EV_CLOCK_SET, EV_HOST_RECEIPT, F_EVENT, KIND_EVENT
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.test_agent import Log, SceneCamera, StepClock
from tests.protocol.ledgers import DEVICE, SEED_A, SEED_B, device_key

HOST_SEED = bytes(range(50, 82))
HOST_KID = "agency-host-1"


def recorded_device(path, frames=12):
    agent = boot(
        str(path),
        make_signer(SEED_A),
        DEVICE,
        "P-0427",
        StepClock(),
        SceneCamera(frames, pad=200),
        Log(),
    )
    agent.input("press_record")
    while agent.capture():
        pass
    agent.input("press_stop")
    return agent


def evidence(path, enrol=True):
    ev = SqliteEvidenceStore(path)
    if enrol:
        ev.enrol(DEVICE, device_key().public)
    return ev


def run_pair(agent, ev, host_seed=HOST_SEED, pinned_seed=HOST_SEED):
    a, b = socket.socketpair()
    pinned = {HOST_KID: make_signer(pinned_seed).public_key()}
    device = DeviceLink(agent, make_signer(SEED_A), pinned, SocketTransport(a), False, os.urandom)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("device", device.run()))
    t.start()
    host = HostLink(ev, make_signer(host_seed), HOST_KID, SocketTransport(b), False)
    try:
        summary = host.run()
    finally:
        b.close()  # the device sees the link go and ends its session
        t.join(10)
        a.close()
    return summary, device, out.get("device")


def test_sync_over_a_socket_stores_everything_once_and_receipts_it(tmp_path):
    agent = recorded_device(tmp_path / "dev")
    ev = evidence(tmp_path / "ev")
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    stored = ev.entries(DEVICE)
    assert verify_ledger(b"".join(stored), DEVICE, device_key().public).state == OK
    assert summary["media_stored"] > 0 and summary["clock_drift_ms"] is not None
    assert device.receipts == [len(stored) - 1]
    assert all(m.received for m in agent.catalogue)
    # The device logged the host's time and the receipt in its own ledger, and a second
    # sync brings exactly those new entries, once.
    summary2, _, _ = run_pair(agent, ev)
    assert summary2["result"] == "done" and summary2["media_stored"] == 0
    again = ev.entries(DEVICE)
    codes = [parse_entry(r).fields.get(F_EVENT) for r in again[len(stored) :]]
    assert EV_CLOCK_SET in codes and EV_HOST_RECEIPT in codes
    assert [parse_entry(r).seq for r in again] == list(range(len(again)))
    agent.store.close()
    ev.close()


def test_unenrolled_device_is_refused_and_nothing_stored(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=3)
    ev = evidence(tmp_path / "ev", enrol=False)
    summary, device, _ = run_pair(agent, ev)
    assert "not enrolled" in summary["result"] or "unknown" in summary["result"].lower()
    assert ev.entries(DEVICE) == [] and device.receipts == []
    agent.store.close()


def test_a_host_the_device_does_not_trust_gets_nothing(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=3)
    ev = evidence(tmp_path / "ev")
    summary, device, _ = run_pair(agent, ev, host_seed=SEED_B)
    assert summary["result"] != "done"
    assert ev.entries(DEVICE) == [] and device.receipts == []
    agent.store.close()


def test_sync_over_a_pseudo_terminal_with_pyserial(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=6)
    ev = evidence(tmp_path / "ev")
    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), baudrate=921600, timeout=0.05)

    class PtyEnd:
        def read(self):
            try:
                return os.read(master, 65536)
            except BlockingIOError:
                return b""

        def write(self, data):
            os.write(master, data)

        def at_eof(self):
            return False

    os.set_blocking(master, True)
    pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
    device = DeviceLink(agent, make_signer(SEED_A), pinned, PtyEnd(), True, os.urandom)
    t = threading.Thread(target=device.run, daemon=True)
    t.start()
    summary = HostLink(ev, make_signer(HOST_SEED), HOST_KID, SerialTransport(port), True).run()
    t.join(10)
    port.close()
    os.close(master)
    assert summary["result"] == "done", summary
    stored = ev.entries(DEVICE)
    assert verify_ledger(b"".join(stored), DEVICE, device_key().public).state == OK
    assert device.receipts == [len(stored) - 1]
    events = [parse_entry(r) for r in Store(str(tmp_path / "dev")).entries()]
    assert any(e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_HOST_RECEIPT for e in events)


def test_progress_is_logged_per_device_with_rate_and_time_left(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=30)
    ev = evidence(tmp_path / "ev")
    a, b = socket.socketpair()
    pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
    device = DeviceLink(agent, make_signer(SEED_A), pinned, SocketTransport(a), False, os.urandom)
    t = threading.Thread(target=device.run)
    t.start()
    ticks = iter(range(10**6))
    lines = []
    host = HostLink(
        ev,
        make_signer(HOST_SEED),
        HOST_KID,
        SocketTransport(b),
        False,
        clock=lambda: float(next(ticks)),  # every reading is a second later
        log=lambda event, **kv: lines.append((event, kv)),
    )
    assert host.run()["result"] == "done"
    t.join(10)
    a.close()
    b.close()
    progress = [kv for event, kv in lines if event == "progress"]
    assert progress and progress[0]["device"] == DEVICE
    assert {"entries", "bytes", "rate_Bps", "eta_s"} <= set(progress[0])
    agent.store.close()


def test_a_tampered_entry_is_refused_and_only_what_precedes_it_is_stored(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=9)
    ev = evidence(tmp_path / "ev")
    real = agent.store

    class Tampering:
        """The device's store as an attacker with the SD card would leave it."""

        def __getattr__(self, name):
            return getattr(real, name)

        def entries(self, from_seq=0):
            for i, raw in enumerate(real.entries(from_seq), start=from_seq):
                yield raw if i != 5 else raw[:-1] + bytes([raw[-1] ^ 1])

    agent.store = Tampering()
    summary, device, _ = run_pair(agent, ev)
    assert "bad signature" in summary["result"] or "seq 5" in summary["result"], summary
    assert [parse_entry(r).seq for r in ev.entries(DEVICE)] == [0, 1, 2, 3, 4]
    assert device.receipts == []
    real.close()


def test_a_host_that_dies_before_the_receipt_leaves_the_device_nothing_to_evict(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=12)
    ev = evidence(tmp_path / "ev")

    class Crash(Exception):
        pass

    real_put = ev.put_media
    calls = {"n": 0}

    def dying_put(digest, data, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Crash("power cut on the host")  # mid-session, entries already committed
        return real_put(digest, data, **kw)

    ev.put_media = dying_put
    try:
        run_pair(agent, ev)
    except Crash:
        pass
    assert not any(m.received for m in agent.catalogue)  # no receipt: nothing may be evicted
    ev.put_media = real_put
    summary, device, _ = run_pair(agent, ev)  # the host is back: the next dock completes
    assert summary["result"] == "done"
    assert device.receipts and all(m.received for m in agent.catalogue)
    agent.store.close()
