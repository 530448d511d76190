"""Playing a raw recording in the page through its derivative.

A recording made in raw mode (a JPEG per frame, PCM sound: boards, the simulator, older
stores) is no MP4 a browser plays. On its first play the page has ``host.export`` make
its derivative, H.264 with the sound as AAC (``host.derivative``), labelled as such in
its own metadata and in its note, which lists the signed originals it was made from by
seq and SHA-256. Making it takes a while (the frames are decoded and encoded again): the
page asks for it (``start``), shows that it is being prepared and asks how it is going
(``status``) until it plays. It is made once and kept beside the store
(``derivatives/``, named by recording and last seq: a recording that grew is made
again); a server started again finds it there and checks it against its note's hash. A
scale-out store (PostgreSQL and objects) has no folder of its own on this machine: its
derivatives are made in a private temporary folder for the server's life, from the objects.

The derivative is an item of its own, ``DEVICE/N~HEX12`` (``host.items.add_derivative``),
linked to its original by its hash: it is registered by the first play of it, in the same
transaction as that ``play`` record, which names it. Plays are recorded as for fMP4
footage (``media``): the first in a web session, then every request passes the desk's
checks again, so an approval that ends stops the player. Nothing here names a file by a
URL: the file is the recording's, found by its item id.
"""

import hashlib
import json
import logging
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from host import audit, items, problems
from host import i18n as host_i18n
from host.i18n import EN, N_, speaking
from host.web import footage, i18n, pages, ranges
from host.web.evidence import acting, item_id
from host.web.session import checked_form, need, web_of

LOG = logging.getLogger("sealcam.web")

if TYPE_CHECKING:
    from host.web.session import WebSession

FOLDER = "derivatives"  # under the store's root
MAKING = "making"
READY = "ready"
FAILED = "failed"
NONE = "none"
READ_BLOCK = 256 * 1024


@dataclass
class Job:
    """One recording's derivative: being made, made, or failed (and why)."""

    path: Path
    state: str = MAKING
    sha256: str = ""
    of: list = field(default_factory=list)  # the signed originals: {seq, sha256, media}
    size: int = 0
    # Why it failed: a catalog message ``(msg_id, fields)`` (``problems.pair``: the errors it
    # passes on, MP4 places and a decoder's byte made messages too), said in the language of
    # each page that asks (a job outlives the page that started it). A failure that names
    # no message is kept as its reason (an OSError's) or its kind (``problems.kept``).
    problem: "str | tuple" = ""

    def why(self, lang: str) -> str:
        """Why it failed, in ``lang`` as far as the failure lets."""
        if isinstance(self.problem, tuple):
            with speaking(lang):
                return problems.message(*self.problem)
        return self.problem


