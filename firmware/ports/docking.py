# micropython: skip (Unix sockets; a board's agent serves its own link)
"""The CPython port's docking point: ``sealcam dock`` reaches a running ``sealcam record``.

On a recorder the dock is served by the running agent: it is the store's only writer
(``firmware.storelock``), so the receipt and the host's time go into the same ledger the
recording goes into. On a terminal ``sealcam record`` holds the store, and ``sealcam dock``
cannot open it; instead it connects to the socket ``agent.sock`` in the store and relays its
link to the host through it. The agent serves that session with its own ``DeviceLink``
between frames: ``DockServer.poll`` does a bounded piece of work and never waits, so
capture, which runs in its own thread into a bounded queue, never waits on a dock (R-DEV-6).

The socket carries, from the relay, one header line (JSON: ``trust`` {kid: hex public key},
``serial``, ``idle_ms``, ``max_frame``) and then the host's bytes as they come; from the
agent, messages ``[tag][u32 BE length][payload]``: ``D`` bytes for the host, ``R`` the
outcome (JSON: ``device_id``, ``result``, ``receipts``; or ``refused``, why the agent would
not serve the dock). The socket is the store owner's alone (mode 0600).
"""

import json
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from firmware.link import DeviceLink
from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME

if TYPE_CHECKING:
    from firmware.agent import Agent
    from protocol.signer import Signer

SOCKET_NAME = "agent.sock"
TAG_DATA = b"D"
TAG_RESULT = b"R"
MAX_HEADER = 64 * 1024  # a header line longer than this is refused
MAX_MESSAGE = MAX_FRAME * 2 + 1024  # the largest framed piece of a session, with room
READ_BYTES = 64 * 1024  # host bytes taken per poll: the bound on one poll's work
HEADER_WAIT_MS = 15000  # a relay that sends no header in this long is let go


def socket_path(store: str) -> str:
    return os.path.join(store, SOCKET_NAME)


def encode_message(tag: bytes, payload: bytes) -> bytes:
    return tag + len(payload).to_bytes(4, "big") + payload


