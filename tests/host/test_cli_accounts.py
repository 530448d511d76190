"""Issue 13, "People, roles and an audit trail" and "Bad input", at the command line: the
accounts of an evidence store (``sealcam user``), the agency's settings (``sealcam
setting``), logins, locking, and the audit record every change leaves. The commands run in
this process (``host.cli.main``), with passwords from the environment."""
# micropython: skip (the command line is CPython's)

import json

import pytest

from host import access, audit, people
from host.evidence import SqliteEvidenceStore
from tests.host.helpers import host_keys, synced_evidence

ADMIN_PW = "admin password 1"
CLERK_PW = "clerk password 2"
OFFICER_PW = "officer password 3"
PASSWORDS = (ADMIN_PW, CLERK_PW, OFFICER_PW)

pytestmark = pytest.mark.usefixtures("language_back")


def trail(ev) -> "list[audit.Record]":
    store = SqliteEvidenceStore(ev, readonly=True)
    try:
        with store.read() as cur:
            return audit.history(cur)
    finally:
        store.close()


def staffed(tmp_path, sealcam) -> str:
    """A synced store with an administrator, a clerk and officer P-0427 (whose recording
    the store holds)."""
    ev = str(synced_evidence(tmp_path / "ev"))
    E = ("--evidence", ev)
    assert (
        sealcam("user", "add", *E, "--name", "admin", "--role", "administrator", new=ADMIN_PW)[0]
        == 0
    )
    for name, role, pw, extra in (
        ("clerk", "evidence-clerk", CLERK_PW, ()),
        ("wang", "officer", OFFICER_PW, ("--officer-id", "P-0427", "--display", "Wang Wei")),
    ):
        code, _, err = sealcam(
            "user", "add", *E, "--user", "admin", "--name", name, "--role", role, *extra,
            password=ADMIN_PW, new=pw,
        )  # fmt: skip
        assert code == 0, err
    return ev


def test_the_first_account_must_be_an_administrator_and_needs_no_login(tmp_path, sealcam):
    # Issue 13: users with roles; the store's first account makes the others.
    ev = str(synced_evidence(tmp_path / "ev"))
    E = ("--evidence", ev)
    code, out, err = sealcam(
        "user", "add", *E, "--name", "li", "--role", "evidence-clerk", new=CLERK_PW
    )
    assert code == 1 and err.count("\n") == 1 and "must have the role administrator" in err
    code, out, err = sealcam("user", "list", *E)
    assert code == 0 and "no accounts yet" in out  # nothing was made
    refused = trail(ev)[-1]
    assert (refused.action, refused.outcome) == (audit.USER_ADD, audit.REFUSED)
    # No SEALCAM_PASSWORD and no terminal: it works only because no login is asked.
    code, out, err = sealcam(
        "user", "add", *E, "--name", "admin", "--role", "administrator", new=ADMIN_PW
    )
    assert code == 0, err
    assert "first account" in out
    # From now on, adding someone is an administrator's act, as a user.
    code, out, err = sealcam(
        "user", "add", *E, "--name", "li", "--role", "evidence-clerk", new=CLERK_PW
    )
    assert code == 2 and "--user" in err and err.count("\n") == 1
    code, out, err = sealcam(
        "user", "add", *E, "--user", "admin", "--name", "li", "--role", "evidence-clerk",
        password=ADMIN_PW, new=CLERK_PW,
    )  # fmt: skip
    assert code == 0, err
    added = [r for r in trail(ev) if r.action == audit.USER_ADD and r.outcome == audit.DONE]
    assert [(r.actor, r.item) for r in added] == [("admin", "admin"), ("admin", "li")]
    assert added[1].details["roles"] == ["evidence-clerk"]


