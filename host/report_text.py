"""Verification reports as a person reads them on a terminal."""

import time

from host.i18n import text, verdict
from protocol.verify import NOT_OK, OK, OK_MISSING, Report

_MARK = {OK: "✓", OK_MISSING: "~", NOT_OK: "✗"}


def _when(ms: int | None) -> str:
    if ms is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def render(report: Report, source: str) -> str:
    """A short, complete text report: what was checked, the verdict, every finding; in the
    language in force (``host.i18n``)."""
    s = report.stats
    entries = text("report.entries", entries=s["entries"], signed=s["signed"])
    if s["first_seq"] is not None:
        entries += text("report.seq", first=s["first_seq"], last=s["last_seq"])
    # No entry, so no time (not "? to ?", which reads as times unknown).
    when = text("report.no_time")
    if s["first_wall_ms"] is not None or s["last_wall_ms"] is not None:
        when = text("report.time", first=_when(s["first_wall_ms"]), last=_when(s["last_wall_ms"]))
    lines = [
        text("report.ledger", source=source),
        text("report.device", device=report.device_id),
        entries,
        when,
        text("report.state", mark=_MARK.get(report.state, "?"), state=verdict(report.state)),
    ]
    if report.findings:
        lines.append(text("report.findings"))
        for f in report.findings:
            lines.append("  %-18s %s" % (f.code, f.message))
    return "\n".join(lines)
