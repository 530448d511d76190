"""``sealcam items``: the recordings and derivatives a store holds, newest first.

Filters narrow the list: an officer (the id the recorder wrote into the recording), a
device, a span of start times given as local dates or times in the agency's zone
(``--since 2026-12-01``, ``--until "2026-12-05 18:00"``; a date alone in ``--until`` means
to the end of that day). An officer sees only their own recordings: without ``--officer``
the list is theirs, and ``--officer`` naming anyone else is refused (exit 1) with the
attempt on record. Every listing is a ``view`` record in the audit trail, with its filters
and how many items it showed.
"""

import argparse
import datetime
import json

from host import access, audit, i18n, items, localtime, settings
from host.cli.common import EXIT_OK
from host.cli.people import acting_desk, cell
from host.errors import Refused

LIMIT = 1000


def local_moment(text: str) -> "tuple[datetime.datetime, bool]":
    """An argparse type: ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]`` (without an offset,
    the agency's zone applies, once the store says which) -> (the moment, whether only a
    date was given): ``host.localtime.read_moment``, the one syntax every command reads."""
    try:
        return localtime.read_moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError(i18n.text("items.bad_date", text=text)) from None


def how_many(text: str) -> int:
    """An argparse type: a whole number of items, at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(i18n.text("items.bad_limit", text=text))
    return int(text)


def utc_ms(given: "tuple[datetime.datetime, bool] | None", zone: str, end: bool) -> "int | None":
    """A local date or time in ``zone`` as UTC milliseconds; a date as the end of ``until``
    is the start of the day after it."""
    if given is None:
        return None
    return localtime.utc_ms(given[0], given[1], zone, end)


def filters_of(args: argparse.Namespace) -> dict:
    """The filters given, as the view record keeps them."""
    out = {}
    for key in ("officer", "device"):
        if getattr(args, key):
            out[key] = getattr(args, key)
    for key in ("since", "until"):
        if getattr(args, key):
            out[key] = getattr(args, key)[0].isoformat(sep=" ")
    return out


def cmd_items(args: argparse.Namespace) -> int:
    desk = acting_desk(args)
    user = desk.user
    with desk.act(audit.VIEW, None, listed="items", **filters_of(args)) as act:
        officer = args.officer
        if user.officer_only:
            if officer is not None and officer != user.officer_id:
                raise Refused(
                    i18n.text("items.not_own", name=user.name, officer=officer),
                    access.NOT_OWN,
                )
            officer = user.officer_id
        zone = str(settings.get(act.cur, settings.TIME_ZONE))
        found = items.find(
            act.cur,
            officer=officer,
            device_id=args.device,
            since_ms=utc_ms(args.since, zone, end=False),
            until_ms=utc_ms(args.until, zone, end=True),
            limit=args.limit,
        )
        act.details["count"] = len(found)
    if args.json:
        out = {"time_zone": zone, "items": [i.to_dict() for i in found]}
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return EXIT_OK
    print("\n".join(render(found, zone, args.limit)))
    return EXIT_OK


def length_text(ms: int) -> str:
    seconds = max(0, ms) // 1000
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def size_text(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return "%.1f %s" % (size / scale, unit)
    return "%d B" % size


def render(found: "list[items.Item]", zone: str, limit: int) -> "list[str]":
    lines = [i18n.text("items.head", count=len(found), zone=zone)]
    for item in found:
        if item.kind == items.DERIVATIVE:
            what = i18n.text("items.derivative", origin=item.origin or "?", note=item.note or "")
        else:
            what = i18n.text(
                "items.recording",
                length=length_text(item.ended_ms - item.started_ms),
                chunks=item.chunks,
                size=size_text(item.size),
            )
            if not item.stopped:
                what += i18n.text("items.not_stopped")
        lines.append(
            i18n.text(
                "items.row",
                item=cell(item.item_id, 24),
                started=localtime.show(item.started_ms, zone),
                officer=cell(item.officer or "-", 8),
                what=what,
            ).rstrip()
        )
    if len(found) >= limit:
        lines.append(i18n.text("items.more", limit=limit))
    return lines


def add_items(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam items``."""
    from host.cli.auth import add_login_options

    p = sub.add_parser(
        "items",
        help=i18n.text("cmd.items"),
        description=i18n.text("items.description"),
        epilog=i18n.text("items.epilog"),
    )
    add_login_options(p)
    p.add_argument("--officer", metavar="P-0427", help=i18n.text("items.officer"))
    p.add_argument("--device", metavar="DEVICE", help=i18n.text("items.device"))
    p.add_argument("--since", type=local_moment, metavar="DATE", help=i18n.text("items.since"))
    p.add_argument("--until", type=local_moment, metavar="DATE", help=i18n.text("items.until"))
    p.add_argument(
        "--limit",
        type=how_many,
        default=LIMIT,
        help=i18n.text("items.limit", limit=LIMIT),
    )
    p.add_argument("--json", action="store_true", help=i18n.text("items.json"))
    p.set_defaults(run=cmd_items)
