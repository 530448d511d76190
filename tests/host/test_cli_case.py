"""``sealcam case`` and ``sealcam item note`` as a person runs them (in this process): every
action audited, refused when the role does not allow it, unusable input changing nothing;
Chinese with ``--lang zh`` (issue 13: R-HOST-2, R-HOST-10, R-HOST-12)."""
# micropython: skip (the host's command line)

import json

import pytest

from host import audit, cases, i18n, people, settings
from host.cli.auth import PASSWORD_ENV
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host import casestore
from tests.host.casestore import PAUSED, WHOLE

ACCOUNTS = (
    ("clerk", (people.CLERK,), None),
    ("own", (people.OFFICER,), casestore.OFFICER),
    ("other", (people.OFFICER,), "P-9999"),
    ("boss", (people.ADMINISTRATOR,), None),
)

ADD = [
    "--number", "2026-0042", "--type", "detention", "--title", "a fight outside the station",
    "--responsible", "Wang Li", "--place", "Station Road 1", "--when", "2026-12-05 14:00",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, casestore.PASSWORD)
    yield
    i18n.use(None)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-cases") / "ev"
    ev, ids = casestore.store(path, (WHOLE, PAUSED), ACCOUNTS)
    ev.close()
    return path, dict(zip((WHOLE, PAUSED), ids, strict=True))


@pytest.fixture
def store(made, tmp_path):
    """A copy of the made store for one test: its path and the item id of each shape."""
    import shutil

    src, ids = made
    shutil.copytree(src, tmp_path / "ev")
    return tmp_path / "ev", ids


def sealcam(capsys, path, *args, user="clerk"):
    """Run ``sealcam ARGS --evidence PATH --user USER``: (exit code, stdout, stderr)."""
    code = main([*args, "--evidence", str(path), "--user", user])
    out = capsys.readouterr()
    return code, out.out, out.err


def trail(path) -> list:
    ev = SqliteEvidenceStore(path)
    try:
        with ev.read() as cur:
            return [r for r in audit.history(cur) if r.action not in (audit.LOGIN,)]
    finally:
        ev.close()


def rows(path, sql) -> list:
    ev = SqliteEvidenceStore(path)
    try:
        return ev.query(sql)
    finally:
        ev.close()


def test_a_clerk_opens_a_case_links_notes_and_shows_it(capsys, store):  # R-HOST-2, R-HOST-12
    path, ids = store
    code, out, _ = sealcam(capsys, path, "case", "add", *ADD, "--major")
    assert code == 0 and "case 2026-0042 opened" in out and "2026-12-05 14:00:00 UTC+8" in out
    code, out, _ = sealcam(capsys, path, "case", "link", "2026-0042", ids[WHOLE], ids[PAUSED])
    assert code == 0 and "2 of 2" in out
    code, out, _ = sealcam(
        capsys, path, "item", "note", ids[WHOLE], "--category", "evidence", "--proves", "the blow"
    )
    assert code == 0 and "the blow" in out
    code, out, _ = sealcam(capsys, path, "case", "show", "2026-0042")
    assert code == 0
    assert "must be recorded in full" in out and "Wang Li" in out and "Major case  yes" in out
    assert "evidence; proves: the blow (noted by clerk" in out
    assert "R-HOST-12 %s: paused at" % ids[PAUSED] in out and "(weather)" in out
    code, out, _ = sealcam(capsys, path, "case", "show", "2026-0042", "--json")
    doc = json.loads(out)
    assert doc["case"]["happened_ms"] == cases.parse_when("2026-12-05 06:00", "UTC")
    assert doc["case"]["major"] is True and doc["type"]["full"] is True
    assert [x["item_id"] for x in doc["items"]] == [ids[WHOLE], ids[PAUSED]]
    assert doc["items"][0]["category"] == "evidence" and doc["items"][1]["category"] is None
    assert [(f["code"], f["rule"], f["item"]) for f in doc["flags"]] == [
        ("paused", "R-HOST-12", ids[PAUSED])
    ]
    assert [(r.action, r.item, r.outcome) for r in trail(path)] == [
        (audit.CASE_CHANGE, "2026-0042", audit.DONE),
        (audit.LINK_CASE, ids[WHOLE], audit.DONE),
        (audit.LINK_CASE, ids[PAUSED], audit.DONE),
        (audit.CATEGORISE, ids[WHOLE], audit.DONE),
        (audit.VIEW, "2026-0042", audit.DONE),
        (audit.VIEW, "2026-0042", audit.DONE),
    ]


