"""``sealcam store migrate`` of a store one of whose media files no longer matches the
SHA-256 its signed entry names (bit rot, or a change), against real PostgreSQL 15 and
Ceph's S3 gateway: refused by default with the way forward named; with
``--carry-damaged`` everything moves, the damaged bytes are kept (never as the media) and
recorded, and the copy's verify names the chunk as the source's does, NOT OK as it is; a
run cut off is run again."""
# micropython: skip (host code, real services)
# R-HOST-5: the copy neither hides the damage the source holds nor makes any up.

import datetime
import hashlib
import json
import os
import subprocess

from host import audit, i18n
from host import migrate as moving
from host.pgstore import PgEvidenceStore
from host.s3media import S3Media
from tests.host.helpers import ACCOUNT_PASSWORD, SEALCAM
from tests.scaleout.helpers import WAIT_S, migrate, one_line, source_store


def damage(path):
    """Flip one byte of one media file of the store at ``path``: ``(digest, bytes now)``."""
    media = sorted((path / "media").glob("??/*"))[0]
    os.chmod(media, 0o644)
    data = bytearray(media.read_bytes())
    data[len(data) // 2] ^= 0x01
    media.write_bytes(bytes(data))
    return bytes.fromhex(media.name), bytes(data)


def verify(store, *more) -> "tuple[int, dict]":
    r = subprocess.run(
        [*SEALCAM, "verify", store, *more, "--json", "--lang", "en", "--user", "clerk"],
        capture_output=True, text=True, timeout=WAIT_S,
        env=dict(os.environ, SEALCAM_PASSWORD=ACCOUNT_PASSWORD),
    )  # fmt: skip
    return r.returncode, json.loads(r.stdout)


def altered_in_source(report: dict) -> set:
    return {(d["device_id"], f["seq"]) for d in report["devices"]
            for f in d["verification"]["findings"] if f["code"] == "media-altered"}  # fmt: skip


def a_year():
    """A lock date a year from now, for objects a test stores as a run cut off would."""
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)


def tables_in(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]


def test_a_damaged_file_is_refused_then_carried_and_named_as_the_source_names_it(
    tmp_path, scale_store
):
    url, media = scale_store
    path, _item = source_store(tmp_path)
    digest, data = damage(path)
    status, source = verify(str(path))
    assert status == 1
    named = altered_in_source(source)
    assert len(named) == 1, source

    # Without the flag: refused in one line that names the way forward; nothing written.
    refused = migrate("--from", str(path), "--to", url, "--media", media)
    one_line(refused, "--carry-damaged")
    assert digest.hex() in refused.stderr
    assert tables_in(url) == 0

    # With it: everything moves; exit 1, the copy NOT OK only for the damage carried.
    r = migrate("--from", str(path), "--to", url, "--media", media, "--carry-damaged")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert "damaged media carried from the source" in r.stderr, r.stderr
    assert "damaged/" + hashlib.sha256(data).hexdigest() in r.stdout, r.stdout

    status, copy = verify(url, "--media", media)
    assert status == 1, copy
    assert copy["state"] == "NOT OK"
    found = {(f["device"], f["seq"]) for f in copy["findings"] if f["code"] == "media-altered"}
    assert found == named
    assert [f["code"] for f in copy["findings"]] == ["media-altered"], copy["findings"]
    assert {copy["stats"]["devices"][d]["state"] for d, _seq in named} == {"NOT OK"}

    # The damaged bytes are kept, locked and held, under their own hash, never as the media.
    own = hashlib.sha256(data).hexdigest()
    bucket = S3Media(media)
    kept = bucket.s3.get_object(Bucket=bucket.bucket, Key="damaged/" + own)
    assert kept["Body"].read() == data
    assert kept.get("ObjectLockMode") == "COMPLIANCE"
    assert kept.get("ObjectLockLegalHoldStatus") == "ON"
    assert bucket.version(digest) is None
    # The copy records when, by whom, the bytes' hash and size; one audit record names it.
    store = PgEvidenceStore(url, media)
    try:
        row = store._rows("SELECT sha256, size, object, found_ms, found_by FROM damaged_media "
                          "WHERE digest = %s", (digest,))  # fmt: skip
        assert [(bytes(row[0][0]), row[0][1], row[0][2])] == [(bytes.fromhex(own), len(data),
                                                              "damaged/" + own)]  # fmt: skip
        assert row[0][3] > 0 and "@" in row[0][4]
        with store.read() as cur:
            moved = [r for r in audit.history(cur) if r.action == audit.STORE_MIGRATE]
        assert len(moved) == 1 and moved[0].actor == row[0][4]
        assert [d["digest"] for d in moved[0].details["damaged"]] == [digest.hex()]
        assert audit.chain_problems(store._rows("SELECT %s FROM audit ORDER BY seq"
                                                % audit.COLUMNS)) == []  # fmt: skip
    finally:
        store.close()


