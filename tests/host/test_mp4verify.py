"""``sealcam verify recording.mp4``: an export checked from the file alone, ONVIF-style
states, changed, missing and reordered frames named by time and seq (issue 12, verify)."""
# micropython: skip (host code, PyAV)
# R-DEV-2: footage cannot be edited, reordered or have footage inserted unnoticed; anyone
# holding the device's public key can tell, from the exported file alone.

import hashlib
import json
import os
import signal
import threading

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from host.errors import Unusable
from host.export import export_recording
from host.mp4verify import (
    ALTERED,
    AUTHENTIC,
    AUTHENTIC_NOTES,
    MISSING_PARTS,
    NOT_SIGNED,
    UNVERIFIABLE,
    verify_mp4,
)
from host.report_text import finding_text
from protocol import mp4
from protocol.frames import frame_digest
from protocol.keys import DeviceKey, encode_key
from protocol.registry import F_START_MS
from protocol.signer import make_signer
from protocol.verify import CheckPipeline
from tests.host import fmp4
from tests.host.helpers import run
from tests.protocol.helpers import DEVICE, SEED_B, device_key


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A recording with a pause, its export, its note and the device's key file."""
    root = tmp_path_factory.mktemp("mp4verify")
    rec = fmp4.record()
    fmp4.evidence_store(root / "ev", rec).close()
    out = root / "case.mp4"
    note = export_recording(str(root / "ev"), DEVICE, None, str(out), "W. Li")
    key = root / "device.pub"
    key.write_bytes(encode_key(device_key().public_only()))
    return rec, out, note, key


