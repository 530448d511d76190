"""Issue 17, the evidence staff's commands: each behaves as the person running it expects.
The commands run in this process (``host.cli.main``), their output read from the terminal."""
# micropython: skip (the command line is CPython's)

import json
from pathlib import Path

import pytest

from host.cli import main
from host.evidence import SqliteEvidenceStore
from protocol.keys import decode_key


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

