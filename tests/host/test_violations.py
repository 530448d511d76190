"""The violations report (R-HOST-10): every kind the rules name, per unit and officer for a
period, each with its evidence and the rule it breaks, in Chinese and English."""

import copy
import hashlib
import json
import os
from types import SimpleNamespace

import pytest

from host import audit, cases, compliance, i18n, items, people, restricted, violations
from host.checkup import check_evidence
from host.errors import Refused
from protocol.verify import Finding
from tests.host import reviewstore as rs
from tests.host.helpers import sign_checkpoint
from tests.protocol.helpers import DEVICE


def _alter_media(ev, item_id):
    """Change one byte of the first chunk's media of ``item_id`` in the store."""
    from protocol.ledger import media_digest, parse_entry
    from protocol.registry import KIND_CHUNK

    with ev.read() as cur:
        it = items.get(cur, item_id)
        for (raw,) in cur.execute(
            "SELECT raw FROM entries WHERE device_id = ? AND seq > ? AND kind = ? ORDER BY seq",
            (DEVICE, it.rec, KIND_CHUNK),
        ):
            e = parse_entry(bytes(raw))
            path = ev.media_file(media_digest(e.fields))
            os.chmod(path, 0o644)
            data = bytearray(path.read_bytes())
            data[0] ^= 1
            path.write_bytes(bytes(data))
            return e.seq
    raise AssertionError("no chunk")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store with one violation of each kind the store can show by itself."""
    path = tmp_path_factory.mktemp("violations")
    ev, ids = rs.store(path)
    clock = [rs.T0 + 6 * 3_600_000]  # the clerk acts within the report's period
    from host.access import Desk

    clerk = Desk.login(ev, "clerk", rs.PASSWORD, now=lambda: clock[0], sign=sign_checkpoint)
    # Not recorded when required (R-HOST-10): an inspection with no footage, Wang's.
    with clerk.act(audit.CASE_CHANGE, None) as act:
        cases.add(act.cur, cases.Case("峨公(检)2026-7", "inspection", "shop inspection", "wang",
                                      "Main St", rs.T0 + 3_600_000, clock[0], None, False,
                                      "clerk", clock[0]))  # fmt: skip
    # Leaking (R-HOST-6): restricted footage the clerk tried to export, and a copy that left
    # with no approval on its record.
    with clerk.act(audit.RESTRICT, ids[1]) as act:
        restricted.mark(act.cur, ids[1], restricted.PRIVATE, "a minor", "clerk", clock[0])
    clock[0] += 1000
    with pytest.raises(Refused), clerk.act(audit.EXPORT, ids[1]):
        pass
    with ev.write() as cur:
        left = audit.record(cur, ev.log, "clerk", audit.SHARE, clock[0] + 1, ids[1])
    # Altering: a byte of stored footage (R-HOST-5); a fork refused at a dock (R-DEV-2).
    altered_seq = _alter_media(ev, ids[0])
    ev.record_session(
        {"device": DEVICE, "result": "refused: device %s sent a different entry for seq 3 "
         "than the one stored: the ledger was forked or altered; nothing was stored" % DEVICE,
         "entries_stored": 0, "media_stored": 0, "bytes_in": 10},
        rs.T0 + 5 * 3_600_000,
    )  # fmt: skip
    checkup = check_evidence(ev.root)
    return SimpleNamespace(ev=ev, ids=ids, checkup=checkup, left=left, altered_seq=altered_seq)


def _report(built, **kw):
    with built.ev.read() as cur:
        return violations.report(cur, built.checkup, rs.SINCE, rs.UNTIL, **kw)


def _codes(found):
    return sorted({v.code for v in found})


def test_every_kind_the_store_shows_is_reported_with_its_evidence_and_rule(built):
    # R-HOST-10: not recording when required, altering, leaking, late upload, a fork.
    found = _report(built)
    assert {
        "case-not-recorded",
        "no-record-without-reason",
        "media-altered",
        "ledger-forked",
        "leak-attempt",
        "left-without-approval",
        "late-upload",
    } <= set(_codes(found))
    by = {v.code: v for v in found}
    case = by["case-not-recorded"]
    assert (case.officer, case.case, case.rule) == (rs.OFFICER_A, "峨公(检)2026-7", "R-HOST-10")
    altered = by["media-altered"]
    assert (altered.item, altered.seq, altered.officer) == (built.ids[0], built.altered_seq,
                                                           rs.OFFICER_A)  # fmt: skip
    assert altered.rule == "R-HOST-5" and altered.kind == violations.ALTERED
    left = by["left-without-approval"]
    assert (left.audit_seq, left.actor, left.item) == (built.left.seq, "clerk", built.ids[1])
    attempt = by["leak-attempt"]
    assert attempt.audit_seq is not None and attempt.kind == violations.LEAKED
    late = by["late-upload"]
    assert (late.officer, late.item, late.rule) == (rs.OFFICER_B, built.ids[4], "R-HOST-1")
    reasonless = by["no-record-without-reason"]
    assert (reasonless.rule, reasonless.device, reasonless.officer) == ("R-DEV-11", DEVICE,
                                                                     rs.OFFICER_A)  # fmt: skip
    # Nothing the store does not show: the media is all there, nothing was forged.
    assert "media-missing" not in by and "entries-forged" not in by


@pytest.mark.parametrize(
    "flag, code, kind, rule",
    [
        ("eviction-before-receipt", "early-eviction", violations.ALTERED, "R-DEV-4"),
        ("eviction-too-young", "early-eviction", violations.ALTERED, "R-DEV-4"),
        ("media-damaged-on-device", "media-damaged-on-device", violations.ALTERED, "R-DEV-2"),
        ("media-lost-on-device", "footage-lost-on-device", violations.LOSS, "R-DEV-4"),
    ],
)
def test_what_the_device_lost_or_freed_too_early_is_reported(built, flag, code, kind, rule):
    # R-HOST-10 (deleting or altering, loss): what the device's own ledger shows (the
    # verifier's finding of media it reported damaged, host.compliance's flags of evictions
    # and lost media; their own tests make them from real ledgers) becomes a violation of
    # the officer whose recording the entry belongs to, with the rule it breaks.
    d = built.checkup.devices[0]
    flagged = copy.copy(d)
    if flag in compliance.FLAG_CODES:
        flagged.flags = [*d.flags, compliance.Flag(flag, rule, built.altered_seq, "test")]
    else:
        flagged.report = copy.copy(d.report)
        flagged.report.findings = [*d.report.findings, Finding(flag, "test", built.altered_seq)]
    checkup = copy.copy(built.checkup)
    checkup.devices = [flagged, *built.checkup.devices[1:]]
    with built.ev.read() as cur:
        found = violations.report(cur, checkup, rs.SINCE, rs.UNTIL)
    (v,) = [v for v in found if v.code == code]
    assert (v.kind, v.rule, v.device, v.seq) == (kind, rule, DEVICE, built.altered_seq)
    assert (v.item, v.officer) == (built.ids[0], rs.OFFICER_A)
    assert code not in _codes(_report(built))  # the store itself shows none of them


def test_the_report_is_per_unit_and_officer_and_can_be_narrowed(built):
    found = _report(built, officer_id=rs.OFFICER_B)
    assert {v.officer for v in found} == {rs.OFFICER_B}
    groups = violations.grouped(_report(built))
    whos = [who for _, who, _ in groups]
    assert rs.OFFICER_A in whos and rs.OFFICER_B in whos and "@clerk" in whos
    assert len(whos) == len(set(whos))


def test_a_period_without_violations_is_empty(built):
    with built.ev.read() as cur:
        later = violations.report(
            cur, built.checkup, rs.T0 + 30 * rs.DAY_MS, rs.T0 + 31 * rs.DAY_MS
        )
    assert later == []


def test_every_finding_reads_in_chinese_and_english(built):
    found = _report(built)
    for lang in i18n.LANGS:
        i18n.use(lang)
        try:
            for v in found:
                text = violations.violation_text(v)
                assert text and "{" not in text
                if lang == i18n.ZH:
                    assert any("\u4e00" <= c <= "\u9fff" for c in text), text
        finally:
            i18n.use(None)


def test_every_code_has_its_sentence_and_kind_in_the_catalogue():
    # The ids built at run time (host.i18n: the tests of the code that builds them list them).
    for code in violations.CODES:
        assert i18n.known("violation." + code), code
    for kind in violations.KINDS:
        assert i18n.known(violations.KIND_TEXT[kind])


def test_loss_and_non_return_come_from_the_registers(built, monkeypatch):
    # R-HOST-10 "loss", R-HOST-8: the registers' findings, with the unit they name.
    def device_findings(cur, since_ms, until_ms):
        return [
            SimpleNamespace(kind="lost", device_id=DEVICE, officer_id=rs.OFFICER_A, item_id=None,
                            at_ms=rs.T0, unit_id="U-1", rule="R-HOST-10", detail={"by": "li"}),
            SimpleNamespace(kind="not-returned", device_id="SC-2", officer_id=rs.OFFICER_B,
                            item_id=None, at_ms=rs.T0 + 1, unit_id="U-2", rule="R-HOST-10",
                            detail={"due_ms": rs.T0}),
        ]  # fmt: skip

    units = {rs.OFFICER_A: "U-1", rs.OFFICER_B: "U-2"}
    fake = SimpleNamespace(
        device_findings=device_findings, unit_of=lambda cur, officer: units.get(officer)
    )
    monkeypatch.setattr(violations, "registers", fake)
    found = _report(built)
    lost = [v for v in found if v.kind == violations.LOSS]
    assert _codes(lost) == ["device-lost", "device-not-returned"]
    assert all(v.unit == units[v.officer] for v in found if v.officer in units)
    assert {v.unit for v in _report(built, unit_id="U-2")} == {"U-2"}


def test_csv_has_a_row_per_violation_with_its_evidence(built):
    found = _report(built)
    text = violations.as_csv(found, str)
    lines = text.splitlines()
    assert lines[0].split(",")[:6] == ["unit", "officer", "actor", "kind", "code", "rule"]
    assert len(lines) == len(found) + 1
    assert json.dumps([v.to_dict() for v in found], ensure_ascii=False)


def test_forged_entries_refused_at_a_dock_are_fabricating(tmp_path):
    # R-HOST-10 "fabricating": a dock refused for entries that do not verify.
    ev, _ = rs.store(tmp_path)
    ev.record_session(
        {"device": DEVICE, "result": "refused: entry seq 9 does not verify with the enrolled "
         "key: nothing from it on was stored", "entries_stored": 0, "media_stored": 0,
         "bytes_in": 1}, rs.T0 + 1000)  # fmt: skip
    with ev.read() as cur:
        found = violations.refused_docks(cur, rs.SINCE, rs.UNTIL)
    (v,) = found
    assert (v.code, v.kind, v.device) == ("entries-forged", violations.FABRICATED, DEVICE)
    assert hashlib and people  # the module's imports stay used by the fixtures above


def test_a_lost_recorder_in_the_register_is_in_its_unit_s_report(tmp_path):
    # R-HOST-10 "loss", R-HOST-8: with the register itself (host.registers), the loss and
    # the officer's unit; the other unit's report does not hold it.
    from host import registers

    ev, _ = rs.store(tmp_path)
    with ev.write() as cur:
        registers.add_unit(cur, "U-TRAFFIC", "traffic", "B", 6, None)
        registers.add_unit(cur, "U-MARKET", "market", "C", 2, None)
        registers.set_member(cur, rs.OFFICER_A, "U-TRAFFIC")
        registers.set_member(cur, rs.OFFICER_B, "U-MARKET")
        registers.register(cur, DEVICE, "X1", "S-1", "U-TRAFFIC", rs.OFFICER_A, "admin", rs.T0)
        registers.checkout(cur, DEVICE, rs.OFFICER_A, rs.T0 + 20 * 3_600_000, "admin", rs.T0 + 1)
        registers.set_state(cur, DEVICE, registers.LOST, "left on a bus", "admin", rs.T0 + 2)
    checkup = check_evidence(ev.root)
    with ev.read() as cur:
        found = violations.report(cur, checkup, rs.SINCE, rs.UNTIL, unit_id="U-TRAFFIC")
        market = violations.report(cur, checkup, rs.SINCE, rs.UNTIL, unit_id="U-MARKET")
    lost = [v for v in found if v.code == "device-lost"]
    assert len(lost) == 1 and lost[0].device == DEVICE and lost[0].rule == "R-HOST-10"
    assert {v.unit for v in found} == {"U-TRAFFIC"}
    assert "device-lost" not in _codes(market) and {v.unit for v in market} <= {"U-MARKET"}


# --- the store's check for a period (host.periodcheck) ---------------------------------------


def test_the_period_check_finds_what_the_whole_check_finds(built, monkeypatch):
    # R-HOST-10: the report reads what arrival verified and the store's own check proves
    # unchanged; it hashes the period's media again, and verifies no signature.
    from host import checkup, periodcheck

    def no_signatures(*args, **kw):
        raise AssertionError("a clean store's ledgers are not verified again")

    monkeypatch.setattr(checkup, "verify_ledger", no_signatures)
    quick = periodcheck.check_period(built.ev.root, rs.SINCE, rs.UNTIL)
    with built.ev.read() as cur:
        whole = violations.report(cur, built.checkup, rs.SINCE, rs.UNTIL)
        period = violations.report(cur, quick, rs.SINCE, rs.UNTIL)
    assert [v.to_dict() for v in period] == [v.to_dict() for v in whole]
    assert "media-altered" in _codes(period)  # the period's media was hashed again
    # A period the device has no entry in checks none of its media.
    assert periodcheck.check_period(built.ev.root, rs.T0 + 30 * rs.DAY_MS,
                                    rs.T0 + 31 * rs.DAY_MS).devices == []  # fmt: skip


def test_entries_deleted_behind_the_log_are_found_by_the_period_check(tmp_path):
    # R-HOST-10 "deleting": entries gone from the middle of a ledger, found both ways.
    from host import periodcheck

    ev, _ = rs.store(tmp_path)
    with ev.write() as cur:
        cur.execute("DELETE FROM entries WHERE device_id = ? AND seq = 5", (DEVICE,))
    quick = periodcheck.check_period(ev.root, rs.SINCE, rs.UNTIL)
    whole = check_evidence(ev.root)
    with ev.read() as cur:
        a = violations.report(cur, quick, rs.SINCE, rs.UNTIL)
        b = violations.report(cur, whole, rs.SINCE, rs.UNTIL)
    assert "ledger-altered" in _codes(a) and _codes(a) == _codes(b)
    assert next(v for v in a if v.code == "ledger-altered").seq == 5


def test_seqs_a_clean_store_lacks_are_a_gap():
    # R-HOST-10 "deleting": what arrival cannot see, a run of seqs never stored.
    from host import periodcheck

    gaps = periodcheck._gaps([0, 1, 2, 5, 6, 9])
    assert [(f.code, f.seq) for f in gaps] == [("seq-gap", 3), ("seq-gap", 7)]
    assert periodcheck._gaps([0, 1, 2]) == []


def test_a_store_that_changed_is_verified_again_whole(tmp_path, monkeypatch):
    # When the store's own check finds rows changed, nothing stored is trusted: the
    # ledgers are verified as sealcam verify does.
    from host import periodcheck

    ev, _ = rs.store(tmp_path)
    with ev.write() as cur:
        (raw,) = cur.execute(
            "SELECT raw FROM entries WHERE device_id = ? AND seq = 4", (DEVICE,)
        ).fetchone()
        forged = bytearray(raw)
        forged[-1] ^= 1  # the signature's last byte
        cur.execute("UPDATE entries SET raw = ? WHERE device_id = ? AND seq = 4",
                    (bytes(forged), DEVICE))  # fmt: skip
    called = []
    real = periodcheck.check_evidence

    def counted(*args, **kw):
        called.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(periodcheck, "check_evidence", counted)
    quick = periodcheck.check_period(ev.root, rs.SINCE, rs.UNTIL)
    assert called and not quick.store.ok
    with ev.read() as cur:
        found = violations.report(cur, quick, rs.SINCE, rs.UNTIL, found_ms=rs.T0)
    assert {"store-altered", "entries-forged"} <= set(_codes(found))


# --- the store's findings about itself: their time, their own section --------------------------


def test_the_store_s_own_findings_have_a_time_and_stand_apart(tmp_path):
    # R-HOST-10, R-HOST-5: a session record deleted behind the log's back is at the time
    # the dock ended; a finding with no time of its own is at the time the check ran. They
    # concern no officer: not in any officer's group, but in every unit's report.
    ev, _ = rs.store(tmp_path)
    ended = rs.T0 + 3 * 3_600_000
    ev.record_session({"device": DEVICE, "result": "ok", "entries_stored": 0,
                       "media_stored": 0, "bytes_in": 1}, ended)  # fmt: skip
    with ev.write() as cur:
        cur.execute("DELETE FROM sessions WHERE ended_ms = ?", (ended,))
        cur.execute("INSERT INTO devices VALUES ('SC-EXTRA', ?, 0)", (bytes(32),))
    checkup = check_evidence(ev.root)
    with ev.read() as cur:
        found = violations.report(cur, checkup, rs.SINCE, rs.UNTIL, found_ms=rs.T0 + 5)
        later = violations.report(cur, checkup, rs.T0 + 30 * rs.DAY_MS,
                                  rs.T0 + 31 * rs.DAY_MS, found_ms=rs.T0 + 5)  # fmt: skip
        narrowed = violations.report(cur, checkup, rs.SINCE, rs.UNTIL, officer_id=rs.OFFICER_B,
                                     found_ms=rs.T0 + 5)  # fmt: skip
    store = violations.store_wide_of(found)
    by = {v.fields["code"]: v for v in store}
    assert by["session-deleted"].at_ms == ended and by["session-deleted"].device == DEVICE
    assert by["rows-not-logged"].at_ms == rs.T0 + 5  # when the check found it
    assert all(v.unit is None and v.officer is None for v in store)
    assert found[: len(store)] == store  # first, before any unit
    assert all(not any(v.store_wide for v in vs) for _, _, vs in violations.grouped(found))
    assert violations.store_wide_of(later) == []  # another period: not there
    assert violations.store_wide_of(narrowed) == store
    assert all(v.to_dict()["scope"] == "store" for v in store)


# --- the index of the work records' query ----------------------------------------------------


def test_work_records_of_a_period_are_read_by_an_index(tmp_path):
    # R-HOST-10 "not recording when required": the no-record work records of a period are
    # found through the index the desk makes (host.shiftevents.SCHEMA), not a scan.
    from host import shiftevents
    from host.access import Desk

    ev, _ = rs.store(tmp_path)
    Desk.login(ev, "legal", rs.PASSWORD)
    with ev.read() as cur:
        names = {r[0] for r in cur.execute("SELECT name FROM sqlite_master")}
        assert "entries_event_wall" in names
        plan = " ".join(
            str(r[-1])
            for r in cur.execute(
                "EXPLAIN QUERY PLAN " + shiftevents.IN_PERIOD_SQL, (rs.SINCE, rs.UNTIL)
            )
        )
        assert "entries_event_wall" in plan, plan
        found = shiftevents.in_period(cur, shiftevents.NO_RECORD, rs.SINCE, rs.UNTIL)
    assert found and all(rs.SINCE <= f.at_ms < rs.UNTIL for f in found)


def test_a_checkout_due_after_the_report_is_not_late_yet(tmp_path):
    # R-HOST-10 "loss", R-HOST-8: a period reaching past now is judged as the register
    # stands now; a late checkout reads with its times, not the register's raw detail.
    from host import registers

    ev, _ = rs.store(tmp_path)
    taken = rs.T0 + 2 * 3_600_000
    due = taken + 10 * 3_600_000
    with ev.write() as cur:
        registers.add_unit(cur, "U-1", "patrol", "A", 2, None)
        registers.set_member(cur, rs.OFFICER_B, "U-1")
        registers.register(cur, DEVICE, "X1", "S-1", "U-1", rs.OFFICER_B, "admin", rs.T0)
        registers.checkout(cur, DEVICE, rs.OFFICER_B, due, "admin", taken)
    checkup = check_evidence(ev.root)
    with ev.read() as cur:
        early = violations.report(cur, checkup, rs.SINCE, rs.UNTIL, found_ms=taken + 1)
        late = violations.report(cur, checkup, rs.SINCE, rs.UNTIL, found_ms=due + 1)
    assert "device-not-returned" not in _codes(early)
    (v,) = [v for v in late if v.code == "device-not-returned"]
    for lang in i18n.LANGS:
        text = violations.violation_text(v, lang)
        assert "due_ms" not in text and "{" not in text and "UTC+8" in text, text
