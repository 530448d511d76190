"""The test command set drives the real recorder and store on virtual hardware (portable)."""
# R-DEV-2: whatever the steps, the ledger the bench leaves verifies with the device's key.

from firmware.errors import FirmwareError
from firmware.testbench import RTC_RESET_MS, BenchError, TestBench
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_CONFIG_APPLIED,
    F_BOOT,
    F_DETAIL,
    F_EVENT,
    F_WALL_MS,
    KIND_CHUNK,
)
from protocol.verify import OK, verify_ledger
from tests.firmware.helpers import BENCH_DEVICE as DEVICE
from tests.firmware.helpers import BENCH_START as START
from tests.firmware.helpers import provisioned
from tests.portable import TempDir, raises


def ledger(bench: TestBench) -> list:
    return [parse_entry(raw) for raw in bench.entries(0, 10000)]


def verified(bench: TestBench, public: bytes) -> str:
    return verify_ledger(b"".join(bench.entries(0, 10000)), DEVICE, public).state


def joined(lines: list) -> str:
    return "\n".join(lines)


SHIFT = [
    {"do": "power_on", "battery": 90},
    {"do": "record"},
    {"do": "announce", "seconds": 1},
    {"do": "narrate", "seconds": 1},
    {"do": "film", "seconds": 2, "fps": 4},
    {"do": "pause", "reason": "place_change", "n": 6},
    {"do": "wait", "minutes": 5},
    {"do": "resume"},
    {"do": "say_reason", "seconds": 1},
    {"do": "film", "seconds": 1, "fps": 4},
    {"do": "mark_important"},
    {"do": "stop"},
]


def test_a_short_shift_signs_a_ledger_that_verifies():
    # R-DEV-8, R-DEV-9, R-DEV-12: announcement, narration, pause and spoken reason are logged.
    with TempDir() as path:
        public = provisioned(path, officer="P-0427")
        bench = TestBench(path, start_ms=START)
        assert bench.identity() == (DEVICE, public)
        said = [joined(bench.run(step)) for step in SHIFT]
        assert "self-check ok" in said[0] and "config applied" in said[0]
        assert "recording r" in said[1] and "started" in said[1]
        assert "为保护您的合法权益" in said[1]  # the recorder prompted the announcement
        assert "announcement" in said[2] and "narration" in said[3]
        assert "chunk(s) signed and stored" in said[4]
        assert "paused: place-change" in said[5]
        assert "请说明中断原因" in said[7]
        assert "resumed, spoken reason kept" in said[8]
        assert "mark-important" in said[10] and "stopped" in said[11]
        assert verified(bench, public) == OK
        entries = ledger(bench)
        assert [e.seq for e in entries] == list(range(len(entries)))
        assert sum(1 for e in entries if e.kind == KIND_CHUNK) >= 6
        assert bench.status()["officer"] == "P-0427"  # from the host-signed config
        # 5 minutes of pause and 6 s of speech and footage later, on the virtual clock alone
        assert bench.hardware()["wall_ms"] == START + 5 * 60000 + 6000


def test_frames_differ_and_carry_the_overlay():
    # R-DEV-1: every frame carries the overlay of time, device and officer.
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START, officer_id="P-0001")
        bench.power_on()
        seen = []
        for _ in range(3):
            data, _key, _mono = bench.camera.read(bench.agent.recorder.overlay(START))
            seen.append(data)
        assert len(set(seen)) == 3
        assert all(b"DEV " + DEVICE.encode() in f and b"OFC P-0001" in f for f in seen)


def test_a_power_cut_loses_nothing_saved_and_the_next_boot_continues():
    # R-DEV-14: an abnormal restart loses no footage already saved.
    with TempDir() as path:
        public = provisioned(path)
        bench = TestBench(path, start_ms=START)
        for step in SHIFT[:5]:
            bench.run(step)
        before = bench.entries(0, 10000)
        assert bench.run({"do": "fault", "kind": "power_loss"}) == ["power lost (the power went)"]
        assert bench.status()["state"] == "OFF"
        # The board restarts: a fresh bench on the same store and the same hardware.
        again = TestBench(path, hardware=bench.hardware())
        lines = joined(again.run({"do": "power_on"}))
        assert "self-check ok" in lines
        after = again.entries(0, 10000)
        assert after[: len(before)] == before
        assert parse_entry(after[-1]).fields[F_BOOT] == parse_entry(before[-1]).fields[F_BOOT] + 1
        assert verified(again, public) == OK


