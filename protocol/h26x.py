"""H.264 and H.265 bitstreams: what the packager needs to put them in MP4, and no more.

Encoders hand out Annex B: NAL units behind start codes (00 00 01 or 00 00 00 01), with
the parameter sets (VPS/SPS/PPS) in band before each keyframe. MP4 wants each access unit
(one picture's NAL units) as one sample of NAL units behind 4-byte lengths, and the
parameter sets once, in the sample entry's decoder configuration (avcC / hvcC). This
module converts between the two, tells keyframes and parameter sets by NAL type, builds
avcC and hvcC from the parameter sets, reads the picture size from an SPS, and cuts a
stream that arrives in arbitrary pieces into access units (``AccessUnits``), and tells the
order pictures are shown in from their slice headers (``PictureOrder``), so a stream with
B-frames can be given composition offsets.

An SPS is read as far as the fields needed (profile, chroma format, bit depths, size and
cropping, picture order, reordering) and over its VUI, after removing emulation-prevention
bytes; ``decoding_key`` tells whether two parameter sets decode pictures alike (a change in
the VUI alone does not matter). A malformed one raises ``H26xError`` with one line;
nothing reads past the bytes given.

Codec names are the MP4 sample entries: "avc1" for H.264, "hvc1" for H.265.
Pure Python, no ``struct``: runs unchanged under MicroPython.
"""

AVC = "avc1"
HEVC = "hvc1"

# H.264 NAL unit types (ITU-T H.264 Table 7-1)
AVC_SLICE = 1
AVC_IDR = 5
AVC_SEI = 6
AVC_SPS = 7
AVC_PPS = 8
AVC_AUD = 9
# H.265 NAL unit types (ITU-T H.265 Table 7-1)
HEVC_IRAP_FIRST = 16  # BLA_W_LP
HEVC_IRAP_LAST = 21  # CRA_NUT
HEVC_VPS = 32
HEVC_SPS = 33
HEVC_PPS = 34
HEVC_AUD = 35
HEVC_PREFIX_SEI = 39

# H.264 profiles whose SPS carries chroma format, bit depths and scaling lists (§7.3.2.1.1)
_AVC_HIGH_PROFILES = (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135)
_LENGTH = 4  # bytes of each NAL unit length in a sample (lengthSizeMinusOne = 3)
DEFAULT_MAX_AU = 16 * 1024 * 1024  # the most bytes AccessUnits holds for one unfinished AU


class H26xError(ValueError):
    """A bitstream, sample or parameter set is not what H.264/H.265 allows."""


def _codec(codec: str) -> bool:
    """True for H.265, False for H.264."""
    if codec == HEVC:
        return True
    if codec == AVC:
        return False
    raise H26xError("h26x: unknown codec %r (avc1 or hvc1)" % (codec,))


# --- NAL units and samples ------------------------------------------------------------------


def split_annexb(data: bytes) -> list:
    """The NAL units of an Annex B byte stream, without start codes (bytes before the first
    start code and trailing zero bytes are dropped)."""
    data = bytes(data)
    out = []
    at = data.find(b"\x00\x00\x01")
    while at >= 0:
        start = at + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        while end > start and data[end - 1] == 0:
            end -= 1  # the leading zero of a 4-byte start code, or trailing_zero_8bits
        if end > start:
            out.append(data[start:end])
        at = nxt
    return out


def to_sample(nals: list) -> bytes:
    """The MP4 sample for ``nals``: each behind its length in 4 bytes, big-endian."""
    return b"".join([len(n).to_bytes(_LENGTH, "big") + bytes(n) for n in nals])


def from_sample(sample: bytes) -> list:
    """The NAL units of a length-prefixed sample; H26xError if a length runs past its end."""
    out = []
    at = 0
    end = len(sample)
    while at < end:
        if end - at < _LENGTH:
            raise H26xError("h26x: %d stray bytes at the end of a sample" % (end - at))
        n = int.from_bytes(sample[at : at + _LENGTH], "big")
        at += _LENGTH
        if n == 0 or n > end - at:
            raise H26xError(
                "h26x: a NAL unit length of %d at byte %d does not fit the sample" % (n, at - 4)
            )
        out.append(bytes(sample[at : at + n]))
        at += n
    return out


def nal_type(nal: bytes, codec: str) -> int:
    if not nal:
        raise H26xError("h26x: empty NAL unit")
    if _codec(codec):
        return (nal[0] >> 1) & 0x3F
    return nal[0] & 0x1F


def is_parameter_set(nal: bytes, codec: str) -> bool:
    t = nal_type(nal, codec)
    if _codec(codec):
        return HEVC_VPS <= t <= HEVC_PPS
    return t == AVC_SPS or t == AVC_PPS


def is_vcl(nal: bytes, codec: str) -> bool:
    """True for a NAL unit that carries picture data (a slice)."""
    t = nal_type(nal, codec)
    if _codec(codec):
        return t < 32
    return 1 <= t <= 5


def is_keyframe(nals: list, codec: str) -> bool:
    """True if the access unit holds an IDR picture (H.265: any IRAP, types 16..21)."""
    hevc = _codec(codec)
    for n in nals:
        if not n:
            continue
        t = nal_type(n, codec)
        if hevc and HEVC_IRAP_FIRST <= t <= HEVC_IRAP_LAST:
            return True
        if not hevc and t == AVC_IDR:
            return True
    return False


def sample_nals(nals: list, codec: str) -> list:
    """The NAL units of an access unit that belong in its MP4 sample: without parameter
    sets (they live in avcC/hvcC) and access unit delimiters."""
    aud = HEVC_AUD if _codec(codec) else AVC_AUD
    return [n for n in nals if n and not is_parameter_set(n, codec) and nal_type(n, codec) != aud]


# --- bit reading ----------------------------------------------------------------------------


