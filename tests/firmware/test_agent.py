"""The agent boots, records into its store, and carries the ledger across reboots and power cuts."""
# R-DEV-14: an abnormal restart loses no footage already saved.
# R-DEV-7: the pre-use self-check runs at every power-on.

import os

from firmware.agent import Agent
from firmware.capture import CaptureQueue
from firmware.errors import ConfigError
from firmware.recorder import Recorder
from firmware.retention import RetentionPolicy
from firmware.store import Store
from protocol.hostconfig import ConfigRejected, sign_config
from protocol.registry import (
    EV_BOOT,
    EV_CONFIG_APPLIED,
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_OVERRUN,
    EV_PAUSE,
    EV_POWER_LOSS_RECOVERED,
    EV_SELF_CHECK,
    F_BOOT,
    F_DETAIL,
    F_EVENT,
    F_REASON,
    KIND_EVENT,
    PAUSE_STORAGE,
)
from protocol.signer import make_signer
from protocol.verify import OK
from tests.firmware.helpers import (
    FullDisk,
    Log,
    SceneCamera,
    StepClock,
    TightStore,
    events,
    start,
    verdict,
)
from tests.portable import TempDir, raises
from tests.protocol.helpers import DEVICE, SEED_A, T0


def test_boot_self_checks_records_and_everything_verifies():
    with TempDir() as d:
        agent, camera = start(d)
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        agent.store.close()
        codes, entries = events(d)
        assert codes[:2] == [EV_BOOT, EV_SELF_CHECK]
        assert verdict(entries) == OK
        assert agent.stored_media_bytes > 0
        assert all("SC-TEST-0001" in o and "P-0427" in o for o in camera.overlays)  # R-DEV-1


def test_a_reboot_continues_the_same_ledger():
    with TempDir() as d:
        agent, _ = start(d, frames=3)
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        agent.store.close()
        agent, _ = start(d, frames=3)
        agent.store.close()
        _, entries = events(d)
        assert verdict(entries) == OK
        assert entries[-1].fields[F_BOOT] == 1


def test_a_power_cut_is_recovered_and_logged_as_a_signed_event():
    with TempDir() as d:
        agent, _ = start(d, frames=6)
        agent.input("press_record")
        while agent.capture():
            pass
        # Power fails here: no stop, no close, and the last record is half written.
        seg = d + "/ledger/" + sorted(os.listdir(d + "/ledger"))[-1]
        size = os.stat(seg)[6]
        with open(seg, "rb") as f:
            data = f.read()
        with open(seg, "wb") as f:
            f.write(data[: size - 7])
        agent, _ = start(d, frames=0)
        agent.store.close()
        codes, entries = events(d)
        assert EV_POWER_LOSS_RECOVERED in codes
        lost = next(
            e
            for e in entries
            if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_POWER_LOSS_RECOVERED
        )
        assert lost.fields[F_DETAIL]["torn_bytes"] > 0
        assert verdict(entries) == OK


def test_dropped_frames_become_a_signed_overrun_event():  # R-DEV-6
    with TempDir() as d:
        agent, _ = start(d, frames=0)
        agent.input("press_record")
        q = CaptureQueue(capacity=4)
        for i in range(10):  # the agent is busy elsewhere: the camera keeps capturing
            q.put(
                (("f%d" % i).encode(), i % 3 == 0, T0 + 1000 + 33 * i, 1000 + 33 * i),
                T0 + 1000 + 33 * i,
            )
        assert agent.drain(q) == 4
        agent.input("press_stop")
        agent.store.close()
        codes, entries = events(d)
        assert EV_OVERRUN in codes
        overrun = next(
            e for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_OVERRUN
        )
        assert overrun.fields[F_DETAIL]["lost"] == 6
        assert overrun.fields[F_DETAIL]["first_ms"] == T0 + 1000 + 33 * 4
        assert verdict(entries) == OK


def test_the_retention_catalogue_survives_a_reboot():  # R-DEV-4
    with TempDir() as d:
        agent, _ = start(d, frames=9)
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("mark_important")
        agent.input("press_stop")
        n = len(agent.catalogue)
        assert n > 0
        through = agent.catalogue[0].seq
        agent.run(
            agent.recorder.log_event(
                EV_HOST_RECEIPT, {F_DETAIL: {"through_seq": through}}, T0 + 5000, 5000
            )
        )
        agent.store.close()
        agent, _ = start(d, frames=0)
        agent.store.close()
        assert len(agent.catalogue) == n
        assert [m.received for m in agent.catalogue] == [True] + [False] * (n - 1)
        assert all(m.protected for m in agent.catalogue)  # the recording was marked important


def test_media_evicted_before_a_reboot_is_not_in_the_catalogue_after_it():  # R-DEV-4
    with TempDir() as d:
        agent, _ = start(d, frames=9)
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        first = agent.catalogue[0].digest
        n = len(agent.catalogue)
        agent.run(agent.recorder.log_event(EV_EVICTION, {F_DETAIL: {"media": [first]}}, T0, 9000))
        agent.store.close()
        agent, _ = start(d, frames=0)
        agent.store.close()
        # Planning to free it again would count bytes that are no longer there.
        assert len(agent.catalogue) == n - 1
        assert first not in [m.digest for m in agent.catalogue]


HOST_SEED = bytes(range(7, 39))


