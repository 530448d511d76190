"""Commands other packages add to ``sealcam`` through the ``sealcam.commands`` entry points."""
# micropython: skip (the command line runs on CPython only)
# Issue 11 item 1: the simulator's commands are a plugin, so the host never imports it, and
# a plugin that cannot load costs one line, never the host's own commands.

import importlib.metadata
import subprocess
import sys

from host.cli import build_parser, main
from host.cli.main import PLUGINS


def test_the_simulator_adds_sim_through_its_entry_point():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=PLUGINS)}
    assert names.get("sim") == "simulator.command:add_parser"
    args = build_parser().parse_args(["sim", "run", "--all", "--json"])
    assert args.command == "sim" and args.sim_command == "run" and args.all


def test_a_broken_plugin_is_one_line_and_the_host_commands_still_work(
    tmp_path, monkeypatch, capsys
):
    broken = [
        importlib.metadata.EntryPoint("gone", "no_such_package.commands:add", PLUGINS),
        importlib.metadata.EntryPoint("sim", "simulator.command:add_parser", PLUGINS),
        importlib.metadata.EntryPoint("twin", "simulator.command:add_parser", PLUGINS),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: broken)
    code = main(["keygen", "--device-id", "SC-0001", "--out", str(tmp_path), "--json"])
    # A host command does not even load the plugins (issue 13, command start-up).
    assert code == 0 and (tmp_path / "SC-0001.pub").exists()
    assert capsys.readouterr().err == ""
    try:
        main(["--help"])
    except SystemExit as stop:
        assert stop.code == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # the missing one, and the one that adds `sim` a second time
    assert err[0].startswith("sealcam: the command plugin gone (no_such_package.commands:add)")
    assert "ModuleNotFoundError" in err[0]
    assert err[1].startswith("sealcam: the command plugin twin (simulator.command:add_parser)")


def test_help_lists_the_host_commands_when_no_plugin_is_installed(monkeypatch, capsys):
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [])
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "verify" in out and "export" in out and "flash" in out and "sim" not in out.split()


def test_the_host_never_imports_the_simulator():
    """Loading the command line and its host commands leaves the simulator unloaded; only
    its plugin entry point, called when the parser is built, brings it in."""
    code = (
        "import sys, host.cli.main as m, host.checkup, host.cli.flash, host.export; "
        "assert not [n for n in sys.modules if n.split('.')[0] == 'simulator'], sys.modules"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
