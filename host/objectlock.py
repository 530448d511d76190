"""How long the object store must lock each media object, and the calls that get it there.

The scale-out store's media are objects locked in COMPLIANCE mode (``host.s3media``): until
its retain-until date nobody holding the S3 keys, this host included, can delete the version
or shorten the lock. The date comes from retention (R-HOST-3, ``host.retention``): each item
that uses an object says how long it must be kept (``Keep``), an object shared by several
items (the same initialisation segment, the same silence) is kept for the longest of them
(``combine``), and a legal hold in force on any of them puts the object's S3 legal hold ON;
when the last is released it goes OFF. A lock only ever grows: ``plan`` never asks for a
shorter date (the store would refuse it anyway), so a retention that shrinks later (a
policy made shorter, a category taken off) leaves the object locked as long as it was, and
deletion waits for that lock (``removable``).

Retention's rules give a date, "while a case is open" or "forever" (``host.retention.rules``).
An object lock needs a date, so:

- a dated rule gives its date;
- "while a case is open": the case is open now, and closing it keeps the item at least the
  period after closing, so ``now + that period`` is a date the item is surely kept to. It
  moves on with time, and no change to retention extends it: the daily upkeep
  (``host.medialocks.keep_up``, ``sealcam retention keep-up``) plans it as of a margin
  ahead, extends it once it would fall short within the margin (``need_ms``), a step
  further (``until_ms``), so a run does not call the store for every such object every
  day;
- "forever": ``FOREVER_YEARS`` after the recording (as long as the store itself is meant
  to last; an agency that keeps the store longer extends it by running this again).

Dates are asked in whole seconds, rounded up (``whole_s``): the store keeps no more. No
date is ever later than ``LATEST_MS`` (2106-01-01): Ceph's gateway (16.2, measured) keeps a
retain-until as 32-bit seconds since 1970, so a date past 2106-02-07 wraps round to one in
the past and leaves the object unlocked. A "forever" that reaches past it is set to it.

This module is the rules of it, sans-I/O: what an object's lock should be from its items'
retention, and from what the object has now the S3 calls to make. ``host.medialocks``
reads the facts and makes the calls.
"""

from collections.abc import Iterable
from typing import NamedTuple

from host import retention

DAY_MS = retention.DAY_MS
LOCKED = "object-locked"  # why retention's deletion waits (host.errors.Refused.reason)
LATEST_MS = 4_291_747_200_000  # 2106-01-01 UTC: see the module's docstring
FOREVER_YEARS = retention.MAX_YEARS
STEP_DAYS = 30  # a lock that moves with time is extended this far ahead of its need


class Keep(NamedTuple):
    """What retention wants of one item's media (or one object's, combined): locked at
    least until ``need_ms``; when it is not, lock it until ``until_ms`` (>= ``need_ms``);
    ``held``: a legal hold is in force."""

    need_ms: int
    until_ms: int
    held: bool = False


class Lock(NamedTuple):
    """An object's lock as the store has it: its retain-until (None: none) and legal hold."""

    until_ms: "int | None"
    held: bool = False


class Extend(NamedTuple):
    """Set the object version's COMPLIANCE retain-until to ``until_ms`` (a later date)."""

    digest: bytes
    version: str
    until_ms: int


class Hold(NamedTuple):
    """Put the object version's legal hold ON (``on``) or OFF."""

    digest: bytes
    version: str
    on: bool


def whole_s(ms: int) -> int:
    """``ms`` rounded up to a whole second (never past ``LATEST_MS``): the object store keeps
    a retain-until in whole seconds, so a date asked with milliseconds reads back earlier
    than asked, short of its own plan by a fraction of a second."""
    return min(-(-ms // 1000) * 1000, LATEST_MS)


def keep_of(facts: retention.Facts, policy: retention.Policy, now_ms: int) -> Keep:
    """What an item's retention wants of its media's lock at ``now_ms``: every rule that
    applies to it (``retention.rules``) counts, the longest wins; see the module's
    docstring for the rules without a date."""
    need = 0
    until = 0
    for rule in retention.rules(facts, policy):
        if rule.level == retention.DATED:
            need = max(need, rule.until_ms)
            until = max(until, rule.until_ms)
        elif rule.level == retention.WHILE_OPEN:
            floor = retention.add_years(now_ms, policy.closed_years())
            need = max(need, floor)
            until = max(until, floor + STEP_DAYS * DAY_MS)
        else:
            forever = retention.add_years(facts.recorded_ms, FOREVER_YEARS)
            need = max(need, forever)
            until = max(until, forever)
    need = min(need, LATEST_MS)
    return Keep(need, min(max(need, until), LATEST_MS), facts.held)


def combine(keeps: Iterable[Keep]) -> "Keep | None":
    """One object's want from the items that use it: the longest, held if any is held;
    None when no item uses it (then its lock is left as it is)."""
    out = None
    for k in keeps:
        if out is None:
            out = k
        else:
            out = Keep(max(out.need_ms, k.need_ms), max(out.until_ms, k.until_ms),
                       out.held or k.held)  # fmt: skip
    return out


def plan(digest: bytes, version: str, want: Keep, have: Lock) -> "list[Extend | Hold]":
    """The S3 calls that take one object version from ``have`` to ``want``, in order: the
    date first, then the hold, so an object whose hold is released is never, between the
    two calls, held by neither. Never a shorter date; nothing when it is as it should be."""
    calls: list[Extend | Hold] = []
    if have.until_ms is None or have.until_ms < want.need_ms:
        until = whole_s(max(want.until_ms, want.need_ms))
        if have.until_ms is None or until > have.until_ms:
            calls.append(Extend(digest, version, until))
    if want.held != have.held:
        calls.append(Hold(digest, version, want.held))
    return calls


def after(have: Lock, calls: "Iterable[Extend | Hold]") -> Lock:
    """The lock an object has once ``calls`` are made."""
    until, held = have.until_ms, have.held
    for call in calls:
        if isinstance(call, Extend):
            until = call.until_ms if until is None else max(until, call.until_ms)
        else:
            held = call.on
    return Lock(until, held)


def removable(have: Lock, now_ms: int) -> bool:
    """Whether the object store lets a version with this lock be deleted at ``now_ms``: no
    legal hold, and its retain-until passed. The store decides in the end (its clock, not
    this host's); a refusal then is reported, and the deletion waits for a later run."""
    return not have.held and (have.until_ms is None or have.until_ms <= now_ms)


def new_object_until(recorded_ms: int, policy: retention.Policy) -> int:
    """The retain-until an object gets when it is first stored: the shortest period the
    agency's policy gives any recording, from when it was recorded (its category and cases
    are not known at the dock, and a lock cannot be shortened after). The item's own class
    is applied after (``plan``): with no shorter category period, that is this date."""
    until = retention.add_years(recorded_ms, max(policy.shortest_years(), retention.MIN_YEARS))
    return whole_s(until)
