"""What the object locks' applier asks of PostgreSQL: each item's retention read by lists of
ids, as ``host.retention`` reads it (one way to ask, shared), in a bounded number of
statements however few or many the items; counted in the store's own execute seam
(``host.sqlstore.PgCursor.execute``), on PostgreSQL 15."""
# micropython: skip (host code, real services)
# R-HOST-3: how long a recording is kept follows its category, its cases and its holds;
# the object store's lock is planned from the same facts retention decides from.

import pytest

from host import medialocks, objectlock, retention, sqlstore
from host.pgstore import PgEvidenceStore

DAY = retention.DAY_MS
T0 = 1_795_420_800_000  # when the recordings were made
RECORDINGS = 60
# The statements keeps_from may make for up to sqlstore.CHUNK items: the tables' checks and the
# policy's settings and case types (a dozen, whatever the items), then one list read each
# of the items, their cases, and their holds (direct and through a case). The same for 1
# item as for 60; read one by one, 32 items took about 260.
BOUND = 20


def store_with_recordings(url: str, media: str) -> PgEvidenceStore:
    """A scale-out store with evidence management and RECORDINGS recordings: some
    categorised, some in cases (open, closed, major), some held directly or by a case."""
    from host import migrate

    store = PgEvidenceStore(url, media)
    for schema in migrate._schemas():
        store.add_tables(schema)
    with store.write() as cur:
        for n in range(RECORDINGS):
            cur.execute(
                "INSERT INTO items (item_id, kind, device_id, rec, first_seq, last_seq, "
                "started_ms, ended_ms) VALUES (?, 'recording', 'SC-Q', ?, ?, ?, ?, ?)",
                ("SC-Q/%03d" % n, n, n, n, T0 + n * DAY, T0 + n * DAY + 60_000),
            )
        for n in range(0, RECORDINGS, 5):
            cur.execute(
                "INSERT INTO item_notes VALUES (?, ?, '', 'clerk', 0)",
                ("SC-Q/%03d" % n, retention.OBSTRUCTION if n % 10 else "routine"),
            )
        for case_no, closed, major in (("A-1", None, 0), ("A-2", T0 + 30 * DAY, 0),
                                       ("A-3", T0, 1)):  # fmt: skip
            cur.execute(
                "INSERT INTO cases (case_no, case_type, title, responsible, place, "
                "happened_ms, opened_ms, closed_ms, major, created_by, created_ms) "
                "VALUES (?, 'search', 't', 'r', 'p', 0, 0, ?, ?, 'clerk', 0)",
                (case_no, closed, major),
            )
        for n in range(1, RECORDINGS, 3):
            case_no = ("A-1", "A-2", "A-3")[n % 3]
            cur.execute(
                "INSERT INTO case_items VALUES (?, ?, 'clerk', 0)", (case_no, "SC-Q/%03d" % n)
            )
        for n in range(2, RECORDINGS, 7):
            retention.place_hold(cur, "SC-Q/%03d" % n, None, "order", "clerk", T0)
        retention.place_hold(cur, None, "A-2", "order", "clerk", T0)
    return store


class Statements:
    """Every statement the store's cursors run, counted (the store's execute seam)."""

    def __init__(self, monkeypatch) -> None:
        self.n = 0
        real = sqlstore.PgCursor.execute

        def execute(cur, sql, parameters=()):
            self.n += 1
            return real(cur, sql, parameters)

        monkeypatch.setattr(sqlstore.PgCursor, "execute", execute)


def test_an_items_retention_is_read_in_a_bounded_number_of_statements(scale_store, monkeypatch):
    # One item or sixty: the same handful of statements, and each Keep as retention
    # decides it from the item's own facts (retention.facts, one item at a time).
    url, media = scale_store
    store = store_with_recordings(url, media)
    now = T0 + 40 * DAY
    ids = ["SC-Q/%03d" % n for n in range(RECORDINGS)]
    with store.read() as cur:
        pol = retention.policy(cur)
        want = {i: objectlock.keep_of(retention.facts(cur, i), pol, now) for i in ids}
    assert any(k.held for k in want.values()) and len({k.need_ms for k in want.values()}) > 3
    counted = Statements(monkeypatch)
    made = {}
    for n in (1, 2, 5, 31, 32, 33, RECORDINGS):
        with store.read() as cur:
            counted.n = 0
            got = medialocks.keeps_from(cur, ids[:n], now)
            made[n] = counted.n
        assert made[n] <= BOUND, made
        assert got == {i: want[i] for i in ids[:n]}, n
    assert len(set(made.values())) == 1, made  # not one more statement for more items
    store.close()


@pytest.mark.parametrize("n", [1, 40])
def test_case_links_and_holds_by_list_are_those_read_one_by_one(scale_store, n):
    # The list form of retention's own reads gives what reading each item alone gives.
    url, media = scale_store
    store = store_with_recordings(url, media)
    ids = ["SC-Q/%03d" % k for k in range(n)]
    with store.read() as cur:
        links, held = {}, set()
        for i in ids:
            links.update(retention._case_links(cur, i))
            held |= retention.held_items(cur, i)
        assert retention._case_links(cur, ids=ids) == links
        assert retention.held_items(cur, ids=ids) == held
    store.close()
