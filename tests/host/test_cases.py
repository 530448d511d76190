"""Cases, categories and what a recording proves (R-HOST-2), and the flags of a case whose
footage falls short: a full-recording case (R-HOST-12) and a case that requires footage
(R-HOST-10); issue 13."""
# micropython: skip (host code)

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host import cases, compliance, items, localtime, settings
from tests.host import casestore
from tests.host.casestore import EMPTY, GAPPED, PAUSED, UNANNOUNCED, WHOLE

NOW = 1_795_500_000_000
ZONE = "Asia/Shanghai"


def new_case(cur, number="2026-0042", case_type="detention", **over) -> cases.Case:
    fields = dict(
        case_no=number,
        case_type=case_type,
        title="a fight outside the station",
        responsible="Wang Li",
        place="Station Road 1",
        happened_ms=NOW - 3_600_000,
        opened_ms=NOW,
        closed_ms=None,
        major=False,
        created_by="clerk",
        created_ms=NOW,
    )
    fields.update(over)
    case = cases.Case(**fields)
    cases.add(cur, case)
    return case


def case_holding(ev, ids, case_type="detention"):
    """A case of ``case_type`` holding the recordings ``ids``; returns its flags."""
    with ev.write() as cur:
        case = new_case(cur, case_type=case_type)
        for item in ids:
            assert cases.link(cur, case.case_no, item, "clerk", NOW)
    with ev.read() as cur:
        return cases.case_flags(cur, cases.get(cur, case.case_no))


def codes(flags) -> list:
    return [(f.code, f.item) for f in flags]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """One store with a recording of every shape; each test makes its case in a copy."""
    path = tmp_path_factory.mktemp("cases") / "ev"
    ev, ids = casestore.store(path, casestore.SHAPES)
    ev.close()
    return path, dict(zip(casestore.SHAPES, ids, strict=True))


@pytest.fixture
def fresh(shapes, tmp_path):
    """A copy of the shapes' store for one test, and the item id of each shape."""
    import shutil

    from host.evidence import SqliteEvidenceStore

    src, ids = shapes
    shutil.copytree(src, tmp_path / "ev")
    ev = SqliteEvidenceStore(tmp_path / "ev")
    yield ev, ids
    ev.close()


def test_a_whole_recording_leaves_a_full_recording_case_unflagged(fresh):  # R-HOST-12
    ev, ids = fresh
    assert case_holding(ev, [ids[WHOLE]]) == []


def test_a_pause_in_a_full_recording_case_is_flagged_with_its_reason_and_times(fresh):
    # R-HOST-12: a pause, even for an objective reason, is a break in the footage
    ev, ids = fresh
    flags = case_holding(ev, [ids[WHOLE], ids[PAUSED]])
    assert codes(flags) == [(cases.PAUSED, ids[PAUSED])]
    (paused,) = flags
    assert paused.rule == "R-HOST-12" and paused.detail["reason"] == "weather"
    assert paused.detail["resumed_ms"] - paused.detail["at_ms"] >= 60_000


def test_a_gap_in_a_full_recording_case_is_flagged_with_the_missing_seqs(fresh):  # R-HOST-12
    ev, ids = fresh
    flags = case_holding(ev, [ids[GAPPED]])
    assert codes(flags) == [(cases.SEQ_GAP, ids[GAPPED])]
    rec = items.parse_id(ids[GAPPED])[1]
    assert flags[0].detail == {"first": rec + 3, "last": rec + 4}


def test_a_missing_announcement_in_a_full_recording_case_is_flagged(fresh):  # R-HOST-12
    ev, ids = fresh
    flags = case_holding(ev, [ids[UNANNOUNCED]])
    assert codes(flags) == [(cases.NO_ANNOUNCEMENT, ids[UNANNOUNCED])]


def test_a_recording_without_footage_in_a_full_recording_case_is_flagged(fresh):  # R-HOST-12
    ev, ids = fresh
    assert codes(case_holding(ev, [ids[WHOLE], ids[EMPTY]])) == [
        (cases.EMPTY_RECORDING, ids[EMPTY])
    ]


