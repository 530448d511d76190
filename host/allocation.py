"""Allocation (配备, R-HOST-9): each unit against the rule of its class, counting only the
recorders in service.

000 §6 sets how many recorders a unit must have by its class: class A at least one per two
front-line officers, class B one per three, class C at least two. A recorder in repair,
lost or retired is not one an officer can wear, so only those in service count; the others
are shown beside them, so a reader sees why a unit falls short. The units, their classes
and officer counts, and the devices are the register's (``host.registers``); the rule here
is a function of numbers, tested without a store.

The regulation counts per unit: each unit is judged on its own officers and recorders. A
unit with sub-units (a bureau over its stations) also gets a roll-up beside its own line:
its officers and recorders with those of every unit under it, against the sum of what each
of those units must have by its own class, and which of them fall short.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host import registers

if TYPE_CHECKING:
    from host.sqlstore import Cursor

RULE = "R-HOST-9"
# Class -> (officers per recorder, the least any unit of the class must have).
RATIOS = {"A": (2, 0), "B": (3, 0), "C": (0, 2)}


def required(klass: str, officers: int) -> int:
    """How many recorders in service a unit of ``klass`` with ``officers`` front-line
    officers must have: A one per two officers, B one per three (a part counts as a
    whole: 5 officers in class A need 3), C at least two."""
    per, least = RATIOS[klass]
    need = -(-officers // per) if per else 0
    return max(need, least)


@dataclass(frozen=True)
class Rollup:
    """A unit with every unit under it: the officers and recorders of all of them, what
    they must have (each unit's requirement by its own class, summed) and the units among
    them that fall short of their own rule."""

    units: "tuple[str, ...]"  # the unit itself first, then those under it
    officers: int
    required: int
    in_service: int
    short_units: "tuple[str, ...]"

    @property
    def met(self) -> bool:
        return not self.short_units

    def to_dict(self) -> dict:
        return {
            "units": list(self.units),
            "officers": self.officers,
            "required": self.required,
            "in_service": self.in_service,
            "short_units": list(self.short_units),
            "met": self.met,
        }


@dataclass(frozen=True)
class UnitAllocation:
    """One unit against its rule: the recorders it must have, those in service, and the
    rest of its register by state."""

    unit_id: str
    name: str
    klass: str
    officers: int
    required: int
    in_service: int
    other: "dict[str, int]" = field(default_factory=dict)  # state -> devices
    parent: "str | None" = None
    rollup: "Rollup | None" = None  # with its sub-units; None for a unit without any

    @property
    def met(self) -> bool:
        return self.in_service >= self.required

    @property
    def short(self) -> int:
        return max(0, self.required - self.in_service)

    def to_dict(self) -> dict:
        return {
            "unit_id": self.unit_id,
            "name": self.name,
            "class": self.klass,
            "officers": self.officers,
            "required": self.required,
            "in_service": self.in_service,
            "other": dict(self.other),
            "met": self.met,
            "short": self.short,
            "rule": RULE,
            "parent": self.parent,
            "rollup": None if self.rollup is None else self.rollup.to_dict(),
        }


def judge(unit: registers.Unit, states: "dict[str, int]") -> UnitAllocation:
    """``unit`` against its rule, given how many of its devices are in each state."""
    return UnitAllocation(
        unit.unit_id,
        unit.name,
        unit.klass,
        unit.officers,
        required(unit.klass, unit.officers),
        states.get(registers.IN_SERVICE, 0),
        {s: n for s, n in sorted(states.items()) if s != registers.IN_SERVICE and n},
        unit.parent,
    )


def rolled_up(judged: "list[UnitAllocation]") -> "list[UnitAllocation]":
    """``judged`` with a roll-up for each unit that has units under it (see the module's
    docstring); order kept."""
    children: dict[str, list[str]] = {}
    for u in judged:
        if u.parent is not None:
            children.setdefault(u.parent, []).append(u.unit_id)
    by_id = {u.unit_id: u for u in judged}
    out = []
    for u in judged:
        if u.unit_id not in children:
            out.append(u)
            continue
        under: list[str] = [u.unit_id]
        todo = sorted(children[u.unit_id])
        while todo:  # the register refuses cycles; a unit met twice is still counted once
            at = todo.pop(0)
            if at in under or at not in by_id:
                continue
            under.append(at)
            todo.extend(sorted(children.get(at, [])))
        members = [by_id[x] for x in under]
        rollup = Rollup(
            tuple(under),
            sum(m.officers for m in members),
            sum(m.required for m in members),
            sum(m.in_service for m in members),
            tuple(m.unit_id for m in members if not m.met),
        )
        out.append(UnitAllocation(**{**u.__dict__, "rollup": rollup}))
    return out


def allocation(cur: "Cursor") -> "list[UnitAllocation]":
    """Every unit against its rule, by unit id, as the register stands now; a unit with
    sub-units with its roll-up (``rolled_up``)."""
    counts: dict[str, dict[str, int]] = {}
    for unit_id, state, n in cur.execute(
        "SELECT unit_id, state, count(*) FROM device_register GROUP BY unit_id, state"
    ).fetchall():
        counts.setdefault(unit_id, {})[state] = int(n)
    return rolled_up([judge(u, counts.get(u.unit_id, {})) for u in registers.units(cur)])
