"""What the agent remembers across power-offs, and the checkpoint a boot starts from."""
# R-DEV-4: a reboot keeps what retention knows: what the host received, what is important.
# R-DEV-14: a power cut loses nothing: a boot without a fresh checkpoint folds the ledger.
# R-DEV-17: host-signed settings survive a reboot, whichever way the boot rebuilds them.

import os

from firmware.agent import boot
from firmware.memory import (
    Memory,
    checkpoint_key,
    decode_checkpoint,
    encode_checkpoint,
)
from firmware.retindex import HELD_NAME, SPANS_NAME, CardFile, SpanIndex
from firmware.store import CHECKPOINT_NAME, TAIL_NAME, Store
from protocol.hostconfig import sign_config
from protocol.ledger import parse_entry
from protocol.registry import EV_EVICTION, EV_HOST_RECEIPT, F_DETAIL
from protocol.signer import make_signer
from tests.firmware.helpers import FullDisk, Log, SceneCamera, StepClock
from tests.portable import TempDir
from tests.protocol.helpers import DEVICE, SEED_A, SEED_B, T0


class CountingStore(Store):
    """A store that counts the entries a boot reads."""

    def __init__(self, path: str, opener: object = None) -> None:
        super().__init__(path, opener=opener)
        self.read = 0

    def positioned(self, from_seq: int = 0) -> object:
        for found in super().positioned(from_seq):
            self.read += 1
            yield found


def record(agent: object, mark: bool = False) -> None:
    """Film until the camera runs out; mark the recording important first when ``mark``."""
    agent.input("press_record")
    while agent.capture():
        pass
    if mark:
        agent.input("mark_important")
    agent.input("press_stop")


def power_on(path: str, frames: int = 0, store: object = None, seed: bytes = SEED_A) -> object:
    camera = SceneCamera(frames)
    return boot(path, make_signer(seed), DEVICE, "P-0427", StepClock(), camera, Log(), store=store)


HOST_SEED = bytes(range(7, 39))


def work(agent: object, mark: bool = False) -> None:
    """A host config (a higher retention floor, an officer), a recording (marked important
    when ``mark``), a receipt for its first two chunks, an eviction of the first chunk's
    file and of one this store never held."""
    agent.host_keys = {"agency-host-1": make_signer(HOST_SEED).public_key()}
    issued = agent.config_issued_ms + 1
    settings = {"retention_floor_days": 200, "officer_id": "P-%d" % issued}
    config = sign_config(make_signer(HOST_SEED), "agency-host-1", DEVICE, issued, settings)
    agent.apply_config(config)
    record(agent, mark)
    first = agent.catalogue[0]
    receipt = {F_DETAIL: {"through_seq": agent.catalogue[1].seq}}
    agent.run(agent.recorder.log_event(EV_HOST_RECEIPT, receipt, T0 + 5000, 5000))
    gone = {F_DETAIL: {"media": [first.digest, bytes(32)]}}
    agent.run(agent.recorder.log_event(EV_EVICTION, gone, T0 + 6000, 6000))


def a_day(path: str, frames: int = 250, mark: bool = False) -> tuple:
    """Power on, work (see ``work``), power off with a checkpoint; return the state then."""
    agent = power_on(path, frames)
    work(agent, mark)
    before = state(agent)
    agent.shut_down()
    return before


def rebooted(path: str, store: object = None) -> object:
    """Boot and switch off at once: the agent as the boot rebuilt it."""
    agent = power_on(path, store=store)
    agent.store.close()
    return agent


def read_checkpoint(path: str) -> bytes:
    with open(path + "/" + CHECKPOINT_NAME, "rb") as f:
        return f.read()


def write_checkpoint(path: str, data: bytes) -> None:
    with open(path + "/" + CHECKPOINT_NAME, "wb") as f:
        f.write(data)


def snapshot(memory: object) -> tuple:
    """The fold's state, the on-card index's records among it (the walk's hints left out:
    they are caches of where the frontier lies)."""
    index = memory.index
    kept = index.state()
    kept = kept[:11] + kept[13:]
    spans = [p for _, p in index.spans.records(0)]
    held = [p for _, p in index.held_file.records(0)]
    return kept, spans, held, memory.settings, memory.config_issued_ms, memory.seq


def state(agent: object) -> tuple:
    """What the running agent remembers."""
    return snapshot(agent.memory)


def folded(path: str) -> tuple:
    """The state a boot would rebuild from the whole ledger."""
    store = Store(path)
    memory = Memory()
    for seg, off, raw in store.positioned():
        memory.fold(parse_entry(raw), (seg, off))
    store.close()
    return snapshot(memory)


