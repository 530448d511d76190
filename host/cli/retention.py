"""``sealcam retention``: the retention plan, the agency's policy, legal holds, and deletion.

Every subcommand acts as a person (``--evidence``, ``--user``): the rules and the store's
side are ``host.retention``; each change goes through ``host.access.Desk.act``, so it and
its audit record land together, and a refusal (a hold, a period not over, a permanent class
shortened, one's own request approved) changes nothing and is recorded all the same.
"""

import argparse
import json
import sys
from typing import TYPE_CHECKING

from host import audit, cases, i18n, objectlock, retention
from host.cli import auth
from host.cli import case as case_cmd
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host.access import Desk
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore
    from host.sqlstore import Cursor


def add_retention(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("retention", help=i18n.text("cmd.retention"))
    rsub = p.add_subparsers(dest="retention_command", metavar="SUBCOMMAND", required=True)

    q = rsub.add_parser("plan", help=i18n.text("cmd.retention plan"))
    auth.add_login_options(q)
    q.add_argument("--within", type=_days, default=0, metavar="DAYS",
                   help=i18n.text("retention.opt_within"))  # fmt: skip
    q.add_argument("--json", action="store_true", help=i18n.text("retention.opt_json"))
    q.set_defaults(run=run_plan)

    q = rsub.add_parser("policy", help=i18n.text("cmd.retention policy"))
    auth.add_login_options(q)
    q.add_argument("--years", type=int, help=i18n.text("retention.opt_years"))
    q.add_argument("--category", action="append", default=[], metavar="CATEGORY=YEARS",
                   help=i18n.text("retention.opt_category"))  # fmt: skip
    q.add_argument("--after-close-years", metavar="YEARS|default",
                   help=i18n.text("retention.opt_after_close"))  # fmt: skip
    q.add_argument("--forever", action="append", default=[], metavar="CATEGORY",
                   help=i18n.text("retention.opt_forever"))  # fmt: skip
    q.add_argument("--grace-days", type=int, help=i18n.text("retention.opt_grace"))
    q.add_argument("--json", action="store_true", help=i18n.text("retention.opt_json"))
    q.set_defaults(run=run_policy)

    for name, run in (("hold", run_hold), ("release", run_release)):
        q = rsub.add_parser(name, help=i18n.text("cmd.retention " + name))
        auth.add_login_options(q)
        q.add_argument("item", nargs="?", help=i18n.text("retention.opt_item"))
        q.add_argument("--case", metavar="NUMBER", help=i18n.text("retention.opt_case"))
        q.add_argument("--reason", required=True, help=i18n.text("retention.opt_reason"))
        q.set_defaults(run=run)

    q = rsub.add_parser("delete", help=i18n.text("cmd.retention delete"))
    auth.add_login_options(q)
    q.add_argument("item", help=i18n.text("retention.opt_item"))
    q.add_argument("--reason", required=True, help=i18n.text("retention.opt_reason"))
    q.set_defaults(run=run_delete)

    q = rsub.add_parser("approve", help=i18n.text("cmd.retention approve"))
    auth.add_login_options(q)
    q.add_argument("item", help=i18n.text("retention.opt_item"))
    q.set_defaults(run=run_approve)

    q = rsub.add_parser("undo", help=i18n.text("cmd.retention undo"))
    auth.add_login_options(q)
    q.add_argument("item", help=i18n.text("retention.opt_item"))
    q.add_argument("--reason", default="", help=i18n.text("retention.opt_reason"))
    q.set_defaults(run=run_undo)

    q = rsub.add_parser("run", help=i18n.text("cmd.retention run"))
    auth.add_login_options(q)
    q.add_argument("--json", action="store_true", help=i18n.text("retention.opt_json"))
    q.set_defaults(run=run_run)

    q = rsub.add_parser("keep-up", help=i18n.text("cmd.retention keep-up"),
                        description=i18n.text("lock.description"))  # fmt: skip
    auth.add_login_options(q)
    q.add_argument("--margin", type=_days, default=None, metavar="DAYS",
                   help=i18n.text("lock.opt_margin", days=MARGIN_DAYS))  # fmt: skip
    q.add_argument("--full", action="store_true", help=i18n.text("lock.opt_full"))
    q.add_argument("--json", action="store_true", help=i18n.text("retention.opt_json"))
    q.set_defaults(run=run_keep_up)


MARGIN_DAYS = objectlock.STEP_DAYS  # host.medialocks.MARGIN_DAYS, without importing it here
SHOWN = 10  # objects named one by one on a terminal; the rest counted


def _days(text: str) -> int:
    if not text.isdigit() or int(text) > 36500:
        raise argparse.ArgumentTypeError(i18n.text("retention.bad_days", text=text))
    return int(text)


def _open(args: argparse.Namespace) -> "tuple[Desk, SqliteEvidenceStore | PgEvidenceStore]":
    """The desk and its store: either kind removes the media retention deleted (files, or
    objects once their lock allows it)."""
    store = auth.open_store(args.evidence, args.media)
    store.add_tables(retention.SCHEMA)
    return auth.desk_for(store, args.user), store


def _desk(args: argparse.Namespace) -> "Desk":
    return _open(args)[0]


def _zone(cur: "Cursor") -> str:
    from host import settings

    return str(settings.get(cur, settings.TIME_ZONE))


def _show(ms: "int | None", zone: str) -> str:
    from host import localtime

    return "-" if ms is None else localtime.show(ms, zone)


def rule_text(rule: retention.Rule, pol: retention.Policy, category: "str | None") -> str:
    """The rule that decided, as a person reads it."""
    years = {
        retention.DEFAULT: pol.years,
        retention.CATEGORY: pol.base_years(category),
        retention.CASE_CLOSED: pol.closed_years(),
    }.get(rule.name, 0)
    label = case_cmd.category_label(category) if category else ""
    return i18n.text("retention.rule." + rule.name, years=years, case=rule.case_no or "",
                     category=label)  # fmt: skip


def _check_deletable(cur: "Cursor", item_id: str, now_ms: int) -> "retention.Verdict":
    """The verdict on ``item_id``; Refused while a hold or the retention rules forbid its
    deletion now."""
    pol = retention.policy(cur)
    facts = retention.facts(cur, item_id)
    verdict = retention.decide(facts, pol)
    if verdict.held:
        held = retention.holds_on(cur, item_id)
        first = held[0] if held else (0, None, "", "", 0)
        raise Refused(
            i18n.text(
                "retention.refused_held",
                item=item_id,
                by=first[3],
                when=_show(first[4], _zone(cur)),
                reason=first[2],
                case=i18n.text("retention.through_case", case=first[1]) if first[1] else "",
            ),
            retention.HELD,
        )
    if not verdict.deletable(now_ms):
        rule = rule_text(verdict.rule, pol, facts.category)
        if verdict.rule.level == retention.DATED:
            message = i18n.text(
                "retention.refused_not_due",
                item=item_id,
                until=_show(verdict.rule.until_ms, _zone(cur)),
                rule=rule,
            )
            raise Refused(message, retention.NOT_DUE)
        forever = verdict.rule.level == retention.FOREVER
        reason = retention.PERMANENT if forever else retention.NOT_DUE
        raise Refused(i18n.text("retention.refused_kept", item=item_id, rule=rule), reason)
    return verdict


def _recording(cur: "Cursor", item_id: str) -> None:
    from host import items

    item = items.get(cur, item_id)
    if item.kind != items.RECORDING:
        raise Unusable(i18n.text("retention.not_recording", item=item_id))


# --- the commands ----------------------------------------------------------------------------


def run_plan(args: argparse.Namespace) -> int:
    desk = _desk(args)
    now = desk.now()
    until = now + args.within * retention.DAY_MS
    with desk.act(audit.VIEW, None, what="retention-plan", until_ms=until) as act:
        pol = retention.policy(act.cur)
        rows = retention.plan(act.cur, pol, until)
        zone = _zone(act.cur)
        act.details["items"] = len(rows)
    if args.json:
        print(json.dumps({
            "now_ms": now,
            "until_ms": until,
            "policy": pol.to_dict(),
            "items": [
                {
                    "item": r.item_id,
                    "deletable_from_ms": r.until_ms,
                    "rule": r.rule,
                    "case": r.case_no,
                    "category": r.category,
                    "held": r.held,
                    "deletion": r.state,
                    "grace_until_ms": r.grace_until_ms,
                }
                for r in rows
            ],
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return EXIT_OK
    print(i18n.text("retention.plan_head", until=_show(until, zone), count=len(rows),
                    years=pol.years, grace=pol.grace_days))  # fmt: skip
    for r in rows:
        v = r.verdict
        if v.held:
            state = i18n.text("retention.state_held")
        elif r.state == "requested":
            state = i18n.text("retention.state_requested")
        elif r.state == "approved":
            state = i18n.text("retention.state_approved", until=_show(r.grace_until_ms, zone))
        elif v.deletable(now):
            state = i18n.text("retention.state_deletable")
        else:
            state = i18n.text("retention.state_later")
        rule = rule_text(v.rule, pol, r.category)
        when = _show(v.rule.until_ms, zone)
        print(i18n.text("retention.plan_row", item=v.item_id.ljust(24), when=when, rule=rule,
                        state=state))  # fmt: skip
    return EXIT_OK


def run_policy(args: argparse.Namespace) -> int:
    desk = _desk(args)
    changes = (
        args.years is not None
        or args.category
        or args.after_close_years is not None
        or args.forever
        or args.grace_days is not None
    )
    if not changes:
        with desk.look() as cur:
            pol = retention.policy(cur)
        _print_policy(pol, args.json)
        return EXIT_OK
    with desk.act(audit.POLICY_CHANGE, None, what="retention") as act:
        old = retention.policy(act.cur)
        new = _changed(old, args)
        problem = retention.policy_problem(old, new)
        if problem is not None:
            reason, msg_id, fields = problem
            raise Refused(i18n.text(msg_id, **fields), reason)
        act.details["changed"] = retention.put_policy(act.cur, new)
    _print_policy(new, args.json)
    return EXIT_OK


def _changed(old: retention.Policy, args: argparse.Namespace) -> retention.Policy:
    """The policy the options ask for (UsageProblem for an option that names nothing)."""
    known = cases.CATEGORIES
    by_category = dict(old.by_category)
    for spec in args.category:
        category, sep, value = spec.partition("=")
        category = category.strip()
        if not sep or category not in known or not (value.isdigit() or value == "default"):
            raise UsageProblem(
                i18n.text("retention.bad_category", spec=spec, categories=", ".join(known))
            )
        if value == "default":
            by_category.pop(category, None)
        else:
            by_category[category] = int(value)
    forever = set(old.forever_categories)
    for category in args.forever:
        if category not in known:
            raise UsageProblem(
                i18n.text("retention.bad_category", spec=category, categories=", ".join(known))
            )
        forever.add(category)
    after = old.after_close_years
    if args.after_close_years is not None:
        text = args.after_close_years
        if not (text.isdigit() or text == "default"):
            raise UsageProblem(i18n.text("retention.bad_years", text=text))
        after = None if text == "default" else int(text)
    years = old.years if args.years is None else args.years
    grace = old.grace_days if args.grace_days is None else args.grace_days
    # Below the minimum is the rules' refusal (exit 1, recorded); beyond any sense, a typo.
    for value in (years, after or 0, *by_category.values()):
        if not 0 <= value <= retention.MAX_YEARS:
            raise UsageProblem(i18n.text("retention.bad_years", text=value))
    if not 0 <= grace <= retention.MAX_GRACE_DAYS:
        raise UsageProblem(i18n.text("retention.bad_grace", text=grace))
    return old._replace(
        years=years,
        by_category=by_category,
        after_close_years=after,
        forever_categories=frozenset(forever),
        grace_days=grace,
    )


def _print_policy(pol: retention.Policy, as_json: bool) -> None:
    if as_json:
        print(json.dumps(pol.to_dict(), indent=2, ensure_ascii=False))
        return
    none = i18n.text("retention.none")
    sep = i18n.text("retention.list_sep")
    print(i18n.text("retention.policy_years", years=pol.years))
    periods = sorted(pol.by_category.items())
    print(
        i18n.text(
            "retention.policy_categories",
            categories=sep.join("%s %d" % (case_cmd.category_label(c), n) for c, n in periods)
            or none,
        )
    )
    print(i18n.text("retention.policy_after_close", years=pol.closed_years()))
    forever = sorted(set(retention.PERMANENT_CATEGORIES) | pol.forever_categories)
    types = [case_cmd.type_label(cases.CaseType(t)) for t in sorted(pol.permanent_case_types)]
    print(i18n.text("retention.policy_forever",
                    categories=sep.join(map(case_cmd.category_label, forever)),
                    types=sep.join(types) or none))  # fmt: skip
    print(i18n.text("retention.policy_grace", days=pol.grace_days))


def _target(args: argparse.Namespace) -> "tuple[str | None, str | None]":
    if (args.item is None) == (args.case is None):
        raise UsageProblem(i18n.text("retention.item_or_case"))
    return args.item, args.case


def run_hold(args: argparse.Namespace) -> int:
    item, case = _target(args)
    reason = _reason(args.reason)
    desk = _desk(args)
    target = item if item is not None else case
    with desk.act(audit.HOLD, target, reason=reason, on="item" if item else "case") as act:
        if case is not None:
            if not retention.case_exists(act.cur, case):
                raise Unusable(i18n.text("retention.no_case", case=case))
        else:
            from host import items

            items.get(act.cur, str(item))
        hold = retention.place_hold(act.cur, item, case, reason, desk.user.name, desk.now())
        act.details["hold"] = hold
    print(i18n.text("retention.held", target=target, hold=hold))
    return EXIT_OK


def run_release(args: argparse.Namespace) -> int:
    item, case = _target(args)
    reason = _reason(args.reason)
    desk = _desk(args)
    target = item if item is not None else case
    with desk.act(audit.RELEASE_HOLD, target, reason=reason) as act:
        released = retention.release_holds(act.cur, item, case, reason, desk.user.name, desk.now())
        if not released:
            raise Unusable(i18n.text("retention.not_held", target=target))
        act.details["holds"] = released
    print(i18n.text("retention.released", target=target, count=len(released)))
    return EXIT_OK


def _reason(text: str) -> str:
    if not text.strip():
        raise UsageProblem(i18n.text("retention.no_reason"))
    return text.strip()


def run_delete(args: argparse.Namespace) -> int:
    reason = _reason(args.reason)
    desk = _desk(args)
    with desk.act(audit.DELETE_REQUEST, args.item, reason=reason) as act:
        _recording(act.cur, args.item)
        live = retention.live_deletion(act.cur, args.item)
        if live is not None:
            raise Refused(
                i18n.text("retention.already", item=args.item, by=live.requested_by),
                retention.ALREADY,
            )
        verdict = _check_deletable(act.cur, args.item, desk.now())
        deletion = retention.request(act.cur, args.item, reason, desk.user.name, desk.now())
        act.details.update(deletion=deletion, rule=verdict.rule.name, until_ms=verdict.until_ms)
    print(i18n.text("retention.requested", item=args.item))
    return EXIT_OK


def run_approve(args: argparse.Namespace) -> int:
    desk = _desk(args)
    with desk.act(audit.DELETE_APPROVE, args.item) as act:
        live = retention.live_deletion(act.cur, args.item)
        if live is None or live.approved_ms is not None:
            raise Refused(i18n.text("retention.nothing_to_approve", item=args.item),
                          retention.NO_REQUEST)  # fmt: skip
        if live.requested_by == desk.user.name:
            raise Refused(i18n.text("retention.own_request", item=args.item), retention.OWN_REQUEST)
        _check_deletable(act.cur, args.item, desk.now())
        pol = retention.policy(act.cur)
        grace = retention.approve(act.cur, live, desk.user.name, desk.now(), pol.grace_days)
        zone = _zone(act.cur)
        act.details.update(deletion=live.id, requested_by=live.requested_by, grace_until_ms=grace)
    print(i18n.text("retention.approved", item=args.item, until=_show(grace, zone)))
    return EXIT_OK


def run_undo(args: argparse.Namespace) -> int:
    desk = _desk(args)
    with desk.act(audit.DELETE_UNDO, args.item, reason=args.reason) as act:
        live = retention.live_deletion(act.cur, args.item)
        if live is None or live.deleted_ms is not None:
            raise Refused(i18n.text("retention.nothing_to_undo", item=args.item),
                          retention.NO_REQUEST)  # fmt: skip
        if live.grace_until_ms is not None and desk.now() >= live.grace_until_ms:
            raise Refused(
                i18n.text("retention.grace_over", item=args.item,
                          until=_show(live.grace_until_ms, _zone(act.cur))),
                retention.GRACE_OVER,
            )  # fmt: skip
        retention.undo(act.cur, live, desk.user.name, desk.now())
        act.details["deletion"] = live.id
    print(i18n.text("retention.undone", item=args.item))
    return EXIT_OK


def _check_unlocked(store: object, cur: "Cursor", item: str, digests: list) -> None:
    """Refused (``objectlock.LOCKED``) while the object store's lock still keeps any of the
    item's media (a scale-out store: a retain-until not passed, a legal hold): the
    deletion stays approved, and the refusal is on record; a later run deletes it. The lock
    runs by the object store's clock, not the desk's: the store judges it by wall time."""
    locked = getattr(store, "locked_media", None)
    kept = locked(digests) if locked is not None else []
    if not kept:
        return
    untils = [lock.until_ms for _d, lock in kept if lock.until_ms is not None]
    held = any(lock.held for _d, lock in kept)
    until = _show(max(untils), _zone(cur)) if untils else "-"
    raise Refused(
        i18n.text("lock.waiting", item=item, count=len(kept), until=until,
                  held=i18n.text("lock.held") if held else ""),
        objectlock.LOCKED,
    )  # fmt: skip


def run_run(args: argparse.Namespace) -> int:
    """Remove the media of every approved deletion whose grace period is over, after
    checking the hold and the rules again; one ``delete`` record per item names its
    digests, committed before any file goes."""
    desk, store = _open(args)
    now = desk.now()
    with store.write() as cur:  # an index of the ledger, as items.refresh: no action
        retention.refresh_refs(cur)
    with desk.look() as cur:
        due = retention.due(cur, now)
        left = retention.deleted_digests(cur)
    done, refused, waiting = [], [], []
    for d in due:
        try:
            with desk.act(audit.DELETE, d.item_id) as act:
                _check_deletable(act.cur, d.item_id, now)
                named = retention.media_of(act.cur, d.item_id)
                # A file another recording still names stays; it goes with the last of them.
                kept = [x for x in named if retention.shared(act.cur, x, d.item_id)]
                digests = [x for x in named if x not in kept]
                _check_unlocked(store, act.cur, d.item_id, digests)
                retention.mark_deleted(act.cur, d, digests, now)
                act.details.update(
                    deletion=d.id,
                    reason=d.reason,
                    requested_by=d.requested_by,
                    approved_by=d.approved_by,
                    approved_ms=d.approved_ms,
                    digests=digests,
                )
                if kept:
                    act.details["kept_shared"] = kept
        except Refused as exc:
            if exc.reason == objectlock.LOCKED:  # the lock decides when: not an error
                waiting.append({"item": d.item_id, "waiting": str(exc)})
                if not args.json:
                    print(exc)
                continue
            refused.append({"item": d.item_id, "refused": str(exc)})
            if not args.json:
                print(i18n.text("retention.run_refused", item=d.item_id, problem=exc),
                      file=sys.stderr)  # fmt: skip
            continue
        removed = store.remove_media(digests)
        done.append(
            {
                "item": d.item_id,
                "files": removed,
                "digests": [x.hex() for x in digests],
                "kept_shared": [x.hex() for x in kept],
            }
        )
        if not args.json:
            print(i18n.text("retention.run_done", item=d.item_id, files=removed))
    # Files a run cut off before removing them (its record is committed): removed now.
    leftover = [x for x in left if store.has_media(x)]
    finished = store.remove_media(leftover) if leftover else 0
    # Objects the object store still kept (its clock ahead of this host's): tried again by
    # the next run, as files a run was cut off before removing.
    still = [x.hex() for x in getattr(store, "refused_removals", [])]
    if args.json:
        print(json.dumps({"now_ms": now, "deleted": done, "refused": refused,
                          "waiting": waiting, "still_locked": still,
                          "finished_earlier": finished}, indent=2))  # fmt: skip
        return EXIT_NOT_OK if refused else EXIT_OK
    for digest in still:
        print(i18n.text("lock.refused", digest=digest))
    if finished:
        print(i18n.text("retention.run_finished", files=finished))
    if not due and not finished:
        print(i18n.text("retention.run_none"))
    return EXIT_NOT_OK if refused else EXIT_OK


def run_keep_up(args: argparse.Namespace) -> int:
    """Keep the scale-out store's object locks up with retention (``host.medialocks.keep_up``):
    meant to run daily from a timer. One ``lock-keep-up`` record per run with its counts;
    exit 1 while a lock it planned is not set (the object store refused or went away)."""
    from host.evidence import EvidenceError
    from host.progress import Progress

    desk, store = _open(args)
    now = desk.now()
    margin = MARGIN_DAYS if args.margin is None else args.margin
    if not hasattr(store, "pending_locks"):  # the embedded store: files, no object locks
        with desk.act(audit.LOCK_KEEP_UP, None, store="embedded", objects=0, extended=0):
            pass
        if args.json:
            print(json.dumps({"now_ms": now, "locks": False, "objects": 0, "extended": 0}))
        else:
            print(i18n.text("lock.embedded", evidence=args.evidence))
        return EXIT_OK
    from host import medialocks

    bar = None if args.json else Progress(i18n.text("lock.progress"), 1, bytes_=False)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = max(total, 1)
            bar.update(done)

    try:
        done = medialocks.keep_up(store, now, margin, args.full, progress)  # type: ignore[arg-type]
    except EvidenceError as exc:  # the database went away under the run
        raise Unusable(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    counts = medialocks.counts(done, margin, args.full)
    try:
        with desk.act(audit.LOCK_KEEP_UP, None, **counts) as act:
            if done.short:
                act.details["short_digests"] = [d for d, _u, _n in done.short]
            if done.failed:
                act.details["failed_digests"] = [d for d, _why in done.failed]
    except EvidenceError as exc:
        raise Unusable(str(exc)) from None
    if args.json:
        print(json.dumps({
            "now_ms": now, "locks": True, **counts,
            "short_objects": [{"digest": d, "until_ms": u, "planned_ms": n}
                              for d, u, n in done.short],
            "failed_objects": [{"digest": d, "why": why} for d, why in done.failed],
        }, indent=2))  # fmt: skip
        return EXIT_NOT_OK if done.failed else EXIT_OK
    with desk.look() as cur:
        zone = _zone(cur)
    for digest, until, need in done.short[:SHOWN]:
        print(i18n.text("lock.short", digest=digest, until=_show(until, zone),
                        planned=_show(need, zone)))  # fmt: skip
    if len(done.short) > SHOWN:
        print(i18n.text("lock.more", count=len(done.short) - SHOWN))
    if done.corrected:
        print(i18n.text("lock.corrected", count=done.corrected))
    print(i18n.text("lock.kept_up", objects=done.objects, extended=done.extended,
                    held=done.held, released=done.released, margin=margin))  # fmt: skip
    for digest, why in done.failed[:SHOWN]:
        print(i18n.text("lock.failed_run", digest=digest, why=why), file=sys.stderr)
    if done.failed:
        print(i18n.text("lock.not_kept", count=len(done.failed)), file=sys.stderr)
        return EXIT_NOT_OK
    return EXIT_OK
