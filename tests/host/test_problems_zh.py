"""What other parts pass on to a person is in the person's language too (issue 17): an MP4
that cannot be read, an evidence box that cannot be decoded, an agency key that cannot be
used, sealed footage that does not open, a derivative that cannot be written, the simulated
hardware's refusals and the command line's own. Each family is checked in Chinese (Chinese
words, no English sentence left inside) and in English (the very words it said before
these lines went through the catalogues)."""
# micropython: skip (host code)
# R-HOST-4: the extraction is a person's act, and what refuses it is told to that person.

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from host import agencykeys, i18n, mp4evidence, problems
from host.cli.main import main
from protocol import cbor, mp4
from protocol.errors import DecodeError
from protocol.sealing import seal
from protocol.verify import Finding
from tests.host.helpers import CJK, break_signature, english_run

# Every message id protocol.mp4 names: it has no catalogue of its own to be checked against.
MP4_SOURCE = Path(mp4.__file__).read_text(encoding="utf-8")
MP4_IDS = sorted(set(re.findall(r'"(mp4e\.[a-z0-9_]+)"', MP4_SOURCE)))


@pytest.fixture(autouse=True)
def _language_reset():
    yield
    i18n.use(None)


def _in(lang: str, make):
    """``make()`` run with ``lang`` in force; what it raised, rendered by host.problems."""
    i18n.use(lang)
    try:
        make()
    except Exception as exc:  # each case raises its own kind
        return exc, problems.said(exc)
    raise AssertionError("nothing was raised")


def _chinese(line: str) -> None:
    assert CJK.search(line), line
    assert english_run(line) < 3, line


def test_every_mp4_message_id_is_in_both_catalogues():
    assert len(MP4_IDS) > 40  # the source was read
    for msg_id in MP4_IDS:
        assert msg_id in i18n.catalog(i18n.EN) and msg_id in i18n.catalog(i18n.ZH), msg_id


def _init_without_esds() -> bytes:
    track = mp4.Track(1, mp4.HANDLER_AUDIO, 8000, "mp4a", config=b"\x15\x88")
    track.channels, track.sample_rate = 1, 8000
    return mp4.init_segment([track]).replace(b"esds", b"esdz")


MP4_CASES = [
    (lambda: mp4.read_init(b"\x00\x00\x00\x08moov"), "mp4: moov holds no trak"),
    (
        lambda: mp4.read_init(b"\x00\x00\x00\x10ftyp"),
        "mp4: box 'ftyp' at byte 0 declares 16 bytes, past the end of the file (8 left)",
    ),
    (lambda: mp4.read_init(b""), "mp4: the initialisation segment has no moov box"),
    (lambda: mp4.read_init(_init_without_esds()), "mp4: sample entry mp4a of track 1 has no esds"),
    (
        lambda: mp4.init_segment([mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "avc1", width=-1)]),
        "mp4: width of track 1 must be an integer 0..2^16-1, got -1",
    ),
    (lambda: mp4.fragment(1, []), "mp4: a fragment needs at least one run"),
    (lambda: mp4.uuid_box(b"short", b""), "mp4: a uuid box's user type is 16 bytes, not 5"),
    (
        lambda: mp4.read_fragment(b"\x00\x00\x00\x08moof", []),
        "mp4: the fragment has no mdat",
    ),
]


# R-DEV-2: a file that is not what the device wrote is told, in the reader's language
@pytest.mark.parametrize("make, english", MP4_CASES)
def test_mp4_errors_are_chinese_and_their_english_unchanged(make, english):
    exc, said = _in(i18n.EN, make)
    assert isinstance(exc, mp4.Mp4Error)
    assert str(exc) == said == english  # the device's words and the catalogue's agree
    exc, said = _in(i18n.ZH, make)
    assert str(exc) == english  # what --json and the device say stays English
    assert said.startswith("mp4："), said
    _chinese(said)


