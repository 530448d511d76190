"""``sealcam restrict``, ``sealcam approval`` and ``sealcam export --user`` (issue 13): restricted
footage leaves the store only under an approval in force (R-HOST-6), an export becomes a
derivative item linked to its original by hash (R-HOST-5), and every refused try is listed
as possible leaking (R-HOST-10)."""
# micropython: skip (the host's command line)

import datetime
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host import audit, i18n, items, localtime, people
from host.cli import auth
from host.cli.approve import local_ms
from host.cli.auth import PASSWORD_ENV
from host.cli.common import UsageProblem
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host.deskstore import PASSWORD, Clock, store_with, the_recording, trail
from tests.protocol.helpers import DEVICE

DAY = 86_400_000


@pytest.fixture
def room(tmp_path, monkeypatch):
    """A store with a clerk, an officer and an approver; its recording's id; the clock every
    desk a command opens reads (host.cli.auth's, replaced)."""
    path = store_with(
        tmp_path,
        ("clerk", (people.CLERK,), None),
        ("officer", (people.OFFICER,), "P-0427"),
        ("boss", (people.APPROVER,), None),
        ("admin", (people.ADMINISTRATOR,), None),
    )
    clock = Clock()
    monkeypatch.setattr(auth, "clock", clock)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.delenv("SEALCAM_USER", raising=False)
    ev = SqliteEvidenceStore(path)
    item = the_recording(ev).item_id
    ev.close()
    yield path, item, clock
    i18n.use(None)


def sealcam(path, user, *argv):
    return main([*argv, "--evidence", str(path), "--user", user])


def export(path, user, out, *extra):
    return main(["export", "--evidence", str(path), "--device", DEVICE, "--out", str(out),
                 "--user", user, *extra])  # fmt: skip


def records(path):
    ev = SqliteEvidenceStore(path)
    try:
        return trail(ev)
    finally:
        ev.close()


def restrict(path, item):
    assert sealcam(path, "clerk", "restrict", item, "--kind", "private",
                   "--reason", "a witness is named") == 0  # fmt: skip


def test_restricted_footage_is_exported_only_under_an_approval_in_force(room, tmp_path, capsys):
    # R-HOST-6, R-HOST-5, R-HOST-10
    path, item, clock = room
    restrict(path, item)
    assert "is restricted now (private matters)" in capsys.readouterr().out
    out = tmp_path / "case-17.avi"

    assert export(path, "clerk", out) == 1  # no approval: refused, in one line
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "clerk needs an approval" in err and "(boss)" in err
    assert not out.exists() and not (tmp_path / "case-17.avi.json").exists()
    last = records(path)[-1]
    assert (last.action, last.item, last.outcome, last.details["reason"]) == (
        audit.EXPORT, item, audit.REFUSED, "restricted")  # fmt: skip

    # 2026-12-05 00:00 in Asia/Shanghai now: until the end of the 6th, local time.
    assert sealcam(path, "clerk", "approval", "request", item, "--action", "export",
                   "--purpose", "court case 17", "--until", "2026-12-06") == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "approval request 1: clerk asks to export" in said
    assert "until 2026-12-07 00:00:00 UTC+8" in said
    assert sealcam(path, "officer", "approval", "grant", "1") == 1  # an officer cannot grant
    assert "needs the role approver" in capsys.readouterr().err
    assert sealcam(path, "clerk", "approval", "grant", "1") == 1  # nor a clerk
    capsys.readouterr()
    clock.ms += 60_000
    assert sealcam(path, "boss", "approval", "grant", "1") == 0
    assert "approval 1 granted by boss" in capsys.readouterr().out

    assert export(path, "clerk", out) == 0
    said = capsys.readouterr().out
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    note = json.loads((tmp_path / "case-17.avi.json").read_text())
    assert note["extracted_by"] == "clerk" and note["file_sha256"] == sha
    derived = "%s~%s" % (item, sha[:12])
    assert "registered as item %s" % derived in said
    ev = SqliteEvidenceStore(path)
    with ev.read() as cur:
        copy = items.get(cur, derived)
    ev.close()
    assert (copy.kind, copy.origin, copy.sha256) == (items.DERIVATIVE, item, bytes.fromhex(sha))
    done = records(path)[-1]
    assert (done.action, done.item, done.outcome) == (audit.EXPORT, item, audit.DONE)
    assert (done.details["derivative"], done.details["sha256"]) == (derived, sha)
    assert done.details["approval"] == 1

    clock.ms += 2 * DAY  # past the end of the 6th: the approval has ended
    later = tmp_path / "later.avi"
    assert export(path, "clerk", later) == 1
    assert not later.exists()
    capsys.readouterr()

    assert sealcam(path, "boss", "approval", "attempts") == 1  # possible leaking: exit 1
    listed = capsys.readouterr().out
    refused = "clerk tried to export %s: refused (restricted, no approval in force)" % item
    assert listed.count(refused) == 2
    assert "2 refused attempt(s) at restricted footage in the whole audit trail" in listed
    assert sealcam(path, "boss", "approval", "attempts", "--json", "--since",
                   "2026-12-06") == 1  # fmt: skip
    listed = json.loads(capsys.readouterr().out)
    assert listed["other"] == []
    (late,) = listed["leaking"]
    assert (late["actor"], late["action"], late["item"]) == ("clerk", "export", item)
    assert sealcam(path, "boss", "approval", "attempts", "--since", "2026-12-08") == 0
    assert "no refused attempt" in capsys.readouterr().out


