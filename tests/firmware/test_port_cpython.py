"""The CPython port: OpenCV capture from a file, with the overlay burned into every frame."""
# micropython: skip (OpenCV is CPython-only)
# R-DEV-1: every frame carries a visible overlay of time, device ID and officer ID.

import cv2
import numpy as np
import pytest

from firmware.errors import FirmwareError
from firmware.ports.cpython import OpenCVCamera, SystemClock, burn_overlay


def write_video(path, frames=6, size=(320, 180)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 90, np.uint8)
        img[:, i * 20 : i * 20 + 30] = 200  # moving content, so frames differ
        w.write(img)
    w.release()


def test_frames_from_a_file_are_jpegs_with_the_overlay(tmp_path):
    video = tmp_path / "scene.avi"
    write_video(video)
    clock = SystemClock(wall_ns=lambda: 0, mono_ns=lambda: 5_000_000)
    cam = OpenCVCamera(str(video), clock, pace=False)
    frames = []
    while (got := cam.read("2026-11-23 08:00:00 SC-0001 P-0427")) is not None:
        frames.append(got)
    cam.close()
    assert len(frames) == 6
    data, keyframe, mono = frames[0]
    assert data[:2] == b"\xff\xd8" and keyframe and mono == 0
    assert len({f[0] for f in frames}) == 6


def test_overlay_changes_the_bottom_band_only():
    img = np.full((180, 320, 3), 120, np.uint8)
    before = img.copy()
    burn_overlay(img, "2026-11-23 08:00:00 SC-0001 P-0427")
    diff = np.any(img != before, axis=2)
    rows = np.nonzero(diff.any(axis=1))[0]
    assert rows.size and rows.min() > 140  # only the band at the bottom
    assert img[rows.min() :, :].max() == 255  # white text is there


def test_unopenable_source_says_what_to_give():
    with pytest.raises(FirmwareError, match="camera index"):
        OpenCVCamera("/nonexistent/video.avi", SystemClock())
