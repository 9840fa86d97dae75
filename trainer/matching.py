"""Target assignment (Liu et al. 2016, section 2.2 "Matching strategy"), batched.

Each ground truth first takes the prior it overlaps most (so every object has a positive, even a
small one no prior fits at 0.5); then every other prior whose best IoU with any ground truth is
>= 0.5 is positive for that ground truth. The rest are background. Two objects that want the
same best prior: the one that overlaps it more gets it, and the other takes its best prior among
those left (Caffe SSD's greedy bipartite step; deterministic, unlike a scatter). That takes one
round per conflict depth: usually one.

All images of a batch are matched at once on the training device: ground truth is padded to the
largest count in the batch and masked, so there is no Python loop over images or boxes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torchvision.ops import box_convert

from ssd_rt.boxes import encode
from ssd_rt.config import VARIANCES

POSITIVE_IOU = 0.5


class Targets(NamedTuple):
    labels: torch.Tensor  # [B, P] int64: 0 background, 1..C the matched object's class
    loc: torch.Tensor  # [B, P, 4] encoded offsets (only meaningful where labels > 0)
    matched: torch.Tensor  # [B, P] int64: index of the matched ground truth, -1 for background


def pad_ground_truth(
    boxes: list[torch.Tensor], labels: list[torch.Tensor], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """B lists of [N_i, 4] / [N_i] -> boxes [B, G, 4], labels [B, G], valid [B, G] (G >= 1)."""
    g = max(1, max((len(b) for b in boxes), default=0))
    batch = len(boxes)
    boxes_pad = torch.zeros(batch, g, 4, device=device)
    labels_pad = torch.zeros(batch, g, dtype=torch.int64, device=device)
    valid = torch.zeros(batch, g, dtype=torch.bool, device=device)
    for i, (b, lab) in enumerate(zip(boxes, labels)):  # B small copies; the matching is batched
        n = len(b)
        boxes_pad[i, :n] = b.to(device, torch.float32)
        labels_pad[i, :n] = lab.to(device)
        valid[i, :n] = True
    return boxes_pad, labels_pad, valid


def batched_iou(priors_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> torch.Tensor:
    """priors [P, 4], gt [B, G, 4] -> IoU [B, P, G]."""
    lt = torch.maximum(priors_xyxy[None, :, None, :2], gt_xyxy[:, None, :, :2])
    rb = torch.minimum(priors_xyxy[None, :, None, 2:], gt_xyxy[:, None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=3)
    area_p = (priors_xyxy[:, 2:] - priors_xyxy[:, :2]).prod(dim=1)
    area_g = (gt_xyxy[..., 2:] - gt_xyxy[..., :2]).prod(dim=2)
    union = area_p[None, :, None] + area_g[:, None, :] - inter
    return inter / union.clamp(min=1e-12)


def force_best_priors(iou: torch.Tensor, gt_valid: torch.Tensor) -> torch.Tensor:
    """IoU [B, P, G] -> [B, P]: the object each prior is forced to (-1: none).

    Every valid object gets one prior of its own: its best, or, when a better-overlapping
    object took that one, its best among the priors still free.
    """
    batch, num_priors, _ = iou.shape
    forced_gt = torch.full((batch, num_priors), -1, dtype=torch.int64, device=iou.device)
    pending = gt_valid.clone()  # [B, G]
    free = torch.ones(batch, num_priors, dtype=torch.bool, device=iou.device)
    gt_index = torch.arange(iou.shape[2], device=iou.device).expand_as(pending)
    while bool(pending.any()):  # rounds = conflict depth (usually 1), never one per box
        available = iou.masked_fill(~free[..., None] | ~pending[:, None, :], -1.0)
        claim_iou, best_prior = available.max(dim=1)  # [B, G]: each object's best free prior
        claim_iou = claim_iou.masked_fill(~pending, -2.0)
        # Per prior, the highest claim (scatter amax: deterministic on CPU and CUDA) ...
        top = torch.full_like(free, -2.0, dtype=iou.dtype)
        top.scatter_reduce_(1, best_prior, claim_iou, reduce="amax")
        won_gt = pending & (claim_iou == torch.gather(top, 1, best_prior))  # [B, G]
        # ... and, among equal claims, the highest object index takes the prior.
        winner = torch.full_like(forced_gt, -1)
        winner.scatter_reduce_(1, best_prior, gt_index.masked_fill(~won_gt, -1), reduce="amax")
        won_prior = winner >= 0
        forced_gt = torch.where(won_prior, winner, forced_gt)
        free &= ~won_prior
        pending &= ~(won_gt & (torch.gather(winner, 1, best_prior) == gt_index))
    return forced_gt


def match(
    priors_cxcywh: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    gt_valid: torch.Tensor,
    *,
    iou_thresh: float = POSITIVE_IOU,
    variances: tuple[float, float] = VARIANCES,
) -> Targets:
    """priors [P, 4] (cx, cy, w, h fractions), padded gt [B, G, 4] xyxy fractions -> Targets."""
    priors_xyxy = box_convert(priors_cxcywh, "cxcywh", "xyxy")
    iou = batched_iou(priors_xyxy, gt_boxes)  # [B, P, G]
    iou = iou.masked_fill(~gt_valid[:, None, :], -1.0)
    best_iou, best_gt = iou.max(dim=2)  # [B, P]: each prior's best object

    forced_gt = force_best_priors(iou, gt_valid)  # [B, P], -1 where not forced
    forced = forced_gt >= 0
    best_gt = torch.where(forced, forced_gt, best_gt)

    positive = forced | (best_iou >= iou_thresh)
    matched_labels = torch.gather(gt_labels, 1, best_gt)
    labels = torch.where(positive, matched_labels, torch.zeros_like(matched_labels))
    matched_boxes = torch.gather(gt_boxes, 1, best_gt[..., None].expand(-1, -1, 4))  # [B, P, 4]
    # Background priors get a harmless box (the prior itself) so encode stays finite.
    matched_boxes = torch.where(positive[..., None], matched_boxes, priors_xyxy[None])
    loc = encode(matched_boxes, priors_cxcywh, variances)
    matched = torch.where(positive, best_gt, torch.full_like(best_gt, -1))
    return Targets(labels, loc, matched)
