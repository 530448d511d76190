"""Ledger benchmark: signing, hashing and appending entries, each against its raw baseline.

    .venv/bin/python tools/bench/ledger_bench.py [--json] [--seconds S]

Figures, all measured in one run on the same bytes:
- ledger path: chunk entries built, encoded, signed (PyNaCl), hashed into the chain and
  appended to a file, per second, against PyNaCl signing the same Sig_structure bytes;
- per-frame SHA-256: the recorder's frame hashing against bare hashlib on the same frames,
  for 1080p30 (~8 Mbit/s) and 4K30 (~40 Mbit/s) frame sizes;
- the pure-Python signer's signatures per second on CPython and on MicroPython (WebAssembly).
Goals: ledger path >= 40% of the raw sign rate; hashing >= 90% of raw.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from typing import Any

from common import REPO, machine, run_micropython
from nacl.signing import SigningKey

from protocol.frames import FrameHashes
from protocol.ledger import LedgerWriter
from protocol.registry import (
    F_CHUNK_INDEX,
    F_END_MS,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    MEDIA_H264,
)
from protocol.signer import make_signer

SEED = bytes(range(32))
FPS = 30


def rate(fn, seconds: float) -> float:
    """Calls of ``fn`` per second, over at least ``seconds`` of repeated batches."""
    fn()
    calls = 0
    batch = 1
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        calls += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed
        batch = min(batch * 2, 4096)


def chunk_fields(i: int) -> dict:
    frames = [hashlib.sha256(b"%d/%d" % (i, f)).digest() for f in range(FPS)]
    return {
        F_RECORDING: b"rec-0001",
        F_CHUNK_INDEX: i,
        F_START_MS: 1795420800000 + 1000 * i,
        F_END_MS: 1795420801000 + 1000 * i,
        F_FRAME_HASHES: frames,
        F_MEDIA_TYPE: MEDIA_H264,
        F_PLAIN_LEN: 1_000_000,
        F_PLAIN_SHA: frames[0],
    }


def bench_ledger(seconds: float) -> dict:
    fields = chunk_fields(7)
    writer = LedgerWriter(make_signer(SEED), "SC-BENCH-0001")
    sample = writer.append(KIND_CHUNK, fields, 0, 0)
    tbs_len = len(sample) - 64 - 3  # about the bytes a signature covers
    raw_key = SigningKey(SEED)
    tbs = bytes(tbs_len)
    raw = rate(lambda: raw_key.sign(tbs), seconds)
    with tempfile.TemporaryFile() as f:

        def append() -> None:
            f.write(writer.append(KIND_CHUNK, fields, 0, 0))

        ledger = rate(append, seconds)
    return {
        "entry_bytes": len(sample),
        "raw_sign_per_s": raw,
        "ledger_append_per_s": ledger,
        "ratio": ledger / raw,
        "goal": 0.40,
    }


def bench_frames(frame_bytes: int, seconds: float) -> dict:
    frames = [os.urandom(frame_bytes) for _ in range(FPS)]
    total = frame_bytes * len(frames)

    def raw() -> None:
        for fr in frames:
            hashlib.sha256(fr).digest()

    hashes = FrameHashes()

    def ours() -> None:
        for fr in frames:
            hashes.add(fr)
        hashes.take()

    raw_rate = rate(raw, seconds) * total
    our_rate = rate(ours, seconds) * total
    return {
        "frame_bytes": frame_bytes,
        "raw_MBps": raw_rate / 1e6,
        "ours_MBps": our_rate / 1e6,
        "ratio": our_rate / raw_rate,
        "goal": 0.90,
    }


def bench_pure_cpython(seconds: float) -> dict:
    signer = make_signer(SEED, prefer_native=False)
    msg = bytes(1200)
    return {"sign_per_s": rate(lambda: signer.sign(msg), seconds)}


def bench_pure_micropython() -> dict:
    try:
        out = run_micropython(str(REPO / "tools/bench/mpy_signer.py"))
    except RuntimeError as exc:
        return {"error": str(exc)}
    m = re.search(r"sign_per_s=([\d.]+) verify_per_s=([\d.]+)", out)
    if not m:
        return {"error": "unexpected output: %r" % out}
    return {"sign_per_s": float(m.group(1)), "verify_per_s": float(m.group(2))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = ap.parse_args()
    results: dict[str, Any] = {
        "machine": machine(),
        "ledger": bench_ledger(args.seconds),
        "frames_1080p30": bench_frames(8_000_000 // 8 // FPS, args.seconds),
        "frames_4k30": bench_frames(40_000_000 // 8 // FPS, args.seconds),
        "pure_signer_cpython": bench_pure_cpython(args.seconds),
        "pure_signer_micropython": bench_pure_micropython(),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    lg = results["ledger"]
    print("machine: %s" % results["machine"])
    print(
        "ledger path: %.0f entries/s vs raw PyNaCl sign %.0f/s = %.0f%% (goal >= 40%%), "
        "%d-byte chunk entries"
        % (lg["ledger_append_per_s"], lg["raw_sign_per_s"], 100 * lg["ratio"], lg["entry_bytes"])
    )
    for name in ("frames_1080p30", "frames_4k30"):
        fr = results[name]
        print(
            "frame SHA-256 %s (%d-byte frames): %.0f MB/s vs raw hashlib %.0f MB/s = %.1f%% "
            "(goal >= 90%%)"
            % (name[7:], fr["frame_bytes"], fr["ours_MBps"], fr["raw_MBps"], 100 * fr["ratio"])
        )
    print(
        "pure-Python Ed25519 on CPython: %.0f signatures/s"
        % results["pure_signer_cpython"]["sign_per_s"]
    )
    mp = results["pure_signer_micropython"]
    if "error" in mp:
        print("pure-Python Ed25519 on MicroPython: %s" % mp["error"])
    else:
        print(
            "pure-Python Ed25519 on MicroPython (WebAssembly): %.0f signatures/s, "
            "%.0f verifications/s" % (mp["sign_per_s"], mp["verify_per_s"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
