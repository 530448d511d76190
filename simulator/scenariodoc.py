"""docs/scenarios.md, the full scenario reference, generated from the tables that
``simulator.scenario`` checks scenarios against (and the host's flag codes), so that it
cannot drift from the parser: a key the parser takes without a description here, or a
description of a key it no longer takes, fails ``check()``, and a test compares the file
with ``render()``.

    python -m simulator.scenariodoc            # write docs/scenarios.md
    python -m simulator.scenariodoc --check    # exit 1 if it is not current
"""
# micropython: skip (the simulator runs on CPython only)

import sys
from pathlib import Path

from host.compliance import FLAG_CODES
from simulator import scenario as sc

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scenarios.md"
EXAMPLE = "power-loss.toml"  # the worked example, read from the scenario library

TOP = {
    "name": "the scenario's name in reports (default: the file name)",
    "description": "what the scenario shows, and the rules it proves",
    "name_zh": "the name in Chinese, for reports read in Chinese (`--lang zh`)",
    "description_zh": "the description in Chinese, for reports read in Chinese",
}

DEVICE = {
    "id": "the device id (serial number); with `count`, the first of the series",
    "officer": "the officer id the recorder is provisioned with and burns into every frame",
    "start": "the wall time the shift starts, ISO 8601 with its offset "
    "(`2026-11-23T08:00:00+08:00`)",
    "resolution": "the camera's frame size, WIDTHxHEIGHT (default 640x360)",
    "fps": "frames per second the camera delivers (default 5)",
    "sd_card_mb": "the card's size in MiB (default 32768)",
    "battery": "the battery's charge in percent at the start (default 100)",
    "battery_hours": "hours a full battery records for (default 10)",
    "rtc_drift_ppm": "how fast the device clock runs off true time, in parts per million "
    "(default 0)",
    "gps": "the GPS track, a list of [latitude, longitude] points the device walks through",
    "seed": "the seed of the device's dice (scene, noise, random faults; default 1)",
    "chunk_ms": "the length of one chunk of footage in milliseconds (default 1000)",
    "count": "how many devices alike live the same steps and dock at once (1 to %d; "
    "default 1)" % sc.MAX_DEVICES,
    "codec": "what the recorder writes: %s (default mjpeg: raw JPEG frames and PCM, as "
    "boards write; h264 and h265: fragmented MP4 with AAC sound, as `sealcam record` "
    "writes)" % ", ".join(sc.CODECS),
}

HOST = {
    "late_hours": "flag footage that reached the host more than this many hours after it "
    "was recorded (default 24, R-HOST-1)",
    "clock_drift_s": "flag a device clock off by more than this many seconds at a dock "
    "(default 2, R-HOST-11)",
    "link": "how devices dock unless a step says otherwise: %s (default pty, a "
    "pseudo-terminal cable)" % ", ".join(sc.LINKS),
}

