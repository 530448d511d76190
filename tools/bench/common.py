"""What the benchmarks share: the machine's description, CPU seconds, running a script under
MicroPython (the WebAssembly port, through tools/mpy/run.mjs), the scale-out services, a
store on them (empty, or with every table) and its S3 requests counted, ``sealcam serve``
and ``sealcam sync`` as processes of their own, and a GOP of H.264 from the recorder's
encoder."""

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from firmware.hal import Clock

if TYPE_CHECKING:
    from host.pgstore import PgEvidenceStore

REPO = Path(__file__).resolve().parents[2]
SEALCAM = str(Path(sys.executable).with_name("sealcam"))
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


def cpu_s() -> float:
    """CPU seconds (user and system) of this process and of its children ended so far (a
    worker process counts once it is joined): under others' load a steadier figure than
    wall time."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


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


@contextlib.contextmanager
def scaleout_services(state: "str | None" = None) -> Iterator[dict]:
    """PostgreSQL and Ceph's S3 gateway for one benchmark: their settings (``SEALCAM_PG_URL``,
    the S3 endpoint and keys) yielded and put in this process's environment for the block.

    Without ``state`` they are started on loopback by tools/services/services in a state
    folder of their own and all of it stopped and removed afterwards, whatever happened;
    with ``state`` (``--state DIR`` of a bench), those already running from that folder are
    used and left running."""
    services = str(REPO / "tools" / "services" / "services")
    own = state is None
    folder = tempfile.mkdtemp(prefix="sealcam-services-") if state is None else state
    before = dict(os.environ)

    def run(action: str) -> str:
        done = subprocess.run([services, action, "--state", folder], capture_output=True, text=True)
        if done.returncode != 0 and action != "stop":
            raise SystemExit("services %s failed: %s" % (action, done.stderr.strip()))
        return done.stdout

    try:
        if own:
            run("start")
        env = {}
        for line in run("env").splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip("'")
        os.environ.update(env)
        yield env
    finally:
        os.environ.clear()
        os.environ.update(before)
        if own:
            run("stop")
            shutil.rmtree(folder, ignore_errors=True)


class Server:
    """``sealcam serve`` of the checkout ``code`` on the store ``where`` names (its
    ``--evidence``, and ``--media`` for a scale-out store), in a process of its own on a free
    loopback port (``port``); ``with`` it, it is stopped when the block ends."""

    def __init__(self, where: list, code: Path = REPO) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "serve", *where, "--listen", "127.0.0.1:0",
             "--lang", "en"],
            stdout=subprocess.PIPE, text=True, cwd=code,
            env=dict(os.environ, PYTHONPATH=str(code)),
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        found = re.search(r":(\d+)/", line)
        if found is None:
            self.stop()
            raise RuntimeError("sealcam serve did not start: %r" % line)
        self.port = int(found.group(1))

    def cpu_s(self) -> float:
        """User and system CPU seconds of the server process so far (its threads' too)."""
        fields = Path("/proc/%d/stat" % self.proc.pid).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DaemonProcess:
    """``sealcam sync`` into the store ``evidence`` (and ``media``, for a scale-out store)
    on a free loopback port (``port``), its JSON log read as it comes (a full pipe would
    stall it): every line in ``lines``, their size in ``log_bytes``."""

    def __init__(self, evidence: str, host_key: str, media: str = "") -> None:
        self.proc = subprocess.Popen(
            [SEALCAM, "sync", "--evidence", evidence, *(["--media", media] if media else []),
             "--host-key", host_key, "--tcp", "127.0.0.1:0", "--json"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        first = json.loads(self.proc.stdout.readline())
        self.port = int(first["tcp"].rpartition(":")[2])
        self.lines: list = []
        self.log_bytes = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log_bytes += len(line)
            self.lines.append(json.loads(line))

    def sessions(self) -> list:
        """The sessions logged so far (each once its side of the dock is done)."""
        return [e for e in self.lines if e.get("event") == "session"]

    def session_logged(self, device: str) -> bool:
        return any(e.get("device") == device for e in self.sessions())

    def status(self) -> dict:
        """VmRSS and VmHWM in MB, and Threads, from /proc."""
        out = {}
        for line in Path("/proc/%d/status" % self.proc.pid).read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
            elif key == "Threads":
                out[key] = int(value)
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.reader.join(10)


def fresh_store(env: dict) -> tuple:
    """A new, empty scale-out store on the running services: ``(postgresql URL, s3://bucket)``
    (the bucket is made by the store when it first opens)."""
    import psycopg

    name = "b" + uuid.uuid4().hex[:12]
    with psycopg.connect(env["SEALCAM_PG_URL"], autocommit=True) as conn:
        conn.execute("CREATE DATABASE %s" % name)
    return env["SEALCAM_PG_URL"].rsplit("/", 1)[0] + "/" + name, "s3://" + name


def managed_store(env: dict) -> "PgEvidenceStore":
    """A new scale-out store on the running services (``fresh_store``) with every table the
    migrations make, opened: the items, references and locks a retention bench fills."""
    # host is imported here, not at the top: a bench measures whichever checkout's host
    # PYTHONPATH names, and benches without the scale-out services never need it.
    from host import migrate
    from host.pgstore import PgEvidenceStore

    url, media = fresh_store(env)
    store = PgEvidenceStore(url, media)
    for schema in migrate._schemas():
        store.add_tables(schema)
    return store


class CountingS3:
    """A store's real S3 client (``store.media.s3 = CountingS3(store.media.s3)``) with its
    requests (``put_``, ``get_`` and ``head_`` operations) counted by operation in ``calls``."""

    def __init__(self, s3) -> None:
        self.s3 = s3
        self.calls: Counter = Counter()

    def __getattr__(self, name):
        real = getattr(self.s3, name)
        if not name.startswith(("put_", "get_", "head_")):
            return real

        def call(**kw):
            self.calls[name] += 1
            return real(**kw)

        return call

    def total(self) -> int:
        """Every request counted so far."""
        return sum(self.calls.values())


def h264_gop(size: "tuple[int, int]", fps: int, pictures: list, bit_rate: int = 0) -> tuple:
    """One GOP of H.264 from ``pictures`` (RGB arrays of ``size``), made by the recorder's own
    encoder (``firmware.ports.encoder.VideoEncoder``: libx264 ultrafast, no B-frames, a
    keyframe every ``fps`` pictures; at ``bit_rate`` where one is given): ``(samples,
    avcC)``, each sample ``(bytes, is_keyframe)`` as an MP4 holds it, its parameter sets in
    the avcC instead."""
    from firmware.ports.encoder import VideoEncoder

    encoder = VideoEncoder("h264", fps, bit_rate=bit_rate)
    out = []
    for i, img in enumerate(pictures):
        assert img.shape[1::-1] == tuple(size), (img.shape, size)
        # The encoder takes a camera's BGR; a picture's time is its place at ``fps``.
        out += encoder.encode(img[:, :, ::-1], i * 1000 // fps)
    out += encoder.flush()
    assert encoder.track is not None
    return [(sample, key) for sample, key, _ in out], encoder.track.config
