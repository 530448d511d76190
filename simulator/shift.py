"""A scripted officer's shift written straight into a ledger: the smallest real job.

It stands in for the recorder until the firmware agent drives the ledger itself: the same
entry kinds and fields, the same writer and signer, synthetic frame bytes instead of a camera.
"""

import hashlib

from protocol.ledger import LedgerWriter
from protocol.registry import (
    EV_ANNOUNCEMENT,
    EV_BOOT,
    EV_PAUSE,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    EV_SELF_CHECK,
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
    MEDIA_H264,
    MEDIA_OPUS,
    PAUSE_PLACE_CHANGE,
)


class ShiftClock:
    """Virtual wall and monotonic time in ms, advanced by the script."""

    def __init__(self, wall_ms: int) -> None:
        self.wall = wall_ms
        self.mono = 0

    def advance(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms


def _chunk(recording: bytes, index: int, clock: ShiftClock, fps: int, media_type: int) -> dict:
    frames = [hashlib.sha256(b"%s:%d:%d" % (recording, index, i)).digest() for i in range(fps)]
    media = b"".join(frames)
    return {
        F_RECORDING: recording,
        F_CHUNK_INDEX: index,
        F_START_MS: clock.wall,
        F_END_MS: clock.wall + 1000,
        F_FRAME_HASHES: frames,
        F_MEDIA_TYPE: media_type,
        F_PLAIN_LEN: len(media),
        F_PLAIN_SHA: hashlib.sha256(media).digest(),
    }


def write_shift(
    writer: LedgerWriter, start_ms: int, officer: str, seconds: int = 60, fps: int = 30
) -> list:
    """Record a short enforcement action with one pause; return the encoded entries."""
    clock = ShiftClock(start_ms)
    out = []

    def event(code: int, fields: dict | None = None, sign: bool = False) -> bytes:
        f = {F_EVENT: code, F_OFFICER: officer}
        if fields:
            f.update(fields)
        raw = writer.append(KIND_EVENT, f, clock.wall, clock.mono, sign)
        out.append(raw)
        return raw

    def chunks(recording: bytes, first: int, count: int) -> int:
        for i in range(first, first + count):
            fields = _chunk(recording, i, clock, fps, MEDIA_H264)
            out.append(writer.append(KIND_CHUNK, fields, clock.wall, clock.mono))
            clock.advance(1000)
        return first + count

    event(EV_BOOT)
    event(EV_SELF_CHECK, {F_DETAIL: {"ok": True}})
    recording = b"rec-%d" % start_ms
    event(EV_RECORD_START, {F_RECORDING: recording})
    event(EV_ANNOUNCEMENT, {F_RECORDING: recording})
    half = max(1, seconds // 2)
    index = chunks(recording, 0, half)
    event(EV_PAUSE, {F_RECORDING: recording, F_REASON: PAUSE_PLACE_CHANGE})
    clock.advance(5 * 60 * 1000)
    spoken = writer.append(
        KIND_CHUNK, _chunk(recording, index, clock, 1, MEDIA_OPUS), clock.wall, clock.mono
    )
    out.append(spoken)
    spoken_hash = writer.prev
    clock.advance(1000)
    event(
        EV_RESUME,
        {F_RECORDING: recording, F_REASON: PAUSE_PLACE_CHANGE, F_SPOKEN: spoken_hash},
    )
    chunks(recording, index + 1, seconds - half)
    event(EV_RECORD_STOP, {F_RECORDING: recording}, sign=True)
    return out
