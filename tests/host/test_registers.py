"""The device register, checkout, return and handover (R-HOST-8), and what the register
finds in the footage: an officer using a recorder not checked out to them, a lost or
retired recorder's footage, a loss, a recorder not returned in time (R-HOST-8, R-HOST-10).
Every change goes through the desk (audited); a refusal changes nothing and stays on
record."""
# micropython: skip (the host's evidence store)

from typing import NamedTuple

import pytest

from host import audit, registers
from host.access import Desk
from host.errors import Refused, Unusable
from tests.host import registerstore
from tests.host.registerstore import HOUR, MINUTE, Clock, desk, unit_and_officers
from tests.protocol.helpers import DEVICE, T0


class World(NamedTuple):
    ev: object
    ids: list
    clock: Clock
    desk: Desk


def made(tmp_path, shots) -> World:
    """A store with ``shots`` (``registerstore.store``), unit U-1 with P-0427, P-0001 and
    P-0002, and the device registered to it two hours before T0 by the clerk."""
    ev, ids = registerstore.store(tmp_path / "ev", shots)
    clock = Clock()
    d = desk(ev, clock)
    with d.act(audit.REGISTER, None, change="unit") as act:
        unit_and_officers(act.cur)
    with d.act(audit.REGISTER, DEVICE, change="add") as act:
        registers.register(act.cur, DEVICE, "DSJ-V9", "SN-77", "U-1", "Li Ming", "clerk", clock())
    return World(ev, ids, clock, d)


def findings(ev, since=T0 - 24 * HOUR, until=T0 + 24 * HOUR):
    with ev.read() as cur:
        return registers.device_findings(cur, since, until)


def checkout(d, officer, hours=30, device=DEVICE):
    # Due back after the period ``findings`` looks at, unless a test says otherwise.
    with d.act(audit.CHECKOUT, device, officer=officer) as act:
        due = d.now() + hours * HOUR
        return registers.checkout(act.cur, device, officer, due, "clerk", d.now())


def trail(ev, action):
    with ev.read() as cur:
        return [r for r in audit.history(cur) if r.action == action]


def test_footage_of_the_officer_who_checked_the_recorder_out_is_not_flagged(tmp_path):  # R-HOST-8
    w = made(tmp_path, [("P-0427", 30)])
    checkout(w.desk, "P-0427")
    assert findings(w.ev) == []


def test_footage_of_an_officer_the_recorder_was_not_checked_out_to_is_flagged(tmp_path):
    # R-HOST-8: "who uses it is responsible": the register names P-0001 as the holder, the
    # footage says P-0427 wore it.
    w = made(tmp_path, [("P-0427", 30)])
    checkout(w.desk, "P-0001")
    (f,) = findings(w.ev)
    assert (f.kind, f.rule, f.device_id, f.officer_id, f.item_id) == (
        "wrong-officer", "R-HOST-8", DEVICE, "P-0427", w.ids[0],
    )  # fmt: skip
    assert f.at_ms >= T0 + 30 * MINUTE and f.unit_id == "U-1"
    assert f.detail["holder"] == "P-0001"


def test_footage_while_the_recorder_was_in_nobodys_hands_is_flagged(tmp_path):  # R-HOST-8
    w = made(tmp_path, [("P-0427", 30)])
    (f,) = findings(w.ev)
    assert f.kind == "wrong-officer" and f.detail["holder"] is None


def test_after_a_handover_the_receiver_is_the_one_answerable(tmp_path):  # R-HOST-8
    w = made(tmp_path, [("P-0427", 30), ("P-0427", 180), ("P-0001", 240)])
    checkout(w.desk, "P-0427")
    w.clock.ms = T0 + 2 * HOUR
    with w.desk.act(audit.HANDOVER, DEVICE) as act:
        ended, new = registers.handover(act.cur, DEVICE, "P-0427", "P-0001", "clerk", w.clock())
    assert ended.returned_ms == w.clock.ms and new.handed_from == "P-0427"
    # P-0427 at 08:30 held it; at 11:00 P-0001 did, so P-0427's second recording is flagged
    # and P-0001's own at 12:00 is not.
    (f,) = findings(w.ev)
    assert (f.kind, f.item_id, f.officer_id, f.detail["holder"]) == (
        "wrong-officer", w.ids[1], "P-0427", "P-0001",
    )  # fmt: skip


def test_a_device_reported_lost_is_flagged_with_its_holder(tmp_path):  # R-HOST-10 (loss)
    w = made(tmp_path, [])
    checkout(w.desk, "P-0002")
    w.clock.ms += HOUR
    with w.desk.act(audit.REGISTER, DEVICE, change="state") as act:
        registers.set_state(act.cur, DEVICE, "lost", "left on the bus", "clerk", w.clock())
    (f,) = findings(w.ev)
    assert (f.kind, f.rule, f.officer_id, f.at_ms) == ("lost", "R-HOST-10", "P-0002", w.clock.ms)
    assert f.detail["note"] == "left on the bus"
    # Outside the period it is not there.
    assert findings(w.ev, since=w.clock.ms + 1) == []


