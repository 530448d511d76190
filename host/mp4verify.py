"""``sealcam verify recording.mp4``: an exported MP4 checked from the file alone.

The file is what ``host.mp4export`` writes: the recording's initialisation segment and
fragments, byte for byte as the device signed them, an unsigned subtitle fragment with the
pause notes, and the sealcam evidence box (``host.mp4evidence``) with the recording's signed
ledger entries and the device key. The check, in the manner of ONVIF Media Signing:

1. the evidence box: its entries' signatures and hash chain (``protocol.verify``), with the
   key the file carries or, better, with ``--key`` (the device's enrolled key), which must
   be the same;
2. every top-level box, read as a stream: the initialisation segment must be the one its
   chunk entry signs; each fragment must be, in order, a fragment a chunk entry signs
   (F_PLAIN_SHA). A fragment in a signed fragment's place that differs is opened and its
   video samples compared with the entry's frame digests (``protocol.frames.compare``), so
   the frames that were changed, dropped, reordered or added are named by time and by the
   chunk's seq. A signed fragment the file lacks is missing; footage no entry signs is
   unsigned; the fragment whose only track is the text track is the notes (unsigned, not
   footage).

States: authentic; authentic with notes (and unsigned notes that are not footage); altered
(what and where); missing parts; not signed (no sealcam evidence in the file);
unverifiable (no key, or the entries are not signed by the key given). The file is never
read whole: boxes are walked by their headers and hashed in pieces, and only the
initialisation segment and a fragment that fails its hash are held in memory.
"""

import hashlib
import os
import time
from typing import BinaryIO

from host import contentcred, forking, i18n, mp4evidence, problems
from host.errors import Unusable
from host.files import open_regular
from host.localtime import DEFAULT_ZONE
from host.recordings import recording_label
from host.report_text import finding_text, recording_said, said, when
from host.sigworker import worker_checks
from protocol import mp4
from protocol.bounds import entry_problem
from protocol.errors import ProtocolError
from protocol.frames import (
    FRAME_CHANGED,
    FRAME_EXTRA,
    FRAME_MISSING,
    FRAME_OK,
    FRAME_REORDERED,
    compare,
    frame_digest,
    validation_string,
)
from protocol.keys import DeviceKey
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_MEDIA_TYPE,
    F_MONO_MS,
    F_PLAIN_SHA,
    F_RECORDING,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
)
from protocol.verify import NOT_OK, OK_MISSING, UNKNOWN_KEY, LedgerVerifier, Report

AUTHENTIC = "authentic"
AUTHENTIC_NOTES = "authentic with notes"
ALTERED = "altered"
MISSING_PARTS = "missing parts"
NOT_SIGNED = "not signed"
UNVERIFIABLE = "unverifiable"

# The closing line of each state, from the catalogs (``host/locale``, area ``verify``).
_VERDICT_LINES = {
    AUTHENTIC: i18n.N_("mp4.verdict.authentic"),
    AUTHENTIC_NOTES: i18n.N_("mp4.verdict.authentic_notes"),
    MISSING_PARTS: i18n.N_("mp4.verdict.missing_parts"),
    UNVERIFIABLE: i18n.N_("mp4.verdict.unverifiable"),
    ALTERED: i18n.N_("mp4.verdict.altered"),
}

# Finding severities: what the state becomes when a finding of that kind is there.
SEVERITY = {
    "evidence-unreadable": ALTERED,
    "evidence-twice": ALTERED,
    "ledger": ALTERED,
    "ledger-incomplete": MISSING_PARTS,
    "wrong-recording": ALTERED,
    "no-record-stop": MISSING_PARTS,
    "init-missing": MISSING_PARTS,
    "init-altered": ALTERED,
    "fragment-missing": MISSING_PARTS,
    "fragment-reordered": ALTERED,
    "fragment-altered": ALTERED,
    "frame-changed": ALTERED,
    "frame-missing": ALTERED,
    "frame-reordered": ALTERED,
    "frame-added": ALTERED,
    "unsigned-footage": ALTERED,
    "unsigned-box": ALTERED,
    "key-mismatch": UNVERIFIABLE,
    "no-key": UNVERIFIABLE,
    # Content Credentials (host.contentcred): the agency's C2PA manifest on the export.
    "credentials-invalid": ALTERED,
    "credentials-untrusted": UNVERIFIABLE,
}

READ = 1 << 20  # bytes hashed per read
HEADER = 8
MAX_INIT_BYTES = 64 << 20  # an initialisation segment is kilobytes: ftyp, moov, track configs
# A fragment that fails its hash is read whole to name its frames; one GOP of 4K video is
# tens of MB, so a "fragment" past this is not one of ours and is told without its frames.
MAX_FRAGMENT_BYTES = 512 << 20
# Fragment digests the hashing worker holds for the walk (a ten-hour recording has 36,000
# fragments); past them the walk hashes for itself.
MAX_HASHED = 200_000
# Top-level boxes that carry nothing a player shows: tolerated, and told.
PADDING = ("free", "skip")
# Findings of one code kept in full; the rest are counted (a file of nothing but unsigned
# boxes must not grow the report without end).
KEEP = 200


class Box:
    """One top-level box: its type, where it starts and ends, and its header's length."""

    __slots__ = ("end", "header", "kind", "start")

    def __init__(self, kind: str, start: int, end: int, header: int) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.header = header


def _read_at(fh: BinaryIO, at: int, n: int) -> bytes:
    # pread: no seek, and no 8 KB buffer filled to take an 8-byte box header.
    data = os.pread(fh.fileno(), n, at)
    while 0 < len(data) < n:
        more = os.pread(fh.fileno(), n - len(data), at + len(data))
        if not more:
            break
        data += more
    if len(data) != n:
        raise Unusable(i18n.text("mp4u.ended_reading", at=at, count=n))
    return data


