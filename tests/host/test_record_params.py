"""`sealcam record --input -` from an encoder that changes its parameter sets mid-stream:
signed up to there, one line that says what to do, exit 1, in either language."""
# micropython: skip (runs `sealcam record` in a subprocess; PyAV makes the stream)
# Issue 12 "A vendor's hardware encoder" (docs/vendor-encoder.md, "What a vendor may change
# mid-stream"); R-DEV-2: nothing is signed that does not play as it was recorded.

import io
import subprocess

import pytest

from tests.firmware.avmedia import FRAGMENTED, encode, mux
from tests.host.helpers import SEALCAM


@pytest.mark.parametrize("lang,says", [("en", "changed its parameter sets"), ("zh", "参数集")])
def test_sealcam_record_says_so_in_one_line_and_exits_1(tmp_path, lang, says):
    first = io.BytesIO()
    mux(first, "h264", frames=30)
    stream = first.getvalue() + encode("h264", "libx264", (320, 192), 15)
    r = subprocess.run(
        [*SEALCAM, "--lang", lang, "record", "--input", "-", "--fps", "30",
         "--store", str(tmp_path / "rec"), "--device-id", "SC-0007", "--officer", "P-1"],
        input=stream, capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and says in lines[0], r.stderr
    assert "30" in lines[0] and "Traceback" not in lines[0]


@pytest.mark.parametrize("lang,says", [("en", "a new moov"), ("zh", "新的 moov")])
def test_an_mp4_that_begins_again_with_other_settings_is_one_line_and_exit_1(tmp_path, lang, says):
    # The encoder's muxer restarted at another resolution: a second ftyp+moov on the pipe.
    stream = encode("mp4", "libx264", (160, 96), 30, FRAGMENTED) + encode(
        "mp4", "libx264", (320, 192), 15, FRAGMENTED
    )
    r = subprocess.run(
        [*SEALCAM, "--lang", lang, "record", "--input", "-",
         "--store", str(tmp_path / "rec"), "--device-id", "SC-0007", "--officer", "P-1"],
        input=stream, capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and says in lines[0], r.stderr
    assert "30" in lines[0] and "Traceback" not in lines[0]
