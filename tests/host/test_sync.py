"""A device and the host sync over a real link: a socket pair, and a pseudo-terminal opened
with pyserial. Entries and media arrive verified and stored once; the device gets a receipt."""
# micropython: skip (host code, threads and sockets)

import io
import json
import os
import re
import socket
import threading

import serial

from firmware.agent import boot
from firmware.link import DeviceLink
from firmware.ports.transports import SerialTransport, SocketTransport
from firmware.store import Store
from host.cli import build_parser
from host.daemon import Daemon
from host.evidence import SqliteEvidenceStore, chunk_media
from host.progress import SessionView
from host.sync import HostLink
from protocol import framing
from protocol.device_session import DeviceSession
from protocol.host_session import HostSession
from protocol.ledger import Entry, parse_entry
from protocol.messages import GONE_DAMAGED, GONE_NOT_FOUND, MAX_FRAME
from protocol.registry import EV_CLOCK_SET, EV_HOST_RECEIPT, F_EVENT, KIND_CHUNK, KIND_EVENT
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.helpers import Log, SceneCamera, StepClock, recorded_device
from tests.host.helpers import (
    HOST_KID,
    HOST_SEED,
    QUIET_S,
    Tty,
    daemon_sessions,
    evidence,
    joined,
    media_file,
    run_pair,
)
from tests.protocol.helpers import DEVICE, SEED_A, SEED_B, device_key


def test_sync_over_a_socket_stores_everything_once_and_receipts_it(tmp_path):
    agent = recorded_device(tmp_path / "dev")
    ev = evidence(tmp_path / "ev")
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    stored = ev.entries(DEVICE)
    assert verify_ledger(b"".join(stored), DEVICE, device_key().public).state == OK
    assert summary["media_stored"] > 0 and summary["clock_drift_ms"] is not None
    assert device.receipts == [len(stored) - 1]
    assert all(m.received for m in agent.catalogue)
    # The device logged the host's time and the receipt in its own ledger, and a second
    # sync brings exactly those new entries, once.
    summary2, _, _ = run_pair(agent, ev)
    assert summary2["result"] == "done" and summary2["media_stored"] == 0
    again = ev.entries(DEVICE)
    codes = [parse_entry(r).fields.get(F_EVENT) for r in again[len(stored) :]]
    assert EV_CLOCK_SET in codes and EV_HOST_RECEIPT in codes
    assert [parse_entry(r).seq for r in again] == list(range(len(again)))
    agent.store.close()
    ev.close()


def test_unenrolled_device_is_refused_and_nothing_stored(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=3)
    ev = evidence(tmp_path / "ev", enrol=False)
    summary, device, _ = run_pair(agent, ev)
    assert "not enrolled" in summary["result"] or "unknown" in summary["result"].lower()
    assert ev.entries(DEVICE) == [] and device.receipts == []
    agent.store.close()


def test_a_host_the_device_does_not_trust_gets_nothing(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=3)
    ev = evidence(tmp_path / "ev")
    summary, device, _ = run_pair(agent, ev, host_seed=SEED_B)
    assert summary["result"] != "done"
    assert ev.entries(DEVICE) == [] and device.receipts == []
    agent.store.close()


def test_sync_over_a_pseudo_terminal_with_pyserial(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=6)
    ev = evidence(tmp_path / "ev")
    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), baudrate=921600, timeout=0.05)

    class PtyEnd:
        def read(self):
            try:
                return os.read(master, 65536)
            except BlockingIOError:
                return b""

        def write(self, data):
            os.write(master, data)

        def at_eof(self):
            return False

    os.set_blocking(master, True)
    pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
    device = DeviceLink(agent, make_signer(SEED_A), pinned, PtyEnd(), True, os.urandom)
    t = threading.Thread(target=device.run, daemon=True)
    t.start()
    host = HostLink(
        ev, make_signer(HOST_SEED), HOST_KID, SerialTransport(port), True, idle_s=QUIET_S
    )
    summary = host.run()
    joined(t)
    port.close()
    os.close(master)
    assert summary["result"] == "done", summary
    stored = ev.entries(DEVICE)
    assert verify_ledger(b"".join(stored), DEVICE, device_key().public).state == OK
    assert device.receipts == [len(stored) - 1]
    events = [parse_entry(r) for r in Store(str(tmp_path / "dev")).entries()]
    assert any(e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_HOST_RECEIPT for e in events)


