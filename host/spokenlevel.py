"""How loud a spoken reason is: the sound level of an audio-only fMP4 fragment (and how
loud the start of a recording is, where the announcement is said).

The officer states the reason for a pause aloud when recording resumes (R-DEV-9), and the
resume entry points at the chunk holding that audio. In fMP4 mode that chunk is a fragment
with audio samples only (AAC); on its own it has no decoder set-up, which lives in the
recording's initialisation segment, so the two are decoded together with PyAV (ffmpeg).

The level is the RMS of every decoded sample over the whole span, in dBFS: relative to
full scale, so a full-scale square wave is 0 dBFS and a full-scale sine about -3 dBFS.
Speech at arm's length from a body-worn microphone is around -35 to -20 dBFS; a muted or
covered microphone, or a room with nobody speaking, stays below -50 dBFS.
"""

import io
import math


class Undecodable(ValueError):
    """The fragment holds no audio that can be decoded; the message says why, and ``kind``
    says it for a report in the reader's language: "no-track" (the recording has no sound
    track), "no-samples" (it has one, with nothing in it here) or "undecodable"."""

    def __init__(self, message: str, kind: str = "undecodable") -> None:
        super().__init__(message)
        self.kind = kind


def level_dbfs(init: bytes, fragment: bytes) -> float:
    """The RMS level, in dBFS, of all the audio in ``fragment`` (decoded with the tracks of
    ``init``); ``-inf`` for digital silence. Undecodable when there is no audio to measure.
    ``fragment`` may be several fragments one after the other (a span of a recording)."""
    import av
    import numpy as np

    squares = 0.0
    count = 0
    try:
        with av.open(io.BytesIO(init + fragment), "r", format="mp4") as container:
            if not container.streams.audio:
                raise Undecodable(
                    "the recording's initialisation segment has no audio track", "no-track"
                )
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                samples = frame.to_ndarray().astype(np.float64)
                if frame.format.name.startswith(("s16", "s32")):
                    samples /= float(1 << (15 if frame.format.name.startswith("s16") else 31))
                squares += float(np.square(samples).sum())
                count += samples.size
    except av.FFmpegError as exc:
        raise Undecodable("its audio cannot be decoded (%s)" % exc) from None
    if count == 0:
        raise Undecodable("it holds no audio samples", "no-samples")
    rms = math.sqrt(squares / count)
    return 20 * math.log10(rms) if rms > 0 else -math.inf
