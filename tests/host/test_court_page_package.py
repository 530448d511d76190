"""The court package's offline page on whole packages, in Chromium: the person chooses the
package folder and the page says OK, or NOT OK naming the changed or missing item (issue 15,
"Verification without sealcam"). The packages are made by the package builder
(host/court/package.py) from small evidence stores. Screenshots go to test-artifacts/ for
people to look at."""

import json
import shutil

import pytest

from host.court import package
from protocol import mp4
from protocol.signer import make_signer
from tests import browser
from tests.host import fmp4
from tests.host.helpers import HOST_KID, HOST_SEED
from tests.protocol.helpers import DEVICE, T0

# The page marks its body when the check is over (its CSP allows no string evaluation, so
# the tests wait on a selector, not on an expression).
DONE = ", ".join('body[data-state="%s"]' % s for s in ("ok", "not-ok", "unusable"))


@pytest.fixture(scope="module")
def recording():
    return fmp4.record()


def write_package(out, rec, **options):
    """The package of ``rec`` (an fMP4 recording in a store of its own) at ``out``."""
    ev = fmp4.evidence_store(out.parent / (out.name + "-store"), rec)
    try:
        number = int.from_bytes(rec.rec_id, "big")
        want = package.Wanted(item="%s/%d" % (DEVICE, number), device=DEVICE, number=number)
        extractor = {"user": "li", "name": "李伟 Li Wei (li)", "roles": ["evidence-clerk"]}
        package.build(
            ev,
            [want],
            None,
            extractor,
            make_signer(HOST_SEED),
            HOST_KID,
            package.Options(out=out, place="某市公安局证据室", **options),
            T0 + 86_400_000,
        )
    finally:
        ev.close()
    return out


@pytest.fixture(scope="module")
def good(tmp_path_factory, recording):
    return write_package(tmp_path_factory.mktemp("court") / "pkg-0042", recording)


@pytest.fixture(scope="module")
def page():
    with browser.browser() as context:
        p = context.new_page()
        errors: list = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        # Offline: the page asks for nothing but itself and the chosen files (blob: URLs).
        asked: list = []
        p.on("request", lambda r: asked.append(r.url))
        yield p
        assert not errors, errors
        assert asked and all(u.startswith(("file:", "blob:", "data:")) for u in asked), asked


def check(page, folder, shot: str = "") -> dict:
    """Open the package's own verify.html (the good one's where it is gone), choose
    ``folder`` as a person would, and return what the page says: the verdict, the
    problems' codes and items, the recordings' states and the page's text."""
    own = folder / "verify.html"
    page.goto(own.as_uri() if own.exists() else PAGE[0])
    page.set_input_files("#folder", str(folder))
    page.wait_for_selector(DONE, state="attached", timeout=120_000)
    if shot:
        browser.screenshot(page, shot)
    return page.evaluate(
        """() => {
            const r = SC.lastResult || {};
            return {
                state: document.body.dataset.state,
                problems: (r.problems || []).map((f) => [f.code, f.item]),
                states: (r.recordings || []).map((v) => v.state),
                text: document.body.innerText,
            };
        }"""
    )


PAGE: list = []  # the good package's page, for a folder that lost its own


def tampered(good, tmp_path, name: str):
    out = tmp_path / name
    shutil.copytree(good, out)
    return out


def test_a_good_package_says_ok(page, good):  # issue 15: on a good package it says OK
    PAGE.append((good / "verify.html").as_uri())
    got = check(page, good, "court-page-ok")
    assert got["state"] == "ok", got["problems"]
    assert got["problems"] == []
    assert got["states"] == ["ok"]
    assert "核验通过" in got["text"] and "OK" in got["text"]
    # The timeline names the pause and its reason in both languages.
    assert "暂停：恶劣天气" in got["text"] and "paused: bad weather" in got["text"]
    assert page.locator("video").count() == 1
    # The recording plays from the chosen file: the browser reads its length, and the
    # spoken reason's button moves the video to the spoken reason after the pause.
    duration = page.evaluate(
        """() => new Promise((done) => {
            const v = document.querySelector("video");
            if (v.readyState >= 1) return done(v.duration);
            v.addEventListener("loadedmetadata", () => done(v.duration));
            v.addEventListener("error", () => done(-1));
        })"""
    )
    assert duration > 5
    page.click("button.spoken")
    assert page.evaluate("() => document.querySelector('video').currentTime") > 3


