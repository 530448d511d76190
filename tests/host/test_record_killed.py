"""`sealcam record` killed with SIGKILL at any moment: the next start logs it, truthfully.

A kill between two writes leaves a store that looks whole; the running mark tells it from a
clean stop. The power-loss event names what the kill caught: the ledger bytes it cut off,
the media writes it cut short and the whole media whose entry it lost, each as the store
really holds them.
"""
# micropython: skip (runs `sealcam record` in a subprocess and kills it)
# R-DEV-14: an abnormal restart loses no footage already saved, and is never silent.

import os
import signal
import subprocess
import time

import pytest

from firmware.store import RUNNING_NAME, SEG_SUFFIX, scan_records
from protocol.keys import decode_key
from protocol.ledger import parse_entry, read_ledger
from protocol.registry import EV_POWER_LOSS_RECOVERED, F_DETAIL, F_EVENT, KIND_EVENT
from protocol.verify import verify_ledger
from tests.host.helpers import SEALCAM_SCRIPT, run

POLL_LIMIT_S = 120  # a generous bound on waiting for the recorder to reach a point


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """Twenty seconds of a moving scene, played at its own rate by `sealcam record`."""
    import cv2
    import numpy as np

    path = tmp_path_factory.mktemp("video") / "scene.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 90))
    for i in range(600):
        img = np.full((90, 160, 3), 60, np.uint8)
        img[:, (i * 3) % 150 : (i * 3) % 150 + 10] = 230
        w.write(img)
    w.release()
    return path


def entries_now(store) -> list:
    """The store's whole entries, read without writing (the recorder is running)."""
    out = []
    ledger = store / "ledger"
    for name in sorted(os.listdir(ledger)) if ledger.is_dir() else ():
        if name.endswith(SEG_SUFFIX):
            records, _, _ = scan_records((ledger / name).read_bytes())
            out += [parse_entry(payload) for _, payload in records]
    return out


def what_the_kill_caught(store) -> dict:
    """What a truthful report of the cut must say, measured on the killed store's files."""
    ledger = store / "ledger"
    last = sorted(n for n in os.listdir(ledger) if n.endswith(SEG_SUFFIX))[-1]
    data = (ledger / last).read_bytes()
    _, valid_end, _ = scan_records(data)
    payloads = [p for seg in sorted(os.listdir(ledger)) if seg.endswith(SEG_SUFFIX)
                for _, p in scan_records((ledger / seg).read_bytes())[0]]  # fmt: skip
    new = store / "media" / "new"
    parts = {p.name: p.stat().st_size for p in new.iterdir() if p.name.endswith(".part")}
    orphans = {
        p.name[:64]: p.stat().st_size
        for p in new.iterdir()
        if p.name.endswith(".bin") and not any(bytes.fromhex(p.name[:64]) in x for x in payloads)
    }
    return {
        "torn_bytes": len(data) - valid_end,
        "partial_media": sorted(parts),
        "partial_bytes": sum(parts.values()),
        "orphan_media": sorted(bytes.fromhex(k) for k in orphans),
        "orphan_bytes": sum(orphans.values()),
        "interrupted": True,
    }


def power_losses(store) -> list:
    return [
        e
        for e in entries_now(store)
        if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_POWER_LOSS_RECOVERED
    ]


@pytest.mark.parametrize("seen", [1, 4, 9])
def test_a_killed_recorder_is_logged_at_the_next_start_with_the_bytes_in_flight(
    tmp_path, video, seen
):
    # Today 1 of 3 kills mid-recording left no trace, and one said "0 bytes lost" beside a
    # .part file. `seen`: how many entries the store held when the kill came.
    store = tmp_path / "store"
    cmd = [str(SEALCAM_SCRIPT), "record", "--camera", str(video), "--store", str(store),
           "--device-id", "SC-0009", "--officer", "P-1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bound = time.monotonic() + POLL_LIMIT_S
        while len(entries_now(store)) < seen:
            assert proc.poll() is None, "the recorder ended before %d entries" % seen
            assert time.monotonic() < bound, "no %d entries in %d s" % (seen, POLL_LIMIT_S)
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert (store / RUNNING_NAME).exists()
    before = entries_now(store)
    truth = what_the_kill_caught(store)

    r = run("record", "--camera", str(video), "--store", str(store), "--seconds", "0.2", "--json")
    assert r.returncode == 0, r.stderr
    lost = power_losses(store)
    assert len(lost) == 1, "the kill after %d entries left no trace" % seen
    event = lost[0]
    assert event.signed and event.seq == before[-1].seq + 1  # first thing at the next start
    detail = event.fields[F_DETAIL]
    assert {k: detail[k] for k in truth} == truth
    assert detail["last_seq"] == before[-1].seq

    # The start after a clean stop reports nothing new, and the ledger is whole.
    r = run("record", "--camera", str(video), "--store", str(store), "--seconds", "0.2", "--json")
    assert r.returncode == 0, r.stderr
    assert len(power_losses(store)) == 1
    key = decode_key((store / "device.pub").read_bytes())
    raw = b"".join(e.raw for e in entries_now(store))
    assert verify_ledger(raw, key.device_id, key.public).state == "OK"
    assert len([x for x in read_ledger(raw) if x[0] == "entry"]) == len(entries_now(store))


def test_the_timeline_names_the_bytes_in_flight_and_a_cut_between_writes():  # R-DEV-14
    from host.timeline import in_flight

    line = {"torn_bytes": 0, "partial_bytes": 1234, "orphan_bytes": 0, "partial_media": 1,
            "orphan_media": 0}  # fmt: skip
    text = in_flight(line)
    assert "1234 bytes cut short, kept on the device" in text and "0 bytes" not in text
    line = dict(line, partial_bytes=0, partial_media=0)
    assert in_flight(line) == "cut between two writes: no write was under way"
    line = dict(line, torn_bytes=17, orphan_bytes=900, orphan_media=1)
    assert in_flight(line) == (
        "in flight: 17 ledger bytes cut off; 1 whole media file(s) of 900 bytes whose entry "
        "was lost, kept on the device"
    )
