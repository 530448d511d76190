"""``sealcam audit``: the chain of custody of one item, or everything one person did.

``--item ID`` lists every audit record about an item, oldest first; for a recording, the
records of what was made from it (its derivatives, and theirs) too, since an export's story
is part of its original's. An id that names no item (a case number, a user name) lists the
records about that name. ``--user`` is, as for every command, who is reading: reading the
trail is itself an action with its record (``audit-read``), so a custody chain shows who
looked at it. With neither ``--item`` nor ``--of``, the trail read is the reader's own:
``sealcam audit --user NAME`` (the issue's form) lists everything NAME did, failed logins
included. ``--of NAME`` names someone else, for an auditor reading another person's trail.

Times are shown in the agency's time zone, as the overlay writes them; ``--csv`` adds that
text beside UTC milliseconds; ``--json`` keeps UTC milliseconds (``at_ms``) only.
"""

import argparse
import json
from typing import TYPE_CHECKING

from host import audit, i18n, items, localtime, settings
from host.cli.common import EXIT_OK
from host.cli.people import acting_desk

if TYPE_CHECKING:
    from host.sqlstore import Cursor


def family(cur: "Cursor", item_id: str) -> "list[str]":
    """``item_id`` and every item made from it, at any remove, oldest first; ItemError
    when ``item_id`` is an item id the store does not hold."""
    items.get(cur, item_id)
    found = [item_id]
    for origin in found:  # grows as derivatives are found: a walk down the origin links
        found.extend(d.item_id for d in items.derivatives_of(cur, origin) if d.item_id not in found)
    return found


def is_item_id(text: str) -> bool:
    try:
        items.parse_id(text)
    except items.ItemError:
        return False
    return True


def custody(cur: "Cursor", subject: str) -> "tuple[list[str], list[audit.Record]]":
    """The ids whose records make ``subject``'s chain of custody, and those records in
    trail order."""
    ids = family(cur, subject) if is_item_id(subject) else [subject]
    records = {r.seq: r for one in ids for r in audit.history(cur, item=one)}
    return ids, [records[seq] for seq in sorted(records)]


def action_label(action: str) -> str:
    msg_id = "action." + action
    return i18n.text(msg_id) if i18n.known(msg_id) else action


def outcome_label(outcome: str) -> str:
    msg_id = "outcome." + outcome
    return i18n.text(msg_id) if i18n.known(msg_id) else outcome


def details_text(details: dict, zone: str) -> str:
    """A record's particulars in one line; a time (a key ending in ``_ms``) as local time."""
    parts = []
    for key in sorted(details):
        value = details[key]
        if key.endswith("_ms") and type(value) is int:
            shown = localtime.show(value, zone)
        elif isinstance(value, str):
            shown = value
        else:
            shown = json.dumps(value, ensure_ascii=False, sort_keys=True, default=_hex)
        parts.append("%s=%s" % (key, shown))
    return " ".join(parts)


def _hex(value: object) -> str:
    return value.hex() if isinstance(value, bytes) else str(value)


def render(records: "list[audit.Record]", zone: str) -> "list[str]":
    lines = []
    for r in records:
        line = "%s  #%d  %s  %s  %s  %s  %s" % (
            localtime.show(r.at_ms, zone),
            r.seq,
            r.actor,
            action_label(r.action),
            r.item or "-",
            outcome_label(r.outcome),
            details_text(r.details, zone),
        )
        lines.append(line.rstrip())
    return lines


def cmd_audit(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    if args.item is None and args.of is None:
        args.of = desk.user.name  # ``sealcam audit --user NAME``: one's own trail
    subject = args.item if args.item is not None else args.of
    extra = {"of": args.of} if args.of is not None else {}
    with desk.act(audit.AUDIT_READ, subject, **extra) as act:
        zone = str(settings.get(act.cur, settings.TIME_ZONE))
        if args.item is not None:
            ids, records = custody(act.cur, args.item)
            if len(ids) > 1:
                act.details["derivatives"] = ids[1:]
        else:
            ids, records = [], audit.history(act.cur, actor=args.of)
        act.details["records"] = len(records)
    if args.json:
        out = {
            "item": args.item,
            "of": args.of,
            "items": ids,
            "time_zone": zone,
            "records": [r.to_dict() for r in records],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    elif args.csv:
        print(audit.as_csv(records, lambda ms: localtime.show(ms, zone)), end="")
    else:
        if args.item is not None:
            head = i18n.text("audit.head_item", item=args.item, count=len(records), zone=zone)
            if len(ids) > 1:
                head += i18n.text("audit.with_derivatives", ids=", ".join(ids[1:]))
        else:
            head = i18n.text("audit.head_of", name=args.of, count=len(records), zone=zone)
        print("\n".join([head, *render(records, zone)]))
    return EXIT_OK


def add_audit(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam audit``."""
    from host.cli.auth import add_login_options

    a = sub.add_parser(
        "audit",
        help=i18n.text("cmd.audit"),
        description=i18n.text("audit.description"),
        epilog=i18n.text("audit.epilog"),
    )
    add_login_options(a)
    which = a.add_mutually_exclusive_group()
    which.add_argument("--item", metavar="ID", help=i18n.text("audit.item"))
    which.add_argument("--of", metavar="NAME", help=i18n.text("audit.of"))
    form = a.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help=i18n.text("audit.csv"))
    form.add_argument("--json", action="store_true", help=i18n.text("audit.json"))
    a.set_defaults(run=cmd_audit)
