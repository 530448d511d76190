"""The board template imports on MicroPython and tells a vendor what to fill in."""

import sys

from firmware.ports import board_template
from tests.portable import raises


def test_template_imports_and_names_what_is_missing():
    clock = board_template.BoardClock()
    if sys.implementation.name == "micropython":  # ticks_ms exists only there
        assert clock.mono_ms() >= 0
    err = raises(NotImplementedError, clock.wall_ms)
    assert "RTC" in str(err)
    err = raises(NotImplementedError, board_template.board_entropy, 32)
    assert "random number generator" in str(err)


def test_template_signer_is_the_pure_python_one():
    signer = board_template.make_board_signer(bytes(32))
    assert len(signer.sign(b"x")) == 64
