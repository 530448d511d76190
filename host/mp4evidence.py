"""The sealcam evidence box: what an exported MP4 carries so that it verifies alone.

An export of an fMP4 recording ends with one top-level ``uuid`` box (ISO/IEC 14496-12
§4.2: ``size``, ``"uuid"``, a 16-byte user type, then the payload). Players skip a ``uuid``
box they do not know, so the footage plays as it is. Its user type is EVIDENCE_UUID,
fixed for sealcam:

    d03810e5-3c75-5633-9e6b-80fa568bfabb
    (the name-based UUID, version 5, of "urn:sealcam:evidence-box:1" in the URL namespace)

Its payload is one deterministic CBOR map (RFC 8949 §4.2) with text keys, so that a court
expert reads it with any CBOR tool and checks the entries with any COSE tool:

    "sealcam":    1, the version of this payload's layout
    "device_id":  the device's id (text)
    "device_key": the device's public key, a COSE_Key (RFC 9052 §7) as a byte string, the
                  same bytes as the device's key file ``device.pub``
    "recording":  the recording's id (bytes; the seq of its record-start, 8 bytes)
    "entries":    the device's ledger entries from the recording's record-start to its
                  record-stop (every entry between, pauses, resumes and the announcement
                  included), each the exact COSE_Sign1 bytes the device signed, in seq order
    "export":     who exported it ("by"), when ("at", ISO 8601 UTC, and "at_ms"), with what
                  ("tool", name and version) and from where ("source")

The carried key lets anyone check the entries' signatures and chain; only a key obtained
elsewhere (the agency's enrolment register) says that the device is the one it claims.
"""

from host.errors import Unusable
from protocol import cbor, mp4
from protocol.errors import ProtocolError
from protocol.keys import DeviceKey, decode_key

EVIDENCE_UUID = bytes.fromhex("d03810e53c7556339e6b80fa568bfabb")
LAYOUT = 1
# A one-hour recording's entries take about 4 MB (a chunk a second, 30 frame digests each);
# a payload far past a shift's worth is not ours.
MAX_EVIDENCE_BYTES = 256 << 20


class EvidenceProblem(ValueError):
    """The evidence box is not readable as sealcam evidence; the message says what is wrong,
    in English (the report's ``--json``); ``msg_id`` and ``fields`` say the same in the
    reader's language (``host.problems``)."""

    def __init__(self, message: str, msg_id: str, **fields: object) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.fields = fields


class Evidence:
    """What an evidence box holds, decoded."""

    def __init__(
        self,
        device_id: str,
        key: "DeviceKey | None",
        recording: bytes,
        entries: list,
        export: dict,
    ) -> None:
        self.device_id = device_id
        self.key = key
        self.recording = recording
        self.entries = entries  # encoded entries (bytes), in the order the box holds them
        self.export = export


def payload(
    device_id: str, public_key: bytes, recording: bytes, entries: list, export: dict
) -> bytes:
    """The CBOR payload of an evidence box (the layout above)."""
    return cbor.dumps(
        {
            "sealcam": LAYOUT,
            "device_id": device_id,
            "device_key": _public_key_file(device_id, public_key),
            "recording": recording,
            "entries": [bytes(e) for e in entries],
            "export": export,
        }
    )


def _public_key_file(device_id: str, public_key: bytes) -> bytes:
    from protocol.keys import encode_key

    return encode_key(DeviceKey(device_id, public_key))


def box(body: bytes) -> bytes:
    """The whole top-level ``uuid`` box holding ``body`` (an evidence payload)."""
    if len(body) > MAX_EVIDENCE_BYTES:
        raise Unusable(
            "the evidence of this recording takes %d bytes, more than one box holds (%d)"
            % (len(body), MAX_EVIDENCE_BYTES)
        )
    return mp4.uuid_box(EVIDENCE_UUID, body)


def decode(body: bytes) -> Evidence:
    """Read an evidence payload; EvidenceProblem saying what is wrong."""
    try:
        m = cbor.loads(body)
    except ProtocolError as exc:
        # The decoder's reason, and where the bytes went wrong, said in the reader's
        # language by its message id (host.problems).
        raise EvidenceProblem(
            "its payload is not deterministic CBOR (%s)" % exc, "mp4ev.not_cbor", why=exc
        ) from None
    if type(m) is not dict:
        raise EvidenceProblem("its payload is not a CBOR map", "mp4ev.not_map")
    if m.get("sealcam") != LAYOUT:
        raise EvidenceProblem(
            "its layout version is %r, not %d" % (m.get("sealcam"), LAYOUT),
            "mp4ev.layout",
            found=m.get("sealcam"),
            layout=LAYOUT,
        )
    device_id = m.get("device_id")
    recording = m.get("recording")
    entries = m.get("entries")
    export = m.get("export", {})
    if type(device_id) is not str or not device_id:
        raise EvidenceProblem("it names no device id", "mp4ev.no_device")
    if type(recording) is not bytes:
        raise EvidenceProblem("it names no recording id", "mp4ev.no_recording")
    if type(entries) is not list or not all(type(e) is bytes for e in entries):
        raise EvidenceProblem("its entries are not a list of byte strings", "mp4ev.entries")
    if type(export) is not dict:
        raise EvidenceProblem("its export facts are not a map", "mp4ev.export")
    key = None
    raw_key = m.get("device_key")
    if raw_key is not None:
        if type(raw_key) is not bytes:
            raise EvidenceProblem("its device key is not a COSE_Key byte string", "mp4ev.key_type")
        try:
            key = decode_key(raw_key)
        except ProtocolError as exc:
            # The key reader's reason, in the reader's language by its id (host.problems).
            raise EvidenceProblem(
                "its device key is not readable (%s)" % exc, "mp4ev.key_unreadable", why=exc
            ) from None
    return Evidence(device_id, key, recording, entries, export)
