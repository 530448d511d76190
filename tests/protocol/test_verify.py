"""The verifier names each kind of tampering, with its seq and byte offset."""
# R-DEV-2: footage cannot be deleted, edited, reordered or have other footage inserted.

from protocol import cbor
from protocol.bounds import MAX_UNSIGNED_RUN
from protocol.cose import encode_sign1, protected_header, to_be_signed
from protocol.ledger import LedgerWriter, entry_hash, parse_entry, read_ledger
from protocol.registry import (
    F_BOOT,
    F_DEVICE,
    F_KIND,
    F_MONO_MS,
    F_PREV,
    F_SEQ,
    F_VERSION,
    F_WALL_MS,
    FORMAT_VERSION,
)
from protocol.signer import make_signer
from protocol.verify import (
    NOT_OK,
    OK,
    OK_MISSING,
    UNKNOWN_KEY,
    UNSIGNED_RUN,
    LedgerVerifier,
    verify_ledger,
    verify_records,
)
from tests.protocol.helpers import (
    DEVICE,
    SEED_A,
    SEED_B,
    T0,
    device_key,
    entry_spec,
    extend,
    make_entries,
    make_writer,
)

KEY = device_key()


def check(entries: list, key=KEY):
    return verify_ledger(b"".join(entries), key.device_id, key.public)


def codes(report) -> list:
    return [f.code for f in report.findings]


def offset_of(entries: list, i: int) -> int:
    return sum(len(e) for e in entries[:i])


def only(report, code: str):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, (code, codes(report))
    return found[0]


def resign(raw: bytes, fields: dict, seed: bytes = SEED_A) -> bytes:
    """Re-encode an entry with changed fields, signed with ``seed``'s key."""
    e = parse_entry(raw)
    payload = dict(e.fields)
    payload.update(fields)
    body = cbor.dumps(payload)
    return encode_sign1(e.protected, body, make_signer(seed).sign(to_be_signed(e.protected, body)))


def test_untouched_ledger_is_ok():
    report = check(make_entries(8))
    assert report.state == OK, codes(report)
    assert report.findings == []
    assert report.stats["entries"] == 8
    assert report.stats["first_seq"] == 0 and report.stats["last_seq"] == 7


def test_changed_payload_is_caught():  # R-DEV-2: an edited entry
    entries = make_entries(8)
    e = parse_entry(entries[3])
    fields = dict(e.fields)
    fields[F_WALL_MS] += 60000  # move the entry a minute later, keep the old signature
    entries[3] = encode_sign1(e.protected, cbor.dumps(fields), e.signature)
    report = check(entries)
    assert report.state == NOT_OK
    f = only(report, "bad-signature")
    assert f.seq == 3 and f.offset == offset_of(entries, 3)
    assert "changed after it was signed" in f.message


def test_bad_signature_is_caught():
    entries = make_entries(8)
    raw = bytearray(entries[5])
    raw[-1] ^= 0x01  # the signature is the last byte string of the entry
    entries[5] = bytes(raw)
    report = check(entries)
    assert report.state == NOT_OK
    assert only(report, "bad-signature").seq == 5


def test_flipped_byte_anywhere_is_caught():  # R-DEV-2
    entries = make_entries(6)
    data = bytearray(b"".join(entries))
    for pos in range(0, len(data), 37):
        tampered = bytearray(data)
        tampered[pos] ^= 0x40
        report = verify_ledger(bytes(tampered), KEY.device_id, KEY.public)
        assert report.state != OK, pos


def test_broken_prev_is_caught():
    # An entry signed with the real key whose prev does not name its predecessor:
    # a replaced entry, or a forged chain from someone holding the key.
    entries = make_entries(8)
    entries[4] = resign(entries[4], {F_PREV: entry_hash(b"not the entry before")})
    report = check(entries)
    assert report.state == NOT_OK
    f = only(report, "broken-prev")
    assert f.seq == 4 and f.offset == offset_of(entries, 4)
    assert "replaced" in f.message


def test_seq_gap_is_caught():  # R-DEV-2: a deleted entry
    entries = make_entries(8)
    del entries[3:5]
    report = check(entries)
    assert report.state == NOT_OK
    f = only(report, "seq-gap")
    assert f.seq == 3 and "seq 3 to 4 are missing (2 entries)" in f.message


