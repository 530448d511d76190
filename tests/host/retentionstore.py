"""Stores for the retention tests: a synced recording and accounts, and the case facts
retention reads (``host.cases``'s tables) written directly, as a case clerk's commands
would leave them."""

from host import items, people
from host.access import prepare
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.host.helpers import HOST_KID, HOST_SEED, evidence, run_pair

PASSWORD = "correct horse battery"


ACCOUNTS = (
    ("admin", (people.ADMINISTRATOR,), None),
    ("clerk", (people.CLERK,), None),
    ("clerk2", (people.CLERK,), None),
    ("approver", (people.APPROVER,), None),
    ("legal", (people.LEGAL,), None),
)


def sign(store) -> None:
    store.checkpoint(make_signer(HOST_SEED), HOST_KID)


def synced_store(path, accounts=ACCOUNTS):
    """An evidence store at ``path`` with one synced recording and ``accounts``."""
    ev = evidence(path)
    agent = recorded_device(path.parent / (path.name + "-device"), 6)
    run_pair(agent, ev)
    agent.store.close()
    prepare(ev)
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
