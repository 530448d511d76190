"""Bad input in Chinese (issue 17): every one-line refusal a person reads is Chinese, with no
English sentence left inside it: a missing or unusable file or key, an evidence store that
cannot be opened, a value argparse refuses, what keygen, enrol, sync, dock and sim say."""
# micropython: skip (the command line)

import re

import pytest

from host import i18n
from host.cli.main import main
from protocol.keys import encode_key
from tests.protocol.helpers import device_key

CJK = re.compile("[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
WORD = re.compile("[A-Za-z]+")


def english_run(line: str) -> int:
    """The longest run of plain English words in ``line`` (a path or an option is one
    token, and not a word)."""
    run = longest = 0
    for token in line.split():
        run = run + 1 if WORD.fullmatch(token.strip(",.;:()'")) else 0
        longest = max(longest, run)
    return longest


@pytest.fixture
def said(capsys):
    """Run sealcam in Chinese; give (exit code, stderr), the language put back after."""
    chosen = list(i18n._chosen)

    def run(*args: str) -> tuple:
        try:
            code = main(["--lang", "zh", *args])
        except SystemExit as exc:  # argparse's own refusals
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    yield run
    i18n._chosen[:] = chosen


def cases(tmp: "object") -> list:
    from pathlib import Path

    root = Path(str(tmp))
    private = root / "device.key"
    private.write_bytes(encode_key(device_key()))
    public = root / "device.pub"
    public.write_bytes(encode_key(device_key().public_only()))
    bad_key = root / "bad.pub"
    bad_key.write_bytes(b"not a key at all")
    ledger = root / "shift.ledger"
    ledger.write_bytes(b"")
    orphan = root / "orphan"  # media, and no database: a store to restore, not to remake
    (orphan / "media" / "ab").mkdir(parents=True)
    (orphan / "media" / "ab" / ("ab" * 32)).write_bytes(b"x")
    not_db = root / "notdb"
    not_db.mkdir()
    (not_db / "evidence.db").write_bytes(b"this is no database" * 100)
    return [
        ["verify", str(root / "missing.ledger")],
        ["verify", str(ledger), "--key", str(bad_key)],
        ["verify", str(ledger), "--key", str(root)],
        ["enrol", "--evidence", str(root / "ev"), str(root / "missing.pub")],
        ["enrol", "--evidence", str(root / "ev"), str(private)],
        ["enrol", "--evidence", str(orphan), str(public)],
        ["enrol", "--evidence", str(not_db), str(public)],
        ["enrol", "--evidence", str(public), str(public)],  # a file where the store goes
        ["record", "--camera", "x", "--store", str(root / "s"), "--fps", "many"],
        ["keygen"],
        ["keygen", "--device-id", "a/b", "--out", str(root / "k")],
        ["keygen", "--device-id", "A", "--host-id", "B", "--out", str(root / "k")],
        ["sync", "--evidence", str(root / "ev"), "--host-key", str(private)],
        ["dock", "--store", str(root / "nostore"), "--trust", str(public)],
        ["sim", "run"],
    ]


def test_every_refusal_of_bad_input_is_chinese(tmp_path, said):  # issue 17
    for args in cases(tmp_path):
        code, err = said(*args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, (args, err)
        last = lines[-1]  # argparse shows its usage first: the refusal is the last line
        assert CJK.search(last) and english_run(last) < 3, (args, last)
