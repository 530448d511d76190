"""CRC-32 (IEEE 802.3: the polynomial of zlib, binascii, Ethernet and PNG).

``crc32`` uses ``binascii.crc32`` where the port has it (CPython always; most MicroPython
builds) and otherwise ``portable_crc32``, a table-driven version that gives the same
results. The table is built the first time it is needed, never at import.
"""

import binascii

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

# The reflected form of the IEEE polynomial 0x04C11DB7.
_POLY = 0xEDB88320

_native: "Callable[..., int] | None" = getattr(binascii, "crc32", None)
_table: list = []


def _build_table() -> list:
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        _table.append(c)
    return _table


def portable_crc32(data: "bytes | bytearray | memoryview", value: int = 0) -> int:
    """The CRC-32 of ``data``, continuing from ``value`` (the CRC of the bytes before it)."""
    table = _table or _build_table()
    crc = value ^ 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32(data: "bytes | bytearray | memoryview", value: int = 0) -> int:
    """The CRC-32 of ``data`` as an unsigned 32-bit int, continuing from ``value``.

    ``crc32(b, crc32(a)) == crc32(a + b)``, so a long input can be checked in pieces.
    """
    if _native is None:
        return portable_crc32(data, value)
    return _native(data, value) & 0xFFFFFFFF
