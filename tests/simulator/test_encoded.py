"""The simulator on the real footage path (issue 12): its scene and microphone through the
Linux port's H.264/H.265 and AAC encoders, fragmented MP4 chunks, a dock, and an export
that PyAV plays with picture and sound and that verifies from the file alone."""
# micropython: skip (the simulator and PyAV run on CPython only)

import av
import numpy as np
import pytest

from protocol.ledger import media_digest, parse_entry
from protocol.mp4 import HANDLER_AUDIO, read_fragment, read_init
from protocol.registry import (
    EV_OVERRUN,
    EV_RECORD_START,
    EV_RESUME,
    F_DETAIL,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_SPOKEN,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_MJPEG,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    MEDIA_PCM,
)
from protocol.verify import OK, verify_ledger
from simulator.device import VirtualDevice
from simulator.hardware import SimClock, SimMicrophone
from simulator.hardware.encoder import EncodedSound
from simulator.run import Runner
from simulator.scenario import parse

SHIFT = [
    {"do": "power_on"},
    {"do": "film", "seconds": 2},  # pre-record (R-DEV-15)
    {"do": "record"},
    {"do": "announce", "seconds": 2},
    {"do": "film", "seconds": 4},
    {"do": "pause", "reason": "weather"},
    {"do": "wait", "minutes": 1},
    {"do": "resume"},
    {"do": "say_reason", "seconds": 2},
    {"do": "film", "seconds": 4},
    {"do": "stop"},
]


def shift_doc(codec: str) -> dict:
    return {
        "name": "a short %s shift" % codec,
        "device": {"codec": codec, "resolution": "192x108", "fps": 5},
        "step": [dict(s) for s in SHIFT] + [{"do": "dock"}],
        "expect": {"state": "OK", "flags": [], "recordings": 1},
    }


def chunks(device: VirtualDevice) -> list:
    entries = [parse_entry(r) for r in device.ledger_entries()]
    return [e for e in entries if e.kind == KIND_CHUNK]


def run_steps(device: VirtualDevice, steps: list) -> None:
    for n, step in enumerate(steps, 1):
        device.step(dict(step, n=n))


def media(device: VirtualDevice, e) -> bytes:
    assert device.agent is not None
    return device.agent.store.read_media(media_digest(e.fields))


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_a_shift_synced_to_the_host_exports_an_mp4_that_plays_and_verifies_alone(
    tmp_path, codec
):  # R-HOST-4, R-HOST-5, R-DEV-9; issue 12 (the simulator on the encoder path)
    from host.export import export_recording
    from host.mp4verify import AUTHENTIC_NOTES, verify_mp4

    report = Runner(parse(shift_doc(codec)), str(tmp_path)).run()
    assert report["passed"], report["expectations"]
    assert report["docks"][-1]["result"] == "done"
    out = tmp_path / "shift.mp4"
    note = export_recording(
        str(tmp_path / "host" / "evidence"), report["device"], None, str(out), "QA"
    )
    assert note["changed_chunks"] == [] and note["audio"]
    assert note["video"]["codec"] == {"h264": "avc1", "h265": "hvc1"}[codec]
    assert (note["video"]["width"], note["video"]["height"]) == (192, 108)
    # PyAV (ffmpeg) is the oracle: the file decodes, picture and sound.
    with av.open(str(out)) as container:
        kinds = sorted(s.type for s in container.streams)
        pictures = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    with av.open(str(out)) as container:
        sound = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert kinds == ["audio", "subtitle", "video"]
    assert len(pictures) == note["video"]["frames"] >= 40
    assert pictures[0].shape == (108, 192, 3) and pictures[0].std() > 10  # the scene, not grey
    # About the recording's length of sound: announcement, film, spoken reason, film.
    seconds = len(sound) / 8000
    assert 10 <= seconds <= 16, seconds
    assert float(np.abs(sound).max()) > 0.2  # the voice, not only the quiet hum
    alone = verify_mp4(str(out))
    assert alone.state == AUTHENTIC_NOTES, alone.lines()  # the pause's note is not footage
    assert alone.matched == alone.signed_fragments == len(note["chunks"]) - 1


def test_the_recorder_gets_fragments_an_idr_at_start_and_resume_and_aac_frames(tmp_path):
    # Issue 12: the encoder honours Recorder.wants_keyframe; each AAC frame is one sample.
    d = VirtualDevice(str(tmp_path), {"codec": "h264", "fps": 5, "resolution": "160x90"})
    try:
        run_steps(d, [s for s in SHIFT if s != {"do": "film", "seconds": 2}])  # no pre-record
        camera = d.agent.camera if d.agent is not None else None
        assert camera is not None and camera.forced == 2  # at record start and the resume
        entries = [parse_entry(r) for r in d.ledger_entries()]
        found = [e for e in entries if e.kind == KIND_CHUNK]
        blobs = [media(d, e) for e in found]
    finally:
        d.close()
    # No frame was lost waiting for a keyframe: the IDRs came when the recorder asked.
    assert not [e for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_OVERRUN]
    kinds = [e.fields[F_MEDIA_TYPE] for e in found]
    assert kinds[0] == MEDIA_MP4_INIT and set(kinds[1:]) == {MEDIA_MP4}
    init = blobs[0]
    tracks = read_init(init)
    assert [t.handler for t in tracks] == ["vide", HANDLER_AUDIO, "sbtl"]
    audio = tracks[1]
    assert (audio.codec, audio.timescale) == ("mp4a", 8000)
    for e, blob in zip(found[1:], blobs[1:], strict=True):
        _seq, refs = read_fragment(blob)
        video = [r for r in refs if r.track_id == 1]
        sound = [r for r in refs if r.track_id == 2]
        assert len(video) == len(e.fields[F_FRAME_HASHES])
        if video:
            assert video[0].sync  # every fragment with video starts at an IDR
        # Each AAC frame is one sample of 1024 (the last one's duration is nominal).
        assert all(r.duration > 0 for r in sound)
    spoken = [e for e in found[1:] if not e.fields[F_FRAME_HASHES]]
    assert spoken, "the spoken reason is an audio-only fragment"


