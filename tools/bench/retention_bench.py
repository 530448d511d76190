"""Six months of retention, simulated: how long it takes, and that the rules held.

    .venv/bin/python tools/bench/retention_bench.py [--days N] [--shift-s S] [--json]

A virtual recorder (the firmware agent on the simulator's hardware, 160x90 at 2 fps with
8 kHz audio, every record fsynced) works one S-second shift a day for N days (default 220,
30 s), docking with the host after each shift: a real ``host.sync.HostLink`` over a socket
pair, storing into a real SQLite evidence store, with the host's clock on the scenario's
virtual time. The card is sized so that it fills after about 190 days, past the six-month
floor, so from then on retention must free the oldest footage the host has receipted, and
nothing else. Figures:

- wall seconds for the whole run, and virtual days per wall second;
- the share of the run spent on the camera alone (rendering and JPEG-encoding the same
  frames, measured in the same run), as the baseline;
- media files evicted, and the host's compliance verdict on the whole ledger (it must raise
  no flag: no eviction before a receipt or before the floor).
"""
# micropython: skip (the simulator runs on CPython only)

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import machine

from firmware.link import DeviceLink
from firmware.ports.transports import SocketTransport
from host import compliance
from host.evidence import SqliteEvidenceStore
from host.sync import HostLink
from protocol.ledger import parse_entry
from protocol.messages import MAX_FRAME
from protocol.registry import EV_EVICTION, F_DETAIL, F_EVENT
from protocol.signer import Ed25519Signer, generate_seed, make_signer
from simulator.device import VirtualDevice

DAY_MS = 86_400_000
HOST_KID = "agency-host-1"


def dock(device: VirtualDevice, evidence: SqliteEvidenceStore, host_signer: Ed25519Signer) -> str:
    """One docking session, both ends real, over a socket pair; the host on virtual time."""
    agent = device.agent
    if agent is None:  # shift() leaves the recorder on, so this is a bug in the bench
        raise RuntimeError("the virtual recorder is off; it docks only while on")
    a, b = socket.socketpair()
    host = HostLink(
        evidence,
        host_signer,
        HOST_KID,
        SocketTransport(a),
        False,
        clock=lambda: device.clock.true_ms / 1000,
    )
    t = threading.Thread(target=host.run)
    t.start()
    link = DeviceLink(
        agent,
        make_signer(device.key.seed),
        device.pinned_hosts,
        device.dock_transport(SocketTransport(b)),
        False,
        os.urandom,
        set_clock=device.clock.set,
        idle_ms=5000,
        max_frame=MAX_FRAME,
    )
    result = link.run()
    t.join()
    a.close()
    b.close()
    return result


def shift(device: VirtualDevice, shift_s: int) -> None:
    """One day's work: power on, record with the announcement, film, stop."""
    steps: list[dict] = [
        {"do": "power_on"},
        {"do": "record"},
        {"do": "announce", "seconds": 2},
        {"do": "film", "seconds": shift_s},
        {"do": "stop"},
    ]
    for n, step in enumerate(steps, 1):
        device.step(dict(step, n=n))


def run(days: int, shift_s: int, workdir: str) -> dict:
    settings: dict = {"resolution": "160x90", "fps": 2, "start": "2026-01-05T08:00:00+08:00"}
    # The card holds about 190 days of this device's footage: a probe device works one day
    # first and its card's use is measured (identical audio chunks share a file, so the
    # encoder's bitrate alone would overstate it).
    probe = VirtualDevice(str(Path(workdir) / "probe"), settings)
    shift(probe, shift_s)
    card_mb = max(4, probe.card.used_bytes() * 190 // (1024 * 1024))
    probe.close()
    device = VirtualDevice(str(Path(workdir) / "device"), dict(settings, sd_card_mb=card_mb))
    seed = generate_seed()
    host_signer = make_signer(seed)
    device.pin_host(HOST_KID, host_signer.public_key())
    evidence = SqliteEvidenceStore(str(Path(workdir) / "evidence"))
    evidence.enrol(device.device_id, device.public_key)
    results = []
    day_s = []  # wall seconds per virtual day
    start = time.perf_counter()
    for day in range(days):
        t_day = time.perf_counter()
        shift(device, shift_s)
        results.append(dock(device, evidence, host_signer))
        device.step({"do": "power_off", "n": 6})
        next_day = device.clock.true_ms - device.clock.true_ms % DAY_MS + DAY_MS
        device.step({"do": "wait", "n": 7, "seconds": (next_day - device.clock.true_ms) / 1000})
        day_s.append(time.perf_counter() - t_day)
        if day % 20 == 0:
            print(
                "day %d: %d stored entries" % (day, len(evidence.entries(device.device_id))),
                file=sys.stderr,
            )
    wall = time.perf_counter() - start
    raws = evidence.entries(device.device_id)
    entries = [parse_entry(r) for r in raws]
    received = {e.seq: evidence.received_ms(device.device_id, e.seq) for e in entries}
    flags = compliance.check(entries, received)
    evicted = sum(
        len(e.fields.get(F_DETAIL, {}).get("media", []))
        for e in entries
        if e.fields.get(F_EVENT) == EV_EVICTION
    )
    evidence.close()
    frames = device.camera.frames
    t0 = time.perf_counter()
    for i in range(frames):  # the baseline: the camera's own work for the same frames
        device.camera.encode(device.camera.render(i * 500))
    camera_s = time.perf_counter() - t0
    return {
        "days": days,
        "shift_s": shift_s,
        "card_mb": card_mb,
        "wall_s": round(wall, 1),
        "virtual_days_per_s": round(days / wall, 2),
        # Each boot re-reads the whole ledger (firmware.agent.restore), so a day costs more as
        # the ledger grows: the first and last 20 days show by how much.
        "s_per_day_first_20": round(sum(day_s[:20]) / max(len(day_s[:20]), 1), 3),
        "s_per_day_last_20": round(sum(day_s[-20:]) / max(len(day_s[-20:]), 1), 3),
        "frames": frames,
        "camera_only_s": round(camera_s, 2),
        "camera_share": round(camera_s / wall, 3),
        "entries": len(raws),
        "docks_done": results.count("done"),
        "docks_not_done": [(day, r) for day, r in enumerate(results) if r != "done"],
        "media_evicted": evicted,
        "compliance_flags": [f.code for f in flags],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=220)
    ap.add_argument("--shift-s", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(args.days, args.shift_s, tmp)
    out["machine"] = machine()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print("%-20s %s" % (k, v))
    ok = out["docks_done"] == args.days and not out["compliance_flags"] and out["media_evicted"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
