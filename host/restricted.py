"""Restricted footage: what holds state secrets, trade secrets or private matters (R-HOST-6).

Such an item is marked once (``restrictions``: which kind, by whom, when, why), and the mark
can be lifted again; both are ``restrict`` actions in the audit trail. From then on watching
it, or letting it leave the store in any way (an export, a showing, a loan, a publication),
needs an approval an approver recorded. A derivative (an export, a clip: ``host.items``) is
restricted when its original is, and an approval for the original covers it.

An approval starts as a request (``request``: who asks, for which action, for what purpose,
until when). An approver then grants it (``grant``: who, when, possibly for a shorter time)
or refuses it (``refuse``, with a reason); a granted approval can be revoked before it ends
(``revoke``). Nobody approves their own request: the rule is the four-eyes one the
regulations ask of a secret's release. One table holds all of it (``approvals``); a row's
state follows from which of its columns are set (``Approval.state``).

``refusal`` is the check ``host.access`` makes before every action on an item: None when the
action may go ahead, else the one line to refuse it with, naming whose approval is needed
(the role, and the approvers the store has). Looking at an item's particulars (``view``) is
not gated: evidence staff must be able to see that an item exists and is restricted in order
to ask for the approval.

Every refused attempt at a gated action on restricted footage is an audit record already
(``host.access`` writes it); ``leak_attempts`` reads them back as the possible leaking an
oversight report must surface (R-HOST-10).

Times come from the caller (``now_ms``, UTC milliseconds): no wall clock here, so the rules
are tested without waiting. The domain's rule refusals are ``Refused`` (exit 1), requests it
cannot use ``Unusable`` (exit 2); their messages come from the catalogue (``host.i18n``).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from host import audit, i18n, items, people
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host.sqlstore import Cursor

STATE_SECRET = "state-secret"
TRADE_SECRET = "trade-secret"
PRIVATE = "private"
KINDS = (STATE_SECRET, TRADE_SECRET, PRIVATE)

# How a person reads each kind (catalogue ids).
KIND_TEXT = {
    STATE_SECRET: i18n.N_("restrict.kind_state_secret"),
    TRADE_SECRET: i18n.N_("restrict.kind_trade_secret"),
    PRIVATE: i18n.N_("restrict.kind_private"),
}

# What needs an approval once an item is restricted.
GATED = (audit.PLAY, audit.EXPORT, audit.SHARE, audit.LEND, audit.PUBLISH)

# Why host.access refuses a gated action on restricted footage (the refused record's reason).
RESTRICTED = "restricted"

# An approval's states.
PENDING = "pending"
APPROVED = "approved"  # granted, and in force at the time asked about
ENDED = "ended"  # granted, and its time is over
REFUSED = "refused"
REVOKED = "revoked"
STATES = (PENDING, APPROVED, ENDED, REFUSED, REVOKED)

# How a person reads them (catalogue ids).
STATE_TEXT = {
    PENDING: i18n.N_("approval.state_pending"),
    APPROVED: i18n.N_("approval.state_approved"),
    ENDED: i18n.N_("approval.state_ended"),
    REFUSED: i18n.N_("approval.state_refused"),
    REVOKED: i18n.N_("approval.state_revoked"),
}
ACTION_TEXT = {
    audit.PLAY: i18n.N_("approval.action_play"),
    audit.EXPORT: i18n.N_("approval.action_export"),
    audit.SHARE: i18n.N_("approval.action_share"),
    audit.LEND: i18n.N_("approval.action_lend"),
    audit.PUBLISH: i18n.N_("approval.action_publish"),
}

# Why the approval rules refuse a step (Refused.reason, and the refused record's reason).
OWN_REQUEST = "own-request"
NOT_PENDING = "not-pending"
NOT_IN_FORCE = "not-in-force"
LAPSED = "request-lapsed"

SCHEMA = """
-- Restricted items (host.restricted): one row per item, the kind of secret it holds.
CREATE TABLE IF NOT EXISTS restrictions (
    item_id    TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    marked_by  TEXT NOT NULL,
    marked_ms  INTEGER NOT NULL,
    reason     TEXT NOT NULL
);
-- Approvals for one user to take one action on one restricted item, within a time window:
-- asked for (requested_*), then granted (approved_*) or refused (refused_*); a granted one
-- may be revoked (revoked_*). A row without requested_ms was granted without a request.
CREATE TABLE IF NOT EXISTS approvals (
    id            INTEGER PRIMARY KEY,
    item_id       TEXT NOT NULL,
    action        TEXT NOT NULL,
    for_user      TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    approved_by   TEXT,
    approved_ms   INTEGER,
    until_ms      INTEGER NOT NULL,
    revoked_ms    INTEGER,
    requested_ms  INTEGER,
    refused_by    TEXT,
    refused_ms    INTEGER,
    revoked_by    TEXT,
    decision_note TEXT
);
CREATE INDEX IF NOT EXISTS approvals_item ON approvals (item_id, for_user, action);
"""

_COLUMNS = (
    "id, item_id, action, for_user, purpose, approved_by, approved_ms, until_ms, revoked_ms, "
    "requested_ms, refused_by, refused_ms, revoked_by, decision_note"
)


@dataclass(frozen=True)
class Approval:
    """One request for an approval, and what became of it."""

    id: int
    item_id: str
    action: str
    for_user: str
    purpose: str
    approved_by: "str | None"
    approved_ms: "int | None"
    until_ms: int
    revoked_ms: "int | None"
    requested_ms: "int | None"
    refused_by: "str | None"
    refused_ms: "int | None"
    revoked_by: "str | None"
    decision_note: "str | None"

    def state(self, now_ms: int) -> str:
        """PENDING, APPROVED (in force at ``now_ms``), ENDED, REFUSED or REVOKED."""
        if self.refused_ms is not None:
            return REFUSED
        if self.revoked_ms is not None:
            return REVOKED
        if self.approved_ms is None:
            return PENDING
        return APPROVED if self.approved_ms <= now_ms < self.until_ms else ENDED

    def to_dict(self, now_ms: int) -> dict:
        """For ``--json``: every time in UTC milliseconds, and the state at ``now_ms``."""
        d = dict(self.__dict__)
        d["state"] = self.state(now_ms)
        return d


class ApprovalError(Unusable):
    """A request the approval rules cannot use (no such approval, an action that needs
    none, an end already past); the message says what to give."""


def kind_text(kind: str) -> str:
    """A kind of secret as a person reads it."""
    return i18n.text(KIND_TEXT[kind]) if kind in KIND_TEXT else kind


def restriction(cur: "Cursor", item_id: str) -> "tuple | None":
    """``(kind, marked_by, marked_ms, reason)`` when ``item_id`` is restricted (a derivative
    is restricted when its original is), else None."""
    base = item_id.split("~", 1)[0]
    row = cur.execute(
        "SELECT kind, marked_by, marked_ms, reason FROM restrictions WHERE item_id IN (?, ?) "
        "ORDER BY item_id LIMIT 1",
        (base, item_id),
    ).fetchone()
    return tuple(row) if row else None


def _own_mark(cur: "Cursor", item_id: str) -> "tuple | None":
    """(kind, reason) of the mark on ``item_id`` itself (not through its original)."""
    return cur.execute(
        "SELECT kind, reason FROM restrictions WHERE item_id = ?", (item_id,)
    ).fetchone()


def mark(cur: "Cursor", item_id: str, kind: str, reason: str, by: str, now_ms: int) -> dict:
    """Mark ``item_id`` as holding ``kind`` (marking it again changes the kind and reason);
    returns the details for the ``restrict`` audit record (the old kind and reason too)."""
    if kind not in KINDS:
        raise ApprovalError(i18n.text("restrict.bad_kind", kind=kind, kinds=", ".join(KINDS)))
    if not reason.strip():
        raise ApprovalError(i18n.text("restrict.no_reason"))
    items.get(cur, item_id)
    old = _own_mark(cur, item_id)
    cur.execute(
        "INSERT INTO restrictions VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET "
        "kind = excluded.kind, marked_by = excluded.marked_by, marked_ms = excluded.marked_ms, "
        "reason = excluded.reason",
        (item_id, kind, by, now_ms, reason),
    )
    details: dict = {"kind": kind, "reason": reason}
    if old is not None:
        details.update(old_kind=old[0], old_reason=old[1])
    return details


def lift(cur: "Cursor", item_id: str, reason: str) -> dict:
    """Lift the restriction of ``item_id``; returns the details for the ``restrict`` audit
    record (``lifted``, the kind it had, why it is lifted). An item restricted only through
    its original is not lifted here: its original is."""
    if not reason.strip():
        raise ApprovalError(i18n.text("restrict.no_reason"))
    items.get(cur, item_id)
    row = _own_mark(cur, item_id)
    if row is None:
        held = restriction(cur, item_id)
        if held is not None:
            origin = item_id.split("~", 1)[0]
            raise ApprovalError(i18n.text("restrict.lift_origin", item=item_id, origin=origin))
        raise ApprovalError(i18n.text("restrict.not_restricted", item=item_id))
    cur.execute("DELETE FROM restrictions WHERE item_id = ?", (item_id,))
    return {"lifted": True, "kind": row[0], "marked_reason": row[1], "reason": reason}


def approvers(cur: "Cursor") -> "list[str]":
    """The names of the accounts that may grant an approval (and are not disabled)."""
    roles = set(approver_roles())
    return [u["name"] for u in people.users(cur) if not u["disabled"] and roles & set(u["roles"])]


def approver_roles() -> "list[str]":
    return [role for role in people.ROLES if audit.APPROVE in people.ROLE_ACTIONS[role]]


def _row(row: tuple) -> Approval:
    return Approval(*row)


def _approvals(cur: "Cursor", where: "list[str]", params: list) -> "list[Approval]":
    """The approvals meeting every condition in ``where``, newest first: the one query
    ``get`` and ``listing`` both read through."""
    sql = "SELECT %s FROM approvals" % _COLUMNS
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC"
    return [_row(r) for r in cur.execute(sql, params).fetchall()]


def get(cur: "Cursor", approval_id: int) -> Approval:
    """Approval ``approval_id``; ApprovalError when there is none."""
    found = _approvals(cur, ["id = ?"], [approval_id])
    if not found:
        raise ApprovalError(i18n.text("approval.no_such", id=approval_id))
    return found[0]


def find(cur: "Cursor", approval_id: int) -> "Approval | None":
    try:
        return get(cur, approval_id)
    except ApprovalError:
        return None


def listing(
    cur: "Cursor", now_ms: int, pending: bool = False, for_user: "str | None" = None
) -> "list[Approval]":
    """Approvals, newest first: only those awaiting a decision when ``pending``, only those
    of ``for_user`` when given."""
    where, params = [], []
    if pending:
        where.append("approved_ms IS NULL AND refused_ms IS NULL AND revoked_ms IS NULL")
    if for_user is not None:
        where.append("for_user = ?")
        params.append(for_user)
    return _approvals(cur, where, params)


def request(
    cur: "Cursor",
    item_id: str,
    action: str,
    user: str,
    purpose: str,
    until_ms: int,
    now_ms: int,
) -> Approval:
    """Ask, as ``user``, to take ``action`` on restricted ``item_id`` for ``purpose`` until
    ``until_ms``; returns the pending request."""
    if action not in GATED:
        raise ApprovalError(
            i18n.text("approval.bad_action", action=action, actions=", ".join(GATED))
        )
    if not purpose.strip():
        raise ApprovalError(i18n.text("approval.no_purpose"))
    if until_ms <= now_ms:
        raise ApprovalError(i18n.text("approval.until_past"))
    items.get(cur, item_id)
    if restriction(cur, item_id) is None:
        raise ApprovalError(
            i18n.text("approval.not_needed", item=item_id, doing=action_text(action))
        )
    cur.execute(
        "INSERT INTO approvals (item_id, action, for_user, purpose, until_ms, requested_ms) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (item_id, action, user, purpose, until_ms, now_ms),
    )
    return get(cur, int(cur.fetchone()[0]))


def _pending(cur: "Cursor", approval_id: int, now_ms: int) -> Approval:
    found = get(cur, approval_id)
    state = found.state(now_ms)
    if state != PENDING:
        raise Refused(
            i18n.text("approval.not_pending", id=approval_id, state=state_text(state)),
            NOT_PENDING,
        )
    return found


def grant(
    cur: "Cursor",
    approval_id: int,
    approver: str,
    now_ms: int,
    until_ms: "int | None" = None,
) -> Approval:
    """Grant pending request ``approval_id`` as ``approver``, until the end asked for or the
    earlier ``until_ms``; Refused for the approver's own request or one no longer pending,
    or whose end has passed."""
    found = _pending(cur, approval_id, now_ms)
    if found.for_user == approver:
        raise Refused(i18n.text("approval.own_request", id=approval_id), OWN_REQUEST)
    end = found.until_ms
    if until_ms is not None:
        if until_ms > found.until_ms:
            raise ApprovalError(i18n.text("approval.until_longer", id=approval_id))
        end = until_ms
    if end <= now_ms:
        raise Refused(i18n.text("approval.lapsed", id=approval_id), LAPSED)
    cur.execute(
        "UPDATE approvals SET approved_by = ?, approved_ms = ?, until_ms = ? WHERE id = ?",
        (approver, now_ms, end, approval_id),
    )
    return get(cur, approval_id)


def refuse(cur: "Cursor", approval_id: int, approver: str, reason: str, now_ms: int) -> Approval:
    """Refuse pending request ``approval_id`` as ``approver``, saying why."""
    if not reason.strip():
        raise ApprovalError(i18n.text("approval.no_refuse_reason"))
    _pending(cur, approval_id, now_ms)
    cur.execute(
        "UPDATE approvals SET refused_by = ?, refused_ms = ?, decision_note = ? WHERE id = ?",
        (approver, now_ms, reason, approval_id),
    )
    return get(cur, approval_id)


def revoke(cur: "Cursor", approval_id: int, approver: str, reason: str, now_ms: int) -> Approval:
    """End granted approval ``approval_id`` now, as ``approver``; Refused when it is not in
    force (a pending one is refused instead, an ended one needs nothing)."""
    found = get(cur, approval_id)
    state = found.state(now_ms)
    if state != APPROVED:
        raise Refused(
            i18n.text("approval.not_in_force", id=approval_id, state=state_text(state)),
            NOT_IN_FORCE,
        )
    cur.execute(
        "UPDATE approvals SET revoked_by = ?, revoked_ms = ?, decision_note = ? WHERE id = ?",
        (approver, now_ms, reason, approval_id),
    )
    return get(cur, approval_id)


def state_text(state: str) -> str:
    """An approval's state as a person reads it."""
    return i18n.text(STATE_TEXT[state])