@pytest.mark.parametrize(
    "body, english",
    [
        (cbor.dumps([1]), "its payload is not a CBOR map"),
        (cbor.dumps({"sealcam": 99}), "its layout version is 99, not 1"),
        (cbor.dumps({"sealcam": 1}), "it names no device id"),
        (cbor.dumps({"sealcam": 1, "device_id": "D"}), "it names no recording id"),
        (
            cbor.dumps({"sealcam": 1, "device_id": "D", "recording": b"r", "entries": [1]}),
            "its entries are not a list of byte strings",
        ),
        (
            cbor.dumps({"sealcam": 1}) + b"\x00\x00",
            "its payload is not deterministic CBOR (2 bytes follow the data item (at byte 10))",
        ),
        (
            cbor.dumps(
                {
                    "sealcam": 1,
                    "device_id": "D",
                    "recording": b"r",
                    "entries": [],
                    "device_key": b"",
                }
            ),
            "its device key is not readable (key file is not a COSE_Key in deterministic CBOR: "
            "input ends where a data item should start (at byte 0))",
        ),
    ],
)
def test_an_unreadable_evidence_box_is_said_in_chinese(body, english):
    exc, said = _in(i18n.EN, lambda: mp4evidence.decode(body))
    assert str(exc) == said == english
    _exc, said = _in(i18n.ZH, lambda: mp4evidence.decode(body))
    _chinese(said)
    if "at byte 10" in english:  # where the bytes went wrong is said in Chinese too
        assert "第 10 字节" in said, said


def test_a_finding_carries_the_mp4_reason_to_the_report_in_chinese():
    """sealcam verify FILE.mp4: the reason an initialisation segment is unreadable is a
    message of the finding's own, said when the report is shown."""
    from host.report_text import finding_text

    try:
        mp4.read_init(_init_without_esds())
    except mp4.Mp4Error as exc:
        why = problems.pair(exc)
    english = (
        "the initialisation segment cannot be read: mp4: sample entry mp4a of track 1 has no esds"
    )
    finding = Finding("malformed", english, msg_id="mp4f.init-unreadable", fields={"why": why})
    i18n.use(i18n.EN)
    assert finding_text(finding) == english
    i18n.use(i18n.ZH)
    line = finding_text(finding)
    assert "轨道 1" in line and "esds" in line
    _chinese(line)


def _agency(tmp_path: Path) -> Path:
    folder = tmp_path / "agency"
    agencykeys.write_agency(folder, agencykeys.make_agency("Test PSB"))
    return folder


AGENCY_CASES = [
    (
        lambda t: agencykeys.check_name("  "),
        "give the agency's name: --agency '某市公安局' (or its English name)",
    ),
    (
        lambda t: agencykeys.check_name("x" * 65),
        "the agency's name is 65 characters; a certificate holds at most 64: shorten it",
    ),
    (
        lambda t: agencykeys.make_agency("A", "cn"),
        "a country is two capital letters (ISO 3166), not 'cn'",
    ),
    (
        lambda t: agencykeys.load_signing(str(t / "nowhere")),
        "ROOT/nowhere is not a directory: give the folder sealcam keygen --agency wrote (it holds "
        "agency-sign.pem and agency-sign.key)",
    ),
    (
        lambda t: agencykeys.load_seal_key(str(_agency(t) / "agency-seal.pub")),
        "ROOT/agency/agency-seal.pub holds 32 raw bytes: that is an agency public key "
        "(agency-seal.pub); give the private half, agency-seal.key, made beside it by "
        "sealcam keygen --agency",
    ),
    (
        lambda t: agencykeys.load_seal_key(str(_agency(t) / "agency-sign.key")),
        "ROOT/agency/agency-sign.key holds a key of another kind (Ed25519PrivateKey), not "
        "the agency seal key (agency-seal.key)",
    ),
    (
        lambda t: agencykeys.write_agency(_agency(t), {"agency-ca.pem": b""}),
        "ROOT/agency already holds agency keys (agency-ca.pem); pass --force to replace them "
        "(exports signed and footage sealed with the old keys then need the old files)",
    ),
]


@pytest.mark.parametrize("make, english", AGENCY_CASES)
def test_agency_key_problems_are_chinese_and_their_english_unchanged(tmp_path, make, english):
    for lang, root in ((i18n.EN, tmp_path / "en"), (i18n.ZH, tmp_path / "zh")):
        root.mkdir()
        exc, said = _in(lang, lambda root=root: make(root))
        assert isinstance(exc, agencykeys.AgencyKeyProblem)
        if lang == i18n.EN:
            assert said == english.replace("ROOT", str(root))
        else:
            _chinese(said)
            if "ROOT" in english:  # what to act on is named alike
                assert english.split()[0].replace("ROOT", str(root)) in said