def boxes(fh: BinaryIO, size: int, name: str):
    """The file's top-level boxes, read from their headers alone; Unusable, in one line, at
    the first that is not a box or runs past the end of the file."""
    at = 0
    while at < size:
        if size - at < HEADER:
            raise Unusable(i18n.text("mp4u.short_header", name=name, count=size - at, at=at))
        head = _read_at(fh, at, HEADER)
        length = int.from_bytes(head[:4], "big")
        kind_bytes = head[4:8]
        header = HEADER
        if length == 1:
            if size - at < 16:
                raise Unusable(i18n.text("mp4u.inside_header", name=name, at=at))
            length = int.from_bytes(_read_at(fh, at + 8, 8), "big")
            header = 16
        elif length == 0:
            length = size - at  # the last box runs to the end of the file
        if not all(0x20 <= b < 0x7F for b in kind_bytes):
            if at == 0:
                raise Unusable(i18n.text("mp4u.not_mp4", name=name))
            raise Unusable(i18n.text("mp4u.not_box", name=name, at=at, kind=kind_bytes.hex()))
        kind = kind_bytes.decode("ascii")
        if at == 0 and kind != "ftyp":
            raise Unusable(i18n.text("mp4u.not_ftyp", name=name, kind=repr(kind)))
        if length < header:
            raise Unusable(
                i18n.text("mp4u.too_small", name=name, kind=repr(kind), at=at, size=length)
            )
        if at + length > size:
            raise Unusable(
                i18n.text(
                    "mp4u.past_end",
                    name=name,
                    kind=repr(kind),
                    at=at,
                    count=at + length - size,
                    size=size,
                )
            )
        yield Box(kind, at, at + length, header)
        at += length


def _hash_range(fd: int, start: int, end: int, buf: memoryview) -> bytes:
    """SHA-256 of the file's bytes start..end, read with pread into ``buf``."""
    h = hashlib.sha256()
    at = start
    while at < end:
        n = os.preadv(fd, [buf[: min(len(buf), end - at)]], at)
        if n <= 0:
            raise Unusable(i18n.text("mp4u.ended", at=at))
        h.update(buf[:n])
        at += n
    return h.digest()


def _hash_fragments(conn, fh: BinaryIO, size: int, path: str) -> None:
    """The hashing worker (a forked process): every fragment's ``(start, end, SHA-256)``
    in walk order, sent back at once at the end (at most MAX_HASHED of them)."""
    buf = memoryview(bytearray(READ))
    fd = fh.fileno()
    out = bytearray()
    count = 0
    start = end = -1  # the fragment being gathered: a moof and the mdats after it

    def done(start: int, end: int) -> None:
        # Hashed first: a file shortened under the hash leaves no digest's start behind,
        # which would make the whole answer unusable rather than leave the rest to hash.
        sha = _hash_range(fd, start, end, buf)
        out.extend(start.to_bytes(8, "big") + end.to_bytes(8, "big") + sha)

    try:
        for box in boxes(fh, size, path):
            if count >= MAX_HASHED:
                break
            if box.kind == "mdat" and start >= 0:
                end = box.end
                continue
            if start >= 0:
                done(start, end)
                count += 1
                start = -1
            if box.kind == "moof":
                start, end = box.start, box.end
        if start >= 0 and count < MAX_HASHED:
            done(start, end)
    except Exception:  # the file changed under the walk: the main process hashes the rest
        pass
    try:
        conn.send_bytes(bytes(out))
    except OSError:
        pass  # the command has gone


DIGEST = 48  # a fragment's digest as the worker sends it: start, end (8 bytes each), SHA-256


def _digests(data: bytes) -> bool:
    """Whether ``data`` is whole digests (any number of them, none included)."""
    return len(data) % DIGEST == 0


class _Hasher:
    """The fragments' SHA-256, taken in a worker process while the ledger is checked.

    Hashing is most of a verify's work, and parsing and chaining the ledger's entries is
    the rest: in one process they would take turns, as a thread hashing beside the parser
    waits for the interpreter lock after every block. A forked worker walks the boxes and
    hashes each fragment on the other core; the walk here takes its digests in the same
    order. A fragment the worker did not hash (it failed, or the file holds more than
    MAX_HASHED) is hashed here, so the verdict never depends on the worker."""

    def __init__(self, fh: BinaryIO, size: int, path: str) -> None:
        self._fh = fh
        self._sha: dict = {}
        # A worker only where a second core is free: on one it would take turns with this.
        self._worker = forking.Forked.start(_hash_fragments, fh, size, path, cores=2)

    def _collect(self) -> None:
        """The worker's digests, taken once; the worker is ended then (it has sent all)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        data = worker.receive_bytes(_digests) or b""  # gone or garbled: all hashed here
        worker.close()
        for at in range(0, len(data), DIGEST):
            start = int.from_bytes(data[at : at + 8], "big")
            end = int.from_bytes(data[at + 8 : at + 16], "big")
            self._sha[start, end] = data[at + 16 : at + DIGEST]

    def stop(self) -> None:
        """End the worker (at once, if its digests are not wanted any more)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def sha(self, start: int, end: int) -> bytes:
        """The SHA-256 of bytes start..end (the worker's, else hashed here)."""
        if self._worker is not None:
            self._collect()
        sha = self._sha.pop((start, end), None)
        if sha is None:
            sha = _hash_range(self._fh.fileno(), start, end, memoryview(bytearray(READ)))
        return sha


def _is_evidence(fh: BinaryIO, box: Box) -> bool:
    if box.kind != "uuid" or box.end - box.start < box.header + 16:
        return False
    return _read_at(fh, box.start + box.header, 16) == mp4evidence.EVIDENCE_UUID


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000)) + ".%03d UTC" % (ms % 1000)


