"""The host reads a device's index-rebuilt event and its eviction frontier as the rules do."""
# Issue 19: a device that rebuilt its on-card retention index says so in a signed event;
# the host's compliance check and verifier accept it, and the timeline names it in English.
# R-DEV-4: eviction events now carry the frontier (through_seq) beside the media they name.

from host.compliance import HOUR_MS, check
from host.timeline import _event_line
from protocol.ledger import LedgerWriter, parse_entry
from protocol.registry import (
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_INDEX_REBUILT,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_PLAIN_SHA,
    F_WALL_MS,
    KIND_CHUNK,
    KIND_EVENT,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from simulator.shift import write_shift
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

DAY = 24 * HOUR_MS


def test_an_index_rebuilt_event_and_a_frontier_raise_no_flag_and_verify():
    entries = [parse_entry(r) for r in write_shift(make_signer(SEED_A), DEVICE, T0, "P-1", 6, 5)]
    last = entries[-1]
    w = LedgerWriter(make_signer(SEED_A), DEVICE, last.seq + 1, last.digest)
    first = next(e for e in entries if e.kind == KIND_CHUNK)
    more = [
        (EV_HOST_RECEIPT, {"through_seq": last.seq}, T0 + HOUR_MS),
        (EV_INDEX_REBUILT, {"reason": "damaged", "through_seq": last.seq + 1}, T0 + DAY),
        (
            EV_EVICTION,
            {"media": [first.fields[F_PLAIN_SHA]], "through_seq": first.seq},
            T0 + 200 * DAY,
        ),
    ]
    for code, detail, at in more:
        raw = w.append(KIND_EVENT, {F_EVENT: code, F_DETAIL: detail}, at, at - T0, sign=True)
        entries.append(parse_entry(raw))
    received = {e.seq: e.fields.get(F_END_MS, e.fields[F_WALL_MS]) + HOUR_MS for e in entries}
    assert check(entries, received) == []
    key = device_key()
    assert verify_ledger(b"".join(e.raw for e in entries), key.device_id, key.public).state == OK
    rebuilt = next(e for e in entries if e.fields.get(F_EVENT) == EV_INDEX_REBUILT)
    assert _event_line(rebuilt, {})["event"] == "index-rebuilt"
