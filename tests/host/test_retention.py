"""Retention rules (R-HOST-3) and holds (issue 13): for any recording and any policy the
longest rule wins, a hold blocks deletion, the permanent classes are never deletable, and the
plan the store gives is the rules applied one recording at a time."""
# micropython: skip (the host's evidence rules)

import calendar
import datetime
import sqlite3

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from host import cases, items, retention, settings
from host.retention import DATED, FOREVER, WHILE_OPEN, CaseFacts, Facts, Policy

DAY = 86_400_000
CATEGORIES = cases.CATEGORIES
TYPES = ("search", "detention", "traffic", "general")
T0 = 1_764_900_000_000  # 2025-12-05


def years_after(ms: int, years: int) -> int:
    """The test's own calendar arithmetic: the same day and time ``years`` later (the last
    day of February when the day does not exist)."""
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.UTC)
    year = d.year + years
    day = min(d.day, calendar.monthrange(year, d.month)[1])
    return ms + (d.replace(year=year, day=day) - d).days * DAY


def reference(f: Facts, p: Policy) -> "dict[str, tuple[int, int]]":
    """Each rule on its own: name -> (level, until) for every rule that applies."""
    out = {}
    if any(c.major for c in f.cases) and f.category == "evidence":
        out[retention.MAJOR_EVIDENCE] = (FOREVER, 0)
    if any(c.major for c in f.cases):
        out[retention.MAJOR_CASE] = (FOREVER, 0)
    if any(c.case_type in p.permanent_case_types for c in f.cases):
        out[retention.CASE_TYPE] = (FOREVER, 0)
    if f.category == "obstruction":
        out[retention.RULE_OBSTRUCTION] = (FOREVER, 0)
    if f.category == "emergency":
        out[retention.RULE_EMERGENCY] = (FOREVER, 0)
    if f.category in p.forever_categories:
        out[retention.AGENCY_FOREVER] = (FOREVER, 0)
    if any(c.closed_ms is None for c in f.cases):
        out[retention.CASE_OPEN] = (WHILE_OPEN, 0)
    closed = [c.closed_ms for c in f.cases if c.closed_ms is not None]
    if closed:
        after = p.years if p.after_close_years is None else p.after_close_years
        out[retention.CASE_CLOSED] = (DATED, years_after(max(closed), after))
    if f.category in p.by_category:
        out[retention.CATEGORY] = (DATED, years_after(f.recorded_ms, p.by_category[f.category]))
    else:
        out[retention.DEFAULT] = (DATED, years_after(f.recorded_ms, p.years))
    return out


times = st.integers(min_value=T0 - 20 * 365 * DAY, max_value=T0 + 20 * 365 * DAY)
linked_cases = st.lists(
    st.builds(
        CaseFacts,
        case_no=st.sampled_from(["A-1", "A-2", "B-7", "C-9"]),
        case_type=st.sampled_from(TYPES),
        major=st.booleans(),
        closed_ms=st.none() | times,
    ),
    max_size=3,
    unique_by=lambda c: c.case_no,
).map(tuple)
facts = st.builds(
    Facts,
    item_id=st.integers(0, 10**6).map(lambda n: "SC-0001/%d" % n),
    recorded_ms=times,
    category=st.none() | st.sampled_from(CATEGORIES),
    cases=linked_cases,
    held=st.booleans(),
)
policies = st.builds(
    Policy,
    years=st.integers(1, 5),
    by_category=st.dictionaries(st.sampled_from(CATEGORIES), st.integers(1, 10), max_size=3),
    after_close_years=st.none() | st.integers(1, 10),
    forever_categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
    permanent_case_types=st.frozensets(st.sampled_from(TYPES), max_size=2),
    grace_days=st.integers(0, 60),
)


