"""Encoders and a microphone for the CPython port: PyAV (FFmpeg) turns frames into samples.

The camera's BGR frames, overlay already burned in (R-DEV-1), become H.264 (libx264) or
H.265 (libx265) access units; 16-bit PCM from a microphone becomes AAC-LC frames of 1024
samples. Every output is a *sample exactly as it goes into the mdat* of a fragment: for
video, the access unit's NAL units with 4-byte lengths and without the parameter sets or
access unit delimiters (those live in the init segment's avcC/hvcC), so the digest the
recorder takes at capture is the digest of the bytes a player reads (FOOTAGE-SPEC).

The encoder is tuned for a recorder, not for compression: preset ultrafast, tune
zerolatency (one frame in, one access unit out, no look-ahead), no B-frames (decode order
is presentation order, so every composition offset is 0), a keyframe every ``gop`` frames,
and an IDR at once when the recorder asks for one (``Recorder.wants_keyframe``: at record
start and resume the first fragment must begin with a picture that decodes alone).
"""
# micropython: skip (PyAV and numpy are CPython-only)

import os
import tempfile
import time
import wave
from collections.abc import Callable
from fractions import Fraction

import av
import cv2
import numpy as np

from firmware.errors import FirmwareError
from firmware.hal import Clock
from firmware.ports.terminalkeys import N_
from protocol import h26x
from protocol.mp4 import HANDLER_AUDIO, HANDLER_VIDEO, Track

VIDEO_TIMESCALE = 90000  # ticks per second of the video track (FOOTAGE-SPEC)
VIDEO_TRACK_ID = 1
AUDIO_TRACK_ID = 2
AAC_FRAME = 1024  # samples per AAC-LC frame
AAC_BITRATE = 64000  # speech from a body-worn microphone, mono or stereo
WAV_BLOCK_MS = 100  # a microphone block read from a WAV file
DEVICE_RATE = 48000  # what a sound device is asked for
# The sampling rates AAC's AudioSpecificConfig has an index for.
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)

# FFmpeg's names and sealcam's: the CLI says h264/h265, the sample entries avc1/hvc1.
ENCODERS = {"h264": ("libx264", "avc1"), "h265": ("libx265", "hvc1")}


class MediaError(FirmwareError):
    """A source or stream this port cannot use; the message says what to give instead.

    The message is English, as a board without the host shows it; ``msg_id`` and
    ``fields`` name the same line for a host that speaks the officer's language (the
    command line translates them; firmware never imports the host). A field may itself be
    a message, ``(msg_id, fields)``, an OSError (the system's reason, which the host
    says in its language) or an error that names its own line (``protocol.mp4.Mp4Error``)."""

    def __init__(self, message: str, msg_id: str = "", **fields: object) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.fields = fields


class ParameterSets:
    """The SPS/PPS (and VPS) a stream has shown so far, and the video Track they make.

    Both our own encoder and a vendor's stream carry them in band before each IDR; the
    first complete set defines the recording's init segment.
    """

    def __init__(self, codec: str) -> None:
        self.codec = codec  # "avc1" | "hvc1"
        self.vps: list = []
        self.sps: list = []
        self.pps: list = []

    def learn(self, nals: list) -> None:
        """Keep the latest parameter sets among ``nals`` (one access unit)."""
        vps: list = []
        sps: list = []
        pps: list = []
        for nal in nals:
            if not h26x.is_parameter_set(nal, self.codec):
                continue
            kind = h26x.nal_type(nal, self.codec)
            if self.codec == "avc1":
                (sps if kind == 7 else pps).append(nal)
            elif kind == 32:
                vps.append(nal)
            else:
                (sps if kind == 33 else pps).append(nal)
        self.vps = vps or self.vps
        self.sps = sps or self.sps
        self.pps = pps or self.pps

    def complete(self) -> bool:
        return bool(self.sps and self.pps and (self.vps or self.codec == "avc1"))

    def track(self, track_id: int = VIDEO_TRACK_ID) -> Track:
        """The video Track (avcC/hvcC and picture size from the SPS)."""
        if not self.complete():
            raise MediaError(
                "the %s stream has shown no complete parameter sets" % self.codec,
                N_("record.media.no_parameter_sets"),
                codec=self.codec,
            )
        if self.codec == "avc1":
            config = h26x.avcc(self.sps, self.pps)
        else:
            config = h26x.hvcc(self.vps, self.sps, self.pps)
        width, height = h26x.picture_size(self.sps[0], self.codec)
        return Track(track_id, HANDLER_VIDEO, VIDEO_TIMESCALE, self.codec, config, width, height)


