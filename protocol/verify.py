"""The ledger verifier: is this sequence of entries exactly what the device signed?

States follow ONVIF Media Signing's validation results:

- OK: every entry is signed by the enrolled key, directly or through the hash chain up to a
  signed entry, and the entries form one unbroken chain.
- OK with missing information: nothing is wrong, but something cannot be vouched for yet
  (the ledger starts after seq 0, or its newest entries still wait for a signature).
- NOT OK: something was changed, removed, inserted, reordered, repeated or cut off; each
  finding names what broke, the seq and the byte offset.
- unknown key: the entries verify against no key we were given.

The verifier is fed entries one at a time, so the host can check each entry as it arrives:
the host starts it after the entries it holds (``resume``) and keeps exactly the entries below
``vouched``, the seq up to which every entry is vouched for by a valid signature through an
unbroken chain; ``feed`` tells it when the ledger cannot be taken past an entry. It
remembers the last ``window`` entries to pair up links that arrive out of order, and keeps
only counts and findings beyond that. Findings are bounded too (KEEP_PER_CODE), so its memory
stays the same whatever the file holds: a ledger checked with the wrong key, or damaged
everywhere, costs no more than a sound one.
"""

from protocol.bounds import MAX_UNSIGNED_BYTES, MAX_UNSIGNED_RUN, entry_problem
from protocol.ledger import Entry, read_chunks
from protocol.registry import F_KIND, F_PREV, F_SEQ, F_WALL_MS, KIND_NAMES, ZERO_HASH
from protocol.signer import SignatureChecker

OK = "OK"
OK_MISSING = "OK with missing information"
NOT_OK = "NOT OK"
UNKNOWN_KEY = "unknown key"

ERROR = "error"
MISSING = "missing"

# The codes a finding can carry, with their severity.
FINDING_CODES = {
    "malformed": ERROR,
    "truncated": ERROR,
    "wrong-device": ERROR,
    "bad-signature": ERROR,
    "key-change": ERROR,
    "broken-prev": ERROR,
    "seq-gap": ERROR,
    "out-of-order": ERROR,
    "duplicate": ERROR,
    "conflicting-seq": ERROR,
    "unsigned-entry": ERROR,
    "bad-field": ERROR,  # a field outside the registry's bounds (protocol.bounds)
    "media-altered": ERROR,  # found by the host when it re-hashes stored media
    "refused-at-dock": ERROR,  # the device offered entries the host could not accept
    "media-damaged-on-device": ERROR,  # the device holds media that no longer matches its hash
    "media-missing": MISSING,
    "entries-not-collected": MISSING,  # the device announced entries the host never stored
    "empty": MISSING,
    "starts-mid-ledger": MISSING,
    "unsigned-tail": MISSING,
}

# What ``feed`` answers, besides a finding's code, when an entry is one more unsigned entry in
# a row than a reader holds waiting for a signature (protocol.bounds): no finding of its own,
# since a file may hold such a run, but a reader that keeps entries in memory stops there.
UNSIGNED_RUN = "unsigned-run"

# How many findings of one code a report holds in full. Without a limit, a ledger checked
# with the wrong key, or one whose every link or record is damaged, makes one finding per
# entry, and the verifier's memory grows with the file (millions of entries). Past this many,
# the findings of a code are only counted, with the seqs (or bytes) they span, and told in
# one summary finding at the end. A thousand is more than a person reads, and the first ones
# already say what happened and where it starts.
KEEP_PER_CODE = 1000


class Finding:
    """One thing the verifier found: a code from FINDING_CODES, where, and what it means.

    ``message`` is the English sentence (``to_dict``, MicroPython's output). ``msg_id`` and
    ``fields``, when given, are the same sentence as a message id of the host's catalogue
    and the values it names, so that the host can show it in the reader's language (issue
    17, issue 13 "Chinese first"); the verifier itself has no catalogue.
    """

    def __init__(
        self,
        code: str,
        message: str,
        seq: int = -1,
        offset: int = -1,
        more: int = 0,
        msg_id: str = "",
        fields: "dict | None" = None,
    ) -> None:
        self.code = code
        self.severity = FINDING_CODES[code]
        self.message = message
        self.seq = seq
        self.offset = offset
        # A summary of findings past KEEP_PER_CODE: how many it stands for (0: one finding).
        self.more = more
        self.msg_id = msg_id
        self.fields = fields

    def to_dict(self) -> dict:
        d = {
            "code": self.code,
            "severity": self.severity,
            "seq": self.seq if self.seq >= 0 else None,
            "offset": self.offset if self.offset >= 0 else None,
            "message": self.message,
        }
        if self.more:
            d["more"] = self.more
        return d


