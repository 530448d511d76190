"""The MP4 export of an fMP4 recording: the signed fragments byte for byte, the pause notes
as subtitles, the signed entries in the sealcam evidence box (issue 12, export)."""
# micropython: skip (host code, PyAV)
# R-HOST-4: an export names its maker, its extractor and when it was extracted.
# R-HOST-5: nobody edits original footage: the export holds the signed bytes unchanged.

import hashlib
import json
import os
import threading
import tracemalloc
from pathlib import Path

import av
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host import mp4evidence, mp4export
from host.evidence import SqliteEvidenceStore
from host.export import ExportError, NotAuthentic, export_recording, note_json
from host.mp4export import PAUSE_NAMES_EN, PAUSE_NAMES_ZH, pause_text
from protocol import mp4
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_CIPHER_ALG,
    F_CIPHER_SHA,
    F_EVENT,
    F_PLAIN_SHA,
    PAUSE_NAMES,
    PAUSE_WEATHER,
)
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from tests.host import fmp4
from tests.host.helpers import break_signature, run
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key

NOW = T0 + 86_400_000


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A recording with a pause, in an evidence store, and its export."""
    root = tmp_path_factory.mktemp("mp4export")
    rec = fmp4.record()
    fmp4.evidence_store(root / "ev", rec).close()
    out = root / "case-17.mp4"
    note = export_recording(str(root / "ev"), DEVICE, None, str(out), "W. Li", now_ms=NOW)
    return rec, root, out, note


def test_every_signed_fragment_is_in_the_export_byte_for_byte(exported):  # R-HOST-5
    rec, _, out, note = exported
    data = out.read_bytes()
    chunks = note["chunks"]
    assert [c["seq"] for c in chunks] == [e.seq for e in rec.chunks]  # ledger order
    assert chunks[0]["offset"] == 0 and chunks[0]["media"] == "video/mp4-init"
    at = 0
    for c, e in zip(chunks, rec.chunks, strict=True):
        piece = data[c["offset"] : c["offset"] + c["bytes"]]
        assert c["offset"] == at  # laid end to end, nothing between
        assert hashlib.sha256(piece).digest() == e.fields[F_PLAIN_SHA]
        assert piece == rec.media[e.fields[F_PLAIN_SHA]]
        at += c["bytes"]
    assert data[:at] == rec.init + b"".join(d for _, d in rec.fragments)
    # Then the unsigned notes, then the evidence box, and nothing else.
    notes = note["pause_notes_fragment"]
    box = note["evidence_box"]
    assert notes["offset"] == at and box["offset"] == at + notes["bytes"]
    assert box["offset"] + box["bytes"] == len(data) == note["file_bytes"]
    assert note["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert note["changed_chunks"] == []


def test_pyav_plays_the_export_with_video_sound_and_the_pause_note(exported):
    rec, _, out, note = exported
    with av.open(str(out)) as container:
        kinds = sorted(s.type for s in container.streams)
        assert kinds == ["audio", "subtitle", "video"]
        assert container.streams.subtitles[0].codec_context.name == "mov_text"
        texts = []
        counts: dict = {}
        for packet in container.demux():
            if packet.size == 0:
                continue
            counts[packet.stream.type] = counts.get(packet.stream.type, 0) + 1
            if packet.stream.type == "subtitle":
                body = bytes(packet)
                texts.append((packet.pts, packet.duration, body[2:].decode("utf-8")))
    with av.open(str(out)) as container:
        decoded = {"video": 0, "audio": 0}
        for frame in container.decode(video=0, audio=0):
            decoded["video" if isinstance(frame, av.VideoFrame) else "audio"] += 1
    assert decoded["video"] == note["video"]["frames"] == 5 * fmp4.FPS
    assert decoded["audio"] > 0 and note["audio"]
    # The note is on screen from the pause to the resume, in media time (ms).
    (pause_ms, resume_ms) = rec.pause_ms[0]
    shown = [t for t in texts if t[2]]
    assert len(shown) == 1
    pts, duration, text = shown[0]
    assert (pts, pts + duration) == (pause_ms, resume_ms)
    assert "录像暂停" in text and "天气恶劣" in text and "reason: severe weather" in text
    assert "states the reason for the interruption" in text and "口述中断原因" in text
    assert note["pause_notes"][0]["text"] == text
    assert note["pause_notes"][0]["pause_seq"] == next(
        e.seq for e in rec.entries if e.fields.get(F_EVENT) == 7
    )


def test_the_evidence_box_carries_the_signed_entries_and_the_key(exported):
    rec, _, out, note = exported
    data = out.read_bytes()
    boxes = mp4.top_boxes(data)
    kind, start, end = boxes[-1]
    assert kind == "uuid" and data[start + 8 : start + 24] == mp4evidence.EVIDENCE_UUID
    # Any CBOR library reads it (cbor2 here, not our codec).
    body = cbor2.loads(data[start + 24 : end])
    assert body["sealcam"] == 1 and body["device_id"] == DEVICE
    assert body["recording"] == rec.rec_id
    assert body["export"]["by"] == "W. Li" and body["export"]["at_ms"] == NOW
    assert body["export"]["tool"].startswith("sealcam export ")
    assert cbor2.loads(body["device_key"])[-2] == device_key().public
    entries = [parse_entry(raw) for raw in body["entries"]]
    # From the record-start to the record-stop, every entry between, as the device wrote it.
    assert entries[0].fields[F_EVENT] == EV_RECORD_START
    assert entries[-1].fields[F_EVENT] == EV_RECORD_STOP
    assert [e.raw for e in entries] == [e.raw for e in rec.entries[1:]]
    report = verify_ledger(b"".join(body["entries"]), DEVICE, device_key().public)
    assert report.state != "NOT OK"
    assert note["evidence_box"]["entries"] == len(entries)


def test_the_note_names_the_mp4_its_maker_and_its_extractor(exported):  # R-HOST-4
    _, _, out, note = exported
    saved = json.loads(out.with_name(out.name + ".json").read_text())
    assert saved == note
    assert note["extracted_by"] == "W. Li" and note["extracted_at"].startswith("2026-11-24T08:00")
    assert note["made_by"] == {"device_id": DEVICE, "officers": [fmp4.OFFICER]}
    assert "MP4" in note["format"] and "unchanged" in note["format"]
    assert "byte for byte" in note["note"] and "sealcam verify case-17.mp4" in note["note"]
    assert note["ledger_verification"] == OK


def test_every_objective_reason_has_a_chinese_and_english_name_in_the_note():  # R-DEV-9
    assert set(PAUSE_NAMES_ZH) == set(PAUSE_NAMES) == set(PAUSE_NAMES_EN)
    for code in PAUSE_NAMES:
        text = pause_text(2, 3, code)
        assert PAUSE_NAMES_ZH[code] in text and PAUSE_NAMES_EN[code] in text and "2 of 3" in text
    assert "no reason given" in pause_text(1, 1, None)


def test_the_command_writes_the_mp4_and_says_so(exported, tmp_path):
    _, root, _, _ = exported
    out = tmp_path / "cmd.mp4"
    r = run("export", "--evidence", str(root / "ev"), "--device", DEVICE, "--out", str(out),
            "--extractor", "W. Li")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "as MP4" in r.stdout and "byte for byte" in r.stdout and "1 pause note" in r.stdout
    assert out.exists() and out.with_name("cmd.mp4.json").exists()
    # An fMP4 recording is its fragments: an AVI would be a re-encoding, and is refused.
    r = run("export", "--evidence", str(root / "ev"), "--device", DEVICE, "--out",
            str(tmp_path / "x.avi"), "--extractor", "W. Li")  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "name the file .mp4" in r.stderr and not (tmp_path / "x.avi").exists()


def test_a_changed_fragment_is_refused_and_nothing_is_written(tmp_path):  # R-HOST-5
    rec = fmp4.record(gops_before=1, gops_after=1)
    ev = fmp4.evidence_store(tmp_path / "ev", rec)
    entry, _ = rec.fragments[1]
    path = ev.media_file(entry.fields[F_PLAIN_SHA])
    ev.close()
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    out = tmp_path / "case.mp4"
    with pytest.raises(NotAuthentic, match="chunk seq %d does not match" % entry.seq):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li", True)
    assert note["changed_chunks"] == [entry.seq]


def test_sealed_fragments_are_refused_in_one_line(tmp_path):  # R-DEV-3
    writer_rec = fmp4.record(gops_before=1, gops_after=1, sealed=True)
    fmp4.evidence_store(tmp_path / "ev", writer_rec).close()
    with pytest.raises(ExportError, match="sealed to the agency's key") as info:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "x.mp4").exists()
    assert all(F_CIPHER_SHA in e.fields and F_CIPHER_ALG in e.fields for e in writer_rec.chunks)


# --- end to end: the device's recorder and packager, a sync, the export, verify ------------


def recorder_recording(path, spoken: str = "voice"):
    """A device that records real H.264 and AAC through its Recorder and Fmp4Packager: two
    seconds, a pause (weather), the spoken reason, two seconds more; then the stop."""
    from firmware.agent import boot
    from firmware.packager import Fmp4Packager, aac_track, video_track
    from simulator.hardware import SceneCamera, SimBattery, SimClock
    from simulator.hardware.microphone import synthetic_voice

    samples, avcc = fmp4.encode_video(4 * fmp4.FPS)
    background, asc = fmp4.encode_audio(fmp4.tone(5, level=0.05, hz=300))
    speech = {"voice": synthetic_voice(2.0, fmp4.RATE), "silence": fmp4.tone(2.0, 0.0)}[spoken]
    said, _ = fmp4.encode_audio(speech)
    packager = Fmp4Packager(
        video_track("avc1", avcc, *fmp4.SIZE),
        aac_track(asc, fmp4.RATE, 1),
        frame_ms=fmp4.FRAME_MS,
        audio_frame=fmp4.AAC_FRAME,
    )
    clock = SimClock(T0)
    agent = boot(
        str(path), make_signer(SEED_A), DEVICE, fmp4.OFFICER, clock,
        SceneCamera(clock, *fmp4.SIZE), None, SimBattery(),
        config={"chunk_ms": 1000, "max_chunk_ms": 2000, "spoken_reason_ms": 5000},
        packager=packager,
    )  # fmt: skip
    audio_ms = fmp4.AAC_FRAME * 1000 / fmp4.RATE
    heard = [0.0]  # ms of audio fed since the button

    def film(frames: list, sound: list) -> None:
        for sample, key in frames:
            agent.input("frame", sample, key)
            clock.advance(fmp4.FRAME_MS)
            heard[0] += fmp4.FRAME_MS
            while sound and heard[0] >= audio_ms:
                agent.input("audio", sound.pop(0))
                heard[0] -= audio_ms

    agent.input("press_record")
    film(samples[:10], background)
    agent.input("announce_done")
    film(samples[10:20], background)
    agent.input("pause", PAUSE_WEATHER)
    clock.advance(3000)
    agent.input("resume")
    for frame in said:  # the officer states the reason; the camera runs on
        agent.input("audio", frame)
        clock.advance(round(audio_ms))
    agent.input("spoken_reason_done")
    heard[0] = 0.0
    film(samples[20:40], background)
    agent.input("press_stop")
    return agent


def test_a_recording_from_the_recorder_exports_and_verifies_alone(tmp_path):  # R-HOST-4
    from host.checkup import check_evidence
    from host.mp4verify import AUTHENTIC_NOTES, verify_mp4
    from tests.host.helpers import evidence, run_pair

    agent = recorder_recording(tmp_path / "dev")
    ev = evidence(tmp_path / "ev")
    summary, _, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    ev.close()
    agent.store.close()
    out = tmp_path / "shift.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    assert note["ledger_verification"] == OK and note["changed_chunks"] == []
    assert len(note["pause_notes"]) == 1 and "天气恶劣" in note["pause_notes"][0]["text"]
    # Every signed chunk's bytes are in the file where the note says, as stored.
    data = out.read_bytes()
    for c in note["chunks"]:
        piece = data[c["offset"] : c["offset"] + c["bytes"]]
        assert hashlib.sha256(piece).hexdigest() == c["sha256"]
    with av.open(str(out)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "subtitle", "video"]
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == note["video"]["frames"] > 30
    report = verify_mp4(str(out), device_key().public_only())
    assert report.state == AUTHENTIC_NOTES, report.lines()
    assert report.matched == report.signed_fragments == len(note["chunks"]) - 1
    # The spoken reason is heard: no compliance flag for it (R-DEV-9).
    (device,) = check_evidence(tmp_path / "ev").devices
    assert "silent-spoken-reason" not in [f.code for f in device.flags]


def test_media_not_yet_synced_is_one_line_and_nothing_is_written(tmp_path):
    rec = fmp4.record(gops_before=1, gops_after=1)
    fmp4.evidence_store(tmp_path / "ev", rec, media=False).close()
    with pytest.raises(ExportError, match="not in the evidence store") as info:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]


def test_sealed_fragments_open_through_the_agency_key_seam(tmp_path):  # R-DEV-3
    # The export of sealed footage (with the agency's key) plugs in here: given an opener,
    # the plaintext it gives is checked against the signed hash and written unchanged.
    from host.evidence import SqliteEvidenceStore
    from host.mp4export import ChangedMedia, ExportProblem, export_fmp4
    from host.mp4verify import AUTHENTIC_NOTES, verify_mp4

    rec = fmp4.record(gops_before=1, gops_after=1, sealed=True)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    store = SqliteEvidenceStore(tmp_path / "ev", readonly=True)
    out = tmp_path / "opened.mp4"
    args = (store, DEVICE, device_key().public, rec.entries, rec.rec_id, rec.chunks, out, "W. Li")
    try:
        with pytest.raises(ExportProblem, match="sealed to the agency's key"):
            export_fmp4(*args)
        facts = export_fmp4(*args, opener=fmp4.Unsealer())

        class Wrong:
            def open(self, entry, sealed):
                return b"not the footage"

        with pytest.raises(ChangedMedia):
            export_fmp4(*args, opener=Wrong())
    finally:
        store.close()
    assert all(c["opened_from_sealed"] and c["matches_signed_hash"] for c in facts["chunks"])
    assert out.read_bytes().startswith(rec.init + rec.fragments[0][1])
    assert verify_mp4(str(out), device_key().public_only()).state == AUTHENTIC_NOTES


_VALUES = st.none() | st.booleans() | st.integers() | st.text(max_size=12)


@given(
    extractor=st.text(max_size=40),
    chunks=st.lists(st.dictionaries(st.text(max_size=6), _VALUES, max_size=4), max_size=6),
)
def test_the_note_reads_back_as_written_with_a_chunk_a_line(extractor, chunks):  # R-HOST-4
    # Issue 12: the chunk table is written a row a line (fast), the rest indented.
    note = {"file": "case.mp4", "extracted_by": extractor, "chunks": chunks, "after": [1, {}]}
    text = note_json(note).decode()
    assert json.loads(text) == note and text.endswith("}\n")
    lines = text.splitlines()
    for row in chunks:
        assert "    " + json.dumps(row) in {line.rstrip(",") for line in lines}
    assert '  "extracted_by": %s,' % json.dumps(extractor) in lines


def test_the_exports_note_has_one_line_per_chunk(exported):  # R-HOST-4
    out, note = exported[2], exported[3]
    text = out.with_name(out.name + ".json").read_text()
    assert json.loads(text) == json.loads(json.dumps(note))
    rows = [line for line in text.splitlines() if line.startswith('    {"seq": ')]
    assert len(rows) == len(note["chunks"]) > 1


# --- speed (issue 12, Benchmarks): one pass through a few buffers, written past the cache ----


def _writes(monkeypatch) -> list:
    """Record every ``os.pwrite``: (bypassed the page cache, offset, length)."""
    import fcntl

    seen: list = []
    real = os.pwrite

    def pwrite(fd, data, offset):
        direct = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0))
        seen.append((direct, offset, len(data)))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return seen


def _exact(rec, out, note) -> None:
    """The file is what the note says, every fragment in it byte for byte, nothing else."""
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == note["file_sha256"]
    assert note["changed_chunks"] == [] and len(data) == note["file_bytes"]
    assert data.startswith(rec.init + b"".join(d for _, d in rec.fragments))
    for entry, fragment in rec.fragments:
        c = next(c for c in note["chunks"] if c["seq"] == entry.seq)
        assert data[c["offset"] : c["offset"] + c["bytes"]] == fragment


def _direct_refused(folder) -> str:
    """Why ``folder``'s file system takes no O_DIRECT write, or "" if it does."""
    import mmap

    if not hasattr(os, "O_DIRECT"):
        return "no O_DIRECT on this system"
    probe = folder / ".direct-probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
    except OSError as exc:
        return "the file system refuses O_DIRECT: %s" % exc
    try:
        os.pwrite(fd, mmap.mmap(-1, mp4export.BLOCK), 0)
    except OSError as exc:
        return "the file system refuses O_DIRECT writes: %s" % exc
    finally:
        os.close(fd)
        probe.unlink()
    return ""


