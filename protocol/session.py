"""The sync protocol's two sans-I/O state machines: ``DeviceSession`` and ``HostSession``.

Each is fed message bodies (``receive(body)``) and returns a list of events, tuples whose
first item names them; ``("send", body)`` is a body to hand to the framing layer. Local
requests (``host.pull(0)``, ``host.durable(41)``, ...) return the body to send. Nothing
here touches a socket, a file or a clock: the device reads its ledger through a small
``store_view`` (``head()``, ``entries(from_seq)``, ``read_media(digest)``), and randomness
comes from the injected ``random_bytes(n)``.

A session opens with HELLO both ways and mutual challenge-response: the host sends HELLO
with its nonce; the device answers HELLO (its nonce, id, firmware, ledger head) and AUTH,
its device-key signature over the transcript (both HELLO bodies); the host checks that the
device is enrolled and the signature verifies, and answers AUTH, signed with an agency host
key the device must have pinned. As both nonces are in the transcript, an AUTH replayed
from another session does not verify; as both HELLOs are, a peer stripped of versions or
algorithms by someone in the middle does not either. TIME and RECEIPT are signed over the
transcript too, so they hold for this session only.

Pulls stream: the device keeps up to ``window`` DATA messages in flight, the host ACKs with
the next seq (or, naming the media, byte offset) it expects, and the last DATA says so. An
ACK is cumulative: it covers every DATA sent before the one it acknowledges, so the host
may answer several DATA with one (``("ack", body)`` events say which bodies may be
coalesced). Media pulls pipeline: the host may have up to ``window`` of them outstanding;
the device serves them in the order asked, starting the next media as soon as the last
DATA of the one before is sent, and the window counts DATA across them. A dropped link just
ends the session; the next one pulls from the host's own durable head.

Media the device cannot serve (the store has no such file, or holds one that no longer
matches its hash) is answered, in its turn, with GONE: the digest, a reason (GONE_NOT_FOUND
or GONE_DAMAGED) and a short text. The session goes on with the next pull: one lost or
damaged file must not keep every file after it from the host. A GONE takes no DATA slot and
frees its pull's place in the window as the ACK of a finished media's last DATA does: the
device counts the pull done when it sends the GONE, the host when it receives it.

Whatever the peer sends that breaks the protocol ends in ``("send", ERROR body)`` and
``("closed", code, text, "us")``, never in an exception; an ERROR or BYE from the peer gives
``("closed", code, text, "peer")``. Exceptions are for the caller's own mistakes
(LocalProtocolError): a request in a state that does not allow it, feeding a closed session.

Events, device side: ("authenticated", host_kid), ("time", wall_ms, host_kid),
("config", raw, settings, host_kid, issued_ms), ("receipt", through_seq, host_kid, head_hash,
log_size, log_root, log_origin) (checked: ``head_hash`` is this ledger's entry at
``through_seq``; log it as EV_HOST_RECEIPT ``{"through_seq": n, ...}``), ("provision",
host_keys) (make the key, pin the keys, then call ``provisioned(signer)``), ("gone", digest,
reason, text) (a GONE was sent).
Events, host side: ("ack", body) (an ACK to send; when the next body to send is also an ACK,
this one may be left out), ("authenticated", device_id, head_seq, head_hash, firmware),
("factory", device_id), ("status", dict), ("ok", msg_type), ("entries", first_seq, [raw]),
("pulled", next_seq), ("media", digest, offset, data), ("media-done", digest, size),
("gone", digest, reason, text) (the device cannot give that media: the pull is over),
("provisioned", device_id, public_key).
"""

import hashlib

from protocol import cbor
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
    ERR_ALGORITHM,
    ERR_BAD_OFFSET,
    ERR_BAD_SIGNATURE,
    ERR_INTERNAL,
    ERR_MALFORMED,
    ERR_MISMATCH,
    ERR_NONE,
    ERR_PROTOCOL_VERSION,
    ERR_REPLAY,
    ERR_TOO_LARGE,
    ERR_UNEXPECTED,
    ERR_UNKNOWN_DEVICE,
    ERR_UNTRUSTED_HOST,
    ERROR,
    ERROR_NAMES,
    GONE,
    GONE_DAMAGED,
    GONE_NOT_FOUND,
    HELLO,
    K_ALGS,
    K_BATTERY,
    K_BYTES,
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
    K_MAX_FRAME,
    K_NONCE,
    K_OF,
    K_OFFSET,
    K_PUBLIC,
    K_REASON,
    K_SEQ,
    K_SIG,
    K_STORAGE,
    K_TEXT,
    K_THROUGH,
    K_VERSIONS,
    K_WINDOW,
    MAX_FRAME,
    MAX_TEXT,
    MAX_WINDOW,
    MIN_FRAME,
    MIN_PROTOCOL_VERSION,
    NONCE_LEN,
    OK,
    PROVISION,
    PROVISIONED,
    PULL,
    RECEIPT,
    REQUIRED_ALGS,
    STATUS,
    STATUS_REQ,
    SUPPORTED_VERSIONS,
    TIME,
    TYPE_NAMES,
    LocalProtocolError,
    RemoteProtocolError,
    decode,
    encode,
    encode_media_data,
)
from protocol.signer import verify_signature

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

    from protocol.signer import Ed25519Signer

