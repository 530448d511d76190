"""Per-frame hashing for chunk entries."""

import hashlib

from protocol.frames import FRAME_DIGEST_LEN, FrameHashes, compare, frame_digest, validation_string


def test_every_frame_is_hashed_in_capture_order():
    fh = FrameHashes()
    frames = [("frame-%d" % i).encode() for i in range(5)]
    for f in frames:
        fh.add(f)
    assert fh.take() == [hashlib.sha256(f).digest()[:16] for f in frames]
    assert fh.take() == []


# R-DEV-15: a frame buffered before the button was hashed at capture; that digest is kept as
# it was taken, not taken again from the bytes when the chunk is built.
def test_a_digest_taken_at_capture_is_kept_as_given():
    fh = FrameHashes()
    taken = frame_digest(b"buffered")
    assert fh.add(b"buffered", taken) is taken
    fh.add(b"live")
    assert fh.take() == [taken, frame_digest(b"live")]
    assert fh.add(b"whatever", b"D" * 16) == b"D" * 16  # given, so not computed


def test_a_frame_digest_is_sha256_cut_to_16_bytes():
    assert FRAME_DIGEST_LEN == 16
    assert frame_digest(b"abc") == bytes.fromhex("ba7816bf8f01cfea414140de5dae2223")


# --- compare: what became of each signed frame (issue 12, ONVIF-style validation) ----------

A, B, C, D, E, X, Y = (bytes([n]) * 16 for n in range(7))


def states(signed, present):
    return validation_string(compare(signed, present))


def test_an_unchanged_chunk_is_all_ok():
    assert compare([A, B, C], [A, B, C]) == [("ok", 0, 0), ("ok", 1, 1), ("ok", 2, 2)]
    assert compare([], []) == []


def test_a_changed_frame_is_named_by_its_index():
    assert compare([A, B, C], [A, X, C]) == [("ok", 0, 0), ("changed", 1, 1), ("ok", 2, 2)]
    assert states([A, B, C, D], [X, B, C, Y]) == "N..N"


def test_a_dropped_frame_is_missing_where_it_was():
    assert compare([A, B, C], [A, C]) == [("ok", 0, 0), ("missing", 1, -1), ("ok", 2, 1)]
    assert states([A, B, C], []) == "MMM"


def test_an_added_frame_is_extra():
    assert compare([A, C], [A, X, C]) == [("ok", 0, 0), ("extra", -1, 1), ("ok", 1, 2)]
    assert states([], [X, Y]) == "AA"


def test_swapped_frames_are_reordered():
    assert states([A, B, C, D], [A, C, B, D]) == ".R.."  # C moved before B (or B after C)
    assert compare([A, B, C], [C, A, B]) == [("reordered", 2, 0), ("ok", 0, 1), ("ok", 1, 2)]


def test_mixed_edits_between_the_frames_still_in_order():
    # B changed, D dropped, E moved to the front, Y added at the end.
    assert compare([A, B, C, D, E], [E, A, X, C, Y]) == [
        ("reordered", 4, 0),
        ("ok", 0, 1),
        ("changed", 1, 2),
        ("ok", 2, 3),
        ("changed", 3, 4),
    ]
    assert states([A, B, C], [A, X, Y, C]) == ".NA."
    assert states([A, B, C, D], [A, X, D]) == ".NM."


def test_a_repeated_digest_matches_its_occurrences_in_order():
    assert states([A, B, A], [B, A]) == "M.."
    assert states([A, A, A], [A, A]) == "..M"
