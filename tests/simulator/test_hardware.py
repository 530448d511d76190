"""The simulator's virtual hardware behaves as the hardware it stands in for."""
# micropython: skip (the simulator runs on CPython: OpenCV, numpy)

import errno
import os
import struct
import wave

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.agent import boot
from firmware.errors import StorageFull
from firmware.recorder import STORE, Recorder
from firmware.store import Store
from protocol.ledger import parse_entry
from protocol.registry import F_PLAIN_SHA
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from simulator.errors import SimulatorError
from simulator.hardware import (
    RTC_RESET_MS,
    Buttons,
    GpsTrack,
    SceneCamera,
    SdCard,
    SimBattery,
    SimClock,
    SimMicrophone,
    pcm_samples,
)
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

HOUR_MS = 3_600_000
OVERLAY = "2026-11-23 16:00:00 UTC+8 DEV SC-TEST-0001 OFC P-0427"


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG OpenCV can decode"
    return image


def band_rows(image: np.ndarray) -> int:
    """Rows of the overlay band burn_overlay draws at this frame size."""
    (_, th), base = cv2.getTextSize(OVERLAY, cv2.FONT_HERSHEY_SIMPLEX, max(0.4, 640 / 1600), 1)
    return th + base + 8


# --- camera ---------------------------------------------------------------------------------


def test_frames_are_jpegs_that_move_over_time():
    clock = SimClock(T0)
    cam = SceneCamera(clock, 640, 360, seed=3)
    first, keyframe, mono = cam.read(OVERLAY)
    clock.advance(200)
    second, _, mono2 = cam.read(OVERLAY)
    assert first[:2] == b"\xff\xd8" and keyframe is True and (mono, mono2) == (0, 200)
    a, b = decode(first), decode(second)
    assert a.shape == (360, 640, 3)
    top = slice(0, 360 - band_rows(a))
    assert np.abs(a[top].astype(int) - b[top].astype(int)).mean() > 2  # the scene moved


def test_the_overlay_is_burned_into_the_bottom_band():  # R-DEV-1
    clock = SimClock(T0)
    cam = SceneCamera(clock, 640, 360, seed=5)
    with_overlay = decode(cam.read(OVERLAY)[0]).astype(int)
    plain = decode(cam.encode(cam.render(clock.true_ms))).astype(int)
    rows = band_rows(plain)
    band = np.abs(with_overlay[-rows:, :300] - plain[-rows:, :300]).mean()
    above = np.abs(with_overlay[: -rows - 8] - plain[: -rows - 8]).mean()
    assert band > 20 and above < 1  # the text and its dark band, and nothing else changed
    assert with_overlay[-rows:, :300].max() > 200  # white text


def test_the_scene_is_a_function_of_seed_and_time():
    one = SceneCamera(SimClock(T0), 320, 180, seed=1)
    two = SceneCamera(SimClock(T0), 320, 180, seed=1)
    other = SceneCamera(SimClock(T0), 320, 180, seed=2)
    assert one.read(OVERLAY)[0] == two.read(OVERLAY)[0] != other.read(OVERLAY)[0]


def test_a_failed_camera_gives_nothing_until_repaired():
    cam = SceneCamera(SimClock(T0), 64, 36)
    cam.fail()
    assert cam.read(OVERLAY) is None and not cam.working()
    cam.repair()
    assert cam.read(OVERLAY) is not None and cam.working()


# --- clock ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ppm", [20.0, -35.0, 0.0])
def test_rtc_drift_over_ten_hours(ppm):  # R-HOST-11: drift is known
    clock = SimClock(T0, ppm)
    clock.advance(10 * HOUR_MS)
    assert clock.true_ms == T0 + 10 * HOUR_MS
    assert clock.wall_ms() - clock.true_ms == round(ppm * 36)  # 36e6 ms x ppm / 1e6
    assert clock.mono_ms() == 10 * HOUR_MS


def test_a_dead_rtc_cell_restarts_the_clock_at_2000_until_set():
    clock = SimClock(T0, 100.0)
    clock.advance(5000)
    clock.reset()
    assert clock.wall_ms() == RTC_RESET_MS and not clock.is_set()
    clock.advance(HOUR_MS)
    assert clock.wall_ms() == RTC_RESET_MS + HOUR_MS + 360  # it still drifts
    clock.set(clock.true_ms)
    assert clock.is_set() and clock.wall_ms() == clock.true_ms  # drift counts from here
    clock.advance(HOUR_MS)
    assert clock.wall_ms() - clock.true_ms == 360


