#!/usr/bin/env python3
"""The review page's figures (issue 16), on loopback, against ``sealcam serve`` running as
its own process on a store made for the run:

- a ten-hour recording's page (36,000 one-second fragments, a pause with its spoken reason
  every hour, a GPS position on each chunk): cold (the first look, which checks every
  chunk's media against its signed hash) and warm; goal under 1 s;
- seeking: a range request for one fragment at a random place in the ten-hour file, timed
  to its last byte; goal p95 under 200 ms;
- 20 reviewers at once, each logged in, each going dashboard, search, a recording's page
  and two seeks, ROUNDS times (bounded in count, and in time by DEADLINE_S); goal p95 page
  time under 300 ms.

Run: .venv/bin/python tools/bench/web_bench.py [--hours 10] [--reviewers 20]
"""

import argparse
import hashlib
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlencode

import av
import numpy as np
from common import REPO, T0_MS, machine

from host import access, items, people
from host.evidence import SqliteEvidenceStore
from protocol import h26x, mp4
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


def one_second() -> "tuple[list, bytes]":
    """One GOP of H.264 (FPS frames), reused for every second of the recording."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = SIZE
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, FPS)
    ctx.options = {"preset": "ultrafast", "x264-params": "keyint=%d:bframes=0" % FPS}
    units = []
    for i in range(FPS):
        # A smooth moving picture: small fragments, so ten hours fit a test machine's disk.
        img = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        img[:, :, 0] = np.linspace(0, 255, SIZE[0], dtype=np.uint8)[None, :]
        img[20:60, i * 8 : i * 8 + 40, :] = 255
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        units += [bytes(p) for p in ctx.encode(frame)]
    units += [bytes(p) for p in ctx.encode(None)]
    sps, pps, samples = [], [], []
    for unit in units:
        nals = h26x.split_annexb(unit)
        sps += [n for n in nals if h26x.nal_type(n, "avc1") == 7]
        pps += [n for n in nals if h26x.nal_type(n, "avc1") == 8]
        body = [n for n in nals if not h26x.is_parameter_set(n, "avc1")]
        samples.append((h26x.to_sample(body), h26x.is_keyframe(nals, "avc1")))
    return samples, h26x.avcc(sps[:1], pps[:1])


def make_store(root: Path, hours: int, reviewers: int) -> "tuple[str, int]":
    """The store: one recording of ``hours`` hours and the reviewers' accounts; returns
    the recording's item id and the footage's size in bytes."""
    samples, avcc = one_second()
    ev = SqliteEvidenceStore(root)
    w = LedgerWriter(make_signer(SEED), DEVICE)
    ev.enrol(DEVICE, make_signer(SEED).public_key())
    rec_id = w.seq.to_bytes(8, "big")
    raws: list = []
    media: dict = {}
    size = 0

    def event(code: int, at: int, extra: "dict | None" = None) -> None:
        fields = {F_EVENT: code, F_RECORDING: rec_id, F_OFFICER: OFFICER, **(extra or {})}
        raws.append(w.append(KIND_EVENT, fields, T0_MS + at, at, True))

    def chunk(index: int, data: bytes, kind: int, start: int, end: int, hashes: list) -> bytes:
        nonlocal size
        sha = hashlib.sha256(data).digest()
        lat, lon = 312_304_000 + index * 3, 1_214_737_000 + (index % 3600) * 2
        fields = {
            F_RECORDING: rec_id, F_CHUNK_INDEX: index, F_START_MS: T0_MS + start,
            F_END_MS: T0_MS + end, F_FRAME_HASHES: hashes, F_MEDIA_TYPE: kind,
            F_PLAIN_LEN: len(data), F_PLAIN_SHA: sha, F_GPS: [lat, lon, 8],
        }  # fmt: skip
        raws.append(w.append(KIND_CHUNK, fields, T0_MS + end, end))
        media[sha] = data
        size += len(data)
        return sha

    event(EV_RECORD_START, 0, {F_DETAIL: {"pre_frames": 0, "origin_mono": 0}})
    track = mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "avc1", avcc, width=SIZE[0], height=SIZE[1])
    chunk(0, mp4.init_segment([track]), MEDIA_MP4_INIT, 0, 0, [])
    hashes = [frame_digest(s) for s, _ in samples]
    index, at = 1, 0
    for second in range(hours * 3600):
        if second and second % 3600 == 0:  # a pause every hour, its reason spoken after
            event(EV_PAUSE, at, {F_REASON: PAUSE_WEATHER})
            at += 60_000
            run = [mp4.Run(1, at * 90, [mp4.Sample(s, 9000, k) for s, k in samples[:2]])]
            sha = chunk(index, mp4.fragment(index, run), MEDIA_MP4, at, at + 2000, [])
            index += 1
            event(EV_RESUME, at + 2000, {F_REASON: PAUSE_WEATHER, F_SPOKEN: sha})
        run = [mp4.Run(1, at * 90, [mp4.Sample(s, 9000, k) for s, k in samples])]
        chunk(index, mp4.fragment(index, run), MEDIA_MP4, at, at + 1000, hashes)
        index += 1
        at += 1000
        if len(raws) >= 5000:
            ev.add_entries(DEVICE, raws, T0_MS + at)
            raws = []
    event(EV_RECORD_STOP, at + 5)
    ev.add_entries(DEVICE, raws, T0_MS + at + 60_000)
    staged = [ev.put_media(sha, data, defer=True) for sha, data in media.items()]
    ev.make_durable(staged)
    access.prepare(ev)
    with ev.write() as cur:
        items.refresh(cur)
        for n in range(reviewers):
            people.add_user(cur, "reviewer%d" % n, (people.LEGAL,), PASSWORD, 0)
    ev.close()
    return "%s/%d" % (DEVICE, int.from_bytes(rec_id, "big")), size


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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=int, default=10)
    p.add_argument("--reviewers", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        store = Path(tmp) / "ev"
        t = time.perf_counter()
        item, size = make_store(store, args.hours, args.reviewers)
        print("made the store: %d h recording, %.1f MB footage, %.0f s"
              % (args.hours, size / 1e6, time.perf_counter() - t))  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "serve", "--evidence", str(store),
             "--listen", "127.0.0.1:0", "--lang", "en"],
            stdout=subprocess.PIPE, text=True, cwd=REPO,
        )  # fmt: skip
        try:
            line = server.stdout.readline() if server.stdout else ""
            listening = re.search(r":(\d+)/", line)
            if listening is None:
                raise RuntimeError("sealcam serve did not start: %r" % line)
            port = int(listening.group(1))
            return measure(port, item, size, args.reviewers)
        finally:
            server.terminate()
            server.wait(60)


def measure(port: int, item: str, size: int, reviewers: int) -> int:
    b = Browser(port)
    b.log_in("reviewer0")
    page = "/recording/" + item
    status, body, cold = b.request("GET", page)
    assert status == 200, status
    warm = [b.request("GET", page)[2] for _ in range(5)]
    print("ten-hour page: cold %.0f ms, warm median %.0f ms (%d KB)"
          % (cold * 1000, statistics.median(warm) * 1000, len(body) // 1024))  # fmt: skip
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

    def reviewer(n: int) -> None:
        me = Browser(port)
        me.log_in("reviewer%d" % n)
        r = random.Random(n)
        for _ in range(ROUNDS):
            if time.monotonic() > deadline:
                return
            for path in ("/", "/search?officer=" + OFFICER, page):
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
    print(machine())
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    sys.exit(main())
