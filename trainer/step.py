"""One optimization step: normalize on the device, forward, match, MultiBox loss, backward.

Shared by the training loop and `benchmarks/train_step.py`, so what is timed is what trains.
"""

from __future__ import annotations

import torch

from ssd_rt.config import VARIANCES, Normalization
from ssd_rt.data.transforms import Batch
from ssd_rt.preprocess import normalize_uint8
from trainer.loss import LossParts, multibox_loss
from trainer.matching import match, pad_ground_truth


def forward_loss(
    model: torch.nn.Module,
    batch: Batch,
    priors_cxcywh: torch.Tensor,
    normalization: Normalization,
    *,
    variances: tuple[float, float] = VARIANCES,
    amp_dtype: torch.dtype | None = None,
) -> LossParts:
    """Loss of one batch (no backward). `amp_dtype`: bf16 / fp16 autocast on the model only."""
    device = priors_cxcywh.device
    loc, logits = forward_heads(model, batch, device, normalization, amp_dtype)
    gt, labels, valid = pad_ground_truth(batch.boxes, batch.labels, device)
    targets = match(priors_cxcywh, gt, labels, valid, variances=variances)
    return multibox_loss(loc, logits, targets)


def forward_heads(
    model: torch.nn.Module,
    batch: Batch,
    device: torch.device,
    normalization: Normalization,
    amp_dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 batch -> (loc [B, P, 4], logits [B, P, C]): normalize on the device, autocast."""
    images = normalize_uint8(batch.images.to(device, non_blocking=True), normalization)
    if device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    enabled = amp_dtype is not None
    with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=enabled):
        return model(images)
