"""``sealcam dock`` through a running ``sealcam record``: relay the host's link to the agent.

A store has one writer (``firmware.storelock``). When ``sealcam record`` holds it, the dock
is served by that running agent, as on a recorder: this side only carries bytes between the
host's link (TCP or serial) and the agent's socket in the store
(``firmware.ports.docking``), and reports the outcome the agent sends at the end. Nothing
here opens the store.
"""

import json
import selectors
import socket
from typing import Protocol

from firmware.ports.docking import TAG_DATA, TAG_RESULT, MessageReader, socket_path
from firmware.ports.transports import SerialPort

READ_BYTES = 64 * 1024
# With no byte from the agent for this long beyond the session's own idle limit (which the
# agent enforces), the agent is taken to be hung.
AGENT_GRACE_S = 30.0


class RelayProblem(Exception):
    """The dock could not be relayed; the message says why, in one line."""


def connect_agent(store: str) -> socket.socket:
    """The running agent's dock socket; OSError when no agent serves docks there."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(socket_path(store))
    except OSError:
        conn.close()
        raise
    return conn


class HostEnd(Protocol):
    """The link to the host that a relayed dock carries."""

    def fileno(self) -> int: ...

    def recv(self) -> bytes: ...

    def send(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class TcpEnd:
    """The host's end over TCP."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self) -> bytes:
        return self.sock.recv(READ_BYTES)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


class SerialEnd:
    """The host's end over a serial port (pyserial)."""

    def __init__(self, port: SerialPort) -> None:
        self.port = port

    def fileno(self) -> int:
        return self.port.fileno()

    def recv(self) -> bytes:
        waiting = max(1, self.port.in_waiting)
        return bytes(self.port.read(waiting))

    def send(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def close(self) -> None:
        self.port.close()


def relay_dock(agent: socket.socket, host: HostEnd, header: dict) -> dict:
    """Carry one session between ``host`` and the agent; return the agent's outcome
    (``device_id``, ``result``, ``receipts``). RelayProblem when the agent refused the dock."""
    try:
        agent.sendall(json.dumps(header).encode() + b"\n")
    except OSError:
        pass  # the agent answered at once (a refusal) and hung up: its answer is read below
    reader = MessageReader()
    sel = selectors.DefaultSelector()
    sel.register(agent, selectors.EVENT_READ)
    sel.register(host, selectors.EVENT_READ)
    limit = header["idle_ms"] / 1000 + AGENT_GRACE_S
    quiet = 0.0
    try:
        while True:
            ready = sel.select(timeout=1.0)
            if not ready:
                quiet += 1.0
                if quiet > limit:
                    return _outcome("the recorder stopped answering the dock")
                continue
            for key, _ in ready:
                if key.fileobj is agent:
                    quiet = 0.0
                    try:
                        data = agent.recv(READ_BYTES)
                    except OSError:
                        data = b""
                    if not data:
                        return _outcome("the recorder ended the dock without an outcome")
                    try:
                        messages = reader.feed(data)
                    except ValueError as exc:
                        return _outcome(str(exc))
                    for tag, payload in messages:
                        if tag == TAG_DATA:
                            _to_host(host, payload, agent, sel)
                        elif tag == TAG_RESULT:
                            return _result(payload)
                else:
                    try:
                        data = host.recv()
                    except OSError:
                        data = b""
                    if data:
                        try:
                            agent.sendall(data)
                        except OSError:
                            pass  # the agent went: its end of the socket says how, next
                    else:
                        # The host hung up (a serial port that reads nothing when ready has
                        # gone too): the agent's session sees the link go.
                        sel.unregister(host)
                        _hang_up(agent)
    finally:
        sel.close()


def _to_host(host: HostEnd, data: bytes, agent: socket.socket, sel: selectors.BaseSelector) -> None:
    try:
        host.send(data)
    except OSError:
        try:
            sel.unregister(host)
        except (KeyError, ValueError):
            pass
        _hang_up(agent)


def _hang_up(agent: socket.socket) -> None:
    """Tell the agent no more host bytes will come (its session ends as "link lost")."""
    try:
        agent.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the agent has gone already


def _outcome(result: str) -> dict:
    return {"device_id": "", "result": result, "receipts": []}


def _result(payload: bytes) -> dict:
    try:
        outcome = json.loads(payload)
    except ValueError:
        return _outcome("the recorder's outcome is not JSON")
    if not isinstance(outcome, dict):
        return _outcome("the recorder's outcome is not a JSON object")
    if "refused" in outcome:
        raise RelayProblem("the running recorder refused the dock: %s" % outcome["refused"])
    return {
        "device_id": str(outcome.get("device_id", "")),
        "result": str(outcome.get("result", "")),
        "receipts": list(outcome.get("receipts") or []),
    }