def test_progress_is_logged_per_device_with_rate_and_time_left(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=30)
    ev = evidence(tmp_path / "ev")
    a, b = socket.socketpair()
    pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
    device = DeviceLink(agent, make_signer(SEED_A), pinned, SocketTransport(a), False, os.urandom)
    t = threading.Thread(target=device.run)
    t.start()
    ticks = iter(range(10**6))
    lines = []
    host = HostLink(
        ev,
        make_signer(HOST_SEED),
        HOST_KID,
        SocketTransport(b),
        False,
        clock=lambda: float(next(ticks)),  # every reading is a second later
        log=lambda event, **kv: lines.append((event, kv)),
        # On that clock a few quiet reads (a starved device thread) would pass for ten
        # seconds of silence: the idle limit must not count them.
        idle_s=10.0**9,
    )
    assert host.run()["result"] == "done"
    joined(t)
    a.close()
    b.close()
    progress = [kv for event, kv in lines if event == "progress"]
    assert progress and progress[0]["device"] == DEVICE
    assert {"entries", "bytes", "rate_Bps", "eta_s"} <= set(progress[0])
    agent.store.close()


def test_a_tampered_entry_is_refused_and_only_what_precedes_it_is_stored(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=9)
    ev = evidence(tmp_path / "ev")
    real = agent.store

    class Tampering:
        """The device's store as an attacker with the SD card would leave it."""

        def __getattr__(self, name):
            return getattr(real, name)

        def entries(self, from_seq=0):
            for i, raw in enumerate(real.entries(from_seq), start=from_seq):
                yield raw if i != 5 else raw[:-1] + bytes([raw[-1] ^ 1])

    agent.store = Tampering()
    summary, device, _ = run_pair(agent, ev)
    assert "bad signature" in summary["result"] or "seq 5" in summary["result"], summary
    assert [parse_entry(r).seq for r in ev.entries(DEVICE)] == [0, 1, 2, 3, 4]
    assert device.receipts == []
    real.close()


def test_a_host_that_dies_before_the_receipt_leaves_the_device_nothing_to_evict(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=12)
    ev = evidence(tmp_path / "ev")

    class Crash(Exception):
        pass

    real_begin = ev.begin_media

    def dying_begin(digest):
        writer = real_begin(digest)

        def finish():
            raise Crash("power cut on the host")  # mid-session, entries already committed

        writer.finish = finish
        return writer

    ev.begin_media = dying_begin
    try:
        run_pair(agent, ev)
    except Crash:
        pass
    assert ev.head(DEVICE)[0] > 0  # the entries were stored, their media was not
    assert not any(m.received for m in agent.catalogue)  # no receipt: nothing may be evicted
    ev.begin_media = real_begin
    summary, device, _ = run_pair(agent, ev)  # the host is back: the next dock completes
    assert summary["result"] == "done"
    assert device.receipts and all(m.received for m in agent.catalogue)
    # The media of the entries stored before the crash came in the second session: the
    # receipt covers nothing the host lacks.
    stored = [parse_entry(r) for r in ev.entries(DEVICE)]
    assert ev.check_media(stored) == [] and ev.missing_media(DEVICE) == []
    assert summary["media_stored"] == sum(1 for e in stored if e.kind == KIND_CHUNK)
    agent.store.close()


def stranger(path):
    """A device the host has never enrolled."""
    agent = boot(str(path), make_signer(SEED_B), "SC-STRANGER", "P-0001", StepClock(),
                 SceneCamera(3, pad=200), Log())  # fmt: skip
    agent.input("press_record")
    while agent.capture():
        pass
    agent.input("press_stop")
    return agent


