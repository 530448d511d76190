"""One device's dock into the scale-out store (PostgreSQL + Ceph's S3 gateway with Object
Lock) against boto3 putting the same media objects plus one INSERT batch of its entries.

    .venv/bin/python tools/bench/scaleout_bench.py [--json] [--seconds S] [--repeats R]

The services run on 127.0.0.1 from ``tools/services/services`` in a state folder made for
the run and removed after it (they are stopped whatever happens). One device store is
recorded by the real agent from S seconds (default 60) of 30 fps video at 8 Mbit/s (about
60 MB). Each repeat (default 3) docks a fresh copy of it over loopback TCP into a fresh
database and bucket (the device end in a second process, the host's ``HostLink`` on a
``PgEvidenceStore`` here, then the session's record and signed checkpoint as the daemon
does), and then, into another fresh database and bucket, puts the same media with boto3
(one ``put_object`` each, in the same order) and inserts the same entries in one
transaction. Figures: the medians of both, and their ratio. Goal: the dock within 1.3x.
"""

import argparse
import json
import multiprocessing
import shutil
import socket
import statistics
import sys
import tempfile
import time

from common import fresh_store, machine, scaleout_services
from sync_bench import (
    FPS,
    HOST_KID,
    HOST_SEED,
    LARGE_VIDEO_BPS,
    device_id,
    device_seed,
    device_tcp,
    record_store,
)

from firmware.ports.transports import SocketTransport
from firmware.store import Store
from host.evidence import chunk_media
from host.pgstore import PgEvidenceStore
from host.s3media import client
from host.sync import HostLink
from protocol.ledger import parse_entry
from protocol.registry import F_WALL_MS
from protocol.signer import make_signer

GOAL = 1.3


def dock(master: str, tmp: str, env: dict, tag: str) -> dict:
    url, media = fresh_store(env)
    store = PgEvidenceStore(url, media)
    store.enrol(device_id(0), make_signer(device_seed(0)).public_key())
    path = "%s/%s-dev" % (tmp, tag)
    shutil.copytree(master, path)
    ctx = multiprocessing.get_context("fork")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    ready, go = ctx.Event(), ctx.Event()
    device = ctx.Process(target=device_tcp, args=([(0, path)], listener.getsockname(), ready, go))
    device.start()
    ready.wait(300)
    signer = make_signer(HOST_SEED)
    go.set()
    t0 = time.perf_counter()
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    summary = HostLink(store, signer, HOST_KID, SocketTransport(conn), False).run()
    store.record_session(summary, int(time.time() * 1000))
    store.checkpoint(signer, HOST_KID)
    wall = time.perf_counter() - t0
    conn.close()
    device.join(60)
    listener.close()
    store.close()
    shutil.rmtree(path)
    if summary["result"] != "done":
        raise SystemExit("the dock did not complete: %s" % summary["result"])
    return {"wall_s": wall, "entries": summary["entries_stored"], "media": summary["media_stored"]}


def baseline(payload: list, env: dict) -> dict:
    """boto3 puts of the same objects, then the entries in one INSERT batch."""
    import psycopg

    url, media = fresh_store(env)
    bucket = media.removeprefix("s3://")
    s3 = client()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE entries (device_id TEXT, seq BIGINT, hash BYTEA, raw BYTEA, "
            "kind INTEGER, wall_ms BIGINT, received_ms BIGINT, PRIMARY KEY (device_id, seq))"
        )
        t0 = time.perf_counter()
        rows = []
        for e, data in payload:
            if data is not None:
                s3.put_object(Bucket=bucket, Key="media/" + e.digest.hex(), Body=data)
            rows.append((e.device_id, e.seq, e.digest, bytes(e.raw), e.kind,
                         e.fields[F_WALL_MS], 0))  # fmt: skip
        with conn.transaction():
            conn.cursor().executemany(
                "INSERT INTO entries VALUES (%s, %s, %s, %s, %s, %s, %s)", rows
            )
        wall = time.perf_counter() - t0
    return {"wall_s": wall}


def device_payload(master: str) -> tuple:
    """Every entry of the device store with its media bytes (None for an event)."""
    store = Store(master)
    payload = []
    total = 0
    for raw in store.entries():
        e = parse_entry(raw)
        media = chunk_media(e)
        data = store.read_media(media[0]) if media is not None else None
        total += len(raw) + (len(data) if data is not None else 0)
        payload.append((e, data))
    store.close()
    return payload, total


def run(seconds: int, repeats: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="sealcam-scaleout-bench-")
    try:
        with scaleout_services() as env:
            master = "%s/master" % tmp
            record_store(master, 0, seconds, LARGE_VIDEO_BPS // 8 // FPS)
            payload, total = device_payload(master)
            docks, bases = [], []
            for i in range(repeats):
                docks.append(dock(master, tmp, env, "r%d" % i))
                bases.append(baseline(payload, env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dock_s = statistics.median(d["wall_s"] for d in docks)
    base_s = statistics.median(b["wall_s"] for b in bases)
    return {
        "machine": machine(),
        "seconds_recorded": seconds,
        "payload_bytes": total,
        "entries": docks[0]["entries"],
        "media": docks[0]["media"],
        "dock_s": [round(d["wall_s"], 3) for d in docks],
        "baseline_s": [round(b["wall_s"], 3) for b in bases],
        "dock_median_s": round(dock_s, 3),
        "baseline_median_s": round(base_s, 3),
        "ratio": round(dock_s / base_s, 3),
        "goal": GOAL,
        "met": dock_s / base_s <= GOAL,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.seconds, args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    mb = r["payload_bytes"] / 1e6
    print(r["machine"])
    print(
        "one device, %.1f MB (%d entries, %d media): dock into PostgreSQL + RGW %.2f s "
        "(%.1f MB/s), boto3 puts + one INSERT batch %.2f s (%.1f MB/s): %.2fx, goal <= %.1fx: %s"
        % (mb, r["entries"], r["media"], r["dock_median_s"], mb / r["dock_median_s"],
           r["baseline_median_s"], mb / r["baseline_median_s"], r["ratio"], GOAL,
           "met" if r["met"] else "NOT met")
    )  # fmt: skip
    print("  docks %s s; baselines %s s" % (r["dock_s"], r["baseline_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
