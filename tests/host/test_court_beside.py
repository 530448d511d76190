"""The court package's work beside its media's copy (host/court/beside.py): whatever the
process beside does or fails to do, the package is the one made without it, and its note's
PDF is made from the package's note (issue 15: the note lists every file with its SHA-256;
R-HOST-4)."""
# micropython: skip (host code: the court package)

import json
import multiprocessing
import os
import signal

import pytest

from host.court import beside as bs
from host.court import package as court_package
from host.court import verify_package as vp
from tests.host.courtstore import export, fmp4_store, the_item


def _pid(shared, tag):
    return os.getpid(), shared, tag


def _add(shared, a, b):
    return a + b + shared


def _fail(shared, text):
    if os.getpid() != shared:
        raise RuntimeError("beside")
    raise ValueError(text)


def _die(shared):
    os.kill(os.getpid(), signal.SIGKILL)


def test_jobs_run_in_another_process_in_order_and_their_results_come_in_any_order():
    b = bs.Beside(10)
    try:
        assert b.forked
        first = b.submit(_pid, "a")
        second = b.submit(_add, 1, 2)
        assert b.result(second) == 13
        pid, shared, tag = b.result(first)
        assert pid != os.getpid() and shared == 10 and tag == "a"
    finally:
        b.close()


def test_a_job_that_fails_beside_is_run_here_and_raises_its_own_error_here():
    b = bs.Beside(os.getpid())
    try:
        t = b.submit(_fail, "the job's own error")
        with pytest.raises(ValueError, match="the job's own error"):
            b.result(t)
    finally:
        b.close()


def test_jobs_of_a_process_gone_are_run_here():
    b = bs.Beside(1)
    try:
        first = b.submit(_add, 1, 1)
        b.submit(_die)
        after = b.submit(_pid, "after")
        assert b.result(after) == (os.getpid(), 1, "after")
        assert b.result(first) == 3
        assert not b.forked
    finally:
        b.close()


def test_without_fork_every_job_runs_here(monkeypatch):
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    b = bs.Beside(5)
    assert not b.forked
    t = b.submit(_pid, "here")
    assert b.result(t) == (os.getpid(), 5, "here")
    b.close()


# --- the note made beside the export --------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("beside")
    path = fmp4_store(tmp)
    return path, the_item(path)


def fake_pdf(html: str) -> bytes:
    """A stand-in for the PDF: the very note it is made of."""
    return b"PDF of " + html.encode("utf-8")


@pytest.fixture
def spied(monkeypatch):
    """The jobs submitted (this process's side), and a PDF that shows the note it shows."""
    submitted: list = []
    real = bs.Beside.submit

    def submit(self, fn, *args):
        submitted.append(fn.__name__)
        return real(self, fn, *args)

    monkeypatch.setattr(bs.Beside, "submit", submit)
    monkeypatch.setattr(court_package, "note_pdf", fake_pdf)
    monkeypatch.setattr(court_package, "warm_up", lambda: None)
    return submitted


def test_the_pdf_is_made_beside_from_the_packages_note(store, spied, tmp_path, monkeypatch):
    # issue 15: the note's PDF lists the video's SHA-256: laid out beside, after the export.
    path, item = store
    assert export(monkeypatch, path, tmp_path / "pkg", "--recording", item) == 0
    pkg = tmp_path / "pkg"
    html = (pkg / "note.html").read_text()
    assert (pkg / "note.pdf").read_bytes() == fake_pdf(html)
    files = json.loads((pkg / "manifest.json").read_text())["files"]
    video = [f for f in files if f["path"].endswith("video.mp4")]
    assert video and video[0]["sha256"] in html  # the video's hash, as the export wrote it
    assert spied.count("_pdf_file") == 1  # made once
    assert vp.check(vp.Folder(str(pkg))).ok


def test_without_a_process_beside_the_package_is_the_same(store, spied, tmp_path, monkeypatch):
    path, item = store
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert export(monkeypatch, path, tmp_path / "pkg", "--recording", item) == 0
    pkg = tmp_path / "pkg"
    assert (pkg / "note.pdf").read_bytes() == fake_pdf((pkg / "note.html").read_text())
    assert vp.check(vp.Folder(str(pkg))).ok


def test_no_fork_from_a_process_running_other_threads():
    # The demo's daemon and a web server's workers run threads: a lock one of them holds at
    # the fork would stay held in the child for ever (the demo hung on it once).
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        b = bs.Beside(3)
        assert not b.forked
        assert b.result(b.submit(_pid, "here")) == (os.getpid(), 3, "here")
        b.close()
    finally:
        stop.set()
        other.join()