def action_text(action: str) -> str:
    """A gated action as a person reads it (another action: its name)."""
    return i18n.text(ACTION_TEXT[action]) if action in ACTION_TEXT else action


def approval_in_force(
    cur: "Cursor", item_id: str, user: str, action: str, now_ms: int
) -> "tuple | None":
    """The approval letting ``user`` take ``action`` on ``item_id`` at ``now_ms``:
    ``(id, approved_by, purpose, until_ms)``, or None."""
    base = item_id.split("~", 1)[0]
    row = cur.execute(
        "SELECT id, approved_by, purpose, until_ms FROM approvals WHERE item_id IN (?, ?) "
        "AND for_user = ? AND action = ? AND approved_ms <= ? AND until_ms > ? "
        "AND revoked_ms IS NULL AND refused_ms IS NULL ORDER BY until_ms DESC LIMIT 1",
        (base, item_id, user, action, now_ms, now_ms),
    ).fetchone()
    return tuple(row) if row else None


def refusal(cur: "Cursor", user: str, action: str, item_id: str, now_ms: int) -> "str | None":
    """Why ``user`` may not take ``action`` on ``item_id`` now, or None (see the module)."""
    if action not in GATED:
        return None
    held = restriction(cur, item_id)
    if held is None:
        return None
    if approval_in_force(cur, item_id, user, action, now_ms) is not None:
        return None
    names = approvers(cur)
    return i18n.text(
        "restrict.refusal",
        item=item_id,
        kind=kind_text(held[0]),
        action=action,
        doing=action_text(action),
        user=user,
        role=" / ".join(approver_roles()),
        approvers=", ".join(names) if names else i18n.text("restrict.no_approvers"),
    )


