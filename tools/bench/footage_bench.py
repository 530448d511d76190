"""Footage benchmark: real H.264 + AAC footage through the CPython port, its ledger, the MP4
export and ``sealcam verify FILE.mp4``, each figure beside a baseline measured in the same run.

    .venv/bin/python tools/bench/footage_bench.py [--json] [--quick] [--clip-seconds S]
        [--clip-rounds N] [--minutes M] [--hour-size WxH] [--rounds R] [--cpu N]
        [--hour-only] [--keep DIR] [--against CHECKOUT]

``--hour-only`` runs parts 3 and 4 alone; ``--keep DIR`` makes the long recording and its
evidence store in DIR and keeps them, so a later run with the same ``--minutes`` and
``--hour-size`` measures them again without making them (the figures of part 2 and the
making times are those of the first run). ``--against CHECKOUT`` also times, in every
round of part 3, the export of the code in another checkout (the code before a change)
and this code's, each in a fresh process, in turns, beside the same copies.

Default: about four minutes on a loaded 2-core machine; ``--quick`` (a 2 s clip, a 1-minute
recording, one round; under a minute) is the smoke run the test suite makes.
The footage it measures is made by ``footage_make.py`` beside it.

1. Recording, 1080p30 from a file (``firmware.ports.cpython.record``, as ``sealcam record
   --camera CLIP.mp4 --mic CLIP.wav`` runs it: its capture and microphone threads, OpenCV's
   decoder, the overlay burned in, PyAV's libx264 at preset ultrafast and AAC, the run loop,
   the recorder with the fMP4 packager, the PyNaCl signer and the crash-safe store with an
   fsync per record). The clip is made first (synthetic panning scene, libx264 veryfast
   CRF 23, with a 48 kHz WAV beside it) in a temporary folder. Nothing waits: the clock is
   virtual and the pictures drive it (each frame's sleep until it is due moves the clock
   there at once), and the microphone waits for the pictures to reach a block's time, so
   sound arrives beside the pictures as a live microphone's would. The process is pinned to
   one CPU (``os.sched_setaffinity``) for this part: every thread of it, FFmpeg's own
   included, shares that CPU.
   Real-time factor: seconds of footage (frames / 30) per second of wall time; also per
   second of the process's CPU time, which leaves out the time other work held the CPU.
   CPU split: ``time.thread_time`` of the main thread over the whole ``record`` call is the
   agent (run loop, recorder, packager, signing, store: ``record``'s main thread does nothing
   else); the capture and microphone threads' CPU (their ``thread_time``, read on leaving
   the wrapped camera, encoder and microphone calls) is decoding, overlay, encoding. Wrapped
   calls (``thread_time`` around them) break each side down. Baseline, same clip, same CPU,
   in the same run: the capture side alone (decode, overlay, H.264, AAC, one thread, nothing
   stored), whose CPU time is compared with the recording's.
2. Signing overhead: every ledger entry the run above stored (events, the init segment's
   entry, one chunk entry a second with its 30 frame digests, all signed), in bits per
   second of footage, beside Axis signed video (~27 kbit/s, a published figure, not
   measured here); the same for the steady state of the hour below.
3. A one-hour recording: a minute of 30 fps footage (the same scene, 1280x720 by default) is
   encoded once with the port's encoders (``firmware.ports.encoder``: libx264 ultrafast, 1 s
   GOP, AAC 48 kHz mono), and its samples are fed 60 times over, on a virtual clock, to the
   real agent with the ``Fmp4Packager``: 3,600 distinct signed fragments (their sequence
   numbers and decode times differ), one init segment, record start and stop (the store's
   fsyncs are skipped while it is made, which is not measured; one sync after). Its entries
   and media go into a real SQLite evidence store (as a finished sync leaves them:
   ``add_entries``, ``put_media`` deferred and made durable at once). Export:
   ``host.export.export_recording`` to .mp4 (reads and checks every chunk against its signed
   hash, verifies the device's ledger, writes and fsyncs the file) against
   ``shutil.copyfile`` of the exported file plus an fsync of the copy, alternated, median of
   the rounds; everything is in the page cache (the exported file is read once, untimed,
   before it is copied: an export written past the page cache leaves it uncached). Each
   writes a new file: before each, the file it would replace is removed and the file
   system synced, untimed, for both alike.
4. ``host.mp4verify.verify_mp4`` on that export (the file alone, as ``sealcam verify
   FILE.mp4``) against SHA-256 of the file in 1 MiB reads, alternated, median. The CPU
   figures of parts 3 and 4 are the process's and its ended children's (``os.times``): the
   export's and verify's worker processes (signatures, hashes) are counted. The CLI
   commands (``sealcam export``, ``sealcam verify``) are also timed once each as child
   processes, beside the interpreter's start-up (``sealcam --help``).
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from common import T0_MS, VirtualClock, cpu_s, machine
from footage_make import (
    CLIP_SIZE,
    DEVICE,
    FPS,
    OFFICER,
    RATE,
    SEED,
    Quiet,
    build_recording,
    encode_minute,
    fill_evidence,
    make_clip,
)

import firmware.ports.cpython as port
import firmware.recorder as recorder_module
from firmware.agent import Agent
from firmware.hal import Clock
from firmware.packager import Fmp4Packager
from firmware.ports.docking import DockServer
from firmware.ports.encoder import VIDEO_TIMESCALE, AudioEncoder, VideoEncoder
from firmware.recorder import Recorder
from firmware.store import Store
from host.export import export_recording
from host.mp4verify import verify_mp4
from protocol import cbor
from protocol.ledger import media_digest, parse_entry
from protocol.registry import F_FRAME_HASHES, KIND_CHUNK
from protocol.signer import NaclSigner

MIC_WAIT_S = 5.0  # the longest the microphone waits for the pictures (a stalled run)
MIB = 1 << 20

RTF_GOAL = 1.0
AGENT_SHARE_GOAL = 0.02
OVERHEAD_GOAL_BPS = 10_000
AXIS_BPS = 27_000
EXPORT_GOAL = 1.2
VERIFY_GOAL = 1.5


# --- measuring -----------------------------------------------------------------------------


class Meter:
    """CPU time (``time.thread_time``, the calling thread's) spent inside wrapped calls, by
    label; and, by thread name, the thread's CPU time when it last left one of them."""

    def __init__(self) -> None:
        self.cpu: dict = {}
        self.calls: dict = {}
        self.thread_cpu: dict = {}
        self._undo: list = []
        self._lock = threading.Lock()
        self._depth = threading.local()

    def wrap(self, owner: object, name: str, label: str) -> None:
        """Meter ``owner.name`` under ``label``; a call made inside another call of the same
        label (one agent call running another) is counted once, in the outer one."""
        original = getattr(owner, name)
        clock = time.thread_time
        depth = self._depth

        def timed(*args: Any, **kwargs: Any) -> Any:
            inner = getattr(depth, label, 0)
            setattr(depth, label, inner + 1)
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                end = clock()
                setattr(depth, label, inner)
                with self._lock:
                    if not inner:
                        self.cpu[label] = self.cpu.get(label, 0.0) + end - start
                        self.calls[label] = self.calls.get(label, 0) + 1
                    self.thread_cpu[threading.current_thread().name] = end

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo = []


class FootageClock(Clock):
    """Virtual time that the pictures drive: the camera's sleep until a frame is due moves
    the clock there at once; the microphone's sleep waits until the pictures have reached
    its block's time (at most MIC_WAIT_S of real time), as a live microphone would deliver
    it beside them."""

    def __init__(self) -> None:
        self.ms = 0
        self._moved = threading.Condition()

    def wall_ms(self) -> int:
        return T0_MS + self.ms

    def mono_ms(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        with self._moved:
            target = self.ms + max(0, round(seconds * 1000))
            if threading.current_thread().name == "microphone":
                self._moved.wait_for(lambda: self.ms >= target, timeout=MIC_WAIT_S)
            elif target > self.ms:
                self.ms = target
                self._moved.notify_all()


class ThreadSampler:
    """Every thread's CPU time by its name, read from /proc/self/task every ``period_s``
    (the last reading of each thread is kept): FFmpeg's own threads, which Python does not
    see, show up here by the names FFmpeg gives them. Linux only; empty elsewhere."""

    def __init__(self, period_s: float = 0.25) -> None:
        self.period_s = period_s
        self.cpu: dict = {}  # thread id -> (name, CPU s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __enter__(self) -> "ThreadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self._read()

    def _read(self) -> None:
        tasks = Path("/proc/self/task")
        try:
            ids = [t.name for t in tasks.iterdir()]
        except OSError:
            return
        for tid in ids:
            try:
                stat = (tasks / tid / "stat").read_text()
            except OSError:
                continue  # the thread ended meanwhile
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            self.cpu[tid] = (name, (int(fields[11]) + int(fields[12])) / self._tick)

    def native(self) -> dict:
        """CPU s by thread name, for the threads that are not Python's own."""
        out: dict = {}
        for name, cpu in self.cpu.values():
            if name not in ("python", "python3", "sampler") and not name.startswith("python"):
                out[name] = out.get(name, 0.0) + cpu
        return out


def pinned(cpu: int) -> Callable[[], None]:
    """Pin this thread (and every thread it starts from now on) to ``cpu``; return undo."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    return lambda: os.sched_setaffinity(0, before)


def load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


# --- 1 and 2: recording 1080p30 through the port -------------------------------------------


def capture_alone(video: str, sound: str) -> dict:
    """The baseline: what the recording's capture side does (decode, overlay, H.264, AAC),
    in one thread, nothing stored."""
    clock = VirtualClock()
    camera = port.OpenCVCamera(video, clock, pace=False)
    encoder = VideoEncoder("h264", camera.fps() or FPS)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    frames = nbytes = 0
    while True:
        got = camera.read_image("SC-BENCH-0001 P-0001 2026-11-23 08:00:00")
        if got is None:
            break
        clock.ms = frames * 1000 // FPS
        for data, _key, _mono in encoder.encode(got[0], clock.ms):
            nbytes += len(data)
        frames += 1
    nbytes += sum(len(s[0]) for s in encoder.flush())
    camera.close()
    with wave.open(sound, "rb") as w:
        audio = AudioEncoder(w.getframerate(), w.getnchannels())
        block = RATE // 10
        at = 0
        while pcm := w.readframes(block):
            audio.encode(pcm, at)
            at += 100
        audio.flush()
    return {
        "frames": frames,
        "video_bytes": nbytes,
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
    }


def record_clip(video: str, sound: str, root: str) -> dict:
    """``sealcam record --camera VIDEO --mic SOUND`` on the virtual clock, metered."""
    meter = Meter()
    # The agent's work on the footage (main thread), counted at the outermost call: frames
    # (Agent.drain), sound (Recorder.audio, then Agent.run of its actions), the buttons.
    meter.wrap(Agent, "drain", "agent work")
    meter.wrap(Agent, "run", "agent work")
    meter.wrap(Agent, "input", "agent work")
    meter.wrap(Recorder, "audio", "agent work")
    meter.wrap(DockServer, "poll", "dock polls")
    # Inside that work.
    meter.wrap(NaclSigner, "sign", "signing")
    meter.wrap(Fmp4Packager, "fragment", "packaging")
    meter.wrap(Fmp4Packager, "init_segment", "packaging")
    meter.wrap(Store, "append", "store")
    meter.wrap(Store, "sync", "store")
    meter.wrap(recorder_module, "frame_digest", "frame digests")
    # The capture side (capture and microphone threads).
    meter.wrap(port.OpenCVCamera, "read_image", "decode + overlay")
    meter.wrap(port, "burn_overlay", "overlay")
    meter.wrap(VideoEncoder, "encode", "H.264 encode")
    meter.wrap(VideoEncoder, "flush", "H.264 encode")
    meter.wrap(port.Sound, "read", "WAV + AAC")
    meter.wrap(port.Sound, "flush", "WAV + AAC")
    clock = FootageClock()
    try:
        with ThreadSampler() as threads:
            main0 = time.thread_time()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            summary = port.record(
                root,
                video,
                SEED,
                DEVICE,
                OFFICER,
                indicators=Quiet(),
                codec="h264",
                mic=sound,
                fps=FPS,
                clock=clock,
                pace=True,
                sleep=clock.sleep,
            )
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            main = time.thread_time() - main0
    finally:
        meter.restore()
    return {
        "summary": summary,
        "wall_s": wall,
        "cpu_s": cpu,
        "main_cpu_s": main,
        "capture_cpu_s": meter.thread_cpu.get("capture", 0.0),
        "microphone_cpu_s": meter.thread_cpu.get("microphone", 0.0),
        "stages": {k: {"cpu_s": v, "calls": meter.calls[k]} for k, v in meter.cpu.items()},
        "native_threads_cpu_s": threads.native(),
    }


def ledger_sizes(root: str) -> dict:
    """Bytes of every stored entry, of the chunk entries, their frame digests, signatures."""
    store = Store(root)
    out = dict.fromkeys(
        ("entries", "entry_bytes", "chunk_entries", "frame_digests", "frame_digest_bytes"), 0
    )
    media = 0
    for raw in store.entries():
        e = parse_entry(raw)
        out["entries"] += 1
        out["entry_bytes"] += len(raw)
        if e.kind == KIND_CHUNK:
            out["chunk_entries"] += 1
            hashes = e.fields.get(F_FRAME_HASHES, [])
            out["frame_digests"] += len(hashes)
            out["frame_digest_bytes"] += len(cbor.dumps(hashes))
            media += len(store.read_media(media_digest(e.fields)))
    store.close()
    out["signature_bytes"] = 64 * out["entries"]
    out["media_bytes"] = media
    return out


def encoder_split(video: str, frames: int) -> dict:
    """Where the encoder's time goes, on the clip's first ``frames`` frames (CPU ms a frame):
    the colour conversion ``VideoEncoder.encode`` does (``VideoFrame.from_ndarray`` of the
    BGR picture, then ``reformat`` to yuv420p), libx264 alone on the converted frame, and
    OpenCV's BGR to I420 conversion with ``from_ndarray`` of the planes, for comparison."""
    capture = cv2.VideoCapture(video)
    images: list[np.ndarray] = []
    while len(images) < frames:
        ok, read = capture.read()
        if not ok:
            break
        images.append(np.asarray(read, dtype=np.uint8))
    capture.release()
    height, width = images[0].shape[:2]
    ctx = av.CodecContext.create("libx264", "w")
    assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, VIDEO_TIMESCALE)
    ctx.framerate = Fraction(FPS, 1)
    ctx.gop_size = FPS
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "bframes=0"}
    ctx.open()
    clock = time.thread_time
    split = dict.fromkeys(("pyav_conversion", "x264", "opencv_conversion"), 0.0)
    for i, image in enumerate(images):
        t0 = clock()
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame = frame.reformat(width=width, height=height, format="yuv420p")
        t1 = clock()
        frame.pts = i * VIDEO_TIMESCALE // FPS
        ctx.encode(frame)
        t2 = clock()
        planes = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
        av.VideoFrame.from_ndarray(planes, format="yuv420p")
        t3 = clock()
        split["pyav_conversion"] += t1 - t0
        split["x264"] += t2 - t1
        split["opencv_conversion"] += t3 - t2
    ctx.encode(None)
    return {k + "_ms": 1000 * v / len(images) for k, v in split.items()} | {"frames": len(images)}


