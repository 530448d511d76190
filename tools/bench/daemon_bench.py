"""Daemon under attack: its memory with 200 hostile connections open, and a legitimate dock's
time beside the same dock on an idle daemon, in the same run.

    .venv/bin/python tools/bench/daemon_bench.py [--json] [--seconds S] [--hostile N]
                                                 [--repeats R]

The daemon is ``sealcam sync --tcp 127.0.0.1:0`` in its own process, with its default
limits (``host.guard``), and a fresh evidence store for every dock. One device store is
recorded by the real agent from S seconds (default 10) of 30 fps video at 2 Mbit/s (as
``sync_bench.py``'s small store, about 2.5 MB); every dock starts from a fresh copy of it.
The device end (``DeviceLink`` over TCP) runs in this process.

Each repeat (default 5) docks twice, in turn: on an idle daemon, and on a daemon with N
(default 200) hostile connections open from another loopback address (127.0.0.2), held
open by an attacker process that reconnects each one the moment the daemon closes it. The
N are four kinds in equal parts: slowloris (most of a length prefix, then a byte every
second), idle (connect, send nothing), a 4 GB length prefix, and a flood of bad-CRC frames
(2000 a connection). The attack starts 2 s before the dock and goes on until it ends.

Figures: the daemon's RSS (``VmRSS``) while the N are open, just after the dock, and its
peak (``VmHWM``) over the daemon's life, against the idle daemon's; its threads; the
attack's connections and the daemon's log lines; and the dock time under attack against
the idle dock, median of the repeats. Goals: RSS under 64 MB; the dock within 1.5x.
"""

import argparse
import json
import multiprocessing
import shutil
import socket
import statistics
import sys
import tempfile
import time
from typing import Any

from common import DaemonProcess, machine
from sync_bench import device_id, device_seed, host_key_file, open_device, record_store

from firmware.ports.transports import SocketTransport
from host.evidence import SqliteEvidenceStore
from protocol import framing
from protocol.messages import MAX_FRAME
from protocol.signer import make_signer

ATTACKER = "127.0.0.2"  # another loopback address: the attack comes from another machine
RSS_GOAL_MB = 64.0
DOCK_GOAL = 1.5
LEAD_S = 2.0  # the attack runs this long before the dock starts
ATTACK_LIMIT_S = 120.0  # the attacker stops after this, whatever happens
KINDS = ("slowloris", "idle", "huge-length", "bad-crc")


def bad_crc_flood(n: int = 2000) -> bytes:
    out = []
    for i in range(n):
        frame = bytearray(framing.encode_stream(b"junk %d" % i, MAX_FRAME))
        frame[-1] ^= 0xFF
        out.append(bytes(frame))
    return b"".join(out)


# --- the attacker process -----------------------------------------------------------------


