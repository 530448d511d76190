"""Power cut at every write: the store always recovers to exactly its whole records.

A recorded session's file operations (every write, rename and file creation, in order) are
traced; a cut at any byte of that trace is replayed into a fresh directory, the store is
reopened on it, and what it recovers is checked against what had been completely written.
Because the store syncs after each step, what survives a real cut is such a prefix of its
operations; the cut byte decides how much of the one write in progress landed.
"""
# micropython: skip (hypothesis, monkeypatching and the trace replay need CPython)
# R-DEV-14: after a power loss the store recovers to the last whole record, keeps all media
# and continues the chain. R-DEV-2: nothing completely written is ever lost or reordered.

import hashlib
import os
import shutil
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from firmware import store as store_module
from firmware.store import (
    HEADER_LEN,
    Store,
    encode_record,
    is_torn_tail,
    media_key,
    scan_records,
)
from protocol.crc32 import crc32
from protocol.ledger import LedgerWriter, parse_entry
from protocol.registry import F_FRAME_HASHES, KIND_CHUNK
from protocol.signer import make_signer
from protocol.verify import OK, OK_MISSING, verify_ledger
from tests.protocol.helpers import (
    DEVICE,
    SEED_A,
    T0,
    chunk_fields,
    device_key,
    entry_spec,
    make_entries,
)

KEY = device_key()


def media_of(i: int) -> bytes:
    return b"".join(chunk_fields(i)[F_FRAME_HASHES])


def session(n: int, sign_every: int = 1) -> list:
    out = []
    for i, raw in enumerate(make_entries(n, sign_every=sign_every)):
        out.append((raw, media_of(i) if parse_entry(raw).kind == KIND_CHUNK else None))
    return out


_verdicts: dict = {}


def verdict(raws: list) -> str:
    """The verifier's state for these entries, remembered: the sweeps ask about the same
    prefixes thousands of times."""
    blob = b"".join(raws)
    key = hashlib.sha256(blob).digest()
    if key not in _verdicts:
        _verdicts[key] = verify_ledger(blob, KEY.device_id, KEY.public).state
    return _verdicts[key]


# --- tracing the session's file operations ---