@given(facts, policies)
def test_the_longest_rule_wins(f, p):  # R-HOST-3
    each = reference(f, p)
    v = retention.decide(f, p)
    longest = max(each.values())
    assert (v.rule.level, v.rule.until_ms) == longest
    # Of equally long rules, the first in the rules' order is named.
    tied = [name for name, key in each.items() if key == longest]
    assert v.rule.name == min(tied, key=retention.RULES.index)
    assert {r.name for r in retention.rules(f, p)} == set(each)


@given(st.lists(facts, max_size=12, unique_by=lambda f: f.item_id), policies, times)
def test_the_plan_is_the_rules_applied_one_by_one(batch, p, until):  # R-HOST-3
    expect = []
    for f in batch:
        level, when = max(reference(f, p).values())
        if level == DATED and when <= until:
            expect.append((when, f.item_id))
    got = retention.plan_of(batch, p, until)
    assert [(v.rule.until_ms, v.item_id) for v in got] == sorted(expect)


@given(facts, policies, times)
def test_a_hold_blocks_every_deletion(f, p, now):  # R-HOST-3: a hold stops all deletion
    held = retention.decide(f._replace(held=True), p)
    assert not held.deletable(now)
    free = retention.decide(f._replace(held=False), p)
    assert free.deletable(now) == (free.until_ms is not None and free.until_ms <= now)


@given(facts, policies, times)
def test_the_permanent_classes_are_never_deletable(f, p, now):  # R-HOST-3
    permanent = (
        f.category in ("obstruction", "emergency")
        or f.category in p.forever_categories
        or any(c.major for c in f.cases)
        or any(c.case_type in p.permanent_case_types for c in f.cases)
    )
    v = retention.decide(f, p)
    assert (v.rule.level == FOREVER) == permanent
    if permanent:
        assert (
            v.until_ms is None and not v.deletable(now) and v.rule.name in retention.PERMANENT_RULES
        )


@given(facts, policies, linked_cases)
def test_a_further_case_never_shortens_retention(f, p, more):  # R-HOST-3: longest wins
    numbers = {c.case_no for c in f.cases}
    extra = tuple(c for c in more if c.case_no not in numbers)
    before = retention.decide(f, p).rule.key()
    after = retention.decide(f._replace(cases=f.cases + extra), p).rule.key()
    assert after >= before


def test_an_open_case_keeps_a_recording_until_it_closes_and_then_the_period_after():
    # R-HOST-3: evidence is kept as long as its case file
    p = Policy(years=2)
    f = Facts("SC-0001/1", T0, "evidence", (CaseFacts("A-1", "search", False, None),))
    v = retention.decide(f, p)
    assert v.rule.name == retention.CASE_OPEN and not v.deletable(T0 + 100 * 365 * DAY)
    closed = T0 + 5 * 365 * DAY
    f = f._replace(cases=(CaseFacts("A-1", "search", False, closed),))
    v = retention.decide(f, p)
    assert v.rule.name == retention.CASE_CLOSED and v.until_ms == years_after(closed, 2)


def test_calendar_years():
    leap = int(datetime.datetime(2024, 2, 29, 12, tzinfo=datetime.UTC).timestamp() * 1000)
    after = datetime.datetime.fromtimestamp(retention.add_years(leap, 1) / 1000, datetime.UTC)
    assert (after.year, after.month, after.day, after.hour) == (2025, 2, 28, 12)
    assert retention.add_years(T0, 2) == years_after(T0, 2)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"years": 1}, None),  # an agency may set one year (R-HOST-3)
        ({"years": 0}, retention.TOO_SHORT),
        ({"by_category": {"training": 0}}, retention.TOO_SHORT),
        ({"after_close_years": 0}, retention.TOO_SHORT),
        ({"by_category": {"training": 1}}, None),
        ({"by_category": {"obstruction": 50}}, retention.PERMANENT),
        ({"by_category": {"emergency": 3}}, retention.PERMANENT),
        ({"by_category": {"complaint": 3}}, retention.PERMANENT),  # the agency keeps it forever
        ({"forever_categories": frozenset()}, retention.PERMANENT),
        ({"forever_categories": frozenset({"complaint", "training"})}, None),
    ],
)
def test_a_policy_may_not_shorten_a_permanent_class(change, reason):  # R-HOST-3
    old = Policy(forever_categories=frozenset({"complaint"}))
    problem = retention.policy_problem(old, old._replace(**change))
    assert (problem and problem[0]) == reason