def test_an_officer_cannot_add_users_and_the_attempt_is_recorded(tmp_path, sealcam):
    # Issue 13: roles; Bad input: refused in one line, exit 1, nothing changed, audited.
    ev = staffed(tmp_path, sealcam)
    code, out, err = sealcam(
        "user", "add", "--evidence", ev, "--user", "wang", "--name", "mole", "--role",
        "administrator", password=OFFICER_PW, new="mole password 9",
    )  # fmt: skip
    assert code == 1 and err.count("\n") == 1
    assert "wang may not user-add: it needs the role administrator" in err
    assert out == ""
    last = trail(ev)[-1]
    assert (last.actor, last.action, last.item, last.outcome) == (
        "wang", audit.USER_ADD, "mole", audit.REFUSED
    )  # fmt: skip
    assert last.details["reason"] == access.NOT_ALLOWED
    code, out, _ = sealcam(
        "user", "list", "--evidence", ev, "--user", "admin", "--json", password=ADMIN_PW
    )
    assert [u["name"] for u in json.loads(out)["users"]] == ["admin", "clerk", "wang"]


def test_a_wrong_password_exits_1_and_is_in_the_audit_trail(tmp_path, sealcam):
    # Issue 13: failed logins are in the audit trail; Bad input: wrong passwords.
    ev = staffed(tmp_path, sealcam)
    code, out, err = sealcam("items", "--evidence", ev, "--user", "clerk", password="not it at all")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "wrong user name or password for clerk" in err
    code, out, err = sealcam(
        "audit", "--evidence", ev, "--user", "admin", "--of", "clerk", "--json", password=ADMIN_PW
    )
    assert code == 0, err
    records = json.loads(out)["records"]
    assert records[-1]["action"] == audit.LOGIN_FAILED and records[-1]["outcome"] == "refused"
    assert records[-1]["details"]["reason"] == people.WRONG
    # A name nobody has reads the same, and is recorded under the name tried.
    code, _, err = sealcam("items", "--evidence", ev, "--user", "nobody", password=CLERK_PW)
    assert code == 1 and "wrong user name or password for nobody" in err
    assert (trail(ev)[-1].actor, trail(ev)[-1].action) == ("nobody", audit.LOGIN_FAILED)


def test_five_wrong_passwords_lock_the_account_until_its_time_or_a_reset(tmp_path, sealcam, clock):
    # Issue 13 Bad input: wrong passwords are rate-limited and logged (host.people's rule).
    ev = staffed(tmp_path, sealcam)
    E = ("--evidence", ev)
    for _ in range(people.LOCK_AFTER - 1):
        code, _, err = sealcam("items", *E, "--user", "clerk", password="a wrong guess")
        assert code == 1 and "wrong user name or password" in err
        clock.ms += 1000
    code, _, err = sealcam("items", *E, "--user", "clerk", password="a wrong guess")
    assert code == 1 and "locked until" in err and err.count("\n") == 1
    clock.ms += people.LOCK_MS - 1
    code, _, err = sealcam("items", *E, "--user", "clerk", password=CLERK_PW)
    assert code == 1 and "locked until" in err  # the right password, still locked
    failed = [r for r in trail(ev) if r.action == audit.LOGIN_FAILED]
    assert [r.details["reason"] for r in failed] == [people.WRONG] * 4 + [people.LOCKED] * 2
    code, out, _ = sealcam("user", "list", *E, "--user", "admin", "--json", password=ADMIN_PW)
    (clerk,) = [u for u in json.loads(out)["users"] if u["name"] == "clerk"]
    assert clerk["locked_until_ms"] == clock.ms + 1
    clock.ms += 1
    assert sealcam("items", *E, "--user", "clerk", password=CLERK_PW)[0] == 0  # opens on time
    # Locked again, an administrator's reset ends the lock at once.
    for _ in range(people.LOCK_AFTER):
        sealcam("items", *E, "--user", "clerk", password="a wrong guess")
    code, out, err = sealcam(
        "user", "passwd", *E, "--user", "admin", "--name", "clerk", password=ADMIN_PW,
        new="a new clerk password",
    )  # fmt: skip
    assert code == 0, err
    reset = trail(ev)[-1]
    assert (reset.action, reset.item, reset.details) == (
        audit.USER_CHANGE, "clerk", {"changed": "password", "unlocked": True}
    )  # fmt: skip
    assert sealcam("items", *E, "--user", "clerk", password="a new clerk password")[0] == 0


