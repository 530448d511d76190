"""The court-package export button (issue 15's package, ``host.court.package``): on a
recording's page, a person whose role exports makes the package as themself, into a folder
of its own under the store's ``exports`` folder (or the one the application was given), and
is offered its ISO image to download.

The desk's door decides first (``export``: the role, an officer's own footage, and for
restricted footage an approval in force for the export, R-HOST-6); a refusal is on record
and its page names whose approval is needed. The package is built outside any transaction,
then each recording's ``export`` record names the package and its manifest's SHA-256 (an
approval that ended meanwhile refuses it then, and the package is removed). A made package
is downloaded from this web session only, by a name the server chose: no URL names a path.

On the scale-out store (PostgreSQL and objects) the package is made as ``sealcam export``
makes it there: the wanted recordings' objects are fetched first into a private folder
beside the package (``host.court.fromobjects``), each hashed as it comes, and removed once
the package is made; an object missing or the object store away is a refusal on record, in
one line. Having no folder of its own on this machine, that store's packages are made in a
private temporary folder for the server's life, unless the application was given one.
"""

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from host import audit, items, problems, restricted, settings
from host import i18n as host_i18n
from host.errors import Refused, Unusable
from host.web import i18n, pages
from host.web.evidence import acting, item_id
from host.web.session import checked_form, need, web_of

if TYPE_CHECKING:
    from host.court import package
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore
    from host.sqlstore import Cursor
    from host.web.pages import WebSession
    from host.web.session import WebSession as Session

EXPORTS = "exports"  # the folder under the store's root that packages go to by default
TEXT_MAX = 500  # characters of the place and the purpose the note carries
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\Z")


def folder_of(web) -> Path:  # web: host.web.state.Web
    """Where packages are made: the folder the application was given, else the store's;
    for a store with no folder (the scale-out one), a private one made now, for the
    server's life (``web.exports_private``: its end removes it)."""
    if web.exports is None:
        root = getattr(web.store, "root", None)
        if root is not None:
            return Path(str(root)) / EXPORTS
        web.exports = tempfile.mkdtemp(prefix="sealcam-exports-")
        web.exports_private = True
    return Path(web.exports)


def _signer(cur: "Cursor", lang: str) -> tuple:
    """The host key's signer and key id; Unusable when the agency set none."""
    from host.keyfile import load_key
    from protocol.signer import make_signer

    path = settings.get(cur, settings.HOST_KEY)
    if not path:
        raise Unusable(i18n.text(lang, "web.export.no_key"))
    key = load_key(str(path))
    if not key.seed:
        raise Unusable(i18n.text(lang, "web.export.no_key"))
    return make_signer(key.seed), key.device_id


@dataclass(frozen=True)
class Asked:
    """An export asked for by a page's form, past what every export checks first
    (``asked``): the session, its form, the application's state, the page's language."""

    s: "Session"
    form: "dict[str, str]"
    web: Any  # host.web.state.Web
    lang: str
    zone: str  # the agency's time zone, which the note's times are in
    store: "SqliteEvidenceStore | PgEvidenceStore"

    @property
    def extractor(self) -> dict:
        """Who makes the package, as its note names them."""
        user = self.s.desk.user
        shown = "%s (%s)" % (user.display, user.name) if user.display else user.name
        return {"user": user.name, "name": shown, "roles": sorted(user.roles)}


async def asked(
    request: Request, recordings: "Callable[[Session], list[str]]", **details: object
) -> "tuple[Asked, list[str]]":
    """What every export from a page checks first, a recording's and a case's alike: the
    session, the form and its CSRF token; the recordings (``recordings``: it may refuse,
    404 or Unusable, on record as it sees fit), each through the desk's door (a refusal on
    record, with ``details``, in the page's language); a store packages are made from
    (either kind: the embedded store, or the scale-out one, whose objects are fetched)."""
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore

    s = need(request)
    form = await checked_form(request, s)
    web = web_of(request)
    lang = pages.lang_of(request)
    wanted = recordings(s)
    for item in wanted:
        if s.desk.refusal(audit.EXPORT, item) is not None:
            with acting(request, s, audit.EXPORT, item, **details):
                pass  # the door says no again, on record, in the page's language
    store = web.store
    if not isinstance(store, (SqliteEvidenceStore, PgEvidenceStore)):
        raise Unusable(i18n.text(lang, "web.export.store"))
    return Asked(s, form, web, lang, pages.zone_of(request), store), wanted


async def made_as_iso(
    request: Request,
    a: Asked,
    name: str,
    build: "Callable[[Path], Any]",
    failed_item: str,
    **details: object,
) -> "tuple[Any, Path, Path, int]":
    """The package ``build(folder)`` makes (``host.court.package.build``, in a thread) and
    its ISO image: ``(what build returned, its folder, the image, the image's size)``. A
    failure removes what was made and is on record as a refused ``export`` of
    ``failed_item`` with ``details``, then goes on up (an OSError as one line, in the page's
    language)."""
    from host.court import iso as court_iso

    where = folder_of(a.web)
    out, image = where / name, where / (name + ".iso")
    try:
        where.mkdir(parents=True, exist_ok=True)
        made = await run_in_threadpool(build, out)
        size = await run_in_threadpool(
            court_iso.write_iso, out, image, "SEALCAM_" + made.package_id[:8]
        )
    except OSError as exc:
        shutil.rmtree(out, ignore_errors=True)
        # The system's reason and the path it concerned, in the page's language (its
        # strerror is the C library's English).
        with host_i18n.speaking(a.lang):
            why = problems.message(*problems.os_pair(exc))
        problem = Unusable(i18n.text(a.lang, "web.export.failed", problem=why))
        _failed(request, a.s, failed_item, problem, **details)
        raise problem from None
    except (Unusable, Refused) as exc:
        _failed(request, a.s, failed_item, exc, **details)
        raise
    return made, out, image, size


