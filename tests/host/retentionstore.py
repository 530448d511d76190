"""Stores for the retention tests: a synced recording and accounts, and the case facts
retention reads (``host.cases``'s tables) written directly, as a case clerk's commands
would leave them."""

from host import items, people
from host.evidence import SqliteEvidenceStore
from tests.host.helpers import (
    ACCOUNT_PASSWORD,
    sign_checkpoint,
    synced_evidence,
    with_accounts,
)

PASSWORD = ACCOUNT_PASSWORD


ACCOUNTS = (
    ("admin", (people.ADMINISTRATOR,), None),
    ("clerk", (people.CLERK,), None),
    ("clerk2", (people.CLERK,), None),
    ("approver", (people.APPROVER,), None),
    ("legal", (people.LEGAL,), None),
)


sign = sign_checkpoint


def synced_store(path, accounts=ACCOUNTS):
    """An evidence store at ``path`` with one synced recording and ``accounts``."""
    return with_accounts(SqliteEvidenceStore(synced_evidence(path)), accounts)


def the_recording(ev) -> items.Item:
    with ev.read() as cur:
        (item,) = items.find(cur)
    return item


def add_case(ev, case_no, major=False, closed_ms=None, case_type="search") -> None:
    with ev.write() as cur:
        cur.execute(
            "INSERT INTO cases (case_no, case_type, title, responsible, place, happened_ms, "
            "opened_ms, closed_ms, major, created_by, created_ms) "
            "VALUES (?, ?, 't', 'r', 'p', 0, 0, ?, ?, 'clerk', 0)",
            (case_no, case_type, closed_ms, int(major)),
        )


def link(ev, case_no, item_id) -> None:
    with ev.write() as cur:
        cur.execute("INSERT INTO case_items VALUES (?, ?, 'clerk', 0)", (case_no, item_id))


def note(ev, item_id, category) -> None:
    with ev.write() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO item_notes VALUES (?, ?, 'proves', 'clerk', 0)",
            (item_id, category),
        )
