"""The one registry of ledger numbers: payload field keys, entry kinds, event codes, reasons.

Every number a ledger entry carries is defined here and nowhere else. Keys below 24 encode
in one byte, so the fields every entry has take the smallest ones. Numbers are never
reused: a retired field keeps its number, commented out.
"""

FORMAT_VERSION = 1

# COSE (RFC 9052 / 9053)
COSE_SIGN1_TAG = 18
COSE_HDR_ALG = 1
COSE_HDR_KID = 4
COSE_ALG_EDDSA = -8
SIG_CONTEXT = "Signature1"

# COSE_Key (RFC 9052 §7, RFC 9053 §7.2) for the device key files
COSE_KEY_KTY = 1
COSE_KEY_KID = 2
COSE_KEY_ALG = 3
COSE_KEY_CRV = -1
COSE_KEY_X = -2
COSE_KEY_D = -4
COSE_KTY_OKP = 1
COSE_CRV_ED25519 = 6

# The longest device or host id, in characters: the kid of every entry's protected header,
# the id in HELLO (messages.K_DEVICE) and the host key id (messages.K_KID) are 1..this.
MAX_ID_LEN = 64
_ID_PUNCTUATION = "-_."  # besides ASCII letters and digits, in an id that names a file


def id_problem(text: object, what: str = "a device id", file_name: bool = False) -> str:
    """Why ``text`` cannot serve as a device or host id, or "" when it can: the protocol
    carries ids of 1..MAX_ID_LEN characters, so a longer one could never dock. ``file_name``
    adds the rule for an id that names a key file on a board (ASCII letters, digits and
    "-_.", not starting with "."), which provisioning applies. ``what`` starts the message."""
    if type(text) is not str:
        return "%s is text, not %s" % (what, type(text).__name__)
    if not 1 <= len(text) <= MAX_ID_LEN:
        return "%s must be 1 to %d characters, not %d (%r)" % (
            what,
            MAX_ID_LEN,
            len(text),
            text[:24],
        )
    if file_name:
        if text[0] == ".":
            return "%s %r must not start with '.'" % (what, text)
        for ch in text:
            if ord(ch) > 127 or not (ch.isalpha() or ch.isdigit() or ch in _ID_PUNCTUATION):
                return "%s %r may hold only ASCII letters, digits, '-', '_' and '.'" % (what, text)
    return ""


# --- payload fields every entry has ---
F_VERSION = 0  # format version (FORMAT_VERSION)
F_DEVICE = 1  # device id, text (the serial number the host enrols)
F_SEQ = 2  # device-wide sequence number: starts at 0, never reused, survives reboots
F_PREV = 3  # SHA-256 of the previous entry's full encoded bytes; 32 zero bytes for seq 0
F_WALL_MS = 4  # RTC wall time, ms since the Unix epoch
F_MONO_MS = 5  # monotonic time since boot, ms
F_BOOT = 6  # boot counter
F_KIND = 7  # KIND_CHUNK or KIND_EVENT

# --- chunk fields ---
F_RECORDING = 8  # recording id, bytes
F_CHUNK_INDEX = 9  # index of the chunk within its recording
F_START_MS = 10  # wall time of the first frame
F_END_MS = 11  # wall time after the last frame
F_FRAME_HASHES = 12  # per-frame digests in capture order: SHA-256 cut to 16 bytes (frames.py)
F_MEDIA_TYPE = 13  # MEDIA_* code
F_PLAIN_LEN = 14  # plaintext length in bytes
F_PLAIN_SHA = 15  # SHA-256 of the plaintext media bytes
F_CIPHER_SHA = 16  # SHA-256 of the sealed media bytes, when encrypted
F_CIPHER_ALG = 17  # CIPHER_* code, when encrypted
F_GPS = 18  # [lat_e7, lon_e7, accuracy_m]: degrees x 1e7 as integers, no floats

# --- event fields ---
F_EVENT = 19  # EV_* code
F_REASON = 20  # PAUSE_* code for pause and resume events, or a NO_RECORD_* code
F_SPOKEN = 21  # entry hash of the chunk holding the spoken reason (resume)
F_DETAIL = 22  # map of event-specific detail, keys documented with each event
F_OFFICER = 23  # officer id, text

KIND_CHUNK = 0
KIND_EVENT = 1
KIND_NAMES = {KIND_CHUNK: "chunk", KIND_EVENT: "event"}

