"""``sealcam device``, ``sealcam unit`` and ``sealcam report allocation|devices`` as a person
runs them (in this process): every action audited, refusals and unusable input one line
with nothing changed and the attempt on record; Chinese with ``--lang zh`` (R-HOST-8,
R-HOST-9, R-HOST-10)."""
# micropython: skip (the host's command line)

import csv
import io
import json
import shutil

import pytest

import host.cli.auth
from host import audit, i18n, registers
from host.cli.auth import PASSWORD_ENV
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host import registerstore
from tests.host.helpers import WallClock
from tests.host.registerstore import HOUR
from tests.protocol.helpers import DEVICE, T0


@pytest.fixture(autouse=True)
def _password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, registerstore.PASSWORD)
    yield
    i18n.use(None)


@pytest.fixture
def clock(monkeypatch):
    c = WallClock(T0 - 2 * HOUR)
    monkeypatch.setattr(host.cli.auth, "clock", c)  # every desk a command opens reads it
    return c


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    # One recording by P-0427 at 08:30 UTC (16:30 in the agency's zone).
    path = tmp_path_factory.mktemp("cli-register") / "ev"
    ev, ids = registerstore.store(path, [("P-0427", 30)])
    ev.close()
    return path, ids


@pytest.fixture
def store(made, tmp_path):
    src, ids = made
    shutil.copytree(src, tmp_path / "ev")
    return tmp_path / "ev", ids


def sealcam(capsys, path, *args, user="clerk"):
    """Run ``sealcam ARGS --evidence PATH --user USER``: (exit code, stdout, stderr)."""
    code = main([*args, "--evidence", str(path), "--user", user])
    out = capsys.readouterr()
    return code, out.out, out.err


def ok(capsys, path, *args, user="clerk"):
    code, out, err = sealcam(capsys, path, *args, user=user)
    assert code == 0, err
    return out


def set_up(capsys, path):
    """Unit U-1 (class A, 4 officers) with P-0427, P-0001, P-0002; the device in it."""
    ok(capsys, path, "unit", "add", "U-1", "--name", "Patrol 1", "--class", "A", "--officers", "4")
    ok(capsys, path, "unit", "member", "P-0427", "P-0001", "P-0002", "--unit", "U-1")
    ok(capsys, path, "device", "add", DEVICE, "--model", "DSJ-V9", "--serial", "SN-77",
       "--unit", "U-1", "--keeper", "Li Ming")  # fmt: skip


def records(path, action):
    ev = SqliteEvidenceStore(str(path))
    try:
        with ev.read() as cur:
            return [r for r in audit.history(cur) if r.action == action]
    finally:
        ev.close()


def register_rows(path):
    ev = SqliteEvidenceStore(str(path))
    try:
        with ev.read() as cur:
            return [
                cur.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
                for t in ("device_register", "device_log", "checkouts", "units", "unit_members")
            ]
    finally:
        ev.close()


def test_checkout_handover_and_return_are_in_the_register_and_the_trail(capsys, store, clock):
    # R-HOST-8: who took which recorder when, and who handed it to whom.
    path, _ = store
    set_up(capsys, path)
    out = ok(capsys, path, "device", "checkout", DEVICE, "--officer", "P-0427", "--hours", "10")
    assert "P-0427" in out and "UTC+8" in out
    clock.ms += 3 * HOUR
    out = ok(capsys, path, "device", "handover", DEVICE, "--from", "P-0427", "--to", "P-0001")
    assert "P-0001" in out
    clock.ms += HOUR
    ok(capsys, path, "device", "return", DEVICE, "--officer", "P-0001")
    doc = json.loads(ok(capsys, path, "device", "show", DEVICE, "--json"))
    assert [(c["officer_id"], c["handed_from"]) for c in doc["checkouts"]] == [
        ("P-0427", None),
        ("P-0001", "P-0427"),
    ]
    assert all(c["returned_ms"] for c in doc["checkouts"])
    assert len(doc["device"]["public_key"]) == 64
    for action in (audit.CHECKOUT, audit.HANDOVER, audit.RETURN):
        (r,) = records(path, action)
        assert r.outcome == audit.DONE and r.item == DEVICE and r.actor == "clerk"
    text = ok(capsys, path, "device", "show", DEVICE)
    assert "Recorder %s" % DEVICE in text and "handed over by P-0427" in text


