"""The court package: recordings, their proofs and their note in one folder (R-HOST-4).

``build`` writes the package that docs/court-package.md describes: for every recording the
device-signed ledger entries from record-start to record-stop, the original media byte for
byte (for a recording made as MP4 fragments, the signed fragments end to end in its
``video.mp4``, which also plays; for a raw one, each chunk's file and a playable H.264 + AAC
derivative), inclusion proofs of every entry in a checkpoint of the host log signed now
with the host key, the device keys and their enrolment, the custody excerpt and the
approval of restricted footage; then the note (HTML and PDF) and the manifest listing every
file with its SHA-256, signed with the host key (COSE_Sign1).

Each recording's span is verified as an export verifies it (``host.export``): every
signature and link in it, and its link to the entry before it as the store holds it, in a
worker beside the media's copy. The log's proofs say the host stored each entry; they do
not say the store still holds every entry of the span: a record-start row deleted or
swapped in the store is found by the chain, and so are the rows from a recording's start
to the ledger's end deleted together (the host log names seqs past the last row held:
``host.spans``): refused as not authentic (exit 1), never said as a recording that does not
exist.

Nothing half-written is ever left where the package goes: it is written into a temporary
folder beside ``out``, made durable, and renamed into place at the end; any failure
removes the temporary folder. Who may export what (the role, an officer's own footage, the
approval of restricted footage: R-HOST-6) is the caller's to check before calling, through
``host.access.Desk``; this module reads the store and writes files, nothing else.
"""

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host import hostlog, i18n, localtime, tlog
from host.court import manifest as signed_manifest
from host.court.beside import Beside
from host.court.logproofs import ProofTree
from host.court.note import note_html, note_pdf, warm_up
from host.errors import Refused, Unusable
from host.files import fsync_dir
from protocol.keys import DeviceKey, encode_key
from protocol.ledger import Entry
from protocol.registry import (
    EV_RECORD_START,
    EV_RECORD_STOP,
    F_CHUNK_INDEX,
    F_CIPHER_SHA,
    F_END_MS,
    F_EVENT,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_SHA,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
    MEDIA_AAC,
    MEDIA_H264,
    MEDIA_H265,
    MEDIA_MJPEG,
    MEDIA_MP4_INIT,
    MEDIA_NAMES,
    MEDIA_OPUS,
    MEDIA_PCM,
)

if TYPE_CHECKING:
    from host import spans
    from host.evidence import SqliteEvidenceStore
    from host.sqlstore import Cursor
    from host.tlog import NoteSigner
    from protocol.verify import Report

HERE = Path(__file__).resolve().parent
VERIFIER_SCRIPT = HERE / "verify_package.py"
NOT_AUTHENTIC = "not-authentic"  # a refusal's reason: stored media is not what was signed

EXTENSIONS = {
    MEDIA_H264: "h264",
    MEDIA_H265: "h265",
    MEDIA_MJPEG: "mjpeg",
    MEDIA_AAC: "aac",
    MEDIA_PCM: "pcm",
    MEDIA_OPUS: "opus",
}
AUDIO = (MEDIA_AAC, MEDIA_PCM, MEDIA_OPUS)


class PackageError(Unusable):
    """The package cannot be made from this input (exit 2); the message says what to do."""


@dataclass
class Wanted:
    """One recording to put in the package, with what the evidence room says of it."""

    item: str
    device: str
    number: int
    proves: list = field(default_factory=list)
    category: "str | None" = None
    restricted: "dict | None" = None
    approval: "dict | None" = None  # the approval in force for this export


def describe(cur: "Cursor", wanted: Wanted, user: str, now_ms: int) -> None:
    """Fill in what the evidence room says of ``wanted``: what it proves, its category, its
    restriction and the approval in force for ``user``'s export at ``now_ms``."""
    from host import audit, cases, restricted

    note = cases.note_of(cur, wanted.item)
    if note is not None:
        wanted.proves = [note.proves] if note.proves else []
        wanted.category = note.category
    held = restricted.restriction(cur, wanted.item)
    if held is None:
        return
    wanted.restricted = {"kind": held[0], "reason": held[3]}
    allowed = restricted.approval_in_force(cur, wanted.item, user, audit.EXPORT, now_ms)
    if allowed is not None:
        a = restricted.get(cur, allowed[0])
        wanted.approval = {
            "id": a.id,
            "action": a.action,
            "purpose": a.purpose,
            "requested_by": a.for_user,
            "granted_by": a.approved_by,
            "granted_ms": a.approved_ms,
            "until_ms": a.until_ms,
        }


@dataclass
class Options:
    out: Path
    force: bool = False
    place: str = ""
    purpose: str = ""
    from_ms: "int | None" = None  # a part of the (one) recording, in media time
    to_ms: "int | None" = None
    zone: str = localtime.DEFAULT_ZONE


@dataclass
class Made:
    """What ``build`` made: where, the manifest's SHA-256, the files and recordings."""

    out: Path
    manifest_sha256: str
    files: int
    bytes: int
    recordings: list
    package_id: str


def ledger_refusal(item: str, report: "Report") -> "Refused | None":
    """The refusal (not authentic, exit 1) of recording ``item`` whose span's verification
    gave ``report``, naming its first finding; None when the span is what the device
    signed."""
    from host.report_text import finding_text
    from protocol.verify import NOT_OK, UNKNOWN_KEY

    if report.state not in (NOT_OK, UNKNOWN_KEY):
        return None
    first = finding_text(report.findings[0]) if report.findings else i18n.verdict(report.state)
    return Refused(
        i18n.text("court.ledger_not_ok", item=item, state=i18n.verdict(report.state), first=first),
        NOT_AUTHENTIC,
    )


