"""The recorder: the officer's camera as a sans-I/O state machine.

Every input is a method call that carries its own time: ``now_ms`` from the wall clock (RTC)
and ``mono_ms`` from the monotonic clock. Every input returns a list of actions, plain tuples
the caller carries out in order:

    (STORE, entry_raw, media, entry)
                                append ``entry_raw`` to the ledger; for a chunk, keep ``media``
                                (the chunk's bytes, hashed in the entry's plain SHA-256; sealed
                                bytes when the agency requires it) beside it; ``media`` is None
                                for an event; ``entry`` is ``entry_raw`` parsed (the writer's
                                Entry)
    (PROMPT, prompt_id, text)   say or show ``text`` to the officer
    (INDICATOR, name, value)    set a light, the buzzer or the vibrator (R-DEV-16)
    (STATUS, status)            redraw the display: state, battery, storage, time (R-DEV-16)

The recorder owns the device's LedgerWriter, so every chunk and event is chained and signed
in the order it happened. It reads no clock, file or button itself: the same object runs under
MicroPython's asyncio, CPython, the simulator's virtual clock and the tests.

A chunk's media takes one of two forms.

Raw (no packager: boards, the simulator, older stores): video and audio are separate streams
of separate chunks, a chunk's media is its frames concatenated in capture order. A video
chunk closes at the first keyframe once ``chunk_ms`` has passed, or at ``max_chunk_ms`` when
no keyframe comes; an audio chunk closes at ``chunk_ms``. Chunk indices count every chunk of
a recording, both streams and the spoken reasons, so an index names one chunk.

Fragmented MP4 (``packager`` given, see firmware.packager): the samples go to a fragmenter
(firmware.fragmenter), which cuts them into the recording's initialisation segment (chunk 0)
and one fragment a GOP, with the audio captured during it, and the spoken reason after a
resume as an audio-only fragment that EV_RESUME points at; the recorder chains what it cuts
into the ledger. A fragment must start decodable, so video waits for a keyframe after the
button, a resume or lost frames; ``wants_keyframe`` tells the port's encoder to make one now.
EV_RECORD_START names ``origin_mono``, the monotonic ms that media time 0 stands for.
"""

import hashlib

from firmware.errors import ConfigError, RecorderError
from firmware.fragmenter import CUT_LOST, GopFragmenter
from protocol.frames import FrameHashes, frame_digest
from protocol.ledger import LedgerWriter
from protocol.registry import (
    COMMON_FIELDS,
    EV_ANNOUNCEMENT,
    EV_BATTERY_LOW,
    EV_BOOT,
    EV_CLOCK_SET,
    EV_CONFIG_APPLIED,
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_INDEX_REBUILT,
    EV_KEY_CREATED,
    EV_MARK_IMPORTANT,
    EV_NARRATION,
    EV_NO_RECORD,
    EV_OVERRUN,
    EV_PAUSE,
    EV_POWER_LOSS_RECOVERED,
    EV_RECORD_REFUSED,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    EV_SELF_CHECK,
    EV_STORAGE_LOW,
    F_CHUNK_INDEX,
    F_CIPHER_ALG,
    F_CIPHER_SHA,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_FRAME_HASHES,
    F_GPS,
    F_MEDIA_TYPE,
    F_OFFICER,
    F_PLAIN_LEN,
    F_PLAIN_SHA,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_AAC,
    MEDIA_H264,
    MEDIA_H265,
    MEDIA_MJPEG,
    MEDIA_OPUS,
    MEDIA_PCM,
    NO_RECORD_NAMES,
    PAUSE_NAMES,
    ZERO_HASH,
)

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from firmware.fragmenter import Fragmenter
    from firmware.packager import Packager
    from protocol.signer import Ed25519Signer


# --- states ----------------------------------------------------------------------------------
SELF_CHECK = 0  # powered on, waiting for the pre-use check (R-DEV-7)
IDLE = 1  # ready; no frames buffered
PRE_RECORD = 2  # ready; the last pre_record_ms of frames are buffered (R-DEV-15)
RECORDING = 3
RESUMING = 4  # recording again; the spoken reason for the pause is being captured (R-DEV-9)
PAUSED = 5  # stopped for a stated objective reason; the recording id stays (R-DEV-9, 10)
REFUSING = 6  # cannot record (storage full, camera fault); says why when asked
STATE_NAMES = ("SELF_CHECK", "IDLE", "PRE_RECORD", "RECORDING", "RESUMING", "PAUSED", "REFUSING")

# Short names for the table below, and nothing else.
_SC, _ID, _PR, _RE, _RS, _PA, _RF = 0, 1, 2, 3, 4, 5, 6
_x = None

# Which input each state accepts and where it leads: one row per input, one column per state
# (_SC SELF_CHECK, _ID IDLE, _PR PRE_RECORD, _RE RECORDING, _RS RESUMING, _PA PAUSED,
# _RF REFUSING). A cell is the next state; a pair lists the states the facts may lead to, the
# usual one first; _x refuses the input with RecorderError and changes nothing.
# fmt: off
TRANSITIONS: dict = {
    # input               _SC         _ID         _PR         _RE  _RS         _PA  _RF
    "power_on":           ((_ID, _RF), _x,        _x,         _x,  _x,         _x,  _x),
    "frame":              (_x,        (_PR, _ID), (_PR, _ID), _RE, (_RS, _RE), _PA, _RF),
    "audio":              (_x,        (_PR, _ID), (_PR, _ID), _RE, (_RS, _RE), _PA, _RF),
    "press_record":       (_x,        (_RE, _RF), (_RE, _RF), _x,  _x,         _x,  _RF),
    "press_stop":         (_x,        _x,         _x,         _ID, _ID,        _ID, _x),
    "pause":              (_x,        _x,         _x,         _PA, _PA,        _x,  _x),
    "resume":             (_x,        _x,         _x,         _x,  _x,         _RS, _x),
    "spoken_reason_done": (_x,        _x,         _x,         _x,  _RE,        _x,  _x),
    "announce_done":      (_x,        _x,         _x,         _RE, _RS,        _x,  _x),
    "narration_done":     (_x,        _x,         _x,         _RE, _RS,        _x,  _x),
    "mark_important":     (_x,        _x,         _x,         _RE, _RS,        _PA, _x),
    "no_record":          (_x,        _ID,        _PR,        _x,  _x,         _x,  _RF),
    "tick":               (_SC,       _ID,        (_PR, _ID), _RE, (_RS, _RE), _PA, _RF),
    "battery":            (_x,        _ID,        _PR,        _RE, _RS,        _PA, _RF),
    "storage":            (_x,        (_ID, _RF), (_PR, _RF), _RE, _RS,        _PA, (_RF, _ID)),
    "host_config":        (_x,        _ID,        _PR,        _x,  _x,         _x,  _RF),
    "overrun":            (_x,        _ID,        _PR,        _RE, _RS,        _PA, _RF),
    "log_event":          (_SC,       _ID,        _PR,        _RE, _RS,        _PA, _RF),
}
# fmt: on

