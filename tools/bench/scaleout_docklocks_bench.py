"""The scale-out store's lock work, measured where it costs: what a dock's receipt waits for,
the S3 requests of a policy change, and the SQL statements of reading items' retention.

    .venv/bin/python tools/bench/scaleout_docklocks_bench.py [--json] [--objects N]
                                                            [--dock K] [--repeats R]

The services run on 127.0.0.1 from ``tools/services/services`` in a state folder made for
the run and stopped after it. Three measures, on whatever ``host`` this Python imports (so
the same file measures a checkout before a change and after it, PYTHONPATH naming the
older one):

- dock: a recording already under a legal hold receives K media objects (default 20):
  ``put_media`` deferred, then ``make_durable``, which is what the receipt waits for. Its
  wall and CPU seconds and the S3 requests made before it returned; then, where the store
  runs the lock pass after it, the time until that pass is done (``wait_for_locks``).
- policy: N real locked objects (default 200, five to a recording) and the agency's
  period changed from 2 to 3 years as the desk changes it: every object extended. The S3
  requests by operation, wall and CPU seconds of ``medialocks.after_change``.
- keeps: ``medialocks.keeps_from`` for 1, 32 and 200 items: statements run (counted in
  ``host.sqlstore.PgCursor.execute``) and CPU seconds.

Figures are medians of R repeats (default 3), each on a fresh database and bucket. CPU:
this process's ``os.times`` (PostgreSQL's and the gateway's work is in the wall time only).
"""
# micropython: skip (host code, real services)

import argparse
import hashlib
import json
import os
import statistics
import time

from common import CountingS3, cpu_s, machine, managed_store, scaleout_services

from host import medialocks, retention, sqlstore
from host.pgstore import PgEvidenceStore

DAY = retention.DAY_MS
T0 = 1_795_420_800_000  # 2026-11-23 08:00 UTC: when the recordings were made


