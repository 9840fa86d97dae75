"""A loaded model plus its thresholds: BGR frames in, detections in frame pixels out.

    detector = Detector(backend, conf=0.4, iou=0.45, classes=("car", "person"))
    detections, timings_ms = detector.detect([frame_bgr, ...])

Preprocess, inference and postprocess all run on the backend's device (the data flow in
docs/architecture.md); only the final detections (a few hundred numbers) come back to the CPU.
Thresholds and the class filter can change between calls from another thread (the GUI's live
controls): each call reads them once, so a frame never mixes two settings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ssd_rt.backends.base import Backend
from ssd_rt.config import PostprocessConfig
from ssd_rt.detections import Detections
from ssd_rt.device import synchronize
from ssd_rt.errors import ConfigError
from ssd_rt.postprocess import postprocess
from ssd_rt.preprocess import preprocess
from ssd_rt.priors import default_boxes

STAGES = ("preprocess", "infer", "postprocess")


@dataclass(frozen=True)
class Settings:
    conf: float = 0.4
    iou: float = 0.45
    labels: frozenset[int] | None = None  # labels shown (1..C-1); None: all


def labels_for(names: Sequence[str] | None, class_names: Sequence[str]) -> frozenset[int] | None:
    """Class names -> their labels; a name the model does not have is a ConfigError."""
    if names is None:
        return None
    unknown = [n for n in names if n not in class_names]
    if unknown:
        raise ConfigError(
            f"the model has no class {unknown[0]!r}; its classes are {', '.join(class_names)}"
        )
    return frozenset(class_names.index(n) + 1 for n in names)


class Detector:
    def __init__(self, backend: Backend, *, conf: float = 0.4, iou: float = 0.45,
                 classes: Sequence[str] | None = None) -> None:  # fmt: skip
        self.backend = backend
        self.device = backend.device
        info = backend.info
        self.priors = default_boxes(info.config.priors).to(self.device)
        self.normalization = info.config.normalization
        self.variances = info.config.variances
        self.settings = Settings()
        self.configure(conf=conf, iou=iou, classes=classes)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.backend.class_names

    @property
    def max_batch(self) -> int | None:
        return self.backend.max_batch

    def configure(self, *, conf: float | None = None, iou: float | None = None,
                  classes: Sequence[str] | type(...) | None = ...) -> None:  # fmt: skip
        """Change thresholds / class filter (checked; takes effect on the next call)."""
        s = self.settings
        conf = s.conf if conf is None else conf
        iou = s.iou if iou is None else iou
        PostprocessConfig(score_thresh=conf, iou_thresh=iou)  # the range checks, one place
        labels = s.labels if classes is ... else labels_for(classes, self.class_names)
        self.settings = Settings(conf, iou, labels)  # one assignment: readers see old or new

    def detect(self, frames: Sequence[np.ndarray]) -> tuple[list[Detections], dict[str, float]]:
        """BGR uint8 frames -> (detections per frame in its pixels, on the CPU; ms per stage)."""
        s = self.settings
        times = [time.perf_counter()]
        images, sizes = preprocess(
            list(frames),
            size=self.backend.input_size,
            normalization=self.normalization,
            device=self.device,
        )
        synchronize(self.device)
        times.append(time.perf_counter())
        loc, logits = self.backend.infer(images)
        synchronize(self.device)
        times.append(time.perf_counter())
        batch = postprocess(loc, logits, self.priors, score_thresh=s.conf, iou_thresh=s.iou,
                            max_det=100, variances=self.variances)  # fmt: skip
        results = []
        for dets, (width, height) in zip(batch, sizes):
            if s.labels is not None:
                keep = torch.isin(dets.labels, torch.tensor(sorted(s.labels), device=self.device))
                dets = dets.filter(keep)
            results.append(dets.to_pixels(width, height).to("cpu"))  # CPU-GPU sync point
        times.append(time.perf_counter())
        timings = {stage: (b - a) * 1e3 for stage, a, b in zip(STAGES, times, times[1:])}
        return results, timings
