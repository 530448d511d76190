"""The run loop every port shares: ticks, storage checks, audio and frames, when each is due."""
# Issue 11 §3: one run loop for the CPython port, the simulator, the test bench and a board.

from firmware.agent import boot
from firmware.capture import CaptureQueue
from firmware.hal import Camera
from firmware.recorder import IDLE, RECORDING
from firmware.runloop import RunLoop
from firmware.store import Store
from protocol.ledger import parse_entry
from protocol.registry import KIND_CHUNK
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.firmware.helpers import SetClock
from tests.portable import TempDir
from tests.protocol.helpers import DEVICE, SEED_A, device_key


class Recorder:
    """What the loop gives a recorder, in order, with the time it was given."""

    def __init__(self, clock: SetClock, state: int = RECORDING) -> None:
        self.clock = clock
        self.state = state
        self.inputs: list = []


class Agent:
    """An agent's surface as the loop uses it: every call is written down."""

    def __init__(self, state: int = RECORDING) -> None:
        self.clock = SetClock()
        self.recorder = Recorder(self.clock, state)
        self.frames = 0

    def input(self, name: str, *args: object) -> list:
        self.recorder.inputs.append((name, self.clock.mono))
        return []

    def check_storage(self) -> None:
        self.recorder.inputs.append(("storage", self.clock.mono))

    def capture(self) -> bool:
        self.frames += 1
        self.recorder.inputs.append(("frame", self.clock.mono))
        return True

    def drain(self, queue: object) -> int:
        self.recorder.inputs.append(("drain", self.clock.mono))
        return 0


def times(agent: Agent, name: str) -> list:
    return [t for n, t in agent.recorder.inputs if n == name]


def test_capturing_a_frame_every_frame_interval_audio_every_block_and_a_tick_a_second():
    agent = Agent()
    blocks = []
    loop = RunLoop(agent, lambda: blocks.append(1) or b"pcm")
    chores = []
    frames = loop.pass_time(3000, 100, agent.clock.advance, chores.append)
    assert frames == 30 and agent.clock.mono == 3000
    assert times(agent, "frame") == list(range(0, 3000, 100))
    assert times(agent, "audio") == list(range(0, 3000, 200)) and len(blocks) == 15
    assert times(agent, "tick") == [1000, 2000]  # the boot counts as the first
    assert chores == [0] * 30  # after every capturing step


def test_while_nothing_is_captured_time_passes_in_idle_steps_each_a_tick_and_a_storage_check():
    agent = Agent(IDLE)
    chores = []
    assert RunLoop(agent).pass_time(150_000, 0, agent.clock.advance, chores.append) == 0
    assert times(agent, "tick") == [60_000, 120_000, 150_000]
    assert times(agent, "storage") == [60_000, 120_000, 150_000]
    assert chores == [60_000, 60_000, 30_000]  # the hardware's upkeep for each step


def test_in_real_time_drain_feeds_the_queue_then_ticks_and_takes_audio_when_due():
    agent = Agent()
    loop = RunLoop(agent, lambda: b"pcm")
    queue = CaptureQueue(4)
    for ms in (0, 150, 999, 1000, 1500, 2100):
        agent.clock.mono = ms
        loop.drain(queue)
    assert times(agent, "drain") == [0, 150, 999, 1000, 1500, 2100]
    assert times(agent, "tick") == [1000, 2100]
    assert times(agent, "audio") == [0, 999, 1500, 2100]  # a block each 200 ms at most
    assert len(times(agent, "storage")) == 6  # the agent paces its own storage checks


def test_a_booted_agent_records_through_the_loop_and_its_ledger_verifies():
    class Frames(Camera):
        def __init__(self) -> None:
            self.n = 0

        def read(self, overlay: str) -> "tuple | None":
            self.n += 1
            return ("frame %d %s" % (self.n, overlay)).encode(), self.n % 10 == 1, 0

        def working(self) -> bool:
            return True

    with TempDir() as d:
        clock = SetClock()
        agent = boot(d, make_signer(SEED_A), DEVICE, "P-0427", clock, Frames())
        loop = RunLoop(agent, lambda: b"pcm block")
        agent.input("press_record")
        frames = loop.pass_time(5000, 100, clock.advance)
        agent.input("press_stop")
        agent.shut_down()
        store = Store(d)
        raws = list(store.entries())
        store.close()
        assert frames == 50
        chunks = [parse_entry(r) for r in raws if parse_entry(r).kind == KIND_CHUNK]
        assert len(chunks) >= 8  # about a second each, video and audio
        key = device_key()
        assert verify_ledger(b"".join(raws), key.device_id, key.public).state == OK
