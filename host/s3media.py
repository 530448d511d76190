"""Media as write-once objects in an S3 bucket with Object Lock (the scale-out store's media).

Every media file is one object, ``media/HEX`` (its SHA-256), written once and locked in
COMPLIANCE mode until its retention ends: nobody holding the S3 keys (this host included)
can delete the version or shorten its lock; a retention that grows is extended
(``extend``), never shortened, and a legal hold (``hold``) keeps it past any date. A bucket
without Object Lock is refused when the store opens (evidence must be write-once).

The store checks what it received: each upload carries its MD5 (``Content-MD5``; the store
refuses a body that does not match, and its ETag names the MD5 it computed) and its SHA-256
(``x-amz-checksum-sha256``; a store that knows the header refuses a mismatch and returns it,
which is then compared too). The bytes are hashed here against the digest the signed entry
names before they are sent, so the store's MD5 check binds what it holds to that digest.
(Ceph's gateway before release 18 ignores the SHA-256 header; its MD5 check holds.)

Endpoint and keys come from the environment or boto3's config files (``AWS_ENDPOINT_URL_S3``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_CONFIG_FILE``,
``AWS_SHARED_CREDENTIALS_FILE``), never from the command line.
"""

import base64
import datetime
import hashlib
import re
from typing import Any

from host import i18n
from host.problems import Said

PREFIX = "media/"
# Ceph's gateway (16.2) keeps a retain-until as 32-bit seconds since 1970: a later date
# wraps round to one in the past and leaves the object unlocked. Never sent.
LATEST = datetime.datetime(2106, 1, 1, tzinfo=datetime.UTC)
SHA_META = "sha256"  # the object's own note of the digest, beside the store's checksums
# R-HOST-3's shortest period (one year, at some agencies): the lock of an object stored
# without a date of its own. The store gives each object its item's date (``put``'s
# ``until``, ``host.objectlock``), which is never shorter.
DEFAULT_RETAIN_DAYS = 365
# ``extend``'s default: the object's lock is not known to the caller, so it is asked first.
ASK = object()


class MediaUnusable(Said):
    """The object store cannot be used at all (down, keys wrong, bucket missing or not
    write-once); the message says which, in one line, in the language in force, its id and
    fields kept (``Said``) for a reader of another language later."""


class MediaRefused(Exception):
    """One object was not stored or is not as it should be; the message says why."""


# S3's rule for a bucket's name (and Ceph RGW's, which otherwise answers only
# "InvalidBucketName"): 3 to 63 lower-case letters, digits, dots and hyphens, beginning
# and ending with a letter or digit.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket_of(url: str) -> str:
    """The bucket of ``s3://BUCKET``; MediaUnusable for anything else."""
    if not url.startswith("s3://"):
        raise MediaUnusable.said("s3.not_url", url=url)
    bucket = url[len("s3://") :].rstrip("/")
    if not bucket or "/" in bucket:
        raise MediaUnusable.said("s3.not_url", url=url)
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise MediaUnusable.said("s3.bad_bucket", bucket=bucket)
    return bucket


def client() -> Any:
    """An S3 client as boto3 configures it from the environment and its config files.
    Checksums are sent where this module asks (not boto3's default CRC on every request,
    which older gateways do not know)."""
    import boto3
    from botocore.config import Config

    config = Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )
    return boto3.session.Session().client("s3", config=config)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key(digest: bytes) -> str:
    return PREFIX + bytes(digest).hex()


