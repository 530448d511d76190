"""The approvals queue for restricted footage (R-HOST-6): an approver grants or refuses
the requests waiting; anyone else sees their own requests and asks for a new one from the
recording's page. Each step goes through the desk (``request-approval``, ``approve``,
``refuse``), which checks the role and puts it on the audit trail; nobody approves their
own request (``host.restricted``)."""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from host import audit, restricted
from host.errors import Unusable
from host.web import pages
from host.web.evidence import acting
from host.web.session import checked_form, local_path, need, web_of

MENU = (("/approvals", "web.menu.approvals", None),)
HOURS_MAX = 24 * 90
ASKABLE = (audit.PLAY, audit.EXPORT)  # what the page asks approvals for


def show(request: Request) -> Response:
    s = need(request)
    web = web_of(request)
    user = s.desk.user
    approver = user.may(audit.APPROVE)
    with acting(request, s, audit.VIEW, None, listed="approvals") as act:
        now = web.now()
        waiting = restricted.listing(act.cur, now, pending=True) if approver else []
        mine = restricted.listing(act.cur, now, for_user=user.name)
        act.details["count"] = len(waiting) + len(mine)
    return pages.render(
        request,
        s,
        "approvals.html",
        approver=approver,
        waiting=waiting,
        mine=mine,
        now=now,
        state_id=restricted.STATE_TEXT,
        action_id=restricted.ACTION_TEXT,
    )


async def ask(request: Request) -> Response:
    s = need(request)
    form = await checked_form(request, s)
    web = web_of(request)
    wanted = form.get("item", "")
    purpose = form.get("purpose", "").strip()[:500]
    hours = form.get("hours", "")
    if not hours.isdigit() or not 1 <= int(hours) <= HOURS_MAX:
        raise Unusable(pages_text(request, "web.approvals.bad_hours", most=HOURS_MAX))
    until = web.now() + int(hours) * 3_600_000
    # To play (the player) or to export (the court-package button); nothing else here.
    action = form.get("action", audit.PLAY)
    if action not in ASKABLE:
        raise Unusable(pages_text(request, "web.approvals.bad_action"))
    asked_for = {"for_action": action, "purpose": purpose, "until_ms": until}
    with acting(request, s, audit.REQUEST_APPROVAL, wanted, **asked_for) as act:
        asked = restricted.request(
            act.cur, wanted, action, s.desk.user.name, purpose, until, s.desk.now()
        )
        act.details["approval"] = asked.id
    return RedirectResponse(local_path(form.get("back")) if form.get("back") else "/approvals", 303)


def pages_text(request: Request, msg_id: str, **fields: object) -> str:
    from host.web import i18n

    return i18n.text(pages.lang_of(request), msg_id, **fields)


async def decide(request: Request) -> Response:
    s = need(request)
    form = await checked_form(request, s)
    number = request.path_params["id"]
    step = request.path_params["step"]
    with s.desk.look() as cur:
        found = restricted.get(cur, number)
    if step == "grant":
        with acting(request, s, audit.APPROVE, found.item_id, step="grant", approval=number) as act:
            done = restricted.grant(act.cur, number, s.desk.user.name, s.desk.now())
            act.details.update(for_user=done.for_user, action=done.action, until_ms=done.until_ms)
    elif step == "refuse":
        reason = form.get("reason", "").strip()[:500]
        with acting(request, s, audit.REFUSE, found.item_id, step="refuse", approval=number,
                    reason=reason) as act:  # fmt: skip
            done = restricted.refuse(act.cur, number, s.desk.user.name, reason, s.desk.now())
            act.details.update(for_user=done.for_user, action=done.action)
    else:
        return Response(status_code=404)
    return RedirectResponse("/approvals", 303)


def routes() -> "list[Route]":
    return [
        Route("/approvals", show, methods=["GET"]),
        Route("/approvals/request", ask, methods=["POST"]),
        Route("/approvals/{id:int}/{step}", decide, methods=["POST"]),
    ]
