"""The violations report: everything the rules forbid, per unit and officer, for a period
(R-HOST-10; 000 §16, 002 §20, 003 §17, 004 §21).

What the regulations name, and where the store shows it:

- not recording when required: a case of a type that requires footage with none linked
  (``host.cases``), and a no-record work record that does not say why (R-DEV-11,
  ``host.shiftevents``);
- deleting or altering: the store's own check against its log (``host.verify_store``: rows
  gone or changed), each device's verification (entries missing or out of their chain,
  media changed here or on the device, media gone without an approved deletion), a forked
  ledger refused at a dock, and media a device freed before the host had it or before the
  retention floor (early eviction, ``host.compliance``);
- leaking: refused attempts to take restricted footage out, and a copy, showing, loan or
  publication of restricted footage with no approval on its record (``host.restricted``
  and the audit trail);
- fabricating: entries that do not verify with the device's key, or that a dock refused
  (forged or refused entries);
- loss: a device reported lost or not returned, footage from the wrong officer or from a
  lost or retired device (``host.registers``), footage lost on the device;
- late upload: footage that reached the store later than the policy allows (R-HOST-1).

Each ``Violation`` names its evidence (the item, the device and seq, the audit record, the
case, the session) and the rule it breaks, and reads in the reader's language
(``violation_text``: catalogue area ``review``). The checks of the ledgers come from a
``host.checkup.Checkup`` the caller made (it reads the store on its own connection); the
rest is read through the caller's cursor.
"""

import bisect
import csv
import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host import (
    audit,
    cases,
    i18n,
    items,
    localtime,
    registers,
    restricted,
    settings,
    shiftevents,
)
from protocol.errors import ProtocolError
from protocol.ledger import media_digest, parse_entry
from protocol.registry import F_KIND, F_OFFICER, KIND_CHUNK

if TYPE_CHECKING:
    from collections.abc import Callable

    from host.checkup import Checkup
    from host.sqlstore import Cursor

# What the rules name (the catalogue: ``violation.kind.NAME``).
NOT_RECORDED = "not-recorded"
ALTERED = "deleted-or-altered"
LEAKED = "leaked"
FABRICATED = "fabricated"
LOSS = "loss"
LATE = "late-upload"
KINDS = (NOT_RECORDED, ALTERED, LEAKED, FABRICATED, LOSS, LATE)
KIND_TEXT = {
    NOT_RECORDED: i18n.N_("violation.kind.not-recorded"),
    ALTERED: i18n.N_("violation.kind.deleted-or-altered"),
    LEAKED: i18n.N_("violation.kind.leaked"),
    FABRICATED: i18n.N_("violation.kind.fabricated"),
    LOSS: i18n.N_("violation.kind.loss"),
    LATE: i18n.N_("violation.kind.late-upload"),
}

# Each finding's code: its kind, the rule it breaks, and its sentence in the catalogue
# (``violation.CODE``, fields named in ``Violation.fields``).
CODES = {
    "case-not-recorded": (NOT_RECORDED, "R-HOST-10"),
    "no-record-without-reason": (NOT_RECORDED, "R-DEV-11"),
    "store-altered": (ALTERED, "R-HOST-5"),
    "ledger-altered": (ALTERED, "R-DEV-2"),
    "media-altered": (ALTERED, "R-HOST-5"),
    "media-damaged-on-device": (ALTERED, "R-DEV-2"),
    "media-missing": (ALTERED, "R-HOST-5"),
    "ledger-forked": (ALTERED, "R-DEV-2"),
    "early-eviction": (ALTERED, "R-DEV-4"),
    "leak-attempt": (LEAKED, "R-HOST-6"),
    "left-without-approval": (LEAKED, "R-HOST-6"),
    "entries-forged": (FABRICATED, "R-DEV-2"),
    "entries-refused": (FABRICATED, "R-DEV-2"),
    "device-lost": (LOSS, "R-HOST-10"),
    "device-not-returned": (LOSS, "R-HOST-10"),
    "footage-wrong-officer": (LOSS, "R-HOST-8"),
    "footage-from-lost-device": (LOSS, "R-HOST-8"),
    "footage-from-retired-device": (LOSS, "R-HOST-8"),
    "footage-lost-on-device": (LOSS, "R-DEV-4"),
    "late-upload": (LATE, "R-HOST-1"),
}
CODE_TEXT = {code: "violation." + code for code in CODES}  # ids built here; tests list them

