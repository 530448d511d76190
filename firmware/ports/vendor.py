"""A vendor's hardware encoder as the camera: its stream is signed as it is, never re-encoded.

``sealcam record --input -|PATH`` reads what the vendor's encoder writes (stdin, a named
pipe, a character device or a file) in one of two forms:

- an H.264 or H.265 elementary stream (Annex B), cut into access units by ``h26x``. It
  carries no time: the n-th picture is stamped ``first + n * 1000 / fps`` (``fps`` given by
  the operator), and B-frames get composition offsets from their picture order counts;
- an MP4, fragmented (as a live encoder writes it) or plain (from a file), demuxed by PyAV:
  every packet keeps its own decode time, and its presentation time as a composition offset
  (B-frames play in order: the offsets go into the trun); AAC sound in it is kept.

Everything about the stream that can be wrong is found before the recording starts (the
probe reads up to the first keyframe with its parameter sets), so a stream that is not
H.264/H.265/MP4 leaves nothing signed. After that, the end of the stream ends the recording
cleanly; ``ended_early`` says whether it ended inside an access unit or fragment.
"""
# micropython: skip (PyAV, select and the file system are CPython-only)

import os
import select
import stat
import threading
import time
from collections.abc import Callable
from fractions import Fraction

import av

from firmware.hal import Clock
from firmware.ports.encoder import (
    AUDIO_TRACK_ID,
    VIDEO_TIMESCALE,
    VIDEO_TRACK_ID,
    MediaError,
    ParameterSets,
    access_unit_sample,
)
from firmware.ports.terminalkeys import N_
from firmware.recorder import STREAM_AUDIO, STREAM_VIDEO
from protocol import h26x
from protocol.mp4 import HANDLER_AUDIO, HANDLER_VIDEO, Track

READ_SIZE = 1 << 16
PROBE_LIMIT = 8 << 20  # bytes read for the first keyframe and its parameter sets
WAIT_S = 0.1  # how long a read waits for the encoder before looking at the stop flag
CODECS = {"h264": "avc1", "h265": "hvc1"}
_NAMES = {"avc1": "H.264", "hvc1": "H.265"}
# Why a sound track was left out (the summary's ``audio_ignored_why``): a codec other than
# AAC, or AAC whose decoder configuration (AudioSpecificConfig) the MP4 did not hold.
NOT_AAC = "not_aac"
NO_AUDIO_CONFIG = "no_decoder_config"
_MP4_BOXES = (b"ftyp", b"styp", b"moov", b"moof", b"free", b"skip", b"mdat", b"sidx")


