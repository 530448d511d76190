#!/usr/bin/env python3
"""The review page's figures (issue 16), on loopback, against ``sealcam serve`` running as
its own process on a store made for the run:

- the dashboard's first look at once on a store the server never served, and, where its
  costly part (every device's compliance flags) comes after the page, how long until it is
  there (asked for every 50 ms, as the page's script asks); goal under 1 s;
- a ten-hour recording's page (36,000 one-second fragments, a pause with its spoken reason
  every hour, a GPS position on each chunk): its first look at once, on a store the server
  never served (the page shown before its view is made, where the server has a preparer
  and fetches its timeline afterwards: how long until it is there), warm, after a
  restart, and the first look ever once the server has made the page ready
  (``host.web.prepare``: the bench waits until the view is kept); goal under 1 s;
- seeking: a range request for one fragment at a random place in the ten-hour file, timed
  to its last byte; goal p95 under 200 ms;
- 20 reviewers at once, each logged in, each going dashboard, search, a two-minute
  recording's page and two seeks in the ten-hour one, ROUNDS times (bounded in count, and
  in time by DEADLINE_S); goal p95 page time under 300 ms.

The store is made once (``--store DIR`` keeps it for the next run, about a minute's work);
each run serves a fresh copy of its database, its media linked. ``--ab BASE`` runs BASE's
``sealcam serve`` and this checkout's in interleaved rounds on the same store, with the load
average at each, and prints the medians side by side.

Run: .venv/bin/python tools/bench/web_bench.py [--hours 10] [--reviewers 20]
     [--store DIR] [--ab BASE_CHECKOUT --rounds 3]
"""

import argparse
import hashlib
import http.client
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from common import REPO, T0_MS, Server, h264_gop, machine

from host import access, items, people
from host.evidence import SqliteEvidenceStore
from protocol import mp4
from protocol.frames import frame_digest
from protocol.ledger import LedgerWriter
from protocol.registry import (
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    F_CHUNK_INDEX,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_GPS,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer

DEVICE = "SC-BENCH-1"
SEED = bytes(range(32))
OFFICER = "P-0427"
FPS = 10
SIZE = (160, 96)
PASSWORD = "reviewer password 1"
ROUNDS = 10
DEADLINE_S = 300.0
SEEKS = 50
SHORT = 30  # two-minute recordings: what the reviewers open


def one_second() -> "tuple[list, bytes]":
    """One GOP of H.264 (FPS frames), reused for every second of the recording."""
    pictures = []
    for i in range(FPS):
        # A smooth moving picture: small fragments, so ten hours fit a test machine's disk.
        img = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        img[:, :, 0] = np.linspace(0, 255, SIZE[0], dtype=np.uint8)[None, :]
        img[20:60, i * 8 : i * 8 + 40, :] = 255
        pictures.append(img)
    return h264_gop(SIZE, FPS, pictures)


class Recorder:
    """A device's ledger and media, written as its recorder would (unsigned chunks, signed
    events), a recording at a time, into the evidence store in batches."""

    def __init__(self, ev: SqliteEvidenceStore, device: str, seed: bytes, gop: tuple) -> None:
        self.ev, self.device = ev, device
        self.w = LedgerWriter(make_signer(seed), device)
        ev.enrol(device, make_signer(seed).public_key())
        self.samples, avcc = gop
        self.hashes = [frame_digest(s) for s, _ in self.samples]
        track = mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "avc1", avcc, width=SIZE[0], height=SIZE[1])
        self.init = mp4.init_segment([track])
        self.raws: list = []
        self.media: dict = {}
        self.size = 0
        self.at = 0  # ms from T0_MS

    def recording(self, seconds: int, pause_every: int) -> "tuple[str, int]":
        """One recording of ``seconds``, a pause (and its spoken reason) every
        ``pause_every`` seconds; its item id and its footage's size."""
        rec_id = self.w.seq.to_bytes(8, "big")
        size0 = self.size
        origin = self.at

        def event(code: int, at: int, extra: "dict | None" = None) -> None:
            fields = {F_EVENT: code, F_RECORDING: rec_id, F_OFFICER: OFFICER, **(extra or {})}
            self.raws.append(self.w.append(KIND_EVENT, fields, T0_MS + at, at, True))

        def chunk(index: int, data: bytes, kind: int, start: int, end: int, hashes: list):
            sha = hashlib.sha256(data).digest()
            lat, lon = 312_304_000 + index * 3, 1_214_737_000 + (index % 3600) * 2
            fields = {
                F_RECORDING: rec_id, F_CHUNK_INDEX: index, F_START_MS: T0_MS + start,
                F_END_MS: T0_MS + end, F_FRAME_HASHES: hashes, F_MEDIA_TYPE: kind,
                F_PLAIN_LEN: len(data), F_PLAIN_SHA: sha, F_GPS: [lat, lon, 8],
            }  # fmt: skip
            self.raws.append(self.w.append(KIND_CHUNK, fields, T0_MS + end, end))
            self.media[sha] = data
            self.size += len(data)
            if len(self.raws) >= 5000:
                self.flush()
            return sha

        event(EV_RECORD_START, self.at, {F_DETAIL: {"pre_frames": 0, "origin_mono": origin}})
        chunk(0, self.init, MEDIA_MP4_INIT, self.at, self.at, [])
        index = 1
        for second in range(seconds):
            if second and second % pause_every == 0:
                event(EV_PAUSE, self.at, {F_REASON: PAUSE_WEATHER})
                self.at += 60_000
                base = (self.at - origin) * 90
                run = [mp4.Run(1, base, [mp4.Sample(s, 9000, k) for s, k in self.samples[:2]])]
                sha = chunk(index, mp4.fragment(index, run), MEDIA_MP4, self.at, self.at + 2000, [])
                index += 1
                event(EV_RESUME, self.at + 2000, {F_REASON: PAUSE_WEATHER, F_SPOKEN: sha})
            base = (self.at - origin) * 90
            run = [mp4.Run(1, base, [mp4.Sample(s, 9000, k) for s, k in self.samples])]
            chunk(index, mp4.fragment(index, run), MEDIA_MP4, self.at, self.at + 1000, self.hashes)
            index += 1
            self.at += 1000
        event(EV_RECORD_STOP, self.at + 5)
        self.at += 600_000
        return "%s/%d" % (self.device, int.from_bytes(rec_id, "big")), self.size - size0

    def flush(self) -> None:
        self.ev.add_entries(self.device, self.raws, T0_MS + self.at + 60_000)
        self.raws = []
        staged = [self.ev.put_media(sha, data, defer=True) for sha, data in self.media.items()]
        self.ev.make_durable(staged)
        self.media = {}


