"""Six months on a microcontroller: the agent's heap, checkpoint, boot and retention plan
against the days recorded, under MicroPython, on a card that fills and evicts.

    .venv/bin/python tools/bench/six_months_bench.py [--chunks C] [--days RANGES]
        [--sample D,D,...] [--card-days K] [--media-bytes B] [--json] [--keep DIR]

One device's card goes through the days RANGES names (default 0-195: every day for 196
days; "0-9,184-188" skips the days between, the recorder off), each a shift of C one-second
chunks (default 360) of B bytes of media each (default 4096) with a dock and a host receipt
after it, on a card that holds K days of footage (default 185), so that from about day K on,
retention must evict footage older than the 183-day floor that the host has receipted, and
nothing else. The firmware agent is the
same code in both places it runs (tools/bench/mpy_six_months.py):

- the sample days (default 1, 3, 10, 30, 60, 90, 120, 150, 180, 186, 190, 195) run under
  MicroPython (the WebAssembly port in Node.js, tools/mpy/run.mjs --steps) with the
  pure-Python Ed25519 signer and the cadenced signer at a 1 % budget: the card is copied in,
  the day is run, and the card is copied back out;
- every other day runs on CPython (PyNaCl signer, the store never calling fsync: no power
  cut is staged there), which builds the older months of the same card fast: same store
  format, same ledger.

Per MicroPython day: the live heap (``gc.mem_alloc()`` after a collection, the peak over the
day's steps) less the heap of the loaded code with no agent, the checkpoint's bytes, a fresh
boot from the card (ms), and planning room for a day of footage (ms). At the end, on CPython:
the whole ledger verifies (protocol.verify), the host's compliance check raises no eviction
flag, and the media evicted is exactly what an independent model of the card and the rules
(written here, not the firmware's) says must go: oldest first, receipted, past the floor, no
more than the room each write needed.

The heap: this WebAssembly build takes ``heapsize`` as its first heap region only, adds
128 MiB regions whenever it runs short, and collects only when control returns to
JavaScript, so it cannot stand for a board's fixed heap by itself; the day is run in steps
with a collection between them, and the live heap is measured there and held against the
budget (the issue's 128 KB for the agent) by this script.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, machine

from firmware.store import ledger_records
from host import compliance
from protocol.ledger import media_digest, parse_entry
from protocol.registry import (
    EV_EVICTION,
    EV_HOST_RECEIPT,
    F_DETAIL,
    F_EVENT,
    F_PLAIN_LEN,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger

SCRIPT = REPO / "tools/bench/mpy_six_months.py"
SEED = bytes(range(32))
DEVICE = "SC-LONG-0001"
DAY_MS = 86_400_000
FLOOR_DAYS = 183
HEADER_LEN = 8  # a ledger record's frame (length and CRC) before its payload
ROOM_SLACK = 64  # what the agent asks beyond an entry and its media when it makes room
# MicroPython's first heap region: large enough that the code and a step's garbage fit, so
# that this build never adds a region (heap_total shows it), and small beside the 4 GiB
# address space, so that few random words (digests, signatures) in live objects look like
# pointers into the heap and keep garbage alive in its conservative collection.
MPY_HEAP = 8 * 1024 * 1024
MPY_STEP_CHUNKS = 30  # chunks recorded in one step: a step's garbage stays small
AGENT_BUDGET = 128 * 1024  # the bound on the agent's live heap
SAMPLE = (1, 3, 10, 30, 60, 90, 120, 150, 180, 186, 190, 195)
_LINE = re.compile(r"^day (.*)$")


def _value(text: str) -> "int | list":
    """A figure of a day's line: a number, or numbers joined by "/" (one per step)."""
    if "/" in text:
        return [int(v) for v in text.split("/")]
    return int(text)


def _figures(out: str) -> list:
    days = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if m:
            days.append({k: _value(v) for k, v in (p.split("=", 1) for p in m.group(1).split())})
    return days


def _script(settings: dict, workdir: Path) -> Path:
    path = workdir / "bench-script.py"
    path.write_text("BENCH = %r\n" % settings + SCRIPT.read_text())
    return path


def run_cpython(settings: dict, workdir: Path) -> list:
    """Days on CPython: the same script, in a child process (a clean heap, like a board)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(_script(settings, workdir))],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    if done.returncode:
        raise RuntimeError("the CPython days failed:\n%s" % done.stderr[-3000:])
    return _figures(done.stdout)


def run_micropython(settings: dict, card: Path, workdir: Path, heap: int) -> list:
    """Days under MicroPython on a copy of ``card``, copied back over it afterwards."""
    settings = dict(settings, path="/card", native=False, sync_every=1, step_chunks=MPY_STEP_CHUNKS)
    out = workdir / "card-out"
    if out.exists():
        shutil.rmtree(out)
    cmd = [
        "node",
        str(REPO / "tools/mpy/run.mjs"),
        "--script",
        str(_script(settings, workdir)),
        "--steps",
        "--heap",
        str(heap),
        "--copy-out",
        "/card=%s" % out,
    ]
    if card.exists():
        cmd[-2:-2] = ["--copy-in", "%s=/card" % card]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(
            "MicroPython could not run (run tools/mpy-test once to install it): %s" % exc
        ) from None
    if done.returncode:
        raise RuntimeError(
            "the MicroPython days failed:\n%s" % (done.stderr or done.stdout)[-3000:]
        )
    if card.exists():
        shutil.rmtree(card)
    out.rename(card)
    return _figures(done.stdout)


def card_bytes(card: Path) -> int:
    """Bytes the card's ledger and media take, as the Card in the script counts them."""
    total = 0
    for sub in ("ledger", "media"):
        for folder, _, names in os.walk(card / sub):
            total += sum(os.path.getsize(os.path.join(folder, n)) for n in names)
    return total


