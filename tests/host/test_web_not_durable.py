"""A page whose ``view`` record the store cannot make durable (issue 16: a page is sent only
once its audit record is on disk): the person gets one line, in their language, status
503, not a traceback, and not the page; whoever runs the server reads why in its log. Made
to happen for real, under ``sealcam serve``: SQLite refusing the record's insert (as on a
full disk), and refusing the group's commit (a deferred constraint fails at COMMIT)."""
# micropython: skip (the review page)

import contextlib
import html
import sqlite3

import pytest

from host import audit, i18n
from host.evidence import EvidenceError
from host.web.storefront import Front, NotDurable
from tests.host import webstore
from tests.host.served import serving

FIRST = webstore.FIRST

# SQLite refuses the view's record as it is written, as a full disk would.
REFUSED_AT_INSERT = """
CREATE TRIGGER IF NOT EXISTS no_view AFTER INSERT ON audit WHEN NEW.action = 'view'
BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
"""
# The record is written, but the transaction holding it cannot commit: a deferred foreign
# key, checked at COMMIT, that every view breaks.
REFUSED_AT_COMMIT = """
CREATE TABLE IF NOT EXISTS broken_anchor (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS broken_tether (
    anchor INTEGER REFERENCES broken_anchor (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE TRIGGER IF NOT EXISTS no_view AFTER INSERT ON audit WHEN NEW.action = 'view'
BEGIN INSERT INTO broken_tether VALUES (42); END;
"""


def on_disk(root) -> list:
    db = sqlite3.connect("file:%s?mode=ro" % (root / "evidence.db"), uri=True)
    try:
        return db.execute("SELECT actor, action, item FROM audit ORDER BY seq").fetchall()
    finally:
        db.close()


@pytest.mark.parametrize(
    "failing", [REFUSED_AT_INSERT, REFUSED_AT_COMMIT], ids=["insert", "commit"]
)
def test_a_view_not_made_durable_is_one_line_503_logged_and_no_page(tmp_path, failing):
    ev, _ = webstore.make(tmp_path / "ev")
    root = ev.root
    ev.add_tables(failing)
    ev.close()
    with serving(root) as server:
        legal = server.client()
        legal.login("legal")
        before = on_disk(root)
        said = {}
        for lang in (i18n.EN, i18n.ZH):
            status, text = legal.ask("GET", "/recording/" + FIRST, lang=lang)
            assert status == 503
            assert 'class="problem"' in text and "Traceback" not in text
            assert 'class="events"' not in text and "<video" not in text  # not the page
            said[lang] = i18n.text("web.problem.not_durable", lang)
            assert said[lang] in html.unescape(text)
        status, text = legal.ask("GET", "/")
        assert status == 503 and said[i18n.EN] in html.unescape(text)
        assert on_disk(root) == before  # nothing of the failed views is on record
    assert said[i18n.EN] != said[i18n.ZH]
    lines = server.stderr.strip().splitlines()
    assert "Traceback" not in server.stderr
    assert len(lines) == 3 and all(line.startswith("sealcam serve: ") for line in lines)
    assert lines[0].startswith("sealcam serve: GET /recording/%s not answered" % FIRST)
    assert lines[2].startswith("sealcam serve: GET / not answered")
    # The store itself is whole: the login before, on record; nothing half-written.
    after = on_disk(root)
    assert after[-1] == ("legal", audit.LOGIN, "legal")


class _Lost(Exception):
    """What a database driver raises when its connection goes under a statement."""


class _Away:
    """A store other than SQLite (no file the page could open), its transaction failing at
    ``at`` as the PostgreSQL store's does when its connection is lost: EvidenceError."""

    log = None

    def __init__(self, at: str) -> None:
        self.at = at
        self.committed = 0

    @contextlib.contextmanager
    def write(self):
        if self.at == "begin":
            raise EvidenceError("the database connection was lost")
        try:
            yield self
        except _Lost:
            raise EvidenceError("the database connection was lost") from None
        if self.at == "commit":
            raise EvidenceError("the database connection was lost")
        self.committed += 1

    def execute(self, sql: str) -> None:
        if self.at == "block":
            raise _Lost(sql)


@pytest.mark.parametrize("at", ["begin", "block", "commit"])
def test_the_other_stores_transaction_failing_is_not_durable(at):
    # R-HOST-3: a page is sent only once its record is durable; on the PostgreSQL store a
    # lost connection is EvidenceError, which the page must answer with 503, as SQLite's.
    front = Front(_Away(at))
    with pytest.raises(NotDurable, match="connection was lost"):
        with front.write() as cur:
            cur.execute("INSERT INTO audit VALUES (1)")
    assert front.store.committed == 0
    with pytest.raises(NotDurable):  # the next write is tried again, and fails alike
        with front.write() as cur:
            cur.execute("INSERT INTO audit VALUES (2)")


def test_the_blocks_own_evidence_error_is_its_callers():
    # What the block itself raises (a desk refusing an action) is not the store's failing.
    front = Front(_Away("never"))
    refused = EvidenceError("not yours to see")
    with pytest.raises(EvidenceError) as caught:
        with front.write():
            raise refused
    assert caught.value is refused and not isinstance(caught.value, NotDurable)
    with front.write() as cur:
        cur.execute("INSERT INTO audit VALUES (1)")
    assert front.store.committed == 1
