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


# R-HOST-3 (both languages): a failure naming an id no catalogue holds is said by its kind
# in each language (not a KeyError, not its words in the first asker's language)
def test_a_derivative_failure_naming_no_known_message_is_said_by_its_kind(tmp_path, monkeypatch):
    class Odd(Exception):
        msg_id = "web.deriv.not_in_any_catalogue"
        fields: dict = {}  # noqa: RUF012

    job = _failed_job(tmp_path, monkeypatch, i18n.EN, Odd("the encoder stopped"))
    for lang in (i18n.ZH, i18n.EN):
        assert job.why(lang) == i18n.text("problem.unexpected", lang, kind="Odd")
    assert "the encoder stopped" not in job.why(i18n.EN)


def _not_a_video() -> Exception:
    """PyAV's own error, as it raises it for bytes that are no media file."""
    import io

    import av

    try:
        av.open(io.BytesIO(b"not a video, " * 40))
    except Exception as exc:
        return exc
    raise AssertionError("PyAV opened bytes that are no media file")


def _os_error(path) -> OSError:
    """The system's own refusal to open ``path``."""
    try:
        open(path, "rb")
    except OSError as exc:
        return exc
    raise AssertionError("%s opened" % path)


def _looping(tmp_path) -> OSError:
    """ELOOP, a reason the catalogue has no words for: a link to itself."""
    import os

    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    return _os_error(loop)


# Where each failure names something that stays as it is in both languages (a path, the
# name of a kind or of an errno); what is left of the Chinese has no Latin word.
FAILURES = {
    "missing file": (lambda tmp: _os_error(tmp / "gone.mp4"), lambda tmp: [str(tmp / "gone.mp4")]),
    "unnamed errno": (_looping, lambda tmp: [str(tmp / "loop"), "ELOOP"]),
    "PyAV": (lambda tmp: _not_a_video(), lambda tmp: ["InvalidDataError"]),
    "plain": (lambda tmp: RuntimeError("the encoder went away"), lambda tmp: ["RuntimeError"]),
    "PyAV inside ours": (
        lambda tmp: _encoder_refused(),
        lambda tmp: ["copy.mp4", "InvalidDataError"],
    ),
}


def _encoder_refused() -> Exception:
    """A line of ours passing on PyAV's error (the encoder's refusal, as the export gives
    it): the line is said in each language, PyAV's English words are not kept."""
    from host.derivative import DerivativeProblem
    from host.export import ExportError

    said = DerivativeProblem.said("export.derivative_encode", name="copy.mp4", why=_not_a_video())
    return ExportError.passing(said)


# R-HOST-3 (both languages): a playable copy that failed for an English page with an error
# naming no message of ours (the system's, PyAV's, any other) is said to a later Chinese
# reader in Chinese, not in the English words of the first asker or of a library
@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_a_failure_naming_no_message_is_said_in_each_readers_language(tmp_path, monkeypatch,
                                                                       caplog, kind):  # fmt: skip
    import re

    make, names = FAILURES[kind]
    i18n.use(i18n.EN)
    try:
        exc = make(tmp_path)
    finally:
        i18n.use(None)
    job = _failed_job(tmp_path, monkeypatch, i18n.EN, exc)
    english, chinese = job.why(i18n.EN), job.why(i18n.ZH)
    assert english != chinese
    left = chinese
    for name in names(tmp_path):
        assert name in chinese and name in english, (name, chinese)
        left = left.replace(name, "")
    assert not re.search("[A-Za-z]{2,}", left), chinese
    # What a page shows: the playable copy's failure in the page's language, whole.
    said = i18n.text("web.deriv.failed", i18n.ZH, problem=chinese)
    assert str(exc) not in said
    # The words left out are the server's log's, for whoever runs it.
    assert any(str(exc) in r.getMessage() for r in caplog.records), caplog.text


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


# R-HOST-3 (both languages): the system's refusal met by a playable copy an English page
# asked for (its folder cannot be made: a file is in the way) is read by a Chinese page
# (its browser's Accept-Language) in Chinese, the path as it is
def test_a_copy_that_failed_on_the_system_is_said_to_a_chinese_page_in_chinese(tmp_path):
    import re
    import time
    from pathlib import Path

    from host.web.derivplay import FOLDER
    from tests.host import deskstore
    from tests.host.helpers import with_accounts

    path = deskstore.store_with(tmp_path)
    ev = SqliteEvidenceStore(path)
    try:
        with_accounts(ev, webstore.ACCOUNTS)
        folder = Path(ev.root) / FOLDER  # where the store's playable copies go
        folder.write_bytes(b"a file where the copies' folder goes")
        item = deskstore.the_recording(ev).item_id
        c = webstore.logged_in(webstore.app_on(ev), "clerk")
        page = c.get("/recording/" + item, headers={**webstore.HTML, "accept-language": "en"})
        c.post("/media/%s/derivative" % item, data={"csrf": webstore.csrf_in(page.text)},
               headers={"accept-language": "en"})  # fmt: skip
        status = "/media/%s/derivative.json" % item
        for _ in range(1200):  # the copy is made in the background: polled, bounded
            english = c.get(status, headers={"accept-language": "en"}).json()
            if english["state"] != "making":
                break
            time.sleep(0.1)
        assert english["state"] == "failed", english
        chinese = c.get(status, headers={"accept-language": "zh-CN,zh;q=0.9"}).json()
    finally:
        ev.close()
    why = i18n.text(
        "oserror.at", i18n.ZH, path=str(folder), why=i18n.text("oserror.EEXIST", i18n.ZH)
    )
    assert chinese["problem"] == i18n.text("web.deriv.failed", i18n.ZH, problem=why), chinese
    assert not re.search("[A-Za-z]{2,}", chinese["problem"].replace(str(folder), ""))
    assert str(folder) in english["problem"] and "in the way" in english["problem"]