def test_the_refusal_is_chinese_with_lang_zh(room, tmp_path, capsys):  # issue 13: Chinese first
    path, item, _ = room
    restrict(path, item)
    capsys.readouterr()
    assert export(path, "clerk", tmp_path / "a.avi", "--lang", "zh") == 1
    err = capsys.readouterr().err
    assert "涉及个人隐私，已受限" in err and "须经角色为 approver 的用户审批（boss）" in err


def test_requests_are_listed_refused_and_revoked(room, capsys):  # R-HOST-6
    path, item, clock = room
    restrict(path, item)
    for purpose in ("court case 17", "a training film"):
        assert sealcam(path, "clerk", "approval", "request", item, "--action", "publish",
                       "--purpose", purpose, "--until", "2026-12-31 18:00") == 0  # fmt: skip
    assert sealcam(path, "boss", "approval", "refuse", "2", "--reason", "not for training") == 0
    assert sealcam(path, "boss", "approval", "grant", "1") == 0
    assert sealcam(path, "boss", "approval", "refuse", "1", "--reason", "late") == 1
    assert "is in force, not awaiting a decision" in capsys.readouterr().err
    assert sealcam(path, "boss", "approval", "list", "--json") == 0
    listed = {a["id"]: a for a in json.loads(capsys.readouterr().out)}
    assert listed[1]["state"] == "approved" and listed[2]["state"] == "refused"
    assert listed[1]["until_ms"] == clock.ms + 26 * DAY + 18 * 3_600_000  # UTC ms
    assert listed[2]["decision_note"] == "not for training"
    assert sealcam(path, "boss", "approval", "revoke", "1", "--reason", "case dropped") == 0
    assert sealcam(path, "boss", "approval", "list") == 0
    text = capsys.readouterr().out
    assert "1  revoked  %s  publish  for clerk" % item in text
    assert "revoked by boss at 2026-12-05 00:00:00 UTC+8: case dropped" in text
    assert sealcam(path, "boss", "approval", "list", "--pending") == 0
    assert "no request awaits a decision" in capsys.readouterr().out
    steps = [r for r in records(path) if r.action in (audit.APPROVE, audit.REFUSE)]
    assert [(r.action, r.outcome) for r in steps] == [
        (audit.REFUSE, audit.DONE),
        (audit.APPROVE, audit.DONE),
        (audit.REFUSE, audit.REFUSED),
        (audit.REFUSE, audit.DONE),
    ]
    assert [r.details.get("step") for r in steps[:2] + steps[3:]] == ["refuse", "grant", "revoke"]
    assert "approval 1 is in force" in steps[2].details["message"]
    assert all(r.item == item for r in steps)


