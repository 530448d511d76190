"""Compliance: the device records facts; this judges them against the agency's rules.

Input is one device's stored ledger (parsed entries, in seq order), when the host received
each entry, and what the device answered for media it could not give (GONE reports, see
``host.evidence``); output is a list of flags, each naming the rule, where, and what a
reviewer should look at. The device never judges itself (DESIGN principle 3): a pause
without a spoken reason is recorded faithfully and flagged here. Given the stored media too,
a spoken reason recorded as an fMP4 fragment is listened to: one that is silence (below
``Policy.silence_dbfs`` over its whole span) is flagged like a missing one; so is the start
of a recording, up to the announcement the officer confirmed: a recording with no sound, or
only silence there, cannot hold the announcement (issue 17).
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from host.recordings import recording_label
from host.report_text import recording_said
from protocol.ledger import Entry, media_digest
from protocol.messages import GONE_DAMAGED
from protocol.registry import (
    EV_ANNOUNCEMENT,
    EV_BOOT,
    EV_CLOCK_SET,
    EV_EVICTION,
    EV_HOST_RECEIPT,
    EV_PAUSE,
    EV_POWER_LOSS_RECOVERED,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    F_BOOT,
    F_CIPHER_SHA,
    F_DETAIL,
    F_END_MS,
    F_EVENT,
    F_MEDIA_TYPE,
    F_MONO_MS,
    F_REASON,
    F_RECORDING,
    F_SPOKEN,
    F_START_MS,
    F_WALL_MS,
    KIND_CHUNK,
    KIND_EVENT,
    MEDIA_AAC,
    MEDIA_MP4,
    MEDIA_MP4_INIT,
    MEDIA_OPUS,
    MEDIA_PCM,
    PAUSE_NAMES,
)

if TYPE_CHECKING:
    from host.sqlstore import Cursor

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
AUDIO = (MEDIA_AAC, MEDIA_OPUS, MEDIA_PCM)
# A spoken reason in fMP4 mode is an audio-only fragment of the recording (MEDIA_MP4).
SPOKEN_MEDIA = (*AUDIO, MEDIA_MP4)
# Below this RMS level over the whole span, a spoken reason is silence (host.spokenlevel):
# speech into a body-worn microphone is -35 to -20 dBFS, a muted or covered one below -50.
SILENCE_DBFS = -50.0


class Policy:
    """The agency's thresholds; defaults follow the regulations."""

    def __init__(
        self,
        upload_hours: float = 24,
        clock_drift_ms: int = 2000,
        retention_floor_days: int = 183,
        silence_dbfs: float = SILENCE_DBFS,
    ) -> None:
        self.upload_hours = upload_hours  # R-HOST-1: 24 h, or 48 h by agency policy
        self.clock_drift_ms = clock_drift_ms  # R-HOST-11
        self.retention_floor_days = retention_floor_days  # R-DEV-4
        self.silence_dbfs = silence_dbfs  # R-DEV-9: a spoken reason quieter is silence


# Every flag code the host raises, with what it means: the reference the scenario
# documentation is generated from (docs/scenarios.md). A Flag of a code not listed here is
# a mistake in this module, refused at once.
FLAG_CODES = {
    "late-upload": "chunks reached the evidence store later than the policy allows after "
    "they were recorded (--late-hours, [host] late_hours)",
    "no-announcement": "a recording has no announcement of the standard phrase",
    "pause-without-reason": "a pause carries no objective reason code",
    "resume-without-spoken-reason": "a resume does not point at a recording of the spoken "
    "reason in the same ledger",
    "silent-spoken-reason": "the spoken reason a resume points at is (near) silence",
    "announcement-not-heard": "the officer confirmed the announcement, but the recording has "
    "no sound, or only (near) silence, up to it",
    "recording-cut-by-power-loss": "a power loss ended a recording without a stop; for review",
    "seq-gap": "entries are missing from the ledger the host holds",
    "clock-drift": "the device clock was off the host's by more than the limit at a dock "
    "(--drift-limit, [host] clock_drift_s)",
    "clock-jumped": "the device clock jumped forward between entries by more than it can drift",
    "clock-rolled-back": "the device clock went back between entries",
    "eviction-before-receipt": "the device freed footage the host had not confirmed",
    "eviction-too-young": "the device freed footage younger than the retention floor",
    "media-lost-on-device": "the device no longer held media the host asked for (after a "
    "power loss: R-DEV-14; otherwise R-DEV-4)",
}


