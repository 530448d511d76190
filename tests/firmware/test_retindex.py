"""The on-card retention index: bounded RAM and checkpoint, and eviction by its spans."""
# Issue 19: retention state lives on the card; RAM and the checkpoint do not grow with days.
# R-DEV-4, R-DEV-5: eviction by the index frees exactly what the retention rules allow.

import os

from firmware import retindex
from firmware.agent import boot
from firmware.packager import Fmp4Packager, video_track
from firmware.retention import DAY_MS
from firmware.retindex import FOLDER, IMPORTANT_KEEP, SPANS_NAME
from firmware.store import Store
from protocol.ledger import media_digest, parse_entry
from protocol.registry import (
    EV_EVICTION,
    EV_INDEX_REBUILT,
    F_DETAIL,
    F_EVENT,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_RECORDING,
    KIND_CHUNK,
    MEDIA_MP4_INIT,
)
from protocol.signer import make_signer
from protocol.verify import OK
from tests.firmware.helpers import Log, SceneCamera, SetClock, verdict
from tests.portable import TempDir
from tests.protocol.helpers import DEVICE, SEED_A

N = 24  # chunks in a day's recording


class SmallSpans:
    """Spans of 8 chunks while a test runs, so a few dozen chunks make several spans
    (MicroPython signs slowly); the module's own size comes back after."""

    def __enter__(self) -> None:
        self.saved = retindex.SPAN_CHUNKS
        retindex.SPAN_CHUNKS = 8

    def __exit__(self, *exc: object) -> None:
        retindex.SPAN_CHUNKS = self.saved


def power_on(path: str, clock: SetClock, camera: object = None, packager: object = None):
    return boot(
        path,
        make_signer(SEED_A),
        DEVICE,
        "P-0427",
        clock,
        camera if camera is not None else SceneCamera(0),
        Log(),
        sync_every=0,
        packager=packager,
    )


def film(agent, clock: SetClock, chunks: int, same: bool = False, mark: bool = False) -> None:
    """A recording of ``chunks`` one-second chunks of one keyframe each; every chunk's
    bytes the same when ``same`` (a still scene), else each its own."""
    agent.input("press_record")
    for i in range(chunks):
        clock.advance(1000)
        agent.input("frame", b"frame" if same else b"frame-%d-%d" % (clock.mono, i), True)
    if mark:
        agent.input("mark_important")
    clock.advance(1000)
    agent.input("press_stop")


def chunks_of(agent) -> tuple:
    """(entry, media on the card?) of every chunk, and the eviction events' digests, read
    through the agent's own store (a second store on the same card would recover it)."""
    store = agent.store
    out = []
    named = []
    for raw in store.entries():
        e = parse_entry(raw)
        if e.kind == KIND_CHUNK:
            out.append((e, store.has_media(media_digest(e.fields))))
        elif e.fields[F_EVENT] == EV_EVICTION:
            named.extend(e.fields[F_DETAIL]["media"])
    return out, named


def entries_of(path: str) -> list:
    store = Store(path)
    out = [parse_entry(raw) for raw in store.entries()]
    store.close()
    return out


def test_ram_and_the_checkpoint_do_not_grow_with_days():
    with SmallSpans(), TempDir() as d:
        clock = SetClock()
        agent = power_on(d, clock)
        sizes = []
        for _day in range(6):
            film(agent, clock, N)
            agent.host_receipt(agent.memory.seq)
            clock.advance(DAY_MS - (N + 2) * 1000)
            sizes.append(agent.checkpoint_bytes)
        for _ in range(IMPORTANT_KEEP + 3):
            film(agent, clock, 2, mark=True)
        index = agent.memory.index
        # What stays in RAM: one open span, the current run, a few marks; the spans are on
        # the card (six days of 300 chunks: more than six spans written).
        assert index.open is None or index.open.count <= 8
        assert len(index.important) <= IMPORTANT_KEEP
        assert index.spans.length > 18 * 40  # three spans a day, on the card
        assert sizes[-1] < 1024
        assert sizes[-1] - sizes[1] < 16  # a few bytes as the seqs grow, not per chunk
        agent.shut_down()
        assert os.stat(d + "/checkpoint.bin")[6] < 1024


