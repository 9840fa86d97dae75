"""How closely a reduced-precision model reproduces its reference's detections, box by box.

    rate = detection_agreement(fp32_dets, int8_dets, sizes_hw, min_score=0.3, tol_px=2.0)

mAP can stay within a point while individual boxes move; users comparing an INT8 model with its
FP32 source on their own footage see boxes, not mAP. A reference detection scoring at least
`min_score` is matched when the candidate has a detection of the same class whose four
coordinates all lie within `tol_px` of it at the network's input size (300x300), each candidate
box used once (greedy, the nearest first). The rate is matched / reference detections (1.0
when the reference has none).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ssd_rt.detections import Detections


def reference_count(reference: Sequence[Detections], min_score: float = 0.3) -> int:
    """How many reference detections the agreement is computed over (0: it says nothing)."""
    return sum(int((d.scores >= min_score).sum()) for d in reference)


def detection_agreement(
    reference: Sequence[Detections],
    candidate: Sequence[Detections],
    sizes_hw: Sequence[tuple[int, int]],
    *,
    min_score: float = 0.3,
    tol_px: float = 2.0,
    input_size: int = 300,
) -> float:
    """Share of `reference` detections above `min_score` found again in `candidate`."""
    if not len(reference) == len(candidate) == len(sizes_hw):
        raise ValueError("reference, candidate and sizes_hw must cover the same images")
    matched = total = 0
    for ref, cand, (height, width) in zip(reference, candidate, sizes_hw, strict=True):
        # pixels of the image -> pixels at the network's input size
        scale = torch.tensor([input_size / width, input_size / height] * 2)
        keep = ref.scores >= min_score
        ref_xyxy = ref.boxes_xyxy[keep] * scale  # [R, 4] at input size
        ref_labels = ref.labels[keep]
        total += len(ref_xyxy)
        if len(ref_xyxy) == 0 or len(cand.boxes_xyxy) == 0:
            continue
        cand_xyxy = cand.boxes_xyxy * scale  # [K, 4]
        distance = (ref_xyxy[:, None, :] - cand_xyxy[None, :, :]).abs().amax(-1)  # [R, K]
        distance[ref_labels[:, None] != cand.labels[None, :]] = float("inf")
        matched += _greedy_matches(distance, tol_px)
    return matched / total if total else 1.0


def _greedy_matches(distance: torch.Tensor, tol_px: float) -> int:
    """One-to-one pairs with distance <= tol_px, the closest pairs taken first."""
    pairs = (distance <= tol_px).nonzero().tolist()
    pairs.sort(key=lambda rk: float(distance[rk[0], rk[1]]))
    used_ref, used_cand = set(), set()
    for r, k in pairs:
        if r not in used_ref and k not in used_cand:
            used_ref.add(r)
            used_cand.add(k)
    return len(used_ref)