MAX_ENTRIES_PER_DATA = 1024  # the K_ENTRIES limit in protocol.messages
DEVICE_HELLO_FIELDS = (K_DEVICE, K_FIRMWARE, K_HEAD_SEQ, K_HEAD_HASH)
NOT_IN_HOST_HELLO = (K_DEVICE, K_FIRMWARE, K_HEAD_SEQ, K_HEAD_HASH, K_FACTORY)

# What each signature covers: a context string, the signer's role, and this session's
# transcript hash, so that no signature is valid in another role, message or session.
AUTH_CONTEXT = "sealcam-auth/1"
TIME_CONTEXT = "sealcam-time/1"
RECEIPT_CONTEXT = "sealcam-receipt/2"  # /2: the head hash and the host checkpoint too
PROVISIONED_CONTEXT = "sealcam-provisioned/1"

# --- device states ------------------------------------------------------------------------
D_IDLE = 0  # waiting for the host's HELLO
D_AUTH = 1  # sent HELLO and AUTH; waiting for the host's AUTH
D_READY = 2  # both sides proven; waiting for a request
D_SENDING = 3  # streaming ledger entries for a PULL
D_MEDIA = 4  # streaming media bytes for a PULL
D_FACTORY = 5  # factory mode: sent HELLO, waiting for PROVISION
D_KEYGEN = 6  # factory mode: waiting for the caller's provisioned(signer)
D_DONE = 7  # factory mode: provisioned; only BYE is left
D_CLOSED = 8
DEVICE_STATE_NAMES = (
    "IDLE", "AUTH", "READY", "SENDING", "MEDIA", "FACTORY", "KEYGEN", "DONE", "CLOSED",
)  # fmt: skip

# Short names for the tables below, and nothing else.
_I, _A, _R, _S, _M, _F, _K, _D, _C = 0, 1, 2, 3, 4, 5, 6, 7, 8
_x = None

# Which input each device state accepts and where it leads: a row per received message type
# (an int) or local call (a str), a column per state; a cell is the next state, a pair the
# states it may lead to, _x refuses it (UNEXPECTED for a message, LocalProtocolError for a call).
# A media PULL in READY leads back to READY when the device answers it with GONE at once.
# fmt: off
DEVICE_TABLE: dict = {
    # input           _I          _A   _R          _S          _M          _F   _K   _D   _C
    HELLO:           ((_A, _F),   _x,  _x,         _x,         _x,         _x,  _x,  _x,  _x),
    AUTH:            (_x,         _R,  _x,         _x,         _x,         _x,  _x,  _x,  _x),
    STATUS_REQ:      (_x,         _x,  _R,         _x,         _x,         _x,  _x,  _x,  _x),
    TIME:            (_x,         _x,  _R,         _x,         _x,         _x,  _x,  _x,  _x),
    CONFIG:          (_x,         _x,  _R,         _x,         _x,         _x,  _x,  _x,  _x),
    RECEIPT:         (_x,         _x,  _R,         _x,         _x,         _x,  _x,  _x,  _x),
    PULL:            (_x,         _x,  (_S,_M,_R), _x,         _M,         _x,  _x,  _x,  _x),
    ACK:             (_x,         _x,  _x,         (_S, _R),   (_M, _R),   _x,  _x,  _x,  _x),
    PROVISION:       (_x,         _x,  _x,         _x,         _x,         _K,  _x,  _x,  _x),
    ERROR:           (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _x),
    BYE:             (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _x),
    "provisioned":   (_x,         _x,  _x,         _x,         _x,         _x,  _D,  _x,  _x),
    "bye":           (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _x),
    "abort":         (_C,         _C,  _C,         _C,         _C,         _C,  _C,  _C,  _x),
}
# fmt: on

# --- host states --------------------------------------------------------------------------
H_IDLE = 0  # nothing sent yet
H_HELLO = 1  # sent HELLO; waiting for the device's
H_AUTH = 2  # got the device's HELLO; waiting for its AUTH
H_READY = 3  # both sides proven; the host may ask
H_WAIT = 4  # asked for STATUS, TIME, CONFIG or RECEIPT; waiting for STATUS or OK
H_PULLING = 5  # receiving ledger entries
H_MEDIA = 6  # receiving media bytes
H_FACTORY = 7  # the device is in factory mode; provision(host_keys) is next
H_PROVISIONING = 8  # sent PROVISION; waiting for PROVISIONED
H_DONE = 9  # provisioned; only BYE is left
H_CLOSED = 10
HOST_STATE_NAMES = (
    "IDLE", "HELLO", "AUTH", "READY", "WAIT", "PULLING", "MEDIA", "FACTORY", "PROVISIONING",
    "DONE", "CLOSED",
)  # fmt: skip

