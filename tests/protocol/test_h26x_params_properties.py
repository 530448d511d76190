"""Properties of reading an SPS over its VUI, and of ``decoding_key``: random valid field
values written by a bit writer of the spec's syntax (tests/protocol/spswriter.py) are read
back as written, two SPSs decode alike exactly when they are the same but for their VUI,
and no bytes make the reader fail other than with its own H26xError."""
# micropython: skip (hypothesis is CPython-only)
# Issue 12 "A vendor's hardware encoder": a harmless change of the encoder's SPS (its VUI)
# must not end a recording, and a change in what decoding reads must (R-DEV-2: every
# signed picture decodes as it was encoded).

from hypothesis import given
from hypothesis import strategies as st

from protocol import h26x
from protocol.h26x import H26xError, decoding_key, read_sps
from tests.protocol.spswriter import AVC_HIGH, avc_sps, hevc_sps, rps_deltas

U8 = st.integers(0, 255)
SMALL = st.integers(0, 40)
ORDER = st.tuples(
    st.integers(0, 15), st.integers(0, 15), st.integers(0, 9)
)  # dpb, reorder, latency


# --- H.264 --------------------------------------------------------------------------------


@st.composite
def avc_fields(draw) -> dict:
    profile = draw(st.sampled_from([66, 77, 88, 100, 110, 122, 244]))
    f = {
        "profile": profile,
        "constraints": draw(U8),
        "level": draw(st.sampled_from([10, 11, 20, 30, 31, 40, 41, 51])),
        "sps_id": draw(st.integers(0, 31)),
        "frame_num_bits": draw(st.integers(4, 16)),
        "poc_type": draw(st.integers(0, 2)),
        "poc_lsb_bits": draw(st.integers(4, 16)),
        "ref_frames": draw(st.integers(0, 16)),
        "width_mbs": draw(st.integers(1, 240)),
        "height_units": draw(st.integers(1, 135)),
        "frame_mbs_only": draw(st.integers(0, 1)),
        "offset_non_ref": draw(st.integers(-5, 5)),
        "cycle": draw(st.lists(st.integers(-3, 3), max_size=4)),
    }
    if profile in AVC_HIGH:
        f["chroma"] = draw(st.integers(0, 2))
        f["depth_luma"] = draw(st.integers(8, 14))
        f["depth_chroma"] = draw(st.integers(8, 14))
        f["bypass"] = draw(st.integers(0, 1))
        if draw(st.booleans()):
            # 8 matrices (4:2:0): present ones as deltas; a 0 delta ends a list early
            f["scaling"] = [
                draw(st.none() | st.lists(st.integers(1, 9), min_size=16 if i < 6 else 64,
                                          max_size=16 if i < 6 else 64))
                for i in range(8)
            ]  # fmt: skip
    f["crop"] = draw(st.none() | st.tuples(*[st.integers(0, 2)] * 4))
    return f


@st.composite
def avc_vui(draw) -> "dict | None":
    if draw(st.booleans()):
        return None
    hrd = st.none() | st.lists(st.tuples(SMALL, SMALL, st.integers(0, 1)), min_size=1, max_size=3)
    return {
        "aspect": draw(st.none() | st.sampled_from([1, 2, 14, 255])),
        "overscan": draw(st.none() | st.integers(0, 1)),
        "signal": draw(
            st.none()
            | st.tuples(st.integers(0, 5), st.integers(0, 1), st.none() | st.tuples(U8, U8, U8))
        ),
        "chroma_loc": draw(st.none() | st.tuples(st.integers(0, 5), st.integers(0, 5))),
        "timing": draw(
            st.none()
            | st.tuples(st.integers(1, 1 << 20), st.integers(1, 1 << 31), st.integers(0, 1))
        ),
        "nal_hrd": draw(hrd),
        "vcl_hrd": draw(hrd),
        "low_delay": draw(st.integers(0, 1)),
        "pic_struct": draw(st.integers(0, 1)),
        "restriction": draw(st.none() | st.tuples(st.integers(0, 16), st.integers(0, 16))),
    }