class MessageReader:
    """Splits the agent's side of the socket into ``(tag, payload)`` messages."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list:
        self.buf += data
        out = []
        while len(self.buf) >= 5:
            n = int.from_bytes(self.buf[1:5], "big")
            if n > MAX_MESSAGE:
                raise ValueError("a message of %d bytes from the recorder is too large" % n)
            if len(self.buf) < 5 + n:
                break
            out.append((bytes(self.buf[:1]), bytes(self.buf[5 : 5 + n])))
            del self.buf[: 5 + n]
        return out


def parse_header(line: bytes) -> dict:
    """The relay's header as DeviceLink arguments; ValueError saying what is wrong."""
    try:
        header = json.loads(line)
    except ValueError:
        raise ValueError("the dock's header is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError("the dock's header is not a JSON object")
    trust = header.get("trust")
    if not isinstance(trust, dict) or not trust:
        raise ValueError("the dock names no agency host key to trust")
    pinned = {}
    for kid, public in trust.items():
        try:
            key = bytes.fromhex(public) if isinstance(public, str) else b""
        except ValueError:
            key = b""
        if not isinstance(kid, str) or len(key) != 32:
            raise ValueError("the dock's trusted key %r is not an Ed25519 public key" % (kid,))
        pinned[kid] = key
    serial = header.get("serial")
    idle_ms = header.get("idle_ms")
    max_frame = header.get("max_frame")
    if type(serial) is not bool or type(idle_ms) is not int or idle_ms <= 0:
        raise ValueError("the dock's header needs serial (true/false) and idle_ms (> 0)")
    if type(max_frame) is not int or not DEFAULT_MAX_FRAME <= max_frame <= MAX_FRAME:
        raise ValueError("the dock's max_frame must be %d..%d" % (DEFAULT_MAX_FRAME, MAX_FRAME))
    return {"pinned": pinned, "serial": serial, "idle_ms": idle_ms, "max_frame": max_frame}


class _Outbox:
    """The DeviceLink's transport: what it writes goes out as D messages; what the host
    sends is fed in by the server, so there is nothing to read."""

    def __init__(self, out: bytearray) -> None:
        self.out = out

    def read(self) -> bytes:
        return b""

    def at_eof(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.out += encode_message(TAG_DATA, bytes(data))


class _Dock:
    """One relay connected to the agent."""

    def __init__(self, conn: socket.socket, now_ms: int) -> None:
        self.conn = conn
        self.header = bytearray()
        self.link: DeviceLink | None = None
        self.out = bytearray()
        self.quiet_since = now_ms
        self.idle_ms = HEADER_WAIT_MS  # until the header names the session's own
        self.ending = False  # the outcome is queued: close once it is out
        self.closed = False


class DockServer:
    """Serves docks for a running agent, one at a time, a bounded step per ``poll``."""

    def __init__(
        self,
        store: str,
        agent: "Agent",
        signer: "Signer",
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.path = socket_path(store)
        self.agent = agent
        self.signer = signer
        self.random_bytes = random_bytes
        self.listener: socket.socket | None = None
        self.dock: _Dock | None = None
        self.served: list = []  # each served session's outcome, for the summary

    def open(self) -> str:
        """Listen on the store's socket; return "" or why docks cannot be served (then a
        dock is refused, as beside any other writer)."""
        # The caller holds the store's claim, so a socket file here is a dead agent's.
        try:
            os.remove(self.path)
        except OSError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.path)
            os.chmod(self.path, 0o600)
            listener.listen(2)
        except OSError as exc:
            listener.close()
            return "cannot listen on %s: %s" % (self.path, exc.strerror or exc)
        listener.setblocking(False)
        self.listener = listener
        return ""

    @property
    def busy(self) -> bool:
        return self.dock is not None

    def _now(self) -> int:
        return self.agent.clock.mono_ms()

    def poll(self) -> None:
        """Accept a dock, move its bytes and serve its session: never waits."""
        if self.listener is None:
            return
        self._accept()
        dock = self.dock
        if dock is None:
            return
        if not dock.ending:
            self._receive(dock)
        self._send(dock)
        if dock.closed or (dock.ending and not dock.out):
            dock.conn.close()
            self.dock = None

    def close(self, why: str = "the recorder stopped") -> None:
        """Stop serving: a dock under way is told why it ends."""
        dock = self.dock
        if dock is not None:
            if not dock.ending and not dock.closed:
                self._end(dock, why)
            try:
                dock.conn.settimeout(2)  # the outcome is a few bytes; a gone relay is not
                dock.conn.sendall(bytes(dock.out))
            except OSError:
                pass
            dock.conn.close()
            self.dock = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            try:
                os.remove(self.path)
            except OSError:
                pass

    # -- steps --

    def _accept(self) -> None:
        listener = self.listener
        if listener is None:
            return
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        except OSError:
            return
        if self.dock is not None:
            # One session at a time, as on a recorder with one cradle.
            refusal = {"refused": "the recorder is serving another dock; dock when it ends"}
            try:
                conn.settimeout(2)
                conn.sendall(encode_message(TAG_RESULT, json.dumps(refusal).encode()))
            except OSError:
                pass
            conn.close()
            return
        conn.setblocking(False)
        self.dock = _Dock(conn, self._now())

    def _receive(self, dock: _Dock) -> None:
        try:
            data = dock.conn.recv(READ_BYTES)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data is None:
            if self._now() - dock.quiet_since > dock.idle_ms:
                if dock.link is None:
                    self._refuse(dock, "no header came within %d ms" % dock.idle_ms)
                else:
                    dock.link.time_out()
                    self._end(dock, dock.link.closed)
            return
        if not data:
            # The relay's host hung up (or the relay went): nothing more will come.
            self._end(dock, dock.link.closed if dock.link and dock.link.closed else "link lost")
            return
        dock.quiet_since = self._now()
        if dock.link is None:
            data = self._take_header(dock, data)
            if dock.link is None or not data:
                return
        result = dock.link.feed(data)
        if result:
            self._end(dock, result)

    def _take_header(self, dock: _Dock, data: bytes) -> bytes:
        """Collect the header line; start the session once it is whole; return the bytes
        after it (the host's first)."""
        dock.header += data
        end = dock.header.find(b"\n")
        if end < 0:
            if len(dock.header) > MAX_HEADER:
                self._refuse(dock, "the dock's header is longer than %d bytes" % MAX_HEADER)
            return b""
        line, rest = bytes(dock.header[:end]), bytes(dock.header[end + 1 :])
        dock.header = bytearray()
        try:
            params = parse_header(line)
        except ValueError as exc:
            self._refuse(dock, str(exc))
            return b""
        dock.idle_ms = params["idle_ms"]
        dock.link = DeviceLink(
            self.agent,
            self.signer,
            params["pinned"],
            _Outbox(dock.out),
            params["serial"],
            self.random_bytes,
            idle_ms=params["idle_ms"],
            max_frame=params["max_frame"],
        )
        return rest

    def _send(self, dock: _Dock) -> None:
        while dock.out:
            try:
                n = dock.conn.send(dock.out)
            except BlockingIOError:
                return
            except OSError:
                dock.closed = True  # the relay is gone; the session with it
                if not dock.ending:
                    self._end(dock, "link lost")
                dock.out.clear()
                return
            del dock.out[:n]

    def _end(self, dock: _Dock, result: str) -> None:
        receipts = list(dock.link.receipts) if dock.link is not None else []
        outcome = {
            "device_id": self.agent.recorder.device_id,
            "result": result,
            "receipts": receipts,
        }
        self.served.append(outcome)
        dock.out += encode_message(TAG_RESULT, json.dumps(outcome).encode())
        dock.ending = True

    def _refuse(self, dock: _Dock, why: str) -> None:
        dock.out += encode_message(TAG_RESULT, json.dumps({"refused": why}).encode())
        dock.ending = True
