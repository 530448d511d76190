"""``sealcam case add|show|list|link|unlink|close|check`` and ``sealcam item note``: cases,
the recordings they hold, what each recording proves, and the flags of a case whose footage
falls short (R-HOST-2, R-HOST-10, R-HOST-12; the rules are ``host.cases``).

Every command acts as a person through ``host.access.Desk.act``: making or closing a case
is ``case-change``, linking and unlinking ``link-case``, a recording's category and what it
proves ``categorise``, reading a case or the list ``view``; each leaves its audit record, and
an attempt the role does not allow, or one naming no case, is refused and recorded all the
same. Times are read and shown in the agency's zone (``host.settings``), and ``--json``
gives UTC milliseconds under stable keys.
"""

import argparse
import json
from typing import TYPE_CHECKING

from host import audit, cases, i18n, items, localtime, settings
from host.cli.auth import add_login_options, desk_from
from host.errors import EXIT_NOT_OK, EXIT_OK

if TYPE_CHECKING:
    from host.access import Desk
    from host.sqlstore import Cursor


def add_case(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "case",
        help="cases: their recordings, what each proves, and what the footage lacks",
        description=i18n.text("case.description"),
    )
    cs = p.add_subparsers(dest="case_command", metavar="ACTION", required=True)

    a = cs.add_parser("add", help="open a case")
    add_login_options(a)
    a.add_argument("--number", required=True, help=i18n.text("case.opt.number"))
    a.add_argument("--type", required=True, dest="case_type", help=i18n.text("case.opt.type"))
    a.add_argument("--title", required=True, help=i18n.text("case.opt.title"))
    a.add_argument("--responsible", required=True, help=i18n.text("case.opt.responsible"))
    a.add_argument("--place", required=True, help=i18n.text("case.opt.place"))
    a.add_argument("--when", required=True, help=i18n.text("case.opt.when"))
    a.add_argument("--major", action="store_true", help=i18n.text("case.opt.major"))
    a.set_defaults(run=cmd_add)

    s = cs.add_parser("show", help="a case, its recordings and its flags")
    add_login_options(s)
    s.add_argument("number", metavar="NUMBER", help=i18n.text("case.opt.number"))
    s.add_argument("--json", action="store_true", help=i18n.text("case.opt.json"))
    s.set_defaults(run=cmd_show)

    ls = cs.add_parser("list", help="the cases")
    add_login_options(ls)
    ls.add_argument("--type", dest="case_type", help=i18n.text("case.opt.list_type"))
    ls.add_argument("--flagged", action="store_true", help=i18n.text("case.opt.flagged"))
    ls.add_argument("--json", action="store_true", help=i18n.text("case.opt.json"))
    ls.set_defaults(run=cmd_list)

    ln = cs.add_parser("link", help="link recordings to a case")
    add_login_options(ln)
    ln.add_argument("number", metavar="NUMBER", help=i18n.text("case.opt.number"))
    ln.add_argument("items", nargs="+", metavar="ITEM", help=i18n.text("case.opt.items"))
    ln.set_defaults(run=cmd_link)

    un = cs.add_parser("unlink", help="take a recording out of a case, with the reason")
    add_login_options(un)
    un.add_argument("number", metavar="NUMBER", help=i18n.text("case.opt.number"))
    un.add_argument("item", metavar="ITEM", help=i18n.text("case.opt.item"))
    un.add_argument("--reason", required=True, help=i18n.text("case.opt.reason"))
    un.set_defaults(run=cmd_unlink)

    cl = cs.add_parser("close", help="close a case file")
    add_login_options(cl)
    cl.add_argument("number", metavar="NUMBER", help=i18n.text("case.opt.number"))
    cl.set_defaults(run=cmd_close)

    ck = cs.add_parser("check", help="the flags of one case or of every case (exit 1: some)")
    add_login_options(ck)
    ck.add_argument("number", nargs="?", metavar="NUMBER", help=i18n.text("case.opt.check_number"))
    ck.add_argument("--json", action="store_true", help=i18n.text("case.opt.json"))
    ck.set_defaults(run=cmd_check)


def add_item(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "item",
        help="a recording's category and what it is meant to prove",
        description=i18n.text("item.description"),
    )
    its = p.add_subparsers(dest="item_command", metavar="ACTION", required=True)
    n = its.add_parser("note", help="record a recording's category and what it proves")
    add_login_options(n)
    n.add_argument("item", metavar="ITEM", help=i18n.text("case.opt.item"))
    n.add_argument(
        "--category",
        help=i18n.text("item.opt.category", categories=", ".join(cases.CATEGORIES)),
    )
    n.add_argument("--proves", help=i18n.text("item.opt.proves"))
    n.set_defaults(run=cmd_note)


