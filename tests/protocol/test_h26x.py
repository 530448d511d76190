"""H.264/H.265: Annex B and MP4 samples, NAL types, avcC/hvcC, SPS sizes, access units."""
# Issue 12 (real footage): encoder output (Annex B) becomes MP4 samples and a sample entry.

from protocol.h26x import (
    AVC,
    HEVC,
    AccessUnits,
    H26xError,
    avcc,
    from_sample,
    hvcc,
    is_keyframe,
    is_parameter_set,
    nal_type,
    picture_size,
    sample_nals,
    split_annexb,
    to_sample,
    unescape,
)
from tests.portable import raises

# Parameter sets libx264 and libx265 wrote for 642x362 yuv420p (cropped from 656x368 / 648x368).
AVC_SPS = bytes.fromhex("6764001eacd940a42fe22484000003000400000300f03c58b658")
AVC_PPS = bytes.fromhex("68ebe3cb22c0")
HEVC_VPS = bytes.fromhex("40010c01ffff01600000030090000003000003003f928090")
HEVC_SPS = bytes.fromhex(
    "42010101600000030090000003000003003fa005120171c926592a4932b9a020000003002000000303c1"
)
HEVC_PPS = bytes.fromhex("4401c172b46240")

SC4 = b"\x00\x00\x00\x01"
SC3 = b"\x00\x00\x01"


def avc_stream():
    """Two pictures of two slices each, as x264 lays them out (SEI and IDR first)."""
    idr0 = b"\x65\x88\x84\x00\x10"  # first_mb_in_slice 0 (first bit 1)
    idr1 = b"\x65\x01\xe0\x00\x10"  # first_mb_in_slice > 0 (a second slice)
    p0 = b"\x41\x9a\x21\x6c"
    p1 = b"\x41\x00\x9a\x21"
    return [
        [AVC_SPS, AVC_PPS, b"\x06\x05\x01\x80", idr0, idr1],
        [p0, p1],
        [b"\x09\xf0", p0],  # an access unit delimiter starts one too
        [AVC_SPS, AVC_PPS, idr0],
    ]


def annexb(aus):
    out = b""
    for i, au in enumerate(aus):
        for j, nal in enumerate(au):
            out += (SC4 if (i + j) % 2 else SC3) + nal
    return out


def test_split_annexb():
    assert split_annexb(SC4 + b"\x67\x01" + SC3 + b"\x68\x02\x00\x00" + SC4 + b"\x65") == [
        b"\x67\x01",
        b"\x68\x02",
        b"\x65",
    ]
    assert split_annexb(b"junk" + SC3 + b"\x09\xf0") == [b"\x09\xf0"]
    assert split_annexb(b"") == [] and split_annexb(b"no start code") == []


def test_samples_round_trip():
    nals = [b"\x65\x88", b"\x06" * 300]
    sample = to_sample(nals)
    assert sample == b"\x00\x00\x00\x02\x65\x88\x00\x00\x01\x2c" + b"\x06" * 300
    assert from_sample(sample) == nals
    raises(H26xError, from_sample, sample[:-1])
    raises(H26xError, from_sample, sample + b"\x00\x00")
    raises(H26xError, from_sample, b"\x00\x00\x00\x00")
    assert from_sample(b"") == []


def test_nal_types_and_keyframes():
    assert nal_type(AVC_SPS, AVC) == 7 and is_parameter_set(AVC_PPS, AVC)
    assert nal_type(HEVC_VPS, HEVC) == 32 and is_parameter_set(HEVC_PPS, HEVC)
    assert not is_parameter_set(b"\x65", AVC)
    assert is_keyframe([AVC_SPS, b"\x65\x88"], AVC) and not is_keyframe([b"\x41\x9a"], AVC)
    assert is_keyframe([b"\x28\x01\xaf"], HEVC)  # IDR_N_LP (20)
    assert is_keyframe([b"\x2a\x01\xaf"], HEVC)  # CRA (21)
    assert not is_keyframe([b"\x02\x01\xd0"], HEVC)  # TRAIL_R (1)
    raises(H26xError, nal_type, b"", AVC)
    raises(H26xError, nal_type, b"\x65", "vp09")
    assert sample_nals([b"\x09\xf0", AVC_SPS, AVC_PPS, b"\x65\x88"], AVC) == [b"\x65\x88"]


