"""The scenario's ``[expect]`` table, checked against what the host concluded.

Each key becomes one line of the report with what was expected, what the host said, and
whether they agree. A flag is named by its code (``resume-without-spoken-reason``) or by the
rule it enforces (``R-DEV-9``); unless ``no_other_flags = false``, the host must raise no
flag the scenario did not name, so a host that flags too much fails as surely as one that
misses a violation.

The names and words of a check are ``simulator.said`` values: English strings as ``--json``
has always shown them, which the report says again in the reader's language.
"""
# micropython: skip (the simulator runs on CPython only)

from simulator.said import Said, dock_result, line, verdict_term


def evaluate(expect: dict, host: dict, docks: list) -> list:
    """One ``{"what", "expected", "got", "passed"}`` per expectation, in a stable order."""
    checks = []
    if "state" in expect:
        checks.append(
            _check(
                line("sim.expect.state"), verdict_term(expect["state"]), verdict_term(host["state"])
            )
        )
    named = [str(x) for x in expect.get("flags", [])]
    raised = host["flags"]
    for name in named:
        hits = [f for f in raised if name in (f["code"], f["rule"])]
        got: Said | str = line("sim.value.not_raised")
        if hits:
            got = _joined([line("sim.value.flag_at", code=f["code"], seq=f["seq"]) for f in hits])
        checks.append(
            _check(line("sim.expect.flag", name=name), line("sim.value.raised"), got, bool(hits))
        )
    if expect.get("no_other_flags", True) and ("flags" in expect or "state" in expect):
        extra = [f for f in raised if f["code"] not in named and f["rule"] not in named]
        got = line("sim.value.none")
        if extra:
            got = _joined(
                [
                    line("sim.value.flag_rule_at", code=f["code"], rule=f["rule"], seq=f["seq"])
                    for f in extra
                ]
            )
        checks.append(
            _check(line("sim.expect.no_other_flags"), line("sim.value.none"), got, not extra)
        )
    for code in expect.get("findings", []):
        checks.append(
            _check(
                line("sim.expect.finding", code=code),
                line("sim.value.reported"),
                _has(host["findings"], code),
                code in host["findings"],
            )
        )
    if "recordings" in expect:
        checks.append(
            _check(line("sim.expect.recordings"), expect["recordings"], len(host["recordings"]))
        )
    if "stored_once" in expect:
        checks.append(
            _check(line("sim.expect.stored_once"), expect["stored_once"], host["stored_once"])
        )
    if "power_losses" in expect:
        checks.append(
            _check(line("sim.expect.power_losses"), expect["power_losses"], host["power_losses"])
        )
    if "evicted" in expect:
        got_evicted = host["evicted_media"]
        checks.append(
            _check(
                line("sim.expect.evicted"),
                expect["evicted"],
                got_evicted > 0,
                (got_evicted > 0) == expect["evicted"],
            )
        )
    if "dock_results" in expect:
        results = [dock_result(d["result"]) for d in docks]
        wanted = [dock_result(str(r)) for r in expect["dock_results"]]
        checks.append(_check(line("sim.expect.dock_results"), wanted, results))
    return checks


def _joined(items: list) -> Said:
    """Several values as one, as the English has always joined them (``a, b``)."""
    return line("sim.value.joined", items=items)


def _has(found: list, code: str) -> Said:
    if code in found:
        return line("sim.value.reported")
    return line("sim.value.not_reported", found=_joined(found) if found else line("sim.value.none"))


def _check(what: Said, expected: object, got: object, passed: "bool | None" = None) -> dict:
    return {
        "what": what,
        "expected": expected,
        "got": got,
        "passed": (expected == got) if passed is None else passed,
    }
