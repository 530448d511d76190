"""What the firmware tests share (portable): virtual time, a synthetic camera and prompts for
the agent, an agent booted or one that has recorded, a disk that fills up, a store as
factory provisioning leaves it for the test bench, and a vendor input read to its end and
packaged as the device packages it."""

import errno

from firmware.agent import boot
from firmware.hal import Camera, Clock, Indicators
from firmware.packager import Fmp4Packager
from firmware.recorder import STREAM_VIDEO
from firmware.store import Store
from protocol.hostconfig import sign_config
from protocol.keys import DeviceKey, decode_key
from protocol.ledger import parse_entry
from protocol.registry import F_EVENT, KIND_EVENT
from protocol.signer import make_signer
from protocol.verify import verify_ledger
from tests.protocol.helpers import DEVICE, SEED_A, SEED_B, T0, device_key

ENOSPC = getattr(errno, "ENOSPC", 28)

# --- the agent on virtual hardware ---


class StepClock(Clock):
    """Virtual time: each reading moves 10 ms on, so nothing waits on a wall clock."""

    def __init__(self) -> None:
        self.t = 0

    def wall_ms(self) -> int:
        self.t += 10
        return T0 + self.t

    def mono_ms(self) -> int:
        return self.t


class SetClock(Clock):
    """Virtual time, moved only by the test (``advance``) or the code under test."""

    def __init__(self) -> None:
        self.mono = 0

    def wall_ms(self) -> int:
        return T0 + self.mono

    def mono_ms(self) -> int:
        return self.mono

    def advance(self, ms: int) -> None:
        self.mono += ms


class Wire:
    """A device link's transport in this thread: what it writes is kept for the host."""

    def __init__(self) -> None:
        self.sent = bytearray()

    def read(self) -> bytes:
        return b""

    def at_eof(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.sent += data


class SceneCamera(Camera):
    """Frames of a synthetic scene; every third a keyframe; stops after ``n``."""

    def __init__(self, n: int, pad: int = 0) -> None:
        self.n = n
        self.pad = b"." * pad
        self.i = 0
        self.overlays: list = []

    def read(self, overlay: str) -> "tuple | None":
        if self.i >= self.n:
            return None
        self.overlays.append(overlay)
        data = ("frame %d|%s" % (self.i, overlay)).encode() + self.pad
        self.i += 1
        return data, self.i % 3 == 1, 0


class Log(Indicators):
    def __init__(self) -> None:
        self.prompts: list = []

    def prompt(self, prompt_id: int, text: str) -> None:
        self.prompts.append(text)


def start(path: str, frames: int = 9, pad: int = 0) -> tuple:
    camera = SceneCamera(frames, pad)
    agent = boot(path, make_signer(SEED_A), DEVICE, "P-0427", StepClock(), camera, Log())
    return agent, camera


def events(path: str) -> tuple:
    """(the event codes the store's ledger holds, every entry of it parsed)."""
    store = Store(path)
    out = [parse_entry(raw) for raw in store.entries()]
    store.close()
    return [e.fields[F_EVENT] for e in out if e.kind == KIND_EVENT], out


def verdict(entries: list) -> str:
    key = device_key()
    return verify_ledger(b"".join(e.raw for e in entries), key.device_id, key.public).state


def recorded_device(path, frames=12, pad=200):
    agent = boot(
        str(path),
        make_signer(SEED_A),
        DEVICE,
        "P-0427",
        StepClock(),
        SceneCamera(frames, pad=pad),
        Log(),
    )
    agent.input("press_record")
    while agent.capture():
        pass
    agent.input("press_stop")
    return agent


# --- a disk that fills up ---


class FullDisk:
    """An opener whose files take only ``budget`` more bytes, then fail with ENOSPC."""

    def __init__(self, budget):
        self.budget = budget

    def __call__(self, path, mode):
        return _FullFile(open(path, mode), self)


class _FullFile:
    def __init__(self, f, disk):
        self.f = f
        self.disk = disk

    def write(self, data):
        if len(data) > self.disk.budget:
            self.f.write(data[: self.disk.budget])  # a partial write, as a real disk does
            self.f.flush()
            self.disk.budget = 0
            raise OSError(ENOSPC, "No space left on device")
        self.disk.budget -= len(data)
        return self.f.write(data)

    def flush(self):
        self.f.flush()

    def fileno(self):
        return self.f.fileno()

    def close(self):
        self.f.close()


class TightStore(Store):
    """A store on a disk that is full: space comes back only as media is evicted."""

    def __init__(self, path: str, disk: FullDisk) -> None:
        super().__init__(path, opener=disk)
        self.disk = disk

    def free_bytes(self) -> int:
        return self.disk.budget

    def evict_media(self, digest: "bytes | str") -> int:
        freed = super().evict_media(digest)
        self.disk.budget += freed
        return freed


# --- the test bench ---

# The test bench's device: provisioned at the factory, as a debug build runs it.
BENCH_DEVICE = "SC-BENCH-0001"
BENCH_HOST = "agency-host-1"
BENCH_START = 1795392000000


def provisioned(path: str, officer: str = "") -> bytes:
    """A store as factory provisioning leaves it; return the device's public key."""
    from firmware import provision

    counter = [0]

    def entropy(n: int) -> bytes:  # deterministic, so a failure can be replayed
        counter[0] += 1
        return bytes([(counter[0] * 7 + i) % 256 for i in range(n)])

    public = decode_key(provision.provision(path, BENCH_DEVICE, entropy)).public
    host = make_signer(SEED_B)
    provision.install_host_keys(
        path, provision.encode_host_keys([DeviceKey(BENCH_HOST, host.public_key())])
    )
    settings = {"officer_id": officer} if officer else {}
    provision.install_config(
        path, sign_config(host, BENCH_HOST, BENCH_DEVICE, BENCH_START - 1000, settings)
    )
    return public


class InputClock:
    """A vendor input's clock: it moves only when the input paces itself (``sleep``)."""

    def __init__(self) -> None:
        self.mono = 1000

    def mono_ms(self) -> int:
        return self.mono

    def wall_ms(self) -> int:
        return 1_800_000_000_000 + self.mono

    def sleep(self, seconds: float) -> None:
        self.mono += round(seconds * 1000)


def read_all(source) -> list:
    """Every item a vendor input gives until it ends (bounded: a test stream is short)."""
    items = []
    for _ in range(10_000):
        got = source.read()
        if got is None:
            break
        items += got
    else:
        raise AssertionError("the input never ended")
    source.close()
    return items


def packaged(track, items, audio=None) -> bytes:
    """A vendor input's items as the device stores them: one init segment (with ``audio``'s
    track when given), then the video in fragments of 15 pictures."""
    packager = Fmp4Packager(track, audio, frame_ms=33)
    packager.begin(items[0][3])
    data = packager.init_segment()
    video = [(d, k, mono, cto) for s, d, k, mono, cto in items if s == STREAM_VIDEO]
    for at in range(0, len(video), 15):
        data += packager.fragment(video[at : at + 15], [])
    return data