def _clock(ms: float) -> str:
    """Media time as a player shows it: H:MM:SS.mmm."""
    ms = round(ms)
    neg = "-" if ms < 0 else ""
    s, ms = divmod(abs(ms), 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return "%s%d:%02d:%02d.%03d" % (neg, h, m, s, ms)


class Finding:
    """One thing the check found: a code from SEVERITY, what it means, and where.

    ``message`` is in English (``--json``); ``msg_id`` and ``fields`` are the same as a
    catalogue message, which ``lines`` shows in the language in force, its times in the
    zone given (``host.report_text.said``; issue 17)."""

    def __init__(
        self,
        code: str,
        message: str,
        seq: int = -1,
        offset: int = -1,
        msg_id: str = "",
        fields: "dict | None" = None,
    ) -> None:
        self.code = code
        self.message = message
        self.seq = seq
        self.offset = offset
        self.msg_id = msg_id
        self.fields = fields

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": SEVERITY[self.code],
            "seq": self.seq if self.seq >= 0 else None,
            "offset": self.offset if self.offset >= 0 else None,
            "message": self.message,
        }


class Mp4Report:
    """The verdict on one exported MP4."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.state = NOT_SIGNED
        self.device_id: str | None = None
        self.recording: bytes | None = None
        self.key_source = ""  # "given" (--key) or "carried" (the file's own)
        self.key_fingerprint = ""
        self.ledger: Report | None = None
        self.entries = (-1, -1)  # the first and last seq the evidence holds
        self.findings: list = []
        self.kept: dict = {}  # code -> findings of that code held in full
        self.counted: dict = {}  # code -> findings past KEEP, counted only
        self.fragments = 0  # footage fragments in the file
        self.signed_fragments = 0  # chunk entries that sign a fragment
        self.matched = 0  # fragments that are, in place, what an entry signs
        self.notes: list = []  # (media time from, to, text) of the unsigned notes
        self.padding = 0  # padding boxes (free, skip)
        self.frames: list = []  # per altered chunk: (seq, validation string)
        self.export: dict = {}
        self.credentials: contentcred.Credentials | None = None  # the C2PA manifest's state

    def add(
        self,
        code: str,
        message: str,
        seq: int = -1,
        offset: int = -1,
        msg_id: str = "",
        fields: "dict | None" = None,
    ) -> None:
        kept = self.kept.get(code, 0)
        if kept >= KEEP:
            self.counted[code] = self.counted.get(code, 0) + 1
            return
        self.kept[code] = kept + 1
        self.findings.append(Finding(code, message, seq, offset, msg_id, fields))

    @property
    def ok(self) -> bool:
        return self.state in (AUTHENTIC, AUTHENTIC_NOTES)

    def settle(self) -> None:
        """Set the state from what was found."""
        codes = {f.code for f in self.findings} | set(self.counted)
        severities = {SEVERITY[c] for c in codes}
        if UNVERIFIABLE in severities:
            self.state = UNVERIFIABLE
        elif ALTERED in severities:
            self.state = ALTERED
        elif MISSING_PARTS in severities:
            self.state = MISSING_PARTS
        elif self.notes or self.padding:
            self.state = AUTHENTIC_NOTES
        else:
            self.state = AUTHENTIC

    def to_dict(self) -> dict:
        return {
            "file": self.path,
            "state": self.state,
            "device_id": self.device_id,
            "recording": self.recording.hex() if self.recording is not None else None,
            "key": {"source": self.key_source or None, "fingerprint": self.key_fingerprint or None},
            "entries": {
                "first_seq": self.entries[0] if self.entries[0] >= 0 else None,
                "last_seq": self.entries[1] if self.entries[1] >= 0 else None,
            },
            "ledger": self.ledger.to_dict() if self.ledger is not None else None,
            "fragments": {
                "in_file": self.fragments,
                "signed": self.signed_fragments,
                "as_signed": self.matched,
            },
            "frames": [{"seq": seq, "validation": v} for seq, v in self.frames],
            "notes": [
                {"from": _clock(a), "to": _clock(b), "text": text, "signed": False}
                for a, b, text in self.notes
            ],
            "padding_boxes": self.padding,
            "export": self.export,
            "content_credentials": (
                self.credentials.to_dict() if self.credentials is not None else None
            ),
            "findings": [f.to_dict() for f in self.findings]
            + [
                {"code": c, "severity": SEVERITY[c], "more": n, "message": "... and %d more" % n}
                for c, n in self.counted.items()
            ],
        }

    def lines(self, zone: str = DEFAULT_ZONE) -> list:
        """The report as lines a person reads, ending with one Verdict line: in the language
        in force (``host.i18n``), times in ``zone``."""
        out = [i18n.text("mp4r.file", path=self.path)]
        if self.state == NOT_SIGNED and self.device_id is None:
            out.append(i18n.text("mp4r.no_evidence"))
            out.append(i18n.text("mp4r.verdict", verdict=i18n.text("mp4.verdict.unsigned")))
            return out
        first, last = self.entries
        out.append(
            i18n.text(
                "mp4r.evidence",
                device=self.device_id,
                recording=said(*recording_said(self.recording)),
                first=first,
                last=last,
            )
        )
        if self.export:
            at_ms = self.export.get("at_ms")
            at = when(at_ms, zone) if type(at_ms) is int else self.export.get("at", "?")
            out.append(
                i18n.text(
                    "mp4r.exported",
                    by=self.export.get("by", "?"),
                    at=at,
                    tool=self.export.get("tool", "?"),
                )
            )
            if self.export.get("decrypted_by"):
                out.append(
                    i18n.text(
                        "mp4r.decrypted",
                        by=self.export["decrypted_by"],
                        key=self.export.get("decrypted_with", "?"),
                    )
                )
        if self.key_source == "given":
            out.append(i18n.text("mp4r.key.given", fingerprint=self.key_fingerprint))
        elif self.key_source == "carried":
            out.append(i18n.text("mp4r.key.carried", fingerprint=self.key_fingerprint))
        if self.ledger is not None:
            stats = self.ledger.stats
            out.append(
                i18n.text(
                    "mp4r.ledger",
                    state=i18n.verdict(self.ledger.state),
                    entries=stats["entries"],
                    signed=stats["signed"],
                )
            )
        out.append(
            i18n.text(
                "mp4r.footage",
                matched=self.matched,
                signed=self.signed_fragments,
                fragments=self.fragments,
            )
        )
        for seq, v in self.frames:
            out.append(i18n.text("mp4r.frames", seq=seq, validation=v))
        if self.findings or self.counted:
            out.append(i18n.text("report.findings"))
            for f in self.findings:
                out.append("  %-19s %s" % (f.code, finding_text(f, zone)))
            for code, n in self.counted.items():
                out.append("  %-19s %s" % (code, i18n.text("mp4r.more", count=n)))
        if self.notes:
            out.append(i18n.text("mp4r.notes", count=len(self.notes)))
            for a, b, text in self.notes:
                note = text.replace("\n", " / ")
                out.append(i18n.text("mp4r.note", start=_clock(a), end=_clock(b), text=note))
        if self.credentials is not None:
            out.append(i18n.text("mp4r.c2pa", state=_credentials_line(self.credentials)))
        out.append(i18n.text("mp4r.verdict", verdict=self._verdict()))
        return out

    def _verdict(self) -> str:
        """The closing line, in the language in force (``host.i18n``)."""
        state = self.state if self.state in _VERDICT_LINES else ALTERED
        return i18n.text(_VERDICT_LINES[state], word=i18n.verdict(state))


def _credentials_line(creds: contentcred.Credentials) -> str:
    """``contentcred.Credentials.line`` in the language in force: the state and who signed."""
    if creds.state == contentcred.NONE:
        return i18n.text("mp4r.c2pa.none")
    who = i18n.text("mp4r.c2pa.who", signer=creds.signer or "?", issuer=creds.issuer or "?")
    if creds.state == contentcred.TRUSTED:
        return i18n.text("mp4r.c2pa.trusted", who=who)
    if creds.state == contentcred.VALID:
        return i18n.text("mp4r.c2pa.valid", who=who)
    if creds.state == contentcred.UNTRUSTED:
        return i18n.text("mp4r.c2pa.untrusted", who=who)
    code, why = creds.failures[0] if creds.failures else ("?", "")
    return i18n.text("mp4r.c2pa.invalid", code=code, why=why, who=who)


# --- the check ------------------------------------------------------------------------------


class _Chunks:
    """The recording's chunk entries, as the evidence signs them."""

    def __init__(self, entries: list, rec_id: bytes) -> None:
        self.init = [
            e
            for e in entries
            if e.kind == KIND_CHUNK
            and e.fields.get(F_RECORDING) == rec_id
            and e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT
        ]
        self.fragments = [
            e
            for e in entries
            if e.kind == KIND_CHUNK
            and e.fields.get(F_RECORDING) == rec_id
            and e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4
        ]
        self.by_sha: dict = {}
        for e in self.fragments:
            self.by_sha.setdefault(e.fields[F_PLAIN_SHA], e)
        # The monotonic ms of media time 0: the record-start's origin_mono (else the press).
        self.origin = -1
        start = entries[0].fields if entries else {}
        if start.get(F_EVENT) == EV_RECORD_START:
            detail = start.get(F_DETAIL)
            if type(detail) is dict and type(detail.get("origin_mono")) is int:
                self.origin = detail["origin_mono"]
            else:
                self.origin = start[F_MONO_MS]


