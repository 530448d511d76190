"""The checkout state machine (R-HOST-8): any sequence of checkouts, returns, handovers,
losses and finds leaves at most one holder of a device at a time, refuses exactly what a
simple model refuses (changing nothing when it does), and answers "who held it then?" for
every past moment as the model does."""
# micropython: skip (the host's evidence-management rules)

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from host import registers
from host.errors import Refused, Unusable

DEVICES = ("SC-1", "SC-2")
OFFICERS = ("P-1", "P-2", "P-3")
STRANGER = "P-9"  # in no unit
DUE = 10 * 24 * 3_600_000  # far after every step: lateness is another test's


def register_db():
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE devices (device_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, "
        "enrolled_ms INTEGER NOT NULL);" + registers.SCHEMA
    )
    cur = db.cursor()
    registers.add_unit(cur, "U-1", "Patrol", "A", len(OFFICERS), None)
    for officer in OFFICERS:
        registers.set_member(cur, officer, "U-1")
    for device in DEVICES:
        cur.execute("INSERT INTO devices VALUES (?, ?, 0)", (device, bytes(32)))
        registers.register(cur, device, "DSJ", device, "U-1", "keeper", "clerk", 0)
    return cur


anyone = st.sampled_from((*OFFICERS, STRANGER))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("checkout"), st.sampled_from(DEVICES), anyone),
        st.tuples(st.just("return"), st.sampled_from(DEVICES), st.none() | anyone),
        st.tuples(st.just("handover"), st.sampled_from(DEVICES), anyone, anyone),
        st.tuples(st.just("lose"), st.sampled_from(DEVICES)),
        st.tuples(st.just("find"), st.sampled_from(DEVICES)),
    ),
    max_size=30,
)


def expected(step, holder, lost):
    """What the model says of ``step`` given the device's holder and whether it is lost:
    ("ok", new holder) or ("refused" | "unusable", the holder unchanged)."""
    kind = step[0]
    if kind == "checkout":
        officer = step[2]
        if lost:
            return "refused", holder
        if officer == STRANGER:
            return "unusable", holder
        if holder is not None:
            return "refused", holder
        return "ok", officer
    if kind == "return":
        if holder is None or (step[2] is not None and step[2] != holder):
            return "refused", holder
        return "ok", None
    if kind == "handover":
        giver, receiver = step[2], step[3]
        if holder is None or giver != holder or lost:
            return "refused", holder
        if receiver == STRANGER or receiver == giver:
            return "unusable", holder
        return "ok", receiver
    if kind == "lose":
        return ("unusable", holder) if lost else ("ok", holder)
    return ("ok", holder) if lost else ("unusable", holder)  # find


def run(cur, step, now):
    kind, device = step[0], step[1]
    if kind == "checkout":
        registers.checkout(cur, device, step[2], now + DUE, "clerk", now)
    elif kind == "return":
        registers.give_back(cur, device, "clerk", now, step[2])
    elif kind == "handover":
        registers.handover(cur, device, step[2], step[3], "clerk", now)
    elif kind == "lose":
        registers.set_state(cur, device, registers.LOST, None, "clerk", now)
    else:
        registers.set_state(cur, device, registers.IN_SERVICE, "found", "clerk", now)


def dump(cur):
    return [
        cur.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
        for t in ("device_register", "device_log", "checkouts")
    ]


@settings(max_examples=60, deadline=None)
@given(steps)
def test_the_register_answers_as_the_model_does(script):  # R-HOST-8
    cur = register_db()
    holder = dict.fromkeys(DEVICES)
    lost = dict.fromkeys(DEVICES, False)
    seen = []  # (time, device, holder then)
    now = 1000
    for step in script:
        now += 60_000
        device = step[1]
        want, after = expected(step, holder[device], lost[device])
        before = dump(cur)
        try:
            run(cur, step, now)
            got = "ok"
        except Refused:
            got = "refused"
        except Unusable:
            got = "unusable"
        assert got == want, (step, holder, lost)
        if got != "ok":
            assert dump(cur) == before, step  # nothing changed
        holder[device] = after
        if step[0] in ("lose", "find") and got == "ok":
            lost[device] = step[0] == "lose"
        for d in DEVICES:
            # At most one holding open, and it is the model's holder.
            count = cur.execute(
                "SELECT count(*) FROM checkouts WHERE device_id = ? AND returned_ms IS NULL",
                (d,),
            ).fetchone()[0]
            assert count == (holder[d] is not None)
            out = registers.open_checkout(cur, d)
            assert (out.officer_id if out else None) == holder[d]
            seen.append((now, d, holder[d]))
    for at, d, who in seen:
        held = registers.holder_at(cur, d, at)
        assert (held.officer_id if held else None) == who, (at, d)
