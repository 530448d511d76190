"""Retention and loop recording: what may be evicted, when the recorder refuses, hours left."""

from firmware.errors import ConfigError, StorageFull
from firmware.retention import (
    DAY_MS,
    DEFAULT_FLOOR_DAYS,
    EVICTABLE,
    HOUR_MS,
    KEEP_HELD,
    KEEP_UNRECEIVED,
    KEEP_YOUNG,
    MediaItem,
    RetentionPolicy,
    fits_shift,
    format_bytes,
    hours_left,
    seconds_left,
)
from tests.portable import raises

NOW = 1_750_000_000_000  # a wall clock in mid-2025, ms
FLOOR_MS = DEFAULT_FLOOR_DAYS * DAY_MS
MB = 1_000_000
OLD = FLOOR_MS + DAY_MS  # past the floor


def item(n, age_ms, size=MB, received=True, protected=False):
    """Media chunk number n, recorded age_ms before NOW."""
    return MediaItem(("chunk-%03d" % n).encode(), NOW - age_ms, size, received, protected)


def test_floor_constants():
    # R-DEV-4: six months on the device.
    assert DEFAULT_FLOOR_DAYS == 183
    assert DAY_MS == 24 * 60 * 60 * 1000
    assert HOUR_MS * 24 == DAY_MS
    p = RetentionPolicy()
    assert p.floor_days == 183
    assert p.floor_ms == 183 * DAY_MS


def test_media_younger_than_the_floor_is_never_evicted():
    # R-DEV-4: received, not protected, one millisecond short of the floor: kept.
    p = RetentionPolicy()
    young = item(1, FLOOR_MS - 1)
    assert p.classify(young, NOW) == KEEP_YOUNG
    assert not p.is_evictable(young, NOW)
    exc = raises(StorageFull, p.plan_space, [young], NOW, 0, 1)
    assert "younger than the 183-day floor" in str(exc)
    # At the floor it has stayed its six months and may go.
    assert p.classify(young, NOW + 1) == EVICTABLE
    assert p.plan_space([young], NOW + 1, 0, 1) == [young.digest]


def test_media_from_the_future_counts_as_young():
    # R-DEV-4: a chunk stamped after now (clock set back since) is never taken for old.
    p = RetentionPolicy()
    assert p.classify(item(1, -DAY_MS), NOW) == KEEP_YOUNG


def test_old_media_is_evicted_only_once_the_host_has_received_it():
    # R-DEV-4: older than the floor is not enough; a host receipt must cover it.
    p = RetentionPolicy()
    old = item(1, FLOOR_MS + 30 * DAY_MS, received=False)
    assert p.classify(old, NOW) == KEEP_UNRECEIVED
    exc = raises(StorageFull, p.plan_space, [old], NOW, 0, 1)
    assert "1 MB not yet received by the host" in str(exc)
    assert "dock the recorder to upload" in str(exc)
    old.received = True
    assert p.plan_space([old], NOW, 0, 1) == [old.digest]


def test_received_must_be_a_bool_not_a_receipt_seq():
    # R-DEV-4: a receipt seq of 0 would read as "not received", any other as "received".
    raises(ValueError, MediaItem, b"d", NOW, 10, 0)
    raises(ValueError, MediaItem, b"d", NOW, 10, 7)
    raises(ValueError, MediaItem, b"d", NOW, 10, True, 1)
    raises(ValueError, MediaItem, b"", NOW, 10)
    raises(ValueError, MediaItem, b"d", NOW, -1)
    raises(ValueError, MediaItem, b"d", True, 10)


def test_important_or_held_media_is_never_evicted():
    # R-DEV-5: loop recording never overwrites protected footage, however old and received.
    p = RetentionPolicy()
    held = item(1, 5 * 365 * DAY_MS, protected=True)
    assert p.classify(held, NOW) == KEEP_HELD
    exc = raises(StorageFull, p.plan_space, [held], NOW, 0, 1)
    assert "1 MB marked important or on hold" in str(exc)
    assert str(exc).endswith("— take another recorder")


