"""Run a model over a data set and score it: the engine of `ssd-rt-eval` and of training's
validation. The model is any `infer(images) -> (loc, logits)`, so a backend and a network being
trained are evaluated by the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ssd_rt.config import Normalization, PostprocessConfig
from ssd_rt.detections import Detections
from ssd_rt.evaluation.metrics import (
    GroundTruth,
    VocResult,
    coco_evaluate,
    coco_ground_truth,
    to_coco_results,
    voc_evaluate,
)
from ssd_rt.postprocess import postprocess
from ssd_rt.preprocess import normalize_uint8, resize_uint8

METRICS = ("voc07", "voc", "coco")
EVAL_POSTPROCESS = PostprocessConfig(score_thresh=0.01, iou_thresh=0.45, max_det=200)  # paper


@dataclass
class Predictions:
    detections: list[Detections] = field(default_factory=list)  # pixels of each image
    ground_truth: list[GroundTruth] = field(default_factory=list)
    image_ids: list[int] = field(default_factory=list)
    sizes_hw: list[tuple[int, int]] = field(default_factory=list)


def _batches(dataset, batch: int, workers: int, limit: int | None):
    count = len(dataset) if limit is None else min(limit, len(dataset))
    subset = torch.utils.data.Subset(dataset, range(count))
    return torch.utils.data.DataLoader(
        subset, batch_size=batch, num_workers=workers, collate_fn=list, shuffle=False
    )


@torch.inference_mode()
def predict(
    infer: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    dataset,
    *,
    priors_cxcywh: torch.Tensor,
    normalization: Normalization,
    device: torch.device,
    size: int = 300,
    thresholds: PostprocessConfig = EVAL_POSTPROCESS,
    batch: int = 8,
    workers: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Predictions:
    """Detections (pixels) and ground truth of the first `limit` images of `dataset`."""
    out = Predictions()
    priors = priors_cxcywh.to(device)
    loader = _batches(dataset, batch, workers, limit)
    total = len(loader.dataset)
    for samples in loader:
        images = torch.stack([resize_uint8(s.image.to(device), size) for s in samples])
        loc, logits = infer(normalize_uint8(images, normalization))
        dets = postprocess(
            loc.float(),
            logits.float(),
            priors,
            score_thresh=thresholds.score_thresh,
            iou_thresh=thresholds.iou_thresh,
            topk_per_class=thresholds.topk_per_class,
            max_det=thresholds.max_det,
        )
        for s, d in zip(samples, dets):
            height, width = s.orig_size
            out.detections.append(d.to_pixels(width, height).to("cpu"))
            out.ground_truth.append(GroundTruth(s.boxes_xyxy, s.labels, s.difficult))
            out.image_ids.append(int(s.image_id))
            out.sizes_hw.append((height, width))
        if progress is not None:
            progress(len(out.image_ids), total)
    return out


@dataclass
class EvalResult:
    voc: dict[str, VocResult] = field(default_factory=dict)  # "voc07" / "voc" -> result
    coco: dict[str, float] | None = None
    coco_results: list[dict] = field(default_factory=list)

    def table(self) -> list[tuple[str, float]]:
        """(metric name, value) rows, each name saying exactly which metric it is."""
        rows = [(f"{r.metric} mAP@{r.iou:g}", r.mean_ap) for r in self.voc.values()]
        if self.coco is not None:
            rows += [(f"COCO {name}", value) for name, value in self.coco.items()]
        return rows

    def to_json(self) -> dict:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        report: dict = {}
        for key, r in self.voc.items():
            report[key] = {
                "metric": r.metric,
                "iou": r.iou,
                "mAP": clean(r.mean_ap),
                "per_class": {
                    c.name: {"AP": clean(c.ap), "ground_truth": c.num_gt, "detections": c.num_det}
                    for c in r.classes
                },
            }
        if self.coco is not None:
            report["coco"] = {k: round(v, 6) for k, v in self.coco.items()}
        return report


def score(
    predictions: Predictions,
    class_names: Sequence[str],
    *,
    metrics: Sequence[str] = METRICS,
    category_ids: Sequence[int | None] | None = None,
    coco_annotation_file: str | None = None,
) -> EvalResult:
    """The named metrics of `predictions`. COCO data is scored against its own JSON (crowd
    regions and mask areas included); other data against a COCO dict built from its boxes."""
    result = EvalResult()
    for key, use_07 in (("voc07", True), ("voc", False)):
        if key in metrics:
            result.voc[key] = voc_evaluate(
                predictions.detections, predictions.ground_truth, class_names, use_07_metric=use_07
            )
    if "coco" in metrics:
        cat_ids = list(category_ids) if category_ids else list(range(1, len(class_names) + 1))
        result.coco_results = to_coco_results(
            predictions.detections, predictions.image_ids, cat_ids
        )
        if coco_annotation_file is not None:
            ground_truth: dict | str = coco_annotation_file
        else:
            ground_truth = coco_ground_truth(
                predictions.ground_truth, predictions.image_ids, predictions.sizes_hw,
                class_names, cat_ids,
            )  # fmt: skip
        result.coco = coco_evaluate(
            result.coco_results, ground_truth, predictions.image_ids, category_ids=cat_ids
        )
    return result
