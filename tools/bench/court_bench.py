"""Court package benchmark: packaging a one-hour recording against copying its bytes.

    .venv/bin/python tools/bench/court_bench.py [--minutes M] [--hour-size WxH] [--rounds R]
        [--keep DIR] [--json]

The recording is the footage benchmark's (``footage_bench.make_hour``: a minute of 30 fps
H.264 + AAC fed 60 times over to the real agent with the fMP4 packager, 3,600 signed
fragments, in a real SQLite evidence store); ``--keep DIR`` keeps it for a later run.

1. Packaging: ``host.court.package.build`` of the whole recording (its entries, the signed
   fragments end to end in ``video.mp4`` checked against their signed hashes, an inclusion
   proof per entry from one tree of the host log, the note as HTML and PDF, the manifest
   signed, every file made durable and the folder renamed into place) against copying its
   bytes: the recording's stored media files concatenated into one file and fsynced (what
   any copy to a disc costs at least). Alternated, median of the rounds; everything is in
   the page cache. Goal (issue 15): packaging <= 1.3x the copy.
2. Checking the package as ``sealcam verify PACKAGE`` and the packaged ``verify.py`` do
   (``host.court.verify_package.check``: every file's SHA-256, every entry's signature and
   link, every chunk against its signed hash, every inclusion proof) against SHA-256 of the
   package's files in 1 MiB reads.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import machine
from footage_bench import make_hour

from host.court import package
from host.court import verify_package as vp
from host.evidence import SqliteEvidenceStore
from protocol.ledger import media_digest, parse_entry
from protocol.registry import KIND_CHUNK
from protocol.signer import make_signer

DEVICE = "SC-BENCH-0001"
HOST_SEED = bytes(range(100, 132))
HOST_KID = "bench-host"


def media_files(ev_root: str) -> list:
    store = SqliteEvidenceStore(ev_root, readonly=True)
    try:
        chunks = [
            e for e in (parse_entry(r) for r in store.entries(DEVICE)) if e.kind == KIND_CHUNK
        ]
        return [store.media_file(media_digest(e.fields)) for e in chunks]
    finally:
        store.close()


def copy_bytes(files: list, out: str) -> int:
    """The recording's media, one file after another, into ``out``; fsynced."""
    total = 0
    with open(out, "wb") as dst:
        for path in files:
            with open(path, "rb") as src:
                total += os.sendfile(dst.fileno(), src.fileno(), 0, os.fstat(src.fileno()).st_size)
        dst.flush()
        os.fsync(dst.fileno())
    return total


def build(ev_root: str, out: Path) -> package.Made:
    store = SqliteEvidenceStore(ev_root, readonly=True)
    try:
        number = min(
            int.from_bytes(e.fields[8], "big")
            for e in (parse_entry(r) for r in store.entries(DEVICE, 0)[:8])
            if 8 in e.fields
        )
        wanted = [package.Wanted("%s/%d" % (DEVICE, number), DEVICE, number)]
        extractor: dict = {"user": None, "name": "bench", "roles": []}
        return package.build(
            store,
            wanted,
            None,
            extractor,
            make_signer(HOST_SEED),
            HOST_KID,
            package.Options(out),
            int(time.time() * 1000),
        )
    finally:
        store.close()


def sha_folder(root: Path) -> int:
    total = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
                    total += len(block)
    return total


def settle(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    os.sync()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--hour-size", default="1280x720")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", help="make the recording in this folder and keep it")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.hour_size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or os.path.join(tmp, "hour")
        os.makedirs(folder, exist_ok=True)
        facts = make_hour(args.minutes, size, folder, 60)
        ev_root = os.path.join(folder, "evidence")
        files = media_files(ev_root)
        out_dir = Path(folder) / "bench-out"
        out_dir.mkdir(exist_ok=True)
        pkg, copied = out_dir / "pkg", out_dir / "copy.bin"
        packaging, copying, checking, hashing = [], [], [], []
        made = None
        for _ in range(args.rounds):
            settle(pkg)
            t = time.perf_counter()
            made = build(ev_root, pkg)
            packaging.append(time.perf_counter() - t)
            settle(copied)
            t = time.perf_counter()
            media_bytes = copy_bytes(files, str(copied))
            copying.append(time.perf_counter() - t)
            t = time.perf_counter()
            report = vp.check(vp.Folder(str(pkg)))
            checking.append(time.perf_counter() - t)
            if not report.ok:
                raise SystemExit("the package does not check OK: %s" % report.to_dict())
            t = time.perf_counter()
            package_bytes = sha_folder(pkg)
            hashing.append(time.perf_counter() - t)
        assert made is not None
        result = {
            "machine": machine(),
            "minutes": args.minutes,
            "chunks": len(files),
            "media_bytes": media_bytes,
            "package_bytes": package_bytes,
            "package_s": statistics.median(packaging),
            "copy_s": statistics.median(copying),
            "check_s": statistics.median(checking),
            "sha256_s": statistics.median(hashing),
            "rounds": {"package": packaging, "copy": copying, "check": checking, "sha256": hashing},
            "made": facts.get("made"),
        }
        result["package_ratio"] = result["package_s"] / result["copy_s"]
        result["check_ratio"] = result["check_s"] / result["sha256_s"]
        shutil.rmtree(out_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("machine: %s" % result["machine"])
        print(
            "recording: %d min, %d chunks, %.1f MB of media; package %.1f MB"
            % (args.minutes, len(files), media_bytes / 1e6, package_bytes / 1e6)
        )
        print(
            "packaging %.2f s against copying the bytes %.2f s: %.2fx (goal <= 1.3x: %s)"
            % (
                result["package_s"],
                result["copy_s"],
                result["package_ratio"],
                "met" if result["package_ratio"] <= 1.3 else "NOT met",
            )
        )
        print(
            "checking the package %.2f s against SHA-256 of its files %.2f s: %.2fx"
            % (result["check_s"], result["sha256_s"], result["check_ratio"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