# The registers' finding kinds (host.registers.DeviceFinding.kind) and their codes here.
_DEVICE_KINDS = {
    "lost": "device-lost",
    "not-returned": "device-not-returned",
    "wrong-officer": "footage-wrong-officer",
    "lost-docked": "footage-from-lost-device",
    "retired-docked": "footage-from-retired-device",
}
# The verifier's finding codes (protocol.verify) and theirs here.
_VERIFY_CODES = {
    "seq-gap": "ledger-altered",
    "broken-prev": "ledger-altered",
    "out-of-order": "ledger-altered",
    "duplicate": "ledger-altered",
    "conflicting-seq": "ledger-altered",
    "media-altered": "media-altered",
    "media-damaged-on-device": "media-damaged-on-device",
    "media-missing": "media-missing",
    "bad-signature": "entries-forged",
    "wrong-device": "entries-forged",
    "key-change": "entries-forged",
    "unsigned-entry": "entries-forged",
    "malformed": "entries-refused",
    "bad-field": "entries-refused",
}
# The compliance flags (host.compliance) and theirs here; seq-gap is the verifier's.
_FLAG_CODES = {
    "eviction-before-receipt": "early-eviction",
    "eviction-too-young": "early-eviction",
    "media-lost-on-device": "footage-lost-on-device",
    "late-upload": "late-upload",
}


@dataclass(frozen=True)
class Violation:
    """One finding of the report. ``officer`` is the officer id it concerns (the footage's,
    or the officer's account that acted), ``actor`` the user who acted (audit findings),
    ``unit`` the officer's unit; the evidence: ``item``, ``device`` and ``seq``,
    ``audit_seq``, ``case``, ``session`` (the dock's end time); ``fields`` fill the
    sentence."""

    code: str
    at_ms: int
    unit: "str | None" = None
    officer: "str | None" = None
    actor: "str | None" = None
    item: "str | None" = None
    device: "str | None" = None
    seq: "int | None" = None
    audit_seq: "int | None" = None
    case: "str | None" = None
    fields: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return CODES[self.code][0]

    @property
    def rule(self) -> str:
        return CODES[self.code][1]

    @property
    def store_wide(self) -> bool:
        """A finding of the store's check of itself: it concerns the store, not an officer."""
        return self.code == "store-altered"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "scope": "store" if self.store_wide else "officer",
            "code": self.code,
            "rule": self.rule,
            "under": "R-HOST-10",
            "at_ms": self.at_ms,
            "unit": self.unit,
            "officer": self.officer,
            "actor": self.actor,
            "evidence": {
                "item": self.item,
                "device": self.device,
                "seq": self.seq,
                "audit_seq": self.audit_seq,
                "case": self.case,
            },
            "fields": dict(self.fields),
            # For machines: the sentence in English, whatever the reader's language.
            "message": violation_text(self, i18n.EN),
        }


def violation_text(v: Violation, lang: "str | None" = None) -> str:
    """The finding as a person reads it, in ``lang`` (default: the language in force)."""
    values: dict[str, object] = {
        "item": v.item or "-",
        "device": v.device or "-",
        "seq": "-" if v.seq is None else v.seq,
        "audit": "-" if v.audit_seq is None else v.audit_seq,
        "case": v.case or "-",
        "actor": v.actor or "-",
        "officer": v.officer or "-",
        **{k: _said(x) for k, x in v.fields.items()},
    }
    values.pop("lang", None)  # text's own argument, never a field
    msg_id = CODE_TEXT[v.code]
    if v.code == "footage-wrong-officer" and v.fields.get("holder") in (None, "-"):
        msg_id = _WRONG_OFFICER_NOBODY  # nobody held the device: no name to give
    return i18n.text(msg_id, lang, **values)


_WRONG_OFFICER_NOBODY = i18n.N_("violation.footage-wrong-officer.nobody")


def _said(value: object) -> object:
    if isinstance(value, list):
        return ", ".join(str(x) for x in value)
    return value


# --- reading each source --------------------------------------------------------------------


def unit_reader(cur: "Cursor") -> "Callable[[str | None], str | None]":
    """An officer's unit (``host.registers.unit_of``), looked up once per officer."""
    known: dict = {}

    def unit_of(officer: "str | None") -> "str | None":
        if officer is None:
            return None
        if officer not in known:
            known[officer] = registers.unit_of(cur, officer)
        return known[officer]

    return unit_of


