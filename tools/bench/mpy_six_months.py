"""Days of a recorder's life, one step at a time: the firmware agent on a card of fixed size.

Runs under MicroPython (``node tools/mpy/run.mjs --steps``, started by
six_months_bench.py) and, unchanged, under CPython (the same driver builds the older
months of a card there, where the same code is fast). The text of ``BENCH = {...}`` is put
before this file by the caller; see ``SETTINGS`` for its keys.

A day: power on (a fresh ``boot`` from the store, timed), press record, one keyframe a
second for ``chunks`` seconds (so ``chunks`` one-second chunks of ``media_bytes`` each),
stop, dock (a signed host receipt through the ledger's head, logged as the docking link
logs it), then the retention plan for a day's worth of room is timed, and power off (the
agent saves its checkpoint). The card holds ``card_days`` days of footage: once full, the
agent's store reports it full and retention evicts what the rules allow, oldest first.

Each step returns to the caller, which (under MicroPython) lets the interpreter collect its
garbage between steps: the next step's first reading of ``gc.mem_alloc()`` is the live heap.
Each day prints one line, ``day`` followed by ``name=value`` figures (see ``_report``).
"""

import binascii
import gc
import hashlib
import os
import time

from firmware.agent import boot
from firmware.errors import StorageFull
from firmware.hal import Camera, Clock
from firmware.store import HEADER_LEN, Store, media_key
from protocol.ledger import entry_hash
from protocol.registry import EV_HOST_RECEIPT, F_DETAIL
from protocol.signer import Ed25519Signer, make_signer

SETTINGS = {
    "path": "/tmp/sealcam-six-months",  # the store's directory
    "days": [],  # the day numbers to record on, ascending (days between are off)
    "chunks": 60,  # one-second chunks a day
    # Bytes of each chunk's media: small, since the count of chunks and entries is what the
    # agent's memory and time follow, yet large beside an entry (about 270 bytes), since the
    # ledger is never evicted and a card must free more than each new chunk takes.
    "media_bytes": 4096,
    "card_days": 185,  # the card holds this many days of footage (measured on day one)
    "card_bytes": 0,  # or the card's size in bytes, when known (0: measure)
    "budget": 1,  # the cadenced signer's share of real time, percent (0: sign every entry)
    "native": True,  # use a native signer where there is one (CPython)
    "step_chunks": 3600,  # chunks recorded in one step, at most
    "sync_every": 1,  # the store's sync policy (the agent's default: every record)
    # False: no fsync at all, for building a card's older months fast on a computer, where
    # no power cut is staged (the files, and so the card, are the same)
    "durable": True,
    # False: each chunk's media is counted on the card but not written as a file (see
    # Card), for runs of millions of chunks, where a file per chunk would cost more than
    # everything the agent does; the evictions are then logged to EVICTED_NAME
    "media_files": True,
}
SETTINGS.update(globals().get("BENCH", {}))

SEED = bytes(range(32))
DEVICE = "SC-LONG-0001"
OFFICER = "P-0001"
DAY_MS = 86_400_000
T0_MS = 1767600000000  # 2026-01-05 08:00 UTC, the first day's power-on
HOST_KID = "agency-host-1"
EVICTED_NAME = "bench-evicted"  # the digests a card without media files evicted, 32 bytes each

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from firmware.agent import Agent
    from firmware.store import WritableFile
    from protocol.ledger import Entry

# MicroPython counts milliseconds with ticks_ms, which wraps (differences go through
# ticks_diff); CPython has no ticks, and its monotonic nanosecond clock serves.
_ticks_ms = getattr(time, "ticks_ms", None)
_ticks_diff = getattr(time, "ticks_diff", None)
_ns = getattr(time, "perf_counter_ns", None)


def now_ms() -> int:
    if _ticks_ms is not None:
        return _ticks_ms()
    return _ns() // 1_000_000 if _ns is not None else 0


def since_ms(start: int) -> int:
    if _ticks_diff is not None:
        return _ticks_diff(now_ms(), start)
    return now_ms() - start


def live_heap() -> int:
    """Bytes the heap holds (after the caller's collection, where there is one)."""
    alloc = getattr(gc, "mem_alloc", None)
    return alloc() if alloc is not None else -1


