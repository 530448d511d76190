"""How a command acts as a person: ``--evidence``, ``--user`` and the password, then a desk.

Every command that reads or changes evidence takes ``--evidence DIR`` and ``--user NAME``
(default: ``SEALCAM_USER``). The password comes from ``SEALCAM_PASSWORD`` when it is set
(scripts, the review page's tests), else from a prompt on the terminal that does not echo;
with neither, the command stops in one line rather than hang on a pipe. ``desk_from`` opens
the store, logs the user in (``host.access.Desk.login``: the login, or the failed attempt,
goes into the audit trail) and returns the desk every action goes through.

After each action the store signs a checkpoint of its log with the host key the agency set
(``sealcam setting host-key``), so the audit record is covered by a signature at once. A key
that cannot be read does not undo the action: the command says so on stderr, and the next
checkpoint (a sync, or the next action once the key is back) covers it.
"""

import argparse
import contextlib
import getpass
import os
import sys
import time
from typing import TYPE_CHECKING

from host import i18n
from host.cli.common import UsageProblem, host_signer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from host.access import Desk, Store
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore

    # How a read-only check is recorded: ``record(**details)`` around handing it over.
    Record = Callable[..., contextlib.AbstractContextManager[None]]

USER_ENV = "SEALCAM_USER"
PASSWORD_ENV = "SEALCAM_PASSWORD"


def wall_ms() -> int:
    """The wall clock, UTC milliseconds."""
    return int(time.time() * 1000)


# The clock of every desk a command opens (and of the first account, made without one):
# the one seam a test moves time with (``monkeypatch.setattr(host.cli.auth, "clock", c)``),
# read at each call so a desk made before the test moved it follows too.
clock: "Callable[[], int]" = wall_ms


def now_ms() -> int:
    """The time now by ``clock``, looked up at each call."""
    return clock()


def add_login_options(p: argparse.ArgumentParser) -> None:
    """``--evidence`` (a folder, or ``postgresql://...`` with ``--media s3://BUCKET``) and
    ``--user``, for a command that acts on the evidence as a person."""
    from host.cli.scaleout import add_media_option

    p.add_argument("--evidence", required=True, help=i18n.text("auth.evidence"))
    add_media_option(p)
    p.add_argument(
        "--user",
        default=os.environ.get(USER_ENV),
        help=i18n.text("auth.user", env=USER_ENV, password_env=PASSWORD_ENV),
    )


def add_reader_option(p: argparse.ArgumentParser) -> None:
    """``--user`` for a check that reads a store (``verify``, ``checkpoint export``): needed
    once the store has accounts, when the check is recorded in its audit trail."""
    p.add_argument(
        "--user",
        default=os.environ.get(USER_ENV),
        help=i18n.text("auth.user_reader", env=USER_ENV, password_env=PASSWORD_ENV),
    )


def password_for(name: str) -> str:
    """The password: SEALCAM_PASSWORD, else asked for on the terminal."""
    given = os.environ.get(PASSWORD_ENV)
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise UsageProblem(i18n.text("auth.no_password", env=PASSWORD_ENV))
    try:
        return getpass.getpass(i18n.text("auth.prompt", name=name))
    except EOFError:
        raise UsageProblem(i18n.text("auth.no_password", env=PASSWORD_ENV)) from None


def open_store(path: str, media: "str | None" = None) -> "SqliteEvidenceStore | PgEvidenceStore":
    """The evidence store at ``path``, which must exist already (an action never makes a
    store: a typo in the path must not start an empty one); or the scale-out store
    ``postgresql://...`` with its ``media`` bucket (``host.cli.scaleout``)."""
    from pathlib import Path

    from host.cli import scaleout
    from host.evidence import SqliteEvidenceStore

    if scaleout.is_scaleout(path):
        from host.pgstore import PgEvidenceStore

        store = scaleout.open_store(path, media)
        assert isinstance(store, PgEvidenceStore)
        return store
    if media:
        raise UsageProblem(i18n.text("scaleout.media_alone"))
    if not (Path(path) / "evidence.db").is_file():
        raise UsageProblem(i18n.text("auth.no_store", path=path))
    return SqliteEvidenceStore(path)


def signer_for(store: "Store") -> None:
    """Sign a checkpoint of ``store``'s log with the host key the agency set, if any."""
    from host import settings

    with store.read() as cur:
        path = settings.get(cur, settings.HOST_KEY)
    if not path:
        return
    try:
        signer, kid = host_signer(str(path))
    except Exception as exc:  # any unreadable key: the action stands, the warning says so
        print(i18n.text("auth.unsigned", path=path, problem=exc), file=sys.stderr)
        return
    store.checkpoint(signer, kid)


