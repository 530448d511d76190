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