def heap_total() -> int:
    """The heap's whole size: a port that grows its heap shows it here."""
    alloc = getattr(gc, "mem_alloc", None)
    free = getattr(gc, "mem_free", None)
    return alloc() + free() if alloc is not None and free is not None else -1


class TimedSigner(Ed25519Signer):
    """The device's signer, with the count and the time of its signatures for the report."""

    def __init__(self, inner: Ed25519Signer) -> None:
        self.inner = inner
        self.name = inner.name
        self.count = 0
        self.ms = 0

    def public_key(self) -> bytes:
        return self.inner.public_key()

    def sign(self, message: bytes) -> bytes:
        t = now_ms()
        signature = self.inner.sign(message)
        self.ms += since_ms(t)
        self.count += 1
        return signature


class VirtualClock(Clock):
    def __init__(self) -> None:
        self.wall = T0_MS
        self.mono = 0

    def wall_ms(self) -> int:
        return self.wall

    def mono_ms(self) -> int:
        return self.mono


class WorkingCamera(Camera):
    """The self-check asks; the bench feeds the frames itself."""

    def read(self, overlay: str) -> "tuple | None":
        return None


class Card(Store):
    """The store on a card of ``capacity`` bytes: an append that does not fit is refused as
    a full card would refuse it, so the agent's retention must make room."""

    def __init__(
        self,
        path: str,
        capacity: int,
        used: int,
        sync_every: int = 1,
        durable: bool = True,
        media_files: bool = True,
        media_bytes: int = 0,
    ) -> None:
        self.durable = durable
        # Without media files every chunk's media is ``media_bytes`` long (the bench makes
        # them so): what an eviction frees is known without a file to measure.
        self.media_files = media_files
        self.media_bytes = media_bytes
        Store.__init__(self, path, sync_every=sync_every)
        self.capacity = capacity
        # The card's own count of bytes in use, as a file system keeps it (a board asks it,
        # in constant time); the bench carries it from one power-on to the next.
        self.used_bytes = used
        self.evicted = 0  # media files removed since this power-on
        self.append_ms = 0  # time in the store's append (media, record, sync)

    def used(self) -> int:
        return self.used_bytes

    def _sync_file(self, f: "WritableFile") -> None:
        if self.durable:
            Store._sync_file(self, f)

    def _sync_folder(self, path: str) -> None:
        if self.durable:
            Store._sync_folder(self, path)

    def free(self) -> int:
        if self.capacity <= 0:
            return 1 << 40
        return max(self.capacity - self.used(), 0)

    def free_bytes(self) -> int:
        return self.free()

    def append(
        self,
        entry_raw: bytes,
        media: "bytes | None" = None,
        media_sha: "bytes | None" = None,
        entry: "Entry | None" = None,
    ) -> int:
        need = len(entry_raw) + HEADER_LEN + (len(media) if media is not None else 0)
        if self.capacity > 0 and self.used() + need > self.capacity:
            raise StorageFull("the card is full: %d bytes, %d free" % (self.capacity, self.free()))
        t = now_ms()
        seq = Store.append(self, entry_raw, media, media_sha, entry)
        self.append_ms += since_ms(t)
        self.used_bytes += need
        return seq

    def _put_media(self, key: str, media: bytes) -> bool:
        if self.media_files:
            return Store._put_media(self, key, media)
        if len(media) != self.media_bytes:
            raise ValueError("a chunk's media is %d bytes, not %d" % (len(media), self.media_bytes))
        return True  # counted by append; no file, so nothing is staged or moved home

    def evict_media(self, digest: "bytes | str") -> int:
        if self.media_files:
            freed = Store.evict_media(self, digest)
        else:
            # No file to remove: the log of what went stands for the files, for the check.
            with open(self.path + "/" + EVICTED_NAME, "ab") as f:
                f.write(binascii.unhexlify(media_key(digest)))
            freed = self.media_bytes
        self.used_bytes -= freed
        self.evicted += 1
        return freed


def card_usage(path: str) -> int:
    """Bytes the ledger and the media take on a card made before (once, at the start)."""
    return _tree_bytes(path + "/ledger") + _tree_bytes(path + "/media")


