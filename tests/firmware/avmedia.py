"""Footage for the CPython port's tests and the record command's: a camera file, a WAV
file, and a vendor's encoder (PyAV writing H.264/H.265 Annex B or MP4, into a named pipe)."""
# micropython: skip (PyAV, OpenCV and numpy are CPython libraries)

import io
import os
import threading
import wave

import av
import cv2
import numpy as np

FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}  # a live encoder's MP4


def write_video(path, frames=45, size=(176, 144), fps=30):
    """A Motion JPEG AVI of a bar moving across a grey scene, for a camera file."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 90, np.uint8)
        img[:, (i * 3) % (size[0] - 20) : (i * 3) % (size[0] - 20) + 20] = 210
        w.write(img)
    w.release()


def write_wav(path, seconds=1.0, rate=16000, channels=1, width=2):
    """A WAV file of a 440 Hz tone (``width`` 2: 16-bit PCM; other widths hold silence)."""
    n = int(seconds * rate)
    tone = (np.sin(np.arange(n) * 2 * np.pi * 440 / rate) * 9000).astype("<i2")
    data = np.repeat(tone, channels).tobytes() if width == 2 else bytes(n * channels * width)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


class Sink:
    """A write-only file for PyAV's muxer: what a hardware encoder's driver looks like."""

    def __init__(self, out, cut: int = -1) -> None:
        self.out = out
        self.cut = cut  # stop passing bytes on after this many (-1: never)
        self.n = 0

    def write(self, data) -> int:
        data = bytes(data)
        if self.cut >= 0:
            data = data[: max(0, self.cut - self.n)]
        self.n += len(data)
        if data:
            self.out.write(data)
        return len(data)


def mux(out, fmt, codec="libx264", frames=45, audio=False, bframes=0, options=None, cut=-1):
    """PyAV encodes a moving picture (and a tone) into the file ``out`` as ``fmt`` ("h264",
    "hevc" for Annex B, "mp4"), as a vendor's encoder would; ``cut`` bytes at most."""
    sink = Sink(out, cut)
    container = av.open(sink, "w", format=fmt, options=options or {})
    video = container.add_stream(codec, rate=30)
    video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
    params = "keyint=15:bframes=%d" % bframes
    if codec == "libx265":
        video.options = {"preset": "ultrafast", "x265-params": params + ":log-level=error"}
    else:
        video.options = {"preset": "ultrafast", "x264-params": params}
    sound = container.add_stream("aac", rate=16000) if audio else None
    if sound is not None:
        sound.layout = "mono"
    for i in range(frames):
        img = np.full((96, 160, 3), 60, np.uint8)
        img[:, (i * 3) % 150 : (i * 3) % 150 + 10] = 230
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = i
        for packet in video.encode(frame):
            container.mux(packet)
        if sound is not None:
            tone = (np.sin(np.arange(i * 533, (i + 1) * 533) * 0.3) * 8000).astype("<i2")
            block = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
            block.sample_rate, block.pts = 16000, i * 533
            for packet in sound.encode(block):
                container.mux(packet)
    for packet in video.encode(None):
        container.mux(packet)
    if sound is not None:
        for packet in sound.encode(None):
            container.mux(packet)
    container.close()


def encode(
    fmt: str,
    codec: str,
    size: tuple,
    frames: int,
    options: "dict | None" = None,
    extra: str = "",
    into=None,
) -> bytes:
    """A grey picture ``size`` (w, h) brightening, as the vendor's encoder writes it (an
    IDR every 15 pictures; x264 repeats its SPS/PPS in band before each, MP4 or not).
    ``extra`` is more x264/x265 parameters ("colorprim=bt709:..."); ``into`` a file to
    write to as it is made (a pipe), else the bytes are returned."""
    out = io.BytesIO()
    container = av.open(Sink(into) if into is not None else out, "w", format=fmt,
                        options=options or {})  # fmt: skip
    stream = container.add_stream(codec, rate=30)
    stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
    more = ":" + extra if extra else ""
    if codec == "libx265":
        params = {"x265-params": "keyint=15:bframes=0:log-level=error" + more}
    else:
        params = {"x264-params": "keyint=15:bframes=0:repeat-headers=1" + more}
    stream.options = {"preset": "ultrafast", **params}
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 40 + 4 * (i % 50), np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    return out.getvalue()


