"""What decoding reads in a parameter set (``h26x.decoding_key``), on SPSs that x264 and x265
wrote (through PyAV) with and without a colour description, an HRD or another level: a
new VUI decodes alike, a new level does not; and the SPS bit writer the property tests use,
checked against them."""
# Issue 12 "A vendor's hardware encoder": a harmless change of the encoder's SPS (its VUI)
# does not end a recording; R-DEV-2: every signed picture decodes as it was encoded.

from protocol import h26x
from protocol.h26x import H26xError, config_sets, decoding_key, read_sps
from tests.protocol.spswriter import avc_sps, escape, hevc_sps

# x264 (ultrafast, keyint=15, 160x96): as it is; with colorprim/transfer/colormatrix bt709;
# with sar=4/3 and full range; at level 4.1; with an NAL HRD (vbv: level 1.3 too).
X264 = bytes.fromhex("6742c00bda0a3684000003000400000300f03c50aa80")
X264_COLOUR = bytes.fromhex("6742c00bda0a369a808080a0000003002000000781e28554")
X264_SAR = bytes.fromhex("6742c00bda0a36c384000003000400000300f03c50aa80")
X264_LEVEL = bytes.fromhex("6742c029da0a3684000003000400000300f03c60ca80")
X264_HRD = bytes.fromhex("6742c00dda0a3684000003000400000300f1808007a10001e84a4820078a1550")
# x265 the same way: as it is; with a colour description; with an HRD (and another level).
X265 = bytes.fromhex(
    "42010101600000030090000003000003001ea01420616595952930b9a020000003002000000303c1"
)
X265_COLOUR = bytes.fromhex(
    "42010101600000030090000003000003001ea01420616595952930b9a808080820000003002000000303c1"
)
X265_HRD = bytes.fromhex(
    "42010101600000030090000003000003003ca01420616595952930b9a020000003002000000303cc01"
    "91cdc003d08000f42440"
)


def _stop(nal: bytes, head: int) -> int:
    rbsp = h26x.unescape(nal[head:])
    at = len(rbsp) - 1
    low = 0
    while not rbsp[at] >> low & 1:
        low += 1
    return 8 * at + 7 - low


def test_an_x264_sps_that_changes_only_its_vui_decodes_alike():
    key = decoding_key(X264, "avc1")
    assert decoding_key(X264_COLOUR, "avc1") == key
    assert decoding_key(X264_SAR, "avc1") == key
    assert decoding_key(X264_LEVEL, "avc1") != key
    assert decoding_key(X264_HRD, "avc1") != key  # its level differs: not only the VUI


def test_an_x265_sps_that_changes_only_its_vui_decodes_alike():
    key = decoding_key(X265, "hvc1")
    assert decoding_key(X265_COLOUR, "hvc1") == key
    assert decoding_key(X265_HRD, "hvc1") != key


def test_every_real_sps_is_read_over_its_vui_to_its_end():
    for nal in (X264, X264_COLOUR, X264_SAR, X264_LEVEL, X264_HRD):
        s = read_sps(nal, "avc1")
        assert 0 < s.vui_at < s.vui_end == _stop(nal, 1)
    for nal in (X265, X265_COLOUR, X265_HRD):
        s = read_sps(nal, "hvc1")
        assert 0 < s.vui_at < s.vui_end == _stop(nal, 2) - 1  # then sps_extension_present_flag
        assert (s.width, s.height) == (160, 96)


def _with_tail(nal: bytes, head: int, bits: str) -> bytes:
    """``nal`` with ``bits`` (a string of 0 and 1) put between its data and its stop bit."""
    rbsp = h26x.unescape(nal[head:])
    stop = _stop(nal, head)
    data = "".join(f"{c:08b}" for c in rbsp)[:stop] + bits + "1"
    data += "0" * (-len(data) % 8)
    return nal[:head] + escape(bytes(int(data[i : i + 8], 2) for i in range(0, len(data), 8)))


def test_an_sps_with_bits_after_where_its_read_ends_is_compared_whole():
    # R-DEV-2: an SPS read wrong before its VUI does not end where the reading ends; the
    # window taken for its VUI may then hold fields decoding uses, so it is not left out
    # and two such SPSs that differ anywhere differ.
    assert decoding_key(_with_tail(X264, 1, "0110"), "avc1") != decoding_key(
        _with_tail(X264_COLOUR, 1, "0110"), "avc1"
    )
    assert decoding_key(_with_tail(X265, 2, "1011"), "hvc1") != decoding_key(
        _with_tail(X265_COLOUR, 2, "1011"), "hvc1"
    )
    # Read to its end, the VUI is still left out; H.265's range extension (nine flags) too.
    assert decoding_key(X264, "avc1") == decoding_key(X264_COLOUR, "avc1")
    f = {"ptl": read_sps(X265, "hvc1").general_ptl}
    ranged = dict(f, extension=[1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    assert decoding_key(hevc_sps(ranged, {"timing": (1, 25, None)}), "hvc1") == decoding_key(
        hevc_sps(ranged), "hvc1"
    )


def test_the_same_set_written_with_other_padding_or_header_bits_decodes_alike():
    assert decoding_key(X264 + b"\x00\x00\x03\x00\x00", "avc1") == decoding_key(X264, "avc1")
    assert decoding_key(b"\x27" + X264[1:], "avc1") == decoding_key(X264, "avc1")
    pps = bytes.fromhex("68ce0fc8")
    assert decoding_key(pps + b"\x00", "avc1") == decoding_key(pps, "avc1")
    assert decoding_key(bytes.fromhex("68ce0fc4"), "avc1") != decoding_key(pps, "avc1")


def test_a_slice_or_an_empty_set_is_not_a_parameter_set():
    for nal, codec in ((b"\x65\x88", "avc1"), (b"\x68", "avc1"), (b"\x68\x00\x00", "avc1")):
        try:
            decoding_key(nal, codec)
        except H26xError:
            continue
        raise AssertionError("a key for %s" % nal.hex())


def test_the_sets_of_a_decoder_configuration_record_are_read_back():
    pps = bytes.fromhex("68ce0fc8")
    assert config_sets(h26x.avcc([X264], [pps]), "avc1") == [X264, pps]
    vps = bytes.fromhex("40010c01ffff01600000030090000003000003001e959409")
    hpps = bytes.fromhex("4401c073c189")
    assert config_sets(h26x.hvcc([vps], [X265], [hpps]), "hvc1") == [vps, X265, hpps]
    try:
        config_sets(h26x.avcc([X264], [pps])[:-2], "avc1")
    except H26xError:
        return
    raise AssertionError("a record cut short was read")


def test_the_sps_writer_writes_what_x264_and_x265_write():
    # The property tests' writer, checked on the fields of the encoders' own SPSs.
    x264 = {"profile": 66, "constraints": 0xC0, "level": 11, "frame_num_bits": 4,
            "poc_type": 2, "ref_frames": 1, "width_mbs": 10, "height_units": 6}  # fmt: skip
    vui = {"timing": (1, 60, 0), "restriction": (0, 1, 0, 0, 9, 9)}
    assert avc_sps(x264, vui) == X264
    s = read_sps(X265, "hvc1")
    assert read_sps(hevc_sps({"ptl": s.general_ptl}), "hvc1").general_ptl == s.general_ptl