def unescape(nal: bytes) -> bytes:
    """The RBSP of a NAL unit: every emulation-prevention byte (00 00 03 -> 00 00) removed."""
    if nal.find(b"\x00\x00\x03") < 0:
        return bytes(nal)
    out = bytearray()
    zeros = 0
    for c in nal:
        if zeros >= 2 and c == 3:
            zeros = 0
            continue
        out.append(c)
        zeros = zeros + 1 if c == 0 else 0
    return bytes(out)


class _Bits:
    """Reads bits MSB first from an RBSP; past the end raises H26xError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def u(self, n: int) -> int:
        if self.pos + n > 8 * len(self.data):
            raise H26xError("h26x: %s ends early (at bit %d)" % (self.what, self.pos))
        v = 0
        for _ in range(n):
            v = v << 1 | (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise H26xError("h26x: %s has an exp-Golomb code over 32 bits" % self.what)
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) >> 1 if k & 1 else -(k >> 1)


# --- sequence parameter sets ----------------------------------------------------------------


class _Sps:
    """The fields of an SPS that MP4 needs."""

    def __init__(self) -> None:
        self.chroma_format_idc = 1
        self.bit_depth_luma = 8
        self.bit_depth_chroma = 8
        self.width = 0
        self.height = 0
        self.max_sub_layers = 1
        self.temporal_id_nesting = 0
        self.general_ptl = b""  # H.265: the 12 bytes of general profile_tier_level
        # What a slice header needs to be read up to its picture order count:
        self.sps_id = 0
        self.profile = 0
        self.separate_colour = 0
        self.frame_num_bits = 0  # H.264
        self.poc_type = 0  # H.264 pic_order_cnt_type (H.265: always as type 0)
        self.poc_lsb_bits = 0  # 0: not read (an SPS that ends before it)
        self.frame_mbs_only = 1  # H.264
        # How many pictures may precede one in decode order and follow it in display
        # order (H.264 VUI max_num_reorder_frames, H.265 sps_max_num_reorder_pics); -1 when
        # the SPS does not say.
        self.reorder = -1
        # How many frames the decoded picture buffer must hold (H.264 VUI
        # max_dec_frame_buffering, H.265 sps_max_dec_pic_buffering_minus1 + 1); -1 when the
        # SPS does not say.
        self.dec_buffering = -1
        # Where the VUI lies in the RBSP, in bits: ``vui_at`` is its presence flag, and
        # ``vui_end`` the first bit after it; -1 when the SPS could not be read that far.
        # Nothing in the VUI changes how a picture decodes (``decoding_key``).
        self.vui_at = -1
        self.vui_end = -1
        self.ref_pic_sets = []  # type: list  # H.265: (negative, positive) POC deltas of each


def _scaling_list(b: _Bits, size: int) -> None:
    last = 8
    nxt = 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + b.se() + 256) % 256
        last = last if nxt == 0 else nxt


def _parse_avc_sps(nal: bytes) -> _Sps:
    if len(nal) < 4 or nal_type(nal, AVC) != AVC_SPS:
        raise H26xError("h26x: not an H.264 SPS")
    b = _Bits(unescape(nal[1:]), "the H.264 SPS")
    s = _Sps()
    profile = b.u(8)
    s.profile = profile
    b.u(16)  # constraint flags, level_idc
    s.sps_id = b.ue()
    if s.sps_id > 31:
        raise H26xError("h26x: H.264 SPS id over 31")
    separate = 0
    if profile in _AVC_HIGH_PROFILES:
        s.chroma_format_idc = b.ue()
        if s.chroma_format_idc > 3:
            raise H26xError("h26x: H.264 SPS chroma_format_idc %d" % s.chroma_format_idc)
        if s.chroma_format_idc == 3:
            separate = b.u(1)
        s.bit_depth_luma = 8 + b.ue()
        s.bit_depth_chroma = 8 + b.ue()
        b.u(1)  # qpprime_y_zero_transform_bypass_flag
        if b.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if s.chroma_format_idc != 3 else 12):
                if b.u(1):
                    _scaling_list(b, 16 if i < 6 else 64)
    s.separate_colour = separate
    s.frame_num_bits = b.ue() + 4  # log2_max_frame_num_minus4
    poc_type = b.ue()
    s.poc_type = poc_type
    if poc_type == 0:
        s.poc_lsb_bits = b.ue() + 4  # log2_max_pic_order_cnt_lsb_minus4
        if s.poc_lsb_bits > 16:
            raise H26xError("h26x: H.264 SPS with a %d-bit picture order count" % s.poc_lsb_bits)
    elif poc_type == 1:
        b.u(1)
        b.se()
        b.se()
        cycle = b.ue()
        if cycle > 255:
            raise H26xError("h26x: H.264 SPS with %d reference frames in a POC cycle" % cycle)
        for _ in range(cycle):
            b.se()
    elif poc_type != 2:
        raise H26xError("h26x: H.264 SPS pic_order_cnt_type %d" % poc_type)
    b.ue()  # max_num_ref_frames
    b.u(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = b.ue() + 1
    height_units = b.ue() + 1
    frame_mbs_only = b.u(1)
    s.frame_mbs_only = frame_mbs_only
    if not frame_mbs_only:
        b.u(1)  # mb_adaptive_frame_field_flag
    b.u(1)  # direct_8x8_inference_flag
    crop = (0, 0, 0, 0)
    if b.u(1):
        crop = (b.ue(), b.ue(), b.ue(), b.ue())  # left, right, top, bottom
    chroma_array = 0 if separate else s.chroma_format_idc
    if chroma_array == 0:
        unit_x, unit_y = 1, 2 - frame_mbs_only
    else:
        sub_w = 1 if chroma_array == 3 else 2
        sub_h = 2 if chroma_array == 1 else 1
        unit_x, unit_y = sub_w, sub_h * (2 - frame_mbs_only)
    s.width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    s.height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    if s.width <= 0 or s.height <= 0:
        raise H26xError("h26x: H.264 SPS crops the picture to nothing")
    s.vui_at = b.pos
    try:
        if b.u(1):  # vui_parameters_present_flag
            s.reorder, s.dec_buffering = _avc_vui_reorder(b)
        s.vui_end = b.pos
    except H26xError:
        # A VUI cut short says nothing; the picture size above still holds.
        s.reorder = s.dec_buffering = -1
    return s


def _avc_hrd(b: _Bits) -> None:
    count = b.ue() + 1  # cpb_cnt_minus1
    if count > 32:
        raise H26xError("h26x: H.264 HRD with %d CPB specifications" % count)
    b.u(8)  # bit_rate_scale, cpb_size_scale
    for _ in range(count):
        b.ue()
        b.ue()
        b.u(1)
    b.u(20)  # four delay and offset lengths of 5 bits


def _vui_head(b: _Bits) -> None:
    """Read past the fields both codecs' VUI begin with, in the same order (H.264 Annex
    E.1.1, H.265 Annex E.2.1): the sample aspect ratio, overscan, the video signal type with
    its colour description, the chroma sample location."""
    if b.u(1) and b.u(8) == 255:  # aspect_ratio_info_present_flag, Extended_SAR
        b.u(32)
    if b.u(1):  # overscan_info_present_flag
        b.u(1)
    if b.u(1):  # video_signal_type_present_flag
        b.u(4)
        if b.u(1):  # colour_description_present_flag
            b.u(24)
    if b.u(1):  # chroma_loc_info_present_flag
        b.ue()
        b.ue()


def _avc_vui_reorder(b: _Bits) -> tuple:
    """(max_num_reorder_frames, max_dec_frame_buffering) from an H.264 VUI (Annex E.1.1),
    each -1 when it is not there."""
    _vui_head(b)
    if b.u(1):  # timing_info_present_flag
        b.u(32)
        b.u(32)
        b.u(1)
    nal_hrd = b.u(1)
    if nal_hrd:
        _avc_hrd(b)
    vcl_hrd = b.u(1)
    if vcl_hrd:
        _avc_hrd(b)
    if nal_hrd or vcl_hrd:
        b.u(1)  # low_delay_hrd_flag
    b.u(1)  # pic_struct_present_flag
    if not b.u(1):  # bitstream_restriction_flag
        return -1, -1
    b.u(1)
    for _ in range(4):
        b.ue()
    reorder = b.ue()  # max_num_reorder_frames
    return reorder, b.ue()  # max_dec_frame_buffering


def _parse_hevc_sps(nal: bytes) -> _Sps:
    if len(nal) < 3 or nal_type(nal, HEVC) != HEVC_SPS:
        raise H26xError("h26x: not an H.265 SPS")
    rbsp = unescape(nal[2:])
    b = _Bits(rbsp, "the H.265 SPS")
    s = _Sps()
    b.u(4)  # sps_video_parameter_set_id
    sub_layers_minus1 = b.u(3)
    if sub_layers_minus1 > 6:
        raise H26xError("h26x: H.265 SPS with %d sub-layers (at most 7)" % (sub_layers_minus1 + 1))
    s.max_sub_layers = sub_layers_minus1 + 1
    s.temporal_id_nesting = b.u(1)
    # general profile_tier_level: profile space/tier/idc (8), compatibility flags (32),
    # constraint flags (48), level (8): 12 whole bytes, copied into hvcC as they are.
    if len(rbsp) < 13:
        raise H26xError("h26x: the H.265 SPS ends inside profile_tier_level")
    s.general_ptl = rbsp[1:13]
    b.pos = 13 * 8
    profile_present = []
    level_present = []
    for _ in range(sub_layers_minus1):
        profile_present.append(b.u(1))
        level_present.append(b.u(1))
    if sub_layers_minus1 > 0:
        for _ in range(sub_layers_minus1, 8):
            b.u(2)
    for i in range(sub_layers_minus1):
        if profile_present[i]:
            b.pos += 88
        if level_present[i]:
            b.pos += 8
    s.sps_id = b.ue()
    if s.sps_id > 15:
        raise H26xError("h26x: H.265 SPS id over 15")
    s.chroma_format_idc = b.ue()
    if s.chroma_format_idc > 3:
        raise H26xError("h26x: H.265 SPS chroma_format_idc %d" % s.chroma_format_idc)
    separate = b.u(1) if s.chroma_format_idc == 3 else 0
    width = b.ue()
    height = b.ue()
    crop = (0, 0, 0, 0)
    if b.u(1):  # conformance_window_flag
        crop = (b.ue(), b.ue(), b.ue(), b.ue())
    s.bit_depth_luma = 8 + b.ue()
    s.bit_depth_chroma = 8 + b.ue()
    s.separate_colour = separate
    chroma_array = 0 if separate else s.chroma_format_idc
    sub_w = 2 if chroma_array in (1, 2) else 1
    sub_h = 2 if chroma_array == 1 else 1
    s.width = width - sub_w * (crop[0] + crop[1])
    s.height = height - sub_h * (crop[2] + crop[3])
    if s.width <= 0 or s.height <= 0:
        raise H26xError("h26x: H.265 SPS crops the picture to nothing")
    try:
        bits = b.ue() + 4  # log2_max_pic_order_cnt_lsb_minus4
        if bits > 16:
            raise H26xError("h26x: H.265 SPS with a %d-bit picture order count" % bits)
        first = 0 if b.u(1) else sub_layers_minus1  # sps_sub_layer_ordering_info_present
        for _ in range(first, sub_layers_minus1 + 1):
            s.dec_buffering = b.ue() + 1  # sps_max_dec_pic_buffering_minus1
            s.reorder = b.ue()  # sps_max_num_reorder_pics: the highest sub-layer's counts
            b.ue()  # sps_max_latency_increase_plus1
        s.poc_lsb_bits = bits
    except H26xError:
        s.reorder = s.dec_buffering = -1  # cut short: the size holds, the order is not known
        return s
    try:
        _hevc_to_vui(b, s, sub_layers_minus1, bits)
    except H26xError:
        pass  # what was read holds; decoding_key compares such an SPS whole
    return s


def _hevc_to_vui(b: _Bits, s: _Sps, sub_layers_minus1: int, poc_bits: int) -> None:
    """Read an H.265 SPS from after its sub-layer ordering info over its VUI (§7.3.2.2),
    noting where the VUI lies (``vui_at``, ``vui_end``)."""
    for _ in range(6):
        b.ue()  # coding and transform block sizes, transform hierarchy depths
    if b.u(1) and b.u(1):  # scaling_list_enabled_flag, sps_scaling_list_data_present_flag
        _hevc_scaling_lists(b)
    b.u(2)  # amp_enabled_flag, sample_adaptive_offset_enabled_flag
    if b.u(1):  # pcm_enabled_flag
        b.u(8)  # PCM sample bit depths
        b.ue()
        b.ue()
        b.u(1)  # pcm_loop_filter_disabled_flag
    count = b.ue()  # num_short_term_ref_pic_sets
    if count > 64:
        raise H26xError("h26x: H.265 SPS with %d short-term reference picture sets" % count)
    sets = []  # type: list
    for i in range(count):
        sets.append(_hevc_st_rps(b, i, sets))
    s.ref_pic_sets = sets
    if b.u(1):  # long_term_ref_pics_present_flag
        count = b.ue()
        if count > 32:
            raise H26xError("h26x: H.265 SPS with %d long-term reference pictures" % count)
        for _ in range(count):
            b.u(poc_bits)  # lt_ref_pic_poc_lsb_sps
            b.u(1)
    b.u(2)  # sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
    s.vui_at = b.pos
    if b.u(1):  # vui_parameters_present_flag
        _hevc_vui(b, sub_layers_minus1)
    s.vui_end = b.pos


def _hevc_scaling_lists(b: _Bits) -> None:
    """scaling_list_data() (§7.3.4), read past."""
    for size_id in range(4):
        for _ in range(0, 6, 3 if size_id == 3 else 1):
            if not b.u(1):  # scaling_list_pred_mode_flag
                b.ue()  # scaling_list_pred_matrix_id_delta
                continue
            if size_id > 1:
                b.se()  # scaling_list_dc_coef_minus8
            for _ in range(min(64, 1 << (4 + (size_id << 1)))):
                b.se()


def _hevc_st_rps(b: _Bits, idx: int, sets: list) -> tuple:
    """st_ref_pic_set(idx) of an SPS (§7.3.7) as (negative, positive) POC deltas: a set
    predicted from the one before it needs that one's deltas to be read (§7.4.8)."""
    if idx and b.u(1):  # inter_ref_pic_set_prediction_flag
        ref_neg, ref_pos = sets[idx - 1]  # delta_idx_minus1 is only in slice headers
        sign = b.u(1)
        delta = (b.ue() + 1) * (-1 if sign else 1)
        count = len(ref_neg) + len(ref_pos)
        use = []
        for _ in range(count + 1):
            used = b.u(1)  # used_by_curr_pic_flag; else use_delta_flag says
            use.append(1 if used else b.u(1))
        neg = []  # type: list
        pos = []  # type: list
        for j in range(len(ref_pos) - 1, -1, -1):
            if ref_pos[j] + delta < 0 and use[len(ref_neg) + j]:
                neg.append(ref_pos[j] + delta)
        if delta < 0 and use[count]:
            neg.append(delta)
        for j in range(len(ref_neg)):
            if ref_neg[j] + delta < 0 and use[j]:
                neg.append(ref_neg[j] + delta)
        for j in range(len(ref_neg) - 1, -1, -1):
            if ref_neg[j] + delta > 0 and use[j]:
                pos.append(ref_neg[j] + delta)
        if delta > 0 and use[count]:
            pos.append(delta)
        for j in range(len(ref_pos)):
            if ref_pos[j] + delta > 0 and use[len(ref_neg) + j]:
                pos.append(ref_pos[j] + delta)
    else:
        n_neg = b.ue()
        n_pos = b.ue()
        if n_neg > 16 or n_pos > 16:
            raise H26xError("h26x: H.265 reference picture set of %d pictures" % (n_neg + n_pos))
        neg = []
        poc = 0
        for _ in range(n_neg):
            poc -= b.ue() + 1  # delta_poc_s0_minus1
            b.u(1)
            neg.append(poc)
        pos = []
        poc = 0
        for _ in range(n_pos):
            poc += b.ue() + 1  # delta_poc_s1_minus1
            b.u(1)
            pos.append(poc)
    if len(neg) > 16 or len(pos) > 16:
        raise H26xError("h26x: H.265 reference picture set of %d pictures" % (len(neg) + len(pos)))
    return neg, pos


