"""Fragmented MP4 (ISO/IEC 14496-12 base media file format, CMAF style), written and read.

Footage leaves the device as an initialisation segment (``ftyp`` + ``moov``: which tracks
exist and how to decode them, no samples) followed by fragments (``moof`` + ``mdat``: one
GOP of video and the audio beside it). Each fragment is complete on its own, so the device
can sign it as one chunk the moment it is closed, and an export is nothing but those signed
bytes laid end to end: any player that plays fragmented MP4 plays it, with no byte
rewritten. Only the few boxes that layout needs are written, always the same way:

    ftyp  major 'iso6', compatible iso6 cmfc isom mp41
    moov  mvhd, one trak per track (tkhd, an edts with one elst edit when the track
          starts later than media time 0, mdia: mdhd hdlr minf: vmhd|smhd|nmhd dinf stbl
          with one sample entry and empty sample tables), mvex with one trex per track
    moof  mfhd (sequence), per run one traf: tfhd (default-base-is-moof), tfdt (v1),
          trun (data offset; per sample duration, size, flags; composition offsets only
          when one is non-zero)
    mdat  the runs' samples, in run order

The reader is for what this writer makes and for what ffmpeg makes with
``movflags=frag_keyframe+empty_moov+default_base_moof`` (values in tfhd defaults, a tfdt of
version 0, trun fields left out). It trusts nothing: every box must end inside its parent,
every sample inside an ``mdat``, and counts are checked against the bytes present before
anything is allocated from them. Anything else raises ``Mp4Error`` with one line that says
which box is wrong and how.

Pure Python with no ``struct``, so it runs unchanged under MicroPython.
"""

HANDLER_VIDEO = "vide"
HANDLER_AUDIO = "soun"
HANDLER_TEXT = "sbtl"

# Sample flags (ISO/IEC 14496-12 §8.8.3.1) as CMAF writes them: a sync sample depends on no
# other (sample_depends_on = 2); any other sample depends on others (1) and is non-sync.
FLAGS_SYNC = 0x02000000
FLAGS_NON_SYNC = 0x01010000
_NON_SYNC_BIT = 0x00010000

# tfhd flags
_TFHD_BASE_OFFSET = 0x000001
_TFHD_DESCRIPTION = 0x000002
_TFHD_DURATION = 0x000008
_TFHD_SIZE = 0x000010
_TFHD_FLAGS = 0x000020
_TFHD_BASE_IS_MOOF = 0x020000
# trun flags
_TRUN_DATA_OFFSET = 0x000001
_TRUN_FIRST_FLAGS = 0x000004
_TRUN_DURATION = 0x000100
_TRUN_SIZE = 0x000200
_TRUN_FLAGS = 0x000400
_TRUN_CTO = 0x000800

_BRANDS = (b"iso6", b"cmfc", b"isom", b"mp41")
# The identity matrix of mvhd and tkhd (16.16 fixed point, the last column 2.30).
_MATRIX = b"\x00\x01\x00\x00" + bytes(12) + b"\x00\x01\x00\x00" + bytes(12) + b"\x40\x00\x00\x00"
_LANGUAGE_UND = 0x55C4  # 'und' packed as three 5-bit letters
_HANDLER_NAMES = {
    HANDLER_VIDEO: b"VideoHandler",
    HANDLER_AUDIO: b"SoundHandler",
    HANDLER_TEXT: b"TextHandler",
}
# Codec -> handler it belongs under.
_CODEC_HANDLER = {
    "avc1": HANDLER_VIDEO,
    "hvc1": HANDLER_VIDEO,
    "jpeg": HANDLER_VIDEO,
    "mp4a": HANDLER_AUDIO,
    "tx3g": HANDLER_TEXT,
}
_CONFIG_BOX = {"avc1": b"avcC", "hvc1": b"hvcC"}
_VISUAL_ENTRY_LEN = 78  # SampleEntry (8) + VisualSampleEntry fields (70)
_AUDIO_ENTRY_LEN = 28  # SampleEntry (8) + AudioSampleEntry v0 fields (20)
# MPEG-4 systems descriptor tags inside esds (ISO/IEC 14496-1 §7.2.2.1)
_ES_DESCR = 3
_DECODER_CONFIG = 4
_DEC_SPECIFIC = 5
_SL_CONFIG = 6
_AAC_OBJECT_TYPE = 0x40  # objectTypeIndication: MPEG-4 audio
_AUDIO_STREAM = 0x05  # streamType: audio

# The text track's look: centred at the bottom, white 18-pixel sans-serif on a
# translucent black background, so a pause note stays readable over any picture.
_TX3G_FONT_ID = 1
_TX3G_FONT = b"Sans-Serif"
_TX3G_FONT_SIZE = 18
_TX3G_TEXT_RGBA = 0xFFFFFFFF
_TX3G_BACK_RGBA = 0x000000A0
_TX3G_CENTRE = 1
_TX3G_BOTTOM = 0xFF  # -1 as a signed byte

_U32 = 0xFFFFFFFF


class Mp4Error(ValueError):
    """Bytes are not the fragmented MP4 this module reads, or a value cannot be written.

    The message is English: this module runs on the device too and has no catalogue.
    ``msg_id`` and ``fields`` name the same line in the host's catalogue (``mp4e.*``), so that
    the host says it in the reader's language (``host.problems.said``); the ``inside`` and
    ``what`` fields name a place in the file as the English message does (``host.problems``
    says each place through ``mp4e.place.*``). Not ``where``: ``host.report_text`` reads a
    field of that name as a span of seqs, and an MP4 error's place there was a traceback."""

    def __init__(self, message: str, msg_id: str = "", **fields: object) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.fields = fields