def test_an_officer_sees_only_their_own_requests(room, capsys):
    path, item, _ = room
    restrict(path, item)
    assert sealcam(path, "clerk", "approval", "request", item, "--action", "play",
                   "--purpose", "review", "--until", "2026-12-06") == 0  # fmt: skip
    capsys.readouterr()
    assert sealcam(path, "officer", "approval", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert sealcam(path, "admin", "approval", "list", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_bad_input_is_one_line_and_the_right_exit(room, tmp_path, capsys):
    path, item, _ = room
    assert sealcam(path, "clerk", "restrict", item, "--reason", "x") == 2  # no --kind
    assert sealcam(path, "clerk", "restrict", "SC-0001/999999", "--kind", "private",
                   "--reason", "x") == 2  # fmt: skip
    assert sealcam(path, "clerk", "restrict", item, "--lift", "--reason", "x") == 2
    assert sealcam(path, "clerk", "approval", "request", item, "--action", "export",
                   "--purpose", "p", "--until", "next week") == 2  # fmt: skip
    assert sealcam(path, "boss", "approval", "grant", "7") == 2
    assert sealcam(path, "clerk", "restrict", item, "--kind", "private", "--reason", "x") == 0
    assert export(path, "clerk", tmp_path / "a.avi", "--extractor", "W. Li") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 6 and all(line.startswith("sealcam ") for line in err)
    assert "is not clerk, who is logged in" in err[-1]
    assert "not a date" in err[3] and "no approval 7" in err[4]
    (grant,) = [r for r in records(path) if r.action == audit.APPROVE]  # on record, refused
    assert (grant.item, grant.outcome, grant.details["reason"]) == (None, audit.REFUSED, "unusable")


def test_a_store_without_accounts_exports_as_before_and_is_not_written(tmp_path, capsys):
    path = store_with(tmp_path)  # the evidence-management tables, but no account
    before = (path / "evidence.db").read_bytes()
    assert main(["export", "--evidence", str(path), "--device", DEVICE,
                 "--out", str(tmp_path / "a.avi"), "--extractor", "W. Li"]) == 0  # fmt: skip
    assert (path / "evidence.db").read_bytes() == before
    assert main(["export", "--evidence", str(path), "--device", DEVICE,
                 "--out", str(tmp_path / "b.avi")]) == 2  # fmt: skip
    assert "name the person extracting the footage" in capsys.readouterr().err


@given(
    st.datetimes(min_value=datetime.datetime(1992, 1, 1), max_value=datetime.datetime(9999, 12, 30))
)
def test_a_local_time_reads_back_as_localtime_shows_it(moment):  # issue 13: the agency's zone
    # China has kept UTC+8 all year since 1992 (it had daylight saving from 1986 to 1991),
    # so from then on every local time is one moment and every day 24 hours.
    zone = "Asia/Shanghai"
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    ms = local_ms(text, zone)
    assert localtime.show(ms, zone) == text + " UTC+8"
    day = moment.strftime("%Y-%m-%d")
    assert local_ms(day, zone, end_of_day=True) - local_ms(day, zone) == DAY


@given(st.text(max_size=30))
def test_any_text_is_a_date_or_one_line(text):
    try:
        local_ms(text, "Asia/Shanghai", end_of_day=True)
    except UsageProblem as exc:
        assert "is not a date" in str(exc)  # anything else raised fails the test


def test_the_last_day_there_is_is_one_line_not_a_traceback():
    with pytest.raises(UsageProblem, match="is not a date"):
        local_ms("9999-12-31", "Asia/Shanghai", end_of_day=True)


def test_export_on_a_store_with_accounts_needs_a_user_allowed_to_export(room, tmp_path, capsys):
    path, item, _ = room
    out = tmp_path / "a.avi"
    argv = ["export", "--evidence", str(path), "--device", DEVICE, "--out", str(out)]
    assert main([*argv, "--extractor", "W. Li"]) == 2  # who is acting must be said
    assert "--user NAME" in capsys.readouterr().err
    assert export(path, "boss", out) == 1  # an approver's role does not export
    assert "boss may not export: it needs the role evidence-clerk or officer" in (
        capsys.readouterr().err
    )
    assert not out.exists()
    last = records(path)[-1]
    assert (last.actor, last.action, last.item, last.outcome) == (
        "boss",
        audit.EXPORT,
        item,
        audit.REFUSED,
    )
    assert export(path, "clerk", out) == 0  # not restricted: no approval needed
    assert records(path)[-1].details["derivative"].startswith(item + "~")


def test_what_export_says_is_in_chinese_with_lang_zh(room, tmp_path, capsys):  # issue 13
    path, item, _ = room
    assert export(path, "clerk", tmp_path / "a.avi", "--lang", "zh") == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("已导出设备 %s 的第 " % DEVICE)
    assert "已按签名的 SHA-256 校验" in said[1] and said[2].startswith("  提取说明：")
    assert said[3].startswith("  已登记为证据项 %s~" % item)


def test_attempts_lists_refusals_not_about_restriction_apart_with_their_reason(room, capsys):
    # R-HOST-10, issue 13 review item: an export let through the door (an approval in force)
    # and then refused by the export itself (the footage failed its check) is no leak.
    from host import restricted
    from host.access import Desk
    from host.errors import Refused

    path, item, clock = room
    restrict(path, item)
    ev = SqliteEvidenceStore(path)
    try:
        with ev.write() as cur:
            asked = restricted.request(cur, item, audit.EXPORT, "clerk", "court case 17",
                                       clock() + DAY, clock())  # fmt: skip
            restricted.grant(cur, asked.id, "boss", clock())
        desk = Desk.login(ev, "clerk", PASSWORD, now=clock)
        with pytest.raises(Refused), desk.act(audit.EXPORT, item):
            raise Refused("the footage failed its check", "not-authentic")
    finally:
        ev.close()
    capsys.readouterr()
    assert sealcam(path, "boss", "approval", "attempts") == 0  # nothing leaking: exit 0
    out = capsys.readouterr().out
    assert "no refused attempt at restricted footage in the whole audit trail" in out
    assert "1 other refused attempt(s) at restricted footage" in out
    assert "clerk tried to export %s: refused (not-authentic)" % item in out
    assert sealcam(path, "boss", "approval", "attempts", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["leaking"] == [] and len(listed["other"]) == 1
    assert listed["other"][0]["details"]["reason"] == "not-authentic"
    assert sealcam(path, "boss", "--lang", "zh", "approval", "attempts") == 0
    assert "因其他原因被拒绝" in capsys.readouterr().out
