"""The run loop: what keeps a booted agent going between the officer's inputs.

A running recorder is told that time passes (a tick a second: chunks close by duration, the
spoken reason's window ends, the pre-record buffer ages, the status is redrawn), re-measures
its free storage, takes an audio block every 200 ms and the camera's frames. Every port runs
the same loop, so the rules of when each happens live here once:

- in real time (a board, ``sealcam record``), the port calls ``drain`` with its capture
  queue (or ``serve`` after feeding a frame itself) as often as it can;
- in virtual time (the simulator's recorder, the test bench), ``pass_time`` moves the
  clock itself, from one due input to the next, filming at a given frame rate.
"""

from firmware.recorder import IDLE, PRE_RECORD, RECORDING, RESUMING

TICK_MS = 1000  # how often a running recorder is told that time passes
AUDIO_BLOCK_MS = 200  # one audio block
IDLE_STEP_MS = 60000  # virtual time per tick while nothing is captured
CAPTURING = (IDLE, PRE_RECORD, RECORDING, RESUMING)  # the camera runs while ready

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware.agent import Agent
    from firmware.capture import CaptureQueue


class RunLoop:
    """Ticks, storage checks, audio and frames for one booted agent (make one per boot).

    ``audio`` gives the next audio block (bytes), or None when the microphone has none;
    without it no audio is fed. An encoder that cuts the sound into frames of its own (AAC,
    for fragmented MP4, where each frame is one sample) gives a list of
    ``(data, wall_ms, mono_ms)`` instead, each frame with its capture time.
    """

    def __init__(
        self,
        agent: "Agent",
        audio: "Callable[[], bytes | list | None] | None" = None,
        tick_ms: int = TICK_MS,
        audio_block_ms: int = AUDIO_BLOCK_MS,
        idle_step_ms: int = IDLE_STEP_MS,
    ) -> None:
        self.agent = agent
        self.audio = audio
        self.tick_ms = tick_ms
        self.audio_block_ms = audio_block_ms
        self.idle_step_ms = idle_step_ms
        now = agent.clock.mono_ms()
        self.tick_due = now + tick_ms  # the boot's own inputs count as the first tick
        self.audio_due = now  # real time only: pass_time keeps its own

    # --- real time -----------------------------------------------------------------------

    def drain(self, queue: "CaptureQueue") -> int:
        """Feed every frame the capture side queued, then ``serve``; return how many."""
        fed = self.agent.drain(queue)
        self.serve()
        return fed

    def serve(self) -> None:
        """Whatever is due now: an audio block, a tick, a storage check (at its own pace)."""
        agent = self.agent
        now = agent.clock.mono_ms()
        if self.audio is not None and now >= self.audio_due:
            self.audio_due = now + self.audio_block_ms
            self._feed_audio()
        self._tick(now)
        agent.check_storage()

    # --- virtual time ----------------------------------------------------------------------

    def pass_time(
        self,
        ms: int,
        frame_ms: int,
        advance: "Callable[[int], None]",
        chores: "Callable[[int], None] | None" = None,
    ) -> int:
        """Let ``ms`` of virtual time pass; return how many frames were captured.

        ``advance(ms)`` moves the agent's clock. While the recorder captures (and
        ``frame_ms`` is not 0), a frame every ``frame_ms``, an audio block every
        ``audio_block_ms`` and a tick when due, the clock moving to the next of them;
        otherwise the clock moves up to ``idle_step_ms`` at a time, each step a tick and a
        storage check. ``chores(step_ms)`` runs after every step, for the hardware's own
        upkeep (a battery drains, the officer hears the prompts): ``step_ms`` is the idle
        step's length, 0 after a capturing step.
        """
        agent = self.agent
        clock = agent.clock
        end = clock.mono_ms() + ms
        frames = 0
        next_frame = next_audio = clock.mono_ms()
        while clock.mono_ms() < end:
            if not frame_ms or agent.recorder.state not in CAPTURING:
                step = min(self.idle_step_ms, end - clock.mono_ms())
                advance(step)
                agent.input("tick")
                agent.check_storage()
                if chores is not None:
                    chores(step)
                next_frame = next_audio = clock.mono_ms()
                continue
            now = clock.mono_ms()
            if now >= next_frame:
                if agent.capture():
                    frames += 1
                next_frame += frame_ms
            if now >= next_audio:
                self._feed_audio()
                next_audio += self.audio_block_ms
            self._tick(now)
            if chores is not None:
                chores(0)
            advance(max(1, min(next_frame, next_audio, end) - clock.mono_ms()))
        return frames

    # --- the inputs ------------------------------------------------------------------------

    def _tick(self, now: int) -> None:
        if now >= self.tick_due:
            self.tick_due = now + self.tick_ms
            self.agent.input("tick")

    def _feed_audio(self) -> None:
        audio = self.audio
        if audio is not None:
            block = audio()
            if type(block) is list:
                agent = self.agent
                for data, wall, mono in block:
                    agent.run(agent.recorder.audio(data, wall, mono))
            elif block is not None:
                self.agent.input("audio", block)
