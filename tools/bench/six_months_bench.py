"""Six months on a microcontroller: the agent's heap, checkpoint, boot and retention plan
against the days recorded, under MicroPython, on a card that fills and evicts.

    .venv/bin/python tools/bench/six_months_bench.py [--chunks C] [--days RANGES]
        [--sample D,D,...] [--card-days K] [--media-bytes B] [--no-media-files] [--json]
        [--keep DIR]

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

At the issue's full count (``--chunks 36000``: ten hours a day of 1 s chunks, millions of
chunks in six months) two things would cost more than everything the agent does: a media
file per chunk (millions of files to create, and to copy into MicroPython's file system
on each sample day), and checking the ledger once the days are done. So
``--no-media-files`` counts each chunk's media on the card without writing it (an
eviction frees the chunk's known size and is logged on the card, and the check holds the
log to the ledger's eviction events), and the check always runs beside the days, in a
second process that reads each ledger segment once it is closed, in bounded memory.

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
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

from common import REPO, machine

from firmware.store import SegmentScan, segment_name
from host import compliance
from protocol.ledger import Entry, media_digest
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
from protocol.verify import OK, verify_chunks

SCRIPT = REPO / "tools/bench/mpy_six_months.py"
SEED = bytes(range(32))
DEVICE = "SC-LONG-0001"
DAY_MS = 86_400_000
FLOOR_DAYS = 183
HEADER_LEN = 8  # a ledger record's frame (length and CRC) before its payload
EVICTED_NAME = "bench-evicted"  # mpy_six_months.py's log of a card without media files
T0_MS = 1767600000000  # mpy_six_months.py's first day's power-on
# CPython days run in stages of at most this many, each a child process: the first stage
# is short, so that the card's size (measured on day one) is known early and the check
# can start following the ledger.
STAGE_DAYS = 30
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
    # A full day of 36,000 chunks runs in about 120 steps, not 1,200: fewer collections,
    # and the list of the heap before each step (the bench's own) stays short.
    step = max(MPY_STEP_CHUNKS, settings["chunks"] // 120)
    settings = dict(settings, path="/card", native=False, sync_every=1, step_chunks=step)
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
    media_files: bool = True,
) -> dict:
    """Record ``days`` (day numbers, ascending) on one card; the ``sample`` ones under
    MicroPython. Returns the per-day figures, the card's capacity and the check of the card
    (``check_card``, run beside the days by a Follower once the capacity is known)."""
    card = workdir / "card"
    settings: dict = {
        "chunks": chunks,
        "card_days": card_days,
        "budget": 1,
        "media_bytes": media_bytes,
        "media_files": media_files,
    }
    rows: list = []
    capacity = 0
    run: list = []
    where = ""
    follower: Follower | None = None
    # Chunks recorded before this may have passed the floor by the last day (see CardCheck).
    old_ms = T0_MS + (days[-1] + 1 - FLOOR_DAYS) * DAY_MS

    def flush() -> None:
        nonlocal capacity, follower
        if not run:
            return
        # The bytes in use carry over from the day before (a card without media files
        # cannot be measured by its files).
        used = rows[-1]["card_used"] if rows else card_bytes(card)
        s = dict(settings, days=list(run), card_bytes=capacity, card_used=used)
        t = time.perf_counter()
        if where == "mpy":
            got = run_micropython(s, card, workdir, heap)
        else:
            got = run_cpython(
                dict(s, path=str(card), native=True, sync_every=1, durable=False), workdir
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
        if follower is None:
            follower = Follower(card, capacity, old_ms, media_files, workdir)

    try:
        for day in days:
            here = "mpy" if day in sample else "cpython"
            if here != where or len(run) >= (STAGE_DAYS if rows else 1):
                flush()
                where = here
            run.append(day)
        flush()
    except BaseException:
        if follower is not None:
            follower.stop()
        raise
    assert follower is not None
    check = follower.result()
    return {"days": rows, "capacity": capacity, "card": str(card), "check": check}


class EvictionModel:
    """What the rules must evict, replayed from the ledger one entry at a time on a card of
    ``capacity`` bytes: a write that does not fit first frees the oldest chunks that are
    receipted and past the floor, until the room it needs (entry, media and the agent's
    slack) is free, and no more. ``evicted`` lists the media digests, in order.

    The chunks on the card sit in arrays (start time, seq, bytes, digest), oldest first,
    about 60 bytes each: six months at full rate are millions of them. Chunks are recorded
    in seq and time order and receipts cover a prefix of seqs, so what may go is always a
    prefix of them; the model checks that order as it goes rather than assume it."""

    def __init__(self, capacity: int, floor_days: int = FLOOR_DAYS) -> None:
        self.capacity = capacity
        self.floor_ms = floor_days * DAY_MS
        self.used = 0
        self.received = -1
        self.starts = array("q")
        self.seqs = array("q")
        self.sizes = array("q")
        self.digests = bytearray()
        self.head = 0  # the oldest chunk still on the card
        self.evicted: list = []
        self.out_of_order = 0  # chunks older than the one before them (none expected)
        self.compact_at = 1 << 20  # chunks gone before the arrays drop them

    def feed(self, e: "Entry") -> None:
        f = e.fields
        media = f[F_PLAIN_LEN] if e.kind == KIND_CHUNK else 0
        need = len(e.raw) + HEADER_LEN + media
        if self.used + need > self.capacity:
            self._free(len(e.raw) + media + ROOM_SLACK - (self.capacity - self.used), f[F_WALL_MS])
        self.used += need
        if e.kind == KIND_CHUNK:
            start = f[F_START_MS]
            if len(self.starts) > self.head and start < self.starts[-1]:
                self.out_of_order += 1
            self.starts.append(start)
            self.seqs.append(e.seq)
            self.sizes.append(media)
            self.digests += media_digest(f)
        elif f.get(F_EVENT) == EV_HOST_RECEIPT:
            self.received = max(self.received, f[F_DETAIL]["through_seq"])

    def _free(self, short: int, wall: int) -> None:
        freed = 0
        i = self.head
        while (
            freed < short
            and i < len(self.seqs)
            and self.seqs[i] <= self.received
            and wall - self.starts[i] >= self.floor_ms
        ):
            self.evicted.append(bytes(self.digests[32 * i : 32 * i + 32]))
            freed += self.sizes[i]
            i += 1
        self.used -= freed
        self.head = i
        if self.head > self.compact_at and self.head * 2 > len(self.seqs):
            # Drop what went, now and then, so the arrays hold what is on the card.
            del self.starts[: self.head], self.seqs[: self.head], self.sizes[: self.head]
            del self.digests[: 32 * self.head]
            self.head = 0


def model_evictions(entries: list, capacity: int, floor_days: int = FLOOR_DAYS) -> list:
    """The media digests the rules must evict, in order (see EvictionModel)."""
    model = EvictionModel(capacity, floor_days)
    for e in entries:
        model.feed(e)
    return model.evicted


class CardCheck(list):
    """Where the verifier puts each entry it parsed (``verify_chunks(keep=...)``): nothing is
    kept but what the checks need, so millions of entries pass through in bounded memory.
    The model replays them; the eviction events' digests are gathered; the compliance check
    is given every event and the chunks old enough that the rules could have let them go by
    the end of the run (``old_ms``: recorded before it), since it needs the chunks an
    eviction names; a younger chunk evicted would be caught by the model (it never evicts
    one), not by it. With media files, every chunk's digest is kept for the file check."""

    def __init__(self, capacity: int, old_ms: int, media_files: bool) -> None:
        super().__init__()
        self.model = EvictionModel(capacity)
        self.old_ms = old_ms
        self.for_compliance: list = []
        self.evicted: list = []
        self.chunks = 0
        self.entries = 0
        self.chunk_digests: list | None = [] if media_files else None

    def append(self, e: "Entry") -> None:
        self.entries += 1
        self.model.feed(e)
        if e.kind == KIND_CHUNK:
            self.chunks += 1
            if self.chunk_digests is not None:
                self.chunk_digests.append(media_digest(e.fields))
            if e.fields[F_START_MS] < self.old_ms:
                self.for_compliance.append(e)
            return
        self.for_compliance.append(e)
        if e.fields.get(F_EVENT) == EV_EVICTION:
            self.evicted.extend(e.fields[F_DETAIL]["media"])