def test_a_full_case_with_a_pause_fails_its_check_and_one_without_passes(capsys, store):
    # R-HOST-12: case check exits 1 while a flag stands
    path, ids = store
    sealcam(capsys, path, "case", "add", *ADD)
    sealcam(capsys, path, "case", "link", "2026-0042", ids[PAUSED])
    code, out, _ = sealcam(capsys, path, "case", "check", "2026-0042")
    assert code == 1 and "Case 2026-0042: 1 flag(s)" in out and "not recorded in full" in out
    code, out, _ = sealcam(capsys, path, "case", "check", "--json")
    assert code == 1 and json.loads(out)["flagged"][0]["flags"][0]["code"] == "paused"
    code, _, _ = sealcam(capsys, path, "case", "unlink", "2026-0042", ids[PAUSED],
                         "--reason", "filmed at another incident")  # fmt: skip
    assert code == 0
    sealcam(capsys, path, "case", "link", "2026-0042", ids[WHOLE])
    code, out, _ = sealcam(capsys, path, "case", "check")
    assert code == 0 and "1 case(s) checked, 0 flagged" in out
    unlink = [r for r in trail(path) if r.details.get("change") == "unlink"]
    assert unlink[0].details["reason"] == "filmed at another incident"
    assert unlink[0].details["linked_by"] == "clerk"


def test_a_required_case_without_footage_is_flagged_in_the_list(capsys, store):  # R-HOST-10
    path, ids = store
    sealcam(capsys, path, "case", "add", *ADD[:3], "traffic", *ADD[4:])
    other = ["--number", "2026-0043", *ADD[2:]]
    sealcam(capsys, path, "case", "add", *other)
    sealcam(capsys, path, "case", "link", "2026-0043", ids[WHOLE])
    code, out, _ = sealcam(capsys, path, "case", "list", "--flagged")
    assert code == 0 and "2026-0042" in out and "2026-0043" not in out
    code, out, _ = sealcam(capsys, path, "case", "check", "2026-0042")
    assert code == 1 and "not recorded when required" in out
    code, out, _ = sealcam(capsys, path, "case", "list", "--json")
    listed = {c["case_no"]: c for c in json.loads(out)["cases"]}
    assert listed["2026-0043"]["items"] == 1 and listed["2026-0042"]["items"] == 0
    code, out, _ = sealcam(capsys, path, "case", "list", "--type", "detention")
    assert "2026-0043" in out and "2026-0042" not in out and "1 case(s)" in out


def test_an_officer_cannot_open_a_case_and_the_attempt_is_on_record(capsys, store):
    # Issue 13: refused by role, exit 1, audited, nothing changed
    path, _ = store
    code, out, err = sealcam(capsys, path, "case", "add", *ADD, user="own")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "needs the role evidence-clerk" in err
    (last,) = trail(path)
    assert (last.actor, last.action, last.item, last.outcome) == (
        "own", audit.CASE_CHANGE, "2026-0042", audit.REFUSED
    )  # fmt: skip
    assert rows(path, "SELECT * FROM cases") == []


def test_an_unknown_case_number_is_unusable_audited_and_changes_nothing(capsys, store):
    path, ids = store
    sealcam(capsys, path, "case", "add", *ADD)
    before = rows(path, "SELECT * FROM case_items")
    code, _, err = sealcam(capsys, path, "case", "link", "1999-0001", ids[WHOLE], ids[PAUSED])
    assert code == 2 and "there is no case 1999-0001" in err and err.count("\n") == 1
    code, _, err = sealcam(capsys, path, "case", "show", "1999-0001")
    assert code == 2 and "there is no case 1999-0001" in err
    # One unknown item among good ones links none of them.
    code, _, err = sealcam(capsys, path, "case", "link", "2026-0042", ids[WHOLE], "SC-X/9")
    assert code == 2 and "SC-X/9" in err
    assert rows(path, "SELECT * FROM case_items") == before == []
    refused = [(r.action, r.item, r.details["reason"]) for r in trail(path)[1:]]
    assert refused == [
        (audit.LINK_CASE, "1999-0001", "unusable"),
        (audit.VIEW, "1999-0001", "unusable"),
        (audit.LINK_CASE, "SC-X/9", "unusable"),
    ]


