"""Errors said in the reader's language: those raised below the host, and the host's own
that are kept to be said again (``Said``).

Protocol and firmware code has no catalogue (it runs on a recorder too), so an error of
theirs that a person reads (``protocol.mp4.Mp4Error``, ``firmware.ports.encoder.MediaError``,
``firmware.ports.keysource.KeyScriptError``) keeps its English message and names the same
line by ``msg_id`` and ``fields``. ``said`` renders such an error in the language in force;
an error without an id keeps its own words. ``pair`` gives it as a report field, the pair
``(msg_id, fields)`` that ``host.report_text.said`` renders when the report is shown.

The CBOR decoder's errors (``protocol.errors.DecodeError`` and its kin, ``cbor.*``) are said
the same way, the byte the bytes went wrong at (``offset``) through ``cbor.at``, as
``protocol.errors.message_of`` makes them for the ledger reader's records.

``Said`` is the same for the host's own errors that are kept and read later, perhaps by a
reader of another language (a failure a web page keeps and shows to whoever asks): made by
``Said.said``, one keeps its message's id and fields beside its words.

``kept`` is for a failure kept to be said later whatever it is: an error that names no line
is kept as the system's reason and its path (an OSError, ``os_pair``) or as its kind, never
as its words, which are in one language only (``dropped`` tells its keeper to log them).

A field may be a message of its own (a pair), an OSError (the system's reason,
``host.files.os_why``, unless it names a line of its own, as ``host.mediasource``'s
MediaUnreachable does) or another such error. The ``inside`` and ``what`` of an MP4 error name
a place in the file in English words ("the file", "timescale of track 2"): they are said
through ``mp4e.place.*`` too, and so is a bare box name ("moov"): its name stays, and the
Chinese says it is a box ("moov 盒"), as the English needs no word for it.
"""

import os
import re
from typing import Self

from host import i18n
from protocol.errors import message_of

# Where protocol.mp4 says a place in the file in words of its own: the English, as it
# writes it, and the message that says it in any language.
_PLACES = {
    "the file": i18n.N_("mp4e.place.file"),
    "the initialisation segment": i18n.N_("mp4e.place.init"),
    "the fragment": i18n.N_("mp4e.place.fragment"),
    "an esds descriptor": i18n.N_("mp4e.place.esds"),
    "an esds descriptor length": i18n.N_("mp4e.place.esds_length"),
    "the ES_Descriptor": i18n.N_("mp4e.place.es_descriptor"),
    "the ES_Descriptor URL": i18n.N_("mp4e.place.es_url"),
    "tfhd base_data_offset": i18n.N_("mp4e.place.tfhd_base"),
    "tfhd default duration": i18n.N_("mp4e.place.tfhd_duration"),
    "tfhd default size": i18n.N_("mp4e.place.tfhd_size"),
    "tfhd default flags": i18n.N_("mp4e.place.tfhd_flags"),
    "trun data offset": i18n.N_("mp4e.place.trun_offset"),
    "trun first sample flags": i18n.N_("mp4e.place.trun_first"),
    "sequence": i18n.N_("mp4e.place.sequence"),
    "track_id": i18n.N_("mp4e.place.track_id"),
}
# A value of a track ("width of track 2"); any other part is a box's or a field's name.
_PARTS = {
    "timescale": i18n.N_("mp4e.part.timescale"),
    "width": i18n.N_("mp4e.part.width"),
    "height": i18n.N_("mp4e.part.height"),
    "channels": i18n.N_("mp4e.part.channels"),
    "sample_rate": i18n.N_("mp4e.part.sample_rate"),
    "sample duration": i18n.N_("mp4e.part.sample_duration"),
    "base_time": i18n.N_("mp4e.part.base_time"),
    "media_time": i18n.N_("mp4e.part.media_time"),
}
_OF_TRACK = re.compile(r"(.+) (of|in) track (\d+)")
_TRAK = re.compile(r"trak (\d+)")
_SAMPLE_ENTRY = re.compile(r"sample entry (.+)")
# A box's four-character type as protocol.mp4 names its own boxes ("moov", "tkhd").
_BOX = re.compile(r"[a-z][a-z0-9]{3}")


def place(words: str) -> "str | tuple":
    """A place in an MP4 file as protocol.mp4 names it: a message ``(msg_id, fields)`` whose
    English is ``words`` (a box's name too: ``mp4e.place.box``), or ``words`` itself (a
    field's name, such as ``track_id``)."""
    if words in _PLACES:
        return (_PLACES[words], {})
    m = _OF_TRACK.fullmatch(words)
    if m:
        part, of, track = m.group(1), m.group(2) == "of", int(m.group(3))
        if part in _PARTS:
            msg_id = "mp4e.place.of_track" if of else "mp4e.place.in_track"
            return (msg_id, {"part": (_PARTS[part], {}), "track": track})
        # A Latin name: the Chinese sets it apart by spaces, as it does a box's ("的 trak 盒").
        if _BOX.fullmatch(part):
            msg_id = "mp4e.place.box_of_track" if of else "mp4e.place.box_in_track"
            return (msg_id, {"box": part, "track": track})
        msg_id = "mp4e.place.name_of_track" if of else "mp4e.place.name_in_track"
        return (msg_id, {"part": part, "track": track})
    m = _TRAK.fullmatch(words)
    if m:
        return ("mp4e.place.trak", {"track": int(m.group(1))})
    m = _SAMPLE_ENTRY.fullmatch(words)
    if m:
        return ("mp4e.place.sample_entry", {"entry": m.group(1)})
    return _box(words)


