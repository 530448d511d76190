"""An export reads and verifies its recording's span of the ledger, not the device's whole
ledger: found by seq in the store, linked to the entry before it as the store holds it."""
# micropython: skip (host code, OpenCV)
# R-HOST-5: nothing is exported from a span that is not what the device signed; a broken
# entry elsewhere in the ledger is the store's verify's finding, not this export's.

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host import spans
from host.evidence import SqliteEvidenceStore
from host.export import ExportError, NotAuthentic, export_recording, pick_recording
from host.mp4export import recording_span
from protocol.ledger import LedgerWriter, parse_entry
from protocol.registry import (
    EV_BOOT,
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_EVENT,
    F_RECORDING,
    KIND_CHUNK,
    KIND_EVENT,
)
from protocol.signer import make_signer
from protocol.verify import NOT_OK, verify_records
from tests.host.helpers import break_signature, evidence, record_starts, run_pair, signed_stop
from tests.host.rawrec import record
from tests.protocol.helpers import DEVICE, SEED_A, chunk_fields


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """A device with three recordings, synced: (the evidence store's folder, its entries)."""
    root = tmp_path_factory.mktemp("three")
    agent, _ = record(root / "dev", seconds=1, recordings=3)
    ev = evidence(root / "ev")
    assert run_pair(agent, ev)[0]["result"] == "done"
    ev.close()
    agent.store.close()
    store = SqliteEvidenceStore(root / "ev", readonly=True)
    try:
        entries = [parse_entry(r) for r in store.entries(DEVICE)]
    finally:
        store.close()
    return root / "ev", entries


def copy_of(ev: Path, tmp_path: Path) -> Path:
    """A copy of the store to change (its database; the media are read from the original's
    folder by content hash, so they are linked)."""
    out = tmp_path / "ev"
    out.mkdir()
    src = sqlite3.connect(ev / "evidence.db")
    dst = sqlite3.connect(out / "evidence.db")
    src.backup(dst)
    src.close()
    dst.close()
    (out / "media").symlink_to((ev / "media").resolve())
    return out


GARBAGE = b"\xff\x00garbage"  # a row's raw entry that no longer parses


def altered_copy(ev: Path, tmp_path: Path, sql: str, params: tuple) -> Path:
    """A copy of the store (``copy_of``) with one statement run on its database, as one who
    could write to it would."""
    out = copy_of(ev, tmp_path)
    db = sqlite3.connect(out / "evidence.db")
    try:
        db.execute(sql, params)
        db.commit()
    finally:
        db.close()
    return out


def counting(monkeypatch, queried: "list | None" = None) -> list:
    """Every entry the store hands out is counted (the store's ranged read); with
    ``queried``, every row its queries return too (the event scans, the reach on to a
    signed entry), so a scan of the whole ledger shows."""
    got: list = []
    real = SqliteEvidenceStore.entries
    real_query = SqliteEvidenceStore.query

    def entries(self, device_id, from_seq=0, to_seq=None):
        raws = real(self, device_id, from_seq, to_seq)
        got.extend(raws)
        return raws

    def query(self, sql, params=()):
        rows = real_query(self, sql, params)
        if queried is not None:
            queried.extend(rows)
        return rows

    monkeypatch.setattr(SqliteEvidenceStore, "entries", entries)
    monkeypatch.setattr(SqliteEvidenceStore, "query", query)
    return got


def test_an_early_recordings_export_reads_its_span_only(three, tmp_path, monkeypatch):
    ev, entries = three
    first, second, _third = record_starts(entries)
    span = recording_span(entries, first.to_bytes(8, "big"))
    assert span[0].seq == first and span[-1].seq < second
    read = counting(monkeypatch)
    note = export_recording(str(ev), DEVICE, first, str(tmp_path / "a.avi"), "W. Li")
    assert note["recording"]["number"] == first and note["ledger_verification"] == "OK"
    # The span, each entry once, and nothing of the recordings after it.
    assert [parse_entry(r).seq for r in read] == [e.seq for e in span]
    assert len(span) < len(entries) / 2


def test_the_newest_recording_with_no_number_given_reads_its_span_only(
    three, tmp_path, monkeypatch
):
    ev, entries = three
    last = record_starts(entries)[-1]
    span = recording_span(entries, last.to_bytes(8, "big"))
    read = counting(monkeypatch)
    note = export_recording(str(ev), DEVICE, None, str(tmp_path / "a.avi"), "W. Li")
    assert note["recording"]["number"] == last
    assert [parse_entry(r).seq for r in read] == [e.seq for e in span]


def test_a_signature_broken_inside_the_span_stops_the_export(three, tmp_path):  # R-HOST-5
    ev, entries = three
    second = record_starts(entries)[1]
    store = copy_of(ev, tmp_path)
    break_signature(store, signed_stop(entries, second))
    out = tmp_path / "a.avi"
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, second, str(out), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # nothing written


