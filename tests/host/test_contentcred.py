"""Content Credentials on an MP4 export: a C2PA manifest signed with the agency's certificate
whose ``cn.sealcam.ledger`` assertion holds the device-signed entries, read back by
c2pa-python (c2pa-rs) as an independent reader (issue 12, Content Credentials)."""
# micropython: skip (host code, c2pa-python, PyAV)
# R-HOST-4: the export is a copy from the store with its maker, extractor and time, now also
# signed by the agency so that any C2PA reader can tell who issued it.
# R-HOST-5: signing changes no byte the device signed.

import base64
import hashlib
import io
import json

import av
import c2pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host import agencykeys, contentcred, mp4evidence
from host.export import ExportError, export_recording
from protocol import mp4
from protocol.keys import encode_key
from protocol.registry import F_PLAIN_SHA
from tests.host import fmp4
from tests.host.helpers import run
from tests.protocol.helpers import DEVICE, device_key

NOW = fmp4.T0 + 86_400_000
AGENCY = "某市公安局"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A recording with a pause in an evidence store, the agency's keys, and two exports of
    it: one signed with the agency's certificate, one not."""
    root = tmp_path_factory.mktemp("c2pa")
    rec = fmp4.record()
    fmp4.evidence_store(root / "ev", rec).close()
    agencykeys.write_agency(root / "agency", agencykeys.make_agency(AGENCY))
    out = root / "case-17.mp4"
    note = export_recording(str(root / "ev"), DEVICE, None, str(out), "W. Li", now_ms=NOW,
                            sign_with=str(root / "agency"))  # fmt: skip
    plain = root / "plain.mp4"
    export_recording(str(root / "ev"), DEVICE, None, str(plain), "W. Li", now_ms=NOW)
    return rec, root, out, note, plain


def _reader(data: bytes, anchor: "bytes | None" = None) -> c2pa.Reader:
    settings: dict = {"verify": {"verify_trust": anchor is not None}}
    if anchor is not None:
        settings["trust"] = {"trust_anchors": anchor.decode()}
    ctx = c2pa.Context(c2pa.Settings.from_dict(settings))
    return c2pa.Reader("video/mp4", io.BytesIO(data), None, ctx)


def _failures(reader: c2pa.Reader) -> list:
    results = reader.get_validation_results() or {}
    return [f["code"] for f in results.get("activeManifest", {}).get("failure", [])]


def _fragment_byte(note: dict, n: int) -> int:
    """An offset inside the media data of the ``n``-th fragment (its last 100 bytes)."""
    c = note["chunks"][n]
    return c["offset"] + c["bytes"] - 100


def test_c2pa_reader_reports_the_signed_export_valid_and_trusted(signed):
    _, root, out, _, _ = signed
    data = out.read_bytes()
    reader = _reader(data)
    assert reader.get_validation_state() == "Valid" and _failures(reader) == []
    # With the agency's CA as the trust anchor, the signer is trusted too.
    anchor = (root / "agency" / agencykeys.CA_CERT).read_bytes()
    trusted = _reader(data, anchor)
    assert trusted.get_validation_state() == "Trusted" and _failures(trusted) == []
    # Another agency's CA does not vouch for it.
    agencykeys.write_agency(root / "other", agencykeys.make_agency("Other"))
    other = _reader(data, (root / "other" / agencykeys.CA_CERT).read_bytes())
    assert "signingCredential.untrusted" in _failures(other)


@pytest.mark.parametrize("where", ["video", "evidence box", "notes"])
def test_one_byte_changed_makes_the_manifest_invalid(signed, where):
    _, _, out, note, _ = signed
    data = bytearray(out.read_bytes())
    at = {
        "video": _fragment_byte(note, 1),
        "evidence box": note["evidence_box"]["offset"] + note["evidence_box"]["bytes"] - 40,
        "notes": note["pause_notes_fragment"]["offset"] + note["pause_notes_fragment"]["bytes"] - 3,
    }[where]
    data[at] ^= 0x01
    reader = _reader(bytes(data))
    assert reader.get_validation_state() == "Invalid"
    assert "assertion.bmffHash.mismatch" in _failures(reader)


