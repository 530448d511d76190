"""A daemon that bad peers cannot wear down (issue 10 §4): deadlines bytes cannot extend, a
cap on connections not yet authenticated, links closed after bad frames or an impossible
length, repeated log lines summarised; and a legitimate dock completes during each attack.

The policy runs on a virtual clock: the tests move it, nothing sleeps against a deadline.
Attacks on a real daemon listen on 127.0.0.1 only, come from 127.0.0.2 (another loopback
address, as another machine would), and are bounded in count; waits poll for a condition
with a generous bound that only matters when something is broken.
"""
# micropython: skip (host code, threads and sockets)

import io
import socket
import threading
import time

from firmware.link import DeviceLink
from firmware.ports.transports import SocketTransport, Transport
from host.daemon import Daemon
from host.guard import Admission, Limits, LinkGuard, Tally
from host.sync import HostLink
from protocol import framing
from protocol.messages import MAX_FRAME
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.host.helpers import HOST_KID, HOST_SEED, device_link, evidence
from tests.protocol.helpers import DEVICE

ATTACKER = "127.0.0.2"
GENEROUS_S = 60.0  # a bound that only a broken daemon reaches


class VirtualClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


# --- the policy on its own ------------------------------------------------------------------


def test_the_handshake_deadline_runs_from_connect_and_bytes_do_not_move_it():
    clock = VirtualClock()
    guard = LinkGuard(limits=Limits(handshake_s=15), clock=clock)
    for _ in range(14):
        clock.advance(1)
        guard.frame(0)  # a byte a second, all of one frame that never ends
        guard.good_frame()
        assert guard.expired() == ""
    clock.advance(1.5)
    assert "no authentication within 15 s" in guard.expired()
    guard.authenticate()  # once authenticated, the handshake deadline no longer applies
    guard.frame(-1)
    assert guard.expired() == ""


def test_each_frame_must_end_within_its_deadline_from_its_first_byte():
    clock = VirtualClock()
    guard = LinkGuard(limits=Limits(frame_s=20), clock=clock)
    guard.authenticate()
    guard.frame(100)
    clock.advance(19)
    guard.frame(100)  # more bytes of the same frame: no new deadline
    assert guard.expired() == ""
    clock.advance(2)
    assert "not complete within 20 s" in guard.expired()
    guard.frame(5000)  # a new frame started: its own deadline
    assert guard.expired() == ""


def test_bad_frames_in_a_row_close_the_link_and_a_good_one_resets_the_count():
    tcp = LinkGuard(serial=False, limits=Limits(bad_frames_tcp=3))
    assert tcp.bad_frame() == "" and tcp.bad_frame() == ""
    tcp.good_frame()
    assert tcp.bad_frame() == "" and tcp.bad_frame() == ""
    assert tcp.bad_frame() == "3 bad frames in a row"
    serial = LinkGuard(serial=True, limits=Limits(bad_frames_serial=5))
    assert [serial.bad_frame() != "" for _ in range(5)] == [False] * 4 + [True]


def test_admission_caps_unauthenticated_places_overall_and_per_address():
    adm = Admission(limit=4, per_address=2)
    a1, a2 = adm.enter("10.0.0.1"), adm.enter("10.0.0.1")
    assert a1 and a2 and adm.enter("10.0.0.1") is None
    b1, b2 = adm.enter("10.0.0.2"), adm.enter("10.0.0.2")
    assert b1 and b2 and adm.enter("10.0.0.3") is None  # all four taken
    a1.release()
    a1.release()  # twice is once
    assert adm.held == 3 and adm.enter("10.0.0.3") is not None


def test_a_burst_of_one_log_event_is_one_line_then_one_with_its_count():
    clock = VirtualClock()
    lines: list = []
    tally = Tally(lambda ev, **kv: lines.append((ev, kv)), every_s=3, clock=clock)
    for i in range(2000):
        if i % 700 == 699:
            clock.advance(1)
        tally.note("frame-error", problem="bad crc %d" % i)
    tally.flush()
    assert lines[0] == ("frame-error", {"problem": "bad crc 0"})
    assert len(lines) == 2
    assert lines[1][1]["count"] == 1999 and lines[1][1]["seconds"] == 2.0


# --- one link, fed on a virtual clock ---------------------------------------------------------


class Trickle(Transport):
    """A peer that sends ``pieces`` one per read, the clock moving ``step_s`` each read."""

    def __init__(self, pieces: list, clock: VirtualClock, step_s: float) -> None:
        self.pieces = list(pieces)
        self.clock = clock
        self.step_s = step_s
        self.reads = 0
        self.written = b""

    def read(self) -> bytes:
        self.reads += 1
        self.clock.advance(self.step_s)
        return self.pieces.pop(0) if self.pieces else b""

    def write(self, data: bytes) -> None:
        self.written += data

    def at_eof(self) -> bool:
        return not self.pieces


