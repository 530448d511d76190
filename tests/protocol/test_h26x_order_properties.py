"""Properties of reading picture order and edit lists: no input makes them fail unclearly."""
# micropython: skip (hypothesis is CPython-only)
# Issue 12 "Bad input": a vendor stream's slice headers and an MP4's edit list are read from
# bytes nobody vouches for; the only failure allowed is one clear H26xError (never an
# IndexError or a loop without end), and an edit list never makes an init segment unreadable.

from hypothesis import given
from hypothesis import strategies as st

from protocol import mp4
from protocol.h26x import H26xError, PictureOrder
from tests.protocol.h26xstreams import (
    AVC_PPS,
    AVC_SPS,
    HEVC_PPS,
    HEVC_SPS,
    HEVC_VPS,
)

AVC_HEADERS = st.sampled_from([0x65, 0x41, 0x01, 0x21, 0x25])  # IDR, P/B with ref_idc
HEVC_TYPES = st.sampled_from([0, 1, 2, 8, 9, 16, 19, 20, 21])


@given(st.lists(st.tuples(AVC_HEADERS, st.binary(max_size=12)), min_size=1, max_size=30))
def test_any_h264_slice_bytes_give_an_order_or_one_clear_error(slices):
    order = PictureOrder("avc1")
    order.learn(AVC_SPS)
    order.learn(AVC_PPS)
    for head, body in slices:
        try:
            poc, _fresh, shown = order.picture([bytes([head]) + body])
        except H26xError as exc:
            assert "\n" not in str(exc)
            continue
        assert isinstance(poc, int) and shown


@given(st.lists(st.tuples(HEVC_TYPES, st.binary(max_size=12)), min_size=1, max_size=30))
def test_any_h265_slice_bytes_give_an_order_or_one_clear_error(slices):
    order = PictureOrder("hvc1")
    for nal in (HEVC_VPS, HEVC_SPS, HEVC_PPS):
        order.learn(nal)
    for kind, body in slices:
        try:
            poc, _fresh, _shown = order.picture([bytes([kind << 1, 1]) + body])
        except H26xError as exc:
            assert "\n" not in str(exc)
            continue
        assert isinstance(poc, int)


@given(st.binary(max_size=64))
def test_any_edit_list_leaves_the_init_segment_readable(elst):
    track = mp4.Track(1, mp4.HANDLER_TEXT, 1000, "tx3g")
    good = mp4.init_segment([track])
    at = good.find(b"mdia") - 4
    edts = mp4_box(b"edts", mp4_box(b"elst", elst))
    data = bytearray(good[:at] + edts + good[at:])
    for kind in (b"moov", b"trak"):
        p = data.find(kind) - 4
        data[p : p + 4] = (int.from_bytes(data[p : p + 4], "big") + len(edts)).to_bytes(4, "big")
    (back,) = mp4.read_init(bytes(data))
    assert back.codec == "tx3g" and 0 <= back.media_time < 1 << 64


def mp4_box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload
