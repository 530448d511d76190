"""The same evidence-management journeys on both stores (issue 18: "every command works on
both, and the tests run the shared behaviour tests against both"): the embedded store (a
folder) and the scale-out one (PostgreSQL and Ceph's S3 gateway), each through the command
line a person uses, ``--evidence DIR`` or ``--evidence postgresql://... --media s3://B``.
Accounts and login, the audit trail and the log that covers it, a case with its recording,
a restriction and its approval, the retention plan and a hold, a recorder's checkout and
return, and a review sample: what each says, and what each leaves on record, is the same."""
# micropython: skip (host code, real services)

import datetime
import hashlib
import itertools
import json

import pytest

from host import audit, hostlog, i18n, items, people, tlog
from host.cli import auth
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host.helpers import (
    ACCOUNT_PASSWORD,
    sign_checkpoint,
    synced_evidence,
    with_accounts,
)
from tests.scaleout.helpers import copy_into_scaleout

ACCOUNTS = (
    ("admin", (people.ADMINISTRATOR,), None),
    ("clerk", (people.CLERK,), None),
    ("boss", (people.APPROVER,), None),
    ("legal", (people.LEGAL,), None),
    ("wang", (people.OFFICER,), "P-0427"),  # the officer whose recording the store holds
)
HOUR = 3_600_000


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


class Room:
    """One store of either kind with a synced recording and the accounts."""

    def __init__(self, store, where: tuple, item: items.Item, clock: Clock) -> None:
        self.store = store
        self.where = where  # --evidence ... (and --media ...)
        self.item = item
        self.clock = clock

    def run(self, capsys, user: str, *argv: str) -> tuple:
        code = main([*argv, *self.where, "--user", user])
        out = capsys.readouterr()
        return code, out.out, out.err

    def ok(self, capsys, user: str, *argv: str) -> str:
        code, out, err = self.run(capsys, user, *argv)
        assert code == 0, err
        return out

    def trail(self) -> list:
        with self.store.read() as cur:
            return audit.history(cur)


def _store(request, tmp_path, monkeypatch) -> tuple:
    """A store of the kind the test is parametrised with, holding one synced recording:
    (the store, its --evidence/--media arguments)."""
    i18n.use("en")
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    monkeypatch.delenv("SEALCAM_USER", raising=False)
    path = synced_evidence(tmp_path / "ev")
    if request.param == "embedded":
        return SqliteEvidenceStore(path), ("--evidence", str(path))
    url, media = request.getfixturevalue("scale_store")
    src = SqliteEvidenceStore(path, readonly=True)
    store = copy_into_scaleout(src, url, media)
    src.close()
    return store, ("--evidence", url, "--media", media)


@pytest.fixture(params=["embedded", "scaleout"])
def bare(request, tmp_path, monkeypatch):
    """A store of either kind with a synced recording and no accounts yet."""
    store, where = _store(request, tmp_path, monkeypatch)
    yield store, where
    store.close()
    i18n.use(None)


@pytest.fixture(params=["embedded", "scaleout"])
def room(request, tmp_path, monkeypatch):
    store, where = _store(request, tmp_path, monkeypatch)
    with_accounts(store, ACCOUNTS)
    sign_checkpoint(store)  # the log signed, as a sync leaves it
    with store.read() as cur:
        (item,) = items.find(cur)
    clock = Clock(item.started_ms + HOUR)
    monkeypatch.setattr(auth, "clock", clock)
    yield Room(store, where, item, clock)
    store.close()
    i18n.use(None)