class Report:
    """The verdict on one device's ledger and the findings behind it."""

    def __init__(self, state: str, device_id: str, findings: list, stats: dict) -> None:
        self.state = state
        self.device_id = device_id
        self.findings = findings
        self.stats = stats

    @property
    def ok(self) -> bool:
        return self.state == OK or self.state == OK_MISSING

    def to_dict(self) -> dict:
        return {
            "state": self.state,
            "device_id": self.device_id,
            "stats": self.stats,
            "findings": [f.to_dict() for f in self.findings],
        }


class _Rec:
    """What the verifier remembers of one entry while it is in the window."""

    # Defaults on the class, set on an entry only when they change: one is made per entry.
    sig_ok = False
    authentic = False
    link_ok = True  # False once the link from seq - 1 is known to be broken

    def __init__(self, seq: int, digest: bytes, prev: bytes, offset: int, signed: bool) -> None:
        self.seq = seq
        self.digest = digest
        self.prev = prev
        self.offset = offset
        self.signed = signed


def _short(h: bytes) -> str:
    return h[:8].hex()


def _thousands(n: int) -> str:
    """``n`` with a comma every three digits (MicroPython's format has no ``,`` option)."""
    digits = str(n)
    head = len(digits) % 3 or 3
    groups = [digits[:head]]
    for i in range(head, len(digits), 3):
        groups.append(digits[i : i + 3])
    return ",".join(groups)


class _Tally:
    """Findings counted but not kept: how many, and the lowest and highest seq and byte."""

    def __init__(self) -> None:
        self.count = 0
        self.first_seq = -1
        self.last_seq = -1
        self.first_offset = -1
        self.last_offset = -1

    def add(self, seq: int, offset: int, count: int = 1, last: int = -1) -> None:
        """Count ``count`` findings at ``seq`` (to ``last``, for a range) and ``offset``."""
        self.count += count
        for s in (seq, last):
            if s >= 0:
                if self.first_seq < 0 or s < self.first_seq:
                    self.first_seq = s
                if s > self.last_seq:
                    self.last_seq = s
        if offset >= 0:
            if self.first_offset < 0 or offset < self.first_offset:
                self.first_offset = offset
            if offset > self.last_offset:
                self.last_offset = offset

    def merge(self, other: "_Tally") -> None:
        self.add(other.first_seq, other.first_offset, other.count, other.last_seq)
        self.add(-1, other.last_offset, 0)

    def where(self) -> str:
        if self.first_seq >= 0:
            if self.first_seq == self.last_seq:
                return "seq %d" % self.first_seq
            return "seqs %d to %d" % (self.first_seq, self.last_seq)
        if self.first_offset >= 0:
            return "bytes %d to %d" % (self.first_offset, self.last_offset)
        return "no seq"


def _where_fields(t: _Tally, fields: dict) -> dict:
    """``fields`` with where a tally's findings lie, as ``_Tally.where`` says it: ``where``
    names the form (seq, seqs, bytes, none), ``first`` and ``last`` the numbers."""
    if t.first_seq >= 0:
        form = "seq" if t.first_seq == t.last_seq else "seqs"
        fields["first"], fields["last"] = t.first_seq, t.last_seq
    elif t.first_offset >= 0:
        form = "bytes"
        fields["first"], fields["last"] = t.first_offset, t.last_offset
    else:
        form = "none"
        fields["first"] = fields["last"] = -1
    fields["where"] = form
    return fields


