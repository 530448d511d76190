"""A scenario run as text: what happened, what the host concluded, pass or fail.

The text is in the language in force (``host.i18n``); the report it is made from keeps its
English lines (``simulator.said``), which ``--json`` prints whatever the language.
"""
# micropython: skip (the simulator runs on CPython only)

from host.i18n import EN, N_, ZH, current, text
from host.report_text import said
from simulator.said import Said, say, verdict_term


def render(report: dict) -> str:
    # The scenario's own words, in Chinese where the file has them and Chinese is in force.
    zh = current() == ZH
    name = (zh and report.get("name_zh")) or report["scenario"]
    description = (zh and report.get("description_zh")) or report["description"]
    lines = [text("sim.report.scenario", name=name, file=report["file"])]
    if description:
        lines.append(text("sim.report.description", description=description))
    lines.append(text("sim.report.device", device=report["device"]))
    lines.append("")
    lines.append(text("sim.report.happened"))
    for h in report["happened"]:
        lines.append("  %s  %2d %-14s %s" % (h["at"], h["step"], h["do"], say(h["what"])))
    for each in report.get("devices") or [report]:
        lines.append("")
        if "devices" in report:
            lines.append(text("sim.report.concluded_for", device=each["device"]))
        else:
            lines.append(text("sim.report.concluded"))
        lines += _concluded(each["host"])
    lines.append("")
    lines.append(text("sim.report.expectations"))
    for c in report["expectations"]:
        fields = {
            "mark": _mark(c["passed"]),
            "what": say(c["what"]),
            "got": value(c["got"]),
            "expected": value(c["expected"]),
        }
        msg_id = N_("sim.report.check") if c["passed"] else N_("sim.report.check_failed")
        lines.append(text(msg_id, **fields))
    if not report["expectations"]:
        lines.append(text("sim.report.no_expectations"))
    lines.append("")
    lines.append(text("sim.report.result", result=_mark(report["passed"])))
    return "\n".join(lines)


def value(v: object) -> str:
    """An expected or found value as a person reads it."""
    if isinstance(v, bool):
        return text(N_("sim.value.true") if v else N_("sim.value.false"))
    if isinstance(v, (list, tuple)):
        return text("sim.value.list", items=say([value(x) for x in v]))
    if isinstance(v, Said):
        return v.say()
    return str(v)


def _mark(passed: bool) -> str:
    return text(N_("sim.report.pass") if passed else N_("sim.report.fail"))


def _concluded(host: dict) -> list:
    """The host's verdict on one device, as lines."""
    lines = [text("sim.report.verification", state=say(verdict_term(host["state"])))]
    if host["findings"]:
        counts: dict = {}
        for code in host["findings"]:
            counts[code] = counts.get(code, 0) + 1
        found = [
            c if n == 1 else text("sim.report.finding_times", code=c, count=n)
            for c, n in counts.items()
        ]
        lines.append(text("sim.report.findings", found=say(found)))
    once = N_("sim.report.stored_once") if host["stored_once"] else N_("sim.report.stored_not_once")
    lines.append(text(once, entries=host["entries"]))
    lines.append(text("sim.report.recordings", count=len(host["recordings"])))
    if not host["flags"]:
        lines.append(text("sim.report.no_flags"))
    for f in host["flags"]:
        lines.append(
            text(
                "sim.report.flag",
                code=f["code"],
                rule=f["rule"],
                seq=f["seq"],
                message=_flag_message(f),
            )
        )
    return lines


def _flag_message(flag: dict) -> str:
    """The host's sentence: in English as the host wrote it, in another language from its
    catalogue message (every flag the host raises has one)."""
    if current() == EN or not flag.get("msg_id"):
        return str(flag["message"])
    return said(flag["msg_id"], flag.get("fields") or {})
