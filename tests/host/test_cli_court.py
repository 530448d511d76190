"""``sealcam export --case/--recording ... --out DIR [--iso]`` and ``sealcam verify
PACKAGE|FILE.iso`` (issue 15): a package is an action of the user who makes it, on record
for every recording (R-HOST-4, R-HOST-10); restricted footage leaves only under an approval
in force (R-HOST-6); bad input is one line and the right exit code; the one-file export
with --device is as it was."""
# micropython: skip (the host's command line)

import json

import pytest

from host import audit, i18n
from host.cli.auth import PASSWORD_ENV, USER_ENV
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host.courtstore import APPROVER, CLERK, export, fmp4_store, the_item
from tests.host.helpers import ACCOUNT_PASSWORD
from tests.protocol.helpers import DEVICE


@pytest.fixture
def room(tmp_path, monkeypatch):
    store = fmp4_store(tmp_path)
    monkeypatch.setenv(PASSWORD_ENV, ACCOUNT_PASSWORD)
    monkeypatch.delenv(USER_ENV, raising=False)
    yield store, the_item(store)
    i18n.use(None)


def as_user(store, user, *argv):
    return main([*argv, "--evidence", str(store), "--user", user])


def exports(store):
    ev = SqliteEvidenceStore(store)
    try:
        with ev.read() as cur:
            return [r for r in audit.history(cur) if r.action == audit.EXPORT]
    finally:
        ev.close()


def verify(path, *extra):
    try:
        return main(["verify", str(path), *extra])
    finally:
        i18n.use(None)


def test_a_package_is_on_record_and_verifies_as_a_folder_and_an_iso(
    room, tmp_path, monkeypatch, capsys
):
    # R-HOST-4: made by a user, on record with the manifest's hash; checked by sealcam verify.
    store, item = room
    pkg, iso = tmp_path / "pkg", tmp_path / "pkg.iso"
    assert export(monkeypatch, store, pkg, "--recording", item, "--iso", str(iso)) == 0
    out = capsys.readouterr().out
    assert str(pkg) in out and str(iso) in out
    (record,) = exports(store)
    assert record.outcome == audit.DONE and record.item == item and record.actor == CLERK
    signed = (pkg / "manifest.cbor").read_bytes()
    import hashlib

    assert record.details["manifest_sha256"] == hashlib.sha256(signed).hexdigest()
    assert verify(pkg) == 0
    said = capsys.readouterr().out
    assert "OK" in said.splitlines()[-1]
    assert "severe weather" in said and "spoken reason is recorded" in said  # R-DEV-9
    assert verify(iso, "--json") == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "OK"
    note = pkg / "note.html"
    note.write_text(note.read_text() + "<!-- -->")
    assert verify(pkg, "--lang", "zh") == 1
    said = capsys.readouterr().out
    assert "note.html" in said and "不通过" in said


def test_restricted_footage_without_an_approval_makes_no_package(
    room, tmp_path, monkeypatch, capsys
):
    # R-HOST-6: no approval, no package; one line naming whose approval is needed.
    store, item = room
    assert (
        as_user(
            store, CLERK, "restrict", item, "--kind", "private", "--reason", "a witness is named"
        )
        == 0
    )
    capsys.readouterr()
    pkg = tmp_path / "pkg"
    assert export(monkeypatch, store, pkg, "--recording", item) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "approver" in err[0] and item in err[0]
    assert not pkg.exists()
    (refused,) = exports(store)
    assert refused.outcome == audit.REFUSED and refused.item == item
    # Once an approver grants the export, the package holds the approval, proven.
    assert (
        as_user(
            store,
            CLERK,
            "approval",
            "request",
            item,
            "--action",
            "export",
            "--purpose",
            "court case 17",
            "--until",
            "2099-12-31",
        )
        == 0
    )
    assert as_user(store, APPROVER, "approval", "grant", "1") == 0
    assert export(monkeypatch, store, pkg, "--recording", item) == 0
    manifest = json.loads((pkg / "manifest.json").read_text())
    (rec,) = manifest["recordings"]
    assert rec["restricted"]["kind"] == "private" and rec["approval_file"] == "r01/approval.json"
    approval = json.loads((pkg / "r01/approval.json").read_text())
    assert approval["approval"]["granted_by"] == APPROVER and len(approval["audit_seqs"]) == 2
    capsys.readouterr()
    assert verify(pkg) == 0
    assert exports(store)[-1].details["approval"] == 1


