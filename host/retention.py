"""How long the store must keep each recording's footage, and the deletions the rules allow.

R-HOST-3: footage is kept at least two years by default (an agency may set one year); by
category where the agency sets a period for it; as long as the case file for a recording
linked to a case (while the case is open, then at least the default period after it
closes); and forever for the permanent classes: evidence in a major case, obstruction of
enforcement, major emergencies and mass incidents, major or complex cases (and the case
types and categories an agency adds). Every rule that applies to a recording gives a date,
"while the case is open" or "forever"; the longest wins, and the plan names the rule that
won. A legal hold (on the recording, or on a case it is linked to) stops every deletion
until it is released, whatever the rules say.

The rules are a sans-I/O core: ``decide(facts, policy)`` takes what is known of one
recording (``Facts``: when it was recorded, its category, its cases, whether it is held)
and the agency's ``Policy``, and gives the ``Verdict``. Below it, the store's side: the
policy read from ``host.settings``, the facts of every recording read in one query
(``plan``), holds, and deletion's steps. A deletion is asked for with a reason
(``request``), approved by someone else (``approve``), may be taken back within the grace
period (``undo``), and only after it are the media bytes removed (``due`` lists them;
``host.evidence.SqliteEvidenceStore.remove_media`` removes them). The ledger entries are
never deleted (R-HOST-5): the signed record of what was recorded stays, and the audit trail
names every digest removed and the approval behind it, which is how ``sealcam verify``
tells an authorised deletion from a loss. Media is content-addressed, so one file can be
two recordings' (the same initialisation segment, the same silence): it is removed only
with the last recording that names it (``media_refs``, ``shared``).

The case tables (``cases``, ``case_items``, ``item_notes``) belong to ``host.cases``; this
module only reads them, and a store without them gives every recording the default rule.
"""

import datetime
import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple, Protocol

from host import cases, settings, sqlstore
from host.localtime import DEFAULT_ZONE

if TYPE_CHECKING:
    from host.sqlstore import Cursor

DAY_MS = 86_400_000

# The agency's settings (host.settings); changing one is a POLICY_CHANGE by an administrator.
YEARS = settings.declare("retention_years", 2)
GRACE_DAYS = settings.declare("retention_grace_days", 30)
BY_CATEGORY = settings.declare("retention_by_category", {})  # category -> years
AFTER_CLOSE = settings.declare("retention_after_close_years", None)  # None: YEARS
FOREVER_CATEGORIES = settings.declare("retention_forever_categories", [])  # added by the agency
POLICY_SETTINGS = (YEARS, GRACE_DAYS, BY_CATEGORY, AFTER_CLOSE, FOREVER_CATEGORIES)

MIN_YEARS = 1  # R-HOST-3: "at least 2 years; 1 year at some agencies"
MAX_YEARS = 100
MAX_GRACE_DAYS = 3650

# The categories (host.cases.CATEGORIES) the regulations keep forever, and evidence.
EVIDENCE = cases.EVIDENCE
OBSTRUCTION = cases.OBSTRUCTION
EMERGENCY = cases.EMERGENCY
PERMANENT_CATEGORIES = (OBSTRUCTION, EMERGENCY)

# How long a rule keeps a recording: to a date, while a case is open, or forever.
DATED = 0
WHILE_OPEN = 1
FOREVER = 2

# The rules, in the order that breaks a tie (the first of equally long rules is named).
MAJOR_EVIDENCE = "major-case-evidence"
MAJOR_CASE = "major-case"
CASE_TYPE = "permanent-case-type"
RULE_OBSTRUCTION = "obstruction"
RULE_EMERGENCY = "emergency"
AGENCY_FOREVER = "agency-forever"
CASE_OPEN = "case-open"
CASE_CLOSED = "case-closed"
CATEGORY = "category"
DEFAULT = "default"
RULES = (
    MAJOR_EVIDENCE,
    MAJOR_CASE,
    CASE_TYPE,
    RULE_OBSTRUCTION,
    RULE_EMERGENCY,
    AGENCY_FOREVER,
    CASE_OPEN,
    CASE_CLOSED,
    CATEGORY,
    DEFAULT,
)
PERMANENT_RULES = RULES[:6]

# Refusal reasons (host.errors.Refused.reason; they go into the audit record).
HELD = "held"
NOT_DUE = "retention-not-over"
PERMANENT = "permanent-class"
TOO_SHORT = "below-minimum"
OWN_REQUEST = "own-request"
NO_REQUEST = "no-deletion-request"
ALREADY = "already-requested"
GRACE_OVER = "grace-period-over"
NOT_HELD = "not-held"


# --- the rules (sans-I/O) ----------------------------------------------------------------


class CaseFacts(NamedTuple):
    """A case a recording is linked to, as far as retention cares."""

    case_no: str
    case_type: str
    major: bool
    closed_ms: "int | None"  # None: still open


class Facts(NamedTuple):
    """What is known of one recording."""

    item_id: str
    recorded_ms: int
    category: "str | None" = None
    cases: "tuple[CaseFacts, ...]" = ()
    held: bool = False


class Policy(NamedTuple):
    """The agency's retention policy (its settings, with the regulations' defaults)."""

    years: int = 2
    by_category: "Mapping[str, int]" = MappingProxyType({})
    after_close_years: "int | None" = None  # None: ``years``
    forever_categories: "frozenset[str]" = frozenset()
    permanent_case_types: "frozenset[str]" = frozenset()
    grace_days: int = 30

    def base_years(self, category: "str | None") -> int:
        return self.by_category.get(category, self.years) if category else self.years

    def closed_years(self) -> int:
        return self.years if self.after_close_years is None else self.after_close_years

    def shortest_years(self) -> int:
        """The shortest period any dated rule can give: nothing younger is ever deletable."""
        return min([self.years, self.closed_years(), *self.by_category.values()])

    def to_dict(self) -> dict:
        return {
            "retention_years": self.years,
            "retention_by_category": dict(sorted(self.by_category.items())),
            "retention_after_close_years": self.after_close_years,
            "retention_forever_categories": sorted(self.forever_categories),
            "permanent_categories": list(PERMANENT_CATEGORIES),
            "permanent_case_types": sorted(self.permanent_case_types),
            "retention_grace_days": self.grace_days,
        }


