"""The host's own transparency log: RFC 6962 trees and proofs, C2SP signed checkpoints."""
# micropython: skip (host code, needs hypothesis and PyNaCl)
# R-HOST-5 (issue 10 §2): the host store proves its own completeness. Every stored entry and
# media digest is a leaf of this log; a deleted row breaks the root, a rolled-back store fails
# the consistency proof to a checkpoint that a witness holds.

import base64
import doctest
import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey, VerifyKey

from host import tlog
from host.tlog import (
    EMPTY_ROOT,
    Checkpoint,
    CheckpointError,
    CompactTree,
    checkpoint_body,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    note_key_hash,
    open_checkpoint,
    open_note,
    parse_checkpoint_body,
    parse_verifier_key,
    root_of,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_consistency,
    verify_inclusion,
)
from protocol.signer import make_signer

HOST_SEED = bytes(range(32))
OTHER_SEED = bytes(range(50, 82))
HOST_NAME = "evidence.example/host-log"
HOST = make_signer(HOST_SEED)
OTHER = make_signer(OTHER_SEED)


# -- The RFC 6962 §2.1 definitions, written out as plainly as the RFC states them ------------


def ref_hash_leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def ref_hash_children(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashed):
    """MTH over a list of leaf hashes (each already HASH(0x00 || d))."""
    if not hashed:
        return hashlib.sha256(b"").digest()
    if len(hashed) == 1:
        return hashed[0]
    k = ref_k(len(hashed))
    return ref_hash_children(ref_mth(hashed[:k]), ref_mth(hashed[k:]))


def ref_path(m, hashed):
    """PATH(m, D[n]) of RFC 6962 §2.1.1."""
    if len(hashed) == 1:
        return []
    k = ref_k(len(hashed))
    if m < k:
        return [*ref_path(m, hashed[:k]), ref_mth(hashed[k:])]
    return [*ref_path(m - k, hashed[k:]), ref_mth(hashed[:k])]


def ref_subproof(m, hashed, whole):
    """SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2."""
    n = len(hashed)
    if m == n:
        return [] if whole else [ref_mth(hashed)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, hashed[:k], whole), ref_mth(hashed[k:])]
    return [*ref_subproof(m - k, hashed[k:], False), ref_mth(hashed[:k])]


def ref_proof(m, hashed):
    return ref_subproof(m, hashed, True)


def leaves(n):
    return [ref_hash_leaf(b"leaf %d" % i) for i in range(n)]


class LazyLeaves(Sequence):
    """Leaf hashes made on demand, as a database-backed sequence would give them.

    Slices are refused: a proof must read leaves one index at a time, never copy a range.
    """

    def __init__(self, n):
        self.n = n
        self.reads = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not isinstance(i, int):
            raise AssertionError("the log copied a range of leaves: %r" % (i,))
        if not 0 <= i < self.n:
            raise IndexError(i)
        self.reads += 1
        return ref_hash_leaf(b"leaf %d" % i)


def flip(data, bit=0):
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


# -- Hashing and roots --------------------------------------------------------------------


def test_hashes_are_the_rfc_6962_domain_separated_sha256():
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


# The leaves and roots published with RFC 6962's reference implementation (certificate
# transparency's test data), which the plain definitions above also give.
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_roots_match_the_known_answers():
    hashed = [leaf_hash(d) for d in RFC_LEAVES]
    assert root_of([]) == EMPTY_ROOT
    for n in range(1, 9):
        assert ref_mth(hashed[:n]).hex() == RFC_ROOTS[n - 1]
        assert root_of(hashed[:n]).hex() == RFC_ROOTS[n - 1]


def test_every_small_proof_is_the_rfc_definition():
    # Exhaustive over small trees: every inclusion path and every consistency proof.
    for n in range(1, 34):
        hashed = leaves(n)
        for m in range(n):
            assert inclusion_proof(hashed, m, n) == ref_path(m, hashed)
        for m in range(1, n + 1):
            assert consistency_proof(hashed, m, n) == ref_proof(m, hashed)


