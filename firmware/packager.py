"""The packager: a recording's samples as fragmented MP4 (an init segment, then fragments).

The recorder decides what goes into a chunk (one GOP of video and the audio captured during
it); the packager only turns those samples into bytes, through the ``Packager`` seam, so a
port could package another way. ``Fmp4Packager`` writes them with ``protocol.mp4``:

* tracks, in every init segment, in this order: video (track 1, timescale 90000), audio
  (track 2, timescale = its sample rate) when the device has a microphone, and a text track
  (``tx3g``, timescale 1000) with the next id, which the device never fills: an export puts
  its notes there (the pauses) without changing a signed byte;
* media time 0 is ``origin_mono`` (given to ``begin``); a sample's decode time is its capture
  time after that, in its track's timescale; its duration runs to the next sample's, and the
  last sample of a fragment gets the nominal frame duration (video) or ``audio_frame``;
* a video sample may carry a composition offset (B-frames, from a vendor's encoder): its
  presentation time minus its decode time, in ticks of the video timescale (90 kHz), written
  into the trun unchanged. Our own encoders make none (offset 0);
* a stream with B-frames shows its first picture some frames after it is decoded. The
  video track's ``media_time`` (set by the port that knows that delay) becomes an edit list
  starting the track there, and every other track of the recording gets the same start
  (in its own timescale), so the first picture shows at time zero and the sound and the
  notes stay in step with it;
* fragment sequence numbers count 1, 2, 3 ... within a recording.

Pure Python on ``protocol.mp4``: it runs on MicroPython too, where a board packages the
sensor's JPEG frames as Motion JPEG.
"""

from protocol.mp4 import (
    HANDLER_AUDIO,
    HANDLER_TEXT,
    HANDLER_VIDEO,
    Run,
    Sample,
    Track,
)
from protocol.mp4 import fragment as write_fragment
from protocol.mp4 import init_segment as write_init

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Protocol

    class Packager(Protocol):
        """What the recorder needs of a packager."""

        def ready(self) -> bool:
            """True when the init segment can be made now (the video's parameter sets are
            known)."""
            ...

        def begin(self, origin_mono: int) -> None:
            """A new recording: media time 0 is ``origin_mono``; fragments count from 1."""
            ...

        def init_segment(self) -> bytes:
            """The recording's initialisation segment (``ftyp`` + ``moov``)."""
            ...

        def fragment(self, video: list, audio: list) -> bytes:
            """One fragment (``moof`` + ``mdat``): ``video`` is [(data, keyframe, mono_ms)]
            or [(data, keyframe, mono_ms, cto)] in decode order, ``mono_ms`` the decode time
            and ``cto`` the composition offset in 90 kHz ticks (0 when left out); ``audio``
            is [(data, mono_ms)] in capture order; either may be empty."""
            ...


VIDEO_TRACK = 1
AUDIO_TRACK = 2
VIDEO_TIMESCALE = 90000
TEXT_TIMESCALE = 1000
VIDEO_CODECS = ("avc1", "hvc1", "jpeg")


def video_track(codec: str, config: bytes, width: int, height: int) -> "Track":
    """The video track every init segment starts with: ``codec`` "avc1" (``config`` is the
    avcC payload), "hvc1" (the hvcC payload) or "jpeg" (Motion JPEG, no config)."""
    return Track(
        VIDEO_TRACK, HANDLER_VIDEO, VIDEO_TIMESCALE, codec, config, width=width, height=height
    )


def aac_track(config: bytes, sample_rate: int, channels: int) -> "Track":
    """The audio track: AAC-LC, ``config`` its AudioSpecificConfig."""
    return Track(
        AUDIO_TRACK,
        HANDLER_AUDIO,
        sample_rate,
        "mp4a",
        config,
        channels=channels,
        sample_rate=sample_rate,
    )


def _check_video(track: "Track") -> None:
    if (
        track.track_id != VIDEO_TRACK
        or track.handler != HANDLER_VIDEO
        or track.timescale != VIDEO_TIMESCALE
        or track.codec not in VIDEO_CODECS
    ):
        raise ValueError(
            "the video track must be track %d, handler vide, timescale %d, codec avc1, hvc1 "
            "or jpeg (firmware.packager.video_track makes one)" % (VIDEO_TRACK, VIDEO_TIMESCALE)
        )


def _check_audio(track: "Track") -> None:
    if (
        track.track_id != AUDIO_TRACK
        or track.handler != HANDLER_AUDIO
        or track.codec != "mp4a"
        or track.timescale < 1
        or track.timescale != track.sample_rate
    ):
        raise ValueError(
            "the audio track must be track %d, handler soun, codec mp4a, timescale = its "
            "sample rate (firmware.packager.aac_track makes one)" % AUDIO_TRACK
        )


