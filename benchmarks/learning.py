"""Learning check: a slim SSD300 from scratch on generated scenes, our loss vs torchvision's.

    .venv/bin/python benchmarks/learning.py [--steps 1000] [--train-images 4000] [--width 0.125]

Two runs in one process, identical except for the loss: the `shapes-demo` preset (AdamW, slim
width, batch 16, the SSD augmentation), the same seeds, the same data order and augmentation,
the same steps. Run 1 trains with ours (`trainer.step.forward_loss`: batched matching and
MultiBox loss); run 2 with torchvision's SSD matcher (`SSDMatcher(0.5)` per image) and
`SSD.compute_loss` (hard negatives 3:1, smooth-L1 over positives). Both are scored with VOC07
11-point mAP@0.5 on a held-out split of generated scenes that no training step sees (split
"test": different scenes from "train" by construction). Prints wall time, images/s and mAP of
each, side by side. Target: ours >= 0.85 mAP.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.ssd import SSD
from torchvision.ops import box_convert, box_iou

from ssd_rt.config import VARIANCES, Normalization
from ssd_rt.data.transforms import Batch
from trainer.loss import LossParts
from trainer.presets import resolve
from trainer.step import forward_heads, forward_loss
from trainer.train import Trainer

TARGET_MAP = 0.85
BATCH = 16


class TorchvisionLoss:
    """torchvision's SSD target assignment and loss, called the way `SSD.forward` calls them."""

    def __init__(self) -> None:
        self.matcher = det_utils.SSDMatcher(0.5)
        # compute_loss reads only box_coder and neg_to_pos_ratio from the model; weights
        # (10, 10, 5, 5) are variances (0.1, 0.2), as torchvision's ssd300_vgg16 uses.
        self.ssd = argparse.Namespace(
            box_coder=det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)), neg_to_pos_ratio=3
        )

    def __call__(
        self,
        model: torch.nn.Module,
        batch: Batch,
        priors_cxcywh: torch.Tensor,
        normalization: Normalization,
        *,
        variances: tuple[float, float] = VARIANCES,
        amp_dtype: torch.dtype | None = None,
    ) -> LossParts:
        if variances != VARIANCES:
            raise ValueError("torchvision's box coder here is fixed to variances (0.1, 0.2)")
        device = priors_cxcywh.device
        loc, logits = forward_heads(model, batch, device, normalization, amp_dtype)  # as ours
        anchors_xyxy = box_convert(priors_cxcywh, "cxcywh", "xyxy")
        targets, matched = [], []
        for boxes, labels in zip(batch.boxes, batch.labels):  # torchvision loops per image
            boxes, labels = boxes.to(device), labels.to(device)
            targets.append({"boxes": boxes, "labels": labels})
            if boxes.numel() == 0:
                matched.append(torch.full((len(anchors_xyxy),), -1, dtype=torch.int64,
                                          device=device))  # fmt: skip
            else:
                matched.append(self.matcher(box_iou(boxes, anchors_xyxy)))
        losses = SSD.compute_loss(
            self.ssd,
            targets,
            {"bbox_regression": loc.float(), "cls_logits": logits.float()},
            [anchors_xyxy] * len(targets),
            matched,
        )
        num_pos = sum(int((m >= 0).sum()) for m in matched)
        loc_loss, conf_loss = losses["bbox_regression"], losses["classification"]
        return LossParts(loc_loss + conf_loss, loc_loss, conf_loss, torch.tensor(num_pos))


def train_once(name: str, loss_fn, args: argparse.Namespace, out: Path) -> dict:
    settings = resolve(
        "shapes-demo",
        {
            "data": f"synthetic:{args.train_images}:{args.seed}",
            "width": args.width,
            "steps_at_32": args.steps * BATCH / 32,  # the preset's batch, so exactly --steps
            "warmup_at_32": args.warmup * BATCH / 32,
            "batch": BATCH,
            "eval_every": args.steps,  # one evaluation, at the end
            "save_every": args.steps,
            "log_every": max(args.steps // 10, 1),
            "eval_images": args.eval_images,
            "seed": args.seed,
            "workers": args.workers,
        },
    )
    out.mkdir(parents=True)
    trainer = Trainer(settings, out, loss_fn=loss_fn,
                      log=lambda msg: print(f"  [{name}] {msg}", flush=True))  # fmt: skip
    started = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - started
    images = settings.steps(1) * settings.effective_batch(1)
    return {"name": name, "seconds": seconds, "images_per_s": images / seconds,
            "map": trainer.progress.best_map, "eval_images": trainer.eval_count()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--eval-images", type=int, default=500, help="held-out images scored")
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("ours", "torchvision"), help="run one side only")
    args = parser.parse_args()

    runs = [("ours", forward_loss), ("torchvision", TorchvisionLoss())]
    if args.only:
        runs = [r for r in runs if r[0] == args.only]
    print(f"slim SSD300 (width {args.width}) from scratch, generated scenes: "
          f"{args.train_images} training images, {args.steps} steps at batch {BATCH}, "
          f"{torch.get_num_threads()} CPU threads")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, loss_fn in runs:
            results.append(train_once(name, loss_fn, args, Path(tmp) / name))

    print(f"\n{'loss and matching':<20} {'wall time':>10} {'images/s':>9} {'VOC07 mAP@0.5':>14}")
    for r in results:
        print(f"{r['name']:<20} {r['seconds']:>9.0f}s {r['images_per_s']:>9.1f} {r['map']:>14.4f}")
    print(f"(mAP on {results[0]['eval_images']} held-out scenes; target for ours >= {TARGET_MAP})")
    if len(results) == 2:
        a, b = results
        print(f"ours / torchvision: wall time {a['seconds'] / b['seconds']:.2f}x, "
              f"mAP {a['map'] - b['map']:+.4f}")  # fmt: skip
    ours = next((r for r in results if r["name"] == "ours"), None)
    return 0 if ours is None or ours["map"] >= TARGET_MAP else 1


if __name__ == "__main__":
    sys.exit(main())