@given(st.integers(0, 300), st.data())
def test_the_compact_tree_root_is_the_merkle_tree_hash(n, data):
    hashed = leaves(n)
    tree = CompactTree()
    assert tree.root() == EMPTY_ROOT
    # Persist and restore at some point on the way, as the store does between sessions.
    restore_at = data.draw(st.integers(0, n))
    for i, h in enumerate(hashed):
        if i == restore_at:
            tree = CompactTree(tree.size, tree.frontier())
        tree.append(h)
    assert tree.size == n
    assert len(tree.frontier()) == bin(n).count("1")
    assert tree.root() == root_of(hashed) == ref_mth(hashed)


def test_a_compact_tree_refuses_a_frontier_that_does_not_fit_its_size():
    with pytest.raises(ValueError):
        CompactTree(3, [b"\x00" * 32])  # 3 leaves are two perfect subtrees
    with pytest.raises(ValueError):
        CompactTree(1, [b"\x00" * 31])
    with pytest.raises(ValueError):
        CompactTree(-1)
    with pytest.raises(ValueError):
        CompactTree().append(b"short")


# -- Inclusion proofs --------------------------------------------------------------------


@given(st.integers(1, 300), st.data())
def test_every_inclusion_proof_verifies_and_nothing_else_does(n, data):
    hashed = leaves(n)
    root = ref_mth(hashed)
    index = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(hashed, index, n)
    assert proof == ref_path(index, hashed)
    assert verify_inclusion(hashed[index], index, n, proof, root)

    assert not verify_inclusion(ref_hash_leaf(b"not stored"), index, n, proof, root)
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index) if n > 1 else st.none())
    if other is not None:
        assert not verify_inclusion(hashed[index], other, n, proof, root)
        assert not verify_inclusion(hashed[other], index, n, proof, root)
    assert not verify_inclusion(hashed[index], index, n, proof, flip(root))
    assert not verify_inclusion(hashed[index], n, n, proof, root)
    assert not verify_inclusion(hashed[index], index, n, [*proof, root], root)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        tampered = list(proof)
        tampered[at] = flip(tampered[at], bit)
        assert not verify_inclusion(hashed[index], index, n, tampered, root)
        assert not verify_inclusion(hashed[index], index, n, proof[:-1], root)


def test_inclusion_proofs_read_a_lazy_sequence_one_leaf_at_a_time():
    lazy = LazyLeaves(1000)
    proof = inclusion_proof(lazy, 617, 1000)
    assert verify_inclusion(lazy[617], 617, 1000, proof, ref_mth(leaves(1000)))
    # The proof of a tree of 900 within a store of 1000 leaves never reads past leaf 899.
    short = LazyLeaves(900)
    assert inclusion_proof(lazy, 3, 900) == inclusion_proof(short, 3, 900)


def test_inclusion_proofs_refuse_impossible_arguments():
    hashed = leaves(4)
    for index, size in [(4, 4), (-1, 4), (0, 0), (0, 5)]:
        with pytest.raises(ValueError):
            inclusion_proof(hashed, index, size)


def test_verify_inclusion_answers_false_for_malformed_input():
    hashed = leaves(2)
    root = ref_mth(hashed)
    proof = inclusion_proof(hashed, 0, 2)
    assert not verify_inclusion(hashed[0][:31], 0, 2, proof, root)
    assert not verify_inclusion(hashed[0], 0, 2, [proof[0][:31]], root)
    assert not verify_inclusion(hashed[0], -1, 2, proof, root)
    assert not verify_inclusion(hashed[0], 0, 2, proof, root[:31])


# -- Consistency proofs ------------------------------------------------------------------


