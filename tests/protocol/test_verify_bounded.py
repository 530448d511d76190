"""The verifier's memory is bounded whatever the ledger holds (issue 10 §5).

A ledger checked with the wrong key, or one broken at every other entry, used to make the
verifier keep something for every bad entry. Past KEEP_PER_CODE findings of one code it now
only counts them, and says how many and where in one summary finding.
"""
# micropython: skip (hypothesis is a CPython library, and thousands of signatures take long there)

from hypothesis import example, given, settings
from hypothesis import strategies as st

import protocol.verify as verify
from protocol.verify import (
    FINDING_CODES,
    KEEP_PER_CODE,
    NOT_OK,
    UNKNOWN_KEY,
    LedgerVerifier,
    verify_chunks,
)
from tests.protocol.helpers import (
    DEVICE,
    SEED_A,
    SEED_B,
    T0,
    device_key,
    entry_spec,
    make_entries,
    make_writer,
)

KEY = device_key()
# The verifier in these tests keeps fewer findings and entries than the command's (1,000 and
# 4,096), so that a ledger 50 times past the cap is quick to sign and check.
KEEP = 100
WINDOW = 256
BIG = 5_000


PEAK: dict = {}  # the largest size each container of the last watched verifier reached


class _Watched(LedgerVerifier):
    """A verifier that notes the largest size each of its lists and dicts ever reached."""

    def __init__(self, device_id: str, public_key: bytes) -> None:
        super().__init__(device_id, public_key, window=WINDOW, keep=KEEP)

    def feed(self, entry, offset: int, sig_ok=None) -> None:
        super().feed(entry, offset, sig_ok)
        if self.entries % 50 == 0:
            self._measure()

    def finish(self):
        self._measure()
        report = super().finish()
        self._measure()
        return report

    def _measure(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, (list, dict)):
                PEAK[name] = max(PEAK.get(name, 0), len(value))


def watched_verify(monkeypatch, chunks, key=KEY):
    """verify_chunks as the command runs it, with the verifier's containers watched."""
    PEAK.clear()
    monkeypatch.setattr(verify, "LedgerVerifier", _Watched)
    return verify_chunks(chunks, key.device_id, key.public)


def assert_bounded(peak: dict) -> None:
    assert peak["recs"] <= WINDOW + WINDOW // 4 + 1, peak
    assert peak["findings"] <= KEEP * len(FINDING_CODES), peak
    for name, size in peak.items():
        if name not in ("recs", "findings"):
            assert size <= KEEP, (name, peak)


def ledger(n: int, seed: bytes = SEED_A, break_every: int = 0):
    """``n`` signed entries made one at a time; every ``break_every``-th one (from seq 1)
    names a wrong prev, still validly signed."""
    writer = make_writer(seed)
    for i in range(n):
        if break_every and i and i % break_every == 1 % break_every:
            writer.prev = bytes([i % 251]) * 32
        kind, fields = entry_spec(i)
        yield writer.append(kind, fields, T0 + 1000 * i, 1000 * i)


def summary(report, code: str):
    found = [f for f in report.findings if f.code == code and f.more]
    assert len(found) == 1, [f.to_dict() for f in report.findings if f.more]
    return found[0]


def test_wrong_key_keeps_a_bounded_verifier(monkeypatch):  # issue 10 §5
    report = watched_verify(monkeypatch, ledger(BIG, SEED_B))
    assert_bounded(PEAK)
    assert report.state == UNKNOWN_KEY
    assert [f.code for f in report.findings] == ["key-change"]
    assert report.findings[0].seq == 0
    assert "from seq 0 on, %d entries" % BIG in report.findings[0].message
    assert report.stats["entries"] == BIG


