"""Sealed footage exported with the agency's key: a recording the device's Recorder packaged
as fMP4 and sealed chunk by chunk to the agency's X25519 key (R-DEV-3), synced, exported with
``--agency-key`` as a playable MP4 that says it was decrypted for export and by whom, and
verified from the file alone (``host.sealedmedia``; issue 12, sealed footage)."""
# micropython: skip (host code, PyAV, c2pa-python)
# R-DEV-3: footage is sealed to the agency; only the agency's private key opens it.
# R-HOST-4: the export's note names who extracted (and here decrypted) it, and when.

import base64
import json

import av
import c2pa
import pytest

from firmware.agent import boot
from firmware.packager import Fmp4Packager, aac_track, video_track
from host import agencykeys, contentcred, mp4evidence
from host.export import ExportError, export_recording
from host.mp4verify import AUTHENTIC, verify_mp4
from protocol import mp4
from protocol.ledger import parse_entry
from protocol.registry import F_CIPHER_SHA, F_PLAIN_SHA, KIND_CHUNK, MEDIA_MJPEG
from protocol.sealing import sealed_fields
from protocol.signer import make_signer
from simulator.hardware import SceneCamera, SimBattery, SimClock
from tests.host import fmp4
from tests.host.helpers import evidence, run, run_pair
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key


def sealed_recording(path, agency_public: bytes):
    """A device recording real H.264 and AAC through its Recorder and Fmp4Packager, every
    chunk sealed to ``agency_public``: three seconds, then the stop."""
    samples, avcc = fmp4.encode_video(3 * fmp4.FPS)
    sound, asc = fmp4.encode_audio(fmp4.tone(4, level=0.05, hz=300))
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
        sealer=lambda media: sealed_fields(media, agency_public),
        config={"chunk_ms": 1000, "max_chunk_ms": 2000},
        packager=packager,
    )  # fmt: skip
    audio_ms = fmp4.AAC_FRAME * 1000 / fmp4.RATE
    heard = 0.0
    agent.input("press_record")
    for sample, key in samples:
        agent.input("frame", sample, key)
        clock.advance(fmp4.FRAME_MS)
        heard += fmp4.FRAME_MS
        while sound and heard >= audio_ms:
            agent.input("audio", sound.pop(0))
            heard -= audio_ms
    agent.input("press_stop")
    return agent


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """The agency's keys, and a sealed recording synced into an evidence store."""
    root = tmp_path_factory.mktemp("sealed")
    agencykeys.write_agency(root / "agency", agencykeys.make_agency("某市公安局"))
    public = (root / "agency" / agencykeys.SEAL_PUB).read_bytes()
    agent = sealed_recording(root / "dev", public)
    ev = evidence(root / "ev")
    summary, _, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    ev.close()
    agent.store.close()
    return root


def _export(root, out, *extra):
    return run("export", "--evidence", str(root / "ev"), "--device", DEVICE, "--out", str(out),
               "--extractor", "W. Li", *extra)  # fmt: skip


def test_the_store_holds_only_ciphertext(synced):  # R-DEV-3
    from host.evidence import SqliteEvidenceStore

    ev = SqliteEvidenceStore(synced / "ev", readonly=True)
    try:
        chunks = [parse_entry(r) for r in ev.entries(DEVICE)]
        chunks = [e for e in chunks if e.kind == KIND_CHUNK]
        assert len(chunks) >= 3 and all(F_CIPHER_SHA in e.fields for e in chunks)
        for e in chunks:
            stored = ev.read_media(e.fields[F_CIPHER_SHA])
            assert b"moof" not in stored and b"ftyp" not in stored  # nothing readable
    finally:
        ev.close()


def test_without_the_agency_key_the_export_says_which_key_it_needs(synced, tmp_path):
    out = tmp_path / "x.mp4"
    r = _export(synced, out)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "sealed to the agency's key" in r.stderr and "--agency-key" in r.stderr
    assert "agency-seal.key" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_with_the_agency_key_it_exports_a_playable_mp4(synced, tmp_path):  # R-DEV-3
    out = tmp_path / "case.mp4"
    r = _export(synced, out, "--agency-key", str(synced / "agency" / agencykeys.SEAL_KEY))
    assert r.returncode == 0, r.stderr
    assert "decrypted for export (sealed to the agency) by W. Li" in r.stdout
    note = json.loads((tmp_path / "case.mp4.json").read_text())
    with av.open(str(out)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "subtitle", "video"]
        frames = sum(1 for _ in container.decode(video=0))
        assert frames == note["video"]["frames"] == 3 * fmp4.FPS
    # The file is the plaintext the device signed: every chunk's F_PLAIN_SHA.
    assert note["changed_chunks"] == [] and note["ledger_verification"] == "OK"
    fp = agencykeys.load_seal_key(str(synced / "agency" / agencykeys.SEAL_KEY)).fingerprint
    opened = note["decrypted_for_export"]
    assert opened["decrypted_by"] == "W. Li" and fp in opened["decrypted_with"]
    assert opened["chunks"] == len(note["chunks"])
    assert "decrypted for this export by W. Li" in note["note"]