def _hevc_vui(b: _Bits, sub_layers_minus1: int) -> None:
    """vui_parameters() of an H.265 SPS (Annex E.2.1), read past."""
    _vui_head(b)
    b.u(3)  # neutral_chroma_indication, field_seq, frame_field_info_present
    if b.u(1):  # default_display_window_flag
        for _ in range(4):
            b.ue()
    if b.u(1):  # vui_timing_info_present_flag
        b.u(32)
        b.u(32)
        if b.u(1):  # vui_poc_proportional_to_timing_flag
            b.ue()
        if b.u(1):  # vui_hrd_parameters_present_flag
            _hevc_hrd(b, sub_layers_minus1)
    if b.u(1):  # bitstream_restriction_flag
        b.u(3)
        for _ in range(5):
            b.ue()


def _hevc_hrd(b: _Bits, sub_layers_minus1: int) -> None:
    """hrd_parameters(1, sub_layers_minus1) (Annex E.2.2), read past."""
    nal = b.u(1)
    vcl = b.u(1)
    sub_pic = 0
    if nal or vcl:
        sub_pic = b.u(1)
        if sub_pic:
            b.u(19)  # tick divisor, DU removal delay length, SEI flag, DU output delay length
        b.u(8)  # bit_rate_scale, cpb_size_scale
        if sub_pic:
            b.u(4)  # cpb_size_du_scale
        b.u(15)  # three delay lengths of 5 bits
    for _ in range(sub_layers_minus1 + 1):
        fixed = 1 if b.u(1) else b.u(1)  # fixed_pic_rate_general/within_cvs_flag
        low_delay = 0
        if fixed:
            b.ue()  # elemental_duration_in_tc_minus1
        else:
            low_delay = b.u(1)
        count = 1
        if not low_delay:
            count = b.ue() + 1  # cpb_cnt_minus1
            if count > 32:
                raise H26xError("h26x: H.265 HRD with %d CPB specifications" % count)
        for _ in range(nal + vcl):
            for _ in range(count):
                b.ue()
                b.ue()
                if sub_pic:
                    b.ue()
                    b.ue()
                b.u(1)  # cbr_flag


