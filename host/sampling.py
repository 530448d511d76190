"""The legal department's random sample of recordings, drawn so that it can be proved fair
(R-HOST-7; 000 §14: 法制机构定期抽取音像资料; 004 §20: 定期抽查).

A plan names what may be sampled (the recordings of one unit or one officer, or all, that
started within a period) and how many (a ``rate`` of them, rounded up, or a ``count``). The
draw then

1. freezes the population: the plan's recordings' item ids, sorted, and the SHA-256 of that
   list (``population_digest``);
2. makes the seed from fresh randomness taken at the moment of the draw, mixed with the
   host log's size and root at that moment and the population's digest (``make_seed``):
   nobody could know it beforehand, so no officer can know which recordings will be looked
   at, and nobody can pick one seed among many without it showing (a plan is drawn once);
3. picks the sample with ``choose`` (no I/O, no randomness of its own): each item's rank is
   the SHA-256 of the seed and its id, and the ``size`` lowest ranks are the sample.

The draw, its seed and everything the seed was made from go into the audit trail (action
``sample-draw``) and the plan's tables in one transaction. ``replay`` later recomputes the
seed, the population's digest, the log's root at the recorded size, and the sample, and says
whether each matches what was recorded. The store's side takes the caller's cursor: a change
goes through ``host.access.Desk.act``.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from host import audit, i18n, items, tlog
from host.errors import Refused, Unusable

if TYPE_CHECKING:
    from host.sqlstore import Cursor

SCHEMA = """
-- Random review (host.sampling): plans, their draws, and the recordings each drew. A plan
-- names a unit or an officer (or neither: every recording) and a period [since, until), and
-- a rate or a count. A plan is drawn once.
CREATE TABLE IF NOT EXISTS review_plans (
    plan_id     INTEGER PRIMARY KEY,
    unit_id     TEXT,
    officer_id  TEXT,
    since_ms    INTEGER NOT NULL,
    until_ms    INTEGER NOT NULL,
    rate        REAL,
    count       INTEGER,
    made_by     TEXT NOT NULL,
    made_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS review_draws (
    plan_id     INTEGER PRIMARY KEY,
    drawn_by    TEXT NOT NULL,
    drawn_ms    INTEGER NOT NULL,
    fresh       BLOB NOT NULL,
    log_size    INTEGER NOT NULL,
    log_root    BLOB NOT NULL,
    population  TEXT NOT NULL,
    population_sha BLOB NOT NULL,
    seed        BLOB NOT NULL,
    audit_seq   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS review_sample (
    plan_id  INTEGER NOT NULL,
    item_id  TEXT NOT NULL,
    PRIMARY KEY (plan_id, item_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS review_sample_item ON review_sample (item_id);
"""

SEED_CONTEXT = b"sealcam review sample v1"
FRESH_BYTES = 32


class SamplingError(Unusable):
    """A plan or a draw that cannot be made as asked; the message says what to give."""


# --- the rules (no store, no randomness) ------------------------------------------------


def plan_problem(
    since_ms: int, until_ms: int, rate: "float | None", count: "int | None"
) -> "str | None":
    """Why a plan of this period and size cannot be made (a catalogue line), or None."""
    if (rate is None) == (count is None):
        return i18n.text("review.err.rate_or_count")
    if rate is not None and not 0 < rate <= 1:  # NaN too: it compares false
        return i18n.text("review.err.rate", rate=rate)
    if count is not None and count < 1:
        return i18n.text("review.err.count", count=count)
    if until_ms <= since_ms:
        return i18n.text("review.err.period")
    return None


def sample_size(n: int, rate: "float | None", count: "int | None") -> int:
    """How many of ``n`` recordings a plan of ``rate`` (rounded up) or ``count`` draws."""
    if count is not None:
        return min(count, n)
    assert rate is not None
    # Rounded up, and computed in integers where the rate is a decimal: 0.1 of 30 is 3,
    # never 4 from 3.0000000000000004.
    return min(n, math.ceil(round(rate * n, 9)))


def population_digest(population: "list[str]") -> bytes:
    """The SHA-256 that freezes a population: of its item ids, sorted, one per line."""
    return hashlib.sha256("\n".join(sorted(population)).encode()).digest()


def make_seed(
    fresh: bytes, log_size: int, log_root: bytes, population_sha: bytes, plan_id: int
) -> bytes:
    """The draw's seed: fresh randomness, the host log's size and root when it was drawn,
    the population's digest and the plan, hashed together."""
    h = hashlib.sha256(SEED_CONTEXT)
    for part in (
        fresh,
        log_size.to_bytes(8, "big"),
        log_root,
        population_sha,
        plan_id.to_bytes(8, "big"),
    ):
        h.update(len(part).to_bytes(2, "big"))
        h.update(part)
    return h.digest()


def rank(seed: bytes, item_id: str) -> bytes:
    return hashlib.sha256(seed + b"\x00" + item_id.encode()).digest()


def choose(seed: bytes, population: "list[str]", size: int) -> "list[str]":
    """The ``size`` items of ``population`` with the lowest ranks under ``seed``, sorted:
    the same seed and population give the same sample, whatever order the population is
    listed in."""
    ids = sorted(set(population))
    ranked = sorted(ids, key=lambda i: (rank(seed, i), i))
    return sorted(ranked[: max(0, size)])


# --- the store's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    plan_id: int
    unit_id: "str | None"
    officer_id: "str | None"
    since_ms: int
    until_ms: int
    rate: "float | None"
    count: "int | None"
    made_by: str
    made_ms: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Draw:
    plan_id: int
    drawn_by: str
    drawn_ms: int
    fresh: bytes
    log_size: int
    log_root: bytes
    population: "list[str]"
    population_sha: bytes
    seed: bytes
    audit_seq: int
    sample: "list[str]"

    def to_dict(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "drawn_by": self.drawn_by,
            "drawn_ms": self.drawn_ms,
            "fresh": self.fresh.hex(),
            "log_size": self.log_size,
            "log_root": self.log_root.hex(),
            "population": list(self.population),
            "population_sha256": self.population_sha.hex(),
            "seed": self.seed.hex(),
            "audit_seq": self.audit_seq,
            "sample": list(self.sample),
        }

    def audit_details(self) -> dict:
        """What the audit record of the draw carries: enough to recompute it."""
        return {
            "plan": self.plan_id,
            "fresh": self.fresh,
            "log_size": self.log_size,
            "log_root": self.log_root,
            "population_sha256": self.population_sha,
            "population_size": len(self.population),
            "seed": self.seed,
            "sample": list(self.sample),
        }


def officers_of_unit(cur: "Cursor", unit_id: str) -> "list[str]":
    """The officer ids of unit ``unit_id`` (the unit register, ``host.registers``);
    SamplingError when the register has no such unit."""
    try:
        known = cur.execute("SELECT 1 FROM units WHERE unit_id = ?", (unit_id,)).fetchone()
    except Exception:  # no unit register in this store yet: no unit is known
        known = None
    if known is None:
        raise SamplingError(i18n.text("review.err.unknown_unit", unit=unit_id))
    rows = cur.execute(
        "SELECT officer_id FROM unit_members WHERE unit_id = ? ORDER BY officer_id", (unit_id,)
    ).fetchall()
    return [r[0] for r in rows]


def check_officer(cur: "Cursor", officer_id: str) -> None:
    """SamplingError unless the store knows ``officer_id``: on footage, on an account, or in
    the unit register."""
    if cur.execute("SELECT 1 FROM items WHERE officer = ? LIMIT 1", (officer_id,)).fetchone():
        return
    if cur.execute("SELECT 1 FROM users WHERE officer_id = ?", (officer_id,)).fetchone():
        return
    try:
        row = cur.execute(
            "SELECT 1 FROM unit_members WHERE officer_id = ?", (officer_id,)
        ).fetchone()
    except Exception:  # no unit register yet
        row = None
    if row is None:
        raise SamplingError(i18n.text("review.err.unknown_officer", officer=officer_id))


def population(
    cur: "Cursor",
    unit_id: "str | None",
    officer_id: "str | None",
    since_ms: int,
    until_ms: int,
) -> "list[str]":
    """The item ids of the recordings a plan covers, sorted."""
    sql = "SELECT item_id FROM items WHERE kind = ? AND started_ms >= ? AND started_ms < ?"
    params: list = [items.RECORDING, since_ms, until_ms]
    if officer_id is not None:
        sql += " AND officer = ?"
        params.append(officer_id)
    if unit_id is not None:
        officers = officers_of_unit(cur, unit_id)
        sql += " AND officer IN (%s)" % ",".join("?" * len(officers))
        params.extend(officers)
    return sorted(r[0] for r in cur.execute(sql, params).fetchall())


def make_plan(
    cur: "Cursor",
    unit_id: "str | None",
    officer_id: "str | None",
    since_ms: int,
    until_ms: int,
    rate: "float | None",
    count: "int | None",
    by: str,
    now_ms: int,
) -> "tuple[Plan, int]":
    """Make a plan; returns it and the size of its population now. SamplingError for a
    size or period that cannot be used, an unknown unit or officer, or a period without a
    recording to sample."""
    problem = plan_problem(since_ms, until_ms, rate, count)
    if problem:
        raise SamplingError(problem)
    if officer_id is not None:
        check_officer(cur, officer_id)
    found = population(cur, unit_id, officer_id, since_ms, until_ms)
    if not found:
        raise SamplingError(i18n.text("review.err.empty"))
    cur.execute(
        "INSERT INTO review_plans (unit_id, officer_id, since_ms, until_ms, rate, count, "
        "made_by, made_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING plan_id",
        (unit_id, officer_id, since_ms, until_ms, rate, count, by, now_ms),
    )
    plan_id = int(cur.fetchone()[0])
    return get_plan(cur, plan_id), len(found)


_PLAN_COLUMNS = "plan_id, unit_id, officer_id, since_ms, until_ms, rate, count, made_by, made_ms"


def get_plan(cur: "Cursor", plan_id: int) -> Plan:
    row = cur.execute(
        "SELECT %s FROM review_plans WHERE plan_id = ?" % _PLAN_COLUMNS, (plan_id,)
    ).fetchone()
    if row is None:
        raise SamplingError(i18n.text("review.err.no_plan", plan=plan_id))
    return Plan(*row)


def plans(cur: "Cursor") -> "list[Plan]":
    rows = cur.execute("SELECT %s FROM review_plans ORDER BY plan_id" % _PLAN_COLUMNS)
    return [Plan(*r) for r in rows.fetchall()]


def log_head(cur: "Cursor") -> "tuple[int, bytes]":
    """The host log's size and root as the caller's transaction sees it."""
    size = cur.execute("SELECT size FROM log_head").fetchone()[0]
    return size, log_root_at(cur, size)


def log_root_at(cur: "Cursor", size: int) -> bytes:
    """The root of the host log's first ``size`` leaves (RFC 6962), from the leaves."""
    tree = tlog.CompactTree()
    for (leaf,) in cur.execute("SELECT leaf FROM log WHERE idx < ? ORDER BY idx", (size,)):
        tree.append(bytes(leaf))
    return tree.root()


def draw(cur: "Cursor", plan_id: int, by: str, now_ms: int, fresh: bytes) -> Draw:
    """Draw plan ``plan_id`` with the ``fresh`` random bytes (the caller takes them from the
    operating system at this moment: ``os.urandom``), inside the transaction whose audit
    record (``sample-draw``, with ``Draw.audit_details``) the caller appends next. Refused
    when the plan was drawn already; SamplingError when its population is empty now."""
    plan = get_plan(cur, plan_id)
    done = cur.execute("SELECT drawn_by FROM review_draws WHERE plan_id = ?", (plan_id,))
    if done.fetchone() is not None:
        raise Refused(i18n.text("review.err.drawn", plan=plan_id), "drawn-already")
    found = population(cur, plan.unit_id, plan.officer_id, plan.since_ms, plan.until_ms)
    if not found:
        raise SamplingError(i18n.text("review.err.empty"))
    size, root = log_head(cur)
    digest = population_digest(found)
    seed = make_seed(fresh, size, root, digest, plan_id)
    chosen = choose(seed, found, sample_size(len(found), plan.rate, plan.count))
    last = cur.execute("SELECT max(seq) FROM audit").fetchone()[0]
    audit_seq = 0 if last is None else last + 1  # the record the caller appends next
    cur.execute(
        "INSERT INTO review_draws VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (plan_id, by, now_ms, fresh, size, root, json.dumps(found), digest, seed, audit_seq),
    )
    cur.executemany("INSERT INTO review_sample VALUES (?, ?)", [(plan_id, item) for item in chosen])
    return Draw(plan_id, by, now_ms, fresh, size, root, found, digest, seed, audit_seq, chosen)


def get_draw(cur: "Cursor", plan_id: int) -> "Draw | None":
    row = cur.execute(
        "SELECT plan_id, drawn_by, drawn_ms, fresh, log_size, log_root, population, "
        "population_sha, seed, audit_seq FROM review_draws WHERE plan_id = ?",
        (plan_id,),
    ).fetchone()
    if row is None:
        return None
    chosen = [
        r[0]
        for r in cur.execute(
            "SELECT item_id FROM review_sample WHERE plan_id = ? ORDER BY item_id", (plan_id,)
        )
    ]
    return Draw(
        row[0],
        row[1],
        row[2],
        bytes(row[3]),
        row[4],
        bytes(row[5]),
        list(json.loads(row[6])),
        bytes(row[7]),
        bytes(row[8]),
        row[9],
        chosen,
    )


def draws_of(cur: "Cursor", item_id: str) -> "list[int]":
    """The plans whose draw took recording ``item_id``."""
    rows = cur.execute(
        "SELECT plan_id FROM review_sample WHERE item_id = ? ORDER BY plan_id", (item_id,)
    )
    return [r[0] for r in rows.fetchall()]


# What ``replay`` checks, in order (the catalogue names each: ``review.check.NAME``).
CHECKS = ("record", "population", "seed", "log", "order", "sample", "unchanged")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: dict

    def to_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "detail": _plain(self.detail)}


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def replay(cur: "Cursor", plan_id: int) -> "list[Check]":
    """Recompute plan ``plan_id``'s draw from what was recorded and say, check by check
    (``CHECKS``), whether it is what was recorded: the audit record holds the draw; the
    population's digest, the seed and the sample recompute; the log had the recorded root
    at the recorded size, and the draw's record came after it; the recordings of the plan
    are still those it was drawn from. SamplingError when the plan was never drawn."""
    plan = get_plan(cur, plan_id)
    d = get_draw(cur, plan_id)
    if d is None:
        raise SamplingError(i18n.text("review.err.not_drawn", plan=plan_id))
    out = []
    rows = cur.execute(
        "SELECT %s FROM audit WHERE seq = ?" % audit.COLUMNS, (d.audit_seq,)
    ).fetchall()
    rec = audit.records_of(rows)[0] if rows else None
    want = d.audit_details()
    held = rec.details if rec is not None else {}
    record_ok = (
        rec is not None
        and rec.action == audit.SAMPLE
        and rec.outcome == audit.DONE
        and all(held.get(k) == v for k, v in want.items())
    )
    out.append(Check("record", record_ok, {"audit_seq": d.audit_seq}))
    digest = population_digest(d.population)
    out.append(
        Check(
            "population",
            digest == d.population_sha and held.get("population_sha256") == digest,
            {"sha256": digest, "size": len(d.population)},
        )
    )
    seed = make_seed(d.fresh, d.log_size, d.log_root, d.population_sha, plan_id)
    out.append(Check("seed", seed == d.seed, {"seed": seed}))
    root = log_root_at(cur, d.log_size)
    out.append(Check("log", root == d.log_root, {"size": d.log_size, "root": root}))
    index = None
    if rows:
        leaf = audit.leaf_of(rows[0])
        found = cur.execute(
            "SELECT idx FROM log WHERE kind = 'audit' AND leaf = ?", (tlog.leaf_hash(leaf),)
        ).fetchone()
        index = found[0] if found else None
    out.append(Check("order", index is not None and index >= d.log_size, {"leaf_index": index}))
    size = sample_size(len(d.population), plan.rate, plan.count)
    again = choose(seed, d.population, size)
    out.append(Check("sample", again == d.sample, {"sample": again, "size": size}))
    now = population(cur, plan.unit_id, plan.officer_id, plan.since_ms, plan.until_ms)
    gone = sorted(set(d.population) - set(now))
    added = sorted(set(now) - set(d.population))
    # A recording docked late may join the period after the draw (that is no unfairness:
    # nobody knew it at the draw); one that left it was removed from the store.
    out.append(Check("unchanged", not gone, {"gone": gone, "added": added}))
    return out
