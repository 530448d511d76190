"""The ledger writer and reader: seq, prev, signing cadence, and reading damaged files."""

from protocol import cbor
from protocol.cose import encode_sign1
from protocol.errors import EntryError
from protocol.ledger import entry_hash, media_digest, parse_entry, read_ledger
from protocol.registry import (
    F_CIPHER_SHA,
    F_DETAIL,
    F_DEVICE,
    F_KIND,
    F_PLAIN_SHA,
    F_SEQ,
    ZERO_HASH,
)
from tests.portable import raises
from tests.protocol.helpers import DEVICE, make_entries, make_writer


def test_seq_counts_from_zero_and_prev_chains_the_full_bytes():
    entries = make_entries(4)
    prev = ZERO_HASH
    for i, raw in enumerate(entries):
        e = parse_entry(raw)
        assert e.seq == i
        assert e.prev == prev
        assert e.device_id == DEVICE
        assert e.kid == DEVICE.encode()
        prev = entry_hash(raw)


def test_every_entry_signed_by_default():
    assert all(parse_entry(raw).signed for raw in make_entries(4))


def test_sign_every_k_signs_the_kth_and_forced_entries():
    signed = [parse_entry(raw).signed for raw in make_entries(9, sign_every=3)]
    assert signed == [False, False, True, False, False, True, False, False, True]
    w = make_writer(sign_every=100)
    raw = w.append(1, {}, 0, 0, sign=True)
    assert parse_entry(raw).signed


def test_read_ledger_yields_entries_with_offsets():
    entries = make_entries(3)
    got = list(read_ledger(b"".join(entries)))
    assert [r[0] for r in got] == ["entry"] * 3
    assert [r[1] for r in got] == [0, len(entries[0]), len(entries[0]) + len(entries[1])]


def test_read_ledger_reports_a_truncated_tail():
    entries = make_entries(3)
    data = b"".join(entries)[:-5]
    got = list(read_ledger(data))
    assert [r[0] for r in got] == ["entry", "entry", "truncated"]
    assert got[2][1] == len(entries[0]) + len(entries[1])


def test_read_ledger_resynchronises_after_garbage():
    entries = make_entries(3)
    data = entries[0] + b"\x00\xd2\x84junk" + entries[1] + entries[2]
    got = list(read_ledger(data))
    assert [r[0] for r in got] == ["entry", "malformed", "entry", "entry"]
    assert got[1][1] == len(entries[0]) and got[1][2] == len(entries[0]) + 7


def changed(fields: dict, key, value) -> bytes:
    out = dict(fields)
    out[key] = value
    return cbor.dumps(out)


def test_parse_entry_refuses_wrong_structures():
    good = parse_entry(make_entries(1)[0])
    fields = dict(good.fields)
    del fields[F_SEQ]
    cases = (
        (cbor.dumps([1, 2]), "COSE_Sign1"),
        (cbor.dumps(cbor.Tag(18, [b"", {}, b""])), "4 items"),
        (encode_sign1(good.protected, cbor.dumps(fields), b""), "seq"),
        (encode_sign1(good.protected, changed(good.fields, 99, 1), b""), None),
        (encode_sign1(good.protected, good.payload, b"\x00" * 10), "64 bytes"),
        (encode_sign1(cbor.dumps({1: -7}), good.payload, b""), "EdDSA"),
        (encode_sign1(good.protected, changed(good.fields, F_KIND, 9), b""), "kind"),
        (encode_sign1(good.protected, changed(good.fields, F_DEVICE, "x"), b""), "kid"),
    )
    for raw, words in cases:
        if words is None:
            parse_entry(raw)  # extra fields are allowed: later versions may add them
            continue
        err = raises(EntryError, parse_entry, raw)
        assert words in str(err), (words, str(err))


def test_a_chunks_media_is_named_by_its_sealed_digest_when_sealed_else_by_its_plain_one():
    # Issue 11 §3: one rule for which digest names a chunk's media (device store, host).
    plain, sealed = b"p" * 32, b"s" * 32
    assert media_digest({F_PLAIN_SHA: plain}) == plain
    assert media_digest({F_PLAIN_SHA: plain, F_CIPHER_SHA: sealed}) == sealed


def test_the_writer_hands_back_the_entry_it_encoded_as_parsing_would_give_it():
    # Issue 11 §3: the agent and the store take this entry instead of decoding the bytes.
    w = make_writer(sign_every=2)
    for i in range(4):
        e = w.append_entry(1, {F_DETAIL: {"n": i, "list": [1, b"x"]}}, 1000 + i, i, sign=i == 3)
        parsed = parse_entry(e.raw)
        assert e.fields == parsed.fields and e.digest == parsed.digest == w.prev
        assert (e.signature, e.protected, e.kid, e.payload) == (
            parsed.signature,
            parsed.protected,
            parsed.kid,
            parsed.payload,
        )
        assert e.to_be_signed() == parsed.to_be_signed()
