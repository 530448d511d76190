"""The adaptive signing cadence keeps signing within its share of real time."""

from protocol.cadence import SigningCadence
from protocol.ledger import parse_entry
from protocol.registry import KIND_CHUNK
from protocol.verify import OK, verify_ledger
from tests.portable import raises
from tests.protocol.helpers import chunk_fields, device_key, make_writer


def test_fast_signer_signs_every_entry():
    c = SigningCadence()
    for _ in range(20):
        assert c.observe(sign_us=50, interval_us=1_000_000) == 1


def test_slow_signer_signs_every_kth_entry():
    c = SigningCadence(budget_percent=50)
    for _ in range(20):
        k = c.observe(sign_us=2_600_000, interval_us=1_000_000)
    # 2.6 s per signature within half of each 1 s entry interval: every 6th entry.
    assert k == 6


def test_k_steps_up_at_once_and_down_gradually():
    c = SigningCadence(budget_percent=50)
    assert c.observe(1_400_000, 1_000_000) == 3
    for _ in range(30):
        c.observe(100, 1_000_000)
    assert c.k == 1
    c2 = SigningCadence(budget_percent=50)
    ks = [c2.observe(2_000_000, 1_000_000)]
    assert ks == [4]
    for _ in range(10):
        ks.append(c2.observe(100, 1_000_000))
    for i in range(1, len(ks)):
        assert ks[i - 1] - ks[i] in (0, 1), ks  # never more than one step down
    assert ks[-1] == 1


def test_k_is_bounded():
    c = SigningCadence(max_k=8)
    assert c.observe(100_000_000, 1_000_000) == 8
    raises(ValueError, SigningCadence, 0)
    raises(ValueError, SigningCadence, 50, 0)


def test_ledger_written_at_an_adaptive_cadence_verifies():
    # A signer that takes 1.7 s per signature, with 1 s chunks, on a virtual clock.
    writer = make_writer()
    cadence = SigningCadence(budget_percent=50)
    entries = []
    now_us = 0
    for i in range(20):
        ms = now_us // 1000
        raw = writer.append(KIND_CHUNK, chunk_fields(i), ms, ms, sign=i == 19)
        entries.append(raw)
        if parse_entry(raw).signed:
            writer.sign_every = cadence.observe(1_700_000, 1_000_000)
        now_us += 1_000_000
    key = device_key()
    report = verify_ledger(b"".join(entries), key.device_id, key.public)
    assert report.state == OK
    assert 1 < cadence.k <= 4
    assert report.stats["signed"] < 20
