"""``sealcam keygen`` and ``sealcam enrol``: key pairs, and enrolling device public keys."""

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from host.cli.common import (
    EXIT_OK,
    UsageProblem,
    check_id,
    load_key,
)
from host.files import write_atomic
from protocol.keys import DeviceKey, encode_key
from protocol.signer import generate_seed, make_signer

if TYPE_CHECKING:
    pass


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


def add_keygen(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam keygen``."""
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


def add_enrol(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam enrol``."""
    e = sub.add_parser(
        "enrol",
        help="enrol device public keys in an evidence store",
        description="Register devices with the host: a device whose key is not enrolled is "
        "refused at sync, and its footage is never stored.",
    )
    e.add_argument("--evidence", required=True, help="the evidence store directory")
    e.add_argument("keys", nargs="+", help="device public key files (ID.pub)")
    e.set_defaults(run=cmd_enrol)