def test_login_and_the_audit_trail_with_its_log_proof(room, capsys, monkeypatch):
    # R-HOST-5; issue 18: accounts, login and the audit trail on both stores.
    monkeypatch.setenv("SEALCAM_PASSWORD", "not the password")
    code, _out, err = room.run(capsys, "admin", "user", "list")
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)
    listed = json.loads(room.ok(capsys, "admin", "user", "list", "--json"))
    assert sorted(u["name"] for u in listed["users"]) == sorted(a[0] for a in ACCOUNTS)
    trail = room.trail()
    assert [(r.actor, r.action, r.outcome) for r in trail[-3:]] == [
        ("admin", audit.LOGIN_FAILED, audit.REFUSED),
        ("admin", audit.LOGIN, audit.DONE),
        ("admin", audit.VIEW, audit.DONE),
    ]
    assert trail[-3].details["reason"] == people.WRONG
    # The trail is chained, and each record is a leaf of the host's log: the log's head
    # covers it (an inclusion proof against the tree the leaves make).
    for before, after in itertools.pairwise(trail):
        assert after.prev == before.hash
    shown = json.loads(room.ok(capsys, "admin", "audit", "--of", "admin", "--json"))
    assert [r["action"] for r in shown["records"]][-4:] == [
        audit.LOGIN_FAILED, audit.LOGIN, audit.VIEW, audit.LOGIN,  # the reading's own login
    ]  # fmt: skip
    head = room.store.log_head()
    with room.store.read() as cur:
        leaves = [bytes(r[0]) for r in cur.execute("SELECT data FROM log ORDER BY idx")]
    assert len(leaves) == head.size
    # The newest record before the reading (the audit read itself is after it).
    index = next(i for i, x in enumerate(leaves) if hashlib.sha256(x).digest() == trail[-1].hash)
    assert hostlog.parse_leaf(leaves[index])[0] == hostlog.AUDIT
    hashes = [tlog.leaf_hash(x) for x in leaves]
    proof = tlog.inclusion_proof(hashes, index, head.size)
    assert tlog.verify_inclusion(hashes[index], index, head.size, proof, head.root)


def test_a_case_with_its_recording(room, capsys):
    # R-HOST-4 (a case and the recordings in it); issue 18: the same on both stores.
    item = room.item.item_id
    room.ok(capsys, "clerk", "case", "add", "--number", "2026-0042", "--type", "detention",
            "--title", "a fight outside the station", "--responsible", "Wang Li",
            "--place", "Station Road 1", "--when", "2026-11-23 14:00")  # fmt: skip
    room.ok(capsys, "clerk", "case", "link", "2026-0042", item)
    room.ok(capsys, "clerk", "case", "link", "2026-0042", item)  # linked once, however often
    shown = json.loads(room.ok(capsys, "clerk", "case", "show", "2026-0042", "--json"))
    assert [r["item_id"] for r in shown["items"]] == [item]
    listed = json.loads(room.ok(capsys, "clerk", "case", "list", "--json"))
    assert [(c["case_no"], c["items"]) for c in listed["cases"]] == [("2026-0042", 1)]
    code, _out, err = room.run(capsys, "wang", "case", "link", "2026-0042", item)
    assert code == 1 and "needs the role" in err  # an officer links nothing: refused, recorded
    last = room.trail()[-1]
    assert (last.actor, last.action, last.outcome) == ("wang", audit.LINK_CASE, audit.REFUSED)


def test_a_restriction_and_its_approval(room, capsys):
    # R-HOST-6: restricted footage is reached only under an approval in force.
    item = room.item.item_id
    room.ok(capsys, "clerk", "restrict", item, "--kind", "private", "--reason", "a witness")
    room.ok(capsys, "clerk", "approval", "request", item, "--action", "play",
            "--purpose", "court case 17", "--until", "2026-12-31")  # fmt: skip
    code, _out, err = room.run(capsys, "clerk", "approval", "grant", "1")
    assert code == 1 and "needs the role approver" in err  # not one's own approval
    room.clock.ms += 60_000
    assert "approval 1 granted by boss" in room.ok(capsys, "boss", "approval", "grant", "1")
    listed = json.loads(room.ok(capsys, "boss", "approval", "list", "--json"))
    (one,) = listed
    assert (one["id"], one["item_id"], one["state"], one["approved_by"]) == (
        1, item, "approved", "boss")  # fmt: skip
    actions = [(r.actor, r.action, r.outcome) for r in room.trail()]
    assert ("clerk", audit.RESTRICT, audit.DONE) in actions
    assert ("clerk", audit.APPROVE, audit.REFUSED) in actions
    assert actions.index(("clerk", audit.APPROVE, audit.REFUSED)) < actions.index(
        ("boss", audit.APPROVE, audit.DONE))  # fmt: skip