class Fmp4Packager:
    """Fragmented MP4 on ``protocol.mp4``, with the tracks and times the footage format fixes.

    ``video`` may be None until the stream shows its parameter sets (a vendor's encoder):
    ``set_video`` gives it then, and ``ready`` is False until it has. ``frame_ms`` is the
    nominal frame duration, ``audio_frame`` the samples in one audio frame (1024 for AAC).
    ``audio`` is None on a device without a microphone, whose port then feeds no audio: a
    fragment with samples of a track the recording lacks is refused (ValueError).
    """

    def __init__(
        self,
        video: "Track | None",
        audio: "Track | None",
        frame_ms: int = 33,
        audio_frame: int = 1024,
    ) -> None:
        if video is not None:
            _check_video(video)
        if audio is not None:
            _check_audio(audio)
        if type(frame_ms) is not int or frame_ms < 1:
            raise ValueError("frame_ms must be an integer >= 1, not %r" % (frame_ms,))
        if type(audio_frame) is not int or audio_frame < 1:
            raise ValueError("audio_frame must be an integer >= 1, not %r" % (audio_frame,))
        self.video = video
        self.audio = audio
        self.frame_ms = frame_ms
        self.audio_frame = audio_frame
        self._next_video: Track | None = None  # learnt during a recording: for the next
        self._origin = 0
        self._sequence = 0
        self._tracks: list | None = None  # the tracks of this recording's init segment
        self._last: dict = {}  # track id -> the last decode time written

    def ready(self) -> bool:
        return self.video is not None

    def set_video(self, track: "Track") -> None:
        """The video track, with the parameter sets learnt from the stream. Once a
        recording's init segment is made its tracks are signed: a change then applies from
        the next recording."""
        _check_video(track)
        if self._tracks is None:
            self.video = track
        else:
            self._next_video = track

    def begin(self, origin_mono: int) -> None:
        if type(origin_mono) is not int:
            raise ValueError("origin_mono must be an integer (ms), not %r" % (origin_mono,))
        if self._next_video is not None:
            self.video = self._next_video
            self._next_video = None
        self._origin = origin_mono
        self._sequence = 0
        self._tracks = None
        self._last = {}

    def tracks(self) -> list:
        """The tracks an init segment made now holds, in order."""
        tracks = []
        delay = self.video.media_time if self.video is not None else 0
        if self.video is not None:
            tracks.append(self.video)
        if self.audio is not None:
            audio = self.audio
            if delay:
                rate = audio.timescale
                audio = aac_track(audio.config, audio.sample_rate, audio.channels)
                audio.media_time = (delay * rate + VIDEO_TIMESCALE // 2) // VIDEO_TIMESCALE
            tracks.append(audio)
        text_id = (AUDIO_TRACK if self.audio is not None else VIDEO_TRACK) + 1
        text = Track(text_id, HANDLER_TEXT, TEXT_TIMESCALE, "tx3g")
        text.media_time = (delay * TEXT_TIMESCALE + VIDEO_TIMESCALE // 2) // VIDEO_TIMESCALE
        tracks.append(text)
        return tracks

    def init_segment(self) -> bytes:
        tracks = self.tracks()
        self._tracks = tracks
        return write_init(tracks)

    def fragment(self, video: list, audio: list) -> bytes:
        if not video and not audio:
            raise ValueError("a fragment needs at least one video or audio sample")
        tracks = self._tracks if self._tracks is not None else self.tracks()
        ids = [t.track_id for t in tracks]
        runs = []
        if video:
            if VIDEO_TRACK not in ids:
                raise ValueError("video samples, but this recording has no video track")
            times = [self._time(VIDEO_TRACK, item[2]) for item in video]
            runs.append(self._run(VIDEO_TRACK, video, times, self.frame_ms * 90, True))
        if audio:
            if AUDIO_TRACK not in ids or self.audio is None:
                raise ValueError("audio samples, but this recording has no audio track")
            rate = self.audio.timescale
            times = [self._time(AUDIO_TRACK, item[1], rate) for item in audio]
            runs.append(self._run(AUDIO_TRACK, audio, times, self.audio_frame, False))
        self._sequence += 1
        return write_fragment(self._sequence, runs)

    def _time(self, track_id: int, mono_ms: int, rate: int = 0) -> int:
        """The decode time of a sample captured at ``mono_ms``; never before the track's last,
        so a sample fed late (a queue drained after the button) cannot run time backwards."""
        ms = mono_ms - self._origin
        if ms < 0:
            ms = 0
        t = ms * 90 if not rate else (ms * rate + 500) // 1000
        last = self._last.get(track_id, -1)
        if t <= last:
            t = last + 1
        self._last[track_id] = t
        return t

    def _run(self, track_id: int, items: list, times: list, last: int, video: bool) -> "Run":
        samples = []
        n = len(items)
        for i in range(n):
            duration = times[i + 1] - times[i] if i + 1 < n else last
            item = items[i]
            if video:
                cto = item[3] if len(item) > 3 else 0
                samples.append(Sample(item[0], duration, item[1], cto))
            else:
                samples.append(Sample(item[0], duration, True))
        return Run(track_id, times[0], samples)
