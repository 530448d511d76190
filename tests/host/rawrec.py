"""A raw-mode recording (a JPEG per frame, PCM sound) made by the firmware on the simulator's
hardware, for the export tests, and the ways those tests reach into its evidence store."""
# micropython: skip (host code, OpenCV)

import os

from firmware.agent import boot
from host.evidence import SqliteEvidenceStore
from protocol.ledger import parse_entry
from protocol.registry import F_MEDIA_TYPE, F_PLAIN_SHA, KIND_CHUNK, MEDIA_MJPEG, MEDIA_PCM
from protocol.signer import make_signer
from simulator.hardware import SceneCamera, SimBattery, SimClock, SimMicrophone
from tests.host.helpers import evidence, run_pair
from tests.protocol.helpers import DEVICE, SEED_A, T0

FPS = 10
SIZE = (320, 180)
NOW = T0 + 86_400_000


def record(path, seconds=3, sealer=None, recordings=1):
    """A device store with ``recordings`` recordings of rendered, overlaid frames and audio."""
    clock = SimClock(T0)
    camera = SceneCamera(clock, *SIZE, seed=7)
    mic = SimMicrophone(clock)
    agent = boot(
        str(path),
        make_signer(SEED_A),
        DEVICE,
        "P-0427",
        clock,
        camera,
        None,
        SimBattery(),
        sealer=sealer,
        config={"video_media": MEDIA_MJPEG, "audio_media": MEDIA_PCM},
    )
    originals = []
    for _ in range(recordings):
        agent.input("press_record")
        originals = []
        for i in range(seconds * FPS):
            got = camera.read(agent.recorder.overlay(clock.wall_ms()))
            originals.append(got[0])
            agent.input("frame", got[0], True)
            if i % 2 == 0:
                agent.input("audio", mic.read()[0])
            clock.advance(1000 // FPS)
        agent.input("press_stop")
        clock.advance(60_000)
    return agent, originals


def media_file(ev, seq):
    store = SqliteEvidenceStore(ev)
    entry = parse_entry(store.entries(DEVICE)[seq])
    store.close()
    h = entry.fields[F_PLAIN_SHA].hex()
    return ev / "media" / h[:2] / h


def first_video_chunk(ev):
    store = SqliteEvidenceStore(ev)
    seq = next(
        e.seq
        for e in map(parse_entry, store.entries(DEVICE))
        if e.kind == KIND_CHUNK and e.fields[F_MEDIA_TYPE] == MEDIA_MJPEG
    )
    store.close()
    return seq


def tamper(path):
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def synced_recording(tmp_path):
    """One recording made in ``tmp_path/dev`` and synced into ``tmp_path/ev``: (the evidence
    store's path, the recorded frames)."""
    agent, originals = record(tmp_path / "dev")
    ev = evidence(tmp_path / "ev")
    summary, _, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    ev.close()
    agent.store.close()
    return tmp_path / "ev", originals