class Flag:
    """One compliance finding: the rule broken, the entry it concerns, and the reason.

    ``message`` is the reason in English, as ``--json`` gives it; ``msg_id`` and ``fields``
    are the same reason as a catalogue message (``host.report_text.said``), which a report
    shows in the reader's language with times in the agency's zone (issue 17).
    """

    def __init__(
        self,
        code: str,
        rule: str,
        seq: int,
        message: str,
        msg_id: str = "",
        fields: "dict | None" = None,
        through: "int | None" = None,
    ) -> None:
        if code not in FLAG_CODES:
            raise ValueError("flag code %r is not in FLAG_CODES: describe it there" % code)
        self.code = code
        self.rule = rule
        self.seq = seq
        self.message = message
        self.through = seq if through is None else through  # the last seq a span covers
        self.msg_id = msg_id
        self.fields = fields

    def to_dict(self) -> dict:
        """The flag for ``--json``: its English ``message``, and, where it has them, the
        catalogue message and its fields, so that a reader in another language can say the
        same sentence (``host.report_text.said``) instead of only what the code means."""
        out = {"code": self.code, "rule": self.rule, "seq": self.seq, "message": self.message}
        if self.msg_id:
            out["msg_id"] = self.msg_id
            out["fields"] = dict(self.fields or {})
        return out


# Reads a chunk's stored media by its digest (``protocol.ledger.media_digest``); None when
# the store does not hold it.
MediaReader = Callable[[bytes], "bytes | None"]


def check(
    entries: list,
    received_ms: dict,
    policy: Policy | None = None,
    gone: list | tuple = (),
    media: MediaReader | None = None,
) -> list:
    """Flags for one device's ledger. ``received_ms`` maps seq to when the host stored it;
    ``gone`` holds the device's GONE reports (``EvidenceStore.gone_media``) for media the
    host still lacks; ``media``, when given, reads stored media, so that a spoken reason
    recorded as an fMP4 fragment is checked for silence."""
    policy = policy or Policy()
    flags: list = []
    _late_uploads(entries, received_ms, policy, flags)
    _recordings(entries, flags)
    _resumes(entries, flags, policy, media)
    _announcements_heard(entries, flags, policy, media)
    _gaps(entries, flags)
    _clock(entries, policy, flags)
    _clock_steps(entries, policy, flags)
    _evictions(entries, policy, flags)
    _lost_on_device(entries, gone, flags)
    return flags


def _late_uploads(entries: list, received: dict, policy: Policy, flags: list) -> None:
    limit = policy.upload_hours * HOUR_MS
    late: dict = {}  # recording id -> (first seq, count, worst delay)
    for e in entries:
        if e.kind != KIND_CHUNK or e.seq not in received:
            continue
        delay = received[e.seq] - e.fields[F_END_MS]
        if delay > limit:
            rec = e.fields.get(F_RECORDING, b"")
            first, count, worst = late.get(rec, (e.seq, 0, 0))
            late[rec] = (first, count + 1, max(worst, delay))
    for rec, (first, count, worst) in late.items():
        flags.append(
            Flag(
                "late-upload",
                "R-HOST-1",
                first,
                "%s: %d chunk%s reached the evidence store more than %g h after "
                "recording (latest %.1f h)"
                % (
                    recording_label(rec),
                    count,
                    "" if count == 1 else "s",
                    policy.upload_hours,
                    worst / HOUR_MS,
                ),
                "flag.late-upload" + (".one" if count == 1 else ""),
                {
                    "recording": recording_said(rec),
                    "count": count,
                    "hours": policy.upload_hours,
                    "worst": worst / HOUR_MS,
                },
            )
        )


