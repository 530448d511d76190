"""PyAV (ffmpeg) is the oracle: what protocol.mp4 writes plays, and what ffmpeg writes reads."""
# micropython: skip (PyAV is a CPython library)
# Issue 12 (real footage): the export is the signed fragments unchanged and must play in any
# player; the verifier must read fragments a vendor's ffmpeg-based muxer wrote.

import functools
import io
from fractions import Fraction

import av
import av.logging
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import h26x, mp4
from tests.protocol.avmedia import (
    FPS,
    FRAMES,
    GOP,
    TICKS,
    encode_aac,
    encode_video,
    pictures,
)


def package(entry, stream, audio=None, rate=48000, text=False):
    """init + fragments (one GOP each) for an Annex B stream, as the device packages it."""
    cut = h26x.AccessUnits(entry)
    aus = cut.feed(stream) + cut.end()
    if entry == "avc1":
        config = h26x.avcc(cut.sps, cut.pps)
    else:
        config = h26x.hvcc(cut.vps, cut.sps, cut.pps)
    width, height = h26x.picture_size(cut.sps[0], entry)
    tracks = [mp4.Track(1, mp4.HANDLER_VIDEO, 90000, entry, config, width, height)]
    if audio is not None:
        asc, _frames = audio
        tracks.append(
            mp4.Track(2, mp4.HANDLER_AUDIO, rate, "mp4a", asc, channels=1, sample_rate=rate)
        )
    if text:
        tracks.append(mp4.Track(len(tracks) + 1, mp4.HANDLER_TEXT, 1000, "tx3g", b"", 642, 362))
    gops = []
    for index, (nals, key) in enumerate(aus):
        if key or not gops:
            gops.append([])
        gops[-1].append((index, nals, key))
    out = [mp4.init_segment(tracks)]
    audio_frames = list(audio[1]) if audio else []
    audio_at = 0
    for seq, gop in enumerate(gops, 1):
        samples = [
            mp4.Sample(h26x.to_sample(h26x.sample_nals(nals, entry)), TICKS, key)
            for _i, nals, key in gop
        ]
        runs = [mp4.Run(1, gop[0][0] * TICKS, samples)]
        if audio_frames:
            # the audio captured during this GOP: its share of the frames, in order
            share = len(audio_frames) * (gop[-1][0] + 1) // len(aus) - audio_at
            chunk = audio_frames[audio_at : audio_at + share]
            if chunk:
                runs.append(mp4.Run(2, audio_at * 1024, [mp4.Sample(a, 1024) for a in chunk]))
            audio_at += len(chunk)
        out.append(mp4.fragment(seq, runs))
    return out, aus


@pytest.mark.parametrize(
    ("codec", "entry", "name"), [("libx264", "avc1", "h264"), ("libx265", "hvc1", "hevc")]
)
def test_our_fragments_play_in_ffmpeg(tmp_path, ffmpeg_log, codec, entry, name):
    # issue 12: H.264 / H.265 video with AAC sound, packaged by us, decoded by ffmpeg
    stream, packets, _ctx = encode_video(codec, 642, 362)
    audio = encode_aac()
    parts, aus = package(entry, stream, audio)
    assert len(aus) == len(packets) == FRAMES
    path = tmp_path / "footage.mp4"
    path.write_bytes(b"".join(parts))
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        sound = container.streams.audio[0]
        assert video.codec_context.name == name
        assert (video.codec_context.width, video.codec_context.height) == (642, 362)
        assert sound.codec_context.name == "aac"
        assert sound.codec_context.sample_rate == 48000
        assert video.duration * video.time_base == Fraction(FRAMES, FPS)
        pictures_seen, pts, audio_samples = 0, [], 0
        for packet in container.demux(video, sound):
            for frame in packet.decode():
                if packet.stream is video:
                    assert (frame.width, frame.height) == (642, 362)
                    pictures_seen += 1
                    pts.append(frame.pts)
                else:
                    audio_samples += frame.samples
    assert ffmpeg_log() == []
    assert pictures_seen == FRAMES
    assert sorted(pts) == [i * TICKS for i in range(FRAMES)]
    assert audio_samples == 1024 * len(audio[1])


