"""`sealcam record --input -` from an encoder that changes its parameter sets mid-stream:
signed up to there, one line that says what to do, exit 1, in either language."""
# micropython: skip (runs `sealcam record` in a subprocess; PyAV makes the stream)
# Issue 12 "A vendor's hardware encoder" (docs/vendor-encoder.md, "What a vendor may change
# mid-stream"); R-DEV-2: nothing is signed that does not play as it was recorded.

import io
import json
import subprocess

import pytest

from tests.firmware.avmedia import FRAGMENTED, encode, mux, without_audio_config
from tests.host.helpers import SEALCAM


@pytest.mark.parametrize("lang,says", [("en", "changed its parameter sets"), ("zh", "参数集")])
def test_sealcam_record_says_so_in_one_line_and_exits_1(tmp_path, lang, says):
    first = io.BytesIO()
    mux(first, "h264", frames=30)
    stream = first.getvalue() + encode("h264", "libx264", (320, 192), 15)
    _refused_in_one_line(tmp_path, lang, stream, says, "--fps", "30")


@pytest.mark.parametrize("lang,says", [("en", "a new moov"), ("zh", "新的 moov")])
def test_an_mp4_that_begins_again_with_other_settings_is_one_line_and_exit_1(tmp_path, lang, says):
    # The encoder's muxer restarted at another resolution: a second ftyp+moov on the pipe.
    stream = encode("mp4", "libx264", (160, 96), 30, FRAGMENTED) + encode(
        "mp4", "libx264", (320, 192), 15, FRAGMENTED
    )
    _refused_in_one_line(tmp_path, lang, stream, says)


@pytest.mark.parametrize(
    "lang,says", [("en", "no decoder configuration (AudioSpecificConfig)"), ("zh", "没有解码配置")]
)
def test_an_aac_track_without_its_configuration_is_said_so_and_the_pictures_recorded(
    tmp_path, lang, says
):
    # R-DEV-1 (issue 12): the encoder wrote its moov before it had the AAC configuration.
    # The pictures are signed (exit 0); one line says which sound was left out and why, and
    # the summary names it with the reason, not as a codec refused.
    made = io.BytesIO()
    mux(made, "mp4", audio=True, options=FRAGMENTED)
    r = subprocess.run(
        [*SEALCAM, "--lang", lang, "record", "--input", "-", "--json",
         "--store", str(tmp_path / "rec"), "--device-id", "SC-0007", "--officer", "P-1"],
        input=without_audio_config(made.getvalue()), capture_output=True, timeout=600,
        check=False,
    )  # fmt: skip
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 0 and len(lines) == 1 and says in lines[0], r.stderr
    assert "AAC" in lines[0] and "Traceback" not in lines[0]
    summary = json.loads(r.stdout)
    assert summary["frames"] == 45 and summary["audio_frames"] == 0
    assert (summary["audio_ignored"], summary["audio_ignored_why"]) == ("aac", "no_decoder_config")


def _refused_in_one_line(tmp_path, lang: str, stream: bytes, says: str, *extra: str) -> None:
    """``sealcam record --input -`` fed ``stream`` stops with exit 1 and one line saying
    ``says`` and the frame count (30) it signed up to, no traceback."""
    r = subprocess.run(
        [*SEALCAM, "--lang", lang, "record", "--input", "-", *extra,
         "--store", str(tmp_path / "rec"), "--device-id", "SC-0007", "--officer", "P-1"],
        input=stream, capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and says in lines[0], r.stderr
    assert "30" in lines[0] and "Traceback" not in lines[0]
