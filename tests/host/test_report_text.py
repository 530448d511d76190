"""Verification reports as a person reads them."""
# micropython: skip (host code)

from host.report_text import render
from protocol.verify import verify_ledger
from tests.protocol.helpers import DEVICE, device_key, make_entries


def test_an_empty_ledger_reads_as_empty_not_as_python_none():
    # Issue 10 item 5 (one clear report): an enrolled device with nothing stored yet showed
    # "seq None to None" and "? to ?" in sealcam verify evidence/.
    text = render(verify_ledger(b"", DEVICE, device_key().public), "evidence")
    assert "None" not in text and "?" not in text
    assert "Entries  0 (0 signed)\n" in text and "Time     none" in text


def test_a_ledger_names_its_seqs_and_times():
    text = render(verify_ledger(b"".join(make_entries(3)), DEVICE, device_key().public), "x")
    assert "Entries  3 (3 signed), seq 0 to 2" in text
    # Issue 17 "Chinese first": times in the agency's zone with the offset, as the overlay.
    assert "Time     2026-11-23 16:00:00 UTC+8 to 2026-11-23 16:00:02 UTC+8" in text