class _Log:
    """One snapshot of the host log: the tree, and where each leaf a package proves lies.

    Leaves are found by their RFC 6962 hash (the ``leaf`` column), so the leaves' data is
    never read: memory is the tree's hashes and an index of the kinds a package proves."""

    def __init__(self, store: "SqliteEvidenceStore") -> None:
        hashes: list = []
        self.index: dict = {}
        proven = (hostlog.ENTRY, hostlog.DEVICE, hostlog.AUDIT)
        with store.read() as cur:
            for idx, kind, leaf in cur.execute("SELECT idx, kind, leaf FROM log ORDER BY idx"):
                if idx != len(hashes):
                    raise PackageError(i18n.text("court.log_gap", idx=len(hashes)))
                leaf = bytes(leaf)
                hashes.append(leaf)
                if kind in proven:
                    self.index[leaf] = idx
            self.origin = hostlog.origin_of(store.log.store_id())
        self.tree = ProofTree(hashes)
        self.size = self.tree.size
        self.root = self.tree.root()

    def proof(self, leaf: bytes) -> "tuple[int, list[str]] | None":
        idx = self.index.get(tlog.leaf_hash(leaf))
        if idx is None:
            return None
        return idx, self.path(idx)

    def path(self, idx: int) -> "list[str]":
        return [h.hex() for h in self.tree.proof(idx)]