_HI, _HH, _HA, _HR, _HW, _HP, _HM, _HF, _HV, _HD, _HC = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10

# The host's table, read as the device's.
# fmt: off
HOST_TABLE: dict = {
    # input          _HI  _HH         _HA  _HR  _HW  _HP         _HM         _HF  _HV  _HD  _HC
    "start":         (_HH, _x,        _x,  _x,  _x,  _x,         _x,         _x,  _x,  _x,  _x),
    HELLO:           (_x,  (_HA, _HF), _x, _x,  _x,  _x,         _x,         _x,  _x,  _x,  _x),
    AUTH:            (_x,  _x,        _HR, _x,  _x,  _x,         _x,         _x,  _x,  _x,  _x),
    "status":        (_x,  _x,        _x,  _HW, _x,  _x,         _x,         _x,  _x,  _x,  _x),
    "set_time":      (_x,  _x,        _x,  _HW, _x,  _x,         _x,         _x,  _x,  _x,  _x),
    "send_config":   (_x,  _x,        _x,  _HW, _x,  _x,         _x,         _x,  _x,  _x,  _x),
    "durable":       (_x,  _x,        _x,  _HW, _x,  _x,         _x,         _x,  _x,  _x,  _x),
    STATUS:          (_x,  _x,        _x,  _x,  _HR, _x,         _x,         _x,  _x,  _x,  _x),
    OK:              (_x,  _x,        _x,  _x,  _HR, _x,         _x,         _x,  _x,  _x,  _x),
    "pull":          (_x,  _x,        _x,  _HP, _x,  _x,         _x,         _x,  _x,  _x,  _x),
    "pull_media":    (_x,  _x,        _x,  _HM, _x,  _x,         _HM,        _x,  _x,  _x,  _x),
    DATA:            (_x,  _x,        _x,  _x,  _x,  (_HP, _HR), (_HM, _HR), _x,  _x,  _x,  _x),
    GONE:            (_x,  _x,        _x,  _x,  _x,  _x,         (_HM, _HR), _x,  _x,  _x,  _x),
    "provision":     (_x,  _x,        _x,  _x,  _x,  _x,         _x,         _HV, _x,  _x,  _x),
    PROVISIONED:     (_x,  _x,        _x,  _x,  _x,  _x,         _x,         _x,  _HD, _x,  _x),
    ERROR:           (_HC, _HC,       _HC, _HC, _HC, _HC,        _HC,        _HC, _HC, _HC, _x),
    BYE:             (_HC, _HC,       _HC, _HC, _HC, _HC,        _HC,        _HC, _HC, _HC, _x),
    "bye":           (_HC, _HC,       _HC, _HC, _HC, _HC,        _HC,        _HC, _HC, _HC, _x),
    "abort":         (_HC, _HC,       _HC, _HC, _HC, _HC,        _HC,        _HC, _HC, _HC, _x),
}
# fmt: on


def transcript_hash(host_hello: bytes, device_hello: bytes) -> bytes:
    """What both AUTH signatures (and every later signed message) bind to: both HELLOs."""
    return hashlib.sha256(cbor.dumps([host_hello, device_hello])).digest()


def _statement(*parts: object) -> bytes:
    return cbor.dumps(list(parts))


def _printable(text: str) -> str:
    """Text safe for an ERROR message: printable ASCII, at most MAX_TEXT characters."""
    return "".join(c if " " <= c <= "~" else "?" for c in text[:MAX_TEXT])


def _negotiate(mine: dict, theirs: dict) -> tuple:
    """``(version, max_frame, window)`` both sides agree on; RemoteProtocolError on a
    downgrade: only versions older than ours, or a required algorithm left out."""
    offered = theirs[K_VERSIONS]
    common = [v for v in offered if v in mine[K_VERSIONS] and v >= MIN_PROTOCOL_VERSION]
    if not common:
        raise RemoteProtocolError(
            ERR_PROTOCOL_VERSION,
            "peer offers protocol versions %r; this side speaks %r and refuses any below %d"
            % (offered, list(mine[K_VERSIONS]), MIN_PROTOCOL_VERSION),
        )
    for alg in REQUIRED_ALGS:
        if alg not in theirs[K_ALGS]:
            raise RemoteProtocolError(
                ERR_ALGORITHM,
                "peer does not offer required algorithm %d (offers %r): refusing a downgrade"
                % (alg, theirs[K_ALGS]),
            )
    return (
        max(common),
        min(mine[K_MAX_FRAME], theirs[K_MAX_FRAME]),
        min(mine[K_WINDOW], theirs[K_WINDOW]),
    )


