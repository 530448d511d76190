"""A power cut at every byte of the on-card index's writes: the boot's state is the fold."""
# micropython: skip (copies whole store directories with shutil, a CPython library)
# R-DEV-14: after a power loss the agent runs on exactly what the ledger says. Issue 19:
# the on-card retention index is written after the ledger record it summarises and synced
# before a checkpoint names its length, so a cut anywhere in its writes after that
# checkpoint leaves bytes the boot cuts away and writes again from the ledger.

import os
import shutil

from firmware import retindex
from firmware.agent import boot
from firmware.memory import Memory
from firmware.retention import DAY_MS
from firmware.retindex import FOLDER, HELD_NAME, SPANS_NAME
from firmware.store import Store
from protocol.ledger import parse_entry
from protocol.registry import EV_INDEX_REBUILT, F_EVENT, KIND_CHUNK
from protocol.signer import make_signer
from tests.firmware.helpers import Log, SceneCamera, SetClock
from tests.protocol.helpers import DEVICE, SEED_A


def power_on(path: str, clock: SetClock):
    return boot(
        path, make_signer(SEED_A), DEVICE, "P-0427", clock, SceneCamera(0), Log(), sync_every=0
    )


def film(agent, clock: SetClock, chunks: int, mark: bool = False) -> None:
    agent.input("press_record")
    for i in range(chunks):
        clock.advance(1000)
        agent.input("frame", b"frame-%d-%d" % (clock.mono, i), True)
        if mark and i == chunks - 2:
            agent.input("mark_important")  # holds the spans already closed: a held range
    clock.advance(1000)
    agent.input("press_stop")


def snapshot(memory) -> tuple:
    index = memory.index
    kept = index.state()
    kept = kept[:11] + kept[13:]  # the walk's hints are caches of where the frontier is
    spans = [p for _, p in index.spans.records(0)]
    held = [p for _, p in index.held_file.records(0)]
    return kept, spans, held, memory.settings, memory.config_issued_ms, memory.seq


def folded(path: str) -> tuple:
    store = Store(path)
    memory = Memory()
    for seg, off, raw in store.positioned():
        memory.fold(parse_entry(raw), (seg, off))
    rebuilt = [
        e
        for e in (parse_entry(raw) for raw in store.entries())
        if e.kind != KIND_CHUNK and e.fields[F_EVENT] == EV_INDEX_REBUILT
    ]
    store.close()
    return snapshot(memory), len(rebuilt)


def read(path: str) -> bytes:
    """A file's bytes; none for a file never written (an index file is made at its first
    record)."""
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


def test_a_power_cut_at_every_byte_of_the_index_writes_leaves_the_ledger_fold(tmp_path):
    saved = retindex.SPAN_CHUNKS
    retindex.SPAN_CHUNKS = 4
    try:
        card = str(tmp_path / "card")
        clock = SetClock()
        agent = power_on(card, clock)
        film(agent, clock, 10)
        agent.shut_down()  # the checkpoint names the index as it is now
        index_dir = card + "/" + FOLDER + "/"
        named = {name: len(read(index_dir + name)) for name in (SPANS_NAME, HELD_NAME)}
        agent = power_on(card, clock)
        agent.checkpoint_every_spans = 10**6  # the checkpoint stays the one saved above
        film(agent, clock, 9, mark=True)
        clock.advance(DAY_MS)
        film(agent, clock, 5)
        agent.host_receipt(agent.memory.seq)
        agent.store.sync()
        agent.memory.index.sync()
        # The power goes now: the ledger is whole, the index written past the checkpoint.
        written = {name: read(index_dir + name) for name in named}
        assert all(len(written[n]) > named[n] for n in named)  # spans and a held range
        cuts = 0
        for name in (SPANS_NAME, HELD_NAME):
            for cut in range(named[name], len(written[name]) + 1):
                # A cut leaves the bytes written so far, or (some file systems) the
                # file's new length with zeros where the data did not land.
                for fill in (b"", b"\0") if cut % 5 == 0 else (b"",):
                    work = str(tmp_path / ("cut-%d" % cuts))
                    cuts += 1
                    shutil.copytree(card, work)
                    rest = fill * (len(written[name]) - cut)
                    with open(work + "/" + FOLDER + "/" + name, "wb") as f:
                        f.write(written[name][:cut] + rest)
                    booted = power_on(work, SetClock())
                    got = snapshot(booted.memory)
                    booted.store.close()
                    want, rebuilt = folded(work)
                    assert got == want, (name, cut, fill)
                    assert rebuilt == 0  # nothing was damaged: no rebuild was needed
                    shutil.rmtree(work)
        assert cuts > 150
    finally:
        retindex.SPAN_CHUNKS = saved


def test_an_index_cut_below_what_the_checkpoint_names_is_rebuilt_and_said(tmp_path):
    # What a cut cannot do (the index was synced before the checkpoint): a damaged card.
    saved = retindex.SPAN_CHUNKS
    retindex.SPAN_CHUNKS = 4
    try:
        card = str(tmp_path / "card")
        clock = SetClock()
        agent = power_on(card, clock)
        film(agent, clock, 10)
        agent.shut_down()
        spans = card + "/" + FOLDER + "/" + SPANS_NAME
        data = read(spans)
        with open(spans, "wb") as f:
            f.write(data[: len(data) - 5])
        booted = power_on(card, clock)
        got = snapshot(booted.memory)
        booted.store.close()
        want, rebuilt = folded(card)
        assert got == want
        assert rebuilt == 1
        assert not os.path.exists(spans + ".old")
    finally:
        retindex.SPAN_CHUNKS = saved
