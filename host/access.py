"""Who may do what to the evidence, and the record that they did: the one way in.

Every command that reads or changes evidence goes through a ``Desk``: a user logged in to
one store. ``Desk.login`` checks the password (``host.people``) and records the login, or the
failed attempt, in the audit trail. ``Desk.act(action, item)`` is then the only door to the
store's tables: it checks, in this order,

1. the user's roles allow ``action`` at all (``host.people.ROLE_ACTIONS``);
2. an officer reaches only recordings that bear their own officer id;
3. restricted footage (``host.restricted``) leaves only under an approval in force;

and on a refusal commits a ``refused`` audit record (why, in ``details``) and raises
``Refused`` (``host.errors``), so an attempt is on record even though nothing changed. The
action itself may refuse too (a hold forbids the deletion, the case does not exist): it
raises ``Refused`` or ``Unusable``, what it changed so far is undone, and the attempt is
recorded all the same. When every check
passes it opens one write transaction, gives the caller its cursor to make the change, and
appends the ``done`` audit record in that same transaction: the change and its record land
together or not at all. After the commit the store signs a checkpoint of its log with the
host key the agency set (``host.settings.HOST_KEY``), so the new record is covered by a
signature at once, not only at the next sync.
"""

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from host import (
    audit,
    cases,
    i18n,
    items,
    people,
    registers,
    restricted,
    retention,
    settings,
    shiftevents,
    sqlstore,
)
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host import hostlog
    from host.sqlstore import Cursor


class Store(Protocol):
    """What a desk needs of an evidence store: ``host.evidence.SqliteEvidenceStore``, or
    ``host.pgstore.PgEvidenceStore`` (its cursors take the same SQL: ``host.sqlstore``)."""

    @property
    def log(self) -> audit.Log: ...

    def write(self) -> "contextlib.AbstractContextManager[Cursor]": ...

    def read(self) -> "contextlib.AbstractContextManager[Cursor]": ...

    def add_tables(self, schema: str) -> None: ...

    def checkpoint(self, signer: "hostlog.tlog.NoteSigner", kid: str) -> object: ...


SCHEMAS = (
    settings.SCHEMA,
    people.SCHEMA,
    audit.SCHEMA,
    items.SCHEMA,
    restricted.SCHEMA,
    cases.SCHEMA,
    registers.SCHEMA,
    shiftevents.SCHEMA,
)


def wall_ms() -> int:
    return int(time.time() * 1000)


__all__ = ["Act", "Desk", "Refused", "Store", "prepare"]

# Why an action was refused: the ``reason`` of a refused audit record, and of ``Refused``.
NOT_ALLOWED = "role-not-allowed"
NOT_OWN = "not-own-recording"
RESTRICTED = "restricted"


@dataclass
class Act:
    """An action under way: the cursor of its transaction, and the details its audit record
    will carry (the caller adds what it changed: old and new values, counts)."""

    cur: "Cursor"
    details: dict = field(default_factory=dict)
    item: "str | None" = None


# Every table and index the schemas make: ``prepare`` runs them only when one is missing
# (a new store, or a release that added one), so a login costs one lookup, not six scripts.
MADE = tuple(
    sorted(set(re.findall(r"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF NOT EXISTS\s+(\w+)",
                          "".join(SCHEMAS))))
)  # fmt: skip


def prepare(store: Store) -> None:
    """Make the evidence-management tables in ``store`` where any is missing; one read of
    the schema when they are all there."""
    with store.read() as cur:
        have = sqlstore.existing(cur, MADE)
    if len(have) == len(MADE):
        return
    for schema in SCHEMAS:
        store.add_tables(schema)