def test_sealed_footage_that_does_not_open_is_said_in_chinese(tmp_path):
    """A chunk sealed to another agency key: the line names the chunk and the key given."""
    from host.sealedmedia import OpenedMedia, SealedMediaProblem
    from protocol.registry import F_CIPHER_SHA, F_PLAIN_SHA, KIND_CHUNK

    ours = agencykeys.load_seal_key(str(_agency(tmp_path) / "agency-seal.key"))
    other_folder = tmp_path / "other"
    agencykeys.write_agency(other_folder, agencykeys.make_agency("Other PSB"))
    other = agencykeys.load_seal_key(str(other_folder / "agency-seal.key"))
    sealed = seal(b"footage", other.public)
    # The chunk as the opener reads an entry: its seq, its kind and the two digests.
    entry = SimpleNamespace(
        seq=7, kind=KIND_CHUNK, fields={F_CIPHER_SHA: b"c" * 32, F_PLAIN_SHA: b"p" * 32}
    )
    for lang in i18n.LANGS:
        i18n.use(lang)
        opened = OpenedMedia(None, [entry], ours.private, "KEY-NAME")  # type: ignore[arg-type]
        with pytest.raises(SealedMediaProblem) as caught:
            opened.open(entry, sealed)
        line = str(caught.value)
        assert "7" in line and "KEY-NAME" in line and "--agency-key" in line
        if lang == i18n.EN:
            assert line == (
                "chunk seq 7 does not open with KEY-NAME: it was sealed to another agency "
                "key; give --agency-key the private half of the key the recorder was given "
                "(sealcam record --seal-to)"
            )
        else:
            _chinese(line)


# Lines whose cause a test cannot bring about on a sound machine (an encoder or c2pa-rs
# failing): their catalogue texts against the English the code said before.
RARE = [
    (
        "export.derivative_create",
        {"path": "/x/out.mp4", "why": "Permission denied"},
        "cannot create %s: %s" % ("/x/out.mp4", "Permission denied"),
    ),
    (
        "export.derivative_encode",
        {"name": "out.mp4", "why": "Invalid argument"},
        "cannot encode %s: %s" % ("out.mp4", "Invalid argument"),
    ),
    (
        "export.c2pa_no_box",
        {"name": "out.mp4"},
        "c2pa-rs wrote no manifest box into %s" % "out.mp4",
    ),
    (
        "export.c2pa_unsigned",
        {"why": "signing failed"},
        "the C2PA manifest could not be signed: %s" % "signing failed",
    ),
]


@pytest.mark.parametrize("msg_id, fields, english", RARE)
def test_rare_export_problems_are_chinese_and_their_english_unchanged(msg_id, fields, english):
    assert i18n.text(msg_id, i18n.EN, **fields) == english
    _chinese(i18n.text(msg_id, i18n.ZH, **fields))


def _camera(**kw):
    from simulator.hardware import SceneCamera, SimClock

    return SceneCamera(SimClock(0), **kw)


def _hardware_cases() -> list:
    from simulator.hardware import Buttons, GpsTrack, SimClock, SimMicrophone
    from simulator.hardware.clock import whole

    return [
        (
            lambda: Buttons().press("eject"),
            "there is no 'eject' button; the buttons are: record, stop, pause, resume, mark",
        ),
        (lambda: _camera(width=8, height=8), "a camera frame must be at least 16x16, not 8x8"),
        (lambda: _camera(quality=0), "JPEG quality must be 1..100, not 0"),
        (lambda: whole(-1, "advance (ms)"), "advance (ms) must be a whole number >= 0, not -1"),
        (
            lambda: GpsTrack(SimClock(0), [(31.2, 121.4)], speed_mps=-1),
            "speed_mps must be >= 0, not -1",
        ),
        (
            lambda: SimMicrophone(SimClock(0), rate=8001, block_ms=3),
            "rate 8001 and block_ms 3 must make a whole number of samples a block",
        ),
    ]


@pytest.mark.parametrize("case", range(6))
def test_the_simulated_hardware_refuses_in_chinese(case):
    """What a QA engineer's scenario gets wrong about the virtual hardware."""
    from simulator.errors import SimulatorError

    make, english = _hardware_cases()[case]
    exc, said = _in(i18n.EN, make)
    assert isinstance(exc, SimulatorError) and said == english
    exc, said = _in(i18n.ZH, make)
    # The buttons' names are what a scenario writes: they stay as they are.
    _chinese(str(exc).replace("record, stop, pause, resume, mark", "…"))


