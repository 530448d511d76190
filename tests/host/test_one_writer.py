"""One writer per device store, as processes meet it: two ``sealcam record`` on one store,
``sealcam dock`` beside a running ``sealcam record``, one store docking to two hosts at
once. The second writer is always refused in one line (exit 2), and the store's ledger
never forks (issue 10, item 1). And the host side: a session that ends with the device's
announced head beyond what the host stored is recorded and flagged, never plain OK."""
# micropython: skip (subprocesses, sockets, SQLite)

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

from firmware.agent import boot
from firmware.store import ledger_bytes
from firmware.storelock import LOCK_NAME, parse_holder
from host.cli import main
from host.compliance import not_collected
from host.evidence import SqliteEvidenceStore
from protocol.keys import decode_key
from protocol.ledger import read_ledger
from protocol.registry import EV_HOST_RECEIPT, F_EVENT
from protocol.signer import make_signer
from protocol.verify import OK, verify_ledger
from simulator.links import Cable
from tests.firmware.helpers import Log, SceneCamera, StepClock, recorded_device
from tests.host.helpers import (
    HOST_KID,
    HOST_SEED,
    SEALCAM,
    Injury,
    dock_argv,
    enrol_file,
    evidence,
    holds_open,
    host_keys,
    run_pair,
    setup,
    start_daemon,
    sync_argv,
)
from tests.protocol.helpers import DEVICE, SEED_A, device_key

WAIT_S = 120  # a generous bound on every wait for a condition, never a deadline to race