def bench_recording(clip_seconds: int, cpu: int, folder: str, rounds: int) -> dict:
    """Part 1 and the 1080p figures of part 2: ``rounds`` recordings and as many baselines,
    in turn (ABBA: baseline, recording, recording, baseline, ...) so both see the same load;
    times are medians, CPU shares and stages are summed over the recordings."""
    video, sound = make_clip(folder, clip_seconds)
    runs: list = []
    bases: list = []
    undo = pinned(cpu)
    try:
        for i in range(rounds):
            first_base = i % 2 == 0
            if first_base:
                bases.append(capture_alone(video, sound))
            runs.append(record_clip(video, sound, os.path.join(folder, "device-%d" % i)))
            if not first_base:
                bases.append(capture_alone(video, sound))
        split = encoder_split(video, min(60, clip_seconds * FPS))
    finally:
        undo()
    s = runs[0]["summary"]
    footage = s["frames"] / FPS
    sizes = ledger_sizes(os.path.join(folder, "device-0"))
    stages: dict = {}
    for run in runs:
        for label, st in run["stages"].items():
            into = stages.setdefault(label, {"cpu_s": 0.0, "calls": 0})
            into["cpu_s"] += st["cpu_s"]
            into["calls"] += st["calls"]
    native: dict = {}
    for run in runs:
        for name, seconds in run["native_threads_cpu_s"].items():
            native[name] = native.get(name, 0.0) + seconds

    def total(key: str, of: list = runs) -> float:
        return sum(r[key] for r in of)

    def median(key: str, of: list = runs) -> float:
        return statistics.median(r[key] for r in of)

    cpu_all = total("cpu_s")
    main = total("main_cpu_s")
    work = stages.get("agent work", {}).get("cpu_s", 0.0)
    turns = stages.get("dock polls", {}).get("calls", 0)
    capture_side = total("capture_cpu_s") + total("microphone_cpu_s")
    wall, cpu_s = median("wall_s"), median("cpu_s")
    base_wall, base_cpu = median("wall_s", bases), median("cpu_s", bases)
    footage_all = footage * len(runs)
    return {
        "clip": {
            "seconds": clip_seconds,
            "size": "%dx%d" % CLIP_SIZE,
            "fps": FPS,
            "file_bytes": os.path.getsize(video),
        },
        "cpu": cpu,
        "rounds": rounds,
        "summary": s,
        "summaries": [r["summary"] for r in runs],
        "footage_s": footage,
        "wall_s": wall,
        "cpu_s": cpu_s,
        "wall_runs_s": [r["wall_s"] for r in runs],
        "cpu_runs_s": [r["cpu_s"] for r in runs],
        "rtf_wall": footage / wall,
        "rtf_cpu": footage / cpu_s,
        "main_cpu_s": main,
        "agent_work_cpu_s": work,
        "loop_cpu_s": main - work,
        "loop_turns": turns,
        "loop_turns_per_s": turns / total("wall_s"),
        "loop_us_per_turn": 1e6 * (main - work) / turns if turns else None,
        "capture_cpu_s": capture_side,
        "other_cpu_s": cpu_all - main - capture_side,
        "native_threads_cpu_s": native,
        "agent_share": main / cpu_all,
        "agent_work_share": work / cpu_all,
        "agent_core_fraction": main / footage_all,
        "agent_work_core_fraction": work / footage_all,
        "stages": stages,
        "encoder_split": split,
        "baseline": {
            "frames": bases[0]["frames"],
            "wall_s": base_wall,
            "cpu_s": base_cpu,
            "wall_runs_s": [b["wall_s"] for b in bases],
            "cpu_runs_s": [b["cpu_s"] for b in bases],
        },
        "baseline_rtf_wall": bases[0]["frames"] / FPS / base_wall,
        "baseline_rtf_cpu": bases[0]["frames"] / FPS / base_cpu,
        "cpu_ratio": cpu_s / base_cpu,
        "share_by_baseline": (cpu_s - base_cpu) / cpu_s,
        "ledger": sizes,
        "overhead_bps": 8 * sizes["entry_bytes"] / footage,
        "overhead_digests_bps": 8 * sizes["frame_digest_bytes"] / footage,
        "video_bps": 8 * sizes["media_bytes"] / footage,
    }


