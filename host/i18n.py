"""Messages a person reads, in English or Chinese.

The texts live in gettext catalogs under ``host/locale``: ``LANG/LC_MESSAGES/AREA.po``, one
pair (``en`` and ``zh_CN``) per area, so that messages of different parts of sealcam are added
in different files. Each entry's msgid is a message id, its msgstr the text: a ``str.format``
template with named fields, the same fields in both languages. An area is one part of
sealcam (``cli``, ``verify``, ``record``, ``terminal``, ``people``, ``case``, ``retention``,
...); an area's ids share its prefixes (``case.*`` and ``item.*`` in ``case``).

A new area is a new pair of files; a message id is unique across all of them. ``tools/i18n
compile`` turns each ``.po`` into the ``.mo`` read here with the standard library's gettext;
a ``.mo`` that is missing or not compiled from the ``.po`` as it is now (``read_area``) is
passed over for the ``.po`` itself (read with babel), so a checkout never shows stale text.
Each language is loaded once per process, on first use. An id missing from the Chinese
catalog is shown in English.

Code renders a message with ``text(msg_id, **fields)`` in the chosen language, which the
command line sets once (``--lang en|zh``, else the locale: LC_ALL, LC_MESSAGES, LANG, the
first one set, naming a ``zh_`` locale means Chinese). Output for machines (``--json``) is
never rendered through here: its keys and values stay as they are, whatever the language.

``tools/i18n extract`` finds the ids code uses: literal first arguments of ``text``, of the
officer's terminal's ``line`` and ``render``, of an error's ``said`` (``host.problems.Said``),
and of ``N_``, the marker for an id written where it is not yet rendered (a table of ids,
like ``VERDICTS`` below). ``N_`` returns its argument unchanged. An id built at run time
(``"buzzer." + sound``) is not found there: the tests of the code that builds it list those
ids.
"""

import contextlib
import gettext
import hashlib
import os
import string
import threading
from collections.abc import Iterator, Mapping

EN = "en"
ZH = "zh"
LANGS = (EN, ZH)

LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")
# The catalog folder of each language (gettext's locale names).
CATALOG_LANGS = {EN: "en", ZH: "zh_CN"}

# The entry of a compiled catalog that holds the SHA-256 of the .po it was compiled from
# (gettext's key of msgid "source-sha256" in context "sealcam").
SOURCE_CONTEXT = "sealcam"
SOURCE_ID = "source-sha256"
SOURCE_KEY = SOURCE_CONTEXT + "\x04" + SOURCE_ID

_chosen: list = []  # the language set by ``use``; empty: the locale decides
# A language for one thread only, over ``use``'s (``speaking``): a server answers people of
# both languages at once, each request in its own thread.
_here = threading.local()
_catalogs: "dict[str, dict[str, str]]" = {}  # language -> message id -> text, once loaded


def N_(msg_id: str) -> str:
    """``msg_id`` unchanged: marks a message id for ``tools/i18n extract`` where it is
    written down to be rendered later."""
    return msg_id


def catalog_files(lang: str) -> "list[str]":
    """The ``.po`` file of every area of ``lang``, sorted by area."""
    folder = os.path.join(LOCALE_DIR, CATALOG_LANGS[lang], "LC_MESSAGES")
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [os.path.join(folder, name) for name in sorted(names) if name.endswith(".po")]