# --- the words a person reads --------------------------------------------------------------

N_ = i18n.N_
# The catalogue's name of each default case type, category and flag.
TYPE_LABELS = {
    "detention": N_("case.type.detention"),
    "search": N_("case.type.search"),
    "seizure": N_("case.type.seizure"),
    "injury": N_("case.type.injury"),
    "mass-incident": N_("case.type.mass-incident"),
    "inspection": N_("case.type.inspection"),
    "investigation": N_("case.type.investigation"),
    "preservation": N_("case.type.preservation"),
    "enforcement": N_("case.type.enforcement"),
    "hearing": N_("case.type.hearing"),
    "service": N_("case.type.service"),
    "traffic": N_("case.type.traffic"),
    "administrative": N_("case.type.administrative"),
}
CATEGORY_LABELS = {
    cases.ROUTINE: N_("case.category.routine"),
    cases.EVIDENCE: N_("case.category.evidence"),
    cases.OBSTRUCTION: N_("case.category.obstruction"),
    cases.EMERGENCY: N_("case.category.emergency"),
    cases.COMPLAINT: N_("case.category.complaint"),
    cases.TRAINING: N_("case.category.training"),
}
FLAG_TEXTS = {
    cases.PAUSED: N_("case.flag.paused"),
    cases.SEQ_GAP: N_("case.flag.seq-gap"),
    cases.NO_ANNOUNCEMENT: N_("case.flag.no-announcement"),
    cases.EMPTY_RECORDING: N_("case.flag.empty-recording"),
    cases.NO_FOOTAGE: N_("case.flag.no-footage"),
    cases.NOT_RECORDED: N_("case.flag.not-recorded-when-required"),
}


def type_label(kind: cases.CaseType) -> str:
    """A case type in the language in force: the agency's own label, the catalogue's, or
    its name."""
    lang = i18n.current()
    if kind.labels.get(lang):
        return kind.labels[lang]
    msg_id = TYPE_LABELS.get(kind.name)
    return i18n.text(msg_id) if msg_id else kind.name


def category_label(category: str) -> str:
    msg_id = CATEGORY_LABELS.get(category)
    return i18n.text(msg_id) if msg_id else category


def pause_reason(reason: str) -> str:
    """A pause's reason in the officer's terminal's words (``pause.*``), else its name."""
    msg_id = "pause." + reason
    return i18n.text(msg_id) if i18n.known(msg_id) else reason


def flag_text(flag: cases.CaseFlag, zone: str) -> str:
    """One flag in words: the rule, the recording, what it lacks."""
    d = flag.detail
    fields: dict = {"item": flag.item, "rule": flag.rule}
    if flag.code == cases.PAUSED:
        fields.update(at=localtime.show(d["at_ms"], zone), reason=pause_reason(d["reason"]))
        if d.get("resumed_ms") is None:
            return i18n.text("case.flag.paused_not_resumed", **fields)
        fields["resumed"] = localtime.show(d["resumed_ms"], zone)
    elif flag.code == cases.SEQ_GAP:
        fields.update(first=d["first"], last=d["last"], count=d["last"] - d["first"] + 1)
    elif flag.code == cases.NO_ANNOUNCEMENT:
        fields["seq"] = flag.seq
    return i18n.text(FLAG_TEXTS[flag.code], **fields)


def _rules_text(kind: cases.CaseType) -> str:
    words = []
    if kind.full:
        words.append(i18n.text("case.rules.full"))
    if kind.required:
        words.append(i18n.text("case.rules.required"))
    if kind.permanent:
        words.append(i18n.text("case.rules.permanent"))
    if not words:
        return ""
    return i18n.text("case.rules.list", rules=i18n.text("case.rules.sep").join(words))


def _zone(desk: "Desk") -> str:
    with desk.look() as cur:
        return str(settings.get(cur, settings.TIME_ZONE))


def _print_json(doc: object) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True))


def _type_dict(kind: cases.CaseType) -> dict:
    return {
        "name": kind.name,
        "full": kind.full,
        "required": kind.required,
        "permanent": kind.permanent,
    }


