"""Line charts as PNG with OpenCV (already a dependency; no plotting library needed).

Used for precision-recall curves (`ssd-rt-eval`) and training curves (`ssd-rt-train`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

COLOURS_BGR = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148))
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    return [lo + (hi - lo) * i / count for i in range(count + 1)]


def line_chart(
    path: str | Path,
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    size: tuple[int, int] = (640, 480),
) -> Path:
    """Draw (label, xs, ys) series on one set of axes and write a PNG; returns the path."""
    width, height = size
    left, right, top, bottom = 70, 20, 40, 50
    canvas = np.full((height, width, 3), 255, np.uint8)
    xs_all = np.concatenate([np.asarray(s[1], float) for s in series] or [np.zeros(1)])
    ys_all = np.concatenate([np.asarray(s[2], float) for s in series] or [np.zeros(1)])
    finite_x, finite_y = xs_all[np.isfinite(xs_all)], ys_all[np.isfinite(ys_all)]
    x0, x1 = xlim or (float(finite_x.min(initial=0)), float(finite_x.max(initial=1)))
    y0, y1 = ylim or (float(finite_y.min(initial=0)), float(finite_y.max(initial=1)))
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px = left + (x - x0) / (x1 - x0) * (width - left - right)
        py = height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)
        return np.stack([px, py], axis=1)

    cv2.rectangle(canvas, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    for t in _ticks(x0, x1):
        px = int(to_px(np.array([t]), np.array([y0]))[0, 0])
        cv2.line(canvas, (px, height - bottom), (px, height - bottom + 5), (0, 0, 0), 1)
        cv2.putText(canvas, f"{t:.3g}", (px - 15, height - bottom + 20), FONT, 0.4, (0, 0, 0), 1)
    for t in _ticks(y0, y1):
        py = int(to_px(np.array([x0]), np.array([t]))[0, 1])
        cv2.line(canvas, (left - 5, py), (left, py), (0, 0, 0), 1)
        cv2.putText(canvas, f"{t:.3g}", (5, py + 4), FONT, 0.4, (0, 0, 0), 1)
    cv2.putText(canvas, title, (left, 25), FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, xlabel, (width // 2 - 30, height - 12), FONT, 0.5, (0, 0, 0), 1)
    cv2.putText(canvas, ylabel, (5, top - 8), FONT, 0.45, (0, 0, 0), 1)
    for i, (label, xs, ys) in enumerate(series):
        colour = COLOURS_BGR[i % len(COLOURS_BGR)]
        pts = to_px(np.asarray(xs, float), np.asarray(ys, float))
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts) > 1:
            cv2.polylines(canvas, [np.round(pts).astype(np.int32)], False, colour, 2, cv2.LINE_AA)
        elif len(pts) == 1:
            cv2.circle(canvas, tuple(np.round(pts[0]).astype(int)), 3, colour, -1)
        y_legend = top + 20 + 18 * i
        cv2.line(canvas, (width - 180, y_legend - 4), (width - 160, y_legend - 4), colour, 2)
        cv2.putText(canvas, label[:22], (width - 155, y_legend), FONT, 0.45, (0, 0, 0), 1)
    path = Path(path)
    ok, png = cv2.imencode(".png", canvas)  # encoded here, written by Python: a full disk is
    if not ok:  # an OSError naming the file (cv2.imwrite only returns False, libpng prints)
        from ssd_rt.errors import SSDRTError

        raise SSDRTError(f"cannot encode the chart {path.name}")
    from ssd_rt.files import atomic_write_bytes

    atomic_write_bytes(path, lambda f: f.write(png.tobytes()))
    return path