class Rule(NamedTuple):
    """One rule's answer for one recording: kept ``until_ms`` (DATED), while ``case_no`` is
    open (WHILE_OPEN), or forever (FOREVER)."""

    name: str
    level: int
    until_ms: int = 0
    case_no: "str | None" = None

    def key(self) -> "tuple[int, int]":
        """Longer rules sort higher: any date < while open < forever."""
        return (self.level, self.until_ms if self.level == DATED else 0)


class Verdict(NamedTuple):
    """How long one recording is kept, the rule that decided it, and whether it is held."""

    item_id: str
    rule: Rule
    held: bool

    @property
    def until_ms(self) -> "int | None":
        """The moment the recording may be deleted; None when no date is set (forever, or
        while a case is open)."""
        return self.rule.until_ms if self.rule.level == DATED else None

    def deletable(self, now_ms: int) -> bool:
        return not self.held and self.rule.level == DATED and self.rule.until_ms <= now_ms


def add_years(ms: int, years: int) -> int:
    """The same moment ``years`` calendar years later in UTC (29 February: the 28th)."""
    return ms + _year_days(ms // DAY_MS, years) * DAY_MS


@functools.lru_cache(maxsize=1 << 16)
def _year_days(day: int, years: int) -> int:
    """How many days ``years`` calendar years after UTC day ``day`` (since 1970) is: the
    same for every moment of that day, so a plan over many recordings computes it once a
    day, not once a recording."""
    start = _EPOCH + datetime.timedelta(days=day)
    try:
        later = start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        later = start.replace(year=start.year + years, day=28)
    return (later - start).days


_EPOCH = datetime.date(1970, 1, 1)


def rules(facts: Facts, policy: Policy) -> "list[Rule]":
    """Every rule that applies to ``facts``, in RULES order (the base rule, category or
    default, always applies)."""
    out = []
    cases = facts.cases
    category = facts.category
    for case in cases:
        if case.major and category == EVIDENCE:
            out.append(Rule(MAJOR_EVIDENCE, FOREVER, 0, case.case_no))
            break
    for case in cases:
        if case.major:
            out.append(Rule(MAJOR_CASE, FOREVER, 0, case.case_no))
            break
    for case in cases:
        if case.case_type in policy.permanent_case_types:
            out.append(Rule(CASE_TYPE, FOREVER, 0, case.case_no))
            break
    if category == OBSTRUCTION:
        out.append(Rule(RULE_OBSTRUCTION, FOREVER))
    elif category == EMERGENCY:
        out.append(Rule(RULE_EMERGENCY, FOREVER))
    if category in policy.forever_categories:
        out.append(Rule(AGENCY_FOREVER, FOREVER))
    for case in cases:
        if case.closed_ms is None:
            out.append(Rule(CASE_OPEN, WHILE_OPEN, 0, case.case_no))
            break
    closed = [c for c in cases if c.closed_ms is not None]
    if closed:
        last = max(closed, key=lambda c: (c.closed_ms, c.case_no))
        until = add_years(int(last.closed_ms or 0), policy.closed_years())
        out.append(Rule(CASE_CLOSED, DATED, until, last.case_no))
    if category is not None and category in policy.by_category:
        years = policy.by_category[category]
        out.append(Rule(CATEGORY, DATED, add_years(facts.recorded_ms, years)))
    else:
        out.append(Rule(DEFAULT, DATED, add_years(facts.recorded_ms, policy.years)))
    return out


def decide(facts: Facts, policy: Policy) -> Verdict:
    """The longest of ``rules(facts, policy)`` (the first of equals), and the hold."""
    found = rules(facts, policy)
    best = found[0]
    for rule in found[1:]:
        if rule.key() > best.key():
            best = rule
    return Verdict(facts.item_id, best, facts.held)


def plan_of(facts: "Iterable[Facts]", policy: Policy, until_ms: int) -> "list[Verdict]":
    """The verdicts of the recordings that may be deleted by ``until_ms`` (held ones
    included: the plan shows what a hold stops), soonest first."""
    out = []
    for f in facts:
        v = decide(f, policy)
        if v.rule.level == DATED and v.rule.until_ms <= until_ms:
            out.append(v)
    out.sort(key=lambda v: (v.rule.until_ms, v.item_id))
    return out


def policy_problem(old: Policy, new: Policy) -> "tuple[str, str, dict] | None":
    """Why the agency may not change its policy from ``old`` to ``new``: ``(reason,
    message id, fields)`` for ``host.i18n``, or None. A period below the regulations'
    minimum, a period for a category kept forever, or a category kept forever no longer."""
    for name, years in (
        ("retention_years", new.years),
        ("retention_after_close_years", new.closed_years()),
        *(("retention_by_category " + c, y) for c, y in sorted(new.by_category.items())),
    ):
        if years < MIN_YEARS:
            return TOO_SHORT, "retention.too_short", {"what": name, "years": years}
    kept = set(PERMANENT_CATEGORIES) | set(old.forever_categories)
    for category in sorted(new.by_category):
        if category in kept:
            return PERMANENT, "retention.permanent_category", {"category": category}
    for category in sorted(set(old.forever_categories) - set(new.forever_categories)):
        return PERMANENT, "retention.permanent_category", {"category": category}
    return None


# --- the store's side ----------------------------------------------------------------------

SCHEMA = """
-- Legal holds (host.retention): on an item, or on a case (every recording linked to it);
-- in force until released. Rows are never deleted.
CREATE TABLE IF NOT EXISTS holds (
    id             INTEGER PRIMARY KEY,
    item_id        TEXT,
    case_no        TEXT,
    reason         TEXT NOT NULL,
    placed_by      TEXT NOT NULL,
    placed_ms      INTEGER NOT NULL,
    released_by    TEXT,
    released_ms    INTEGER,
    release_reason TEXT
);
CREATE INDEX IF NOT EXISTS holds_item ON holds (item_id) WHERE released_ms IS NULL;
CREATE INDEX IF NOT EXISTS holds_case ON holds (case_no) WHERE released_ms IS NULL;
-- Deletions of an item's media (host.retention): asked for, approved by someone else,
-- final after the grace period, then done; or undone. One live row per item.
CREATE TABLE IF NOT EXISTS deletions (
    id             INTEGER PRIMARY KEY,
    item_id        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    requested_ms   INTEGER NOT NULL,
    approved_by    TEXT,
    approved_ms    INTEGER,
    grace_until_ms INTEGER,
    undone_by      TEXT,
    undone_ms      INTEGER,
    deleted_ms     INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS deletions_live ON deletions (item_id) WHERE undone_ms IS NULL;
-- Which recordings name each media file (host.retention), read from the ledger as it grows:
-- content-addressed media can be one file for two recordings (the same initialisation
-- segment, the same silence), and such a file goes only with the last of them.
CREATE TABLE IF NOT EXISTS media_refs (
    digest   BLOB NOT NULL,
    item_id  TEXT NOT NULL,
    PRIMARY KEY (digest, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media_refs_read (
    device_id  TEXT PRIMARY KEY,
    next_seq   INTEGER NOT NULL
);
-- Every media file removed by a deletion: what an export of it says instead of the footage.
CREATE TABLE IF NOT EXISTS deleted_media (
    digest    BLOB PRIMARY KEY,
    deletion  INTEGER NOT NULL
) WITHOUT ROWID;
"""


def has_table(cur: "Cursor", name: str) -> bool:
    return sqlstore.has_table(cur, name)


def policy(cur: "Cursor") -> Policy:
    """The agency's policy as its settings stand."""
    permanent_types = frozenset(n for n, t in cases.case_types(cur).items() if t.permanent)
    after = settings.get(cur, AFTER_CLOSE)
    periods = settings.get(cur, BY_CATEGORY)
    forever = settings.get(cur, FOREVER_CATEGORIES)
    by_category = periods.items() if isinstance(periods, dict) else ()
    return Policy(
        years=_years(settings.get(cur, YEARS)),
        by_category={str(k): _years(v) for k, v in by_category},
        after_close_years=None if after is None else _years(after),
        forever_categories=frozenset(map(str, forever if isinstance(forever, list) else ())),
        permanent_case_types=permanent_types,
        grace_days=_years(settings.get(cur, GRACE_DAYS), 30, 0),
    )


def _years(value: object, default: int = 2, minimum: int = MIN_YEARS) -> int:
    """A setting's number (JSON keeps it an int). What a policy change could never store (a
    store edited by hand) reads as the regulations' default or minimum, never shorter."""
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return max(value, minimum)


def put_policy(cur: "Cursor", new: Policy) -> dict:
    """Store ``new`` (checked by the caller); returns ``{setting: [old, new]}`` of what
    changed, for the audit record."""
    values = {
        YEARS: new.years,
        GRACE_DAYS: new.grace_days,
        BY_CATEGORY: dict(sorted(new.by_category.items())),
        AFTER_CLOSE: new.after_close_years,
        FOREVER_CATEGORIES: sorted(new.forever_categories),
    }
    changed = {}
    for name, value in values.items():
        old = settings.put(cur, name, value)
        if old != value:
            changed[name] = [old, value]
    return changed


def _case_links(
    cur: "Cursor",
    item_id: "str | None" = None,
    stale: bool = False,
    ids: "Sequence[str] | None" = None,
) -> "dict[str, list[CaseFacts]]":
    """item -> the cases it is linked to: all items, one, those of the list ``ids`` (a
    statement per 500), or the stale ones (the plan's index)."""
    if not (has_table(cur, "case_items") and has_table(cur, "cases")):
        return {}
    sql = (
        "SELECT ci.item_id, c.case_no, c.case_type, c.major, c.closed_ms FROM case_items ci "
        "JOIN cases c ON c.case_no = ci.case_no"
    )
    if item_id is not None:
        rows: Iterable[tuple] = cur.execute(sql + " WHERE ci.item_id = ?", (item_id,))
    elif ids is not None:
        rows = sqlstore.rows_in(cur, sql + " WHERE ci.item_id IN (%s)", ids)
    elif stale:
        rows = cur.execute(sql + " WHERE ci.item_id IN (SELECT item_id FROM retention_stale)")
    else:
        rows = cur.execute(sql)
    out: dict = {}
    for item, case_no, case_type, major, closed_ms in rows:
        out.setdefault(item, []).append(CaseFacts(case_no, case_type or "", bool(major), closed_ms))
    for linked in out.values():
        linked.sort()
    return out


def held_items(
    cur: "Cursor",
    item_id: "str | None" = None,
    stale: bool = False,
    ids: "Sequence[str] | None" = None,
) -> "set[str]":
    """The items under a hold in force (directly, or through a held case): all of them,
    ``item_id`` alone when it is held, those of the list ``ids`` that are (a statement per
    500, twice), or the stale ones that are (the plan's index)."""
    if not has_table(cur, "holds"):
        return set()
    direct = "SELECT item_id FROM holds WHERE released_ms IS NULL AND item_id IS NOT NULL"
    by_case = (
        "SELECT ci.item_id FROM holds h JOIN case_items ci ON ci.case_no = h.case_no "
        "WHERE h.released_ms IS NULL"
    )
    with_cases = has_table(cur, "case_items")
    if ids is not None:
        held = {r[0] for r in sqlstore.rows_in(cur, direct + " AND item_id IN (%s)", ids)}
        if with_cases:
            held |= {r[0] for r in sqlstore.rows_in(cur, by_case + " AND ci.item_id IN (%s)", ids)}
        return held
    args: tuple = ()
    if item_id is not None:
        direct += " AND item_id = ?"
        by_case += " AND ci.item_id = ?"
        args = (item_id,)
    elif stale:
        direct += " AND item_id IN (SELECT item_id FROM retention_stale)"
        by_case += " AND ci.item_id IN (SELECT item_id FROM retention_stale)"
    held = {r[0] for r in cur.execute(direct, args)}
    if with_cases:
        held |= {r[0] for r in cur.execute(by_case, args)}
    return held


def facts(cur: "Cursor", item_id: str) -> Facts:
    """What the store knows of one recording (ItemError when it holds none)."""
    from host import items

    item = items.get(cur, item_id)
    category = None
    if has_table(cur, "item_notes"):
        row = cur.execute("SELECT category FROM item_notes WHERE item_id = ?", (item_id,))
        found = row.fetchone()
        category = found[0] if found else None
    cases = tuple(_case_links(cur, item_id).get(item_id, ()))
    return Facts(item_id, item.started_ms, category, cases, item_id in held_items(cur, item_id))


DELETED = "deleted"


class PlanRow(NamedTuple):
    """One recording in the plan: when it may be deleted, by which (dated) rule, whether it
    is held, and the deletion under way (requested, approved; or None)."""

    until_ms: int
    item_id: str
    rule: str
    case_no: "str | None"
    held: bool
    category: "str | None"
    state: "str | None"
    grace_until_ms: "int | None"

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.item_id, Rule(self.rule, DATED, self.until_ms, self.case_no), self.held)


