"""The device end of a sync: answer the host over the docking link.

``DeviceLink`` drives a ``protocol.device_session.DeviceSession`` for the agent: the session serves
the store's entries and media; what the host signs comes back into the agent's ledger. A
receipt (checked against the ledger's own entry hash) is logged as ``EV_HOST_RECEIPT`` with
the host checkpoint that holds it (retention may then evict that media once it is old
enough), the host's time as a signed clock change, and a config through
``Agent.apply_config``. The host hears OK for a TIME or CONFIG only once the recorder took
it; when the recorder's rules refuse it, the host hears REFUSED with their reason, and the
session goes on. The transport is anything with ``read() -> bytes`` (b"" when nothing
has arrived; ``at_eof()`` says whether the link is gone) and ``write(bytes)``: a
``protocol.framing.Transport``.
"""

from firmware.agent import Agent
from firmware.errors import ConfigError, RecorderError
from protocol import framing
from protocol.device_session import DeviceSession
from protocol.hostconfig import ConfigRejected
from protocol.messages import DEFAULT_MAX_FRAME, ERR_INTERNAL, LocalProtocolError
from protocol.registry import EV_HOST_RECEIPT, F_DETAIL
from protocol.session import E_AUTHENTICATED, E_CLOSED, E_CONFIG, E_RECEIPT, E_SEND, E_TIME

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

    from protocol.framing import Transport
    from protocol.signer import Signer


