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
    lines = [
        "Ledger   %s" % source,
        "Device   %s" % report.device_id,
        "Entries  %d (%d signed), seq %s to %s"
        % (s["entries"], s["signed"], s["first_seq"], s["last_seq"]),
        "Time     %s to %s" % (_when(s["first_wall_ms"]), _when(s["last_wall_ms"])),
        "State    %s %s" % (_MARK.get(report.state, "?"), report.state),
    ]
    if report.findings:
        lines.append("Findings")
        for f in report.findings:
            lines.append("  %-18s %s" % (f.code, f.message))
    return "\n".join(lines)