def test_full_windows_are_written_past_the_page_cache(tmp_path, monkeypatch):
    # issue 12: Benchmarks, export <= 1.2x copying: every window of the file but the bytes
    # after its last whole block is written with O_DIRECT, whole blocks at block offsets,
    # from the buffers the fragments were read and checked in.
    why = _direct_refused(tmp_path)
    if why:
        pytest.skip(why)
    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)  # fragments straddle
    seen = _writes(monkeypatch)
    out = tmp_path / "x.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    _exact(rec, out, note)
    direct = [(at, n) for d, at, n in seen if d]
    cached = [(at, n) for d, at, n in seen if not d]
    size = note["file_bytes"]
    assert len(direct) >= size // mp4export.WINDOW >= 5
    assert all(at % mp4export.BLOCK == 0 and n % mp4export.BLOCK == 0 for at, n in direct)
    # Only the tail after the last whole block goes through the page cache.
    assert cached == [(size - size % mp4export.BLOCK, size % mp4export.BLOCK)]
    assert sorted(direct + cached) == sorted(set(direct + cached))  # each byte written once
    assert sum(n for _, n in direct + cached) == size


def test_an_export_to_tmpfs_is_exact_with_or_without_o_direct(tmp_path, monkeypatch):
    # issue 12: Benchmarks; tmpfs took no O_DIRECT before Linux 6.6 (EINVAL at the open)
    # and takes it since: either way the same file; where refused, through the page cache.
    import tempfile

    shm = "/dev/shm"
    if not os.path.isdir(shm) or not os.access(shm, os.W_OK):
        pytest.skip("no writable tmpfs at /dev/shm")
    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        refused = _direct_refused(Path(folder))
        seen = _writes(monkeypatch)
        out = Path(folder) / "x.mp4"
        note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
        _exact(rec, out, note)
        assert seen and any(d for d, _, _ in seen) == (not refused)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["x.mp4", "x.mp4.json"]


