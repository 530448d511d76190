"""``sealcam dock``: the device's side of a sync, from its store or through the running recorder."""

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from host import i18n
from host.cli.common import (
    EXIT_NOT_OK,
    EXIT_OK,
    EXIT_UNUSABLE,
    UsageProblem,
    load_key,
    number_at_least,
    parse_address,
)
from host.files import os_why
from protocol.signer import make_signer

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware.link import DeviceLink
    from firmware.storelock import StoreClaim
    from host.dockrelay import HostEnd
    from host.progress import DockView
    from protocol.framing import Transport


def cmd_dock(args: argparse.Namespace) -> int:
    """The device side of a sync, for a Linux terminal's store (or a simulated device).

    Exit 0 only when the host confirmed the session with a receipt; 1 when the host refused
    or ended it, or the link went after the host proved its key; 2 when nothing could be
    done (no listener, no such port, a bad key file, a host this device does not trust).
    """

    from firmware.agent import boot
    from firmware.errors import FirmwareError
    from firmware.hal import Indicators
    from firmware.link import DeviceLink
    from firmware.ports.cpython import SystemClock
    from host.progress import dock_state

    key = load_key(str(Path(args.store) / "device.key"))
    if not key.seed:
        raise UsageProblem(i18n.text("dock.public_key", path=str(Path(args.store) / "device.key")))
    pinned = {}
    for path in args.trust:
        host_key = load_key(path)
        pinned[host_key.device_id] = host_key.public
    signer = make_signer(key.seed)
    held = claim_or_relay(args, pinned)  # never beside another writer (R-DEV-2)
    if isinstance(held, dict):
        held["device_id"] = held["device_id"] or key.device_id  # a recorder cut off says none
        return report_relayed_dock(held, args)
    try:
        # The link first: when there is no host to talk to, the store is not touched at all.
        transport, serial_link = _dock_transport(args)
        try:
            try:
                agent = boot(
                    args.store, signer, key.device_id, "", SystemClock(), None, Indicators()
                )
            except (FirmwareError, OSError) as exc:
                why = os_why(exc) if isinstance(exc, OSError) else str(exc)
                raise UsageProblem(i18n.text("dock.store", path=args.store, why=why)) from None
            from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME

            view = dock_view(key.device_id, args)
            watched = WatchedTransport(transport)
            link = DeviceLink(
                agent,
                signer,
                pinned,
                watched,
                serial_link,
                os.urandom,
                idle_ms=int(args.idle * 1000),
                # TCP is fast and reliable: offer the largest frame; serial keeps the default.
                max_frame=DEFAULT_MAX_FRAME if serial_link else MAX_FRAME,
            )
            if view is not None:
                watched.tick = lambda: view.update(
                    dock_state(link.session.state, len(link.receipts)),
                    watched.sent,
                    watched.received,
                )
            try:
                result = link.run()
            finally:
                agent.store.close()
                if view is not None:
                    view.close(dock_outcome(link)[1])
        finally:
            end = getattr(transport, "sock", None) or getattr(transport, "port", None)
            if end is not None:
                end.close()
    finally:
        held.release()
    code, result = dock_outcome(link)
    out = {"device_id": key.device_id, "result": result, "receipts": link.receipts}
    print(
        json.dumps(out)
        if args.json
        else "%s: %s; receipts %s" % (key.device_id, result, link.receipts or "none")
    )
    return code


class WatchedTransport:
    """A sync transport that counts the bytes each way and calls ``tick`` after every read
    and write, for the dock's progress line (the device session itself stays unaware)."""

    def __init__(self, inner: "Transport") -> None:
        self.inner = inner
        self.sent = 0
        self.received = 0
        self.tick: Callable[[], None] = lambda: None

    def read(self) -> bytes:
        data = self.inner.read()
        self.received += len(data)
        self.tick()
        return data

    def write(self, data: bytes) -> None:
        self.inner.write(data)
        self.sent += len(data)
        self.tick()

    def at_eof(self) -> bool:
        return self.inner.at_eof()


def dock_view(device_id: str, args: argparse.Namespace) -> "DockView | None":
    """The device side's progress line, on a terminal and without --json (the host side
    shows its own in sealcam sync)."""
    import sys

    from host.progress import DockView

    if args.json or not sys.stderr.isatty():
        return None
    where = "tcp:%s" % args.connect if args.connect else "serial:%s" % args.serial
    return DockView("%s -> %s" % (device_id, where))


def dock_outcome(link: "DeviceLink") -> tuple:
    """``(exit code, what to say)`` for a finished device link (see ``cmd_dock``)."""
    from protocol.messages import ERR_BAD_SIGNATURE, ERR_UNTRUSTED_HOST

    closed = link.closed
    if closed == "done":
        if link.receipts:
            return EXIT_OK, closed
        return EXIT_NOT_OK, "the host closed the session without a receipt: dock again"
    if link.closed_by == "peer":
        return EXIT_NOT_OK, closed  # the host refused or ended it: an ERROR
    if not link.host_kid:
        # The host never proved a pinned key: nothing was given to it.
        if link.close_code in (ERR_UNTRUSTED_HOST, ERR_BAD_SIGNATURE):
            return EXIT_UNUSABLE, "%s: not a host this device trusts" % closed
        return EXIT_UNUSABLE, "%s before the host proved its key: nothing was done" % closed
    return EXIT_NOT_OK, "%s: the session ended without its receipt; dock again" % closed


