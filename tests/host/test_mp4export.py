"""The MP4 export of an fMP4 recording: the signed fragments byte for byte, the pause notes
as subtitles, the signed entries in the sealcam evidence box (issue 12, export)."""
# micropython: skip (host code, PyAV)
# R-HOST-4: an export names its maker, its extractor and when it was extracted.
# R-HOST-5: nobody edits original footage: the export holds the signed bytes unchanged.

import hashlib
import itertools
import json
import os
import tracemalloc

import av
import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from host import mp4evidence, mp4export
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
from tests.host.helpers import run
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


def test_the_export_streams_one_run_at_a_time(tmp_path):
    # An hour of footage must not be held in memory: with 48 fragments of 1 MB each, the
    # export's peak allocation stays near the two runs of fragments it reads back in turn
    # (mp4export.RUN each), far below the recording.
    rec = fmp4.record_large(fragments=48, fragment_bytes=1 << 20)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    out = tmp_path / "big.mp4"
    tracemalloc.start()
    try:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.stat().st_size > 48 << 20
    assert peak < 3 * mp4export.RUN <= 24 << 20, peak


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


# --- speed (issue 12, Benchmarks): writing beside the check ---------------------------------


def test_the_written_bytes_are_handed_to_the_disk_as_the_export_goes(tmp_path, monkeypatch):
    # issue 12: Benchmarks, export <= 1.2x copying: the disk writes while the export reads
    # and checks, so the final fsync waits only for the tail.

    rec = fmp4.record_large(fragments=12, fragment_bytes=256 << 10)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    # The ranges are written to a file: the copier process hands the fragments to the disk.
    log = tmp_path / "handed"

    def handed(fd, offset, length):
        with open(log, "a") as f:
            f.write("%d %d\n" % (offset, length))

    monkeypatch.setattr(mp4export, "_libc_sync_file_range", lambda: handed)
    monkeypatch.setattr(mp4export, "WRITEBACK_EVERY", 1 << 20)
    out = tmp_path / "big.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    size = out.stat().st_size
    started = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    assert len(started) >= 2
    # Consecutive ranges from the start, each at least WRITEBACK_EVERY, none past the end.
    assert started[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(started))
    assert all(n >= 1 << 20 for _, n in started) and sum(n for _, n in started) <= size
    # Whole pages only: the page the file ends in is still being written.
    assert all((a + n) % mp4export.PAGE == 0 for a, n in started)
    # The file is exactly what the note says and every fragment is in it as signed.
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == note["file_sha256"]
    for entry, fragment in rec.fragments:
        c = next(c for c in note["chunks"] if c["seq"] == entry.seq)
        assert data[c["offset"] : c["offset"] + c["bytes"]] == fragment