# --- the commands --------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    zone = _zone(desk)
    now = desk.now()
    with desk.act(audit.CASE_CHANGE, args.number, change="add") as act:
        case = cases.Case(
            case_no=cases.check_case_no(args.number),
            case_type=args.case_type,
            title=cases.check_text(i18n.text("case.what.title"), args.title),
            responsible=cases.check_text(i18n.text("case.what.responsible"), args.responsible),
            place=cases.check_text(i18n.text("case.what.place"), args.place),
            happened_ms=cases.parse_when(args.when, zone),
            opened_ms=now,
            closed_ms=None,
            major=bool(args.major),
            created_by=desk.user.name,
            created_ms=now,
        )
        cases.add(act.cur, case)
        act.details["new"] = case.to_dict()
        kind = cases.case_type(act.cur, case.case_type)
    print(
        i18n.text(
            "case.added",
            number=case.case_no,
            type=type_label(kind),
            when=localtime.show(case.happened_ms, zone),
        )
    )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    zone = _zone(desk)
    with desk.act(audit.VIEW, args.number, what="case") as act:
        case = cases.get(act.cur, args.number)
        kind = cases.kind_of(act.cur, case)
        held = cases.linked(act.cur, case.case_no)
        findings = cases.findings_of(act.cur, held) if cases.needs_findings(kind) else {}
        flags = cases.flags(kind, held, findings)
        act.details.update(items=len(held), flags=len(flags))
    if args.json:
        _print_json(
            {
                "case": case.to_dict(),
                "type": _type_dict(kind),
                "items": [_linked_dict(x) for x in held],
                "flags": [f.to_dict() for f in flags],
            }
        )
        return EXIT_OK
    for line in _case_lines(case, kind, held, flags, zone):
        print(line)
    return EXIT_OK


def _linked_dict(x: cases.Linked) -> dict:
    it = x.item
    return {
        "item_id": it.item_id,
        "kind": it.kind,
        "device_id": it.device_id,
        "rec": it.rec,
        "officer": it.officer,
        "started_ms": it.started_ms,
        "ended_ms": it.ended_ms,
        "chunks": it.chunks,
        "linked_by": x.linked_by,
        "linked_ms": x.linked_ms,
        "category": x.note.category if x.note else None,
        "proves": x.note.proves if x.note else None,
        "noted_by": x.note.noted_by if x.note else None,
        "noted_ms": x.note.noted_ms if x.note else None,
    }


def _case_lines(
    case: cases.Case,
    kind: cases.CaseType,
    held: "list[cases.Linked]",
    flags: "list[cases.CaseFlag]",
    zone: str,
) -> "list[str]":
    t = i18n.text
    lines = [t("case.head", number=case.case_no, type=type_label(kind), rules=_rules_text(kind))]
    rows = [
        ("case.label.title", case.title),
        ("case.label.responsible", case.responsible),
        ("case.label.place", case.place),
        ("case.label.happened", localtime.show(case.happened_ms, zone)),
        (
            "case.label.opened",
            t("case.by", when=localtime.show(case.opened_ms, zone), name=case.created_by),
        ),
        (
            "case.label.closed",
            localtime.show(case.closed_ms, zone) if case.closed_ms else t("case.open"),
        ),
        ("case.label.major", t("case.yes") if case.major else t("case.no")),
    ]
    lines += [t("case.row", label=t(label), value=value) for label, value in rows]
    lines.append(t("case.items", count=len(held)))
    for x in held:
        it = x.item
        lines.append(
            t(
                "case.item",
                item=it.item_id,
                start=localtime.show(it.started_ms, zone),
                end=localtime.show(it.ended_ms, zone),
                officer=it.officer or "-",
            )
        )
        if x.note:
            lines.append(
                t(
                    "case.item_note",
                    category=category_label(x.note.category),
                    proves=x.note.proves or "-",
                    name=x.note.noted_by,
                    when=localtime.show(x.note.noted_ms, zone),
                )
            )
        else:
            lines.append(t("case.item_no_note"))
    if flags:
        lines.append(t("case.flags", count=len(flags)))
        lines += ["  " + flag_text(f, zone) for f in flags]
    else:
        lines.append(t("case.no_flags"))
    return lines


