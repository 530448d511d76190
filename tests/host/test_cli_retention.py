"""``sealcam retention`` on a real store (issue 13, R-HOST-3, R-HOST-5): a deletion asked for,
approved by someone else, past its grace period, removes media bytes only, and verify shows
it as authorised; holds, permanent classes and one's own approval are refused, recorded,
and change nothing. Time is a clock the test moves (``host.cli.auth.clock``): no waiting."""
# micropython: skip (the host's command line)

import json

import pytest

from host import audit, i18n, retention
from host.cli import auth
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host.retentionstore import (
    PASSWORD,
    add_case,
    link,
    note,
    sign,
    synced_store,
    the_recording,
)

DAY = 86_400_000
YEAR = 366 * DAY


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture(autouse=True)
def _english():
    i18n.use("en")
    yield
    i18n.use(None)


@pytest.fixture
def room(tmp_path, monkeypatch):
    """A store with one synced recording, the accounts, and a clock at its recording time."""
    monkeypatch.setenv("SEALCAM_PASSWORD", PASSWORD)
    monkeypatch.setenv("SEALCAM_USER", "clerk")  # who verifies (a store with accounts)
    ev = synced_store(tmp_path / "ev")
    sign(ev)  # the store's log signed as a sync leaves it; actions after it are info
    item = the_recording(ev)
    clock = Clock(item.started_ms)
    monkeypatch.setattr(auth, "clock", clock)
    return ev, item, clock, str(tmp_path / "ev")


def sealcam(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def retention_cmd(capsys, where, user, *args):
    return sealcam(capsys, "retention", args[0], "--evidence", where, "--user", user, *args[1:])


def trail(ev):
    with ev.read() as cur:
        return audit.history(cur)


def media_files(root) -> set:
    return {p.name for p in (root / "media").glob("??/*") if p.parent.name != "incoming"}


def test_request_approve_grace_run_deletes_media_only_and_verify_says_authorised(
    room, capsys, tmp_path
):  # R-HOST-3, R-HOST-5: ledger entries never deleted; verify shows an authorised deletion
    ev, item, clock, where = room
    root = tmp_path / "ev"
    with ev.read() as cur:
        digests = retention.media_of(cur, item.item_id)
        entries_before = cur.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert digests and {d.hex() for d in digests} <= media_files(root)

    # Before two years have run, nothing is deletable and a request is refused.
    code, out, _ = retention_cmd(capsys, where, "clerk", "plan")
    assert code == 0 and "0 recording(s)" in out
    code, _, err = retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "old")
    assert code == 1 and "must be kept until" in err
    assert trail(ev)[-1].outcome == audit.REFUSED

    clock.ms = retention.add_years(item.started_ms, 2)
    code, out, _ = retention_cmd(capsys, where, "clerk", "plan", "--json")
    plan = json.loads(out)
    assert [(i["item"], i["rule"], i["deletable_from_ms"]) for i in plan["items"]] == [
        (item.item_id, retention.DEFAULT, clock.ms)
    ]
    code, out, _ = retention_cmd(
        capsys, where, "clerk", "delete", item.item_id, "--reason", "two years"
    )
    assert code == 0, out
    code, _, err = retention_cmd(capsys, where, "clerk", "approve", item.item_id)
    assert code == 1 and "needs the role approver" in err  # not the role
    code, out, err = retention_cmd(capsys, where, "approver", "approve", item.item_id)
    assert code == 0, err

    # Within the grace period, run deletes nothing.
    clock.ms += 30 * DAY - 1
    code, out, _ = retention_cmd(capsys, where, "clerk", "run")
    assert code == 0 and "nothing deleted" in out
    assert {d.hex() for d in digests} <= media_files(root)

    clock.ms += 1
    code, out, err = retention_cmd(capsys, where, "clerk", "run")
    assert code == 0, err
    assert "%d media file(s) deleted" % len(digests) in out
    assert not {d.hex() for d in digests} & media_files(root)
    with ev.read() as cur:  # the ledger entries stay, every one
        assert cur.execute("SELECT count(*) FROM entries").fetchone()[0] == entries_before
    code, out, _ = retention_cmd(capsys, where, "clerk", "plan", "--json")
    assert json.loads(out)["items"] == []  # nothing left to delete
    (deleted,) = [r for r in trail(ev) if r.action == audit.DELETE]
    assert deleted.item == item.item_id and deleted.outcome == audit.DONE
    assert deleted.details["digests"] == digests and deleted.details["approved_by"] == "approver"

    code, out, err = sealcam(capsys, "verify", where)
    assert code == 0, out + err
    assert "media-deleted-authorised" in out and "approved by approver" in out
    # The device's report says the same of each chunk, not "not yet pulled".
    assert "deleted under the retention rules with recording %s" % item.item_id in out
    assert "not yet pulled" not in out
    code, out, _ = sealcam(capsys, "verify", where, "--json")
    found = {f["code"]: f for f in json.loads(out)["store"]["findings"]}
    assert found["media-deleted-authorised"]["severity"] == "info"
    assert "media-deleted" not in found

    # An export says in one line that the footage was deleted, not that it was never synced.
    code, _, err = sealcam(
        capsys, "export", "--evidence", where, "--device", item.device_id, "--recording",
        str(item.rec), "--out", str(tmp_path / "x.avi"), "--extractor", "clerk", "--user", "clerk",
    )  # fmt: skip
    assert code == 2 and "deleted under the retention rules" in err
    assert len(err.strip().splitlines()) == 1


