"""The dashboard: what evidence staff look at first (issue 16).

Each device and its last dock, with what it announced there and the store still lacks;
footage uploaded late (R-HOST-1: within 24 hours of recording); the open compliance flags;
media missing or not matching its signed hash; approvals waiting. An officer, who reaches
only their own recordings, sees those and their own requests instead. Looking is a
``view`` record on the audit trail.
"""

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from host import audit, compliance, items, restricted
from host.report_text import finding_text, said
from host.web import pages
from host.web.evidence import acting, parsed, raws
from host.web.session import need, web_of

if TYPE_CHECKING:
    from host.sqlstore import Cursor

MENU = (("/", "web.menu.dashboard", audit.VIEW),)
FLAGS_SHOWN = 50

_flags_kept: dict = {}  # device -> (what the ledger held, its flags): checked once per change
_flags_making: "dict[str, threading.Lock]" = {}  # one check per device at a time
_flags_lock = threading.Lock()


def device_flags(look: "Callable[[], AbstractContextManager[Cursor]]", device_id: str) -> list:
    """The compliance flags of a device's whole ledger, recomputed only when it grew: its
    entries read through ``look`` (a desk's) and checked with the store free for others."""
    with _flags_lock:
        making = _flags_making.setdefault(device_id, threading.Lock())
    with making:
        with look() as cur:
            # A ledger is stored without gaps from seq 0 (``add_entries``): its last seq says
            # whether it grew, in one index lookup (a count would read every entry).
            (top,) = cur.execute(
                "SELECT max(seq) FROM entries WHERE device_id = ?", (device_id,)
            ).fetchone()
            key = top
            with _flags_lock:
                kept = _flags_kept.get(device_id)
            if kept is not None and kept[0] == key:
                return kept[1]
            stored = raws(cur, device_id, 0, top if top is not None else -1)
            received = dict(
                cur.execute(
                    "SELECT seq, received_ms FROM entries WHERE device_id = ?", (device_id,)
                )
            )
        flags = compliance.check(parsed(stored), received)
        with _flags_lock:
            _flags_kept[device_id] = (key, flags)
        return flags


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
    look: "Callable[[], AbstractContextManager[Cursor]]", device_ids: "list[str]", zone: str
) -> "tuple[list, list]":
    """The footage uploaded late (R-HOST-1) and the other compliance flags, newest first."""
    late: list[dict] = []
    others: list[dict] = []
    for device_id in device_ids:
        for flag in device_flags(look, device_id):
            line = {"device": device_id, "rule": flag.rule, "seq": flag.seq,
                    "text": finding_text(flag, zone), "code": flag.code}  # fmt: skip
            (late if flag.code == "late-upload" else others).append(line)
    return late[-FLAGS_SHOWN:][::-1], others[-FLAGS_SHOWN:][::-1]


def show(request: Request) -> Response:
    s = need(request)
    web = web_of(request)
    user = s.desk.user
    zone = pages.zone_of(request)
    data: dict = {}
    with acting(request, s, audit.VIEW, None, listed="dashboard") as act:
        cur = act.cur
        items.refresh(cur)
        now = web.now()
        if user.officer_only:
            data["mine"] = items.find(cur, officer=user.officer_id, limit=20)
            data["waiting"] = restricted.listing(cur, now, pending=True, for_user=user.name)
        else:
            data["devices"] = devices(cur, zone)
            data["waiting"] = restricted.listing(cur, now, pending=True)
        data["panels"] = pages.panels(request, "dashboard", s, cur)
    if "devices" in data:  # out of the view's write transaction: a first check reads it all
        ids = [d["id"] for d in data["devices"]]
        data["late"], data["flags"] = flags(s.desk.look, ids, zone)
    # Media found not to match its signed hash, by the checks the recording pages made.
    data["altered"] = web.checks.altered()
    return pages.render(request, s, "dashboard.html", zone=zone, now=web.now(), **data)


def routes() -> "list[Route]":
    return [Route("/", show, methods=["GET"])]
