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


def _failed_job(tmp_path, monkeypatch, lang: str, exc: BaseException):
    """A derivative job that failed for a page in ``lang`` (the one that started it), its
    export raising ``exc``."""
    from types import SimpleNamespace

    from host.web import derivplay

    def export_recording(*args, **kwargs):
        raise exc

    monkeypatch.setattr("host.export.export_recording", export_recording)
    item = SimpleNamespace(item_id="%s/1" % DEVICE, device_id=DEVICE, rec=1, last_seq=9)
    derivs = derivplay.Derivatives(tmp_path / "deriv")
    job = derivplay.Job(derivs.path_of(item))
    derivs._make_in(lang, job, item, str(tmp_path / "ev"), "W", False)
    assert job.state == derivplay.FAILED
    return job


# R-HOST-3 (both languages): a derivative that failed for a page in English is said to a
# later page in Chinese whole: the MP4 error it passes on and the box it names too
def test_a_derivative_failed_in_english_is_read_in_chinese(tmp_path, monkeypatch):
    import hashlib
    import os

    from host.export import ExportError, export_recording

    rec = fmp4.record(gops_before=1, gops_after=1)
    sha = hashlib.sha256(rec.init).digest()
    start = rec.init.find(b"moov") - 4
    end = start + int.from_bytes(rec.init[start : start + 4], "big")
    ev = fmp4.evidence_store(tmp_path / "ev", rec)
    stored = ev.media_file(sha)
    ev.close()
    os.chmod(stored, 0o600)
    with open(stored, "wb") as fh:
        fh.write(rec.init[:start] + rec.init[start:end].replace(b"trak", b"trax"))
    i18n.use(i18n.EN)  # the export fails as the English page asked for it
    try:
        with pytest.raises(ExportError) as caught:
            out = str(tmp_path / "x.mp4")
            export_recording(str(tmp_path / "ev"), DEVICE, None, out, "W", True)
    finally:
        i18n.use(None)
    job = _failed_job(tmp_path, monkeypatch, i18n.EN, caught.value)
    assert job.why(i18n.EN).endswith("mp4: moov holds no trak"), job.why(i18n.EN)
    said = job.why(i18n.ZH)
    assert "moov 盒中没有 trak 盒" in said, said
    assert "holds no" not in said


def test_a_derivative_failure_naming_no_known_message_is_said_in_its_words(tmp_path, monkeypatch):
    class Odd(Exception):
        msg_id = "web.deriv.not_in_any_catalogue"
        fields: dict = {}  # noqa: RUF012

    job = _failed_job(tmp_path, monkeypatch, i18n.EN, Odd("the encoder stopped"))
    assert job.why(i18n.ZH) == job.why(i18n.EN) == "the encoder stopped"  # not a KeyError


# R-HOST-3 (both languages): an object store that does not answer, met by an export asked
# for in English, is said whole in Chinese to a later reader (the store's own words too)
def test_an_unreachable_object_store_is_said_again_in_a_later_readers_language(tmp_path):
    from types import SimpleNamespace

    import boto3
    from botocore.config import Config

    from host import problems
    from host.mediafetch import FetchProblem, fetch_chunks
    from host.mediasource import ObjectMedia
    from protocol.ledger import parse_entry
    from protocol.registry import KIND_CHUNK

    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url="http://127.0.0.1:1",  # nothing listens there: refused at once
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5),
    )
    store = SimpleNamespace(
        media_source=lambda: ObjectMedia(s3, "evidence", lambda digest: "v1"),
        version_of=lambda digest: "v1",
    )
    entries = [parse_entry(raw) for raw in fmp4.record(gops_before=1, gops_after=1).raws]
    chunk = next(e for e in entries if e.kind == KIND_CHUNK)
    i18n.use(i18n.EN)  # the first asker's language
    try:
        with pytest.raises(FetchProblem) as caught:
            fetch_chunks(store, [chunk], tmp_path / "fetched")
        english = problems.said(caught.value)
        assert "the object store at http://127.0.0.1:1 (bucket evidence) does not answer" in english
        i18n.use(i18n.ZH)  # a later reader's
        said = problems.said(caught.value)
    finally:
        i18n.use(None)
    assert "的对象存储（存储桶 evidence）没有响应" in said, said
    assert "does not answer" not in said and "object store" not in said, said
