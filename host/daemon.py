"""``sealcam sync``: the daemon that collects footage from many devices at once.

Devices reach it over TCP (a listener on loopback by default) and over serial ports, given
by name or found by pyserial's port listing and re-scanned for hot-plugged cables. Each
connection runs in its own thread with its own ``HostLink``; the evidence store serialises
the commits.

What it says: one log line per event on ``out`` (key=value, or one JSON object per line
with ``--json``; ``sealcam sync --help`` lists the events), ending with a ``summary``. On a
terminal a live view (``host.progress.SessionView``) on stderr shows every session
instead, redrawn in place; log lines still go to ``out`` when that is not the terminal.
"""

import json
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

from firmware.ports.transports import SerialTransport, SocketTransport
from host.evidence import EvidenceStore, disk_full
from host.guard import Admission, HeldLog, Limits, LinkGuard, Tally, Ticket
from host.progress import SessionView
from host.sync import STOPPED, HostLink
from protocol.signer import Ed25519Signer

if TYPE_CHECKING:
    from collections.abc import Callable

    from protocol.framing import Transport

# Shown above the live view as they happen; the rest only move the view.
NOTED = (
    "listening",
    "port-found",
    "port-error",
    "refused",
    "bad-signature",
    "bad-media",
    "store-error",
    "turned-away",
    "declined",
    "internal-error",
    "upkeep-failed",
)
TICK_S = 0.25  # the live view is redrawn this often (and at once when a session ends)
# After Ctrl-C, how long the sessions get to end at their next read and keep what they
# verified; a second Ctrl-C does not wait.
STOP_JOIN_S = 10.0
UPKEEP_EVERY_S = 24 * 3600.0  # the store's upkeep: at the start, then once a day


