"""What the benchmarks share: the machine's description and running a script under
MicroPython (the WebAssembly port, through tools/mpy/run.mjs)."""

import os
import platform
import subprocess
from pathlib import Path

from firmware.hal import Clock

REPO = Path(__file__).resolve().parents[2]
T0_MS = 1795420800000  # 2026-11-23 08:00 UTC: the virtual clock's epoch


class VirtualClock(Clock):
    """The RTC and monotonic clock, set by the benchmark to each input's time (``ms``)."""

    def __init__(self) -> None:
        self.ms = 0

    def wall_ms(self) -> int:
        return T0_MS + self.ms

    def mono_ms(self) -> int:
        return self.ms


def machine() -> str:
    """CPU model, cores, OS and Python version, for the record beside every figure."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cores, %s, Python %s" % (
        cpu,
        os.cpu_count() or 0,
        platform.system(),
        platform.python_version(),
    )


def run_micropython(script: str, timeout_s: int = 600) -> str:
    """Run ``script`` under MicroPython with the repository's packages; return its output.

    Raises RuntimeError saying what to do when MicroPython cannot run it.
    """
    cmd = ["node", str(REPO / "tools/mpy/run.mjs"), "--script", script]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(
            "MicroPython run failed (run tools/mpy-test once to install it): %s" % exc
        ) from None
    return done.stdout
