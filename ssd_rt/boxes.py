"""Box coding of SSD against default boxes, with the Caffe variances (0.1, 0.2).

    encode: t_cx = (g_cx - p_cx) / (v0 * p_w),  t_w = log(g_w / p_w) / v1   (and y, h alike)
    decode: the inverse, with t_w * v1 clamped at ln(1000/16) before exp so a wild regression
            (or FP16 noise) cannot overflow to inf.
All boxes here are in the same units (fractions of the input unless stated otherwise).
"""

from __future__ import annotations

import math

import torch
from torchvision.ops import box_convert

from ssd_rt.config import VARIANCES
from ssd_rt.errors import ShapeError

# Largest log size ratio decode accepts, as in torchvision's BoxCoder and Detectron.
LOG_SIZE_CLAMP = math.log(1000.0 / 16)


def _check_boxes(name: str, boxes: torch.Tensor) -> None:
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ShapeError(
            f"{name} must have 4 values in its last dimension, got shape {tuple(boxes.shape)}"
        )


def encode(
    gt_xyxy: torch.Tensor,
    priors_cxcywh: torch.Tensor,
    variances: tuple[float, float] = VARIANCES,
) -> torch.Tensor:
    """Regression targets: gt_xyxy [..., N, 4] matched to priors [N, 4] -> loc [..., N, 4]."""
    _check_boxes("gt_xyxy", gt_xyxy)
    _check_boxes("priors_cxcywh", priors_cxcywh)
    gt = box_convert(gt_xyxy, "xyxy", "cxcywh")
    p_c, p_wh = priors_cxcywh[..., :2], priors_cxcywh[..., 2:]
    t_c = (gt[..., :2] - p_c) / (variances[0] * p_wh)
    t_wh = torch.log(gt[..., 2:] / p_wh) / variances[1]
    return torch.cat([t_c, t_wh], dim=-1)


def decode(
    loc: torch.Tensor,
    priors_cxcywh: torch.Tensor,
    variances: tuple[float, float] = VARIANCES,
) -> torch.Tensor:
    """Boxes from regression outputs: loc [..., N, 4], priors [N, 4] -> boxes_xyxy [..., N, 4]."""
    _check_boxes("loc", loc)
    _check_boxes("priors_cxcywh", priors_cxcywh)
    if loc.shape[-2] != priors_cxcywh.shape[-2]:
        raise ShapeError(
            f"loc has {loc.shape[-2]} boxes but there are {priors_cxcywh.shape[-2]} priors"
        )
    p_c, p_wh = priors_cxcywh[..., :2], priors_cxcywh[..., 2:]
    c = p_c + loc[..., :2] * variances[0] * p_wh
    wh = p_wh * torch.exp(torch.clamp(loc[..., 2:] * variances[1], max=LOG_SIZE_CLAMP))
    return box_convert(torch.cat([c, wh], dim=-1), "cxcywh", "xyxy")