def verify_mp4(
    path: str, key: "DeviceKey | None" = None, anchor: "bytes | None" = None
) -> Mp4Report:
    """Check the exported MP4 at ``path`` alone, or against the device's ``key``; its C2PA
    manifest too, if it has one, trusting the agency CA certificate ``anchor`` (PEM).
    Unusable when the file is not an MP4 or is cut short."""
    fh = open_regular(path, "MP4 file")
    with fh:
        fh.seek(0, 2)
        size = fh.tell()
        if size == 0:
            raise Unusable(i18n.text("mp4u.empty", path=path))
        report = Mp4Report(path)
        # First pass: the headers alone, to find the evidence at the end.
        found = [b for b in boxes(fh, size, path) if _is_evidence(fh, b)]
        if not found:
            report.state = NOT_SIGNED
            return report
        # The fragments are hashed in a worker process while the ledger is checked here.
        hasher = _Hasher(fh, size, path)
        try:
            manifests = _verify_with(fh, size, path, key, report, found, hasher)
        finally:
            hasher.stop()
        if manifests is None:
            return report
    _check_credentials(path, manifests, anchor, report)
    report.settle()
    return report


def _verify_with(
    fh: BinaryIO,
    size: int,
    path: str,
    key: "DeviceKey | None",
    report: Mp4Report,
    found: list,
    hasher: _Hasher,
) -> "list | None":
    """The evidence, its ledger and every box; where the C2PA manifests start (None when
    the evidence cannot be read: the report is then settled)."""
    if len(found) > 1:
        report.add(
            "evidence-twice",
            "the file holds %d sealcam evidence boxes (at bytes %s); an export has one: "
            "the last is checked" % (len(found), ", ".join(str(b.start) for b in found)),
            offset=found[1].start,
            msg_id="mp4f.evidence-twice",
            fields={"count": len(found), "at": ", ".join(str(b.start) for b in found)},
        )
    evidence_box = found[-1]
    evidence = _read_evidence(fh, evidence_box, report)
    if evidence is None:
        report.settle()
        return None
    entries = _check_ledger(evidence, key, report)
    chunks = _Chunks(entries, evidence.recording)
    report.signed_fragments = len(chunks.fragments)
    return _check_boxes(fh, size, path, chunks, evidence, report, {b.start for b in found}, hasher)


