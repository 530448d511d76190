"""The simulator's report in Chinese and English (issue 17, issue 13 "Chinese first": every
sentence a person reads exists in both; JSON is the same whatever the language)."""
# micropython: skip (the simulator runs on CPython only)

import copy
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.recorder import STATE_NAMES
from host import i18n
from host.cli import main
from host.compliance import FLAG_CODES
from simulator import scenario as sc
from simulator.command import SCENARIO_DIR
from simulator.device import VirtualDevice
from simulator.report import render
from simulator.run import Runner
from simulator.said import DOCK_RESULTS, Said, dock_result, line, say, verdict_term

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = SCENARIO_DIR / "power-loss.toml"  # a power cut, a recovery, a flag, a dock
CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(autouse=True)
def _language_back():
    yield
    i18n.use(None)


def english_left(text: str, allowed: "list[str]") -> list:
    """The ASCII words (two letters or more) of ``text`` once ids, device and officer ids,
    rules, times, paths and the ``allowed`` words are taken out."""
    for word in sorted(allowed, key=len, reverse=True):
        text = text.replace(word, " ")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", " ", text)  # times
    text = re.sub(r"\b(SC-SIM|R-DEV|R-HOST|P)-\d+\b", " ", text)  # device, rule, officer ids
    text = re.sub(r"\S*/\S*", " ", text)  # paths
    text = re.sub(r"\b[\w-]+\.(bin|seg|toml)\b", " ", text)  # file names
    return re.findall(r"[A-Za-z]{2,}", text)


def ids_of_a_run(report: dict) -> list:
    """What a scenario report may show as it is in any language: the scenario's own step
    kinds, the host's flag and finding codes, and the [expect] table's name."""
    words = list(sc.STEPS) + list(FLAG_CODES) + ["[expect]"]
    for each in report.get("devices") or [report]:
        words += each["host"]["findings"]
    return words


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> "tuple[dict, list]":
    """The power-loss scenario, expecting one recording too many so that a check fails, run
    once with Chinese in force: its report, and the lines said while it ran."""
    scenario = sc.load(str(SCENARIO))
    scenario.expect["recordings"] = 3
    said: list = []
    i18n.use(i18n.ZH)
    try:
        report = Runner(scenario, str(tmp_path_factory.mktemp("run")), say=said.append).run()
    finally:
        i18n.use(None)
    return report, said


def test_the_report_of_a_run_is_all_chinese_with_lang_zh(run):  # issue 17
    report, said = run
    i18n.use(i18n.ZH)
    text = render(report)
    assert english_left(text, ids_of_a_run(report)) == [], text
    for heading in ("运行经过", "采集站的结论", "预期", "结果      失败"):
        assert heading in text
    assert report["name_zh"] in text and report["description_zh"] in text
    assert "断电（写存储卡时电源中断）" in text  # a line of the device, with its nested reason
    assert "失败  录像段数：2（预期 3，实际 2）" in text  # the failed check
    # The flag in the host's own detailed sentence, from its catalogue message and fields.
    assert "因断电中断，序号" in text and "请核查断电原因" in text
    # The lines said as it ran, in Chinese too.
    assert said and all(english_left(s, ids_of_a_run(report)) == [] for s in said), said


def test_the_same_run_reads_in_english_as_before(run):
    report, _ = run
    i18n.use(i18n.EN)
    text = render(report)
    assert not CJK.search(text.replace("提示", "").split("What the host")[1])
    assert "  PASS  flag recording-cut-by-power-loss: recording-cut-by-power-loss at seq " in text
    assert "  FAIL  recordings: 2  (expected 3, got 2)" in text
    assert "power lost (the power went during a write to the card)" in text
    assert text.splitlines()[-1] == "Result    FAIL"


def test_the_json_lines_stay_english_with_their_message_ids(run):  # issue 17: JSON untouched
    report, _ = run
    whats = [h["what"] for h in report["happened"]]
    assert "power lost (the power went during a write to the card)" in whats
    for h in report["happened"]:
        if h["msg"] != "sim.dev.prompt":  # the recorder's own words are Chinese
            assert not CJK.search(h["what"]), h
        assert i18n.known(h["msg"])
    cut = next(h for h in report["happened"] if h["msg"] == "sim.dev.power_lost")
    assert cut["fields"] == {"why": {"msg": "sim.dev.power_went_writing", "fields": {}}}
    assert [c["what"] for c in report["expectations"] if not c["passed"]] == ["recordings"]


def test_json_is_identical_whatever_the_language(run, monkeypatch, tmp_path, capsys):
    # The same run printed with --json in English and in Chinese (the run itself is the
    # fixture's: docks run in real time, so two runs differ by their clocks).
    report, _ = run
    monkeypatch.setattr("simulator.run.run_file", lambda *a, **k: copy.deepcopy(report))
    out = {}
    for lang in ("en", "zh"):
        assert (
            main(["--lang", lang, "sim", "run", str(SCENARIO), "--json", "--dir", str(tmp_path)])
            == 1
        )
        out[lang] = capsys.readouterr().out
    assert out["en"] == out["zh"]
    printed = json.loads(out["zh"])
    assert printed["expectations"][0] == {
        "what": "verification state",
        "expected": "OK",
        "got": "OK",
        "passed": True,
    }