class Desk:
    """One user, logged in to one store; see the module's docstring."""

    def __init__(
        self,
        store: Store,
        user: people.User,
        now: "Callable[[], int]" = wall_ms,
        sign: "Callable[[Store], None] | None" = None,
    ) -> None:
        self.store = store
        self.user = user
        self.now = now
        self._sign = sign

    @classmethod
    def login(
        cls,
        store: Store,
        name: str,
        password: str,
        now: "Callable[[], int]" = wall_ms,
        sign: "Callable[[Store], None] | None" = None,
    ) -> "Desk":
        """Log ``name`` in; Refused (after recording the failed attempt) when the name is
        unknown, the password wrong, or the account locked or disabled."""
        prepare(store)
        at = now()
        refusal: people.LoginRefused | None = None
        with store.write() as cur:
            try:
                user = people.authenticate(cur, name, password, at)
            except people.LoginRefused as exc:
                refusal = exc
                details: dict = {"reason": exc.reason}
                if exc.until_ms:
                    details["until_ms"] = exc.until_ms
                audit.record(
                    cur, store.log, name, audit.LOGIN_FAILED, at, name, audit.REFUSED, details
                )
            else:
                audit.record(cur, store.log, name, audit.LOGIN, at, name)
        if sign is not None:
            sign(store)
        if refusal is not None:
            raise Refused(login_message(refusal), refusal.reason)
        return cls(store, user, now, sign)

    @contextlib.contextmanager
    def act(self, action: str, item: "str | None" = None, **details: object) -> Iterator[Act]:
        """Check ``action`` on ``item`` and, allowed, run it in one transaction with its
        audit record (see the module's docstring). ``details`` start the record's details."""
        refusal: Exception | None = None
        with self.store.write() as cur:
            problem = self._problem(cur, action, item)
            if problem is None:
                act = Act(cur, dict(details), item)
                # A refusal the action itself finds (a hold, no such case) undoes what it
                # did so far but keeps the attempt on record, in this same transaction.
                cur.execute("SAVEPOINT act")
                try:
                    yield act
                except (Refused, Unusable) as exc:
                    cur.execute("ROLLBACK TO act")
                    refusal = exc
                    reason = exc.reason if isinstance(exc, Refused) else "unusable"
                    # What the action had noted (the approval, the file) stays on record.
                    details = {**act.details, "reason": reason, "message": str(exc)}
                    record = (item, audit.REFUSED, details)
                else:
                    # What the action changed may change a recording's retention: the plan
                    # reads its index without writing, so it is brought up to date here.
                    retention.keep_up(cur)
                    record = (act.item, audit.DONE, act.details)
                cur.execute("RELEASE act")
            else:
                reason, message, extra = problem
                refusal = Refused(message, reason)
                record = (item, audit.REFUSED, {"reason": reason, **extra})
            audit.record(cur, self.store.log, self.user.name, action, self.now(), *record)
        if self._sign is not None:
            self._sign(self.store)
        after = getattr(self.store, "after_act", None)
        if refusal is None and after is not None:
            after(action, self.now())  # a scale-out store's object locks follow retention
        if refusal is not None:
            raise refusal  # the refused record is committed: the attempt is on record

    def refusal(self, action: str, item: "str | None" = None) -> "Refused | None":
        """The refusal ``act(action, item)`` would give now, without acting or recording
        anything: for long work (an export) that must neither start nor hold the store's
        write lock while it runs unless it may go ahead; ``act`` records it afterwards."""
        with self.store.read() as cur:
            problem = self._problem(cur, action, item)
        return None if problem is None else Refused(problem[1], problem[0])

    def _problem(self, cur: "Cursor", action: str, item: "str | None") -> "tuple | None":
        """Why ``action`` on ``item`` is refused for this user, or None: (reason, message,
        details for the audit record)."""
        if not self.user.may(action):
            message = i18n.text(
                "access.not_allowed",
                name=self.user.name,
                action=action,
                roles=i18n.text("access.or").join(roles_allowing(action)) or "-",
            )
            return (NOT_ALLOWED, message, {})
        if item is None:
            return None
        if self.user.officer_only and _is_item(item):
            row = cur.execute("SELECT officer FROM items WHERE item_id = ?", (item,)).fetchone()
            if row is not None and row[0] != self.user.officer_id:
                return (
                    NOT_OWN,
                    i18n.text("access.not_own", item=item, officer=self.user.officer_id),
                    {},
                )
        needed = restricted.refusal(cur, self.user.name, action, item, self.now())
        if needed is not None:
            return (RESTRICTED, needed, {})
        return None

    @contextlib.contextmanager
    def look(self) -> Iterator["Cursor"]:
        """A cursor on one snapshot, for reading without an audit record (what a person
        then sees is recorded with ``act(audit.VIEW, ...)``)."""
        with self.store.read() as cur:
            yield cur


def _is_item(text: str) -> bool:
    try:
        items.parse_id(text)
    except items.ItemError:
        return False
    return True


def roles_allowing(action: str) -> "list[str]":
    return [role for role in people.ROLES if action in people.ROLE_ACTIONS[role]]


def login_message(exc: people.LoginRefused) -> str:
    if exc.reason == people.LOCKED:
        from host import localtime

        return i18n.text("access.locked", name=exc.name, until=localtime.show(exc.until_ms))
    if exc.reason == people.DISABLED:
        return i18n.text("access.disabled", name=exc.name)
    # An unknown name and a wrong password read the same, so names cannot be probed.
    return i18n.text("access.wrong_password", name=exc.name)
