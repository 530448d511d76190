"""Evidence stores for the case tests: one device whose real recorder (the firmware's state
machine on a virtual clock) made recordings of given shapes, stored as a finished sync
leaves them, indexed as items, with accounts to act as."""

from firmware.recorder import STORE
from host import items, people
from protocol.registry import PAUSE_WEATHER
from protocol.signer import make_signer
from simulator.shift import GOOD_CHECKS, ShiftScript
from tests.host.helpers import evidence, with_accounts
from tests.protocol.helpers import DEVICE, SEED_A, T0

PASSWORD = "correct horse battery"
OFFICER = "P-0427"

# What a recording may be like: whole (announced, never paused), paused (with its reason
# and the spoken explanation), unannounced, gapped (whole, but entries lost from the store
# afterwards), empty (started and stopped with no footage).
WHOLE = "whole"
PAUSED = "paused"
UNANNOUNCED = "unannounced"
GAPPED = "gapped"
EMPTY = "empty"
SHAPES = (WHOLE, PAUSED, UNANNOUNCED, GAPPED, EMPTY)


def record(s: ShiftScript, shape: str) -> None:
    s.do("press_record")
    if shape != UNANNOUNCED:
        s.do("announce_done")
    if shape != EMPTY:
        s.film(2, 5, shape)
    if shape == PAUSED:
        s.do("pause", PAUSE_WEATHER)
        s.wait(60_000)
        s.do("resume")
        for i in range(3):
            s.do("audio", ("the rain stopped %d" % i).encode())
            s.wait(1000)
        s.do("spoken_reason_done")
        s.film(1, 5, "after")
    s.do("press_stop")
    s.wait(10 * 60_000)


def store(path, shapes, accounts=(("clerk", (people.CLERK,), None),)):
    """An evidence store holding one recording of each of ``shapes`` (in that order), and
    the accounts ``(name, roles, officer id)``; returns it and the recordings' item ids."""
    s = ShiftScript(make_signer(SEED_A), DEVICE, OFFICER, T0)
    s.entries += [a[1] for a in s.recorder.power_on(s.wall, s.mono, GOOD_CHECKS) if a[0] == STORE]
    for shape in shapes:
        record(s, shape)
    ev = evidence(path)
    ev.add_entries(DEVICE, s.entries, T0 + 3_600_000)
    with_accounts(ev, accounts, PASSWORD)
    with ev.read() as cur:
        recs = sorted(items.find(cur), key=lambda it: it.rec)
    ids = [it.item_id for it in recs]
    assert len(ids) == len(shapes)
    for shape, it in zip(shapes, recs, strict=True):
        if shape == GAPPED:
            lose(ev, it)
    return ev, ids


def lose(ev, it: items.Item) -> None:
    """Entries lost from the middle of recording ``it`` after it was stored and indexed."""
    lo = it.rec + 3
    assert lo + 1 < it.last_seq, "the recording is too short to lose entries from"
    with ev.write() as cur:
        cur.execute(
            "DELETE FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ?",
            (it.device_id, lo, lo + 1),
        )
