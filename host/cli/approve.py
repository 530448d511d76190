"""``sealcam restrict`` and ``sealcam approval``: restricted footage and its approvals
(R-HOST-6), and the refused attempts at it, surfaced as possible leaking (R-HOST-10).

Each command acts as a user through ``host.access.Desk.act``: the role is checked and the
step is an audit record (``restrict``, ``request-approval``, ``approve``, ``refuse``), or a
refused one. Revoking an approval is a ``refuse`` record whose details say ``revoke``: the
approver withdraws, from now on, the consent given. Dates are read, and times shown, in the
agency's time zone (``host.settings``, ``host.localtime``); ``--json`` gives UTC ms.
"""

import argparse
import json
from typing import TYPE_CHECKING

from host import access, audit, i18n, localtime, restricted, settings
from host.cli.auth import add_login_options
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem
from host.cli.people import acting_desk

if TYPE_CHECKING:
    from host.access import Desk


def local_ms(text: str, zone: str, end_of_day: bool = False) -> int:
    """UTC milliseconds of ``text``, a date or a time in ``zone`` (``host.localtime.parse``:
    one syntax for every command). A date alone is the start of that day, or, with
    ``end_of_day``, its end (the next day's start): an approval ``--until 2026-12-31``
    holds all of the 31st. UsageProblem for anything else."""
    try:
        return localtime.parse(text, zone, end_of_day)
    except ValueError:  # not a date, or past year 9999
        raise UsageProblem(i18n.text("approval.bad_date", text=text, zone=zone)) from None


