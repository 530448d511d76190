"""The review page's background work lets the requests under way go first (``host.web.traffic``):
a chunk's media check waits while a request is under way, and goes on once none is, or
after its bound whatever happens; the application counts each request from its arrival to
its answer's last byte."""
# micropython: skip (host code)
# Issue 16 "seeking to any chunk starts playback in under 200 ms" while the page's own
# checks of R-HOST-5 (every chunk against its signed hash) run beside the requests.

import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from host.web.footage import CHECK_OK, Checks
from host.web.traffic import Traffic

BOUND = 600  # polls of 0.1 s: a generous bound on what another thread is awaited for


def _until(cond) -> bool:
    for _ in range(BOUND):
        if cond():
            return True
        threading.Event().wait(0.1)
    return cond()


class _Files:
    """Media by digest, in memory: each read counted."""

    def __init__(self, blobs: "dict[bytes, bytes]") -> None:
        self.blobs = blobs
        self.reads = 0

    def media_source(self):
        return self

    def read_range(self, digest: bytes, first: int = 0, last=None):
        self.reads += 1
        return iter([self.blobs[digest]])


def test_a_background_check_waits_while_a_request_is_under_way():
    # Issue 16 (seeks under 200 ms while a ten-hour recording's chunks are checked): the
    # checks' thread does not hash a chunk while a request is under way.
    import hashlib

    traffic = Traffic(most_wait_s=BOUND * 0.1)  # no end of its own within the test
    checks = Checks(inline=0)
    checks.give_way = traffic.give_way
    blob = b"fragment"
    digest = hashlib.sha256(blob).digest()
    files = _Files({digest: blob})
    traffic.enter()  # a seek under way
    assert checks.states(files, [digest]) == ["checking"]
    assert _until(lambda: traffic.waits == 1), "the check did not wait for the request"
    assert files.reads == 0
    traffic.leave()  # the seek's last byte sent
    assert _until(lambda: checks.states(files, [digest]) == [CHECK_OK])
    assert files.reads == 1


def test_a_step_goes_on_after_its_bound_under_a_steady_stream():
    # A server never quiet still checks: a step waits ``most_wait_s`` at most.
    traffic = Traffic(most_wait_s=0.0, slice_s=0.0)
    traffic.enter()
    traffic.give_way()  # returns although a request is still under way
    assert traffic.waits == 1 and traffic.under_way == 1
    traffic.leave()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(200, 599), min_size=1, max_size=8))
def test_every_request_is_counted_until_its_answer_and_no_longer(statuses):
    # Whatever a request's answer (a page, a refusal, an error), it counts while under way
    # and not after: a request that failed never leaves the background work waiting.
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from host.web.traffic import Counted

    traffic = Traffic()
    seen: list = []

    def answer(request):
        seen.append(traffic.under_way)
        status = int(request.path_params["status"])
        if status >= 500:
            raise RuntimeError("a handler that fails")
        return PlainTextResponse("x", status_code=status)

    app = Starlette(
        routes=[Route("/{status:int}", answer)],
        middleware=[Middleware(Counted, traffic=traffic)],
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        for status in statuses:
            got = client.get("/%d" % status)
            assert got.status_code == (500 if status >= 500 else status)
    assert seen == [1] * len(statuses)
    assert traffic.under_way == 0