# --- the plan's index ------------------------------------------------------------------------
#
# Working the rules out for every recording takes seconds in a store of 100,000 of them, and
# the plan is asked for far more often than the facts change. So each recording's verdict is
# kept in ``retention_index``: a cache of ``decide``, never a second copy of the rules, in
# which only the recordings whose facts changed are decided again. Which ones changed is told
# by triggers on the tables the facts live in (they put the item ids in ``retention_stale``),
# rather than read from the audit trail: a trigger sees every change, whichever code (or
# hand) made it, through an audited action or not, so the cache cannot miss one. The index
# is of one policy; a plan asked with another (or by a release whose INDEX_VERSION differs)
# decides every recording again, once.

# Raise whenever ``rules`` or ``decide`` change what they give: every store's index is then
# rebuilt at its next plan.
INDEX_VERSION = 1

INDEX_SCHEMA = (
    # Each recording's verdict (host.retention): until_ms NULL when it is kept forever or
    # while a case is open. A cache of ``decide`` over the facts; rebuilt when in doubt.
    "CREATE TABLE IF NOT EXISTS retention_index (item_id TEXT PRIMARY KEY, until_ms INTEGER, "
    "rule TEXT NOT NULL, case_no TEXT, held INTEGER NOT NULL, category TEXT) WITHOUT ROWID",
    # The plan reads the dated verdicts in date order from this index alone.
    "CREATE INDEX IF NOT EXISTS retention_index_due ON retention_index "
    "(until_ms, item_id, rule, case_no, held, category) WHERE until_ms IS NOT NULL",
    # The items whose facts changed since the index was last brought up to date.
    "CREATE TABLE IF NOT EXISTS retention_stale (item_id TEXT PRIMARY KEY) WITHOUT ROWID",
    # The policy the index was decided under.
    "CREATE TABLE IF NOT EXISTS retention_index_of (one INTEGER PRIMARY KEY CHECK (one = 1), "
    "policy TEXT NOT NULL)",
)

