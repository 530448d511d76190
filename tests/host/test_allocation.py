"""Allocation (R-HOST-9): each unit against the rule of its class (000 §6: class A at least
one recorder per two front-line officers, class B one per three, class C at least two),
counting only the recorders in service."""
# micropython: skip (the host's evidence store)

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host import allocation, registers


@pytest.mark.parametrize(
    "klass, officers, need",
    [("A", 0, 0), ("A", 1, 1), ("A", 4, 2), ("A", 5, 3), ("B", 3, 1), ("B", 4, 2),
     ("B", 9, 3), ("C", 0, 2), ("C", 50, 2)],
)  # fmt: skip
def test_the_rule_of_each_class(klass, officers, need):  # R-HOST-9
    assert allocation.required(klass, officers) == need


@given(st.sampled_from(registers.CLASSES), st.integers(0, 10_000))
def test_the_rule_is_the_least_number_that_meets_the_ratio(klass, officers):  # R-HOST-9
    need = allocation.required(klass, officers)
    if klass == "C":
        assert need == 2
    else:
        per = {"A": 2, "B": 3}[klass]
        assert (need * per >= officers and (need - 1) * per < officers) or need == 0 == officers


def store():
    """An in-memory database with the enrolment table and the register's (the rules take
    any DB-API cursor)."""
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE devices (device_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, "
        "enrolled_ms INTEGER NOT NULL);" + registers.SCHEMA
    )
    return db.cursor()


def add_devices(cur, unit, states):
    for i, state in enumerate(states):
        device = "%s-%02d" % (unit, i)
        cur.execute("INSERT INTO devices VALUES (?, ?, 0)", (device, bytes(32)))
        registers.register(cur, device, "DSJ", "SN%d" % i, unit, "keeper", "clerk", 0)
        if state != registers.IN_SERVICE:
            registers.set_state(cur, device, state, None, "clerk", 1)


def test_only_recorders_in_service_count(tmp_path):  # R-HOST-9
    cur = store()
    registers.add_unit(cur, "U-A", "Patrol", "A", 6, None)  # needs 3
    registers.add_unit(cur, "U-B", "Traffic", "B", 6, None)  # needs 2
    registers.add_unit(cur, "U-C", "Office", "C", 1, "U-A")  # needs 2
    add_devices(cur, "U-A", ["in-service", "in-service", "in-repair", "lost", "retired"])
    add_devices(cur, "U-B", ["in-service", "in-service"])
    by_unit = {u.unit_id: u for u in allocation.allocation(cur)}
    a, b, c = by_unit["U-A"], by_unit["U-B"], by_unit["U-C"]
    assert (a.required, a.in_service, a.met, a.short) == (3, 2, False, 1)
    assert a.other == {"in-repair": 1, "lost": 1, "retired": 1}
    assert (b.required, b.in_service, b.met) == (2, 2, True)
    assert (c.required, c.in_service, c.met, c.short) == (2, 0, False, 2)
    assert a.to_dict()["rule"] == "R-HOST-9" and a.to_dict()["class"] == "A"
    # A device back from repair counts again.
    registers.set_state(cur, "U-A-02", "in-service", "fixed", "clerk", 2)
    assert {u.unit_id: u.met for u in allocation.allocation(cur)}["U-A"] is True


@pytest.mark.parametrize(
    "klass, officers", [("D", 3), ("a", 3), ("", 3), ("A", -1), ("A", "x"), ("A", "2.5")]
)
def test_unit_counts_that_do_not_add_up_are_refused(klass, officers):  # R-HOST-9
    cur = store()
    with pytest.raises(registers.RegisterError):
        registers.add_unit(cur, "U-1", "Patrol", klass, officers, None)
    assert registers.units(cur) == []


def test_a_unit_cannot_be_under_itself():  # R-HOST-9 (the issue: counts that do not add up)
    cur = store()
    registers.add_unit(cur, "U-1", "Bureau", "A", 10, None)
    registers.add_unit(cur, "U-2", "Station", "B", 6, "U-1")
    with pytest.raises(registers.RegisterError):
        registers.set_unit(cur, "U-1", parent="U-2")
    with pytest.raises(registers.RegisterError):
        registers.add_unit(cur, "U-3", "Team", "C", 2, "U-9")


def test_a_parent_unit_shows_its_own_line_and_its_roll_up():  # R-HOST-9
    # The regulation counts per unit: each unit's own line is judged on its own officers
    # and recorders; a unit with sub-units also has the roll-up of everything under it.
    cur = store()
    registers.add_unit(cur, "U-0", "Bureau", "C", 1, None)  # needs 2, has 2
    registers.add_unit(cur, "U-1", "Station 1", "A", 4, "U-0")  # needs 2, has 1
    registers.add_unit(cur, "U-2", "Station 2", "B", 3, "U-0")  # needs 1, has 1
    registers.add_unit(cur, "U-21", "Post", "C", 0, "U-2")  # needs 2, has 2
    registers.add_unit(cur, "U-9", "Elsewhere", "C", 0, None)  # needs 2, has 2
    add_devices(cur, "U-0", ["in-service", "in-service"])
    add_devices(cur, "U-1", ["in-service", "lost"])
    add_devices(cur, "U-2", ["in-service"])
    add_devices(cur, "U-21", ["in-service", "in-service"])
    add_devices(cur, "U-9", ["in-service", "in-service"])
    by_unit = {u.unit_id: u for u in allocation.allocation(cur)}
    top = by_unit["U-0"]
    # Its own line: its own officer and its own two recorders.
    assert (top.officers, top.required, top.in_service, top.met) == (1, 2, 2, True)
    r = top.rollup
    assert r is not None and r.units == ("U-0", "U-1", "U-2", "U-21")
    assert (r.officers, r.required, r.in_service) == (8, 7, 6)
    assert r.short_units == ("U-1",) and not r.met
    mid = by_unit["U-2"].rollup
    assert mid is not None and (mid.units, mid.required, mid.in_service, mid.met) == (
        ("U-2", "U-21"), 3, 3, True)  # fmt: skip
    assert by_unit["U-1"].rollup is None and by_unit["U-9"].rollup is None
    assert top.to_dict()["rollup"]["short_units"] == ["U-1"]
    assert by_unit["U-1"].to_dict()["parent"] == "U-0"