def test_the_file_says_who_decrypted_it_and_verifies_against_the_plain_hashes(synced, tmp_path):
    out = tmp_path / "case.mp4"
    note = export_recording(str(synced / "ev"), DEVICE, None, str(out), "W. Li",
                            agency_key=str(synced / "agency" / agencykeys.SEAL_KEY))  # fmt: skip
    data = out.read_bytes()
    (payload,) = mp4.uuid_payloads(data, mp4evidence.EVIDENCE_UUID)
    facts = mp4evidence.decode(payload).export
    assert facts["decrypted_by"] == "W. Li" and "X25519" in facts["decrypted"]
    assert facts["decrypted_with"] == note["decrypted_for_export"]["decrypted_with"]
    # The verifier checks the fragments against F_PLAIN_SHA, while the entries it carries
    # also sign F_CIPHER_SHA of what the device stored.
    entries = [parse_entry(r) for r in mp4evidence.decode(payload).entries]
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    assert chunks and all(F_CIPHER_SHA in e.fields and F_PLAIN_SHA in e.fields for e in chunks)
    report = verify_mp4(str(out), device_key().public_only())
    assert report.state == AUTHENTIC, report.lines()
    assert report.matched == report.signed_fragments == len(chunks) - 1
    assert any(line.startswith("Decrypted for export by W. Li") for line in report.lines())


def test_a_signed_sealed_export_says_so_in_its_manifest(synced, tmp_path):
    out = tmp_path / "case.mp4"
    r = _export(synced, out, "--agency-key", str(synced / "agency" / agencykeys.SEAL_KEY),
                "--sign-with", str(synced / "agency"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    ctx = c2pa.Context(c2pa.Settings.from_dict({"verify": {"verify_trust": False}}))
    with open(out, "rb") as fh:
        reader = c2pa.Reader("video/mp4", fh, None, ctx)
        assert reader.get_validation_state() == "Valid"
        active = reader.get_active_manifest()
    actions = {
        a["action"]: a
        for x in active["assertions"]
        if x["label"].startswith("c2pa.actions")
        for a in x["data"]["actions"]
    }
    said = actions[contentcred.DECRYPTED_ACTION]["parameters"]["description"]
    assert "decrypted for this export by W. Li" in said
    ledger = {a["label"]: a["data"] for a in active["assertions"]}[contentcred.LEDGER_LABEL]
    assert ledger["export"]["decrypted_by"] == "W. Li"
    assert base64.b64decode(ledger["entries"][0])  # the device's entries ride along
    r = run("verify", str(out), "--agency-ca", str(synced / "agency"))
    assert r.returncode == 0 and "✓ valid and trusted" in r.stdout, r.stdout


def test_another_agencys_key_does_not_open_it(synced, tmp_path):
    agencykeys.write_agency(tmp_path / "other", agencykeys.make_agency("Other"))
    out = tmp_path / "x.mp4"
    r = _export(synced, out, "--agency-key", str(tmp_path / "other" / agencykeys.SEAL_KEY))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "does not open with" in r.stderr and "another agency key" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


@pytest.mark.parametrize("which", ["public half", "signing key", "missing"])
def test_a_seal_key_that_is_not_one_is_refused_in_one_line(synced, tmp_path, which):
    key = {
        "public half": synced / "agency" / agencykeys.SEAL_PUB,
        "signing key": synced / "agency" / agencykeys.SIGN_KEY,
        "missing": tmp_path / "nothing.key",
    }[which]
    r = _export(synced, tmp_path / "x.mp4", "--agency-key", str(key))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x.mp4").exists()


def test_sealed_motion_jpeg_opens_for_the_avi_export_too(tmp_path):  # R-DEV-3
    agencykeys.write_agency(tmp_path / "agency", agencykeys.make_agency("某市公安局"))
    public = (tmp_path / "agency" / agencykeys.SEAL_PUB).read_bytes()
    clock = SimClock(T0)
    camera = SceneCamera(clock, 160, 96, seed=3)
    agent = boot(
        str(tmp_path / "dev"), make_signer(SEED_A), DEVICE, "P-0427", clock, camera, None,
        SimBattery(), sealer=lambda media: sealed_fields(media, public),
        config={"video_media": MEDIA_MJPEG},
    )  # fmt: skip
    agent.input("press_record")
    for _ in range(20):
        agent.input("frame", camera.read(agent.recorder.overlay(clock.wall_ms()))[0], True)
        clock.advance(100)
    agent.input("press_stop")
    ev = evidence(tmp_path / "ev")
    assert run_pair(agent, ev)[0]["result"] == "done"
    ev.close()
    agent.store.close()
    out = tmp_path / "case.avi"
    with pytest.raises(ExportError, match="--agency-key"):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li",
                            agency_key=str(tmp_path / "agency" / agencykeys.SEAL_KEY))  # fmt: skip
    assert note["video"]["frames"] == 20 and note["changed_chunks"] == []
    assert note["decrypted_for_export"]["decrypted_by"] == "W. Li"
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
    r = run("export", "--evidence", str(tmp_path / "ev"), "--device", DEVICE, "--out",
            str(tmp_path / "b.avi"), "--extractor", "W. Li", "--agency-key",
            str(tmp_path / "agency" / agencykeys.SEAL_KEY))  # fmt: skip
    assert r.returncode == 0 and "decrypted for export (sealed to the agency) by W. Li" in r.stdout
    # --sign-with signs only an export of signed MP4 fragments, not re-encoded video.
    with pytest.raises(ExportError, match="signs only an export of the signed fragments"):
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "c.avi"), "W. Li",
                         agency_key=str(tmp_path / "agency" / agencykeys.SEAL_KEY),
                         sign_with=str(tmp_path / "agency"))  # fmt: skip
    assert not (tmp_path / "c.avi").exists()
