"""Fragmented MP4: init segments and fragments round trip, and bad boxes are refused."""
# Issue 12 (real footage): a chunk is one CMAF-style fragment, the recording's init segment
# its own entry; the reader must never trust a declared size.

from protocol.mp4 import (
    FLAGS_NON_SYNC,
    FLAGS_SYNC,
    HANDLER_AUDIO,
    HANDLER_TEXT,
    HANDLER_VIDEO,
    Mp4Error,
    Run,
    Sample,
    SampleRef,
    Track,
    fragment,
    fragment_spans,
    init_segment,
    read_fragment,
    read_init,
    text_sample,
    top_boxes,
    track_samples,
    uuid_box,
    uuid_payloads,
)
from tests.portable import raises

AVCC = bytes.fromhex(
    "0164001effe1001a6764001eacd940a42fe22484000003000400000300f03c58b65801000668ebe3cb22c0"
)
ASC = bytes.fromhex("1210")  # AAC-LC, 44.1 kHz, stereo


def tracks():
    return [
        Track(1, HANDLER_VIDEO, 90000, "avc1", AVCC, width=642, height=362),
        Track(2, HANDLER_AUDIO, 44100, "mp4a", ASC, channels=2, sample_rate=44100),
        Track(3, HANDLER_TEXT, 1000, "tx3g", width=642, height=362),
    ]


def u32(n):
    return n.to_bytes(4, "big")


def box(kind, payload):
    return u32(8 + len(payload)) + kind + payload


def test_init_segment_round_trips_every_codec():
    # issue 12: video avc1/hvc1/jpeg, audio mp4a, the exporter's tx3g note track
    ts = tracks()
    ts.extend(
        [
            Track(4, HANDLER_VIDEO, 90000, "hvc1", b"\x01" + bytes(22), width=1920, height=1080),
            Track(5, HANDLER_VIDEO, 90000, "jpeg", width=320, height=240),
        ]
    )
    data = init_segment(ts)
    assert [b[0] for b in top_boxes(data)] == ["ftyp", "moov"]
    assert data[8:12] == b"iso6"
    assert read_init(data) == ts


def test_init_segment_layout():
    data = init_segment(tracks())
    for kind in (
        b"mvex",
        b"trex",
        b"avcC",
        b"esds",
        b"tx3g",
        b"ftab",
        b"vmhd",
        b"smhd",
        b"nmhd",
        b"sbtl",
    ):
        assert data.find(kind) > 0, kind
    # the AudioSpecificConfig sits inside a DecSpecificInfo descriptor (tag 5)
    assert data.find(b"\x05\x02" + ASC) > 0


def test_init_segment_refuses_what_it_cannot_write():
    raises(Mp4Error, init_segment, [])
    raises(Mp4Error, init_segment, [Track(0, HANDLER_TEXT, 1000, "tx3g")])
    raises(Mp4Error, init_segment, [Track(1, HANDLER_AUDIO, 1000, "avc1", AVCC)])
    raises(Mp4Error, init_segment, [Track(1, HANDLER_VIDEO, 90000, "avc1")])  # no avcC
    raises(Mp4Error, init_segment, [Track(1, HANDLER_VIDEO, 90000, "vp09", b"x")])
    raises(Mp4Error, init_segment, [Track(1, HANDLER_TEXT, 0, "tx3g")])
    two = [Track(1, HANDLER_TEXT, 1000, "tx3g"), Track(1, HANDLER_TEXT, 1000, "tx3g")]
    raises(Mp4Error, init_segment, two)


def frag():
    video = [Sample(b"key", 3000, True), Sample(b"p1", 3000, False), Sample(b"p22", 2990, False)]
    audio = [Sample(b"a" * 5, 1024), Sample(b"b" * 6, 1024)]
    return fragment(7, [Run(1, 90000, video), Run(2, 44100, audio)])


