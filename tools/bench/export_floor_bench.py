"""How near the MP4 export can come to a copy on this machine: its parts, each alone, beside
the copies its goal is measured against (issue 12: export <= 1.2x copying the same bytes;
issue 15: a court package <= 1.3x).

    .venv/bin/python tools/bench/export_floor_bench.py --keep DIR [--rounds R] [--json]

``DIR`` is the folder ``footage_bench.py --keep DIR`` made its one-hour recording in (it is
made there first if it is not). In every round, in turn, on a settled file system, each
writing a new file and fsyncing it:

- **copy, one file**: ``shutil.copyfile`` of the exported MP4 (read once first, untimed, so
  it is in the page cache) and an fsync: the footage bench's baseline;
- **copy, the stored files**: the recording's stored fragments, one after another, into one
  file (``sendfile``) and an fsync: the court bench's baseline;
- **two SHA-256 passes, nothing else**: the exported file's bytes, held in memory, hashed
  twice at once by two threads in 1 MiB steps: the least the export's two hashes (each
  fragment against its signed hash; the whole file for the note) cost on two cores, with
  no reading, writing or ledger at all;
- **the export's stream alone**: the export's own ``_Stream`` (``host.mp4export``) laying
  every stored fragment, each checked against its signed hash, the file hashed and written
  past the page cache, then an fsync: the export without its ledger (read, parsed, its
  signatures checked), the initialisation segment, the notes and the evidence box;
- **the export**: ``host.export.export_recording``, whole.

The medians go beside both copies. The CPU of each is the process's (``os.times``, its
children's included). The point of the figures: where the two hashes alone take most of
what a copy takes, the export cannot come within a small factor of the copy on this many
cores, however its work is arranged.
"""

import argparse
import hashlib
import json
import os
import statistics
import sys
import threading
from pathlib import Path

from common import machine
from footage_bench import (
    DEVICE,
    copy_durably,
    make_hour,
    settle,
    timed,
    warm,
)

from host import mp4export
from host.evidence import SqliteEvidenceStore
from host.export import export_recording
from protocol.ledger import parse_entry
from protocol.registry import F_MEDIA_TYPE, F_PLAIN_SHA, KIND_CHUNK, MEDIA_MP4

MIB = 1 << 20


def fragments(ev_root: str) -> list:
    """``[(stored file, signed SHA-256)]`` of the recording's fragments, in ledger order."""
    store = SqliteEvidenceStore(ev_root, readonly=True)
    try:
        out = []
        for e in (parse_entry(r) for r in store.entries(DEVICE)):
            if e.kind == KIND_CHUNK and e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4:
                digest = e.fields[F_PLAIN_SHA]
                out.append((store.media_file(digest), digest))
        return out
    finally:
        store.close()


def copy_stored(pieces: list, out: str) -> None:
    """The stored fragments, one after another, into ``out``; fsynced."""
    with open(out, "wb") as dst:
        for path, _ in pieces:
            with open(path, "rb") as src:
                os.sendfile(dst.fileno(), src.fileno(), 0, os.fstat(src.fileno()).st_size)
        dst.flush()
        os.fsync(dst.fileno())


def two_hashes(data: memoryview) -> None:
    """``data`` hashed twice at once, a thread each, in 1 MiB steps."""

    def one() -> None:
        h = hashlib.sha256()
        for at in range(0, len(data), MIB):
            h.update(data[at : at + MIB])

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def stream_alone(pieces: list, out: str) -> None:
    """The export's ``_Stream`` laying every fragment, checked; the file fsynced."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        stream = mp4export._Stream(fd, Path(out))
        try:
            for path, digest in pieces:
                stream.add_file(path, digest)
            stream.finish()
        finally:
            stream.close()
        if stream.changed:
            raise SystemExit("a stored fragment is not what its entry signs: the store is damaged")
        os.fsync(fd)
    finally:
        os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", required=True, help="the footage bench's --keep folder")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    folder = args.keep
    os.makedirs(folder, exist_ok=True)
    make_hour(60, (1280, 720), folder, 60)
    ev_root = os.path.join(folder, "evidence")
    exported = os.path.join(folder, "floor-export.mp4")
    scratch = os.path.join(folder, "floor-scratch.mp4")
    pieces = fragments(ev_root)
    settle(exported)
    export_recording(ev_root, DEVICE, None, exported, "bench")
    with open(exported, "rb") as f:
        held = memoryview(f.read())
    load_before = os.getloadavg()
    steps = {
        "copy_file": lambda: copy_durably(exported, scratch),
        "copy_stored": lambda: copy_stored(pieces, scratch),
        "two_hashes": lambda: two_hashes(held),
        "stream": lambda: stream_alone(pieces, scratch),
        "export": lambda: export_recording(ev_root, DEVICE, None, scratch, "bench"),
    }
    runs: dict = {name: [] for name in steps}
    for i in range(args.rounds):
        names = list(steps)
        names = names[i % len(names) :] + names[: i % len(names)]  # no step always first
        for name in names:
            settle(scratch)
            Path(scratch + ".json").unlink(missing_ok=True)
            warm(exported)
            wall, cpu, _ = timed(steps[name])
            runs[name].append((wall, cpu))
    settle(scratch)
    Path(scratch + ".json").unlink(missing_ok=True)
    settle(exported)
    Path(exported + ".json").unlink(missing_ok=True)
    med = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
           for n, rs in runs.items()}  # fmt: skip
    facts = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "bytes": len(held),
        "fragments": len(pieces),
        "rounds": args.rounds,
        "wall_s": {n: [r[0] for r in rs] for n, rs in runs.items()},
        "median_s": {n: m[0] for n, m in med.items()},
        "median_cpu_s": {n: m[1] for n, m in med.items()},
    }
    if args.json:
        print(json.dumps(facts, indent=1))
        return
    print("machine: %s" % facts["machine"])
    after = facts["load_after"]
    print("load average before: %s, after: %s" % (
        [round(x, 2) for x in load_before], [round(x, 2) for x in after]))  # fmt: skip
    print("command: %s" % " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]]))
    print("the hour: %d fragments, the export %.1f MB; %d rounds, in turn" % (
        len(pieces), len(held) / 1e6, args.rounds))  # fmt: skip
    labels = {
        "copy_file": "copy, one file (copyfile + fsync)",
        "copy_stored": "copy, the stored files into one (+ fsync)",
        "two_hashes": "two SHA-256 passes at once, in memory",
        "stream": "the export's stream alone (no ledger)",
        "export": "the export, whole",
    }
    base_file, base_stored = med["copy_file"][0], med["copy_stored"][0]
    for n, label in labels.items():
        walls = " / ".join("%.2f" % w for w in facts["wall_s"][n])
        print("  %-44s %s s, median %.2f s (CPU %.2f s): %.2fx the one file, %.2fx the stored" % (
            label, walls, med[n][0], med[n][1], med[n][0] / base_file,
            med[n][0] / base_stored))  # fmt: skip
    held.release()


if __name__ == "__main__":
    main()