def test_where_the_o_direct_open_is_refused_the_export_goes_through_the_page_cache(
    tmp_path, monkeypatch
):
    # issue 12: Benchmarks; a file system that refuses O_DIRECT at the open (as tmpfs did
    # before Linux 6.6, and some FUSE and network file systems do): the same file, written
    # through the page cache.
    import errno

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)
    real = os.open
    asked: list = []

    def open_(path, flags, *args, **kwargs):
        if flags & getattr(os, "O_DIRECT", 0):
            asked.append(path)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    seen = _writes(monkeypatch)
    out = tmp_path / "x.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    _exact(rec, out, note)
    assert len(asked) == int(hasattr(os, "O_DIRECT"))
    assert seen and not any(d for d, _, _ in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev", "x.mp4", "x.mp4.json"]


def test_a_file_system_that_refuses_the_first_direct_write_gets_the_page_cache(
    tmp_path, monkeypatch
):
    # issue 12: Benchmarks; some file systems take the O_DIRECT open and refuse the write
    # (EINVAL): that write and every one after it go through the page cache.
    import errno
    import fcntl

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)
    seen = _writes(monkeypatch)
    logged = os.pwrite
    refused: list = []

    def pwrite(fd, data, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0):
            refused.append(offset)
            raise OSError(errno.EINVAL, "Invalid argument")
        return logged(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    out = tmp_path / "x.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    _exact(rec, out, note)
    assert len(refused) <= 1  # asked once at most (none where the open was refused)
    assert seen and not any(d for d, _, _ in seen)


def test_the_export_holds_a_few_buffers_not_the_recording(tmp_path):
    # An hour of footage must not be held in memory: 48 fragments of 1 MB each are read
    # straight into the export's fixed buffers (BUFFERS of WINDOW bytes, mapped outside
    # Python's allocator), so what the export allocates (modules it imports, the note)
    # stays far below the recording.
    rec = fmp4.record_large(fragments=48, fragment_bytes=1 << 20)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    out = tmp_path / "big.mp4"
    tracemalloc.start()
    try:
        note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.stat().st_size > 48 << 20
    assert peak < 4 << 20, peak
    assert mp4export.BUFFERS * mp4export.WINDOW <= 32 << 20
    _exact(rec, out, note)


def test_a_write_that_fails_is_raised_and_nothing_is_left(tmp_path, monkeypatch):
    # issue 12: Benchmarks; a full disk is raised, and nothing is left behind.
    import errno

    rec = fmp4.record(gops_before=1, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)
    calls: list = []
    real = os.pwrite

    def full_disk(fd, data, offset):
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full_disk)
    with pytest.raises(OSError, match="No space left"):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary
    assert not [t for t in threading.enumerate() if t.name.startswith("export-")]


