"""Detection metrics that say which metric they are: VOC07 11-point, VOC area, COCO.

VOC (`voc_evaluate`) follows the devkit's `voc_eval` exactly: per class, detections in
descending score order; each takes the ground truth it overlaps most in its image; IoU strictly
above the threshold with a non-difficult, not-yet-matched ground truth is a true positive; with
a difficult one it is ignored (neither true nor false); otherwise (no overlap above the threshold,
or that ground truth already matched: a duplicate) it is a false positive. Recall is over
non-difficult ground truth. The 11-point AP (VOC2007) averages the best precision at recall
>= 0, 0.1, ..., 1; the area AP (VOC2010+) integrates the precision envelope.

Boxes are continuous pixel coordinates (see `ssd_rt.data.voc`: a VOC box is stored as
(xmin - 1, ymin - 1, xmax, ymax)), so the plain IoU here equals the devkit's "+1" IoU on the
original integers. Ties in score keep the order of the images (a stable sort; the devkit's
quicksort leaves ties in an unspecified order). A class with no non-difficult ground truth has
no AP (the devkit divides by zero); it is reported and left out of the mean.

COCO (`coco_evaluate`) is pycocotools' COCOeval, not a rewrite: AP@[.5:.95], AP50, AP75, AP for
small/medium/large objects and the AR figures.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from ssd_rt.detections import Detections
from ssd_rt.errors import ConfigError, SSDRTError

VOC_IOU = 0.5


class GroundTruth(NamedTuple):
    boxes_xyxy: torch.Tensor  # [N, 4] pixels
    labels: torch.Tensor  # [N] int64 1..C
    difficult: torch.Tensor  # [N] bool


@dataclass(frozen=True)
class ClassAP:
    name: str
    ap: float  # NaN where the class has no non-difficult ground truth
    num_gt: int  # non-difficult ground truth
    num_det: int
    recall: np.ndarray  # [num_det] cumulative, in descending score order
    precision: np.ndarray  # [num_det]


@dataclass(frozen=True)
class VocResult:
    metric: str  # "VOC07 11-point" or "VOC area"
    iou: float
    classes: tuple[ClassAP, ...]

    @property
    def mean_ap(self) -> float:
        """Mean over classes that have ground truth (NaN if none has)."""
        aps = [c.ap for c in self.classes if not math.isnan(c.ap)]
        return float(np.mean(aps)) if aps else math.nan


def ap_from_pr(recall: np.ndarray, precision: np.ndarray, use_07_metric: bool) -> float:
    """The devkit's `voc_ap`."""
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = float(np.max(precision[recall >= t])) if np.any(recall >= t) else 0.0
            ap += p / 11.0
        return ap
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """[A, 4] x [B, 4] xyxy -> [A, B] IoU (continuous coordinates, no +1)."""
    lt = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    rb = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (boxes_a[:, 2] - boxes_a[:, 0]) * (boxes_a[:, 3] - boxes_a[:, 1])
    area_b = (boxes_b[:, 2] - boxes_b[:, 0]) * (boxes_b[:, 3] - boxes_b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, np.finfo(np.float64).eps)


def _match_image(det_boxes: np.ndarray, gt_boxes: np.ndarray, gt_difficult: np.ndarray,
                 iou_thresh: float) -> np.ndarray:  # fmt: skip
    """One image, one class, detections in descending score order -> +1 TP, -1 FP, 0 ignored."""
    outcome = -np.ones(len(det_boxes), dtype=np.int8)
    if not len(gt_boxes) or not len(det_boxes):
        return outcome
    ious = _iou(det_boxes, gt_boxes)
    best = ious.argmax(axis=1)  # first maximum, as the devkit's np.argmax
    above = ious[np.arange(len(det_boxes)), best] > iou_thresh
    outcome[above & gt_difficult[best]] = 0
    hits = np.flatnonzero(above & ~gt_difficult[best])
    # A detection matching an already matched ground truth is a duplicate (FP): only the first
    # (highest-scoring) detection of each ground truth counts.
    _, first = np.unique(best[hits], return_index=True)
    outcome[hits[first]] = 1
    return outcome


def voc_evaluate(
    detections: Sequence[Detections],
    ground_truth: Sequence[GroundTruth],
    class_names: Sequence[str],
    *,
    use_07_metric: bool,
    iou_thresh: float = VOC_IOU,
) -> VocResult:
    """Per-class AP and mAP; detections and ground truth in pixels, one entry per image."""
    if len(detections) != len(ground_truth):
        raise ConfigError(
            f"{len(detections)} detection lists for {len(ground_truth)} images of ground truth"
        )
    dets = [(d.boxes_xyxy.double().cpu().numpy(), d.scores.double().cpu().numpy(),
             d.labels.cpu().numpy()) for d in detections]  # fmt: skip
    gts = [(g.boxes_xyxy.double().cpu().numpy(), g.labels.cpu().numpy(),
            g.difficult.cpu().numpy().astype(bool)) for g in ground_truth]  # fmt: skip
    results = []
    for label, name in enumerate(class_names, start=1):
        scores, outcomes = [], []
        num_gt = 0
        for (d_boxes, d_scores, d_labels), (g_boxes, g_labels, g_difficult) in zip(dets, gts):
            g_mask = g_labels == label
            num_gt += int((~g_difficult[g_mask]).sum())
            d_mask = d_labels == label
            order = np.argsort(-d_scores[d_mask], kind="stable")
            scores.append(d_scores[d_mask][order])
            outcomes.append(
                _match_image(
                    d_boxes[d_mask][order], g_boxes[g_mask], g_difficult[g_mask], iou_thresh
                )
            )
        score = np.concatenate(scores) if scores else np.zeros(0)
        outcome = np.concatenate(outcomes) if outcomes else np.zeros(0, np.int8)
        outcome = outcome[np.argsort(-score, kind="stable")]
        counted = outcome != 0  # detections of difficult objects are neither TP nor FP
        tp = np.cumsum(outcome[counted] == 1).astype(np.float64)
        fp = np.cumsum(outcome[counted] == -1).astype(np.float64)
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        if num_gt:
            recall = tp / num_gt
            ap = ap_from_pr(recall, precision, use_07_metric)
        else:
            recall, ap = np.zeros_like(tp), math.nan
        results.append(ClassAP(name, ap, num_gt, len(outcome), recall, precision))
    return VocResult("VOC07 11-point" if use_07_metric else "VOC area", iou_thresh, tuple(results))


