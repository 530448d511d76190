"""Verify of a whole scale-out store (PostgreSQL + Ceph's S3 gateway with Object Lock)
against reading the same objects.

    .venv/bin/python tools/bench/scaleout_verify_bench.py [--json] [--devices N]
                                                           [--seconds S] [--repeats R]
                                                           [--readers K]

The services run on 127.0.0.1 from ``tools/services/services`` in a state folder made for
the run and stopped after it, whatever happens. N device stores (default 4) are recorded by
the real agent, S seconds each (default 15) of 30 fps video at 8 Mbit/s, and stored into
one fresh scale-out store as the sync stores them (entries, media objects with their locks
and log leaves, each session's record, then a signed checkpoint). Each repeat (default 3)
runs, in turn: ``host.pgverify.check`` on the store opened read-only, as ``sealcam verify
postgresql://... --media s3://B`` does (the log re-hashed against its checkpoint and its
signature, every row against its leaf, every ledger's signatures, every object read and
hashed); and the baseline: boto3 reading every recorded object's bytes, one after another
(both timed from the start: the connection and the S3 client included).
Figures: the medians of both and their ratio. Goal: verify within 1.5x of the reading.
``--readers K``: how many objects verify reads at once (``host.pgverify.READERS``, 4).
"""

import argparse
import json
import os
import shutil
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
    record_stores,
)

from firmware.store import Store
from host.pgstore import PgEvidenceStore
from host.s3media import PREFIX, client
from protocol.signer import make_signer

GOAL = 1.5


def fill(url: str, media: str, masters: list) -> int:
    """Store every device store into the scale-out store as a sync would; its bytes."""
    store = PgEvidenceStore(url, media)
    total = 0
    for n, path in masters:
        device = Store(path)
        store.enrol(device_id(n), make_signer(device_seed(n)).public_key())
        raws = list(device.entries())
        store.add_entries(device_id(n), raws, int(time.time() * 1000))
        staged = []
        for digest, _size in store.missing_media(device_id(n)):
            data = device.read_media(digest)
            total += len(data)
            staged.append(store.put_media(digest, data, defer=True))
        store.make_durable(staged)
        total += sum(len(r) for r in raws)
        summary = {"device": device_id(n), "result": "done", "entries_stored": len(raws),
                   "media_stored": len(staged), "bytes_in": total}  # fmt: skip
        store.record_session(summary, int(time.time() * 1000))
        device.close()
    store.checkpoint(make_signer(HOST_SEED), HOST_KID)
    store.close()
    return total


def verify(url: str, media: str) -> dict:
    from host import pgverify

    t0 = time.perf_counter()
    store = PgEvidenceStore(url, media, readonly=True)
    report = pgverify.check(store)
    store.close()
    return {"wall_s": time.perf_counter() - t0, "ok": report.ok,
            "objects": report.media_checked}  # fmt: skip


def read_objects(url: str, media: str) -> dict:
    """boto3 reading every recorded object's bytes, one after another: from connecting to
    the database for the list and making the S3 client, as verify opens the store."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT digest, version FROM media ORDER BY digest").fetchall()
    s3 = client()
    bucket = media.removeprefix("s3://")
    got = 0
    for digest, version in rows:
        body = s3.get_object(Bucket=bucket, Key=PREFIX + bytes(digest).hex(), VersionId=version)
        got += len(body["Body"].read())
    return {"wall_s": time.perf_counter() - t0, "bytes": got, "objects": len(rows)}


def run(devices: int, seconds: int, repeats: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="sealcam-verify-bench-")
    try:
        with scaleout_services() as env:
            masters = record_stores(tmp, devices, seconds, LARGE_VIDEO_BPS // 8 // FPS)
            url, media = fresh_store(env)
            total = fill(url, media, masters)
            verifies, reads = [], []
            for _ in range(repeats):
                verifies.append(verify(url, media))
                reads.append(read_objects(url, media))
            load = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    v = statistics.median(x["wall_s"] for x in verifies)
    b = statistics.median(x["wall_s"] for x in reads)
    return {
        "machine": machine(),
        "load_average": [round(x, 2) for x in load],
        "devices": devices,
        "seconds_recorded": seconds,
        "store_bytes": total,
        "objects": reads[0]["objects"],
        "verify_s": [round(x["wall_s"], 3) for x in verifies],
        "read_s": [round(x["wall_s"], 3) for x in reads],
        "verify_median_s": round(v, 3),
        "read_median_s": round(b, 3),
        "ratio": round(v / b, 3),
        "goal": GOAL,
        "met": v / b <= GOAL,
        "every_verify_ok": all(x["ok"] for x in verifies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--readers", type=int, default=None, help="objects verify reads at once (default 4)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.readers:
        from host import pgverify

        pgverify.READERS = args.readers
    r = run(args.devices, args.seconds, args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    mb = r["store_bytes"] / 1e6
    print(r["machine"], "load average", r["load_average"])
    print(
        "store of %d devices, %.1f MB, %d objects: verify %.2f s (%.1f MB/s), reading the "
        "objects %.2f s (%.1f MB/s): %.2fx, goal <= %.1fx: %s; every verify OK: %s"
        % (r["devices"], mb, r["objects"], r["verify_median_s"], mb / r["verify_median_s"],
           r["read_median_s"], mb / r["read_median_s"], r["ratio"], GOAL,
           "met" if r["met"] else "NOT met", r["every_verify_ok"])
    )  # fmt: skip
    print("  verify %s s; reading %s s" % (r["verify_s"], r["read_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
