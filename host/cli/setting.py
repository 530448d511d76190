"""``sealcam setting show|set``: the agency's settings an administrator changes here.

Two settings are set from the command line: the agency's time zone (every time a person
reads is shown in it, ``host.localtime``) and the host key the store signs a checkpoint of
its log with after every action (``host.cli.auth.signer_for``). Changing one is a policy
change: an administrator's, checked before it is stored (a zone this machine knows, a file
that loads as a private key, kept by its absolute path), and recorded in the audit trail
with the old and the new value. Other modules' settings (retention, case types) are shown
here and changed by their own commands.
"""

import argparse
import json
import os
from typing import TYPE_CHECKING

from host import audit, i18n, localtime, settings
from host.cli.common import EXIT_OK, UsageProblem, host_signer
from host.cli.people import acting_desk

if TYPE_CHECKING:
    from host.sqlstore import Cursor

# The name a person types -> the setting's stored name.
SETTABLE = {"time-zone": settings.TIME_ZONE, "host-key": settings.HOST_KEY}


def checked(name: str, value: str) -> object:
    """``value`` as setting ``name`` stores it; UsageProblem (exit 2, the attempt recorded)
    when it cannot be used."""
    if name == "time-zone":
        if localtime.zone_problem(value):
            raise UsageProblem(i18n.text("setting.bad_zone", zone=value))
        return value
    path = os.path.abspath(value)  # the key is read later, from whatever directory
    host_signer(path)  # loads as a private key, or says in one line why not
    return path


def cmd_setting_set(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    key = SETTABLE[args.name]
    with desk.act(audit.POLICY_CHANGE, None, setting=key) as act:
        value = checked(args.name, args.value)
        old = settings.put(act.cur, key, value)
        act.details.update(old=old, new=value)
    print(i18n.text("setting.changed", name=args.name, old=_shown(old), new=_shown(value)))
    return EXIT_OK


def _shown(value: object) -> str:
    return i18n.text("setting.unset") if value is None else str(value)


def current(cur: "Cursor") -> "list[dict]":
    """Every setting declared so far: its name, value and whether it is the default."""
    names = {v: k for k, v in SETTABLE.items()}
    out = []
    for key in sorted(settings.DEFAULTS):
        value = settings.get(cur, key)
        out.append(
            {
                "name": names.get(key, key),
                "setting": key,
                "value": value,
                "default": value == settings.DEFAULTS[key],
            }
        )
    return out


def cmd_setting_show(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.VIEW, None, listed="settings") as act:
        rows = current(act.cur)
    if args.json:
        print(json.dumps({"settings": rows}, indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        value = r["value"]
        shown = _shown(value) if isinstance(value, (str, type(None))) else json.dumps(value)
        note = i18n.text("setting.default") if r["default"] else ""
        print(("%-*s  %s %s" % (width, r["name"], shown, note)).rstrip())
    return EXIT_OK


def add_setting(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam setting show|set``."""
    from host.cli.auth import add_login_options

    s = sub.add_parser(
        "setting",
        help=i18n.text("cmd.setting"),
        description=i18n.text("setting.description"),
        epilog=i18n.text("setting.epilog"),
    )
    s_sub = s.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = s_sub.add_parser(
        "show",
        help=i18n.text("cmd.setting show"),
        description=i18n.text("setting.show_description"),
        epilog=i18n.text("setting.show_epilog"),
    )
    add_login_options(show)
    show.add_argument("--json", action="store_true", help=i18n.text("setting.json"))
    show.set_defaults(run=cmd_setting_show)
    put = s_sub.add_parser(
        "set",
        help=i18n.text("cmd.setting set"),
        description=i18n.text("setting.set_description"),
        epilog=i18n.text("setting.set_epilog"),
    )
    add_login_options(put)
    put.add_argument("name", choices=sorted(SETTABLE), help=i18n.text("setting.name"))
    put.add_argument("value", help=i18n.text("setting.value"))
    put.set_defaults(run=cmd_setting_set)