def test_a_new_run_on_a_board_with_a_ledger_starts_after_it():
    # The virtual RTC of a fresh bench never reads earlier than the board's own ledger.
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START)
        bench.run({"do": "power_on"})
        bench.run({"do": "wait", "hours": 3})
        bench.run({"do": "record"})
        bench.run({"do": "power_off"})
        newest = ledger(bench)[-1].fields[F_WALL_MS]
        assert newest >= START + 3 * 3600000
        later = TestBench(path, start_ms=START)
        assert later.hardware()["wall_ms"] > newest
        assert TestBench(path, start_ms=START + 10**9).hardware()["wall_ms"] == START + 10**9


def test_a_reset_clock_fails_the_self_check_until_set():
    # R-DEV-7: the pre-use check includes the clock.
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START)
        bench.run({"do": "power_on"})
        bench.run({"do": "fault", "kind": "clock_jump"})  # back an hour, unless told
        assert bench.hardware()["wall_ms"] == START - 3600000
        bench.run({"do": "fault", "kind": "clock_reset"})
        hw = bench.hardware()
        assert hw["wall_ms"] == RTC_RESET_MS and hw["clock_set"] is False
        assert hw["true_ms"] == START  # the scenario's own time did not jump
        bench.run({"do": "power_off"})
        lines = joined(bench.run({"do": "power_on"}))
        assert "self-check failed (clock)" in lines
        assert "时钟未校准" in lines
        assert bench.status()["clock_set"] is False


def test_a_full_card_is_refused_with_a_reason():
    # R-DEV-4, R-DEV-7: a full card refuses to record rather than overwrite anything.
    with TempDir() as path:
        public = provisioned(path)
        bench = TestBench(path, start_ms=START)
        bench.run({"do": "power_on"})
        bench.run({"do": "fault", "kind": "full_storage", "leave_mb": 0})
        bench.run({"do": "wait", "minutes": 2})  # the agent measures the card again
        lines = joined(bench.run({"do": "record"}))
        assert "record refused: storage" in lines
        assert bench.status()["state"] == "REFUSING"
        assert verified(bench, public) == OK


def test_the_recorder_refusing_an_input_is_an_answer_not_an_error():
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START)
        bench.run({"do": "power_on"})
        head = len(bench.entries(0, 10000))
        lines = bench.run({"do": "resume"})
        assert lines == ["the recorder refused resume: input resume is not allowed in state IDLE"]
        assert len(bench.entries(0, 10000)) == head  # nothing was logged


def test_what_the_bench_cannot_do_is_refused_with_what_it_can():
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START)
        exc = raises(BenchError, bench.run, {"do": "record"})
        assert "power_on" in str(exc)  # the recorder is off
        exc = raises(BenchError, bench.run, {"do": "fly"})
        assert "unknown step" in str(exc) and "film" in str(exc)
        exc = raises(BenchError, bench.run, {"do": "fault", "kind": "edit_store"})
        assert "power_loss" in str(exc)
        exc = raises(BenchError, bench.run, {"do": "film", "secs": 3})
        assert "seconds" in str(exc)
        bench.run({"do": "power_on"})
        exc = raises(BenchError, bench.run, {"do": "pause", "reason": "lunch"})
        assert "place-change" in str(exc)
        exc = raises(BenchError, bench.run, {"do": "dock"})
        assert "dock_io" in str(exc)
        assert bench.run({"do": "power_on"})[0] == "already on"


def test_an_unprovisioned_store_is_refused():
    with TempDir() as path:
        exc = raises(FirmwareError, TestBench, path)
        assert "not provisioned" in str(exc) and "sealcam flash" in str(exc)


