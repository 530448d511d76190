"""The recorder's media encoder: the scene and the microphone through the Linux port's
encoders (``firmware.ports.encoder``: libx264/libx265 and AAC, by PyAV), on virtual time.

A recorder sold today has a hardware encoder between its sensor and its storage; the
simulator's stands in for it with the very encoders ``sealcam record`` uses, so a simulated
shift writes the fragmented MP4 a Linux recorder writes (``firmware.packager``):

* ``EncodedCamera`` is the camera the agent reads: each ``read`` takes the scene's picture
  with the overlay burned in (``SceneCamera.picture``), encodes it, and hands the access
  unit to the recorder as one sample. It forces an IDR whenever the recorder wants one
  (``Recorder.wants_keyframe``: at record start and after a resume), and tells the packager
  the video track once the encoder has shown its parameter sets, before that first frame
  reaches the recorder.
* ``EncodedSound`` turns the microphone's PCM blocks into AAC frames of 1024 samples, each
  ``(data, wall_ms, mono_ms)`` with its own capture time, which ``firmware.runloop.RunLoop``
  feeds into the recorder one by one, so every AAC frame stays one sample of a fragment.

Nothing here reads a real clock: the encoders' timestamps come from the virtual clock's
capture times, so ten virtual hours cost only the frames and blocks they contain.

One shortcut keeps long shifts fast. AAC costs about a millisecond of CPU a frame, and a
ten-hour shift at 8 kHz is 280,000 frames, nearly all of the microphone's steady hum, whose
blocks are the same bytes every time (``SimMicrophone`` repeats a tone of whole periods).
Fed the same block over and over, the encoder's frames repeat every ``loop_blocks`` blocks
(the blocks after which a block boundary falls on a frame boundary again), so once it has
settled (one loop) and been heard for one more loop, the frames it gave for each place in
that loop are given again, with the new capture times, instead of encoding the same input
again. They are the same encoder's output for the same input; a block that differs (speech,
a covered microphone, a gap) goes to a fresh encoder, since the old one did not hear the
replayed span.
"""
# micropython: skip (PyAV, OpenCV and numpy; the simulator runs on CPython only)

import math
from collections.abc import Callable

from firmware.hal import Camera
from firmware.packager import Fmp4Packager, aac_track
from firmware.ports.encoder import AAC_BITRATE, AAC_FRAME, AudioEncoder, VideoEncoder
from protocol.mp4 import Track
from simulator.hardware.camera import SceneCamera
from simulator.hardware.clock import SimClock

# The AAC bit rate for a microphone of this many samples a second: 16 kbit/s at the simulated
# microphone's 8 kHz, ample for speech at that bandwidth (AAC could spend at most 48 kbit/s
# there, and FFmpeg would clamp the Linux port's 64 kbit/s, saying so on stderr); the hum and
# the voice make most of a simulated shift's bytes, so they are not spent where nothing is
# gained. The Linux port's 64 kbit/s from 32 kHz on.
_AAC_BITS_PER_SAMPLE = 2


