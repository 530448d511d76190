"""The store's check for one period: what the violations report needs of it, without
verifying every signature and hashing every file of the store again.

Every entry in the store was verified against its device's key and chain when it arrived
(a dock that offers anything else is refused, and the refusal is recorded as its session),
and the store's own check (``host.verify_store``: each row against the host's signed log)
proves that no row changed since. So while that check is clean, a ledger's signatures need
no second look. What remains for a period is what can change after arrival, or what arrival
cannot see: seqs the store lacks between those it holds, the media of the period's chunks
(hashed again: a file can be changed behind the database), what devices reported gone, and
the compliance flags (parsed from the stored entries, not verified). When the store's own
check finds it changed, nothing stored can be trusted: every ledger is verified again, as
``sealcam verify`` does (``host.checkup.check_evidence``).

The result is a ``host.checkup.Checkup`` holding the devices with entries in the period; its
findings are those the whole check would give for the period (``host.violations`` keeps
the ones whose entry lies in it).
"""

from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from host import compliance
from host.checkup import UNREADABLE, Checkup, DeviceCheck, check_evidence
from host.errors import Unusable
from host.evidence import EvidenceError, SqliteEvidenceStore
from host.report_text import finding_text
from host.verify_store import StoreUnusable, check_store
from protocol.errors import ProtocolError
from protocol.ledger import media_digest, parse_entry
from protocol.messages import GONE_DAMAGED
from protocol.registry import KIND_CHUNK
from protocol.verify import OK, Finding, Report

if TYPE_CHECKING:
    from host.pgstore import PgEvidenceStore


class PeriodReads(Protocol):
    """What the period's check reads of a store (``SqliteEvidenceStore``, or
    ``ScaleoutReads`` over the scale-out one)."""

    def query(self, sql: str, params: tuple = ()) -> list: ...

    def gone_media(self, device_id: str) -> list: ...

    def has_media(self, digest: bytes) -> bool: ...

    def read_media(self, digest: bytes) -> bytes: ...

    def check_media(self, entries: list) -> list: ...


def check_period(
    root: Path, since_ms: int, until_ms: int, policy: "compliance.Policy | None" = None
) -> Checkup:
    """The check of the store at ``root`` for entries whose wall time lies in
    [since_ms, until_ms); see the module's docstring."""
    policy = policy or compliance.Policy()
    try:
        whole = check_store(root)
    except StoreUnusable as exc:  # one line, in the reader's language
        raise Unusable(finding_text(exc)) from None
    if not whole.ok or any(f.code in UNREADABLE for f in whole.findings):
        return check_evidence(root, policy=policy)
    store = SqliteEvidenceStore(root, readonly=True)
    try:
        checks = []
        for device in store.devices():
            found = _device(store, device, since_ms, until_ms, policy, whole.deleted_media)
            if found is not None:
                checks.append(found)
    finally:
        store.close()
    return Checkup(whole, checks)


def check_scaleout_period(
    store: "PgEvidenceStore",
    since_ms: int,
    until_ms: int,
    policy: "compliance.Policy | None" = None,
) -> Checkup:
    """``check_period`` of the scale-out store: its own check (``host.pgverify``: the log,
    the rows it covers, every ledger against its key, every object) as the store's
    findings, and the objects retention removed lawfully (``removed_by_retention``), then
    each device's findings for the period, as for the embedded store."""
    from host import pgverify
    from host.verify_store import StoreReport

    policy = policy or compliance.Policy()
    checked = pgverify.check(store)
    whole = StoreReport()
    for code, message in checked.findings:
        whole.add(code, message)
    whole.deleted_media.update(removed_by_retention(store))
    reads = ScaleoutReads(store)
    checks = []
    for device in store.devices():
        found = _device(reads, device, since_ms, until_ms, policy, whole.deleted_media)
        if found is not None:
            checks.append(found)
    return Checkup(whole, checks)


