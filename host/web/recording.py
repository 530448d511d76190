"""A recording's page: the player, and under it the recording's story along one time axis.

The story is ``host.timeline``'s: segments between the pauses, each pause with its
objective reason and the spoken reason after it (a clip that plays on its own), the
announcement and narration marks, clock changes and power losses. Along the same axis,
each chunk's media as the store holds it (present and matching its signed hash, missing,
or altered: the validation string made visible), the GPS track (``gpstrack``) and the
custody chain (``host.audit.history``). Opening the page is a ``view`` record; playing is
a ``play`` record, made by the media route on the first byte (``media``).

What needs the recording's view (its story, chunk states, track) is drawn from it; a view
not made yet (a ten-hour recording docked seconds ago) is not made while the person waits:
the page comes at once without those parts and its script fetches them (``parts``) when
the preparer has made the view (``host.web.prepare``); where the preparer could not make it,
the page says so in their place.
"""

from collections import Counter
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from host import audit, cases, i18n, items, restricted, timeline
from host.web import gpstrack, pages, places, recordview
from host.web.evidence import acting, item_id
from host.web.session import need, web_of

if TYPE_CHECKING:
    from host.access import Store
    from host.sqlstore import Cursor
    from host.web.recordview import View
    from host.web.session import WebSession

CUSTODY_SHOWN = 200  # the newest records of the chain on the page; sealcam audit has them all

# Events drawn as marks along the axis, and the colour class of each.
MARKS = {
    "record-start": "start",
    "record-stop": "stop",
    "pause": "pause",
    "resume": "resume",
    "announcement": "announce",
    "narration": "narrate",
    "mark-important": "important",
    "clock-set": "clock",
    "power-loss-recovered": "power",
}


def _where(ms: int, start: int, length: int) -> float:
    return max(0.0, min(100.0, (ms - start) * 100.0 / length))


def marks(rec: dict, start: int, length: int, lang: str) -> "list[dict]":
    """Each event of the story as the page draws and lists it."""
    out = []
    for t in rec["timeline"]:
        name = t["event"]
        msg_id = "event." + name
        line = {
            "seq": t["seq"],
            "event": name,
            "label": i18n.text(msg_id, lang) if i18n.known(msg_id) else name,
            "time_ms": t["time_ms"],
            "at": _where(t["time_ms"], start, length),
            "media_s": t.get("media_s"),
            "css": MARKS.get(name, "other"),
        }
        if "reason" in t:
            reason_id = "timeline.pause." + ("none" if t["reason"] == "none given" else t["reason"])
            line["reason"] = i18n.text(reason_id, lang) if i18n.known(reason_id) else t["reason"]
        if name == "resume":
            clip = t.get("spoken_reason")
            line["clip"] = clip
        if "change_s" in t:
            line["change_s"] = t["change_s"]
        if "torn_bytes" in t:
            line["power"] = timeline.in_flight(t)  # the caller speaks ``lang``
        out.append(line)
    return out


def segments(lines: "list[dict]", start: int, end: int, length: int) -> "list[dict]":
    """Recording and paused stretches along the axis, from the pause and resume marks."""
    out = []
    at, paused = start, False
    for m in lines:
        if m["event"] in ("pause", "resume"):
            upto = _where(m["time_ms"], start, length)
            out.append({"from": _where(at, start, length), "to": upto, "paused": paused})
            at, paused = m["time_ms"], m["event"] == "pause"
    out.append({"from": _where(at, start, length), "to": 100.0, "paused": paused})
    return [s for s in out if s["to"] > s["from"]]


def chunk_runs(web, view: "View") -> "tuple[list, dict]":
    """Consecutive chunks in the same state, as stretches of the axis; counts per state."""
    runs: list = []
    states = web.checks.states(web.store, [p.digest for p in view.parts])
    counts = dict(Counter(states))
    for (a, b), state in zip(view.places, states, strict=True):
        b = max(a, b)
        if runs and runs[-1]["state"] == state:
            runs[-1]["to"] = max(runs[-1]["to"], b)
            runs[-1]["count"] += 1
        else:  # a new stretch, at least a sliver wide to be seen
            runs.append({"state": state, "from": a, "to": max(b, a + 0.2), "count": 1})
    return runs, counts


def page_data(request: Request, s: "WebSession", wanted: str) -> dict:
    """What the page shows: what needs no parse of the recording's entries (the item, its
    player, custody chain, cases, approvals) always; its story (``story_data``) when its
    view is ready, or when no preparer makes views (the page then makes it). Otherwise
    the preparer is asked for it and the page says it is being prepared (``parts``)."""
    web = web_of(request)
    user = s.desk.user
    with acting(request, s, audit.VIEW, wanted) as act:
        cur = act.cur
        item = items.get(cur, wanted)
        held = restricted.restriction(cur, wanted)
        may_play, in_force = _may_play(web, user, cur, wanted)
        held_by = cases.cases_of(cur, wanted)
        note = cases.note_of(cur, wanted)
        extra = pages.panels(request, "recording", s, cur, wanted)
        now = web.now()
        asked = [
            a for a in restricted.listing(cur, now, for_user=user.name)
            if a.item_id == wanted and a.state(now) == restricted.PENDING
        ]  # fmt: skip
    # After the view's own record, which the chain then shows as its newest line; and the
    # recording's view, which a first look at a long recording takes seconds to make, out of
    # the action's write transaction (the store's writers, a dock among them, go on).
    view = _view(web, s, item)
    unprepared = view is None and web.views.could_not(item)
    with s.desk.look() as cur:
        ids = [wanted] + [d.item_id for d in items.derivatives_of(cur, wanted)]
        records = [r for i in ids for r in audit.history(cur, item=i, limit=CUSTODY_SHOWN)]
        if view is None:
            if not unprepared:  # asked for; one the preparer could not make is not awaited
                web.views.ask(wanted)
            playable = recordview.first_guess(cur, item)
        else:
            first = _first_fix(cur, item, view)
    custody = sorted(records, key=lambda r: r.seq)[-CUSTODY_SHOWN:]
    start = item.started_ms
    length = max(item.ended_ms, start + 1) - start
    data = {
        "item": item,
        "chunks": item.chunks,
        "may_play": may_play,
        "in_force": in_force,
        "restricted": held,
        "restricted_kind": restricted.KIND_TEXT.get(held[0]) if held else None,
        "custody": custody,
        "cases": held_by,
        "note": note,
        "asked": asked,
        "panels": extra,
        "seconds": length / 1000,
        "ready": view is not None,
        "unprepared": unprepared,
    }
    if view is None:
        data.update(playable=playable, problems=[])
    else:
        data.update(story_data(request, item, view, first))
    return data


