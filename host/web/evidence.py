"""Reading a recording from the store through the cursor of a desk's action, so that what
a page shows is read in the same transaction as the audit record of showing it."""

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from starlette.requests import Request

from host import access, items
from host import i18n as host_i18n
from host.web import pages
from protocol.errors import ProtocolError
from protocol.ledger import Entry, parse_entry

if TYPE_CHECKING:
    from host.sqlstore import Cursor
    from host.web.session import WebSession


def raws(cur: "Cursor", device_id: str, first: int, last: int) -> "list[bytes]":
    """The device's entries ``first`` to ``last`` (a recording's span), as stored."""
    return [
        bytes(raw)
        for (raw,) in cur.execute(
            "SELECT raw FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (device_id, first, last),
        )
    ]


def parsed(stored: "list[bytes]") -> "list[Entry]":
    """Entries parsed; one that does not parse is left out (``sealcam verify`` names it)."""
    out = []
    for raw in stored:
        try:
            out.append(parse_entry(raw))
        except ProtocolError:
            continue
    return out


def entries(cur: "Cursor", device_id: str, first: int, last: int) -> "list[Entry]":
    """``raws`` parsed."""
    return parsed(raws(cur, device_id, first, last))


def item_id(request: Request) -> str:
    """The recording a URL names: ``/…/{device}/{rec}``; never a path to a file."""
    device = request.path_params["device"]
    rec = request.path_params["rec"]
    return items.recording_id(device, int(rec))


@contextlib.contextmanager
def acting(
    request: Request, s: "WebSession", action: str, item: "str | None" = None, **details: object
) -> Iterator[access.Act]:
    """``s.desk.act(action, item)``, the host's messages in the page's language."""
    with (
        host_i18n.speaking(pages.lang_of(request)),
        s.desk.act(action, item, **details) as act,
    ):
        yield act


__all__ = ["acting", "entries", "item_id"]