class Daemon:
    def __init__(
        self,
        evidence: EvidenceStore,
        signer: Ed25519Signer,
        kid: str,
        as_json: bool = False,
        out=sys.stdout,
        idle_s: float = 10,
        clock=time.time,
        view: SessionView | None = None,
        limits: Limits | None = None,
        monotonic=time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        # What bad peers cannot wear down (host.guard): deadlines on the link's own clock,
        # a cap on connections not yet authenticated, repeated refusals logged in summary.
        self.limits = limits or Limits()
        self.monotonic = monotonic
        self.admission = Admission(
            self.limits.max_unauthenticated, self.limits.max_unauthenticated_per_address
        )
        self.tally = Tally(self.log, self.limits.log_every_s, monotonic)
        self.anonymous = 0  # links closed before their peer named a device
        self.port_errors: list = []  # (port, why) of serial ports that could not be opened
        self.clock = clock  # seconds since the epoch: the time the host signs and records
        self.evidence = evidence
        self.signer = signer
        self.kid = kid
        self.as_json = as_json
        self.out = out
        self.view = view
        # With a live view on the same terminal, log lines would tear it: they go above it
        # as notes (the important ones) instead.
        self.quiet = view is not None and bool(getattr(out, "isatty", lambda: False)())
        self.lock = threading.Lock()
        self.sessions: list = []
        self.active: dict = {}  # session number -> its HostLink, while it runs
        # TCP links not yet in the live view (session number -> where): a link joins the
        # view once its peer names a device, so a storm of anonymous ones never shows.
        self.unshown: dict = {}
        self.serial = 0
        self.stop = threading.Event()
        self.wake = threading.Event()  # a session ended: redraw the view now, not next tick
        self.interrupted = False  # stopped by Ctrl-C (exit 130)
        self.totals: dict = {}  # the summary, once the daemon has stopped
        self.threads: list = []
        self.started = time.monotonic()

    def log(self, event: str, **fields: object) -> None:
        fields = dict(fields, event=event, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        extra = " ".join(
            "%s=%s" % (k, "-" if v is None else v)  # None is "not known": a person reads "-"
            for k, v in fields.items()
            if k not in ("event", "time")
        )
        if self.view is not None and event in NOTED:
            self.view.note("%s %s" % (event, extra))
        if self.quiet:
            return
        with self.lock:
            if self.as_json:
                print(json.dumps(fields, default=str), file=self.out, flush=True)
            else:
                print("%s %-14s %s" % (fields["time"], event, extra), file=self.out, flush=True)

    def serve_link(
        self, transport: "Transport", serial: bool, where: str, ticket: Ticket | None = None
    ) -> dict:
        try:
            return self._serve_link(transport, serial, where, ticket)
        finally:
            if ticket is not None:
                ticket.release()  # a link that never authenticated frees its place here

    def _serve_link(
        self, transport: "Transport", serial: bool, where: str, ticket: Ticket | None
    ) -> dict:
        held = HeldLog(lambda ev, **kv: self.log(ev, link=where, **kv), lambda: False)
        link = HostLink(
            self.evidence,
            self.signer,
            self.kid,
            transport,
            serial,
            log=held,
            idle_s=self.idle_s,
            clock=self.clock,
            guard=LinkGuard(serial, self.limits, self.monotonic, ticket),
        )
        # On TCP anyone may connect, as often as they like: a peer that never names a device
        # leaves no line of its own. A serial port is a cable someone plugged in: every
        # session on it is logged and kept, as before.
        held.named = lambda: serial or bool(link.session.device_id)
        with self.lock:
            self.serial += 1
            key = self.serial
            self.active[key] = link
        if self.view is not None:
            if serial:
                self.view.begin(key, where)
            else:
                with self.lock:
                    self.unshown[key] = where
        start = time.monotonic()
        try:
            summary = link.run()
        finally:
            with self.lock:
                self.active.pop(key, None)
        seconds = time.monotonic() - start
        summary.update(
            link=where,
            seconds=round(seconds, 3),
            rate_Bps=int(summary["bytes_in"] / seconds) if seconds > 0 else 0,
        )
        if self.view is not None:
            with self.lock:  # as refresh: the row is begun once, then ended
                unshown = self.unshown.pop(key, None) is not None
                if unshown and held.named():
                    self.view.begin(key, where)  # it ended before a redraw showed it
                if not unshown or held.named():
                    self.view.end(key, summary)
            self.wake.set()
        if not held.named():
            # No device to record a session for: counted, and one line for a burst of them.
            self.tally.note("anonymous", link=where, result=summary["result"])
            with self.lock:
                self.anonymous += 1
            return summary
        try:
            self.evidence.record_session(summary, int(self.clock() * 1000))
            # The session's one signed checkpoint, here where it ends: it covers what the
            # session stored, the head its receipt named, and the session's own record.
            self.evidence.checkpoint(self.signer, self.kid)
        except Exception as exc:
            if not disk_full(exc):
                raise
            self.log(
                "store-error",
                device=summary["device"],
                reason="the session could not be recorded: the evidence store has no room",
            )
        self.log("session", **summary)
        with self.lock:
            self.sessions.append(summary)
        return summary

    # --- the store's upkeep ---

    def upkeep(self, run: "Callable[[], dict | None]", every_s: float = UPKEEP_EVERY_S) -> None:
        """Run ``run`` (the store's periodic upkeep: the scale-out store's object locks,
        ``host.medialocks.daemon_upkeep``) now and every ``every_s`` while the daemon
        serves, in a thread of its own, never in a session's: it works on its own database
        connection and S3 client and holds no lock a session takes, so a dock never waits
        for it (it shares only the CPU). Logged as ``lock-keep-up`` with its counts (none
        when another host's daemon ran it), ``upkeep-failed`` with why; a failure never
        stops the daemon, and the next run tries again. Not one of ``threads``: serving
        ends when the links do, whatever the upkeep is doing."""

        def loop() -> None:
            while not self.stop.is_set():
                try:
                    done = run()
                except Exception as exc:  # the store down, the object store refusing: later
                    why = str(exc).strip().splitlines()
                    self.log("upkeep-failed", reason=why[0] if why else type(exc).__name__)
                else:
                    if done is not None:
                        self.log("lock-keep-up", **done)
                self.stop.wait(every_s)

        threading.Thread(target=loop, daemon=True, name="upkeep").start()

    # --- TCP ---

    def listen(self, host: str, port: int, once: bool = False) -> socket.socket:
        srv = socket.create_server((host, port))
        self.log("listening", tcp="%s:%d" % srv.getsockname()[:2])

        def accept() -> None:
            srv.settimeout(0.5)
            while not self.stop.is_set():
                try:
                    conn, addr = srv.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                ticket = self.admission.enter(addr[0])
                if ticket is None:
                    # Every place for an unauthenticated peer (from there) is taken: no
                    # thread, no wait.
                    conn.close()
                    self.tally.note(
                        "turned-away",
                        address=addr[0],
                        reason="too many connections wait for authentication (at most %d, "
                        "%d from one address)"
                        % (
                            self.limits.max_unauthenticated,
                            self.limits.max_unauthenticated_per_address,
                        ),
                    )
                    continue
                conn.settimeout(None)
                t = threading.Thread(
                    target=self._tcp_session, args=(conn, addr, ticket), daemon=True
                )
                t.start()
                with self.lock:
                    # Keep only live threads: a daemon that turns peers over for months
                    # must not keep one record per connection it ever had.
                    self.threads[:] = [x for x in self.threads if x.is_alive()]
                    self.threads.append(t)
                if once:
                    t.join()
                    self.stop.set()
                    self.wake.set()

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        self.threads.append(t)
        return srv

    def _tcp_session(self, conn: socket.socket, addr: tuple, ticket: Ticket | None = None) -> None:
        try:
            self.serve_link(SocketTransport(conn), False, "tcp:%s:%d" % addr[:2], ticket)
        finally:
            conn.close()

    # --- serial ---

    def serial_port(self, name: str, baudrate: int, once: bool = False) -> None:
        """Serve one serial port: a session whenever a device answers on it."""
        import serial

        def run() -> None:
            while not self.stop.is_set():
                try:
                    port = serial.Serial(name, baudrate=baudrate, timeout=0.2)
                except (serial.SerialException, OSError) as exc:
                    self.log("port-error", port=name, reason=str(exc))
                    with self.lock:
                        self.port_errors.append((name, str(exc)))
                    return
                try:
                    summary = self.serve_link(SerialTransport(port), True, "serial:" + name)
                finally:
                    port.close()
                if once or summary["result"] == "done":
                    if once:
                        return
                self.stop.wait(1.0)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)

    def scan_serial(self, pattern: str, baudrate: int, every_s: float = 2.0) -> None:
        """Watch pyserial's port listing and serve every new port whose name matches."""
        from serial.tools import list_ports

        seen: set = set()

        def run() -> None:
            while not self.stop.is_set():
                for p in list_ports.comports():
                    if pattern in p.device and p.device not in seen:
                        seen.add(p.device)
                        self.log("port-found", port=p.device, description=p.description)
                        self.serial_port(p.device, baudrate)
                self.stop.wait(every_s)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)

    def wait(self) -> None:
        """Serve until told to stop (Ctrl-C) or every link is done; then log the summary."""
        try:
            while not self.stop.is_set():
                # The stop event ends the wait too: ``stop`` sets ``wake`` with it.
                self.wake.wait(TICK_S if self.view is not None else 0.5)
                self.wake.clear()
                self.refresh()
                if self.threads and all(not t.is_alive() for t in self.threads):
                    break
        except KeyboardInterrupt:
            self.interrupted = True
            self.halt()
        finally:
            self.finish()

    def halt(self) -> None:
        """Stop serving: every running session ends at its next read, keeping what it
        verified, and is recorded as cut short; wait a bounded time for them."""
        self.stop.set()
        self.wake.set()
        with self.lock:
            running = list(self.active.values())
        for link in running:
            link.stop()
        deadline = time.monotonic() + STOP_JOIN_S
        for t in list(self.threads):
            t.join(max(deadline - time.monotonic(), 0.0))

    def refresh(self) -> None:
        """Redraw the live view from every running session."""
        if self.view is None:
            return
        with self.lock:
            running = list(self.active.items())
            unshown = dict(self.unshown)
        for key, link in running:
            if key in unshown:
                if not link.session.device_id:
                    continue
                with self.lock:
                    if self.unshown.pop(key, None) is None:
                        continue  # the session has ended meanwhile, and was shown then
                    self.view.begin(key, unshown[key])
            self.view.update(key, link.progress())
        self.view.draw()

    def finish(self) -> None:
        self.tally.flush()
        with self.lock:
            sessions = list(self.sessions)
        done = [s for s in sessions if s["result"] == "done"]
        with self.lock:
            cut = [link.progress() for link in self.active.values()]  # did not end in time
        left = [s.get("bytes_left") for s in sessions if s["result"] == STOPPED]
        left += [p["total"] - p["done"] if p["total"] is not None else None for p in cut]
        self.totals = dict(
            sessions=len(sessions),
            done=len(done),
            failed=len(sessions) - len(done),
            entries_stored=sum(s["entries_stored"] for s in sessions),
            media_stored=sum(s["media_stored"] for s in sessions),
            bytes_stored=sum(s.get("bytes_stored", 0) for s in sessions),
            anonymous=self.anonymous,
            seconds=round(time.monotonic() - self.started, 3),
            interrupted=self.interrupted,
            still_running=len(cut),
            # What the sessions that did not finish had yet to pull (known ones only).
            bytes_left=sum(n for n in left if n is not None),
            left_unknown=sum(1 for n in left if n is None),
        )
        self.log("summary", **self.totals)
        if self.view is not None:
            self.view.close()