def test_an_empty_recording_is_no_footage_where_footage_is_required(fresh):  # R-HOST-10
    ev, ids = fresh
    assert codes(case_holding(ev, [ids[EMPTY]], "traffic")) == [(cases.NOT_RECORDED, None)]


def test_a_full_recording_case_without_footage_is_flagged(fresh):  # R-HOST-12, R-HOST-10
    ev, _ = fresh
    flags = case_holding(ev, [])
    assert [(f.code, f.rule) for f in flags] == [
        (cases.NO_FOOTAGE, "R-HOST-12"),
        (cases.NOT_RECORDED, "R-HOST-10"),  # detention also requires footage
    ]


def test_a_required_case_without_footage_is_not_recorded_when_required(fresh):  # R-HOST-10
    ev, _ = fresh
    flags = case_holding(ev, [], case_type="traffic")
    assert [(f.code, f.rule, f.item) for f in flags] == [(cases.NOT_RECORDED, "R-HOST-10", None)]


def test_a_case_that_need_not_be_in_full_is_not_flagged_for_a_pause(fresh, monkeypatch):
    # R-HOST-12 applies to full-recording types only; and their ledgers are not even read
    ev, ids = fresh

    def unread(*args):
        raise AssertionError("a ledger was read for a case that need not be in full")

    monkeypatch.setattr(compliance, "findings_in_store", unread)
    assert case_holding(ev, [ids[PAUSED], ids[GAPPED], ids[UNANNOUNCED]], "traffic") == []


def test_a_case_with_nothing_required_is_not_flagged_without_footage(fresh):  # R-HOST-10
    ev, _ = fresh
    assert case_holding(ev, [], case_type="administrative") == []


def test_every_flag_of_a_full_case_names_its_recording(fresh):  # R-HOST-12
    ev, ids = fresh
    flags = case_holding(ev, list(ids.values()))
    assert sorted(codes(flags)) == sorted(
        [
            (cases.PAUSED, ids[PAUSED]),
            (cases.SEQ_GAP, ids[GAPPED]),
            (cases.NO_ANNOUNCEMENT, ids[UNANNOUNCED]),
            (cases.EMPTY_RECORDING, ids[EMPTY]),
        ]
    )


# --- the rule alone, for any recordings ------------------------------------------------------

FINDING_KINDS = ("pause", "gap", "no-announcement")


def fake_item(n: int, chunks: int) -> items.Item:
    return items.Item("D/%d" % n, items.RECORDING, "D", n, n, n + 9, 0, 1, None, chunks, 0, True)


def fake_findings(kinds: "list[str]") -> compliance.RecordingFindings:
    flags, pauses = [], []
    for k in kinds:
        if k == "pause":
            pauses.append(compliance.Pause(5, 1000, "weather", (6, 2000)))
        elif k == "gap":
            flags.append(compliance.Flag("seq-gap", "R-DEV-2", 3, "seq 3 to 4 are missing", 4))
        else:
            flags.append(compliance.Flag("no-announcement", "R-DEV-8", 0, "none"))
    return compliance.RecordingFindings(flags, pauses)


recordings = st.lists(
    st.tuples(st.lists(st.sampled_from(FINDING_KINDS), max_size=3), st.integers(0, 2)),
    max_size=6,
)


@given(recordings, st.booleans())
def test_a_full_case_is_flagged_iff_a_recording_has_a_finding_or_none_is_linked(recs, required):
    # R-HOST-12 (and R-HOST-10 for a type that also requires footage)
    kind = cases.CaseType("t", full=True, required=required)
    linked = [
        cases.Linked(fake_item(n, chunks), "clerk", 0, None) for n, (_, chunks) in enumerate(recs)
    ]
    findings = {
        x.item.item_id: fake_findings(kinds) for x, (kinds, _) in zip(linked, recs, strict=True)
    }
    flags = cases.flags(kind, linked, findings)
    lacking = any(kinds or chunks == 0 for kinds, chunks in recs)
    assert bool(flags) == (lacking or not recs)
    # Each finding is one flag naming its recording.
    for x, (kinds, chunks) in zip(linked, recs, strict=True):
        assert len([f for f in flags if f.item == x.item.item_id]) == len(kinds) + (chunks == 0)
    assert all(f.rule == cases.FLAG_RULES[f.code] for f in flags)
    # A type that need not be in full is judged on whether footage is linked at all.
    loose = cases.flags(cases.CaseType("t", required=required), linked, {})
    assert bool(loose) == (required and all(chunks == 0 for _, chunks in recs))


