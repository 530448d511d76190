"""Sync benchmark: device-to-host sessions over serial and TCP, each beside a same-run baseline.

    .venv/bin/python tools/bench/sync_bench.py [--json] [--seconds S] [--large-seconds L]

Each device store is recorded by the real agent (``firmware.agent.boot``, PyNaCl signer, fsync
per record) from S seconds (default 10) of synthetic 30 fps video at 2 Mbit/s (8,333-byte
random frames, a keyframe a second, so 1 s chunks of ~250 kB): about 2.5 MB of media plus
its ledger per device at S = 10. A docking session in service carries a shift's footage,
so figure 2 is also taken on a larger store: L seconds (default 60) at 8 Mbit/s (33,333-byte
frames, 1 s chunks of ~1 MB), about 60 MB. Every session starts from a fresh copy of the
store and a fresh evidence store (``SqliteEvidenceStore``: WAL, synchronous=FULL, media
synced and named before the receipt). The device end (``DeviceLink``) runs in a child
process, so the host's figures do not share an interpreter lock with it.

Figures:
1. Serial goodput. Two pseudo-terminals joined by a relay (its own process) that delivers
   each direction at 921600 baud 8N1 (92,160 bytes/s): bytes are read in pieces of at most
   64 and handed on when the line would have finished sending them, on a monotonic clock.
   The host uses pyserial (``SerialTransport``), the device pyserial on the other end.
   Goodput = (ledger entry bytes + media bytes the host stored) / session wall time, as a
   share of the line rate. Anchor: Zephyr SMP, 30 KiB/s with console framing and 40 KiB/s
   raw at 921600 baud (33% and 44%). Goal: 95%. The rest is broken down from the bytes the
   relay saw on the wire (decoded again after the run): framing (COBS, CRC, delimiter),
   message headers, control messages, and line idle time, set beside the host's own time
   storing entries and media (media pulls are pipelined, so this overlaps the transfer).
2. Host ingest over loopback TCP: one full ``HostLink`` session (verify, store, fsync,
   receipt) against the device over a real loopback connection, against a baseline of
   copying the device store's files (ledger segments + media) into one new file, fsync, and
   ``sha256sum`` on it (a subprocess). Goal: within 1.5x the baseline. Median of 5 runs,
   ours and the baseline taken in turn; for both store sizes.
3. Sixteen devices at once: 16 device stores synced concurrently over loopback TCP into one
   evidence store, one host thread per connection (as ``host/daemon.py`` does), aggregate
   throughput and its ratio to the single device of figure 2.
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import serial
from common import T0_MS, VirtualClock, machine

from firmware.agent import Agent, boot
from firmware.hal import Camera, Clock
from firmware.link import DeviceLink
from firmware.ports.transports import SerialTransport, SocketTransport, Transport
from firmware.store import Store
from host.evidence import SqliteEvidenceStore
from host.sync import HostLink
from protocol import framing
from protocol.keys import DeviceKey, encode_key
from protocol.ledger import media_digest, parse_entry
from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME
from protocol.registry import KIND_CHUNK
from protocol.signer import make_signer

HOST_SEED = bytes(range(50, 82))
HOST_KID = "agency-host-bench"
OFFICER = "P-0001"

FPS = 30
VIDEO_BPS = 2_000_000
FRAME_BYTES = VIDEO_BPS // 8 // FPS
LARGE_VIDEO_BPS = 8_000_000

BAUD = 921600
LINE_RATE = BAUD // 10  # 8N1: ten bits on the wire per byte
PIECE = 64  # bytes the relay hands on at once (0.7 ms of line time)
SERIAL_GOAL = 0.95
SMP_CONSOLE = 30 * 1024
SMP_RAW = 40 * 1024
INGEST_GOAL = 1.5
DEVICES = 16
REPEATS = 5  # one-device TCP sessions and baselines, median taken


def device_id(n: int) -> str:
    return "SC-BENCH-%04d" % n


def device_seed(n: int) -> bytes:
    return hashlib.sha256(b"sync-bench device %d" % n).digest()


class RunningClock(Clock):
    """The real monotonic clock, so the link's idle limits work during a session."""

    def wall_ms(self) -> int:
        return T0_MS + int(time.monotonic() * 1000)

    def mono_ms(self) -> int:
        return int(time.monotonic() * 1000)


