"""What the scale-out tests share: the services' command."""
# micropython: skip (host code, real services)

import subprocess
from pathlib import Path

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