# The refusals host.access makes at its door (host.access.NOT_ALLOWED, NOT_OWN, RESTRICTED):
# someone reached for footage they had no right to. On a restricted item, each is possible
# leaking. Other refusals (the footage failed its check, a hold, a file that cannot be
# written) are the action's own and say nothing of a leak.
ACCESS_REASONS = (RESTRICTED, "role-not-allowed", "not-own-recording")


def _refused_gated(cur: "Cursor", since_ms: int) -> "list[audit.Record]":
    """Every refused play, export, share, lend or publication of an item that is restricted
    (in its reason, or now), at or after ``since_ms``, oldest first."""
    rows = cur.execute(
        "SELECT %s FROM audit WHERE outcome = ? AND at_ms >= ? AND action IN (%s) "
        "AND item IS NOT NULL ORDER BY seq" % (audit.COLUMNS, ",".join("?" * len(GATED))),
        (audit.REFUSED, since_ms, *GATED),
    ).fetchall()
    return [
        r
        for r in audit.records_of(rows)
        if r.details.get("reason") == RESTRICTED
        or (r.item is not None and restriction(cur, r.item) is not None)
    ]


def leak_attempts(cur: "Cursor", since_ms: int = 0) -> "list[audit.Record]":
    """Possible leaking (R-HOST-10): every attempt, at or after ``since_ms``, to play,
    export, share, lend or publish restricted footage that the door refused, oldest first.
    An attempt the restriction stopped says so in its reason; one stopped earlier (a role
    without the action, another officer's recording) counts when its item is restricted
    now. An attempt refused for another reason is in ``other_refusals``."""
    return [r for r in _refused_gated(cur, since_ms) if r.details.get("reason") in ACCESS_REASONS]


def other_refusals(cur: "Cursor", since_ms: int = 0) -> "list[audit.Record]":
    """The refused attempts at restricted footage that are not possible leaking: let
    through the door, then refused by the action itself (its reason says why: the footage
    failed its check, a file could not be written), oldest first."""
    return [
        r for r in _refused_gated(cur, since_ms) if r.details.get("reason") not in ACCESS_REASONS
    ]
