"""Rendering a page: the Jinja2 templates (host/web/templates), escaped by default, with
what every page shows: the person, the menu of the areas they may use, the language
switch, the CSRF token its forms carry, and times in the agency's zone."""

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from host import i18n as host_i18n
from host import localtime
from host.web import i18n

if TYPE_CHECKING:
    from host.access import Desk
    from host.sqlstore import Cursor


class WebSession(Protocol):
    """What a page shows of a web session (``host.web.session.WebSession``)."""

    desk: "Desk"
    csrf: str


# What another area adds to a page (``app.AREAS``' ``PANELS``): called with the request,
# the session, the cursor of the page's own audited read and the item (or None), it gives
# ``(template name, context)`` or None to add nothing.
Panel = Callable[[Request, "WebSession", "Cursor", "str | None"], "tuple[str, dict] | None"]


def panels(
    request: Request, page: str, s: "WebSession", cur: "Cursor", item: "str | None" = None
) -> "list[tuple[str, dict]]":
    """The panels the areas add to ``page``, in the order of ``app.AREAS``."""
    out = []
    for panel in request.app.state.panels.get(page, ()):
        got = panel(request, s, cur, item)
        if got is not None:
            out.append(got)
    return out


TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Headers on every page: no other origin frames or feeds it, and it runs only its own code.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def lang_of(request: Request) -> str:
    return i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def zone_of(request: Request) -> str:
    from host import settings

    web = request.app.state.web
    # On the request thread's own reader: not behind the views' commits (``storefront``).
    with web.front.read() as cur:
        return str(settings.get(cur, settings.TIME_ZONE))


def render(
    request: Request, s: "WebSession | None", name: str, status: int = 200, **context: object
) -> HTMLResponse:
    lang = lang_of(request)
    zone = str(context.get("zone") or zone_of(request))
    context["zone"] = zone
    user = s.desk.user if s is not None else None
    menu = []
    if user is not None:
        for href, msg_id, action in request.app.state.menu:
            if action is None or user.may(action):
                menu.append((href, i18n.text(lang, msg_id), request.url.path == href))
    here = request.url.path + ("?" + request.url.query if request.url.query else "")

    def t(msg_id: str, **fields: object) -> str:
        return i18n.text(lang, msg_id, **fields)

    def label(msg_id: str, fallback: str) -> str:
        """A word held in a table of ids (an action, an outcome), or itself without one."""
        return i18n.text(lang, msg_id) if host_i18n.known(msg_id) else fallback

    def when(ms: "int | None") -> str:
        return "-" if ms is None else localtime.show(int(ms), zone)

    html = _env.get_template(name).render(
        lang=lang,
        html_lang="zh-CN" if lang == host_i18n.ZH else "en",
        other_langs=[(code, i18n.text(code, "web.lang.name")) for code in host_i18n.LANGS],
        here=here,
        t=t,
        label=label,
        when=when,
        user=user,
        session=s,
        csrf=s.csrf if s is not None else "",
        menu=menu,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response
