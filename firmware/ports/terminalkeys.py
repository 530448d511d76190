"""The officer's keys on a terminal: which key does what, and the two reason menus.

Sans-I/O: ``Keypad.press(key)`` takes one key and gives back the recorder inputs it asks for
(``("press_record",)``, ``("pause", PAUSE_WEATHER)``, ``("no_record", code, note)``, and
``("quit",)`` for the port itself) and the lines to show, as message ids with their fields;
the port renders them in the officer's language (``host/locale`` holds the texts) and
feeds the inputs to the agent, which refuses what the recorder's state does not allow.
Where the keys come from (a terminal, a script) is ``firmware.ports.keysource``'s business.
"""

from protocol.registry import NO_RECORD_NAMES, PAUSE_NAMES


def N_(msg_id: str) -> str:
    """``msg_id`` unchanged: marks a message id for the catalogs' extractor (host.i18n.N_,
    which the firmware cannot import)."""
    return msg_id


# The keys, in the order the help shows them: (key, input it gives, message id of its line).
KEYS = (
    ("r", "press_record", N_("key.record")),
    ("a", "announce_done", N_("key.announced")),
    ("n", "narration_done", N_("key.narrated")),
    ("p", "", N_("key.pause")),  # opens the pause reasons
    ("c", "resume", N_("key.resume")),
    ("d", "spoken_reason_done", N_("key.reason_done")),
    ("m", "mark_important", N_("key.mark")),
    ("w", "", N_("key.no_record")),  # opens the no-record reasons, then the note
    ("s", "press_stop", N_("key.stop")),
    ("q", "quit", N_("key.quit")),
    ("h", "", N_("key.help")),
)
_INPUTS = {key: name for key, name, _ in KEYS if name}

ENTER = ("\r", "\n")
ESCAPE = "\x1b"
ERASE = ("\x7f", "\b")
MAX_NOTE = 200  # characters of a no-record note typed on the terminal

# Menu states.
_KEYS, _PAUSE, _NO_RECORD, _NOTE = 0, 1, 2, 3


def _printable(key: str) -> bool:
    """Not a control character (MicroPython's str has no isprintable)."""
    return key >= " " and key != "\x7f"


def help_lines() -> list:
    """Every key and what it does: shown at the start and on ``h``."""
    return [(N_("key.title"), {})] + [(msg_id, {"key": key}) for key, _, msg_id in KEYS]


def reason_lines(names: dict, prefix: str, title: str) -> list:
    """A numbered menu of reasons: the reason's code is the key that chooses it."""
    lines: list = [(title, {})]
    for code in sorted(names):
        lines.append((N_("reason.item"), {"key": code, "reason": (prefix + names[code], {})}))
    lines.append((N_("reason.cancel"), {}))
    return lines


class Keypad:
    """One key at a time, into recorder inputs and lines for the officer."""

    def __init__(self) -> None:
        self.menu = _KEYS
        self.code = 0
        self.note = ""

    def press(self, key: str) -> tuple:
        """``(inputs, lines)`` for ``key``: each input a tuple for ``Agent.input`` (or
        ``("quit",)``), each line ``(message_id, fields)``."""
        if self.menu == _PAUSE:
            return self._choose(key, PAUSE_NAMES, "pause")
        if self.menu == _NO_RECORD:
            return self._choose(key, NO_RECORD_NAMES, "no_record")
        if self.menu == _NOTE:
            return self._type(key)
        key = key.lower()
        if key == "p":
            self.menu = _PAUSE
            return [], reason_lines(PAUSE_NAMES, "pause.", N_("menu.pause"))
        if key == "w":
            self.menu = _NO_RECORD
            return [], reason_lines(NO_RECORD_NAMES, "no_record.", N_("menu.no_record"))
        if key in ("h", "?"):
            return [], help_lines()
        name = _INPUTS.get(key)
        if name is None:
            if key in ENTER or key == " ":
                return [], []
            return [], [(N_("key.unknown"), {"key": key if _printable(key) else repr(key)})]
        return [(name,)], []

    def _choose(self, key: str, names: dict, what: str) -> tuple:
        code = int(key) if key.isdigit() else 0
        if code not in names:
            self.menu = _KEYS
            return [], [(N_("menu.cancelled"), {})]
        if what == "pause":
            self.menu = _KEYS
            return [("pause", code)], []
        self.menu = _NOTE
        self.code = code
        self.note = ""
        return [], [(N_("menu.note"), {})]

    def _type(self, key: str) -> tuple:
        if key == ESCAPE:
            self.menu = _KEYS
            return [], [(N_("menu.cancelled"), {})]
        if key in ENTER:
            self.menu = _KEYS
            return [("no_record", self.code, self.note.strip())], []
        if key in ERASE:
            self.note = self.note[:-1]
        elif _printable(key) and len(self.note) < MAX_NOTE:
            self.note += key
        return [], []
