"""MultiBox loss (Liu et al. 2016, eq. 1-3) with hard negative mining, batched.

    L = (L_loc + L_conf) / N,  N = positives in the batch (at least 1)
    L_loc  = smooth-L1 (beta 1) of the encoded offsets, summed over positives
    L_conf = cross-entropy summed over positives and, per image, the 3 x (its positives)
             background priors with the highest cross-entropy (hard negatives)

An image with no positive mines no negatives (as the paper and torchvision's SSD); a batch with
no positive at all gives a loss of 0 (finite, no NaN). Computed in float32 whatever the
network's precision: the cross-entropy of 8732 priors is summed, and FP16 sums lose it.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from trainer.matching import Targets

NEG_POS_RATIO = 3


class LossParts(NamedTuple):
    total: torch.Tensor  # scalar, what backward() runs on
    loc: torch.Tensor  # scalar, L_loc / N
    conf: torch.Tensor  # scalar, L_conf / N
    num_pos: torch.Tensor  # scalar int64, N before the clamp to 1


def hard_negatives(conf_loss: torch.Tensor, positive: torch.Tensor, ratio: int) -> torch.Tensor:
    """[B, P] losses and positive mask -> [B, P] mask of the mined negatives per image."""
    negative_loss = conf_loss.detach().masked_fill(positive, -float("inf"))
    order = negative_loss.argsort(dim=1, descending=True, stable=True)
    rank = order.argsort(dim=1)  # rank of each prior among its image's negatives
    num_neg = (ratio * positive.sum(dim=1, keepdim=True)).clamp(max=positive.shape[1])
    return (rank < num_neg) & ~positive


def multibox_loss(
    loc: torch.Tensor, logits: torch.Tensor, targets: Targets, *, neg_pos_ratio: int = NEG_POS_RATIO
) -> LossParts:
    """loc [B, P, 4], logits [B, P, C] (network outputs) and matched targets -> LossParts."""
    loc, logits = loc.float(), logits.float()
    positive = targets.labels > 0  # [B, P]
    num_pos = positive.sum()
    n = num_pos.clamp(min=1).float()

    loc_loss = F.smooth_l1_loss(loc[positive], targets.loc[positive], reduction="sum", beta=1.0)
    conf_loss = F.cross_entropy(logits.transpose(1, 2), targets.labels, reduction="none")  # [B, P]
    negative = hard_negatives(conf_loss, positive, neg_pos_ratio)
    conf = torch.where(positive | negative, conf_loss, 0.0).sum()
    return LossParts((loc_loss + conf) / n, loc_loss / n, conf / n, num_pos)