class LedgerVerifier:
    """Streaming verifier for one device's entries against its enrolled public key."""

    def __init__(
        self, device_id: str, public_key: bytes, window: int = 4096, keep: int = KEEP_PER_CODE
    ) -> None:
        self.device_id = device_id
        self.kid = device_id.encode()
        self.public_key = public_key
        self.checker = SignatureChecker(public_key)
        self.window = window
        # Every list below holds at most ``keep`` items: what lies past that is counted.
        self.keep = max(1, keep)
        self.recs: dict = {}
        self.findings: list = []
        self.kept: dict = {}  # code -> findings of that code held in full
        self.more: dict = {}  # code -> _Tally of its findings past ``keep``
        self.more_codes: list = []  # codes in self.more, in the order they overflowed
        self.first_seq = -1
        self.max_seq = -1
        self.missing: list = []  # [lo, hi] ranges of seqs skipped so far (the lowest ones)
        # [lo, hi, offset, why] per run of consecutive seqs whose incoming link fails, in seq
        # order: each run is one finding, told at its first seq (see _broken_findings).
        self.broken: list = []
        self.broken_over = -1  # highest seq of the last run counted past ``keep``
        self.bad_sigs: list = []  # (seq, offset) of the first signed entries that failed
        self.bad_more = _Tally()  # failures past those, before the current run
        self.run_more = _Tally()  # failures past those, in the current run
        # The signed failures since the last good signature: first and last seq, how many.
        self.fail_first = -1
        self.fail_last = -1
        self.fail_count = 0
        self.fail_run_intact = True
        self.verified_any = False
        self.entries = 0
        self.signed = 0
        self.foreign = 0
        self.foreign_id = ""  # the device the first entry of another device names
        self.foreign_span = _Tally()  # the seqs and bytes of the other devices' entries
        self.foreign_mixed = False  # entries of more than one other device
        self.kinds: dict = {}
        self.first_wall = -1
        self.last_wall = -1
        # Every entry below ``vouched`` (from ``start``, where ``resume`` began, or seq 0) is
        # vouched for by a valid signature, directly or through an unbroken chain up to one,
        # and chains to the one before it: what a reader that keeps entries (the host) takes.
        self.start = 0
        self.vouched = 0
        self.from_zero = False  # held_from_zero: a ledger held from seq 0, no later
        self.held_through = -1  # held_to: the highest seq the reader once held
        # The unsigned entries fed since the last signed one, and their bytes.
        self.run = 0
        self.run_bytes = 0

    def held_from_zero(self) -> None:
        """The entries fed are a span of a ledger the reader holds from seq 0 (the host's
        store takes a device's ledger from there only, in order): seqs below the first
        entry fed are missing (a seq gap from seq 0), not merely left out of the span.
        Call before the first ``feed``."""
        self.from_zero = True

    def held_to(self, seq: int) -> None:
        """The reader once held the ledger through ``seq`` (the host's log names every entry
        its store took): seqs past the last entry fed, up to it, are missing (a seq gap),
        even when no entry after them is left to show it."""
        self.held_through = max(self.held_through, seq)

    def resume(self, next_seq: int, last_hash: bytes) -> None:
        """Go on after seqs 0 to ``next_seq - 1``, checked and kept elsewhere (the host's
        store), the last of them hashing to ``last_hash``: the next entry must chain to it.
        Call before the first ``feed``."""
        if next_seq <= 0:
            return
        anchor = _Rec(next_seq - 1, last_hash, ZERO_HASH, -1, True)
        anchor.sig_ok = True
        anchor.authentic = True
        self.recs[anchor.seq] = anchor
        self.max_seq = anchor.seq
        self.start = self.vouched = next_seq

    def _add(
        self,
        code: str,
        message: str,
        seq: int = -1,
        offset: int = -1,
        msg_id: str = "",
        fields: "dict | None" = None,
    ) -> None:
        kept = self.kept.get(code, 0)
        if kept < self.keep:
            self.kept[code] = kept + 1
            self.findings.append(Finding(code, message, seq, offset, 0, msg_id, fields))
        else:
            self._tally(code).add(seq, offset)

    def _tally(self, code: str) -> _Tally:
        """The count of ``code``'s findings past ``keep``."""
        tally = self.more.get(code)
        if tally is None:
            tally = self.more[code] = _Tally()
            self.more_codes.append(code)
        return tally

    # --- inputs ---------------------------------------------------------------------------

    def malformed(self, offset: int, end: int, message: str, why: object = None) -> None:
        """Bytes ``offset`` to ``end`` are no entry, ``message`` saying why in English;
        ``why``, when given, says the same as the finding's field: a message ``(msg_id,
        fields)`` (``protocol.errors.message_of``, ``host.problems.pair``) that the host says in
        the reader's language."""
        self._add(
            "malformed",
            "bytes %d to %d are not a readable entry (%s); they were changed or damaged"
            % (offset, end, message),
            offset=offset,
            msg_id="finding.malformed",
            fields={"start": offset, "end": end, "why": message if why is None else why},
        )

    def truncated(self, offset: int, end: int, message: str, why: object = None) -> None:
        """The ledger ends with bytes that are no whole entry; ``message`` and ``why`` as
        for ``malformed``."""
        self._add(
            "truncated",
            "the ledger ends with %d bytes at byte %d that are not a whole entry (%s): "
            "the file was cut short" % (end - offset, offset, message),
            offset=offset,
            msg_id="finding.truncated",
            fields={
                "count": end - offset,
                "offset": offset,
                "why": message if why is None else why,
            },
        )

    def wants_check(self, entry: Entry) -> bool:
        """Whether ``feed`` checks this entry's signature (the key's own, signed entries)."""
        return entry.kid == self.kid and entry.signed

    def feed(self, entry: Entry, offset: int, sig_ok: "bool | None" = None) -> str:
        """Check one parsed entry found at ``offset``; return "" or why a reader that keeps
        only what ``vouched`` covers can take nothing from this entry on.

        ``sig_ok``, if given, is the outcome of checking its signature against the key,
        made beforehand (see ``verify_chunks``); otherwise ``feed`` checks it. The answer
        is the code of the entry's own finding (wrong-device, bad-field, duplicate,
        conflicting-seq, out-of-order when it takes no further part, bad-signature, or
        broken-prev when its link to the entry before it fails), else UNSIGNED_RUN when it
        is one unsigned entry more than MAX_UNSIGNED_RUN (or MAX_UNSIGNED_BYTES) in a row.
        """
        self.entries += 1
        fields = entry.fields
        seq = fields[F_SEQ]
        if entry.kid != self.kid:
            self.foreign += 1
            if not self.foreign_id:
                self.foreign_id = entry.device_id
            elif entry.device_id != self.foreign_id:
                self.foreign_mixed = True
            self.foreign_span.add(seq, offset)
            self._add(
                "wrong-device",
                "entry seq %d at byte %d belongs to device %s, not %s"
                % (seq, offset, entry.device_id, self.device_id),
                seq,
                offset,
                "finding.wrong-device",
                {"seq": seq, "offset": offset, "other": entry.device_id, "device": self.device_id},
            )
            return "wrong-device"
        # What the report's stats count (kinds, times), inline: the host feeds every entry.
        kind = KIND_NAMES.get(fields[F_KIND], "?")
        kinds = self.kinds
        kinds[kind] = kinds.get(kind, 0) + 1
        if self.first_wall < 0:
            self.first_wall = fields[F_WALL_MS]
        self.last_wall = fields[F_WALL_MS]
        why = ""
        problem = entry_problem(fields)
        if problem:
            why = "bad-field"
            # Still placed in the chain: its bytes are what the device signed, and the
            # entries around it link to them.
            self._add(
                "bad-field",
                "entry seq %d at byte %d: %s; no reader can use it" % (seq, offset, problem),
                seq,
                offset,
                "finding.bad-field",
                {"seq": seq, "offset": offset, "why": problem},
            )
        signed = len(entry.signature) > 0
        rec = _Rec(seq, entry.digest, fields[F_PREV], offset, signed)
        if signed:
            self.signed += 1
            self.run = self.run_bytes = 0
            if sig_ok is None:
                sig_ok = self.checker.check(entry.to_be_signed(), entry.signature)
            rec.sig_ok = sig_ok
        else:
            self.run += 1
            self.run_bytes += len(entry.raw)
            if not why and (self.run > MAX_UNSIGNED_RUN or self.run_bytes > MAX_UNSIGNED_BYTES):
                why = UNSIGNED_RUN
        recs = self.recs
        if seq == self.max_seq + 1 and self.first_seq >= 0:
            # The usual case, the next seq: nothing to pair up, fill or link after it.
            self.max_seq = seq
            recs[seq] = rec
            before = recs.get(seq - 1)
            if before is not None and before.digest != rec.prev:
                self._link(before, rec)
            if len(recs) > self.window + self.window // 4:
                self._evict()
        else:
            left_out = self._place(rec)
            if left_out:
                return why or left_out
            self._check_links(rec)
        if signed:
            self._after_signature(rec)
            if not rec.sig_ok:
                return why or "bad-signature"
        if not rec.link_ok:
            return why or "broken-prev"
        return why

    def _place(self, rec: _Rec) -> str:
        """Put ``rec`` in sequence order; return "", or the code of the finding for which it
        takes no further part."""
        seq = rec.seq
        other = self.recs.get(seq)
        if other is not None:
            if other.digest == rec.digest:
                self._add(
                    "duplicate",
                    "entry seq %d appears again at byte %d (a copy of the one at byte %d)"
                    % (seq, rec.offset, other.offset),
                    seq,
                    rec.offset,
                    "finding.duplicate",
                    {"seq": seq, "offset": rec.offset, "first": other.offset},
                )
                return "duplicate"
            self._add(
                "conflicting-seq",
                "two different entries claim seq %d (bytes %d and %d): one was inserted"
                % (seq, other.offset, rec.offset),
                seq,
                rec.offset,
                "finding.conflicting-seq",
                {"seq": seq, "first": other.offset, "offset": rec.offset},
            )
            return "conflicting-seq"
        if self.first_seq < 0:
            self.first_seq = seq
        if seq <= self.max_seq:
            self._add(
                "out-of-order",
                "entry seq %d at byte %d comes after seq %d: entries were reordered"
                % (seq, rec.offset, self.max_seq),
                seq,
                rec.offset,
                "finding.out-of-order",
                {"seq": seq, "offset": rec.offset, "after": self.max_seq},
            )
            if not self._fill_missing(seq):
                return "out-of-order"  # older than anything we can pair it with
        elif seq > self.max_seq + 1 and (self.max_seq >= 0 or self.from_zero):
            if len(self.missing) < self.keep:
                self.missing.append([self.max_seq + 1, seq - 1])
            else:
                self._tally("seq-gap").add(self.max_seq + 1, -1, 1, seq - 1)
        if seq > self.max_seq:
            self.max_seq = seq
        self.recs[seq] = rec
        if len(self.recs) > self.window + self.window // 4:
            self._evict()
        return ""

    def _fill_missing(self, seq: int) -> bool:
        for i, (lo, hi) in enumerate(self.missing):
            if lo <= seq <= hi:
                pieces = [[a, b] for a, b in ((lo, seq - 1), (seq + 1, hi)) if a <= b]
                self.missing[i : i + 1] = pieces
                if len(self.missing) > self.keep:
                    # The highest range is only counted now: an entry that would fill it
                    # later is told as out of order and takes no further part.
                    lo, hi = self.missing.pop()
                    self._tally("seq-gap").add(lo, -1, 1, hi)
                return True
        return False

    def _evict(self) -> None:
        """Forget the oldest entries, a batch at a time, down to ``window`` remembered."""
        seqs = sorted(self.recs)
        for seq in seqs[: len(seqs) - self.window]:
            rec = self.recs.pop(seq)
            if not rec.signed and not rec.authentic:
                self._unsigned_finding(seq, seq, rec.offset)

    def _unsigned_finding(self, first: int, last: int, offset: int) -> None:
        """Unsigned entries whose chain to the next valid signature is broken."""
        where = "seq %d" % first if first == last else "seq %d to %d" % (first, last)
        self._add(
            "unsigned-entry",
            "unsigned entries %s (from byte %d) are not covered by any valid signature: the "
            "chain from them to the next signed entry is broken" % (where, offset),
            first,
            offset,
            "finding.unsigned-entry" if first == last else "finding.unsigned-entries",
            {"first": first, "last": last, "offset": offset},
        )

    def _check_links(self, rec: _Rec) -> None:
        seq = rec.seq
        if seq == 0:
            if rec.prev != ZERO_HASH:
                rec.link_ok = False
                self._broken(rec, "seq 0 must have an all-zero prev", ("zero", {}))
        else:
            before = self.recs.get(seq - 1)
            if before is not None:
                self._link(before, rec)
        after = self.recs.get(seq + 1)
        if after is not None:
            self._link(rec, after)

    def _link(self, before: _Rec, after: _Rec) -> None:
        if after.prev == before.digest:
            return
        after.link_ok = False
        # A failed signature on either side already explains the broken link.
        if (before.signed and not before.sig_ok) or (after.signed and not after.sig_ok):
            return
        self._broken(
            after,
            "its prev is %s.. but entry seq %d hashes to %s..: an entry was changed, replaced "
            "or inserted here" % (_short(after.prev), before.seq, _short(before.digest)),
            (
                "link",
                {"prev": _short(after.prev), "before": before.seq, "digest": _short(before.digest)},
            ),
        )

    def _broken(self, rec: _Rec, why: str, said: tuple) -> None:
        """Note that ``rec``'s incoming link fails (each seq is noted at most once)."""
        seq = rec.seq
        runs = self.broken
        if not runs or seq > runs[-1][1] + 1:
            i = len(runs)  # the usual case: entries arrive in seq order
        else:
            i = 0
            while runs[i][1] + 1 < seq:
                i += 1
        if i < len(runs) and runs[i][1] + 1 == seq:
            runs[i][1] = seq  # extends the run before it
            if i + 1 < len(runs) and runs[i + 1][0] == seq + 1:
                runs[i][1] = runs.pop(i + 1)[1]  # and joins the run after it
        elif i < len(runs) and runs[i][0] == seq + 1:
            runs[i][0] = seq  # the run now starts here: told at this entry
            runs[i][2] = rec.offset
            runs[i][3] = why
            runs[i][4] = said
        elif i < len(runs) or len(runs) < self.keep:
            runs.insert(i, [seq, seq, rec.offset, why, said])
            if len(runs) > self.keep:
                lo, hi, offset, _, _ = runs.pop()
                self._tally("broken-prev").add(lo, offset, 1, hi)
                self.broken_over = max(self.broken_over, hi)
        elif seq == self.broken_over + 1:
            self._tally("broken-prev").add(seq, -1, 0)  # the counted run goes on
            self.broken_over = seq
        else:
            self._tally("broken-prev").add(seq, rec.offset)
            self.broken_over = seq

    def _broken_findings(self) -> None:
        """One finding per run of broken links; an entry broken on both sides was replaced."""
        for seq, hi, offset, why, said in self.broken:
            if hi > seq:
                # The links after it are told with it.
                why = "neither its own prev nor the next entry's prev fits: it was replaced"
                said = ("replaced", {})
            fields = dict(said[1])
            fields["seq"] = seq
            fields["offset"] = offset
            self._add(
                "broken-prev",
                "entry seq %d at byte %d does not chain to the entry before it: %s"
                % (seq, offset, why),
                seq,
                offset,
                "finding.broken-prev." + said[0],
                fields,
            )

    def _after_signature(self, rec: _Rec) -> None:
        if rec.sig_ok:
            self.verified_any = True
            self.fail_first = self.fail_last = -1
            self.fail_count = 0
            self.fail_run_intact = True
            if self.run_more.count:
                self.bad_more.merge(self.run_more)
                self.run_more = _Tally()
            self._authenticate_back(rec)
            self._advance()
            return
        if len(self.bad_sigs) < self.keep:
            self.bad_sigs.append((rec.seq, rec.offset))
        else:
            self.run_more.add(rec.seq, rec.offset)
        if not rec.link_ok:
            self.fail_run_intact = False
        if self.fail_count == 0:
            self.fail_first = rec.seq
        self.fail_last = rec.seq
        self.fail_count += 1

    def _authenticate_back(self, rec: _Rec) -> None:
        """A valid signature vouches for the unsigned entries that chain into it."""
        rec.authentic = True
        seq = rec.seq
        while rec.link_ok:
            before = self.recs.get(seq - 1)
            if before is None or before.signed or before.authentic:
                return
            before.authentic = True
            rec = before
            seq -= 1

    def _advance(self) -> None:
        """Move ``vouched`` past the entries now vouched for, each chained to the last."""
        seq = self.vouched
        recs = self.recs
        if seq > 0 and seq - 1 not in recs:
            return  # the link into it is not known to hold (the entry before it was let go)
        rec = recs.get(seq)
        while rec is not None and rec.authentic and rec.link_ok:
            seq += 1
            rec = recs.get(seq)
        self.vouched = seq

    # --- verdict --------------------------------------------------------------------------

    def finish(self) -> Report:
        """Close the stream and give the verdict."""
        if self.held_through > self.max_seq:  # held once past the last entry fed: gone
            self.missing.append([self.max_seq + 1, self.held_through])
            self.max_seq = self.held_through
        if self.entries == 0 and not self.findings and not self.missing:
            self._add("empty", "the ledger holds no entries", msg_id="finding.empty", fields={})
        # After ``resume`` where it starts is known; held from zero, what is before is a gap.
        if self.first_seq > 0 and not self.start and not self.from_zero:
            self._add(
                "starts-mid-ledger",
                "the ledger starts at seq %d; entries before it are not included, so the "
                "first entry's link cannot be checked" % self.first_seq,
                self.first_seq,
                msg_id="finding.starts-mid-ledger",
                fields={"seq": self.first_seq},
            )
        for lo, hi in self.missing:
            count = hi - lo + 1
            self._add(
                "seq-gap",
                "seq %d to %d are missing (%d entr%s): deleted or never delivered"
                % (lo, hi, count, "y" if count == 1 else "ies"),
                lo,
                msg_id="finding.seq-gap" if count > 1 else "finding.seq-gap.one",
                fields={"first": lo, "last": hi, "count": count},
            )
        self._broken_findings()
        self._signature_findings()
        self._unsigned_findings()
        if self.entries and self.foreign == self.entries:
            self._all_foreign_finding()
        self._summary_findings()
        return Report(self._state(), self.device_id, self.findings, self._stats())

    def _all_foreign_finding(self) -> None:
        """One finding, not one per entry, when no entry is the key's device's: the key
        given is another device's (issue 17: a wrong --key is one line)."""
        self.findings = [f for f in self.findings if f.code != "wrong-device"]
        if "wrong-device" in self.more:
            del self.more["wrong-device"]
            self.more_codes.remove("wrong-device")
        t = self.foreign_span
        who = self.foreign_id + (" and others" if self.foreign_mixed else "")
        self.findings.append(
            Finding(
                "wrong-device",
                "all %s entries (%s) belong to device %s, not %s: the key given is another "
                "device's; check them with the key of the device that wrote them"
                % (_thousands(self.entries), t.where(), who, self.device_id),
                t.first_seq,
                t.first_offset,
                self.entries if self.entries > 1 else 0,
                "finding.all-wrong-device" + (".mixed" if self.foreign_mixed else ""),
                _where_fields(
                    t, {"count": self.entries, "other": self.foreign_id, "device": self.device_id}
                ),
            )
        )

    def _summary_findings(self) -> None:
        """One finding per code for its findings past ``keep``: how many, and where."""
        for code in self.more_codes:
            t = self.more[code]
            self.findings.append(
                Finding(
                    code,
                    "... and %s more %s findings, %s (only the first %s of each kind are "
                    "listed)" % (_thousands(t.count), code, t.where(), _thousands(self.keep)),
                    t.first_seq,
                    t.first_offset,
                    t.count,
                    "finding.more",
                    _where_fields(t, {"count": t.count, "code": code, "keep": self.keep}),
                )
            )

    def _signature_findings(self) -> None:
        first = self.fail_first
        key_change = (
            self.fail_count >= 2 and self.fail_run_intact and self.fail_last == self._last_signed()
        )
        for seq, offset in self.bad_sigs:
            if key_change and seq >= first:
                continue
            self._add(
                "bad-signature",
                "entry seq %d at byte %d: the signature does not verify with the enrolled key; "
                "the entry was changed after it was signed" % (seq, offset),
                seq,
                offset,
                "finding.bad-signature",
                {"seq": seq, "offset": offset},
            )
        # Failures past the kept ones, told in the summary; a key change's run is told whole
        # by its own finding.
        more = self.bad_more
        if not key_change:
            more.merge(self.run_more)
        if more.count:
            self._tally("bad-signature").merge(more)
        if key_change:
            offset = self.recs[first].offset if first in self.recs else -1
            self._add(
                "key-change",
                "from seq %d on, %d entries are signed by a key other than the enrolled one; "
                "their chain is intact, so they were written that way, not edited later"
                % (first, self.fail_count),
                first,
                offset,
                "finding.key-change",
                {"seq": first, "count": self.fail_count},
            )

    def _last_signed(self) -> int:
        signed = [s for s, r in self.recs.items() if r.signed]
        return max(signed) if signed else -1

    def _unsigned_findings(self) -> None:
        pending = sorted(s for s, r in self.recs.items() if not r.signed and not r.authentic)
        last_signed = self._last_signed()
        tail = [s for s in pending if s > last_signed]
        run: list = []
        for seq in pending:
            if seq > last_signed:
                break
            if run and seq != run[-1] + 1:
                self._unsigned_finding(run[0], run[-1], self.recs[run[0]].offset)
                run = []
            run.append(seq)
        if run:
            self._unsigned_finding(run[0], run[-1], self.recs[run[0]].offset)
        if tail:
            self._add(
                "unsigned-tail",
                "the newest %d entries (seq %d to %d) are not yet covered by a signature"
                % (len(tail), tail[0], tail[-1]),
                tail[0],
                self.recs[tail[0]].offset,
                "finding.unsigned-tail",
                {"count": len(tail), "first": tail[0], "last": tail[-1]},
            )

    def _state(self) -> str:
        codes = [f.code for f in self.findings if f.severity == ERROR]
        if not codes:
            return OK_MISSING if self.findings else OK
        if not self.verified_any and self.signed and all(c == "key-change" for c in codes):
            return UNKNOWN_KEY
        if self.foreign == self.entries and all(c == "wrong-device" for c in codes):
            return UNKNOWN_KEY
        return NOT_OK

    def _stats(self) -> dict:
        return {
            "entries": self.entries,
            "signed": self.signed,
            "first_seq": self.first_seq if self.first_seq >= 0 else None,
            "last_seq": self.max_seq if self.max_seq >= 0 else None,
            "kinds": self.kinds,
            "first_wall_ms": self.first_wall if self.first_wall >= 0 else None,
            "last_wall_ms": self.last_wall if self.last_wall >= 0 else None,
        }


