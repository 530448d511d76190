"""Chinese and English (issue 17, issue 13 "Chinese first"): the gettext catalogs, ``--lang``,
the locale rule, JSON untouched."""
# micropython: skip (the host's command line)

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from hypothesis import given
from hypothesis import strategies as st

from host import i18n
from host.cli.common import UsageProblem, check_id, host_signer, parse_address
from host.cli.main import build_parser, lang_from_argv, main
from protocol.keys import encode_key
from tests.host.helpers import write_case
from tests.protocol.helpers import device_key, make_entries

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "i18n"

# Chinese characters, and the full-width punctuation that only Chinese text uses.
CJK = (range(0x4E00, 0xA000), range(0x3000, 0x3040), range(0xFF00, 0xFFF0))


def chinese(text: str) -> bool:
    return any(ord(c) in block for c in text for block in CJK)


def sealcam(*args: str, env: "dict | None" = None) -> subprocess.CompletedProcess:
    """The command in a process of its own, with exactly the locale variables given."""
    clean = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean,
    )


@pytest.fixture(autouse=True)
def _locale_back():
    yield
    i18n.use(None)


def messages() -> dict:
    """message id -> (English, Chinese), from the catalogs."""
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    return {msg_id: (en.get(msg_id), zh.get(msg_id)) for msg_id in set(en) | set(zh)}


def test_every_message_has_both_languages_with_the_same_fields():  # issue 17, issue 13
    found = messages()
    assert len(found) > 100  # the catalogs were read
    for msg_id, (en, zh) in found.items():
        assert en is not None and zh is not None, "%s: not in both languages" % msg_id
        assert en.strip() and zh.strip(), msg_id
        assert i18n.fields_of(en) == i18n.fields_of(zh), msg_id
        words = re.sub(r"\{[^}]*\}", "", en)
        if re.search("[A-Za-z]{2}", words):  # not only fields and marks: it has words
            assert chinese(zh), "%s: the Chinese text has no Chinese in it" % msg_id
        assert not chinese(en), "%s: the English text has Chinese in it" % msg_id


def test_every_message_renders_in_both_languages():
    for msg_id, (en, _) in messages().items():
        fields = {name: 1 for name in i18n.fields_of(en)}  # 1 fits every format spec used
        for lang in i18n.LANGS:
            assert i18n.text(msg_id, lang, **fields)


def test_a_message_id_is_in_one_area_only_and_both_languages_have_the_same_areas():  # issue 13
    for lang in i18n.LANGS:
        seen: dict = {}
        for path in i18n.catalog_files(lang):
            for msg_id in i18n.read_po(path):
                assert msg_id not in seen, "%s is in %s and %s" % (msg_id, seen[msg_id], path)
                seen[msg_id] = path
    en = [Path(p).name for p in i18n.catalog_files("en")]
    assert en == [Path(p).name for p in i18n.catalog_files("zh")] and len(en) >= 4


def test_each_catalog_has_a_proper_header():  # issue 13: gettext catalogs
    for lang, name in (("en", "en"), ("zh", "zh_CN")):
        for path in i18n.catalog_files(lang):
            text = Path(path).read_text(encoding="utf-8")
            header = dict(re.findall(r'^"([A-Za-z-]+): (.*)\\n"$', text, re.MULTILINE))
            assert header["Project-Id-Version"] == "sealcam", path
            assert header["Language"] == name, path
            assert header["Content-Type"] == "text/plain; charset=UTF-8", path
            assert header["Plural-Forms"].startswith("nplurals="), path
            assert "\n#. " in text, "%s: no translator comment" % path


