"""Small real ledgers for tests, built with the real writer and signer (portable)."""

import hashlib

from protocol.keys import DeviceKey
from protocol.ledger import LedgerWriter
from protocol.registry import (
    EV_BOOT,
    EV_PAUSE,
    EV_RECORD_START,
    F_CHUNK_INDEX,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_REASON,
    F_RECORDING,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_H264,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer

SEED_A = bytes(range(32))
SEED_B = bytes(range(100, 132))
DEVICE = "SC-TEST-0001"
T0 = 1795420800000  # 2026-11-23 08:00 UTC, in ms


def device_key(seed: bytes = SEED_A, device: str = DEVICE) -> DeviceKey:
    signer = make_signer(seed)
    return DeviceKey(device, signer.public_key(), seed)


def chunk_fields(index: int) -> dict:
    frames = [hashlib.sha256(("frame %d %d" % (index, i)).encode()).digest() for i in range(3)]
    media = b"".join(frames)
    return {
        F_RECORDING: b"rec-0001",
        F_CHUNK_INDEX: index,
        F_START_MS: T0 + 1000 * index,
        F_END_MS: T0 + 1000 * (index + 1),
        F_FRAME_HASHES: frames,
        F_MEDIA_TYPE: MEDIA_H264,
        F_PLAIN_LEN: len(media),
        F_PLAIN_SHA: hashlib.sha256(media).digest(),
    }


def entry_spec(i: int) -> tuple:
    """The (kind, fields) of the i-th entry of a test ledger."""
    if i == 0:
        return KIND_EVENT, {F_EVENT: EV_BOOT}
    if i == 1:
        return KIND_EVENT, {F_EVENT: EV_RECORD_START}
    if i % 5 == 4:
        return KIND_EVENT, {F_EVENT: EV_PAUSE, F_REASON: PAUSE_WEATHER}
    return KIND_CHUNK, chunk_fields(i)


def make_writer(seed: bytes = SEED_A, device: str = DEVICE, sign_every: int = 1) -> LedgerWriter:
    return LedgerWriter(make_signer(seed), device, sign_every=sign_every)


def make_entries(
    n: int = 8, seed: bytes = SEED_A, device: str = DEVICE, sign_every: int = 1, sign_last=True
) -> list:
    """``n`` encoded entries; the last is signed unless ``sign_last`` is False."""
    writer = make_writer(seed, device, sign_every)
    return extend(writer, 0, n, sign_last)


def extend(writer: LedgerWriter, start: int, n: int, sign_last=True) -> list:
    out = []
    for i in range(start, start + n):
        kind, fields = entry_spec(i)
        last = i == start + n - 1
        out.append(writer.append(kind, fields, T0 + 1000 * i, 1000 * i, sign=last and sign_last))
    return out
