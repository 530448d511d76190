"""Messages a person reads, in English or Chinese.

Every human-facing line that has been translated lives in one table, ``host.messages``:
message id -> (English, Chinese), each a ``str.format`` template with named fields. Code
renders a message with ``text(msg_id, **fields)`` in the chosen language, which the command
line sets once (``--lang en|zh``, else the locale: LC_ALL, LC_MESSAGES, LANG, the first one
set, naming a ``zh_`` locale means Chinese). Output for machines (``--json``) is never
rendered through here: its keys and values stay as they are, whatever the language.
"""

import os
import string
from collections.abc import Mapping

from host.messages import MESSAGES

EN = "en"
ZH = "zh"
LANGS = (EN, ZH)

_chosen: list = []  # the language set by ``use``; empty: the locale decides


def locale_lang(environ: "Mapping[str, str] | None" = None) -> str:
    """The language the locale asks for: the first of LC_ALL, LC_MESSAGES and LANG that is
    set and not empty decides (as POSIX orders them); a Chinese locale (``zh_CN.UTF-8``,
    ``zh_TW``, plain ``zh``) gives ZH, anything else EN."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return ZH if value == "zh" or value.startswith(("zh_", "zh.", "zh@")) else EN
    return EN


def use(lang: "str | None") -> str:
    """Choose the language for everything rendered from now on; None goes back to the
    locale. Returns the language now in force."""
    if lang is not None and lang not in LANGS:
        raise ValueError("unknown language %r: give one of %s" % (lang, ", ".join(LANGS)))
    _chosen[:] = [] if lang is None else [lang]
    return current()


def current() -> str:
    """The language in force: the one ``use`` chose, else the locale's."""
    return _chosen[0] if _chosen else locale_lang()


def text(msg_id: str, lang: "str | None" = None, **fields: object) -> str:
    """Message ``msg_id`` in ``lang`` (default: the language in force), its fields filled.

    An unknown id is a programming error (KeyError): the catalogue test lists every id a
    module uses, so it cannot reach a person.
    """
    en, zh = MESSAGES[msg_id]
    template = zh if (lang or current()) == ZH else en
    return template.format(**fields)


def known(msg_id: str) -> bool:
    """Whether the catalogue has ``msg_id``."""
    return msg_id in MESSAGES


def fields_of(template: str) -> set:
    """The named fields a template fills (``{count}`` -> ``count``)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# The verdict states of protocol.verify and host.mp4verify, as the words a report shows.
VERDICTS = {
    "OK": "verdict.ok",
    "OK with missing information": "verdict.ok_missing",
    "NOT OK": "verdict.not_ok",
    "unknown key": "verdict.unknown_key",
    "authentic": "verdict.authentic",
    "authentic with notes": "verdict.authentic_notes",
    "missing parts": "verdict.missing_parts",
    "unverifiable": "verdict.unverifiable",
    "altered": "verdict.altered",
}


def verdict(state: str, lang: "str | None" = None) -> str:
    """A verdict state as a person reads it; a state without a translation stays as it is."""
    msg_id = VERDICTS.get(state)
    return text(msg_id, lang) if msg_id else state
