"""The dashboard: what evidence staff look at first (issue 16).

Each device and its last dock, with what it announced there and the store still lacks;
footage uploaded late (R-HOST-1: within 24 hours of recording); the open compliance flags;
media missing or not matching its signed hash; approvals waiting. An officer, who reaches
only their own recordings, sees those and their own requests instead. Looking is a
``view`` record on the audit trail.

The compliance flags read every device's whole ledger: where a preparer runs, it checks
them (``all_flags``), and a dashboard shown before it has comes at once without them and
fetches them when ready (``panel``).
"""

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from host import audit, compliance, items, restricted
from host.report_text import finding_text, said
from host.web import pages
from host.web.evidence import acting, parsed, raws
from host.web.recordview import FLAGS
from host.web.session import need, web_of
from protocol import cbor
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from host.access import Store
    from host.sqlstore import Cursor
    from host.web.recordview import Views
    from host.web.session import WebSession

MENU = (("/", "web.menu.dashboard", audit.VIEW),)
FLAGS_SHOWN = 50


SCHEMA = """
-- The dashboard's compliance flags of each device's whole ledger up to last_seq
-- (host.web.dashboard), kept so that a restarted server need not check the ledger again.
CREATE TABLE IF NOT EXISTS web_flags (
    device_id TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    data      BLOB NOT NULL
);
"""
VERSION = 1  # of the kept form: a CBOR array of flags, each [code, rule, seq, message,
# msg_id, fields, through]; flags kept in another form are checked again


def prepare(store: "Store") -> None:
    store.add_tables(SCHEMA)


def device_flags(
    look: "Callable[[], AbstractContextManager[Cursor]]",
    views: "Views",
    device_id: str,
    keep: "Callable[[], AbstractContextManager[Cursor]] | None" = None,
) -> list:
    """The compliance flags of a device's whole ledger, recomputed only when it grew: its
    entries read through ``look`` (a desk's) and checked with the store free for others;
    kept beside the recordings' views (``Views.flags``, by device and its last seq), one
    check per device at a time, and with ``keep`` (the store's ``write``) in the store,
    which a restarted server reads instead of checking again."""
    with look() as cur:
        top = _top(cur, device_id)

    def check() -> list:
        with look() as cur:
            stored = raws(cur, device_id, 0, top if top is not None else -1)
            received = dict(
                cur.execute(
                    "SELECT seq, received_ms FROM entries WHERE device_id = ?", (device_id,)
                )
            )
        return compliance.check(parsed(stored), received)

    def kept() -> "list | None":
        with look() as cur:
            return _kept_in_store(cur, device_id, top)

    def into_store(flags: list) -> None:
        if keep is not None and top is not None:
            _keep_in_store(keep, device_id, top, flags)

    return views.flags.get(device_id, top, kept, check, into_store)


def _kept_in_store(cur: "Cursor", device_id: str, top: "int | None") -> "list | None":
    """The flags kept for the device's ledger up to ``top``, or None (checked, then)."""
    try:
        row = cur.execute(
            "SELECT data FROM web_flags WHERE device_id = ? AND last_seq = ? AND version = ?",
            (device_id, top, VERSION),
        ).fetchone()
        if row is None:
            return None
        got = cbor.loads(bytes(row[0]))
        if not isinstance(got, list):
            return None
        return [compliance.Flag(*_back(f)) for f in got]
    except (sqlite3.Error, ProtocolError, TypeError, ValueError):
        return None  # a store without the table, or a form not ours: checked again


