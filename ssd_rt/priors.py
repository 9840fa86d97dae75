"""Default boxes (priors) of SSD300: the Caffe PriorBox geometry (Liu et al. 2016, sec. 2.2).

Boxes are (cx, cy, w, h) as fractions of the input, ordered map by map, then row, column, and the
per-location order [s, sqrt(s*s_next), r, 1/r, ...]. By default they are not clipped (the Caffe VOC
model sets clip=false), so boxes near the border may extend past [0, 1]; `PriorSpec.clip` clamps
each width and height to [0, 1] as torchvision's DefaultBoxGenerator does (its COCO model).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from ssd_rt.config import VOC_PRIORS, PriorSpec


def default_boxes(spec: PriorSpec = VOC_PRIORS) -> torch.Tensor:
    """Default boxes for `spec`: Tensor[num_priors, 4] (cx, cy, w, h), float32 on the CPU.

    Built once per spec and cached; the returned tensor is shared, so never modify it in place
    (use `.clone()` or `.to(device)`, which copies).
    """
    return _build(spec)


@lru_cache(maxsize=8)
def _build(spec: PriorSpec) -> torch.Tensor:
    size = float(spec.image_size)
    per_map = []
    for fmap, step, s_min, s_max, ratios in zip(
        spec.feature_maps, spec.steps, spec.min_sizes, spec.max_sizes, spec.aspect_ratios
    ):
        # Box shapes at one location, in pixels, in the Caffe order.
        shapes = [(s_min, s_min)]
        s_prime = math.sqrt(s_min * s_max)
        shapes.append((s_prime, s_prime))
        for r in ratios:
            shapes.append((s_min * math.sqrt(r), s_min / math.sqrt(r)))
            shapes.append((s_min / math.sqrt(r), s_min * math.sqrt(r)))
        wh = torch.tensor(shapes, dtype=torch.float64) / size  # [K, 2]
        if spec.clip:
            wh = wh.clamp(0.0, 1.0)

        centres = (torch.arange(fmap, dtype=torch.float64) + 0.5) * step / size  # [F]
        cy, cx = torch.meshgrid(centres, centres, indexing="ij")  # rows outer, columns inner
        cxcy = torch.stack([cx, cy], dim=-1).reshape(-1, 1, 2)  # [F*F, 1, 2]
        k = wh.shape[0]
        boxes = torch.cat(
            [cxcy.expand(-1, k, 2), wh.unsqueeze(0).expand(fmap * fmap, k, 2)], dim=-1
        )
        per_map.append(boxes.reshape(-1, 4))
    priors = torch.cat(per_map).to(torch.float32)
    assert priors.shape[0] == spec.num_priors
    return priors
