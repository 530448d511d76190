"""The legal department's review of sampled recordings (R-HOST-7): the checklist, pre-filled
from the signed events (R-DEV-6, R-DEV-8, R-DEV-9, R-DEV-11, R-DEV-12, R-HOST-1), a
reviewer's findings, and the report per unit and officer."""

import os

import pytest

from host import access, audit, compliance, items, review, sampling, shiftevents
from host.errors import Unusable
from tests.host import reviewstore as rs
from tests.host.helpers import sign_checkpoint


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The review store (``tests.host.reviewstore``) with every recording drawn."""
    ev, ids = rs.store(tmp_path_factory.mktemp("review"))
    ev.add_tables(sampling.SCHEMA)
    ev.add_tables(review.SCHEMA)
    return ev, ids


def _prefilled(ev, item_id):
    with ev.read() as cur:
        return review.prefill_in_store(cur, items.get(cur, item_id))


def _codes(marks):
    return sorted({m.code for m in marks})


def test_a_whole_recording_has_nothing_pre_filled_but_its_shift_s_reasonless_record(shop):
    ev, ids = shop
    marks = _prefilled(ev, ids[0])
    # R-DEV-11: the officer's "objective cause" work record names nothing: pre-filled.
    assert _codes(marks) == [review.NO_RECORD_REASON]
    (m,) = marks
    assert m.auto and m.rule == "R-DEV-11" and m.detail == {"reason": "objective-cause", "note": ""}


def test_a_pause_for_another_reason_is_pre_filled(shop):
    # R-DEV-9: "other" is no objective reason the rules name; the reviewer must judge it.
    ev, ids = shop
    marks = _prefilled(ev, ids[1])
    (pause,) = [m for m in marks if m.code == review.PAUSE_OTHER]
    assert pause.rule == "R-DEV-9" and pause.detail == {"reason": "other"}
    assert review.SPOKEN_REASON not in _codes(marks)  # it was spoken


def test_no_announcement_no_narration_and_lost_frames_are_pre_filled(shop):
    # R-DEV-8, R-DEV-12, R-DEV-6.
    ev, ids = shop
    marks = _prefilled(ev, ids[2])
    assert {review.NO_ANNOUNCEMENT, review.NO_NARRATION, review.OVERRUN} <= set(_codes(marks))
    (lost,) = [m for m in marks if m.code == review.OVERRUN]
    assert lost.detail["lost"] == 3 and lost.detail["stream"] == "video"


def test_late_footage_is_pre_filled_and_another_officer_s_records_are_not(shop):
    # R-HOST-1; R-DEV-11's record is officer A's, not B's, though the device is the same.
    ev, ids = shop
    assert _codes(_prefilled(ev, ids[3])) == []
    assert _codes(_prefilled(ev, ids[4])) == [review.LATE_UPLOAD]


def test_a_failed_self_check_and_a_power_cut_are_pre_filled():
    # R-DEV-7 and R-DEV-9 (early stop) from the facts alone.
    check = shiftevents.Fact("self-check", "D", 1, 0, "P", None, {"failed": ["battery"]})
    events = shiftevents.RecordingEvents(9, [], [], check, [])
    cut = compliance.Flag("recording-cut-by-power-loss", "R-DEV-9", 4, "cut")
    found = review.prefill(compliance.RecordingFindings([cut], []), [], events)
    assert _codes(found) == [review.EARLY_STOP, review.SELF_CHECK]


def test_the_facts_name_every_kind_the_host_did_not_read(shop):
    ev, ids = shop
    with ev.read() as cur:
        facts = shiftevents.in_period(cur, shiftevents.NO_RECORD, rs.SINCE, rs.UNTIL)
        first = shiftevents.of_recording(cur, items.get(cur, ids[0]))
    assert [f.detail["reason"] for f in facts] == ["privacy", "objective-cause"]
    assert [f.reasonless for f in facts] == [False, True]
    assert first.self_check is not None and first.self_check.detail["failed"] == []
    assert first.narration is not None


def test_the_reviewer_confirms_adds_and_sets_aside():
    auto = [review.Mark(review.NO_NARRATION), review.Mark(review.OVERRUN, seq=7)]
    marks = review.judge(auto, [review.LATE_START, review.OTHER], [review.OVERRUN], "raining")
    got = {(m.code, m.auto, m.set_aside) for m in marks}
    assert got == {
        (review.NO_NARRATION, True, False),
        (review.OVERRUN, True, True),
        (review.LATE_START, False, False),
        (review.OTHER, False, False),
    }


@pytest.mark.parametrize(
    "add, aside, note",
    [(["no-such-check"], [], ""), ([review.OTHER], [], " "), ([], [review.OVERRUN], ""),
     ([], [], "x" * (review.NOTE_MAX + 1))],
)  # fmt: skip
def test_a_review_that_cannot_be_used_is_refused_in_one_line(add, aside, note):
    with pytest.raises(Unusable) as exc:
        review.judge([], add, aside, note)
    assert "\n" not in str(exc.value)


def _desk(ev):
    return access.Desk.login(
        ev, "legal", rs.PASSWORD, now=lambda: rs.T0 + 3 * rs.DAY_MS, sign=sign_checkpoint
    )


def test_findings_only_for_a_recording_a_draw_took_and_the_report_counts_them(tmp_path):
    # R-HOST-7: only sampled recordings are reviewed; the report per officer counts them.
    ev, ids = rs.store(tmp_path)
    ev.add_tables(sampling.SCHEMA)
    ev.add_tables(review.SCHEMA)
    desk = _desk(ev)
    with desk.act(audit.SAMPLE, None) as act:
        plan, _ = sampling.make_plan(
            act.cur, None, rs.OFFICER_A, rs.SINCE, rs.UNTIL, None, 2, "legal", desk.now()
        )
    with desk.act(audit.SAMPLE, None) as act:
        d = sampling.draw(act.cur, plan.plan_id, "legal", desk.now(), os.urandom(32))
        act.details.update(d.audit_details())
    outside = ids[3]  # officer B's: never in this plan
    with pytest.raises(Unusable), desk.act(audit.REVIEW, outside) as act:
        review.record(act.cur, outside, None, [], "", "legal", desk.now())
    with ev.read() as cur:
        assert cur.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
        assert [it.item_id for _, it in review.queue(cur)] == sorted(
            d.sample, key=lambda i: ids.index(i)
        )
    target = d.sample[0]
    with desk.act(audit.REVIEW, target) as act:
        item = items.get(act.cur, target)
        marks = review.judge(review.prefill_in_store(act.cur, item), [review.LATE_START], [], "")
        done = review.record(act.cur, target, plan.plan_id, marks, "", "legal", desk.now())
    with ev.read() as cur:
        (row,) = review.summary(cur, rs.SINCE, rs.UNTIL, lambda officer: "U-1")
        assert len(review.queue(cur)) == 1
        (record,) = [r for r in audit.history(cur, item=target) if r.action == audit.REVIEW]
    assert (row.unit_id, row.officer_id, row.sampled, row.reviewed) == ("U-1", rs.OFFICER_A, 2, 1)
    assert sum(row.findings.values()) == len(done.findings) and row.findings[review.LATE_START] == 1
    assert record.outcome == audit.DONE


def test_the_scenario_of_a_pause_for_another_reason_is_pre_filled_and_reported(tmp_path):
    # R-HOST-7, R-HOST-10 on the simulator's shift (simulator/scenarios/pause-other-
    # reason.toml): the host raises no compliance flag, but the review finds the pause for
    # "other", the missing narration and the reasonless work record, and the violations
    # report names the work record, with its device and seq.
    from host import violations
    from host.checkup import check_evidence
    from host.evidence import SqliteEvidenceStore
    from simulator.command import SCENARIO_DIR
    from simulator.run import run_file
    from tests.host.helpers import with_accounts

    evidence_dir = tmp_path / "evidence"
    report = run_file(
        str(SCENARIO_DIR / "pause-other-reason.toml"),
        str(tmp_path / "run"),
        evidence=str(evidence_dir),
    )
    assert report["passed"], [c for c in report["expectations"] if not c["passed"]]
    ev = with_accounts(SqliteEvidenceStore(evidence_dir), ())
    with ev.read() as cur:
        (item,) = items.find(cur)
        marks = review.prefill_in_store(cur, item)
    assert _codes(marks) == sorted(
        [review.PAUSE_OTHER, review.NO_NARRATION, review.NO_RECORD_REASON]
    )
    assert item.officer == "P-0427"
    checkup = check_evidence(evidence_dir)
    with ev.read() as cur:
        found = violations.report(cur, checkup, item.started_ms - rs.DAY_MS, item.ended_ms + 1)
    (reasonless,) = [v for v in found if v.code == "no-record-without-reason"]
    assert (reasonless.officer, reasonless.device, reasonless.rule) == ("P-0427", item.device_id,
                                                                       "R-DEV-11")  # fmt: skip
    assert reasonless.seq is not None and reasonless.seq < item.rec
    assert all(v.kind != violations.ALTERED for v in found)


def test_a_work_record_of_an_earlier_power_on_is_not_this_recording_s(tmp_path):
    # R-DEV-11: the shift a recording belongs to is its power-on (boot): a reasonless work
    # record before the device was switched off and on again is that earlier shift's.
    from firmware.recorder import STORE, Recorder
    from protocol.ledger import parse_entry
    from protocol.registry import NO_RECORD_OBJECTIVE
    from protocol.signer import make_signer
    from simulator.shift import GOOD_CHECKS, ShiftScript
    from tests.host.helpers import evidence, with_accounts
    from tests.protocol.helpers import DEVICE, SEED_A

    s = ShiftScript(make_signer(SEED_A), DEVICE, rs.OFFICER_A, rs.T0)
    s.entries += [a[1] for a in s.recorder.power_on(s.wall, s.mono, GOOD_CHECKS) if a[0] == STORE]
    s.do("no_record", NO_RECORD_OBJECTIVE, "")
    last = parse_entry(s.entries[-1])
    s.recorder = Recorder(make_signer(SEED_A), DEVICE, rs.OFFICER_A, last.seq + 1, last.digest, 1)
    s.wait(3_600_000)
    s.mono = 0
    s.entries += [a[1] for a in s.recorder.power_on(s.wall, s.mono, GOOD_CHECKS) if a[0] == STORE]
    rs._record(s, "whole")
    ev = evidence(tmp_path)
    ev.add_entries(DEVICE, s.entries, rs.T0 + 2 * 3_600_000)
    with_accounts(ev, ())
    with ev.read() as cur:
        (item,) = items.find(cur)
        events = shiftevents.of_recording(cur, item)
        marks = review.prefill_in_store(cur, item)
    assert events.no_records == [] and events.self_check is not None
    assert events.self_check.seq > last.seq  # this power-on's own self-check
    assert review.NO_RECORD_REASON not in _codes(marks)