def test_unescape():
    assert unescape(b"\x00\x00\x03\x01\x00\x00\x03\x00\x00\x03") == b"\x00\x00\x01\x00\x00\x00\x00"
    assert unescape(b"\x01\x02") == b"\x01\x02"


def test_picture_size_applies_cropping():
    # 642x362: the encoders code 656x368 (H.264 macroblocks) / 648x368 (H.265) and crop
    assert picture_size(AVC_SPS, AVC) == (642, 362)
    assert picture_size(HEVC_SPS, HEVC) == (642, 362)
    raises(H26xError, picture_size, AVC_SPS[:8], AVC)
    raises(H26xError, picture_size, HEVC_SPS[:10], HEVC)
    raises(H26xError, picture_size, AVC_PPS, AVC)


def test_avcc():
    record = avcc([AVC_SPS], [AVC_PPS])
    # version 1, High profile, level 3.0, 4-byte lengths, one SPS
    assert record[:6] == b"\x01\x64\x00\x1e\xff\xe1"
    at = 6
    assert record[at : at + 2 + len(AVC_SPS)] == len(AVC_SPS).to_bytes(2, "big") + AVC_SPS
    at += 2 + len(AVC_SPS)
    assert record[at : at + 3 + len(AVC_PPS)] == b"\x01" + len(AVC_PPS).to_bytes(2, "big") + AVC_PPS
    # High profile: chroma format 4:2:0, 8-bit luma and chroma, no SPS extensions
    assert record[at + 3 + len(AVC_PPS) :] == b"\xfd\xf8\xf8\x00"
    raises(H26xError, avcc, [], [AVC_PPS])


def test_hvcc():
    record = hvcc([HEVC_VPS], [HEVC_SPS], [HEVC_PPS])
    # general profile_tier_level copied from the SPS: Main profile, compatibility Main and
    # Main 10, progressive + frame-only constraint flags, level 63 (2.1)
    assert record[:13] == bytes.fromhex("01" + "01" + "60000000" + "900000000000" + "3f")
    assert record[13:15] == b"\xf0\x00" and record[15] == 0xFC
    assert record[16] == 0xFD  # chroma 4:2:0
    assert record[17:19] == b"\xf8\xf8"  # 8-bit
    assert record[21] == 0x0F  # one temporal layer, nested, 4-byte lengths
    assert record[22] == 3  # arrays: VPS, SPS, PPS
    at = 23
    for kind, nal in ((32, HEVC_VPS), (33, HEVC_SPS), (34, HEVC_PPS)):
        assert record[at] == 0x80 | kind
        assert record[at + 1 : at + 5] == b"\x00\x01" + len(nal).to_bytes(2, "big")
        assert record[at + 5 : at + 5 + len(nal)] == nal
        at += 5 + len(nal)
    assert at == len(record)
    raises(H26xError, hvcc, [HEVC_VPS], [], [HEVC_PPS])


def test_access_units_whole_and_bytewise():
    aus = avc_stream()
    data = annexb(aus)
    cut = AccessUnits(AVC)
    whole = cut.feed(data) + cut.end()
    assert [nals for nals, _k in whole] == aus
    assert [k for _n, k in whole] == [True, False, False, True]
    assert cut.sps == [AVC_SPS] and cut.pps == [AVC_PPS]
    cut = AccessUnits(AVC)
    pieces = []
    for i in range(len(data)):
        pieces += cut.feed(data[i : i + 1])
    assert pieces + cut.end() == whole


def test_access_units_hevc():
    idr = b"\x26\x01\xaf\x11"  # IDR_W_RADL, first_slice_segment_in_pic_flag 1
    trail = b"\x02\x01\xd0\x11"
    second_slice = b"\x02\x01\x40\x11"  # first_slice_segment_in_pic_flag 0
    aus = [[HEVC_VPS, HEVC_SPS, HEVC_PPS, b"\x4e\x01\x05", idr], [trail, second_slice], [trail]]
    cut = AccessUnits(HEVC)
    got = cut.feed(annexb(aus)) + cut.end()
    assert got == [(aus[0], True), (aus[1], False), (aus[2], False)]
    assert cut.vps == [HEVC_VPS] and cut.sps == [HEVC_SPS]


def test_access_units_bound_an_endless_unit():
    cut = AccessUnits(AVC, max_au=100)
    cut.feed(SC3 + b"\x65\x88")
    raises(H26xError, cut.feed, b"\x01" * 200)