# A flag's fields may hold a message as a tuple (``report_text.said``); CBOR has no tuple,
# so a tuple is kept as a map of this one key, and read back as a tuple.
_TUPLE = "(tuple)"


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return {_TUPLE: [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _back(value: "object") -> "Any":
    if isinstance(value, dict):
        if list(value) == [_TUPLE] and isinstance(value[_TUPLE], list):
            return tuple(_back(v) for v in value[_TUPLE])
        return {k: _back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_back(v) for v in value]
    return value


def _keep_in_store(
    keep: "Callable[[], AbstractContextManager[Cursor]]", device_id: str, top: int, flags: list
) -> None:
    try:
        data = cbor.dumps(
            [
                _plain([f.code, f.rule, f.seq, f.message, f.msg_id, f.fields, f.through])
                for f in flags
            ]
        )
        with keep() as cur:
            cur.execute(
                "INSERT INTO web_flags (device_id, last_seq, version, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq, "
                "version = excluded.version, data = excluded.data",
                (device_id, top, VERSION, data),
            )
    except (sqlite3.Error, ProtocolError, TypeError, ValueError):
        return  # not kept: checked again after a restart


def _top(cur: "Cursor", device_id: str) -> "int | None":
    # A ledger is stored without gaps from seq 0 (``add_entries``): its last seq says
    # whether it grew, in one index lookup (a count would read every entry).
    (top,) = cur.execute(
        "SELECT max(seq) FROM entries WHERE device_id = ?", (device_id,)
    ).fetchone()
    return top


def all_flags(
    look: "Callable[[], AbstractContextManager[Cursor]]",
    views: "Views",
    keep: "Callable[[], AbstractContextManager[Cursor]] | None" = None,
) -> None:
    """Every device's flags checked where its ledger grew (``device_flags``, kept in the
    store with ``keep``): what the preparer does each round, so that no dashboard waits for
    a whole ledger's check."""
    with look() as cur:
        ids = [r[0] for r in cur.execute("SELECT device_id FROM devices ORDER BY device_id")]
    for device_id in ids:
        device_flags(look, views, device_id, keep)


def flags_ready(
    look: "Callable[[], AbstractContextManager[Cursor]]",
    views: "Views",
    device_ids: "list[str]",
    zone: str,
) -> "tuple[list, list] | None":
    """``flags`` when every device's check is kept for its ledger as it is now (a lookup
    each), else None: the check is then the preparer's (``Views.ask(FLAGS)``)."""
    kept = []
    with look() as cur:
        for device_id in device_ids:
            top = _top(cur, device_id)
            # The store read in the same snapshot: a server started again finds them there.
            got = views.flags.ready(device_id, top, partial(_kept_in_store, cur, device_id, top))
            if got is None:
                return None
            kept.append((device_id, got))
    return _shown(kept, zone)


def devices(cur: "Cursor", zone: str) -> "list[dict]":
    """Per device: its id, last dock and its result, what it announced there that the store
    lacks, and how many media it still owes."""
    rows: list[dict] = []
    for (device_id,) in cur.execute("SELECT device_id FROM devices ORDER BY device_id").fetchall():
        docks = [
            dict(zip(("ended_ms", "result", "device_head"), r, strict=True))
            for r in cur.execute(
                "SELECT ended_ms, result, device_head FROM sessions WHERE device_id = ? "
                "ORDER BY ended_ms",
                (device_id,),
            ).fetchall()
        ]
        (top,) = cur.execute(
            "SELECT max(seq) FROM entries WHERE device_id = ?", (device_id,)
        ).fetchone()
        held_next = -1 if top is None else top + 1
        lacking = compliance.not_collected_said(device_id, docks, held_next)

        (missing,) = cur.execute(
            "SELECT count(*) FROM missing_media WHERE device_id = ?", (device_id,)
        ).fetchone()
        last = docks[-1] if docks else None
        rows.append(
            {
                "id": device_id,
                "dock_ms": last["ended_ms"] if last else None,
                "result": last["result"] if last else None,
                "lacking": said(lacking[0], lacking[1], zone) if lacking else "",
                "missing": missing,
            }
        )
    return rows


def flags(
    look: "Callable[[], AbstractContextManager[Cursor]]",
    views: "Views",
    device_ids: "list[str]",
    zone: str,
) -> "tuple[list, list]":
    """The footage uploaded late (R-HOST-1) and the other compliance flags, newest first."""
    return _shown([(d, device_flags(look, views, d)) for d in device_ids], zone)


def _shown(per_device: "list[tuple[str, list]]", zone: str) -> "tuple[list, list]":
    """The newest ``FLAGS_SHOWN`` late uploads and other flags, newest first, as the page
    lists them (only those put into words: a fleet's ledgers may hold thousands)."""
    late: list = []
    others: list = []
    for device_id, found in per_device:
        for flag in found:
            (late if flag.code == "late-upload" else others).append((device_id, flag))

    def line(device_id: str, flag) -> dict:
        return {"device": device_id, "rule": flag.rule, "seq": flag.seq,
                "text": finding_text(flag, zone), "code": flag.code}  # fmt: skip

    return (
        [line(d, f) for d, f in late[-FLAGS_SHOWN:][::-1]],
        [line(d, f) for d, f in others[-FLAGS_SHOWN:][::-1]],
    )


def show(request: Request) -> Response:
    s = need(request)
    web = web_of(request)
    user = s.desk.user
    zone = pages.zone_of(request)
    data: dict = {}
    # The index brought up to what docks stored since, outside the view's transaction: one
    # write where something is new, none on every other look.
    items.catch_up(web.front.read, web.front.write)
    with acting(request, s, audit.VIEW, None, listed="dashboard") as act:
        cur = act.cur
        now = web.now()
        if user.officer_only:
            data["mine"] = items.find(cur, officer=user.officer_id, limit=20)
            data["waiting"] = restricted.listing(cur, now, pending=True, for_user=user.name)
        else:
            data["devices"] = devices(cur, zone)
            data["waiting"] = restricted.listing(cur, now, pending=True)
        data["panels"] = pages.panels(request, "dashboard", s, cur)
    if "devices" in data:  # out of the view's write transaction: a first check reads it all
        data.update(_flags_of(web, s, [d["id"] for d in data["devices"]], zone))
    # Media found not to match its signed hash, by the checks the recording pages made.
    data["altered"] = web.checks.altered()
    return pages.render(request, s, "dashboard.html", zone=zone, now=web.now(), **data)


def _flags_of(web, s: "WebSession", ids: "list[str]", zone: str) -> dict:
    """The late footage and the flags, or ``preparing`` where the preparer checks them (a
    device's whole ledger, seconds: the page shows at once and fetches them, ``panel``)."""
    if not web.views.prepared:
        late, others = flags(s.desk.look, web.views, ids, zone)
        return {"late": late, "flags": others, "preparing": False}
    ready = flags_ready(s.desk.look, web.views, ids, zone)
    if ready is None:
        web.views.ask(FLAGS)
        return {"late": [], "flags": [], "preparing": True}
    return {"late": ready[0], "flags": ready[1], "preparing": False}


def panel(request: Request) -> Response:
    """The flags' panels alone, for a dashboard shown before they were ready: 202 (and the
    preparer asked again) until they are. The dashboard's view is on record already; this
    records nothing, and answers only those whose dashboard shows the flags."""
    s = need(request)
    web = web_of(request)
    refused = s.desk.refusal(audit.VIEW)
    if refused is not None:
        with acting(request, s, audit.VIEW, None, listed="dashboard"):
            pass  # the door says no, on record, as the dashboard's own would
    if s.desk.user.officer_only:
        raise HTTPException(404)  # an officer's dashboard lists their own recordings only
    zone = pages.zone_of(request)
    with s.desk.look() as cur:
        ids = [r[0] for r in cur.execute("SELECT device_id FROM devices ORDER BY device_id")]
    data = _flags_of(web, s, ids, zone)
    status = 202 if data["preparing"] else 200
    return pages.render(request, s, "dashboard_flags.html", status=status, zone=zone, **data)


def routes() -> "list[Route]":
    return [
        Route("/", show, methods=["GET"]),
        Route("/dashboard/flags", panel, methods=["GET"]),
    ]
