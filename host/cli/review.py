"""``sealcam review``: the legal department's random review; ``sealcam report review`` and
``sealcam report violations``: what it and the rest of the store show, per unit and officer.

- ``review plan``: what may be sampled (a unit, an officer, or all; a period) and how many
  (``--rate`` or ``--count``);
- ``review draw PLAN``: the draw, with a seed nobody could know before (``host.sampling``);
- ``review replay PLAN``: the draw recomputed from what was recorded, check by check (exit 1
  when one fails);
- ``review queue``: the sampled recordings not reviewed yet, with what the ledger fills in;
- ``review finding ITEM``: a reviewer's findings from the checklist (``host.review``);
- ``report review``: per unit and officer, sampled, reviewed and findings;
- ``report violations``: everything R-HOST-10 names (``host.violations``), as text, JSON
  or CSV; exit 1 when it names any.

Every command acts as a person (``--evidence``, ``--user``) through ``host.access.Desk``:
a plan and a draw are ``sample-draw`` records in the audit trail, a review a ``review``
record (and so is reading the queue: only the legal department sees which recordings were
taken), a replay a ``verify`` record, a report a ``report`` record. Input that cannot be
used (an empty period, a rate outside (0, 1], a count below 1, a recording no draw took,
an unknown unit or officer) is one line, exit 2, and changes nothing but the record of the
attempt.
"""

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from host import audit, compliance, i18n, items, localtime, review, sampling, settings
from host import violations as violations_mod
from host.cli import auth
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem
from host.cli.items import local_moment, utc_ms
from host.cli.people import cell
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host.access import Desk
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore
    from host.sqlstore import Cursor


def add_review(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("review", help=i18n.text("cmd.review"))
    rsub = p.add_subparsers(dest="review_command", metavar="SUBCOMMAND", required=True)

    q = rsub.add_parser("plan", help=i18n.text("cmd.review plan"))
    auth.add_login_options(q)
    _scope_options(q, required=True)
    size = q.add_mutually_exclusive_group(required=True)
    # Read in the command, not by argparse: a size that cannot be used is one line, and the
    # attempt is on record, as every other refusal of a plan is.
    size.add_argument("--rate", help=i18n.text("review.opt_rate"))
    size.add_argument("--count", help=i18n.text("review.opt_count"))
    q.add_argument("--json", action="store_true", help=i18n.text("review.opt_json"))
    q.set_defaults(run=run_plan)

    for name, run in (("draw", run_draw), ("replay", run_replay)):
        q = rsub.add_parser(name, help=i18n.text("cmd.review " + name))
        auth.add_login_options(q)
        q.add_argument("plan", type=_plan_id, help=i18n.text("review.opt_plan"))
        q.add_argument("--json", action="store_true", help=i18n.text("review.opt_json"))
        q.set_defaults(run=run)

    q = rsub.add_parser("queue", help=i18n.text("cmd.review queue"))
    auth.add_login_options(q)
    q.add_argument("--plan", type=_plan_id, help=i18n.text("review.opt_plan"))
    q.add_argument("--json", action="store_true", help=i18n.text("review.opt_json"))
    q.set_defaults(run=run_queue)

    q = rsub.add_parser("finding", help=i18n.text("cmd.review finding"))
    auth.add_login_options(q)
    q.add_argument("item", help=i18n.text("review.opt_item"))
    q.add_argument("--plan", type=_plan_id, help=i18n.text("review.opt_plan"))
    q.add_argument("--add", action="append", default=[], metavar="CHECK",
                   help=i18n.text("review.opt_add", known=", ".join(review.CHECKLIST)))  # fmt: skip
    q.add_argument("--set-aside", action="append", default=[], metavar="CHECK",
                   help=i18n.text("review.opt_set_aside"))  # fmt: skip
    q.add_argument("--note", default="", help=i18n.text("review.opt_note"))
    q.add_argument("--json", action="store_true", help=i18n.text("review.opt_json"))
    q.set_defaults(run=run_finding)


def add_reports(reports: "argparse._SubParsersAction") -> None:
    """``report review`` and ``report violations`` under ``sealcam report``."""
    q = reports.add_parser("review", help=i18n.text("cmd.report review"))
    auth.add_login_options(q)
    _scope_options(q, required=True)
    q.add_argument("--json", action="store_true", help=i18n.text("review.opt_json"))
    q.set_defaults(run=run_report_review)

    q = reports.add_parser("violations", help=i18n.text("cmd.report violations"))
    auth.add_login_options(q)
    _scope_options(q, required=True)
    q.add_argument("--late-hours", type=_hours, default=24.0, metavar="HOURS",
                   help=i18n.text("review.opt_late_hours"))  # fmt: skip
    form = q.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help=i18n.text("review.opt_json"))
    form.add_argument("--csv", action="store_true", help=i18n.text("review.opt_csv"))
    q.set_defaults(run=run_report_violations)


