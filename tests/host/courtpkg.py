"""A court package written from docs/court-package.md alone, for the offline page's tests:
one fMP4 recording (tests/host/fmp4.py), its entries and inclusion proofs in a host log of
its own, the device key and enrolment, a custody excerpt, the signed manifest and its JSON.

It is a second writer of the format, independent of the package builder, so the page is
held to the document and not only to one implementation of it."""

import hashlib
import json
from pathlib import Path

from host import hostlog, tlog
from host.court.verifier import write_page
from protocol import cbor, cose
from protocol.keys import encode_key
from protocol.signer import make_signer
from tests.host.fmp4 import OFFICER, Recording
from tests.protocol.helpers import DEVICE, device_key

HOST_SEED = bytes(range(50, 82))
HOST_NAME = "agency-host-1"
ORIGIN = "sealcam.example/host-log"


class _NoteSigner:
    def __init__(self, seed: bytes) -> None:
        self._s = make_signer(seed)

    def sign(self, message: bytes) -> bytes:
        return self._s.sign(message)

    def public_key(self) -> bytes:
        return self._s.public_key()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_package(out: Path, rec: Recording, host_seed: bytes = HOST_SEED) -> Path:
    """Write the package of ``rec`` into the new folder ``out``; return ``out``."""
    out.mkdir(parents=True)
    signer = _NoteSigner(host_seed)
    host_pub = signer.public_key()
    dev_pub = device_key().public
    entries = rec.entries[1:]  # from the record-start: entries[0] is the boot before it
    # The host log: the device's enrolment, then every entry of the recording.
    leaves = [hostlog.device_leaf(DEVICE, dev_pub)]
    leaves += [hostlog.entry_leaf(DEVICE, e.seq, e.digest) for e in entries]
    audit = hostlog.audit_leaf(
        (1, 1_700_000_000_000, "li", "view", DEVICE + "/1", "ok", b"\xa0", bytes(32))
    )
    leaves.append(audit)
    hashes = [tlog.leaf_hash(x) for x in leaves]
    size = len(hashes)
    root = tlog.root_of(hashes)
    note = tlog.sign_checkpoint(tlog.Checkpoint(ORIGIN, size, root), HOST_NAME, signer)

    def proof(i: int) -> list:
        return [p.hex() for p in tlog.inclusion_proof(hashes, i, size)]

    files: dict = {}

    def put(path: str, data: bytes, category: str, fmt: str, what: str, what_zh: str) -> None:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(data)
        files[path] = {
            "path": path,
            "category": category,
            "format": fmt,
            "bytes": len(data),
            "sha256": _sha(data),
            "what": what,
            "what_zh": what_zh,
        }

    def put_json(path: str, value: object, category: str, what: str, what_zh: str) -> None:
        data = json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
        put(path, data, category, "JSON", what, what_zh)

    put(
        "host/checkpoint.txt",
        note,
        "checkpoint",
        "C2SP signed note",
        "log checkpoint",
        "日志检查点",
    )
    put(
        "host/host-key.txt",
        (tlog.verifier_key(HOST_NAME, host_pub) + "\n").encode(),
        "host-key",
        "C2SP verifier key",
        "host key",
        "主机公钥",
    )
    put(
        "keys/d01.cose",
        encode_key(device_key().public_only()),
        "device-key",
        "COSE_Key",
        "device key",
        "设备公钥",
    )
    put_json(
        "keys/d01.json",
        {
            "device": DEVICE,
            "public_key": dev_pub.hex(),
            "leaf_index": 0,
            "proof": proof(0),
            "tree_size": size,
        },
        "enrolment",
        "enrolment",
        "设备登记",
    )
    put(
        "r01/entries.cbor",
        b"".join(e.raw for e in entries),
        "ledger",
        "CBOR sequence",
        "signed entries",
        "签名日志",
    )
    put_json(
        "r01/proofs.json",
        {
            "tree_size": size,
            "root": root.hex(),
            "entries": [
                {"seq": e.seq, "leaf_index": i + 1, "proof": proof(i + 1)}
                for i, e in enumerate(entries)
            ],
        },
        "proof",
        "inclusion proofs",
        "包含证明",
    )
    put_json(
        "r01/custody.json",
        {
            "item": DEVICE + "/1",
            "records": [
                {
                    "seq": 1,
                    "at_ms": 1_700_000_000_000,
                    "actor": "li",
                    "action": "view",
                    "item": DEVICE + "/1",
                    "outcome": "ok",
                    "details": {},
                    "leaf": audit.hex(),
                    "leaf_index": size - 1,
                    "proof": proof(size - 1),
                }
            ],
        },
        "custody",
        "custody excerpt",
        "保管记录",
    )
    # The video: the signed init segment and fragments end to end, byte for byte.
    video = bytearray()
    chunks = []
    for e in rec.chunks:
        data = rec.media[e.fields[15]]
        chunks.append(
            {
                "seq": e.seq,
                "index": e.fields[9],
                "media": "video/mp4-init" if e.fields[13] == 7 else "video/mp4",
                "sha256": e.fields[15].hex(),
                "role": "init" if e.fields[13] == 7 else "footage",
                "included": True,
                "file": "r01/video.mp4",
                "offset": len(video),
                "bytes": len(data),
            }
        )
        video += data
    put("r01/video.mp4", bytes(video), "original", "MP4, H.264 + AAC", "recording", "录像")
    write_page(out)
    page = (out / "verify.html").read_bytes()
    (out / "verify.html").unlink()
    put("verify.html", page, "verifier", "HTML", "offline verifier", "离线核验页面")
    put("note.html", "<p>文字说明材料 Note</p>".encode(), "note", "HTML", "note", "文字说明")
    first, last = entries[0], entries[-1]
    manifest = {
        "format": "sealcam-court-package",
        "version": 1,
        "package_id": "00" * 16,
        "created_ms": 1_765_000_000_000,
        "created": "2025-12-06 13:46:40 UTC+8",
        "time_zone": "Asia/Shanghai",
        "tool": "tests",
        "case": {"number": "2026-0042", "title": "某路口纠纷 dispute at a crossing"},
        "extractor": {"user": "li", "name": "李伟 Li Wei (li)", "roles": ["evidence-officer"]},
        "place": "某市公安局证据室",
        "purpose": "",
        "host": {
            "key_file": "host/host-key.txt",
            "name": HOST_NAME,
            "public_key": host_pub.hex(),
            "fingerprint": host_pub[:8].hex(),
        },
        "checkpoint": {
            "file": "host/checkpoint.txt",
            "origin": ORIGIN,
            "size": size,
            "root": root.hex(),
        },
        "devices": [
            {
                "id": DEVICE,
                "key_file": "keys/d01.cose",
                "enrolment_file": "keys/d01.json",
                "public_key": dev_pub.hex(),
                "fingerprint": dev_pub[:8].hex(),
            }
        ],
        "recordings": [
            {
                "item": DEVICE + "/1",
                "device": DEVICE,
                "number": 1,
                "recording_id": rec.rec_id.hex(),
                "dir": "r01",
                "entries_file": "r01/entries.cbor",
                "proofs_file": "r01/proofs.json",
                "custody_file": "r01/custody.json",
                "approval_file": None,
                "officer": OFFICER,
                "started_ms": first.fields[4],
                "ended_ms": last.fields[4],
                "mode": "fmp4",
                "first_seq": first.seq,
                "last_seq": last.seq,
                "range": None,
                "playable": {"file": "r01/video.mp4", "kind": "signed-fragments"},
                "proves": ["纠纷经过 what happened at the crossing"],
                "category": None,
                "restricted": None,
                "chunks": chunks,
                "pauses": [],
            }
        ],
        "files": [files[k] for k in sorted(files)],
        "not_included": [],
    }
    payload = cbor.dumps(manifest)
    kid = HOST_NAME.encode()
    protected = cose.protected_header(kid)
    sig = make_signer(host_seed).sign(cose.to_be_signed(protected, payload))
    (out / "manifest.cbor").write_bytes(cose.encode_sign1(protected, payload, sig))
    (out / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, ensure_ascii=False))
    return out