_TRIGGER = "retention_stale_"


# The triggers add an item only when it is not there yet, rather than INSERT OR IGNORE: the
# statement that fires a trigger imposes its own conflict rule on the trigger's statements
# (an upsert's makes a duplicate an error), so they must never meet a conflict at all.
def _item(row: str) -> str:
    return (
        "INSERT INTO retention_stale SELECT %s.item_id WHERE %s.item_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM retention_stale WHERE item_id = %s.item_id);"
        % (row, row, row)
    )


def _case(row: str) -> str:
    return (
        "INSERT INTO retention_stale SELECT item_id FROM case_items WHERE case_no = %s.case_no "
        "AND item_id NOT IN (SELECT item_id FROM retention_stale);" % row
    )


# PostgreSQL's triggers run a function each, and its statements meet no conflict rule but
# their own: a duplicate is simply not added.
def _pg_item(row: str) -> str:
    return (
        "INSERT INTO retention_stale SELECT %s.item_id WHERE %s.item_id IS NOT NULL "
        "ON CONFLICT DO NOTHING;" % (row, row)
    )


def _pg_case(row: str) -> str:
    return (
        "INSERT INTO retention_stale SELECT item_id FROM case_items WHERE case_no = %s.case_no "
        "ON CONFLICT DO NOTHING;" % row
    )


