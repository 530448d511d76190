"""The host session survives any signed entry: a field out of bounds or too long an unsigned
run is refused with its seq and reason, the good entries before it are stored and receipted,
and the session is recorded as refused (issue 10 §3)."""
# micropython: skip (host code, SQLite, hypothesis)

import io
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from firmware.ports.transports import Transport
from host.daemon import Daemon
from host.evidence import EvidenceError, SqliteEvidenceStore
from host.sync import HostLink
from protocol import cbor, framing
from protocol.bounds import ENTRY_FIELDS, MAX_UNSIGNED_RUN
from protocol.cose import encode_sign1, protected_header, to_be_signed
from protocol.device_session import DeviceSession
from protocol.ledger import entry_hash, parse_entry
from protocol.messages import ERR_INTERNAL, MAX_FRAME
from protocol.registry import (
    EV_BOOT,
    F_BOOT,
    F_DEVICE,
    F_EVENT,
    F_KIND,
    F_MONO_MS,
    F_PLAIN_SHA,
    F_PREV,
    F_SEQ,
    F_VERSION,
    F_WALL_MS,
    FORMAT_VERSION,
    KIND_CHUNK,
    KIND_EVENT,
)
from protocol.signer import make_signer
from tests.host.helpers import HOST_KID, HOST_SEED
from tests.protocol.helpers import DEVICE, SEED_A, T0, chunk_fields, device_key

SIGNER = make_signer(SEED_A)
PROTECTED = protected_header(DEVICE.encode())


def entry(payload: dict, sign: bool = True) -> bytes:
    """An entry with exactly this payload, signed with the enrolled key (or unsigned)."""
    body = cbor.dumps(payload)
    signature = SIGNER.sign(to_be_signed(PROTECTED, body)) if sign else b""
    return encode_sign1(PROTECTED, body, signature)


def common(seq: int, prev: bytes, kind: int, extra: "dict | None" = None) -> dict:
    payload = {
        F_VERSION: FORMAT_VERSION,
        F_DEVICE: DEVICE,
        F_SEQ: seq,
        F_PREV: prev,
        F_WALL_MS: T0 + seq,
        F_MONO_MS: seq,
        F_BOOT: 1,
        F_KIND: kind,
    }
    payload.update(extra or {})
    return payload


def ledger(extra: list, good: int = 3) -> list:
    """``good`` boot events, then one entry per payload-maker in ``extra``: each is called
    with (seq, prev) and returns ``(payload, signed)``."""
    raws: list = []
    prev = bytes(32)
    for seq in range(good):
        raws.append(entry(common(seq, prev, KIND_EVENT, {F_EVENT: EV_BOOT})))
        prev = entry_hash(raws[-1])
    for make in extra:
        payload, signed = make(len(raws), prev)
        raws.append(entry(payload, signed))
        prev = entry_hash(raws[-1])
    return raws


class Ledger:
    """The device's store as DeviceSession reads it: these entries, no media at all."""

    def __init__(self, raws: list) -> None:
        self.raws = raws

    def head(self) -> tuple:
        return len(self.raws), entry_hash(self.raws[-1]) if self.raws else bytes(32)

    def entries(self, from_seq: int = 0) -> list:
        return self.raws[from_seq:]

    def read_media(self, digest: bytes) -> bytes:
        raise KeyError("no such media")

    def has_media(self, digest: bytes) -> bool:
        return False


class InProcessDevice(Transport):
    """A device session behind the host's transport: what the host writes is answered at
    once, in the same thread, so a session runs with no socket, thread or timer."""

    def __init__(self, raws: list) -> None:
        pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
        self.session = DeviceSession(
            DEVICE, SIGNER, pinned, Ledger(raws), lambda n: bytes(n), status=self.status,
            max_frame=MAX_FRAME,
        )  # fmt: skip
        self.decoder = framing.StreamDecoder(MAX_FRAME + 1024)
        self.inbox: list = []
        self.receipts: list = []
        self.closed = ""

    def status(self) -> tuple:
        return 100, 1 << 30, T0

    def write(self, data: bytes) -> None:
        for kind, body in self.decoder.feed(data):
            if kind != framing.BODY or self.closed:
                continue
            for event in self.session.receive(body):
                if event[0] == "send":
                    self.inbox.append(framing.encode_stream(event[1], MAX_FRAME + 1024))
                elif event[0] == "time":  # this device takes the host's clock
                    answer = self.session.accept()
                    self.inbox.append(framing.encode_stream(answer, MAX_FRAME + 1024))
                elif event[0] == "receipt":
                    self.receipts.append(event[1])
                elif event[0] == "closed":
                    self.closed = event[2]

    def read(self) -> bytes:
        data = b"".join(self.inbox)
        self.inbox = []
        return data

    def at_eof(self) -> bool:
        return bool(self.closed) and not self.inbox