class S3Media:
    """The media of one evidence store: objects in one bucket with Object Lock."""

    def __init__(
        self,
        url: str,
        create: bool = False,
        retain_days: int = DEFAULT_RETAIN_DAYS,
        s3: Any = None,
    ) -> None:
        """Open ``s3://BUCKET``; with ``create``, make it (with Object Lock) when it is
        missing. MediaUnusable when it cannot be reached, the keys are refused, it does not
        exist, or it has no Object Lock."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.bucket = bucket_of(url)
        self.url = url
        self.retain_days = retain_days
        try:
            self.s3 = s3 if s3 is not None else client()
            endpoint = self.s3.meta.endpoint_url
        except BotoCoreError as exc:
            raise MediaUnusable.said("s3.config", why=exc) from None
        try:
            try:
                self.s3.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _status(exc) != 404 or not create:
                    raise
                self.s3.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)
            lock = self.s3.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            code, status = _code(exc), _status(exc)
            if code == "ObjectLockConfigurationNotFoundError":
                raise MediaUnusable.said("s3.no_lock", bucket=self.bucket) from None
            if status == 404:
                raise MediaUnusable.said("s3.no_bucket", bucket=self.bucket) from None
            if status == 403 or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise MediaUnusable.said(
                    "s3.denied", bucket=self.bucket, endpoint=endpoint
                ) from None
            raise MediaUnusable.said("s3.failed", endpoint=endpoint, why=code or status) from None
        except BotoCoreError as exc:
            raise MediaUnusable.said("s3.unreachable", endpoint=endpoint, why=exc) from None
        enabled = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise MediaUnusable.said("s3.no_lock", bucket=self.bucket)

    def _until(self, now: datetime.datetime | None = None) -> datetime.datetime:
        now = now or datetime.datetime.now(datetime.UTC)
        return now + datetime.timedelta(days=self.retain_days)

    def put(
        self,
        digest: bytes,
        data: bytes,
        md5: bytes | None = None,
        until: datetime.datetime | None = None,
    ) -> str:
        """Store ``data`` as the object of ``digest`` (refused unless it hashes to it),
        locked in COMPLIANCE mode; return the version id the store gave it, once the store
        has confirmed the checksums. Asking first whether it is held would cost a round
        trip per object on the sync's hot path; an object stored again (after a crash
        before it was recorded, or by two hosts at once) is one more locked version of the
        same bytes, and every version stays as it was written. A caller that hashed the
        bytes as they arrived gives their ``md5`` and has checked their SHA-256 itself.
        ``until``: the COMPLIANCE retain-until the object is locked to (by default
        ``retain_days`` from now)."""
        digest = bytes(digest)
        if md5 is None:
            if hashlib.sha256(data).digest() != digest:
                raise MediaRefused(i18n.text("s3.mismatch", digest=digest.hex()))
            md5 = hashlib.md5(data).digest()  # S3's own transfer check, not for security
        return self.put_locked(_key(digest), data, md5, digest, {SHA_META: digest.hex()}, until)

    def put_locked(
        self,
        key: str,
        data: bytes,
        md5: bytes,
        sha256: bytes,
        metadata: "dict[str, str]",
        until: datetime.datetime | None = None,
        held: bool = False,
    ) -> str:
        """Store ``data`` as the object ``key`` with ``metadata``, locked in COMPLIANCE
        mode until ``until`` (by default ``retain_days`` from now), under a legal hold when
        ``held``; return the version id the store gave it once the store has confirmed
        ``md5`` (its ETag) and, where it knows the header, ``sha256``: both are the
        caller's of these very bytes. The one way an object is written (``put``, and the
        damaged bytes a migration keeps, ``host.migrate``); MediaRefused, naming
        ``sha256``, when it is not stored or not confirmed."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = sha256.hex()
        if until is not None and until > LATEST:
            raise MediaRefused(i18n.text("s3.too_late", digest=name, until=until))
        lock: dict = {
            "ObjectLockMode": "COMPLIANCE",
            "ObjectLockRetainUntilDate": until or self._until(),
        }
        if held:
            lock["ObjectLockLegalHoldStatus"] = "ON"
        try:
            answer = self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentMD5=_b64(md5),
                ChecksumSHA256=_b64(sha256),
                Metadata=metadata,
                **lock,
            )
        except ClientError as exc:
            raise MediaRefused(
                i18n.text("s3.put_failed", digest=name, why=_code(exc) or _status(exc))
            ) from None
        except BotoCoreError as exc:
            raise MediaRefused(i18n.text("s3.put_failed", digest=name, why=exc)) from None
        etag = str(answer.get("ETag", "")).strip('"')
        echoed = answer.get("ChecksumSHA256")
        version = answer.get("VersionId")
        if etag != md5.hex() or (echoed is not None and echoed != _b64(sha256)) or not version:
            raise MediaRefused(i18n.text("s3.unconfirmed", digest=name))
        return str(version)

    def version(self, digest: bytes) -> str | None:
        """The version id of the object of ``digest`` as it stands (its newest version),
        when that is an object noted with this digest; None when there is none (never
        stored, or hidden by a delete marker)."""
        from botocore.exceptions import ClientError

        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=_key(digest))
        except ClientError as exc:
            if _status(exc) in (404, 405):  # 405: the newest version is a delete marker
                return None
            raise
        if head.get("Metadata", {}).get(SHA_META) != bytes(digest).hex():
            return None
        return str(head.get("VersionId") or "")

    def read(self, digest: bytes, version: str | None = None) -> bytes:
        """The bytes of the object of ``digest`` (its newest version, or ``version``)."""
        from botocore.exceptions import ClientError

        args = {"Bucket": self.bucket, "Key": _key(digest)}
        if version:
            args["VersionId"] = version
        try:
            return bytes(self.s3.get_object(**args)["Body"].read())
        except ClientError as exc:
            if _status(exc) in (404, 405):
                raise MediaRefused(i18n.text("s3.missing", digest=bytes(digest).hex())) from None
            raise

    def check(self, digest: bytes, version: str) -> str | None:
        """What is wrong with the object of ``digest``: ``missing`` (gone, or hidden by a
        delete marker), ``replaced`` (its newest version, what a reader by name gets, is
        other bytes), ``altered`` (the version the store recorded is gone or no longer
        hashes to the digest); None when it is whole. Two hosts that stored the same
        media at once leave two versions of the same bytes: both whole, no problem."""
        from botocore.exceptions import ClientError

        digest = bytes(digest)
        try:
            newest = self.s3.get_object(Bucket=self.bucket, Key=_key(digest))
            data = bytes(newest["Body"].read())
        except ClientError as exc:
            if _status(exc) in (404, 405):
                return "missing"
            raise
        if hashlib.sha256(data).digest() != digest:
            return "replaced"
        if newest.get("VersionId") == version:
            return None
        try:
            kept = self.read(digest, version)
        except (MediaRefused, ClientError):
            return "altered"
        return None if hashlib.sha256(kept).digest() == digest else "altered"

    def retention(self, digest: bytes, version: str) -> datetime.datetime | None:
        answer = self.s3.get_object_retention(
            Bucket=self.bucket, Key=_key(digest), VersionId=version
        )
        return answer.get("Retention", {}).get("RetainUntilDate")

    def extend(
        self,
        digest: bytes,
        version: str,
        until: datetime.datetime,
        current: "datetime.datetime | object | None" = ASK,
    ) -> datetime.datetime:
        """Keep the object locked at least until ``until``: the lock is extended when it
        ends sooner, never shortened; returns the date it holds now. ``current``: the
        retain-until the caller knows the version has (None: none), as the host noted it
        when it set it; then the date is set in one request, without reading the lock
        first. Left out (``ASK``), the lock is read from the store first. A note that fell
        behind the store (another host extended it further) is no harm: the store refuses
        to shorten, the lock is then read, and a date that already covers ``until`` stands."""
        from botocore.exceptions import ClientError

        if until > LATEST:
            raise MediaRefused(i18n.text("s3.too_late", digest=bytes(digest).hex(), until=until))
        known = current is not ASK
        have = self.retention(digest, version) if not known else current
        if isinstance(have, datetime.datetime) and have >= until:
            return have
        try:
            self.s3.put_object_retention(
                Bucket=self.bucket,
                Key=_key(digest),
                VersionId=version,
                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
            )
        except ClientError:
            if not known:
                raise
            held = self.retention(digest, version)  # the note was behind: the store's answer
            if held is not None and held >= until:
                return held
            raise
        return until

    def hold(self, digest: bytes, version: str, on: bool) -> None:
        """Put a legal hold on the object (or lift it): held, no date lets it go."""
        self.s3.put_object_legal_hold(
            Bucket=self.bucket,
            Key=_key(digest),
            VersionId=version,
            LegalHold={"Status": "ON" if on else "OFF"},
        )

    def held(self, digest: bytes, version: str) -> bool:
        answer = self.s3.get_object_legal_hold(
            Bucket=self.bucket, Key=_key(digest), VersionId=version
        )
        return answer.get("LegalHold", {}).get("Status") == "ON"

    def lock(self, digest: bytes, version: str) -> "tuple[datetime.datetime | None, bool]":
        """The version's COMPLIANCE retain-until (None: none) and whether a legal hold is on."""
        from botocore.exceptions import ClientError

        try:
            until = self.retention(digest, version)
        except ClientError as exc:
            if _code(exc) not in (
                "NoSuchObjectLockConfiguration",
                "ObjectLockConfigurationNotFoundError",
            ):
                raise
            until = None
        try:
            held = self.held(digest, version)
        except ClientError as exc:
            if _code(exc) not in (
                "NoSuchObjectLockConfiguration",
                "ObjectLockConfigurationNotFoundError",
            ):
                raise
            held = False
        return until, held

    def versions(self, digest: bytes) -> "list[str]":
        """Every version id the object of ``digest`` has (delete markers included): a
        media stored twice (after a crash, or by two hosts at once) has two."""
        key = _key(digest)
        out = []
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=key
        )
        for page in pages:
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if v.get("Key") == key:
                    out.append(str(v["VersionId"]))
        return out

    def remove(self, digest: bytes) -> "tuple[list[str], list[str]]":
        """Delete every version of the object of ``digest`` for good: ``(removed, refused)``
        version ids. The store refuses a version its lock still keeps (a retain-until not
        yet passed, a legal hold): that one stays, and is only reported here."""
        from botocore.exceptions import ClientError

        removed, refused = [], []
        for version in self.versions(digest):
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=_key(digest), VersionId=version)
            except ClientError as exc:
                if _status(exc) == 403 or _code(exc) == "AccessDenied":
                    refused.append(version)
                    continue
                raise
            removed.append(version)
        return removed, refused