# --- actions ---------------------------------------------------------------------------------
STORE = "store"
PROMPT = "prompt"
INDICATOR = "indicator"
STATUS = "status"

# Indicator names and the values they take.
LIGHT_RECORD = "record-light"  # "on" while recording, "blink" while paused, else "off"
LIGHT_STATUS = "status-light"  # "ok", "warn" (a check failed but recording works), "fault"
BUZZER = "buzzer"  # a sound or vibration: "power-on", "record-start", "record-stop", ...

# Prompt ids (a port may play a recorded voice per id); the text is what the officer hears
# or reads.
P_ANNOUNCE = 1
P_NARRATE = 2
P_STATE_REASON = 3
P_SELF_CHECK = 4
P_REFUSING = 5
P_READY = 6
P_BATTERY_LOW = 7
P_STORAGE_LOW = 8

ANNOUNCEMENT = "为保护您的合法权益，监督我们的执法行为，本次执法全程录音录像。"  # R-DEV-8
NARRATION = "请口述：当前时间、地点、执法人员和执法事项"  # R-DEV-12
STATE_REASON = "请说明中断原因"  # R-DEV-9

# Streams an overrun can name.
STREAM_VIDEO = "video"
STREAM_AUDIO = "audio"

VIDEO_MEDIA = (MEDIA_H264, MEDIA_H265, MEDIA_MJPEG)
AUDIO_MEDIA = (MEDIA_AAC, MEDIA_PCM, MEDIA_OPUS)

# Settings, their defaults and their lower bounds. All are integers, so they can go into the
# ledger as they are (the ledger has no floats).
DEFAULTS = (
    ("chunk_ms", 1000, 1),
    ("max_chunk_ms", 2000, 1),  # a video chunk closes here even without a keyframe
    ("pre_record_ms", 30000, 0),  # 0 turns pre-record off
    ("pre_record_max_bytes", 8000000, 0),  # memory bound of the pre-record buffer
    ("spoken_reason_ms", 10000, 1),
    ("battery_low_percent", 20, 0),
    ("storage_needed_hours", 8, 0),  # what one shift needs; less is a self-check warning
    ("video_media", MEDIA_H264, 0),
    ("audio_media", MEDIA_AAC, 0),
    ("status_every_ms", 1000, 1),
)

# Events other modules write through the recorder's chain (store recovery, sync, retention,
# provisioning). The recorder's own events are not among them, so none can be forged.
FOREIGN_EVENTS = (
    EV_POWER_LOSS_RECOVERED,
    EV_HOST_RECEIPT,
    EV_EVICTION,
    EV_KEY_CREATED,
    EV_INDEX_REBUILT,
)

_BATTERY_HYSTERESIS = 5  # percent above the low mark before a new low warning is logged
_MAX_NOTE = 1000  # characters of a no-record note


def _need_int(name: str, value: object, low: int = -(1 << 62)) -> None:
    # type() and not isinstance(): a bool is an int on CPython but not on MicroPython.
    if type(value) is not int or value < low:
        raise RecorderError("%s must be an integer >= %d, not %r" % (name, low, value))


def _need_percent(name: str, value: object) -> None:
    _need_int(name, value, 0)
    if value > 100:  # type: ignore[operator]  # _need_int proved it an int
        raise RecorderError("%s must be at most 100, not %r" % (name, value))


def _need_bytes(name: str, value: object) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise RecorderError("%s must be bytes, not %s" % (name, type(value).__name__))


def _need_bool(name: str, value: object) -> None:
    if value is not True and value is not False:
        raise RecorderError("%s must be True or False, not %r" % (name, value))


def _need_hours(name: str, value: object) -> None:
    if (type(value) is not int and type(value) is not float) or value < 0:
        raise RecorderError("%s must be a number of hours >= 0, not %r" % (name, value))


def _minutes(hours: "int | float") -> int:
    return int(hours * 60)


class _Chunk:
    """One open chunk: its frames' digests and bytes, and when it started."""

    def __init__(self, start_ms: int, start_mono: int) -> None:
        self.start_ms = start_ms
        self.start_mono = start_mono
        self.last_ms = start_ms
        self.hashes = FrameHashes()
        self.parts: list = []
        # The whole chunk's SHA-256 grows frame by frame, so closing a chunk does not hash
        # seconds of footage at once on the capture path.
        self.media_sha = hashlib.sha256()
        self.size = 0

    def add(self, data: bytes, digest: "bytes | None", wall_ms: int) -> None:
        self.hashes.add(data, digest)
        self.parts.append(data)
        self.media_sha.update(data)
        self.size += len(data)
        self.last_ms = wall_ms


