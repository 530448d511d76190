"""Compliance flags: each rule, caught on a ledger written by the real recorder or a device
that broke the rule."""
# micropython: skip (host code)

import pytest

from firmware.recorder import STORE
from host.checkup import check_evidence
from host.compliance import DAY_MS, HOUR_MS, Policy, check, gone_chunks
from protocol.ledger import LedgerWriter, parse_entry
from protocol.messages import GONE_DAMAGED, GONE_NOT_FOUND
from protocol.registry import (
    EV_ANNOUNCEMENT,
    EV_BOOT,
    EV_CLOCK_SET,
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_POWER_LOSS_RECOVERED,
    EV_RESUME,
    F_DETAIL,
    F_EVENT,
    F_MONO_MS,
    F_PLAIN_SHA,
    F_REASON,
    F_WALL_MS,
    KIND_CHUNK,
    KIND_EVENT,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer
from simulator.shift import GOOD_CHECKS, ShiftScript
from tests.host import fmp4
from tests.host.shiftledger import continue_ledger, on_time, shift
from tests.protocol.helpers import DEVICE, SEED_A, T0


def codes(flags: list) -> list:
    return [f.code for f in flags]


def test_a_clean_shift_raises_no_flag():
    entries = shift()
    assert check(entries, on_time(entries)) == []


def test_footage_later_than_24_hours_is_flagged():  # R-HOST-1
    entries = shift()
    flags = check(entries, on_time(entries, 25 * HOUR_MS))
    assert codes(flags) == ["late-upload"]
    assert flags[0].rule == "R-HOST-1" and "25.0 h" in flags[0].message
    assert check(entries, on_time(entries, 25 * HOUR_MS), Policy(upload_hours=48)) == []


def test_a_recording_without_the_announcement_is_flagged():  # R-DEV-8
    s = ShiftScript(make_signer(SEED_A), DEVICE, "P-1", T0)
    s.entries += [a[1] for a in s.recorder.power_on(T0, 0, GOOD_CHECKS) if a[0] == STORE]
    s.do("press_record")
    s.film(2, 5, "no words")
    s.do("press_stop")
    entries = [parse_entry(r) for r in s.entries]
    flags = check(entries, on_time(entries))
    assert codes(flags) == ["no-announcement"]


def test_a_resume_without_a_spoken_reason_is_flagged():  # R-DEV-9
    entries = shift()
    w = continue_ledger(entries)
    raw = w.append(KIND_EVENT, {F_EVENT: EV_RESUME, F_REASON: PAUSE_WEATHER}, T0 + 10**6, 10**6)
    entries.append(parse_entry(raw))
    flags = check(entries, on_time(entries))
    assert codes(flags) == ["resume-without-spoken-reason"]
    assert flags[0].seq == entries[-1].seq


def test_missing_seqs_are_flagged():  # R-DEV-2
    entries = shift()
    del entries[5:8]
    flags = check(entries, on_time(entries))
    assert "seq-gap" in codes(flags)
    assert "seq 5 to 7 are missing" in flags[codes(flags).index("seq-gap")].message


def test_clock_drift_beyond_the_threshold_is_flagged():  # R-HOST-11
    s = ShiftScript(make_signer(SEED_A), DEVICE, "P-1", T0)
    s.entries += [a[1] for a in s.recorder.power_on(T0, 0, GOOD_CHECKS) if a[0] == STORE]
    for a in s.recorder.host_config({"clock_ms": T0 + 90_000}, "agency-host-1", T0, 0):
        if a[0] == STORE:
            s.entries.append(a[1])
    entries = [parse_entry(r) for r in s.entries]
    flags = check(entries, on_time(entries))
    assert codes(flags) == ["clock-drift"] and "behind by 90.0 s" in flags[0].message
    assert check(entries, on_time(entries), Policy(clock_drift_ms=120_000)) == []


def test_eviction_before_receipt_or_before_six_months_is_flagged():  # R-DEV-4
    entries = shift()
    chunk = next(e for e in entries if e.kind == KIND_CHUNK)
    w = continue_ledger(entries)
    evict = {F_EVENT: EV_EVICTION, F_DETAIL: {"media": [chunk.fields[F_PLAIN_SHA]]}}
    early = parse_entry(w.append(KIND_EVENT, evict, T0 + 10 * 24 * HOUR_MS, 10 * 24 * HOUR_MS))
    flags = check([*entries, early], on_time(entries))
    assert sorted(codes(flags)) == ["eviction-before-receipt", "eviction-too-young"]
    # After a receipt and past the floor, the same eviction is within the rules.
    w = continue_ledger(entries)
    receipt = {F_EVENT: EV_HOST_RECEIPT, F_DETAIL: {"through_seq": entries[-1].seq}}
    late = [
        parse_entry(w.append(KIND_EVENT, receipt, T0 + HOUR_MS, HOUR_MS)),
        parse_entry(w.append(KIND_EVENT, evict, T0 + 200 * 24 * HOUR_MS, 200 * 24 * HOUR_MS)),
    ]
    assert check(entries + late, on_time(entries)) == []


def test_a_clock_rolled_back_without_the_host_is_flagged():  # R-HOST-11, R-DEV-17
    entries = shift()
    last = entries[-1]
    w = continue_ledger(entries)
    mono = last.fields[F_MONO_MS] + 60_000  # a minute later by the monotonic clock...
    wall = last.fields[F_WALL_MS] + 60_000 - HOUR_MS  # ...but an hour earlier by the RTC
    back = parse_entry(w.append(KIND_EVENT, {F_EVENT: EV_RESUME}, wall, mono))
    flags = [f for f in check([*entries, back], on_time(entries)) if f.code.startswith("clock")]
    assert [(f.code, f.seq) for f in flags] == [("clock-rolled-back", back.seq)]
    assert "back by 3600.0 s" in flags[0].message


def test_a_reset_clock_after_a_reboot_is_flagged_but_a_host_set_clock_is_not():  # R-HOST-11
    entries = shift()
    last = entries[-1]
    reboot = LedgerWriter(make_signer(SEED_A), DEVICE, last.seq + 1, last.digest, boot=1)
    year_2000 = 946_684_800_000
    first = parse_entry(reboot.append(KIND_EVENT, {F_EVENT: EV_RESUME}, year_2000, 10))
    flags = check([*entries, first], on_time(entries))
    assert [f.code for f in flags if f.code.startswith("clock")] == ["clock-rolled-back"]
    # The same step is no finding when the host set the clock between the two entries.
    w = continue_ledger(entries)
    now = last.fields[F_WALL_MS]
    mono = last.fields[F_MONO_MS]
    fields = {F_EVENT: EV_CLOCK_SET, F_DETAIL: {"old_ms": now, "new_ms": now - 1000}}
    set_by_host = parse_entry(w.append(KIND_EVENT, fields, now, mono))
    after = parse_entry(w.append(KIND_EVENT, {F_EVENT: EV_RESUME}, now - 1000 + 5, mono + 5))
    flags = check([*entries, set_by_host, after], on_time(entries))
    assert [f.code for f in flags if f.code.startswith("clock")] == []


def gone_report(chunk, reason, ms=T0 + DAY_MS, text="said the device"):
    return {"digest": chunk.fields[F_PLAIN_SHA], "reason": reason, "text": text, "reported_ms": ms}


def after_shift(entries, events):
    """``entries`` followed by one event per (boot, code), written as the agent would."""
    last = entries[-1]
    out = list(entries)
    prev, seq = last.digest, last.seq + 1
    for boot, code in events:
        w = LedgerWriter(make_signer(SEED_A), DEVICE, seq, prev, boot=boot)
        e = parse_entry(w.append(KIND_EVENT, {F_EVENT: code}, T0 + HOUR_MS, 10))
        out.append(e)
        prev, seq = e.digest, seq + 1
    return out


def test_media_the_device_lost_is_flagged_against_its_chunk_and_the_rule_that_explains_it():
    entries = shift()
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    lost, damaged = chunks[1], chunks[3]
    gone = [gone_report(lost, GONE_NOT_FOUND), gone_report(damaged, GONE_DAMAGED)]
    # R-DEV-4: no power loss explains it; the file left the device early.
    flags = check(entries, on_time(entries), gone=gone)
    assert [(f.code, f.rule, f.seq) for f in flags] == [
        ("media-lost-on-device", "R-DEV-4", lost.seq)
    ]
    assert "reported at 2026-11-24T08:00:00Z: said the device" in flags[0].message
    assert check(entries, on_time(entries)) == []  # no report, no flag
    # R-DEV-14: the device lost power after the chunk, before it booted again.
    cut = after_shift(entries, [(1, EV_POWER_LOSS_RECOVERED), (1, EV_BOOT)])
    flags = check(cut, on_time(entries), gone=gone)
    assert [(f.code, f.rule, f.seq) for f in flags] == [
        ("media-lost-on-device", "R-DEV-14", lost.seq)
    ]
    # A power loss after a later, clean boot does not explain footage of the earlier one.
    later = after_shift(entries, [(1, EV_BOOT), (2, EV_POWER_LOSS_RECOVERED), (2, EV_BOOT)])
    flags = check(later, on_time(entries), gone=gone)
    assert [f.rule for f in flags] == ["R-DEV-4"]


def test_a_file_once_reported_damaged_stays_damaged_for_the_verifier():  # R-DEV-2
    entries = shift()
    chunk = [e for e in entries if e.kind == KIND_CHUNK][2]
    reports = [
        gone_report(chunk, GONE_DAMAGED, T0 + DAY_MS, "does not match"),
        gone_report(chunk, GONE_NOT_FOUND, T0 + 2 * DAY_MS, "evicted since"),
    ]
    assert [(e.seq, reason, r["text"]) for e, reason, r in gone_chunks(entries, reports)] == [
        (chunk.seq, GONE_DAMAGED, "does not match")
    ]
    # A damaged file is a finding of the verifier (NOT OK), not a compliance flag.
    assert check(entries, on_time(entries), gone=reports) == []


# --- the spoken reason heard, in fMP4 mode (issue 12) -------------------------------------


@pytest.mark.parametrize("spoken", ["voice", "tone"])
def test_a_spoken_reason_that_is_heard_raises_no_flag(spoken):  # R-DEV-9
    rec = fmp4.record(gops_before=1, gops_after=1, spoken=spoken)
    assert check(rec.entries, on_time(rec.entries), media=rec.media.get) == []


def test_a_silent_spoken_reason_is_flagged():  # R-DEV-9
    rec = fmp4.record(gops_before=1, gops_after=1, spoken="silence")
    flags = check(rec.entries, on_time(rec.entries), media=rec.media.get)
    assert codes(flags) == ["silent-spoken-reason"]
    resume = next(e for e in rec.entries if e.fields.get(F_EVENT) == EV_RESUME)
    assert flags[0].rule == "R-DEV-9" and flags[0].seq == resume.seq
    assert "is silence" in flags[0].message and "below -50 dBFS" in flags[0].message
    assert "chunk seq %d" % rec.spoken[0].seq in flags[0].message
    # Without the media (a ledger alone), the resume points at audio and passes as before.
    assert check(rec.entries, on_time(rec.entries)) == []
    # Media the store does not hold is not judged here (the media checks report it).
    assert check(rec.entries, on_time(rec.entries), media=lambda digest: None) == []


def test_a_quiet_spoken_reason_is_judged_by_the_agency_threshold():  # R-DEV-9
    rec = fmp4.record(gops_before=1, gops_after=1, spoken="tone")  # about -13.5 dBFS
    strict = Policy(silence_dbfs=-10)
    flags = check(rec.entries, on_time(rec.entries), strict, media=rec.media.get)
    # The hum the announcement is heard over is silence by so strict a threshold too.
    assert codes(flags) == ["silent-spoken-reason", "announcement-not-heard"]
    assert "dBFS" in flags[0].message


def test_a_spoken_reason_that_is_not_audio_is_flagged():  # R-DEV-9
    rec = fmp4.record(gops_before=1, gops_after=1)
    spoken = rec.spoken[0].fields[F_PLAIN_SHA]
    media = dict(rec.media)
    media[spoken] = b"\x00\x00\x00\x08free"  # no audio at all where the reason should be
    flags = check(rec.entries, on_time(rec.entries), media=media.get)
    assert codes(flags) == ["silent-spoken-reason"] and "cannot be heard" in flags[0].message


def test_the_evidence_check_listens_to_the_stored_spoken_reason(tmp_path):  # R-DEV-9
    rec = fmp4.record(gops_before=1, gops_after=1, spoken="silence")
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    (device,) = check_evidence(tmp_path / "ev").devices
    assert "silent-spoken-reason" in codes(device.flags)


# --- the announcement heard (issue 17: a recording without sound is not "no flags") --------


def test_an_announcement_on_a_recording_with_sound_raises_no_flag():  # R-DEV-8
    rec = fmp4.record(gops_before=1, gops_after=1)
    assert check(rec.entries, on_time(rec.entries), media=rec.media.get) == []


@pytest.mark.parametrize(
    "background, how, says",
    [
        ("none", "no-track", "the recording has no sound"),
        ("silence", "digital", "digital silence, below -50 dBFS"),
    ],
)
def test_an_announcement_the_recording_cannot_hold_is_flagged(background, how, says):  # R-DEV-8
    from host import i18n
    from host.report_text import said

    rec = fmp4.record(gops_before=1, gops_after=1, background=background)
    flags = [f for f in check(rec.entries, on_time(rec.entries), media=rec.media.get)]
    heard = [f for f in flags if f.code == "announcement-not-heard"]
    assert len(heard) == 1 and heard[0].rule == "R-DEV-8", codes(flags)
    announced = next(e for e in rec.entries if e.fields.get(F_EVENT) == EV_ANNOUNCEMENT)
    assert heard[0].seq == announced.seq and says in heard[0].message
    assert heard[0].msg_id == "flag.announcement-not-heard." + how
    # No sound at all: the resume has no spoken reason to point at, flagged as ever.
    if background == "none":
        assert "resume-without-spoken-reason" in codes(flags)
    # In both languages, the English the same as --json gives.
    try:
        i18n.use("en")
        assert said(heard[0].msg_id, heard[0].fields) == heard[0].message
        i18n.use("zh")
        assert "无法听到告知内容" in said(heard[0].msg_id, heard[0].fields)
    finally:
        i18n.use("en")


def test_a_quiet_start_is_judged_by_the_agency_threshold():  # R-DEV-8
    rec = fmp4.record(gops_before=1, gops_after=1)  # a hum at about -29 dBFS
    flags = check(rec.entries, on_time(rec.entries), Policy(silence_dbfs=-20), media=rec.media.get)
    heard = [f for f in flags if f.code == "announcement-not-heard"]
    assert heard and heard[0].msg_id == "flag.announcement-not-heard.silence"
    assert "dBFS, below -20 dBFS" in heard[0].message


def test_sealed_or_missing_media_is_not_judged_for_the_announcement():  # R-DEV-8, R-DEV-3
    rec = fmp4.record(gops_before=1, gops_after=1, background="silence", sealed=True)
    assert "announcement-not-heard" not in codes(
        check(rec.entries, on_time(rec.entries), media=rec.media.get)
    )
    rec = fmp4.record(gops_before=1, gops_after=1, background="silence")
    assert check(rec.entries, on_time(rec.entries)) == []  # a ledger alone
    assert check(rec.entries, on_time(rec.entries), media=lambda digest: None) == []


def test_a_raw_recording_without_any_sound_cannot_hold_its_announcement():  # R-DEV-8
    s = ShiftScript(make_signer(SEED_A), DEVICE, "P-1", T0)
    s.entries += [a[1] for a in s.recorder.power_on(T0, 0, GOOD_CHECKS) if a[0] == STORE]
    s.do("press_record")
    s.do("announce_done")
    for i in range(20):  # pictures only: no microphone
        s.do("frame", b"frame %d" % i, i % 10 == 0)
        s.wait(100)
    s.do("press_stop")
    entries = [parse_entry(r) for r in s.entries]
    flags = check(entries, on_time(entries))
    assert codes(flags) == ["announcement-not-heard"]
    assert flags[0].msg_id == "flag.announcement-not-heard.no-track"


def test_the_evidence_check_flags_a_recording_without_sound(tmp_path):  # R-DEV-8, issue 17
    rec = fmp4.record(gops_before=1, gops_after=1, background="none")
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    (device,) = check_evidence(tmp_path / "ev").devices
    assert "announcement-not-heard" in codes(device.flags)


def test_a_recording_a_power_loss_cut_is_flagged_for_review():  # R-DEV-14, issue 17
    s = ShiftScript(make_signer(SEED_A), DEVICE, "P-1", T0)
    s.entries += [a[1] for a in s.recorder.power_on(T0, 0, GOOD_CHECKS) if a[0] == STORE]
    s.do("press_record")
    s.do("announce_done")
    s.film(2, 5, "cut short")  # no stop: the power went
    entries = [parse_entry(r) for r in s.entries]
    w = continue_ledger(entries)
    recovered = {F_EVENT: EV_POWER_LOSS_RECOVERED, F_DETAIL: {}}
    after = parse_entry(w.append(KIND_EVENT, recovered, s.wall + 1000, s.mono + 1000, True))
    flags = check([*entries, after], on_time(entries))
    assert codes(flags) == ["recording-cut-by-power-loss"]
    assert flags[0].rule == "R-DEV-9" and "seq %d" % after.seq in flags[0].message
    # Before the recovery is logged, the recording is only open: nothing to flag yet.
    assert check(entries, on_time(entries)) == []
