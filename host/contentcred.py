"""Content Credentials on an exported MP4: a C2PA manifest signed with the agency's
certificate (``host.agencykeys``), written and read with c2pa-python (c2pa-rs).

What the manifest says, so that any C2PA reader (Adobe's Content Credentials tools,
c2patool, a browser extension) shows where the footage came from:

- ``c2pa.actions``: ``c2pa.created`` by the recorder, a digital capture (IPTC source type
  ``digitalCapture``), at the recording's start; and ``cn.sealcam.exported``: the
  recording's signed fragments laid end to end unchanged, with an unsigned subtitle
  fragment of pause notes and the sealcam evidence box added. No ``c2pa.transcoded``,
  ``c2pa.published`` or edit is claimed: nothing was re-encoded or cut. When the
  footage was sealed to the agency (R-DEV-3), ``cn.sealcam.decrypted`` says that it was
  decrypted for this export, by whom and with which agency key.
- ``cn.sealcam.ledger`` (LEDGER_LABEL, a CBOR assertion, layout below): the device's signed
  ledger entries of the recording and the device's public key, the same bytes as the
  sealcam evidence box holds (``host.mp4evidence``), so that the device's own signatures
  can be checked from the manifest alone.
- ``c2pa.hash.bmff.v3``, made by c2pa-rs: the hash of every box of the file but the
  manifest's own and those C2PA excludes (``ftyp``, ``free``, ``skip``, ``mfra``). One byte
  of footage changed makes the manifest invalid.

The assertion ``cn.sealcam.ledger`` is a CBOR map with text keys; binary values are base64
text (RFC 4648, with padding), since the manifest definition c2pa-python takes is JSON:

    "layout":        1, the version of this layout
    "device_id":     the device's id
    "device_key":    the device's public key: the COSE_Key bytes of its ``device.pub``
    "device_key_fingerprint": its first 8 bytes, hex, as ``sealcam keygen`` prints it
    "recording":     the recording's id, hex (the seq of its record-start, 8 bytes)
    "first_seq", "last_seq": the seqs of the first and last entry carried
    "entries":       each entry's COSE_Sign1 bytes as the device signed them, in seq order
    "evidence_box":  {"uuid": the sealcam evidence box's user type, "payload_sha256": hex
                      SHA-256 of its payload}: ties the manifest to the box
    "export":        the export facts of the evidence box (who, when, with what, and for
                      sealed footage who decrypted it with which key)

c2pa-rs puts the manifest in a top-level ``uuid`` box (user type MANIFEST_UUID) right after
``ftyp``, that is inside the bytes of the initialisation segment the device signed; the
sealcam verifier (``host.mp4verify``) takes that one box out when it checks the
initialisation segment, and every other signed byte stays where the export wrote it.

Trust: without a time-stamp authority (the evidence room works offline) a reader checks the
signing certificate against the present day. ``read`` trusts exactly the agency CA it is
given (c2pa settings ``trust.trust_anchors``); given none, a manifest whose signature and
hashes check out is ``valid`` and its signer is not vouched for.
"""

import base64
import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from host.errors import Unusable
from host.files import fsync_dir
from host.problems import Said

if TYPE_CHECKING:
    from host.agencykeys import SigningIdentity
    from host.mp4evidence import Evidence

LEDGER_LABEL = "cn.sealcam.ledger"
LAYOUT = 1
EXPORTED_ACTION = "cn.sealcam.exported"
DECRYPTED_ACTION = "cn.sealcam.decrypted"
# The user type of the C2PA manifest store box in BMFF (C2PA 2.x, "Embedding manifests into
# BMFF-based assets").
MANIFEST_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
MIME = "video/mp4"
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"

# What ``read`` reports.
NONE = "none"  # the file carries no C2PA manifest
VALID = "valid"  # signature and every hash check out; the signer is not checked
TRUSTED = "trusted"  # valid, and the signer chains to the agency CA given
UNTRUSTED = "untrusted"  # valid, but the signer does not chain to the agency CA given
INVALID = "invalid"  # a hash or the signature fails: the file changed after signing


