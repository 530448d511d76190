"""Issue 17, evidence staff: ``sealcam sync``'s live view in 80 columns and current at a
session's end, Ctrl-C with a summary and exit 130, and log lines without ``None``."""
# micropython: skip (the host daemon is CPython's)

import io
import json
import re
import signal
import socket
import subprocess
import threading
import time

import host.daemon
from firmware.ports.transports import SocketTransport
from host.cli import main
from host.daemon import Daemon
from host.progress import SessionView
from host.sync import STOPPED, HostLink
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.host.helpers import (
    HOST_KID,
    HOST_SEED,
    QUIET_S,
    Tty,
    daemon_sessions,
    device_link,
    device_run,
    evidence,
    host_keys,
    joined,
    run_pair,
    sync_argv,
)
from tests.protocol.helpers import DEVICE, SEED_A


class Clock:
    """A clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


ESCAPES = re.compile(r"\x1b\[\d*[A-Za-z]|\r")
BOUND_S = 120.0  # a generous bound on waiting for an event; reached only when it never comes


def eventually(condition) -> bool:
    """Poll ``condition`` until it holds or the bound passes (never a timing assertion)."""
    end = time.monotonic() + BOUND_S
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_live_view_fits_80_columns_and_never_cuts_the_state():
    # Issue 17: the live view fits an 80-column terminal; columns go, the state stays whole.
    clock = Clock()
    view = SessionView(Tty(), clock=clock, width=80)
    view.begin(1, "serial:/dev/serial/by-id/usb-vendor-recorder-0001")
    view.begin(2, "tcp:192.168.100.200:50123")
    view.begin(3, "tcp:127.0.0.1:40000")
    clock.t += 3
    view.update(1, {"device": "SC-0001", "state": "pulling", "done": 12_345_678,
                    "total": 987_654_321})  # fmt: skip
    view.update(2, {"device": "SC-A-VERY-LONG-ID-02", "state": "handshake", "done": 0,
                    "total": None})  # fmt: skip
    view.update(3, {"device": "SC-0003", "state": "pulling", "done": 5000, "total": None})
    clock.t += 1
    view.end(3, {"device": "SC-0003", "result": "refused: entry seq 5 does not verify",
                 "bytes_stored": 5000})  # fmt: skip
    lines = view.render()
    assert all(len(line) <= 80 for line in lines)
    first, second, third, summary = lines
    assert first.split()[0] == "SC-0001" and " pulling " in first
    assert "12.3 MB / 987.7 MB" in first and "left" in first  # the amount and time left stay
    assert "recorder-0001" in first  # the link abbreviated from its start, not its end
    assert second.startswith("SC-A-VERY-LONG-ID-02 ") and " handshake " in second
    assert " failed " in third and third.endswith("refused: entry seq 5 does not verify")
    assert summary.startswith("2 active, 0 done, 1 failed")


def test_the_view_is_redrawn_when_a_session_ends_not_at_the_next_tick(tmp_path, monkeypatch):
    # Issue 17: the view is current within 0.2 s of a session's end. With the periodic
    # redraw pushed out of reach, only the session's end can make the view show "done".
    monkeypatch.setattr(host.daemon, "TICK_S", 600.0)
    ev = evidence(tmp_path / "ev")
    agent = recorded_device(tmp_path / "dev", 3)
    screen = Tty()
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, out=Tty(), idle_s=QUIET_S,
                    view=SessionView(screen, width=80))  # fmt: skip
    waiting = threading.Thread(target=daemon.wait)
    session = threading.Thread(target=daemon_sessions, args=(tmp_path, daemon, [(agent, SEED_A)]))
    daemon.threads.append(session)
    waiting.start()
    try:
        session.start()

        def shown_done() -> bool:
            text = ESCAPES.sub("", screen.getvalue())
            return any(
                line.startswith(DEVICE) and line.split()[2] == "done" for line in text.splitlines()
            )

        assert eventually(shown_done)
    finally:
        session.join(BOUND_S)
        daemon.stop.set()
        daemon.wake.set()
        waiting.join(BOUND_S)
        agent.store.close()
        ev.close()
    assert not waiting.is_alive()


class StuckLink:
    """A session in the middle of its pull, as the daemon sees it: it ends when stopped."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.stopped = threading.Event()

    def progress(self) -> dict:
        return {"device": "SC-0005", "state": "pulling", "done": 3_000_000, "total": 8_000_000}

    def stop(self) -> None:
        self.stopped.set()

    def serve(self) -> None:
        self.stopped.wait(BOUND_S)
        summary = {
            "device": "SC-0005",
            "result": STOPPED,
            "entries_stored": 40,
            "media_stored": 6,
            "bytes_stored": 3_000_000,
            "bytes_left": 5_000_000,
        }
        with self.daemon.lock:
            self.daemon.active.pop(1, None)
            self.daemon.sessions.append(summary)


