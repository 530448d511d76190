"""The order pictures are shown in, from slice headers: what B-frames in Annex B need."""
# Issue 12 "A vendor's hardware encoder": an H.264/H.265 elementary stream with B-frames is
# signed in decode order with composition offsets taken from each picture's order count.

from protocol.h26x import H26xError, PictureOrder, picture_size, reorder_frames
from tests.portable import raises
from tests.protocol.h26xstreams import (
    AVC_PPS,
    AVC_SLICES,
    AVC_SPS,
    HEVC_PPS,
    HEVC_SLICES,
    HEVC_SPS,
    HEVC_VPS,
)


def orders(codec: str, params: list, slices: list) -> list:
    order = PictureOrder(codec)
    out = [order.picture(params + [slices[0]])]  # noqa: RUF005 (MicroPython has no [*x])
    out += [order.picture([s]) for s in slices[1:]]
    return out


def test_h264_picture_order_counts_follow_the_encoders_display_order():
    got = orders("avc1", [AVC_SPS, AVC_PPS], AVC_SLICES)
    assert [poc for poc, _, _ in got] == [0, 8, 4, 2, 6, 16, 12, 10, 14, 24]
    assert [fresh for _, fresh, _ in got] == [True] + [False] * 9  # the IDR restarts
    assert all(shown for _, _, shown in got)


def test_h265_picture_order_counts_follow_the_encoders_display_order():
    got = orders("hvc1", [HEVC_VPS, HEVC_SPS, HEVC_PPS], HEVC_SLICES)
    assert [poc for poc, _, _ in got] == [0, 4, 2, 1, 3, 8, 6, 5, 7, 12]
    assert got[0][1] is True  # a CRA that opens the stream starts the count
    assert not any(fresh for _, fresh, _ in got[1:])


def test_the_sps_says_how_far_pictures_are_reordered():
    assert reorder_frames(AVC_SPS, "avc1") == 2  # x264's VUI bitstream restriction
    assert reorder_frames(HEVC_SPS, "hvc1") == 2  # sps_max_num_reorder_pics


def test_h264_order_counts_wrap_past_their_lsb_range():
    # 16 frames a cycle of 4-bit pic_order_cnt_lsb would wrap; the count keeps rising.
    order = PictureOrder("avc1")
    order.learn(AVC_SPS)
    order.learn(AVC_PPS)
    bits = order._sps[0].poc_lsb_bits
    assert bits >= 4
    # The real slices' counts rise past 2^bits only in long streams; the rule is checked on
    # the counter directly: a small lsb after a large one is the next cycle.
    order._prev_lsb = (1 << bits) - 2
    assert order._msb(2, bits) == 1 << bits
    order._prev_lsb = 2
    order._prev_msb = 1 << bits
    assert order._msb((1 << bits) - 2, bits) == 0  # a picture from the cycle before


def test_a_slice_naming_an_unseen_parameter_set_is_one_clear_error():
    order = PictureOrder("avc1")
    err = raises(H26xError, order.picture, [AVC_SLICES[0]])
    assert "parameter set 0 before the stream has shown it" in str(err)
    assert raises(H26xError, PictureOrder("avc1").picture, [AVC_SPS, AVC_PPS])  # no slice


class BitWriter:
    """Builds an RBSP bit by bit (exp-Golomb included), for parameter sets made to order."""

    def __init__(self) -> None:
        self.bits = []

    def u(self, n: int, value: int) -> "BitWriter":
        for i in range(n - 1, -1, -1):
            self.bits.append((value >> i) & 1)
        return self

    def ue(self, value: int) -> "BitWriter":
        code = value + 1
        size = 0
        while code >> size:  # bit_length, which MicroPython's int lacks
            size += 1
        return self.u(size - 1, 0).u(size, code)

    def rbsp(self) -> bytes:
        bits = list(self.bits)
        bits.append(1)  # rbsp_stop_one_bit
        while len(bits) % 8:
            bits.append(0)
        return bytes(sum(bits[i + j] << (7 - j) for j in range(8)) for i in range(0, len(bits), 8))


def avc_sps(profile: int, poc_type: int, reorder: int = -1) -> bytes:
    """An H.264 SPS of 160x96 frames; ``reorder`` >= 0 adds a VUI with only a bitstream
    restriction saying it."""
    w = BitWriter().u(8, profile).u(8, 0).u(8, 30).ue(0)  # profile, flags, level, id 0
    w.ue(0).ue(poc_type)  # log2_max_frame_num_minus4, pic_order_cnt_type
    if poc_type == 0:
        w.ue(2)  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        w.u(1, 0).ue(0).ue(0).ue(0)  # offsets 0 (se 0 is ue 0), no reference frame cycle
    w.ue(3).u(1, 0).ue(9).ue(5)  # refs, gaps, width 10 MBs, height 6 MBs
    w.u(1, 1).u(1, 1).u(1, 0)  # frame_mbs_only, direct_8x8_inference, no cropping
    if reorder < 0:
        w.u(1, 0)  # no VUI
    else:
        w.u(1, 1).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0)
        w.u(1, 1).u(1, 1).ue(2).ue(1).ue(16).ue(16).ue(reorder).ue(4)  # bitstream restriction
    return b"\x67" + w.rbsp()


def test_what_an_h264_sps_says_or_implies_about_reordering():
    assert reorder_frames(avc_sps(77, 0, reorder=1), "avc1") == 1  # said in the VUI
    assert reorder_frames(avc_sps(77, 2), "avc1") == 0  # POC type 2: decode order
    assert reorder_frames(avc_sps(66, 0), "avc1") == 0  # Baseline: no B slices
    assert reorder_frames(avc_sps(77, 0), "avc1") == -1  # nothing says: the caller decides
    # A VUI cut short says nothing, and the picture size still reads.
    cut = avc_sps(77, 0, reorder=1)[:-3]
    assert reorder_frames(cut, "avc1") == -1 and picture_size(cut, "avc1") == (160, 96)


def slice_header(nal_header: int, slice_type: int) -> bytes:
    """The opening of a slice: first_mb_in_slice 0, ``slice_type``, PPS 0, then frame_num
    and the rest as zero bits."""
    return bytes([nal_header]) + BitWriter().ue(0).ue(slice_type).ue(0).u(16, 0).rbsp()


def test_h264_poc_type_1_is_taken_in_decode_order_until_a_b_slice_names_the_fix():
    order = PictureOrder("avc1")
    pps = b"\x68" + BitWriter().ue(0).ue(0).u(1, 0).u(1, 0).rbsp()
    sps = avc_sps(77, 1)
    got = [
        order.picture([sps, pps, slice_header(0x65, 7)]),  # IDR, I slice
        order.picture([slice_header(0x41, 5)]),  # P slice
    ]
    assert [poc for poc, _, _ in got] == [0, 1] and got[0][1] and not got[1][1]
    err = raises(H26xError, order.picture, [slice_header(0x01, 6)])  # a B slice
    text = str(err)
    assert "pic_order_cnt_type 1" in text and "turn B-frames off" in text and "\n" not in text
