"""The host end of a sync: collect one device's new entries and media over one link.

``HostLink`` drives a ``protocol.session.HostSession`` over a byte transport (a serial port
or a TCP socket): it reads the device's status and clock, sets its time, pulls the entries
after the evidence store's durable head, verifies each one (signature with the enrolled key;
an unsigned entry only once a signed one covers it through the chain), stores them, pulls
and checks the media they name, and only then sends a signed receipt, so the device never
evicts what a crash could still lose.
"""

import os
import time

from host.evidence import EvidenceError, EvidenceStore
from protocol import framing
from protocol.ledger import Entry, parse_entry
from protocol.messages import ERR_INTERNAL, RECEIPT, TIME
from protocol.registry import F_CIPHER_SHA, F_PLAIN_SHA, KIND_CHUNK
from protocol.session import HostSession
from protocol.signer import Ed25519Signer, verify_signature

ERR_BAD_SIGNATURE = 8
# No in-session retransmission: a frame lost to line noise stalls the session, so a quiet
# link is given up after this long and the next session resumes from the durable head.
IDLE_LIMIT_S = 10


class Transport:
    """Bytes in and out: ``read`` returns b"" when nothing came (serial) or at EOF (TCP)."""

    def read(self) -> bytes:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def at_eof(self) -> bool:
        return False


class SocketTransport(Transport):
    def __init__(self, sock: object, poll_s: float = 0.5) -> None:
        self.sock = sock
        # Reads wake up now and then, so a peer that went silent is noticed (idle limit).
        sock.settimeout(poll_s)  # type: ignore[attr-defined]
        self.eof = False

    def read(self) -> bytes:
        try:
            data = self.sock.recv(65536)  # type: ignore[attr-defined]
        except TimeoutError:
            return b""
        if not data:
            self.eof = True
        return bytes(data)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)  # type: ignore[attr-defined]

    def at_eof(self) -> bool:
        return self.eof


class SerialTransport(Transport):
    """A pyserial port (a USB cable, or a pseudo-terminal in tests)."""

    def __init__(self, port: object) -> None:
        self.port = port

    def read(self) -> bytes:
        waiting = max(1, self.port.in_waiting)  # type: ignore[attr-defined]
        return bytes(self.port.read(waiting))  # type: ignore[attr-defined]

    def write(self, data: bytes) -> None:
        self.port.write(data)  # type: ignore[attr-defined]
        self.port.flush()  # type: ignore[attr-defined]


class Framer:
    """Frames bodies for one link: COBS on serial, length prefixes on a stream."""

    def __init__(self, serial: bool, max_body: int = framing.DEFAULT_MAX_BODY + 1024) -> None:
        self.serial = serial
        self.max_body = max_body
        self.decoder = (
            framing.SerialDecoder(max_body) if serial else framing.StreamDecoder(max_body)
        )

    def encode(self, body: bytes) -> bytes:
        if self.serial:
            return framing.encode_serial(body, self.max_body)
        return framing.encode_stream(body, self.max_body)


