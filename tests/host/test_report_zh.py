"""``sealcam verify`` in Chinese and English, its times in the agency's zone (issue 17 and
issue 13, "Chinese first": every text a person reads in both languages; times in the
agency's time zone with the offset, matching the overlay; UTC milliseconds stay in --json).

What counts as "no English sentence" in a Chinese report (``english_sentences``): a line
either has Chinese in it or holds only what is the same in every language (paths, device
ids, finding and flag codes, rule ids, digests, numbers, times, marks); and no line holds
three English words in a row (a word: a token of letters only, so ``seq-gap``, ``R-DEV-2``,
``SC-TEST-0001``, ``/tmp/x/case.mp4`` and ``UTC+8`` are not words). The evidence store's
own findings (``host.verify_store``) are held to it like every other line.
"""
# micropython: skip (the host's command line)

import json
import re
import sqlite3
import subprocess
import sys

import pytest

from firmware.recorder import STORE
from host import i18n, settings
from host.compliance import HOUR_MS, check
from host.report_text import finding_text
from host.verify_store import StoreUnusable, check_store
from protocol.keys import encode_key
from protocol.ledger import LedgerWriter, parse_entry, read_ledger
from protocol.registry import (
    EV_EVICTION,
    EV_RESUME,
    F_DETAIL,
    F_EVENT,
    F_MONO_MS,
    F_PLAIN_SHA,
    F_WALL_MS,
    KIND_CHUNK,
    KIND_EVENT,
)
from protocol.signer import make_signer
from protocol.verify import LedgerVerifier, verify_ledger
from simulator.shift import GOOD_CHECKS, ShiftScript
from tests.host import fmp4
from tests.host.shiftledger import continue_ledger, on_time, shift
from tests.host.storetext import check_finding
from tests.protocol.helpers import (
    DEVICE,
    SEED_A,
    SEED_B,
    T0,
    device_key,
    entry_spec,
    make_entries,
)

