"""The violations report's check of the store at an agency's size (issue 14, R-HOST-10).

Builds (once, kept with ``--keep DIR``) an embedded evidence store of ``--devices`` recorders
that each record three times a day for ``--recordings`` recordings (record-start, one chunk
with its media file of ``--media-kib`` KiB, record-stop: real signed entries, stored as a
sync stores them, so the host log holds every one), then times, for a one-month period in
the middle of the year, the store's check the report reads:

- ``check_evidence``: the whole store, every signature verified and every file hashed (what
  ``sealcam verify`` does, and what the report did before);
- ``check_period``: the store's own check against its log, then only the period's media
  hashed and the stored seqs checked for gaps (``host.periodcheck``);

and the whole report (``host.violations.report``) over each. Both must give the same
violations; the script says so. Media files here are small: real footage is megabytes a
chunk, so hashing it is a larger share of the whole check than these figures show.

    .venv/bin/python tools/bench/violations_bench.py [--keep DIR] [--devices 20]
        [--recordings 1000] [--media-kib 4]
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import machine

from host import items, violations
from host.access import prepare
from host.checkup import check_evidence
from host.evidence import SqliteEvidenceStore
from host.periodcheck import check_period
from protocol.ledger import LedgerWriter
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_CHUNK_INDEX,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MP4,
)
from protocol.signer import make_signer

T0_MS = 1_764_900_000_000  # 2025-12-05: the first recording
DAY_MS = 86_400_000
SPACING_MS = 8 * 3_600_000  # three recordings a day


def build(root: Path, devices: int, recordings: int, media_kib: int) -> None:
    store = SqliteEvidenceStore(root)
    prepare(store)
    for n in range(devices):
        device_id = "SC-%04d" % n
        seed = (n + 1).to_bytes(2, "big") * 16
        writer = LedgerWriter(make_signer(seed), device_id, sign_every=64)
        store.enrol(device_id, make_signer(seed).public_key())
        out = []
        officer = "P-%04d" % n
        for r in range(recordings):
            start = T0_MS + r * SPACING_MS + n * 60_000
            data = os.urandom(media_kib * 1024)
            digest = hashlib.sha256(data).digest()
            store.put_media(digest, data)
            rec_id = writer.seq.to_bytes(4, "big")
            common = {F_RECORDING: rec_id, F_OFFICER: officer}
            out.append(writer.append(KIND_EVENT, {F_EVENT: EV_RECORD_START, **common}, start, 0))
            chunk = {
                **common,
                F_CHUNK_INDEX: 0,
                F_START_MS: start,
                F_END_MS: start + 60_000,
                F_MEDIA_TYPE: MEDIA_MP4,
                F_PLAIN_LEN: len(data),
                F_PLAIN_SHA: digest,
                F_FRAME_HASHES: [digest[:16]],
            }
            out.append(writer.append(KIND_CHUNK, chunk, start + 60_000, 0))
            last = r == recordings - 1
            stop = {F_EVENT: EV_RECORD_STOP, **common}
            out.append(writer.append(KIND_EVENT, stop, start + 60_001, 0, sign=last))
        store.add_entries(device_id, out, T0_MS + recordings * SPACING_MS)
        print("\r  devices: %d/%d" % (n + 1, devices), end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with store.write() as cur:
        items.refresh(cur)
    # As the daemon does after a sync: a signed checkpoint of the host's log.
    store.checkpoint(make_signer(b"\x07" * 32), "bench-host")
    store.close()


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", help="build the store here once and reuse it")
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--recordings", type=int, default=1000)
    ap.add_argument("--media-kib", type=int, default=4)
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="violations-bench-"))
    try:
        if not (root / "evidence.db").exists():
            print("building %s" % root, file=sys.stderr)
            build(root, args.devices, args.recordings, args.media_kib)
        since = T0_MS + 150 * DAY_MS
        until = since + 30 * DAY_MS
        store = SqliteEvidenceStore(root)
        prepare(store)
        entries = store.query("SELECT count(*) FROM entries")[0][0]
        whole, whole_s = timed(lambda: check_evidence(root))
        period, period_s = timed(lambda: check_period(root, since, until))
        with store.read() as cur:
            a, report_whole_s = timed(lambda: violations.report(cur, whole, since, until))
            b, report_period_s = timed(lambda: violations.report(cur, period, since, until))
        store.close()
        same = [v.to_dict() for v in a] == [v.to_dict() for v in b]
        print(machine())
        print("store: %d devices, %d entries, media %d KiB a chunk; period: 30 days"
              % (args.devices, entries, args.media_kib))  # fmt: skip
        print("check_evidence (whole store):   %8.2f s" % whole_s)
        print("check_period (the month):       %8.2f s" % period_s)
        print("report over the whole check:    %8.2f s" % report_whole_s)
        print("report over the period's check: %8.2f s" % report_period_s)
        print("same violations: %s (%d)" % (same, len(a)))
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
