"""The court package's offline page, its checking parts in Chromium: the CBOR reader against
protocol/cbor.py, COSE_Sign1 ledger entries, the host log's signed checkpoint and RFC 6962
inclusion proofs, each good and tampered (issue 15, "Verification without sealcam")."""

import hashlib
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host import tlog
from host.court.verifier import page_html
from protocol import cbor
from protocol.errors import ProtocolError
from protocol.ledger import LedgerWriter
from protocol.registry import EV_RECORD_START, F_EVENT, KIND_EVENT
from protocol.signer import make_signer
from tests import browser

SEED = bytes(range(1, 33))
OTHER_SEED = bytes(range(2, 34))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    html = folder / "verify.html"
    html.write_text(page_html(), encoding="utf-8")
    with browser.browser() as context:
        p = context.new_page()
        errors: list = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.goto(html.as_uri())
        assert p.evaluate("typeof SC.package.verifyPackage") == "function"
        yield p
        assert not errors, errors


def describe(v: object) -> object:
    """The plain description SC.cbor.describeItem gives of the same value."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, float):
        return {"f": "nan" if math.isnan(v) else struct.pack(">d", v).hex()}
    if isinstance(v, str):
        return {"s": v}
    if isinstance(v, bytes):
        return {"b": v.hex()}
    if isinstance(v, list):
        return {"a": [describe(x) for x in v]}
    if isinstance(v, dict):
        return {"m": [[describe(k), describe(x)] for k, x in v.items()]}
    if isinstance(v, cbor.Tag):
        return {"tag": str(v.tag), "v": describe(v.value)}
    raise TypeError(type(v))


READ = """(h) => {
    try { return {ok: true, d: SC.cbor.describeItem(SC.crypto.fromHex(h))}; }
    catch (e) { return {ok: false, why: String(e.message)}; }
}"""

keys = st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=8), st.binary(max_size=8))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(keys, inner, max_size=5),
        st.builds(cbor.Tag, st.integers(4, 2**64 - 1), inner),
    ),
    max_leaves=20,
)
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(value=values)
def test_cbor_reads_what_python_writes(page, value):  # issue 15: the page's own CBOR reader
    data = cbor.dumps(value)
    got = page.evaluate(READ, data.hex())
    assert got["ok"], got
    assert got["d"] == describe(cbor.loads(data))


REFUSED = object()


def _mutations(data: bytes, cut: int, flip: int, bit: int) -> list:
    out = [data[:cut], data + b"\x00"]
    if data:
        i = flip % len(data)
        out.append(data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :])
    return out


@FEW
@given(
    value=values,
    cut=st.integers(0, 40),
    flip=st.integers(0, 200),
    bit=st.integers(0, 7),
    junk=st.binary(max_size=24),
)
def test_cbor_refuses_exactly_what_python_refuses(page, value, cut, flip, bit, junk):
    # The strict reader: truncated, bit-flipped and arbitrary bytes are accepted by the page
    # exactly when protocol/cbor.py accepts them, and then as the same value.
    data = cbor.dumps(value)
    for sample in [*_mutations(data, cut, flip, bit), junk]:
        try:
            expected = describe(cbor.loads(sample))
        except ProtocolError:
            expected = REFUSED  # not None: CBOR's null is a value the page must read
        got = page.evaluate(READ, sample.hex())
        if expected is REFUSED:
            assert not got["ok"], (sample.hex(), got)
        else:
            assert got["ok"], (sample.hex(), got)
            assert got["d"] == expected


@pytest.mark.parametrize(
    "hexed",
    [
        "1817",  # 23 in a long head
        "5f40ff",  # indefinite byte string
        "a2616201616101",  # keys out of order
        "a2010101",  # repeated key
        "fa3f800000",  # 1.0 as a single: not shortest
        "f97e01",  # a NaN other than the one canonical NaN
        "c24100",  # bignum with a leading zero / fits 64 bits
        "f7",  # undefined: not supported
        "62c328",  # invalid UTF-8
        "63efbbbf",  # a BOM is text, not skipped: this one is accepted
    ],
)
def test_cbor_edge_cases_agree_with_python(page, hexed):
    sample = bytes.fromhex(hexed)
    try:
        expected = describe(cbor.loads(sample))
    except ProtocolError:
        expected = None
    got = page.evaluate(READ, hexed)
    assert got["ok"] is (expected is not None), got
    if expected is not None:
        assert got["d"] == expected


CHECK_RUN = """async ([raws, key, device]) => {
    const bytes = raws.map(SC.crypto.fromHex);
    const run = await SC.ledger.checkRun(bytes, SC.crypto.fromHex(key), device, null);
    return run.problems.map((p) => [p.code, p.seq]);
}"""


def _ledger(n: int = 6, sign_every: int = 1) -> list:
    writer = LedgerWriter(make_signer(SEED), "SC-0001", sign_every=sign_every)
    out = [writer.append(KIND_EVENT, {F_EVENT: EV_RECORD_START}, 1000 + i, i) for i in range(n - 1)]
    return [*out, writer.append(KIND_EVENT, {F_EVENT: EV_RECORD_START}, 9999, 99, sign=True)]


def _check(page, raws: list, seed: bytes = SEED) -> list:
    key = make_signer(seed).public_key().hex()
    return [tuple(p) for p in page.evaluate(CHECK_RUN, [[r.hex() for r in raws], key, "SC-0001"])]


def test_cose_entries_verify_and_chain(page):  # R-HOST-5: signatures and chain, offline
    assert _check(page, _ledger()) == []
    # Under the signing cadence most entries carry no signature: the chain covers them.
    assert _check(page, _ledger(8, sign_every=4)) == []


def test_cose_entries_tampered(page):  # R-HOST-5
    raws = _ledger()
    # One byte of a payload changed: that entry's signature fails and the next no longer
    # chains to it.
    bad = bytearray(raws[2])
    bad[-70] ^= 1
    problems = _check(page, [*raws[:2], bytes(bad), *raws[3:]])
    assert ("signature", 2) in problems or ("unreadable", None) in problems
    # An entry taken out: the sequence has a gap where it was.
    assert _check(page, raws[:2] + raws[3:]) == [("seq-gap", 3)]
    # Another device's key: every signature fails.
    assert {p[0] for p in _check(page, raws, OTHER_SEED)} == {"signature"}
    # The last entry unsigned: nothing vouches for it.
    writer = LedgerWriter(make_signer(SEED), "SC-0001", sign_every=100)
    tail = [writer.append(KIND_EVENT, {F_EVENT: EV_RECORD_START}, 1, i) for i in range(3)]
    assert _check(page, tail) == [("unsigned-tail", 2)]


OPEN = """async ([note, name, key]) => {
    try {
        const bytes = SC.crypto.fromHex(note);
        const cp = await SC.tlog.openCheckpoint(bytes, name, SC.crypto.fromHex(key));
        return {ok: true, origin: cp.origin, size: String(cp.size), root: SC.crypto.hex(cp.root)};
    } catch (e) { return {ok: false, why: e.message}; }
}"""


class _Signer:
    def __init__(self, seed: bytes) -> None:
        self._s = make_signer(seed)

    def sign(self, message: bytes) -> bytes:
        return self._s.sign(message)

    def public_key(self) -> bytes:
        return self._s.public_key()


def test_checkpoint_signed_note(page):  # R-HOST-5: the host log's checkpoint
    signer = _Signer(SEED)
    cp = tlog.Checkpoint("host.example/log", 12345, bytes(range(32)))
    note = tlog.sign_checkpoint(cp, "agency-host-1", signer)
    key = signer.public_key().hex()
    got = page.evaluate(OPEN, [note.hex(), "agency-host-1", key])
    assert got == {"ok": True, "origin": cp.origin, "size": "12345", "root": cp.root.hex()}
    # The size edited: the signature no longer holds.
    edited = note.replace(b"\n12345\n", b"\n12346\n")
    assert not page.evaluate(OPEN, [edited.hex(), "agency-host-1", key])["ok"]
    # Signed by another key under the same name: no signature by this key.
    other = tlog.sign_checkpoint(cp, "agency-host-1", _Signer(OTHER_SEED))
    assert not page.evaluate(OPEN, [other.hex(), "agency-host-1", key])["ok"]
    # The verifier key text, as the package carries it, parses to the same key.
    vkey = tlog.verifier_key("agency-host-1", signer.public_key())
    parsed = page.evaluate(
        "async (v) => { const k = await SC.tlog.parseVerifierKey(v);"
        " return [k.name, SC.crypto.hex(k.publicKey)]; }",
        vkey,
    )
    assert parsed == ["agency-host-1", key]


INCLUSION = """([leaf, index, size, proof, root]) => SC.tlog.verifyInclusion(
    SC.tlog.leafHash(SC.crypto.fromHex(leaf)), index, size, proof.map(SC.crypto.fromHex),
    SC.crypto.fromHex(root))"""


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 13])
def test_inclusion_proofs(page, size):  # R-HOST-5: RFC 6962 proofs, as host/tlog.py makes them
    datas = [b"leaf %d" % i for i in range(size)]
    leaves = [tlog.leaf_hash(d) for d in datas]
    root = tlog.root_of(leaves)
    for i in range(size):
        proof = [p.hex() for p in tlog.inclusion_proof(leaves, i, size)]
        assert page.evaluate(INCLUSION, [datas[i].hex(), i, size, proof, root.hex()]) is True
        other = (i + 1) % size
        if other != i:
            assert not page.evaluate(INCLUSION, [datas[other].hex(), i, size, proof, root.hex()])
        if proof:
            bad = [*proof[:-1], "00" * 32]
            assert not page.evaluate(INCLUSION, [datas[i].hex(), i, size, bad, root.hex()])


def test_sha256_in_javascript_matches(page):  # the small-input SHA-256 the proofs use
    for n in (0, 1, 55, 56, 63, 64, 65, 119, 1000):
        data = bytes(range(256)) * 4
        got = page.evaluate(
            "(h) => SC.crypto.hex(SC.crypto.sha256Sync(SC.crypto.fromHex(h)))", data[:n].hex()
        )
        assert got == hashlib.sha256(data[:n]).hexdigest()
