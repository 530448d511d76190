"""The device's sync session over the firmware's real store: a whole session ending with a
receipt the agent's memory reads back, and a card whose files were changed or evicted.
(The sessions themselves, over a store in memory: tests/protocol/test_session.py.)"""

import hashlib

from firmware.memory import catalogue_of
from firmware.store import Store, media_key
from protocol.device_session import D_CLOSED, D_READY
from protocol.host_session import H_CLOSED, H_READY
from protocol.hostconfig import sign_config
from protocol.ledger import LedgerWriter
from protocol.messages import ERR_NONE, GONE_DAMAGED, GONE_NOT_FOUND, MIN_FRAME, RECEIPT, TIME
from protocol.registry import EV_HOST_RECEIPT, F_DETAIL, F_EVENT, F_FRAME_HASHES, KIND_EVENT
from tests.portable import TempDir
from tests.protocol.helpers import (
    DEVICE,
    DEVICE_SIGNER,
    HOST,
    HOST_KID,
    T0,
    chunk_fields,
    connect,
    make_entries,
    pull_all,
    receipt,
    receipt_event,
    run,
)


def test_happy_path_from_a_real_store_ends_with_a_receipt_the_device_verifies():
    entries = make_entries(12)
    with TempDir() as path:
        store = Store(path + "/store")
        for raw in entries:
            store.append(raw)
        host, device, h, d = connect(store)
        head_hash = hashlib.sha256(entries[-1]).digest()
        assert h == [("authenticated", DEVICE, 12, head_hash, "1.0.0")]
        assert d == [("authenticated", HOST_KID)]
        assert host.window == 2 and device.max_frame == MIN_FRAME

        h, d = run(host, device, [host.pull(0)])
        got = []
        for ev in h[:-1]:
            assert ev[0] == "entries" and ev[1] == len(got)
            got.extend(ev[2])
        assert got == entries
        assert h[-1] == ("pulled", 12)
        assert len(h) > 3  # more than one DATA: the window was used
        assert host.state == H_READY and device.state == D_READY

        h, d = run(host, device, [receipt(host, entries, 11)])
        assert d == [receipt_event(entries, 11)]
        assert h == [("ok", RECEIPT)]
        # The agent logs it as EV_HOST_RECEIPT, which restore() reads back after a reboot.
        next_seq, prev = store.head()
        writer = LedgerWriter(DEVICE_SIGNER, DEVICE, seq=next_seq, prev=prev)
        detail = {F_EVENT: EV_HOST_RECEIPT, F_DETAIL: {"through_seq": d[0][1]}}
        store.append(writer.append(KIND_EVENT, detail, T0, 0, sign=True))
        catalogue = catalogue_of(store.entries())
        assert catalogue and all(item.received for item in catalogue)

        h, d = run(host, device, [host.status()])  # the head now includes the receipt
        assert h == [
            (
                "status",
                {"battery": 87, "storage": 123456, "clock": T0, "head_seq": 13,
                 "head_hash": store.head()[1]},
            )
        ]  # fmt: skip
        h, d = run(host, device, [host.set_time(T0 + 5)])
        assert d == [("time", T0 + 5, HOST_KID)] and h == [("ok", TIME)]
        config = sign_config(HOST, HOST_KID, DEVICE, T0, {"chunk_ms": 2000})
        h, d = run(host, device, [host.send_config(config)])
        assert d == [("config", config, {"chunk_ms": 2000}, HOST_KID, T0)]
        h, d = run(host, device, [host.bye()])
        assert d == [("closed", ERR_NONE, "peer said goodbye", "peer")]
        assert host.state == H_CLOSED and device.state == D_CLOSED
        store.close()


def test_a_real_store_reports_a_changed_file_damaged_and_an_evicted_one_not_found():
    # R-DEV-2: a file changed on the card no longer matches its hash, and the device says so.
    entries = make_entries(6)  # chunks at seq 2, 3 and 5
    media = [b"".join(chunk_fields(i)[F_FRAME_HASHES]) for i in (2, 3, 5)]
    digests = [hashlib.sha256(m).digest() for m in media]
    with TempDir() as path:
        store = Store(path + "/store")
        for i, raw in enumerate(entries):
            store.append(raw, media[(2, 3, 5).index(i)] if i in (2, 3, 5) else None)
        store.sync()
        f = open(store._media_path(media_key(digests[0])), "r+b")
        f.seek(40)
        f.write(b"X")  # someone with a card reader
        f.close()
        store.evict_media(digests[1])
        host, device, _, _ = connect(store)
        events = pull_all(host, device, digests)
        answers = [ev for ev in events if ev[0] != "media"]
        assert [ev[:3] for ev in answers] == [
            ("gone", digests[0], GONE_DAMAGED),
            ("gone", digests[1], GONE_NOT_FOUND),
            ("media-done", digests[2], len(media[2])),
        ]
        assert "damaged" in answers[0][3] and "not in the store" in answers[1][3]
        assert host.state == H_READY and device.state == D_READY
        store.close()
