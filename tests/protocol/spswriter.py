"""A small bit writer that makes H.264 and H.265 sequence parameter sets from chosen field
values, for tests of ``protocol.h26x``: every field the spec's syntax has, in its order,
written independently of the parser it tests (ITU-T H.264 §7.3.2.1.1 and Annex E.1.1,
H.265 §7.3.2.2, §7.3.4, §7.3.7, Annex E.2.1-E.2.3).

A field set is a dict; ``vui`` is a dict of its own (or None: no VUI). Only the keys a
writer reads are needed; the defaults are a plain 4:2:0 8-bit stream."""

AVC_HIGH = (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135)


class BitWriter:
    """Bits MSB first; ``nal`` closes them into a NAL unit with emulation prevention."""

    def __init__(self) -> None:
        self.bits = []  # type: list

    def u(self, n: int, value: int) -> None:
        for i in range(n - 1, -1, -1):
            self.bits.append(value >> i & 1)

    def ue(self, value: int) -> None:
        code = value + 1
        n = 0
        while code >> n:
            n += 1
        self.u(n - 1, 0)
        self.u(n, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def rbsp(self) -> bytes:
        """The bits with rbsp_trailing_bits: a stop bit, then zeros to a byte boundary."""
        bits = list(self.bits)
        bits.append(1)
        while len(bits) % 8:
            bits.append(0)
        out = bytearray()
        for at in range(0, len(bits), 8):
            c = 0
            for bit in bits[at : at + 8]:
                c = c << 1 | bit
            out.append(c)
        return bytes(out)

    def nal(self, header: bytes) -> bytes:
        return bytes(header) + escape(self.rbsp())


def escape(rbsp: bytes) -> bytes:
    """Emulation prevention: 03 after two zero bytes that a byte 00..03 follows."""
    out = bytearray()
    zeros = 0
    for c in rbsp:
        if zeros >= 2 and c <= 3:
            out.append(3)
            zeros = 0
        out.append(c)
        zeros = zeros + 1 if c == 0 else 0
    return bytes(out)


def _get(fields: dict, key: str, default: int) -> int:
    return fields.get(key, default)


def _vui_head(w: BitWriter, v: dict) -> None:
    """The fields both codecs' VUI begin with, in the same order and coding (H.264 Annex
    E.1.1, H.265 Annex E.2.1): sample aspect ratio, overscan, video signal type with its
    colour description, chroma sample location."""
    aspect = v.get("aspect")
    w.u(1, 0 if aspect is None else 1)
    if aspect is not None:
        w.u(8, aspect)
        if aspect == 255:  # Extended_SAR: sar_width 4, sar_height 3
            w.u(16, 4)
            w.u(16, 3)
    overscan = v.get("overscan")
    w.u(1, 0 if overscan is None else 1)
    if overscan is not None:
        w.u(1, overscan)
    signal = v.get("signal")  # (format, full range, colour or None)
    w.u(1, 0 if signal is None else 1)
    if signal is not None:
        w.u(3, signal[0])
        w.u(1, signal[1])
        w.u(1, 0 if signal[2] is None else 1)
        if signal[2] is not None:
            for c in signal[2]:
                w.u(8, c)
    loc = v.get("chroma_loc")
    w.u(1, 0 if loc is None else 1)
    if loc is not None:
        w.ue(loc[0])
        w.ue(loc[1])


# --- H.264 --------------------------------------------------------------------------------


def avc_sps(f: dict, vui: "dict | None" = None, header: int = 0x67) -> bytes:
    w = BitWriter()
    profile = _get(f, "profile", 100)
    w.u(8, profile)
    w.u(8, _get(f, "constraints", 0))
    w.u(8, _get(f, "level", 30))
    w.ue(_get(f, "sps_id", 0))
    if profile in AVC_HIGH:
        chroma = _get(f, "chroma", 1)
        w.ue(chroma)
        if chroma == 3:
            w.u(1, 0)  # separate_colour_plane_flag
        w.ue(_get(f, "depth_luma", 8) - 8)
        w.ue(_get(f, "depth_chroma", 8) - 8)
        w.u(1, _get(f, "bypass", 0))
        lists = f.get("scaling", [])  # one list of deltas per present matrix, or None
        w.u(1, 1 if lists else 0)
        if lists:
            for deltas in lists:
                w.u(1, 0 if deltas is None else 1)
                scale = 8
                for d in deltas or []:
                    w.se(d)
                    scale = (scale + d + 256) % 256
                    if scale == 0:
                        break  # useDefaultScalingMatrix, or the rest repeat the last
    w.ue(_get(f, "frame_num_bits", 4) - 4)
    poc_type = _get(f, "poc_type", 0)
    w.ue(poc_type)
    if poc_type == 0:
        w.ue(_get(f, "poc_lsb_bits", 4) - 4)
    elif poc_type == 1:
        w.u(1, 0)
        w.se(_get(f, "offset_non_ref", 0))
        w.se(0)
        cycle = f.get("cycle", [])
        w.ue(len(cycle))
        for c in cycle:
            w.se(c)
    w.ue(_get(f, "ref_frames", 1))
    w.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    w.ue(_get(f, "width_mbs", 10) - 1)
    w.ue(_get(f, "height_units", 6) - 1)
    frame_mbs_only = _get(f, "frame_mbs_only", 1)
    w.u(1, frame_mbs_only)
    if not frame_mbs_only:
        w.u(1, 0)
    w.u(1, 1)  # direct_8x8_inference_flag
    crop = f.get("crop")
    w.u(1, 1 if crop else 0)
    if crop:
        for c in crop:
            w.ue(c)
    w.u(1, 1 if vui is not None else 0)
    if vui is not None:
        _avc_vui(w, vui)
    return w.nal(bytes((header,)))


def _avc_hrd(w: BitWriter, cpbs: list) -> None:
    w.ue(len(cpbs) - 1)
    w.u(8, 0x23)  # bit_rate_scale, cpb_size_scale
    for rate, size, cbr in cpbs:
        w.ue(rate)
        w.ue(size)
        w.u(1, cbr)
    w.u(20, 0xFFFFF)  # four lengths of 5 bits


def _avc_vui(w: BitWriter, v: dict) -> None:
    _vui_head(w, v)
    timing = v.get("timing")  # (num_units_in_tick, time_scale, fixed)
    w.u(1, 0 if timing is None else 1)
    if timing is not None:
        w.u(32, timing[0])
        w.u(32, timing[1])
        w.u(1, timing[2])
    nal_hrd = v.get("nal_hrd")
    vcl_hrd = v.get("vcl_hrd")
    for hrd in (nal_hrd, vcl_hrd):
        w.u(1, 0 if not hrd else 1)
        if hrd:
            _avc_hrd(w, hrd)
    if nal_hrd or vcl_hrd:
        w.u(1, v.get("low_delay", 0))
    w.u(1, v.get("pic_struct", 0))
    restriction = v.get("restriction")  # (reorder, dpb frames[, the four before them])
    w.u(1, 0 if restriction is None else 1)
    if restriction is not None:
        w.u(1, 1)  # motion_vectors_over_pic_boundaries_flag
        for x in restriction[2:] if len(restriction) > 2 else (2, 1, 16, 16):
            w.ue(x)  # max bytes per picture, bits per MB, log2 of the longest vectors
        w.ue(restriction[0])
        w.ue(restriction[1])


# --- H.265 --------------------------------------------------------------------------------


def hevc_sps(f: dict, vui: "dict | None" = None, header: bytes = b"\x42\x01") -> bytes:
    w = BitWriter()
    w.u(4, _get(f, "vps_id", 0))
    sub = _get(f, "sub_layers", 1) - 1
    w.u(3, sub)
    w.u(1, _get(f, "nesting", 1))
    for c in f.get("ptl", bytes((1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93))):
        w.u(8, c)
    for _ in range(sub):
        w.u(2, 0)  # sub_layer_profile_present_flag, sub_layer_level_present_flag
    if sub:
        for _ in range(sub, 8):
            w.u(2, 0)
    w.ue(_get(f, "sps_id", 0))
    chroma = _get(f, "chroma", 1)
    w.ue(chroma)
    if chroma == 3:
        w.u(1, 0)
    w.ue(_get(f, "width", 160))
    w.ue(_get(f, "height", 96))
    crop = f.get("crop")
    w.u(1, 1 if crop else 0)
    if crop:
        for c in crop:
            w.ue(c)
    w.ue(_get(f, "depth_luma", 8) - 8)
    w.ue(_get(f, "depth_chroma", 8) - 8)
    poc_bits = _get(f, "poc_lsb_bits", 8)
    w.ue(poc_bits - 4)
    ordering = f.get("ordering", [(4, 2, 0)])  # per sub-layer: dpb - 1, reorder, latency
    w.u(1, 1 if len(ordering) > 1 else 0)
    for dpb, reorder, latency in ordering:
        w.ue(dpb)
        w.ue(reorder)
        w.ue(latency)
    for x in f.get("blocks", (0, 3, 0, 3, 0, 0)):
        w.ue(x)
    scaling = f.get("scaling")  # None: off; []: on, default lists; else 20 matrices
    w.u(1, 0 if scaling is None else 1)
    if scaling is not None:
        w.u(1, 1 if scaling else 0)
        for size_id, matrix in scaling:
            if matrix is None:
                w.u(1, 0)
                w.ue(0)
            else:
                w.u(1, 1)
                if size_id > 1:
                    w.se(matrix[0])
                for d in matrix[1:]:
                    w.se(d)
    w.u(2, _get(f, "amp_sao", 3))
    pcm = f.get("pcm")
    w.u(1, 0 if pcm is None else 1)
    if pcm is not None:
        w.u(8, 0x77)
        w.ue(pcm[0])
        w.ue(pcm[1])
        w.u(1, 1)
    rps = f.get("rps", [])  # each: ("explicit", negatives, positives) or ("inter", ...)
    w.ue(len(rps))
    for i, entry in enumerate(rps):
        if i:
            w.u(1, 1 if entry[0] == "inter" else 0)
        if entry[0] == "inter":
            _, sign, delta_minus1, flags = entry
            w.u(1, sign)
            w.ue(delta_minus1)
            for used, use_delta in flags:
                w.u(1, used)
                if not used:
                    w.u(1, use_delta)
        else:
            _, negatives, positives = entry
            w.ue(len(negatives))
            w.ue(len(positives))
            for gap in negatives + positives:
                w.ue(gap)
                w.u(1, 1)
    long_term = f.get("long_term")
    w.u(1, 0 if long_term is None else 1)
    if long_term is not None:
        w.ue(len(long_term))
        for lsb in long_term:
            w.u(poc_bits, lsb)
            w.u(1, 1)
    w.u(2, _get(f, "mvp_smoothing", 3))
    w.u(1, 1 if vui is not None else 0)
    if vui is not None:
        _hevc_vui(w, vui, sub)
    tail = f.get("extension", [])  # bits after sps_extension_present_flag
    w.u(1, 1 if tail else 0)
    for bit in tail:
        w.u(1, bit)
    return w.nal(header)


def _hevc_vui(w: BitWriter, v: dict, sub: int) -> None:
    _vui_head(w, v)
    w.u(3, v.get("field_flags", 0))
    window = v.get("window")
    w.u(1, 0 if window is None else 1)
    if window is not None:
        for x in window:
            w.ue(x)
    timing = v.get("timing")  # (num_units_in_tick, time_scale, poc ticks or None)
    w.u(1, 0 if timing is None else 1)
    if timing is not None:
        w.u(32, timing[0])
        w.u(32, timing[1])
        w.u(1, 0 if timing[2] is None else 1)
        if timing[2] is not None:
            w.ue(timing[2])
        hrd = v.get("hrd")
        w.u(1, 0 if hrd is None else 1)
        if hrd is not None:
            _hevc_hrd(w, hrd, sub)
    restriction = v.get("restriction")
    w.u(1, 0 if restriction is None else 1)
    if restriction is not None:
        w.u(3, 5)
        for x in restriction:
            w.ue(x)


def _hevc_hrd(w: BitWriter, h: dict, sub: int) -> None:
    nal = h.get("nal", 0)
    vcl = h.get("vcl", 0)
    sub_pic = h.get("sub_pic", 0)
    w.u(1, nal)
    w.u(1, vcl)
    if nal or vcl:
        w.u(1, sub_pic)
        if sub_pic:
            w.u(8, 23)
            w.u(5, 7)
            w.u(1, 1)
            w.u(5, 9)
        w.u(4, 2)
        w.u(4, 3)
        if sub_pic:
            w.u(4, 1)
        w.u(5, 23)
        w.u(5, 15)
        w.u(5, 4)
    layers = h.get("layers", [])
    for i in range(sub + 1):
        general, within, low_delay, cpbs = layers[i] if i < len(layers) else (1, 1, 0, 1)
        w.u(1, general)
        if not general:
            w.u(1, within)
        fixed = general or within
        if fixed:
            w.ue(i)  # elemental_duration_in_tc_minus1
        else:
            w.u(1, low_delay)
        count = 1
        if not (not fixed and low_delay):
            count = cpbs
            w.ue(count - 1)
        for _ in range(nal + vcl):
            for k in range(count):
                w.ue(1000 + k)
                w.ue(2000 + k)
                if sub_pic:
                    w.ue(300)
                    w.ue(400)
                w.u(1, k & 1)


def rps_deltas(entry: tuple, before: "tuple | None") -> tuple:
    """The (negative, positive) POC deltas of a reference picture set as ``hevc_sps`` writes
    it (H.265 §7.4.8, equations 7-61 and 7-62); ``before`` is the set before it."""
    if entry[0] == "explicit":
        _, negatives, positives = entry
        neg, poc = [], 0
        for gap in negatives:
            poc -= gap + 1
            neg.append(poc)
        pos, poc = [], 0
        for gap in positives:
            poc += gap + 1
            pos.append(poc)
        return neg, pos
    assert before is not None
    _, sign, delta_minus1, flags = entry
    delta_rps = (1 - 2 * sign) * (delta_minus1 + 1)
    use = [1 if used else use_delta for used, use_delta in flags]
    ref_neg, ref_pos = before
    n = len(ref_neg)
    neg = [ref_pos[j] + delta_rps for j in range(len(ref_pos) - 1, -1, -1)
           if ref_pos[j] + delta_rps < 0 and use[n + j]]  # fmt: skip
    if delta_rps < 0 and use[n + len(ref_pos)]:
        neg.append(delta_rps)
    neg += [ref_neg[j] + delta_rps for j in range(n) if ref_neg[j] + delta_rps < 0 and use[j]]
    pos = [ref_neg[j] + delta_rps for j in range(n - 1, -1, -1)
           if ref_neg[j] + delta_rps > 0 and use[j]]  # fmt: skip
    if delta_rps > 0 and use[n + len(ref_pos)]:
        pos.append(delta_rps)
    pos += [ref_pos[j] + delta_rps for j in range(len(ref_pos))
            if ref_pos[j] + delta_rps > 0 and use[n + j]]  # fmt: skip
    return neg, pos
