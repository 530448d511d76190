"""A recording's story from its ledger: segments, pauses with their reasons and spoken
explanations, clock changes and power losses, in the order they happened.

Both recording formats tell the same story. A raw recording's chunks are named by their
media (video, audio); a fragmented MP4 recording's by their part in the file: its init
segment (chunk 0, which every fragment needs to play), its fragments of footage (video and
the sound beside it) and its sound-only fragments (the spoken reasons after a resume). A
fragmented recording whose init segment is missing from the ledger, or not chunk 0, says so:
its fragments cannot be played without it. Its events also say where they fall in the MP4
(media time, from the record-start's ``origin_mono`` on the same boot), which is where an
export's pause notes show them.

``render`` tells the story in the language in force (``host.i18n``), its times in the
agency's zone with the offset, as the overlay (issue 17). The recordings' dicts are what
``--json`` gives: their words (event names, ``problems``) stay English there; a problem's
text for a person is kept beside it under ``_problems`` (a catalogue message), which
``host.checkup`` leaves out of the JSON.
"""

from host.i18n import N_, known, text
from host.localtime import DEFAULT_ZONE, show
from host.recordings import recording_number
from protocol.ledger import Entry
from protocol.registry import (
    EV_CLOCK_SET,
    EV_MARK_IMPORTANT,
    EV_PAUSE,
    EV_POWER_LOSS_RECOVERED,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    EVENT_NAMES,
    F_BOOT,
    F_CHUNK_INDEX,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_MONO_MS,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    MEDIA_NAMES,
    PAUSE_NAMES,
)

# Device-wide events worth a line in every recording's story.
_DEVICE_EVENTS = (EV_CLOCK_SET, EV_POWER_LOSS_RECOVERED)

# What a fragmented MP4 recording's chunks are, in the words of its story.
INIT_SEGMENT = "init segment"
FRAGMENTS = "fragments"
SOUND_FRAGMENTS = "sound-only fragments"


def chunk_kind(fields: dict) -> str:
    """A chunk's name in a recording's media counts: its media type for a raw chunk; for
    fragmented MP4, the init segment, a fragment of footage, or a sound-only fragment (no
    per-frame digests: no pictures, the spoken reason after a resume)."""
    media = fields.get(F_MEDIA_TYPE)
    if media == MEDIA_MP4_INIT:
        return INIT_SEGMENT
    if media == MEDIA_MP4:
        return FRAGMENTS if fields.get(F_FRAME_HASHES) else SOUND_FRAGMENTS
    return MEDIA_NAMES.get(media, "media") if isinstance(media, int) else "media"


def recordings(entries: list) -> list:
    """One dict per recording, oldest first: id, start/stop, chunks, and its timeline."""
    by_id: dict = {}
    order: list = []
    spoken_at: dict = {}
    for e in entries:
        if e.kind == KIND_CHUNK:
            spoken_at[e.digest] = e
    current = None
    for e in entries:
        f = e.fields
        rec_id = f.get(F_RECORDING)
        if e.kind != KIND_CHUNK and f.get(F_EVENT) == EV_RECORD_START:
            current = {
                "id": rec_id,
                "start_ms": f[F_WALL_MS],
                "stop_ms": None,
                "chunks": 0,
                "media": {},
                "important": False,
                "timeline": [],
                "format": "raw",  # "fmp4" once a chunk is MP4
                "problems": [],  # what keeps the recording from playing, in words
                "origin": _origin(f),  # (boot, mono ms) of media time 0, or None
            }
            by_id[rec_id] = current
            order.append(current)
        rec = by_id.get(rec_id) if rec_id is not None else current
        if rec is None:
            continue
        if e.kind == KIND_CHUNK:
            rec["chunks"] += 1
            kind = chunk_kind(f)
            rec["media"][kind] = rec["media"].get(kind, 0) + 1
            if f.get(F_MEDIA_TYPE) in (MEDIA_MP4_INIT, MEDIA_MP4):
                rec["format"] = "fmp4"
                _check_init(rec, e)
            continue
        code = f.get(F_EVENT)
        line = _event_line(e, spoken_at)
        origin = rec.get("origin")
        mono = f.get(F_MONO_MS)
        if origin is not None and f.get(F_BOOT) == origin[0] and isinstance(mono, int):
            line["media_s"] = max(0, mono - origin[1]) / 1000
        rec["timeline"].append(line)
        if code == EV_RECORD_STOP:
            rec["stop_ms"] = f[F_WALL_MS]
            current = None
        elif code == EV_MARK_IMPORTANT:
            rec["important"] = True
    for r in order:
        r.pop("_problem_keys", None)
        r.pop("origin", None)
    return order


