"""Scenario files: an officer's shift, the faults in it, and the verdicts the host must reach.

A scenario is TOML. ``[device]`` describes the virtual recorder, ``[host]`` the host's policy,
``[[step]]`` tables are what happens, in order, and ``[expect]`` is what the host must conclude
once the device has docked. Loading checks everything before anything runs, so a typo fails at
once with the file, the step number and what would be accepted.

    name = "place change"
    [device]
    id = "SC-SIM-0001"
    officer = "P-0427"
    [[step]]
    do = "power_on"
    [[step]]
    do = "record"
    ...
    [expect]
    state = "OK"
    flags = []
"""
# micropython: skip (the simulator runs on CPython only)

import calendar
import time
import tomllib
from pathlib import Path

from host.i18n import text
from protocol.registry import NO_RECORD_NAMES, PAUSE_NAMES
from simulator.errors import ScenarioError

PAUSE_CODES = {name: code for code, name in PAUSE_NAMES.items()}
NO_RECORD_CODES = {name: code for code, name in NO_RECORD_NAMES.items()}

# Fault kinds a virtual recorder can suffer.
FAULTS = (
    "power_loss",  # the power goes at once, or at the at_write-th write to the card from here
    "dead_battery",  # the battery empties: the same cut, with the battery at 0 %
    "clock_reset",  # the RTC's backup cell failed: the next boot starts at 2000-01-01
    "clock_jump",  # the RTC jumps by `seconds` (negative: back), without the host
    "camera_failure",
    "camera_repair",
    "microphone_failure",
    "microphone_repair",
    "microphone_covered",  # a hand or a raincoat over it: it hears near silence (-50 dB)
    "microphone_uncovered",
    "full_storage",  # other data fills the card, leaving `leave_mb` free (default 0)
    "edit_store",  # someone changes the device's store behind the agent: `target` media|ledger
    "gps_lost",
    "gps_found",
)

# Every step kind, with the keys it takes (beyond "do") and their types.
_NUM = (int, float)
STEPS: dict = {
    "power_on": {"battery": _NUM},
    "power_off": {},
    "record": {},
    "announce": {"seconds": _NUM, "wav": str},
    "narrate": {"seconds": _NUM, "wav": str},
    "film": {"seconds": _NUM, "minutes": _NUM, "hours": _NUM, "fps": int},
    "pause": {"reason": str},
    "wait": {"seconds": _NUM, "minutes": _NUM, "hours": _NUM, "days": _NUM},
    "resume": {},
    "say_reason": {"seconds": _NUM, "wav": str},
    "stop": {},
    "mark_important": {},
    "no_record": {"reason": str, "note": str},
    "fault": {
        "kind": str,
        "at_write": (int, str),
        "seconds": _NUM,
        "target": str,
        "leave_mb": _NUM,
    },
    "repeat": {"times": int, "steps": list},  # the steps listed, `times` times over
    "dock": {
        "link": str,
        "flip_every": int,
        "drop_every": int,
        "stall_ms": int,
        "disconnect_after": int,
        "until_done": bool,
    },
}
REQUIRED = {
    "pause": ("reason",),
    "fault": ("kind",),
    "no_record": ("reason",),
    "repeat": ("times", "steps"),
}
MAX_STEPS = 100_000  # after repeats are expanded: a typo in `times` fails at load, not at 3 a.m.

DEVICE_KEYS = {
    "id": str,
    "officer": str,
    "start": str,
    "resolution": str,
    "fps": int,
    "sd_card_mb": _NUM,
    "battery": _NUM,
    "rtc_drift_ppm": _NUM,
    "gps": list,
    "seed": int,
    "chunk_ms": int,
    "battery_hours": _NUM,  # hours a full battery records for (default 10)
    "count": int,  # devices alike, living the same steps and docking at once (default 1)
    "codec": str,  # what the recorder writes: one of CODECS (default mjpeg)
}
# The recorder's footage: "h264" and "h265" are fragmented MP4 from the Linux port's encoders
# (H.264/H.265 video and AAC sound, as `sealcam record` writes); "mjpeg" is the raw mode
# (every frame a JPEG, every audio block PCM), what boards and older stores write.
CODECS = ("h264", "h265", "mjpeg")
MAX_DEVICES = 64  # docking at once through one daemon: see BENCHMARKS.md
HOST_KEYS = {"late_hours": _NUM, "clock_drift_s": _NUM, "link": str}
EXPECT_KEYS = {
    "state": str,
    "flags": list,
    "no_other_flags": bool,
    "recordings": int,
    "stored_once": bool,
    "findings": list,
    "power_losses": int,
    "dock_results": list,
    "evicted": bool,
}
STATES = ("OK", "OK with missing information", "NOT OK", "unknown key")
LINKS = ("pty", "tcp")