def options(a: Asked, out: Path) -> "package.Options":
    """The package's options from the form: the place and purpose its note names."""
    from host.court import package

    return package.Options(
        out,
        place=a.form.get("place", "").strip()[:TEXT_MAX],
        purpose=a.form.get("purpose", "").strip()[:TEXT_MAX],
        zone=a.zone,
    )


def on_record(
    request: Request, a: Asked, made: Any, out: Path, image: Path, wanted: list, **details: object
) -> None:
    """Each recording's ``export`` record (``wanted``: ``package.Wanted``), naming the
    package, its manifest's SHA-256 and the approval it was made under; an approval that
    ended while it was made refuses it, on record, and the package is removed."""
    try:
        for one in wanted:
            named = dict(details, package_id=made.package_id,
                         manifest_sha256=made.manifest_sha256)  # fmt: skip
            if one.approval:
                named["approval"] = one.approval["id"]
            with acting(request, a.s, audit.EXPORT, one.item, **named):
                pass
    except Refused:
        shutil.rmtree(out, ignore_errors=True)
        image.unlink(missing_ok=True)
        raise


def _failed(request: Request, s: "Session", wanted: str, exc: Exception, **details: object) -> None:
    """A failed attempt as a refused ``export`` record; ``exc`` goes on up."""
    if getattr(exc, "recorded", False):
        return
    try:
        with acting(request, s, audit.EXPORT, wanted, **details):
            raise exc
    except (Refused, Unusable):
        pass


async def make(request: Request) -> Response:
    from host.court import fromobjects, package

    wanted = item_id(request)
    a, _ = await asked(request, lambda s: [wanted], package=None)
    s = a.s
    device, number = items.parse_id(wanted)
    now = s.desk.now()
    name = "%s-%d-%d" % (re.sub(r"[^A-Za-z0-9_-]", "_", device), number, now)
    with s.desk.look() as cur:
        items.get(cur, wanted)  # 404 for a recording the store lacks
        one = package.Wanted(wanted, device, number)
        package.describe(cur, one, s.desk.user.name, now)
        signer, kid = _signer(cur, a.lang)
    extractor = a.extractor
    made, out, image, size = await made_as_iso(
        request, a, name,
        lambda out: fromobjects.build(a.store, [one], None, extractor, signer, kid,
                                      options(a, out), now),
        wanted, package=name,
    )  # fmt: skip
    on_record(request, a, made, out, image, [one], package=name)
    s.exports[name] = {
        "item": wanted,
        "iso": str(image),
        "iso_bytes": size,
        "files": made.files,
        "bytes": made.bytes,
        "manifest_sha256": made.manifest_sha256,
        "package_id": made.package_id,
        "made_ms": now,
    }
    return RedirectResponse("/exports/" + name, 303)


def _made(request: Request, s: "Session") -> "tuple[str, dict]":
    """The package the URL names, when this session made it; 404 otherwise."""
    from starlette.exceptions import HTTPException

    name = request.path_params["name"]
    made = s.exports.get(name) if _NAME.match(name) else None
    if made is None:
        raise HTTPException(404)
    return name, made


def done(request: Request) -> Response:
    s = need(request)
    name, made = _made(request, s)
    device, number = items.parse_id(made["item"])
    return pages.render(
        request, s, "export_done.html", package=name, made=made, device=device, number=number
    )


def download(request: Request) -> Response:
    s = need(request)
    name, made = _made(request, s)
    image = Path(made["iso"])
    if not image.is_file():
        from starlette.exceptions import HTTPException

        raise HTTPException(404)
    response = FileResponse(image, media_type="application/x-iso9660-image", filename=name + ".iso")
    response.headers.update(pages.SECURITY_HEADERS)
    return response


def button(
    request: Request, s: "WebSession", cur: "Cursor", item: "str | None"
) -> "tuple[str, dict] | None":
    """The recording page's export button, for the roles that export."""
    if item is None or "~" in item or not s.desk.user.may(audit.EXPORT):
        return None
    device, number = items.parse_id(item)
    user = s.desk.user.name
    now = web_of(request).now()
    # Restricted footage: the export needs an approval of its own, asked for here.
    held = restricted.restriction(cur, item) is not None
    approved = held and restricted.approval_in_force(cur, item, user, audit.EXPORT, now)
    asked = held and any(
        a.item_id == item and a.action == audit.EXPORT and a.state(now) == restricted.PENDING
        for a in restricted.listing(cur, now, for_user=user)
    )
    return "panel_export.html", {
        "device": device,
        "number": number,
        "item": item,
        "needs_approval": held and not approved,
        "asked": asked,
        "may_ask": s.desk.user.may(audit.REQUEST_APPROVAL),
    }


PANELS = {"recording": button}


def routes() -> "list[Route]":
    return [
        Route("/export/{device}/{rec:int}", make, methods=["POST"]),
        Route("/exports/{name}", done, methods=["GET"]),
        Route("/exports/{name}/package.iso", download, methods=["GET"]),
    ]
