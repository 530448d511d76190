"""Many devices docking into one scale-out store (PostgreSQL + Ceph's S3 gateway with Object
Lock) through several sync daemons at once, against the same devices through one daemon.

    .venv/bin/python tools/bench/scaleout_fleet_bench.py [--json] [--devices N]
                                                          [--daemons K] [--seconds S]
                                                          [--repeats R]

The services run on 127.0.0.1 from ``tools/services/services`` in a state folder made for
the run and stopped after it, whatever happens. N device stores (default 16) are recorded by
the real agent, S seconds each (default 8) of 30 fps video at 8 Mbit/s. Each repeat (default
2) runs two rounds in turn, each into a fresh database and bucket with every device
enrolled: all N devices dock at once into ONE ``sealcam sync`` daemon; then all N at once
through K daemons (default 4, each its own process on its own port, N/K devices each). The
device ends run in K processes of N/K devices each (a thread per device), in both rounds.
Every dock starts from a fresh copy of its device store.

Figures: each round's wall time from the start signal until every device's session has
ended, the bytes the devices held (entries and media), the aggregate throughput, and the
K-daemon round's throughput against the one daemon's (median of the repeats); and the
check that every entry is stored exactly once: for every device, the stored seqs are
0..n-1 with n its ledger's length, each media object recorded once, and every session
done with a receipt.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

from common import DaemonProcess, fresh_store, machine, scaleout_services
from sync_bench import (
    FPS,
    LARGE_VIDEO_BPS,
    device_id,
    device_seed,
    host_key_file,
    open_device,
    record_stores,
    store_payload,
)

from firmware.ports.transports import SocketTransport
from protocol.signer import make_signer

DOCK_LIMIT_S = 1800  # a bound on one round, reached only when something hangs


def devices_process(jobs: list, port: int, ready: Any, go: Any, out: Any) -> None:
    """Dock each ``(n, path)`` at once to the daemon on ``port``, a thread each; report
    each device's receipts."""
    pairs = []
    for n, path in jobs:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        pairs.append((n, sock, *open_device(path, n, SocketTransport(sock), False)))
    ready.set()
    go.wait()
    receipts = {}

    def serve(n: int, sock: socket.socket, link: Any) -> None:
        sock.connect(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.run()
        sock.close()
        receipts[n] = len(link.receipts)

    threads = [threading.Thread(target=serve, args=(n, s, link)) for n, s, _a, link in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DOCK_LIMIT_S)
    for _n, _s, agent, _link in pairs:
        agent.store.close()
    out.send(receipts)


def one_round(masters: list, daemons_n: int, tmp: str, env: dict, host_key: str,
              tag: str) -> dict:  # fmt: skip
    from host.pgstore import PgEvidenceStore

    url, media = fresh_store(env)
    store = PgEvidenceStore(url, media)
    for n, _master in masters:
        store.enrol(device_id(n), make_signer(device_seed(n)).public_key())
    store.close()
    daemons = [DaemonProcess(url, host_key, media) for _ in range(daemons_n)]
    groups = max(daemons_n, 4)  # as many device processes in both rounds
    ctx = multiprocessing.get_context("fork")
    procs = []
    try:
        for g in range(groups):
            jobs = []
            for n, master in masters[g::groups]:
                path = "%s/%s-%d" % (tmp, tag, n)
                shutil.copytree(master, path)
                jobs.append((n, path))
            ready, go = ctx.Event(), ctx.Event()
            recv, send = ctx.Pipe(False)
            port = daemons[g % daemons_n].port
            p = ctx.Process(target=devices_process, args=(jobs, port, ready, go, send))
            p.start()
            procs.append((p, ready, go, recv))
        for _p, ready, _go, _r in procs:
            ready.wait(600)
        t0 = time.perf_counter()
        for _p, _ready, go, _r in procs:
            go.set()
        receipts: dict = {}
        for p, _ready, _go, recv in procs:
            if recv.poll(DOCK_LIMIT_S):
                receipts.update(recv.recv())
            p.join(60)
        wall = time.perf_counter() - t0
        # The daemons log each session once its side is done (a generous bound).
        end = time.monotonic() + 120
        while time.monotonic() < end and sum(len(d.sessions()) for d in daemons) < len(masters):
            time.sleep(0.05)
    finally:
        for d in daemons:
            d.stop()
        for n, _m in masters:
            shutil.rmtree("%s/%s-%d" % (tmp, tag, n), ignore_errors=True)
    sessions = [s for d in daemons for s in d.sessions()]
    return {
        "wall_s": wall,
        "receipts": receipts,
        "done": sum(1 for s in sessions if s.get("result") == "done"),
        "stored_once": stored_once(url, masters),
    }


def stored_once(url: str, masters: list) -> bool:
    """Every device's seqs stored are 0..n-1 (n its ledger's length), no media twice."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for n, master in masters:
            want = store_payload(master)["entries"]
            row = conn.execute(
                "SELECT count(*), count(DISTINCT seq), max(seq) FROM entries WHERE device_id = %s",
                (device_id(n),),
            ).fetchone()
            assert row is not None  # an aggregate always gives its row
            count, distinct, top = row
            # Once each, no gap: 0..count-1; and at least the ledger the device held when
            # it docked (it may sign entries of its own during the dock, which come too).
            if not (count == distinct and top == count - 1 and count >= want):
                print("device %s: %s stored (%s distinct, top %s), ledger %d"
                      % (device_id(n), count, distinct, top, want), file=sys.stderr)  # fmt: skip
                return False
        sql = "SELECT count(*), count(DISTINCT digest) FROM media"
        row = conn.execute(sql).fetchone()
        return row is not None and row[0] == row[1]


def run(devices: int, daemons_n: int, seconds: int, repeats: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="sealcam-fleet-bench-")
    try:
        with scaleout_services() as env:
            host_key = host_key_file(tmp)
            masters = record_stores(tmp, devices, seconds, LARGE_VIDEO_BPS // 8 // FPS)
            payload = sum(store_payload(p)["file_bytes"] for _n, p in masters)
            one, many = [], []
            for r in range(repeats):
                one.append(one_round(masters, 1, tmp, env, host_key, "one%d" % r))
                many.append(one_round(masters, daemons_n, tmp, env, host_key, "many%d" % r))
            load = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    one_s = statistics.median(x["wall_s"] for x in one)
    many_s = statistics.median(x["wall_s"] for x in many)
    every = one + many
    return {
        "machine": machine(),
        "load_average": [round(x, 2) for x in load],
        "devices": devices,
        "daemons": daemons_n,
        "seconds_recorded": seconds,
        "payload_bytes": payload,
        "one_daemon_s": [round(x["wall_s"], 2) for x in one],
        "daemons_s": [round(x["wall_s"], 2) for x in many],
        "one_daemon_mb_s": round(payload / one_s / 1e6, 2),
        "daemons_mb_s": round(payload / many_s / 1e6, 2),
        "speedup": round(one_s / many_s, 3),
        "every_session_done": all(x["done"] == devices for x in every),
        "every_device_receipted": all(
            len(x["receipts"]) == devices and all(x["receipts"].values()) for x in every
        ),
        "every_entry_stored_once": all(x["stored_once"] for x in every),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=16)
    parser.add_argument("--daemons", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.devices, args.daemons, args.seconds, args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    mb = r["payload_bytes"] / 1e6
    print(r["machine"], "load average", r["load_average"])
    print(
        "%d devices, %.1f MB in all: one daemon %.2f MB/s (%s s), %d daemons %.2f MB/s (%s s): "
        "%.2fx; every session done: %s, every device receipted: %s, every entry stored once: %s"
        % (r["devices"], mb, r["one_daemon_mb_s"], r["one_daemon_s"], r["daemons"],
           r["daemons_mb_s"], r["daemons_s"], r["speedup"], r["every_session_done"],
           r["every_device_receipted"], r["every_entry_stored_once"])
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
