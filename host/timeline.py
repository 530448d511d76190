"""A recording's story from its ledger: segments, pauses with their reasons and spoken
explanations, clock changes and power losses, in the order they happened."""

import time

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
    F_CHUNK_INDEX,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_MEDIA_TYPE,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
    MEDIA_NAMES,
    PAUSE_NAMES,
)

# Device-wide events worth a line in every recording's story.
_DEVICE_EVENTS = (EV_CLOCK_SET, EV_POWER_LOSS_RECOVERED)


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
            }
            by_id[rec_id] = current
            order.append(current)
        rec = by_id.get(rec_id) if rec_id is not None else current
        if rec is None:
            continue
        if e.kind == KIND_CHUNK:
            rec["chunks"] += 1
            kind = MEDIA_NAMES.get(f.get(F_MEDIA_TYPE), "media")
            rec["media"][kind] = rec["media"].get(kind, 0) + 1
            continue
        code = f.get(F_EVENT)
        rec["timeline"].append(_event_line(e, spoken_at))
        if code == EV_RECORD_STOP:
            rec["stop_ms"] = f[F_WALL_MS]
            current = None
        elif code == EV_MARK_IMPORTANT:
            rec["important"] = True
    return order


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
        media = ", ".join("%d %s" % (n, k) for k, n in sorted(r["media"].items()))
        lines.append(
            "Recording %s  %s to %s  (%s)%s"
            % (
                r["id"].hex() if isinstance(r["id"], bytes) else r["id"],
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
                    " spoken reason: %.0f s clip, seq %d" % (clip["seconds"], clip["seq"])
                    if clip
                    else " WITHOUT a spoken reason"
                )
            if "change_s" in t:
                text += " by %+.1f s" % t["change_s"]
            if "torn_bytes" in t:
                text += " (%s)" % in_flight(t)
            lines.append(text)
    return lines


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
