"""``sealcam device ...``, ``sealcam unit ...``, ``sealcam report allocation|devices``: the
register of recorders (台账), checkouts (领用), returns (归还) and handovers (交接), units
and their officers, allocation (配备) against each unit's class, and what the register finds
in the footage (R-HOST-8, R-HOST-9, R-HOST-10; the rules are ``host.registers`` and
``host.allocation``).

Every command acts as a person through ``host.access.Desk.act``: a change to the register
or the units is ``register``, taking a device out ``checkout``, giving it back ``return``,
passing it on ``handover``, reading the register ``view`` and a report ``report``; each
leaves its audit record, and an attempt that the role does not allow, that names nothing
the register knows or that contradicts it (a device already out, never taken, not held by
the giver) is refused in one line and recorded all the same, with nothing changed. Times
are read and shown in the agency's zone; ``--json`` gives UTC milliseconds. The reports
exit 1 when they find something (a unit short of recorders, a finding), as ``sealcam case
check`` does.
"""

import argparse
import csv
import io
import json
from typing import TYPE_CHECKING

from host import allocation, audit, i18n, localtime, registers, settings
from host.cli.auth import add_login_options
from host.cli.items import local_moment, utc_ms
from host.cli.people import acting_desk, cell
from host.errors import EXIT_NOT_OK, EXIT_OK

if TYPE_CHECKING:
    from host.access import Desk

N_ = i18n.N_
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
REPORT_DAYS = 30  # the period of ``report devices`` when none is given: the last 30 days


def _with_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=i18n.text("register.opt.json"))


def add_device(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "device",
        help="the register of recorders: checkout, return, handover, state, upkeep",
        description=i18n.text("device.description"),
    )
    ds = p.add_subparsers(dest="device_command", metavar="ACTION", required=True)

    a = ds.add_parser("add", help="put an enrolled recorder in the register")
    add_login_options(a)
    a.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    a.add_argument("--model", required=True, help=i18n.text("device.opt.model"))
    a.add_argument("--serial", required=True, help=i18n.text("device.opt.serial"))
    a.add_argument("--unit", required=True, help=i18n.text("device.opt.unit"))
    a.add_argument("--keeper", required=True, help=i18n.text("device.opt.keeper"))
    a.set_defaults(run=cmd_add)

    ch = ds.add_parser("set", help="change a recorder's unit, keeper, model or serial")
    add_login_options(ch)
    ch.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    ch.add_argument("--unit", help=i18n.text("device.opt.unit"))
    ch.add_argument("--keeper", help=i18n.text("device.opt.keeper"))
    ch.add_argument("--model", help=i18n.text("device.opt.model"))
    ch.add_argument("--serial", help=i18n.text("device.opt.serial"))
    ch.set_defaults(run=cmd_set)

    ls = ds.add_parser("list", help="the recorders in the register")
    add_login_options(ls)
    ls.add_argument("--unit", help=i18n.text("device.opt.list_unit"))
    ls.add_argument("--state", choices=registers.STATES, help=i18n.text("device.opt.list_state"))
    _with_json(ls)
    ls.set_defaults(run=cmd_list)

    s = ds.add_parser("show", help="one recorder: its particulars, log and checkouts")
    add_login_options(s)
    s.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    _with_json(s)
    s.set_defaults(run=cmd_show)

    st = ds.add_parser("state", help="a recorder in service, in repair, lost or retired")
    add_login_options(st)
    st.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    st.add_argument("state", metavar="STATE", help=i18n.text("device.opt.state"))
    st.add_argument("--note", help=i18n.text("device.opt.note"))
    st.set_defaults(run=cmd_state)

    m = ds.add_parser("maintain", help="note maintenance of a recorder")
    add_login_options(m)
    m.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    m.add_argument("--note", required=True, help=i18n.text("device.opt.maintain_note"))
    m.set_defaults(run=cmd_maintain)

    c = ds.add_parser("checkout", help="an officer takes a recorder out")
    add_login_options(c)
    c.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    c.add_argument("--officer", required=True, help=i18n.text("device.opt.officer"))
    due = c.add_mutually_exclusive_group(required=True)
    due.add_argument("--due", type=local_moment, help=i18n.text("device.opt.due"))
    due.add_argument("--hours", type=_hours, help=i18n.text("device.opt.hours"))
    c.set_defaults(run=cmd_checkout)

    r = ds.add_parser("return", help="a recorder comes back")
    add_login_options(r)
    r.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    r.add_argument("--officer", help=i18n.text("device.opt.return_officer"))
    r.set_defaults(run=cmd_return)

    h = ds.add_parser("handover", help="one officer passes a recorder to another")
    add_login_options(h)
    h.add_argument("device", metavar="DEVICE", help=i18n.text("device.opt.device"))
    h.add_argument("--from", dest="giver", required=True, help=i18n.text("device.opt.from"))
    h.add_argument("--to", dest="receiver", required=True, help=i18n.text("device.opt.to"))
    h.add_argument("--due", type=local_moment, help=i18n.text("device.opt.handover_due"))
    h.set_defaults(run=cmd_handover)


