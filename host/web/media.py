"""The footage itself: a recording's signed MP4, a spoken reason's clip, a thumbnail.

Media are addressed by recording (device and number) and chunk index, never by a path: the
route finds the chunks in the ledger and reads each from the store's file for its digest
(``footage``). Every request passes the desk's checks for ``play`` (the role, an officer's
own recordings, an approval in force for restricted footage), so an approval that ends
stops the player at its next request. The first play of a recording in a web session is a
``play`` record on the audit trail; the range requests that follow it (a player asks for
the file piece by piece, and again at every seek) are the same play.

The bytes come from the store's media (``host.mediasource``): files, or objects read a range
at a time. When the object store cannot be reached, the answer is 503 with one line saying so
in the page's language (the player tries again); a failure once the bytes are flowing ends
the response short, which a player takes as a cue to ask again from where it stopped; from an
object store, a range is answered a part at a time (``REMOTE_SPAN``), read before it is sent.
"""

import itertools
import sys
from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from host import audit, items
from host.mediasource import MediaMissing
from host.web import footage, i18n, pages, ranges
from host.web.evidence import acting, item_id
from host.web.recordview import View
from host.web.session import WebSession, need, web_of

# A range of footage in an object store is answered a part at a time, each read whole before
# its answer starts: a gateway that fails under the read is then a clean 503 (an answer cut
# off after its headers would leave the server with a half-sent response). A player asks for
# the rest from where the part ends, as it does after every seek.
REMOTE_SPAN = 4 << 20


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
    remote = getattr(footage.source_of(web.store), "remote", False)
    if span is None:
        first, last, status = 0, whole.size - 1, 200
    else:
        first, last, status = span.first, span.last, 206
        if remote:  # a part at a time, read whole before the answer starts (see below)
            last = min(last, first + REMOTE_SPAN - 1)
        headers["Content-Range"] = ranges.Span(first, last, whole.size).content_range()
    headers["Content-Length"] = str(max(0, last - first + 1))
    body = whole.read(web.store, first, last) if whole.size else iter(())
    try:
        if remote and status == 206:
            return Response(b"".join(body), status_code=206, headers=headers,
                            media_type="video/mp4")  # fmt: skip
        # The first block is asked for before the answer starts: a store that cannot give
        # it is said in the status and one line, never a response cut off at its start.
        started = list(itertools.islice(body, 1))
    except MediaMissing:
        return _missing(request)
    except OSError as exc:  # the object store away (MediaUnreachable), a short file
        return unavailable(request, str(exc))
    return StreamingResponse(_flowing(itertools.chain(started, body)), status_code=status,
                             headers=headers, media_type="video/mp4")  # fmt: skip


def _missing(request: Request) -> Response:
    return PlainTextResponse(i18n.text(pages.lang_of(request), "web.media.missing"), 404)


def unavailable(request: Request, why: str) -> Response:
    """503: the footage cannot be read now (the object store is away); one line, no trace."""
    print("sealcam serve: %s" % why, file=sys.stderr, flush=True)
    return PlainTextResponse(
        i18n.text(pages.lang_of(request), "web.media.unavailable"),
        status_code=503,
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
    )


def _flowing(body: Iterator[bytes]) -> Iterator[bytes]:
    """The body, ended short (not with a traceback) when the store fails under it."""
    try:
        yield from body
    except OSError as exc:
        print("sealcam serve: %s" % exc, file=sys.stderr, flush=True)


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