def test_the_report_flags_footage_of_an_officer_the_recorder_was_not_checked_out_to(
    capsys, store, clock
):  # R-HOST-8
    path, ids = store
    set_up(capsys, path)
    ok(capsys, path, "device", "checkout", DEVICE, "--officer", "P-0001", "--hours", "10")
    clock.ms = T0 + 6 * HOUR
    ok(capsys, path, "device", "return", DEVICE)
    code, out, _ = sealcam(capsys, path, "report", "devices", "--since", "2026-11-23", "--json")
    assert code == 1
    (f,) = json.loads(out)["findings"]
    assert (f["kind"], f["item_id"], f["officer_id"], f["rule"]) == (
        "wrong-officer", ids[0], "P-0427", "R-HOST-8",
    )  # fmt: skip
    assert f["detail"]["holder"] == "P-0001"
    code, out, _ = sealcam(capsys, path, "report", "devices", "--since", "2026-11-23")
    assert code == 1 and "checked out to P-0001" in out and "R-HOST-8" in out
    assert "2026-11-23 16:30" in out  # the agency's zone
    code, out, _ = sealcam(capsys, path, "report", "devices", "--since", "2026-11-23", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["kind"] for r in rows] == ["wrong-officer"]
    code, out, _ = sealcam(
        capsys, path, "report", "devices", "--since", "2026-11-23", "--lang", "zh"
    )
    assert "领用人为 P-0001" in out
    reports = records(path, audit.REPORT)
    assert len(reports) == 4 and all(r.details["report"] == "devices" for r in reports)


def test_a_lost_device_docking_is_in_the_report(capsys, store, clock):  # R-HOST-8, R-HOST-10
    path, _ = store
    set_up(capsys, path)
    ok(capsys, path, "device", "state", DEVICE, "lost", "--note", "dropped in the river")
    clock.ms = T0 + 24 * HOUR
    code, out, _ = sealcam(capsys, path, "report", "devices", "--since", "2026-11-22", "--json")
    kinds = sorted((f["kind"], f["rule"]) for f in json.loads(out)["findings"])
    assert code == 1 and kinds == [("lost", "R-HOST-10"), ("lost-docked", "R-HOST-8")]


def test_allocation_counts_only_recorders_in_service(capsys, store, clock):  # R-HOST-9
    path, _ = store
    set_up(capsys, path)
    # Class A with 4 front-line officers needs 2 recorders; it has one, in service.
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--json")
    (u,) = json.loads(out)["units"]
    assert code == 1 and (u["required"], u["in_service"], u["met"]) == (2, 1, False)
    ok(capsys, path, "unit", "set", "U-1", "--officers", "2")
    code, out, _ = sealcam(capsys, path, "report", "allocation")
    assert code == 0 and "met" in out
    ok(capsys, path, "device", "state", DEVICE, "in-repair")
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and row["in_service"] == "0" and row["other"] == "in-repair=1"
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--lang", "zh")
    assert "不足 1 台" in out and "维修中 1 台" in out


