"""The review page's application: the areas' routes, the static assets, the guards' answers.

``create_app(store)`` builds it on an open evidence store. ``AREAS`` are the route modules,
each with ``routes()``, a ``MENU`` of ``(href, message id, action needed or None)`` and,
where it adds to another area's page, ``PANELS``: ``{page: function}``, the function giving
a template and its context for that page (``pages.Panel``; "dashboard": reviews due,
"recording": the court-package export button), and may have ``prepare(store)`` making
tables of its own.

The answers of the guards are the same for every route: no session sends a page to the
login form and a script to 401; a form without its CSRF token is 403; an action the desk
refuses is 403 with its reason (an officer's attempt on another officer's
recording is 404, the same as a recording that does not exist, so ids cannot be probed);
an id that names nothing is 404; a write the store could not make durable (a full disk, a
database locked) is 503, one line, and the page it was for is not sent.
"""

import logging
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from host import access
from host import i18n as host_i18n
from host.errors import Refused, Unusable
from host.web import (
    approvals,
    casepage,
    dashboard,
    derivplay,
    export,
    media,
    pages,
    recording,
    registers,
    reviewqueue,
    search,
    session,
)
from host.web.state import Web
from host.web.storefront import NotDurable
from host.web.traffic import Counted

if TYPE_CHECKING:
    from host.access import Store

# What the server says to whoever runs it (``sealcam serve`` prints it on standard error).
LOG = logging.getLogger("sealcam.web")
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

AREAS: "tuple[ModuleType, ...]" = (
    session,
    dashboard,
    search,
    recording,
    casepage,
    media,
    derivplay,
    approvals,
    reviewqueue,
    registers,
    export,
)


def create_app(
    store: "Store",
    now: "Callable[[], int]" = access.wall_ms,
    sign: "Callable[[Store], None] | None" = None,
    web: "Web | None" = None,
) -> Starlette:
    """The application on ``store``: ``now`` is the clock (UTC ms), ``sign`` signs a
    checkpoint after each audit record (``host.cli.auth.signer_for``)."""
    access.prepare(store)
    routes: list[BaseRoute] = []
    menu: list = []
    panels: dict = {}
    for area in AREAS:
        getattr(area, "prepare", lambda store: None)(store)  # tables of its own, if any
        routes.extend(area.routes())
        menu.extend(getattr(area, "MENU", ()))
        for page, panel in getattr(area, "PANELS", {}).items():
            panels.setdefault(page, []).append(panel)
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    web = web or Web(store, now, sign)
    app = Starlette(
        routes=routes,
        # Requests counted while under way: the background work lets them go first.
        middleware=[Middleware(Counted, traffic=web.traffic)],
        exception_handlers={
            session.NeedLogin: _need_login,
            session.BadForm: _bad_form,
            Refused: _refused,
            Unusable: _unusable,
            NotDurable: _not_durable,
            404: _not_found,
        },
    )
    app.state.web = web
    app.state.menu = menu
    app.state.panels = panels
    return app


def _wants_page(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def _need_login(request: Request, exc: Exception) -> Response:
    if _wants_page(request):
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse("/login?next=" + quote(target, safe="/"), 303)
    return PlainTextResponse("log in first", status_code=401)


def _problem(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith(("/media/", "/thumb/")):
        return PlainTextResponse(message, status_code=status)
    s = session.current(request)
    return pages.render(request, s, "problem.html", status=status, message=message)


def _bad_form(request: Request, exc: Exception) -> Response:
    lang = pages.lang_of(request)
    return _problem(request, 403, host_i18n.text("web.problem.form", lang))


def _refused(request: Request, exc: Exception) -> Response:
    lang = pages.lang_of(request)
    if getattr(exc, "reason", "") == access.NOT_OWN:
        return _problem(request, 404, host_i18n.text("web.problem.not_found", lang))
    return _problem(request, 403, str(exc))


def _unusable(request: Request, exc: Exception) -> Response:
    from host.items import ItemError
    from host.restricted import ApprovalError

    lang = pages.lang_of(request)
    if isinstance(exc, (ItemError, ApprovalError)):
        return _problem(request, 404, host_i18n.text("web.problem.not_found", lang))
    return _problem(request, 400, str(exc))


def _not_durable(request: Request, exc: Exception) -> Response:
    """A write the store did not make durable (``storefront.NotDurable``): what needed it
    (a page, which is sent only once its view is on record; an action) is not answered,
    the person told so in one line, whoever runs the server told why."""
    LOG.error(
        host_i18n.text(
            "web.log.not_durable", method=request.method, path=request.url.path, problem=exc
        )
    )
    lang = pages.lang_of(request)
    return _problem(request, 503, host_i18n.text("web.problem.not_durable", lang))


def _not_found(request: Request, exc: Exception) -> Response:
    lang = pages.lang_of(request)
    if request.url.path.startswith("/static/"):
        return PlainTextResponse("not found", status_code=404)
    return _problem(request, 404, host_i18n.text("web.problem.not_found", lang))


__all__ = ["AREAS", "create_app"]
