"""Generated camera-like frames: smooth backgrounds, filled shapes, blur and sensor noise.

Random uniform noise is a poor stand-in for camera frames (no spatial correlation, no large flat
areas), so numerics tests and the demo use these. Fully determined by the seed.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_scene(seed: int, height: int = 300, width: int = 300) -> np.ndarray:
    """A BGR uint8 [height, width, 3] frame with a gradient sky, ground, shapes and noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = rng.uniform(60, 220, size=3).astype(np.float32)
    bottom = rng.uniform(20, 160, size=3).astype(np.float32)
    frame = (top * (1 - y) + bottom * y) * np.ones((1, width, 1), np.float32)
    for _ in range(int(rng.integers(3, 8))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        w = int(rng.integers(width // 16, width // 2))
        h = int(rng.integers(height // 16, height // 2))
        if rng.random() < 0.5:
            cv2.rectangle(frame, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), colour, -1)
        else:
            cv2.ellipse(
                frame, (cx, cy), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, colour, -1
            )
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
    frame += rng.normal(0.0, 6.0, size=frame.shape).astype(np.float32)  # sensor noise
    return np.clip(frame, 0, 255).astype(np.uint8)