def test_a_power_cycle_restarts_monotonic_time_only():
    clock = SimClock(T0)
    clock.advance(7000)
    wall = clock.wall_ms()
    clock.power_cycle()
    assert clock.mono_ms() == 0 and clock.wall_ms() == wall
    clock.advance(10)
    assert clock.mono_ms() == 10


def test_clock_refuses_time_going_back():
    with pytest.raises(SimulatorError, match="whole number"):
        SimClock(T0).advance(-1)


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(0, 10 * HOUR_MS)),
        st.tuples(st.just("reset"), st.just(0)),
        st.tuples(st.just("set"), st.integers(0, 2 * T0)),
        st.tuples(st.just("power_cycle"), st.just(0)),
    ),
    max_size=40,
)


@given(st.integers(-500, 500), _OPS)
def test_time_never_runs_backwards_but_where_it_should(ppm, ops):
    clock = SimClock(T0, float(ppm))
    for op, arg in ops:
        before = (clock.true_ms, clock.mono_ms(), clock.wall_ms())
        getattr(clock, op)(*([arg] if op in ("advance", "set") else []))
        true, mono, wall = clock.true_ms, clock.mono_ms(), clock.wall_ms()
        assert true >= before[0]
        if op == "power_cycle":
            assert mono == 0
        else:
            assert mono >= before[1]
        if op == "advance":
            assert wall >= before[2]  # only set and reset move the RTC back
        elif op == "reset":
            assert wall == RTC_RESET_MS and not clock.is_set()
        elif op == "set":
            assert wall == arg and clock.is_set()


# --- SD card --------------------------------------------------------------------------------


@pytest.mark.parametrize("watch", [True, False])  # inotify, and the folder-mtime fallback
def test_the_card_refuses_writes_past_capacity_after_a_partial_write(tmp_path, watch):
    card = SdCard(str(tmp_path / "card"), 10_000, watch=watch)
    with card.opener(str(tmp_path / "card" / "a.bin"), "wb") as f:
        assert f.write(b"x" * 6000) == 6000
    assert card.free_bytes() == 4000
    f = card.opener(str(tmp_path / "card" / "b.bin"), "ab")
    with pytest.raises(OSError) as err:
        f.write(b"y" * 5000)
    f.close()
    assert err.value.errno == errno.ENOSPC
    assert os.path.getsize(tmp_path / "card" / "b.bin") == 4000  # what fit was written
    assert card.free_bytes() == 0 and card.refusals == 1


@pytest.mark.parametrize("watch", [True, False])
def test_free_space_comes_back_when_a_file_is_removed(tmp_path, watch):
    card = SdCard(str(tmp_path), 50_000, watch=watch)
    os.makedirs(tmp_path / "media" / "ab")
    for i in range(5):
        with card.opener(str(tmp_path / "media" / "ab" / ("%d.bin" % i)), "wb") as f:
            f.write(bytes(8000))
    assert card.free_bytes() == 10_000
    os.remove(tmp_path / "media" / "ab" / "3.bin")  # as the store evicts: not through the card
    assert card.free_bytes() == 18_000
    os.makedirs(tmp_path / "media" / "cd" / "deep")  # folders made and removed between counts
    (tmp_path / "media" / "cd" / "deep" / "other.bin").write_bytes(bytes(1000))
    assert card.free_bytes() == 17_000
    os.remove(tmp_path / "media" / "cd" / "deep" / "other.bin")
    os.rmdir(tmp_path / "media" / "cd" / "deep")
    os.rename(tmp_path / "media" / "ab" / "4.bin", tmp_path / "media" / "4.bin")
    assert card.free_bytes() == 18_000
    card.fill(15_000)  # a fault: other data takes room
    assert card.free_bytes() == 3_000
    with pytest.raises(OSError):
        with card.opener(str(tmp_path / "c.bin"), "wb") as f:
            f.write(bytes(3001))
    card.close()


def recorded(frames: int, size=(320, 180)) -> list:
    """(entry, media) pairs of a short recording made by the real recorder."""
    clock = SimClock(T0)
    cam = SceneCamera(clock, *size)
    rec = Recorder(make_signer(SEED_A), DEVICE, "P-0427")
    pairs: list = []

    def run(actions):
        pairs.extend((a[1], a[2]) for a in actions if a[0] == STORE)

    checks = {"camera_ok": True, "battery_percent": 90, "storage_hours": 9}
    run(rec.power_on(clock.wall_ms(), 0, checks))
    run(rec.press_record(clock.wall_ms(), clock.mono_ms()))
    for _ in range(frames):
        clock.advance(100)
        data = cam.read(rec.overlay(clock.wall_ms()))[0]
        run(rec.frame(data, True, clock.wall_ms(), clock.mono_ms()))
    run(rec.press_stop(clock.wall_ms(), clock.mono_ms()))
    return pairs


