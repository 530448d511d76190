"""The agent: one recorder wired to its store and its hardware.

This is the edge where the sans-I/O recorder meets real things: it reads the clock and the
camera, feeds the recorder, and carries out the actions it returns (store writes, prompts,
indicators). Booting recovers the store, continues the ledger where it stopped, logs a
signed power-loss event if the last run was cut short (R-DEV-14), and runs the pre-use
self-check (R-DEV-7). Retention decides what the store may evict when space runs short.
"""

from firmware.capture import CaptureQueue
from firmware.errors import ConfigError, StorageFull, StoreError
from firmware.hal import Battery, Camera, Clock, Gps, Indicators
from firmware.memory import (
    REBUILT_DAMAGED,
    Memory,
    catalogue_of,
    checkpoint_key,
    encode_checkpoint,
    media_item,
    rebuild,
    recall,
)
from firmware.recorder import (
    INDICATOR,
    PROMPT,
    RECORDING,
    RESUMING,
    STATUS,
    STORE,
    STREAM_VIDEO,
    Recorder,
)
from firmware.retention import DEFAULT_FLOOR_DAYS, Catalogue, RetentionPolicy, hours_left
from firmware.retindex import (
    EVICT,
    HELD_NAME,
    SPANS_NAME,
    CardFile,
    SpanIndex,
    Walk,
    close_iter,
    span_report,
)
from firmware.signing import CadencedSigner
from firmware.store import Store
from protocol.cadence import SigningCadence
from protocol.hostconfig import open_config
from protocol.ledger import Entry, media_digest
from protocol.registry import (
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_INDEX_REBUILT,
    EV_MARK_IMPORTANT,
    EV_POWER_LOSS_RECOVERED,
    F_BOOT,
    F_DETAIL,
    F_EVENT,
    F_RECORDING,
    KIND_CHUNK,
    PAUSE_STORAGE,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from firmware.packager import Packager
    from protocol.signer import Ed25519Signer

FLOOR_SETTING = "retention_floor_days"  # a host-signed setting that may only rise (R-DEV-4)
STORAGE_CHECK_MS = 5000  # how often the agent re-measures free storage while it runs
# Below this much recording time left (free space plus what retention may evict), a running
# recording is paused for the objective reason "storage" while there is still room for the
# pause, the officer's stop and the events around them: full storage never drops an entry.
STORAGE_RESERVE_S = 60
DEFAULT_BITRATE_BPS = 8_000_000  # 1080p30 H.264, for predicting hours of storage left
# How long the evictable total behind the storage estimate is reused. Walking the index's
# spans up to the floor costs reads of the card, and between walks the total can only grow (chunks
# age past the floor, receipts come: both refresh it at once) or shrink by a chunk that
# shares a file with an old one, a few kilobytes: the estimate errs by far less than the
# reserve. Evictions, receipts and a new floor drop the cached total.
EVICTABLE_REUSE_MS = 60_000
# Spans closed between checkpoints saved while running: a boot after a power cut then folds
# at most this many spans' entries again (about 17 minutes of 1 s chunks), whatever the
# ledger's age, for a write of a few hundred bytes.
CHECKPOINT_EVERY_SPANS = 4
# Files named in one eviction event at most: an eviction after a long time undocked frees
# months of chunks, which go in events of this many, so no list and no entry grows with it.
EVICTION_EVENT_FILES = 64


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
        # The fold of the ledger so far: settings, and retention's index (on the card once
        # booted; in RAM for an agent built by hand).
        self.memory = Memory()
        # A catalogue given by hand (``catalogue = items``): retention then plans over it,
        # in RAM, as before the on-card index; None once booted.
        self.legacy: Catalogue | None = None
        self.checkpoint_key = b""  # set at boot; empty: no checkpoint is saved
        self.host_keys: dict = {}  # pinned agency host keys: key id -> Ed25519 public key
        self.evicted_unlogged: list = []  # digests evicted, for the next eviction event
        self.frontier_unlogged = -1  # the eviction frontier moved here, for that event
        self.rebuilt_unlogged = ""  # why the index was rebuilt, for the next event
        self.spans_unsaved = 0  # spans closed since the last checkpoint
        self.checkpoint_every_spans = CHECKPOINT_EVERY_SPANS
        self.eviction_event_files = EVICTION_EVENT_FILES
        self.bitrate_bps = DEFAULT_BITRATE_BPS
        self.storage_check_ms = STORAGE_CHECK_MS
        self.storage_reserve_s = STORAGE_RESERVE_S
        self.storage_checked_ms = -STORAGE_CHECK_MS
        self.stored_entries = 0
        self.stored_media_bytes = 0
        self.gps: Gps | None = None  # a receiver, where the device has one (R-DEV-13)
        self._evictable: tuple | None = None  # (bytes, mono_ms when walked): see storage_hours

    @property
    def catalogue(self) -> Catalogue:
        """Retention's items, one per chunk whose media is on the card, oldest first.

        Read from the whole ledger each time (its size grows with the ledger): for tools
        and tests. The agent itself plans over the on-card index."""
        if self.legacy is not None:
            return self.legacy
        return catalogue_of(self.store.entries())

    @catalogue.setter
    def catalogue(self, items: "list | Catalogue") -> None:
        self.legacy = items if isinstance(items, Catalogue) else Catalogue(items)
        self.catalogue_changed()

    @property
    def config_issued_ms(self) -> int:
        """When the last config applied was issued (-1: none), against replays."""
        return self.memory.config_issued_ms

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
                self._store(action[1], action[2], action[3])
            elif code == PROMPT:
                self.indicators.prompt(action[1], action[2])
            elif code == INDICATOR:
                self.indicators.show(action[1], action[2])
            elif code == STATUS:
                self.indicators.show("status", action[1])
        if self.rebuilt_unlogged:
            detail = {F_DETAIL: {"reason": self.rebuilt_unlogged, "through_seq": self.memory.seq}}
            self.rebuilt_unlogged = ""
            wall, mono = self.now()
            self.run(self.recorder.log_event(EV_INDEX_REBUILT, detail, wall, mono, sign=True))
            self.save_checkpoint()  # names the new index: the next boot need not rebuild
        if self.evicted_unlogged or self.frontier_unlogged >= 0:
            said: dict = {"media": self.evicted_unlogged}
            if self.frontier_unlogged >= 0:
                said["through_seq"] = self.frontier_unlogged
            detail = {F_DETAIL: said}
            self.evicted_unlogged = []
            self.frontier_unlogged = -1
            wall, mono = self.now()
            self.run(self.recorder.log_event(EV_EVICTION, detail, wall, mono))

    def _store(self, raw: bytes, media: "bytes | None", entry: Entry) -> None:
        digest = None
        if media is not None:
            digest = media_digest(entry.fields)  # hashed by the recorder while capturing
        evicted: list = []
        try:
            self.store.append(raw, media, digest, entry)
        except StorageFull:
            # The entry is already chained in the recorder, so it must be written: make room
            # by the retention rules (plan_space raises StorageFull, saying why, when they
            # allow none) and write it again.
            needed = len(raw) + (len(media) if media is not None else 0) + 64  # + headers
            evicted = self._make_room(needed)
            if not evicted:
                raise
            self.store.append(raw, media, digest, entry)
        self.stored_entries += 1
        if media is not None:
            self.stored_media_bytes += len(media)
        spans = self.memory.index.spans.length
        if self.memory.fold(entry, self.store.appended_at):
            self.catalogue_changed()
        if self.memory.index.spans.length != spans:
            self.spans_unsaved += 1
            if self.spans_unsaved >= self.checkpoint_every_spans and self.checkpoint_key:
                self.save_checkpoint()
        if self.legacy is not None:
            self._fold_legacy(entry)
        # Logged once the entries already chained are stored (see run), never before them.
        self.evicted_unlogged.extend(evicted)

    def _fold_legacy(self, entry: Entry) -> None:
        """Keep a catalogue given by hand up to date, as the fold did before the index."""
        catalogue = self.legacy
        assert catalogue is not None
        f = entry.fields
        if entry.kind == KIND_CHUNK:
            item = media_item(entry)
            item.protected = item.recording in self.memory.important
            item.received = item.seq <= self.memory.received_through
            catalogue.add(item)
            return
        event = f.get(F_EVENT)
        if event == EV_HOST_RECEIPT:
            catalogue.mark_received(self.memory.received_through)
        elif event == EV_EVICTION:
            catalogue.drop(f.get(F_DETAIL, {}).get("media", []))
        elif event == EV_MARK_IMPORTANT and F_RECORDING in f:
            catalogue.protect(f[F_RECORDING])

    def _make_room(self, needed: int) -> list:
        """Evict what the retention rules allow, oldest first; return the digests evicted."""
        wall, _ = self.now()
        free = max(self.store.free_bytes(), 0)
        if self.legacy is not None:
            plan = self.retention.plan_space(self.legacy, wall, free, needed)
            for digest in plan:
                self.store.evict_media(digest)
            self.legacy.drop(plan)  # now, not when the eviction event is stored: it is gone
            self.catalogue_changed()
            return plan
        if needed <= free:
            return []
        return self._free_by_index(wall, free, needed)

    def _free_by_index(self, wall: int, free: int, needed: int) -> list:
        """Free files by the on-card index until ``needed`` bytes fit; return the digests
        freed. Raise StorageFull, saying why, when the rules do not free enough."""
        evicted, freed = self._evict_walk(wall, needed - free)
        if free + freed < needed:
            try:
                report = span_report(self.memory.index, self.retention, wall)
            except StoreError:
                self.rebuild_index()
                report = span_report(self.memory.index, self.retention, wall)
            raise StorageFull(self.retention._full_message(report, free + freed, needed))
        return evicted

    def rebuild_index(self) -> None:
        """The on-card index failed a read (a bad record): fold the whole ledger into a
        new one (slow, once) and log why at the next chance (never between an entry
        chained and its store)."""
        index = self.memory.index
        self.memory, _ = rebuild(self.store, index)
        self.rebuilt_unlogged = REBUILT_DAMAGED
        self.catalogue_changed()

    def _evict_walk(self, wall: int, limit: int) -> tuple:
        """Walk the on-card index from the eviction frontier, freeing files until ``limit``
        bytes are freed (-1: all the rules allow); move the frontier now (the files are
        gone) and leave it for the next eviction event. Return (digests freed, bytes).
        A damaged index is rebuilt from the ledger and walked again."""
        evicted: list = []
        self.store.sync()  # only media a durable record names may go (Store.evict_media)
        try:
            freed = self._evict_steps(wall, limit, evicted)
        except StoreError:
            self.rebuild_index()
            freed = self._evict_steps(wall, limit, evicted)
        return evicted, freed

    def _evict_steps(self, wall: int, limit: int, evicted: list) -> int:
        index = self.memory.index
        walk = Walk(index, self.store, self.retention.floor_ms, wall, False)
        freed = 0
        start = index.evicted_through
        steps = iter(walk)
        try:
            for step in steps:
                also = step[4]
                if also is not None:
                    freed += self._evict_file(also[0], evicted)
                if step[0] == EVICT:
                    freed += self._evict_file(step[2], evicted)
                index.evicted_through = walk.frontier
                index.walk_from = walk.walk_from
                index.evicted_at = walk.evicted_at
                if 0 <= limit <= freed or len(evicted) >= self.eviction_event_files:
                    break
        finally:
            close_iter(steps)  # its segment file and read buffer, now (see close_iter)
        if index.evicted_through != start:
            self.frontier_unlogged = index.evicted_through
            self.catalogue_changed()
        return freed

    def evict(self, limit: int = -1) -> int:
        """Free media the retention rules allow now, oldest first, until ``limit`` bytes
        are freed (-1: all they allow), log the eviction event, and return the bytes
        freed. The agent evicts by itself when the card is full; a port or a harness may
        also call this (say, after a dock)."""
        if self.legacy is not None:
            raise StorageFull("eviction by the index needs a booted agent")
        wall, _ = self.now()
        total = 0
        while True:
            evicted, freed = self._evict_walk(wall, limit - total if limit >= 0 else -1)
            total += freed
            self.evicted_unlogged.extend(evicted)
            self.run([])  # logs the eviction event, EVICTION_EVENT_FILES files at most
            if len(evicted) < self.eviction_event_files or 0 <= limit <= total:
                return total

    def host_receipt(self, through_seq: int, detail: "dict | None" = None) -> None:
        """Log a host receipt covering every entry up to ``through_seq`` (what the dock
        link does once the host has verified them); ``detail`` adds its other fields."""
        said = dict(detail or {})
        said["through_seq"] = through_seq
        wall, mono = self.now()
        self.run(self.recorder.log_event(EV_HOST_RECEIPT, {F_DETAIL: said}, wall, mono, True))

    def _evict_file(self, digest: bytes, evicted: list) -> int:
        """Remove one chunk's file, unless a later chunk named the same bytes (the file
        then stays: a younger chunk may need it); return the bytes freed."""
        if self.store.is_shared(digest):
            return 0
        n = self.store.evict_media(digest)
        if n:
            evicted.append(digest)
        return n

    def catalogue_changed(self) -> None:
        """Receipts, evictions or the floor changed what retention may free: walk again."""
        self._evictable = None

    def save_checkpoint(self) -> bool:
        """Make the ledger durable and save what a boot would rebuild from it (a cache: a
        boot then reads only the entries after it); False when it could not be saved."""
        if not self.checkpoint_key:
            return False
        self.store.sync()
        self.memory.index.sync()  # the checkpoint names the index files' lengths
        self.spans_unsaved = 0
        return self.store.save_checkpoint(encode_checkpoint(self.memory, self.checkpoint_key))

    @property
    def checkpoint_bytes(self) -> int:
        """The size of the checkpoint this agent would save now (bounded: no per-chunk
        state), for a harness measuring it."""
        return len(encode_checkpoint(self.memory, self.checkpoint_key or bytes(32)))

    def shut_down(self) -> None:
        """Power-off: save the checkpoint and close the store."""
        try:
            self.save_checkpoint()
        finally:
            self.memory.index.close()
            self.store.close()

    def apply_config(self, raw: bytes) -> None:
        """Apply a host-signed config (R-DEV-17); raise ConfigRejected and change nothing if
        it is unsigned, signed by a key this device does not pin, for another device, or old.
        """
        settings, host, issued = open_config(
            raw, self.host_keys, self.recorder.device_id, self.config_issued_ms
        )
        settings = dict(settings)
        # The floor and the issue time go into the logged event too, so a reboot restores them.
        also = {"issued_ms": issued}
        floor = settings.pop(FLOOR_SETTING, None)
        if floor is not None:
            # Check before anything changes: the floor may only rise (R-DEV-4).
            if type(floor) is not int or floor < self.retention.floor_days:
                raise ConfigError(
                    "config not applied: the retention floor is %d days and may only be raised, "
                    "not set to %r" % (self.retention.floor_days, floor)
                )
            also[FLOOR_SETTING] = floor
        wall, mono = self.now()
        actions = self.recorder.host_config(settings, host, wall, mono, also)
        if floor is not None:
            self.retention.apply_floor(floor, signed_by_host=True)
            self.catalogue_changed()
        self.run(actions)  # stored, the config-applied event carries `issued` (Memory.fold)

    def check_storage(self) -> None:
        """Tell the recorder how much recording time is left; pause it before space runs out."""
        wall, mono = self.now()
        if mono - self.storage_checked_ms < self.storage_check_ms:
            return
        self.storage_checked_ms = mono
        hours = self.storage_hours(self.bitrate_bps)
        self.run(self.recorder.storage(hours, wall, mono))
        if hours * 3600 < self.storage_reserve_s and self.recorder.state in (RECORDING, RESUMING):
            self.run(self.recorder.pause(PAUSE_STORAGE, wall, mono))

    def drain(self, queue: CaptureQueue) -> int:
        """Feed every queued frame in with its capture time; log any drop; return how many."""
        fed = 0
        while True:
            item = queue.get()
            if item is None:
                break
            self.check_storage()
            # (data, keyframe, wall_ms, mono_ms) as the capture side put it, and a fifth item,
            # the composition offset, from a source with B-frames (a vendor's encoder).
            assert isinstance(item, tuple), "a capture queue holds tuples"
            cto = item[4] if len(item) > 4 else 0
            self.run(self.recorder.frame(item[0], item[1], item[2], item[3], cto))
            fed += 1
        drops = queue.take_drops()
        if drops is not None:
            now, mono = self.now()
            self.run(self.recorder.overrun(drops[0], drops[1], drops[2], STREAM_VIDEO, now, mono))
        return fed

    def capture(self) -> bool:
        """Read one frame from the camera and feed it in; False when the camera has no more."""
        if self.camera is None:
            return False
        if self.gps is not None:
            fix = self.gps.fix()
            self.recorder.position = tuple(fix) if fix is not None else None
        got = self.camera.read(self.recorder.overlay(self.clock.wall_ms(), self.recorder.position))
        if got is None:
            return False
        data, keyframe, _mono = got
        self.check_storage()
        self.input("frame", data, keyframe)
        return True

    def storage_hours(self, bitrate_bps: int = 0) -> float:
        """Hours of recording left at ``bitrate_bps`` (default: this device's own rate)."""
        free = self.store.free_bytes()
        wall, mono = self.now()
        cached = self._evictable
        if cached is None or not 0 <= mono - cached[1] < EVICTABLE_REUSE_MS:
            cached = (self._evictable_bytes(wall), mono)
            self._evictable = cached
        return hours_left(max(free, 0), cached[0], bitrate_bps or self.bitrate_bps)

    def _evictable_bytes(self, wall: int) -> int:
        if self.legacy is not None:
            return self.retention.evictable_bytes(self.legacy, wall)
        try:
            return self.retention.evictable_bytes(self.evictable_source(), wall)
        except StoreError:
            self.rebuild_index()
            return self.retention.evictable_bytes(self.evictable_source(), wall)

    def evictable_source(self) -> "IndexedMedia":
        """The on-card index as retention's policy reads a catalogue."""
        return IndexedMedia(self.memory.index, self.store)


class IndexedMedia:
    """The media on the card as the on-card index and the ledger describe it: what
    ``RetentionPolicy.evictable_bytes`` walks in place of a catalogue in RAM."""

    def __init__(self, index: SpanIndex, store: Store) -> None:
        self.index = index
        self.store = store

    def evictable_bytes(self, floor_ms: int, now_ms: int) -> int:
        total = 0
        for step in Walk(self.index, self.store, floor_ms, now_ms, True):
            if step[4] is not None:
                total += step[4][1]
            if step[0] == EVICT:
                total += step[3]
        return total


def boot(
    store_path: str,
    signer: "Ed25519Signer",
    device_id: str,
    officer_id: str,
    clock: Clock,
    camera: "Camera | None" = None,
    indicators: "Indicators | None" = None,
    battery: "Battery | None" = None,
    sealer: object = None,
    sync_every: int = 1,
    config: "dict | None" = None,
    host_keys: "dict | None" = None,
    store: "Store | None" = None,
    bitrate_bps: int = DEFAULT_BITRATE_BPS,
    signing_budget_percent: int = 0,
    packager: "Packager | None" = None,
) -> Agent:
    """Open (and recover) the store, continue the ledger, log any power loss, self-check.

    ``bitrate_bps`` is what the port's camera and microphone write per second, so the
    self-check's hours of storage left are right for this device.
    A port whose storage needs more than a directory (a card with its own free-space count,
    say) opens the ``Store`` itself and passes it as ``store``; ``store_path`` is then unused.
    A port whose signer is too slow to sign every entry in real time (pure-Python Ed25519
    on a microcontroller) gives ``signing_budget_percent``, the share of real time signing
    may take: the ledger is then signed every K-th entry (``firmware.signing``). 0, the
    default, signs every entry.
    A port that packages its footage as fragmented MP4 gives a ``packager``
    (``firmware.packager``); its init segments and fragments are stored like any chunk.
    Without one, chunks are raw frames.
    """
    if store is None:
        store = Store(store_path, sync_every=sync_every)
    next_seq, prev = store.head()
    last = store.last_entry()
    boot_count = last.fields[F_BOOT] + 1 if last is not None else 0
    mac_key = checkpoint_key(signer)
    index = SpanIndex(CardFile(store, SPANS_NAME), CardFile(store, HELD_NAME))
    memory, rebuilt = recall(store, mac_key, index)
    settings = memory.settings
    floor = settings.get(FLOOR_SETTING, DEFAULT_FLOOR_DAYS)
    recorder_config = dict(config or {})
    for key in settings:
        if key not in (FLOOR_SETTING, "officer_id"):
            recorder_config[key] = settings[key]
    if signing_budget_percent:
        signer = CadencedSigner(signer, SigningCadence(signing_budget_percent), clock)
    recorder = Recorder(
        signer,
        device_id,
        settings.get("officer_id", officer_id),
        seq=next_seq,
        prev=prev,
        boot=boot_count,
        config=recorder_config,
        sealer=sealer,
        packager=packager,
    )
    if isinstance(signer, CadencedSigner):
        signer.follow(recorder.writer)  # K becomes the writer's sign_every from now on
    agent = Agent(store, recorder, clock, camera, indicators, RetentionPolicy(floor))
    agent.bitrate_bps = bitrate_bps  # what the port's encoder writes: hours left depend on it
    agent.memory = memory
    agent.checkpoint_key = mac_key
    agent.host_keys = dict(host_keys or {})
    wall, mono = agent.now()
    rec = store.recovery
    if rec.cut_short:
        # Every cut is logged, one between two writes too (``interrupted``: the store was
        # never closed), with the bytes of each write it caught: the ledger bytes cut off,
        # the media writes cut short and the whole media no record names (both kept).
        detail = {
            "segment": rec.segment,
            "torn_offset": rec.torn_offset,
            "torn_bytes": rec.torn_bytes,
            "last_seq": rec.last_seq,
            "orphan_media": [bytes.fromhex(h) for h in rec.orphan_media],
            "orphan_bytes": rec.orphan_bytes,
            "partial_media": list(rec.partial_media),
            "partial_bytes": rec.partial_bytes,
            "interrupted": rec.interrupted,
        }
        seq = recorder.writer.seq
        agent.run(
            recorder.log_event(EV_POWER_LOSS_RECOVERED, {F_DETAIL: detail}, wall, mono, sign=True)
        )
        # Named in a durable event, the cut-short writes are accounted for: the next boot
        # must not report them again as if another cut had made them.
        store.sync()
        store.set_aside_partial(rec.partial_media, seq)
    if rebuilt:
        # The index was not what the ledger gives: it was rebuilt from the ledger (slow,
        # once: the checkpoint saved with the event names the new one), and the ledger
        # says so in a signed event.
        agent.rebuilt_unlogged = rebuilt
        agent.run([])
    hours = agent.storage_hours()
    checks = {
        "camera_ok": camera.working() if camera is not None else False,
        "battery_percent": battery.percent() if battery is not None else 100,
        "storage_hours": hours,
        "clock_ok": clock.is_set(),
    }
    agent.run(recorder.power_on(wall, mono, checks))
    return agent