def test_the_manifest_holds_the_device_signed_entries_and_key(signed):
    rec, _, out, _, _ = signed
    data = out.read_bytes()
    (payload,) = mp4.uuid_payloads(data, mp4evidence.EVIDENCE_UUID)
    box = mp4evidence.decode(payload)
    active = _reader(data).get_active_manifest()
    assertions = {a["label"]: a["data"] for a in active["assertions"]}
    ledger = assertions[contentcred.LEDGER_LABEL]
    entries = [base64.b64decode(e) for e in ledger["entries"]]
    # The same bytes as the sealcam evidence box: the device's signed entries, in seq order.
    assert entries == box.entries and entries[0] == rec.entries[1].raw
    assert base64.b64decode(ledger["device_key"]) == encode_key(device_key().public_only())
    assert ledger["device_id"] == DEVICE and ledger["recording"] == rec.rec_id.hex()
    assert ledger["evidence_box"]["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert ledger["export"]["by"] == "W. Li"
    assert active["signature_info"]["alg"] == "Ed25519"
    assert active["signature_info"]["issuer"] == AGENCY


def test_the_actions_claim_capture_and_no_transcoding(signed):
    _, _, out, note, _ = signed
    active = _reader(out.read_bytes()).get_active_manifest()
    actions = [
        a
        for x in active["assertions"]
        if x["label"].startswith("c2pa.actions")
        for a in x["data"]["actions"]
    ]
    names = [a["action"] for a in actions]
    assert names == ["c2pa.created", contentcred.EXPORTED_ACTION]
    assert actions[0]["digitalSourceType"] == contentcred.DIGITAL_CAPTURE
    assert DEVICE in actions[0]["parameters"]["description"]
    assert not {"c2pa.transcoded", "c2pa.published", "c2pa.edited"} & set(names)
    assert note["content_credentials"]["actions"] == names


def test_signing_changes_no_byte_the_device_signed(signed):  # R-HOST-5
    rec, _, out, note, _ = signed
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == note["file_sha256"]
    box = note["content_credentials"]["manifest_box"]
    assert data[box["offset"] + 8 : box["offset"] + 24] == contentcred.MANIFEST_UUID
    for c, e in zip(note["chunks"], rec.chunks, strict=True):
        ranges = c.get("in_file", [[c["offset"], c["offset"] + c["bytes"]]])
        piece = b"".join(data[a:b] for a, b in ranges)
        assert hashlib.sha256(piece).hexdigest() == c["sha256"] == e.fields[F_PLAIN_SHA].hex()
    ev = note["evidence_box"]
    assert mp4.uuid_payloads(data[ev["offset"] : ev["offset"] + ev["bytes"]],
                             mp4evidence.EVIDENCE_UUID)  # fmt: skip


def test_the_signed_export_still_plays(signed):
    _, _, out, note, _ = signed
    with av.open(str(out)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "subtitle", "video"]
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == note["video"]["frames"]


def test_verify_reports_the_c2pa_state_beside_its_own_verdict(signed, tmp_path):
    _, root, out, note, plain = signed
    r = run("verify", str(out))
    assert r.returncode == 0, r.stdout
    assert "C2PA      ✓ valid: signed by %s evidence export signing" % AGENCY in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("Verdict   ✓ AUTHENTIC")
    r = run("verify", str(out), "--agency-ca", str(root / "agency" / agencykeys.CA_CERT))
    assert r.returncode == 0 and "✓ valid and trusted" in r.stdout
    r = run("verify", str(plain), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["content_credentials"]["state"] == "none"
    # One byte of footage changed: the device evidence names the fragment, C2PA is invalid.
    data = bytearray(out.read_bytes())
    data[_fragment_byte(note, 1)] ^= 0x01
    (tmp_path / "changed.mp4").write_bytes(bytes(data))
    r = run("verify", str(tmp_path / "changed.mp4"), "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["state"] == "altered"
    assert report["content_credentials"]["state"] == "invalid"
    assert "credentials-invalid" in [f["code"] for f in report["findings"]]


def test_export_facts_edited_after_signing_are_caught_by_the_manifest(signed, tmp_path):
    # The export facts (who extracted it) carry no device signature; the agency's does.
    _, _, out, _, _ = signed
    data = bytearray(out.read_bytes())
    at = data.rfind(b"W. Li")
    data[at : at + 5] = b"Z. Qi"
    (tmp_path / "edited.mp4").write_bytes(bytes(data))
    r = run("verify", str(tmp_path / "edited.mp4"))
    assert r.returncode == 1 and "credentials-invalid" in r.stdout
    assert "frame-changed" not in r.stdout  # the footage itself is as the device signed it
    assert "✗ invalid" in r.stdout


def test_another_agencys_ca_leaves_the_export_unverifiable(signed):
    _, root, out, _, _ = signed
    agencykeys.write_agency(root / "third", agencykeys.make_agency("Third"), force=True)
    r = run("verify", str(out), "--agency-ca", str(root / "third"))
    assert r.returncode == 1 and "✗ untrusted" in r.stdout and "credentials-untrusted" in r.stdout


@pytest.mark.parametrize("problem", ["missing", "empty", "mixed"])
def test_bad_signing_folders_are_one_line_and_nothing_is_written(signed, tmp_path, problem):
    _, root, _, _, _ = signed
    keys = tmp_path / "agency"
    if problem != "missing":
        keys.mkdir()
    if problem == "mixed":
        agencykeys.write_agency(tmp_path / "b", agencykeys.make_agency("B"))
        (keys / agencykeys.SIGN_CERT).write_bytes(
            (root / "agency" / agencykeys.SIGN_CERT).read_bytes()
        )
        other_key = (tmp_path / "b" / agencykeys.SIGN_KEY).read_bytes()
        (keys / agencykeys.SIGN_KEY).write_bytes(other_key)
    out = tmp_path / "out" / "x.mp4"
    out.parent.mkdir()
    r = run("export", "--evidence", str(root / "ev"), "--device", DEVICE, "--out", str(out),
            "--extractor", "W. Li", "--sign-with", str(keys))  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert list(out.parent.iterdir()) == []


def test_a_failed_signing_leaves_nothing_behind(signed, tmp_path, monkeypatch):
    # c2pa-rs refusing the manifest (here: a signature that is not the certificate key's)
    # must leave neither the export nor any temporary file.
    _, root, _, _, _ = signed
    monkeypatch.setattr(agencykeys.SigningIdentity, "sign", lambda self, data: bytes(64))
    out = tmp_path / "x.mp4"
    with pytest.raises(ExportError, match="could not be signed"):
        export_recording(str(root / "ev"), DEVICE, None, str(out), "W. Li",
                         sign_with=str(root / "agency"))  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_an_agency_ca_for_an_unsigned_export_or_not_a_certificate(signed, tmp_path):
    _, root, _, _, plain = signed
    # Asked to check the agency's signature on a file that has none: not vouched for.
    r = run("verify", str(plain), "--agency-ca", str(root / "agency"))
    assert r.returncode == 1 and "credentials-untrusted" in r.stdout
    assert "C2PA      none" in r.stdout
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    for bad in (tmp_path / "ca.pem", tmp_path / "missing.pem"):
        r = run("verify", str(plain), "--agency-ca", str(bad))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
    # --agency-ca belongs to an MP4: refused for an evidence store rather than ignored.
    r = run("verify", str(root / "ev"), "--agency-ca", str(root / "agency"))
    assert r.returncode == 2 and "--agency-ca" in r.stderr


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_finding_the_manifest_box_never_fails_on_any_bytes(tmp_path_factory, data, with_box):
    # The box walk reads headers of whatever c2pa-rs or a damaged file holds: it finds the
    # manifest box where one is, and otherwise answers None, never raising or looping.
    path = tmp_path_factory.mktemp("boxes") / "x.mp4"
    box = (24 + 5).to_bytes(4, "big") + b"uuid" + contentcred.MANIFEST_UUID + b"c2pa!"
    path.write_bytes((box if with_box else b"") + data)
    found = contentcred.manifest_box(path)
    if with_box:
        assert found == (0, len(box))
    else:
        assert found is None or 0 <= found[0] < found[1]


# Bad input gets one clear line, never a traceback: a c2pa error without words (or whose
# first line is blank) still gives a reason to say, where splitlines()[0] raised IndexError
@pytest.mark.parametrize(
    "words, said",
    [
        ("", "C2paError"),
        ("\n  \nManifest: no JUMBF data\nmore", "Manifest: no JUMBF data"),
        ("Verify: signature mismatch", "Verify: signature mismatch"),
    ],
)
def test_a_c2pa_error_is_said_by_its_first_line_that_says_something(words, said):
    assert contentcred.first_line(c2pa.C2paError(words)) == said
