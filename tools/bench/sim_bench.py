"""Simulator benchmark: an officer's shift on virtual hardware, and devices run at once.

    .venv/bin/python tools/bench/sim_bench.py [--json] [--hours H] [--fps F]
        [--chunk-ms MS] [--host-sync] [--device-seconds S] [--max-devices N]
        [--card-dir DIR] [--size WxH] [--skip-devices] [--skip-shift]

Every run is the unchanged firmware agent (``firmware.agent.boot``: recorder, crash-safe
store with a sync per record, PyNaCl signer) on the simulator's hardware
(``simulator.hardware``): SimClock, SceneCamera (a rendered scene, overlay burned in, JPEG at
quality 80), SimMicrophone (8 kHz PCM in 200 ms blocks), SimBattery, and the store on an
SdCard (128 GiB, so space is never the limit; every write goes through its opener and the
agent asks it for free space every 5 virtual seconds). The cards are folders in the system's
temporary folder, or in ``--card-dir``. A simulated card's sync is a flush; with
``--host-sync`` it is an fsync of the host's disk, which shows what the disk adds. Video is
Motion JPEG, one frame per ``--fps`` (default 10), in ``--chunk-ms`` chunks (default 1000);
audio is PCM. The agent is told ``tick`` every virtual second and the battery every virtual
minute. Each measurement runs in a fresh child process with OpenCV on one thread, so a
figure is what one core does.

Figures:
1. A shift, at 640x360 and at 1920x1080 (or at the ``--size`` given; 160x90 with ``--fps 1
   --chunk-ms 10000`` is the fidelity at which a whole shift runs in seconds): record,
   announcement and narration, film
   continuously, one pause an hour (a minute of "change of place", then resume and a 5 s
   spoken reason), stop. H virtual hours (default 0.25) are run for real; the pause falls
   at the middle of every hour, or of the run when it is shorter. Figure: virtual hours per
   wall-clock second, from the record press to the stop (and the store closed). A ten-hour
   shift is projected from it linearly; the per-hour work is the same every hour (the same
   frames, chunks and pause), and the note says the projection is one. Baseline, same run,
   same process: the camera alone (render, overlay, JPEG-encode the same number of frames at
   the same virtual times), as virtual hours per second; the ratio shows what the agent
   (hashing, chunking, signing, storing with fsync, the card's accounting) adds. The ledger
   is verified after each run (not timed), so a figure never comes from a broken run.
2. Devices at once: N child processes, each one device at 640x360 and the chosen fps filming
   for S virtual seconds (default 10), all released together. Flat out (as fast as each
   can): real time holds while the slowest device's S virtual seconds take at most S seconds
   of wall time; N doubles from 1 until that fails, then a bisection finds the largest N
   that holds (to within about 6%, up to ``--max-devices``). Paced (each device sleeps until
   its virtual time is due, as a real-time simulation with links to a real host must; the
   devices' starts are spread over one second, as real devices are not in step): real
   time holds while no device falls further behind than its capture queue holds (8 frames);
   the same search, starting from half the flat-out count. The paced count is the answer;
   the flat-out one shows the machine's throughput.
3. Six months of retention: ``retention_bench.py``.
"""

import argparse
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from typing import Any

from common import T0_MS, machine

from firmware.agent import Agent, boot
from firmware.recorder import RECORDING, RESUMING
from firmware.store import Store
from protocol.ledger import parse_entry
from protocol.registry import KIND_CHUNK, MEDIA_MJPEG, MEDIA_PCM, PAUSE_PLACE_CHANGE
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from simulator.hardware import SceneCamera, SdCard, SimBattery, SimClock, SimMicrophone

SEED = bytes(range(32))
DEVICE = "SC-SIM-BENCH"
OFFICER = "P-0001"
CARD_BYTES = 128 * 1024**3
BLOCK_MS = 200
TICK_MS = 1000
BATTERY_MS = 60_000
HOUR_MS = 3_600_000
PAUSE_MS = 60_000
REASON_MS = 5_000
CONFIG = {"video_media": MEDIA_MJPEG, "audio_media": MEDIA_PCM}
SIZES = (("160x90", 160, 90), ("640x360", 640, 360), ("1920x1080", 1920, 1080))
DEFAULT_SIZES = ("640x360", "1920x1080")
SHIFT_HOURS = 10
# A paced device counts as real time while it never falls further behind than the capture
# queue holds (8 frames, as in agent_bench.py): no frame would be lost.
QUEUE_FRAMES = 8