def test_footage_recorded_while_the_device_was_lost_is_flagged(tmp_path):  # R-HOST-8
    w = made(tmp_path, [("P-0427", 30)])
    with w.desk.act(audit.REGISTER, DEVICE, change="state") as act:
        registers.set_state(act.cur, DEVICE, "lost", None, "clerk", w.clock())
    kinds = sorted((f.kind, f.item_id, f.rule) for f in findings(w.ev))
    assert kinds == [("lost", None, "R-HOST-10"), ("lost-docked", w.ids[0], "R-HOST-8")]
    (docked,) = [f for f in findings(w.ev) if f.kind == "lost-docked"]
    assert docked.detail["when"] == "recorded"


def test_footage_docked_after_the_device_was_reported_lost_is_flagged(tmp_path):  # R-HOST-8
    # Recorded while in service and in P-0427's hands, docked 12 hours later, after the
    # loss was reported: someone docked a device the register says is lost.
    w = made(tmp_path, [("P-0427", 30)])
    checkout(w.desk, "P-0427")
    w.clock.ms = T0 + 6 * HOUR
    with w.desk.act(audit.REGISTER, DEVICE, change="state") as act:
        registers.set_state(act.cur, DEVICE, "lost", None, "clerk", w.clock())
    found = {f.kind: f for f in findings(w.ev)}
    assert sorted(found) == ["lost", "lost-docked"]
    assert found["lost-docked"].at_ms == T0 + 12 * HOUR
    assert found["lost-docked"].detail["when"] == "docked"


def test_footage_of_a_retired_device_is_flagged(tmp_path):  # R-HOST-8
    w = made(tmp_path, [("P-0427", 30)])
    with w.desk.act(audit.REGISTER, DEVICE, change="state") as act:
        registers.set_state(act.cur, DEVICE, "retired", None, "clerk", w.clock())
    (f,) = findings(w.ev)
    assert (f.kind, f.item_id, f.rule) == ("retired-docked", w.ids[0], "R-HOST-8")


def test_a_checkout_not_returned_by_its_due_time_is_flagged(tmp_path):  # R-HOST-10
    w = made(tmp_path, [])
    c = checkout(w.desk, "P-0001", hours=8)
    (f,) = findings(w.ev)
    assert (f.kind, f.officer_id, f.at_ms) == ("not-returned", "P-0001", c.due_ms)
    assert f.rule == "R-HOST-10"
    assert f.detail["returned_ms"] is None
    # Not yet due at the period's end: nothing to say.
    assert findings(w.ev, until=c.due_ms) == []
    # Returned an hour late: still a finding, with the return.
    w.clock.ms = c.due_ms + HOUR
    with w.desk.act(audit.RETURN, DEVICE) as act:
        registers.give_back(act.cur, DEVICE, "clerk", w.clock())
    (f,) = findings(w.ev)
    assert f.kind == "not-returned" and f.detail["returned_ms"] == w.clock.ms


def test_a_checkout_returned_in_time_or_handed_over_is_not_flagged(tmp_path):  # R-HOST-10
    w = made(tmp_path, [])
    checkout(w.desk, "P-0001", hours=8)
    w.clock.ms += 4 * HOUR
    with w.desk.act(audit.HANDOVER, DEVICE) as act:
        registers.handover(act.cur, DEVICE, "P-0001", "P-0002", "clerk", w.clock())
    w.clock.ms += HOUR
    with w.desk.act(audit.RETURN, DEVICE) as act:
        registers.give_back(act.cur, DEVICE, "clerk", w.clock(), "P-0002")
    assert findings(w.ev) == []


def test_footage_before_the_device_was_registered_is_not_judged(tmp_path):  # R-HOST-8
    ev, _ = registerstore.store(tmp_path / "ev", [("P-0427", 30)])
    clock = Clock(T0 + 6 * HOUR)
    d = desk(ev, clock)
    with d.act(audit.REGISTER, None) as act:
        unit_and_officers(act.cur)
        registers.register(act.cur, DEVICE, "DSJ-V9", "SN-77", "U-1", "Li Ming", "clerk", clock())
    assert findings(ev) == []


def test_unit_of_names_an_officers_unit(tmp_path):  # R-HOST-8
    w = made(tmp_path, [])
    with w.ev.read() as cur:
        assert registers.unit_of(cur, "P-0001") == "U-1"
        assert registers.unit_of(cur, "P-9999") is None


# --- bad input: one line, nothing changed, the attempt on record ----------------------------


def _state(ev):
    with ev.read() as cur:
        return [
            cur.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
            for t in ("device_register", "device_log", "checkouts", "units", "unit_members")
        ]