def test_every_id_the_code_uses_is_in_the_catalogs(tmp_path):  # issue 13: tools/i18n extract
    pot = tmp_path / "sealcam.pot"
    r = subprocess.run(
        [sys.executable, str(TOOL), "extract", "--pot", str(pot)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    with open(pot, "rb") as f:
        used = {m.id for m in read_po(f) if m.id}
    # The extractor finds rendered ids and marked tables: a few of each kind.
    assert {"record.summary", "verdict.not_ok", "argparse.usage", "key.record"} <= used
    assert {"mp4.verdict.altered", "prompt.announce", "usage.number_above"} <= used
    assert sorted(i for i in used if not i18n.known(i)) == []
    check = subprocess.run(
        [sys.executable, str(TOOL), "check"], capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stderr


def test_extract_names_an_id_the_code_uses_that_no_catalog_has():  # issue 13
    found = {"cli.nowhere": ["host/new.py:2"], "main.failed": ["host/cli/main.py:1"]}
    assert _tool()["missing"](found) == [
        "host/new.py:2: cli.nowhere is in no catalog: add it to "
        "host/locale/{en,zh_CN}/LC_MESSAGES/AREA.po"
    ]


def _tool() -> dict:
    import runpy

    return runpy.run_path(str(TOOL), run_name="tools.i18n")


def test_each_compiled_catalog_gives_the_texts_of_its_source(tmp_path):  # issue 13
    r = subprocess.run(
        [sys.executable, str(TOOL), "compile", "--into", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    sources = i18n.catalog_files("en") + i18n.catalog_files("zh")
    for po in sources:
        mo = tmp_path / Path(po).relative_to(i18n.LOCALE_DIR).with_suffix(".mo")
        assert i18n.read_mo(str(mo)) == i18n.read_po(po), po
    assert len(list(tmp_path.rglob("*.mo"))) == len(sources)


def _catalog_file(path: Path, lang: str, messages: dict) -> None:
    catalog = Catalog(locale=lang, project="sealcam")
    for msg_id, template in messages.items():
        catalog.add(msg_id, template)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        if path.suffix == ".po":
            write_po(f, catalog)
        else:
            write_mo(f, catalog)


@pytest.fixture
def locale(tmp_path, monkeypatch):
    """A locale folder of its own for host.i18n, nothing loaded yet."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", str(tmp_path))
    monkeypatch.setattr(i18n, "_catalogs", {})
    return tmp_path


def test_a_stale_or_missing_compiled_catalog_gives_the_source_text(locale):  # issue 13
    # A .mo without its source's digest (pybabel compile's): current when not older.
    po = locale / "zh_CN" / "LC_MESSAGES" / "cli.po"
    mo = po.with_suffix(".mo")
    _catalog_file(po, "zh_CN", {"main.failed": "新的 {problem}"})
    _catalog_file(mo, "zh_CN", {"main.failed": "旧的 {problem}"})
    # Older than its source (the .po was edited after the last compile): not used.
    when = po.stat().st_mtime_ns
    os.utime(mo, ns=(when - 10**10, when - 10**10))
    assert i18n.text("main.failed", "zh", problem="x") == "新的 x"
    # Missing: the same.
    mo.unlink()
    i18n._catalogs.clear()
    assert i18n.text("main.failed", "zh", problem="x") == "新的 x"
    # At least as new as its source: the compiled one is read.
    _catalog_file(mo, "zh_CN", {"main.failed": "编译的 {problem}"})
    os.utime(mo, ns=(when + 10**10, when + 10**10))
    i18n._catalogs.clear()
    assert i18n.text("main.failed", "zh", problem="x") == "编译的 x"


def test_a_compiled_catalog_is_current_by_its_sources_digest_not_its_time(locale, monkeypatch):
    # issue 13: an installer writes the .po after the .mo, or the other way round.
    po = locale / "zh_CN" / "LC_MESSAGES" / "cli.po"
    _catalog_file(po, "zh_CN", {"main.failed": "编译的 {problem}"})
    assert _tool()["compile_all"](None) == 0
    mo = po.with_suffix(".mo")
    when = po.stat().st_mtime_ns
    os.utime(mo, ns=(when - 10**10, when - 10**10))  # older than its .po, yet compiled from it
    with monkeypatch.context() as m:
        m.setattr(i18n, "read_po", lambda path: pytest.fail("read %s, not its .mo" % path))
        assert i18n.text("main.failed", "zh", problem="x") == "编译的 x"
        assert i18n.catalog("zh") == {"main.failed": "编译的 {problem}"}  # no digest entry
    # The .po edited since, its .mo newer all the same: the .po's text.
    _catalog_file(po, "zh_CN", {"main.failed": "改过的 {problem}"})
    os.utime(mo, ns=(when + 10**10, when + 10**10))
    i18n._catalogs.clear()
    assert i18n.text("main.failed", "zh", problem="x") == "改过的 x"


def test_a_message_not_yet_in_chinese_is_shown_in_english_and_an_unknown_id_is_an_error(locale):
    _catalog_file(locale / "en" / "LC_MESSAGES" / "cli.po", "en", {"a.new": "new {n}", "a.b": "B"})
    _catalog_file(locale / "zh_CN" / "LC_MESSAGES" / "cli.po", "zh_CN", {"a.b": "乙"})
    assert i18n.text("a.new", "zh", n=1) == "new 1" and i18n.text("a.b", "zh") == "乙"
    assert i18n.known("a.new") and not i18n.known("a.none")
    with pytest.raises(KeyError):
        i18n.text("a.none", "zh")
    assert i18n.catalog("zh") == {"a.b": "乙"}


def test_the_compiled_catalogs_are_read_without_babel(tmp_path):  # issue 13: startup cost
    for lang, name in (("en", "en"), ("zh", "zh_CN")):
        for po in i18n.catalog_files(lang):
            target = tmp_path / name / "LC_MESSAGES" / Path(po).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(po).read_bytes())
    r = subprocess.run(
        [sys.executable, str(TOOL), "compile", "--into", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    script = (
        "import sys; from host import i18n; i18n.LOCALE_DIR = %r; "
        "print(i18n.text('verdict.not_ok', 'zh'), i18n.text('cmd.verify', 'en')); "
        "print('babel' in sys.modules)" % str(tmp_path)
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.stdout.splitlines() == ["不通过 " + i18n.text("cmd.verify", "en"), "False"], out


def _summaries(parser: argparse.ArgumentParser, path: str = "") -> dict:
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                out[(path + " " + choice.dest).strip()] = choice.help
            for name, child in action.choices.items():
                out.update(_summaries(child, (path + " " + name).strip()))
    return out


def test_every_commands_summary_is_in_the_catalogue_as_the_command_declares_it():  # issue 17
    i18n.use("en")
    english = _summaries(build_parser())
    assert english, "no commands found"
    for path, summary in english.items():
        assert i18n.catalog("en")["cmd." + path] == summary, "catalog out of date for %r" % path
    i18n.use("zh")
    for path, summary in _summaries(build_parser()).items():
        assert summary == i18n.catalog("zh")["cmd." + path]


@pytest.mark.parametrize(
    "env, lang",
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
        ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "zh"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),  # set but empty: the next one decides
        ({"LANG": "zhx"}, "en"),
    ],
)
def test_the_locale_rule(env, lang):  # issue 17: LC_ALL, LC_MESSAGES, LANG; zh_* is Chinese
    assert i18n.locale_lang(env) == lang


@given(st.lists(st.sampled_from(["--lang", "zh", "en", "--lang=zh", "--lang=en", "--", "x"])))
def test_lang_is_read_from_anywhere_before_the_end_of_options(argv):
    found = lang_from_argv(argv)
    end = argv.index("--") if "--" in argv else len(argv)
    head = argv[:end]
    if found is None:
        assert not any(a.startswith("--lang=") for a in head)
        assert not any(a == "--lang" and i + 1 < end and head[i + 1] in i18n.LANGS
                       for i, a in enumerate(head))  # fmt: skip
    else:
        assert "--lang=" + found in head or any(
            a == "--lang" and i + 1 < len(argv) and argv[i + 1] == found for i, a in enumerate(head)
        )


def test_use_refuses_an_unknown_language():
    with pytest.raises(ValueError):
        i18n.use("fr")


def test_a_verdict_in_chinese_by_option_and_by_locale_and_json_untranslated(tmp_path):  # issue 17
    ledger, key = write_case(tmp_path, make_entries(4))
    english = sealcam("verify", ledger, "--key", key, env={"LANG": "C.UTF-8"})
    assert english.returncode == 0, english.stderr
    assert "State    ✓ OK" in english.stdout and not chinese(english.stdout)
    by_option = sealcam("--lang", "zh", "verify", ledger, "--key", key)
    by_option_after = sealcam("verify", ledger, "--key", key, "--lang", "zh")
    by_locale = sealcam("verify", ledger, "--key", key, env={"LANG": "zh_CN.UTF-8"})
    for r in (by_option, by_option_after, by_locale):
        assert r.returncode == 0, r.stderr
        assert "结论      ✓ 通过" in r.stdout, r.stdout
    # --lang wins over the locale, both ways.
    back = sealcam("verify", ledger, "--key", key, "--lang", "en", env={"LC_ALL": "zh_CN.UTF-8"})
    assert back.stdout == english.stdout
    # Machines read JSON's keys and values: never translated.
    plain = sealcam("verify", ledger, "--key", key, "--json")
    zh = sealcam("--lang", "zh", "verify", ledger, "--key", key, "--json", env={"LANG": "zh_CN"})
    assert zh.stdout == plain.stdout and json.loads(zh.stdout)["state"] == "OK"


def test_a_not_ok_verdict_in_chinese(tmp_path):
    entries = make_entries(5)
    del entries[2]
    ledger, key = write_case(tmp_path, entries)
    r = sealcam("verify", ledger, "--key", key, env={"LANG": "zh_CN.UTF-8"})
    assert r.returncode == 1
    assert "✗ 不通过" in r.stdout


def test_help_summaries_in_chinese():  # issue 17
    r = sealcam("--help", env={"LANG": "zh_CN.UTF-8"})
    assert r.returncode == 0
    zh = i18n.catalog("zh")
    assert zh["cmd.verify"] in r.stdout and zh["main.epilog"] in r.stdout
    r = sealcam("--help", "--lang", "en", env={"LANG": "zh_CN.UTF-8"})
    assert i18n.catalog("en")["cmd.verify"] in r.stdout and not chinese(r.stdout)


def test_an_unknown_language_is_refused_in_one_usage_line():
    r = sealcam("--lang", "fr", "verify", "x")
    assert r.returncode == 2 and "--lang" in r.stderr and "invalid choice" in r.stderr


def test_the_usage_lines_of_common_arguments_in_chinese(capsys, tmp_path):  # issue 17, exit 2
    i18n.use("zh")
    with pytest.raises(UsageProblem, match="地址格式应为 主机:端口"):
        parse_address("nowhere")
    key = tmp_path / "host.pub"
    key.write_bytes(encode_key(device_key().public_only()))
    with pytest.raises(UsageProblem, match="是公钥文件"):
        host_signer(str(key))
    with pytest.raises(UsageProblem, match="设备编号长 "):
        check_id("x" * 300, "usage.what_device_id")
    with pytest.raises(SystemExit) as out:
        main(["--lang", "zh", "record", "--camera", "x", "--store", "s", "--seconds", "-1"])
    assert out.value.code == 2
    assert "请给出不小于 0 的数值，而不是 '-1'" in capsys.readouterr().err


def test_argparse_refusals_and_headings_in_chinese_and_unchanged_in_english():  # issue 17
    zh = {"LANG": "zh_CN.UTF-8"}
    r = sealcam("verify", env=zh)
    assert r.returncode == 2 and r.stderr.endswith("sealcam verify：错误：缺少必需的参数：ledger\n")
    r = sealcam("record", "--store", "s", "--camera", "0", "--seconds", "x", env=zh)
    assert "参数 --seconds：请给出不小于 0 的数值，而不是 'x'" in r.stderr
    r = sealcam("verify", "--help", env=zh)
    assert r.stdout.startswith("用法：sealcam verify") and "显示本帮助并退出" in r.stdout
    # English is argparse's own wording, word for word.
    r = sealcam("verify")
    assert r.stderr.endswith(
        "sealcam verify: error: the following arguments are required: ledger\n"
    )
    r = sealcam("verify", "--help")
    assert r.stdout.startswith("usage: sealcam verify") and "\noptions:\n" in r.stdout
    assert not chinese(r.stdout)


def test_an_argparse_refusal_the_catalogue_does_not_know_stays_as_argparse_wrote_it():
    from host.cli.argwords import refusal

    i18n.use("zh")
    assert refusal("something new: x") == "something new: x"
    assert refusal("argument --x: something new") == "参数 --x：something new"


def test_the_mp4_verdict_line_is_in_the_language_in_force():  # issue 17, issue 12
    from host import mp4verify

    report = mp4verify.Mp4Report("recording.mp4")
    for state in (*mp4verify._VERDICT_LINES, "a state with no line of its own"):
        report.state = state
        named = state if state in mp4verify._VERDICT_LINES else mp4verify.ALTERED
        i18n.use("en")
        english = report._verdict()
        assert i18n.verdict(named, "en") in english and not chinese(english)
        i18n.use("zh")
        zh = report._verdict()
        assert i18n.verdict(named, "zh") in zh and chinese(zh)
    unsigned = mp4verify.Mp4Report("recording.mp4")  # no evidence box: nothing to check
    i18n.use("zh")
    assert i18n.text("mp4.verdict.unsigned", "zh") in unsigned.lines()[-1]