def test_motion_jpeg_fragments_play(tmp_path, ffmpeg_log):
    # issue 12: boards keep JPEG frames, packaged the same way
    ctx = av.CodecContext.create("mjpeg", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 320, 240, "yuvj420p"
    ctx.time_base = Fraction(1, FPS)
    jpegs = []
    for i, frame in pictures(320, 240, 6):
        frame = frame.reformat(format="yuvj420p")
        frame.pts = i
        jpegs += [bytes(p) for p in ctx.encode(frame)]
    track = mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "jpeg", width=320, height=240)
    runs = [mp4.Run(1, 0, [mp4.Sample(j, TICKS) for j in jpegs[:3]])]
    later = [mp4.Run(1, 3 * TICKS, [mp4.Sample(j, TICKS) for j in jpegs[3:]])]
    data = mp4.init_segment([track]) + mp4.fragment(1, runs) + mp4.fragment(2, later)
    path = tmp_path / "mjpeg.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "mjpeg"
        assert len(list(container.decode(video=0))) == 6
    assert ffmpeg_log() == []


def test_text_track_is_a_subtitle_stream(tmp_path, ffmpeg_log):
    # issue 12: the exporter's pause notes are tx3g samples players show as subtitles
    track = mp4.Track(1, mp4.HANDLER_TEXT, 1000, "tx3g", width=642, height=362)
    notes = [
        mp4.Sample(mp4.text_sample("暂停 / Paused: 设备故障 / device fault"), 2000),
        mp4.Sample(mp4.text_sample(""), 1000),
        mp4.Sample(mp4.text_sample("Resumed"), 1500),
    ]
    data = mp4.init_segment([track]) + mp4.fragment(1, [mp4.Run(1, 500, notes)])
    path = tmp_path / "notes.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        assert stream.codec_context.name == "mov_text"
        shown = []
        for packet in container.demux(stream):
            for subtitle in packet.decode():
                shown.append((packet.pts, subtitle.dialogue.decode()))
    # the empty sample clears the screen and shows nothing
    assert ffmpeg_log() == []
    assert shown == [(500, "暂停 / Paused: 设备故障 / device fault"), (3500, "Resumed")]


