"""Every cut of a running agent leaves a signed power-loss event, with the bytes it caught.

A cut between two writes leaves every record whole and nothing in ``media/new``: only the
store's running mark tells it from a clean stop. A media write cut short is named with its
bytes once, and kept; the boot after that does not report it again.
"""
# R-DEV-14: an abnormal restart loses no footage already saved, and is never silent.

import os

from firmware.store import RUNNING_NAME, Store
from protocol.registry import EV_POWER_LOSS_RECOVERED, F_DETAIL, F_EVENT, KIND_EVENT
from protocol.verify import OK
from tests.firmware.helpers import events, start, verdict
from tests.portable import TempDir


def power_losses(path: str) -> list:
    _, entries = events(path)
    return [
        e.fields[F_DETAIL]
        for e in entries
        if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_POWER_LOSS_RECOVERED
    ]


def exists(path: str) -> bool:
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def record_and_cut(path: str, frames: int = 6) -> None:
    """Record, then lose power between two writes: no stop, no close."""
    agent, _ = start(path, frames=frames)
    agent.input("press_record")
    while agent.capture():
        pass
    assert exists(path + "/" + RUNNING_NAME)


def test_a_cut_between_two_writes_is_logged_though_the_store_looks_whole():
    with TempDir() as d:
        record_and_cut(d)
        store = Store(d)
        rec = store.recovery
        assert not rec.in_flight and rec.interrupted and not rec.clean
        store.close()  # a reader that wrote nothing leaves the mark for the agent
        assert exists(d + "/" + RUNNING_NAME)
        agent, _ = start(d, frames=0)
        agent.shut_down()
        lost = power_losses(d)
        assert len(lost) == 1 and lost[0]["interrupted"] is True
        assert lost[0]["torn_bytes"] == lost[0]["partial_bytes"] == lost[0]["orphan_bytes"] == 0
        assert not exists(d + "/" + RUNNING_NAME)  # closed cleanly: the next boot is quiet
        agent, _ = start(d, frames=0)
        agent.shut_down()
        assert len(power_losses(d)) == 1
        assert verdict(events(d)[1]) == OK


def test_a_clean_stop_is_never_taken_for_a_cut():
    with TempDir() as d:
        for _ in range(3):
            agent, _ = start(d, frames=3)
            agent.input("press_record")
            while agent.capture():
                pass
            agent.input("press_stop")
            agent.shut_down()
            assert not exists(d + "/" + RUNNING_NAME)
        assert power_losses(d) == []


def test_a_media_write_cut_short_is_named_with_its_bytes_once_and_kept():
    with TempDir() as d:
        record_and_cut(d)
        part = d + "/media/new/" + "ab" * 32 + ".part"
        with open(part, "wb") as f:
            f.write(b"x" * 1234)  # the write the cut caught, 1234 bytes in
        agent, _ = start(d, frames=0)
        agent.shut_down()
        lost = power_losses(d)
        assert len(lost) == 1
        assert lost[0]["partial_media"] == ["ab" * 32 + ".part"]
        assert lost[0]["partial_bytes"] == 1234  # today "0 bytes lost" beside the file
        kept = [n for n in os.listdir(d + "/media/new") if n.endswith(".cut")]
        assert len(kept) == 1 and kept[0].startswith("ab" * 32)
        assert os.stat(d + "/media/new/" + kept[0])[6] == 1234  # never deleted
        agent, _ = start(d, frames=0)  # a clean boot after it reports nothing again
        agent.shut_down()
        assert len(power_losses(d)) == 1
