"""``sealcam serve`` run as its own process on a store, for the tests that need the real
server: a client speaking HTTP to it (cookies kept, one connection), and what the server
said on standard error once it has stopped."""

import contextlib
import re
import signal
import subprocess
import urllib.parse
from collections.abc import Iterator
from http import client
from pathlib import Path

from tests.host import webstore
from tests.host.helpers import SEALCAM


class Client:
    def __init__(self, port: int) -> None:
        self.conn = client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict = {}

    def ask(
        self, method: str, path: str, form: "dict | None" = None, lang: str = "en"
    ) -> "tuple[int, str]":
        """The status and the text of the answer to ``method path`` (a page, in ``lang``)."""
        headers = {
            "Accept": "text/html",
            "Accept-Language": lang,
            "Cookie": "; ".join("%s=%s" % kv for kv in self.cookies.items()),
        }
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body, headers)
        r = self.conn.getresponse()
        data = r.read()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0].strip('"')
        return r.status, data.decode("utf-8", "replace")

    def login(self, name: str) -> None:
        _, page = self.ask("GET", "/login")
        token = webstore.csrf_in(page)
        form = {"csrf": token, "name": name, "password": webstore.PASSWORD}
        status, _ = self.ask("POST", "/login", form)
        assert status == 303, "%s could not log in" % name


class Served:
    """The running server: ``client()`` for each person; ``stderr`` once it has stopped."""

    def __init__(self, p: subprocess.Popen, port: int) -> None:
        self.p = p
        self.port = port
        self.stderr = ""

    def client(self) -> Client:
        return Client(self.port)


@contextlib.contextmanager
def serving(root: Path) -> Iterator[Served]:
    """``sealcam serve`` on the store at ``root`` (closed by the caller), in English, on a
    free loopback port; stopped with Ctrl-C at the end (killed if it does not stop)."""
    p = subprocess.Popen(
        [*SEALCAM, "serve", "--evidence", str(root), "--listen", "127.0.0.1:0", "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = p.stdout.readline() if p.stdout is not None else ""
        found = re.search(r":(\d+)/", first)
        assert found is not None, "the server did not start: %r" % first
        served = Served(p, int(found.group(1)))
        yield served
        p.send_signal(signal.SIGINT)
        _, served.stderr = p.communicate(timeout=120)
        assert p.returncode == 0, served.stderr
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
