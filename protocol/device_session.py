"""The device's side of the sync protocol, sans I/O: ``DeviceSession``.

The only role a board carries. The device reads its ledger through a small ``store_view``
(``StoreView`` below: ``head()``, ``entries(from_seq)``, ``read_media(digest)``,
``has_media(digest)``) and signs with its device key (``Signer``).

Pulls stream: the device keeps up to ``window`` DATA messages in flight, the host ACKs with
the next seq (or, naming the media, byte offset) it expects, and the last DATA says so. An
ACK is cumulative: it covers every DATA sent before the one it acknowledges. Media pulls
pipeline: the host may have up to ``window`` of them outstanding; the device serves them in
the order asked, starting the next media as soon as the last DATA of the one before is
sent, and the window counts DATA across them. A dropped link just ends the session; the
next one pulls from the host's own durable head.

Media the device cannot serve (the store has no such file, or holds one that no longer
matches its hash) is answered, in its turn, with GONE: the digest, a reason (GONE_NOT_FOUND
or GONE_DAMAGED) and a short text. The session goes on with the next pull: one lost or
damaged file must not keep every file after it from the host. A GONE takes no DATA slot and
frees its pull's place in the window as the ACK of a finished media's last DATA does.

A TIME or CONFIG is the application's to judge, as h11 leaves the response to its
application: the session checks the signature and the replay rule, returns ``(E_TIME, ...)``
or ``(E_CONFIG, ...)`` and waits (state ANSWER); the caller applies it and calls
``accept()`` (the OK body) or, when its rules refuse it, ``refuse(text)`` (a REFUSED body
with the reason; the session goes on). Nothing is answered on the caller's behalf.

Events (``protocol.session``'s E_* kinds): (E_AUTHENTICATED, host_kid), (E_TIME, wall_ms,
host_kid), (E_CONFIG, raw, settings, host_kid, issued_ms), (E_RECEIPT, through_seq,
host_kid, head_hash, log_size, log_root, log_origin) (checked: ``head_hash`` is this
ledger's entry at ``through_seq``; log it as EV_HOST_RECEIPT ``{"through_seq": n, ...}``),
(E_PROVISION, host_keys) (make the key, pin the keys, then call ``provisioned(signer)``),
(E_GONE, digest, reason, text) (a GONE was sent), and E_SEND and E_CLOSED.
"""

import hashlib

from protocol.hostconfig import ConfigRejected, open_config
from protocol.messages import (
    ACK,
    AUTH,
    BYE,
    CONFIG,
    DATA,
    DATA_OVERHEAD,
    DEFAULT_MAX_FRAME,
    DEFAULT_WINDOW,
    ENTRY_OVERHEAD,
    ERR_BAD_OFFSET,
    ERR_BAD_SIGNATURE,
    ERR_INTERNAL,
    ERR_MALFORMED,
    ERR_MISMATCH,
    ERR_NONE,
    ERR_REFUSED,
    ERR_REPLAY,
    ERR_TOO_LARGE,
    ERR_UNEXPECTED,
    ERR_UNTRUSTED_HOST,
    ERROR,
    ERROR_NAMES,
    GONE,
    GONE_DAMAGED,
    GONE_NOT_FOUND,
    HELLO,
    K_BATTERY,
    K_CLOCK,
    K_CODE,
    K_CONFIG,
    K_DEVICE,
    K_DIGEST,
    K_ENTRIES,
    K_FACTORY,
    K_FIRMWARE,
    K_HEAD_HASH,
    K_HEAD_SEQ,
    K_HOST_KEYS,
    K_KID,
    K_LAST,
    K_LOG_ORIGIN,
    K_LOG_ROOT,
    K_LOG_SIZE,
    K_OF,
    K_OFFSET,
    K_PUBLIC,
    K_REASON,
    K_SEQ,
    K_SIG,
    K_STORAGE,
    K_TEXT,
    K_THROUGH,
    OK,
    PROVISION,
    PROVISIONED,
    PULL,
    RECEIPT,
    REFUSED,
    REQUIRED_ALGS,
    STATUS,
    STATUS_REQ,
    SUPPORTED_VERSIONS,
    TIME,
    LocalProtocolError,
    RemoteProtocolError,
    encode,
    encode_media_data,
)
from protocol.session import (
    AUTH_CONTEXT,
    E_AUTHENTICATED,
    E_CONFIG,
    E_GONE,
    E_PROVISION,
    E_RECEIPT,
    E_SEND,
    E_TIME,
    PROVISIONED_CONTEXT,
    RECEIPT_CONTEXT,
    TIME_CONTEXT,
    SyncSession,
    negotiate,
    printable,
    to_sign,
    transcript_hash,
)
from protocol.signer import verify_signature

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Protocol

    from protocol.signer import Signer

    class StoreView(Protocol):
        """What the device session reads of its store (firmware.store.Store fits)."""

        def head(self) -> tuple:
            """``(next_seq, hash of the newest entry)``."""

        def entries(self, from_seq: int = 0) -> Iterable[bytes]:
            """The encoded entries from ``from_seq`` on, oldest first."""

        def read_media(self, digest: bytes) -> bytes:
            """The media with this SHA-256, checked; raises when it cannot be served."""

        def has_media(self, digest: bytes) -> bool:
            """Whether a file is held under that name (intact or not)."""


