"""What the simulator says, in English for machines and in the reader's language for people.

A scenario run keeps its lines (what happened, the expectations, the host's verdict) as
``Said`` values: each is the English sentence itself (a ``str``: what ``--json``, JUnit's
machine fields and the tests see, the same whatever ``--lang`` is), and it remembers its
message id and fields (the catalog area ``sim``, ``host.i18n``), so the report can say it
again in the language in force with ``say()``.

A field may itself be a ``Said`` (rendered first, in the same language) or a list of them
(joined with the language's separator). ``Term`` is a word the English keeps as the
scenario file or the firmware writes it (a state ``RECORDING``, a pause reason
``place-change``, a dock result ``done``): the other languages take it from the catalog.
"""
# micropython: skip (the simulator runs on CPython only)

from host import i18n
from host.i18n import N_, VERDICTS

SEPARATOR = N_("sim.separator")  # between the items of a list field


class Said(str):
    """A sentence in English that can be said again in another language."""

    msg: str
    fields: dict

    def __new__(cls, msg_id: str, **fields: object) -> "Said":
        self = super().__new__(cls, _render(msg_id, fields, i18n.EN))
        self.msg = msg_id
        self.fields = fields
        return self

    def say(self, lang: "str | None" = None) -> str:
        """The sentence in ``lang`` (default: the language in force)."""
        lang = lang or i18n.current()
        if lang == i18n.EN:
            return str(self)
        return _render(self.msg, self.fields, lang)

    def to_json(self) -> dict:
        """The message id and its fields as plain data (a nested ``Said`` as such a dict,
        a ``Term`` as its English word)."""
        return {"msg": self.msg, "fields": {k: plain(v) for k, v in self.fields.items()}}

    def __reduce__(self) -> tuple:
        # A str subclass is copied and pickled through its text; this one needs its id back.
        return (_remake, (type(self), str(self), self.msg, self.fields))


class Term(Said):
    """A word kept as it is in English (``english``), from the catalog in other languages
    (``msg_id`` with ``fields``)."""

    def __new__(cls, english: str, msg_id: str, **fields: object) -> "Term":
        self = str.__new__(cls, english)
        self.msg = msg_id
        self.fields = fields
        return self


def line(msg_id: str, **fields: object) -> Said:
    """Message ``msg_id`` with ``fields``, to be said now or later (``tools/i18n extract``
    finds the ids of ``line`` calls)."""
    return Said(msg_id, **fields)


def say(value: object, lang: "str | None" = None) -> str:
    """Any line or value of a report as a person reads it in ``lang``: a ``Said`` in that
    language, a list as its items joined, anything else as it is."""
    if isinstance(value, Said):
        return value.say(lang)
    if isinstance(value, (list, tuple)):
        sep = i18n.text(SEPARATOR, lang or i18n.current())
        return sep.join(say(v, lang) for v in value)
    return str(value)


def plain(value: object) -> object:
    """``value`` as JSON data: a ``Term`` is its English word, another ``Said`` its id and
    fields."""
    if isinstance(value, Term):
        return str(value)
    if isinstance(value, Said):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def verdict_term(state: str) -> Said:
    """A verification state (``OK``, ``NOT OK`` ...): as the host writes it in English, the
    verdict's word in another language."""
    msg_id = VERDICTS.get(state)
    return Term(state, msg_id) if msg_id else Term(state, N_("sim.value.as_is"), value=state)


# Why a dock ended, as the device's link says it (firmware.link), with the words for it.
DEVICE_OFF = "device is off: nothing answered on the dock"
DOCK_RESULTS = {
    "done": N_("sim.dock.done"),
    "timed out": N_("sim.dock.timed_out"),
    "link lost": N_("sim.dock.link_lost"),
    DEVICE_OFF: N_("sim.dock.off"),
}
CLOSED_BY = {"peer": N_("sim.dock.peer"), "us": N_("sim.dock.us")}  # protocol.session


def dock_result(result: str) -> Said:
    """A dock's result (``done``, ``timed out``, ``link lost: why``, ``closed by host:
    why``): the same words in English, the catalog's in another language; the link's own
    detail (an OS error, the other end's reason) stays as it came."""
    if result in DOCK_RESULTS:
        return Term(result, DOCK_RESULTS[result])
    head, sep, why = result.partition(": ")
    if sep and head == "link lost":
        return Term(result, N_("sim.dock.link_lost_why"), why=why)
    who = head[len("closed by ") :] if head.startswith("closed by ") else ""
    if sep and who in CLOSED_BY:
        return Term(result, N_("sim.dock.closed_by"), who=Term(who, CLOSED_BY[who]), why=why)
    return Term(result, N_("sim.value.as_is"), value=result)


def _render(msg_id: str, fields: dict, lang: str) -> str:
    values = {}
    for name, value in fields.items():
        values[name] = say(value, lang) if isinstance(value, (Said, list, tuple)) else value
    return i18n.text(msg_id, lang, **values)


def _remake(cls: "type[Said]", english: str, msg_id: str, fields: dict) -> Said:
    self: Said = str.__new__(cls, english)
    self.msg = msg_id
    self.fields = fields
    return self
