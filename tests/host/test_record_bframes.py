"""A vendor's Annex B stream with B-frames, from `sealcam record --input -` to an exported
MP4 that `sealcam verify` finds authentic and that plays in the encoder's order, on time."""
# micropython: skip (runs `sealcam record` in a subprocess; PyAV makes and plays the streams)
# Issue 12 "A vendor's hardware encoder" and "Export and verification": the edit list that
# starts a B-frame stream at its first picture must pass the file verifier and the exporter.

import io
import json
import subprocess

import av
import pytest

from firmware.store import Store, ledger_bytes, named_media
from host.evidence import SqliteEvidenceStore
from host.export import export_recording
from host.mp4verify import AUTHENTIC, verify_mp4
from protocol import mp4
from protocol.keys import decode_key
from protocol.ledger import read_ledger
from protocol.registry import KIND_CHUNK
from tests.firmware.avmedia import mux, write_wav
from tests.host.helpers import SEALCAM

LIMIT_S = 600  # a generous bound on one recording, never a deadline the test races


def pictures(data: bytes) -> tuple:
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(video=0))
    return [f.to_ndarray(format="rgb24").tobytes() for f in frames], [f.time for f in frames]


@pytest.mark.parametrize("codec,fmt", [("libx264", "h264"), ("libx265", "hevc")])
def test_b_frames_recorded_exported_and_verified(tmp_path, codec, fmt):
    stream = io.BytesIO()
    mux(stream, fmt, codec=codec, bframes=3, frames=60)
    wav = tmp_path / "voice.wav"
    write_wav(wav, seconds=2.0, rate=16000)
    store = tmp_path / "rec"
    r = subprocess.run(
        [*SEALCAM, "record", "--input", "-", "--fps", "30", "--mic", str(wav), "--store",
         str(store), "--device-id", "SC-0007", "--officer", "P-1", "--json"],
        input=stream.getvalue(), capture_output=True, timeout=LIMIT_S, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["ledger_state"] == "OK" and summary["frames"] == 60
    assert summary["b_frames"] > 0
    # As a sync would leave it: the device's entries and media in an evidence store.
    key = decode_key((store / "device.pub").read_bytes())
    entries = [x[2] for x in read_ledger(ledger_bytes(str(store))) if x[0] == "entry"]
    raws = [e.raw for e in entries]
    device = Store(str(store))
    ev = SqliteEvidenceStore(str(tmp_path / "ev"))
    ev.enrol(key.device_id, key.public)
    ev.add_entries(key.device_id, raws, 1_900_000_000_000)
    for e in entries:
        if e.kind == KIND_CHUNK:
            digest = named_media(e)[0]
            ev.put_media(digest, device.read_media(digest))
    ev.close()
    out = tmp_path / "case.mp4"
    export_recording(str(tmp_path / "ev"), key.device_id, None, str(out), "W. Li")
    data = out.read_bytes()
    starts = {t.handler: t.media_time for t in mp4.read_init(data)}
    assert starts["vide"] > 0 and starts["soun"] > 0  # the edit list, on every track
    report = verify_mp4(str(out))
    assert report.state == AUTHENTIC and report.ok, report.lines()
    played, times = pictures(data)
    assert played == pictures(stream.getvalue())[0]  # every picture, in the encoder's order
    # The first picture shows when it was decoded (its capture time after media time 0),
    # not the B-frames' reordering delay later.
    start, end = mp4.fragment_spans(data)[0]
    first = next(r for r in mp4.read_fragment(data[start:end])[1] if r.track_id == 1)
    assert abs(times[0] - first.decode_time / 90000) < 0.001 and first.cto == starts["vide"]