def _write(path: Path, data: bytes, sync: bool = True) -> None:
    """Write one file of the package, made durable now unless ``sync`` is false (then the
    caller makes it durable before the rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())


def _write_known(path: Path, data: bytes) -> tuple:
    """Write one file of the package; its (SHA-256 hex, size)."""
    _write(path, data)
    return hashlib.sha256(data).hexdigest(), len(data)


def _sha256_file(path: Path) -> tuple:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _mmss(ms: int) -> str:
    s = ms // 1000
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


class _Builder:
    def __init__(
        self, store: "SqliteEvidenceStore", root: Path, opts: Options, now_ms: int, extractor: dict
    ) -> None:
        self.store = store
        self.root = root
        self.opts = opts
        self.now_ms = now_ms
        self.extractor = extractor
        self.files: dict = {}  # path -> (category, format, what, what_zh)
        self.known: dict = {}  # path -> (SHA-256 hex, size) of what was written, as written
        self.unsigned: dict = {}  # path -> the unsigned parts of a file that holds chunks
        self.not_included: list = []
        self.log = _Log(store)
        self._spans: dict = {}  # (device, recording number) -> its span (host.spans.Span)
        # (device, recording number) -> its span's verification, in a worker beside the
        # media's copy (host.sigworker.LedgerWorker), until its verdict is taken.
        self._ledgers: dict = {}
        self._verdicts: dict = {}  # (device, recording number) -> the verdict taken
        # The proofs and the note's PDF are made beside the media's copy; the PDF's
        # library starts loading now.
        self.beside = Beside(_Shared(self.log, store))
        self.beside.submit(_warm_pdf)
        if not self.beside.forked:  # then at least the PDF library loads beside, in a thread
            import threading

            threading.Thread(target=warm_up, daemon=True).start()
        self._pending: dict = {}  # path -> the ticket of the job writing it beside
        # Files written here are made durable beside, a batch at a time (each fsync waits
        # for the disk, which the export keeps busy).
        self._unsynced: list = []
        self._syncing: list = []

    def sync_beside(self) -> None:
        """Make the files written so far durable, beside."""
        if self._unsynced:
            self._syncing.append(self.beside.submit(_sync_files, self._unsynced))
            self._unsynced = []

    def synced(self) -> None:
        """Wait until every file written here is durable."""
        self.sync_beside()
        for ticket in self._syncing:
            self.beside.result(ticket)
        self._syncing.clear()

    def add_beside(
        self, rel: str, ticket: int, category: str, fmt: str, what: str, zh: str
    ) -> None:
        """A file a job beside writes: its (SHA-256 hex, size) is that job's result."""
        self.files[rel] = (category, fmt, what, zh)
        self._pending[rel] = ticket

    def written(self) -> None:
        """Wait for the files written beside."""
        for rel, ticket in sorted(self._pending.items()):
            self.known[rel] = self.beside.result(ticket)
        self._pending.clear()

    def add(self, rel: str, data: bytes, category: str, fmt: str, what: str, zh: str) -> None:
        _write(self.root / rel, data, sync=False)
        self._unsynced.append(str(self.root / rel))
        self.files[rel] = (category, fmt, what, zh)
        self.known[rel] = (hashlib.sha256(data).hexdigest(), len(data))

    def spans_read(self, read: dict) -> None:
        """Take spans already read from this store (``{(device, number): host.spans.Span}``)."""
        self._spans.update(read)

    def span(self, device: str, number: int) -> "spans.Span | None":
        """Recording ``number``'s span of the device's ledger (``host.spans``): read by seq
        from the store, never the whole ledger; its ``entries`` empty when the store holds
        no such recording (its ``records``, what was read there, are verified all the
        same). None for a number no recording can have."""
        from host import spans

        if not 0 <= number < 1 << 64:
            return None
        if (device, number) not in self._spans:
            rec_id = number.to_bytes(8, "big")
            self._spans[(device, number)] = spans.read(self.store, device, rec_id)
        return self._spans[(device, number)]

    def entries(self, device: str, number: int) -> list:
        """The parsed entries of recording ``number``'s span (``span``); empty when the
        store holds no such recording."""
        span = self.span(device, number)
        return span.entries if span is not None else []

    # --- the span's verification, beside the media's copy ---

    def verify_beside(self, want: Wanted) -> None:
        """Start verifying ``want``'s span as an export does (every signature in it, every
        link, and the link into it from the entry before: ``spans.Span.resume``), in a
        worker process while the package copies its media; the verdict is taken by
        ``ledger_checked`` before the package is made final. A short span, or a process
        that may not fork, is verified here when the verdict is asked for."""
        from host.sigworker import LedgerWorker

        key = (want.device, want.number)
        span = self.span(want.device, want.number)
        if span is None or key in self._ledgers or key in self._verdicts:
            return
        public = self.store.device_key(want.device) or b""
        self._ledgers[key] = LedgerWorker(
            span.records, span.device_id, public, resume=span.resume, held_to=span.held_to
        )

    def ledger_checked(self, want: Wanted) -> str:
        """The verdict on ``want``'s span (waiting for its worker); Refused (not
        authentic, exit 1) when the span is not what the device signed: a record-start
        deleted or swapped, an entry changed, a signature or a link broken. Nothing of the
        package is then made final."""
        key = (want.device, want.number)
        if key not in self._verdicts:
            self.verify_beside(want)
            worker = self._ledgers.pop(key, None)
            if worker is None:  # a number no recording can have: nothing was read
                return ""
            try:
                report = worker.report()
            finally:
                worker.close()
            self._verdicts[key] = report
        report = self._verdicts[key]
        refused = ledger_refusal(want.item, report)
        if refused is not None:
            raise refused
        return str(report.state)

    def verdicts_taken(self, taken: dict) -> None:
        """Take verdicts already taken on spans of this store (``{(device, number): its
        verification's report}``: ``host.court.fromobjects``, beside the media's fetch)."""
        self._verdicts.update(taken)

    def close(self) -> None:
        """End the workers still verifying (their verdicts are no longer wanted)."""
        ledgers, self._ledgers = self._ledgers, {}
        for worker in ledgers.values():
            worker.close()
        self.beside.close()

    # --- devices ---

    def device(self, n: int, device: str) -> dict:
        public = self.store.device_key(device)
        if public is None:
            raise PackageError(i18n.text("court.no_device", device=device))
        key_file, enrol_file = "keys/d%02d.cose" % n, "keys/d%02d.json" % n
        self.add(
            key_file,
            encode_key(DeviceKey(device, public)),
            "device-key",
            "COSE_Key (Ed25519)",
            "the public key of recorder %s" % device,
            "执法记录仪 %s 的公钥" % device,
        )
        proven = self.log.proof(hostlog.device_leaf(device, public))
        if proven is None:
            raise PackageError(i18n.text("court.not_logged", what="device %s" % device))
        record = {
            "device": device,
            "public_key": public.hex(),
            "leaf_index": proven[0],
            "proof": proven[1],
            "tree_size": self.log.size,
        }
        self.add(
            enrol_file,
            _json(record),
            "enrolment",
            "JSON",
            "the host's enrolment of recorder %s's key, proven in its log" % device,
            "主机登记执法记录仪 %s 公钥的记录及其日志证明" % device,
        )
        return {
            "id": device,
            "key_file": key_file,
            "enrolment_file": enrol_file,
            "public_key": public.hex(),
            "fingerprint": public[:8].hex(),
        }

    # --- recordings ---

    def recording(self, n: int, want: Wanted, custody_rows: list) -> "tuple[dict, _Video | None]":
        """What the manifest says of recording ``want``, with every file of it written but
        an fMP4 recording's video: that one is exported later (``export``), which says
        where its chunks lie in the file. Its span's verification runs beside its media's
        copy (a raw recording's here, an fMP4 one's in ``export``), one recording's at a
        time; a recording the package cannot use is said only once that verdict is in, so a
        broken ledger (a record-start row deleted: "no such recording") is said first, as
        what it is."""
        try:
            return self._recording(n, want, custody_rows)
        except PackageError:
            self.ledger_checked(want)
            raise

    def _recording(self, n: int, want: Wanted, custody_rows: list) -> "tuple[dict, _Video | None]":
        from host.mp4export import recording_span

        d = "r%02d" % n
        entries = self.entries(want.device, want.number)
        rec_id = want.number.to_bytes(8, "big") if 0 <= want.number < 1 << 64 else b""
        span = recording_span(entries, rec_id) if rec_id else []
        if not span or span[0].fields.get(F_EVENT) != EV_RECORD_START:
            raise PackageError(i18n.text("court.no_recording", item=want.item))
        chunks = [e for e in span if e.kind == KIND_CHUNK and e.fields.get(F_RECORDING) == rec_id]
        if not [e for e in chunks if e.fields.get(F_MEDIA_TYPE) != MEDIA_MP4_INIT]:
            raise PackageError(i18n.text("court.no_footage", item=want.item))
        for e in chunks:
            if F_CIPHER_SHA in e.fields:
                raise PackageError(i18n.text("court.sealed", item=want.item))
        fmp4 = any(e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT for e in chunks)
        part = self._range(want, chunks)
        included = [
            e
            for e in chunks
            if part is None
            or e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT
            or part["first_seq"] <= e.seq <= part["last_seq"]
        ]
        self._deleted(want, included)
        self.add(
            "%s/entries.cbor" % d,
            b"".join(e.raw for e in span),
            "ledger",
            "CBOR sequence of COSE_Sign1",
            "recording %s's ledger entries, record-start to "
            "record-stop, as the device signed them" % want.item,
            "录像 %s 从开始到停止的设备签名记录" % want.item,
        )
        self._proofs(d, want, span)
        spoken = {e.fields.get(F_SPOKEN) for e in span if e.fields.get(F_SPOKEN)}
        video = None
        chunk_rows: list = []  # an fMP4 recording's: made by its export, which says where
        if fmp4:
            video = _Video(d, want, span, rec_id, included, chunks, spoken)
            self.files["%s/video.mp4" % d] = (
                "original",
                "MP4 (fragmented, H.264/H.265 + AAC): the signed fragments unchanged",
                "recording %s: the device's signed initialisation segment and fragments byte "
                "for byte (the original media), playable with sound, with pause subtitles"
                % want.item,
                "录像 %s：设备签名的原始片段逐字节首尾相接，可直接播放（含声音及中断字幕）"
                % want.item,
            )
        else:
            self.verify_beside(want)  # beside the copy of its chunks, next
            chunk_rows = _chunk_rows(chunks, self._raw(d, want, included, spoken), spoken)
        playable = None
        if fmp4 or (self.root / d / "video.mp4").exists():
            playable = {
                "file": "%s/video.mp4" % d,
                "kind": "signed-fragments" if fmp4 else "derivative",
            }
        custody_file = self._custody(d, want, custody_rows)
        approval_file = self._approval(d, want, custody_rows)
        start = span[0].fields
        stop = [
            e
            for e in span
            if e.fields.get(F_EVENT) == EV_RECORD_STOP and e.fields.get(F_RECORDING) == rec_id
        ]
        officers = [e.fields[F_OFFICER] for e in span if e.fields.get(F_OFFICER)]
        return {
            "item": want.item,
            "device": want.device,
            "number": want.number,
            "recording_id": rec_id.hex(),
            "dir": d,
            "entries_file": "%s/entries.cbor" % d,
            "proofs_file": "%s/proofs.json" % d,
            "custody_file": custody_file,
            "approval_file": approval_file,
            "officer": officers[0] if officers else None,
            "started_ms": start.get(F_WALL_MS),
            "ended_ms": stop[0].fields.get(F_WALL_MS) if stop else span[-1].fields.get(F_WALL_MS),
            "mode": "fmp4" if fmp4 else "raw",
            "first_seq": span[0].seq,
            "last_seq": span[-1].seq,
            "range": part,
            "playable": playable,
            "proves": list(want.proves),
            "category": want.category,
            "restricted": want.restricted,
            "chunks": chunk_rows,
            "pauses": _pauses(span, rec_id),
        }, video

    def export(self, rec: dict, video: "_Video") -> None:
        """Export ``video``'s recording into the package, and say where its chunks lie.
        Its span's verification starts now, beside the copy of its fragments: one worker at
        a time, however many recordings the package holds."""
        self.verify_beside(video.want)
        places = self._fmp4(video.d, video.want, video.span, video.rec_id, video.included)
        rec["chunks"] = _chunk_rows(video.chunks, places, video.spoken)

    def _range(self, want: Wanted, chunks: list) -> "dict | None":
        opts = self.opts
        if opts.from_ms is None and opts.to_ms is None:
            return None
        footage = [e for e in chunks if e.fields.get(F_MEDIA_TYPE) != MEDIA_MP4_INIT]
        t0 = min(e.fields[F_START_MS] for e in footage)
        lo = opts.from_ms or 0
        hi = opts.to_ms if opts.to_ms is not None else 1 << 62
        chosen = [
            e for e in footage if e.fields[F_START_MS] - t0 < hi and e.fields[F_END_MS] - t0 > lo
        ]
        if not chosen:
            length = max(e.fields[F_END_MS] for e in footage) - t0
            raise PackageError(i18n.text("court.range_empty", item=want.item, length=_mmss(length)))
        return {
            "first_seq": chosen[0].seq,
            "last_seq": chosen[-1].seq,
            "from_ms": lo,
            "to_ms": min(hi, max(e.fields[F_END_MS] for e in footage) - t0),
        }

    def _deleted(self, want: Wanted, included: list) -> None:
        from host import retention
        from protocol.ledger import media_digest

        gone = retention.deleted_note(self.store.query, [media_digest(e.fields) for e in included])
        if gone is not None:
            raise PackageError(retention.deleted_line(gone, want.number))

    def _proofs(self, d: str, want: Wanted, span: list) -> None:
        # Every entry is found in the log here (a missing one stops the package before its
        # media is copied); the proofs' paths are made and written beside.
        index = self.log.index
        places = []
        for e in span:
            idx = index.get(tlog.leaf_hash(hostlog.entry_leaf(want.device, e.seq, e.digest)))
            if idx is None:
                raise PackageError(
                    i18n.text("court.not_logged", what="%s seq %d" % (want.item, e.seq))
                )
            places.append((e.seq, idx))
        rel = "%s/proofs.json" % d
        self.add_beside(
            rel,
            self.beside.submit(_proofs_file, str(self.root / rel), places),
            "proof",
            "JSON",
            "inclusion proofs of recording %s's entries in the host log's checkpoint" % want.item,
            "录像 %s 各条记录在主机日志检查点中的包含证明" % want.item,
        )

    def _fmp4(self, d: str, want: Wanted, span: list, rec_id: bytes, included: list) -> dict:
        from host.mp4export import ChangedMedia, export_fmp4

        rel = "%s/video.mp4" % d
        (self.root / d).mkdir(parents=True, exist_ok=True)
        public = self.store.device_key(want.device) or b""
        try:
            facts = export_fmp4(
                self.store,
                want.device,
                public,
                self.entries(want.device, want.number),
                rec_id,
                included,
                self.root / rel,
                self.extractor["name"],
                now_ms=self.now_ms,
                # The span's verdict, taken once the fragments are copied and checked and
                # before the video is made final: its worker ran beside the copy.
                ledger=lambda: self.ledger_checked(want),
            )
        except ChangedMedia as exc:
            raise Refused(
                i18n.text("court.changed", item=want.item, seq=exc.seq), NOT_AUTHENTIC
            ) from None
        except Unusable:
            # The video cannot be made (media not synced, an unreadable initialisation
            # segment): a broken ledger is said first, as what it is (not authentic).
            self.ledger_checked(want)
            raise
        # Hashed as it was written (every fragment then read back and checked): no second read.
        size = (self.root / rel).stat().st_size
        self.known[rel] = (facts["file_sha256"], size)
        self.unsigned[rel] = _unsigned_parts(self.root / rel, size, facts)
        return {c["seq"]: (rel, c["offset"], c["bytes"]) for c in facts["chunks"]}

    def _raw(self, d: str, want: Wanted, included: list, spoken: set) -> dict:
        places = {}
        for e in included:
            digest = e.fields[F_PLAIN_SHA]
            path = self.store.media_file(digest)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise PackageError(
                    i18n.text("court.media_missing", item=want.item, seq=e.seq)
                ) from None
            if hashlib.sha256(data).digest() != digest:
                raise Refused(i18n.text("court.changed", item=want.item, seq=e.seq), NOT_AUTHENTIC)
            media = e.fields.get(F_MEDIA_TYPE)
            rel = "%s/media/%08d.%s" % (d, e.seq, EXTENSIONS.get(media, "bin"))
            self.add(
                rel,
                data,
                "original",
                MEDIA_NAMES.get(media, "media"),
                "recording %s, chunk seq %d: the original media as the device signed it"
                % (want.item, e.seq),
                "录像 %s 第 %d 号片段：设备签名的原始数据" % (want.item, e.seq),
            )
            places[e.seq] = (rel, 0, len(data))
            if media == MEDIA_PCM and e.digest in spoken:
                self._spoken_wav(d, want, e, data, included)
        # The span's verdict, its worker having run beside the copy: before the derivative
        # (made from that span) and before anything is made final.
        self.ledger_checked(want)
        if self.opts.from_ms is not None or self.opts.to_ms is not None:
            self.not_included.append(
                "%s: no playable video for a part of a raw recording; its chunks are in %s/media"
                % (want.item, d)
            )
            return places
        self._derivative(d, want)
        return places

    def _spoken_wav(self, d: str, want: Wanted, e: Entry, pcm: bytes, included: list) -> None:
        """The spoken reason after a pause as WAV, to listen to: the signed PCM chunk with
        a WAV header (its rate from the recording's PCM chunks)."""
        import io
        import wave

        from host.derivative import PCM_BYTES, pcm_rate

        rate = pcm_rate([c for c in included if c.fields.get(F_MEDIA_TYPE) == MEDIA_PCM])
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(PCM_BYTES)
            w.setframerate(rate)
            w.writeframes(pcm)
        self.add(
            "%s/spoken-%08d.wav" % (d, e.seq),
            out.getvalue(),
            "derivative",
            "WAV, 16-bit PCM, mono, %d Hz" % rate,
            "recording %s: the officer's spoken reason after a pause (chunk seq %d with a WAV "
            "header)" % (want.item, e.seq),
            "录像 %s：中断后执法人员口述的原因（第 %d 号片段加 WAV 文件头）" % (want.item, e.seq),
        )

    def _derivative(self, d: str, want: Wanted) -> None:
        from host.export import ExportError, NotAuthentic, export_recording

        out = self.root / d / "video.mp4"
        try:
            export_recording(
                str(self.store.root),
                want.device,
                want.number,
                str(out),
                self.extractor["name"],
                now_ms=self.now_ms,
                media=getattr(self.store, "media_url", None),  # a scale-out store's bucket
                # The span read and verified here: neither is done again.
                span=self.span(want.device, want.number),
                verdict=lambda: self.ledger_checked(want),
            )
        except NotAuthentic as exc:
            raise Refused(str(exc), NOT_AUTHENTIC) from None
        except ExportError as exc:
            self.not_included.append("%s: no playable video (%s)" % (want.item, exc))
            return
        finally:
            Path(str(out) + ".json").unlink(missing_ok=True)
        self.files["%s/video.mp4" % d] = (
            "derivative",
            "MP4, H.264 + AAC (re-encoded for viewing)",
            "recording %s re-encoded for viewing (not the signed bytes: those are in %s/media)"
            % (want.item, d),
            "录像 %s 为便于播放而转码的副本（非签名原始数据，原始数据见 %s/media）"
            % (want.item, d),
        )

    def _custody(self, d: str, want: Wanted, rows: list) -> str:
        from host import audit
        from protocol import cbor

        records = []
        for row in rows:
            leaf = audit.leaf_of(row)
            proven = self.log.proof(leaf)
            if proven is None:  # newer than this snapshot of the log
                continue
            try:
                details = audit._plain(cbor.loads(bytes(row[6])))
            except Exception:  # an undecodable blob: its leaf still proves what it is
                details = {"undecodable": bytes(row[6]).hex()}
            records.append(
                {
                    "seq": row[0],
                    "at_ms": row[1],
                    "at": localtime.show(row[1], self.opts.zone),
                    "actor": row[2],
                    "action": row[3],
                    "item": row[4],
                    "outcome": row[5],
                    "details": details,
                    "leaf": leaf.hex(),
                    "leaf_index": proven[0],
                    "proof": proven[1],
                }
            )
        rel = "%s/custody.json" % d
        body = {"item": want.item, "tree_size": self.log.size, "records": records}
        self.add(
            rel,
            _json(body),
            "custody",
            "JSON",
            "recording %s's chain of custody from the audit trail, each record proven" % want.item,
            "录像 %s 的保管链（审计记录），每条均有日志证明" % want.item,
        )
        return rel

    def _approval(self, d: str, want: Wanted, rows: list) -> "str | None":
        if want.restricted is None:
            return None
        from host import audit
        from protocol import cbor

        approval = want.approval or {}
        seqs = []
        for row in rows:
            if row[3] not in (audit.REQUEST_APPROVAL, audit.APPROVE):
                continue
            try:
                details = cbor.loads(bytes(row[6]))
            except Exception:  # not one of ours to read
                continue
            if isinstance(details, dict) and details.get("approval") == approval.get("id"):
                seqs.append(row[0])
        rel = "%s/approval.json" % d
        body = {
            "item": want.item,
            "restriction": want.restricted,
            "approval": approval,
            "audit_seqs": seqs,
        }
        self.add(
            rel,
            _json(body),
            "approval",
            "JSON",
            "the approval in force to export restricted recording %s" % want.item,
            "导出涉密/隐私录像 %s 的有效审批" % want.item,
        )
        return rel