def test_a_signature_broken_in_another_recording_does_not_stop_this_export(three, tmp_path):
    # R-HOST-5: the recording exported is verified whole; the broken entry is another
    # recording's, which its own export and the store's verify refuse.
    ev, entries = three
    first, second, _ = record_starts(entries)
    store = copy_of(ev, tmp_path)
    break_signature(store, signed_stop(entries, second))
    note = export_recording(str(store), DEVICE, first, str(tmp_path / "a.avi"), "W. Li")
    assert note["ledger_verification"] == "OK"
    with pytest.raises(NotAuthentic):
        export_recording(str(store), DEVICE, second, str(tmp_path / "b.avi"), "W. Li")


def test_a_chain_broken_at_the_spans_start_is_found(three, tmp_path):  # R-HOST-5
    # The store's record of the entry before the span is not what the span's first entry
    # chains to (an entry swapped in before it): the link into the span is checked.
    ev, entries = three
    second = record_starts(entries)[1]
    store = altered_copy(
        ev, tmp_path, "UPDATE entries SET hash = ? WHERE seq = ?", (b"\xab" * 32, second - 1)
    )
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, second, str(tmp_path / "a.avi"), "W. Li")


def test_a_damaged_record_start_is_said_as_a_broken_ledger(three, tmp_path):  # R-HOST-5
    ev, entries = three
    second = record_starts(entries)[1]
    store = altered_copy(
        ev, tmp_path, "UPDATE entries SET raw = ? WHERE seq = ?", (GARBAGE, second)
    )
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, second, str(tmp_path / "a.avi"), "W. Li")


def test_a_deleted_record_start_is_a_broken_ledger_not_a_missing_recording(three, tmp_path):
    # R-HOST-5: deleting a recording's start row must not hide the recording ("no such
    # recording", the ledger said OK): the seq is within the ledger, so its gap is found.
    ev, entries = three
    second = record_starts(entries)[1]
    store = altered_copy(ev, tmp_path, "DELETE FROM entries WHERE seq = ?", (second,))
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, second, str(tmp_path / "a.avi"), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # nothing written


@pytest.mark.parametrize("other", ["first start", "next entry"])
def test_a_swapped_record_start_is_a_broken_ledger_not_a_missing_recording(
    three, tmp_path, other
):  # R-HOST-5: another entry that parses, put in the start's row, hides nothing either
    ev, entries = three
    first, second, _ = record_starts(entries)
    source = first if other == "first start" else second + 1
    store = altered_copy(
        ev,
        tmp_path,
        "UPDATE entries SET (raw, hash) = (SELECT raw, hash FROM entries WHERE seq = ?)"
        " WHERE seq = ?",
        (source, second),
    )
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, second, str(tmp_path / "a.avi"), "W. Li")


def test_a_number_past_the_ledgers_end_is_no_recording(three, tmp_path):
    ev, entries = three
    with pytest.raises(ExportError, match="has no recording") as info:
        export_recording(str(ev), DEVICE, entries[-1].seq + 1, str(tmp_path / "a.avi"), "W. Li")
    assert not isinstance(info.value, NotAuthentic)


def test_a_damaged_newest_record_start_is_not_passed_over(three, tmp_path):  # R-HOST-5
    # With no number given the newest recording is exported: a newest record-start that no
    # longer parses must not quietly give the recording before it.
    ev, entries = three
    last = record_starts(entries)[-1]
    store = altered_copy(ev, tmp_path, "UPDATE entries SET raw = ? WHERE seq = ?", (GARBAGE, last))
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, None, str(tmp_path / "a.avi"), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # nothing written


def test_a_damaged_record_stop_is_found(three, tmp_path):  # R-HOST-5
    # A stop that no longer parses is not taken for a recording cut short by a power loss.
    ev, entries = three
    second = record_starts(entries)[1]
    stop = signed_stop(entries, second)
    store = altered_copy(ev, tmp_path, "UPDATE entries SET raw = ? WHERE seq = ?", (GARBAGE, stop))
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(store), DEVICE, second, str(tmp_path / "a.avi"), "W. Li")


def test_a_number_that_is_no_recording_lists_the_newest(three, tmp_path):
    ev, entries = three
    numbers = record_starts(entries)
    with pytest.raises(ExportError, match="has no recording 1") as info:
        export_recording(str(ev), DEVICE, 1, str(tmp_path / "a.avi"), "W. Li")
    assert all(str(n) in str(info.value) for n in numbers)


# --- the span as the store gives it, against the span of the whole ledger ------------------