class _Session:
    """What both sides share: the table walk, HELLO, errors and closing."""

    def __init__(
        self,
        table: dict,
        state_names: tuple,
        closed: int,
        random_bytes: "Callable[[int], bytes]",
        max_frame: int,
        window: int,
        versions: tuple,
        algorithms: tuple,
    ) -> None:
        if type(max_frame) is not int or not MIN_FRAME <= max_frame <= MAX_FRAME:
            raise LocalProtocolError("max_frame must be in %d..%d" % (MIN_FRAME, MAX_FRAME))
        if type(window) is not int or not 1 <= window <= MAX_WINDOW:
            raise LocalProtocolError("window must be in 1..%d" % MAX_WINDOW)
        self.TABLE = table
        self.STATE_NAMES = state_names
        self.CLOSED = closed
        self.state = 0
        self.random_bytes = random_bytes
        self.version = 0
        self.max_frame = max_frame  # negotiated once the HELLOs are exchanged
        self.window = window
        self._limits = {
            K_VERSIONS: list(versions),
            K_MAX_FRAME: max_frame,
            K_WINDOW: window,
            K_ALGS: list(algorithms),
        }
        self._transcript = b""
        self.closed_reason: tuple | None = None  # (code, text, "us" or "peer") once closed

    # --- the table ---

    def state_name(self) -> str:
        return self.STATE_NAMES[self.state]

    def _allowed(self, what: object) -> object:
        row = self.TABLE.get(what)
        return None if row is None else row[self.state]

    def _local(self, call: str) -> object:
        """The state a local call leads to; LocalProtocolError if this state refuses it."""
        if self.state == self.CLOSED:
            raise LocalProtocolError("%s: the session is closed (%r)" % (call, self.closed_reason))
        nxt = self._allowed(call)
        if nxt is None:
            raise LocalProtocolError(
                "%s is not allowed in state %s" % (call, self.state_name()), ERR_UNEXPECTED
            )
        return nxt

    def receive(self, body: bytes) -> list:
        """Feed one received message body; return the events and bodies it gives."""
        if self.state == self.CLOSED:
            raise LocalProtocolError(
                "the session is closed (%r): feed it nothing more" % (self.closed_reason,)
            )
        out: list = []
        try:
            msg_type, fields = decode(body, self.max_frame)
            allowed = self._allowed(msg_type)
            if allowed is None:
                raise RemoteProtocolError(
                    ERR_UNEXPECTED,
                    "%s is not allowed in state %s" % (TYPE_NAMES[msg_type], self.state_name()),
                )
            before = self.state
            getattr(self, "_on_" + TYPE_NAMES[msg_type].lower())(fields, out)
            nxt = allowed if type(allowed) is tuple else (allowed,)
            if self.state not in nxt:
                raise LocalProtocolError(
                    "%s moved %s to %s, which the table does not allow"
                    % (TYPE_NAMES[msg_type], self.STATE_NAMES[before], self.state_name())
                )
        except RemoteProtocolError as exc:
            out = []
            self._fail(exc.code, exc.text, out)
        except LocalProtocolError as exc:
            out = []
            self._fail(exc.code, exc.text, out)
        except Exception as exc:  # this side failed (a store error, a bug): close, say so
            out = []
            self._fail(ERR_INTERNAL, "%s: %s" % (type(exc).__name__, exc), out)
        return out

    def _fail(self, code: int, text: str, out: list) -> None:
        text = _printable(text)
        self._release()
        self.state = self.CLOSED
        self.closed_reason = (code, text, "us")
        out.append(("send", encode(ERROR, {K_CODE: code, K_TEXT: text})))
        out.append(("closed", code, text, "us"))

    def _on_error(self, fields: dict, out: list) -> None:
        self._release()
        self.state = self.CLOSED
        text = _printable(fields[K_TEXT])
        self.closed_reason = (fields[K_CODE], text, "peer")
        out.append(("closed", fields[K_CODE], text, "peer"))

    def _on_bye(self, fields: dict, out: list) -> None:
        self._release()
        self.state = self.CLOSED
        self.closed_reason = (ERR_NONE, "peer said goodbye", "peer")
        out.append(("closed", ERR_NONE, "peer said goodbye", "peer"))

    def bye(self) -> bytes:
        """End the session cleanly; return the BYE body."""
        self._local("bye")
        self._release()
        self.state = self.CLOSED
        self.closed_reason = (ERR_NONE, "this side said goodbye", "us")
        return encode(BYE)

    def abort(self, code: int, text: str) -> bytes:
        """End the session for a reason of this side's (say, the verifier refused an entry);
        return the ERROR body."""
        self._local("abort")
        if code not in ERROR_NAMES or code == ERR_NONE:
            raise LocalProtocolError("abort needs an ERR_* code, not %r" % (code,))
        out: list = []
        self._fail(code, text, out)
        return out[0][1]

    def _release(self) -> None:
        """Drop what a transfer holds (subclasses)."""

    def _hello_fields(self) -> dict:
        nonce = self.random_bytes(NONCE_LEN)
        if type(nonce) is not bytes or len(nonce) != NONCE_LEN:
            raise LocalProtocolError(
                "random_bytes(%d) must return %d bytes" % (NONCE_LEN, NONCE_LEN)
            )
        fields = dict(self._limits)
        fields[K_NONCE] = nonce
        return fields

    def _send(self, out: list, msg_type: int, fields: "dict | None" = None) -> None:
        out.append(("send", encode(msg_type, fields, self.max_frame)))


