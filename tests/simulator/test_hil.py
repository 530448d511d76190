"""Hardware in the loop against the virtual board: flashed with ``sealcam flash``, driven
through its test command set by ``BoardDevice``, docked to ``sealcam sync`` in its own
process, and judged by ``sealcam verify`` on the evidence store."""
# micropython: skip (host side: a virtual board in Node.js, subprocesses, pseudo-terminals)

import ast
import json
import shutil
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.testbench import NEEDS_POWER, BenchError, TestBench
from protocol.ledger import parse_entry
from protocol.registry import EV_CLOCK_SET, EV_HOST_RECEIPT, F_BOOT, F_EVENT
from protocol.verify import OK, verify_ledger
from simulator.command import SCENARIO_DIR
from simulator.errors import ScenarioError
from simulator.hil import POWER_CUTS, BoardDevice
from simulator.mpboard import VirtualBoard
from tests.host.helpers import start_daemon

SEALCAM = [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())"]
WAIT_S = 300  # a daemon's end is awaited this long: reached only if it hangs
DEVICE = "SC-HIL-0001"
HOST = "agency-host-1"


def sealcam(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*SEALCAM, *args], capture_output=True, text=True, timeout=timeout)


def flash(port: str, evidence: str, host_key: str) -> None:
    """``sealcam flash``: copy the agent and provision the board, key made on the board."""
    r = sealcam(
        "flash",
        "--port",
        port,
        "--device-id",
        DEVICE,
        "--evidence",
        evidence,
        "--host-key",
        host_key,
        "--officer",
        "P-0427",
        "--debug",
        "--json",
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.fixture(scope="module")
def flashed(tmp_path_factory):
    """A board flashed and provisioned once; tests start boards on copies of its flash."""
    root = tmp_path_factory.mktemp("flashed")
    r = sealcam("keygen", "--device-id", HOST, "--out", str(root / "keys"))
    assert r.returncode == 0, r.stderr
    with VirtualBoard(str(root / "flash")) as board:
        flash(board.start(), str(root / "evidence"), str(root / "keys" / (HOST + ".key")))
    return root


@pytest.fixture
def fresh(flashed, tmp_path):
    """A freshly provisioned board (a copy of the flashed one) and an evidence store that
    has enrolled it: ``(port, evidence, host_key)``."""
    shutil.copytree(flashed / "flash", tmp_path / "flash")
    shutil.copytree(flashed / "evidence", tmp_path / "evidence")
    with VirtualBoard(str(tmp_path / "flash")) as board:
        yield board.start(), tmp_path / "evidence", flashed / "keys" / (HOST + ".key")


SHIFT = [
    {"do": "power_on", "n": 1},
    {"do": "record", "n": 2},
    {"do": "announce", "seconds": 1, "n": 3},
    {"do": "narrate", "seconds": 1, "n": 4},
    {"do": "film", "seconds": 2, "fps": 4, "n": 5},
    {"do": "pause", "reason": "place-change", "n": 6},
    {"do": "wait", "minutes": 5, "n": 7},
    {"do": "resume", "n": 8},
    {"do": "say_reason", "seconds": 1, "n": 9},
    {"do": "film", "seconds": 1, "fps": 4, "n": 10},
    {"do": "stop", "n": 11},
]


def test_a_shift_on_the_board_reaches_the_host_and_verifies(fresh):
    # R-DEV-2, R-DEV-9: the board's signed ledger, pause and spoken reason reach the host intact.
    port, evidence, host_key = fresh
    started = time.monotonic()
    with BoardDevice(port, start_ms=int(time.time() * 1000) - 600_000) as board:
        assert board.device_id == DEVICE and len(board.public_key) == 32
        said = ["\n".join(board.step(step)) for step in SHIFT]
        assert "self-check ok" in said[0] and "config applied, signed by %s" % HOST in said[0]
        assert "recording r" in said[1]
        assert "paused: place-change" in said[5]
        assert "resumed, spoken reason kept" in said[8]
        assert board.status()["officer"] == "P-0427"  # from the config flashing signed
        daemon, address = start_daemon(evidence, host_key)
        outcome = board.dock(address)
        out, _ = daemon.communicate(timeout=WAIT_S)
        assert daemon.returncode == 0, out
        assert outcome["device_id"] == DEVICE and outcome["result"] == "done", outcome
        assert outcome["receipts"]
        on_board = board.ledger_entries()
    print("shift and dock on the board: %.1f s" % (time.monotonic() - started))
    r = sealcam("verify", str(evidence), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    (report,) = json.loads(r.stdout)["devices"]
    assert report["device_id"] == DEVICE
    assert report["verification"]["state"] == OK
    assert len(report["recordings"]) == 1
    # The host holds the board's ledger as the board has it, up to the receipt it sent.
    held = report["verification"]["stats"]["entries"]
    assert held == outcome["receipts"][-1] + 1
    assert verify_ledger(b"".join(on_board), DEVICE, board.public_key).state == OK
    # The host's clock setting came before the pull; only its receipt was logged after it.
    assert len(on_board) == held + 1
    assert parse_entry(on_board[-1]).fields[F_EVENT] == EV_HOST_RECEIPT
    events = [parse_entry(raw).fields.get(F_EVENT) for raw in on_board[:held]]
    assert EV_CLOCK_SET in events  # R-HOST-11: the host set the board's clock


def test_a_power_cut_resets_the_board_and_the_next_boot_recovers(fresh):
    # R-DEV-14: an abnormal restart loses no footage already saved.
    port, _evidence, _key = fresh
    with BoardDevice(port) as board:
        for step in SHIFT[:5]:
            board.step(step)
        before = board.ledger_entries()
        board.repl.exec("_before_the_cut = 1")
        assert board.step({"do": "fault", "kind": "power_loss"}) == ["power lost (the power went)"]
        # The board restarted: what its interpreter held is gone, its files are not.
        assert board.repl.eval("'_before_the_cut' in globals()") is False
        assert board.status()["state"] == "OFF"
        lines = board.step({"do": "power_on"})
        assert any("self-check ok" in line for line in lines), lines
        after = board.ledger_entries()
    assert after[: len(before)] == before
    boots = [parse_entry(raw).fields[F_BOOT] for raw in after]
    assert boots[-1] == boots[len(before) - 1] + 1
    assert verify_ledger(b"".join(after), DEVICE, board.public_key).state == OK


def test_a_board_that_is_off_is_powered_by_the_cradle_and_docks(fresh):
    # As on the simulator: the cradle powers and charges the recorder (R-DEV-14 recovery too).
    port, evidence, host_key = fresh
    with BoardDevice(port) as board:
        board.step({"do": "power_on", "battery": 30})
        board.step({"do": "fault", "kind": "power_loss"})
        assert board.status()["state"] == "OFF"
        daemon, address = start_daemon(evidence, host_key)
        outcome = board.dock(address)
        daemon.communicate(timeout=WAIT_S)
        assert outcome["result"] == "done", outcome
        assert outcome["lines"][0] == "docked: the cradle powers the device on"
        assert any("self-check ok" in line for line in outcome["lines"])
        assert board.status()["battery_percent"] == 100 and board.hw["battery"] == 100


def test_a_damaged_dock_stores_nothing_corrupt_and_the_next_dock_completes(fresh):
    # R-DEV-2: bytes damaged on the way never become evidence; the next dock resumes.
    port, evidence, host_key = fresh
    crossed = [0]

    def injure(data: bytes) -> bytes:  # one bit flipped in the fourth piece that crosses
        crossed[0] += 1
        if crossed[0] != 4:
            return data
        damaged = bytearray(data)
        damaged[len(damaged) // 2] ^= 0x10
        return bytes(damaged)

    with BoardDevice(port) as board:
        for step in [*SHIFT[:5], {"do": "stop"}]:
            board.step(step)
        daemon, address = start_daemon(evidence, host_key)
        # The damaged piece stalls the session: the relay gives up when the daemon does (its
        # idle limit is 10 s), not so soon that a loaded daemon's slow first answers end the
        # dock before the fourth piece has crossed.
        first = board.dock(address, idle_s=10, injure=injure)
        daemon.communicate(timeout=WAIT_S)
        daemon, address = start_daemon(evidence, host_key)
        second = board.dock(address)
        daemon.communicate(timeout=WAIT_S)
        on_board = board.ledger_entries()
    assert crossed[0] >= 4 and first["result"] != "done", first
    assert second["result"] == "done", second
    r = sealcam("verify", str(evidence), "--json")
    (report,) = json.loads(r.stdout)["devices"]
    assert report["verification"]["state"] == OK
    held = report["verification"]["stats"]["entries"]
    assert held == second["receipts"][-1] + 1 and len(on_board) == held + 1


def test_what_a_board_cannot_do_is_a_scenario_error(fresh):
    port, _evidence, _key = fresh
    with BoardDevice(port) as board:
        with pytest.raises(ScenarioError, match="not available on a real device"):
            board.step({"do": "fault", "kind": "edit_store", "n": 3})
        with pytest.raises(ScenarioError, match="at_write is not available"):
            board.step({"do": "fault", "kind": "power_loss", "at_write": 5})
        with pytest.raises(ScenarioError, match="dock"):
            board.step({"do": "dock", "n": 4})
        # Refused by the board itself: its message comes back.
        with pytest.raises(ScenarioError, match="record needs the recorder on"):
            board.step({"do": "record", "n": 5})
        lines = board.step({"do": "power_on"})
        assert any("self-check" in line for line in lines)
        # The recorder refusing an input is an answer, as to an officer, not an error.
        assert board.step({"do": "resume"}) == [
            "the recorder refused resume: input resume is not allowed in state IDLE"
        ]


def test_sealcam_sim_run_drives_the_board(fresh, tmp_path):
    # What QA runs: the clean shift from the scenario library on the board, judged by the host.
    port, evidence, host_key = fresh
    r = sealcam(
        "sim",
        "run",
        str(SCENARIO_DIR / "clean-shift.toml"),
        "--device",
        port,
        "--evidence",
        str(evidence),
        "--host-key",
        str(host_key),
        "--dir",
        str(tmp_path / "work"),
        "--json",
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads(r.stdout)
    assert report["device"] == DEVICE and report["passed"] is True
    assert [d["result"] for d in report["docks"]] == ["done"]


# Steps a property test draws from: every kind a bench runs, with short durations.
STEPS = st.sampled_from(
    [
        {"do": "power_on"},
        {"do": "power_on", "battery": 10},
        {"do": "power_off"},
        {"do": "record"},
        {"do": "announce", "seconds": 1},
        {"do": "narrate", "seconds": 0.5},
        {"do": "film", "seconds": 1, "fps": 3},
        {"do": "pause", "reason": "place-change"},
        {"do": "pause", "reason": "obstruction"},
        {"do": "wait", "seconds": 20},
        {"do": "wait", "minutes": 1},
        {"do": "resume"},
        {"do": "say_reason", "seconds": 1},
        {"do": "stop"},
        {"do": "mark_important"},
        {"do": "no_record", "reason": "privacy", "note": "申请人要求"},
        {"do": "fault", "kind": "power_loss"},
        {"do": "fault", "kind": "dead_battery"},
        {"do": "fault", "kind": "clock_reset"},
        {"do": "fault", "kind": "clock_jump", "seconds": 90},
        {"do": "fault", "kind": "camera_failure"},
        {"do": "fault", "kind": "camera_repair"},
        {"do": "fault", "kind": "full_storage", "leave_mb": 0},
    ]
)
_runs = [0]


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, max_size=16))
def test_any_steps_leave_a_ledger_that_verifies(tmp_path, steps):
    # R-DEV-2, R-DEV-14: whatever the officer and the faults do, on the bench's hardware the
    # ledger stays whole and verifiable, and every answer is plain data for the host.
    from tests.firmware.helpers import BENCH_DEVICE as DEVICE
    from tests.firmware.helpers import BENCH_START as START
    from tests.firmware.helpers import provisioned

    _runs[0] += 1
    path = str(tmp_path / ("store-%d" % _runs[0]))
    public = provisioned(path)
    bench = TestBench(path, start_ms=START, seed=b"host entropy")
    for step in [{"do": "power_on"}, {"do": "record"}, *steps]:  # from a running recording
        was_on = bench.status()["state"] != "OFF"
        try:
            lines = bench.run(step)
        except BenchError as exc:
            # Only a step that needs the recorder on may be turned down, and only while off.
            assert step["do"] in NEEDS_POWER and not was_on, (step, exc)
            continue
        assert lines and all(type(line) is str for line in lines), (step, lines)
        if step["do"] == "fault" and step["kind"] in POWER_CUTS:
            # As BoardDevice does after a cut: a fresh bench with the hardware as it was.
            bench = TestBench(path, seed=b"host entropy", hardware=bench.hardware())
        answers = (bench.hardware(), bench.status())
        assert ast.literal_eval(repr(answers)) == answers
    ledger = b"".join(bench.entries(0, 100000))
    if ledger:
        assert verify_ledger(ledger, DEVICE, public).state == OK


def test_a_board_that_is_not_there_is_one_line_and_exit_2(tmp_path):
    # Issue 11 §1: the raw REPL's BoardError now lives under host.board, not under the
    # simulator's errors; sealcam sim run --device still says it in one line, exit 2.
    r = sealcam("keygen", "--device-id", HOST, "--out", str(tmp_path / "keys"))
    assert r.returncode == 0, r.stderr
    r = sealcam(
        "sim",
        "run",
        str(SCENARIO_DIR / "clean-shift.toml"),
        "--device",
        str(tmp_path / "ttyNONE"),
        "--evidence",
        str(tmp_path / "evidence"),
        "--host-key",
        str(tmp_path / "keys" / (HOST + ".key")),
        "--dir",
        str(tmp_path / "work"),
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open" in lines[0] and "ttyNONE" in lines[0], lines
