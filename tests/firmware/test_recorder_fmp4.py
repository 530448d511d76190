"""The recorder with a packager (fragmented MP4): what goes into which chunk, in which order.

A packager that only notes what it is given stands in for firmware.packager here, so these
tests prove the recorder's side of the seam; test_packager.py and the property tests prove
the bytes.
"""

import hashlib

from firmware.errors import RecorderError
from firmware.recorder import (
    PAUSED,
    RECORDING,
    RESUMING,
    STORE,
    STREAM_VIDEO,
    Recorder,
)
from protocol.frames import frame_digest
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_OVERRUN,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    F_CHUNK_INDEX,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_SPOKEN,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

GOOD = {"camera_ok": True, "battery_percent": 90, "storage_hours": 40, "clock_ok": True}
CONFIG = {"chunk_ms": 300, "max_chunk_ms": 600, "pre_record_ms": 1000, "spoken_reason_ms": 500}


class NotingPackager:
    """A packager that keeps what the recorder gives it; a fragment's bytes name its number."""

    def __init__(self, ready: bool = True) -> None:
        self.is_ready = ready
        self.origins: list = []
        self.inits = 0
        self.fragments: list = []  # (sequence, video, audio)
        self.sequence = 0

    def ready(self) -> bool:
        return self.is_ready

    def begin(self, origin_mono: int) -> None:
        self.origins.append(origin_mono)
        self.sequence = 0

    def init_segment(self) -> bytes:
        self.inits += 1
        return b"init%d" % self.inits

    def fragment(self, video: list, audio: list) -> bytes:
        assert video or audio
        self.sequence += 1
        self.fragments.append((self.sequence, list(video), list(audio)))
        return b"fragment%d" % self.sequence