def access_unit_sample(nals: list, codec: str) -> bytes:
    """One access unit as its mdat sample: no parameter sets or delimiters, 4-byte lengths."""
    return h26x.to_sample(h26x.sample_nals(nals, codec))


class VideoEncoder:
    """BGR frames in, ``(sample, keyframe, mono_ms)`` out, in decode (= capture) order.

    ``codec`` is "h264" or "h265"; ``gop`` the frames between keyframes (default: one a
    second at ``fps``); ``bit_rate`` the bits a second asked of the encoder (default: none,
    the encoder's constant quality, as a recorder films). The picture size is taken from the
    first frame. ``track`` is None until the first access unit has shown the parameter sets;
    every sample handed out after that belongs to it.
    """

    def __init__(self, codec: str = "h264", fps: int = 30, gop: int = 0, bit_rate: int = 0) -> None:
        if codec not in ENCODERS:
            raise MediaError(
                "unknown video codec %r: give h264 or h265" % codec,
                N_("record.media.unknown_video_codec"),
                codec=repr(codec),
            )
        self.codec = codec
        self.entry = ENCODERS[codec][1]
        self.fps = max(1, fps)
        self.gop = gop if gop > 0 else self.fps
        self.bit_rate = max(0, bit_rate)
        self.params = ParameterSets(self.entry)
        self.track: Track | None = None
        self._context: av.video.codeccontext.VideoCodecContext | None = None
        self._size = (0, 0)
        self._times: dict = {}  # pts -> capture mono_ms, for the packets still to come out
        self._mono0 = 0
        self._last_pts = -1

    def _open(self, width: int, height: int) -> "av.video.codeccontext.VideoCodecContext":
        # 4:2:0 needs even sides; a camera with an odd side loses its last row or column.
        self._size = (width & ~1, height & ~1)
        if self._size[0] < 16 or self._size[1] < 16:
            raise MediaError(
                "a %dx%d picture is too small to encode" % (width, height),
                N_("record.media.too_small"),
                width=width,
                height=height,
            )
        name = ENCODERS[self.codec][0]
        ctx = av.CodecContext.create(name, "w")
        assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
        ctx.width, ctx.height = self._size
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, VIDEO_TIMESCALE)
        ctx.framerate = Fraction(self.fps, 1)
        ctx.gop_size = self.gop
        ctx.max_b_frames = 0
        if self.bit_rate:
            ctx.bit_rate = self.bit_rate
        options = {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1"}
        if self.codec == "h265":
            # x265 reports every setting on stderr unless told not to; bframes=0 is implied
            # by zerolatency but said anyway, since composition offsets must stay 0.
            options["x265-params"] = "log-level=error:bframes=0:keyint=%d" % self.gop
        else:
            options["x264-params"] = "bframes=0:keyint=%d" % self.gop
        ctx.options = options
        ctx.open()
        return ctx

    def encode(self, image: np.ndarray, mono_ms: int, keyframe: bool = False) -> list:
        """Encode one BGR frame captured at ``mono_ms``; ``keyframe`` forces an IDR."""
        height, width = image.shape[:2]
        if self._context is None:
            self._context = self._open(width, height)
            self._mono0 = mono_ms
        frame = av.VideoFrame.from_ndarray(to_i420(image, self._size), format="yuv420p")
        # Presentation time from the capture time; two frames in one millisecond still get
        # increasing timestamps, which the encoder requires.
        pts = max((mono_ms - self._mono0) * (VIDEO_TIMESCALE // 1000), self._last_pts + 1)
        self._last_pts = pts
        frame.pts = pts
        self._times[pts] = mono_ms
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        return self._samples(self._context.encode(frame))

    def flush(self) -> list:
        """The access units still inside the encoder (none with zerolatency, but said)."""
        if self._context is None:
            return []
        out = self._samples(self._context.encode(None))
        self._context = None
        return out

    def _samples(self, packets: list) -> list:
        out = []
        for packet in packets:
            nals = h26x.split_annexb(bytes(packet))
            self.params.learn(nals)
            if self.track is None:
                if not self.params.complete():
                    raise MediaError(
                        "the %s encoder gave a picture before its parameter sets" % self.codec,
                        N_("record.media.picture_first"),
                        codec=self.codec,
                    )
                self.track = self.params.track()
            keyframe = bool(packet.is_keyframe) or h26x.is_keyframe(nals, self.entry)
            # Each access unit carries its picture's capture time (zerolatency: the one just
            # given); a packet without a time takes the latest.
            mono = self._times.pop(packet.pts, None) if packet.pts is not None else None
            if mono is None:
                mono = self._mono0 + self._last_pts // (VIDEO_TIMESCALE // 1000)
            out.append((access_unit_sample(nals, self.entry), keyframe, mono))
        return out


def to_i420(image: np.ndarray, size: tuple) -> np.ndarray:
    """A BGR picture as the planes of 4:2:0 (I420: Y, then U, then V, stacked by rows).

    OpenCV converts in one SIMD pass, BT.601 limited range as FFmpeg's swscale does by
    default, at about half swscale's cost (a fifth of a 1080p30 frame's budget saved). A
    picture with an odd side, or larger than the encoder was opened for, is cropped first;
    a smaller one (a camera that changed its mode) is scaled up to the encoder's size.
    """
    width, height = size
    if image.shape[0] != height or image.shape[1] != width:
        image = image[:height, :width]
        if image.shape[0] != height or image.shape[1] != width:
            image = cv2.resize(image, (width, height))
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2YUV_I420)


def audio_specific_config(rate: int, channels: int) -> bytes:
    """AAC-LC's AudioSpecificConfig (ISO/IEC 14496-3), for a rate in the standard table."""
    if rate not in AAC_RATES or not 1 <= channels <= 7:
        raise MediaError(
            "AAC cannot carry %d Hz with %d channels" % (rate, channels),
            N_("record.media.aac_format"),
            rate=rate,
            channels=channels,
        )
    value = (2 << 11) | (AAC_RATES.index(rate) << 7) | (channels << 3)  # object type 2: LC
    return value.to_bytes(2, "big")


class AudioEncoder:
    """16-bit PCM blocks in, AAC-LC frames ``(data, mono_ms)`` out, 1024 samples each.

    A frame's time is the capture time of the block its first sample came from, plus the
    samples before it in that block; the encoder's priming delay is not counted, so the
    first frame is stamped with the first block's time.
    """

    def __init__(self, sample_rate: int, channels: int, bitrate: int = AAC_BITRATE) -> None:
        if channels not in (1, 2):
            raise MediaError(
                "a microphone with %d channels: give mono or stereo" % channels,
                N_("record.media.mic_channels"),
                channels=channels,
            )
        self.sample_rate = sample_rate
        self.channels = channels
        self.config = audio_specific_config(sample_rate, channels)  # checks the rate too
        ctx = av.CodecContext.create("aac", "w")
        assert isinstance(ctx, av.audio.codeccontext.AudioCodecContext)
        ctx.sample_rate = sample_rate
        ctx.layout = "mono" if channels == 1 else "stereo"
        ctx.format = "fltp"
        ctx.bit_rate = bitrate
        ctx.open()
        self._context: av.audio.codeccontext.AudioCodecContext | None = ctx
        self._layout = ctx.layout.name
        self._fed = 0  # samples given to the encoder
        self._marks: list = []  # (first sample, mono_ms) of each block
        self._first_pts: int | None = None
        self._out = 0  # frames handed out

    def track(self, track_id: int = AUDIO_TRACK_ID) -> Track:
        return Track(
            track_id,
            HANDLER_AUDIO,
            self.sample_rate,
            "mp4a",
            self.config,
            channels=self.channels,
            sample_rate=self.sample_rate,
        )

    def encode(self, pcm: bytes, mono_ms: int) -> list:
        """Encode interleaved 16-bit little-endian samples captured from ``mono_ms`` on."""
        if self._context is None:
            return []
        width = 2 * self.channels
        usable = len(pcm) - len(pcm) % width
        if usable <= 0:
            return []
        samples = np.frombuffer(pcm[:usable], dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout=self._layout)
        frame.sample_rate = self.sample_rate
        frame.pts = self._fed
        frame.time_base = Fraction(1, self.sample_rate)
        self._marks.append((self._fed, mono_ms))
        self._fed += usable // width
        return self._frames(self._context.encode(frame))

    def flush(self) -> list:
        if self._context is None:
            return []
        out = self._frames(self._context.encode(None))
        self._context = None
        return out

    def _frames(self, packets: list) -> list:
        out = []
        for packet in packets:
            # The n-th frame holds samples from n*1024 on (priming aside): stamp it with
            # the block those came from, so a gap in the microphone stays a gap in time.
            start = self._out * AAC_FRAME
            self._out += 1
            while len(self._marks) > 1 and self._marks[1][0] <= start:
                self._marks.pop(0)
            first, mono = self._marks[0] if self._marks else (0, 0)
            out.append((bytes(packet), mono + (start - first) * 1000 // self.sample_rate))
        return out


def open_wav(path: str, or_else: str, instead: str = "") -> "wave.Wave_read":
    """A 16-bit PCM WAV file opened for reading; MediaError (one line that ends with what to
    give instead, ``or_else``; ``instead`` is its message id) when it is missing or of
    another kind."""
    try:
        wav = wave.open(path, "rb")
    except FileNotFoundError:
        raise MediaError(
            "no sound file %s: give a 16-bit PCM WAV file or %s" % (path, or_else),
            N_("record.media.no_wav"),
            path=path,
            instead=(instead, {}),
        ) from None
    except IsADirectoryError:
        raise MediaError(
            "%s is a folder: give a 16-bit PCM WAV file or %s" % (path, or_else),
            N_("record.media.wav_folder"),
            path=path,
            instead=(instead, {}),
        ) from None
    except (OSError, wave.Error, EOFError) as exc:
        raise MediaError(
            "%s is not a readable WAV file (%s): give 16-bit PCM WAV" % (path, exc),
            N_("record.media.wav_unreadable"),
            path=path,
            why=str(exc),
        ) from None
    if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
        wav.close()
        raise MediaError(
            "%s is not 16-bit PCM: convert it, for example with "
            "ffmpeg -i IN -c:a pcm_s16le OUT.wav" % path,
            N_("record.media.wav_not_16bit"),
            path=path,
        )
    return wav


# The most of a --reason file that is read: the recorder keeps the first spoken_reason_ms
# (10 s by default) of a spoken reason, so a longer file is cut there anyway.
REASON_MAX_S = 60


class ReasonClip:
    """``--reason FILE.wav``: the spoken reason for a pause (R-DEV-9) from a file, said at
    every resume in place of the microphone.

    The file is read and encoded once, before anything is recorded, so a missing or
    unusable file is one line with nothing written. ``frames`` are its AAC frames
    ``(data, offset_ms)``, the offset from the clip's start; they are in the recording's
    sound format: the microphone's rate and channels when there is one (the clip is
    resampled to them), else the file's own, and ``track()`` is then the recording's sound
    track.
    """

    def __init__(self, path: str, sample_rate: int = 0, channels: int = 0) -> None:
        wav = open_wav(
            path,
            "leave out --reason to state the reason to the microphone",
            N_("record.media.or_no_reason"),
        )
        try:
            rate, got = wav.getframerate(), wav.getnchannels()
            pcm = wav.readframes(rate * REASON_MAX_S)
        except (OSError, wave.Error, EOFError) as exc:
            raise MediaError(
                "%s cannot be read (%s): give 16-bit PCM WAV" % (path, exc),
                N_("record.media.reason_unreadable"),
                path=path,
                why=str(exc),
            ) from None
        finally:
            wav.close()
        if got not in (1, 2):
            raise MediaError(
                "%s has %d channels: give a mono or stereo WAV file" % (path, got),
                N_("record.media.reason_channels"),
                path=path,
                channels=got,
            )
        if len(pcm) < 2 * got * AAC_FRAME:
            raise MediaError(
                "%s holds no sound to speak of (under %d samples): record the reason into it"
                % (path, AAC_FRAME),
                N_("record.media.reason_too_short"),
                path=path,
                samples=AAC_FRAME,
            )
        want_rate = sample_rate or (rate if rate in AAC_RATES else 48000)
        want_channels = channels or got
        if (want_rate, want_channels) != (rate, got):
            pcm = _resampled(pcm, rate, got, want_rate, want_channels)
        self.encoder = AudioEncoder(want_rate, want_channels)
        self.frames = self.encoder.encode(pcm, 0) + self.encoder.flush()
        self.path = path

    def track(self, track_id: int = AUDIO_TRACK_ID) -> Track:
        return self.encoder.track(track_id)


def _resampled(pcm: bytes, rate: int, channels: int, to_rate: int, to_channels: int) -> bytes:
    """Interleaved 16-bit PCM at ``rate``/``channels`` converted to ``to_rate``/``to_channels``."""
    layouts = {1: "mono", 2: "stereo"}
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % (2 * channels)], dtype="<i2")
    frame = av.AudioFrame.from_ndarray(
        samples.reshape(1, -1), format="s16", layout=layouts[channels]
    )
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    resampler = av.AudioResampler(format="s16", layout=layouts[to_channels], rate=to_rate)
    out = resampler.resample(frame) + resampler.resample(None)
    return b"".join(bytes(f.to_ndarray().tobytes()) for f in out)


class WavMicrophone:
    """A WAV file (16-bit PCM) played as a microphone, paced to real time like a camera file.

    ``read`` gives ``(pcm, mono_ms)`` blocks of ``WAV_BLOCK_MS``, or None at the end. With
    ``pace`` each block waits (``sleep``) until it is due against ``clock``, so a recording
    takes the sound's real duration; a block is stamped with the time it is due.
    """

    def __init__(
        self,
        path: str,
        clock: Clock,
        pace: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._wav = open_wav(path, "a sound device with --mic", N_("record.media.or_device"))
        self.sample_rate = self._wav.getframerate()
        self.channels = self._wav.getnchannels()
        self.clock = clock
        self.pace = pace
        self.sleep = sleep
        self._block = max(1, self.sample_rate * WAV_BLOCK_MS // 1000)
        self._read = 0  # samples read so far
        self._start = -1

    def begin(self, mono_ms: int) -> None:
        """Start the sound at ``mono_ms`` (the first picture's time), so a WAV file made
        for a video file plays in step with it; without this, it starts at its first read."""
        self._start = mono_ms

    def read(self) -> tuple | None:
        pcm = self._wav.readframes(self._block)
        if not pcm:
            return None
        if self._start < 0:
            self._start = self.clock.mono_ms()
        due = self._start + self._read * 1000 // self.sample_rate
        self._read += len(pcm) // (2 * self.channels)
        if self.pace:
            wait = due - self.clock.mono_ms()
            if wait > 0:
                self.sleep(wait / 1000)
        return pcm, due

    def close(self) -> None:
        self._wav.close()


class DeviceMicrophone:
    """A sound device through FFmpeg's ALSA input (``default``, ``hw:0``, ``plughw:1,0``;
    ALSA's ``pulse`` device reaches PulseAudio), or ``pulse:SOURCE`` where PyAV has FFmpeg's
    PulseAudio input. Blocks are stamped with the time they were read."""

    def __init__(self, device: str, clock: Clock) -> None:
        fmt, name = "alsa", device
        if device.startswith("pulse:"):
            fmt, name = "pulse", device[len("pulse:") :] or "default"
            if fmt not in av.formats_available:
                raise MediaError(
                    "this PyAV has no PulseAudio input: give the ALSA device pulse "
                    "(--mic pulse) or a WAV file",
                    N_("record.media.no_pulse"),
                )
        self.clock = clock
        try:
            with _quiet_stderr():
                # ALSA's library prints its own complaints on stderr; the one line below
                # says what is wrong instead.
                self._container = av.open(
                    name, format=fmt, options={"sample_rate": str(DEVICE_RATE), "channels": "1"}
                )
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(
                "cannot open the sound device %r (%s): name an ALSA device such as default "
                "or hw:0 (see arecord -l), or give a WAV file" % (device, _reason(exc)),
                N_("record.media.sound_device"),
                device=repr(device),  # as the English says it (%r)
                why=_reason(exc),
            ) from None
        stream = self._container.streams.audio[0]
        self.sample_rate = stream.rate or DEVICE_RATE
        self.channels = min(stream.channels or 1, 2)
        self._frames = self._container.decode(stream)
        self._resample = av.AudioResampler(
            format="s16", layout="mono" if self.channels == 1 else "stereo"
        )

    def begin(self, mono_ms: int) -> None:
        """A device is live: its sound is stamped when read, whenever the pictures began."""

    def read(self) -> tuple | None:
        """The next block, or None where the device's sound has ended (a file's end). A
        read that fails (ALSA's read timeout is EIO after 10 s of nothing from the driver,
        a device unplugged) raises MediaError: the sound was cut, not ended."""
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except (av.FFmpegError, OSError) as exc:
            raise MediaError(
                "the sound device stopped giving sound (%s)" % _reason(exc),
                N_("record.media.sound_read"),
                why=_reason(exc),
            ) from None
        mono = self.clock.mono_ms()
        pcm = b"".join(bytes(f.to_ndarray().tobytes()) for f in self._resample.resample(frame))
        return pcm, mono - frame.samples * 1000 // max(1, self.sample_rate)

    def close(self) -> None:
        self._container.close()


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).rstrip(".")


class _quiet_stderr:
    """Silence file descriptor 2 while a C library speaks (ALSA writes there directly)."""

    def __enter__(self) -> None:
        self._saved = os.dup(2)
        self._sink = tempfile.TemporaryFile()
        os.dup2(self._sink.fileno(), 2)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._sink.close()


def open_microphone(
    spec: str, clock: Clock, pace: bool = True, sleep: Callable[[float], None] = time.sleep
) -> "WavMicrophone | DeviceMicrophone":
    """``--mic``: a WAV file (a path ending in .wav, or any existing file) or a device."""
    if spec.lower().endswith(".wav") or os.path.isfile(spec):
        return WavMicrophone(spec, clock, pace, sleep)
    return DeviceMicrophone(spec, clock)