def _tree_bytes(path: str) -> int:
    total = 0
    try:
        names = os.listdir(path)
    except OSError:
        return 0
    for name in names:
        sub = path + "/" + name
        mode = os.stat(sub)
        if mode[0] & 0x4000:
            total += _tree_bytes(sub)
        else:
            total += mode[6]
    return total


def _rmtree(path: str) -> None:
    try:
        mode = os.stat(path)[0]
    except OSError:
        return
    if mode & 0x4000:
        for name in os.listdir(path):
            _rmtree(path + "/" + name)
        os.rmdir(path)
    else:
        os.remove(path)


class Life:
    """The bench's state between steps."""

    def __init__(self, settings: dict) -> None:
        self.s = settings
        self.clock = VirtualClock()
        self.signer = TimedSigner(make_signer(SEED, prefer_native=bool(settings["native"])))
        self.days = list(settings["days"])
        self.capacity = int(settings["card_bytes"])
        # The bytes in use on a card made before: given by the caller, which reads them
        # faster than a walk of the card's files here, or counted.
        used = int(settings.get("card_used", -1))
        self.card_used = used if used >= 0 else card_usage(settings["path"])
        self.agent: Agent | None = None
        self.card: Card | None = None
        self.day = -1
        self.fig: dict = {}
        self.steps: list = []
        self.chunk = 0  # chunks recorded today so far
        self.code_heap = -1  # the heap with the code loaded and no agent: the baseline

    # -- the day's steps --

    def plan_day(self) -> None:
        self.day = self.days.pop(0)
        self.fig = {"day": self.day, "heap_peak": 0, "evicted": 0, "record_ms": 0, "heaps": []}
        self.signer.count = self.signer.ms = 0
        self.steps = ["boot", "record", "dock", "off"]
        self.chunk = 0

    def step(self) -> bool:
        """Run the next step; False when every day is done."""
        heap = live_heap()
        if self.agent is None and self.code_heap < 0:
            self.code_heap = heap
        if self.fig:
            self.fig["heaps"].append(heap)
            if heap > self.fig["heap_peak"]:
                self.fig["heap_peak"] = heap
        if not self.steps:
            if self.fig:
                self.fig["heap_off"] = heap
                self._report()
                self.fig = {}
            if not self.days:
                return False
            self.plan_day()
        name = self.steps[0]
        getattr(self, "_" + name)()
        return True

    def _boot(self) -> None:
        self.steps.pop(0)
        clock = self.clock
        clock.wall = T0_MS + self.day * DAY_MS
        clock.mono = 0
        t = now_ms()
        store = Card(
            self.s["path"],
            self.capacity,
            self.card_used,
            int(self.s["sync_every"]),
            bool(self.s["durable"]),
            bool(self.s["media_files"]),
            int(self.s["media_bytes"]),
        )
        per_s = self.s["media_bytes"] + 200  # media and its entry: for the hours left
        self.card = store
        self.agent = boot(
            "",
            self.signer,
            DEVICE,
            OFFICER,
            clock,
            WorkingCamera(),
            store=store,
            bitrate_bps=per_s * 8,
            signing_budget_percent=int(self.s["budget"]),
        )
        self.fig["boot_ms"] = since_ms(t)
        self.fig["wall_s0"] = self.fig.get("wall_s0", now_ms())

    def _record(self) -> None:
        agent = self.agent
        assert agent is not None
        clock = self.clock
        chunks = int(self.s["chunks"])
        if self.chunk == 0:
            clock.mono += 1000
            clock.wall += 1000
            agent.input("press_record")
        t = now_ms()
        todo = min(chunks - self.chunk, int(self.s["step_chunks"]))
        size = int(self.s["media_bytes"])
        tag = b"%d/" % self.day
        for i in range(self.chunk, self.chunk + todo):
            # One keyframe a second: each frame closes the chunk before it. Each chunk's bytes
            # differ, so none shares a file with another (what a real recording makes).
            frame = (hashlib.sha256(tag + b"%d" % i).digest() * (size // 32 + 1))[:size]
            agent.input("frame", frame, True)
            clock.mono += 1000
            clock.wall += 1000
        self.chunk += todo
        if self.chunk >= chunks:
            frame = (hashlib.sha256(tag + b"last").digest() * (size // 32 + 1))[:size]
            agent.input("frame", frame, True)  # closes the last chunk
            agent.input("press_stop")
            self.steps.pop(0)
        self.fig["record_ms"] += since_ms(t)

    def _dock(self) -> None:
        self.steps.pop(0)
        agent = self.agent
        store = self.card
        assert agent is not None and store is not None
        clock = self.clock
        clock.mono += 60_000
        clock.wall += 60_000
        last = store.last_entry()
        assert last is not None
        # What the docking link logs for a host receipt (firmware.link): the host holds every
        # entry through the head; the head's hash names the bytes it signed for.
        detail = {
            F_DETAIL: {
                "through_seq": last.seq,
                "by": HOST_KID,
                "head_hash": entry_hash(last.raw),
                "log_size": last.seq + 1,
                "log_root": bytes(32),
                "log_origin": "bench",
            }
        }
        wall, mono = agent.now()
        agent.run(agent.recorder.log_event(EV_HOST_RECEIPT, detail, wall, mono, True))
        # Eviction planning: the walk retention makes over what the card holds to find
        # what it may free now (oldest first, stopping at the floor), timed; nothing is
        # evicted here. An agent with the on-card index walks that (evictable_source); one
        # with the catalogue in RAM walks the catalogue.
        t = now_ms()
        source = getattr(agent, "evictable_source", None)
        what = source() if source is not None else agent.catalogue
        self.fig["plan_bytes"] = agent.retention.evictable_bytes(what, wall)
        self.fig["plan_ms"] = since_ms(t)
        if self.capacity <= 0 and self.s["card_days"]:
            # Day one measures the card: it holds card_days days like this one.
            self.capacity = store.used() * int(self.s["card_days"])
            store.capacity = self.capacity
        self.fig["used"] = store.used()

    def _off(self) -> None:
        self.steps.pop(0)
        agent = self.agent
        store = self.card
        assert agent is not None and store is not None
        agent.shut_down()
        self.card_used = store.used_bytes
        self.fig["evicted"] = store.evicted
        self.fig["append_ms"] = store.append_ms
        self.fig["signatures"] = self.signer.count
        self.fig["sign_ms"] = self.signer.ms
        data = store.load_checkpoint()
        self.fig["checkpoint_bytes"] = len(data) if data is not None else 0
        self.fig["seq"] = store.head()[0]
        self.agent = None
        self.card = None

    def _report(self) -> None:
        f = self.fig
        print(
            "day day=%d chunks=%d heap_peak=%d heap_median=%d heap_off=%d code_heap=%d "
            "heap_total=%d checkpoint_bytes=%d boot_ms=%d plan_ms=%d plan_bytes=%d used=%d "
            "capacity=%d seq=%d evicted=%d record_ms=%d append_ms=%d signatures=%d sign_ms=%d "
            "wall_ms=%d card_used=%d heaps=%s"
            % (
                f["day"],
                int(self.s["chunks"]),
                f["heap_peak"],
                _median(f["heaps"]),
                f["heap_off"],
                self.code_heap,
                heap_total(),
                f["checkpoint_bytes"],
                f["boot_ms"],
                f["plan_ms"],
                f["plan_bytes"],
                f["used"],
                self.capacity,
                f["seq"],
                f["evicted"],
                f["record_ms"],
                f["append_ms"],
                f["signatures"],
                f["sign_ms"],
                since_ms(f["wall_s0"]),
                self.card_used,  # after power-off: what the next power-on starts from
                "/".join(str(h) for h in f["heaps"]),  # the live heap before each step
            )
        )


def _median(values: list) -> int:
    """The middle of ``values`` (the lower of the two middles), -1 for none."""
    if not values:
        return -1
    return sorted(values)[(len(values) - 1) // 2]


def start(settings: dict) -> Life:
    if settings.get("fresh"):
        _rmtree(settings["path"])
    return Life(settings)


life = start(SETTINGS)


def mpy_step() -> bool:
    """One step (the runner calls it until it returns False, collecting between calls)."""
    return life.step()


if not globals().get("BENCH_STEPPED"):
    while mpy_step():
        gc.collect()
