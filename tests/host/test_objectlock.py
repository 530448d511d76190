"""The object locks retention asks of the scale-out store's media (``host.objectlock``,
sans-I/O): a date from the item's class, the longest of the items sharing an object, legal
holds for holds, and never a shorter date. The calls made on the real object store:
tests/scaleout/test_objectlock.py."""
# micropython: skip (host code)
# R-HOST-3: how long footage is kept is the host's categories' to decide.

from hypothesis import given, settings
from hypothesis import strategies as st

from host import objectlock, retention
from host.objectlock import Extend, Hold, Keep, Lock

DAY = retention.DAY_MS
T0 = 1_795_420_800_000  # 2026-11-23 08:00 UTC
POLICY = retention.Policy(years=2, by_category={"traffic": 3})
DIGEST = bytes(32)

keeps = st.builds(
    lambda need, extra, held: Keep(need, need + extra, held),
    st.integers(0, 10**13), st.integers(0, 10**11), st.booleans(),
)  # fmt: skip
locks = st.builds(Lock, st.one_of(st.none(), st.integers(0, 10**13)), st.booleans())


@settings(max_examples=200, deadline=None)
@given(keeps, locks)
def test_a_plan_reaches_what_retention_wants_never_shortens_and_then_rests(want, have):
    calls = objectlock.plan(DIGEST, "v1", want, have)
    now = objectlock.after(have, calls)
    assert now.until_ms is not None
    assert now.until_ms >= min(want.need_ms, objectlock.LATEST_MS)
    assert all(c.until_ms <= objectlock.LATEST_MS for c in calls if isinstance(c, Extend))
    if have.until_ms is not None:
        assert now.until_ms >= have.until_ms  # never shorter
        assert all(c.until_ms > have.until_ms for c in calls if isinstance(c, Extend))
    assert now.held == want.held
    assert objectlock.plan(DIGEST, "v1", want, now) == []  # nothing more to do
    # The date is set before a hold is taken off: never held by neither in between.
    kinds = [type(c) for c in calls]
    assert kinds in ([], [Extend], [Hold], [Extend, Hold])


def test_a_shared_object_is_kept_for_the_longest_of_its_items_and_held_if_any_is():
    short, long_, held = Keep(10, 20), Keep(30, 35), Keep(5, 5, True)
    assert objectlock.combine([short, long_, held]) == Keep(30, 35, True)
    assert objectlock.combine([]) is None


def test_each_class_gives_its_date_and_the_undated_ones_a_date_they_surely_reach():
    plain = retention.Facts("r1", T0)
    assert objectlock.keep_of(plain, POLICY, T0) == Keep(
        retention.add_years(T0, 2), retention.add_years(T0, 2)
    )
    traffic = objectlock.keep_of(retention.Facts("r1", T0, "traffic"), POLICY, T0)
    assert traffic.need_ms == retention.add_years(T0, 3)
    # Forever (a permanent category): a fixed date far ahead, the same at every run.
    forever = retention.Facts("r1", T0, retention.OBSTRUCTION)
    k = objectlock.keep_of(forever, POLICY, T0)
    assert k.need_ms == min(retention.add_years(T0, objectlock.FOREVER_YEARS), objectlock.LATEST_MS)
    assert objectlock.keep_of(forever, POLICY, T0 + 400 * DAY) == k
    # While a case is open: the period after closing, from now, moved on as time goes; the
    # lock is set a step beyond, so a run does not extend it every day.
    case = retention.CaseFacts("A-1", "search", False, None)
    open_case = retention.Facts("r1", T0, None, (case,))
    now = T0 + 500 * DAY
    k = objectlock.keep_of(open_case, POLICY, now)
    assert k.need_ms == retention.add_years(now, 2)
    assert k.until_ms == k.need_ms + objectlock.STEP_DAYS * DAY
    set_then = objectlock.after(Lock(None), objectlock.plan(DIGEST, "v", k, Lock(None)))
    later = objectlock.keep_of(open_case, POLICY, now + 10 * DAY)
    assert objectlock.plan(DIGEST, "v", later, set_then) == []
    held = objectlock.keep_of(plain._replace(held=True), POLICY, T0)
    assert held.held


