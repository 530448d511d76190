"""What every command shares: exit codes, the one-line usage error, key and file reading,
argument types."""

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING

from host import i18n
from host.errors import EXIT_INTERRUPTED, EXIT_NOT_OK, EXIT_OK, EXIT_UNUSABLE, Unusable
from host.files import open_regular, read_regular
from host.keyfile import KEY_FILE_LIMIT, load_key
from protocol.signer import make_signer

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware.storelock import StoreClaim

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NOT_OK",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "KEY_FILE_LIMIT",
    "LEDGER_READ",
    "Unusable",
    "UsageProblem",
    "check_id",
    "claim_store",
    "file_chunks",
    "host_signer",
    "load_key",
    "number_at_least",
    "open_regular",
    "parse_address",
    "read_regular",
]


class UsageProblem(Unusable):
    """A command's own arguments cannot be used; the message says what to do. Errors the
    layers below raise for input they cannot use are ``Unusable``, its base: the command
    line reports both in one line and exits ``EXIT_UNUSABLE``."""


# The ledger is read in pieces of this size; the reader holds at most one entry beyond one.
LEDGER_READ = 1 << 20


def file_chunks(f) -> Iterator[bytes]:
    with f:
        while True:
            chunk = f.read(LEDGER_READ)
            if not chunk:
                return
            yield chunk


def check_id(text: str, what: str) -> str:
    """``text`` when it can serve as a device or host id (``protocol.registry.id_problem``).
    ``what`` names the id in the message: a message id (``usage.what_device_id``) or, from
    code not yet translated, English words."""
    from protocol.registry import MAX_ID_LEN, id_problem

    if id_problem(text, what):  # for text, only its length can be wrong
        named = i18n.text(what) if i18n.known(what) else what
        raise UsageProblem(
            i18n.text("usage.id_too_long", what=named, length=len(text), limit=MAX_ID_LEN)
        )
    return text


def claim_store(path: str, command: str) -> "StoreClaim":
    """Claim a device store for this process's writer, or say in one line who holds it."""
    from firmware.errors import StoreError
    from firmware.storelock import claim

    try:
        return claim(path, command)
    except StoreError as exc:
        raise UsageProblem(str(exc)) from None


def host_signer(path: str) -> tuple:
    key = load_key(path)
    if not key.seed:
        raise UsageProblem(i18n.text("usage.public_not_private", path=path))
    return make_signer(key.seed), key.device_id


def parse_address(text: str) -> tuple:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageProblem(i18n.text("usage.address", text=text))
    return host, int(port)


def number_at_least(minimum: float, above: bool = False) -> "Callable[[str], float]":
    """An argparse type: a finite number no less than ``minimum`` (above it, when ``above``).
    An infinite limit was a traceback, and a negative one or NaN turned a check off."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            msg_id = i18n.N_("usage.number_above") if above else i18n.N_("usage.number_at_least")
            raise argparse.ArgumentTypeError(i18n.text(msg_id, minimum=minimum, text=text))
        return value

    return parse