def test_a_case_packages_its_recordings_with_what_they_prove(room, tmp_path, monkeypatch, capsys):
    store, item = room
    assert (
        as_user(
            store,
            CLERK,
            "case",
            "add",
            "--number",
            "2026-0042",
            "--type",
            "detention",
            "--title",
            "a detention",
            "--responsible",
            "Wang Li",
            "--place",
            "Main St",
            "--when",
            "2026-12-05 14:00",
        )
        == 0
    )
    assert export(monkeypatch, store, tmp_path / "empty", "--case", "2026-0042") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2026-0042" in err[0]
    assert exports(store)[-1].outcome == audit.REFUSED
    assert as_user(store, CLERK, "case", "link", "2026-0042", item) == 0
    assert (
        as_user(
            store,
            CLERK,
            "item",
            "note",
            item,
            "--category",
            "evidence",
            "--proves",
            "the suspect's blow",
        )
        == 0
    )
    pkg = tmp_path / "pkg"
    assert export(monkeypatch, store, pkg, "--case", "2026-0042", "--place", "Room 3") == 0
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["case"]["number"] == "2026-0042"
    assert manifest["recordings"][0]["proves"] == ["the suspect's blow"]
    note = (pkg / "note.html").read_text()
    assert "2026-0042" in note and "the suspect&#x27;s blow" in note and "提取人" in note
    assert (pkg / "note.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--recording", "SC-NONE/9"], "SC-NONE/9"),
        (["--recording", "not-an-item"], "not-an-item"),
        (["--recording", "ITEM", "--from", "7:99"], "7:99"),
        (["--recording", "ITEM", "--from", "9:00", "--to", "9:30"], "--from"),
        (["--recording", "ITEM", "--mark-changed"], "--mark-changed"),
        ([], "--case"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(
    room, tmp_path, monkeypatch, capsys, extra, words
):
    store, item = room
    pkg = tmp_path / "pkg"
    argv = [item if a == "ITEM" else a for a in extra]
    try:
        code = export(monkeypatch, store, pkg, *argv)
    except SystemExit as exc:  # argparse's own refusal of a bad --from
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and words in err[-1]
    assert not pkg.exists()


def test_an_existing_iso_is_refused_without_force(room, tmp_path, monkeypatch, capsys):
    store, item = room
    iso = tmp_path / "pkg.iso"
    iso.write_bytes(b"an older image")
    assert export(monkeypatch, store, tmp_path / "pkg", "--recording", item, "--iso", str(iso)) == 2
    assert "--force" in capsys.readouterr().err
    assert iso.read_bytes() == b"an older image" and not (tmp_path / "pkg").exists()


def test_the_one_file_export_is_as_it_was_and_takes_no_package_option(
    room, tmp_path, monkeypatch, capsys
):
    store, _ = room
    out = tmp_path / "rec.mp4"
    base = [
        "export",
        "--evidence",
        str(store),
        "--device",
        DEVICE,
        "--out",
        str(out),
        "--user",
        CLERK,
    ]
    assert main([*base, "--iso", str(tmp_path / "x.iso")]) == 2
    assert "--iso" in capsys.readouterr().err
    assert main(base) == 0
    assert out.exists() and (tmp_path / "rec.mp4.json").exists()
    assert verify(out) == 0


def test_a_store_without_accounts_packages_with_extractor_and_host_key(tmp_path, capsys):
    from tests.host.courtstore import fmp4_store as make

    store = make(tmp_path, accounts=False)
    pkg = tmp_path / "pkg"
    argv = ["export", "--evidence", str(store), "--recording", "%s/1" % DEVICE, "--out", str(pkg)]
    assert main([*argv, "--extractor", "W. Li"]) == 2
    assert "host-key" in capsys.readouterr().err
    assert main([*argv, "--extractor", "W. Li", "--host-key", str(tmp_path / "host.key")]) == 0
    assert verify(pkg) == 0
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["extractor"]["name"] == "W. Li"


def test_without_a_chinese_font_no_package_is_made(room, tmp_path, monkeypatch, capsys):
    # The note's PDF laid out with no font for Chinese shows an empty box for every Chinese
    # character: a court must never be handed that (R-HOST-4), so the export refuses, says
    # what to install, and leaves nothing. Fontconfig itself is given a folder of no fonts.
    from host.court import note

    store, item = room
    (tmp_path / "nofonts").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        "<?xml version='1.0'?><fontconfig><dir>%s</dir><cachedir>%s</cachedir></fontconfig>"
        % (tmp_path / "nofonts", tmp_path / "fontcache")
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    monkeypatch.setattr(note, "_FONTS", [])  # this process's fonts, if a test found them
    pkg = tmp_path / "pkg"
    assert export(monkeypatch, store, pkg, "--recording", item) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "font" in err[0] and "fonts-wqy-zenhei" in err[0]
    assert not pkg.exists() and not list(tmp_path.glob("pkg*"))
    (record,) = exports(store)  # the attempt is on record, refused, with the reason
    assert record.outcome == audit.REFUSED and "font" in record.details["message"]
