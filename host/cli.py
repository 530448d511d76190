"""The ``sealcam`` command: one entry point, a subcommand per job."""

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from host.files import write_atomic
from host.progress import Progress
from host.report_text import render
from protocol.errors import ProtocolError
from protocol.keys import DeviceKey, decode_key, encode_key
from protocol.signer import generate_seed, make_signer
from protocol.verify import NOT_OK, OK, OK_MISSING, Finding, verify_chunks, verify_ledger

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware.storelock import StoreClaim
    from host.dockrelay import HostEnd
    from host.verify_store import StoreReport

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_UNUSABLE = 2


class UsageProblem(Exception):
    """Input the command cannot use at all; the message says what to do."""


def _read(path: str, what: str, limit: int = -1) -> bytes:
    f = _open_regular(path, what)
    with f:
        data = f.read() if limit < 0 else f.read(limit + 1)
    if 0 <= limit < len(data):
        raise UsageProblem(
            "%s %s is larger than %d bytes: it is not a %s" % (what, path, limit, what)
        )
    return data


def _open_regular(path: str, what: str):
    """Open a regular file for reading; a device, FIFO or socket is refused before a read.

    /dev/zero never ends and a FIFO blocks until someone writes to it, so neither can be a
    ledger or a key; the file is opened without blocking and checked before it is read.
    """
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UsageProblem("%s %s does not exist" % (what, path)) from None
    except IsADirectoryError:
        raise UsageProblem("%s %s is a directory, not a file" % (what, path)) from None
    except OSError as exc:
        raise UsageProblem("cannot read %s %s: %s" % (what, path, exc.strerror)) from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise UsageProblem("%s %s is a directory, not a file" % (what, path))
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UsageProblem(
            "%s %s is not a regular file (a device, FIFO or socket): give the file itself"
            % (what, path)
        )
    return os.fdopen(fd, "rb")


# A key file is a COSE_Key of a few dozen bytes; anything far larger is not one.
_KEY_FILE_LIMIT = 64 * 1024
# The ledger is read in pieces of this size; the reader holds at most one entry beyond one.
_LEDGER_READ = 1 << 20


def _file_chunks(f) -> Iterator[bytes]:
    with f:
        while True:
            chunk = f.read(_LEDGER_READ)
            if not chunk:
                return
            yield chunk


def check_id(text: str, what: str) -> str:
    """``text`` when it can serve as a device or host id (``protocol.registry.id_problem``)."""
    from protocol.registry import MAX_ID_LEN, id_problem

    if id_problem(text, what):  # for text, only its length can be wrong
        raise UsageProblem(
            "%s is %d characters long; the protocol allows ids of 1..%d characters: choose "
            "a shorter one" % (what, len(text), MAX_ID_LEN)
        )
    return text


def load_key(path: str) -> DeviceKey:
    try:
        return decode_key(_read(path, "key file", _KEY_FILE_LIMIT))
    except ProtocolError as exc:
        raise UsageProblem("%s: %s" % (path, exc)) from None


def cmd_verify(args: argparse.Namespace) -> int:
    path = Path(args.ledger)
    # An evidence store whose database was deleted still has its media: check it as one.
    gone_db = (path / "media").is_dir() and not (path / "ledger").is_dir()
    if path.is_dir() and ((path / "evidence.db").exists() or gone_db):
        return verify_evidence(path, args)
    if args.witness or args.host_key:  # never let a reader believe a witness was checked
        raise UsageProblem(
            "--witness and --host-key check a host evidence store, and %s is not one (a "
            "ledger or a device store is checked with --key alone)" % path
        )
    if path.is_dir() and (path / "ledger").is_dir():
        from firmware.store import ledger_records

        size = sum(p.stat().st_size for p in (path / "ledger").glob("*.seg"))
        chunks = ledger_records(str(path), _LEDGER_READ)
    elif path.is_dir():
        raise UsageProblem(
            "%s is a directory but neither a device store (ledger/) nor an evidence store "
            "(evidence.db)" % path
        )
    else:
        f = _open_regular(args.ledger, "ledger")
        size = os.fstat(f.fileno()).st_size
        chunks = _file_chunks(f)
    if not args.key:
        raise UsageProblem("a ledger file or device store needs --key DEVICE.pub to check it")
    key = load_key(args.key)
    progress = Progress("verifying %s" % args.ledger, size)
    from host.sigworker import worker_checks

    checks = worker_checks(key.public)
    report = verify_chunks(chunks, key.device_id, key.public, progress.update, checks)
    progress.close()
    if args.json:
        print(json.dumps(dict(report.to_dict(), ledger=args.ledger), indent=2))
    else:
        print(render(report, args.ledger))
    return EXIT_OK if report.ok else EXIT_NOT_OK


def _media_finding(seq: int, problem: str) -> Finding:
    if problem == "altered":
        return Finding(
            "media-altered",
            "the stored media of chunk seq %d no longer matches the SHA-256 its signed entry "
            "names: the footage was changed in the evidence store" % seq,
            seq,
        )
    return Finding(
        "media-missing",
        "the media of chunk seq %d is not in the evidence store (not yet pulled, or removed)" % seq,
        seq,
    )


