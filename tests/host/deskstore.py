"""What the restricted-footage tests share: an evidence store with one synced recording and
accounts, a clock that moves only when a test moves it, and the host key's signer."""

from host import audit, items
from host.evidence import SqliteEvidenceStore
from tests.host.helpers import ACCOUNT_PASSWORD, sign_checkpoint, with_accounts
from tests.host.rawrec import synced_recording

PASSWORD = ACCOUNT_PASSWORD
START_MS = 1_796_400_000_000  # 2026-12-05 00:00:00 in Asia/Shanghai (UTC+8)


class Clock:
    """Milliseconds that move only when a test moves them."""

    def __init__(self, ms: int = START_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


sign = sign_checkpoint


def store_with(tmp_path, *accounts):
    """The path of an evidence store holding one synced recording (real JPEG frames, so it
    exports) and the given ``(name, roles, officer id)`` accounts, all with PASSWORD."""
    path, _ = synced_recording(tmp_path)
    with_accounts(SqliteEvidenceStore(path), accounts).close()
    return path


def the_recording(ev) -> items.Item:
    with ev.read() as cur:
        (item,) = [i for i in items.find(cur) if i.kind == items.RECORDING]
    return item


def trail(ev) -> list:
    with ev.read() as cur:
        return audit.history(cur)
