"""Restricted footage and its approvals (issue 13, R-HOST-6), and the refused attempts at it
surfaced as possible leaking (R-HOST-10), at the level of host.restricted and host.access."""
# micropython: skip (the host's evidence management)

import pytest

from host import audit, i18n, items, people, restricted
from host.access import Desk
from host.errors import Refused, Unusable
from host.evidence import SqliteEvidenceStore
from tests.host.deskstore import PASSWORD, Clock, store_with, the_recording, trail

DAY = 86_400_000
CLERK = ("clerk", (people.CLERK,), None)
BOSS = ("boss", (people.APPROVER,), None)
CHIEF = ("chief", (people.APPROVER,), None)


@pytest.fixture
def room(tmp_path):
    """An open store with a clerk and two approvers, its recording, and a clock."""
    ev = SqliteEvidenceStore(store_with(tmp_path, CLERK, BOSS, CHIEF))
    yield ev, the_recording(ev).item_id, Clock()
    ev.close()


@pytest.fixture(autouse=True)
def _english():
    i18n.use("en")
    yield
    i18n.use(None)


def mark(ev, item, kind=restricted.PRIVATE, reason="a witness is named", when=0):
    with ev.write() as cur:
        return restricted.mark(cur, item, kind, reason, "clerk", when)


def refusal(ev, item, clock, user="clerk", action=audit.EXPORT):
    with ev.read() as cur:
        return restricted.refusal(cur, user, action, item, clock())


def ask(ev, item, clock, until_ms, user="clerk", action=audit.EXPORT):
    with ev.write() as cur:
        return restricted.request(cur, item, action, user, "court case 17", until_ms, clock())


@pytest.mark.parametrize("kind", restricted.KINDS)
def test_each_kind_restricts_every_gated_action_but_not_viewing(room, kind):  # R-HOST-6
    ev, item, clock = room
    assert refusal(ev, item, clock) is None
    mark(ev, item, kind)
    for action in restricted.GATED:
        assert refusal(ev, item, clock, action=action) is not None, action
    assert refusal(ev, item, clock, action=audit.VIEW) is None
    with ev.read() as cur:
        assert restricted.restriction(cur, item)[0] == kind


def test_the_refusal_names_the_role_and_the_approvers_the_store_has(room):  # R-HOST-6
    ev, item, clock = room
    mark(ev, item, restricted.STATE_SECRET)
    said = refusal(ev, item, clock)
    assert "holds state secrets" in said
    assert "clerk needs an approval from a user with the role approver (boss, chief)" in said
    with ev.write() as cur:
        cur.execute("UPDATE users SET disabled = 1 WHERE name = 'chief'")
    assert "(boss)" in refusal(ev, item, clock)
    with ev.write() as cur:
        cur.execute("UPDATE users SET disabled = 1 WHERE name = 'boss'")
    assert "the store has no approver yet" in refusal(ev, item, clock)
    i18n.use("zh")
    assert "须经角色为 approver 的用户审批" in refusal(ev, item, clock)


def test_marking_again_changes_the_kind_and_lifting_ends_it(room):  # R-HOST-6
    ev, item, clock = room
    mark(ev, item, restricted.PRIVATE, "a witness is named")
    details = mark(ev, item, restricted.TRADE_SECRET, "a factory's process is shown")
    assert details["old_kind"] == restricted.PRIVATE and details["kind"] == restricted.TRADE_SECRET
    with ev.write() as cur:
        lifted = restricted.lift(cur, item, "the trial is over")
    assert lifted["lifted"] and lifted["kind"] == restricted.TRADE_SECRET
    assert refusal(ev, item, clock) is None
    with ev.write() as cur, pytest.raises(Unusable, match="is not restricted"):
        restricted.lift(cur, item, "again")
    with ev.write() as cur, pytest.raises(Unusable, match="not a kind of restriction"):
        restricted.mark(cur, item, "embarrassing", "no", "clerk", 0)
    with ev.write() as cur, pytest.raises(Unusable, match="no item"):
        restricted.mark(cur, "SC-0001/999999", restricted.PRIVATE, "x", "clerk", 0)