@pytest.mark.parametrize("cores", [2, 1])
def test_the_check_is_of_the_bytes_written_not_of_the_store(tmp_path, monkeypatch, cores):
    # R-HOST-5: each fragment is checked where it lies in the buffer that is written: a byte
    # that changed on the way from the store (here: as it was read) is refused in one line
    # naming its chunk, and nothing is left; the store's own file is as signed.
    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)
    if cores == 1:  # no threads: each window hashed, checked and written in turn
        monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    victim = rec.fragments[2][0]
    ev = SqliteEvidenceStore(tmp_path / "ev", readonly=True)
    inode = ev.media_file(victim.fields[F_PLAIN_SHA]).stat().st_ino
    ev.close()
    real = os.preadv
    reads: list = []

    def preadv(fd, buffers, offset):
        n = real(fd, buffers, offset)
        if os.fstat(fd).st_ino == inode:
            reads.append(n)
            if len(reads) == 2:  # it straddles windows: its second part
                buffers[0][n // 2] ^= 0x10
        return n

    monkeypatch.setattr(os, "preadv", preadv)
    with pytest.raises(NotAuthentic, match="chunk seq %d does not match" % victim.seq) as info:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary
    # Asked to export it anyway, the changed bytes are written as read and named.
    reads.clear()
    out = tmp_path / "x.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li", True)
    assert note["changed_chunks"] == [victim.seq]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == note["file_sha256"]