MAX_ENTRIES_PER_DATA = 1024  # the K_ENTRIES limit in protocol.messages
NOT_IN_HOST_HELLO = (K_DEVICE, K_FIRMWARE, K_HEAD_SEQ, K_HEAD_HASH, K_FACTORY)

# --- device states ------------------------------------------------------------------------
D_IDLE = 0  # waiting for the host's HELLO
D_AUTH = 1  # sent HELLO and AUTH; waiting for the host's AUTH
D_READY = 2  # both sides proven; waiting for a request
D_SENDING = 3  # streaming ledger entries for a PULL
D_MEDIA = 4  # streaming media bytes for a PULL
D_FACTORY = 5  # factory mode: sent HELLO, waiting for PROVISION
D_KEYGEN = 6  # factory mode: waiting for the caller's provisioned(signer)
D_DONE = 7  # factory mode: provisioned; only BYE is left
D_ANSWER = 8  # a TIME or CONFIG is out as an event: waiting for the caller's accept or refuse
D_CLOSED = 9
DEVICE_STATE_NAMES = (
    "IDLE", "AUTH", "READY", "SENDING", "MEDIA", "FACTORY", "KEYGEN", "DONE", "ANSWER", "CLOSED",
)  # fmt: skip

# Short names for the tables below, and nothing else.
_I, _A, _R, _S, _M, _F, _K, _D, _N, _C = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
_x = None

# Which input each device state accepts and where it leads: a row per received message type
# (an int) or local call (a str), a column per state; a cell is the next state, a pair the
# states it may lead to, _x refuses it (UNEXPECTED for a message, LocalProtocolError for a call).
# A media PULL in READY leads back to READY when the device answers it with GONE at once.
# fmt: off
DEVICE_TABLE: dict = {
    # input           _I          _A   _R          _S          _M          _F   _K   _D   _N   _C
    HELLO:           ((_A, _F),   _x,  _x,         _x,         _x,         _x,  _x,  _x,  _x,  _x),
    AUTH:            (_x,         _R,  _x,         _x,         _x,         _x,  _x,  _x,  _x,  _x),
    STATUS_REQ:      (_x,         _x,  _R,         _x,         _x,         _x,  _x,  _x,  _x,  _x),
    TIME:            (_x,         _x,  _N,         _x,         _x,         _x,  _x,  _x,  _x,  _x),
    CONFIG:          (_x,         _x,  _N,         _x,         _x,         _x,  _x,  _x,  _x,  _x),
    RECEIPT:         (_x,         _x,  _R,         _x,         _x,         _x,  _x,  _x,  _x,  _x),
    PULL:            (_x,         _x,  (_S,_M,_R), _x,         _M,         _x,  _x,  _x,  _x,  _x),
    ACK:             (_x,         _x,  _x,         (_S, _R),   (_M, _R),   _x,  _x,  _x,  _x,  _x),
    PROVISION:       (_x,         _x,  _x,         _x,         _x,         _K,  _x,  _x,  _x,  _x),
    ERROR:           (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _C,  _x),
    BYE:             (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _C,  _x),
    "provisioned":   (_x,         _x,  _x,         _x,         _x,         _x,  _D,  _x,  _x,  _x),
    "accept":        (_x,         _x,  _x,         _x,         _x,         _x,  _x,  _x,  _R,  _x),
    "refuse":        (_x,         _x,  _x,         _x,         _x,         _x,  _x,  _x,  _R,  _x),
    "bye":           (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _C,  _x),
    "abort":         (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _C,  _x),
}
# fmt: on