def test_a_store_on_a_full_card_says_storage_full_and_stays_whole(tmp_path):  # R-DEV-14
    pairs = recorded(40)
    media = sum(len(m) for _, m in pairs if m)
    card = SdCard(str(tmp_path / "card"), media // 2)
    store = Store(card.path, opener=card.opener)
    stored = 0
    with pytest.raises(StorageFull, match="storage is full"):
        for raw, m in pairs:
            store.append(raw, m)
            stored += 1
    assert 0 < stored < len(pairs) and card.refusals >= 1
    store.close()
    again = Store(card.path, opener=card.opener)
    assert again.recovery.clean  # nothing torn, nothing half-written left behind
    kept = list(again.entries())
    assert kept == [raw for raw, _ in pairs[:stored]]
    assert verify_ledger(b"".join(kept), DEVICE, device_key().public).state == OK
    for raw, m in pairs[:stored]:
        if m:
            assert again.read_media(parse_entry(raw).fields[F_PLAIN_SHA]) == m
    assert not [n for n in os.listdir(card.path + "/media/new") if n.endswith(".part")]
    # Free room (as retention would) and the refused entry goes in.
    for raw, m in pairs[:stored]:
        if m:
            again.evict_media(parse_entry(raw).fields[F_PLAIN_SHA])
    again.append(*pairs[stored])
    again.close()


def test_the_agent_boots_and_records_on_the_card(tmp_path):
    clock = SimClock(T0)
    card = SdCard(str(tmp_path / "card"), 2_000_000_000)
    cam = SceneCamera(clock, 160, 90)
    agent = boot(
        "",
        make_signer(SEED_A),
        DEVICE,
        "P-0427",
        clock,
        cam,
        None,
        SimBattery(),
        store=card.open_store(),
    )
    assert agent.storage_hours() > 0.5 and agent.store.free_bytes() == card.free_bytes()
    agent.input("press_record")
    for _ in range(12):
        clock.advance(100)
        agent.capture()
    agent.input("press_stop")
    agent.store.close()
    raws = list(Store(card.path).entries())
    assert verify_ledger(b"".join(raws), DEVICE, device_key().public).state == OK
    assert card.used_bytes() >= agent.stored_media_bytes


@pytest.mark.parametrize("host_sync", [False, True])
def test_a_card_syncs_to_the_host_disk_only_when_asked(tmp_path, monkeypatch, host_sync):
    synced = []
    real = os.fsync
    monkeypatch.setattr("firmware.store._os_fsync", lambda fd: synced.append(fd) or real(fd))
    card = SdCard(str(tmp_path / "card"), 10_000_000, host_sync=host_sync)
    store = card.open_store()
    actions = Recorder(make_signer(SEED_A), DEVICE, "P-0427").power_on(
        T0, 0, {"camera_ok": True, "battery_percent": 90, "storage_hours": 9}
    )
    raw = next(a[1] for a in actions if a[0] == STORE)
    store.append(raw)
    store.close()
    assert bool(synced) == host_sync
    # Either way the record is in the file for the next boot.
    assert list(Store(card.path).entries()) == [raw]


# --- battery --------------------------------------------------------------------------------


def test_battery_drains_at_the_modelled_rates():  # R-DEV-16: the battery shown is the model's
    b = SimBattery(100.0, hours_recording=10.0, hours_idle=48.0)
    b.drain(HOUR_MS, recording=True)
    assert b.percent() == 90
    b.drain(24 * HOUR_MS, recording=False)
    assert b.percent() == 40
    b.drain(10 * HOUR_MS, recording=True)
    assert b.percent() == 0 and b.empty()
    b.charge(55)
    assert b.percent() == 55
    b.die()
    assert b.percent() == 0
    with pytest.raises(SimulatorError, match=r"0\.\.100"):
        b.charge(120)


# --- GPS ------------------------------------------------------------------------------------


def test_gps_walks_the_track_and_back():
    clock = SimClock(T0)
    start, end = (39.9000, 116.4000), (39.9090, 116.4000)  # about 1000 m due north
    gps = GpsTrack(clock, [start, end], speed_mps=10.0)
    assert gps.fix() == [399000000, 1164000000, 5]
    clock.advance(50_000)  # 500 m along
    lat, lon, _ = gps.fix()
    assert abs(lat - 399045000) < 2000 and lon == 1164000000
    clock.advance(100_000)  # 1500 m: at the end and 500 m back
    assert abs(gps.fix()[0] - 399045000) < 2000
    gps.lose()
    assert gps.fix() is None
    gps.regain()
    assert gps.fix() is not None


# --- microphone -----------------------------------------------------------------------------


def write_wav(path, samples, rate=16000, channels=2, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        frames = np.repeat(np.asarray(samples, "<i2"), channels)
        w.writeframes(frames.tobytes())


def test_a_wav_file_comes_out_as_pcm_blocks(tmp_path):  # R-DEV-9: the spoken reason is audio
    rate = 16000
    t = np.arange(rate) / rate  # one second of a 300 Hz tone, stereo, 16 kHz
    write_wav(tmp_path / "reason.wav", 20000 * np.sin(2 * np.pi * 300 * t), rate)
    mic = SimMicrophone(SimClock(T0), rate=8000, block_ms=200)
    quiet = pcm_samples(mic.read()[0])
    mic.speak(wav=str(tmp_path / "reason.wav"))
    blocks = []
    while mic.speaking():
        blocks.append(mic.read()[0])
    assert len(blocks) == 5 and all(len(b) == 2 * 1600 for b in blocks)  # 1 s at 8 kHz
    loud = np.concatenate([pcm_samples(b) for b in blocks]).astype(float)
    assert np.sqrt((loud**2).mean()) > 10 * np.sqrt((quiet.astype(float) ** 2).mean())
    # The tone survived the resampling: its strongest frequency is still 300 Hz.
    spectrum = np.abs(np.fft.rfft(loud))
    assert abs(np.argmax(spectrum) * 8000 / len(loud) - 300) < 5


def test_a_file_that_is_not_pcm_wav_is_refused_clearly(tmp_path):
    floats = tmp_path / "float.wav"
    data = struct.pack("<4f", 0.1, 0.2, 0.3, 0.4)
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)  # format 3: IEEE float
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    body += struct.pack("<I", len(data)) + data
    floats.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    (tmp_path / "notes.wav").write_text("not audio")
    mic = SimMicrophone(SimClock(T0))
    for name in ("float.wav", "notes.wav"):
        with pytest.raises(SimulatorError, match="not a PCM WAV"):
            mic.speak(wav=str(tmp_path / name))
    with pytest.raises(SimulatorError, match="does not exist"):
        mic.speak(wav=str(tmp_path / "missing.wav"))


def test_the_quiet_tone_runs_on_unbroken_between_and_after_speech():
    mic = SimMicrophone(SimClock(T0), rate=8000, block_ms=200)
    blocks = [mic.read()[0] for _ in range(3)]
    mic.speak(seconds=0.3)
    while mic.speaking():
        mic.read()
    blocks += [mic.read()[0] for _ in range(3)]
    samples = np.concatenate([pcm_samples(b) for b in blocks[:3]]).astype(float)
    t = np.arange(len(samples)) / 8000
    expected = np.round(0.03 * 32767 * np.sin(2 * np.pi * 440 * t))
    assert np.abs(samples - expected).max() <= 1  # the tone, in phase from the first sample
    after = pcm_samples(blocks[3]).astype(float)
    start = 5 * 1600  # two blocks of speech came between
    t = (start + np.arange(len(after))) / 8000
    assert np.abs(after - np.round(0.03 * 32767 * np.sin(2 * np.pi * 440 * t))).max() <= 1


def test_synthetic_speech_lasts_as_long_as_asked():
    mic = SimMicrophone(SimClock(T0))
    mic.speak(seconds=3)
    n = 0
    while mic.speaking():
        block, _ = mic.read()
        assert len(block) == 3200
        n += 1
    assert n == 15


# --- buttons --------------------------------------------------------------------------------


def test_buttons_name_the_recorder_inputs_and_log_presses():
    clock = SimClock(T0)
    buttons = Buttons(clock)
    assert buttons.press("record") == "press_record"
    clock.advance(1000)
    assert buttons.press("mark") == "mark_important"
    assert buttons.log == [(T0, "record"), (T0 + 1000, "mark")]
    with pytest.raises(SimulatorError, match="record, stop, pause, resume, mark"):
        buttons.press("zoom")
