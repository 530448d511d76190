"""The host's own transparency log: Merkle tree hashing, proofs and signed checkpoints.

Why it exists: the evidence store must prove its own completeness (DESIGN.md, "The host's
own log"). Every entry and media digest the host stores becomes a leaf of an append-only
Merkle tree (RFC 6962 hashing), and after each session the host signs a checkpoint of that
tree (C2SP tlog-checkpoint, a C2SP signed note). A row deleted from the store no longer
hashes to the checkpoint's root; a store rolled back or rewritten cannot give a consistency
proof to a checkpoint that someone else (a witness) holds. Nothing is ever removed silently
(R-HOST-5).

This module is sans-I/O: bytes and integers in, bytes and booleans out. Proofs read leaf
hashes through a ``Sequence`` by index, so the caller may back it with a database; besides
that sequence they use O(log n) memory.

A small example: a tree of three leaves, an inclusion proof and a consistency proof.

>>> leaves = [leaf_hash(b"entry %d" % i) for i in range(3)]
>>> tree = CompactTree()
>>> for h in leaves:
...     tree.append(h)
>>> tree.root() == root_of(leaves)
True
>>> proof = inclusion_proof(leaves, 1, 3)
>>> verify_inclusion(leaves[1], 1, 3, proof, tree.root())
True
>>> old_root = root_of(leaves[:2])
>>> verify_consistency(2, 3, old_root, tree.root(), consistency_proof(leaves, 2, 3))
True
>>> print(checkpoint_body(Checkpoint("host.example/log", 3, tree.root())).decode(), end="")
host.example/log
3
lPvQ3YNvUDAWkubQ6t5yjuGexSv/8WBu2AfIV11aqhk=
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from protocol.signer import verify_signature

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
# A tree size must fit the uint64 that every other tlog implementation reads it into.
MAX_TREE_SIZE = (1 << 64) - 1

# C2SP signed-note: verifiers must accept at least 16 signatures; more than this is refused,
# and so is a note larger than any checkpoint with that many signatures could be.
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 16
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
ED25519_TYPE = b"\x01"
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z", re.ASCII)


class CheckpointError(ValueError):
    """A signed note or checkpoint does not parse or does not verify; the message says why."""


class NoteSigner(Protocol):
    """What signs a note: an Ed25519 key (``protocol.signer.Ed25519Signer`` is one)."""

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        ...

    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        ...


# -- RFC 6962 §2.1 hashing -------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + bytes(left) + bytes(right)).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where RFC 6962 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactTree:
    """A Merkle tree kept as its right edge only, so appending costs O(log n) state.

    ``frontier()`` lists the roots of the perfect subtrees that make up the tree, largest
    (leftmost) first: one per set bit of ``size``. ``CompactTree(size, frontier)`` restores
    a tree from what was persisted.
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
            raise ValueError("a tree size is an integer from 0 to 2^64-1, not %r" % (size,))
        hashes = [bytes(h) for h in frontier]
        if len(hashes) != bin(size).count("1"):
            raise ValueError(
                "a tree of %d leaves has %d frontier hashes, not %d"
                % (size, bin(size).count("1"), len(hashes))
            )
        for h in hashes:
            _need_hash("a frontier hash", h)
        self.size = size
        self._frontier = hashes

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf, given as its ``leaf_hash``."""
        if self.size >= MAX_TREE_SIZE:
            raise ValueError("the tree is full at 2^64-1 leaves")
        node = bytes(leaf_hash)
        _need_hash("a leaf hash", node)
        # Each trailing set bit of the old size is a perfect subtree as large as what is
        # being carried: merge them, as binary addition carries a one.
        size = self.size
        while size & 1:
            node = node_hash(self._frontier.pop(), node)
            size >>= 1
        self._frontier.append(node)
        self.size += 1

    def root(self) -> bytes:
        """The RFC 6962 Merkle tree hash of every leaf appended so far."""
        if not self._frontier:
            return EMPTY_ROOT
        node = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            node = node_hash(left, node)
        return node

    def frontier(self) -> list[bytes]:
        """The perfect subtrees' roots, largest first: persist these with ``size``."""
        return list(self._frontier)


def _need_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError("%s is %d bytes, not %d" % (what, len(value), HASH_SIZE))


def _range_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) over already-hashed leaves, reading them one at a time."""
    tree = CompactTree()
    for i in range(start, end):
        tree.append(leaf_hashes[i])
    return tree.root()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The RFC 6962 Merkle tree hash (MTH) of these already-hashed leaves."""
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


# -- Inclusion proofs: RFC 6962 §2.1.1, verified as RFC 9162 §2.1.3.2 ------------------------


