"""Issue 13, command start-up: ``sealcam`` imports only the command it runs (``host.cli.main.
COMMANDS``), while ``sealcam --help`` still lists every command with its summary."""
# micropython: skip (the command line is CPython's)

import argparse
import subprocess
import sys

import pytest

from host import i18n
from host.cli.main import COMMANDS, build_parser, command_in, main


def test_help_lists_every_command_with_its_summary(capsys):
    # Issue 13 item "command start-up": the commands not loaded still stand in the help.
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for name, _, _ in COMMANDS:
        assert name in out and " ".join(i18n.text("cmd." + name).split()) in out, name
    assert "sim" in out  # a plugin's command too


def test_the_table_names_the_command_each_module_adds():
    # Issue 13 item "command start-up": a line of COMMANDS that named another command
    # than its function adds would leave that command unbuilt when it runs.
    full = build_parser()
    (sub,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    hosts = [name for name in sub.choices if name != "sim"]
    assert hosts == [name for name, _, _ in COMMANDS]
    for name, _, _ in COMMANDS:
        one = build_parser([name])
        (lazy,) = [a for a in one._actions if isinstance(a, argparse._SubParsersAction)]
        built = lazy.choices[name]
        assert built.format_help() == sub.choices[name].format_help(), name


@pytest.mark.parametrize(
    "argv, command",
    [(["audit", "--item", "x"], "audit"), (["--lang", "zh", "verify", "d"], "verify"),
     (["--lang=zh", "items"], "items"), (["--help"], None), (["--", "x"], None)],
)  # fmt: skip
def test_the_command_is_the_first_word_that_is_no_option(argv, command):
    assert command_in(argv) == command


def test_a_command_imports_neither_the_other_commands_nor_their_domains():
    # Issue 13 item "command start-up": `sealcam audit --help` in a fresh interpreter loads
    # the audit command's modules, not verify's, the demo's, export's or the simulator.
    probe = (
        "import sys\n"
        "from host.cli import main\n"
        "try:\n"
        "    main(['audit', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, check=True)  # fmt: skip
    loaded = set(done.stderr.split())
    assert "host.cli.audit" in loaded
    for heavy in ("host.cli.verify", "host.cli.demo", "host.cli.export", "host.export",
                  "host.cli.flash", "host.cli.dock", "simulator"):  # fmt: skip
        assert heavy not in loaded, heavy
    assert "--item" in done.stdout