class Trace:
    """The store's file operations in order: ("create"|"open", rel), ("write", rel, bytes),
    ("rename", rel, rel)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.ops: list = []

    def rel(self, path: str) -> str:
        assert path.startswith(self.root + "/"), path
        return path[len(self.root) + 1 :]

    def opener(self, path: str, mode: str):
        self.ops.append(("create" if "w" in mode else "open", self.rel(path)))
        return _TracedFile(open(path, mode), self, self.rel(path))


class _TracedFile:
    def __init__(self, f, trace: Trace, rel: str) -> None:
        self.f = f
        self.trace = trace
        self.name = rel

    def write(self, data: bytes) -> int:
        self.trace.ops.append(("write", self.name, bytes(data)))
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()

    def fileno(self) -> int:
        return self.f.fileno()

    def close(self) -> None:
        self.f.close()


def record_session(root: str, pairs: list, monkeypatch, **kwargs) -> Trace:
    trace = Trace(root)
    real_rename = os.rename

    def rename(src: str, dst: str) -> None:
        trace.ops.append(("rename", trace.rel(src), trace.rel(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(store_module.os, "rename", rename)
    store = Store(root, opener=trace.opener, **kwargs)
    for raw, media in pairs:
        store.append(raw, media)
    store.close()
    monkeypatch.setattr(store_module.os, "rename", real_rename)
    return trace


def cut_points(trace: Trace, media_samples: bool = True) -> list:
    """(op index, bytes of that op applied): every byte of ledger writes, a few of media."""
    points = []
    for i, op in enumerate(trace.ops):
        if op[0] != "write":
            points.append((i, 0))
        elif op[1].startswith("ledger/"):
            points.extend((i, j) for j in range(len(op[2])))
        else:
            n = len(op[2])
            points.extend((i, j) for j in sorted({0, 1, n // 2, n - 1}))
    points.append((len(trace.ops), 0))
    return points


def replay(trace: Trace, index: int, partial: int) -> dict:
    """The files a power cut leaves: ops before ``index`` whole, op ``index`` cut."""
    files: dict = {}
    for i, op in enumerate(trace.ops[: index + 1]):
        kind = op[0]
        last = i == index
        if last and kind != "write":
            break
        if kind == "create":
            files[op[1]] = b""
        elif kind == "open":
            files.setdefault(op[1], b"")
        elif kind == "write":
            files[op[1]] += op[2][:partial] if last else op[2]
        elif kind == "rename":
            files[op[2]] = files.pop(op[1])
    return files


def materialise(root: str, files: dict) -> None:
    """Make the directory hold exactly ``files``, rewriting only what differs (fast sweeps)."""
    for d in ("ledger", "media", "media/new"):
        os.makedirs(root + "/" + d, exist_ok=True)
    for rel, data in on_disk(root).items():
        if files.get(rel) != data:
            os.remove(root + "/" + rel)
    held = on_disk(root)
    for rel, data in files.items():
        if rel not in held:
            path = root + "/" + rel
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)


def on_disk(root: str) -> dict:
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def whole_records(files: dict) -> list:
    """The entries of every record completely written, in segment order."""
    out = []
    for rel in sorted(r for r in files if r.startswith("ledger/")):
        records, _, _ = scan_records(files[rel])
        out.extend(p for _, p in records)
    return out


def continue_from(last) -> LedgerWriter:
    return LedgerWriter(make_signer(SEED_A), DEVICE, seq=last.seq + 1, prev=last.digest, boot=1)


def scratch(tmp_path) -> str:
    """Where cut states are replayed: RAM-backed when the system has it, for speed."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return tempfile.mkdtemp(prefix="sealcam-cut-", dir="/dev/shm")
    return str(tmp_path / "cut")


def check_cut(
    root: str, trace: Trace, pairs: list, index: int, partial: int, go_on: bool, **kwargs
) -> None:
    """Replay a cut, reopen, check what survived; with ``go_on``, append more and reopen."""
    files = replay(trace, index, partial)
    survivors = whole_records(files)
    materialise(root, files)
    store = Store(root, **kwargs)
    where = (index, partial, trace.ops[index][:2] if index < len(trace.ops) else "end")
    stored = list(store.entries())
    # Every whole record survives, in order, and nothing else does.
    assert stored == survivors, where
    assert stored == [raw for raw, _ in pairs[: len(stored)]], where
    if stored:
        assert verdict(stored) in (OK, OK_MISSING), where
        assert store.last_entry().raw == stored[-1]
    # The torn tail is gone: each segment is exactly its whole records.
    for name in os.listdir(root + "/ledger"):
        data = open(root + "/ledger/" + name, "rb").read()
        assert scan_records(data)[2] is None, (where, name)
    # Media of every surviving record is held; media of lost records is kept and reported.
    lost_media = set()
    for i, (_, media) in enumerate(pairs):
        if media is None:
            continue
        key = media_key(hashlib.sha256(media).digest())
        if i < len(stored):
            assert store.has_media(key), where
        elif store.has_media(key):
            lost_media.add(key)
    assert set(store.recovery.orphan_media) == lost_media, where
    if not go_on:
        store.close()
        return
    for _, media in pairs[: len(stored)]:
        if media is not None:
            assert store.read_media(hashlib.sha256(media).digest()) == media, where
    # The store goes on: the next entries (and their media) chain onto what survived.
    last = store.last_entry()
    if last is None:
        writer = LedgerWriter(make_signer(SEED_A), DEVICE)
    else:
        writer = continue_from(last)
    more = []
    for i in range(len(stored), len(stored) + 2):
        kind, fields = entry_spec(i)
        raw = writer.append(kind, fields, T0 + 1000 * i, 1000 * i, sign=True)
        store.append(raw, media_of(i) if kind == KIND_CHUNK else None)
        more.append(raw)
    store.close()
    again = Store(root, **kwargs)
    assert not again.recovery.torn_bytes, where
    assert list(again.entries()) == stored + more, where
    assert verdict(stored + more) in (OK, OK_MISSING), where
    again.close()