def link(tmp_path, transport: Transport, clock: VirtualClock, limits: Limits, log=None):
    ev = evidence(tmp_path / "ev")
    guard = LinkGuard(False, limits, clock)
    host = HostLink(
        ev, make_signer(HOST_SEED), HOST_KID, transport, False, clock=clock, log=log,
        idle_s=1e9, guard=guard,
    )  # fmt: skip
    return host.run(), ev


def bad_crc_frame(i: int) -> bytes:
    frame = bytearray(framing.encode_stream(b"junk %d" % i, MAX_FRAME))
    frame[-1] ^= 0xFF
    return bytes(frame)


# issue 10 §4: slowloris
def test_a_peer_trickling_a_byte_a_second_is_closed_at_the_handshake_deadline(tmp_path):
    clock = VirtualClock()
    # A length prefix of 256, then the body a byte a second: every byte is a sign of life.
    peer = Trickle([b"\x00", b"\x00", b"\x01", b"\x00"] + [b"a"] * 1000, clock, 1.0)
    summary, ev = link(tmp_path, peer, clock, Limits(handshake_s=15))
    assert summary["result"] == "timed out: no authentication within 15 s of connecting"
    assert 15 <= peer.reads <= 17
    ev.close()


# issue 10 §4: a 4 GB length prefix
def test_an_impossible_length_prefix_closes_the_link_at_once(tmp_path):
    clock = VirtualClock()
    peer = Trickle([b"\xff\xff\xff\xff" + b"x" * 100] + [b"y" * 100] * 50, clock, 0.001)
    summary, ev = link(tmp_path, peer, clock, Limits())
    assert summary["result"].startswith("closed: frame at byte 0: a declared length of 4294967295")
    assert "out of step" in summary["result"]
    assert peer.reads == 1  # nothing more is read from it
    ev.close()


# issue 10 §4: a bad-CRC flood, and the log that stays small
def test_a_bad_crc_flood_closes_the_link_after_k_frames_and_logs_two_lines(tmp_path):
    clock = VirtualClock()
    flood = b"".join(bad_crc_frame(i) for i in range(2000))
    peer = Trickle([flood], clock, 0.001)
    lines: list = []

    def log(event, **kv):
        lines.append((event, kv))

    summary, ev = link(tmp_path, peer, clock, Limits(bad_frames_tcp=8), log)
    assert summary["result"] == "closed: 8 bad frames in a row"
    errors = [kv for event, kv in lines if event == "frame-error"]
    assert len(errors) == 2 and errors[1]["count"] == 7
    ev.close()


# --- a real daemon on loopback, a real device docking during each attack -------------------


class Served:
    """``sealcam sync``'s daemon in this process on 127.0.0.1, on a virtual monotonic clock."""

    def __init__(self, tmp_path, limits: Limits) -> None:
        self.ev = evidence(tmp_path / "ev")
        self.clock = VirtualClock()
        self.out = io.StringIO()
        self.daemon = Daemon(
            self.ev, make_signer(HOST_SEED), HOST_KID, out=self.out, idle_s=600,
            limits=limits, monotonic=self.clock,
        )  # fmt: skip
        self.srv = self.daemon.listen("127.0.0.1", 0)
        self.port = self.srv.getsockname()[1]

    def dock(self, agent) -> DeviceLink:
        sock = socket.create_connection(("127.0.0.1", self.port))
        device = device_link(agent, SocketTransport(sock))
        try:
            device.run()
        except OSError:
            pass
        finally:
            sock.close()
        return device

    def done_sessions(self) -> list:
        return [s for s in self.ev.sessions(DEVICE) if s["result"] == "done"]

    def anonymous_lines(self, log: str) -> list:
        """The daemon's lines for links closed before their peer named a device."""
        return [line for line in log.splitlines() if " anonymous " in line]

    def close(self) -> str:
        self.daemon.stop.set()
        self.srv.close()
        assert wait_for(lambda: not any(t.is_alive() for t in self.daemon.threads))
        self.daemon.finish()
        self.ev.close()
        return self.out.getvalue()


