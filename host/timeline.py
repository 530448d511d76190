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
"""

import time

from host.recordings import recording_label
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
            _problem(
                rec, "index", "its init segment is chunk %s, not chunk 0" % f.get(F_CHUNK_INDEX)
            )
        if rec["media"].get(INIT_SEGMENT, 0) > 1:
            _problem(rec, "twice", "it has more than one init segment")
    elif not rec["media"].get(INIT_SEGMENT):
        _problem(
            rec,
            "missing",
            "fragment seq %d comes before any init segment: the fragments cannot be played "
            "without one" % e.seq,
        )


def _problem(rec: dict, key: str, text: str) -> None:
    """One line per kind of problem (``key``): the first fragment that shows it says it."""
    seen = rec.setdefault("_problem_keys", [])
    if key not in seen:
        seen.append(key)
        rec["problems"].append(text)


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


def when(ms: int | None) -> str:
    if ms is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + " UTC"


def render(recs: list) -> list:
    """Text lines telling each recording's story."""
    lines = []
    for r in recs:
        if r.get("format") == "fmp4":
            media = "fragmented MP4: " + ", ".join(
                "%d %s" % (n, k if n != 1 or k == INIT_SEGMENT else k[:-1])
                for k, n in sorted(r["media"].items(), key=_fmp4_order)
            )
        else:
            media = ", ".join("%d %s" % (n, k) for k, n in sorted(r["media"].items()))
        lines.append(
            "%s  %s to %s  (%s)%s"
            % (
                recording_label(r["id"]).capitalize(),
                when(r["start_ms"]),
                when(r["stop_ms"]) if r["stop_ms"] else "not stopped",
                media or "no chunks",
                "  [important]" if r["important"] else "",
            )
        )
        for t in r["timeline"]:
            text = "  %s  seq %-6d %s" % (when(t["time_ms"])[11:19], t["seq"], t["event"])
            if "reason" in t:
                text += " (%s)" % t["reason"]
            if t.get("event") == "resume":
                clip = t.get("spoken_reason")
                text += (
                    " spoken reason: %.0f s %s, seq %d"
                    % (clip["seconds"], clip.get("kind", "clip"), clip["seq"])
                    if clip
                    else " WITHOUT a spoken reason"
                )
            if "change_s" in t:
                text += " by %+.1f s" % t["change_s"]
            if "torn_bytes" in t:
                text += " (%s)" % in_flight(t)
            if r.get("format") == "fmp4" and "media_s" in t:
                text += "  [%s in the MP4]" % media_clock(t["media_s"])
            lines.append(text)
        for problem in r.get("problems", []):
            lines.append("  PROBLEM: %s" % problem)
    return lines


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
    """What a power-loss event says was being written at the cut, in words."""
    parts = []
    if t["torn_bytes"]:
        parts.append("%d ledger bytes cut off" % t["torn_bytes"])
    if t.get("partial_media"):
        parts.append(
            "%d media write(s) of %d bytes cut short, kept on the device"
            % (t["partial_media"], t.get("partial_bytes", 0))
        )
    if t.get("orphan_media"):
        parts.append(
            "%d whole media file(s) of %d bytes whose entry was lost, kept on the device"
            % (t["orphan_media"], t.get("orphan_bytes", 0))
        )
    if not parts:
        return "cut between two writes: no write was under way"
    return "in flight: " + "; ".join(parts)
