"""The host end of a sync: collect one device's new entries and media over one link.

``HostLink`` drives a ``protocol.host_session.HostSession`` over a byte transport (a serial port
or a TCP socket): it reads the device's status and clock, sets its time, pulls the entries
after the evidence store's durable head, verifies each one with ``protocol.verify``'s
incremental verifier (signature with the enrolled key, the chain from the stored head; an
unsigned entry only once a signed one covers it through the chain) and stores exactly the
entries it vouches for, then
pulls every media the store lacks for the device's stored chunks, several pulls in flight,
hashing each piece as it arrives and writing it straight to an unnamed file. Only when all
of it is durable (synced, named) does it send the signed receipt, so the device never evicts
what a crash could still lose.

Media the device answers GONE for (it holds no such file, or one that no longer matches its
hash) is recorded in the evidence store for good, and the receipt stops waiting for it: one
lost or damaged file must not keep a recorder from its receipts, and so from freeing space,
for ever. The file stays noted as missing, so every later dock asks for it again.

What goes back to the device is gathered while one read's frames are handled and written at
once. Of several ACKs in a row only the last is sent (an ACK is cumulative), one for every
half window of DATA: the device never runs out of window, and it and the host wake up once
for several DATA, not for each. Every request, and the end of each pull, goes out at once.
"""

import os
import time
from typing import TYPE_CHECKING

from host.evidence import (
    DISK_FULL,
    EvidenceError,
    EvidenceStore,
    MediaWriter,
    chunk_media,
    disk_full,
)
from host.guard import LinkGuard, Tally
from protocol import framing
from protocol.bounds import MAX_UNSIGNED_BYTES, MAX_UNSIGNED_RUN, entry_problem
from protocol.errors import ProtocolError
from protocol.host_session import HostSession
from protocol.ledger import parse_entry
from protocol.messages import (
    ERR_BAD_SIGNATURE,
    ERR_INTERNAL,
    ERR_MALFORMED,
    ERROR_NAMES,
    GONE_NAMES,
    MAX_FRAME,
    RECEIPT,
    TIME,
    TYPE_NAMES,
)
from protocol.session import (
    E_ACK,
    E_AUTHENTICATED,
    E_CLOSED,
    E_ENTRIES,
    E_GONE,
    E_MEDIA,
    E_MEDIA_DONE,
    E_OK,
    E_PULLED,
    E_REFUSED,
    E_SEND,
    E_STATUS,
)
from protocol.signer import Ed25519Signer
from protocol.verify import UNSIGNED_RUN, LedgerVerifier

if TYPE_CHECKING:
    from protocol.framing import Transport

# No in-session retransmission: a frame lost to line noise stalls the session, so a quiet
# link is given up after this long and the next session resumes from the durable head.
IDLE_LIMIT_S = 10
COMMIT_EVERY = 2048  # verified entries held before they are committed mid-pull

# What a session is doing, as logs and the live view name it.
HANDSHAKE = "handshake"  # proving keys, reading status, setting the clock
PULLING = "pulling"  # entries, then media
STORING = "storing"  # making the session's media durable before the receipt
RECEIPT_SENT = "receipt"  # the signed receipt is out; waiting for the device's OK
DONE = "done"
FAILED = "failed"


# A session's result when the host was stopped under it (Ctrl-C of sealcam sync).
STOPPED = "interrupted: the host was stopped; what was verified is kept, dock again for the rest"