def attacker(port: int) -> socket.socket:
    s = socket.socket()
    s.bind((ATTACKER, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_by_host(s: socket.socket, trickle: bytes = b"") -> bool:
    """Poll until the host closed ``s`` (end of stream or reset), sending ``trickle`` now
    and then; False only if that takes longer than the generous bound."""
    s.settimeout(0.05)
    end = time.monotonic() + GENEROUS_S
    while time.monotonic() < end:
        try:
            if trickle:
                s.send(trickle)
            data = s.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return True
        if not data:
            return True
    return False


def wait_for(condition) -> bool:
    end = time.monotonic() + GENEROUS_S
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


def assert_docks(served: Served, agent) -> None:
    device = served.dock(agent)
    assert device.receipts, served.out.getvalue()[-2000:]
    assert wait_for(served.done_sessions)  # recorded as the host's link ends


# issue 10 §4: slowloris
def test_slowloris_peers_are_closed_by_the_deadline_while_a_device_docks(tmp_path):
    agent = recorded_device(tmp_path / "dev")
    served = Served(tmp_path, Limits(handshake_s=15))
    peers = [attacker(served.port) for _ in range(20)]
    try:
        for p in peers:
            p.send(b"\x00\x00\x01")  # most of a length prefix, then a byte now and then
        assert_docks(served, agent)
        served.clock.advance(16)
        assert all(closed_by_host(p, trickle=b"\x00") for p in peers)
        assert wait_for(lambda: served.daemon.admission.held == 0)
    finally:
        for p in peers:
            p.close()
        log = served.close()
        agent.store.close()
    assert served.daemon.anonymous == 20  # none of them is an evidence session
    lines = served.anonymous_lines(log)
    assert len(lines) == 2 and "timed out: no authentication within 15 s" in lines[0]
    assert "count=19" in lines[1]
    # Of the attackers, nothing but those two lines: no state, frame or session line each.
    assert [line for line in log.splitlines() if ATTACKER in line] == lines


# issue 10 §4: many idle connections beyond the cap
def test_idle_connections_beyond_the_cap_are_refused_at_once_with_no_thread(tmp_path):
    agent = recorded_device(tmp_path / "dev")
    served = Served(tmp_path, Limits(max_unauthenticated=16, max_unauthenticated_per_address=8))
    threads_before = threading.active_count()
    peers = [attacker(served.port) for _ in range(30)]
    try:
        # The 22 beyond this address's 8 places are closed at once (their HELLO never comes).
        refused = [p for p in peers if _eof_without_hello(p)]
        assert len(refused) == 22
        assert served.daemon.admission.held == 8
        assert threading.active_count() <= threads_before + 8
        assert_docks(served, agent)  # another address's device still gets its place
        served.clock.advance(16)
        held = [p for p in peers if p not in refused]
        assert all(closed_by_host(p) for p in held)
        assert wait_for(lambda: served.daemon.admission.held == 0)
    finally:
        for p in peers:
            p.close()
        log = served.close()
        agent.store.close()
    turned = [line for line in log.splitlines() if "turned-away" in line]
    assert len(turned) == 2 and "count=21" in turned[1], turned


def _eof_without_hello(s: socket.socket) -> bool:
    """Whether the host closed ``s`` without a word; a held connection gets the host's
    HELLO first (and is then left waiting)."""
    s.settimeout(GENEROUS_S)
    try:
        data = s.recv(65536)
    except OSError:
        return True
    return data == b""


# issue 10 §4: a 4 GB length prefix
def test_huge_length_prefixes_are_closed_at_once_while_a_device_docks(tmp_path):
    agent = recorded_device(tmp_path / "dev")
    served = Served(tmp_path, Limits())
    peers = [attacker(served.port) for _ in range(20)]
    try:
        for p in peers:
            p.send(b"\xff\xff\xff\xff" + b"x" * 1000)
        assert all(closed_by_host(p) for p in peers)  # no clock moved: closed at once
        assert_docks(served, agent)
    finally:
        for p in peers:
            p.close()
        log = served.close()
        agent.store.close()
    assert served.daemon.anonymous == 20
    lines = served.anonymous_lines(log)
    assert len(lines) == 2 and "out of step" in lines[0], lines


# issue 10 §4: a bad-CRC flood
def test_a_bad_crc_flood_is_closed_after_k_frames_and_the_log_stays_small(tmp_path):
    agent = recorded_device(tmp_path / "dev")
    served = Served(tmp_path, Limits(bad_frames_tcp=8))
    flood = b"".join(bad_crc_frame(i) for i in range(2000))
    peers = [attacker(served.port) for _ in range(10)]
    try:
        for p in peers:
            try:
                p.sendall(flood)
            except OSError:
                pass  # the host closed it partway: what this test wants
        assert all(closed_by_host(p) for p in peers)
        assert_docks(served, agent)
    finally:
        for p in peers:
            p.close()
        log = served.close()
        agent.store.close()
    assert served.daemon.anonymous == 10
    lines = served.anonymous_lines(log)
    assert len(lines) == 2 and "8 bad frames in a row" in lines[0], lines
    assert "frame-error" not in log  # never a line per bad frame, nor per link
    assert len(log.splitlines()) < 30


# issue 10 §4: a storm of anonymous links neither shows in the live view nor is kept
def test_an_anonymous_tcp_link_leaves_no_row_no_session_and_one_counted_line(tmp_path):
    from host.progress import SessionView
    from tests.host.helpers import Tty

    ev = evidence(tmp_path / "ev")
    out = io.StringIO()
    view = SessionView(Tty(), width=160)
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, out=out, view=view)
    clock = VirtualClock()
    for _ in range(5):
        peer = Trickle([b"\xff\xff\xff\xff"], clock, 0.001)
        daemon.serve_link(peer, False, "tcp:127.0.0.2:5000")
        daemon.refresh()
    daemon.finish()
    assert view.rows == {} and daemon.sessions == [] and ev.sessions("") == []
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["anonymous", "anonymous", "summary"]
    assert "count=4" in lines[1] and "anonymous=5" in lines[2]
    ev.close()