def test_a_write_that_fails_is_raised_and_nothing_is_left(tmp_path, monkeypatch):
    # issue 12: Benchmarks; a full disk is raised, and nothing is left behind.
    import errno

    rec = fmp4.record(gops_before=1, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    calls: list = []
    real = mp4export.write_all

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(mp4export, "write_all", full_disk)
    with pytest.raises(OSError, match="No space left"):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary


def _report(pipe, at, length, flushed):
    os.write(pipe, mp4export.REPORT.pack(at, length, flushed))


def _copier_gone(pipe, fd, paths, flushed):
    # A copier that dies a few bytes into the first fragment.
    with open(paths[0], "rb") as f:
        os.write(fd, f.read(100))
    os._exit(1)


def _copier_two_then_half(pipe, fd, paths, flushed):
    at = os.lseek(fd, 0, os.SEEK_CUR)
    for path in paths[:2]:
        data = open(path, "rb").read()
        os.write(fd, data)
        _report(pipe, at, len(data), flushed)
        at += len(data)
    data = open(paths[2], "rb").read()
    os.write(fd, data[: len(data) // 2])
    os._exit(1)


def _copier_misplaces(pipe, fd, paths, flushed):
    # A copier that says its first fragment lies a byte further on than it does.
    at = os.lseek(fd, 0, os.SEEK_CUR)
    data = open(paths[0], "rb").read()
    os.write(fd, data)
    _report(pipe, at + 1, len(data), flushed)


def _copier_misplaces_later(pipe, fd, paths, flushed):
    # Two fragments in place, in one batch with a third said to lie where it does not.
    at = os.lseek(fd, 0, os.SEEK_CUR)
    reports = b""
    for i, path in enumerate(paths[:3]):
        data = open(path, "rb").read()
        os.write(fd, data)
        reports += mp4export.REPORT.pack(at + (7 if i == 2 else 0), len(data), flushed)
        at += len(data)
    os.write(pipe, reports)


def _copier_changes_a_byte(pipe, fd, paths, flushed):
    # The store's file changes while it is copied: the third fragment lands with a byte
    # flipped, though the store now holds the signed bytes again.
    at = os.lseek(fd, 0, os.SEEK_CUR)
    for i, path in enumerate(paths):
        data = bytearray(open(path, "rb").read())
        if i == 2:
            data[len(data) // 2] ^= 0x10
        os.write(fd, data)
        _report(pipe, at, len(data), flushed)
        at += len(data)


@pytest.mark.parametrize(
    "copier", ["gone at once", "gone mid-fragment", "misplaces", "misplaces later", "one core"]
)
def test_the_export_never_depends_on_the_copier(tmp_path, monkeypatch, copier):
    # issue 12: Benchmarks; R-HOST-5: however the fragments are copied, the file holds every
    # signed fragment byte for byte and the note's hash is the file's.

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    if copier == "gone at once":
        monkeypatch.setattr(mp4export, "_copy_files", _copier_gone)
    elif copier == "gone mid-fragment":
        monkeypatch.setattr(mp4export, "_copy_files", _copier_two_then_half)
    elif copier == "misplaces":
        monkeypatch.setattr(mp4export, "_copy_files", _copier_misplaces)
    elif copier == "misplaces later":
        monkeypatch.setattr(mp4export, "_copy_files", _copier_misplaces_later)
    else:
        monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    out = tmp_path / "x.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == note["file_sha256"]
    assert len(rec.fragments) >= 3 and note["changed_chunks"] == []
    for entry, fragment in rec.fragments:
        c = next(c for c in note["chunks"] if c["seq"] == entry.seq)
        assert data[c["offset"] : c["offset"] + c["bytes"]] == fragment
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev", "x.mp4", "x.mp4.json"]


def test_the_check_is_of_the_bytes_written_not_of_the_store(tmp_path, monkeypatch):
    # R-HOST-5: the fragments are checked as they lie in the export, read back after the
    # copy: a byte that changed on the way is refused in one line naming its chunk, and
    # nothing is left; the store's own file is as signed.

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    monkeypatch.setattr(mp4export, "_copy_files", _copier_changes_a_byte)
    victim = rec.fragments[2][0]
    with pytest.raises(NotAuthentic, match="chunk seq %d does not match" % victim.seq) as info:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary


def test_a_copy_that_fails_is_raised_and_nothing_is_left(tmp_path, monkeypatch):
    # issue 12: Benchmarks; a full disk in the copier is the export's error, nothing left.
    import errno

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    calls: list = []

    def full_disk(src, dst, count, *args):
        calls.append(count)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.sendfile(dst, src, None, count)

    monkeypatch.setattr(os, "copy_file_range", full_disk)
    with pytest.raises(OSError, match="No space left"):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W. Li")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no file, no temporary


# --- the ledger verified beside the copy (issue 12, Benchmarks: export <= 1.2x copying) ----


def _break_signature(ev_root, seq: int) -> None:
    """Change a byte of entry ``seq``'s signature where the store holds it."""
    import sqlite3

    db = sqlite3.connect(ev_root / "evidence.db")
    try:
        (raw,) = db.execute("SELECT raw FROM entries WHERE seq = ?", (seq,)).fetchone()
        raw = bytearray(raw)
        raw[-5] ^= 0x01  # the signature is the entry's last field
        db.execute("UPDATE entries SET raw = ? WHERE seq = ?", (bytes(raw), seq))
        db.commit()
    finally:
        db.close()


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
    _break_signature(tmp_path / "ev", stop.seq)
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
