"""Verification reports as a person reads them on a terminal."""

import time

from protocol.verify import NOT_OK, OK, OK_MISSING, Report

_MARK = {OK: "✓", OK_MISSING: "~", NOT_OK: "✗"}


def _when(ms: int | None) -> str:
    if ms is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def render(report: Report, source: str) -> str:
    """A short, complete text report: what was checked, the verdict, every finding."""
    s = report.stats
    entries = "%d (%d signed)" % (s["entries"], s["signed"])
    if s["first_seq"] is not None:
        entries += ", seq %s to %s" % (s["first_seq"], s["last_seq"])
    when = "none"  # no entry, so no time (not "? to ?", which reads as times unknown)
    if s["first_wall_ms"] is not None or s["last_wall_ms"] is not None:
        when = "%s to %s" % (_when(s["first_wall_ms"]), _when(s["last_wall_ms"]))
    lines = [
        "Ledger   %s" % source,
        "Device   %s" % report.device_id,
        "Entries  %s" % entries,
        "Time     %s" % when,
        "State    %s %s" % (_MARK.get(report.state, "?"), report.state),
    ]
    if report.findings:
        lines.append("Findings")
        for f in report.findings:
            lines.append("  %-18s %s" % (f.code, f.message))
    return "\n".join(lines)