def desk_from(args: argparse.Namespace) -> "Desk":
    """Log ``args.user`` in to ``args.evidence``; Refused (exit 1) for a wrong password.
    The items index is brought up to the ledger first, so the desk sees every recording."""
    return desk_for(open_store(args.evidence, getattr(args, "media", None)), args.user)


def desk_for(store: "Store", user: "str | None") -> "Desk":
    from host import items, retention
    from host.access import Desk, prepare

    if not user:
        raise UsageProblem(i18n.text("auth.no_user", env=USER_ENV))
    prepare(store)
    # The items index brought up to the ledger, and the retention plan's index to that, in
    # one write; a read says first whether there is anything to do (most logins: nothing).
    with store.read() as cur:
        behind = items.behind(cur) or retention.behind(cur)
    if behind:
        with store.write() as cur:
            items.refresh(cur)
            retention.keep_up(cur)  # a plan only reads the index
    return Desk.login(store, user, password_for(user), now=now_ms, sign=signer_for)


def desk_if_accounts(store: "Store", user: "str | None") -> "Desk | None":
    """The desk of ``user`` once the store has accounts; None for a store that has none
    yet (a store being set up, a demo): its commands work as before accounts existed, and
    the first ``sealcam user add`` (an administrator) ends that. A user named for a store
    without accounts is refused (they cannot have logged in)."""
    from host import people
    from host.access import prepare

    prepare(store)
    with store.read() as cur:
        any_account = people.any_user(cur)
    if not any_account and not user:
        return None
    return desk_for(store, user)


def has_accounts(root: "str | Path") -> bool:
    """Whether the store at ``root``, its database read only, holds an account. False for
    one that is no regular file, cannot be read, or has no users table: such a store is
    used as before accounts existed, and what is wrong with it is for the command to say."""
    from pathlib import Path

    db_path = Path(root) / "evidence.db"
    import sqlite3

    from host import people
    from host.verify_store import open_readonly

    if not db_path.is_file():  # a FIFO or a device must not be opened: it could block
        return False
    try:
        db = open_readonly(db_path)
    except sqlite3.Error:
        return False
    try:
        return people.any_user(db.cursor())
    except sqlite3.Error:
        return False
    finally:
        db.close()


def reader_desk(root: str, user: "str | None", action: str) -> "Desk | None":
    """The desk of ``user`` for a check that only reads the store at ``root`` (``action``:
    ``audit.VERIFY``, ``audit.CHECKPOINT_EXPORT``), with its role already checked: a refusal
    is recorded and raised (exit 1) before anything is read. None for a store without
    accounts (a demo's, one being set up): the check runs as before accounts existed. A store
    this process cannot write (read-only media) is checked too, but cannot record it: the
    command says so on stderr and goes on unrecorded."""
    from pathlib import Path

    folder = Path(root)
    db_path = folder / "evidence.db"
    if not has_accounts(folder):
        return None
    if not (os.access(db_path, os.W_OK) and os.access(folder, os.W_OK)):
        print(i18n.text("auth.read_only_unrecorded", path=root), file=sys.stderr)
        return None
    return checked_desk(open_store(root), user, action)


def scaleout_reader_desk(store: "Store", user: "str | None", action: str) -> "Desk | None":
    """``reader_desk`` of an open scale-out store: None while it has no accounts."""
    from host import people, sqlstore

    with store.read() as cur:
        accounts = sqlstore.has_table(cur, "users") and people.any_user(cur)
    return checked_desk(store, user, action) if accounts else None


def recorder(
    user: "str | None", action: str
) -> "Callable[[Store], Callable[..., contextlib.AbstractContextManager[None]]]":
    """For a check of a scale-out store that only reads it (``action``): given the open
    store, its role checked first (``scaleout_reader_desk``), then the way to record the
    check, ``record(**details)`` around handing over what it found (``recorded``)."""

    def opened(store: "Store") -> "Record":
        desk = scaleout_reader_desk(store, user, action)
        return lambda **details: recorded(desk, action, **details)

    return opened


def checked_desk(store: "Store", user: "str | None", action: str) -> "Desk":
    """The desk of ``user`` on ``store``, its role for ``action`` checked first: a refusal
    is recorded and raised (exit 1) before anything is read."""
    desk = desk_for(store, user)
    if desk.refusal(action) is not None:
        with desk.act(action):  # records the refusal and raises it: the body never runs
            pass
    return desk


@contextlib.contextmanager
def recorded(desk: "Desk | None", action: str, **details: object) -> "Iterator[None]":
    """Run the block (handing over what a read-only check found: print it, write it) as
    the one audit record of the check ``desk`` made; without a desk, just run it. What the
    block refuses (a file it cannot write) is recorded as refused."""
    if desk is None:
        yield
        return
    with desk.act(action, None, **details):
        yield
