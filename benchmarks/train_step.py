"""Training step against torchvision's ssd300_vgg16 training step, same batch, same device.

    .venv/bin/python benchmarks/train_step.py [--batch 8] [--runs 5] [--device cpu|cuda]

Both take the same 300x300 uint8 images and boxes, and time forward + loss + backward +
optimizer step (SGD, momentum 0.9). torchvision: `model(images, targets)` (its transform,
SSDMatcher per image, compute_loss). Ours: `trainer.step.forward_loss` (normalize on the
device, batched matching, MultiBox loss) on the same architecture (norm "none": plain VGG16,
as torchvision's), in fp32 and with bf16 autocast (AMP; on CPUs with AVX512-BF16 or AMX, and
on CUDA). Prints images/s and the ratio to torchvision. Target: >= 1.3x on CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torchvision.models.detection import ssd300_vgg16

from ssd_rt.config import SSDConfig
from ssd_rt.data.synthetic import SyntheticScenes
from ssd_rt.data.transforms import SSDEvalTransform, collate
from ssd_rt.device import synchronize
from ssd_rt.model import SSD300
from ssd_rt.priors import default_boxes
from trainer.step import forward_loss


def timed(step, runs: int, warmup: int, device: torch.device) -> float:
    samples = []
    for i in range(warmup + runs):
        synchronize(device)
        t0 = time.perf_counter()
        step()
        synchronize(device)
        if i >= warmup:
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    scenes = SyntheticScenes(args.batch, seed=0)
    batch = collate([SSDEvalTransform(300)(scenes[i]) for i in range(args.batch)])
    classes = len(SyntheticScenes.class_names) + 1

    torch.manual_seed(0)
    theirs = ssd300_vgg16(weights=None, weights_backbone=None, num_classes=classes).to(device)
    theirs.train()
    images = [(img.float() / 255).to(device) for img in batch.images]
    targets = [
        {"boxes": (b * 300).to(device), "labels": lab.to(device)}
        for b, lab in zip(batch.boxes, batch.labels)
    ]
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=1e-4, momentum=0.9)

    def step_theirs():
        losses = theirs(images, targets)
        opt_theirs.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        opt_theirs.step()

    config = SSDConfig(num_classes=classes, norm="none")
    ours = SSD300(config).to(device).train()
    if device.type == "cuda":
        ours.to(memory_format=torch.channels_last)
    priors = default_boxes(config.priors).to(device)
    opt_ours = torch.optim.SGD(ours.parameters(), lr=1e-4, momentum=0.9)

    def step_ours(amp):
        def step():
            parts = forward_loss(ours, batch, priors, config.normalization, amp_dtype=amp)
            opt_ours.zero_grad(set_to_none=True)
            parts.total.backward()
            opt_ours.step()

        return step

    rows = [("torchvision ssd300_vgg16 (fp32)", timed(step_theirs, args.runs, args.warmup, device))]
    rows.append(("ssd-rt (fp32)", timed(step_ours(None), args.runs, args.warmup, device)))
    rows.append(
        ("ssd-rt (bf16 autocast)", timed(step_ours(torch.bfloat16), args.runs, args.warmup, device))
    )
    print(
        f"training step, batch {args.batch}, 300x300, {classes} classes, {device}, "
        f"median of {args.runs}"
    )
    base = rows[0][1]
    for name, seconds in rows:
        print(
            f"  {name:<32} {seconds * 1000:8.0f} ms  {args.batch / seconds:6.2f} images/s  "
            f"{base / seconds:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
