"""A shift's ledger for the compliance and report tests: written by the simulator's shift
script, received on time, and continued with further entries."""

from host.compliance import HOUR_MS
from protocol.ledger import LedgerWriter, parse_entry
from protocol.registry import F_END_MS, F_WALL_MS
from protocol.signer import make_signer
from simulator.shift import write_shift
from tests.protocol.helpers import DEVICE, SEED_A, T0


def shift() -> list:
    return [parse_entry(r) for r in write_shift(make_signer(SEED_A), DEVICE, T0, "P-1", 6, 5)]


def on_time(entries: list, after_ms: int = HOUR_MS) -> dict:
    """Each entry received ``after_ms`` after it was made."""
    return {e.seq: e.fields.get(F_END_MS, e.fields[F_WALL_MS]) + after_ms for e in entries}


def continue_ledger(entries: list) -> LedgerWriter:
    last = entries[-1]
    return LedgerWriter(make_signer(SEED_A), DEVICE, last.seq + 1, last.digest)