class DeviceSession(SyncSession):
    """The device's side of one sync session.

    ``signer`` is the device key (None in factory mode), ``pinned_host_keys`` maps host key
    ids to their Ed25519 public keys, ``store_view`` reads the ledger (firmware.store.Store
    fits), ``status()`` returns ``(battery_percent, free_bytes, wall_ms)``, and
    ``config_issued_ms`` is when the last applied config was issued (replays are refused).
    """

    def __init__(
        self,
        device_id: str,
        signer: "Signer | None",
        pinned_host_keys: dict,
        store_view: "StoreView",
        random_bytes: "Callable[[int], bytes]",
        firmware: str = "",
        status: "Callable[[], tuple] | None" = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        window: int = DEFAULT_WINDOW,
        factory: bool = False,
        config_issued_ms: int = -1,
        versions: tuple = SUPPORTED_VERSIONS,
        algorithms: tuple = REQUIRED_ALGS,
    ) -> None:
        super().__init__(
            DEVICE_TABLE,
            DEVICE_STATE_NAMES,
            D_CLOSED,
            random_bytes,
            max_frame,
            window,
            versions,
            algorithms,
        )
        if not factory and signer is None:
            raise LocalProtocolError("a device outside factory mode needs its signer")
        self.device_id = device_id
        self.signer = signer
        self.pinned = dict(pinned_host_keys)
        self.store = store_view
        self.firmware = firmware
        self.status = status
        self.factory = factory
        self.config_issued_ms = config_issued_ms
        self.host_kid = ""
        self._last_time = -1
        self._answering = 0  # TIME or CONFIG, while the caller judges it (ANSWER)
        self._offered_ms = -1  # the issue time of the CONFIG being judged
        self._release()

    def _release(self) -> None:
        self._entries: Iterator[bytes] = iter(())  # the store's iterator during a pull
        self._pending: bytes | None = None  # an entry read but not yet sent (next DATA's)
        self._media: bytes | None = None
        self._digest = b""
        self._next = 0  # next seq (or byte offset) to send
        self._target = 0  # seq (or length) the pull ends at
        self._acked = 0
        # Each DATA not yet acknowledged: its end seq, or (digest, end offset, last) for media.
        self._inflight: list = []
        self._last_sent = False  # the current pull's (or media's) last DATA is out
        self._queue: list = []  # media pulls not yet started: (digest, offset)
        self._open = 0  # media pulls asked for whose last DATA is not yet acknowledged
        self._acked_media: tuple = (b"", -1)  # the last media ACK, (digest, offset)

    # --- handshake ---

    def _on_hello(self, fields: dict, out: list) -> None:
        for key in NOT_IN_HOST_HELLO:
            if key in fields:
                raise RemoteProtocolError(ERR_MALFORMED, "a host's HELLO carries no device fields")
        mine = self._hello_fields()
        self.version, self.max_frame, self.window = negotiate(mine, fields)
        head_seq, head_hash = self.store.head()
        mine[K_DEVICE] = self.device_id
        mine[K_FIRMWARE] = self.firmware
        mine[K_HEAD_SEQ] = head_seq
        mine[K_HEAD_HASH] = head_hash
        if self.factory:
            mine[K_FACTORY] = True
        hello = encode(HELLO, mine)
        out.append((E_SEND, hello))
        self._transcript = transcript_hash(encode(HELLO, fields), hello)
        if self.factory:
            self.state = D_FACTORY
            return
        signer = self.signer
        if signer is None:  # refused in __init__ outside factory mode
            raise LocalProtocolError("a device outside factory mode needs its signer")
        sig = signer.sign(to_sign(AUTH_CONTEXT, "device", self.device_id, self._transcript))
        self._send(out, AUTH, {K_SIG: sig})
        self.state = D_AUTH

    def _on_auth(self, fields: dict, out: list) -> None:
        kid = fields.get(K_KID)
        if kid is None:
            raise RemoteProtocolError(ERR_MALFORMED, "the host's AUTH must name its key id")
        self._check_host_sig(kid, fields[K_SIG], AUTH_CONTEXT, "host", kid, self._transcript)
        self.host_kid = kid
        self.state = D_READY
        out.append((E_AUTHENTICATED, kid))

    def _check_host_sig(self, kid: str, sig: bytes, *parts: object) -> None:
        public = self.pinned.get(kid)
        if public is None:
            raise RemoteProtocolError(
                ERR_UNTRUSTED_HOST, "host key %r is not pinned on this device" % (kid,)
            )
        if not verify_signature(public, to_sign(*parts), sig):
            raise RemoteProtocolError(
                ERR_BAD_SIGNATURE,
                "%s signature does not verify with host key %r for this session" % (parts[0], kid),
            )

    # --- requests ---

    def _on_status_req(self, fields: dict, out: list) -> None:
        if self.status is None:
            raise LocalProtocolError("this device has no status source", ERR_INTERNAL)
        battery, free, wall = self.status()
        head_seq, head_hash = self.store.head()
        self._send(
            out,
            STATUS,
            {
                K_BATTERY: battery,
                K_STORAGE: free,
                K_CLOCK: wall,
                K_HEAD_SEQ: head_seq,
                K_HEAD_HASH: head_hash,
            },
        )

    def _on_time(self, fields: dict, out: list) -> None:
        wall, kid = fields[K_CLOCK], fields[K_KID]
        self._check_host_sig(kid, fields[K_SIG], TIME_CONTEXT, kid, self._transcript, wall)
        if wall <= self._last_time:
            raise RemoteProtocolError(ERR_REPLAY, "TIME %d is not after the last one" % wall)
        self._last_time = wall  # a replay is refused whether or not the caller takes it
        self._answering = TIME
        self.state = D_ANSWER
        out.append((E_TIME, wall, kid))

    def _on_config(self, fields: dict, out: list) -> None:
        raw = fields[K_CONFIG]
        try:
            settings, kid, issued = open_config(raw, self.pinned, self.device_id)
        except ConfigRejected as exc:
            raise RemoteProtocolError(ERR_BAD_SIGNATURE, str(exc)) from None
        if issued <= self.config_issued_ms:
            raise RemoteProtocolError(
                ERR_REPLAY,
                "config issued at %d is not newer than the last applied (%d)"
                % (issued, self.config_issued_ms),
            )
        self._answering = CONFIG
        self._offered_ms = issued
        self.state = D_ANSWER
        out.append((E_CONFIG, raw, settings, kid, issued))

    # --- the caller's answer to a TIME or CONFIG ---

    def accept(self) -> bytes:
        """The caller applied the TIME or CONFIG it was given: the OK body."""
        self.state = self._local("accept")
        if self._answering == CONFIG:
            self.config_issued_ms = self._offered_ms  # the newest applied: older ones are replays
        return encode(OK, {K_OF: self._answering})

    def refuse(self, text: str, code: int = ERR_REFUSED) -> bytes:
        """The caller's rules refused the TIME or CONFIG (``text`` says why, in one line):
        the REFUSED body. Nothing of it was applied, and the session goes on."""
        nxt = self._local("refuse")
        if code not in ERROR_NAMES or code == ERR_NONE:
            raise LocalProtocolError("refuse needs an ERR_* code, not %r" % (code,))
        self.state = nxt
        return encode(REFUSED, {K_OF: self._answering, K_CODE: code, K_TEXT: printable(text)})

    def _on_receipt(self, fields: dict, out: list) -> None:
        through, kid = fields[K_THROUGH], fields[K_KID]
        head_hash, size, root = fields[K_HEAD_HASH], fields[K_LOG_SIZE], fields[K_LOG_ROOT]
        origin = fields[K_LOG_ORIGIN]
        head_seq, _ = self.store.head()
        if through >= head_seq:
            raise RemoteProtocolError(
                ERR_BAD_OFFSET,
                "receipt through seq %d, but this ledger ends at seq %d" % (through, head_seq - 1),
            )
        self._check_host_sig(
            kid,
            fields[K_SIG],
            RECEIPT_CONTEXT,
            kid,
            self._transcript,
            self.device_id,
            through,
            head_hash,
            size,
            root,
            origin,
        )
        # A receipt binds bytes: the host names the hash of the entry it holds at ``through``,
        # and it must be this ledger's. A host that never pulled (or holds other) entries
        # cannot receipt them, and the device frees nothing on its word.
        if head_hash != self._entry_hash(through):
            raise RemoteProtocolError(
                ERR_MISMATCH,
                "receipt names entry hash %s at seq %d, which is not this ledger's entry"
                % (head_hash[:8].hex(), through),
            )
        out.append((E_RECEIPT, through, kid, head_hash, size, root, origin))
        self._send(out, OK, {K_OF: RECEIPT})

    def _entry_hash(self, seq: int) -> bytes:
        """SHA-256 of this ledger's entry at ``seq`` (b"" when the store cannot give it)."""
        for raw in self.store.entries(seq):
            return hashlib.sha256(raw).digest()
        return b""

    # --- streaming ---

    def _on_pull(self, fields: dict, out: list) -> None:
        if K_SEQ in fields:
            if self.state == D_MEDIA:
                raise RemoteProtocolError(
                    ERR_UNEXPECTED, "a ledger pull while media pulls are in flight"
                )
            start = fields[K_SEQ]
            head_seq, _ = self.store.head()
            if start > head_seq:
                raise RemoteProtocolError(
                    ERR_BAD_OFFSET,
                    "pull from seq %d, but this ledger's next seq is %d" % (start, head_seq),
                )
            self._target = head_seq
            self._entries = iter(self.store.entries(start))
            self.state = D_SENDING
            self._next = self._acked = start
        else:
            if self._open >= self.window:
                raise RemoteProtocolError(
                    ERR_UNEXPECTED, "more than %d media pulls in flight" % self.window
                )
            self._queue.append((fields[K_DIGEST], fields[K_OFFSET]))
            self._open += 1
            self.state = D_MEDIA
        self._fill(out)

    def _next_media(self, out: list) -> bool:
        """Start the next queued media pull the store can serve, answering each one before
        it that it cannot with GONE; False when none is left queued."""
        while self._queue:
            digest, start = self._queue.pop(0)
            self._media = None  # one media in memory at a time
            try:
                media = self.store.read_media(digest)
            except Exception as exc:
                self._gone(digest, exc, out)
                continue
            if start > len(media):
                raise RemoteProtocolError(
                    ERR_BAD_OFFSET, "pull from byte %d of media %d bytes long" % (start, len(media))
                )
            self._media = media
            self._digest = digest
            self._next = start
            self._target = len(media)
            self._last_sent = False
            return True
        return False

    def _gone(self, digest: bytes, exc: Exception, out: list) -> None:
        """Answer a pull the store cannot serve; the pull is over, its window place free."""
        # A file still held under its name that will not read back intact is damaged; no
        # file at all is not found. The store's own words go along for the log.
        held = self.store.has_media(digest)
        reason = GONE_DAMAGED if held else GONE_NOT_FOUND
        text = printable(str(exc) or type(exc).__name__)
        self._send(out, GONE, {K_DIGEST: digest, K_REASON: reason, K_TEXT: text})
        self._open -= 1
        out.append((E_GONE, digest, reason, text))

    def _on_ack(self, fields: dict, out: list) -> None:
        if self.state == D_SENDING:
            n = fields.get(K_SEQ)
            if n is None or not self._acked <= n <= self._next:
                raise RemoteProtocolError(
                    ERR_BAD_OFFSET,
                    "ACK %r is outside what was sent (%d..%d)" % (n, self._acked, self._next),
                )
            self._acked = n
            while self._inflight and self._inflight[0] <= n:
                self._inflight.pop(0)
            if self._last_sent and n == self._target:
                self._release()
                self.state = D_READY
                return
        else:
            self._ack_media(fields.get(K_DIGEST), fields.get(K_OFFSET))
        self._fill(out)

    def _ack_media(self, digest: object, offset: object) -> None:
        """Drop the DATA an ACK covers: the one it names and every one sent before it."""
        ack = (digest, offset)
        if ack == self._acked_media:
            return  # said again: nothing new
        i = 0
        for sent in self._inflight:
            if sent[0] == digest and sent[1] == offset:
                break
            i += 1
        else:
            raise RemoteProtocolError(
                ERR_BAD_OFFSET, "ACK of byte %r names no media DATA in flight" % (offset,)
            )
        for _digest, _end, last in self._inflight[: i + 1]:
            if last:
                self._open -= 1  # that pull is complete
        del self._inflight[: i + 1]
        self._acked_media = ack

    def _fill(self, out: list) -> None:
        """Send DATA until ``window`` are in flight or the last is out (and, for media, a
        GONE for each pull in turn that the store cannot serve)."""
        if self.state == D_SENDING:
            while len(self._inflight) < self.window and not self._last_sent:
                body = self._entries_data()
                self._inflight.append(self._next)
                out.append((E_SEND, body))
            return
        while True:
            # A GONE needs no DATA slot: the pulls it answers go out even when the window
            # is full, as soon as the media before them is all sent.
            if (self._media is None or self._last_sent) and not self._next_media(out):
                break
            if len(self._inflight) >= self.window:
                break
            body = self._media_data()
            self._inflight.append((self._digest, self._next, self._last_sent))
            out.append((E_SEND, body))
        if self._open == 0:  # every pull complete: its last DATA acknowledged, or GONE
            self._release()
            self.state = D_READY

    def _entries_data(self) -> bytes:
        budget = self.max_frame - DATA_OVERHEAD
        first = self._next
        batch: list = []
        size = 0
        while self._next < self._target and len(batch) < MAX_ENTRIES_PER_DATA:
            raw = self._pending
            if raw is None:
                raw = next(self._entries, None)
                if raw is None:
                    raise LocalProtocolError(
                        "the store ended at seq %d, before its head %d" % (self._next, self._target)
                    )
            cost = len(raw) + ENTRY_OVERHEAD
            if size + cost > budget:
                if not batch:
                    raise LocalProtocolError(
                        "entry seq %d (%d bytes) does not fit the max frame %d"
                        % (self._next, len(raw), self.max_frame),
                        ERR_TOO_LARGE,
                    )
                self._pending = raw
                break
            self._pending = None
            batch.append(bytes(raw))
            size += cost
            self._next += 1
        self._last_sent = self._next == self._target
        return encode(
            DATA, {K_SEQ: first, K_ENTRIES: batch, K_LAST: self._last_sent}, self.max_frame
        )

    def _media_data(self) -> bytes:
        start = self._next
        stop = min(self._target, start + self.max_frame - DATA_OVERHEAD)
        media = self._media
        if media is None:
            raise LocalProtocolError("no media is being sent")
        chunk = media[start:stop]
        self._next = stop
        self._last_sent = stop == self._target
        return encode_media_data(self._digest, start, chunk, self._last_sent, self.max_frame)

    # --- factory mode ---

    def _on_provision(self, fields: dict, out: list) -> None:
        self.state = D_KEYGEN
        out.append((E_PROVISION, dict(fields[K_HOST_KEYS])))

    def provisioned(self, signer: "Signer") -> bytes:
        """The device has made its key (and pinned the host keys): the PROVISIONED body,
        signed with the new key over this session, as proof that the device holds it."""
        self._local("provisioned")
        public = signer.public_key()
        sig = signer.sign(to_sign(PROVISIONED_CONTEXT, self.device_id, self._transcript, public))
        self.state = D_DONE
        return encode(PROVISIONED, {K_PUBLIC: public, K_SIG: sig})
