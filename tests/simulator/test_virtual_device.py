"""The virtual recorder on its own: the unchanged agent on simulated hardware, and faults."""
# micropython: skip (the simulator runs on CPython only)

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.recorder import RECORDING
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_POWER_LOSS_RECOVERED,
    EV_RESUME,
    F_EVENT,
    F_GPS,
    F_SPOKEN,
    KIND_CHUNK,
)
from protocol.verify import OK, verify_ledger
from simulator.device import VirtualDevice, nth_device
from simulator.links import LinkFaults

SHIFT = [
    {"do": "power_on", "n": 1},
    {"do": "record", "n": 2},
    {"do": "announce", "n": 3, "seconds": 2},
]


def ledger_state(device: VirtualDevice) -> str:
    raws = device.ledger_entries()
    return verify_ledger(b"".join(raws), device.device_id, device.public_key).state


def test_a_shift_runs_on_virtual_time_and_its_ledger_verifies(tmp_path):  # R-DEV-2
    d = VirtualDevice(str(tmp_path), {"fps": 5})
    for step in SHIFT:
        d.step(step)
    lines = d.step({"do": "film", "n": 4, "seconds": 4})
    assert lines == ["filmed 4.0 s: 20 frames"]
    assert d.agent is not None and d.agent.recorder.state == RECORDING
    d.step({"do": "wait", "n": 5, "hours": 1})  # a running recording keeps recording
    assert d.clock.true_ms - d.clock.wall_ms() == 0  # no drift was asked for
    d.step({"do": "stop", "n": 6})
    assert ledger_state(d) == OK


# R-DEV-14: the power may go during any write; whatever was stored before it stays, and the
# next boot recovers the store, logs the loss and continues the same chain.
@settings(max_examples=12)
@given(st.integers(min_value=1, max_value=80))
def test_a_power_cut_at_any_write_loses_nothing_saved_before_it(tmp_path_factory, at_write):
    d = VirtualDevice(str(tmp_path_factory.mktemp("dev")), {"fps": 5})
    for step in SHIFT:
        d.step(step)
    d.step({"do": "fault", "n": 4, "kind": "power_loss", "at_write": at_write})
    before = len(d.ledger_entries())
    d.step({"do": "film", "n": 5, "seconds": 8})
    if d.agent is not None:  # the cut came later than this film: cut now
        d.step({"do": "fault", "n": 6, "kind": "power_loss"})
    kept = d.ledger_entries()
    assert len(kept) >= before
    d.step({"do": "power_on", "n": 7})
    after = d.ledger_entries()
    assert after[: len(kept)] == kept  # nothing that was stored is lost or changed
    assert ledger_state(d) == OK
    events = [parse_entry(r).fields.get(F_EVENT) for r in after]
    assert d.power_losses == 1
    if EV_POWER_LOSS_RECOVERED not in events:
        # A cut between writes leaves nothing torn; the new boot counter shows the restart.
        assert parse_entry(after[-1]).fields[6] == 1


def test_an_rtc_that_drifts_gains_time_at_its_rate(tmp_path):  # R-HOST-11
    d = VirtualDevice(str(tmp_path), {"rtc_drift_ppm": 50})
    d.step({"do": "power_on", "n": 1})
    d.step({"do": "wait", "n": 2, "hours": 10})
    assert d.clock.wall_ms() - d.clock.true_ms == 1800  # 50 ppm of 10 h


@given(st.binary(min_size=1, max_size=3000), st.integers(1, 500), st.integers(1, 5))
def test_link_faults_stay_within_their_budget(data, every, budget):
    f = LinkFaults(flip_every=every, drop_every=every, budget=budget, seed=3)
    out = f.injure(data)
    assert f.flipped + f.dropped <= budget
    assert len(out) == len(data) - f.dropped


def test_a_pulled_cable_carries_exactly_the_bytes_before_the_pull():
    f = LinkFaults(disconnect_after=10)
    assert f.injure(b"abcdefgh") == b"abcdefgh"
    assert f.injure(b"ijklmnop") == b"ij"
    assert f.injure(b"more") == b""
    f.next_attempt()  # plugged in again: the pull happened once
    assert f.injure(b"again") == b"again"


def test_chunks_carry_the_gps_fix_and_frames_show_it(tmp_path):  # R-DEV-13, R-DEV-1
    d = VirtualDevice(str(tmp_path), {"fps": 5})
    for step in SHIFT:
        d.step(step)
    d.step({"do": "film", "n": 4, "seconds": 2})
    d.step({"do": "fault", "n": 5, "kind": "gps_lost"})
    d.step({"do": "film", "n": 6, "seconds": 3})
    d.step({"do": "stop", "n": 7})
    chunks = [parse_entry(r) for r in d.ledger_entries()]
    chunks = [e for e in chunks if e.kind == KIND_CHUNK]
    with_fix = [e.fields[F_GPS] for e in chunks if F_GPS in e.fields]
    assert with_fix and all(len(f) == 3 and 39_0000000 < f[0] < 40_0000000 for f in with_fix)
    assert F_GPS not in chunks[-1].fields  # the fix was lost before the last chunks
    assert " GPS 39." in d.agent.recorder.overlay(d.clock.wall_ms(), (399087000, 1163975000, 5))


def test_a_spoken_reason_from_a_wav_file_becomes_the_reasons_audio(tmp_path):  # R-DEV-9
    import wave

    import numpy as np

    path = tmp_path / "reason.wav"
    with wave.open(str(path), "wb") as w:  # 1.5 s of a 16 kHz recording
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        t = np.arange(24000) / 16000
        w.writeframes((np.sin(2 * np.pi * 300 * t) * 8000).astype("<i2").tobytes())
    d = VirtualDevice(str(tmp_path), {"fps": 5})
    for step in SHIFT:
        d.step(step)
    d.step({"do": "pause", "n": 4, "reason": "obstruction"})
    d.step({"do": "resume", "n": 5})
    start = d.clock.true_ms
    d.step({"do": "say_reason", "n": 6, "wav": str(path)})
    assert 1400 <= d.clock.true_ms - start <= 1800  # as long as the recording
    d.step({"do": "stop", "n": 7})
    resume = [parse_entry(r) for r in d.ledger_entries()]
    resume = [e for e in resume if e.fields.get(F_EVENT) == EV_RESUME]
    assert len(resume) == 1 and F_SPOKEN in resume[0].fields


def test_devices_alike_get_the_next_ids_and_officers_and_their_own_seeds():
    base = {"id": "SC-SIM-0009", "officer": "P-0427", "fps": 2}
    assert nth_device(base, 0) == base
    third = nth_device(base, 2)
    assert (third["id"], third["officer"], third["seed"], third["fps"]) == (
        "SC-SIM-0011",
        "P-0429",
        3,
        2,
    )
    assert nth_device({"id": "RACK", "officer": "P-99"}, 1)["id"] == "RACK-2"
    assert nth_device({}, 1)["id"] == "SC-SIM-0002"  # from the default id