class CredentialsProblem(Said, Unusable):
    """The manifest cannot be made or written; the message says why."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s words that says something (c2pa's errors run to several
    lines), or its kind's name when it has none."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _iso(ms: "int | None") -> "str | None":
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def ledger_assertion(evidence: "Evidence", payload: bytes) -> dict:
    """The ``cn.sealcam.ledger`` assertion's data, from the evidence box's ``payload``."""
    from host.mp4evidence import EVIDENCE_UUID
    from protocol.keys import encode_key
    from protocol.ledger import parse_entry

    seqs = [parse_entry(raw).seq for raw in evidence.entries[:1] + evidence.entries[-1:]]
    key = evidence.key
    return {
        "layout": LAYOUT,
        "device_id": evidence.device_id,
        "device_key": _b64(encode_key(key)) if key is not None else None,
        "device_key_fingerprint": key.public[:8].hex() if key is not None else None,
        "recording": evidence.recording.hex(),
        "first_seq": seqs[0] if seqs else None,
        "last_seq": seqs[-1] if seqs else None,
        "entries": [_b64(e) for e in evidence.entries],
        "evidence_box": {
            "uuid": EVIDENCE_UUID.hex(),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        },
        "export": {k: v for k, v in evidence.export.items() if type(v) in (str, int, bool)},
    }


def manifest(
    evidence: "Evidence",
    payload: bytes,
    title: str,
    started_ms: "int | None",
    tool: str,
) -> dict:
    """The manifest definition (c2pa-python's JSON) for an export whose evidence box holds
    ``payload`` (decoded: ``evidence``)."""
    facts = evidence.export
    actions: list = [
        {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_CAPTURE,
            "softwareAgent": {"name": "sealcam recorder"},
            "parameters": {
                "description": "Recorded by body-worn recorder %s, every chunk and event "
                "signed with the device's Ed25519 key into its hash-chained ledger (the "
                "entries are in the %s assertion)" % (evidence.device_id, LEDGER_LABEL)
            },
        },
        {
            "action": EXPORTED_ACTION,
            "softwareAgent": {"name": tool},
            "parameters": {
                "description": "Evidence export (extracted by %s): the recording's signed "
                "initialisation segment and fragments laid end to end, byte for byte, not "
                "re-encoded; an unsigned subtitle fragment with the pause notes and the "
                "sealcam evidence box were added" % facts.get("by", "?")
            },
        },
    ]
    if started_ms is not None:
        actions[0]["when"] = _iso(started_ms)
    if type(facts.get("at")) is str:
        actions[1]["when"] = facts["at"]
    if facts.get("decrypted_by"):
        actions.insert(
            1,
            {
                "action": DECRYPTED_ACTION,
                "softwareAgent": {"name": tool},
                "parameters": {
                    "description": "The footage was sealed on the device to the agency's "
                    "X25519 key (R-DEV-3) and decrypted for this export by %s with %s; the "
                    "device's signatures cover the decrypted bytes"
                    % (facts["decrypted_by"], facts.get("decrypted_with", "the agency key"))
                },
            },
        )
    return {
        "claim_generator_info": [{"name": "sealcam", "version": tool.rsplit(" ", 1)[-1]}],
        "title": title,
        "format": MIME,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": LEDGER_LABEL, "kind": "Cbor", "data": ledger_assertion(evidence, payload)},
        ],
    }


def sign_file(unsigned: Path, out: Path, identity: "SigningIdentity", definition: dict) -> dict:
    """Write ``unsigned`` with the C2PA manifest ``definition`` signed by ``identity`` to
    ``out`` (a temporary file made durable, then renamed); return where the manifest box
    lies: ``{"offset", "bytes"}``. CredentialsProblem when c2pa-rs refuses."""
    import c2pa

    tmp = out.with_name(".%s.c2pa-%d%s" % (out.stem, os.getpid(), out.suffix))
    try:
        signer = c2pa.Signer.from_callback(
            identity.sign, c2pa.C2paSigningAlg.ED25519, identity.chain_pem.decode("ascii")
        )
        with signer, c2pa.Builder(definition) as builder:
            with open(unsigned, "rb") as src, open(tmp, "wb") as dst:
                builder.sign(signer, MIME, src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        box = manifest_box(tmp)
        if box is None:
            raise CredentialsProblem.said("export.c2pa_no_box", name=out.name)
        os.replace(tmp, out)
    except c2pa.C2paError as exc:
        raise CredentialsProblem.said("export.c2pa_unsigned", why=first_line(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(out.resolve().parent)
    return {"offset": box[0], "bytes": box[1] - box[0]}


def sign_export(
    unsigned: Path, out: Path, identity: "SigningIdentity", facts: dict, started_ms: "int | None"
) -> dict:
    """Sign the MP4 export ``unsigned`` (as ``host.mp4export`` wrote it, its facts
    ``facts``) into ``out``, and bring ``facts`` up to date: the manifest box sits after
    ``ftyp``, so every byte after it moved by the box's size, and the file's SHA-256 is
    the signed file's. Adds ``content_credentials`` to the facts; returns them."""
    from host import mp4evidence
    from host.mp4export import tool_version

    where = facts["evidence_box"]
    head = 8 + 16  # size, type "uuid", user type (the box is below 4 GiB: no largesize)
    with open(unsigned, "rb") as fh:
        fh.seek(where["offset"] + head)
        payload = fh.read(where["bytes"] - head)
    evidence = mp4evidence.decode(payload)
    definition = manifest(evidence, payload, out.name, started_ms, tool_version())
    box = sign_file(unsigned, out, identity, definition)
    at, shift = box["offset"], box["bytes"]
    for c in facts.get("chunks", []):
        if c["offset"] >= at:
            c["offset"] += shift
        elif c["offset"] + c["bytes"] > at:
            # The initialisation segment: the manifest box now lies inside its bytes.
            c["in_file"] = [[c["offset"], at], [at + shift, c["offset"] + c["bytes"] + shift]]
    for key in ("evidence_box", "pause_notes_fragment"):
        if facts.get(key) and facts[key]["offset"] >= at:
            facts[key]["offset"] += shift
    sha = hashlib.sha256()
    with open(out, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    facts["file_sha256"] = sha.hexdigest()
    facts["content_credentials"] = {
        "standard": "C2PA 2.x manifest (Content Credentials), signed with Ed25519",
        "manifest_box": box,
        "signed_by": identity.subject,
        "issued_by": identity.issuer,
        "certificate_sha256_prefix": identity.fingerprint,
        "assertions": ["c2pa.actions", LEDGER_LABEL, "c2pa.hash.bmff.v3"],
        "actions": [a["action"] for a in definition["assertions"][0]["data"]["actions"]],
        "ledger_assertion": LEDGER_LABEL,
    }
    return facts


def manifest_box(path: Path) -> "tuple | None":
    """``(start, end)`` of the C2PA manifest box among the file's top-level boxes, or None
    (read from the boxes' headers alone)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        at = 0
        while at + 8 <= size:
            fh.seek(at)
            head = fh.read(16)
            length, header = int.from_bytes(head[:4], "big"), 8
            if length == 1 and len(head) == 16:
                length, header = int.from_bytes(head[8:16], "big"), 16
            elif length == 0:
                length = size - at
            if length < header:
                return None  # not a box: what c2pa-rs wrote is no MP4 we can place
            if head[4:8] == b"uuid" and is_manifest_box(fh, at, header):
                return at, at + length
            at += length
    return None


def is_manifest_box(fh: BinaryIO, start: int, header: int) -> bool:
    """Whether the ``uuid`` box at ``start`` (header ``header`` bytes) is C2PA's."""
    fh.seek(start + header)
    return fh.read(16) == MANIFEST_UUID


class Credentials:
    """What a C2PA reader makes of a file's manifest."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.signer = ""  # the signing certificate's subject (common name)
        self.issuer = ""
        self.failures: list = []  # (code, explanation) of every failed check
        self.untrusted: list = []  # trust codes, kept apart from the failures
        self.actions: list = []  # the action names the manifest claims
        self.ledger: dict | None = None  # the cn.sealcam.ledger assertion's data
        self.anchored = False  # a trust anchor was given

    def to_dict(self) -> dict:
        return {
            "state": self.state,
            "signer": self.signer or None,
            "issuer": self.issuer or None,
            "trust_anchor_given": self.anchored,
            "actions": self.actions,
            "ledger_entries": len(self.ledger.get("entries", ())) if self.ledger else None,
            "failures": [{"code": c, "explanation": e} for c, e in self.failures],
        }

    def line(self) -> str:
        """One line for a person: the state and who signed."""
        who = "signed by %s (issued by %s)" % (self.signer or "?", self.issuer or "?")
        if self.state == NONE:
            return "none: the file carries no C2PA manifest (exported without --sign-with)"
        if self.state == TRUSTED:
            return "✓ valid and trusted: %s, which chains to the agency CA given" % who
        if self.state == VALID:
            return (
                "✓ valid: %s; the signer is not checked against a trust anchor (pass "
                "--agency-ca agency-ca.pem)" % who
            )
        if self.state == UNTRUSTED:
            return "✗ untrusted: %s, which does not chain to the agency CA given" % who
        first = self.failures[0] if self.failures else ("?", "")
        return "✗ invalid: the file changed after it was signed (%s: %s); %s" % (
            first[0], first[1], who,
        )  # fmt: skip


TRUST_CODES = ("signingCredential.untrusted",)


def read(path: str, anchor_pem: "bytes | None" = None) -> Credentials:
    """The C2PA state of the file at ``path``, trusting the agency CA ``anchor_pem`` when
    given. Unusable when c2pa-rs cannot read the file at all."""
    import c2pa

    settings: dict = {"verify": {"verify_trust": anchor_pem is not None}}
    if anchor_pem is not None:
        settings["trust"] = {"trust_anchors": anchor_pem.decode("ascii")}
    try:
        with c2pa.Context(c2pa.Settings.from_dict(settings)) as ctx, open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(MIME, fh, None, ctx)
            if reader is None:
                return Credentials(NONE)
            with reader:
                state = reader.get_validation_state() or ""
                results = reader.get_validation_results() or {}
                active = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        # A manifest so damaged that no reader can parse it is as good as none that holds.
        out = Credentials(INVALID)
        out.failures.append(("manifest.unreadable", first_line(exc)))
        return out
    return _judge(state, results, active, anchor_pem is not None)


def _judge(state: str, results: dict, active: dict, anchored: bool) -> Credentials:
    failures = []
    for item in (results.get("activeManifest") or {}).get("failure", []):
        failures.append((item.get("code", "?"), item.get("explanation", "")))
    trust = [f for f in failures if f[0] in TRUST_CODES]
    others = [f for f in failures if f[0] not in TRUST_CODES]
    if others or (state.lower() == "invalid" and not trust):
        out = Credentials(INVALID)
    elif trust:
        out = Credentials(UNTRUSTED if anchored else VALID)
    elif state.lower() == "trusted" or anchored:
        out = Credentials(TRUSTED if state.lower() == "trusted" else UNTRUSTED)
    else:
        out = Credentials(VALID)
    out.anchored = anchored
    out.failures = others
    out.untrusted = trust
    info = active.get("signature_info") or {}
    out.signer = info.get("common_name", "")
    out.issuer = info.get("issuer", "")
    for a in active.get("assertions", []):
        label = a.get("label", "")
        if label.startswith("c2pa.actions"):
            out.actions += [x.get("action", "?") for x in (a.get("data") or {}).get("actions", [])]
        elif label == LEDGER_LABEL and type(a.get("data")) is dict:
            out.ledger = a["data"]
    return out


def ledger_entries(credentials: Credentials) -> list:
    """The device's entries the manifest carries, as bytes (empty when it carries none)."""
    if not credentials.ledger:
        return []
    return [base64.b64decode(e) for e in credentials.ledger.get("entries", [])]