def test_reordering_is_caught():  # R-DEV-2: reordered entries
    entries = make_entries(8)
    entries[3], entries[4] = entries[4], entries[3]
    report = check(entries)
    assert report.state == NOT_OK
    assert codes(report) == ["out-of-order"]
    f = report.findings[0]
    assert f.seq == 3 and f.offset == offset_of(entries, 4)


def test_duplicate_is_caught():
    entries = make_entries(8)
    entries.insert(6, entries[2])
    report = check(entries)
    assert report.state == NOT_OK
    f = only(report, "duplicate")
    assert f.seq == 2 and f.offset == offset_of(entries, 6)


def test_inserted_entry_is_caught():  # R-DEV-2: other footage inserted
    entries = make_entries(8)
    forged = make_entries(5, seed=SEED_B)[4]  # a real-looking seq 4 from another key
    entries.insert(5, forged)
    report = check(entries)
    assert report.state == NOT_OK
    assert only(report, "conflicting-seq").seq == 4


def test_entry_after_key_change_is_caught():
    # The device was re-keyed after seq 4: later entries chain on but carry another key.
    writer = make_writer()
    entries = extend(writer, 0, 5)
    writer.signer = make_signer(SEED_B)
    entries += extend(writer, 5, 4)
    report = check(entries)
    assert report.state == NOT_OK
    assert codes(report) == ["key-change"]
    f = report.findings[0]
    assert f.seq == 5 and f.offset == offset_of(entries, 5)


def test_truncated_tail_is_caught():
    entries = make_entries(6)
    data = b"".join(entries)
    cut = len(data) - 20
    report = verify_ledger(data[:cut], KEY.device_id, KEY.public)
    assert report.state == NOT_OK
    f = only(report, "truncated")
    assert f.offset == offset_of(entries, 5)
    assert report.stats["entries"] == 5


def test_garbage_in_the_middle_is_located_and_the_rest_still_checked():
    entries = make_entries(8)
    garbage = b"\xff\x00garbage\x1f"
    data = b"".join(entries[:3]) + garbage + b"".join(entries[3:])
    report = verify_ledger(data, KEY.device_id, KEY.public)
    assert report.state == NOT_OK
    f = only(report, "malformed")
    assert f.offset == offset_of(entries, 3)
    assert report.stats["entries"] == 8


def test_wrong_key_is_unknown_key():
    report = check(make_entries(4), key=device_key(SEED_B))
    assert report.state == UNKNOWN_KEY


def test_other_device_is_unknown_key():
    other = device_key(SEED_A, "SC-TEST-0002")
    report = check(make_entries(4), key=other)
    assert report.state == UNKNOWN_KEY
    # Issue 17: one finding for the whole ledger, not one per entry.
    assert len(report.findings) == 1
    assert "all 4 entries (seqs 0 to 3) belong to device SC-TEST-0001" in report.findings[0].message


def test_ledger_that_starts_later_is_ok_with_missing_information():
    report = check(make_entries(8)[3:])
    assert report.state == OK_MISSING
    assert codes(report) == ["starts-mid-ledger"]


def test_empty_ledger_is_ok_with_missing_information():
    report = verify_ledger(b"", KEY.device_id, KEY.public)
    assert report.state == OK_MISSING
    assert codes(report) == ["empty"]


def test_sparse_signing_verifies_through_the_chain():
    report = check(make_entries(10, sign_every=4))
    assert report.state == OK, codes(report)
    assert report.stats["signed"] == 3  # seq 3, 7 and the forced last one, 9


def test_unsigned_tail_is_missing_information():
    report = check(make_entries(10, sign_every=4, sign_last=False))
    assert report.state == OK_MISSING
    f = only(report, "unsigned-tail")
    assert f.seq == 8


def test_changed_unsigned_entry_is_caught_by_the_chain():
    entries = make_entries(8, sign_every=4)
    e = parse_entry(entries[5])
    assert not e.signed
    fields = dict(e.fields)
    fields[F_WALL_MS] += 1
    entries[5] = encode_sign1(e.protected, cbor.dumps(fields), b"")
    report = check(entries)
    assert report.state == NOT_OK
    assert only(report, "broken-prev").seq == 6
    # Entry 4 is untouched, but its only path to a signature runs through the changed 5.
    f = only(report, "unsigned-entry")
    assert f.seq == 4 and "seq 4 to 5" in f.message


