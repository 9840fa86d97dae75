"""Metrics against references: the VOC devkit's voc_eval (transcribed) and pycocotools."""

import json
import math

import numpy as np
import pytest
import torch

from ssd_rt.detections import Detections
from ssd_rt.evaluation.metrics import (
    COCO_STAT_NAMES,
    GroundTruth,
    ap_from_pr,
    coco_evaluate,
    coco_ground_truth,
    from_coco_results,
    to_coco_results,
    voc_evaluate,
)


def devkit_voc_eval(dets, gts, label, use_07_metric, ovthresh=0.5):
    """py-faster-rcnn's voc_eval, line for line, on VOC integer boxes (1-based, inclusive).

    dets: list per image of (boxes [K, 4] VOC ints, scores, labels); gts: (boxes, labels, diff).
    The one change: a stable sort of scores (the devkit's quicksort orders ties arbitrarily).
    """
    class_recs, npos = {}, 0
    for i, (g_boxes, g_labels, g_diff) in enumerate(gts):
        m = g_labels == label
        class_recs[i] = {"bbox": g_boxes[m], "difficult": g_diff[m], "det": [False] * int(m.sum())}
        npos += int((~g_diff[m]).sum())
    image_ids, confidence, bb_list = [], [], []
    for i, (d_boxes, d_scores, d_labels) in enumerate(dets):
        for box, score, lab in zip(d_boxes, d_scores, d_labels):
            if lab == label:
                image_ids.append(i)
                confidence.append(score)
                bb_list.append(box)
    confidence = np.array(confidence)
    BB = np.array(bb_list, dtype=float).reshape(-1, 4)
    sorted_ind = np.argsort(-confidence, kind="stable")
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]
    nd = len(image_ids)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R["bbox"].astype(float)
        if BBGT.size > 0:
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + 1.0, 0.0)
            ih = np.maximum(iymax - iymin + 1.0, 0.0)
            inters = iw * ih
            uni = (
                (bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0)
                + (BBGT[:, 2] - BBGT[:, 0] + 1.0) * (BBGT[:, 3] - BBGT[:, 1] + 1.0)
                - inters
            )
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > ovthresh:
            if not R["difficult"][jmax]:
                if not R["det"][jmax]:
                    tp[d] = 1.0
                    R["det"][jmax] = 1
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return ap_from_pr(rec, prec, use_07_metric)


def _voc_to_continuous(boxes_voc: np.ndarray) -> torch.Tensor:
    """VOC 1-based inclusive ints -> ssd-rt continuous pixels (see ssd_rt.data.voc)."""
    return torch.tensor(boxes_voc - np.array([1, 1, 0, 0]), dtype=torch.float64).float()


def _gt(boxes, labels, difficult=None):
    n = len(labels)
    return GroundTruth(
        torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        torch.tensor(labels, dtype=torch.int64),
        torch.tensor(difficult or [False] * n),
    )


def _det(boxes, scores, labels):
    return Detections(
        torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        torch.tensor(scores, dtype=torch.float32),
        torch.tensor(labels, dtype=torch.int64),
    )


@pytest.mark.parametrize("use_07", [True, False])
def test_perfect_detections_score_one(use_07):
    gts = [_gt([[10, 10, 50, 50], [60, 60, 90, 100]], [1, 2]), _gt([[0, 0, 20, 30]], [1])]
    dets = [
        _det([[10, 10, 50, 50], [60, 60, 90, 100]], [0.9, 0.8], [1, 2]),
        _det([[0, 0, 20, 30]], [0.7], [1]),
    ]
    result = voc_evaluate(dets, gts, ["a", "b"], use_07_metric=use_07)
    assert [c.ap for c in result.classes] == pytest.approx([1.0, 1.0])
    assert result.mean_ap == pytest.approx(1.0)


def test_one_false_positive_above_the_true_one():
    gts = [_gt([[10, 10, 50, 50]], [1])]
    dets = [_det([[100, 100, 150, 150], [10, 10, 50, 50]], [0.9, 0.8], [1, 1])]
    area = voc_evaluate(dets, gts, ["a"], use_07_metric=False).classes[0]
    assert area.ap == pytest.approx(0.5)  # recall 1 reached at precision 1/2
    eleven = voc_evaluate(dets, gts, ["a"], use_07_metric=True).classes[0]
    assert eleven.ap == pytest.approx(0.5)
    below = [_det([[10, 10, 50, 50], [100, 100, 150, 150]], [0.9, 0.8], [1, 1])]
    assert voc_evaluate(below, gts, ["a"], use_07_metric=False).classes[0].ap == 1.0


