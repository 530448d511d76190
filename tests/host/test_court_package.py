"""The court package as built (issue 15, docs/court-package.md): what it holds, that its
manifest is a COSE_Sign1 generic tooling verifies, that the signed media is byte-exact and
plays with sound, that a part of a recording proves itself part of the whole, and that
nothing half-written is ever left behind (R-HOST-4, R-HOST-5)."""
# micropython: skip (host code: the court package)

import errno
import hashlib
import json

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host import tlog
from host.court import logproofs
from host.court import manifest as signed_manifest
from host.court import package as court_package
from host.court import verify_package as vp
from host.evidence import SqliteEvidenceStore
from protocol import cbor
from protocol.ledger import parse_entry
from protocol.registry import F_PLAIN_SHA, KIND_CHUNK
from protocol.signer import make_signer
from tests.host.courtstore import export, fmp4_store, raw_store, the_item
from tests.host.helpers import HOST_KID, HOST_SEED


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """An fMP4 store and its whole package: (store, item, package)."""
    tmp = tmp_path_factory.mktemp("court")
    store = fmp4_store(tmp)
    item = the_item(store)
    with pytest.MonkeyPatch.context() as mp:
        assert export(mp, store, tmp / "pkg", "--recording", item, "--place", "证据室") == 0
    return store, item, tmp / "pkg"


def manifest_of(pkg):
    signed = cbor.loads((pkg / "manifest.cbor").read_bytes())
    return cbor.loads(signed.value[2])


def test_the_manifest_is_a_cose_sign1_pycose_verifies_with_the_host_key(made):
    # R-HOST-4: the whole manifest signed with the host key, checkable by generic tooling.
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message

    _, _, pkg = made
    msg = Sign1Message.decode((pkg / "manifest.cbor").read_bytes())
    public = make_signer(HOST_SEED).public_key()
    msg.key = OKPKey(crv=Ed25519, x=public)
    assert msg.verify_signature()
    other = make_signer(bytes(32)).public_key()
    msg.key = OKPKey(crv=Ed25519, x=other)
    assert not msg.verify_signature()
    manifest = cbor.loads(msg.payload)
    assert manifest["host"]["public_key"] == public.hex()
    assert manifest["host"]["name"] == HOST_KID
    assert json.loads((pkg / "manifest.json").read_text()) == manifest


def test_every_file_is_listed_with_category_format_size_and_sha256(made):
    _, _, pkg = made
    manifest = manifest_of(pkg)
    listed = {f["path"]: f for f in manifest["files"]}
    on_disc = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file()}
    assert set(listed) == on_disc - {"manifest.cbor", "manifest.json"}
    for path, f in listed.items():
        data = (pkg / path).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
        assert f["category"] and f["format"] and f["what"] and f["what_zh"]
    for needed in (
        "note.html",
        "note.pdf",
        "verify.py",
        "verify.html",
        "readme.txt",
        "host/checkpoint.txt",
        "host/host-key.txt",
        "keys/d01.cose",
        "keys/d01.json",
        "r01/entries.cbor",
        "r01/proofs.json",
        "r01/video.mp4",
        "r01/custody.json",
    ):
        assert needed in listed, needed
    assert manifest["extractor"]["user"] == "li"
    assert manifest["place"] == "证据室"


def test_the_signed_fragments_are_byte_exact_in_a_video_that_plays_with_sound(made):
    # R-HOST-5: the original media unchanged; the package's video is those very bytes.
    store, _, pkg = made
    ev = SqliteEvidenceStore(store, readonly=True)
    from tests.protocol.helpers import DEVICE

    entries = {e.seq: e for e in (parse_entry(r) for r in ev.entries(DEVICE))}
    (rec,) = manifest_of(pkg)["recordings"]
    video = (pkg / "r01/video.mp4").read_bytes()
    for c in rec["chunks"]:
        assert c["included"]
        piece = video[c["offset"] : c["offset"] + c["bytes"]]
        assert piece == ev.read_media(entries[c["seq"]].fields[F_PLAIN_SHA])
    ev.close()
    assert [c["role"] for c in rec["chunks"]].count("spoken-reason") == 1
    with av.open(str(pkg / "r01/video.mp4")) as f:
        kinds = {s.type for s in f.streams}
        assert {"video", "audio"} <= kinds
        frames = sum(1 for _ in f.decode(video=0))
    assert frames > 0
    assert rec["pauses"][0]["spoken_seq"] is not None


