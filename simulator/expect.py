"""The scenario's ``[expect]`` table, checked against what the host concluded.

Each key becomes one line of the report with what was expected, what the host said, and
whether they agree. A flag is named by its code (``resume-without-spoken-reason``) or by the
rule it enforces (``R-DEV-9``); unless ``no_other_flags = false``, the host must raise no
flag the scenario did not name, so a host that flags too much fails as surely as one that
misses a violation.
"""
# micropython: skip (the simulator runs on CPython only)


def evaluate(expect: dict, host: dict, docks: list) -> list:
    """One ``{"what", "expected", "got", "passed"}`` per expectation, in a stable order."""
    checks = []
    if "state" in expect:
        checks.append(_check("verification state", expect["state"], host["state"]))
    named = [str(x) for x in expect.get("flags", [])]
    raised = host["flags"]
    for name in named:
        hits = [f for f in raised if name in (f["code"], f["rule"])]
        got = ", ".join("%s at seq %d" % (f["code"], f["seq"]) for f in hits) or "not raised"
        checks.append(_check("flag %s" % name, "raised", got, bool(hits)))
    if expect.get("no_other_flags", True) and ("flags" in expect or "state" in expect):
        extra = [f for f in raised if f["code"] not in named and f["rule"] not in named]
        got = ", ".join("%s (%s) at seq %d" % (f["code"], f["rule"], f["seq"]) for f in extra)
        checks.append(_check("no other flags", "none", got or "none", not extra))
    for code in expect.get("findings", []):
        checks.append(
            _check(
                "finding %s" % code,
                "reported",
                _has(host["findings"], code),
                code in host["findings"],
            )
        )
    if "recordings" in expect:
        checks.append(_check("recordings", expect["recordings"], len(host["recordings"])))
    if "stored_once" in expect:
        checks.append(
            _check("every entry stored exactly once", expect["stored_once"], host["stored_once"])
        )
    if "power_losses" in expect:
        checks.append(
            _check("power losses recovered", expect["power_losses"], host["power_losses"])
        )
    if "evicted" in expect:
        got = host["evicted_media"]
        checks.append(
            _check(
                "media evicted by retention",
                expect["evicted"],
                got > 0,
                (got > 0) == expect["evicted"],
            )
        )
    if "dock_results" in expect:
        results = [d["result"] for d in docks]
        checks.append(_check("dock results", list(expect["dock_results"]), results))
    return checks


def _has(found: list, code: str) -> str:
    return "reported" if code in found else "not reported (%s)" % (", ".join(found) or "none")


def _check(what: str, expected: object, got: object, passed: "bool | None" = None) -> dict:
    return {
        "what": what,
        "expected": expected,
        "got": got,
        "passed": (expected == got) if passed is None else passed,
    }