# One recording: (entries between its start and stop, whether it is stopped, the events
# between recordings after it, how often the device signs).
RECORDINGS = st.lists(
    st.tuples(st.integers(0, 12), st.booleans(), st.integers(0, 3), st.sampled_from([1, 3, 40])),
    min_size=1,
    max_size=6,
)


def _ledger(plan: list) -> list:
    writer = LedgerWriter(make_signer(SEED_A), DEVICE, sign_every=40)
    raws = []
    t = 0

    def add(kind, fields, sign=False):
        nonlocal t
        t += 1000
        raws.append(writer.append(kind, fields, 1_700_000_000_000 + t, t, sign))

    add(KIND_EVENT, {F_EVENT: EV_BOOT}, True)
    for between, stopped, after, every in plan:
        writer.sign_every = every
        rec = writer.seq.to_bytes(8, "big")
        add(KIND_EVENT, {F_EVENT: EV_RECORD_START, F_RECORDING: rec})
        for i in range(between):
            if i % 5 == 4:
                add(KIND_EVENT, {F_EVENT: EV_PAUSE, F_RECORDING: rec})
            else:
                add(KIND_CHUNK, {**chunk_fields(len(raws)), F_RECORDING: rec})
        if stopped:
            add(KIND_EVENT, {F_EVENT: EV_RECORD_STOP, F_RECORDING: rec}, every != 40)
        for _ in range(after):
            add(KIND_EVENT, {F_EVENT: EV_BOOT})
    add(KIND_EVENT, {F_EVENT: EV_BOOT}, True)  # every entry signed for, in the end
    return raws


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDINGS, st.data())
def test_the_span_read_by_seq_is_the_span_of_the_whole_ledger(plan, data):
    # The stop's search, the reach on to the first signed entry and the link into the span,
    # against host.mp4export.recording_span over every entry.
    raws = _ledger(plan)
    entries = [parse_entry(r) for r in raws]
    numbers = record_starts(entries)
    number = data.draw(st.sampled_from([*numbers, numbers[-1] + 1, 0]))
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteEvidenceStore(folder)
        try:
            store.enrol(DEVICE, make_signer(SEED_A).public_key())
            store.add_entries(DEVICE, raws, 1)
            span = spans.read(store, DEVICE, number.to_bytes(8, "big"))
            assert (
                list(spans.starts(store, DEVICE)) == [n.to_bytes(8, "big") for n in numbers][::-1]
            )
        finally:
            store.close()
    rec_id = number.to_bytes(8, "big")
    want = recording_span(entries, rec_id)
    assert [e.seq for e in span.entries] == [e.seq for e in want]
    if want:
        verified = [r[2] for r in span.records]
        seqs = [e.seq for e in want]
        assert [e.seq for e in verified[: len(want)]] == seqs and verified[-1].signed
        stopped = any(
            e.fields.get(F_EVENT) == EV_RECORD_STOP and e.fields.get(F_RECORDING) == rec_id
            for e in want
        )
        if stopped:  # the span, no more
            assert [e.seq for e in verified] == seqs
        else:  # on to the next recording's start, and a signed entry
            nxt = [n for n in numbers if n > number]
            assert verified[-1].seq >= (nxt[0] - 1 if nxt else entries[-1].seq)
        assert span.resume == (number, entries[number - 1].digest)


def _stored(folder: str, raws: list, drop: "list | None" = None) -> SqliteEvidenceStore:
    """A store holding ``raws`` of DEVICE, the rows of the seqs in ``drop`` deleted from
    its database (as one who could write to it would), opened read only."""
    store = SqliteEvidenceStore(folder)
    try:
        store.enrol(DEVICE, make_signer(SEED_A).public_key())
        store.add_entries(DEVICE, raws, 1)
    finally:
        store.close()
    if drop:
        db = sqlite3.connect(Path(folder) / "evidence.db")
        db.executemany("DELETE FROM entries WHERE seq = ?", [(s,) for s in drop])
        db.commit()
        db.close()
    return SqliteEvidenceStore(folder, readonly=True)


def _verdict(span: spans.Span) -> str:
    public = make_signer(SEED_A).public_key()
    return verify_records(
        span.records, DEVICE, public, resume=span.resume, held_to=span.held_to
    ).state


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDINGS, st.data())
def test_a_deleted_row_at_a_recordings_start_is_never_ok(plan, data):  # R-HOST-5
    # Any recording's record-start row, deleted: the span read for its number is verified
    # NOT OK (a gap), never an empty span that says nothing is wrong.
    raws = _ledger(plan)
    entries = [parse_entry(r) for r in raws]
    number = data.draw(st.sampled_from(record_starts(entries)))
    with tempfile.TemporaryDirectory() as folder:
        store = _stored(folder, raws, [number])
        try:
            span = spans.read(store, DEVICE, number.to_bytes(8, "big"))
        finally:
            store.close()
    assert span.entries == [] and _verdict(span) == NOT_OK