# --- 3 and 4: a one-hour recording, its export and verify ----------------------------------


def copy_durably(src: str, dst: str) -> None:
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def warm(path: str) -> None:
    """Read ``path`` once, untimed, so that it is in the page cache. An export that writes
    past the page cache (``O_DIRECT``) leaves its file there uncached, and a copy of it
    read from the disk would make the copy slower and the export's ratio look better."""
    with open(path, "rb") as f:
        while f.read(MIB):
            pass


def settle(path: str) -> None:
    """Remove ``path`` if it is there and wait for the file system to write out what is
    pending (``sync``), so that none of it lands in the next timed step."""
    if os.path.exists(path):
        os.remove(path)
    os.sync()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MIB):
            h.update(block)
    return h.hexdigest()


def timed(fn: Callable[[], Any]) -> tuple:
    """``(wall s, CPU s, what fn gave)``: the CPU of the export's and verify's worker
    processes (signatures, hashes) included, as they are joined before they return."""
    cpu0, wall0 = cpu_s(), time.perf_counter()
    out = fn()
    return time.perf_counter() - wall0, cpu_s() - cpu0, out


def cli(*args: str) -> tuple:
    """Run ``sealcam ARGS`` as a child process: (wall s, exit code)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "host.cli", *args], capture_output=True)
    return time.perf_counter() - start, done.returncode


# One export in a fresh process, which imports ``host`` from its PYTHONPATH: the wall and
# CPU time of the call alone (its worker processes' included), as JSON. The CPU is read by
# this checkout's common.cpu_s (its folder put after the code under test's on the path).
EXPORT_ONCE = """
import json, sys, time
sys.path.append(sys.argv[4])
from common import cpu_s
from host.export import export_recording
cpu0, wall0 = cpu_s(), time.perf_counter()
export_recording(sys.argv[1], sys.argv[2], None, sys.argv[3], "bench")
print(json.dumps([time.perf_counter() - wall0, cpu_s() - cpu0]))
"""
HERE = Path(__file__).resolve().parents[2]  # this checkout


def export_child(ev_root: str, out: str, code: str) -> tuple:
    """``(wall s, CPU s)`` of one export in a fresh process running the code in the
    checkout ``code``, onto a settled file system (``out`` removed before and after)."""
    settle(out)
    env = dict(os.environ, PYTHONPATH=code)
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_ONCE, ev_root, DEVICE, out, str(HERE / "tools" / "bench")],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SystemExit("the export with the code in %s failed: %s" % (code, last))
    wall, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    settle(out)
    Path(out + ".json").unlink(missing_ok=True)
    return wall, cpu


def make_hour(minutes: int, size: tuple, folder: str, loop_s: int) -> dict:
    """The recording and its evidence store in ``folder``; the facts of making it. A folder
    that already holds them (``--keep``, made with the same settings) is used as it is."""
    facts_file = os.path.join(folder, "hour.json")
    wanted = {"minutes": minutes, "size": list(size), "loop_s": loop_s}
    if os.path.exists(facts_file):
        with open(facts_file) as f:
            facts = json.load(f)
        if facts.get("wanted") == wanted:
            return facts
        raise SystemExit(
            "%s holds a recording made with other settings (%s): give another --keep folder"
            % (folder, facts.get("wanted"))
        )
    wall0 = time.perf_counter()
    minute = encode_minute(loop_s, size)
    encoded_s = time.perf_counter() - wall0
    device = os.path.join(folder, "hour-device")
    made = build_recording(device, minute, minutes)
    built_s = time.perf_counter() - wall0 - encoded_s
    steady = ledger_sizes(device)
    filled = fill_evidence(device, os.path.join(folder, "evidence"))
    shutil.rmtree(device)  # the device's copy is not needed any more: half the disk back
    facts = {
        "wanted": wanted,
        "encoded_s": encoded_s,
        "built_s": built_s,
        "made": made,
        "steady": steady,
        "filled": filled,
    }
    with open(facts_file, "w") as f:
        json.dump(facts, f)
    return facts


def bench_hour(
    minutes: int, size: tuple, rounds: int, folder: str, loop_s: int = 60, against: str = ""
) -> dict:
    """A ``minutes``-long recording of ``loop_s`` seconds of footage fed over and over.
    ``against``: a checkout of other code (the code before a change) whose export is timed
    in the same rounds, interleaved with this code's, each in a fresh process."""
    os.makedirs(folder, exist_ok=True)
    hour = make_hour(minutes, size, folder, loop_s)
    encoded_s, built_s = hour["encoded_s"], hour["built_s"]
    made, steady, filled = hour["made"], hour["steady"], hour["filled"]
    ev_root = os.path.join(folder, "evidence")
    out = os.path.join(folder, "recording.mp4")
    copy = os.path.join(folder, "copy.mp4")
    export_runs: list = []
    copy_runs: list = []
    fresh: dict = {"this": [], "against": []}  # (wall, CPU) of each, in fresh processes
    other = os.path.join(folder, "against.mp4")
    note: dict = {}
    for i in range(rounds):
        # Each writes a new file on a settled file system: the file it replaces is removed
        # before it, untimed, and so are the copy's (removing a 1.2 GB file drops its pages
        # and, with ``discard``, trims its blocks at the next commit, which the next fsync
        # would otherwise wait for).
        settle(out)
        wall, cpu, note = timed(lambda: export_recording(ev_root, DEVICE, None, out, "bench"))
        export_runs.append((wall, cpu))
        if against:
            # Which goes first alternates, so neither always follows the other.
            for which in ("this", "against")[:: 1 if i % 2 == 0 else -1]:
                code = str(HERE) if which == "this" else against
                fresh[which].append(export_child(ev_root, other, code))
        settle(copy)
        warm(out)
        wall, cpu, _ = timed(lambda: copy_durably(out, copy))
        copy_runs.append((wall, cpu))
        settle(copy)
    size_bytes = os.path.getsize(out)
    verify_runs: list = []
    sha_runs: list = []
    state = ""
    for _ in range(rounds):
        wall, cpu, report = timed(lambda: verify_mp4(out))
        verify_runs.append((wall, cpu))
        state = report.state
        wall, cpu, _ = timed(lambda: sha256_file(out))
        sha_runs.append((wall, cpu))
    startup_s, _ = cli("--help")
    cli_export_s, export_rc = cli(
        "export", "--evidence", ev_root, "--device", DEVICE, "--out", out, "--extractor", "bench"
    )
    cli_verify_s, verify_rc = cli("verify", out)

    def med(runs: list, i: int) -> float:
        return statistics.median(r[i] for r in runs)

    compared = {}
    if against:
        compared = {
            "against": against,
            "this_wall_s": [r[0] for r in fresh["this"]],
            "this_cpu_s": med(fresh["this"], 1),
            "this_ratio": med(fresh["this"], 0) / med(copy_runs, 0),
            "against_wall_s": [r[0] for r in fresh["against"]],
            "against_cpu_s": med(fresh["against"], 1),
            "against_ratio": med(fresh["against"], 0) / med(copy_runs, 0),
        }
    return {
        "minutes": minutes,
        "size": "%dx%d" % size,
        "encode_minute_s": encoded_s,
        "build_s": built_s,
        "recording": made,
        "ledger": steady,
        "overhead_bps": 8 * steady["entry_bytes"] / made["seconds"],
        "overhead_digests_bps": 8 * steady["frame_digest_bytes"] / made["seconds"],
        "media_bps": 8 * filled["media_bytes"] / made["seconds"],
        "evidence": filled,
        "file_bytes": size_bytes,
        "chunks": len(note.get("chunks", [])),
        "rounds": rounds,
        "export_wall_s": [r[0] for r in export_runs],
        "copy_wall_s": [r[0] for r in copy_runs],
        "export_cpu_s": med(export_runs, 1),
        "copy_cpu_s": med(copy_runs, 1),
        "export_ratio": med(export_runs, 0) / med(copy_runs, 0),
        "verify_wall_s": [r[0] for r in verify_runs],
        "sha_wall_s": [r[0] for r in sha_runs],
        "verify_cpu_s": med(verify_runs, 1),
        "sha_cpu_s": med(sha_runs, 1),
        "verify_ratio": med(verify_runs, 0) / med(sha_runs, 0),
        "verify_state": state,
        "compared": compared,
        "cli": {
            "startup_s": startup_s,
            "export_s": cli_export_s,
            "export_exit": export_rc,
            "verify_s": cli_verify_s,
            "verify_exit": verify_rc,
        },
    }