def _triggers(cur: "Cursor") -> "dict[str, tuple[str, tuple[str, ...]]]":
    """name -> (what defines it as ``sqlstore.triggers`` reads it back, the statements that
    make it), for each table a rule reads that the store has: every change that could change
    a verdict marks the items it touches stale. The names say whether the case tables were
    there (a hold on a case holds every item linked to it), so a store that gains them later
    gets its triggers made again. Written per engine: SQLite's trigger holds its statements,
    PostgreSQL's runs a function that does."""
    linked = has_table(cur, "case_items")
    pg = sqlstore.dialect(cur) == sqlstore.POSTGRESQL
    item_mark, case_mark = (_pg_item, _pg_case) if pg else (_item, _case)

    def hold(row: str) -> str:
        return item_mark(row) + case_mark(row) if linked else item_mark(row)

    sources: dict[str, tuple[Callable[[str], str], tuple[str, ...]]] = {
        # table: (what marks a row's items stale, the columns that matter on an update)
        "items": (item_mark, ("item_id", "kind", "started_ms")),
        "item_notes": (item_mark, ("item_id", "category")),
        "case_items": (item_mark, ("item_id", "case_no")),
        "cases": (case_mark, ("case_no", "case_type", "major", "closed_ms")),
        "holds": (hold, ("item_id", "case_no", "released_ms")),
    }
    out: dict = {}
    for table, (mark, columns) in sources.items():
        if not has_table(cur, table) or (table == "cases" and not linked):
            continue
        name = _TRIGGER + table + ("_linked" if linked else "")
        if pg:
            changed = " OR ".join("OLD.%s IS DISTINCT FROM NEW.%s" % (c, c) for c in columns)
            bodies = {
                "insert": "BEGIN %s RETURN NULL; END" % mark("NEW"),
                "delete": "BEGIN %s RETURN NULL; END" % mark("OLD"),
                "update": "BEGIN IF %s THEN %s %s END IF; RETURN NULL; END"
                % (changed, mark("OLD"), mark("NEW")),
            }  # fmt: skip
            for event, body in bodies.items():
                one = "%s_%s" % (name, event)
                out[one] = (body, (
                    "CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$%s$$"
                    % (one, body),
                    "CREATE TRIGGER %s AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION %s()"
                    % (one, event.upper(), table, one),
                ))  # fmt: skip
            continue
        changed = " OR ".join("OLD.%s IS NOT NEW.%s" % (c, c) for c in columns)
        made = {
            name + "_insert": "CREATE TRIGGER %s_insert AFTER INSERT ON %s BEGIN %s END"
            % (name, table, mark("NEW")),
            name + "_delete": "CREATE TRIGGER %s_delete AFTER DELETE ON %s BEGIN %s END"
            % (name, table, mark("OLD")),
            name + "_update": "CREATE TRIGGER %s_update AFTER UPDATE ON %s WHEN %s BEGIN %s %s END"
            % (name, table, changed, mark("OLD"), mark("NEW")),
        }  # fmt: skip
        out.update((n, (sql, (sql,))) for n, sql in made.items())
    return out


def _drop_trigger(cur: "Cursor", name: str) -> None:
    if sqlstore.dialect(cur) == sqlstore.POSTGRESQL:
        cur.execute("DROP FUNCTION IF EXISTS %s() CASCADE" % name)  # its trigger with it
    else:
        cur.execute("DROP TRIGGER %s" % name)


def _policy_key(pol: Policy) -> str:
    """The policy as the index records it: what ``decide`` reads (the grace period is not)."""
    rules_of = pol.to_dict()
    del rules_of["retention_grace_days"]
    return json.dumps([INDEX_VERSION, rules_of], sort_keys=True)


def bring_up(cur: "Cursor", pol: Policy) -> int:
    """Bring ``retention_index`` up to date for ``pol``: the stale items decided again, or
    every recording when the index is of another policy, or its triggers are not all in
    place (a table made since, a store edited by hand). Returns how many were decided. One
    savepoint: inside the caller's transaction, or its own."""
    cur.execute("SAVEPOINT retention_index")
    try:
        done = _bring_up(cur, pol)
    except BaseException:
        if sqlstore.in_transaction(cur):
            cur.execute("ROLLBACK TO retention_index")
            cur.execute("RELEASE retention_index")
        raise
    cur.execute("RELEASE retention_index")
    return done


def _bring_up(cur: "Cursor", pol: Policy) -> int:
    if not has_table(cur, "retention_index_of"):
        for sql in INDEX_SCHEMA:
            cur.execute(sql)
    made = _triggers(cur)
    want = {name: definition for name, (definition, _make) in made.items()}
    have = sqlstore.triggers(cur, _TRIGGER)
    key = _policy_key(pol)
    of = cur.execute("SELECT policy FROM retention_index_of").fetchone()
    if have != want or of is None or of[0] != key:
        # Another policy; or the triggers are missing or not these, so changes may have gone
        # unseen: decide every recording again.
        for name in sorted(have):
            _drop_trigger(cur, name)
        for _definition, make in made.values():
            for sql in make:
                cur.execute(sql)
        cur.execute("DELETE FROM retention_index")
        cur.execute(
            "INSERT INTO retention_index_of VALUES (1, ?) ON CONFLICT (one) "
            "DO UPDATE SET policy = excluded.policy",
            (key,),
        )
        cur.execute("DELETE FROM retention_stale")
        cur.execute(
            "INSERT INTO retention_stale SELECT item_id FROM items WHERE kind = 'recording'"
        )
    if cur.execute("SELECT 1 FROM retention_stale LIMIT 1").fetchone() is None:
        return 0
    cur.execute(
        "DELETE FROM retention_index WHERE item_id IN (SELECT item_id FROM retention_stale)"
    )
    notes = has_table(cur, "item_notes")
    rows = cur.execute(
        "SELECT i.item_id, i.started_ms, %s FROM retention_stale s "
        "JOIN items i ON i.item_id = s.item_id %s WHERE i.kind = 'recording'"
        % (
            ("n.category", "LEFT JOIN item_notes n ON n.item_id = i.item_id")
            if notes
            else ("NULL", "")
        ),
    ).fetchall()
    links = _case_links(cur, stale=True)
    held = held_items(cur, stale=True)
    none: tuple = ()
    verdicts = []
    for item_id, started, category in rows:
        v = decide(
            Facts(item_id, started, category, tuple(links.get(item_id, none)), item_id in held),
            pol,
        )
        verdicts.append((item_id, v.until_ms, v.rule.name, v.rule.case_no, int(v.held), category))
    cur.executemany("INSERT INTO retention_index VALUES (?, ?, ?, ?, ?, ?)", verdicts)
    cur.execute("DELETE FROM retention_stale")
    return len(verdicts)