JOIN_LIMIT_S = 600  # a bound on a writer thread that cannot block, never a deadline raced


class PipeEncoder:
    """A second thread that plays the vendor's encoder: ``write(file)`` into a named pipe.

    ``join`` cannot hang: a writer still waiting for a reader to open the pipe (the test
    failed before it did), or blocked on a full pipe nobody reads, is released by opening
    the read end without waiting and closing it, so its open returns and its write fails
    with a broken pipe."""

    def __init__(self, fifo, write) -> None:
        self.fifo = fifo
        self.write = write
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with open(self.fifo, "wb") as out:  # blocks until sealcam opens the other end
                self.write(out)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def release(self) -> None:
        """Unblock the writer however far it got; it ends with a broken pipe."""
        for _ in range(100):  # bounded: each turn either ends the writer or lets it move
            if not self.thread.is_alive():
                return
            try:
                fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                return
            try:
                while os.read(fd, 1 << 16):  # drain what a blocked write has queued
                    pass
            except BlockingIOError:
                pass
            finally:
                os.close(fd)
            self.thread.join(0.05)

    def join(self) -> None:
        """Called once the reader is done with the pipe (closed it, or never opened it)."""
        self.release()
        self.thread.join(JOIN_LIMIT_S)
        assert not self.thread.is_alive(), "the writer thread could not be released"
        if self.error is not None and not isinstance(self.error, BrokenPipeError):
            raise self.error


# Boxes the path to an AAC track's esds goes through, and the bytes each holds before its
# child boxes (stsd: version, flags and entry count; mp4a: the audio sample entry's fields).
_ESDS_PATH = {b"moov": 0, b"trak": 0, b"mdia": 0, b"minf": 0, b"stbl": 0, b"stsd": 8, b"mp4a": 28}


def without_audio_config(data: bytes) -> bytes:
    """``data`` (a fragmented MP4, its moov first) with its AAC track's AudioSpecificConfig
    taken out of the esds, as an encoder writes it that has no configuration yet when it
    writes the moov: every box around it shrinks to match; samples and fragments keep
    their bytes (a fragment's data offsets count from its own moof). Only a fragmented MP4:
    a plain one's stco/co64 offsets count from the file's start, and the shrunk moov would
    leave them pointing past their samples, so one is refused."""
    assert b"mvex" in data, "not a fragmented MP4: its chunk offsets would be wrong"
    return _boxes_without_audio_config(data)


def _boxes_without_audio_config(data: bytes) -> bytes:
    """The boxes in ``data``, those on the way to an esds rewritten without its config."""
    out = b""
    at = 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + size]
        if kind in _ESDS_PATH:
            skip = _ESDS_PATH[kind]
            body = body[:skip] + _boxes_without_audio_config(body[skip:])
        elif kind == b"esds":
            body = body[:4] + _descriptor_without_config(body[4:])
        out += (8 + len(body)).to_bytes(4, "big") + kind + body
        at += size
    return out


def _descriptor_without_config(data: bytes) -> bytes:
    """The MPEG-4 descriptors in ``data`` (ES, decoder config...) less any decoder-specific
    info (tag 5), their lengths written again."""
    out = b""
    at = 0
    while at < len(data):
        tag, at = data[at], at + 1
        length = 0
        while True:  # the expandable length: 7 bits a byte, the top bit says more follow
            byte, at = data[at], at + 1
            length = length << 7 | byte & 0x7F
            if not byte & 0x80:
                break
        body, at = data[at : at + length], at + length
        if tag == 5:
            continue
        if tag == 3:  # ES_Descriptor: ES_ID and flags (none set by FFmpeg), then descriptors
            body = body[:3] + _descriptor_without_config(body[3:])
        elif tag == 4:  # DecoderConfigDescriptor: 13 bytes of fields, then descriptors
            body = body[:13] + _descriptor_without_config(body[13:])
        n = len(body)  # written in four bytes, as FFmpeg writes it
        out += bytes([tag, n >> 21 & 0x7F | 0x80, n >> 14 & 0x7F | 0x80, n >> 7 & 0x7F | 0x80])
        out += bytes([n & 0x7F]) + body
    return out
