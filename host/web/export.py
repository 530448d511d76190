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
"""

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from host import audit, items, restricted, settings
from host.errors import Refused, Unusable
from host.web import i18n, pages
from host.web.evidence import acting, item_id
from host.web.session import checked_form, need, web_of

if TYPE_CHECKING:
    from host.sqlstore import Cursor
    from host.web.pages import WebSession
    from host.web.session import WebSession as Session

EXPORTS = "exports"  # the folder under the store's root that packages go to by default
TEXT_MAX = 500  # characters of the place and the purpose the note carries
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\Z")


def folder_of(web) -> Path:  # web: host.web.state.Web
    """Where packages are made: the folder the application was given, else the store's."""
    if web.exports is not None:
        return Path(web.exports)
    return Path(web.store.root) / EXPORTS


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


def _failed(request: Request, s: "Session", wanted: str, name: str, exc: Exception) -> None:
    """A failed attempt as a refused ``export`` record; ``exc`` goes on up."""
    if getattr(exc, "recorded", False):
        return
    try:
        with acting(request, s, audit.EXPORT, wanted, package=name):
            raise exc
    except (Refused, Unusable):
        pass


async def make(request: Request) -> Response:
    from host.court import iso as court_iso
    from host.court import package
    from host.evidence import SqliteEvidenceStore

    s = need(request)
    form = await checked_form(request, s)
    web = web_of(request)
    lang = pages.lang_of(request)
    wanted = item_id(request)
    user = s.desk.user
    if s.desk.refusal(audit.EXPORT, wanted) is not None:
        with acting(request, s, audit.EXPORT, wanted, package=None):
            pass  # the door says no again, on record, in the page's language
    device, number = items.parse_id(wanted)
    now = s.desk.now()
    name = "%s-%d-%d" % (re.sub(r"[^A-Za-z0-9_-]", "_", device), number, now)
    store = web.store
    with s.desk.look() as cur:
        items.get(cur, wanted)  # 404 for a recording the store lacks
        one = package.Wanted(wanted, device, number)
        package.describe(cur, one, user.name, now)
        signer, kid = _signer(cur, lang)
    if not isinstance(store, SqliteEvidenceStore):
        raise Unusable(i18n.text(lang, "web.export.store"))
    shown = "%s (%s)" % (user.display, user.name) if user.display else user.name
    extractor = {"user": user.name, "name": shown, "roles": sorted(user.roles)}
    where = folder_of(web)
    out, image = where / name, where / (name + ".iso")
    opts = package.Options(
        out,
        place=form.get("place", "").strip()[:TEXT_MAX],
        purpose=form.get("purpose", "").strip()[:TEXT_MAX],
        zone=pages.zone_of(request),
    )
    try:
        where.mkdir(parents=True, exist_ok=True)
        made = await run_in_threadpool(
            package.build, store, [one], None, extractor, signer, kid, opts, now
        )
        size = await run_in_threadpool(
            court_iso.write_iso, out, image, "SEALCAM_" + made.package_id[:8]
        )
    except OSError as exc:
        shutil.rmtree(out, ignore_errors=True)
        problem = Unusable(i18n.text(lang, "web.export.failed", problem=exc.strerror or exc))
        _failed(request, s, wanted, name, problem)
        raise problem from None
    except (Unusable, Refused) as exc:
        _failed(request, s, wanted, name, exc)
        raise
    details: dict = {
        "package": name,
        "package_id": made.package_id,
        "manifest_sha256": made.manifest_sha256,
    }
    if one.approval:
        details["approval"] = one.approval["id"]
    try:
        with acting(request, s, audit.EXPORT, wanted, **details):
            pass
    except Refused:  # the approval ended while the package was made
        shutil.rmtree(out, ignore_errors=True)
        image.unlink(missing_ok=True)
        raise
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