class _Video:
    """An fMP4 recording's video, to be exported into the package."""

    def __init__(
        self, d: str, want: Wanted, span: list, rec_id: bytes, included: list, chunks: list,
        spoken: set,
    ) -> None:  # fmt: skip
        self.d, self.want, self.span, self.rec_id = d, want, span, rec_id
        self.included, self.chunks, self.spoken = included, chunks, spoken


def _chunk_rows(chunks: list, places: dict, spoken: set) -> list:
    rows = []
    for e in chunks:
        where = places.get(e.seq)
        media = e.fields.get(F_MEDIA_TYPE)
        role = (
            "init"
            if media == MEDIA_MP4_INIT
            else "spoken-reason"
            if e.digest in spoken
            else "audio"
            if media in AUDIO
            else "footage"
        )
        rows.append(
            {
                "seq": e.seq,
                "index": e.fields.get(F_CHUNK_INDEX),
                "media": MEDIA_NAMES.get(media, str(media)),
                "sha256": e.fields[F_PLAIN_SHA].hex(),
                "role": role,
                "included": where is not None,
                "file": where[0] if where else None,
                "offset": where[1] if where else None,
                "bytes": where[2] if where else None,
            }
        )
    return rows


NOTE_PDF = ("note", "PDF", "the written note as PDF", "文字说明材料（PDF）")