def test_the_spoken_reason_fragment_is_what_the_resume_points_at(tmp_path):  # R-DEV-9
    d = VirtualDevice(str(tmp_path), {"codec": "h264", "fps": 5, "resolution": "160x90"})
    try:
        run_steps(d, SHIFT)
        entries = [parse_entry(r) for r in d.ledger_entries()]
        ledger = b"".join(e.raw for e in entries)
        assert verify_ledger(ledger, d.device_id, d.public_key).state == OK
    finally:
        d.close()
    by_digest = {e.digest: e for e in entries if e.kind == KIND_CHUNK}
    (resume,) = [e for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_RESUME]
    spoken = by_digest[resume.fields[F_SPOKEN]]
    assert spoken.fields[F_MEDIA_TYPE] == MEDIA_MP4 and spoken.fields[F_FRAME_HASHES] == []
    (start,) = [e for e in entries if e.kind == KIND_EVENT and e.fields[F_EVENT] == EV_RECORD_START]
    assert "origin_mono" in start.fields[F_DETAIL]


def test_mjpeg_keeps_the_raw_path(tmp_path):  # issue 12: boards and older stores
    d = VirtualDevice(str(tmp_path), {"codec": "mjpeg", "fps": 5, "resolution": "160x90"})
    try:
        run_steps(d, SHIFT)
    finally:
        d.close()
    assert {e.fields[F_MEDIA_TYPE] for e in chunks(d)} == {MEDIA_MJPEG, MEDIA_PCM}
    d2 = VirtualDevice(str(tmp_path / "default"), {"fps": 5, "resolution": "160x90"})
    assert d2.codec == "mjpeg"  # what a scenario gets without a codec
    d2.close()


def test_a_steady_hum_is_replayed_and_still_decodes_as_one_stream():
    # Issue 12 (six months and ten-hour shifts stay fast): identical blocks are encoded for
    # two loops and then answered from the loop; the stream stays one that decodes.
    clock = SimClock(0)
    mic = SimMicrophone(clock)
    sound = EncodedSound(clock, mic.rate, mic.block_ms)
    frames = []
    for i in range(400):
        if i == 300:
            mic.speak(2.0)
        block, mono = mic.read()
        frames += sound.encode(block, mono)
        clock.advance(mic.block_ms)
    assert sound.replayed > 200 and sound.encoded < 150
    assert sound.restarts == 1  # the voice came: a fresh encoder for it
    monos = [m for _, _, m in frames]
    assert monos[-1] > monos[0]
    # About as many frames as 400 blocks hold (the encoder keeps a frame or two back).
    assert abs(len(frames) * 1024 - 400 * mic.block_samples) <= 3 * 1024
    decoded = _decode_aac([f[0] for f in frames], sound)
    hum = decoded[50_000:60_000]  # replayed
    rms = float(np.sqrt(np.mean(np.square(hum))))
    assert 0.01 < rms < 0.04  # the tone: 0.03 of full scale
    voice = decoded[300 * mic.block_samples : 310 * mic.block_samples + 2048]
    assert float(np.abs(voice).max()) > 0.2  # then the voice, from a fresh encoder
    after = decoded[-16000:]  # and the hum again
    assert 0.01 < float(np.sqrt(np.mean(np.square(after)))) < 0.04


def _decode_aac(frames: list, sound: EncodedSound) -> np.ndarray:
    ctx = av.CodecContext.create("aac", "r")
    ctx.sample_rate = sound.rate
    ctx.layout = "mono"
    ctx.extradata = sound.track().config
    out = []
    for data in frames:
        for frame in ctx.decode(av.Packet(data)):
            out.append(frame.to_ndarray().ravel())
    return np.concatenate(out)


def test_a_covered_microphone_hears_near_silence():  # R-DEV-9 (a silent spoken reason)
    clock = SimClock(0)
    mic = SimMicrophone(clock)
    mic.speak(1.0)
    loud = np.frombuffer(mic.read()[0], "<i2").astype(float)
    mic.cover()
    mic.speak(1.0)
    quiet = np.frombuffer(mic.read()[0], "<i2").astype(float)
    mic.uncover()
    again = np.frombuffer(mic.read()[0], "<i2").astype(float)
    assert np.abs(quiet).max() < np.abs(loud).max() / 100
    assert np.abs(again).max() > np.abs(quiet).max() * 30