class Track:
    """One track of an initialisation segment.

    ``codec`` is the sample entry: "avc1" (``config`` = avcC payload), "hvc1" (hvcC
    payload), "jpeg" (Motion JPEG, no config), "mp4a" (AAC AudioSpecificConfig), "tx3g"
    (3GPP timed text, no config). The reader fills in any other sample entry's four
    characters with an empty config. ``default_duration``, ``default_size`` and
    ``default_flags`` are the trex defaults (the writer writes 0, 0, 0).

    ``media_time`` is where a player starts the track, in its timescale: the edit list's
    one edit (``elst`` media_time). 0 writes no edit list. B-frames need it: the first
    picture is shown a few frames after its decode time (its composition offset), and an
    edit starting there makes it show at time zero."""

    def __init__(
        self,
        track_id: int,
        handler: str,
        timescale: int,
        codec: str,
        config: bytes = b"",
        width: int = 0,
        height: int = 0,
        channels: int = 0,
        sample_rate: int = 0,
        media_time: int = 0,
    ) -> None:
        self.track_id = track_id
        self.handler = handler
        self.timescale = timescale
        self.codec = codec
        self.config = bytes(config)
        self.width = width
        self.height = height
        self.channels = channels
        self.sample_rate = sample_rate
        self.media_time = media_time
        self.default_duration = 0
        self.default_size = 0
        self.default_flags = 0

    def _key(self) -> tuple:
        return (
            self.track_id,
            self.handler,
            self.timescale,
            self.codec,
            self.config,
            self.width,
            self.height,
            self.channels,
            self.sample_rate,
            self.media_time,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Track) and other._key() == self._key()

    def __repr__(self) -> str:
        return "Track(%d, %r, %d, %r, config=%d bytes, %dx%d, %d ch, %d Hz, starts at %d)" % (
            self.track_id,
            self.handler,
            self.timescale,
            self.codec,
            len(self.config),
            self.width,
            self.height,
            self.channels,
            self.sample_rate,
            self.media_time,
        )


class Sample:
    """One sample to write: its bytes, duration (track timescale), whether it is a sync
    sample (keyframe), and its composition offset (0 unless the stream reorders frames)."""

    def __init__(self, data: bytes, duration: int, sync: bool = True, cto: int = 0) -> None:
        self.data = data
        self.duration = duration
        self.sync = sync
        self.cto = cto


class Run:
    """One track's samples in one fragment; ``base_time`` is the first one's decode time."""

    def __init__(self, track_id: int, base_time: int, samples: list) -> None:
        self.track_id = track_id
        self.base_time = base_time
        self.samples = samples


class SampleRef:
    """Where one sample of a fragment lies: ``offset`` and ``size`` index the bytes that
    were read, ``decode_time`` and ``duration`` are in the track's timescale."""

    def __init__(
        self,
        track_id: int,
        decode_time: int,
        duration: int,
        sync: bool,
        cto: int,
        offset: int,
        size: int,
    ) -> None:
        self.track_id = track_id
        self.decode_time = decode_time
        self.duration = duration
        self.sync = sync
        self.cto = cto
        self.offset = offset
        self.size = size

    def _key(self) -> tuple:
        return (
            self.track_id,
            self.decode_time,
            self.duration,
            self.sync,
            self.cto,
            self.offset,
            self.size,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SampleRef) and other._key() == self._key()

    def __repr__(self) -> str:
        return "SampleRef(track %d, t=%d, d=%d, sync=%s, cto=%d, at %d, %d bytes)" % self._key()


# --- writing --------------------------------------------------------------------------------


def _u8(n: int) -> bytes:
    return bytes((n & 0xFF,))


def _u16(n: int) -> bytes:
    return (n & 0xFFFF).to_bytes(2, "big")


def _u32(n: int) -> bytes:
    return (n & _U32).to_bytes(4, "big")


def _u64(n: int) -> bytes:
    return (n & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    size = 8 + len(payload)
    if size > _U32:
        return _u32(1) + kind + _u64(size + 8) + payload
    return _u32(size) + kind + payload


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, _u8(version), (flags & 0xFFFFFF).to_bytes(3, "big"), *parts)