def wait_for(condition, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after WAIT_S."""
    limit = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < limit, "gave up waiting for %s" % what
        time.sleep(0.05)


def holder_pid(store: Path) -> int:
    try:
        return parse_holder((store / LOCK_NAME).read_bytes()).get("pid", -1)
    except OSError:
        return -1


def ledger_findings(store: Path) -> list:
    key = decode_key((store / "device.pub").read_bytes())
    report = verify_ledger(ledger_bytes(str(store)), key.device_id, key.public)
    return [f.code for f in report.findings]


def long_video(path: Path, frames: int = 3000, fps: int = 10) -> Path:
    """A small video that plays for frames / fps seconds: longer than any wait here, so a
    recorder on it is still running when the test is done with it (and stops it)."""
    import cv2
    import numpy as np

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        img = np.full((48, 64, 3), 60, np.uint8)
        img[:, (i % 60) : (i % 60) + 4] = 230
        w.write(img)
    w.release()
    return path


def start_record(video: Path, store: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*SEALCAM, "record", "--camera", str(video), "--store", str(store), *extra, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def recording(video: Path, store: Path) -> subprocess.Popen:
    """``sealcam record`` started and seen writing: it holds the claim and its boot entries
    are on the card."""
    proc = start_record(video, store, "--device-id", "SC-0001", "--officer", "P-1")
    segment = store / "ledger" / "00000000.seg"
    wait_for(
        lambda: (
            proc.poll() is not None
            or (holder_pid(store) == proc.pid and segment.exists() and segment.stat().st_size > 0)
        ),
        "sealcam record to start writing",
    )
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    return proc


def stop(proc: subprocess.Popen) -> tuple:
    """^C, as an officer's terminal would send it; the recorder closes its store cleanly."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, out, err


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_second_record_on_a_store_being_recorded_is_refused_in_one_line(tmp_path):
    # R-DEV-2: a second writer would sign other entries for the same seqs (a fork).
    video = long_video(tmp_path / "scene.avi")
    store = tmp_path / "rec"
    first = recording(video, store)
    try:
        second = start_record(video, store, "--officer", "P-2")
        out, err = second.communicate(timeout=WAIT_S)
        assert second.returncode == 2, (out, err)
        line = one_line(err)
        named = "sealcam record: the store %s is in use by sealcam record (pid %d, since "
        assert line.startswith(named % (store, first.pid)), line
        assert "Traceback" not in err and out == ""
    finally:
        code, out, err = stop(first)
    assert code == 0, err
    assert json.loads(out)["ledger_state"] == "OK"
    assert "conflicting-seq" not in ledger_findings(store)
    # Once the first has stopped, the store takes the next writer.
    again = start_record(video, store, "--seconds", "0.5")
    out, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err
    assert ledger_findings(store) == []


def host_for(tmp_path: Path, store: Path) -> Path:
    """Host keys and an evidence store with the recorder at ``store`` enrolled."""
    host = tmp_path / "host"
    host.mkdir()
    host_keys(host)
    enrol_file(host / "ev", store / "device.pub")
    return host


def dock_command(store: Path, host: Path, address: tuple, *extra: str) -> list:
    return dock_argv(store, host / "host.pub", "--connect", "%s:%d" % address, *extra)


def test_a_dock_beside_a_running_record_is_served_by_the_recorder(tmp_path):
    # R-DEV-2: the dock never writes beside the recorder; the running agent serves it and
    # logs the receipt into the one ledger it writes. R-DEV-6: capture goes on meanwhile.
    video = long_video(tmp_path / "scene.avi")
    store = tmp_path / "rec"
    rec = recording(video, store)
    host = host_for(tmp_path, store)
    wait_for(lambda: (store / "agent.sock").exists(), "the recorder's dock socket")
    daemon, address = start_daemon(host / "ev", host / "host.key")
    try:
        docked = subprocess.run(
            dock_command(store, host, address), capture_output=True, text=True, timeout=WAIT_S
        )
        assert docked.returncode == 0, docked.stderr
        outcome = json.loads(docked.stdout)
        assert outcome["result"] == "done" and outcome["receipts"], outcome
        out, _ = daemon.communicate(timeout=WAIT_S)
        sessions = [json.loads(x) for x in out.splitlines() if '"session"' in x]
        assert [s["result"] for s in sessions] == ["done"]
        assert rec.poll() is None  # still recording
    finally:
        code, out, err = stop(rec)
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert code == 0, err
    summary = json.loads(out)
    assert [d["result"] for d in summary["docks"]] == ["done"]
    assert summary["ledger_state"] == "OK"
    assert ledger_findings(store) == []  # one chain: no conflicting-seq, nothing broken
    entries = [
        x[2] for x in read_ledger(ledger_bytes(str(store))) if x[0] == "entry"
    ]  # the receipt is in the recorder's own ledger, among its chunks
    assert any(e.fields.get(F_EVENT) == EV_HOST_RECEIPT for e in entries)
    ev = SqliteEvidenceStore(host / "ev")
    raws = ev.entries("SC-0001")
    ev.close()
    public = decode_key((store / "device.pub").read_bytes()).public
    assert raws and verify_ledger(b"".join(raws), "SC-0001", public).state == OK
    assert raws == [e.raw for e in entries[: len(raws)]]


def test_a_dock_over_serial_beside_a_running_record_is_served_by_the_recorder(tmp_path):
    # R-DEV-2: as over TCP, through the cable's pseudo-terminals.
    video = long_video(tmp_path / "scene.avi")
    store = tmp_path / "rec"
    rec = recording(video, store)
    host = host_for(tmp_path, store)
    wait_for(lambda: (store / "agent.sock").exists(), "the recorder's dock socket")
    cable = Cable(Injury())
    # The dock opens its end of the cable first, as a recorder in its cradle is there before
    # the host's first HELLO (a HELLO sent to a closed end is flushed when it opens).
    dock = subprocess.Popen(
        dock_argv(store, host / "host.pub", "--serial", cable.device_port, "--idle", str(WAIT_S)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    daemon = None
    try:
        wait_for(
            lambda: dock.poll() is not None or holds_open(dock.pid, cable.device_port),
            "the dock to open its end of the cable",
        )
        daemon = subprocess.Popen(
            sync_argv(
                host / "ev", host / "host.key", "--serial", cable.host_port, "--idle", str(WAIT_S)
            ),
            stdout=subprocess.PIPE,
            text=True,
        )
        out, err = dock.communicate(timeout=WAIT_S * 2)
        assert dock.returncode == 0, (out, err)
        assert json.loads(out)["result"] == "done"
    finally:
        code, out, err = stop(rec)
        for proc in (dock, daemon):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        cable.close()
    assert code == 0, err
    assert [d["result"] for d in json.loads(out)["docks"]] == ["done"]
    assert ledger_findings(store) == []


def test_a_second_dock_while_the_recorder_serves_one_is_refused_in_one_line(tmp_path):
    # R-DEV-2: one session at a time, as on a recorder with one cradle.
    video = long_video(tmp_path / "scene.avi")
    store = tmp_path / "rec"
    rec = recording(video, store)
    host = host_for(tmp_path, store)
    wait_for(lambda: (store / "agent.sock").exists(), "the recorder's dock socket")
    stalled = socket.create_server(("127.0.0.1", 0))
    first = subprocess.Popen(
        dock_command(store, host, stalled.getsockname()[:2], "--idle", str(WAIT_S * 2)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stalled.settimeout(WAIT_S)
        conn, _ = stalled.accept()  # the first dock is queued at the recorder already
        second = subprocess.run(
            dock_command(store, host, stalled.getsockname()[:2]),
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert second.returncode == 2, second
        line = one_line(second.stderr)
        refusal = "sealcam dock: the running recorder refused the dock: the recorder is "
        assert line == refusal + "serving another dock; dock when it ends", line
        conn.close()  # the first host hangs up: the recorder ends that session
        out, err = first.communicate(timeout=WAIT_S)
        assert first.returncode == 1 and json.loads(out)["result"] == "link lost", (out, err)
    finally:
        stalled.close()
        if first.poll() is None:
            first.kill()
            first.wait()
        code, out, err = stop(rec)
    assert code == 0, err
    assert ledger_findings(store) == []


def test_one_store_docking_to_two_hosts_at_once_is_refused_the_second_time(tmp_path):
    # R-DEV-2: two docks each log their host's receipt and time as the same next seqs.
    setup(tmp_path)
    store = tmp_path / "dev"
    (store / "device.pub").write_bytes((tmp_path / "device.pub").read_bytes())
    # The first host answers nothing: its dock stays open, holding the store, for as long
    # as the test keeps the connection.
    stalled = socket.create_server(("127.0.0.1", 0))
    first = subprocess.Popen(
        dock_argv(
            store,
            tmp_path / "host.pub",
            "--connect",
            "127.0.0.1:%d" % stalled.getsockname()[1],
            "--idle",
            str(WAIT_S * 2),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stalled.settimeout(WAIT_S)
    conn, _ = stalled.accept()  # the first dock has claimed the store and connected
    daemon, address = start_daemon(tmp_path / "ev", tmp_path / "host.key")
    dock_cmd = dock_argv(store, tmp_path / "host.pub", "--connect", "%s:%d" % address)
    try:
        assert holder_pid(store) == first.pid
        second = subprocess.run(dock_cmd, capture_output=True, text=True, timeout=WAIT_S)
        assert second.returncode == 2, second
        line = one_line(second.stderr)
        assert "in use by sealcam dock (pid %d" % first.pid in line, line
        conn.close()  # the first host hangs up; its dock ends and lets the store go
        first.communicate(timeout=WAIT_S)
        again = subprocess.run(dock_cmd, capture_output=True, text=True, timeout=WAIT_S)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["result"] == "done"
        daemon.communicate(timeout=WAIT_S)
    finally:
        stalled.close()
        for proc in (first, daemon):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert ledger_findings(store) == []  # no conflicting-seq: one writer at a time


# --- the host: a session that stored less than the device announced ---------------------


def forked_device(path: Path):
    """A device store two agents wrote at once (as before the claim), then booted again: its
    ledger holds two entries for some seqs."""
    a = recorded_device(path, frames=6)
    b = boot(str(path), make_signer(SEED_A), DEVICE, "P", StepClock(), SceneCamera(6), Log())
    for agent in (a, b):
        agent.input("press_record")
        while agent.capture():
            pass
        agent.input("press_stop")
        agent.store.close()
    assert "conflicting-seq" in [
        f.code for f in verify_ledger(ledger_bytes(str(path)), DEVICE, device_key().public).findings
    ]
    return boot(str(path), make_signer(SEED_A), DEVICE, "P", StepClock(), None, Log())


def test_a_dock_of_a_forked_store_is_never_done_and_never_verifies_plain_ok(tmp_path, capsys):
    # The report: the first dock after a fork said "done" and verify said OK with no
    # flags, though the device announced more entries than the host stored.
    ev = evidence(tmp_path / "ev")
    agent = forked_device(tmp_path / "dev")
    summary, _, _ = run_pair(agent, ev)
    agent.store.close()
    ev.record_session(summary, 1_800_000_000_000)  # as the daemon does
    held = ev.head(DEVICE)[0]
    ev.close()
    assert summary["result"] != "done", summary
    assert summary["device_head"] is not None and summary["device_head"] > held
    assert main(["verify", str(tmp_path / "ev"), "--json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)["devices"][0]["verification"]
    assert report["state"] != OK, report


def test_a_session_announcing_more_than_was_stored_is_flagged_at_verify(tmp_path, capsys):
    ev = evidence(tmp_path / "ev")
    agent = recorded_device(tmp_path / "dev", frames=3)
    summary, _, _ = run_pair(agent, ev)
    agent.store.close()
    assert summary["result"] == "done" and summary["device_head"] <= ev.head(DEVICE)[0]
    # The session's end as the daemon makes it: its record, then the one signed checkpoint.
    ev.record_session(summary, 1_800_000_000_000)
    ev.checkpoint(make_signer(HOST_SEED), HOST_KID)
    assert main(["verify", str(tmp_path / "ev"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["devices"][0]["verification"]["state"] == OK
    held = ev.head(DEVICE)[0]
    ev.record_session(dict(summary, device_head=held + 6), 1_800_000_100_000)
    ev.close()
    assert main(["verify", str(tmp_path / "ev"), "--json"]) == 0  # missing information
    report = json.loads(capsys.readouterr().out)["devices"][0]["verification"]
    assert report["state"] == "OK with missing information"
    (finding,) = [f for f in report["findings"] if f["code"] == "entries-not-collected"]
    assert "through seq %d" % (held + 5) in finding["message"]
    assert "holds seqs 0-%d" % (held - 1) in finding["message"]


def test_not_collected_names_the_dock_and_what_the_store_holds():
    sessions = [
        {"ended_ms": 1_800_000_000_000, "device_head": 65},
        {"ended_ms": 1_800_000_100_000, "device_head": 71},
        {"ended_ms": 1_800_000_200_000, "device_head": None},  # never proved its key
    ]
    text = not_collected("SC-0001", sessions, 65)
    assert text.startswith("device SC-0001 announced its ledger through seq 70 at its dock")
    assert "2027-01-15 08:01:40 UTC" in text and "holds seqs 0-64" in text
    assert not_collected("SC-0001", sessions, 71) == ""
    assert "holds none of its entries" in not_collected("SC-0001", sessions, 0)
    assert not_collected("SC-0001", [], 0) == ""


def test_an_older_store_gains_the_device_head_column_and_keeps_its_sessions(tmp_path):
    root = tmp_path / "ev"
    root.mkdir()
    db = sqlite3.connect(str(root / "evidence.db"))
    db.execute(
        "CREATE TABLE sessions (device_id TEXT NOT NULL, ended_ms INTEGER NOT NULL, "
        "link TEXT NOT NULL, result TEXT NOT NULL, entries INTEGER NOT NULL, "
        "media INTEGER NOT NULL, bytes_in INTEGER NOT NULL, drift_ms INTEGER)"
    )
    db.execute("INSERT INTO sessions VALUES ('SC-0001', 5, 'tcp', 'done', 3, 1, 900, 12)")
    db.commit()
    db.close()
    ev = SqliteEvidenceStore(root)
    summary = {
        "device": "SC-0001",
        "result": "done",
        "entries_stored": 2,
        "media_stored": 0,
        "bytes_in": 10,
        "clock_drift_ms": 0,
        "device_head": 9,
    }
    ev.record_session(summary, 6)
    kept = ev.sessions("SC-0001")
    ev.close()
    assert [s["device_head"] for s in kept] == [None, 9]
    assert kept[0]["drift_ms"] == 12 and kept[0]["result"] == "done"
    SqliteEvidenceStore(root).close()  # opening it again changes nothing more
    assert os.path.exists(root / "evidence.db")
