"""The camera: a moving scene rendered with OpenCV, the agent's overlay burned in, JPEG frames."""
# micropython: skip (OpenCV and numpy; the simulator runs on CPython only)

import math

import cv2
import numpy as np

from firmware.hal import Camera
from firmware.ports.cpython import burn_overlay
from host.i18n import text
from simulator.errors import SimulatorError
from simulator.hardware.clock import SimClock

_PAN_PX_PER_S = 40  # how fast the background slides past, at 640 pixels wide
_SHAPES = 6


class _Shape:
    """One moving thing in the scene: a disc or a bar on a Lissajous path."""

    def __init__(self, round_: bool, rng: np.random.Generator, scale: int) -> None:
        self.round = round_
        self.color = tuple(int(c) for c in rng.integers(0, 256, 3))
        self.size = int(scale * rng.uniform(0.05, 0.14)) + 2
        self.fx, self.fy = float(rng.uniform(0.05, 0.4)), float(rng.uniform(0.05, 0.4))
        self.px, self.py = float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))

    def draw(self, image: np.ndarray, t: float) -> None:
        h, w = image.shape[:2]
        r = self.size
        x = int(w / 2 + (w / 2 - r) * math.sin(2 * math.pi * self.fx * t + self.px))
        y = int(h / 2 + (h / 2 - r) * math.sin(2 * math.pi * self.fy * t + self.py))
        if self.round:
            cv2.circle(image, (x, y), r, self.color, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(image, (x - r, y - r // 2), (x + r, y + r // 2), self.color, -1)


class SceneCamera(Camera):
    """A street-like synthetic scene: a panning background and shapes moving on their own
    paths, rendered for the clock's true time, overlay burned in, encoded as JPEG.

    The picture is a function of the seed and the time only, so a run is reproducible and
    consecutive frames differ.
    """

    def __init__(
        self, clock: SimClock, width: int = 640, height: int = 360, quality: int = 80, seed: int = 0
    ) -> None:
        if width < 16 or height < 16:
            raise SimulatorError(text("sim.hw.frame_size", width=width, height=height))
        if not 1 <= quality <= 100:
            raise SimulatorError(text("sim.hw.jpeg_quality", value=quality))
        self.clock = clock
        self.width = width
        self.height = height
        self.quality = quality
        self.seed = seed
        self.frames = 0
        self._failed = False
        rng = np.random.default_rng(seed)
        # The background is a smooth texture twice the frame's width; each frame is a window
        # into it, so panning costs one copy and no per-pixel arithmetic.
        cells = rng.integers(30, 226, (height // 24 + 2, width // 24 + 2, 3), dtype=np.uint8)
        tile = cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC)
        self._texture = np.concatenate([tile, tile[:, ::-1]], axis=1)  # mirrored: no seam
        self._shapes = [_Shape(i % 2 == 0, rng, min(width, height)) for i in range(_SHAPES)]
        self._pan = max(1, _PAN_PX_PER_S * width // 640)

    def render(self, t_ms: int) -> np.ndarray:
        """The scene at true time ``t_ms`` without the overlay (BGR, height x width x 3)."""
        w = self.width
        offset = (t_ms * self._pan // 1000) % (2 * w)
        if offset <= w:
            image = self._texture[:, offset : offset + w].copy()
        else:  # the window wraps around the texture's end
            image = np.concatenate(
                [self._texture[:, offset:], self._texture[:, : offset - w]], axis=1
            )
        t = (t_ms % 3_600_000_000) / 1000  # keep the phase arithmetic small and exact enough
        for shape in self._shapes:
            shape.draw(image, t)
        return image

    def encode(self, image: np.ndarray) -> bytes:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise SimulatorError(text("sim.hw.jpeg_refused", width=self.width, height=self.height))
        return data.tobytes()

    def picture(self, overlay: str) -> "np.ndarray | None":
        """The frame the sensor takes now, overlay burned in (BGR); None once it failed.
        ``read`` encodes it as JPEG; a video encoder (``simulator.hardware.encoder``) takes
        it as it is."""
        if self._failed:
            return None
        image = self.render(self.clock.true_ms)
        burn_overlay(image, overlay)
        self.frames += 1
        return image

    def read(self, overlay: str) -> tuple | None:
        image = self.picture(overlay)
        if image is None:
            return None
        return self.encode(image), True, self.clock.mono_ms()

    def working(self) -> bool:
        return not self._failed

    def fail(self) -> None:
        """The camera module stops answering (self-check fails, reads return None)."""
        self._failed = True

    def repair(self) -> None:
        self._failed = False
