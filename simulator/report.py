"""A scenario run as text: what happened, what the host concluded, pass or fail."""
# micropython: skip (the simulator runs on CPython only)


def render(report: dict) -> str:
    lines = ["Scenario  %s (%s)" % (report["scenario"], report["file"])]
    if report["description"]:
        lines.append("          %s" % report["description"])
    lines.append("Device    %s" % report["device"])
    lines.append("")
    lines.append("What happened")
    for h in report["happened"]:
        lines.append("  %s  %2d %-14s %s" % (h["at"], h["step"], h["do"], h["what"]))
    for each in report.get("devices") or [report]:
        lines.append("")
        if "devices" in report:
            lines.append("What the host concluded for %s" % each["device"])
        else:
            lines.append("What the host concluded")
        lines += _concluded(each["host"])
    lines.append("")
    lines.append("Expectations")
    for c in report["expectations"]:
        mark = "PASS" if c["passed"] else "FAIL"
        detail = "" if c["passed"] else "  (expected %s, got %s)" % (c["expected"], c["got"])
        lines.append("  %s  %s: %s%s" % (mark, c["what"], c["got"], detail))
    if not report["expectations"]:
        lines.append("  (none: the scenario has no [expect] table)")
    lines.append("")
    lines.append("Result    %s" % ("PASS" if report["passed"] else "FAIL"))
    return "\n".join(lines)


def _concluded(host: dict) -> list:
    """The host's verdict on one device, as lines."""
    lines = ["  verification   %s" % host["state"]]
    if host["findings"]:
        counts: dict = {}
        for code in host["findings"]:
            counts[code] = counts.get(code, 0) + 1
        found = ", ".join(c if n == 1 else "%s (%d)" % (c, n) for c, n in counts.items())
        lines.append("  findings       %s" % found)
    lines.append(
        "  stored         %d entries%s"
        % (host["entries"], ", each once" if host["stored_once"] else ", NOT each exactly once")
    )
    lines.append("  recordings     %d" % len(host["recordings"]))
    if not host["flags"]:
        lines.append("  compliance     no flags")
    for f in host["flags"]:
        lines.append(
            "  flag           %s (%s) at seq %d: %s"
            % (f["code"], f["rule"], f["seq"], f["message"])
        )
    return lines
