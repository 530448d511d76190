"""The verifier with signature checks made apart from the reader gives the same report."""
# micropython: skip (hypothesis is a CPython library)
# issue 10 (verify throughput): overlapping the signature checks changes no finding, state,
# offset or progress call, whatever order the outcomes come in.

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.signer import SignatureChecker
from protocol.verify import PIPELINE_AHEAD, CheckPipeline, verify_chunks
from tests.protocol.helpers import DEVICE, SEED_B, device_key, make_entries

KEY = device_key()


class LaggingChecks(CheckPipeline):
    """Outcomes that come in late: ``ready`` says yes only when the drawn pattern says so."""

    def __init__(self, public_key: bytes, pattern: list) -> None:
        self.checker = SignatureChecker(public_key)
        self.pattern = pattern or [False]
        self.outcomes: list = []
        self.asked = 0
        self.outstanding = 0
        self.most_outstanding = 0
        self.closed = False

    def submit(self, message: bytes, signature: bytes) -> None:
        self.outcomes.append(self.checker.check(message, signature))
        self.outstanding += 1
        self.most_outstanding = max(self.most_outstanding, self.outstanding)

    def ready(self) -> bool:
        self.asked += 1
        return self.pattern[self.asked % len(self.pattern)] and self.outstanding > 0

    def take(self) -> bool:
        self.outstanding -= 1
        return self.outcomes.pop(0)

    def close(self) -> None:
        self.closed = True


@st.composite
def damaged_ledgers(draw) -> bytes:
    entries = make_entries(draw(st.integers(2, 14)), sign_every=draw(st.integers(1, 4)))
    if draw(st.booleans()):  # a tail signed with another key (a key change or a forgery)
        entries += make_entries(draw(st.integers(1, 4)), seed=SEED_B)[-2:]
    if draw(st.booleans()):  # an entry of another device
        entries.insert(draw(st.integers(0, len(entries))), make_entries(1, device="SC-X")[0])
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(entries) - 1))
        op = draw(st.sampled_from(["drop", "repeat", "swap", "flip", "junk"]))
        if op == "drop" and len(entries) > 1:
            del entries[i]
        elif op == "repeat":
            entries.insert(i, entries[i])
        elif op == "swap" and i + 1 < len(entries):
            entries[i], entries[i + 1] = entries[i + 1], entries[i]
        elif op == "flip":
            raw = bytearray(entries[i])
            j = draw(st.integers(0, len(raw) - 1))
            raw[j] ^= 1 << draw(st.integers(0, 7))
            entries[i] = bytes(raw)
        elif op == "junk":
            entries.insert(i, draw(st.binary(min_size=1, max_size=40)))
    data = b"".join(entries)
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


def run(data: bytes, size: int, checks=None) -> tuple:
    seen: list = []
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    report = verify_chunks(chunks, DEVICE, KEY.public, seen.append, checks)
    return report.to_dict(), seen


@settings(max_examples=300, deadline=None)
@given(damaged_ledgers(), st.integers(1, 4096), st.lists(st.booleans(), max_size=12))
def test_pipelined_checks_give_the_same_report(data, size, pattern):
    expected = run(data, size)
    assert run(data, size, CheckPipeline(KEY.public)) == expected
    lagging = LaggingChecks(KEY.public, pattern)
    assert run(data, size, lagging) == expected
    assert lagging.closed and lagging.outstanding == 0


def test_records_held_for_their_checks_are_bounded():
    # However late the outcomes come, the verifier holds at most PIPELINE_AHEAD records
    # (and their checks) before it waits for the oldest.
    entries = make_entries(3 * PIPELINE_AHEAD)
    data = b"".join(entries)
    never = LaggingChecks(KEY.public, [False])
    assert run(data, 1 << 20, never) == run(data, 1 << 20)
    assert never.most_outstanding == PIPELINE_AHEAD + 1
