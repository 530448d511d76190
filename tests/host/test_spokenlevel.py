"""The level of a spoken reason's audio, decoded from its fMP4 fragment with PyAV."""
# micropython: skip (host code, PyAV)
# R-DEV-9: the spoken reason must be heard; silence is measured, not assumed.

import math

import pytest

from host.spokenlevel import Undecodable, level_dbfs
from protocol.registry import F_PLAIN_SHA
from tests.host import fmp4


def spoken_level(spoken: str) -> float:
    rec = fmp4.record(gops_before=1, gops_after=1, spoken=spoken)
    fragment = rec.media[rec.spoken[0].fields[F_PLAIN_SHA]]
    return level_dbfs(rec.init, fragment)


def test_a_tone_speech_and_silence_have_the_levels_they_should():
    # A sine of amplitude 0.3: RMS 0.3 / sqrt(2), about -13.5 dBFS (AAC keeps it within 1 dB).
    assert abs(spoken_level("tone") - 20 * math.log10(0.3 / math.sqrt(2))) < 1.0
    assert -35 < spoken_level("voice") < -3
    assert spoken_level("silence") < -90  # digital silence, or the codec's faintest noise


def test_a_fragment_with_no_audio_cannot_be_measured():
    rec = fmp4.record(gops_before=1, gops_after=1)
    with pytest.raises(Undecodable):
        level_dbfs(rec.init, b"")
    with pytest.raises(Undecodable):
        level_dbfs(b"not an mp4 at all", b"")