def _open_host_link(args: argparse.Namespace) -> tuple:
    """``(socket or serial port, is serial)``: the link to the host that ``--connect`` or
    ``--serial`` names; UsageProblem in one line when it cannot be opened."""
    import socket

    if args.connect:
        address = parse_address(args.connect)
        try:
            sock = socket.create_connection(address, timeout=args.idle)
        except OSError as exc:
            why = os_why(exc)
            raise UsageProblem(i18n.text("dock.connect", address=args.connect, why=why)) from None
        sock.settimeout(None)
        return sock, False
    if args.serial:
        import serial

        try:
            port = serial.Serial(args.serial, baudrate=args.baud, timeout=0.2)
        except (serial.SerialException, OSError, ValueError) as exc:
            why = os_why(exc) if isinstance(exc, OSError) and exc.errno else str(exc)
            raise UsageProblem(i18n.text("dock.serial", port=args.serial, why=why)) from None
        return port, True
    raise UsageProblem(i18n.text("dock.no_link"))


def _dock_transport(args: argparse.Namespace) -> tuple:
    """The open link to the host as a sync transport, and whether it is serial."""
    from firmware.ports.transports import SerialTransport, SocketTransport

    end, serial_link = _open_host_link(args)
    return (SerialTransport(end) if serial_link else SocketTransport(end)), serial_link


def claim_or_relay(args: argparse.Namespace, pinned: dict) -> "StoreClaim | dict":
    """Claim the store for this dock; or, when a running ``sealcam record`` holds it and
    serves docks, carry the session to it (the agent writes its own ledger) and return the
    outcome. Beside any other writer the dock is refused in one line."""
    from firmware.errors import StoreError
    from firmware.storelock import StoreInUse, claim
    from host.dockrelay import RelayProblem, connect_agent, relay_dock
    from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME

    try:
        return claim(args.store, "sealcam dock")
    except StoreInUse as busy:
        try:
            agent = connect_agent(args.store)
        except OSError:
            raise UsageProblem(str(busy)) from None
    except StoreError as exc:
        raise UsageProblem(str(exc)) from None
    header = {
        "trust": {kid: public.hex() for kid, public in pinned.items()},
        "serial": not args.connect,
        "idle_ms": int(args.idle * 1000),
        "max_frame": MAX_FRAME if args.connect else DEFAULT_MAX_FRAME,
    }
    try:
        host = _host_end(args)
        try:
            return relay_dock(agent, host, header)
        finally:
            host.close()
    except RelayProblem as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:
        raise UsageProblem(i18n.text("dock.relay_failed", why=os_why(exc))) from None
    finally:
        agent.close()


def _host_end(args: argparse.Namespace) -> "HostEnd":
    """The link to the host a relayed dock carries: TCP or serial, as for a dock of its own."""
    from host.dockrelay import SerialEnd, TcpEnd

    end, serial_link = _open_host_link(args)
    return SerialEnd(end) if serial_link else TcpEnd(end)


def report_relayed_dock(out: dict, args: argparse.Namespace) -> int:
    """Print a dock served by the running recorder as a dock of its own is printed."""
    print(
        json.dumps(out)
        if args.json
        else "%s: %s; receipts %s (served by the running recorder)"
        % (out["device_id"], out["result"], out["receipts"] or "none")
    )
    return EXIT_OK if out["result"] == "done" and out["receipts"] else EXIT_NOT_OK


def add_dock(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam dock``."""
    dk = sub.add_parser(
        "dock",
        help="sync a device store to a host (the device's side)",
        description="Run the device's side of a sync from its store: prove the device key, "
        "check the host against the pinned agency keys, serve entries and media, and log "
        "the host's receipt and time into the device's own ledger. A store has one writer: "
        "while sealcam record runs on it, the running recorder serves the dock (this command "
        "relays the link to it); beside any other writer the dock is refused (exit 2).",
        epilog="Exit codes: 0 the host confirmed the session with a receipt; 1 the host "
        "refused or ended it, or the link went after the host proved its key (dock again); "
        "2 nothing could be done (no listener, no such serial port, a bad key file, a host "
        "this device does not trust, a store another process writes).",
    )
    dk.add_argument("--store", required=True, help="the device's store directory")
    dk.add_argument(
        "--trust",
        action="append",
        required=True,
        help="an agency host public key file to pin (repeatable)",
    )
    dk.add_argument("--connect", help="the host's HOST:PORT")
    dk.add_argument("--serial", help="the serial port to the host")
    dk.add_argument("--baud", type=int, default=921600, help="serial line rate")
    dk.add_argument(
        "--idle",
        type=number_at_least(0, above=True),
        default=15,
        help="give up after this many quiet "
        "seconds (a frame lost to noise stalls a session; the next dock resumes)",
    )
    dk.add_argument("--json", action="store_true", help="print the outcome as JSON")
    dk.set_defaults(run=cmd_dock)