def test_allocation_shows_a_unit_s_own_line_and_its_roll_up(capsys, store, clock):  # R-HOST-9
    path, _ = store
    set_up(capsys, path)  # U-1: class A, 4 officers, one recorder in service: short by 1
    ok(capsys, path, "unit", "add", "U-0", "--name", "Bureau", "--class", "C", "--officers", "0")
    ok(capsys, path, "unit", "set", "U-1", "--parent", "U-0")
    code, out, _ = sealcam(capsys, path, "report", "allocation")
    lines = out.splitlines()
    own = next(i for i, line in enumerate(lines) if line.startswith("U-0"))
    assert code == 1 and "SHORT by 2" in lines[own]  # its own: class C, no recorder
    assert "sub-unit(s) (U-1)" in lines[own + 1] and "short: U-0, U-1" in lines[own + 1]
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--json")
    by = {u["unit_id"]: u for u in json.loads(out)["units"]}
    rolled = by["U-0"]["rollup"]
    assert (rolled["officers"], rolled["required"], rolled["in_service"]) == (4, 4, 1)
    assert by["U-1"]["rollup"] is None and by["U-1"]["parent"] == "U-0"
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--csv")
    rows = {r["unit_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["U-0"]["with_sub_units"] == "U-1" and rows["U-0"]["total_required"] == "4"
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--lang", "zh")
    assert "含下属 1 个单位（U-1）" in out and "配备不足的单位：U-0, U-1" in out


BAD = [
    # (what, argv after the set-up, exit code, what the line names)
    ("already out", ["device", "checkout", DEVICE, "--officer", "P-0002", "--hours", "2"], 1,
     "already checked out"),
    ("never taken", ["device", "return", "SC-TEST-0001"], 1, "not checked out"),
    ("not the holder", ["device", "handover", DEVICE, "--from", "P-0002", "--to", "P-0427"], 1,
     "does not hold"),
    ("unknown device", ["device", "checkout", "SC-NONE", "--officer", "P-0001", "--hours", "2"],
     2, "not in the register"),
    ("unknown officer", ["device", "handover", DEVICE, "--from", "P-0001", "--to", "P-9999"], 2,
     "in no unit"),
    ("unknown unit", ["unit", "member", "P-0003", "--unit", "U-9"], 2, "no unit U-9"),
    ("not enrolled", ["device", "add", "SC-NONE", "--model", "m", "--serial", "s", "--unit",
                      "U-1", "--keeper", "k"], 2, "not enrolled"),
    ("bad class", ["unit", "add", "U-2", "--name", "n", "--class", "D", "--officers", "3"], 2,
     "not a unit class"),
    ("negative officers", ["unit", "set", "U-1", "--officers", "-3"], 2, "front-line"),
    ("bad state", ["device", "state", DEVICE, "broken"], 2, "not a device state"),
]  # fmt: skip


@pytest.mark.parametrize("what, argv, code, words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_changes_nothing_and_is_on_record(
    capsys, store, clock, what, argv, code, words
):  # R-HOST-8, R-HOST-9
    path, _ = store
    set_up(capsys, path)
    if what != "never taken":
        ok(capsys, path, "device", "checkout", DEVICE, "--officer", "P-0001", "--hours", "9")
    before = register_rows(path)
    trail = sum(len(records(path, a)) for a in (audit.REGISTER, audit.CHECKOUT, audit.HANDOVER,
                                                   audit.RETURN))  # fmt: skip
    got, _, err = sealcam(capsys, path, *argv)
    assert got == code
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert register_rows(path) == before
    after = [r for a in (audit.REGISTER, audit.CHECKOUT, audit.HANDOVER, audit.RETURN)
             for r in records(path, a)]  # fmt: skip
    assert len(after) == trail + 1
    assert max(after, key=lambda r: r.seq).outcome == audit.REFUSED


def test_an_officer_may_not_check_out_or_read_reports(capsys, store, clock):  # R-HOST-8
    path, _ = store
    set_up(capsys, path)
    argv = ["device", "checkout", DEVICE, "--officer", "P-0427", "--hours", "2"]
    code, _, err = sealcam(capsys, path, *argv, user="wang")
    assert code == 1 and err.count("\n") == 1
    code, _, _ = sealcam(capsys, path, "report", "allocation", user="wang")
    assert code == 1
    ev = SqliteEvidenceStore(str(path))
    with ev.read() as cur:
        assert registers.open_checkout(cur, DEVICE) is None
    ev.close()


def test_the_register_reads_in_chinese(capsys, store, clock):
    path, _ = store
    set_up(capsys, path)
    out = ok(capsys, path, "device", "checkout", DEVICE, "--officer", "P-0427", "--hours", "8",
             "--lang", "zh")  # fmt: skip
    assert "领用" in out
    out = ok(capsys, path, "device", "list", "--lang", "zh")
    assert "领用中" in out and "在用" in out
    out = ok(capsys, path, "unit", "list", "--lang", "zh")
    assert "A类" in out
    code, _, err = sealcam(capsys, path, "device", "return", "SC-NONE", "--lang", "zh")
    assert code == 2 and "不在台账中" in err


def test_a_recorder_moved_to_another_unit_counts_there(capsys, store, clock):  # R-HOST-9
    path, _ = store
    set_up(capsys, path)
    ok(capsys, path, "unit", "add", "U-2", "--name", "Traffic", "--class", "C", "--officers", "3")
    out = ok(capsys, path, "device", "set", DEVICE, "--unit", "U-2", "--keeper", "Zhao Lei")
    assert "U-2" in out and "Zhao Lei" in out
    code, out, _ = sealcam(capsys, path, "report", "allocation", "--json")
    counted = {u["unit_id"]: u["in_service"] for u in json.loads(out)["units"]}
    assert counted == {"U-1": 0, "U-2": 1}
    (r,) = [r for r in records(path, audit.REGISTER) if r.details.get("change") == "device-set"]
    assert r.details["old"]["unit_id"] == "U-1" and r.details["new"]["keeper"] == "Zhao Lei"
    doc = json.loads(ok(capsys, path, "device", "show", DEVICE, "--json"))
    assert doc["log"][-1]["kind"] == "change"
    code, _, err = sealcam(capsys, path, "device", "set", DEVICE)
    assert code == 2 and "nothing to change" in err


def test_the_devices_report_narrows_to_a_unit_or_an_officer(capsys, store, clock):  # R-HOST-10
    path, _ = store
    set_up(capsys, path)
    ok(capsys, path, "unit", "add", "U-2", "--name", "Traffic", "--class", "C", "--officers", "3")
    ok(capsys, path, "unit", "member", "P-0002", "--unit", "U-2")
    ok(capsys, path, "device", "checkout", DEVICE, "--officer", "P-0427", "--hours", "20")
    clock.ms = T0 + 30 * HOUR  # past the due time: not returned (P-0427, U-1)

    def kinds(*extra):
        code, out, err = sealcam(capsys, path, "report", "devices", "--since", "2026-11-22",
                                 "--json", *extra)  # fmt: skip
        assert code in (0, 1), err
        return sorted(f["kind"] for f in json.loads(out)["findings"])

    assert kinds() == ["not-returned"]
    assert kinds("--unit", "U-1") == ["not-returned"]
    assert kinds("--unit", "U-2") == []
    assert kinds("--officer", "P-0427") == ["not-returned"]
    assert kinds("--officer", "P-0002") == []
    code, _, err = sealcam(capsys, path, "report", "devices", "--unit", "U-9")
    assert code == 2 and "no unit U-9" in err
