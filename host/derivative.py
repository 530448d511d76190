"""The H.264 derivative of a raw-mode recording: its JPEG frames and PCM sound re-encoded.

A recording made in raw mode (boards, the simulator, older stores) holds each frame as a JPEG
and its sound as raw PCM blocks; no common player opens that as one file with sound. The MP4
export of such a recording is therefore a derivative, not the signed bytes: the decoded frames
encoded with libx264 (yuv420p, constant frame rate) and the PCM encoded as AAC, labelled as a
derivative in the file's own metadata, so that a viewer of the file alone learns that it is
not the signed footage and which signed originals (by seq and SHA-256) it was made from.

Raw PCM chunks are what the microphone delivers: 16-bit little-endian mono samples, blocks
concatenated in capture order. The ledger does not sign the sample rate, so it is taken from
the chunks' sample counts over their signed spans, snapped to the nearest common rate.
"""

import statistics
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from host.problems import Said
from protocol.registry import F_END_MS, F_FRAME_HASHES, F_PLAIN_LEN, F_START_MS

if TYPE_CHECKING:  # PyAV and numpy load only when a derivative is written
    import av
    import numpy as np
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.stream import VideoStream

CODEC = "libx264"
PIX_FMT = "yuv420p"
# Visually lossless for evidence review, and fast enough for hour-long recordings.
X264_OPTIONS = {"preset": "veryfast", "crf": "18"}
AUDIO_CODEC = "aac"
PCM_BYTES = 2  # one 16-bit little-endian mono sample
COMMON_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
SILENCE_BLOCK = 4096  # samples of padding written at a time


class DerivativeProblem(Said):
    """The derivative cannot be written here; the message says why (``said``: its id and
    fields kept)."""


def pcm_rate(chunks: list) -> int:
    """The sample rate of raw PCM chunks: the median of their samples per signed second,
    snapped to the nearest common rate (8000 when no chunk spans any time)."""
    rates = []
    for e in chunks:
        f = e.fields
        blocks = len(f.get(F_FRAME_HASHES) or ())
        span = f[F_END_MS] - f[F_START_MS]
        samples = f.get(F_PLAIN_LEN, 0) // PCM_BYTES
        if span > 0 and samples and blocks:
            rates.append(1000 * samples / span)
    if not rates:
        return COMMON_RATES[0]
    measured = statistics.median(rates)
    return min(COMMON_RATES, key=lambda r: abs(r - measured))


class H264Derivative:
    """An MP4 being written with PyAV: H.264 video at a constant ``fps``, and AAC sound at
    ``audio_rate`` when that is given. Opened at the first frame, which sets its size."""

    def __init__(
        self, path: Path, fps: float, metadata: dict, audio_rate: int | None = None
    ) -> None:
        self.path = path
        self.fps = fps
        self.rate = Fraction(fps).limit_denominator(1001)
        self.metadata = metadata
        self.audio_rate = audio_rate
        self.size = (0, 0)
        self.frames = 0
        self.samples = 0  # audio samples written so far, padding included
        self._container: OutputContainer | None = None
        self._video: VideoStream | None = None
        self._audio: AudioStream | None = None

    def _open(self, width: int, height: int) -> None:
        import av

        try:
            container = av.open(str(self.path), "w", format="mp4")
        except (av.FFmpegError, OSError) as exc:
            raise DerivativeProblem.said(
                "export.derivative_create", path=self.path, why=exc
            ) from None
        for key, value in self.metadata.items():
            container.metadata[key] = value
        video = container.add_stream(CODEC, rate=self.rate, options=dict(X264_OPTIONS))
        assert isinstance(video, av.VideoStream)
        video.width, video.height = width, height
        video.pix_fmt = PIX_FMT
        if self.audio_rate:
            audio = container.add_stream(AUDIO_CODEC, rate=self.audio_rate)
            assert isinstance(audio, av.AudioStream)
            audio.layout = "mono"
            self._audio = audio
        self._container, self._video = container, video

    def add(self, image: "np.ndarray") -> None:
        """Encode one BGR frame; a frame of another size than the first is scaled to it."""
        import av
        import cv2

        h, w = image.shape[:2]
        if self._container is None:
            # yuv420p halves the chroma planes: H.264 wants an even width and height.
            self.size = (w + w % 2, h + h % 2)
            self._open(*self.size)
        if (w, h) != self.size:
            image = cv2.resize(image, self.size)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self.frames
        frame.time_base = 1 / self.rate
        self._mux(self._video, frame)
        self.frames += 1

    def seconds(self) -> float:
        """Where the video written so far ends, in seconds."""
        return self.frames / self.fps

    def add_audio(self, pcm: bytes, at_s: float) -> None:
        """Add PCM samples meant to start ``at_s`` seconds into the file: after silence up to
        there when the sound so far ends earlier, right after it when it ends later."""
        import numpy as np

        if self._audio is None or not self.audio_rate:
            return
        start = round(at_s * self.audio_rate)
        while self.samples < start:
            n = min(SILENCE_BLOCK, start - self.samples)
            self._write_samples(np.zeros(n, "<i2"))
        usable = len(pcm) - len(pcm) % PCM_BYTES
        if usable:
            self._write_samples(np.frombuffer(pcm[:usable], "<i2"))

    def _write_samples(self, samples: "np.ndarray") -> None:
        import av

        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.audio_rate or 0  # set whenever there is an audio stream
        frame.pts = self.samples
        frame.time_base = Fraction(1, self.audio_rate or 1)
        self._mux(self._audio, frame)
        self.samples += len(samples)

    def _mux(
        self, stream: "VideoStream | AudioStream | None", frame: "av.VideoFrame | av.AudioFrame"
    ) -> None:
        import av

        assert self._container is not None and stream is not None
        try:
            # Each stream takes its own kind of frame; the checks tell the type checker so.
            if isinstance(frame, av.VideoFrame):
                assert isinstance(stream, av.video.stream.VideoStream)
                packets = stream.encode(frame)
            else:
                assert isinstance(stream, av.audio.stream.AudioStream)
                packets = stream.encode(frame)
            for packet in packets:
                self._container.mux(packet)
        except av.FFmpegError as exc:
            raise DerivativeProblem.said(
                "export.derivative_encode", name=self.path.name, why=exc
            ) from None

    def close(self) -> None:
        """Flush the encoders and finish the file (nothing when it was never opened)."""
        container, self._container = self._container, None
        if container is None:
            return
        try:
            for stream in (self._video, self._audio):
                if stream is not None:
                    for packet in stream.encode(None):
                        container.mux(packet)
        finally:
            container.close()
