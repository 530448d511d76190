"""docs/scenarios.md is generated from the scenario parser's tables and is current (issue 17,
QA: the full scenario reference, which cannot drift from the code that parses scenarios)."""
# micropython: skip (the simulator runs on CPython only)

import pytest

from host.compliance import Flag
from simulator import scenariodoc


def test_every_key_the_parser_takes_is_described_and_nothing_else():
    assert scenariodoc.check() == []


def test_docs_scenarios_md_is_current():
    # If this fails after a change to simulator/scenario.py or the flag codes, regenerate it:
    # python -m simulator.scenariodoc
    assert scenariodoc.DOC.read_text(encoding="utf-8") == scenariodoc.render()


def test_the_reference_covers_every_step_fault_and_flag():
    text = scenariodoc.render()
    for do in scenariodoc.sc.STEPS:
        assert "### `%s`" % do in text
    for kind in scenariodoc.sc.FAULTS:
        assert "| `%s` |" % kind in text
    for code in scenariodoc.FLAG_CODES:
        assert "| `%s` |" % code in text
    assert "```toml\nname = " in text  # the worked example, from the library


def test_a_new_key_without_a_description_is_caught(monkeypatch):
    monkeypatch.setitem(scenariodoc.sc.DEVICE_KEYS, "antenna", str)
    assert scenariodoc.check() == ["[device] antenna has no description"]


def test_a_flag_code_without_a_description_is_refused():
    with pytest.raises(ValueError, match="FLAG_CODES"):
        Flag("made-up", "R-DEV-1", 0, "")
