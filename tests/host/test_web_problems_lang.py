"""The review page says what keeps a recording from playing in each reader's language: the
recording's view is made once and kept (in memory, and in the store for the next server),
so what it holds is said per request, never in the words of whoever looked first."""
# micropython: skip (the review page)
# R-HOST-3 (both languages): each page in the language its reader asked for.

import pytest

from host import i18n
from host.evidence import SqliteEvidenceStore
from protocol.registry import EV_ANNOUNCEMENT, F_DETAIL
from tests.host import fmp4, webstore
from tests.host.helpers import with_accounts
from tests.protocol.helpers import DEVICE, device_key


@pytest.fixture
def twice(tmp_path):
    """A store holding one fMP4 recording with two init segments (the second one not chunk
    0): two problems the recording's view keeps."""
    b = fmp4._Builder()
    samples, avcc = fmp4.encode_video(fmp4.FPS)
    b.event(EV_ANNOUNCEMENT, b.mono, {F_DETAIL: {"prompted_ms": fmp4.T0 + b.mono}})
    init = fmp4.mp4.init_segment(fmp4.tracks(avcc, b""))
    b.init(init)
    b.init(init)
    b.gop(samples, [])
    rec = b.stop()
    ev = SqliteEvidenceStore(tmp_path / "ev")
    ev.enrol(DEVICE, device_key().public)
    ev.add_entries(DEVICE, rec.raws, fmp4.T0 + 3_600_000)
    for sha, data in rec.media.items():
        ev.put_media(sha, data)
    with_accounts(ev, webstore.ACCOUNTS)
    yield ev
    ev.close()


PROBLEMS = {
    i18n.EN: ["its init segment is chunk 1, not chunk 0", "it has more than one init segment"],
    i18n.ZH: ["其初始化段是第 1 个分段，而不是第 0 个", "有多个初始化段"],
}


def test_a_recordings_problems_are_said_in_each_readers_language(twice):
    clerk = webstore.logged_in(webstore.app_on(twice), "clerk")
    page = "/recording/%s/1" % DEVICE
    # Chinese first: the view is made for this reader and kept; the next read it as kept.
    for lang in (i18n.ZH, i18n.EN, i18n.ZH):
        clerk.cookies.set("sealcam_lang", lang)
        html = clerk.get(page, headers=webstore.HTML).text
        for said in PROBLEMS[lang]:
            assert said in html, (lang, said)
        other = PROBLEMS[i18n.EN if lang == i18n.ZH else i18n.ZH]
        assert not any(said in html for said in other), lang
    # A server started afterwards reads the view the first one kept in the store.
    again = webstore.logged_in(webstore.app_on(twice), "clerk")
    again.cookies.set("sealcam_lang", i18n.ZH)
    html = again.get(page, headers=webstore.HTML).text
    assert all(said in html for said in PROBLEMS[i18n.ZH])