def test_a_gap_of_a_hundred_seqs_past_an_unsigned_stop_is_found(tmp_path):  # R-HOST-5
    # The reach past an unsigned stop to the entry that signs for it asks for the next
    # entries by seq, so a gap wider than one batch is read across and found, not taken
    # for the ledger's end (which would leave the stop merely unsigned: OK with missing).
    writer = LedgerWriter(make_signer(SEED_A), DEVICE, sign_every=1 << 20)
    raws: list = []

    def add(kind, fields, sign=False):
        t = 1000 * (len(raws) + 1)
        raws.append(writer.append(kind, fields, 1_700_000_000_000 + t, t, sign))

    add(KIND_EVENT, {F_EVENT: EV_BOOT}, True)
    rec = writer.seq.to_bytes(8, "big")
    add(KIND_EVENT, {F_EVENT: EV_RECORD_START, F_RECORDING: rec})
    for _ in range(3):
        add(KIND_CHUNK, {**chunk_fields(len(raws)), F_RECORDING: rec})
    add(KIND_EVENT, {F_EVENT: EV_RECORD_STOP, F_RECORDING: rec})
    stop = len(raws) - 1
    for _ in range(150):
        add(KIND_EVENT, {F_EVENT: EV_BOOT})
    add(KIND_EVENT, {F_EVENT: EV_BOOT}, True)
    gap = list(range(stop + 1, stop + 101))
    store = _stored(str(tmp_path), raws, gap)
    try:
        span = spans.read(store, DEVICE, rec)
    finally:
        store.close()
    assert span.entries[-1].seq == len(raws) - 1 and span.entries[-1].signed
    public = make_signer(SEED_A).public_key()
    report = verify_records(span.records, DEVICE, public, resume=span.resume)
    assert report.state == NOT_OK
    assert any(f.code == "seq-gap" and f.seq == gap[0] for f in report.findings)


def test_finding_a_span_scans_few_events_of_a_long_ledger(tmp_path, monkeypatch):
    # The events are found by seq, a batch at a time from the start (or from the newest
    # down): with forty recordings, one recording's export reads a few of their events,
    # not all (every row the store returns is counted, its queries' included).
    raws = _ledger([(6, True, 2, 3)] * 40)
    entries = [parse_entry(r) for r in raws]
    events = sum(1 for e in entries if e.kind == KIND_EVENT)
    numbers = record_starts(entries)
    store = _stored(str(tmp_path), raws)
    try:
        for number in (numbers[0], numbers[20], None):
            queried: list = []
            read = counting(monkeypatch, queried)
            span = pick_recording(store, number, DEVICE)
            assert span.entries and span.entries[0].seq == (number or numbers[-1])
            assert len(read) + len(queried) <= 2 * len(span.entries) + 20 < events
    finally:
        store.close()


def test_a_court_package_of_an_early_recording_reads_its_span_only(three, tmp_path, monkeypatch):
    # Issue 15's package (and its derivative's export), whole and in part, from the span.
    from tests.host import courtstore

    store, entries = _court_store(three, tmp_path)
    first = record_starts(entries)[0]
    span = {e.seq for e in recording_span(entries, first.to_bytes(8, "big"))}
    read = counting(monkeypatch)
    item = "%s/%d" % (DEVICE, first)
    assert courtstore.export(monkeypatch, store, tmp_path / "pkg", "--recording", item) == 0
    assert read and {parse_entry(r).seq for r in read} == span
    read.clear()
    part = ("--recording", item, "--from", "0:00", "--to", "0:01")
    assert courtstore.export(monkeypatch, store, tmp_path / "part", *part) == 0
    assert read and {parse_entry(r).seq for r in read} == span


# --- the court package verifies the span as the export does ---------------------------------


def _court_store(three, tmp_path: Path) -> "tuple[Path, list]":
    """A copy of ``three`` with accounts and the host key set, for ``sealcam export --out``:
    (the store's folder, its entries)."""
    from host import settings
    from tests.host import courtstore
    from tests.host.helpers import host_keys, with_accounts

    ev, entries = three
    store = copy_of(ev, tmp_path)
    host_keys(tmp_path)
    opened = with_accounts(SqliteEvidenceStore(store), courtstore.ACCOUNTS)
    with opened.write() as cur:
        settings.put(cur, settings.HOST_KEY, str(tmp_path / "host.key"))
    opened.close()
    return store, entries


