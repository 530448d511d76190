"""Court package benchmark: packaging a one-hour recording against copying its bytes.

    .venv/bin/python tools/bench/court_bench.py [--minutes M] [--hour-size WxH] [--rounds R]
        [--keep DIR] [--fresh] [--compare CHECKOUT ...] [--json]

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
   ``--fresh`` makes each package in a new process, as ``sealcam export`` does (the
   PDF library is then loaded in every round, not only the first); ``--compare CHECKOUT``
   (given once or more) also makes it, in each round and in a new process too, with the
   code of another checkout of sealcam (on ``PYTHONPATH``), all in turn with the copy, the
   order rotated every round: an A/B of versions under the same load. Each package's CPU
   time (user + system, the processes it starts included) is given beside its seconds: on
   two cores a package is bound by its CPU as much as by the disk.
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import cpu_s, machine
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
            for e in (parse_entry(r) for r in store.entries(DEVICE, 0, 7))
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


def build_fresh(ev_root: str, out: Path, code: "str | None") -> tuple:
    """Seconds and CPU seconds of ``build`` in a new process, with the code of checkout
    ``code`` if given: timed in that process around the one call, as in this one (its CPU
    with the processes the package starts beside, which end with it)."""
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join(
            [os.path.abspath(code), *filter(None, [env.get("PYTHONPATH")])]
        )
    ran = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--build-one", ev_root, str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    if ran.returncode != 0:
        raise SystemExit("making the package failed (%s):\n%s" % (code or "this code", ran.stderr))
    got = json.loads(ran.stdout.strip().splitlines()[-1])
    return float(got["seconds"]), float(got["cpu"])


def build_one(ev_root: str, out: str) -> int:
    t, c = time.perf_counter(), cpu_s()
    build(ev_root, Path(out))
    print(json.dumps({"seconds": time.perf_counter() - t, "cpu": cpu_s() - c}))
    return 0


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
    ap.add_argument("--fresh", action="store_true", help="each package in a new process")
    ap.add_argument(
        "--compare", metavar="CHECKOUT", action="append", default=[],
        help="also package with this code, in turn",
    )  # fmt: skip
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--build-one", nargs=2, metavar=("EVIDENCE", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_one:
        return build_one(*args.build_one)
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
        packaging, copying, checking, hashing, package_cpu = [], [], [], [], []
        before: dict = {code: [] for code in args.compare}
        before_cpu: dict = {code: [] for code in args.compare}
        loads: list = []
        steps = ["package", "copy", *args.compare]
        for n in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for step in steps[n % len(steps) :] + steps[: n % len(steps)]:
                if step == "copy":
                    settle(copied)
                    t = time.perf_counter()
                    media_bytes = copy_bytes(files, str(copied))
                    copying.append(time.perf_counter() - t)
                    settle(copied)
                elif step != "package":
                    other = out_dir / "pkg-before"
                    settle(other)
                    wall, cpu = build_fresh(ev_root, other, step)
                    before[step].append(wall)
                    before_cpu[step].append(cpu)
                    settle(other)
                elif args.fresh or args.compare:
                    settle(pkg)
                    wall, cpu = build_fresh(ev_root, pkg, None)
                    packaging.append(wall)
                    package_cpu.append(cpu)
                else:
                    settle(pkg)
                    t, c = time.perf_counter(), cpu_s()
                    build(ev_root, pkg)
                    packaging.append(time.perf_counter() - t)
                    package_cpu.append(cpu_s() - c)
            t = time.perf_counter()
            report = vp.check(vp.Folder(str(pkg)))
            checking.append(time.perf_counter() - t)
            if not report.ok:
                raise SystemExit("the package does not check OK: %s" % report.to_dict())
            t = time.perf_counter()
            package_bytes = sha_folder(pkg)
            hashing.append(time.perf_counter() - t)
        result = {
            "machine": machine(),
            "minutes": args.minutes,
            "chunks": len(files),
            "media_bytes": media_bytes,
            "package_bytes": package_bytes,
            "package_s": statistics.median(packaging),
            "package_cpu_s": statistics.median(package_cpu),
            "copy_s": statistics.median(copying),
            "check_s": statistics.median(checking),
            "sha256_s": statistics.median(hashing),
            "rounds": {
                "package": packaging,
                "package_cpu": package_cpu,
                "before_cpu": before_cpu,
                "copy": copying,
                "check": checking,
                "sha256": hashing,
                "before": before,
            },
            "load_average": [*loads, os.getloadavg()[0]],
            "fresh_process": bool(args.fresh or args.compare),
            "made": facts.get("made"),
        }
        result["package_ratio"] = result["package_s"] / result["copy_s"]
        result["before"] = {
            code: {
                "s": statistics.median(v),
                "ratio": statistics.median(v) / result["copy_s"],
                "cpu_s": statistics.median(before_cpu[code]),
            }
            for code, v in before.items()
        }
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
        print("packaging's CPU (its processes included): %.2f s" % result["package_cpu_s"])
        for code, got in result["before"].items():
            print(
                "the code of %s: packaging %.2f s: %.2fx the copy; CPU %.2f s"
                % (code, got["s"], got["ratio"], got["cpu_s"])
            )
        print(
            "rounds (package / copy%s): %s; load average %s"
            % (
                "".join(" / " + code for code in before),
                ", ".join(
                    " / ".join("%.2f" % v for v in vs)
                    for vs in zip(packaging, copying, *before.values(), strict=False)
                ),
                " ".join("%.1f" % v for v in result["load_average"]),
            )
        )
        print(
            "CPU per round (package%s): %s"
            % (
                "".join(" / " + code for code in before),
                ", ".join(
                    " / ".join("%.2f" % v for v in vs)
                    for vs in zip(package_cpu, *before_cpu.values(), strict=False)
                ),
            )
        )
        print(
            "checking the package %.2f s against SHA-256 of its files %.2f s: %.2fx"
            % (result["check_s"], result["sha256_s"], result["check_ratio"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