def test_bad_signatures_past_the_cap_are_counted(monkeypatch):  # issue 10 §5
    # Signed by the enrolled key at first, then by another one, then the enrolled key again:
    # not a key change, every failure is a bad signature.
    good, bad = device_key(SEED_A), make_writer(SEED_B)

    def mixed():
        writer = make_writer(SEED_A)
        for i in range(BIG + 2):
            kind, fields = entry_spec(i)
            if 0 < i <= BIG:
                bad.seq, bad.prev = writer.seq, writer.prev
                raw = bad.append(kind, fields, T0 + 1000 * i, 1000 * i)
                writer.seq, writer.prev = bad.seq, bad.prev
            else:
                raw = writer.append(kind, fields, T0 + 1000 * i, 1000 * i)
            yield raw

    report = watched_verify(monkeypatch, mixed(), good)
    assert_bounded(PEAK)
    assert report.state == NOT_OK
    full = [f for f in report.findings if f.code == "bad-signature" and not f.more]
    assert [f.seq for f in full] == list(range(1, KEEP + 1))
    more = summary(report, "bad-signature")
    assert more.more == BIG - KEEP
    assert more.seq == KEEP + 1
    assert "and 4,900 more bad-signature findings, seqs 101 to 5000" in more.message
    assert more.to_dict()["more"] == BIG - KEEP


def test_every_link_broken_keeps_a_bounded_verifier(monkeypatch):  # issue 10 §5
    # Each entry names a wrong prev: one run of broken links, told once at its start.
    report = watched_verify(monkeypatch, ledger(BIG, break_every=1))
    assert_bounded(PEAK)
    assert report.state == NOT_OK
    assert [(f.code, f.seq) for f in report.findings] == [("broken-prev", 1)]
    assert "it was replaced" in report.findings[0].message


def test_broken_links_past_the_cap_are_counted(monkeypatch):  # issue 10 §5
    # Every other entry names a wrong prev: 2,500 separate broken links.
    report = watched_verify(monkeypatch, ledger(BIG, break_every=2))
    assert_bounded(PEAK)
    assert report.state == NOT_OK
    full = [f for f in report.findings if f.code == "broken-prev" and not f.more]
    assert [f.seq for f in full] == list(range(1, 2 * KEEP, 2))
    more = summary(report, "broken-prev")
    assert more.more == BIG // 2 - KEEP
    assert "and 2,400 more broken-prev findings, seqs 201 to 4999" in more.message
    assert {f.code for f in report.findings} == {"broken-prev"}


def test_junk_past_the_cap_is_counted(monkeypatch):  # issue 10 §5
    # Many stretches of unreadable bytes between the entries: counted by byte offset.
    def junky():
        for i, raw in enumerate(ledger(3 * KEEP)):
            if i:
                yield b"\xff\x00\xff"  # three bytes no entry starts with
            yield raw

    report = watched_verify(monkeypatch, junky())
    assert_bounded(PEAK)
    assert report.state == NOT_OK
    more = summary(report, "malformed")
    assert [f.code for f in report.findings if f.more] == ["malformed"]
    kept = [f for f in report.findings if f.code == "malformed" and not f.more]
    assert len(kept) == KEEP
    assert more.more == 3 * KEEP - 1 - KEEP
    assert more.seq == -1 and "bytes %d to " % more.offset in more.message
    assert more.offset > kept[-1].offset


# --- below the caps, nothing changes ---------------------------------------------------------

UNCAPPED = 10**9


class _Noting(LedgerVerifier):
    """A verifier that also notes every broken link, as the verifier once did."""

    def __init__(self, device_id: str, public_key: bytes, window: int, keep: int) -> None:
        super().__init__(device_id, public_key, window, keep)
        self.noted: list = []

    def _broken(self, rec, why: str, said: tuple) -> None:
        self.noted.append((rec.seq, rec.offset, why))
        super()._broken(rec, why, said)


def broken_by_set(noted: list) -> list:
    """The broken-prev findings (seq, offset, why) worked out from every broken link at
    once: a link broken right after another is told with it (the entry between was
    replaced)."""
    after = {seq for seq, _, _ in noted}
    out = []
    for seq, offset, why in sorted(noted):
        if seq - 1 in after:
            continue
        if seq + 1 in after:
            why = "neither its own prev nor the next entry's prev fits: it was replaced"
        out.append((seq, offset, why))
    return out