def _cli(capsys, lang: str, *argv: str) -> tuple:
    try:
        code = main(["--lang", lang, *argv])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    _out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return code, lines[0]


def _cli_cases(tmp: Path) -> list:
    afile = tmp / "a-file"
    afile.write_bytes(b"x")
    store = tmp / "ev"
    store.mkdir()
    (store / "evidence.db").write_bytes(b"")
    return [
        (
            ("ledger", "export", str(tmp / "nowhere"), "--out", str(tmp / "x.ledger")),
            "%s is not a device store (it has no ledger/ folder): give the store folder"
            % (tmp / "nowhere"),
        ),
        (
            (
                "export",
                "--evidence",
                str(store),
                "--device",
                "X",
                "--out",
                str(tmp / "a.mp4"),
                "--extractor",
                "P",
                "--recording",
                "zz",
            ),
            "sealcam export: give a recording number (decimal) or its 16-hex-digit id, not 'zz'",
        ),
        (
            ("keygen", "--device-id", "SC-1", "--out", str(afile)),
            "sealcam keygen: %s is not a directory: give the folder for the key files (--out)"
            % afile,
        ),
        (
            ("demo", "--dir", str(afile)),  # was a traceback
            "sealcam demo: %s is not a folder: give a folder for the demo (--dir)" % afile,
        ),
    ]


@pytest.mark.parametrize("case", range(4))
def test_command_line_refusals_are_one_chinese_line(tmp_path, capsys, case):
    argv, english = _cli_cases(tmp_path)[case]
    en_code, en_line = _cli(capsys, "en", *argv)
    zh_code, zh_line = _cli(capsys, "zh", *argv)
    assert en_code == zh_code == 2
    assert en_line.endswith(english), en_line
    _chinese(zh_line)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """A court package of one fMP4 recording."""
    from tests.host.courtstore import export, fmp4_store, the_item

    tmp = tmp_path_factory.mktemp("pkg")
    with pytest.MonkeyPatch.context() as mp:
        store = fmp4_store(tmp)
        assert export(mp, store, tmp / "pkg", "--recording", the_item(store)) == 0
    i18n.use(None)
    return tmp / "pkg"


def _flip_footage(pkg: Path) -> None:
    video = pkg / "r01" / "video.mp4"
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 1
    video.write_bytes(bytes(data))


# What was done to the package, the finding it gives and that finding's English detail
# (a pattern: hashes and places differ from package to package).
COURT_CASES = [
    (_flip_footage, "chunk-changed", r"seq \d+ \(chunk \d+\): not the bytes the device signed"),
    (
        lambda pkg: (pkg / "r01" / "proofs.json").unlink(),
        "inclusion",
        r"r01/proofs\.json is missing",
    ),
    (
        lambda pkg: (pkg / "host" / "host-key.txt").write_text("sealcam+0000+!!!"),
        "manifest-signature",
        r"the host key is not base64",
    ),
    (
        lambda pkg: (pkg / "r01" / "entries.cbor").write_bytes(b"\x9f"),
        "ledger",
        r"r01/entries\.cbor: indefinite or reserved length",
    ),
]


# R-HOST-5: a changed package is NOT OK, and why is said in the reader's language
@pytest.mark.parametrize("tamper, code, english", COURT_CASES)
def test_a_court_packages_findings_say_why_in_chinese(package, tmp_path, tamper, code, english):
    import shutil

    from host.court import check as court_check

    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    tamper(pkg)
    report = court_check.check_path(pkg)
    finding = next(f for f in report.findings if f.code == code)
    assert re.fullmatch(english, finding.detail), finding.detail
    assert finding.to_dict()["detail"] == finding.detail  # the JSON stays English
    _chinese(finding.detail_zh)
    i18n.use(i18n.EN)
    assert finding.detail in court_check.render(report, str(pkg))
    i18n.use(i18n.ZH)
    shown = court_check.render(report, str(pkg))
    assert finding.detail_zh in shown and finding.detail not in shown
    # The script the package carries says both, Chinese first.
    assert finding.text("zh").count(finding.detail_zh) == 1
    assert finding.text("en").count(finding.detail) == 1