def _refused_as_not_authentic(monkeypatch, capsys, store: Path, item: str, out: Path) -> str:
    """``sealcam export --recording ITEM --out OUT`` is NOT OK (exit 1) in one line, leaves
    nothing, and its attempt is on record, refused as not authentic; the line."""
    from host import audit
    from tests.host import courtstore

    capsys.readouterr()
    assert courtstore.export(monkeypatch, store, out, "--recording", item) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and item in err, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if ".partial" in p.name or ".sealcam" in p.name]
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        with ev.read() as cur:
            (tried,) = [r for r in audit.history(cur) if r.action == audit.EXPORT]
    finally:
        ev.close()
    assert tried.outcome == audit.REFUSED and tried.item == item
    assert tried.details["reason"] == "not-authentic"
    return err


def test_a_court_package_of_a_recording_whose_start_row_was_deleted_is_not_ok(
    three, tmp_path, monkeypatch, capsys
):  # R-HOST-5: a deleted start row is tampering, not "no such recording" (a usage error)
    store, entries = _court_store(three, tmp_path)
    second = record_starts(entries)[1]
    db = sqlite3.connect(store / "evidence.db")
    db.execute("DELETE FROM entries WHERE seq = ?", (second,))
    db.commit()
    db.close()
    item = "%s/%d" % (DEVICE, second)
    err = _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "pkg")
    assert "NOT OK" in err and "seq %d" % second in err  # the gap, named


@pytest.mark.parametrize("other", ["first start", "next entry"])
def test_a_court_package_of_a_recording_whose_start_row_was_swapped_is_not_ok(
    three, tmp_path, monkeypatch, capsys, other
):  # R-HOST-5: another entry, one that parses and is logged, put in the start's row
    store, entries = _court_store(three, tmp_path)
    first, second, _ = record_starts(entries)
    source = first if other == "first start" else second + 1
    db = sqlite3.connect(store / "evidence.db")
    raw, digest = db.execute("SELECT raw, hash FROM entries WHERE seq = ?", (source,)).fetchone()
    db.execute("UPDATE entries SET raw = ?, hash = ? WHERE seq = ?", (raw, digest, second))
    db.commit()
    db.close()
    item = "%s/%d" % (DEVICE, second)
    assert "NOT OK" in _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "p")


def test_a_court_package_of_a_recording_with_a_changed_entry_is_not_ok(
    three, tmp_path, monkeypatch, capsys
):  # R-HOST-5: a signature broken inside the span (the log no longer proves the entry either)
    store, entries = _court_store(three, tmp_path)
    second = record_starts(entries)[1]
    stop = signed_stop(entries, second)
    break_signature(store, stop)
    item = "%s/%d" % (DEVICE, second)
    err = _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "pkg")
    assert "NOT OK" in err and "seq %d" % stop in err
    # The recording before it is untouched, and packaged.
    from tests.host import courtstore

    first = "%s/%d" % (DEVICE, record_starts(entries)[0])
    assert courtstore.export(monkeypatch, store, tmp_path / "ok", "--recording", first) == 0


def test_a_court_package_of_an_fmp4_recording_checks_the_link_into_its_span(
    tmp_path, monkeypatch, capsys
):  # R-HOST-5: the store's entry before the span changed: only the chain finds it (every
    # entry of the span is still proven in the log), and its verdict, taken beside the
    # copy of the fragments, stops the package before it is made final.
    from host import mp4export
    from host.errors import Refused

    store, item, _ = _fmp4_store_linked_wrong(tmp_path)
    taken: list = []  # per verdict taken: (whether the video was in place yet, what it raised)
    real = mp4export.export_fmp4

    def export_fmp4(*args, ledger=None, **kwargs):
        out = args[6]

        def verdict():
            try:
                return ledger()
            except Exception as exc:
                taken.append((out.exists(), type(exc)))
                raise

        return real(*args, ledger=verdict if ledger is not None else None, **kwargs)

    monkeypatch.setattr(mp4export, "export_fmp4", export_fmp4)
    assert "NOT OK" in _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "p")
    assert taken == [(False, Refused)]  # taken in the export, before its video was in place


def _newest_deleted_to_the_end(three, tmp_path: Path) -> "tuple[Path, int, int]":
    """A copy of ``three`` (``_court_store``) with every row from its newest record-start to
    the ledger's end deleted: (the store's folder, that start's seq, the last seq it held)."""
    store, entries = _court_store(three, tmp_path)
    newest = record_starts(entries)[-1]
    db = sqlite3.connect(store / "evidence.db")
    db.execute("DELETE FROM entries WHERE seq >= ?", (newest,))
    db.commit()
    db.close()
    return store, newest, entries[-1].seq


