"""The host's disk fills up mid-session: the session ends as failed with reason disk-full.

One log line says so, no traceback; nothing is half-stored (SQLite rolls its transaction
back, the media not yet named leaves ``incoming/``), no receipt goes out, so the device
keeps its media; and the next dock, once there is room, completes. The disk fills for
real: SQLite's own page limit (SQLITE_FULL), ENOSPC at the host's file-write seam, and a
small tmpfs where the test may mount one.
"""
# micropython: skip (host code)

import errno
import os
import sqlite3
import subprocess

import pytest

import host.evidence
from host.daemon import Daemon
from host.evidence import SqliteEvidenceStore
from protocol.signer import make_signer
from tests.host.helpers import (
    HOST_KID,
    HOST_SEED,
    daemon_sessions,
    evidence,
    recorded_device,
    run_pair,
)
from tests.protocol.helpers import DEVICE, SEED_A


def events_logged():
    lines: list = []
    return lines, lambda event, **fields: lines.append(dict(fields, event=event))


def incoming(ev: SqliteEvidenceStore) -> list:
    return sorted(os.listdir(ev.incoming))


def failed_once_for_disk_full(log: list) -> None:
    failed = [e for e in log if e["event"] == "state" and e.get("state") == "failed"]
    assert len(failed) == 1 and failed[0]["reason"].startswith("disk-full: "), failed
    assert "free space, then dock again" in failed[0]["reason"]


def completes_once_there_is_room(agent, ev) -> None:
    summary, device, _ = run_pair(agent, ev)
    assert summary["result"] == "done" and device.receipts, summary
    stored = ev.entries(DEVICE)
    assert stored == list(agent.store.entries())[: len(stored)]
    assert ev.missing_media(DEVICE) == [] and incoming(ev) == []


def page_limit(ev: SqliteEvidenceStore, pages: int | None) -> None:
    """Cap the database at ``pages`` (None: SQLite's default): SQLite then answers every
    write that needs another page with SQLITE_FULL, as on a full disk."""
    ev._db.execute("PRAGMA max_page_count = %d" % (pages or 1073741823))


def test_sqlite_full_ends_the_session_as_disk_full_and_stores_nothing(tmp_path):
    # issue 10 §5: today the session thread died with a traceback (sqlite3.OperationalError).
    agent = recorded_device(tmp_path / "dev", frames=200, pad=400)
    ev = evidence(tmp_path / "ev")
    pages = ev._db.execute("PRAGMA page_count").fetchone()[0]
    page_limit(ev, pages)  # not one page more
    log, say = events_logged()
    summary, device, _ = run_pair(agent, ev, log=say)
    assert summary["result"].startswith("disk-full: ")
    assert "database or disk is full" in summary["result"]
    failed_once_for_disk_full(log)
    assert device.receipts == []
    assert ev.entries(DEVICE) == [] and ev.head(DEVICE)[0] == 0  # rolled back, all of it
    assert ev.missing_media(DEVICE) == [] and incoming(ev) == []
    assert agent.store.usage()["media"] > 0  # the device keeps its footage
    page_limit(ev, None)  # space is freed
    completes_once_there_is_room(agent, ev)
    ev.close()
    agent.store.close()