def run(data: bytes, keep: int, key=KEY):
    v = _Noting(key.device_id, key.public, window=8, keep=keep)
    for record in verify.read_chunks((data,)):
        if record[0] == "entry":
            v.feed(record[2], record[1])
        elif record[0] == "malformed":
            v.malformed(record[1], record[2], record[3])
        else:
            v.truncated(record[1], record[2], record[3])
    report = v.finish()
    told = [(f.seq, f.offset, f.message) for f in report.findings if f.code == "broken-prev"]
    by_set = [
        (s, o, "entry seq %d at byte %d does not chain to the entry before it: %s" % (s, o, w))
        for s, o, w in broken_by_set(v.noted)
    ]
    if len(by_set) <= keep:  # below the cap, the runs tell exactly what the set told
        assert told == by_set
    return report


def damaged(n: int, sign_every: int, seed: bytes, ops: dict) -> bytes:
    """A ledger with some entries dropped, flipped, preceded by junk, re-signed, repeated,
    validly signed over a wrong prev (``rewire``) or (``late``) moved after the two entries
    that follow them (``rewire-late``: both)."""
    writer = make_writer(seed, DEVICE, sign_every)
    entries = []
    for i in range(n):
        if ops.get(i) in ("rewire", "rewire-late"):
            writer.prev = bytes([i + 1]) * 32
        kind, fields = entry_spec(i)
        entries.append(writer.append(kind, fields, T0 + 1000 * i, 1000 * i, sign=i == n - 1))
    other = make_entries(n, SEED_B if seed == SEED_A else SEED_A, DEVICE, sign_every)
    pieces = []
    for i, raw in enumerate(entries):
        op = ops.get(i)
        if op == "drop":
            pieces.append([])
            continue
        if op == "flip":
            raw = raw[:-1] + bytes([raw[-1] ^ 1])
        elif op == "swap-key":
            raw = other[i]
        pieces.append([b"\xff\x00\xff", raw] if op == "junk" else [raw] * (2 if op == "dup" else 1))
    for i in range(n - 3, -1, -1):
        if ops.get(i) in ("late", "rewire-late"):
            pieces[i : i + 3] = [pieces[i + 1], pieces[i + 2], pieces[i]]
    return b"".join(b"".join(p) for p in pieces)


def damage(ops: list):
    return st.builds(
        damaged,
        st.integers(min_value=2, max_value=30),
        st.integers(min_value=1, max_value=3),
        st.sampled_from([SEED_A, SEED_A, SEED_B]),
        st.dictionaries(st.integers(min_value=0, max_value=29), st.sampled_from(ops), max_size=12),
    )


IN_ORDER = ["drop", "flip", "junk", "swap-key", "dup", "rewire", "rewire"]


@settings(max_examples=150, deadline=None)
@given(damage([*IN_ORDER, "late", "late", "rewire-late", "rewire-late"]))
# Three links broken, the middle one told last: the runs before and after it must join.
@example(damaged(6, 1, SEED_A, {2: "rewire-late", 3: "rewire", 4: "rewire"}))
def test_default_cap_changes_nothing_below_it(data):  # issue 10 §5
    # run() also checks the broken links, kept as runs, against the set of every one.
    assert run(data, KEEP_PER_CODE).to_dict() == run(data, UNCAPPED).to_dict()


@settings(max_examples=150, deadline=None)
@given(damage(IN_ORDER), st.integers(min_value=1, max_value=3))
def test_a_small_cap_keeps_the_first_and_counts_the_rest(data, keep):  # issue 10 §5
    # Entries arrive in seq order here (nothing reordered), where the counts are exact.
    whole = run(data, UNCAPPED)
    capped = run(data, keep)
    assert capped.state == whole.state
    assert capped.stats == whole.stats
    expected = []
    rest: dict = {}
    seen: dict = {}
    for f in whole.findings:
        seen[f.code] = seen.get(f.code, 0) + 1
        if seen[f.code] <= keep:
            expected.append(f.to_dict())
        else:
            rest.setdefault(f.code, []).append(f)
    assert [f.to_dict() for f in capped.findings if not f.more] == expected
    summaries = {f.code: f for f in capped.findings if f.more}
    assert set(summaries) == set(rest)
    for code, told in rest.items():
        s = summaries[code]
        assert s.more == len(told)
        seqs = [f.seq for f in told if f.seq >= 0]
        if seqs:
            assert s.seq == min(seqs)
        else:
            assert s.offset == min(f.offset for f in told)