def dock(ev: SqliteEvidenceStore, raws: list) -> tuple:
    """One session through the daemon (which records it); (summary, device)."""
    device = InProcessDevice(raws)
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, out=io.StringIO())
    return daemon.serve_link(device, False, "test"), device


def evidence(path: Path) -> SqliteEvidenceStore:
    ev = SqliteEvidenceStore(path)
    ev.enrol(DEVICE, device_key().public)
    return ev


def short_plain_sha(seq: int, prev: bytes) -> tuple:
    fields = chunk_fields(seq)
    fields[F_PLAIN_SHA] = b"12345"
    return common(seq, prev, KIND_CHUNK, fields), True


# R-HOST-5, issue 10 §3
def test_a_signed_entry_with_a_bad_field_is_refused_by_seq_and_the_rest_receipted(tmp_path):
    ev = evidence(tmp_path / "ev")
    stop = lambda s, p: (common(s, p, KIND_EVENT, {F_EVENT: 4}), True)  # noqa: E731
    raws = ledger([short_plain_sha, stop])
    summary, device = dock(ev, raws)
    assert summary["result"].startswith("refused: entry seq 3: plain_sha must be 32 bytes")
    assert [parse_entry(r).seq for r in ev.entries(DEVICE)] == [0, 1, 2]
    assert device.receipts == [2]  # the good prefix is receipted: the device may free it
    assert "seq 3" in device.closed  # and told why the rest is not taken
    (recorded,) = ev.sessions(DEVICE)
    assert recorded["result"] == summary["result"]
    # The next dock says the same: never done, never a crash.
    summary2, _ = dock(ev, raws)
    assert summary2["result"].startswith("refused: entry seq 3")
    assert len(ev.sessions(DEVICE)) == 2
    ev.close()


# R-HOST-5, issue 10 §3: the unsigned run a host holds is bounded, and the bound said
def test_an_endless_unsigned_run_is_refused_at_the_bound_and_held_memory_stays_small(tmp_path):
    ev = evidence(tmp_path / "ev")

    def unsigned(seq: int, prev: bytes) -> tuple:
        return common(seq, prev, KIND_EVENT, {F_EVENT: EV_BOOT}), False

    raws = ledger([unsigned] * (MAX_UNSIGNED_RUN + 50))
    held = []
    real = HostLink._entries

    def watch(self, first_seq, entries):
        real(self, first_seq, entries)
        held.append(len(self.pending))

    HostLink._entries = watch  # type: ignore[method-assign]
    try:
        summary, device = dock(ev, raws)
    finally:
        HostLink._entries = real  # type: ignore[method-assign]
    assert summary["result"].startswith("refused: entry seq %d:" % (3 + MAX_UNSIGNED_RUN))
    assert "more than %d unsigned entries" % MAX_UNSIGNED_RUN in summary["result"]
    assert max(held) <= MAX_UNSIGNED_RUN
    assert ev.head(DEVICE)[0] == 3 and device.receipts == [2]
    ev.close()