# --- the report ----------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report_recording(p: dict) -> None:
    """Part 1: the 1080p30 recording."""
    s = p["summary"]
    clip = p["clip"]
    print(
        "1. sealcam record of a %s %d fps H.264 file (%d s, %.1f MB) + WAV: ultrafast H.264 + "
        "AAC, fMP4 chunks, signed, stored; pinned to CPU %d"
        % (clip["size"], FPS, clip["seconds"], clip["file_bytes"] / 1e6, p["cpu"])
    )
    print(
        "  %d frames (%d dropped), %d AAC frames (%d dropped), %d entries: %.2f s of footage "
        "in %.2f s wall, %.2f s CPU (medians of %d: %s s wall)"
        % (
            s["frames"],
            s["frames_dropped"],
            s["audio_frames"],
            s["audio_frames_dropped"],
            s["entries"],
            p["footage_s"],
            p["wall_s"],
            p["cpu_s"],
            p["rounds"],
            fmt_list(p["wall_runs_s"]),
        )
    )
    print(
        "  real-time factor %.2fx (wall, on the pinned CPU), %.2fx (per CPU second); "
        "goal >= %.1f on one core: %s (wall), %s (CPU)"
        % (
            p["rtf_wall"],
            p["rtf_cpu"],
            RTF_GOAL,
            met(p["rtf_wall"] >= RTF_GOAL),
            met(p["rtf_cpu"] >= RTF_GOAL),
        )
    )
    b = p["baseline"]
    print(
        "  baseline, the capture side alone (decode, overlay, H.264, AAC; nothing stored): "
        "%.2f s wall (%s), %.2f s CPU = %.2fx (wall), %.2fx (CPU); recording / baseline CPU %.3fx"
        % (
            b["wall_s"],
            fmt_list(b["wall_runs_s"]),
            b["cpu_s"],
            p["baseline_rtf_wall"],
            p["baseline_rtf_cpu"],
            p["cpu_ratio"],
        )
    )
    print(
        "  agent, main thread (run loop, recorder, packager, signing, store), all recordings: "
        "%.3f s CPU = "
        "%.2f%% of the process's CPU, %.2f%% of one core per footage second; goal < 2%%: %s"
        % (
            p["main_cpu_s"],
            100 * p["agent_share"],
            100 * p["agent_core_fraction"],
            met(p["agent_share"] < AGENT_SHARE_GOAL),
        )
    )
    print(
        "    of which the agent's work on the footage %.3f s (%.2f%%, %.2f%% of a core) and "
        "the run loop's turns %.3f s (%d turns, %.0f a second, %s us each)"
        % (
            p["agent_work_cpu_s"],
            100 * p["agent_work_share"],
            100 * p["agent_work_core_fraction"],
            p["loop_cpu_s"],
            p["loop_turns"],
            p["loop_turns_per_s"],
            "%.0f" % p["loop_us_per_turn"] if p["loop_us_per_turn"] is not None else "n/a",
        )
    )
    native = ", ".join("%s %.2f s" % kv for kv in sorted(p["native_threads_cpu_s"].items()))
    print(
        "  capture and microphone threads %.2f s CPU; other threads %.2f s (%s); by the "
        "baseline (medians): (recording - baseline) / recording = %.2f%%"
        % (p["capture_cpu_s"], p["other_cpu_s"], native or "none", 100 * p["share_by_baseline"])
    )
    for label, st in sorted(p["stages"].items(), key=lambda kv: -kv[1]["cpu_s"]):
        print("    %-17s %8.3f s CPU  %6d calls" % (label, st["cpu_s"], st["calls"]))
    sp = p["encoder_split"]
    print(
        "  encoder, CPU ms a frame (%d frames): PyAV colour conversion %.1f, libx264 %.1f; "
        "OpenCV's BGR to I420 + from_ndarray would take %.1f"
        % (sp["frames"], sp["pyav_conversion_ms"], sp["x264_ms"], sp["opencv_conversion_ms"])
    )