class Shift:
    """A recorder with a packager, driven by a virtual clock; its stored entries are kept."""

    def __init__(
        self, packager: "NotingPackager | None" = None, config: "dict | None" = None, **kw
    ) -> None:
        self.packager = packager if packager is not None else NotingPackager()
        conf = dict(CONFIG)
        conf.update(config or {})
        self.rec = Recorder(
            make_signer(SEED_A), DEVICE, "OFC-1", config=conf, packager=self.packager, **kw
        )
        self.wall = T0
        self.mono = 0
        self.stored: list = []  # (entry, media)
        for a in self.rec.power_on(self.wall, self.mono, GOOD):
            if a[0] == STORE:
                self.stored.append((parse_entry(a[1]), a[2]))

    def do(self, name: str, *args) -> list:
        actions = getattr(self.rec, name)(*args, self.wall, self.mono)
        for a in actions:
            if a[0] == STORE:
                self.stored.append((parse_entry(a[1]), a[2]))
        return actions

    def advance(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms

    def video(self, n: int, key_every: int = 3, every_ms: int = 100, first_key: int = 0) -> list:
        """``n`` frames, every ``key_every``-th a keyframe from ``first_key``, an audio block
        captured right after each; return [(frame, keyframe, mono)]."""
        sent = []
        for i in range(n):
            data = b"v%d@%d" % (i, self.mono)
            key = i >= first_key and (i - first_key) % key_every == 0
            self.do("frame", data, key)
            sent.append((data, key, self.mono))
            self.advance(10)
            self.do("audio", b"a@%d" % self.mono)
            self.advance(every_ms - 10)
        return sent

    def chunks(self) -> list:
        return [(e, m) for e, m in self.stored if e.kind == KIND_CHUNK]

    def events(self, code: int) -> list:
        return [e for e, _ in self.stored if e.kind == KIND_EVENT and e.fields[F_EVENT] == code]

    def verdict(self) -> str:
        key = device_key()
        ledger = b"".join(e.raw for e, _ in self.stored)
        return verify_ledger(ledger, key.device_id, key.public).state


# R-DEV-2: the init segment is chunk 0, then one fragment per GOP, audio inside it.
def test_a_recording_is_its_init_segment_then_one_fragment_per_gop():
    s = Shift()
    s.do("press_record")
    sent = s.video(9)
    s.do("press_stop")
    chunks = s.chunks()
    kinds = [e.fields[F_MEDIA_TYPE] for e, _ in chunks]
    assert kinds == [MEDIA_MP4_INIT, MEDIA_MP4, MEDIA_MP4, MEDIA_MP4]
    assert [e.fields[F_CHUNK_INDEX] for e, _ in chunks] == [0, 1, 2, 3]
    init, media = chunks[0]
    assert media == b"init1" and init.fields[F_FRAME_HASHES] == []
    assert init.fields[F_PLAIN_SHA] == hashlib.sha256(b"init1").digest()
    # Each GOP (a keyframe every 3 frames, 100 ms apart, chunk_ms 300) is one fragment, with
    # the audio captured during it; no audio chunk of its own.
    frags = s.packager.fragments
    assert [[v[0] for v in f[1]] for f in frags] == [
        [x[0] for x in sent[i : i + 3]] for i in (0, 3, 6)
    ]
    assert all(f[1][0][1] for f in frags)  # every fragment starts at a keyframe
    assert [len(f[2]) for f in frags] == [3, 3, 3]
    assert len(chunks) == len(frags) + 1
    for i in range(len(frags)):
        (entry, media), (seq, video, _audio) = chunks[i + 1], frags[i]
        assert media == b"fragment%d" % seq and entry.fields[F_CHUNK_INDEX] == seq
        assert entry.fields[F_FRAME_HASHES] == [frame_digest(v[0]) for v in video]
        assert entry.fields[F_PLAIN_LEN] == len(media)
        assert entry.fields[F_PLAIN_SHA] == hashlib.sha256(media).digest()
    assert s.events(EV_RECORD_STOP)[0].fields[F_DETAIL]["chunks"] == 4
    assert s.verdict() == OK


# R-DEV-15: pre-record starts at a keyframe; media time 0 is its capture time.
def test_pre_record_starts_at_its_first_keyframe_and_names_the_origin():
    s = Shift()
    s.advance(5000)
    sent = s.video(7, key_every=3, first_key=2)  # two frames before the first keyframe
    s.do("press_record")
    start = s.events(EV_RECORD_START)[0]
    origin = sent[2][2]
    assert start.fields[F_DETAIL]["origin_mono"] == origin
    assert s.packager.origins == [origin]
    s.do("press_stop")
    video = [v for f in s.packager.fragments for v in f[1]]
    assert [v[0] for v in video] == [x[0] for x in sent[2:]]
    audio = [a for f in s.packager.fragments for a in f[2]]
    assert min(a[1] for a in audio) >= origin  # the audio before the keyframe is left out
    assert start.fields[F_DETAIL]["pre_frames"] == len(video) + len(audio)
    chunks = s.chunks()
    assert chunks[1][0].fields[F_START_MS] == T0 + origin


# R-DEV-15: without pre-record, media time 0 is the button.
def test_without_pre_record_the_origin_is_the_button():
    s = Shift(config={"pre_record_ms": 0})
    s.advance(700)
    s.do("press_record")
    assert s.events(EV_RECORD_START)[0].fields[F_DETAIL]["origin_mono"] == 700
    assert s.packager.origins == [700]


# R-DEV-6: video waits for a keyframe after the button, asks for one, and logs what it left.
def test_video_waits_for_a_keyframe_after_the_button_and_logs_the_frames_left_out():
    s = Shift(config={"pre_record_ms": 0})
    s.do("press_record")
    assert s.rec.wants_keyframe is True
    s.do("frame", b"p1", False)
    s.advance(33)
    s.do("frame", b"p2", False)
    assert s.rec.wants_keyframe is True and s.events(EV_OVERRUN) == []
    s.advance(33)
    s.do("frame", b"k", True)
    assert s.rec.wants_keyframe is False
    lost = s.events(EV_OVERRUN)
    assert len(lost) == 1
    detail = lost[0].fields[F_DETAIL]
    assert detail["stream"] == STREAM_VIDEO and detail["lost"] == 2
    assert detail["first_ms"] == T0 and detail["last_ms"] == T0 + 33
    s.advance(33)
    s.do("frame", b"p3", False)
    s.do("press_stop")
    assert [v[0] for v in s.packager.fragments[0][1]] == [b"k", b"p3"]


# R-DEV-9: the spoken reason is an audio-only fragment that the resume points at.
def test_the_spoken_reason_is_its_own_audio_only_fragment_pointed_at_by_the_resume():
    s = Shift()
    s.do("press_record")
    s.video(3)
    s.do("pause", PAUSE_WEATHER)
    assert s.rec.state == PAUSED and s.rec.wants_keyframe is False
    s.advance(1000)
    s.do("resume")
    assert s.rec.state == RESUMING and s.rec.wants_keyframe is True
    s.video(4, key_every=2, first_key=1)  # video after the resume starts at a keyframe
    s.advance(500)
    s.do("tick")
    assert s.rec.state == RECORDING
    resume = s.events(EV_RESUME)[0]
    by_hash = {e.digest: (e, m) for e, m in s.chunks()}
    spoken, media = by_hash[resume.fields[F_SPOKEN]]
    seq = int(media[len(b"fragment") :])
    _, video, audio = s.packager.fragments[seq - 1]
    assert video == [] and len(audio) == 4 and spoken.fields[F_FRAME_HASHES] == []
    # The video of the resuming span is in fragments of its own, without audio, and starts
    # at the keyframe; the frame before it was left out and logged.
    resuming = [f for f in s.packager.fragments if f[1] and f[1][0][2] > 1000]
    assert resuming and all(f[2] == [] for f in resuming)
    assert resuming[0][1][0][1] is True
    assert s.events(EV_OVERRUN)[0].fields[F_DETAIL]["lost"] == 1
    s.do("press_stop")
    seqs = [e.fields[F_CHUNK_INDEX] for e, _ in s.chunks()]
    assert seqs == list(range(len(seqs)))
    assert s.verdict() == OK


# R-DEV-1: a dead camera still records sound, in audio-only fragments of chunk_ms.
def test_without_video_audio_fragments_close_at_chunk_ms():
    s = Shift()
    s.do("press_record")
    for _ in range(10):
        s.do("audio", b"a@%d" % s.mono)
        s.advance(100)
    s.do("press_stop")
    frags = s.packager.fragments
    assert [len(f[2]) for f in frags] == [3, 3, 3, 1]
    assert all(f[1] == [] for f in frags)


# R-DEV-2: a GOP longer than max_chunk_ms is cut, never dropped; the encoder is asked for a
# keyframe so the next fragment starts decodable again.
def test_a_long_gop_is_cut_at_max_chunk_ms_and_a_keyframe_is_asked_for():
    s = Shift(config={"pre_record_ms": 0})
    s.do("press_record")
    s.video(10, key_every=100)  # one keyframe, then 9 frames 100 ms apart
    assert s.rec.wants_keyframe is True
    s.do("press_stop")
    frags = s.packager.fragments
    video = [v[0] for f in frags for v in f[1]]
    assert len(video) == 10 and len(frags) == 2
    assert frags[0][1][0][1] is True and frags[1][1][0][1] is False


# R-DEV-2: until the packager knows the video's parameter sets, the first fragment waits.
def test_the_first_fragment_waits_for_the_parameter_sets():
    p = NotingPackager(ready=False)
    s = Shift(p, config={"pre_record_ms": 0})
    s.do("press_record")
    for _ in range(5):
        s.do("audio", b"a@%d" % s.mono)
        s.advance(100)
    s.do("tick")
    assert p.fragments == [] and p.inits == 0
    s.do("frame", b"early", True)  # a keyframe before its parameter sets: undecodable
    p.is_ready = True
    s.do("frame", b"k", True)
    s.advance(100)
    s.do("press_stop")
    # The sound held so far is a fragment of its own (older than chunk_ms), then the video.
    assert p.inits == 1 and len(p.fragments) == 2
    assert p.fragments[0][1] == [] and len(p.fragments[0][2]) == 5
    assert [v[0] for v in p.fragments[1][1]] == [b"k"]
    assert s.events(EV_OVERRUN)[0].fields[F_DETAIL]["lost"] == 1


# R-DEV-1: a stream that never shows its parameter sets does not hold the sound for ever.
def test_without_parameter_sets_the_sound_is_written_after_a_bounded_wait():
    p = NotingPackager(ready=False)
    s = Shift(p, config={"pre_record_ms": 0})
    s.do("press_record")
    for _ in range(120):
        s.do("audio", b"a@%d" % s.mono)
        s.advance(100)
    assert p.inits == 1 and p.fragments  # the init segment has no video track then
    p.is_ready = True
    s.do("frame", b"k", True)  # too late for this recording: left out, logged
    s.do("press_stop")
    assert all(f[1] == [] for f in p.fragments)
    assert s.events(EV_OVERRUN)[0].fields[F_DETAIL]["lost"] == 1


# R-DEV-3: sealing covers the fragment bytes.
def test_sealing_covers_the_init_segment_and_the_fragments():
    sealed: list = []

    def sealer(media: bytes) -> tuple:
        sealed.append(media)
        box = b"sealed:" + media
        return box, hashlib.sha256(box).digest(), 1

    s = Shift(sealer=sealer)
    s.do("press_record")
    s.video(4)
    s.do("press_stop")
    assert sealed == [b"init1", b"fragment1", b"fragment2"]
    for entry, media in s.chunks():
        assert media.startswith(b"sealed:")
        assert entry.fields[F_PLAIN_SHA] == hashlib.sha256(media[7:]).digest()


# R-DEV-10: a new recording begins the packager again: its own init, sequence from 1.
def test_every_recording_has_its_own_init_segment():
    s = Shift()
    for _ in range(2):
        s.do("press_record")
        s.video(3)
        s.do("press_stop")
        s.advance(2000)
    inits = [e for e, _ in s.chunks() if e.fields[F_MEDIA_TYPE] == MEDIA_MP4_INIT]
    assert len(inits) == 2 and all(e.fields[F_CHUNK_INDEX] == 0 for e in inits)
    assert len(s.packager.origins) == 2


def test_a_lost_video_frame_asks_the_encoder_for_a_keyframe():
    s = Shift()
    s.do("press_record")
    s.video(1)
    assert s.rec.wants_keyframe is False
    s.do("overrun", 2, s.wall - 50, s.wall, STREAM_VIDEO)
    assert s.rec.wants_keyframe is True


# Issue 12 "A vendor's hardware encoder": a frame's composition offset (B-frames, in 90 kHz
# ticks) goes with it through the pre-record buffer and the open fragment to the packager.
def test_composition_offsets_reach_the_packager_from_the_buffer_and_the_open_fragment():
    s = Shift()
    s.advance(5000)
    offsets = [6000, 0, 3000, 9000, 0, 3000]  # I P B B... in decode order, as x264 makes them
    for i in range(6):
        if i == 3:
            s.do("press_record")  # the first three wait in the pre-record buffer
        s.rec.frame(b"v%d" % i, i == 0, s.wall, s.mono, offsets[i])
        s.advance(33)
    s.do("press_stop")
    video = [v for f in s.packager.fragments for v in f[1]]
    assert [v[0] for v in video] == [b"v%d" % i for i in range(6)]
    assert [v[3] for v in video] == offsets


def test_an_old_call_without_an_offset_gives_zero_and_a_bad_offset_is_refused():
    s = Shift()
    s.do("press_record")
    s.do("frame", b"k", True)
    for bad in (-(1 << 31) - 1, 1 << 31, 1.5, True):
        raised = False
        try:
            s.rec.frame(b"p", False, s.wall, s.mono, bad)
        except RecorderError:
            raised = True
        assert raised, bad
    s.do("press_stop")
    assert [v[3] for f in s.packager.fragments for v in f[1]] == [0]