class CtrlC:
    """The daemon's wake-up event as Ctrl-C finds it: the first wait is interrupted."""

    def wait(self, timeout=None) -> bool:
        raise KeyboardInterrupt

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass


def test_ctrl_c_stops_every_session_and_the_summary_says_what_was_left(tmp_path):
    # Issue 17: Ctrl-C of sync during a transfer ends with a summary of what was stored and
    # what was left.
    ev = evidence(tmp_path / "ev")
    out = io.StringIO()
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, as_json=True, out=out)
    link = StuckLink(daemon)
    daemon.active[1] = link
    serving = threading.Thread(target=link.serve)
    serving.start()
    daemon.threads.append(serving)
    daemon.wake = CtrlC()  # type: ignore[assignment]  # a stand-in that raises as Ctrl-C does
    daemon.wait()
    serving.join(BOUND_S)
    ev.close()
    assert daemon.interrupted and link.stopped.is_set()
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["event"] == "summary" and summary["interrupted"] is True
    assert (summary["failed"], summary["entries_stored"], summary["bytes_left"]) == (1, 40, 5e6)
    from host.cli.sync import stopped_summary

    line = stopped_summary(daemon.totals)
    assert "1 cut short" in line and "stored 40 entries" in line and "5.0 MB" in line


def test_a_stopped_session_ends_at_once_and_keeps_what_it_verified(tmp_path):
    # Issue 17: the session Ctrl-C stops ends without a receipt; the next dock finishes it.
    ev = evidence(tmp_path / "ev")
    agent = recorded_device(tmp_path / "dev", 6)
    a, b = socket.socketpair()
    device = device_link(agent, SocketTransport(a))
    t = threading.Thread(target=device_run, args=(device,))
    t.start()

    def log(event, **kv):  # the host stops as soon as the pull is under way
        if event == "state" and kv.get("state") == "pulling":
            link.stop()

    link = HostLink(ev, make_signer(HOST_SEED), HOST_KID, SocketTransport(b), False, log=log,
                    idle_s=QUIET_S)  # fmt: skip
    try:
        summary = link.run()
    finally:
        b.close()
        joined(t)
        a.close()
    assert summary["result"] == STOPPED and not device.receipts
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done" and device.receipts
    agent.store.close()
    ev.close()


def test_text_log_lines_never_show_none(tmp_path):
    # Issue 17: reports never show None (clock_drift_ms=None).
    ev = evidence(tmp_path / "ev")
    out = io.StringIO()
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, out=out)
    daemon.log("session", device=DEVICE, clock_drift_ms=None, clock_set=None, entries_stored=0)
    ev.close()
    line = out.getvalue()
    assert "None" not in line and "clock_drift_ms=- " in line and "entries_stored=0" in line


def test_ctrl_c_of_the_sync_process_exits_130_with_its_summary(tmp_path):
    # Issue 17: Ctrl-C of `sealcam sync` -> exit 130 and a summary on stderr.
    host_keys(tmp_path)
    evidence(tmp_path / "ev").close()
    argv = sync_argv(tmp_path / "ev", tmp_path / "host.key", "--tcp", "127.0.0.1:0")
    argv.remove("--once")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline())["event"] == "listening"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=BOUND_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "stopped by Ctrl-C: 0 session(s)" in err and "Traceback" not in err
    assert json.loads(out.splitlines()[-1])["interrupted"] is True


def test_once_on_a_serial_port_that_cannot_open_exits_2(tmp_path, capsys):
    # Issue 17: `--once` on a port that cannot open exits 2, in one line.
    host_keys(tmp_path)
    port = str(tmp_path / "no-such-port")
    argv = ["sync", "--evidence", str(tmp_path / "ev"), "--host-key", str(tmp_path / "host.key"),
            "--serial", port, "--once", "--json"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open serial port %s" % port in err