def read_sps(sps: bytes, codec: str) -> _Sps:
    """The fields of an SPS this module reads (H26xError if it is malformed)."""
    return _parse_hevc_sps(sps) if _codec(codec) else _parse_avc_sps(sps)


def _stop_bit(rbsp: bytes, what: str) -> int:
    """Where an RBSP's data ends: the bit index of its rbsp_stop_one_bit (the last 1 bit;
    zero bytes after it are padding)."""
    at = len(rbsp) - 1
    while at >= 0 and rbsp[at] == 0:
        at -= 1
    if at < 0:
        raise H26xError("h26x: %s has no data" % what)
    c = rbsp[at]
    low = 0
    while not c >> low & 1:
        low += 1
    return 8 * at + 7 - low


def _bit_span(rbsp: bytes, start: int, end: int) -> bytes:
    """Bits ``start`` (inclusive) to ``end`` (exclusive) of ``rbsp``, packed MSB first
    behind their count in 4 bytes, so spans of different lengths never look alike."""
    b = _Bits(rbsp, "a parameter set")
    b.pos = start
    out = bytearray()
    left = end - start
    while left >= 8:
        out.append(b.u(8))
        left -= 8
    if left:
        out.append(b.u(left) << (8 - left))
    return (end - start).to_bytes(4, "big") + bytes(out)