class Rig:
    """One virtual recorder: the hardware, the booted agent, and a loop that feeds it."""

    def __init__(
        self,
        root: str,
        width: int,
        height: int,
        fps: int,
        chunk_ms: int = 1000,
        host_sync: bool = False,
    ) -> None:
        self.root = root
        self.clock = SimClock(T0_MS)
        self.camera = SceneCamera(self.clock, width, height)
        self.mic = SimMicrophone(self.clock, block_ms=BLOCK_MS)
        self.battery = SimBattery()
        self.card = SdCard(root, CARD_BYTES, host_sync=host_sync)
        self.agent: Agent = boot(
            root,
            make_signer(SEED),
            DEVICE,
            OFFICER,
            self.clock,
            self.camera,
            None,
            self.battery,
            config=dict(CONFIG, chunk_ms=chunk_ms, max_chunk_ms=max(2000, chunk_ms)),
            store=self.card.open_store(),
        )
        self.frame_ms = 1000 / fps
        self.frames = 0
        self.next_frame = 0.0
        self.next_audio = self.next_tick = 0
        self.next_battery = BATTERY_MS
        self.pace_start = -1.0  # time.monotonic() at virtual mono 0, when paced
        self.late_s = 0.0

    def run(self, ms: int, film: bool = True) -> None:
        """Let ``ms`` virtual milliseconds pass: capture at the frame rate while ``film``,
        audio every block, a tick every second, the battery every minute."""
        clock, agent = self.clock, self.agent
        end = clock.mono_ms() + ms
        if not film:
            self.next_frame = float(end)
        while clock.mono_ms() < end:
            now = clock.mono_ms()
            if film and now >= self.next_frame:
                agent.capture()
                self.frames += 1
                self.next_frame += self.frame_ms
            if now >= self.next_audio:
                block = self.mic.read()
                if block is not None:
                    agent.input("audio", block[0])
                self.next_audio += BLOCK_MS
            if now >= self.next_tick:
                agent.input("tick")
                self.next_tick += TICK_MS
            if now >= self.next_battery:
                recording = agent.recorder.state in (RECORDING, RESUMING)
                self.battery.drain(BATTERY_MS, recording)
                agent.input("battery", self.battery.percent())
                self.next_battery += BATTERY_MS
            due = min(math.ceil(self.next_frame), self.next_audio, self.next_tick, end)
            if self.pace_start >= 0:
                self._pace(due)
            clock.advance(max(1, due - now))

    def _pace(self, due_ms: int) -> None:
        wait = self.pace_start + due_ms / 1000 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            self.late_s = max(self.late_s, -wait)

    def shift(self, ms: int) -> None:
        """Record for ``ms`` virtual ms with one pause and spoken reason an hour, then stop."""
        agent = self.agent
        agent.input("press_record")
        self.mic.speak(seconds=4)
        self.run(4000)
        agent.input("announce_done")
        self.mic.speak(seconds=4)
        self.run(4000)
        agent.input("narration_done")
        if ms < HOUR_MS:
            pauses = [ms // 2] if ms > 2 * (PAUSE_MS + REASON_MS) else []
        else:
            pauses = list(range(HOUR_MS // 2, ms - PAUSE_MS - REASON_MS, HOUR_MS))
        done = 8000
        for at in pauses:
            self.run(max(0, at - done))
            agent.input("pause", PAUSE_PLACE_CHANGE)
            self.run(PAUSE_MS, film=False)
            agent.input("resume")
            self.mic.speak(seconds=REASON_MS / 1000)
            self.run(REASON_MS)
            if agent.recorder.state == RESUMING:
                agent.input("spoken_reason_done")
            done = max(done, at) + PAUSE_MS + REASON_MS
        self.run(max(0, ms - done))
        agent.input("press_stop")
        agent.store.close()

    def summary(self) -> dict:
        """Entries, chunks, media bytes, and the verifier's verdict on the ledger."""
        store = Store(self.root)
        raws = list(store.entries())
        store.close()
        key = make_signer(SEED).public_key()
        chunks = sum(1 for r in raws if parse_entry(r).kind == KIND_CHUNK)
        return {
            "entries": len(raws),
            "chunks": chunks,
            "media_bytes": self.agent.stored_media_bytes,
            "ledger": verify_ledger(b"".join(raws), DEVICE, key).state,
        }


def _one_thread() -> None:
    import cv2

    cv2.setNumThreads(1)


# --- 1. a shift ------------------------------------------------------------------------------


def camera_only(width: int, height: int, fps: int, frames: int) -> float:
    """Wall seconds to render, overlay and encode ``frames`` frames at the frame rate's times."""
    clock = SimClock(T0_MS)
    camera = SceneCamera(clock, width, height)
    step = 1000 / fps
    overlay = "2026-11-23 16:00:00 UTC+8 DEV %s OFC %s" % (DEVICE, OFFICER)
    t = 0.0
    start = time.perf_counter()
    for _ in range(frames):
        camera.read(overlay)
        t += step
        clock.advance(math.ceil(t) - clock.mono_ms())
    return time.perf_counter() - start


def shift_child(width: int, height: int, fps: int, hours: float, card: dict, out: Any) -> None:
    _one_thread()
    ms = int(hours * HOUR_MS)
    with tempfile.TemporaryDirectory(prefix="sealcam-sim-bench-", dir=card["dir"]) as tmp:
        t0 = time.perf_counter()
        rig = Rig(tmp + "/card", width, height, fps, card["chunk_ms"], card["host_sync"])
        boot_s = time.perf_counter() - t0
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        rig.shift(ms)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        result = rig.summary()
        base = camera_only(width, height, fps, rig.frames)
    result.update(
        {
            "virtual_hours": hours,
            "frames": rig.frames,
            "boot_s": boot_s,
            "wall_s": wall,
            "cpu_s": cpu,
            "camera_only_s": base,
            "frame_bytes": result["media_bytes"] // max(1, rig.frames),
        }
    )
    out.put(result)


def bench_shift(name: str, width: int, height: int, fps: int, hours: float, card: dict) -> dict:
    """``card``: the cards' folder (``dir``), ``chunk_ms`` and ``host_sync``."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=shift_child, args=(width, height, fps, hours, card, out))
    proc.start()
    r = out.get()
    proc.join()
    vh = r["virtual_hours"]
    r.update(
        {
            "size": name,
            "fps": fps,
            "hours_per_s": vh / r["wall_s"],
            "camera_only_hours_per_s": vh / r["camera_only_s"],
            "ms_per_frame": 1000 * r["wall_s"] / r["frames"],
            "camera_ms_per_frame": 1000 * r["camera_only_s"] / r["frames"],
            "shift_projected_s": SHIFT_HOURS * r["wall_s"] / vh,
        }
    )
    r["ratio_to_camera"] = r["hours_per_s"] / r["camera_only_hours_per_s"]
    return r


# --- 2. devices at once ----------------------------------------------------------------------


def device_child(root: str, fps: int, seconds: int, phase: float, sync: tuple, out: Any) -> None:
    """One device; ``phase`` >= 0 paces it to wall time, that many seconds after the start."""
    ready, go, go_at = sync
    _one_thread()
    rig = Rig(root, 640, 360, fps)
    rig.agent.input("press_record")
    ready.wait()
    go.wait()
    start = go_at.value  # one start time for all, a little ahead, so every device has woken
    if phase >= 0:
        start += phase
        rig.pace_start = start - rig.clock.mono_ms() / 1000
    time.sleep(max(0.0, start - time.monotonic()))
    rig.run(seconds * 1000)
    end = time.monotonic()
    rig.agent.input("press_stop")
    rig.agent.store.close()
    out.put({"start": start, "end": end, "late_s": rig.late_s, "frames": rig.frames})


def devices_at_once(
    n: int, fps: int, seconds: int, card_dir: str | None, paced: bool = False
) -> dict:
    """Run ``n`` devices together; the slowest one's wall time and the worst lateness."""
    ctx = multiprocessing.get_context("fork")
    sync = (ctx.Barrier(n + 1), ctx.Event(), ctx.Value("d", 0.0))
    out = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="sealcam-sim-devices-", dir=card_dir) as tmp:
        procs = [
            ctx.Process(
                target=device_child,
                args=("%s/dev%03d" % (tmp, i), fps, seconds, i / n if paced else -1.0, sync, out),
            )
            for i in range(n)
        ]
        for p in procs:
            p.start()
        sync[0].wait()  # every device booted and recording
        sync[2].value = time.monotonic() + 0.5 + 0.005 * n
        sync[1].set()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
    wall = max(r["end"] - r["start"] for r in results)
    return {
        "devices": n,
        "virtual_s": seconds,
        "slowest_wall_s": wall,
        "speed": seconds / wall,  # virtual seconds per wall second of the slowest device
        "aggregate_speed": n * seconds / wall,
        "late_s": max(r["late_s"] for r in results),
        "real_time": wall <= seconds,
        "frames": sum(r["frames"] for r in results),
    }


def _search(run: Any, start: int, limit: int) -> tuple:
    """Double from ``start`` while ``run(n)`` holds, then bisect to within about 6%.

    Returns ``(largest n that held, smallest n that did not or 0, every trial)``.
    """
    trials = []
    good, bad = 0, 0
    n = start
    while n <= limit:
        t = run(n)
        trials.append(t)
        if not t["ok"]:
            bad = n
            break
        good = n
        n = min(2 * n, limit) if n < limit else limit + 1
    if bad:
        lo, hi = good, bad
        while hi - lo > max(1, lo // 16):
            mid = (lo + hi) // 2
            t = run(mid)
            trials.append(t)
            lo, hi = (mid, hi) if t["ok"] else (lo, mid)
        good, bad = lo, hi
    return good, bad, trials


def bench_devices(fps: int, seconds: int, limit: int, card_dir: str | None) -> dict:
    late_limit = QUEUE_FRAMES / fps

    def flat(n: int) -> dict:
        t = devices_at_once(n, fps, seconds, card_dir)
        t["ok"] = t["real_time"]
        return t

    def paced(n: int) -> dict:
        t = devices_at_once(n, fps, seconds, card_dir, paced=True)
        t["ok"] = t["late_s"] <= late_limit
        return t

    flat_good, flat_bad, flat_trials = _search(flat, 1, limit)
    # Paced runs take their full virtual time in wall time: start near the flat-out count.
    first = max(1, flat_good // 2)
    paced_good, paced_bad, paced_trials = _search(paced, first, max(first, flat_good))
    return {
        "fps": fps,
        "virtual_s": seconds,
        "limit": limit,
        "late_limit_s": late_limit,
        "flat_max": flat_good,
        "flat_first_behind": flat_bad or None,
        "flat_trials": sorted(flat_trials, key=lambda t: t["devices"]),
        "paced_max": paced_good,
        "paced_first_behind": paced_bad or None,
        "paced_trials": sorted(paced_trials, key=lambda t: t["devices"]),
    }


# --- report ----------------------------------------------------------------------------------


def report(results: dict) -> None:
    print("machine: %s" % results["machine"])
    print(
        "setup: real agent (a sync per record, PyNaCl) on simulator hardware; Motion JPEG q80 "
        "at %d fps, %d ms chunks, 8 kHz PCM audio; OpenCV on one thread per process; cards in "
        "%s, syncs %s"
        % (
            results["fps"],
            results["chunk_ms"],
            results["card_dir"],
            "to the host disk" if results["host_sync"] else "flushed only",
        )
    )
    print()
    print(
        "1. a shift (measured over %.2f virtual h; the %d h figure is a linear projection)"
        % (results["hours"], SHIFT_HOURS)
    )
    for s in results["shifts"]:
        print(
            "  %-9s %6d frames (%6d B each), %5d entries, ledger %s"
            % (s["size"], s["frames"], s["frame_bytes"], s["entries"], s["ledger"])
        )
        print(
            "  %-9s agent: %.4f virtual h per wall s (%.1fx real time, %.2f ms a frame)"
            % ("", s["hours_per_s"], s["hours_per_s"] * 3600, s["ms_per_frame"])
        )
        print(
            "  %-9s camera alone (render + overlay + JPEG): %.4f h/s (%.1fx, %.2f ms a frame)"
            " -> the agent runs at %.0f%% of camera-only speed"
            % (
                "",
                s["camera_only_hours_per_s"],
                s["camera_only_hours_per_s"] * 3600,
                s["camera_ms_per_frame"],
                100 * s["ratio_to_camera"],
            )
        )
        print(
            "  %-9s a %d h shift: %.0f s of wall time (projected); CPU %.0f%% of the wall"
            % ("", SHIFT_HOURS, s["shift_projected_s"], 100 * s["cpu_s"] / s["wall_s"])
        )
    d = results.get("devices")
    if not d:
        return
    print()
    print("2. devices at once (640x360, %d fps, %d virtual s each)" % (d["fps"], d["virtual_s"]))
    print("  flat out: real time while the slowest device takes <= %d s of wall" % d["virtual_s"])
    for t in d["flat_trials"]:
        print(
            "  %4d devices: slowest %6.2f s wall -> %5.1fx real time each, %6.1f virtual s per "
            "wall s in all%s"
            % (
                t["devices"],
                t["slowest_wall_s"],
                t["speed"],
                t["aggregate_speed"],
                "" if t["ok"] else "  (falls behind)",
            )
        )
    print(
        "  paced (each device sleeps until its virtual time is due): real time while none falls "
        "more than %.1f s (%d frames) behind" % (d["late_limit_s"], QUEUE_FRAMES)
    )
    for t in d["paced_trials"]:
        print(
            "  %4d devices: worst lateness %6.3f s, slowest done after %6.2f s%s"
            % (
                t["devices"],
                t["late_s"],
                t["slowest_wall_s"],
                "" if t["ok"] else "  (falls behind)",
            )
        )
    print(
        "  most devices in real time: %d paced (%s), %d flat out (%s)"
        % (
            d["paced_max"],
            "%d falls behind" % d["paced_first_behind"] if d["paced_first_behind"] else "limit",
            d["flat_max"],
            "%d falls behind" % d["flat_first_behind"] if d["flat_first_behind"] else "limit",
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--hours", type=float, default=0.25, help="virtual hours of shift to run")
    ap.add_argument("--fps", type=int, default=10, help="the devices' frame rate")
    ap.add_argument(
        "--device-seconds", type=int, default=10, help="virtual seconds each device films"
    )
    ap.add_argument("--max-devices", type=int, default=256, help="most devices to try at once")
    ap.add_argument(
        "--card-dir",
        help="where the virtual SD cards live (default: the system's temporary folder); a "
        "tmpfs folder takes the host disk's fsync out of the figures",
    )
    ap.add_argument(
        "--size",
        action="append",
        choices=[name for name, _, _ in SIZES],
        help="run the shift at this size only (repeatable; default: %s)"
        % " and ".join(DEFAULT_SIZES),
    )
    ap.add_argument(
        "--chunk-ms",
        type=int,
        default=1000,
        help="the recorder's chunk length (default 1000): longer chunks, fewer entries",
    )
    ap.add_argument(
        "--host-sync",
        action="store_true",
        help="make the cards' syncs reach the host disk (by default a simulated card's sync "
        "is a flush: see simulator.hardware.SdCard)",
    )
    ap.add_argument("--skip-devices", action="store_true", help="measure only the shift")
    ap.add_argument("--skip-shift", action="store_true", help="measure only the devices")
    args = ap.parse_args()
    if args.hours <= 0 or args.fps < 1 or args.device_seconds < 1 or args.max_devices < 1:
        ap.error("--hours, --fps, --device-seconds and --max-devices must be positive")
    if args.chunk_ms < 1:
        ap.error("--chunk-ms must be positive")
    card = {"dir": args.card_dir, "chunk_ms": args.chunk_ms, "host_sync": args.host_sync}
    sizes = args.size or DEFAULT_SIZES
    results: dict[str, Any] = {
        "machine": machine(),
        "hours": args.hours,
        "fps": args.fps,
        "card_dir": args.card_dir or tempfile.gettempdir(),
        "chunk_ms": args.chunk_ms,
        "host_sync": args.host_sync,
        "shifts": [
            bench_shift(n, w, h, args.fps, args.hours, card)
            for n, w, h in SIZES
            if not args.skip_shift and n in sizes
        ],
    }
    if not args.skip_devices:
        results["devices"] = bench_devices(
            args.fps, args.device_seconds, args.max_devices, args.card_dir
        )
    bad = [s["size"] for s in results["shifts"] if s["ledger"] != OK]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    if bad:
        print("ledger not OK after the shift at %s" % ", ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
