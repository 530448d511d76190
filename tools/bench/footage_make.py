"""The footage the footage benchmark measures, made in a temporary folder: a 1080p30 clip
with a WAV beside it (the camera file and microphone of ``sealcam record``), and a long fMP4
recording in a device store and an evidence store (for the export and verify figures).

The scene is synthetic but not easy for an encoder: a camera panning over a textured wall,
a bright box moving across, and a little sensor noise, so ultrafast H.264 lands near a body
camera's bit rate (about 7.8 Mbit/s at 1080p30).
"""

import os
import wave
from collections.abc import Iterator

import av
import cv2
import numpy as np
from common import T0_MS, VirtualClock

import firmware.store as store_module
from firmware.agent import boot
from firmware.hal import Camera, Indicators
from firmware.packager import Fmp4Packager
from firmware.ports.encoder import AudioEncoder, VideoEncoder
from firmware.store import Store
from host.evidence import SqliteEvidenceStore
from protocol.ledger import media_digest, parse_entry
from protocol.registry import KIND_CHUNK
from protocol.signer import make_signer

SEED = bytes(range(32))
DEVICE = "SC-BENCH-0001"
OFFICER = "P-0001"
FPS = 30
CLIP_SIZE = (1920, 1080)
RATE = 48000  # the microphone's sample rate (mono)
AAC_FRAME = 1024


def scene(width: int, height: int, frames: int) -> Iterator[np.ndarray]:
    """A camera panning over a textured wall with a bright box moving across, and a little
    sensor noise: BGR frames with detail and motion for the encoder to work on."""
    rng = np.random.default_rng(12)
    coarse = rng.integers(0, 256, (max(2, height // 4), max(2, width // 2), 3), dtype=np.uint8)
    wall = cv2.resize(cv2.GaussianBlur(coarse, (3, 3), 0), (2 * width, height))
    noise = [rng.integers(0, 10, (height, width, 3), dtype=np.uint8) for _ in range(4)]
    box = max(8, width // 10)
    step = max(1, width // 320)
    for i in range(frames):
        x = (i * step) % width
        image = np.ascontiguousarray(wall[:, x : x + width])
        left = (i * 3 * step) % (width - box)
        cv2.rectangle(
            image, (left, height // 3), (left + box, height // 3 + box), (0, 190, 250), -1
        )
        cv2.add(image, noise[i % 4], dst=image)
        yield image


def tone_pcm(seconds: float) -> bytes:
    """Mono 16-bit PCM at RATE: a voice-band tone with some noise, for the AAC encoder."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rng = np.random.default_rng(7)
    wave_ = 0.2 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    wave_ += 0.02 * rng.standard_normal(n)
    return (np.clip(wave_, -1, 1) * 32767).astype("<i2").tobytes()


def make_clip(folder: str, seconds: int) -> tuple:
    """A 1080p30 H.264 file (the camera) and a WAV file (the microphone); their paths."""
    video = os.path.join(folder, "clip.mp4")
    with av.open(video, "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = CLIP_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for image in scene(CLIP_SIZE[0], CLIP_SIZE[1], seconds * FPS):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    # The sound ends a little before the pictures, so the microphone never waits for
    # pictures that will not come.
    sound = os.path.join(folder, "clip.wav")
    with wave.open(sound, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(tone_pcm(seconds - 0.3))
    return video, sound


class Quiet(Indicators):
    """No prompts on the console during a measurement."""


class FedCamera(Camera):
    """A working camera whose encoded frames the benchmark feeds in itself."""

    def read(self, overlay: str) -> tuple | None:
        return None


def encode_minute(seconds: int, size: tuple) -> dict:
    """``seconds`` of the scene through the port's encoders: video samples with their
    keyframe flags, AAC frames, and both tracks."""
    video = VideoEncoder("h264", FPS)
    samples = []
    for i, image in enumerate(scene(size[0], size[1], seconds * FPS)):
        samples += [(d, k) for d, k, _ in video.encode(image, i * 1000 // FPS)]
    samples += [(d, k) for d, k, _ in video.flush()]
    audio = AudioEncoder(RATE, 1)
    pcm = tone_pcm(seconds)
    frames = []
    step = RATE // 10 * 2  # 100 ms blocks of 16-bit mono
    for n, at in enumerate(range(0, len(pcm), step)):
        frames += [d for d, _ in audio.encode(pcm[at : at + step], n * 100)]
    frames += [d for d, _ in audio.flush()]
    if len(samples) != seconds * FPS or not samples[0][1]:
        raise RuntimeError(
            "the encoder gave %d samples for %d frames" % (len(samples), seconds * FPS)
        )
    return {
        "video": samples,
        "video_track": video.track,
        "audio": frames,
        "audio_track": audio.track(),
    }


def build_recording(root: str, minute: dict, minutes: int) -> dict:
    """Feed the minute's samples ``minutes`` times over to the agent on a virtual clock.

    Making the recording is not measured, and a shared disk's fsync latency would make it
    the slowest part of the run: the store's fsyncs are skipped while it is made (the bytes
    and layout are the same) and one ``os.sync`` follows."""
    clock = VirtualClock()
    packager = Fmp4Packager(minute["video_track"], minute["audio_track"], frame_ms=1000 // FPS)
    fsync = store_module._os_fsync
    store_module._os_fsync = lambda fd: None
    try:
        agent = boot(root, make_signer(SEED), DEVICE, OFFICER, clock, FedCamera(), Quiet(),
                     packager=packager)  # fmt: skip
        video, audio = minute["video"], minute["audio"]
        frames = minutes * 60 * FPS
        agent.input("press_record")
        agent.input("announce_done")
        a = 0
        for k in range(frames):
            t = k * 1000 // FPS
            # Sound first: what was heard up to a picture goes into that picture's chunk.
            while (at := a * AAC_FRAME * 1000 // RATE) <= t:
                clock.ms = at
                agent.input("audio", audio[a % len(audio)])
                a += 1
            clock.ms = t
            data, key = video[k % len(video)]
            agent.input("frame", data, key)
        clock.ms = frames * 1000 // FPS
        agent.input("press_stop")
        agent.store.close()
    finally:
        store_module._os_fsync = fsync
    os.sync()
    return {"frames": frames, "audio_frames": a, "seconds": frames / FPS}


def fill_evidence(device_root: str, ev_root: str) -> dict:
    """The device's entries and media in a fresh evidence store, as a finished sync leaves
    them."""
    store = Store(device_root)
    raws = list(store.entries())
    ev = SqliteEvidenceStore(ev_root)
    ev.enrol(DEVICE, make_signer(SEED).public_key())
    ev.add_entries(DEVICE, raws, T0_MS + 86_400_000)
    media = 0
    staged = []
    for raw in raws:
        e = parse_entry(raw)
        if e.kind == KIND_CHUNK:
            digest = media_digest(e.fields)
            data = store.read_media(digest)
            media += len(data)
            # Deferred, then made durable at once, as a sync session stores its media.
            staged.append(ev.put_media(digest, data, defer=True))
    ev.make_durable(staged)
    ev.close()
    store.close()
    return {"entries": len(raws), "media_bytes": media, "entry_bytes": sum(len(r) for r in raws)}