def test_the_retention_plan_and_a_hold(room, capsys):
    # R-HOST-3: a held recording is in the plan, held; its deletion is refused.
    item = room.item.item_id
    within = ("retention", "plan", "--within", "3650", "--json")  # ten years
    plan = json.loads(room.ok(capsys, "clerk", *within))
    assert [(r["item"], r["rule"], r["held"]) for r in plan["items"]] == [(item, "default", False)]
    room.ok(capsys, "legal", "retention", "hold", item, "--reason", "an appeal")
    plan = json.loads(room.ok(capsys, "clerk", *within))
    assert [(r["item"], r["rule"], r["held"]) for r in plan["items"]] == [(item, "default", True)]
    code, _out, err = room.run(capsys, "clerk", "retention", "delete", item, "--reason", "old")
    assert code == 1 and err.strip()
    last = room.trail()[-1]
    assert (last.action, last.item, last.outcome) == (audit.DELETE_REQUEST, item, audit.REFUSED)
    # Nothing approved and past its grace period: a run deletes nothing, on either store.
    assert "nothing deleted" in room.ok(capsys, "clerk", "retention", "run")


def test_a_recorder_checked_out_and_returned(room, capsys):
    # R-HOST-9: the register of recorders, their checkouts and returns.
    from tests.protocol.helpers import DEVICE

    room.ok(capsys, "clerk", "unit", "add", "U-1", "--name", "Patrol 1", "--class", "A",
            "--officers", "4")  # fmt: skip
    room.ok(capsys, "clerk", "unit", "member", "P-0427", "P-0001", "--unit", "U-1")
    room.ok(capsys, "clerk", "device", "add", DEVICE, "--model", "DSJ-V9", "--serial", "SN-77",
            "--unit", "U-1", "--keeper", "Li Ming")  # fmt: skip
    room.ok(capsys, "clerk", "device", "checkout", DEVICE, "--officer", "P-0427", "--hours", "10")
    code, _out, err = room.run(capsys, "clerk", "device", "checkout", DEVICE, "--officer",
                               "P-0001", "--hours", "2")  # fmt: skip
    assert code == 1 and err.strip()  # already out
    room.clock.ms += HOUR
    room.ok(capsys, "clerk", "device", "return", DEVICE)
    doc = json.loads(room.ok(capsys, "clerk", "device", "show", DEVICE, "--json"))
    assert [(c["id"], c["officer_id"]) for c in doc["checkouts"]] == [(1, "P-0427")]
    assert all(c["returned_ms"] == room.clock.ms for c in doc["checkouts"])
    code, out, err = room.run(capsys, "admin", "report", "allocation", "--json")
    assert code == 1, err  # a unit short of recorders: exit 1
    (unit,) = json.loads(out)["units"]
    assert (unit["unit_id"], unit["in_service"], unit["required"], unit["met"]) == (
        "U-1", 1, 2, False)  # fmt: skip


