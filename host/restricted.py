"""Restricted footage: what holds state secrets, trade secrets or private matters (R-HOST-6).

Such an item is marked once (``restrictions``: which kind, by whom, when, why). From then on
watching it, or letting it leave the store in any way (an export, a showing, a loan, a
publication), needs an approval an approver recorded (``approvals``: for whom, which action,
for what purpose, from when until when). ``refusal`` is the check ``host.access`` makes
before every action on an item: None when the action may go ahead, else the one line to
refuse it with, naming whose approval is needed. Looking at an item's particulars (``view``)
is not gated: evidence staff must be able to see that an item exists and is restricted in
order to ask for the approval.
"""

from typing import TYPE_CHECKING

from host import audit

if TYPE_CHECKING:
    from sqlite3 import Cursor

STATE_SECRET = "state-secret"
TRADE_SECRET = "trade-secret"
PRIVATE = "private"
KINDS = (STATE_SECRET, TRADE_SECRET, PRIVATE)

# What needs an approval once an item is restricted.
GATED = (audit.PLAY, audit.EXPORT, audit.SHARE, audit.LEND, audit.PUBLISH)

SCHEMA = """
-- Restricted items (host.restricted): one row per item, the kind of secret it holds.
CREATE TABLE IF NOT EXISTS restrictions (
    item_id    TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    marked_by  TEXT NOT NULL,
    marked_ms  INTEGER NOT NULL,
    reason     TEXT NOT NULL
);
-- Approvals for one user to take one action on one restricted item, within a time window.
CREATE TABLE IF NOT EXISTS approvals (
    id           INTEGER PRIMARY KEY,
    item_id      TEXT NOT NULL,
    action       TEXT NOT NULL,
    for_user     TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    approved_by  TEXT NOT NULL,
    approved_ms  INTEGER NOT NULL,
    until_ms     INTEGER NOT NULL,
    revoked_ms   INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_item ON approvals (item_id, for_user, action);
"""


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


def approval_in_force(
    cur: "Cursor", item_id: str, user: str, action: str, now_ms: int
) -> "tuple | None":
    """The approval letting ``user`` take ``action`` on ``item_id`` at ``now_ms``:
    ``(id, approved_by, purpose, until_ms)``, or None."""
    base = item_id.split("~", 1)[0]
    row = cur.execute(
        "SELECT id, approved_by, purpose, until_ms FROM approvals WHERE item_id IN (?, ?) "
        "AND for_user = ? AND action = ? AND approved_ms <= ? AND until_ms > ? "
        "AND revoked_ms IS NULL ORDER BY until_ms DESC LIMIT 1",
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
    return (
        "%s is restricted (%s): to %s it, %s needs an approval from a user with the role "
        "approver (sealcam approve)" % (item_id, held[0], action, user)
    )
