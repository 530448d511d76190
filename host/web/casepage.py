"""A case's page: the case file's particulars (R-HOST-2), whether its footage is whole
(R-HOST-12, R-HOST-10: ``host.cases.case_flags``, the judgement ``sealcam case check``
makes), its recordings with their first picture, length and state, what each is noted to
prove, the holds and how long each recording is kept (``host.retention``), the approvals
asked for its restricted footage, and the court-package export of the whole case.

Reached from a case number wherever one is shown (search results, a recording's page).
Opening it is a ``view`` record naming the case, as ``sealcam case show`` makes. An
officer sees a case only through their own recordings in it: a case that holds none of
theirs is "not found", as for a recording that is not theirs, and the others' recordings
in it are counted, not shown.

The export makes one court package (``host.court.package``) of every recording the case
holds, with the case's particulars in its note, as ``sealcam export --case`` does: each
recording passes the desk's door for ``export`` first (restricted footage needs its own
approval), and each gets its ``export`` record naming the package.
"""

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from host import access, audit, cases, i18n, items, registers, restricted, retention
from host.errors import Refused, Unusable
from host.web import export, pages
from host.web.evidence import acting
from host.web.session import need, web_of

if TYPE_CHECKING:
    from host.access import Desk
    from host.sqlstore import Cursor
    from host.web.session import WebSession

# The pause reasons' words, as the officer's terminal has them (``pause.*``).
FLAG_TEXTS = {code: "case.flag." + code for code in cases.FLAG_RULES}


def href(case_no: str) -> str:
    """The case page's address of ``case_no`` (any characters: a Chinese case number)."""
    return "/case/" + quote(case_no, safe="")


def _number(request: Request) -> str:
    number = request.path_params["number"]
    if not number or len(number) > cases.CASE_NO_MAX:
        raise HTTPException(404)
    return str(number)


def type_label(kind: cases.CaseType, lang: str) -> str:
    """A case type in ``lang``: the agency's own label, the catalogue's, or its name."""
    if kind.labels.get(lang):
        return kind.labels[lang]
    msg_id = "case.type." + kind.name
    return i18n.text(msg_id, lang) if i18n.known(msg_id) else kind.name


def flag_text(flag: cases.CaseFlag, lang: str, when) -> str:  # when: ms -> local time text
    """One flag in words, as ``sealcam case check`` says it."""
    d = flag.detail
    fields: dict = {"item": flag.item or "", "rule": flag.rule}
    msg_id = FLAG_TEXTS[flag.code]
    if flag.code == cases.PAUSED:
        reason = "pause." + str(d.get("reason", ""))
        fields.update(
            at=when(d.get("at_ms")),
            reason=i18n.text(reason, lang) if i18n.known(reason) else d.get("reason", ""),
        )
        if d.get("resumed_ms") is None:
            msg_id = "case.flag.paused_not_resumed"
        else:
            fields["resumed"] = when(d["resumed_ms"])
    elif flag.code == cases.SEQ_GAP:
        fields.update(first=d["first"], last=d["last"], count=d["last"] - d["first"] + 1)
    elif flag.code == cases.NO_ANNOUNCEMENT:
        fields["seq"] = flag.seq
    return i18n.text(msg_id, lang, **fields)


def kept_text(verdict: retention.Verdict, pol: retention.Policy, category: "str | None",
              lang: str) -> str:  # fmt: skip
    """The retention rule that decides how long a recording is kept, in words."""
    rule = verdict.rule
    years = {
        retention.DEFAULT: pol.years,
        retention.CATEGORY: pol.base_years(category),
        retention.CASE_CLOSED: pol.closed_years(),
    }.get(rule.name, 0)
    label = ""
    if category:
        msg_id = "case.category." + category
        label = i18n.text(msg_id, lang) if i18n.known(msg_id) else category
    return i18n.text("retention.rule." + rule.name, lang, years=years,
                     case=rule.case_no or "", category=label)  # fmt: skip


def _unit_name(cur: "Cursor", officer: "str | None", known: dict) -> "str | None":
    if not officer:
        return None
    if officer not in known:
        unit_id = registers.unit_of(cur, officer)
        found = registers.find_unit(cur, unit_id) if unit_id else None
        known[officer] = (
            None if unit_id is None else "%s %s" % (unit_id, found.name) if found else unit_id
        )
    return known[officer]