def _origin(fields: dict) -> "tuple | None":
    """(boot, mono ms) that a record-start says media time 0 stands for, or None."""
    detail = fields.get(F_DETAIL)
    if type(detail) is dict and type(detail.get("origin_mono")) is int:
        return fields.get(F_BOOT), detail["origin_mono"]
    return None


def _check_init(rec: dict, e: Entry) -> None:
    """Note what is wrong with a fragmented recording's init segment, once each."""
    f = e.fields
    if f.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT:
        if f.get(F_CHUNK_INDEX) != 0:
            index = f.get(F_CHUNK_INDEX)
            _problem(rec, "index", N_("timeline.problem.index"), {"index": index})
        if rec["media"].get(INIT_SEGMENT, 0) > 1:
            _problem(rec, "twice", N_("timeline.problem.twice"), {})
    elif not rec["media"].get(INIT_SEGMENT):
        _problem(rec, "missing", N_("timeline.problem.missing"), {"seq": e.seq})


def _problem(rec: dict, key: str, msg_id: str, fields: dict) -> None:
    """One line per kind of problem (``key``): the first fragment that shows it says it,
    in English in ``problems`` (the JSON), as a message in ``_problems`` (for ``render``)."""
    seen = rec.setdefault("_problem_keys", [])
    if key not in seen:
        seen.append(key)
        rec["problems"].append(text(msg_id, "en", **fields))
        rec.setdefault("_problems", []).append((msg_id, fields))


def _event_line(e: Entry, spoken_at: dict) -> dict:
    f = e.fields
    code = f.get(F_EVENT, -1)
    line: dict = {"seq": e.seq, "time_ms": f[F_WALL_MS], "event": EVENT_NAMES.get(code, str(code))}
    if code in (EV_PAUSE, EV_RESUME):
        line["reason"] = PAUSE_NAMES.get(f.get(F_REASON, -1), "none given")
    if code == EV_RESUME:
        clip = spoken_at.get(f.get(F_SPOKEN))
        if clip is None:
            line["spoken_reason"] = None
        else:
            line["spoken_reason"] = {
                "seq": clip.seq,
                "chunk": clip.fields.get(F_CHUNK_INDEX),
                "seconds": (clip.fields[F_END_MS] - clip.fields[F_START_MS]) / 1000,
                "kind": _clip_kind(clip.fields),
            }
    if code == EV_CLOCK_SET:
        d = f.get(F_DETAIL, {})
        line["change_s"] = (d.get("new_ms", 0) - d.get("old_ms", 0)) / 1000
    if code == EV_POWER_LOSS_RECOVERED:
        d = f.get(F_DETAIL, {})
        for key in ("torn_bytes", "partial_bytes", "orphan_bytes"):
            line[key] = d.get(key, 0)
        line["partial_media"] = len(d.get("partial_media", []))
        line["orphan_media"] = len(d.get("orphan_media", []))
    return line


def when(ms: "int | None", zone: str = DEFAULT_ZONE) -> str:
    """A moment as the overlay shows it (``2026-12-05 14:03:07 UTC+8``), or ``?``."""
    if ms is None:
        return "?"
    return show(ms, zone)


# The words of a fragmented recording's parts, by how many there are (1, more).
_FMP4_PARTS = {
    INIT_SEGMENT: (N_("timeline.media.init"), N_("timeline.media.init")),
    FRAGMENTS: (N_("timeline.media.fragment"), N_("timeline.media.fragments")),
    SOUND_FRAGMENTS: (N_("timeline.media.sound"), N_("timeline.media.sounds")),
}
# The kind of clip a spoken reason was recorded as (``_clip_kind``).
_CLIP_KINDS = {
    "sound-only fragment": N_("timeline.clip.sound"),
    "fragment": N_("timeline.clip.fragment"),
    "clip": N_("timeline.clip.clip"),
}


def _label(rec_id: object) -> str:
    """``Recording 42``, as ``host.recordings.recording_label`` names it, capitalised."""
    if isinstance(rec_id, bytes) and rec_id:
        return text("timeline.recording", number=recording_number(rec_id))
    return text("timeline.recording.none")