def test_eviction_frees_exactly_what_the_rules_allow():  # R-DEV-4, R-DEV-5
    with SmallSpans(), TempDir() as d:
        clock = SetClock()
        agent = power_on(d, clock)
        film(agent, clock, N)  # A: received, old: goes
        clock.advance(DAY_MS)
        film(agent, clock, N, mark=True)  # B: received, old, marked important: stays
        through = agent.memory.seq
        clock.advance(DAY_MS)
        film(agent, clock, N)  # C: old, not received: stays
        agent.host_receipt(through)
        clock.advance(190 * DAY_MS)
        film(agent, clock, 5)  # D: young: stays
        recs = [e.fields[F_RECORDING] for e, _ in chunks_of(agent)[0]]
        a, b, _c, young = [r for i, r in enumerate(recs) if r not in recs[:i]]
        wall = clock.wall_ms()
        sizes = [
            e.fields[F_PLAIN_LEN] for e, _ in chunks_of(agent)[0] if e.fields[F_RECORDING] == a
        ]
        expected = sum(sizes)
        source = agent.evictable_source()
        assert agent.retention.evictable_bytes(source, wall) == expected
        assert agent.evict() == expected
        chunks, named = chunks_of(agent)
        for e, on_card in chunks:
            rec = e.fields[F_RECORDING]
            assert on_card == (rec != a), (rec, e.seq)
        assert sorted(named) == sorted(media_digest(e.fields) for e, _ in chunks[:N])
        # The host receives C and D: C goes, D is younger than the floor and stays.
        agent.host_receipt(agent.memory.seq)
        agent.evict()
        chunks, _ = chunks_of(agent)
        for e, on_card in chunks:
            rec = e.fields[F_RECORDING]
            assert on_card == (rec in (b, young)), (rec, e.seq)
        assert agent.retention.evictable_bytes(agent.evictable_source(), clock.wall_ms()) == 0
        agent.shut_down()
        assert verdict(entries_of(d)) == OK


def test_months_of_eviction_go_in_events_of_a_bounded_size():  # R-DEV-4
    with SmallSpans(), TempDir() as d:
        clock = SetClock()
        agent = power_on(d, clock)
        agent.eviction_event_files = 5
        film(agent, clock, N)
        agent.host_receipt(agent.memory.seq)
        clock.advance(190 * DAY_MS)
        freed = agent.evict()
        chunks, named = chunks_of(agent)
        assert not any(on_card for _, on_card in chunks)
        assert sorted(named) == sorted(media_digest(e.fields) for e, _ in chunks)
        assert freed == sum(e.fields[F_PLAIN_LEN] for e, _ in chunks)
        events = [
            e.fields[F_DETAIL]["media"]
            for e in entries_of_store(agent)
            if e.kind != KIND_CHUNK and e.fields[F_EVENT] == EV_EVICTION
        ]
        assert len(events) == 5 and all(len(media) <= 5 for media in events)
        agent.shut_down()


def entries_of_store(agent) -> list:
    return [parse_entry(raw) for raw in agent.store.entries()]


def test_a_file_two_chunks_share_stays_while_the_younger_needs_it():  # R-DEV-4
    with SmallSpans(), TempDir() as d:
        clock = SetClock()
        agent = power_on(d, clock)
        film(agent, clock, 5, same=True)  # a still scene: one file
        clock.advance(190 * DAY_MS)
        film(agent, clock, 5, same=True)  # the same bytes again, young
        agent.host_receipt(agent.memory.seq)
        agent.evict()
        chunks, named = chunks_of(agent)
        assert all(on_card for _, on_card in chunks)  # the young chunks' file is still there
        assert named == []
        agent.shut_down()


def fmp4_film(agent, clock: SetClock, frames: int) -> None:
    agent.camera = SceneCamera(frames, pad=400)
    agent.input("press_record")
    while agent.capture():
        clock.advance(33)
    agent.input("press_stop")