def test_passwords_own_and_others(tmp_path, sealcam):
    # Issue 13: every account changes its own password; only an administrator another's.
    ev = staffed(tmp_path, sealcam)
    E = ("--evidence", ev)
    code, out, err = sealcam(
        "user", "passwd", *E, "--user", "wang", password=OFFICER_PW, new="wang's new one"
    )
    assert code == 0 and "your password is changed" in out, err
    assert trail(ev)[-1].action == audit.PASSWORD_CHANGE
    assert sealcam("items", *E, "--user", "wang", password=OFFICER_PW)[0] == 1
    assert sealcam("items", *E, "--user", "wang", password="wang's new one")[0] == 0
    code, _, err = sealcam(
        "user", "passwd", *E, "--user", "wang", "--name", "clerk", password="wang's new one",
        new="taken over 123",
    )  # fmt: skip
    assert code == 1 and "needs the role administrator" in err
    assert sealcam("items", *E, "--user", "clerk", password=CLERK_PW)[0] == 0  # unchanged
    code, _, err = sealcam("user", "passwd", *E, "--user", "admin", password=ADMIN_PW, new="short")
    assert code == 2 and "at least 10 characters" in err and err.count("\n") == 1
    assert sealcam("items", *E, "--user", "admin", password=ADMIN_PW)[0] == 0  # unchanged
    code, _, err = sealcam(
        "user", "passwd", *E, "--user", "admin", "--name", "ghost", password=ADMIN_PW,
        new="ghost password",
    )  # fmt: skip
    assert code == 2 and "no user named ghost" in err


def test_disable_and_enable_and_the_last_administrator_stays(tmp_path, sealcam):
    ev = staffed(tmp_path, sealcam)
    E = ("--evidence", ev)
    code, out, err = sealcam(
        "user", "disable", *E, "--user", "admin", "--name", "wang", password=ADMIN_PW
    )
    assert code == 0 and "disabled the user wang" in out, err
    assert trail(ev)[-1].details == {"disabled": [False, True]}
    code, _, err = sealcam("items", *E, "--user", "wang", password=OFFICER_PW)
    assert code == 1 and "the account wang is disabled" in err
    code, out, _ = sealcam("user", "list", *E, "--user", "admin", password=ADMIN_PW)
    assert any(line.startswith("wang") and "disabled" in line for line in out.splitlines())
    code, _, err = sealcam(
        "user", "disable", *E, "--user", "admin", "--name", "admin", password=ADMIN_PW
    )
    assert code == 1 and "last active administrator" in err
    assert trail(ev)[-1].details["reason"] == "last-administrator"
    code, _, err = sealcam(
        "user", "enable", *E, "--user", "clerk", "--name", "wang", password=CLERK_PW
    )
    assert code == 1 and "needs the role administrator" in err
    assert (
        sealcam("user", "enable", *E, "--user", "admin", "--name", "wang", password=ADMIN_PW)[0]
        == 0
    )
    assert sealcam("items", *E, "--user", "wang", password=OFFICER_PW)[0] == 0


def test_user_list_shows_roles_and_no_secrets(tmp_path, sealcam):
    ev = staffed(tmp_path, sealcam)
    code, out, err = sealcam(
        "user", "list", "--evidence", ev, "--user", "clerk", "--json", password=CLERK_PW
    )
    assert code == 0, err
    users = {u["name"]: u for u in json.loads(out)["users"]}
    assert users["wang"]["roles"] == ["officer"] and users["wang"]["officer_id"] == "P-0427"
    assert users["wang"]["display"] == "Wang Wei" and not users["wang"]["disabled"]
    assert not any("hash" in key for u in users.values() for key in u)
    listed = trail(ev)[-1]
    assert (listed.actor, listed.action, listed.details) == (
        "clerk", audit.VIEW, {"listed": "users", "count": 3}
    )  # fmt: skip
    code, out, _ = sealcam("user", "list", "--evidence", ev, "--user", "clerk", password=CLERK_PW)
    assert out.splitlines()[0] == "3 account(s); times in Asia/Shanghai"
    assert "UTC+8" in out and "evidence-clerk" in out