def test_an_approval_is_in_force_from_its_grant_until_its_end(room):  # R-HOST-6
    ev, item, clock = room
    mark(ev, item)
    asked = ask(ev, item, clock, clock() + DAY)
    assert asked.state(clock()) == restricted.PENDING
    assert refusal(ev, item, clock) is not None  # asked for is not granted
    clock.ms += 1000
    with ev.write() as cur:
        granted = restricted.grant(cur, asked.id, "boss", clock())
    assert (granted.approved_by, granted.approved_ms) == ("boss", clock())
    assert refusal(ev, item, clock) is None
    assert refusal(ev, item, clock, action=audit.PUBLISH) is not None  # only what was asked
    assert refusal(ev, item, clock, user="boss") is not None  # only for whom it was asked
    clock.ms = granted.until_ms - 1
    assert refusal(ev, item, clock) is None
    clock.ms += 1
    assert refusal(ev, item, clock) is not None
    with ev.read() as cur:
        assert restricted.get(cur, asked.id).state(clock()) == restricted.ENDED


def test_an_approver_may_shorten_the_time_asked_for_not_lengthen_it(room):  # R-HOST-6
    ev, item, clock = room
    mark(ev, item)
    first = ask(ev, item, clock, clock() + 10 * DAY)
    with ev.write() as cur, pytest.raises(Unusable, match="not lengthen"):
        restricted.grant(cur, first.id, "boss", clock(), clock() + 11 * DAY)
    with ev.write() as cur:
        assert restricted.grant(cur, first.id, "boss", clock(), clock() + DAY).until_ms == (
            clock() + DAY
        )
    late = ask(ev, item, clock, clock() + DAY)
    clock.ms += DAY
    with ev.write() as cur, pytest.raises(Refused) as lapsed:
        restricted.grant(cur, late.id, "boss", clock())
    assert lapsed.value.reason == restricted.LAPSED


def test_nobody_approves_their_own_request(room):  # R-HOST-6: the four-eyes rule
    ev, item, clock = room
    with ev.write() as cur:
        people.add_user(cur, "both", (people.CLERK, people.APPROVER), PASSWORD, 0)
    mark(ev, item)
    desk = Desk.login(ev, "both", PASSWORD, clock)
    with desk.act(audit.REQUEST_APPROVAL, item) as act:
        asked = restricted.request(act.cur, item, audit.EXPORT, "both", "court", clock() + DAY,
                                   clock())  # fmt: skip
    with pytest.raises(Refused, match="your own request") as own:
        with desk.act(audit.APPROVE, item, approval=asked.id) as act:
            restricted.grant(act.cur, asked.id, "both", clock())
    assert own.value.reason == restricted.OWN_REQUEST
    last = trail(ev)[-1]
    assert (last.action, last.outcome, last.details["reason"]) == (
        audit.APPROVE, audit.REFUSED, restricted.OWN_REQUEST)  # fmt: skip
    with ev.read() as cur:
        assert restricted.get(cur, asked.id).state(clock()) == restricted.PENDING
    assert refusal(ev, item, clock, user="both") is not None
    with ev.write() as cur:  # another approver may
        restricted.grant(cur, asked.id, "boss", clock())
    assert refusal(ev, item, clock, user="both") is None


def test_a_refused_request_stays_refused_and_a_revoked_approval_ends_at_once(room):  # R-HOST-6
    ev, item, clock = room
    mark(ev, item)
    no = ask(ev, item, clock, clock() + DAY)
    with ev.write() as cur:
        with pytest.raises(Unusable, match="say why"):
            restricted.refuse(cur, no.id, "boss", " ", clock())
        assert restricted.refuse(cur, no.id, "boss", "no case number", clock()).state(
            clock()) == restricted.REFUSED  # fmt: skip
    with ev.write() as cur, pytest.raises(Refused) as decided:
        restricted.grant(cur, no.id, "chief", clock())
    assert decided.value.reason == restricted.NOT_PENDING
    assert refusal(ev, item, clock) is not None
    yes = ask(ev, item, clock, clock() + DAY)
    with ev.write() as cur, pytest.raises(Refused) as pending:
        restricted.revoke(cur, yes.id, "boss", "x", clock())  # not granted yet
    assert pending.value.reason == restricted.NOT_IN_FORCE
    with ev.write() as cur:
        restricted.grant(cur, yes.id, "boss", clock())
    assert refusal(ev, item, clock) is None
    clock.ms += 1000
    with ev.write() as cur:
        gone = restricted.revoke(cur, yes.id, "chief", "the case was dropped", clock())
    assert (gone.state(clock()), gone.revoked_by) == (restricted.REVOKED, "chief")
    assert refusal(ev, item, clock) is not None
    with ev.read() as cur:
        assert [a.id for a in restricted.listing(cur, clock(), pending=True)] == []
        assert [a.id for a in restricted.listing(cur, clock())] == [yes.id, no.id]