def removed_by_retention(store: "PgEvidenceStore") -> "dict[bytes, str]":
    """digest -> item of each object retention removed from the scale-out store, named as
    the embedded store's check names the files it removed (``StoreReport.deleted_media``):
    an object the store records removed (``media_locks``) whose deletion the audit trail
    shows requested, approved by someone else and done after its grace period
    (``host.verify_store.authorised_deletions``). An object removed without that is no
    lawful deletion: the period's check reports its chunk's media missing."""
    from host.sqlstore import has_table
    from host.verify_store import authorised_deletions

    with store.read() as cur:
        if not (has_table(cur, "audit") and has_table(cur, "media_locks")):
            return {}
        removed = {
            bytes(r[0])
            for r in cur.execute("SELECT digest FROM media_locks WHERE removed_ms IS NOT NULL")
        }
        if not removed:
            return {}
        allowed = authorised_deletions(cur)
    return {digest: why[0] for digest, why in allowed.items() if digest in removed}


class ScaleoutReads:
    """``PeriodReads`` of the scale-out store: its SQL through ``host.sqlstore``, and a
    chunk's media missing where no object is recorded for it (an object is checked against
    its checksum by the store when put, and is write-once after: ``host.pgverify`` reads
    every one)."""

    def __init__(self, store: "PgEvidenceStore") -> None:
        self.store = store

    def query(self, sql: str, params: tuple = ()) -> list:
        with self.store.read() as cur:
            return cur.execute(sql, params).fetchall()

    def gone_media(self, device_id: str) -> list:
        return self.store.gone_media(device_id)

    def has_media(self, digest: bytes) -> bool:
        return self.store.has_media(digest)

    def read_media(self, digest: bytes) -> bytes:
        return self.store.read_media(digest)

    def check_media(self, entries: list) -> list:
        return [
            (e.seq, "missing")
            for e in entries
            if e.kind == KIND_CHUNK and not self.store.has_media(media_digest(e.fields))
        ]


def _device(
    store: PeriodReads,
    device: str,
    since_ms: int,
    until_ms: int,
    policy: compliance.Policy,
    deleted: "dict[bytes, str]",
) -> "DeviceCheck | None":
    """One device's findings that concern the period, or None when no entry of it lies
    in the period."""
    lo, hi = store.query(
        "SELECT min(seq), max(seq) FROM entries WHERE device_id = ? AND wall_ms >= ? "
        "AND wall_ms < ?",
        (device, since_ms, until_ms),
    )[0]
    if lo is None:
        return None
    rows = store.query(
        "SELECT seq, raw, received_ms FROM entries WHERE device_id = ? ORDER BY seq", (device,)
    )
    entries = []
    received = {}
    for seq, raw, at in rows:
        received[seq] = at
        try:
            entries.append(parse_entry(bytes(raw)))
        except ProtocolError:  # arrival verified it, the store's check holds the row: unseen
            continue
    findings = _gaps([r[0] for r in rows])
    gone = [g for g in store.gone_media(device) if not store.has_media(g["digest"])]
    flags = compliance.check(entries, received, policy, gone, _media_reader(store))
    in_period = [e for e in entries if lo <= e.seq <= hi]
    for seq, problem in store.check_media(in_period):
        digest = next(media_digest(e.fields) for e in in_period if e.seq == seq)
        if problem == "missing" and digest in deleted:
            # Deleted by an approved retention deletion: the store's findings say by whom.
            findings.append(Finding("media-missing", "deleted by retention", seq))
            continue
        findings.append(Finding("media-" + problem, "chunk media " + problem, seq))
    for chunk, reason, _ in compliance.gone_chunks(entries, gone):
        if reason == GONE_DAMAGED and lo <= chunk.seq <= hi:
            findings.append(Finding("media-damaged-on-device", "damaged on the device", chunk.seq))
    return DeviceCheck(device, Report(OK, device, findings, {}), flags, [])


def _gaps(seqs: "list[int]") -> "list[Finding]":
    """A seq-gap finding at the first seq of every run the store lacks between two it
    holds (the verifier's finding; arrival refuses a chain that does not join)."""
    out = []
    for before, after in pairwise(seqs):
        if after > before + 1:
            out.append(Finding("seq-gap", "seqs %d to %d missing" % (before + 1, after - 1),
                               before + 1))  # fmt: skip
    return out


def _media_reader(store: PeriodReads) -> "compliance.MediaReader":
    def read(digest: bytes) -> "bytes | None":
        try:
            return store.read_media(digest)
        except EvidenceError:
            return None

    return read