# Each step: what it does, then each of its fields.
STEPS = {
    "power_on": (
        "switch the device on (it boots, recovers its store after a power cut, self-checks)",
        {"battery": "charge the battery to this percent first"},
    ),
    "power_off": ("switch the device off", {}),
    "record": ("press the record button", {}),
    "announce": (
        "the officer speaks the standard announcement (R-DEV-8) and confirms it",
        {
            "seconds": "how long the announcement takes",
            "wav": "a WAV file of the words, beside the scenario file",
        },
    ),
    "narrate": (
        "the officer narrates time, place, officers and action (R-DEV-12)",
        {"seconds": "how long it takes", "wav": "a WAV file of the words"},
    ),
    "film": (
        "the camera and microphone run for a while; before `record`, this is pre-record",
        {
            "seconds": "how long (seconds, minutes and hours add up)",
            "minutes": "how long, in minutes",
            "hours": "how long, in hours",
            "fps": "frames per second for this stretch (default: [device] fps)",
        },
    ),
    "pause": (
        "pause the recording for an objective reason (R-DEV-9)",
        {"reason": "one of: %s" % ", ".join(sc.PAUSE_CODES)},
    ),
    "wait": (
        "time passes with nothing happening",
        {
            "seconds": "how long (all four add up)",
            "minutes": "how long, in minutes",
            "hours": "how long, in hours",
            "days": "how long, in days",
        },
    ),
    "resume": ("resume a paused recording; the device prompts for the spoken reason", {}),
    "say_reason": (
        "the officer states the reason for the pause aloud (R-DEV-9)",
        {"seconds": "how long it takes", "wav": "a WAV file of the words"},
    ),
    "stop": ("stop the recording", {}),
    "mark_important": ("mark the current recording important (protected from eviction)", {}),
    "no_record": (
        "a work record of why recording was not possible (R-DEV-11)",
        {
            "reason": "one of: %s" % ", ".join(sc.NO_RECORD_CODES),
            "note": "free text kept with the record",
        },
    ),
    "fault": (
        "something goes wrong: see Faults below",
        {
            "kind": "the fault, one of the Faults below",
            "at_write": "power_loss, dead_battery: cut the power at this write to the card "
            'from now (a number, or "random"); without it, at once',
            "seconds": "clock_jump: by how many seconds (negative: back; default -3600)",
            "target": 'edit_store: what is changed, "media" (default) or "ledger"',
            "leave_mb": "full_storage: MiB left free (default 0)",
        },
    ),
    "repeat": (
        "the listed steps, `times` times over (at most %d steps in all)" % sc.MAX_STEPS,
        {
            "times": "how many times",
            "steps": 'the steps, as inline tables: `{ do = "film", minutes = 56 }`',
        },
    ),
    "dock": (
        "the device docks: `sealcam sync` runs in its own process and pulls its footage",
        {
            "link": "pty (a pseudo-terminal cable, the default) or tcp",
            "flip_every": "link fault: flip one bit in about every N bytes",
            "drop_every": "link fault: drop one byte in about every N bytes",
            "stall_ms": "link fault: once, after the first 4 KiB, carry nothing for this long",
            "disconnect_after": "link fault: carry nothing more after N bytes",
            "until_done": "dock again after a failed session until one is done (default true)",
        },
    ),
}

FAULTS = {
    "power_loss": "the power goes at once, or at the at_write-th write to the card from here",
    "dead_battery": "the battery empties: the same cut, with the battery at 0 %",
    "clock_reset": "the clock's backup cell failed: the next boot starts at 2000-01-01",
    "clock_jump": "the clock jumps by `seconds` (negative: back), without the host",
    "camera_failure": "the camera stops delivering frames",
    "camera_repair": "the camera works again",
    "microphone_failure": "the microphone stops delivering sound",
    "microphone_repair": "the microphone works again",
    "microphone_covered": "a hand or a raincoat over it: it hears near silence (-50 dB)",
    "microphone_uncovered": "the microphone hears again",
    "full_storage": "other data fills the card, leaving `leave_mb` free",
    "edit_store": "someone changes the device's store behind the agent (`target`)",
    "gps_lost": "the GPS loses its fix",
    "gps_found": "the GPS has a fix again",
}

EXPECT = {
    "state": "the host's verification state, one of: %s" % ", ".join(sc.STATES),
    "flags": "the compliance flags the host must raise, each by its code or its rule "
    "(`R-DEV-9`); see Flag codes below",
    "no_other_flags": "whether any flag not named fails the run (default true)",
    "recordings": "how many recordings the host must find",
    "stored_once": "whether every entry must be stored exactly once",
    "findings": "verifier finding codes the host must report (`seq-gap`, `media-altered`...)",
    "power_losses": "how many power losses the device must have recovered from",
    "dock_results": 'the result of each dock in order, as the host gave it ("done", ...)',
    "evicted": "whether retention must have evicted media on the device",
}


def check() -> list:
    """What the descriptions here and the parser's tables disagree on (empty: nothing)."""
    problems = []
    pairs: list[tuple[str, dict, dict]] = [
        ("[device]", DEVICE, sc.DEVICE_KEYS),
        ("[host]", HOST, sc.HOST_KEYS),
        ("[expect]", EXPECT, sc.EXPECT_KEYS),
        ("steps", STEPS, sc.STEPS),
        ("faults", FAULTS, dict.fromkeys(sc.FAULTS)),
    ]
    for where, docs, keys in pairs:
        for key in keys:
            if key not in docs:
                problems.append("%s %s has no description" % (where, key))
        for key in docs:
            if key not in keys:
                problems.append("%s %s is described but the parser does not take it" % (where, key))
    for do, (_, fields) in STEPS.items():
        for key in sc.STEPS.get(do, {}):
            if key not in fields:
                problems.append("step %s field %s has no description" % (do, key))
        for key in fields:
            if key not in sc.STEPS.get(do, {}):
                problems.append("step %s field %s is described but not taken" % (do, key))
    return problems


