"""The streaming ledger reader: linear work on crafted input, bounded memory, any chunking.

Issue 10 §5: resynchronising after malformed bytes is linear, and memory stays bounded
whatever the ledger's size. Work is counted by the reader (bytes examined), never timed.
"""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-2: whatever bytes surround them, the whole entries of a ledger are found and checked.

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.ledger import (
    MAX_ENTRY_BYTES,
    SEARCH_ALLOWANCE,
    SEARCH_WORK_PER_BYTE,
    LedgerReader,
    read_chunks,
    read_ledger,
)
from protocol.verify import verify_chunks, verify_ledger
from tests.protocol.helpers import DEVICE, device_key, make_entries, overlapping_entries

KEY = device_key()
ENTRIES = make_entries(8, sign_every=2)


def read_all(data: bytes, step: int = 1 << 20) -> tuple:
    reader = LedgerReader()
    records = []
    for i in range(0, len(data), step):
        reader.feed(data[i : i + step])
        record = reader.next_record()
        while record is not None:
            records.append(record)
            record = reader.next_record()
    reader.close()
    record = reader.next_record()
    while record is not None:
        records.append(record)
        record = reader.next_record()
    return records, reader


def huge_lengths(n: int) -> bytes:
    """Entry starts whose first byte string declares a length reaching to near the end.

    Each declared string is present, so a reader that copies it copies most of the input.
    """
    out = bytearray()
    tail = n // 2  # every declared length is then 65536 or more: no shorter head fits it
    while len(out) + 7 < n - tail:
        out += b"\xd2\x84\x5a" + (n - len(out) - 16).to_bytes(4, "big")
    return bytes(out + bytes(n - len(out)))


def nested_heads(n: int) -> bytes:
    """Tag 18 and an array of four, over and over: each nests in the one before."""
    return b"\xd2\x84" * (n // 2)


def entry_prefixes(n: int) -> bytes:
    """The first half of a real entry, over and over."""
    piece = ENTRIES[3][: len(ENTRIES[3]) // 2]
    return (piece * (n // len(piece) + 1))[:n]


CRAFTS = (huge_lengths, nested_heads, entry_prefixes)


def test_crafted_starts_cost_linear_work():
    # issue 10 §5: work grows with n, not n squared, and nothing is passed over untried.
    for craft in CRAFTS:
        works = []
        for n in (1 << 17, 1 << 19):
            data = craft(n)
            records, reader = read_all(data)
            assert "not tried" not in " ".join(r[3] for r in records if r[0] != "entry")
            works.append(reader.work)
            assert reader.work <= 64 * n, craft.__name__
        assert works[1] <= 4.5 * works[0], (craft.__name__, works)


def test_crafted_starts_hide_no_entry():
    # issue 10 §5: the whole entries between crafted junk are all found, at their offsets.
    for craft in CRAFTS:
        junk = craft(1 << 14)
        data = b"".join(junk + e for e in ENTRIES)
        found = [(r[1], r[2].raw) for r in read_ledger(data) if r[0] == "entry"]
        expect = []
        offset = 0
        for e in ENTRIES:
            offset += len(junk)
            expect.append((offset, e))
            offset += len(e)
        assert found == expect, craft.__name__


def test_overlapping_entry_heads_are_searched_within_a_linear_bound():
    # issue 10 §5: the costliest crafted input still costs linear work: the search stops
    # trying positions once it has spent its bound, and says so.
    works = []
    for n in (1 << 21, 1 << 23):
        records, reader = read_all(overlapping_entries(n))
        assert reader.failed_work <= SEARCH_ALLOWANCE + SEARCH_WORK_PER_BYTE * n + MAX_ENTRY_BYTES
        works.append(reader.work)
        assert [r[0] for r in records] == ["malformed"]
    assert works[1] <= 4.5 * works[0]
    assert "not tried" in records[0][3]
    # The same as a message (said in the reader's language by the host), the reason the
    # stretch began inside it.
    why = records[0][4]
    assert why[0] == "cbor.ledger.not_tried" and why[1]["count"] > 1, why
    assert "; %d places inside" % why[1]["count"] in records[0][3]
    assert isinstance(why[1]["why"], tuple) and why[1]["why"][0].startswith("cbor."), why


def test_memory_is_one_window_whatever_the_ledger_size():
    # issue 10 §5: the reader holds one entry's window, not the ledger.
    data = b"".join(ENTRIES) * 600 + huge_lengths(1 << 16) + b"".join(ENTRIES) * 600
    reader = LedgerReader()
    step = 64 * 1024
    most = 0
    count = 0
    for i in range(0, len(data), step):
        reader.feed(data[i : i + step])
        most = max(most, reader.held())
        record = reader.next_record()
        while record is not None:
            count += record[0] == "entry"
            record = reader.next_record()
    reader.close()
    while (record := reader.next_record()) is not None:
        count += record[0] == "entry"
    assert count == 2 * 600 * len(ENTRIES)
    assert most <= MAX_ENTRY_BYTES + 2 * step


def records_of(data: bytes) -> list:
    return [r if r[0] != "entry" else ("entry", r[1], r[2].raw) for r in read_ledger(data)]


@settings(max_examples=300)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=700))
def test_arbitrary_bytes_never_raise_and_are_covered(data, step):
    # issue 10 §5: any bytes give records that cover the input exactly, in any chunking.
    records = records_of(data)
    pos = 0
    for r in records:
        assert r[1] == pos
        pos = r[1] + len(r[2]) if r[0] == "entry" else r[2]
    assert pos == len(data)
    chunked = [
        r if r[0] != "entry" else ("entry", r[1], r[2].raw)
        for r in read_chunks(data[i : i + step] for i in range(0, len(data), step))
    ]
    assert chunked == records
    verify_ledger(data, DEVICE, KEY.public)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=len(ENTRIES)), st.binary(max_size=80))),
    st.integers(min_value=1, max_value=500),
)
def test_every_whole_entry_is_found_among_inserted_junk(insertions, step):
    # issue 10 §5, R-DEV-2: junk inserted between entries hides none of them, and the
    # report is the same however the file is cut into chunks.
    pieces: list = [[] for _ in range(len(ENTRIES) + 1)]
    for at, junk in insertions:
        pieces[at].append(junk)
    data = b""
    expect = []
    for i, e in enumerate(ENTRIES):
        data += b"".join(pieces[i])
        expect.append((len(data), e))
        data += e
    data += b"".join(pieces[-1])
    found = [(r[1], r[2].raw) for r in read_ledger(data) if r[0] == "entry"]
    assert [x for x in found if x in expect] == expect
    whole = verify_ledger(data, DEVICE, KEY.public).to_dict()
    chunks = (data[i : i + step] for i in range(0, len(data), step))
    assert verify_chunks(chunks, DEVICE, KEY.public).to_dict() == whole
