"""Fixtures of the protocol tests that run on CPython only."""

import pytest


@pytest.fixture
def ffmpeg_log():
    """What ffmpeg logs at warning level or worse during a test, except the pixel format
    converter's notes while making the test's pictures: it must stay empty."""
    import av.logging  # PyAV: CPython only, and only for the tests that ask

    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture() as logs:
            yield lambda: [m for m in logs if m[1] != "swscaler"]
    finally:
        av.logging.set_level(None)
