"""The fragmented-MP4 packager: tracks, media times and sequence numbers as the format fixes."""

from firmware.packager import AUDIO_TRACK, VIDEO_TRACK, Fmp4Packager, aac_track, video_track
from protocol.mp4 import (
    HANDLER_AUDIO,
    HANDLER_TEXT,
    HANDLER_VIDEO,
    Track,
    read_fragment,
    read_init,
    track_samples,
)
from tests.portable import raises

ASC = b"\x11\x90"  # AAC-LC, 48 kHz, stereo


def mjpeg() -> Track:
    return video_track("jpeg", b"", 640, 360)


def packager(audio: bool = True) -> Fmp4Packager:
    return Fmp4Packager(mjpeg(), aac_track(ASC, 48000, 2) if audio else None, frame_ms=33)


def by_track(data: bytes, track_id: int) -> list:
    return [r for r in read_fragment(data)[1] if r.track_id == track_id]


def test_the_init_segment_holds_video_audio_and_the_reserved_text_track_in_order():
    p = packager()
    assert p.ready()
    p.begin(0)
    tracks = read_init(p.init_segment())
    got = [(t.track_id, t.handler, t.timescale, t.codec) for t in tracks]
    assert got == [
        (1, HANDLER_VIDEO, 90000, "jpeg"),
        (2, HANDLER_AUDIO, 48000, "mp4a"),
        (3, HANDLER_TEXT, 1000, "tx3g"),
    ]
    assert tracks[1].config == ASC and tracks[0].width == 640


def test_without_a_microphone_the_text_track_follows_the_video():
    p = packager(audio=False)
    p.begin(0)
    tracks = read_init(p.init_segment())
    assert [(t.track_id, t.handler) for t in tracks] == [(1, HANDLER_VIDEO), (2, HANDLER_TEXT)]


def test_media_time_counts_from_the_origin_in_each_tracks_timescale():
    p = packager()
    p.begin(5000)
    p.init_segment()
    video = [(b"k", True, 5000), (b"p1", False, 5033), (b"p2", False, 5067)]
    audio = [(b"a1", 5010), (b"a2", 5031), (b"a3", 5053)]
    data = p.fragment(video, audio)
    seq, _refs = read_fragment(data)
    assert seq == 1
    v = by_track(data, VIDEO_TRACK)
    assert [r.decode_time for r in v] == [0, 33 * 90, 67 * 90]
    assert [r.duration for r in v] == [33 * 90, 34 * 90, 33 * 90]  # the last: nominal
    assert [r.sync for r in v] == [True, False, False]
    a = by_track(data, AUDIO_TRACK)
    assert [r.decode_time for r in a] == [480, 1488, 2544]  # round(ms * 48000 / 1000)
    assert [r.duration for r in a] == [1008, 1056, 1024]  # the last: one AAC frame
    assert track_samples(data, VIDEO_TRACK) == [b"k", b"p1", b"p2"]
    assert track_samples(data, AUDIO_TRACK) == [b"a1", b"a2", b"a3"]


# Issue 12 "A vendor's hardware encoder": B-frames keep their composition offsets (90 kHz
# ticks), written into the trun and read back by protocol.mp4; items without one get 0.
def test_composition_offsets_are_written_and_read_back():
    p = packager(audio=False)
    p.begin(0)
    p.init_segment()
    video = [
        (b"i", True, 0, 6000),
        (b"p", False, 33, 9000),
        (b"b1", False, 67, 0),
        (b"b2", False, 100),  # an item without an offset, as our own encoders give
    ]
    data = p.fragment(video, [])
    refs = by_track(data, VIDEO_TRACK)
    assert [r.cto for r in refs] == [6000, 9000, 0, 0]
    assert [r.decode_time for r in refs] == [0, 33 * 90, 67 * 90, 100 * 90]
    assert track_samples(data, VIDEO_TRACK) == [b"i", b"p", b"b1", b"b2"]


def test_sequence_numbers_count_from_one_in_every_recording():
    p = packager()
    for origin in (0, 90000):
        p.begin(origin)
        p.init_segment()
        seqs = []
        for i in range(3):
            data = p.fragment([(b"k%d" % i, True, origin + 100 * i)], [])
            seqs.append(read_fragment(data)[0])
        assert seqs == [1, 2, 3]


def test_a_fragment_without_video_holds_only_audio_and_the_tfdt_is_its_own():
    p = packager()
    p.begin(0)
    p.init_segment()
    data = p.fragment([], [(b"a", 1000)])
    refs = read_fragment(data)[1]
    assert [(r.track_id, r.decode_time) for r in refs] == [(AUDIO_TRACK, 48000)]


def test_decode_times_never_go_backwards_even_for_a_sample_fed_late():
    p = packager()
    p.begin(1000)
    p.init_segment()
    first = by_track(p.fragment([(b"k", True, 1100)], []), VIDEO_TRACK)
    # Captured before the origin and before the last sample: both land after it.
    late = by_track(p.fragment([(b"x", True, 900), (b"y", False, 1050)], []), VIDEO_TRACK)
    times = [r.decode_time for r in first + late]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_parameter_sets_learnt_during_a_recording_apply_from_the_next():
    p = Fmp4Packager(None, None)
    assert not p.ready()
    p.set_video(mjpeg())
    assert p.ready()
    p.begin(0)
    p.init_segment()
    bigger = video_track("jpeg", b"", 1280, 720)
    p.set_video(bigger)
    assert read_init(p.init_segment())[0].width == 640  # this recording's tracks are signed
    p.begin(0)
    assert read_init(p.init_segment())[0].width == 1280


def test_samples_of_a_track_the_recording_lacks_are_refused():
    p = packager(audio=False)
    p.begin(0)
    p.init_segment()
    err = raises(ValueError, p.fragment, [], [(b"a", 0)])
    assert "no audio track" in str(err)
    raises(ValueError, p.fragment, [], [])


def test_tracks_must_carry_the_ids_and_timescales_the_format_fixes():
    wrong_id = Track(2, HANDLER_VIDEO, 90000, "jpeg", width=640, height=360)
    err = raises(ValueError, Fmp4Packager, wrong_id, None)
    assert "video_track" in str(err)
    wrong_rate = Track(2, HANDLER_AUDIO, 1000, "mp4a", ASC, channels=2, sample_rate=48000)
    raises(ValueError, Fmp4Packager, mjpeg(), wrong_rate)
    raises(ValueError, Fmp4Packager, mjpeg(), None, 0)
    raises(ValueError, Fmp4Packager(None, None).set_video, wrong_id)


def test_a_video_start_delay_starts_every_track_at_the_same_moment():
    # Issue 12 (B-frames' start delay): the video's edit list is mirrored on the sound and
    # the notes track, each in its own timescale, so they stay in step with the pictures.
    video = mjpeg()
    video.media_time = 6030  # 67 ms at 90 kHz
    p = Fmp4Packager(video, aac_track(ASC, 48000, 2), frame_ms=33)
    p.begin(0)
    tracks = read_init(p.init_segment())
    assert [t.media_time for t in tracks] == [6030, 3216, 67]
    assert p.audio is not None and p.audio.media_time == 0  # the port's track is not changed