def variant(tmp_path, data: bytes, name: str = "changed.mp4"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def codes(report) -> list:
    return [f.code for f in report.findings]


def test_an_untouched_export_is_authentic_with_its_notes(exported):
    rec, out, _, key = exported
    report = verify_mp4(str(out))
    assert report.state == AUTHENTIC_NOTES and report.ok, report.lines()
    assert report.key_source == "carried"
    assert report.matched == report.signed_fragments == len(rec.fragments)
    assert report.findings == []
    (note,) = report.notes
    assert note[:2] == rec.pause_ms[0] and "reason: severe weather" in note[2]
    pinned = verify_mp4(str(out), device_key().public_only())
    assert pinned.state == AUTHENTIC_NOTES and pinned.key_source == "given"
    r = run("verify", str(out), "--key", str(key))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "AUTHENTIC WITH NOTES" in r.stdout and "notes (unsigned" not in r.stderr
    assert "Notes     1 (unsigned, not footage)" in r.stdout
    j = json.loads(run("verify", str(out), "--json").stdout)
    assert j["state"] == AUTHENTIC_NOTES and j["notes"][0]["signed"] is False


def _sample(rec, note, fragment: int, frame: int) -> tuple:
    """``(byte offset in the export, SampleRef)`` of video frame ``frame`` of fragment
    ``fragment`` (0 = the recording's first)."""
    entry, data = rec.fragments[fragment]
    _, refs = mp4.read_fragment(data)
    video = [r for r in refs if r.track_id == 1]
    offset = next(c["offset"] for c in note["chunks"] if c["seq"] == entry.seq)
    return offset + video[frame].offset, video[frame], entry


def test_one_changed_byte_names_exactly_that_frame_by_time_and_seq(exported, tmp_path):
    rec, out, note, _ = exported
    at, ref, entry = _sample(rec, note, 1, 4)  # the 5th frame of the second second
    data = bytearray(out.read_bytes())
    data[at + ref.size // 2] ^= 0x10
    report = verify_mp4(str(variant(tmp_path, bytes(data))))
    assert report.state == ALTERED and not report.ok
    (finding,) = report.findings
    assert finding.code == "frame-changed" and finding.seq == entry.seq
    media = ref.decode_time // 90  # ms of media time
    assert media == 1400
    assert "frame 4 of chunk seq %d" % entry.seq in finding.message
    assert "0:00:01.400" in finding.message
    wall = entry.fields[F_START_MS] + 400
    assert "%02d.%03d UTC" % (wall // 1000 % 60, wall % 1000) in finding.message
    assert report.frames == [(entry.seq, "....N.....")]
    r = run("verify", str(tmp_path / "changed.mp4"))
    assert r.returncode == 1 and "ALTERED" in r.stdout
    # Issue 17: the report a person reads gives the frame's time in the agency's zone (the
    # default, UTC+8), to the millisecond; the JSON's message keeps UTC.
    assert finding_text(finding) in r.stdout
    local = wall + 8 * 3_600_000
    assert "%02d.%03d UTC+8): changed" % (local // 1000 % 60, local % 1000) in r.stdout


def _cut(data: bytes, note: dict, seq: int) -> tuple:
    c = next(c for c in note["chunks"] if c["seq"] == seq)
    return c["offset"], c["offset"] + c["bytes"]


def test_a_dropped_fragment_is_named_missing(exported, tmp_path):
    rec, out, note, _ = exported
    data = out.read_bytes()
    entry, _ = rec.fragments[2]
    a, b = _cut(data, note, entry.seq)
    report = verify_mp4(str(variant(tmp_path, data[:a] + data[b:])))
    assert report.state == MISSING_PARTS and not report.ok
    (finding,) = report.findings
    assert finding.code == "fragment-missing" and finding.seq == entry.seq
    assert "chunk seq %d" % entry.seq in finding.message
    assert "media time about 0:00:02.000" in finding.message
    r = run("verify", str(tmp_path / "changed.mp4"))
    assert r.returncode == 1 and "MISSING PARTS" in r.stdout


def test_swapped_fragments_are_reordered(exported, tmp_path):
    rec, out, note, _ = exported
    data = out.read_bytes()
    first, second = rec.fragments[0][0], rec.fragments[1][0]
    a1, b1 = _cut(data, note, first.seq)
    a2, b2 = _cut(data, note, second.seq)
    swapped = data[:a1] + data[a2:b2] + data[a1:b1] + data[b2:]
    report = verify_mp4(str(variant(tmp_path, swapped)))
    assert report.state == ALTERED
    assert codes(report) == ["fragment-reordered"]
    assert "reordered" in report.findings[0].message
    assert report.findings[0].seq in (first.seq, second.seq)


def test_footage_no_entry_signs_is_unsigned(exported, tmp_path):
    rec, out, note, _ = exported
    data = out.read_bytes()
    _, last = _cut(data, note, rec.fragments[-1][0].seq)
    # A fragment from elsewhere (its own frames), slipped in after the last one.
    samples, _ = fmp4.encode_video(fmp4.FPS, first=500)
    foreign = mp4.fragment(99, [mp4.Run(1, 0, [mp4.Sample(s, 9000, k) for s, k in samples])])
    report = verify_mp4(str(variant(tmp_path, data[:last] + foreign + data[last:])))
    assert report.state == ALTERED
    assert codes(report) == ["unsigned-footage"]
    # And a second copy of a signed fragment is no more signed than a foreign one.
    a, b = _cut(data, note, rec.fragments[0][0].seq)
    report = verify_mp4(str(variant(tmp_path, data[:last] + data[a:b] + data[last:])))
    assert codes(report) == ["unsigned-footage"]
    assert "second copy" in report.findings[0].message


def test_a_changed_frame_in_a_rewritten_fragment_is_named(exported, tmp_path):
    # The fragment rebuilt with one frame replaced and one dropped: each is named.
    rec, out, note, _ = exported
    data = out.read_bytes()
    entry, original = rec.fragments[0]
    _, refs = mp4.read_fragment(original)
    video = [bytes(original[r.offset : r.offset + r.size]) for r in refs if r.track_id == 1]
    other, _ = fmp4.encode_video(1, first=900)
    edited = [*video[:3], other[0][0], *video[4:7], *video[8:]]
    rebuilt = mp4.fragment(1, [mp4.Run(1, 0, [mp4.Sample(s, 9000, i == 0)
                                             for i, s in enumerate(edited)])])  # fmt: skip
    a, b = _cut(data, note, entry.seq)
    report = verify_mp4(str(variant(tmp_path, data[:a] + rebuilt + data[b:])))
    assert report.state == ALTERED
    assert codes(report) == ["frame-changed", "frame-missing"]
    assert "frame 3 of chunk seq %d" % entry.seq in report.findings[0].message
    assert "frame 7 of chunk seq %d" % entry.seq in report.findings[1].message
    assert report.frames == [(entry.seq, "...N...M..")]
    assert frame_digest(video[3]) == entry.fields[12][3]


def test_the_wrong_key_is_unverifiable_and_no_evidence_is_not_signed(exported, tmp_path):
    rec, out, _, _ = exported
    other = DeviceKey(DEVICE, make_signer(SEED_B).public_key())
    report = verify_mp4(str(out), other)
    assert report.state == UNVERIFIABLE and not report.ok
    assert "key-mismatch" in codes(report)
    keyfile = tmp_path / "other.pub"
    keyfile.write_bytes(encode_key(other))
    r = run("verify", str(out), "--key", str(keyfile))
    assert r.returncode == 1 and "UNVERIFIABLE" in r.stdout
    # The same footage with no evidence box: a plain MP4 that proves nothing.
    plain = rec.init + b"".join(d for _, d in rec.fragments)
    report = verify_mp4(str(variant(tmp_path, plain, "plain.mp4")))
    assert report.state == NOT_SIGNED and not report.ok
    r = run("verify", str(tmp_path / "plain.mp4"))
    assert r.returncode == 1 and "NOT SIGNED" in r.stdout


def test_a_changed_initialisation_segment_is_altered(exported, tmp_path):
    _, out, _, _ = exported
    data = bytearray(out.read_bytes())
    at = bytes(data).find(b"avcC")
    data[at + 12] ^= 0x01  # inside the SPS the decoder is set up with
    report = verify_mp4(str(variant(tmp_path, bytes(data))))
    assert report.state == ALTERED and codes(report)[0] == "init-altered"


@pytest.mark.parametrize(
    "cut, message",
    [
        (-100, "runs 100 bytes past the end of the file"),
        (-3, "past the end of the file"),
        (4, "not a whole MP4 box header"),
    ],
)
def test_a_truncated_file_is_one_line_and_exit_2(exported, tmp_path, cut, message):
    _, out, _, _ = exported
    data = out.read_bytes()
    path = variant(tmp_path, data[:cut], "cut.mp4")
    with pytest.raises(Unusable, match=message):
        verify_mp4(str(path))
    r = run("verify", str(path))
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "truncated" in r.stderr


def test_what_is_not_an_mp4_is_one_line_and_exit_2(tmp_path):
    cases = {
        "text.mp4": b"this is a letter, not a video\n" * 10,
        "empty.mp4": b"",
        "ledger.mp4": bytes.fromhex("d28443a10127") + bytes(40),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        r = run("verify", str(tmp_path / name))
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "not an MP4" in r.stderr, r.stderr
    r = run("verify", str(tmp_path / "missing.mp4"))
    assert r.returncode == 2 and "does not exist" in r.stderr


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0), flip=st.integers(min_value=0), bit=st.integers(0, 7))
# A box in the initialisation segment that declares more bytes than its parent holds: the
# MP4 error names the parent box, which once collided with a finding's own span field.
@example(cut=0, flip=397, bit=0)
def test_any_damage_is_told_never_a_traceback(exported, tmp_path, cut, flip, bit):
    # A byte changed anywhere (footage, notes or evidence), or the file cut anywhere:
    # Unusable (exit 2) or a report; nothing else escapes. A changed byte of signed
    # footage is never authentic.
    _, out, note, _ = exported
    data = bytearray(out.read_bytes())
    signed_end = note["pause_notes_fragment"]["offset"]
    at = flip % len(data)
    data[at] ^= 1 << bit
    data = bytes(data[: len(data) - cut % len(data)]) if cut % 3 == 0 else bytes(data)
    path = tmp_path / "damaged.mp4"
    path.write_bytes(data)
    try:
        report = verify_mp4(str(path))
    except Unusable as exc:
        assert "\n" not in str(exc)
        return
    report.to_dict()
    report.lines()
    if at < signed_end:
        assert not report.ok, report.lines()
        assert report.state in (ALTERED, MISSING_PARTS, NOT_SIGNED, UNVERIFIABLE)


def test_verify_holds_one_fragment_at_most(tmp_path):
    # A file of 24 MB is checked in a few MB of memory, a changed fragment included.
    import tracemalloc

    rec = fmp4.record_large(fragments=24, fragment_bytes=1 << 20)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    out = tmp_path / "big.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    with open(out, "r+b") as fh:
        fh.seek(note["chunks"][5]["offset"] + 5000)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    tracemalloc.start()
    try:
        report = verify_mp4(str(out))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.state == ALTERED and codes(report) == ["frame-changed"]
    assert peak < 6 << 20, peak
    assert hashlib.sha256(out.read_bytes()).hexdigest() != note["file_sha256"]
    assert AUTHENTIC != report.state


def _evidence_at(data: bytes) -> tuple:
    kind, start, end = mp4.top_boxes(data)[-1]
    assert kind == "uuid"
    return start, end


def test_boxes_that_are_not_footage_are_told_by_what_they_can_do(exported, tmp_path):
    _, out, _, _ = exported
    data = out.read_bytes()
    start, end = _evidence_at(data)
    # Padding shows nothing: the file stays authentic, with it told.
    free = b"\x00\x00\x00\x10free" + bytes(8)
    report = verify_mp4(str(variant(tmp_path, data[:start] + free + data[start:])))
    assert report.state == AUTHENTIC_NOTES and report.padding == 1
    # Any other box no entry signs (metadata a player may show) makes it altered.
    meta = b"\x00\x00\x00\x10udta" + bytes(8)
    report = verify_mp4(str(variant(tmp_path, data[:start] + meta + data[start:])))
    assert report.state == ALTERED and codes(report) == ["unsigned-box"]
    # A second evidence box (someone else's claim appended) is altered too.
    report = verify_mp4(str(variant(tmp_path, data + data[start:end])))
    assert report.state == ALTERED and "evidence-twice" in codes(report)


def test_evidence_without_a_key_is_unverifiable_until_one_is_given(exported, tmp_path):
    from protocol import cbor

    _, out, _, _ = exported
    data = out.read_bytes()
    start, end = _evidence_at(data)
    body = cbor.loads(data[start + 24 : end])
    del body["device_key"]
    stripped = data[:start] + mp4.uuid_box(data[start + 8 : start + 24], cbor.dumps(body))
    path = variant(tmp_path, stripped, "nokey.mp4")
    report = verify_mp4(str(path))
    assert report.state == UNVERIFIABLE and codes(report) == ["no-key"]
    assert "--key" in report.findings[0].message
    assert verify_mp4(str(path), device_key().public_only()).state == AUTHENTIC_NOTES
    # Evidence that is not readable CBOR is no evidence of anything.
    broken = data[:start] + mp4.uuid_box(data[start + 8 : start + 24], b"\xff" * 40)
    report = verify_mp4(str(variant(tmp_path, broken, "broken.mp4")))
    assert report.state == ALTERED and codes(report) == ["evidence-unreadable"]


def test_a_box_beside_the_initialisation_segment_is_judged_on_its_own(exported, tmp_path):
    # Where a C2PA manifest goes (after ftyp): the signed ftyp and moov still verify, and
    # the box is told for what it is, not taken for a change to the tracks.
    _, out, _, _ = exported
    data = out.read_bytes()
    kind, _, ftyp_end = mp4.top_boxes(data)[0]
    assert kind == "ftyp"
    manifest = mp4.uuid_box(bytes(range(16)), b"a manifest of someone's own")
    report = verify_mp4(str(variant(tmp_path, data[:ftyp_end] + manifest + data[ftyp_end:])))
    assert codes(report) == ["unsigned-box"] and report.matched == report.signed_fragments


def test_a_boards_motion_jpeg_recording_names_its_changed_frame_too(tmp_path):
    # Boards package their sensor's JPEG frames the same way (issue 12): each JPEG is a
    # sample, each has its digest, and the check names a changed one alike.
    rec = fmp4.record_mjpeg()
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    out = tmp_path / "board.mp4"
    note = export_recording(str(tmp_path / "ev"), DEVICE, None, str(out), "W. Li")
    assert verify_mp4(str(out)).state == AUTHENTIC  # no pause: no notes
    at, ref, entry = _sample(rec, note, 1, 7)
    data = bytearray(out.read_bytes())
    data[at + ref.size // 2] ^= 0x01
    report = verify_mp4(str(variant(tmp_path, bytes(data))))
    assert codes(report) == ["frame-changed"] and report.frames == [(entry.seq, ".......N..")]
    assert "frame 7 of chunk seq %d" % entry.seq in report.findings[0].message


def test_an_entry_no_reader_can_use_is_a_finding_not_a_crash(exported, tmp_path):
    # Entries signed with the key but holding a chunk without its hash: the ledger check
    # names it (bad-field), and nothing reads the field that is not there.
    from protocol import cbor
    from protocol.ledger import LedgerWriter, parse_entry
    from protocol.registry import F_MEDIA_TYPE, F_RECORDING, KIND_CHUNK, MEDIA_MP4
    from tests.protocol.helpers import SEED_A

    rec, out, _, _ = exported
    data = out.read_bytes()
    start, end = _evidence_at(data)
    body = cbor.loads(data[start + 24 : end])
    last = parse_entry(body["entries"][-1])
    writer = LedgerWriter(make_signer(SEED_A), DEVICE, last.seq + 1, last.digest)
    bogus = writer.append(KIND_CHUNK, {F_RECORDING: rec.rec_id, F_MEDIA_TYPE: MEDIA_MP4},
                          last.fields[4] + 1, last.fields[5] + 1, sign=True)  # fmt: skip
    body["entries"].append(bogus)
    forged = data[:start] + mp4.uuid_box(data[start + 8 : start + 24], cbor.dumps(body))
    report = verify_mp4(str(variant(tmp_path, forged)))
    assert report.state == ALTERED and codes(report) == ["ledger"]
    assert "plain" in report.findings[0].message or "missing" in report.findings[0].message


class _Checks(CheckPipeline):
    """Signature checks that count what they are sent and can fail the ``bad``-th one."""

    def __init__(self, public_key: bytes, bad: int = -1) -> None:
        super().__init__(public_key)
        self.sent = 0
        self.bad = bad

    def submit(self, message: bytes, signature: bytes) -> None:
        super().submit(message, signature)
        if self.sent == self.bad:
            self._done[-1] = False
        self.sent += 1


@pytest.mark.parametrize("bad", [-1, 0, 3])
def test_the_carried_entries_signatures_go_through_the_check_pipeline(
    exported, monkeypatch, bad
):  # R-DEV-2; issue 12: the signatures are checked in the signature worker
    out = exported[1]
    made: list = []

    def checks(public_key: bytes) -> _Checks:
        made.append(_Checks(public_key, bad))
        return made[-1]

    monkeypatch.setattr("host.mp4verify.worker_checks", checks)
    report = verify_mp4(str(out))
    (pipeline,) = made
    assert pipeline.sent == report.ledger.stats["signed"] > 0
    if bad < 0:
        assert report.state == AUTHENTIC_NOTES, report.lines()
    else:
        # The outcome the pipeline gives is the one the verifier acts on.
        assert report.state == ALTERED and "ledger" in codes(report), report.lines()


# --- speed (issue 12, Benchmarks): the fragments are hashed beside the ledger check ---------


def _count_main_hashes(monkeypatch) -> list:
    """Record each fragment this process hashes (a forked worker counts in its own copy)."""
    import host.mp4verify as mp4verify

    hashed: list = []
    real = mp4verify._hash_range

    def counting(fd, start, end, buf):
        hashed.append((start, end))
        return real(fd, start, end, buf)

    monkeypatch.setattr(mp4verify, "_hash_range", counting)
    return hashed


def test_the_fragments_are_hashed_in_the_worker_beside_the_ledger_check(
    exported, monkeypatch
):  # issue 12: Benchmarks, verify <= 1.5x SHA-256 of the file
    rec, out, _, _ = exported
    hashed = _count_main_hashes(monkeypatch)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    report = verify_mp4(str(out))
    assert report.state == AUTHENTIC_NOTES, report.lines()
    assert report.matched == len(rec.fragments)
    assert hashed == []  # this process hashed no fragment: the worker hashed them all


def _no_worker_digests(conn, fh, size, path):
    conn.send_bytes(b"")  # a worker that hashed nothing (failed at once)


def _garbled_digests(conn, fh, size, path):
    conn.send_bytes(b"\x00" * 47)  # not a whole digest: nothing it says is believed


def _killed_mid_way(monkeypatch, marker) -> None:
    """The hashing worker killed (SIGKILL) as it starts on its second fragment, having
    hashed the first: it never answers. ``marker`` says it happened."""
    import host.mp4verify as mp4verify

    real = mp4verify._hash_range
    parent = os.getpid()
    calls: list = []  # the worker's own copy counts its calls

    def hash_range(fd, start, end, buf):
        if os.getpid() != parent:
            calls.append((start, end))
            if len(calls) == 2:
                marker.write_text("killed after %r" % (calls[0],))
                os.kill(os.getpid(), signal.SIGKILL)
        return real(fd, start, end, buf)

    monkeypatch.setattr(mp4verify, "_hash_range", hash_range)


@pytest.mark.parametrize(
    "worker", ["none", "silent", "garbled", "capped", "one core", "killed", "another thread"]
)
def test_the_verdict_never_depends_on_the_hashing_worker(
    exported, tmp_path, monkeypatch, worker
):  # issue 12: Benchmarks; R-HOST-5 (every fragment checked, whatever befalls the worker)
    import host.mp4verify as mp4verify

    rec, out, note, _ = exported
    assert len(rec.fragments) >= 2  # the worker is killed between two of them
    marker = tmp_path / "killed"
    if worker in ("killed", "another thread"):
        monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    if worker == "silent":
        monkeypatch.setattr(mp4verify, "_hash_fragments", _no_worker_digests)
    elif worker == "garbled":
        monkeypatch.setattr(mp4verify, "_hash_fragments", _garbled_digests)
    elif worker == "capped":
        monkeypatch.setattr(mp4verify, "MAX_HASHED", 1)
    elif worker == "one core":
        monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    elif worker == "none":
        monkeypatch.setattr("multiprocessing.get_all_start_methods", lambda: [])
    elif worker == "killed":
        _killed_mid_way(monkeypatch, marker)
    held = threading.Event()
    other = threading.Thread(target=held.wait, daemon=True)
    if worker == "another thread":  # a server's thread: no fork, whose child could hang
        other.start()
    try:
        _same_verdict(rec, out, note, tmp_path, monkeypatch, worker)
    finally:
        held.set()
        if other.is_alive():
            other.join()
    assert marker.exists() == (worker == "killed")  # it was forked, and killed mid-way


def _same_verdict(rec, out, note, tmp_path, monkeypatch, worker) -> None:
    hashed = _count_main_hashes(monkeypatch)
    report = verify_mp4(str(out))
    assert report.state == AUTHENTIC_NOTES, report.lines()
    assert report.matched == len(rec.fragments)
    # What the worker did not hash, this process did: every fragment, or all but the first.
    assert len(hashed) == len(rec.fragments) + 1 - (worker == "capped")  # + the notes
    at, ref, entry = _sample(rec, note, 1, 4)
    data = bytearray(out.read_bytes())
    data[at + ref.size // 2] ^= 0x10
    changed = verify_mp4(str(variant(tmp_path, bytes(data))))
    assert changed.state == ALTERED and codes(changed) == ["frame-changed"]
    assert changed.frames == [(entry.seq, "....N.....")]


# R-DEV-2: an initialisation segment that cannot be read is told in the reader's language,
# and a box it names is called a box (盒) in Chinese, as "moov" alone is not a word there
def test_an_unreadable_initialisation_segment_names_its_boxes_as_boxes_in_chinese(
    exported, tmp_path
):
    _, out, _, _ = exported
    data = out.read_bytes()
    start = data.find(b"moov") - 4
    end = start + int.from_bytes(data[start : start + 4], "big")
    moov = data[start:end].replace(b"trak", b"trax")  # every track made a box of no kind
    path = variant(tmp_path, data[:start] + moov + data[end:])
    en = run("--lang", "en", "verify", str(path))
    assert "mp4: moov holds no trak" in en.stdout, en.stdout
    zh = run("--lang", "zh", "verify", str(path))
    assert en.returncode == zh.returncode == 1
    assert "moov 盒中没有 trak 盒" in zh.stdout, zh.stdout
    assert "holds" not in zh.stdout


# R-HOST-4: an evidence box whose bytes are not deterministic CBOR is told with the decoder's
# reason in the reader's language, where before the Chinese line left the reason out
def test_an_evidence_box_that_is_not_cbor_says_the_decoders_reason_in_chinese(exported, tmp_path):
    from host.mp4evidence import EVIDENCE_UUID

    _, out, _, _ = exported
    data = bytearray(out.read_bytes())
    at = bytes(data).find(EVIDENCE_UUID) + len(EVIDENCE_UUID)
    assert data[at] >> 5 == 5  # the payload's map head
    data[at] = 0xBF  # the same map, with an indefinite length
    path = variant(tmp_path, bytes(data))
    en = run("--lang", "en", "verify", str(path))
    assert "not deterministic CBOR (indefinite-length map is not deterministic (at byte 0))" in (
        en.stdout
    ), en.stdout
    zh = run("--lang", "zh", "verify", str(path))
    assert en.returncode == zh.returncode
    assert "不是确定性 CBOR（第 0 字节处：不定长度的映射不是确定性编码）" in zh.stdout, zh.stdout
    assert "indefinite" not in zh.stdout


class _Sent:
    """The pipe end a hashing worker answers on, kept here (the worker run in this process)."""

    def __init__(self) -> None:
        self.data = b""

    def send_bytes(self, data: bytes) -> None:
        self.data += data


def test_a_file_shortened_under_the_hashing_worker_leaves_its_answer_usable(
    exported, tmp_path, monkeypatch
):
    # R-HOST-5: the file is cut short as the worker starts on its second fragment: its
    # answer is the first fragment's digest, whole (the main process hashes the rest), not
    # a digest's start that makes the whole answer unusable.
    import host.mp4verify as mp4verify

    rec, out, _, _ = exported
    assert len(rec.fragments) >= 2
    path = variant(tmp_path, out.read_bytes())
    size = path.stat().st_size
    real = mp4verify._hash_range
    calls: list = []

    def hash_range(fd, start, end, buf):
        calls.append((start, end))
        if len(calls) == 2:
            os.truncate(path, start + 1)  # shortened by another program mid-walk
        return real(fd, start, end, buf)

    monkeypatch.setattr(mp4verify, "_hash_range", hash_range)
    sent = _Sent()
    with open(path, "rb") as fh:
        mp4verify._hash_fragments(sent, fh, size, str(path))
    assert len(calls) == 2
    start, end = calls[0]
    whole = out.read_bytes()[start:end]
    expected = start.to_bytes(8, "big") + end.to_bytes(8, "big") + hashlib.sha256(whole).digest()
    assert sent.data == expected


# R-HOST-4: an entry of the evidence box that is junk (readable CBOR, a text, but no
# COSE_Sign1) is told with its reason in the reader's language, not quoted in English
def test_a_junk_entry_in_the_evidence_box_is_said_in_chinese(exported, tmp_path):
    from protocol import cbor

    _, out, _, _ = exported
    data = out.read_bytes()
    start, end = _evidence_at(data)
    body = cbor.loads(data[start + 24 : end])
    body["entries"][1] = cbor.dumps("plain junk, no entry here")
    junk = data[:start] + mp4.uuid_box(data[start + 8 : start + 24], cbor.dumps(body)) + data[end:]
    path = variant(tmp_path, junk)
    en = run("--lang", "en", "verify", str(path))
    assert "not a COSE_Sign1 message (tag 18)" in en.stdout, en.stdout
    zh = run("--lang", "zh", "verify", str(path))
    assert en.returncode == zh.returncode
    assert "不是 COSE_Sign1 消息（标签 18）" in zh.stdout, zh.stdout
    assert "not a COSE_Sign1" not in zh.stdout