def avc_size(f: dict) -> tuple:
    """The picture size H.264 §7.4.2.1.1 gives, computed here apart from the parser."""
    chroma = f.get("chroma", 1)
    mbs_only = f["frame_mbs_only"]
    if chroma == 0:
        unit_x, unit_y = 1, 2 - mbs_only
    else:
        unit_x = 1 if chroma == 3 else 2
        unit_y = (2 if chroma == 1 else 1) * (2 - mbs_only)
    crop = f["crop"] or (0, 0, 0, 0)
    width = f["width_mbs"] * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - mbs_only) * f["height_units"] * 16 - unit_y * (crop[2] + crop[3])
    return width, height


@given(avc_fields(), avc_vui())
def test_an_h264_sps_reads_back_as_written(f, vui):
    nal = avc_sps(f, vui)
    s = read_sps(nal, "avc1")
    assert (s.profile, s.sps_id, s.frame_num_bits, s.poc_type) == (
        f["profile"], f["sps_id"], f["frame_num_bits"], f["poc_type"],
    )  # fmt: skip
    if f["poc_type"] == 0:
        assert s.poc_lsb_bits == f["poc_lsb_bits"]
    assert s.frame_mbs_only == f["frame_mbs_only"]
    if f["profile"] in AVC_HIGH:
        assert (s.chroma_format_idc, s.bit_depth_luma, s.bit_depth_chroma) == (
            f["chroma"], f["depth_luma"], f["depth_chroma"],
        )  # fmt: skip
    assert (s.width, s.height) == avc_size(f)
    restriction = vui.get("restriction") if vui else None
    assert s.reorder == (restriction[0] if restriction else -1)
    # The VUI was read to its end: only the stop bit and its padding follow.
    rbsp = h26x.unescape(nal[1:])
    assert s.vui_end == (len(rbsp) - 1) * 8 + 7 - _trailing_zeros(rbsp[-1])


@given(avc_fields(), avc_fields(), avc_vui(), avc_vui(), st.sampled_from([0x67, 0x27, 0x47]))
def test_two_h264_spss_decode_alike_exactly_when_only_their_vui_differs(f, g, vui, other, head):
    # The SPS as written without a VUI is what decoding reads; the key says the same.
    same = avc_sps(f) == avc_sps(g)
    assert (
        decoding_key(avc_sps(f, vui), "avc1") == decoding_key(avc_sps(g, other, head), "avc1")
    ) == same


@given(avc_fields(), avc_vui(), st.integers(0, 3))
def test_the_same_h264_sps_written_otherwise_has_the_same_key(f, vui, words):
    nal = avc_sps(f, vui)
    # cabac_zero_words (00 00, escaped as 00 00 03) and zero bytes after the trailing bits
    padded = nal + b"\x00\x00\x03" * words + b"\x00" * (words & 1)
    assert decoding_key(padded, "avc1") == decoding_key(nal, "avc1")


# --- H.265 --------------------------------------------------------------------------------


@st.composite
def hevc_rps(draw) -> list:
    """Reference picture sets, each explicit or predicted from the one before (its deltas
    as the spec derives them, so that a chain of predictions is written right)."""
    sets: list = []
    deltas = None  # type: tuple | None
    for i in range(draw(st.integers(0, 8))):
        if (
            i
            and deltas is not None
            and len(deltas[0]) + len(deltas[1]) < 16
            and draw(st.booleans())
        ):
            count = len(deltas[0]) + len(deltas[1]) + 1  # NumDeltaPocs of the one before, + 1
            flags = draw(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)),
                                  min_size=count, max_size=count))  # fmt: skip
            entry: tuple = ("inter", draw(st.integers(0, 1)), draw(st.integers(0, 2)), flags)
        else:
            # small gaps: a predicted delta of zero, which counts for nothing, comes often
            gaps = st.lists(st.integers(0, 1), max_size=4)
            entry = ("explicit", draw(gaps), draw(gaps))
        deltas = rps_deltas(entry, deltas)
        if len(deltas[0]) > 16 or len(deltas[1]) > 16:
            break  # no stream may hold more
        sets.append(entry)
    return sets


@st.composite
def hevc_extension(draw) -> list:
    """The bits after sps_extension_present_flag of an SPS with the extensions whose size
    is fixed (range: nine flags; multilayer: one), or none."""
    if draw(st.booleans()):
        return []
    range_ext, multilayer = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    bits = [range_ext, multilayer, 0, 0, 0, 0, 0, 0]
    if range_ext:
        bits += draw(st.lists(st.integers(0, 1), min_size=9, max_size=9))
    if multilayer:
        bits.append(draw(st.integers(0, 1)))
    return bits


