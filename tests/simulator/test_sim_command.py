"""Issue 17, QA: `sealcam sim run` says where each scenario's stores are, removes temporary
ones unless --keep, and writes JUnit XML with --junit FILE."""
# micropython: skip (the simulator runs on CPython only)

import tempfile
import xml.etree.ElementTree as ET

from host.cli import main

SHORT = """
name = "short %s"
[device]
id = "SC-SIM-0001"
start = "2026-11-23T08:00:00+08:00"
[[step]]
do = "power_on"
[[step]]
do = "record"
[[step]]
do = "film"
seconds = 2
[[step]]
do = "stop"
[[step]]
do = "dock"
[expect]
state = "OK"
flags = ["no-announcement"]
recordings = %d
"""


def scenario(folder, name: str, recordings: int) -> str:
    path = folder / ("%s.toml" % name)
    path.write_text(SHORT % (name, recordings), encoding="utf-8")
    return str(path)


def test_temporary_stores_go_unless_kept_and_junit_shows_each_scenario(
    tmp_path, capsys, monkeypatch
):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    good = scenario(tmp_path, "good", 1)
    bad = scenario(tmp_path, "bad", 3)  # the host will count one recording, not three
    junit = tmp_path / "results.xml"
    assert main(["sim", "run", good, bad, "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert out.count("(removed after the run; --keep keeps them)") == 2
    assert not list(temp.iterdir())  # nothing left behind

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"short good", "short bad"}
    assert cases["short good"].find("failure") is None
    failure = cases["short bad"].find("failure")
    assert failure is not None and "recordings: expected 3, got 1" in (failure.text or "")
    assert "Result    FAIL" in (cases["short bad"].findtext("system-out") or "")

    assert main(["sim", "run", good, "--keep"]) == 0
    kept = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Stores")]
    assert len(kept) == 1 and kept[0].endswith("(kept)")
    folder = kept[0].split()[1]
    assert [str(p) for p in temp.iterdir()] == [folder]


def test_a_scenario_that_cannot_run_is_an_error_in_the_junit_file(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\n[[step]]\ndo = "fly"\n', encoding="utf-8")
    junit = tmp_path / "results.xml"
    assert main(["sim", "run", str(broken), "--junit", str(junit)]) == 2
    assert "unknown step 'fly'" in capsys.readouterr().err
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