MEDIA_H264 = 1
MEDIA_H265 = 2
MEDIA_MJPEG = 3
MEDIA_AAC = 4
MEDIA_PCM = 5
MEDIA_OPUS = 6
# Fragmented MP4: a recording's initialisation segment (ftyp + moov, chunk index 0), then one
# fragment (moof + mdat) per chunk holding a GOP of video and the audio captured during it.
MEDIA_MP4_INIT = 7
MEDIA_MP4 = 8
MEDIA_NAMES = {
    MEDIA_H264: "video/h264",
    MEDIA_H265: "video/h265",
    MEDIA_MJPEG: "video/mjpeg",
    MEDIA_AAC: "audio/aac",
    MEDIA_PCM: "audio/pcm",
    MEDIA_OPUS: "audio/opus",
    MEDIA_MP4_INIT: "video/mp4-init",
    MEDIA_MP4: "video/mp4",
}

CIPHER_SEALED_BOX = 1  # libsodium crypto_box_seal to the agency's X25519 key

EV_BOOT = 1
EV_SELF_CHECK = 2
EV_RECORD_START = 3
EV_RECORD_STOP = 4
EV_ANNOUNCEMENT = 5
EV_NARRATION = 6
EV_PAUSE = 7
EV_RESUME = 8
EV_NO_RECORD = 9
EV_MARK_IMPORTANT = 10
EV_CLOCK_SET = 11
EV_CONFIG_APPLIED = 12
EV_STORAGE_LOW = 13
EV_BATTERY_LOW = 14
EV_POWER_LOSS_RECOVERED = 15
EV_HOST_RECEIPT = 16
EV_EVICTION = 17
EV_OVERRUN = 18
EV_KEY_CREATED = 19
EV_RECORD_REFUSED = 20  # record pressed while the device cannot record, and why
# The device's on-card retention index was missing or damaged and was rebuilt from the
# ledger at boot; detail {"reason": "missing" | "damaged", "through_seq": last seq folded}
EV_INDEX_REBUILT = 21

EVENT_NAMES = {
    EV_BOOT: "boot",
    EV_SELF_CHECK: "self-check",
    EV_RECORD_START: "record-start",
    EV_RECORD_STOP: "record-stop",
    EV_ANNOUNCEMENT: "announcement",
    EV_NARRATION: "narration",
    EV_PAUSE: "pause",
    EV_RESUME: "resume",
    EV_NO_RECORD: "no-record",
    EV_MARK_IMPORTANT: "mark-important",
    EV_CLOCK_SET: "clock-set",
    EV_CONFIG_APPLIED: "config-applied",
    EV_STORAGE_LOW: "storage-low",
    EV_BATTERY_LOW: "battery-low",
    EV_POWER_LOSS_RECOVERED: "power-loss-recovered",
    EV_HOST_RECEIPT: "host-receipt",
    EV_EVICTION: "eviction",
    EV_OVERRUN: "overrun",
    EV_KEY_CREATED: "key-created",
    EV_RECORD_REFUSED: "record-refused",
    EV_INDEX_REBUILT: "index-rebuilt",
}

# Objective reasons a recording may stop (R-DEV-9)
PAUSE_FAULT = 1
PAUSE_DAMAGE = 2
PAUSE_WEATHER = 3
PAUSE_BATTERY = 4
PAUSE_STORAGE = 5
PAUSE_PLACE_CHANGE = 6
PAUSE_OBSTRUCTION = 7
PAUSE_OTHER = 8
PAUSE_NAMES = {
    PAUSE_FAULT: "fault",
    PAUSE_DAMAGE: "damage",
    PAUSE_WEATHER: "weather",
    PAUSE_BATTERY: "battery",
    PAUSE_STORAGE: "storage",
    PAUSE_PLACE_CHANGE: "place-change",
    PAUSE_OBSTRUCTION: "obstruction",
    PAUSE_OTHER: "other",
}

# Why recording was not possible (R-DEV-11)
NO_RECORD_EXPLOSIVE_AREA = 1
NO_RECORD_SECRECY = 2
NO_RECORD_PRIVACY = 3
NO_RECORD_EMERGENCY = 4
NO_RECORD_OBJECTIVE = 5
NO_RECORD_NAMES = {
    NO_RECORD_EXPLOSIVE_AREA: "explosive-area",
    NO_RECORD_SECRECY: "secrecy",
    NO_RECORD_PRIVACY: "privacy",
    NO_RECORD_EMERGENCY: "emergency",
    NO_RECORD_OBJECTIVE: "objective-cause",
}

HASH_LEN = 32
ZERO_HASH = bytes(HASH_LEN)
COMMON_FIELDS = (F_VERSION, F_DEVICE, F_SEQ, F_PREV, F_WALL_MS, F_MONO_MS, F_BOOT, F_KIND)