@given(st.integers(1, 300), st.data())
def test_every_consistency_proof_verifies_and_nothing_else_does(n, data):
    hashed = leaves(n)
    m = data.draw(st.integers(1, n))
    old_root, new_root = ref_mth(hashed[:m]), ref_mth(hashed)
    proof = consistency_proof(hashed, m, n)
    assert proof == ref_proof(m, hashed)
    assert verify_consistency(m, n, old_root, new_root, proof)

    assert not verify_consistency(m, n, flip(old_root), new_root, proof)
    assert not verify_consistency(m, n, old_root, flip(new_root), proof)
    assert not verify_consistency(m, n, old_root, new_root, [*proof, old_root])
    assert not verify_consistency(n, m, new_root, old_root, proof) or m == n
    if m > 1:
        assert not verify_consistency(m - 1, n, old_root, new_root, proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        tampered = list(proof)
        tampered[at] = flip(tampered[at], bit)
        assert not verify_consistency(m, n, old_root, new_root, tampered)
        assert not verify_consistency(m, n, old_root, new_root, proof[:-1])


@given(st.integers(2, 120), st.data())
def test_a_rewritten_history_has_no_consistency_proof(n, data):
    # A store whose old leaves were changed (a row rewritten) cannot prove it extends the
    # tree a witness saw, whatever proof it computes from its own leaves.
    hashed = leaves(n)
    m = data.draw(st.integers(1, n - 1))
    witnessed = ref_mth(hashed[:m])
    rewritten = list(hashed)
    rewritten[data.draw(st.integers(0, m - 1))] = ref_hash_leaf(b"rewritten")
    proof = consistency_proof(rewritten, m, n)
    assert not verify_consistency(m, n, witnessed, ref_mth(rewritten), proof)


def test_consistency_from_the_empty_tree_and_to_the_same_tree():
    hashed = leaves(5)
    root = ref_mth(hashed)
    assert consistency_proof(hashed, 0, 5) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 5, root, root, [])
    assert consistency_proof(hashed, 5, 5) == []
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, root, flip(root), [])
    assert not verify_consistency(5, 5, root, root, [root])
    assert not verify_consistency(3, 5, ref_mth(hashed[:3]), root, [])
    with pytest.raises(ValueError):
        consistency_proof(hashed, 4, 3)
    with pytest.raises(ValueError):
        consistency_proof(hashed, 3, 6)


def test_consistency_proofs_read_a_lazy_sequence_one_leaf_at_a_time():
    lazy = LazyLeaves(1000)
    proof = consistency_proof(lazy, 613, 1000)
    assert verify_consistency(613, 1000, ref_mth(leaves(613)), ref_mth(leaves(1000)), proof)


# -- Checkpoint text ---------------------------------------------------------------------


def test_a_checkpoint_body_is_the_c2sp_text():
    root = bytes(range(32))
    cp = Checkpoint("evidence.example/log", 12, root, ("ext one", "ext two"))
    expected = "evidence.example/log\n12\n%s\next one\next two\n" % base64.b64encode(root).decode()
    assert checkpoint_body(cp) == expected.encode()
    assert parse_checkpoint_body(checkpoint_body(cp)) == cp
    empty = Checkpoint("o", 0, EMPTY_ROOT)
    assert checkpoint_body(empty) == b"o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


origins = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1, max_size=40
)
checkpoints = st.builds(
    Checkpoint,
    origins,
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(origins, max_size=3).map(tuple),
)


@given(checkpoints)
def test_checkpoint_bodies_round_trip(cp):
    assert parse_checkpoint_body(checkpoint_body(cp)) == cp


ROOT_B64 = base64.b64encode(b"\x07" * 32).decode()


@pytest.mark.parametrize(
    "body",
    [
        "o\n5\n%s" % ROOT_B64,  # no final newline
        "o\n5\n",  # no root
        "\n5\n%s\n" % ROOT_B64,  # empty origin
        "o\n05\n%s\n" % ROOT_B64,  # leading zero
        "o\n+5\n%s\n" % ROOT_B64,
        "o\n 5\n%s\n" % ROOT_B64,
        "o\n5_0\n%s\n" % ROOT_B64,
        "o\n\u0665\n%s\n" % ROOT_B64,  # a non-ASCII digit
        "o\n18446744073709551616\n%s\n" % ROOT_B64,  # 2^64
        "o\n%s\n%s\n" % ("9" * 5000, ROOT_B64),
        "o\n5\n%s\n" % ROOT_B64.rstrip("="),  # no padding
        "o\n5\n%s\n" % base64.b64encode(b"\x07" * 31).decode(),  # 31 bytes
        "o\n5\n%s\n" % base64.urlsafe_b64encode(b"\xff" * 32).decode(),
        "o\n5\n%s\n" % (ROOT_B64[:-2] + "x="),  # padding bits set: not canonical
        "o\n5\n%s\n\n" % ROOT_B64,  # an empty extension line
        "o\r\n5\n%s\n" % ROOT_B64,
        "o\n5\n%s\r\n" % ROOT_B64,
        "o\x00\n5\n%s\n" % ROOT_B64,
    ],
)
def test_a_checkpoint_body_that_is_not_exact_is_refused(body):
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body.encode("utf-8"))