def test_floor_is_raised_by_signed_host_config():
    # R-DEV-4, R-DEV-17: a verified host config may raise the floor; it then protects more.
    p = RetentionPolicy()
    c = item(1, 200 * DAY_MS)
    assert p.is_evictable(c, NOW)
    assert p.apply_floor(365, signed_by_host=True) == 365
    assert p.floor_days == 365
    assert p.classify(c, NOW) == KEEP_YOUNG
    # The same signed config applied again changes nothing.
    assert p.apply_floor(365, signed_by_host=True) == 365


def test_floor_change_without_host_signature_is_refused():
    # R-DEV-17: settings change only through authorised management software.
    p = RetentionPolicy()
    exc = raises(ConfigError, p.apply_floor, 400, False)
    assert "not signed by the host" in str(exc)
    assert "R-DEV-17" in str(exc)
    raises(ConfigError, p.apply_floor, 400, 1)  # only the verified fact True will do
    assert p.floor_days == 183


def test_floor_is_never_lowered():
    # R-DEV-4, R-DEV-17: not even by a signed config, nor by a restart with a lower value.
    p = RetentionPolicy(200)
    exc = raises(ConfigError, p.apply_floor, 199, True)
    assert "below the 200 days in force" in str(exc)
    assert "can only be raised" in str(exc)
    assert p.floor_days == 200
    exc = raises(ConfigError, RetentionPolicy, 182)
    assert "below the minimum of 183 days" in str(exc)
    raises(ConfigError, p.apply_floor, True, True)
    raises(ConfigError, p.apply_floor, 365.0, True)
    raises(ConfigError, RetentionPolicy, True)


def test_floor_cannot_be_assigned_around_the_rules():
    # R-DEV-17: the only way to change the floor is apply_floor.
    p = RetentionPolicy()
    raises(AttributeError, setattr, p, "floor_days", 1)
    assert p.floor_days == 183


