"""The plan of an export streamed through fixed buffers (issue 12, Benchmarks: export <= 1.2x
copying): where each piece lands, and which writes may bypass the page cache."""
# micropython: skip (host code)
# R-HOST-5: the export holds the signed bytes unchanged, laid end to end.

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.exportlayout import Layout, Span, Write

BLOCKS = st.sampled_from([1, 2, 512, 4096])


@given(
    block=BLOCKS,
    blocks=st.integers(1, 6),
    sizes=st.lists(st.integers(0, 40_000), max_size=20),
    seed=st.randoms(use_true_random=False),
)
def test_any_pieces_laid_and_written_are_exactly_their_concatenation(block, blocks, sizes, seed):
    # Lay the pieces in windows as the export does, then write each window as planned to a
    # file: the file is the pieces end to end, every direct write is aligned, and only the
    # file's last few bytes go through the page cache.
    layout = Layout(block * blocks, block)
    window = layout.window
    pieces = [seed.randbytes(n) for n in sizes]
    buffers: dict = {}  # window -> its buffer
    for piece in pieces:
        at = layout.end
        spans = layout.place(len(piece))
        assert layout.end == at + len(piece)
        assert sum(s.length for s in spans) == len(piece)
        if not piece:
            assert spans == []
            continue
        assert spans[0].first and spans[-1].last
        assert not any(s.first for s in spans[1:]) and not any(s.last for s in spans[:-1])
        assert [s.window for s in spans] == list(range(spans[0].window, spans[-1].window + 1))
        done = 0
        for s in spans:
            assert s.length > 0 and 0 <= s.at and s.at + s.length <= window
            assert s.window * window + s.at == at + done  # where the file has it
            buf = buffers.setdefault(s.window, bytearray(window))
            buf[s.at : s.at + s.length] = piece[done : done + s.length]
            done += s.length
    end = layout.end
    last = max(0, (end - 1) // window)
    file = bytearray()
    for k in range(last + 1):
        writes = layout.writes(k, final=k == last)
        for w in writes:
            assert w.offset == len(file) == k * window + w.at  # in order, nothing skipped
            file += buffers[k][w.at : w.at + w.length]
            if w.direct:
                assert w.offset % block == w.at % block == w.length % block == 0
            else:  # the bytes after the file's last whole block
                assert k == last and w.offset + w.length == end and w.length < block
        if k < last:
            assert [w.direct for w in writes] == [True]
            assert layout.filled(k) == window
    assert bytes(file) == b"".join(pieces)


def test_a_window_that_ends_on_a_block_is_written_whole_and_direct():
    layout = Layout(8192, 4096)
    assert layout.place(10_000) == [Span(0, 0, 8192, True, False), Span(1, 0, 1808, False, True)]
    assert layout.writes(0) == [Write(0, 0, 8192, True)]
    assert layout.writes(1, final=True) == [Write(8192, 0, 1808, False)]
    layout.place(4096 - 1808)
    assert layout.writes(1, final=True) == [Write(8192, 0, 4096, True)]
    layout.place(4096 + 4096 + 100)
    assert layout.writes(1) == [Write(8192, 0, 8192, True)]
    assert layout.writes(2, final=True) == [Write(16384, 0, 4096, True),
                                            Write(20480, 4096, 100, False)]  # fmt: skip


def test_a_window_not_full_is_written_only_as_the_last():
    layout = Layout(8192, 4096)
    layout.place(100)
    with pytest.raises(ValueError, match="not full"):
        layout.writes(0)
    assert layout.writes(0, final=True) == [Write(0, 0, 100, False)]
    assert layout.writes(1, final=True) == []  # nothing laid there


@pytest.mark.parametrize("window,block", [(0, 4096), (4096, 0), (6000, 4096), (-4096, 4096)])
def test_a_window_must_be_whole_blocks(window, block):
    with pytest.raises(ValueError, match="multiple of the block"):
        Layout(window, block)


def test_a_piece_cannot_be_negative():
    with pytest.raises(ValueError, match="cannot be -1 bytes"):
        Layout(4096, 4096).place(-1)