def decoding_key(nal: bytes, codec: str) -> bytes:
    """What decoding depends on in a parameter set (an SPS, PPS or VPS), as bytes: two sets
    of one kind whose keys are equal make every picture decode alike.

    Emulation-prevention bytes, the trailing bits and any zero bytes after them are not
    part of it, so the same set written out another way has the same key. An SPS's VUI
    (timing, colour description, aspect ratio, HRD, bitstream restriction) is left out:
    it tells a player how to show and pace the pictures, not how to decode them. Every
    other bit counts, in order, H.265's SPS extensions after the VUI included. An SPS
    whose VUI cannot be read, or whose reading does not end exactly at its stop bit
    (``_ends_at``), and every PPS and VPS, count whole. H26xError when ``nal``
    is not a parameter set or is malformed."""
    nal = bytes(nal)
    if not nal or not is_parameter_set(nal, codec):
        raise H26xError("h26x: not a parameter set")
    hevc = _codec(codec)
    kind = nal_type(nal, codec)
    rbsp = unescape(nal[2:] if hevc else nal[1:])
    what = "the %s parameter set" % ("H.265" if hevc else "H.264")
    stop = _stop_bit(rbsp, what)
    head = bytes((kind,))  # nal_ref_idc / layer / temporal id change no decoding of a set
    if kind == (HEVC_SPS if hevc else AVC_SPS):
        s = _parse_hevc_sps(nal) if hevc else _parse_avc_sps(nal)
        if 0 <= s.vui_at < s.vui_end and _ends_at(rbsp, s.vui_end, stop, hevc):
            return head + _bit_span(rbsp, 0, s.vui_at) + _bit_span(rbsp, s.vui_end, stop)
    return head + _bit_span(rbsp, 0, stop)


def _ends_at(rbsp: bytes, vui_end: int, stop: int, hevc: bool) -> bool:
    """Whether an SPS read to ``vui_end`` ends exactly where its RBSP stops, as one read
    right does: only then is the VUI window surely the VUI, and not fields decoding uses
    that a misreading before it took for one (a window left out wrongly would let two
    SPSs that decode otherwise match). H.264 has nothing after the VUI; H.265 has its
    extension flags and the range and multilayer extensions, whose sizes are fixed
    (§7.3.2.2); any other extension is not read, and such an SPS counts whole."""
    if not hevc:
        return vui_end == stop
    b = _Bits(rbsp, "the H.265 SPS")
    b.pos = vui_end
    try:
        if b.u(1):  # sps_extension_present_flag
            range_ext = b.u(1)
            multilayer = b.u(1)
            if b.u(6):  # sps_3d_extension_flag, sps_scc_extension_flag, sps_extension_4bits
                return False
            if range_ext:
                b.u(9)  # sps_range_extension(): nine flags
            if multilayer:
                b.u(1)  # sps_multilayer_extension(): inter_view_mv_vert_constraint_flag
    except H26xError:
        return False
    return b.pos == stop