def test_a_carrying_run_cut_off_is_run_again_and_keeps_what_it_stored(tmp_path, scale_store):
    url, media = scale_store
    path, _item = source_store(tmp_path)
    digest, data = damage(path)
    # A run without the flag stored some objects before it stopped; then a carrying run
    # was cut off once the damaged bytes were kept.
    one_line(migrate("--from", str(path), "--to", url, "--media", media), "--carry-damaged")
    bucket = S3Media(media, create=True)
    md5 = hashlib.md5(data).digest()
    own = hashlib.sha256(data).digest()
    moving._keep_damaged(bucket, digest, own, data, md5, a_year())
    r = migrate("--from", str(path), "--to", url, "--media", media, "--carry-damaged", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    done = json.loads(r.stdout)
    assert done["as_source"] is True and done["differences"] == [], done
    assert [d["object"] for d in done["damaged"]] == ["damaged/" + own.hex()]
    media_files = len(list((path / "media").glob("??/*")))
    # Every object was stored before: the refused run's (it waits for the uploads under
    # way) and the damaged bytes the cut-off run kept.
    assert done["media"] == media_files - 1 and done["reused"] == media_files, done
    # The damaged bytes were not stored again: one version only.
    versions = bucket.s3.list_object_versions(Bucket=bucket.bucket, Prefix="damaged/")
    assert len(versions.get("Versions", [])) == 1


def test_damaged_bytes_in_the_bucket_of_no_damaged_file_are_refused(tmp_path, scale_store):
    # A bucket holding damaged/ bytes this store's files do not have is someone else's.
    url, media = scale_store
    path, _item = source_store(tmp_path)
    bucket = S3Media(media, create=True)
    other = b"not this store's"
    moving._keep_damaged(bucket, b"\0" * 32, hashlib.sha256(other).digest(), other,
                         hashlib.md5(other).digest(), a_year())  # fmt: skip
    one_line(migrate("--from", str(path), "--to", url, "--media", media, "--carry-damaged"),
             "no media of this store")  # fmt: skip
    assert tables_in(url) == 0


def kept_aside(url: str, media: str, digest: bytes, own: bytes, data: bytes) -> None:
    """The copy records the digest's object (the media whole), no damage; the damaged
    bytes are kept, locked and held, under their own hash; the move's audit record names
    them kept aside."""
    bucket = S3Media(media)
    kept = bucket.s3.get_object(Bucket=bucket.bucket, Key="damaged/" + own.hex())
    assert kept["Body"].read() == data
    assert kept.get("ObjectLockMode") == "COMPLIANCE"
    assert kept.get("ObjectLockLegalHoldStatus") == "ON"
    store = PgEvidenceStore(url, media)
    try:
        assert hashlib.sha256(store.read_media(digest)).digest() == digest
        assert store._rows("SELECT digest FROM damaged_media") == []
        with store.read() as cur:
            moved = [r for r in audit.history(cur) if r.action == audit.STORE_MIGRATE]
        assert len(moved) == 1 and moved[0].details["damaged"] == []
        assert [(d["digest"], d["object"]) for d in moved[0].details["kept_aside"]] == [
            (digest.hex(), "damaged/" + own.hex())
        ]
    finally:
        store.close()
    status, copy = verify(url, "--media", media)
    assert status == 0 and copy["state"] == "OK", copy


def test_a_run_cut_off_after_storing_the_media_whole_records_it_though_the_file_is_damaged_now(
    tmp_path, scale_store
):
    # A run was cut off between storing the object (from the file while it was whole)
    # and recording it; the file is damaged since. The object, hashing to its signed
    # digest, is the media the copy records; the file's bytes are kept aside all the same.
    url, media = scale_store
    path, _item = source_store(tmp_path)
    name = sorted((path / "media").glob("??/*"))[0]
    whole = name.read_bytes()
    S3Media(media, create=True).put(bytes.fromhex(name.name), whole, until=a_year())
    digest, data = damage(path)
    own = hashlib.sha256(data).digest()
    r = migrate("--from", str(path), "--to", url, "--media", media, "--carry-damaged", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    done = json.loads(r.stdout)
    assert done["state"] == "OK" and done["differences"] == [], done
    assert [(d["object"], d["recovered"]) for d in done["damaged"]] == [
        ("damaged/" + own.hex(), True)
    ]
    assert done["reused"] == 1, done  # the object stored before, not sent again
    kept_aside(url, media, digest, own, data)


def test_a_carrying_run_cut_off_then_the_file_restored_records_the_media_whole(
    tmp_path, scale_store
):
    # The other way round: a carrying run was cut off after it kept a damaged file's
    # bytes; the file is whole again since (restored). The media is stored and recorded;
    # the bytes kept before stay kept aside, on record, and the move is not refused.
    url, media = scale_store
    path, _item = source_store(tmp_path)
    name = sorted((path / "media").glob("??/*"))[0]
    whole = name.read_bytes()
    digest, data = damage(path)
    own = hashlib.sha256(data).digest()
    bucket = S3Media(media, create=True)
    moving._keep_damaged(bucket, digest, own, data, hashlib.md5(data).digest(), a_year())
    name.write_bytes(whole)  # restored
    r = migrate("--from", str(path), "--to", url, "--media", media, "--carry-damaged")
    assert r.returncode == 0, r.stdout + r.stderr
    # The line says what happened: the bytes were kept before, the file is whole now (not
    # that the file is damaged, which it no longer is).
    i18n.use("en")
    said = i18n.text("migrate.kept_earlier", digest=digest.hex(), size=len(data),
                     own=own.hex(), key="damaged/" + own.hex())  # fmt: skip
    assert said in r.stdout.splitlines(), r.stdout
    kept_aside(url, media, digest, own, data)
