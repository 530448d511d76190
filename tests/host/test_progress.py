"""Progress on a terminal, clock injected: the one-line progress of long work, and the sync
daemon's live view of its sessions, rendered into a fake terminal stream."""
# micropython: skip (host code)

import io
import re

from host.progress import Progress, SessionView
from tests.host.helpers import Tty


def test_silent_when_not_a_terminal():
    out = io.StringIO()
    p = Progress("verifying", 100, stream=out)
    p.update(50)
    p.close()
    assert out.getvalue() == ""


def test_shows_percent_and_rate_on_a_terminal():
    out = Tty()
    t = [0.0]
    p = Progress("verifying", 4_000_000, stream=out, clock=lambda: t[0])
    t[0] = 1.0
    p.update(2_000_000)
    assert "verifying   50%  2.0 MB/s" in out.getvalue()
    t[0] = 1.1
    p.update(2_100_000)  # too soon after the last one: not redrawn
    assert out.getvalue().count("\r") == 1
    p.close()
    assert out.getvalue().endswith("\r")


# --- the sync daemon's live view -----------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def strip(frames: str) -> list:
    """The lines written by frames, escape sequences taken out (not where they end up)."""
    return [line for line in re.sub(r"\x1b\[\d*[A-Za-z]|\r", "", frames).split("\n") if line]


def test_the_view_is_wanted_on_a_terminal_only_and_never_with_json():
    assert SessionView.wanted(Tty(), as_json=False)
    assert not SessionView.wanted(Tty(), as_json=True)
    assert not SessionView.wanted(io.StringIO(), as_json=False)


def test_a_session_line_shows_device_link_state_bytes_rate_and_time_left():
    clock = Clock()
    view = SessionView(Tty(), clock=clock, width=120)
    view.begin(1, "tcp:127.0.0.1:40100")
    view.update(1, {"device": "SC-0001", "state": "handshake", "done": 0, "total": None})
    clock.t += 1
    view.update(1, {"device": "SC-0001", "state": "pulling", "done": 2_000_000, "total": None})
    line = view.render()[0]
    assert line.split()[:3] == ["SC-0001", "tcp:127.0.0.1:40100", "pulling"]
    assert "2.0 MB / ?" in line and "2.0 MB/s" in line  # no total yet: no time left
    clock.t += 2
    view.update(1, {"device": "SC-0001", "state": "pulling", "done": 10_000_000,
                    "total": 60_000_000})  # fmt: skip
    line = view.render()[0]
    # 10 MB in 3 s: 3.3 MB/s, and 50 MB left at that rate is 15 s.
    assert "10.0 MB / 60.0 MB" in line and "3.3 MB/s" in line and "0:15 left" in line
    assert view.render()[-1].startswith("1 active, 0 done, 0 failed")


def test_the_rate_follows_the_last_few_seconds():
    clock = Clock()
    view = SessionView(Tty(), clock=clock, width=120)
    view.begin(1, "serial:/dev/ttyACM0")
    for second in range(1, 21):  # fast for 10 s, then a tenth of that
        clock.t += 1
        done = 10_000_000 * min(second, 10) + 1_000_000 * max(second - 10, 0)
        view.update(1, {"device": "SC-0002", "state": "pulling", "done": done,
                        "total": 200_000_000})  # fmt: skip
    assert "1.0 MB/s" in view.render()[0]


def test_many_sessions_at_once_each_get_a_line_and_the_summary_adds_them_up():
    clock = Clock()
    view = SessionView(Tty(), clock=clock, width=200)
    for n in range(24):
        view.begin(n, "tcp:127.0.0.1:%d" % (41000 + n))
    clock.t += 2
    for n in range(24):
        view.update(n, {"device": "SC-%04d" % n, "state": "pulling", "done": 1_000_000 * n,
                        "total": 50_000_000})  # fmt: skip
    lines = view.render()
    assert len(lines) == 25
    assert [line.split()[0] for line in lines[:24]] == ["SC-%04d" % n for n in range(24)]
    # 276 MB in 2 s over all sessions
    assert lines[-1].startswith("24 active, 0 done, 0 failed  |  276.0 MB stored  |  138.0 MB/s")


def test_a_failed_session_shows_why_lingers_then_stays_above_the_view():
    clock = Clock()
    out = Tty()
    view = SessionView(out, clock=clock, linger_s=10, width=160)
    view.begin("a", "serial:/dev/ttyACM0")
    view.begin("b", "tcp:127.0.0.1:40200")
    view.update("a", {"device": "SC-0007", "state": "pulling", "done": 5000, "total": None})
    view.draw()
    clock.t += 1
    view.end("a", {"device": "SC-0007", "result": "refused: entry seq 5 does not verify",
                   "bytes_stored": 5000})  # fmt: skip
    view.end("b", {"device": "SC-0008", "result": "done", "bytes_stored": 3_000_000})
    failed, done, summary = view.render()
    assert "failed" in failed and failed.endswith("refused: entry seq 5 does not verify")
    assert "done" in done and "3.0 MB / 3.0 MB" in done and "in 0:01" in done
    assert summary.startswith("0 active, 1 done, 1 failed  |  3.0 MB stored")
    clock.t += 10  # the outcome has been on show long enough
    before = len(out.getvalue())
    view.draw()
    shown = strip(out.getvalue()[before:])
    assert shown[0].startswith("SC-0007") and "refused: entry seq 5" in shown[0]
    assert shown[1].startswith("SC-0008") and shown[2].startswith("0 active, 1 done, 1 failed")
    assert view.render() == [shown[2]]  # only the summary is left to redraw


def test_each_frame_goes_back_over_the_last_one_and_notes_stay_above():
    clock = Clock()
    out = Tty()
    view = SessionView(out, clock=clock, width=100)
    view.note("listening tcp=127.0.0.1:7878")
    view.draw()
    first = out.getvalue()
    assert first.startswith("\r\x1b[2Klistening tcp=127.0.0.1:7878\n")
    assert first.endswith("\x1b[J") and first.count("\n") == 2  # the note and the summary
    view.begin(1, "tcp:127.0.0.1:40300")
    view.draw()
    second = out.getvalue()[len(first) :]
    assert second.startswith("\x1b[1F")  # back up over the one-line view, not the note
    assert second.count("\n") == 2  # the session and the summary
    view.draw()
    assert out.getvalue()[len(first) + len(second) :].startswith("\x1b[2F")
    view.close()
    assert view.drawn == 0
    shown = strip(out.getvalue())
    assert shown[-2].split()[2] == "stopped"  # stopped with the daemon, left on screen


def test_lines_are_cut_to_the_terminal_width():
    clock = Clock()
    view = SessionView(Tty(), clock=clock, width=40)
    view.begin(1, "serial:/dev/serial/by-id/usb-vendor-recorder-0001")
    view.end(1, {"device": "SC-0009", "result": "closed: " + "x" * 200, "bytes_stored": 0})
    assert all(len(line) <= 40 for line in view.render())