def test_a_ledger_that_is_not_ok_is_said_with_its_finding_in_chinese(tmp_path):
    """The export names the ledger's first finding inside its own line: in the line's
    language, not the verifier's English."""
    from host.export import NotAuthentic, export_recording
    from protocol.registry import EV_RECORD_STOP, F_EVENT
    from tests.host import fmp4
    from tests.protocol.helpers import DEVICE

    rec = fmp4.record(gops_before=2, gops_after=2)
    fmp4.evidence_store(tmp_path / "ev", rec).close()
    stop = next(e for e in rec.entries if e.fields.get(F_EVENT) == EV_RECORD_STOP)
    break_signature(tmp_path / "ev", stop.seq)
    said = {}
    for lang in i18n.LANGS:
        i18n.use(lang)
        with pytest.raises(NotAuthentic) as caught:
            export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W")
        said[lang] = str(caught.value)
    assert re.fullmatch(
        r"recording \d+ of device %s: its span of the ledger in the evidence store is NOT OK "
        r"\(entry seq %d at byte \d+: the "
        r"signature does not verify with the enrolled key; the entry was changed after it was "
        r"signed\); nothing was exported" % (DEVICE, stop.seq),
        said[i18n.EN],
    ), said[i18n.EN]
    _chinese(said[i18n.ZH])
    assert "签名" in said[i18n.ZH] and str(stop.seq) in said[i18n.ZH]


# A space between two Chinese characters: a place said in Chinese words was set inside the
# spaces a Latin box name needs.
CJK_GAP = re.compile(
    r"[\u4e00-\u9fff\uff08\uff09\uff0c] +[\u4e00-\u9fff]|[\u4e00-\u9fff] +[\uff08\uff09\uff0c]"
)
PLACED_CASES = [
    lambda: mp4.read_init(b"\x00\x00\x00\x10ftyp"),  # past the end of the file
    lambda: mp4.read_init(b""),  # the initialisation segment has no moov
    lambda: mp4.read_init(b"\x00\x00\x00\x08moov\x00\x00"),  # stray bytes at the end of the file
    lambda: mp4.read_fragment(b"", []),  # the fragment has no moof
    lambda: mp4.init_segment([mp4.Track(1, mp4.HANDLER_VIDEO, 0, "avc1")]),  # timescale of track 1
    lambda: mp4.init_segment([mp4.Track(1, mp4.HANDLER_VIDEO, 90000, "avc1", width=-1)]),
]


# R-DEV-2: a place in the file reads as Chinese words, not with gaps set for Latin names
@pytest.mark.parametrize("case", range(len(PLACED_CASES)))
def test_a_place_said_in_chinese_has_no_space_inside_the_words(case):
    _exc, said = _in(i18n.ZH, PLACED_CASES[case])
    _chinese(said)
    assert not CJK_GAP.search(said), said


def _places_in_mp4_source() -> set:
    """Every place protocol.mp4 names in words of its own: the string it passes where a
    reader or a check takes its ``what`` or ``where`` (a track number made 1, an entry mp4a)."""
    import ast

    position = {"_int": 4, "_children": 3, "_one": 2, "_inside": 2, "_check_uint": 0}
    found = set()
    for node in ast.walk(ast.parse(MP4_SOURCE)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        at = position.get(node.func.id)
        if at is None or len(node.args) <= at:
            continue
        arg = node.args[at]
        if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod):
            arg = arg.left
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value.replace("%d", "1").replace("%r", "mp4a"))
    return found


# R-DEV-2: no place in a damaged file falls back to English words in a Chinese line
def test_every_place_protocol_mp4_names_is_said_through_the_catalogue():
    places = _places_in_mp4_source()
    assert {"the file", "tkhd", "timescale of track 1", "stbl of track 1"} <= places
    for words in places:
        said = problems.place(words)
        if isinstance(said, str):  # a box's or a field's own name stays as it is
            assert re.fullmatch(r"[a-z][a-z0-9_]*", said), words
            continue
        exc = mp4.Mp4Error("mp4: %s is cut short" % words, "mp4e.cut_short", what=words)
        i18n.use(i18n.ZH)
        line = problems.said(exc)
        assert english_run(line) < 2 and not CJK_GAP.search(line), line