def check_evidence_store(path: Path, args: argparse.Namespace) -> "StoreReport":
    """The store as a whole against its own log, its newest checkpoint and a witness
    (``host.verify_store``), read-only; UsageProblem when it cannot be checked at all."""
    from host.verify_store import StoreUnusable, check_store

    witness = None
    if getattr(args, "witness", None):
        witness = _read(args.witness, "witness checkpoint")
    pinned = None
    if getattr(args, "host_key", None):
        key = load_key(args.host_key)
        pinned = (key.device_id, key.public)
    try:
        return check_store(path, witness, pinned)
    except StoreUnusable as exc:
        raise UsageProblem(str(exc)) from None


def verify_evidence(path: Path, args: argparse.Namespace) -> int:
    """Every enrolled device in an evidence store: verdict, compliance flags, recordings;
    and first the store itself: does it still hold all that its signed log says it stored."""
    from collections import Counter

    from host import compliance, timeline
    from host.evidence import SqliteEvidenceStore
    from host.verify_store import render as render_store
    from protocol.ledger import parse_entry
    from protocol.messages import GONE_DAMAGED

    whole = check_evidence_store(path, args)
    readable = not any(
        f.code in ("database-replaced", "database-deleted", "tables-missing")
        for f in whole.findings
    )
    store = SqliteEvidenceStore(path, readonly=True) if readable else None
    devices = [] if store is None else [args.device] if args.device else store.devices()
    results = []
    ok = True
    for device in devices:
        assert store is not None
        public = store.device_key(device)
        if public is None and not whole.ok:
            continue  # gone from the register: the store's findings name what went
        if public is None:
            raise UsageProblem("device %s is not enrolled in %s" % (device, path))
        raws = store.entries(device)
        report = verify_ledger(b"".join(raws), device, public)
        entries = [parse_entry(r) for r in raws]
        received = {e.seq: store.received_ms(device, e.seq) for e in entries}
        policy = compliance.Policy(
            upload_hours=args.late_hours, clock_drift_ms=int(args.drift_limit * 1000)
        )
        # What the device said of media it could not give, for media still not held here
        # (a file it delivered after all is whole evidence; its report stays as history).
        gone = [g for g in store.gone_media(device) if not store.has_media(g["digest"])]
        flags = compliance.check(entries, received, policy, gone)
        recs = timeline.recordings(entries)
        media = store.check_media(entries)
        altered = [seq for seq, problem in media if problem == "altered"]
        for seq, problem in media:
            report.findings.append(_media_finding(seq, problem))
        damaged = [
            (chunk.seq, rep)
            for chunk, reason, rep in compliance.gone_chunks(entries, gone)
            if reason == GONE_DAMAGED
        ]
        for seq, rep in damaged:
            report.findings.append(
                Finding(
                    "media-damaged-on-device",
                    "the device holds the media of chunk seq %d, but it no longer matches the "
                    "SHA-256 its signed entry names: the footage was changed or corrupted on "
                    "the device (%s)" % (seq, compliance.reported(rep)),
                    seq,
                )
            )
        refusals = [s for s in store.sessions(device) if s["result"].startswith("refused:")]
        # A device refused once is refused at every dock until it is repaired: one finding
        # per reason, with how many docks it ended. (A refused entry may be validly signed:
        # a field out of bounds, so the reason, not a guess, says what is wrong.)
        reasons = Counter(s["result"][len("refused: ") :] for s in refusals)
        for reason, docks in reasons.items():
            report.findings.append(
                Finding(
                    "refused-at-dock",
                    "at %s the host refused ledger data the device offered (%s): what "
                    "follows it cannot be collected until the device's ledger is repaired"
                    % ("a dock" if docks == 1 else "%d docks" % docks, reason),
                )
            )
        held_next = max((e.seq for e in entries), default=-1) + 1
        short = compliance.not_collected(device, store.sessions(device), held_next)
        if short:
            report.findings.append(Finding("entries-not-collected", short, held_next))
        if altered or refusals or damaged:
            report.state = NOT_OK
        elif (media or short) and report.state == OK:
            report.state = OK_MISSING
        ok = ok and report.ok
        results.append((device, report, flags, recs))
    if store is not None:
        store.close()
    ok = ok and whole.ok
    if args.json:
        print(
            json.dumps(
                {
                    "store": whole.to_dict(),
                    "devices": [
                        {
                            "device_id": d,
                            "verification": r.to_dict(),
                            "compliance": [f.to_dict() for f in fl],
                            "recordings": [
                                dict(x, id=x["id"].hex() if isinstance(x["id"], bytes) else x["id"])
                                for x in recs
                            ],
                        }
                        for d, r, fl, recs in results
                    ],
                },
                indent=2,
                default=str,
            )
        )
    else:
        for line in render_store(whole, str(path)):
            print(line)
        print()
        for device, report, flags, recs in results:
            print(render(report, "%s (device %s)" % (path, device)))
            print("Compliance  %s" % ("no flags" if not flags else "%d flag(s)" % len(flags)))
            for f in flags:
                print("  %-30s %-9s %s" % (f.code, f.rule, f.message))
            for line in timeline.render(recs):
                print(line)
            print()
        print(store_verdict(whole.ok, [(d, r.ok) for d, r, _fl, _recs in results]))
        print()  # the report's end, before whatever follows it (the demo's next step)
    return EXIT_OK if ok else EXIT_NOT_OK


def store_verdict(store_ok: bool, devices: list) -> str:
    """One closing line for an evidence store: the store's own State and each device's
    come above it, and a reader must not take the first "OK" for the whole answer."""
    bad = [d for d, good in devices if not good]
    if store_ok and not bad:
        return "Verdict  ✓ OK: the store's log and its %d device(s)" % len(devices)
    parts = [] if store_ok else ["the store's log"]
    if bad:
        parts.append("device%s %s" % ("s" if len(bad) > 1 else "", ", ".join(bad)))
    return "Verdict  ✗ NOT OK: %s (see the findings above)" % " and ".join(parts)