def test_a_review_sample(room, capsys):
    # R-HOST-7: a sample drawn by a recorded seed, and its finding.
    day = datetime.datetime.fromtimestamp(room.item.started_ms / 1000, datetime.UTC)
    since = (day - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    until = (day + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    out = room.ok(capsys, "legal", "review", "plan", "--officer", "P-0427", "--since", since,
                  "--until", until, "--count", "1")  # fmt: skip
    assert "plan 1" in out
    drawn = json.loads(room.ok(capsys, "legal", "review", "draw", "1", "--json"))
    assert drawn["sample"] == [room.item.item_id]
    record = next(r for r in room.trail() if r.seq == drawn["audit_seq"])
    assert record.action == audit.SAMPLE and record.details["seed"].hex() == drawn["seed"]
    replay = json.loads(room.ok(capsys, "legal", "review", "replay", "1", "--json"))
    assert replay["ok"] is True  # the seed and the log it names give the same sample
    queue = json.loads(room.ok(capsys, "legal", "review", "queue", "--json"))
    assert [(q["plan"], q["item"]["item_id"]) for q in queue] == [(1, room.item.item_id)]


def test_the_policy_a_category_and_the_reports(room, capsys):
    # R-HOST-3 (a category's period decides retention), R-HOST-10 (the violations report),
    # R-HOST-7 (the review report): the same answers from both stores.
    item = room.item.item_id
    room.ok(capsys, "admin", "retention", "policy", "--years", "5", "--category", "evidence=10")
    room.ok(capsys, "admin", "setting", "set", "time-zone", "Asia/Urumqi")
    shown = json.loads(room.ok(capsys, "admin", "setting", "show", "--json"))
    zone = [(r["value"], r["default"]) for r in shown["settings"] if "zone" in r["name"]]
    assert zone == [("Asia/Urumqi", False)]
    room.ok(capsys, "clerk", "item", "note", item, "--category", "evidence", "--proves", "a fight")
    plan = json.loads(room.ok(capsys, "clerk", "retention", "plan", "--within", "36500", "--json"))
    ((one, category, rule, until),) = [
        (r["item"], r["category"], r["rule"], r["deletable_from_ms"]) for r in plan["items"]
    ]
    assert (one, category, rule) == (item, "evidence", "category")
    assert until > room.item.started_ms + 9 * 365 * 24 * HOUR
    day = datetime.datetime.fromtimestamp(room.item.started_ms / 1000, datetime.UTC)
    scope = ("--since", (day - datetime.timedelta(days=1)).strftime("%Y-%m-%d"),
             "--until", (day + datetime.timedelta(days=1)).strftime("%Y-%m-%d"))  # fmt: skip
    code, out, err = room.run(capsys, "legal", "report", "violations", *scope, "--json")
    assert code == 1, err  # a violation found: exit 1
    found = [
        (v["kind"], v["officer"], v["evidence"]["item"]) for v in json.loads(out)["violations"]
    ]
    assert found == [("late-upload", "P-0427", item)]  # the test recording reached us late
    code, out, err = room.run(capsys, "legal", "report", "review", *scope, "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == []  # nothing sampled yet


def test_the_first_account_is_an_administrator_made_without_a_login(bare, capsys, monkeypatch):
    # Issue 18: ``sealcam user`` on both stores; R-HOST-5: the first user-add is on record.
    store, where = bare
    monkeypatch.setenv("SEALCAM_NEW_PASSWORD", "first admin password")
    assert main(["user", "add", *where, "--name", "li", "--role", "legal-reviewer"]) == 1
    assert main(["user", "add", *where, "--name", "root", "--role", "administrator"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("SEALCAM_PASSWORD", "first admin password")
    assert main(["user", "list", *where, "--user", "root", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["roles"]) for u in listed["users"]] == [("root", ["administrator"])]
    with store.read() as cur:
        trail = audit.history(cur)
    assert [(r.actor, r.action, r.outcome, r.details.get("first")) for r in trail[:3]] == [
        ("li", audit.USER_ADD, audit.REFUSED, True),
        ("root", audit.USER_ADD, audit.DONE, True),
        ("root", audit.LOGIN, audit.DONE, None),
    ]


ROUNDS = 8  # actions per desk in the race below: enough to interleave, bounded


def test_two_hosts_acting_at_once_keep_one_audit_chain(room, capsys):
    # R-HOST-5 (an unbroken trail); issue 18: many hosts write one store. Two desks, each on
    # a store opened apart (the scale-out one: its own connection, as another host has),
    # act at the same time; every action lands, and the trail stays one chain.
    import threading

    from host.access import Desk

    if isinstance(room.store, SqliteEvidenceStore):
        other = SqliteEvidenceStore(room.store.root)
    else:
        from host.pgstore import PgEvidenceStore

        other = PgEvidenceStore(room.store.url, "s3://" + room.store.media.bucket)
    desks = [Desk.login(s, "clerk", ACCOUNT_PASSWORD, now=room.clock) for s in (room.store, other)]
    before = len(room.trail())
    start = threading.Barrier(2)
    failed: list = []

    def act(desk) -> None:
        try:
            start.wait(timeout=60)
            for n in range(ROUNDS):
                with desk.act(audit.VIEW, room.item.item_id, round=n):
                    pass
        except Exception as exc:  # reported below, with what it was
            failed.append(repr(exc))

    threads = [threading.Thread(target=act, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    other.close()
    assert not failed, failed
    trail = room.trail()
    assert len(trail) == before + 2 * ROUNDS
    assert [r.seq for r in trail] == list(range(len(trail)))
    for earlier, later in itertools.pairwise(trail):
        assert later.prev == earlier.hash


def test_verify_of_a_store_with_accounts_is_on_record(room, capsys):
    # R-HOST-5 (who checked the store is on record), issue 18: verify on both stores.
    where = [room.where[1], *room.where[2:]]  # verify names the store as its argument
    assert main(["verify", *where, "--user", "wang"]) == 1  # an officer may not: refused
    assert "Traceback" not in capsys.readouterr().err
    last = room.trail()[-1]
    assert (last.actor, last.action, last.outcome) == ("wang", audit.VERIFY, audit.REFUSED)
    code = main(["verify", *where, "--user", "clerk", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    json.loads(out.out)
    last = room.trail()[-1]
    assert (last.actor, last.action, last.outcome) == ("clerk", audit.VERIFY, audit.DONE)
    assert last.details["verdict"] == "OK"