def add_unit(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "unit",
        help="units: their class, front-line officers and members",
        description=i18n.text("unit.description"),
    )
    us = p.add_subparsers(dest="unit_command", metavar="ACTION", required=True)

    a = us.add_parser("add", help="add a unit")
    add_login_options(a)
    a.add_argument("unit", metavar="UNIT", help=i18n.text("unit.opt.unit"))
    a.add_argument("--name", required=True, help=i18n.text("unit.opt.name"))
    a.add_argument("--class", dest="klass", required=True, help=i18n.text("unit.opt.class"))
    a.add_argument("--officers", required=True, help=i18n.text("unit.opt.officers"))
    a.add_argument("--parent", help=i18n.text("unit.opt.parent"))
    a.set_defaults(run=cmd_unit_add)

    s = us.add_parser("set", help="change a unit's name, class, officers or parent")
    add_login_options(s)
    s.add_argument("unit", metavar="UNIT", help=i18n.text("unit.opt.unit"))
    s.add_argument("--name", help=i18n.text("unit.opt.name"))
    s.add_argument("--class", dest="klass", help=i18n.text("unit.opt.class"))
    s.add_argument("--officers", help=i18n.text("unit.opt.officers"))
    s.add_argument("--parent", help=i18n.text("unit.opt.set_parent"))
    s.set_defaults(run=cmd_unit_set)

    ls = us.add_parser("list", help="the units, their officers and recorders")
    add_login_options(ls)
    _with_json(ls)
    ls.set_defaults(run=cmd_unit_list)

    m = us.add_parser("member", help="put officers in a unit")
    add_login_options(m)
    m.add_argument("officers", nargs="+", metavar="OFFICER", help=i18n.text("unit.opt.member"))
    m.add_argument("--unit", required=True, help=i18n.text("unit.opt.member_unit"))
    m.set_defaults(run=cmd_unit_member)


def add_reports(rs: "argparse._SubParsersAction") -> None:
    """``report allocation`` and ``report devices`` under ``sealcam report``."""
    a = rs.add_parser("allocation", help="each unit's recorders in service against its class")
    add_login_options(a)
    form = a.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help=i18n.text("register.opt.json"))
    form.add_argument("--csv", action="store_true", help=i18n.text("register.opt.csv"))
    a.set_defaults(run=cmd_report_allocation)

    d = rs.add_parser("devices", help="losses, late returns and footage against the register")
    add_login_options(d)
    d.add_argument("--since", type=local_moment, help=i18n.text("register.opt.since"))
    d.add_argument("--until", type=local_moment, help=i18n.text("register.opt.until"))
    d.add_argument("--unit", help=i18n.text("register.opt.unit"))
    d.add_argument("--officer", help=i18n.text("register.opt.officer"))
    form = d.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help=i18n.text("register.opt.json"))
    form.add_argument("--csv", action="store_true", help=i18n.text("register.opt.csv"))
    d.set_defaults(run=cmd_report_devices)