def signed(settings: dict, issued: int, device: str = DEVICE, seed: bytes = HOST_SEED) -> bytes:
    return sign_config(make_signer(seed), "agency-host-1", device, issued, settings)


def pinned_agent(d: str):
    agent, _ = start(d, frames=0)
    agent.host_keys = {"agency-host-1": make_signer(HOST_SEED).public_key()}
    return agent


def test_only_a_host_signed_config_changes_settings_and_it_survives_a_reboot():  # R-DEV-17
    with TempDir() as d:
        agent = pinned_agent(d)
        rejected = (
            signed({"chunk_ms": 500}, 1, seed=SEED_A),  # signed by a key the device does not pin
            signed({"chunk_ms": 500}, 1, device="SC-OTHER"),  # for another device
            signed({"retention_floor_days": 100}, 1),  # would lower the six-month floor
        )
        for raw in rejected:
            raises(
                ConfigRejected if raw is not rejected[2] else ConfigError, agent.apply_config, raw
            )
        assert agent.recorder.config["chunk_ms"] == 1000
        agent.apply_config(
            signed({"chunk_ms": 500, "retention_floor_days": 365, "officer_id": "P-9"}, 2)
        )
        raises(ConfigRejected, agent.apply_config, signed({"chunk_ms": 700}, 2))  # a replay
        assert agent.recorder.config["chunk_ms"] == 500
        assert agent.retention.floor_days == 365
        agent.store.close()
        agent = pinned_agent(d)
        agent.store.close()
        assert agent.recorder.config["chunk_ms"] == 500
        assert agent.recorder.officer_id == "P-9"
        assert agent.retention.floor_days == 365
        assert agent.config_issued_ms == 2
        codes, entries = events(d)
        assert EV_CONFIG_APPLIED in codes and verdict(entries) == OK


def test_a_full_store_evicts_old_received_media_and_keeps_every_entry():  # R-DEV-4, R-DEV-5
    with TempDir() as d:
        agent, _ = start(d, frames=9, pad=3000)
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        agent.store.close()
        old = list(agent.catalogue)
        disk = FullDisk(0)
        store = TightStore(d, disk)
        clock = StepClock()
        clock.t = 200 * 86_400_000  # seven months later
        recorder = Recorder(make_signer(SEED_A), DEVICE, "P-0427", *store.head(), boot=1)
        agent = Agent(store, recorder, clock, SceneCamera(3), Log())
        agent.catalogue = old
        for item in old:
            item.received = True  # the host holds a verified copy of all of it
        agent.run(
            recorder.power_on(
                clock.wall_ms(),
                clock.mono_ms(),
                {"camera_ok": True, "battery_percent": 90, "storage_hours": 10},
            )
        )
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        store.close()
        codes, entries = events(d)
        assert EV_EVICTION in codes
        assert verdict(entries) == OK  # every entry is still there, chained and signed
        store = Store(d)
        gone = [m for m in old if not store.has_media(m.digest)]
        store.close()
        assert gone and gone == old[: len(gone)]  # the oldest went first


def test_a_recording_pauses_for_storage_before_the_store_is_full():  # R-DEV-4, R-DEV-9
    with TempDir() as d:
        disk = FullDisk(90_000)  # 90 s of recording at 8 kbit/s, nothing evictable
        store = TightStore(d, disk)
        clock = StepClock()
        recorder = Recorder(make_signer(SEED_A), DEVICE, "P-0427")
        agent = Agent(store, recorder, clock, SceneCamera(40, pad=500), Log())
        agent.bitrate_bps = 8000
        agent.storage_reserve_s = 120
        hours = agent.storage_hours(agent.bitrate_bps)
        agent.run(
            recorder.power_on(
                clock.wall_ms(),
                clock.mono_ms(),
                {"camera_ok": True, "battery_percent": 90, "storage_hours": hours},
            )
        )
        agent.input("press_record")
        while agent.capture():  # never raises StorageFull
            pass
        agent.input("press_stop")
        store.close()
        _, entries = events(d)
        pauses = [e for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_PAUSE]
        assert [p.fields[F_REASON] for p in pauses] == [PAUSE_STORAGE]
        assert verdict(entries) == OK


class CountingRetention(RetentionPolicy):
    """Counts the catalogue walks behind the storage estimate."""

    def __init__(self) -> None:
        RetentionPolicy.__init__(self)
        self.walks = 0

    def evictable_bytes(self, catalogue: list, now_ms: int) -> int:
        self.walks += 1
        return RetentionPolicy.evictable_bytes(self, catalogue, now_ms)


def test_the_storage_estimate_walks_the_catalogue_once_a_minute_and_after_a_change():
    # Months of chunks make a walk costly; the estimate reuses it until it may have grown.
    with TempDir() as d:
        agent, _ = start(d, frames=0)
        clock = agent.clock
        agent.retention = CountingRetention()
        agent.catalogue_changed()
        for _ in range(12):  # a minute of checks, every 5 s
            agent.storage_hours()
            clock.t += 4990  # reading the wall clock moves it 10 ms on
        assert agent.retention.walks == 1
        clock.t += 1000
        agent.storage_hours()  # a minute on: walked again
        assert agent.retention.walks == 2
        agent.catalogue_changed()  # a receipt or an eviction
        agent.storage_hours()
        assert agent.retention.walks == 3
        agent.store.close()