def not_recorded(cur: "Cursor", since_ms: int, until_ms: int) -> "list[Violation]":
    """Cases that happened in the period, of a type that requires footage, with none; and
    no-record work records of the period that do not say why."""
    out = []
    for case, _ in cases.find(cur):
        if not since_ms <= case.happened_ms < until_ms:
            continue
        for flag in cases.case_flags(cur, case):
            if flag.code == cases.NOT_RECORDED:
                out.append(
                    Violation(
                        "case-not-recorded",
                        case.happened_ms,
                        officer=_officer_named(cur, case.responsible),
                        actor=case.responsible,
                        case=case.case_no,
                        fields={"type": case.case_type},
                    )
                )
    for f in shiftevents.in_period(cur, shiftevents.NO_RECORD, since_ms, until_ms):
        if f.reasonless:
            out.append(
                Violation(
                    "no-record-without-reason",
                    f.at_ms,
                    officer=f.officer,
                    device=f.device_id,
                    seq=f.seq,
                    fields={"note": f.detail.get("note") or "-"},
                )
            )
    return out


def _officer_named(cur: "Cursor", who: str) -> "str | None":
    """The officer id a case's responsible person stands for: an officer id on footage, or
    an account's name with its officer id."""
    row = cur.execute("SELECT officer_id FROM users WHERE name = ?", (who,)).fetchone()
    if row is not None and row[0]:
        return str(row[0])
    if cur.execute("SELECT 1 FROM items WHERE officer = ? LIMIT 1", (who,)).fetchone():
        return who
    return None


def _entry_at(cur: "Cursor", device: str, seq: int) -> "tuple[int, str | None, object]":
    """``(wall ms, officer id, entry or None)`` at ``seq`` of ``device``'s stored ledger:
    the entry itself, or for a seq the store lacks, the nearest one before it."""
    row = cur.execute(
        "SELECT seq, wall_ms, raw FROM entries WHERE device_id = ? AND seq <= ? "
        "ORDER BY seq DESC LIMIT 1",
        (device, seq),
    ).fetchone()
    if row is None:
        row = cur.execute(
            "SELECT seq, wall_ms, raw FROM entries WHERE device_id = ? ORDER BY seq LIMIT 1",
            (device,),
        ).fetchone()
    if row is None:
        return 0, None, None
    try:
        e = parse_entry(bytes(row[2]))
    except ProtocolError:
        return row[1], None, None
    officer = e.fields.get(F_OFFICER)
    return row[1], officer if isinstance(officer, str) else None, e if row[0] == seq else None


def _wall_reader(cur: "Cursor", device: str) -> "Callable[[int], int]":
    """The wall time ``_entry_at`` gives for a seq of ``device``, from one read of the
    ledger's seqs and times (no entry parsed), for the findings outside a period to be
    passed over cheaply."""
    rows = cur.execute(
        "SELECT seq, wall_ms FROM entries WHERE device_id = ? ORDER BY seq", (device,)
    ).fetchall()
    seqs = [r[0] for r in rows]
    walls = [r[1] for r in rows]

    def wall(seq: int) -> int:
        if not seqs:
            return 0
        i = bisect.bisect_right(seqs, seq) - 1
        return walls[max(i, 0)]  # the nearest before it, else the first, as _entry_at

    return wall


def _recording_reader(
    cur: "Cursor", device: str
) -> "Callable[[int], tuple[str | None, str | None]]":
    """The recording of ``device`` that holds a seq and its officer, or (None, None): one
    read of the device's recordings, then a search per seq (the items table has no index
    by device and seq, and a finding per chunk would scan it each time)."""
    rows = cur.execute(
        "SELECT first_seq, last_seq, item_id, officer FROM items WHERE device_id = ? "
        "AND kind = ? ORDER BY first_seq, item_id",
        (device, items.RECORDING),
    ).fetchall()
    starts = [r[0] for r in rows]

    def at(seq: int) -> "tuple[str | None, str | None]":
        # Recordings do not overlap; the first (by id) that holds it, as a LIMIT 1 would.
        for i in range(bisect.bisect_right(starts, seq) - 1, -1, -1):
            first, last, item, officer = rows[i]
            if first <= seq <= last:
                return item, officer
            if last < seq:
                break
        return None, None

    return at


