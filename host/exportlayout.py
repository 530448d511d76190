"""Where each byte of a streamed export lands: in which buffer, at which place, and how each
buffer is written to the file (sans I/O: the plan only; ``host.mp4export`` does the I/O).

The export streams its file through a few fixed buffers, each holding one *window* of the
file at a time: window k is the file's bytes ``[k * size, (k + 1) * size)``. The pieces of
the file (the initialisation segment, the stored fragments, the trailing boxes) are laid
end to end, in order, and a piece may straddle two or more windows: ``place`` says which
parts of it land where, and whether a part starts or ends the piece (a piece's hash is taken
across the windows it straddles).

A window is written whole, at its own offset, once it is full. Its offset, its length and
its place in the buffer are then all multiples of the block, which is what a write that
bypasses the page cache (``O_DIRECT``) asks of all three; so are the whole blocks of the
last, partly filled window. Only the bytes after the last whole block (fewer than a block,
at the file's very end) go through the page cache.
"""

from typing import NamedTuple


class Span(NamedTuple):
    """A part of a piece: ``length`` bytes at ``at`` in window ``window``."""

    window: int
    at: int
    length: int
    first: bool  # the piece starts here
    last: bool  # and ends here


class Write(NamedTuple):
    """``length`` bytes at ``at`` in a window's buffer, to the file at ``offset``;
    ``direct`` when all three are whole blocks (the page cache may be bypassed)."""

    offset: int
    at: int
    length: int
    direct: bool


class Layout:
    """The plan of one file streamed through windows of ``window`` bytes, a multiple of
    ``block`` (the alignment writes that bypass the page cache need)."""

    def __init__(self, window: int, block: int) -> None:
        if block <= 0 or window <= 0 or window % block:
            raise ValueError("the window (%d) must be a positive multiple of the block (%d)"
                             % (window, block))  # fmt: skip
        self.window = window
        self.block = block
        self.end = 0  # the file's size so far: where the next piece starts

    def place(self, length: int) -> list:
        """Lay the next piece, ``length`` bytes, after the last: the ``Span`` of each
        window it touches, in order (none for an empty piece, which touches no window)."""
        if length < 0:
            raise ValueError("a piece cannot be %d bytes long" % length)
        spans = []
        pos, left = self.end, length
        while left:
            window, at = divmod(pos, self.window)
            n = min(left, self.window - at)
            spans.append(Span(window, at, n, left == length, n == left))
            pos += n
            left -= n
        self.end = pos
        return spans

    def filled(self, window: int) -> int:
        """How many bytes of window ``window`` are laid so far."""
        return max(0, min(self.end - window * self.window, self.window))

    def writes(self, window: int, final: bool = False) -> list:
        """How window ``window`` goes to the file: ``Write``s, in order. A window that is not
        the file's last (``final``) must be full. The last one's whole blocks are one direct
        write, and what follows them (less than a block) one write through the page cache."""
        filled = self.filled(window)
        if not final and filled < self.window:
            raise ValueError("window %d is not full (%d of %d bytes)" % (window, filled,
                                                                        self.window))  # fmt: skip
        start = window * self.window
        whole = filled - filled % self.block
        out = []
        if whole:
            out.append(Write(start, 0, whole, True))
        if filled > whole:
            out.append(Write(start + whole, whole, filled - whole, False))
        return out
