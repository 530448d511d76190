"""Key files as the host reads them: a regular file of a few dozen bytes holding a COSE_Key."""

from host import i18n
from host.errors import Unusable
from host.files import read_regular
from protocol.errors import ProtocolError
from protocol.keys import DeviceKey, decode_key

# A key file is a COSE_Key of a few dozen bytes; anything far larger is not one.
KEY_FILE_LIMIT = 64 * 1024


def load_key(path: str) -> DeviceKey:
    """The key in the file at ``path``; Unusable in one line when it holds none."""
    try:
        return decode_key(read_regular(path, "key file", KEY_FILE_LIMIT))
    except ProtocolError as exc:
        # What the decoder found (bytes after the item, a field missing) helps nobody who
        # gave the wrong file: the line says what a key file is and where one comes from.
        del exc
        raise Unusable(i18n.text("keyfile.bad", path=path)) from None
