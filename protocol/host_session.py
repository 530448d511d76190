"""The host's side of the sync protocol, sans I/O: ``HostSession``.

The host checks the device's enrolled key (``registry_lookup``), proves its own agency key,
and asks: STATUS, TIME, CONFIG, PULLs of the ledger and of media, and the signed RECEIPT.
DATA arrives as events; the host answers each with an ACK, and ``(E_ACK, body)`` events say
which bodies may be coalesced (an ACK is cumulative: when the next body to send is also an
ACK, this one may be left out). Up to ``window`` media pulls may be outstanding; the device
answers them in the order asked, with DATA or with GONE.

Events (``protocol.session``'s E_* kinds): (E_ACK, body), (E_AUTHENTICATED, device_id,
head_seq, head_hash, firmware), (E_FACTORY, device_id), (E_STATUS, dict), (E_OK, msg_type),
(E_REFUSED, msg_type, code, text) (the device declined a TIME or CONFIG; the session goes
on), (E_ENTRIES, first_seq, [raw]), (E_PULLED, next_seq), (E_MEDIA, digest, offset, data),
(E_MEDIA_DONE, digest, size), (E_GONE, digest, reason, text) (the device cannot give that
media: the pull is over), (E_PROVISIONED, device_id, public_key), and E_SEND and E_CLOSED.
"""

