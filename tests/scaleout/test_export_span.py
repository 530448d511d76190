"""On the scale-out store too, an export reads and verifies its recording's span of the
ledger (a ranged read of PostgreSQL's entries), not the device's whole ledger."""
# micropython: skip (host code, real services)
# R-HOST-5: nothing is exported from a span that is not what the device signed; a broken
# entry in another recording is the store's verify's finding, not this export's.

import pytest

from host.export import NotAuthentic, export_recording
from host.mp4export import recording_span
from protocol.ledger import parse_entry
from tests.host.helpers import evidence, record_starts, run_pair, signed_stop
from tests.host.rawrec import record
from tests.protocol.helpers import DEVICE
from tests.scaleout.helpers import copy_into_scaleout


@pytest.fixture
def three(tmp_path, scale_store):
    """A device with three raw recordings in a scale-out store: (url, bucket, entries)."""
    from host.evidence import SqliteEvidenceStore

    agent, _ = record(tmp_path / "dev", seconds=1, recordings=3)
    ev = evidence(tmp_path / "ev")
    assert run_pair(agent, ev)[0]["result"] == "done"
    ev.close()
    agent.store.close()
    src = SqliteEvidenceStore(tmp_path / "ev", readonly=True)
    url, media = scale_store
    try:
        entries = [parse_entry(r) for r in src.entries(DEVICE)]
        copy_into_scaleout(src, url, media).close()
    finally:
        src.close()
    return url, media, entries


def _sql(url: str, sql: str, params: tuple) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


def _break_signature(url: str, seq: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        (raw,) = conn.execute("SELECT raw FROM entries WHERE seq = %s", (seq,)).fetchone()
        raw = bytearray(raw)
        raw[-5] ^= 0x01  # in the signature, the entry's last field
        conn.execute("UPDATE entries SET raw = %s WHERE seq = %s", (bytes(raw), seq))


def test_an_early_recordings_export_reads_its_span_only(three, tmp_path, monkeypatch):
    from host.pgstore import PgEvidenceStore

    url, media, entries = three
    first = record_starts(entries)[0]
    span = recording_span(entries, first.to_bytes(8, "big"))
    read: list = []
    real = PgEvidenceStore.entries

    def entries_read(self, device_id, from_seq=0, to_seq=None):
        raws = real(self, device_id, from_seq, to_seq)
        read.extend(raws)
        return raws

    monkeypatch.setattr(PgEvidenceStore, "entries", entries_read)
    out = tmp_path / "a.avi"
    note = export_recording(url, DEVICE, first, str(out), "W. Li", media=media)
    assert note["ledger_verification"] == "OK" and note["recording"]["number"] == first
    assert [parse_entry(r).seq for r in read] == [e.seq for e in span]
    assert len(span) < len(entries) / 2


def test_a_broken_signature_stops_its_recordings_export_and_no_other(three, tmp_path):
    url, media, entries = three
    first, second, _ = record_starts(entries)
    _break_signature(url, signed_stop(entries, second))
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(url, DEVICE, second, str(tmp_path / "b.avi"), "W. Li", media=media)
    assert not (tmp_path / "b.avi").exists()
    note = export_recording(url, DEVICE, first, str(tmp_path / "a.avi"), "W. Li", media=media)
    assert note["ledger_verification"] == "OK"


def test_a_chain_broken_at_the_spans_start_is_found(three, tmp_path):
    url, media, entries = three
    second = record_starts(entries)[1]
    _sql(url, "UPDATE entries SET hash = %s WHERE seq = %s", (b"\xab" * 32, second - 1))
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(url, DEVICE, second, str(tmp_path / "a.avi"), "W. Li", media=media)


def test_a_deleted_record_start_is_a_broken_ledger_not_a_missing_recording(three, tmp_path):
    # R-HOST-5: the start row's seq is within the ledger, so its absence is a gap, found.
    url, media, entries = three
    second = record_starts(entries)[1]
    _sql(url, "DELETE FROM entries WHERE seq = %s", (second,))
    with pytest.raises(NotAuthentic, match="NOT OK"):
        export_recording(url, DEVICE, second, str(tmp_path / "a.avi"), "W. Li", media=media)
    assert not (tmp_path / "a.avi").exists()
