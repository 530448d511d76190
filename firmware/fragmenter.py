"""The fragmenter: which samples of a recording go into which fragmented-MP4 chunk.

The recorder (firmware.recorder) decides when a recording starts, pauses, resumes and stops,
and chains every chunk into the ledger. In fragmented-MP4 mode it hands the samples it
captures to a fragmenter, which cuts them into chunks and has the packager
(firmware.packager) turn each into bytes:

* chunk 0 of a recording is its initialisation segment (MEDIA_MP4_INIT, no frame digests),
  made just before the first fragment, when the packager has learnt the video's parameter
  sets;
* every later chunk is one fragment (MEDIA_MP4) holding one GOP of video, closed at the
  first keyframe once ``chunk_ms`` has passed since the GOP's first sample, or at
  ``max_chunk_ms`` without one, and the audio captured during it. Its frame digests are
  those of the video samples, exactly as they go into the fragment;
* audio makes no chunk of its own, except the spoken reason after a resume (an audio-only
  fragment that EV_RESUME points at) and, when no video comes at all (a dead camera),
  audio-only fragments closed at ``chunk_ms``;
* a fragment must start decodable, so video waits for a keyframe after the button
  (pre-record frames before the first keyframe are left out), after a resume and after
  lost frames; ``wants_keyframe`` asks the port's encoder for one now. The frames left out
  while waiting are counted and handed back for the recorder to log (R-DEV-6).

Each input returns the chunks and losses it completed, in the order they happened, as
plain tuples (CUT_CHUNK, CUT_LOST below): the fragmenter writes no ledger entry itself, so
it is sans-I/O like the recorder and the recorder keeps the one chain. Times are the
samples' capture times: ``wall`` ms from the RTC, ``mono`` ms from the monotonic clock.
"""

from protocol.frames import FrameHashes
from protocol.registry import MEDIA_MP4, MEDIA_MP4_INIT

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Protocol

    from firmware.packager import Packager

    class Fragmenter(Protocol):
        """What the recorder needs of a fragmenter. Every method that returns a list
        returns the cuts it completed (CUT_CHUNK, CUT_LOST tuples), oldest first; the
        recorder chains them into the ledger in that order."""

        wants_keyframe: bool

        def decodable(self, video: list, audio: list) -> tuple:
            """(video, audio): the pre-record frames a recording can start with."""
            ...

        def begin(
            self, origin_mono: int, chunk_ms: int, max_chunk_ms: int, video_waits: bool
        ) -> None:
            """A new recording: media time 0 is ``origin_mono``; with ``video_waits`` live
            video starts at a keyframe."""
            ...

        def buffered(self, video: list, audio: list) -> list:
            """The pre-record frames ``decodable`` chose, into fragments."""
            ...

        def video(
            self,
            data: bytes,
            digest: "bytes | None",
            keyframe: bool,
            wall: int,
            mono: int,
            cto: int,
        ) -> list:
            """A video sample, in decode order: ``digest`` is its frame digest when it was
            taken at capture (a pre-record frame), else None; ``cto`` its composition offset
            in 90 kHz ticks (0 without B-frames)."""
            ...

        def audio(self, data: bytes, wall: int, mono: int) -> list:
            """An audio block, in capture order."""
            ...

        def tick(self, now_ms: int, mono_ms: int) -> list:
            """Time passes: close the open fragment when it is due."""
            ...

        def close(self, end_ms: int) -> list:
            """Close the open fragment and hand back the frames still left out."""
            ...

        def stop(self) -> None:
            """Recording paused or stopped: no keyframe is wanted until it starts again."""
            ...

        def video_lost(self) -> None:
            """The capture queue lost video: the frames after it decode wrongly until a
            keyframe."""
            ...

        def begin_spoken(self, wall: int, mono: int) -> None:
            """A resume: the audio from here is the spoken reason, its own fragment."""
            ...

        def spoken_audio(self, data: bytes, wall: int, mono: int) -> None:
            """An audio block of the spoken reason."""
            ...

        def end_spoken(self, end_ms: int) -> list:
            """Close the spoken reason's fragment; empty when no audio came for it."""
            ...


# What a fragmenter hands back to the recorder.
CUT_CHUNK = 0  # (CUT_CHUNK, media, blob, digests, start_ms, end_ms): chain it as a chunk
CUT_LOST = 1  # (CUT_LOST, frames, first_ms, last_ms): video left out, awaiting a keyframe

_NO_CUTS: list = []  # what most inputs return; never appended to

# How long the first fragment of a recording waits for the video's parameter sets before its
# init segment is written without video (a vendor's stream shows them with its first
# keyframe, a GOP of a few seconds at most).
_PARAMETER_SET_WAIT_MS = 10000


