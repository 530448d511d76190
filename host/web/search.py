"""Search: recordings by officer, device, case, category, time and place, newest first, each
with its first picture, its length and its state. A place is a point and a distance, or a
box between two corners (``places``: each recording's track kept as a bounding box, so a
search tests only the tracks whose box meets the place's). An officer's search covers their own
recordings only, whatever the form says. Every search is a ``view`` record with its
filters and how many recordings it showed."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from host import audit, cases, items
from host.errors import Unusable
from host.web import pages, places
from host.web.evidence import acting
from host.web.session import need, web_of

if TYPE_CHECKING:
    from host.sqlstore import Cursor

MENU = (("/search", "web.menu.search", audit.VIEW),)
LIMIT = 200
FIELDS = ("officer", "unit", "device", "case", "category", "since", "until", "near", "within",
          "corner")  # fmt: skip


def prepare(store) -> None:  # store: host.access.Store
    """The table of the recordings' places (``places``)."""
    store.add_tables(places.SCHEMA)


def has_units(cur: "Cursor") -> bool:
    """Whether the agency keeps units in the register (``host.registers``): until it does,
    the search has no unit to ask for."""
    return cur.execute("SELECT 1 FROM units LIMIT 1").fetchone() is not None


def find(
    cur: "Cursor", wanted: dict, zone: str, place: "places.Near | places.Box | None" = None
) -> "list[dict]":
    """Recordings matching every filter in ``wanted`` (texts as the form gives them) and
    passing through ``place`` (``places``: its table brought up to date first)."""
    where: list[str] = ["i.kind = ?"]
    params: list[object] = [items.RECORDING]
    if wanted.get("officer"):
        where.append("i.officer = ?")
        params.append(wanted["officer"])
    if wanted.get("unit") and has_units(cur):
        where.append("i.officer IN (SELECT officer_id FROM unit_members WHERE unit_id = ?)")
        params.append(wanted["unit"])
    if wanted.get("device"):
        where.append("i.device_id = ?")
        params.append(wanted["device"])
    if wanted.get("case"):
        where.append("i.item_id IN (SELECT item_id FROM case_items WHERE case_no = ?)")
        params.append(wanted["case"])
    if wanted.get("category"):
        where.append("i.item_id IN (SELECT item_id FROM item_notes WHERE category = ?)")
        params.append(wanted["category"])
    if wanted.get("since"):
        where.append("i.started_ms >= ?")
        params.append(cases.parse_when(wanted["since"], zone))
    if wanted.get("until"):
        where.append("i.started_ms < ?")
        params.append(cases.parse_when(wanted["until"], zone))
    if place is not None:  # the boxes that meet the place's, by the index; exactly below
        where.append(places.WHERE_BOX)
        params.extend(places.box_params(place))
    columns = ", ".join("i." + c.strip() for c in items.COLUMNS.split(","))
    sql = (
        "SELECT %s, r.kind, n.category FROM items i "
        "LEFT JOIN restrictions r ON r.item_id = i.item_id "
        "LEFT JOIN item_notes n ON n.item_id = i.item_id WHERE %s "
        "ORDER BY i.started_ms DESC, i.item_id" % (columns, " AND ".join(where))
    )
    if place is None:
        sql += " LIMIT %d" % LIMIT
    width = len(items.COLUMNS.split(","))
    found: list[dict] = []
    for row in cur.execute(sql, params).fetchall():
        if len(found) >= LIMIT:
            break
        item = items._item(row[:width])
        if place is not None and not places.matching(cur, [item.item_id], place):
            continue  # its box meets the place, its track does not
        found.append(
            {
                "item": item,
                "restricted": row[width],
                "category": row[width + 1],
                "seconds": max(0, item.ended_ms - item.started_ms) // 1000,
                "cases": [c.case_no for c in cases.cases_of(cur, item.item_id)],
            }
        )
    return found


def show(request: Request) -> Response:
    s = need(request)
    user = s.desk.user
    zone = pages.zone_of(request)
    wanted = {k: request.query_params.get(k, "").strip()[:100] for k in FIELDS}
    if user.officer_only:
        wanted["officer"] = user.officer_id or "-"
    asked = {k: v for k, v in wanted.items() if v}
    problem = None
    found: list = []
    web = web_of(request)
    # The index (and the recordings' places, for a search by place) brought up to what
    # docks stored since, before the search's own transaction, which reads them only.
    items.catch_up(web.front.read, web.front.write)
    if wanted["near"] or wanted["corner"]:
        places.keep_up(s.desk.look, web.store.write)
    with acting(request, s, audit.VIEW, None, listed="search", **asked) as act:
        try:
            place = places.parse(wanted["near"], wanted["within"], wanted["corner"])
            found = find(act.cur, wanted, zone, place)
        except Unusable as exc:  # a time or a place that does not parse: said on the form
            problem = str(exc)
        act.details["count"] = len(found)
        units = has_units(act.cur)
        # A case number searched for: its page is one click away.
        case_page = (
            bool(wanted["case"])
            and bool(found or not user.officer_only)
            and act.cur.execute(
                "SELECT 1 FROM cases WHERE case_no = ?", (wanted["case"],)
            ).fetchone()
            is not None
        )
    return pages.render(
        request,
        s,
        "search.html",
        zone=zone,
        wanted=wanted,
        found=found,
        problem=problem,
        limit=LIMIT,
        categories=cases.CATEGORIES,
        units=units,
        case_page=case_page,
    )


def routes() -> "list[Route]":
    return [Route("/search", show, methods=["GET"])]