def _check_credentials(
    path: str, manifests: list, anchor: "bytes | None", report: Mp4Report
) -> None:
    """The C2PA manifest (Content Credentials) beside the device's evidence."""
    if not manifests:
        report.credentials = contentcred.Credentials(contentcred.NONE)
        if anchor is not None:
            report.add(
                "credentials-untrusted",
                "--agency-ca was given, and the file carries no C2PA manifest to check with it",
                msg_id="mp4f.credentials-none",
                fields={},
            )
        return
    creds = report.credentials = contentcred.read(path, anchor)
    if creds.state == contentcred.INVALID:
        code, why = creds.failures[0] if creds.failures else ("?", "")
        report.add(
            "credentials-invalid",
            "the C2PA manifest at byte %d no longer matches the file (%s: %s): the file "
            "changed after the agency signed it" % (manifests[0], code, why),
            offset=manifests[0],
            msg_id="mp4f.credentials-invalid",
            fields={"offset": manifests[0], "code": code, "why": why},
        )
    elif creds.state == contentcred.UNTRUSTED:
        report.add(
            "credentials-untrusted",
            "the C2PA manifest is signed by %s (issued by %s), which does not chain to the "
            "agency CA given" % (creds.signer or "?", creds.issuer or "?"),
            msg_id="mp4f.credentials-untrusted",
            fields={"signer": creds.signer or "?", "issuer": creds.issuer or "?"},
        )


def _read_evidence(fh: BinaryIO, box: Box, report: Mp4Report) -> "mp4evidence.Evidence | None":
    length = box.end - box.start - box.header - 16
    if length > mp4evidence.MAX_EVIDENCE_BYTES:
        report.add(
            "evidence-unreadable",
            "the sealcam evidence box at byte %d holds %d bytes, more than any recording's "
            "entries take: it is not one sealcam wrote" % (box.start, length),
            offset=box.start,
            msg_id="mp4f.evidence-too-large",
            fields={"offset": box.start, "size": length},
        )
        return None
    body = _read_at(fh, box.start + box.header + 16, length)
    try:
        evidence = mp4evidence.decode(body)
    except mp4evidence.EvidenceProblem as exc:
        report.device_id = "?"
        report.add(
            "evidence-unreadable",
            "the sealcam evidence box at byte %d cannot be read: %s" % (box.start, exc),
            offset=box.start,
            msg_id="mp4f.evidence-unreadable",
            fields={"offset": box.start, "why": problems.pair(exc)},
        )
        return None
    report.device_id = evidence.device_id
    report.recording = evidence.recording
    report.export = {k: v for k, v in evidence.export.items() if type(v) in (str, int)}
    return evidence


def _check_ledger(evidence: "mp4evidence.Evidence", key: "DeviceKey | None", report: Mp4Report):
    """Verify the carried entries; return those that parse, in the order carried."""
    carried = evidence.key
    if key is not None:
        if key.device_id != evidence.device_id:
            report.add(
                "key-mismatch",
                "the file holds the entries of device %s, and the key given is device %s's"
                % (evidence.device_id, key.device_id),
                msg_id="mp4f.key-other-device",
                fields={"device": evidence.device_id, "other": key.device_id},
            )
        elif carried is not None and carried.public != key.public:
            report.add(
                "key-mismatch",
                "the key the file carries (fingerprint %s) is not the key given (fingerprint "
                "%s): the entries are checked with the key given"
                % (carried.public[:8].hex(), key.public[:8].hex()),
                msg_id="mp4f.key-not-carried",
                fields={"carried": carried.public[:8].hex(), "given": key.public[:8].hex()},
            )
        public = key.public
        report.key_source = "given"
    elif carried is not None:
        public = carried.public
        report.key_source = "carried"
    else:
        report.add(
            "no-key",
            "the file carries no device key: give the device's public key with --key",
            msg_id="mp4f.no-key",
            fields={},
        )
        public = b""
    report.key_fingerprint = public[:8].hex()
    parsed: list = []
    verifier = LedgerVerifier(evidence.device_id, public) if public else None
    # Every entry is parsed first, its signature sent to the signature worker (another
    # core) as it goes; the verifier then takes the entries in order with the outcomes,
    # which are exactly the checks ``feed`` would make itself.
    checks = worker_checks(public) if verifier is not None else None
    read: list = []  # (raw length, entry or the parse error, whether its check was sent)
    try:
        for raw in evidence.entries:
            try:
                e = parse_entry(raw)
            except ProtocolError as exc:
                read.append((len(raw), exc, False))
                continue
            wanted = checks is not None and verifier is not None and verifier.wants_check(e)
            if wanted and checks is not None:
                checks.submit(e.to_be_signed(), e.signature)
            read.append((len(raw), e, wanted))
        offset = 0
        started = False
        for length, e, wanted in read:
            if isinstance(e, ProtocolError):
                if verifier is not None:
                    verifier.malformed(offset, offset + length, str(e), problems.pair(e))
                offset += length
                continue
            why = "wrong-device"  # i.e. its fields are not checked yet
            if verifier is not None:
                if not started and e.seq > 0:
                    # The evidence starts at the record-start: its link to the entry before
                    # it lies outside the recording, and is taken as given.
                    verifier.resume(e.seq, e.prev)
                # An entry out of bounds is its finding (bad-field).
                why = verifier.feed(e, offset, checks.take() if wanted and checks else None)
            started = True
            # Only entries every field of which can be read are used. ``feed`` has checked
            # the fields of each entry of its device (bad-field if one fails); the fields of
            # another device's entry, or of any entry when there is no key, are checked here.
            if why != "bad-field" and (why != "wrong-device" or not entry_problem(e.fields)):
                parsed.append(e)
            offset += length
    finally:
        if checks is not None:
            checks.close()
    if parsed:
        report.entries = (parsed[0].seq, parsed[-1].seq)
    if verifier is not None:
        ledger = verifier.finish()
        report.ledger = ledger
        if ledger.state == UNKNOWN_KEY:
            report.add(
                "key-mismatch",
                "the entries are not signed by the key %s (fingerprint %s)"
                % ("given" if key is not None else "the file carries", public[:8].hex()),
                msg_id="mp4f.key-unknown." + ("given" if key is not None else "carried"),
                fields={"fingerprint": public[:8].hex()},
            )
        elif ledger.state == NOT_OK:
            for f in ledger.findings:
                if f.severity == "error":
                    report.add("ledger", f.message, f.seq, msg_id=f.msg_id, fields=f.fields)
        elif ledger.state == OK_MISSING:
            for f in ledger.findings:
                report.add("ledger-incomplete", f.message, f.seq, msg_id=f.msg_id, fields=f.fields)
    _check_span(parsed, evidence.recording, report)
    return parsed