def _pauses(span: list, rec_id: bytes) -> list:
    from host.mp4export import origin_mono, pauses
    from protocol.registry import F_MONO_MS, F_REASON, PAUSE_NAMES

    seq_of = {e.digest: e.seq for e in span}
    origin = origin_mono(span)
    out = []
    for pause, end in pauses(span, rec_id):
        code = pause.fields.get(F_REASON)
        spoken = end.fields.get(F_SPOKEN) if end is not None else None
        end_mono = (end or span[-1]).fields[F_MONO_MS]
        out.append(
            {
                "pause_seq": pause.seq,
                "end_seq": end.seq if end is not None else None,
                "reason": PAUSE_NAMES.get(code, "none") if isinstance(code, int) else "none",
                "reason_code": code if isinstance(code, int) else None,
                "from_ms": max(0, pause.fields[F_MONO_MS] - origin),
                "to_ms": max(0, end_mono - origin),
                "spoken_seq": seq_of.get(spoken) if spoken else None,
            }
        )
    return out


def _json(value: object) -> bytes:
    return signed_manifest.pretty_json(value)


README = """sealcam 法庭证据包 / sealcam court package

核验方法 How to check it:
1. 用浏览器（Chrome、Edge、Firefox 等）打开本光盘上的 verify.html，点击"选择文件夹"，
   选择本证据包所在的文件夹。无需联网，无需安装。
   Open verify.html from this disc in a browser, press "choose folder" and choose this
   package's folder. No network, nothing to install.
2. 或者在终端运行 / or, in a terminal:  python3 verify.py
   （需要 Python 3.10+ 与 PyNaCl：pip install pynacl / needs Python 3.10+ and PyNaCl）

结果为"通过 OK"或"不通过 NOT OK"，并指明出问题的文件或录像。
The result is OK, or NOT OK naming each file or recording that failed.

主机密钥指纹 Host key fingerprint: {fingerprint}
请与执法机关公布的密钥指纹核对。Compare it with the fingerprint the agency publishes.
"""