def _recordings(entries: list, flags: list) -> None:
    """Every recording must have its announcement (R-DEV-8); every pause a valid reason."""
    open_recs: dict = {}  # recording id -> seq of its start
    announced: dict = {}
    for e in _events(entries):
        code = e.fields[F_EVENT]
        rec = e.fields.get(F_RECORDING)
        if code == EV_RECORD_START:
            open_recs[rec] = e.seq
        elif code == EV_ANNOUNCEMENT:
            announced[rec] = True
        elif code == EV_RECORD_STOP and rec in open_recs:
            start = open_recs.pop(rec)
            if not announced.get(rec):
                flags.append(_no_announcement(rec, start))
        elif code == EV_POWER_LOSS_RECOVERED:
            # The recordings open when the power went end there, with no stop: flagged for
            # review (issue 17), and still judged on their announcement.
            for rec, start in open_recs.items():
                flags.append(_cut_by_power(rec, start, e.seq))
                if not announced.get(rec):
                    flags.append(_no_announcement(rec, start))
            open_recs.clear()
        elif code == EV_PAUSE and e.fields.get(F_REASON) not in PAUSE_NAMES:
            flags.append(
                Flag(
                    "pause-without-reason",
                    "R-DEV-9",
                    e.seq,
                    "recording paused at seq %d with no objective reason code" % e.seq,
                    "flag.pause-without-reason",
                    {"seq": e.seq},
                )
            )
    for rec, start in open_recs.items():
        if not announced.get(rec):
            flags.append(_no_announcement(rec, start))


def _cut_by_power(rec: object, start: int, seq: int) -> Flag:
    return Flag(
        "recording-cut-by-power-loss",
        "R-DEV-9",
        start,
        "%s (started at seq %d) was cut by a power loss, recovered at seq %d: its footage "
        "ends there without a stop; review why the power went" % (recording_label(rec), start, seq),
        "flag.recording-cut-by-power-loss",
        {"recording": recording_said(rec), "start": start, "seq": seq},
    )


def _no_announcement(rec: object, seq: int) -> Flag:
    return Flag(
        "no-announcement",
        "R-DEV-8",
        seq,
        "%s (started at seq %d) has no announcement of the standard phrase"
        % (recording_label(rec), seq),
        "flag.no-announcement",
        {"recording": recording_said(rec), "seq": seq},
    )


def _resumes(entries: list, flags: list, policy: Policy, media: MediaReader | None = None) -> None:
    """A resume must point at an audio chunk of the spoken reason in the same ledger; in
    fMP4 mode, given the media, that audio must not be silence."""
    chunks = {}
    inits: dict = {}  # recording id -> its initialisation segment's chunk entry
    for e in entries:
        if e.kind == KIND_CHUNK:
            chunks[e.digest] = e
            if e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT:
                inits.setdefault(e.fields.get(F_RECORDING), e)
    for e in _events(entries):
        if e.fields[F_EVENT] != EV_RESUME:
            continue
        spoken = chunks.get(e.fields.get(F_SPOKEN, b""))
        if spoken is None or spoken.fields.get(F_MEDIA_TYPE) not in SPOKEN_MEDIA:
            flags.append(
                Flag(
                    "resume-without-spoken-reason",
                    "R-DEV-9",
                    e.seq,
                    "recording resumed at seq %d without a recorded spoken reason for the "
                    "interruption" % e.seq,
                    "flag.resume-without-spoken-reason",
                    {"seq": e.seq},
                )
            )
        elif media is not None and spoken.fields[F_MEDIA_TYPE] == MEDIA_MP4:
            init = inits.get(spoken.fields.get(F_RECORDING))
            problem = _silent(spoken, init, media, policy)
            if problem:
                message, msg_id, fields = problem
                fields["seq"] = e.seq
                flags.append(
                    Flag("silent-spoken-reason", "R-DEV-9", e.seq, message % e.seq, msg_id, fields)
                )


