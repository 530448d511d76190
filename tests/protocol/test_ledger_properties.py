"""Property and stateful tests of the ledger writer and the verifier."""
# micropython: skip (hypothesis is a CPython library)
# R-DEV-2: any deletion, edit, reordering or insertion is detectable with the public key.

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from protocol.ledger import LedgerWriter, parse_entry
from protocol.signer import make_signer
from protocol.verify import NOT_OK, OK, OK_MISSING, LedgerVerifier, verify_ledger
from tests.protocol.helpers import DEVICE, SEED_A, SEED_B, device_key, entry_spec, make_entries

KEY = device_key()


def verdict(entries: list) -> str:
    return verify_ledger(b"".join(entries), KEY.device_id, KEY.public).state


ledgers = st.builds(
    lambda n, k: make_entries(n, sign_every=k),
    st.integers(min_value=3, max_value=16),
    st.integers(min_value=1, max_value=4),
)


@settings(max_examples=60)
@given(ledgers)
def test_untouched_ledgers_verify(entries):
    assert verdict(entries) == OK


@settings(max_examples=200)
@given(ledgers, st.data())
def test_deleting_entries_inside_is_caught(entries, data):
    i = data.draw(st.integers(min_value=1, max_value=len(entries) - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=len(entries) - 1))
    assert verdict(entries[:i] + entries[j:]) == NOT_OK


@settings(max_examples=200)
@given(ledgers, st.data())
def test_reordering_is_caught(entries, data):
    i = data.draw(st.integers(min_value=0, max_value=len(entries) - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=len(entries) - 1))
    entries[i], entries[j] = entries[j], entries[i]
    assert verdict(entries) == NOT_OK


@settings(max_examples=200)
@given(ledgers, st.data())
def test_repeating_an_entry_is_caught(entries, data):
    src = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    dst = data.draw(st.integers(min_value=0, max_value=len(entries)))
    entries.insert(dst, entries[src])
    assert verdict(entries) == NOT_OK


@settings(max_examples=300)
@given(ledgers, st.data())
def test_any_changed_bit_is_caught(entries, data):
    blob = bytearray(b"".join(entries))
    pos = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    blob[pos] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    assert verify_ledger(bytes(blob), KEY.device_id, KEY.public).state == NOT_OK


@settings(max_examples=200)
@given(ledgers, st.data())
def test_cutting_inside_an_entry_is_caught(entries, data):
    blob = b"".join(entries)
    cut = data.draw(st.integers(min_value=1, max_value=len(blob) - 1))
    boundaries = set()
    pos = 0
    for e in entries:
        pos += len(e)
        boundaries.add(pos)
    report = verify_ledger(blob[:cut], KEY.device_id, KEY.public)
    if cut in boundaries:
        # Whole trailing entries gone leave no trace in the ledger itself: the device's
        # ledger head, announced at every sync, is what catches that.
        assert report.state in (OK, OK_MISSING)
    else:
        assert report.state == NOT_OK
        assert "truncated" in [f.code for f in report.findings]


@settings(max_examples=100)
@given(ledgers, st.data())
def test_inserting_a_forged_entry_is_caught(entries, data):
    forged = make_entries(len(entries), seed=SEED_B)
    src = data.draw(st.integers(min_value=0, max_value=len(forged) - 1))
    dst = data.draw(st.integers(min_value=0, max_value=len(entries)))
    entries.insert(dst, forged[src])
    assert verdict(entries) == NOT_OK


class WriterAndVerifier(RuleBasedStateMachine):
    """A device writes for a long time, reboots and re-paces its signing; the ledger it
    leaves verifies at every step, and signed-so-far means OK."""

    def __init__(self) -> None:
        super().__init__()
        self.writer = LedgerWriter(make_signer(SEED_A), DEVICE)
        self.entries: list = []
        self.boots = 0

    def _append(self, sign: bool = False) -> None:
        kind, fields = entry_spec(len(self.entries))
        n = len(self.entries)
        self.entries.append(self.writer.append(kind, fields, 1000 * n, 10 * n, sign))

    @rule()
    def append(self) -> None:
        self._append()

    @rule()
    def append_signed(self) -> None:
        self._append(sign=True)

    @rule(k=st.integers(min_value=1, max_value=6))
    def change_cadence(self, k: int) -> None:
        self.writer.sign_every = k

    @precondition(lambda self: self.entries)
    @rule()
    def reboot(self) -> None:
        # A new writer resumes from the last stored entry, as the recorder does at power-on.
        last = parse_entry(self.entries[-1])
        self.boots += 1
        self.writer = LedgerWriter(
            make_signer(SEED_A),
            DEVICE,
            last.seq + 1,
            last.digest,
            self.boots,
            self.writer.sign_every,
        )

    @invariant()
    def verifies(self) -> None:
        v = LedgerVerifier(KEY.device_id, KEY.public)
        offset = 0
        for raw in self.entries:
            v.feed(parse_entry(raw), offset)
            offset += len(raw)
        report = v.finish()
        if not self.entries:
            assert report.state == OK_MISSING
        elif parse_entry(self.entries[-1]).signed:
            assert report.state == OK, [f.message for f in report.findings]
        else:
            assert report.state == OK_MISSING
            assert [f.code for f in report.findings] == ["unsigned-tail"]


WriterAndVerifier.TestCase.settings = settings(max_examples=40, stateful_step_count=30)
TestWriterAndVerifier = WriterAndVerifier.TestCase