def test_an_unknown_case_type_names_the_known_ones(capsys, store):  # R-HOST-12 types
    path, _ = store
    code, _, err = sealcam(capsys, path, "case", "add", *ADD[:3], "parking", *ADD[4:])
    assert code == 2 and "give one of detention, search, seizure, injury" in err
    (last,) = trail(path)
    assert (last.action, last.outcome) == (audit.CASE_CHANGE, audit.REFUSED)
    assert rows(path, "SELECT * FROM cases") == []
    code, _, err = sealcam(capsys, path, "case", "add", *ADD[:-1], "next tuesday")
    assert code == 2 and "YYYY-MM-DD HH:MM" in err and "Asia/Shanghai" in err


def test_the_time_is_read_in_the_agencys_zone(capsys, store):  # R-HOST-2
    path, _ = store
    ev = SqliteEvidenceStore(path)
    with ev.write() as cur:
        settings.put(cur, settings.TIME_ZONE, "UTC")
    ev.close()
    sealcam(capsys, path, "case", "add", *ADD)
    _, out, _ = sealcam(capsys, path, "case", "show", "2026-0042", "--json")
    assert json.loads(out)["case"]["happened_ms"] == cases.parse_when("2026-12-05 14:00", "UTC")


def test_a_recordings_note_keeps_who_and_when_and_its_old_value(capsys, store):  # R-HOST-2
    path, ids = store
    item = ids[WHOLE]
    code, _, _ = sealcam(capsys, path, "item", "note", item, "--category", "routine",
                         "--proves", "the stop", user="own")  # fmt: skip
    assert code == 0  # an officer notes their own recording
    code, _, _ = sealcam(capsys, path, "item", "note", item, "--category", "evidence")
    assert code == 0
    code, _, err = sealcam(capsys, path, "item", "note", item, "--category", "gossip")
    assert code == 2 and "give one of routine, evidence" in err
    code, _, err = sealcam(capsys, path, "item", "note", item, "--proves", "x", user="other")
    assert code == 1 and "not a recording of officer P-9999" in err
    ((category, proves, by),) = rows(path, "SELECT category, proves, noted_by FROM item_notes")
    assert (category, proves, by) == ("evidence", "the stop", "clerk")
    notes = [r for r in trail(path) if r.action == audit.CATEGORISE]
    assert [r.outcome for r in notes] == [audit.DONE, audit.DONE, audit.REFUSED, audit.REFUSED]
    assert notes[0].details == {"old": None, "new": {"category": "routine", "proves": "the stop"}}
    assert notes[1].details["old"]["category"] == "routine"
    assert notes[1].details["old"]["noted_by"] == "own"
    assert notes[1].details["new"] == {"category": "evidence", "proves": "the stop"}


def test_closing_a_case_file(capsys, store):
    path, _ = store
    sealcam(capsys, path, "case", "add", *ADD)
    code, out, _ = sealcam(capsys, path, "case", "close", "2026-0042")
    assert code == 0 and "closed at" in out
    code, _, err = sealcam(capsys, path, "case", "close", "2026-0042")
    assert code == 2 and "closed already" in err
    code, _, err = sealcam(capsys, path, "case", "close", "2026-0042", user="boss")
    assert code == 1  # an administrator keeps the accounts, not the case files
    code, out, _ = sealcam(capsys, path, "case", "show", "2026-0042", "--json")
    assert json.loads(out)["case"]["closed_ms"] is not None


def test_case_show_in_chinese(capsys, store):  # issue 13: Chinese first
    path, ids = store
    sealcam(capsys, path, "case", "add", *ADD)
    sealcam(capsys, path, "case", "link", "2026-0042", ids[PAUSED])
    code, out, _ = sealcam(capsys, path, "--lang", "zh", "case", "show", "2026-0042")
    assert code == 0
    assert (
        "案件 2026-0042  传唤、拘留、逮捕（涉及人身自由）  【必须全过程记录；应当音像记录】" in out
    )
    assert "关联录像：1 段" in out and "暂停（恶劣天气）" in out and "未全过程记录" in out
    code, _, err = sealcam(capsys, path, "--lang", "zh", "case", "show", "1999-1")
    assert code == 2 and "没有案件 1999-1" in err
    # JSON is for machines: the same whatever the language.
    english = sealcam(capsys, path, "case", "show", "2026-0042", "--json")[1]
    chinese = sealcam(capsys, path, "--lang", "zh", "case", "show", "2026-0042", "--json")[1]
    assert english == chinese
