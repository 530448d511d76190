"""The legal department's review of a sampled recording: a checklist, pre-filled (R-HOST-7).

A reviewer looks at each recording a draw took (``host.sampling``) and records findings from
one checklist (``CHECKLIST``: each item with the rule it enforces). What the signed ledger
already shows is filled in before the reviewer starts (``prefill``):

- early stop: the recording was cut by a power loss, with no stop (R-DEV-9);
- a pause without an objective reason: reason "other", or none (R-DEV-9);
- the spoken reason for an interruption missing, or silence (R-DEV-9);
- the announcement missing (R-DEV-8) or the narration of time, place, officers and action
  missing (R-DEV-12);
- a no-record work record of the same shift that does not say why (R-DEV-11);
- frames the capture queue lost (R-DEV-6);
- footage that reached the store late (R-HOST-1);
- a self-check before it that found a problem (R-DEV-7).

Late start (the recording began after the officer arrived) is for the reviewer's eyes, and
so is anything else, in free text. The reviewer confirms the pre-filled items, adds others,
or sets aside an automatic one with a note; the review is an audit record (``review``) and
a row (``reviews``), in one transaction. The judgements come from ``host.compliance`` and
``host.shiftevents``; nothing here derives them a second time.
"""

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host import compliance, i18n, items, sampling, shiftevents
from host.errors import Unusable
from protocol.errors import ProtocolError
from protocol.ledger import parse_entry

if TYPE_CHECKING:
    from collections.abc import Callable

    from host.sqlstore import Cursor

SCHEMA = """
-- Reviews of sampled recordings (host.review): who reviewed which recording of which draw,
-- when, the checklist's findings (JSON: code, rule, auto, set_aside, seq, detail) and the
-- reviewer's note. The newest review of a recording is its finding; every one is audited.
CREATE TABLE IF NOT EXISTS reviews (
    id         INTEGER PRIMARY KEY,
    plan_id    INTEGER NOT NULL,
    item_id    TEXT NOT NULL,
    reviewer   TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    findings   TEXT NOT NULL,
    note       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_item ON reviews (item_id, id);
"""

LATE_START = "late-start"
EARLY_STOP = "early-stop"
PAUSE_OTHER = "pause-without-objective-reason"
SPOKEN_REASON = "spoken-reason-missing-or-silent"
NO_ANNOUNCEMENT = "no-announcement"
NO_NARRATION = "no-narration"
NO_RECORD_REASON = "no-record-without-reason"
OVERRUN = "capture-overrun"
LATE_UPLOAD = "late-upload"
SELF_CHECK = "self-check-failed"
OTHER = "other"

# The checklist: each item and the rule it enforces, in the order a reviewer goes through
# it. The catalogue names each (``review.item.CODE``).
CHECKLIST = {
    LATE_START: "R-DEV-9",
    EARLY_STOP: "R-DEV-9",
    PAUSE_OTHER: "R-DEV-9",
    SPOKEN_REASON: "R-DEV-9",
    NO_ANNOUNCEMENT: "R-DEV-8",
    NO_NARRATION: "R-DEV-12",
    NO_RECORD_REASON: "R-DEV-11",
    OVERRUN: "R-DEV-6",
    LATE_UPLOAD: "R-HOST-1",
    SELF_CHECK: "R-DEV-7",
    OTHER: "R-HOST-7",
}
ITEM_TEXT = {
    LATE_START: i18n.N_("review.item.late-start"),
    EARLY_STOP: i18n.N_("review.item.early-stop"),
    PAUSE_OTHER: i18n.N_("review.item.pause-without-objective-reason"),
    SPOKEN_REASON: i18n.N_("review.item.spoken-reason-missing-or-silent"),
    NO_ANNOUNCEMENT: i18n.N_("review.item.no-announcement"),
    NO_NARRATION: i18n.N_("review.item.no-narration"),
    NO_RECORD_REASON: i18n.N_("review.item.no-record-without-reason"),
    OVERRUN: i18n.N_("review.item.capture-overrun"),
    LATE_UPLOAD: i18n.N_("review.item.late-upload"),
    SELF_CHECK: i18n.N_("review.item.self-check-failed"),
    OTHER: i18n.N_("review.item.other"),
}

# The compliance flags that pre-fill an item.
_FROM_FLAG = {
    "recording-cut-by-power-loss": EARLY_STOP,
    "pause-without-reason": PAUSE_OTHER,
    "resume-without-spoken-reason": SPOKEN_REASON,
    "silent-spoken-reason": SPOKEN_REASON,
    "no-announcement": NO_ANNOUNCEMENT,
    "late-upload": LATE_UPLOAD,
}

NOTE_MAX = 2000  # characters of a reviewer's note


