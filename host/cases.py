"""Cases, categories and what a recording proves (R-HOST-2), and the flags of a case whose
footage falls short (R-HOST-10, R-HOST-12).

A case is what the case file is about: its number, its type, the person responsible, the
place and the time it happened (R-HOST-2; 004 §18: the case file notes content, count, time,
place, responsible person). Recordings are linked to cases (``case_items``), and each carries a
category and a note of what it is meant to prove (证明对象, ``item_notes``), with who noted it
and when. The rules of a case type come from the agency's setting ``case_types``:

- ``full``: the action touches personal liberty, life and health, or major property, and must
  be recorded in full (R-HOST-12; 001 三(二)): every linked recording with a pause, a gap in
  its seqs or no announcement is flagged, and so is such a case with no footage at all;
- ``required``: footage is required (001 三(二): inspections, evidence-taking, enforcement,
  hearings, service of documents ...), so a case with none linked is flagged "not recorded
  when required" (R-HOST-10);
- ``permanent``: its evidence is kept forever (``host.retention`` reads it).

The rules here are functions of rows and findings (``flags``), tested without a store; what
a recording lacks comes from ``host.compliance.recording_findings``, the same judgement
``sealcam verify`` makes, never derived a second time. The SQL below takes the caller's
cursor: a change goes through ``host.access.Desk.act``, which records it in the audit trail
in the same transaction. Its refusals are in the catalogue's words (``host.i18n``); the
rest of what people read is rendered by ``host.cli.case``.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host import compliance, i18n, items, localtime, settings
from host.errors import Unusable

if TYPE_CHECKING:
    from host.sqlstore import Cursor

SCHEMA = """
-- Cases (host.cases): the case file's particulars (R-HOST-2). Times are UTC ms; major is
-- 1 for a major or complex case (its evidence is kept forever, host.retention).
CREATE TABLE IF NOT EXISTS cases (
    case_no      TEXT PRIMARY KEY,
    case_type    TEXT NOT NULL,
    title        TEXT NOT NULL,
    responsible  TEXT NOT NULL,
    place        TEXT NOT NULL,
    happened_ms  INTEGER NOT NULL,
    opened_ms    INTEGER NOT NULL,
    closed_ms    INTEGER,
    major        INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_type ON cases (case_type, opened_ms);
-- Which items a case holds; the index on item_id finds an item's cases (retention, a
-- recording's page) without a scan.
CREATE TABLE IF NOT EXISTS case_items (
    case_no    TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    linked_by  TEXT NOT NULL,
    linked_ms  INTEGER NOT NULL,
    PRIMARY KEY (case_no, item_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_items_item ON case_items (item_id);
-- An item's category and what it is meant to prove (证明对象), who noted it and when.
CREATE TABLE IF NOT EXISTS item_notes (
    item_id   TEXT PRIMARY KEY,
    category  TEXT NOT NULL,
    proves    TEXT NOT NULL,
    noted_by  TEXT NOT NULL,
    noted_ms  INTEGER NOT NULL
);
"""

# Categories of a recording; the catalogue names each (``case.category.ID``).
ROUTINE = "routine"  # 日常执法
EVIDENCE = "evidence"  # 证据
OBSTRUCTION = "obstruction"  # 妨碍执法
EMERGENCY = "emergency"  # 重大突发事件或群体性事件
COMPLAINT = "complaint"  # 投诉
TRAINING = "training"  # 培训
CATEGORIES = (ROUTINE, EVIDENCE, OBSTRUCTION, EMERGENCY, COMPLAINT, TRAINING)


def _kind(full: bool, required: bool, permanent: bool = False) -> dict:
    return {"full": full, "required": required, "permanent": permanent}


# The case types an agency starts with (name -> rules); the catalogue names each
# (``case.type.NAME``). An agency changes the setting to add its own, which may carry their
# labels as "en" and "zh".
DEFAULT_CASE_TYPES: "dict[str, dict]" = {
    # Must be recorded in full (R-HOST-12; 001 三(二)): personal liberty, life and health,
    # major property.
    "detention": _kind(True, True),  # summons, detention, arrest: personal liberty
    "search": _kind(True, True),  # a search of a person or a place
    "seizure": _kind(True, True),  # sealing up or seizing major property
    "injury": _kind(True, True),  # on-scene injury or danger to life and health
    # Footage required (R-HOST-10; 001 三(二)): the listed occasions.
    "mass-incident": _kind(False, True, True),  # major emergencies, mass incidents: forever
    "inspection": _kind(False, True),  # on-site inspections and random checks
    "investigation": _kind(False, True),  # investigation and evidence-taking
    "preservation": _kind(False, True),  # preservation of evidence
    "enforcement": _kind(False, True),  # administrative compulsory measures
    "hearing": _kind(False, True),
    "service": _kind(False, True),  # service of enforcement documents
    "traffic": _kind(False, True),
    # Where written records suffice (001 三(二)): footage optional.
    "administrative": _kind(False, False),
}

CASE_TYPES = settings.declare("case_types", DEFAULT_CASE_TYPES)

# Flag codes of a case, each with the rule it serves.
PAUSED = "paused"  # a linked recording paused (R-HOST-12)
SEQ_GAP = "seq-gap"  # a linked recording misses entries (R-HOST-12)
NO_ANNOUNCEMENT = "no-announcement"  # a linked recording lacks the announcement (R-HOST-12)
EMPTY_RECORDING = "empty-recording"  # a linked recording holds no footage (R-HOST-12)
NO_FOOTAGE = "no-footage"  # a full-recording case with no recording linked (R-HOST-12)
NOT_RECORDED = "not-recorded-when-required"  # a required case with none (R-HOST-10)
FLAG_RULES = {
    PAUSED: "R-HOST-12",
    SEQ_GAP: "R-HOST-12",
    NO_ANNOUNCEMENT: "R-HOST-12",
    EMPTY_RECORDING: "R-HOST-12",
    NO_FOOTAGE: "R-HOST-12",
    NOT_RECORDED: "R-HOST-10",
}
# The compliance flags that make a recording less than whole, and their case flag codes.
_WHOLE = {"seq-gap": SEQ_GAP, "no-announcement": NO_ANNOUNCEMENT}

CASE_NO_MAX = 100  # characters: room for a full Chinese case number (峨公(治)行罚决字〔2026〕42号)
TEXT_MAX = 2000  # characters of a title, a place, a note of what a recording proves


class CaseError(Unusable):
    """No such case, a type or category the agency does not have, a time that is no time:
    the message says what to give."""


@dataclass(frozen=True)
class CaseType:
    name: str
    full: bool = False
    required: bool = False
    permanent: bool = False
    labels: "dict[str, str]" = field(default_factory=dict)  # the agency's own: lang -> text


@dataclass(frozen=True)
class Case:
    case_no: str
    case_type: str
    title: str
    responsible: str
    place: str
    happened_ms: int
    opened_ms: int
    closed_ms: "int | None"
    major: bool
    created_by: str
    created_ms: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Note:
    item_id: str
    category: str
    proves: str
    noted_by: str
    noted_ms: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Linked:
    """One item of a case: the item, who linked it and when, its note (or None)."""

    item: items.Item
    linked_by: str
    linked_ms: int
    note: "Note | None"

    @property
    def is_footage(self) -> bool:
        return self.item.kind == items.RECORDING


@dataclass(frozen=True)
class CaseFlag:
    """What a case lacks: ``code`` (above), the rule, the recording it names (None for the
    case), the seq it concerns, and the particulars (a pause's reason and times, a gap's
    seqs) for the words a person reads."""

    code: str
    item: "str | None" = None
    seq: "int | None" = None
    detail: "dict" = field(default_factory=dict)

    @property
    def rule(self) -> str:
        return FLAG_RULES[self.code]

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "rule": self.rule,
            "item": self.item,
            "seq": self.seq,
            "detail": dict(self.detail),
        }


# --- the rules (no store) ------------------------------------------------------------------


def recording_flags(item_id: str, findings: compliance.RecordingFindings) -> "list[CaseFlag]":
    """The flags of one recording of a full-recording case (R-HOST-12): each pause, each gap
    in its seqs, a missing announcement, from the recording's compliance findings."""
    out = [
        CaseFlag(PAUSED, item_id, p.seq, {k: v for k, v in p.to_dict().items() if k != "seq"})
        for p in findings.pauses
    ]
    for f in findings.flags:
        code = _WHOLE.get(f.code)
        if code == SEQ_GAP:
            out.append(CaseFlag(SEQ_GAP, item_id, f.seq, {"first": f.seq, "last": f.through}))
        elif code is not None:
            out.append(CaseFlag(code, item_id, f.seq))
    return sorted(out, key=lambda c: (c.seq if c.seq is not None else -1, c.code))


def flags(
    kind: CaseType,
    linked: "list[Linked]",
    findings: "dict[str, compliance.RecordingFindings]",
) -> "list[CaseFlag]":
    """The flags of a case of type ``kind`` holding ``linked``; ``findings`` has every
    linked recording's findings when the type is ``full`` (``needs_findings``)."""
    recordings = [x for x in linked if x.is_footage]
    footage = [x for x in recordings if x.item.chunks > 0]  # a recording with something in it
    out: list[CaseFlag] = []
    if kind.full:
        for x in recordings:
            if x.item.chunks == 0:
                out.append(CaseFlag(EMPTY_RECORDING, x.item.item_id))
            out.extend(recording_flags(x.item.item_id, findings[x.item.item_id]))
        if not footage:
            out.append(CaseFlag(NO_FOOTAGE))
    if kind.required and not footage:
        out.append(CaseFlag(NOT_RECORDED))
    return out


def needs_findings(kind: CaseType) -> bool:
    """Whether a case of this type is judged on its recordings' ledgers (only ``full``
    ones: every other rule reads the index alone)."""
    return kind.full


def check_text(what: str, text: str, limit: int = TEXT_MAX) -> str:
    """``text`` stripped, refused when empty, too long or holding control characters."""
    text = (text or "").strip()
    if not text or len(text) > limit or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise CaseError(i18n.text("case.err.text", what=what, limit=limit))
    return text


def check_case_no(case_no: str) -> str:
    """A case number: 1 to ``CASE_NO_MAX`` characters, no spaces, none a control one."""
    case_no = check_text(i18n.text("case.what.number"), case_no, CASE_NO_MAX)
    if any(c.isspace() for c in case_no):
        raise CaseError(i18n.text("case.err.number_spaces", number=case_no))
    return case_no


def parse_when(text: str, zone: str) -> int:
    """``2026-12-05 14:00`` (or with seconds, or a date alone: its midnight) read as a time
    in the agency's zone, as UTC milliseconds (``host.localtime.parse``: the one way every
    command reads a moment); CaseError for anything else."""
    try:
        return localtime.parse(text, zone)
    except ValueError:
        raise CaseError(i18n.text("case.err.when", text=text, zone=zone)) from None


# --- the store (inside the caller's transaction) -------------------------------------------

CASE_COLUMNS = (
    "case_no, case_type, title, responsible, place, happened_ms, opened_ms, closed_ms, "
    "major, created_by, created_ms"
)
_ITEM_COLUMNS = ", ".join("i." + c.strip() for c in items.COLUMNS.split(","))
_CASE_COLUMNS = ", ".join("c." + c.strip() for c in CASE_COLUMNS.split(","))


def case_types(cur: "Cursor") -> "dict[str, CaseType]":
    """The agency's case types (the setting, else the defaults), by name."""
    value = settings.get(cur, CASE_TYPES)
    table = value if isinstance(value, dict) else DEFAULT_CASE_TYPES
    out = {}
    for name, rules in table.items():
        rules = rules if isinstance(rules, dict) else {}
        labels = {k: str(rules[k]) for k in ("en", "zh") if rules.get(k)}
        out[str(name)] = CaseType(
            str(name),
            bool(rules.get("full")),
            bool(rules.get("required")),
            bool(rules.get("permanent")),
            labels,
        )
    return out


def case_type(cur: "Cursor", name: str) -> CaseType:
    """The rules of type ``name``; CaseError naming the known ones when there is none."""
    known = case_types(cur)
    if name not in known:
        raise CaseError(i18n.text("case.err.type", name=name, known=", ".join(known)))
    return known[name]


def kind_of(cur: "Cursor", case: Case) -> CaseType:
    """The rules of ``case``'s type; a type since removed from the setting keeps none."""
    return case_types(cur).get(case.case_type, CaseType(case.case_type))


def _case(row: tuple) -> Case:
    fields = list(row)
    fields[8] = bool(fields[8])
    return Case(*fields)


def get(cur: "Cursor", case_no: str) -> Case:
    """The case ``case_no``; CaseError when there is none."""
    row = cur.execute(
        "SELECT %s FROM cases WHERE case_no = ?" % CASE_COLUMNS, (case_no,)
    ).fetchone()
    if row is None:
        raise CaseError(i18n.text("case.err.no_case", number=case_no))
    return _case(row)


def add(cur: "Cursor", case: Case) -> None:
    """Open ``case`` (its type must be the agency's); CaseError when the number is taken."""
    check_case_no(case.case_no)
    case_type(cur, case.case_type)
    if cur.execute("SELECT 1 FROM cases WHERE case_no = ?", (case.case_no,)).fetchone():
        raise CaseError(i18n.text("case.err.exists", number=case.case_no))
    cur.execute(
        "INSERT INTO cases (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" % CASE_COLUMNS,
        (
            case.case_no,
            case.case_type,
            case.title,
            case.responsible,
            case.place,
            case.happened_ms,
            case.opened_ms,
            case.closed_ms,
            int(case.major),
            case.created_by,
            case.created_ms,
        ),
    )


def close(cur: "Cursor", case_no: str, now_ms: int) -> Case:
    """Close the case file at ``now_ms`` (retention keeps its evidence as long as the case
    file from then); CaseError for no such case, or one closed already. Returns the case
    as it was."""
    case = get(cur, case_no)
    if case.closed_ms is not None:
        raise CaseError(i18n.text("case.err.closed", number=case_no))
    cur.execute("UPDATE cases SET closed_ms = ? WHERE case_no = ?", (now_ms, case_no))
    return case


def find(
    cur: "Cursor", case_type: "str | None" = None, limit: int = 100_000
) -> "list[tuple[Case, int]]":
    """Cases (of ``case_type`` when given), newest opened first, each with how many items
    it holds."""
    sql = (
        "SELECT %s, (SELECT count(*) FROM case_items ci WHERE ci.case_no = c.case_no) "
        "FROM cases c" % _CASE_COLUMNS
    )
    params: list = []
    if case_type is not None:
        sql += " WHERE c.case_type = ?"
        params.append(case_type)
    sql += " ORDER BY c.opened_ms DESC, c.case_no LIMIT %d" % int(limit)
    return [(_case(r[:11]), r[11]) for r in cur.execute(sql, params).fetchall()]


def link(cur: "Cursor", case_no: str, item_id: str, by: str, now_ms: int) -> bool:
    """Link item ``item_id`` to case ``case_no``; False when it is linked already.
    CaseError (or ``items.ItemError``) when either does not exist."""
    get(cur, case_no)
    items.get(cur, item_id)
    cur.execute(
        "INSERT INTO case_items VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (case_no, item_id, by, now_ms),
    )
    return cur.rowcount > 0


def unlink(cur: "Cursor", case_no: str, item_id: str) -> "tuple[str, int]":
    """Take item ``item_id`` out of case ``case_no``; returns who linked it and when, for
    the audit record. CaseError when the case does not hold it."""
    get(cur, case_no)
    row = cur.execute(
        "SELECT linked_by, linked_ms FROM case_items WHERE case_no = ? AND item_id = ?",
        (case_no, item_id),
    ).fetchone()
    if row is None:
        raise CaseError(i18n.text("case.err.not_held", number=case_no, item=item_id))
    cur.execute("DELETE FROM case_items WHERE case_no = ? AND item_id = ?", (case_no, item_id))
    return row[0], row[1]


# A case's items with their notes: the case's rows of ``case_items`` (its primary key), each
# item and its note by theirs. Issue 13's benchmark lists a case this way among 100,000
# recordings in under 200 ms.
LINKED_SQL = (
    "SELECT %s, ci.linked_by, ci.linked_ms, n.category, n.proves, n.noted_by, n.noted_ms "
    "FROM case_items ci JOIN items i ON i.item_id = ci.item_id "
    "LEFT JOIN item_notes n ON n.item_id = ci.item_id "
    "WHERE ci.case_no = ? ORDER BY i.started_ms, i.item_id" % _ITEM_COLUMNS
)
# The cases that hold an item, through the ``case_items (item_id)`` index.
CASES_OF_SQL = (
    "SELECT %s FROM case_items ci JOIN cases c ON c.case_no = ci.case_no "
    "WHERE ci.item_id = ? ORDER BY c.case_no" % _CASE_COLUMNS
)


def linked(cur: "Cursor", case_no: str) -> "list[Linked]":
    """The items of case ``case_no``, oldest first, with their notes (``LINKED_SQL``)."""
    out = []
    width = len(items.COLUMNS.split(","))
    for r in cur.execute(LINKED_SQL, (case_no,)).fetchall():
        item = items._item(r[:width])
        by, at, category, proves, noted_by, noted_ms = r[width:]
        noted = None
        if category is not None:
            noted = Note(item.item_id, category, proves, noted_by, noted_ms)
        out.append(Linked(item, by, at, noted))
    return out


def cases_of(cur: "Cursor", item_id: str) -> "list[Case]":
    """The cases that hold item ``item_id`` (``CASES_OF_SQL``)."""
    return [_case(r) for r in cur.execute(CASES_OF_SQL, (item_id,)).fetchall()]


def note_of(cur: "Cursor", item_id: str) -> "Note | None":
    row = cur.execute(
        "SELECT item_id, category, proves, noted_by, noted_ms FROM item_notes WHERE item_id = ?",
        (item_id,),
    ).fetchone()
    return None if row is None else Note(*row)


def note(
    cur: "Cursor",
    item_id: str,
    category: "str | None",
    proves: "str | None",
    by: str,
    now_ms: int,
) -> "tuple[Note | None, Note]":
    """Record item ``item_id``'s category and what it proves (either may be None: kept as
    it was, but not both), by ``by`` at ``now_ms``; returns the old note and the new one, for
    the audit record. CaseError for a category not in ``CATEGORIES``, or nothing to note."""
    items.get(cur, item_id)
    if category is None and proves is None:
        raise CaseError(i18n.text("case.err.nothing_to_note", known=", ".join(CATEGORIES)))
    old = note_of(cur, item_id)
    if category is not None and category not in CATEGORIES:
        raise CaseError(
            i18n.text("case.err.category", category=category, known=", ".join(CATEGORIES))
        )
    if proves is not None:
        proves = check_text(i18n.text("case.what.proves"), proves)
    if category is None or proves is None:
        if old is None:
            raise CaseError(
                i18n.text("case.err.no_note", item=item_id, known=", ".join(CATEGORIES))
            )
        category = old.category if category is None else category
        proves = old.proves if proves is None else proves
    new = Note(item_id, category, proves, by, now_ms)
    cur.execute(
        "INSERT INTO item_notes VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET "
        "category = excluded.category, proves = excluded.proves, "
        "noted_by = excluded.noted_by, noted_ms = excluded.noted_ms",
        (new.item_id, new.category, new.proves, new.noted_by, new.noted_ms),
    )
    return old, new


def case_flags(cur: "Cursor", case: Case) -> "list[CaseFlag]":
    """The flags of ``case`` as the store holds it: the linked recordings' ledgers are read
    only for a full-recording type, and then only their own spans."""
    kind = kind_of(cur, case)
    held = linked(cur, case.case_no)
    return flags(kind, held, findings_of(cur, held) if needs_findings(kind) else {})


def findings_of(cur: "Cursor", held: "list[Linked]") -> "dict[str, compliance.RecordingFindings]":
    """Each linked recording's findings (``host.compliance.findings_in_store``), from its
    record-start through its last entry."""
    out = {}
    for x in held:
        if x.is_footage:
            it = x.item
            out[it.item_id] = compliance.findings_in_store(
                cur, it.device_id, min(it.rec, it.first_seq), it.last_seq
            )
    return out
