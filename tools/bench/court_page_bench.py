"""Court page benchmark: the offline verifier page checking a one-hour recording's package.

    .venv/bin/python tools/bench/court_page_bench.py [--json] [--minutes 60] [--mbit 2.7]
        [--rounds 3] [--keep DIR]

What is measured: a package made by the package builder (``host.court.package.build``) of
one fMP4 recording of ``--minutes`` minutes (1 s GOPs at 30 fps, ``--mbit`` Mbit/s of video
plus AAC-sized audio, one chunk entry a second with its 30 frame digests, every entry
signed, a pause with its spoken reason in the middle), then the page ``verify.html`` in
that package, opened from the file in headless Chromium (Debian's, driven by Playwright),
with the package folder chosen as a person chooses it (the page as this tree builds it,
opened from beside the package, so that a kept package is checked by the current page).
Timed: from choosing the folder to the verdict on the page, by the page's own clock
(``performance.now`` around its whole check: reading every file, SHA-256 of every file and
of every signed fragment, every Ed25519 signature, every chain link, every inclusion proof,
and drawing the result, with its parts), and the same seen from outside (Playwright's wall
time from choosing the folder to the verdict). Baseline: SHA-256 of
every file of the package in Python (``hashlib``, 1 MiB reads), the least any checker must
do. Median of the rounds, alternated. Goal: under 10 s for a one-hour recording.

The video samples are random bytes of the size a camera's would have (nothing decodes them
here; only their bytes are hashed), in real MP4 fragments with a real H.264 configuration.
"""

import argparse
import hashlib
import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, machine

from host.court import package
from host.court.verifier import page_html
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

sys.path.insert(0, str(REPO))  # the tests' browser helper and footage encoders

DEVICE = "SC-BENCH-0001"
SEED = bytes(range(1, 33))
HOST_SEED = bytes(range(50, 82))
HOST_KID = "agency-host-1"
T0 = 1795420800000
FPS = 30
RATE = 48000
AAC_FRAME = 1024
AAC_BYTES = 180  # about 64 kbit/s


def _config() -> tuple:
    """A real avcC and AudioSpecificConfig, so the init segment is one a player reads."""
    # The tests' encoders (PyAV), loaded by name: the bench type-checks alone, without them.
    fmp4 = importlib.import_module("tests.host.fmp4")
    _, avcc = fmp4.encode_video(1)
    _, asc = fmp4.encode_audio(fmp4.tone(0.1))
    return avcc, asc


