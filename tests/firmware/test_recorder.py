"""The recorder state machine: an officer's shift in, signed entries and prompts out."""

import hashlib

from firmware.errors import ConfigError, RecorderError
from firmware.recorder import (
    ANNOUNCEMENT,
    BUZZER,
    EV_RECORD_REFUSED,
    IDLE,
    INDICATOR,
    LIGHT_RECORD,
    LIGHT_STATUS,
    NARRATION,
    P_ANNOUNCE,
    P_NARRATE,
    P_REFUSING,
    P_SELF_CHECK,
    P_STATE_REASON,
    PAUSED,
    PRE_RECORD,
    PROMPT,
    RECORDING,
    REFUSING,
    RESUMING,
    SELF_CHECK,
    STATE_NAMES,
    STATUS,
    STORE,
    STREAM_AUDIO,
    STREAM_VIDEO,
    TRANSITIONS,
    Recorder,
    overlay_text,
)
from protocol.frames import frame_digest
from protocol.ledger import entry_hash, parse_entry
from protocol.registry import (
    EV_ANNOUNCEMENT,
    EV_BOOT,
    EV_CLOCK_SET,
    EV_CONFIG_APPLIED,
    EV_HOST_RECEIPT,
    EV_MARK_IMPORTANT,
    EV_NARRATION,
    EV_NO_RECORD,
    EV_OVERRUN,
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    EV_SELF_CHECK,
    EV_STORAGE_LOW,
    F_CHUNK_INDEX,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_AAC,
    MEDIA_H264,
    NO_RECORD_PRIVACY,
    PAUSE_PLACE_CHANGE,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.portable import raises
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

OFFICER = "OFC-0042"
GOOD = {"camera_ok": True, "battery_percent": 90, "storage_hours": 40, "clock_ok": True}


class Shift:
    """A recorder driven by a virtual clock; every action it returns is kept."""

    def __init__(self, checks: "dict | None" = None, config: "dict | None" = None, **kw) -> None:
        self.rec = Recorder(make_signer(SEED_A), DEVICE, OFFICER, config=config, **kw)
        self.wall = T0
        self.mono = 0
        self.actions: list = []
        if checks is not False:
            self.last = self.rec.power_on(self.wall, self.mono, checks or GOOD)
            self.actions.extend(self.last)

    def advance(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms

    def do(self, name: str, *args) -> list:
        """Call input ``name`` with ``args`` and the current time; keep its actions."""
        self.last = getattr(self.rec, name)(*args, self.wall, self.mono)
        self.actions.extend(self.last)
        return self.last

    def frames(self, n: int, every_ms: int = 100, key_every: int = 3, tag: str = "f") -> list:
        """``n`` video frames, a keyframe every ``key_every``; return the bytes given."""
        sent = []
        for i in range(n):
            data = ("%s%d@%d" % (tag, i, self.mono)).encode()
            self.do("frame", data, i % key_every == 0)
            sent.append(data)
            self.advance(every_ms)
        return sent

    def ledger(self) -> bytes:
        return b"".join(a[1] for a in self.actions if a[0] == STORE)

    def entries(self, actions: "list | None" = None) -> list:
        got = self.actions if actions is None else actions
        return [parse_entry(a[1]) for a in got if a[0] == STORE]

    def events(self, code: int) -> list:
        return [e for e in self.entries() if e.kind == KIND_EVENT and e.fields[F_EVENT] == code]

    def chunks(self, media: int = MEDIA_H264) -> list:
        out = []
        for e in self.entries():
            if e.kind == KIND_CHUNK and e.fields[F_MEDIA_TYPE] == media:
                out.append(e)
        return out


def verdict(data: bytes) -> str:
    key = device_key()
    return verify_ledger(data, key.device_id, key.public).state


def kinds(actions: list, code: str) -> list:
    return [a for a in actions if a[0] == code]


def frame_hashes(chunks: list) -> list:
    out = []
    for c in chunks:
        out.extend(c.fields[F_FRAME_HASHES])
    return out


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_the_state_table_covers_every_state_and_names_only_known_states():
    for name in TRANSITIONS:
        row = TRANSITIONS[name]
        assert len(row) == len(STATE_NAMES), name
        for cell in row:
            for nxt in cell if type(cell) is tuple else (cell,):
                assert nxt is None or 0 <= nxt < len(STATE_NAMES), (name, cell)
        assert hasattr(Recorder, name), name


def test_an_input_the_state_does_not_allow_raises_and_changes_nothing():
    s = Shift()
    seq = s.rec.writer.seq
    err = raises(RecorderError, s.do, "pause", PAUSE_WEATHER)
    assert "pause" in str(err) and "IDLE" in str(err)
    err = raises(RecorderError, s.do, "resume")
    assert "resume" in str(err)
    raises(RecorderError, s.do, "power_on", GOOD)
    assert s.rec.state == IDLE and s.rec.writer.seq == seq
    fresh = Shift(checks=False)
    err = raises(RecorderError, fresh.do, "press_record")
    assert "SELF_CHECK" in str(err) and fresh.rec.state == SELF_CHECK


# R-DEV-7
def test_power_on_logs_boot_and_a_signed_self_check():
    s = Shift()
    assert s.rec.state == IDLE
    assert [e.fields[F_EVENT] for e in s.entries()] == [EV_BOOT, EV_SELF_CHECK]
    check = s.events(EV_SELF_CHECK)[0]
    assert check.signed
    detail = check.fields[F_DETAIL]
    assert detail["can_record"] is True and detail["failed"] == []
    assert detail["battery"] == 90 and detail["storage_min"] == 40 * 60
    assert check.fields[F_OFFICER] == OFFICER
    assert kinds(s.actions, PROMPT) == []
    assert (INDICATOR, BUZZER, "power-on") in s.actions  # R-DEV-16


# R-DEV-7
def test_a_failed_self_check_prompts_and_still_allows_recording_where_it_can():
    s = Shift({"camera_ok": True, "battery_percent": 10, "storage_hours": 2, "clock_ok": False})
    detail = s.events(EV_SELF_CHECK)[0].fields[F_DETAIL]
    assert detail["failed"] == ["battery", "storage", "clock"]
    assert detail["can_record"] is True and detail["clock"] is False
    prompts = kinds(s.actions, PROMPT)
    assert len(prompts) == 1 and prompts[0][1] == P_SELF_CHECK
    assert "仍可录像" in prompts[0][2]
    assert (INDICATOR, LIGHT_STATUS, "warn") in s.actions
    assert s.rec.state == IDLE
    s.do("press_record")
    assert s.rec.state == RECORDING


# R-DEV-7
def test_a_camera_fault_refuses_recording_with_a_prompt_and_an_event():
    s = Shift({"camera_ok": False, "battery_percent": 90, "storage_hours": 40})
    assert s.rec.state == REFUSING
    detail = s.events(EV_SELF_CHECK)[0].fields[F_DETAIL]
    assert detail["can_record"] is False and detail["failed"] == ["camera"]
    assert [p[1] for p in kinds(s.actions, PROMPT)] == [P_SELF_CHECK, P_REFUSING]
    assert "无法录像" in kinds(s.actions, PROMPT)[1][2]
    s.do("storage", 40)
    assert s.rec.state == REFUSING  # more storage does not mend a camera


# R-DEV-7
def test_full_storage_refuses_until_there_is_room_again():
    s = Shift({"camera_ok": True, "battery_percent": 90, "storage_hours": 0})
    assert s.rec.state == REFUSING
    acts = s.do("press_record")
    assert s.rec.state == REFUSING
    assert [e.fields[F_EVENT] for e in s.entries(acts)] == [EV_RECORD_REFUSED]
    assert kinds(acts, PROMPT)[0][1] == P_REFUSING
    s.do("storage", 3)
    assert s.rec.state == IDLE
    # Storage running out while idle refuses again, and says so in the ledger.
    acts = s.do("storage", 0)
    assert s.rec.state == REFUSING
    low = s.entries(acts)[0]
    assert low.fields[F_EVENT] == EV_STORAGE_LOW and low.fields[F_DETAIL]["refusing"] is True
    assert verdict(s.ledger()) == OK


# R-DEV-2
def test_video_chunks_close_at_a_keyframe_once_the_duration_is_reached():
    s = Shift(config={"chunk_ms": 250, "max_chunk_ms": 1000})
    s.do("press_record")
    sent = s.frames(9)  # 100 ms apart, a keyframe every 3rd frame
    s.do("press_stop")
    chunks = s.chunks()
    assert [len(c.fields[F_FRAME_HASHES]) for c in chunks] == [3, 3, 3]
    assert frame_hashes(chunks) == [frame_digest(f) for f in sent]
    stores = [a for a in s.actions if a[0] == STORE and a[2] is not None]
    assert stores[0][2] == b"".join(sent[:3])  # media: the frames, concatenated
    first = chunks[0].fields
    assert first[F_PLAIN_LEN] == len(stores[0][2]) and first[F_PLAIN_SHA] == sha(stores[0][2])
    assert first[F_START_MS] == T0 and first[F_END_MS] == T0 + 300
    assert [c.fields[F_CHUNK_INDEX] for c in chunks] == [0, 1, 2]


# Issue 17 (the officer's status line shows the chunk count): a public, read-only count.
def test_the_chunk_count_is_the_recording_under_ways_and_read_only():
    s = Shift(config={"chunk_ms": 250, "max_chunk_ms": 1000})
    assert s.rec.chunk_count == 0
    s.do("press_record")
    s.frames(9)
    assert s.rec.chunk_count == len(s.chunks()) == 2  # the third is still open
    s.do("press_stop")
    assert s.rec.chunk_count == 3
    try:
        s.rec.chunk_count = 7  # type: ignore[misc]  # the point: it cannot be set
    except AttributeError:
        pass
    assert s.rec.chunk_count == 3


# R-DEV-6
def test_a_video_chunk_closes_at_the_bound_when_no_keyframe_comes():
    s = Shift(config={"chunk_ms": 200, "max_chunk_ms": 400})
    s.do("press_record")
    sent = s.frames(6, key_every=100)  # one keyframe, then none
    s.advance(300)
    s.do("tick")  # the open chunk is past its bound: closed without waiting
    chunks = s.chunks()
    assert [len(c.fields[F_FRAME_HASHES]) for c in chunks] == [4, 2]
    assert frame_hashes(chunks) == [frame_digest(f) for f in sent]


# R-DEV-1
def test_audio_is_a_separate_signed_stream():
    s = Shift(config={"chunk_ms": 200})
    s.do("press_record")
    blocks = []
    for i in range(5):
        blocks.append(b"pcm%d" % i)
        s.do("audio", blocks[-1])
        s.advance(100)
    s.do("press_stop")
    audio = s.chunks(MEDIA_AAC)
    assert [len(c.fields[F_FRAME_HASHES]) for c in audio] == [2, 2, 1]
    assert frame_hashes(audio) == [frame_digest(b) for b in blocks]
    assert s.chunks() == []
    assert verdict(s.ledger()) == OK


# R-DEV-15
def test_pre_record_frames_become_the_first_chunks_with_their_capture_times():
    s = Shift(config={"chunk_ms": 250, "pre_record_ms": 500})
    early = s.frames(9)  # 900 ms before the button; only the last 500 ms are kept
    assert s.rec.state == PRE_RECORD
    press_wall = s.wall
    s.do("press_record")
    live = s.frames(3, tag="live")
    s.do("press_stop")
    start = s.events(EV_RECORD_START)[0]
    chunks = s.chunks()
    kept = early[4:]  # captured at 400..800 ms, within 500 ms of the press at 900 ms
    assert frame_hashes(chunks) == [frame_digest(f) for f in kept + live]
    assert chunks[0].fields[F_START_MS] == T0 + 400 < press_wall
    assert chunks[0].fields[F_RECORDING] == start.fields[F_RECORDING]
    assert start.fields[F_DETAIL]["pre_from_ms"] == T0 + 400
    assert verdict(s.ledger()) == OK


# R-DEV-15
def test_the_pre_record_buffer_is_bounded_in_time_and_bytes():
    s = Shift(config={"pre_record_ms": 300, "pre_record_max_bytes": 40})
    s.frames(6)
    s.advance(1000)
    s.do("tick")  # the camera went quiet: everything buffered is too old now
    assert s.rec.state == IDLE
    big = Shift(config={"pre_record_ms": 10000, "pre_record_max_bytes": 20})
    sent = big.frames(5)  # 4 and 6 bytes: only the newest three fit in 20
    big.do("press_record")
    big.do("press_stop")
    assert frame_hashes(big.chunks()) == [frame_digest(f) for f in sent[2:]]
    off = Shift(config={"pre_record_ms": 0})
    off.frames(3)
    assert off.rec.state == IDLE


# R-DEV-8
def test_record_start_prompts_the_standard_phrase_and_logs_the_announcement():
    assert ANNOUNCEMENT == "为保护您的合法权益，监督我们的执法行为，本次执法全程录音录像。"
    s = Shift()
    acts = s.do("press_record")
    assert (PROMPT, P_ANNOUNCE, ANNOUNCEMENT) in acts
    assert (INDICATOR, BUZZER, "record-start") in acts  # R-DEV-16
    assert (INDICATOR, LIGHT_RECORD, "on") in acts
    s.advance(4000)
    acts = s.do("announce_done")
    ann = s.events(EV_ANNOUNCEMENT)[0]
    assert ann.fields[F_DETAIL]["prompted_ms"] == T0
    assert ann.fields[F_RECORDING] == s.rec.recording_id
    # R-DEV-12: the narration prompt follows, and its confirmation is logged.
    assert (PROMPT, P_NARRATE, NARRATION) in acts
    for word in ("时间", "地点", "执法人员", "执法事项"):
        assert word in NARRATION
    s.advance(8000)
    s.do("narration_done")
    assert s.events(EV_NARRATION)[0].fields[F_DETAIL]["prompted_ms"] == T0 + 4000


# R-DEV-9
def test_pause_needs_an_objective_reason_code():
    s = Shift()
    s.do("press_record")
    seq = s.rec.writer.seq
    raises(RecorderError, s.do, "pause", 99)
    raises(RecorderError, s.do, "pause", True)
    raises(RecorderError, s.do, "pause", "weather")
    assert s.rec.state == RECORDING and s.rec.writer.seq == seq
    acts = s.do("pause", PAUSE_WEATHER)
    assert s.rec.state == PAUSED
    pause = s.events(EV_PAUSE)[0]
    assert pause.fields[F_REASON] == PAUSE_WEATHER and pause.signed
    assert (INDICATOR, LIGHT_RECORD, "blink") in acts


# R-DEV-9
def test_resume_records_the_spoken_reason_and_the_resume_event_points_at_it():
    s = Shift(config={"spoken_reason_ms": 10000})
    s.do("press_record")
    s.frames(3)
    s.do("pause", PAUSE_PLACE_CHANGE)
    s.frames(2, tag="paused")  # not recorded: the officer paused, with a reason
    s.advance(60000)
    acts = s.do("resume")
    assert (PROMPT, P_STATE_REASON, "请说明中断原因") in acts
    assert s.rec.state == RESUMING
    said = [b"reason-0", b"reason-1", b"reason-2"]
    for block in said:
        s.do("audio", block)
        s.advance(1000)
    s.do("spoken_reason_done")
    assert s.rec.state == RECORDING
    resume = s.events(EV_RESUME)[0]
    spoken = [e for e in s.chunks(MEDIA_AAC) if e.digest == resume.fields[F_SPOKEN]]
    assert len(spoken) == 1
    assert spoken[0].fields[F_FRAME_HASHES] == [frame_digest(b) for b in said]
    assert spoken[0].seq == resume.seq - 1
    assert resume.fields[F_REASON] == PAUSE_PLACE_CHANGE
    assert resume.fields[F_DETAIL]["resumed_ms"] == T0 + 500 + 60000
    sent = [("f%d@%d" % (i, i * 100)).encode() for i in range(3)]
    assert frame_hashes(s.chunks()) == [frame_digest(f) for f in sent]


# R-DEV-9
def test_the_spoken_reason_ends_by_itself_after_its_configured_time():
    s = Shift(config={"spoken_reason_ms": 2000})
    s.do("press_record")
    s.do("pause", PAUSE_WEATHER)
    s.do("resume")
    s.do("audio", b"why")
    s.advance(2000)
    acts = s.do("tick")
    assert s.rec.state == RECORDING
    resume = s.events(EV_RESUME)[0]
    assert resume.fields[F_SPOKEN] == entry_hash(kinds(acts, STORE)[0][1])
    # Stopping during the spoken reason still closes it and writes the resume first.
    s.do("pause", PAUSE_WEATHER)
    s.do("resume")
    s.do("press_stop")
    assert len(s.events(EV_RESUME)) == 2 and s.rec.state == IDLE
    assert verdict(s.ledger()) == OK


# R-DEV-10
def test_one_stage_keeps_its_recording_id_across_pauses_and_a_new_stage_gets_a_new_one():
    s = Shift(config={"chunk_ms": 250})
    s.do("press_record")
    first = s.rec.recording_id
    s.frames(3)
    for _ in range(2):
        s.do("pause", PAUSE_PLACE_CHANGE)
        s.advance(600000)
        s.do("resume")
        s.do("audio", b"the crowd blocked the view")
        s.do("spoken_reason_done")
        s.frames(3)
    s.do("press_stop")
    s.do("press_record")
    second = s.rec.recording_id
    s.frames(3)
    s.do("press_stop")
    assert first is not None and second is not None and first != second
    ids = [c.fields[F_RECORDING] for c in s.chunks()]
    assert ids == [first, first, first, second]
    indices = [e.fields[F_CHUNK_INDEX] for e in s.entries() if e.kind == KIND_CHUNK]
    assert indices == [0, 1, 2, 3, 4, 0]  # video and spoken chunks share one count
    assert verdict(s.ledger()) == OK


# R-DEV-6
def test_an_overrun_is_logged_with_how_many_frames_and_when():
    s = Shift()
    s.do("press_record")
    s.do("overrun", 4, T0 + 100, T0 + 233, STREAM_VIDEO)
    s.do("overrun", 1, T0 + 500, T0 + 500, STREAM_AUDIO)
    events = s.events(EV_OVERRUN)
    detail = events[0].fields[F_DETAIL]
    assert detail == {"stream": "video", "lost": 4, "first_ms": T0 + 100, "last_ms": T0 + 233}
    assert events[0].fields[F_RECORDING] == s.rec.recording_id
    assert events[1].fields[F_DETAIL]["stream"] == "audio"
    raises(RecorderError, s.do, "overrun", 0, T0, T0, STREAM_VIDEO)
    raises(RecorderError, s.do, "overrun", 2, T0 + 9, T0, STREAM_VIDEO)
    raises(RecorderError, s.do, "overrun", 2, T0, T0, "smell")


# R-DEV-11
def test_a_no_record_work_record_states_why():
    s = Shift()
    s.do("no_record", NO_RECORD_PRIVACY, "家中调解，当事人隐私")
    e = s.events(EV_NO_RECORD)[0]
    assert e.fields[F_REASON] == NO_RECORD_PRIVACY and e.signed
    assert e.fields[F_DETAIL]["note"] == "家中调解，当事人隐私"
    assert e.fields[F_OFFICER] == OFFICER
    raises(RecorderError, s.do, "no_record", 42, "?")
    refusing = Shift({"camera_ok": False, "battery_percent": 50, "storage_hours": 9})
    refusing.do("no_record", NO_RECORD_PRIVACY, "摄像头故障")
    assert len(refusing.events(EV_NO_RECORD)) == 1


# R-DEV-1
def test_the_overlay_shows_local_time_device_officer_gps_and_an_unset_clock():
    # T0 is 2026-11-23 08:00 UTC: 16:00 in UTC+8.
    text = overlay_text(T0 + 1234, "SC-0001", "OFC-0042")
    assert text == "2026-11-23 16:00:01 UTC+8 DEV SC-0001 OFC OFC-0042"
    text = overlay_text(T0, "SC-0001", "OFC-0042", (399042000, -1164074000, 5))
    assert text.endswith(" GPS 39.9042000N 116.4074000W")
    assert overlay_text(0, "D", "O", clock_set=False).startswith("!CLOCK NOT SET! 1970-01-01 08:")
    assert overlay_text(951782400000, "D", "O").startswith("2000-02-29 08:00:00")  # leap day
    s = Shift({"camera_ok": True, "battery_percent": 90, "storage_hours": 40, "clock_ok": False})
    assert s.rec.overlay(T0).startswith("!CLOCK NOT SET!")


# R-DEV-17
def test_settings_and_time_change_only_through_verified_host_config():
    s = Shift()
    seq = s.rec.writer.seq
    raises(ConfigError, s.do, "host_config", {"officer_id": "OFC-9"}, "")
    raises(ConfigError, s.do, "host_config", {"chunk_ms": -5}, "host-key-1")
    raises(ConfigError, s.do, "host_config", {"volume": 3}, "host-key-1")
    assert s.rec.writer.seq == seq and s.rec.officer_id == OFFICER
    new_time = T0 + 3600000
    s.do("host_config", {"officer_id": "OFC-7", "chunk_ms": 500, "clock_ms": new_time}, "hk1")
    applied = s.events(EV_CONFIG_APPLIED)[0].fields[F_DETAIL]
    assert applied == {"officer_id": "OFC-7", "chunk_ms": 500, "by": "hk1"}
    clock = s.events(EV_CLOCK_SET)[0].fields[F_DETAIL]
    assert clock == {"old_ms": T0, "new_ms": new_time, "by": "hk1"}
    assert s.rec.officer_id == "OFC-7" and s.rec.config["chunk_ms"] == 500
    s.do("press_record")
    raises(RecorderError, s.do, "host_config", {"chunk_ms": 900}, "hk1")  # not mid-recording


# R-DEV-16
def test_status_shows_battery_storage_time_and_state():
    s = Shift()
    status = kinds(s.actions, STATUS)[-1][1]
    assert status["state"] == "IDLE" and status["battery_percent"] == 90
    assert status["storage_hours"] == 40 and status["time_ms"] == T0
    s.advance(500)
    assert kinds(s.do("tick"), STATUS) == []  # at most one refresh a second
    s.advance(500)
    assert kinds(s.do("tick"), STATUS)[0][1]["time_ms"] == T0 + 1000
    acts = s.do("battery", 15)
    assert kinds(acts, PROMPT) and (INDICATOR, BUZZER, "alert") in acts
    assert kinds(acts, STATUS)[0][1]["battery_percent"] == 15
    assert kinds(s.do("battery", 14), PROMPT) == []  # the low mark is logged once
    raises(RecorderError, s.do, "battery", 101)
    s.do("press_record")
    status = kinds(s.actions, STATUS)[-1][1]
    assert status["state"] == "RECORDING" and status["recording"] == s.rec.recording_id.hex()
    acts = s.do("press_stop")
    assert (INDICATOR, BUZZER, "record-stop") in acts
    assert (INDICATOR, LIGHT_RECORD, "off") in acts


def test_other_modules_chain_their_events_but_cannot_forge_the_recorders():
    s = Shift()
    s.do("log_event", EV_HOST_RECEIPT, {F_DETAIL: {"through": 1}})
    assert s.events(EV_HOST_RECEIPT)[0].fields[F_DETAIL] == {"through": 1}
    raises(RecorderError, s.do, "log_event", EV_RECORD_STOP, None)
    raises(RecorderError, s.do, "log_event", EV_HOST_RECEIPT, {2: 5})  # the seq field


# R-DEV-2
def test_a_whole_shift_verifies_and_continues_an_existing_chain():
    s = Shift(config={"chunk_ms": 250, "spoken_reason_ms": 1000})
    s.frames(3)
    s.do("press_record")
    s.do("audio", b"announce")
    s.do("announce_done")
    s.frames(3)
    s.do("mark_important")
    s.do("narration_done")
    s.do("pause", PAUSE_WEATHER)
    s.do("resume")
    s.do("audio", b"rain")
    s.advance(1000)
    s.frames(3)
    s.do("audio", b"after")
    s.do("press_stop")
    s.do("no_record", NO_RECORD_PRIVACY, "")
    data = s.ledger()
    assert verdict(data) == OK
    assert len(s.events(EV_MARK_IMPORTANT)) == 1
    # After a reboot the next recorder continues the same chain.
    w = s.rec.writer
    again = Recorder(make_signer(SEED_A), DEVICE, OFFICER, seq=w.seq, prev=w.prev, boot=1)
    acts = again.power_on(s.wall + 5000, 0, GOOD)
    acts += again.press_record(s.wall + 6000, 1000)
    acts += again.press_stop(s.wall + 7000, 2000)
    more = b"".join(a[1] for a in acts if a[0] == STORE)
    assert verdict(data + more) == OK
    assert parse_entry(kinds(acts, STORE)[0][1]).seq == w.seq


# R-DEV-9
def test_a_resume_with_no_audio_at_all_points_at_no_spoken_reason():
    s = Shift()
    s.do("press_record")
    s.frames(3)
    s.do("pause", PAUSE_PLACE_CHANGE)
    s.advance(60000)
    s.do("resume")  # the microphone is dead: no audio block arrives
    s.do("spoken_reason_done")
    s.do("press_stop")
    (resume,) = s.events(EV_RESUME)
    assert F_SPOKEN not in resume.fields
    assert s.chunks(MEDIA_AAC) == []  # no empty audio chunk stands in for a reason
    assert verdict(s.ledger()) == OK


# Issue 12: raw chunks have no place for a composition offset; the frames are kept as today.
def test_raw_chunks_ignore_a_composition_offset():
    s = Shift(config={"chunk_ms": 250, "max_chunk_ms": 1000})
    s.do("press_record")
    s.rec.frame(b"k0", True, s.wall, s.mono, 6000)
    s.advance(100)
    s.rec.frame(b"b1", False, s.wall, s.mono, 3000)
    s.do("press_stop")
    stores = [a for a in s.actions if a[0] == STORE and a[2] is not None]
    assert stores[0][2] == b"k0b1"
    assert frame_hashes(s.chunks()) == [frame_digest(b"k0"), frame_digest(b"b1")]