def test_one_byte_of_media_changed(page, good, tmp_path, recording):  # issue 15: NOT OK, named
    pkg = tampered(good, tmp_path, "pkg")
    video = pkg / "r01/video.mp4"
    data = bytearray(video.read_bytes())
    # A byte inside the second fragment's first video sample.
    _entry, frag = recording.fragments[1]
    _seq, refs = mp4.read_fragment(frag)
    first = next(r for r in refs if r.track_id == 1)
    at = data.find(frag) + first.offset + first.size // 2
    data[at] ^= 0xFF
    video.write_bytes(bytes(data))
    got = check(page, pkg, "court-page-media-changed")
    assert got["state"] == "not-ok"
    assert ["file-changed", "r01/video.mp4"] in got["problems"]
    assert any(code == "chunk-changed" for code, _ in got["problems"])
    assert any(code.startswith("frame-") for code, _ in got["problems"]), got["problems"]
    assert "核验不通过" in got["text"] and "r01/video.mp4" in got["text"]
    assert got["states"] == ["not_ok"]


def test_a_byte_of_the_evidence_box_changed(page, good, tmp_path):  # issue 15, R-HOST-5
    # The page checks the video by its signed fragments and its unsigned parts, not by its
    # whole hash: a byte outside every fragment is still found, and named.
    pkg = tampered(good, tmp_path, "pkg")
    video = pkg / "r01/video.mp4"
    manifest = json.loads((pkg / "manifest.json").read_text())
    (row,) = [f for f in manifest["files"] if f["path"] == "r01/video.mp4"]
    box = row["unsigned"][-1]
    assert box["what"] == "evidence box"
    data = bytearray(video.read_bytes())
    data[box["offset"] + box["bytes"] // 2] ^= 0x01
    video.write_bytes(bytes(data))
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    assert got["problems"] == [["file-changed", "r01/video.mp4"]]


def test_a_chunk_deleted(page, good, tmp_path, recording):  # issue 15
    pkg = tampered(good, tmp_path, "pkg")
    video = pkg / "r01/video.mp4"
    _, frag = recording.fragments[2]
    video.write_bytes(video.read_bytes().replace(frag, b""))
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    codes = {code for code, _ in got["problems"]}
    assert "file-changed" in codes
    assert codes & {"chunk-missing", "chunk-changed"}


def test_the_note_edited(page, good, tmp_path):  # issue 15
    pkg = tampered(good, tmp_path, "pkg")
    note = pkg / "note.html"
    html = note.read_bytes()
    at = html.index("提取".encode())
    note.write_bytes(html[:at] + "制作".encode() + html[at + len("提取".encode()) :])
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    assert got["problems"] == [["file-changed", "note.html"]]


def test_a_file_missing(page, good, tmp_path):  # issue 15
    pkg = tampered(good, tmp_path, "pkg")
    (pkg / "r01/proofs.json").unlink()
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    assert ["file-missing", "r01/proofs.json"] in got["problems"]


def test_a_recording_swapped_between_packages(page, good, tmp_path):  # issue 15
    other_rec = fmp4.record(gops_before=2, gops_after=2, pause_s=3)
    other = write_package(tmp_path / "other", other_rec)
    pkg = tampered(good, tmp_path, "pkg")
    shutil.rmtree(pkg / "r01")
    shutil.copytree(other / "r01", pkg / "r01")
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    items = {item for _, item in got["problems"]}
    assert "r01/video.mp4" in items and "r01/entries.cbor" in items


def test_not_a_package(page, good, tmp_path):  # bad input: one clear line, both languages
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing")
    page.goto((good / "verify.html").as_uri())
    page.set_input_files("#folder", str(empty))
    page.wait_for_selector(DONE, state="attached", timeout=60_000)
    text = page.inner_text("#verdict")
    assert "manifest.cbor" in text and "不是证据包" in text and "not an evidence package" in text


def test_a_part_of_a_recording(page, recording, tmp_path):  # issue 15: a partial export
    # Seconds 0 to 2 of the recording: the page says OK, tells the chunks left out (not a
    # failure), names the state "OK with missing information" and hatches the rest.
    pkg = write_package(tmp_path / "part", recording, from_ms=0, to_ms=2000)
    got = check(page, pkg, "court-page-part")
    assert got["state"] == "ok", got["problems"]
    assert got["states"] == ["ok_missing"]
    assert "有效（信息不完整）" in got["text"] and "OK with missing information" in got["text"]
    assert "部分导出" in got["text"] and "left out" in got["text"]
    assert page.locator(".timeline .seg.absent").count() > 0


def test_the_checkpoint_edited(page, good, tmp_path):  # issue 15: the host log's checkpoint
    pkg = tampered(good, tmp_path, "pkg")
    note = pkg / "host/checkpoint.txt"
    lines = note.read_bytes().split(b"\n")
    lines[1] = str(int(lines[1]) + 1).encode()
    note.write_bytes(b"\n".join(lines))
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    assert ["checkpoint", "host/checkpoint.txt"] in got["problems"]
    assert ["file-changed", "host/checkpoint.txt"] in got["problems"]


def test_a_raw_recording(page, tmp_path, monkeypatch):  # issue 15: raw mode, spoken WAV
    # A raw recording (JPEG frames, PCM sound) with a pause and its spoken reason: the
    # media files are one a chunk, the video is a labelled derivative, and the spoken
    # reason plays as its WAV beside the timeline.
    from tests.host import courtstore, rawrec

    store = courtstore.raw_store(tmp_path, pause=True)
    item = courtstore.the_item(store)
    out = tmp_path / "raw"
    assert courtstore.export(monkeypatch, store, out, "--recording", item) == 0
    got = check(page, out, "court-page-raw")
    assert got["state"] == "ok", got["problems"]
    assert got["states"] == ["ok"]
    assert "转码的副本" in got["text"] and "re-encoded copy" in got["text"]
    assert page.locator(".spoken audio").count() == 1
    # One byte of one JPEG chunk changed: that chunk and its file are named.
    chunk = sorted((out / "r01/media").glob("*.mjpeg"))[1]
    rawrec.tamper(chunk)
    got = check(page, out)
    assert got["state"] == "not-ok"
    name = "r01/media/" + chunk.name
    assert ["file-changed", name] in got["problems"]
    seq = int(chunk.stem)
    assert "entry %d" % seq in got["text"] and "chunk-changed" in {c for c, _ in got["problems"]}


def test_custody_edited(page, tmp_path, monkeypatch):  # issue 15: custody, proven in the log
    # A package made by `sealcam export` from a store with accounts: its custody excerpt
    # holds the audit records of the recording, each proven in the signed host log.
    import json

    from tests.host import courtstore

    store = courtstore.fmp4_store(tmp_path)
    item = courtstore.the_item(store)
    out = tmp_path / "pkg"
    # Viewed first, so that the excerpt holds a record before this export's own.
    assert courtstore.export(monkeypatch, store, tmp_path / "first", "--recording", item) == 0
    assert courtstore.export(monkeypatch, store, out, "--recording", item) == 0
    custody = json.loads((out / "r01/custody.json").read_text())
    assert custody["records"], "the second export's excerpt holds the first's record"
    got = check(page, out)
    assert got["state"] == "ok", got["problems"]
    custody["records"][0]["actor"] = "someone-else"
    (out / "r01/custody.json").write_text(json.dumps(custody))
    got = check(page, out)
    assert got["state"] == "not-ok"
    assert ["custody", "r01/custody.json"] in got["problems"]
    assert ["file-changed", "r01/custody.json"] in got["problems"]


def test_the_device_key_replaced(page, good, tmp_path):  # issue 15: the device key file
    from protocol.keys import DeviceKey, encode_key

    pkg = tampered(good, tmp_path, "pkg")
    other = DeviceKey(DEVICE, make_signer(bytes(range(7, 39))).public_key())
    (pkg / "keys/d01.cose").write_bytes(encode_key(other))
    got = check(page, pkg)
    assert got["state"] == "not-ok"
    assert ["device-key", "keys/d01.cose"] in got["problems"]
    assert got["states"] == ["unknown_key"]
    assert "密钥未知" in got["text"] and "unknown key" in got["text"]
