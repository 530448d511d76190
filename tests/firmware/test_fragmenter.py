"""The fragmenter on its own: which samples go into which chunk, and what it hands back.

A packager that only notes what it is given stands in for firmware.packager, so these tests
prove the cuts; test_recorder_fmp4.py proves how the recorder chains them into the ledger.
"""

from firmware.fragmenter import CUT_CHUNK, CUT_LOST, GopFragmenter
from protocol.frames import frame_digest
from protocol.registry import MEDIA_MP4, MEDIA_MP4_INIT

CHUNK_MS = 300
MAX_CHUNK_MS = 600


class NotingPackager:
    def __init__(self) -> None:
        self.origins: list = []
        self.fragments: list = []  # (video, audio) as given

    def ready(self) -> bool:
        return True

    def begin(self, origin_mono: int) -> None:
        self.origins.append(origin_mono)

    def init_segment(self) -> bytes:
        return b"init"

    def fragment(self, video: list, audio: list) -> bytes:
        self.fragments.append((list(video), list(audio)))
        return b"fragment%d" % len(self.fragments)


def started(video_waits: bool = False) -> tuple:
    p = NotingPackager()
    f = GopFragmenter(p)
    f.begin(0, CHUNK_MS, MAX_CHUNK_MS, video_waits)
    return f, p


# Issue 12: a chunk holds one GOP, closed at the first keyframe once chunk_ms has passed;
# the recording's init segment is cut just before its first fragment.
def test_a_gop_is_cut_at_the_first_keyframe_after_chunk_ms_the_init_segment_first():
    f, p = started()
    assert p.origins == [0]
    frames = [(b"k0", True, 0), (b"p1", False, 100), (b"k2", True, 250), (b"p3", False, 300)]
    for data, key, mono in frames:
        assert f.video(data, None, key, 1000 + mono, mono, 0) == []
    cuts = f.video(b"k4", None, True, 1350, 350, 0)
    digests = [frame_digest(d) for d, _, _ in frames]
    assert cuts == [
        (CUT_CHUNK, MEDIA_MP4_INIT, b"init", [], 1000, 1000),
        (CUT_CHUNK, MEDIA_MP4, b"fragment1", digests, 1000, 1350),
    ]
    assert [v[0] for v in p.fragments[0][0]] == [b"k0", b"p1", b"k2", b"p3"]
    # The next fragment starts at that keyframe, with no second init segment.
    assert f.close(1400) == [
        (CUT_CHUNK, MEDIA_MP4, b"fragment2", [frame_digest(b"k4")], 1350, 1400)
    ]


# Issue 12: audio goes into the fragment of the video captured around it.
def test_audio_rides_in_the_open_gop():
    f, p = started()
    f.video(b"k0", None, True, 1000, 0, 0)
    f.audio(b"a0", 1010, 10)
    f.video(b"p1", None, False, 1033, 33, 0)
    f.audio(b"a1", 1043, 43)
    cuts = f.close(1100)
    assert [c[1] for c in cuts] == [MEDIA_MP4_INIT, MEDIA_MP4]
    assert p.fragments == [
        ([(b"k0", True, 0, 0), (b"p1", False, 33, 0)], [(b"a0", 10), (b"a1", 43)])
    ]


# R-DEV-6: video before a keyframe could start it is left out, asked for, and handed back to
# be logged before anything it precedes.
def test_video_waiting_for_a_keyframe_is_handed_back_as_lost():
    f, _ = started(video_waits=True)
    assert f.wants_keyframe is True
    assert f.video(b"p1", None, False, 1000, 0, 0) == []
    assert f.video(b"p2", None, False, 1033, 33, 0) == []
    assert f.wants_keyframe is True
    assert f.video(b"k", None, True, 1066, 66, 0) == [(CUT_LOST, 2, 1000, 1033)]
    assert f.wants_keyframe is False
    cuts = f.close(1100)
    assert cuts[1] == (CUT_CHUNK, MEDIA_MP4, b"fragment1", [frame_digest(b"k")], 1066, 1100)


# R-DEV-6: frames still left out when the recording stops are handed back too.
def test_close_hands_back_frames_still_awaiting_a_keyframe():
    f, p = started(video_waits=True)
    f.video(b"p1", None, False, 1000, 0, 0)
    assert f.close(1200) == [(CUT_LOST, 1, 1000, 1000)]
    assert p.fragments == []


# Issue 12: a GOP with no keyframe in time is cut at max_chunk_ms, and the next one asks
# the encoder for a keyframe.
def test_a_gop_without_a_keyframe_is_cut_at_max_chunk_ms_and_a_keyframe_is_asked_for():
    f, _ = started()
    f.video(b"k0", None, True, 1000, 0, 0)
    f.video(b"p1", None, False, 1500, 500, 0)
    assert f.tick(1599, 599) == []
    cuts = f.tick(1600, 600)
    assert [c[1] for c in cuts] == [MEDIA_MP4_INIT, MEDIA_MP4]
    assert cuts[1][5] == 1600
    assert f.wants_keyframe is True


# R-DEV-9: the spoken reason after a resume is an audio-only fragment of its own; video
# captured meanwhile goes on in the open GOP, from a keyframe.
def test_the_spoken_reason_is_its_own_audio_only_fragment():
    f, p = started()
    f.stop()
    assert f.wants_keyframe is False
    f.begin_spoken(2000, 1000)
    assert f.wants_keyframe is True
    f.spoken_audio(b"why", 2010, 1010)
    assert f.video(b"p", None, False, 2020, 1020, 0) == []  # after a pause: from a keyframe
    assert f.video(b"k", None, True, 2050, 1050, 0) == [(CUT_LOST, 1, 2020, 2020)]
    cuts = f.end_spoken(2500)
    assert [c[1] for c in cuts] == [MEDIA_MP4_INIT, MEDIA_MP4]
    assert cuts[1] == (CUT_CHUNK, MEDIA_MP4, b"fragment1", [], 2000, 2500)
    assert p.fragments == [([], [(b"why", 1010)])]
    assert f.close(2600) == [(CUT_CHUNK, MEDIA_MP4, b"fragment2", [frame_digest(b"k")], 2050, 2600)]


# R-DEV-9: with no audio at all (a dead microphone) there is no spoken reason to cut.
def test_a_silent_resume_cuts_nothing():
    f, p = started()
    f.begin_spoken(2000, 1000)
    assert f.end_spoken(2500) == []
    assert p.fragments == []


# R-DEV-15: a recording starts with the pre-record video from its first keyframe, and the
# audio from there.
def test_pre_record_frames_start_at_the_first_buffered_keyframe():
    f, _ = started()
    # The recorder's buffer: (data, digest, keyframe, wall, mono, cto).
    video = [(b"p0", b"d0", False, 900, 0, 0), (b"k1", b"d1", True, 933, 33, 0)]
    audio = [(b"a0", b"", False, 910, 10, 0), (b"a1", b"", False, 940, 40, 0)]
    kept_video, kept_audio = f.decodable(video, audio)
    assert kept_video == video[1:] and kept_audio == audio[1:]
    assert f.buffered(kept_video, kept_audio) == []
    cuts = f.close(1000)
    assert cuts[1] == (CUT_CHUNK, MEDIA_MP4, b"fragment1", [b"d1"], 933, 1000)