def ledger_chunks(card: str, done: "Callable[[], bool] | None" = None) -> "Iterator[bytes]":
    """The ledger's entries as chunks of bytes (many entries each) for the verifier.

    With ``done``, follow a card that is still being written: a segment is read once the
    next one exists (a closed segment is never written again), and the last one once
    ``done()`` says the run is over. A run under MicroPython replaces the card's folder
    when it copies it back out; a read that finds it missing waits and tries again."""
    index = 0
    while True:
        path = Path(card) / "ledger" / segment_name(index)
        if done is not None:
            final = done()  # asked before looking: a segment seen after it is whole
            if not (Path(card) / "ledger" / segment_name(index + 1)).exists():
                if not final:
                    time.sleep(1)  # the segment may still grow, or the card is being copied
                    continue
                if not path.exists():
                    return
        elif not path.exists():
            return
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            time.sleep(1)
            continue
        with f:
            batch: list = []
            for _, payload in SegmentScan(f, read_size=1 << 20):
                batch.append(payload)
                if len(batch) >= 4096:
                    yield b"".join(batch)
                    batch = []
            if batch:
                yield b"".join(batch)
        index += 1


def check_card(
    card: str,
    capacity: int,
    old_ms: int = 1 << 62,
    media_files: bool = True,
    done: "Callable[[], bool] | None" = None,
) -> dict:
    """The ledger verified, the compliance check's eviction flags, and the evictions held
    against the model; the media left on the card against the chunks not evicted (with
    media files), or the card's log of what it evicted against the eviction events."""
    sink = CardCheck(capacity, old_ms, media_files)
    report = verify_chunks(
        ledger_chunks(card, done), DEVICE, make_signer(SEED).public_key(), keep=sink
    )
    flags = [
        fl for fl in compliance.check(sink.for_compliance, {}) if fl.code.startswith("eviction")
    ]
    evicted = sink.evicted
    expected = sink.model.evicted
    gone = set(evicted)
    if sink.chunk_digests is not None:
        media_dir = Path(card) / "media"
        present = {p.name for p in media_dir.rglob("*.bin") if p.is_file()}
        missing = [
            d for d in sink.chunk_digests if d not in gone and d.hex() + ".bin" not in present
        ]
        kept_evicted = [d for d in evicted if d.hex() + ".bin" in present]
        logged_ok = True
    else:
        log = Path(card) / EVICTED_NAME
        raw = log.read_bytes() if log.exists() else b""
        logged = [raw[i : i + 32] for i in range(0, len(raw), 32)]
        # The card removed exactly what the ledger says it evicted, each file once.
        logged_ok = logged == evicted and len(gone) == len(evicted)
        missing = kept_evicted = []
    return {
        "verified": report.state == OK,
        "verify_state": report.state,
        "entries": sink.entries,
        "chunks": sink.chunks,
        "evicted": len(evicted),
        "expected_evicted": len(expected),
        "evictions_match": evicted == expected,
        "out_of_order": sink.model.out_of_order,
        "eviction_flags": [fl.message for fl in flags],
        "media_missing": len(missing),
        "evicted_still_there": len(kept_evicted),
        "eviction_log_matches": logged_ok,
    }