class InputBytes:
    """The vendor's byte stream, read so that a stop request is never stuck behind a read.

    A pipe or device is waited on with ``select`` a little at a time, so ^C or --seconds
    end the recording even while the encoder is silent. Bytes looked at by the probe are
    handed out again first (``replay``), so PyAV sees the stream from its first byte.
    """

    def __init__(self, spec: str, stop: "threading.Event | None" = None) -> None:
        self.spec = spec
        self.name = "standard input" if spec == "-" else spec
        self.stop = stop if stop is not None else threading.Event()
        if spec == "-":
            if os.isatty(0):
                raise MediaError(
                    "standard input is a terminal: pipe the encoder's stream in "
                    "(encoder | sealcam record --input - ...), or name a pipe or file",
                    N_("record.media.stdin_terminal"),
                )
            self.fd = os.dup(0)
        else:
            try:
                self.fd = os.open(spec, os.O_RDONLY)
            except OSError as exc:
                raise MediaError(
                    "cannot read the input %s (%s): give - for standard input, a named pipe, "
                    "a device or a file holding the encoder's stream" % (spec, exc.strerror),
                    N_("record.media.input_unreadable"),
                    spec=spec,
                    why=exc,
                ) from None
        mode = os.fstat(self.fd).st_mode
        if stat.S_ISDIR(mode):
            os.close(self.fd)
            raise MediaError(
                "the input %s is a directory: give the encoder's stream" % spec,
                N_("record.media.input_folder"),
                spec=spec,
            )
        self.regular = stat.S_ISREG(mode)  # a file: played at its own pace, not a live feed
        self.replay = b""
        self.total = 0  # bytes read from the source
        self.stopped = False  # reading ended on the stop request, not on the stream's end
        self.error = ""  # reading ended on this error from the source
        # An MP4 is handed out a top-level box at a time (watch_boxes), so that a new init
        # segment is seen before a demuxer reads it.
        self._boxes = False
        self._ahead = b""  # read from the source, not handed out yet
        self._left = 0  # bytes of the current top-level box still to hand out; -1: all
        self._moov = False  # the MP4 being handed out has shown its moov
        self.next_init = False  # a new ftyp/moov is next: the reader was given the end

    def watch_boxes(self) -> None:
        """From now on, end the stream (``read`` gives b"") where a top-level ``ftyp`` or
        ``moov`` follows the first ``moov``: the encoder began a new MP4, which a demuxer
        would read on with the first one's settings (FFmpeg skips a second moov). The new
        one waits, whole, for ``resume``."""
        self._boxes = True
        self._ahead, self.replay = self.replay, b""

    def resume(self) -> None:
        """Hand out the new init segment ``next_init`` stopped at, and what follows it."""
        self.next_init = False
        self._moov = False

    def read(self, size: int = 0) -> bytes:
        if size is None or size <= 0:
            size = READ_SIZE
        if self.replay:
            out, self.replay = self.replay[:size], self.replay[size:]
            return out
        if self._boxes:
            return self._boxed(size)
        return self._source(size)

    def _boxed(self, size: int) -> bytes:
        while not self.next_init:
            if self._left and self._ahead:
                n = len(self._ahead) if self._left < 0 else min(self._left, len(self._ahead))
                n = min(n, size)
                out, self._ahead = self._ahead[:n], self._ahead[n:]
                if self._left > 0:
                    self._left -= n
                return out
            if not self._left and len(self._ahead) >= 8:
                box = _box_size(self._ahead)
                if box is not None:
                    kind = self._ahead[4:8]
                    if kind in (b"ftyp", b"moov") and self._moov:
                        self.next_init = True
                        break
                    self._moov = self._moov or kind == b"moov"
                    self._left = box
                    continue
            data = self._source(READ_SIZE)
            if not data:
                if not self._ahead:
                    return b""
                self._left = -1  # a box header cut short by the end: handed out as it is
                continue
            self._ahead += data
        return b""

    def _source(self, size: int) -> bytes:
        while not self.regular and not self.stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], WAIT_S)
            if ready:
                break
        if self.stop.is_set():
            self.stopped = True
            return b""
        try:
            data = os.read(self.fd, size)
        except OSError as exc:
            self.error = exc.strerror or str(exc)  # the end of the stream, and not a clean one
            return b""
        self.total += len(data)
        return data

    def close(self) -> None:
        os.close(self.fd)


def _box_size(head: bytes) -> "int | None":
    """The size of the top-level box whose header ``head`` begins with; -1 for one that
    runs to the end (or a size no box can have: the rest is handed out as it is, for the
    demuxer to refuse); None when the header needs more bytes."""
    size = int.from_bytes(head[:4], "big")
    if size == 1:
        if len(head) < 16:
            return None
        size = int.from_bytes(head[8:16], "big")
        return size if size >= 16 else -1
    return size if size >= 8 else -1