def recordings(store: PgEvidenceStore, digests: list, per: int) -> list:
    """Items (recordings) using ``digests``, ``per`` objects each, as the index has them."""
    ids = []
    with store.write() as cur:
        for n in range(0, len(digests), per):
            item = "SC-BENCH/%06d" % (n // per)
            ids.append(item)
            cur.execute(
                "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, "
                "started_ms, ended_ms) VALUES (?, 'recording', 'SC-BENCH', ?, 0, 0, ?, ?)",
                (item, n // per, T0, T0),
            )
            cur.executemany(
                "INSERT INTO media_refs VALUES (?, ?)", [(d, item) for d in digests[n : n + per]]
            )
        retention.keep_up(cur)
    return ids


def blobs(n: int, tag: bytes) -> "list[tuple[bytes, bytes]]":
    out = []
    for k in range(n):
        data = b"%s chunk %d %s " % (tag, k, os.urandom(8).hex().encode()) * 500
        out.append((hashlib.sha256(data).digest(), data))
    return out


def dock(env: dict, k: int) -> dict:
    store = managed_store(env)
    media = blobs(k, b"dock")
    (item,) = recordings(store, [d for d, _b in media], k)
    with store.write() as cur:
        retention.place_hold(cur, item, None, "bench", "bench", T0)
        retention.keep_up(cur)
    store.clear_pending(store.pending_locks())
    counting = store.media.s3 = CountingS3(store.media.s3)
    staged = [store.put_media(d, data, defer=True) for d, data in media]
    wall0, cpu0 = time.perf_counter(), cpu_s()
    store.make_durable(staged)
    waited, spent = time.perf_counter() - wall0, cpu_s() - cpu0
    lock_ops = ("put_object_legal_hold", "put_object_retention", "get_object_retention")
    out = {
        "receipt_wait_s": waited,
        "receipt_cpu_s": spent,
        "s3_lock_requests_before_receipt": sum(counting.calls[op] for op in lock_ops),
    }
    wait = getattr(store, "wait_for_locks", None)
    if wait is not None:
        wait()
    out["locks_set_s"] = time.perf_counter() - wall0
    out["holds_set"] = counting.calls["put_object_legal_hold"]
    store.close()
    return out


def policy(env: dict, n: int) -> dict:
    store = managed_store(env)
    media = blobs(n, b"policy")
    for d, data in media:
        store.put_media(d, data)
    wait = getattr(store, "wait_for_locks", None)
    if wait is not None:
        wait()
    recordings(store, [d for d, _b in media], 5)
    medialocks.after_change(store, T0 + DAY)  # every lock noted and as planned
    counting = store.media.s3 = CountingS3(store.media.s3)
    with store.write() as cur:
        old = retention.policy(cur)
        retention.put_policy(cur, old._replace(years=3))
        retention.keep_up(cur)
    wall0, cpu0 = time.perf_counter(), cpu_s()
    done = medialocks.after_change(store, T0 + DAY)
    out = {"wall_s": time.perf_counter() - wall0, "cpu_s": cpu_s() - cpu0,
           "extended": done.extended, "failed": len(done.failed),
           "requests": dict(counting.calls)}  # fmt: skip
    store.close()
    return out


def keeps(env: dict) -> dict:
    store = managed_store(env)
    ids = recordings(store, [hashlib.sha256(b"%d" % n).digest() for n in range(200)], 1)
    with store.write() as cur:
        for item in ids[::7]:
            retention.place_hold(cur, item, None, "bench", "bench", T0)
    statements = [0]
    real = sqlstore.PgCursor.execute

    def execute(cur, sql, parameters=()):
        statements[0] += 1
        return real(cur, sql, parameters)

    out = {}
    sqlstore.PgCursor.execute = execute  # type: ignore[method-assign]
    try:
        for n in (1, 32, 200):
            with store.read() as cur:
                statements[0], cpu0 = 0, cpu_s()
                got = medialocks.keeps_from(cur, ids[:n], T0 + DAY)
                out[str(n)] = {"statements": statements[0], "cpu_s": cpu_s() - cpu0,
                               "items": len(got)}  # fmt: skip
    finally:
        sqlstore.PgCursor.execute = real  # type: ignore[method-assign]
    store.close()
    return out


def run(objects: int, k: int, repeats: int) -> dict:
    with scaleout_services() as env:
        load0 = os.getloadavg()
        docks = [dock(env, k) for _ in range(repeats)]
        policies = [policy(env, objects) for _ in range(repeats)]
        reads = [keeps(env) for _ in range(repeats)]
        load = os.getloadavg()

    def med(rows, key):
        return round(statistics.median(r[key] for r in rows), 4)

    return {
        "machine": machine(),
        "load_average": {"start": [round(x, 2) for x in load0], "end": [round(x, 2) for x in load]},
        "dock": {"objects": k, "receipt_wait_s": med(docks, "receipt_wait_s"),
                 "receipt_cpu_s": med(docks, "receipt_cpu_s"),
                 "s3_lock_requests_before_receipt": docks[0]["s3_lock_requests_before_receipt"],
                 "locks_set_s": med(docks, "locks_set_s"), "holds_set": docks[0]["holds_set"]},
        "policy": {"objects": objects, "wall_s": med(policies, "wall_s"),
                   "cpu_s": med(policies, "cpu_s"), "extended": policies[0]["extended"],
                   "failed": policies[0]["failed"], "requests": policies[0]["requests"]},
        "keeps": {n: {"statements": reads[0][n]["statements"],
                      "cpu_s": round(statistics.median(r[n]["cpu_s"] for r in reads), 4)}
                  for n in reads[0]},
        "runs": {"dock": docks, "policy": policies},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=200, help="objects a policy change extends")
    parser.add_argument("--dock", type=int, default=20, help="objects of the held recording")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.objects, args.dock, args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    d, p = r["dock"], r["policy"]
    print(r["machine"], "load average", r["load_average"])
    print("dock of %d objects of a held recording: the receipt waited %.3f s wall, %.3f s CPU, "
          "%d S3 lock requests; locks set after %.3f s (%d holds)"
          % (d["objects"], d["receipt_wait_s"], d["receipt_cpu_s"],
             d["s3_lock_requests_before_receipt"], d["locks_set_s"], d["holds_set"]))  # fmt: skip
    print("policy change over %d objects: %.3f s wall, %.3f s CPU, %d extended, requests %s"
          % (p["objects"], p["wall_s"], p["cpu_s"], p["extended"], p["requests"]))  # fmt: skip
    for n, k in r["keeps"].items():
        print(
            "keeps_from of %s items: %d statements, %.4f s CPU" % (n, k["statements"], k["cpu_s"])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
