"""Property tests of ``protocol.frames.compare``: every edit of a chunk's frames is told."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-2: a changed, dropped, reordered or inserted frame is named by its index (issue 12:
# per-frame digests name the exact frames, as ONVIF Media Signing's validation string).

import itertools

from hypothesis import given
from hypothesis import strategies as st

from protocol.frames import (
    FRAME_CHANGED,
    FRAME_EXTRA,
    FRAME_MISSING,
    FRAME_OK,
    FRAME_REORDERED,
    compare,
)

# Few distinct digests, so repeats are common; and lists of distinct ones.
digest = st.integers(min_value=0, max_value=5).map(lambda n: bytes([n]) * 16)
frames = st.lists(digest, max_size=30)
unique = st.lists(st.integers(0, 200), max_size=30, unique=True).map(
    lambda ns: [n.to_bytes(16, "big") for n in ns]
)
NEW = b"\xff" * 16  # a digest no generated list holds


def explained(signed: list, present: list) -> list:
    """Check that the results account for both lists exactly; return them."""
    results = compare(signed, present)
    signed_seen = sorted(r[1] for r in results if r[1] >= 0)
    present_order = [r[2] for r in results if r[2] >= 0]
    assert signed_seen == list(range(len(signed)))  # every signed frame told once
    assert present_order == list(range(len(present)))  # every present frame once, in order
    rebuilt = []  # the present list, made from the signed one and the edits
    ok_pairs = []
    for state, i, j in results:
        if state == FRAME_OK:
            ok_pairs.append((i, j))
            rebuilt.append(signed[i])
        elif state == FRAME_REORDERED:
            assert i >= 0 and j >= 0
            rebuilt.append(signed[i])
        elif state == FRAME_CHANGED:
            assert signed[i] != present[j]
            rebuilt.append(present[j])
        elif state == FRAME_EXTRA:
            assert i == -1
            rebuilt.append(present[j])
        else:
            assert state == FRAME_MISSING and j == -1
    assert rebuilt == present
    # The frames told OK keep their signed order.
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(ok_pairs))
    # A reordered frame is really out of place: it could not join the frames told OK.
    for i, j in [(r[1], r[2]) for r in results if r[0] == FRAME_REORDERED]:
        assert any((a < i) != (b < j) for a, b in ok_pairs)
    return results


def told(results: list, state: str) -> list:
    return [r for r in results if r[0] == state]


@given(frames)
def test_an_unchanged_list_is_all_ok(signed):
    assert compare(signed, list(signed)) == [(FRAME_OK, i, i) for i in range(len(signed))]


@given(frames, frames)
def test_any_two_lists_are_explained_by_the_edits_told(signed, present):
    explained(signed, present)


@given(frames, st.data())
def test_a_deleted_frame_is_the_one_missing(signed, data):
    if not signed:
        return
    k = data.draw(st.integers(0, len(signed) - 1))
    results = explained(signed, signed[:k] + signed[k + 1 :])
    (missing,) = told(results, FRAME_MISSING)
    assert signed[missing[1]] == signed[k]  # that frame, or one with the same bytes
    assert len(told(results, FRAME_OK)) == len(signed) - 1


@given(frames, st.data())
def test_an_inserted_frame_is_the_one_extra(signed, data):
    k = data.draw(st.integers(0, len(signed)))
    results = explained(signed, [*signed[:k], NEW, *signed[k:]])
    assert told(results, FRAME_EXTRA) == [(FRAME_EXTRA, -1, k)]
    assert len(told(results, FRAME_OK)) == len(signed)


@given(frames, st.data())
def test_a_changed_frame_is_the_one_changed(signed, data):
    if not signed:
        return
    k = data.draw(st.integers(0, len(signed) - 1))
    results = explained(signed, [*signed[:k], NEW, *signed[k + 1 :]])
    assert told(results, FRAME_CHANGED) == [(FRAME_CHANGED, k, k)]
    assert len(told(results, FRAME_OK)) == len(signed) - 1


@given(frames, st.randoms(use_true_random=False))
def test_a_permutation_is_only_reordered(signed, rnd):
    present = list(signed)
    rnd.shuffle(present)
    results = explained(signed, present)
    assert {r[0] for r in results} <= {FRAME_OK, FRAME_REORDERED}


@given(unique, st.randoms(use_true_random=False))
def test_distinct_frames_deleted_and_swapped_are_named(signed, rnd):
    # R-DEV-2: with distinct digests (what an encoder's frames are), each edit is exact.
    present = [d for d in signed if rnd.random() > 0.2]
    dropped = {i for i, d in enumerate(signed) if d not in present}
    if len(present) >= 2:
        a, b = sorted(rnd.sample(range(len(present)), 2))
        present[a], present[b] = present[b], present[a]
    results = explained(signed, present)
    assert {r[1] for r in told(results, FRAME_MISSING)} == dropped
    assert not told(results, FRAME_CHANGED) and not told(results, FRAME_EXTRA)
    assert len(told(results, FRAME_REORDERED)) <= 2
