"""The ``sealcam`` command as a user runs it: exit codes, text and JSON reports, bad input."""
# micropython: skip (runs the command line in a subprocess)

import json
import sqlite3
from pathlib import Path

import av
import pytest

from host.cli import command_name, main
from host.evidence import SqliteEvidenceStore
from protocol.keys import encode_key
from protocol.signer import make_signer
from tests.host.helpers import run, write_case
from tests.protocol.helpers import SEED_B, device_key, make_entries


def test_verify_ok_exits_0(tmp_path):
    ledger, key = write_case(tmp_path, make_entries(5))
    r = run("verify", ledger, "--key", key)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout and "NOT OK" not in r.stdout


def test_verify_tampered_exits_1_and_says_where(tmp_path):  # R-DEV-2
    entries = make_entries(5)
    del entries[2]
    ledger, key = write_case(tmp_path, entries)
    r = run("verify", ledger, "--key", key)
    assert r.returncode == 1
    assert "NOT OK" in r.stdout
    assert "seq 2 to 2 are missing" in r.stdout


def test_verify_json(tmp_path):
    entries = make_entries(5)
    entries[1], entries[2] = entries[2], entries[1]
    ledger, key = write_case(tmp_path, entries)
    r = run("verify", ledger, "--key", key, "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["state"] == "NOT OK"
    assert report["findings"][0]["code"] == "out-of-order"
    assert report["findings"][0]["seq"] == 1
    assert report["stats"]["entries"] == 5


def test_verify_unknown_key_exits_1(tmp_path):
    ledger, key = write_case(tmp_path, make_entries(3), key=device_key(SEED_B))
    r = run("verify", ledger, "--key", key)
    assert r.returncode == 1
    assert "unknown key" in r.stdout


def test_unusable_input_exits_2_with_a_clear_message(tmp_path):
    ledger, key = write_case(tmp_path, make_entries(2))
    r = run("verify", str(tmp_path / "missing.ledger"), "--key", key)
    assert r.returncode == 2 and "does not exist" in r.stderr
    Path(key).write_bytes(b"not a key")
    r = run("verify", ledger, "--key", key)
    assert r.returncode == 2 and "COSE_Key" in r.stderr
    r = run("verify", ledger, "--key", str(tmp_path))
    assert r.returncode == 2 and "directory" in r.stderr


def test_keygen_writes_a_private_and_a_public_key(tmp_path):
    r = run("keygen", "--device-id", "SC-0042", "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    private = Path(info["private_key_file"])
    assert private.stat().st_mode & 0o077 == 0
    assert Path(info["public_key_file"]).exists()
    r = run("keygen", "--device-id", "SC-0042", "--out", str(tmp_path))
    assert r.returncode == 2 and "--force" in r.stderr


def test_demo_runs_the_main_job_and_catches_its_own_tampering(tmp_path):  # R-DEV-2, R-HOST-4
    r = run("demo", "--dir", str(tmp_path / "demo"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["scenario"]["passed"]
    assert out["scenario"]["docks"][-1]["result"] == "done"  # synced over a pseudo-terminal
    assert out["before"]["devices"][0]["verification"]["state"] == "OK"
    after = out["after"]["devices"][0]["verification"]
    assert after["state"] == "NOT OK"
    altered = [f for f in after["findings"] if f["code"] == "media-altered"]
    assert [f["seq"] for f in altered] == [out["changed"]["chunk_seq"]]  # exactly where
    # Issue 12: the recording is H.264 with sound, exported as its signed fragments, and the
    # file verifies on its own (the pause's subtitle is a note, not footage).
    export = out["export"]
    assert export["video"]["codec"] == "avc1" and export["audio"] and export["video"]["frames"]
    assert export["changed_chunks"] == [] and len(export["pause_notes"]) == 1
    alone = out["export_verify"]
    assert alone["state"] == "authentic with notes" and alone["findings"] == []
    video = tmp_path / "demo" / "recording.mp4"
    with av.open(str(video)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "subtitle", "video"]
        assert sum(1 for _ in container.decode(audio=0)) > 0
    with av.open(str(video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == export["video"]["frames"]
    # Issue 15: the court package and its disc image, made before the change, verify.
    court = out["court_package"]
    assert court["ok"] and court["folder_verdict"] == court["iso_verdict"] == "OK"
    assert (tmp_path / "demo" / "court-package" / "manifest.cbor").exists()


def test_the_demo_shows_both_verdicts_and_how_to_play_the_mp4(tmp_path):  # issue 12
    r = run("demo", "--dir", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    verdicts = lines[lines.index("Verdicts") + 1 : lines.index("Verdicts") + 4]
    assert [line.split()[-1] for line in verdicts[:1]] == ["OK"]
    assert "AUTHENTIC WITH NOTES" in verdicts[1] and "on its own" in verdicts[1]
    assert verdicts[2].endswith("NOT OK")
    assert "Verdict   ✓ AUTHENTIC WITH NOTES" in r.stdout  # sealcam verify FILE.mp4's report
    mp4 = str(tmp_path / "demo" / "recording.mp4")
    assert "vlc %s" % mp4 in r.stdout and "web browser" in r.stdout
    assert "sealcam verify %s" % mp4 in r.stdout


def test_help_teaches():
    r = run("--help")
    assert r.returncode == 0
    for word in ("verify", "keygen", "demo", "Exit codes"):
        assert word in r.stdout
    r = run("verify", "--help")
    assert "OK with missing information" in r.stdout


def test_record_from_a_video_file_signs_a_verifiable_store(tmp_path):
    import cv2
    import numpy as np

    video = tmp_path / "scene.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 180))
    for i in range(45):
        img = np.full((180, 320, 3), 80, np.uint8)
        img[:, i * 6 : i * 6 + 20] = 220
        w.write(img)
    w.release()
    store = tmp_path / "store"
    args = ["record", "--camera", str(video), "--store", str(store), "--officer", "P-1"]
    r = run(*args, "--json")
    assert r.returncode == 2 and "--device-id" in r.stderr  # no key yet: says how to get one
    r = run(*args, "--device-id", "SC-0009", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    from firmware.store import ledger_bytes
    from protocol.ledger import read_ledger
    from protocol.registry import (
        EV_OVERRUN,
        F_DETAIL,
        F_EVENT,
        F_MEDIA_TYPE,
        KIND_CHUNK,
        MEDIA_MP4,
        MEDIA_MP4_INIT,
    )

    def logged_lost() -> int:
        entries = [x[2] for x in read_ledger(ledger_bytes(str(store))) if x[0] == "entry"]
        overruns = [e for e in entries if e.fields.get(F_EVENT) == EV_OVERRUN]
        return sum(e.fields[F_DETAIL]["lost"] for e in overruns)

    # The file plays at its own 30 fps and the queue holds 8 frames: a machine too loaded to
    # keep up drops frames, and each drop is signed into the ledger (R-DEV-6). Every frame of
    # the file is stored or logged as lost, whatever the load.
    assert out["frames"] + out["frames_dropped"] == 45 and out["ledger_state"] == "OK"
    assert out["frames"] > 0 and logged_lost() == out["frames_dropped"]
    assert (store / "device.pub").exists() and (store / "device.key").stat().st_mode & 0o077 == 0
    r = run(*args, "--json")  # the second run continues the same device's ledger
    assert r.returncode == 0 and json.loads(r.stdout)["ledger_state"] == "OK"

    entries = [x[2] for x in read_ledger(ledger_bytes(str(store))) if x[0] == "entry"]
    chunks = [e for e in entries if e.kind == KIND_CHUNK]
    # H.264 by default (issue 12): each recording's init segment, then its fragments.
    assert chunks and {e.fields[F_MEDIA_TYPE] for e in chunks} == {MEDIA_MP4_INIT, MEDIA_MP4}


def evidence_with_a_shift(root, left_out=(), held=None):
    """A store holding a short shift's ledger and media, checkpointed; the media of the
    chunks at the positions ``left_out`` is never given to it (it goes into ``held``)."""
    import hashlib
    import sqlite3

    from host.evidence import SqliteEvidenceStore
    from protocol.signer import make_signer
    from simulator.shift import run_shift
    from tests.protocol.helpers import DEVICE, SEED_A, T0

    key = device_key()
    store = SqliteEvidenceStore(root)
    store.enrol(DEVICE, key.public)
    shift = run_shift(make_signer(SEED_A), DEVICE, T0, "P-0427", seconds=4, fps=5)
    raws = shift.entries
    store.add_entries(DEVICE, raws, T0 + 3_600_000)
    from host.evidence import chunk_media
    from protocol.ledger import parse_entry

    chunks = [e for e in map(parse_entry, raws) if chunk_media(e)]
    skip = {chunk_media(chunks[i])[0] for i in left_out}
    for media in shift.media:
        digest = hashlib.sha256(media).digest()
        if digest in skip:
            held[digest] = media
        else:
            store.put_media(digest, media)
    checkpoint(store)
    store.close()
    return sqlite3, raws


def checkpoint(store):
    """What the sync daemon does after each session: sign a checkpoint of the host's log."""
    from protocol.signer import make_signer

    store.checkpoint(make_signer(bytes(range(32))), "agency-1")


def test_verify_an_evidence_store_reports_each_recording(tmp_path):
    evidence_with_a_shift(tmp_path)
    r = run("verify", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout and "Compliance  no flags" in r.stdout
    assert "pause (place-change)" in r.stdout and "spoken reason" in r.stdout
    r = run("verify", str(tmp_path), "--json")
    out = json.loads(r.stdout)
    report = out["devices"][0]
    assert report["verification"]["state"] == "OK" and report["recordings"][0]["chunks"] > 0


def test_an_entry_edited_inside_the_evidence_store_is_caught(tmp_path):  # R-HOST-5
    sqlite3, raws = evidence_with_a_shift(tmp_path)
    db = sqlite3.connect(str(tmp_path / "evidence.db"))
    raw = bytearray(raws[6])
    raw[len(raw) // 2] ^= 1
    db.execute("UPDATE entries SET raw = ? WHERE seq = 6", (bytes(raw),))
    db.commit()
    db.close()
    r = run("verify", str(tmp_path), "--json")
    assert r.returncode == 1
    findings = json.loads(r.stdout)["devices"][0]["verification"]["findings"]
    assert [(f["code"], f["seq"]) for f in findings] == [("bad-signature", 6)]


def test_verify_a_device_store_read_only(tmp_path):
    from firmware.store import Store

    store = Store(str(tmp_path / "dev"))
    for raw in make_entries(5):
        store.append(raw)
    store.close()
    keyfile = tmp_path / "dev.pub"
    keyfile.write_bytes(encode_key(device_key().public_only()))
    before = sorted(p.stat().st_mtime_ns for p in (tmp_path / "dev").rglob("*"))
    r = run("verify", str(tmp_path / "dev"), "--key", str(keyfile))
    assert r.returncode == 0 and "OK" in r.stdout
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "dev").rglob("*")) == before
    r = run("verify", str(tmp_path / "dev"))
    assert r.returncode == 2 and "--key" in r.stderr


def test_footage_changed_in_the_evidence_store_is_caught(tmp_path):  # R-HOST-5
    evidence_with_a_shift(tmp_path)
    victim = sorted((tmp_path / "media").glob("??/*"))[0]
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 1
    victim.write_bytes(bytes(data))
    r = run("verify", str(tmp_path), "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)["devices"][0]["verification"]
    assert out["state"] == "NOT OK"
    assert [f["code"] for f in out["findings"]] == ["media-altered"]


def test_verify_reports_media_the_device_could_not_give_against_its_chunk(tmp_path):
    # R-DEV-2: media changed on the device (it declared the file damaged) is NOT OK, at its
    # chunk's seq; R-DEV-4: media the device no longer held, with no power loss to explain
    # it, is a compliance flag, and the state stays "OK with missing information".
    from host.evidence import SqliteEvidenceStore, chunk_media
    from protocol.ledger import parse_entry
    from protocol.messages import GONE_DAMAGED, GONE_NOT_FOUND
    from tests.protocol.helpers import DEVICE, T0

    media = {}
    _sqlite3, raws = evidence_with_a_shift(tmp_path, (1, 2), media)  # the host never got these
    chunks = [e for e in map(parse_entry, raws) if chunk_media(e)]
    damaged, lost = chunks[1], chunks[2]
    held = {e.seq: (chunk_media(e)[0], media[chunk_media(e)[0]]) for e in (damaged, lost)}
    store = SqliteEvidenceStore(tmp_path)
    store.record_gone(DEVICE, held[damaged.seq][0], GONE_DAMAGED, "the file is damaged", T0)
    store.record_gone(DEVICE, held[lost.seq][0], GONE_NOT_FOUND, "not in the store", T0)
    checkpoint(store)
    store.close()
    r = run("verify", str(tmp_path), "--json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)["devices"][0]
    assert out["verification"]["state"] == "NOT OK"
    findings = [(f["code"], f["seq"], f["severity"]) for f in out["verification"]["findings"]]
    assert sorted(findings) == [
        ("media-damaged-on-device", damaged.seq, "error"),
        ("media-missing", damaged.seq, "missing"),
        ("media-missing", lost.seq, "missing"),
    ]
    flags = [(f["code"], f["rule"], f["seq"]) for f in out["compliance"]]
    assert flags == [("media-lost-on-device", "R-DEV-4", lost.seq)]
    r = run("verify", str(tmp_path))
    assert "media-damaged-on-device" in r.stdout and "the file is damaged" in r.stdout
    assert "media-lost-on-device" in r.stdout and "R-DEV-4" in r.stdout
    # A later dock brought the damaged chunk's file intact after all: no finding is left of
    # it, though the device's report stays on record.
    store = SqliteEvidenceStore(tmp_path)
    store.put_media(*held[damaged.seq])
    assert len(store.gone_media(DEVICE)) == 2
    checkpoint(store)
    store.close()
    r = run("verify", str(tmp_path), "--json")
    assert r.returncode == 0, r.stdout
    out = json.loads(r.stdout)["devices"][0]
    assert out["verification"]["state"] == "OK with missing information"
    assert [f["code"] for f in out["verification"]["findings"]] == ["media-missing"]
    assert [f["code"] for f in out["compliance"]] == ["media-lost-on-device"]


def test_a_file_changed_on_the_device_is_reported_after_a_dock_with_its_chunk_seq(tmp_path):
    # R-DEV-2: the whole way: the card is edited, the dock completes with a receipt, and
    # `sealcam verify` names the chunk whose footage was changed on the device.
    from host.evidence import chunk_media
    from protocol.ledger import parse_entry
    from tests.firmware.helpers import recorded_device
    from tests.host.helpers import evidence, media_file, run_pair
    from tests.protocol.helpers import DEVICE

    agent = recorded_device(tmp_path / "dev", frames=90, pad=200)
    chunks = [e for e in map(parse_entry, agent.store.entries()) if chunk_media(e)]
    victim = chunks[1]
    path = media_file(agent, chunk_media(victim)[0])
    data = bytearray(open(path, "rb").read())
    data[10] ^= 0x01
    with open(path, "wb") as f:
        f.write(bytes(data))
    ev = evidence(tmp_path / "ev")
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done" and device.receipts, summary
    ev.close()
    agent.store.close()
    r = run("verify", str(tmp_path / "ev"), "--device", DEVICE, "--json")
    assert r.returncode == 1
    findings = json.loads(r.stdout)["devices"][0]["verification"]["findings"]
    assert sorted((f["code"], f["seq"]) for f in findings) == [
        ("media-damaged-on-device", victim.seq),
        ("media-missing", victim.seq),
    ]


def test_verify_refuses_devices_and_fifos_as_ledger_or_key(tmp_path):
    # issue 10 §5: /dev/zero or a FIFO is exit 2 with one line, never a hang or a
    # read without end.
    import os

    ledger, key = write_case(tmp_path, make_entries(3))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (
        ("/dev/zero", "--key", key),
        (str(fifo), "--key", key),
        (ledger, "--key", "/dev/zero"),
        (ledger, "--key", str(fifo)),
    ):
        r = run("verify", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "not a regular file" in r.stderr
        assert "Traceback" not in r.stderr


def test_verify_refuses_a_huge_key_file(tmp_path):
    # issue 10 §5: a key file is read with a limit, not whole.
    ledger, _key = write_case(tmp_path, make_entries(3))
    big = tmp_path / "big.pub"
    big.write_bytes(bytes(1 << 20))
    r = run("verify", ledger, "--key", str(big))
    assert r.returncode == 2 and "larger than" in r.stderr and "Traceback" not in r.stderr


def test_verify_streams_a_device_store_with_the_same_findings(tmp_path):
    # issue 10 §5: a device store is read record by record; the report is the one the
    # joined ledger gives, offsets included.
    from firmware.store import Store, ledger_bytes, ledger_records
    from protocol.verify import verify_ledger

    key = device_key()
    entries = make_entries(40)
    store = Store(str(tmp_path / "rec"), segment_bytes=4096)  # the ledger spans segments
    for raw in entries:
        store.append(raw)
    store.close()
    rec = str(tmp_path / "rec")
    segments = sorted((tmp_path / "rec" / "ledger").glob("*.seg"))
    assert len(segments) > 2
    damaged = bytearray(segments[1].read_bytes())
    damaged[len(damaged) // 2] ^= 1  # a record there fails its CRC: the rest of it is cut
    segments[1].write_bytes(bytes(damaged))
    assert b"".join(ledger_records(rec, read_size=7)) == ledger_bytes(rec)
    keyfile = tmp_path / "device.pub"
    keyfile.write_bytes(encode_key(key.public_only()))
    r = run("verify", rec, "--key", str(keyfile), "--json")
    assert r.returncode == 1
    expect = verify_ledger(ledger_bytes(rec), key.device_id, key.public).to_dict()
    assert json.loads(r.stdout) == dict(expect, ledger=rec)


def test_a_broken_evidence_db_is_one_line_and_exit_2_for_every_command(tmp_path):
    # Issue 10 item 5: enrol and sync on a damaged evidence.db, or a directory in its place,
    # ended in an sqlite3 traceback with exit 1.
    key = tmp_path / "SC-0001.pub"
    key.write_bytes(encode_key(device_key().public_only()))
    host = tmp_path / "host.key"
    host.write_bytes(encode_key(device_key()))
    for name, make in (("garbage", "bytes"), ("folder", "dir")):
        ev = tmp_path / name
        ev.mkdir()
        db = ev / "evidence.db"
        db.mkdir() if make == "dir" else db.write_bytes(b"not a database at all" * 50)
        for args in (
            ("enrol", "--evidence", str(ev), str(key)),
            ("sync", "--evidence", str(ev), "--host-key", str(host), "--tcp", "127.0.0.1:0"),
        ):
            r = run(*args)
            assert r.returncode == 2, (args, r.stderr)
            assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
            assert str(db) in r.stderr and r.stdout == ""


def test_a_witness_is_never_silently_ignored(tmp_path):
    # Issue 10 item 2: `verify rec/ --key K --witness cp.txt` said OK (exit 0) and checked
    # no witness at all; an auditor would believe the checkpoint held elsewhere was checked.
    ledger, key = write_case(tmp_path, make_entries(3))
    witness = tmp_path / "cp.txt"
    witness.write_text("sealcam evidence 00\n1\nAAAA\n")
    for extra in (("--witness", str(witness)), ("--host-key", key)):
        r = run("verify", ledger, "--key", key, *extra)
        assert r.returncode == 2 and r.stdout == "", r.stdout
        assert "evidence store" in r.stderr and r.stderr.count("\n") == 1


def test_checkpoint_export_to_a_folder_that_cannot_hold_it_is_one_line(tmp_path):
    # Issue 10 item 5: --out in a missing folder, or naming a folder, was a traceback.
    ev = tmp_path / "ev"
    ev.mkdir()
    store = SqliteEvidenceStore(ev)
    store.enrol(device_key().device_id, device_key().public)
    store.checkpoint(make_signer(bytes(32)), "agency-host-1")
    store.close()
    for out in (tmp_path / "no" / "cp.txt", tmp_path):
        r = run("checkpoint", "export", "--evidence", str(ev), "--out", str(out))
        assert r.returncode == 2 and "cannot write" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = run("checkpoint", "export", "--evidence", str(ev), "--out", str(tmp_path / "cp.txt"))
    assert r.returncode == 0 and (tmp_path / "cp.txt").read_text().startswith("sealcam evidence")


def test_a_device_refused_at_every_dock_is_one_finding_that_blames_nothing_it_did_not_do(
    tmp_path, capsys
):
    # Issue 10 item 3: a validly signed entry with a field out of bounds is refused at every
    # dock; verify listed one identical finding per dock, each saying "what it holds is not
    # what it signed", which is false for such an entry.
    ev = tmp_path / "ev"
    store = SqliteEvidenceStore(ev)
    key = device_key()
    store.enrol(key.device_id, key.public)
    store.add_entries(key.device_id, make_entries(3), 1000)
    reason = "refused: entry seq 3: wall_ms must be an integer in 0..9223372036854775807"
    for ended in (2000, 3000):
        summary = {"device": key.device_id, "result": reason, "entries_stored": 0,
                   "media_stored": 0, "bytes_in": 10, "device_head": 4}  # fmt: skip
        store.record_session(summary, ended)
    store.close()
    assert main(["verify", str(ev), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)["devices"][0]["verification"]["findings"]
    refused = [f["message"] for f in found if f["code"] == "refused-at-dock"]
    assert len(refused) == 1 and "2 docks" in refused[0] and "wall_ms must be" in refused[0]
    assert "not what it signed" not in refused[0]


def test_the_demo_suggests_commands_that_run_as_printed(tmp_path, monkeypatch):
    # Issue 10 (a newcomer's first run): tools/demo runs .venv/bin/sealcam without activating
    # the environment, then suggested "sealcam verify ...", which the shell does not find.
    exe = tmp_path / "venv" / "bin" / "sealcam"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nowhere")
    assert command_name(str(exe)) == "venv/bin/sealcam"
    monkeypatch.setenv("PATH", str(exe.parent))
    assert command_name(str(exe)) == "sealcam"
    assert command_name("/usr/lib/python3/pytest") == "sealcam"


def test_an_evidence_store_report_ends_with_one_verdict(tmp_path, capsys):
    # Issue 10 (a newcomer reading the demo): after one chunk's footage was changed, the
    # report opened with the store's "State ✓ OK" and the device's NOT OK came later; a last
    # line now says what the whole answer is, as the exit code does.
    ev = tmp_path / "ev"
    store = SqliteEvidenceStore(ev)
    key = device_key()
    store.enrol(key.device_id, key.public)
    store.add_entries(key.device_id, make_entries(3), 1000)
    store.checkpoint(make_signer(bytes(32)), "agency-host-1")
    store.close()
    assert main(["verify", str(ev)]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("Verdict  ✓ OK")
    db = sqlite3.connect(str(ev / "evidence.db"))
    raw = bytearray(db.execute("SELECT raw FROM entries WHERE seq = 1").fetchone()[0])
    raw[-3] ^= 1
    db.execute("UPDATE entries SET raw = ? WHERE seq = 1", (bytes(raw),))
    db.commit()
    db.close()
    assert main(["verify", str(ev)]) == 1
    out = capsys.readouterr().out
    assert "State    ✓ OK" in out  # the store's log still holds every row
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Verdict  ✗ NOT OK") and key.device_id in last


def test_keygen_refuses_an_id_no_device_can_carry_or_that_leaves_its_folder(tmp_path):
    # Issue 10 item 5: a 300-character id was a traceback ("File name too long"), an empty
    # one wrote the hidden files ".key" and ".pub", and "../x" wrote beside --out.
    out = tmp_path / "keys"
    for bad, words in (
        ("X" * 300, "ids of 1..64 characters"),
        ("", "ids of 1..64 characters"),
        ("../SC-0001", "cannot hold '/'"),
        (".hidden", "start with '.'"),
    ):
        r = run("keygen", "--device-id", bad, "--out", str(out))
        assert r.returncode == 2 and words in r.stderr, (bad, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not any(tmp_path.rglob("*.key")) and not any(tmp_path.rglob("*.pub"))


def test_a_limit_that_is_infinite_negative_or_nan_is_refused_before_anything_runs(tmp_path, capsys):
    # Issue 10 item 5: `dock --idle inf` was an OverflowError traceback, `sync --tcp
    # 127.0.0.1:99999` another; `verify --late-hours nan` or `--drift-limit -1` silently
    # turned a compliance check off or flagged everything.
    ev = str(tmp_path)
    for argv in (
        ["dock", "--store", ev, "--trust", "k.pub", "--connect", "127.0.0.1:1", "--idle", "inf"],
        ["sync", "--evidence", ev, "--host-key", "h.key", "--tcp", "127.0.0.1:1", "--idle", "-1"],
        ["verify", ev, "--late-hours", "nan"],
        ["verify", ev, "--drift-limit", "-1"],
        ["record", "--camera", "0", "--store", ev, "--seconds", "-5"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2, argv
        assert "give a number" in capsys.readouterr().err
    host = tmp_path / "h.key"
    host.write_bytes(encode_key(device_key()))
    r = run("sync", "--evidence", ev, "--host-key", str(host), "--tcp", "127.0.0.1:99999")
    assert r.returncode == 2 and "port up to 65535" in r.stderr and "Traceback" not in r.stderr


def test_sync_once_on_a_serial_port_that_cannot_be_opened_is_exit_2_in_one_line(tmp_path):
    # Issue 10 §5: `sync --serial /dev/nonexistent --once` served nothing and exited 0.
    host = tmp_path / "host.key"
    host.write_bytes(encode_key(device_key()))
    missing = str(tmp_path / "no-such-port")
    r = run("sync", "--evidence", str(tmp_path / "ev"), "--host-key", str(host),
            "--serial", missing, "--once", "--json")  # fmt: skip
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "cannot open serial port %s" % missing in r.stderr
    assert "Traceback" not in r.stderr
