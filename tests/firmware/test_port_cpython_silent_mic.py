"""A microphone that stops answering once the pictures have ended, on a virtual clock.

``firmware.ports.cpython.record`` gives up on a microphone thread that has given nothing for
``mic_wait_ms`` after the pictures ended, rather than wait on it for ever. Here the sound is a
WAV file whose reads stall at a point the test chooses, and the clock is one that the test
moves: no test waits for the limit in real time, and none judges by how long anything took.
"""
# micropython: skip (OpenCV, PyAV and threads are CPython-only)
# Issue 12 "CPython port"; R-DEV-9 (the recording's stop is signed whatever its sources do).

import threading

from firmware.ports import cpython
from tests.firmware.avmedia import write_video, write_wav
from tests.firmware.portclock import DEVICE, ROOM, SEED, VirtualClock


class ArmedClock(VirtualClock):
    """A virtual clock that, once armed, jumps ``jump`` ms at its next reading and moves
    ``step`` ms at every reading after (time passing while the main loop turns), and counts
    the readings of the main thread, the recording loop's."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.jump = 0
        self.step = 0
        self.main_readings = 0

    def mono_ms(self) -> int:
        if self.armed:
            with self.lock:
                self.mono += self.jump + self.step
                self.jump = 0
            if threading.current_thread() is threading.main_thread():
                self.main_readings += 1
        return super().mono_ms()


HALF_THE_PICTURES_MS = 500  # of the 30 frames at 30 per second


class StallingSound:
    """The port's Sound over a WAV file: once it has read half the pictures' sound, its read
    stalls until the pictures have ended (the recording's ``stop`` is set) and then until
    ``release`` is set; the reads and flushes made after the stall are counted."""

    def __init__(self, sound, stop, clock, before_release=None) -> None:
        self.sound, self.stop, self.clock = sound, stop, clock
        self.track = sound.track
        self.release = threading.Event()
        self.stalled = threading.Event()
        self.before_release = before_release  # called in the stall, then the read goes on
        self.reads_after = 0
        self.flushes_after = 0

    @property
    def heard_ms(self) -> int:
        return self.sound.heard_ms

    def begin(self, mono_ms: int) -> None:
        self.sound.begin(mono_ms)

    def read(self):
        if self.stalled.is_set():
            self.reads_after += 1
        elif self.sound.heard_ms >= HALF_THE_PICTURES_MS:
            # Half the pictures' sound is read: the next read stalls, and only once the
            # pictures have ended (the sound so far may run ahead of them on this clock).
            self.stop.wait()
            self.stalled.set()
            if self.before_release is not None:
                self.before_release()
            self.release.wait()
        return self.sound.read()

    def flush(self) -> list:
        if self.stalled.is_set():
            self.flushes_after += 1
        return self.sound.flush()

    def close(self) -> None:
        self.sound.close()


def opened(tmp_path, clock, before_release=None):
    video, wav = tmp_path / "scene.avi", tmp_path / "voice.wav"
    write_video(video, frames=30)
    write_wav(wav, seconds=30, rate=16000)  # far longer than the pictures
    stop = threading.Event()
    media, sound = cpython.open_media(
        str(video), "h264", clock, mic=str(wav), sleep=clock.sleep, stop=stop
    )
    stalling = StallingSound(sound, stop, clock, before_release)
    return (media, stalling), stop, stalling


def record(tmp_path, clock, opened, stop, mic_wait_ms) -> dict:
    return cpython.record(
        str(tmp_path / "rec"), "", SEED, DEVICE, "P-1", opened=opened, stop=stop, clock=clock,
        sleep=clock.sleep, indicators=cpython.Indicators(), queue_frames=ROOM,
        mic_wait_ms=mic_wait_ms,
    )  # fmt: skip


def test_time_the_process_spent_stopped_is_not_the_microphone_s_silence(tmp_path):
    # R-DEV-9: the microphone's read stalls after the pictures end while the clock jumps a
    # minute (the process stopped by ^Z or SIGSTOP, a frozen virtual machine), then answers
    # after the recording loop has turned a few times. Its sound is recorded to the end:
    # the minute was not silence of a microphone whose thread was stopped too. (Before, the
    # jump alone gave the microphone up as stopped answering.)
    clock = ArmedClock()
    holder: list = []

    def stopped_a_minute() -> None:
        clock.jump = 60_000
        clock.armed = True
        while clock.main_readings < 30 and holder[0].release.wait(0.01) is False:
            pass  # the loop's turns, counted by its readings of the clock, not by time
        holder[0].release.set()

    media_sound, stop, sound = opened(tmp_path, clock, stopped_a_minute)
    holder.append(sound)
    summary = record(tmp_path, clock, media_sound, stop, mic_wait_ms=1000)
    assert "source_failed" not in summary, summary
    assert sound.flushes_after == 1 and summary["audio_frames"] > 0


def test_a_microphone_given_up_on_puts_nothing_when_its_read_returns_late(tmp_path):
    # R-DEV-9: the microphone's read stalls after the pictures end and the clock moves while
    # the recording loop turns, so the microphone is given up on and the recording returns.
    # When the stalled read then returns, its thread puts nothing and flushes nothing: the
    # recording's queues and counts are final once it has returned.
    clock = ArmedClock()

    def stalled() -> None:
        clock.step = 20
        clock.armed = True

    media_sound, stop, sound = opened(tmp_path, clock, stalled)
    summary = record(tmp_path, clock, media_sound, stop, mic_wait_ms=1000)
    assert "the microphone stopped answering" in summary["source_failed"]
    thread = next(t for t in threading.enumerate() if t.name == "microphone")
    sound.release.set()
    thread.join()
    assert sound.reads_after == 0 and sound.flushes_after == 0