# Issue 12: a recording's init segment stays on the card while any fragment of it does,
# and goes (named in an eviction event) once the frontier has passed the recording.
def test_the_init_segment_stays_while_a_fragment_of_its_recording_does():
    with SmallSpans(), TempDir() as d:
        clock = SetClock()
        # Two sizes, so the two init segments differ (the same settings give the same
        # bytes, one file that both recordings name, which stays for the younger).
        for width in (640, 320):
            packager = Fmp4Packager(video_track("jpeg", b"", width, 360), None)
            agent = power_on(d, clock, SceneCamera(0), packager)
            fmp4_film(agent, clock, 60)
            clock.advance(DAY_MS)
            if width == 640:
                agent.shut_down()
        agent.host_receipt(agent.memory.seq)
        clock.advance(200 * DAY_MS)
        inits: dict = {}
        order = []  # the recordings in ledger order (a dict's order is not, on MicroPython)
        for e, _ in chunks_of(agent)[0]:
            if e.fields[F_MEDIA_TYPE] == MEDIA_MP4_INIT:
                inits[e.fields[F_RECORDING]] = media_digest(e.fields)
                order.append(e.fields[F_RECORDING])
        assert len(inits) == 2
        steps = 0
        while agent.evict(1) > 0:
            steps += 1
            chunks, _ = chunks_of(agent)
            for rec, init in inits.items():
                fragments = [
                    on_card
                    for e, on_card in chunks
                    if e.fields[F_RECORDING] == rec and e.fields[F_MEDIA_TYPE] != MEDIA_MP4_INIT
                ]
                init_on_card = next(on for e, on in chunks if media_digest(e.fields) == init)
                if any(fragments):
                    assert init_on_card, "an init segment went before its fragments"
        assert steps > 3
        chunks, named = chunks_of(agent)
        first, second = order
        assert inits[first] in named  # passed: the next recording's chunks went too
        assert inits[second] not in named  # the last recording's: nothing after it yet
        agent.shut_down()
        assert verdict(entries_of(d)) == OK


def test_a_checkpoint_is_saved_every_few_spans_while_recording():  # R-DEV-14
    with SmallSpans(), TempDir() as d:
        clock = SetClock()
        agent = power_on(d, clock)
        film(agent, clock, 8 * 4 + 2)
        # No shut-down (the power went): the boot folds at most a few spans' entries again.
        agent.store.close()
        assert "checkpoint.bin" in os.listdir(d)  # saved as the spans closed
        saved = agent.memory.index.spans.length
        agent = power_on(d, clock)
        got = agent.memory.index
        assert got.spans.length == saved
        assert agent.memory.seq > 8 * 4
        agent.shut_down()
        assert rebuilt_events(d) == []


def two_days(d: str) -> SetClock:
    clock = SetClock()
    agent = power_on(d, clock)
    film(agent, clock, N)
    clock.advance(DAY_MS)
    film(agent, clock, N)
    agent.shut_down()
    return clock


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def rebuilt_events(d: str) -> list:
    return [
        e.fields[F_DETAIL]["reason"]
        for e in entries_of(d)
        if e.kind != KIND_CHUNK and e.fields[F_EVENT] == EV_INDEX_REBUILT
    ]


def test_a_missing_index_is_rebuilt_once_with_a_signed_event():
    with SmallSpans(), TempDir() as d:
        clock = two_days(d)
        spans = d + "/" + FOLDER + "/" + SPANS_NAME
        before = read(spans)
        os.remove(spans)
        agent = power_on(d, clock)
        assert read(spans)[: len(before)] == before  # the same spans again
        agent.shut_down()
        assert rebuilt_events(d) == ["missing"]
        power_on(d, clock).shut_down()
        assert rebuilt_events(d) == ["missing"]  # once
        assert verdict(entries_of(d)) == OK


def test_a_damaged_index_is_never_trusted():
    with SmallSpans(), TempDir() as d:
        clock = two_days(d)
        spans = d + "/" + FOLDER + "/" + SPANS_NAME
        data = bytearray(read(spans))
        data[-3] ^= 0x40  # the last record, which the checkpoint names
        write(spans, bytes(data))
        power_on(d, clock).shut_down()
        assert rebuilt_events(d) == ["damaged"]
        # A record in the middle, which a boot does not read: the first walk finds it.
        data = bytearray(read(spans))
        data[20] ^= 0x40
        write(spans, bytes(data))
        agent = power_on(d, clock)
        # The self-check's storage estimate walked into it, rebuilt the index and said so.
        assert rebuilt_events(d) == ["damaged", "damaged"]
        agent.host_receipt(agent.memory.seq)
        clock.advance(200 * DAY_MS)
        assert agent.evict() > 0
        agent.shut_down()
        assert rebuilt_events(d) == ["damaged", "damaged"]
        chunks, _ = chunks_of(agent)
        assert not any(on_card for _, on_card in chunks)
        assert verdict(entries_of(d)) == OK