# At most this many fragments from a recording's start are listened to for its announcement
# (one GOP, a second or two, each): the phrase is said at the start.
ANNOUNCEMENT_FRAGMENTS = 30


def _announcements_heard(
    entries: list, flags: list, policy: Policy, media: MediaReader | None = None
) -> None:
    """The announcement (R-DEV-8) is said aloud at the start of a recording and confirmed
    by the officer: a recording with no sound at all cannot hold it (the ledger says so for
    raw chunks), nor one whose sound up to the confirmation is silence (fMP4, given the
    media: its fragments from the start to the announcement, at least the first)."""
    spoken = {e.fields.get(F_SPOKEN) for e in _events(entries) if e.fields[F_EVENT] == EV_RESUME}
    inits: dict = {}  # recording id -> its init segment's entry
    fragments: dict = {}  # recording id -> its fragments' entries (spoken reasons aside)
    heard: set = set()  # recordings with raw audio chunks
    footage: set = set()  # recordings with any chunk
    for e in entries:
        if e.kind != KIND_CHUNK:
            continue
        rec = e.fields.get(F_RECORDING)
        footage.add(rec)
        kind = e.fields.get(F_MEDIA_TYPE)
        if kind == MEDIA_MP4_INIT:
            inits.setdefault(rec, e)
        elif kind == MEDIA_MP4 and e.digest not in spoken:
            fragments.setdefault(rec, []).append(e)
        elif kind in AUDIO:
            heard.add(rec)
    for e in _events(entries):
        rec = e.fields.get(F_RECORDING)
        if e.fields[F_EVENT] != EV_ANNOUNCEMENT or rec not in footage:
            continue
        if rec in inits:
            said = fragments.get(rec, [])
            span = [f for f in said if f.fields.get(F_START_MS, 0) <= e.fields[F_WALL_MS]]
            problem = _unheard(
                inits[rec], (span or said[:1])[:ANNOUNCEMENT_FRAGMENTS], media, policy
            )
        elif rec not in heard:
            problem = ("no-track", None)
        else:
            problem = None
        if problem is None:
            continue
        how, level = problem
        fields: dict = {"recording": recording_said(rec), "seq": e.seq}
        if how == "silence":
            fields["limit"] = policy.silence_dbfs
            if level == float("-inf"):
                how = "digital"
            else:
                fields["level"] = level
        english = {
            "no-track": "the recording has no sound",
            "no-samples": "the recording holds no sound up to it",
            "undecodable": "its sound up to it cannot be decoded",
            "digital": "its sound up to it is digital silence, below %g dBFS" % policy.silence_dbfs,
            "silence": "its sound up to it stays at %.1f dBFS, below %g dBFS"
            % (level or 0.0, policy.silence_dbfs),
        }[how]
        flags.append(
            Flag(
                "announcement-not-heard",
                "R-DEV-8",
                e.seq,
                "%s: the announcement confirmed at seq %d cannot have been heard: %s"
                % (recording_label(rec), e.seq, english),
                "flag.announcement-not-heard." + how,
                fields,
            )
        )


def _unheard(init: Entry, span: list, media: MediaReader | None, policy: Policy) -> "tuple | None":
    """Why the fragments ``span`` cannot hold the announcement, as (how, dBFS level or
    None), or None when they are heard, or cannot be judged here: no media given, sealed
    audio (R-DEV-3), or media the store lacks (the media checks report that)."""
    if media is None or F_CIPHER_SHA in init.fields:
        return None
    if any(F_CIPHER_SHA in f.fields for f in span):
        return None
    head = media(media_digest(init.fields))
    parts = [media(media_digest(f.fields)) for f in span]
    if head is None or any(part is None for part in parts):
        return None
    from host.spokenlevel import Undecodable, level_dbfs

    try:
        level = level_dbfs(head, b"".join(part or b"" for part in parts))
    except Undecodable as exc:
        return exc.kind, None
    return ("silence", level) if level < policy.silence_dbfs else None