def test_the_entries_run_record_start_to_record_stop_each_proven_in_the_checkpoint(made):
    _, _, pkg = made
    manifest = manifest_of(pkg)
    (rec,) = manifest["recordings"]
    entries = vp.parse_entries((pkg / "r01/entries.cbor").read_bytes())
    assert [e.seq for e in entries] == list(range(rec["first_seq"], rec["last_seq"] + 1))
    proofs = json.loads((pkg / "r01/proofs.json").read_text())
    cp = tlog.open_checkpoint(
        (pkg / "host/checkpoint.txt").read_bytes(), HOST_KID, make_signer(HOST_SEED).public_key()
    )
    assert cp.size == proofs["tree_size"] == manifest["checkpoint"]["size"]
    for e, row in zip(entries, proofs["entries"], strict=True):
        leaf = vp.cbor_encode(["entry", rec["device"], e.seq, e.digest])
        assert leaf == cbor.dumps(["entry", rec["device"], e.seq, e.digest])
        assert tlog.verify_inclusion(
            tlog.leaf_hash(leaf),
            row["leaf_index"],
            cp.size,
            [bytes.fromhex(h) for h in row["proof"]],
            cp.root,
        )


def test_a_good_package_checks_ok(made):
    _, item, pkg = made
    report = vp.check(vp.Folder(str(pkg)))
    assert report.ok, [f.to_dict() for f in report.findings]
    (rec,) = report.recordings
    assert rec["item"] == item and rec["state"] == "OK"


def test_a_part_proves_its_chunks_contiguous_and_part_of_the_signed_recording(
    tmp_path, monkeypatch
):
    # Issue 15: minutes 12 to 15 of a long recording, here seconds 1 to 3 of a short one.
    store = fmp4_store(tmp_path, gops_before=4)
    item = the_item(store)
    pkg = tmp_path / "part"
    assert (
        export(monkeypatch, store, pkg, "--recording", item, "--from", "0:01", "--to", "0:03") == 0
    )
    (rec,) = manifest_of(pkg)["recordings"]
    part = rec["range"]
    included = [c for c in rec["chunks"] if c["included"]]
    left = [c for c in rec["chunks"] if not c["included"]]
    assert left and included[0]["role"] == "init"
    footage = [c for c in included if c["role"] != "init"]
    assert footage[0]["seq"] == part["first_seq"]
    assert [c["index"] for c in footage] == list(
        range(footage[0]["index"], footage[0]["index"] + len(footage))
    )
    # Every entry of the recording is there (the chain from record-start to record-stop),
    # but only the chosen chunks' media.
    entries = vp.parse_entries((pkg / "r01/entries.cbor").read_bytes())
    chunk_seqs = [e.seq for e in entries if e.fields.get(7) == KIND_CHUNK]
    assert chunk_seqs == [c["seq"] for c in rec["chunks"]]
    report = vp.check(vp.Folder(str(pkg)))
    assert report.ok, [f.to_dict() for f in report.findings]
    assert report.recordings[0]["state"] == "OK with missing information"
    assert any(f.code == "left-out" for f in report.findings)
    with av.open(str(pkg / "r01/video.mp4")) as f:
        assert sum(1 for _ in f.decode(video=0)) > 0


def test_a_raw_recording_packages_its_chunks_and_a_playable_derivative(tmp_path, monkeypatch):
    # Issue 15: the original media byte-exact, a video with sound, the spoken reason.
    store = raw_store(tmp_path, pause=True)
    item = the_item(store)
    pkg = tmp_path / "raw"
    assert export(monkeypatch, store, pkg, "--recording", item) == 0
    (rec,) = manifest_of(pkg)["recordings"]
    assert rec["mode"] == "raw" and rec["playable"]["kind"] == "derivative"
    assert all(c["included"] and c["file"].startswith("r01/media/") for c in rec["chunks"])
    with av.open(str(pkg / "r01/video.mp4")) as f:
        assert {s.type for s in f.streams} >= {"video", "audio"}
    (pause,) = rec["pauses"]
    assert pause["reason"] == "weather" and pause["spoken_seq"] is not None
    spoken = pkg / ("r01/spoken-%08d.wav" % pause["spoken_seq"])
    import wave

    with wave.open(str(spoken)) as w:
        pcm = w.readframes(w.getnframes())
    (chunk,) = [c for c in rec["chunks"] if c["seq"] == pause["spoken_seq"]]
    assert chunk["role"] == "spoken-reason" and pcm == (pkg / chunk["file"]).read_bytes()
    assert vp.check(vp.Folder(str(pkg))).ok