def verify_ledger(
    data: bytes, device_id: str, public_key: bytes, progress=None, keep: "list | None" = None
) -> Report:
    """Verify a whole ledger file held in memory (a CBOR sequence of entries).

    ``progress``, if given, is called with the byte offset reached after each record;
    ``keep``, if given, receives every entry that parsed, in ledger order.
    """
    return verify_chunks((data,), device_id, public_key, progress, keep=keep)


def verify_chunks(
    chunks,
    device_id: str,
    public_key: bytes,
    progress=None,
    checks: "CheckPipeline | None" = None,
    keep: "list | None" = None,
) -> Report:
    """Verify a ledger given as an iterable of byte chunks, holding only a window of it.

    The findings and their byte offsets are those of the ledger as one file: the chunks'
    boundaries change nothing. ``checks``, if given, checks signatures while the next
    entries are read (see ``CheckPipeline``); the report is the same either way. ``keep``,
    if given, receives every entry that parsed, in ledger order: a caller that needs the
    entries too parses them once, here.
    """
    records = read_chunks(chunks)
    if keep is not None:
        records = _keeping(records, keep)
    if checks is not None:
        return _verify_pipelined(LedgerVerifier(device_id, public_key), records, progress, checks)
    return verify_records(records, device_id, public_key, progress)