# --- the store's rows -------------------------------------------------------------------------


def test_a_case_file_notes_its_particulars_and_what_each_recording_proves(fresh):  # R-HOST-2
    ev, ids = fresh
    with ev.write() as cur:
        case = new_case(cur, major=True)
        cases.link(cur, case.case_no, ids[WHOLE], "clerk", NOW + 1)
        old, new = cases.note(cur, ids[WHOLE], cases.EVIDENCE, "the suspect's blow", "clerk", NOW)
        assert old is None and new.category == cases.EVIDENCE
        old, newer = cases.note(cur, ids[WHOLE], None, "the blow and the fall", "legal", NOW + 5)
        assert old == new and newer.category == cases.EVIDENCE  # the category kept
    with ev.read() as cur:
        assert cases.get(cur, case.case_no) == case
        (held,) = cases.linked(cur, case.case_no)
        assert (held.item.item_id, held.linked_by, held.linked_ms) == (ids[WHOLE], "clerk", NOW + 1)
        assert held.note == cases.Note(ids[WHOLE], "evidence", "the blow and the fall", "legal",
                                       NOW + 5)  # fmt: skip
        assert cases.cases_of(cur, ids[WHOLE]) == [case]
        assert cases.cases_of(cur, ids[PAUSED]) == []


def test_linking_twice_is_one_link_and_unlinking_says_who_linked_it(fresh):
    ev, ids = fresh
    with ev.write() as cur:
        case = new_case(cur)
        assert cases.link(cur, case.case_no, ids[WHOLE], "clerk", NOW)
        assert not cases.link(cur, case.case_no, ids[WHOLE], "other", NOW + 1)
        assert cases.unlink(cur, case.case_no, ids[WHOLE]) == ("clerk", NOW)
        with pytest.raises(cases.CaseError, match="does not hold"):
            cases.unlink(cur, case.case_no, ids[WHOLE])


def test_what_does_not_exist_is_unusable(fresh):
    ev, ids = fresh
    with ev.write() as cur:
        new_case(cur)
        with pytest.raises(cases.CaseError, match="there is no case 1999-1"):
            cases.link(cur, "1999-1", ids[WHOLE], "clerk", NOW)
        with pytest.raises(items.ItemError):
            cases.link(cur, "2026-0042", "SC-NONE/1", "clerk", NOW)
        with pytest.raises(cases.CaseError, match="exists already"):
            new_case(cur)
        with pytest.raises(cases.CaseError, match="not a case type of this agency: give one of "
                           "detention, search"):  # fmt: skip
            new_case(cur, "2026-0043", "parking")
        with pytest.raises(cases.CaseError, match="not a category: give one of routine"):
            cases.note(cur, ids[WHOLE], "gossip", "x", "clerk", NOW)
        with pytest.raises(cases.CaseError, match="no note yet"):
            cases.note(cur, ids[WHOLE], cases.ROUTINE, None, "clerk", NOW)
        with pytest.raises(cases.CaseError, match="nothing to note"):
            cases.note(cur, ids[WHOLE], None, None, "clerk", NOW)


def test_closing_a_case_file_keeps_when_and_only_once(fresh):
    ev, _ = fresh
    with ev.write() as cur:
        case = new_case(cur)
        assert cases.close(cur, case.case_no, NOW + 10).closed_ms is None
        assert cases.get(cur, case.case_no).closed_ms == NOW + 10
        with pytest.raises(cases.CaseError, match="closed already"):
            cases.close(cur, case.case_no, NOW + 20)


def test_the_agency_sets_its_own_case_types_with_their_labels(fresh):
    ev, _ = fresh
    own = {"boat-check": {"full": True, "zh": "船舶检查", "en": "boat check"}}
    with ev.write() as cur:
        settings.put(cur, cases.CASE_TYPES, own)
        kind = cases.case_type(cur, "boat-check")
        assert (
            kind.full
            and not kind.required
            and kind.labels == {"zh": "船舶检查", "en": "boat check"}
        )
        with pytest.raises(cases.CaseError, match="give one of boat-check"):
            cases.case_type(cur, "detention")