def test_the_daemon_on_a_terminal_shows_live_sessions_and_their_outcomes(tmp_path):
    ev = evidence(tmp_path / "ev")
    good = recorded_device(tmp_path / "good")
    bad = stranger(tmp_path / "bad")
    screen = Tty()
    out = Tty()  # stdout is the same terminal: log lines would tear the view
    view = SessionView(screen, width=160)
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, out=out, view=view, idle_s=QUIET_S)
    daemon.log("listening", tcp="127.0.0.1:7878")
    daemon_sessions(tmp_path, daemon, [(good, SEED_A), (bad, SEED_B)])
    daemon.refresh()
    shown = re.sub(r"\x1b\[\d*[A-Za-z]|\r", "", screen.getvalue())
    assert out.getvalue() == ""
    assert "listening tcp=127.0.0.1:7878" in shown
    lines = {line.split()[0]: line for line in shown.splitlines() if line.startswith("SC-")}
    assert lines[DEVICE].split()[2] == "done"
    assert lines["SC-STRANGER"].split()[2] == "failed" and "not enrolled" in lines["SC-STRANGER"]
    daemon.finish()  # the daemon stops: the summary is the last line, left on screen
    final = re.sub(r"\x1b\[\d*[A-Za-z]|\r", "", screen.getvalue()).rstrip().splitlines()[-1]
    assert final.startswith("0 active, 1 done, 1 failed")
    good.store.close()
    bad.store.close()
    ev.close()


def test_the_daemon_elsewhere_logs_one_json_object_per_event_as_its_help_documents(tmp_path):
    ev = evidence(tmp_path / "ev")
    good = recorded_device(tmp_path / "good")
    bad = stranger(tmp_path / "bad")
    out = io.StringIO()
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, as_json=True, out=out, idle_s=QUIET_S)
    daemon_sessions(tmp_path, daemon, [(good, SEED_A), (bad, SEED_B)])
    daemon.finish()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    states = [e["state"] for e in events if e["event"] == "state" and e["device"] == DEVICE]
    assert states[-4:] == ["pulling", "storing", "receipt", "done"]
    failed = [e for e in events if e["event"] == "state" and e["state"] == "failed"]
    assert len(failed) == 1 and "not enrolled" in failed[0]["reason"]
    sessions = [e for e in events if e["event"] == "session"]
    assert sorted(s["result"] == "done" for s in sessions) == [False, True]
    assert events[-1]["event"] == "summary"
    assert (events[-1]["sessions"], events[-1]["done"], events[-1]["failed"]) == (2, 1, 1)
    assert events[-1]["bytes_stored"] == sum(s["bytes_stored"] for s in sessions) > 0
    helptext = build_parser()._subparsers._group_actions[0].choices["sync"].format_help()
    for name in {e["event"] for e in events}:
        assert re.search(r"^    %s " % re.escape(name), helptext, re.M), name
    good.store.close()
    bad.store.close()
    ev.close()


def chunk_digests(agent):
    return [chunk_media(parse_entry(r))[0] for r in agent.store.entries() if
            chunk_media(parse_entry(r))]  # fmt: skip


def test_media_altered_on_its_way_is_refused_though_it_is_hashed_as_it_arrives(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=90, pad=2000)  # 3 media, 4 DATA each
    ev = evidence(tmp_path / "ev")
    real = agent.store
    victim = chunk_digests(agent)[1]

    class Altering:
        """The device's store with one media file changed after it was signed."""

        def __getattr__(self, name):
            return getattr(real, name)

        def read_media(self, digest):
            data = real.read_media(digest)
            if digest != victim:
                return data
            return data[:40000] + bytes([data[40000] ^ 0x20]) + data[40001:]

    agent.store = Altering()
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"].startswith("refused: media does not match its SHA-256"), summary
    assert device.receipts == [] and not any(m.received for m in agent.catalogue)
    assert not ev.has_media(victim) and victim in [d for d, _ in ev.missing_media(DEVICE)]
    assert list((tmp_path / "ev" / "media" / "incoming").iterdir()) == []  # nothing half-kept
    agent.store = real
    summary, device, _ = run_pair(agent, ev)  # the true bytes come next time
    assert summary["result"] == "done" and ev.has_media(victim)
    assert ev.check_media([parse_entry(r) for r in ev.entries(DEVICE)]) == []
    real.close()


