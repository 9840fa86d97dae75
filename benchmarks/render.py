"""Rendering cost of the video view: convert a 1080p frame and paint it with 50 boxes.

Measures the two steps the Qt main thread does per frame in `VideoView`:
  convert: BGR numpy frame -> the view's BGRA buffer as a Format_RGB32 QImage (`show_result`)
  paint:   `paintEvent` into a 1920x1080 image (scaled frame, 50 boxes with labels and scores,
           the stats lines), through `QWidget.render`, the same code that paints the window
and reports them against the frame budget at 60 FPS (16.7 ms; target under 4 ms), with
OpenCV's `draw_detections` on the same frame (how recordings are annotated) as the named
baseline measured in the same run.

Run: `QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render.py [--repeats 200]`
(offscreen is Qt's raster engine, what a desktop window paints with before it is shown).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QApplication

from gui.video_view import VideoView
from ssd_rt.detections import Detections
from ssd_rt.video.draw import draw_detections
from ssd_rt.video.frames import Frame, Result

HEIGHT, WIDTH, BOXES = 1080, 1920, 50
BUDGET_MS = 1000 / 60
TARGET_MS = 4.0
CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
           "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
           "train", "tvmonitor")  # fmt: skip


def scene(seed: int = 0) -> Result:
    """A noisy 1080p frame with 50 boxes of random classes, sizes and scores."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    xy = rng.uniform(0, [WIDTH - 200, HEIGHT - 200], (BOXES, 2))
    wh = rng.uniform(40, 200, (BOXES, 2))
    boxes = torch.tensor(np.concatenate([xy, xy + wh], 1), dtype=torch.float32)
    scores = torch.tensor(rng.uniform(0.3, 1.0, BOXES), dtype=torch.float32)
    labels = torch.tensor(rng.integers(1, len(CLASSES) + 1, BOXES), dtype=torch.int64)
    stats = ("display 59.8 FPS | inference 61.2 FPS | dropped 0",
             "ms: preprocess 1.1 infer 4.2 postprocess 0.9 render 0.1 | latency 21")  # fmt: skip
    return Result(Frame(image, 0, time.perf_counter()), Detections(boxes, scores, labels), stats)


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (fonts, glyph caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841 (keeps Qt alive)
    result = scene()
    view = VideoView(CLASSES)
    view.resize(WIDTH, HEIGHT)
    view.show_result(result, result.stats_lines)
    target = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)

    convert = median_ms(lambda: view.show_result(result, result.stats_lines), args.repeats)
    paint = median_ms(lambda: view.render(target), args.repeats)
    view.resize(1280, 720)  # a window smaller than the frame: drawn scaled
    small = QImage(1280, 720, QImage.Format.Format_RGB32)
    paint_scaled = median_ms(lambda: view.render(small), args.repeats)
    opencv = median_ms(lambda: draw_detections(result.frame.image_bgr.copy(), result.detections,
                                               CLASSES), args.repeats)  # fmt: skip
    total = convert + paint
    print(f"1080p frame, {BOXES} boxes with labels and scores, median of {args.repeats}:")
    print(f"  convert (show_result: BGR -> BGRA)   {convert:6.2f} ms")
    print(f"  paint (VideoView.paintEvent)         {paint:6.2f} ms")
    print(f"  paint into a 1280x720 window (scaled) {paint_scaled:5.2f} ms")
    print(f"  total                                {total:6.2f} ms = {total / BUDGET_MS:.1%} of "
          f"the {BUDGET_MS:.1f} ms budget at 60 FPS (target < {TARGET_MS:g} ms: "
          f"{'met' if total < TARGET_MS else 'NOT met'})")  # fmt: skip
    print(f"  baseline: OpenCV draw_detections (copy + 50 boxes) {opencv:6.2f} ms; "
          f"Qt convert+paint / OpenCV = {total / opencv:.2f}x")
    return 0 if total < TARGET_MS else 1  # a missed target is a failed run


if __name__ == "__main__":
    sys.exit(main())