class _Fragment:
    """One open fragment: a GOP of video and the audio captured during it."""

    def __init__(self, start_ms: int, start_mono: int) -> None:
        self.start_ms = start_ms
        self.start_mono = start_mono
        self.last_ms = start_ms
        self.hashes = FrameHashes()  # of the video samples only
        self.video: list = []  # (data, keyframe, mono_ms, cto), decode order
        self.audio: list = []  # (data, mono_ms), capture order
        self.video_mono = 0  # the first video sample's capture time: the GOP's age counts from it
        self.size = 0

    def add_video(
        self,
        data: bytes,
        digest: "bytes | None",
        keyframe: bool,
        wall_ms: int,
        mono_ms: int,
        cto: int = 0,
    ) -> None:
        self.hashes.add(data, digest)
        if not self.video:
            self.video_mono = mono_ms
        self.video.append((data, keyframe, mono_ms, cto))
        self.size += len(data)
        self.last_ms = wall_ms

    def add_audio(self, data: bytes, wall_ms: int, mono_ms: int) -> None:
        self.audio.append((data, mono_ms))
        self.size += len(data)
        self.last_ms = wall_ms


class GopFragmenter:
    """One GOP of video a fragment, on a ``Packager``; see the module's docstring."""

    def __init__(self, packager: "Packager") -> None:
        self.packager = packager
        # True while video must start again at a keyframe (after the button, a resume, a
        # fragment cut without one, lost frames).
        self.wants_keyframe = False
        self.open: _Fragment | None = None  # the open fragment
        self.spoken: _Fragment | None = None  # the spoken reason's, while it is captured
        self.lost: list | None = None  # [frames, first_ms, last_ms] left out, to log
        self._chunk_ms = 0
        self._max_chunk_ms = 0
        self._video_gap = False  # video is left out until a keyframe starts it again
        self._init_written = False  # this recording's init segment is cut
        self._init_video = True  # and it has a video track
        self._cuts: list = []

    def _take(self) -> list:
        """The cuts completed so far; no new list when there are none (once a frame)."""
        cuts = self._cuts
        if not cuts:
            return _NO_CUTS
        self._cuts = []
        return cuts

    def decodable(self, video: list, audio: list) -> tuple:
        """The pre-record frames a recording can start with: video from its first keyframe
        (a fragment must start decodable), and audio from there too; with no keyframe
        buffered (or no parameter sets yet) only the audio (R-DEV-15). Items are the
        recorder's buffer's: (data, digest, keyframe, wall, mono, cto)."""
        first = -1
        if self.packager.ready():
            for i in range(len(video)):
                if video[i][2]:
                    first = i
                    break
        if first < 0:
            return [], audio
        video = video[first:]
        start = video[0][4]
        n = 0
        while n < len(audio) and audio[n][4] < start:
            n += 1
        return video, audio[n:]

    def begin(self, origin_mono: int, chunk_ms: int, max_chunk_ms: int, video_waits: bool) -> None:
        # The settings hold for the whole recording: the recorder takes new ones only
        # between recordings.
        self.packager.begin(origin_mono)
        self._chunk_ms = chunk_ms
        self._max_chunk_ms = max_chunk_ms
        self._init_written = False
        self._init_video = True
        self.open = None
        self.lost = None
        self._video_gap = video_waits
        self.wants_keyframe = True

    def buffered(self, video: list, audio: list) -> list:
        """The pre-record frames into fragments, video and audio in capture order."""
        i = j = 0
        while i < len(video) or j < len(audio):
            if j >= len(audio) or (i < len(video) and video[i][4] <= audio[j][4]):
                data, digest, key, wall, mono, cto = video[i]
                self._add_video(data, digest, key, wall, mono, cto)
                i += 1
            else:
                data, _digest, _key, wall, mono, _cto = audio[j]
                self._add_audio(data, wall, mono)
                j += 1
        return self._take()

    def video(
        self, data: bytes, digest: "bytes | None", keyframe: bool, wall: int, mono: int, cto: int
    ) -> list:
        self._add_video(data, digest, keyframe, wall, mono, cto)
        return self._take()

    def audio(self, data: bytes, wall: int, mono: int) -> list:
        self._add_audio(data, wall, mono)
        return self._take()

    def tick(self, now_ms: int, mono_ms: int) -> list:
        f = self.open
        if f is not None and f.video:
            if mono_ms - f.video_mono >= self._max_chunk_ms:
                self._close(f, now_ms)
                self.open = None
                self.wants_keyframe = True  # cut mid-GOP: the next fragment should start one
        elif f is not None and self._audio_due(f, mono_ms):
            self._close(f, now_ms)
            self.open = None
        return self._take()

    def close(self, end_ms: int) -> list:
        if self.open is not None:
            self._close(self.open, end_ms)
            self.open = None
        self._cut_lost()
        return self._take()

    def stop(self) -> None:
        self.wants_keyframe = False

    def video_lost(self) -> None:
        self.wants_keyframe = True

    def begin_spoken(self, wall: int, mono: int) -> None:
        self.spoken = _Fragment(wall, mono)
        # Frames since the pause are gone, so video starts again at a keyframe.
        self._video_gap = True
        self.wants_keyframe = True

    def spoken_audio(self, data: bytes, wall: int, mono: int) -> None:
        spoken = self.spoken
        assert spoken is not None
        spoken.add_audio(data, wall, mono)

    def end_spoken(self, end_ms: int) -> list:
        spoken = self.spoken
        assert spoken is not None
        self.spoken = None
        # With no audio at all (a dead microphone) there is nothing to cut: the recorder
        # logs the resume without a spoken reason, and the host flags it (R-DEV-9).
        if spoken.size:
            self._close(spoken, end_ms)
        return self._take()

    # --- inside ----------------------------------------------------------------------------

    def _close(self, f: _Fragment, end_ms: int) -> None:
        """Cut fragment ``f``, the recording's init segment (chunk 0) first if it is not
        cut yet."""
        packager = self.packager
        if not self._init_written:
            # A packager not ready by now (no parameter sets from a vendor's stream) makes
            # an init segment without video, and this recording's video is left out, logged.
            self._init_video = packager.ready()
            init = packager.init_segment()
            self._init_written = True
            self._cuts.append((CUT_CHUNK, MEDIA_MP4_INIT, init, [], f.start_ms, f.start_ms))
        # Should the packager refuse the fragment (ValueError: samples of a track this
        # recording lacks, a port's mistake), the init segment stays cut and goes out with
        # the next cuts, so the ledger never skips chunk 0.
        blob = packager.fragment(f.video, f.audio)
        end = end_ms if end_ms > f.last_ms else f.last_ms
        self._cuts.append((CUT_CHUNK, MEDIA_MP4, blob, f.hashes.take(), f.start_ms, end))

    def _audio_due(self, f: _Fragment, mono_ms: int) -> bool:
        """Whether fragment ``f``, audio only so far, closes by the cadence. Before the
        packager knows the video's parameter sets, the first one waits (a vendor's stream
        brings them with its first keyframe), but not for ever: memory is bounded."""
        if mono_ms - f.start_mono < self._chunk_ms:
            return False
        if self._init_written:
            return True
        return self.packager.ready() or mono_ms - f.start_mono >= _PARAMETER_SET_WAIT_MS

    def _add_video(
        self, data: bytes, digest: "bytes | None", keyframe: bool, wall: int, mono: int, cto: int
    ) -> None:
        """A video sample into the open fragment, which closes by the GOP rule."""
        if keyframe:
            self.wants_keyframe = False
        ok = self._init_video if self._init_written else self.packager.ready()
        if not ok or (self._video_gap and not keyframe):
            # Nothing could decode it: a fragment starts at a keyframe after a gap, and needs
            # the video's parameter sets. Handed back once video starts again (R-DEV-6).
            lost = self.lost
            if lost is None:
                self.lost = [1, wall, wall]
            else:
                lost[0] += 1
                lost[2] = wall
            return
        if self._video_gap:
            self._video_gap = False
            self._cut_lost()
        f = self.open
        if f is not None:
            if f.video:
                age = mono - f.video_mono
                cut = (keyframe and age >= self._chunk_ms) or age >= self._max_chunk_ms
            else:
                cut = self._audio_due(f, mono)
            if cut:
                self._close(f, wall)
                f = None
                if not keyframe:
                    self.wants_keyframe = True  # cut mid-GOP: the next fragment should start one
        if f is None:
            f = self.open = _Fragment(wall, mono)
        f.add_video(data, digest, keyframe, wall, mono, cto)

    def _add_audio(self, data: bytes, wall: int, mono: int) -> None:
        """An audio block into the open fragment; one with no video closes at chunk_ms."""
        f = self.open
        if f is not None and not f.video and self._audio_due(f, mono):
            self._close(f, wall)
            f = None
        if f is None:
            f = self.open = _Fragment(wall, mono)
        f.add_audio(data, wall, mono)

    def _cut_lost(self) -> None:
        lost = self.lost
        if lost is not None:
            self.lost = None
            self._cuts.append((CUT_LOST, lost[0], lost[1], lost[2]))
