"""The protocol package's exceptions: one root, a subclass per kind of failure."""

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable


class ProtocolError(Exception):
    """Root of every error raised by the protocol package."""


class CodecError(ProtocolError):
    """Bytes are not the deterministic CBOR this project reads and writes.

    The message is English: the protocol runs on the device too and has no catalogue.
    ``msg_id`` and ``fields`` name the same line in the host's (``cbor.*``), so that the host
    says it in the reader's language (``host.problems``); an error raised without an id
    (``msg_id`` empty) is said in its own words."""

    def __init__(self, message: str, msg_id: str = "", **fields: object) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.fields = fields


class EncodeError(CodecError):
    """A value cannot be written as deterministic CBOR."""


class DecodeError(CodecError):
    """Input is not well-formed deterministic CBOR; ``offset`` is where it went wrong.
    ``msg_id`` and ``fields`` say ``detail``, the message without the offset."""

    def __init__(self, message: str, offset: int = -1, msg_id: str = "", **fields: object) -> None:
        self.detail = message  # without the offset, for a reader that re-bases it
        if offset >= 0:
            message = "%s (at byte %d)" % (message, offset)
        super().__init__(message, msg_id, **fields)
        self.offset = offset


class TruncatedError(DecodeError):
    """Input ends before the data item it started is complete."""


class EntryError(ProtocolError):
    """A ledger entry or key file does not have the structure the registry defines.
    ``msg_id`` and ``fields``, when given, name the line as ``CodecError``'s do."""

    def __init__(self, message: str, msg_id: str = "", **fields: object) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.fields = fields


def message_of(
    exc: BaseException, field: "Callable[[str, str, object], object] | None" = None
) -> object:
    """``exc`` as a message that a host says in its reader's language, in plain values (to
    keep, compare or send on): ``(msg_id, fields)``, a field that is an error made such a
    message too, and a DecodeError's offset said around it (``cbor.at``, as its English
    adds " (at byte N)"); its English words when it names no line. ``field``, when given,
    is called ``field(msg_id, name, value)`` for each field instead, and gives what to keep
    (the host's ``problems.pair`` makes more kinds of field a message)."""
    msg_id = getattr(exc, "msg_id", "")
    fields = getattr(exc, "fields", None)
    if not msg_id or not isinstance(fields, dict):
        return str(exc)
    out = {}
    for name, value in fields.items():
        if field is not None:
            value = field(msg_id, name, value)
        elif isinstance(value, ProtocolError):
            value = message_of(value)
        out[name] = value
    message = (msg_id, out)
    if isinstance(exc, DecodeError) and exc.offset >= 0:
        return ("cbor.at", {"why": message, "at": exc.offset})
    return message
