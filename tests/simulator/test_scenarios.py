"""The scenario library, run end to end: a virtual recorder, a host daemon in another process
on a pseudo-terminal, and the host's verdicts checked against each scenario's expectations.

Together the scenarios cover the device rules and the host's compliance flags; the last tests
show that a host which misses a violation (or raises one that is not there) fails the run.
"""
# micropython: skip (the simulator runs on CPython only)

import copy
from pathlib import Path

import pytest

from simulator.command import SCENARIO_DIR
from simulator.run import Runner, run_file
from simulator.scenario import load

LIBRARY = sorted(SCENARIO_DIR.glob("*.toml"))

# Which scenario proves which rule (each also names its rules in its description).
COVERS = {
    "clean-shift": ["R-DEV-1", "R-DEV-2", "R-DEV-8", "R-DEV-9", "R-DEV-12", "R-DEV-15", "R-DEV-16"],
    "no-announcement": ["R-DEV-8"],
    "resume-without-reason": ["R-DEV-9"],
    "late-dock": ["R-HOST-1"],
    "clock-drift": ["R-HOST-11"],
    "clock-rolled-back": ["R-HOST-11", "R-DEV-17"],
    "clock-reset": ["R-DEV-7", "R-HOST-11"],
    "power-loss": ["R-DEV-14"],
    "dead-battery": ["R-DEV-14"],
    "store-edited-media": ["R-DEV-2"],
    "store-edited-ledger": ["R-DEV-2"],
    "noisy-link": ["R-DEV-2"],
    "full-storage": ["R-DEV-5", "R-DEV-9"],
    "camera-failure": ["R-DEV-9", "R-DEV-10"],
    "no-record": ["R-DEV-11"],
    "two-stages": ["R-DEV-5", "R-DEV-10", "R-DEV-15"],
    "six-months": ["R-DEV-4", "R-DEV-5"],
    "ten-hour-shift": ["R-DEV-5", "R-DEV-7", "R-DEV-9"],
    "charging-rack": ["R-DEV-9", "R-HOST-1"],
    "silent-spoken-reason": ["R-DEV-9"],  # and issue 12: an H.264 recorder with sound
    "pause-other-reason": ["R-DEV-9", "R-DEV-11", "R-DEV-12", "R-HOST-7", "R-HOST-10"],  # the
    # review and violations side: tests/host/test_review.py
    "wrong-officer": ["R-HOST-8"],  # the register's side: tests/host/test_registers_scenarios.py
    "lost-device-docks": ["R-HOST-8", "R-HOST-10"],  # likewise
}


def test_every_scenario_in_the_library_is_listed_with_the_rules_it_covers():
    assert sorted(p.stem for p in LIBRARY) == sorted(COVERS)


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_the_host_reaches_every_verdict_the_scenario_expects(path, tmp_path):
    report = run_file(str(path), str(tmp_path))
    failed = [c for c in report["expectations"] if not c["passed"]]
    assert report["expectations"], "%s expects nothing" % path.name
    assert not failed, failed
    assert report["passed"]


def _run_changed(name: str, tmp_path: Path, change) -> dict:
    scenario = load(str(SCENARIO_DIR / ("%s.toml" % name)))
    changed = copy.deepcopy(scenario)
    change(changed)
    return Runner(changed, str(tmp_path)).run()


def test_a_host_that_misses_a_late_upload_fails_the_run(tmp_path):  # R-HOST-1
    # The same 26-hour-late dock, judged by a host told to allow 48 hours: the violation the
    # scenario expects is not raised, and the run fails on exactly that expectation.
    report = _run_changed("late-dock", tmp_path, lambda s: s.host.update(late_hours=48))
    failed = [c["what"] for c in report["expectations"] if not c["passed"]]
    assert failed == ["flag R-HOST-1"]
    assert not report["passed"]


def test_a_flag_the_scenario_did_not_expect_fails_the_run(tmp_path):  # R-DEV-8
    report = _run_changed("no-announcement", tmp_path, lambda s: s.expect.update(flags=[]))
    failed = [c for c in report["expectations"] if not c["passed"]]
    assert [c["what"] for c in failed] == ["no other flags"]
    assert "no-announcement (R-DEV-8)" in failed[0]["got"]


def test_link_faults_on_a_tcp_dock_are_refused_not_ignored(tmp_path):
    from simulator.errors import ScenarioError
    from simulator.scenario import parse

    s = parse({"step": [{"do": "dock", "link": "tcp", "flip_every": 1000}]})
    with pytest.raises(ScenarioError, match="link faults need the pseudo-terminal cable"):
        Runner(s, str(tmp_path)).run()


def test_a_squad_docks_at_once_with_one_daemon_and_each_device_is_judged(tmp_path, monkeypatch):
    from simulator.run import Host

    started = []
    real = Host.daemon
    monkeypatch.setattr(
        Host, "daemon", lambda self, *a, **k: started.append(a) or real(self, *a, **k)
    )
    # A host that would hear two recordings from each device: the run fails for every device.
    report = _run_changed("charging-rack", tmp_path, lambda s: s.expect.update(recordings=2))
    ids = ["SC-SIM-000%d" % n for n in range(1, 7)]
    assert len(started) == 1 and started[0][0].count("--serial") == 6  # one daemon, six ports
    assert [d["device"] for d in report["devices"]] == ids
    assert [d["device"] for d in report["docks"]] == ids
    assert all(d["result"] == "done" and d["entries_stored"] > 0 for d in report["docks"])
    failed = [c["what"] for c in report["expectations"] if not c["passed"]]
    assert failed == ["%s: recordings" % i for i in ids]
    assert not report["passed"]


def test_the_runner_hears_a_daemon_that_logs_more_than_a_pipe_holds():
    # A daemon serving many docks logs a lot; read only at the end, it would wait on a full
    # pipe with every session in hand (48 devices did). Its output is read as it comes.
    import sys

    from simulator.run import Daemon

    talk = (
        "import sys; sys.stdout.write('x' * 2_000_000 + '\\n'); "
        'print(\'{"event": "listening", "tcp": "127.0.0.1:4321"}\', flush=True); '
        "sys.stderr.write('e' * 200_000)"
    )
    daemon = Daemon([sys.executable, "-c", talk])
    assert daemon.listening(timeout_s=30) == ("127.0.0.1", 4321)
    out, err = daemon.finish(timeout_s=30)
    assert len(out) > 2_000_000 and len(err) == 200_000
    assert daemon.proc.returncode == 0  # it ended by itself: nothing waited on a pipe