def _approval_id(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(i18n.text("approval.bad_id", text=text))
    return int(text)


def _zone(desk: "Desk") -> str:
    with desk.look() as cur:
        return str(settings.get(cur, settings.TIME_ZONE))


def add_restrict(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam restrict``."""
    kinds = ", ".join(restricted.KINDS)
    p = sub.add_parser(
        "restrict",
        help=i18n.text("cmd.restrict"),
        description=i18n.text("cmd.restrict"),
        epilog="Example: sealcam restrict SC-0001/42 --kind private --reason 'a witness is "
        "named' --evidence evidence/ --user li",
    )
    add_login_options(p)
    p.add_argument("item", metavar="ITEM", help=i18n.text("restrict.opt_item"))
    p.add_argument(
        "--kind", choices=restricted.KINDS, help=i18n.text("restrict.opt_kind", kinds=kinds)
    )
    p.add_argument("--reason", required=True, help=i18n.text("restrict.opt_reason"))
    p.add_argument("--lift", action="store_true", help=i18n.text("restrict.opt_lift"))
    p.set_defaults(run=cmd_restrict)


def cmd_restrict(args: argparse.Namespace) -> int:
    if not args.lift and not args.kind:
        raise UsageProblem(i18n.text("restrict.no_kind", kinds=" | ".join(restricted.KINDS)))
    desk = acting_desk(args)
    with desk.act(audit.RESTRICT, args.item) as act:
        if args.lift:
            act.details.update(restricted.lift(act.cur, args.item, args.reason))
        else:
            act.details.update(
                restricted.mark(
                    act.cur, args.item, args.kind, args.reason, desk.user.name, desk.now()
                )
            )
    kind = restricted.kind_text(str(act.details["kind"]))
    msg_id = i18n.N_("restrict.lifted") if args.lift else i18n.N_("restrict.marked")
    print(i18n.text(msg_id, item=args.item, kind=kind))
    return EXIT_OK


def add_approval(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam approval request|grant|refuse|revoke|list|attempts``."""
    p = sub.add_parser(
        "approval",
        help=i18n.text("cmd.approval"),
        description=i18n.text("cmd.approval"),
    )
    steps = p.add_subparsers(dest="step", metavar="STEP", required=True)

    q = steps.add_parser(
        "request",
        help=i18n.text("cmd.approval request"),
        description=i18n.text("cmd.approval request"),
        epilog="Example: sealcam approval request SC-0001/42 --action export --purpose "
        "'court case 2026-17' --until 2026-12-31 --evidence evidence/ --user li",
    )
    add_login_options(q)
    q.add_argument("item", metavar="ITEM", help=i18n.text("restrict.opt_item"))
    q.add_argument(
        "--action",
        required=True,
        choices=restricted.GATED,
        help=i18n.text("approval.opt_action", actions=", ".join(restricted.GATED)),
    )
    q.add_argument("--purpose", required=True, help=i18n.text("approval.opt_purpose"))
    q.add_argument("--until", required=True, help=i18n.text("approval.opt_until"))
    q.set_defaults(run=cmd_request)

    g = steps.add_parser(
        "grant",
        help=i18n.text("cmd.approval grant"),
        description=i18n.text("cmd.approval grant"),
    )
    add_login_options(g)
    g.add_argument("id", metavar="ID", type=_approval_id, help=i18n.text("approval.opt_id"))
    g.add_argument("--until", help=i18n.text("approval.opt_grant_until"))
    g.set_defaults(run=cmd_grant)

    r = steps.add_parser(
        "refuse",
        help=i18n.text("cmd.approval refuse"),
        description=i18n.text("cmd.approval refuse"),
    )
    add_login_options(r)
    r.add_argument("id", metavar="ID", type=_approval_id, help=i18n.text("approval.opt_id"))
    r.add_argument("--reason", required=True, help=i18n.text("approval.opt_refuse_reason"))
    r.set_defaults(run=cmd_refuse)

    v = steps.add_parser(
        "revoke",
        help=i18n.text("cmd.approval revoke"),
        description=i18n.text("cmd.approval revoke"),
    )
    add_login_options(v)
    v.add_argument("id", metavar="ID", type=_approval_id, help=i18n.text("approval.opt_id"))
    v.add_argument("--reason", default="", help=i18n.text("approval.opt_revoke_reason"))
    v.set_defaults(run=cmd_revoke)

    li = steps.add_parser(
        "list",
        help=i18n.text("cmd.approval list"),
        description=i18n.text("cmd.approval list"),
    )
    add_login_options(li)
    li.add_argument("--pending", action="store_true", help=i18n.text("approval.opt_pending"))
    li.add_argument("--json", action="store_true", help=i18n.text("approval.opt_json"))
    li.set_defaults(run=cmd_list)

    a = steps.add_parser(
        "attempts",
        help=i18n.text("cmd.approval attempts"),
        description=i18n.text("cmd.approval attempts"),
    )
    add_login_options(a)
    a.add_argument("--since", help=i18n.text("approval.opt_since"))
    a.add_argument("--json", action="store_true", help=i18n.text("approval.opt_json"))
    a.set_defaults(run=cmd_attempts)


def _item_of(desk: "Desk", approval_id: int) -> "str | None":
    """The item approval ``approval_id`` is about, for its audit record (None when there
    is no such approval: the step then fails in one line, and is recorded without one)."""
    with desk.look() as cur:
        found = restricted.find(cur, approval_id)
    return found.item_id if found else None


def _show(ms: "int | None", zone: str) -> str:
    return localtime.show(ms, zone) if ms is not None else "-"


def said(msg_id: str, a: restricted.Approval, zone: str, **more: str) -> str:
    """Message ``msg_id`` about approval ``a``: each step's message reads what it needs of
    one field list (the number, who it is for, what for, the item, until when, the purpose)."""
    return i18n.text(
        msg_id,
        id=a.id,
        user=a.for_user,
        doing=restricted.action_text(a.action),
        item=a.item_id,
        until=_show(a.until_ms, zone),
        purpose=a.purpose,
        **more,
    )


def cmd_request(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    until = local_ms(args.until, zone, end_of_day=True)
    # (not "action": that is the name of act's own argument)
    asked_for = {"for_action": args.action, "purpose": args.purpose, "until_ms": until}
    with desk.act(audit.REQUEST_APPROVAL, args.item, **asked_for) as act:
        asked = restricted.request(
            act.cur, args.item, args.action, desk.user.name, args.purpose, until, desk.now()
        )
        act.details["approval"] = asked.id
    print(said("approval.requested", asked, zone))
    return EXIT_OK


def cmd_grant(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    until = local_ms(args.until, zone, end_of_day=True) if args.until else None
    with desk.act(audit.APPROVE, _item_of(desk, args.id), step="grant", approval=args.id) as act:
        done = restricted.grant(act.cur, args.id, desk.user.name, desk.now(), until)
        granted = {"for_user": done.for_user, "action": done.action, "until_ms": done.until_ms}
        act.details.update(granted, purpose=done.purpose)
    print(said("approval.granted", done, zone, approver=desk.user.name))
    return EXIT_OK


def cmd_refuse(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(
        audit.REFUSE, _item_of(desk, args.id), step="refuse", approval=args.id, reason=args.reason
    ) as act:
        done = restricted.refuse(act.cur, args.id, desk.user.name, args.reason, desk.now())
        act.details.update(for_user=done.for_user, action=done.action)
    print(said("approval.refused", done, _zone(desk), approver=desk.user.name, reason=args.reason))
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(
        audit.REFUSE, _item_of(desk, args.id), step="revoke", approval=args.id, reason=args.reason
    ) as act:
        done = restricted.revoke(act.cur, args.id, desk.user.name, args.reason, desk.now())
        act.details.update(for_user=done.for_user, action=done.action)
    print(said("approval.revoked", done, _zone(desk), approver=desk.user.name))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    # An officer sees their own requests; evidence staff and approvers see every one.
    mine = desk.user.name if desk.user.officer_only else None
    with desk.act(audit.VIEW, None, listed="approvals", pending=args.pending) as act:
        now = desk.now()
        found = restricted.listing(act.cur, now, pending=args.pending, for_user=mine)
        act.details["count"] = len(found)
    if args.json:
        print(json.dumps([a.to_dict(now) for a in found], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not found:
        print(i18n.text("approval.none_pending") if args.pending else i18n.text("approval.none"))
    for a in found:
        print(_row(a, now, zone))
    return EXIT_OK


def _row(a: restricted.Approval, now: int, zone: str) -> str:
    """One approval as a line: what was asked, and who decided it when."""
    decided = ""
    if a.approved_ms is not None:
        decided += i18n.text(
            "approval.by_granted", who=a.approved_by, when=_show(a.approved_ms, zone)
        )
    if a.refused_ms is not None:
        decided += i18n.text(
            "approval.by_refused",
            who=a.refused_by,
            when=_show(a.refused_ms, zone),
            note=a.decision_note or "",
        )
    if a.revoked_ms is not None:
        msg_id = (
            i18n.N_("approval.by_revoked_note")
            if a.decision_note
            else i18n.N_("approval.by_revoked")
        )
        decided += i18n.text(
            msg_id, who=a.revoked_by, when=_show(a.revoked_ms, zone), note=a.decision_note
        )
    return i18n.text(
        "approval.row",
        id=a.id,
        state=restricted.state_text(a.state(now)),
        item=a.item_id,
        doing=restricted.action_text(a.action),
        user=a.for_user,
        until=_show(a.until_ms, zone),
        purpose=a.purpose,
        asked=_show(a.requested_ms, zone),
        decided=decided,
    )


# Why host.access refused an attempt, as a person reads it (other reasons show as recorded).
WHY = {
    access.RESTRICTED: i18n.N_("approval.why_restricted"),
    access.NOT_ALLOWED: i18n.N_("approval.why_role"),
    access.NOT_OWN: i18n.N_("approval.why_not_own"),
}


def _why(reason: str) -> str:
    return i18n.text(WHY[reason]) if reason in WHY else reason


def _attempt_line(r: "audit.Record", zone: str) -> str:
    return i18n.text(
        "approval.attempt",
        when=localtime.show(r.at_ms, zone),
        actor=r.actor,
        doing=restricted.action_text(r.action),
        item=r.item,
        reason=_why(str(r.details.get("reason", "-"))),
    )


def cmd_attempts(args: argparse.Namespace) -> int:
    """Possible leaking first (the refusals at the door: exit 1 when any), then, apart and
    with their reasons, the attempts at restricted footage refused for another reason."""
    desk = acting_desk(args)
    zone = _zone(desk)
    since = local_ms(args.since, zone) if args.since else 0
    with desk.act(audit.AUDIT_READ, None, query="leak-attempts", since_ms=since) as act:
        found = restricted.leak_attempts(act.cur, since)
        other = restricted.other_refusals(act.cur, since)
        act.details.update(count=len(found), other=len(other))
    code = EXIT_NOT_OK if found else EXIT_OK
    if args.json:
        out = {
            "leaking": [r.to_dict() for r in found],
            "other": [r.to_dict() for r in other],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return code
    for r in found:
        print(_attempt_line(r, zone))
    when = (
        i18n.text("approval.since_date", date=localtime.show(since, zone))
        if args.since
        else i18n.text("approval.since_ever")
    )
    msg_id = i18n.N_("approval.attempts_found") if found else i18n.N_("approval.attempts_none")
    print(i18n.text(msg_id, count=len(found), since=when))
    if other:
        print(i18n.text("approval.other_head", count=len(other), since=when))
        for r in other:
            print("  " + _attempt_line(r, zone))
    return code
