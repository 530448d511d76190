"""The protocol package's exceptions: one root, a subclass per kind of failure."""


class ProtocolError(Exception):
    """Root of every error raised by the protocol package."""


class CodecError(ProtocolError):
    """Bytes are not the deterministic CBOR this project reads and writes."""


class EncodeError(CodecError):
    """A value cannot be written as deterministic CBOR."""


class DecodeError(CodecError):
    """Input is not well-formed deterministic CBOR; ``offset`` is where it went wrong."""

    def __init__(self, message: str, offset: int = -1) -> None:
        self.detail = message  # without the offset, for a reader that re-bases it
        if offset >= 0:
            message = "%s (at byte %d)" % (message, offset)
        super().__init__(message)
        self.offset = offset


class TruncatedError(DecodeError):
    """Input ends before the data item it started is complete."""


class EntryError(ProtocolError):
    """A ledger entry or key file does not have the structure the registry defines."""