def _check_sizes(leaf_hashes: Sequence[bytes], size: int) -> None:
    if not 0 <= size <= len(leaf_hashes):
        raise ValueError("a tree size of %d, but %d leaves are given" % (size, len(leaf_hashes)))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves, leaf first."""
    _check_sizes(leaf_hashes, size)
    if not 0 <= index < size:
        raise ValueError("leaf %d is not in a tree of %d leaves" % (index, size))
    siblings = []  # gathered root first; the proof lists them from the leaf up
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            siblings.append(_range_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            siblings.append(_range_root(leaf_hashes, start, start + k))
            start += k
    siblings.reverse()
    return siblings


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf with ``leaf_hash`` at ``index`` in the tree ``root``."""
    if not (_is_size(index) and _is_size(size) and index < size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and all(_is_hash(p) for p in proof)):
        return False
    fn, sn = index, size - 1
    node = bytes(leaf_hash)
    for sibling in proof:
        if sn == 0:
            return False  # the proof is longer than the tree is deep
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            # Skip the levels where this node is a lone right edge with nothing beside it.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


# -- Consistency proofs: RFC 6962 §2.1.2, verified as RFC 9162 §2.1.4.2 ----------------------


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """The proof that the tree of ``old_size`` leaves is a prefix of that of ``new_size``."""
    _check_sizes(leaf_hashes, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError("no consistency proof from size %d to %d" % (old_size, new_size))
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[start:end], whole), unrolled: each step keeps the half that holds the
    # old tree's right edge and records the other half's root.
    hashes = []  # gathered root first; the proof lists them from the bottom up
    start, end, m, whole = 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            hashes.append(_range_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            hashes.append(_range_root(leaf_hashes, start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        hashes.append(_range_root(leaf_hashes, start, end))
    hashes.reverse()
    return hashes


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``old_root`` is a prefix of the tree ``new_root``."""
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and all(_is_hash(p) for p in proof)):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = [bytes(p) for p in proof]
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))  # the old tree is one perfect subtree: its own root
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_node = new_node = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False  # the proof is longer than the tree is deep
        if fn & 1 or fn == sn:
            old_node = node_hash(sibling, old_node)
            new_node = node_hash(sibling, new_node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_node = node_hash(new_node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and old_node == old_root and new_node == new_root


# -- C2SP tlog-checkpoint ---------------------------------------------------------------------


def _text_problem(text: str) -> str:
    """Why ``text`` cannot be a line of a note ('' if it can): UTF-8, no control characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    for ch in text:
        if ch < " ":
            return "holds the control character U+%04X" % ord(ch)
    return ""


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: the log ``origin``, its tree ``size`` and the tree's ``root``.

    ``extensions`` are the optional extra lines after the root, each non-empty. A Checkpoint
    is always well formed: a bad field raises CheckpointError here, not when it is written.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise CheckpointError("the checkpoint's origin line is empty")
        problem = _text_problem(self.origin)
        if problem:
            raise CheckpointError("the checkpoint's origin %s" % problem)
        if not _is_size(self.size):
            raise CheckpointError("a tree size is an integer from 0 to 2^64-1")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError("a root hash is %d bytes of SHA-256" % HASH_SIZE)
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("the checkpoint's extension lines are a tuple of text")
        for line in self.extensions:
            if not isinstance(line, str) or not line:
                raise CheckpointError("a checkpoint extension line is empty")
            problem = _text_problem(line)
            if problem:
                raise CheckpointError("a checkpoint extension line %s" % problem)


def checkpoint_body(cp: Checkpoint) -> bytes:
    """The checkpoint as note text: origin, size, base64 root, extension lines, each ending
    in a newline."""
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root).decode("ascii")]
    lines.extend(cp.extensions)
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _note_text(data: bytes, what: str) -> str:
    """``data`` as note text: valid UTF-8 without control characters other than newline."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("the %s is not valid UTF-8" % what) from None
    for ch in text:
        if ch < " " and ch != "\n":
            raise CheckpointError("the %s holds the control character U+%04X" % (what, ord(ch)))
    return text


def _strict_b64decode(text: str, what: str) -> bytes:
    """Standard base64 with padding, in its one canonical spelling only."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise CheckpointError("the %s is not standard base64" % what) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError("the %s is not canonical base64" % what)
    return raw


def parse_checkpoint_body(body: bytes) -> Checkpoint:
    """The checkpoint this note text holds; CheckpointError on anything that is not exact."""
    text = _note_text(body, "checkpoint")
    if not text.endswith("\n"):
        raise CheckpointError("the checkpoint does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
    if any(not line for line in lines):
        raise CheckpointError("the checkpoint has an empty line")
    origin, size_text, root_text = lines[:3]
    if not _DECIMAL.match(size_text) or len(size_text) > 20:
        raise CheckpointError("the checkpoint's size is not a plain decimal number")
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise CheckpointError("the checkpoint's size is beyond 2^64-1")
    root = _strict_b64decode(root_text, "checkpoint's root hash")
    if len(root) != HASH_SIZE:
        raise CheckpointError("the checkpoint's root hash is %d bytes, not 32" % len(root))
    return Checkpoint(origin, size, root, tuple(lines[3:]))


# -- C2SP signed-note, Ed25519 ----------------------------------------------------------------


def _need_key_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("a key name is non-empty text")
    problem = _text_problem(name)
    if problem:
        raise ValueError("the key name %s" % problem)
    if "+" in name or any(ch.isspace() for ch in name):
        raise ValueError("a key name holds no spaces and no '+'")


def _need_public_key(public: bytes) -> None:
    if not isinstance(public, (bytes, bytearray)) or len(public) != ED25519_KEY_SIZE:
        raise ValueError("an Ed25519 public key is %d bytes" % ED25519_KEY_SIZE)


def note_key_hash(name: str, public: bytes) -> bytes:
    """The C2SP key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || public)[:4]."""
    _need_key_name(name)
    _need_public_key(public)
    material = name.encode("utf-8") + b"\n" + ED25519_TYPE + bytes(public)
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def verifier_key(name: str, public: bytes) -> str:
    """The C2SP verifier key text for an Ed25519 key: ``name+hex(key ID)+base64(0x01||key)``."""
    key_id = note_key_hash(name, public)
    encoded = base64.b64encode(ED25519_TYPE + bytes(public)).decode("ascii")
    return "%s+%s+%s" % (name, key_id.hex(), encoded)


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """The (name, public key) of an Ed25519 verifier key; CheckpointError if it is not one."""
    name, _, rest = vkey.partition("+")
    key_id_hex, _, encoded = rest.partition("+")
    try:
        _need_key_name(name)
    except ValueError as e:
        raise CheckpointError("the verifier key's name: %s" % e) from None
    material = _strict_b64decode(encoded, "verifier key")
    if len(material) != 1 + ED25519_KEY_SIZE or material[:1] != ED25519_TYPE:
        raise CheckpointError("the verifier key is not an Ed25519 key")
    public = material[1:]
    if key_id_hex != note_key_hash(name, public).hex():
        raise CheckpointError("the verifier key's ID does not match its name and key")
    return name, public


def sign_note(body: bytes, name: str, signer: NoteSigner) -> bytes:
    """The signed note: ``body``, a blank line, and the Ed25519 signature line of ``name``."""
    text = _note_text(body, "note text")
    if not text.endswith("\n"):
        raise CheckpointError("the note text does not end with a newline")
    public = signer.public_key()
    key_id = note_key_hash(name, public)
    signature = signer.sign(bytes(body))
    if len(signature) != ED25519_SIGNATURE_SIZE:
        raise ValueError("the signer gave %d bytes, not an Ed25519 signature" % len(signature))
    encoded = base64.b64encode(key_id + bytes(signature)).decode("ascii")
    line = "%s%s %s\n" % (SIGNATURE_PREFIX, name, encoded)
    return bytes(body) + b"\n" + line.encode("utf-8")


def _signature_lines(block: str) -> list[tuple[str, bytes]]:
    """The (key name, key ID || signature) of each line of a note's signature block."""
    if not block.endswith("\n"):
        raise CheckpointError("the note's signature lines do not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError("the note has more than %d signatures" % MAX_SIGNATURES)
    parsed = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError("a note signature line does not start with an em dash")
        name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space:
            raise CheckpointError("a note signature line has no signature after the key name")
        try:
            _need_key_name(name)
        except ValueError as e:
            raise CheckpointError("a note signature line's key name: %s" % e) from None
        raw = _strict_b64decode(encoded, "note signature")
        if len(raw) <= KEY_ID_SIZE:
            raise CheckpointError("a note signature is too short to hold a key ID")
        parsed.append((name, raw))
    return parsed


def open_note(note: bytes, name: str, public: bytes) -> bytes:
    """The text of ``note`` once its Ed25519 signature by (``name``, ``public``) verifies.

    Signatures by other keys are ignored, as C2SP signed-note requires; every line must
    still be well formed. CheckpointError says what is missing, bad or malformed.
    """
    try:
        key_id = note_key_hash(name, public)
    except ValueError as e:
        raise CheckpointError("cannot check a note with this key: %s" % e) from None
    if len(note) > MAX_NOTE_BYTES:
        raise CheckpointError("the note is over %d bytes" % MAX_NOTE_BYTES)
    text = _note_text(note, "note")
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("the note has no blank line before its signatures")
    body = text[: split + 1].encode("utf-8")
    found = False
    for signer_name, raw in _signature_lines(text[split + 2 :]):
        if signer_name != name or raw[:KEY_ID_SIZE] != key_id:
            continue
        signature = raw[KEY_ID_SIZE:]
        if len(signature) != ED25519_SIGNATURE_SIZE:
            raise CheckpointError("the signature by %s is not an Ed25519 signature" % name)
        if not verify_signature(bytes(public), body, signature):
            raise CheckpointError("the signature by %s does not verify" % name)
        found = True
    if not found:
        raise CheckpointError("the note carries no signature by %s with this key" % name)
    return body


def sign_checkpoint(cp: Checkpoint, name: str, signer: NoteSigner) -> bytes:
    """The checkpoint as a signed note, signed by ``signer`` under the key name ``name``."""
    return sign_note(checkpoint_body(cp), name, signer)


def open_checkpoint(note: bytes, name: str, public: bytes) -> Checkpoint:
    """The checkpoint in ``note`` once its signature by (``name``, ``public``) verifies."""
    return parse_checkpoint_body(open_note(note, name, public))
