"""The signed events no other check reads: narration, no-record work records, self-checks,
capture overruns and pauses for "another reason".

The recorder signs them all (``firmware.recorder``): the narration of time, place, officers
and action after the announcement (R-DEV-12), the work record of a duty that could not be
recorded and why (R-DEV-11), the pre-use self-check at power-on (R-DEV-7), frames the capture
queue could not keep (R-DEV-6), and a pause whose reason code is "other" (a reason the
officer could not name as one of the objective ones, R-DEV-9). ``host.compliance`` judges the
rest of a ledger; this module turns these events into ``Fact`` objects (``facts``, no I/O),
and reads them for one recording from the evidence store (``of_recording``): the events of
its own span, and those of the power-on (the shift) it belongs to, from the boot before it
to the boot after it. The random review pre-fills its checklist from them
(``host.review``), and the violations report reads the no-record work records
(``host.violations``).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host.recordings import recording_number
from protocol.errors import ProtocolError
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_BOOT,
    EV_NARRATION,
    EV_NO_RECORD,
    EV_OVERRUN,
    EV_PAUSE,
    EV_SELF_CHECK,
    F_BOOT,
    F_DETAIL,
    F_EVENT,
    F_OFFICER,
    F_REASON,
    F_RECORDING,
    F_WALL_MS,
    KIND_EVENT,
    NO_RECORD_NAMES,
    NO_RECORD_OBJECTIVE,
    PAUSE_OTHER,
)

if TYPE_CHECKING:
    from host.items import Item
    from host.sqlstore import Cursor
    from protocol.ledger import Entry

NARRATION = "narration"
NO_RECORD = "no-record"
SELF_CHECK = "self-check"
OVERRUN = "overrun"
PAUSE_FOR_OTHER = "pause-other"
KINDS = (NARRATION, NO_RECORD, SELF_CHECK, OVERRUN, PAUSE_FOR_OTHER)


@dataclass(frozen=True)
class Fact:
    """One signed event of the kinds above: the device, the entry's seq and wall time, the
    officer id it bears, the recording it belongs to (its number, or None outside one), and
    its particulars (``detail``: a no-record's ``reason`` and ``note``, a self-check's
    ``failed`` and ``can_record``, an overrun's ``stream``, ``lost``, ``first_ms``,
    ``last_ms``)."""

    kind: str
    device_id: str
    seq: int
    at_ms: int
    officer: "str | None"
    recording: "int | None"
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "device_id": self.device_id,
            "seq": self.seq,
            "at_ms": self.at_ms,
            "officer": self.officer,
            "recording": self.recording,
            "detail": dict(self.detail),
        }

    @property
    def reasonless(self) -> bool:
        """A no-record work record that does not say why (R-DEV-11): no reason code the
        registry knows, or only "objective cause" with nothing written to name it."""
        if self.kind != NO_RECORD:
            return False
        reason = self.detail.get("reason")
        if reason is None:
            return True
        return reason == NO_RECORD_NAMES[NO_RECORD_OBJECTIVE] and not self.detail.get("note")


def fact(device_id: str, entry: "Entry") -> "Fact | None":
    """The fact one parsed entry states, or None when it is none of these kinds."""
    fields = entry.fields
    code = fields.get(F_EVENT)
    detail = fields.get(F_DETAIL)
    detail = detail if isinstance(detail, dict) else {}
    said: dict
    if code == EV_NARRATION:
        kind, said = NARRATION, {}
    elif code == EV_NO_RECORD:
        reason = fields.get(F_REASON)
        note = detail.get("note")
        kind = NO_RECORD
        said = {
            "reason": NO_RECORD_NAMES.get(reason) if isinstance(reason, int) else None,
            "note": note if isinstance(note, str) else "",
        }
    elif code == EV_SELF_CHECK:
        failed = detail.get("failed")
        kind = SELF_CHECK
        said = {
            "failed": [str(x) for x in failed] if isinstance(failed, list) else [],
            "can_record": detail.get("can_record") is not False,
        }
    elif code == EV_OVERRUN:
        kind = OVERRUN
        said = {k: detail.get(k) for k in ("stream", "lost", "first_ms", "last_ms", "cause")}
        said = {k: v for k, v in said.items() if v is not None}
    elif code == EV_PAUSE and fields.get(F_REASON) == PAUSE_OTHER:
        kind, said = PAUSE_FOR_OTHER, {}
    else:
        return None
    rec = fields.get(F_RECORDING)
    officer = fields.get(F_OFFICER)
    return Fact(
        kind,
        device_id,
        entry.seq,
        fields.get(F_WALL_MS, 0),
        officer if isinstance(officer, str) else None,
        recording_number(rec) if isinstance(rec, bytes) and rec else None,
        said,
    )


def facts(device_id: str, entries: list) -> "list[Fact]":
    """The facts of ``entries`` (parsed, in seq order)."""
    out = []
    for e in entries:
        if e.kind == KIND_EVENT:
            found = fact(device_id, e)
            if found is not None:
                out.append(found)
    return out


@dataclass(frozen=True)
class RecordingEvents:
    """What the signed events say of one recording (``Item``): its narration (the seq, or
    None), its overruns and pauses for "another reason", and of the power-on it belongs to,
    the self-check before it (None when the shift's start is not stored) and the no-record
    work records of that shift."""

    narration: "int | None"
    overruns: "list[Fact]"
    pauses_other: "list[Fact]"
    self_check: "Fact | None"
    no_records: "list[Fact]"


def of_entries(
    item_rec: int, officer: "str | None", span: "list[Fact]", shift: "list[Fact]"
) -> RecordingEvents:
    """``RecordingEvents`` from the facts of the recording's span and of its shift (the
    facts of the same power-on outside the span): the no-record work records are those
    of the recording's officer (another officer may use the device in the same power-on);
    no I/O."""
    mine = [f for f in span if f.recording in (item_rec, None)]
    narration = next((f.seq for f in mine if f.kind == NARRATION), None)
    checks = [f for f in shift + span if f.kind == SELF_CHECK and f.seq < item_rec]
    return RecordingEvents(
        narration,
        [f for f in mine if f.kind == OVERRUN],
        [f for f in mine if f.kind == PAUSE_FOR_OTHER],
        max(checks, key=lambda f: f.seq) if checks else None,
        sorted(
            (f for f in shift + span if f.kind == NO_RECORD and f.officer == officer),
            key=lambda f: f.seq,
        ),
    )


# Events are read in pages of this many rows while looking for the shift's bounds.
_PAGE = 256


def of_recording(cur: "Cursor", item: "Item") -> RecordingEvents:
    """The events of recording ``item`` and of its shift, read from the evidence store's
    ledger rows: the recording's own span, then event rows only (the ``kind`` column: no
    chunk is parsed) back to the boot that started its power-on and on to the next boot."""
    device = item.device_id
    first = min(item.rec, item.first_seq)
    span = _facts_between(cur, device, first, item.last_seq)
    row = cur.execute(
        "SELECT raw FROM entries WHERE device_id = ? AND seq = ?", (device, first)
    ).fetchone()
    starts = _parsed([row]) if row else []
    boot = starts[0].fields.get(F_BOOT) if starts else None  # the recording's power-on
    before = _walk(cur, device, first, boot, back=True)
    after = _walk(cur, device, item.last_seq, boot, back=False)
    return of_entries(item.rec, item.officer, span, before + after)


def _facts_between(cur: "Cursor", device: str, lo: int, hi: int) -> "list[Fact]":
    rows = cur.execute(
        "SELECT raw FROM entries WHERE device_id = ? AND kind = ? AND seq BETWEEN ? AND ? "
        "ORDER BY seq",
        (device, KIND_EVENT, lo, hi),
    ).fetchall()
    return facts(device, _parsed(rows))


def _walk(cur: "Cursor", device: str, seq: int, boot: object, back: bool) -> "list[Fact]":
    """The facts of the event rows beyond ``seq`` (before it when ``back``) as far as the
    power-on ``boot`` (a boot counter; None: the first event's) reaches: through the boot
    event that starts it going back, up to the boot that starts the next one going
    forward."""
    sql = (
        "SELECT raw FROM entries WHERE device_id = ? AND kind = ? AND seq %s ? "
        "ORDER BY seq %s LIMIT %d" % ("<" if back else ">", "DESC" if back else "ASC", _PAGE)
    )
    found: list = []
    at = seq
    while True:
        rows = cur.execute(sql, (device, KIND_EVENT, at)).fetchall()
        if not rows:
            break
        for e in _parsed(rows):
            at = e.seq
            if boot is None:
                boot = e.fields.get(F_BOOT)
            if e.fields.get(F_BOOT) != boot:
                return sorted(found, key=lambda f: f.seq)
            is_boot = e.fields.get(F_EVENT) == EV_BOOT
            if is_boot and not back:
                return sorted(found, key=lambda f: f.seq)
            one = fact(device, e)
            if one is not None:
                found.append(one)
            if is_boot and back:
                return sorted(found, key=lambda f: f.seq)
        if len(rows) < _PAGE:
            break
    return sorted(found, key=lambda f: f.seq)


def _parsed(rows: list) -> list:
    out = []
    for (raw,) in rows:
        try:
            out.append(parse_entry(bytes(raw)))
        except ProtocolError:
            continue  # verify names a damaged entry; here it states nothing
    return out


# The index ``in_period`` reads by: event entries by wall time. Partial, so the chunks (most
# of what a dock stores) do not touch it and the sync's writes stay as fast; the query names
# the kind as the same literal, which is how SQLite knows it may use a partial index.
SCHEMA = (
    """
CREATE INDEX IF NOT EXISTS entries_event_wall ON entries (wall_ms) WHERE kind = %d;
"""
    % KIND_EVENT
)
IN_PERIOD_SQL = (
    "SELECT device_id, raw FROM entries WHERE kind = %d AND wall_ms >= ? AND wall_ms < ? "
    "ORDER BY device_id, seq" % KIND_EVENT
)


def in_period(cur: "Cursor", kind: str, since_ms: int, until_ms: int) -> "list[Fact]":
    """Every fact of ``kind`` whose entry's wall time lies in [since_ms, until_ms), over
    every device, in device and seq order (event rows only; the ``wall_ms`` column)."""
    out: list = []
    rows = cur.execute(IN_PERIOD_SQL, (since_ms, until_ms)).fetchall()
    for device, raw in rows:
        try:
            e = parse_entry(bytes(raw))
        except ProtocolError:
            continue
        found = fact(device, e)
        if found is not None and found.kind == kind:
            out.append(found)
    return out