class DeviceLink:
    """One sync session, run to its end."""

    def __init__(
        self,
        agent: Agent,
        signer: "Signer",
        pinned_host_keys: dict,
        transport: "Transport",
        serial: bool,
        random_bytes: "Callable[[int], bytes]",
        set_clock: "Callable[[int], None] | None" = None,
        idle_ms: int = 15000,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        # A session whose host falls silent this long is closed: a frame lost on the line
        # stalls both ends, and the next dock resumes where the host's durable copy ends.
        self.idle_ms = idle_ms
        self.agent = agent
        self.transport = transport
        self.serial = serial
        # The largest message this device offers to take and send: 16 KiB suits a
        # microcontroller's RAM and a noisy serial line; a terminal on a fast link offers up
        # to MAX_FRAME, which the session settles with the host's offer in HELLO.
        self.max_body = max_frame + 1024
        self.framer = framing.Framer(serial, self.max_body)
        # set_clock(wall_ms) sets the RTC, where the port can, once the ledger took the time.
        self.set_clock = set_clock
        self.session = DeviceSession(
            agent.recorder.device_id,
            signer,
            pinned_host_keys,
            agent.store,
            random_bytes,
            status=self._status,
            config_issued_ms=agent.config_issued_ms,
            max_frame=max_frame,
        )
        self.receipts: list = []
        self.error: Exception | None = None  # what failed on this side, if the session did
        self.closed = ""
        # How it ended, for the caller to judge: the host key that proved itself ("" while
        # none has), and the closing code and side ("us" or "peer") when the protocol closed.
        self.host_kid = ""
        self.close_code = -1
        self.closed_by = ""

    def _status(self) -> tuple:
        wall, _ = self.agent.now()
        free = self.agent.store.free_bytes()
        return 100, max(free, 0), wall

    def _send(self, body: bytes) -> None:
        data = self.framer.encode(body)
        if self.closed.startswith("link lost"):
            return  # the link is gone: nothing more reaches the host
        try:
            self.transport.write(data)
        except OSError as exc:
            self.closed = "link lost: %s" % _why(exc)

    def run(self) -> str:
        """Serve the host until the session closes or the link goes; return why it ended."""
        quiet_since = self.agent.clock.mono_ms()
        while not self.closed:
            try:
                data = self.transport.read()
            except OSError as exc:  # reset by the host, a cable pulled: one line, no traceback
                self.closed = "link lost: %s" % _why(exc)
                break
            if not data:
                if self.transport.at_eof():
                    self.closed = "link lost"
                elif self.agent.clock.mono_ms() - quiet_since > self.idle_ms:
                    self.time_out()
                continue
            quiet_since = self.agent.clock.mono_ms()
            self.feed(data)
        return self.closed

    def time_out(self) -> None:
        """End the session because the host fell silent (the caller keeps the time)."""
        try:
            self._send(self.session.abort(ERR_INTERNAL, "the host fell silent"))
        except LocalProtocolError:
            pass  # the session had already ended
        self.closed = "timed out"

    def feed(self, data: bytes) -> str:
        """Take bytes the host sent and answer them through the transport; return why the
        session ended, or "" while it is open. ``run`` calls this as bytes arrive; a board
        whose console carries the link (the test bench) calls it for each relayed piece."""
        for kind, value in self.framer.decoder.feed(data):
            if kind == framing.BODY:
                try:
                    events = self.session.receive(value)
                except Exception as exc:  # this side failed (a store error, a bug): not the host's
                    events = self._internal(exc)
                self.handle(events)
            if self.closed:
                break
        return self.closed

    def _internal(self, exc: Exception) -> list:
        """The session failed on this side (a store error, a bug in it): the host is told
        ERR_INTERNAL and why, the session ends, and ``error`` keeps the exception for the
        port to report. The peer did nothing wrong."""
        self.error = exc
        text = "%s: %s" % (type(exc).__name__, exc)
        body = self.session.abort(ERR_INTERNAL, text)
        reason = self.session.closed_reason or (ERR_INTERNAL, text, "us")
        return [(E_SEND, body), (E_CLOSED, reason[0], reason[1], reason[2])]

    def _take_time(self, wall_ms: int, host_kid: str) -> bytes:
        """Log the host's time as a clock change and set the RTC: the OK body; or, when the
        recorder refuses (never mid-recording: the next dock sets it), the REFUSED body."""
        wall, mono = self.agent.now()
        try:
            self.agent.run(
                self.agent.recorder.host_config({"clock_ms": wall_ms}, host_kid, wall, mono)
            )
        except RecorderError as exc:
            # The recorder's table refuses a clock change while it records (the footage's
            # times must not jump): said for the operator, with the rule's own words after.
            why = "the clock is set at a dock outside a recording, not now (%s)"
            return self.session.refuse(why % _one_line(exc))
        if self.set_clock is not None:
            self.set_clock(wall_ms)  # only the clock the ledger took
        return self.session.accept()

    def _take_config(self, raw: bytes) -> bytes:
        """Apply a host-signed config: the OK body; or, when the device's rules refuse it
        (a lower retention floor, while recording, ...), the REFUSED body with why."""
        try:
            self.agent.apply_config(raw)
        except (ConfigError, ConfigRejected, RecorderError) as exc:
            return self.session.refuse(_one_line(exc))  # the ledger shows no config applied
        return self.session.accept()

    def handle(self, events: list) -> None:
        for event in events:
            kind = event[0]
            if kind == E_SEND:
                self._send(event[1])
            elif kind == E_AUTHENTICATED:
                self.host_kid = event[1]
            elif kind == E_RECEIPT:
                self.receipts.append(event[1])
                wall, mono = self.agent.now()
                # What the host signed it holds: the entry hash at through_seq (the session
                # checked it is this ledger's) and the checkpoint of the host's own log that
                # holds it, so the receipt names bytes a witness of that log can check.
                detail = {
                    F_DETAIL: {
                        "through_seq": event[1],
                        "by": event[2],
                        "head_hash": event[3],
                        "log_size": event[4],
                        "log_root": event[5],
                        "log_origin": event[6],
                    }
                }
                # Stored, the receipt marks the chunks it covers received (Memory.fold).
                self.agent.run(
                    self.agent.recorder.log_event(EV_HOST_RECEIPT, detail, wall, mono, True)
                )
            elif kind == E_TIME:
                self._send(self._take_time(event[1], event[2]))
            elif kind == E_CONFIG:
                self._send(self._take_config(event[1]))
            elif kind == E_CLOSED:
                self.close_code = event[1]
                self.closed_by = event[3]
                self.closed = "closed by %s: %s" % (event[3], event[2]) if event[1] else "done"


def _one_line(exc: Exception) -> str:
    """A refusal's reason for the host: its first line, never empty."""
    text = str(exc).split("\n")[0]
    return text or type(exc).__name__


def _why(exc: OSError) -> str:
    """What an OSError says, on CPython (its text) and MicroPython (its errno)."""
    text = getattr(exc, "strerror", None)
    if text:
        return str(text)
    return str(exc.args[-1]) if exc.args else "I/O error"
