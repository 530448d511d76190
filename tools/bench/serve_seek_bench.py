#!/usr/bin/env python3
"""Seeking in the review page on the scale-out store (issue 18): ``sealcam serve`` on
PostgreSQL and Ceph's S3 gateway against the same on the embedded store, same recording.

A seek is a range request for 64 KB at a random place in a long fMP4 recording (one-second
fragments, each its own object in the bucket), timed to its last byte, as ``web_bench.py``
times it; on the scale-out store each is an S3 GET with ``Range`` of the object's recorded
version (``host.mediasource.ObjectMedia``). The two servers run one after another in
interleaved rounds, the load average taken at each; the figures are the median and p95 of
each, their ratio, and the CPU seconds each server process used.

The store is made once per run: the recording written into an embedded store (as
``web_bench.py`` writes its long one), then moved to the scale-out form with
``sealcam store migrate``'s code (``host.migrate``). The services are started in a folder of
the bench's own and stopped after (``tools/services/services``), unless ``--state DIR``
names services already running.

Run: .venv/bin/python tools/bench/serve_seek_bench.py [--minutes 5] [--seeks 60] [--rounds 3]
     [--small]
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import web_bench
from common import Server, fresh_store, h264_gop, machine, scaleout_services
from web_bench import DEVICE, FPS, PASSWORD, Browser, Recorder, one_second, p95

from host import access, items, people
from host.evidence import SqliteEvidenceStore

SEEK = 65_536


REAL_SIZE = (640, 360)
REAL_BPS = 8_000_000  # what a recorder films at (the sync benches' figure)


def real_second() -> "tuple[list, bytes]":
    """One second of H.264 asked for at REAL_BPS, of noise: about 2.6 MB a fragment (the
    encoder cannot hold the rate on noise), a recorder's is about 1 MB; either way a 64 KB
    seek reads from one object, or two. (``web_bench``'s picture is small and smooth, to fit
    ten hours on a disk: its fragments are about 3 KB, and a seek crosses twenty.)"""
    rng = np.random.default_rng(18)
    pictures = [
        rng.integers(0, 256, (REAL_SIZE[1], REAL_SIZE[0], 3), dtype=np.uint8) for _ in range(FPS)
    ]
    return h264_gop(REAL_SIZE, FPS, pictures, REAL_BPS)


def make_store(root: Path, minutes: int, small: bool) -> "tuple[str, int]":
    ev = SqliteEvidenceStore(root)
    if not small:
        web_bench.SIZE = REAL_SIZE  # the init segment's picture size (read as it is made)
    rec = Recorder(ev, DEVICE, bytes(range(32)), one_second() if small else real_second())
    item, size = rec.recording(minutes * 60, 3600)
    rec.flush()
    access.prepare(ev)
    with ev.write() as cur:
        items.refresh(cur)
        people.add_user(cur, "reviewer0", (people.LEGAL,), PASSWORD, 0)
    ev.close()
    return item, size


def seeks(port: int, item: str, size: int, n: int, seed: int) -> list:
    b = Browser(port)
    b.log_in("reviewer0")
    media = "/media/%s/footage.mp4" % item
    status, _, _ = b.request("GET", media, headers={"Range": "bytes=0-1023"})  # the play record
    assert status == 206, status
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        at = rng.randrange(0, size - SEEK - 1)
        wanted = {"Range": "bytes=%d-%d" % (at, at + SEEK - 1)}
        status, got, took = b.request("GET", media, headers=wanted)
        assert status == 206 and len(got) == SEEK, status
        out.append(took)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=int, default=5, help="the recording's length")
    ap.add_argument(
        "--small",
        action="store_true",
        help="web_bench's small fragments (about 3 KB: a seek crosses twenty)",
    )
    ap.add_argument("--seeks", type=int, default=60, help="seeks per server per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--state", help="services already running (tools/services/services)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sealcam-seek-"))
    try:
        with scaleout_services(args.state) as env:
            run(args, env, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, env: dict, tmp: Path) -> None:
    root = tmp / "ev"
    item, size = make_store(root, args.minutes, args.small)
    from host import migrate

    url, bucket = fresh_store(env)
    src = SqliteEvidenceStore(root, readonly=True)
    began = time.perf_counter()
    report = migrate.migrate(src, url, bucket)
    src.close()
    print("machine: %s" % machine())
    print("recording: %d min, %d fragments, %.1f MB; moved to PostgreSQL + RGW in %.0f s "
          "(verified: %s)" % (args.minutes, args.minutes * 60, size / 1e6,
                             time.perf_counter() - began, report.verified.ok))  # fmt: skip
    stores = {
        "embedded": ["--evidence", str(root)],
        "scale-out": ["--evidence", url, "--media", bucket],
    }
    times: dict = {k: [] for k in stores}
    cpu: dict = {k: 0.0 for k in stores}
    for r in range(args.rounds):
        for kind, where in stores.items():
            with Server(where) as server:
                before = server.cpu_s()
                got = seeks(server.port, item, size, args.seeks, seed=r)
                cpu[kind] += server.cpu_s() - before
            times[kind] += got
            print("round %d %-9s load %.2f: median %.1f ms, p95 %.1f ms"
                  % (r + 1, kind, os.getloadavg()[0], statistics.median(got) * 1000,
                     p95(got) * 1000))  # fmt: skip
    print()
    for kind in stores:
        t = times[kind]
        print("%-9s %d seeks of 64 KB: median %.1f ms, p95 %.1f ms; server CPU %.2f s "
              "(%.1f ms a seek)" % (kind, len(t), statistics.median(t) * 1000, p95(t) * 1000,
                                    cpu[kind], cpu[kind] / len(t) * 1000))  # fmt: skip
    a, b = times["scale-out"], times["embedded"]
    print("scale-out / embedded: median %.2fx, p95 %.2fx (goal: p95 under 200 ms)"
          % (statistics.median(a) / statistics.median(b), p95(a) / p95(b)))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