def _type(kinds: object) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    names = {"int": "integer", "float": "number", "str": "string", "bool": "true/false",
             "list": "list"}  # fmt: skip
    words = [names.get(getattr(k, "__name__", ""), str(k)) for k in kinds]
    if words == ["integer", "number"]:
        return "number"
    return " or ".join(words)


def _table(docs: dict, types: dict) -> list:
    lines = ["| key | type | meaning |", "|---|---|---|"]
    for key, text in docs.items():
        lines.append("| `%s` | %s | %s |" % (key, _type(types[key]), text))
    return lines


def render() -> str:
    """The whole of docs/scenarios.md."""
    out = [
        "# Scenario reference",
        "",
        "<!-- Generated by `python -m simulator.scenariodoc` from simulator/scenario.py,",
        "     simulator/scenariodoc.py and host/compliance.py; do not edit by hand. -->",
        "",
        "A scenario is a TOML file that `sealcam sim run FILE` runs: a virtual recorder (the",
        "unchanged firmware on simulated hardware and virtual time) lives through the steps,",
        "docks with `sealcam sync` in its own process, and the host's verdicts are checked",
        "against `[expect]`. Loading checks every key and value before anything runs: a typo",
        "fails at once with the file, the step and what would be accepted.",
        "",
        "A file has, at its top level:",
        "",
    ]
    for key, text in TOP.items():
        out.append("- `%s`: %s" % (key, text))
    out += [
        "- `[device]`: the virtual recorder",
        "- `[host]`: the host's policy",
        '- `[[step]]`: what happens, in order (at least one), each with `do = "STEP"`',
        "- `[expect]`: what the host must conclude once the device has docked",
        "",
        "## [device]",
        "",
        *_table(DEVICE, sc.DEVICE_KEYS),
        "",
        "## [host]",
        "",
        *_table(HOST, sc.HOST_KEYS),
        "",
        "## Steps",
        "",
        "Fields in **bold** are required. Durations (`seconds`, `minutes`, `hours`, `days`) "
        "add up and must come to more than zero where a step takes them.",
        "",
    ]
    for do, (text, fields) in STEPS.items():
        out.append("### `%s`" % do)
        out.append("")
        out.append(text[0].upper() + text[1:] + ".")
        if fields:
            out.append("")
            out += ["| field | type | meaning |", "|---|---|---|"]
            required = sc.REQUIRED.get(do, ())
            for key, meaning in fields.items():
                name = "**`%s`**" % key if key in required else "`%s`" % key
                out.append("| %s | %s | %s |" % (name, _type(sc.STEPS[do][key]), meaning))
        out.append("")
    out += ["## Faults", "", '`do = "fault"` with `kind` one of:', ""]
    out += ["| kind | what happens |", "|---|---|"]
    out += ["| `%s` | %s |" % (kind, text) for kind, text in FAULTS.items()]
    out += ["", "## [expect]", "", *_table(EXPECT, sc.EXPECT_KEYS), ""]
    out += [
        "Unless `no_other_flags = false`, a flag the host raises that `flags` does not name",
        "fails the run, so a host that flags too much fails as surely as one that misses a",
        "violation.",
        "",
        "## Flag codes",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    out += ["| `%s` | %s |" % (code, text) for code, text in FLAG_CODES.items()]
    example = (ROOT / "simulator" / "scenarios" / EXAMPLE).read_text(encoding="utf-8")
    out += [
        "",
        "## A worked example",
        "",
        "simulator/scenarios/%s, from the library: the power goes at the 15th write to the"
        % EXAMPLE,
        "card during a recording; the device is switched on again, records a second time and",
        "docks. The host must find both recordings, every entry stored once, one power loss",
        "recovered, and flag the recording the power loss cut, and nothing else.",
        "",
        "```toml",
        example.rstrip("\n"),
        "```",
        "",
        "Run it with `sealcam sim run simulator/scenarios/%s` (add `--keep` to look into the"
        % EXAMPLE,
        "device's and the host's stores afterwards, `--junit FILE` for a CI system).",
        "",
    ]
    return "\n".join(out)


def main(argv: list) -> int:
    problems = check()
    if problems:
        for p in problems:
            print("simulator/scenariodoc.py: %s" % p, file=sys.stderr)
        return 1
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print("%s is not current: run python -m simulator.scenariodoc" % DOC, file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print("wrote %s" % DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