class SignedSets:
    """The parameter sets of a recording's signed init segment (its avcC/hvcC), and the
    test whether a parameter set the encoder sends later decodes as one of them.

    The samples are stored without their parameter sets, so every picture decodes with
    the signed ones. A set that differs from them only in what decoding does not read
    (an SPS's VUI: timing, colour, aspect ratio, HRD, bitstream restriction; or the same
    set written with other emulation-prevention or trailing bytes) changes nothing for
    the pictures (``h26x.decoding_key``); any other difference does.

    An SPS that lets more pictures be reordered (max_num_reorder_frames) or needs a
    larger decoded picture buffer (max_dec_frame_buffering) than the signed SPS says is not
    one of them either, though both lie in H.264's VUI: a decoder sized by the signed set
    would show B-frames out of order or drop reference pictures. ``reorder``, when not
    None, is how many pictures the recording holds back to learn the display order (an
    Annex B stream), the bound in place of the signed SPS's own; each unsaid value counts
    as the most any level allows (``h26x.MAX_REORDER``).
    """

    def __init__(self, config: bytes, codec: str, reorder: "int | None" = None) -> None:
        self.codec = codec
        self._exact = set()  # type: set
        self._keys = set()  # type: set
        said_reorder = said_buffering = -1
        for nal in h26x.config_sets(config, codec):
            if not h26x.is_parameter_set(nal, codec):
                continue  # an hvcC's SEI array: no set, nothing decoding reads
            self._exact.add(bytes(nal))
            try:
                self._keys.add(h26x.decoding_key(nal, codec))
                if h26x.nal_type(nal, codec) in (h26x.AVC_SPS, h26x.HEVC_SPS):
                    said_reorder = max(said_reorder, _said(h26x.reorder_frames(nal, codec)))
                    said_buffering = max(said_buffering, _said(h26x.dec_buffering(nal, codec)))
            except h26x.H26xError:
                pass  # only the same bytes match a set that cannot be read
        self.reorder = said_reorder if reorder is None else reorder
        self.buffering = said_buffering
        # Sets with other bytes found to decode alike (an encoder repeats them every IDR).
        self._alike = set()  # type: set

    def foreign(self, nals: list) -> bool:
        """Whether the access unit ``nals`` carries a parameter set that is not one of the
        recording's (see the class)."""
        for nal in nals:
            if nal and h26x.is_parameter_set(nal, self.codec) and not self.holds(bytes(nal)):
                return True
        return False

    def holds(self, nal: bytes) -> bool:
        """Whether the parameter set ``nal`` decodes as one of the recording's."""
        if nal in self._exact or nal in self._alike:
            return True
        try:
            if h26x.decoding_key(nal, self.codec) not in self._keys:
                return False
            if h26x.nal_type(nal, self.codec) in (h26x.AVC_SPS, h26x.HEVC_SPS):
                if _said(h26x.reorder_frames(nal, self.codec)) > self.reorder:
                    return False
                if _said(h26x.dec_buffering(nal, self.codec)) > self.buffering:
                    return False
        except h26x.H26xError:
            return False  # a set that cannot be read is no set the recording can vouch for
        if len(self._alike) >= 16:
            self._alike.clear()  # bounded: an encoder that rewrites its VUI every time
        self._alike.add(nal)
        return True

    def config_alike(self, config: bytes) -> bool:
        """Whether every parameter set in another avcC/hvcC decodes as one of these (an
        hvcC's SEI, x265's settings say, is no set: a new one changes nothing)."""
        try:
            sets = h26x.config_sets(config, self.codec)
        except h26x.H26xError:
            return False
        sets = [nal for nal in sets if h26x.is_parameter_set(nal, self.codec)]
        return bool(sets) and all(self.holds(bytes(nal)) for nal in sets)


def _said(count: int) -> int:
    """A reorder or buffer count an SPS declares; unsaid (-1), the most a level allows."""
    return h26x.MAX_REORDER if count < 0 else count


def detect_codec(nal: bytes) -> str:
    """ "avc1" or "hvc1" from the first NAL unit of a stream, "" when neither fits.

    Streams open with an access unit delimiter, a parameter set or SEI. H.265's two-byte
    header (type in bits 1..6, layer 0, temporal id 1) is checked first: no H.264 opening
    NAL unit has that shape.
    """
    if len(nal) >= 2 and nal[0] & 0x81 == 0 and nal[1] == 1:
        if (nal[0] >> 1) & 0x3F in (32, 33, 34, 35, 39):
            return "hvc1"
    if nal and nal[0] & 0x80 == 0 and nal[0] & 0x1F in (6, 7, 8, 9):
        return "avc1"
    return ""


def has_picture(nals: list, codec: str) -> bool:
    """Whether an access unit holds a coded picture (a VCL NAL unit), not only headers."""
    return any(h26x.is_vcl(nal, codec) for nal in nals)


def sniff(head: bytes) -> str:
    """ "mp4" or "annexb" from a stream's first bytes; MediaError for anything else."""
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "mp4"
    if head.startswith(b"\x00\x00\x01") or head.startswith(b"\x00\x00\x00\x01"):
        return "annexb"
    raise MediaError(
        "the input is not an H.264/H.265 elementary stream (Annex B) or an MP4: it begins "
        "%s; give the encoder's raw stream or its MP4 output" % head[:8].hex(" "),
        N_("record.media.not_a_stream"),
        head=head[:8].hex(" "),
    )