class HostLink:
    """One sync session with one device."""

    def __init__(
        self,
        evidence: EvidenceStore,
        host_signer: Ed25519Signer,
        host_kid: str,
        transport: "Transport",
        serial: bool,
        clock=time.time,
        log=None,
        random_bytes=os.urandom,
        idle_s: float = IDLE_LIMIT_S,
        guard: LinkGuard | None = None,
    ) -> None:
        self.idle_s = idle_s
        # Deadlines bytes cannot extend and the bad-frame limit (issue 10 §4); repeated
        # frame errors are logged as one line with a count.
        self.guard = guard or LinkGuard(serial)
        self.evidence = evidence
        self.host_kid = host_kid
        self.transport = transport
        # The host offers the largest frame the protocol allows; the device's offer (16 KiB
        # by default, for a microcontroller's RAM) decides what is used. Fewer, larger DATA
        # cost both ends less per byte on a fast link.
        self.framer = framing.Framer(serial, MAX_FRAME + 1024)
        self.clock = clock
        self.log = log or (lambda event, **kv: None)
        self.tally = Tally(self.log, self.guard.limits.log_every_s, self.guard.clock)
        self.session = HostSession(
            evidence.device_key, host_signer, host_kid, random_bytes, max_frame=MAX_FRAME
        )
        self.device = ""
        self.public = b""
        self.state = HANDSHAKE
        # Checks each entry of the pull, from the stored head on; set when the pull starts.
        self.verifier: LedgerVerifier | None = None
        # Entries checked but not yet vouched for (an unsigned run waiting for the signature
        # that covers it; the verifier bounds it): dropped if the session ends first.
        self.pending: list = []
        self.pulled_bytes = 0  # ledger bytes of this pull fed to the verifier
        # Why the ledger cannot be taken past an entry the device sent (a field out of
        # bounds, too long an unsigned run): the entries before it are stored and receipted,
        # then the session ends refused with this reason, never as done.
        self.refusal = ""
        self.ready: list = []  # verified entries not yet committed
        self.wanted: list = []  # (digest, size) of media not yet asked for, oldest first
        self.sizes: dict = {}  # digest -> size of the media asked for in this session
        self.gone: set = set()  # digests the device answered GONE for in this session
        self.writer: MediaWriter | None = None  # the media arriving now (answered in order)
        self.staged: list = []  # media written but not yet durable (see make_durable)
        self.outbox: list = []  # bodies to send with the next flush
        self.write_failed = ""  # why the link took no more writes, once it did not
        self.ack_last = False  # the outbox ends with an ACK a later one may replace
        self.acks_held = 0  # DATA acknowledged in the outbox, not yet sent
        self.urgent = False  # the outbox holds more than ACKs: send it after this read
        self.stored = 0
        self.media_stored = 0
        self.media_gone = 0
        self.entry_bytes = 0  # ledger bytes received
        self.media_bytes = 0  # media bytes received
        self.total_bytes: int | None = None  # payload expected, once the ledger is pulled
        self.media_total = 0  # media expected (count)
        self.bytes_in = 0
        self.drift_ms: int | None = None
        self.clock_set: bool | None = None  # whether the device took the host's time
        self.result = "open"
        # Set from another thread when the host stops (Ctrl-C): the session ends at its next
        # read, keeping what it verified, as a link lost would (``stop``).
        self.stopping = False
        self.device_head = 0  # the device's ledger head, from its HELLO
        self.started = clock()
        self.progress_at = -1.0

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def send(self, body: bytes) -> None:
        """Queue a body; ``flush`` writes the queue in one go."""
        self.outbox.append(body)
        self.ack_last = False
        self.urgent = True

    def _ack(self, body: bytes) -> None:
        if self.ack_last:
            self.outbox[-1] = body  # ACKs are cumulative: the later one says it all
        else:
            self.outbox.append(body)
        self.ack_last = True
        self.acks_held += 1

    def flush(self) -> None:
        if not self.outbox:
            return
        data = b"".join([self.framer.encode(body) for body in self.outbox])
        self.outbox = []
        self.ack_last = False
        self.acks_held = 0
        self.urgent = False
        if self.write_failed:
            return
        try:
            self.transport.write(data)
        except OSError as exc:
            # The device is gone; what it sent before it went is still read and stored.
            self.write_failed = "link lost: %s" % (exc.strerror or exc)

    def stop(self) -> None:
        """End the session at its next read (any thread): the host is stopping."""
        self.stopping = True

    def run(self) -> dict:
        """Run the session until it closes or the link goes away; return what happened."""
        self.log("state", device=self.device, state=self.state)
        self.send(self.session.start())
        self.flush()
        idle_since = self.clock()
        while self.result == "open":
            if self.stopping:
                self._end_link(STOPPED)
                break
            try:
                data = self.transport.read()
            except OSError as exc:
                self.result = "link lost: %s" % (exc.strerror or exc)
                break
            if not data:
                self.flush()  # a quiet link: whatever is held goes now
                if self.transport.at_eof():
                    self.result = self.write_failed or "link lost"
                    break
                if self.clock() - idle_since > self.idle_s:
                    self.send(self.session.abort(ERR_INTERNAL, "no answer for %g s" % self.idle_s))
                    self.result = "timed out"
                self._guard()
                continue
            idle_since = self.clock()
            self.bytes_in += len(data)
            # One ACK for every half window of DATA: the device, with a whole window in
            # flight, always has DATA to send, and wakes once for every few it sent.
            ack_every = max(1, self.session.window // 2)
            for kind, value in self.framer.decoder.feed(data):
                if kind != framing.BODY:
                    self._bad_frame(value)
                    if self.result != "open":
                        break
                    continue
                self.guard.good_frame()
                try:
                    events = self.session.receive(value)
                except Exception as exc:  # this side failed (a bug): not the device's doing
                    events = self._internal(exc)
                try:
                    self.handle(events)
                except Exception as exc:
                    if disk_full(exc):
                        self._disk_full(exc)
                    elif isinstance(exc, EvidenceError):
                        self._store_failed(exc)
                    else:
                        raise
                if self.result != "open":
                    break
                if self.acks_held >= ack_every:
                    self.flush()
            self.guard.frame(self.framer.decoder.frame_start)
            self._guard()
            if self.urgent:
                self.flush()
        self.flush()
        self.tally.flush()
        if self.writer is not None:  # cut off mid-media: not a whole file, nothing to keep
            self.writer.discard()
            self.writer = None
        try:
            if self.ready and self.result != "done":
                self._store_ready()  # verified before the session broke off: kept
            if self.staged:
                self._keep_staged()
        except Exception as exc:
            if not disk_full(exc):
                raise
            self._disk_full(exc)
        if self.staged:  # the disk is full: what is not named yet goes, incoming/ is left empty
            staged, self.staged = self.staged, []
            self.evidence.discard_staged(staged)
        self._enter(DONE if self.result == "done" else FAILED)
        return self.summary()

    def _end_link(self, result: str) -> None:
        """Close the link for a reason of the link's own (a deadline, bad frames)."""
        if self.session.closed_reason is None:
            self.send(self.session.abort(ERR_INTERNAL, result))
        if self.result == "open":
            self.result = result

    def _internal(self, exc: Exception) -> list:
        """The host's session failed on this side (a bug in it, say): logged with what
        failed, and the session ends with ERR_INTERNAL, as the device is told."""
        text = "%s: %s" % (type(exc).__name__, exc)
        self.log("internal-error", device=self.device or self.session.device_id, reason=text)
        body = self.session.abort(ERR_INTERNAL, text)
        reason = self.session.closed_reason or (ERR_INTERNAL, text, "us")
        return [(E_SEND, body), (E_CLOSED, reason[0], reason[1], reason[2])]

    def _guard(self) -> None:
        why = self.guard.expired() if self.result == "open" else ""
        if why:
            self._end_link("timed out: %s" % why)

    def _bad_frame(self, problem: str) -> None:
        """A frame failed its check: counted, logged in summary; too many, or a stream out
        of step (an impossible length), end the link."""
        self.tally.note("frame-error", device=self.device, problem=problem)
        why = self.guard.bad_frame()
        failed = getattr(self.framer.decoder, "failed", None)
        if failed is not None:
            why = failed[1]  # what the length was, and that the stream cannot go on
        if why:
            self._end_link("closed: %s" % why)

    def _keep_staged(self) -> None:
        """The session ended before its receipt: media that arrived whole and verified is
        still made durable, so the next session need not bring it again."""
        if self.result.startswith(DISK_FULL):
            return  # no room to name it: run() lets it go
        try:
            self.evidence.make_durable(self.staged)
        except (EvidenceError, OSError) as exc:
            if disk_full(exc):
                raise
            self.log("store-error", device=self.device, reason=str(exc))
        self.staged = []

    def _disk_full(self, exc: BaseException) -> None:
        """The evidence store has no room left: end the session without a receipt. What
        is not committed is dropped (SQLite rolled its transaction back; the media not yet
        named goes from incoming/), so nothing is half-stored; the device keeps everything
        and its next dock, once there is room, brings it again."""
        if self.result.startswith(DISK_FULL):
            return
        why = getattr(exc, "strerror", None) or str(exc)
        if self.session.closed_reason is None:
            self.send(self.session.abort(ERR_INTERNAL, "the host's evidence store is full"))
        self.result = (
            "%s: the evidence store has no room (%s); nothing of this session is half-stored "
            "and no receipt was sent: free space, then dock again" % (DISK_FULL, why)
        )
        self.ready = []
        self.pending = []
        if self.writer is not None:
            self.writer.discard()
            self.writer = None

    def _store_failed(self, exc: EvidenceError) -> None:
        """The evidence store failed under the session (a scale-out store's database or
        object store went away): one store-error line, the session ends failed and sends
        no receipt; what was committed stays, the device keeps everything, and its next
        dock goes on from what the store holds."""
        self.log("store-error", device=self.device, reason=str(exc))
        if self.session.closed_reason is None:
            self.send(self.session.abort(ERR_INTERNAL, str(exc)))
        if self.result == "open":
            self.result = "failed: %s" % exc
        self.ready = []
        self.pending = []
        if self.writer is not None:
            self.writer.discard()
            self.writer = None

    def summary(self) -> dict:
        return {
            "device": self.device or self.session.device_id,  # named in HELLO, if not proven
            "result": self.result,
            "entries_stored": self.stored,
            "media_stored": self.media_stored,
            "media_gone": self.media_gone,
            "bytes_stored": self.entry_bytes + self.media_bytes,
            "bytes_in": self.bytes_in,
            "clock_drift_ms": self.drift_ms,
            # False when the device refused the host's time (it was recording, say).
            "clock_set": self.clock_set,
            # The device's announced next seq, None until it proved its key.
            "device_head": self.device_head if self.device else None,
            # Payload bytes the device still had for this session when it ended short of
            # done; None while unknown (before the ledger was in) and for a done session.
            "bytes_left": self.bytes_left(),
        }

    def bytes_left(self) -> int | None:
        """What the session had yet to pull: known once the ledger is in."""
        if self.result == "done" or self.total_bytes is None:
            return None
        return max(self.total_bytes - (self.entry_bytes + self.media_bytes), 0)

    def progress(self) -> dict:
        """Where the session stands, for a progress display: bytes are payload (entries and
        media); ``total`` is None until the ledger is pulled and the media it needs known."""
        return {
            "device": self.device or self.session.device_id,
            "state": self.state,
            "result": self.result,
            "done": self.entry_bytes + self.media_bytes,
            "total": self.total_bytes,
            "entries": self.stored,
            "media": self.media_stored,
            "media_total": self.media_total,
        }

    def _enter(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        extra = {} if state != FAILED else {"reason": self.result}
        self.log("state", device=self.device or self.session.device_id, state=state, **extra)

    # --- the plan: status, time, entries, media, receipt, bye ---

    def handle(self, events: list) -> None:
        for event in events:
            kind = event[0]
            if self.result != "open" and kind != E_CLOSED:
                continue  # this side ended the session; the rest of the batch is moot
            if kind == E_ACK:
                self._ack(event[1])
            elif kind == E_SEND:
                self.send(event[1])
            elif kind == E_MEDIA:
                self._media(event[1], event[3])
            elif kind == E_MEDIA_DONE:
                self._media_done(event[1])
            elif kind == E_GONE:
                self._media_gone(event[1], event[2], event[3])
            elif kind == E_ENTRIES:
                self._entries(event[1], event[2])
                self._progress()
            elif kind == E_PULLED:
                self._plan_media()
            elif kind == E_AUTHENTICATED:
                self.guard.authenticate()
                self.device = event[1]
                self.device_head = event[2]
                self.public = self.evidence.device_key(self.device) or b""
                self.log("authenticated", device=self.device, head_seq=event[2])
                self.send(self.session.status())
            elif kind == E_STATUS:
                self.drift_ms = event[1]["clock"] - self.now_ms()
                self.log("clock", device=self.device, drift_ms=self.drift_ms)
                self.send(self.session.set_time(self.now_ms()))
            elif kind == E_OK and event[1] == TIME:
                self.clock_set = True
                self._pull()
            elif kind == E_REFUSED:
                # The device's rules refused it (its clock is not set while it records): kept
                # with the session, and the footage is collected all the same.
                if event[1] == TIME:
                    self.clock_set = False
                self.log(
                    "declined",
                    device=self.device,
                    of=TYPE_NAMES.get(event[1], str(event[1])),
                    code=ERROR_NAMES.get(event[2], str(event[2])),
                    reason=event[3],
                )
                if event[1] == TIME:
                    self._pull()
            elif kind == E_OK and event[1] == RECEIPT:
                self._close_done()
            elif kind == E_CLOSED:
                if self.result == "open":
                    self.result = "closed: %s" % event[2]
                self.log("closed", device=self.device, code=event[1], reason=event[2])

    def _pull(self) -> None:
        """The clock is settled (set, or refused by the device): pull the entries after the
        stored head, which the verifier starts from."""
        self._enter(PULLING)
        next_seq, last_hash = self.evidence.head(self.device)
        # The window holds the longest unsigned run a reader waits out, twice over: an entry
        # leaves it only once vouched for, or once the session is refused past it.
        self.verifier = LedgerVerifier(self.device, self.public, window=2 * MAX_UNSIGNED_RUN)
        self.verifier.resume(next_seq, last_hash)
        self.send(self.session.pull(next_seq))

    def _progress(self, every_s: float = 2.0) -> None:
        """A progress log line at most every ``every_s``: bytes, rate, time left."""
        now = self.clock()
        if now - self.progress_at < every_s:
            return
        self.progress_at = now
        elapsed = max(now - self.started, 1e-6)
        done = self.entry_bytes + self.media_bytes
        rate = done / elapsed
        total = self.total_bytes
        known = total is not None
        self.log(
            "progress",
            device=self.device,
            state=self.state,
            entries="%d/%d" % (self.stored, max(self.device_head, self.stored)),
            media="%d/%d" % (self.media_stored, self.media_total) if known else None,
            bytes=done,
            total=total,
            rate_Bps=int(rate),
            eta_s=round(max(total - done, 0) / rate, 1) if total is not None and rate else None,
        )

    def _refuse(self, reason: str, code: int = ERR_BAD_SIGNATURE) -> None:
        if self.session.closed_reason is None:
            self.send(self.session.abort(code, reason))
        if self.result == "open":
            self.result = "refused: %s" % reason

    def _close_done(self) -> None:
        """Everything asked for is in (and receipted): end with BYE, or, when the ledger
        held an entry the host refused, with an ERROR naming it (R-HOST-5)."""
        if self.refusal:
            self._refuse(self.refusal, ERR_MALFORMED)
            return
        self.send(self.session.bye())
        self.result = self._ended_short() or "done"

    def _refuse_from(self, seq: int, problem: str) -> None:
        """The ledger is unusable from ``seq`` on: keep and receipt what came before it."""
        self.refusal = (
            "entry seq %d: %s: nothing from it on was stored; the entries before it are "
            "receipted" % (seq, problem)
        )
        self.log("refused", device=self.device, seq=seq, reason=problem)
        self.pending = []  # unsigned entries before it that no signature vouched for

    def _entries(self, first_seq: int, raws: list) -> None:
        """Verify one DATA message's entries; hold every vouched-for one for the next commit
        (a commit per ``COMMIT_EVERY`` entries, and one when the pull ends)."""
        v = self.verifier
        assert v is not None  # the session hands over entries only after the pull asked
        refused = ""
        for i, raw in enumerate(raws):
            if self.refusal:  # past an entry the host refused: the rest is not taken
                self.entry_bytes += len(raw)
                continue
            try:
                e = parse_entry(raw)
            except ProtocolError as exc:
                refused = "entry seq %d is not a ledger entry (%s): nothing from it on was " \
                    "stored" % (first_seq + i, exc)  # fmt: skip
                break
            self.entry_bytes += len(raw)
            vouched = v.vouched
            # Every field against the registry's bounds before any is used (issue 10 §3),
            # the signature, the chain and the unsigned run: the verifier's rules.
            why = v.feed(e, self.pulled_bytes)
            self.pulled_bytes += len(raw)
            problem = entry_problem(e.fields) if why == "bad-field" else ""
            if not problem and e.seq != first_seq + i:
                problem = "its payload says seq %d" % e.seq  # DATA's entries are consecutive
            if problem:
                self._refuse_from(first_seq + i, problem)
                continue
            if why == UNSIGNED_RUN:
                self._refuse_from(
                    first_seq + i,
                    "more than %d unsigned entries (or %d bytes) in a row wait for a "
                    "signature; a reader holds no more" % (MAX_UNSIGNED_RUN, MAX_UNSIGNED_BYTES),
                )
                continue
            if why == "bad-signature":
                self.log("bad-signature", device=self.device, seq=e.seq)
                refused = (
                    "entry seq %d does not verify with the enrolled key: nothing from it on was "
                    "stored" % e.seq
                )
                break
            if why:  # another device's entry, or one that does not chain to the one before
                refused = "entry seq %d %s: nothing from seq %d on was stored" % (
                    e.seq,
                    "belongs to device %s, not %s" % (e.device_id, self.device)
                    if why == "wrong-device"
                    else "does not chain to the entry before it",
                    v.vouched,
                )
                self.log("refused", device=self.device, seq=e.seq, reason=refused)
                break
            pending = self.pending
            pending.append(e)
            taken = v.vouched - vouched  # the entries this one vouched for, itself included
            if taken == len(pending):
                self.ready += pending
                self.pending = []
            elif taken:
                self.ready += pending[:taken]
                del pending[:taken]
        if refused:
            if self._store_ready():  # what came before the bad entry is good evidence
                self._refuse(refused)
        elif len(self.ready) >= COMMIT_EVERY:
            self._store_ready()

    def _store_ready(self) -> bool:
        """Commit the verified entries held (parsed once: the store takes the Entry objects);
        False, with the session refused, when the store will not have them."""
        ready, self.ready = self.ready, []
        if not ready:
            return True
        try:
            self.evidence.add_entries(self.device, ready, self.now_ms())
        except EvidenceError as exc:
            self.log("refused", device=self.device, reason=str(exc))
            self._refuse(str(exc))
            return False
        self.stored += len(ready)
        return True

    def _plan_media(self) -> None:
        """The ledger is in: ask for every media the store lacks for this device (any a crash
        left unfetched before, then this session's chunks), and commit the last entries
        while the first media streams in."""
        wanted = list(self.evidence.missing_media(self.device))
        asked = {digest for digest, _ in wanted}
        for e in self.ready:
            media = chunk_media(e)
            if media is not None and media[0] not in asked:
                if not self.evidence.has_media(media[0]):
                    wanted.append(media)
                    asked.add(media[0])
        self.wanted = wanted
        self.sizes = dict(wanted)
        self.media_total = len(wanted)
        self.total_bytes = self.entry_bytes + sum(size for _, size in wanted)
        if not wanted:
            if self._store_ready():
                self._finish()
            return
        self._pull_more()
        self.flush()  # the device starts sending while the disk takes the commit
        self._store_ready()

    def _pull_more(self) -> None:
        while self.wanted and self.session.pulls_outstanding() < self.session.window:
            digest, _size = self.wanted.pop(0)
            self.send(self.session.pull_media(digest))
        if not self.session.pulls_outstanding():
            self._finish()

    def _media(self, digest: bytes, data: bytes) -> None:
        if self.writer is None:
            self.writer = self.evidence.begin_media(digest)
        self.writer.write(data)  # hashed and written as it comes
        self.media_bytes += len(data)
        self._progress()

    def _media_done(self, digest: bytes) -> None:
        writer = self.writer
        self.writer = None
        if writer is None:  # an empty media: no piece came
            writer = self.evidence.begin_media(digest)
        try:
            self.staged.append(writer.finish())
        except EvidenceError as exc:
            self.log("bad-media", device=self.device, reason=str(exc))
            self._refuse(str(exc))
            return
        self.media_stored += 1
        self._pull_more()

    def _media_gone(self, digest: bytes, reason: int, text: str) -> None:
        """The device cannot give this media: keep its answer as evidence (durably, before
        any receipt that no longer waits for the file), and go on with the rest."""
        self.evidence.record_gone(self.device, digest, reason, text, self.now_ms())
        self.gone.add(digest)
        self.media_gone += 1
        if self.total_bytes is not None:
            self.total_bytes -= self.sizes.get(digest, 0)
        self.log(
            "media-gone",
            device=self.device,
            digest=digest.hex(),
            reason=GONE_NAMES.get(reason, str(reason)),
            text=text,
        )
        self._pull_more()

    def _ended_short(self) -> str:
        """Why a session that ran its course is not "done": the device announced entries
        the host does not hold (issue 10: never shown as plain OK), else ""."""
        held = self.evidence.head(self.device)[0]
        if self.device_head <= held:
            return ""
        holds = "seqs 0-%d" % (held - 1) if held else "none of its entries"
        return "ended short: the device announced its ledger through seq %d, the host holds %s" % (
            self.device_head - 1,
            holds,
        )

    def _finish(self) -> None:
        """Everything is in: make it durable, then send the receipt, which names the entry
        hash it covers and the head of the host's log that holds it (its size and root, which
        the receipt's signature vouches for). The session's one signed checkpoint comes at
        its end, after its record (host.daemon), and extends that head."""
        head, head_hash = self.evidence.head(self.device)
        if head == 0:
            self._close_done()
            return
        self._enter(STORING)
        self.flush()  # the device has its last ACK while the disk syncs
        try:
            self.evidence.make_durable(self.staged)  # all media durable before the receipt
        except EvidenceError as exc:
            # The store could not keep the media (a scale-out store's object store went
            # down mid-session): no receipt; the device keeps it and its next dock brings it.
            self.log("store-error", device=self.device, reason=str(exc))
            staged, self.staged = self.staged, []
            self.evidence.discard_staged(staged)
            self.send(self.session.abort(ERR_INTERNAL, str(exc)))
            self.result = "failed: %s" % exc
            return
        self.staged = []
        # Media the device declared gone in this session stays noted as missing (a later dock
        # asks again), but the receipt does not wait for it.
        left = [m for m in self.evidence.missing_media(self.device) if m[0] not in self.gone]
        if left:  # another session of this device's ledger added chunks meanwhile
            reason = "%d media still missing after the pulls; dock again" % len(left)
            self.send(self.session.abort(ERR_INTERNAL, reason))
            self.result = "failed: %s" % reason
            return
        cp = self.evidence.log_head()  # every leaf it counts is committed
        self._enter(RECEIPT_SENT)
        self.send(self.session.durable(head - 1, head_hash, cp.size, cp.root, cp.origin))