def _check_span(parsed: list, rec_id: bytes, report: Mp4Report) -> None:
    """The evidence must run from the recording's start to its stop."""
    if not parsed:
        report.add(
            "ledger-incomplete",
            "the evidence holds no readable entry",
            msg_id="mp4f.no-entry",
            fields={},
        )
        return
    first = parsed[0].fields
    if first.get(F_EVENT) != EV_RECORD_START or first.get(F_RECORDING) != rec_id:
        report.add(
            "wrong-recording",
            "the evidence's first entry (seq %d) is not the record-start of %s"
            % (parsed[0].seq, recording_label(rec_id)),
            parsed[0].seq,
            msg_id="mp4f.wrong-recording",
            fields={"seq": parsed[0].seq, "recording": recording_said(rec_id)},
        )
    stopped = any(
        e.kind != KIND_CHUNK
        and e.fields.get(F_EVENT) == EV_RECORD_STOP
        and e.fields.get(F_RECORDING) == rec_id
        for e in parsed
    )
    if not stopped:
        report.add(
            "no-record-stop",
            "the evidence ends at seq %d without the recording's record-stop: what came "
            "after it cannot be vouched for (cut short, or the device lost power)" % parsed[-1].seq,
            parsed[-1].seq,
            msg_id="mp4f.no-record-stop",
            fields={"seq": parsed[-1].seq},
        )


class _Fragment:
    """A fragment of footage found in the file: where, and its SHA-256."""

    __slots__ = ("end", "sha", "start")

    def __init__(self, start: int, end: int, sha: bytes) -> None:
        self.start = start
        self.end = end
        self.sha = sha


class _Tracks:
    """What the verifier needs of the initialisation segment's tracks."""

    def __init__(self, tracks: list) -> None:
        self.all = tracks
        video = [t for t in tracks if t.handler == mp4.HANDLER_VIDEO]
        text = [t for t in tracks if t.handler == mp4.HANDLER_TEXT]
        self.video = video[0] if video else None
        self.text = text[0] if text else None


def _check_boxes(
    fh: BinaryIO,
    size: int,
    path: str,
    chunks: _Chunks,
    evidence: "mp4evidence.Evidence",
    report: Mp4Report,
    evidence_at: set,
    hasher: _Hasher,
) -> list:
    """Second pass: every top-level box in turn; return where the C2PA manifest boxes
    start. The fragments' hashes come from ``hasher``."""
    walk = boxes(fh, size, path)
    manifests: list = []  # the C2PA manifest boxes: (start, end)
    tracks = _Tracks([])
    footage: list = []
    pending = None  # the box read ahead of a fragment's last mdat
    init_done = False
    ftyp = None
    extra_cap = len(chunks.fragments) + KEEP
    while True:
        box = pending if pending is not None else next(walk, None)
        pending = None
        if box is None:
            break
        if box.kind == "uuid" and contentcred.is_manifest_box(fh, box.start, box.header):
            manifests.append((box.start, box.end))  # checked by c2pa-rs, not footage
            continue
        if not init_done and box.kind == "ftyp" and ftyp is None:
            ftyp = box
            continue
        if not init_done and box.kind == "moov":
            init_done = True
            tracks = _check_init(fh, ftyp, box, chunks, report)
            continue
        if box.start in evidence_at:
            continue
        if box.kind in PADDING:
            report.padding += 1
            continue
        if box.kind == "moof":
            end = box.end
            pending = next(walk, None)
            while pending is not None and pending.kind == "mdat":
                end = pending.end
                pending = next(walk, None)
            sha = hasher.sha(box.start, end)
            _fragment(fh, box.start, end, sha, chunks, tracks, report, footage, extra_cap)
            continue
        if box.kind == "mdat":
            report.add(
                "unsigned-footage",
                "bytes %d to %d: media data (mdat) with no fragment header before it, signed "
                "by no entry" % (box.start, box.end),
                offset=box.start,
                msg_id="mp4f.mdat-alone",
                fields={"start": box.start, "end": box.end},
            )
            continue
        report.add(
            "unsigned-box",
            "bytes %d to %d: a %r box that no entry signs (an export holds only the "
            "recording's boxes, its notes and its evidence)" % (box.start, box.end, box.kind),
            offset=box.start,
            msg_id="mp4f.unsigned-box",
            fields={"start": box.start, "end": box.end, "kind": repr(box.kind)},
        )
    if not init_done:
        report.add(
            "init-missing",
            "the file has no initialisation segment (no moov box)",
            msg_id="mp4f.no-moov",
            fields={},
        )
    report.fragments = len(footage)
    _place_fragments(fh, footage, chunks, tracks, evidence, report)
    return [start for start, _end in manifests]