def build(
    store: "SqliteEvidenceStore",
    wanted: "list[Wanted]",
    case: "dict | None",
    extractor: dict,
    signer: "NoteSigner",
    kid: str,
    opts: Options,
    now_ms: int,
    spans_read: "dict | None" = None,
    verdicts: "dict | None" = None,
) -> Made:
    """Write the package of ``wanted`` to ``opts.out``; see the module's docstring.
    ``spans_read``: ``{(device, recording number): its span (host.spans.Span)}`` already
    read from this store (``host.court.fromobjects``), so they are not read again; each is
    verified here all the same, unless ``verdicts`` holds its verification's report
    (``{(device, recording number): protocol.verify.Report}``), taken beside the fetch of
    its media.

    PackageError (exit 2) for input that cannot make a package, Refused (exit 1) for
    stored footage that is not what its device signed; either leaves nothing behind."""
    out = opts.out
    if not wanted:
        raise PackageError(i18n.text("court.nothing"))
    if out.exists() and not opts.force:
        raise PackageError(i18n.text("court.out_exists", out=out))
    if out.exists() and not out.is_dir():
        raise PackageError(i18n.text("court.out_not_folder", out=out))
    parent = out.resolve().parent
    if not parent.is_dir():
        raise PackageError(i18n.text("court.no_parent", parent=parent))
    if (opts.from_ms is not None or opts.to_ms is not None) and len(wanted) != 1:
        raise PackageError(i18n.text("court.range_one"))
    tmp = parent / (".%s.partial-%d" % (out.name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        made = _build(store, wanted, case, extractor, signer, kid, opts, now_ms, tmp,
                      spans_read, verdicts)  # fmt: skip
        _durable(tmp)
        _into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise PackageError(i18n.text("court.no_space", out=out)) from None
        raise PackageError(i18n.text("court.os_error", out=out, problem=exc)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    made.out = out
    return made


def _build(
    store: "SqliteEvidenceStore",
    wanted: "list[Wanted]",
    case: "dict | None",
    extractor: dict,
    signer: "NoteSigner",
    kid: str,
    opts: Options,
    now_ms: int,
    tmp: Path,
    spans_read: "dict | None" = None,
    verdicts: "dict | None" = None,
) -> Made:
    b = _Builder(store, tmp, opts, now_ms, extractor)
    b.spans_read(spans_read or {})
    b.verdicts_taken(verdicts or {})
    try:
        return _build_with(b, store, wanted, case, signer, kid, opts, now_ms, tmp)
    finally:
        b.close()


def _build_with(
    b: _Builder,
    store: "SqliteEvidenceStore",
    wanted: "list[Wanted]",
    case: "dict | None",
    signer: "NoteSigner",
    kid: str,
    opts: Options,
    now_ms: int,
    tmp: Path,
) -> Made:
    extractor = b.extractor
    public = signer.public_key()
    cp = tlog.Checkpoint(b.log.origin, b.log.size, b.log.root)
    b.add(
        "host/checkpoint.txt",
        tlog.sign_checkpoint(cp, kid, signer),
        "checkpoint",
        "C2SP signed note (tlog-checkpoint)",
        "the host log's checkpoint, signed with the host key when the package was made",
        "主机日志检查点，制作证据包时以主机密钥签名",
    )
    b.add(
        "host/host-key.txt",
        (tlog.verifier_key(kid, public) + "\n").encode(),
        "host-key",
        "C2SP verifier key",
        "the host key that signs the checkpoint and the manifest",
        "签署检查点和清单的主机公钥",
    )
    devices: list = []
    for want in wanted:
        if want.device not in [d["id"] for d in devices]:
            devices.append(b.device(len(devices) + 1, want.device))
    custody = _custody_rows(store, [w.item for w in wanted])
    made = [b.recording(n, w, custody.get(w.item, [])) for n, w in enumerate(wanted, 1)]
    recordings = [rec for rec, _video in made]
    b.add(
        "verify.py",
        VERIFIER_SCRIPT.read_bytes(),
        "verifier",
        "Python 3 script",
        "the verifier for a terminal: python3 verify.py (standard library and PyNaCl)",
        "终端核验脚本：python3 verify.py（需 Python 标准库与 PyNaCl）",
    )
    page = _verifier_page()
    if page is not None:
        b.add(
            "verify.html",
            page,
            "verifier",
            "HTML",
            "the offline verifier page: open it in a browser and choose this folder",
            "离线核验页面：用浏览器打开并选择本文件夹",
        )
    else:
        b.not_included.append("verify.html: this sealcam has no offline verifier page built")
    b.add(
        "readme.txt",
        README.format(fingerprint=public[:8].hex()).encode(),
        "verifier",
        "text",
        "how to check the package",
        "核验方法说明",
    )
    manifest: dict[str, Any] = {
        "format": signed_manifest.FORMAT,
        "version": signed_manifest.VERSION,
        "package_id": os.urandom(16).hex(),
        "created_ms": now_ms,
        "created": localtime.show(now_ms, opts.zone),
        "time_zone": opts.zone,
        "tool": _tool(),
        "case": case,
        "extractor": extractor,
        "place": opts.place,
        "purpose": opts.purpose,
        "host": {
            "key_file": "host/host-key.txt",
            "name": kid,
            "public_key": public.hex(),
            "fingerprint": public[:8].hex(),
        },
        "checkpoint": {
            "file": "host/checkpoint.txt",
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.hex(),
        },
        "devices": devices,
        "recordings": recordings,
        "not_included": b.not_included,
    }
    # The videos' exports take most of the time; the proofs, the fsyncs of the files written
    # so far and the PDF library's loading are done beside them. The note lists the videos'
    # SHA-256, known only once they are written, so its PDF is laid out after them (beside,
    # where the library is loaded).
    b.sync_beside()
    for rec, video in made:
        if video is not None:
            b.export(rec, video)
    b.written()
    html = note_html(manifest, _listing(tmp, b.files, b.known, b.unsigned))
    b.add_beside("note.pdf", b.beside.submit(_pdf_file, str(tmp / "note.pdf"), html), *NOTE_PDF)
    b.add(
        "note.html",
        html.encode("utf-8"),
        "note",
        "HTML",
        "the written note: maker, extractor, time and place, case, files (Chinese, English)",
        "文字说明材料：制作人、提取人、提取时间地点、案件、文件清单（中英文）",
    )
    # While the PDF is made, the manifest's largest part (the chunk rows) is encoded.
    ahead = signed_manifest.Ahead(manifest, ("recordings",))
    b.written()
    b.synced()
    manifest["files"] = _listing(tmp, b.files, b.known, b.unsigned)
    signed = signed_manifest.sign(manifest, signer, kid, ahead)
    _write(tmp / "manifest.cbor", signed)
    _write(tmp / "manifest.json", signed_manifest.as_json(manifest, ahead))
    total = sum(f["bytes"] for f in manifest["files"])
    return Made(
        tmp,
        hashlib.sha256(signed).hexdigest(),
        len(manifest["files"]) + 2,
        total,
        [r["item"] for r in recordings],
        manifest["package_id"],
    )


def _listing(root: Path, files: dict, known: dict, unsigned: dict) -> list:
    """The manifest's file rows."""
    rows = []
    for rel in sorted(files):
        category, fmt, what, zh = files[rel]
        if rel not in known:
            known[rel] = _sha256_file(root / rel)
        digest, size = known[rel]
        row = {
            "path": rel,
            "category": category,
            "format": fmt,
            "bytes": size,
            "sha256": digest,
            "what": what,
            "what_zh": zh,
        }
        if rel in unsigned:
            row["unsigned"] = unsigned[rel]
        rows.append(row)
    return rows


def _unsigned_parts(path: Path, size: int, facts: dict) -> list:
    """The byte ranges of an fMP4 export that no signed chunk covers (the pause subtitles,
    the evidence box), each with its SHA-256: with the chunks' signed hashes they cover
    every byte of the file once, so a verifier can check the file without hashing it whole
    a second time (docs/court-package.md, step 3). Read back from the written file: they
    are small, and what is listed is what lies there."""
    names = {}
    for key, what in (
        ("pause_notes_fragment", "pause subtitles"),
        ("evidence_box", "evidence box"),
    ):
        at = facts.get(key)
        if at is not None:
            names[at["offset"]] = what
    covered = sorted((c["offset"], c["bytes"]) for c in facts["chunks"])
    gaps = []
    pos = 0
    for offset, length in [*covered, (size, 0)]:
        # A gap is cut where a part the export names starts: one part, one hash.
        cuts = sorted(at for at in names if pos < at < offset)
        for lo, hi in zip([pos, *cuts], [*cuts, offset], strict=True):
            if hi > lo:
                gaps.append((lo, hi - lo))
        pos = max(pos, offset + length)
    parts = []
    with open(path, "rb") as fh:
        for offset, length in gaps:
            fh.seek(offset)
            data = fh.read(length)
            parts.append(
                {
                    "offset": offset,
                    "bytes": length,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "what": names.get(offset, "unsigned bytes"),
                }
            )
    return parts


def _custody_rows(store: "SqliteEvidenceStore", item_ids: list) -> dict:
    """Every audit row about each item (none in a store without an audit trail)."""
    import sqlite3

    from host import audit

    out: dict = {}
    try:
        with store.read() as cur:
            for item in item_ids:
                out[item] = cur.execute(
                    "SELECT %s FROM audit WHERE item = ? ORDER BY seq" % audit.COLUMNS, (item,)
                ).fetchall()
    except sqlite3.OperationalError:  # no audit table: a store before accounts
        return {}
    return out


# Jobs done beside (``host.court.beside``), each given what the process was forked with.


@dataclass
class _Shared:
    log: _Log
    store: "SqliteEvidenceStore"  # only to name its files: the process beside has no database


def _warm_pdf(_shared: _Shared) -> None:
    warm_up()


def _proofs_file(shared: _Shared, path: str, places: list) -> tuple:
    """``proofs.json``: the inclusion proof of each entry (seq, leaf index) in the log."""
    log = shared.log
    rows = [{"seq": seq, "leaf_index": idx, "proof": log.path(idx)} for seq, idx in places]
    body = {"tree_size": log.size, "root": log.root.hex(), "entries": rows}
    return _write_known(Path(path), _json(body))


def _sync_files(_shared: _Shared, paths: list) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pdf_file(_shared: _Shared, path: str, html: str) -> tuple:
    return _write_known(Path(path), note_pdf(html))


def _verifier_page() -> "bytes | None":
    """The offline verifier page (``host.court.verifier``: its scripts inlined into one
    self-contained file), or None where this sealcam has none."""
    try:
        from host.court.verifier import page_html
    except ImportError:
        return None
    return page_html().encode("utf-8")


def _tool() -> str:
    from host.mp4export import tool_version

    return tool_version()


def _durable(root: Path) -> None:
    for top, dirs, _files in os.walk(root):
        fsync_dir(Path(top))
        dirs.sort()


def _into_place(tmp: Path, out: Path) -> None:
    """Rename the finished package to ``out``; an old one (``--force``) goes only now."""
    old = None
    if out.exists():
        old = out.with_name(".%s.old-%d" % (out.name, os.getpid()))
        os.replace(out, old)
    os.replace(tmp, out)
    fsync_dir(out.resolve().parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