# --- COCO -------------------------------------------------------------------------------------

COCO_STAT_NAMES = (
    "AP@[.5:.95]", "AP50", "AP75", "AP small", "AP medium", "AP large",
    "AR@1", "AR@10", "AR@100", "AR small", "AR medium", "AR large",
)  # fmt: skip


def to_coco_results(detections: Sequence[Detections], image_ids: Sequence[int],
                    category_ids: Sequence[int | None]) -> list[dict]:  # fmt: skip
    """Detections in pixels -> COCO results: [{image_id, category_id, bbox [x, y, w, h], score}].

    Labels whose category id is None (a model class the data has no category for) are left out.
    """
    results = []
    for dets, image_id in zip(detections, image_ids):
        boxes = dets.boxes_xyxy.double().cpu().tolist()
        for (x1, y1, x2, y2), score, label in zip(
            boxes, dets.scores.tolist(), dets.labels.tolist()
        ):
            if category_ids[label - 1] is None:
                continue
            results.append({
                "image_id": int(image_id),
                "category_id": int(category_ids[label - 1]),
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "score": float(score),
            })  # fmt: skip
    return results


def from_coco_results(results: Sequence[dict], image_ids: Sequence[int],
                      category_ids: Sequence[int]) -> list[Detections]:  # fmt: skip
    """COCO results -> one Detections per image id (sorted by score), labels 1..C."""
    label_of = {cid: i for i, cid in enumerate(category_ids, start=1)}
    per_image: dict[int, list[dict]] = {int(i): [] for i in image_ids}
    for r in results:
        if r["image_id"] not in per_image or r["category_id"] not in label_of:
            raise SSDRTError(
                f"result for image {r['image_id']}, category {r['category_id']} matches no "
                "image or class of the data set"
            )
        per_image[r["image_id"]].append(r)
    out = []
    for image_id in image_ids:
        rows = sorted(per_image[int(image_id)], key=lambda r: -r["score"])
        xywh = torch.tensor([r["bbox"] for r in rows], dtype=torch.float64).reshape(-1, 4)
        out.append(Detections(
            boxes_xyxy=torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1).float(),
            scores=torch.tensor([r["score"] for r in rows], dtype=torch.float32),
            labels=torch.tensor([label_of[r["category_id"]] for r in rows], dtype=torch.int64),
        ))  # fmt: skip
    return out


def coco_ground_truth(ground_truth: Sequence[GroundTruth], image_ids: Sequence[int],
                      sizes_hw: Sequence[tuple[int, int]], class_names: Sequence[str],
                      category_ids: Sequence[int]) -> dict:  # fmt: skip
    """A COCO-format ground truth dict for data sets that are not COCO files.

    Area is the box area (there are no masks); VOC "difficult" objects become iscrowd=1, the
    regions COCOeval ignores, the nearest COCO has to "neither true nor false positive".
    """
    images, annotations = [], []
    for gt, image_id, (h, w) in zip(ground_truth, image_ids, sizes_hw):
        images.append({"id": int(image_id), "height": int(h), "width": int(w)})
        rows = zip(gt.boxes_xyxy.double().tolist(), gt.labels.tolist(), gt.difficult.tolist())
        for (x1, y1, x2, y2), label, hard in rows:
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": int(image_id),
                "category_id": int(category_ids[label - 1]),
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": int(hard),
            })  # fmt: skip
    categories = [{"id": int(c), "name": n} for c, n in zip(category_ids, class_names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def coco_evaluate(
    results: list[dict],
    ground_truth: dict | str,
    image_ids: Sequence[int] | None = None,
    category_ids: Sequence[int | None] | None = None,
) -> dict[str, float]:
    """COCOeval (bbox) of results against a ground truth dict or instances JSON path.

    image_ids restricts the evaluation (e.g. to a --limit subset) and category_ids to the model's
    categories: COCOeval otherwise averages over every category in the file, and a model that
    knows only some of them scores low for categories it was never meant to detect (a perfect
    one-class model on a two-category file scored AP50 0.5). pycocotools' own printing is
    swallowed, its 12 numbers come back by name (-1 where a size range has no objects).
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise SSDRTError("COCO metrics need pycocotools: pip install 'ssd-rt[coco]'") from None
    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(ground_truth, dict):
            coco_gt = COCO()
            coco_gt.dataset = ground_truth
            coco_gt.createIndex()
        else:
            coco_gt = COCO(str(ground_truth))
        if not results:  # loadRes rejects an empty list; no detections scores 0
            return dict.fromkeys(COCO_STAT_NAMES, 0.0)
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
        if image_ids is not None:
            evaluator.params.imgIds = [int(i) for i in image_ids]
        if category_ids is not None:
            evaluator.params.catIds = sorted({int(c) for c in category_ids if c is not None})
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(COCO_STAT_NAMES, evaluator.stats)}