def _check_init(
    fh: BinaryIO, ftyp: "Box | None", moov: Box, chunks: _Chunks, report: Mp4Report
) -> _Tracks:
    """The initialisation segment: the file's ftyp and its moov, as the device signed them
    together. A box between them (a C2PA manifest, which that standard places there) is not
    part of it; the walk judges it on its own."""
    head = b""
    if ftyp is not None:
        head = _read_at(fh, ftyp.start, ftyp.end - ftyp.start)
    if len(head) + moov.end - moov.start > MAX_INIT_BYTES:
        raise Unusable(i18n.text("mp4u.init_too_large", at=moov.start))
    init = head + _read_at(fh, moov.start, moov.end - moov.start)
    sha = hashlib.sha256(init).digest()
    if not chunks.init:
        report.add(
            "init-missing",
            "no entry in the evidence signs an initialisation segment for this recording",
            msg_id="mp4f.init-unsigned",
            fields={},
        )
    elif chunks.init[0].fields[F_PLAIN_SHA] != sha:
        report.add(
            "init-altered",
            "the initialisation segment (ftyp and moov, to byte %d) is not the one chunk seq "
            "%d signs: the tracks' set-up was changed" % (moov.end, chunks.init[0].seq),
            chunks.init[0].seq,
            0,
            "mp4f.init-altered",
            {"end": moov.end, "seq": chunks.init[0].seq},
        )
    try:
        return _Tracks(mp4.read_init(init))
    except mp4.Mp4Error as exc:
        report.add(
            "init-altered",
            "the initialisation segment cannot be read: %s" % exc,
            -1,
            0,
            "mp4f.init-unreadable",
            {"why": problems.pair(exc)},
        )
        return _Tracks([])


def _fragment(
    fh: BinaryIO,
    start: int,
    end: int,
    sha: bytes,
    chunks: _Chunks,
    tracks: _Tracks,
    report: Mp4Report,
    footage: list,
    extra_cap: int,
) -> None:
    """One fragment (a moof and its mdat, ``sha`` its SHA-256): footage, or the notes."""
    if sha not in chunks.by_sha:
        notes = _notes(fh, start, end, tracks)
        if notes is not None:
            report.notes.extend(notes)
            return
    if len(footage) >= extra_cap:
        report.add(
            "unsigned-footage",
            "bytes %d to %d: a fragment past the %d the evidence signs" % (start, end, extra_cap),
            offset=start,
            msg_id="mp4f.fragment-past",
            fields={"start": start, "end": end, "count": extra_cap},
        )
        return
    footage.append(_Fragment(start, end, sha))


class _Unopenable(ValueError):
    """A fragment too large to open frame by frame (English, and as ``host.problems``
    says it)."""

    def __init__(self, size: int) -> None:
        super().__init__("%d bytes, too large to open frame by frame" % size)
        self.msg_id = "mp4f.too-large-to-open"
        self.fields = {"size": size}


def _parse(fh: BinaryIO, start: int, end: int, tracks: "_Tracks") -> tuple:
    """``(data, sequence, samples)`` of the fragment at bytes start..end; Mp4Error if it is
    not one, ValueError if it is too large to open."""
    if end - start > MAX_FRAGMENT_BYTES:
        raise _Unopenable(end - start)
    data = _read_at(fh, start, end - start)
    sequence, samples = mp4.read_fragment(data, tracks.all)
    return data, sequence, samples


def _notes(fh: BinaryIO, start: int, end: int, tracks: _Tracks) -> "list | None":
    """The notes a fragment holds when its only track is the text track, else None."""
    if tracks.text is None:
        return None
    try:
        data, _seq, samples = _parse(fh, start, end, tracks)
    except (mp4.Mp4Error, ValueError):
        return None
    text_id = tracks.text.track_id
    if not samples or any(s.track_id != text_id for s in samples):
        return None
    scale = tracks.text.timescale or 1000
    out = []
    for s in samples:
        body = data[s.offset : s.offset + s.size]
        n = int.from_bytes(body[:2], "big") if len(body) >= 2 else 0
        text = body[2 : 2 + n].decode("utf-8", "replace")
        if text:
            a = s.decode_time * 1000 / scale
            out.append((a, a + s.duration * 1000 / scale, text))
    return out


def _place_fragments(
    fh: BinaryIO,
    footage: list,
    chunks: _Chunks,
    tracks: _Tracks,
    evidence: "mp4evidence.Evidence",
    report: Mp4Report,
) -> None:
    """Each fragment against the chunk entry whose place it takes (``compare``)."""
    signed = [e.fields[F_PLAIN_SHA] for e in chunks.fragments]
    present = [f.sha for f in footage]
    origin = chunks.origin
    for state, i, j in compare(signed, present):
        if state == FRAME_OK:
            report.matched += 1
            continue
        e = chunks.fragments[i] if i >= 0 else None
        f = footage[j] if j >= 0 else None
        if state == FRAME_MISSING and e is not None:
            report.add(
                "fragment-missing",
                "chunk seq %d (%s, from %s to %s): its fragment is not in the file"
                % (e.seq, _media_time(e, origin), _iso(e.fields[F_START_MS]),
                   _iso(e.fields[F_END_MS])),
                e.seq,
                msg_id="mp4f.fragment-missing",
                fields={"seq": e.seq, "media": _media_time_said(e, origin),
                        "from_millis": e.fields[F_START_MS], "to_millis": e.fields[F_END_MS]},
            )  # fmt: skip
        elif state == FRAME_REORDERED and e is not None and f is not None:
            report.add(
                "fragment-reordered",
                "the fragment of chunk seq %d (%s, %s) is at bytes %d to %d, out of its "
                "signed order: fragments were reordered"
                % (e.seq, _media_time(e, origin), _iso(e.fields[F_START_MS]), f.start, f.end),
                e.seq,
                f.start,
                "mp4f.fragment-reordered",
                {
                    "seq": e.seq,
                    "media": _media_time_said(e, origin),
                    "from_millis": e.fields[F_START_MS],
                    "start": f.start,
                    "end": f.end,
                },
            )
        elif state == FRAME_EXTRA and f is not None:
            copy = chunks.by_sha.get(f.sha)
            report.add(
                "unsigned-footage",
                "bytes %d to %d: %s" % (
                    f.start, f.end,
                    "a second copy of the fragment of chunk seq %d" % copy.seq
                    if copy is not None else "a fragment of footage that no entry signs",
                ),
                offset=f.start,
                msg_id="mp4f.fragment-copy" if copy is not None else "mp4f.fragment-unsigned",
                fields={"start": f.start, "end": f.end,
                        "seq": copy.seq if copy is not None else -1},
            )  # fmt: skip
        elif state == FRAME_CHANGED and e is not None and f is not None:
            _changed(fh, e, f, tracks, report)


