"""The review page's front (``host.web.storefront``) over the scale-out store: its writes
from many request threads at once, and the end of the server after them.

The PostgreSQL store's transaction belongs to the thread that opened it (its one connection
is guarded by a re-entrant lock, the opener's own): no other thread may join it or end it.
A second page's write joined to the first one's transaction and committed from another
thread once left the lock with a thread that no longer used it, and every later read, and
the store's close at Ctrl-C, waited for it for ever (issue 18: serve on both stores)."""
# micropython: skip (host code, real services)

import threading

from host.pgstore import PgEvidenceStore
from host.web.storefront import Front

BOUND = 600  # polls of 0.1 s: a generous bound on what another thread is awaited for


def _in_thread(work) -> "tuple[threading.Thread, list]":
    """``work()`` in a daemon thread: (the thread, a list that gets its result or error)."""
    out: list = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # the test reads it
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_two_pages_writing_at_once_both_commit_and_the_store_still_closes(scale_store):
    # Issue 18 (serve on both stores), issue 16 (twenty reviewers at once): the first
    # writer's block is still open when the second asks to write; both records are
    # committed, a third thread reads them both, and the store closes (what Ctrl-C does).
    url, media = scale_store
    store = PgEvidenceStore(url, media)
    store.add_tables("CREATE TABLE IF NOT EXISTS t (who TEXT NOT NULL);")
    front = Front(store, most_open_s=3600.0)
    inside = threading.Event()
    raised: list = []

    def a() -> None:
        with front.write() as cur:
            cur.execute("INSERT INTO t VALUES ('a')")
            inside.set()
            for _ in range(BOUND):  # held until the second writer waits for its turn
                if front._queued:
                    break
                threading.Event().wait(0.1)

    def b() -> None:
        inside.wait(timeout=60)
        with front.write() as cur:
            cur.execute("INSERT INTO t VALUES ('b')")

    writers = [_in_thread(a), _in_thread(b)]
    for t, out in writers:
        t.join(BOUND * 0.1)
        assert not t.is_alive(), "a writer never returned"
        raised += [o for o in out if isinstance(o, BaseException)]
    assert raised == []

    def rows() -> list:
        with front.read() as cur:
            return sorted(r[0] for r in cur.execute("SELECT who FROM t").fetchall())

    reader, got = _in_thread(rows)
    reader.join(BOUND * 0.1)
    assert got == [["a", "b"]], "a reader waited for a lock nobody would give back"
    front.close()
    closer, closed = _in_thread(store.close)
    closer.join(BOUND * 0.1)
    assert closed == [None], "the store's close waited for a lock nobody would give back"
