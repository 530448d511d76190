"""The ``sealcam`` command: one entry point, a subcommand per job."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from host.files import write_atomic
from host.progress import Progress
from host.report_text import render
from protocol.errors import ProtocolError
from protocol.keys import DeviceKey, decode_key, encode_key
from protocol.signer import generate_seed, make_signer
from protocol.verify import verify_ledger

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_UNUSABLE = 2


class UsageProblem(Exception):
    """Input the command cannot use at all; the message says what to do."""


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageProblem("%s %s does not exist" % (what, path)) from None
    except IsADirectoryError:
        raise UsageProblem("%s %s is a directory, not a file" % (what, path)) from None
    except OSError as exc:
        raise UsageProblem("cannot read %s %s: %s" % (what, path, exc.strerror)) from None


def load_key(path: str) -> DeviceKey:
    try:
        return decode_key(_read(path, "key file"))
    except ProtocolError as exc:
        raise UsageProblem("%s: %s" % (path, exc)) from None


def cmd_verify(args: argparse.Namespace) -> int:
    path = Path(args.ledger)
    if path.is_dir() and (path / "evidence.db").exists():
        return verify_evidence(path, args)
    if path.is_dir() and (path / "ledger").is_dir():
        from firmware.store import ledger_bytes

        data = ledger_bytes(str(path))
    elif path.is_dir():
        raise UsageProblem(
            "%s is a directory but neither a device store (ledger/) nor an evidence store "
            "(evidence.db)" % path
        )
    else:
        data = _read(args.ledger, "ledger")
    if not args.key:
        raise UsageProblem("a ledger file or device store needs --key DEVICE.pub to check it")
    key = load_key(args.key)
    progress = Progress("verifying %s" % args.ledger, len(data))
    report = verify_ledger(data, key.device_id, key.public, progress.update)
    progress.close()
    if args.json:
        print(json.dumps(dict(report.to_dict(), ledger=args.ledger), indent=2))
    else:
        print(render(report, args.ledger))
    return EXIT_OK if report.ok else EXIT_NOT_OK


def verify_evidence(path: Path, args: argparse.Namespace) -> int:
    """Every enrolled device in an evidence store: verdict, compliance flags, recordings."""
    from host import compliance, timeline
    from host.evidence import SqliteEvidenceStore
    from protocol.ledger import parse_entry

    store = SqliteEvidenceStore(path)
    devices = [args.device] if args.device else store.devices()
    results = []
    ok = True
    for device in devices:
        public = store.device_key(device)
        if public is None:
            raise UsageProblem("device %s is not enrolled in %s" % (device, path))
        raws = store.entries(device)
        report = verify_ledger(b"".join(raws), device, public)
        entries = [parse_entry(r) for r in raws]
        received = {e.seq: store.received_ms(device, e.seq) for e in entries}
        flags = compliance.check(entries, received)
        recs = timeline.recordings(entries)
        ok = ok and report.ok
        results.append((device, report, flags, recs))
    store.close()
    if args.json:
        print(
            json.dumps(
                [
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
                indent=2,
                default=str,
            )
        )
    else:
        for device, report, flags, recs in results:
            print(render(report, "%s (device %s)" % (path, device)))
            print("Compliance  %s" % ("no flags" if not flags else "%d flag(s)" % len(flags)))
            for f in flags:
                print("  %-30s %-9s %s" % (f.code, f.rule, f.message))
            for line in timeline.render(recs):
                print(line)
            print()
    return EXIT_OK if ok else EXIT_NOT_OK


def cmd_record(args: argparse.Namespace) -> int:
    from firmware.errors import FirmwareError
    from firmware.hal import Indicators
    from firmware.ports.cpython import record
    from firmware.store import Store

    store = Path(args.store)
    store.mkdir(parents=True, exist_ok=True)
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
        )
    except FirmwareError as exc:
        raise UsageProblem(str(exc)) from None
    ledger = b"".join(Store(str(store)).entries())
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
            "device %s\n  private key %s (keep on the device)\n  public key  %s (enrol on "
            "the host)" % (key.device_id, private, public)
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Sign a short shift into a ledger, verify it, change one byte, verify again."""
    from simulator.shift import write_shift

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    device = "SC-DEMO-0001"
    seed = generate_seed()
    key = DeviceKey(device, make_signer(seed).public_key(), seed)
    write_atomic(out / ("%s.pub" % device), encode_key(key.public_only()))
    entries = write_shift(make_signer(seed), device, int(time.time() * 1000), "officer-0427")
    ledger = out / "shift.ledger"
    write_atomic(ledger, b"".join(entries))
    good = verify_ledger(ledger.read_bytes(), device, key.public)

    tampered = bytearray(ledger.read_bytes())
    victim = sum(len(e) for e in entries[:10]) + len(entries[10]) // 2
    tampered[victim] ^= 0x01
    bad_path = out / "shift-tampered.ledger"
    write_atomic(bad_path, bytes(tampered))
    bad = verify_ledger(bytes(tampered), device, key.public)

    if args.json:
        print(
            json.dumps(
                {"original": good.to_dict(), "tampered": bad.to_dict(), "changed_byte": victim},
                indent=2,
            )
        )
    else:
        print("Signed a %d-entry shift into %s.\n" % (len(entries), ledger))
        print(render(good, str(ledger)))
        print("\nChanged one bit of byte %d and verified again:\n" % victim)
        print(render(bad, str(bad_path)))
        print("\nTry it yourself: sealcam verify %s --key %s" % (bad_path, out / (device + ".pub")))
    return EXIT_OK if good.ok and not bad.ok else EXIT_NOT_OK


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
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(run=cmd_verify)

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
    r.add_argument("--seconds", type=float, default=0, help="stop after this long")
    r.add_argument("--seal-to", help="encrypt media to this agency X25519 public key file")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(run=cmd_record)

    d = sub.add_parser(
        "demo",
        help="sign a short shift, verify it, tamper with it, verify again",
        description="The smallest real job end to end: a scripted shift (self-check, "
        "announcement, recording, a pause with a spoken reason) is signed into a ledger, "
        "verified, then one byte is changed and the verifier shows exactly where.",
    )
    d.add_argument("--dir", default="sealcam-demo", help="where to write the files")
    d.add_argument("--json", action="store_true", help="print both reports as JSON")
    d.set_defaults(run=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageProblem as exc:
        print("sealcam %s: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
