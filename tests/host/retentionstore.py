"""Stores for the retention tests: a synced recording, accounts, and the case tables.

The case tables belong to ``host.cases``; until it is there, these tests make them with the
schema the evidence-management plan gives, so retention reads them as it will read the real
ones (and a store without them is tested too).
"""

from host import items, people
from host.access import prepare
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.host.helpers import HOST_KID, HOST_SEED, evidence, run_pair

PASSWORD = "correct horse battery"

CASE_TABLES = """
CREATE TABLE IF NOT EXISTS cases (
    case_no TEXT PRIMARY KEY, case_type TEXT, title TEXT, responsible TEXT, place TEXT,
    happened_ms INTEGER, opened_ms INTEGER, closed_ms INTEGER, major INTEGER,
    created_by TEXT, created_ms INTEGER
);
CREATE TABLE IF NOT EXISTS case_items (
    case_no TEXT, item_id TEXT, linked_by TEXT, linked_ms INTEGER,
    PRIMARY KEY (case_no, item_id)
);
CREATE TABLE IF NOT EXISTS item_notes (
    item_id TEXT PRIMARY KEY, category TEXT, proves TEXT, noted_by TEXT, noted_ms INTEGER
);
"""

ACCOUNTS = (
    ("admin", (people.ADMINISTRATOR,), None),
    ("clerk", (people.CLERK,), None),
    ("clerk2", (people.CLERK,), None),
    ("approver", (people.APPROVER,), None),
    ("legal", (people.LEGAL,), None),
)


def sign(store) -> None:
    store.checkpoint(make_signer(HOST_SEED), HOST_KID)


def synced_store(path, accounts=ACCOUNTS, cases=True):
    """An evidence store at ``path`` with one synced recording, ``accounts`` and (unless
    ``cases`` is false) the case tables, empty."""
    ev = evidence(path)
    agent = recorded_device(path.parent / (path.name + "-device"), 6)
    run_pair(agent, ev)
    agent.store.close()
    prepare(ev)
    if cases:
        ev.add_tables(CASE_TABLES)
    with ev.write() as cur:
        items.refresh(cur)
        for name, roles, officer in accounts:
            people.add_user(cur, name, roles, PASSWORD, 0, officer)
    return ev


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