# --- the store's side: the plan's one query over the tables ---------------------------------


def tables() -> sqlite3.Cursor:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(items.SCHEMA + cases.SCHEMA + retention.SCHEMA + settings.SCHEMA)
    return db.cursor()


@given(st.lists(facts, max_size=10, unique_by=lambda f: f.item_id), policies, times)
def test_the_stores_plan_is_the_rules_applied_to_what_it_holds(batch, p, until):  # R-HOST-3
    cur = tables()
    for f in batch:
        device, rec = items.parse_id(f.item_id)
        cur.execute(
            "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, started_ms, "
            "ended_ms) VALUES (?, 'recording', ?, ?, 0, 0, ?, ?)",
            (f.item_id, device, rec, f.recorded_ms, f.recorded_ms),
        )
        if f.category is not None:
            cur.execute(
                "INSERT INTO item_notes VALUES (?, ?, '', 'clerk', 0)", (f.item_id, f.category)
            )
        for c in f.cases:
            cur.execute(
                "INSERT OR IGNORE INTO cases VALUES (?, ?, 't', 'r', 'p', 0, 0, ?, ?, 'clerk', 0)",
                (c.case_no, c.case_type, c.closed_ms, int(c.major)),
            )
            cur.execute("INSERT INTO case_items VALUES (?, ?, 'clerk', 0)", (c.case_no, f.item_id))
        if f.held:
            retention.place_hold(cur, f.item_id, None, "court order", "legal", 0)
    # A case is one row: what the store holds is each case as first inserted.
    stored = {}
    for case_no, case_type, major, closed in cur.execute(
        "SELECT case_no, case_type, major, closed_ms FROM cases"
    ):
        stored[case_no] = CaseFacts(case_no, case_type, bool(major), closed)
    held = {f.item_id for f in batch if f.held}
    expect = retention.plan_of(
        [f._replace(cases=tuple(sorted(stored[c.case_no] for c in f.cases)), held=f.item_id in held)
         for f in batch],
        p,
        until,
    )  # fmt: skip
    assert [r.verdict for r in retention.plan(cur, p, until)] == expect


def test_a_hold_on_a_case_holds_every_recording_linked_to_it():  # issue 13: legal hold
    cur = tables()
    for n in (1, 2):
        cur.execute(
            "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, started_ms, "
            "ended_ms) VALUES (?, 'recording', 'SC-0001', ?, 0, 0, ?, ?)",
            ("SC-0001/%d" % n, n, T0, T0),
        )
    cur.execute(
        "INSERT INTO cases VALUES ('A-1', 'search', 't', 'r', 'p', 0, 0, ?, 0, 'clerk', 0)",
        (T0,),
    )
    cur.execute("INSERT INTO case_items VALUES ('A-1', 'SC-0001/1', 'clerk', 0)")
    retention.place_hold(cur, None, "A-1", "appeal", "legal", T0)
    rows = retention.plan(cur, Policy(), T0 + 10 * 365 * DAY)
    assert [(r.verdict.item_id, r.verdict.held) for r in rows] == [
        ("SC-0001/1", True),
        ("SC-0001/2", False),
    ]
    assert retention.release_holds(cur, None, "A-1", "appeal decided", "clerk", T0) == [1]
    assert not any(r.verdict.held for r in retention.plan(cur, Policy(), T0 + 10 * 365 * DAY))