class Recorder:
    """The recorder of one device. Feed it inputs; carry out the actions they return."""

    def __init__(
        self,
        signer: "Ed25519Signer",
        device_id: str,
        officer_id: str = "",
        seq: int = 0,
        prev: bytes = ZERO_HASH,
        boot: int = 0,
        sign_every: int = 1,
        config: "dict | None" = None,
        sealer: object = None,
        packager: "Packager | None" = None,
    ) -> None:
        # ``sealer(media) -> (sealed, cipher_sha256, cipher_alg)`` encrypts each chunk for
        # the agency (R-DEV-3, protocol.sealing.sealed_fields with the agency key bound);
        # the entry then signs both hashes and the STORE action carries only the sealed bytes.
        self.sealer = sealer
        # ``packager`` turns the recorder's chunks into fragmented MP4 (firmware.packager),
        # cut by the fragmenter; without one, chunks are raw frames, as boards, the simulator
        # and older stores keep.
        self.packager = packager
        self.fragmenter: Fragmenter | None = None
        if packager is not None:
            self.fragmenter = GopFragmenter(packager)
        self.config = {}
        for key, default, _low in DEFAULTS:
            self.config[key] = default
        if config:
            self.config = _checked_config(self.config, config)
        self.writer = LedgerWriter(signer, device_id, seq, prev, boot, sign_every)
        self.device_id = device_id
        self.officer_id = officer_id
        self.state = SELF_CHECK
        self.recording_id: bytes | None = None
        self.clock_set = True
        self.camera_ok = True
        self.battery_percent = -1  # unknown until the self-check
        self.storage_hours: int | float = -1
        self.refusal = ""  # why the recorder is REFUSING: "camera" or "storage"
        # The last GPS fix, (lat_e7, lon_e7, accuracy_m), set by the port where it has a
        # receiver (R-DEV-13); chunks closed while it is known carry it in F_GPS.
        self.position: tuple | None = None
        self._chunk_index = 0
        self._video: _Chunk | None = None
        self._audio: _Chunk | None = None
        self._spoken: _Chunk | None = None
        self._pause_reason = 0
        self._resume_ms = 0
        self._resume_mono = 0
        self._prompted_ms = 0
        self._pre_video: list = []  # (data, digest, keyframe, wall_ms, mono_ms, cto), oldest first
        self._pre_audio: list = []
        self._pre_bytes = 0
        self._battery_low = False
        self._storage_low = False
        self._status_mono = -1
        self._input = ""

    @property
    def chunk_count(self) -> int:
        """How many chunks the recording under way has closed so far (the count its stop
        event records); a status line shows it. Read-only: the recorder alone counts."""
        return self._chunk_index

    @property
    def wants_keyframe(self) -> bool:
        """True while video must start again at a keyframe (after the button, a resume, a
        fragment cut without one, lost frames): a port's encoder reads it to make one now.
        Raw chunks need none, so it is False without a packager."""
        frag = self.fragmenter
        return frag is not None and frag.wants_keyframe

    # --- the machine -----------------------------------------------------------------------

    def _begin(self, name: str, now_ms: object, mono_ms: object) -> None:
        """Refuse an input the table does not allow here, or whose times are not integers."""
        if TRANSITIONS[name][self.state] is None:
            raise RecorderError(
                "input %s is not allowed in state %s" % (name, STATE_NAMES[self.state])
            )
        _need_int("now_ms", now_ms)
        _need_int("mono_ms", mono_ms)
        self._input = name

    def _finish(self, new: int, now_ms: int, mono_ms: int, out: list, status: bool = False) -> list:
        """Move to ``new`` (the table must allow it) and tell the officer what changed."""
        cell = TRANSITIONS[self._input][self.state]
        if new != cell and (type(cell) is not tuple or new not in cell):
            raise RecorderError(
                "bug: %s led from %s to %s, which the table does not allow"
                % (self._input, STATE_NAMES[self.state], STATE_NAMES[new])
            )
        if new != self.state:
            old = self.state
            self.state = new
            if new in (RECORDING, RESUMING) and old not in (RECORDING, RESUMING):
                out.append((INDICATOR, LIGHT_RECORD, "on"))
            elif new == PAUSED:
                out.append((INDICATOR, LIGHT_RECORD, "blink"))
            elif old in (RECORDING, RESUMING, PAUSED) and new not in (RECORDING, RESUMING):
                out.append((INDICATOR, LIGHT_RECORD, "off"))
            if new == REFUSING or old == REFUSING:
                out.append((INDICATOR, LIGHT_STATUS, self._health()))
            status = True
        if status:
            self._status(now_ms, mono_ms, out)
        return out

    def _health(self) -> str:
        if self.state == REFUSING:
            return "fault"
        if self._battery_low or self._storage_low or not self.clock_set:
            return "warn"
        return "ok"

    def status(self, now_ms: int) -> dict:
        """What the display shows (R-DEV-16)."""
        rec = self.recording_id
        return {
            "state": STATE_NAMES[self.state],
            "time_ms": now_ms,
            "clock_set": self.clock_set,
            "battery_percent": self.battery_percent,
            "storage_hours": self.storage_hours,
            "recording": rec.hex() if rec is not None else None,
            "officer": self.officer_id,
            "device": self.device_id,
        }

    def _status(self, now_ms: int, mono_ms: int, out: list) -> None:
        self._status_mono = mono_ms
        out.append((STATUS, self.status(now_ms)))

    def overlay(self, now_ms: int, gps: "tuple | None" = None) -> str:
        """The text the camera burns into the frame captured at ``now_ms`` (R-DEV-1)."""
        return overlay_text(now_ms, self.device_id, self.officer_id, gps, self.clock_set)

    # --- ledger ----------------------------------------------------------------------------

    def _event(
        self,
        code: int,
        now_ms: int,
        mono_ms: int,
        out: list,
        fields: "dict | None" = None,
        sign: bool = False,
    ) -> bytes:
        f: dict = {F_EVENT: code}
        if self.officer_id:
            f[F_OFFICER] = self.officer_id
        if self.recording_id is not None:
            f[F_RECORDING] = self.recording_id
        if fields:
            for k in fields:
                f[k] = fields[k]
        entry = self.writer.append_entry(KIND_EVENT, f, now_ms, mono_ms, sign)
        out.append((STORE, entry.raw, None, entry))
        return entry.raw

    def _close(
        self, c: _Chunk, media: int, end_ms: int, now_ms: int, mono_ms: int, out: list
    ) -> bytes:
        """Write raw chunk ``c`` as an entry; return the entry's hash."""
        end = end_ms if end_ms > c.last_ms else c.last_ms
        blob = b"".join(c.parts)
        sha = c.media_sha.digest()
        return self._write_chunk(
            blob, sha, c.hashes.take(), media, c.start_ms, end, now_ms, mono_ms, out
        )

    def _write_chunk(
        self,
        blob: bytes,
        sha: bytes,
        digests: list,
        media: int,
        start_ms: int,
        end_ms: int,
        now_ms: int,
        mono_ms: int,
        out: list,
    ) -> bytes:
        """Write one chunk's entry (the next index), its media sealed if so set up; return
        the entry's hash."""
        fields = {
            F_RECORDING: self.recording_id,
            F_CHUNK_INDEX: self._chunk_index,
            F_START_MS: start_ms,
            F_END_MS: end_ms,
            F_FRAME_HASHES: digests,
            F_MEDIA_TYPE: media,
            F_PLAIN_LEN: len(blob),
            F_PLAIN_SHA: sha,
        }
        if self.position is not None:
            fields[F_GPS] = list(self.position)  # where the chunk was recorded (R-DEV-13)
        if self.sealer is not None:
            blob, fields[F_CIPHER_SHA], fields[F_CIPHER_ALG] = self.sealer(blob)  # type: ignore[operator]  # a callable, set at boot
        self._chunk_index += 1
        entry = self.writer.append_entry(KIND_CHUNK, fields, now_ms, mono_ms)
        out.append((STORE, entry.raw, blob, entry))
        return entry.digest

    def _chain(self, cuts: list, now_ms: int, mono_ms: int, out: list) -> bytes:
        """fMP4: write what the fragmenter cut, in order: chunks as entries (the next
        indices), and video it left out awaiting a keyframe as EV_OVERRUN (R-DEV-6). Return
        the last chunk entry's hash."""
        h = b""
        for c in cuts:
            if c[0] == CUT_LOST:
                detail = {
                    "stream": STREAM_VIDEO,
                    "lost": c[1],
                    "first_ms": c[2],
                    "last_ms": c[3],
                    "cause": "awaiting keyframe",
                }
                self._event(EV_OVERRUN, now_ms, mono_ms, out, {F_DETAIL: detail})
            else:
                _, media, blob, digests, start_ms, end_ms = c
                sha = hashlib.sha256(blob).digest()
                h = self._write_chunk(
                    blob, sha, digests, media, start_ms, end_ms, now_ms, mono_ms, out
                )
        return h

    def _close_streams(self, now_ms: int, mono_ms: int, out: list) -> None:
        if self.fragmenter is not None:
            self._chain(self.fragmenter.close(now_ms), now_ms, mono_ms, out)
        if self._video is not None:
            self._close(self._video, self.config["video_media"], now_ms, now_ms, mono_ms, out)
            self._video = None
        if self._audio is not None:
            self._close(self._audio, self.config["audio_media"], now_ms, now_ms, mono_ms, out)
            self._audio = None

    # Frames carry their capture times (wall, mono); the entry that closes a chunk carries the
    # time of the input that closed it (at_ms, at_mono): they differ for pre-record frames.

    def _add_video(
        self,
        data: bytes,
        digest: "bytes | None",
        keyframe: bool,
        wall: int,
        mono: int,
        at_ms: int,
        at_mono: int,
        out: list,
    ) -> None:
        c = self._video
        if c is not None:
            age = mono - c.start_mono
            if (keyframe and age >= self.config["chunk_ms"]) or age >= self.config["max_chunk_ms"]:
                self._close(c, self.config["video_media"], wall, at_ms, at_mono, out)
                c = None
        if c is None:
            c = self._video = _Chunk(wall, mono)
        c.add(data, digest, wall)

    def _add_audio(
        self,
        data: bytes,
        digest: "bytes | None",
        wall: int,
        mono: int,
        at_ms: int,
        at_mono: int,
        out: list,
    ) -> None:
        c = self._audio
        if c is not None and mono - c.start_mono >= self.config["chunk_ms"]:
            self._close(c, self.config["audio_media"], wall, at_ms, at_mono, out)
            c = None
        if c is None:
            c = self._audio = _Chunk(wall, mono)
        c.add(data, digest, wall)

    def _end_spoken(self, now_ms: int, mono_ms: int, out: list) -> int:
        """Close the spoken-reason chunk and write EV_RESUME pointing at it (R-DEV-9)."""
        detail = {"resumed_ms": self._resume_ms}
        fields = {F_REASON: self._pause_reason, F_DETAIL: detail}
        if self.fragmenter is not None:
            cuts = self.fragmenter.end_spoken(now_ms)
            if cuts:
                fields[F_SPOKEN] = self._chain(cuts, now_ms, mono_ms, out)
        else:
            spoken = self._spoken
            assert spoken is not None
            self._spoken = None
            if spoken.size:
                media = self.config["audio_media"]
                fields[F_SPOKEN] = self._close(spoken, media, now_ms, now_ms, mono_ms, out)
        # With no audio at all (a dead microphone) there is no spoken reason to point at: the
        # resume is logged without one, and the host flags it (R-DEV-9).
        self._event(EV_RESUME, now_ms, mono_ms, out, fields, True)
        return RECORDING

    def _expire(self, now_ms: int, mono_ms: int, out: list) -> int:
        """In RESUMING: end the spoken reason once its time is up; return the state."""
        if mono_ms - self._resume_mono >= self.config["spoken_reason_ms"]:
            return self._end_spoken(now_ms, mono_ms, out)
        return RESUMING

    # --- pre-record buffer (R-DEV-15) ------------------------------------------------------

    def _buffer(self, item: tuple, video: bool, mono_ms: int) -> int:
        if video:
            self._pre_video.append(item)
        else:
            self._pre_audio.append(item)
        self._pre_bytes += len(item[0])
        return self._trim(mono_ms)

    def _trim(self, mono_ms: int) -> int:
        """Forget buffered frames older than pre_record_ms, then any over the byte bound."""
        horizon = mono_ms - self.config["pre_record_ms"]
        self._pre_video = self._drop_before(self._pre_video, horizon)
        self._pre_audio = self._drop_before(self._pre_audio, horizon)
        cap = self.config["pre_record_max_bytes"]
        while self._pre_bytes > cap:
            v, a = self._pre_video, self._pre_audio
            buf = v if v and (not a or v[0][4] <= a[0][4]) else a
            self._pre_bytes -= len(buf.pop(0)[0])
        return PRE_RECORD if self._pre_video or self._pre_audio else IDLE

    def _drop_before(self, buf: list, horizon: int) -> list:
        n = 0
        while n < len(buf) and buf[n][4] < horizon:
            self._pre_bytes -= len(buf[n][0])
            n += 1
        return buf[n:] if n else buf

    def _clear_buffer(self) -> None:
        self._pre_video = []
        self._pre_audio = []
        self._pre_bytes = 0

    # --- inputs ----------------------------------------------------------------------------

    def power_on(self, now_ms: int, mono_ms: int, checks: dict) -> list:
        """The pre-use check at power-on (R-DEV-7).

        ``checks`` holds plain facts: ``camera_ok`` (bool), ``battery_percent`` (0..100),
        ``storage_hours`` (free storage in hours of recording), and optionally
        ``storage_needed_hours`` (default: the setting) and ``clock_ok`` (default True).
        """
        self._begin("power_on", now_ms, mono_ms)
        if type(checks) is not dict:
            raise RecorderError("checks must be a dict, not %s" % type(checks).__name__)
        camera_ok = checks.get("camera_ok")
        battery = checks.get("battery_percent")
        hours = checks.get("storage_hours")
        needed = checks.get("storage_needed_hours", self.config["storage_needed_hours"])
        clock_ok = checks.get("clock_ok", True)
        _need_bool("camera_ok", camera_ok)
        _need_percent("battery_percent", battery)
        _need_hours("storage_hours", hours)
        _need_hours("storage_needed_hours", needed)
        _need_bool("clock_ok", clock_ok)
        # Checked above; the asserts tell mypy so.
        assert isinstance(battery, int) and isinstance(hours, (int, float))
        assert isinstance(needed, (int, float))
        out: list = [(INDICATOR, BUZZER, "power-on")]
        self.camera_ok = camera_ok is True
        self.clock_set = clock_ok is True
        self.battery_percent = battery
        self.storage_hours = hours
        self._battery_low = battery < self.config["battery_low_percent"]
        self._storage_low = hours < needed
        can_record = self.camera_ok and _minutes(hours) >= 1
        failed = []
        problems = []
        if not self.camera_ok:
            failed.append("camera")
            problems.append("摄像头故障")
        if self._battery_low:
            failed.append("battery")
            problems.append("电量不足（%d%%）" % battery)
        if self._storage_low:
            failed.append("storage")
            room = (_minutes(hours), _minutes(needed))
            problems.append("存储空间仅够约%d分钟（需要%d分钟）" % room)
        if not self.clock_set:
            failed.append("clock")
            problems.append("时钟未校准")
        self._event(EV_BOOT, now_ms, mono_ms, out)
        detail = {
            "camera": self.camera_ok,
            "battery": battery,
            "storage_min": _minutes(hours),
            "needed_min": _minutes(needed),
            "clock": self.clock_set,
            "failed": failed,
            "can_record": can_record,
        }
        self._event(EV_SELF_CHECK, now_ms, mono_ms, out, {F_DETAIL: detail}, True)
        if problems:
            verdict = "仍可录像" if can_record else "无法录像"
            out.append((PROMPT, P_SELF_CHECK, "自检异常：%s；%s" % ("、".join(problems), verdict)))
        new = IDLE
        if not can_record:
            self.refusal = "camera" if not self.camera_ok else "storage"
            out.append((PROMPT, P_REFUSING, self._refusal_text()))
            new = REFUSING
        else:
            out.append((INDICATOR, LIGHT_STATUS, self._health()))
        return self._finish(new, now_ms, mono_ms, out)

    def _refusal_text(self) -> str:
        return "无法录像：%s" % ("摄像头故障" if self.refusal == "camera" else "存储空间已满")

    def frame(self, data: bytes, keyframe: bool, now_ms: int, mono_ms: int, cto: int = 0) -> list:
        """An encoded video frame captured at ``now_ms`` / ``mono_ms``; hashed at once.

        Frames come in decode order, and their times are decode times. ``cto`` is the frame's
        composition offset (presentation time minus decode time) in ticks of 90 kHz, the
        video timescale: non-zero only for a stream with B-frames (a vendor's encoder). It
        goes into the fragment's trun as it is; raw chunks have no place for it and leave it
        out."""
        self._begin("frame", now_ms, mono_ms)
        _need_bytes("data", data)
        _need_bool("keyframe", keyframe)
        _need_int("cto", cto, -(1 << 31))
        if cto >= 1 << 31:
            raise RecorderError("cto must fit a signed 32-bit composition offset, not %d" % cto)
        data = bytes(data)  # the camera may reuse its buffer once we return
        out: list = []
        new = self.state
        if new == RESUMING:
            new = self._expire(now_ms, mono_ms, out)
        if new in (RECORDING, RESUMING):
            if self.fragmenter is not None:
                cuts = self.fragmenter.video(data, None, keyframe, now_ms, mono_ms, cto)
                self._chain(cuts, now_ms, mono_ms, out)
            else:
                self._add_video(data, None, keyframe, now_ms, mono_ms, now_ms, mono_ms, out)
        elif new in (IDLE, PRE_RECORD):
            new = self._pre_record(data, keyframe, True, now_ms, mono_ms, cto)
        # PAUSED and REFUSING record nothing: the officer stopped with a stated reason, or the
        # device cannot record and has said why.
        return self._finish(new, now_ms, mono_ms, out)

    def audio(self, data: bytes, now_ms: int, mono_ms: int) -> list:
        """A block of encoded audio captured at ``now_ms`` / ``mono_ms``; hashed at once."""
        self._begin("audio", now_ms, mono_ms)
        _need_bytes("data", data)
        data = bytes(data)
        out: list = []
        new = self.state
        if new == RESUMING:
            new = self._expire(now_ms, mono_ms, out)
        if new == RESUMING:
            if self.fragmenter is not None:
                self.fragmenter.spoken_audio(data, now_ms, mono_ms)
            else:
                spoken = self._spoken
                assert spoken is not None
                spoken.add(data, None, now_ms)
        elif new == RECORDING:
            if self.fragmenter is not None:
                self._chain(self.fragmenter.audio(data, now_ms, mono_ms), now_ms, mono_ms, out)
            else:
                self._add_audio(data, None, now_ms, mono_ms, now_ms, mono_ms, out)
        elif new in (IDLE, PRE_RECORD):
            new = self._pre_record(data, False, False, now_ms, mono_ms)
        return self._finish(new, now_ms, mono_ms, out)

    def _pre_record(
        self, data: bytes, keyframe: bool, video: bool, now_ms: int, mono_ms: int, cto: int = 0
    ) -> int:
        """Keep a frame or audio block captured before the button, hashed now (R-DEV-15)."""
        if self.config["pre_record_ms"] <= 0:
            self._clear_buffer()
            return IDLE
        # fMP4 keeps digests of video samples only; raw chunks, of every frame and block.
        digest = frame_digest(data) if video or self.packager is None else b""
        item = (data, digest, keyframe, now_ms, mono_ms, cto)
        return self._buffer(item, video, mono_ms)

    def press_record(self, now_ms: int, mono_ms: int) -> list:
        """The record button: a new recording id, the pre-record frames first (R-DEV-15)."""
        self._begin("press_record", now_ms, mono_ms)
        out: list = []
        if self.state == REFUSING or _minutes(self.storage_hours) < 1:
            # The check before each recording (R-DEV-7) uses the latest storage figure.
            if self.state != REFUSING:
                self.refusal = "storage"
                self._clear_buffer()
            self._event(EV_RECORD_REFUSED, now_ms, mono_ms, out, {F_DETAIL: {"why": self.refusal}})
            out.append((PROMPT, P_REFUSING, self._refusal_text()))
            out.append((INDICATOR, BUZZER, "refused"))
            return self._finish(REFUSING, now_ms, mono_ms, out)
        self._trim(mono_ms)
        self.recording_id = self.writer.seq.to_bytes(8, "big")  # seq never repeats
        self._chunk_index = 0
        pre_video, pre_audio = self._pre_video, self._pre_audio
        frag = self.fragmenter
        if frag is not None:
            pre_video, pre_audio = frag.decodable(pre_video, pre_audio)
        detail: dict = {"pre_frames": len(pre_video) + len(pre_audio)}
        if pre_video or pre_audio:
            firsts = [b[0][3] for b in (pre_video, pre_audio) if b]
            detail["pre_from_ms"] = min(firsts)
        if frag is not None:
            monos = [b[0][4] for b in (pre_video, pre_audio) if b]
            origin = min(monos) if monos else mono_ms
            detail["origin_mono"] = origin
            # With no pre-record video, live video starts at a keyframe.
            c = self.config
            frag.begin(origin, c["chunk_ms"], c["max_chunk_ms"], not pre_video)
        self._event(EV_RECORD_START, now_ms, mono_ms, out, {F_DETAIL: detail})
        if frag is not None:
            self._chain(frag.buffered(pre_video, pre_audio), now_ms, mono_ms, out)
        else:
            for data, digest, key, wall, mono, _cto in pre_video:
                self._add_video(data, digest, key, wall, mono, now_ms, mono_ms, out)
            for data, digest, _key, wall, mono, _cto in pre_audio:
                self._add_audio(data, digest, wall, mono, now_ms, mono_ms, out)
        self._clear_buffer()
        self._prompted_ms = now_ms
        out.append((INDICATOR, BUZZER, "record-start"))
        out.append((PROMPT, P_ANNOUNCE, ANNOUNCEMENT))
        return self._finish(RECORDING, now_ms, mono_ms, out)

    def press_stop(self, now_ms: int, mono_ms: int) -> list:
        """The stop button: close the open chunks and sign the stop at once."""
        self._begin("press_stop", now_ms, mono_ms)
        out: list = []
        if self.state == RESUMING:
            self._end_spoken(now_ms, mono_ms, out)
        self._close_streams(now_ms, mono_ms, out)
        detail = {"chunks": self._chunk_index}
        self._event(EV_RECORD_STOP, now_ms, mono_ms, out, {F_DETAIL: detail}, True)
        self.recording_id = None
        if self.fragmenter is not None:
            self.fragmenter.stop()
        out.append((INDICATOR, BUZZER, "record-stop"))
        return self._finish(IDLE, now_ms, mono_ms, out)

    def pause(self, reason_code: int, now_ms: int, mono_ms: int) -> list:
        """Stop recording for an objective reason, a PAUSE_* code (R-DEV-9)."""
        self._begin("pause", now_ms, mono_ms)
        if type(reason_code) is not int or reason_code not in PAUSE_NAMES:
            raise RecorderError("pause needs a PAUSE_* reason code, not %r" % (reason_code,))
        out: list = []
        if self.state == RESUMING:
            self._end_spoken(now_ms, mono_ms, out)
        self._close_streams(now_ms, mono_ms, out)
        self._pause_reason = reason_code
        if self.fragmenter is not None:
            self.fragmenter.stop()
        self._event(EV_PAUSE, now_ms, mono_ms, out, {F_REASON: reason_code}, True)
        out.append((INDICATOR, BUZZER, "pause"))
        return self._finish(PAUSED, now_ms, mono_ms, out)

    def resume(self, now_ms: int, mono_ms: int) -> list:
        """Record again; the next spoken_reason_ms of audio is the spoken reason (R-DEV-9)."""
        self._begin("resume", now_ms, mono_ms)
        if self.fragmenter is not None:
            self.fragmenter.begin_spoken(now_ms, mono_ms)
        else:
            self._spoken = _Chunk(now_ms, mono_ms)
        self._resume_ms = now_ms
        self._resume_mono = mono_ms
        out: list = [(INDICATOR, BUZZER, "resume"), (PROMPT, P_STATE_REASON, STATE_REASON)]
        return self._finish(RESUMING, now_ms, mono_ms, out)

    def spoken_reason_done(self, now_ms: int, mono_ms: int) -> list:
        """The officer has finished stating the reason before its time was up."""
        self._begin("spoken_reason_done", now_ms, mono_ms)
        out: list = []
        return self._finish(self._end_spoken(now_ms, mono_ms, out), now_ms, mono_ms, out)

    def announce_done(self, now_ms: int, mono_ms: int) -> list:
        """The officer confirms the standard phrase was said (R-DEV-8); next, the narration."""
        self._begin("announce_done", now_ms, mono_ms)
        out: list = []
        detail = {"prompted_ms": self._prompted_ms}
        self._event(EV_ANNOUNCEMENT, now_ms, mono_ms, out, {F_DETAIL: detail})
        self._prompted_ms = now_ms
        out.append((PROMPT, P_NARRATE, NARRATION))
        return self._finish(self.state, now_ms, mono_ms, out)

    def narration_done(self, now_ms: int, mono_ms: int) -> list:
        """The officer has narrated time, place, officers and action (R-DEV-12)."""
        self._begin("narration_done", now_ms, mono_ms)
        out: list = []
        detail = {"prompted_ms": self._prompted_ms}
        self._event(EV_NARRATION, now_ms, mono_ms, out, {F_DETAIL: detail})
        return self._finish(self.state, now_ms, mono_ms, out)

    def mark_important(self, now_ms: int, mono_ms: int) -> list:
        """The officer marks this moment of the recording as important."""
        self._begin("mark_important", now_ms, mono_ms)
        out: list = [(INDICATOR, BUZZER, "mark")]
        self._event(EV_MARK_IMPORTANT, now_ms, mono_ms, out)
        return self._finish(self.state, now_ms, mono_ms, out)

    def no_record(self, reason_code: int, note: str, now_ms: int, mono_ms: int) -> list:
        """The work record of a duty that could not be recorded (R-DEV-11)."""
        self._begin("no_record", now_ms, mono_ms)
        if type(reason_code) is not int or reason_code not in NO_RECORD_NAMES:
            raise RecorderError("no_record needs a NO_RECORD_* code, not %r" % (reason_code,))
        if type(note) is not str or len(note) > _MAX_NOTE:
            raise RecorderError("note must be text of at most %d characters" % _MAX_NOTE)
        out: list = []
        fields = {F_REASON: reason_code, F_DETAIL: {"note": note}}
        self._event(EV_NO_RECORD, now_ms, mono_ms, out, fields, True)
        return self._finish(self.state, now_ms, mono_ms, out)

    def tick(self, now_ms: int, mono_ms: int) -> list:
        """Time passes: close chunks by duration, end the spoken reason, age the buffer."""
        self._begin("tick", now_ms, mono_ms)
        out: list = []
        new = self.state
        if new == RESUMING:
            new = self._expire(now_ms, mono_ms, out)
        if new in (RECORDING, RESUMING):
            if self.fragmenter is not None:
                self._chain(self.fragmenter.tick(now_ms, mono_ms), now_ms, mono_ms, out)
            v, a = self._video, self._audio
            if v is not None and mono_ms - v.start_mono >= self.config["max_chunk_ms"]:
                self._close(v, self.config["video_media"], now_ms, now_ms, mono_ms, out)
                self._video = None
            if a is not None and mono_ms - a.start_mono >= self.config["chunk_ms"]:
                self._close(a, self.config["audio_media"], now_ms, now_ms, mono_ms, out)
                self._audio = None
        elif new == PRE_RECORD:
            new = self._trim(mono_ms)
        due = self._status_mono < 0 or mono_ms - self._status_mono >= self.config["status_every_ms"]
        return self._finish(new, now_ms, mono_ms, out, due)

    def battery(self, percent: int, now_ms: int, mono_ms: int) -> list:
        """The battery's charge; falling below the low mark is logged once and prompted."""
        self._begin("battery", now_ms, mono_ms)
        _need_percent("percent", percent)
        out: list = []
        self.battery_percent = percent
        low = self.config["battery_low_percent"]
        if percent < low and not self._battery_low:
            self._battery_low = True
            self._event(EV_BATTERY_LOW, now_ms, mono_ms, out, {F_DETAIL: {"percent": percent}})
            out.append((PROMPT, P_BATTERY_LOW, "电量低：%d%%" % percent))
            out.append((INDICATOR, BUZZER, "alert"))
            out.append((INDICATOR, LIGHT_STATUS, self._health()))
        elif percent >= low + _BATTERY_HYSTERESIS and self._battery_low:
            self._battery_low = False
            out.append((INDICATOR, LIGHT_STATUS, self._health()))
        return self._finish(self.state, now_ms, mono_ms, out, True)

    def storage(self, free_hours: "int | float", now_ms: int, mono_ms: int) -> list:
        """Free storage in hours of recording. None left: REFUSING unless already recording."""
        self._begin("storage", now_ms, mono_ms)
        _need_hours("free_hours", free_hours)
        out: list = []
        self.storage_hours = free_hours
        needed = self.config["storage_needed_hours"]
        detail = {"free_min": _minutes(free_hours), "needed_min": _minutes(needed)}
        new = self.state
        full = _minutes(free_hours) < 1
        if full and new in (IDLE, PRE_RECORD):
            self.refusal = "storage"
            self._storage_low = True
            self._clear_buffer()
            detail["refusing"] = True
            self._event(EV_STORAGE_LOW, now_ms, mono_ms, out, {F_DETAIL: detail}, True)
            out.append((PROMPT, P_REFUSING, self._refusal_text()))
            new = REFUSING
        elif free_hours < needed and not self._storage_low:
            self._storage_low = True
            self._event(EV_STORAGE_LOW, now_ms, mono_ms, out, {F_DETAIL: detail})
            text = "存储空间不足：约剩%d分钟" % _minutes(free_hours)
            out.append((PROMPT, P_STORAGE_LOW, text))
            out.append((INDICATOR, LIGHT_STATUS, self._health()))
        elif free_hours >= needed:
            self._storage_low = False
        if new == REFUSING and not full and self.refusal == "storage" and self.camera_ok:
            self.refusal = ""
            out.append((PROMPT, P_READY, "可以录像"))
            new = IDLE
        return self._finish(new, now_ms, mono_ms, out, True)

    def host_config(
        self, config: dict, signed_by: str, now_ms: int, mono_ms: int, also: "dict | None" = None
    ) -> list:
        """Apply settings from the agency's management software (R-DEV-17).

        ``also`` adds facts the caller applied from the same config (the retention floor,
        the config's issue time) to the logged event, so one signed event records it all.

        The caller has verified the config's signature against a pinned host key and names
        that key in ``signed_by``; without it nothing is applied. Keys: the DEFAULTS settings,
        ``officer_id`` (text) and ``clock_ms`` (the new wall time, logged as EV_CLOCK_SET with
        the old one; the caller sets the RTC, and entries after this one carry the new time).
        """
        self._begin("host_config", now_ms, mono_ms)
        if type(signed_by) is not str or not signed_by:
            raise ConfigError("config not applied: no verified host signature was named")
        if type(config) is not dict:
            raise ConfigError("config must be a dict, not %s" % type(config).__name__)
        settings = {}
        for key in config:
            if key != "officer_id" and key != "clock_ms":
                settings[key] = config[key]
        new_config = _checked_config(self.config, settings)
        officer = config.get("officer_id", self.officer_id)
        if type(officer) is not str:
            raise ConfigError("officer_id must be text")
        clock = config.get("clock_ms")
        if clock is not None and (type(clock) is not int or clock < 0):
            raise ConfigError("clock_ms must be an integer >= 0")
        out: list = []
        applied: dict = {}
        for key in settings:
            applied[key] = settings[key]
        if officer != self.officer_id:
            applied["officer_id"] = officer
        if also:
            for key in also:
                applied[key] = also[key]
        self.config = new_config
        self.officer_id = officer
        if applied:
            applied["by"] = signed_by
            self._event(EV_CONFIG_APPLIED, now_ms, mono_ms, out, {F_DETAIL: applied})
        if clock is not None:
            detail = {"old_ms": now_ms, "new_ms": clock, "by": signed_by}
            self._event(EV_CLOCK_SET, now_ms, mono_ms, out, {F_DETAIL: detail}, True)
            self.clock_set = True
            out.append((INDICATOR, LIGHT_STATUS, self._health()))
        return self._finish(self.state, now_ms, mono_ms, out, True)

    def overrun(
        self,
        frames_lost: int,
        first_ms: int,
        last_ms: int,
        stream: str,
        now_ms: int,
        mono_ms: int,
    ) -> list:
        """The capture queue dropped ``frames_lost`` frames of ``stream`` (STREAM_VIDEO or
        STREAM_AUDIO) captured from ``first_ms`` to ``last_ms``: logged, never silent (R-DEV-6).
        """
        self._begin("overrun", now_ms, mono_ms)
        _need_int("frames_lost", frames_lost, 1)
        _need_int("first_ms", first_ms)
        _need_int("last_ms", last_ms, first_ms)
        if stream != STREAM_VIDEO and stream != STREAM_AUDIO:
            raise RecorderError("stream must be %r or %r" % (STREAM_VIDEO, STREAM_AUDIO))
        out: list = []
        detail = {"stream": stream, "lost": frames_lost, "first_ms": first_ms, "last_ms": last_ms}
        self._event(EV_OVERRUN, now_ms, mono_ms, out, {F_DETAIL: detail})
        frag = self.fragmenter
        if frag is not None and stream == STREAM_VIDEO and self.state in (RECORDING, RESUMING):
            frag.video_lost()
        return self._finish(self.state, now_ms, mono_ms, out)

    def log_event(
        self, code: int, fields: "dict | None", now_ms: int, mono_ms: int, sign: bool = False
    ) -> list:
        """Chain an event another module observed (FOREIGN_EVENTS) into the one ledger."""
        self._begin("log_event", now_ms, mono_ms)
        if type(code) is not int or code not in FOREIGN_EVENTS:
            raise RecorderError("log_event takes only codes in FOREIGN_EVENTS, not %r" % (code,))
        extra: dict = {}
        if fields is not None:
            if type(fields) is not dict:
                raise RecorderError("fields must be a dict")
            for k in fields:
                if type(k) is not int or k in COMMON_FIELDS or k == F_EVENT:
                    raise RecorderError("field %r is not the caller's to set" % (k,))
                extra[k] = fields[k]
        _need_bool("sign", sign)
        out: list = []
        self._event(code, now_ms, mono_ms, out, extra, sign)
        return self._finish(self.state, now_ms, mono_ms, out)


