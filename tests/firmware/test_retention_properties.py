"""Months of virtual time against the retention rules: what they keep is never evicted."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-4: nothing younger than the floor, or not yet received by the host, is evicted.
# R-DEV-5: loop recording evicts only what the rules free, never protected media, and refuses
#          only when there truly is not enough such space.
# R-DEV-7: the hours-left prediction counts exactly the space the rules allow.
# R-DEV-17: the floor changes only by signed host config, and only upward.

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from firmware.errors import ConfigError, StorageFull
from firmware.retention import DAY_MS, DEFAULT_FLOOR_DAYS, HOUR_MS, MediaItem, RetentionPolicy

START_MS = 1_700_000_000_000
CAPACITY = 40_000  # bytes of media storage: a handful of chunks, so pressure comes soon
BITRATE_BPS = 800  # 100 bytes a second, so a shift of hours is a real fraction of CAPACITY


class RetentionMachine(RuleBasedStateMachine):
    """A recorder records, docks, marks footage important and takes host configs for a year
    or more; the model beside it judges every eviction with its own copy of the rules."""

    def __init__(self) -> None:
        super().__init__()
        self.policy = RetentionPolicy()
        self.now = START_MS
        self.floor_days = DEFAULT_FLOOR_DAYS  # the model's floor, moved only by accepted configs
        self.floors_seen = [DEFAULT_FLOOR_DAYS]
        self.recorded: list = []  # every chunk ever recorded, in recording order
        self.stored: dict = {}  # digest -> MediaItem whose bytes are still on storage
        # One snapshot per eviction: (now, floor days, recorded_ms, received, protected).
        self.evictions: list = []

    # -- the model's own reading of the rules -------------------------------------------

    def free(self) -> int:
        return CAPACITY - sum(it.size for it in self.stored.values())

    def may_evict(self, it: MediaItem) -> bool:
        old = self.now - it.recorded_ms >= self.floor_days * DAY_MS
        return old and it.received and not it.protected

    def catalogue(self, rnd) -> list:
        # The store may hand over its catalogue in any order (hash order on MicroPython).
        items = list(self.stored.values())
        rnd.shuffle(items)
        return items

    def make_room(self, needed: int, rnd) -> bool:
        """Ask the policy for room; apply its plan; check it against the model."""
        free = self.free()
        allowed = sorted(
            (it for it in self.stored.values() if self.may_evict(it)),
            key=lambda it: (it.recorded_ms, it.digest),
        )
        allowed_bytes = sum(it.size for it in allowed)
        catalogue = self.catalogue(rnd)
        decision = self.policy.can_record(catalogue, self.now, free, needed)
        try:
            plan = self.policy.plan_space(catalogue, self.now, free, needed)
        except StorageFull as exc:
            # Refused only when the rules truly leave too little.
            assert free + allowed_bytes < needed, str(exc)
            assert not decision.ok and decision.evict == []
            assert str(exc) in decision.message
            return False
        assert decision.ok and decision.evict == plan
        # The oldest allowed chunks, and no more than needed.
        want = []
        got = free
        for it in allowed:
            if got >= needed:
                break
            want.append(it.digest)
            got += it.size
        assert plan == want
        for digest in plan:
            it = self.stored.pop(digest)
            self.evictions.append(
                (self.now, self.floor_days, it.recorded_ms, it.received, it.protected)
            )
        assert self.free() >= needed
        return True

    # -- what happens to a recorder over months -----------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=72))
    def advance_hours(self, hours: int) -> None:
        self.now += hours * HOUR_MS

    @rule(days=st.integers(min_value=1, max_value=200))
    def advance_days(self, days: int) -> None:
        self.now += days * DAY_MS

    @precondition(lambda self: self.stored)
    @rule(pick=st.integers(min_value=0), offset_ms=st.integers(-2 * DAY_MS, DAY_MS))
    def advance_to_a_floor_edge(self, pick: int, offset_ms: int) -> None:
        # Put the clock right around the moment a stored chunk reaches the floor, where an
        # off-by-a-day rule would show.
        items = sorted(self.stored.values(), key=lambda it: it.recorded_ms)
        edge = items[pick % len(items)].recorded_ms + self.floor_days * DAY_MS + offset_ms
        self.now = max(self.now, edge)

    def record_one(self, size: int, rnd) -> None:
        if self.make_room(size, rnd):
            it = MediaItem(b"chunk-%d" % len(self.recorded), self.now, size)
            self.recorded.append(it)
            self.stored[it.digest] = it
            self.now += size * 8 * 1000 // BITRATE_BPS  # the chunk took this long to record

    @rule(size=st.integers(min_value=1, max_value=8_000), rnd=st.randoms(use_true_random=False))
    def record(self, size: int, rnd) -> None:
        self.record_one(size, rnd)

    @rule(
        chunks=st.integers(min_value=1, max_value=12),
        size=st.integers(min_value=500, max_value=4_000),
        rnd=st.randoms(use_true_random=False),
    )
    def record_a_shift(self, chunks: int, size: int, rnd) -> None:
        # A day's recording fills storage quickly, so loop recording is exercised.
        for _ in range(chunks):
            self.record_one(size, rnd)

    @rule(
        needed=st.integers(min_value=1, max_value=2 * CAPACITY),
        rnd=st.randoms(use_true_random=False),
    )
    def storage_pressure(self, needed: int, rnd) -> None:
        # A long recording reserves its space up front.
        self.make_room(needed, rnd)

    @precondition(lambda self: self.recorded)
    @rule(pick=st.integers(min_value=0))
    def host_receipt(self, pick: int) -> None:
        # A receipt covers the ledger up to some seq: a prefix of the recording order.
        for it in self.recorded[: pick % (len(self.recorded) + 1)]:
            it.received = True

    @precondition(lambda self: self.recorded)
    @rule(pick=st.integers(min_value=0))
    def mark_important(self, pick: int) -> None:
        self.recorded[pick % len(self.recorded)].protected = True

    @rule(extra=st.integers(min_value=0, max_value=60))
    def signed_config_raises_floor(self, extra: int) -> None:
        days = self.floor_days + extra
        assert self.policy.apply_floor(days, signed_by_host=True) == days
        self.floor_days = days
        self.floors_seen.append(self.policy.floor_days)

    @rule(less=st.integers(min_value=1, max_value=200))
    def signed_config_tries_to_lower_floor(self, less: int) -> None:
        try:
            self.policy.apply_floor(self.floor_days - less, signed_by_host=True)
        except ConfigError:
            pass
        else:
            raise AssertionError("a lower floor was accepted")
        self.floors_seen.append(self.policy.floor_days)

    @rule(days=st.integers(min_value=0, max_value=1_000))
    def unsigned_config_changes_floor(self, days: int) -> None:
        try:
            self.policy.apply_floor(days, signed_by_host=False)
        except ConfigError:
            pass
        else:
            raise AssertionError("an unsigned floor change was accepted")
        self.floors_seen.append(self.policy.floor_days)

    @rule(rnd=st.randoms(use_true_random=False), shift_hours=st.integers(1, 12))
    def pre_use_check(self, rnd, shift_hours: int) -> None:
        allowed_bytes = sum(it.size for it in self.stored.values() if self.may_evict(it))
        check = self.policy.check_shift(
            self.catalogue(rnd), self.now, self.free(), BITRATE_BPS, shift_hours
        )
        have_s = (self.free() + allowed_bytes) * 8 // BITRATE_BPS
        assert check.hours_available == have_s / 3600
        assert check.ok == (have_s >= shift_hours * 3600)

    # -- what must hold after every step -------------------------------------------------

    @invariant()
    def nothing_young_was_evicted(self) -> None:
        for at, floor_days, recorded_ms, _, _ in self.evictions:
            assert at - recorded_ms >= floor_days * DAY_MS

    @invariant()
    def nothing_unreceived_was_evicted(self) -> None:
        assert all(received for _, _, _, received, _ in self.evictions)

    @invariant()
    def nothing_protected_was_evicted(self) -> None:
        assert not any(protected for _, _, _, _, protected in self.evictions)

    @invariant()
    def floor_never_decreased(self) -> None:
        assert self.policy.floor_days == self.floor_days
        assert self.floors_seen == sorted(self.floors_seen)

    @invariant()
    def storage_never_overflows(self) -> None:
        assert 0 <= self.free() <= CAPACITY


RetentionMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=80)
TestRetentionMachine = RetentionMachine.TestCase
