"""The evidence room's door: logins, roles, an officer's own footage, restricted footage, and
the audit trail every action leaves, as ``sealcam verify`` checks it (issue 13)."""

import sqlite3

import pytest

from host import audit, items, people, restricted
from host.access import Desk
from host.errors import Refused, Unusable
from host.evidence import SqliteEvidenceStore
from host.verify_store import check_store
from tests.host.helpers import (
    ACCOUNT_PASSWORD,
    sign_checkpoint,
    synced_evidence,
    with_accounts,
)
from tests.host.storetext import every_store_finding_said  # noqa: F401 (a fixture)

# Every store finding these tests provoke says in English what its message says, and is
# Chinese in Chinese (issue 13 "Chinese first").
pytestmark = pytest.mark.usefixtures("every_store_finding_said")

PASSWORD = ACCOUNT_PASSWORD


class Clock:
    """Milliseconds that move only when a test moves them."""

    def __init__(self, ms: int = 1_764_900_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


sign = sign_checkpoint


def store_with(tmp_path, *accounts):
    """An evidence store with a synced recording and the given ``(name, roles, officer)``."""
    return with_accounts(SqliteEvidenceStore(synced_evidence(tmp_path / "ev")), accounts)


def the_recording(ev) -> items.Item:
    with ev.read() as cur:
        (item,) = items.find(cur)
    return item


def trail(ev) -> list:
    with ev.read() as cur:
        return audit.history(cur)


def test_items_index_the_synced_recording_once(tmp_path):
    ev = store_with(tmp_path)
    item = the_recording(ev)
    assert item.kind == items.RECORDING and item.item_id == "%s/%d" % (item.device_id, item.rec)
    assert item.chunks > 0 and item.first_seq <= item.rec <= item.last_seq
    with ev.write() as cur:
        assert items.refresh(cur) == 0  # nothing new: nothing read again
        assert items.get(cur, item.item_id) == item


def test_a_login_and_a_failed_one_are_both_on_record(tmp_path):
    # Issue 13: login and failed login in the audit trail
    ev = store_with(tmp_path, ("clerk", (people.CLERK,), None))
    clock = Clock()
    with pytest.raises(Refused, match="wrong user name or password"):
        Desk.login(ev, "clerk", "not the password", clock)
    with pytest.raises(Refused, match="wrong user name or password"):
        Desk.login(ev, "nobody", PASSWORD, clock)  # reads the same: names cannot be probed
    Desk.login(ev, "clerk", PASSWORD, clock)
    assert [(r.actor, r.action, r.outcome) for r in trail(ev)] == [
        ("clerk", audit.LOGIN_FAILED, audit.REFUSED),
        ("nobody", audit.LOGIN_FAILED, audit.REFUSED),
        ("clerk", audit.LOGIN, audit.DONE),
    ]


def test_guessing_locks_the_account_and_it_opens_on_time(tmp_path):
    # Issue 13: wrong passwords rate-limited and logged
    ev = store_with(tmp_path, ("clerk", (people.CLERK,), None))
    clock = Clock()
    for _ in range(people.LOCK_AFTER - 1):
        with pytest.raises(Refused) as wrong:
            Desk.login(ev, "clerk", "guess", clock)
        assert wrong.value.reason == people.WRONG
    with pytest.raises(Refused, match="locked until"):
        Desk.login(ev, "clerk", "guess", clock)
    clock.ms += people.LOCK_MS - 1
    with pytest.raises(Refused) as locked:
        Desk.login(ev, "clerk", PASSWORD, clock)  # the right password, still locked
    assert locked.value.reason == people.LOCKED
    clock.ms += 1
    assert Desk.login(ev, "clerk", PASSWORD, clock).user.name == "clerk"


def test_a_role_that_does_not_allow_it_is_refused_and_recorded(tmp_path):
    ev = store_with(tmp_path, ("reviewer", (people.LEGAL,), None))
    desk = Desk.login(ev, "reviewer", PASSWORD, Clock())
    item = the_recording(ev).item_id
    with pytest.raises(Refused, match="needs the role evidence-clerk or officer"):
        with desk.act(audit.EXPORT, item):
            raise AssertionError("the action must not run")
    last = trail(ev)[-1]
    assert (last.action, last.item, last.outcome) == (audit.EXPORT, item, audit.REFUSED)
    assert last.details["reason"] == "role-not-allowed"


def test_an_officer_reaches_only_their_own_recordings(tmp_path):
    ev = store_with(
        tmp_path, ("own", (people.OFFICER,), "P-0000"), ("other", (people.OFFICER,), "P-9999")
    )
    item = the_recording(ev)
    assert item.officer  # the recorder wrote its officer into the recording
    with ev.write() as cur:
        cur.execute("UPDATE users SET officer_id = ? WHERE name = 'own'", (item.officer,))
    with Desk.login(ev, "own", PASSWORD, Clock()).act(audit.PLAY, item.item_id):
        pass
    with pytest.raises(Refused, match="not a recording of officer P-9999"):
        with Desk.login(ev, "other", PASSWORD, Clock()).act(audit.PLAY, item.item_id):
            pass


def test_restricted_footage_needs_an_approval_in_force(tmp_path):
    # R-HOST-6
    ev = store_with(tmp_path, ("clerk", (people.CLERK,), None))
    clock = Clock()
    item = the_recording(ev).item_id
    with ev.write() as cur:
        cur.execute(
            "INSERT INTO restrictions VALUES (?, ?, 'boss', 0, 'a witness is named')",
            (item, restricted.PRIVATE),
        )
    desk = Desk.login(ev, "clerk", PASSWORD, clock)
    with pytest.raises(Refused, match="needs an approval from a user with the role approver"):
        with desk.act(audit.EXPORT, item):
            pass
    with desk.act(audit.VIEW, item):  # seeing that it exists, and is restricted, is not gated
        pass
    with ev.write() as cur:
        cur.execute(
            "INSERT INTO approvals (item_id, action, for_user, purpose, approved_by, "
            "approved_ms, until_ms) VALUES (?, 'export', 'clerk', 'court', 'boss', ?, ?)",
            (item, clock.ms, clock.ms + 1000),
        )
    with desk.act(audit.EXPORT, item):
        pass
    clock.ms += 1000  # the approval has ended
    with pytest.raises(Refused):
        with desk.act(audit.EXPORT, item):
            pass


def test_a_refusal_inside_the_action_undoes_its_change_and_keeps_the_attempt(tmp_path):
    ev = store_with(tmp_path, ("clerk", (people.CLERK,), None))
    desk = Desk.login(ev, "clerk", PASSWORD, Clock())
    with pytest.raises(Unusable, match="no item"):
        with desk.act(audit.CATEGORISE, "SC-0001/999999") as act:
            act.cur.execute("INSERT INTO settings VALUES ('half', '1')")
            items.get(act.cur, "SC-0001/999999")
    with ev.read() as cur:
        assert cur.execute("SELECT count(*) FROM settings").fetchone()[0] == 0
    last = trail(ev)[-1]
    assert (last.outcome, last.details["reason"]) == (audit.REFUSED, "unusable")


@pytest.mark.parametrize(
    "injury, finding",
    [
        ("UPDATE audit SET actor = 'someone else' WHERE seq = 1", "audit-chain-broken"),
        ("DELETE FROM audit WHERE seq = 1", "audit-deleted"),
        ("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)", "audit-deleted"),
    ],
)
def test_editing_or_deleting_an_audit_record_makes_verify_not_ok(tmp_path, injury, finding):
    # Issue 13: editing or deleting an audit row makes sealcam verify evidence/ NOT OK
    ev = store_with(tmp_path, ("clerk", (people.CLERK,), None))
    desk = Desk.login(ev, "clerk", PASSWORD, Clock(), sign)
    item = the_recording(ev).item_id
    with desk.act(audit.VIEW, item):
        pass
    with desk.act(audit.PLAY, item):
        pass
    ev.close()
    assert check_store(tmp_path / "ev").ok
    db = sqlite3.connect(tmp_path / "ev" / "evidence.db")
    db.execute(injury)
    db.commit()
    db.close()
    report = check_store(tmp_path / "ev")
    assert not report.ok, report.to_dict()
    assert finding in [f.code for f in report.findings]
