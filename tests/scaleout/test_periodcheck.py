"""The violations report's check for a period on the scale-out store
(``host.periodcheck.check_scaleout_period``), against PostgreSQL 15 and Ceph's S3 gateway:
a recording retention deleted there, approved and on record, is named deleted lawfully,
as the embedded store's check names it, never as media missing."""
# micropython: skip (host code, real services)
# R-HOST-10: the report names what went missing; R-HOST-5: no deletion but retention's,
# approved and on record, and that one is no violation.

import time

from host import i18n, items, people, periodcheck, retention, violations
from host.cli import auth
from host.cli.main import main
from host.pgstore import PgEvidenceStore
from tests.host.helpers import ACCOUNT_PASSWORD, synced_evidence
from tests.scaleout.helpers import clock_passes, docked_copy

ACCOUNTS = (("clerk", (people.CLERK,), None), ("boss", (people.APPROVER,), None))
DAY = retention.DAY_MS
EVER = (0, 1 << 62)  # a period holding every entry


def short_locked_copy(tmp_path, url, media, until_ms: int) -> PgEvidenceStore:
    """A scale-out store holding one synced recording, stored as a dock stores it but
    with every object locked only until ``until_ms`` (so retention may remove it once the
    object store's clock passes that), with accounts."""
    return docked_copy(synced_evidence(tmp_path / "ev"), url, media, ACCOUNTS, until_ms)


def test_a_recording_retention_deleted_is_lawful_not_missing(
    tmp_path, scale_store, monkeypatch, capsys
):
    i18n.use("en")
    url, media = scale_store
    soon = int(time.time() * 1000) + 20_000
    store = short_locked_copy(tmp_path, url, media, soon)
    with store.read() as cur:
        (item,) = items.find(cur)
        named = set(retention.media_of(cur, item.item_id))
    store.close()
    assert named
    clock = [item.started_ms + 731 * DAY]  # the rules let the recording go
    monkeypatch.setattr(auth, "clock", lambda: clock[0])
    monkeypatch.setenv("SEALCAM_PASSWORD", ACCOUNT_PASSWORD)

    def run(user, *argv):
        code = main([*argv, "--evidence", url, "--media", media, "--user", user])
        out = capsys.readouterr()
        return code, out.out + out.err

    assert run("clerk", "retention", "delete", item.item_id, "--reason", "expired")[0] == 0
    assert run("boss", "retention", "approve", item.item_id)[0] == 0
    clock[0] += 31 * DAY  # past the grace period
    clock_passes(lambda: time.time() * 1000 > soon + 2000)  # the object store's locks have ended
    code, said = run("clerk", "retention", "run")
    assert code == 0 and item.item_id in said, said

    store = PgEvidenceStore(url, media)
    try:
        assert not any(store.has_media(d) for d in named)  # the objects are gone
        checkup = periodcheck.check_scaleout_period(store, *EVER)
        assert checkup.store.deleted_media == dict.fromkeys(named, item.item_id)
        (device,) = checkup.devices
        missing = [f for f in device.report.findings if f.code == "media-missing"]
        assert missing and {f.message for f in missing} == {"deleted by retention"}
        with store.read() as cur:
            found = violations.report(cur, checkup, *EVER)
        assert [v for v in found if v.fields.get("finding") == "media-missing"] == []
    finally:
        store.close()


def test_an_object_removed_without_an_approved_deletion_stays_missing(tmp_path, scale_store):
    # Removed behind retention's back (no request, no approval on record): not lawful.
    url, media = scale_store
    store = short_locked_copy(tmp_path, url, media, int(time.time() * 1000) + 20_000)
    try:
        with store.read() as cur:
            (item,) = items.find(cur)
            named = retention.media_of(cur, item.item_id)
        with store.write() as cur:
            cur.execute(
                "UPDATE media_locks SET removed_ms = 1 WHERE digest = ?", (named[0],)
            )  # as remove_media notes an object gone
        checkup = periodcheck.check_scaleout_period(store, *EVER)
        assert checkup.store.deleted_media == {}
        (device,) = checkup.devices
        missing = [f for f in device.report.findings if f.code == "media-missing"]
        assert missing and {f.message for f in missing} == {"chunk media missing"}
    finally:
        store.close()