def test_stripped_final_signature_leaves_tail_unvouched():
    entries = make_entries(6)
    e = parse_entry(entries[5])
    entries[5] = encode_sign1(e.protected, e.payload, b"")
    report = check(entries)
    assert report.state == OK_MISSING
    assert only(report, "unsigned-tail").seq == 5


def test_seq_is_device_wide_and_survives_a_new_writer():
    entries = make_entries(4)
    last = parse_entry(entries[-1])
    w = LedgerWriter(make_signer(SEED_A), DEVICE, seq=last.seq + 1, prev=last.digest, boot=1)
    entries += extend(w, 4, 3)
    report = check(entries)
    assert report.state == OK, codes(report)
    assert parse_entry(entries[-1]).fields[F_SEQ] == 6


def test_a_small_window_still_pairs_neighbours_and_counts_everything():
    entries = make_entries(40, sign_every=3)
    entries[20], entries[21] = entries[21], entries[20]
    v = LedgerVerifier(KEY.device_id, KEY.public, window=8)
    for record in read_ledger(b"".join(entries)):
        v.feed(record[2], record[1])
    report = v.finish()
    assert report.stats["entries"] == 40
    assert codes(report) == ["out-of-order"]


# --- what a reader that keeps entries (the host) is told: issue 11 §3 ---------------------


def feed_all(v: LedgerVerifier, entries: list, start: int = 0) -> list:
    """Feed ``entries``; give (what feed answered, vouched after it) for each."""
    out = []
    offset = 0
    for raw in entries:
        out.append((v.feed(parse_entry(raw), offset), v.vouched))
        offset += len(raw)
    return out


def test_vouched_moves_only_when_a_valid_signature_covers_the_run_before_it():
    entries = make_entries(10, sign_every=4)
    v = LedgerVerifier(KEY.device_id, KEY.public)
    steps = feed_all(v, entries)
    assert [why for why, _ in steps] == [""] * 10
    assert [vouched for _, vouched in steps] == [0, 0, 0, 4, 4, 4, 4, 8, 8, 10]
    assert v.finish().state == OK


def test_a_resumed_verifier_checks_the_link_to_the_stored_head_and_vouches_from_there():
    entries = make_entries(10, sign_every=4)
    head = parse_entry(entries[4])
    v = LedgerVerifier(KEY.device_id, KEY.public)
    v.resume(5, head.digest)
    steps = feed_all(v, entries[5:])
    assert [why for why, _ in steps] == [""] * 5
    assert [vouched for _, vouched in steps] == [5, 5, 8, 8, 10]
    assert v.finish().state == OK  # it starts where the store's head is: nothing missing
    # Resumed on another hash, the first entry does not chain, and nothing is vouched for.
    v = LedgerVerifier(KEY.device_id, KEY.public)
    v.resume(5, bytes(32))
    steps = feed_all(v, entries[5:])
    assert steps[0] == ("broken-prev", 5)
    assert max(vouched for _, vouched in steps) == 5


def test_a_span_of_a_ledger_held_from_seq_0_without_its_seq_0_is_a_gap():  # R-HOST-5
    # The host holds a device's ledger from seq 0: a span from seq 0 whose first entry is
    # gone starts at seq 1, which is a gap (NOT OK), not a ledger that merely starts later.
    from protocol.ledger import read_chunks
    from protocol.registry import ZERO_HASH

    entries = make_entries(6, sign_every=3)
    whole = list(read_chunks((b"".join(entries),)))
    held = (0, ZERO_HASH)
    assert verify_records(whole, KEY.device_id, KEY.public, resume=held).state == OK
    cut = list(read_chunks((b"".join(entries[1:]),)))
    said = verify_records(cut, KEY.device_id, KEY.public)
    assert said.state == OK_MISSING  # unsaid where the ledger starts: it may start later
    report = verify_records(cut, KEY.device_id, KEY.public, resume=held)
    assert report.state == NOT_OK
    assert [(f.code, f.seq) for f in report.findings] == [("seq-gap", 0)]


