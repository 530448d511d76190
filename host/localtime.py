"""Times as people read them: in the agency's time zone, with its offset, as the overlay.

The recorder burns ``2026-12-05 14:03:07 UTC+8`` into every frame (``firmware.recorder.
overlay_text``); a report, a custody chain or a court note that shows the same moment must
show the same text, or a reader comparing a frame with a paper record (R-HOST-11) sees two
times. So every time a person reads is rendered here, in the zone the agency set (``host.
settings``: ``time_zone``, an IANA name, default Asia/Shanghai), with the offset in force at
that moment (a zone with daylight saving shows the one that applied then). Machines get UTC
milliseconds (``--json``), never this text.
"""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


def zone_problem(name: str) -> "str | None":
    """Why ``name`` is not a time zone this machine knows, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "%s is not a time zone name (give an IANA name such as Asia/Shanghai)" % name
    return None


def offset_text(offset: datetime.timedelta) -> str:
    """``UTC+8``, ``UTC+5:30``, ``UTC-3``, ``UTC+0``: the overlay's way of writing it."""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return "UTC%s%d" % (sign, hours) + (":%02d" % mins if mins else "")


def show(ms: int, zone: str = DEFAULT_ZONE) -> str:
    """``2026-12-05 14:03:07 UTC+8``: the moment ``ms`` (UTC milliseconds) in ``zone``."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone))
    offset = moment.utcoffset() or datetime.timedelta(0)
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + offset_text(offset)


def show_date(ms: int, zone: str = DEFAULT_ZONE) -> str:
    """``2026-12-05``: the local date of ``ms`` in ``zone``."""
    return datetime.datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone)).strftime("%Y-%m-%d")