def case_data(cur: "Cursor", desk: "Desk", number: str, lang: str, when, now: int) -> dict:
    """Everything the page shows of case ``number``, read through ``cur`` (the view's own
    transaction); Refused (NOT_OWN) for an officer none of whose recordings it holds."""
    case = cases.get(cur, number)
    kind = cases.kind_of(cur, case)
    held = cases.linked(cur, number)
    user = desk.user
    shown, hidden = held, 0
    if user.officer_only:
        shown = [x for x in held if x.item.officer == user.officer_id]
        hidden = len(held) - len(shown)
        if not shown:
            raise Refused(
                i18n.text("access.not_own", item=number, officer=user.officer_id), access.NOT_OWN
            )
    flags = [flag_text(f, lang, when) for f in cases.case_flags(cur, case)]
    pol = retention.policy(cur)
    units: dict = {}
    ids = [x.item.item_id for x in shown]
    recordings: list[dict[str, Any]] = []
    for x in shown:
        it = x.item
        held_now = restricted.restriction(cur, it.item_id)
        verdict = retention.decide(retention.facts(cur, it.item_id), pol)
        category = x.note.category if x.note else None
        recordings.append(
            {
                "item": it,
                "footage": x.is_footage,
                "linked_by": x.linked_by,
                "linked_ms": x.linked_ms,
                "note": x.note,
                "unit": _unit_name(cur, it.officer, units),
                "seconds": max(0, it.ended_ms - it.started_ms) // 1000,
                "restricted": held_now[0] if held_now else None,
                "kept": kept_text(verdict, pol, category, lang),
                "kept_until": verdict.until_ms,
                "held": verdict.held,
                "holds": retention.holds_on(cur, it.item_id),
            }
        )
    case_holds = []
    if retention.has_table(cur, "holds"):
        case_holds = cur.execute(
            "SELECT id, reason, placed_by, placed_ms FROM holds "
            "WHERE case_no = ? AND released_ms IS NULL ORDER BY id",
            (number,),
        ).fetchall()
    # Holds on a recording itself (those through this case are listed once, as the case's).
    item_holds = [(r["item"].item_id, h) for r in recordings for h in r["holds"] if not h[1]]
    wanted = set(ids)
    approvals = [a for a in restricted.listing(cur, now) if a.item_id in wanted]
    footage = [r for r in recordings if r["footage"]]
    need_approval = [
        r["item"].item_id
        for r in footage
        if r["restricted"]
        and restricted.approval_in_force(cur, r["item"].item_id, user.name, audit.EXPORT, now)
        is None
    ]
    officers = sorted({(r["item"].officer or "-", r["unit"] or "") for r in recordings})
    return {
        "case": case,
        "kind": kind,
        "type_text": type_label(kind, lang),
        "flags": flags,
        "judged": kind.full or kind.required,
        "recordings": recordings,
        "hidden": hidden,
        "officers": officers,
        "case_holds": case_holds,
        "item_holds": item_holds,
        "approvals": approvals,
        "may_export": user.may(audit.EXPORT) and bool(footage) and not user.officer_only,
        "need_approval": need_approval,
        "now": now,
        "state_text": {s: restricted.STATE_TEXT.get(s) for s in restricted.STATES},
    }


def show(request: Request) -> Response:
    s = need(request)
    number = _number(request)
    lang = pages.lang_of(request)
    zone = pages.zone_of(request)
    web = web_of(request)

    def when(ms: "int | None") -> str:
        from host import localtime

        return "-" if ms is None else localtime.show(int(ms), zone)

    items.catch_up(web.front.read, web.front.write)  # outside the view's transaction
    try:
        with acting(request, s, audit.VIEW, number, what="case") as act:
            data = case_data(act.cur, s.desk, number, lang, when, web.now())
            act.details.update(items=len(data["recordings"]), flags=len(data["flags"]))
    except cases.CaseError:
        raise HTTPException(404) from None  # (the attempt is on the audit trail)
    return pages.render(request, s, "case.html", zone=zone, number=number, **data)


async def make(request: Request) -> Response:
    """The court package of every recording case ``number`` holds."""
    from host.court import fromobjects, package

    number = _number(request)

    def recordings(s: "WebSession") -> "list[str]":
        with s.desk.look() as cur:
            try:
                cases.get(cur, number)
            except cases.CaseError:
                raise HTTPException(404) from None
            linked = [x.item.item_id for x in cases.linked(cur, number) if x.is_footage]
        if not linked:
            with acting(request, s, audit.EXPORT, None, case=number):
                raise Unusable(i18n.text("court.case_empty", pages.lang_of(request), case=number))
        return linked

    a, linked = await export.asked(request, recordings, case=number, package=None)
    s = a.s
    user = s.desk.user
    now = s.desk.now()
    name = "case-%s-%d" % (re.sub(r"[^A-Za-z0-9_-]", "_", number)[:40], now)
    wanted = []
    with s.desk.look() as cur:
        case = cases.get(cur, number)
        for item in linked:
            device, rec = items.parse_id(item)
            one = package.Wanted(item, device, rec)
            package.describe(cur, one, user.name, now)
            wanted.append(one)
        signer, kid = export._signer(cur, a.lang)
    about = {
        "number": case.case_no,
        "type": case.case_type,
        "title": case.title,
        "responsible": case.responsible,
        "place": case.place,
        "when_ms": case.happened_ms,
        "major": bool(case.major),
    }
    extractor = a.extractor
    made, out, image, size = await export.made_as_iso(
        request, a, name,
        lambda out: fromobjects.build(a.store, wanted, about, extractor, signer, kid,
                                      export.options(a, out), now),
        linked[0], case=number, package=name,
    )  # fmt: skip
    export.on_record(request, a, made, out, image, wanted, case=number, package=name)
    s.exports[name] = {
        "item": linked[0],
        "case": number,
        "recordings": len(wanted),
        "iso": str(image),
        "iso_bytes": size,
        "files": made.files,
        "bytes": made.bytes,
        "manifest_sha256": made.manifest_sha256,
        "package_id": made.package_id,
        "made_ms": now,
    }
    return RedirectResponse("/exports/" + name, 303)


def routes() -> "list[Route]":
    return [
        Route("/case/{number:path}", show, methods=["GET"]),
        Route("/case-export/{number:path}", make, methods=["POST"]),
    ]