def source_digest(po_path: str) -> str:
    """The SHA-256 of a ``.po`` file, as ``tools/i18n compile`` records it in the ``.mo``."""
    with open(po_path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _compiled(path: str) -> "dict[str, str]":
    with open(path, "rb") as f:
        translations = gettext.GNUTranslations(f)
    # GNUTranslations keeps its messages in _catalog, the header under "".
    return dict(translations._catalog)  # type: ignore[attr-defined]  # not in typeshed's stub


def _messages(compiled: "dict[str, str]") -> "dict[str, str]":
    # Without the header ("") and entries with a context (SOURCE_KEY), which are no messages.
    return {k: v for k, v in compiled.items() if isinstance(k, str) and k and "\x04" not in k}


def read_mo(path: str) -> "dict[str, str]":
    """The messages of a compiled catalog, by the standard library alone."""
    return _messages(_compiled(path))


def read_po(path: str) -> "dict[str, str]":
    """The messages of a catalog's source, as a compiled one would have them: fuzzy and
    untranslated entries left out."""
    from babel.messages.pofile import read_po as parse  # only when a .mo is stale or missing

    with open(path, "rb") as f:
        source = parse(f)
    return {
        m.id: m.string
        for m in source
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def read_area(po_path: str) -> "dict[str, str]":
    """One area's messages: from its ``.mo`` when that was compiled from the ``.po`` as it
    is now, else from the ``.po``.

    ``tools/i18n compile`` records the ``.po``'s digest in the ``.mo`` (``SOURCE_KEY``): the
    digests decide, since an installer writes files in no set order. A ``.mo`` without one
    (compiled by ``pybabel compile``) is current when it is not older than the ``.po``.
    """
    mo_path = po_path[:-3] + ".mo"
    try:
        compiled = _compiled(mo_path)
    except FileNotFoundError:
        return read_po(po_path)
    recorded = compiled.get(SOURCE_KEY)
    if recorded is not None:
        fresh = recorded == source_digest(po_path)
    else:
        fresh = os.stat(mo_path).st_mtime_ns >= os.stat(po_path).st_mtime_ns
    return _messages(compiled) if fresh else read_po(po_path)


def catalog(lang: str) -> "dict[str, str]":
    """Every message of ``lang`` (EN or ZH), all areas merged: message id -> template."""
    if lang not in _catalogs:
        merged: dict[str, str] = {}
        for path in catalog_files(lang):
            merged.update(read_area(path))
        _catalogs[lang] = merged
    return _catalogs[lang]


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
    """The language in force: this thread's (``speaking``), else the one ``use`` chose,
    else the locale's."""
    here = getattr(_here, "lang", None)
    if here is not None:
        return str(here)
    return _chosen[0] if _chosen else locale_lang()


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Everything rendered in this thread while the block runs is in ``lang``; other
    threads keep theirs."""
    if lang not in LANGS:
        raise ValueError("unknown language %r: give one of %s" % (lang, ", ".join(LANGS)))
    before = getattr(_here, "lang", None)
    _here.lang = lang
    try:
        yield
    finally:
        _here.lang = before


def text(msg_id: str, lang: "str | None" = None, **fields: object) -> str:
    """Message ``msg_id`` in ``lang`` (default: the language in force), its fields filled.

    An id in no catalog is a programming error (KeyError): ``tools/i18n check`` and the
    tests find every id code uses in the catalogs, so it cannot reach a person.
    """
    template = catalog(lang or current()).get(msg_id)
    if template is None:
        template = catalog(EN)[msg_id]  # not yet in Chinese: English
    return template.format(**fields)


def known(msg_id: str) -> bool:
    """Whether the catalogs have ``msg_id``."""
    return msg_id in catalog(current()) or msg_id in catalog(EN)


def fields_of(template: str) -> set:
    """The named fields a template fills (``{count}`` -> ``count``)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# The verdict states of protocol.verify and host.mp4verify, as the words a report shows.
VERDICTS = {
    "OK": N_("verdict.ok"),
    "OK with missing information": N_("verdict.ok_missing"),
    "NOT OK": N_("verdict.not_ok"),
    "unknown key": N_("verdict.unknown_key"),
    "authentic": N_("verdict.authentic"),
    "authentic with notes": N_("verdict.authentic_notes"),
    "missing parts": N_("verdict.missing_parts"),
    "unverifiable": N_("verdict.unverifiable"),
    "altered": N_("verdict.altered"),
}


def verdict(state: str, lang: "str | None" = None) -> str:
    """A verdict state as a person reads it; a state without a translation stays as it is."""
    msg_id = VERDICTS.get(state)
    return text(msg_id, lang) if msg_id else state