def live(
    workdir: Path,
    days: list,
    sample: set,
    chunks: int,
    card_days: int,
    media_bytes: int,
    heap: int = MPY_HEAP,
) -> dict:
    """Record ``days`` (day numbers, ascending) on one card; the ``sample`` ones under
    MicroPython. Returns the per-day figures and the card's capacity."""
    card = workdir / "card"
    settings: dict = {
        "chunks": chunks,
        "card_days": card_days,
        "budget": 1,
        "media_bytes": media_bytes,
    }
    rows: list = []
    capacity = 0
    run: list = []
    where = ""

    def flush() -> None:
        nonlocal capacity
        if not run:
            return
        s = dict(settings, days=list(run), card_bytes=capacity, card_used=card_bytes(card))
        t = time.perf_counter()
        if where == "mpy":
            got = run_micropython(s, card, workdir, heap)
        else:
            got = run_cpython(
                dict(s, path=str(card), native=True, sync_every=0, durable=False), workdir
            )
        stage_s = round(time.perf_counter() - t, 1)  # with the copies in and out of the card
        for row in got:
            row["where"] = where
            row["stage_s"] = stage_s
            capacity = row["capacity"]
            if where == "mpy" or row["day"] % 30 == 0:
                print(  # progress, for a run that takes many minutes
                    "day %d (%s): heap %d, checkpoint %d B, boot %d ms, day %d ms, run %.0f s"
                    % (
                        row["day"],
                        where,
                        row["heap_peak"] - row["code_heap"],
                        row["checkpoint_bytes"],
                        row["boot_ms"],
                        row["wall_ms"],
                        stage_s,
                    ),
                    file=sys.stderr,
                )
        rows.extend(got)
        run.clear()

    for day in days:
        here = "mpy" if day in sample else "cpython"
        if here != where:
            flush()
            where = here
        run.append(day)
    flush()
    return {"days": rows, "capacity": capacity, "card": str(card)}


def model_evictions(entries: list, capacity: int, floor_days: int = FLOOR_DAYS) -> list:
    """The media digests the rules must evict, in order, by replaying the ledger's writes on a
    card of ``capacity`` bytes: a write that does not fit first frees the oldest chunks that
    are receipted and past the floor, until the room it needs (entry, media and the agent's
    slack) is free, and no more."""
    used = 0
    on_card: list = []  # (recorded_ms, seq, digest, size), oldest first
    received = -1
    floor_ms = floor_days * DAY_MS
    out: list = []
    for e in entries:
        f = e.fields
        media = f[F_PLAIN_LEN] if e.kind == KIND_CHUNK else 0
        need = len(e.raw) + HEADER_LEN + media
        if used + need > capacity:
            short = len(e.raw) + media + ROOM_SLACK - (capacity - used)
            freed = 0
            keep: list = []
            for item in on_card:
                if freed < short and item[1] <= received and f[F_WALL_MS] - item[0] >= floor_ms:
                    out.append(item[2])
                    freed += item[3]
                    used -= item[3]
                else:
                    keep.append(item)
            on_card = keep
        used += need
        if e.kind == KIND_CHUNK:
            on_card.append((f[F_START_MS], e.seq, media_digest(f), media))
        elif f.get(F_EVENT) == EV_HOST_RECEIPT:
            received = max(received, f[F_DETAIL]["through_seq"])
    return out


def check_card(card: str, capacity: int) -> dict:
    """The ledger verified, the compliance check's eviction flags, and the evictions held
    against the model; the media left on the card against the chunks not evicted."""
    records = list(ledger_records(card))
    report = verify_ledger(b"".join(records), DEVICE, make_signer(SEED).public_key())
    entries = [parse_entry(r) for r in records]
    flags = [fl for fl in compliance.check(entries, {}) if fl.code.startswith("eviction")]
    evicted = [
        d
        for e in entries
        if e.fields.get(F_EVENT) == EV_EVICTION
        for d in e.fields[F_DETAIL]["media"]
    ]
    expected = model_evictions(entries, capacity)
    chunks = [media_digest(e.fields) for e in entries if e.kind == KIND_CHUNK]
    gone = set(evicted)
    media_dir = Path(card) / "media"
    present = {p.name for p in media_dir.rglob("*.bin") if p.is_file()}
    missing = [d for d in chunks if d not in gone and d.hex() + ".bin" not in present]
    kept_evicted = [d for d in evicted if d.hex() + ".bin" in present]
    return {
        "verified": report.state == OK,
        "verify_state": report.state,
        "entries": len(entries),
        "chunks": len(chunks),
        "evicted": len(evicted),
        "expected_evicted": len(expected),
        "evictions_match": evicted == expected,
        "eviction_flags": [fl.message for fl in flags],
        "media_missing": len(missing),
        "evicted_still_there": len(kept_evicted),
    }


