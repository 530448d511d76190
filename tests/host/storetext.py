"""A check on every finding the evidence store's check makes (``host.verify_store``): its
message id, rendered in English, says exactly its English ``message`` (times aside: the
message writes them in UTC, the report in the agency's zone, here UTC), and rendered in
Chinese it is Chinese (issue 13 "Chinese first", issue 17). Used as an autouse fixture by
the test modules that damage stores in every way they know, so that every finding they
provoke is held to it."""
# micropython: skip (the host's evidence store)

import re

import pytest

from host import i18n, verify_store
from host.report_text import finding_text

CJK = re.compile("[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")


def check_finding(finding: "verify_store.StoreFinding | verify_store.StoreUnusable") -> None:
    """``finding`` (a StoreFinding or StoreUnusable) says the same in English as its
    message, and is Chinese in Chinese; one made without a message id (the retention
    helper's, already in the reader's language) is left as it is."""
    if not finding.msg_id:
        return
    chosen = list(i18n._chosen)  # put back as it was: a language chosen, or the locale's
    try:
        i18n.use("en")
        english = finding_text(finding, "UTC").replace(" UTC+0", " UTC")
        assert english == finding.message, finding.msg_id
        i18n.use("zh")
        assert CJK.search(finding_text(finding, "UTC")), finding.msg_id
    finally:
        i18n._chosen[:] = chosen


@pytest.fixture(scope="module")
def every_store_finding_said():
    """Hold every finding and every StoreUnusable made in a module to ``check_finding``
    (module-scoped, so that hypothesis's tests may use it too)."""
    add = verify_store.StoreReport.add
    made = verify_store._unusable

    def checked_add(self, *args, **kwargs):
        add(self, *args, **kwargs)
        check_finding(self.findings[-1])

    def checked_unusable(*args, **kwargs):
        exc = made(*args, **kwargs)
        check_finding(exc)
        return exc

    verify_store.StoreReport.add = checked_add  # type: ignore[method-assign]  # a test's spy
    verify_store._unusable = checked_unusable
    try:
        yield
    finally:
        verify_store.StoreReport.add = add  # type: ignore[method-assign]
        verify_store._unusable = made