@st.composite
def hevc_fields(draw) -> dict:
    sub_layers = draw(st.integers(1, 3))
    poc_bits = draw(st.integers(4, 16))
    f = {
        "vps_id": draw(st.integers(0, 15)),
        "sub_layers": sub_layers,
        "nesting": draw(st.integers(0, 1)),
        "ptl": bytes(draw(st.lists(U8, min_size=12, max_size=12))),
        "sps_id": draw(st.integers(0, 15)),
        "chroma": draw(st.integers(0, 2)),
        # Over 8: a conformance window of at most 2 units a side, 2 samples a unit, leaves
        # a picture (an SPS that crops it to nothing is refused, as it should be).
        "width": draw(st.integers(9, 4096)),
        "height": draw(st.integers(9, 2304)),
        "crop": draw(st.none() | st.tuples(*[st.integers(0, 2)] * 4)),
        "depth_luma": draw(st.integers(8, 12)),
        "depth_chroma": draw(st.integers(8, 12)),
        "poc_lsb_bits": poc_bits,
        "ordering": draw(
            st.lists(ORDER, min_size=1, max_size=1)
            | st.lists(ORDER, min_size=sub_layers, max_size=sub_layers)
        ),
        "blocks": tuple(draw(st.lists(st.integers(0, 3), min_size=6, max_size=6))),
        "amp_sao": draw(st.integers(0, 3)),
        "pcm": draw(st.none() | st.tuples(st.integers(0, 2), st.integers(0, 2))),
        "rps": draw(hevc_rps()),
        "long_term": draw(st.none() | st.lists(st.integers(0, (1 << poc_bits) - 1), max_size=4)),
        "mvp_smoothing": draw(st.integers(0, 3)),
        "extension": draw(hevc_extension()),
    }
    if draw(st.booleans()):
        matrices = []
        for size_id in range(4):
            for _ in range(0, 6, 3 if size_id == 3 else 1):
                n = min(64, 1 << (4 + 2 * size_id)) + 1
                deltas = st.lists(st.integers(-7, 7), min_size=n, max_size=n)
                matrices.append((size_id, draw(st.none() | deltas)))
        f["scaling"] = draw(st.sampled_from([[], matrices]))
    return f


@st.composite
def hevc_vui(draw) -> "dict | None":
    if draw(st.booleans()):
        return None
    layer = st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), st.integers(1, 3))
    hrd = st.none() | st.fixed_dictionaries(
        {
            "nal": st.integers(0, 1),
            "vcl": st.integers(0, 1),
            "sub_pic": st.integers(0, 1),
            "layers": st.lists(layer, min_size=3, max_size=3),
        }
    )
    return {
        "aspect": draw(st.none() | st.sampled_from([1, 3, 255])),
        "overscan": draw(st.none() | st.integers(0, 1)),
        "signal": draw(
            st.none()
            | st.tuples(st.integers(0, 5), st.integers(0, 1), st.none() | st.tuples(U8, U8, U8))
        ),
        "chroma_loc": draw(st.none() | st.tuples(st.integers(0, 5), st.integers(0, 5))),
        "field_flags": draw(st.integers(0, 7)),
        "window": draw(st.none() | st.tuples(*[st.integers(0, 4)] * 4)),
        "timing": draw(
            st.none()
            | st.tuples(st.integers(1, 1 << 20), st.integers(1, 1 << 31), st.none() | SMALL)
        ),
        "hrd": draw(hrd),
        "restriction": draw(st.none() | st.tuples(*[st.integers(0, 16)] * 5)),
    }


def hevc_size(f: dict) -> tuple:
    chroma = f["chroma"]
    sub_w = 2 if chroma in (1, 2) else 1
    sub_h = 2 if chroma == 1 else 1
    crop = f["crop"] or (0, 0, 0, 0)
    return f["width"] - sub_w * (crop[0] + crop[1]), f["height"] - sub_h * (crop[2] + crop[3])