def _follow(card: str, capacity: int, old_ms: int, media_files: bool, done, out: str) -> None:
    result = check_card(card, capacity, old_ms, media_files, done.is_set)
    Path(out).write_text(json.dumps(result))


class Follower:
    """The check in a second process, reading the card's closed ledger segments while the
    days are still being recorded: a run of millions of entries does not wait for it."""

    def __init__(self, card: Path, capacity: int, old_ms: int, media_files: bool, work: Path):
        ctx = multiprocessing.get_context("fork")
        self.done = ctx.Event()
        self.out = work / "check.json"
        self.proc = ctx.Process(
            target=_follow,
            args=(str(card), capacity, old_ms, media_files, self.done, str(self.out)),
        )
        self.proc.start()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()

    def result(self) -> dict:
        self.done.set()
        self.proc.join()
        if self.proc.exitcode:
            raise RuntimeError("the check of the card failed (exit %s)" % self.proc.exitcode)
        return json.loads(self.out.read_text())


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
    ap.add_argument(
        "--no-media-files",
        action="store_true",
        help="count each chunk's media on the card without writing a file for it",
    )
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
        got = live(
            work,
            days,
            sample,
            args.chunks,
            args.card_days,
            args.media_bytes,
            args.heap,
            not args.no_media_files,
        )
        wall = time.perf_counter() - t0
        check = got["check"]
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
        and check["eviction_log_matches"]
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