# R-DEV-3: the key footage is sealed to has one Chinese name in every line that names it
def test_the_agency_seal_key_has_one_chinese_name():
    en, zh = i18n.catalog(i18n.EN), i18n.catalog(i18n.ZH)
    naming = [
        msg_id
        for msg_id, text in en.items()
        if re.search(r"\bseal key|agency'?s? (private |seal )*key\b", text)
    ]
    assert {"export.seal_key_name", "export.sealed_chunk", "file.what.agency_seal"} <= set(naming)
    for msg_id in naming:
        assert "机构封存" in zh[msg_id], (msg_id, zh[msg_id])
    for msg_id, text in zh.items():
        assert not re.search(r"本单位(的)?(封存)?(私钥|密钥)|机关密钥", text), (msg_id, text)


# The boxes protocol.mp4 writes or reads by their four-character types.
BOXES = set(re.findall(r'b"([a-z][a-z0-9]{3})"', MP4_SOURCE)) - {"avc1", "hvc1", "mp4a", "tx3g"}


def _boxes_named_bare(line: str) -> list:
    """The box types ``line`` names without the word for a box after them (a sample entry
    is named as one: "mp4a 样本条目"; "esds 描述符" is a descriptor, not its box)."""
    bare = []
    for m in re.finditer(r"(?<![A-Za-z0-9_'])([a-z][a-z0-9]{3})(?![A-Za-z0-9_'])", line):
        rest = line[m.end() :]
        if m.group(1) in BOXES and not rest.startswith((" 盒", " 描述符")):
            bare.append(m.group(1))
    return bare


# Latin letters run into Chinese ones with no space between.
GLUED = re.compile("[\u4e00-\u9fff][A-Za-z]|[A-Za-z][\u4e00-\u9fff]")


# R-DEV-2: a box an MP4 error names is called a box in Chinese ("moov 盒"), in every line
# and every place in the file protocol.mp4 names
def test_every_box_a_chinese_mp4_line_names_is_called_a_box():
    assert {"moov", "trak", "tkhd", "mdat", "moof", "trun", "tfhd"} <= BOXES
    lines = []
    i18n.use(i18n.ZH)
    for make, _english in MP4_CASES:
        lines.append(_in(i18n.ZH, make)[1])
    for make in PLACED_CASES:
        lines.append(_in(i18n.ZH, make)[1])
    for words in _places_in_mp4_source():
        exc = mp4.Mp4Error("mp4: %s is cut short" % words, "mp4e.cut_short", what=words)
        lines.append(problems.said(exc))
        exc = mp4.Mp4Error("", "mp4e.not_uint", what=words, bits=32, value=-1)
        lines.append(problems.said(exc))
    zh = i18n.catalog(i18n.ZH)
    lines += [zh[msg_id] for msg_id in MP4_IDS] + [zh["mp4e.place.trak"]]
    lines += [v for k, v in zh.items() if k.startswith("mp4e.place.")]
    lines += [v for k, v in zh.items() if k.startswith("mp4f.")]  # sealcam verify FILE.mp4
    bad = []
    for line in lines:
        assert not _boxes_named_bare(line), line
        # A Latin name is set apart from the Chinese by spaces ("轨道 1 的 mdia 盒"), and a
        # field's name is said in Chinese ("轨道 1 的基准时间", not "的base_time").
        bad.extend(line for _ in GLUED.findall(line)[:1])
        bad.extend(line for _ in re.findall(r"[a-z]+_[a-z_]+", line.replace("{", " "))[:1])
    assert bad == [], "\n".join(sorted(set(bad)))
    assert "moov 盒中没有 trak 盒" in lines[0]


# Every message id the CBOR decoder, and the key file reader over it, name: the protocol
# has no catalogue of its own to be checked against.
CBOR_SOURCES = [
    Path(cbor.__file__).with_name(name) for name in ("cbor.py", "keys.py", "ledger.py", "cose.py")
]
CBOR_IDS = sorted(
    {i for p in CBOR_SOURCES for i in re.findall(r'"(cbor\.[a-z0-9_.]+)"', p.read_text("utf-8"))}
    - {"cbor.indefinite_"}  # one per kind of item, built from its name
    | {"cbor.indefinite_" + kind for kind in cbor._MAJOR_NAMES}
)