def test_answers_are_plain_data_that_round_trip_through_repr():
    # The host reads every answer with ast.literal_eval; MicroPython has eval for the check.
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START, seed=b"host entropy")
        answers = [bench.identity(), bench.hardware(), bench.status()]
        for step in SHIFT[:3]:
            answers.append(bench.run(step))
        answers += [bench.status(), bench.entries(0, 3), bench.hardware()]
        for value in answers:
            assert _literal(repr(value)) == value


def test_the_dock_channel_answers_the_host_and_reports_the_outcome():
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START, seed=b"host entropy")
        raises(BenchError, bench.dock_io, b"")
        bench.run({"do": "power_on"})
        bench.dock_begin(False)
        assert bench.dock_closed() == ""
        assert bench.dock_io(b"") == b""  # nothing from the host yet: nothing to say
        # A frame that is not a HELLO ends the session with an error frame, never a crash.
        from protocol.framing import encode_stream

        answer = bench.dock_io(encode_stream(b"\x00not a message"))
        assert answer
        assert bench.dock_closed() != ""
        outcome = bench.dock_end()
        assert outcome["device_id"] == DEVICE and outcome["receipts"] == []
        assert outcome["result"] != "done"
        raises(BenchError, bench.dock_end)


def test_config_is_applied_once_across_boots():
    # R-DEV-17: settings reach the device only signed by a pinned host key, and only once.
    with TempDir() as path:
        provisioned(path, officer="P-0427")
        bench = TestBench(path, start_ms=START)
        bench.run({"do": "power_on"})
        bench.run({"do": "power_off"})
        bench.run({"do": "power_on"})
        applied = [e for e in ledger(bench) if e.fields.get(F_EVENT) == EV_CONFIG_APPLIED]
        assert len(applied) == 1
        assert applied[0].fields[F_DETAIL]["officer_id"] == "P-0427"


def _literal(text: str) -> object:
    try:
        import ast
    except ImportError:
        return eval(text)  # MicroPython: no ast module; the text is our own repr
    return ast.literal_eval(text)


def _plain(value: object) -> bool:
    """Whether ``value`` is a line's field as the host reads it: a number, a string, a
    nested line, or a list of them."""
    if type(value) is tuple:
        return _is_line(value)
    if type(value) is list:
        return all(_plain(v) for v in value)
    return type(value) is int or type(value) is str


def _is_line(said: object) -> bool:
    return (
        type(said) is tuple
        and len(said) == 3
        and type(said[0]) is str
        and type(said[1]) is str
        and "." in said[1]
        and type(said[2]) is dict
        and all(type(k) is str and _plain(v) for k, v in said[2].items())
    )


def test_every_line_names_its_message_id():
    # issue 17: the host says a board's lines in the reader's language by their message ids
    # (simulator.hil), never by recognising the English: each line comes with its id.
    with TempDir() as path:
        provisioned(path)
        bench = TestBench(path, start_ms=START)
        steps = list(SHIFT)  # MicroPython has no [*x] displays
        steps.extend(
            [
                {"do": "stop"},  # refused: nothing is recording
                {"do": "fault", "kind": "camera_failure"},
                {"do": "power_off"},
                {"do": "fault", "kind": "clock_reset"},
                {"do": "power_on"},
                {"do": "fault", "kind": "dead_battery"},
            ]
        )
        for step in steps:
            english = bench.run(step)
            said = bench.said
            assert [s[0] for s in said] == english, step
            assert all(_is_line(s) for s in said), said
        # The same step asked for with ids answers them.
        with_ids = bench.run({"do": "power_on", "battery": 50}, True)
        assert with_ids == bench.said and with_ids[0][1] == "sim.board.powered_on"
        assert with_ids[0][2]["battery"] == 50
        failed = [s for s in with_ids if s[1] == "sim.board.ev.check_failed"]
        assert failed and failed[0][2]["failed"][0][1].startswith("sim.board.check.")
