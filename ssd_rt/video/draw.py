"""Boxes, labels and the stats line drawn onto BGR frames with OpenCV (recordings, headless).

The Qt viewer paints the same things with QPainter; both take their colours from
`class_colour_bgr`, so a class has one colour everywhere.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from ssd_rt.detections import Detections

FONT = cv2.FONT_HERSHEY_SIMPLEX


def class_colour_bgr(label: int) -> tuple[int, int, int]:
    """A distinct, stable colour per label (golden-ratio hue steps, full saturation)."""
    hue = (label * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_detections(image_bgr: np.ndarray, detections: Detections, class_names: tuple[str, ...],
                    *, labels: bool = True, scores: bool = True) -> np.ndarray:  # fmt: skip
    """Draw boxes (frame pixels) in place on `image_bgr` [H, W, 3] uint8 and return it."""
    height, width = image_bgr.shape[:2]
    thickness = max(1, round(min(height, width) / 300))
    scale = max(0.4, min(height, width) / 900)
    for box, score, label in zip(detections.boxes_xyxy.tolist(), detections.scores.tolist(),
                                 detections.labels.tolist()):  # fmt: skip
        colour = class_colour_bgr(label)
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(image_bgr, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
        text = " ".join(
            t
            for t in (
                (class_names[label - 1] if labels else ""),
                (f"{score:.2f}" if scores else ""),
            )
            if t
        )
        if text:
            (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
            top = max(y1 - th - base - 2, 0)
            cv2.rectangle(image_bgr, (x1, top), (x1 + tw + 4, top + th + base + 2), colour, -1)
            cv2.putText(image_bgr, text, (x1 + 2, top + th + 1), FONT, scale, (0, 0, 0), 1,
                        cv2.LINE_AA)  # fmt: skip
    return image_bgr


def draw_text_lines(image_bgr: np.ndarray, lines: list[str]) -> np.ndarray:
    """White text on a dark band at the top left (FPS, stage timings)."""
    scale = max(0.45, image_bgr.shape[0] / 1200)
    y = 4
    for line in lines:
        (tw, th), base = cv2.getTextSize(line, FONT, scale, 1)
        cv2.rectangle(image_bgr, (4, y), (12 + tw, y + th + base + 4), (0, 0, 0), -1)
        cv2.putText(image_bgr, line, (8, y + th + 2), FONT, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
        y += th + base + 6
    return image_bgr