def test_a_request_needs_a_restricted_item_a_gated_action_and_an_end_to_come(room):
    ev, item, clock = room
    with pytest.raises(Unusable, match="is not restricted: to export it needs no approval"):
        ask(ev, item, clock, clock() + DAY)
    mark(ev, item)
    with pytest.raises(Unusable, match="needs no approval: give one of play, export"):
        ask(ev, item, clock, clock() + DAY, action=audit.CATEGORISE)
    with pytest.raises(Unusable, match="has passed"):
        ask(ev, item, clock, clock())
    with ev.read() as cur, pytest.raises(Unusable, match="no approval 99"):
        restricted.get(cur, 99)


def test_a_derivative_inherits_its_originals_restriction_and_approval(room):  # R-HOST-6, 5
    ev, item, clock = room
    with ev.write() as cur:
        copy = items.add_derivative(cur, item, bytes(range(32)), "case-17.avi", clock())
    assert refusal(ev, copy, clock) is None
    mark(ev, item)
    assert refusal(ev, copy, clock) is not None
    with ev.write() as cur, pytest.raises(Unusable, match="through its original"):
        restricted.lift(cur, copy, "only the copy")
    asked = ask(ev, item, clock, clock() + DAY)
    with ev.write() as cur:
        restricted.grant(cur, asked.id, "boss", clock())
    assert refusal(ev, copy, clock) is None  # the approval for the original covers its copies


def test_refused_attempts_at_restricted_footage_are_possible_leaking(room):  # R-HOST-10
    ev, item, clock = room
    with ev.write() as cur:
        people.add_user(cur, "admin", (people.ADMINISTRATOR,), PASSWORD, 0)
    clerk = Desk.login(ev, "clerk", PASSWORD, clock)
    admin = Desk.login(ev, "admin", PASSWORD, clock)
    with pytest.raises(Refused):  # not restricted yet: refused for the role, not a leak
        with admin.act(audit.PLAY, item):
            pass
    clock.ms += DAY
    mark(ev, item)
    since = clock()
    for desk, action in ((clerk, audit.EXPORT), (clerk, audit.PLAY), (admin, audit.PUBLISH)):
        with pytest.raises(Refused):
            with desk.act(action, item):
                pass
        clock.ms += 1000
    with pytest.raises(Refused):  # not a gated action: no leak
        with admin.act(audit.CATEGORISE, item):
            pass
    with clerk.act(audit.VIEW, item):  # seeing that it is restricted is no attempt
        pass
    with ev.read() as cur:
        found = restricted.leak_attempts(cur, since)
        everything = restricted.leak_attempts(cur)
        later = restricted.leak_attempts(cur, clock())
    assert [(r.actor, r.action, r.item) for r in found] == [
        ("clerk", audit.EXPORT, item),
        ("clerk", audit.PLAY, item),
        ("admin", audit.PUBLISH, item),
    ]
    assert [r.details["reason"] for r in found] == ["restricted", "restricted", "role-not-allowed"]
    # The earlier refusal is of an item restricted now: it counts over the whole trail.
    assert len(everything) == 4 and later == []


def test_the_restricted_reason_is_the_one_host_access_records():  # R-HOST-10
    from host import access

    # leak_attempts finds the restriction's refusals by this reason; host.access writes it.
    assert restricted.RESTRICTED == access.RESTRICTED


def test_a_refusal_by_the_action_itself_is_not_possible_leaking(room):  # R-HOST-10
    # Issue 13 review item: only the door's refusals (restriction, role, another officer's
    # recording) are possible leaking; the action's own (not-authentic) are listed apart.
    ev, item, clock = room
    mark(ev, item)
    asked = ask(ev, item, clock, clock() + DAY)
    with ev.write() as cur:
        restricted.grant(cur, asked.id, "boss", clock())
    clerk = Desk.login(ev, "clerk", PASSWORD, clock)
    with pytest.raises(Refused), clerk.act(audit.EXPORT, item):
        raise Refused("the footage failed its check", "not-authentic")
    with pytest.raises(Refused), clerk.act(audit.PUBLISH, item):  # no approval to publish
        pass
    with ev.read() as cur:
        leaks = restricted.leak_attempts(cur)
        other = restricted.other_refusals(cur)
    assert [(r.action, r.details["reason"]) for r in leaks] == [(audit.PUBLISH, "restricted")]
    assert [(r.action, r.details["reason"]) for r in other] == [(audit.EXPORT, "not-authentic")]


def test_the_door_reasons_are_the_ones_host_access_records():  # R-HOST-10
    from host import access

    assert set(restricted.ACCESS_REASONS) == {
        access.RESTRICTED, access.NOT_ALLOWED, access.NOT_OWN
    }  # fmt: skip
