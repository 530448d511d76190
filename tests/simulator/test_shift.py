"""The scripted shift runs the real recorder and yields a ledger that verifies."""
# micropython: skip (the simulator runs on CPython)

from protocol.ledger import entry_hash, parse_entry
from protocol.registry import (
    EV_ANNOUNCEMENT,
    EV_PAUSE,
    EV_RESUME,
    F_EVENT,
    F_SPOKEN,
    KIND_EVENT,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from simulator.shift import write_shift
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key


def test_shift_has_announcement_pause_and_spoken_reason_and_verifies():  # R-DEV-8, R-DEV-9
    raws = write_shift(make_signer(SEED_A), DEVICE, T0, "P-0427", seconds=6, fps=5)
    key = device_key()
    assert verify_ledger(b"".join(raws), key.device_id, key.public).state == OK
    entries = [parse_entry(r) for r in raws]
    codes = [e.fields[F_EVENT] for e in entries if e.kind == KIND_EVENT]
    assert EV_ANNOUNCEMENT in codes and EV_PAUSE in codes and EV_RESUME in codes
    resume = next(e for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_RESUME)
    hashes = {entry_hash(r) for r in raws}
    assert resume.fields[F_SPOKEN] in hashes  # the spoken reason is a chunk in the ledger
