"""The registers, read only (R-HOST-8, R-HOST-9, R-HOST-10): every registered recorder
with its state, its keeper and who holds it now; every unit with the recorders its class
requires against those in service; and what the register finds for a period (devices
lost, not returned, footage of an officer who did not hold the recorder, footage from a
lost or retired one). Changing the register stays with ``sealcam device`` and ``sealcam
unit``. Looking is a ``report`` action on the audit trail, the roles that read reports."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from host import allocation, audit, registers
from host.errors import Unusable
from host.i18n import N_
from host.web import i18n, pages
from host.web.evidence import acting
from host.web.session import need, web_of

MENU = (("/registers", "web.menu.registers", audit.REPORT),)
DAYS = 30  # the findings' period when none is asked for: the last 30 days
DAYS_MAX = 3660
DAY_MS = 24 * 3_600_000

# The words for a finding's kind (``registers.FINDING_KINDS``).
KIND_TEXT = {
    registers.F_LOST: N_("web.registers.kind.lost"),
    registers.F_NOT_RETURNED: N_("web.registers.kind.not-returned"),
    registers.F_WRONG_OFFICER: N_("web.registers.kind.wrong-officer"),
    registers.F_RETIRED_DOCKED: N_("web.registers.kind.retired-docked"),
    registers.F_LOST_DOCKED: N_("web.registers.kind.lost-docked"),
}
STATE_TEXT = {
    registers.IN_SERVICE: N_("web.registers.state.in-service"),
    registers.IN_REPAIR: N_("web.registers.state.in-repair"),
    registers.LOST: N_("web.registers.state.lost"),
    registers.RETIRED: N_("web.registers.state.retired"),
}


def _days(request: Request) -> int:
    given = request.query_params.get("days", str(DAYS)).strip()
    if not given.isdigit() or not 1 <= int(given) <= DAYS_MAX:
        lang = pages.lang_of(request)
        raise Unusable(i18n.text(lang, "web.registers.bad_days", most=DAYS_MAX))
    return int(given)


def show(request: Request) -> Response:
    s = need(request)
    web = web_of(request)
    days = _days(request)
    now = web.now()
    since = now - days * DAY_MS
    with acting(request, s, audit.REPORT, None, report="registers", days=days) as act:
        cur = act.cur
        rows = []
        for d in registers.devices(cur):
            held = registers.open_checkout(cur, d.device_id)
            rows.append({"device": d, "holder": held})
        units = allocation.allocation(cur)
        found = registers.device_findings(cur, since, now)
        act.details["findings"] = len(found)
    return pages.render(
        request,
        s,
        "registers.html",
        devices=rows,
        units=units,
        findings=sorted(found, key=lambda f: (f.at_ms, f.device_id), reverse=True),
        days=days,
        since=since,
        until=now,
        kind_text=KIND_TEXT,
        state_text=STATE_TEXT,
    )


def routes() -> "list[Route]":
    return [Route("/registers", show, methods=["GET"])]
