"""Every ledger entry field against the registry's bounds: one table, one check (issue 10 §3)."""

from protocol.bounds import MAX_UNSIGNED_RUN, entry_problem
from protocol.ledger import parse_entry
from protocol.registry import (
    CIPHER_SEALED_BOX,
    F_CIPHER_ALG,
    F_CIPHER_SHA,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    F_GPS,
    F_MONO_MS,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_SEQ,
    F_WALL_MS,
    KIND_CHUNK,
)
from protocol.verify import verify_ledger
from tests.protocol.helpers import DEVICE, device_key, make_entries, make_writer


def fields_of(i):
    return dict(parse_entry(make_entries(i + 1)[i]).fields)


def chunk_fields():
    for i in range(10):
        f = fields_of(i)
        if f[7] == KIND_CHUNK:
            return f
    raise AssertionError("the test ledger has no chunk")


# R-HOST-5: an entry the host cannot use is named, never half used
def test_every_entry_a_real_writer_makes_is_within_bounds():
    for raw in make_entries(12, sign_every=3):
        assert entry_problem(parse_entry(raw).fields) == ""


def test_the_fields_of_the_reported_attacks_are_named():
    f = chunk_fields()
    f[F_PLAIN_SHA] = b"12345"
    assert "plain_sha must be 32 bytes" in entry_problem(f)
    del f[F_PLAIN_SHA]
    assert "plain_sha" in entry_problem(f) and "missing" in entry_problem(f)
    f = chunk_fields()
    f[F_WALL_MS] = 1 << 64
    assert "wall_ms" in entry_problem(f)
    f = chunk_fields()
    f[F_PLAIN_LEN] = -1
    assert "plain_len" in entry_problem(f)


def test_kinds_lists_codes_and_detail_are_bounded():
    f = chunk_fields()
    f[F_FRAME_HASHES] = [b"short"]
    assert "frame digests" in entry_problem(f)
    f = chunk_fields()
    f[F_GPS] = [910000000, 0, 5]
    assert "position" in entry_problem(f)
    f = chunk_fields()
    f[F_CIPHER_SHA] = bytes(32)
    assert "cipher" in entry_problem(f)
    f[F_CIPHER_ALG] = CIPHER_SEALED_BOX
    assert entry_problem(f) == ""
    f = chunk_fields()
    f[F_EVENT] = 3
    assert "not part of a chunk entry" in entry_problem(f)
    f = fields_of(0)
    f[F_DETAIL] = {"through_seq": -4}
    assert "detail through_seq" in entry_problem(f)
    f[F_DETAIL] = {"media": [bytes(32), 7]}
    assert "detail media" in entry_problem(f)
    f[F_DETAIL] = {"note": {"nested": 1}}
    assert "detail note" in entry_problem(f)
    f[F_DETAIL] = {"note": "why", "failed": ["clock"], "percent": 12}
    assert entry_problem(f) == ""
    f = fields_of(0)
    del f[F_EVENT]
    assert "event field is missing" in entry_problem(f)
    f = fields_of(0)
    f[F_MONO_MS] = True
    assert "mono_ms" in entry_problem(f)


# Issue 12: the exporter places fragments in time by the record start's origin_mono.
def test_the_media_origin_of_a_recording_is_a_time():
    f = fields_of(0)
    f[F_DETAIL] = {"pre_frames": 0, "origin_mono": -1}
    assert "detail origin_mono" in entry_problem(f)
    f[F_DETAIL] = {"pre_frames": 0, "origin_mono": "soon"}
    assert "detail origin_mono" in entry_problem(f)
    f[F_DETAIL] = {"pre_frames": 3, "origin_mono": 0}
    assert entry_problem(f) == ""


def test_false_is_no_field_number():
    f = fields_of(0)
    seq = f.pop(F_SEQ)
    f[False] = seq  # the same Python key as 0 on CPython, not a field number
    assert entry_problem(f) != ""


def test_the_writer_signs_before_the_run_a_reader_holds_is_full():
    raws = make_entries(MAX_UNSIGNED_RUN + 10, sign_every=10 * MAX_UNSIGNED_RUN, sign_last=False)
    run = longest = 0
    for raw in raws:
        run = 0 if parse_entry(raw).signed else run + 1
        longest = max(longest, run)
    assert longest < MAX_UNSIGNED_RUN


def test_the_verifier_reports_a_signed_entry_with_a_bad_field_and_goes_on():
    w = make_writer()
    raws = [w.append(1, {F_EVENT: 1}, 1000, 1)]
    raws.append(w.append(KIND_CHUNK, {F_PLAIN_SHA: b"12345"}, 1001, 2))
    raws.append(w.append(1, {F_EVENT: 4}, 1002, 3))
    report = verify_ledger(b"".join(raws), DEVICE, device_key().public)
    codes = [f.code for f in report.findings]
    assert codes == ["bad-field"], codes
    assert report.findings[0].seq == 1 and "missing" in report.findings[0].message
    assert not report.ok


def test_a_peer_chosen_key_is_named_briefly():
    f = fields_of(0)
    f["x" * 5000] = 1
    assert len(entry_problem(f)) < 100
    f = fields_of(0)
    f[1 << 200] = 1
    assert len(entry_problem(f)) < 100