class FullDisk:
    """``write_all`` for the evidence store that takes ``room`` bytes, then fails with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = host.evidence.write_all

    def __call__(self, fd: int, data) -> None:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        self.real(fd, data)


@pytest.mark.parametrize("room", [0, 5000])
def test_enospc_writing_media_ends_the_session_as_disk_full_and_leaves_incoming_empty(
    tmp_path, monkeypatch, room
):
    # issue 10 §5
    agent = recorded_device(tmp_path / "dev", frames=200, pad=400)
    ev = evidence(tmp_path / "ev")
    monkeypatch.setattr(host.evidence, "write_all", FullDisk(room))
    monkeypatch.setattr(host.evidence.FileMediaWriter, "BUFFER", 1024)  # write as it comes
    log, say = events_logged()
    summary, device, _ = run_pair(agent, ev, log=say)
    assert summary["result"].startswith("disk-full: ") and "No space left" in summary["result"]
    failed_once_for_disk_full(log)
    assert device.receipts == []
    assert incoming(ev) == []  # the files cut short, and the whole ones not named, are gone
    # The entries stored are whole and chained; the media they name stays owed.
    stored = ev.entries(DEVICE)
    assert stored == list(agent.store.entries())[: len(stored)]
    assert len(ev.missing_media(DEVICE)) > 0
    monkeypatch.undo()
    completes_once_there_is_room(agent, ev)
    ev.close()
    agent.store.close()


def test_enospc_making_media_durable_sends_no_receipt_and_names_nothing(tmp_path, monkeypatch):
    # issue 10 §5: the last step before the receipt, syncing the session's media, fails.
    agent = recorded_device(tmp_path / "dev", frames=200, pad=400)
    ev = evidence(tmp_path / "ev")

    def no_room(folder, paths):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(host.evidence, "sync_files", no_room)
    log, say = events_logged()
    summary, device, _ = run_pair(agent, ev, log=say)
    assert summary["result"].startswith("disk-full: ")
    failed_once_for_disk_full(log)
    assert device.receipts == [] and incoming(ev) == []
    assert len(ev.missing_media(DEVICE)) > 0  # nothing was named
    monkeypatch.undo()
    completes_once_there_is_room(agent, ev)
    ev.close()
    agent.store.close()


def test_the_daemon_logs_a_disk_full_session_in_lines_and_keeps_serving(tmp_path):
    # issue 10 §5: with no room even to record the session, the daemon says so in one line
    # and goes on; it does not die.
    import io
    import json

    agent = recorded_device(tmp_path / "dev", frames=200, pad=400)
    ev = evidence(tmp_path / "ev")
    page_limit(ev, ev._db.execute("PRAGMA page_count").fetchone()[0])
    record_session = ev.record_session

    def no_room_for_the_session_row(summary: dict, ended_ms: int) -> None:
        # The row would fit the page the table has; on a full disk the WAL cannot grow.
        raise sqlite3.OperationalError("database or disk is full")

    ev.record_session = no_room_for_the_session_row  # type: ignore[method-assign]
    out = io.StringIO()
    daemon = Daemon(ev, make_signer(HOST_SEED), HOST_KID, as_json=True, out=out)
    daemon_sessions(tmp_path, daemon, [(agent, SEED_A)])
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    sessions = [e for e in events if e["event"] == "session"]
    assert len(sessions) == 1 and sessions[0]["result"].startswith("disk-full: ")
    errors = [e for e in events if e["event"] == "store-error"]
    assert len(errors) == 1 and "could not be recorded" in errors[0]["reason"]
    page_limit(ev, None)
    ev.record_session = record_session  # type: ignore[method-assign]
    daemon_sessions(tmp_path, daemon, [(agent, SEED_A)])
    assert [s["result"] for s in daemon.sessions] == [sessions[0]["result"], "done"]
    assert [s["result"] for s in ev.sessions(DEVICE)] == ["done"]
    ev.close()
    agent.store.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs: a real file system that fills up. Needs the right to mount."""
    where = tmp_path / "disk"
    where.mkdir()
    try:
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip("cannot run mount here (%s): a real full disk needs a tmpfs" % exc)
    if r.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (%s)" % r.stderr.strip())
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=60)


def test_a_real_full_disk_ends_the_session_as_disk_full_and_the_next_dock_completes(
    tmp_path, small_disk
):  # issue 10 §5
    agent = recorded_device(tmp_path / "dev", frames=60, pad=40000)  # over 2 MB of media
    ev = evidence(small_disk / "ev")
    log, say = events_logged()
    summary, device, _ = run_pair(agent, ev, log=say)
    assert summary["result"].startswith("disk-full: "), summary
    failed_once_for_disk_full(log)
    assert device.receipts == [] and incoming(ev) == []
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True, timeout=60)
    completes_once_there_is_room(agent, ev)
    ev.close()
    agent.store.close()