def test_ctrl_c_mid_export_leaves_nothing(tmp_path, monkeypatch):
    # R-HOST-5: an export stopped by Ctrl-C leaves no file, no temporary, no thread.
    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "WINDOW", 2 * mp4export.BLOCK)
    real = os.preadv
    reads: list = []

    def preadv(fd, buffers, offset):
        reads.append(offset)
        if len(reads) == 3:
            raise KeyboardInterrupt
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", preadv)
    with pytest.raises(KeyboardInterrupt):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]
    assert not [t for t in threading.enumerate() if t.name.startswith("export-")]


def test_a_stored_file_that_shrinks_while_read_is_one_line_and_nothing_is_left(
    tmp_path, monkeypatch
):
    # issue 12: Benchmarks; a store file cut short by another program as it is read.
    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    real = os.preadv
    reads: list = []

    def preadv(fd, buffers, offset):
        reads.append(offset)
        return 0 if len(reads) == 2 else real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", preadv)
    with pytest.raises(ExportError, match="shrank while it was read") as info:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]


@settings(max_examples=40, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(st.integers(0, 5 * 4096), st.booleans(), st.sampled_from(["bytes", "file"])),
        min_size=1,
        max_size=12,
    ),
    windows=st.integers(1, 3),
    cores=st.sampled_from([1, 2]),
    lane_behind=st.booleans(),
    seed=st.binary(min_size=8, max_size=8),
)
def test_a_stream_of_any_pieces_is_their_concatenation_each_checked(
    pieces, windows, cores, lane_behind, seed
):
    # issue 12: Benchmarks; R-HOST-5: whatever the pieces' sizes (straddling windows, empty,
    # ending on a block or not), the file is their concatenation, its hash is the file's,
    # and each piece's check says whether it is what its digest names, whoever checks it:
    # the hash lane (one core: it runs in the caller and is never behind) or the export's
    # own thread (two cores, the hash lane held back until every piece is laid, so it is
    # behind from the first window on).
    import random
    import tempfile

    from host.mp4export import _Stream

    rng = random.Random(seed)
    gate = threading.Event()
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as folder:
        mp.setattr(mp4export, "WINDOW", windows * mp4export.BLOCK)
        # Held back, the lane must not hold up the laying: a buffer for every window.
        mp.setattr(mp4export, "BUFFERS", 64 if lane_behind else 2)
        mp.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
        if lane_behind and cores == 2:
            hash_window = _Stream._hash

            def held_back(self, *args):
                gate.wait()
                hash_window(self, *args)

            mp.setattr(_Stream, "_hash", held_back)
        else:
            gate.set()
        path = Path(folder) / "out"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        stream = _Stream(fd, path)
        want, places = b"", []
        try:
            for i, (size, intact, how) in enumerate(pieces):
                data = rng.randbytes(size)
                digest = hashlib.sha256(data if intact else data + b"x").digest()
                if how == "file":
                    src = Path(folder) / ("piece-%d" % i)
                    src.write_bytes(data)
                    places.append(stream.add_file(src, digest))
                else:
                    places.append(stream.add(data, digest))
                want += data
            gate.set()
            sha = stream.finish()
        finally:
            stream.close()
            os.fsync(fd)
            os.close(fd)
        assert path.read_bytes() == want and sha == hashlib.sha256(want).hexdigest()
    assert stream.held == [intact for _, intact, _ in pieces]
    assert sorted(stream.changed) == [i for i, (_, ok, _) in enumerate(pieces) if not ok]
    at = 0
    for (size, _, _), place in zip(pieces, places, strict=True):
        assert place == (at, size)
        at += size