def test_fragment_round_trips():
    data = frag()
    assert [b[0] for b in top_boxes(data)] == ["moof", "mdat"]
    seq, refs = read_fragment(data)
    assert seq == 7
    mdat = top_boxes(data)[1][1] + 8
    assert refs == [
        SampleRef(1, 90000, 3000, True, 0, mdat, 3),
        SampleRef(1, 93000, 3000, False, 0, mdat + 3, 2),
        SampleRef(1, 96000, 2990, False, 0, mdat + 5, 3),
        SampleRef(2, 44100, 1024, True, 0, mdat + 8, 5),
        SampleRef(2, 45124, 1024, True, 0, mdat + 13, 6),
    ]
    assert track_samples(data, 1) == [b"key", b"p1", b"p22"]
    assert track_samples(data, 2) == [b"aaaaa", b"bbbbbb"]
    assert track_samples(data, 3) == []
    # CMAF sample flags: depends on nothing / depends on others and non-sync
    assert data.find(u32(FLAGS_SYNC)) > 0 and data.find(u32(FLAGS_NON_SYNC)) > 0


def test_composition_offsets_only_when_needed():
    plain = fragment(1, [Run(1, 0, [Sample(b"x", 1)])])
    assert plain.find(b"trun") > 0
    # trun flags: data offset, duration, size, flags; no composition offsets
    at = plain.find(b"trun")
    assert plain[at + 4 : at + 8] == b"\x00\x00\x07\x01"
    reordered = fragment(1, [Run(1, 0, [Sample(b"x", 10, True, 20), Sample(b"y", 10, False, -10)])])
    at = reordered.find(b"trun")
    assert reordered[at + 4 : at + 8] == b"\x01\x00\x0f\x01"  # version 1: signed offsets
    refs = read_fragment(reordered)[1]
    assert [r.cto for r in refs] == [20, -10]


def test_text_samples():
    assert text_sample("") == b"\x00\x00"
    assert text_sample("暂停 / Paused") == b"\x00\x0f" + "暂停 / Paused".encode()
    data = fragment(
        9, [Run(3, 5000, [Sample(text_sample("Paused"), 1500), Sample(text_sample(""), 10)])]
    )
    assert track_samples(data, 3) == [b"\x00\x06Paused", b"\x00\x00"]


def test_fragment_refuses_bad_values():
    raises(Mp4Error, fragment, 1, [])
    raises(Mp4Error, fragment, -1, [Run(1, 0, [])])
    raises(Mp4Error, fragment, 1, [Run(1, -5, [])])
    raises(Mp4Error, fragment, 1, [Run(1, 0, [Sample(b"", -1)])])
    raises(Mp4Error, fragment, 1, [Run(1, 0, [Sample(b"", 1, True, 1 << 40)])])


def test_box_past_its_parent_is_refused():
    data = frag()
    e = raises(Mp4Error, top_boxes, data[:-1])
    assert "past the end" in str(e)
    # the moof says it is longer than it is: its last child now runs past it
    moof_size = int.from_bytes(data[:4], "big")
    bad = u32(moof_size - 4) + data[4:]
    raises(Mp4Error, read_fragment, bad)
    raises(Mp4Error, top_boxes, b"\x00\x00\x00\x04moov")  # smaller than its header
    raises(Mp4Error, top_boxes, b"\x00\x00\x00\x08mo")  # header cut short


def test_sizes_zero_and_one():
    # size 0: to the end of the file; size 1: a 64-bit size follows
    assert top_boxes(b"\x00\x00\x00\x00mdatabc") == [("mdat", 0, 11)]
    large = u32(1) + b"mdat" + (19).to_bytes(8, "big") + b"xyz"
    assert top_boxes(large) == [("mdat", 0, 19)]
    raises(Mp4Error, top_boxes, u32(1) + b"mdat" + (99).to_bytes(8, "big") + b"xyz")
    raises(Mp4Error, top_boxes, u32(1) + b"mdat" + b"\x00\x00")