class HostLink:
    """One sync session with one device."""

    def __init__(
        self,
        evidence: EvidenceStore,
        host_signer: Ed25519Signer,
        host_kid: str,
        transport: Transport,
        serial: bool,
        clock=time.time,
        log=None,
        random_bytes=os.urandom,
        idle_s: float = IDLE_LIMIT_S,
    ) -> None:
        self.idle_s = idle_s
        self.evidence = evidence
        self.transport = transport
        self.framer = Framer(serial)
        self.clock = clock
        self.log = log or (lambda event, **kv: None)
        self.session = HostSession(evidence.device_key, host_signer, host_kid, random_bytes)
        self.device = ""
        self.public = b""
        self.pending: list = []  # unsigned entries waiting for a signature that covers them
        self.media_wanted: list = []
        self.media_parts: list = []
        self.staged: list = []  # media written but not yet durable (see make_durable)
        self.stored = 0
        self.media_stored = 0
        self.bytes_in = 0
        self.drift_ms: int | None = None
        self.result = "open"
        self.device_head = 0  # the device's ledger head, from its HELLO
        self.started = clock()
        self.progress_at = -1.0

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def send(self, body: bytes) -> None:
        self.transport.write(self.framer.encode(body))

    def run(self) -> dict:
        """Run the session until it closes or the link goes away; return what happened."""
        self.send(self.session.start())
        idle_since = self.clock()
        while self.result == "open":
            data = self.transport.read()
            if not data:
                if self.transport.at_eof():
                    self.result = "link lost"
                    break
                if self.clock() - idle_since > self.idle_s:
                    self.send(self.session.abort(ERR_INTERNAL, "no answer for %g s" % self.idle_s))
                    self.result = "timed out"
                continue
            idle_since = self.clock()
            self.bytes_in += len(data)
            for kind, value in self.framer.decoder.feed(data):
                if kind != framing.BODY:
                    self.log("frame-error", device=self.device, problem=value)
                    continue
                self.handle(self.session.receive(value))
                if self.result != "open":
                    break
        return self.summary()

    def summary(self) -> dict:
        return {
            "device": self.device,
            "result": self.result,
            "entries_stored": self.stored,
            "media_stored": self.media_stored,
            "bytes_in": self.bytes_in,
            "clock_drift_ms": self.drift_ms,
        }

    # --- the plan: status, time, entries, media, receipt, bye ---

    def handle(self, events: list) -> None:
        for event in events:
            kind = event[0]
            if self.result != "open" and kind != "closed":
                continue  # this side ended the session; the rest of the batch is moot
            if kind == "send":
                self.send(event[1])
            elif kind == "authenticated":
                self.device = event[1]
                self.device_head = event[2]
                self.public = self.evidence.device_key(self.device) or b""
                self.log("authenticated", device=self.device, head_seq=event[2])
                self.send(self.session.status())
            elif kind == "status":
                self.drift_ms = event[1]["clock"] - self.now_ms()
                self.log("clock", device=self.device, drift_ms=self.drift_ms)
                self.send(self.session.set_time(self.now_ms()))
            elif kind == "ok" and event[1] == TIME:
                self.send(self.session.pull(self.evidence.head(self.device)[0]))
            elif kind == "entries":
                self._entries(event[2])
                self._progress()
            elif kind == "pulled":
                self._next_media()
            elif kind == "media":
                self.media_parts.append(event[3])
                self._progress()
            elif kind == "media-done":
                self._media_done(event[1])
            elif kind == "ok" and event[1] == RECEIPT:
                self.send(self.session.bye())
                self.result = "done"
            elif kind == "closed":
                if self.result == "open":
                    self.result = "closed: %s" % event[2]
                self.log("closed", device=self.device, code=event[1], reason=event[2])

    def _progress(self, every_s: float = 2.0) -> None:
        """A progress log line at most every ``every_s``: entries, bytes, rate, time left."""
        now = self.clock()
        if now - self.progress_at < every_s:
            return
        self.progress_at = now
        elapsed = max(now - self.started, 1e-6)
        have, head = self.evidence.head(self.device)[0], max(self.device_head, 1)
        rate = self.bytes_in / elapsed
        left = (head - have) * (self.bytes_in / max(have, 1)) / rate if rate else 0
        self.log(
            "progress",
            device=self.device,
            entries="%d/%d" % (have, head),
            media_left=len(self.media_wanted),
            bytes=self.bytes_in,
            rate_Bps=int(rate),
            eta_s=round(left, 1),
        )

    def _entries(self, raws: list) -> None:
        """Verify one DATA message's entries; store every vouched-for one in one commit."""
        ready: list = []
        refused = ""
        for raw in raws:
            e = parse_entry(raw)
            if not e.signed:
                self.pending.append(e)
                continue
            if not verify_signature(self.public, e.to_be_signed(), e.signature):
                self.log("bad-signature", device=self.device, seq=e.seq)
                refused = (
                    "entry seq %d does not verify with the enrolled key: nothing from it on "
                    "was stored" % e.seq
                )
                break
            # A valid signature vouches for the unsigned entries before it (add_entries
            # checks that they chain into it).
            ready += [*self.pending, e]
            self.pending = []
        if ready:
            try:
                self.evidence.add_entries(self.device, [e.raw for e in ready], self.now_ms())
            except EvidenceError as exc:
                self.log("refused", device=self.device, reason=str(exc))
                ready, refused = [], str(exc)
        self.stored += len(ready)
        for e in ready:
            self._want_media(e)
        if refused:
            self.send(self.session.abort(ERR_BAD_SIGNATURE, refused))
            self.result = "refused: %s" % refused

    def _want_media(self, e: Entry) -> None:
        if e.kind != KIND_CHUNK:
            return
        f = e.fields
        digest = f[F_CIPHER_SHA] if F_CIPHER_SHA in f else f[F_PLAIN_SHA]
        if not self.evidence.has_media(digest):
            self.media_wanted.append(digest)

    def _next_media(self) -> None:
        if self.media_wanted:
            self.media_parts = []
            self.send(self.session.pull_media(self.media_wanted[0]))
            return
        head = self.evidence.head(self.device)[0]
        if head > 0:
            self.evidence.make_durable(self.staged)  # all media durable before the receipt
            self.staged = []
            self.send(self.session.durable(head - 1))
        else:
            self.send(self.session.bye())
            self.result = "done"

    def _media_done(self, digest: bytes) -> None:
        data = b"".join(self.media_parts)
        self.media_parts = []
        try:
            self.staged.append(self.evidence.put_media(digest, data, defer=True))
        except EvidenceError as exc:
            self.log("bad-media", device=self.device, reason=str(exc))
            self.send(self.session.abort(ERR_BAD_SIGNATURE, str(exc)))
            self.result = "refused: %s" % exc
            return
        self.media_stored += 1
        self.media_wanted.pop(0)
        self._next_media()