def keep_up(cur: "Cursor") -> int:
    """On the write side (every login's items refresh, every desk action): bring the plan's
    index up to date under the agency's policy, in the caller's write transaction, so a
    plan is a pure read. Nothing for a store that has not taken up retention (no holds
    table: ``SCHEMA`` not added). Returns how many recordings were decided."""
    if not has_table(cur, "holds"):
        return 0
    return bring_up(cur, policy(cur))


def behind(cur: "Cursor") -> bool:
    """Whether ``keep_up`` has work to do: a store that took up retention whose index is
    not current under the agency's policy. A read."""
    return has_table(cur, "holds") and not index_current(cur, policy(cur))


def index_current(cur: "Cursor", pol: Policy) -> bool:
    """Whether ``retention_index`` holds every recording's verdict under ``pol``, read
    only: made, of this policy, its triggers all in place, nothing stale since."""
    if not has_table(cur, "retention_index_of"):
        return False
    of = cur.execute("SELECT policy FROM retention_index_of").fetchone()
    if of is None or of[0] != _policy_key(pol):
        return False
    if cur.execute("SELECT 1 FROM retention_stale LIMIT 1").fetchone() is not None:
        return False
    want = {name: definition for name, (definition, _make) in _triggers(cur).items()}
    return sqlstore.triggers(cur, _TRIGGER) == want


def plan(cur: "Cursor", pol: Policy, until_ms: int) -> "list[PlanRow]":
    """Every recording that may be deleted by ``until_ms``, with the rule that says so, its
    hold and the deletion under way; soonest first. A pure read: one indexed range query
    over ``retention_index`` (which the write side keeps up to date: ``keep_up``), joined to
    the deletions under way. Where the index is not current (a store opened read-only, one
    changed by hand, a policy asked for that is not the agency's), ``plan_scan``: the same
    rows, worked out afresh."""
    if not index_current(cur, pol):
        return plan_scan(cur, pol, until_ms)
    # The deletions under way are few: read apart, they spare the range scan a join per row
    # (the scan reads the covering index alone, in its order).
    under = {}
    if has_table(cur, "deletions"):
        under = {
            item_id: (deleted, "approved" if approved else "requested", grace)
            for item_id, deleted, approved, grace in cur.execute(
                "SELECT item_id, deleted_ms, approved_ms, grace_until_ms FROM deletions "
                "WHERE undone_ms IS NULL"
            )
        }
    rows = cur.execute(
        "SELECT until_ms, item_id, rule, case_no, held, category FROM retention_index "
        "WHERE until_ms <= ? ORDER BY until_ms, item_id",
        (until_ms,),
    ).fetchall()
    out = []
    for when, item_id, rule, case_no, held, category in rows:
        deletion = under.get(item_id)
        if deletion is None:
            out.append(PlanRow(when, item_id, rule, case_no, held == 1, category, None, None))
        elif not deletion[0]:  # a deleted recording has nothing left to delete (its
            # media is gone, its entries stay)
            state, grace = deletion[1], deletion[2]
            out.append(PlanRow(when, item_id, rule, case_no, held == 1, category, state, grace))
    return out


