"""The check of a whole evidence store as verdicts (``host.checkup``): what ``sealcam verify
EVIDENCE/`` renders and the demo reads, with nothing printed and nothing parsed."""
# micropython: skip (host code: SQLite, the simulator's scripted shift)
# Issue 11 item 1: verify_evidence's logic is a domain function returning verdicts.

import hashlib

import pytest

from host.checkup import check_evidence
from host.errors import Unusable
from host.evidence import SqliteEvidenceStore, chunk_media
from protocol.ledger import parse_entry
from protocol.signer import make_signer
from simulator.shift import run_shift
from tests.protocol.helpers import DEVICE, SEED_A, T0, device_key


@pytest.fixture
def evidence(tmp_path):
    """An evidence store holding a short shift, its media and a signed checkpoint."""
    store = SqliteEvidenceStore(tmp_path / "ev")
    store.enrol(DEVICE, device_key().public)
    shift = run_shift(make_signer(SEED_A), DEVICE, T0, "P-0427", seconds=4, fps=5)
    store.add_entries(DEVICE, shift.entries, T0 + 3_600_000)
    for media in shift.media:
        store.put_media(hashlib.sha256(media).digest(), media)
    store.checkpoint(make_signer(bytes(range(32))), "agency-1")
    chunks = [e for e in map(parse_entry, shift.entries) if chunk_media(e)]
    store.close()
    return tmp_path / "ev", chunks


def test_a_sound_store_is_ok_with_each_device_and_its_recordings(evidence, capsys):
    path, _ = evidence
    checkup = check_evidence(path)
    assert checkup.ok and checkup.store.ok
    [device] = checkup.devices
    assert device.device_id == DEVICE and device.report.state == "OK" and device.flags == []
    assert device.recordings and device.recordings[0]["chunks"] > 0
    out = checkup.to_dict()
    assert out["devices"][0]["verification"]["state"] == "OK"
    assert isinstance(out["devices"][0]["recordings"][0]["id"], str)  # hex, as JSON prints it
    assert capsys.readouterr() == ("", "")  # verdicts, not a report: rendering is the CLI's


def test_footage_changed_in_the_store_makes_that_device_not_ok(evidence):  # R-HOST-5
    path, chunks = evidence
    victim = chunks[len(chunks) // 2]
    store = SqliteEvidenceStore(path, readonly=True)
    media = store.media_file(chunk_media(victim)[0])
    store.close()
    media.chmod(0o644)
    data = bytearray(media.read_bytes())
    data[0] ^= 1
    media.write_bytes(bytes(data))
    checkup = check_evidence(path, DEVICE)
    assert not checkup.ok and checkup.store.ok  # the log still holds what it stored
    findings = checkup.devices[0].report.findings
    assert [(f.code, f.seq) for f in findings] == [("media-altered", victim.seq)]
    assert checkup.devices[0].report.state == "NOT OK"


def test_what_cannot_be_checked_is_unusable_in_one_line(evidence, tmp_path):
    path, _ = evidence
    with pytest.raises(Unusable, match="device SC-NOBODY is not enrolled"):
        check_evidence(path, "SC-NOBODY")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Unusable) as caught:
        check_evidence(tmp_path / "empty")
    assert "\n" not in str(caught.value)
