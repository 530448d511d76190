"""Verification reports as a person reads them on a terminal.

Everything here is in the language in force (``host.i18n``) and every time in the agency's
time zone with its offset, as the overlay burns it (``host.localtime.show``: ``2026-12-05
14:03:07 UTC+8``), issue 17 and issue 13 "Chinese first". A finding (of the ledger verifier,
the evidence store's checks, the MP4 check) or a compliance flag keeps its English sentence
in ``message`` for ``--json`` and for MicroPython; the text a person reads is rendered from
its ``msg_id`` and ``fields`` (``said``). A field whose name ends in ``_ms`` is a moment (UTC
milliseconds) and is shown as a local time under the name without ``_ms`` (``_millis``: the
same, to the millisecond, for a frame's time).
"""

import datetime
from zoneinfo import ZoneInfo

from host.i18n import text, verdict
from host.localtime import DEFAULT_ZONE, offset_text, show
from host.recordings import recording_number
from protocol.verify import NOT_OK, OK, OK_MISSING, Report

_MARK = {OK: "✓", OK_MISSING: "~", NOT_OK: "✗"}


def when(ms: "int | None", zone: str = DEFAULT_ZONE) -> str:
    """A moment as the overlay shows it, or ``?`` when there is none."""
    if ms is None:
        return "?"
    return show(ms, zone)


def when_millis(ms: int, zone: str = DEFAULT_ZONE) -> str:
    """``2026-12-05 14:03:07.400 UTC+8``: a moment to the millisecond (a frame's time), as
    ``show`` writes it otherwise."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone))
    offset = moment.utcoffset() or datetime.timedelta(0)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + ".%03d " % (ms % 1000) + offset_text(offset)


def recording_said(rec_id: object) -> tuple:
    """``host.recordings.recording_label`` as a message for ``said``."""
    if isinstance(rec_id, bytes) and rec_id:
        return ("report.recording", {"number": recording_number(rec_id)})
    return ("report.recording.none", {})


def _is_message(value: object) -> bool:
    """A field that is a message of its own: ``(msg_id, fields)``, or the list JSON makes of
    that pair when a flag has been written out and read back."""
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], dict)
    )


def said(msg_id: str, fields: dict, zone: str = DEFAULT_ZONE) -> str:
    """Message ``msg_id`` with ``fields``: ``NAME_ms`` fields become local times ``NAME``
    (``NAME_millis``: to the millisecond); a field that is itself a message ``(msg_id,
    fields)`` is rendered first; a ``where`` field (``protocol.verify._where_fields``: seq,
    seqs, bytes or none, with ``first`` and ``last``) becomes the words for that span."""
    values = {}
    for name, value in fields.items():
        if name.endswith("_ms"):
            values[name[:-3]] = when(value, zone)
        elif name.endswith("_millis"):
            values[name[:-7]] = "?" if value is None else when_millis(value, zone)
        elif _is_message(value):
            values[name] = said(value[0], value[1], zone)
        else:
            values[name] = value
    if "where" in values:
        values["where"] = text(
            "finding.where." + str(values["where"]), first=values["first"], last=values["last"]
        )
    return text(msg_id, **values)


def finding_text(finding: object, zone: str = DEFAULT_ZONE) -> str:
    """What a finding or flag says, for a person: from its message id in the language in
    force, or its English ``message`` when it has no id (a finding made by code that does
    not give one yet)."""
    msg_id = getattr(finding, "msg_id", "")
    fields = getattr(finding, "fields", None)
    if msg_id and fields is not None:
        return said(msg_id, fields, zone)
    return str(getattr(finding, "message", ""))


def render(report: Report, source: str, zone: str = DEFAULT_ZONE) -> str:
    """A short, complete text report: what was checked, the verdict, every finding; in the
    language in force (``host.i18n``), times in ``zone``."""
    s = report.stats
    entries = text("report.entries", entries=s["entries"], signed=s["signed"])
    if s["first_seq"] is not None:
        entries += text("report.seq", first=s["first_seq"], last=s["last_seq"])
    # No entry, so no time (not "? to ?", which reads as times unknown).
    time_line = text("report.no_time")
    if s["first_wall_ms"] is not None or s["last_wall_ms"] is not None:
        time_line = text(
            "report.time", first=when(s["first_wall_ms"], zone), last=when(s["last_wall_ms"], zone)
        )
    lines = [
        text("report.ledger", source=source),
        text("report.device", device=report.device_id),
        entries,
        time_line,
        text("report.state", mark=_MARK.get(report.state, "?"), state=verdict(report.state)),
    ]
    if report.findings:
        lines.append(text("report.findings"))
        for f in report.findings:
            lines.append("  %-18s %s" % (f.code, finding_text(f, zone)))
    return "\n".join(lines)