def test_a_newest_recording_deleted_to_the_ledgers_end_is_not_ok(
    three, tmp_path, monkeypatch, capsys
):  # R-HOST-5: every row from the newest recording's start to the ledger's end deleted.
    # Nothing is left after the gap to show it; but the host log holds a leaf for every
    # entry the store took: a seq it logged and no longer holds is missing, NOT OK, and
    # the recording is not said to be one the store never held.
    store, newest, last = _newest_deleted_to_the_end(three, tmp_path)
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        span = spans.read(ev, DEVICE, newest.to_bytes(8, "big"))
    finally:
        ev.close()
    assert span.entries == [] and _verdict(span) == NOT_OK
    with pytest.raises(NotAuthentic, match="seq %d to %d are missing" % (newest, last)):
        export_recording(str(store), DEVICE, newest, str(tmp_path / "a.avi"), "W. Li")
    item = "%s/%d" % (DEVICE, newest)
    err = _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "pkg")
    assert "NOT OK" in err and "seq %d to %d are missing" % (newest, last) in err, err
    # A number past every seq the store ever logged is still no such recording (exit 2).
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        past = spans.read(ev, DEVICE, (last + 1).to_bytes(8, "big"))
    finally:
        ev.close()
    assert past.entries == [] and past.records == [] and past.resume is None


def test_a_court_package_of_a_raw_recording_reads_and_verifies_its_span_once(
    tmp_path, monkeypatch
):  # R-HOST-5 at the cost of one: the playable derivative is made from the span the
    # package read and verified, not read and verified again by the video export.
    from host import export, sigworker
    from tests.host import courtstore

    store = courtstore.raw_store(tmp_path)
    item = courtstore.the_item(store)
    read: list = []
    workers: list = []
    real_read = spans.read

    def counted(store, device_id, rec_id):
        read.append(rec_id)
        return real_read(store, device_id, rec_id)

    class Counted(sigworker.LedgerWorker):  # type: ignore[misc]
        def __init__(self, *args, **kwargs):
            workers.append(args[1])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(spans, "read", counted)
    monkeypatch.setattr(sigworker, "LedgerWorker", Counted)
    monkeypatch.setattr(export, "LedgerWorker", Counted)
    assert courtstore.export(monkeypatch, store, tmp_path / "pkg", "--recording", item) == 0
    assert len(read) == 1 and workers == [DEVICE]
    manifest = (tmp_path / "pkg" / "manifest.json").read_text()
    assert '"derivative"' in manifest  # the playable video was made


def _fmp4_store_linked_wrong(tmp_path: Path) -> "tuple[Path, str, list]":
    """An fMP4 store whose hash of the entry before the recording's span was changed (only
    the chain finds it): (the store, its item, its entries)."""
    from tests.host.courtstore import fmp4_store, the_item

    store = fmp4_store(tmp_path)
    item = the_item(store)
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        entries = [parse_entry(r) for r in ev.entries(DEVICE)]
    finally:
        ev.close()
    number = record_starts(entries)[0]
    assert number > 0
    db = sqlite3.connect(store / "evidence.db")
    db.execute("UPDATE entries SET hash = ? WHERE seq = ?", (b"\xab" * 32, number - 1))
    db.commit()
    db.close()
    return store, item, entries


@pytest.mark.parametrize("media", ["fragment", "init"])
def test_an_fmp4_recording_whose_media_is_gone_and_ledger_broken_is_not_ok(
    tmp_path, monkeypatch, capsys, media
):  # R-HOST-5: the export cannot be made (media not synced), and the ledger is broken: the
    # broken ledger is said (exit 1, not authentic), as the MP4 export says it, not exit 2.
    from protocol.ledger import media_digest
    from protocol.registry import F_MEDIA_TYPE, MEDIA_MP4_INIT

    store, item, entries = _fmp4_store_linked_wrong(tmp_path)
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    init = [e for e in chunks if e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT]
    gone = init[0] if media == "init" else [e for e in chunks if e not in init][1]
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        ev.media_file(media_digest(gone.fields)).unlink()
    finally:
        ev.close()
    err = _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "p")
    assert "NOT OK" in err


