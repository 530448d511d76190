"""The MP4 export of a raw-mode recording is a labelled H.264 derivative with its sound."""
# micropython: skip (host code, PyAV)
# Issue 12: "MJPEG recordings (boards, older stores) export as a labelled H.264 derivative,
# linked to the originals by their hashes, and the note says it is a derivative."
# R-HOST-4: an export names what it is; R-HOST-5: changed originals are refused or marked.

import hashlib

import av
import numpy as np
import pytest

from firmware.agent import boot
from host import agencykeys
from host.evidence import SqliteEvidenceStore
from host.export import NotAuthentic, export_recording
from protocol.ledger import parse_entry
from protocol.registry import F_MEDIA_TYPE, F_PLAIN_SHA, KIND_CHUNK, MEDIA_MJPEG, MEDIA_PCM
from protocol.sealing import sealed_fields
from protocol.signer import make_signer
from simulator.hardware import SceneCamera, SimBattery, SimClock
from tests.host.helpers import evidence, run_pair
from tests.host.rawrec import (
    FPS,
    NOW,
    SIZE,
    first_video_chunk,
    media_file,
    record,
    synced_recording,
    tamper,
)
from tests.protocol.helpers import DEVICE, SEED_A, T0


@pytest.fixture
def synced(tmp_path):
    return synced_recording(tmp_path)


def signed_chunks(ev):
    """``{seq: (media type, plaintext SHA-256 hex)}`` of every chunk the device signed."""
    store = SqliteEvidenceStore(ev)
    entries = [parse_entry(r) for r in store.entries(DEVICE)]
    store.close()
    return {
        e.seq: (e.fields[F_MEDIA_TYPE], e.fields[F_PLAIN_SHA].hex())
        for e in entries
        if e.kind == KIND_CHUNK
    }


def decoded(path):
    """``(metadata, {stream type: codec name}, video frames, audio samples as float)``,
    decoding every packet of every stream with PyAV (the independent oracle)."""
    frames, sound = [], []
    with av.open(str(path)) as c:
        meta = dict(c.metadata)
        codecs = {s.type: s.codec_context.name for s in c.streams}
        for frame in c.decode(*c.streams):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="bgr24"))
            else:
                sound.append(frame.to_ndarray().reshape(-1))
    return meta, codecs, frames, np.concatenate(sound) if sound else np.zeros(0)