def config_sets(config: bytes, codec: str) -> list:
    """The parameter sets (NAL units) an avcC or hvcC payload holds, in its order;
    H26xError when the record is cut short."""
    config = bytes(config)
    out = []  # type: list
    if _codec(codec):
        if len(config) < 23:
            raise H26xError("h26x: an hvcC of %d bytes" % len(config))
        at = 23
        for _ in range(config[22]):  # numOfArrays
            if at + 3 > len(config):
                raise H26xError("h26x: the hvcC ends inside its arrays")
            count = int.from_bytes(config[at + 1 : at + 3], "big")
            at += 3
            for _ in range(count):
                at = _config_nal(config, at, out)
        return out
    if len(config) < 6:
        raise H26xError("h26x: an avcC of %d bytes" % len(config))
    at = 6
    for _ in range(config[5] & 0x1F):  # numOfSequenceParameterSets
        at = _config_nal(config, at, out)
    if at >= len(config):
        raise H26xError("h26x: the avcC ends before its PPS count")
    count = config[at]
    at += 1
    for _ in range(count):
        at = _config_nal(config, at, out)
    return out


def _config_nal(config: bytes, at: int, out: list) -> int:
    if at + 2 > len(config):
        raise H26xError("h26x: a decoder configuration record ends inside a NAL unit length")
    n = int.from_bytes(config[at : at + 2], "big")
    if n == 0 or at + 2 + n > len(config):
        raise H26xError("h26x: a parameter set of %d bytes does not fit its record" % n)
    out.append(config[at + 2 : at + 2 + n])
    return at + 2 + n


def picture_size(sps: bytes, codec: str) -> tuple:
    """(width, height) of the pictures an SPS describes, after its cropping window."""
    s = _parse_hevc_sps(sps) if _codec(codec) else _parse_avc_sps(sps)
    return s.width, s.height


# --- decoder configuration records ----------------------------------------------------------


def _u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def _nal_list(nals: list, what: str, most: int) -> bytes:
    if len(nals) > most:
        raise H26xError("h26x: %d %s NAL units, at most %d fit" % (len(nals), what, most))
    out = []
    for n in nals:
        if not n or len(n) > 0xFFFF:
            raise H26xError("h26x: a %s NAL unit of %d bytes does not fit" % (what, len(n)))
        out.append(_u16(len(n)) + bytes(n))
    return b"".join(out)


def avcc(sps: list, pps: list) -> bytes:
    """The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3) for these parameter sets,
    with 4-byte NAL unit lengths."""
    if not sps or not pps:
        raise H26xError("h26x: avcC needs at least one SPS and one PPS")
    first = bytes(sps[0])
    s = _parse_avc_sps(first)
    sps_list = _nal_list(sps, "SPS", 31)
    pps_list = _nal_list(pps, "PPS", 255)
    out = (
        bytes((1, first[1], first[2], first[3], 0xFC | (_LENGTH - 1), 0xE0 | len(sps)))
        + sps_list
        + bytes((len(pps),))
        + pps_list
    )
    if first[1] in _AVC_HIGH_PROFILES:
        out += bytes(
            (
                0xFC | s.chroma_format_idc,
                0xF8 | (s.bit_depth_luma - 8) & 7,
                0xF8 | (s.bit_depth_chroma - 8) & 7,
                0,  # numOfSequenceParameterSetExt
            )
        )
    return out


def hvcc(vps: list, sps: list, pps: list) -> bytes:
    """The HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3) for these parameter
    sets, with 4-byte NAL unit lengths; profile, tier, level, constraint flags, chroma
    format and bit depths come from the first SPS."""
    if not vps or not sps or not pps:
        raise H26xError("h26x: hvcC needs at least one VPS, SPS and PPS")
    s = _parse_hevc_sps(bytes(sps[0]))
    arrays = []
    for kind, nals, name in (
        (HEVC_VPS, vps, "VPS"),
        (HEVC_SPS, sps, "SPS"),
        (HEVC_PPS, pps, "PPS"),
    ):
        # array_completeness 1: every parameter set of this kind is here, none in band
        arrays.append(bytes((0x80 | kind,)) + _u16(len(nals)) + _nal_list(nals, name, 0xFFFF))
    return (
        b"\x01"
        + s.general_ptl
        + _u16(0xF000)  # reserved, min_spatial_segmentation_idc 0
        + b"\xfc"  # reserved, parallelismType 0 (unknown)
        + bytes((0xFC | s.chroma_format_idc,))
        + bytes((0xF8 | (s.bit_depth_luma - 8) & 7, 0xF8 | (s.bit_depth_chroma - 8) & 7))
        + _u16(0)  # avgFrameRate unknown
        + bytes((s.max_sub_layers << 3 | s.temporal_id_nesting << 2 | (_LENGTH - 1),))
        + bytes((len(arrays),))
        + b"".join(arrays)
    )


# --- access units ---------------------------------------------------------------------------