class AnnexBInput:
    """An Annex B stream from the vendor's encoder, as ``(stream, sample, keyframe, mono_ms,
    cto)`` items; ``track`` is the video Track from the first parameter sets.

    Pictures come in decode order, one every ``1000 / fps`` ms. B-frames are shown in
    another order, which only each slice header's picture order count (POC) tells. A
    picture's display slot is known once no later picture can still come before it: a
    decoder's output rule, which holds at most ``reorder`` pictures back (what the SPS
    declares, else ``h26x.MAX_REORDER``) and lets all go at a new IDR. So pictures wait
    here, at most ``reorder`` plus a few, until their slot is known; then each is handed
    out with ``cto`` = (its display slot + ``reorder`` - its decode slot) frames, never
    negative, and the track's edit list skips the ``reorder`` frames of delay this puts
    before the first picture. Without B-frames the slots are equal: ``cto`` 0, no edit list."""

    audio_track: Track | None = None
    kind = "annexb"

    def __init__(
        self,
        source: InputBytes,
        codec: str,
        fps: int,
        clock: Clock,
        pace: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.codec = codec
        self.fps = fps
        self.clock = clock
        self.pace = pace and source.regular  # a live encoder paces itself
        self.sleep = sleep
        self.units = h26x.AccessUnits(codec)
        self.params = ParameterSets(codec)
        self.track: Track | None = None
        self.sets: SignedSets | None = None  # the init segment's, once probe() made it
        self.frames = 0  # pictures handed out
        self.skipped = 0  # pictures before the first keyframe with parameter sets
        self.cut = ""  # where the stream ended, when it ended inside something
        # The stream ended at parameter sets other than the recording's (its init segment's).
        self.params_changed = False
        self.empty = 0  # access units without a picture, left out (said in the summary)
        self._pending: list = []  # access units read but not yet handed out
        self._start = -1
        self._ended = False
        self.order = h26x.PictureOrder(codec)
        self.reorder = 0  # pictures the display order may hold back (from the SPS)
        self.reordered = 0  # pictures with a composition offset other than the delay
        self._waiting: list = []  # [poc, entry] not yet given a display slot
        self._shown = 0  # display slots given so far
        self._raw: list = []  # access units the probe read past its keyframe

    def probe(self) -> None:
        """Read up to the first keyframe with its parameter sets; MediaError if none comes."""
        while self.track is None:
            if self.source.total > PROBE_LIMIT:
                raise MediaError(
                    "no %s keyframe with its parameter sets in the first %d MB of %s: is this "
                    "the encoder's elementary stream?"
                    % (_NAMES[self.codec], PROBE_LIMIT >> 20, self.source.name),
                    N_("record.media.no_keyframe_in"),
                    codec=_NAMES[self.codec],
                    mb=PROBE_LIMIT >> 20,
                    name=self.source.name,
                )
            units = self._next_units()
            if units is None:
                raise MediaError(
                    "%s ended before its first %s keyframe with parameter sets: nothing was "
                    "recorded" % (self.source.name, _NAMES[self.codec]),
                    N_("record.media.ended_before_keyframe"),
                    name=self.source.name,
                    codec=_NAMES[self.codec],
                )
            for at, (nals, keyframe) in enumerate(units):
                if self.track is not None:
                    # Read with the first keyframe: placed by read(), so a picture whose
                    # order cannot be read ends the stream the same way wherever it is.
                    self._raw = units[at:]
                    break
                self.params.learn(nals)
                if self.track is None and keyframe and self.params.complete():
                    self.track = self.params.track()
                    self.reorder = h26x.reorder_frames(self.params.sps[0], self.codec)
                    if self.reorder < 0:
                        self.reorder = h26x.MAX_REORDER  # unsaid: a decoder's own bound
                    delay_ms = self.reorder * 1000 // self.fps
                    self.track.media_time = delay_ms * 90  # 90 kHz: the video timescale
                    self.sets = SignedSets(self.track.config, self.codec, self.reorder)
                if self.track is None:
                    self._learn_order(nals)
                    self.skipped += 1
                else:
                    self._take(nals, keyframe)  # the first keyframe: never held back

    def _next_units(self) -> "list | None":
        """The access units the next read completes; None at the end of the stream."""
        if self._ended:
            return None
        data = self.source.read()
        if data:
            try:
                return self.units.feed(data)
            except h26x.H26xError:
                # Bytes that never close an access unit: not a stream that can go on.
                self._ended = True
                self.cut = "inside an access unit that never ended"
                return None
        self._ended = True
        last = self.units.end()
        if last and not has_picture(last[-1][0], self.codec):
            # Headers of a picture that never came: the encoder stopped inside it.
            last = last[:-1]
            self.cut = "inside an access unit"
        return last

    @property
    def ended_early(self) -> str:
        """Where the stream ended, when it ended inside an access unit; "" when it ended
        whole, or when the recording was stopped (^C, --seconds) while it was being read."""
        return _ending(self.source, self.cut)

    def _take(self, nals: list, keyframe: bool) -> None:
        """One access unit in decode order: queued, and given its display slot as soon as
        the output rule lets it go."""
        if not has_picture(nals, self.codec):
            self._learn_order(nals)
            self.empty += 1  # headers or SEI with no picture: no frame to show
            return
        poc, fresh, shown = self.order.picture(nals)
        if not shown:
            self.skipped += 1  # a leading picture of the first CRA: no decoder shows it
            return
        if fresh:
            self._show(len(self._waiting))  # a new sequence: every earlier picture first
        entry = [nals, keyframe, -1]
        self._pending.append(entry)
        self._waiting.append([poc, entry])
        self._show(len(self._waiting) - self.reorder)

    def _learn_order(self, nals: list) -> None:
        """The parameter sets of an access unit without a picture (a picture's own are
        learnt by ``PictureOrder.picture``)."""
        for nal in nals:
            if nal and h26x.is_parameter_set(nal, self.codec):
                self.order.learn(nal)

    def _show(self, count: int) -> None:
        """Give display slots to the ``count`` waiting pictures with the lowest POC."""
        for _ in range(max(0, count)):
            low = 0
            for i in range(1, len(self._waiting)):
                if self._waiting[i][0] < self._waiting[low][0]:
                    low = i
            self._waiting.pop(low)[1][2] = self._shown
            self._shown += 1

    def read(self) -> "list | None":
        while not (self._pending and self._pending[0][2] >= 0):
            units, self._raw = (self._raw, []) if self._raw else (self._next_units(), [])
            if units is None:
                self._show(len(self._waiting))  # the end: every picture left is shown
                if not self._pending:
                    return None
                break
            for nals, keyframe in units:
                assert self.sets is not None, "probe() made the track"
                if self.sets.foreign(nals):
                    # New parameter sets: what follows does not decode with the init
                    # segment this recording signs. What came before is whole.
                    self._ended = True
                    self.params_changed = True
                    break
                try:
                    self._take(nals, keyframe)
                except h26x.H26xError as exc:
                    # A picture whose order cannot be read: what came before is whole.
                    self._ended = True
                    self.cut = "at a picture sealcam cannot place in display order (%s)" % (
                        str(exc).replace("h26x: ", "")
                    )
                    break
        nals, keyframe, slot = self._pending.pop(0)
        if self._start < 0:
            self._start = self.clock.mono_ms()
        due = self._start + self.frames * 1000 // self.fps
        shown = self._start + (slot + self.reorder) * 1000 // self.fps
        if slot != self.frames:
            self.reordered += 1
        self.frames += 1
        if self.pace:
            wait = due - self.clock.mono_ms()
            if wait > 0:
                self.sleep(wait / 1000)
        cto = (shown - due) * 90
        return [(STREAM_VIDEO, access_unit_sample(nals, self.codec), keyframe, due, cto)]

    def close(self) -> None:
        self.source.close()


class Mp4Input:
    """A fragmented or plain MP4 from the vendor, demuxed by PyAV: video packets as samples
    with their own times and composition offsets, AAC packets as the audio."""

    kind = "mp4"

    def __init__(
        self,
        source: InputBytes,
        clock: Clock,
        pace: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.clock = clock
        self.pace = pace and source.regular
        self.sleep = sleep
        self.frames = 0
        self.skipped = 0
        self.cut = ""
        self.damaged = 0  # samples whose NAL lengths did not fit
        self.params_changed = False  # as AnnexBInput's: in-band sets the avcC/hvcC lacks
        self.new_moov = 0  # new init segments (ftyp/moov) after the first that went on
        self.moov_changed = False  # params_changed by a new moov whose settings differ
        self.reordered = 0  # pictures with a composition offset (B-frames): in the summary
        self.audio_ignored = ""  # the codec of a sound track left out, for the summary
        self.audio_ignored_why = ""  # why: NOT_AAC or NO_AUDIO_CONFIG
        self.track: Track | None = None
        self.audio_track: Track | None = None
        self.sets: SignedSets | None = None  # the init segment's, once probe() made it
        self._pending: list = []
        self._start = -1
        self._zero: float | None = None  # the first video packet's decode time, seconds
        self._last = 0.0  # the latest packet's time after the first keyframe, seconds
        self._last_video: float | None = None  # the latest picture's time, seconds
        self._step = 1 / 30  # the latest gap between two pictures, seconds
        self._rebase = False  # a new MP4 began: its clock starts afresh
        self._await_key = False  # a new MP4 began: its pictures count from a keyframe
        source.watch_boxes()
        try:
            self._container = av.open(source, "r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(
                "%s is not an MP4 that can be read as a stream (%s): a live encoder must write "
                "fragmented MP4 (moov first, then moof+mdat), and a plain MP4 must be given "
                "as a file" % (source.name, str(exc).rstrip(".")),
                N_("record.media.mp4_not_streamable"),
                name=source.name,
                why=str(exc).rstrip("."),
            ) from None
        if not self._container.streams.video:
            raise MediaError(
                "the MP4 on %s holds no video" % source.name,
                N_("record.media.mp4_no_video"),
                name=source.name,
            )
        self._video = self._container.streams.video[0]
        name = self._video.codec_context.name
        self.codec = {"h264": "avc1", "hevc": "hvc1"}.get(name, "")
        if not self.codec:
            raise MediaError(
                "the MP4 on %s holds %s video: sealcam signs H.264 or H.265" % (source.name, name),
                N_("record.media.mp4_codec"),
                name=source.name,
                codec=name,
            )
        self._audio = None
        for stream in self._container.streams.audio:
            if stream.codec_context.name == "aac" and stream.codec_context.extradata:
                self._audio = stream
                ctx = stream.codec_context
                self.audio_track = Track(
                    AUDIO_TRACK_ID, HANDLER_AUDIO, ctx.sample_rate, "mp4a",
                    bytes(ctx.extradata or b""), channels=ctx.channels, sample_rate=ctx.sample_rate,
                )  # fmt: skip
                break
            self._ignore(stream.codec_context.name)
        streams = [self._video] + ([self._audio] if self._audio is not None else [])
        self._packets = self._container.demux(streams)

    def _ignore(self, codec: str) -> None:
        """A sound track left out, of the first MP4 or of a new moov the encoder began
        again with: named, with why, in the summary.
        An AAC track whose esds holds no AudioSpecificConfig cannot be kept: the signed init
        segment needs it before the first sample, and no player decodes AAC without it."""
        self.audio_ignored = codec
        self.audio_ignored_why = NO_AUDIO_CONFIG if codec == "aac" else NOT_AAC

    def probe(self) -> None:
        """Build the video Track from the MP4's avcC/hvcC and find the first keyframe."""
        config = bytes(self._video.codec_context.extradata or b"")
        if config[:1] == b"\x01":
            at = 4 if self.codec == "avc1" else 21  # lengthSizeMinusOne in avcC / hvcC
            length_size = config[at] & 3 if len(config) > at else 0
            if length_size != 3:
                raise MediaError(
                    "the MP4 on %s uses %d-byte NAL lengths: sealcam stores 4-byte lengths; "
                    "set the muxer to 4" % (self.source.name, length_size + 1),
                    N_("record.media.nal_length"),
                    name=self.source.name,
                    length=length_size + 1,
                )
            ctx = self._video.codec_context
            self.track = Track(
                VIDEO_TRACK_ID, HANDLER_VIDEO, VIDEO_TIMESCALE, self.codec, config,
                ctx.width, ctx.height,
            )  # fmt: skip
        params = ParameterSets(self.codec)
        while True:
            item = self._next_packet()
            if item is None:
                raise MediaError(
                    "%s ended before its first keyframe: nothing was recorded" % self.source.name,
                    N_("record.media.mp4_ended_before_keyframe"),
                    name=self.source.name,
                )
            packet, nals = item
            if packet.stream is not self._video:
                if self.track is not None and self._zero is not None:
                    self._pending.append(item)
                continue
            params.learn(nals)
            if self.track is None and packet.is_keyframe and params.complete():
                self.track = params.track()  # parameter sets in band only (avc3/hev1)
            if self.track is None or (not packet.is_keyframe and self._zero is None):
                self.skipped += 1
                continue
            if self._zero is None:
                self._zero = _seconds(packet.dts, packet.time_base)
            in_band = SignedSets(self.track.config, self.codec)
            if params.complete() and in_band.foreign(nals):
                # The first keyframe brings in band other sets than the avcC/hvcC: the ones
                # it was encoded with are the recording's (read() holds the rest to them).
                self.track = params.track()
            self.sets = SignedSets(self.track.config, self.codec)
            # The first keyframe is the first picture shown; its composition offset is the
            # stream's start delay (B-frames), which the track's edit list skips.
            pts = packet.pts if packet.pts is not None else packet.dts
            delay = round(_seconds(pts - packet.dts, packet.time_base) * VIDEO_TIMESCALE)
            self.track.media_time = max(0, delay)
            self._pending.append(item)
            break

    def _next_packet(self) -> "tuple | None":
        while True:
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            except (av.FFmpegError, OSError):
                # The demuxer met bytes it cannot read: the stream was cut or damaged there.
                self.cut = "inside a fragment"
                return None
            if packet.size == 0 or packet.dts is None:
                continue
            if packet.is_corrupt:
                self.cut = "inside a fragment"
                continue  # a sample cut short is not footage the encoder finished
            nals: list = []
            if packet.stream is self._video:
                try:
                    nals = h26x.from_sample(bytes(packet))
                except ValueError:  # Mp4Error is one: NAL lengths that overrun the sample
                    self.damaged += 1  # not a picture a player could show; counted
                    continue
            return packet, nals

    @property
    def ended_early(self) -> str:
        """As ``AnnexBInput.ended_early``: "inside a fragment" when the MP4 was cut."""
        return _ending(self.source, self.cut)

    def read(self) -> "list | None":
        while not self.params_changed:
            item = self._pending.pop(0) if self._pending else self._next_packet()
            if item is None and self.source.next_init:
                self._next_init()
                continue
            if item is None:
                return None
            got = self._item(item)
            if got is not None:
                return got
        return None

    def _next_init(self) -> None:
        """The encoder began a new MP4 (a new ftyp/moov after the first, from a restart, say)
        and the demuxer has handed out everything before it. Its video must decode with
        the recording's signed init segment: the same codec, 4-byte NAL lengths, and
        parameter sets that decode as the signed ones (a new VUI is fine); its AAC sound,
        the same AudioSpecificConfig. Then the recording goes on, with the new MP4's time
        following on from the last packet's. Anything else ends the recording there, as
        new parameter sets do: what came before is signed (docs/vendor-encoder.md)."""
        assert self.sets is not None, "probe() made the track"
        self._container.close()
        self.source.resume()
        same = False
        try:
            container = av.open(self.source, "r")
        except (av.FFmpegError, OSError, ValueError):
            container = None  # not an MP4 that can be read: nothing vouches for it
        if container is not None:
            video = container.streams.video[0] if container.streams.video else None
            audio = None
            for stream in container.streams.audio:
                if stream.codec_context.name != "aac":
                    self._ignore(stream.codec_context.name)
                elif self._audio is not None:
                    audio = stream
                    break
                # else AAC with no signed sound track to go on: left out, and it is AAC
            same = video is not None and self._same_video(video) and self._same_audio(audio)
            if same and video is not None:
                self._video, self._audio = video, audio
                streams = [video] + ([audio] if audio is not None else [])
                self._container = container
                self._packets = container.demux(streams)
            else:
                container.close()
        if not same:
            self.params_changed = self.moov_changed = True
            return
        self.new_moov += 1
        self._rebase = self._await_key = True

    def _same_video(self, video: "av.video.stream.VideoStream") -> bool:
        assert self.sets is not None, "probe() made the track"
        codec = {"h264": "avc1", "hevc": "hvc1"}.get(video.codec_context.name, "")
        config = bytes(video.codec_context.extradata or b"")
        if codec != self.codec:
            return False
        if config[:1] != b"\x01":
            return True  # parameter sets in band only (avc3/hev1): read() checks each
        at = 4 if self.codec == "avc1" else 21  # lengthSizeMinusOne
        return len(config) > at and config[at] & 3 == 3 and self.sets.config_alike(config)

    def _same_audio(self, audio: "av.audio.stream.AudioStream | None") -> bool:
        if audio is None or self.audio_track is None:
            return True  # no sound from here on: the pictures go on alone
        return bytes(audio.codec_context.extradata or b"") == self.audio_track.config

    def _item(self, item: tuple) -> "list | None":
        """One demuxed packet and its NAL units as the recording's item; None for one left
        out."""
        packet, nals = item
        assert self.sets is not None, "probe() made the track"
        if packet.stream is self._video and self.sets.foreign(nals):
            # In-band parameter sets other than the init segment's: as in an Annex B stream,
            # the recording ends with what came before (docs/vendor-encoder.md).
            self.params_changed = True
            self._pending = []
            return None
        if self._await_key and packet.stream is self._video:
            if not packet.is_keyframe:
                self.skipped += 1  # a new MP4 that opens without its keyframe
                return None
            self._await_key = False
        seconds = _seconds(packet.dts, packet.time_base) - (self._zero or 0.0)
        if self._rebase:
            # A new MP4 counts its time from zero again: it follows on from the last packet.
            self._zero = (self._zero or 0.0) + seconds - (self._last + self._step)
            seconds = self._last + self._step
            self._rebase = False
        if packet.stream is self._video:
            if self._last_video is not None and seconds > self._last_video:
                self._step = min(seconds - self._last_video, 1.0)
            self._last_video = seconds
        self._last = max(self._last, seconds)
        if self._start < 0:
            self._start = self.clock.mono_ms()
        due = self._start + max(0, round(seconds * 1000))
        if self.pace:
            wait = due - self.clock.mono_ms()
            if wait > 0:
                self.sleep(wait / 1000)
        if packet.stream is not self._video:
            return [(STREAM_AUDIO, bytes(packet), False, due, 0)]
        self.frames += 1
        pts = packet.pts if packet.pts is not None else packet.dts
        cto = round(_seconds(pts - packet.dts, packet.time_base) * VIDEO_TIMESCALE)
        if cto:
            self.reordered += 1
        sample = access_unit_sample(nals, self.codec)
        return [(STREAM_VIDEO, sample, bool(packet.is_keyframe), due, cto)]

    def close(self) -> None:
        try:
            self._container.close()
        finally:
            self.source.close()


def _ending(source: InputBytes, cut: str) -> str:
    """How a stream ended early, "" when it did not (or the operator stopped it)."""
    if source.stopped:
        return ""
    if source.error:
        return "with a read error (%s)" % source.error
    return cut


def _seconds(ticks: int, base: "Fraction | None") -> float:
    assert base is not None, "PyAV gives every demuxed packet its stream's time base"
    return float(ticks * base)


def open_input(
    spec: str,
    codec: str,
    fps: int,
    clock: Clock,
    pace: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    stop: "threading.Event | None" = None,
) -> "AnnexBInput | Mp4Input":
    """Open and probe ``--input``; MediaError (one line, nothing recorded) if unusable.

    ``codec`` is "h264"/"h265" to insist on one (an Annex B stream of the other is refused)
    or "" to take it from the first NAL unit.
    """
    if codec and codec not in CODECS:
        raise MediaError(
            "--input takes h264 or h265 streams, not %s" % codec,
            N_("record.media.input_codec"),
            codec=codec,
        )
    source = InputBytes(spec, stop)
    try:
        head = b""
        while len(head) < 8:
            data = source.read()
            if not data:
                break
            head += data
        if not head:
            raise MediaError(
                "%s is empty: the encoder wrote nothing, and nothing was recorded" % source.name,
                N_("record.media.input_empty"),
                name=source.name,
            )
        source.replay = head
        form = sniff(head)
        made: AnnexBInput | Mp4Input
        if form == "mp4":
            made = Mp4Input(source, clock, pace, sleep)
        else:
            nals = h26x.split_annexb(head)
            found = detect_codec(nals[0]) if nals else ""
            wanted = CODECS[codec] if codec else found
            if not found or found != wanted:
                said = _NAMES.get(found, "neither H.264 nor H.265")
                raise MediaError(
                    "the input's first NAL unit is %s%s: give the encoder's %s elementary "
                    "stream" % (said, ", not what --codec says" if found else "",
                                _NAMES.get(wanted, "H.264 or H.265")),
                    N_("record.media.first_nal_other") if found
                    else N_("record.media.first_nal_neither"),
                    found=_NAMES.get(found, found), wanted=_NAMES.get(wanted, "H.264/H.265"),
                )  # fmt: skip
            made = AnnexBInput(source, wanted, fps, clock, pace, sleep)
        try:
            made.probe()
        except ValueError as exc:  # H26xError, Mp4Error: a parameter set or box that is bad
            raise MediaError(
                "%s is not a stream sealcam can sign: %s" % (source.name, str(exc).rstrip(".")),
                N_("record.media.not_signable"),
                name=source.name,
                # An MP4 error names its own line: the command line says it in the reader's
                # language (a field may be such an error); any other keeps its words.
                why=exc if getattr(exc, "msg_id", "") else str(exc).rstrip("."),
            ) from None
        return made
    except BaseException:
        source.close()
        raise
