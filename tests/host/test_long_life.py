"""Months on a card, under MicroPython (issue 19, "Proving it on MicroPython"), scaled to
run in the suite: the six-month benchmark (tools/bench/six_months_bench.py) on 60 one-second
chunks a day, ten days, then five days past the 183-day floor on a card that is full by then,
with days 3, 9 and 187 run under MicroPython (the WebAssembly port) and the others on
CPython with the same firmware code. Nothing here is timed; the figures asserted on are
heap bytes, checkpoint bytes and the media evicted."""
# micropython: skip (drives Node.js and the host's verifier from CPython)

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
HEAP_SLACK = 16 * 1024  # what the live heap may differ by between two days (GC granularity)
CHECKPOINT_SLACK = 4 * 1024
AGENT_BUDGET = 128 * 1024  # the bound on the agent's live heap
CHECKPOINT_BOUND = 64 * 1024


@pytest.fixture(scope="module")
def figures() -> dict:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools/bench/six_months_bench.py"),
            "--chunks=60",
            "--days=0-9,184-188",
            "--sample=3,9,187",
            "--card-days=12",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,  # a bound for a stuck run on a loaded machine, not a goal
    )
    if done.returncode not in (0, 1):
        pytest.fail("the benchmark could not run: %s" % done.stderr[-2000:])
    result = json.loads(done.stdout)
    result["exit"] = done.returncode
    result["by_day"] = {r["day"]: r for r in result["rows"]}
    return result


def test_the_ledger_verifies_and_retention_freed_exactly_what_the_rules_allow(figures):
    # R-DEV-4: footage leaves the card only receipted and past the floor, oldest first, and
    # no more than each write needed; the model in the benchmark replays the card on its own.
    check = figures["check"]
    assert check["verified"], check["verify_state"]
    assert check["eviction_flags"] == []
    assert check["evicted"] > 0, "the card never filled: the run proves nothing of eviction"
    assert check["evictions_match"], (check["evicted"], check["expected_evicted"])
    assert check["media_missing"] == 0 and check["evicted_still_there"] == 0
    assert figures["exit"] == 0
    # The sample days ran under MicroPython, and retention evicted there too.
    mpy = {r["day"]: r for r in figures["rows"] if r["where"] == "mpy"}
    assert sorted(mpy) == [3, 9, 187]
    assert mpy[187]["evicted"] > 0


def test_heap_and_checkpoint_stay_flat_as_the_days_go_by(figures):
    # Issue 19: RAM bounded by a constant, not by chunks or days; the checkpoint under 64 KB.
    day = figures["by_day"]

    def agent_heap(d: int) -> int:
        return day[d]["heap_peak"] - day[d]["code_heap"]

    # This WebAssembly build grows its heap instead of failing; the live heap is measured
    # after a collection between steps and held to the budget here (the benchmark says how),
    # the day that evicts included: its walks read the ledger 4 KiB at a time, so what they
    # leave (and what this port's conservative collector may keep of it) is a few KB.
    for d in (3, 9, 187):
        assert agent_heap(d) <= AGENT_BUDGET, (d, agent_heap(d))
    for d in (3, 9, 187):
        assert day[d]["checkpoint_bytes"] < CHECKPOINT_BOUND, (d, day[d]["checkpoint_bytes"])
    assert agent_heap(9) - agent_heap(3) < HEAP_SLACK, (agent_heap(3), agent_heap(9))
    assert day[9]["checkpoint_bytes"] - day[3]["checkpoint_bytes"] < CHECKPOINT_SLACK, (
        day[3]["checkpoint_bytes"],
        day[9]["checkpoint_bytes"],
    )


# -- the benchmark's eviction model, the oracle the runs above are held to --

sys.path.insert(0, str(ROOT / "tools/bench"))
six = pytest.importorskip("six_months_bench")


def _reference_evictions(entries: list, capacity: int) -> list:
    """The rules written out plainly, the card a list scanned whole at each write: what the
    model's arrays must agree with (it was the benchmark's model before full-rate runs)."""
    from protocol.ledger import media_digest
    from protocol.registry import (
        EV_HOST_RECEIPT,
        F_DETAIL,
        F_EVENT,
        F_PLAIN_LEN,
        F_START_MS,
        F_WALL_MS,
        KIND_CHUNK,
    )

    used, received, on_card, out = 0, -1, [], []
    floor_ms = six.FLOOR_DAYS * six.DAY_MS
    for e in entries:
        f = e.fields
        media = f[F_PLAIN_LEN] if e.kind == KIND_CHUNK else 0
        need = len(e.raw) + six.HEADER_LEN + media
        if used + need > capacity:
            short = len(e.raw) + media + six.ROOM_SLACK - (capacity - used)
            freed, keep = 0, []
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


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(
        st.tuples(
            st.lists(st.integers(1, 3000), min_size=1, max_size=12),  # the day's chunk sizes
            st.integers(0, 3),  # how many of the day's last entries the receipt leaves out
            st.integers(1, 120),  # days until the next
        ),
        min_size=2,
        max_size=14,
    ),
    fill=st.floats(0.15, 0.95),  # the card's size, as a share of everything written
)
def test_the_eviction_model_keeps_the_rules_in_bounded_arrays(days, fill):
    # R-DEV-4 (issue 19's full-rate run): the model that replays millions of chunks in
    # arrays frees exactly what the plain list replay frees, write for write.
    import hashlib

    from protocol.ledger import Entry
    from protocol.registry import (
        EV_HOST_RECEIPT,
        F_DETAIL,
        F_EVENT,
        F_KIND,
        F_PLAIN_LEN,
        F_PLAIN_SHA,
        F_SEQ,
        F_START_MS,
        F_WALL_MS,
        KIND_CHUNK,
        KIND_EVENT,
    )

    entries: list = []
    wall = 0

    def add(fields: dict, size: int) -> None:
        fields[F_SEQ] = len(entries)
        fields[F_WALL_MS] = wall
        entries.append(Entry(b"e" * (40 + size % 50), b"", b"", b"", b"", fields))

    for sizes, lag, gap in days:
        for n in sizes:
            digest = hashlib.sha256(b"%d" % len(entries)).digest()
            add({F_KIND: KIND_CHUNK, F_START_MS: wall, F_PLAIN_LEN: n, F_PLAIN_SHA: digest}, n)
            wall += 1000
        through = {"through_seq": len(entries) - 1 - lag}
        add({F_KIND: KIND_EVENT, F_EVENT: EV_HOST_RECEIPT, F_DETAIL: through}, 0)
        wall += gap * six.DAY_MS
    total = sum(len(e.raw) + six.HEADER_LEN + e.fields.get(F_PLAIN_LEN, 0) for e in entries)
    capacity = int(total * fill)
    model = six.EvictionModel(capacity)
    model.compact_at = 3  # drops what went as it goes, as six months of chunks make it do
    for e in entries:
        model.feed(e)
    assert model.evicted == _reference_evictions(entries, capacity)
    assert model.out_of_order == 0