def test_a_power_cut_at_every_byte_loses_no_whole_record(tmp_path, monkeypatch):  # R-DEV-14
    pairs = session(30)
    trace = record_session(str(tmp_path / "rec"), pairs, monkeypatch)
    points = cut_points(trace)
    assert len(points) > sum(len(raw) for raw, _ in pairs)
    root = scratch(tmp_path)
    try:
        for index, partial in points:
            # Every cut inside one record recovers to the same state, so appending after it
            # is checked at op boundaries and once inside each record.
            go_on = partial == 0 or partial == 11
            check_cut(root, trace, pairs, index, partial, go_on)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_power_cuts_around_rollovers_and_a_signature_cadence(tmp_path, monkeypatch):  # R-DEV-14
    pairs = session(30, sign_every=4)
    trace = record_session(str(tmp_path / "rec"), pairs, monkeypatch, segment_bytes=2000)
    assert len([op for op in trace.ops if op[0] == "open"]) >= 4  # several segments
    # Every operation boundary, and every 7th byte inside the ledger writes.
    points = [p for p in cut_points(trace) if p[1] % 7 == 0 or p[1] == 1]
    root = scratch(tmp_path)
    try:
        for index, partial in points:
            check_cut(root, trace, pairs, index, partial, True, segment_bytes=2000)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- properties of the pure scan ---


def _valid_stream(payloads: list) -> bytes:
    return b"".join(encode_record(p) for p in payloads)


payload_lists = st.lists(st.binary(min_size=1, max_size=40), max_size=6)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_scan_never_crashes_on_random_bytes(data):
    records, end, problem = scan_records(data)
    _check_scan(data, records, end, problem)
    assert is_torn_tail(data) in (True, False)


@settings(max_examples=300)
@given(payload_lists, st.data())
def test_scan_of_mutated_records_returns_only_valid_ones(payloads, data):
    stream = bytearray(_valid_stream(payloads))
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        if not stream:
            break
        at = data.draw(st.integers(min_value=0, max_value=len(stream) - 1))
        stream[at] ^= data.draw(st.integers(min_value=1, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(stream)))
    blob = bytes(stream[:cut])
    records, end, problem = scan_records(blob)
    _check_scan(blob, records, end, problem)
    # Whatever scans clean is a prefix of what was written (short of a CRC-32 collision).
    got = [p for _, p in records]
    assert got == payloads[: len(got)]


def _check_scan(data: bytes, records: list, end: int, problem) -> None:
    pos = 0
    for offset, payload in records:
        assert offset == pos
        header = data[pos : pos + HEADER_LEN]
        assert int.from_bytes(header[:4], "big") == len(payload)
        assert int.from_bytes(header[4:], "big") == crc32(payload)
        pos += HEADER_LEN + len(payload)
    assert end == pos
    assert (problem is None) == (end == len(data))
    if problem is not None:
        assert problem[1] == end


# --- a stateful model: append, reopen, power cut at a random byte, evict ---