def report(r: dict) -> None:
    print("machine: %s" % r["machine"])
    print("load average before: %s, after: %s" % (r["load_before"], r["load_after"]))
    print("command: %s" % r["command"])
    print()
    p = r.get("recording")
    if p is not None:
        report_recording(p)
        print()
    h = r["hour"]
    hl = h["ledger"]
    print("2. signing overhead (every stored entry, events included, media excluded)")
    if p is not None:
        lg = p["ledger"]
        print(
            "  1080p30 run: %d entries, %d bytes in %.1f s: %.2f kbit/s (frame digests %.2f, "
            "signatures %d bytes); video %.1f Mbit/s; goal < 10 kbit/s: %s; Axis ~27 kbit/s"
            % (
                lg["entries"],
                lg["entry_bytes"],
                p["footage_s"],
                p["overhead_bps"] / 1000,
                p["overhead_digests_bps"] / 1000,
                lg["signature_bytes"],
                p["video_bps"] / 1e6,
                met(p["overhead_bps"] < OVERHEAD_GOAL_BPS),
            )
        )
    print(
        "  the %d-minute recording (30 fps, 1 s GOP): %d entries, %d bytes: %.2f kbit/s "
        "(frame digests %.2f); goal: %s"
        % (
            h["minutes"],
            hl["entries"],
            hl["entry_bytes"],
            h["overhead_bps"] / 1000,
            h["overhead_digests_bps"] / 1000,
            met(h["overhead_bps"] < OVERHEAD_GOAL_BPS),
        )
    )
    print()
    print(
        "3. export of a %d-minute recording (%s, %.2f Mbit/s with sound, %d chunks, %.1f MB; "
        "made in %.1f s + %.1f s)"
        % (
            h["minutes"],
            h["size"],
            h["media_bps"] / 1e6,
            h["chunks"],
            h["file_bytes"] / 1e6,
            h["encode_minute_s"],
            h["build_s"],
        )
    )
    print(
        "  export %s s wall (CPU %.2f s) vs copyfile + fsync %s s (CPU %.2f s): %.2fx; "
        "goal <= %.1fx: %s"
        % (
            fmt_list(h["export_wall_s"]),
            h["export_cpu_s"],
            fmt_list(h["copy_wall_s"]),
            h["copy_cpu_s"],
            h["export_ratio"],
            EXPORT_GOAL,
            met(h["export_ratio"] <= EXPORT_GOAL),
        )
    )
    if h.get("compared"):
        c = h["compared"]
        print(
            "  interleaved, each export in a fresh process: this code %s s (CPU %.2f s): %.2fx; "
            "the code in %s %s s (CPU %.2f s): %.2fx the copy"
            % (
                fmt_list(c["this_wall_s"]),
                c["this_cpu_s"],
                c["this_ratio"],
                c["against"],
                fmt_list(c["against_wall_s"]),
                c["against_cpu_s"],
                c["against_ratio"],
            )
        )
    print(
        "4. verify FILE.mp4 %s s wall (CPU %.2f s, %s) vs SHA-256 of the file %s s "
        "(CPU %.2f s): %.2fx; goal <= %.1fx: %s"
        % (
            fmt_list(h["verify_wall_s"]),
            h["verify_cpu_s"],
            h["verify_state"],
            fmt_list(h["sha_wall_s"]),
            h["sha_cpu_s"],
            h["verify_ratio"],
            VERIFY_GOAL,
            met(h["verify_ratio"] <= VERIFY_GOAL),
        )
    )
    c = h["cli"]
    print(
        "  CLI once each: sealcam export %.2f s (exit %d), sealcam verify %.2f s (exit %d); "
        "sealcam --help %.2f s"
        % (c["export_s"], c["export_exit"], c["verify_s"], c["verify_exit"], c["startup_s"])
    )