def make_recording(folder: Path, minutes: int, mbit: float) -> tuple:
    """The evidence store of one recording in ``folder``; (store path, record-start seq,
    video bytes)."""
    avcc, asc = _config()
    tracks = [
        mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "avc1", avcc, width=1280, height=720),
        mp4.Track(2, mp4.HANDLER_AUDIO, RATE, "mp4a", asc, channels=1, sample_rate=RATE),
        mp4.Track(3, mp4.HANDLER_TEXT, 1000, "tx3g"),
    ]
    writer = LedgerWriter(make_signer(SEED), DEVICE)
    entries: list = []
    media: list = []
    rng = os.urandom
    frame_bytes = int(mbit * 1e6 / 8 / FPS)
    mono = 5_000
    start_seq = writer.seq
    rec_id = start_seq.to_bytes(8, "big")
    common = {F_RECORDING: rec_id, F_OFFICER: "P-0427"}

    def event(code: int, at: int, extra: dict) -> None:
        entries.append(
            writer.append(KIND_EVENT, {F_EVENT: code, **common, **extra}, T0 + at, at, True)
        )

    def chunk(index: int, data: bytes, kind: int, start: int, end: int, hashes: list) -> bytes:
        sha = hashlib.sha256(data).digest()
        fields = {
            **common,
            F_CHUNK_INDEX: index,
            F_START_MS: T0 + start,
            F_END_MS: T0 + end,
            F_FRAME_HASHES: hashes,
            F_MEDIA_TYPE: kind,
            F_PLAIN_LEN: len(data),
            F_PLAIN_SHA: sha,
        }
        e = writer.append_entry(KIND_CHUNK, fields, T0 + end, end, True)
        entries.append(e.raw)
        media.append((sha, data))
        return e.digest

    origin = mono
    event(EV_RECORD_START, mono, {F_DETAIL: {"pre_frames": 0, "origin_mono": origin}})
    chunk(0, mp4.init_segment(tracks), MEDIA_MP4_INIT, mono, mono, [])
    index = 1
    total = 0
    for second in range(minutes * 60):
        if second == minutes * 30:  # a pause of a minute in the middle, and its spoken reason
            event(EV_PAUSE, mono, {F_REASON: PAUSE_WEATHER})
            mono += 60_000
            a_base = (mono - origin) * RATE // 1000
            spoken = [mp4.Sample(rng(AAC_BYTES), AAC_FRAME) for _ in range(2 * RATE // AAC_FRAME)]
            data = mp4.fragment(index, [mp4.Run(2, a_base, spoken)])
            digest = chunk(index, data, MEDIA_MP4, mono, mono + 2000, [])
            index += 1
            mono += 2000
            event(EV_RESUME, mono, {F_REASON: PAUSE_WEATHER, F_SPOKEN: digest})
        frames = [rng(frame_bytes) for _ in range(FPS)]
        base = (mono - origin) * 90
        runs = [mp4.Run(1, base, [mp4.Sample(f, 3000, i == 0) for i, f in enumerate(frames)])]
        a_base = (mono - origin) * RATE // 1000
        audio = [mp4.Sample(rng(AAC_BYTES), AAC_FRAME) for _ in range(RATE // AAC_FRAME)]
        runs.append(mp4.Run(2, a_base, audio))
        data = mp4.fragment(index, runs)
        chunk(index, data, MEDIA_MP4, mono, mono + 1000, [frame_digest(f) for f in frames])
        index += 1
        total += len(data)
        mono += 1000
    event(EV_RECORD_STOP, mono, {F_DETAIL: {"chunks": index}})
    path = folder / "evidence"
    ev = SqliteEvidenceStore(path)
    try:
        ev.enrol(DEVICE, make_signer(SEED).public_key())
        ev.add_entries(DEVICE, entries, T0 + 86_400_000)
        ev.make_durable([ev.put_media(sha, data, defer=True) for sha, data in media])
    finally:
        ev.close()
    return path, start_seq, total


def make_package(store: Path, number: int, out: Path) -> float:
    ev = SqliteEvidenceStore(store)
    try:
        start = time.perf_counter()
        want = package.Wanted(item="%s/%d" % (DEVICE, number), device=DEVICE, number=number)
        package.build(
            ev,
            [want],
            None,
            {"user": "bench", "name": "bench"},
            make_signer(HOST_SEED),
            HOST_KID,
            package.Options(out=out),
            T0 + 86_400_000,
        )
        return time.perf_counter() - start
    finally:
        ev.close()


def hash_all(folder: Path) -> float:
    start = time.perf_counter()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
    return time.perf_counter() - start


DONE = ", ".join('body[data-state="%s"]' % s for s in ("ok", "not-ok", "unusable"))


def page_check(context, folder: Path, page_file: Path) -> dict:
    page = context.new_page()
    try:
        page.goto(page_file.as_uri())
        start = time.perf_counter()
        page.set_input_files("#folder", str(folder))
        page.wait_for_selector(DONE, state="attached", timeout=600_000)
        wall = time.perf_counter() - start
        got = page.evaluate(
            "() => ({state: document.body.dataset.state, ms: SC.lastResult.elapsedMs,"
            " problems: SC.lastResult.problems.length, timings: SC.lastResult.timings})"
        )
    finally:
        page.close()
    return {
        "wall_s": wall,
        "page_s": got["ms"] / 1000,
        "state": got["state"],
        "problems": got["problems"],
        "parts_s": {k: round(v / 1000, 3) for k, v in got["timings"].items()},
    }


def _median_round(pages: list) -> dict:
    return sorted(pages, key=lambda p: p["page_s"])[len(pages) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--mbit", type=float, default=2.7, help="video bit rate, Mbit/s")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", default="", help="make the package here, or use the one made there")
    ap.add_argument(
        "--compare",
        default="",
        help="another build of the page (an HTML file), checked in turn with this tree's in "
        "each round, for a ratio measured under the same load",
    )
    args = ap.parse_args()

    from tests import browser

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="court-page-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    pkg = folder / "package"
    made: dict = {}
    try:
        if not (pkg / "manifest.cbor").exists():
            t = time.perf_counter()
            store, number, video_bytes = make_recording(folder, args.minutes, args.mbit)
            made["recording_s"] = time.perf_counter() - t
            made["package_s"] = make_package(store, number, pkg)
            shutil.rmtree(store)  # the store's copy is not needed any more: disk back
            made["video_bytes"] = video_bytes
        # The page as this tree builds it, beside the package (a kept package's own copy
        # may be older): the same page checks any package folder.
        page_file = folder / "verify.html"
        page_file.write_text(page_html(), encoding="utf-8")
        size = sum(p.stat().st_size for p in pkg.rglob("*") if p.is_file())
        files = sum(1 for p in pkg.rglob("*") if p.is_file())
        pages: list = []
        hashes: list = []
        others: list = []
        other_file = folder / "other-verify.html"
        if args.compare:
            shutil.copyfile(args.compare, other_file)
        with browser.browser() as context:
            for _ in range(args.rounds):
                pages.append(page_check(context, pkg, page_file))
                hashes.append(hash_all(pkg))
                if args.compare:
                    others.append(page_check(context, pkg, other_file))
        result = {
            "machine": machine(),
            "minutes": args.minutes,
            "mbit": args.mbit,
            "package_bytes": size,
            "files": files,
            "made": made,
            "verdicts": sorted({p["state"] for p in pages}),
            "page_s": statistics.median(p["page_s"] for p in pages),
            "page_wall_s": statistics.median(p["wall_s"] for p in pages),
            "python_sha256_s": statistics.median(hashes),
            "rounds": pages,
            "goal_s": 10.0,
        }
        result["met"] = result["page_wall_s"] < 10.0
        if others:
            result["compared"] = {
                "page": args.compare,
                "page_s": statistics.median(p["page_s"] for p in others),
                "page_wall_s": statistics.median(p["wall_s"] for p in others),
                "verdicts": sorted({p["state"] for p in others}),
                "rounds": others,
            }
            result["compared"]["ratio"] = result["page_s"] / result["compared"]["page_s"]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        "court page: %d-minute recording, %.1f MB package (%d files), verdict %s\n"
        "  page's own check %.2f s, seen from outside %.2f s (goal < 10 s: %s)\n"
        "  of which (median round): %s\n"
        "  baseline: SHA-256 of every file in Python %.2f s\n  %s"
        % (
            args.minutes,
            size / 1e6,
            files,
            "/".join(result["verdicts"]),
            result["page_s"],
            result["page_wall_s"],
            "met" if result["met"] else "NOT met",
            ", ".join("%s %.2f s" % kv for kv in _median_round(pages)["parts_s"].items()),
            result["python_sha256_s"],
            result["machine"],
        )
    )


if __name__ == "__main__":
    main()