def _scope_options(q: argparse.ArgumentParser, required: bool) -> None:
    q.add_argument("--unit", help=i18n.text("review.opt_unit"))
    q.add_argument("--officer", help=i18n.text("review.opt_officer"))
    q.add_argument("--since", type=local_moment, required=required, metavar="DATE",
                   help=i18n.text("review.opt_since"))  # fmt: skip
    q.add_argument("--until", type=local_moment, required=required, metavar="DATE",
                   help=i18n.text("review.opt_until"))  # fmt: skip


def _rate(text: "str | None") -> "float | None":
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:  # NaN too
        raise UsageProblem(i18n.text("review.err.rate", rate=text))
    return value


def _count(text: "str | None") -> "int | None":
    if text is None:
        return None
    given = text.strip()
    if not given.lstrip("-").isdigit() or int(given) < 1:
        raise UsageProblem(i18n.text("review.err.count", count=text))
    return int(given)


def _plan_id(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(i18n.text("review.err.plan_id", text=text))
    return int(text)


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(i18n.text("review.err.hours", text=text))
    return value


def _now() -> int:
    """The wall clock, looked up at each call (tests move ``host.access.wall_ms``)."""
    from host import access

    return access.wall_ms()


def _open(args: argparse.Namespace) -> "tuple[Desk, SqliteEvidenceStore | PgEvidenceStore]":
    from host.cli.people import acting_desk

    desk = acting_desk(args)
    store = desk.store
    store.add_tables(sampling.SCHEMA)
    store.add_tables(review.SCHEMA)
    desk.now = _now
    return desk, store  # type: ignore[return-value]  # acting_desk opens one of the two


def _zone(cur: "Cursor") -> str:
    return str(settings.get(cur, settings.TIME_ZONE))


def _period(args: argparse.Namespace, zone: str) -> "tuple[int, int]":
    since = utc_ms(args.since, zone, end=False)
    until = utc_ms(args.until, zone, end=True)
    assert since is not None and until is not None  # both required
    if until <= since:
        raise UsageProblem(i18n.text("review.err.period"))
    return since, until


def _show(ms: "int | None", zone: str) -> str:
    return "-" if not ms else localtime.show(ms, zone)


def _dump(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _scope_text(unit: "str | None", officer: "str | None") -> str:
    parts = []
    if unit:
        parts.append(i18n.text("review.scope_unit", unit=unit))
    if officer:
        parts.append(i18n.text("review.scope_officer", officer=officer))
    return i18n.text("review.scope_sep").join(parts) or i18n.text("review.scope_all")


def _scope(args: argparse.Namespace, cur: "Cursor") -> "tuple[str, int, int]":
    """A report's zone and period, once its unit and officer are known to the store."""
    zone = _zone(cur)
    since, until = _period(args, zone)
    _check_unit(cur, args.unit)
    if args.officer is not None:
        sampling.check_officer(cur, args.officer)
    return zone, since, until


def _check_unit(cur: "Cursor", unit: "str | None") -> None:
    if unit is not None:
        sampling.officers_of_unit(cur, unit)


# --- review -------------------------------------------------------------------------------


def run_plan(args: argparse.Namespace) -> int:
    desk, _ = _open(args)
    with desk.act(audit.SAMPLE, None, step="plan") as act:
        zone = _zone(act.cur)
        since, until = _period(args, zone)
        _check_unit(act.cur, args.unit)
        rate, wanted = _rate(args.rate), _count(args.count)
        plan, count = sampling.make_plan(
            act.cur, args.unit, args.officer, since, until, rate, wanted,
            desk.user.name, desk.now(),
        )  # fmt: skip
        act.details.update(
            plan=plan.plan_id, unit=args.unit, officer=args.officer, since_ms=since,
            until_ms=until, rate=rate, count=wanted, population=count,
        )  # fmt: skip
    size = sampling.sample_size(count, plan.rate, plan.count)
    if args.json:
        _dump({**plan.to_dict(), "population_now": count, "would_draw": size})
        return EXIT_OK
    print(
        i18n.text(
            "review.planned", plan=plan.plan_id, scope=_scope_text(plan.unit_id, plan.officer_id),
            since=_show(since, zone), until=_show(until, zone), count=count, size=size,
        )
    )  # fmt: skip
    return EXIT_OK


def run_draw(args: argparse.Namespace) -> int:
    desk, _ = _open(args)
    with desk.act(audit.SAMPLE, None, step="draw", plan=args.plan) as act:
        # Fresh randomness from the operating system at this moment, inside the write
        # transaction: the log's head it is mixed with cannot move meanwhile.
        drawn = sampling.draw(act.cur, args.plan, desk.user.name, desk.now(), os.urandom(32))
        act.details.update(drawn.audit_details())
        zone = _zone(act.cur)
    if args.json:
        _dump(drawn.to_dict())
        return EXIT_OK
    print(
        i18n.text(
            "review.drawn", plan=drawn.plan_id, chosen=len(drawn.sample),
            count=len(drawn.population), seed=drawn.seed.hex(), audit=drawn.audit_seq,
            when=_show(drawn.drawn_ms, zone),
        )
    )  # fmt: skip
    for item in drawn.sample:
        print("  " + item)
    return EXIT_OK


def run_replay(args: argparse.Namespace) -> int:
    desk, _ = _open(args)
    with desk.act(audit.VERIFY, None, what="sample-draw", plan=args.plan) as act:
        checks = sampling.replay(act.cur, args.plan)
        act.details["ok"] = all(c.ok for c in checks)
    ok = all(c.ok for c in checks)
    if args.json:
        _dump({"plan": args.plan, "ok": ok, "checks": [c.to_dict() for c in checks]})
        return EXIT_OK if ok else EXIT_NOT_OK
    for c in checks:
        state = i18n.text("review.check_ok") if c.ok else i18n.text("review.check_failed")
        print("%s  %s" % (cell(state, 8), i18n.text("review.check." + c.name, plan=args.plan)))
        added = c.detail.get("added") if c.name == "unchanged" else None
        if added:
            print("          " + i18n.text("review.check.added", count=len(added)))
    if ok:
        print(i18n.text("review.replay_ok", plan=args.plan))
    else:
        print(i18n.text("review.replay_not_ok", plan=args.plan))
    return EXIT_OK if ok else EXIT_NOT_OK


def _media(store: "SqliteEvidenceStore | PgEvidenceStore") -> "compliance.MediaReader":
    from host.evidence import EvidenceError

    def read(digest: bytes) -> "bytes | None":
        try:
            return store.read_media(digest)
        except EvidenceError:
            return None

    return read


def run_queue(args: argparse.Namespace) -> int:
    desk, store = _open(args)
    # The queue names recordings a draw took: a review action, never a plain view, so that
    # no officer learns which of their recordings will be looked at (R-HOST-7).
    with desk.act(audit.REVIEW, None, listed="queue", plan=args.plan) as act:
        if args.plan is not None:
            sampling.get_plan(act.cur, args.plan)
        waiting = review.queue(act.cur, args.plan)
        filled = [review.prefill_in_store(act.cur, it, None, _media(store)) for _, it in waiting]
        act.details["count"] = len(waiting)
        zone = _zone(act.cur)
    if args.json:
        _dump(
            [
                {"plan": plan, "item": it.to_dict(), "prefilled": [m.to_dict() for m in marks]}
                for (plan, it), marks in zip(waiting, filled, strict=True)
            ]
        )
        return EXIT_OK
    if not waiting:
        print(i18n.text("review.queue_empty"))
        return EXIT_OK
    for (plan, it), marks in zip(waiting, filled, strict=True):
        print(
            i18n.text(
                "review.queue_line", item=it.item_id, plan=plan, officer=it.officer or "-",
                started=_show(it.started_ms, zone),
            )
        )  # fmt: skip
        if not marks:
            print("    " + i18n.text("review.prefilled_none"))
        for m in marks:
            print("    " + _mark_text(m))
    return EXIT_OK


def _mark_text(m: review.Mark) -> str:
    where = "" if m.seq is None else i18n.text("review.at_seq", seq=m.seq)
    how = i18n.text("review.auto") if m.auto else i18n.text("review.by_reviewer")
    aside = i18n.text("review.set_aside") if m.set_aside else ""
    return "%s [%s] %s%s%s" % (m.code, m.rule, review.item_text(m.code), where, how + aside)


def run_finding(args: argparse.Namespace) -> int:
    desk, store = _open(args)
    with desk.act(audit.REVIEW, args.item, plan=args.plan) as act:
        item = items.get(act.cur, args.item)
        if item.kind != items.RECORDING:
            raise UsageProblem(i18n.text("review.err.not_sampled", item=args.item))
        review.plan_of(act.cur, args.item, args.plan)  # before any work: a draw took it
        auto = review.prefill_in_store(act.cur, item, None, _media(store))
        marks = review.judge(auto, args.add, args.set_aside, args.note)
        done = review.record(
            act.cur, args.item, args.plan, marks, args.note, desk.user.name, desk.now()
        )
        act.details.update(
            plan=done.plan_id,
            review=done.review_id,
            findings=[m.code for m in done.findings],
            set_aside=[m.code for m in done.marks if m.set_aside],
            note=args.note,
        )
    if args.json:
        _dump(done.to_dict())
        return EXIT_OK
    print(
        i18n.text("review.recorded", item=done.item_id, plan=done.plan_id, count=len(done.findings))
    )
    for m in done.marks:
        print("    " + _mark_text(m))
    return EXIT_OK


# --- reports ------------------------------------------------------------------------------


def run_report_review(args: argparse.Namespace) -> int:
    desk, _ = _open(args)
    with desk.act(audit.REPORT, None, report="review") as act:
        zone, since, until = _scope(args, act.cur)
        unit_of = violations_mod.unit_reader(act.cur)
        rows = review.summary(act.cur, since, until, unit_of, args.unit, args.officer)
        act.details.update(since_ms=since, until_ms=until, unit=args.unit, officer=args.officer)
    if args.json:
        _dump(
            {
                "since_ms": since,
                "until_ms": until,
                "time_zone": zone,
                "rows": [r.to_dict() for r in rows],
            }
        )
        return EXIT_OK
    print(i18n.text("review.report_title", since=_show(since, zone), until=_show(until, zone)))
    if not rows:
        print(i18n.text("review.report_none"))
        return EXIT_OK
    print(
        "%s %s %s %s %s"
        % (
            cell(i18n.text("review.col_unit"), 12),
            cell(i18n.text("review.col_officer"), 12),
            cell(i18n.text("review.col_sampled"), 8),
            cell(i18n.text("review.col_reviewed"), 8),
            i18n.text("review.col_findings"),
        )
    )
    for r in rows:
        found = i18n.text("review.scope_sep").join(
            "%s %d" % (review.item_text(code), n) for code, n in sorted(r.findings.items())
        )
        print(
            "%s %s %s %s %s"
            % (
                cell(r.unit_id or "-", 12),
                cell(r.officer_id or "-", 12),
                cell(str(r.sampled), 8),
                cell(str(r.reviewed), 8),
                found or "-",
            )
        )
    return EXIT_OK


def run_report_violations(args: argparse.Namespace) -> int:
    from host.evidence import SqliteEvidenceStore
    from host.periodcheck import check_period, check_scaleout_period

    desk, store = _open(args)
    try:  # what would refuse the report, found before the long check below
        problem = desk.refusal(audit.REPORT)
        if problem is not None:
            raise problem
        with desk.look() as cur:
            _, since, until = _scope(args, cur)
    except (Refused, Unusable):
        with desk.act(audit.REPORT, None, report="violations") as act:
            _scope(args, act.cur)  # the refusal again, now on record
        raise
    # The store's check for the period runs on its own read-only connection before the
    # report's record, so the write lock is not held meanwhile.
    policy = compliance.Policy(upload_hours=args.late_hours)
    checked_ms = desk.now()
    if isinstance(store, SqliteEvidenceStore):
        checkup = check_period(store.root, since, until, policy)
    else:
        checkup = check_scaleout_period(store, since, until, policy)
    with desk.act(audit.REPORT, None, report="violations") as act:
        zone, since, until = _scope(args, act.cur)
        found = violations_mod.report(
            act.cur, checkup, since, until, args.unit, args.officer, found_ms=checked_ms
        )
        act.details.update(
            since_ms=since, until_ms=until, unit=args.unit, officer=args.officer,
            count=len(found),
        )  # fmt: skip
    if args.json:
        _dump(
            {
                "since_ms": since,
                "until_ms": until,
                "time_zone": zone,
                "violations": [v.to_dict() for v in found],
            }
        )
        return EXIT_NOT_OK if found else EXIT_OK
    if args.csv:
        sys.stdout.write(violations_mod.as_csv(found, lambda ms: localtime.show(ms, zone)))
        return EXIT_NOT_OK if found else EXIT_OK
    print(
        i18n.text("violation.title", since=_show(since, zone), until=_show(until, zone),
                  count=len(found))
    )  # fmt: skip
    if not found:
        print(i18n.text("violation.none"))
    # The store's check of itself first, in its own section: it concerns every unit.
    store_wide = violations_mod.store_wide_of(found)
    sections = [(i18n.text("violation.store_group", count=len(store_wide)), store_wide)]
    sections = sections if store_wide else []
    for unit, who, group in violations_mod.grouped(found):
        if unit is None:
            head = i18n.text("violation.group_no_unit", who=who or "-", count=len(group))
        else:
            head = i18n.text("violation.group", unit=unit, who=who or "-", count=len(group))
        sections.append((head, group))
    for head, group in sections:
        print(head)
        for v in group:
            print(
                "  %s  %s [%s] %s"
                % (
                    _show(v.at_ms, zone),
                    i18n.text(violations_mod.KIND_TEXT[v.kind]),
                    v.rule,
                    violations_mod.violation_text(v),
                )
            )
    # Like the register's report: exit 1 when there is something to act on.
    return EXIT_NOT_OK if found else EXIT_OK