def test_every_cbor_message_id_is_in_both_catalogues():
    assert len(CBOR_IDS) > 25  # the sources were read
    for msg_id in CBOR_IDS:
        assert msg_id in i18n.catalog(i18n.EN) and msg_id in i18n.catalog(i18n.ZH), msg_id
    # Each thing the input may end inside has a message of its own.
    parts = set(re.findall(r'take\([^,]+, "([^"]+)"\)', CBOR_SOURCES[0].read_text("utf-8")))
    assert parts and parts <= set(cbor._ENDS_INSIDE), parts


# R-HOST-4: what the decoder found wrong in bytes is passed on in the reader's language:
# every error it raises has its line's id, the English as the decoder words it
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=24) | st.binary(max_size=8).map(lambda b: b"\xbf\x9f\x5f" + b))
@example(data=b"\xa2\x01\x01\x01\x01")  # a repeated key
@example(data=b"\xc2\x41\x01")  # a bignum that fits in 64 bits
@example(data=b"\x62\xff\xff")  # not UTF-8
def test_every_cbor_decoding_error_is_said_in_both_languages(data):
    try:
        cbor.loads(data)
    except DecodeError as exc:
        assert exc.msg_id.startswith("cbor."), str(exc)
        i18n.use(i18n.EN)
        assert problems.said(exc) == str(exc)
        i18n.use(i18n.ZH)
        said = problems.said(exc)
        _chinese(said)
        assert "第 %d 字节" % exc.offset in said, said
    finally:
        i18n.use(None)


@pytest.mark.parametrize(
    "key, english",
    [
        (
            b"\x01\x00",
            "key file is not a COSE_Key in deterministic CBOR: 1 bytes follow the data "
            "item (at byte 1)",
        ),
        (cbor.dumps([1]), "key file must hold a COSE_Key map"),
        (cbor.dumps({1: 2, -1: 1}), "key file must hold an Ed25519 key (kty OKP, crv Ed25519)"),
    ],
)
def test_a_key_file_that_is_none_is_said_with_its_reason_in_chinese(key, english):
    from protocol.keys import decode_key

    exc, said = _in(i18n.EN, lambda: decode_key(key))
    assert str(exc) == said == english
    _exc, said = _in(i18n.ZH, lambda: decode_key(key))
    _chinese(said)
    assert "密钥文件" in said, said


# R-HOST-4: a failure that passes on another's reason keeps both messages' ids, so that a
# reader who asks later, in another language (a page's), reads the whole of it in theirs
def test_an_export_failure_passed_on_is_said_again_in_a_later_readers_language(tmp_path):
    import hashlib

    from host.export import ExportError, export_recording
    from tests.host import fmp4
    from tests.protocol.helpers import DEVICE

    rec = fmp4.record(gops_before=1, gops_after=1)
    sha = hashlib.sha256(rec.init).digest()
    start = rec.init.find(b"moov") - 4
    end = start + int.from_bytes(rec.init[start : start + 4], "big")
    ev = fmp4.evidence_store(tmp_path / "ev", rec)
    stored = Path(ev.media_file(sha))  # changed where it is kept, as a tampered store holds it
    ev.close()
    stored.chmod(0o600)
    stored.write_bytes(rec.init[:start] + rec.init[start:end].replace(b"trak", b"trax"))
    i18n.use(i18n.EN)  # the first asker's language
    with pytest.raises(ExportError) as caught:
        export_recording(str(tmp_path / "ev"), DEVICE, None, str(tmp_path / "x.mp4"), "W", True)
    exc = caught.value
    assert str(exc).endswith("mp4: moov holds no trak"), str(exc)
    assert exc.msg_id == "export.init_unreadable"
    assert problems.said(exc) == str(exc)
    i18n.use(i18n.ZH)  # a later reader's
    said = problems.said(exc)
    _chinese(said)
    assert "moov 盒中没有 trak 盒" in said, said


def _entry(payload: bytes, signature: bytes = bytes(64)) -> bytes:
    """A COSE_Sign1 of the device's protected header around ``payload`` (not signed)."""
    from protocol.cose import encode_sign1, protected_header
    from tests.protocol.helpers import DEVICE

    return encode_sign1(protected_header(DEVICE.encode()), payload, signature)