def test_a_checkpoint_body_that_is_not_utf8_is_refused():
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(b"o\xff\n5\n" + ROOT_B64.encode() + b"\n")


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_checkpoint_error(data):
    try:
        cp = parse_checkpoint_body(data)
    except CheckpointError:
        return
    assert checkpoint_body(cp) == data  # anything accepted is in its one exact spelling


def test_a_checkpoint_with_bad_fields_cannot_be_made():
    root = b"\x00" * 32
    for args in [
        ("", 1, root),
        ("a\nb", 1, root),
        ("o", -1, root),
        ("o", 2**64, root),
        ("o", 1, root[:31]),
        ("o", True, root),
        ("\ud800", 1, root),
    ]:
        with pytest.raises(CheckpointError):
            Checkpoint(*args)
    for extensions in [("",), ("a\nb",), ["list"]]:
        with pytest.raises(CheckpointError):
            Checkpoint("o", 1, root, extensions)


# -- Signed notes ------------------------------------------------------------------------


def test_the_c2sp_specification_example_verifies():
    # The verifier key and signed note given as the example in the C2SP signed-note text.
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    note = (
        "This is an example message.\n\n"
        "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsY"
        "jOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    ).encode()
    name, public = parse_verifier_key(vkey)
    assert name == "example.com/foo"
    assert verifier_key(name, public) == vkey
    assert note_key_hash(name, public).hex() == "530d903a"
    assert open_note(note, name, public) == b"This is an example message.\n"
    with pytest.raises(CheckpointError):
        open_note(note.replace(b"example message", b"example massage"), name, public)


def test_a_signed_checkpoint_is_exactly_what_pynacl_verifies():
    cp = Checkpoint(HOST_NAME, 1234, bytes(range(32)))
    note = sign_checkpoint(cp, HOST_NAME, HOST)
    body = checkpoint_body(cp)
    native = SigningKey(HOST_SEED)
    public = bytes(native.verify_key)
    key_id = hashlib.sha256(HOST_NAME.encode() + b"\n\x01" + public).digest()[:4]
    signature = native.sign(body).signature
    line = "\u2014 %s %s\n" % (HOST_NAME, base64.b64encode(key_id + signature).decode())
    assert note == body + b"\n" + line.encode()
    VerifyKey(public).verify(body, signature)
    assert open_checkpoint(note, HOST_NAME, public) == cp


@settings(max_examples=50)
@given(checkpoints)
def test_checkpoints_round_trip_through_sign_and_open(cp):
    note = sign_checkpoint(cp, HOST_NAME, HOST)
    assert open_checkpoint(note, HOST_NAME, HOST.public_key()) == cp


def good_note():
    cp = Checkpoint(HOST_NAME, 42, bytes(range(32)), ("extension",))
    return sign_checkpoint(cp, HOST_NAME, HOST)


@given(st.data())
def test_any_changed_byte_makes_the_note_refused(data):
    note = good_note()
    at = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != note[at]))
    changed = note[:at] + bytes([value]) + note[at + 1 :]
    with pytest.raises(CheckpointError):
        open_checkpoint(changed, HOST_NAME, HOST.public_key())


@given(st.data())
def test_any_cut_or_insertion_makes_the_note_refused(data):
    note = good_note()
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(note) - 1))
        end = data.draw(st.integers(at + 1, len(note)))
        changed = note[:at] + note[end:]
    else:
        at = data.draw(st.integers(0, len(note)))
        changed = note[:at] + data.draw(st.binary(min_size=1, max_size=8)) + note[at:]
    with pytest.raises(CheckpointError):
        open_checkpoint(changed, HOST_NAME, HOST.public_key())


@given(st.binary(max_size=400))
def test_any_bytes_raise_checkpoint_error_and_nothing_else(data):
    with pytest.raises(CheckpointError):
        open_checkpoint(data, HOST_NAME, HOST.public_key())


@given(st.text(max_size=200))
def test_any_text_after_a_good_body_raises_checkpoint_error(tail):
    # Note-shaped input: a real checkpoint body and a blank line, then anything at all.
    body = checkpoint_body(Checkpoint(HOST_NAME, 1, bytes(32)))
    with pytest.raises(CheckpointError):
        open_checkpoint(
            body + b"\n" + tail.encode("utf-8", "surrogatepass"), HOST_NAME, HOST.public_key()
        )