def _checked_config(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` applied, or ConfigError naming the first bad setting."""
    out = {}
    for key in base:
        out[key] = base[key]
    lows = {}
    for key, _default, low in DEFAULTS:
        lows[key] = low
    for key in changes:
        if key not in lows:
            raise ConfigError("unknown setting %r" % (key,))
        value = changes[key]
        if type(value) is not int or value < lows[key]:
            raise ConfigError("setting %s must be an integer >= %d" % (key, lows[key]))
        out[key] = value
    if out["max_chunk_ms"] < out["chunk_ms"]:
        raise ConfigError("max_chunk_ms must be at least chunk_ms")
    if out["video_media"] not in VIDEO_MEDIA or out["audio_media"] not in AUDIO_MEDIA:
        raise ConfigError("video_media and audio_media must be MEDIA_* codes of their kind")
    if out["battery_low_percent"] > 100:
        raise ConfigError("battery_low_percent must be at most 100")
    return out


# --- overlay (R-DEV-1) ---------------------------------------------------------------------

LOCAL_OFFSET_MS = 8 * 3600 * 1000  # the overlay shows China Standard Time, UTC+8


def _civil_date(days: int) -> tuple:
    """(year, month, day) of a day counted from 1970-01-01, proleptic Gregorian calendar."""
    # Count from 0000-03-01 in 400-year eras, so the leap day falls at the end of a year.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def _degrees(e7: int, pos: str, neg: str) -> str:
    a = e7 if e7 >= 0 else -e7
    return "%d.%07d%s" % (a // 10000000, a % 10000000, pos if e7 >= 0 else neg)


def overlay_text(
    now_ms: int,
    device_id: str,
    officer_id: str,
    gps: "tuple | None" = None,
    clock_set: bool = True,
) -> str:
    """The line burned into every frame: local time (UTC+8), device, officer, GPS (R-DEV-1).

    ``gps`` is (lat_e7, lon_e7, accuracy_m) as in the ledger's F_GPS. While the clock is
    unset the line starts with a warning, so footage never shows a wrong time unmarked.
    ASCII only, because camera on-screen-display fonts often have nothing else.
    """
    secs = (now_ms + LOCAL_OFFSET_MS) // 1000
    days = secs // 86400
    rem = secs - days * 86400
    year, month, day = _civil_date(days)
    text = "%04d-%02d-%02d %02d:%02d:%02d UTC+8 DEV %s OFC %s" % (
        year,
        month,
        day,
        rem // 3600,
        rem // 60 % 60,
        rem % 60,
        device_id,
        officer_id or "-",
    )
    if gps is not None:
        text += " GPS %s %s" % (_degrees(gps[0], "N", "S"), _degrees(gps[1], "E", "W"))
    if not clock_set:
        text = "!CLOCK NOT SET! " + text
    return text
