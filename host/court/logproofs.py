"""Many inclusion proofs from one tree: the host log's proofs for a court package.

A package proves every exported entry, device key and custody record in the host log's
signed checkpoint (RFC 6962 inclusion proofs, ``host.tlog``). ``tlog.inclusion_proof``
recomputes the subtrees it needs from the leaves, O(n) for each proof; a package of a
one-hour recording asks for thousands. Here the perfect subtrees are computed once, level by
level (n hashes in all), and each proof is then O(log^2 n) lookups and hashes. The proofs
are the same bytes ``tlog.inclusion_proof`` gives (a test holds them to it).
"""

from collections.abc import Sequence

from host.tlog import node_hash


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class ProofTree:
    """The tree of ``leaf_hashes`` (already RFC 6962 leaf hashes), for proofs in it."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size = len(leaf_hashes)
        level = [bytes(h) for h in leaf_hashes]
        self._levels = [level]
        self._edge: dict = {}
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self._levels.append(level)

    def _root(self, start: int, n: int) -> bytes:
        """MTH of the ``n`` leaves from ``start``; ``start`` is a multiple of the largest
        power of two not above ``n``, as every range a proof needs is."""
        if n & (n - 1) == 0:
            return self._levels[n.bit_length() - 1][start // n]
        # The tree's ragged right edge: every proof asks for the same few, so kept.
        got = self._edge.get((start, n))
        if got is None:
            k = _split(n)
            got = node_hash(
                self._levels[k.bit_length() - 1][start // k], self._root(start + k, n - k)
            )
            self._edge[(start, n)] = got
        return got

    def root(self) -> bytes:
        from host.tlog import EMPTY_ROOT

        return self._root(0, self.size) if self.size else EMPTY_ROOT

    def proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index``, leaf first (as ``tlog.inclusion_proof``)."""
        if not 0 <= index < self.size:
            raise ValueError("leaf %d is not in a tree of %d leaves" % (index, self.size))
        siblings = []
        start, end = 0, self.size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                siblings.append(self._root(start + k, end - start - k))
                end = start + k
            else:
                siblings.append(self._root(start, k))
                start += k
        siblings.reverse()
        return siblings