def gop_frames(fps: int, chunk_ms: int) -> int:
    """Frames between keyframes: one GOP a chunk, as the recorder cuts chunks at keyframes
    once ``chunk_ms`` has passed (at least 1)."""
    return max(1, fps * chunk_ms // 1000)


def _never() -> bool:
    return False


class EncodedCamera(Camera):
    """The scene camera with the video encoder behind it, as the agent sees a camera.

    ``packager`` learns the video track from the encoder; ``follow(recorder)`` (after boot,
    since the recorder is made by it) lets the camera see when an IDR is wanted.
    """

    def __init__(
        self, scene: SceneCamera, codec: str, fps: int, gop: int, packager: Fmp4Packager
    ) -> None:
        self.scene = scene
        self.encoder = VideoEncoder(codec, fps, gop)
        self.packager = packager
        self.wants_keyframe: Callable[[], bool] = _never
        self._track: Track | None = None
        self._ready: list = []  # samples out of the encoder, not yet read by the agent
        self.forced = 0  # IDRs made because the recorder asked for one

    def follow(self, recorder: object) -> None:
        """Ask ``recorder.wants_keyframe`` before every frame."""
        self.wants_keyframe = lambda: bool(getattr(recorder, "wants_keyframe", False))

    def read(self, overlay: str) -> tuple | None:
        image = self.scene.picture(overlay)
        if image is None:
            return None
        force = self.wants_keyframe()
        self.forced += force
        self._ready.extend(self.encoder.encode(image, self.scene.clock.mono_ms(), force))
        track = self.encoder.track
        if track is not None and track is not self._track:
            # The parameter sets come with the first access unit: the packager has them
            # before the recorder sees that frame, so the recording can start with it.
            self._track = track
            self.packager.set_video(track)
        if not self._ready:
            return None  # the encoder holds the picture back (not with zerolatency)
        data, keyframe, mono = self._ready.pop(0)
        return data, keyframe, mono

    def working(self) -> bool:
        return self.scene.working()


class EncodedSound:
    """PCM blocks in, AAC frames ``(data, wall_ms, mono_ms)`` out.

    The run loop reads the microphone only while the camera runs, so a pause leaves a gap
    in the blocks; the encoder's last frames from before it would come out stamped before
    the pause, in the middle of the spoken reason. After a gap the encoder starts afresh,
    as a device's does when its audio path is stopped and started again: what it still held
    was heard before the pause, which a recorder drops in any case. A run of identical
    blocks is encoded for two loops and then replayed (the module's docstring says why).
    """

    def __init__(self, clock: SimClock, rate: int, block_ms: int) -> None:
        self.clock = clock
        self.rate = rate
        self.block_ms = block_ms
        self.bitrate = min(AAC_BITRATE, rate * _AAC_BITS_PER_SAMPLE)
        block = rate * block_ms // 1000
        self.loop_blocks = AAC_FRAME // math.gcd(block, AAC_FRAME)
        self._encoder = AudioEncoder(rate, 1, self.bitrate)
        self._last = -1  # mono_ms of the last block
        self._same = b""  # the block the last ones repeated
        self._run = 0  # how many times in a row it came after its first
        self._loop: dict = {}  # place in the loop -> [(data, ms after the block's time)]
        self.restarts = 0  # fresh encoders after a gap or a replay
        self.encoded = 0  # blocks that went through the encoder
        self.replayed = 0  # blocks answered from the loop

    def track(self) -> Track:
        """The audio track every init segment carries (AAC-LC, mono, this rate)."""
        return aac_track(self._encoder.config, self.rate, 1)

    def encode(self, pcm: bytes, mono_ms: int) -> list:
        loop = self.loop_blocks
        replaying = len(self._loop) == loop
        gap = self._last >= 0 and mono_ms - self._last > 2 * self.block_ms
        self._last = mono_ms
        if pcm == self._same and not gap:
            self._run += 1
        else:
            if gap or replaying:
                # The encoder has not heard what came between: start it afresh.
                self._encoder = AudioEncoder(self.rate, 1, self.bitrate)
                self.restarts += 1
            self._same, self._run, self._loop = pcm, 0, {}
            replaying = False
        # Both clocks move together: a frame's wall time is its mono time's, seen from now.
        offset = self.clock.wall_ms() - self.clock.mono_ms()
        place = self._run % loop
        if replaying:
            self.replayed += 1
            return [(data, mono_ms + ms + offset, mono_ms + ms) for data, ms in self._loop[place]]
        frames = self._encoder.encode(pcm, mono_ms)
        self.encoded += 1
        if self._run >= loop:  # settled: keep this place's frames for the replay
            self._loop[place] = [(data, mono - mono_ms) for data, mono in frames]
        return [(data, mono + offset, mono) for data, mono in frames]