class StoreMachine(RuleBasedStateMachine):
    """The store against a list model of its durable entries and the media they hold."""

    def __init__(self) -> None:
        super().__init__()
        self.base = _fresh_dir()
        self.sync_every = 1
        self.store = Store(self.base)
        self.model: list = []  # entries the store holds, in order
        self.synced = 0  # how many of them a sync made durable
        self.media: dict = {}  # key -> bytes for media that must be readable
        self.evicted: set = set()
        self.writer = LedgerWriter(make_signer(SEED_A), DEVICE, sign_every=2)

    @rule(policy=st.sampled_from([1, 3, 0]))
    def reopen(self, policy):
        self.store.close()
        self.synced = len(self.model)
        self.sync_every = policy
        self.store = Store(self.base, sync_every=policy)
        rec = self.store.recovery
        assert rec.torn_bytes == 0 and rec.last_seq == len(self.model) - 1
        # Only media of records lost to a cut can be orphans; they stay until named.
        held = {media_key(hashlib.sha256(m).digest()) for _, m in self.model if m is not None}
        assert not held & set(rec.orphan_media)

    @rule(with_media=st.booleans())
    def append(self, with_media):
        i = len(self.model)
        if with_media:
            kind, fields = KIND_CHUNK, chunk_fields(i)
        else:
            kind, fields = entry_spec(1)
        raw = self.writer.append(kind, fields, T0 + 1000 * i, 1000 * i)
        media = media_of(i) if with_media else None
        self.store.append(raw, media)
        self.model.append((raw, media))
        if self.sync_every == 1 or (self.sync_every and len(self.model) % self.sync_every == 0):
            self.synced = len(self.model)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def power_cut(self, data):
        """Power fails: unsynced records may be lost, and the next one is half written."""
        self.store.close()  # the bytes past the cut are removed below, as a cut would
        keep = data.draw(st.integers(min_value=self.synced, max_value=len(self.model)))
        path = self.base + "/ledger/00000000.seg"
        end = sum(HEADER_LEN + len(raw) for raw, _ in self.model[:keep])
        # The record in flight: the first one lost, or the next one the agent was writing.
        if keep < len(self.model):
            in_flight = encode_record(self.model[keep][0])
        else:
            i = len(self.model)
            in_flight = encode_record(self.writer.append(KIND_CHUNK, chunk_fields(i), T0, i))
        torn = data.draw(st.integers(min_value=0, max_value=len(in_flight) - 1))
        with open(path, "r+b") as f:
            f.truncate(end)
            f.seek(end)
            f.write(in_flight[:torn])
        self.model = self.model[:keep]
        self.synced = keep
        self.store = Store(self.base, sync_every=self.sync_every)
        rec = self.store.recovery
        assert rec.last_seq == keep - 1
        assert rec.torn_bytes == torn and rec.torn_offset == (end if torn else -1)
        assert os.path.getsize(path) == end
        last = self.store.last_entry()
        if last is None:
            self.writer = LedgerWriter(make_signer(SEED_A), DEVICE, sign_every=2)
        else:
            self.writer = LedgerWriter(
                make_signer(SEED_A), DEVICE, seq=last.seq + 1, prev=last.digest, sign_every=2
            )

    @precondition(lambda self: any(m is not None for _, m in self.model[: self.synced]))
    @rule(data=st.data())
    def evict(self, data):
        self.store.sync()
        self.synced = len(self.model)
        held = [m for _, m in self.model if m is not None]
        media = data.draw(st.sampled_from(held))
        key = media_key(hashlib.sha256(media).digest())
        ledger = open(self.base + "/ledger/00000000.seg", "rb").read()
        self.store.evict_media(key)
        self.evicted.add(key)
        assert open(self.base + "/ledger/00000000.seg", "rb").read() == ledger

    @invariant()
    def entries_are_the_model(self):
        stored = list(self.store.entries())
        assert stored == [raw for raw, _ in self.model]
        if stored:
            # Entries are never rewritten: seq runs from 0 and the chain is unbroken.
            assert verdict(stored) in (OK, OK_MISSING)

    @invariant()
    def media_is_held_unless_evicted(self):
        for _, media in self.model:
            if media is None:
                continue
            key = media_key(hashlib.sha256(media).digest())
            assert self.store.has_media(key) == (key not in self.evicted), key

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.base, ignore_errors=True)


def _fresh_dir() -> str:
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="sealcam-store-", dir=shm)


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=40, stateful_step_count=25)