def _box(words: str) -> "str | tuple":
    """A box's type as a message (``mp4e.place.box``), any other name as it is."""
    return ("mp4e.place.box", {"box": words}) if _BOX.fullmatch(words) else words


def pair(exc: BaseException) -> "str | tuple":
    """``exc`` as a report's field: ``(msg_id, fields)`` when it names its line, each field
    that is an error or a place made a message too; else its English words. A CBOR
    decoding error that says where the bytes went wrong is ``cbor.at`` around its line
    (``protocol.errors.message_of``, which this builds on)."""
    return _pair(exc, False)


def _pair(exc: BaseException, keeping: bool) -> "str | tuple":
    """``pair``; ``keeping``, a field that is an error naming no line is ``kept`` too."""
    if not i18n.known(getattr(exc, "msg_id", "") or ""):
        return str(exc)

    def field(msg_id: str, name: str, value: object) -> object:
        if isinstance(value, BaseException) and _said_again(value):
            return kept(value) if keeping else pair(value)
        if name in ("inside", "what") and msg_id.startswith("mp4e.") and isinstance(value, str):
            return place(value)
        return value

    given = message_of(exc, field)
    return given if isinstance(given, tuple) else str(given)


def kept(exc: BaseException) -> tuple:
    """``exc`` as a message ``(msg_id, fields)`` to keep and say later in any reader's
    language (``message``): as ``pair`` gives it when it names its line; an OSError that does
    not as its reason (``oserror.*``, by the C library's name of it) and the file it concerned,
    when it has an errno; any other as ``problem.unexpected`` with the name of its kind. The
    words of such an error are in one language (the first asker's, or a library's English),
    so they are not kept: whoever keeps the failure logs them for whoever runs the host
    (``dropped``). So are those of such an error given as a field (PyAV's reason, inside a
    line of ours)."""
    given = _pair(exc, True)
    if isinstance(given, tuple):
        return given
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_pair(exc)
    # An OSError without an errno is no refusal of the system (one raised with words only):
    # "the system refused" would be false, so it is said as any other unexpected error.
    return (i18n.N_("problem.unexpected"), {"kind": type(exc).__name__})


def dropped(exc: BaseException) -> bool:
    """Whether ``kept`` leaves out words of ``exc`` (its own, or a field's) that ``pair``
    keeps: words in one language only, for the log."""
    return kept(exc) != pair(exc)


def os_pair(exc: OSError) -> tuple:
    """Why the system refused, as a message: ``oserror.NAME`` where the catalogue says it
    (``host.files.os_why``), else ``oserror.other`` naming it; ``oserror.at`` around it with
    the path when the error names one."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    why: tuple = (
        ("oserror." + name, {})
        if name and i18n.known("oserror." + name)
        else (i18n.N_("oserror.other"), {"name": name or type(exc).__name__})
    )
    if exc.filename is None:
        return why
    path = exc.filename
    path = os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)
    return (i18n.N_("oserror.at"), {"path": path, "why": why})


def _said_again(exc: BaseException) -> bool:
    """Whether ``exc``, a field, is made a message of its own: any error but an OSError that
    names no line of ours (that one is said by its reason, ``host.files.os_why``)."""
    return not isinstance(exc, OSError) or bool(getattr(exc, "msg_id", ""))


def said(exc: BaseException) -> str:
    """What ``exc`` says, in the language in force."""
    given = pair(exc)
    if isinstance(given, str):
        return given
    return message(*given)


def message(msg_id: str, fields: dict) -> str:
    """Message ``msg_id``, a field that is a message ``(msg_id, fields)`` rendered first and
    an OSError said by its reason."""
    from host.files import os_why

    def filled(value: object) -> object:
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
            return message(*value)
        if isinstance(value, BaseException) and getattr(value, "msg_id", None):
            return said(value)  # an error that names its line (Said): said in this language
        if isinstance(value, OSError):
            return os_why(value)
        return value

    return i18n.text(msg_id, None, **{name: filled(value) for name, value in fields.items()})


class Said(Exception):
    """An error whose message is a catalogue message: made by ``said``, in the language in
    force, it keeps the message's id and fields, so that a reader in another language (a
    page asking later about a failure kept since) says it again in its own (``message``).
    Made otherwise, ``msg_id`` is empty and its words are all there is. ``passing`` makes
    one of another error, its id and fields kept."""

    msg_id = ""
    fields: "dict[str, object]" = {}  # noqa: RUF012  (replaced per instance, never changed)

    @classmethod
    def said(cls, msg_id: str, **fields: object) -> "Self":
        """The error saying catalogue message ``msg_id`` with ``fields`` (a field may be a
        message ``(msg_id, fields)`` of its own, or an OSError), its id and fields kept."""
        exc = cls(message(msg_id, fields))
        exc.msg_id, exc.fields = msg_id, dict(fields)
        return exc

    @classmethod
    def passing(cls, exc: BaseException) -> "Self":
        """``exc`` as this kind of error: its words, and its message's id and fields when it
        names its line (made by ``said``)."""
        out = cls(str(exc))
        msg_id = getattr(exc, "msg_id", "")
        fields = getattr(exc, "fields", None)
        if msg_id and isinstance(fields, dict):
            out.msg_id, out.fields = msg_id, dict(fields)
        return out
