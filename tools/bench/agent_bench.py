"""Agent benchmark: the firmware agent against its goals, each figure beside a same-run baseline.

    .venv/bin/python tools/bench/agent_bench.py [--json] [--seconds S]

The agent is booted on a store in a fresh temporary directory, with an fsync for every
record (``sync_every=1``) and the PyNaCl signer, and fed pre-generated synthetic encoded
video at 30 fps with a keyframe every 30 frames (1 s GOP, so 1 s chunks): 1080p30 at
~8 Mbit/s (33,333-byte frames) and 4K30 at ~40 Mbit/s (166,666-byte frames); a second
1080p30 run adds an audio block every 200 ms (64 kbit/s AAC, 1,600 bytes a block), as a
port that groups AAC frames into 200 ms blocks would deliver them. Frames carry virtual
timestamps 33.3 ms apart from an injected clock; nothing sleeps. S seconds of footage
(default 60) make S chunks per stream.

Figures:
1. Close-to-durable latency: the wall time (time.perf_counter) of the agent input that
   closes a chunk, from the call until it returns, which is after the store's append of the
   chunk entry and its media, fsync included, has returned. p50, p99 and max, against the
   baseline of writing the same chunk media bytes to a new file, fsync, and SHA-256 of them.
   Frames lost: capture is modelled as a queue of Q = 8 frames, and the agent's measured
   work runs on the virtual timeline from each frame's capture time. A frame is lost when,
   at its capture time, the work of the frames before it finishes more than Q frame
   intervals later (the queue would be full); a lost frame is not fed, and the drops are
   logged by the agent as an overrun event, as its capture queue does.
   Goals: p99 below one frame interval (33.3 ms); no frame lost at 4K30.
2. CPU: time.process_time over the whole recording (record press to stop, all inputs)
   divided by the footage's duration, against the same for the baseline. Goal at
   1080p30: under 2% of one core.
3. Signing overhead: the bytes of every ledger entry stored (events included, media not)
   per second of footage, in bit/s, video only and video + audio, beside Axis signed video
   (~27 kbit/s at 30 fps), and how much of it the per-frame digests (16 bytes each) take.
   Goal: below 12 kbit/s.
4. MicroPython (WebAssembly) with the pure-Python signer (tools/bench/mpy_agent.py, run
   under Node.js): the signer's cost per entry, the SigningCadence K that keeps up with
   1 s chunks, and the real-time factor of recorder + store + signer.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from typing import Any

from common import REPO, T0_MS, VirtualClock, machine, run_micropython

from firmware.agent import boot
from firmware.hal import Camera
from firmware.recorder import RECORDING, STORE, STREAM_VIDEO
from firmware.store import Store
from protocol import cbor
from protocol.ledger import parse_entry
from protocol.registry import F_FRAME_HASHES, KIND_CHUNK
from protocol.signer import make_signer

SEED = bytes(range(32))
DEVICE = "SC-BENCH-0001"
OFFICER = "P-0001"

FPS = 30
GOP = 30  # frames from keyframe to keyframe: a 1 s GOP, so 1 s chunks
FRAME_S = 1 / FPS
QUEUE = 8  # frames the capture queue holds
AUDIO_MS = 200  # one audio block every 200 ms
AUDIO_BPS = 64_000
AUDIO_BYTES = AUDIO_BPS // 8 * AUDIO_MS // 1000

LATENCY_GOAL_S = FRAME_S
CPU_GOAL = 0.02
OVERHEAD_GOAL_BPS = 12_000
AXIS_BPS = 27_000

STREAMS = (  # name, video bit/s, with audio
    ("1080p30", 8_000_000, False),
    ("1080p30+audio", 8_000_000, True),
    ("4K30", 40_000_000, False),
)


class FedCamera(Camera):
    """A working camera whose frames the benchmark feeds in itself (the self-check asks)."""

    def read(self, overlay: str) -> tuple | None:
        return None


class Footage:
    """Pre-generated encoded frames and audio blocks, so capture and encoding cost nothing.

    Every chunk starts with its own keyframe bytes, so no two chunks are the same bytes (the
    store keeps one copy of repeated media and would skip writes a real recording makes).
    """

    def __init__(self, bitrate: int, seconds: int, audio: bool) -> None:
        self.frame_bytes = bitrate // 8 // FPS
        self.frames = seconds * FPS + 1  # the last frame opens a chunk that the stop closes
        self.keyframes = [os.urandom(self.frame_bytes) for _ in range(seconds + 1)]
        self.others = [os.urandom(self.frame_bytes) for _ in range(GOP - 1)]
        self.duration_ms = self.frames * 1000 // FPS
        blocks = self.duration_ms // AUDIO_MS if audio else 0
        self.audio = [os.urandom(AUDIO_BYTES) for _ in range(blocks)]

    def frame(self, i: int) -> tuple:
        key = i % GOP == 0
        return (self.keyframes[i // GOP] if key else self.others[i % GOP - 1]), key

    def inputs(self) -> list:
        """``(mono_ms, is_video, index)`` in capture order (video first at equal times)."""
        out = [(i * 1000 // FPS, 0, i) for i in range(self.frames)]
        out += [(j * AUDIO_MS, 1, j) for j in range(len(self.audio))]
        out.sort()
        return out

    def chunks(self) -> list:
        """The media bytes of each video chunk, as the recorder joins them."""
        return [
            b"".join(self.frame(i)[0] for i in range(c * GOP, min(self.frames, (c + 1) * GOP)))
            for c in range(-(-self.frames // GOP))
        ]


def percentile(values: list, p: float) -> float:
    """The nearest-rank percentile ``p`` (0..100) of ``values``."""
    s = sorted(values)
    rank = max(1, -(-len(s) * p // 100))
    return s[int(rank) - 1]


def summary(values: list) -> dict:
    return {
        "n": len(values),
        "p50_ms": 1000 * percentile(values, 50),
        "p99_ms": 1000 * percentile(values, 99),
        "max_ms": 1000 * max(values),
    }


def run_agent(footage: Footage, root: str) -> dict:
    """Record the footage through a booted agent; time every input on the virtual timeline."""
    clock = VirtualClock()
    agent = boot(root, make_signer(SEED), DEVICE, OFFICER, clock, FedCamera(), sync_every=1)
    video_close: list = []
    audio_close: list = []
    busy = 0.0  # when, on the footage's timeline (s), the agent finishes the work so far
    max_lag = 0.0
    lost = 0
    drop: list = []  # [count, first_ms, last_ms] of frames lost since the last one fed
    inputs = footage.inputs()
    perf = time.perf_counter
    cpu0 = time.process_time()
    t = perf()
    agent.input("press_record")
    busy = perf() - t
    if agent.recorder.state != RECORDING:
        raise RuntimeError("the agent did not start recording: %s" % agent.recorder.status(0))
    for mono, is_audio, index in inputs:
        at = mono / 1000
        lag = busy - at
        if lag > max_lag:
            max_lag = lag
        if not is_audio and lag > QUEUE * FRAME_S:
            lost += 1
            if drop:
                drop[0] += 1
                drop[2] = T0_MS + mono
            else:
                drop = [1, T0_MS + mono, T0_MS + mono]
            continue
        clock.ms = mono
        start = perf()
        if drop:
            agent.input("overrun", drop[0], drop[1], drop[2], STREAM_VIDEO)
            drop = []
        if is_audio:
            actions = agent.input("audio", footage.audio[index])
        else:
            data, key = footage.frame(index)
            actions = agent.input("frame", data, key)
        took = perf() - start
        busy = max(busy, at) + took
        if any(a[0] == STORE and a[2] is not None for a in actions):
            (audio_close if is_audio else video_close).append(took)
    clock.ms = footage.duration_ms
    start = perf()
    agent.input("press_stop")
    stop_s = perf() - start
    cpu = time.process_time() - cpu0
    agent.store.close()
    return {
        "video_close": video_close,
        "audio_close": audio_close,
        "stop_s": stop_s,
        "cpu_s": cpu,
        "lost": lost,
        "max_lag_s": max_lag,
    }


def ledger_sizes(root: str) -> dict:
    """Bytes of every stored entry, of the chunk entries, and of their frame digests."""
    store = Store(root)
    total = chunk_bytes = digest_bytes = entries = chunks = digests = 0
    for raw in store.entries():
        entries += 1
        total += len(raw)
        e = parse_entry(raw)
        if e.kind != KIND_CHUNK:
            continue
        chunks += 1
        chunk_bytes += len(raw)
        digests += len(e.fields[F_FRAME_HASHES])
        digest_bytes += len(cbor.dumps(e.fields[F_FRAME_HASHES]))
    store.close()
    return {
        "entries": entries,
        "entry_bytes": total,
        "chunk_entries": chunks,
        "chunk_entry_bytes": chunk_bytes,
        "frame_digests": digests,
        "frame_digest_bytes": digest_bytes,
    }


def run_baseline(chunks: list, root: str) -> dict:
    """Raw durability of the same media: write to a new file, fsync, SHA-256 the bytes."""
    times = []
    cpu0 = time.process_time()
    for n, blob in enumerate(chunks):
        path = "%s/raw-%06d.bin" % (root, n)
        start = time.perf_counter()
        with open(path, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        hashlib.sha256(blob).digest()
        times.append(time.perf_counter() - start)
    return {"times": times, "cpu_s": time.process_time() - cpu0}


def bench_stream(name: str, bitrate: int, audio: bool, seconds: int) -> dict:
    footage = Footage(bitrate, seconds, audio)
    duration = footage.duration_ms / 1000
    with tempfile.TemporaryDirectory(prefix="sealcam-agent-bench-") as tmp:
        run = run_agent(footage, tmp + "/store")
        sizes = ledger_sizes(tmp + "/store")
        chunks = footage.chunks()
        base = run_baseline(chunks[:-1], tmp)  # the chunks a keyframe closed, as timed above
    ours = summary(run["video_close"])
    raw = summary(base["times"])
    bps = 8 * sizes["entry_bytes"] / duration
    out: dict[str, Any] = {
        "stream": name,
        "frame_bytes": footage.frame_bytes,
        "chunk_bytes": len(chunks[0]),
        "footage_s": duration,
        "close_latency": ours,
        "stop_latency_ms": 1000 * run["stop_s"],
        "baseline_latency": raw,
        "latency_ratio_p50": ours["p50_ms"] / raw["p50_ms"],
        "latency_ratio_p99": ours["p99_ms"] / raw["p99_ms"],
        "latency_goal_ms": 1000 * LATENCY_GOAL_S,
        "queue_frames": QUEUE,
        "frames": footage.frames,
        "frames_lost": run["lost"],
        "max_lag_ms": 1000 * run["max_lag_s"],
        "cpu_fraction": run["cpu_s"] / duration,
        "baseline_cpu_fraction": base["cpu_s"] / duration,
        "cpu_ratio": run["cpu_s"] / base["cpu_s"] if base["cpu_s"] > 0 else None,
        "ledger": sizes,
        "overhead_bps": bps,
        "overhead_chunks_only_bps": 8 * sizes["chunk_entry_bytes"] / duration,
        "overhead_digests_bps": 8 * sizes["frame_digest_bytes"] / duration,
        "overhead_vs_axis": bps / AXIS_BPS,
    }
    if audio:
        out["audio_close_latency"] = summary(run["audio_close"])
        out["audio_block_bytes"] = AUDIO_BYTES
    return out


def bench_micropython(seconds: int) -> dict:
    """Run mpy_agent.py under MicroPython (WebAssembly) and read its figures."""
    source = (REPO / "tools/bench/mpy_agent.py").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write("BENCH_SECONDS = %d\n" % seconds)
        f.write(source)
        script = f.name
    try:
        out = run_micropython(script)
    except RuntimeError as exc:
        return {"error": str(exc)}
    finally:
        os.unlink(script)
    line = next((s for s in out.splitlines() if s.startswith("mpy-agent ")), "")
    figures = dict(re.findall(r"(\w+)=([\d.]+)", line))
    if "rt_factor" not in figures:
        return {"error": "unexpected output: %r" % out}
    res: dict[str, Any] = {k: float(v) for k, v in figures.items()}
    for k in ("frame_bytes", "entries", "signed", "k_final", "k_max", "budget", "wall_ms"):
        res[k] = int(res[k])
    # K stays 1 while one signature costs at most budget% of the time between entries.
    allowed_ms = res["budget"] / 100 * res["entry_ms"]
    res["k1_headroom"] = allowed_ms / res["sign_ms_avg"] if res["sign_ms_avg"] > 0 else None
    res["sign_share"] = res["sign_ms_total"] / res["wall_ms"]
    return res


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(results: dict) -> None:
    print("machine: %s" % results["machine"])
    print(
        "setup: fsync per record (sync_every=1), PyNaCl signer, 1 s GOP (1 s chunks), "
        "virtual clock 33.3 ms/frame, capture queue Q = %d frames, %d s of footage per stream"
        % (QUEUE, results["seconds"])
    )
    print()
    print("1. chunk close -> signed and durable (input that closes a chunk, until it returns)")
    for s in results["streams"]:
        c, b = s["close_latency"], s["baseline_latency"]
        print(
            "  %-14s %7d-byte frames, %9d-byte chunks: p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms"
            "  (n=%d)"
            % (
                s["stream"],
                s["frame_bytes"],
                s["chunk_bytes"],
                c["p50_ms"],
                c["p99_ms"],
                c["max_ms"],
                c["n"],
            )
        )
        print(
            "  %-14s baseline write+fsync+sha256 of the same bytes: p50 %6.2f ms  p99 %6.2f ms"
            "  -> ours/baseline %.2fx (p50), %.2fx (p99)"
            % ("", b["p50_ms"], b["p99_ms"], s["latency_ratio_p50"], s["latency_ratio_p99"])
        )
        if "audio_close_latency" in s:
            a = s["audio_close_latency"]
            print(
                "  %-14s audio chunks (%d-byte blocks x 5): p50 %.2f ms  p99 %.2f ms  max %.2f ms"
                % ("", s["audio_block_bytes"], a["p50_ms"], a["p99_ms"], a["max_ms"])
            )
        print(
            "  %-14s stop (closes the last chunk, signs the stop): %.2f ms; "
            "frames lost %d of %d (max lag %.1f ms, drop at > %.0f ms); p99 goal < %.1f ms: %s"
            % (
                "",
                s["stop_latency_ms"],
                s["frames_lost"],
                s["frames"],
                s["max_lag_ms"],
                QUEUE * 1000 * FRAME_S,
                s["latency_goal_ms"],
                met(s["close_latency"]["p99_ms"] < s["latency_goal_ms"]),
            )
        )
    k4 = next(s for s in results["streams"] if s["stream"] == "4K30")
    print("  no frame lost at 4K30: %s" % met(k4["frames_lost"] == 0))
    print()
    print("2. agent CPU (process_time / footage time; capture and encoding excluded)")
    for s in results["streams"]:
        ratio = s["cpu_ratio"]
        print(
            "  %-14s %.3f%% of one core; baseline write+fsync+sha256 %.3f%% -> %s"
            % (
                s["stream"],
                100 * s["cpu_fraction"],
                100 * s["baseline_cpu_fraction"],
                "%.2fx" % ratio if ratio is not None else "n/a",
            )
        )
    p = results["streams"][0]
    print("  goal at 1080p30 < 2%% of one core: %s" % met(p["cpu_fraction"] < CPU_GOAL))
    print()
    print("3. signing overhead (all stored entry bytes, events included, media excluded)")
    for s in results["streams"][:2]:
        lg = s["ledger"]
        print(
            "  %-14s %5d entries, %7d bytes in %.1f s: %6.0f bit/s (chunk entries alone %6.0f)"
            " = %.0f%% of Axis ~27 kbit/s; goal < 12 kbit/s: %s"
            % (
                s["stream"],
                lg["entries"],
                lg["entry_bytes"],
                s["footage_s"],
                s["overhead_bps"],
                s["overhead_chunks_only_bps"],
                100 * s["overhead_vs_axis"],
                met(s["overhead_bps"] < OVERHEAD_GOAL_BPS),
            )
        )
        print(
            "  %-14s of which the %d frame digests (16 bytes each): %6.0f bit/s"
            % ("", lg["frame_digests"], s["overhead_digests_bps"])
        )
    print()
    mp = results["micropython"]
    print("4. MicroPython (WebAssembly), pure-Python Ed25519, recorder + store, 1 s chunks")
    if "error" in mp:
        print("  %s" % mp["error"])
        return
    print(
        "  %.0f s of 30 fps footage (%d-byte frames): %d entries, %d signed; "
        "signature %.1f ms average, %d ms max"
        % (
            mp["seconds"],
            mp["frame_bytes"],
            mp["entries"],
            mp["signed"],
            mp["sign_ms_avg"],
            mp["sign_ms_max"],
        )
    )
    print(
        "  SigningCadence (budget %d%% of real time, %.0f ms between entries): K = %d "
        "(highest %d); K stays 1 until signing is %.0fx slower than here"
        % (mp["budget"], mp["entry_ms"], mp["k_final"], mp["k_max"], mp["k1_headroom"])
    )
    print(
        "  real-time factor: %.1fx (%.0f s of footage in %.2f s wall; signing %.0f%%, "
        "store %.0f%% of it)"
        % (
            mp["rt_factor"],
            mp["seconds"],
            mp["wall_ms"] / 1000,
            100 * mp["sign_share"],
            100 * mp["store_ms"] / mp["wall_ms"],
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--seconds", type=int, default=60, help="seconds of virtual footage per stream (chunks)"
    )
    args = ap.parse_args()
    if args.seconds < 2:
        ap.error("--seconds must be at least 2")
    results: dict[str, Any] = {
        "machine": machine(),
        "seconds": args.seconds,
        "streams": [bench_stream(n, b, a, args.seconds) for n, b, a in STREAMS],
        "micropython": bench_micropython(args.seconds),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
