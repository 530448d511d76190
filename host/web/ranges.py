"""HTTP range requests (RFC 9110, section 14) on a file of known size, sans I/O.

A video element asks for the footage a piece at a time (``Range: bytes=START-``), and a
seek is one more such request at the new place: served from there, seeking is instant
however long the recording. One range is served; a request for several (rarely sent by
players) or one that does not parse is answered with the whole file, as the RFC allows.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Bytes ``first`` to ``last`` inclusive, of a file of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self) -> str:
        return "bytes %d-%d/%d" % (self.first, self.last, self.size)


class NotSatisfiable(Exception):
    """The range starts past the end of the file (answer 416 with ``bytes */SIZE``)."""


def parse(header: "str | None", size: int) -> "Span | None":
    """The span a ``Range`` header asks for in a file of ``size`` bytes; None to send the
    whole file (no header, another unit, several ranges, a header that does not parse);
    NotSatisfiable when the one range asked for lies wholly past the end."""
    if not header:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    if "," in spec:
        return None
    first_text, dash, last_text = spec.partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not _digits(first_text, last_text):
        return None
    if not first_text:  # the last N bytes
        if not last_text:
            return None
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise NotSatisfiable()
        return Span(max(0, size - suffix), size - 1, size)
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # not a valid range: ignored
    if first >= size:
        raise NotSatisfiable()
    last = size - 1 if not last_text else min(int(last_text), size - 1)
    return Span(first, last, size)


def _digits(*parts: str) -> bool:
    return all(p == "" or (p.isascii() and p.isdigit()) for p in parts)