class AccessUnits:
    """Cuts an Annex B byte stream, fed in pieces of any size, into access units.

    A new access unit begins at an access unit delimiter; at a parameter set or prefix SEI
    (or H.264 types 14..18, H.265 types 41..44 and 48..55) once the current one holds a
    slice; and at a slice that starts a new picture (H.264 first_mb_in_slice 0, H.265
    first_slice_segment_in_pic_flag 1) once the current one holds a slice. Each access
    unit comes out as ``(nals, keyframe)`` with every NAL unit it holds, parameter sets and
    delimiters included (``sample_nals`` leaves those out for the MP4 sample). The latest
    parameter sets seen are kept in ``vps``, ``sps`` and ``pps``.
    """

    def __init__(self, codec: str, max_au: int = DEFAULT_MAX_AU) -> None:
        self._hevc = _codec(codec)
        self.codec = codec
        self.max_au = max_au
        self.vps = []  # type: list
        self.sps = []  # type: list
        self.pps = []  # type: list
        self._buf = bytearray()
        self._scan = 0  # where to look for the next start code in _buf
        self._started = False  # a start code has been seen; _buf starts at a NAL unit
        self._au = []  # type: list
        self._au_bytes = 0
        self._has_vcl = False

    def feed(self, data: bytes) -> list:
        """Take the next bytes of the stream; return the access units they completed."""
        out = []  # type: list
        buf = self._buf
        buf += data  # in place: a long NAL unit fed in small pieces is not copied each time
        at = self._scan
        start = 0  # where the NAL unit being read begins in buf (once in step)
        while True:
            sc = buf.find(b"\x00\x00\x01", at)
            if sc < 0:
                break
            if self._started:
                end = sc
                while end > start and buf[end - 1] == 0:
                    end -= 1
                if end > start:
                    self._nal(bytes(buf[start:end]), out)
            self._started = True
            start = at = sc + 3
        # Keep the unfinished NAL unit; before the first start code keep only what may
        # begin one.
        if not self._started:
            buf = buf[-2:]
        elif start:
            buf = buf[start:]
        # A start code may straddle this piece and the next: look again from 2 bytes back.
        self._scan = max(0, len(buf) - 2)
        self._buf = buf
        if self._au_bytes + len(buf) > self.max_au:
            raise H26xError("h26x: an access unit grew past %d bytes without ending" % self.max_au)
        return out

    def end(self) -> list:
        """The stream has ended: return the access unit still open, if any."""
        out = []  # type: list
        if self._started:
            buf = self._buf
            end = len(buf)
            while end > 0 and buf[end - 1] == 0:
                end -= 1
            if end > 0:
                self._nal(bytes(buf[:end]), out)
        self._buf = bytearray()
        self._scan = 0
        self._started = False
        self._close(out)
        return out

    def _close(self, out: list) -> None:
        if self._au:
            out.append((self._au, is_keyframe(self._au, self.codec)))
        self._au = []
        self._au_bytes = 0
        self._has_vcl = False

    def _nal(self, nal: bytes, out: list) -> None:
        t = nal_type(nal, self.codec)
        if self._hevc:
            vcl = t < 32
            if t == HEVC_AUD:
                starts = True
            elif vcl:
                starts = self._has_vcl and len(nal) > 2 and bool(nal[2] & 0x80)
            else:
                starts = self._has_vcl and (
                    HEVC_VPS <= t <= HEVC_PPS
                    or t == HEVC_PREFIX_SEI
                    or 41 <= t <= 44
                    or 48 <= t <= 55
                )
            if t == HEVC_VPS:
                self.vps = [nal]
            elif t == HEVC_SPS:
                self.sps = [nal]
            elif t == HEVC_PPS:
                self.pps = [nal]
        else:
            vcl = 1 <= t <= 5
            if t == AVC_AUD:
                starts = True
            elif vcl:
                # first_mb_in_slice is the first ue(v) after the header: 0 is the bit '1'.
                starts = self._has_vcl and len(nal) > 1 and bool(nal[1] & 0x80)
            else:
                starts = self._has_vcl and (
                    t == AVC_SEI or t == AVC_SPS or t == AVC_PPS or 14 <= t <= 18
                )
            if t == AVC_SPS:
                self.sps = [nal]
            elif t == AVC_PPS:
                self.pps = [nal]
        if starts:
            self._close(out)
        self._au.append(nal)
        self._au_bytes += len(nal)
        if vcl:
            self._has_vcl = True


# --- picture order --------------------------------------------------------------------------

MAX_REORDER = 16  # no level lets more pictures wait in the decoded picture buffer


def reorder_frames(sps: bytes, codec: str) -> int:
    """How many pictures may wait to be shown behind a later-decoded one, as the SPS
    declares it (H.265 always does; H.264 in its VUI), or what the stream's form implies:
    0 for H.264 pictures shown in decode order (pic_order_cnt_type 2, or the Baseline
    profile, which has no B slices); -1 when nothing says."""
    if _codec(codec):
        return _parse_hevc_sps(sps).reorder
    s = _parse_avc_sps(sps)
    if s.reorder >= 0:
        return s.reorder
    if s.poc_type == 2 or s.profile == 66:
        return 0
    return -1


def dec_buffering(sps: bytes, codec: str) -> int:
    """How many frames the decoded picture buffer must hold, as the SPS declares it (H.265
    always does; H.264 in its VUI's bitstream restriction); -1 when nothing says (a decoder
    then sizes it from the level)."""
    return read_sps(sps, codec).dec_buffering