def plan_scan(cur: "Cursor", pol: Policy, until_ms: int) -> "list[PlanRow]":
    """What ``plan`` gives, worked out from the facts afresh: one indexed query over the
    recordings (only those old enough for the shortest period to have run), the small tables
    beside it, and ``decide`` per recording. For a store opened read-only (the index cannot
    be brought up to date there), and the tests' oracle for the index."""
    # Nothing recorded after this can be due by until_ms (a day's slack for 29 February).
    newest = add_years(until_ms, -pol.shortest_years()) + DAY_MS
    notes = has_table(cur, "item_notes")
    rows = cur.execute(
        "SELECT i.item_id, i.started_ms, %s FROM items i %s "
        "WHERE i.started_ms <= ? AND i.kind = 'recording'"
        % (
            ("n.category", "LEFT JOIN item_notes n ON n.item_id = i.item_id")
            if notes
            else ("NULL", "")
        ),
        (newest,),
    ).fetchall()
    links = _case_links(cur)
    held = held_items(cur)
    live: dict = {}
    if has_table(cur, "deletions"):
        for item, approved, grace, deleted in cur.execute(
            "SELECT item_id, approved_ms, grace_until_ms, deleted_ms FROM deletions "
            "WHERE undone_ms IS NULL"
        ):
            live[item] = (DELETED if deleted else "approved" if approved else "requested", grace)
    out = []
    none: tuple = ()
    nothing = (None, None)
    years, periods = pol.years, pol.by_category
    forever = set(PERMANENT_CATEGORIES) | pol.forever_categories
    for item_id, started, category in rows:
        linked = links.get(item_id)
        if linked is None and category not in forever:
            # No case and no permanent category: the base rule alone, without building
            # the facts (most recordings; ``decide`` gives the same, as the tests check).
            if category in periods:
                name, n = CATEGORY, periods[category]
            else:
                name, n = DEFAULT, years
            when = started + _year_days(started // DAY_MS, n) * DAY_MS
            if when > until_ms:
                continue
            case_no = None
        else:
            v = decide(
                Facts(item_id, started, category, tuple(linked or none), item_id in held), pol
            )
            if v.rule.level != DATED or v.rule.until_ms > until_ms:
                continue
            name, when, case_no = v.rule.name, v.rule.until_ms, v.rule.case_no
        state, grace = live.get(item_id, nothing)
        if state == DELETED:
            continue  # nothing left to delete: its media is gone, its entries stay
        out.append(PlanRow(when, item_id, name, case_no, item_id in held, category, state, grace))
    out.sort()  # by time, then item id (unique: the rest is never compared)
    return out


# --- holds ----------------------------------------------------------------------------------


def case_exists(cur: "Cursor", case_no: str) -> bool:
    if not has_table(cur, "cases"):
        return False
    return cur.execute("SELECT 1 FROM cases WHERE case_no = ?", (case_no,)).fetchone() is not None


def place_hold(
    cur: "Cursor", item_id: "str | None", case_no: "str | None", reason: str, by: str, now_ms: int
) -> int:
    row = cur.execute(
        "INSERT INTO holds (item_id, case_no, reason, placed_by, placed_ms) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (item_id, case_no, reason, by, now_ms),
    ).fetchone()
    return int(row[0])


def release_holds(
    cur: "Cursor", item_id: "str | None", case_no: "str | None", reason: str, by: str, now_ms: int
) -> "list[int]":
    """Release every hold in force on the item (or the case); the ids released."""
    column, value = ("item_id", item_id) if item_id is not None else ("case_no", case_no)
    ids = [r[0] for r in cur.execute(
        "SELECT id FROM holds WHERE %s = ? AND released_ms IS NULL ORDER BY id" % column, (value,)
    )]  # fmt: skip
    cur.executemany(
        "UPDATE holds SET released_by = ?, released_ms = ?, release_reason = ? WHERE id = ?",
        [(by, now_ms, reason, i) for i in ids],
    )
    return ids


def holds_on(cur: "Cursor", item_id: str) -> "list[tuple]":
    """The holds in force on an item, directly or through its cases: ``(id, case_no or
    None, reason, placed_by, placed_ms)``."""
    if not has_table(cur, "holds"):
        return []
    out = cur.execute(
        "SELECT id, case_no, reason, placed_by, placed_ms FROM holds "
        "WHERE released_ms IS NULL AND item_id = ? ORDER BY id",
        (item_id,),
    ).fetchall()
    if has_table(cur, "case_items"):
        out += cur.execute(
            "SELECT h.id, h.case_no, h.reason, h.placed_by, h.placed_ms FROM holds h "
            "JOIN case_items ci ON ci.case_no = h.case_no "
            "WHERE h.released_ms IS NULL AND ci.item_id = ? ORDER BY h.id",
            (item_id,),
        ).fetchall()
    return [tuple(r) for r in out]


# --- deletion -------------------------------------------------------------------------------


class Deletion(NamedTuple):
    id: int
    item_id: str
    reason: str
    requested_by: str
    requested_ms: int
    approved_by: "str | None"
    approved_ms: "int | None"
    grace_until_ms: "int | None"
    deleted_ms: "int | None"


_DELETION = (
    "id, item_id, reason, requested_by, requested_ms, approved_by, approved_ms, grace_until_ms, "
    "deleted_ms"
)


def live_deletion(cur: "Cursor", item_id: str) -> "Deletion | None":
    """The item's deletion under way (or done), None when there is none."""
    row = cur.execute(
        "SELECT %s FROM deletions WHERE item_id = ? AND undone_ms IS NULL" % _DELETION, (item_id,)
    ).fetchone()
    return Deletion(*row) if row else None


def request(cur: "Cursor", item_id: str, reason: str, by: str, now_ms: int) -> int:
    row = cur.execute(
        "INSERT INTO deletions (item_id, reason, requested_by, requested_ms) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        (item_id, reason, by, now_ms),
    ).fetchone()
    return int(row[0])


def approve(cur: "Cursor", deletion: Deletion, by: str, now_ms: int, grace_days: int) -> int:
    """Approve; returns the end of the grace period."""
    grace_until = now_ms + grace_days * DAY_MS
    cur.execute(
        "UPDATE deletions SET approved_by = ?, approved_ms = ?, grace_until_ms = ? WHERE id = ?",
        (by, now_ms, grace_until, deletion.id),
    )
    return grace_until


def undo(cur: "Cursor", deletion: Deletion, by: str, now_ms: int) -> None:
    cur.execute(
        "UPDATE deletions SET undone_by = ?, undone_ms = ? WHERE id = ?", (by, now_ms, deletion.id)
    )


def due(cur: "Cursor", now_ms: int) -> "list[Deletion]":
    """Approved deletions whose grace period is over and whose media is not yet removed."""
    if not has_table(cur, "deletions"):
        return []
    rows = cur.execute(
        "SELECT %s FROM deletions WHERE undone_ms IS NULL AND approved_ms IS NOT NULL "
        "AND deleted_ms IS NULL AND grace_until_ms <= ? ORDER BY grace_until_ms, id" % _DELETION,
        (now_ms,),
    ).fetchall()
    return [Deletion(*r) for r in rows]


def media_of(cur: "Cursor", item_id: str) -> "list[bytes]":
    """The digests of every media file a recording's chunk entries name (the ledger is the
    record of what the recording holds), in ledger order."""
    from host import items
    from host.evidence import chunk_media
    from host.recordings import recording_number
    from protocol.errors import ProtocolError
    from protocol.ledger import parse_entry
    from protocol.registry import F_RECORDING, KIND_CHUNK

    item = items.get(cur, item_id)
    out: list = []
    for (raw,) in cur.execute(
        "SELECT raw FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ? AND kind = ? "
        "ORDER BY seq",
        (item.device_id, item.first_seq, item.last_seq, KIND_CHUNK),
    ):
        try:
            e = parse_entry(bytes(raw))
        except ProtocolError:
            continue
        rec = e.fields.get(F_RECORDING)
        if not isinstance(rec, bytes) or recording_number(rec) != item.rec:
            continue
        media = chunk_media(e)
        if media is not None and media[0] not in out:
            out.append(media[0])
    return out


def refresh_refs(cur: "Cursor") -> int:
    """Bring ``media_refs`` up to the ledger: every chunk entry stored since the last
    refresh, per device; returns how many were read. Inside the caller's transaction."""
    from host import items
    from host.evidence import chunk_media
    from host.recordings import recording_number
    from protocol.errors import ProtocolError
    from protocol.ledger import parse_entry
    from protocol.registry import F_RECORDING, KIND_CHUNK

    read = 0
    heads = cur.execute("SELECT device_id, max(seq) FROM entries GROUP BY device_id").fetchall()
    for device_id, last in heads:
        row = cur.execute(
            "SELECT next_seq FROM media_refs_read WHERE device_id = ?", (device_id,)
        ).fetchone()
        start = row[0] if row else 0
        if last < start:
            continue
        refs = []
        for (raw,) in cur.execute(
            "SELECT raw FROM entries WHERE device_id = ? AND seq >= ? AND kind = ?",
            (device_id, start, KIND_CHUNK),
        ).fetchall():
            read += 1
            try:
                e = parse_entry(bytes(raw))
            except ProtocolError:
                continue  # verify reports it; it names no media anyone can rely on
            rec = e.fields.get(F_RECORDING)
            media = chunk_media(e)
            if isinstance(rec, bytes) and rec and media is not None:
                refs.append((media[0], items.recording_id(device_id, recording_number(rec))))
        cur.executemany("INSERT INTO media_refs VALUES (?, ?) ON CONFLICT DO NOTHING", refs)
        cur.execute(
            "INSERT INTO media_refs_read VALUES (?, ?) ON CONFLICT (device_id) "
            "DO UPDATE SET next_seq = excluded.next_seq",
            (device_id, last + 1),
        )
    return read


def shared(cur: "Cursor", digest: bytes, item_id: str) -> bool:
    """Whether a recording other than ``item_id``, whose media is not deleted, names the
    media file ``digest`` (``media_refs``, brought up to date by ``refresh_refs``)."""
    row = cur.execute(
        "SELECT 1 FROM media_refs r WHERE r.digest = ? AND r.item_id != ? AND NOT EXISTS "
        "(SELECT 1 FROM deletions d WHERE d.item_id = r.item_id AND d.undone_ms IS NULL "
        "AND d.deleted_ms IS NOT NULL) LIMIT 1",
        (digest, item_id),
    ).fetchone()
    return row is not None


def mark_deleted(cur: "Cursor", deletion: Deletion, digests: "list[bytes]", now_ms: int) -> None:
    cur.execute("UPDATE deletions SET deleted_ms = ? WHERE id = ?", (now_ms, deletion.id))
    cur.executemany(
        "INSERT INTO deleted_media VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(d, deletion.id) for d in digests],
    )


def deleted_digests(cur: "Cursor") -> "list[bytes]":
    """Every digest a deletion removed (or was about to, when a crash cut it off)."""
    if not has_table(cur, "deleted_media"):
        return []
    return [bytes(r[0]) for r in cur.execute("SELECT digest FROM deleted_media")]


class Query(Protocol):
    """A store's one-off read (``host.evidence.SqliteEvidenceStore.query``)."""

    def __call__(self, sql: str, params: tuple = ()) -> list: ...


def deleted_note(query: Query, digests: "list[bytes]") -> "dict | None":
    """Whether retention deleted any of ``digests``: ``{item_id, deleted_ms, approved_by,
    approved_ms}`` of the first, else None. ``query`` is a store's ``query`` (an export
    opens the store read-only); a store without the tables has deleted nothing."""
    import sqlite3

    for digest in digests:
        try:
            rows = query(
                "SELECT d.item_id, d.deleted_ms, d.approved_by, d.approved_ms FROM deleted_media m "
                "JOIN deletions d ON d.id = m.deletion WHERE m.digest = ?",
                (digest,),
            )
        except sqlite3.Error:  # no such table: nothing was ever deleted
            return None
        if rows:
            item_id, deleted_ms, approved_by, approved_ms = rows[0]
            try:
                zone = query("SELECT value FROM settings WHERE name = 'time_zone'")
            except sqlite3.Error:
                zone = []
            return {
                "item_id": item_id,
                "deleted_ms": deleted_ms,
                "approved_by": approved_by,
                "approved_ms": approved_ms,
                "zone": json.loads(zone[0][0]) if zone else DEFAULT_ZONE,
            }
    return None


def deleted_line(note: dict, number: int) -> str:
    """What an export of a recording whose media retention deleted says, in one line."""
    from host import i18n

    return i18n.text("retention.export_deleted", **deleted_fields(note, number))


def deleted_fields(note: dict, number: int) -> dict:
    """The fields of ``retention.export_deleted`` (``deleted_line``), the same in every
    language: kept by an error that is said again later, in another."""
    from host import localtime

    zone = note.get("zone") or DEFAULT_ZONE
    return {
        "number": number,
        "item": note["item_id"],
        "deleted": localtime.show(note["deleted_ms"], zone) if note["deleted_ms"] else "-",
        "approved_by": note["approved_by"],
        "approved": localtime.show(note["approved_ms"], zone),
    }