def make_store(root: Path, hours: int, reviewers: int) -> "tuple[str, int]":
    """The store: one recording of ``hours`` hours, SHORT recordings of two minutes on a
    second device (what reviewers open), the reviewers' accounts; returns the long
    recording's item id and its footage's size in bytes."""
    gop = one_second()
    ev = SqliteEvidenceStore(root)
    long = Recorder(ev, DEVICE, SEED, gop)
    item, size = long.recording(hours * 3600, 3600)
    long.flush()
    short = Recorder(ev, DEVICE + "-2", bytes(range(1, 33)), gop)
    for _ in range(SHORT):
        short.recording(120, 60)
    short.flush()
    access.prepare(ev)
    with ev.write() as cur:
        items.refresh(cur)
        for n in range(reviewers):
            people.add_user(cur, "reviewer%d" % n, (people.LEGAL,), PASSWORD, 0)
    ev.close()
    return item, size


class Browser:
    """One reviewer: a connection and the session cookie, as a browser would hold them."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict = {}

    def request(self, method: str, path: str, body: "dict | None" = None,
                headers: "dict | None" = None) -> "tuple[int, bytes, float]":  # fmt: skip
        sent = dict(headers or {})
        sent["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        sent["Accept"] = "text/html"
        data = None
        if body is not None:
            data = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        self.conn.request(method, path, data, sent)
        r = self.conn.getresponse()
        content = r.read()
        took = time.perf_counter() - start
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0].strip('"')
        return r.status, content, took

    def log_in(self, name: str) -> None:
        _, page, _ = self.request("GET", "/login")
        found = re.search(rb'name="csrf" value="([^"]+)"', page)
        if found is None:
            raise RuntimeError("the login page has no form")
        token = found.group(1).decode()
        status, _, _ = self.request("POST", "/login", {"csrf": token, "name": name,
                                                       "password": PASSWORD})  # fmt: skip
        if status != 303:
            raise RuntimeError("login of %s failed: %d" % (name, status))


def p95(values: list) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


PREPARES = "host/web/prepare.py"  # a checkout with it makes views when a dock arrives


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=int, default=10)
    p.add_argument("--reviewers", type=int, default=20)
    p.add_argument(
        "--store",
        type=Path,
        help="keep the store made here, or use the one made "
        "there before (each run serves a fresh copy of its database)",
    )
    p.add_argument(
        "--code",
        type=Path,
        default=REPO,
        help="the checkout whose sealcam serve runs (default: this one)",
    )
    p.add_argument(
        "--ab",
        type=Path,
        metavar="BASE",
        help="interleaved rounds: BASE's serve, "
        "then --code's, each on a fresh copy of the same store",
    )
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        made = args.store or Path(tmp) / "made"
        if not (made / "evidence.db").exists():
            t = time.perf_counter()
            make_store(made, args.hours, args.reviewers)
            print("made the store: %d h recording, %.0f s"
                  % (args.hours, time.perf_counter() - t))  # fmt: skip
        item, size = the_long_one(made)
        print("store: %s, %s (%.1f MB of footage)" % (made, item, size / 1e6))
        sides = [("base", args.ab), ("new", args.code)] if args.ab else [("run", args.code)]
        rounds = args.rounds if args.ab else 1
        results: dict = {name: [] for name, _ in sides}
        for n in range(rounds):
            for name, code in sides:
                print("--- round %d, %s (%s), load average %s"
                      % (n + 1, name, code, load()), flush=True)  # fmt: skip
                results[name].append(one_run(Path(tmp), made, code, item, size, args))
        if args.ab:
            summary(results)
    print(machine())
    return 0


def load() -> str:
    return " ".join("%.2f" % v for v in os.getloadavg())


def the_long_one(made: Path) -> "tuple[str, int]":
    """The store's longest recording: its item id and its footage's size in bytes."""
    import sqlite3

    db = sqlite3.connect("file:%s?mode=ro" % (made / "evidence.db"), uri=True)
    try:
        item, size = db.execute(
            "SELECT item_id, size FROM items ORDER BY ended_ms - started_ms DESC LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    return item, size


def fresh_copy(tmp: Path, made: Path) -> Path:
    """A copy of the made store's database, never served, beside its media (linked, not
    copied: the footage is only read)."""
    store = Path(tempfile.mkdtemp(prefix="store-", dir=tmp))
    shutil.copyfile(made / "evidence.db", store / "evidence.db")
    (store / "media").symlink_to((made / "media").resolve())
    return store


def one_run(tmp: Path, made: Path, code: Path, item: str, size: int, args) -> dict:
    """Every figure for one checkout: the first look at once on a never-served copy, then
    warm, seeks, the dashboard and the reviewers; a look after a restart; and, where the
    checkout prepares views when docks arrive, the first look once it has."""
    page = "/recording/" + item
    store = fresh_copy(tmp, made)
    with Server(["--evidence", str(store)], code) as server:
        out = measure(server.port, item, size, args.reviewers, args.hours)
    with Server(["--evidence", str(store)], code) as server:
        b = Browser(server.port)
        b.log_in("reviewer0")
        status, _, first = b.request("GET", page)
        assert status == 200, status
        out["restart"] = first * 1000
        print("%d-hour page after a restart: first look %.0f ms" % (args.hours, first * 1000))
    shutil.rmtree(store)
    if (code / PREPARES).exists():
        store = fresh_copy(tmp, made)
        with Server(["--evidence", str(store)], code) as server:
            t = time.perf_counter()
            waited = prepared(store, item)
            out["prepared_s"] = time.perf_counter() - t
            b = Browser(server.port)
            b.log_in("reviewer0")
            status, _, first = b.request("GET", page)
            assert status == 200, status
            out["ready"] = first * 1000
            print("%d-hour page, first look ever once prepared (%s in %.1f s): %.0f ms"
                  % (args.hours, "made" if waited else "NOT made", out["prepared_s"],
                     first * 1000))  # fmt: skip
        shutil.rmtree(store)
    return out


def prepared(store: Path, item: str, bound_s: float = 300.0) -> bool:
    """Wait (at most ``bound_s``) until the server has kept ``item``'s view in the store."""
    import sqlite3

    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        try:
            db = sqlite3.connect("file:%s?mode=ro" % (store / "evidence.db"), uri=True)
            try:
                row = db.execute("SELECT 1 FROM web_views WHERE item_id = ?", (item,)).fetchone()
            finally:
                db.close()
            if row is not None:
                return True
        except sqlite3.Error:
            pass  # not made yet
        time.sleep(0.2)
    return False