def test_the_report_and_junit_follow_the_language_of_the_command(
    run, monkeypatch, tmp_path, capsys
):
    report, _ = run
    monkeypatch.setattr("simulator.run.run_file", lambda *a, **k: copy.deepcopy(report))
    junit = tmp_path / "results.xml"
    args = ["sim", "run", str(SCENARIO), "--dir", str(tmp_path), "--junit", str(junit)]
    assert main(["--lang", "zh", *args]) == 1
    out = capsys.readouterr().out
    assert "采集站的结论" in out and "存储位置" in out
    xml = junit.read_text(encoding="utf-8")
    assert "录像段数：预期 3，实际 2" in xml and "1 项预期未满足" in xml


# Everything a virtual recorder can say, and what it says it with.
EVERY_STEP = [
    {"do": "power_on"},
    {"do": "power_on"},
    {"do": "fault", "kind": "clock_jump", "seconds": -60},
    {"do": "record"},
    {"do": "announce", "seconds": 1},
    {"do": "narrate", "seconds": 1},
    {"do": "film", "seconds": 2},
    {"do": "fault", "kind": "camera_failure"},
    {"do": "fault", "kind": "camera_repair"},
    {"do": "fault", "kind": "microphone_covered"},
    {"do": "fault", "kind": "microphone_uncovered"},
    {"do": "fault", "kind": "gps_lost"},
    {"do": "fault", "kind": "gps_found"},
    {"do": "pause", "reason": "weather"},
    {"do": "wait", "minutes": 2},
    {"do": "resume"},
    {"do": "fault", "kind": "microphone_failure"},
    {"do": "fault", "kind": "microphone_repair"},
    {"do": "say_reason", "seconds": 1},
    {"do": "wait", "hours": 1.5},
    {"do": "mark_important"},
    {"do": "stop"},
    {"do": "stop"},  # refused: nothing is recording
    {"do": "no_record", "reason": "privacy", "note": "x"},
    {"do": "power_off"},
    {"do": "wait", "days": 2},  # off: only the clock runs
    {"do": "power_on", "battery": 100},
    {"do": "fault", "kind": "edit_store", "target": "media"},
    {"do": "fault", "kind": "edit_store", "target": "ledger"},
    {"do": "fault", "kind": "full_storage", "leave_mb": 1000},
    {"do": "fault", "kind": "power_loss", "at_write": 2},
    {"do": "record"},
    {"do": "film", "seconds": 2},
    {"do": "power_on"},
    {"do": "power_off"},
    {"do": "fault", "kind": "clock_reset"},
    {"do": "power_on"},
    {"do": "fault", "kind": "dead_battery"},
]


def test_every_line_a_virtual_recorder_says_reads_in_chinese(tmp_path):  # issue 17
    device = VirtualDevice(str(tmp_path), {"fps": 2, "resolution": "64x36", "sd_card_mb": 2048})
    said = []
    try:
        for n, step in enumerate(EVERY_STEP, 1):
            said += device.step(dict(step, n=n))
    finally:
        device.close()
    i18n.use(i18n.ZH)
    chinese = [s.say() for s in said]
    kinds = {s.msg for s in said}
    assert {"sim.dev.refused", "sim.dev.media_edited", "sim.dev.power_will_go"} <= kinds
    for english, text in zip(said, chinese, strict=True):
        if english.msg == "sim.dev.refused":
            continue  # the firmware's refusal itself is its own English (a MicroPython port)
        left = english_left(text, list(sc.STEPS))
        assert left == [], (english, text)
        assert CJK.search(text), text


def test_every_word_the_simulator_builds_at_run_time_is_in_the_catalogs():
    # Ids made from names (the terminal's words for states, reasons and sounds; the
    # simulator's for flags and dock results); tools/i18n extract cannot see them.
    ids = ["state." + name for name in STATE_NAMES]
    ids += ["pause." + reason for reason in sc.PAUSE_CODES]
    ids += ["no_record." + reason for reason in sc.NO_RECORD_CODES]
    sounds = ("power-on", "record-start", "record-stop", "pause", "resume", "mark", "refused")
    ids += ["buzzer." + sound for sound in (*sounds, "alert")]
    ids += list(DOCK_RESULTS.values())
    assert [msg_id for msg_id in ids if not i18n.known(msg_id)] == []
    for state in sc.STATES:
        assert CJK.search(verdict_term(state).say(i18n.ZH)), state


