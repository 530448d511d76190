"""The CPython port's encoders and microphones: PyAV in, mdat samples out, PyAV decodes them."""
# micropython: skip (PyAV and numpy are CPython-only)
# Issue 12 "CPython port": the camera's frames (overlay burned in, R-DEV-1) encode to H.264 or
# H.265 and the microphone to AAC; every sample is exactly what goes into the mdat.

import io

import av
import numpy as np
import pytest

from firmware.ports.encoder import (
    AudioEncoder,
    DeviceMicrophone,
    MediaError,
    VideoEncoder,
    WavMicrophone,
    open_microphone,
)
from protocol import h26x, mp4
from tests.firmware.avmedia import write_wav


class StepClock:
    """A monotonic clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.mono = 5000
        self.slept: list = []

    def wall_ms(self) -> int:
        return 1_800_000_000_000 + self.mono

    def mono_ms(self) -> int:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.mono += round(seconds * 1000)


def pictures(n, width=160, height=96):
    for i in range(n):
        img = np.full((height, width, 3), 70, np.uint8)
        img[:, (i * 5) % (width - 12) : (i * 5) % (width - 12) + 12] = 230
        yield img


def decode(data: bytes, kind: str) -> tuple:
    """(codec name, frames decoded, first frame) of the stream ``kind`` in an MP4."""
    with av.open(io.BytesIO(data)) as container:
        stream = getattr(container.streams, kind)[0]
        frames = list(container.decode(stream))
        return stream.codec_context.name, frames


@pytest.mark.parametrize("codec,entry,name", [("h264", "avc1", "h264"), ("h265", "hvc1", "hevc")])
def test_frames_encode_to_mdat_samples_that_ffmpeg_decodes(codec, entry, name):
    encoder = VideoEncoder(codec, fps=30, gop=30)
    out = []
    for i, img in enumerate(pictures(40)):
        out += encoder.encode(img, 1000 + i * 33, keyframe=(i == 12))  # the recorder asks
    out += encoder.flush()
    assert len(out) == 40 and [m for _, _, m in out] == [1000 + i * 33 for i in range(40)]
    keys = [i for i, (_, key, _) in enumerate(out) if key]
    assert keys[:2] == [0, 12]  # an IDR at once when asked, not at the GOP's end
    for data, key, _ in out:
        nals = h26x.from_sample(data)  # 4-byte lengths that add up
        assert not any(h26x.is_parameter_set(n, entry) for n in nals)  # they live in the config
        assert h26x.is_keyframe(nals, entry) == key
    track = encoder.track
    assert track is not None and track.codec == entry and (track.width, track.height) == (160, 96)
    samples = [mp4.Sample(d, 3000, k) for d, k, _ in out]
    movie = mp4.init_segment([track]) + mp4.fragment(1, [mp4.Run(1, 0, samples)])
    decoded_codec, frames = decode(movie, "video")
    assert decoded_codec == name and len(frames) == 40
    assert (frames[0].width, frames[0].height) == (160, 96)


def test_an_odd_picture_size_loses_its_last_row_and_column():
    encoder = VideoEncoder("h264")
    encoder.encode(np.zeros((97, 161, 3), np.uint8), 0)
    assert encoder.track is not None and (encoder.track.width, encoder.track.height) == (160, 96)


def test_a_bit_rate_asked_for_is_what_the_encoder_aims_at():
    # Constant quality by default (a recorder's); a bit rate, where one is asked for, is
    # aimed at instead: on noise, fewer bytes than constant quality when it is low, more
    # when it is high, and about the rate asked for.
    rng = np.random.default_rng(7)
    noise = [rng.integers(0, 256, (96, 160, 3), dtype=np.uint8) for _ in range(20)]

    def two_seconds(**kw) -> int:
        encoder = VideoEncoder("h264", fps=10, **kw)
        out = [s for i, img in enumerate(noise) for s in encoder.encode(img, i * 100)]
        out += encoder.flush()
        assert len(out) == 20 and [k for _, k, _ in out].count(True) == 2  # the GOP kept
        return sum(len(d) for d, _, _ in out)

    high = 2_000_000
    assert two_seconds(bit_rate=400_000) < two_seconds() < two_seconds(bit_rate=high)
    assert two_seconds(bit_rate=high) < 1.5 * high * 2 / 8


def colour_chart(width: int, height: int) -> np.ndarray:
    """A BGR picture with a luma ramp and three large blocks of blue, green and red."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = np.linspace(20, 235, width, dtype=np.uint8)[None, :, None]
    third = width // 3
    for i, bgr in enumerate(((200, 40, 30), (40, 190, 50), (30, 50, 210))):
        img[height // 4 : height * 3 // 4, i * third + 8 : (i + 1) * third - 8] = bgr
    return img


def test_the_decoded_picture_is_the_picture_given_in_luma_and_colour():
    # Issue 12 "CPython port": the colour conversion into the encoder (OpenCV's I420) keeps
    # the picture: BT.601 limited-range luma as FFmpeg reads it back, blue/green/red not
    # swapped, an odd side cropped (not scaled) to even.
    img = colour_chart(321, 241)
    encoder = VideoEncoder("h264", fps=30, gop=1)
    out = encoder.encode(img, 0) + encoder.flush()
    assert encoder.track is not None
    movie = mp4.init_segment([encoder.track]) + mp4.fragment(
        1, [mp4.Run(1, 0, [mp4.Sample(d, 3000, k) for d, k, _ in out])]
    )
    _, frames = decode(movie, "video")
    assert len(frames) == 1 and (frames[0].width, frames[0].height) == (320, 240)
    given = img[:240, :320].astype(np.float64)
    luma = frames[0].to_ndarray(format="yuv420p")[:240].astype(np.float64)
    b, g, r = given[..., 0], given[..., 1], given[..., 2]
    expected = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255  # BT.601, limited range
    assert np.abs(luma - expected).mean() < 2.0
    back = frames[0].to_ndarray(format="bgr24").astype(np.float64)
    assert np.abs(back - given).mean() < 6.0
    for i, channel in enumerate((0, 1, 2)):  # each block is still its own colour
        block = back[100:140, i * 107 + 20 : (i + 1) * 107 - 20]
        assert block.mean(axis=(0, 1)).argmax() == channel


def test_pcm_encodes_to_aac_frames_stamped_by_their_samples():
    encoder = AudioEncoder(16000, 1)
    frames = []
    tone = (np.sin(np.arange(1600) * 0.2) * 8000).astype("<i2").tobytes()  # 100 ms blocks
    for block in range(10):
        frames += encoder.encode(tone, 2000 + block * 100)
    frames += encoder.flush()
    # 1 s of sound is 15.6 frames of 1024 samples; the encoder's priming adds one.
    assert 16 <= len(frames) <= 17
    monos = [m for _, m in frames]
    assert monos[0] == 2000 and monos[1] == 2064 and monos == sorted(monos)
    track = encoder.track()
    assert track.codec == "mp4a" and track.timescale == 16000 and track.config == b"\x14\x08"
    samples = [mp4.Sample(d, 1024) for d, _ in frames]
    movie = mp4.init_segment([track]) + mp4.fragment(1, [mp4.Run(2, 0, samples)])
    codec, decoded = decode(movie, "audio")
    assert codec == "aac" and decoded and decoded[0].sample_rate == 16000


def test_a_wav_file_is_a_microphone_paced_to_real_time(tmp_path):
    path = tmp_path / "voice.wav"
    write_wav(path, seconds=0.35, rate=16000)
    clock = StepClock()
    mic = open_microphone(str(path), clock, pace=True, sleep=clock.sleep)
    assert isinstance(mic, WavMicrophone) and (mic.sample_rate, mic.channels) == (16000, 1)
    blocks = []
    while (got := mic.read()) is not None:
        blocks.append(got)
    mic.close()
    assert [m for _, m in blocks] == [5000, 5100, 5200, 5300]  # stamped when due
    assert clock.mono == 5300 and clock.slept == [0.1, 0.1, 0.1]  # waited, never raced
    assert sum(len(b) for b, _ in blocks) == int(0.35 * 16000) * 2


def test_an_unpaced_wav_file_reads_at_once_with_the_same_stamps(tmp_path):
    path = tmp_path / "voice.wav"
    write_wav(path, seconds=0.25, rate=8000, channels=2)
    clock = StepClock()
    mic = WavMicrophone(str(path), clock, pace=False, sleep=clock.sleep)
    stamps = []
    while (got := mic.read()) is not None:
        stamps.append(got[1])
    assert stamps == [5000, 5100, 5200] and clock.slept == [] and mic.channels == 2


@pytest.mark.parametrize(
    "make,says",
    [
        (None, "no sound file"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00"), "not a readable WAV file"),
        (lambda p: write_wav(p, 0.1, width=1), "not 16-bit PCM"),
    ],
)
def test_a_wav_file_that_cannot_be_used_is_one_line(tmp_path, make, says):
    path = tmp_path / "voice.wav"
    if make is not None:
        make(path)
    with pytest.raises(MediaError) as err:
        open_microphone(str(path), StepClock())
    text = str(err.value)
    assert says in text and "\n" not in text and str(path) in text


def test_a_sound_device_that_does_not_exist_is_one_line_and_nothing_else(capfd):
    # This machine has no sound card: a missing device must read as one clear line, with
    # none of ALSA's own complaints around it.
    with pytest.raises(MediaError) as err:
        open_microphone("hw:9,0", StepClock())
    text = str(err.value)
    assert "cannot open the sound device 'hw:9,0'" in text and "\n" not in text
    assert "arecord -l" in text
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_pulse_input_missing_from_this_pyav_says_what_to_give_instead():
    if "pulse" in av.formats_available:
        pytest.skip("this PyAV has PulseAudio input")
    with pytest.raises(MediaError, match="ALSA device pulse"):
        DeviceMicrophone("pulse:default", StepClock())


def test_unknown_codecs_and_rates_are_refused():
    with pytest.raises(MediaError, match="h264 or h265"):
        VideoEncoder("vp9")
    with pytest.raises(MediaError, match="AAC cannot carry"):
        AudioEncoder(12345, 1)
    with pytest.raises(MediaError, match="mono or stereo"):
        AudioEncoder(48000, 6)
