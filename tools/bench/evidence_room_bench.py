"""The evidence room at an agency's size: 100,000 recordings and 1,000 cases (issue 13).

Builds (once, kept with ``--keep DIR``) an embedded evidence store holding 100 devices'
ledgers of 1,000 recordings each (record-start, one chunk, record-stop: real signed entries,
indexed as items the way every command indexes them), 1,000 cases with the recordings
linked to them, a category on each recording and three audit records per recording (a view,
a play, an export), then times what evidence staff do all day:

- listing one case's recordings (``sealcam case show``'s query),
- one item's chain of custody (``sealcam audit --item``'s query),
- the retention plan (``sealcam retention plan``: every item's rule),

each as the library call the command makes (the median of ``--rounds`` runs, on a warm
cache), beside a baseline from the same run: one indexed SQLite lookup of a single item by
its id, the floor any listing stands on. The goal: each under 200 ms. The command as a person
runs it adds Python's start and the argon2 login; the ``--cli`` figures show the whole.

    .venv/bin/python tools/bench/evidence_room_bench.py [--keep DIR] [--rounds 9] [--cli]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine

from host import audit, cases, items, people, retention
from host.access import prepare
from host.cli import audit as audit_cmd
from host.evidence import SqliteEvidenceStore
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

DEVICES = 100
RECORDINGS_PER_DEVICE = 1000
CASES = 1000
T0_MS = 1_764_900_000_000  # 2025-12-05: the first recording; they run a year from there
PASSWORD = "benchmark password"
CATEGORIES = ("routine", "evidence", "obstruction", "emergency", "complaint", "training")


def device_entries(n: int, device_id: str) -> "tuple[list[bytes], bytes]":
    """One device's ledger (``RECORDINGS_PER_DEVICE`` recordings of one chunk each) and its
    public key."""
    seed = (n + 1).to_bytes(2, "big") * 16
    writer = LedgerWriter(make_signer(seed), device_id, sign_every=64)
    out = []
    officer = "P-%04d" % (n % 50)
    for r in range(RECORDINGS_PER_DEVICE):
        start = T0_MS + (n * RECORDINGS_PER_DEVICE + r) * 300_000
        rec_id = writer.seq.to_bytes(4, "big")
        common = {F_RECORDING: rec_id, F_OFFICER: officer}
        out.append(writer.append(KIND_EVENT, {F_EVENT: EV_RECORD_START, **common}, start, 0))
        digest = (n * 1_000_003 + r).to_bytes(32, "big")
        chunk = {
            **common,
            F_CHUNK_INDEX: 0,
            F_START_MS: start,
            F_END_MS: start + 60_000,
            F_MEDIA_TYPE: MEDIA_MP4,
            F_PLAIN_LEN: 1_000_000,
            F_PLAIN_SHA: digest,
            F_FRAME_HASHES: [digest[:16]],
        }
        out.append(writer.append(KIND_CHUNK, chunk, start + 60_000, 0))
        last = r == RECORDINGS_PER_DEVICE - 1
        stop = {F_EVENT: EV_RECORD_STOP, **common}
        out.append(writer.append(KIND_EVENT, stop, start + 60_001, 0, sign=last))
    return out, make_signer(seed).public_key()


def build(root: Path) -> None:
    """Fill the store at ``root`` (see the module's docstring)."""
    store = SqliteEvidenceStore(root)
    prepare(store)
    for n in range(DEVICES):
        device_id = "SC-%04d" % n
        entries, public = device_entries(n, device_id)
        store.enrol(device_id, public)
        store.add_entries(device_id, entries, T0_MS)
        print("\r  devices: %d/%d" % (n + 1, DEVICES), end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with store.write() as cur:
        items.refresh(cur)
        people.add_user(cur, "clerk", (people.CLERK,), PASSWORD, T0_MS)
        people.add_user(cur, "approver", (people.APPROVER,), PASSWORD, T0_MS)
        people.add_user(cur, "admin", (people.ADMINISTRATOR,), PASSWORD, T0_MS)
    ids = [r[0] for r in store.query("SELECT item_id FROM items ORDER BY started_ms")]
    link_cases(store, ids)
    with store.write() as cur:
        for i, item_id in enumerate(ids):
            at = T0_MS + i * 1000
            for action in (audit.VIEW, audit.PLAY, audit.EXPORT):
                audit.record(cur, store.log, "clerk", action, at, item_id)
    store.close()


def link_cases(store: SqliteEvidenceStore, ids: list) -> None:
    """1,000 cases of the default types, one in ten major and half of them closed; every
    recording noted with a category (one in six: evidence), and linked to a case."""
    types = sorted(cases.DEFAULT_CASE_TYPES)
    per_case = len(ids) // CASES
    with store.write() as cur:
        for n in range(CASES):
            at = T0_MS + n * 3_600_000
            case = cases.Case(
                "2026-%04d" % n, types[n % len(types)], "case %d" % n, "Wang Li", "Renmin Road",
                at, at, at + 30 * 86_400_000 if n % 2 else None, n % 10 == 0, "clerk", at,
            )  # fmt: skip
            cases.add(cur, case)
            for item_id in ids[n * per_case : (n + 1) * per_case]:
                cases.link(cur, case.case_no, item_id, "clerk", at)
        for i, item_id in enumerate(ids):
            category = CATEGORIES[i % len(CATEGORIES)]
            cases.note(cur, item_id, category, "what it shows", "clerk", T0_MS)


def median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def samples(root: Path) -> "tuple[str, str]":
    """A case and a recording from the middle of the store."""
    store = SqliteEvidenceStore(root)
    case = store.query("SELECT case_no FROM cases ORDER BY case_no LIMIT 1 OFFSET 500")[0][0]
    item = store.query("SELECT item_id FROM items ORDER BY item_id LIMIT 1 OFFSET 50000")[0][0]
    store.close()
    return case, item


def measure(root: Path, rounds: int) -> dict:
    some_case, some_item = samples(root)
    store = SqliteEvidenceStore(root)
    prepare(store)
    with store.write() as cur:  # the write side keeps the plan's index, as a login does
        retention.keep_up(cur)
    results = {}

    def lookup():
        with store.read() as cur:
            items.get(cur, some_item)

    def case_recordings():
        with store.read() as cur:
            cases.linked(cur, some_case)

    def custody():
        with store.read() as cur:
            audit_cmd.custody(cur, some_item)

    def plan():
        with store.read() as cur:
            retention.plan(cur, retention.policy(cur), T0_MS + 3 * 365 * 86_400_000)

    for name, fn in (
        ("one item by id (baseline)", lookup),
        ("a case's recordings", case_recordings),
        ("an item's custody chain", custody),
        ("the retention plan", plan),
    ):
        fn()  # warm the page cache
        results[name] = median_ms(fn, rounds)
    store.close()
    return results


def cli_ms(argv: list, rounds: int) -> float:
    env = dict(os.environ, SEALCAM_PASSWORD=PASSWORD)
    exe = Path(sys.executable).with_name("sealcam")
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run([str(exe), *argv], env=env, capture_output=True, check=False)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", help="build the store here once and reuse it")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--cli", action="store_true", help="also time the commands end to end")
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "evidence"
    if not (root / "evidence.db").exists():
        t = time.perf_counter()
        part = root.with_name(root.name + ".part")  # a build cut short is never reused
        shutil.rmtree(part, ignore_errors=True)
        build(part)
        part.rename(root)
        print("built the store in %.0f s" % (time.perf_counter() - t), file=sys.stderr)
    print("machine:", machine())
    print("store: %d recordings, %d cases" % (DEVICES * RECORDINGS_PER_DEVICE, CASES))
    results = measure(root, args.rounds)
    base = results["one item by id (baseline)"]
    print("| what | median ms | x baseline | goal |")
    print("|---|---:|---:|---|")
    for name, ms in results.items():
        goal = "" if "baseline" in name else ("met (< 200 ms)" if ms < 200 else "NOT met")
        print("| %s | %.2f | %.0f | %s |" % (name, ms, ms / base if base else 0, goal))
    if args.cli:
        some_case, some_item = samples(root)
        common = ["--evidence", str(root), "--user", "clerk"]
        print()
        print("| command, end to end (start, argon2 login, query, print) | median ms |")
        print("|---|---:|")
        for argv in (
            ["items", "--limit", "1"],
            ["case", "show", some_case],
            ["audit", "--item", some_item],
            ["retention", "plan"],
        ):
            print("| `sealcam %s` | %.0f |" % (" ".join(argv), cli_ms(argv + common, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
