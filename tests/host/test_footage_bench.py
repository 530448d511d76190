"""The footage benchmark runs: its smoke mode records, exports and verifies real footage
(issue 12, Benchmarks). Nothing here is timed; the figures are for BENCHMARKS.md."""
# micropython: skip (runs a CPython tool with PyAV and OpenCV)

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_footage_bench_quick_mode_runs_every_part():  # issue 12: Benchmarks
    bench = str(ROOT / "tools/bench/footage_bench.py")
    # --against this very checkout: the interleaved exports in fresh processes run too.
    done = subprocess.run(
        [sys.executable, bench, "--quick", "--json", "--against", str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,  # a bound for a stuck run on a loaded machine, not a goal
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    rec = figures["recording"]
    # The 2 s clip went through sealcam record whole, sound included, nothing dropped.
    assert rec["summary"]["frames"] == 60 and rec["summary"]["frames_dropped"] == 0
    assert rec["summary"]["audio_frames"] > 0
    assert rec["summary"]["audio_frames_dropped"] == 0
    # Every part produced its figures, each beside its same-run baseline.
    assert rec["baseline"]["frames"] == 60
    assert rec["agent_work_cpu_s"] > 0 and rec["capture_cpu_s"] > 0
    assert rec["ledger"]["frame_digests"] == 60
    hour = figures["hour"]
    assert hour["recording"]["frames"] == 60 * 30  # the --quick "hour" is one minute
    assert hour["chunks"] == 61  # the init segment and one fragment a second
    assert hour["file_bytes"] > hour["evidence"]["media_bytes"]  # notes and evidence box
    assert hour["verify_state"] == "authentic"
    assert hour["cli"]["export_exit"] == 0 and hour["cli"]["verify_exit"] == 0
    for key in ("export_ratio", "verify_ratio", "overhead_bps"):
        assert hour[key] > 0
    compared = hour["compared"]
    assert compared["against"] == str(ROOT)
    assert len(compared["this_wall_s"]) == len(compared["against_wall_s"]) == hour["rounds"]
    assert compared["this_ratio"] > 0 and compared["against_ratio"] > 0