def test_difficult_objects_are_neither_true_nor_false_positives():
    gts = [_gt([[10, 10, 50, 50], [60, 60, 100, 100]], [1, 1], [False, True])]
    found_both = [_det([[60, 60, 100, 100], [10, 10, 50, 50]], [0.9, 0.8], [1, 1])]
    result = voc_evaluate(found_both, gts, ["a"], use_07_metric=False).classes[0]
    assert result.num_gt == 1 and result.ap == 1.0  # the difficult hit costs nothing
    missed_difficult = [_det([[10, 10, 50, 50]], [0.8], [1])]
    assert voc_evaluate(missed_difficult, gts, ["a"], use_07_metric=False).classes[0].ap == 1.0


def test_duplicates_of_one_object_count_once():
    gts = [_gt([[10, 10, 50, 50]], [1])]
    dets = [
        _det([[10, 10, 50, 50], [11, 11, 50, 50], [10, 10, 51, 51]], [0.9, 0.8, 0.7], [1, 1, 1])
    ]
    c = voc_evaluate(dets, gts, ["a"], use_07_metric=False).classes[0]
    np.testing.assert_allclose(c.recall, [1, 1, 1])
    np.testing.assert_allclose(c.precision, [1, 1 / 2, 1 / 3])
    assert c.ap == 1.0  # the duplicates come after full recall
    rev = [
        _det([[100, 100, 140, 140], [10, 10, 50, 50], [11, 11, 50, 50]], [0.9, 0.8, 0.7], [1, 1, 1])
    ]
    assert voc_evaluate(rev, gts, ["a"], use_07_metric=False).classes[0].ap == pytest.approx(0.5)


def test_iou_exactly_at_the_threshold_is_not_a_match():
    gts = [_gt([[0, 0, 10, 10]], [1])]
    dets = [_det([[0, 0, 10, 20]], [0.9], [1])]  # IoU = 100 / 200 = 0.5, devkit needs > 0.5
    assert voc_evaluate(dets, gts, ["a"], use_07_metric=False).classes[0].ap == 0.0


def test_class_without_ground_truth_has_no_ap_and_stays_out_of_the_mean():
    gts = [_gt([[10, 10, 50, 50]], [1])]
    dets = [_det([[10, 10, 50, 50], [0, 0, 5, 5]], [0.9, 0.5], [1, 2])]
    result = voc_evaluate(dets, gts, ["a", "b"], use_07_metric=True)
    assert math.isnan(result.classes[1].ap) and result.mean_ap == pytest.approx(1.0)