# R-HOST-4: a ledger entry whose structure is wrong is said with its reason in the reader's
# language: plain junk where an entry should start, and each check of the entry's parts
@pytest.mark.parametrize(
    "raw, english",
    [
        (b"plain junk, no entry here", "not a COSE_Sign1 message (tag 18)"),
        (cbor.dumps(cbor.Tag(18, [1, 2])), "COSE_Sign1 must be an array of 4 items"),
        (
            cbor.dumps(cbor.Tag(18, [b"", {}, "text", b""])),
            "COSE_Sign1 protected header, payload and signature must be byte strings",
        ),
        (_entry(cbor.dumps({}), b"short"), "an Ed25519 signature is 64 bytes, not 5"),
        (_entry(b"\xa1junk"), "payload is not deterministic CBOR: "),
        (_entry(cbor.dumps([1])), "payload must be a map"),
        (_entry(cbor.dumps({})), "payload field 0 (format version) is missing or not int"),
    ],
)
def test_a_ledger_entry_that_is_none_is_said_with_its_reason_in_chinese(raw, english):
    from protocol.ledger import read_ledger

    # The ledger reader's stretch of such bytes: its English words, and the same as a message.
    records = list(read_ledger(raw))
    assert records[0][0] == "malformed", records
    message, why = records[0][3], records[0][4]
    assert message.startswith(english), message
    assert isinstance(why, tuple) and why[0].startswith("cbor.entry."), why
    i18n.use(i18n.EN)
    assert problems.message(*why) == message
    i18n.use(i18n.ZH)
    _chinese(problems.message(*why))


# R-HOST-4: a damaged stretch whose search passed over places untried says so in the
# reader's language, its reason too (issue 10 §5's bound on the search)
def test_places_not_tried_are_said_in_chinese():
    from protocol.ledger import read_ledger
    from tests.protocol.helpers import overlapping_entries

    records = list(read_ledger(overlapping_entries(1 << 21)))
    assert [r[0] for r in records] == ["malformed"]
    message, why = records[0][3], records[0][4]
    assert why[0] == "cbor.ledger.not_tried", why
    i18n.use(i18n.EN)
    assert problems.message(*why) == message
    i18n.use(i18n.ZH)
    said = problems.message(*why)
    _chinese(said)
    assert "其中有 %d 处" % why[1]["count"] in said, said


# R-HOST-4: the decoder's lines say a key as CBOR writes it, not as Python does (True, None,
# b'..' inside a Chinese line), malformed bytes as malformed (not as an indefinite length),
# and the input by one word
@pytest.mark.parametrize(
    "data, english, chinese",
    [
        (b"\xa2\xf5\x00\xf5\x00", "map key true is repeated (at byte 3)", "映射的键 true 重复"),
        (b"\xa2\x41\x01\x00\x41\x01\x00", "map key h'01' is repeated", "映射的键 h'01' 重复"),
        (b"\xa2\xf6\x00\xf4\x00", "map key false is not in deterministic order", "键 false"),
        (b"\xff", "a break code (0xff) with no indefinite-length item to end", "多余的终止码"),
        (b"\x1f", "an unsigned integer with additional information 31 is malformed", "编码有误"),
        (b"\xdf\x00", "a tag with additional information 31 is malformed", "标签的编码有误"),
        (b"", "input ends where a data item should start", "数据在下一个数据项开始前已结束"),
    ],
)
def test_cbor_lines_say_keys_and_malformed_bytes_plainly(data, english, chinese):
    exc, said = _in(i18n.EN, lambda: cbor.loads(data))
    assert str(exc) == said and said.startswith(english), said
    _exc, said = _in(i18n.ZH, lambda: cbor.loads(data))
    _chinese(said)
    assert chinese in said, said
    assert "不定长度" not in said and "False" not in said and "True" not in said, said


def test_the_cbor_catalogue_words_things_one_way():
    zh = {k: v for k, v in i18n.catalog(i18n.ZH).items() if k.startswith("cbor.")}
    en = {k: v for k, v in i18n.catalog(i18n.EN).items() if k.startswith("cbor.")}
    assert not [v for v in zh.values() if "输入" in v]  # the input is 数据 throughout
    assert not [v for v in (*zh.values(), *en.values()) if "**" in v or "!r" in v]
    assert "设备编号" in zh["cbor.key.no_kid"]
