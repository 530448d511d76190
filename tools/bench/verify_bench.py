"""Verify benchmark: ``sealcam verify`` throughput and peak memory on a large ledger.

    .venv/bin/python tools/bench/verify_bench.py [--json] [--mb 200] [--entries 20000]

Figures, all measured in one run on the same bytes:
- verifier throughput: entries per second of CPU time through
  ``protocol.verify.verify_chunks`` (read, parse, hash, check signature and chain) on a
  ledger of 1 s chunk entries, against PyNaCl's ``VerifyKey.verify`` on the same entries'
  signatures alone (the Sig_structure bytes made beforehand), five alternating rounds;
- the same for the ``sealcam verify`` command on a file of ``--mb`` MB, end to end as a
  user runs it, and its peak resident memory (the child's ru_maxrss), against the file size.
Goals: throughput >= 70% of PyNaCl alone; peak RSS for a 200 MB ledger under 64 MB.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from common import REPO, machine
from ledger_bench import SEED, chunk_fields
from nacl.signing import VerifyKey

from protocol.keys import DeviceKey, encode_key
from protocol.ledger import LedgerWriter, read_ledger
from protocol.registry import KIND_CHUNK
from protocol.signer import make_signer
from protocol.verify import verify_chunks

DEVICE = "SC-BENCH-0001"


def write_ledger(path: str, megabytes: float) -> int:
    """A ledger of signed 1 s chunk entries of at least ``megabytes``; returns the count."""
    writer = LedgerWriter(make_signer(SEED), DEVICE)
    fields = chunk_fields(7)
    count = 0
    size = 0
    with open(path, "wb") as f:
        while size < megabytes * 1e6:
            raw = writer.append(KIND_CHUNK, fields, 1000 * count, 1000 * count)
            f.write(raw)
            size += len(raw)
            count += 1
    return count


def bench_throughput(entries: int) -> dict:
    writer = LedgerWriter(make_signer(SEED), DEVICE)
    fields = chunk_fields(7)
    raws = [writer.append(KIND_CHUNK, fields, 1000 * i, 1000 * i) for i in range(entries)]
    data = b"".join(raws)
    public = make_signer(SEED).public_key()
    parsed = [r[2] for r in read_ledger(data)]
    pairs = [(e.to_be_signed(), e.signature) for e in parsed]
    del parsed

    def ours() -> None:
        chunks = (data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20))
        report = verify_chunks(chunks, DEVICE, public)
        assert report.state == "OK", report.to_dict()

    def nacl() -> None:
        key = VerifyKey(public)
        for message, signature in pairs:
            key.verify(message, signature)

    rounds = []
    # CPU time of this process, not wall time: on a shared machine other processes take
    # the cores at random moments, and the two sides alternate so both see the same load.
    for _ in range(5):
        t0 = time.process_time()
        ours()
        t1 = time.process_time()
        nacl()
        t2 = time.process_time()
        rounds.append((entries / (t1 - t0), entries / (t2 - t1)))
    return {
        "entries": entries,
        "entry_bytes": len(raws[0]),
        "ours_per_s": [round(a) for a, _ in rounds],
        "nacl_per_s": [round(b) for _, b in rounds],
        "ratio": [round(a / b, 3) for a, b in rounds],
    }


def bench_command(megabytes: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = os.path.join(tmp, "big.ledger")
        count = write_ledger(ledger, megabytes)
        keyfile = os.path.join(tmp, "device.pub")
        public = make_signer(SEED).public_key()
        with open(keyfile, "wb") as f:
            f.write(encode_key(DeviceKey(DEVICE, public)))
        sealcam = os.path.join(os.path.dirname(sys.executable), "sealcam")
        t0 = time.perf_counter()
        done = subprocess.run(
            [sealcam, "verify", ledger, "--key", keyfile, "--json"],
            capture_output=True,
            text=True,
            cwd=str(REPO),
        )
        elapsed = time.perf_counter() - t0
        # The only child this process has waited for: its peak resident set, in KiB, and
        # the CPU time it used (wall time on a shared machine says more about the others).
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib = usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime
        report = json.loads(done.stdout)
        assert done.returncode == 0 and report["stats"]["entries"] == count, done.stderr
        return {
            "file_mb": round(os.path.getsize(ledger) / 1e6, 1),
            "entries": count,
            "seconds": round(elapsed, 1),
            "entries_per_s": round(count / elapsed),
            "cpu_seconds": round(cpu, 1),
            "entries_per_cpu_s": round(count / cpu),
            "peak_rss_mb": round(peak_kib / 1024, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--mb", type=float, default=200.0)
    parser.add_argument("--entries", type=int, default=20000)
    args = parser.parse_args()
    command = bench_command(args.mb)  # first: the only child whose RSS is counted
    t = bench_throughput(args.entries)
    result = {"machine": machine(), "command": command, "throughput": t}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(result["machine"])
    print(
        "sealcam verify on %.1f MB (%d entries): %.1f s wall, %.1f s CPU (%d entries per CPU"
        " second), peak RSS %.1f MB"
        % (
            command["file_mb"],
            command["entries"],
            command["seconds"],
            command["cpu_seconds"],
            command["entries_per_cpu_s"],
            command["peak_rss_mb"],
        )
    )
    for ours, nacl, ratio in zip(t["ours_per_s"], t["nacl_per_s"], t["ratio"], strict=True):
        print("verifier %d entries/s, PyNaCl alone %d/s: %.0f%%" % (ours, nacl, 100 * ratio))


if __name__ == "__main__":
    main()
