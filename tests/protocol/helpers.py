"""What the protocol tests share (portable): small real ledgers, built with the real writer
and signer, and a host and a device session joined back to back over a store in memory."""

import hashlib

from protocol.device_session import D_CLOSED, D_READY, DeviceSession
from protocol.host_session import H_CLOSED, H_READY, HostSession
from protocol.keys import DeviceKey
from protocol.ledger import MAX_ENTRY_BYTES, LedgerWriter
from protocol.messages import MIN_FRAME
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


# --- a host and a device session back to back ---

HOST_SEED = bytes(range(200, 232))
HOST_KID = "agency-1"
HOST = make_signer(HOST_SEED)
DEVICE_SIGNER = make_signer(SEED_A)
PINNED = {HOST_KID: HOST.public_key()}


class Randomness:
    """A deterministic random_bytes(n): different per instance and per call."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.n = 0

    def __call__(self, n: int) -> bytes:
        self.n += 1
        return hashlib.sha256(("%s %d" % (self.label, self.n)).encode()).digest()[:n]


class MemoryStore:
    """The store_view a session reads, over a list of entries and a dict of media; the
    digests in ``damaged`` name files it holds but cannot read back intact."""

    def __init__(self, entries: list, media: "dict | None" = None, damaged: tuple = ()) -> None:
        self.items = list(entries)
        self.media = media or {}
        self.damaged = set(damaged)

    def head(self) -> tuple:
        if not self.items:
            return 0, bytes(32)
        return len(self.items), hashlib.sha256(self.items[-1]).digest()

    def entries(self, from_seq: int = 0):
        yield from self.items[from_seq:]

    def read_media(self, digest: bytes) -> bytes:
        if digest in self.damaged:
            raise ValueError("media does not match its SHA-256: the file is damaged")
        if digest not in self.media:
            raise LookupError("media not held")
        return self.media[digest]

    def has_media(self, digest: bytes) -> bool:
        return digest in self.media or digest in self.damaged


def enrolled(device_id):
    return DEVICE_SIGNER.public_key() if device_id == DEVICE else None


def make_pair(store, label="s", host_kw=None, device_kw=None):
    hkw = {"max_frame": MIN_FRAME, "window": 2}
    hkw.update(host_kw or {})
    dkw = {"firmware": "1.0.0", "status": lambda: (87, 123456, T0)}
    dkw.update(device_kw or {})
    host = HostSession(enrolled, HOST, HOST_KID, Randomness("host " + label), **hkw)
    signer = dkw.pop("signer", DEVICE_SIGNER)
    pinned = dkw.pop("pinned", PINNED)
    device = DeviceSession(DEVICE, signer, pinned, store, Randomness("dev " + label), **dkw)
    return host, device


SENDS = ("send", "ack")  # events that carry a body for the peer
ANSWERED = ("time", "config")  # events the device's application accepts or refuses


def run(host, device, to_device, to_host=()):
    """Carry bodies both ways until neither side has more; return (host events, device
    events), without the sends."""
    to_device = list(to_device)
    to_host = list(to_host)
    host_events: list = []
    device_events: list = []
    while to_device or to_host:
        # A closed side reads no more: its link is shut (feeding it would be local misuse).
        if device.state == D_CLOSED:
            to_device = []
        if host.state == H_CLOSED:
            to_host = []
        if not to_device and not to_host:
            break
        if to_device:
            for ev in device.receive(to_device.pop(0)):
                (to_host.append(ev[1]) if ev[0] == "send" else device_events.append(ev))
                if ev[0] in ANSWERED:  # an application that takes every TIME and CONFIG
                    to_host.append(device.accept())
        else:
            for ev in host.receive(to_host.pop(0)):
                (to_device.append(ev[1]) if ev[0] in SENDS else host_events.append(ev))
    return host_events, device_events


def connect(store, label="s", host_kw=None, device_kw=None):
    host, device = make_pair(store, label, host_kw, device_kw)
    h, d = run(host, device, [host.start()])
    assert host.state == H_READY and device.state == D_READY, (h, d)
    return host, device, h, d


LOG_ROOT = hashlib.sha256(b"a host log root").digest()
LOG_ORIGIN = "sealcam evidence 00112233445566778899aabbccddeeff"


def receipt(host, items, through, log_size=None):
    """The host's RECEIPT through ``through`` of the ledger ``items`` (encoded entries),
    naming that entry's hash and a checkpoint of the host's log that holds it."""
    head = hashlib.sha256(items[through]).digest()
    return host.durable(through, head, log_size or through + 1, LOG_ROOT, LOG_ORIGIN)


def receipt_event(items, through, log_size=None):
    head = hashlib.sha256(items[through]).digest()
    return ("receipt", through, HOST_KID, head, log_size or through + 1, LOG_ROOT, LOG_ORIGIN)


def closed(events):
    return [ev for ev in events if ev[0] == "closed"]


def pull_all(host, device, digests):
    """Pull every digest, keeping the window full as pulls complete; return the host's
    events (without ACKs) in order, checking the device's window accounting at every step."""
    wanted = list(digests)
    events = []
    to_device = []
    to_host = []
    while wanted and host.pulls_outstanding() < host.window:
        to_device.append(host.pull_media(wanted.pop(0)))
    while to_device or to_host:
        if to_device:
            for ev in device.receive(to_device.pop(0)):
                if ev[0] == "send":
                    to_host.append(ev[1])
            assert device._open <= device.window and len(device._inflight) <= device.window
            assert device._open <= host.pulls_outstanding() + len(to_device)
            continue
        for ev in host.receive(to_host.pop(0)):
            if ev[0] in SENDS:
                to_device.append(ev[1])
                continue
            events.append(ev)
            if ev[0] in ("media-done", "gone") and wanted:
                to_device.append(host.pull_media(wanted.pop(0)))
    return events


def _bstr_head(n: int) -> bytes:
    return b"\x5a" + n.to_bytes(4, "big")


def overlapping_entries(n: int) -> bytes:
    """Well-formed COSE_Sign1 heads for DEVICE, each payload reaching to one shared end.

    Every head sits inside the payload of the ones before it and ends where they end, so
    each is a whole COSE_Sign1 whose payload must be read to refuse it: the costliest
    input for a search that tries every entry start.
    """
    first = make_entries(1)[0]
    protected = first[2 : 2 + 1 + first[2] - 0x40]  # DEVICE's protected header, as written
    block = MAX_ENTRY_BYTES // 2
    out = bytearray()
    while len(out) + block <= n:
        piece = bytearray()
        heads = []
        while len(piece) < block - 64:
            heads.append(len(piece))
            piece += b"\xd2\x84" + protected + b"\xa0" + _bstr_head(0) + b"\xa1"
        # Now set each payload's length so that it ends where the block's payload ends.
        payload_end = len(piece) + 8
        for h in heads:
            at = h + 2 + len(protected) + 1
            start = at + 5
            piece[at : at + 5] = _bstr_head(payload_end - start)
        piece += b"\x00" * (payload_end - len(piece)) + b"\x40"
        out += piece
    return bytes(out + b"\x00" * (n - len(out)))
