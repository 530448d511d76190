"""``sealcam export`` refuses in the language the person chose: with ``--lang zh`` the one
line that says why an export was not made, and what to do, is Chinese, with the same exit
code as in English (R-HOST-4: the extraction is a person's act, told to that person)."""
# micropython: skip (the host's command line)

import pytest

from host import i18n
from host.cli.main import main
from tests.host.courtstore import fmp4_store


@pytest.fixture(autouse=True)
def _language_reset():
    yield
    i18n.use(None)


def _refusal(capsys, lang, *argv):
    code = main(["--lang", lang, "export", *argv, "--out", "a.mp4", "--extractor", "P-1"])
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    return code, lines[0]


# R-HOST-4
def test_refusals_are_one_chinese_line_with_the_english_exit_code(tmp_path, capsys):
    store = fmp4_store(tmp_path, accounts=False)
    missing = tmp_path / "nowhere"
    cases = [
        (("--evidence", str(missing), "--device", "X"), "不是证据库", "is not an evidence store"),
        (("--evidence", str(store), "--device", "NOSUCH"), "未在", "is not enrolled in"),
    ]
    for argv, chinese, english in cases:
        zh_code, zh_line = _refusal(capsys, "zh", *argv)
        en_code, en_line = _refusal(capsys, "en", *argv)
        assert zh_code == en_code == 2
        assert chinese in zh_line and english not in zh_line, zh_line
        assert english in en_line and chinese not in en_line, en_line
        # What the person must act on is named alike in both languages.
        assert str(argv[1]) in zh_line and str(argv[1]) in en_line