def day_ranges(text: str) -> list:
    """``"0-9,184-188"`` as the ascending list of those day numbers (ValueError if not)."""
    days: set = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        first, last = int(lo), int(hi or lo)
        if first < 0 or last < first:
            raise ValueError(part)
        days.update(range(first, last + 1))
    return sorted(days)


def _table(rows: list) -> str:
    head = (
        "| day | ran on | chunks on card | agent heap peak (B) | checkpoint (B) | boot (ms) "
        "| plan (ms) | evicted |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        mpy = r["where"] == "mpy"
        lines.append(
            "| %d | %s | %d | %s | %d | %s | %s | %d |"
            % (
                r["day"],
                "MicroPython" if mpy else "CPython",
                r["on_card"],
                "{:,}".format(r["heap_peak"] - r["code_heap"]) if mpy else "-",
                r["checkpoint_bytes"],
                r["boot_ms"] if mpy else "-",
                r["plan_ms"] if mpy else "-",
                r["evicted"],
            )
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=360, help="one-second chunks a day")
    ap.add_argument("--days", default="0-195", help="days recorded: ranges like 0-9,184-188")
    ap.add_argument(
        "--sample", default=",".join(map(str, SAMPLE)), help="days run under MicroPython"
    )
    ap.add_argument("--card-days", type=int, default=185, help="days of footage the card holds")
    ap.add_argument("--media-bytes", type=int, default=4096, help="media bytes a chunk")
    ap.add_argument("--heap", type=int, default=MPY_HEAP, help="MicroPython's first heap region")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--keep", help="leave the card in this new directory")
    args = ap.parse_args()
    try:
        sample = {int(d) for d in args.sample.split(",") if d.strip()}
        days = day_ranges(args.days)
    except ValueError:
        print(
            "six_months_bench: --days takes ranges like 0-9,184-188 and --sample day numbers "
            "separated by commas",
            file=sys.stderr,
        )
        return 2
    if args.chunks < 1 or not days or args.card_days < 2 or args.media_bytes < 32:
        print(
            "six_months_bench: --chunks must be at least 1, --card-days at least 2 and "
            "--media-bytes at least 32; --days must name a day",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="sealcam-six-months-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        got = live(work, days, sample, args.chunks, args.card_days, args.media_bytes, args.heap)
        wall = time.perf_counter() - t0
        check = check_card(got["card"], got["capacity"])
        if args.keep:
            shutil.copytree(got["card"], args.keep)
    rows = got["days"]
    on_card = 0
    for r in rows:
        on_card += args.chunks + 1 - r["evicted"]  # the stop closes one more
        r["on_card"] = on_card
    mpy = [r for r in rows if r["where"] == "mpy"]
    agent_peak = max((r["heap_peak"] - r["code_heap"] for r in mpy), default=0)
    result = {
        "machine": machine(),
        "load_avg": os.getloadavg(),
        "chunks_per_day": args.chunks,
        "days": days,
        "media_bytes": args.media_bytes,
        "card_bytes": got["capacity"],
        "wall_s": round(wall, 1),
        "mpy_days": [r["day"] for r in mpy],
        "agent_heap_peak": agent_peak,
        "agent_heap_budget": AGENT_BUDGET,
        "heap_total_max": max((r["heap_total"] for r in mpy), default=0),
        "check": check,
        "rows": rows,
    }
    ok = (
        check["verified"]
        and check["evictions_match"]
        and not check["eviction_flags"]
        and not check["media_missing"]
        and not check["evicted_still_there"]
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            "machine: %s; load average %.2f %.2f %.2f" % ((result["machine"],) + result["load_avg"])
        )
        print(
            "%d days of %d one-second chunks on a %d-byte card, %.0f s; under MicroPython: days %s"
            % (
                len(days),
                args.chunks,
                got["capacity"],
                wall,
                ", ".join(map(str, result["mpy_days"])),
            )
        )
        print(_table(rows if len(rows) <= 40 else mpy))
        print(
            "agent heap peak %d B (budget %d B); ledger %s; evicted %d of %d chunks, the model "
            "says %d (%s); eviction flags %d; media missing %d; evicted yet present %d"
            % (
                agent_peak,
                AGENT_BUDGET,
                "verifies" if check["verified"] else "does NOT verify (%s)" % check["verify_state"],
                check["evicted"],
                check["chunks"],
                check["expected_evicted"],
                "same media, same order" if check["evictions_match"] else "they DIFFER",
                len(check["eviction_flags"]),
                check["media_missing"],
                check["evicted_still_there"],
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