def test_media_removed_without_the_approval_chain_is_still_loss(room, capsys, tmp_path):
    # R-HOST-10: deleting without authority is surfaced; an approval of one's own is none
    ev, item, _clock, where = room
    with ev.read() as cur:
        digests = retention.media_of(cur, item.item_id)
    store = SqliteEvidenceStore(tmp_path / "ev")
    store.remove_media(digests[:1])
    code, out, _ = sealcam(capsys, "verify", where)
    assert code == 1 and "media-deleted " in out and "media-deleted-authorised" not in out
    assert "not yet pulled, or removed" in out


def test_the_requester_cannot_approve_their_own_request(room, capsys, monkeypatch):
    # Issue 13: a deletion needs an approver other than the one who asked
    ev, item, clock, where = room
    with ev.write() as cur:
        from host import people

        people.add_user(cur, "both", (people.CLERK, people.APPROVER), PASSWORD, 0)
    clock.ms = retention.add_years(item.started_ms, 3)
    assert retention_cmd(capsys, where, "both", "delete", item.item_id, "--reason", "old")[0] == 0
    code, _, err = retention_cmd(capsys, where, "both", "approve", item.item_id)
    assert code == 1 and "another user must approve it" in err
    last = trail(ev)[-1]
    assert (last.action, last.outcome, last.details["reason"]) == (
        audit.DELETE_APPROVE, audit.REFUSED, retention.OWN_REQUEST
    )  # fmt: skip
    with ev.read() as cur:
        assert retention.live_deletion(cur, item.item_id).approved_by is None


def test_a_hold_refuses_deletion_at_every_step_and_changes_nothing(room, capsys, tmp_path):
    # R-HOST-3: a legal hold stops all deletion until released
    ev, item, clock, where = room
    root = tmp_path / "ev"
    clock.ms = retention.add_years(item.started_ms, 3)
    assert retention_cmd(capsys, where, "legal", "hold", item.item_id, "--reason", "appeal")[0] == 0
    before = media_files(root)
    code, _, err = retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "old")
    assert code == 1 and "legal hold" in err and "legal" in err
    last = trail(ev)[-1]
    assert (last.action, last.outcome, last.details["reason"]) == (
        audit.DELETE_REQUEST, audit.REFUSED, retention.HELD
    )  # fmt: skip
    with ev.read() as cur:
        assert retention.live_deletion(cur, item.item_id) is None
    code, out, _ = retention_cmd(capsys, where, "clerk", "plan")
    assert "HELD" in out

    # Released, asked for and approved; a hold placed again before the run stops the run.
    assert (
        retention_cmd(capsys, where, "clerk", "release", item.item_id, "--reason", "done")[0] == 0
    )
    assert retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "old")[0] == 0
    assert retention_cmd(capsys, where, "approver", "approve", item.item_id)[0] == 0
    assert retention_cmd(capsys, where, "legal", "hold", item.item_id, "--reason", "again")[0] == 0
    clock.ms += 31 * DAY
    code, _, err = retention_cmd(capsys, where, "clerk", "run")
    assert code == 1 and "legal hold" in err
    assert media_files(root) == before
    assert trail(ev)[-1].action == audit.DELETE and trail(ev)[-1].outcome == audit.REFUSED
    code, out, err = sealcam(capsys, "verify", where)
    assert code == 0, out + err


def test_a_hold_on_a_case_and_an_unknown_case(room, capsys):  # issue 13: bad input, exit 2
    ev, item, clock, where = room
    code, _, err = retention_cmd(capsys, where, "legal", "hold", "--case", "NO-1", "--reason", "x")
    assert code == 2 and "there is no case NO-1" in err
    assert trail(ev)[-1].outcome == audit.REFUSED
    add_case(ev, "A-1", closed_ms=item.started_ms)
    link(ev, "A-1", item.item_id)
    assert retention_cmd(capsys, where, "legal", "hold", "--case", "A-1", "--reason", "x")[0] == 0
    clock.ms = retention.add_years(item.started_ms, 5)
    code, _, err = retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")
    assert code == 1 and "through case A-1" in err