def cmd_record(args: argparse.Namespace) -> int:
    store = Path(args.store)
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem("cannot make the store %s: %s" % (store, exc.strerror)) from None
    # Provisioning the key writes the store too: the claim comes first (R-DEV-2).
    held = claim_store(str(store), "sealcam record")
    try:
        return _record_claimed(args, store, held)
    finally:
        held.release()


def claim_store(path: str, command: str) -> "StoreClaim":
    """Claim a device store for this process's writer, or say in one line who holds it."""
    from firmware.errors import StoreError
    from firmware.storelock import claim

    try:
        return claim(path, command)
    except StoreError as exc:
        raise UsageProblem(str(exc)) from None


def _record_claimed(args: argparse.Namespace, store: Path, held: "StoreClaim") -> int:
    from firmware.errors import FirmwareError
    from firmware.hal import Indicators
    from firmware.ports.cpython import record
    from firmware.store import ledger_bytes

    key_path = Path(args.key) if args.key else store / "device.key"
    if key_path.exists():
        key = load_key(str(key_path))
        if args.device_id and args.device_id != key.device_id:
            raise UsageProblem(
                "%s belongs to device %s, not %s" % (key_path, key.device_id, args.device_id)
            )
        if not key.seed:
            raise UsageProblem("%s is a public key; the recorder needs its private key" % key_path)
    elif args.device_id:
        check_id(args.device_id, "the device id")
        seed = generate_seed()
        key = DeviceKey(args.device_id, make_signer(seed).public_key(), seed)
        write_atomic(key_path, encode_key(key), mode=0o600)
        write_atomic(key_path.with_suffix(".pub"), encode_key(key.public_only()))
    else:
        raise UsageProblem("no device key at %s: pass --device-id to provision one" % key_path)
    agency = _read(args.seal_to, "agency public key") if args.seal_to else b""
    if agency and len(agency) != 32:
        raise UsageProblem("%s must hold the agency's 32-byte X25519 public key" % args.seal_to)
    quiet = args.json
    try:
        summary = record(
            str(store),
            args.camera,
            key.seed,
            key.device_id,
            args.officer,
            args.seconds,
            agency,
            Indicators() if quiet else None,
            store_claim=held,
        )
    except FirmwareError as exc:
        raise UsageProblem(str(exc)) from None
    ledger = ledger_bytes(str(store))  # read only: the agent has closed the store
    report = verify_ledger(ledger, key.device_id, key.public)
    summary.update(store=str(store), device_id=key.device_id, ledger_state=report.state)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            "recorded %(frames)d frames into %(store)s: %(entries)d ledger entries, "
            "%(media_bytes)d media bytes; ledger %(ledger_state)s" % summary
        )
    return EXIT_OK if report.ok else EXIT_NOT_OK


