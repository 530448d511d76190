"""One recording, one number (issue 17): ``sealcam verify`` (its compliance flags and its
JSON), the timeline it tells, and ``sealcam export`` (``--recording N``, the note, the
refusal that lists the recordings there are) name every recording by the same number, the
seq of the entry that started it (host/recordings.py)."""
# micropython: skip (the command line)

import json
import re

import pytest

from host import i18n
from host.cli.main import main
from tests.host.helpers import evidence, run_pair
from tests.host.rawrec import record
from tests.protocol.helpers import DEVICE


@pytest.fixture(scope="module")
def two_recordings(tmp_path_factory):
    """An evidence store holding two recordings of one device (numbers neither 0 nor 1, so
    a count from one or from zero cannot pass for them)."""
    root = tmp_path_factory.mktemp("numbers")
    agent, _ = record(root / "dev", seconds=1, recordings=2)
    ev = evidence(root / "ev")
    summary, _, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    ev.close()
    agent.store.close()
    return root / "ev"


@pytest.fixture
def english():
    chosen = list(i18n._chosen)
    i18n.use("en")
    yield
    i18n._chosen[:] = chosen


def test_verify_export_and_the_timeline_give_a_recording_one_number(
    two_recordings, tmp_path, capsys, english
):  # issue 17: "recording numbers are the same in verify, export and the timeline"
    ev = str(two_recordings)
    main(["verify", ev, "--json"])
    report = json.loads(capsys.readouterr().out)
    (device,) = report["devices"]
    from_json = [int(r["id"], 16) for r in device["recordings"]]
    assert len(from_json) == 2 and not {0, 1} & set(from_json), from_json

    main(["verify", ev])
    text = capsys.readouterr().out
    timeline = [int(n) for n in re.findall(r"^Recording (\d+) ", text, re.M)]
    flagged = {int(n) for n in re.findall(r"\brecording (\d+)\b", text)}
    assert timeline == from_json, text
    assert flagged == set(from_json), text  # each has flags (no announcement): same numbers

    for number in from_json:
        out = tmp_path / ("rec-%d.avi" % number)
        args = ["export", "--evidence", ev, "--device", DEVICE, "--recording", str(number),
                "--out", str(out), "--extractor", "P-0001"]  # fmt: skip
        assert main(args) == 0, capsys.readouterr().err
        capsys.readouterr()
        note = json.loads(out.with_name(out.name + ".json").read_text())
        assert note["recording"]["number"] == number, note["recording"]

    missing = max(from_json) + 100
    args = ["export", "--evidence", ev, "--device", DEVICE, "--recording", str(missing),
            "--out", str(tmp_path / "none.avi"), "--extractor", "P-0001"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    listed = [int(n) for n in re.findall(r"(\d+) \([0-9a-f]{16}\)", err)]
    assert listed == from_json, err
