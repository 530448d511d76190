"""What the scale-out tests share: the services' command, a store copied into the scale-out
store (as a sync or as a dock leaves it), a wait for the object store's clock, and store
migrate's source and command."""
# micropython: skip (host code, real services)

import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.host.helpers import SEALCAM, sign_checkpoint, synced_evidence, with_accounts

if TYPE_CHECKING:
    from host.pgstore import PgEvidenceStore

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "tools" / "services" / "services"
START_S = 600  # a bound on the services' start or stop, reached only when they are broken


def services_command(action: str, state) -> subprocess.CompletedProcess:
    """``tools/services/services ACTION --state STATE``, run to its end."""
    return subprocess.run(
        [str(SERVICES), action, "--state", str(state)],
        capture_output=True, text=True, timeout=START_S,
    )  # fmt: skip


def copy_into_scaleout(src, url: str, media: str):
    """A scale-out store at ``url`` and ``media`` holding what the embedded store ``src``
    synced (its devices, their ledgers and media), as a sync into it would leave it;
    returns it open."""
    from host.pgstore import PgEvidenceStore

    store = PgEvidenceStore(url, media)
    for device_id in src.devices():
        store.enrol(device_id, src.device_key(device_id))
        raws = src.entries(device_id)
        # Each run of entries received together is added with the time it was received.
        start = 0
        while start < len(raws):
            at = src.received_ms(device_id, start)
            end = start
            while end < len(raws) and src.received_ms(device_id, end) == at:
                end += 1
            store.add_entries(device_id, raws[start:end], at)
            start = end
        for digest, _size in store.missing_media(device_id):
            store.put_media(digest, src.read_media(digest))
        summary = {"device": device_id, "result": "ok", "entries_stored": 0, "media_stored": 0,
                   "bytes_in": 0}  # fmt: skip
        store.record_session(summary, 0)  # ends the copy's claim on the device
    return store


def docked_copy(
    evidence, url: str, media: str, accounts: tuple, until_ms: "int | None" = None
) -> "PgEvidenceStore":
    """A scale-out store at ``url`` and ``media`` holding what the embedded store at
    ``evidence`` synced, stored as a dock stores it (uploads deferred, made durable, then
    the dock's lock pass, run after the receipt), with ``accounts`` and retention's tables
    (as the retention commands add them); returned open.

    Each object is locked as a dock locks it, from when its chunk was recorded; with
    ``until_ms``, only until then instead (a lock of seconds: retention may remove the
    object once the object store's clock has passed it, see ``clock_passes``)."""
    # host is imported here, as in copy_into_scaleout: conftest imports this module before
    # it knows whether the services' Python packages are there.
    from host import retention
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import PgEvidenceStore

    src = SqliteEvidenceStore(evidence, readonly=True)
    store = PgEvidenceStore(url, media)
    if until_ms is not None:
        until: int = until_ms
        store._first_lock = lambda digest: until  # type: ignore[method-assign]
    for device in src.devices():
        key = src.device_key(device)
        assert key is not None  # every device the store lists is enrolled
        store.enrol(device, key)
        store.add_entries(device, src.entries(device), 0)
        staged = [
            store.put_media(digest, src.read_media(digest), defer=True)
            for digest, _size in store.missing_media(device)
        ]
        store.make_durable(staged)
        store.wait_for_locks()
        summary = {"device": device, "result": "done", "entries_stored": 0, "media_stored": 0,
                   "bytes_in": 0}  # fmt: skip
        store.record_session(summary, 0)
    src.close()
    with_accounts(store, accounts)
    store.add_tables(retention.SCHEMA)
    return store


CLOCK_WAIT_S = 120  # a bound on polls that end as soon as the object store's clock passes a date


def clock_passes(condition) -> bool:
    """Poll ``condition`` (about the object store's clock, or what follows from it: a lock's
    date passed) until it holds; the test fails if it does not within CLOCK_WAIT_S."""
    deadline = time.monotonic() + CLOCK_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the object store's clock did not pass the lock's date in time")
        time.sleep(0.5)
    return True


# --- store migrate's tests -------------------------------------------------------------

WAIT_S = 600  # a bound on a command's run, reached only when it hangs


def source_store(tmp_path):
    """``sealcam store migrate``'s source: an embedded store with a synced recording, an
    account (clerk), a legal hold on the recording (an audit record), and a signed
    checkpoint over it all. ``(path, the recording's item)``."""
    from host import audit, items, people, retention
    from host.evidence import SqliteEvidenceStore

    accounts = (("clerk", (people.CLERK,), None),)
    path = synced_evidence(tmp_path / "ev")
    ev = with_accounts(SqliteEvidenceStore(path), accounts)
    ev.add_tables(retention.SCHEMA)
    with ev.write() as cur:
        (item,) = items.find(cur)
        retention.place_hold(cur, item.item_id, None, "court order", "clerk", 5)
        audit.record(cur, ev.log, "clerk", audit.HOLD, 5, item.item_id)
    sign_checkpoint(ev)
    ev.close()
    return path, item


def migrate(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SEALCAM, "store", "migrate", *argv, "--lang", "en"],
        capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip


def one_line(r: subprocess.CompletedProcess, words: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert words in r.stderr, r.stderr