def _silent(
    spoken: Entry, init: "Entry | None", media: MediaReader, policy: Policy
) -> "tuple | None":
    """Why the spoken reason in fragment ``spoken`` does not count, or None when it is
    heard, or cannot be judged here: sealed audio (R-DEV-3) or media the store lacks, which
    the media checks report. The reason is (English message with one %d for the resume's
    seq, message id, fields without the resume's seq)."""
    if init is None or F_CIPHER_SHA in spoken.fields or F_CIPHER_SHA in init.fields:
        return None
    fragment = media(media_digest(spoken.fields))
    head = media(media_digest(init.fields))
    if fragment is None or head is None:
        return None
    from host.spokenlevel import Undecodable, level_dbfs

    try:
        level = level_dbfs(head, fragment)
    except Undecodable as exc:
        return (
            "the spoken reason for the interruption (resumed at seq %%d, chunk seq %d) cannot "
            "be heard: %s" % (spoken.seq, exc),
            "flag.silent-spoken-reason.undecodable",
            {"chunk": spoken.seq, "why": str(exc)},
        )
    if level >= policy.silence_dbfs:
        return None
    heard = "digital silence" if level == float("-inf") else "%.1f dBFS" % level
    fields: dict = {"chunk": spoken.seq, "limit": policy.silence_dbfs}
    if level == float("-inf"):
        msg_id = "flag.silent-spoken-reason.digital"
    else:
        msg_id = "flag.silent-spoken-reason"
        fields["level"] = level
    return (
        "the spoken reason for the interruption (resumed at seq %%d, chunk seq %d) is silence: "
        "its audio stays at %s, below %g dBFS, over the whole span"
        % (spoken.seq, heard, policy.silence_dbfs),
        msg_id,
        fields,
    )


def _gaps(entries: list, flags: list, first: int = 0, last: int = -1) -> None:
    """Flag the seqs missing from ``entries``: from ``first`` on, and up to ``last`` when it
    is given (a span whose end is known, as one recording's is)."""
    previous = first - 1
    for e in entries:
        if e.seq > previous + 1:
            _gap(previous + 1, e.seq - 1, flags)
        previous = max(previous, e.seq)
    if last > previous:
        _gap(previous + 1, last, flags)


def _gap(lo: int, hi: int, flags: list) -> None:
    flags.append(
        Flag(
            "seq-gap",
            "R-DEV-2",
            lo,
            "seq %d to %d are missing from the stored ledger (%d entries)" % (lo, hi, hi - lo + 1),
            "flag.seq-gap",
            {"first": lo, "last": hi, "count": hi - lo + 1},
            through=hi,
        )
    )


def _clock(entries: list, policy: Policy, flags: list) -> None:
    for e in _events(entries):
        if e.fields[F_EVENT] != EV_CLOCK_SET:
            continue
        d = e.fields.get(F_DETAIL, {})
        drift = d.get("new_ms", 0) - d.get("old_ms", 0)
        if abs(drift) > policy.clock_drift_ms:
            flags.append(
                Flag(
                    "clock-drift",
                    "R-HOST-11",
                    e.seq,
                    "device clock was %s by %.1f s when set at seq %d; times recorded before it "
                    "are off by up to that much"
                    % ("behind" if drift > 0 else "ahead", abs(drift) / 1000, e.seq),
                    "flag.clock-drift." + ("behind" if drift > 0 else "ahead"),
                    {"seconds": abs(drift) / 1000, "seq": e.seq},
                )
            )