# R-HOST-3 (both languages): an evidence store that cannot be opened (its database is no
# database), met by a playable copy an English page asked for, is said to a later Chinese
# reader in Chinese: the store's line and SQLite's reason, not the first asker's words
def test_a_store_that_cannot_be_opened_is_said_again_in_a_later_readers_language(tmp_path):
    import re
    from types import SimpleNamespace

    from host.web import derivplay

    root = tmp_path / "ev"
    root.mkdir()
    db = root / "evidence.db"
    db.write_bytes(b"no database, " * 400)
    item = SimpleNamespace(item_id="%s/1" % DEVICE, device_id=DEVICE, rec=1, last_seq=9)
    derivs = derivplay.Derivatives(tmp_path / "deriv")
    job = derivplay.Job(derivs.path_of(item))
    derivs._make_in(i18n.EN, job, item, str(root), "W", False)  # the real export, failing
    assert job.state == derivplay.FAILED
    english, chinese = job.why(i18n.EN), job.why(i18n.ZH)
    why = i18n.text("store.sqlite.not_a_database", i18n.ZH)
    assert chinese == i18n.text("store.unopenable.cannot_open", i18n.ZH, path=db, why=why)
    assert not re.search("[A-Za-z]{2,}", chinese.replace(str(db), "")), chinese
    assert english == i18n.text(
        "store.unopenable.cannot_open",
        i18n.EN,
        path=db,
        why=i18n.text("store.sqlite.not_a_database", i18n.EN),
    )


# R-HOST-3 (both languages): a court package the system would not let be written (a file
# where its folder goes) is said to a Chinese page in Chinese, the path as it is, not in
# the C library's English
def test_a_package_the_system_refused_is_said_in_the_pages_language(tmp_path):
    import re
    from pathlib import Path

    from host.web.export import EXPORTS

    ev, _ = webstore.make(tmp_path / "ev")
    try:
        blocked = Path(ev.root) / EXPORTS
        blocked.write_bytes(b"a file where the packages' folder goes")
        clerk = webstore.logged_in(webstore.app_on(ev), "clerk")
        clerk.cookies.set("sealcam_lang", i18n.ZH)
        page = clerk.get("/recording/" + webstore.FIRST, headers=webstore.HTML).text
        r = clerk.post("/export/" + webstore.FIRST, data={"csrf": webstore.csrf_in(page)},
                       headers=webstore.HTML, follow_redirects=False)  # fmt: skip
    finally:
        ev.close()
    assert r.status_code == 400, r.text
    why = i18n.text(
        "oserror.at", i18n.ZH, path=str(blocked), why=i18n.text("oserror.EEXIST", i18n.ZH)
    )
    said = i18n.text("web.export.failed", i18n.ZH, problem=why)
    assert said in r.text, r.text
    assert "File exists" not in r.text
    assert not re.search("[A-Za-z]{2,}", said.replace(str(blocked), ""))


# R-HOST-3 (both languages): a failure kept to be said later is said truly. An OSError made
# of words only (no errno) is no refusal of the system: not "the system refused", but an
# unexpected error of its kind; a media file shorter than the ledger signed says so itself,
# in each reader's language.
def test_an_oserror_without_errno_is_not_said_as_a_refusal_of_the_system(tmp_path):
    import errno

    from host import problems
    from host.mediasource import FileMedia, MediaShort

    assert problems.kept(OSError("words only")) == ("problem.unexpected", {"kind": "OSError"})
    refused = OSError(errno.EACCES, "Permission denied", "f")
    assert problems.kept(refused)[0] == "oserror.at"
    digest = bytes(32)
    (tmp_path / "m").write_bytes(b"12345")
    media = FileMedia(lambda d: tmp_path / "m")
    with pytest.raises(MediaShort) as short:
        b"".join(media.read_range(digest, 0, 9))
    kept = problems.kept(short.value)
    assert kept == ("media.shorter", {"digest": digest.hex()}), kept
    for lang, words in ((i18n.EN, "is shorter than signed"), (i18n.ZH, "比签名的长度短")):
        said = i18n.text("media.shorter", lang, digest=digest.hex())
        assert words in said and digest.hex() in said, said
        assert "system" not in said and "系统" not in said, said
