"""postprocess: golden cases on hand-made boxes, and parity with torchvision's SSD postprocess."""

import math

import pytest
import torch

from benchmarks.postprocess import torchvision_postprocess, untrained_outputs
from ssd_rt.config import VOC_PRIORS
from ssd_rt.detections import Detections
from ssd_rt.errors import ConfigError, ShapeError
from ssd_rt.postprocess import postprocess
from ssd_rt.priors import default_boxes


def logits_for(probabilities):
    """Logits whose softmax is the given rows of class probabilities (background first)."""
    p = torch.tensor(probabilities, dtype=torch.float64)
    return (p / p.sum(dim=1, keepdim=True)).log().float().unsqueeze(0)  # [1, P, C]


def run(priors, probabilities, **kwargs):
    priors = torch.tensor(priors, dtype=torch.float32)
    loc = torch.zeros(1, priors.shape[0], 4)  # boxes are the priors themselves
    kwargs.setdefault("score_thresh", 0.2)
    return postprocess(loc, logits_for(probabilities), priors, **kwargs)[0]


A = (0.50, 0.5, 0.4, 0.4)
A_SHIFTED = (0.52, 0.5, 0.4, 0.4)  # IoU with A = 0.38*0.4 / (2*0.16 - 0.152) = 0.905
FAR = (0.15, 0.15, 0.1, 0.1)  # no overlap with A


def test_overlapping_boxes_of_one_class_are_suppressed():
    det = run([A, A_SHIFTED], [[0.1, 0.9, 0.0001], [0.2, 0.8, 0.0001]])
    assert det.labels.tolist() == [1]
    assert det.scores.tolist() == pytest.approx([0.9], abs=1e-3)
    torch.testing.assert_close(det.boxes_xyxy, torch.tensor([[0.3, 0.3, 0.7, 0.7]]))


def test_overlapping_boxes_of_different_classes_are_kept():
    det = run([A, A_SHIFTED], [[0.1, 0.9, 0.0001], [0.2, 0.0001, 0.8]])
    assert det.labels.tolist() == [1, 2]
    assert det.scores.tolist() == pytest.approx([0.9, 0.8], abs=1e-3)


def test_iou_threshold_decides():
    # IoU 0.905: suppressed at 0.45, kept when NMS only removes IoU above 0.95.
    probabilities = [[0.1, 0.9, 0.0001], [0.2, 0.8, 0.0001]]
    assert len(run([A, A_SHIFTED], probabilities, iou_thresh=0.45)) == 1
    assert len(run([A, A_SHIFTED], probabilities, iou_thresh=0.95)) == 2


def test_score_threshold_is_strict():
    det = run([A, FAR], [[0.5, 0.5, 0.0001], [0.7, 0.3, 0.0001]], score_thresh=0.3)
    assert det.scores.tolist() == pytest.approx([0.5], abs=1e-3)  # 0.3 is not above 0.3


def test_topk_per_class():
    det = run([A, FAR], [[0.1, 0.9, 0.0001], [0.2, 0.8, 0.0001]], topk_per_class=1)
    assert det.scores.tolist() == pytest.approx([0.9], abs=1e-3)


def test_max_det_keeps_the_best_across_classes():
    det = run([A, FAR], [[0.1, 0.6, 0.3], [0.2, 0.0001, 0.8]], max_det=2)
    assert det.labels.tolist() == [2, 1]
    assert det.scores.tolist() == pytest.approx([0.8, 0.6], abs=1e-3)


def test_frame_with_no_detections():
    det = run([A, FAR], [[0.95, 0.03, 0.02], [0.99, 0.005, 0.005]])
    assert len(det) == 0
    assert det.boxes_xyxy.shape == (0, 4)
    assert det.labels.dtype == torch.int64


def test_boxes_are_clipped_to_the_image():
    det = run([(0.05, 0.95, 0.3, 0.3)], [[0.1, 0.9]])
    torch.testing.assert_close(det.boxes_xyxy, torch.tensor([[0.0, 0.8, 0.2, 1.0]]))


def test_images_of_a_batch_are_independent():
    priors = torch.tensor([A, FAR])
    probs = torch.tensor([[[0.1, 0.9], [0.9, 0.1]], [[0.9, 0.1], [0.1, 0.9]]])
    dets = postprocess(torch.zeros(2, 2, 4), probs.log(), priors, score_thresh=0.5)
    assert [len(d) for d in dets] == [1, 1]
    torch.testing.assert_close(dets[0].boxes_xyxy, torch.tensor([[0.3, 0.3, 0.7, 0.7]]))
    torch.testing.assert_close(dets[1].boxes_xyxy, torch.tensor([[0.1, 0.1, 0.2, 0.2]]))