def cmd_list(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    zone = _zone(desk)
    with desk.act(audit.VIEW, None, what="cases") as act:
        if args.case_type is not None:
            cases.case_type(act.cur, args.case_type)
            act.details["type"] = args.case_type
        found = cases.find(act.cur, args.case_type)
        kinds = cases.case_types(act.cur)
        flagged: dict = {}
        if args.flagged:
            act.details["flagged"] = True
            for case, _ in found:
                flagged[case.case_no] = cases.case_flags(act.cur, case)
            found = [(c, n) for c, n in found if flagged[c.case_no]]
        act.details["cases"] = len(found)
    if args.json:
        out = []
        for case, count in found:
            entry = dict(case.to_dict(), items=count)
            if args.flagged:
                entry["flags"] = [f.to_dict() for f in flagged[case.case_no]]
            out.append(entry)
        _print_json({"cases": out})
        return EXIT_OK
    for case, count in found:
        kind = kinds.get(case.case_type, cases.CaseType(case.case_type))
        print(
            i18n.text(
                "case.list_line",
                number=case.case_no,
                type=type_label(kind),
                title=case.title,
                when=localtime.show_date(case.happened_ms, zone),
                count=count,
                closed=i18n.text("case.closed_mark") if case.closed_ms else "",
            )
        )
        if args.flagged:
            print("  " + i18n.text("case.flags", count=len(flagged[case.case_no])))
    print(i18n.text("case.list_count", count=len(found)))
    return EXIT_OK


def cmd_link(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    # All or nothing: every item and the case are checked before any is linked, and a bad
    # one is refused (and recorded) with nothing changed.
    with desk.look() as cur:
        problem = _link_problem(cur, args.number, args.items)
    if problem is not None:
        item, exc = problem
        with desk.act(audit.LINK_CASE, item, case=args.number):
            raise exc
    added = 0
    for item in args.items:
        with desk.act(audit.LINK_CASE, item, case=args.number) as act:
            linked = cases.link(act.cur, args.number, item, desk.user.name, desk.now())
            act.details["linked"] = linked
        added += linked
    print(i18n.text("case.linked", number=args.number, count=added, given=len(args.items)))
    return EXIT_OK


def _link_problem(cur: "Cursor", number: str, given: "list[str]") -> "tuple | None":
    """The first thing named that does not exist: (what to name in the audit record, the
    error), or None."""
    try:
        cases.get(cur, number)
    except cases.CaseError as exc:
        return number, exc
    for item in given:
        try:
            items.get(cur, item)
        except items.ItemError as exc:
            return item, exc
    return None


def cmd_unlink(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    with desk.act(audit.LINK_CASE, args.item, case=args.number, change="unlink") as act:
        reason = cases.check_text(i18n.text("case.what.reason"), args.reason)
        by, at = cases.unlink(act.cur, args.number, args.item)
        act.details.update(reason=reason, linked_by=by, linked_ms=at)
    print(i18n.text("case.unlinked", number=args.number, item=args.item))
    return EXIT_OK


def cmd_close(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    zone = _zone(desk)
    now = desk.now()
    with desk.act(audit.CASE_CHANGE, args.number, change="close") as act:
        cases.close(act.cur, args.number, now)
        act.details.update(old={"closed_ms": None}, new={"closed_ms": now})
    print(i18n.text("case.closed", number=args.number, when=localtime.show(now, zone)))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    zone = _zone(desk)
    with desk.act(audit.VIEW, args.number, what="case-check") as act:
        if args.number is not None:
            chosen = [cases.get(act.cur, args.number)]
        else:
            chosen = [case for case, _ in cases.find(act.cur)]
        results = [(case, cases.case_flags(act.cur, case)) for case in chosen]
        act.details.update(cases=len(results), flagged=sum(1 for _, f in results if f))
    flagged = [(case, f) for case, f in results if f]
    if args.json:
        _print_json(
            {
                "checked": len(results),
                "flagged": [
                    {
                        "case_no": case.case_no,
                        "case_type": case.case_type,
                        "flags": [x.to_dict() for x in f],
                    }
                    for case, f in flagged
                ],
            }
        )
    else:
        for case, f in flagged:
            print(i18n.text("case.check_case", number=case.case_no, count=len(f)))
            for x in f:
                print("  " + flag_text(x, zone))
        print(i18n.text("case.check_total", checked=len(results), flagged=len(flagged)))
    return EXIT_NOT_OK if flagged else EXIT_OK


def cmd_note(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    zone = _zone(desk)
    now = desk.now()
    with desk.act(audit.CATEGORISE, args.item) as act:
        old, new = cases.note(act.cur, args.item, args.category, args.proves, desk.user.name, now)
        act.details["old"] = old.to_dict() if old else None
        act.details["new"] = {"category": new.category, "proves": new.proves}
    print(
        i18n.text(
            "item.noted",
            item=args.item,
            category=category_label(new.category),
            proves=new.proves,
            when=localtime.show(now, zone),
        )
    )
    return EXIT_OK