# --- the device side ----------------------------------------------------------------------


class DeviceSession(_Session):
    """The device's side of one sync session.

    ``signer`` is the device key (None in factory mode), ``pinned_host_keys`` maps host key
    ids to their Ed25519 public keys, ``store_view`` reads the ledger (firmware.store.Store
    fits), ``status()`` returns ``(battery_percent, free_bytes, wall_ms)``, and
    ``config_issued_ms`` is when the last applied config was issued (replays are refused).
    """

    def __init__(
        self,
        device_id: str,
        signer: "Ed25519Signer | None",
        pinned_host_keys: dict,
        store_view: object,
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
        self._release()

    def _release(self) -> None:
        self._entries: object = None  # the store's iterator during a pull
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
        self.version, self.max_frame, self.window = _negotiate(mine, fields)
        head_seq, head_hash = self.store.head()  # type: ignore[attr-defined]
        mine[K_DEVICE] = self.device_id
        mine[K_FIRMWARE] = self.firmware
        mine[K_HEAD_SEQ] = head_seq
        mine[K_HEAD_HASH] = head_hash
        if self.factory:
            mine[K_FACTORY] = True
        hello = encode(HELLO, mine)
        out.append(("send", hello))
        self._transcript = transcript_hash(encode(HELLO, fields), hello)
        if self.factory:
            self.state = D_FACTORY
            return
        sig = self.signer.sign(  # type: ignore[union-attr]
            _statement(AUTH_CONTEXT, "device", self.device_id, self._transcript)
        )
        self._send(out, AUTH, {K_SIG: sig})
        self.state = D_AUTH

    def _on_auth(self, fields: dict, out: list) -> None:
        kid = fields.get(K_KID)
        if kid is None:
            raise RemoteProtocolError(ERR_MALFORMED, "the host's AUTH must name its key id")
        self._check_host_sig(kid, fields[K_SIG], AUTH_CONTEXT, "host", kid, self._transcript)
        self.host_kid = kid
        self.state = D_READY
        out.append(("authenticated", kid))

    def _check_host_sig(self, kid: str, sig: bytes, *parts: object) -> None:
        public = self.pinned.get(kid)
        if public is None:
            raise RemoteProtocolError(
                ERR_UNTRUSTED_HOST, "host key %r is not pinned on this device" % (kid,)
            )
        if not verify_signature(public, _statement(*parts), sig):
            raise RemoteProtocolError(
                ERR_BAD_SIGNATURE,
                "%s signature does not verify with host key %r for this session" % (parts[0], kid),
            )

    # --- requests ---

    def _on_status_req(self, fields: dict, out: list) -> None:
        if self.status is None:
            raise LocalProtocolError("this device has no status source", ERR_INTERNAL)
        battery, free, wall = self.status()
        head_seq, head_hash = self.store.head()  # type: ignore[attr-defined]
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
        self._last_time = wall
        out.append(("time", wall, kid))
        self._send(out, OK, {K_OF: TIME})

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
        self.config_issued_ms = issued
        out.append(("config", raw, settings, kid, issued))
        self._send(out, OK, {K_OF: CONFIG})

    def _on_receipt(self, fields: dict, out: list) -> None:
        through, kid = fields[K_THROUGH], fields[K_KID]
        head_hash, size, root = fields[K_HEAD_HASH], fields[K_LOG_SIZE], fields[K_LOG_ROOT]
        origin = fields[K_LOG_ORIGIN]
        head_seq, _ = self.store.head()  # type: ignore[attr-defined]
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
        out.append(("receipt", through, kid, head_hash, size, root, origin))
        self._send(out, OK, {K_OF: RECEIPT})

    def _entry_hash(self, seq: int) -> bytes:
        """SHA-256 of this ledger's entry at ``seq`` (b"" when the store cannot give it)."""
        for raw in self.store.entries(seq):  # type: ignore[attr-defined]
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
            head_seq, _ = self.store.head()  # type: ignore[attr-defined]
            if start > head_seq:
                raise RemoteProtocolError(
                    ERR_BAD_OFFSET,
                    "pull from seq %d, but this ledger's next seq is %d" % (start, head_seq),
                )
            self._target = head_seq
            self._entries = iter(self.store.entries(start))  # type: ignore[attr-defined]
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
                media = self.store.read_media(digest)  # type: ignore[attr-defined]
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
        held = self.store.has_media(digest)  # type: ignore[attr-defined]
        reason = GONE_DAMAGED if held else GONE_NOT_FOUND
        text = _printable(str(exc) or type(exc).__name__)
        self._send(out, GONE, {K_DIGEST: digest, K_REASON: reason, K_TEXT: text})
        self._open -= 1
        out.append(("gone", digest, reason, text))

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
                out.append(("send", body))
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
            out.append(("send", body))
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
                raw = next(self._entries, None)  # type: ignore[call-overload]
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
        chunk = self._media[start:stop]  # type: ignore[index]
        self._next = stop
        self._last_sent = stop == self._target
        return encode_media_data(self._digest, start, chunk, self._last_sent, self.max_frame)

    # --- factory mode ---

    def _on_provision(self, fields: dict, out: list) -> None:
        self.state = D_KEYGEN
        out.append(("provision", dict(fields[K_HOST_KEYS])))

    def provisioned(self, signer: "Ed25519Signer") -> bytes:
        """The device has made its key (and pinned the host keys): the PROVISIONED body,
        signed with the new key over this session, as proof that the device holds it."""
        self._local("provisioned")
        public = signer.public_key()
        sig = signer.sign(_statement(PROVISIONED_CONTEXT, self.device_id, self._transcript, public))
        self.state = D_DONE
        return encode(PROVISIONED, {K_PUBLIC: public, K_SIG: sig})


# --- the host side ------------------------------------------------------------------------


class HostSession(_Session):
    """The host's side of one sync session with one device.

    ``registry_lookup(device_id)`` returns the enrolled 32-byte public key or None;
    ``host_signer`` is the agency host key whose id, ``host_kid``, the devices pin. With
    ``factory`` the host provisions an unprovisioned device instead of syncing it.
    """

    def __init__(
        self,
        registry_lookup: "Callable[[str], bytes | None]",
        host_signer: "Ed25519Signer",
        host_kid: str,
        random_bytes: "Callable[[int], bytes]",
        max_frame: int = DEFAULT_MAX_FRAME,
        window: int = DEFAULT_WINDOW,
        factory: bool = False,
        versions: tuple = SUPPORTED_VERSIONS,
        algorithms: tuple = REQUIRED_ALGS,
    ) -> None:
        super().__init__(
            HOST_TABLE,
            HOST_STATE_NAMES,
            H_CLOSED,
            random_bytes,
            max_frame,
            window,
            versions,
            algorithms,
        )
        self.lookup = registry_lookup
        self.signer = host_signer
        self.kid = host_kid
        self.factory = factory
        self.device_id = ""
        self.device_key = b""
        self.head_seq = 0  # the device's next seq, as its HELLO announced it
        self._hello = b""
        self._device_hello: dict = {}
        self._waiting = 0  # the request a STATUS or OK answers
        self._have = 0  # entries below this seq are held by the host (pulled, or had before)
        self._expected = 0  # next seq the ledger pull expects
        # Outstanding media pulls, in order: [digest, next offset, ACK body up to the offset,
        # offset asked from].
        self._pulls: list = []

    def start(self) -> bytes:
        """The HELLO that opens the session."""
        self.state = self._local("start")  # type: ignore[assignment]
        self._hello = encode(HELLO, self._hello_fields())
        return self._hello

    def _on_hello(self, fields: dict, out: list) -> None:
        for key in DEVICE_HELLO_FIELDS:
            if key not in fields:
                raise RemoteProtocolError(
                    ERR_MALFORMED, "a device's HELLO must carry id, firmware and ledger head"
                )
        self.version, self.max_frame, self.window = _negotiate(self._limits, fields)
        device = fields[K_DEVICE]
        self.device_id = device
        self.head_seq = fields[K_HEAD_SEQ]
        self._transcript = transcript_hash(self._hello, encode(HELLO, fields))
        if fields.get(K_FACTORY, False):
            if not self.factory:
                raise RemoteProtocolError(
                    ERR_UNKNOWN_DEVICE, "device %r is in factory mode: provision it first" % device
                )
            self.state = H_FACTORY
            out.append(("factory", device))
            return
        if self.factory:
            raise RemoteProtocolError(
                ERR_UNEXPECTED,
                "device %r is already provisioned; this is a factory session" % device,
            )
        public = self.lookup(device)
        if public is None:
            raise RemoteProtocolError(
                ERR_UNKNOWN_DEVICE, "device %r is not enrolled on this host" % device
            )
        self.device_key = public
        self._device_hello = fields
        self.state = H_AUTH

    def _on_auth(self, fields: dict, out: list) -> None:
        if K_KID in fields:
            raise RemoteProtocolError(ERR_MALFORMED, "a device's AUTH carries no key id")
        statement = _statement(AUTH_CONTEXT, "device", self.device_id, self._transcript)
        if not verify_signature(self.device_key, statement, fields[K_SIG]):
            raise RemoteProtocolError(
                ERR_BAD_SIGNATURE,
                "device %r AUTH does not verify with its enrolled key for this session"
                % self.device_id,
            )
        sig = self.signer.sign(_statement(AUTH_CONTEXT, "host", self.kid, self._transcript))
        self._send(out, AUTH, {K_KID: self.kid, K_SIG: sig})
        self.state = H_READY
        hello = self._device_hello
        out.append(
            (
                "authenticated",
                self.device_id,
                hello[K_HEAD_SEQ],
                hello[K_HEAD_HASH],
                hello[K_FIRMWARE],
            )
        )

    # --- requests ---

    def _request(self, call: str, msg_type: int, fields: "dict | None" = None) -> bytes:
        nxt = self._local(call)
        body = encode(msg_type, fields, self.max_frame)
        self.state = nxt  # type: ignore[assignment]
        self._waiting = msg_type
        return body

    def status(self) -> bytes:
        """Ask for battery, storage, clock and ledger head."""
        return self._request("status", STATUS_REQ)

    def set_time(self, wall_ms: int) -> bytes:
        """Tell the device the time, signed for this session."""
        self._local("set_time")
        sig = self.signer.sign(_statement(TIME_CONTEXT, self.kid, self._transcript, wall_ms))
        return self._request("set_time", TIME, {K_CLOCK: wall_ms, K_KID: self.kid, K_SIG: sig})

    def send_config(self, signed_config: bytes) -> bytes:
        """Send a config made by protocol.hostconfig.sign_config."""
        return self._request("send_config", CONFIG, {K_CONFIG: signed_config})

    def durable(
        self, through_seq: int, head_hash: bytes, log_size: int, log_root: bytes, log_origin: str
    ) -> bytes:
        """The daemon holds a verified durable copy of entries through ``through_seq``, whose
        entry hash is ``head_hash``, in the checkpoint of its own log ``log_origin`` of
        ``log_size`` leaves and root ``log_root``: the signed RECEIPT body, for the device to
        check and log."""
        self._local("durable")
        if type(through_seq) is not int or not 0 <= through_seq < self._have:
            raise LocalProtocolError(
                "a receipt may cover only entries this host holds (below seq %d), not %r"
                % (self._have, through_seq)
            )
        statement = _statement(
            RECEIPT_CONTEXT,
            self.kid,
            self._transcript,
            self.device_id,
            through_seq,
            head_hash,
            log_size,
            log_root,
            log_origin,
        )
        fields = {
            K_THROUGH: through_seq,
            K_HEAD_HASH: head_hash,
            K_LOG_SIZE: log_size,
            K_LOG_ROOT: log_root,
            K_LOG_ORIGIN: log_origin,
            K_KID: self.kid,
            K_SIG: self.signer.sign(statement),
        }
        return self._request("durable", RECEIPT, fields)

    def _on_status(self, fields: dict, out: list) -> None:
        if self._waiting != STATUS_REQ:
            raise RemoteProtocolError(ERR_UNEXPECTED, "STATUS answers no STATUS_REQ")
        self.state = H_READY
        self.head_seq = max(self.head_seq, fields[K_HEAD_SEQ])
        out.append(
            (
                "status",
                {
                    "battery": fields[K_BATTERY],
                    "storage": fields[K_STORAGE],
                    "clock": fields[K_CLOCK],
                    "head_seq": fields[K_HEAD_SEQ],
                    "head_hash": fields[K_HEAD_HASH],
                },
            )
        )

    def _on_ok(self, fields: dict, out: list) -> None:
        if fields[K_OF] != self._waiting or self._waiting == STATUS_REQ:
            raise RemoteProtocolError(
                ERR_UNEXPECTED, "OK for %r answers no such request" % (fields[K_OF],)
            )
        self.state = H_READY
        out.append(("ok", fields[K_OF]))

    # --- pulls ---

    def pull(self, from_seq: int) -> bytes:
        """Ask for the ledger from ``from_seq`` (the host's own durable head) to the device's
        head; entries arrive as ("entries", seq, [raw]) events, then ("pulled", next_seq)."""
        nxt = self._local("pull")
        if type(from_seq) is not int or from_seq < 0:
            raise LocalProtocolError("from_seq must be an integer >= 0")
        body = encode(PULL, {K_SEQ: from_seq}, self.max_frame)
        self.state = nxt  # type: ignore[assignment]
        self._expected = from_seq
        self._have = max(self._have, from_seq)
        return body

    def pull_media(self, digest: bytes, offset: int = 0) -> bytes:
        """Ask for media bytes from ``offset``: ("media", digest, offset, data) events, then
        ("media-done", digest, size), or ("gone", digest, reason, text) alone when the device
        cannot give it. Up to ``window`` media pulls may be outstanding; the device answers
        them in the order asked."""
        nxt = self._local("pull_media")
        if len(self._pulls) >= self.window:
            raise LocalProtocolError(
                "at most %d media pulls may be outstanding (the window)" % self.window
            )
        body = encode(PULL, {K_DIGEST: digest, K_OFFSET: offset}, self.max_frame)
        # Every ACK of this pull is the same map but for the offset, which CBOR writes last:
        # encode it once (checked) and append each offset to it.
        ack_head = encode(ACK, {K_DIGEST: digest, K_OFFSET: 0}, self.max_frame)[:-1]
        self.state = nxt  # type: ignore[assignment]
        self._pulls.append([digest, offset, ack_head, offset])
        return body

    def pulls_outstanding(self) -> int:
        """Media pulls asked for whose last DATA has not arrived yet."""
        return len(self._pulls)

    def _on_data(self, fields: dict, out: list) -> None:
        if self.state == H_PULLING:
            self._entries_arrived(fields, out)
        else:
            self._media_arrived(fields, out)

    def _entries_arrived(self, fields: dict, out: list) -> None:
        if K_SEQ not in fields:
            raise RemoteProtocolError(ERR_MALFORMED, "a ledger pull gets entries, not media")
        if fields[K_SEQ] != self._expected:
            raise RemoteProtocolError(
                ERR_BAD_OFFSET,
                "DATA from seq %d, but seq %d is next" % (fields[K_SEQ], self._expected),
            )
        entries = fields[K_ENTRIES]
        if not entries and not fields[K_LAST]:
            raise RemoteProtocolError(ERR_MALFORMED, "only the last DATA may be empty")
        if entries:
            out.append(("entries", self._expected, entries))
        self._expected += len(entries)
        self._have = max(self._have, self._expected)
        out.append(("ack", encode(ACK, {K_SEQ: self._expected}, self.max_frame)))
        if fields[K_LAST]:
            self.head_seq = max(self.head_seq, self._expected)
            self.state = H_READY
            out.append(("pulled", self._expected))

    def _media_arrived(self, fields: dict, out: list) -> None:
        pull = self._pulls[0]  # the device answers pulls in the order they were asked
        digest, expected, ack_head, _start = pull
        if K_DIGEST not in fields or fields[K_DIGEST] != digest:
            raise RemoteProtocolError(ERR_MALFORMED, "DATA is not for the media pulled next")
        if fields[K_OFFSET] != expected:
            raise RemoteProtocolError(
                ERR_BAD_OFFSET,
                "DATA at byte %d, but byte %d is next" % (fields[K_OFFSET], expected),
            )
        data = fields[K_BYTES]
        if not data and not fields[K_LAST]:
            raise RemoteProtocolError(ERR_MALFORMED, "only the last DATA may be empty")
        if data:
            out.append(("media", digest, expected, data))
        expected += len(data)
        pull[1] = expected
        out.append(("ack", ack_head + cbor.dumps(expected)))
        if fields[K_LAST]:
            self._pulls.pop(0)
            if not self._pulls:
                self.state = H_READY
            out.append(("media-done", digest, expected))

    def _on_gone(self, fields: dict, out: list) -> None:
        digest, expected, _ack_head, start = self._pulls[0]
        if fields[K_DIGEST] != digest:
            raise RemoteProtocolError(ERR_MALFORMED, "GONE is not for the media pulled next")
        if expected != start:
            # The device decides before its first DATA; a file cannot vanish halfway.
            raise RemoteProtocolError(
                ERR_UNEXPECTED, "GONE after %d bytes of that media were sent" % (expected - start)
            )
        self._pulls.pop(0)
        if not self._pulls:
            self.state = H_READY
        out.append(("gone", digest, fields[K_REASON], _printable(fields[K_TEXT])))

    # --- factory mode ---

    def provision(self, host_keys: dict) -> bytes:
        """The PROVISION body: the host keys (id -> public key) the device is to pin."""
        nxt = self._local("provision")
        body = encode(PROVISION, {K_HOST_KEYS: dict(host_keys)}, self.max_frame)
        self.state = nxt  # type: ignore[assignment]
        return body

    def _on_provisioned(self, fields: dict, out: list) -> None:
        public = fields[K_PUBLIC]
        statement = _statement(PROVISIONED_CONTEXT, self.device_id, self._transcript, public)
        if not verify_signature(public, statement, fields[K_SIG]):
            raise RemoteProtocolError(
                ERR_BAD_SIGNATURE, "PROVISIONED is not signed by the key it announces"
            )
        self.state = H_DONE
        out.append(("provisioned", self.device_id, public))
