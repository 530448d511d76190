"""The registers of recorders (台账): devices, who took which one when, units and their
officers (R-HOST-8), and what the register says about the footage (R-HOST-8, R-HOST-10).

The regulations make an agency keep a ledger of its recorders with a named keeper, a log of
who took each one out and gave it back or passed it on ("who uses it is responsible"), and
its maintenance; a device lost or not returned is a violation. Here:

- ``device_register``: one row per recorder the agency keeps: model, serial, unit, keeper,
  state (in service, in repair, lost, retired) and since when. A recorder must be enrolled
  in the evidence store first (``devices``: its id and public key, written by ``sealcam
  enrol``); the register adds what the agency knows of it and never changes the enrolment,
  which the store keeps append-only. (The plan called this table ``devices``; that name is
  the enrolment's, so the register's rows sit beside it under their own.)
- ``device_log``: every registration, state change and maintenance, with who and when: the
  device's history, from which its state at any moment is read.
- ``checkouts``: 领用 and 归还: a row per period one officer held a device, from ``taken_ms``
  to ``returned_ms`` (NULL while out), due back at ``due_ms``; a handover (交接) ends the
  giver's row and starts the receiver's with ``handed_from``. At most one row of a device is
  open at a time.
- ``units`` and ``unit_members``: the units, their class (A, B, C, which sets how many
  recorders they must have: ``host.allocation``) and front-line officers, and which unit
  each officer id (as the recorders write it on the footage) belongs to.

``device_findings`` reads the footage (``host.items``) against this: a recording whose
officer is not the device's holder at its start, or from a device lost or retired then (or
docked while it was), a device reported lost, a checkout not back by its due time.

The tables are made with the other evidence-management tables (``host.access.prepare``).
The rules take the caller's DB-API cursor and times (UTC ms): no clock and no I/O here. A
change goes through ``host.access.Desk.act`` (``register``, ``checkout``, ``return``,
``handover``), which records it in the audit trail in the same transaction. Unknown names
and impossible values raise ``RegisterError`` (unusable input); a request that contradicts
the register (a device already out, a return of one never taken, a giver who does not hold
the device) raises ``Refused``; both roll the change back and leave the attempt on record.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host import i18n, items
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host.sqlstore import Cursor

SCHEMA = """
-- The device register (host.registers, R-HOST-8): what the agency knows of each enrolled
-- recorder (its key is in devices). state: in-service | in-repair | lost | retired.
CREATE TABLE IF NOT EXISTS device_register (
    device_id      TEXT PRIMARY KEY,
    model          TEXT NOT NULL,
    serial         TEXT NOT NULL,
    unit_id        TEXT NOT NULL,
    keeper         TEXT NOT NULL,
    state          TEXT NOT NULL,
    state_ms       INTEGER NOT NULL,
    registered_by  TEXT NOT NULL,
    registered_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS device_register_unit ON device_register (unit_id, state);
-- A device's history: kind register | state | maintenance | change; old and new states
-- (a change: the particulars changed, as text), a note, who, when.
CREATE TABLE IF NOT EXISTS device_log (
    id         INTEGER PRIMARY KEY,
    device_id  TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    old        TEXT,
    new        TEXT,
    note       TEXT,
    by         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS device_log_device ON device_log (device_id, at_ms, id);
-- Checkouts (领用), returns (归还) and handovers (交接): one row per holding.
CREATE TABLE IF NOT EXISTS checkouts (
    id           INTEGER PRIMARY KEY,
    device_id    TEXT NOT NULL,
    officer_id   TEXT NOT NULL,
    taken_ms     INTEGER NOT NULL,
    due_ms       INTEGER NOT NULL,
    returned_ms  INTEGER,
    handed_from  TEXT,
    recorded_by  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checkouts_device ON checkouts (device_id, taken_ms);
-- One holder at a time, whatever writes the table.
CREATE UNIQUE INDEX IF NOT EXISTS checkouts_open ON checkouts (device_id)
    WHERE returned_ms IS NULL;
CREATE INDEX IF NOT EXISTS checkouts_due ON checkouts (due_ms);
-- Units (R-HOST-9): class A, B or C; officers: its front-line officers; parent: the unit
-- above it, or NULL.
CREATE TABLE IF NOT EXISTS units (
    unit_id   TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    class     TEXT NOT NULL,
    officers  INTEGER NOT NULL,
    parent    TEXT
);
-- Which unit each officer belongs to, by the officer id the recorders write on footage.
CREATE TABLE IF NOT EXISTS unit_members (
    officer_id  TEXT PRIMARY KEY,
    unit_id     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unit_members_unit ON unit_members (unit_id);
"""

# Device states.
IN_SERVICE = "in-service"
IN_REPAIR = "in-repair"
LOST = "lost"
RETIRED = "retired"
STATES = (IN_SERVICE, IN_REPAIR, LOST, RETIRED)

# Unit classes (000 §6): A at least one recorder per two front-line officers, B one per
# three, C at least two.
CLASSES = ("A", "B", "C")

# Kinds of device_log rows.
LOG_REGISTER = "register"
LOG_STATE = "state"
LOG_MAINTENANCE = "maintenance"
LOG_CHANGE = "change"

# What the register finds (``DeviceFinding.kind``), each with the rule it serves.
F_LOST = "lost"  # a device reported lost (R-HOST-10: loss)
F_NOT_RETURNED = "not-returned"  # a checkout not back by its due time (R-HOST-10)
F_WRONG_OFFICER = "wrong-officer"  # footage of an officer who did not hold the device (R-HOST-8)
F_RETIRED_DOCKED = "retired-docked"  # footage from a device retired then (R-HOST-8)
F_LOST_DOCKED = "lost-docked"  # footage from a device lost then (R-HOST-8, R-HOST-10)
FINDING_RULES = {
    F_LOST: "R-HOST-10",
    F_NOT_RETURNED: "R-HOST-10",
    F_WRONG_OFFICER: "R-HOST-8",
    F_RETIRED_DOCKED: "R-HOST-8",
    F_LOST_DOCKED: "R-HOST-8",
}
FINDING_KINDS = tuple(FINDING_RULES)

# Why a request contradicts the register (``Refused.reason``, in the audit record).
ALREADY_OUT = "device-already-out"
NOT_OUT = "device-not-out"
NOT_HOLDER = "not-the-holder"
NOT_IN_SERVICE = "device-not-in-service"
OUT_NOW = "device-out"  # in repair or retired while an officer holds it

TEXT_MAX = 200  # characters of a model, a serial, a keeper, a name
NOTE_MAX = 2000  # characters of a maintenance note
OFFICERS_MAX = 1_000_000  # front-line officers of one unit: more is a typo


class RegisterError(Unusable):
    """No such device, unit or officer; a device not enrolled; a value that is none (a
    state, a class, a count): the message says what to give."""


@dataclass(frozen=True)
class Device:
    """A registered recorder; ``public_key`` is its enrolled key (hex)."""

    device_id: str
    model: str
    serial: str
    unit_id: str
    keeper: str
    state: str
    state_ms: int
    registered_by: str
    registered_ms: int
    public_key: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LogEntry:
    device_id: str
    at_ms: int
    kind: str
    old: "str | None"
    new: "str | None"
    note: "str | None"
    by: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Checkout:
    id: int
    device_id: str
    officer_id: str
    taken_ms: int
    due_ms: int
    returned_ms: "int | None"
    handed_from: "str | None"
    recorded_by: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    klass: str
    officers: int
    parent: "str | None"

    def to_dict(self) -> dict:
        return {
            "unit_id": self.unit_id,
            "name": self.name,
            "class": self.klass,
            "officers": self.officers,
            "parent": self.parent,
        }


@dataclass(frozen=True)
class DeviceFinding:
    """What the register finds (R-HOST-8, R-HOST-10): ``kind`` (``FINDING_KINDS``), the
    device, the officer it concerns (the footage's, the holder's) and the recording (an item
    id) where there is one, when (UTC ms), the unit answerable, the rule, and the
    particulars for the words a person reads (holder, due time, states and their times)."""

    kind: str
    device_id: str
    officer_id: "str | None"
    item_id: "str | None"
    at_ms: int
    unit_id: "str | None"
    rule: str
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "device_id": self.device_id,
            "officer_id": self.officer_id,
            "item_id": self.item_id,
            "at_ms": self.at_ms,
            "unit_id": self.unit_id,
            "rule": self.rule,
            "detail": dict(self.detail),
        }


# --- checks on what a person gives ---------------------------------------------------------


def check_text(what: str, text: str, limit: int = TEXT_MAX) -> str:
    """``text`` stripped; RegisterError when empty, too long or holding control characters."""
    text = (text or "").strip()
    if not text or len(text) > limit or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise RegisterError(i18n.text("register.err.text", what=what, limit=limit))
    return text


def check_id(what: str, text: str) -> str:
    """An id (a unit's, an officer's): text without spaces."""
    text = check_text(what, text, 100)
    if any(c.isspace() for c in text):
        raise RegisterError(i18n.text("register.err.id_spaces", what=what, id=text))
    return text


def check_state(state: str) -> str:
    if state not in STATES:
        raise RegisterError(i18n.text("device.err.state", state=state, known=", ".join(STATES)))
    return state


def check_class(klass: str) -> str:
    if klass not in CLASSES:
        raise RegisterError(i18n.text("unit.err.class", klass=klass, known=", ".join(CLASSES)))
    return klass


def check_officers(count: object) -> int:
    """A unit's front-line officers: a whole number from 0 to ``OFFICERS_MAX``."""
    try:
        value = int(str(count).strip())
    except ValueError:
        value = -1
    if value < 0 or value > OFFICERS_MAX or str(count).strip().lstrip("+") != str(value):
        raise RegisterError(i18n.text("unit.err.officers", count=count, most=OFFICERS_MAX))
    return value


# --- units and their officers --------------------------------------------------------------


def _unit(row: tuple) -> Unit:
    return Unit(row[0], row[1], row[2], int(row[3]), row[4])


def find_unit(cur: "Cursor", unit_id: str) -> "Unit | None":
    row = cur.execute(
        "SELECT unit_id, name, class, officers, parent FROM units WHERE unit_id = ?", (unit_id,)
    ).fetchone()
    return None if row is None else _unit(row)


def unit(cur: "Cursor", unit_id: str) -> Unit:
    """The unit ``unit_id``; RegisterError naming it when there is none."""
    found = find_unit(cur, unit_id)
    if found is None:
        raise RegisterError(i18n.text("unit.err.unknown", unit=unit_id))
    return found


def units(cur: "Cursor") -> "list[Unit]":
    rows = cur.execute("SELECT unit_id, name, class, officers, parent FROM units ORDER BY unit_id")
    return [_unit(r) for r in rows.fetchall()]


def _check_parent(cur: "Cursor", unit_id: str, parent: "str | None") -> None:
    """The parent must exist and must not be the unit itself or below it."""
    seen = {unit_id}
    at = parent
    while at is not None:
        if at in seen:
            raise RegisterError(i18n.text("unit.err.parent_cycle", unit=unit_id, parent=parent))
        seen.add(at)
        at = unit(cur, at).parent


def add_unit(
    cur: "Cursor", unit_id: str, name: str, klass: str, officers: object, parent: "str | None"
) -> Unit:
    """A new unit; RegisterError when the id is taken or a value is none."""
    new = Unit(
        check_id(i18n.text("unit.what.id"), unit_id),
        check_text(i18n.text("unit.what.name"), name),
        check_class(klass),
        check_officers(officers),
        parent or None,
    )
    if find_unit(cur, new.unit_id) is not None:
        raise RegisterError(i18n.text("unit.err.exists", unit=new.unit_id))
    _check_parent(cur, new.unit_id, new.parent)
    cur.execute(
        "INSERT INTO units VALUES (?, ?, ?, ?, ?)",
        (new.unit_id, new.name, new.klass, new.officers, new.parent),
    )
    return new


def set_unit(
    cur: "Cursor",
    unit_id: str,
    name: "str | None" = None,
    klass: "str | None" = None,
    officers: "object | None" = None,
    parent: "str | None" = None,
) -> "tuple[Unit, Unit]":
    """Change what is given of unit ``unit_id`` (``parent`` "" for none); returns the old
    and the new unit. RegisterError for no such unit, nothing to change, or a value that is
    none."""
    old = unit(cur, unit_id)
    if name is None and klass is None and officers is None and parent is None:
        raise RegisterError(i18n.text("unit.err.nothing", unit=unit_id))
    new = Unit(
        unit_id,
        old.name if name is None else check_text(i18n.text("unit.what.name"), name),
        old.klass if klass is None else check_class(klass),
        old.officers if officers is None else check_officers(officers),
        old.parent if parent is None else (parent or None),
    )
    _check_parent(cur, unit_id, new.parent)
    cur.execute(
        "UPDATE units SET name = ?, class = ?, officers = ?, parent = ? WHERE unit_id = ?",
        (new.name, new.klass, new.officers, new.parent, unit_id),
    )
    return old, new


def unit_of(cur: "Cursor", officer_id: str) -> "str | None":
    """The unit officer ``officer_id`` (as on the footage) belongs to, or None."""
    row = cur.execute(
        "SELECT unit_id FROM unit_members WHERE officer_id = ?", (officer_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def set_member(cur: "Cursor", officer_id: str, unit_id: str) -> "str | None":
    """Put officer ``officer_id`` in unit ``unit_id`` (moving them from their old one);
    returns the old unit, or None. RegisterError for no such unit."""
    officer_id = check_id(i18n.text("unit.what.officer"), officer_id)
    unit(cur, unit_id)
    old = unit_of(cur, officer_id)
    cur.execute(
        "INSERT INTO unit_members VALUES (?, ?) ON CONFLICT (officer_id) "
        "DO UPDATE SET unit_id = excluded.unit_id",
        (officer_id, unit_id),
    )
    return old


def members(cur: "Cursor", unit_id: "str | None" = None) -> "list[tuple[str, str]]":
    """``(officer_id, unit_id)``, of one unit or of all, by officer id."""
    sql = "SELECT officer_id, unit_id FROM unit_members"
    params: tuple = ()
    if unit_id is not None:
        sql += " WHERE unit_id = ?"
        params = (unit_id,)
    return [(r[0], r[1]) for r in cur.execute(sql + " ORDER BY officer_id", params).fetchall()]


def check_officer(cur: "Cursor", officer_id: str) -> str:
    """An officer the register knows (a member of a unit); RegisterError otherwise."""
    if unit_of(cur, officer_id) is None:
        raise RegisterError(i18n.text("unit.err.unknown_officer", officer=officer_id))
    return officer_id


# --- the device register -------------------------------------------------------------------

_DEVICE_COLUMNS = (
    "r.device_id, r.model, r.serial, r.unit_id, r.keeper, r.state, r.state_ms, "
    "r.registered_by, r.registered_ms, d.public_key"
)
_DEVICE_SQL = (
    "SELECT %s FROM device_register r LEFT JOIN devices d ON d.device_id = r.device_id"
    % _DEVICE_COLUMNS
)


def _device(row: tuple) -> Device:
    key = bytes(row[9]).hex() if row[9] is not None else ""
    return Device(
        row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), row[7], int(row[8]), key
    )


def find_device(cur: "Cursor", device_id: str) -> "Device | None":
    row = cur.execute(_DEVICE_SQL + " WHERE r.device_id = ?", (device_id,)).fetchone()
    return None if row is None else _device(row)


def device(cur: "Cursor", device_id: str) -> Device:
    """The registered device ``device_id``; RegisterError when the register has none."""
    found = find_device(cur, device_id)
    if found is None:
        raise RegisterError(i18n.text("device.err.unknown", device=device_id))
    return found


def devices(
    cur: "Cursor", unit_id: "str | None" = None, state: "str | None" = None
) -> "list[Device]":
    """Registered devices (of a unit, in a state, when given), by id."""
    where, params = [], []
    if unit_id is not None:
        where.append("r.unit_id = ?")
        params.append(unit_id)
    if state is not None:
        where.append("r.state = ?")
        params.append(state)
    sql = _DEVICE_SQL + (" WHERE " + " AND ".join(where) if where else "")
    return [_device(r) for r in cur.execute(sql + " ORDER BY r.device_id", params).fetchall()]


def _log(
    cur: "Cursor",
    device_id: str,
    at_ms: int,
    kind: str,
    old: "str | None",
    new: "str | None",
    note: "str | None",
    by: str,
) -> None:
    cur.execute(
        "INSERT INTO device_log (device_id, at_ms, kind, old, new, note, by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (device_id, at_ms, kind, old, new, note, by),
    )


def register(
    cur: "Cursor",
    device_id: str,
    model: str,
    serial: str,
    unit_id: str,
    keeper: str,
    by: str,
    now_ms: int,
    state: str = IN_SERVICE,
) -> Device:
    """Add enrolled device ``device_id`` to the register. RegisterError when it is not
    enrolled (its key must be in the store first), registered already, its unit unknown, or
    a value is none."""
    enrolled = cur.execute(
        "SELECT public_key FROM devices WHERE device_id = ?", (device_id,)
    ).fetchone()
    if enrolled is None:
        raise RegisterError(i18n.text("device.err.not_enrolled", device=device_id))
    if find_device(cur, device_id) is not None:
        raise RegisterError(i18n.text("device.err.exists", device=device_id))
    new = Device(
        device_id,
        check_text(i18n.text("device.what.model"), model),
        check_text(i18n.text("device.what.serial"), serial),
        unit(cur, unit_id).unit_id,
        check_text(i18n.text("device.what.keeper"), keeper),
        check_state(state),
        now_ms,
        by,
        now_ms,
        bytes(enrolled[0]).hex(),
    )
    cur.execute(
        "INSERT INTO device_register VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.device_id,
            new.model,
            new.serial,
            new.unit_id,
            new.keeper,
            new.state,
            new.state_ms,
            new.registered_by,
            new.registered_ms,
        ),
    )
    _log(cur, device_id, now_ms, LOG_REGISTER, None, new.state, None, by)
    return new


def change(
    cur: "Cursor",
    device_id: str,
    by: str,
    now_ms: int,
    unit_id: "str | None" = None,
    keeper: "str | None" = None,
    model: "str | None" = None,
    serial: "str | None" = None,
) -> "tuple[Device, Device]":
    """Change a registered device's particulars (its unit, keeper, model, serial); returns
    the old and the new. RegisterError for nothing to change or a value that is none."""
    old = device(cur, device_id)
    if unit_id is None and keeper is None and model is None and serial is None:
        raise RegisterError(i18n.text("device.err.nothing", device=device_id))
    new = Device(
        device_id,
        old.model if model is None else check_text(i18n.text("device.what.model"), model),
        old.serial if serial is None else check_text(i18n.text("device.what.serial"), serial),
        old.unit_id if unit_id is None else unit(cur, unit_id).unit_id,
        old.keeper if keeper is None else check_text(i18n.text("device.what.keeper"), keeper),
        old.state,
        old.state_ms,
        old.registered_by,
        old.registered_ms,
        old.public_key,
    )
    cur.execute(
        "UPDATE device_register SET model = ?, serial = ?, unit_id = ?, keeper = ? "
        "WHERE device_id = ?",
        (new.model, new.serial, new.unit_id, new.keeper, device_id),
    )
    changed = [
        "%s: %s -> %s" % (k, getattr(old, k), getattr(new, k))
        for k in ("model", "serial", "unit_id", "keeper")
        if getattr(old, k) != getattr(new, k)
    ]
    _log(cur, device_id, now_ms, LOG_CHANGE, None, None, "; ".join(changed), by)
    return old, new


def set_state(
    cur: "Cursor", device_id: str, state: str, note: "str | None", by: str, now_ms: int
) -> "tuple[str, str]":
    """Put device ``device_id`` in ``state`` from ``now_ms`` (a loss report, a repair, a
    retirement, back in service); returns the old state and the new. RegisterError for a
    state that is none or the one it is in, or a retired device (retirement is final);
    Refused for repair or retirement while an officer holds it (return it first). A loss
    leaves the checkout open: the holder is still answerable for it."""
    old = device(cur, device_id)
    check_state(state)
    if note is not None:
        note = check_text(i18n.text("device.what.note"), note, NOTE_MAX)
    if old.state == RETIRED:
        raise RegisterError(i18n.text("device.err.retired", device=device_id))
    if state == old.state:
        raise RegisterError(i18n.text("device.err.same_state", device=device_id, state=state))
    out = open_checkout(cur, device_id)
    if out is not None and state in (IN_REPAIR, RETIRED):
        raise Refused(
            i18n.text("device.err.out_now", device=device_id, officer=out.officer_id), OUT_NOW
        )
    cur.execute(
        "UPDATE device_register SET state = ?, state_ms = ? WHERE device_id = ?",
        (state, now_ms, device_id),
    )
    _log(cur, device_id, now_ms, LOG_STATE, old.state, state, note, by)
    return old.state, state


def maintain(cur: "Cursor", device_id: str, note: str, by: str, now_ms: int) -> LogEntry:
    """Note maintenance (维护) of device ``device_id`` in its log."""
    device(cur, device_id)
    text = check_text(i18n.text("device.what.note"), note, NOTE_MAX)
    _log(cur, device_id, now_ms, LOG_MAINTENANCE, None, None, text, by)
    return LogEntry(device_id, now_ms, LOG_MAINTENANCE, None, None, text, by)


def history(cur: "Cursor", device_id: str) -> "list[LogEntry]":
    """Device ``device_id``'s log, oldest first."""
    rows = cur.execute(
        "SELECT device_id, at_ms, kind, old, new, note, by FROM device_log "
        "WHERE device_id = ? ORDER BY at_ms, id",
        (device_id,),
    )
    return [LogEntry(*r) for r in rows.fetchall()]


def state_at(cur: "Cursor", device_id: str, at_ms: int) -> "tuple[str, int] | None":
    """The state device ``device_id`` was in at ``at_ms`` and since when, from its log;
    None before it was registered."""
    row = cur.execute(
        "SELECT new, at_ms FROM device_log WHERE device_id = ? AND kind IN (?, ?) "
        "AND at_ms <= ? ORDER BY at_ms DESC, id DESC LIMIT 1",
        (device_id, LOG_REGISTER, LOG_STATE, at_ms),
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


# --- checkout, return, handover ------------------------------------------------------------

_CHECKOUT_COLUMNS = (
    "id, device_id, officer_id, taken_ms, due_ms, returned_ms, handed_from, recorded_by"
)


def open_checkout(cur: "Cursor", device_id: str) -> "Checkout | None":
    """The holding of device ``device_id`` not yet ended, or None (it is in)."""
    row = cur.execute(
        "SELECT %s FROM checkouts WHERE device_id = ? AND returned_ms IS NULL "
        "ORDER BY taken_ms DESC, id DESC LIMIT 1" % _CHECKOUT_COLUMNS,
        (device_id,),
    ).fetchone()
    return None if row is None else Checkout(*row)


def holder_at(cur: "Cursor", device_id: str, at_ms: int) -> "Checkout | None":
    """The holding of device ``device_id`` at ``at_ms`` (taken at or before it, not ended
    by then), or None."""
    row = cur.execute(
        "SELECT %s FROM checkouts WHERE device_id = ? AND taken_ms <= ? "
        "AND (returned_ms IS NULL OR returned_ms > ?) "
        "ORDER BY taken_ms DESC, id DESC LIMIT 1" % _CHECKOUT_COLUMNS,
        (device_id, at_ms, at_ms),
    ).fetchone()
    return None if row is None else Checkout(*row)


def checkouts(
    cur: "Cursor", device_id: "str | None" = None, officer_id: "str | None" = None
) -> "list[Checkout]":
    """Holdings (of a device, of an officer, when given), oldest first."""
    where, params = [], []
    if device_id is not None:
        where.append("device_id = ?")
        params.append(device_id)
    if officer_id is not None:
        where.append("officer_id = ?")
        params.append(officer_id)
    sql = "SELECT %s FROM checkouts" % _CHECKOUT_COLUMNS
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = cur.execute(sql + " ORDER BY taken_ms, id", params).fetchall()
    return [Checkout(*r) for r in rows]


def _insert_checkout(
    cur: "Cursor",
    device_id: str,
    officer_id: str,
    now_ms: int,
    due_ms: int,
    handed_from: "str | None",
    by: str,
) -> Checkout:
    cur.execute(
        "INSERT INTO checkouts (device_id, officer_id, taken_ms, due_ms, returned_ms, "
        "handed_from, recorded_by) VALUES (?, ?, ?, ?, NULL, ?, ?) RETURNING id",
        (device_id, officer_id, now_ms, due_ms, handed_from, by),
    )
    return Checkout(
        int(cur.fetchone()[0]), device_id, officer_id, now_ms, due_ms, None, handed_from, by
    )


def _in_service(cur: "Cursor", device_id: str) -> Device:
    found = device(cur, device_id)
    if found.state != IN_SERVICE:
        raise Refused(
            i18n.text("device.err.not_in_service", device=device_id, state=found.state),
            NOT_IN_SERVICE,
        )
    return found


def checkout(
    cur: "Cursor", device_id: str, officer_id: str, due_ms: int, by: str, now_ms: int
) -> Checkout:
    """领用: officer ``officer_id`` takes device ``device_id`` at ``now_ms``, due back at
    ``due_ms``. RegisterError for an unknown device or officer, or a due time not after
    now; Refused when the device is out already or not in service."""
    _in_service(cur, device_id)
    check_officer(cur, officer_id)
    out = open_checkout(cur, device_id)
    if out is not None:
        raise Refused(
            i18n.text("device.err.already_out", device=device_id, officer=out.officer_id),
            ALREADY_OUT,
        )
    if due_ms <= now_ms:
        raise RegisterError(i18n.text("device.err.due", device=device_id))
    return _insert_checkout(cur, device_id, officer_id, now_ms, due_ms, None, by)


def give_back(
    cur: "Cursor", device_id: str, by: str, now_ms: int, officer_id: "str | None" = None
) -> Checkout:
    """归还: device ``device_id`` comes back at ``now_ms`` (from ``officer_id``, when given,
    who must be its holder); returns the holding it ends. RegisterError for an unknown
    device; Refused when it is not out, or ``officer_id`` does not hold it."""
    device(cur, device_id)
    out = open_checkout(cur, device_id)
    if out is None:
        raise Refused(i18n.text("device.err.not_out", device=device_id), NOT_OUT)
    if officer_id is not None and officer_id != out.officer_id:
        raise Refused(
            i18n.text(
                "device.err.not_holder", device=device_id, officer=officer_id, holder=out.officer_id
            ),
            NOT_HOLDER,
        )
    cur.execute("UPDATE checkouts SET returned_ms = ? WHERE id = ?", (now_ms, out.id))
    return Checkout(
        out.id,
        out.device_id,
        out.officer_id,
        out.taken_ms,
        out.due_ms,
        now_ms,
        out.handed_from,
        out.recorded_by,
    )


def handover(
    cur: "Cursor",
    device_id: str,
    giver: str,
    receiver: str,
    by: str,
    now_ms: int,
    due_ms: "int | None" = None,
) -> "tuple[Checkout, Checkout]":
    """交接: ``giver``, who holds device ``device_id``, passes it to ``receiver`` at
    ``now_ms``; from then the receiver is answerable ("who uses it is responsible"). Due back
    at ``due_ms``, or when the giver's holding was. Returns the ended holding and the new.
    RegisterError for an unknown device or receiver, a receiver who is the giver, or a due
    time not after now; Refused when the giver does not hold the device, or it is not in
    service (reported lost while out)."""
    device(cur, device_id)
    out = open_checkout(cur, device_id)
    if out is None or out.officer_id != giver:
        holder = out.officer_id if out else "-"
        raise Refused(
            i18n.text("device.err.not_holder", device=device_id, officer=giver, holder=holder),
            NOT_HOLDER,
        )
    _in_service(cur, device_id)  # a device reported lost is in nobody's hands to pass on
    check_officer(cur, receiver)
    if receiver == giver:
        raise RegisterError(i18n.text("device.err.same_officer", device=device_id, officer=giver))
    due = out.due_ms if due_ms is None else due_ms
    if due <= now_ms:
        raise RegisterError(i18n.text("device.err.due", device=device_id))
    ended = give_back(cur, device_id, by, now_ms, giver)
    return ended, _insert_checkout(cur, device_id, receiver, now_ms, due, giver, by)


# --- what the register finds ---------------------------------------------------------------


def _unit_for(cur: "Cursor", officer_id: "str | None", fallback: str) -> str:
    found = unit_of(cur, officer_id) if officer_id else None
    return found or fallback


def _docked_ms(cur: "Cursor", item: items.Item) -> "int | None":
    row = cur.execute(
        "SELECT min(received_ms) FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ?",
        (item.device_id, item.first_seq, item.last_seq),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def footage_findings(
    cur: "Cursor", dev: Device, item: items.Item, since_ms: int, until_ms: int
) -> "list[DeviceFinding]":
    """What the register says of one recording of ``dev``: made by an officer who did not
    hold the device when it started (R-HOST-8), or made or docked while the device was lost
    or retired; only what happened in [since_ms, until_ms)."""
    out: list[DeviceFinding] = []
    start = item.started_ms
    state = state_at(cur, dev.device_id, start)
    if state is None:
        return out  # made before the device was registered: the register cannot judge it
    docked = _docked_ms(cur, item)
    # Lost or retired when it recorded, or when its footage reached the store.
    for when, label in ((start, "recorded"), (docked, "docked")):
        if when is None:
            continue
        then = state_at(cur, dev.device_id, when)
        if then is None or then[0] not in (LOST, RETIRED):
            continue
        kind = F_LOST_DOCKED if then[0] == LOST else F_RETIRED_DOCKED
        if since_ms <= when < until_ms:
            out.append(
                DeviceFinding(
                    kind,
                    dev.device_id,
                    item.officer,
                    item.item_id,
                    when,
                    _unit_for(cur, item.officer, dev.unit_id),
                    FINDING_RULES[kind],
                    {
                        "state": then[0],
                        "state_ms": then[1],
                        "when": label,
                        "started_ms": start,
                        "docked_ms": docked,
                    },
                )
            )
        break
    if not since_ms <= start < until_ms:
        return out
    held = holder_at(cur, dev.device_id, start)
    holder = held.officer_id if held else None
    if item.officer != holder and state[0] not in (LOST, RETIRED):
        out.append(
            DeviceFinding(
                F_WRONG_OFFICER,
                dev.device_id,
                item.officer,
                item.item_id,
                start,
                _unit_for(cur, item.officer, dev.unit_id),
                FINDING_RULES[F_WRONG_OFFICER],
                {
                    "holder": holder,
                    "holder_unit": unit_of(cur, holder) if holder else None,
                    "taken_ms": held.taken_ms if held else None,
                },
            )
        )
    return out


def device_findings(cur: "Cursor", since_ms: int, until_ms: int) -> "list[DeviceFinding]":
    """Everything the register finds in [since_ms, until_ms), as it stands at ``until_ms``
    (a caller judging up to now passes now): footage against the register (``footage_
    findings``), each loss report, each holding not ended by its due time (at its due time).
    Sorted by time, then device."""
    out: list[DeviceFinding] = []
    registered = {d.device_id: d for d in devices(cur)}
    # Losses reported in the period, with who held the device then.
    for device_id, at_ms, old, note in cur.execute(
        "SELECT device_id, at_ms, old, note FROM device_log WHERE kind = ? AND new = ? "
        "AND at_ms >= ? AND at_ms < ? ORDER BY at_ms, id",
        (LOG_STATE, LOST, since_ms, until_ms),
    ).fetchall():
        dev = registered.get(device_id)
        if dev is None:
            continue
        held = holder_at(cur, device_id, at_ms)
        officer = held.officer_id if held else None
        out.append(
            DeviceFinding(
                F_LOST,
                device_id,
                officer,
                None,
                at_ms,
                _unit_for(cur, officer, dev.unit_id),
                FINDING_RULES[F_LOST],
                {"previous": old, "note": note, "keeper": dev.keeper},
            )
        )
    # Holdings due in the period and not ended by then (still out, or back late).
    for row in cur.execute(
        "SELECT %s FROM checkouts WHERE due_ms >= ? AND due_ms < ? "
        "AND (returned_ms IS NULL OR returned_ms > due_ms) ORDER BY due_ms, id" % _CHECKOUT_COLUMNS,
        (since_ms, until_ms),
    ).fetchall():
        c = Checkout(*row)
        dev = registered.get(c.device_id)
        fallback = dev.unit_id if dev else None
        out.append(
            DeviceFinding(
                F_NOT_RETURNED,
                c.device_id,
                c.officer_id,
                None,
                c.due_ms,
                unit_of(cur, c.officer_id) or fallback,
                FINDING_RULES[F_NOT_RETURNED],
                {
                    "taken_ms": c.taken_ms,
                    "due_ms": c.due_ms,
                    # A return after the period is not known as of its end.
                    "returned_ms": c.returned_ms
                    if c.returned_ms is not None and c.returned_ms < until_ms
                    else None,
                    "handed_from": c.handed_from,
                },
            )
        )
    # The footage of registered devices: recordings started in the period, and those
    # started earlier whose entries reached the store inside it (a lost device docking).
    for device_id, dev in registered.items():
        row = cur.execute(
            "SELECT min(seq) FROM entries WHERE device_id = ? AND received_ms >= ?",
            (device_id, since_ms),
        ).fetchone()
        first_new = row[0] if row and row[0] is not None else None
        for r in cur.execute(
            "SELECT %s FROM items WHERE device_id = ? AND kind = ? AND started_ms < ? "
            "AND (started_ms >= ? OR last_seq >= ?) ORDER BY started_ms, item_id" % items.COLUMNS,
            (
                device_id,
                items.RECORDING,
                until_ms,
                since_ms,
                first_new if first_new is not None else 1 << 62,
            ),
        ).fetchall():
            out.extend(footage_findings(cur, dev, items._item(r), since_ms, until_ms))
    return sorted(out, key=lambda f: (f.at_ms, f.device_id, f.kind, f.item_id or ""))