def test_an_fmp4_recordings_span_is_verified_beside_its_own_copy(tmp_path, monkeypatch):
    # R-HOST-5 with the package's speed: the worker that verifies an fMP4 recording's span
    # starts with its video's export (after every recording's files are laid out), not all
    # together before any copy; one runs at a time.
    from host import sigworker
    from host.court import package
    from tests.host import courtstore

    store = courtstore.fmp4_store(tmp_path)
    item = courtstore.the_item(store)
    said: list = []
    live: list = []
    real_worker = sigworker.LedgerWorker

    class Counted(real_worker):  # type: ignore[misc,valid-type]
        def __init__(self, *args, **kwargs):
            said.append(("worker", len(live)))
            live.append(self)
            super().__init__(*args, **kwargs)

        def close(self):
            if self in live:
                live.remove(self)
            super().close()

    def told(name, real):
        def wrapped(self, *args, **kwargs):
            said.append((name, len(live)))
            return real(self, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(sigworker, "LedgerWorker", Counted)
    for name in ("recording", "export"):
        monkeypatch.setattr(package._Builder, name, told(name, getattr(package._Builder, name)))
    assert courtstore.export(monkeypatch, store, tmp_path / "pkg", "--recording", item) == 0
    assert said == [("recording", 0), ("export", 0), ("worker", 0)]
    assert not live


def _recording_at_seq_0() -> list:
    """A ledger whose recording 0 starts at seq 0 (a device's first entry), then a boot."""
    writer = LedgerWriter(make_signer(SEED_A), DEVICE, sign_every=1 << 20)
    raws: list = []

    def add(kind, fields, sign=False):
        t = 1000 * (len(raws) + 1)
        raws.append(writer.append(kind, fields, 1_700_000_000_000 + t, t, sign))

    rec = (0).to_bytes(8, "big")
    add(KIND_EVENT, {F_EVENT: EV_RECORD_START, F_RECORDING: rec})
    for _ in range(3):
        add(KIND_CHUNK, {**chunk_fields(len(raws)), F_RECORDING: rec})
    add(KIND_EVENT, {F_EVENT: EV_RECORD_STOP, F_RECORDING: rec}, True)
    add(KIND_EVENT, {F_EVENT: EV_BOOT}, True)
    return raws


def test_recording_0_whose_row_at_seq_0_was_deleted_is_not_ok(tmp_path, capsys):  # R-HOST-5
    # Nothing lies before seq 0 to chain to; but a store takes a device's ledger from seq 0
    # only, so the rows it holds past it prove an entry at seq 0 was stored: its absence is
    # a gap, NOT OK, and recording 0 is not said to be missing ("no such recording").
    raws = _recording_at_seq_0()
    intact = _stored(str(tmp_path / "intact"), raws)
    try:
        whole = spans.read(intact, DEVICE, (0).to_bytes(8, "big"))
    finally:
        intact.close()
    assert [e.seq for e in whole.entries] == [0, 1, 2, 3, 4] and _verdict(whole) == "OK"
    store = _stored(str(tmp_path / "cut"), raws, [0])
    try:
        span = spans.read(store, DEVICE, (0).to_bytes(8, "big"))
    finally:
        store.close()
    assert span.entries == [] and _verdict(span) == NOT_OK
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(str(tmp_path / "cut"), DEVICE, 0, str(tmp_path / "a.avi"), "W. Li")
    # The court package says the same (a store without accounts: the extractor named).
    from host.cli.main import main
    from host.errors import EXIT_NOT_OK
    from tests.host.helpers import host_keys

    host_keys(tmp_path)
    pkg = tmp_path / "pkg"
    key = str(tmp_path / "host.key")
    argv = ["export", "--evidence", str(tmp_path / "cut"), "--recording", "%s/0" % DEVICE,
            "--out", str(pkg), "--extractor", "W. Li", "--host-key", key]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == EXIT_NOT_OK
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "%s/0" % DEVICE in err and "NOT OK" in err and "seq 0" in err, err
    assert not pkg.exists()


def test_the_newest_recording_deleted_to_the_ledgers_end_is_not_exported_as_another(
    three, tmp_path, monkeypatch, capsys
):  # R-HOST-5: with no number given, "the newest recording" is asked of the store; every
    # row from the newest record-start to the ledger's end deleted leaves the one before it
    # as the newest the store holds. The host log names the seqs the store took: the gap is
    # said (NOT OK, exit 1, in either language, on record), not the older one exported.
    from host import audit
    from tests.host import courtstore

    store, newest, last = _newest_deleted_to_the_end(three, tmp_path)
    missing = "seq %d to %d are missing" % (newest, last)
    for changed in (False, True):  # --mark-changed cannot bring a deleted recording back
        with pytest.raises(NotAuthentic, match=missing):
            export_recording(
                str(store), DEVICE, None, str(tmp_path / "a.avi"), "W. Li", mark_changed=changed
            )
    capsys.readouterr()
    out = tmp_path / "out" / "a.avi"
    out.parent.mkdir()
    said_in = {"en": "the newest recording was deleted", "zh": "最新录像已从证据库中删除"}
    for lang, said in said_in.items():
        code = courtstore.export(monkeypatch, store, out, "--device", DEVICE, "--lang", lang)
        err = capsys.readouterr().err.strip()
        assert code == 1, err
        assert len(err.splitlines()) == 1 and said in err and DEVICE in err, err
        assert str(newest) in err and str(last) in err, err
    assert list(out.parent.iterdir()) == []
    # By its number, the deleted recording is refused alike, and on record under its item.
    assert courtstore.export(monkeypatch, store, out, "--device", DEVICE, "--recording",
                             str(newest)) == 1  # fmt: skip
    assert missing in capsys.readouterr().err
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        with ev.read() as cur:
            tried = [r for r in audit.history(cur) if r.action == audit.EXPORT]
    finally:
        ev.close()
    assert [(r.item, r.outcome, r.details["reason"]) for r in tried] == [
        (None, audit.REFUSED, "not-authentic"),
        (None, audit.REFUSED, "not-authentic"),
        ("%s/%d" % (DEVICE, newest), audit.REFUSED, "not-authentic"),
    ]
    assert tried[0].details["device"] == DEVICE
    # The recordings before the gap still export by their numbers (their spans are whole).
    second = record_starts(three[1])[1]
    note = export_recording(str(store), DEVICE, second, str(tmp_path / "b.avi"), "W. Li")
    assert note["ledger_verification"] == "OK"


def _newest_cut_short(three, tmp_path: Path) -> "tuple[Path, int, int]":
    """A copy of ``three`` (``_court_store``) with its last three rows deleted, the newest
    recording's record-start kept: (the store's folder, that start's seq, the last seq it
    held)."""
    store, entries = _court_store(three, tmp_path)
    newest = record_starts(entries)[-1]
    assert entries[-3].seq > newest
    db = sqlite3.connect(store / "evidence.db")
    db.execute("DELETE FROM entries WHERE seq >= ?", (entries[-3].seq,))
    db.commit()
    db.close()
    return store, newest, entries[-1].seq


def test_the_newest_recording_cut_short_at_the_ledgers_end_is_not_ok(
    three, tmp_path, monkeypatch, capsys
):  # R-HOST-5: the rows at the ledger's end deleted, the newest record-start kept: not a
    # recording a power loss cut short (OK), but seqs the host log names and the store no
    # longer holds, NOT OK, by number, with no number (said of that recording, not as one
    # deleted) and as a court package.
    from tests.host import courtstore

    store, newest, last = _newest_cut_short(three, tmp_path)
    cut = three[1][-3].seq
    missing = "seq %d to %d are missing" % (cut, last)
    for number in (newest, None):
        with pytest.raises(NotAuthentic, match=missing):
            export_recording(str(store), DEVICE, number, str(tmp_path / "a.avi"), "W. Li")
    item = "%s/%d" % (DEVICE, newest)
    err = _refused_as_not_authentic(monkeypatch, capsys, store, item, tmp_path / "pkg")
    assert "NOT OK" in err and missing in err, err
    out = tmp_path / "out" / "a.avi"
    out.parent.mkdir()
    for more in ((), ("--recording", str(newest))):
        code = courtstore.export(monkeypatch, store, out, "--device", DEVICE, *more)
        err = capsys.readouterr().err.strip()
        assert code == 1, err
        assert len(err.splitlines()) == 1 and missing in err and str(newest) in err, err
        assert "newest recording was deleted" not in err, err
    assert list(out.parent.iterdir()) == []


def test_an_honest_stores_newest_recording_exports_ok(three, tmp_path, capsys, monkeypatch):
    # R-HOST-5: the span of the newest recording reaches the ledger's end; the host log names
    # no seq past it, so nothing is missing: OK, with no number and by its number.
    from tests.host import courtstore

    store, entries = _court_store(three, tmp_path)
    newest = record_starts(entries)[-1]
    ev = SqliteEvidenceStore(store, readonly=True)
    try:
        assert spans.read(ev, DEVICE, newest.to_bytes(8, "big")).held_to is None
    finally:
        ev.close()
    for number in (None, newest):
        note = export_recording(str(store), DEVICE, number, str(tmp_path / "a.avi"), "W. Li")
        assert note["ledger_verification"] == "OK", note
        (tmp_path / "a.avi").unlink()
        Path(str(tmp_path / "a.avi") + ".json").unlink(missing_ok=True)
    out = tmp_path / "out" / "a.avi"
    out.parent.mkdir()
    assert courtstore.export(monkeypatch, store, out, "--device", DEVICE) == 0
    assert out.exists()


def test_a_user_without_the_export_right_is_told_so_not_of_the_tampering(
    three, tmp_path, monkeypatch, capsys
):  # R-HOST-3: a tampered store's newest recording asked for by a user who may not export:
    # the rules' refusal is what they are told (exit 1), not the ledger's state.
    from tests.host import courtstore

    store, _, _ = _newest_deleted_to_the_end(three, tmp_path)
    out = tmp_path / "out" / "a.avi"
    out.parent.mkdir()
    capsys.readouterr()
    code = courtstore.export(monkeypatch, store, out, "--device", DEVICE, user=courtstore.APPROVER)
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "may not" in err, err
    assert "NOT OK" not in err and "deleted" not in err, err
    assert list(out.parent.iterdir()) == []
