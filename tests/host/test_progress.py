"""The terminal progress line: shown on a terminal, silent elsewhere, clock injected."""
# micropython: skip (host code)

import io

from host.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


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