def test_a_boot_after_a_power_off_reads_only_the_entries_after_the_checkpoint():  # R-DEV-4
    with TempDir() as d:
        a_day(d, mark=True)
        assert CHECKPOINT_NAME in os.listdir(d)
        store = CountingStore(d)
        agent = rebooted(d, store)
        assert store.read == 1  # the entry the checkpoint names, to check it is the ledger's
        assert state(agent) == folded(d)
        assert any(m.received for m in agent.catalogue)
        assert all(m.protected for m in agent.catalogue)  # marked important, still


def test_the_checkpoint_holds_exactly_the_fold_of_the_ledger():  # R-DEV-4, R-DEV-17
    with TempDir() as d:
        before = a_day(d, mark=True)
        assert before == folded(d)
        assert before[3]["retention_floor_days"] == 200
        a_day(d, frames=150)  # a second day's work, folded onto the checkpoint
        agent = rebooted(d)
        after = state(agent)
        assert after == folded(d)
        assert after[-1] > before[-1]
        assert agent.retention.floor_days == 200  # the host's settings, from the checkpoint
        assert agent.recorder.officer_id == after[3]["officer_id"]


def test_an_edited_checkpoint_is_ignored_and_the_ledger_decides():  # R-DEV-4
    with TempDir() as d:
        a_day(d)
        # Claim every chunk received, so retention would evict footage the host never got:
        # without the device's key the MAC cannot follow.
        store = Store(d)
        index = SpanIndex(CardFile(store, SPANS_NAME), CardFile(store, HELD_NAME))
        memory = decode_checkpoint(read_checkpoint(d), checkpoint_key(make_signer(SEED_A)), index)
        store.close()
        assert memory is not None
        memory.index.received_through = 10**6
        write_checkpoint(d, encode_checkpoint(memory, checkpoint_key(make_signer(SEED_B))))
        store = CountingStore(d)
        agent = rebooted(d, store)
        assert store.read > 3  # the whole ledger, folded again
        assert not all(m.received for m in agent.catalogue)
        assert state(agent) == folded(d)


def test_a_damaged_checkpoint_is_ignored():  # R-DEV-14
    with TempDir() as d:
        a_day(d)
        data = bytearray(read_checkpoint(d))
        data[len(data) // 2] ^= 0x01
        write_checkpoint(d, bytes(data[:-5]))  # flipped and torn
        assert state(rebooted(d)) == folded(d)


def test_a_checkpoint_of_another_ledger_is_ignored():  # R-DEV-14
    with TempDir() as a:
        with TempDir() as b:
            a_day(a)
            agent = power_on(b, frames=3)
            record(agent)
            agent.shut_down()
            # The same key, so the MAC holds; the entry it names is not b's.
            write_checkpoint(b, read_checkpoint(a))
            assert state(rebooted(b)) == folded(b)


def test_after_a_power_cut_the_boot_folds_on_from_the_older_checkpoint():  # R-DEV-14
    with TempDir() as d:
        a_day(d)
        agent = power_on(d, frames=150)
        record(agent)
        agent.store.close()  # the power went: no checkpoint saved for this day
        store = CountingStore(d)
        agent = rebooted(d, store)
        assert state(agent) == folded(d)
        assert 1 < store.read < agent.memory.seq  # from the checkpoint, not from the start


def test_a_full_card_keeps_the_old_checkpoint_and_loses_nothing():  # R-DEV-14
    with TempDir() as d:
        a_day(d)
        old = read_checkpoint(d)
        disk = FullDisk(4000)  # room for the boot's entries
        agent = power_on(d, store=Store(d, opener=disk), frames=0)
        disk.budget = 40  # and then the card is full
        assert agent.save_checkpoint() is False
        agent.store.close()
        # TAIL_NAME: the day before closed the store cleanly (the store's start hint).
        listing = ["ledger", "media", "retention", CHECKPOINT_NAME, TAIL_NAME]
        assert sorted(os.listdir(d)) == sorted(listing)
        assert read_checkpoint(d) == old
        assert state(rebooted(d)) == folded(d)


def test_marking_a_recording_important_protects_its_chunks_at_once():  # R-DEV-5
    with TempDir() as d:
        agent = power_on(d, frames=9)
        agent.input("press_record")
        for _ in range(4):
            agent.capture()
        agent.input("mark_important")
        while agent.capture():
            pass
        agent.input("press_stop")
        assert agent.catalogue and all(m.protected for m in agent.catalogue)
        agent.store.close()


def test_a_checkpoint_write_cut_short_leaves_the_old_one_in_use():  # R-DEV-14
    with TempDir() as d:
        a_day(d)
        old = read_checkpoint(d)
        with open(d + "/" + CHECKPOINT_NAME + ".part", "wb") as f:
            f.write(old[: len(old) // 3])  # the power went while the next one was written
        store = CountingStore(d)
        agent = power_on(d, store=store)
        assert store.read == 1  # the old checkpoint, whole, still serves
        booted = state(agent)
        agent.shut_down()
        assert booted == folded(d)
        assert CHECKPOINT_NAME + ".part" not in os.listdir(d)
        assert read_checkpoint(d) != old
