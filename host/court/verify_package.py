#!/usr/bin/env python3
"""Check a sealcam court package, offline: python3 verify.py [PACKAGE_FOLDER]

What it needs: Python 3.10 or newer and PyNaCl (``pip install pynacl``, for Ed25519); nothing
else, no network, and nothing of sealcam. Without a folder it checks the folder it lies in.

It checks what the package's format (sealcam's docs/court-package.md) says a verifier
checks: the manifest's signature by the host key, every file's size and SHA-256, the host
log's signed checkpoint, each device key's enrolment, every ledger entry's signature and
hash-chain link from record-start to record-stop, every chunk of footage against the
SHA-256 the device signed, an inclusion proof to the checkpoint for every entry and every
custody record, and the approval of restricted footage. It prints OK, or NOT OK naming
each item that failed, in Chinese and English; exit 0 for OK, 1 for NOT OK, 2 when the
folder is no package.

此脚本离线核验 sealcam 法庭证据包：需要 Python 3.10 及以上和 PyNaCl，无需联网，也不需要 sealcam。
结果为"通过"（OK）或"不通过"（NOT OK）并指明出问题的文件或录像。
"""

import hashlib
import json
import os
import sys
from typing import Any, BinaryIO

FORMAT = "sealcam-court-package"
VERSION = 1
MANIFEST = "manifest.cbor"
MANIFEST_JSON = "manifest.json"
SIGN1_TAG = 18
ALG_EDDSA = -8
READ_SIZE = 1 << 20

# Ledger payload keys (sealcam protocol/registry.py).
F_DEVICE, F_SEQ, F_PREV, F_KIND = 1, 2, 3, 7
F_RECORDING, F_CHUNK_INDEX, F_MEDIA_TYPE, F_PLAIN_SHA = 8, 9, 13, 15
F_EVENT, F_REASON, F_SPOKEN = 19, 20, 21
KIND_CHUNK = 0
EV_RECORD_START, EV_RECORD_STOP, EV_PAUSE, EV_RESUME = 3, 4, 7, 8
MEDIA_MP4_INIT = 7

# Finding codes: what failed (NOT OK), and what is told without failing (information).
FAILURES = (
    "unreadable",
    "manifest",
    "manifest-signature",
    "manifest-json",
    "file-missing",
    "file-changed",
    "checkpoint",
    "device-key",
    "enrolment",
    "ledger",
    "broken-chain",
    "bad-signature",
    "unsigned-tail",
    "chunk-list",
    "chunk-missing",
    "chunk-changed",
    "inclusion",
    "custody",
    "approval",
)
INFORMATION = ("extra-file", "left-out", "no-stop")

# One line per code, Chinese then English; {item} names the file or recording, {detail}
# says more.
TEXTS = {
    "unreadable": ("无法读取：{item}（{detail}）", "cannot read {item} ({detail})"),
    "manifest": ("清单不符合格式：{detail}", "the manifest is not as the format says: {detail}"),
    "manifest-signature": (
        "清单签名无效：{detail}",
        "the manifest's signature does not verify: {detail}",
    ),
    "manifest-json": (
        "manifest.json 与签名的清单不一致",
        "manifest.json differs from the signed manifest",
    ),
    "file-missing": ("文件缺失：{item}", "file missing: {item}"),
    "file-changed": ("文件已被改动：{item}（{detail}）", "file changed: {item} ({detail})"),
    "checkpoint": ("主机日志检查点无效：{detail}", "the host log's checkpoint is bad: {detail}"),
    "device-key": (
        "设备公钥不符：{item}（{detail}）",
        "device key does not match: {item} ({detail})",
    ),
    "enrolment": (
        "设备登记无法证明：{item}（{detail}）",
        "device enrolment not proven: {item} ({detail})",
    ),
    "ledger": (
        "录像 {item} 的签名记录有误：{detail}",
        "recording {item}: its ledger is bad: {detail}",
    ),
    "broken-chain": (
        "录像 {item} 的哈希链断裂：{detail}",
        "recording {item}: the hash chain is broken: {detail}",
    ),
    "bad-signature": (
        "录像 {item} 的签名无效：{detail}",
        "recording {item}: a signature does not verify: {detail}",
    ),
    "unsigned-tail": (
        "录像 {item} 的最后一条记录未签名",
        "recording {item}: its last entry is not signed",
    ),
    "chunk-list": (
        "录像 {item} 的片段清单与签名记录不符：{detail}",
        "recording {item}: the chunk list differs from the signed entries: {detail}",
    ),
    "chunk-missing": (
        "录像 {item} 缺少片段：{detail}",
        "recording {item}: a chunk is missing: {detail}",
    ),
    "chunk-changed": (
        "录像 {item} 的片段已被改动：{detail}",
        "recording {item}: a chunk was changed: {detail}",
    ),
    "inclusion": (
        "录像 {item} 的记录不在主机日志中：{detail}",
        "recording {item}: entries not proven in the host log: {detail}",
    ),
    "custody": (
        "录像 {item} 的保管记录无法证明：{detail}",
        "recording {item}: custody not proven: {detail}",
    ),
    "approval": (
        "录像 {item} 的审批无法证明：{detail}",
        "recording {item}: approval not proven: {detail}",
    ),
    "extra-file": ("清单未列出的文件：{item}", "a file the manifest does not list: {item}"),
    "left-out": (
        "录像 {item} 为部分导出：{detail}",
        "recording {item} is exported in part: {detail}",
    ),
    "no-stop": (
        "录像 {item} 没有停止记录（断电等）",
        "recording {item} has no record-stop (a power loss?)",
    ),
}


