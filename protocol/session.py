"""What both roles of the sync protocol share: the table walk, HELLO, errors and closing.

The protocol has two sans-I/O state machines, one per role: ``DeviceSession``
(``protocol.device_session``, the only one a board carries) and ``HostSession``
(``protocol.host_session``). Each is fed message bodies (``receive(body)``) and returns a
list of events, tuples whose first item names them (the ``E_*`` constants below);
``(E_SEND, body)`` is a body to hand to the framing layer. Local requests
(``host.pull(0)``, ``host.durable(41)``, ...) return the body to send. Nothing here
touches a socket, a file or a clock; randomness comes from the injected
``random_bytes(n)``.

A session opens with HELLO both ways and mutual challenge-response: the host sends HELLO
with its nonce; the device answers HELLO (its nonce, id, firmware, ledger head) and AUTH,
its device-key signature over the transcript (both HELLO bodies); the host checks that the
device is enrolled and the signature verifies, and answers AUTH, signed with an agency host
key the device must have pinned. As both nonces are in the transcript, an AUTH replayed
from another session does not verify; as both HELLOs are, a peer stripped of versions or
algorithms by someone in the middle does not either. TIME and RECEIPT are signed over the
transcript too, so they hold for this session only.

Whatever the peer sends that breaks the protocol ends in ``(E_SEND, ERROR body)`` and
``(E_CLOSED, code, text, "us")``, never in an exception; an ERROR or BYE from the peer
gives ``(E_CLOSED, code, text, "peer")``. Exceptions are for the caller's own mistakes
(LocalProtocolError): a request in a state that does not allow it, feeding a closed
session. Anything else a handler raises (a store that fails, a bug) is not the protocol's
to hide: it propagates to the caller, whose link closes the session with ERR_INTERNAL
(``abort``) and logs why.
"""

import hashlib

from protocol import cbor
from protocol.messages import (
    BYE,
    ERR_ALGORITHM,
    ERR_NONE,
    ERR_PROTOCOL_VERSION,
    ERR_UNEXPECTED,
    ERROR,
    ERROR_NAMES,
    K_ALGS,
    K_CODE,
    K_MAX_FRAME,
    K_NONCE,
    K_TEXT,
    K_VERSIONS,
    K_WINDOW,
    MAX_FRAME,
    MAX_TEXT,
    MAX_WINDOW,
    MIN_FRAME,
    MIN_PROTOCOL_VERSION,
    NONCE_LEN,
    REQUIRED_ALGS,
    TYPE_NAMES,
    LocalProtocolError,
    RemoteProtocolError,
    decode,
    encode,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable

# What each signature covers: a context string, the signer's role, and this session's
# transcript hash, so that no signature is valid in another role, message or session.
AUTH_CONTEXT = "sealcam-auth/1"
TIME_CONTEXT = "sealcam-time/1"
RECEIPT_CONTEXT = "sealcam-receipt/2"  # /2: the head hash and the host checkpoint too
PROVISIONED_CONTEXT = "sealcam-provisioned/1"

# --- event kinds: the first item of every event a session returns --------------------------
# Both sides.
E_SEND = "send"  # (E_SEND, body): a body for the peer
E_CLOSED = "closed"  # (E_CLOSED, code, text, "us" or "peer")
E_AUTHENTICATED = "authenticated"  # the peer proved its key (fields: see each side)
E_GONE = "gone"  # (E_GONE, digest, reason, text): a media pull the device cannot serve
# The device's.
E_TIME = "time"  # (E_TIME, wall_ms, host_kid): accept or refuse it
E_CONFIG = "config"  # (E_CONFIG, raw, settings, host_kid, issued_ms): accept or refuse it
E_RECEIPT = "receipt"  # (E_RECEIPT, through_seq, host_kid, head_hash, size, root, origin)
E_PROVISION = "provision"  # (E_PROVISION, host_keys): make the key, then provisioned()
# The host's.
E_ACK = "ack"  # (E_ACK, body): an ACK to send, which a later ACK may replace
E_FACTORY = "factory"  # (E_FACTORY, device_id)
E_STATUS = "status"  # (E_STATUS, dict)
E_OK = "ok"  # (E_OK, msg_type): the device accepted a TIME, CONFIG or RECEIPT
E_REFUSED = "refused"  # (E_REFUSED, msg_type, code, text): it declined a TIME or CONFIG
E_ENTRIES = "entries"  # (E_ENTRIES, first_seq, [raw])
E_PULLED = "pulled"  # (E_PULLED, next_seq)
E_MEDIA = "media"  # (E_MEDIA, digest, offset, data)
E_MEDIA_DONE = "media-done"  # (E_MEDIA_DONE, digest, size)
E_PROVISIONED = "provisioned"  # (E_PROVISIONED, device_id, public_key)


def transcript_hash(host_hello: bytes, device_hello: bytes) -> bytes:
    """What both AUTH signatures (and every later signed message) bind to: both HELLOs."""
    return hashlib.sha256(cbor.dumps([host_hello, device_hello])).digest()


def to_sign(*parts: object) -> bytes:
    return cbor.dumps(list(parts))


def printable(text: str) -> str:
    """Text safe for an ERROR message: printable ASCII, at most MAX_TEXT characters."""
    return "".join(c if " " <= c <= "~" else "?" for c in text[:MAX_TEXT])


def negotiate(mine: dict, theirs: dict) -> tuple:
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


class SyncSession:
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

    def _allowed(self, what: "int | str") -> "int | tuple | None":
        row = self.TABLE.get(what)
        return None if row is None else row[self.state]

    def _local(self, call: str) -> int:
        """The state a local call leads to; LocalProtocolError if this state refuses it."""
        if self.state == self.CLOSED:
            raise LocalProtocolError("%s: the session is closed (%r)" % (call, self.closed_reason))
        nxt = self._allowed(call)
        if not isinstance(nxt, int):  # a local call leads to one state, or is refused
            raise LocalProtocolError(
                "%s is not allowed in state %s" % (call, self.state_name()), ERR_UNEXPECTED
            )
        return nxt

    def receive(self, body: bytes) -> list:
        """Feed one received message body; return the events and bodies it gives. What the
        peer got wrong closes the session with an ERROR; an exception is this side's own
        failure (see the module's docstring)."""
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
        # Anything else (a store that fails, a bug) is not the protocol's to hide: it reaches
        # the caller, whose link logs it and ends the session with abort(ERR_INTERNAL, ...).
        return out

    def _fail(self, code: int, text: str, out: list) -> None:
        text = printable(text)
        self._release()
        self.state = self.CLOSED
        self.closed_reason = (code, text, "us")
        out.append((E_SEND, encode(ERROR, {K_CODE: code, K_TEXT: text})))
        out.append((E_CLOSED, code, text, "us"))

    def _on_error(self, fields: dict, out: list) -> None:
        self._release()
        self.state = self.CLOSED
        text = printable(fields[K_TEXT])
        self.closed_reason = (fields[K_CODE], text, "peer")
        out.append((E_CLOSED, fields[K_CODE], text, "peer"))

    def _on_bye(self, fields: dict, out: list) -> None:
        self._release()
        self.state = self.CLOSED
        self.closed_reason = (ERR_NONE, "peer said goodbye", "peer")
        out.append((E_CLOSED, ERR_NONE, "peer said goodbye", "peer"))

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
        out.append((E_SEND, encode(msg_type, fields, self.max_frame)))