def _random_case(rng, images=30, classes=3):
    """VOC-integer ground truth and jittered detections with false positives and duplicates."""
    gts_voc, dets_voc = [], []
    for _ in range(images):
        n = int(rng.integers(0, 6))
        x1 = rng.integers(1, 300, n)
        y1 = rng.integers(1, 200, n)
        g = np.stack([x1, y1, x1 + rng.integers(5, 150, n), y1 + rng.integers(5, 150, n)], 1)
        g_labels = rng.integers(1, classes + 1, n)
        g_diff = rng.random(n) < 0.2
        gts_voc.append((g.reshape(-1, 4), g_labels, g_diff))
        d = np.repeat(g.reshape(-1, 4), 2, axis=0) + rng.integers(-12, 13, (2 * n, 4))
        fp = rng.integers(1, 300, (int(rng.integers(0, 4)), 1)) + np.array([0, 0, 40, 40])
        d = np.concatenate([d, fp]).reshape(-1, 4)
        d[:, 2:] = np.maximum(d[:, 2:], d[:, :2] + 1)
        d_labels = np.concatenate([np.repeat(g_labels, 2), rng.integers(1, classes + 1, len(fp))])
        d_labels = np.where(
            rng.random(len(d_labels)) < 0.1, rng.integers(1, classes + 1, len(d_labels)), d_labels
        )
        scores = np.round(rng.random(len(d)), 2)  # 2 decimals: ties happen
        dets_voc.append((d, scores, d_labels))
    return gts_voc, dets_voc


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("use_07", [True, False])
def test_parity_with_the_devkit_on_random_detections(seed, use_07):
    rng = np.random.default_rng(seed)
    gts_voc, dets_voc = _random_case(rng)
    gts = [
        GroundTruth(_voc_to_continuous(b), torch.tensor(lab), torch.tensor(d))
        for b, lab, d in gts_voc
    ]
    dets = [
        Detections(_voc_to_continuous(b), torch.tensor(s, dtype=torch.float32), torch.tensor(lab))
        for b, s, lab in dets_voc
    ]
    ours = voc_evaluate(dets, gts, ["a", "b", "c"], use_07_metric=use_07)
    # Scores as float32 in ours: the reference must see the same values to order ties alike.
    dets_f32 = [(b, s.astype(np.float32), lab) for b, s, lab in dets_voc]
    for label, c in enumerate(ours.classes, start=1):
        assert c.ap == pytest.approx(devkit_voc_eval(dets_f32, gts_voc, label, use_07), abs=1e-12)
    assert 0.1 < ours.mean_ap < 0.95  # a case with real errors in it


# --- COCO ---------------------------------------------------------------------------------------


def _coco_case(seed):
    rng = np.random.default_rng(seed)
    gts_voc, dets_voc = _random_case(rng, images=20)
    gts = [
        GroundTruth(_voc_to_continuous(b), torch.tensor(lab), torch.tensor(d * 0, dtype=torch.bool))
        for b, lab, d in gts_voc
    ]
    dets = [
        Detections(_voc_to_continuous(b), torch.tensor(s, dtype=torch.float32), torch.tensor(lab))
        for b, s, lab in dets_voc
    ]
    return gts, dets