def from_checkup(
    cur: "Cursor",
    checkup: "Checkup",
    since_ms: int,
    until_ms: int,
    found_ms: "int | None" = None,
) -> "list[Violation]":
    """The deleting, altering, forging and late footage a store's check found, in the
    period: the store's own errors (``store_wide``: at the time they concern where the
    finding names one, a dock's end, otherwise when the check found them, ``found_ms``),
    then each device's verification findings and compliance flags, at the time of the entry
    they concern."""
    from host.report_text import finding_text

    out = []
    for f in checkup.store.findings:
        if f.severity != "error":
            continue
        fields = f.fields if isinstance(f.fields, dict) else {}
        times = [v for k, v in fields.items() if k.endswith("_ms") and isinstance(v, int)]
        at = min(times) if times else found_ms
        if at is None or not since_ms <= at < until_ms:
            continue
        device = fields.get("device")
        out.append(
            Violation(
                "store-altered",
                at,
                device=device if isinstance(device, str) else None,
                fields={"what": finding_text(f), "code": f.code},
            )
        )
    for d in checkup.devices:
        found = [(f.code, f.seq, _VERIFY_CODES.get(f.code)) for f in d.report.findings]
        found += [(f.code, f.seq, _FLAG_CODES.get(f.code)) for f in d.flags]
        seen = set()
        wall = _wall_reader(cur, d.device_id) if found else None
        recording_at = _recording_reader(cur, d.device_id) if found else None
        for source, seq, code in found:
            if code is None or seq is None or seq < 0 or (code, seq) in seen:
                continue
            seen.add((code, seq))
            if wall is not None and not since_ms <= wall(seq) < until_ms:
                continue  # outside the period: not parsed
            at, officer, entry = _entry_at(cur, d.device_id, seq)
            if not since_ms <= at < until_ms:
                continue
            if code == "media-missing" and _deleted_by_retention(entry, checkup):
                continue
            item, holder = recording_at(seq) if recording_at else (None, None)
            out.append(
                Violation(
                    code,
                    at,
                    officer=holder or officer,  # chunks bear no officer id; the recording does
                    item=item,
                    device=d.device_id,
                    seq=seq,
                    fields={"finding": source},
                )
            )
    return out


def _deleted_by_retention(entry: object, checkup: "Checkup") -> bool:
    fields = getattr(entry, "fields", None)
    if not isinstance(fields, dict) or fields.get(F_KIND) != KIND_CHUNK:
        return False
    return media_digest(fields) in checkup.store.deleted_media


def refused_docks(cur: "Cursor", since_ms: int, until_ms: int) -> "list[Violation]":
    """Docks the host refused in the period: a forked ledger (altering), entries that do
    not verify with the device's key (forged) or that the host could not accept."""
    out = []
    rows = cur.execute(
        "SELECT device_id, ended_ms, result FROM sessions WHERE result LIKE 'refused:%' "
        "AND ended_ms >= ? AND ended_ms < ? ORDER BY ended_ms",
        (since_ms, until_ms),
    ).fetchall()
    for device, ended, result in rows:
        why = result[len("refused: ") :]
        if "forked" in why:
            code = "ledger-forked"
        elif "does not verify" in why:
            code = "entries-forged"
        else:
            code = "entries-refused"
        last = cur.execute(
            "SELECT max(seq) FROM entries WHERE device_id = ?", (device,)
        ).fetchone()[0]
        officer = None if last is None else _entry_at(cur, device, last)[1]
        out.append(
            Violation(
                code,
                ended,
                officer=officer,
                device=device,
                fields={"finding": "refused-at-dock", "why": why, "session_ms": ended},
            )
        )
    return out


def leaking(cur: "Cursor", since_ms: int, until_ms: int) -> "list[Violation]":
    """Refused attempts to take restricted footage out, and restricted footage that left
    (export, showing, loan, publication) with no approval on the record."""
    out = []
    officers = dict(cur.execute("SELECT name, officer_id FROM users").fetchall())
    for r in restricted.leak_attempts(cur, since_ms):
        if r.at_ms < until_ms:
            out.append(_from_record("leak-attempt", r, officers))
    rows = cur.execute(
        "SELECT %s FROM audit WHERE outcome = ? AND at_ms >= ? AND at_ms < ? AND item IS NOT "
        "NULL AND action IN (%s) ORDER BY seq"
        % (audit.COLUMNS, ",".join("?" * len(restricted.GATED))),
        (audit.DONE, since_ms, until_ms, *restricted.GATED),
    ).fetchall()
    for r in audit.records_of(rows):
        if r.action == audit.PLAY or r.item is None or "approval" in r.details:
            continue
        held = restricted.restriction(cur, r.item.split("~", 1)[0])
        if held is not None and held[2] <= r.at_ms:
            out.append(_from_record("left-without-approval", r, officers))
    return out


def _from_record(code: str, r: audit.Record, officers: dict) -> Violation:
    return Violation(
        code,
        r.at_ms,
        officer=officers.get(r.actor) or None,
        actor=r.actor,
        item=r.item,
        audit_seq=r.seq,
        fields={"action": r.action, "reason": str(r.details.get("reason", "-"))},
    )


