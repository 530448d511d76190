"""``sealcam keygen`` and ``sealcam enrol``: key pairs, and enrolling device public keys."""

import argparse
import json
from pathlib import Path

from host import i18n
from host.cli.common import (
    EXIT_OK,
    UsageProblem,
    check_id,
    load_key,
)
from host.files import os_why, write_atomic
from protocol.keys import DeviceKey, encode_key
from protocol.signer import generate_seed, make_signer

# What keygen prints for each kind of key pair: where each half goes. One message per kind,
# so a translation takes it whole.
DEVICE_KEY_TEXT = "keys.made_device"
HOST_KEY_TEXT = "keys.made_host"


def cmd_keygen(args: argparse.Namespace) -> int:
    kinds = [k for k in (args.device_id, args.host_id, args.agency) if k is not None]
    if len(kinds) > 1:
        raise UsageProblem(i18n.text("keys.one_kind"))
    if args.agency is not None:
        return cmd_keygen_agency(args)
    if not kinds:
        raise UsageProblem(i18n.text("keys.name_kind"))
    host = args.host_id is not None
    ident = args.host_id if host else args.device_id
    what = "host" if host else "device"
    what_id = i18n.N_("usage.what_host_id") if host else i18n.N_("usage.what_device_id")
    check_id(ident, what_id)
    if "/" in ident or "\0" in ident or ident.startswith("."):
        # The id names the key files: it must not lead them out of --out, or hide them.
        raise UsageProblem(i18n.text("keys.bad_file_id", what=i18n.text(what_id), ident=ident))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageProblem(i18n.text("keys.out_not_dir", path=out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(i18n.text("keys.cannot_make", path=out, why=os_why(exc))) from None
    seed = generate_seed()
    key = DeviceKey(ident, make_signer(seed).public_key(), seed)
    private = out / ("%s.key" % ident)
    public = out / ("%s.pub" % ident)
    if private.exists() and not args.force:
        exists = i18n.N_("keys.exists_host") if host else i18n.N_("keys.exists_device")
        raise UsageProblem(i18n.text(exists, path=private))
    write_atomic(private, encode_key(key), mode=0o600)
    write_atomic(public, encode_key(key.public_only()))
    if args.json:
        print(
            json.dumps(
                {
                    "kind": what,
                    "%s_id" % what: key.device_id,
                    "public_key": key.public.hex(),
                    "private_key_file": str(private),
                    "public_key_file": str(public),
                }
            )
        )
    elif host:
        print(i18n.text(HOST_KEY_TEXT, ident=ident, key=key.public[:8].hex(), private=private,
                        public=public))  # fmt: skip
    else:
        print(i18n.text(DEVICE_KEY_TEXT, ident=ident, key=key.public[:8].hex(), private=private,
                        public=public))  # fmt: skip
    return EXIT_OK


def cmd_keygen_agency(args: argparse.Namespace) -> int:
    """The agency's signing certificate chain and seal key pair (``host.agencykeys``)."""
    from host import agencykeys

    files = agencykeys.make_agency(args.agency, args.country)
    out = Path(args.out)
    written = agencykeys.write_agency(out, files, args.force)
    ident = agencykeys.SigningIdentity(
        files[agencykeys.SIGN_CERT], None, str(out)
    )  # the certificate's facts, for the summary
    seal = files[agencykeys.SEAL_PUB]
    if args.json:
        print(
            json.dumps(
                {
                    "agency": agencykeys.check_name(args.agency),
                    "signing_certificate": {
                        "subject": ident.subject,
                        "issuer": ident.issuer,
                        "fingerprint": ident.fingerprint,
                        "expires": ident.expires.isoformat(),
                    },
                    "seal_public_key": seal.hex(),
                    "files": {p.name: str(p) for p in written},
                },
                ensure_ascii=False,
            )
        )
    else:
        print(
            i18n.text(
                "keys.made_agency",
                agency=agencykeys.check_name(args.agency),
                subject=ident.subject,
                fingerprint=ident.fingerprint,
                until=ident.expires.date(),
                sign_cert=out / agencykeys.SIGN_CERT,
                sign_key=out / agencykeys.SIGN_KEY,
                out=out,
                ca_cert=out / agencykeys.CA_CERT,
                ca_key=out / agencykeys.CA_KEY,
                seal=agencykeys.fingerprint(seal),
                seal_pub=out / agencykeys.SEAL_PUB,
                seal_key=out / agencykeys.SEAL_KEY,
            )
        )
    return EXIT_OK


def cmd_enrol(args: argparse.Namespace) -> int:
    from host.cli.scaleout import open_store
    from host.evidence import EvidenceError

    keys = [load_key(path) for path in args.keys]
    for path, key in zip(args.keys, keys, strict=True):
        if key.seed:  # the private half must stay where it was made, never in the store
            public = Path(path).with_suffix(".pub")
            raise UsageProblem(i18n.text("keys.enrol_private", path=path, public=public))
        check_id(
            key.device_id, i18n.text("keys.what_key_device", path=path)
        )  # before any is enrolled
    store = open_store(args.evidence, args.media)
    try:
        for key in keys:
            try:
                store.enrol(key.device_id, key.public)
            except EvidenceError as exc:
                raise UsageProblem(str(exc)) from None
            print(i18n.text("keys.enrolled", device=key.device_id, key=key.public[:8].hex()))
    finally:
        store.close()
    return EXIT_OK


def add_keygen(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam keygen``."""
    k = sub.add_parser(
        "keygen",
        help="make a device's or the sync host's key pair, or the agency's keys",
        description="Make an Ed25519 key pair for a device. A real recorder makes its own key "
        "at provisioning and never lets the private half out; this command is for simulated "
        "devices and test benches. With --host-id ID, make the sync host's key pair: sealcam sync "
        "signs receipts and checkpoints with its private half, and devices pin its public "
        "half. With --agency NAME, make the agency's keys instead: a "
        "small certification authority and the signing certificate it issues (the X.509 "
        "profile C2PA requires) for the Content Credentials on exports, and the X25519 key "
        "pair recorders seal footage to (R-DEV-3). Private keys are written mode 0600.",
        epilog="Examples: sealcam keygen --device-id SC-0001 --out keys/; sealcam keygen "
        "--host-id agency-host-1 --out keys/; sealcam keygen --agency '某市公安局' --out agency/",
    )
    k.add_argument("--device-id", help="make a device's key pair; the device's serial number")
    k.add_argument(
        "--host-id",
        metavar="ID",
        help="make the sync host's key pair (it signs receipts and checkpoints; devices pin "
        "its public half); the host's id",
    )
    k.add_argument(
        "--agency",
        metavar="NAME",
        help="make the agency's keys (agency-ca.pem/.key, agency-sign.pem/.key, "
        "agency-seal.pub/.key) for the agency of this name",
    )
    k.add_argument(
        "--country",
        default="CN",
        help="with --agency: the agency's country in its certificates (default CN)",
    )
    k.add_argument("--out", default=".", help="directory for the key files")
    k.add_argument("--force", action="store_true", help="replace existing keys")
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
    from host.cli.scaleout import add_media_option

    e.add_argument(
        "--evidence",
        required=True,
        help="the evidence store directory, or postgresql://... with --media",
    )
    add_media_option(e)
    e.add_argument(
        "keys", nargs="+", help="device public key files (ID.pub; a private key is refused)"
    )
    e.set_defaults(run=cmd_enrol)
