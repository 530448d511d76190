"""The cadenced signer: a slow signer signs every K-th entry, and the ledger still verifies."""
# Issue 11 §1: the cadenced signer lives in firmware/ and boot() uses it.

from firmware.agent import boot
from firmware.hal import Camera
from firmware.signing import CadencedSigner
from firmware.store import Store
from protocol.cadence import SigningCadence
from protocol.ledger import LedgerWriter, parse_entry
from protocol.signer import Ed25519Signer, make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.helpers import SetClock
from tests.portable import TempDir
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key


class Ticks:
    """A microsecond counter the test moves: what a signature costs is set, not measured."""

    def __init__(self) -> None:
        self.us = 0

    def __call__(self) -> int:
        return self.us


class SlowSigner(Ed25519Signer):
    """The real signer, whose every signature costs ``cost_us`` on the counter."""

    name = "slow"

    def __init__(self, ticks: Ticks, cost_us: int) -> None:
        self.inner = make_signer(SEED_A)
        self.ticks = ticks
        self.cost_us = cost_us

    def public_key(self) -> bytes:
        return self.inner.public_key()

    def sign(self, message: bytes) -> bytes:
        self.ticks.us += self.cost_us
        return self.inner.sign(message)


class Frames(Camera):
    """``n`` small frames, a keyframe every fifth; the clock moves 200 ms per frame."""

    def __init__(self, clock: SetClock, n: int) -> None:
        self.clock = clock
        self.n = n
        self.i = 0

    def read(self, overlay: str) -> "tuple | None":
        if self.i >= self.n:
            return None
        self.clock.mono += 200
        self.i += 1
        return ("frame %d" % self.i).encode(), self.i % 5 == 1, self.clock.mono

    def working(self) -> bool:
        return True


def test_a_signer_slower_than_its_budget_signs_every_kth_entry_from_the_next_entry_on():
    ticks = Ticks()
    clock = SetClock()
    signer = CadencedSigner(SlowSigner(ticks, 1_400_000), SigningCadence(50), clock, ticks)
    writer = LedgerWriter(signer, DEVICE)
    signer.follow(writer)
    signed = []
    for i in range(12):
        clock.mono = i * 1000  # an entry a second; a signature costs 1.4 s, the budget 0.5 s
        signed.append(parse_entry(writer.append(1, {}, T0 + clock.mono, clock.mono)).signed)
    assert writer.sign_every == 3 and signer.k_max == 3
    # The first signature only starts the measurement; the second (1 s later) sets K = 3.
    assert signed[:4] == [True, True, False, False]
    assert signed[4:7] == [True, False, False]


def test_a_fast_signer_signs_every_entry():
    ticks = Ticks()
    clock = SetClock()
    signer = CadencedSigner(SlowSigner(ticks, 50), SigningCadence(50), clock, ticks)
    writer = LedgerWriter(signer, DEVICE)
    signer.follow(writer)
    for i in range(6):
        clock.mono = i * 1000
        assert parse_entry(writer.append(1, {}, T0 + clock.mono, clock.mono)).signed


def test_boot_follows_a_cadenced_signer_and_its_sparser_ledger_verifies():
    with TempDir() as d:
        ticks = Ticks()
        clock = SetClock()
        signer = CadencedSigner(SlowSigner(ticks, 2_000_000), SigningCadence(50), clock, ticks)
        agent = boot(d, signer, DEVICE, "P-0427", clock, Frames(clock, 60))
        assert signer.writer is agent.recorder.writer
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")  # forces a signature: no entry waits for one
        agent.shut_down()
        store = Store(d)
        entries = [parse_entry(raw) for raw in store.entries()]
        store.close()
        assert signer.k_max > 1
        assert any(not e.signed for e in entries)
        key = device_key()
        report = verify_ledger(b"".join(e.raw for e in entries), key.device_id, key.public)
        assert report.state == OK


def test_boot_with_a_signing_budget_makes_the_cadenced_signer_and_without_one_does_not():
    with TempDir() as d:
        clock = SetClock()
        agent = boot(d, make_signer(SEED_A), DEVICE, "P-0427", clock, signing_budget_percent=40)
        signer = agent.recorder.writer.signer
        assert isinstance(signer, CadencedSigner)
        assert signer.writer is agent.recorder.writer and signer.cadence.budget_percent == 40
        agent.shut_down()
        agent = boot(d, make_signer(SEED_A), DEVICE, "P-0427", clock)
        assert not isinstance(agent.recorder.writer.signer, CadencedSigner)
        agent.shut_down()
