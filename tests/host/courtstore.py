"""What the court package tests share: small evidence stores (an fMP4 recording with a pause
and its spoken reason, or a raw one), with accounts and the host key set, and the
package made from them through the command line."""

import os
from pathlib import Path

from host import settings
from host.evidence import SqliteEvidenceStore
from tests.host import fmp4
from tests.host.helpers import ACCOUNT_PASSWORD, host_keys, run, with_accounts

CLERK = "li"
ACCOUNTS = [
    ("admin", ("administrator",), None),
    (CLERK, ("evidence-clerk",), None),
    ("zhang", ("approver",), None),
]
ITEM = "%s/%d"


def fmp4_store(tmp_path: Path, accounts: bool = True) -> Path:
    """An evidence store holding one fMP4 recording (3 GOPs, a pause with its spoken
    reason, 2 GOPs), the host key in ``tmp_path`` (host.key, host.pub) and, when
    ``accounts``, the host key set and the ACCOUNTS; returns the store's path."""
    rec = fmp4.record()
    path = tmp_path / "ev"
    ev = fmp4.evidence_store(path, rec)
    host_keys(tmp_path)
    if accounts:
        with_accounts(ev, ACCOUNTS)
        with ev.write() as cur:
            settings.put(cur, settings.HOST_KEY, str(tmp_path / "host.key"))
    ev.close()
    return path


def recording_item(path: Path) -> str:
    from host import items
    from host.access import prepare

    ev = SqliteEvidenceStore(path)
    try:
        prepare(ev)
        with ev.write() as cur:
            items.refresh(cur)
            (found,) = [i for i in items.find(cur) if i.kind == items.RECORDING]
        return found.item_id
    finally:
        ev.close()


def env_user(user: str = CLERK) -> dict:
    return dict(os.environ, SEALCAM_USER=user, SEALCAM_PASSWORD=ACCOUNT_PASSWORD)


def export(*args: str, user: str = CLERK):
    """``sealcam export ARGS`` as ``user``."""
    import subprocess

    from tests.host.helpers import SEALCAM

    return subprocess.run(
        [*SEALCAM, "export", *args], capture_output=True, text=True, env=env_user(user), timeout=300
    )


__all__ = ["run"]