def test_loop_recording_evicts_oldest_first_and_only_what_is_needed():
    # R-DEV-5: the oldest evictable media goes first, and no more than the shortfall.
    p = RetentionPolicy()
    cat = [item(n, FLOOR_MS + (10 - n) * DAY_MS) for n in range(10)]
    assert p.plan_space(cat, NOW, 5 * MB, 5 * MB) == []
    assert p.plan_space(cat, NOW, 5 * MB, 5 * MB + 1) == [cat[0].digest]
    assert p.plan_space(cat, NOW, MB // 2, 3 * MB) == [c.digest for c in cat[:3]]


def test_loop_recording_skips_what_the_rules_keep():
    # R-DEV-5: held, unreceived and young chunks are stepped over, not evicted.
    p = RetentionPolicy()
    cat = [
        item(0, FLOOR_MS + 9 * DAY_MS, protected=True),
        item(1, FLOOR_MS + 8 * DAY_MS, received=False),
        item(2, FLOOR_MS + 7 * DAY_MS),
        item(3, FLOOR_MS - DAY_MS),
        item(4, FLOOR_MS + 6 * DAY_MS),
    ]
    assert p.plan_space(cat, NOW, 0, 2 * MB) == [cat[2].digest, cat[4].digest]


def test_catalogue_order_does_not_matter():
    # R-DEV-5: a catalogue built from a dict (hash order on MicroPython) plans the same.
    p = RetentionPolicy()
    cat = [item(n, FLOOR_MS + (10 - n) * DAY_MS) for n in range(10)]
    shuffled = [cat[i] for i in (7, 2, 9, 0, 4, 1, 8, 3, 6, 5)]
    want = [c.digest for c in cat[:4]]
    assert p.plan_space(shuffled, NOW, 0, 4 * MB) == want
    assert [c.digest for c in shuffled][:2] == [cat[7].digest, cat[2].digest]  # untouched


def test_storage_full_says_what_can_be_reclaimed_and_why_not_the_rest():
    # R-DEV-5: the message names every amount and every reason.
    p = RetentionPolicy()
    cat = [
        item(0, FLOOR_MS + DAY_MS, size=2 * MB),  # evictable
        item(1, DAY_MS, size=30 * MB),  # young
        item(2, FLOOR_MS + DAY_MS, size=4 * MB, received=False),  # waits for upload
        item(3, FLOOR_MS + DAY_MS, size=3 * MB, protected=True),  # held
    ]
    r = p.report(cat, NOW)
    assert (r.evictable_bytes, r.young_bytes, r.unreceived_bytes, r.held_bytes) == (
        2 * MB,
        30 * MB,
        4 * MB,
        3 * MB,
    )
    assert p.evictable_bytes(cat, NOW) == 2 * MB
    exc = raises(StorageFull, p.plan_space, cat, NOW, MB // 2, 5 * MB)
    assert str(exc) == (
        "storage full: 5 MB needed, 500 kB free, and the retention rules allow only 2 MB more"
        " to be reclaimed; kept: 30 MB younger than the 183-day floor, 4 MB not yet received"
        " by the host, 3 MB marked important or on hold — dock the recorder to upload"
    )


def test_each_item_is_kept_for_the_first_rule_only():
    # R-DEV-5: young beats held beats unreceived, so "not yet received" is what docking frees.
    p = RetentionPolicy()
    r = p.report([item(0, DAY_MS, received=False, protected=True)], NOW)
    assert (r.young_bytes, r.held_bytes, r.unreceived_bytes) == (MB, 0, 0)
    r = p.report([item(0, FLOOR_MS, received=False, protected=True)], NOW)
    assert (r.young_bytes, r.held_bytes, r.unreceived_bytes) == (0, MB, 0)


def test_plan_names_media_digests_only():
    # R-DEV-4: the policy removes nothing and names no ledger entry; the caller evicts bytes.
    p = RetentionPolicy()
    cat = [item(n, FLOOR_MS + DAY_MS) for n in range(3)]
    plan = p.plan_space(cat, NOW, 0, 3 * MB)
    assert plan == [c.digest for c in cat]
    assert len(cat) == 3


def test_plan_space_rejects_nonsense_sizes():
    p = RetentionPolicy()
    raises(ValueError, p.plan_space, [], NOW, -1, 0)
    raises(ValueError, p.plan_space, [], NOW, 0, -1)
    raises(ValueError, p.plan_space, [], NOW, 0, 1.5)


def test_full_recorder_refuses_instead_of_breaking_the_rule():
    # R-DEV-5, R-DEV-7: can_record never raises; it refuses with the officer's message.
    p = RetentionPolicy()
    cat = [item(0, DAY_MS, size=10 * MB)]
    d = p.can_record(cat, NOW, MB, 2 * MB)
    assert not d.ok
    assert d.evict == []
    assert d.message.startswith("recording refused: storage full: 2 MB needed, 1 MB free")
    assert "10 MB younger than the 183-day floor" in d.message
    assert d.message.endswith("— take another recorder")  # docking frees no young media
    # Empty storage that is simply too small says so without inventing a reason.
    d = p.can_record([], NOW, MB, 2 * MB)
    assert not d.ok
    assert d.message.endswith("allow only 0 B more to be reclaimed — take another recorder")


def test_recorder_may_record_after_evicting():
    # R-DEV-5: loop recording: the decision lists what to evict before writing.
    p = RetentionPolicy()
    cat = [item(0, FLOOR_MS + DAY_MS), item(1, DAY_MS)]
    d = p.can_record(cat, NOW, 0, MB)
    assert d.ok
    assert d.evict == [cat[0].digest]
    assert d.message == ""
    assert p.can_record(cat, NOW, MB, MB).evict == []


def test_hours_left():
    # R-DEV-7: 4 Mbit/s is 1.8 GB per hour.
    assert seconds_left(1_800_000_000, 0, 4_000_000) == 3600
    assert hours_left(1_800_000_000, 0, 4_000_000) == 1.0
    assert hours_left(4_500_000_000, 1_800_000_000, 4_000_000) == 3.5
    assert seconds_left(0, 0, 4_000_000) == 0
    raises(ValueError, hours_left, 0, 0, 0)
    raises(ValueError, hours_left, -1, 0, 4_000_000)


def test_shift_that_does_not_fit_is_reported_in_plain_words():
    # R-DEV-7: the pre-use check warns in advance, in hours, and says what to do.
    gb = 1_000_000_000
    c = fits_shift(4 * gb, 2_300_000_000, 4_000_000, 8, uploadable_bytes=9 * gb)
    assert not c.ok
    assert c.hours_available == 3.5
    assert c.hours_needed == 8
    assert c.message == (
        "storage holds 3.5 h of recording; the shift needs 8 h — dock the recorder to upload"
    )
    c = fits_shift(4 * gb, 2_300_000_000, 4_000_000, 8)
    assert not c.ok
    assert c.message.endswith("the shift needs 8 h — take another recorder")


def test_shift_that_fits():
    # R-DEV-7
    c = fits_shift(18_000_000_000, 0, 4_000_000, 7.5)
    assert c.ok
    assert c.hours_available == 10
    assert c.hours_needed == 7.5
    assert c.message == "storage holds 10 h of recording; enough for the 7.5 h shift"
    assert fits_shift(14_400_000_000, 0, 4_000_000, 8).ok  # exactly 8 h is enough
    assert not fits_shift(14_399_999_999, 0, 4_000_000, 8).ok
    raises(ValueError, fits_shift, 1, 0, 4_000_000, 0)


def test_shift_check_counts_only_what_the_rules_free():
    # R-DEV-7: young and held media are not space; old unreceived media is, after docking.
    p = RetentionPolicy()
    gb = 1_000_000_000
    cat = [
        item(0, FLOOR_MS + DAY_MS, size=1_800_000_000),  # 1 h, evictable
        item(1, DAY_MS, size=50 * gb),  # young
        item(2, FLOOR_MS + DAY_MS, size=9 * gb, received=False),  # 5 h after upload
    ]
    c = p.check_shift(cat, NOW, 1_800_000_000, 4_000_000, 6)
    assert not c.ok
    assert c.hours_available == 2
    assert c.message == (
        "storage holds 2 h of recording; the shift needs 6 h — dock the recorder to upload"
    )


def test_format_bytes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1500) == "1.5 kB"
    assert format_bytes(3_560_000) == "3.5 MB"  # rounded down: never overstates space
    assert format_bytes(12_000_000_000) == "12 GB"


# R-DEV-4: chunks with the same bytes share one file; it goes only when every one may go.
def test_a_file_shared_with_a_young_unreceived_chunk_is_never_evicted():
    policy = RetentionPolicy()
    old = item(1, OLD, 1000, received=True)
    twin = MediaItem(old.digest, NOW - 1000, 1000, False, False)  # same bytes, just recorded
    other = item(2, OLD, 500, received=True)
    catalogue = [old, other, twin]
    assert policy.evictable_bytes(catalogue, NOW) == 500
    assert policy.plan_space(catalogue, NOW, 0, 400) == [other.digest]
    raises(StorageFull, policy.plan_space, catalogue, NOW, 0, 1200)


def test_a_file_shared_by_two_old_received_chunks_is_freed_and_counted_once():
    policy = RetentionPolicy()
    a = item(1, OLD, 1000, received=True)
    b = MediaItem(a.digest, NOW - OLD + 1, 1000, True, False)
    assert policy.evictable_bytes([a, b], NOW) == 1000
    assert policy.plan_space([a, b], NOW, 0, 900) == [a.digest]