class Derivatives:
    """The derivatives of raw recordings, made one at a time per recording and kept."""

    def __init__(self, folder: Path, at_once: int = 1, media: "str | None" = None) -> None:
        self.folder = folder
        self.media = media  # the scale-out store's bucket (s3://B), None for a folder store
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        # Encoding is heavy: one derivative made at a time (the others wait, "making").
        self._making = threading.Semaphore(at_once)

    def path_of(self, item: items.Item) -> Path:
        device = re.sub(r"[^A-Za-z0-9_-]", "_", item.device_id)
        return self.folder / ("%s-%d-%d.mp4" % (device, item.rec, item.last_seq))

    def job(self, item: items.Item, lang: str = EN) -> "Job | None":
        """What is known of ``item``'s derivative (a kept one found on disk is checked; a
        problem said in ``lang``)."""
        key = "%s@%d" % (item.item_id, item.last_seq)
        with self._lock:
            known = self._jobs.get(key)
        if known is not None:
            return known
        path = self.path_of(item)
        if not path.is_file():
            return None
        return self.start(item, "", "", path_only=True, lang=lang)

    def start(
        self,
        item: items.Item,
        root: str,
        extractor: str,
        path_only: bool = False,
        lang: str = EN,
    ) -> Job:
        """``item``'s derivative: the one being made or made, else one started now in the
        background (``path_only``: only the check of a kept file); why it failed, if it
        does, is said in ``lang``, the language of the page that asked for it."""
        key = "%s@%d" % (item.item_id, item.last_seq)
        with self._lock:
            known = self._jobs.get(key)
            if known is not None and known.state != FAILED:
                return known
            job = Job(self.path_of(item))
            self._jobs[key] = job
        threading.Thread(
            target=self._make_in, args=(lang, job, item, root, extractor, path_only), daemon=True
        ).start()
        return job

    def forget(self, item: items.Item) -> None:
        """Remove ``item``'s kept derivative, and what is known of it."""
        key = "%s@%d" % (item.item_id, item.last_seq)
        with self._lock:
            self._jobs.pop(key, None)
        path = self.path_of(item)
        path.unlink(missing_ok=True)
        Path(str(path) + ".json").unlink(missing_ok=True)

    def _make_in(self, lang: str, job: Job, item: items.Item, root: str, extractor: str,
                 path_only: bool) -> None:  # fmt: skip
        # The export says why it failed as it fails: in this thread's language.
        with speaking(lang):
            unsaid = self._make(job, item, root, extractor, path_only)
        if unsaid is not None:  # its words, in the server's log's language around them
            LOG.warning(host_i18n.text("web.log.deriv_failed", item=item.item_id, problem=unsaid))

    def _make(self, job: Job, item: items.Item, root: str, extractor: str,
              path_only: bool) -> "BaseException | None":  # fmt: skip
        """Make ``job``; a failure with words that name no message is given back (the job
        keeps their kind only: ``problems.kept``), for the log."""
        note_path = Path(str(job.path) + ".json")
        try:
            if job.path.is_file() and note_path.is_file():
                note = json.loads(note_path.read_text())
                if _sha256(job.path) == note.get("file_sha256"):
                    self._done(job, note)
                    return None
            if path_only:
                job.problem = (N_("web.deriv.kept_changed"), {})
                job.state = FAILED
                return None
            from host.export import export_recording

            self.folder.mkdir(parents=True, exist_ok=True)
            with self._making:
                note = export_recording(root, item.device_id, item.rec, str(job.path), extractor,
                                        media=self.media)  # fmt: skip
            self._done(job, note)
        except Exception as exc:  # any failure is the page's to say, not the server's end
            # Kept as a message, said in each asking page's language; words (its own or a
            # field's) that name no message are in one language: the server's log has them.
            job.problem = problems.kept(exc)
            job.state = FAILED
            return exc if problems.dropped(exc) else None
        return None

    def _done(self, job: Job, note: dict) -> None:
        derivative = note.get("derivative") or {}
        job.of = list(derivative.get("of") or [])
        job.sha256 = str(note["file_sha256"])
        job.size = job.path.stat().st_size
        job.state = READY


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_made_lock = threading.Lock()


def derivatives_of(request: Request) -> Derivatives:
    """The application's derivatives (made at its first use)."""
    state = request.app.state
    with _made_lock:
        found = getattr(state, "derivatives", None)
        if found is None:
            store = web_of(request).store
            root = getattr(store, "root", None)
            if root is not None:
                found = Derivatives(Path(str(root)) / FOLDER)
            else:  # the scale-out store: kept for the server's life (see the module's note)
                folder = Path(tempfile.mkdtemp(prefix="sealcam-derivatives-"))
                found = Derivatives(folder, media=getattr(store, "media").url)  # noqa: B009
            state.derivatives = found
    return found


def _where(store: object) -> str:
    """What ``host.export`` opens the store by: its folder, or its database's URL."""
    root = getattr(store, "root", None)
    return str(root) if root is not None else str(getattr(store, "url"))  # noqa: B009


def derived_id(item: items.Item, sha256: str) -> str:
    """The id ``host.items.add_derivative`` gives the derivative of ``item``."""
    return "%s~%s" % (item.item_id, sha256[:12])


def _raw_item(request: Request, s: "WebSession", wanted: str) -> items.Item:
    """The recording ``wanted``, once ``play`` is allowed (a refusal is on record)."""
    if s.desk.refusal(audit.PLAY, wanted) is not None:
        s.played.discard(wanted + " derivative")
        with acting(request, s, audit.PLAY, wanted, via="web"):
            pass  # the door says no again, on record
    with s.desk.look() as cur:
        return items.get(cur, wanted)


def _raw(request: Request, item: items.Item) -> bool:
    web = web_of(request)
    view = web.views.get(web.store.read, item, web.store.write)
    return view.playable == footage.RAW