class Said(ValueError):
    """Why a check failed, in English (``str``, the ``detail`` of the JSON) and in Chinese
    (``zh``): this script carries no catalogue, and its reader may read either language."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


def zh_of(exc: BaseException) -> str:
    """What ``exc`` says in Chinese where it says it (``Said``); its own words otherwise."""
    return getattr(exc, "zh", "") or str(exc)


class Unusable(Exception):
    """The folder is not a package that can be checked at all (exit 2); ``zh`` says why in
    Chinese."""

    def __init__(self, en: str, zh: str = "") -> None:
        super().__init__(en)
        self.zh = zh or en


class Finding:
    def __init__(
        self, code: str, item: str, detail: str = "", detail_zh: str = "", **fields: Any
    ) -> None:
        self.code = code
        self.item = item
        self.detail = detail
        self.detail_zh = detail_zh or detail
        self.fields = fields

    @property
    def failed(self) -> bool:
        return self.code in FAILURES

    def text(self, lang: str = "en") -> str:
        zh, en = TEXTS[self.code]
        if lang == "zh":
            return zh.format(item=self.item, detail=self.detail_zh)
        return en.format(item=self.item, detail=self.detail)

    def to_dict(self) -> dict:
        return dict(self.fields, code=self.code, item=self.item, detail=self.detail)


# --- reading the package: a folder, or anything that opens its files by path ---------------


class Folder:
    """The package's files in a folder on disc."""

    def __init__(self, root: str) -> None:
        self.root = root

    def _path(self, rel: str) -> str:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise Said(
                "a path in the manifest leaves the package: %r" % rel,
                "清单中的路径指向证据包之外：%r" % rel,
            )
        return os.path.join(self.root, *rel.split("/"))

    def open(self, rel: str) -> BinaryIO | None:
        try:
            return open(self._path(rel), "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def names(self) -> list[str]:
        out = []
        for top, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                rel = os.path.relpath(os.path.join(top, name), self.root)
                out.append(rel.replace(os.sep, "/"))
        return out


def read_all(files: Any, rel: str) -> bytes | None:
    fh = files.open(rel)
    if fh is None:
        return None
    with fh:
        return fh.read()


# --- CBOR, as much as the package needs ----------------------------------------------------


class Tag:
    def __init__(self, tag: int, value: Any) -> None:
        self.tag = tag
        self.value = value


class CborError(Said):
    """Bytes that are not the CBOR this script reads."""


def cbor_item(data: bytes, pos: int = 0, depth: int = 0) -> tuple[Any, int]:
    """One CBOR data item at ``pos``: (value, position after it). Definite lengths only."""
    if depth > 64:
        raise CborError("nested too deep", "嵌套过深")
    if pos >= len(data):
        raise CborError("ends early", "提前结束")
    head = data[pos]
    major, ai = head >> 5, head & 31
    pos += 1
    if ai < 24:
        n = ai
    elif ai <= 27:
        size = 1 << (ai - 24)
        if pos + size > len(data):
            raise CborError("ends early", "提前结束")
        if major == 7 and ai in (25, 26, 27):
            raise CborError("floats are not used", "不使用浮点数")
        n = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    else:
        raise CborError("indefinite or reserved length", "不定长度或保留的长度")
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major in (2, 3):
        if pos + n > len(data):
            raise CborError("ends early", "提前结束")
        raw = data[pos : pos + n]
        return (bytes(raw) if major == 2 else raw.decode("utf-8")), pos + n
    if major == 4:
        items = []
        for _ in range(n):
            value, pos = cbor_item(data, pos, depth + 1)
            items.append(value)
        return items, pos
    if major == 5:
        out: dict[Any, Any] = {}
        for _ in range(n):
            key, pos = cbor_item(data, pos, depth + 1)
            value, pos = cbor_item(data, pos, depth + 1)
            if isinstance(key, (list, dict)):
                raise CborError("a map key that is an array or a map", "映射的键是数组或映射")
            out[key] = value
        return out, pos
    if major == 6:
        value, pos = cbor_item(data, pos, depth + 1)
        return Tag(n, value), pos
    simple = {20: False, 21: True, 22: None}
    if ai in simple:
        return simple[ai], pos
    raise CborError("an unknown simple value", "未知的简单值")


def cbor_one(data: bytes) -> Any:
    value, end = cbor_item(data)
    if end != len(data):
        raise CborError("bytes after the item", "数据项之后还有字节")
    return value


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise CborError("too large", "过大")


def cbor_encode(value: Any) -> bytes:
    """Deterministic CBOR of integers, bytes, text, arrays and None (leaves, Sig_structure)."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    raise CborError("cannot encode %r" % type(value).__name__, "无法编码 %r" % type(value).__name__)


# --- signatures and proofs ------------------------------------------------------------------


def ed25519_ok(public: bytes, message: bytes, signature: bytes) -> bool:
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        VerifyKey(public).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor_encode(["Signature1", protected, b"", payload])


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf)


def inclusion_ok(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether ``proof`` leads leaf number ``index`` to ``root``."""
    if not (isinstance(index, int) and isinstance(size, int) and 0 <= index < size):
        return False
    fn, sn = index, size - 1
    node = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0 or len(sibling) != 32:
            return False
        if fn & 1 or fn == sn:
            node = sha256(b"\x01" + sibling + node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = sha256(b"\x01" + node + sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


def _hexes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise Said("a proof is a list of hex hashes", "证明应为十六进制哈希的列表")
    return [bytes.fromhex(v) for v in values]


def parse_vkey(text: str) -> tuple[str, bytes]:
    """A C2SP verifier key ``NAME+KEYID+BASE64`` -> (name, Ed25519 public key)."""
    import base64
    import binascii

    name, _, rest = text.strip().partition("+")
    key_id, _, encoded = rest.partition("+")
    try:
        material = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Said("the host key is not base64", "主机密钥不是 base64") from None
    if not name or len(material) != 33 or material[:1] != b"\x01":
        raise Said("the host key is not an Ed25519 verifier key", "主机密钥不是 Ed25519 校验密钥")
    public = material[1:]
    if sha256(name.encode() + b"\n\x01" + public)[:4].hex() != key_id:
        raise Said(
            "the host key's ID does not match its name and key", "主机密钥的 ID 与其名称和密钥不符"
        )
    return name, public


def open_checkpoint(note: bytes, name: str, public: bytes) -> tuple[str, int, bytes]:
    """(origin, size, root) of a C2SP signed checkpoint once the host key's signature
    verifies; ValueError otherwise."""
    import base64

    text = note.decode("utf-8")
    split = text.rfind("\n\n")
    if split < 0:
        raise Said("no blank line before the signatures", "签名之前没有空行")
    body = text[: split + 1]
    key_id = sha256(name.encode() + b"\n\x01" + public)[:4]
    found = False
    for line in text[split + 2 :].splitlines():
        if not line.startswith("\u2014 "):
            raise Said(
                "a signature line does not start with an em dash", "签名行不是以长破折号开头"
            )
        signer, _, encoded = line[2:].partition(" ")
        raw = base64.b64decode(encoded, validate=True)
        if signer == name and raw[:4] == key_id:
            if not ed25519_ok(public, body.encode("utf-8"), raw[4:]):
                raise Said("the host key's signature does not verify", "主机密钥的签名无效")
            found = True
    if not found:
        raise Said("no signature by the host key", "没有主机密钥的签名")
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        raise Said("not a checkpoint (origin, size, root)", "不是检查点（来源、大小、根哈希）")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Said("the root is not 32 bytes", "根哈希不是 32 字节")
    return lines[0], int(lines[1]), root


# --- the checks -------------------------------------------------------------------------------


class Entry:
    def __init__(self, raw: bytes, protected: bytes, payload: bytes, signature: bytes) -> None:
        self.raw = raw
        self.protected = protected
        self.payload = payload
        self.signature = signature
        self.digest = sha256(raw)
        fields = cbor_one(payload)
        if not isinstance(fields, dict):
            raise CborError("a payload that is not a map", "内容不是映射")
        self.fields: dict[int, Any] = fields
        header = cbor_one(protected)
        if not isinstance(header, dict) or header.get(1) != ALG_EDDSA:
            raise CborError("a protected header that is not EdDSA", "受保护头部不是 EdDSA")
        self.kid = header.get(4)

    @property
    def seq(self) -> Any:
        return self.fields.get(F_SEQ)


def parse_sign1(value: Any) -> tuple[bytes, bytes, bytes]:
    if not isinstance(value, Tag) or value.tag != SIGN1_TAG:
        raise CborError("not a COSE_Sign1 message (tag 18)", "不是 COSE_Sign1 消息（标签 18）")
    parts = value.value
    if not (isinstance(parts, list) and len(parts) == 4 and isinstance(parts[1], dict)):
        raise CborError("a COSE_Sign1 message has four parts", "COSE_Sign1 消息应有四个部分")
    protected, _, payload, signature = parts
    if not all(isinstance(p, bytes) for p in (protected, payload, signature)):
        raise CborError("a COSE_Sign1 part that is not bytes", "COSE_Sign1 的某部分不是字节串")
    return protected, payload, signature


def parse_entries(data: bytes) -> list[Entry]:
    out = []
    pos = 0
    while pos < len(data):
        value, end = cbor_item(data, pos)
        protected, payload, signature = parse_sign1(value)
        out.append(Entry(data[pos:end], protected, payload, signature))
        pos = end
    return out


def hash_file(fh: BinaryIO, length: int | None = None) -> tuple[str, int]:
    """(SHA-256 hex, bytes read) of ``fh`` from where it stands, ``length`` bytes or to EOF."""
    h = hashlib.sha256()
    count = 0
    while length is None or count < length:
        want = READ_SIZE if length is None else min(READ_SIZE, length - count)
        block = fh.read(want)
        if not block:
            break
        h.update(block)
        count += len(block)
    return h.hexdigest(), count


def hash_with_ranges(fh: BinaryIO, ranges: list) -> tuple[str, int, dict]:
    """(SHA-256 hex, bytes) of the whole file and, in the same read, ``{(offset, length):
    (SHA-256 hex, bytes found)}`` of each byte range: a chunk is hashed with its file, not
    read a second time."""
    whole = hashlib.sha256()
    todo = sorted({(int(o), int(n)) for o, n in ranges})
    hashers = {r: hashlib.sha256() for r in todo}
    found = dict.fromkeys(todo, 0)
    first = 0  # the first range not yet wholly read
    pos = 0
    while True:
        block = fh.read(READ_SIZE)
        if not block:
            break
        whole.update(block)
        end = pos + len(block)
        i = first
        while i < len(todo) and todo[i][0] < end:
            start, length = todo[i]
            lo, hi = max(start, pos), min(start + length, end)
            if lo < hi:
                hashers[todo[i]].update(block[lo - pos : hi - pos])
                found[todo[i]] += hi - lo
            if i == first and start + length <= end:
                first += 1
            i += 1
        pos = end
    return whole.hexdigest(), pos, {r: (hashers[r].hexdigest(), found[r]) for r in todo}


class Report:
    """What a check found: the findings, and each recording's state and timeline."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.recordings: list[dict] = []
        self.host_fingerprint = ""
        self.checkpoint: dict | None = None
        self.files = 0
        self.ranges: dict = {}  # (path, offset, length) -> (SHA-256 hex, bytes found)

    def add(
        self, code: str, item: str, detail: "str | BaseException" = "", zh: str = "", **fields: Any
    ) -> None:
        """A finding; ``detail`` in English, ``zh`` the same in Chinese (or an exception
        that says both)."""
        if isinstance(detail, BaseException):
            zh = zh_of(detail)
        self.findings.append(Finding(code, item, str(detail), zh, **fields))

    @property
    def ok(self) -> bool:
        return not any(f.failed for f in self.findings)

    def to_dict(self) -> dict:
        return {
            "verdict": "OK" if self.ok else "NOT OK",
            "host_key_fingerprint": self.host_fingerprint,
            "checkpoint": self.checkpoint,
            "files": self.files,
            "findings": [f.to_dict() for f in self.findings],
            "recordings": self.recordings,
        }


def check(files: Any) -> Report:
    """Check the package that ``files`` opens (a ``Folder``, or an ISO image's reader)."""
    report = Report()
    signed = read_all(files, MANIFEST)
    key_text = read_all(files, "host/host-key.txt")
    if signed is None:
        raise Unusable(
            "no manifest.cbor: this is not a sealcam court package",
            "没有 manifest.cbor：这不是 sealcam 法庭证据包",
        )
    try:
        protected, payload, signature = parse_sign1(cbor_one(signed))
        header = cbor_one(protected)
        manifest = cbor_one(payload)
    except (CborError, UnicodeDecodeError) as exc:
        raise Unusable(
            "manifest.cbor is not a COSE_Sign1 manifest: %s" % exc,
            "manifest.cbor 不是 COSE_Sign1 清单：%s" % zh_of(exc),
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Unusable(
            "manifest.cbor is not a sealcam court package's manifest",
            "manifest.cbor 不是 sealcam 法庭证据包的清单",
        )
    if manifest.get("version") != VERSION:
        raise Unusable(
            "package format version %r; this verifier reads %d"
            % (manifest.get("version"), VERSION),
            "证据包格式版本为 %r；本核验程序读取的是 %d" % (manifest.get("version"), VERSION),
        )
    host_name, host_public = "", b""
    try:
        if key_text is None:
            raise Said("host/host-key.txt is missing", "缺少 host/host-key.txt")
        host_name, host_public = parse_vkey(key_text.decode("utf-8"))
        report.host_fingerprint = host_public[:8].hex()
        if not (isinstance(header, dict) and header.get(1) == ALG_EDDSA):
            raise Said("the algorithm is not EdDSA", "算法不是 EdDSA")
        if header.get(4) != host_name.encode("utf-8"):
            raise Said(
                "signed by %r, not the host key %r" % (header.get(4), host_name),
                "签名者为 %r，而不是主机密钥 %r" % (header.get(4), host_name),
            )
        if not ed25519_ok(host_public, sig_structure(protected, payload), signature):
            raise Said(
                "the Ed25519 signature is not the host key's", "Ed25519 签名不是主机密钥所签"
            )
        host = manifest.get("host") or {}
        if host.get("public_key") != host_public.hex() or host.get("name") != host_name:
            raise Said("the manifest names another host key", "清单写明的是另一个主机密钥")
    except (ValueError, UnicodeDecodeError) as exc:
        report.add("manifest-signature", MANIFEST, exc)
    plain = read_all(files, MANIFEST_JSON)
    try:
        if plain is None or json.loads(plain.decode("utf-8")) != manifest:
            report.add("manifest-json", MANIFEST_JSON)
    except (ValueError, UnicodeDecodeError):
        report.add("manifest-json", MANIFEST_JSON)
    try:
        _check_files(files, manifest, report)
        root, size = _check_checkpoint(files, manifest, host_name, host_public, report)
        keys = _check_devices(files, manifest, root, size, report)
        for rec in manifest.get("recordings") or []:
            _check_recording(files, rec, keys, root, size, report)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        report.add(
            "manifest",
            MANIFEST,
            "%s: %s" % (type(exc).__name__, exc),
            "%s：%s" % (type(exc).__name__, zh_of(exc)),
        )
    return report


def _chunk_ranges(manifest: dict) -> dict:
    """path -> the byte ranges of the chunks the manifest places in it (to hash in passing)."""
    out: dict = {}
    for rec in manifest.get("recordings") or []:
        for c in rec.get("chunks") or []:
            if c.get("included") and c.get("file"):
                out.setdefault(c["file"], []).append((c["offset"], c["bytes"]))
    return out


def _check_files(files: Any, manifest: dict, report: Report) -> None:
    listed = set()
    ranges = _chunk_ranges(manifest)
    for f in manifest["files"]:
        path = f["path"]
        listed.add(path)
        fh = files.open(path)
        if fh is None:
            report.add("file-missing", path)
            continue
        unsigned = f.get("unsigned") or []
        wanted = ranges.get(path, []) + [(u["offset"], u["bytes"]) for u in unsigned]
        with fh:
            digest, count, parts = hash_with_ranges(fh, wanted)
        for (offset, length), got in parts.items():
            report.ranges[(path, offset, length)] = got
        # The unsigned parts (pause subtitles, evidence box) are checked too, though the
        # whole file's hash covers them: the page checks them instead of the whole file,
        # and the two verifiers must agree.
        wrong = [
            u
            for u in unsigned
            if parts[(int(u["offset"]), int(u["bytes"]))] != (u["sha256"], u["bytes"])
        ]
        if count != f["bytes"]:
            report.add(
                "file-changed",
                path,
                "%d bytes, not %d" % (count, f["bytes"]),
                "%d 字节，而不是 %d 字节" % (count, f["bytes"]),
            )
        elif digest != f["sha256"]:
            report.add(
                "file-changed",
                path,
                "SHA-256 %s, not %s" % (digest, f["sha256"]),
                "SHA-256 为 %s，而不是 %s" % (digest, f["sha256"]),
            )
        elif wrong:
            report.add(
                "file-changed",
                path,
                "bytes %d to %d (%s) are not those the manifest lists"
                % (
                    wrong[0]["offset"],
                    wrong[0]["offset"] + wrong[0]["bytes"],
                    wrong[0].get("what"),
                ),
                "第 %d 至 %d 字节（%s）不是清单所列的内容"
                % (
                    wrong[0]["offset"],
                    wrong[0]["offset"] + wrong[0]["bytes"],
                    wrong[0].get("what"),
                ),
            )
    report.files = len(listed)
    for name in files.names():
        if name not in listed and name not in (MANIFEST, MANIFEST_JSON):
            report.add("extra-file", name)


def _check_checkpoint(
    files: Any, manifest: dict, name: str, public: bytes, report: Report
) -> tuple[bytes, int]:
    want = manifest["checkpoint"]
    root, size = bytes.fromhex(want["root"]), int(want["size"])
    report.checkpoint = {"origin": want["origin"], "size": size, "root": want["root"]}
    note = read_all(files, want["file"])
    try:
        if note is None:
            raise Said("%s is missing" % want["file"], "缺少 %s" % want["file"])
        origin, got_size, got_root = open_checkpoint(note, name, public)
        if (origin, got_size, got_root) != (want["origin"], size, root):
            raise Said("it is not the checkpoint the manifest names", "不是清单写明的检查点")
    except (ValueError, UnicodeDecodeError) as exc:
        report.add("checkpoint", want["file"], exc)
    return root, size


def _check_devices(files: Any, manifest: dict, root: bytes, size: int, report: Report) -> dict:
    keys = {}
    for d in manifest["devices"]:
        device, public = d["id"], bytes.fromhex(d["public_key"])
        keys[device] = public
        data = read_all(files, d["key_file"])
        try:
            key = cbor_one(data) if data is not None else None
            if not isinstance(key, dict):
                raise Said(
                    "%s is not a COSE_Key" % d["key_file"], "%s 不是 COSE_Key" % d["key_file"]
                )
            if key.get(1) != 1 or key.get(-1) != 6 or key.get(-2) != public:
                raise Said(
                    "%s is not this Ed25519 key" % d["key_file"],
                    "%s 不是这个 Ed25519 密钥" % d["key_file"],
                )
            if key.get(2) != device.encode("utf-8"):
                raise Said(
                    "%s names another device" % d["key_file"],
                    "%s 写明的是另一台设备" % d["key_file"],
                )
        except (ValueError, CborError) as exc:
            report.add("device-key", device, exc)
        record = read_all(files, d["enrolment_file"])
        try:
            if record is None:
                raise Said("%s is missing" % d["enrolment_file"], "缺少 %s" % d["enrolment_file"])
            e = json.loads(record.decode("utf-8"))
            leaf = cbor_encode(["device", device, public])
            if e.get("public_key") != d["public_key"] or int(e["tree_size"]) != size:
                raise Said(
                    "the record is not of this key and checkpoint", "该登记记录不属于此密钥和检查点"
                )
            if not inclusion_ok(leaf, e["leaf_index"], size, _hexes(e["proof"]), root):
                raise Said(
                    "its inclusion proof does not lead to the checkpoint",
                    "其包含证明不能推导到检查点",
                )
        except (ValueError, KeyError, TypeError) as exc:
            report.add("enrolment", device, exc)
    return keys


def _check_recording(
    files: Any, rec: dict, keys: dict, root: bytes, size: int, report: Report
) -> None:
    item, device = rec["item"], rec["device"]
    before = len(report.findings)
    state: dict[str, Any] = {"item": item, "pauses": [], "chunks": 0, "included": 0}
    report.recordings.append(state)
    data = read_all(files, rec["entries_file"])
    try:
        entries = parse_entries(data) if data is not None else []
    except (CborError, UnicodeDecodeError) as exc:
        report.add(
            "ledger",
            item,
            "%s: %s" % (rec["entries_file"], exc),
            "%s：%s" % (rec["entries_file"], zh_of(exc)),
        )
        entries = []
    public = keys.get(device, b"")
    if entries:
        _check_chain(entries, rec, public, report, state)
        _check_chunks(files, entries, rec, report, state)
        _check_inclusion(files, entries, rec, root, size, report)
    elif data is not None:
        report.add(
            "ledger",
            item,
            "%s holds no entries" % rec["entries_file"],
            "%s 中没有记录" % rec["entries_file"],
        )
    proven = _check_custody(files, rec, root, size, report)
    _check_approval(files, rec, proven, report)
    failed = any(f.failed for f in report.findings[before:])
    missing = rec.get("range") is not None or not state.get("stopped")
    state["state"] = "NOT OK" if failed else ("OK with missing information" if missing else "OK")


def _check_chain(
    entries: list[Entry], rec: dict, public: bytes, report: Report, state: dict
) -> None:
    item, device = rec["item"], rec["device"]
    rid = bytes.fromhex(rec["recording_id"])
    first = entries[0].fields
    if first.get(F_EVENT) != EV_RECORD_START or first.get(F_RECORDING) != rid:
        report.add(
            "ledger",
            item,
            "the first entry is not this recording's record-start",
            "第一条记录不是本录像的开始录像记录",
        )
    if entries[0].seq != rec["first_seq"] or entries[-1].seq != rec["last_seq"]:
        report.add(
            "ledger",
            item,
            "seqs %r-%r, the manifest says %r-%r"
            % (entries[0].seq, entries[-1].seq, rec["first_seq"], rec["last_seq"]),
            "序号为 %r-%r，清单写的是 %r-%r"
            % (entries[0].seq, entries[-1].seq, rec["first_seq"], rec["last_seq"]),
        )
    for i, e in enumerate(entries):
        if e.fields.get(F_DEVICE) != device or e.kid != device.encode("utf-8"):
            report.add(
                "ledger",
                item,
                "entry seq %r is not device %s's" % (e.seq, device),
                "序号 %r 的记录不是设备 %s 的" % (e.seq, device),
            )
        if i:
            before = entries[i - 1]
            if e.seq != before.seq + 1:
                report.add(
                    "broken-chain",
                    item,
                    "seq %r follows seq %r" % (e.seq, before.seq),
                    "序号 %r 接在序号 %r 之后" % (e.seq, before.seq),
                    seq=e.seq,
                )
            elif e.fields.get(F_PREV) != before.digest:
                report.add(
                    "broken-chain",
                    item,
                    "seq %r does not chain to seq %r" % (e.seq, before.seq),
                    "序号 %r 没有链接到序号 %r" % (e.seq, before.seq),
                    seq=e.seq,
                )
        if e.signature:
            if not ed25519_ok(public, sig_structure(e.protected, e.payload), e.signature):
                report.add(
                    "bad-signature",
                    item,
                    "entry seq %r" % e.seq,
                    "序号 %r 的记录" % e.seq,
                    seq=e.seq,
                )
    if not entries[-1].signature:
        report.add("unsigned-tail", item)
    stopped = any(
        e.fields.get(F_EVENT) == EV_RECORD_STOP and e.fields.get(F_RECORDING) == rid
        for e in entries
    )
    state["stopped"] = stopped
    if not stopped:
        report.add("no-stop", item)
    state["pauses"] = _pauses(entries, rid)


def _pauses(entries: list[Entry], rid: bytes) -> list[dict]:
    out: list[dict] = []
    for e in entries:
        if e.fields.get(F_KIND) == KIND_CHUNK or e.fields.get(F_RECORDING) != rid:
            continue
        code = e.fields.get(F_EVENT)
        if code == EV_PAUSE:
            out.append({"pause_seq": e.seq, "reason": e.fields.get(F_REASON), "end_seq": None})
        elif code in (EV_RESUME, EV_RECORD_STOP) and out and out[-1]["end_seq"] is None:
            out[-1]["end_seq"] = e.seq
            spoken = e.fields.get(F_SPOKEN)
            out[-1]["spoken"] = spoken.hex() if isinstance(spoken, bytes) else None
    return out


def _check_chunks(files: Any, entries: list[Entry], rec: dict, report: Report, state: dict) -> None:
    item = rec["item"]
    rid = bytes.fromhex(rec["recording_id"])
    chunks = [
        e
        for e in entries
        if e.fields.get(F_KIND) == KIND_CHUNK and e.fields.get(F_RECORDING) == rid
    ]
    listed = rec["chunks"]
    state["chunks"] = len(chunks)
    if [c["seq"] for c in listed] != [e.seq for e in chunks]:
        report.add(
            "chunk-list",
            item,
            "the manifest lists other chunks than the entries hold",
            "清单所列的片段与记录中的不同",
        )
        return
    part = rec.get("range")
    included = []
    for e, c in zip(chunks, listed, strict=False):
        signed = e.fields.get(F_PLAIN_SHA)
        if (
            not isinstance(signed, bytes)
            or c["sha256"] != signed.hex()
            or c["index"] != e.fields.get(F_CHUNK_INDEX)
        ):
            report.add(
                "chunk-list",
                item,
                "chunk seq %r differs from its entry" % e.seq,
                "序号 %r 的片段与其记录不符" % e.seq,
                seq=e.seq,
            )
            continue
        is_init = e.fields.get(F_MEDIA_TYPE) == MEDIA_MP4_INIT
        wanted = part is None or is_init or part["first_seq"] <= e.seq <= part["last_seq"]
        if bool(c["included"]) != wanted:
            report.add(
                "chunk-list",
                item,
                "chunk seq %r is %s, the range says otherwise"
                % (e.seq, "included" if c["included"] else "left out"),
                "序号 %r 的片段%s，与导出范围不符"
                % (e.seq, "已包含" if c["included"] else "未包含"),
                seq=e.seq,
            )
            continue
        if not wanted:
            continue
        included.append(e)
        where = "seq %d (chunk %d)" % (e.seq, c["index"])
        where_zh = "序号 %d（片段 %d）" % (e.seq, c["index"])
        known = report.ranges.get((c.get("file"), int(c["offset"]), int(c["bytes"])))
        if known is not None:
            digest, count = known
        else:
            fh = files.open(c["file"]) if c.get("file") else None
            if fh is None:
                report.add(
                    "chunk-missing",
                    item,
                    where + ", " + str(c.get("file")),
                    where_zh + "，" + str(c.get("file")),
                    seq=e.seq,
                )
                continue
            with fh:
                fh.seek(int(c["offset"]))
                digest, count = hash_file(fh, int(c["bytes"]))
        if count != c["bytes"]:
            report.add(
                "chunk-missing",
                item,
                where + ": the file ends early",
                where_zh + "：文件提前结束",
                seq=e.seq,
            )
        elif digest != signed.hex():
            report.add(
                "chunk-changed",
                item,
                where + ": not the bytes the device signed",
                where_zh + "：不是设备签名的字节",
                seq=e.seq,
            )
    state["included"] = len(included)
    footage = [
        e.fields.get(F_CHUNK_INDEX)
        for e in included
        if e.fields.get(F_MEDIA_TYPE) != MEDIA_MP4_INIT
    ]
    first = footage[0] if footage else 0
    if not isinstance(first, int) or footage != list(range(first, first + len(footage))):
        report.add("chunk-list", item, "the included chunks are not contiguous", "包含的片段不连续")
    if part is not None:
        report.add(
            "left-out",
            item,
            "chunks seq %d to %d of %d chunks; the others are left out"
            % (part["first_seq"], part["last_seq"], len(chunks)),
            "共 %d 个片段中序号 %d 至 %d 的片段；其余未包含"
            % (len(chunks), part["first_seq"], part["last_seq"]),
        )


def _check_inclusion(
    files: Any, entries: list[Entry], rec: dict, root: bytes, size: int, report: Report
) -> None:
    item, device = rec["item"], rec["device"]
    data = read_all(files, rec["proofs_file"])
    try:
        if data is None:
            raise Said("%s is missing" % rec["proofs_file"], "缺少 %s" % rec["proofs_file"])
        proofs = json.loads(data.decode("utf-8"))
        if int(proofs["tree_size"]) != size or proofs["root"] != root.hex():
            raise Said("the proofs are to another checkpoint", "这些证明指向另一个检查点")
        rows = proofs["entries"]
        if [r["seq"] for r in rows] != [e.seq for e in entries]:
            raise Said("the proofs are of other entries", "这些证明属于其他记录")
    except (ValueError, KeyError, TypeError) as exc:
        report.add("inclusion", item, exc)
        return
    bad = []
    for e, r in zip(entries, rows, strict=False):
        leaf = cbor_encode(["entry", device, e.seq, e.digest])
        if not inclusion_ok(leaf, r["leaf_index"], size, _hexes(r["proof"]), root):
            bad.append(e.seq)
    if bad:
        seqs = ", ".join(str(s) for s in bad[:20])
        report.add("inclusion", item, "seqs %s" % seqs, "序号 %s" % seqs)


def _check_custody(files: Any, rec: dict, root: bytes, size: int, report: Report) -> set:
    item = rec["item"]
    proven: set = set()
    data = read_all(files, rec["custody_file"])
    try:
        if data is None:
            raise Said("%s is missing" % rec["custody_file"], "缺少 %s" % rec["custody_file"])
        custody = json.loads(data.decode("utf-8"))
        for r in custody["records"]:
            leaf = bytes.fromhex(r["leaf"])
            fields = cbor_one(leaf)
            told = ["audit", r["seq"], r["at_ms"], r["actor"], r["action"], r["item"], r["outcome"]]
            if not isinstance(fields, list) or fields[:7] != told:
                raise Said(
                    "record %r says other than its leaf" % r["seq"],
                    "记录 %r 与其叶节点所载不符" % r["seq"],
                )
            if not inclusion_ok(leaf, r["leaf_index"], size, _hexes(r["proof"]), root):
                raise Said(
                    "record %r is not in the host log" % r["seq"],
                    "记录 %r 不在主机日志中" % r["seq"],
                )
            proven.add(r["seq"])
    except (ValueError, KeyError, TypeError, CborError) as exc:
        report.add("custody", item, exc)
    return proven


def _check_approval(files: Any, rec: dict, proven: set, report: Report) -> None:
    if not rec.get("restricted"):
        return
    item = rec["item"]
    path = rec.get("approval_file")
    data = read_all(files, path) if path else None
    try:
        if data is None:
            raise Said("restricted footage without an approval file", "受限录像没有审批文件")
        approval = json.loads(data.decode("utf-8"))
        seqs = approval["audit_seqs"]
        if approval["item"] != item or not seqs or not set(seqs) <= proven:
            raise Said(
                "the approval's audit records are not proven in custody.json",
                "审批的审计记录未在 custody.json 中得到证明",
            )
    except (ValueError, KeyError, TypeError) as exc:
        report.add("approval", item, exc)


# --- the command ---------------------------------------------------------------------------


def render(report: Report) -> str:
    lines = []
    for f in report.findings:
        mark = "NOT OK" if f.failed else "note"
        lines.append("%s  %s / %s" % (mark, f.text("zh"), f.text("en")))
    for r in report.recordings:
        lines.append(
            "录像 recording %s: %s (%d/%d chunks, %d pauses)"
            % (r["item"], r.get("state"), r["included"], r["chunks"], len(r["pauses"]))
        )
    lines.append("主机密钥指纹 host key fingerprint: %s" % report.host_fingerprint)
    verdict = "通过 OK" if report.ok else "不通过 NOT OK"
    lines.append("结论 Verdict: %s (%d files)" % (verdict, report.files))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--json"]
    folder = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    try:
        if not os.path.isdir(folder):
            raise Unusable(
                "%s is not a folder: give the package's folder" % folder,
                "%s 不是文件夹：请指定证据包所在的文件夹" % folder,
            )
        report = check(Folder(folder))
    except Unusable as exc:
        print("无法核验：%s / cannot check: %s" % (exc.zh, exc), file=sys.stderr)
        return 2
    except ImportError:
        print("需要 PyNaCl needs PyNaCl: pip install pynacl", file=sys.stderr)
        return 2
    if "--json" in argv:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