# Chinese characters and the full-width punctuation only Chinese text uses.
CJK = re.compile("[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
WORD = re.compile("[A-Za-z]+")


def english_sentences(report: str) -> list:
    """The lines of a report that are English to a reader (see the module's docstring)."""
    bad = []
    for line in report.splitlines():
        tokens = line.split()
        run = longest = 0
        for token in tokens:
            run = run + 1 if WORD.fullmatch(token.strip(",.;:()")) else 0
            longest = max(longest, run)
        if longest >= 3 or (not CJK.search(line) and any(WORD.fullmatch(t) for t in tokens)):
            bad.append(line)
    return bad


def sealcam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.use(None)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A ledger file with a gap, an evidence store whose recording has a pause and whose
    stored ledger has a gap, an MP4 export of a recording with a pause, the device's key."""
    from host.export import export_recording

    root = tmp_path_factory.mktemp("zh")
    rec = fmp4.record()
    fmp4.evidence_store(root / "ev", rec).close()
    export_recording(str(root / "ev"), DEVICE, None, str(root / "case.mp4"), "W. Li")
    fmp4.evidence_store(root / "gap", rec).close()
    db = sqlite3.connect(root / "gap" / "evidence.db")
    db.execute("DELETE FROM entries WHERE seq IN (4, 5)")  # a gap in the stored ledger
    db.commit()
    db.close()
    fmp4.evidence_store(root / "lost", rec).close()
    db = sqlite3.connect(root / "lost" / "evidence.db")
    db.execute("DELETE FROM entries WHERE seq = 4")  # an entry row deleted
    db.commit()
    db.close()
    media = sorted(p for p in (root / "lost" / "media").glob("??/*") if p.parent.name != "incoming")
    media[0].unlink()  # and a media file
    (root / "device.pub").write_bytes(encode_key(device_key().public_only()))
    (root / "shift.ledger").write_bytes(b"".join(rec.raws[:4] + rec.raws[6:]))
    return root


def test_a_ledger_report_in_chinese_has_no_english_sentence(made):  # issue 17 "Chinese first"
    r = sealcam(
        "--lang", "zh", "verify", str(made / "shift.ledger"), "--key", str(made / "device.pub")
    )
    assert r.returncode == 1, r.stderr
    assert english_sentences(r.stdout) == [], r.stdout
    assert "序号 4 至 5 缺失（2 条记录）" in r.stdout
    # T0 is 08:00 UTC: 16:00 in Asia/Shanghai, the default zone, as the overlay shows it.
    assert "2026-11-23 16:00:05 UTC+8 至 2026-11-23 16:00:15 UTC+8" in r.stdout


def test_an_evidence_store_with_a_pause_and_a_gap_in_chinese(made):  # issue 17, R-HOST-11
    r = sealcam("verify", str(made / "gap"), "--lang", "zh")
    assert r.returncode == 1, r.stderr
    assert english_sentences(r.stdout) == [], r.stdout
    out = r.stdout
    assert out.startswith("概况      共 1 台设备：1 台不通过，1 台有合规提示")
    assert "证据库存储的签名日志缺少序号 4 至 5（2 条记录）" in out  # the flag
    assert "暂停（恶劣天气）" in out and "口述原因：2 秒纯音频片段" in out  # the timeline
    assert re.search(r"录像 1  2026-11-23 16:00:06 UTC\+8 至 2026-11-23 16:00:15 UTC\+8", out)
    assert out.rstrip().endswith(
        "总结论    ✗ 不通过：本库日志和设备 SC-TEST-0001（见上文发现的问题）"
    )
    assert " UTC " not in out and not out.count(" UTC\n")


def test_a_store_missing_an_entry_and_a_media_file_in_chinese(made):  # issue 13 "Chinese first"
    r = sealcam("verify", str(made / "lost"), "--lang", "zh")
    assert r.returncode == 1, r.stderr
    assert english_sentences(r.stdout) == [], r.stdout
    store = r.stdout.split("\n\n")[1]  # the store's own section, after the summary
    assert store.startswith("证据库") and "发现的问题" in store
    assert "entries-deleted        设备 SC-TEST-0001：序号 4 的记录在主机日志中，却已从" in store
    assert re.search(
        r"media-deleted +主机存储的 1 个录像文件已从 media/ 中消失（[0-9a-f]{16}）", store
    )
    assert "no-checkpoint          证据库中有证据，却没有其日志的签名检查点" in store


def test_a_store_missing_an_entry_and_a_media_file_in_english_as_before(made):  # issue 13
    r = sealcam("verify", str(made / "lost"))
    assert r.returncode == 1, r.stderr
    assert (
        "  entries-deleted        device SC-TEST-0001: entries seq 4 are in the host log but gone "
        "from the store (deleted)\n"
    ) in r.stdout
    assert re.search(
        r"\n  media-deleted          1 media file\(s\) the host stored are gone from media/ "
        r"\([0-9a-f]{16}\)\n",
        r.stdout,
    )
    assert (
        "  no-checkpoint          the store holds evidence but no signed checkpoint of its log: it "
        "was never checkpointed, or its checkpoints were deleted\n"
    ) in r.stdout
    store = json.loads(sealcam("verify", str(made / "lost"), "--json").stdout)["store"]
    assert [f["code"] for f in store["findings"]] == [
        "entries-deleted",
        "media-deleted",
        "no-checkpoint",
    ]
    assert store["findings"][0] == {
        "code": "entries-deleted",
        "severity": "error",
        "message": "device SC-TEST-0001: entries seq 4 are in the host log but gone from the "
        "store (deleted)",
    }


def _damaged_store(made, tmp_path, *statements):
    import shutil

    path = tmp_path / "damaged"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(made / "ev", path)
    db = sqlite3.connect(path / "evidence.db")
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()
    return path


def test_store_findings_other_tests_do_not_provoke_say_the_same_in_both(made, tmp_path):
    # issue 13 "Chinese first": tests/host/test_hostlog.py and test_access.py hold every
    # store finding they provoke to check_finding; these are the ones they do not provoke.
    findings = []
    for statements in (
        ["DELETE FROM store_meta WHERE name = 'store_id'"],  # store-id-missing
        ["UPDATE log SET leaf = zeroblob(32) WHERE idx = 2"],  # log-leaf-altered
        ["DELETE FROM log_head"],  # log-head-altered (no head at all)
    ):
        findings += check_store(_damaged_store(made, tmp_path, *statements)).findings
    codes = {f.code for f in findings}
    assert {"store-id-missing", "log-leaf-altered", "log-head-altered"} <= codes, codes
    unusable = []
    for call in (
        lambda: check_store(made / "ev", witness=b""),
        lambda: check_store(tmp_path / "nothing"),
    ):
        with pytest.raises(StoreUnusable) as caught:
            call()
        unusable.append(caught.value)
    (tmp_path / "other").mkdir()
    sqlite3.connect(tmp_path / "other" / "evidence.db").execute("CREATE TABLE t (x)").close()
    with pytest.raises(StoreUnusable) as caught:
        check_store(tmp_path / "other")
    unusable.append(caught.value)
    assert [u.msg_id for u in unusable] == [
        "store.unusable.witness_empty",
        "store.unusable.no_database",
        "store.unusable.tables",
    ]
    for finding in [*findings, *unusable]:
        assert finding.msg_id, finding.code if hasattr(finding, "code") else finding
        check_finding(finding)


def test_a_store_that_cannot_be_checked_says_so_in_chinese(made, tmp_path):  # issue 13
    (tmp_path / "other").mkdir()
    sqlite3.connect(tmp_path / "other" / "evidence.db").execute("CREATE TABLE t (x)").close()
    r = sealcam("--lang", "zh", "verify", str(tmp_path / "other"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "缺少数据表" in r.stderr and "不是证据库" in r.stderr


def test_an_mp4_export_in_chinese(made):  # issue 17, issue 12
    r = sealcam("--lang", "zh", "verify", str(made / "case.mp4"))
    assert r.returncode == 0, r.stderr
    # The export's pause note is in both languages by design (it is burnt into the file):
    # it is the file's content, quoted, not the report's words.
    report = "\n".join(x for x in r.stdout.splitlines() if "Recording paused" not in x)
    assert english_sentences(report) == [], r.stdout
    assert re.search(r"导出      由 W\. Li 于 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+8 用", r.stdout)
    assert "结论      ✓ 真实（附说明）" in r.stdout


def test_tz_names_the_zone_and_the_english_report_only_changes_its_time_format(made):  # issue 17
    ledger = str(made / "shift.ledger")
    r = sealcam("verify", ledger, "--key", str(made / "device.pub"), "--tz", "UTC")
    assert "Time     2026-11-23 08:00:05 UTC+0 to 2026-11-23 08:00:15 UTC+0" in r.stdout
    assert "seq-gap            seq 4 to 5 are missing (2 entries): deleted or never delivered" in (
        r.stdout
    )
    r = sealcam("verify", str(made / "gap"), "--tz", "Asia/Kolkata")
    assert "Recording 1  2026-11-23 13:30:06 UTC+5:30 to 2026-11-23 13:30:15 UTC+5:30" in r.stdout
    assert "Verdict  ✗ NOT OK: the store's log and device SC-TEST-0001" in r.stdout
    r = sealcam("verify", str(made / "case.mp4"), "--tz", "UTC", "--lang", "zh")
    assert r.returncode == 0 and " UTC+0 用 sealcam export" in r.stdout


def test_an_unknown_zone_is_one_line_and_exit_2(made):  # issue 17; bad input, exit 2
    r = sealcam(
        "verify", str(made / "shift.ledger"), "--key", str(made / "device.pub"), "--tz", "Mars/Base"
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Mars/Base is not a time zone name" in r.stderr
    r = sealcam("--lang", "zh", "verify", str(made / "gap"), "--tz", "Mars/Base")
    assert r.returncode == 2 and "Mars/Base 不是时区名称" in r.stderr


def test_an_evidence_store_shows_times_in_its_own_zone(made, tmp_path):  # issue 13 R-HOST-11
    import shutil

    store = tmp_path / "ev"
    shutil.copytree(made / "ev", store)
    db = sqlite3.connect(store / "evidence.db")
    db.executescript(settings.SCHEMA)
    settings.put(db.cursor(), settings.TIME_ZONE, "Asia/Kolkata")
    db.commit()
    db.close()
    r = sealcam("verify", str(store))
    assert "Recording 1  2026-11-23 13:30:06 UTC+5:30" in r.stdout
    assert "08:00:06 UTC+0" in sealcam("verify", str(store), "--tz", "UTC").stdout


def test_json_is_the_same_in_both_languages_with_utc_milliseconds(made):  # issue 17
    for target in (["gap"], ["case.mp4"], ["shift.ledger", "--key", str(made / "device.pub")]):
        args = ["verify", str(made / target[0]), *target[1:], "--json"]
        english = json.loads(sealcam(*args).stdout)
        assert json.loads(sealcam("--lang", "zh", *args, "--tz", "UTC").stdout) == english
    report = json.loads(sealcam("verify", str(made / "gap"), "--json").stdout)
    device = report["devices"][0]
    assert device["verification"]["stats"]["first_wall_ms"] == T0 + 5000
    (flag,) = device["compliance"]
    assert flag == {
        "code": "seq-gap",
        "rule": "R-DEV-2",
        "seq": 4,
        "message": "seq 4 to 5 are missing from the stored ledger (2 entries)",
        # The same sentence as a catalogue message, for a reader in another language.
        "msg_id": "flag.seq-gap",
        "fields": {"count": 2, "first": 4, "last": 5},
    }
    assert all(not k.startswith("_") for r in device["recordings"] for k in r)


def _damaged_reports() -> list:
    """Verification reports that between them hold every kind of verifier finding."""
    key = device_key().public
    good = make_entries(12)
    unsigned = make_entries(12, sign_every=100, sign_last=False)
    other = make_entries(4, seed=SEED_B, device="SC-OTHER")
    flipped = bytearray(good[3])
    flipped[-70] ^= 1
    reports = [
        verify_ledger(b"", DEVICE, key),
        verify_ledger(b"".join(good[:3] + good[5:]), DEVICE, key),  # seq-gap
        verify_ledger(b"".join(good[:4] + good[3:4] + good[4:]), DEVICE, key),  # duplicate
        verify_ledger(b"".join(good[:3] + good[4:5] + good[3:4] + good[5:]), DEVICE, key),
        verify_ledger(b"".join([*good[:3], bytes(flipped), *good[4:]]), DEVICE, key),
        verify_ledger(b"".join(good[2:]), DEVICE, key),  # starts mid-ledger
        verify_ledger(b"".join(good) + good[5][:20], DEVICE, key),  # truncated
        verify_ledger(b"".join(good[:6]) + b"\xff\x00junk" + b"".join(good[6:]), DEVICE, key),
        verify_ledger(b"".join(unsigned), DEVICE, key),  # unsigned tail
        verify_ledger(b"".join(other), DEVICE, key),  # all another device's
        verify_ledger(b"".join(good[:5] + other[1:2] + good[5:]), DEVICE, key),
        verify_ledger(b"".join(good), DEVICE, device_key(SEED_B).public),  # key change
    ]
    # Entries signed with the right key whose links are wrong: the first entry's, one in the
    # middle (replaced), and a run of unsigned ones the broken link leaves uncovered.
    kind, fields = entry_spec(0)
    bad_start = LedgerWriter(make_signer(SEED_A), DEVICE, 0, b"\x01" * 32)
    reports.append(
        verify_ledger(bad_start.append(kind, fields, T0, 0) + b"".join(good[1:]), DEVICE, key)
    )
    kind, fields = entry_spec(5)
    odd = LedgerWriter(make_signer(SEED_A), DEVICE, 5, b"\x01" * 32).append(kind, fields, T0, 5)
    reports.append(verify_ledger(b"".join([*good[:5], odd, *good[6:]]), DEVICE, key))
    lone = LedgerWriter(make_signer(SEED_A), DEVICE, 5, b"\x01" * 32)
    lone_entries = [lone.append(*entry_spec(i), T0 + i, i, sign=i == 9) for i in range(5, 10)]
    reports.append(verify_ledger(b"".join(unsigned[:5] + lone_entries), DEVICE, key))
    v = LedgerVerifier(DEVICE, key, keep=1)
    for item in read_ledger(b"".join(good[:2] + good[3:5] + good[6:8] + good[9:])):
        if item[0] == "entry":
            v.feed(item[2], item[1])
    reports.append(v.finish())  # "... and N more"
    return reports


def test_every_verifier_finding_has_a_message_with_the_same_english():  # issue 17
    seen = set()
    for report in _damaged_reports():
        for f in report.findings:
            assert f.msg_id and f.fields is not None, (f.code, f.message)
            i18n.use("en")
            assert finding_text(f) == f.message, f.msg_id
            i18n.use("zh")
            zh = finding_text(f)
            # A parser's own words (why an entry cannot be read) are quoted as they are.
            zh = zh.replace(str(f.fields.get("why", "")), "")
            assert CJK.search(zh) and english_sentences(zh) == [], (f.msg_id, zh)
            seen.add(f.code)
    assert {"seq-gap", "duplicate", "empty", "starts-mid-ledger", "truncated", "malformed"} <= seen
    assert {"unsigned-tail", "wrong-device", "bad-signature", "broken-prev"} <= seen
    assert {"unsigned-entry", "out-of-order", "key-change"} <= seen


def _flags() -> list:
    """Compliance flags of most kinds, made as tests/host/test_compliance.py makes them."""
    entries = shift()
    flags = check(entries, on_time(entries, 25 * HOUR_MS))  # late-upload
    gap = shift()
    del gap[5:8]
    flags += check(gap, on_time(gap))  # seq-gap
    chunk = next(e for e in entries if e.kind == KIND_CHUNK)
    w = continue_ledger(entries)
    evict = {F_EVENT: EV_EVICTION, F_DETAIL: {"media": [chunk.fields[F_PLAIN_SHA]]}}
    early = parse_entry(w.append(KIND_EVENT, evict, T0 + 10 * 24 * HOUR_MS, 10 * 24 * HOUR_MS))
    flags += check([*entries, early], on_time(entries))  # two eviction flags
    last = entries[-1]
    w = continue_ledger(entries)
    mono = last.fields[F_MONO_MS] + 60_000
    wall = last.fields[F_WALL_MS] + 60_000 - HOUR_MS
    back = parse_entry(w.append(KIND_EVENT, {F_EVENT: EV_RESUME}, wall, mono))
    flags += check([*entries, back], on_time(entries))  # rolled back, resume without reason
    s = ShiftScript(make_signer(SEED_A), DEVICE, "P-1", T0)
    s.entries += [a[1] for a in s.recorder.power_on(T0, 0, GOOD_CHECKS) if a[0] == STORE]
    for a in s.recorder.host_config({"clock_ms": T0 + 90_000}, "agency-host-1", T0, 0):
        if a[0] == STORE:
            s.entries.append(a[1])
    s.do("press_record")
    s.film(2, 5, "no words")
    s.do("press_stop")
    drift = [parse_entry(r) for r in s.entries]
    flags += check(drift, on_time(drift))  # clock-drift, no-announcement
    rec = fmp4.record(gops_before=1, gops_after=1, spoken="silence")
    flags += check(rec.entries, on_time(rec.entries), media=rec.media.get)  # silent reason
    return flags


def test_every_compliance_flag_has_a_message_with_the_same_english():  # issue 17
    flags = _flags()
    assert {f.code for f in flags} >= {
        "late-upload",
        "seq-gap",
        "eviction-before-receipt",
        "eviction-too-young",
        "clock-rolled-back",
        "resume-without-spoken-reason",
        "clock-drift",
        "no-announcement",
        "silent-spoken-reason",
    }
    for f in flags:
        assert f.msg_id and f.fields is not None, f.code
        i18n.use("en")
        assert finding_text(f) == f.message, f.msg_id
        i18n.use("zh")
        zh = finding_text(f)
        assert CJK.search(zh) and english_sentences(zh) == [], (f.msg_id, zh)


def test_an_mp4_that_cannot_be_checked_is_one_line_in_chinese(made, tmp_path):  # issue 17
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((made / "case.mp4").read_bytes()[:5000])
    r = sealcam("--lang", "zh", "verify", str(cut))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "文件被截断" in r.stderr, r.stderr
    (tmp_path / "empty.mp4").write_bytes(b"")
    r = sealcam("--lang", "zh", "verify", str(tmp_path / "empty.mp4"))
    assert r.returncode == 2 and "是空文件：不是 MP4 文件" in r.stderr, r.stderr


def test_the_ids_the_timeline_builds_at_run_time_are_in_the_catalogs():  # issue 17
    # host/timeline.py renders "event." + an event's name and "timeline.pause." + a reason:
    # every name the registry has must have both languages, English the name itself.
    from host import timeline
    from protocol.registry import EVENT_NAMES, PAUSE_NAMES

    ids = [("event." + n, n) for n in EVENT_NAMES.values()]
    ids += [("timeline.pause." + n, n) for n in PAUSE_NAMES.values()]
    for msg_id, name in ids:
        assert msg_id in i18n.catalog("en") and msg_id in i18n.catalog("zh"), msg_id
        assert i18n.catalog("en")[msg_id] == name
    i18n.use("zh")
    assert timeline.event_name("pause") == "暂停"
    assert timeline.pause_reason("none given") == "未给出"
    assert timeline.event_name("99") == "99"  # an unknown event code: its number


def test_a_flag_written_as_json_and_read_back_says_the_same_sentence():  # issue 17
    # A nested message is a (msg_id, fields) pair in memory and a two-item list once the
    # flag has been through --json; a reader in Chinese must get the same sentence from both.
    from host.compliance import Flag, reported_said
    from host.report_text import said

    flag = Flag(
        "media-lost-on-device",
        "R-DEV-4",
        7,
        "the media of chunk seq 7 is lost",
        "flag.media-lost-on-device",
        {"seq": 7, "reported": reported_said({"text": "", "reported_ms": T0})},
    )
    i18n.use(i18n.ZH)
    try:
        direct = said(flag.msg_id, flag.fields or {})
        row = json.loads(json.dumps(flag.to_dict()))
        assert said(row["msg_id"], row["fields"]) == direct
    finally:
        i18n.use(None)
    assert re.search(r"[\u4e00-\u9fff]", direct) and "7" in direct


# R-HOST-4: bytes of a ledger that are no entry are told with the decoder's reason in the
# reader's language (its English words were quoted inside the Chinese line)
def test_damaged_ledger_bytes_are_said_with_the_decoders_reason_in_chinese(made, tmp_path):
    raws = [bytes(r) for r in fmp4.record(gops_before=1, gops_after=1).raws]
    junk = tmp_path / "junk.ledger"
    junk.write_bytes(b"".join(raws[:3]) + b"\x9f\x00junk" + b"".join(raws[3:]) + raws[3][:30])
    key = str(made / "device.pub")
    en = sealcam("--lang", "en", "verify", str(junk), "--key", key)
    assert "(indefinite-length array is not deterministic (at byte " in en.stdout, en.stdout
    assert "(input ends inside a byte string: 147 bytes needed, 7 left (at byte " in en.stdout
    zh = sealcam("--lang", "zh", "verify", str(junk), "--key", key)
    assert en.returncode == zh.returncode == 1, zh.stderr
    assert english_sentences(zh.stdout) == [], zh.stdout
    assert "不定长度的数组不是确定性编码" in zh.stdout, zh.stdout
    assert "数据在字节串中途结束：需要 147 字节，只剩 7 字节" in zh.stdout, zh.stdout
    assert "indefinite" not in zh.stdout and "input ends" not in zh.stdout


# R-HOST-4: plain junk where an entry should start (no CBOR error: its first byte is simply
# no COSE_Sign1 tag) is said in the reader's language, not quoted in English
def test_junk_between_entries_is_said_in_chinese(made, tmp_path):
    raws = [bytes(r) for r in fmp4.record(gops_before=1, gops_after=1).raws]
    junk = tmp_path / "junk.ledger"
    junk.write_bytes(b"".join(raws[:3]) + b"plain junk, no entry here" + b"".join(raws[3:]))
    key = str(made / "device.pub")
    en = sealcam("--lang", "en", "verify", str(junk), "--key", key)
    assert "(not a COSE_Sign1 message (tag 18))" in en.stdout, en.stdout
    zh = sealcam("--lang", "zh", "verify", str(junk), "--key", key)
    assert en.returncode == zh.returncode == 1, zh.stderr
    assert english_sentences(zh.stdout) == [], zh.stdout
    assert "不是 COSE_Sign1 消息（标签 18）" in zh.stdout, zh.stdout
    assert "not a COSE_Sign1" not in zh.stdout