# A quartz RTC drifts by tens of ppm; a step larger than this share of the time that passed
# (or than the policy's drift limit, whichever is larger) is a jump, not drift.
STEP_PPM = 500


def _clock_steps(entries: list, policy: Policy, flags: list) -> None:
    """The device's clock may change only when the host sets it (R-DEV-17, R-HOST-11): flag
    wall time that jumps against the monotonic clock within a boot, and wall time that goes
    back across a reboot (a reset RTC), unless a host clock-set event lies between."""
    prev = None
    for e in entries:
        f = e.fields
        if f.get(F_EVENT) == EV_CLOCK_SET:
            prev = None  # the host set the time: the next entry starts afresh
            continue
        if prev is not None:
            wall_step = f[F_WALL_MS] - prev.fields[F_WALL_MS]
            if f[F_BOOT] == prev.fields[F_BOOT]:
                mono_step = f[F_MONO_MS] - prev.fields[F_MONO_MS]
                allowed = max(policy.clock_drift_ms, mono_step * STEP_PPM // 1_000_000)
                off = wall_step - mono_step
                if abs(off) > allowed:
                    flags.append(_clock_jump(e.seq, off))
            elif wall_step < -policy.clock_drift_ms:
                flags.append(_clock_jump(e.seq, wall_step, reboot=True))
        prev = e


def _clock_jump(seq: int, off_ms: int, reboot: bool = False) -> Flag:
    where = "across the reboot before seq %d" % seq if reboot else "at seq %d" % seq
    return Flag(
        "clock-rolled-back" if off_ms < 0 else "clock-jumped",
        "R-HOST-11",
        seq,
        "the device clock went %s by %.1f s %s without the host setting it; recorded times "
        "after it are off by that much"
        % ("back" if off_ms < 0 else "forward", abs(off_ms) / 1000, where),
        "flag.clock-%s%s" % ("back" if off_ms < 0 else "forward", ".reboot" if reboot else ""),
        {"seconds": abs(off_ms) / 1000, "seq": seq},
    )


def _evictions(entries: list, policy: Policy, flags: list) -> None:
    """Media may leave the device only after a host receipt and after the retention floor.

    Chunks with the same bytes share one file on the device, so evicting a digest takes the
    media of every chunk that names it: each of them must have been free to go.
    """
    chunks_of: dict = {}
    received_through = -1
    floor_ms = policy.retention_floor_days * DAY_MS
    for e in entries:
        f = e.fields
        if e.kind == KIND_CHUNK:
            chunks_of.setdefault(media_digest(f), []).append(e)
        elif f.get(F_EVENT) == EV_HOST_RECEIPT:
            received_through = max(received_through, f.get(F_DETAIL, {}).get("through_seq", -1))
        elif f.get(F_EVENT) == EV_EVICTION:
            for digest in f.get(F_DETAIL, {}).get("media", []):
                for chunk in chunks_of.get(digest, ()):
                    _check_eviction(e, chunk, received_through, floor_ms, policy, flags)


def _check_eviction(
    e: Entry, chunk: Entry, received_through: int, floor_ms: int, policy: Policy, flags: list
) -> None:
    if chunk.seq > received_through:
        flags.append(
            Flag(
                "eviction-before-receipt",
                "R-DEV-4",
                e.seq,
                "media of chunk seq %d was evicted at seq %d before any host receipt "
                "covered it" % (chunk.seq, e.seq),
                "flag.eviction-before-receipt",
                {"chunk": chunk.seq, "seq": e.seq},
            )
        )
    age = e.fields[F_WALL_MS] - chunk.fields[F_START_MS]
    if age < floor_ms:
        flags.append(
            Flag(
                "eviction-too-young",
                "R-DEV-4",
                e.seq,
                "media of chunk seq %d was evicted after %.0f days, before the %d-day "
                "floor" % (chunk.seq, age / DAY_MS, policy.retention_floor_days),
                "flag.eviction-too-young",
                {"chunk": chunk.seq, "days": age / DAY_MS, "floor": policy.retention_floor_days},
            )
        )


def _events(entries: list) -> list:
    return [e for e in entries if e.kind == KIND_EVENT]


def gone_chunks(entries: list, gone: list | tuple) -> list:
    """``(chunk entry, reason, report)`` for every chunk whose media the device declared
    gone, in seq order. A file once reported damaged stays damaged (a change is evidence even
    if the file is lost later); the report given is the first of that reason."""
    first: dict = {}  # digest -> the first report of each reason
    for report in gone:
        first.setdefault(report["digest"], {}).setdefault(report["reason"], report)
    out = []
    for e in entries:
        if e.kind != KIND_CHUNK:
            continue
        f = e.fields
        reports = first.get(media_digest(f))
        if reports:
            reason = GONE_DAMAGED if GONE_DAMAGED in reports else min(reports)
            out.append((e, reason, reports[reason]))
    return out


def reported(report: dict) -> str:
    """When and in what words a device reported a GONE, for a message."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(report["reported_ms"] / 1000))
    return "reported at %s: %s" % (when, report["text"] or "no reason given")


def reported_said(report: dict) -> tuple:
    """``reported`` as a catalogue message (``host.report_text.said``): a person reads the
    time in the agency's zone."""
    if report["text"]:
        return ("report.reported", {"when_ms": report["reported_ms"], "said": report["text"]})
    return ("report.reported.none", {"when_ms": report["reported_ms"]})


def _lost_on_device(entries: list, gone: list | tuple, flags: list) -> None:
    """Media the device no longer holds at all (GONE, not found). A power loss before the
    chunk's boot ended explains, and breaks, R-DEV-14 (saved footage survives a restart);
    with none, footage left the device early (R-DEV-4). Damaged media is the verifier's."""
    if not gone:
        return
    cut = _cut_by_power_loss(entries)
    for chunk, reason, report in gone_chunks(entries, gone):
        if reason == GONE_DAMAGED:
            continue
        if chunk.seq in cut:
            rule, why = "R-DEV-14", "the device lost power before its next boot"
            msg_id = "flag.media-lost-on-device.power"
        else:
            rule, why = "R-DEV-4", "no power loss explains it"
            msg_id = "flag.media-lost-on-device"
        flags.append(
            Flag(
                "media-lost-on-device",
                rule,
                chunk.seq,
                "the media of chunk seq %d is lost: the device no longer held it when the host "
                "asked (%s), and %s" % (chunk.seq, reported(report), why),
                msg_id,
                {"seq": chunk.seq, "reported": reported_said(report)},
            )
        )


def _cut_by_power_loss(entries: list) -> set:
    """Seqs of the chunks a power-loss-recovered event follows before the next boot event
    (the agent logs the recovery first thing once power returns, then the boot)."""
    cut: set = set()
    since_boot: list = []
    for e in entries:
        if e.kind == KIND_CHUNK:
            since_boot.append(e.seq)
            continue
        code = e.fields.get(F_EVENT)
        if code == EV_POWER_LOSS_RECOVERED:
            cut.update(since_boot)
            since_boot = []
        elif code == EV_BOOT:
            since_boot = []
    return cut


def not_collected(device_id: str, sessions: list, held_next: int) -> str:
    """``not_collected_said``'s English sentence, or "" (see there)."""
    found = not_collected_said(device_id, sessions, held_next)
    if found is None:
        return ""
    fields = found[1]
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(fields["ended_ms"] // 1000))
    held = fields["held"]
    holds = "seqs 0-%d" % held if held >= 0 else "none of its entries"
    return (
        "device %s announced its ledger through seq %d at its dock that ended %s; the "
        "evidence store holds %s: dock it again to collect the rest"
        % (device_id, fields["last"], when, holds)
    )


def not_collected_said(device_id: str, sessions: list, held_next: int) -> "tuple | None":
    """What the device announced at a dock and the store still lacks, as a catalogue
    message ``(msg_id, fields)`` (``host.report_text.said``), or None.

    ``sessions`` are the device's recorded sync sessions (``EvidenceStore.sessions``), whose
    ``device_head`` is the next seq the device announced; ``held_next`` is the next seq
    after the entries the store holds. Entries a device announced and the host never
    stored are missing information at best, never a plain OK.
    """
    announced = [s for s in sessions if s.get("device_head") is not None]
    if not announced:
        return None
    top = max(announced, key=lambda s: s["device_head"])
    if top["device_head"] <= held_next:
        return None
    fields = {
        "device": device_id,
        "last": top["device_head"] - 1,
        "ended_ms": top["ended_ms"],
        "held": held_next - 1,
    }
    return ("finding.not-collected" + ("" if held_next else ".none"), fields)


# --- one recording's findings, for the rules that need a recording whole ---------------------


class Pause:
    """A pause in a recording: where, why (a ``PAUSE_NAMES`` name, or ``none given``), and
    the resume after it (None: the recording was stopped, or ended, while paused)."""

    def __init__(self, seq: int, at_ms: int, reason: str, resumed: "tuple | None") -> None:
        self.seq = seq
        self.at_ms = at_ms
        self.reason = reason
        self.resumed_seq, self.resumed_ms = resumed if resumed else (None, None)

    def to_dict(self) -> dict:
        return {
            "seq": self.seq,
            "at_ms": self.at_ms,
            "reason": self.reason,
            "resumed_seq": self.resumed_seq,
            "resumed_ms": self.resumed_ms,
        }


class RecordingFindings:
    """What keeps one recording from being whole: the compliance flags of its span of the
    ledger (``no-announcement``, ``seq-gap``, ``pause-without-reason``, ``resume-without-
    spoken-reason``), and every pause, with a reason or without. A pause is no compliance
    flag (an objective reason makes it lawful, R-DEV-9), but footage that must be recorded
    in full (R-HOST-12, ``host.cases``) has a break there all the same."""

    def __init__(self, flags: list, pauses: list) -> None:
        self.flags: list[Flag] = flags
        self.pauses: list[Pause] = pauses


def recording_findings(entries: list, first_seq: int, last_seq: int) -> RecordingFindings:
    """The findings of the recording whose entries are ``entries`` (parsed, in seq order:
    the device's entries from ``first_seq``, its record-start, through ``last_seq``, its
    last entry, as the store holds them). Seqs missing in that span are gaps in it."""
    flags: list = []
    _recordings(entries, flags)
    _resumes(entries, flags, Policy())
    _gaps(entries, flags, first_seq, last_seq)
    pauses: list = []
    for e in _events(entries):
        code = e.fields[F_EVENT]
        if code == EV_PAUSE:
            reason = PAUSE_NAMES.get(e.fields.get(F_REASON, -1), "none given")
            pauses.append([e.seq, e.fields[F_WALL_MS], reason, None])
        elif code == EV_RESUME and pauses and pauses[-1][3] is None:
            pauses[-1][3] = (e.seq, e.fields[F_WALL_MS])
    return RecordingFindings(flags, [Pause(*p) for p in pauses])


def findings_in_store(
    cur: "Cursor", device_id: str, first_seq: int, last_seq: int
) -> RecordingFindings:
    """``recording_findings`` of one recording, read from the evidence store's ledger rows
    through ``cur`` (its span only: one recording costs its own entries, whatever the
    store's size). An entry that cannot be parsed counts as missing: verify names it."""
    from protocol.errors import ProtocolError
    from protocol.ledger import parse_entry

    entries = []
    for (raw,) in cur.execute(
        "SELECT raw FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
        (device_id, first_seq, last_seq),
    ):
        try:
            entries.append(parse_entry(bytes(raw)))
        except ProtocolError:
            continue
    return recording_findings(entries, first_seq, last_seq)