def test_a_note_signed_by_another_key_or_name_is_refused():
    cp = Checkpoint(HOST_NAME, 42, bytes(range(32)))
    by_other_key = sign_checkpoint(cp, HOST_NAME, OTHER)
    by_other_name = sign_checkpoint(cp, "someone.example/log", HOST)
    for note in (by_other_key, by_other_name):
        with pytest.raises(CheckpointError, match="no signature"):
            open_checkpoint(note, HOST_NAME, HOST.public_key())


def other_signature_line(body, name, signer):
    return sign_note(body, name, signer)[len(body) + 1 :]


def test_signatures_by_other_keys_are_ignored():
    cp = Checkpoint(HOST_NAME, 42, bytes(range(32)))
    body = checkpoint_body(cp)
    ours = other_signature_line(body, HOST_NAME, HOST)
    witness = other_signature_line(body, "witness.example/w1", OTHER)
    same_name_other_key = other_signature_line(body, HOST_NAME, OTHER)
    unknown = "\u2014 other.example/x %s\n" % base64.b64encode(b"\xff" * 80).decode()
    for lines in [
        [witness, ours],
        [ours, witness, same_name_other_key],
        [same_name_other_key, unknown.encode(), ours],
    ]:
        note = body + b"\n" + b"".join(lines)
        assert open_checkpoint(note, HOST_NAME, HOST.public_key()) == cp
        assert open_checkpoint(note, HOST_NAME, HOST.public_key()) == cp
    note = body + b"\n" + witness + ours
    assert open_checkpoint(note, "witness.example/w1", OTHER.public_key()) == cp


def test_a_bad_signature_by_the_known_key_refuses_the_note():
    cp = Checkpoint(HOST_NAME, 42, bytes(range(32)))
    body = checkpoint_body(cp)
    ours = other_signature_line(body, HOST_NAME, HOST)
    key_id = note_key_hash(HOST_NAME, HOST.public_key())
    forged = "\u2014 %s %s\n" % (HOST_NAME, base64.b64encode(key_id + b"\x00" * 64).decode())
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(body + b"\n" + ours + forged.encode(), HOST_NAME, HOST.public_key())
    short = "\u2014 %s %s\n" % (HOST_NAME, base64.b64encode(key_id + b"\x00" * 63).decode())
    with pytest.raises(CheckpointError, match="not an Ed25519"):
        open_checkpoint(body + b"\n" + ours + short.encode(), HOST_NAME, HOST.public_key())


def test_too_many_signature_lines_are_refused_but_sixteen_are_not():
    cp = Checkpoint(HOST_NAME, 42, bytes(range(32)))
    body = checkpoint_body(cp)
    ours = other_signature_line(body, HOST_NAME, HOST)
    filler = other_signature_line(body, "witness.example/w1", OTHER)
    assert open_checkpoint(body + b"\n" + filler * 15 + ours, HOST_NAME, HOST.public_key()) == cp
    with pytest.raises(CheckpointError, match="more than"):
        open_checkpoint(
            body + b"\n" + filler * tlog.MAX_SIGNATURES + ours, HOST_NAME, HOST.public_key()
        )


def test_key_names_and_keys_are_checked():
    public = HOST.public_key()
    for name in ["", "a b", "a+b", "a\u00a0b", "a\nb"]:
        with pytest.raises(ValueError):
            note_key_hash(name, public)
        with pytest.raises(CheckpointError):
            open_checkpoint(good_note(), name, public)
    with pytest.raises(ValueError):
        verifier_key(HOST_NAME, public[:31])
    with pytest.raises(CheckpointError):
        open_checkpoint(good_note(), HOST_NAME, public[:31])
    vkey = verifier_key(HOST_NAME, public)
    assert parse_verifier_key(vkey) == (HOST_NAME, public)
    wrong_id = vkey.replace("+%s+" % note_key_hash(HOST_NAME, public).hex(), "+00000000+")
    for bad in [wrong_id, vkey + "=", HOST_NAME, "+" + vkey.split("+", 1)[1]]:
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


def test_sign_note_refuses_text_that_is_not_a_note():
    for body in [b"no newline", b"bad\x01control\n", b"\xff\n"]:
        with pytest.raises(CheckpointError):
            sign_note(body, HOST_NAME, HOST)


def test_the_module_example_runs():
    result = doctest.testmod(tlog)
    assert result.attempted > 0 and result.failed == 0