def cmd_keygen(args: argparse.Namespace) -> int:
    check_id(args.device_id, "the device id")
    if "/" in args.device_id or "\0" in args.device_id or args.device_id.startswith("."):
        # The id names the key files: it must not lead them out of --out, or hide them.
        raise UsageProblem(
            "a device id that names key files cannot hold '/' or start with '.': %r"
            % args.device_id
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed = generate_seed()
    key = DeviceKey(args.device_id, make_signer(seed).public_key(), seed)
    private = out / ("%s.key" % args.device_id)
    public = out / ("%s.pub" % args.device_id)
    if private.exists() and not args.force:
        raise UsageProblem("%s exists; pass --force to replace this device's key" % private)
    write_atomic(private, encode_key(key), mode=0o600)
    write_atomic(public, encode_key(key.public_only()))
    if args.json:
        print(
            json.dumps(
                {
                    "device_id": key.device_id,
                    "public_key": key.public.hex(),
                    "private_key_file": str(private),
                    "public_key_file": str(public),
                }
            )
        )
    else:
        print(
            "device %s (key %s)\n  private key %s (keep on the device)\n  public key  %s "
            "(enrol on the host)" % (key.device_id, key.public[:8].hex(), private, public)
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job end to end: a virtual recorder's shift, docked over a pseudo-terminal to
    the host daemon, verified; a byte of stored footage changed; verified again; exported."""
    from host.export import ExportError, export_recording
    from simulator.command import SCENARIO_DIR
    from simulator.errors import SimulatorError
    from simulator.run import run_file

    out = Path(args.dir)
    if out.exists() and any(out.iterdir()):
        if not (out / "host").is_dir():
            raise UsageProblem("%s is not empty and not an earlier demo: give another --dir" % out)
        import shutil

        shutil.rmtree(out)  # an earlier demo's files: start afresh
    out.mkdir(parents=True, exist_ok=True)
    say = None if args.json else (lambda line: print("  " + line, flush=True))
    scenario = str(SCENARIO_DIR / "clean-shift.toml")
    if not args.json:
        print("1. A virtual recorder (the unchanged firmware on simulated hardware) works a")
        print("   shift; then it docks with `sealcam sync`, another process, over a")
        print("   pseudo-terminal.\n")
    try:
        report = run_file(scenario, str(out), say=say)
    except SimulatorError as exc:
        raise UsageProblem(str(exc)) from None
    evidence = out / "host" / "evidence"
    device = report["device"]
    ns = argparse.Namespace(device=device, json=args.json, late_hours=24, drift_limit=2)
    video = out / "recording.avi"
    try:
        note = export_recording(str(evidence), device, None, str(video), "demo")
    except ExportError as exc:
        raise UsageProblem("export failed: %s" % exc) from None
    if not args.json:
        print("\n2. What the host concluded (sealcam verify %s):\n" % evidence)
    if args.json:
        good, before = _quiet_verify(evidence, ns)
    else:
        good = verify_evidence(evidence, ns)
    victim, seq = _change_stored_footage(evidence, device)
    if not args.json:
        print("3. Someone changes one byte of the stored footage of chunk seq %d" % seq)
        print("   (%s), and the host verifies again:\n" % victim)
    if args.json:
        bad, after = _quiet_verify(evidence, ns)
    else:
        bad = verify_evidence(evidence, ns)
    if args.json:
        print(
            json.dumps(
                {
                    "scenario": report,
                    "export": note,
                    "changed": {"file": str(victim), "chunk_seq": seq},
                    "before": before,
                    "after": after,
                },
                indent=2,
                default=str,
            )
        )
    else:
        print("4. The recording, with its overlay, exported before the change: %s" % video)
        frames = note["video"]["frames"]
        print("   (%d frames; its note for the case file: %s.json)\n" % (frames, video))
        print("Try it yourself:")
        print("  %s verify %s" % (command_name(), evidence))
        print("  %s sim run --all" % command_name())
    return EXIT_OK if good == EXIT_OK and bad == EXIT_NOT_OK else EXIT_NOT_OK


def command_name(argv0: str | None = None) -> str:
    """How to type this command here: ``sealcam`` when that is what the shell finds, else
    the path it was run by (``.venv/bin/sealcam`` after ``tools/demo``, whose environment is
    not activated), so the commands the demo suggests work as printed."""
    import shutil

    argv0 = sys.argv[0] if argv0 is None else argv0
    found = shutil.which("sealcam")
    if not argv0.endswith("sealcam") or not os.path.exists(argv0):
        return "sealcam"  # run some other way (python -m, tests): name the command only
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "sealcam"
    rel = os.path.relpath(argv0)
    return rel if not rel.startswith("..") else os.path.abspath(argv0)


def _quiet_verify(evidence: Path, ns: argparse.Namespace) -> tuple:
    """Exit code and the JSON report of verifying ``evidence``, printing nothing."""
    import contextlib
    import io

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code = verify_evidence(evidence, argparse.Namespace(**dict(vars(ns), json=True)))
    return code, json.loads(text.getvalue())


def _change_stored_footage(evidence: Path, device: str) -> tuple:
    """Flip one bit in the middle of a stored video chunk; return the file and its seq."""
    from host.evidence import SqliteEvidenceStore
    from protocol.ledger import parse_entry
    from protocol.registry import F_MEDIA_TYPE, F_PLAIN_SHA, KIND_CHUNK, MEDIA_H264, MEDIA_MJPEG

    store = SqliteEvidenceStore(evidence)
    try:
        chunks = [
            e
            for e in (parse_entry(r) for r in store.entries(device))
            if e.kind == KIND_CHUNK and e.fields.get(F_MEDIA_TYPE) in (MEDIA_H264, MEDIA_MJPEG)
        ]
        chunk = chunks[len(chunks) // 2]
        digest = chunk.fields[F_PLAIN_SHA].hex()
    finally:
        store.close()
    path = evidence / "media" / digest[:2] / digest
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    return path, chunk.seq


def cmd_enrol(args: argparse.Namespace) -> int:
    from host.evidence import EvidenceError, SqliteEvidenceStore

    keys = [load_key(path) for path in args.keys]
    for path, key in zip(args.keys, keys, strict=True):
        check_id(key.device_id, "the key file %s names device" % path)  # before any is enrolled
    store = SqliteEvidenceStore(args.evidence)
    try:
        for key in keys:
            try:
                store.enrol(key.device_id, key.public)
            except EvidenceError as exc:
                raise UsageProblem(str(exc)) from None
            print("enrolled %s (%s)" % (key.device_id, key.public[:8].hex()))
    finally:
        store.close()
    return EXIT_OK


def cmd_checkpoint_export(args: argparse.Namespace) -> int:
    """The newest signed checkpoint of an evidence store's log, for a witness to keep."""
    import sqlite3

    from host.verify_store import open_readonly

    db_path = Path(args.evidence) / "evidence.db"
    if not db_path.is_file():
        raise UsageProblem("%s is not an evidence store (no evidence.db)" % args.evidence)
    try:
        db = open_readonly(db_path)
        try:
            row = db.execute(
                "SELECT note FROM checkpoints ORDER BY size DESC, rowid DESC LIMIT 1"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise UsageProblem("cannot read %s: %s" % (db_path, exc)) from None
    if row is None:
        raise UsageProblem(
            "%s holds no checkpoint yet: the sync daemon signs one after every session"
            % args.evidence
        )
    note = row[0].encode("utf-8")
    if args.out:
        try:
            write_atomic(Path(args.out), note)
        except OSError as exc:
            raise UsageProblem("cannot write %s: %s" % (args.out, exc.strerror or exc)) from None
        print("wrote the checkpoint to %s" % args.out, file=sys.stderr)
    else:
        sys.stdout.write(row[0])
    return EXIT_OK


def _host_signer(path: str) -> tuple:
    key = load_key(path)
    if not key.seed:
        raise UsageProblem("%s is a public key; the host needs its private key to sign" % path)
    return make_signer(key.seed), key.device_id


def _address(text: str) -> tuple:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageProblem("give an address as HOST:PORT (a port up to 65535), not %r" % text)
    return host, int(port)


def number_at_least(minimum: float, above: bool = False) -> "Callable[[str], float]":
    """An argparse type: a finite number no less than ``minimum`` (above it, when ``above``).
    An infinite limit was a traceback, and a negative one or NaN turned a check off."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            raise argparse.ArgumentTypeError(
                "give a number %s %g, not %r" % ("above" if above else "of at least", minimum, text)
            )
        return value

    return parse


def cmd_sync(args: argparse.Namespace) -> int:
    from host.daemon import Daemon
    from host.evidence import SqliteEvidenceStore
    from host.progress import SessionView

    if args.clock_at is not None and args.clock_start is None:
        raise UsageProblem("--clock-at says when the clock read --clock-start: give both")
    signer, kid = _host_signer(args.host_key)
    store = SqliteEvidenceStore(args.evidence)
    clock = time.time
    if args.clock_start is not None:
        # The simulator docks devices that live in virtual time: the host's clock starts at
        # the scenario's moment and runs at real speed from there.
        # Read at --clock-at when the caller gives it: the caller's clock and this one then
        # agree however long the daemon took to start.
        at = args.clock_at / 1000 if args.clock_at is not None else time.time()
        offset = args.clock_start / 1000 - at

        def clock() -> float:
            return time.time() + offset

    view = SessionView() if SessionView.wanted(sys.stderr, args.json) else None
    daemon = Daemon(store, signer, kid, as_json=args.json, idle_s=args.idle, clock=clock, view=view)
    if args.tcp:
        host, port = _address(args.tcp)
        try:
            daemon.listen(host, port, once=args.once)
        except OSError as exc:
            raise UsageProblem("cannot listen on %s: %s" % (args.tcp, exc.strerror)) from None
    for name in args.serial or ():
        daemon.serial_port(name, args.baud, once=args.once)
    if args.scan:
        daemon.scan_serial(args.scan, args.baud)
    if not (args.tcp or args.serial or args.scan):
        raise UsageProblem("nothing to serve: give --tcp, --serial or --scan")
    daemon.wait()
    store.close()
    if args.once and not daemon.sessions and not args.tcp and daemon.port_errors:
        # Nothing was served, and nothing could be: every port given failed to open.
        name, why = daemon.port_errors[0]
        raise UsageProblem("cannot open serial port %s: %s" % (name, why))
    failed = [s for s in daemon.sessions if s["result"] != "done"]
    return EXIT_NOT_OK if args.once and failed else EXIT_OK


def cmd_dock(args: argparse.Namespace) -> int:
    """The device side of a sync, for a Linux terminal's store (or a simulated device).

    Exit 0 only when the host confirmed the session with a receipt; 1 when the host refused
    or ended it, or the link went after the host proved its key; 2 when nothing could be
    done (no listener, no such port, a bad key file, a host this device does not trust).
    """
    import os

    from firmware.agent import boot
    from firmware.errors import FirmwareError
    from firmware.hal import Indicators
    from firmware.link import DeviceLink
    from firmware.ports.cpython import SystemClock

    key = load_key(str(Path(args.store) / "device.key"))
    if not key.seed:
        raise UsageProblem(
            "%s/device.key is a public key; docking needs the device's private key" % args.store
        )
    pinned = {}
    for path in args.trust:
        host_key = load_key(path)
        pinned[host_key.device_id] = host_key.public
    signer = make_signer(key.seed)
    held = claim_or_relay(args, pinned)  # never beside another writer (R-DEV-2)
    if isinstance(held, dict):
        held["device_id"] = held["device_id"] or key.device_id  # a recorder cut off says none
        return report_relayed_dock(held, args)
    try:
        # The link first: when there is no host to talk to, the store is not touched at all.
        transport, serial_link = _dock_transport(args)
        try:
            try:
                agent = boot(
                    args.store, signer, key.device_id, "", SystemClock(), None, Indicators()
                )
            except (FirmwareError, OSError) as exc:
                raise UsageProblem(
                    "cannot open the device store %s: %s" % (args.store, exc)
                ) from None
            from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME

            link = DeviceLink(
                agent,
                signer,
                pinned,
                transport,
                serial_link,
                os.urandom,
                idle_ms=int(args.idle * 1000),
                # TCP is fast and reliable: offer the largest frame; serial keeps the default.
                max_frame=DEFAULT_MAX_FRAME if serial_link else MAX_FRAME,
            )
            try:
                result = link.run()
            finally:
                agent.store.close()
        finally:
            end = getattr(transport, "sock", None) or getattr(transport, "port", None)
            if end is not None:
                end.close()
    finally:
        held.release()
    code, result = dock_outcome(link)
    out = {"device_id": key.device_id, "result": result, "receipts": link.receipts}
    print(
        json.dumps(out)
        if args.json
        else "%s: %s; receipts %s" % (key.device_id, result, link.receipts or "none")
    )
    return code


def dock_outcome(link: object) -> tuple:
    """``(exit code, what to say)`` for a finished device link (see ``cmd_dock``)."""
    from protocol.messages import ERR_BAD_SIGNATURE, ERR_UNTRUSTED_HOST

    closed = link.closed  # type: ignore[attr-defined]
    if closed == "done":
        if link.receipts:  # type: ignore[attr-defined]
            return EXIT_OK, closed
        return EXIT_NOT_OK, "the host closed the session without a receipt: dock again"
    if link.closed_by == "peer":  # type: ignore[attr-defined]
        return EXIT_NOT_OK, closed  # the host refused or ended it: an ERROR
    if not link.host_kid:  # type: ignore[attr-defined]
        # The host never proved a pinned key: nothing was given to it.
        if link.close_code in (ERR_UNTRUSTED_HOST, ERR_BAD_SIGNATURE):  # type: ignore[attr-defined]
            return EXIT_UNUSABLE, "%s: not a host this device trusts" % closed
        return EXIT_UNUSABLE, "%s before the host proved its key: nothing was done" % closed
    return EXIT_NOT_OK, "%s: the session ended without its receipt; dock again" % closed


def _open_host_link(args: argparse.Namespace) -> tuple:
    """``(socket or serial port, is serial)``: the link to the host that ``--connect`` or
    ``--serial`` names; UsageProblem in one line when it cannot be opened."""
    import socket

    if args.connect:
        address = _address(args.connect)
        try:
            sock = socket.create_connection(address, timeout=args.idle)
        except OSError as exc:
            raise UsageProblem(
                "cannot connect to %s: %s (is `sealcam sync --tcp` listening there?)"
                % (args.connect, exc.strerror or exc)
            ) from None
        sock.settimeout(None)
        return sock, False
    if args.serial:
        import serial

        try:
            port = serial.Serial(args.serial, baudrate=args.baud, timeout=0.2)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise UsageProblem("cannot open serial port %s: %s" % (args.serial, exc)) from None
        return port, True
    raise UsageProblem("give --connect HOST:PORT or --serial PORT")


def _dock_transport(args: argparse.Namespace) -> tuple:
    """The open link to the host as a sync transport, and whether it is serial."""
    from host.sync import SerialTransport, SocketTransport

    end, serial_link = _open_host_link(args)
    return (SerialTransport(end) if serial_link else SocketTransport(end)), serial_link


def claim_or_relay(args: argparse.Namespace, pinned: dict) -> "StoreClaim | dict":
    """Claim the store for this dock; or, when a running ``sealcam record`` holds it and
    serves docks, carry the session to it (the agent writes its own ledger) and return the
    outcome. Beside any other writer the dock is refused in one line."""
    from firmware.errors import StoreError
    from firmware.storelock import StoreInUse, claim
    from host.dockrelay import RelayProblem, connect_agent, relay_dock
    from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME

    try:
        return claim(args.store, "sealcam dock")
    except StoreInUse as busy:
        try:
            agent = connect_agent(args.store)
        except OSError:
            raise UsageProblem(str(busy)) from None
    except StoreError as exc:
        raise UsageProblem(str(exc)) from None
    header = {
        "trust": {kid: public.hex() for kid, public in pinned.items()},
        "serial": not args.connect,
        "idle_ms": int(args.idle * 1000),
        "max_frame": MAX_FRAME if args.connect else DEFAULT_MAX_FRAME,
    }
    try:
        host = _host_end(args)
        try:
            return relay_dock(agent, host, header)
        finally:
            host.close()
    except RelayProblem as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:
        raise UsageProblem("the dock through the running recorder failed: %s" % exc) from None
    finally:
        agent.close()


def _host_end(args: argparse.Namespace) -> "HostEnd":
    """The link to the host a relayed dock carries: TCP or serial, as for a dock of its own."""
    from host.dockrelay import SerialEnd, TcpEnd

    end, serial_link = _open_host_link(args)
    return SerialEnd(end) if serial_link else TcpEnd(end)


def report_relayed_dock(out: dict, args: argparse.Namespace) -> int:
    """Print a dock served by the running recorder as a dock of its own is printed."""
    print(
        json.dumps(out)
        if args.json
        else "%s: %s; receipts %s (served by the running recorder)"
        % (out["device_id"], out["result"], out["receipts"] or "none")
    )
    return EXIT_OK if out["result"] == "done" and out["receipts"] else EXIT_NOT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sealcam",
        description="Signed, tamper-evident evidence for enforcement recorders. Every frame "
        "chunk and event a recorder writes is an entry in one hash-chained ledger signed "
        "with the device's Ed25519 key; these commands check and manage that evidence.",
        epilog="Exit codes: 0 success or OK, 1 verification NOT OK, 2 unusable input. "
        "Run 'sealcam COMMAND --help' for each command.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    v = sub.add_parser(
        "verify",
        help="check a ledger against a device's public key",
        description="Check that a ledger file is exactly what the device signed: every "
        "signature, every hash link, no gaps, no reordering, no duplicates, no cut-off tail. "
        "States: OK; OK with missing information (nothing wrong, but part cannot be vouched "
        "for yet); NOT OK (each finding says what broke and where); unknown key.",
        epilog="Example: sealcam verify shift.ledger --key SC-0001.pub",
    )
    v.add_argument(
        "ledger",
        help="a ledger file (a CBOR sequence of COSE_Sign1 entries), a device store "
        "directory, or a host evidence store directory (every enrolled device is checked, "
        "with compliance flags and each recording's timeline)",
    )
    v.add_argument(
        "--key",
        help="the device's public key file (COSE_Key); not needed for "
        "an evidence store, which holds the enrolled keys",
    )
    v.add_argument("--device", help="in an evidence store, check only this device")
    v.add_argument(
        "--late-hours",
        type=number_at_least(0),
        default=24,
        help="in an evidence store, flag footage that reached it later than this (R-HOST-1)",
    )
    v.add_argument(
        "--drift-limit",
        type=number_at_least(0),
        default=2,
        metavar="SECONDS",
        help="in an evidence store, flag a device clock off by more than this (R-HOST-11)",
    )
    v.add_argument(
        "--witness",
        metavar="FILE",
        help="in an evidence store, a checkpoint kept elsewhere (sealcam checkpoint export): "
        "the store's log must extend it, or it was rolled back or rewritten",
    )
    v.add_argument(
        "--host-key",
        metavar="PUB",
        help="in an evidence store, the host public key its checkpoints must be signed with "
        "(default: the keys the store names)",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(run=cmd_verify)

    cp = sub.add_parser(
        "checkpoint",
        help="export the evidence store's newest signed checkpoint for a witness",
        description="The host signs a checkpoint of its own log (every entry, media file, "
        "session and report it stored) after every session. Export the newest one and keep "
        "it elsewhere (another machine, a printout, a court package): 'sealcam verify "
        "EVIDENCE --witness FILE' then shows whether the store was rolled back or rewritten "
        "behind it.",
    )
    cp_sub = cp.add_subparsers(dest="action", metavar="ACTION", required=True)
    cpe = cp_sub.add_parser("export", help="write the newest signed checkpoint (a signed note)")
    cpe.add_argument("--evidence", required=True, help="the evidence store directory")
    cpe.add_argument("--out", help="write it to this file (default: standard output)")
    cpe.set_defaults(run=cmd_checkpoint_export)

    k = sub.add_parser(
        "keygen",
        help="make a device key pair (simulated devices, tests)",
        description="Make an Ed25519 key pair for a device. A real recorder makes its own key "
        "at provisioning and never lets the private half out; this command is for simulated "
        "devices and test benches.",
    )
    k.add_argument("--device-id", required=True, help="the device's serial number")
    k.add_argument("--out", default=".", help="directory for ID.key and ID.pub")
    k.add_argument("--force", action="store_true", help="replace an existing key")
    k.add_argument("--json", action="store_true", help="print what was written as JSON")
    k.set_defaults(run=cmd_keygen)

    r = sub.add_parser(
        "record",
        help="run the recorder agent on this machine (Linux terminal port)",
        description="Run the device agent with a camera (an index such as 0) or a video file "
        "as the source: every frame gets the overlay burned in, is hashed at capture, chunked "
        "and signed into the store's ledger; media is written beside it, crash-safe. The "
        "store survives power loss: the next run recovers it and logs what was cut.",
        epilog="Example: sealcam record --camera street.avi --store rec/ --device-id SC-0001 "
        "--officer P-0427",
    )
    r.add_argument("--camera", required=True, help="camera index (0) or video file")
    r.add_argument("--store", required=True, help="the device's store directory")
    r.add_argument("--device-id", help="provision a key for this device on first use")
    r.add_argument("--key", help="the device's private key file (default STORE/device.key)")
    r.add_argument("--officer", default="", help="the officer's id, shown in the overlay")
    r.add_argument("--seconds", type=number_at_least(0), default=0, help="stop after this long")
    r.add_argument("--seal-to", help="encrypt media to this agency X25519 public key file")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(run=cmd_record)

    e = sub.add_parser(
        "enrol",
        help="enrol device public keys in an evidence store",
        description="Register devices with the host: a device whose key is not enrolled is "
        "refused at sync, and its footage is never stored.",
    )
    e.add_argument("--evidence", required=True, help="the evidence store directory")
    e.add_argument("keys", nargs="+", help="device public key files (ID.pub)")
    e.set_defaults(run=cmd_enrol)

    sy = sub.add_parser(
        "sync",
        help="collect footage from devices over TCP and serial",
        description="The sync daemon. For every device that connects it checks the device's "
        "enrolled key and proves the agency's own, sets the device clock (recording the "
        "drift), pulls new ledger entries and media, verifies every signature, chain link and "
        "media hash, stores them durably, and only then sends a signed receipt, after which "
        "the device may (after six months) free that media.",
        epilog="""\
output:
  On a terminal (stderr is one, and no --json) a live view on stderr shows one line per
  session: device, link, state (handshake, pulling, storing, receipt, done, failed), bytes
  done of the total, rate and time left, then a summary line. A session that ends stays
  there with its outcome for 10 s, then as a line above the view, where news such as
  "listening" goes too. Log lines still go to stdout when it is not that terminal.

  Otherwise stdout gets one line per event, "TIME EVENT key=value ...", or with --json one
  JSON object per line with "event", "time" (UTC) and these fields:
    listening      tcp: the address listened on
    port-found     port, description: a serial port matching --scan appeared
    port-error     port, reason: a serial port could not be opened
    state          link, device, state; reason when the state is failed
    authenticated  link, device, head_seq: the device proved its enrolled key
    clock          link, device, drift_ms: device clock minus host clock, before it is set
    progress       link, device, state, entries, media, bytes, total, rate_Bps, eta_s (at
                   most every 2 s; bytes are entries and media stored; total and eta_s
                   are null until the ledger is in and the media it needs known)
    refused        link, device, reason (and seq, for an entry out of bounds): verification
                   failed; nothing after it was stored
    bad-signature  link, device, seq: an entry's signature does not verify
    bad-media      link, device, reason: media does not match its signed hash
    media-gone     link, device, digest, reason, text: the device cannot give this media
                   (reason "not-found" or "damaged"; text is the device's own). Kept in
                   the evidence store for good; the receipt no longer waits for it, and
                   every later dock asks for it again
    frame-error    link, device, problem: a damaged frame was dropped (serial noise); a
                   burst is one line, then one with count and seconds at most every 3 s.
                   A link closes after 8 in a row on TCP (64 on serial) or an
                   impossible frame length
    turned-away    address, reason: a TCP connection closed at once, as 128 others (64
                   from its address) wait for authentication; a burst is summarised as
                   frame-error is
    store-error    link, device, reason: media of a broken-off session could not be kept,
                   or a session could not be recorded (the evidence store has no room)
    closed         link, device, code, reason: how the session's protocol ended
    session        link, device, result ("done" or why not; "disk-full: ..." when the
                   evidence store ran out of room: nothing half-stored, no receipt, dock
                   again once there is room), entries_stored,
                   media_stored, media_gone, bytes_stored, bytes_in, clock_drift_ms,
                   device_head (the next seq the device announced; a session that
                   stored less ends "ended short: ..."), seconds, rate_Bps: one per
                   session, when it ends
    anonymous      link, result: a TCP link closed before its peer named a device (no
                   session is kept, and none of its lines is written); a burst is
                   summarised as frame-error is
    summary        sessions, done, failed, entries_stored, media_stored, bytes_stored,
                   anonymous, seconds: the last line, when the daemon stops

example:
  sealcam sync --evidence /srv/evidence --host-key agency-host-1.key \\
      --tcp 127.0.0.1:7878 --scan ttyACM
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sy.add_argument("--evidence", required=True, help="the evidence store directory")
    sy.add_argument("--host-key", required=True, help="this host's private key file")
    sy.add_argument("--tcp", help="listen on HOST:PORT (loopback unless you say otherwise)")
    sy.add_argument("--serial", action="append", help="serve this serial port (repeatable)")
    sy.add_argument(
        "--scan",
        metavar="PATTERN",
        help="serve every serial port whose name contains PATTERN, including ones plugged in later",
    )
    sy.add_argument("--baud", type=int, default=921600, help="serial line rate")
    sy.add_argument("--once", action="store_true", help="stop after one session per link")
    sy.add_argument(
        "--idle",
        type=number_at_least(0, above=True),
        default=10,
        help="end a session after this many quiet seconds; the device's next dock resumes it",
    )
    sy.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line for each event below, and no live view",
    )
    sy.add_argument(
        "--clock-start",
        type=int,
        metavar="MS",
        help="for simulation: the host's clock reads this time (ms since the epoch) when the "
        "daemon starts, and runs at real speed; default: the system clock",
    )
    sy.add_argument(
        "--clock-at",
        type=int,
        metavar="MS",
        help="for simulation: the system time (ms since the epoch) at which the host's clock "
        "read --clock-start; default: when the daemon starts",
    )
    sy.set_defaults(run=cmd_sync)

    dk = sub.add_parser(
        "dock",
        help="sync a device store to a host (the device's side)",
        description="Run the device's side of a sync from its store: prove the device key, "
        "check the host against the pinned agency keys, serve entries and media, and log "
        "the host's receipt and time into the device's own ledger. A store has one writer: "
        "while sealcam record runs on it, the running recorder serves the dock (this command "
        "relays the link to it); beside any other writer the dock is refused (exit 2).",
        epilog="Exit codes: 0 the host confirmed the session with a receipt; 1 the host "
        "refused or ended it, or the link went after the host proved its key (dock again); "
        "2 nothing could be done (no listener, no such serial port, a bad key file, a host "
        "this device does not trust, a store another process writes).",
    )
    dk.add_argument("--store", required=True, help="the device's store directory")
    dk.add_argument(
        "--trust",
        action="append",
        required=True,
        help="an agency host public key file to pin (repeatable)",
    )
    dk.add_argument("--connect", help="the host's HOST:PORT")
    dk.add_argument("--serial", help="the serial port to the host")
    dk.add_argument("--baud", type=int, default=921600, help="serial line rate")
    dk.add_argument(
        "--idle",
        type=number_at_least(0, above=True),
        default=15,
        help="give up after this many quiet "
        "seconds (a frame lost to noise stalls a session; the next dock resumes)",
    )
    dk.add_argument("--json", action="store_true", help="print the outcome as JSON")
    dk.set_defaults(run=cmd_dock)

    d = sub.add_parser(
        "demo",
        help="the main job end to end: a virtual shift, docked, verified, tampered, exported",
        description="The main job end to end on the embedded defaults: a virtual recorder "
        "(the unchanged firmware on simulated hardware) works a shift with a pause and its "
        "spoken reason, docks with the host daemon over a pseudo-terminal, and the host "
        "verifies and judges it; the recording is exported as a video with its overlay; "
        "then one byte of the stored footage is changed and the report names the chunk.",
    )
    d.add_argument("--dir", default="sealcam-demo", help="where to write the files")
    d.add_argument("--json", action="store_true", help="print everything as one JSON document")
    d.set_defaults(run=cmd_demo)

    from host.export import add_parser as add_export_parser
    from host.flash import add_parser as add_flash_parser
    from simulator.command import add_parser as add_sim_parser

    add_export_parser(sub)
    add_flash_parser(sub)
    add_sim_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from host.evidence import StoreUnopenable

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageProblem as exc:
        print("sealcam %s: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except StoreUnopenable as exc:  # an evidence store that any command opens
        print("sealcam %s: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