def _media(r: dict) -> str:
    if r.get("format") == "fmp4":
        parts = []
        for k, n in sorted(r["media"].items(), key=_fmp4_order):
            ids = _FMP4_PARTS.get(k)
            parts.append(text(ids[0] if n == 1 else ids[1], count=n) if ids else "%d %s" % (n, k))
        return text("timeline.fmp4", parts=text("timeline.comma").join(parts))
    return text("timeline.comma").join("%d %s" % (n, k) for k, n in sorted(r["media"].items()))


def event_name(name: str) -> str:
    """An event's name (``protocol.registry.EVENT_NAMES``) in the language in force; one
    without a message (an unknown code, shown as its number) as it is."""
    msg_id = "event." + name
    return text(msg_id) if known(msg_id) else name


def pause_reason(name: str) -> str:
    """A pause reason (``PAUSE_NAMES``, or ``none given``) in the language in force."""
    msg_id = "timeline.pause." + ("none" if name == "none given" else name)
    return text(msg_id) if known(msg_id) else name


def render(recs: list, zone: str = DEFAULT_ZONE) -> list:
    """Text lines telling each recording's story, in the language in force, times in
    ``zone`` (an event's time of day only: its date and offset are the recording's)."""
    lines = []
    for r in recs:
        lines.append(
            text(
                "timeline.span",
                recording=_label(r["id"]),
                start=when(r["start_ms"], zone),
                stop=when(r["stop_ms"], zone) if r["stop_ms"] else text("timeline.not_stopped"),
                media=_media(r) or text("timeline.no_chunks"),
                important=text("timeline.important") if r["important"] else "",
            )
        )
        for t in r["timeline"]:
            line = text(
                "timeline.event",
                time=when(t["time_ms"], zone)[11:19],
                seq=t["seq"],
                event=event_name(t["event"]),
            )
            if "reason" in t:
                line += text("timeline.reason", reason=pause_reason(t["reason"]))
            if t.get("event") == "resume":
                clip = t.get("spoken_reason")
                if clip:
                    kind = _CLIP_KINDS.get(clip.get("kind", "clip"), _CLIP_KINDS["clip"])
                    line += text(
                        "timeline.spoken", seconds=clip["seconds"], kind=text(kind), seq=clip["seq"]
                    )
                else:
                    line += text("timeline.no_spoken")
            if "change_s" in t:
                line += text("timeline.clock_change", change=t["change_s"])
            if "torn_bytes" in t:
                line += text("timeline.in_brackets", what=in_flight(t))
            if r.get("format") == "fmp4" and "media_s" in t:
                line += text("timeline.in_mp4", at=media_clock(t["media_s"]))
            lines.append(line)
        for problem in problems_said(r):
            lines.append(text("timeline.problem", problem=problem))
    return lines


def problems_said(rec: dict) -> "list[str]":
    """What keeps recording ``rec`` from playing, in the language in force: its messages
    (``_problems``: pairs, or lists once kept as CBOR by the review page), else the English
    words of a recording made before they were kept."""
    saids = rec.get("_problems")
    if not saids:
        return list(rec.get("problems", []))
    return [text(str(m), **dict(f)) for m, f in saids]


def media_clock(seconds: float) -> str:
    """A media time as a player shows it: m:ss.s (h:mm:ss.s past an hour)."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    clock = "%d:%04.1f" % (minutes, rest / 10)
    return "%d:%02d:%04.1f" % (hours, minutes, rest / 10) if hours else clock


def _clip_kind(fields: dict) -> str:
    kind = chunk_kind(fields)
    if kind == SOUND_FRAGMENTS:
        return "sound-only fragment"
    return "fragment" if kind == FRAGMENTS else "clip"


def _fmp4_order(item: tuple) -> tuple:
    order = (INIT_SEGMENT, FRAGMENTS, SOUND_FRAGMENTS)
    return (order.index(item[0]) if item[0] in order else len(order), item[0])


def in_flight(t: dict) -> str:
    """What a power-loss event says was being written at the cut, in words (the language
    in force)."""
    parts = []
    if t["torn_bytes"]:
        parts.append(text("timeline.torn", bytes=t["torn_bytes"]))
    if t.get("partial_media"):
        parts.append(
            text("timeline.partial", count=t["partial_media"], bytes=t.get("partial_bytes", 0))
        )
    if t.get("orphan_media"):
        parts.append(
            text("timeline.orphan", count=t["orphan_media"], bytes=t.get("orphan_bytes", 0))
        )
    if not parts:
        return text("timeline.between_writes")
    return text("timeline.in_flight", parts=text("timeline.separator").join(parts))
