"""The footage itself: a recording's signed MP4, a spoken reason's clip, a thumbnail.

Media are addressed by recording (device and number) and chunk index, never by a path: the
route finds the chunks in the ledger and reads each from the store's file for its digest
(``footage``). Every request passes the desk's checks for ``play`` (the role, an officer's
own recordings, an approval in force for restricted footage), so an approval that ends
stops the player at its next request. The first play of a recording in a web session is a
``play`` record on the audit trail; the range requests that follow it (a player asks for
the file piece by piece, and again at every seek) are the same play.
"""

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from host import audit, items
from host.web import footage, ranges
from host.web.evidence import acting, item_id
from host.web.recordview import View
from host.web.session import WebSession, need, web_of


def _playing(request: Request, s: WebSession, wanted: str) -> View:
    """The view of ``wanted``, once ``play`` is allowed; the first time this session, with
    the play on the audit trail."""
    views = web_of(request).views
    if wanted not in s.played:
        with acting(request, s, audit.PLAY, wanted, via="web") as act:
            items.get(act.cur, wanted)
        s.played.add(wanted)
    else:
        _still_allowed(request, s, wanted)
    # Out of the action's write transaction: a first look at a long recording takes seconds.
    with s.desk.look() as cur:
        item = items.get(cur, wanted)
    return views.get(s.desk.look, item, web_of(request).store.write)


def _still_allowed(request: Request, s: WebSession, wanted: str) -> None:
    """Refused (and on record) once ``play`` no longer is: an approval that ended."""
    refused = s.desk.refusal(audit.PLAY, wanted)
    if refused is not None:
        s.played.discard(wanted)
        # Through ``act`` so the refused attempt is on record, as any other.
        with acting(request, s, audit.PLAY, wanted, via="web"):
            pass


def _serve(request: Request, whole: footage.Footage) -> Response:
    web = web_of(request)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    try:
        span = ranges.parse(request.headers.get("range"), whole.size)
    except ranges.NotSatisfiable:
        headers["Content-Range"] = "bytes */%d" % whole.size
        return Response(status_code=416, headers=headers)
    if span is None:
        first, last, status = 0, whole.size - 1, 200
    else:
        first, last, status = span.first, span.last, 206
        headers["Content-Range"] = span.content_range()
    headers["Content-Length"] = str(max(0, last - first + 1))
    body = whole.read(web.store, first, last) if whole.size else iter(())
    return StreamingResponse(body, status_code=status, headers=headers, media_type="video/mp4")


def _not_playable() -> Response:
    return Response("not playable in the browser", status_code=409)


def recording(request: Request) -> Response:
    s = need(request)
    wanted = item_id(request)
    view = _playing(request, s, wanted)
    if view.whole is None:
        return _not_playable()
    return _serve(request, view.whole)


def clip(request: Request) -> Response:
    s = need(request)
    wanted = item_id(request)
    index = request.path_params["index"]
    one = _playing(request, s, wanted).clip(index)
    if one is None:
        return Response("no such clip", status_code=404)
    return _serve(request, one)


def thumbnail(request: Request) -> Response:
    """The first keyframe: as much a look at the footage as playing it, so the same checks
    (not recorded: the search that showed it is)."""
    s = need(request)
    web = web_of(request)
    wanted = item_id(request)
    refused = s.desk.refusal(audit.PLAY, wanted)
    if refused is not None:
        raise refused
    with s.desk.look() as cur:
        item = items.get(cur, wanted)
    view = web.views.get(s.desk.look, item, web.store.write)
    if view.whole is None and view.playable != footage.RAW:  # (raw: its first JPEG frame)
        return Response(status_code=404)
    jpeg = web.thumbnails.get("%s@%d" % (wanted, item.last_seq), web.store, view.parts)
    if jpeg is None:
        return Response(status_code=404)
    return Response(
        jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


def routes() -> "list[Route]":
    return [
        Route("/media/{device}/{rec:int}/footage.mp4", recording, methods=["GET"]),
        Route("/media/{device}/{rec:int}/clip/{index:int}.mp4", clip, methods=["GET"]),
        Route("/thumb/{device}/{rec:int}.jpg", thumbnail, methods=["GET"]),
    ]
