"""``sealcam user``: the accounts of the people who use an evidence store.

``user add`` makes an account; the first account of a store must be an administrator, and
needs no login (there is nobody to log in as yet); every later one is made by an
administrator acting with ``--user``. ``user list`` shows the accounts, ``user passwd``
changes one's own password (or an administrator resets another's, which also ends a lock),
``user disable`` and ``user enable`` close and reopen an account. Every change is an audit
record (``user-add``, ``user-change``, ``password-change``) naming what changed, never the
password; a refused attempt is one too.

A new password comes from ``SEALCAM_NEW_PASSWORD`` or is asked for twice on the terminal,
before the store is written: the write transaction is never held open while someone types.
"""

import argparse
import getpass
import json
import os
import sys
from typing import TYPE_CHECKING

from host import audit, i18n, people, settings
from host.cli.auth import add_login_options, desk_for, open_store
from host.cli.common import EXIT_OK, UsageProblem
from host.errors import Refused
from host.i18n import N_

if TYPE_CHECKING:
    from host.access import Desk, Store

NEW_PASSWORD_ENV = "SEALCAM_NEW_PASSWORD"
LAST_ADMINISTRATOR = "last-administrator"  # the reason a refused disable is recorded with
FIRST_NOT_ADMINISTRATOR = "first-not-administrator"


def new_password(name: str) -> str:
    """The new password for ``name``: SEALCAM_NEW_PASSWORD, else asked twice on the terminal
    (two different answers stop the command: nothing is written)."""
    given = os.environ.get(NEW_PASSWORD_ENV)
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise UsageProblem(i18n.text("user.no_new_password", env=NEW_PASSWORD_ENV))
    try:
        first = getpass.getpass(i18n.text("user.prompt_new", name=name))
        again = getpass.getpass(i18n.text("user.prompt_again", name=name))
    except EOFError:
        raise UsageProblem(i18n.text("user.no_new_password", env=NEW_PASSWORD_ENV)) from None
    if first != again:
        raise UsageProblem(i18n.text("user.passwords_differ"))
    return first


def role_label(role: str) -> str:
    """A role as a person reads it (the role's name itself in English)."""
    msg_id = "role." + role
    return i18n.text(msg_id) if i18n.known(msg_id) else role


def roles_text(roles: "list[str] | tuple[str, ...]") -> str:
    return i18n.text("user.roles_sep").join(role_label(r) for r in roles)


def _role_choice(role: str) -> str:
    """A role as ``--role`` takes it, with its label where the language has another word."""
    label = role_label(role)
    return role if label == role else "%s (%s)" % (role, label)