def _hours(text: str) -> float:
    """An argparse type: hours until the device is due back, more than 0, at most 31 days."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 31 * 24:
        raise argparse.ArgumentTypeError(i18n.text("device.bad_hours", text=text))
    return value


# --- the words a person reads --------------------------------------------------------------

STATE_LABELS = {
    registers.IN_SERVICE: N_("device.state.in-service"),
    registers.IN_REPAIR: N_("device.state.in-repair"),
    registers.LOST: N_("device.state.lost"),
    registers.RETIRED: N_("device.state.retired"),
}
LOG_LABELS = {
    registers.LOG_REGISTER: N_("device.log.register"),
    registers.LOG_STATE: N_("device.log.state"),
    registers.LOG_MAINTENANCE: N_("device.log.maintenance"),
    registers.LOG_CHANGE: N_("device.log.change"),
}
FINDING_TEXTS = {
    registers.F_LOST: N_("register.finding.lost"),
    registers.F_NOT_RETURNED: N_("register.finding.not-returned"),
    registers.F_WRONG_OFFICER: N_("register.finding.wrong-officer"),
    registers.F_LOST_DOCKED: N_("register.finding.lost-docked"),
    registers.F_RETIRED_DOCKED: N_("register.finding.retired-docked"),
}


# ``allocation.rule.`` + a unit's class.
CLASS_RULES = (N_("allocation.rule.A"), N_("allocation.rule.B"), N_("allocation.rule.C"))


def state_label(state: "str | None") -> str:
    msg_id = STATE_LABELS.get(state or "")
    return i18n.text(msg_id) if msg_id else (state or "-")


def _zone(desk: "Desk") -> str:
    with desk.look() as cur:
        return str(settings.get(cur, settings.TIME_ZONE))


def _print_json(doc: object) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True))


def finding_text(f: registers.DeviceFinding, zone: str) -> str:
    """One finding in words: when, the device, what happened, the rule."""
    d = f.detail
    show = lambda ms: localtime.show(ms, zone) if ms is not None else "-"  # noqa: E731
    fields: dict = {
        "at": show(f.at_ms),
        "device": f.device_id,
        "officer": f.officer_id or "-",
        "item": f.item_id or "-",
        "unit": f.unit_id or "-",
        "rule": f.rule,
    }
    if f.kind == registers.F_NOT_RETURNED:
        fields["taken"] = show(d.get("taken_ms"))
        if d.get("returned_ms") is not None:
            fields["returned"] = show(d["returned_ms"])
            return i18n.text("register.finding.returned-late", **fields)
    elif f.kind == registers.F_WRONG_OFFICER:
        holder = d.get("holder")
        fields["holder"] = holder if holder else i18n.text("register.nobody")
    elif f.kind in (registers.F_LOST_DOCKED, registers.F_RETIRED_DOCKED):
        fields["since"] = show(d.get("state_ms"))
        how = (
            N_("register.when.docked")
            if d.get("when") == "docked"
            else N_("register.when.recorded")
        )
        fields["how"] = i18n.text(how)
    elif f.kind == registers.F_LOST:
        fields["note"] = d.get("note") or "-"
    return i18n.text(FINDING_TEXTS[f.kind], **fields)


# --- device commands -----------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.REGISTER, args.device, change="device-add") as act:
        dev = registers.register(
            act.cur,
            args.device,
            args.model,
            args.serial,
            args.unit,
            args.keeper,
            desk.user.name,
            desk.now(),
        )
        act.details["new"] = dev.to_dict()
    print(i18n.text("device.added", device=dev.device_id, unit=dev.unit_id, keeper=dev.keeper))
    return EXIT_OK


def cmd_set(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.REGISTER, args.device, change="device-set") as act:
        old, new = registers.change(
            act.cur,
            args.device,
            desk.user.name,
            desk.now(),
            unit_id=args.unit,
            keeper=args.keeper,
            model=args.model,
            serial=args.serial,
        )
        keys = ("unit_id", "keeper", "model", "serial")
        act.details.update(
            old={k: getattr(old, k) for k in keys}, new={k: getattr(new, k) for k in keys}
        )
    print(
        i18n.text(
            "device.changed",
            device=new.device_id,
            unit=new.unit_id,
            keeper=new.keeper,
            model=new.model,
            serial=new.serial,
        )
    )
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    with desk.act(audit.VIEW, None, what="devices", unit=args.unit, state=args.state) as act:
        if args.unit is not None:
            registers.unit(act.cur, args.unit)
        found = registers.devices(act.cur, args.unit, args.state)
        held = {d.device_id: registers.open_checkout(act.cur, d.device_id) for d in found}
        act.details["count"] = len(found)
    if args.json:
        out = []
        for d in found:
            c = held[d.device_id]
            out.append(dict(d.to_dict(), checkout=c.to_dict() if c else None))
        _print_json({"devices": out})
        return EXIT_OK
    for d in found:
        c = held[d.device_id]
        out_text = (
            i18n.text("device.list_out", officer=c.officer_id, due=localtime.show(c.due_ms, zone))
            if c
            else i18n.text("device.list_in")
        )
        print(
            "  ".join(
                [
                    cell(d.device_id, 14),
                    cell(d.unit_id, 10),
                    cell(state_label(d.state), 10),
                    cell(d.model, 12),
                    cell(d.serial, 12),
                    out_text,
                ]
            )
        )
    print(i18n.text("device.list_count", count=len(found)))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    with desk.act(audit.VIEW, args.device, what="device") as act:
        dev = registers.device(act.cur, args.device)
        log = registers.history(act.cur, args.device)
        held = registers.checkouts(act.cur, args.device)
    if args.json:
        _print_json(
            {
                "device": dev.to_dict(),
                "log": [e.to_dict() for e in log],
                "checkouts": [c.to_dict() for c in held],
            }
        )
        return EXIT_OK
    t = i18n.text
    show = lambda ms: localtime.show(ms, zone)  # noqa: E731
    state = t("device.since", state=state_label(dev.state), when=show(dev.state_ms))
    registered = t("device.by", when=show(dev.registered_ms), name=dev.registered_by)
    rows = [
        ("device.label.model", dev.model),
        ("device.label.serial", dev.serial),
        ("device.label.unit", dev.unit_id),
        ("device.label.keeper", dev.keeper),
        ("device.label.state", state),
        ("device.label.key", dev.public_key or "-"),
        ("device.label.registered", registered),
    ]  # fmt: skip
    print(t("device.head", device=dev.device_id))
    for label, value in rows:
        print(t("device.row", label=t(label), value=value))
    print(t("device.log_head", count=len(log)))
    for e in log:
        what = LOG_LABELS.get(e.kind)
        change = ""
        if e.kind == registers.LOG_REGISTER:
            change = state_label(e.new)
        elif e.kind == registers.LOG_STATE:
            change = t("device.log_states", old=state_label(e.old), new=state_label(e.new))
        print(
            t(
                "device.log_line",
                when=show(e.at_ms),
                what=t(what) if what else e.kind,
                change=change,
                note=e.note or "",
                name=e.by,
            )
        )
    print(t("device.checkouts_head", count=len(held)))
    for c in held:
        print(
            t(
                "device.checkout_line",
                officer=c.officer_id,
                taken=show(c.taken_ms),
                due=show(c.due_ms),
                returned=show(c.returned_ms) if c.returned_ms else t("register.not_yet"),
                handed=t("device.handed_from", officer=c.handed_from) if c.handed_from else "",
            )
        )
    return EXIT_OK


def cmd_state(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    now = desk.now()
    with desk.act(audit.REGISTER, args.device, change="state") as act:
        old, new = registers.set_state(
            act.cur, args.device, args.state, args.note, desk.user.name, now
        )
        act.details.update(old={"state": old}, new={"state": new}, note=args.note)
    print(
        i18n.text(
            "device.state_set",
            device=args.device,
            old=state_label(old),
            new=state_label(new),
            when=localtime.show(now, zone),
        )
    )
    return EXIT_OK


def cmd_maintain(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    with desk.act(audit.REGISTER, args.device, change="maintenance") as act:
        entry = registers.maintain(act.cur, args.device, args.note, desk.user.name, desk.now())
        act.details["note"] = entry.note
    print(
        i18n.text("device.maintained", device=args.device, when=localtime.show(entry.at_ms, zone))
    )
    return EXIT_OK


def cmd_checkout(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    now = desk.now()
    given = utc_ms(args.due, zone, end=True) if args.due else None
    due = given if given is not None else now + int(args.hours * HOUR_MS)
    with desk.act(audit.CHECKOUT, args.device, officer=args.officer, due_ms=due) as act:
        c = registers.checkout(act.cur, args.device, args.officer, due, desk.user.name, now)
        act.details["checkout"] = c.id
    print(
        i18n.text(
            "device.checked_out",
            device=c.device_id,
            officer=c.officer_id,
            when=localtime.show(c.taken_ms, zone),
            due=localtime.show(c.due_ms, zone),
        )
    )
    return EXIT_OK


def cmd_return(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    with desk.act(audit.RETURN, args.device, officer=args.officer) as act:
        now = desk.now()
        c = registers.give_back(act.cur, args.device, desk.user.name, now, args.officer)
        act.details.update(checkout=c.id, officer=c.officer_id, late=now > c.due_ms)
    key = N_("device.returned_late") if now > c.due_ms else N_("device.returned")
    print(
        i18n.text(
            key,
            device=c.device_id,
            officer=c.officer_id,
            when=localtime.show(now, zone),
            due=localtime.show(c.due_ms, zone),
        )
    )
    return EXIT_OK


def cmd_handover(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    now = desk.now()
    due = utc_ms(args.due, zone, end=True) if args.due else None
    with desk.act(audit.HANDOVER, args.device, giver=args.giver, receiver=args.receiver) as act:
        ended, new = registers.handover(
            act.cur, args.device, args.giver, args.receiver, desk.user.name, now, due
        )
        act.details.update(ended=ended.id, checkout=new.id, due_ms=new.due_ms)
    print(
        i18n.text(
            "device.handed_over",
            device=args.device,
            giver=args.giver,
            receiver=args.receiver,
            when=localtime.show(now, zone),
            due=localtime.show(new.due_ms, zone),
        )
    )
    return EXIT_OK


# --- unit commands -------------------------------------------------------------------------


def cmd_unit_add(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.REGISTER, args.unit, change="unit-add") as act:
        u = registers.add_unit(
            act.cur, args.unit, args.name, args.klass, args.officers, args.parent
        )
        act.details["new"] = u.to_dict()
    _say_unit("unit.added", u)
    return EXIT_OK


def cmd_unit_set(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.REGISTER, args.unit, change="unit-set") as act:
        old, new = registers.set_unit(
            act.cur, args.unit, args.name, args.klass, args.officers, args.parent
        )
        act.details.update(old=old.to_dict(), new=new.to_dict())
    _say_unit("unit.changed", new)
    return EXIT_OK


def _say_unit(msg_id: str, u: "registers.Unit") -> None:
    print(
        i18n.text(
            msg_id,
            unit=u.unit_id,
            name=u.name,
            klass=u.klass,
            officers=u.officers,
            required=allocation.required(u.klass, u.officers),
        )
    )


def cmd_unit_list(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.VIEW, None, what="units") as act:
        found = registers.units(act.cur)
        people = registers.members(act.cur)
        act.details["count"] = len(found)
    by_unit: dict[str, list[str]] = {}
    for officer, unit_id in people:
        by_unit.setdefault(unit_id, []).append(officer)
    if args.json:
        _print_json(
            {"units": [dict(u.to_dict(), members=by_unit.get(u.unit_id, [])) for u in found]}
        )
        return EXIT_OK
    for u in found:
        print(
            i18n.text(
                "unit.list_line",
                unit=u.unit_id,
                name=u.name,
                klass=u.klass,
                officers=u.officers,
                parent=u.parent or "-",
                members=", ".join(by_unit.get(u.unit_id, [])) or "-",
            )
        )
    print(i18n.text("unit.list_count", count=len(found)))
    return EXIT_OK


def cmd_unit_member(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    # All or nothing: one action, one record, every officer in it.
    with desk.act(audit.REGISTER, args.unit, change="members", officers=args.officers) as act:
        moved = {o: registers.set_member(act.cur, o, args.unit) for o in args.officers}
        act.details["old"] = moved
    print(i18n.text("unit.members_set", unit=args.unit, count=len(args.officers)))
    return EXIT_OK


# --- reports -------------------------------------------------------------------------------

# The columns of the reports' CSV (stable names, as --json's keys).
ALLOCATION_CSV = ["unit_id", "name", "class", "officers", "required", "in_service", "other"]
ALLOCATION_CSV += ["met", "rule", "parent", "with_sub_units", "total_officers"]
ALLOCATION_CSV += ["total_required", "total_in_service", "units_short"]
FINDINGS_CSV = ["at", "at_ms", "kind", "rule", "device_id", "officer_id", "unit_id", "item_id"]
FINDINGS_CSV += ["text"]


def cmd_report_allocation(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    with desk.act(audit.REPORT, None, report="allocation") as act:
        judged = allocation.allocation(act.cur)
        act.details.update(units=len(judged), short=sum(1 for u in judged if not u.met))
    short = [u for u in judged if not u.met]
    if args.json:
        _print_json({"rule": allocation.RULE, "units": [u.to_dict() for u in judged]})
    elif args.csv:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(ALLOCATION_CSV)
        for u in judged:
            other = ";".join("%s=%d" % kv for kv in u.other.items())
            row = [u.unit_id, u.name, u.klass, u.officers, u.required, u.in_service, other]
            r = u.rollup
            rolled = (
                ["", "", "", "", ""]
                if r is None
                else [";".join(r.units[1:]), r.officers, r.required, r.in_service,
                      ";".join(r.short_units)]
            )  # fmt: skip
            w.writerow([*row, int(u.met), allocation.RULE, u.parent or "", *rolled])
        print(out.getvalue(), end="")
    else:
        for u in judged:
            other = ", ".join(
                i18n.text("allocation.other_state", state=state_label(s), count=n)
                for s, n in u.other.items()
            )
            line = N_("allocation.line") if u.met else N_("allocation.line_short")
            print(
                i18n.text(
                    line,
                    unit=u.unit_id,
                    name=u.name,
                    klass=u.klass,
                    rule=i18n.text("allocation.rule." + u.klass),
                    officers=u.officers,
                    required=u.required,
                    in_service=u.in_service,
                    short=u.short,
                    other=i18n.text("allocation.others", states=other) if other else "",
                )
            )
            r = u.rollup
            if r is not None:
                print(
                    i18n.text(
                        N_("allocation.rollup") if r.met else N_("allocation.rollup_short"),
                        subunits=len(r.units) - 1,
                        units=", ".join(r.units[1:]),
                        officers=r.officers,
                        required=r.required,
                        in_service=r.in_service,
                        short_units=", ".join(r.short_units),
                    )
                )
        print(i18n.text("allocation.total", units=len(judged), short=len(short)))
    return EXIT_NOT_OK if short else EXIT_OK


def cmd_report_devices(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    zone = _zone(desk)
    now = desk.now()
    given = utc_ms(args.until, zone, end=True)
    # A period reaching past now is judged as the register stands now: a checkout due later
    # is not late yet.
    # Up to now includes what happened at this very millisecond (a loss just reported).
    until = now + 1 if given is None or given > now else given
    start = utc_ms(args.since, zone, end=False)
    since = until - REPORT_DAYS * DAY_MS if start is None else start
    asked = {"unit": args.unit, "officer": args.officer}
    with desk.act(
        audit.REPORT, None, report="devices", since_ms=since, until_ms=until, **asked
    ) as act:
        if args.unit is not None:
            registers.unit(act.cur, args.unit)
        found = [
            f
            for f in registers.device_findings(act.cur, since, until)
            if args.unit in (None, f.unit_id) and args.officer in (None, f.officer_id)
        ]
        act.details["findings"] = len(found)
    if args.json:
        _print_json(
            {
                "since_ms": since,
                "until_ms": until,
                "findings": [f.to_dict() for f in found],
            }
        )
    elif args.csv:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(FINDINGS_CSV)
        for f in found:
            w.writerow(
                [
                    localtime.show(f.at_ms, zone),
                    f.at_ms,
                    f.kind,
                    f.rule,
                    f.device_id,
                    f.officer_id or "",
                    f.unit_id or "",
                    f.item_id or "",
                    finding_text(f, zone),
                ]
            )
        print(out.getvalue(), end="")
    else:
        print(
            i18n.text(
                "register.report_head",
                since=localtime.show(since, zone),
                until=localtime.show(until, zone),
            )
        )
        for f in found:
            print("  " + finding_text(f, zone))
        print(i18n.text("register.report_total", count=len(found)))
    return EXIT_NOT_OK if found else EXIT_OK