@dataclass(frozen=True)
class Mark:
    """One finding of the checklist: the item (``code``), the rule, whether the ledger
    filled it in (``auto``) and whether the reviewer set it aside, the seq it concerns and
    the particulars."""

    code: str
    auto: bool = True
    seq: "int | None" = None
    detail: dict = field(default_factory=dict)
    set_aside: bool = False

    @property
    def rule(self) -> str:
        return CHECKLIST[self.code]

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "rule": self.rule,
            "auto": self.auto,
            "set_aside": self.set_aside,
            "seq": self.seq,
            "detail": dict(self.detail),
        }


def item_text(code: str) -> str:
    return i18n.text(ITEM_TEXT[code])


# --- the rules (no store) ------------------------------------------------------------------


def prefill(
    findings: compliance.RecordingFindings,
    late: "list[compliance.Flag]",
    events: shiftevents.RecordingEvents,
) -> "list[Mark]":
    """The checklist items the ledger fills in for one recording: from its compliance
    findings (``findings``, and ``late``: the flags of the whole-ledger checks that concern
    it, late upload and a silent spoken reason) and its events (``events``)."""
    out: list[Mark] = []
    for f in [*findings.flags, *late]:
        code = _FROM_FLAG.get(f.code)
        if code is not None:
            out.append(Mark(code, True, f.seq, {"flag": f.code}))
    for p in events.pauses_other:
        out.append(Mark(PAUSE_OTHER, True, p.seq, {"reason": "other"}))
    if events.narration is None:
        out.append(Mark(NO_NARRATION, True))
    for n in events.no_records:
        if n.reasonless:
            out.append(Mark(NO_RECORD_REASON, True, n.seq, dict(n.detail)))
    for o in events.overruns:
        out.append(Mark(OVERRUN, True, o.seq, dict(o.detail)))
    check = events.self_check
    if check is not None and check.detail.get("failed"):
        out.append(Mark(SELF_CHECK, True, check.seq, {"failed": list(check.detail["failed"])}))
    order = list(CHECKLIST)
    return sorted(out, key=lambda m: (order.index(m.code), m.seq if m.seq is not None else -1))


def judge(auto: "list[Mark]", add: "list[str]", set_aside: "list[str]", note: str) -> "list[Mark]":
    """The review's findings: the pre-filled ones (those whose item is in ``set_aside``
    marked so), and one for each item in ``add`` the ledger did not fill in. Unusable for
    an item not on the checklist, "other" or a set-aside without a note, or a note too
    long."""
    for code in [*add, *set_aside]:
        if code not in CHECKLIST:
            raise Unusable(i18n.text("review.err.item", item=code, known=", ".join(CHECKLIST)))
    if len(note) > NOTE_MAX:
        raise Unusable(i18n.text("review.err.note_long", limit=NOTE_MAX))
    if (OTHER in add or set_aside) and not note.strip():
        raise Unusable(i18n.text("review.err.note_needed"))
    out = [Mark(m.code, True, m.seq, m.detail, m.code in set_aside) for m in auto]
    filled = {m.code for m in auto}
    for code in dict.fromkeys(add):
        if code not in filled:
            out.append(Mark(code, False))
    return out


# --- the store's side ---------------------------------------------------------------------


def prefill_in_store(
    cur: "Cursor",
    item: items.Item,
    policy: "compliance.Policy | None" = None,
    media: "compliance.MediaReader | None" = None,
) -> "list[Mark]":
    """``prefill`` for recording ``item``, read from the store: its span's entries once
    (with when each was received), its shift's events (``host.shiftevents``). ``media``,
    when given, lets a spoken reason be listened to."""
    first = min(item.rec, item.first_seq)
    entries = []
    received = {}
    for seq, raw, got in cur.execute(
        "SELECT seq, raw, received_ms FROM entries WHERE device_id = ? AND seq BETWEEN ? "
        "AND ? ORDER BY seq",
        (item.device_id, first, item.last_seq),
    ).fetchall():
        try:
            entries.append(parse_entry(bytes(raw)))
        except ProtocolError:
            continue
        received[seq] = got
    findings = compliance.recording_findings(entries, first, item.last_seq)
    whole = compliance.check(entries, received, policy, (), media)
    late = [f for f in whole if f.code in ("late-upload", "silent-spoken-reason")]
    return prefill(findings, late, shiftevents.of_recording(cur, item))


@dataclass(frozen=True)
class Review:
    review_id: int
    plan_id: int
    item_id: str
    reviewer: str
    at_ms: int
    marks: "list[Mark]"
    note: str

    @property
    def findings(self) -> "list[Mark]":
        """The findings that stand (not set aside)."""
        return [m for m in self.marks if not m.set_aside]

    def to_dict(self) -> dict:
        return {
            "review": self.review_id,
            "plan": self.plan_id,
            "item": self.item_id,
            "reviewer": self.reviewer,
            "at_ms": self.at_ms,
            "findings": [m.to_dict() for m in self.marks],
            "note": self.note,
        }


