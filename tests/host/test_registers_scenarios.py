"""The simulator's shifts that break the register's rules, docked with the real host daemon,
then judged against the register kept through the desk (R-HOST-8, R-HOST-10): a recorder
worn by an officer it was not checked out to, and a lost recorder docking. The scenario
format describes the device's shift; the register is the agency's, so this test keeps it:
the unit, the device and its checkout or loss are recorded at times before the shift, then
``device_findings`` and ``sealcam report devices`` must name what broke the rule."""
# micropython: skip (the simulator and the host's evidence store)

import datetime
import json
from zoneinfo import ZoneInfo

import host.access
from host import audit, localtime, registers
from host.access import Desk
from host.cli.auth import PASSWORD_ENV
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from simulator.command import SCENARIO_DIR
from simulator.run import run_file
from simulator.scenario import load
from tests.host import registerstore
from tests.host.helpers import WallClock, with_accounts

HOUR = 3_600_000


def shift(name, tmp_path):
    """Run scenario ``name`` (its device docks with a ``sealcam sync`` process): the
    evidence store, the scenario, and its start (UTC ms)."""
    path = str(SCENARIO_DIR / ("%s.toml" % name))
    report = run_file(path, str(tmp_path / "run"))
    assert report["passed"], [c for c in report["expectations"] if not c["passed"]]
    scenario = load(path)
    ev = SqliteEvidenceStore(str(evidence_of(tmp_path)))
    with_accounts(ev, registerstore.ACCOUNTS, registerstore.PASSWORD)
    return ev, scenario, scenario.start_ms()


def evidence_of(tmp_path):
    """Where the scenario runner keeps the host's evidence store."""
    return tmp_path / "run" / "host" / "evidence"


def keep_register(ev, at_ms, device, actions):
    """As the clerk at ``at_ms``: unit U-1 with P-0427 and P-0428, ``device`` registered to
    it, then ``actions(desk)``."""
    clock = registerstore.Clock(at_ms)
    desk = Desk.login(ev, "clerk", registerstore.PASSWORD, now=clock)
    with desk.act(audit.REGISTER, "U-1") as act:
        registers.add_unit(act.cur, "U-1", "Patrol 1", "A", 2, None)
        registers.set_member(act.cur, "P-0427", "U-1")
        registers.set_member(act.cur, "P-0428", "U-1")
    with desk.act(audit.REGISTER, device) as act:
        registers.register(act.cur, device, "DSJ-V9", "SN-1", "U-1", "Li Ming", "clerk", clock())
    clock.ms += 60_000
    actions(desk)


def report(capsys, monkeypatch, evidence, since_ms, now_ms):
    """``sealcam report devices --json`` from ``since_ms`` as the clerk at ``now_ms``."""
    monkeypatch.setenv(PASSWORD_ENV, registerstore.PASSWORD)
    monkeypatch.setattr(host.access, "time", WallClock(now_ms))
    # In the agency's zone, as a person gives it.
    local = datetime.datetime.fromtimestamp(since_ms / 1000, ZoneInfo(localtime.DEFAULT_ZONE))
    argv = ["report", "devices", "--since", local.strftime("%Y-%m-%d %H:%M"), "--json"]
    code = main([*argv, "--evidence", str(evidence), "--user", "clerk"])
    return code, json.loads(capsys.readouterr().out)


def test_a_recorder_worn_by_another_officer_is_flagged(tmp_path, capsys, monkeypatch):
    # R-HOST-8: checked out to P-0427 an hour before the shift; P-0428's id is on the footage.
    ev, scenario, start = shift("wrong-officer", tmp_path)
    device = scenario.device["id"]

    def check_out(desk):
        with desk.act(audit.CHECKOUT, device) as act:
            now = desk.now()
            registers.checkout(act.cur, device, "P-0427", now + 12 * HOUR, "clerk", now)

    keep_register(ev, start - HOUR, device, check_out)
    with ev.read() as cur:
        found = registers.device_findings(cur, start - 2 * HOUR, start + 6 * HOUR)
    (f,) = found
    assert (f.kind, f.rule, f.officer_id) == ("wrong-officer", "R-HOST-8", "P-0428")
    assert f.detail["holder"] == "P-0427" and f.item_id.startswith(device + "/")
    code, doc = report(
        capsys, monkeypatch, evidence_of(tmp_path), start - 2 * HOUR, start + 6 * HOUR
    )
    assert code == 1 and [x["kind"] for x in doc["findings"]] == ["wrong-officer"]


def test_a_lost_recorder_docking_is_flagged(tmp_path, capsys, monkeypatch):
    # R-HOST-8, R-HOST-10: reported lost the evening before the shift.
    ev, scenario, start = shift("lost-device-docks", tmp_path)
    device = scenario.device["id"]

    def lose(desk):
        with desk.act(audit.REGISTER, device, change="state") as act:
            now = desk.now()
            registers.set_state(act.cur, device, registers.LOST, "not back", "clerk", now)

    keep_register(ev, start - 14 * HOUR, device, lose)
    with ev.read() as cur:
        found = registers.device_findings(cur, start - 24 * HOUR, start + 6 * HOUR)
    assert sorted((f.kind, f.rule) for f in found) == [
        ("lost", "R-HOST-10"),
        ("lost-docked", "R-HOST-8"),
    ]
    (docked,) = [f for f in found if f.kind == "lost-docked"]
    assert docked.officer_id == "P-0427" and docked.detail["when"] == "recorded"
    code, doc = report(
        capsys, monkeypatch, evidence_of(tmp_path), start - 24 * HOUR, start + 6 * HOUR
    )
    assert code == 1 and sorted(x["kind"] for x in doc["findings"]) == ["lost", "lost-docked"]