def test_without_case_tables_every_recording_has_the_default_rule():  # R-HOST-3
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(items.SCHEMA + settings.SCHEMA)
    cur = db.cursor()
    cur.execute(
        "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, started_ms, "
        "ended_ms) VALUES ('SC-0001/1', 'recording', 'SC-0001', 1, 0, 0, ?, ?)",
        (T0, T0),
    )
    # The defaults: mass incidents are a case type kept forever (host.cases).
    assert retention.policy(cur) == Policy(permanent_case_types=frozenset({"mass-incident"}))
    (row,) = retention.plan(cur, Policy(), T0 + 3 * 365 * DAY)
    assert row.verdict.rule.name == retention.DEFAULT and not row.verdict.held
    assert retention.plan(cur, Policy(), T0 + 365 * DAY) == []


def test_every_rule_has_its_words_in_both_languages():  # issue 17: ids built at run time
    from host import i18n

    for name in retention.RULES:
        msg_id = "retention.rule." + name
        assert i18n.known(msg_id), msg_id
        assert i18n.text(msg_id, "en", years=2, case="A-1", category="training")
        assert i18n.text(msg_id, "zh", years=2, case="A-1", category="training")


# --- the plan's index (issue 13's benchmark: the plan of 100,000 recordings in 200 ms) -------

CASE_NOS = ("A-1", "A-2")
RECS = st.integers(1, 3)  # 1 and 2 recorded from the start; 3 synced later, maybe
operations = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.just(3), times),
        st.tuples(st.just("resync"), RECS, times),
        st.tuples(st.just("note"), RECS, st.sampled_from(("routine", "evidence", "obstruction"))),
        st.tuples(
            st.just("open"),
            st.sampled_from(CASE_NOS),
            st.sampled_from(("search", "traffic", "mass-incident")),
            st.booleans(),
        ),
        st.tuples(st.just("link"), st.sampled_from(CASE_NOS), RECS),
        st.tuples(st.just("unlink"), st.sampled_from(CASE_NOS), RECS),
        st.tuples(st.just("close"), st.sampled_from(CASE_NOS), times),
        st.tuples(st.just("hold"), RECS),
        st.tuples(st.just("hold-case"), st.sampled_from(CASE_NOS)),
        st.tuples(st.just("release"), RECS),
        st.tuples(st.just("release-case"), st.sampled_from(CASE_NOS)),
        st.tuples(st.just("delete"), RECS, st.integers(0, 2)),
        st.tuples(st.just("policy"), policies),
    ),
    min_size=4,
    max_size=30,
)


def store_tables() -> sqlite3.Cursor:
    cur = tables()
    cur.executescript(retention.SCHEMA)
    return cur


def change(cur: sqlite3.Cursor, op: tuple) -> None:
    """One change of the facts through the functions the commands use."""
    what, *args = op
    rec_id = "SC-0001/%d" % args[0] if isinstance(args[0], int) else ""
    try:
        if what == "record":
            cur.execute(
                "INSERT OR IGNORE INTO items (item_id, kind, device_id, rec, first_seq, last_seq, "
                "started_ms, ended_ms) VALUES (?, 'recording', 'SC-0001', ?, 0, 0, ?, ?)",
                (rec_id, args[0], args[1], args[1]),
            )
        elif what == "resync":  # more of a recording synced: the items index's own upsert
            items._save(cur, "SC-0001", args[0], [0, 0, args[1], args[1], None, 0, 0, 0])
        elif what == "note":
            cases.note(cur, rec_id, args[1], "what it shows", "clerk", T0)
        elif what == "open":
            case = cases.Case(args[0], args[1], "t", "r", "p", T0, T0, None, args[2], "clerk", T0)
            cases.add(cur, case)
        elif what == "link":
            cases.link(cur, args[0], "SC-0001/%d" % args[1], "clerk", T0)
        elif what == "unlink":
            cases.unlink(cur, args[0], "SC-0001/%d" % args[1])
        elif what == "close":
            cases.close(cur, args[0], args[1])
        elif what in ("hold", "hold-case"):
            on_item = what == "hold"
            retention.place_hold(
                cur, rec_id if on_item else None, None if on_item else args[0], "r", "legal", T0
            )
        elif what in ("release", "release-case"):
            on_item = what == "release"
            retention.release_holds(
                cur, rec_id if on_item else None, None if on_item else args[0], "r", "legal", T0
            )
        elif what == "delete":
            found = retention.live_deletion(cur, rec_id)
            if found is None:
                retention.request(cur, rec_id, "due", "clerk", T0)
            elif args[1] == 1 and found.approved_ms is None:
                retention.approve(cur, found, "approver", T0, 30)
            elif args[1] == 2 and found.approved_ms is not None:
                retention.mark_deleted(cur, found, [], T0)
            else:
                retention.undo(cur, found, "approver", T0)
    except (cases.CaseError, items.ItemError):
        pass  # a change the rules refuse (no such item or case): nothing changed


