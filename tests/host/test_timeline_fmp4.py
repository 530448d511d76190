"""The timeline of a fragmented MP4 recording tells as much as a raw one's."""
# micropython: skip (the recordings are made with PyAV and OpenCV)
# Issue 12 (real footage), host/timeline.py: init segment, fragments and the sound-only
# spoken-reason fragment are named for what they are (R-DEV-9: the spoken reason follows).

from firmware.store import ledger_bytes
from host import timeline
from protocol.ledger import read_ledger
from protocol.registry import F_MEDIA_TYPE, MEDIA_MP4_INIT
from tests.host import fmp4
from tests.host.rawrec import record


def test_an_fmp4_recording_names_its_init_segment_fragments_and_spoken_reason():
    rec = fmp4.record()
    (r,) = timeline.recordings(rec.entries)
    assert r["format"] == "fmp4" and r["problems"] == []
    assert r["media"] == {"init segment": 1, "fragments": 5, "sound-only fragments": 1}
    lines = timeline.render([r])
    assert "(fragmented MP4: 1 init segment, 5 fragments, 1 sound-only fragment)" in lines[0]
    resume = next(t for t in r["timeline"] if t["event"] == "resume")
    assert resume["spoken_reason"]["kind"] == "sound-only fragment"
    assert resume["spoken_reason"]["seconds"] == 2.0
    assert any("spoken reason: 2 s sound-only fragment, seq" in line for line in lines)
    assert not any("PROBLEM" in line for line in lines)


def test_fragments_without_their_init_segment_are_a_problem_said_once():
    rec = fmp4.record()
    entries = [e for e in rec.entries if e.fields.get(F_MEDIA_TYPE) != MEDIA_MP4_INIT]
    (r,) = timeline.recordings(entries)
    assert len(r["problems"]) == 1 and "cannot be played" in r["problems"][0]
    assert "_problem_keys" not in r
    assert timeline.render([r])[-1].startswith("  PROBLEM: fragment seq")


def test_events_say_where_they_fall_in_the_mp4():
    # The pause shows at its media time: where the export's pause note puts it.
    rec = fmp4.record()
    (r,) = timeline.recordings(rec.entries)
    pause = next(t for t in r["timeline"] if t["event"] == "pause")
    assert pause["media_s"] == rec.pause_ms[0][0] / 1000
    line = next(x for x in timeline.render([r]) if " pause " in x)
    assert line.endswith("[%s in the MP4]" % timeline.media_clock(pause["media_s"]))
    assert timeline.media_clock(3.04) == "0:03.0" and timeline.media_clock(3725.44) == "1:02:05.4"


def test_a_raw_recording_reads_as_before(tmp_path):
    record(tmp_path / "dev", seconds=1)
    entries = [x[2] for x in read_ledger(ledger_bytes(str(tmp_path / "dev"))) if x[0] == "entry"]
    (r,) = timeline.recordings(entries)
    assert r["format"] == "raw" and r["problems"] == []
    assert r["media"] == {"video/mjpeg": 1, "audio/pcm": 1}
    lines = timeline.render([r])
    assert lines[0].endswith("(1 audio/pcm, 1 video/mjpeg)")
    assert not any("MP4" in line or "PROBLEM" in line for line in lines)