def device_losses(
    cur: "Cursor", since_ms: int, until_ms: int, now_ms: "int | None" = None
) -> "list[Violation]":
    """The registers' findings (``host.registers.device_findings``): devices lost or not
    returned, footage from the wrong officer or from a lost or retired device. A period
    reaching past ``now_ms`` is judged as the register stands then: a checkout due later
    is not late yet."""
    if now_ms is not None:
        until_ms = min(until_ms, now_ms + 1)
    found = registers.device_findings(cur, since_ms, until_ms) if since_ms < until_ms else []
    zone = str(settings.get(cur, settings.TIME_ZONE))
    out = []
    for f in found:
        code = _DEVICE_KINDS.get(f.kind)
        if code is None:
            continue
        out.append(
            Violation(
                code,
                f.at_ms,
                unit=f.unit_id,
                officer=f.officer_id,
                item=f.item_id,
                device=f.device_id,
                fields=_device_fields(f.detail, zone),
            )
        )
    return out


def _device_fields(detail: dict, zone: str) -> dict:
    """What a register finding's sentence names, its times as the agency reads them
    (``detail``, for machines, as the register gave it)."""

    def show(ms: object) -> str:
        return localtime.show(ms, zone) if isinstance(ms, int) else "-"

    return {
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
        "note": detail.get("note") or "-",
        "taken": show(detail.get("taken_ms")),
        "due": show(detail.get("due_ms")),
        "holder": detail.get("holder") or "-",
        "since": show(detail.get("state_ms")),
    }


def report(
    cur: "Cursor",
    checkup: "Checkup",
    since_ms: int,
    until_ms: int,
    unit_id: "str | None" = None,
    officer_id: "str | None" = None,
    found_ms: "int | None" = None,
) -> "list[Violation]":
    """Every violation of the period, with its unit, sorted by unit, officer and time;
    only those of ``unit_id`` or ``officer_id`` when given. ``found_ms`` is when the
    store's check ran: the time of its findings that concern no time of their own. The
    store-wide findings (``store_wide``) concern no unit or officer: a report narrowed to
    one still holds them, since they put every unit's evidence in doubt."""
    unit_of = unit_reader(cur)
    found = (
        not_recorded(cur, since_ms, until_ms)
        + from_checkup(cur, checkup, since_ms, until_ms, found_ms)
        + refused_docks(cur, since_ms, until_ms)
        + leaking(cur, since_ms, until_ms)
        + device_losses(cur, since_ms, until_ms, found_ms)
    )
    out = []
    for v in found:
        if v.unit is None and v.officer is not None:
            v = Violation(**{**v.__dict__, "unit": unit_of(v.officer)})
        if v.store_wide:
            out.append(v)
            continue
        if unit_id is not None and v.unit != unit_id:
            continue
        if officer_id is not None and v.officer != officer_id:
            continue
        out.append(v)
    return sorted(out, key=_order)


def _order(v: Violation) -> tuple:
    return (
        not v.store_wide,
        v.unit or "",
        v.officer or "",
        v.actor or "",
        v.at_ms,
        v.code,
        v.seq or -1,
    )


def grouped(found: "list[Violation]") -> "list[tuple[str | None, str | None, list[Violation]]]":
    """The violations per unit and officer (an actor without an officer id stands for
    themself), in the report's order; the store-wide findings are not among them
    (``store_wide_of``)."""
    groups: dict = {}
    for v in found:
        if v.store_wide:
            continue
        who = v.officer or (("@" + v.actor) if v.actor else None)
        groups.setdefault((v.unit, who), []).append(v)
    return [(unit, who, vs) for (unit, who), vs in groups.items()]


def store_wide_of(found: "list[Violation]") -> "list[Violation]":
    """The findings of the store's check of itself, shown in their own section."""
    return [v for v in found if v.store_wide]


CSV_FIELDS = (
    "unit",
    "officer",
    "actor",
    "kind",
    "code",
    "rule",
    "at_ms",
    "local_time",
    "item",
    "device",
    "seq",
    "audit_seq",
    "case",
    "text",
    "scope",
)


def as_csv(found: "list[Violation]", when: "Callable[[int], str]") -> str:
    """The report as CSV: one header row, then a row per violation."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for v in found:
        w.writerow(
            [
                v.unit or "",
                v.officer or "",
                v.actor or "",
                v.kind,
                v.code,
                v.rule,
                v.at_ms,
                when(v.at_ms) if v.at_ms else "",
                v.item or "",
                v.device or "",
                "" if v.seq is None else v.seq,
                "" if v.audit_seq is None else v.audit_seq,
                v.case or "",
                violation_text(v),
                "store" if v.store_wide else "officer",
            ]
        )
    return out.getvalue()