def plan_of(cur: "Cursor", item_id: str, plan_id: "int | None") -> int:
    """The draw ``item_id`` is reviewed under: ``plan_id``, which must have drawn it, or
    the latest plan that did. Unusable when no draw took it."""
    drawn = sampling.draws_of(cur, item_id)
    if plan_id is not None and plan_id not in drawn:
        raise Unusable(i18n.text("review.err.not_in_plan", item=item_id, plan=plan_id))
    if not drawn:
        raise Unusable(i18n.text("review.err.not_sampled", item=item_id))
    return plan_id if plan_id is not None else drawn[-1]


def record(
    cur: "Cursor",
    item_id: str,
    plan_id: "int | None",
    marks: "list[Mark]",
    note: str,
    by: str,
    now_ms: int,
) -> Review:
    """Record a review of ``item_id`` (in the caller's transaction, with its audit
    record). Unusable when no draw (or not plan ``plan_id``) took the recording."""
    items.get(cur, item_id)
    plan = plan_of(cur, item_id, plan_id)
    cur.execute(
        "INSERT INTO reviews (plan_id, item_id, reviewer, at_ms, findings, note) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (plan, item_id, by, now_ms, json.dumps([m.to_dict() for m in marks]), note),
    )
    return Review(int(cur.fetchone()[0]), plan, item_id, by, now_ms, marks, note)


def _review(row: tuple) -> Review:
    marks = [
        Mark(m["code"], m["auto"], m["seq"], m["detail"], m["set_aside"])
        for m in json.loads(row[5])
        if m.get("code") in CHECKLIST
    ]
    return Review(row[0], row[1], row[2], row[3], row[4], marks, row[6])


_COLUMNS = "id, plan_id, item_id, reviewer, at_ms, findings, note"


def latest(cur: "Cursor", item_id: str) -> "Review | None":
    row = cur.execute(
        "SELECT %s FROM reviews WHERE item_id = ? ORDER BY id DESC LIMIT 1" % _COLUMNS,
        (item_id,),
    ).fetchone()
    return None if row is None else _review(row)


def queue(cur: "Cursor", plan_id: "int | None" = None) -> "list[tuple[int, items.Item]]":
    """The sampled recordings no one has reviewed yet, ``(plan, item)``, oldest first."""
    sql = (
        "SELECT s.plan_id, %s FROM review_sample s JOIN items i ON i.item_id = s.item_id "
        "WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.item_id = s.item_id "
        "AND r.plan_id = s.plan_id)" % ", ".join("i." + c.strip() for c in items.COLUMNS.split(","))
    )
    params: list = []
    if plan_id is not None:
        sql += " AND s.plan_id = ?"
        params.append(plan_id)
    sql += " ORDER BY i.started_ms, i.item_id"
    return [(r[0], items._item(r[1:])) for r in cur.execute(sql, params).fetchall()]


@dataclass
class SummaryRow:
    """One line of the review report: a unit and officer, how many of their recordings
    of the period were sampled and reviewed, and the findings that stand, by item."""

    unit_id: "str | None"
    officer_id: "str | None"
    sampled: int = 0
    reviewed: int = 0
    findings: "dict[str, int]" = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "unit": self.unit_id,
            "officer": self.officer_id,
            "sampled": self.sampled,
            "reviewed": self.reviewed,
            "findings": dict(self.findings),
            "total": sum(self.findings.values()),
        }


def summary(
    cur: "Cursor",
    since_ms: int,
    until_ms: int,
    unit_of: "Callable[[str | None], str | None]",
    unit_id: "str | None" = None,
    officer_id: "str | None" = None,
) -> "list[SummaryRow]":
    """The review report: per unit and officer, the recordings started in [since_ms,
    until_ms) that a draw took, how many have a review, and the findings of their newest
    reviews. ``unit_of`` names an officer's unit (``host.registers.unit_of``)."""
    rows: dict = {}
    sql = (
        "SELECT DISTINCT i.item_id, i.officer FROM review_sample s JOIN items i "
        "ON i.item_id = s.item_id WHERE i.started_ms >= ? AND i.started_ms < ?"
    )
    params: list = [since_ms, until_ms]
    if officer_id is not None:
        sql += " AND i.officer = ?"
        params.append(officer_id)
    for item_id, officer in cur.execute(sql + " ORDER BY i.item_id", params).fetchall():
        unit = unit_of(officer)
        if unit_id is not None and unit != unit_id:
            continue
        row = rows.setdefault((unit or "", officer or ""), SummaryRow(unit, officer))
        row.sampled += 1
        done = latest(cur, item_id)
        if done is not None:
            row.reviewed += 1
            for m in done.findings:
                row.findings[m.code] = row.findings.get(m.code, 0) + 1
    return [rows[k] for k in sorted(rows)]