def test_no_password_is_ever_in_the_audit_trail(tmp_path, sealcam):
    # Issue 13: every change is recorded with what changed, never the password.
    ev = staffed(tmp_path, sealcam)
    E = ("--evidence", ev)
    sealcam("user", "passwd", *E, "--user", "clerk", password=CLERK_PW, new="clerk password 4")
    sealcam(
        "user",
        "passwd",
        *E,
        "--user",
        "admin",
        "--name",
        "wang",
        password=ADMIN_PW,
        new="officer pw 5",
    )
    sealcam("items", *E, "--user", "clerk", password=ADMIN_PW)  # a wrong one, recorded
    secrets = (*PASSWORDS, "clerk password 4", "officer pw 5")
    for r in trail(ev):
        text = json.dumps(r.to_dict(), ensure_ascii=False)
        assert not any(s in text for s in secrets), r


def test_chinese_for_the_user_list_and_a_refusal(tmp_path, sealcam):
    # Issue 13 "Chinese first": --lang zh gives Chinese output and refusals.
    ev = staffed(tmp_path, sealcam)
    code, out, err = sealcam(
        "--lang", "zh", "user", "list", "--evidence", ev, "--user", "admin", password=ADMIN_PW
    )
    assert code == 0, err
    assert out.splitlines()[0] == "共 3 个账号；时间为 Asia/Shanghai"
    assert "证据管理员" in out and "执法人员" in out and "正常" in out
    code, out, err = sealcam(
        "user", "add", "--evidence", ev, "--user", "wang", "--name", "mole", "--role",
        "officer", "--lang", "zh", password=OFFICER_PW, new="mole password 9",
    )  # fmt: skip
    assert code == 1 and err == "sealcam user：wang 无权执行 user-add：需要角色 administrator\n"
    code, _, err = sealcam(
        "--lang", "zh", "items", "--evidence", ev, "--user", "wang", password="wrong"
    )
    assert code == 1 and "wang 的用户名或密码错误" in err


def test_settings_are_an_administrators_and_recorded_with_old_and_new(
    tmp_path, sealcam, monkeypatch
):
    # Issue 13: time zone configurable (default Asia/Shanghai); policy changes audited.
    ev = staffed(tmp_path, sealcam)
    E = ("--evidence", ev)
    code, out, _ = sealcam("setting", "show", *E, "--user", "clerk", "--json", password=CLERK_PW)
    shown = {s["name"]: s for s in json.loads(out)["settings"]}
    assert shown["time-zone"] == {
        "name": "time-zone",
        "setting": "time_zone",
        "value": "Asia/Shanghai",
        "default": True,
    }
    code, _, err = sealcam(
        "setting", "set", *E, "--user", "clerk", "time-zone", "UTC", password=CLERK_PW
    )
    assert code == 1 and "needs the role administrator" in err
    code, _, err = sealcam(
        "setting", "set", *E, "--user", "admin", "time-zone", "Mars/Olympus", password=ADMIN_PW
    )
    assert code == 2 and "Mars/Olympus is not a time zone name" in err and err.count("\n") == 1
    bad = trail(ev)[-1]
    assert (bad.action, bad.outcome, bad.details["reason"]) == (
        audit.POLICY_CHANGE,
        audit.REFUSED,
        "unusable",
    )
    code, out, err = sealcam(
        "setting", "set", *E, "--user", "admin", "time-zone", "Asia/Urumqi", password=ADMIN_PW
    )
    assert code == 0 and "Asia/Shanghai -> Asia/Urumqi" in out, err
    assert trail(ev)[-1].details == {
        "setting": "time_zone",
        "old": "Asia/Shanghai",
        "new": "Asia/Urumqi",
    }
    # The host key: a private key, kept by its absolute path; a public one is refused.
    keys = tmp_path / "keys"
    keys.mkdir()
    host_keys(keys)
    monkeypatch.chdir(tmp_path)
    code, _, err = sealcam(
        "setting", "set", *E, "--user", "admin", "host-key", "keys/host.pub", password=ADMIN_PW
    )
    assert code == 2 and "private" in err and err.count("\n") == 1
    code, _, err = sealcam(
        "setting", "set", *E, "--user", "admin", "host-key", "keys/missing.key", password=ADMIN_PW
    )
    assert code == 2 and err.count("\n") == 1
    code, out, err = sealcam(
        "setting", "set", *E, "--user", "admin", "host-key", "keys/host.key", password=ADMIN_PW
    )
    assert code == 0, err
    assert trail(ev)[-1].details["new"] == str(keys / "host.key")
    code, out, _ = sealcam("setting", "show", *E, "--user", "admin", password=ADMIN_PW)
    assert "Asia/Urumqi" in out and str(keys / "host.key") in out