def _may_play(web, user, cur: "Cursor", wanted: str) -> "tuple[bool, object]":
    """Whether ``user`` may play ``wanted`` now, and the approval in force, if any."""
    now = web.now()
    may_play = user.may(audit.PLAY) and (
        restricted.refusal(cur, user.name, audit.PLAY, wanted, now) is None
    )
    return may_play, restricted.approval_in_force(cur, wanted, user.name, audit.PLAY, now)


def _view(web, s: "WebSession", item: items.Item) -> "View | None":
    """The recording's view when it is ready; where no preparer makes views, made now."""
    if web.views.prepared:
        return web.views.ready(s.desk.look, item)
    return web.views.get(s.desk.look, item, web.store.write)


def _first_fix(cur: "Cursor", item: items.Item, view: "View") -> "tuple | None":
    """Where the drawn track starts (its first few entries read): a click on the drawing
    then names a place to search near."""
    return places.first_fix(cur, item) if view.track is not None else None


def story_data(request: Request, item: items.Item, view: "View", first: "tuple | None") -> dict:
    """What the page shows from the recording's view (``first``: ``_first_fix``): its
    story along the axis, each chunk's media state, the GPS track; whether it plays."""
    web = web_of(request)
    lang = pages.lang_of(request)
    geo = None
    if view.track is not None and first is not None:
        geo = gpstrack.georef(view.track, first[0] / 1e7, first[1] / 1e7)
    start = item.started_ms
    end = max(item.ended_ms, start + 1)
    length = end - start
    rec = view.story
    with i18n.speaking(lang):
        lines = marks(rec, start, length, lang) if rec else []
        # Said here, per request: the view is kept (and shared by every reader) in no
        # language, its problems as messages.
        problems = timeline.problems_said(rec) if rec else []
    runs, counts = chunk_runs(web, view)
    return {
        "rec": rec,
        "marks": lines,
        "segments": segments(lines, start, end, length),
        "runs": runs,
        "counts": counts,
        "playable": view.playable,
        "gps": view.track,
        "geo": geo,
        "radius": places.DEFAULT_RADIUS_M,
        "distance_text": gpstrack.distance_text,
        "problems": problems,
    }


def show(request: Request) -> Response:
    s = need(request)
    wanted = item_id(request)
    data = page_data(request, s, wanted)
    return pages.render(request, s, "recording.html", **data)


def parts(request: Request) -> Response:
    """The page's parts that need the recording's view (its timeline, chunk states, GPS
    track; its player too when the page guessed it otherwise, ``shown``), for a page shown
    before the view was ready: 202 (the preparer asked again) until it is. The page's view
    is on record already: this records none, but passes the same door as the page (the
    role, an officer's own recordings; the play controls only where play is allowed)."""
    s = need(request)
    web = web_of(request)
    wanted = item_id(request)
    if s.desk.refusal(audit.VIEW, wanted) is not None:
        with acting(request, s, audit.VIEW, wanted):
            pass  # the door says no again, on record, in the page's language
    with s.desk.look() as cur:
        item = items.get(cur, wanted)
        may_play, _ = _may_play(web, s.desk.user, cur, wanted)
        held = restricted.restriction(cur, wanted)
    view = _view(web, s, item)
    if view is None and web.views.could_not(item):
        # Not waited for: the page says so where its parts would be (the log says why).
        return pages.render(request, s, "recording_unprepared.html")
    if view is None:
        web.views.ask(wanted)
        return pages.render(request, s, "recording_waiting.html", status=202)
    with s.desk.look() as cur:
        first = _first_fix(cur, item, view)
    data = story_data(request, item, view, first)
    shown = request.query_params.get("shown")
    return pages.render(
        request, s, "recording_parts.html", item=item, may_play=may_play, restricted=held,
        player_changed=shown != view.playable, asked=[], **data,
    )  # fmt: skip


def prepare(store: "Store") -> None:
    """The table the recordings' views are kept in (``recordview``)."""
    from host.web.recordview import SCHEMA

    store.add_tables(SCHEMA)


def routes() -> "list[Route]":
    return [
        Route("/recording/{device}/{rec:int}", show, methods=["GET"]),
        Route("/recording/{device}/{rec:int}/timeline", parts, methods=["GET"]),
    ]
