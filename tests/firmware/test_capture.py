"""The capture queue never blocks the camera, and every dropped frame is logged (R-DEV-6)."""

from firmware.capture import CaptureQueue
from tests.portable import raises


def test_frames_pass_in_order_until_the_queue_is_full():
    q = CaptureQueue(capacity=3)
    assert [q.put(i, 1000 + i) for i in range(3)] == [True, True, True]
    assert [q.get(), q.get(), q.get(), q.get()] == [0, 1, 2, None]
    assert q.take_drops() is None


def test_a_full_queue_drops_at_once_and_counts_what_and_when():  # R-DEV-6
    q = CaptureQueue(capacity=2)
    results = [q.put(i, 1000 + 33 * i) for i in range(6)]
    assert results == [True, True, False, False, False, False]
    assert q.take_drops() == (4, 1000 + 66, 1000 + 165)
    assert q.take_drops() is None  # told once
    assert q.get() == 0


def test_capacity_must_hold_a_frame():
    raises(ValueError, CaptureQueue, 0)
