"""The recorder's store keeps every whole record through crashes and never drops data silently.

Portable: runs under pytest and under MicroPython (plain asserts, no pytest import).
"""
# R-DEV-14: the store recovers from a power cut to the last whole record, reports what was
# in flight, and continues the chain.
# R-DEV-2: entries are never removed or rewritten; only media bytes can be evicted.

import hashlib
import os

from firmware.errors import StorageFull, StoreError
from firmware.store import (
    BAD_CRC,
    BAD_LENGTH,
    HEADER_LEN,
    INCOMPLETE,
    MARK_EVERY,
    MAX_PAYLOAD,
    TAIL_NAME,
    SegmentScan,
    Store,
    encode_record,
    is_torn_tail,
    media_key,
    scan_records,
    segment_name,
    truncate_by_copy,
)
from protocol.ledger import LedgerWriter, parse_entry
from protocol.registry import (
    EV_POWER_LOSS_RECOVERED,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    KIND_CHUNK,
    KIND_EVENT,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.helpers import FullDisk
from tests.portable import TempDir, raises
from tests.protocol.helpers import (
    DEVICE,
    SEED_A,
    T0,
    chunk_fields,
    device_key,
    extend,
    make_entries,
)

KEY = device_key()

# --- a recorded session: entries and the media the chunks name ---


def test_reading_from_a_seq_seeks_near_it_and_returns_exactly_the_rest():
    # The dock reads the ledger from the host's head: a seek, not a scan of months.
    n = 2 * MARK_EVERY + 20
    entries = make_entries(n, sign_every=n)  # one signature: MicroPython signs slowly
    starts = (0, 1, MARK_EVERY - 1, MARK_EVERY, MARK_EVERY + 1, 2 * MARK_EVERY + 3, n - 1, n)
    with TempDir() as d:
        store = Store(d, segment_bytes=MARK_EVERY * 300)  # the ledger spans segments
        for raw in entries:
            store.append(raw)
        for k in starts:
            assert list(store.entries(k)) == entries[k:]
        store.close()
        store = Store(d)  # marks rebuilt by the scan at open
        for k in starts:
            assert list(store.entries(k)) == entries[k:]
        store.close()


def media_of(i):
    """The media bytes of chunk entry i of the test ledger (what its F_PLAIN_SHA names)."""
    return b"".join(chunk_fields(i)[F_FRAME_HASHES])


def session(n, sign_every=1):
    """n (entry, media-or-None) pairs: chunks carry their media, events none."""
    entries = make_entries(n, sign_every=sign_every)
    out = []
    for i, raw in enumerate(entries):
        out.append((raw, media_of(i) if parse_entry(raw).kind == KIND_CHUNK else None))
    return out


def continue_from(last):
    """A writer that goes on after ``last``, as the agent does after a reboot."""
    return LedgerWriter(make_signer(SEED_A), DEVICE, seq=last.seq + 1, prev=last.digest, boot=1)


def fill(path, pairs, **kwargs):
    store = Store(path, **kwargs)
    for raw, media in pairs:
        store.append(raw, media)
    store.close()
    return store


def read(path):
    f = open(path, "rb")
    try:
        return f.read()
    finally:
        f.close()


def write(path, data):
    f = open(path, "wb")
    try:
        f.write(data)
    finally:
        f.close()


def seg(path, index=0):
    return path + "/ledger/" + segment_name(index)


def verdict(raws):
    return verify_ledger(b"".join(raws), KEY.device_id, KEY.public).state


# --- framing (pure) ---


def test_records_round_trip():
    payloads = [b"a", b"bc" * 100, bytes(range(256))]
    data = b"".join(encode_record(p) for p in payloads)
    records, end, problem = scan_records(data)
    assert [p for _, p in records] == payloads
    assert end == len(data) and problem is None
    assert records[1][0] == HEADER_LEN + 1


def test_scan_names_each_problem():
    good = encode_record(b"hello")
    _, end, problem = scan_records(good + good[:5])
    assert end == len(good) and problem[0] == INCOMPLETE and problem[1] == len(good)
    _, end, problem = scan_records(good + good[:-1])
    assert problem[0] == INCOMPLETE
    bad = good[:-1] + b"X"
    records, end, problem = scan_records(good + bad + good)
    assert len(records) == 1 and problem[0] == BAD_CRC and problem[1] == len(good)
    huge = (MAX_PAYLOAD + 1).to_bytes(4, "big") + bytes(4)
    _, _, problem = scan_records(good + huge)
    assert problem[0] == BAD_LENGTH
    _, _, problem = scan_records(bytes(HEADER_LEN))
    assert problem[0] == BAD_LENGTH  # a zero length is never a record
    assert raises(StoreError, encode_record, b"")


def test_torn_tail_is_told_from_corruption():
    good = encode_record(b"payload")
    bad = good[:-1] + b"X"
    assert is_torn_tail(good[:3])
    assert is_torn_tail(good[:-2])
    assert is_torn_tail(bytes(40))  # space allotted, data never landed
    assert is_torn_tail(bad)  # the last record, whole but unwritten inside
    assert is_torn_tail(bad + good[:4])
    assert not is_torn_tail(bad + good)  # a whole record after the bad one: corruption
    assert not is_torn_tail(b"\xff\xff\xff\xff" + bytes(10))


def test_truncate_by_copy_keeps_the_prefix():
    with TempDir() as d:
        path = d + "/f.seg"
        write(path, bytes(range(200)) * 500)
        truncate_by_copy(path, 70001)
        assert read(path) == (bytes(range(200)) * 500)[:70001]
        assert sorted(os.listdir(d)) == ["f.seg"]


# --- the store ---


def test_entries_and_media_round_trip():
    pairs = session(8)
    with TempDir() as d:
        fill(d, pairs)
        store = Store(d)
        assert store.recovery.clean
        assert list(store.entries()) == [raw for raw, _ in pairs]
        for _, media in pairs:
            if media is not None:
                digest = hashlib.sha256(media).digest()
                assert store.has_media(digest) and store.has_media(media_key(digest))
                assert store.read_media(digest) == media
        assert list(store.entries(from_seq=5)) == [raw for raw, _ in pairs[5:]]
        assert store.last_entry().seq == 7
        usage = store.usage()
        assert usage["ledger"] == len(read(seg(d)))
        assert usage["media"] == sum(len(m) for _, m in pairs if m is not None)
        free = store.free_bytes()
        assert free == -1 or free > 0
        store.close()


def test_reopen_continues_the_chain():  # R-DEV-14, R-DEV-2
    with TempDir() as d:
        first = make_entries(5)
        fill(d, [(raw, None) for raw in first])
        store = Store(d)
        last = store.last_entry()
        assert last.seq == 4 and store.head() == (5, last.digest)
        writer = LedgerWriter(
            make_signer(SEED_A), DEVICE, seq=last.seq + 1, prev=last.digest, boot=1
        )
        more = extend(writer, 5, 4)
        for raw in more:
            store.append(raw)
        store.close()
        stored = list(Store(d).entries())
        assert stored == first + more
        assert verdict(stored) == OK


def test_append_refuses_what_would_break_the_chain():  # R-DEV-2
    entries = make_entries(4)
    with TempDir() as d:
        store = Store(d)
        store.append(entries[0])
        assert raises(StoreError, store.append, entries[2])  # a gap
        assert raises(StoreError, store.append, entries[0])  # a repeat
        other = make_entries(2, seed=bytes(32))
        assert raises(StoreError, store.append, other[1])  # seq 1, but another chain
        assert raises(StoreError, store.append, b"not an entry")
        assert raises(StoreError, store.append, entries[1], b"media the entry does not name")
        # A digest handed in by the caller must be one the entry names, too.
        assert raises(StoreError, store.append, entries[1], b"media", bytes(32))
        store.append(entries[1])
        store.close()
        assert list(Store(d).entries()) == entries[:2]


def test_an_entry_names_media_by_its_media_field_not_by_holding_its_bytes():  # R-DEV-2
    # Issue 11 §3: an event whose detail happens to hold a media hash does not name that
    # media; the store reads the chunk's media field (protocol.ledger.media_digest).
    media = b"footage"
    digest = hashlib.sha256(media).digest()
    with TempDir() as d:
        store = Store(d)
        writer = LedgerWriter(make_signer(SEED_A), DEVICE)
        mention = writer.append(KIND_EVENT, {F_EVENT: 1, F_DETAIL: {"about": digest}}, T0, 0)
        assert raises(StoreError, store.append, mention, media)
        assert store.head()[0] == 0 and not store.has_media(digest)
        store.close()


def test_recovery_cuts_a_torn_tail_at_any_offset():  # R-DEV-14
    entries = make_entries(5)
    with TempDir() as d:
        fill(d, [(raw, None) for raw in entries])
        whole = read(seg(d))
    last_start = len(whole) - HEADER_LEN - len(entries[4])
    for cut in (
        last_start + 1,
        last_start + HEADER_LEN - 1,
        last_start + HEADER_LEN,
        len(whole) - 1,
    ):
        with TempDir() as d:
            os.mkdir(d + "/ledger")
            write(seg(d), whole[:cut])
            store = Store(d)
            rec = store.recovery
            assert rec.torn_offset == last_start and rec.torn_bytes == cut - last_start, (cut, rec)
            assert rec.in_flight and rec.last_seq == 3
            assert rec.last_digest == parse_entry(entries[3]).digest
            assert len(read(seg(d))) == last_start
            assert list(store.entries()) == entries[:4]
            store.append(entries[4])  # the chain goes on from the last whole entry
            store.close()
            assert list(Store(d).entries()) == entries


def test_a_tail_that_never_landed_is_torn_too():  # R-DEV-14
    entries = make_entries(3)
    with TempDir() as d:
        fill(d, [(raw, None) for raw in entries])
        whole = read(seg(d))
        last_start = len(whole) - HEADER_LEN - len(entries[2])
        # The file grew but the last record's bytes are zeros: as a file system may leave it.
        write(seg(d), whole[:last_start] + bytes(len(whole) - last_start))
        rec = Store(d).recovery
        assert rec.torn_offset == last_start and rec.last_seq == 1
        # Its header landed, its payload did not.
        write(seg(d), whole[: last_start + HEADER_LEN] + bytes(len(entries[2])))
        rec = Store(d).recovery
        assert rec.torn_offset == last_start and rec.last_seq == 1


def test_corruption_inside_a_segment_is_reported_not_dropped():  # R-DEV-2
    entries = make_entries(5)
    with TempDir() as d:
        fill(d, [(raw, None) for raw in entries])
        whole = read(seg(d))
        at = 2 * HEADER_LEN + len(entries[0]) + len(entries[1])  # record 2 starts here
        broken = whole[: at + 20] + bytes([whole[at + 20] ^ 1]) + whole[at + 21 :]
        write(seg(d), broken)
        os.remove(d + "/" + TAIL_NAME)  # no hint where to start: the opening scans it all
        exc = raises(StoreError, Store, d)
        assert segment_name(0) in str(exc) and ("byte %d" % at) in str(exc), str(exc)
        assert read(seg(d)) == broken  # not one byte cut or rewritten
        # An impossible length in the middle is corruption as well.
        broken = whole[:at] + b"\xff\xff\xff\xff" + whole[at + 4 :]
        write(seg(d), broken)
        exc = raises(StoreError, Store, d)
        assert ("byte %d" % at) in str(exc)
        assert read(seg(d)) == broken


def test_an_opening_scans_from_the_tail_hint_and_reads_find_corruption_before_it():
    # Issue 19 (boot flat): a clean close leaves TAIL_NAME, and the next opening scans only
    # from the record it names; the bytes before are not read (a flipped byte there goes
    # unseen at open) and are reported, never cut, by the first read that reaches them.
    # R-DEV-2
    entries = make_entries(6)
    with TempDir() as d:
        fill(d, [(raw, None) for raw in entries])
        whole = read(seg(d))
        at = 2 * HEADER_LEN + len(entries[0]) + len(entries[1])
        broken = whole[: at + 20] + bytes([whole[at + 20] ^ 1]) + whole[at + 21 :]
        write(seg(d), broken)
        store = Store(d)
        assert store.recovery.clean and store.recovery.last_seq == 5
        assert store.head()[1] == hashlib.sha256(entries[-1]).digest()
        assert list(store.entries(5)) == [entries[5]]  # the marks start at the hint
        exc = raises(StoreError, list, store.entries())
        assert ("byte %d" % at) in str(exc), str(exc)
        store.close()
        assert read(seg(d)) == broken


def test_a_tail_hint_that_names_no_record_means_a_full_scan():
    # Issue 19: the hint is never trusted blindly: unreadable, for another segment, past
    # the end, or naming bytes whose CRC or seq differ, the opening scans the whole segment
    # (and so still finds corruption anywhere in it).  R-DEV-2
    entries = make_entries(5)
    with TempDir() as d:
        fill(d, [(raw, None) for raw in entries])
        hint = read(d + "/" + TAIL_NAME).split()
        whole = read(seg(d))
        at = 2 * HEADER_LEN + len(entries[0]) + len(entries[1])
        broken = whole[: at + 20] + bytes([whole[at + 20] ^ 1]) + whole[at + 21 :]
        write(seg(d), broken)
        for bad in (
            b"garbage",
            b"1 " + b" ".join(hint[1:]),  # another segment
            b"0 999999 4 " + hint[3],  # past the end
            b"0 0 4 " + hint[3],  # a record, but not the one named
            b" ".join(hint[:3]) + b" 12345",  # the right place, the wrong CRC
            b" ".join(hint[:2]) + b" 3 " + hint[3],  # the wrong seq
        ):
            write(d + "/" + TAIL_NAME, bad)
            exc = raises(StoreError, Store, d)
            assert ("byte %d" % at) in str(exc), (bad, str(exc))
        write(seg(d), whole)
        write(d + "/" + TAIL_NAME, b"0 0 4 " + hint[3])
        store = Store(d)
        assert store.recovery.last_seq == 4 and list(store.entries()) == entries
        store.close()


def test_a_torn_tail_after_the_tail_hint_is_cut_as_before():
    # Issue 19: the hint names a durable record (written with the checkpoint); a cut after
    # it leaves a torn tail past the hint, which the opening from the hint cuts as a full
    # scan would.  R-DEV-2
    entries = make_entries(6)
    with TempDir() as d:
        store = Store(d)
        for raw in entries[:3]:
            store.append(raw)
        assert store.save_checkpoint(b"state")
        for raw in entries[3:5]:
            store.append(raw)
        size = len(read(seg(d)))
        f = open(seg(d), "ab")
        f.write(encode_record(entries[5])[:11])  # the cut, mid-record
        f.close()
        hint = read(d + "/" + TAIL_NAME).split()
        assert int(hint[2]) == 2  # the newest durable record when the checkpoint was saved
        again = Store(d)
        assert again.recovery.torn_offset == size and again.recovery.torn_bytes == 11
        assert again.recovery.last_seq == 4 and len(read(seg(d))) == size
        assert list(again.entries()) == entries[:5]
        again.append(entries[5])
        again.close()
        assert list(Store(d).entries()) == entries


def test_rollover_spreads_entries_over_segments():
    pairs = session(12)
    with TempDir() as d:
        fill(d, pairs, segment_bytes=1000)
        names = sorted(os.listdir(d + "/ledger"))
        assert len(names) >= 3 and names[0] == segment_name(0)
        for name in names:
            assert len(read(d + "/ledger/" + name)) <= 1000
        store = Store(d, segment_bytes=1000)
        assert list(store.entries()) == [raw for raw, _ in pairs]
        assert list(store.entries(from_seq=9)) == [raw for raw, _ in pairs[9:]]
        assert store.recovery.segment == names[-1]
        store.close()


def test_a_cut_right_after_rollover_finds_the_head_in_the_segment_before():  # R-DEV-14
    entries = make_entries(6)
    with TempDir() as d:
        fill(d, [(raw, None) for raw in entries[:5]], segment_bytes=1200)
        names = sorted(os.listdir(d + "/ledger"))
        write(d + "/ledger/" + segment_name(len(names)), encode_record(entries[5])[:10])
        store = Store(d, segment_bytes=1200)
        assert store.recovery.torn_bytes == 10 and store.last_entry().seq == 4
        store.append(entries[5])
        store.close()
        assert list(Store(d).entries()) == entries


def test_eviction_removes_media_bytes_only():  # R-DEV-2
    pairs = session(6)
    with TempDir() as d:
        fill(d, pairs)
        store = Store(d)
        ledger_before = read(seg(d))
        media = pairs[2][1]
        digest = hashlib.sha256(media).digest()
        before = store.usage()["media"]
        assert store.evict_media(digest) == len(media)
        assert not store.has_media(digest)
        assert raises(StoreError, store.read_media, digest)
        assert store.usage()["media"] == before - len(media)
        assert store.evict_media(digest) == 0
        assert read(seg(d)) == ledger_before
        assert list(store.entries()) == [raw for raw, _ in pairs]
        assert verdict(list(store.entries())) == OK
        assert raises(StoreError, store.evict_media, "zz")
        store.close()


def test_media_whose_record_was_lost_is_kept_and_reported():  # R-DEV-14
    pairs = session(4)
    with TempDir() as d:
        store = Store(d, sync_every=0)
        for raw, media in pairs:
            store.append(raw, media)
        store.sync()
        seq, prev = store.head()
        writer = LedgerWriter(make_signer(SEED_A), DEVICE, seq=seq, prev=prev)
        chunk = writer.append(KIND_CHUNK, chunk_fields(4), T0 + 4000, 4000, sign=True)
        size = len(read(seg(d)))
        store.append(chunk, media_of(4))
        # Power is cut before the record reaches the medium: the segment is as it was.
        write(seg(d), read(seg(d))[:size])
        store = Store(d)
        digest = hashlib.sha256(media_of(4)).digest()
        key = media_key(digest)
        assert store.recovery.orphan_media == [key]
        assert store.recovery.in_flight and store.recovery.torn_bytes == 0
        assert store.has_media(key) and store.read_media(key) == media_of(4)
        assert raises(StoreError, store.evict_media, key)
        # The agent names it in its power-loss event; from then on it is accounted for.
        last = store.last_entry()
        writer = LedgerWriter(
            make_signer(SEED_A), DEVICE, seq=last.seq + 1, prev=last.digest, boot=1
        )
        fields = {F_EVENT: EV_POWER_LOSS_RECOVERED, F_DETAIL: {"orphan_media": [digest]}}
        event = writer.append(KIND_EVENT, fields, T0 + 5000, 10, sign=True)
        store.append(event)
        store.close()
        store = Store(d)
        assert store.recovery.clean and store.has_media(key)
        assert verdict(list(store.entries())) == OK
        store.close()


def test_a_media_write_cut_short_is_kept_and_reported():  # R-DEV-14
    pairs = session(3)
    with TempDir() as d:
        fill(d, pairs)
        part = d + "/media/new/" + "ab" * 32 + ".part"
        write(part, b"half a chunk")
        store = Store(d)
        assert store.recovery.partial_media == ["ab" * 32 + ".part"]
        assert read(part) == b"half a chunk"
        assert list(store.entries()) == [raw for raw, _ in pairs]
        store.close()


def test_a_full_disk_leaves_no_half_record_and_the_store_goes_on():  # R-DEV-14
    pairs = session(6)
    with TempDir() as d:
        disk = FullDisk(10**9)
        store = Store(d, opener=disk)
        for raw, media in pairs[:3]:
            store.append(raw, media)
        ledger = read(seg(d))
        media = pairs[3][1]
        # Media that does not fit: no part file, no record.
        disk.budget = 30
        exc = raises(StorageFull, store.append, pairs[3][0], media)
        assert "full" in str(exc)
        assert read(seg(d)) == ledger
        assert [n for n in os.listdir(d + "/media/new") if n.endswith(".part")] == []
        # The media fits, but its record only half: the half is cut away at once.
        disk.budget = len(media) + 20
        raises(StorageFull, store.append, pairs[3][0], media)
        assert read(seg(d)) == ledger
        assert store.head()[0] == 3
        # Space is freed: the same entries go in and the chain is whole.
        disk.budget = 10**9
        for raw, media in pairs[3:]:
            store.append(raw, media)
        store.close()
        store = Store(d)
        assert store.recovery.clean
        assert list(store.entries()) == [raw for raw, _ in pairs]
        assert verdict(list(store.entries())) == OK
        store.close()


def test_sync_policy_every_n_keeps_what_was_synced():  # R-DEV-14
    entries = make_entries(7)
    with TempDir() as d:
        store = Store(d, sync_every=3)
        for raw in entries:
            store.append(raw)
        store.close()  # close syncs the rest
        assert list(Store(d).entries()) == entries
        assert raises(StoreError, Store, d + "/x", -1)


class _Bytes:
    """A file of ``data``, read from ``pos`` on."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def read(self, size: int) -> bytes:
        out = self.data[self.pos : self.pos + size]
        self.pos += len(out)
        return out


def test_one_segment_scan_reads_records_across_reads_up_to_a_bound_or_a_bad_record():
    # Issue 11 §3: opening, reading from a seq and ledger_records share SegmentScan.
    payloads = [b"a" * 5, b"b" * 20, b"c"]
    data = b"".join(encode_record(p) for p in payloads)
    for size in (1, 3, 7, 64):
        scan = SegmentScan(_Bytes(data), read_size=size)
        assert [p for _, p in scan] == payloads
        assert scan.valid_end == len(data) and scan.problem is None
    first = len(encode_record(payloads[0]))
    scan = SegmentScan(_Bytes(data, first), base=first, end=len(data) - 3, read_size=4)
    assert list(scan) == [(first, payloads[1])]  # the last record lies past ``end``
    assert scan.problem is not None and scan.problem[0] == INCOMPLETE
    damaged = data[:-1] + b"x"
    scan = SegmentScan(_Bytes(damaged), read_size=3)
    assert [p for _, p in scan] == payloads[:2]
    assert scan.problem is not None and scan.problem[0] == BAD_CRC
    assert scan.valid_end == len(data) - len(encode_record(payloads[2]))
