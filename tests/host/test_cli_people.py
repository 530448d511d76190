"""Issue 17, the evidence staff's commands: each behaves as the person running it expects.
The commands run in this process (``host.cli.main``), their output read from the terminal."""
# micropython: skip (the command line is CPython's)

import json
from pathlib import Path

import pytest

from firmware.store import ledger_bytes
from host.cli import main
from host.evidence import SqliteEvidenceStore
from protocol.keys import decode_key, encode_key
from protocol.verify import verify_ledger
from tests.firmware.helpers import recorded_device
from tests.host.helpers import write_case
from tests.protocol.helpers import DEVICE, SEED_B, device_key, make_entries


def test_version_is_one_line(capsys):
    # Issue 17: `sealcam --version`.
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("sealcam ") and out.count("\n") == 1


def test_keygen_host_key_says_where_each_half_goes(tmp_path, capsys):
    # Issue 17: keygen says the right thing for a host key (not "keep on the device").
    assert main(["keygen", "--host-id", "agency-host-1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("host agency-host-1")
    assert "device" not in out.split("\n")[1]  # the private half stays on this host
    assert "sealcam sync --host-key %s" % (tmp_path / "agency-host-1.key") in out
    assert "sealcam dock --trust %s" % (tmp_path / "agency-host-1.pub") in out
    key = decode_key((tmp_path / "agency-host-1.key").read_bytes())
    assert key.device_id == "agency-host-1" and key.seed


def test_keygen_device_key_names_the_enrol_command(tmp_path, capsys):
    assert main(["keygen", "--device-id", "SC-0001", "--out", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "device" and info["device_id"] == "SC-0001"
    assert main(["keygen", "--device-id", "SC-0002", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "keep on the device" in out and "sealcam enrol" in out


def test_keygen_refuses_two_kinds_at_once(tmp_path, capsys):
    code = main(["keygen", "--device-id", "A", "--host-id", "B", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "different keys" in err
    assert not list(tmp_path.iterdir())


def test_enrol_refuses_a_private_key_and_names_the_public_one(tmp_path, capsys):
    # Issue 17: enrol refuses a private key file (enrol the .pub).
    assert main(["keygen", "--device-id", "SC-0001", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    ev = tmp_path / "ev"
    code = main(["enrol", "--evidence", str(ev), str(tmp_path / "SC-0001.key")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "private key" in err and "SC-0001.pub" in err
    if (ev / "evidence.db").exists():
        store = SqliteEvidenceStore(ev, readonly=True)
        try:
            assert not store.devices()
        finally:
            store.close()
    assert main(["enrol", "--evidence", str(ev), str(tmp_path / "SC-0001.pub")]) == 0
    assert "enrolled SC-0001" in capsys.readouterr().out
    assert Path(ev / "evidence.db").exists()


def device_store(tmp_path):
    """A recorded device store ``dev`` and the device's public key file ``device.pub``."""
    agent = recorded_device(tmp_path / "dev", 6)
    agent.store.close()
    key = tmp_path / "device.pub"
    key.write_bytes(encode_key(device_key().public_only()))
    return tmp_path / "dev", key


def test_verify_on_a_segment_file_says_what_it_is(tmp_path, capsys):
    # Issue 17: verify on a store's segment file named the file, not a false NOT OK.
    store, key = device_store(tmp_path)
    segment = sorted((store / "ledger").glob("*.seg"))[0]
    code = main(["verify", str(segment), "--key", str(key)])
    out, err = capsys.readouterr()
    assert code == 2 and not out and err.count("\n") == 1
    assert "segment of a device store" in err
    assert "sealcam verify %s --key" % store in err
    # A plain ledger file is still a ledger, even one whose first bytes look like a length.
    ledger, key2 = write_case(tmp_path, make_entries(3))
    assert main(["verify", ledger, "--key", key2]) == 0


def test_ledger_export_writes_the_file_verify_reads(tmp_path, capsys):
    # Issue 17: `sealcam ledger export STORE --out FILE`, the README's shift.ledger.
    store, key = device_store(tmp_path)
    out = tmp_path / "shift.ledger"
    assert main(["ledger", "export", str(store), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err
    assert out.read_bytes() == ledger_bytes(str(store))
    assert main(["verify", str(out), "--key", str(key)]) == 0
    assert "✓ OK" in capsys.readouterr().out
    # Not a store: one line, and no file written.
    code = main(["ledger", "export", str(tmp_path), "--out", str(tmp_path / "x.ledger")])
    assert code == 2 and "not a device store" in capsys.readouterr().err
    assert not (tmp_path / "x.ledger").exists()


def test_a_wrong_key_is_one_summary_line(tmp_path, capsys):
    # Issue 17: a wrong --key (another device's) was one finding per entry.
    entries = make_entries(40)
    ledger, _ = write_case(tmp_path, entries)
    other = tmp_path / "other.pub"
    other.write_bytes(encode_key(device_key(SEED_B, "SC-OTHER").public_only()))
    assert main(["verify", ledger, "--key", str(other)]) == 1
    out = capsys.readouterr().out
    findings = out.split("Findings\n", 1)[1].strip().splitlines()
    assert len(findings) == 1 and "wrong-device" in findings[0]
    assert "all 40 entries (seqs 0 to 39) belong to device %s" % DEVICE in findings[0]
    assert "unknown key" in out
    report = verify_ledger(b"".join(entries), "SC-OTHER", device_key(SEED_B).public)
    assert [f.more for f in report.findings] == [40]


def two_devices(ev, tamper: bool) -> None:
    """An evidence store with two enrolled devices, each with a short ledger; with
    ``tamper``, one byte of SC-OTHER's first entry is changed in the database."""
    import sqlite3

    from protocol.signer import make_signer

    store = SqliteEvidenceStore(ev)
    a, b = device_key(), device_key(SEED_B, "SC-OTHER")
    store.enrol(a.device_id, a.public)
    store.enrol(b.device_id, b.public)
    store.add_entries(a.device_id, make_entries(3), 1000)
    store.add_entries(b.device_id, make_entries(3, seed=SEED_B, device="SC-OTHER"), 10**13)
    store.checkpoint(make_signer(bytes(32)), "agency-host-1")
    store.close()
    if tamper:
        db = sqlite3.connect(str(ev / "evidence.db"))
        raw = bytearray(
            db.execute(
                "SELECT raw FROM entries WHERE device_id = 'SC-OTHER' AND seq = 1"
            ).fetchone()[0]
        )
        raw[-3] ^= 1
        db.execute(
            "UPDATE entries SET raw = ? WHERE device_id = 'SC-OTHER' AND seq = 1", (bytes(raw),)
        )
        db.commit()
        db.close()


def test_verify_evidence_starts_with_a_summary_across_devices(tmp_path, capsys):
    # Issue 17: `verify evidence/` starts with which devices are NOT OK and which have flags.
    ev = tmp_path / "ev"
    two_devices(ev, tamper=True)
    assert main(["verify", str(ev)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "Summary  2 device(s): 1 NOT OK, 2 with compliance flags, 0 OK without flags"
    )
    assert lines[1] == "  NOT OK          SC-OTHER"
    assert lines[2].startswith("  with flags      SC-OTHER (") and "SC-TEST-0001 (1)" in lines[2]
    assert lines[3] == "" and lines[4].startswith("Store ")
    assert lines.index("Device   SC-OTHER") > 4  # the per-device sections come after it


def test_reports_name_recordings_by_number_and_never_say_none(tmp_path, capsys):
    # Issue 17: no `None` in reports; recordings are named by the number export takes.
    from host.recordings import recording_label

    assert recording_label((42).to_bytes(8, "big")) == "recording 42"
    assert recording_label(None) == "a recording without an id"
    ev = tmp_path / "ev"
    two_devices(ev, tamper=False)
    assert main(["verify", str(ev)]) == 0
    flags = [line for line in capsys.readouterr().out.splitlines() if "R-DEV-8" in line]
    assert flags and all("None" not in line for line in flags)
    assert "a recording without an id (started at seq 1)" in flags[0]


def test_tools_demo_runs_where_it_is_called_so_its_suggestions_work_as_printed(tmp_path):
    # Issue 17: after tools/demo, its "try it yourself" lines work as printed. The script
    # runs setup in its checkout, then the demo in the caller's folder by the checkout's
    # own sealcam (here a stand-in that says how it was called).
    import shutil
    import subprocess

    repo = tmp_path / "checkout"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "tools" / "demo", repo / "tools" / "demo")
    setup = repo / "tools" / "setup"
    setup.write_text("#!/bin/sh\npwd > setup-ran-in\n")
    bindir = repo / ".venv" / "bin"
    bindir.mkdir(parents=True)
    fake = bindir / "sealcam"
    fake.write_text('#!/bin/sh\necho "$0"; pwd; echo "$@"\n')
    for f in (setup, fake, repo / "tools" / "demo"):
        f.chmod(0o755)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run(
        [str(repo / "tools" / "demo")], cwd=elsewhere, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    argv0, cwd, args = r.stdout.splitlines()
    assert Path(argv0) == fake and Path(argv0).is_absolute()
    assert Path(cwd) == elsewhere.resolve()
    assert args == "demo --dir %s" % (repo.resolve() / "sealcam-demo")
    assert (repo / "setup-ran-in").read_text().strip() == str(repo.resolve())
    r = subprocess.run(
        [str(repo / "tools" / "demo"), "--dir", "mine"], cwd=elsewhere, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert r.stdout.splitlines()[2] == "demo --dir mine"


def test_the_demo_names_paths_as_they_are_typed_from_here(tmp_path, monkeypatch):
    from host.cli.demo import shown

    monkeypatch.chdir(tmp_path)
    assert shown(tmp_path / "demo" / "recording.mp4") == "demo/recording.mp4"
    assert shown(tmp_path.parent / "x.mp4") == str(tmp_path.parent / "x.mp4")
