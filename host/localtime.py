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
import re
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


# How people give a moment, in every command and module that reads one: a date, or a date
# and a time to the minute or the second (a space or a T between), optionally with an
# offset (``+08:00``, ``Z``); without one, the agency's zone applies.
_MOMENT = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?$"
)


def read_moment(text: str) -> "tuple[datetime.datetime, bool]":
    """``text`` as (the moment, naive unless an offset was given; whether it is a date
    alone). ValueError for anything that is not one."""
    found = _MOMENT.match(text.strip())
    if not found:
        raise ValueError("not a date or time: %r" % text)
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in found.groups()[:6])
    offset = found.group(7)
    tz = None
    if offset == "Z":
        tz = datetime.UTC
    elif offset:
        sign = -1 if offset[0] == "-" else 1
        delta = datetime.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        tz = datetime.timezone(sign * delta)
    return datetime.datetime(y, mo, d, h, mi, s, tzinfo=tz), found.group(4) is None


def utc_ms(moment: datetime.datetime, date_only: bool, zone: str, end_of_day: bool = False) -> int:
    """UTC milliseconds of ``moment`` (naive: in ``zone``). A date alone is the start of
    that day or, with ``end_of_day``, its end (the next day's start): ``--until
    2026-12-31`` holds all of the 31st. ValueError past what a date can hold."""
    try:
        if date_only and end_of_day:
            moment += datetime.timedelta(days=1)
    except OverflowError:
        raise ValueError("past the last date there is") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return int(moment.timestamp() * 1000)


def parse(text: str, zone: str, end_of_day: bool = False) -> int:
    """``text`` (see ``read_moment``) as UTC milliseconds, in ``zone`` unless it names its
    offset; ValueError for anything that is no moment."""
    moment, date_only = read_moment(text)
    return utc_ms(moment, date_only, zone, end_of_day)
