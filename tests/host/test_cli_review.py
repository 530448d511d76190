"""``sealcam review`` and ``sealcam report review|violations`` on a real store (R-HOST-7,
R-HOST-10): a plan, its draw, the replay that proves it, the queue pre-filled, a finding,
the reports in text, JSON and CSV, in English and Chinese; input that cannot be used is one
line, exit 2, and changes nothing but the record of the attempt."""
# micropython: skip (the host's command line)

import csv
import io
import json

import pytest

from host import access, audit, i18n
from host.cli.main import main
from tests.host import reviewstore as rs


@pytest.fixture(autouse=True)
def _english():
    i18n.use("en")
    yield
    i18n.use(None)


@pytest.fixture
def room(tmp_path, monkeypatch):
    monkeypatch.setenv("SEALCAM_PASSWORD", rs.PASSWORD)
    ev, ids = rs.store(tmp_path / "ev")
    monkeypatch.setattr(access, "wall_ms", lambda: rs.T0 + 3 * rs.DAY_MS)
    return ev, ids, str(tmp_path / "ev")


def sealcam(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


PERIOD = ("--since", "2026-11-23", "--until", "2026-11-23")  # T0 is 16:00 in Asia/Shanghai


def _trail(ev):
    with ev.read() as cur:
        return audit.history(cur)


def test_plan_draw_replay_queue_finding_and_the_review_report(room, capsys):
    # R-HOST-7, end to end on the command line.
    ev, ids, path = room
    login = ("--evidence", path, "--user", "legal")
    code, out, err = sealcam(capsys, "review", "plan", *login, "--officer", rs.OFFICER_A,
                             *PERIOD, "--count", "2")  # fmt: skip
    assert code == 0, err
    assert "plan 1" in out and "period now: 3" in out and "to be drawn: 2" in out
    code, out, err = sealcam(capsys, "review", "draw", *login, "1", "--json")
    assert code == 0, err
    drawn = json.loads(out)
    assert len(drawn["sample"]) == 2 and set(drawn["sample"]) <= set(ids[:3])
    record = next(r for r in _trail(ev) if r.seq == drawn["audit_seq"])
    assert record.action == audit.SAMPLE and record.details["seed"].hex() == drawn["seed"]
    code, out, err = sealcam(capsys, "review", "replay", *login, "1")
    assert code == 0, err
    assert out.count("OK") == 7 and "is proved" in out
    code, out, err = sealcam(capsys, "review", "draw", *login, "1")
    assert code == 1 and "drawn once" in err and err.count("\n") == 1
    code, out, err = sealcam(capsys, "review", "queue", *login, "--json")
    assert code == 0, err
    queue = json.loads(out)
    assert sorted(q["item"]["item_id"] for q in queue) == sorted(drawn["sample"])
    assert all(q["prefilled"] for q in queue)  # every one of Wang's has something
    target = drawn["sample"][0]
    note = ("--note", "arrived before the camera was on")
    code, out, err = sealcam(capsys, "review", "finding", *login, target, "--add", "late-start",
                             "--add", "other", *note)  # fmt: skip
    assert code == 0, err
    assert "is recorded" in out and "late-start" in out
    code, out, err = sealcam(capsys, "report", "review", *login, *PERIOD, "--json")
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert (row["officer"], row["sampled"], row["reviewed"]) == (rs.OFFICER_A, 2, 1)
    assert row["findings"]["late-start"] == 1 and row["findings"]["other"] == 1
    i18n.use("zh")
    code, out, err = sealcam(capsys, "report", "review", *login, *PERIOD, "--lang", "zh")
    assert code == 0, err
    assert "随机抽查情况" in out and rs.OFFICER_A in out


@pytest.mark.parametrize(
    "args, says",
    [
        (("review", "plan", *PERIOD[:2], "--until", "2026-11-01", "--count", "1"), "period"),
        (("review", "plan", "--since", "2026-12-20", "--until", "2026-12-21", "--count", "1"),
         "nothing to sample"),
        (("review", "plan", *PERIOD, "--rate", "1.5"), "at most 1"),
        (("review", "plan", *PERIOD, "--rate", "0"), "at most 1"),
        (("review", "plan", *PERIOD, "--count", "0"), "below 1"),
        (("review", "plan", *PERIOD, "--unit", "U-NONE", "--count", "1"), "U-NONE"),
        (("review", "plan", *PERIOD, "--officer", "P-9999", "--count", "1"), "P-9999"),
        (("review", "finding", "SC-TEST-0001/4"), "not taken by any draw"),
        (("review", "draw", "7"), "no sampling plan 7"),
        (("review", "replay", "7"), "no sampling plan 7"),
        (("report", "violations", *PERIOD, "--officer", "P-9999"), "P-9999"),
        (("report", "review", *PERIOD, "--unit", "U-NONE"), "U-NONE"),
    ],
)  # fmt: skip
def test_input_that_cannot_be_used_is_one_line_exit_2_and_changes_nothing(room, capsys, args,
                                                                          says):  # fmt: skip
    # Issue 14 "bad input": one line each, nothing changed (but the attempt's record).
    ev, _, path = room
    code, out, err = sealcam(capsys, *args, "--evidence", path, "--user", "legal")
    assert code == 2, (out, err)
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    with ev.read() as cur:
        for table in ("review_plans", "review_draws", "review_sample", "reviews"):
            assert cur.execute("SELECT count(*) FROM %s" % table).fetchone()[0] == 0


def test_an_officer_may_not_draw_or_read_the_reports(room, capsys):
    # R-HOST-7: sampling is the legal department's; a refusal is exit 1 and on record.
    ev, _, path = room
    code, _, err = sealcam(capsys, "review", "plan", "--evidence", path, "--user", "wang",
                           *PERIOD, "--count", "1")  # fmt: skip
    assert code == 1 and "legal-reviewer" in err
    code, _, err = sealcam(capsys, "report", "violations", "--evidence", path, "--user", "wang",
                           *PERIOD)  # fmt: skip
    assert code == 1
    # Nor learn which recordings a draw took (R-HOST-7: they cannot know what is reviewed).
    code, out, err = sealcam(capsys, "review", "queue", "--evidence", path, "--user", "wang")
    assert code == 1 and out == ""
    refused = [r for r in _trail(ev) if r.outcome == audit.REFUSED]
    assert [r.action for r in refused] == [audit.SAMPLE, audit.REPORT, audit.REVIEW]


def test_the_violations_report_as_text_json_and_csv(room, capsys):
    # R-HOST-10: per unit and officer, with evidence and rule; --json and --csv.
    ev, ids, path = room
    login = ("--evidence", path, "--user", "admin")
    code, out, err = sealcam(capsys, "report", "violations", *login, *PERIOD, "--json")
    assert code == 1, err  # violations found
    found = json.loads(out)["violations"]
    codes = {v["code"] for v in found}
    assert {"no-record-without-reason", "late-upload"} <= codes
    late = next(v for v in found if v["code"] == "late-upload")
    assert late["rule"] == "R-HOST-1" and late["evidence"]["item"] == ids[4]
    assert late["officer"] == rs.OFFICER_B and late["under"] == "R-HOST-10"
    code, out, err = sealcam(capsys, "report", "violations", *login, *PERIOD, "--csv")
    assert code == 1, err  # violations found
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(found) and {r["code"] for r in rows} == codes
    i18n.use("zh")
    code, out, err = sealcam(capsys, "report", "violations", *login, *PERIOD, "--lang", "zh")
    assert code == 1, err  # violations found
    assert "违规情况" in out and "逾期" in out and "R-DEV-11" in out
    code, out, err = sealcam(capsys, "report", "violations", *login, *PERIOD, "--json")
    # --json is for machines: its sentences stay English in any language.
    assert all(v["message"].isascii() for v in json.loads(out)["violations"])
    reports = [r for r in _trail(ev) if r.action == audit.REPORT]
    assert len(reports) == 4 and all(r.details["report"] == "violations" for r in reports)


def test_the_store_s_own_findings_have_their_own_section(room, capsys):
    # R-HOST-10, R-HOST-5: a dock's record deleted behind the log's back is at the dock's
    # time, before every officer's group; an officer the register places in no unit says so.
    ev, _, path = room
    ended = rs.T0 + 3_600_000
    ev.record_session({"device": rs.DEVICE, "result": "ok", "entries_stored": 0,
                       "media_stored": 0, "bytes_in": 1}, ended)  # fmt: skip
    with ev.write() as cur:
        cur.execute("DELETE FROM sessions WHERE ended_ms = ?", (ended,))
    login = ("--evidence", path, "--user", "admin")
    code, out, err = sealcam(capsys, "report", "violations", *login, *PERIOD)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[1] == "the evidence store itself, not one unit or officer: 1"
    assert "2026-11-23 17:00:00 UTC+8" in lines[2] and "gone from the store" in lines[2]
    assert rs.OFFICER_A + ", in no unit of the register:" in out
    code, out, err = sealcam(capsys, "report", "violations", *login, *PERIOD, "--json")
    (store,) = [v for v in json.loads(out)["violations"] if v["scope"] == "store"]
    assert store["at_ms"] == ended and store["officer"] is None
