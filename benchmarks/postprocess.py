"""Post-processing time: ssd-rt's `postprocess` against torchvision SSD's `postprocess_detections`.

Both get the same raw outputs of the worst case, an untrained model: near-uniform softmax, so all
8732 x 20 class scores are above the 0.01 threshold and every class fills its 400 top-k slots.
torchvision's method is called unbound on a namespace holding its settings (the paper's values),
so no VGG16 is built. Run: `.venv/bin/python benchmarks/postprocess.py [--device cuda]`.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.ssd import SSD
from torchvision.ops import box_convert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssd_rt.config import VOC_PRIORS
from ssd_rt.postprocess import postprocess
from ssd_rt.priors import default_boxes

SCORE_THRESH, IOU_THRESH, TOPK, MAX_DET = 0.01, 0.45, 400, 200
TARGET_CPU = 0.30  # ours / torchvision's time, at most


def torchvision_postprocess(
    loc, logits, priors_cxcywh, *, size=300, topk_per_class=TOPK, max_det=MAX_DET
) -> list[dict[str, torch.Tensor]]:
    """torchvision's `SSD.postprocess_detections`, called unbound on the attributes it reads
    (set as torchvision's SSD300 sets them), with our priors as its anchors in pixels."""
    settings = SimpleNamespace(
        box_coder=det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)),  # = variances (0.1, 0.2)
        score_thresh=SCORE_THRESH,
        nms_thresh=IOU_THRESH,
        topk_candidates=topk_per_class,
        detections_per_img=max_det,
    )
    anchors_px = box_convert(priors_cxcywh, "cxcywh", "xyxy") * size
    head = {"bbox_regression": loc, "cls_logits": logits}
    batch = loc.shape[0]
    return SSD.postprocess_detections(settings, head, [anchors_px] * batch, [(size, size)] * batch)


def untrained_outputs(batch: int, num_classes: int, device: str, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    loc = torch.randn(batch, 8732, 4, generator=generator) * 0.5
    logits = torch.randn(batch, 8732, num_classes, generator=generator) * 0.1  # near uniform
    return loc.to(device), logits.to(device)


def time_ms(fn, repeats: int, device: str) -> float:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    priors = default_boxes(VOC_PRIORS).to(args.device)
    print(
        f"device {args.device}, {torch.get_num_threads()} threads, 21 classes, "
        "worst case (untrained logits)"
    )
    print(f"{'batch':>5} {'ssd-rt ms':>10} {'torchvision ms':>15} {'ratio':>7}")
    worst, all_same = 0.0, True
    for batch in args.batch:
        loc, logits = untrained_outputs(batch, 21, args.device)
        ours_fn = functools.partial(
            postprocess,
            loc,
            logits,
            priors,
            score_thresh=SCORE_THRESH,
            iou_thresh=IOU_THRESH,
            topk_per_class=TOPK,
            max_det=MAX_DET,
        )
        theirs_fn = functools.partial(torchvision_postprocess, loc, logits, priors)
        same = all(
            torch.equal(o.labels, t["labels"])
            and torch.allclose(o.boxes_xyxy * 300, t["boxes"], atol=1e-3)
            for o, t in zip(ours_fn(), theirs_fn())
        )
        ms_ours = time_ms(ours_fn, args.repeats, args.device)
        ms_theirs = time_ms(theirs_fn, args.repeats, args.device)
        worst, all_same = max(worst, ms_ours / ms_theirs), all_same and same
        print(
            f"{batch:>5} {ms_ours:>10.2f} {ms_theirs:>15.2f} {ms_ours / ms_theirs:>6.2f}x"
            f"   same detections: {'yes' if same else 'NO'}"
        )
    print(f"ratio = ssd-rt time / torchvision time (target <= {TARGET_CPU} on CPU)")
    if (args.device == "cpu" and worst > TARGET_CPU) or not all_same:
        missed = f"ratio {worst:.2f} > {TARGET_CPU}" if all_same else "detections differ"
        print(f"MISSED: {missed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