class CutCable(SocketTransport):
    """The device's end of a link whose cable is pulled after ``budget`` bytes."""

    budget = 0

    def write(self, data: bytes) -> None:
        if self.eof:
            return
        if len(data) > self.budget:
            self.sock.sendall(data[: self.budget])
            self.sock.shutdown(socket.SHUT_RDWR)
            self.eof = True
            return
        self.budget -= len(data)
        self.sock.sendall(data)

    def read(self) -> bytes:
        return b"" if self.eof else super().read()


def test_a_link_dropped_with_media_pulls_in_flight_resumes_and_stores_each_once(tmp_path):
    agent = recorded_device(tmp_path / "dev", frames=90, pad=2000)
    ev = evidence(tmp_path / "ev")
    digests = chunk_digests(agent)
    entry_bytes = sum(len(r) for r in agent.store.entries())
    pulls = []
    real_pull = HostSession.pull_media

    def watched_pull(session, digest, offset=0):
        pulls.append((digest, session.pulls_outstanding()))
        return real_pull(session, digest, offset)

    sizes = [len(agent.store.read_media(d)) for d in digests]

    class Cut(CutCable):
        budget = entry_bytes + sizes[0] + sizes[1] // 2  # the first media, half the second

    HostSession.pull_media = watched_pull
    try:
        summary, device, _ = run_pair(agent, ev, device_end=Cut)
    finally:
        HostSession.pull_media = real_pull
    assert summary["result"].startswith("link lost"), summary
    assert [d for d, _ in pulls] == digests and max(n for _, n in pulls) >= 1  # pipelined
    assert device.receipts == [] and ev.head(DEVICE)[0] > 0
    # The media that came whole is kept; the one cut off, and the one after it, are not.
    missing = [d for d, _ in ev.missing_media(DEVICE)]
    assert missing == digests[1:] and ev.has_media(digests[0])
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done" and summary["media_stored"] == len(missing)
    assert device.receipts and all(m.received for m in agent.catalogue)
    stored = [parse_entry(r) for r in ev.entries(DEVICE)]
    assert [e.seq for e in stored] == list(range(len(stored)))  # each entry once, in order
    assert ev.check_media(stored) == [] and ev.missing_media(DEVICE) == []
    agent.store.close()


def test_entries_are_committed_in_batches_and_the_last_while_media_streams(tmp_path, monkeypatch):
    agent = recorded_device(tmp_path / "dev", frames=1500, pad=10)  # entries fill 3 DATA
    ev = evidence(tmp_path / "ev")
    monkeypatch.setattr("host.sync.COMMIT_EVERY", 4)
    commits = []
    real_add = ev.add_entries

    def counting_add(device_id, entries, received_ms):
        assert all(isinstance(e, Entry) for e in entries)  # parsed once, by the link
        commits.append(len(entries))
        return real_add(device_id, entries, received_ms)

    ev.add_entries = counting_add
    summary, _device, _ = run_pair(agent, ev)
    assert summary["result"] == "done"
    total = len(ev.entries(DEVICE))
    assert sum(commits) == total and len(commits) >= 2 and max(commits) < total
    agent.store.close()


def test_the_host_offers_the_largest_frame_and_the_device_chooses(tmp_path):
    # A device that offers 64 KiB frames (a terminal on a fast link) gets them; the
    # default device offers 16 KiB, and that is what is used (the other tests).
    agent = recorded_device(tmp_path / "dev", frames=3)
    ev = evidence(tmp_path / "ev")
    sock = socket.socket()
    host = HostLink(ev, make_signer(HOST_SEED), HOST_KID, SocketTransport(sock), False)
    pinned = {HOST_KID: make_signer(HOST_SEED).public_key()}
    signer = make_signer(SEED_A)
    device = DeviceSession(DEVICE, signer, pinned, agent.store, os.urandom, max_frame=MAX_FRAME)
    device.receive(host.session.start())
    assert device.max_frame == MAX_FRAME
    body = bytes(MAX_FRAME)
    frame = framing.encode_stream(body, MAX_FRAME)
    assert host.framer.decoder.feed(frame) == [(framing.BODY, body)]
    sock.close()
    agent.store.close()
    ev.close()