def test_a_raw_recording_exports_as_a_labelled_h264_derivative_with_sound(synced, tmp_path):
    ev, originals = synced
    out = tmp_path / "case.mp4"
    note = export_recording(str(ev), DEVICE, None, str(out), "W. Li", now_ms=NOW)
    meta, codecs, frames, sound = decoded(out)
    assert codecs == {"video": "h264", "audio": "aac"}
    assert len(frames) == len(originals) == note["video"]["frames"] == 30
    # About the three seconds recorded, and not silence: the microphone's tone is heard.
    assert abs(len(sound) / 8000 - 3.0) < 0.2
    assert np.sqrt(np.mean(sound**2)) > 0.001
    # The file alone says it is a derivative and names every signed original by its hash.
    signed = signed_chunks(ev)
    wanted = {seq for seq, (media, _) in signed.items() if media in (MEDIA_MJPEG, MEDIA_PCM)}
    assert "DERIVATIVE" in meta["title"] and "not the signed footage" in meta["title"]
    assert meta["comment"].startswith("Derivative: H.264/AAC")
    for seq in wanted:
        assert "%d:%s" % (seq, signed[seq][1]) in meta["comment"]
    # So does the note, linking each original by seq and plaintext SHA-256.
    d = note["derivative"]
    assert d["codec"] == "H.264" and d["audio_codec"] == "AAC" and "re-encodes" in d["why"]
    assert {o["seq"]: o["sha256"] for o in d["of"]} == {s: signed[s][1] for s in wanted}
    assert "derivative" in note["note"] and "H.264 derivative" in note["format"]
    assert [c["seq"] for c in note["chunks"]] == [
        s for s in sorted(wanted) if signed[s][0] == MEDIA_MJPEG
    ]
    assert [c["seq"] for c in note["sound_chunks"]] == [
        s for s in sorted(wanted) if signed[s][0] == MEDIA_PCM
    ]
    assert "not_included" not in note
    assert note["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_the_avi_export_stays_the_originals_motion_jpeg_without_sound(synced, tmp_path):
    ev, _ = synced
    out = tmp_path / "case.avi"
    note = export_recording(str(ev), DEVICE, None, str(out), "W. Li", now_ms=NOW)
    _, codecs, frames, _ = decoded(out)
    assert codecs == {"video": "mjpeg"} and len(frames) == 30
    assert note["format"] == "AVI, Motion JPEG"
    assert "derivative" not in note and "sound_chunks" not in note
    assert note["not_included"].startswith("sound:")


def test_a_changed_chunk_is_marked_in_the_derivative_and_changed_sound_left_out(
    synced, tmp_path
):  # R-HOST-5
    ev, _ = synced
    video_seq = first_video_chunk(ev)
    signed = signed_chunks(ev)
    sound_seqs = sorted(s for s, (media, _) in signed.items() if media == MEDIA_PCM)
    # The microphone's steady tone makes every sound chunk the same bytes, stored once:
    # changing that media file changes every sound chunk of the recording.
    assert len({signed[s][1] for s in sound_seqs}) == 1
    tamper(media_file(ev, sound_seqs[0]))
    out = tmp_path / "case.mp4"
    with pytest.raises(NotAuthentic, match="sound chunk seq %d does not match" % sound_seqs[0]):
        export_recording(str(ev), DEVICE, None, str(out), "W. Li")
    assert not out.exists() and not (tmp_path / "case.mp4.json").exists()
    tamper(media_file(ev, video_seq))
    note = export_recording(str(ev), DEVICE, None, str(out), "W. Li", mark_changed=True)
    assert sorted(note["changed_chunks"]) == sorted([video_seq, *sound_seqs])
    assert not any(c["matches_signed_hash"] for c in note["sound_chunks"])
    _, codecs, frames, sound = decoded(out)
    assert codecs == {"video": "h264", "audio": "aac"}
    assert frames[0][2:10, :, 2].mean() > 150  # the red warning bar on a changed frame
    assert frames[-1][2:10, :, 2].mean() < 150  # not on the good ones
    # The changed sound is left out: the track is silence as long as the video.
    assert abs(len(sound) / 8000 - 3.0) < 0.2 and np.abs(sound).max() < 0.001


def test_a_recording_without_sound_exports_a_derivative_without_an_audio_track(tmp_path):
    clock = SimClock(T0)
    camera = SceneCamera(clock, *SIZE, seed=7)
    config = {"video_media": MEDIA_MJPEG, "audio_media": MEDIA_PCM}
    agent = boot(str(tmp_path / "dev"), make_signer(SEED_A), DEVICE, "P-0427", clock, camera,
                 None, SimBattery(), config=config)  # fmt: skip
    agent.input("press_record")
    for _ in range(2 * FPS):  # no microphone block at all
        agent.input("frame", camera.read(agent.recorder.overlay(clock.wall_ms()))[0], True)
        clock.advance(1000 // FPS)
    agent.input("press_stop")
    ev = evidence(tmp_path / "ev")
    assert run_pair(agent, ev)[0]["result"] == "done"
    ev.close()
    agent.store.close()
    out = tmp_path / "quiet.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li", now_ms=NOW)
    meta, codecs, frames, _ = decoded(out)
    assert codecs == {"video": "h264"} and len(frames) == 2 * FPS
    assert meta["comment"].startswith("Derivative: H.264 re-encoded")
    assert note["derivative"]["audio_codec"] is None and note["sound_chunks"] == []
    assert note["not_included"].startswith("sound:")


def test_sealed_sound_is_opened_with_the_agency_key_for_the_derivative(tmp_path):  # R-DEV-3
    agencykeys.write_agency(tmp_path / "agency", agencykeys.make_agency("某市公安局"))
    public = (tmp_path / "agency" / agencykeys.SEAL_PUB).read_bytes()
    agent, _ = record(tmp_path / "dev", sealer=lambda media: sealed_fields(media, public))
    ev = evidence(tmp_path / "ev")
    assert run_pair(agent, ev)[0]["result"] == "done"
    ev.close()
    agent.store.close()
    out = tmp_path / "sealed.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li",
                            agency_key=str(tmp_path / "agency" / agencykeys.SEAL_KEY))  # fmt: skip
    _, codecs, frames, sound = decoded(out)
    assert codecs == {"video": "h264", "audio": "aac"} and len(frames) == 30
    assert np.sqrt(np.mean(sound**2)) > 0.001  # the opened tone, not silence
    assert len(note["sound_chunks"]) == 3 and note["changed_chunks"] == []
    assert note["decrypted_for_export"]["chunks"] == 6  # three video, three sound
