"""The legal department's review queue (R-HOST-7): the sampled recordings no one has
reviewed yet, each opened on a form with the checklist (``host.review``), its items the
ledger fills in already ticked; the reviewer confirms them or sets one aside, adds others,
writes a note, and the review is recorded through the desk (``review``).

Every step is a ``review`` action, never a plain view, so that no officer learns which of
their recordings will be looked at, and only the roles that review reach it. The dashboard
shows how many reviews are due (``PANELS``).
"""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from host import audit, items, review, sampling
from host.errors import Unusable
from host.web import pages
from host.web.evidence import acting, item_id
from host.web.session import checked_form, need, web_of

if TYPE_CHECKING:
    from host.access import Store
    from host.sqlstore import Cursor
    from host.web.pages import WebSession

MENU = (("/review", "web.menu.review", audit.REVIEW),)


def prepare(store: "Store") -> None:
    """The sampling and review tables, where the store lacks them."""
    store.add_tables(sampling.SCHEMA)
    store.add_tables(review.SCHEMA)


def _media(store: "Store") -> "review.compliance.MediaReader":
    """The stored media by hash, so a spoken reason can be listened to; None when it is
    missing (the check says so)."""
    from host.evidence import EvidenceError

    def read(digest: bytes) -> "bytes | None":
        try:
            return bytes(store.read_media(digest))  # type: ignore[attr-defined]  # the SQLite store's
        except (EvidenceError, AttributeError):
            return None

    return read


def show_queue(request: Request) -> Response:
    s = need(request)
    with acting(request, s, audit.REVIEW, None, listed="queue") as act:
        waiting = review.queue(act.cur)
        act.details["count"] = len(waiting)
    done = request.query_params.get("done", "")[:200]  # the review just recorded
    return pages.render(request, s, "review_queue.html", waiting=waiting, done=done)


def _sampled(cur: "Cursor", wanted: str) -> "tuple[items.Item, int]":
    """The recording and the draw it is reviewed under; Unusable when no draw took it."""
    item = items.get(cur, wanted)
    if item.kind != items.RECORDING:
        raise Unusable(review.i18n.text("review.err.not_sampled", item=wanted))
    return item, review.plan_of(cur, wanted, None)


def show_form(request: Request) -> Response:
    s = need(request)
    web = web_of(request)
    wanted = item_id(request)
    with acting(request, s, audit.REVIEW, wanted, step="open") as act:
        item, plan = _sampled(act.cur, wanted)
        auto = review.prefill_in_store(act.cur, item, None, _media(web.store))
        done = review.latest(act.cur, wanted)
        act.details["plan"] = plan
    codes = {m.code for m in auto}
    return pages.render(
        request,
        s,
        "review_form.html",
        item=item,
        plan=plan,
        auto=auto,
        others=[c for c in review.CHECKLIST if c not in codes],
        checklist=review.CHECKLIST,
        item_text=review.ITEM_TEXT,
        done=done,
        note_max=review.NOTE_MAX,
    )


async def record(request: Request) -> Response:
    s = need(request)
    form = await checked_form(request, s)
    web = web_of(request)
    wanted = item_id(request)
    note = form.get("note", "")
    with acting(request, s, audit.REVIEW, wanted) as act:
        item, plan = _sampled(act.cur, wanted)
        auto = review.prefill_in_store(act.cur, item, None, _media(web.store))
        # Each pre-filled item stands unless the reviewer set it aside; each other item
        # ticked is added.
        aside = sorted({m.code for m in auto if form.get("aside-" + m.code) == "on"})
        add = [c for c in review.CHECKLIST if form.get("add-" + c) == "on"]
        marks = review.judge(auto, add, aside, note)
        done = review.record(act.cur, wanted, plan, marks, note, s.desk.user.name, s.desk.now())
        act.details.update(
            plan=done.plan_id,
            review=done.review_id,
            findings=[m.code for m in done.findings],
            set_aside=[m.code for m in done.marks if m.set_aside],
            note=note,
        )
    return RedirectResponse("/review?done=" + wanted, 303)


def due_panel(
    request: Request, s: "WebSession", cur: "Cursor", item: "str | None"
) -> "tuple[str, dict] | None":
    """The dashboard's "reviews due": how many sampled recordings wait for a review (for
    the roles that review; read in the dashboard's own audited transaction)."""
    if not s.desk.user.may(audit.REVIEW):
        return None
    return "panel_reviews.html", {"due": len(review.queue(cur))}


PANELS = {"dashboard": due_panel}


def routes() -> "list[Route]":
    return [
        Route("/review", show_queue, methods=["GET"]),
        Route("/review/{device}/{rec:int}", show_form, methods=["GET"]),
        Route("/review/{device}/{rec:int}", record, methods=["POST"]),
    ]