def test_dock_results_keep_their_english_and_the_links_own_detail():
    assert dock_result("done") == "done" and dock_result("done").say(i18n.ZH) == "完成"
    lost = dock_result("link lost: [Errno 5] Input/output error")
    assert lost.say(i18n.ZH) == "连接中断：[Errno 5] Input/output error"
    closed = dock_result("closed by peer: no answer for 3 s")
    assert closed == "closed by peer: no answer for 3 s"
    assert closed.say(i18n.ZH) == "被对方关闭：no answer for 3 s"
    assert dock_result("something new").say(i18n.ZH) == "something new"


def test_a_said_line_survives_a_copy_and_a_pickle_with_its_words():
    said = line("sim.run.device_line", device="SC-SIM-0002", line=line("sim.dev.powered_off"))
    for again in (copy.deepcopy(said), pickle.loads(pickle.dumps(said))):
        assert again == "SC-SIM-0002: powered off"
        assert again.say(i18n.ZH) == "SC-SIM-0002：已关机"
    assert say([line("sim.value.none"), 3], i18n.ZH) == "无、3"


def test_a_scenario_that_cannot_run_says_so_in_chinese(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\n[[step]]\ndo = "fly"\n', encoding="utf-8")
    assert main(["--lang", "zh", "sim", "run", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "步骤 1：未知步骤 'fly'" in err and len(err.strip().splitlines()) == 1
    assert main(["sim", "run", str(broken)]) == 2
    assert "step 1: unknown step 'fly'" in capsys.readouterr().err


def test_the_sim_commands_help_is_in_chinese(capsys):
    with pytest.raises(SystemExit):
        main(["--lang", "zh", "sim", "run", "--help"])
    out = capsys.readouterr().out
    assert "运行场景库中的全部场景" in out and "退出码" in out


def test_the_catalogs_pass_tools_i18n_check():  # issue 13: every id in both languages
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "i18n"), "check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr


BENCH_STEPS = [
    {"do": "power_on"},
    {"do": "power_on"},
    {"do": "record"},
    {"do": "announce", "seconds": 1},
    {"do": "narrate", "seconds": 1},
    {"do": "film", "seconds": 1},
    {"do": "pause", "reason": "obstruction"},
    {"do": "wait", "seconds": 30},
    {"do": "resume"},
    {"do": "say_reason", "seconds": 1},
    {"do": "fault", "kind": "clock_jump", "seconds": 5},
    {"do": "fault", "kind": "camera_failure"},
    {"do": "fault", "kind": "camera_repair"},
    {"do": "stop"},
    {"do": "stop"},  # refused: nothing is recording
    {"do": "no_record", "reason": "secrecy", "note": "x"},
    {"do": "fault", "kind": "full_storage", "leave_mb": 1},
    {"do": "power_off"},
    {"do": "fault", "kind": "clock_reset"},
    {"do": "power_on"},
    {"do": "fault", "kind": "power_loss"},
]


def test_a_boards_lines_read_in_chinese_by_their_message_ids(tmp_path):  # issue 17
    # A board's test bench speaks English (it runs on MicroPython, without the catalogs)
    # and names each line's message id; BoardDevice says it in the reader's language.
    from firmware.testbench import TestBench
    from simulator.hil import board_line
    from tests.firmware.helpers import BENCH_START, provisioned

    path = str(tmp_path / "store")
    provisioned(path)
    bench = TestBench(path, start_ms=BENCH_START, seed=b"host entropy")
    with_ids = []
    for step in BENCH_STEPS:
        with_ids += bench.run(step, True)
    lines = [english for english, _, _ in with_ids]
    said = [board_line(x) for x in with_ids]
    assert said == lines  # the English is the board's own
    assert all(isinstance(s, Said) and i18n.known(s.msg) for s in said), said
    i18n.use(i18n.ZH)
    for english, chinese in zip(lines, [say(s) for s in said], strict=True):
        if english.startswith("the recorder refused "):
            continue  # the refusal itself is the firmware's English
        left = english_left(chinese, [*sc.STEPS, "r1", "r2", "agency-host-1"])
        assert left == [] and CJK.search(chinese), (english, chinese)
    assert board_line("something an older bench says") == "something an older bench says"
    newer = ("something a newer bench says", "sim.board.not_yet", {"n": 1})
    assert board_line(newer) == "something a newer bench says"
    assert not isinstance(board_line(newer), Said)  # shown as the board said it


def test_a_setting_the_simulated_hardware_refuses_is_said_in_chinese(tmp_path, capsys):
    bad = tmp_path / "bad-battery.toml"
    bad.write_text('[device]\nbattery = 150\n[[step]]\ndo = "power_on"\n', encoding="utf-8")
    assert main(["--lang", "zh", "sim", "run", str(bad), "--dir", str(tmp_path / "w")]) == 2
    assert "电池电量应为 0 至 100%，而不是 150" in capsys.readouterr().err
    assert main(["sim", "run", str(bad), "--dir", str(tmp_path / "w2")]) == 2
    assert "a battery charge is 0..100 percent, not 150" in capsys.readouterr().err