def test_coco_wrapper_equals_pycocotools_on_a_file(tmp_path):
    pytest.importorskip("pycocotools", reason="needs the coco extra")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gts, dets = _coco_case(3)
    image_ids = [1000 + 7 * i for i in range(len(gts))]  # ids that are not indices
    category_ids = [5, 17, 90]  # gapped ids, as COCO's own
    sizes = [(480, 640)] * len(gts)
    ours = coco_evaluate(
        to_coco_results(dets, image_ids, category_ids),
        coco_ground_truth(gts, image_ids, sizes, ["a", "b", "c"], category_ids),
    )
    # The reference: the same objects written by hand as COCO files and run with pycocotools.
    images = [{"id": i, "height": 480, "width": 640} for i in image_ids]
    anns, results = [], []
    for image_id, g, d in zip(image_ids, gts, dets):
        for box, lab in zip(g.boxes_xyxy.tolist(), g.labels.tolist()):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": image_id,
                    "iscrowd": 0,
                    "area": w * h,
                    "category_id": category_ids[lab - 1],
                    "bbox": [box[0], box[1], w, h],
                }
            )
        for box, s, lab in zip(d.boxes_xyxy.tolist(), d.scores.tolist(), d.labels.tolist()):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": category_ids[lab - 1],
                    "score": s,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
    cats = [{"id": c, "name": n} for c, n in zip(category_ids, "abc")]
    (tmp_path / "gt.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    (tmp_path / "dt.json").write_text(json.dumps(results))
    coco = COCO(str(tmp_path / "gt.json"))
    evaluator = COCOeval(coco, coco.loadRes(str(tmp_path / "dt.json")), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert list(ours) == list(COCO_STAT_NAMES)
    np.testing.assert_allclose(list(ours.values()), evaluator.stats, atol=1e-12)
    assert 0.05 < ours["AP@[.5:.95]"] < 0.9


def test_coco_perfect_detections_and_difficult_as_crowd():
    pytest.importorskip("pycocotools", reason="needs the coco extra")
    gts = [_gt([[10, 10, 110, 110], [200, 200, 300, 300]], [1, 1], [False, True])]
    dets = [_det([[10, 10, 110, 110]], [0.9], [1])]
    gt = coco_ground_truth(gts, [1], [(400, 400)], ["a"], [1])
    assert [a["iscrowd"] for a in gt["annotations"]] == [0, 1]
    stats = coco_evaluate(to_coco_results(dets, [1], [1]), gt)
    assert stats["AP@[.5:.95]"] == pytest.approx(1.0) and stats["AP50"] == pytest.approx(1.0)
    assert coco_evaluate([], gt)["AP@[.5:.95]"] == 0.0


def test_coco_results_round_trip_through_json():
    _, dets = _coco_case(4)
    image_ids = list(range(50, 50 + len(dets)))
    text = json.dumps(to_coco_results(dets, image_ids, [3, 1, 2]))
    back = from_coco_results(json.loads(text), image_ids, [3, 1, 2])
    assert len(back) == len(dets)
    for a, b in zip(dets, back):
        order = torch.argsort(a.scores, descending=True, stable=True)
        torch.testing.assert_close(b.boxes_xyxy, a.boxes_xyxy[order], atol=1e-4, rtol=0)
        assert torch.equal(b.labels, a.labels[order])
        torch.testing.assert_close(b.scores, a.scores[order])


def test_coco_scores_only_the_models_categories(tmp_path):
    """A perfect one-class model on a COCO file with a second category (and a crowd region of
    its own class) scores AP 1.0: COCOeval is restricted to the model's categories. Averaged
    over the file's two categories, as before, it scored AP50 0.5."""
    pytest.importorskip("pycocotools")
    from ssd_rt.data.coco import CocoDataset
    from ssd_rt.evaluation.evaluate import Predictions, score
    from tests.data_files import make_coco

    images = [{"id": 7, "file_name": "a.jpg", "height": 200, "width": 300},
              {"id": 9, "file_name": "b.jpg", "height": 200, "width": 300}]  # fmt: skip
    anns = [
        {"id": 1, "image_id": 7, "category_id": 5, "bbox": [10, 10, 100, 80], "area": 8000,
         "iscrowd": 0},
        {"id": 2, "image_id": 9, "category_id": 5, "bbox": [150, 20, 60, 90], "area": 5400,
         "iscrowd": 0},
        {"id": 3, "image_id": 9, "category_id": 5, "bbox": [0, 120, 120, 70], "area": 8400,
         "iscrowd": 1},
        {"id": 4, "image_id": 7, "category_id": 8, "bbox": [180, 100, 90, 90], "area": 8100,
         "iscrowd": 0},
    ]  # fmt: skip
    ann, image_dir = make_coco(tmp_path, images, anns,
                               [{"id": 5, "name": "cat"}, {"id": 8, "name": "dog"}])  # fmt: skip
    dataset = CocoDataset(ann, image_dir, classes=("cat",))
    assert dataset.category_ids == (5,)

    def dets(*boxes_xywh):
        xyxy = [[x, y, x + w, y + h] for x, y, w, h in boxes_xywh]
        n = len(xyxy)
        return Detections(torch.tensor(xyxy, dtype=torch.float32), torch.full((n,), 0.9),
                          torch.ones(n, dtype=torch.int64))  # fmt: skip

    predictions = Predictions(
        detections=[dets([10, 10, 100, 80]), dets([150, 20, 60, 90], [0, 120, 120, 70])],
        image_ids=[7, 9],
    )  # the second image's extra detection lies on the crowd region: ignored, not false
    result = score(predictions, ("cat",), metrics=("coco",), category_ids=dataset.category_ids,
                   coco_annotation_file=str(ann))  # fmt: skip
    assert result.coco["AP50"] == pytest.approx(1.0)
    assert result.coco["AP@[.5:.95]"] == pytest.approx(1.0)
    assert {r["category_id"] for r in result.coco_results} == {5}


def test_coco_file_without_any_model_class_is_an_error(tmp_path):
    from ssd_rt.data.coco import CocoDataset
    from ssd_rt.errors import DataError
    from tests.data_files import make_coco

    image = {"id": 1, "file_name": "a.jpg", "height": 50, "width": 50}
    ann, image_dir = make_coco(tmp_path, [image], [], [{"id": 1, "name": "cat"}])
    with pytest.raises(DataError, match="has none of the model's classes"):
        CocoDataset(ann, image_dir, classes=("star", "ellipse"))