def summary(results: dict) -> None:
    keys = [("cold", "first look at once"), ("timeline", "its timeline there after"),
            ("dashboard_cold", "dashboard first look"), ("flags", "its flags there after"),
            ("dashboard_warm", "dashboard warm median"), ("ready", "first look once prepared"),
            ("restart", "first look after a restart"), ("warm", "warm median"),
            ("seek_p95", "seek p95"), ("many_median", "reviewers median"),
            ("many_p95", "reviewers p95")]  # fmt: skip
    print("\nmedian of the rounds, ms: base / new (ratio)")
    for key, text in keys:
        base = [r[key] for r in results["base"] if key in r]
        new = [r[key] for r in results["new"] if key in r]
        if not new:
            continue
        b = statistics.median(base) if base else float("nan")
        m = statistics.median(new)
        print(
            "  %-28s %8.0f / %8.0f  (%.2fx)  rounds: %s / %s"
            % (
                text,
                b,
                m,
                m / b if base else float("nan"),
                " ".join("%.0f" % v for v in base),
                " ".join("%.0f" % v for v in new),
            )
        )


def until_ready(b: "Browser", path: str, since: float, bound_s: float = 300.0) -> "float | None":
    """Seconds from ``since`` until ``path`` (a page's part fetched once ready: 202 until
    then) answers 200, asked every 50 ms as the page's script asks; None where the server
    has no such part (a checkout before it: its page came whole)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        status, _, _ = b.request("GET", path, headers={"Accept": "*/*"})
        if status == 200:
            return time.perf_counter() - since
        if status != 202:
            return None
        time.sleep(0.05)
    raise RuntimeError("%s not ready in %.0f s" % (path, bound_s))


def measure(port: int, item: str, size: int, reviewers: int, hours: int) -> dict:
    b = Browser(port)
    b.log_in("reviewer0")
    # The dashboard's first look, at once on a never-served store: its compliance check of
    # every device's whole ledger is the costly part (the preparer's, where it has one).
    t = time.perf_counter()
    status, _, dash = b.request("GET", "/")
    assert status == 200, status
    flags = until_ready(b, "/dashboard/flags", t)
    print(
        "dashboard, first look: %.0f ms; its flags there after %s"
        % (dash * 1000, "%.0f ms" % (flags * 1000) if flags is not None else "(whole)")
    )
    page = "/recording/" + item
    t = time.perf_counter()
    status, body, cold = b.request("GET", page)
    assert status == 200, status
    whole = b"data-from=" not in body
    timeline = None if whole else until_ready(b, page + "/timeline?shown=playable", t)
    warm = [b.request("GET", page)[2] for _ in range(5)]
    print(
        "%d-hour page: cold %.0f ms (%s), warm median %.0f ms (%d KB)"
        % (
            hours,
            cold * 1000,
            "whole" if timeline is None else "its timeline there after %.0f ms" % (timeline * 1000),
            statistics.median(warm) * 1000,
            len(body) // 1024,
        )
    )
    media = "/media/%s/footage.mp4" % item
    rng = random.Random(16)
    seeks = []
    for _ in range(SEEKS):
        at = rng.randrange(0, size - 70_000)
        wanted = {"Range": "bytes=%d-%d" % (at, at + 65_535)}
        status, got, took = b.request("GET", media, headers=wanted)
        assert status == 206 and len(got) == 65_536, status
        seeks.append(took)
    print("seek (64 KB at a random place): median %.1f ms, p95 %.1f ms"
          % (statistics.median(seeks) * 1000, p95(seeks) * 1000))  # fmt: skip
    times: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + DEADLINE_S

    again = [b.request("GET", "/")[2] for _ in range(5)]
    print("dashboard: warm median %.0f ms" % (statistics.median(again) * 1000))
    short = re.findall(rb'href="(/recording/%s-2/\d+)"' % DEVICE.encode(),
                       b.request("GET", "/search?device=%s-2" % DEVICE)[1])  # fmt: skip
    assert len(short) == SHORT, len(short)

    def reviewer(n: int) -> None:
        me = Browser(port)
        me.log_in("reviewer%d" % n)
        r = random.Random(n)
        for _ in range(ROUNDS):
            if time.monotonic() > deadline:
                return
            one = r.choice(short).decode()
            for path in ("/", "/search?officer=" + OFFICER, one):
                status, _, took = me.request("GET", path)
                assert status == 200, (path, status)
                with lock:
                    times.append(took)
            for _ in range(2):
                at = r.randrange(0, size - 70_000)
                me.request("GET", media, headers={"Range": "bytes=%d-%d" % (at, at + 65_535)})

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in range(reviewers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    middle, worst = statistics.median(times) * 1000, p95(times) * 1000
    print("%d reviewers at once: %d pages, median %.0f ms, p95 %.0f ms"
          % (reviewers, len(times), middle, worst))  # fmt: skip
    out = {
        "cold": cold * 1000,
        "warm": statistics.median(warm) * 1000,
        "seek_p95": p95(seeks) * 1000,
        "many_median": middle,
        "many_p95": worst,
        "dashboard_cold": dash * 1000,
        "dashboard_warm": statistics.median(again) * 1000,
    }
    if timeline is not None:
        out["timeline"] = timeline * 1000
    if flags is not None:
        out["flags"] = flags * 1000
    return out


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    sys.exit(main())
