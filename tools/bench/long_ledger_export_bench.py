"""Exporting one recording of a device whose ledger holds many: the export's cost against
the ledger's length.

    .venv/bin/python tools/bench/long_ledger_export_bench.py [--others N] [--minutes M]
        [--size WxH] [--rounds R] [--keep DIR] [--compare CHECKOUT ...] [--json]

One device records ``N + 1`` recordings of ``M`` minutes each (default 20 others of 60
minutes) with the real agent and its fMP4 packager, at low fidelity so the ledger is quick
to make: a small picture (default 64x48) at one frame a second, each frame a keyframe, no
microphone: one signed-ledger chunk a second, as a recorder in service writes (a real
recorder's chunks are larger, its entries are not). The device's entries and media go into
a real SQLite evidence store, as a finished sync leaves them. ``--keep DIR`` keeps the store
for a later run (made again only when the settings differ).

Then ``sealcam export`` of the FIRST recording (an early one: ``N`` recordings follow it in
the ledger) to an MP4, each time in a new process, as the command runs: its wall time and
its CPU time (user + system of the process and the worker it starts). ``--compare
CHECKOUT`` (once or more) times the same export with the code of another checkout (on
``PYTHONPATH``, e.g. the code before a change), alternated with this one, the order rotated
each round: an A/B under the same load. Printed: N, the entries in the device's ledger,
the entries of the recording exported, and per code the median wall and CPU seconds.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, T0_MS, VirtualClock, machine
from footage_make import DEVICE, OFFICER, SEED, FedCamera, Quiet, scene

import firmware.store as store_module
from firmware.agent import boot
from firmware.packager import Fmp4Packager
from firmware.ports.encoder import VideoEncoder
from firmware.store import Store
from host.evidence import SqliteEvidenceStore
from protocol.ledger import media_digest, parse_entry
from protocol.registry import EV_RECORD_START, F_EVENT, KIND_CHUNK
from protocol.signer import make_signer

EXPORT = """
import os, sys, time
from host.cli.main import main
t0 = time.perf_counter()
code = main(sys.argv[1:])
t = os.times()
print("BENCH %d %.4f %.4f" % (code or 0, time.perf_counter() - t0,
      t.user + t.system + t.children_user + t.children_system))
"""


def loop_samples(size: tuple, seconds: int) -> tuple:
    """``seconds`` one-frame-a-second keyframes of the scene, and their track."""
    video = VideoEncoder("h264", 1, gop=1)
    samples = []
    for i, image in enumerate(scene(size[0], size[1], seconds)):
        samples += [(d, k) for d, k, _ in video.encode(image, i * 1000)]
    samples += [(d, k) for d, k, _ in video.flush()]
    return samples, video.track


def build_device(root: str, others: int, minutes: int, size: tuple) -> None:
    """The device's store: ``others + 1`` recordings of ``minutes`` each, one after another.
    Making it is not measured: the store's fsyncs are skipped meanwhile (one os.sync after)."""
    samples, track = loop_samples(size, 60)
    clock = VirtualClock()
    packager = Fmp4Packager(track, None, frame_ms=1000)
    fsync = store_module._os_fsync
    store_module._os_fsync = lambda fd: None
    try:
        agent = boot(root, make_signer(SEED), DEVICE, OFFICER, clock, FedCamera(), Quiet(),
                     packager=packager)  # fmt: skip
        t = 0
        for _ in range(others + 1):
            agent.input("press_record")
            agent.input("announce_done")
            for k in range(minutes * 60):
                clock.ms = t
                data, key = samples[k % len(samples)]
                agent.input("frame", data, key)
                t += 1000
            clock.ms = t
            agent.input("press_stop")
            t += 60_000
        agent.store.close()
    finally:
        store_module._os_fsync = fsync
    os.sync()


def fill_evidence(device_root: str, ev_root: str) -> dict:
    """The device's entries and media in a fresh evidence store, as a finished sync leaves
    them; the facts: entries, the first recording's number."""
    store = Store(device_root)
    raws = list(store.entries())
    ev = SqliteEvidenceStore(ev_root)
    ev.enrol(DEVICE, make_signer(SEED).public_key())
    ev.add_entries(DEVICE, raws, T0_MS + 86_400_000)
    staged = []
    first = None
    for raw in raws:
        e = parse_entry(raw)
        if e.kind == KIND_CHUNK:
            digest = media_digest(e.fields)
            staged.append(ev.put_media(digest, store.read_media(digest), defer=True))
        elif e.fields.get(F_EVENT) == EV_RECORD_START and first is None:
            first = e.seq
        if len(staged) >= 4096:
            ev.make_durable(staged)
            staged = []
    ev.make_durable(staged)
    ev.close()
    store.close()
    return {"entries": len(raws), "first": first}


