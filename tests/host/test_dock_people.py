"""Issue 17, evidence staff: ``sealcam dock`` shows the device side's progress as the host
side does (state, bytes, rate, time), on one line, and leaves the outcome."""
# micropython: skip (the command line is CPython's)

import re
import sys

from host.cli import main
from host.daemon import Daemon
from host.evidence import SqliteEvidenceStore
from host.progress import DockView, dock_state
from protocol.device_session import D_MEDIA, D_READY, D_SENDING
from protocol.signer import make_signer
from tests.host.helpers import HOST_KID, HOST_SEED, QUIET_S, Tty, setup


class Clock:
    """A clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


ESCAPES = re.compile(r"\x1b\[\d*[A-Za-z]")


def test_the_dock_line_names_the_state_bytes_rate_and_time():
    clock = Clock()
    out = Tty()
    view = DockView("SC-0001 -> tcp:127.0.0.1:7878", out, clock=clock, width=80)
    view.update(dock_state(D_SENDING, 0), 0, 100)
    clock.t += 0.1
    view.update(dock_state(D_SENDING, 0), 50_000, 200)  # within 0.2 s, same state: not drawn
    clock.t += 0.1
    view.update(dock_state(D_MEDIA, 0), 1_000_000, 300)  # a new state is drawn at once
    clock.t += 1.8
    view.update(dock_state(D_READY, 1), 4_000_000, 400)
    view.close("done")
    frames = [ESCAPES.sub("", f) for f in out.getvalue().split("\r") if f]
    assert len(frames) == 4
    assert frames[0].startswith("SC-0001 -> tcp:127.0.0.1:7878  sending entries  0 B sent")
    assert "sending media  1.0 MB sent  5.0 MB/s  0:00" in frames[1]
    assert "receipt in  4.0 MB sent  2.0 MB/s  0:02" in frames[2]
    assert frames[3].endswith("done  4.0 MB sent  2.0 MB/s  0:02\n")
    assert all(len(f.rstrip("\n")) < 80 for f in frames)


def test_nothing_is_drawn_off_a_terminal():
    import io

    out = io.StringIO()
    view = DockView("SC-0001", out)
    view.update("sending entries", 10, 10)
    view.close("done")
    assert out.getvalue() == ""


def test_sealcam_dock_on_a_terminal_shows_its_progress_and_outcome(tmp_path, monkeypatch):
    # Issue 17: `sealcam dock` shows the device side's progress as the host side does.
    setup(tmp_path)
    ev = SqliteEvidenceStore(tmp_path / "ev")
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, out=Tty(), idle_s=QUIET_S)
    srv = daemon.listen("127.0.0.1", 0, once=True)
    host, port = srv.getsockname()[:2]
    screen = Tty()
    monkeypatch.setattr(sys, "stderr", screen)
    try:
        code = main(["dock", "--store", str(tmp_path / "dev"), "--trust",
                     str(tmp_path / "host.pub"), "--connect", "%s:%d" % (host, port)])  # fmt: skip
    finally:
        daemon.stop.set()
        srv.close()
        for t in daemon.threads:
            t.join(120)
        ev.close()
    assert code == 0
    frames = [ESCAPES.sub("", f) for f in screen.getvalue().split("\r") if f]
    states = {f.split("  ")[1] for f in frames}
    assert {"sending entries", "sending media"} <= states
    assert frames[-1].startswith("SC-TEST-0001 -> tcp:%s:%d  done  " % (host, port))
    assert frames[-1].endswith("\n")