def test_no_date_goes_past_what_the_gateway_can_hold():
    # Ceph's gateway keeps 32-bit seconds: a later date would wrap round and unlock.
    assert objectlock.LATEST_MS < 2**32 * 1000
    late = objectlock.keep_of(retention.Facts("r", objectlock.LATEST_MS), POLICY, T0)
    assert late.need_ms == late.until_ms == objectlock.LATEST_MS
    assert objectlock.plan(DIGEST, "v", Keep(2**33 * 1000, 2**33 * 1000), Lock(None)) == [
        Extend(DIGEST, "v", objectlock.LATEST_MS)
    ]


def test_a_lock_lets_deletion_go_only_once_its_date_passed_and_no_hold_is_on():
    assert objectlock.removable(Lock(T0), T0)
    assert not objectlock.removable(Lock(T0 + 1), T0)
    assert not objectlock.removable(Lock(T0 - 1, True), T0)
    assert objectlock.removable(Lock(None), T0)


def test_a_new_object_is_locked_for_the_shortest_period_any_class_gives():
    assert objectlock.new_object_until(T0, POLICY) == retention.add_years(T0, 2)
    one = retention.Policy(years=2, by_category={"minor": 1})
    assert objectlock.new_object_until(T0, one) == retention.add_years(T0, 1)


# --- the periodic upkeep (sealcam retention keep-up): planned ``margin`` ahead -------------

OPEN = retention.CaseFacts("A-1", "search", False, None)


@settings(max_examples=300, deadline=None)
@given(
    have=st.builds(Lock, st.one_of(st.none(), st.integers(0, objectlock.LATEST_MS)),
                   st.booleans()),
    recorded=st.integers(T0 - 3650 * DAY, T0),
    now=st.integers(T0, T0 + 80 * 365 * DAY),
    margin=st.integers(0, 400),
    years=st.integers(1, 10),
    closed=st.integers(1, 10),
    category=st.sampled_from([None, "traffic", retention.OBSTRUCTION]),
)  # fmt: skip
def test_keep_up_extends_exactly_the_locks_short_within_the_margin(
    have, recorded, now, margin, years, closed, category
):
    # R-HOST-3: footage of an open case is kept while it stays open; the daily upkeep plans
    # each such lock at now + margin: it extends exactly the locks that would fall short of
    # retention's want within the margin, never shortens one, never asks past the cap.
    pol = retention.Policy(years=years, by_category={"traffic": years + 1},
                           after_close_years=closed)  # fmt: skip
    facts = retention.Facts("r1", recorded, category, (OPEN,))
    at = now + margin * DAY
    want = objectlock.keep_of(facts, pol, at)
    calls = objectlock.plan(DIGEST, "v", want, have)
    extends = [c for c in calls if isinstance(c, Extend)]
    wanted = min(max(objectlock.keep_of(facts, pol, t).need_ms for t in (now, at)),
                 objectlock.LATEST_MS)  # fmt: skip
    assert want.need_ms == wanted  # the want only grows with time: its margin's end
    assert bool(extends) == (have.until_ms is None or have.until_ms < wanted)
    for call in extends:
        assert call.until_ms <= objectlock.LATEST_MS
        assert have.until_ms is None or call.until_ms > have.until_ms
    kept = objectlock.after(have, calls)
    assert have.until_ms is None or kept.until_ms >= have.until_ms
    # Whatever day within the margin the next run comes, the lock still covers the want.
    for day in {0, margin // 2, margin}:
        assert kept.until_ms >= objectlock.keep_of(facts, pol, now + day * DAY).need_ms
    # Run again at once: nothing to do.
    assert objectlock.plan(DIGEST, "v", want, kept) == []


@given(st.integers(0, objectlock.LATEST_MS))
def test_dates_are_asked_in_whole_seconds_never_earlier(ms):
    # The object store keeps whole seconds: a date with milliseconds would read back short.
    s = objectlock.whole_s(ms)
    assert s % 1000 == 0 and ms <= s < ms + 1000