def from_scratch(cur: sqlite3.Cursor, p: Policy, until: int) -> "list[retention.Verdict]":
    """``decide`` over every recording, each read on its own: what the index caches."""
    ids = [r[0] for r in cur.execute("SELECT item_id FROM items WHERE kind = 'recording'")]
    gone = {r[0] for r in cur.execute(
        "SELECT item_id FROM deletions WHERE undone_ms IS NULL AND deleted_ms IS NOT NULL"
    )}  # fmt: skip
    return retention.plan_of([retention.facts(cur, i) for i in ids if i not in gone], p, until)


starts = st.lists(times, min_size=2, max_size=2)
openings = st.lists(
    st.tuples(
        st.sampled_from(("search", "traffic", "mass-incident")), st.booleans(), st.none() | times
    ),
    min_size=2,
    max_size=2,
)


@examples(max_examples=300)
@given(starts, openings, operations, policies, st.integers(T0, T0 + 40 * 365 * DAY))
def test_the_indexed_plan_is_the_plan_worked_out_afresh(recorded, opened, ops, p, until):
    # R-HOST-3, issue 13: the index is a cache of ``decide``, whatever changes in between.
    cur = store_tables()
    for n, when in enumerate(recorded, 1):
        change(cur, ("record", n, when))
    for case_no, (case_type, major, closed) in zip(CASE_NOS, opened, strict=True):
        change(cur, ("open", case_no, case_type, major))
        if closed is not None:
            change(cur, ("close", case_no, closed))
    retention.bring_up(cur, p)  # the index, built before the changes
    for op in ops:
        if op[0] == "policy":
            p = op[1]  # a policy change: the plan is asked with another policy
        else:
            change(cur, op)
        before = retention.plan(cur, p, until)  # the write side has not caught up yet
        retention.bring_up(cur, p)  # as every login and desk action does
        assert retention.index_current(cur, p)
        got = retention.plan(cur, p, until)
        assert got == before == retention.plan_scan(cur, p, until)
        assert [r.verdict for r in got] == from_scratch(cur, p, until)
        assert indexed(cur) == every_verdict(cur, p)


def indexed(cur: sqlite3.Cursor) -> list:
    """The index itself: each recording's verdict as cached, dated or not."""
    return cur.execute(
        "SELECT item_id, until_ms, rule, case_no, held, category FROM retention_index "
        "ORDER BY item_id"
    ).fetchall()


def every_verdict(cur: sqlite3.Cursor, p: Policy) -> list:
    out = []
    for (item_id,) in cur.execute(
        "SELECT item_id FROM items WHERE kind = 'recording' ORDER BY item_id"
    ).fetchall():
        f = retention.facts(cur, item_id)
        v = retention.decide(f, p)
        out.append((item_id, v.until_ms, v.rule.name, v.rule.case_no, int(v.held), f.category))
    return out


def recordings(cur: sqlite3.Cursor, n: int) -> "list[str]":
    for rec in range(1, n + 1):
        change(cur, ("record", rec, T0 + rec * DAY))
    return ["SC-0001/%d" % rec for rec in range(1, n + 1)]