def test_to_pixels():
    det = Detections(torch.tensor([[0.1, 0.2, 0.5, 1.0]]), torch.tensor([0.9]), torch.tensor([3]))
    torch.testing.assert_close(
        det.to_pixels(640, 480).boxes_xyxy, torch.tensor([[64.0, 96.0, 320.0, 480.0]])
    )


def test_heavy_suppression_grows_the_candidate_set():
    """500 copies of one box score highest: all but one are suppressed, so the first NMS round
    (max_det * 4 candidates) keeps too few and must look further down to find the other boxes."""
    generator = torch.Generator().manual_seed(0)
    copies = torch.tensor([A]).repeat(500, 1)
    centres = torch.rand(100, 2, generator=generator) * 0.9 + 0.05
    small = torch.cat([centres, torch.full((100, 2), 0.02)], dim=1)
    priors = torch.cat([copies, small])
    p1 = torch.cat([torch.linspace(0.9, 0.8, 500), torch.linspace(0.7, 0.3, 100)])
    probs = torch.stack([1 - p1, p1], dim=1)
    loc = torch.zeros(1, 600, 4)
    ours = postprocess(loc, probs.log().unsqueeze(0), priors, max_det=10, topk_per_class=600)[0]
    theirs = torchvision_postprocess(
        loc, probs.log().unsqueeze(0), priors, max_det=10, topk_per_class=600
    )[0]
    assert len(ours) == 10
    torch.testing.assert_close(ours.scores, theirs["scores"])
    torch.testing.assert_close(ours.boxes_xyxy * 300, theirs["boxes"], atol=1e-4, rtol=0)
    assert ours.scores[0].item() == pytest.approx(0.9)
    assert ours.scores[1].item() == pytest.approx(0.7)  # the best of the small boxes


@pytest.mark.parametrize(("batch", "logit_scale"), [(2, 0.1), (2, 3.0), (1, 1.0)])
def test_parity_with_torchvision_postprocess_detections(batch, logit_scale):
    priors = default_boxes(VOC_PRIORS)
    loc, logits = untrained_outputs(batch, 21, "cpu", seed=int(logit_scale * 10))
    # Scales above ~5 saturate softmax to exact ties at 1.0, whose order no NMS defines.
    logits = logits * (logit_scale / 0.1)
    ours = postprocess(loc, logits, priors)
    theirs = torchvision_postprocess(loc, logits, priors)
    for o, t in zip(ours, theirs):
        assert len(o) == len(t["scores"]) > 0
        assert torch.equal(o.labels, t["labels"])
        torch.testing.assert_close(o.scores, t["scores"])
        torch.testing.assert_close(o.boxes_xyxy * 300, t["boxes"], atol=1e-3, rtol=0)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    priors = default_boxes(VOC_PRIORS)
    loc, logits = untrained_outputs(2, 21, "cpu")
    logits = logits * 30
    cpu = postprocess(loc, logits, priors)
    cuda = postprocess(loc.cuda(), logits.cuda(), priors)
    for c, g in zip(cpu, cuda):
        assert g.boxes_xyxy.is_cuda
        assert torch.equal(c.labels, g.labels.cpu())
        torch.testing.assert_close(c.boxes_xyxy, g.boxes_xyxy.cpu(), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score_thresh": 1.0}, r"score threshold must be in \[0, 1\)"),
        ({"score_thresh": math.nan}, "score threshold must be in"),
        ({"iou_thresh": 0.0}, r"IoU threshold must be in \(0, 1\]"),
        ({"topk_per_class": 0}, "topk_per_class must be a positive integer"),
        ({"max_det": 2.5}, "max_det must be a positive integer"),
    ],
)
def test_bad_thresholds(kwargs, message):
    priors = default_boxes(VOC_PRIORS)
    with pytest.raises(ConfigError, match=message):
        postprocess(torch.zeros(1, 8732, 4), torch.zeros(1, 8732, 3), priors, **kwargs)


@pytest.mark.parametrize(
    ("loc_shape", "logits_shape", "priors_shape", "message"),
    [
        ((8732, 4), (1, 8732, 3), (8732, 4), r"loc must be \[B, P, 4\]"),
        ((1, 8732, 4), (1, 8000, 3), (8732, 4), "logits must be"),
        ((1, 8732, 4), (1, 8732, 1), (8732, 4), "background plus at least one class"),
        ((1, 8732, 4), (1, 8732, 3), (8000, 4), r"priors must be \[8732, 4\]"),
    ],
)
def test_bad_shapes(loc_shape, logits_shape, priors_shape, message):
    with pytest.raises(ShapeError, match=message):
        postprocess(torch.zeros(loc_shape), torch.zeros(logits_shape), torch.zeros(priors_shape))