class NoCamera(Camera):
    """A working camera whose frames the benchmark feeds itself."""

    def read(self, overlay: str) -> tuple | None:
        return None


def host_key_file(folder: str) -> str:
    """The host's signing key (HOST_KID, HOST_SEED) written into ``folder`` as ``sealcam sync
    --host-key`` reads it; the file's path."""
    path = os.path.join(folder, "host.key")
    host = DeviceKey(HOST_KID, make_signer(HOST_SEED).public_key(), HOST_SEED)
    Path(path).write_bytes(encode_key(host))
    return path


def record_store(path: str, n: int, seconds: int, frame_bytes: int = FRAME_BYTES) -> None:
    """Record ``seconds`` of random 1 s-GOP video into a new device store."""
    clock = VirtualClock()
    agent = boot(path, make_signer(device_seed(n)), device_id(n), OFFICER, clock, NoCamera())
    agent.input("press_record")
    frames = seconds * FPS + 1
    for i in range(frames):
        clock.ms = i * 1000 // FPS
        agent.input("frame", os.urandom(frame_bytes), i % FPS == 0)
    clock.ms = frames * 1000 // FPS
    agent.input("press_stop")
    agent.store.close()


def record_stores(folder: str, devices: int, seconds: int, frame_bytes: int = FRAME_BYTES) -> list:
    """``devices`` device stores, each of ``seconds`` (``record_store``), in
    ``folder/master-NN``: ``[(n, path)]``."""
    masters = []
    for n in range(devices):
        path = "%s/master-%02d" % (folder, n)
        record_store(path, n, seconds, frame_bytes)
        masters.append((n, path))
    return masters


def store_payload(path: str) -> dict:
    """Ledger entry bytes and media bytes a device store holds."""
    store = Store(path)
    entries = entry_bytes = media = media_bytes = 0
    for raw in store.entries():
        entries += 1
        entry_bytes += len(raw)
        e = parse_entry(raw)
        if e.kind == KIND_CHUNK:
            digest = media_digest(e.fields)
            media += 1
            media_bytes += len(store.read_media(digest))
    store.close()
    return {
        "entries": entries,
        "entry_bytes": entry_bytes,
        "media": media,
        "media_bytes": media_bytes,
        "file_bytes": sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()),
    }


def open_device(path: str, n: int, transport: Transport, serial_link: bool) -> tuple:
    agent: Agent = boot(
        path, make_signer(device_seed(n)), device_id(n), OFFICER, RunningClock(), NoCamera()
    )
    pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
    # A terminal on a fast link offers the largest frame; a serial link keeps the default.
    frame = DEFAULT_MAX_FRAME if serial_link else MAX_FRAME
    link = DeviceLink(
        agent,
        make_signer(device_seed(n)),
        pinned,
        transport,
        serial_link,
        os.urandom,
        max_frame=frame,
    )
    return agent, link


# --- the device process -------------------------------------------------------------------


def device_serial(path: str, n: int, port_name: str, ready: Any, go: Any) -> None:
    port = serial.Serial(port_name, baudrate=BAUD, timeout=0.05)
    agent, link = open_device(path, n, SerialTransport(port), True)
    ready.set()
    go.wait()
    link.run()
    port.close()
    agent.store.close()


