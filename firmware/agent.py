"""The agent: one recorder wired to its store and its hardware.

This is the edge where the sans-I/O recorder meets real things: it reads the clock and the
camera, feeds the recorder, and carries out the actions it returns (store writes, prompts,
indicators). Booting recovers the store, continues the ledger where it stopped, logs a
signed power-loss event if the last run was cut short (R-DEV-14), and runs the pre-use
self-check (R-DEV-7). Retention decides what the store may evict when space runs short.
"""

import hashlib

from firmware.errors import StorageFull
from firmware.hal import Battery, Camera, Clock, Indicators
from firmware.recorder import INDICATOR, PROMPT, STATUS, STORE, Recorder
from firmware.retention import MediaItem, RetentionPolicy, hours_left
from firmware.store import Store
from protocol.registry import (
    EV_EVICTION,
    EV_POWER_LOSS_RECOVERED,
    F_BOOT,
    F_DETAIL,
)

DEFAULT_BITRATE_BPS = 8_000_000  # 1080p30 H.264, for predicting hours of storage left


class Agent:
    """Runs the recorder on one device's hardware."""

    def __init__(
        self,
        store: Store,
        recorder: Recorder,
        clock: Clock,
        camera: "Camera | None" = None,
        indicators: "Indicators | None" = None,
        retention: "RetentionPolicy | None" = None,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.clock = clock
        self.camera = camera
        self.indicators = indicators if indicators is not None else Indicators()
        self.retention = retention if retention is not None else RetentionPolicy()
        self.catalogue: list = []  # MediaItem per stored chunk, oldest first
        self.stored_entries = 0
        self.stored_media_bytes = 0

    def now(self) -> tuple:
        return self.clock.wall_ms(), self.clock.mono_ms()

    def input(self, name: str, *args: object) -> list:
        """Give the recorder input ``name`` at the current time; carry out its actions."""
        wall, mono = self.now()
        actions = getattr(self.recorder, name)(*args, wall, mono)
        self.run(actions)
        return actions

    def run(self, actions: list) -> None:
        for action in actions:
            code = action[0]
            if code == STORE:
                self._store(action[1], action[2])
            elif code == PROMPT:
                self.indicators.prompt(action[1], action[2])
            elif code == INDICATOR:
                self.indicators.show(action[1], action[2])
            elif code == STATUS:
                self.indicators.show("status", action[1])

    def _store(self, raw: bytes, media: "bytes | None") -> None:
        try:
            self.store.append(raw, media)
        except StorageFull:
            # The entry is already chained in the recorder: make room by the retention rules
            # and write it again; if the rules allow no room, the recorder must be told.
            if media is None or not self._make_room(len(media)):
                raise
            self.store.append(raw, media)
        self.stored_entries += 1
        if media is not None:
            self.stored_media_bytes += len(media)
            wall, _ = self.now()
            digest = hashlib.sha256(media).digest()
            self.catalogue.append(MediaItem(digest, wall, len(media)))

    def _make_room(self, needed: int) -> bool:
        wall, mono = self.now()
        free = self.store.free_bytes()
        plan = self.retention.plan_space(self.catalogue, wall, max(free, 0), needed)
        evicted = []
        for digest in plan:
            self.store.evict_media(digest)
            evicted.append(digest)
        if not evicted:
            return False
        self.catalogue = [m for m in self.catalogue if m.digest not in evicted]
        self.run(self.recorder.log_event(EV_EVICTION, {F_DETAIL: {"media": evicted}}, wall, mono))
        return True

    def capture(self) -> bool:
        """Read one frame from the camera and feed it in; False when the camera has no more."""
        if self.camera is None:
            return False
        got = self.camera.read(self.recorder.overlay(self.clock.wall_ms()))
        if got is None:
            return False
        data, keyframe, _mono = got
        self.input("frame", data, keyframe)
        return True

    def storage_hours(self, bitrate_bps: int = DEFAULT_BITRATE_BPS) -> float:
        free = self.store.free_bytes()
        wall, _ = self.now()
        evictable = self.retention.evictable_bytes(self.catalogue, wall)
        return hours_left(max(free, 0), evictable, bitrate_bps)


def boot(
    store_path: str,
    signer: object,
    device_id: str,
    officer_id: str,
    clock: Clock,
    camera: "Camera | None" = None,
    indicators: "Indicators | None" = None,
    battery: "Battery | None" = None,
    sealer: object = None,
    sync_every: int = 1,
    config: "dict | None" = None,
) -> Agent:
    """Open (and recover) the store, continue the ledger, log any power loss, self-check."""
    store = Store(store_path, sync_every=sync_every)
    next_seq, prev = store.head()
    last = store.last_entry()
    boot_count = last.fields[F_BOOT] + 1 if last is not None else 0
    recorder = Recorder(
        signer,  # type: ignore[arg-type]
        device_id,
        officer_id,
        seq=next_seq,
        prev=prev,
        boot=boot_count,
        config=config,
        sealer=sealer,
    )
    agent = Agent(store, recorder, clock, camera, indicators)
    wall, mono = agent.now()
    rec = store.recovery
    if rec.in_flight:
        detail = {
            "segment": rec.segment,
            "torn_offset": rec.torn_offset,
            "torn_bytes": rec.torn_bytes,
            "last_seq": rec.last_seq,
            "orphan_media": [bytes.fromhex(h) for h in rec.orphan_media],
            "partial_media": list(rec.partial_media),
        }
        agent.run(
            recorder.log_event(EV_POWER_LOSS_RECOVERED, {F_DETAIL: detail}, wall, mono, sign=True)
        )
    hours = agent.storage_hours()
    checks = {
        "camera_ok": camera.working() if camera is not None else False,
        "battery_percent": battery.percent() if battery is not None else 100,
        "storage_hours": hours,
        "clock_ok": clock.is_set(),
    }
    agent.run(recorder.power_on(wall, mono, checks))
    return agent