def cell(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns: a Chinese character takes two, so
    padding by characters would leave a Chinese table's columns ragged."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def acting_desk(args: argparse.Namespace) -> "Desk":
    """The desk of ``args.user`` on ``args.evidence``, for a command that needs a person:
    a store without accounts yet says how to make the first one (a login would only fail)."""
    from host.access import prepare

    store = open_store(args.evidence, args.media)
    prepare(store)
    with store.read() as cur:
        if not people.any_user(cur):
            raise UsageProblem(i18n.text("user.none_yet", evidence=args.evidence))
    return desk_for(store, args.user)


# --- the commands -------------------------------------------------------------------------


def account_details(args: argparse.Namespace) -> dict:
    """What an added account is, for its audit record (never the password)."""
    details: dict = {"name": args.name, "roles": args.role}
    if args.officer_id:
        details["officer_id"] = args.officer_id
    if args.display:
        details["display"] = args.display
    return details


def cmd_user_add(args: argparse.Namespace) -> int:
    store = open_store(args.evidence, args.media)
    from host.access import prepare

    prepare(store)
    with store.read() as cur:
        first = not people.any_user(cur)
    if first:
        return _first_account(store, args)
    desk = desk_for(store, args.user)
    # Asked only of someone allowed to add accounts: the refusal comes first otherwise.
    password = new_password(args.name) if desk.user.may(audit.USER_ADD) else ""
    with desk.act(audit.USER_ADD, args.name, **account_details(args)) as act:
        roles = people.parse_roles(args.role)
        act.details["roles"] = list(roles)
        people.add_user(
            act.cur, args.name, roles, password, desk.now(), args.officer_id, args.display or ""
        )
    print(i18n.text("user.added", name=args.name, roles=roles_text(roles)))
    return EXIT_OK


def _first_account(store: "Store", args: argparse.Namespace) -> int:
    """The store's first account: an administrator, made without a login, and recorded
    as made by itself (the trail's first user-add)."""
    from host.cli.auth import now_ms, signer_for

    roles = people.parse_roles(args.role)
    password = new_password(args.name) if people.ADMINISTRATOR in roles else ""
    refusal: Exception | None = None
    details = account_details(args)
    details["roles"] = list(roles)
    details["first"] = True
    with store.write() as cur:
        if people.any_user(cur):  # made by someone else since we looked
            raise UsageProblem(i18n.text("user.not_first_any_more"))
        now = now_ms()
        try:
            if people.ADMINISTRATOR not in roles:
                raise Refused(
                    i18n.text("user.first_must_administer", role=people.ADMINISTRATOR),
                    FIRST_NOT_ADMINISTRATOR,
                )
            people.add_user(
                cur, args.name, roles, password, now, args.officer_id, args.display or ""
            )
        except (Refused, people.PeopleError) as exc:
            refusal = exc
            reason = exc.reason if isinstance(exc, Refused) else "unusable"
            details.update(reason=reason, message=str(exc))
            outcome = audit.REFUSED
        else:
            outcome = audit.DONE
        audit.record(cur, store.log, args.name, audit.USER_ADD, now, args.name, outcome, details)
    signer_for(store)
    if refusal is not None:
        raise refusal
    print(i18n.text("user.added_first", name=args.name, roles=roles_text(roles)))
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    store = open_store(args.evidence, args.media)
    from host.access import prepare

    prepare(store)
    with store.read() as cur:
        if not people.any_user(cur):
            if args.json:
                print(json.dumps({"users": []}))
            else:
                print(i18n.text("user.none_yet", evidence=args.evidence))
            return EXIT_OK
    desk = desk_for(store, args.user)
    with desk.act(audit.VIEW, None, listed="users") as act:
        rows = people.users(act.cur)
        zone = str(settings.get(act.cur, settings.TIME_ZONE))
        now = desk.now()
        for row in rows:
            row["locked_until_ms"] = people.locked_until(act.cur, row["name"], now) or None
        act.details["count"] = len(rows)
    if args.json:
        print(json.dumps({"users": rows}, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(render_users(rows, zone))
    return EXIT_OK


def render_users(rows: "list[dict]", zone: str) -> str:
    from host import localtime

    head = i18n.text("user.list_head", count=len(rows), zone=zone)
    lines = [head]
    for row in rows:
        if row["disabled"]:
            state = i18n.text("user.state_disabled")
        elif row["locked_until_ms"]:
            state = i18n.text(
                "user.state_locked", until=localtime.show(row["locked_until_ms"], zone)
            )
        else:
            state = i18n.text("user.state_active")
        lines.append(
            i18n.text(
                "user.list_row",
                name=cell(row["name"], 12),
                roles=cell(roles_text(row["roles"]), 32),
                officer=cell(row["officer_id"] or "-", 8),
                state=cell(state, 8),
                since=localtime.show(row["created_ms"], zone),
                display=row["display"] or "",
            ).rstrip()
        )
    return "\n".join(lines)


def cmd_user_passwd(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    target = args.name or desk.user.name
    own = target == desk.user.name
    # One's own password, having just proved the old one, is every role's to change; another
    # account's is an administrator's (a reset, which also ends a lock).
    action = audit.PASSWORD_CHANGE if own else audit.USER_CHANGE
    password = new_password(target) if desk.user.may(action) else ""
    with desk.act(action, target, changed="password") as act:
        if people.locked_until(act.cur, target, desk.now()):
            act.details["unlocked"] = True
        people.set_password(act.cur, target, password)
    if own:
        print(i18n.text("user.password_set", name=target))
    else:
        print(i18n.text("user.password_reset", name=target))
    return EXIT_OK


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    desk = acting_desk(args)
    with desk.act(audit.USER_CHANGE, args.name) as act:
        user = people.user_named(act.cur, args.name)
        if user is None:
            raise people.PeopleError(i18n.text("people.no_such_user", name=args.name))
        if (
            disabled
            and people.ADMINISTRATOR in user.roles
            and not people.active_administrators(act.cur, besides=args.name)
        ):
            raise Refused(i18n.text("user.last_administrator", name=args.name), LAST_ADMINISTRATOR)
        was = people.set_disabled(act.cur, args.name, disabled)
        act.details["disabled"] = [was, disabled]
    if disabled:
        print(i18n.text("user.disabled", name=args.name))
    else:
        print(i18n.text("user.enabled", name=args.name))
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def cmd_user_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def add_user(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam user add|list|passwd|disable|enable``."""
    u = sub.add_parser(
        "user",
        help=i18n.text("cmd.user"),
        description=i18n.text("user.description"),
        epilog=i18n.text("user.epilog"),
    )
    u_sub = u.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = u_sub.add_parser(
        "add",
        help=i18n.text("cmd.user add"),
        description=i18n.text("user.add_description", env=NEW_PASSWORD_ENV),
        epilog=i18n.text("user.add_epilog"),
    )
    add_login_options(a)
    a.add_argument("--name", required=True, help=i18n.text("user.name_new"))
    a.add_argument(
        "--role",
        required=True,
        metavar="ROLE[,ROLE]",
        help=i18n.text("user.role", roles=", ".join(_role_choice(r) for r in people.ROLES)),
    )
    a.add_argument("--officer-id", metavar="P-0427", help=i18n.text("user.officer_id"))
    a.add_argument("--display", metavar="TEXT", help=i18n.text("user.display"))
    a.set_defaults(run=cmd_user_add)

    ls = u_sub.add_parser(
        "list",
        help=i18n.text("cmd.user list"),
        description=i18n.text("user.list_description"),
        epilog=i18n.text("user.list_epilog"),
    )
    add_login_options(ls)
    ls.add_argument("--json", action="store_true", help=i18n.text("user.json"))
    ls.set_defaults(run=cmd_user_list)

    pw = u_sub.add_parser(
        "passwd",
        help=i18n.text("cmd.user passwd"),
        description=i18n.text("user.passwd_description", env=NEW_PASSWORD_ENV),
        epilog=i18n.text("user.passwd_epilog"),
    )
    add_login_options(pw)
    pw.add_argument("--name", help=i18n.text("user.name_passwd"))
    pw.set_defaults(run=cmd_user_passwd)

    for name, run, summary, description, epilog in (
        (
            "disable",
            cmd_user_disable,
            N_("cmd.user disable"),
            N_("user.disable_description"),
            N_("user.disable_epilog"),
        ),
        (
            "enable",
            cmd_user_enable,
            N_("cmd.user enable"),
            N_("user.enable_description"),
            N_("user.enable_epilog"),
        ),
    ):
        d = u_sub.add_parser(
            name,
            help=i18n.text(summary),
            description=i18n.text(description),
            epilog=i18n.text(epilog),
        )
        add_login_options(d)
        d.add_argument("--name", required=True, help=i18n.text("user.name_existing"))
        d.set_defaults(run=run)