def test_a_case_closed_after_the_index_was_built_moves_its_items():  # R-HOST-3, issue 13
    cur = store_tables()
    ids = recordings(cur, 4)
    cases.add(cur, cases.Case("A-1", "search", "t", "r", "p", T0, T0, None, False, "clerk", T0))
    for item_id in ids[:2]:
        cases.link(cur, "A-1", item_id, "clerk", T0)
    far = T0 + 30 * 365 * DAY
    retention.bring_up(cur, Policy())
    assert [r.item_id for r in retention.plan(cur, Policy(), far)] == ids[2:]  # while open
    assert retention.bring_up(cur, Policy()) == 0  # nothing changed: nothing decided again
    closed = T0 + 5 * 365 * DAY
    cases.close(cur, "A-1", closed)
    assert retention.bring_up(cur, Policy()) == 2  # the case's items alone
    rows = {r.item_id: r for r in retention.plan(cur, Policy(), far)}
    for item_id in ids[:2]:
        assert (rows[item_id].rule, rows[item_id].until_ms) == (
            retention.CASE_CLOSED,
            years_after(closed, 2),
        )


def test_a_policy_change_moves_every_recording():  # R-HOST-3, issue 13
    cur = store_tables()
    ids = recordings(cur, 3)
    far = T0 + 30 * 365 * DAY
    before = retention.plan(cur, Policy(years=2), far)
    assert [r.until_ms for r in before] == [years_after(T0 + n * DAY, 2) for n in (1, 2, 3)]
    after = retention.plan(cur, Policy(years=5), far)
    assert [(r.item_id, r.until_ms) for r in after] == [
        (item_id, years_after(T0 + n * DAY, 5)) for n, item_id in zip((1, 2, 3), ids, strict=True)
    ]


def test_a_recording_synced_after_the_index_was_built_is_in_the_plan():  # issue 13
    cur = store_tables()
    recordings(cur, 2)
    far = T0 + 30 * 365 * DAY
    assert len(retention.plan(cur, Policy(), far)) == 2
    change(cur, ("record", 3, T0))
    assert retention.plan(cur, Policy(), far)[0].item_id == "SC-0001/3"


def test_the_plan_is_a_pure_read():  # R-HOST-3, issue 13 review item
    # The plan never writes, not even its index: the write side (a login's items refresh,
    # every desk action: retention.keep_up) keeps the index current; until it has, the plan
    # is worked out afresh, and is the same.
    cur = store_tables()
    recordings(cur, 3)
    far = T0 + 30 * 365 * DAY
    db = cur.connection
    agency = retention.policy(cur)  # what keep_up keeps the index for
    assert retention.keep_up(cur) == 3 and retention.index_current(cur, agency)
    changes = db.total_changes
    rows = retention.plan(cur, agency, far)
    assert [r.item_id for r in rows] == ["SC-0001/1", "SC-0001/2", "SC-0001/3"]
    assert db.total_changes == changes
    change(cur, ("record", 4, T0))
    changes = db.total_changes
    assert not retention.index_current(cur, agency)
    assert retention.plan(cur, agency, far)[0].item_id == "SC-0001/4"
    assert db.total_changes == changes  # not a row written by the plan
    assert retention.keep_up(cur) == 1 and retention.index_current(cur, agency)
    assert retention.plan(cur, agency, far)[0].item_id == "SC-0001/4"
    assert db.total_changes == changes + 2  # keep_up's: the verdict in, the stale mark out


def test_a_store_opened_read_only_gets_the_same_plan(tmp_path):  # issue 13
    path = tmp_path / "store.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(items.SCHEMA + cases.SCHEMA + retention.SCHEMA + settings.SCHEMA)
    recordings(db.cursor(), 3)
    db.close()
    ro = sqlite3.connect("file:%s?mode=ro" % path, uri=True, isolation_level=None)
    far = T0 + 30 * 365 * DAY
    rows = retention.plan(ro.cursor(), Policy(), far)
    assert [r.item_id for r in rows] == ["SC-0001/1", "SC-0001/2", "SC-0001/3"]
