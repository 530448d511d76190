"""The page's language: Chinese or English, from the browser's ``Accept-Language`` until the
person picks one (a cookie, switchable on every page); texts from the ``web`` area of the
catalogs (``host.i18n``), rendered in that language without touching the process's own."""

from host import i18n

COOKIE = "sealcam_lang"


def from_accept(header: str) -> str:
    """The language an ``Accept-Language`` header prefers: the first of ours by weight
    (``zh-CN,zh;q=0.9,en;q=0.8`` -> zh); English when it names neither."""
    best: tuple[float, int, str] | None = None
    for n, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        weight = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        lang = (
            i18n.ZH
            if tag == "zh" or tag.startswith("zh-")
            else i18n.EN
            if (tag == "en" or tag.startswith("en-"))
            else None
        )
        if lang is None or weight <= 0:
            continue
        if best is None or weight > best[0] or (weight == best[0] and n < best[1]):
            best = (weight, n, lang)
    return best[2] if best else i18n.EN


def choose(cookie: "str | None", accept: "str | None") -> str:
    """The cookie's language when it names one, else the browser's."""
    if cookie in i18n.LANGS:
        return str(cookie)
    return from_accept(accept or "")


def text(lang: str, msg_id: str, **fields: object) -> str:
    return i18n.text(msg_id, lang, **fields)
