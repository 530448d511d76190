"""``sealcam store migrate`` (issue 18: "moves an embedded store to the scale-out form and
verifies it after") against real PostgreSQL 15 and Ceph's S3 gateway: everything moves (the
ledgers, the host's signed log, the media as locked objects, the evidence-management
tables), the copy verifies, a target that is not empty is refused, a run cut off is run
again, and bad input is one line."""
# micropython: skip (host code, real services)
# R-HOST-5: the evidence and its record arrive whole, and the copy proves it.

import json
import os
import subprocess
import sys

from host import audit, i18n, retention
from host.evidence import SqliteEvidenceStore
from host.pgstore import PgEvidenceStore
from host.s3media import S3Media
from tests.firmware.helpers import recorded_device
from tests.host.helpers import ACCOUNT_PASSWORD, SEALCAM, evidence, run_pair
from tests.scaleout.helpers import WAIT_S, migrate, one_line, source_store


def test_a_store_moves_whole_verifies_and_is_refused_a_second_time(tmp_path, scale_store):
    url, media = scale_store
    path, item = source_store(tmp_path)
    src = SqliteEvidenceStore(path, readonly=True)
    head = src.log_head()
    devices = {d: src.entries(d) for d in src.devices()}
    with src.read() as cur:
        trail = [(r.seq, r.action, r.hash) for r in audit.history(cur)]
    src.close()

    r = migrate("--from", str(path), "--to", url, "--media", media)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the copy verifies" in r.stdout and "Verdict: OK" in r.stdout, r.stdout

    store = PgEvidenceStore(url, media)
    moved = store.log_head()
    assert (moved.origin, moved.size, moved.root) == (head.origin, head.size, head.root)
    assert {d: store.entries(d) for d in store.devices()} == devices
    with store.read() as cur:
        assert [(r.seq, r.action, r.hash) for r in audit.history(cur)] == trail
        assert retention.held_items(cur) == {item.item_id}
    # Every object locked, and the held recording's under a legal hold.
    objects = store.locks()
    assert objects and all(lock is not None for _v, lock in objects.values())
    held = [S3Media(media).held(d, v) for d, (v, _lock) in objects.items()]
    assert any(held)
    store.close()
    # The moved accounts work: verify by one of them, as on the source.
    verified = subprocess.run(
        [*SEALCAM, "verify", url, "--media", media, "--lang", "en", "--user", "clerk"],
        capture_output=True, text=True, timeout=WAIT_S,
        env=dict(os.environ, SEALCAM_PASSWORD=ACCOUNT_PASSWORD),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The same target again: not empty, refused in one line, nothing written.
    again = migrate("--from", str(path), "--to", url, "--media", media)
    one_line(again, "is not empty")


def test_a_run_cut_off_after_some_objects_is_run_again_and_keeps_them(tmp_path, scale_store):
    # The database is all or nothing; the objects, locked once written, are kept.
    url, media = scale_store
    path, _item = source_store(tmp_path)
    src = SqliteEvidenceStore(path, readonly=True)
    digests = [f.name for f in (path / "media").glob("??/*")]
    bucket = S3Media(media, create=True)
    for name in digests[:2]:
        digest = bytes.fromhex(name)
        bucket.put(digest, src.read_media(digest))
    src.close()
    r = migrate("--from", str(path), "--to", url, "--media", media, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    done = json.loads(r.stdout)
    assert done["state"] == "OK" and done["media"] == len(digests), done
    assert done["reused"] == len(digests[:2]) > 0


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, scale_store):
    i18n.use("en")
    url, media = scale_store
    path, _item = source_store(tmp_path)
    one_line(migrate("--from", str(tmp_path), "--to", url, "--media", media), "no evidence store")
    one_line(migrate("--from", str(path), "--to", "evidence2/", "--media", media), "PostgreSQL")
    one_line(migrate("--from", str(path), "--to", url, "--media", "bucket"), "s3://")
    # A bucket that holds something else.
    used = media + "-used"
    other = S3Media(used, create=True)
    other.s3.put_object(Bucket=other.bucket, Key="notes.txt", Body=b"x")
    one_line(migrate("--from", str(path), "--to", url, "--media", used), "no media of this store")
    # Nothing was written to the database by any of them.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert tables == 0


# Files opened under the folder a test names while it moves a store (an audit hook stays
# for the process's life: it counts only while a test has set a folder).
_OPENED: "dict[str, list]" = {}


def _count_opens(event: str, args: tuple) -> None:
    if event != "open" or not _OPENED or not isinstance(args[0], (str, os.PathLike)):
        return
    name = os.fspath(args[0])
    for folder, seen in _OPENED.items():
        if name.startswith(folder):
            seen.append(name)


sys.addaudithook(_count_opens)


def test_each_media_file_is_read_once_whether_it_is_sent_or_kept(tmp_path, scale_store):
    # Its hashes and its upload are of the same bytes, read once: a file sent now and a
    # file whose object a run cut off had stored are each opened once by the move.
    from host import migrate as moving

    url, media = scale_store
    path = tmp_path / "ev"
    ev = evidence(path)
    agent = recorded_device(tmp_path / "device", 80)  # a recording of several media files
    run_pair(agent, ev)
    agent.store.close()
    ev.close()
    src = SqliteEvidenceStore(path, readonly=True)
    names = sorted(str(f) for f in (path / "media").glob("??/*"))
    bucket = S3Media(media, create=True)
    kept = bytes.fromhex(os.path.basename(names[0]))
    bucket.put(kept, src.read_media(kept))
    seen: list = []
    _OPENED[str(path / "media")] = seen
    try:
        done = moving.migrate(src, url, media)
    finally:
        _OPENED.clear()
        src.close()
    assert done.verified.ok and done.reused == 1 and done.media == len(names) > 2, done
    assert sorted(seen) == names, seen