# --- the ledger verified beside the copy (issue 12, Benchmarks: export <= 1.2x copying) ----


def _change_fragment(ev_root, entry) -> None:
    from host.evidence import SqliteEvidenceStore

    ev = SqliteEvidenceStore(ev_root, readonly=True)
    path = ev.media_file(entry.fields[F_PLAIN_SHA])
    ev.close()
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("also", ["", "a changed fragment", "missing media"])
def test_a_ledger_that_is_not_what_the_device_signed_stops_the_export(tmp_path, monkeypatch, also):
    # R-HOST-5: the ledger is verified (in a worker process) while the fragments are copied,
    # and its verdict is taken before the file is made final: a failed signature leaves no
    # file, no temporary, and is what the export says even when a fragment is changed or
    # missing as well.
    from host import sigworker

    monkeypatch.setattr(sigworker, "LEDGER_WORKER_MIN", 1)  # a worker even for a short ledger
    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec, media=also != "missing media").close()
    stop = next(e for e in rec.entries if e.fields.get(F_EVENT) == EV_RECORD_STOP)
    assert stop.signed
    break_signature(tmp_path / "ev", stop.seq)
    if also == "a changed fragment":
        _change_fragment(tmp_path / "ev", rec.fragments[1][0])
    out = tmp_path / "x.mp4"
    with pytest.raises(NotAuthentic, match="ledger in the evidence store is NOT OK") as info:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary
    if also:
        return
    # Asked to export changed footage anyway, the note says what the ledger is.
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li", True)
    assert note["ledger_verification"] == "NOT OK" and note["changed_chunks"] == []


def test_the_ledgers_verdict_is_taken_after_the_copy_and_before_the_file_is_final(tmp_path):
    # issue 12: Benchmarks; R-HOST-5: export_fmp4 takes the verdict once every fragment is
    # written and checked, before the file is made durable and renamed; a verdict that
    # raises leaves nothing.
    from host.evidence import SqliteEvidenceStore
    from host.mp4export import export_fmp4

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    store = SqliteEvidenceStore(tmp_path / "ev", readonly=True)
    out = tmp_path / "x.mp4"
    seen: list = []

    def verdict(broken: bool):
        def check():
            (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".x.tmp-")]
            held = tmp.read_bytes()
            seen.append(all(fragment in held for _, fragment in rec.fragments))
            assert not out.exists()
            if broken:
                raise NotAuthentic("the ledger is broken")
            return "OK"

        return check

    args = (store, DEVICE, device_key().public, rec.entries, rec.rec_id, rec.chunks, out)
    try:
        with pytest.raises(NotAuthentic, match="the ledger is broken"):
            export_fmp4(*args, "W. Li", ledger=verdict(True))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]
        facts = export_fmp4(*args, "W. Li", ledger=verdict(False))
    finally:
        store.close()
    assert seen == [True, True]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == facts["file_sha256"]