class Scenario:
    """A checked scenario: plain data, ready to run."""

    def __init__(self, path: str, name: str, description: str) -> None:
        self.path = path
        self.name = name
        self.description = description
        self.name_zh = ""  # in Chinese, when the file gives it
        self.description_zh = ""
        self.device: dict = {}
        self.host: dict = {}
        self.steps: list = []
        self.expect: dict = {}

    def start_ms(self) -> int:
        return parse_time(self.device["start"], self.path) if "start" in self.device else -1


def load(path: str) -> Scenario:
    """Read and check a scenario file; raise ScenarioError naming what is wrong and where."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(text("sim.scenario.missing", path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(text("sim.scenario.unreadable", path=path, why=exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(text("sim.scenario.not_toml", path=path, why=exc)) from None
    return parse(doc, str(path))


# The top level of a file; a scenario's name and description may be given in Chinese too,
# for reports read in Chinese (``--lang zh``).
TOP_KEYS = ("name", "description", "name_zh", "description_zh", "device", "host", "step", "expect")


def parse(doc: dict, path: str = "<scenario>") -> Scenario:
    unknown = set(doc) - set(TOP_KEYS)
    if unknown:
        raise ScenarioError(
            text("sim.scenario.unknown_top", path=path, keys=", ".join(sorted(unknown)))
        )
    s = Scenario(path, str(doc.get("name", Path(path).stem)), str(doc.get("description", "")))
    s.name_zh = str(doc.get("name_zh", ""))
    s.description_zh = str(doc.get("description_zh", ""))
    s.device = _table(doc.get("device", {}), DEVICE_KEYS, path, "[device]")
    s.host = _table(doc.get("host", {}), HOST_KEYS, path, "[host]")
    s.expect = _table(doc.get("expect", {}), EXPECT_KEYS, path, "[expect]")
    steps = doc.get("step", [])
    if not isinstance(steps, list) or not steps:
        raise ScenarioError(text("sim.scenario.no_steps", path=path))
    for i, raw in enumerate(steps):
        _expand(raw, str(i + 1), path, s.steps)
    for n, step in enumerate(s.steps, 1):
        step["n"] = n  # the step's place in the run, repeats expanded
    _check_device(s)
    _check_expect(s)
    return s


def _table(raw: object, keys: dict, path: str, where: str) -> dict:
    if not isinstance(raw, dict):
        raise ScenarioError(text("sim.scenario.not_table", path=path, where=where))
    for key, value in raw.items():
        if key not in keys:
            takes = ", ".join(sorted(keys))
            raise ScenarioError(
                text("sim.scenario.no_key", path=path, where=where, key=key, takes=takes)
            )
        _typed(value, keys[key], path, "%s %s" % (where, key))
    return dict(raw)


def _typed(value: object, kinds: "type | tuple[type, ...]", path: str, what: str) -> None:
    ok = isinstance(value, kinds)
    if isinstance(value, bool) and kinds is not bool and bool not in _as_tuple(kinds):
        ok = False  # TOML true is not a number of seconds
    if not ok:
        names = "/".join(k.__name__ for k in _as_tuple(kinds))
        raise ScenarioError(
            text("sim.scenario.wrong_type", path=path, what=what, kinds=names, value=value)
        )


def _as_tuple(kinds: "type | tuple[type, ...]") -> "tuple[type, ...]":
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _expand(raw: object, at: str, path: str, out: list) -> None:
    """Check the step at ``at`` ("3", or "3.2" inside a repeat) and add it to ``out``; a
    repeat adds its steps, checked once, ``times`` times over."""
    step = _step(raw, at, path)
    if step["do"] != "repeat":
        step["at"] = at
        out.append(step)
        return
    where = text("sim.scenario.step", at=at, do="repeat")
    if step["times"] < 1 or not step["steps"]:
        raise ScenarioError(text("sim.scenario.empty_repeat", path=path, where=where))
    body: list = []
    for j, sub in enumerate(step["steps"]):
        _expand(sub, "%s.%d" % (at, j + 1), path, body)
    if len(out) + step["times"] * len(body) > MAX_STEPS:
        raise ScenarioError(text("sim.scenario.too_many", path=path, where=where, limit=MAX_STEPS))
    for _ in range(step["times"]):
        out.extend(dict(sub) for sub in body)


def _step(raw: object, at: str, path: str) -> dict:
    if not isinstance(raw, dict) or "do" not in raw:
        raise ScenarioError(text("sim.scenario.no_do", path=path, at=at, steps=", ".join(STEPS)))
    do = raw["do"]
    if do not in STEPS:
        raise ScenarioError(
            text("sim.scenario.unknown_step", path=path, at=at, do=do, steps=", ".join(STEPS))
        )
    where = text("sim.scenario.step", at=at, do=do)
    keys = STEPS[do]
    for key, value in raw.items():
        if key == "do":
            continue
        if key not in keys:
            takes = ", ".join(sorted(keys)) or text("sim.scenario.nothing")
            raise ScenarioError(
                text("sim.scenario.no_key", path=path, where=where, key=key, takes=takes)
            )
        _typed(value, keys[key], path, "%s %s" % (where, key))
    for key in REQUIRED.get(do, ()):
        if key not in raw:
            raise ScenarioError(text("sim.scenario.needs", path=path, where=where, key=key))
    step = dict(raw)
    _check_step(step, path, where)
    if "wav" in step:
        # A recording of the words, beside the scenario file unless the path says otherwise.
        wav = Path(path).parent / step["wav"]
        if not wav.is_file():
            raise ScenarioError(text("sim.scenario.no_wav", path=path, where=where, wav=wav))
        step["wav"] = str(wav)
    return step


def _check_step(step: dict, path: str, where: str) -> None:
    do = step["do"]
    if do == "pause" and step["reason"] not in PAUSE_CODES:
        reasons = ", ".join(PAUSE_CODES)
        raise ScenarioError(
            text(
                "sim.scenario.pause_reason",
                path=path,
                where=where,
                reason=step["reason"],
                reasons=reasons,
            )
        )
    if do == "no_record" and step["reason"] not in NO_RECORD_CODES:
        reasons = ", ".join(NO_RECORD_CODES)
        raise ScenarioError(
            text(
                "sim.scenario.no_record_reason",
                path=path,
                where=where,
                reason=step["reason"],
                reasons=reasons,
            )
        )
    if do == "fault":
        if step["kind"] not in FAULTS:
            faults = ", ".join(FAULTS)
            raise ScenarioError(
                text("sim.scenario.fault", path=path, where=where, kind=step["kind"], faults=faults)
            )
        at = step.get("at_write")
        if isinstance(at, str) and at != "random":
            raise ScenarioError(text("sim.scenario.at_write", path=path, where=where))
        if step["kind"] == "edit_store" and step.get("target", "media") not in ("media", "ledger"):
            raise ScenarioError(text("sim.scenario.target", path=path, where=where))
    if do == "dock" and step.get("link", "pty") not in LINKS:
        raise ScenarioError(
            text("sim.scenario.link", path=path, where=where, links=", ".join(LINKS))
        )
    if do in ("film", "wait") and duration_ms(step) <= 0:
        raise ScenarioError(text("sim.scenario.no_duration", path=path, where=where))


def _check_device(s: Scenario) -> None:
    res = s.device.get("resolution", "640x360")
    try:
        w, h = (int(x) for x in res.lower().split("x"))
    except ValueError:
        raise ScenarioError(text("sim.scenario.resolution", path=s.path, value=res)) from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise ScenarioError(text("sim.scenario.resolution_range", path=s.path, value=res))
    if "start" in s.device:
        s.start_ms()
    codec = s.device.get("codec", "mjpeg")
    if codec not in CODECS:
        raise ScenarioError(text("sim.scenario.codec", path=s.path, codec=codec))
    if s.host.get("link", "pty") not in LINKS:
        raise ScenarioError(text("sim.scenario.host_link", path=s.path, links=", ".join(LINKS)))
    count = s.device.get("count", 1)
    if not 1 <= count <= MAX_DEVICES:
        raise ScenarioError(text("sim.scenario.count", path=s.path, limit=MAX_DEVICES, count=count))
    tcp = s.host.get("link") == "tcp" or any(st.get("link") == "tcp" for st in s.steps)
    if count > 1 and tcp:
        raise ScenarioError(text("sim.scenario.squad_tcp", path=s.path))


def _check_expect(s: Scenario) -> None:
    state = s.expect.get("state")
    if state is not None and state not in STATES:
        raise ScenarioError(
            text("sim.scenario.state", path=s.path, states=", ".join(STATES), state=state)
        )


def duration_ms(step: dict) -> int:
    """The step's duration from its seconds/minutes/hours/days keys, in milliseconds."""
    total = 0.0
    for key, scale in (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400)):
        total += float(step.get(key, 0)) * scale
    return int(total * 1000)


def parse_time(value: str, path: str = "<scenario>") -> int:
    """An ISO 8601 time with its offset ("2026-11-23T08:00:00+08:00") as ms since the epoch."""
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"):
        try:
            t = time.strptime(value.replace("Z", "+0000"), fmt)
        except ValueError:
            continue
        return (calendar.timegm(t) - (t.tm_gmtoff or 0)) * 1000
    raise ScenarioError(text("sim.scenario.start", path=path, value=value))