@given(hevc_fields(), hevc_vui())
def test_an_h265_sps_reads_back_as_written(f, vui):
    nal = hevc_sps(f, vui)
    s = read_sps(nal, "hvc1")
    assert (s.sps_id, s.chroma_format_idc, s.bit_depth_luma, s.bit_depth_chroma) == (
        f["sps_id"], f["chroma"], f["depth_luma"], f["depth_chroma"],
    )  # fmt: skip
    assert s.max_sub_layers == f["sub_layers"] and s.general_ptl == f["ptl"]
    assert (s.width, s.height) == hevc_size(f)
    assert s.poc_lsb_bits == f["poc_lsb_bits"] and s.reorder == f["ordering"][-1][1]
    deltas: list = []
    for entry in f["rps"]:
        deltas.append(rps_deltas(entry, deltas[-1] if deltas else None))
    assert [(list(n), list(p)) for n, p in s.ref_pic_sets] == deltas
    # The VUI was read to its end: the extension flag and its bits, then the stop bit.
    rbsp = h26x.unescape(nal[2:])
    stop = (len(rbsp) - 1) * 8 + 7 - _trailing_zeros(rbsp[-1])
    assert 0 <= s.vui_at < s.vui_end == stop - 1 - len(f["extension"])


@given(
    hevc_fields(),
    hevc_fields(),
    hevc_vui(),
    hevc_vui(),
    st.sampled_from([b"\x42\x01", b"\x42\x02"]),
)
def test_two_h265_spss_decode_alike_exactly_when_only_their_vui_differs(f, g, vui, other, head):
    same = hevc_sps(f) == hevc_sps(g)
    assert (
        decoding_key(hevc_sps(f, vui), "hvc1") == decoding_key(hevc_sps(g, other, head), "hvc1")
    ) == same


@given(hevc_fields(), hevc_vui(), hevc_vui(), st.lists(st.integers(0, 1), max_size=12))
def test_an_h265_sps_that_does_not_end_where_its_read_ends_is_compared_whole(f, vui, other, tail):
    # R-DEV-2: an SPS whose extension bits are not all read (a 3D or SCC extension, a
    # reserved one, bits the reading did not expect) may have been misread before its VUI,
    # so the VUI's window is not left out: two such SPSs match only bit for bit.
    g = dict(f, extension=[0, 0, 0, 1, 0, 0, 0, 0, *tail])  # sps_scc_extension_flag, then data
    a, b = hevc_sps(g, vui), hevc_sps(g, other)
    assert (decoding_key(a, "hvc1") == decoding_key(b, "hvc1")) == (a == b)


@given(hevc_fields(), hevc_vui(), st.integers(0, 3))
def test_the_same_h265_sps_written_otherwise_has_the_same_key(f, vui, words):
    nal = hevc_sps(f, vui)
    padded = nal + b"\x00\x00\x03" * words + b"\x00" * (words & 1)
    assert decoding_key(padded, "hvc1") == decoding_key(nal, "hvc1")


# --- anything ------------------------------------------------------------------------------


@given(
    st.sampled_from([b"\x67", b"\x68", b"\x42\x01", b"\x44\x01", b"\x40\x01"]),
    st.binary(max_size=80),
)
def test_any_bytes_behind_a_parameter_set_header_give_a_key_or_one_clear_error(head, body):
    codec = "hvc1" if len(head) == 2 else "avc1"
    try:
        assert decoding_key(head + body, codec)
    except H26xError:
        pass


@given(avc_fields(), avc_vui(), hevc_fields(), hevc_vui(), st.data())
def test_a_cut_or_damaged_sps_gives_a_key_or_one_clear_error(f, vui, g, hvui, data):
    for nal, codec in ((avc_sps(f, vui), "avc1"), (hevc_sps(g, hvui), "hvc1")):
        cut = data.draw(st.integers(1, len(nal)))
        at = data.draw(st.integers(0, len(nal) - 1))
        flip = data.draw(st.integers(1, 255))
        for bad in (nal[:cut], nal[:at] + bytes((nal[at] ^ flip,)) + nal[at + 1 :]):
            try:
                assert decoding_key(bad, codec)
            except H26xError:
                pass


@given(st.sampled_from(["avc1", "hvc1"]), st.binary(max_size=120))
def test_any_decoder_configuration_record_gives_its_sets_or_one_clear_error(codec, config):
    try:
        sets = h26x.config_sets(config, codec)
    except H26xError:
        return
    assert all(isinstance(n, bytes) and n for n in sets)


def _trailing_zeros(c: int) -> int:
    n = 0
    while not c >> n & 1:
        n += 1
    return n
