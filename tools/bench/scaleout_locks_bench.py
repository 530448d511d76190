"""A change to retention on a scale-out store with many objects: the object locks brought
to it by planning every object (the applier as it was) against planning only the objects
of the recording that changed (``host.medialocks.after_change`` now).

    .venv/bin/python tools/bench/scaleout_locks_bench.py [--json] [--recordings N]
                                                        [--objects K] [--repeats R]

The services run on 127.0.0.1 from ``tools/services/services`` in a state folder made for
the run and stopped after it. The store holds N recordings (default 20,000) of K media
objects each (default 5): the changed recording's K objects are real locked objects in the
bucket; the others are their rows only (``items``, ``media_refs``, ``media``, and their
locks as noted in ``media_locks``, each already covering its plan), since neither way of
applying asks the object store about an object whose noted lock covers its plan. Each
change is a legal hold placed on one recording (then released), committed with the plan
index brought up as the desk does; then its locks are applied, the old way (every object
planned, the whole tables read) or the new (the marked recording's objects). Both make the
same S3 requests (K legal holds set, K taken off), counted. Figures per change: wall
seconds and this process's CPU seconds (os.times), medians of R repeats (default 3).
"""
# micropython: skip (host code, real services)

import argparse
import hashlib
import json
import os
import statistics
import time

from common import CountingS3, cpu_s, machine, managed_store, scaleout_services

from host import medialocks, objectlock, retention
from host.pgstore import PgEvidenceStore

DAY = retention.DAY_MS
T0 = 1_795_420_800_000  # 2026-11-23 08:00 UTC: when the recordings were made


def fill(store: PgEvidenceStore, recordings: int, per: int) -> str:
    """The store's rows (see the module's docstring); the changed recording's id."""
    now = int(time.time() * 1000)
    pol = retention.Policy()
    changed = "SC-BENCH/%06d" % 0
    real = []
    for k in range(per):  # the changed recording's objects, really stored and locked
        data = b"chunk %d of the recording that changes " % k * 2000
        digest = hashlib.sha256(data).digest()
        store.put_media(digest, data)
        real.append(digest)
    store.wait_for_locks()  # the docks' lock passes run after the receipt: none counted later
    until = objectlock.new_object_until(T0, pol)
    with store._transaction() as cur:
        with cur.copy("COPY items (item_id, kind, device_id, rec, first_seq, last_seq, "
                      "started_ms, ended_ms) FROM STDIN") as copy:  # fmt: skip
            for n in range(recordings):
                copy.write_row(("SC-BENCH/%06d" % n, "recording", "SC-BENCH", n, n, n, T0, T0))
        with cur.copy("COPY media_refs (digest, item_id) FROM STDIN") as copy:
            for d in real:
                copy.write_row((d, changed))
            for n in range(1, recordings):
                for k in range(per):
                    copy.write_row((hashlib.sha256(b"%d/%d" % (n, k)).digest(),
                                    "SC-BENCH/%06d" % n))  # fmt: skip
        with cur.copy("COPY media (digest, version, size, stored_ms) FROM STDIN") as copy:
            for n in range(1, recordings):
                for k in range(per):
                    copy.write_row((hashlib.sha256(b"%d/%d" % (n, k)).digest(), "v", 1, now))
        with cur.copy("COPY media_locks (digest, until_ms, held) FROM STDIN") as copy:
            for n in range(1, recordings):
                for k in range(per):
                    copy.write_row((hashlib.sha256(b"%d/%d" % (n, k)).digest(), until, False))
    with store.write() as cur:  # the plan's index made once, as the first login makes it
        retention.keep_up(cur)
    store.clear_pending(store.pending_locks())
    return changed


def change(store: PgEvidenceStore, item: str, on: bool) -> None:
    """A hold placed on (or released from) ``item``, committed as the desk commits it."""
    with store.write() as cur:
        if on:
            retention.place_hold(cur, item, None, "bench", "bench", T0)
        else:
            retention.release_holds(cur, item, None, "bench", "bench", T0)
        retention.keep_up(cur)


def every_object(store: PgEvidenceStore, now: int) -> medialocks.Applied:
    """The applier as it was: media_refs brought up, then every object planned."""
    with store.write() as cur:
        retention.refresh_refs(cur)
    return medialocks.apply(store, medialocks.CursorRetention(store.read), now)


def timed(store, counting, how, item: str, on: bool) -> dict:
    change(store, item, on)
    calls0, wall0, cpu0 = counting.total(), time.perf_counter(), cpu_s()
    done = how(store, T0 + DAY)
    out = {"wall_s": time.perf_counter() - wall0, "cpu_s": cpu_s() - cpu0,
           "s3_requests": counting.total() - calls0, "objects": done.objects,
           "holds": done.held + done.released}  # fmt: skip
    store.clear_pending(store.pending_locks())  # the old way leaves the marks
    return out


def run(recordings: int, per: int, repeats: int) -> dict:
    with scaleout_services() as env:
        store = managed_store(env)
        item = fill(store, recordings, per)
        counting = store.media.s3 = CountingS3(store.media.s3)
        before, after = [], []
        for _ in range(repeats):
            for on in (True, False):  # placed, then released: the same requests
                before.append(timed(store, counting, every_object, item, on))
            for on in (True, False):
                after.append(timed(store, counting, medialocks.after_change, item, on))
        store.close()
        load = os.getloadavg()

    def med(rows, key):
        return round(statistics.median(r[key] for r in rows), 4)

    return {
        "machine": machine(),
        "load_average": [round(x, 2) for x in load],
        "recordings": recordings,
        "objects": recordings * per,
        "before": {"wall_s": med(before, "wall_s"), "cpu_s": med(before, "cpu_s"),
                   "objects_planned": before[0]["objects"],
                   "s3_requests": before[0]["s3_requests"]},
        "after": {"wall_s": med(after, "wall_s"), "cpu_s": med(after, "cpu_s"),
                  "objects_planned": after[0]["objects"],
                  "s3_requests": after[0]["s3_requests"]},
        "every_change_set_its_holds": all(r["holds"] == per for r in before + after),
        "runs": {"before": before, "after": after},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=20_000)
    parser.add_argument("--objects", type=int, default=5, help="media objects per recording")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.recordings, args.objects, args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    b, a = r["before"], r["after"]
    print(r["machine"], "load average", r["load_average"])
    print("store of %d recordings, %d objects; one recording's hold placed or released:"
          % (r["recordings"], r["objects"]))  # fmt: skip
    print("  every object planned: %.3f s wall, %.3f s CPU, %d objects, %d S3 requests"
          % (b["wall_s"], b["cpu_s"], b["objects_planned"], b["s3_requests"]))  # fmt: skip
    print("  the changed recording's: %.3f s wall, %.3f s CPU, %d objects, %d S3 requests"
          % (a["wall_s"], a["cpu_s"], a["objects_planned"], a["s3_requests"]))  # fmt: skip
    print("  ratio (before / after): %.1fx wall, %.1fx CPU; every change set its holds: %s"
          % (b["wall_s"] / a["wall_s"], b["cpu_s"] / max(a["cpu_s"], 1e-6),
             r["every_change_set_its_holds"]))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
