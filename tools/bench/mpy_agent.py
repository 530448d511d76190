"""The recorder and its store under MicroPython with the pure-Python signer (run by agent_bench.py).

Virtual footage at 30 fps in 1 s chunks (a keyframe every 30 frames) of small synthetic
frames is fed into the Recorder, and every STORE action is appended to a Store (sync on
every record) on the interpreter's own file system. Each signature is timed with
time.ticks_ms for the report, and the cadenced signer (``firmware.signing``, as ``boot()``
makes it with a signing budget) feeds protocol.cadence.SigningCadence, whose K becomes the
ledger writer's ``sign_every`` from the next entry on, as an agent on a slow board runs it.

Prints one line, ``mpy-agent`` followed by ``name=value`` figures:
seconds (virtual footage), frame_bytes, entries and signed (from the record press to the
stop), sign_ms_avg, sign_ms_total, sign_ms_max,
k_final, k_max, budget (the cadence's percent of real time), entry_ms (virtual time between
entries), store_ms and wall_ms (totals), rt_factor (virtual footage seconds per wall second).
A caller that wants another duration puts ``BENCH_SECONDS = N`` before this file's text.
"""

import hashlib
import os
import time

from firmware.hal import Clock
from firmware.recorder import STORE, Recorder
from firmware.signing import CadencedSigner
from firmware.store import Store
from protocol.cadence import SigningCadence
from protocol.signer import Ed25519Signer, make_signer

SECONDS = int(globals().get("BENCH_SECONDS", 60))
FPS = 30
GOP = 30  # one keyframe a second: 1 s chunks
FRAME_BYTES = 4000  # about 1 Mbit/s at 30 fps, a board's recording sub-stream
BUDGET_PERCENT = 50  # the cadence's default share of real time for signing
DEVICE = "SC-BENCH-0001"
T0_MS = 1795420800000


class TimedSigner(Ed25519Signer):
    """The pure signer, with the count and cost of its signatures for the report."""

    name = "pure-python (timed)"

    def __init__(self, inner: Ed25519Signer) -> None:
        self.inner = inner
        self.count = 0
        self.total_ms = 0
        self.max_ms = 0

    def public_key(self) -> bytes:
        return self.inner.public_key()

    def sign(self, message: bytes) -> bytes:
        t0 = time.ticks_ms()
        sig = self.inner.sign(message)
        ms = time.ticks_diff(time.ticks_ms(), t0)
        self.count += 1
        self.total_ms += ms
        if ms > self.max_ms:
            self.max_ms = ms
        return sig


class VirtualClock(Clock):
    """The footage's own time: the cadence reads the time between entries from it."""

    def __init__(self) -> None:
        self.mono = 0

    def wall_ms(self) -> int:
        return T0_MS + self.mono

    def mono_ms(self) -> int:
        return self.mono


def _base_dir() -> str:
    for base in ("/tmp", "."):
        probe = base + "/sealcam-bench-probe"
        try:
            os.mkdir(probe)
            os.rmdir(probe)
            return base
        except OSError:
            pass
    raise OSError("no writable directory for the bench store")


def _remove_tree(path: str) -> None:
    if os.stat(path)[0] & 0x4000:
        for name in os.listdir(path):
            _remove_tree(path + "/" + name)
        os.rmdir(path)
    else:
        os.remove(path)


def _filler(tag: bytes, n: int) -> bytes:
    """``n`` bytes that differ for every ``tag`` (frame content does not matter, only size)."""
    block = hashlib.sha256(tag).digest()
    return (block * (n // len(block) + 1))[:n]


def main(seconds: int) -> None:
    cadence = SigningCadence(BUDGET_PERCENT)
    timed = TimedSigner(make_signer(bytes(range(32)), prefer_native=False))
    timed.inner.sign(b"warm-up")  # builds the base-point table once, as a device does at boot
    clock = VirtualClock()
    signer = CadencedSigner(timed, cadence, clock)  # what boot() makes with a budget
    recorder = Recorder(signer, DEVICE, "P-0001")
    signer.follow(recorder.writer)
    # Each chunk's keyframe is unique, so no two chunks have the same bytes (the store keeps
    # one copy of repeated media, which would skip writes a real recording makes).
    keyframes = [_filler(b"key %d" % c, FRAME_BYTES) for c in range(seconds + 1)]
    others = [_filler(b"frame %d" % f, FRAME_BYTES) for f in range(GOP - 1)]
    path = _base_dir() + "/sealcam-bench-agent"
    try:
        _remove_tree(path)
    except OSError:
        pass
    store = Store(path, sync_every=1)
    store_ms = 0

    def carry(actions: list) -> None:
        nonlocal store_ms
        for action in actions:
            if action[0] == STORE:
                t = time.ticks_ms()
                store.append(action[1], action[2])
                store_ms += time.ticks_diff(time.ticks_ms(), t)

    checks = {"camera_ok": True, "battery_percent": 100, "storage_hours": 100, "clock_ok": True}
    carry(recorder.power_on(T0_MS, 0, checks))
    # Count from the record press on: the boot entries are not footage.
    timed.count = timed.total_ms = timed.max_ms = 0
    first_seq = recorder.writer.seq
    frames = seconds * FPS + 1  # the last frame opens a chunk that the stop closes
    t_start = time.ticks_ms()
    carry(recorder.press_record(T0_MS, 0))
    mono = 0
    for i in range(frames):
        mono = i * 1000 // FPS
        clock.mono = mono
        key = i % GOP == 0
        data = keyframes[i // GOP] if key else others[i % GOP - 1]
        carry(recorder.frame(data, key, T0_MS + mono, mono))
    mono += 1000 // FPS
    clock.mono = mono
    carry(recorder.press_stop(T0_MS + mono, mono))
    wall_ms = time.ticks_diff(time.ticks_ms(), t_start)
    store.close()
    entries = recorder.writer.seq - first_seq
    _remove_tree(path)
    footage_ms = frames * 1000 // FPS
    print(
        "mpy-agent seconds=%.3f frame_bytes=%d entries=%d signed=%d sign_ms_avg=%.2f "
        "sign_ms_total=%d sign_ms_max=%d k_final=%d k_max=%d budget=%d entry_ms=%.1f "
        "store_ms=%d wall_ms=%d rt_factor=%.2f"
        % (
            footage_ms / 1000,
            FRAME_BYTES,
            entries,
            timed.count,
            timed.total_ms / max(1, timed.count),
            timed.total_ms,
            timed.max_ms,
            cadence.k,
            signer.k_max,
            BUDGET_PERCENT,
            footage_ms / max(1, entries),
            store_ms,
            wall_ms,
            footage_ms / max(1, wall_ms),
        )
    )


main(SECONDS)