def _media_time(e, origin: int) -> str:
    """About where a chunk starts on the player's clock, in English (the JSON)."""
    msg_id, fields = _media_time_said(e, origin)
    return i18n.text(msg_id, i18n.EN, **fields)


def _media_time_said(e, origin: int) -> tuple:
    """About where a chunk starts on the player's clock: its first frame's monotonic time
    (the entry's, less the chunk's length) from the recording's origin; a message."""
    if origin < 0:
        return ("mp4f.media-unknown", {})
    f = e.fields
    start_mono = f[F_MONO_MS] - (f[F_WALL_MS] - f[F_START_MS])
    return ("mp4f.media-about", {"clock": _clock(start_mono - origin)})


def _changed(fh: BinaryIO, e, f: _Fragment, tracks: _Tracks, report: Mp4Report) -> None:
    """A fragment in chunk ``e``'s place that is not what it signs: name its frames."""
    where = "bytes %d to %d" % (f.start, f.end)
    video = tracks.video
    try:
        data, _sequence, samples = _parse(fh, f.start, f.end, tracks)
    except (mp4.Mp4Error, ValueError) as exc:
        report.add(
            "fragment-altered",
            "the fragment in the place of chunk seq %d (%s) is not what it signs and cannot "
            "be opened frame by frame (%s)" % (e.seq, where, exc),
            e.seq,
            f.start,
            "mp4f.fragment-unopened",
            {"seq": e.seq, "start": f.start, "end": f.end, "why": problems.pair(exc)},
        )
        return
    if video is None:
        report.add(
            "fragment-altered",
            "the fragment in the place of chunk seq %d (%s) is not what it signs" % (e.seq, where),
            e.seq,
            f.start,
            "mp4f.fragment-altered",
            {"seq": e.seq, "start": f.start, "end": f.end},
        )
        return
    frames = [s for s in samples if s.track_id == video.track_id]
    digests = [frame_digest(data[s.offset : s.offset + s.size]) for s in frames]
    signed = list(e.fields.get(F_FRAME_HASHES, ()))
    results = compare(signed, digests)
    report.frames.append((e.seq, validation_string(results)))
    scale = video.timescale or 90000
    base = frames[0].decode_time if frames else 0
    start_ms = e.fields[F_START_MS]
    n = max(1, len(signed))
    step = (e.fields[F_END_MS] - start_ms) / n  # about one frame, for frames not present

    def at(j: int) -> str:
        s = frames[j]
        return "at %s (%s)" % (
            _clock(s.decode_time * 1000 / scale),
            _iso(start_ms + (s.decode_time - base) * 1000 // scale),
        )

    def at_said(j: int) -> tuple:
        s = frames[j]
        return (
            "mp4f.at",
            {
                "clock": _clock(s.decode_time * 1000 / scale),
                "when_millis": start_ms + (s.decode_time - base) * 1000 // scale,
            },
        )

    told = 0
    for state, i, j in results:
        if state == FRAME_OK:
            continue
        told += 1
        if state == FRAME_CHANGED:
            report.add(
                "frame-changed",
                "frame %d of chunk seq %d, %s: changed" % (i, e.seq, at(j)),
                e.seq,
                f.start + frames[j].offset,
                "mp4f.frame-changed",
                {"frame": i, "seq": e.seq, "at": at_said(j)},
            )
        elif state == FRAME_MISSING:
            report.add(
                "frame-missing",
                "frame %d of chunk seq %d, about %s: missing from its fragment"
                % (i, e.seq, _iso(start_ms + int(i * step))),
                e.seq,
                f.start,
                "mp4f.frame-missing",
                {"frame": i, "seq": e.seq, "about_millis": start_ms + int(i * step)},
            )
        elif state == FRAME_REORDERED:
            report.add(
                "frame-reordered",
                "frame %d of chunk seq %d is now frame %d, %s: reordered" % (i, e.seq, j, at(j)),
                e.seq,
                f.start + frames[j].offset,
                "mp4f.frame-reordered",
                {"frame": i, "seq": e.seq, "now": j, "at": at_said(j)},
            )
        else:
            report.add(
                "frame-added",
                "a frame %s in chunk seq %d's fragment is signed by no entry: added"
                % (at(j), e.seq),
                e.seq,
                f.start + frames[j].offset,
                "mp4f.frame-added",
                {"seq": e.seq, "at": at_said(j)},
            )
    if not told:
        report.add(
            "fragment-altered",
            "the fragment of chunk seq %d (%s) differs from what it signs outside its video "
            "frames (its sound or its timing): every frame still matches its digest"
            % (e.seq, where),
            e.seq,
            f.start,
            "mp4f.fragment-outside-frames",
            {"seq": e.seq, "start": f.start, "end": f.end},
        )