def verify_records(
    records, device_id: str, public_key: bytes, progress=None, resume=None, held_to=None
) -> Report:
    """Verify a ledger already read into records (``read_chunks``' ``("entry", offset,
    entry)``, ``("malformed", ...)`` and ``("truncated", ...)``, in order): the report
    ``verify_chunks`` gives on its bytes. ``progress`` as in ``verify_ledger``. ``resume``:
    ``(first seq, hash of the entry before it)`` when the records are a span of the ledger
    that starts past seq 0: its first entry must chain to that hash (``LedgerVerifier.resume``);
    ``(0, ZERO_HASH)`` when they are a span from seq 0 of a ledger held from there: an entry
    missing at its start is a gap (``LedgerVerifier.held_from_zero``). ``held_to``: the
    highest seq the reader once held, when known; seqs past the last record up to it are a
    gap (``LedgerVerifier.held_to``).
    """
    v = LedgerVerifier(device_id, public_key)
    if held_to is not None:
        v.held_to(held_to)
    if resume is not None and resume[0] <= 0:
        v.held_from_zero()
    elif resume is not None:
        v.resume(resume[0], resume[1])
    for record in records:
        _apply(v, record, None)
        if progress is not None:
            progress(record[1])
    return v.finish()


def _keeping(records, keep: list):
    """The records unchanged, each parsed entry also appended to ``keep``."""
    for record in records:
        if record[0] == "entry":
            keep.append(record[2])
        yield record