def _refused(ev, d, action, item, run, error):
    before = _state(ev)
    with pytest.raises(error) as exc:
        with d.act(action, item) as act:
            run(act.cur)
    assert "\n" not in str(exc.value)
    assert _state(ev) == before
    last = trail(ev, action)[-1]
    assert last.outcome == audit.REFUSED and last.item == item
    return str(exc.value)


def test_checking_out_a_device_already_out_is_refused(tmp_path):  # R-HOST-8
    w = made(tmp_path, [])
    checkout(w.desk, "P-0001")
    due = w.clock() + HOUR
    message = _refused(
        w.ev, w.desk, audit.CHECKOUT, DEVICE,
        lambda cur: registers.checkout(cur, DEVICE, "P-0002", due, "clerk", w.clock()), Refused,
    )  # fmt: skip
    assert "P-0001" in message


def test_returning_a_device_never_taken_is_refused(tmp_path):  # R-HOST-8
    w = made(tmp_path, [])
    _refused(
        w.ev, w.desk, audit.RETURN, DEVICE,
        lambda cur: registers.give_back(cur, DEVICE, "clerk", w.clock()), Refused,
    )  # fmt: skip


def test_handing_over_a_device_the_giver_does_not_hold_is_refused(tmp_path):  # R-HOST-8
    w = made(tmp_path, [])
    checkout(w.desk, "P-0001")
    message = _refused(
        w.ev, w.desk, audit.HANDOVER, DEVICE,
        lambda cur: registers.handover(cur, DEVICE, "P-0002", "P-0427", "clerk", 0), Refused,
    )  # fmt: skip
    assert "P-0002" in message and "P-0001" in message


@pytest.mark.parametrize(
    "what",
    ["unknown-device", "unknown-officer", "unknown-unit", "not-enrolled", "bad-class",
     "negative-officers", "same-state", "due-past", "repair-while-out"],
)  # fmt: skip
def test_bad_input_changes_nothing_and_is_on_record(tmp_path, what):  # R-HOST-8, R-HOST-9
    w = made(tmp_path, [])
    now = w.clock()
    due = now + HOUR
    reg = registers
    runs = {
        "unknown-device": (
            audit.CHECKOUT, lambda c: reg.checkout(c, "SC-NONE", "P-0001", due, "clerk", now)
        ),
        "unknown-officer": (
            audit.CHECKOUT, lambda c: reg.checkout(c, DEVICE, "P-9999", due, "clerk", now)
        ),
        "unknown-unit": (audit.REGISTER, lambda c: reg.set_member(c, "P-0003", "U-9")),
        "not-enrolled": (
            audit.REGISTER,
            lambda c: reg.register(c, "SC-NONE", "m", "s", "U-1", "k", "clerk", now),
        ),
        "bad-class": (audit.REGISTER, lambda c: reg.add_unit(c, "U-2", "Team 2", "D", 4, None)),
        "negative-officers": (audit.REGISTER, lambda c: reg.set_unit(c, "U-1", officers=-3)),
        "same-state": (
            audit.REGISTER, lambda c: reg.set_state(c, DEVICE, "in-service", None, "clerk", now)
        ),
        "due-past": (
            audit.CHECKOUT, lambda c: reg.checkout(c, DEVICE, "P-0001", now, "clerk", now)
        ),
        "repair-while-out": (
            audit.REGISTER, lambda c: reg.set_state(c, DEVICE, "in-repair", None, "clerk", now)
        ),
    }  # fmt: skip
    if what == "repair-while-out":
        checkout(w.desk, "P-0001")
    action, run = runs[what]
    error = Refused if what == "repair-while-out" else Unusable
    _refused(w.ev, w.desk, action, DEVICE, run, error)


def test_an_officer_may_not_check_devices_out(tmp_path):  # R-HOST-8: roles
    w = made(tmp_path, [])
    officer = desk(w.ev, w.clock, "wang")
    with pytest.raises(Refused):
        with officer.act(audit.CHECKOUT, DEVICE) as act:
            registers.checkout(act.cur, DEVICE, "P-0427", w.clock() + HOUR, "wang", w.clock())
    with w.ev.read() as cur:
        assert registers.open_checkout(cur, DEVICE) is None


def test_the_register_keeps_the_enrolled_key_and_the_maintenance_log(tmp_path):  # R-HOST-8
    w = made(tmp_path, [])
    w.clock.ms += HOUR
    with w.desk.act(audit.REGISTER, DEVICE, change="maintain") as act:
        registers.maintain(act.cur, DEVICE, "battery replaced", "clerk", w.clock())
    with w.ev.read() as cur:
        dev = registers.device(cur, DEVICE)
        log = registers.history(cur, DEVICE)
    assert dev.state == "in-service" and len(dev.public_key) == 64
    assert [(e.kind, e.note) for e in log] == [
        ("register", None),
        ("maintenance", "battery replaced"),
    ]