def test_feed_says_where_the_ledger_cannot_be_taken_further():
    entries = make_entries(8, sign_every=4)
    entries[3] = resign(entries[3], {}, SEED_B)  # signed by another key
    v = LedgerVerifier(KEY.device_id, KEY.public)
    steps = feed_all(v, entries)
    assert steps[3] == ("bad-signature", 0)
    assert max(vouched for _, vouched in steps) == 0
    # An unsigned entry changed: the one after it no longer chains to it.
    entries = make_entries(8, sign_every=4)
    e = parse_entry(entries[5])
    fields = dict(e.fields)
    fields[F_WALL_MS] += 1
    entries[5] = encode_sign1(e.protected, cbor.dumps(fields), b"")
    v = LedgerVerifier(KEY.device_id, KEY.public)
    steps = feed_all(v, entries)
    assert steps[5] == ("", 4) and steps[6] == ("broken-prev", 4)
    assert max(vouched for _, vouched in steps) == 4
    # Another device's entry.
    v = LedgerVerifier(KEY.device_id, KEY.public)
    assert feed_all(v, make_entries(2, device="SC-OTHER"))[0] == ("wrong-device", 0)


def unsigned_chain(n: int) -> list:
    """``n`` unsigned entries from seq 0, chained, as no writer of ours leaves them."""
    protected = protected_header(DEVICE.encode())
    out: list = []
    prev = bytes(32)
    for i in range(n):
        kind, fields = entry_spec(i)
        payload = dict(fields)
        payload.update({F_VERSION: FORMAT_VERSION, F_DEVICE: DEVICE, F_SEQ: i, F_PREV: prev,
                        F_WALL_MS: T0 + i, F_MONO_MS: i, F_BOOT: 1, F_KIND: kind})  # fmt: skip
        out.append(encode_sign1(protected, cbor.dumps(payload), b""))
        prev = entry_hash(out[-1])
    return out


def test_one_unsigned_entry_past_the_bound_is_told_to_a_reader_not_reported():
    entries = unsigned_chain(MAX_UNSIGNED_RUN + 2)
    v = LedgerVerifier(KEY.device_id, KEY.public)
    steps = feed_all(v, entries)
    assert [why for why, _ in steps[:MAX_UNSIGNED_RUN]] == [""] * MAX_UNSIGNED_RUN
    assert steps[MAX_UNSIGNED_RUN] == (UNSIGNED_RUN, 0)
    # A file may hold such a run: the report is what it was (an unsigned tail).
    assert codes(check(entries)) == ["unsigned-tail"]


def test_keep_hands_back_every_entry_parsed_once():  # issue 12: export parses the ledger once
    raws = make_entries(12)
    kept: list = []
    report = verify_ledger(b"".join(raws), KEY.device_id, KEY.public, keep=kept)
    assert report.state == OK
    assert [e.raw for e in kept] == raws
    assert [e.fields for e in kept] == [parse_entry(r).fields for r in raws]
    assert [e.seq for e in kept] == list(range(12))


def test_records_read_once_are_verified_as_the_bytes_are():
    # issue 12: an export reads the ledger once and verifies its records (in a worker or
    # here): the same report, and the same progress, as the verifier on the bytes.
    raws = make_entries(10, sign_every=3)
    flipped = bytearray(raws[4])
    flipped[-3] ^= 0x01  # a signature that fails
    raws[4] = bytes(flipped)
    data = b"".join(raws[:6]) + b"junk between entries" + b"".join(raws[6:])
    data = data[:-5]  # the last entry cut short
    records = list(read_ledger(data))
    assert [r[0] for r in records].count("malformed") == 1
    assert records[-1][0] == "truncated"
    seen_bytes: list = []
    seen_records: list = []
    whole = verify_ledger(data, KEY.device_id, KEY.public, seen_bytes.append)
    report = verify_records(records, KEY.device_id, KEY.public, seen_records.append)
    assert report.to_dict() == whole.to_dict()
    assert whole.state == NOT_OK
    assert seen_records == seen_bytes
    assert verify_records([], KEY.device_id, KEY.public).to_dict()["stats"]["entries"] == 0
