"""Random shifts thrown at the recorder: whatever the officer and the hardware do, it holds."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-2, R-DEV-6, R-DEV-9, R-DEV-15: properties of every sequence of inputs.

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from firmware.errors import ConfigError, RecorderError
from firmware.recorder import (
    AUDIO_MEDIA,
    IDLE,
    PAUSED,
    PRE_RECORD,
    RECORDING,
    REFUSING,
    RESUMING,
    STORE,
    STREAM_AUDIO,
    STREAM_VIDEO,
    TRANSITIONS,
    VIDEO_MEDIA,
    Recorder,
)
from protocol.frames import frame_digest
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_RESUME,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_SPOKEN,
    KIND_CHUNK,
    NO_RECORD_NAMES,
    PAUSE_NAMES,
)
from protocol.signer import make_signer
from protocol.verify import OK, OK_MISSING, verify_ledger
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

KEY = device_key()
PRE_MS = 1000
CONFIG = {
    "chunk_ms": 300,
    "max_chunk_ms": 600,
    "pre_record_ms": PRE_MS,
    "pre_record_max_bytes": 1 << 30,  # the byte bound is a unit test's business
    "spoken_reason_ms": 500,
}
SIMPLE = (
    "press_record",
    "press_stop",
    "resume",
    "spoken_reason_done",
    "announce_done",
    "narration_done",
    "mark_important",
    "tick",
)
GOOD = {"camera_ok": True, "battery_percent": 90, "storage_hours": 40}
CHECKS = st.sampled_from(
    [
        GOOD,
        GOOD,
        GOOD,
        GOOD,
        {"camera_ok": True, "battery_percent": 5, "storage_hours": 1, "clock_ok": False},
        {"camera_ok": False, "battery_percent": 90, "storage_hours": 40},
        {"camera_ok": True, "battery_percent": 90, "storage_hours": 0},
        {"camera_ok": 1, "battery_percent": 90, "storage_hours": 40},
        {"camera_ok": True, "battery_percent": "full", "storage_hours": 40},
        {"camera_ok": True},
    ]
)
CONFIGS = st.sampled_from(
    [
        {"chunk_ms": 200},
        {"chunk_ms": 0},
        {"max_chunk_ms": 100},
        {"officer_id": "OFC-2"},
        {"officer_id": 7},
        {"clock_ms": T0 + 86400000},
        {"clock_ms": T0 - 3600000, "chunk_ms": 400},
        {"volume": 3},
        {"spoken_reason_ms": 800},
    ]
)
ODD = st.sampled_from([0, -1, 99, True, None, "weather", 1.0])


def open_digests(rec: Recorder) -> set:
    """Digests of frames the recorder holds in chunks that are not closed yet."""
    out = set()
    for c in (rec._video, rec._audio, rec._spoken):
        if c is not None:
            out.update(c.hashes.digests)
    return out


def snapshot(rec: Recorder) -> tuple:
    """Everything an input could change."""
    chunks = tuple(None if c is None else len(c.parts) for c in (rec._video, rec._audio))
    return (
        rec.state,
        rec.writer.seq,
        rec.writer.prev,
        rec.writer.unsigned_run,
        rec.recording_id,
        rec.officer_id,
        tuple(sorted(rec.config.items())),
        rec.clock_set,
        rec.battery_percent,
        rec.storage_hours,
        rec.refusal,
        rec._chunk_index,
        len(rec._pre_video),
        len(rec._pre_audio),
        rec._pre_bytes,
        chunks,
        rec._spoken is None,
        rec._pause_reason,
        rec._battery_low,
        rec._storage_low,
    )


class RecorderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rec = Recorder(make_signer(SEED_A), DEVICE, "OFC-1", config=dict(CONFIG))
        self.wall = T0
        self.mono = 0
        self.stored: list = []
        self.checked = 0
        self.count = 0
        self.pending: list = []  # (digest, mono) of frames given before the button
        self.required: set = set()  # digests the chunks must hold
        self.resumes = 0

    @initialize(k=st.integers(min_value=1, max_value=3), checks=CHECKS)
    def start(self, k, checks):
        self.rec.writer.sign_every = k
        self.power_on(checks)

    def feed(self, name: str, *args, times: bool = True):
        """Give input ``name``; a refusal must leave everything as it was."""
        before = snapshot(self.rec)
        allowed = TRANSITIONS[name][self.rec.state] is not None
        call = (*args, self.wall, self.mono) if times else args
        try:
            actions = getattr(self.rec, name)(*call)
        except (RecorderError, ConfigError):
            assert snapshot(self.rec) == before, name
            return None
        assert allowed, "%s was accepted in a state the table refuses it" % name
        for a in actions:
            if a[0] == STORE:
                self.stored.append(a[1])
                # The writer hands back the entry it encoded, as parsing would (issue 11 §3).
                parsed = parse_entry(a[1])
                assert a[3].raw is a[1] and a[3].digest == parsed.digest
                assert a[3].fields == parsed.fields and a[3].signature == parsed.signature
        if self.rec.state == REFUSING:
            self.pending = []
        return actions

    def data(self, kind: str) -> tuple:
        self.count += 1
        raw = ("%s-%d" % (kind, self.count)).encode()
        return raw, frame_digest(raw)

    @rule(checks=CHECKS)
    def power_on(self, checks):
        self.feed("power_on", self.wall, self.mono, dict(checks), times=False)

    @rule(ms=st.integers(min_value=0, max_value=700))
    def time_passes(self, ms):
        self.wall += ms
        self.mono += ms

    @rule(keyframe=st.booleans())
    def frame(self, keyframe):
        raw, digest = self.data("v")
        state = self.rec.state
        if self.feed("frame", raw, keyframe) is not None:
            self.track(state, digest)

    @rule()
    def audio(self):
        raw, digest = self.data("a")
        state = self.rec.state
        if self.feed("audio", raw) is not None:
            self.track(state, digest)

    def track(self, state: int, digest: bytes) -> None:
        if state in (RECORDING, RESUMING):
            self.required.add(digest)
        elif state in (IDLE, PRE_RECORD):
            self.pending.append((digest, self.mono))

    @rule(name=st.sampled_from(SIMPLE))
    def simple(self, name):
        self.button(name)

    def button(self, name: str) -> None:
        accepted = self.feed(name) is not None
        if accepted and name == "resume":
            self.resumes += 1
        if not accepted or name != "press_record":
            return
        if self.rec.state == RECORDING:
            horizon = self.mono - PRE_MS
            self.required.update(d for d, m in self.pending if m >= horizon)
        self.pending = []

    # The inputs that move a recording along get rules of their own, so that random shifts
    # reach every state often.
    @rule()
    def record(self):
        self.button("press_record")

    @rule()
    def stop(self):
        self.button("press_stop")

    @rule()
    def resume(self):
        self.button("resume")

    @rule()
    def spoken_reason_done(self):
        self.button("spoken_reason_done")

    @rule(reason=st.sampled_from(sorted(PAUSE_NAMES)))
    def objective_pause(self, reason):
        self.feed("pause", reason)

    @rule(reason=st.one_of(st.sampled_from(sorted(PAUSE_NAMES)), ODD))
    def pause(self, reason):
        self.feed("pause", reason)

    @rule(code=st.one_of(st.sampled_from(sorted(NO_RECORD_NAMES)), ODD), note=st.text(max_size=4))
    def no_record(self, code, note):
        self.feed("no_record", code, note)

    @rule(percent=st.integers(min_value=-5, max_value=105))
    def battery(self, percent):
        self.feed("battery", percent)

    @rule(hours=st.sampled_from([0, 0.001, 0.5, 3, 40, 40, 40, -1, True, "lots"]))
    def storage(self, hours):
        self.feed("storage", hours)

    @rule(config=CONFIGS, by=st.sampled_from(["hk1", "", None]))
    def host_config(self, config, by):
        if self.feed("host_config", dict(config), by) is not None and "clock_ms" in config:
            self.wall = config["clock_ms"]  # the caller sets the RTC

    @rule(
        lost=st.integers(min_value=-1, max_value=4),
        stream=st.sampled_from([STREAM_VIDEO, STREAM_AUDIO, "smell"]),
    )
    def overrun(self, lost, stream):
        self.feed("overrun", lost, self.wall - 100, self.wall, stream)

    @rule(name=st.sampled_from(SIMPLE), now=st.sampled_from([1.5, None, True, "0", b""]))
    def bad_time(self, name, now):
        before = snapshot(self.rec)
        try:
            getattr(self.rec, name)(now, self.mono)
        except RecorderError:
            pass
        else:
            raise AssertionError("%s accepted the time %r" % (name, now))
        assert snapshot(self.rec) == before

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self):
        if len(self.stored) == self.checked:
            return
        self.checked = len(self.stored)
        report = verify_ledger(b"".join(self.stored), KEY.device_id, KEY.public)
        assert report.state in (OK, OK_MISSING), [f.message for f in report.findings]

    @invariant()
    def no_frame_goes_missing(self):
        have = open_digests(self.rec)
        for raw in self.stored:
            e = parse_entry(raw)
            if e.kind == KIND_CHUNK:
                have.update(e.fields[F_FRAME_HASHES])
        assert self.required <= have, len(self.required - have)

    @invariant()
    def every_resume_points_at_its_spoken_reason(self):
        entries = [parse_entry(raw) for raw in self.stored]
        audio = set()
        resumes = 0
        for e in entries:
            if e.kind == KIND_CHUNK:
                media = e.fields[F_MEDIA_TYPE]
                assert media in AUDIO_MEDIA or media in VIDEO_MEDIA
                if media in AUDIO_MEDIA:
                    audio.add(e.digest)
            elif e.fields[F_EVENT] == EV_RESUME:
                resumes += 1
                # A resume points at the audio of its spoken reason, or, when no audio came
                # at all, at nothing (the host flags that, R-DEV-9).
                assert F_SPOKEN not in e.fields or e.fields[F_SPOKEN] in audio
        assert resumes + (self.rec.state == RESUMING) == self.resumes

    def teardown(self):
        if self.rec.state in (RECORDING, RESUMING, PAUSED):
            self.feed("press_stop")
            self.ledger_verifies()
            self.no_frame_goes_missing()
            self.every_resume_points_at_its_spoken_reason()


RecorderMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=50)
TestRecorder = RecorderMachine.TestCase