# R-HOST-5, issue 11 §3: the host stores what protocol.verify's verifier vouches for, which
# checks the chain from the stored head on: an entry that does not chain to the one before it
# ends the session, and the entries before it are kept.
def test_an_entry_that_does_not_chain_is_refused_and_the_entries_before_it_are_kept(tmp_path):
    ev = evidence(tmp_path / "ev")
    unchained = lambda s, p: (common(s, bytes(32), KIND_EVENT, {F_EVENT: EV_BOOT}), False)  # noqa: E731
    stop = lambda s, p: (common(s, p, KIND_EVENT, {F_EVENT: 4}), True)  # noqa: E731
    raws = ledger([unchained, stop])
    why = (
        "refused: entry seq 3 does not chain to the entry before it: nothing from seq 3 on "
        "was stored"
    )
    summary, device = dock(ev, raws)
    assert summary["result"] == why
    assert ev.head(DEVICE)[0] == 3 and device.receipts == []
    # The next dock starts from the stored head, and checks the link to it.
    summary2, _ = dock(ev, raws)
    assert summary2["result"] == why and ev.head(DEVICE)[0] == 3
    ev.close()


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.sampled_from([0, -1, 1 << 63, (1 << 64) - 1, 1 << 64])
    | st.binary(max_size=40)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.integers(-2, 30) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def signed_entries(draw) -> tuple:
    """A payload that starts as a valid chunk or event continuing the chain, then has any of
    its fields (or unknown ones) replaced by anything CBOR holds, or removed; signed or not."""
    kind = draw(st.sampled_from([KIND_CHUNK, KIND_EVENT]))
    keys = [*sorted(ENTRY_FIELDS), 24, 99, -1]
    changes = draw(st.dictionaries(st.sampled_from(keys), _values, max_size=4))
    removed = draw(st.lists(st.sampled_from(sorted(ENTRY_FIELDS)), max_size=2))
    signed = draw(st.booleans())

    def make(seq: int, prev: bytes) -> tuple:
        extra = chunk_fields(seq) if kind == KIND_CHUNK else {F_EVENT: EV_BOOT}
        payload = common(seq, prev, kind, extra)
        payload.update(changes)
        for key in removed:
            payload.pop(key, None)
        return payload, signed

    return make


# R-HOST-5, issue 10 §3: whatever a validly signed entry holds, the session ends recorded
@given(signed_entries(), st.booleans())
def test_any_signed_entry_ends_in_a_recorded_outcome_never_an_exception(make, more):
    with tempfile.TemporaryDirectory() as tmp:
        ev = evidence(Path(tmp) / "ev")
        stop = lambda s, p: (common(s, p, KIND_EVENT, {F_EVENT: 4}), True)  # noqa: E731
        tail = [stop] if more else []
        summary, device = dock(ev, ledger([make, *tail]))
        (recorded,) = ev.sessions(DEVICE)
        assert recorded["result"] == summary["result"]
        stored = ev.head(DEVICE)[0]
        assert stored >= 3  # the good entries before it are always kept
        if summary["result"] == "done":
            assert device.receipts == [stored - 1]
        elif summary["result"].startswith("ended short"):
            # an unsigned last entry waits for a signature; the session says it stored less
            # than the device announced (issue 10 §1)
            assert stored == 3 and device.receipts == [2]
        else:
            assert summary["result"].startswith("refused: entry seq 3"), summary["result"]
            assert stored == 3 and device.receipts in ([], [2])
        ev.close()


# R-HOST-5, issue 10 §3: the store is the last gate, whoever calls it
def test_the_evidence_store_refuses_an_entry_out_of_bounds_whoever_offers_it(tmp_path):
    ev = evidence(tmp_path / "ev")
    raws = ledger([short_plain_sha])
    try:
        ev.add_entries(DEVICE, raws, 0)
    except EvidenceError as exc:
        assert str(exc) == "entry seq 3: plain_sha must be 32 bytes"
    else:
        raise AssertionError("an entry out of bounds was stored")
    assert ev.head(DEVICE)[0] == 0  # all or nothing
    ev.close()


def test_a_bug_in_the_host_session_is_err_internal_at_the_link_and_logged(tmp_path):
    # Issue 11 §2: the session lets its own failure through (tests/protocol/test_session.py);
    # the host link logs it, ends the session with ERR_INTERNAL and tells the device.
    ev = evidence(tmp_path / "ev")
    device = InProcessDevice(ledger([]))
    lines: list = []
    link = HostLink(
        ev, make_signer(HOST_SEED), HOST_KID, device, False,
        log=lambda event, **kv: lines.append((event, kv)),
    )  # fmt: skip

    def broken(fields: dict, out: list) -> None:
        raise ZeroDivisionError("a bug in the host's handler")

    link.session._on_status = broken
    summary = link.run()
    why = "ZeroDivisionError: a bug in the host's handler"
    assert summary["result"] == "closed: " + why
    assert ("internal-error", {"device": DEVICE, "reason": why}) in lines
    assert device.closed == why  # the device heard ERR_INTERNAL and why
    assert device.session.closed_reason == (ERR_INTERNAL, why, "peer")
    ev.close()