def attack(port: int, hostile: int, stop: Any, report: Any) -> None:
    """Keep ``hostile`` connections open against the daemon until ``stop``; every one the
    daemon closes is opened again at once. Bounded: ATTACK_LIMIT_S at most."""
    import selectors

    flood = bad_crc_flood()
    sel = selectors.DefaultSelector()
    opened = closed = 0
    conns: dict = {}  # socket -> (kind, next trickle time)

    def open_one(kind: str) -> None:
        nonlocal opened
        s = socket.socket()
        s.bind((ATTACKER, 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        opened += 1
        conns[s] = [kind, time.monotonic(), False]
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def drop(s: socket.socket) -> None:
        nonlocal closed
        kind = conns.pop(s)[0]
        sel.unregister(s)
        s.close()
        closed += 1
        open_one(kind)

    for i in range(hostile):
        open_one(KINDS[i % len(KINDS)])
    end = time.monotonic() + ATTACK_LIMIT_S
    while not stop.is_set() and time.monotonic() < end:
        for key, events in sel.select(0.05):
            s: Any = key.fileobj
            state = conns.get(s)
            if state is None:
                continue
            kind = state[0]
            try:
                if events & selectors.EVENT_READ and not s.recv(65536):
                    drop(s)
                    continue
                if events & selectors.EVENT_WRITE and not state[2]:
                    state[2] = True  # connected: say the opening words, once
                    first = {
                        "slowloris": b"\x00\x00\x01",
                        "idle": b"",
                        "huge-length": b"\xff\xff\xff\xff" + b"x" * 1000,
                        "bad-crc": flood,
                    }[kind]
                    if first:
                        s.send(first)
                    sel.modify(s, selectors.EVENT_READ)
            except BlockingIOError:
                pass
            except OSError:
                drop(s)
        now = time.monotonic()
        for s, state in list(conns.items()):
            if state[0] == "slowloris" and state[2] and now - state[1] >= 1.0:
                state[1] = now
                try:
                    s.send(b"\x00")
                except BlockingIOError:
                    pass
                except OSError:
                    drop(s)
    for s in list(conns):
        s.close()
    report.send({"opened": opened, "closed_by_daemon": closed})


# --- the dock, on an idle daemon or one under attack --------------------------------------


def dock(store: str, port: int) -> tuple:
    """One dock of the device store; (seconds, receipts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    agent, link = open_device(store, 1, SocketTransport(sock), False)
    t0 = time.perf_counter()
    sock.connect(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    link.run()
    seconds = time.perf_counter() - t0
    sock.close()
    agent.store.close()
    return seconds, list(link.receipts)


def one_dock(tmp: str, master: str, host_key: str, hostile: int, tag: str) -> dict:
    root = tmp + "/ev-" + tag
    ev = SqliteEvidenceStore(root)
    ev.enrol(device_id(1), make_signer(device_seed(1)).public_key())
    ev.close()
    store = tmp + "/dev-" + tag
    shutil.copytree(master, store)
    daemon = DaemonProcess(root, host_key)
    idle_status = daemon.status()
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    recv, send = ctx.Pipe(False)
    attacker = None
    try:
        if hostile:
            attacker = ctx.Process(target=attack, args=(daemon.port, hostile, stop, send))
            attacker.start()
            time.sleep(LEAD_S)  # the attack is under way before the dock (not a deadline)
        seconds, receipts = dock(store, daemon.port)
        under = daemon.status()
        # The host logs the session once its side is done; wait for it (a generous bound).
        end = time.monotonic() + 60
        while time.monotonic() < end and not daemon.session_logged(device_id(1)):
            time.sleep(0.01)
    finally:
        stop.set()
        attack_figures = recv.recv() if attacker is not None else {}
        if attacker is not None:
            attacker.join(30)
        final = daemon.status()
        daemon.stop()
    sessions = daemon.sessions()
    done = [s for s in sessions if s.get("device") == device_id(1) and s["result"] == "done"]
    return {
        "dock_s": seconds,
        "receipt": bool(receipts),
        "done": bool(done),
        "idle_rss_mb": idle_status["VmRSS"],
        "rss_mb": under["VmRSS"],
        "threads": under["Threads"],
        "peak_rss_mb": max(final["VmHWM"], under["VmRSS"]),
        "log_lines": len(daemon.lines),
        "log_bytes": daemon.log_bytes,
        "sessions": len(sessions),
        **attack_figures,
    }


def run(seconds: int, hostile: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        master = tmp + "/master"
        record_store(master, 1, seconds)
        host_key = host_key_file(tmp)
        idle: list = []
        attacked: list = []
        for r in range(repeats):
            idle.append(one_dock(tmp, master, host_key, 0, "idle-%d" % r))
            attacked.append(one_dock(tmp, master, host_key, hostile, "attack-%d" % r))
    idle_s = statistics.median(d["dock_s"] for d in idle)
    attack_s = statistics.median(d["dock_s"] for d in attacked)
    return {
        "machine": machine(),
        "seconds_of_footage": seconds,
        "hostile": hostile,
        "repeats": repeats,
        "idle": idle,
        "attacked": attacked,
        "idle_dock_s": idle_s,
        "attacked_dock_s": attack_s,
        "dock_ratio": attack_s / idle_s,
        "max_rss_mb": max(d["rss_mb"] for d in attacked),
        "max_peak_rss_mb": max(d["peak_rss_mb"] for d in attacked),
        "idle_peak_rss_mb": max(d["peak_rss_mb"] for d in idle),
        "all_docks_done": all(d["done"] and d["receipt"] for d in idle + attacked),
    }


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def report(r: dict) -> None:
    print("machine: %s" % r["machine"])
    print(
        "daemon with %d hostile connections (from %s), %d repeats, %d s of footage a dock"
        % (r["hostile"], ATTACKER, r["repeats"], r["seconds_of_footage"])
    )
    for d in r["attacked"]:
        print(
            "  attacked: dock %.3f s, RSS %.1f MB (peak %.1f), %d threads, %d attacker "
            "connections (%d closed by the daemon), %d log lines (%d bytes)"
            % (d["dock_s"], d["rss_mb"], d["peak_rss_mb"], d["threads"], d["opened"],
               d["closed_by_daemon"], d["log_lines"], d["log_bytes"])
        )  # fmt: skip
    for d in r["idle"]:
        print(
            "  idle:     dock %.3f s, RSS %.1f MB (peak %.1f)"
            % (d["dock_s"], d["rss_mb"], d["peak_rss_mb"])
        )
    rss_met = r["max_peak_rss_mb"] < RSS_GOAL_MB
    dock_met = r["dock_ratio"] <= DOCK_GOAL
    print(
        "peak RSS under attack %.1f MB (idle daemon's peak %.1f MB): goal under %d MB: %s"
        % (r["max_peak_rss_mb"], r["idle_peak_rss_mb"], RSS_GOAL_MB, _met(rss_met))
    )
    print(
        "dock under attack %.3f s against %.3f s idle (medians): %.2fx: goal within %.1fx: %s"
        % (r["attacked_dock_s"], r["idle_dock_s"], r["dock_ratio"], DOCK_GOAL,
           _met(dock_met))
    )  # fmt: skip
    print("every dock done with a receipt: %s" % r["all_docks_done"])


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--seconds", type=int, default=10, help="seconds of footage in the store")
    ap.add_argument("--hostile", type=int, default=200, help="hostile connections held open")
    ap.add_argument("--repeats", type=int, default=5, help="docks of each kind (median)")
    args = ap.parse_args()
    if args.seconds < 1 or args.hostile < 1 or args.repeats < 1:
        ap.error("--seconds, --hostile and --repeats must be at least 1")
    results = run(args.seconds, args.hostile, args.repeats)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