def _originals_gone(request: Request, item: items.Item) -> bool:
    """Whether media of the recording are no longer in the store (deleted under the
    retention rules, or not collected): a derivative made of them is then not shown, and
    a kept one is removed, so that no copy outlives the footage it was made from."""
    web = web_of(request)
    view = web.views.get(web.store.read, item, web.store.write)
    # Each looked for now (the checks' memory of a digest outlives a deletion): a file, or
    # an object recorded and not removed by retention.
    has_media = getattr(web.store, "has_media")  # noqa: B009  (both stores have it)
    if all(has_media(p.digest) for p in view.parts):
        return False
    derivatives_of(request).forget(item)
    return True


def _status(request: Request, item: items.Item, job: "Job | None") -> Response:
    lang = pages.lang_of(request)
    body: dict = {"state": NONE if job is None else job.state}
    if job is not None and job.state == READY:
        body.update(
            item=derived_id(item, job.sha256), sha256=job.sha256, size=job.size, of=job.of,
            src="/media/%s/%d/derivative.mp4" % (item.device_id, item.rec),
        )  # fmt: skip
    elif job is not None and job.state == FAILED:
        body["problem"] = i18n.text(lang, "web.deriv.failed", problem=job.why(lang))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def status(request: Request) -> Response:
    """How the recording's derivative is going (nothing is started)."""
    s = need(request)
    wanted = item_id(request)
    item = _raw_item(request, s, wanted)
    if not _raw(request, item):
        return Response("not a raw recording", status_code=409)
    if _originals_gone(request, item):
        return _gone(request)
    return _status(request, item, derivatives_of(request).job(item, pages.lang_of(request)))


def _gone(request: Request) -> Response:
    problem = i18n.text(pages.lang_of(request), "web.deriv.gone")
    return JSONResponse(
        {"state": FAILED, "problem": problem}, headers={"Cache-Control": "no-store"}
    )


async def start(request: Request) -> Response:
    """Make the recording's derivative, unless it is made or being made."""
    s = need(request)
    await checked_form(request, s)
    wanted = item_id(request)
    item = _raw_item(request, s, wanted)
    if not _raw(request, item):
        return Response("not a raw recording", status_code=409)
    if _originals_gone(request, item):
        return _gone(request)
    user = s.desk.user
    shown = "%s (%s)" % (user.display, user.name) if user.display else user.name
    root = _where(web_of(request).store)
    job = derivatives_of(request).start(
        item, root, "%s, sealcam serve" % shown, lang=pages.lang_of(request)
    )
    return _status(request, item, job)


def play(request: Request) -> Response:
    """The derivative's bytes, a range at a time; the first request of a web session is
    the ``play`` record, which registers the derivative as an item and names it."""
    s = need(request)
    wanted = item_id(request)
    item = _raw_item(request, s, wanted)
    job = derivatives_of(request).job(item)
    if job is None or job.state != READY:
        return Response("the derivative is not ready", status_code=409)
    derived = derived_id(item, job.sha256)
    played = wanted + " derivative"  # (not the signed footage's play: a play of its own)
    if played not in s.played:
        if _originals_gone(request, item):  # looked for once per play, not per range
            return Response("the derivative is not ready", status_code=409)
        web = web_of(request)
        with acting(request, s, audit.PLAY, wanted, via="web", derivative=derived) as act:
            made = "%s (MP4, H.264 derivative for the review page)" % job.path.name
            items.add_derivative(act.cur, wanted, bytes.fromhex(job.sha256), made, web.now())
        s.played.add(played)
    return _serve(request, job.path, job.size)


def _serve(request: Request, path: Path, size: int) -> Response:
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
    try:
        span = ranges.parse(request.headers.get("range"), size)
    except ranges.NotSatisfiable:
        headers["Content-Range"] = "bytes */%d" % size
        return Response(status_code=416, headers=headers)
    if span is None:
        first, last, code = 0, size - 1, 200
    else:
        first, last, code = span.first, span.last, 206
        headers["Content-Range"] = span.content_range()
    headers["Content-Length"] = str(max(0, last - first + 1))
    return StreamingResponse(_read(path, first, last), status_code=code, headers=headers,
                             media_type="video/mp4")  # fmt: skip


def _read(path: Path, first: int, last: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(first)
        left = last - first + 1
        while left > 0:
            block = fh.read(min(READ_BLOCK, left))
            if not block:
                return
            left -= len(block)
            yield block


def routes() -> "list[Route]":
    return [
        Route("/media/{device}/{rec:int}/derivative.json", status, methods=["GET"]),
        Route("/media/{device}/{rec:int}/derivative", start, methods=["POST"]),
        Route("/media/{device}/{rec:int}/derivative.mp4", play, methods=["GET"]),
    ]