@pytest.mark.parametrize(
    "setup, rule",
    [
        (lambda ev, i: note(ev, i, "obstruction"), "obstruction of enforcement"),
        (lambda ev, i: note(ev, i, "emergency"), "major emergency"),
        (lambda ev, i: (add_case(ev, "M-1", major=True, closed_ms=0), link(ev, "M-1", i)),
         "major or complex case M-1"),
        (lambda ev, i: (note(ev, i, "evidence"), add_case(ev, "M-2", major=True),
                        link(ev, "M-2", i)), "evidence in major case M-2"),
        (lambda ev, i: (add_case(ev, "O-1"), link(ev, "O-1", i)), "as long as its case file"),
    ],
)  # fmt: skip
def test_the_permanent_classes_and_open_cases_are_never_deletable(room, capsys, setup, rule):
    # R-HOST-3: kept forever (or while the case is open), whatever the date
    ev, item, clock, where = room
    setup(ev, item.item_id)
    clock.ms = retention.add_years(item.started_ms, 60)
    code, out, _ = retention_cmd(capsys, where, "clerk", "plan", "--json")
    assert json.loads(out)["items"] == []
    code, _, err = retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")
    assert code == 1 and rule in err


def test_shortening_a_permanent_class_is_refused_and_recorded(room, capsys):
    # R-HOST-3: a policy change that shortens a permanent class is refused, exit 1, audited
    ev, item, clock, where = room
    code, _, err = retention_cmd(capsys, where, "clerk", "policy", "--years", "1")
    assert code == 1 and "needs the role administrator" in err
    code, _, err = retention_cmd(capsys, where, "admin", "policy", "--category", "obstruction=30")
    assert code == 1 and "category obstruction is kept forever" in err
    last = trail(ev)[-1]
    assert (last.action, last.outcome, last.details["reason"]) == (
        audit.POLICY_CHANGE, audit.REFUSED, retention.PERMANENT
    )  # fmt: skip
    code, _, err = retention_cmd(capsys, where, "admin", "policy", "--years", "0")
    assert code == 1 and "at least 1 year" in err
    code, _, err = retention_cmd(capsys, where, "admin", "policy", "--category", "nonsense=3")
    assert code == 2 and "names no category" in err
    with ev.read() as cur:  # nothing changed: the defaults (mass incidents kept forever)
        assert retention.policy(cur) == retention.Policy(
            permanent_case_types=frozenset({"mass-incident"})
        )

    # An agency may set one year, a category's own period, and keep a category forever.
    code, out, err = retention_cmd(
        capsys, where, "admin", "policy", "--years", "1", "--category", "training=3",
        "--forever", "complaint", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["retention_years"] == 1
    change = trail(ev)[-1]
    assert change.action == audit.POLICY_CHANGE and change.outcome == audit.DONE
    assert change.details["changed"]["retention_years"] == [2, 1]
    code, _, err = retention_cmd(capsys, where, "admin", "policy", "--category", "complaint=5")
    assert code == 1 and "complaint is kept forever" in err
    clock.ms = retention.add_years(item.started_ms, 1)
    code, out, _ = retention_cmd(capsys, where, "clerk", "plan", "--json")
    assert [i["item"] for i in json.loads(out)["items"]] == [item.item_id]


def test_undo_within_the_grace_period_and_not_after(room, capsys, tmp_path):
    # Issue 13: a deletion can be undone within its grace period
    _ev, item, clock, where = room
    clock.ms = retention.add_years(item.started_ms, 2)
    assert retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")[0] == 0
    assert retention_cmd(capsys, where, "approver", "approve", item.item_id)[0] == 0
    clock.ms += 29 * DAY
    assert retention_cmd(capsys, where, "clerk2", "undo", item.item_id)[0] == 0
    clock.ms += 2 * DAY
    code, out, _ = retention_cmd(capsys, where, "clerk", "run")
    assert code == 0 and "nothing deleted" in out
    # Asked again and approved: after the grace period it can no longer be undone.
    assert retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")[0] == 0
    assert retention_cmd(capsys, where, "approver", "approve", item.item_id)[0] == 0
    clock.ms += 30 * DAY
    code, _, err = retention_cmd(capsys, where, "clerk", "undo", item.item_id)
    assert code == 1 and "can no longer be undone" in err
    assert retention_cmd(capsys, where, "clerk", "run")[0] == 0
    code, out, err = sealcam(capsys, "verify", where)
    assert code == 0, out + err
    assert "media-deleted-authorised" in out


def test_messages_in_chinese(room, capsys):  # issue 17: Chinese first
    _ev, item, _clock, where = room
    code, _, err = sealcam(
        capsys, "--lang", "zh", "retention", "delete", "--evidence", where, "--user", "clerk",
        item.item_id, "--reason", "old",
    )  # fmt: skip
    assert code == 1 and "须保存至" in err and "UTC+8" in err


def test_a_media_file_another_recording_names_stays_until_the_last_goes(room, capsys, tmp_path):
    # R-HOST-5: content-addressed media can be one file for two recordings (the same init
    # segment, the same silence); deleting one recording must not take the other's footage
    ev, item, clock, where = room
    root = tmp_path / "ev"
    ev.add_tables(retention.SCHEMA)
    with ev.write() as cur:
        digests = retention.media_of(cur, item.item_id)
        retention.refresh_refs(cur)
        cur.execute("INSERT INTO media_refs VALUES (?, ?)", (digests[0], "SC-OTHER/7"))
    clock.ms = retention.add_years(item.started_ms, 2)
    assert retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")[0] == 0
    assert retention_cmd(capsys, where, "approver", "approve", item.item_id)[0] == 0
    clock.ms += 30 * DAY
    code, out, err = retention_cmd(capsys, where, "clerk", "run", "--json")
    assert code == 0, err
    (done,) = json.loads(out)["deleted"]
    assert done["kept_shared"] == [digests[0].hex()]
    assert digests[0].hex() in media_files(root)
    assert not {d.hex() for d in digests[1:]} & media_files(root)
    (deleted,) = [r for r in trail(ev) if r.action == audit.DELETE]
    assert deleted.details["digests"] == digests[1:]
    assert deleted.details["kept_shared"] == digests[:1]
    code, out, err = sealcam(capsys, "verify", where)
    assert code == 0, out + err


def test_a_run_cut_off_before_the_files_went_finishes_at_the_next(
    room, capsys, tmp_path, monkeypatch
):
    # R-HOST-5: the delete record is committed before any file goes; a crash between the two
    # leaves files the record names, and the next run removes them (no second record)
    ev, item, clock, where = room
    root = tmp_path / "ev"
    with ev.read() as cur:
        digests = retention.media_of(cur, item.item_id)
    clock.ms = retention.add_years(item.started_ms, 2)
    assert retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")[0] == 0
    assert retention_cmd(capsys, where, "approver", "approve", item.item_id)[0] == 0
    clock.ms += 30 * DAY
    real = SqliteEvidenceStore.remove_media
    monkeypatch.setattr(SqliteEvidenceStore, "remove_media", lambda self, digests: 0)
    assert retention_cmd(capsys, where, "clerk", "run")[0] == 0
    assert {d.hex() for d in digests} <= media_files(root)  # the "crash": files still there
    code, out, err = sealcam(capsys, "verify", where)
    assert code == 0, out + err  # a record naming files still held is no loss
    monkeypatch.setattr(SqliteEvidenceStore, "remove_media", real)
    code, out, _ = retention_cmd(capsys, where, "clerk", "run")
    assert code == 0 and "of a deletion recorded earlier removed" in out
    assert not {d.hex() for d in digests} & media_files(root)
    assert len([r for r in trail(ev) if r.action == audit.DELETE]) == 1
    code, out, err = sealcam(capsys, "verify", where)
    assert code == 0 and "media-deleted-authorised" in out, out + err


def test_a_case_type_kept_forever_keeps_its_recordings(room, capsys):
    # R-HOST-3: major emergencies and mass incidents are kept forever (host.cases's default
    # case type mass-incident is permanent), even after the case closes
    ev, item, clock, where = room
    add_case(ev, "E-1", closed_ms=item.started_ms, case_type="mass-incident")
    link(ev, "E-1", item.item_id)
    clock.ms = retention.add_years(item.started_ms, 60)
    code, _, err = retention_cmd(capsys, where, "clerk", "delete", item.item_id, "--reason", "o")
    assert code == 1 and "case E-1 is of a type kept forever" in err


def test_keep_up_on_the_embedded_store_has_nothing_to_extend(room, capsys):
    # The command exists on both stores; files have no object locks (issue 18). One record
    # per run, in either language, exit 0.
    ev, _item, _clock, where = room
    code, out, err = retention_cmd(capsys, where, "clerk", "keep-up")
    assert code == 0 and "nothing to extend" in out and err == ""
    code, out, _ = retention_cmd(capsys, where, "clerk", "keep-up", "--json")
    assert code == 0 and json.loads(out)["locks"] is False
    code, out, _ = sealcam(capsys, "--lang", "zh", "retention", "keep-up", "--evidence", where,
                           "--user", "clerk")  # fmt: skip
    assert code == 0 and "内嵌证据库" in out
    runs = [r for r in trail(ev) if r.action == audit.LOCK_KEEP_UP]
    assert len(runs) == 3 and all(r.details["store"] == "embedded" for r in runs)
    # An approver may not run it: refused and recorded, exit 1.
    code, _, err = retention_cmd(capsys, where, "approver", "keep-up")
    assert code == 1 and err
