"""Logging in to the page, the web session, and the guards every route passes.

A person logs in once (``host.access.Desk.login``: argon2 once, the login or the failed
attempt on the audit trail); the desk is kept on the server under a random token, which
the browser holds in a cookie that scripts cannot read (HttpOnly), that no other site's
page sends (SameSite=Strict) and that travels only over a secure context (Secure; Chromium
counts http://127.0.0.1 as one). A session ends at logout or after ``IDLE_MS`` unused.

Every form carries a CSRF token: the session's, or before login the one in a cookie of its
own (the login form, double-submitted). Guessing passwords is slowed twice: an account
locks after five wrong ones (``host.people``) and an address may fail ``Limiter.tries``
times per ``Limiter.window_ms``, after which it is told to wait without its password
being checked at all.
"""

import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from host import i18n as host_i18n
from host.errors import Refused
from host.web import i18n, pages

if TYPE_CHECKING:
    from host.access import Desk

COOKIE = "sealcam_session"
LOGIN_CSRF = "sealcam_login_csrf"
IDLE_MS = 30 * 60 * 1000
FORM_LIMIT = 64 * 1024  # no form of the page is near this


@dataclass
class WebSession:
    token: str
    desk: "Desk"
    csrf: str
    last_ms: int
    played: set = field(default_factory=set)  # items whose play is on record this session
    exports: dict = field(default_factory=dict)  # packages made in this session, by name


class Sessions:
    """The logged-in web sessions, by token."""

    def __init__(self) -> None:
        self._by_token: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def start(self, desk: "Desk", now_ms: int) -> WebSession:
        s = WebSession(secrets.token_urlsafe(32), desk, secrets.token_urlsafe(32), now_ms)
        with self._lock:
            # Sessions left idle go when a new one starts: the table stays as small as the
            # number of people using the page.
            for token in [t for t, old in self._by_token.items() if now_ms - old.last_ms > IDLE_MS]:
                del self._by_token[token]
            self._by_token[s.token] = s
        return s

    def find(self, token: "str | None", now_ms: int) -> "WebSession | None":
        if not token:
            return None
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None
            if now_ms - s.last_ms > IDLE_MS:
                del self._by_token[token]
                return None
            s.last_ms = now_ms
            return s

    def end(self, token: "str | None") -> None:
        with self._lock:
            self._by_token.pop(token or "", None)


class Limiter:
    """Failed logins per address: at most ``tries`` within ``window_ms``."""

    def __init__(self, tries: int = 10, window_ms: int = 5 * 60 * 1000) -> None:
        self.tries = tries
        self.window_ms = window_ms
        self._failed: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait_ms(self, address: str, now_ms: int) -> int:
        """0 when ``address`` may try now, else how long until it may."""
        with self._lock:
            q = self._failed.get(address)
            if q is None:
                return 0
            while q and now_ms - q[0] >= self.window_ms:
                q.popleft()
            if not q:
                del self._failed[address]
                return 0
            return self.window_ms - (now_ms - q[0]) if len(q) >= self.tries else 0

    def failed(self, address: str, now_ms: int) -> None:
        with self._lock:
            self._failed.setdefault(address, deque()).append(now_ms)
            if len(self._failed) > 100_000:  # bounded, whatever sends the attempts
                self._failed.pop(next(iter(self._failed)))


def web_of(request: Request):  # -> host.web.state.Web (imported lazily: it imports us)
    return request.app.state.web


def current(request: Request) -> "WebSession | None":
    web = web_of(request)
    return web.sessions.find(request.cookies.get(COOKIE), web.now())


class NeedLogin(Exception):
    """No session: the page sends the person to the login form (a script gets 401)."""


class BadForm(Exception):
    """A form without the right CSRF token, or one too large: 403, nothing done."""


def need(request: Request) -> WebSession:
    s = current(request)
    if s is None:
        raise NeedLogin()
    return s


async def form_of(request: Request) -> "dict[str, str]":
    """The url-encoded form a request posts (the first value of each field)."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise BadForm()
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise BadForm() from None
    return {k: v[0] for k, v in fields.items()}


async def checked_form(request: Request, s: WebSession) -> "dict[str, str]":
    """The form, once its CSRF token is the session's; BadForm otherwise."""
    form = await form_of(request)
    if not hmac.compare_digest(form.get("csrf", ""), s.csrf):
        raise BadForm()
    return form


def set_cookie(response: Response, name: str, value: str, max_age: "int | None" = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
    )


def local_path(target: "str | None") -> str:
    """``target`` when it is a path on this site, else the dashboard: a link cannot send a
    person elsewhere through us."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_page(request: Request) -> Response:
    if current(request) is not None:
        return RedirectResponse(local_path(request.query_params.get("next")), 303)
    return _login_form(request, None, 200)


def _login_form(request: Request, problem: "str | None", status: int) -> Response:
    token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(32)
    page = pages.render(
        request,
        None,
        "login.html",
        status=status,
        login_csrf=token,
        problem=problem,
        next=local_path(request.query_params.get("next")),
    )
    set_cookie(page, LOGIN_CSRF, token)
    return page


async def login(request: Request) -> Response:
    from host import items
    from host.access import Desk, prepare

    web = web_of(request)
    lang = pages.lang_of(request)
    form = await form_of(request)
    cookie = request.cookies.get(LOGIN_CSRF, "")
    if not cookie or not hmac.compare_digest(form.get("csrf", ""), cookie):
        raise BadForm()
    address = request.client.host if request.client else "?"
    now = web.now()
    wait = web.limiter.wait_ms(address, now)
    if wait:
        minutes = max(1, -(-wait // 60000))
        return _login_form(request, i18n.text(lang, "web.login.slow_down", minutes=minutes), 429)
    name, password = form.get("name", "").strip(), form.get("password", "")
    if not name:
        return _login_form(request, i18n.text(lang, "web.login.no_name"), 400)
    try:
        with host_i18n.speaking(lang):
            prepare(web.store)
            # Most logins: nothing new, and no write to find that out.
            items.catch_up(web.front.read, web.front.write)
            desk = Desk.login(web.front, name, password, now=web.now, sign=web.sign)
    except Refused as exc:
        web.limiter.failed(address, now)
        return _login_form(request, str(exc), 403)
    s = web.sessions.start(desk, now)
    response = RedirectResponse(local_path(form.get("next")), 303)
    set_cookie(response, COOKIE, s.token)
    response.delete_cookie(LOGIN_CSRF, path="/", secure=True, httponly=True, samesite="strict")
    return response


async def logout(request: Request) -> Response:
    s = need(request)
    await checked_form(request, s)
    web_of(request).sessions.end(s.token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


def choose_lang(request: Request) -> Response:
    """Switch the page's language (a cookie), back to the page it was asked from."""
    lang = request.path_params["lang"]
    if lang not in host_i18n.LANGS:
        return Response(status_code=404)
    response = RedirectResponse(local_path(request.query_params.get("next")), 303)
    set_cookie(response, i18n.COOKIE, lang, max_age=365 * 24 * 3600)
    return response


def routes() -> "list[Route]":
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", choose_lang, methods=["GET"]),
    ]
