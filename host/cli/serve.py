"""``sealcam serve``: the review page (``host.web``) on an evidence store.

It listens on loopback by default (``--listen 127.0.0.1:8080``); people log in on the page
with their own accounts, so the command itself takes no user. A port another program holds
is said in one line (exit 2) before anything starts; Ctrl-C ends the server cleanly: the
requests under way finish (those still running ``END_S`` seconds later are ended, said in
one line), nothing is left half-written, and nothing the store waits for (a lock another
host holds) keeps it from ending. Beside the page, a thread makes
each recording's page ready as docks bring it (``host.web.prepare``). On the scale-out store
(``--evidence postgresql://... --media s3://BUCKET``) the footage is read from the objects,
a range at a time.
"""

import argparse
import errno
import socket

from host import i18n
from host.cli.common import EXIT_OK, UsageProblem

DEFAULT_LISTEN = "127.0.0.1:8080"
# At Ctrl-C, how long the requests under way are given to finish (a range being sent, a
# court package being written), and then the preparer its view under way: a request or a
# round held up (a lock another host holds, an object store that does not answer) is then
# let go, and the store's close cancels what it still waits for (``PgEvidenceStore.close``).
END_S = 15


def listen_address(text: str) -> "tuple[str, int]":
    """An argparse type: ``HOST:PORT`` (``[::1]:8080`` for IPv6)."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(i18n.text("serve.bad_listen", text=text))
    return host, int(port)


def bound(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; UsageProblem (one line) when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageProblem(i18n.text("serve.port_taken", host=host, port=port)) from None
        raise UsageProblem(
            i18n.text("serve.cannot_listen", host=host, port=port, problem=exc.strerror or exc)
        ) from None
    return sock


def warm_templates() -> None:
    """Compile every page's template now, not at the first request that shows it (a
    recording's page: a few hundred milliseconds of someone's first look)."""
    from host.web import pages

    env = pages._env  # the pages' one Jinja environment, which keeps what it compiled
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from host.cli.auth import open_store, signer_for
    from host.web.app import create_app
    from host.web.prepare import Preparer

    store = open_store(args.evidence, args.media)
    host, port = args.listen
    sock = bound(host, port)
    port = sock.getsockname()[1]
    app = create_app(store, sign=signer_for)
    web = app.state.web
    _say_problems()  # before the preparer's first round, which may have something to say
    # Recordings' pages made ready as docks bring them, so that no first look parses them.
    preparer = Preparer(web.front, web.views, checks=web.checks)
    preparer.start()
    warm_templates()
    shown = "[%s]" % host if ":" in host else host
    print(i18n.text("serve.listening", url="http://%s:%d/" % (shown, port)), flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=END_S,
        )
    )
    _quiet_at_the_end()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has shut down already, then passes Ctrl-C on: the end asked for
    finally:
        sock.close()
        preparer.stop(float(END_S))
        web.front.close()
        store.close()
        _forget_private_folders(app)
    print(i18n.text("serve.stopped"), flush=True)
    return EXIT_OK


def _quiet_at_the_end() -> None:
    """Requests ended at Ctrl-C after ``END_S`` (uvicorn cancels them) said in one line, in
    the person's language, not as uvicorn's error and a traceback per request."""
    import asyncio
    import logging
    import sys

    def kept(record: logging.LogRecord) -> bool:
        if "timeout graceful shutdown exceeded" in str(record.msg):
            count = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            said = i18n.text("serve.cut_short", count=count, seconds=END_S)
            print("sealcam serve: %s" % said, file=sys.stderr, flush=True)
            return False
        cause = record.exc_info[1] if record.exc_info else None
        return not isinstance(cause, asyncio.CancelledError)  # said above already

    logging.getLogger("uvicorn.error").addFilter(kept)


def _say_problems() -> None:
    """What the page's server tells whoever runs it (``host.web``'s log: a write the store
    did not make durable, a recording that could not be prepared), one line each on
    standard error, as this command's other lines are."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sealcam serve: %(message)s"))
    log = logging.getLogger("sealcam")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _forget_private_folders(app: object) -> None:
    """The scale-out store's derivatives and court packages were made in temporary folders
    for the server's life (``host.web.derivplay``, ``host.web.export``): gone with it."""
    import shutil

    state = getattr(app, "state", None)
    made = getattr(state, "derivatives", None)
    if made is not None and made.media is not None:
        shutil.rmtree(made.folder, ignore_errors=True)
    web = getattr(state, "web", None)
    if web is not None and web.exports_private and web.exports is not None:
        shutil.rmtree(web.exports, ignore_errors=True)


def add_serve(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam serve``."""
    p = sub.add_parser(
        "serve", help=i18n.text("cmd.serve"), description=i18n.text("serve.description")
    )
    p.add_argument("--evidence", required=True, help=i18n.text("auth.evidence"))
    from host.cli.scaleout import add_media_option

    add_media_option(p)
    p.add_argument(
        "--listen",
        type=listen_address,
        default=listen_address(DEFAULT_LISTEN),
        metavar="HOST:PORT",
        help=i18n.text("serve.listen", default=DEFAULT_LISTEN),
    )
    p.set_defaults(run=cmd_serve)