def device_tcp(paths: list, address: tuple, ready: Any, go: Any) -> None:
    pairs = []
    for n, path in paths:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        pairs.append((sock, *open_device(path, n, SocketTransport(sock), False)))
    ready.set()
    go.wait()

    def serve(sock: socket.socket, link: DeviceLink) -> None:
        sock.connect(address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.run()
        sock.close()

    threads = [threading.Thread(target=serve, args=(s, link)) for s, _, link in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _, agent, _ in pairs:
        agent.store.close()


# --- the paced relay ----------------------------------------------------------------------


def pace(src: int, dst: int, stop: Any, capture: bool, out: Any) -> None:
    """Hand bytes from ``src`` to ``dst`` no faster than the line rate."""
    # A token bucket one piece deep: ``done`` is when the line finishes what it has been
    # given so far; a line idle for less than one piece's time keeps its pace, so the
    # relay's own sleep overshoot is not counted as idle line.
    slack = PIECE / LINE_RATE
    done = time.monotonic()
    wire = bytearray()
    total = 0
    idle_spells = 0
    idle_s = 0.0
    long_gaps: list = []  # idle spells over 5 ms: round trips and stalls, not jitter
    while not stop.is_set():
        ready, _, _ = select.select([src], [], [], 0.05)
        if not ready:
            continue
        try:
            data = os.read(src, PIECE)
        except OSError:
            break
        now = time.monotonic()
        if now - done > slack:
            idle_spells += 1
            idle_s += now - done
            if now - done > 0.005:
                long_gaps.append(now - done)
            done = now - slack
        done += len(data) / LINE_RATE
        delay = done - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        view = memoryview(data)
        while view:
            view = view[os.write(dst, view) :]
        total += len(data)
        if capture:
            wire += data
    out.send(
        {
            "bytes": total,
            "idle_spells": idle_spells,
            "idle_s": idle_s,
            "long_gaps": long_gaps,
            "wire": bytes(wire),
        }
    )


def relay(a_master: int, b_master: int, stop: Any, a_out: Any, b_out: Any) -> None:
    """Two directions, one thread each: a -> b is the host's, b -> a the device's."""
    t1 = threading.Thread(target=pace, args=(a_master, b_master, stop, False, a_out))
    t2 = threading.Thread(target=pace, args=(b_master, a_master, stop, True, b_out))
    t1.start()
    t2.start()
    t1.join()
    t2.join()


# --- the host side ------------------------------------------------------------------------


class TimedWriter:
    """A media writer whose time (hashing and writing each piece) is counted."""

    def __init__(self, inner: Any, count: Any) -> None:
        self.inner = inner
        self.count = count

    def write(self, data: bytes) -> None:
        t = time.perf_counter()
        self.inner.write(data)
        self.count("media", t, calls=0)

    def finish(self) -> object:
        t = time.perf_counter()
        try:
            return self.inner.finish()
        finally:
            self.count("media", t)

    def discard(self) -> None:
        self.inner.discard()


class TimedEvidence(SqliteEvidenceStore):
    """The evidence store, with the wall time spent in its writes counted."""

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        self.times = {"add_entries": 0.0, "media": 0.0, "make_durable": 0.0}
        self.calls = {"add_entries": 0, "media": 0, "make_durable": 0}
        self.count_lock = threading.Lock()

    def _count(self, what: str, since: float, calls: int = 1) -> None:
        with self.count_lock:
            self.times[what] += time.perf_counter() - since
            self.calls[what] += calls

    def add_entries(self, device_id: str, entries: list, received_ms: int) -> int:
        t = time.perf_counter()
        try:
            return super().add_entries(device_id, entries, received_ms)
        finally:
            self._count("add_entries", t)

    def begin_media(self, digest: bytes) -> Any:
        return TimedWriter(super().begin_media(digest), self._count)

    def make_durable(self, staged: list) -> None:
        t = time.perf_counter()
        try:
            super().make_durable(staged)
        finally:
            self._count("make_durable", t)


def new_evidence(root: str, devices: list) -> TimedEvidence:
    ev = TimedEvidence(root)
    for n in devices:
        ev.enrol(device_id(n), make_signer(device_seed(n)).public_key())
    return ev


def stored_payload(ev: SqliteEvidenceStore, n: int) -> tuple:
    entry_bytes = media_bytes = 0
    for raw in ev.entries(device_id(n)):
        entry_bytes += len(raw)
        e = parse_entry(raw)
        if e.kind == KIND_CHUNK:
            digest = media_digest(e.fields)
            media_bytes += len(ev.read_media(digest))
    return entry_bytes, media_bytes


def copy_store(src: str, dst: str) -> str:
    shutil.copytree(src, dst)
    return dst


def bench_serial(master: str, tmp: str) -> dict:
    ctx = multiprocessing.get_context("fork")
    dev = copy_store(master, tmp + "/serial-dev")
    ev = new_evidence(tmp + "/serial-ev", [0])
    a_master, a_slave = os.openpty()
    b_master, b_slave = os.openpty()
    a_name, b_name = os.ttyname(a_slave), os.ttyname(b_slave)
    host_port = serial.Serial(a_name, baudrate=BAUD, timeout=0.05)
    stop = ctx.Event()
    a_recv, a_send = ctx.Pipe(False)
    b_recv, b_send = ctx.Pipe(False)
    relay_proc = ctx.Process(target=relay, args=(a_master, b_master, stop, a_send, b_send))
    relay_proc.start()
    ready, go = ctx.Event(), ctx.Event()
    device = ctx.Process(target=device_serial, args=(dev, 0, b_name, ready, go))
    device.start()
    ready.wait(60)
    link = HostLink(ev, make_signer(HOST_SEED), HOST_KID, SerialTransport(host_port), True)
    go.set()
    t0 = time.perf_counter()
    summary = link.run()
    wall = time.perf_counter() - t0
    device.join(30)
    stop.set()
    host_wire, device_wire = a_recv.recv(), b_recv.recv()
    relay_proc.join(10)
    host_port.close()
    for fd in (a_master, b_master, a_slave, b_slave):
        os.close(fd)
    entry_bytes, media_bytes = stored_payload(ev, 0)
    times, calls = dict(ev.times), dict(ev.calls)
    ev.close()

    # Decode the device's bytes on the wire again: framing = wire - bodies.
    decoder = framing.SerialDecoder(framing.DEFAULT_MAX_BODY + 1024)
    bodies = [v for k, v in decoder.feed(device_wire["wire"]) if k == framing.BODY]
    body_bytes = sum(len(b) for b in bodies)
    wire = device_wire["bytes"]
    payload = entry_bytes + media_bytes
    big = [b for b in bodies if len(b) > 1024]
    line_busy = wire / LINE_RATE
    return {
        "result": summary["result"],
        "wall_s": wall,
        "entry_bytes": entry_bytes,
        "media_bytes": media_bytes,
        "media_pulls": summary["media_stored"],
        "payload_bytes": payload,
        "goodput_Bps": payload / wall,
        "line_rate_Bps": LINE_RATE,
        "share_of_line": payload / wall / LINE_RATE,
        "device_wire_bytes": wire,
        "host_wire_bytes": host_wire["bytes"],
        "frames_device_to_host": len(bodies),
        "data_frames": len(big),
        "body_bytes": body_bytes,
        "framing_bytes": wire - body_bytes,
        "header_bytes": sum(len(b) for b in big) - payload,
        "control_bytes": sum(len(b) for b in bodies if len(b) <= 1024),
        "line_busy_s": line_busy,
        "line_idle_s": wall - line_busy,
        "line_idle_spells": device_wire["idle_spells"],
        "line_idle_relay_s": device_wire["idle_s"],
        "line_long_gaps": len(device_wire["long_gaps"]),
        "line_long_gaps_s": sum(device_wire["long_gaps"]),
        "line_longest_gap_s": max(device_wire["long_gaps"], default=0.0),
        "host_add_entries_s": times["add_entries"],
        "host_add_entries_calls": calls["add_entries"],
        "host_media_s": times["media"],
        "host_media_calls": calls["media"],
        "host_make_durable_s": times["make_durable"],
    }


def tcp_session(stores: list, tmp: str, tag: str) -> dict:
    """Sync ``stores`` ([(n, path)]) at once over loopback TCP; one host thread each."""
    ctx = multiprocessing.get_context("fork")
    ev = new_evidence("%s/%s-ev" % (tmp, tag), [n for n, _ in stores])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(len(stores))
    ready, go = ctx.Event(), ctx.Event()
    device = ctx.Process(target=device_tcp, args=(stores, listener.getsockname(), ready, go))
    device.start()
    ready.wait(120)
    results: list = []
    lock = threading.Lock()

    def serve(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        summary = HostLink(ev, make_signer(HOST_SEED), HOST_KID, SocketTransport(conn), False).run()
        conn.close()
        with lock:
            results.append(summary)

    threads = []
    go.set()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for _ in stores:
        conn, _ = listener.accept()
        t = threading.Thread(target=serve, args=(conn,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    device.join(30)
    listener.close()
    entry_bytes = media_bytes = 0
    for n, _ in stores:
        e, m = stored_payload(ev, n)
        entry_bytes += e
        media_bytes += m
    times, calls = dict(ev.times), dict(ev.calls)
    ev.close()
    payload = entry_bytes + media_bytes
    return {
        "devices": len(stores),
        "results": sorted({r["result"] for r in results}),
        "wall_s": wall,
        "entry_bytes": entry_bytes,
        "media_bytes": media_bytes,
        "payload_bytes": payload,
        "throughput_Bps": payload / wall,
        "host_cpu_s": cpu,
        "host_cpu_share": cpu / wall,
        "host_add_entries_s": times["add_entries"],
        "host_add_entries_calls": calls["add_entries"],
        "host_media_s": times["media"],
        "host_media_calls": calls["media"],
        "host_make_durable_s": times["make_durable"],
    }


def baseline_copy_hash(store: str, tmp: str) -> dict:
    """The device store's files into one new file, fsync, then ``sha256sum`` on it."""
    files = sorted(p for p in Path(store).rglob("*") if p.is_file())
    out = tmp + "/baseline.bin"
    t0 = time.perf_counter()
    with open(out, "wb") as f:
        for p in files:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)
        f.flush()
        os.fsync(f.fileno())
    digest = subprocess.run(
        ["sha256sum", out], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    wall = time.perf_counter() - t0
    size = os.path.getsize(out)
    os.unlink(out)
    return {"bytes": size, "wall_s": wall, "sha256": digest}


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def ingest(master: str, tmp: str, tag: str) -> dict:
    """Figure 2 for one device store: REPEATS sessions and baselines in turn, medians."""
    ones, bases = [], []
    for i in range(REPEATS):
        dev = copy_store(master, "%s/%s-dev-%d" % (tmp, tag, i))
        ones.append(tcp_session([(0, dev)], tmp, "%s-%d" % (tag, i)))
        shutil.rmtree(dev)
        shutil.rmtree("%s/%s-%d-ev" % (tmp, tag, i))  # a large store is not kept five times
        bases.append(baseline_copy_hash(master, tmp))
    one = sorted(ones, key=lambda x: x["wall_s"])[REPEATS // 2]
    base = sorted(bases, key=lambda x: x["wall_s"])[REPEATS // 2]
    one["wall_s_all"] = [x["wall_s"] for x in ones]
    base["wall_s_all"] = [x["wall_s"] for x in bases]
    return {
        "device_store": store_payload(master),
        "tcp_one": one,
        "baseline": base,
        "ingest_ratio": one["wall_s"] / base["wall_s"],
    }


def run(seconds: int, large_seconds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="sealcam-sync-bench-") as tmp:
        t = time.perf_counter()
        masters = [path for _n, path in record_stores(tmp, DEVICES, seconds)]
        record_s = time.perf_counter() - t
        large_master = tmp + "/master-large"
        record_store(large_master, 0, large_seconds, LARGE_VIDEO_BPS // 8 // FPS)
        ser = bench_serial(masters[0], tmp)
        small = ingest(masters[0], tmp, "tcp1")
        large = ingest(large_master, tmp, "tcp1-large")
        large.update(seconds=large_seconds, frame_bytes=LARGE_VIDEO_BPS // 8 // FPS)
        shutil.rmtree(large_master)
        many_stores = [
            (n, copy_store(p, "%s/tcp16-dev-%02d" % (tmp, n))) for n, p in enumerate(masters)
        ]
        many = tcp_session(many_stores, tmp, "tcp16")
    one = small["tcp_one"]
    return {
        "machine": "%s, pyserial %s" % (machine(), serial.__version__),
        "seconds": seconds,
        "frame_bytes": FRAME_BYTES,
        "record_s": record_s,
        "device_store": small["device_store"],
        "serial": ser,
        "tcp_one": one,
        "baseline": small["baseline"],
        "ingest_ratio": small["ingest_ratio"],
        "large": large,
        "tcp_many": many,
        "scaling_ratio": many["throughput_Bps"] / one["throughput_Bps"],
    }


def report(r: dict) -> None:
    s, one, many, st = r["serial"], r["tcp_one"], r["tcp_many"], r["device_store"]
    print("machine: %s" % r["machine"])
    print(
        "device store: %d s of 30 fps video at %.1f Mbit/s (%d-byte frames, 1 s chunks): "
        "%d entries (%d bytes) + %d media (%d bytes); %d bytes of files"
        % (
            r["seconds"],
            VIDEO_BPS / 1e6,
            r["frame_bytes"],
            st["entries"],
            st["entry_bytes"],
            st["media"],
            st["media_bytes"],
            st["file_bytes"],
        )
    )
    print()
    print(
        "1. serial, 921600 baud 8N1 (line rate %d bytes/s), paced PTY relay, pyserial" % LINE_RATE
    )
    print(
        "  session %s: %d entry + %d media bytes in %.2f s = %.0f bytes/s (%.1f KiB/s) "
        "= %.1f%% of line rate"
        % (
            s["result"],
            s["entry_bytes"],
            s["media_bytes"],
            s["wall_s"],
            s["goodput_Bps"],
            s["goodput_Bps"] / 1024,
            100 * s["share_of_line"],
        )
    )
    print(
        "  anchor Zephyr SMP: 30 KiB/s console (%.0f%%), 40 KiB/s raw (%.0f%%) -> ours is "
        "%.2fx console, %.2fx raw; goal 95%% of line rate: %s"
        % (
            100 * SMP_CONSOLE / LINE_RATE,
            100 * SMP_RAW / LINE_RATE,
            s["goodput_Bps"] / SMP_CONSOLE,
            s["goodput_Bps"] / SMP_RAW,
            met(s["share_of_line"] >= SERIAL_GOAL),
        )
    )
    wall_bytes = s["wall_s"] * LINE_RATE
    idle = s["line_idle_s"] * LINE_RATE
    print(
        "  where the line's capacity (%.0f byte-times in the session) went, device -> host:"
        % wall_bytes
    )
    rows = [
        ("payload (entries + media)", s["payload_bytes"]),
        ("DATA message headers (%d DATA frames)" % s["data_frames"], s["header_bytes"]),
        (
            "control messages (%d small frames)" % (s["frames_device_to_host"] - s["data_frames"]),
            s["control_bytes"],
        ),
        ("serial framing: COBS + CRC + delimiter (measured on the wire)", s["framing_bytes"]),
        ("line idle (wall time minus the time the line was sending)", idle),
    ]
    for name, b in rows:
        print("    %-64s %9.0f bytes  %5.1f%%" % (name, b, 100 * b / wall_bytes))
    print(
        "  idle seen by the relay: %.2f s in %d spells longer than a %d-byte piece; %d spells "
        "over 5 ms (%.2f s, longest %.0f ms) for %d media pulls and one ledger pull"
        % (
            s["line_idle_relay_s"],
            s["line_idle_spells"],
            PIECE,
            s["line_long_gaps"],
            s["line_long_gaps_s"],
            1000 * s["line_longest_gap_s"],
            s["media_pulls"],
        )
    )
    print(
        "  host time inside the session: media hashed and written as it came %.3f s (%d "
        "files), made durable %.3f s, add_entries %.3f s (%d commits)"
        % (
            s["host_media_s"],
            s["host_media_calls"],
            s["host_make_durable_s"],
            s["host_add_entries_s"],
            s["host_add_entries_calls"],
        )
    )
    print("  host -> device on the wire: %d bytes (ACKs and requests)" % s["host_wire_bytes"])
    print()
    print(
        "2. host ingest, loopback TCP, one device (verify, store, fsync, receipt); median of %d"
        % REPEATS
    )
    report_ingest("%d s at %.0f Mbit/s" % (r["seconds"], VIDEO_BPS / 1e6), r)
    large = r["large"]
    st = large["device_store"]
    print(
        "  larger store: %d s of 30 fps video at %.0f Mbit/s (%d-byte frames): %d entries + "
        "%d media (%d bytes)"
        % (
            large["seconds"],
            LARGE_VIDEO_BPS / 1e6,
            large["frame_bytes"],
            st["entries"],
            st["media"],
            st["media_bytes"],
        )
    )
    report_ingest("%d s at %.0f Mbit/s" % (large["seconds"], LARGE_VIDEO_BPS / 1e6), large)
    print()
    print(
        "3. %d devices at once, loopback TCP, one evidence store, one host thread each"
        % many["devices"]
    )
    print(
        "  sessions %s: %d bytes in %.3f s = %.1f MB/s aggregate; one device alone %.1f MB/s "
        "-> %.2fx; host CPU %.0f%% of the wall time (2 cores = 200%%); summed over the host "
        "threads: media %.3f s (%d files), made durable %.3f s, add_entries %.3f s (%d commits, "
        "waits for the store's lock included)"
        % (
            ",".join(many["results"]),
            many["payload_bytes"],
            many["wall_s"],
            many["throughput_Bps"] / 1e6,
            one["throughput_Bps"] / 1e6,
            r["scaling_ratio"],
            100 * many["host_cpu_share"],
            many["host_media_s"],
            many["host_media_calls"],
            many["host_make_durable_s"],
            many["host_add_entries_s"],
            many["host_add_entries_calls"],
        )
    )


def report_ingest(name: str, r: dict) -> None:
    one, base = r["tcp_one"], r["baseline"]
    print(
        "  %s: session %s: %d bytes in %.3f s = %.1f MB/s (host CPU %.0f%% of the wall "
        "time; all runs %s); host media %.3f s (%d files), made durable %.3f s, add_entries "
        "%.3f s (%d commits)"
        % (
            name,
            ",".join(one["results"]),
            one["payload_bytes"],
            one["wall_s"],
            one["throughput_Bps"] / 1e6,
            100 * one["host_cpu_share"],
            " ".join("%.3f" % w for w in one["wall_s_all"]),
            one["host_media_s"],
            one["host_media_calls"],
            one["host_make_durable_s"],
            one["host_add_entries_s"],
            one["host_add_entries_calls"],
        )
    )
    print(
        "  %s: baseline: copy the store's %d bytes of files to one file, fsync, sha256sum: "
        "%.3f s = %.1f MB/s (all runs %s)"
        % (
            name,
            base["bytes"],
            base["wall_s"],
            base["bytes"] / base["wall_s"] / 1e6,
            " ".join("%.3f" % w for w in base["wall_s_all"]),
        )
    )
    print(
        "  %s: ours/baseline %.2fx; goal within %.1fx: %s"
        % (name, r["ingest_ratio"], INGEST_GOAL, met(r["ingest_ratio"] <= INGEST_GOAL))
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--seconds", type=int, default=10, help="seconds of footage per device store (chunks)"
    )
    ap.add_argument(
        "--large-seconds",
        type=int,
        default=60,
        help="seconds of 8 Mbit/s footage in the larger store of figure 2",
    )
    args = ap.parse_args()
    if args.seconds < 1 or args.large_seconds < 1:
        ap.error("--seconds and --large-seconds must be at least 1")
    results = run(args.seconds, args.large_seconds)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
