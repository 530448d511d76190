"""The people who use the evidence store: their accounts, roles and passwords.

An account has a name, one or more roles and, for an officer, the officer id the recorders
write into every recording (``F_OFFICER``), which is how an officer sees their own footage
and nobody else's. What each role may do is one table (``ROLE_ACTIONS``), read by
``host.access``; the actions are named in ``host.audit``, since every one of them is also a
kind of audit record.

Passwords are kept only as argon2id hashes (PyPI ``argon2-cffi``), each with the parameters
it was made with, so raising the cost later leaves old hashes verifiable and rehashes them at
the next login. Guessing is rate-limited per account: after ``LOCK_AFTER`` wrong passwords in
a row, every attempt within ``LOCK_MS`` of the last wrong one is refused without the password
being checked at all, so a guesser learns nothing and pays in time. Wrong attempts, locked
attempts and unknown names are the caller's to put in the audit trail (``host.access``);
this module only keeps the count. Times come from the caller (``now_ms``): no wall clock
here, so the rules are tested without waiting.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from host import audit, i18n
from host.errors import Unusable

if TYPE_CHECKING:  # a DB-API cursor: sqlite3 here, PostgreSQL's for the scale-out store
    from host.sqlstore import Cursor

ADMINISTRATOR = "administrator"
CLERK = "evidence-clerk"
LEGAL = "legal-reviewer"
APPROVER = "approver"
OFFICER = "officer"
ROLES = (ADMINISTRATOR, CLERK, LEGAL, APPROVER, OFFICER)

# Who may do what. An officer's actions reach only their own recordings (host.access);
# restricted footage needs an approval on top of the role (host.restricted).
ROLE_ACTIONS: "dict[str, frozenset[str]]" = {
    ADMINISTRATOR: frozenset(
        {
            audit.USER_ADD,
            audit.USER_CHANGE,
            audit.POLICY_CHANGE,
            audit.AUDIT_READ,
            audit.VIEW,
            audit.REGISTER,
            audit.REPORT,
            audit.VERIFY,
            audit.CHECKPOINT_EXPORT,
            audit.LOCK_KEEP_UP,
        }
    ),
    CLERK: frozenset(
        {
            audit.VIEW,
            audit.PLAY,
            audit.EXPORT,
            audit.SHARE,
            audit.LEND,
            audit.PUBLISH,
            audit.CATEGORISE,
            audit.CASE_CHANGE,
            audit.LINK_CASE,
            audit.RETENTION_CHANGE,
            audit.HOLD,
            audit.RELEASE_HOLD,
            audit.DELETE_REQUEST,
            audit.DELETE_UNDO,
            audit.DELETE,  # runs the deletions approved and past their grace period
            audit.RESTRICT,
            audit.REQUEST_APPROVAL,
            audit.AUDIT_READ,
            audit.REGISTER,
            audit.CHECKOUT,
            audit.RETURN,
            audit.HANDOVER,
            audit.REPORT,
            audit.VERIFY,
            audit.CHECKPOINT_EXPORT,
            audit.LOCK_KEEP_UP,
        }
    ),
    LEGAL: frozenset(
        {
            audit.VIEW,
            audit.PLAY,
            audit.REVIEW,
            audit.HOLD,
            audit.AUDIT_READ,
            audit.SAMPLE,
            audit.REPORT,
            audit.VERIFY,
        }
    ),
    APPROVER: frozenset(
        {
            audit.VIEW,
            audit.PLAY,
            audit.APPROVE,
            audit.REFUSE,
            audit.DELETE_APPROVE,
            audit.AUDIT_READ,
            audit.REPORT,
        }
    ),
    OFFICER: frozenset(
        {audit.VIEW, audit.PLAY, audit.EXPORT, audit.REQUEST_APPROVAL, audit.CATEGORISE}
    ),
}

# Every account may change its own password, having just proved the old one by logging in.
ROLE_ACTIONS = {role: acts | {audit.PASSWORD_CHANGE} for role, acts in ROLE_ACTIONS.items()}

LOCK_AFTER = 5  # wrong passwords in a row before the account locks
LOCK_MS = 15 * 60 * 1000  # how long after the last wrong one it stays locked

SCHEMA = """
-- The people who use the store. roles: names from host.people.ROLES, comma-separated.
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    display     TEXT NOT NULL,
    roles       TEXT NOT NULL,
    officer_id  TEXT,
    pw_hash     TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    failed_ms   INTEGER NOT NULL DEFAULT 0
);
"""

# The hasher new passwords get: argon2id with argon2-cffi's defaults (RFC 9106's second
# recommended option, 64 MiB). Tests swap in a cheap one; a stored hash names its own cost.
HASHER = PasswordHasher()

# A name that does not exist still costs one verification, so a guesser cannot tell from
# the time taken whether an account exists.
_DUMMY: "list[str]" = []


class LoginRefused(Exception):
    """A login is refused. ``reason`` is one of UNKNOWN, WRONG, LOCKED, DISABLED;
    ``until_ms`` says when a locked account opens again."""

    def __init__(self, reason: str, name: str, until_ms: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.name = name
        self.until_ms = until_ms


UNKNOWN = "unknown-user"
WRONG = "wrong-password"
LOCKED = "locked"
DISABLED = "disabled"


class PeopleError(Unusable):
    """An account change cannot be made (a name taken, a role unknown); the message says
    what to do."""


@dataclass(frozen=True)
class User:
    """Someone logged in: who, with which roles, and the officer id their recordings bear."""

    name: str
    roles: "tuple[str, ...]"
    officer_id: "str | None" = None
    display: str = ""

    def may(self, action: str) -> bool:
        """Whether one of this user's roles allows ``action`` at all (before the item's
        own rules: ownership, restriction)."""
        return any(action in ROLE_ACTIONS.get(role, ()) for role in self.roles)

    @property
    def officer_only(self) -> bool:
        """True for an officer and nothing more: they reach only their own recordings."""
        return set(self.roles) == {OFFICER}


def parse_roles(text: str) -> "tuple[str, ...]":
    """Roles from ``clerk,approver``-style text: each must be one of ROLES (PeopleError
    naming the unknown one otherwise)."""
    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise PeopleError(
            i18n.text(
                "people.unknown_role",
                unknown=", ".join(unknown) or "(none given)",
                roles=", ".join(ROLES),
            )
        )
    return roles


def password_problem(password: str) -> "str | None":
    """Why ``password`` may not be used, or None. Long enough to resist guessing offline
    (NIST SP 800-63B asks for at least 8); no other composition rules."""
    if len(password) < 10:
        return i18n.text("people.password_short", least=10)
    if len(password) > 1024:
        return i18n.text("people.password_long", most=1024)
    return None


def add_user(
    cur: "Cursor",
    name: str,
    roles: "tuple[str, ...]",
    password: str,
    now_ms: int,
    officer_id: "str | None" = None,
    display: str = "",
) -> User:
    """Make an account inside the caller's transaction; PeopleError if the name is taken,
    the name or a role is unusable, or the password too weak."""
    if not name or len(name) > 64 or not name.isprintable() or "," in name or name != name.strip():
        raise PeopleError(i18n.text("people.bad_name", most=64))
    problem = password_problem(password)
    if problem:
        raise PeopleError(problem)
    if OFFICER in roles and not officer_id:
        raise PeopleError(i18n.text("people.officer_needs_id"))
    if cur.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        raise PeopleError(i18n.text("people.name_taken", name=name))
    cur.execute(
        "INSERT INTO users (name, display, roles, officer_id, pw_hash, created_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (name, display, ",".join(roles), officer_id, HASHER.hash(password), now_ms),
    )
    return User(name, roles, officer_id, display)


def user_named(cur: "Cursor", name: str) -> "User | None":
    row = cur.execute(
        "SELECT name, roles, officer_id, display FROM users WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return None
    return User(row[0], tuple(row[1].split(",")), row[2], row[3])


def users(cur: "Cursor") -> "list[dict]":
    """Every account, for listing: no hashes."""
    rows = cur.execute(
        "SELECT name, display, roles, officer_id, created_ms, disabled FROM users ORDER BY name"
    ).fetchall()
    return [
        {
            "name": r[0],
            "display": r[1],
            "roles": r[2].split(","),
            "officer_id": r[3],
            "created_ms": r[4],
            "disabled": bool(r[5]),
        }
        for r in rows
    ]


def any_user(cur: "Cursor") -> bool:
    return cur.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def authenticate(cur: "Cursor", name: str, password: str, now_ms: int) -> User:
    """The user ``name`` when ``password`` is theirs; LoginRefused otherwise. Runs inside
    the caller's write transaction: a wrong password's count must be committed even though
    the login fails (the caller commits, then raises)."""
    row = cur.execute(
        "SELECT pw_hash, disabled, failures, failed_ms FROM users WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        if not _DUMMY:
            _DUMMY.append(HASHER.hash("not anybody's password"))
        _matches(_DUMMY[0], password)
        raise LoginRefused(UNKNOWN, name)
    pw_hash, disabled, failures, failed_ms = row
    if disabled:
        raise LoginRefused(DISABLED, name)
    if lock_end(failures, failed_ms, now_ms):
        # Not even checked: the count does not grow, and the lock does not lengthen, so a
        # locked account opens on time however often a guesser knocks.
        raise LoginRefused(LOCKED, name, failed_ms + LOCK_MS)
    if not _matches(pw_hash, password):
        cur.execute(
            "UPDATE users SET failures = failures + 1, failed_ms = ? WHERE name = ?",
            (now_ms, name),
        )
        if failures + 1 >= LOCK_AFTER:
            raise LoginRefused(LOCKED, name, now_ms + LOCK_MS)
        raise LoginRefused(WRONG, name)
    if failures:
        cur.execute("UPDATE users SET failures = 0 WHERE name = ?", (name,))
    if HASHER.check_needs_rehash(pw_hash):
        cur.execute("UPDATE users SET pw_hash = ? WHERE name = ?", (HASHER.hash(password), name))
    user = user_named(cur, name)
    assert user is not None
    return user


def lock_end(failures: int, failed_ms: int, now_ms: int) -> int:
    """When an account with ``failures`` wrong passwords in a row, the last at
    ``failed_ms``, opens again; 0 when it is not locked at ``now_ms``."""
    if failures >= LOCK_AFTER and now_ms < failed_ms + LOCK_MS:
        return failed_ms + LOCK_MS
    return 0


def _state(cur: "Cursor", name: str) -> tuple:
    """(disabled, failures, failed_ms) of account ``name``; PeopleError when there is none."""
    row = cur.execute(
        "SELECT disabled, failures, failed_ms FROM users WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise PeopleError(i18n.text("people.no_such_user", name=name))
    return (bool(row[0]), row[1], row[2])


def locked_until(cur: "Cursor", name: str, now_ms: int) -> int:
    """When account ``name``, locked by wrong passwords, opens again; 0 when it is not
    locked at ``now_ms``. PeopleError when there is no such account."""
    _, failures, failed_ms = _state(cur, name)
    return lock_end(failures, failed_ms, now_ms)


def set_disabled(cur: "Cursor", name: str, disabled: bool) -> bool:
    """Close (``disabled``) or reopen account ``name``; returns whether it was closed
    before. PeopleError when there is no such account."""
    was = _state(cur, name)[0]
    cur.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
    return was


def active_administrators(cur: "Cursor", besides: str = "") -> "list[str]":
    """The accounts that are open and administer, other than ``besides``."""
    rows = cur.execute("SELECT name, roles FROM users WHERE disabled = 0 AND name != ?", (besides,))
    return [name for name, roles in rows if ADMINISTRATOR in roles.split(",")]


def set_password(cur: "Cursor", name: str, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise PeopleError(problem)
    cur.execute(
        "UPDATE users SET pw_hash = ?, failures = 0 WHERE name = ?", (HASHER.hash(password), name)
    )


def _matches(pw_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(pw_hash, password)
    except (VerificationError, InvalidHashError):
        return False