def test_a_device_that_lost_a_file_mid_list_hands_over_the_rest_and_gets_its_receipt(tmp_path):
    # R-DEV-4: one lost file must not keep the device from its receipts (and so from ever
    # freeing space); R-HOST-1: every other file still reaches the evidence store.
    agent = recorded_device(tmp_path / "dev", frames=150, pad=200)
    ev = evidence(tmp_path / "ev")
    digests = chunk_digests(agent)
    assert len(set(digests)) == len(digests) >= 5
    lost = digests[2]
    original = agent.store.read_media(lost)
    path = media_file(agent, lost)
    os.remove(path)  # never written whole, say: the card holds no file
    lines = []
    summary, device, _ = run_pair(agent, ev, log=lambda event, **kv: lines.append((event, kv)))
    assert summary["result"] == "done", summary
    assert summary["media_gone"] == 1 and summary["media_stored"] == len(digests) - 1
    assert [ev.has_media(d) for d in digests] == [d != lost for d in digests]
    assert device.receipts == [ev.head(DEVICE)[0] - 1]
    assert all(m.received for m in agent.catalogue)
    [record] = ev.gone_media(DEVICE)
    assert (record["digest"], record["reason"]) == (lost, GONE_NOT_FOUND)
    assert "not in the store" in record["text"]
    gone_logs = [kv for event, kv in lines if event == "media-gone"]
    assert gone_logs == [
        {"device": DEVICE, "digest": lost.hex(), "reason": "not-found", "text": record["text"]}
    ]
    helptext = build_parser()._subparsers._group_actions[0].choices["sync"].format_help()
    assert re.search(r"^    media-gone +link, device, digest, reason", helptext, re.M)
    # Still noted missing: a later dock asks again, and stores the file if it is back.
    assert [d for d, _ in ev.missing_media(DEVICE)] == [lost]
    with open(path, "wb") as f:
        f.write(original)
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done" and summary["media_stored"] == 1
    assert summary["media_gone"] == 0 and ev.has_media(lost) and ev.missing_media(DEVICE) == []
    assert ev.gone_media(DEVICE) == [record]  # the report stays, as history
    agent.store.close()
    ev.close()


def test_a_damaged_file_is_recorded_durably_once_though_each_dock_reports_it_again(tmp_path):
    # R-DEV-2: a file changed on the card is declared damaged, and that is kept as evidence
    # across a host restart; the device gets its receipt all the same.
    agent = recorded_device(tmp_path / "dev", frames=90, pad=200)
    ev = evidence(tmp_path / "ev")
    digests = chunk_digests(agent)
    damaged = digests[1]
    path = media_file(agent, damaged)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x20
    with open(path, "wb") as f:
        f.write(bytes(data))
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done" and summary["media_gone"] == 1, summary
    assert device.receipts and not ev.has_media(damaged)
    assert all(ev.has_media(d) for d in digests if d != damaged)
    first = ev.gone_media(DEVICE)
    assert [(r["digest"], r["reason"]) for r in first] == [(damaged, GONE_DAMAGED)]
    assert "does not match its SHA-256" in first[0]["text"]
    ev.close()  # the host restarts
    ev = SqliteEvidenceStore(tmp_path / "ev")
    assert ev.gone_media(DEVICE) == first
    summary, device, _ = run_pair(agent, ev)  # asked again, answered again, receipted again
    assert summary["result"] == "done" and summary["media_gone"] == 1
    assert len(device.receipts) == 1
    # The same answer again: the first report stands, and the table does not grow a row a dock.
    assert ev.gone_media(DEVICE) == first
    agent.store.close()
    ev.close()