def ffmpeg_fragmented(codec, rate=48000):
    """An MP4 muxed by PyAV itself with the fragmented-MP4 flags, from frames and a tone."""
    buf = io.BytesIO()
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    with av.open(buf, "w", format="mp4", options=options) as out:
        video = out.add_stream(codec, rate=FPS)
        video.width, video.height, video.pix_fmt = 642, 362, "yuv420p"
        video.options = {"bframes": "0", "g": str(GOP)} if codec == "libx264" else {}
        if codec == "libx265":
            video.codec_context.options = {"x265-params": "keyint=%d:log-level=error" % GOP}
        sound = out.add_stream("aac", rate=rate)
        sound.layout = "mono"
        for i, frame in pictures(642, 362):
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        tone = (0.2 * np.sin(np.arange(rate // 2) / 10)).astype(np.float32)
        for i in range(0, len(tone) - 1023, 1024):
            f = av.AudioFrame.from_ndarray(tone[None, i : i + 1024], format="fltp", layout="mono")
            f.sample_rate = rate
            f.pts = i
            out.mux(sound.encode(f))
        out.mux(sound.encode(None))
    return buf.getvalue()


def split_file(data):
    """(init bytes, [fragment bytes]) of a whole fragmented file."""
    spans = mp4.fragment_spans(data)
    return data[: spans[0][0]], [data[s:e] for s, e in spans]


# ffmpeg labels H.265 'hev1' unless told otherwise; its samples and hvcC are read the same
@pytest.mark.parametrize(("codec", "entry"), [("libx264", "avc1"), ("libx265", "hev1")])
def test_we_read_what_ffmpeg_writes(codec, entry):
    # issue 12: a vendor's fMP4 (ffmpeg's layout: tfhd defaults, trex defaults) reads back
    # sample for sample as ffmpeg's own demuxer sees it
    data = ffmpeg_fragmented(codec)
    init, fragments = split_file(data)
    tracks = mp4.read_init(init)
    assert [(t.handler, t.codec) for t in tracks] == [("vide", entry), ("soun", "mp4a")]
    assert (tracks[0].width, tracks[0].height) == (642, 362)
    ours = {1: [], 2: []}
    times = {1: [], 2: []}
    for frag in fragments:
        for ref in mp4.read_fragment(frag, tracks)[1]:
            ours[ref.track_id].append(bytes(frag[ref.offset : ref.offset + ref.size]))
            times[ref.track_id].append((ref.decode_time, ref.sync))
    theirs = {1: [], 2: []}
    their_times = {1: [], 2: []}
    with av.open(io.BytesIO(data)) as container:
        assert bytes(container.streams.audio[0].codec_context.extradata) == tracks[1].config
        for packet in container.demux():
            if packet.size:
                theirs[packet.stream.index + 1].append(bytes(packet))
                their_times[packet.stream.index + 1].append((packet.dts, packet.is_keyframe))
    assert len(ours[1]) == FRAMES
    assert ours == theirs
    assert times == their_times
    # and our configuration record agrees with ffmpeg's on what a decoder needs
    stream = b"".join(b"\x00\x00\x00\x01" + n for s in ours[1] for n in h26x.from_sample(s))
    entry = "avc1" if entry == "avc1" else "hvc1"
    vps, sps, pps = parameter_sets(tracks[0].config, entry)
    if entry == "avc1":
        mine = h26x.avcc(sps, pps)
        assert mine[:5] == tracks[0].config[:5]
    else:
        mine = h26x.hvcc(vps, sps, pps)
        theirs_cfg = tracks[0].config
        assert mine[:13] == theirs_cfg[:13]  # profile, tier, compatibility, constraints, level
        assert mine[16:19] == theirs_cfg[16:19]  # chroma format, bit depths
        assert mine[21] & 0x3F == theirs_cfg[21] & 0x3F  # temporal layers, nesting, lengths
    assert h26x.picture_size(sps[0], entry) == (642, 362)
    assert stream  # samples are length-prefixed NAL units


def parameter_sets(config, entry):
    """(vps, sps, pps) listed in an avcC / hvcC record written by ffmpeg."""
    if entry == "avc1":
        at, sets = 5, {7: [], 8: []}
        count = config[at] & 0x1F
        at += 1
        for kind, n in ((7, count), (8, None)):
            if n is None:
                n = config[at]
                at += 1
            for _ in range(n):
                size = int.from_bytes(config[at : at + 2], "big")
                sets[kind].append(config[at + 2 : at + 2 + size])
                at += 2 + size
        return [], sets[7], sets[8]
    sets = {32: [], 33: [], 34: [], 39: []}
    at = 23
    for _ in range(config[22]):
        kind = config[at] & 0x3F
        n = int.from_bytes(config[at + 1 : at + 3], "big")
        at += 3
        for _ in range(n):
            size = int.from_bytes(config[at : at + 2], "big")
            sets.setdefault(kind, []).append(config[at + 2 : at + 2 + size])
            at += 2 + size
    return sets[32], sets[33], sets[34]


@functools.cache
def ffmpeg_parts():
    return split_file(ffmpeg_fragmented("libx264"))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_ffmpeg_files_raise_only_mp4_errors(data):
    # issue 12: a truncated or altered vendor file given to verify is one clear error
    init, fragments = ffmpeg_parts()
    tracks = mp4.read_init(init)
    frag = fragments[data.draw(st.integers(0, len(fragments) - 1))]
    for good, read in ((init, mp4.read_init), (frag, lambda b: mp4.read_fragment(b, tracks))):
        bad = bytearray(good)
        # aim at the boxes' headers and tables, where the sizes and counts are
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, min(len(bad), 1500) - 1))
            bad[at] = data.draw(st.integers(0, 255))
        if data.draw(st.booleans()):
            bad = bad[: data.draw(st.integers(0, len(bad)))]
        try:
            read(bytes(bad))
        except mp4.Mp4Error as e:
            assert str(e).startswith("mp4: ") and "\n" not in str(e)


def test_the_export_layout_plays(tmp_path, ffmpeg_log):
    # issue 12: export = init, the signed fragments unchanged, one unsigned text-track
    # fragment with the pause notes, and the evidence in a uuid box last; players show the
    # notes as subtitles and skip the uuid box
    stream, _packets, _ctx = encode_video("libx264", 642, 362)
    audio = encode_aac()
    parts, _aus = package("avc1", stream, audio, text=True)
    notes = [
        mp4.Sample(mp4.text_sample(""), 150),
        mp4.Sample(mp4.text_sample("暂停 / Paused"), 200),
    ]
    note_fragment = mp4.fragment(len(parts), [mp4.Run(3, 0, notes)])
    evidence = mp4.uuid_box(bytes(range(16)), b"\xa0" * 100)
    path = tmp_path / "export.mp4"
    path.write_bytes(b"".join(parts) + note_fragment + evidence)
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["video", "audio", "subtitle"]
        frames = list(container.decode(video=0))
    with av.open(str(path)) as container:
        shown = [
            (p.pts, sub.dialogue.decode())
            for p in container.demux(subtitles=0)
            for sub in p.decode()
        ]
    assert len(frames) == FRAMES
    assert shown == [(150, "暂停 / Paused")]
    assert ffmpeg_log() == []
    data = path.read_bytes()
    assert mp4.uuid_payloads(data, bytes(range(16))) == [b"\xa0" * 100]
    assert len(mp4.fragment_spans(data)) == len(parts)  # the video fragments and the notes
