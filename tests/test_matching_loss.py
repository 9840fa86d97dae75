"""Matching and MultiBox loss: hand-made golden cases and parity with torchvision's SSD loss."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.ssd import SSD
from torchvision.ops import box_convert, box_iou

from ssd_rt.boxes import encode
from ssd_rt.config import VOC_PRIORS
from ssd_rt.priors import default_boxes
from trainer.loss import hard_negatives, multibox_loss
from trainer.matching import batched_iou, match, pad_ground_truth

# Five priors: the four quadrants and the whole image (cx, cy, w, h).
PRIORS = torch.tensor(
    [
        [0.25, 0.25, 0.5, 0.5],
        [0.75, 0.25, 0.5, 0.5],
        [0.25, 0.75, 0.5, 0.5],
        [0.75, 0.75, 0.5, 0.5],
        [0.5, 0.5, 1.0, 1.0],
    ]
)


def _match(boxes, labels):
    gt, lab, valid = pad_ground_truth(
        [torch.tensor(b, dtype=torch.float32).reshape(-1, 4) for b in boxes],
        [torch.tensor(x, dtype=torch.int64) for x in labels],
        torch.device("cpu"),
    )
    return match(PRIORS, gt, lab, valid)


def test_threshold_and_forced_best_prior():
    # A fills the top-left quadrant (IoU 1 with prior 0, 0.25 with the whole-image prior);
    # B is tiny: IoU 0.04 with prior 3, below 0.5, but it is its best prior, so it is positive.
    # C covers the bottom half: IoU 0.5 with prior 4 (>= 0.5 counts) and 0.5 with priors 2, 3.
    t = _match([[[0, 0, 0.5, 0.5], [0.6, 0.6, 0.7, 0.7]], []], [[1, 2], []])
    assert t.labels[0].tolist() == [1, 0, 0, 2, 0]
    assert t.matched[0].tolist() == [0, -1, -1, 1, -1]
    assert t.labels[1].tolist() == [0] * 5  # an image without objects: all background
    expected = encode(torch.tensor([[0.6, 0.6, 0.7, 0.7]]), PRIORS[3:4])
    torch.testing.assert_close(t.loc[0, 3:4], expected)
    torch.testing.assert_close(t.loc[0, 0], torch.zeros(4))  # a perfect fit encodes to 0
    half = _match([[[0, 0.5, 1, 1]]], [[3]])
    assert half.labels[0].tolist() == [0, 0, 3, 3, 3]


def test_two_objects_wanting_one_prior():
    # Both overlap prior 0 best; the better overlap (A, IoU 1) keeps it, B (IoU 0.64 with prior 0)
    # takes its best free prior: the whole-image one (IoU 0.16), ahead of the others (0).
    t = _match([[[0.1, 0.1, 0.5, 0.5], [0, 0, 0.5, 0.5]]], [[2, 1]])
    assert t.matched[0].tolist() == [1, -1, -1, -1, 0]
    assert t.labels[0].tolist() == [1, 0, 0, 0, 2]


def test_batched_iou_matches_torchvision():
    priors = box_convert(default_boxes(VOC_PRIORS), "cxcywh", "xyxy")
    gt = torch.rand(3, 4, 4)
    gt[..., 2:] += gt[..., :2]
    ours = batched_iou(priors, gt)
    for b in range(3):
        torch.testing.assert_close(ours[b], box_iou(priors, gt[b]))


def test_hard_negatives_take_the_highest_losses_per_image():
    loss = torch.tensor([[0.1, 5.0, 0.3, 0.2, 9.0, 0.4], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    positive = torch.tensor([[False, True, False, False, False, False], [False] * 6])
    neg = hard_negatives(loss, positive, ratio=3)
    # Image 0: one positive -> the three highest-loss negatives (9.0, 0.4, 0.3), never the positive.
    assert neg[0].tolist() == [False, False, True, False, True, True]
    assert not neg[1].any()  # no positive, no negatives mined


def test_loss_value_by_hand():
    logits = torch.zeros(1, 5, 3)
    logits[0, 0] = torch.tensor([0.0, 2.0, 0.0])  # the positive (label 1)
    logits[0, 1] = torch.tensor([0.0, 0.0, 3.0])  # the hardest negative
    loc = torch.zeros(1, 5, 4)
    loc[0, 0] = torch.tensor([0.5, -2.0, 0.0, 0.0])
    t = _match([[[0, 0, 0.5, 0.5]]], [[1]])  # prior 0 positive with loc target 0
    parts = multibox_loss(loc, logits, t)
    ce = lambda row, k: -F.log_softmax(row, 0)[k]  # noqa: E731
    smooth_l1 = 0.5 * 0.5**2 + (2.0 - 0.5)  # |0.5| < 1 -> 0.5 x^2; |-2| -> |x| - 0.5
    # Negatives: prior 1 (highest CE) and two of the three zero-logit priors (all equal CE).
    conf = ce(logits[0, 0], 1) + ce(logits[0, 1], 0) + 2 * ce(logits[0, 2], 0)
    assert parts.num_pos.item() == 1
    assert parts.loc.item() == pytest.approx(smooth_l1)
    assert parts.conf.item() == pytest.approx(conf.item(), rel=1e-6)
    assert parts.total.item() == pytest.approx(smooth_l1 + conf.item(), rel=1e-6)


def test_zero_positives_give_a_finite_loss_and_gradient():
    logits = torch.randn(2, 5, 3, requires_grad=True)
    loc = torch.randn(2, 5, 4, requires_grad=True)
    t = _match([[], []], [[], []])
    parts = multibox_loss(loc, logits, t)
    assert parts.total.item() == 0.0 and parts.num_pos.item() == 0
    parts.total.backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(loc.grad).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_parity_with_torchvision_compute_loss(seed):
    """Same matches -> the same loss as torchvision's SSD.compute_loss (BoxCoder 10,10,5,5)."""
    torch.manual_seed(seed)
    priors = default_boxes(VOC_PRIORS)
    batch, classes = 4, 6
    boxes, labels = [], []
    for i in range(batch):
        n = i * 2  # 0, 2, 4, 6 objects: one image without any
        xy = torch.rand(n, 2) * 0.7
        wh = torch.rand(n, 2) * 0.3 + 0.02
        boxes.append(torch.cat([xy, xy + wh], 1))
        labels.append(torch.randint(1, classes, (n,)))
    gt, lab, valid = pad_ground_truth(boxes, labels, torch.device("cpu"))
    targets = match(priors, gt, lab, valid)
    loc = torch.randn(batch, len(priors), 4)
    logits = torch.randn(batch, len(priors), classes)
    ours = multibox_loss(loc, logits, targets)

    fake_ssd = SimpleNamespace(
        box_coder=det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)), neg_to_pos_ratio=3
    )
    anchors = box_convert(priors, "cxcywh", "xyxy")
    theirs = SSD.compute_loss(
        fake_ssd,
        [{"boxes": b, "labels": x} for b, x in zip(boxes, labels)],
        {"bbox_regression": loc, "cls_logits": logits},
        [anchors] * batch,
        list(targets.matched),
    )
    assert ours.loc.item() == pytest.approx(theirs["bbox_regression"].item(), rel=1e-5)
    assert ours.conf.item() == pytest.approx(theirs["classification"].item(), rel=1e-5)
    assert not math.isnan(ours.total.item())


def test_matching_agrees_with_torchvision_ssd_matcher():
    """Without conflicts (distinct best priors) the assignment is torchvision's SSDMatcher's."""
    priors = default_boxes(VOC_PRIORS)
    matcher = det_utils.SSDMatcher(0.5)
    torch.manual_seed(3)
    for _ in range(5):
        xy = torch.rand(5, 2) * 0.6
        gt = torch.cat([xy, xy + torch.rand(5, 2) * 0.35 + 0.05], 1)
        g, lab, valid = pad_ground_truth([gt], [torch.arange(1, 6)], torch.device("cpu"))
        ours = match(priors, g, lab, valid).matched[0]
        quality = box_iou(gt, box_convert(priors, "cxcywh", "xyxy"))
        if quality.argmax(dim=1).unique().numel() < 5:
            continue  # a conflict: the tie rules differ (ours is deterministic)
        assert torch.equal(ours, matcher(quality))
