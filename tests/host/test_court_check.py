"""A court package checked without sealcam (issue 15): the checks of docs/court-package.md
give OK on a good package, and NOT OK naming the item after one changed media byte, a
deleted chunk, an edited note, a recording swapped in from another package or a bad
manifest signature; the same for its ISO image (``sealcam verify``'s reader); and the
script every package carries gives the same verdicts, importing nothing of sealcam."""
# micropython: skip (host code: the court package)

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.court import check as court_check
from host.court import verify_package as vp
from host.court.iso import write_iso
from tests.host.courtstore import copy, export, fmp4_store, raw_store, the_item


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Two fMP4 packages of different recordings, and a raw one: {name: path}."""
    tmp = tmp_path_factory.mktemp("check")
    made = {}
    with pytest.MonkeyPatch.context() as mp:
        for name, gops in (("a", 3), ("b", 2)):
            (tmp / name).mkdir()
            store = fmp4_store(tmp / name, gops_before=gops)
            assert export(mp, store, tmp / ("pkg-" + name), "--recording", the_item(store)) == 0
            made[name] = tmp / ("pkg-" + name)
        (tmp / "raw").mkdir()
        store = raw_store(tmp / "raw")
        assert export(mp, store, tmp / "pkg-raw", "--recording", the_item(store)) == 0
        made["raw"] = tmp / "pkg-raw"
    return made


def findings(pkg: Path) -> list:
    report = vp.check(vp.Folder(str(pkg)))
    return [(f.code, f.item, f.detail) for f in report.findings if f.failed]


def manifest(pkg: Path) -> dict:
    return json.loads((pkg / "manifest.json").read_text())


def test_good_packages_are_ok(packages):
    for pkg in packages.values():
        assert findings(pkg) == []


def test_one_changed_media_byte_is_not_ok_naming_the_file_and_the_chunk(packages, tmp_path):
    # R-HOST-5: a changed byte of footage shows, and where.
    pkg = copy(packages["a"], tmp_path / "pkg")
    (rec,) = manifest(pkg)["recordings"]
    chunk = rec["chunks"][2]
    video = pkg / "r01/video.mp4"
    data = bytearray(video.read_bytes())
    data[chunk["offset"] + chunk["bytes"] // 2] ^= 0x01
    video.write_bytes(bytes(data))
    found = findings(pkg)
    assert ("file-changed", "r01/video.mp4") in [f[:2] for f in found]
    changed = [f for f in found if f[0] == "chunk-changed"]
    assert len(changed) == 1 and changed[0][1] == rec["item"]
    assert "seq %d" % chunk["seq"] in changed[0][2]


def test_the_chunks_and_the_unsigned_parts_cover_the_video_every_byte_once(packages):
    # R-HOST-5: the manifest lists what no signed chunk covers, so a verifier can check every
    # byte of the video once (docs/court-package.md, step 3).
    pkg = packages["a"]
    m = manifest(pkg)
    (row,) = [f for f in m["files"] if f["path"] == "r01/video.mp4"]
    (rec,) = m["recordings"]
    ranges = [(c["offset"], c["bytes"]) for c in rec["chunks"] if c["included"]]
    ranges += [(u["offset"], u["bytes"]) for u in row["unsigned"]]
    pos = 0
    for offset, length in sorted(ranges):
        assert offset == pos
        pos += length
    assert pos == row["bytes"] == (pkg / "r01/video.mp4").stat().st_size
    assert [u["what"] for u in row["unsigned"]] == ["pause subtitles", "evidence box"]
    data = (pkg / "r01/video.mp4").read_bytes()
    for u in row["unsigned"]:
        part = data[u["offset"] : u["offset"] + u["bytes"]]
        assert vp.sha256(part).hex() == u["sha256"]
    # A file that is one chunk has no unsigned parts.
    assert all("unsigned" not in f for f in manifest(packages["raw"])["files"])


def test_a_changed_byte_of_the_evidence_box_is_not_ok_naming_the_video(packages, tmp_path):
    pkg = copy(packages["a"], tmp_path / "pkg")
    (row,) = [f for f in manifest(pkg)["files"] if f["path"] == "r01/video.mp4"]
    box = row["unsigned"][-1]
    video = pkg / "r01/video.mp4"
    data = bytearray(video.read_bytes())
    data[box["offset"] + box["bytes"] // 2] ^= 0x01
    video.write_bytes(bytes(data))
    assert [f[:2] for f in findings(pkg)] == [("file-changed", "r01/video.mp4")]


def test_a_deleted_chunk_is_not_ok_naming_it(packages, tmp_path):
    pkg = copy(packages["raw"], tmp_path / "pkg")
    (rec,) = manifest(pkg)["recordings"]
    chunk = rec["chunks"][1]
    (pkg / chunk["file"]).unlink()
    found = findings(pkg)
    assert ("file-missing", chunk["file"]) in [f[:2] for f in found]
    missing = [f for f in found if f[0] == "chunk-missing"]
    assert missing and "seq %d" % chunk["seq"] in missing[0][2]


def test_a_fragment_cut_out_of_the_video_is_not_ok(packages, tmp_path):
    pkg = copy(packages["a"], tmp_path / "pkg")
    (rec,) = manifest(pkg)["recordings"]
    chunk = rec["chunks"][3]
    video = pkg / "r01/video.mp4"
    data = video.read_bytes()
    video.write_bytes(data[: chunk["offset"]] + data[chunk["offset"] + chunk["bytes"] :])
    codes = {f[0] for f in findings(pkg)}
    assert "file-changed" in codes and codes & {"chunk-changed", "chunk-missing"}


def test_an_edited_note_is_not_ok_naming_it(packages, tmp_path):
    pkg = copy(packages["a"], tmp_path / "pkg")
    note = pkg / "note.html"
    note.write_text(note.read_text().replace("提取人", "提取者"))
    assert [f[:2] for f in findings(pkg)] == [("file-changed", "note.html")]


def test_a_recording_swapped_between_packages_is_not_ok(packages, tmp_path):
    pkg = copy(packages["a"], tmp_path / "pkg")
    shutil.rmtree(pkg / "r01")
    shutil.copytree(packages["b"] / "r01", pkg / "r01")
    found = findings(pkg)
    named = {f[1] for f in found}
    assert {"r01/entries.cbor", "r01/video.mp4"} <= named
    item = manifest(pkg)["recordings"][0]["item"]
    assert item in named  # the recording itself: its ledger or its proofs do not fit


def test_a_bad_manifest_signature_is_not_ok(packages, tmp_path):
    pkg = copy(packages["a"], tmp_path / "pkg")
    signed = bytearray((pkg / "manifest.cbor").read_bytes())
    signed[-5] ^= 0x40  # inside the Ed25519 signature, the message's last field
    (pkg / "manifest.cbor").write_bytes(bytes(signed))
    assert [f[:2] for f in findings(pkg)] == [("manifest-signature", "manifest.cbor")]


def test_a_manifest_re_signed_by_another_key_is_not_ok(packages, tmp_path):
    from protocol import cbor, cose
    from protocol.signer import make_signer

    pkg = copy(packages["a"], tmp_path / "pkg")
    tag = cbor.loads((pkg / "manifest.cbor").read_bytes())
    protected, _, payload, _ = tag.value
    forged = make_signer(bytes(range(32))).sign(cose.to_be_signed(protected, payload))
    (pkg / "manifest.cbor").write_bytes(cose.encode_sign1(protected, payload, forged))
    assert [f[0] for f in findings(pkg)] == ["manifest-signature"]


def test_the_iso_image_reads_back_with_the_same_verdicts(packages, tmp_path):
    good = tmp_path / "good.iso"
    write_iso(packages["a"], good, "pkg")
    report = court_check.check_path(good)
    assert report.ok and report.files == vp.check(vp.Folder(str(packages["a"]))).files
    pkg = copy(packages["a"], tmp_path / "pkg")
    note = pkg / "note.html"
    note.write_text(note.read_text() + " ")
    bad = tmp_path / "bad.iso"
    write_iso(pkg, bad, "pkg")
    report = court_check.check_path(bad)
    assert [(f.code, f.item) for f in report.findings if f.failed] == [
        ("file-changed", "note.html")
    ]


BLOCKER = """
import runpy, sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("host", "protocol", "firmware", "simulator", "tests"):
            raise ImportError("the package's script imported sealcam's " + name)
        return None