def test_the_default_case_types_cover_the_regulations_rules():  # R-HOST-12, R-HOST-10
    kinds = cases.DEFAULT_CASE_TYPES
    for name in ("detention", "search", "seizure", "injury"):
        assert kinds[name]["full"] and kinds[name]["required"], name
    assert kinds["traffic"]["required"] and not kinds["traffic"]["full"]
    assert not kinds["administrative"]["required"] and not kinds["administrative"]["full"]


def test_listing_a_case_and_an_items_cases_use_the_indexes(fresh):
    # Issue 13's benchmark: a case's recordings with 100,000 recordings in the store
    ev, _ = fresh
    with ev.read() as cur:
        for sql, params in (
            (cases.LINKED_SQL, ("2026-0042",)),
            (cases.CASES_OF_SQL, ("D/1",)),
        ):
            plan = " | ".join(r[3] for r in cur.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan


@given(
    st.datetimes(
        min_value=datetime.datetime(1990, 1, 1), max_value=datetime.datetime(2099, 12, 31)
    ).map(lambda d: d.replace(microsecond=0)),
    st.sampled_from([ZONE, "UTC", "Asia/Kolkata", "America/Sao_Paulo"]),
)
def test_a_time_given_in_the_agencys_zone_is_shown_back_the_same(moment, zone):
    # R-HOST-2 (the case's time), as every report shows it (host.localtime)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    ms = cases.parse_when(text, zone)
    local = datetime.datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).replace(tzinfo=None)
    shown = localtime.show(ms, zone)
    if local == moment:  # not a time a daylight-saving change skipped
        assert shown.startswith(text)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01 10:00", "2026-12-05 25:00",
                                  "2026-12-05T14", "12/05/2026"])  # fmt: skip
def test_a_time_that_is_no_time_is_unusable(text):
    with pytest.raises(cases.CaseError, match="YYYY-MM-DD HH:MM"):
        cases.parse_when(text, ZONE)


def test_the_agencys_zone_decides_the_moment():
    assert cases.parse_when("2026-12-05 14:00", ZONE) == cases.parse_when("2026-12-05 06:00", "UTC")
    assert cases.parse_when("2026-12-05", ZONE) == cases.parse_when("2026-12-04 16:00", "UTC")


def test_every_case_type_category_and_flag_has_its_words_in_both_languages():  # issue 13
    from host import i18n
    from host.cli import case

    assert set(case.TYPE_LABELS) == set(cases.DEFAULT_CASE_TYPES)
    assert set(case.CATEGORY_LABELS) == set(cases.CATEGORIES)
    assert set(case.FLAG_TEXTS) == set(cases.FLAG_RULES)
    ids = [*case.TYPE_LABELS.values(), *case.CATEGORY_LABELS.values(), *case.FLAG_TEXTS.values()]
    for msg_id in [*ids, "case.flag.paused_not_resumed"]:
        assert i18n.text(msg_id, "en", **FIELDS) != i18n.text(msg_id, "zh", **FIELDS), msg_id


FIELDS = dict(item="D/1", rule="R-HOST-12", at="t", resumed="t", reason="r", seq=1,
              first=1, last=2, count=2)  # fmt: skip


@pytest.mark.parametrize(
    "text", ["2026-12-05", "2026-12-05 14:00", "2026-12-05T14:00:09", "2026-12-05T14:00+05:30",
             "2026-12-05 06:00Z"],
)  # fmt: skip
def test_every_command_reads_a_moment_one_way(text):
    # Issue 13 review item: cases, sealcam items and sealcam approval read a moment through
    # one function (host.localtime.parse): the same text is the same moment everywhere.
    from host.cli.approve import local_ms
    from host.cli.items import local_moment, utc_ms

    ms = localtime.parse(text, ZONE)
    assert cases.parse_when(text, ZONE) == ms
    assert local_ms(text, ZONE) == ms
    assert utc_ms(local_moment(text), ZONE, end=False) == ms
