"""``sealcam record``: the recorder agent on this machine (the Linux terminal port)."""

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from host.cli.common import (
    EXIT_NOT_OK,
    EXIT_OK,
    UsageProblem,
    check_id,
    claim_store,
    load_key,
    number_at_least,
    read_regular,
)
from host.files import write_atomic
from protocol.keys import DeviceKey, encode_key
from protocol.signer import generate_seed, make_signer
from protocol.verify import verify_ledger

if TYPE_CHECKING:
    from firmware.storelock import StoreClaim


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
    agency = read_regular(args.seal_to, "agency public key") if args.seal_to else b""
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


def add_record(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam record``."""
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