sys.meta_path.insert(0, Blocker())
sys.argv = [sys.argv[1]] + sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_script(pkg: Path, *args: str) -> subprocess.CompletedProcess:
    """The package's own verify.py, with the venv's python, sealcam's modules blocked."""
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, str(pkg / "verify.py"), *args],
        capture_output=True,
        text=True,
        cwd=str(pkg.parent),
        timeout=120,
    )


def test_the_packaged_script_gives_the_same_verdicts_without_sealcam(packages, tmp_path):
    good = run_script(packages["a"])
    assert good.returncode == 0, good.stderr
    assert "OK" in good.stdout.splitlines()[-1]
    pkg = copy(packages["a"], tmp_path / "pkg")
    note = pkg / "note.html"
    note.write_text(note.read_text() + " ")
    bad = run_script(pkg, str(pkg), "--json")
    assert bad.returncode == 1, bad.stderr
    said = json.loads(bad.stdout)
    assert said["verdict"] == "NOT OK"
    assert [(f["code"], f["item"]) for f in said["findings"]] == [("file-changed", "note.html")]
    empty = tmp_path / "empty"
    empty.mkdir()
    unusable = run_script(pkg, str(empty))
    assert unusable.returncode == 2 and len(unusable.stderr.strip().splitlines()) == 1


def test_the_packaged_script_imports_only_the_standard_library_and_pynacl():
    source = Path(vp.__file__).read_text(encoding="utf-8")
    top = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            top.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            top.add((node.module or "").split(".")[0])
    assert top - set(sys.stdlib_module_names) == {"nacl"}


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.tuples(st.integers(0, 3100), st.integers(0, 900))))
def test_chunks_hashed_with_their_file_are_those_read_alone(data, ranges):
    import hashlib
    import io

    old = vp.READ_SIZE
    vp.READ_SIZE = 256  # many blocks, so ranges cross block edges
    try:
        digest, count, parts = vp.hash_with_ranges(io.BytesIO(data), ranges)
    finally:
        vp.READ_SIZE = old
    assert (digest, count) == (hashlib.sha256(data).hexdigest(), len(data))
    for (offset, length), got in parts.items():
        piece = data[offset : offset + length]
        assert got == (hashlib.sha256(piece).hexdigest(), len(piece))