def test_samples_past_the_mdat_are_refused():
    data = frag()
    top = top_boxes(data)
    mdat_start = top[1][1]
    short = data[:mdat_start] + box(b"mdat", data[mdat_start + 8 : -1])
    e = raises(Mp4Error, read_fragment, short)
    assert "outside every mdat" in str(e)
    raises(Mp4Error, read_fragment, data[:mdat_start])  # no mdat at all


def test_a_trun_claiming_more_samples_than_it_holds():
    data = bytearray(frag())
    at = data.find(b"trun") + 8
    data[at : at + 4] = u32(0x7FFFFFFF)
    e = raises(Mp4Error, read_fragment, bytes(data))
    assert "more than its box holds" in str(e)


def test_reader_needs_moov_and_moof():
    raises(Mp4Error, read_init, frag())
    raises(Mp4Error, read_fragment, init_segment(tracks()))
    raises(Mp4Error, read_init, b"")
    raises(Mp4Error, read_fragment, frag() + frag())  # two fragments: read one at a time


def test_defaults_from_tfhd_and_trex():
    # ffmpeg style: tfhd carries default duration/size/flags, the trun only sizes;
    # a track's trex defaults apply where the tfhd has none.
    tfhd = box(b"tfhd", u32(0x020000 | 0x08 | 0x20) + u32(1) + u32(512) + u32(FLAGS_NON_SYNC))
    tfdt = box(b"tfdt", u32(0) + u32(1000))  # version 0: 32-bit time
    trun_body = u32(0x000205) + u32(2) + u32(0) + u32(FLAGS_SYNC) + u32(2) + u32(3)
    trun = box(b"trun", trun_body)
    mfhd = box(b"mfhd", u32(0) + u32(4))
    size = 8 + len(mfhd) + 8 + len(tfhd) + len(tfdt) + len(trun)
    offset = size + 8
    trun = box(b"trun", trun_body[:8] + u32(offset) + trun_body[12:])
    moof = box(b"moof", mfhd + box(b"traf", tfhd + tfdt + trun))
    data = moof + box(b"mdat", b"abcde")
    seq, refs = read_fragment(data)
    assert seq == 4
    assert refs == [
        SampleRef(1, 1000, 512, True, 0, offset, 2),
        SampleRef(1, 1512, 512, False, 0, offset + 2, 3),
    ]
    # without tfhd defaults: trex, else duration 0 and sync
    tfhd = box(b"tfhd", u32(0x020000) + u32(1))

    def bare(offset):
        trun = box(b"trun", u32(0x000201) + u32(1) + u32(offset) + u32(5))
        return box(b"moof", mfhd + box(b"traf", tfhd + tfdt + trun))

    data = bare(len(bare(0)) + 8) + box(b"mdat", b"abcde")
    assert read_fragment(data)[1][0].duration == 0 and read_fragment(data)[1][0].sync
    t = Track(1, HANDLER_VIDEO, 90000, "jpeg")
    t.default_duration = 3000
    t.default_flags = FLAGS_NON_SYNC
    ref = read_fragment(data, [t])[1][0]
    assert ref.duration == 3000 and not ref.sync
    assert track_samples(data, 1, [t]) == [b"abcde"]


def test_trex_defaults_are_read():
    data = bytearray(init_segment(tracks()))
    at = data.find(b"trex") + 16  # after version/flags, track_id, description index
    data[at : at + 4] = u32(3000)
    assert read_init(bytes(data))[0].default_duration == 3000


def test_fragment_spans_split_a_whole_file():
    # issue 12: an export is init + fragments + notes + a uuid box; verify splits it
    init = init_segment(tracks())
    one, two = frag(), fragment(8, [Run(1, 0, [Sample(b"k", 3000)])])
    evidence = box(b"uuid", bytes(16) + b"cbor")
    data = init + one + two + evidence
    spans = fragment_spans(data)
    assert [data[s:e] for s, e in spans] == [one, two]
    assert read_init(data) == tracks()
    assert fragment_spans(init) == []
    raises(Mp4Error, fragment_spans, init + one[: top_boxes(one)[1][1]])  # moof, no mdat