class PictureOrder:
    """The picture order count (POC) of each access unit of an H.264/H.265 stream, in
    decode order: the order a decoder shows the pictures in.

    Feed every access unit to ``picture``; it learns the SPS/PPS inside it first. It gives
    ``(poc, new_sequence, shown)``: ``new_sequence`` when the POC starts afresh (an IDR;
    H.265 also a BLA, or a CRA that opens the stream), so every picture before it is shown
    first; ``shown`` False for an H.265 RASL picture after such a CRA, which cannot be
    decoded and which a decoder drops.

    H.264 pic_order_cnt_type 0 reads pic_order_cnt_lsb (§8.2.1.1), type 2 is decode order;
    type 1 (POC from frame_num and SPS offsets) is not computed: a type 1 stream with B
    slices raises H26xError, without them its pictures are taken in decode order. A memory
    management operation 5 (rare; it restarts the POC without an IDR) is not seen. Field
    pictures take their top field's count. H26xError when a slice header names a parameter
    set not seen or ends early.
    """

    def __init__(self, codec: str) -> None:
        self._hevc = _codec(codec)
        self.codec = codec
        self._sps = {}  # type: dict
        self._pps = {}  # type: dict
        self._prev_msb = 0
        self._prev_lsb = 0
        self._count = 0  # pictures given a POC (decode order, for types 1 and 2)
        self._started = False
        self._rasl_dropped = False  # the latest IRAP's RASL pictures cannot be decoded

    def learn(self, nal: bytes) -> None:
        t = nal_type(nal, self.codec)
        if self._hevc:
            if t == HEVC_SPS:
                s = _parse_hevc_sps(nal)
                self._sps[s.sps_id] = s
            elif t == HEVC_PPS:
                b = _Bits(unescape(nal[2:]), "the H.265 PPS")
                pps_id = b.ue()
                sps_id = b.ue()
                if pps_id > 63 or sps_id > 15:
                    raise H26xError("h26x: H.265 PPS id %d or SPS id %d too big" % (pps_id, sps_id))
                b.u(1)  # dependent_slice_segments_enabled_flag (first slices never depend)
                output_flag = b.u(1)
                extra = b.u(3)
                self._pps[pps_id] = (sps_id, output_flag, extra)
        elif t == AVC_SPS:
            s = _parse_avc_sps(nal)
            self._sps[s.sps_id] = s
        elif t == AVC_PPS:
            b = _Bits(unescape(nal[1:]), "the H.264 PPS")
            pps_id = b.ue()
            sps_id = b.ue()
            if pps_id > 255 or sps_id > 31:
                raise H26xError("h26x: H.264 PPS id %d or SPS id %d too big" % (pps_id, sps_id))
            self._pps[pps_id] = (sps_id,)

    def _params(self, pps_id: int) -> tuple:
        pps = self._pps.get(pps_id)
        sps = self._sps.get(pps[0]) if pps is not None else None
        if pps is None or sps is None:
            raise H26xError(
                "h26x: a slice names parameter set %d before the stream has shown it" % pps_id
            )
        return sps, pps

    def picture(self, nals: list) -> tuple:
        """``(poc, new_sequence, shown)`` of one access unit (see the class)."""
        first = None
        for nal in nals:
            if not nal:
                continue
            if is_parameter_set(nal, self.codec):
                self.learn(nal)
            elif first is None and is_vcl(nal, self.codec):
                first = nal
        if first is None:
            raise H26xError("h26x: an access unit with no slice has no picture order")
        result = self._hevc_poc(first) if self._hevc else self._avc_poc(first)
        self._count += 1
        self._started = True
        return result

    def _msb(self, lsb: int, bits: int) -> int:
        half = 1 << (bits - 1)
        if lsb < self._prev_lsb and self._prev_lsb - lsb >= half:
            return self._prev_msb + (1 << bits)
        if lsb > self._prev_lsb and lsb - self._prev_lsb > half:
            return self._prev_msb - (1 << bits)
        return self._prev_msb

    def _avc_poc(self, nal: bytes) -> tuple:
        t = nal_type(nal, AVC)
        b = _Bits(unescape(nal[1:]), "an H.264 slice header")
        b.ue()  # first_mb_in_slice
        slice_type = b.ue() % 5
        sps, _pps = self._params(b.ue())
        idr = t == AVC_IDR
        if sps.poc_type != 0:
            if sps.poc_type == 1 and slice_type == 1:
                raise H26xError(
                    "h26x: B slices with pic_order_cnt_type 1, whose display order is not "
                    "computed here; set the encoder to POC type 0 or 2, turn B-frames off, or "
                    "give fragmented MP4"
                )
            return self._count, idr, True  # shown in decode order
        if sps.separate_colour:
            b.u(2)  # colour_plane_id
        b.u(sps.frame_num_bits)
        if not sps.frame_mbs_only and b.u(1):  # field_pic_flag
            b.u(1)  # bottom_field_flag
        if idr:
            b.ue()  # idr_pic_id
            self._prev_msb = self._prev_lsb = 0
        lsb = b.u(sps.poc_lsb_bits)
        msb = self._msb(lsb, sps.poc_lsb_bits)
        if nal[0] & 0x60:  # nal_ref_idc: a reference picture sets the next one's base
            self._prev_msb, self._prev_lsb = msb, lsb
        return msb + lsb, idr, True

    def _hevc_poc(self, nal: bytes) -> tuple:
        t = nal_type(nal, HEVC)
        if len(nal) < 3:
            raise H26xError("h26x: an H.265 slice ends in its header")
        temporal_id = (nal[1] & 7) - 1
        b = _Bits(unescape(nal[2:]), "an H.265 slice header")
        if not b.u(1):
            raise H26xError("h26x: an H.265 picture does not begin with its first slice")
        irap = HEVC_IRAP_FIRST <= t <= 23
        if irap:
            b.u(1)  # no_output_of_prior_pics_flag
        sps, pps = self._params(b.ue())
        if not sps.poc_lsb_bits:
            raise H26xError("h26x: the H.265 SPS ends before its picture order count")
        b.u(pps[2])  # slice_reserved_flag[i]
        b.ue()  # slice_type
        if pps[1]:
            b.u(1)  # pic_output_flag
        if sps.separate_colour:
            b.u(2)  # colour_plane_id
        idr = t == 19 or t == 20
        lsb = 0 if idr else b.u(sps.poc_lsb_bits)
        # An IDR or BLA starts the count afresh; so does a CRA that opens the stream.
        fresh = irap and (t <= 20 or not self._started)
        if irap:
            self._rasl_dropped = fresh and not idr
        if fresh:
            msb = 0
        else:
            msb = self._msb(lsb, sps.poc_lsb_bits)
        poc = msb + lsb
        leading = 6 <= t <= 9  # RADL, RASL
        sublayer_non_ref = t <= 14 and t % 2 == 0
        if temporal_id == 0 and not leading and not sublayer_non_ref:
            self._prev_lsb = poc & ((1 << sps.poc_lsb_bits) - 1)
            self._prev_msb = poc - self._prev_lsb
        shown = not (self._rasl_dropped and (t == 8 or t == 9))
        return poc, fresh, shown