def fmt_list(values: list) -> str:
    return "/".join("%.2f" % v for v in values)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 s clip, 1-minute recording, one round"
    )
    ap.add_argument("--clip-seconds", type=int, default=0, help="the 1080p30 clip (default 10)")
    ap.add_argument("--minutes", type=int, default=0, help="the long recording (default 60)")
    ap.add_argument("--hour-size", default="", help="its picture size (default 1280x720)")
    ap.add_argument("--rounds", type=int, default=0, help="export/verify rounds (default 3)")
    ap.add_argument(
        "--clip-rounds",
        type=int,
        default=0,
        help="recordings and baselines of the clip (default 2)",
    )
    ap.add_argument(
        "--cpu",
        type=int,
        default=-1,
        help="the CPU to pin part 1 to (default: the last this process may use)",
    )
    ap.add_argument(
        "--hour-only", action="store_true", help="parts 3 and 4 only: the hour's export, verify"
    )
    ap.add_argument(
        "--keep",
        default="",
        help="make the hour's recording in this folder and keep it; a later run with the same "
        "--minutes and --hour-size measures it again without making it",
    )
    ap.add_argument(
        "--against",
        default="",
        help="a checkout of other code (the code before a change): its export is timed in the "
        "same rounds, interleaved with this code's, each in a fresh process",
    )
    args = ap.parse_args()
    if args.against:
        args.against = os.path.abspath(args.against)
        if not os.path.isfile(os.path.join(args.against, "host", "export.py")):
            ap.error("--against takes a checkout of sealcam (a folder holding host/export.py)")
    clip = args.clip_seconds or (2 if args.quick else 10)
    minutes = args.minutes or (1 if args.quick else 60)
    rounds = args.rounds or (1 if args.quick else 3)
    clip_rounds = args.clip_rounds or (1 if args.quick else 2)
    size_text = args.hour_size or ("320x180" if args.quick else "1280x720")
    try:
        w, h = (int(x) for x in size_text.lower().split("x"))
    except ValueError:
        ap.error("--hour-size takes WIDTHxHEIGHT, such as 640x360")
    if clip < 2 or minutes < 1 or rounds < 1 or clip_rounds < 1 or w < 16 or h < 16:
        ap.error("give at least a 2 s clip, 1 minute, 1 round and 16x16 pictures")
    allowed = sorted(os.sched_getaffinity(0))
    cpu = args.cpu if args.cpu >= 0 else allowed[-1]
    if cpu not in allowed:
        ap.error("CPU %d is not one this process may use (%s)" % (cpu, allowed))
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        "load_before": load(),
    }
    with tempfile.TemporaryDirectory(prefix="sealcam-footage-bench-") as tmp:
        if not args.hour_only:
            results["recording"] = bench_recording(clip, cpu, tmp, clip_rounds)
        hour_dir = args.keep or os.path.join(tmp, "hour")
        results["hour"] = bench_hour(
            minutes, (w, h), rounds, hour_dir, 10 if args.quick else 60, args.against
        )
    results["load_after"] = load()
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
