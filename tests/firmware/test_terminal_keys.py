"""The officer's keys (issue 17): what each key asks of the recorder, the reason menus and the
key script, without a terminal."""
# micropython: skip (the Linux terminal port's keys)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.errors import FirmwareError
from firmware.ports.keysource import parse_script
from firmware.ports.terminalkeys import KEYS, MAX_NOTE, Keypad, help_lines
from firmware.recorder import TRANSITIONS
from host import i18n
from protocol.registry import (
    NO_RECORD_NAMES,
    NO_RECORD_PRIVACY,
    PAUSE_NAMES,
    PAUSE_PLACE_CHANGE,
)


def press(pad: Keypad, keys: str) -> tuple:
    inputs: list = []
    lines: list = []
    for key in keys:
        got = pad.press(key)
        inputs += got[0]
        lines += got[1]
    return inputs, lines


def message_ids(lines: list) -> list:
    out = []
    for msg_id, fields in lines:
        out.append(msg_id)
        out += [v[0] for v in fields.values() if isinstance(v, tuple)]
    return out


def test_each_key_gives_the_recorder_input_the_help_names():  # issue 17: keys on screen
    pad = Keypad()
    assert press(pad, "ranmcdsq")[0] == [
        ("press_record",),
        ("announce_done",),
        ("narration_done",),
        ("mark_important",),
        ("resume",),
        ("spoken_reason_done",),
        ("press_stop",),
        ("quit",),
    ]
    for _, name, _ in KEYS:
        assert not name or name == "quit" or name in TRANSITIONS


def test_pause_asks_for_an_objective_reason_from_the_list():  # R-DEV-9
    pad = Keypad()
    inputs, lines = press(pad, "p")
    assert inputs == [] and lines[0][0] == "menu.pause"
    assert {f["key"] for _, f in lines if "key" in f} == set(PAUSE_NAMES)
    assert press(pad, str(PAUSE_PLACE_CHANGE))[0] == [("pause", PAUSE_PLACE_CHANGE)]
    # Any other key leaves the menu and pauses nothing.
    inputs, lines = press(pad, "px")
    assert inputs == [] and lines[-1][0] == "menu.cancelled"
    assert press(pad, "r")[0] == [("press_record",)]


def test_a_no_record_work_record_takes_a_reason_and_a_note():  # R-DEV-11
    pad = Keypad()
    inputs, _ = press(pad, "w%d" % NO_RECORD_PRIVACY + "住宅内x\x7f，当事人拒绝\r")
    assert inputs == [("no_record", NO_RECORD_PRIVACY, "住宅内，当事人拒绝")]
    inputs, lines = press(pad, "w1ab\x1b")
    assert inputs == [] and lines[-1][0] == "menu.cancelled"
    inputs, _ = press(pad, "w1" + "x" * (MAX_NOTE + 50) + "\n")
    assert inputs == [("no_record", 1, "x" * MAX_NOTE)]


@given(st.text(alphabet="rRanpcdmwsqhx?0123456789\r\n\x1b\x7f 中", max_size=60))
def test_any_keys_give_well_formed_inputs_and_known_lines(keys):
    inputs, lines = press(Keypad(), keys)
    for step in inputs:
        assert step[0] in TRANSITIONS or step[0] == "quit"
        if step[0] == "pause":
            assert step[1] in PAUSE_NAMES
        if step[0] == "no_record":
            assert step[1] in NO_RECORD_NAMES and len(step[2]) <= MAX_NOTE
    for msg_id in message_ids(lines):
        assert i18n.known(msg_id), msg_id


def test_every_line_the_terminal_shows_is_in_the_catalogue():  # issue 17: Chinese or English
    from firmware.recorder import STATE_NAMES

    ids = message_ids(help_lines())
    ids += message_ids(press(Keypad(), "p")[1]) + message_ids(press(Keypad(), "w")[1])
    ids += ["state." + name for name in STATE_NAMES]
    ids += ["buzzer." + v for v in ("power-on", "record-start", "record-stop", "pause")]
    ids += ["buzzer." + v for v in ("resume", "mark", "refused", "alert")]
    ids += ["prompt.announce", "prompt.narrate", "prompt.reason", "prompt.other"]
    ids += ["status.line", "key.not_now", "key.unknown", "menu.note", "prompt.no_mic"]
    assert [i for i in ids if not i18n.known(i)] == []


def test_a_key_script():
    steps = parse_script("# QA\nwait 1.5\nra  # record, announced\n\ntype 涉密 #3\nw 2\n")
    assert steps == [("wait", 1.5), ("keys", "ra"), ("keys", "涉密 #3\n"), ("keys", "w2")]
    for bad in ("wait", "wait soon", "wait -1", "wait 1e9"):
        with pytest.raises(FirmwareError, match="key script line 1"):
            parse_script(bad)
