"""The agent with a packager: init segments and fragments are stored, kept and evicted like
any chunk, on CPython and on MicroPython (a board packaging Motion JPEG)."""

from firmware.agent import Agent, boot
from firmware.packager import VIDEO_TRACK, Fmp4Packager, video_track
from firmware.recorder import Recorder
from firmware.runloop import RunLoop
from firmware.store import Store
from protocol.frames import frame_digest
from protocol.ledger import media_digest, parse_entry
from protocol.mp4 import read_fragment, read_init, track_samples
from protocol.registry import (
    EV_EVICTION,
    F_CHUNK_INDEX,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
)
from protocol.signer import make_signer
from protocol.verify import OK
from tests.firmware.helpers import (
    FullDisk,
    Log,
    SceneCamera,
    SetClock,
    StepClock,
    TightStore,
    verdict,
)
from tests.portable import TempDir
from tests.protocol.helpers import DEVICE, SEED_A


def mjpeg() -> Fmp4Packager:
    return Fmp4Packager(video_track("jpeg", b"", 640, 360), None)


def stored(path: str) -> list:
    """[(entry, media or None)] of the store at ``path``, in ledger order."""
    store = Store(path)
    out = []
    for raw in store.entries():
        e = parse_entry(raw)
        media = None
        if e.kind == KIND_CHUNK:
            digest = media_digest(e.fields)
            media = store.read_media(digest) if store.has_media(digest) else None
        out.append((e, media))
    store.close()
    return out


def film(agent: Agent) -> None:
    agent.input("press_record")
    while agent.capture():
        pass
    agent.input("press_stop")


# R-DEV-2, R-DEV-14: what the store keeps is the init segment, then fragments, and they
# carry on after a reboot with a recording of their own.
def test_the_store_keeps_the_init_segment_and_the_fragments():
    with TempDir() as d:
        for _boot in range(2):
            agent = boot(
                d,
                make_signer(SEED_A),
                DEVICE,
                "P-0427",
                StepClock(),
                SceneCamera(9),
                Log(),
                packager=mjpeg(),
            )
            assert agent.recorder.packager is not None
            film(agent)
            agent.shut_down()
        got = stored(d)
        assert verdict([e for e, _ in got]) == OK
        chunks = [(e, m) for e, m in got if e.kind == KIND_CHUNK]
        inits = [i for i in range(len(chunks)) if chunks[i][0].fields[F_CHUNK_INDEX] == 0]
        assert len(inits) == 2
        for i in range(len(chunks)):
            e, media = chunks[i]
            if i in inits:
                assert e.fields[F_MEDIA_TYPE] == MEDIA_MP4_INIT
                assert [t.codec for t in read_init(media)] == ["jpeg", "tx3g"]
            else:
                assert e.fields[F_MEDIA_TYPE] == MEDIA_MP4
                assert read_fragment(media)[0] == e.fields[F_CHUNK_INDEX]
                samples = track_samples(media, VIDEO_TRACK)
                assert e.fields[F_FRAME_HASHES] == [frame_digest(s) for s in samples]
                assert samples[0].startswith(b"frame ")


# R-DEV-4, R-DEV-5: eviction treats the init segment as the oldest chunk of its recording: it
# goes only once the host holds it and it is old enough, and the eviction event names it.
def test_eviction_names_the_init_segment_when_it_goes():
    with TempDir() as d:
        agent = boot(
            d,
            make_signer(SEED_A),
            DEVICE,
            "P-0427",
            StepClock(),
            SceneCamera(9, pad=3000),
            Log(),
            packager=mjpeg(),
        )
        film(agent)
        agent.store.close()
        old = list(agent.catalogue)
        init = next(e for e, _ in stored(d) if e.kind == KIND_CHUNK)
        assert init.fields[F_MEDIA_TYPE] == MEDIA_MP4_INIT
        store = TightStore(d, FullDisk(0))
        clock = StepClock()
        clock.t = 200 * 86_400_000  # seven months later
        recorder = Recorder(
            make_signer(SEED_A), DEVICE, "P-0427", *store.head(), boot=1, packager=mjpeg()
        )
        agent = Agent(store, recorder, clock, SceneCamera(9, pad=3000), Log())
        agent.catalogue = old
        for item in old:
            item.received = True  # the host holds a verified copy of all of it
        checks = {"camera_ok": True, "battery_percent": 90, "storage_hours": 10}
        agent.run(recorder.power_on(clock.wall_ms(), clock.mono_ms(), checks))
        film(agent)
        store.close()
        got = stored(d)
        assert verdict([e for e, _ in got]) == OK  # every entry is still there
        evicted = []
        for e, _ in got:
            if e.kind != KIND_CHUNK and e.fields[F_EVENT] == EV_EVICTION:
                evicted.extend(e.fields[F_DETAIL]["media"])
        assert media_digest(init.fields) in evicted
        for e, media in got:
            if e.kind == KIND_CHUNK and media is None:
                assert media_digest(e.fields) in evicted  # nothing went unlogged


# The run loop takes an encoder's audio frames, each with its own capture time.
def test_the_run_loop_feeds_encoded_audio_frames_with_their_capture_times():
    with TempDir() as d:
        clock = SetClock()
        agent = boot(d, make_signer(SEED_A), DEVICE, "P-0427", clock, None, Log())
        given: list = []

        def audio() -> list:
            now = clock.mono_ms()
            frames = [
                (b"aac", clock.wall_ms() - 40, now - 40),
                (b"aac", clock.wall_ms() - 19, now - 19),
            ]
            given.extend(frames)
            return frames

        seen: list = []
        real = agent.recorder.audio

        def spy(data: bytes, now_ms: int, mono_ms: int) -> list:
            seen.append((data, now_ms, mono_ms))
            return real(data, now_ms, mono_ms)

        agent.recorder.audio = spy  # type: ignore[method-assign]  # a spy on the input
        loop = RunLoop(agent, audio=audio)
        clock.advance(500)
        loop.serve()
        agent.shut_down()
        assert seen == given and len(seen) == 2