def _check_uint(what: str, n: object, bits: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n >= 1 << bits:
        raise Mp4Error(
            "mp4: %s must be an integer 0..2^%d-1, got %r" % (what, bits, n),
            "mp4e.not_uint",
            what=what,
            bits=bits,
            value=n,
        )
    return n


def _check_track(t: Track) -> None:
    _check_uint("track_id", t.track_id, 32)
    if t.track_id == 0:
        raise Mp4Error("mp4: track_id 0 is reserved; number tracks from 1", "mp4e.track_zero")
    _check_uint("timescale of track %d" % t.track_id, t.timescale, 32)
    if t.timescale == 0:
        raise Mp4Error(
            "mp4: track %d has timescale 0" % t.track_id, "mp4e.timescale_zero", track=t.track_id
        )
    want = _CODEC_HANDLER.get(t.codec)
    if want is None:
        raise Mp4Error(
            "mp4: cannot write codec %r (avc1, hvc1, jpeg, mp4a, tx3g)" % t.codec,
            "mp4e.codec_unknown",
            codec=t.codec,
        )
    if t.handler != want:
        raise Mp4Error(
            "mp4: codec %s belongs under handler %r, not %r" % (t.codec, want, t.handler),
            "mp4e.codec_handler",
            codec=t.codec,
            want=want,
            handler=t.handler,
        )
    _check_uint("width of track %d" % t.track_id, t.width, 16)
    _check_uint("height of track %d" % t.track_id, t.height, 16)
    _check_uint("channels of track %d" % t.track_id, t.channels, 16)
    _check_uint("sample_rate of track %d" % t.track_id, t.sample_rate, 32)
    _check_uint("media_time of track %d" % t.track_id, t.media_time, 31)
    if t.codec in _CONFIG_BOX and not t.config:
        raise Mp4Error(
            "mp4: track %d (%s) needs its decoder configuration" % (t.track_id, t.codec),
            "mp4e.no_config",
            track=t.track_id,
            codec=t.codec,
        )


def _descriptor(tag: int, payload: bytes) -> bytes:
    # Length in 7-bit groups, high bit = more to come (ISO/IEC 14496-1 §8.3.3).
    n = len(payload)
    groups = [n & 0x7F]
    n >>= 7
    while n:
        groups.append(0x80 | (n & 0x7F))
        n >>= 7
    groups.reverse()
    return bytes((tag,)) + bytes(groups) + payload


def _esds(asc: bytes) -> bytes:
    decoder_config = _descriptor(
        _DECODER_CONFIG,
        _u8(_AAC_OBJECT_TYPE)
        + _u8(_AUDIO_STREAM << 2 | 1)  # streamType, upStream 0, reserved 1
        + bytes(3)  # bufferSizeDB
        + _u32(0)  # maxBitrate
        + _u32(0)  # avgBitrate
        + _descriptor(_DEC_SPECIFIC, asc),
    )
    es = _descriptor(
        _ES_DESCR, _u16(0) + _u8(0) + decoder_config + _descriptor(_SL_CONFIG, b"\x02")
    )
    return _full(b"esds", 0, 0, es)


def _sample_entry(t: Track) -> bytes:
    head = bytes(6) + _u16(1)  # reserved, data_reference_index 1
    codec = t.codec.encode()
    if t.handler == HANDLER_VIDEO:
        name = bytes(32)  # compressorname: empty Pascal string
        fields = (
            bytes(16)  # pre_defined, reserved, pre_defined[3]
            + _u16(t.width)
            + _u16(t.height)
            + _u32(0x00480000)  # 72 dpi
            + _u32(0x00480000)
            + _u32(0)
            + _u16(1)  # frame_count
            + name
            + _u16(0x0018)  # depth
            + _u16(0xFFFF)  # pre_defined -1
        )
        extra = _box(_CONFIG_BOX[t.codec], t.config) if t.codec in _CONFIG_BOX else b""
        return _box(codec, head, fields, extra)
    if t.handler == HANDLER_AUDIO:
        rate = t.sample_rate if t.sample_rate < 0x10000 else 0  # 16.16: larger rates do not fit
        fields = bytes(8) + _u16(t.channels) + _u16(16) + bytes(4) + _u32(rate << 16)
        return _box(codec, head, fields, _esds(t.config))
    # tx3g: TextSampleEntry (3GPP TS 26.245 §5.16)
    style = (
        _u16(0)  # startChar
        + _u16(0)  # endChar
        + _u16(_TX3G_FONT_ID)
        + _u8(0)  # face style: plain
        + _u8(_TX3G_FONT_SIZE)
        + _u32(_TX3G_TEXT_RGBA)
    )
    fonts = _box(b"ftab", _u16(1), _u16(_TX3G_FONT_ID), _u8(len(_TX3G_FONT)), _TX3G_FONT)
    fields = (
        _u32(0)  # displayFlags
        + _u8(_TX3G_CENTRE)
        + _u8(_TX3G_BOTTOM)
        + _u32(_TX3G_BACK_RGBA)
        + _u16(0)  # text box: top, left, bottom, right
        + _u16(0)
        + _u16(t.height)
        + _u16(t.width)
        + style
    )
    return _box(codec, head, fields, fonts)


def _trak(t: Track) -> bytes:
    tkhd = _full(
        b"tkhd",
        0,
        3,  # enabled, in movie
        _u32(0),
        _u32(0),
        _u32(t.track_id),
        _u32(0),
        _u32(0),  # duration: unknown, fragments follow
        bytes(8),
        _u16(0),  # layer
        _u16(0),  # alternate_group
        _u16(0x0100 if t.handler == HANDLER_AUDIO else 0),
        _u16(0),
        _MATRIX,
        _u32(t.width << 16),
        _u32(t.height << 16),
    )
    mdhd = _full(
        b"mdhd", 0, 0, _u32(0), _u32(0), _u32(t.timescale), _u32(0), _u16(_LANGUAGE_UND), _u16(0)
    )
    hdlr = _full(
        b"hdlr", 0, 0, _u32(0), t.handler.encode(), bytes(12), _HANDLER_NAMES[t.handler], b"\x00"
    )
    if t.handler == HANDLER_VIDEO:
        media_header = _full(b"vmhd", 0, 1, bytes(8))
    elif t.handler == HANDLER_AUDIO:
        media_header = _full(b"smhd", 0, 0, bytes(4))
    else:
        media_header = _full(b"nmhd", 0, 0)
    dinf = _box(b"dinf", _full(b"dref", 0, 0, _u32(1), _full(b"url ", 0, 1)))
    stbl = _box(
        b"stbl",
        _full(b"stsd", 0, 0, _u32(1), _sample_entry(t)),
        _full(b"stts", 0, 0, _u32(0)),
        _full(b"stsc", 0, 0, _u32(0)),
        _full(b"stsz", 0, 0, _u32(0), _u32(0)),
        _full(b"stco", 0, 0, _u32(0)),
    )
    minf = _box(b"minf", media_header, dinf, stbl)
    return _box(b"trak", tkhd, _edts(t), _box(b"mdia", mdhd, hdlr, minf))


def _edts(t: Track) -> bytes:
    """The track's edit list: one edit from ``media_time`` to the end, at rate 1; none
    when the track starts at 0. The edit's duration is 0: the track is fragmented, its length
    is not known when the init segment is written, and ISO/IEC 14496-12 (8.6.6) lets a
    fragmented track's edit run to the end of its media that way."""
    if not t.media_time:
        return b""
    elst = _full(b"elst", 0, 0, _u32(1), _u32(0), _u32(t.media_time), _u16(1), _u16(0))
    return _box(b"edts", elst)


def init_segment(tracks: list) -> bytes:
    """The initialisation segment (ftyp + moov) for ``tracks``, in the order given."""
    if not tracks:
        raise Mp4Error("mp4: an initialisation segment needs at least one track", "mp4e.no_tracks")
    ids = []
    for t in tracks:
        _check_track(t)
        if t.track_id in ids:
            raise Mp4Error(
                "mp4: track_id %d appears twice" % t.track_id, "mp4e.track_twice", track=t.track_id
            )
        ids.append(t.track_id)
    ftyp = _box(b"ftyp", _BRANDS[0], _u32(0), b"".join(_BRANDS))
    mvhd = _full(
        b"mvhd",
        0,
        0,
        _u32(0),
        _u32(0),
        _u32(1000),  # movie timescale: ms
        _u32(0),  # duration: unknown, fragments follow
        _u32(0x00010000),  # rate 1.0
        _u16(0x0100),  # volume 1.0
        bytes(10),
        _MATRIX,
        bytes(24),
        _u32(max(ids) + 1 if max(ids) < _U32 else _U32),
    )
    trex = b"".join(
        _full(b"trex", 0, 0, _u32(t.track_id), _u32(1), _u32(0), _u32(0), _u32(0)) for t in tracks
    )
    moov = _box(b"moov", mvhd, b"".join(_trak(t) for t in tracks), _box(b"mvex", trex))
    return ftyp + moov


def fragment(sequence: int, runs: list) -> bytes:
    """One fragment (moof + mdat): ``runs`` in order, each a traf and its samples in mdat."""
    _check_uint("sequence", sequence, 32)
    if not runs:
        raise Mp4Error("mp4: a fragment needs at least one run", "mp4e.no_runs")
    trafs = []
    patches = []  # (offset of trun's data_offset within the moof payload, run index)
    sizes = []  # bytes of each run's samples
    pos = 8 + 16  # moof header, mfhd
    for index in range(len(runs)):
        run = runs[index]
        _check_uint("track_id", run.track_id, 32)
        _check_uint("base_time of track %d" % run.track_id, run.base_time, 64)
        samples = run.samples
        with_cto = False
        negative = False
        for s in samples:
            _check_uint("sample duration in track %d" % run.track_id, s.duration, 32)
            if not isinstance(s.cto, int) or not -(1 << 31) <= s.cto < 1 << 32:
                raise Mp4Error(
                    "mp4: composition offset %r is out of range" % (s.cto,),
                    "mp4e.cto_range",
                    value=s.cto,
                )
            if s.cto:
                with_cto = True
            if s.cto < 0:
                negative = True
            if len(s.data) > _U32:
                raise Mp4Error(
                    "mp4: a sample of %d bytes does not fit a trun" % len(s.data),
                    "mp4e.sample_too_large",
                    size=len(s.data),
                )
        if negative and any(s.cto >= 1 << 31 for s in samples):
            raise Mp4Error(
                "mp4: composition offsets mix negative and above 2^31 values", "mp4e.cto_mixed"
            )
        flags = _TRUN_DATA_OFFSET | _TRUN_DURATION | _TRUN_SIZE | _TRUN_FLAGS
        if with_cto:
            flags |= _TRUN_CTO
        entries = []
        for s in samples:
            entries.append(_u32(s.duration))
            entries.append(_u32(len(s.data)))
            entries.append(_u32(FLAGS_SYNC if s.sync else FLAGS_NON_SYNC))
            if with_cto:
                entries.append(_u32(s.cto))
        tfhd = _full(b"tfhd", 0, _TFHD_BASE_IS_MOOF, _u32(run.track_id))
        tfdt = _full(b"tfdt", 1, 0, _u64(run.base_time))
        trun = _full(
            b"trun", 1 if negative else 0, flags, _u32(len(samples)), _u32(0), b"".join(entries)
        )
        traf = _box(b"traf", tfhd, tfdt, trun)
        # data_offset sits after traf header (8), tfhd, tfdt, trun's header (12) and count (4).
        patches.append(pos + 8 + len(tfhd) + len(tfdt) + 16)
        pos += len(traf)
        trafs.append(traf)
        sizes.append(sum([len(s.data) for s in samples]))
    moof = bytearray(_box(b"moof", _full(b"mfhd", 0, 0, _u32(sequence)), b"".join(trafs)))
    if len(moof) != pos:
        raise Mp4Error(
            "mp4: internal error: moof layout %d != %d" % (len(moof), pos),
            "mp4e.moof_layout",
            made=len(moof),
            planned=pos,
        )
    total = sum(sizes)
    # mdat header: a 64-bit size only when 32 bits cannot hold it
    if total + 8 > _U32:
        mdat_head = _u32(1) + b"mdat" + _u64(total + 16)
    else:
        mdat_head = _u32(total + 8) + b"mdat"
    offset = len(moof) + len(mdat_head)
    for index in range(len(runs)):
        at = patches[index]
        if offset > 0x7FFFFFFF:
            raise Mp4Error(
                "mp4: fragment too large for a 32-bit data offset", "mp4e.fragment_too_large"
            )
        moof[at : at + 4] = _u32(offset)
        offset += sizes[index]
    # One join, so each sample's bytes are copied once (a board has little RAM to spare).
    parts = [bytes(moof), mdat_head]
    for run in runs:
        for s in run.samples:
            parts.append(s.data)
    return b"".join(parts)


def text_sample(text: str) -> bytes:
    """A tx3g sample showing ``text`` (UTF-8); "" is the empty sample that clears the screen."""
    raw = text.encode()
    if len(raw) > 0xFFFF:
        raise Mp4Error(
            "mp4: a text sample holds at most 65535 bytes of UTF-8", "mp4e.text_too_long"
        )
    return _u16(len(raw)) + raw


def uuid_box(usertype: bytes, payload: bytes) -> bytes:
    """A top-level ``uuid`` box: players skip it, so it can carry data of our own."""
    if len(usertype) != 16:
        raise Mp4Error(
            "mp4: a uuid box's user type is 16 bytes, not %d" % len(usertype),
            "mp4e.usertype",
            size=len(usertype),
        )
    return _box(b"uuid", bytes(usertype), payload)


# --- reading --------------------------------------------------------------------------------


def _int(data: bytes, at: int, n: int, end: int, what: str) -> int:
    if at < 0 or at + n > end:
        raise Mp4Error("mp4: %s is cut short" % what, "mp4e.cut_short", what=what)
    return int.from_bytes(data[at : at + n], "big")


def _fourcc(raw: bytes) -> str:
    # chr() per byte: a box type may hold any byte (e.g. 0xA9 in metadata), and MicroPython
    # decodes only UTF-8.
    return "".join([chr(c) for c in raw])


def _children(data: bytes, start: int, end: int, where: str, padded: bool = False) -> list:
    """The boxes between ``start`` and ``end``: [(type, box start, payload start, box end)].
    ``padded``: up to 7 zero bytes may follow the last box (as some muxers end a sample
    entry with a 32-bit zero terminator)."""
    out = []
    at = start
    while at < end:
        if end - at < 8:
            if padded and not any(data[at:end]):
                break
            raise Mp4Error(
                "mp4: %d stray bytes at the end of %s" % (end - at, where),
                "mp4e.stray_bytes",
                count=end - at,
                inside=where,
            )
        size = int.from_bytes(data[at : at + 4], "big")
        kind = _fourcc(data[at + 4 : at + 8])
        head = 8
        if size == 1:
            if end - at < 16:
                raise Mp4Error(
                    "mp4: box %r in %s is cut short in its 64-bit size" % (kind, where),
                    "mp4e.size64_short",
                    box=kind,
                    inside=where,
                )
            size = int.from_bytes(data[at + 8 : at + 16], "big")
            head = 16
        elif size == 0:
            size = end - at  # runs to the end of its parent (the file, at the top)
        if kind == "uuid":
            head += 16
        if size < head:
            raise Mp4Error(
                "mp4: box %r in %s declares %d bytes, less than its header" % (kind, where, size),
                "mp4e.size_below_header",
                box=kind,
                inside=where,
                size=size,
            )
        if size > end - at:
            raise Mp4Error(
                "mp4: box %r at byte %d declares %d bytes, past the end of %s (%d left)"
                % (kind, at, size, where, end - at),
                "mp4e.size_past_end",
                box=kind,
                at=at,
                size=size,
                inside=where,
                left=end - at,
            )
        out.append((kind, at, at + head, at + size))
        at += size
    return out


def top_boxes(data: bytes) -> list:
    """The top-level boxes of ``data``: [(type, start, end)], each checked to fit."""
    return [(k, s, e) for (k, s, _p, e) in _children(data, 0, len(data), "the file")]


def fragment_spans(data: bytes) -> list:
    """Where each fragment of a whole file lies: [(start, end)], one per moof, from the moof
    through the mdat boxes right after it. The init segment, and boxes such as sidx, free
    or uuid, belong to no fragment; a moof with no mdat after it is an Mp4Error."""
    boxes = top_boxes(data)
    spans = []
    i = 0
    while i < len(boxes):
        kind, start, end = boxes[i]
        i += 1
        if kind != "moof":
            continue
        if i >= len(boxes) or boxes[i][0] != "mdat":
            raise Mp4Error(
                "mp4: the moof at byte %d has no mdat after it" % start,
                "mp4e.moof_no_mdat",
                at=start,
            )
        while i < len(boxes) and boxes[i][0] == "mdat":
            end = boxes[i][2]
            i += 1
        spans.append((start, end))
    return spans


def uuid_payloads(data: bytes, usertype: bytes) -> list:
    """The payload of every top-level ``uuid`` box of ``usertype`` in ``data``, in order."""
    out = []
    for kind, _start, payload, end in _children(data, 0, len(data), "the file"):
        if kind == "uuid" and data[payload - 16 : payload] == usertype:
            out.append(bytes(data[payload:end]))
    return out


def _one(boxes: list, kind: str, where: str) -> tuple:
    found = [b for b in boxes if b[0] == kind]
    if len(found) != 1:
        if not found:
            raise Mp4Error(
                "mp4: %s has no %s box" % (where, kind), "mp4e.no_box", inside=where, box=kind
            )
        raise Mp4Error(
            "mp4: %s has %d %s boxes, expected one" % (where, len(found), kind),
            "mp4e.boxes_not_one",
            inside=where,
            count=len(found),
            box=kind,
        )
    return found[0]


def _opt(boxes: list, kind: str) -> "tuple | None":
    for b in boxes:
        if b[0] == kind:
            return b
    return None


def _inside(data: bytes, box: tuple, where: str) -> list:
    return _children(data, box[2], box[3], where)


def _read_descriptor(data: bytes, at: int, end: int) -> tuple:
    """(tag, payload start, payload end) of the descriptor at ``at``."""
    tag = _int(data, at, 1, end, "an esds descriptor")
    at += 1
    n = 0
    for _ in range(4):
        c = _int(data, at, 1, end, "an esds descriptor length")
        at += 1
        n = n << 7 | (c & 0x7F)
        if not c & 0x80:
            break
    else:
        raise Mp4Error("mp4: an esds descriptor length runs over four bytes", "mp4e.esds_length")
    if n > end - at:
        raise Mp4Error(
            "mp4: esds descriptor %d declares %d bytes, past its box" % (tag, n),
            "mp4e.esds_past_box",
            tag=tag,
            size=n,
        )
    return tag, at, at + n


def _audio_config(data: bytes, start: int, end: int) -> bytes:
    """The AudioSpecificConfig inside an esds payload (after version and flags)."""
    tag, at, stop = _read_descriptor(data, start, end)
    if tag != _ES_DESCR:
        raise Mp4Error("mp4: esds does not start with an ES_Descriptor", "mp4e.esds_start")
    flags = _int(data, at + 2, 1, stop, "the ES_Descriptor")
    at += 3
    if flags & 0x80:
        at += 2  # dependsOn_ES_ID
    if flags & 0x40:
        at += 1 + _int(data, at, 1, stop, "the ES_Descriptor URL")
    if flags & 0x20:
        at += 2  # OCR_ES_Id
    while at < stop:
        tag, p, q = _read_descriptor(data, at, stop)
        if tag == _DECODER_CONFIG:
            at = p + 13  # objectTypeIndication .. avgBitrate
            while at < q:
                tag, r, s = _read_descriptor(data, at, q)
                if tag == _DEC_SPECIFIC:
                    return bytes(data[r:s])
                at = s
            return b""
        at = q
    return b""


def _read_entry(data: bytes, box: tuple, track: Track) -> None:
    kind, _start, p, end = box
    track.codec = kind
    if track.handler == HANDLER_VIDEO or kind in _CONFIG_BOX or kind == "jpeg":
        if end - p < _VISUAL_ENTRY_LEN:
            raise Mp4Error(
                "mp4: visual sample entry %r of track %d is cut short" % (kind, track.track_id),
                "mp4e.visual_entry_short",
                entry=kind,
                track=track.track_id,
            )
        track.width = int.from_bytes(data[p + 24 : p + 26], "big")
        track.height = int.from_bytes(data[p + 26 : p + 28], "big")
        want = _CONFIG_BOX.get(kind)
        if kind == "avc3":
            want = b"avcC"
        elif kind == "hev1":
            want = b"hvcC"
        if want is not None:
            inner = _children(data, p + _VISUAL_ENTRY_LEN, end, "sample entry %r" % kind, True)
            cfg = _opt(inner, want.decode())
            if cfg is None:
                raise Mp4Error(
                    "mp4: sample entry %s of track %d has no %s"
                    % (kind, track.track_id, want.decode()),
                    "mp4e.entry_no_config",
                    entry=kind,
                    track=track.track_id,
                    box=want.decode(),
                )
            track.config = bytes(data[cfg[2] : cfg[3]])
        return
    if track.handler == HANDLER_AUDIO:
        if end - p < _AUDIO_ENTRY_LEN:
            raise Mp4Error(
                "mp4: audio sample entry %r of track %d is cut short" % (kind, track.track_id),
                "mp4e.audio_entry_short",
                entry=kind,
                track=track.track_id,
            )
        version = int.from_bytes(data[p + 8 : p + 10], "big")
        track.channels = int.from_bytes(data[p + 16 : p + 18], "big")
        track.sample_rate = int.from_bytes(data[p + 24 : p + 26], "big")
        skip = {0: 0, 1: 16, 2: 36}.get(version)
        if skip is None:
            raise Mp4Error(
                "mp4: audio sample entry of track %d has version %d" % (track.track_id, version),
                "mp4e.audio_entry_version",
                track=track.track_id,
                version=version,
            )
        if end - p < _AUDIO_ENTRY_LEN + skip:
            raise Mp4Error(
                "mp4: audio sample entry of track %d is cut short" % track.track_id,
                "mp4e.audio_entry_rest_short",
                track=track.track_id,
            )
        if kind == "mp4a":
            inner = _children(data, p + _AUDIO_ENTRY_LEN + skip, end, "sample entry mp4a", True)
            esds = _opt(inner, "esds")
            if esds is None:
                raise Mp4Error(
                    "mp4: sample entry mp4a of track %d has no esds" % track.track_id,
                    "mp4e.mp4a_no_esds",
                    track=track.track_id,
                )
            track.config = _audio_config(data, esds[2] + 4, esds[3])


def read_init(data: bytes) -> list:
    """The tracks of an initialisation segment, in file order, with their configs and the
    trex defaults; Mp4Error if it is not one."""
    top = _children(data, 0, len(data), "the file")
    moov = _one(top, "moov", "the initialisation segment")
    inside = _inside(data, moov, "moov")
    tracks = []  # type: list
    for trak in inside:
        if trak[0] != "trak":
            continue
        tb = _inside(data, trak, "trak")
        tkhd = _one(tb, "tkhd", "trak")
        p, e = tkhd[2], tkhd[3]
        version = _int(data, p, 1, e, "tkhd")
        wide = 8 if version == 1 else 4
        track_id = _int(data, p + 4 + 2 * wide, 4, e, "tkhd")
        # after track_id: reserved 4, duration, reserved 8, layer/group/volume/reserved 8,
        # matrix 36
        size_at = p + 4 + 3 * wide + 60
        width = _int(data, size_at, 4, e, "tkhd") >> 16
        height = _int(data, size_at + 4, 4, e, "tkhd") >> 16
        mdia = _one(tb, "mdia", "trak %d" % track_id)
        mb = _inside(data, mdia, "mdia")
        mdhd = _one(mb, "mdhd", "mdia of track %d" % track_id)
        p, e = mdhd[2], mdhd[3]
        wide = 8 if _int(data, p, 1, e, "mdhd") == 1 else 4
        timescale = _int(data, p + 4 + 2 * wide, 4, e, "mdhd")
        hdlr = _one(mb, "hdlr", "mdia of track %d" % track_id)
        handler = _fourcc(data[hdlr[2] + 8 : hdlr[2] + 12]) if hdlr[3] - hdlr[2] >= 12 else ""
        if len(handler) != 4:
            raise Mp4Error(
                "mp4: hdlr of track %d is cut short" % track_id, "mp4e.hdlr_short", track=track_id
            )
        minf = _one(mb, "minf", "mdia of track %d" % track_id)
        stbl = _one(_inside(data, minf, "minf"), "stbl", "minf of track %d" % track_id)
        stsd = _one(_inside(data, stbl, "stbl"), "stsd", "stbl of track %d" % track_id)
        count = _int(data, stsd[2] + 4, 4, stsd[3], "stsd")
        entries = _children(data, stsd[2] + 8, stsd[3], "stsd")
        if count < 1 or not entries:
            raise Mp4Error(
                "mp4: track %d has no sample entry" % track_id,
                "mp4e.no_sample_entry",
                track=track_id,
            )
        if timescale == 0:
            raise Mp4Error(
                "mp4: track %d has timescale 0" % track_id, "mp4e.timescale_zero", track=track_id
            )
        if track_id == 0 or any(t.track_id == track_id for t in tracks):
            raise Mp4Error(
                "mp4: track_id %d is 0 or appears twice in moov" % track_id,
                "mp4e.track_id_bad",
                track=track_id,
            )
        track = Track(track_id, handler, timescale, "", width=width, height=height)
        track.media_time = _media_time(data, _opt(tb, "edts"))
        _read_entry(data, entries[0], track)
        if handler != HANDLER_VIDEO and handler != HANDLER_AUDIO:
            # text: width and height are the tkhd's (the region the text is laid out in)
            track.width, track.height = width, height
        tracks.append(track)
    if not tracks:
        raise Mp4Error("mp4: moov holds no trak", "mp4e.no_trak")
    mvex = _opt(inside, "mvex")
    if mvex is not None:
        for trex in _inside(data, mvex, "mvex"):
            if trex[0] != "trex":
                continue
            p, e = trex[2], trex[3]
            if e - p < 24:
                raise Mp4Error("mp4: trex is cut short", "mp4e.trex_short")
            track_id = int.from_bytes(data[p + 4 : p + 8], "big")
            for t in tracks:
                if t.track_id == track_id:
                    t.default_duration = int.from_bytes(data[p + 12 : p + 16], "big")
                    t.default_size = int.from_bytes(data[p + 16 : p + 20], "big")
                    t.default_flags = int.from_bytes(data[p + 20 : p + 24], "big")
    return tracks


def _media_time(data: bytes, edts: "tuple | None") -> int:
    """Where the track's edit list starts its media: the first edit that is not empty
    (media_time -1 is a pause before the track). An edit list is only how a player lines
    the track up, never what is signed, so one this reader does not follow (cut short, an
    unknown version) counts as none (0) rather than making the file unreadable."""
    if edts is None:
        return 0
    try:
        elst = _opt(_inside(data, edts, "edts"), "elst")
    except Mp4Error:
        return 0
    if elst is None:
        return 0
    p, e = elst[2], elst[3]
    if e - p < 8:
        return 0
    version = data[p]
    wide = 8 if version == 1 else 4
    if version > 1:
        return 0
    count = int.from_bytes(data[p + 4 : p + 8], "big")
    at = p + 8
    for _ in range(min(count, (e - at) // (2 * wide + 4))):
        raw = int.from_bytes(data[at + wide : at + 2 * wide], "big")
        start = raw - (1 << (8 * wide)) if raw >> (8 * wide - 1) else raw
        at += 2 * wide + 4
        if start >= 0:
            return start
    return 0


def _signed32(n: int) -> int:
    return n - (1 << 32) if n & 0x80000000 else n


def _within(mdats: list, offset: int, size: int) -> bool:
    for lo, hi in mdats:
        if lo <= offset and offset + size <= hi:
            return True
    return False


def read_fragment(data: bytes, tracks: "list | None" = None) -> tuple:
    """(sequence, [SampleRef ...] in file order) of the one fragment in ``data``.

    A value a trun leaves out comes from the tfhd defaults, else from the trex of the
    track in ``tracks`` (as ``read_init`` returns them), else duration 0 / size 0 / sync.
    A traf without tfdt starts at decode time 0. Every sample must lie inside an mdat of
    ``data``."""
    top = _children(data, 0, len(data), "the file")
    moof = _one(top, "moof", "the fragment")
    mdats = [(b[2], b[3]) for b in top if b[0] == "mdat"]
    if not mdats:
        raise Mp4Error("mp4: the fragment has no mdat", "mp4e.no_mdat")
    lo, hi = mdats[0]  # the usual case, one mdat, checked without a loop
    trex = {}
    if tracks:
        for t in tracks:
            trex[t.track_id] = (t.default_duration, t.default_size, t.default_flags)
    inside = _inside(data, moof, "moof")
    mfhd = _one(inside, "mfhd", "moof")
    sequence = _int(data, mfhd[2] + 4, 4, mfhd[3], "mfhd")
    refs = []
    moof_start = moof[1]
    next_data = moof_start  # where a traf without a base offset continues (§8.8.7.1)
    for traf in inside:
        if traf[0] != "traf":
            continue
        tb = _inside(data, traf, "traf")
        tfhd = _one(tb, "tfhd", "traf")
        p, e = tfhd[2], tfhd[3]
        flags = _int(data, p, 4, e, "tfhd") & 0xFFFFFF
        track_id = _int(data, p + 4, 4, e, "tfhd")
        at = p + 8
        base = next_data
        if flags & _TFHD_BASE_OFFSET:
            base = _int(data, at, 8, e, "tfhd base_data_offset")
            at += 8
        elif flags & _TFHD_BASE_IS_MOOF:
            base = moof_start
        if flags & _TFHD_DESCRIPTION:
            at += 4
        d_duration, d_size, d_flags = trex.get(track_id, (0, 0, FLAGS_SYNC))
        if flags & _TFHD_DURATION:
            d_duration = _int(data, at, 4, e, "tfhd default duration")
            at += 4
        if flags & _TFHD_SIZE:
            d_size = _int(data, at, 4, e, "tfhd default size")
            at += 4
        if flags & _TFHD_FLAGS:
            d_flags = _int(data, at, 4, e, "tfhd default flags")
            at += 4
        decode_time = 0
        tfdt = _opt(tb, "tfdt")
        if tfdt is not None:
            p, e = tfdt[2], tfdt[3]
            version = _int(data, p, 1, e, "tfdt")
            decode_time = _int(data, p + 4, 8 if version == 1 else 4, e, "tfdt")
        offset = base
        for trun in tb:
            if trun[0] != "trun":
                continue
            p, e = trun[2], trun[3]
            head = _int(data, p, 4, e, "trun")
            version = head >> 24
            tflags = head & 0xFFFFFF
            count = _int(data, p + 4, 4, e, "trun")
            at = p + 8
            if tflags & _TRUN_DATA_OFFSET:
                offset = base + _signed32(_int(data, at, 4, e, "trun data offset"))
                at += 4
            first_flags = None
            if tflags & _TRUN_FIRST_FLAGS:
                first_flags = _int(data, at, 4, e, "trun first sample flags")
                at += 4
            width = 4 * (
                bool(tflags & _TRUN_DURATION)
                + bool(tflags & _TRUN_SIZE)
                + bool(tflags & _TRUN_FLAGS)
                + bool(tflags & _TRUN_CTO)
            )
            if width:
                if count > (e - at) // width:
                    raise Mp4Error(
                        "mp4: trun of track %d declares %d samples, more than its box holds"
                        % (track_id, count),
                        "mp4e.trun_overfull",
                        track=track_id,
                        count=count,
                    )
            elif count > len(data):
                raise Mp4Error(
                    "mp4: trun of track %d declares %d samples" % (track_id, count),
                    "mp4e.trun_count",
                    track=track_id,
                    count=count,
                )
            for i in range(count):
                duration, size, sflags, cto = d_duration, d_size, d_flags, 0
                if i == 0 and first_flags is not None:
                    sflags = first_flags
                if tflags & _TRUN_DURATION:
                    duration = int.from_bytes(data[at : at + 4], "big")
                    at += 4
                if tflags & _TRUN_SIZE:
                    size = int.from_bytes(data[at : at + 4], "big")
                    at += 4
                if tflags & _TRUN_FLAGS:
                    sflags = int.from_bytes(data[at : at + 4], "big")
                    at += 4
                if tflags & _TRUN_CTO:
                    cto = int.from_bytes(data[at : at + 4], "big")
                    if version:
                        cto = _signed32(cto)
                    at += 4
                if not (lo <= offset and offset + size <= hi) and not _within(mdats, offset, size):
                    raise Mp4Error(
                        "mp4: sample %d of track %d (%d bytes at byte %d) lies outside every mdat"
                        % (i, track_id, size, offset),
                        "mp4e.sample_outside",
                        sample=i,
                        track=track_id,
                        size=size,
                        at=offset,
                    )
                refs.append(
                    SampleRef(
                        track_id,
                        decode_time,
                        duration,
                        not sflags & _NON_SYNC_BIT,
                        cto,
                        offset,
                        size,
                    )
                )
                offset += size
                decode_time += duration
        next_data = offset
    return sequence, refs


def track_samples(data: bytes, track_id: int, tracks: "list | None" = None) -> list:
    """The bytes of each sample of ``track_id`` in the fragment ``data``, in decode order."""
    refs = [r for r in read_fragment(data, tracks)[1] if r.track_id == track_id]
    # sorted() is stable: samples with equal decode times keep their file order.
    refs = sorted(refs, key=lambda r: r.decode_time)
    return [bytes(data[r.offset : r.offset + r.size]) for r in refs]
