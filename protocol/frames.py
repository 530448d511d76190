"""Per-frame hashing: a digest of every frame, taken the moment it is captured.

A chunk entry lists these digests in capture order, so a lost or changed frame is pinpointed
to its index, as in ONVIF Media Signing's per-NAL-unit mode. A frame digest is SHA-256
truncated to its first 16 bytes: 128-bit second-preimage resistance is far beyond forging one
frame to match, and it halves the digests' share of the signed ledger (about 4 kbit/s of
footage at 30 fps; see BENCHMARKS.md). The chunk's media as a whole carries its full SHA-256
(F_PLAIN_SHA).
"""

import hashlib

FRAME_DIGEST_LEN = 16


def frame_digest(frame: bytes) -> bytes:
    """The digest the ledger keeps for one encoded frame or audio block."""
    return hashlib.sha256(frame).digest()[:FRAME_DIGEST_LEN]


class FrameHashes:
    """The digests of one chunk's frames, in capture order."""

    def __init__(self) -> None:
        self.digests: list = []

    def add(self, frame: bytes, digest: "bytes | None" = None) -> bytes:
        """Remember one encoded frame's digest: ``digest`` when it was taken at capture (a
        frame buffered before the button), else hashed now."""
        if digest is None:
            digest = frame_digest(frame)
        self.digests.append(digest)
        return digest

    def take(self) -> list:
        """The digests so far, and start a new chunk."""
        out = self.digests
        self.digests = []
        return out


# --- which frames a chunk still holds as signed ----------------------------------------------
#
# The verifier holds a chunk's signed frame digests and the digests of the frames a file
# actually carries for it. ``compare`` says, frame by frame, what became of each, in the
# manner of ONVIF Media Signing's validation string: the frames that are still in their
# signed order are OK, a frame whose bytes differ in a signed frame's place is CHANGED, a
# signed frame that is nowhere is MISSING, a signed frame found in another place is
# REORDERED, and a frame no signature names is EXTRA (added).

FRAME_OK = "ok"
FRAME_CHANGED = "changed"
FRAME_MISSING = "missing"
FRAME_REORDERED = "reordered"
FRAME_EXTRA = "extra"

# One character per result, as ONVIF's validation string writes them ('.' valid, 'N' not
# valid, 'M' missing); reordered and added frames get letters of their own.
FRAME_CHARS = {
    FRAME_OK: ".",
    FRAME_CHANGED: "N",
    FRAME_MISSING: "M",
    FRAME_REORDERED: "R",
    FRAME_EXTRA: "A",
}


def compare(signed: list, present: list) -> list:
    """What became of each frame: ``[(state, signed_index, present_index)]``.

    ``signed`` are the digests the chunk entry signs, ``present`` those of the frames found,
    both in decode order. Every signed index and every present index is named exactly once;
    the index a result has no use for is -1 (a missing frame is not present, an extra frame
    is not signed). Results come in the present frames' order, a missing frame where it
    should have been. OK frames keep their signed order and are as many as can be: the
    longest run of signed frames still in order (matched by digest; a digest signed twice
    matches its occurrences in order). Between two OK frames, the frames not found by digest
    are paired in order: a pair is CHANGED, a signed frame left over MISSING, a present one
    left over EXTRA. An unchanged list is all OK.
    """
    n = len(signed)
    m = len(present)
    # The common head and tail cost one pass; a single change, loss or insertion is then
    # told exactly, whatever digests repeat.
    head = 0
    while head < n and head < m and signed[head] == present[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and signed[n - 1 - tail] == present[m - 1 - tail]:
        tail += 1
    out = [(FRAME_OK, i, i) for i in range(head)]
    out.extend(_middle(signed, present, head, n - tail, m - tail))
    out.extend((FRAME_OK, n - tail + k, m - tail + k) for k in range(tail))
    return out


def _middle(signed: list, present: list, head: int, s_end: int, p_end: int) -> list:
    """``compare`` of signed[head:s_end] against present[head:p_end], indices absolute."""
    # Pair each present frame with the next unused signed frame of the same digest.
    places: dict = {}
    for i in range(s_end - 1, head - 1, -1):
        places.setdefault(signed[i], []).append(i)  # reversed: pop() gives the first
    match = {}  # present index -> signed index
    for j in range(head, p_end):
        free = places.get(present[j])
        if free:
            match[j] = free.pop()
    anchors = _in_order(match)  # present indices whose pairs stay OK
    reordered = {j for j in match if j not in anchors}
    taken = set(match.values())
    out: list = []
    s_next = head  # the next signed index not yet told, in the current gap
    ordered = sorted(anchors)
    ordered.append(p_end)  # the end closes the last gap
    j = head
    for anchor in ordered:
        s_stop = match[anchor] if anchor < p_end else s_end
        for p in range(j, anchor):
            if p in reordered:
                out.append((FRAME_REORDERED, match[p], p))
                continue
            while s_next < s_stop and s_next in taken:
                s_next += 1
            if s_next < s_stop:
                out.append((FRAME_CHANGED, s_next, p))
                s_next += 1
            else:
                out.append((FRAME_EXTRA, -1, p))
        for i in range(s_next, s_stop):
            if i not in taken:
                out.append((FRAME_MISSING, i, -1))
        if anchor < p_end:
            out.append((FRAME_OK, s_stop, anchor))
        s_next = s_stop + 1
        j = anchor + 1
    return out


def _in_order(match: dict) -> set:
    """The present indices of the longest run of pairs whose signed indices rise with the
    present ones (patience sorting, O(k log k))."""
    keys = sorted(match)
    tops: list = []  # tops[k]: position in keys of the run of length k + 1 with the least end
    back = [-1] * len(keys)
    for pos in range(len(keys)):
        value = match[keys[pos]]
        lo, hi = 0, len(tops)
        while lo < hi:
            mid = (lo + hi) // 2
            if match[keys[tops[mid]]] < value:
                lo = mid + 1
            else:
                hi = mid
        if lo > 0:
            back[pos] = tops[lo - 1]
        if lo == len(tops):
            tops.append(pos)
        else:
            tops[lo] = pos
    run = set()
    pos = tops[-1] if tops else -1
    while pos >= 0:
        run.add(keys[pos])
        pos = back[pos]
    return run


def validation_string(results: list) -> str:
    """``compare``'s results as one character each (FRAME_CHARS), e.g. ``"..N.M.."``."""
    return "".join(FRAME_CHARS[r[0]] for r in results)