from protocol import cbor
from protocol.messages import (
    ACK,
    AUTH,
    BYE,
    CONFIG,
    DATA,
    DEFAULT_MAX_FRAME,
    DEFAULT_WINDOW,
    ERR_BAD_OFFSET,
    ERR_BAD_SIGNATURE,
    ERR_MALFORMED,
    ERR_UNEXPECTED,
    ERR_UNKNOWN_DEVICE,
    ERROR,
    GONE,
    HELLO,
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
)
from protocol.session import (
    AUTH_CONTEXT,
    E_ACK,
    E_AUTHENTICATED,
    E_ENTRIES,
    E_FACTORY,
    E_GONE,
    E_MEDIA,
    E_MEDIA_DONE,
    E_OK,
    E_PROVISIONED,
    E_PULLED,
    E_REFUSED,
    E_STATUS,
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
    from collections.abc import Callable

    from protocol.signer import Signer

_x = None  # a refused cell in the table below
DEVICE_HELLO_FIELDS = (K_DEVICE, K_FIRMWARE, K_HEAD_SEQ, K_HEAD_HASH)

# --- host states --------------------------------------------------------------------------
H_IDLE = 0  # nothing sent yet
H_HELLO = 1  # sent HELLO; waiting for the device's
H_AUTH = 2  # got the device's HELLO; waiting for its AUTH
H_READY = 3  # both sides proven; the host may ask
H_WAIT = 4  # asked for STATUS, TIME, CONFIG or RECEIPT; waiting for STATUS, OK or REFUSED
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
    REFUSED:         (_x,  _x,        _x,  _x,  _HR, _x,         _x,         _x,  _x,  _x,  _x),
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


class HostSession(SyncSession):
    """The host's side of one sync session with one device.

    ``registry_lookup(device_id)`` returns the enrolled 32-byte public key or None;
    ``host_signer`` is the agency host key whose id, ``host_kid``, the devices pin. With
    ``factory`` the host provisions an unprovisioned device instead of syncing it.
    """

    def __init__(
        self,
        registry_lookup: "Callable[[str], bytes | None]",
        host_signer: "Signer",
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
        self.state = self._local("start")
        self._hello = encode(HELLO, self._hello_fields())
        return self._hello

    def _on_hello(self, fields: dict, out: list) -> None:
        for key in DEVICE_HELLO_FIELDS:
            if key not in fields:
                raise RemoteProtocolError(
                    ERR_MALFORMED, "a device's HELLO must carry id, firmware and ledger head"
                )
        self.version, self.max_frame, self.window = negotiate(self._limits, fields)
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
            out.append((E_FACTORY, device))
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
        statement = to_sign(AUTH_CONTEXT, "device", self.device_id, self._transcript)
        if not verify_signature(self.device_key, statement, fields[K_SIG]):
            raise RemoteProtocolError(
                ERR_BAD_SIGNATURE,
                "device %r AUTH does not verify with its enrolled key for this session"
                % self.device_id,
            )
        sig = self.signer.sign(to_sign(AUTH_CONTEXT, "host", self.kid, self._transcript))
        self._send(out, AUTH, {K_KID: self.kid, K_SIG: sig})
        self.state = H_READY
        hello = self._device_hello
        out.append(
            (
                E_AUTHENTICATED,
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
        self.state = nxt
        self._waiting = msg_type
        return body

    def status(self) -> bytes:
        """Ask for battery, storage, clock and ledger head."""
        return self._request("status", STATUS_REQ)

    def set_time(self, wall_ms: int) -> bytes:
        """Tell the device the time, signed for this session."""
        self._local("set_time")
        sig = self.signer.sign(to_sign(TIME_CONTEXT, self.kid, self._transcript, wall_ms))
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
        statement = to_sign(
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
                E_STATUS,
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
        out.append((E_OK, fields[K_OF]))

    def _on_refused(self, fields: dict, out: list) -> None:
        of = fields[K_OF]
        if of != self._waiting or (of != TIME and of != CONFIG):
            raise RemoteProtocolError(
                ERR_UNEXPECTED, "REFUSED of %r answers no TIME or CONFIG asked" % (of,)
            )
        self.state = H_READY
        out.append((E_REFUSED, of, fields[K_CODE], printable(fields[K_TEXT])))

    # --- pulls ---

    def pull(self, from_seq: int) -> bytes:
        """Ask for the ledger from ``from_seq`` (the host's own durable head) to the device's
        head; entries arrive as (E_ENTRIES, seq, [raw]) events, then (E_PULLED, next_seq)."""
        nxt = self._local("pull")
        if type(from_seq) is not int or from_seq < 0:
            raise LocalProtocolError("from_seq must be an integer >= 0")
        body = encode(PULL, {K_SEQ: from_seq}, self.max_frame)
        self.state = nxt
        self._expected = from_seq
        self._have = max(self._have, from_seq)
        return body

    def pull_media(self, digest: bytes, offset: int = 0) -> bytes:
        """Ask for media bytes from ``offset``: (E_MEDIA, digest, offset, data) events, then
        (E_MEDIA_DONE, digest, size), or (E_GONE, digest, reason, text) alone when the device
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
        self.state = nxt
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
            out.append((E_ENTRIES, self._expected, entries))
        self._expected += len(entries)
        self._have = max(self._have, self._expected)
        out.append((E_ACK, encode(ACK, {K_SEQ: self._expected}, self.max_frame)))
        if fields[K_LAST]:
            self.head_seq = max(self.head_seq, self._expected)
            self.state = H_READY
            out.append((E_PULLED, self._expected))

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
            out.append((E_MEDIA, digest, expected, data))
        expected += len(data)
        pull[1] = expected
        out.append((E_ACK, ack_head + cbor.dumps(expected)))
        if fields[K_LAST]:
            self._pulls.pop(0)
            if not self._pulls:
                self.state = H_READY
            out.append((E_MEDIA_DONE, digest, expected))

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
        out.append((E_GONE, digest, fields[K_REASON], printable(fields[K_TEXT])))

    # --- factory mode ---

    def provision(self, host_keys: dict) -> bytes:
        """The PROVISION body: the host keys (id -> public key) the device is to pin."""
        nxt = self._local("provision")
        body = encode(PROVISION, {K_HOST_KEYS: dict(host_keys)}, self.max_frame)
        self.state = nxt
        return body

    def _on_provisioned(self, fields: dict, out: list) -> None:
        public = fields[K_PUBLIC]
        statement = to_sign(PROVISIONED_CONTEXT, self.device_id, self._transcript, public)
        if not verify_signature(public, statement, fields[K_SIG]):
            raise RemoteProtocolError(
                ERR_BAD_SIGNATURE, "PROVISIONED is not signed by the key it announces"
            )
        self.state = H_DONE
        out.append((E_PROVISIONED, self.device_id, public))
