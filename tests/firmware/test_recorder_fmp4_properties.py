"""Random shifts thrown at a recorder that packages fragmented MP4: the fragments stay true."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-2, R-DEV-6, R-DEV-9, R-DEV-15: properties of every sequence of inputs.

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from firmware.errors import RecorderError
from firmware.packager import AUDIO_TRACK, VIDEO_TRACK, Fmp4Packager, aac_track, video_track
from firmware.recorder import IDLE, PRE_RECORD, RECORDING, RESUMING, STORE, STREAM_VIDEO, Recorder
from protocol.frames import frame_digest
from protocol.ledger import parse_entry
from protocol.mp4 import read_fragment, read_init, track_samples
from protocol.registry import (
    EV_OVERRUN,
    EV_PAUSE,
    EV_RECORD_START,
    EV_RESUME,
    F_CHUNK_INDEX,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_RECORDING,
    F_SPOKEN,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
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
    "pre_record_max_bytes": 1 << 30,
    "spoken_reason_ms": 500,
}
GOOD = {"camera_ok": True, "battery_percent": 90, "storage_hours": 40}
ASC = b"\x11\x90"  # AAC-LC, 48 kHz, stereo


class Fmp4Machine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.packager = Fmp4Packager(
            video_track("jpeg", b"", 320, 240), aac_track(ASC, 48000, 2), frame_ms=33
        )
        self.rec = Recorder(
            make_signer(SEED_A), DEVICE, "OFC-1", config=dict(CONFIG), packager=self.packager
        )
        self.wall = T0
        self.mono = 0
        self.stored: list = []  # (entry, media)
        self.count = 0
        self.pending: list = []  # (digest, mono, keyframe) of frames given before the button
        self.pending_audio: list = []  # (block, mono) given before the button
        self.video: list = []  # digests of frames given while recording
        self.audio: list = []  # blocks given while recording
        self.checked = 0

    @initialize(k=st.integers(min_value=1, max_value=3))
    def start(self, k):
        self.rec.writer.sign_every = k
        self.keep(self.rec.power_on(self.wall, self.mono, GOOD))

    def keep(self, actions: list) -> None:
        for a in actions:
            if a[0] == STORE:
                self.stored.append((parse_entry(a[1]), a[2]))

    def feed(self, name: str, *args) -> bool:
        try:
            actions = getattr(self.rec, name)(*args, self.wall, self.mono)
        except RecorderError:
            return False
        self.keep(actions)
        return True

    @rule(ms=st.integers(min_value=0, max_value=400))
    def time_passes(self, ms):
        self.wall += ms
        self.mono += ms

    @rule(keyframe=st.booleans())
    def frame(self, keyframe):
        self.count += 1
        raw = b"v-%d" % self.count
        state = self.rec.state
        if self.feed("frame", raw, keyframe):
            if state in (RECORDING, RESUMING):
                self.video.append(frame_digest(raw))
            elif state in (IDLE, PRE_RECORD):
                self.pending.append((frame_digest(raw), self.mono, keyframe))

    @rule()
    def audio(self):
        self.count += 1
        raw = b"a-%d" % self.count
        state = self.rec.state
        if self.feed("audio", raw):
            if state in (RECORDING, RESUMING):
                self.audio.append(raw)
            elif state in (IDLE, PRE_RECORD):
                self.pending_audio.append((raw, self.mono))

    @rule()
    def record(self):
        if not self.feed("press_record") or self.rec.state != RECORDING:
            return
        # Pre-record video from its first keyframe within the window is kept (R-DEV-15).
        kept = [p for p in self.pending if p[1] >= self.mono - PRE_MS]
        first = next((i for i, p in enumerate(kept) if p[2]), None)
        start = self.mono - PRE_MS
        if first is not None:
            self.video.extend(p[0] for p in kept[first:])
            start = kept[first][1]  # and the sound from there
        self.audio.extend(a for a, m in self.pending_audio if m >= start)
        self.pending = []
        self.pending_audio = []

    @rule(name=st.sampled_from(["press_stop", "resume", "spoken_reason_done", "tick", "tick"]))
    def button(self, name):
        self.feed(name)
        if self.rec.state not in (IDLE, PRE_RECORD):
            self.pending = []
            self.pending_audio = []

    @rule(reason=st.sampled_from(sorted(PAUSE_NAMES)))
    def pause(self, reason):
        self.feed("pause", reason)

    @rule()
    def overrun(self):
        self.feed("overrun", 1, self.wall - 10, self.wall, STREAM_VIDEO)

    @rule(chunk_ms=st.sampled_from([100, 300, 500]))
    def host_config(self, chunk_ms):
        self.feed("host_config", {"chunk_ms": chunk_ms, "max_chunk_ms": 2 * chunk_ms}, "hk1")

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self):
        if len(self.stored) == self.checked:
            return
        self.checked = len(self.stored)
        report = verify_ledger(b"".join(e.raw for e, _ in self.stored), KEY.device_id, KEY.public)
        assert report.state in (OK, OK_MISSING), [f.message for f in report.findings]

    @invariant()
    def fragments_are_true_to_their_entries(self):
        spoken = {}
        for e, _ in self.stored:
            if e.kind != KIND_CHUNK and e.fields[F_EVENT] == EV_RESUME and F_SPOKEN in e.fields:
                spoken[e.fields[F_SPOKEN]] = True
        recording = None
        index = 0
        last: dict = {}  # track -> the last decode time in this recording
        chain = False  # the last video fragment can be continued (no pause since)
        for e, media in self.stored:
            f = e.fields
            if e.kind != KIND_CHUNK:
                if f[F_EVENT] == EV_PAUSE:
                    chain = False
                continue
            if f[F_RECORDING] != recording:
                recording, index, last, chain = f[F_RECORDING], 0, {}, False
            assert f[F_CHUNK_INDEX] == index
            index += 1
            if f[F_CHUNK_INDEX] == 0:
                # The init segment comes first, with the reserved text track (no digests).
                assert f[F_MEDIA_TYPE] == MEDIA_MP4_INIT and f[F_FRAME_HASHES] == []
                assert [t.track_id for t in read_init(media)] == [1, 2, 3]
                continue
            assert f[F_MEDIA_TYPE] == MEDIA_MP4
            sequence, refs = read_fragment(media)
            assert sequence == f[F_CHUNK_INDEX]  # 1..n within the recording
            # The signed digests are exactly those of the video samples in the mdat.
            video = track_samples(media, VIDEO_TRACK)
            assert f[F_FRAME_HASHES] == [frame_digest(v) for v in video]
            if e.digest in spoken:
                # R-DEV-9: the spoken reason is sound only.
                assert video == [] and track_samples(media, AUDIO_TRACK)
            video_refs = [r for r in refs if r.track_id == VIDEO_TRACK]
            if video_refs:
                # A fragment starts decodable, unless it continues the GOP of the last one.
                assert video_refs[0].sync or chain
                chain = True
            for r in refs:
                assert r.decode_time >= last.get(r.track_id, 0)
                last[r.track_id] = r.decode_time

    @invariant()
    def no_frame_goes_missing_unlogged(self):
        # R-DEV-2, R-DEV-6: every frame given while recording is in a fragment, still open,
        # or counted in a logged overrun (video before a keyframe could start it again).
        have = []
        lost = 0
        audio = []
        for e, media in self.stored:
            if e.kind == KIND_CHUNK:
                have.extend(e.fields[F_FRAME_HASHES])
                if e.fields[F_CHUNK_INDEX]:
                    audio.extend(track_samples(media, AUDIO_TRACK))
            elif e.fields[F_EVENT] == EV_OVERRUN:
                if e.fields[F_DETAIL].get("cause") == "awaiting keyframe":
                    lost += e.fields[F_DETAIL]["lost"]
            elif e.fields[F_EVENT] == EV_RECORD_START:
                assert "origin_mono" in e.fields[F_DETAIL]
        frag = self.rec.fragmenter
        for open_ in (frag.open, frag.spoken):
            if open_ is not None:
                have.extend(open_.hashes.digests)
                audio.extend(a[0] for a in open_.audio)
        if frag.lost is not None:
            lost += frag.lost[0]
        have_set = set(have)
        missing = [d for d in self.video if d not in have_set]
        assert len(missing) == lost, (len(missing), lost)
        assert audio == self.audio

    def teardown(self):
        if self.rec.state in (RECORDING, RESUMING) or self.rec.recording_id is not None:
            self.feed("press_stop")
            self.ledger_verifies()
            self.fragments_are_true_to_their_entries()
            self.no_frame_goes_missing_unlogged()


Fmp4Machine.TestCase.settings = settings(max_examples=150, stateful_step_count=50)
TestFmp4Recorder = Fmp4Machine.TestCase