def test_a_store_without_accounts_says_how_to_begin(tmp_path, sealcam):
    ev = str(synced_evidence(tmp_path / "ev"))
    for argv in (("items",), ("audit", "--of", "x"), ("setting", "show"), ("user", "passwd")):
        code, _, err = sealcam(*argv, "--evidence", ev, "--user", "admin", password=ADMIN_PW)
        assert code == 2 and "no accounts yet" in err and "--role administrator" in err, argv
    code, _, err = sealcam(
        "items", "--evidence", str(tmp_path / "nothing"), "--user", "a", password="x"
    )
    assert code == 2 and "is not an evidence store" in err


def test_the_user_command_changes_accounts_only_through_host_people(tmp_path):
    # Issue 13 review item: host/cli/people.py neither reads nor writes the users table;
    # the lock rule, closing an account and counting administrators are host.people's.
    from pathlib import Path

    import host.cli.people

    source = Path(host.cli.people.__file__).read_text(encoding="utf-8")
    assert "FROM users" not in source and "UPDATE users" not in source
    store = SqliteEvidenceStore(tmp_path / "ev")
    from host.access import prepare

    prepare(store)
    with store.write() as cur:
        people.add_user(cur, "root", (people.ADMINISTRATOR,), ADMIN_PW, 0)
        people.add_user(cur, "li", (people.CLERK,), CLERK_PW, 0)
        assert people.active_administrators(cur) == ["root"]
        assert people.active_administrators(cur, besides="root") == []
        assert people.set_disabled(cur, "li", True) is False
        assert people.set_disabled(cur, "li", True) is True
        with pytest.raises(people.PeopleError, match="no user named nobody"):
            people.set_disabled(cur, "nobody", True)
        for n in range(people.LOCK_AFTER):
            with pytest.raises(people.LoginRefused):
                people.authenticate(cur, "root", "wrong password", 1000 + n)
        last = 1000 + people.LOCK_AFTER - 1
        assert people.locked_until(cur, "root", last) == last + people.LOCK_MS
        assert people.locked_until(cur, "root", last + people.LOCK_MS) == 0
    store.close()


def test_a_login_with_nothing_new_takes_no_write_but_its_own(tmp_path, sealcam, monkeypatch):
    # Issue 13 review item: the items refresh and the schemas run at every login; with
    # nothing new they cost a read (a high-water mark, the schema's names), and a recording
    # the index has not read is still found.
    from host.cli import auth

    ev = staffed(tmp_path, sealcam)
    monkeypatch.setenv("SEALCAM_PASSWORD", CLERK_PW)
    store = SqliteEvidenceStore(ev)
    writes, scripts = [], []
    real_write, real_add = store.write, store.add_tables
    monkeypatch.setattr(store, "write", lambda: writes.append(1) or real_write())
    monkeypatch.setattr(store, "add_tables", lambda s: scripts.append(s) or real_add(s))
    auth.desk_for(store, "clerk")
    assert (len(writes), scripts) == (1, [])  # the login's record, nothing else
    with real_write() as cur:  # as if a sync had stored the recording since the last login
        cur.execute("DELETE FROM items")
        cur.execute("DELETE FROM items_read")
    writes.clear()
    desk = auth.desk_for(store, "clerk")
    assert len(writes) == 2  # the index brought up to the ledger, then the login
    with desk.look() as cur:
        assert [i.officer for i in items_of(cur)] == ["P-0427"]
    store.close()


def items_of(cur):
    from host import items

    return [items.get(cur, r[0]) for r in cur.execute("SELECT item_id FROM items")]