def test_uuid_boxes():
    # issue 12: the export's evidence travels in a uuid box of our own, placed last
    kind = bytes(range(16))
    data = init_segment(tracks()) + frag() + uuid_box(kind, b"evidence")
    assert top_boxes(data)[-1][0] == "uuid"
    assert uuid_payloads(data, kind) == [b"evidence"]
    assert uuid_payloads(data, bytes(16)) == []
    raises(Mp4Error, uuid_box, b"short", b"")
    raises(Mp4Error, uuid_payloads, uuid_box(kind, b"evidence")[:-1], kind)


def test_init_segments_with_unusable_tracks_are_refused():
    # a timescale of 0 would divide by zero in every reader of times; ids key the fragments
    data = bytearray(init_segment(tracks()))
    at = data.find(b"mdhd") + 4 + 12  # after version/flags, creation, modification
    data[at : at + 4] = u32(0)
    raises(Mp4Error, read_init, bytes(data))
    data = bytearray(init_segment(tracks()))
    second = data.find(b"tkhd", data.find(b"tkhd") + 4) + 4 + 12
    data[second : second + 4] = u32(1)  # the audio track now claims the video track's id
    e = raises(Mp4Error, read_init, bytes(data))
    assert "appears twice" in str(e)


def test_a_sample_entry_may_end_in_zero_padding():
    # QuickTime-style muxers end a sample entry with four zero bytes after its boxes
    data = init_segment(tracks()[:1])
    at = data.find(b"avc1") - 4
    size = int.from_bytes(data[at : at + 4], "big")
    end = at + size
    padded = bytearray(data[:end] + bytes(4) + data[end:])
    for kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1"):
        where = padded.find(kind) - 4
        padded[where : where + 4] = u32(int.from_bytes(padded[where : where + 4], "big") + 4)
    assert read_init(bytes(padded)) == tracks()[:1]
    padded[end + 2] = 1  # not padding: stray bytes
    raises(Mp4Error, read_init, bytes(padded))


# --- the edit list (B-frames' start delay) ---------------------------------------------------


def test_a_track_with_a_start_writes_one_edit_and_reads_it_back():
    # Issue 12 (B-frames): the first picture shows at time zero via edts/elst.
    t = tracks()
    t[0].media_time = 6000
    t[1].media_time = 2940
    data = init_segment(t)
    back = read_init(data)
    assert [x.media_time for x in back] == [6000, 2940, 0] and back == t
    assert data.find(b"tkhd") < data.find(b"edts") < data.find(b"mdia")  # in the first trak
    assert data.count(b"elst") == 2  # none for the text track that starts at 0


def test_a_track_starting_at_zero_has_no_edit_list():
    assert b"edts" not in init_segment(tracks())


def test_an_edit_list_the_reader_does_not_follow_is_no_reason_to_refuse():
    # read_init stays tolerant: an edit list only lines a track up, it is never signed data.
    good = init_segment(tracks())
    at = good.find(b"mdia") - 4
    for elst in (
        b"\x00\x00\x00\x00",  # cut short
        b"\x02" + bytes(3) + u32(1) + bytes(20),  # unknown version
        bytes(4)
        + u32(2)  # two edits: empty (-1), then the track from 12
        + u32(0)
        + u32(0xFFFFFFFF)
        + u32(0x10000)
        + u32(0)
        + u32(12)
        + u32(0x10000),
    ):
        edts = box(b"edts", box(b"elst", elst))
        data = bytearray(good[:at] + edts + good[at:])
        # grow moov and the first trak by the edts
        for kind in (b"moov", b"trak"):
            p = data.find(kind) - 4
            data[p : p + 4] = u32(int.from_bytes(data[p : p + 4], "big") + len(edts))
        got = read_init(bytes(data))
        assert len(got) == 3 and got[0].media_time in (0, 12)
    assert got[0].media_time == 12  # an empty edit (-1) first, then the track from 12


def test_a_media_time_that_does_not_fit_an_edit_is_refused():
    t = tracks()
    t[0].media_time = 1 << 31
    assert raises(Mp4Error, init_segment, t)
