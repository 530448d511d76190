"""Evidence stores for the register tests (R-HOST-8, R-HOST-9, R-HOST-10): one enrolled
device whose real recorder (the firmware's state machine on a virtual clock) made short
recordings, each under a given officer id at a given time, stored as a dock leaves them,
with accounts to act as and a clock the test moves by hand."""

from firmware.recorder import STORE
from host import items, people, registers
from host.access import Desk
from protocol.signer import make_signer
from simulator.shift import GOOD_CHECKS, ShiftScript
from tests.host.helpers import evidence, with_accounts
from tests.protocol.helpers import DEVICE, SEED_A, T0

PASSWORD = "correct horse battery"
HOUR = 3_600_000
MINUTE = 60_000
ACCOUNTS = (
    ("clerk", (people.CLERK,), None),
    ("boss", (people.ADMINISTRATOR,), None),
    ("legal", (people.LEGAL,), None),
    ("wang", (people.OFFICER,), "P-0427"),
)


class Clock:
    """Milliseconds that move only when a test moves them."""

    def __init__(self, ms: int = T0 - 2 * HOUR) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def store(path, shots, docked_ms=T0 + 12 * HOUR, accounts=ACCOUNTS):
    """An evidence store holding one recording per ``(officer id, minutes after T0)`` of
    ``shots`` (in time order), all docked at ``docked_ms``; returns it and the recordings'
    item ids in that order."""
    first = shots[0][0] if shots else ""
    s = ShiftScript(make_signer(SEED_A), DEVICE, first, T0)
    s.entries += [a[1] for a in s.recorder.power_on(s.wall, s.mono, GOOD_CHECKS) if a[0] == STORE]
    for officer, minutes in shots:
        s.wait(T0 + minutes * MINUTE - s.wall)
        if officer != s.recorder.officer_id:
            # The agency's config names the officer now wearing the recorder.
            s.do("host_config", {"officer_id": officer}, "agency-host")
        s.do("press_record")
        s.do("announce_done")
        s.film(1, 5, "%s at %d" % (officer, minutes))
        s.do("press_stop")
    ev = evidence(path)
    ev.add_entries(DEVICE, s.entries, docked_ms)
    with_accounts(ev, accounts, PASSWORD)
    with ev.read() as cur:
        recs = sorted(
            (it for it in items.find(cur) if it.kind == items.RECORDING), key=lambda it: it.rec
        )
    assert len(recs) == len(shots)
    return ev, [it.item_id for it in recs]


def desk(ev, clock, name="clerk") -> Desk:
    return Desk.login(ev, name, PASSWORD, now=clock)


def unit_and_officers(cur, officers=("P-0427", "P-0001", "P-0002"), unit="U-1", klass="A"):
    """A unit of ``klass`` with ``officers`` as its members (and its front-line count)."""
    registers.add_unit(cur, unit, "Patrol team 1", klass, len(officers), None)
    for officer in officers:
        registers.set_member(cur, officer, unit)
