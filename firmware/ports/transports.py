# micropython: skip (CPython sockets and pyserial; a board's port brings its own UART)
"""Link transports on CPython, for either end of a sync: a TCP socket or a pyserial port.

Each is a ``protocol.framing.Transport``: ``read`` returns what has arrived (b"" when
nothing has; on TCP also at the end, which ``at_eof`` tells apart), ``write`` sends all of
its bytes. ``sealcam dock``, the simulator's devices and the host daemon all use these, so
the device side takes nothing from the host's code.
"""

import socket
from typing import Protocol

READ_SIZE = 256 * 1024  # a read takes every frame that has arrived, up to this


class SerialPort(Protocol):
    """What is used of a pyserial ``Serial`` (a USB cable, or a pseudo-terminal in tests)."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def flush(self) -> None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class Transport:
    """A base for transports: ``read`` and ``write`` to give; not at EOF unless told."""

    def read(self) -> bytes:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def at_eof(self) -> bool:
        return False


class SocketTransport(Transport):
    def __init__(self, sock: socket.socket, poll_s: float = 0.5) -> None:
        self.sock = sock
        # Reads wake up now and then, so a peer that went silent is noticed (idle limit).
        sock.settimeout(poll_s)
        self.eof = False

    def read(self) -> bytes:
        try:
            data = self.sock.recv(READ_SIZE)
        except TimeoutError:
            return b""
        if not data:
            self.eof = True
        return bytes(data)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def at_eof(self) -> bool:
        return self.eof


class SerialTransport(Transport):
    """A pyserial port: a read waits up to the port's timeout for a first byte."""

    def __init__(self, port: SerialPort) -> None:
        self.port = port

    def read(self) -> bytes:
        waiting = max(1, self.port.in_waiting)
        return bytes(self.port.read(waiting))

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()