def test_no_disc_space_leaves_nothing_and_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    store = fmp4_store(tmp_path)
    item = the_item(store)
    real = court_package._write
    calls = []

    def full(path, data, sync=True):
        calls.append(path)
        if len(calls) > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, sync)

    monkeypatch.setattr(court_package, "_write", full)
    assert export(monkeypatch, store, tmp_path / "pkg", "--recording", item) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no space" in err
    assert not (tmp_path / "pkg").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_an_existing_folder_is_refused_without_force_and_replaced_whole_with_it(
    tmp_path, monkeypatch, capsys
):
    store = fmp4_store(tmp_path)
    item = the_item(store)
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "old.txt").write_text("an earlier package")
    assert export(monkeypatch, store, out, "--recording", item) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "old.txt").exists()
    from host import audit

    ev = SqliteEvidenceStore(store)
    with ev.read() as cur:
        tried = [r for r in audit.history(cur) if r.action == audit.EXPORT]
    ev.close()
    assert [(r.outcome, r.item) for r in tried] == [(audit.REFUSED, item)]  # on record
    assert export(monkeypatch, store, out, "--recording", item, "--force") == 0
    assert not (out / "old.txt").exists() and (out / "manifest.cbor").exists()
    assert vp.check(vp.Folder(str(out))).ok


def test_footage_damaged_in_the_store_makes_no_package_and_names_the_chunk(
    tmp_path, monkeypatch, capsys
):
    store = fmp4_store(tmp_path)
    item = the_item(store)
    ev = SqliteEvidenceStore(store)
    from tests.protocol.helpers import DEVICE

    chunks = [e for e in (parse_entry(r) for r in ev.entries(DEVICE)) if e.kind == KIND_CHUNK]
    victim = chunks[2]
    path = ev.media_file(victim.fields[F_PLAIN_SHA])
    ev.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    assert export(monkeypatch, store, tmp_path / "pkg", "--recording", item) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seq %d" % victim.seq in err
    assert not (tmp_path / "pkg").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 70), st.data())
def test_proofs_from_one_tree_are_those_tlog_gives(size, data):
    leaves = [tlog.leaf_hash(b"leaf %d" % i) for i in range(size)]
    tree = logproofs.ProofTree(leaves)
    assert tree.root() == tlog.root_of(leaves)
    index = data.draw(st.integers(0, size - 1))
    assert tree.proof(index) == tlog.inclusion_proof(leaves, index, size)


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), PLAIN, max_size=6))
def test_the_manifest_encoder_gives_the_bytes_of_deterministic_cbor(value):
    # issue 15: the manifest's own (faster) encoder writes what protocol.cbor writes, and its
    # JSON is the same value.
    assert signed_manifest.payload(value) == cbor.dumps(value)
    assert json.loads(signed_manifest.as_json(value)) == value


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), PLAIN, max_size=6), data=st.data())
def test_parts_encoded_ahead_give_the_same_manifest(value, data):
    # issue 15: the chunk rows are encoded while the note's PDF is made; the manifest's bytes
    # are those of encoding it whole, and a value replaced since is encoded anew.
    keys = data.draw(st.lists(st.sampled_from(sorted(value) or [""]), unique=True))
    keys = [k for k in keys if k in value]
    ahead = signed_manifest.Ahead(value, tuple(keys))
    if keys and data.draw(st.booleans()):
        value[keys[0]] = data.draw(PLAIN)
    assert signed_manifest.payload(value, ahead) == signed_manifest.payload(value)
    assert signed_manifest.payload(value, ahead) == cbor.dumps(value)
    assert signed_manifest.as_json(value, ahead) == signed_manifest.as_json(value)
