"""Evidence stores for the random-review and violations tests: one device's real recorder
(the firmware's state machine on a virtual clock) working a shift for two officers, with
the recordings each test needs, stored as a finished sync leaves them, with accounts."""

import hashlib

from firmware.recorder import STORE, STREAM_VIDEO
from host import items, people
from host.compliance import HOUR_MS
from protocol.registry import NO_RECORD_OBJECTIVE, NO_RECORD_PRIVACY, PAUSE_OTHER
from protocol.signer import make_signer
from simulator.shift import GOOD_CHECKS, ShiftScript
from tests.host.helpers import ACCOUNT_PASSWORD, evidence, with_accounts
from tests.protocol.helpers import DEVICE, SEED_A, T0

PASSWORD = ACCOUNT_PASSWORD
OFFICER_A = "P-0427"
OFFICER_B = "P-0815"
DAY_MS = 24 * HOUR_MS

ACCOUNTS = (
    ("legal", (people.LEGAL,), None),
    ("clerk", (people.CLERK,), None),
    ("admin", (people.ADMINISTRATOR,), None),
    ("wang", (people.OFFICER,), OFFICER_A),
)

# The recordings, in order: (officer, shape). "whole": announced, narrated, never paused;
# "other": paused for "another reason", resumed with a spoken reason; "bare": neither
# announced nor narrated, with frames lost by the capture queue; "late": whole, docked two
# days later.
SHIFT = (
    (OFFICER_A, "whole"),
    (OFFICER_A, "other"),
    (OFFICER_A, "bare"),
    (OFFICER_B, "whole"),
    (OFFICER_B, "late"),
)


def _record(s: ShiftScript, shape: str) -> None:
    s.do("press_record")
    if shape != "bare":
        s.do("announce_done")
        s.do("narration_done")
    s.film(2, 5, shape)
    if shape == "other":
        s.do("pause", PAUSE_OTHER)
        s.wait(60_000)
        s.do("resume")
        for i in range(3):
            s.do("audio", ("I stopped because %d" % i).encode())
            s.wait(1000)
        s.do("spoken_reason_done")
        s.film(1, 5, "after")
    if shape == "bare":
        s.do("overrun", 3, s.wall - 600, s.wall - 200, STREAM_VIDEO)
        s.film(1, 5, "after")
    s.do("press_stop")
    s.wait(10 * 60_000)


def shift(shape_list=SHIFT) -> "tuple[list, list, list]":
    """The shift's entries, split where the late recording starts (on time, late), and
    the chunks' media."""
    s = ShiftScript(make_signer(SEED_A), DEVICE, OFFICER_A, T0)
    s.entries += [a[1] for a in s.recorder.power_on(s.wall, s.mono, GOOD_CHECKS) if a[0] == STORE]
    # Work records of duties that could not be recorded (R-DEV-11): one saying why, one
    # giving only "objective cause" and nothing to name it.
    s.do("no_record", NO_RECORD_PRIVACY, "a minor's home")
    s.do("no_record", NO_RECORD_OBJECTIVE, "")
    cut = None
    for officer, shape in shape_list:
        s.recorder.officer_id = officer
        if shape == "late" and cut is None:
            cut = len(s.entries)
        _record(s, shape)
    cut = len(s.entries) if cut is None else cut
    return s.entries[:cut], s.entries[cut:], s.media


def store(path, accounts=ACCOUNTS):
    """The store: the shift docked an hour after it, but for the late recording, two days
    after, with its media; returns it and the recordings' item ids in the order of
    ``SHIFT``."""
    on_time, late, media = shift()
    ev = evidence(path)
    ev.add_entries(DEVICE, on_time, T0 + HOUR_MS)
    if late:
        ev.add_entries(DEVICE, late, T0 + 2 * DAY_MS)
    for blob in media:
        ev.put_media(hashlib.sha256(blob).digest(), blob)
    with_accounts(ev, accounts, PASSWORD)
    with ev.read() as cur:
        recs = sorted(items.find(cur), key=lambda it: it.rec)
    assert len(recs) == len(SHIFT)
    return ev, [it.item_id for it in recs]


SINCE = T0 - HOUR_MS
UNTIL = T0 + DAY_MS
