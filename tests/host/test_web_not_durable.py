"""A page whose ``view`` record the store cannot make durable (issue 16: a page is sent only
once its audit record is on disk): the person gets one line, in their language, status
503, not a traceback, and not the page; whoever runs the server reads why in its log. Made
to happen for real, under ``sealcam serve``: SQLite refusing the record's insert (as on a
full disk), and refusing the group's commit (a deferred constraint fails at COMMIT)."""
# micropython: skip (the review page)

import html
import sqlite3

import pytest

from host import audit, i18n
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