def _apply(v: LedgerVerifier, record: tuple, sig_ok: "bool | None") -> None:
    what = record[0]
    if what == "entry":
        v.feed(record[2], record[1], sig_ok)
        return
    why = record[4] if len(record) > 4 else None  # the error as a message, for the host
    if what == "malformed":
        v.malformed(record[1], record[2], record[3], why)
    else:
        v.truncated(record[1], record[2], record[3], why)


class CheckPipeline:
    """Signature checks made apart from the reader (a worker on another core, say).

    ``submit`` a message and signature; ``take`` gives the outcomes in the order they were
    submitted, waiting for the next if need be; ``ready`` says whether ``take`` would not
    wait; ``close`` ends it. Each outcome must be exactly ``SignatureChecker.check``'s
    for the verifier's key. This class checks at once, in the caller: the portable
    default that others replace.
    """

    def __init__(self, public_key: bytes) -> None:
        self._checker = SignatureChecker(public_key)
        self._done: list = []

    def submit(self, message: bytes, signature: bytes) -> None:
        self._done.append(self._checker.check(message, signature))

    def ready(self) -> bool:
        return len(self._done) > 0

    def take(self) -> bool:
        return self._done.pop(0)

    def close(self) -> None:
        self._done = []


# Records read ahead of the verifier while their signatures are checked elsewhere: enough
# to keep a worker busy, few enough to hold (an entry is at most MAX_ENTRY_BYTES).
PIPELINE_AHEAD = 256


def _verify_pipelined(v: LedgerVerifier, records, progress, checks: CheckPipeline) -> Report:
    # Each record waits until its signature's outcome is in, then goes to the verifier in
    # the order read, exactly as verify_chunks feeds it without a pipeline.
    held: list = []  # (record, whether a check was submitted for it), in order
    first = 0
    try:
        for record in records:
            wanted = record[0] == "entry" and v.wants_check(record[2])
            if wanted:
                checks.submit(record[2].to_be_signed(), record[2].signature)
            held.append((record, wanted))
            while first < len(held):
                record, wanted = held[first]
                if wanted and len(held) - first <= PIPELINE_AHEAD and not checks.ready():
                    break
                _apply(v, record, checks.take() if wanted else None)
                held[first] = None
                first += 1
                if progress is not None:
                    progress(record[1])
            if first > PIPELINE_AHEAD:
                del held[:first]
                first = 0
        for record, wanted in held[first:]:
            _apply(v, record, checks.take() if wanted else None)
            if progress is not None:
                progress(record[1])
    finally:
        checks.close()
    return v.finish()