def make_store(folder: str, others: int, minutes: int, size: tuple) -> dict:
    facts_file = os.path.join(folder, "ledger.json")
    wanted = {"others": others, "minutes": minutes, "size": list(size)}
    if os.path.exists(facts_file):
        with open(facts_file) as f:
            facts = json.load(f)
        if facts.get("wanted") == wanted:
            return facts
        shutil.rmtree(os.path.join(folder, "evidence"), ignore_errors=True)
    t0 = time.perf_counter()
    device = os.path.join(folder, "device")
    shutil.rmtree(device, ignore_errors=True)
    build_device(device, others, minutes, size)
    facts = fill_evidence(device, os.path.join(folder, "evidence"))
    shutil.rmtree(device)
    facts.update({"wanted": wanted, "made_s": round(time.perf_counter() - t0, 1)})
    with open(facts_file, "w") as f:
        json.dump(facts, f)
    return facts


def export_once(code: str, ev: str, number: int, out: Path) -> tuple:
    """``(wall s, CPU s, the note)`` of one ``sealcam export`` in a new process with the
    code of checkout ``code``."""
    env = dict(os.environ, PYTHONPATH=code)
    for p in (out, Path(str(out) + ".json")):
        p.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-c", EXPORT, "export", "--evidence", ev, "--device", DEVICE,
         "--recording", str(number), "--out", str(out), "--extractor", "P-BENCH"],
        env=env, capture_output=True, text=True, cwd=code,
    )  # fmt: skip
    line = [x for x in run.stdout.splitlines() if x.startswith("BENCH ")]
    if run.returncode or not line or line[-1].split()[1] != "0":
        raise SystemExit("the export with %s failed:\n%s%s" % (code, run.stdout, run.stderr))
    _, _, wall, cpu = line[-1].split()
    note = json.loads(Path(str(out) + ".json").read_text())
    return float(wall), float(cpu), note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--others", type=int, default=20, help="recordings after the exported one")
    ap.add_argument("--minutes", type=int, default=60, help="each recording's length")
    ap.add_argument("--size", default="64x48", help="the picture, WxH (default 64x48)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", help="keep (and reuse) the evidence store in this folder")
    ap.add_argument("--compare", action="append", default=[], metavar="CHECKOUT")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    size = tuple(int(x) for x in args.size.lower().split("x"))
    folder = args.keep or tempfile.mkdtemp(prefix="long-ledger-")
    os.makedirs(folder, exist_ok=True)
    try:
        facts = make_store(folder, args.others, args.minutes, size)
        ev = os.path.join(folder, "evidence")
        codes = [("this", str(REPO))] + [
            ("compare %d" % i, str(Path(c).resolve())) for i, c in enumerate(args.compare, 1)
        ]
        times: dict = {name: [] for name, _ in codes}
        spans: dict = {}
        for r in range(args.rounds):
            k = r % len(codes)
            for name, code in codes[k:] + codes[:k]:
                wall, cpu, note = export_once(code, ev, facts["first"], Path(folder) / "x.mp4")
                times[name].append((wall, cpu))
                spans[name] = note.get("evidence_box", {}).get("entries")
        result = {
            "machine": machine(),
            "load_average": os.getloadavg(),
            "others": args.others,
            "minutes": args.minutes,
            "size": list(size),
            "ledger_entries": facts["entries"],
            "recording": facts["first"],
            "codes": {
                name: {
                    "checkout": code,
                    "span_entries": spans[name],
                    "wall_s": statistics.median(w for w, _ in times[name]),
                    "cpu_s": statistics.median(c for _, c in times[name]),
                    "rounds": times[name],
                }
                for name, code in codes
            },
        }
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(result["machine"])
    print("load average %.2f %.2f %.2f" % tuple(result["load_average"]))
    print(
        "N = %d other recordings of %d min; %d entries in the ledger; export of recording %d"
        % (args.others, args.minutes, facts["entries"], facts["first"])
    )
    base = result["codes"]["this"]
    for name, c in result["codes"].items():
        print(
            "%-10s %s: span %s entries, wall %.2f s, CPU %.2f s (CPU x%.2f of this)"
            % (name, c["checkout"], c["span_entries"], c["wall_s"], c["cpu_s"],
               c["cpu_s"] / base["cpu_s"] if base["cpu_s"] else 0.0)
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
