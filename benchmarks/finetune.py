"""Fine-tuning check: starting from a trained model beats starting from scratch on a small set.

    .venv/bin/python benchmarks/finetune.py [--base-steps 300] [--steps 200] [--train-images 300]

1. A base model: the slim SSD300 (`shapes-demo` settings, width 0.125) trained on the generated
   scenes (ellipse, rectangle, triangle, star; muted backgrounds; red/green/blue/yellow shapes).
2. A small custom data set written as VOC files with a different look: other colours per class,
   saturated striped and checkered backgrounds, and the classes ellipse, rectangle, triangle
   (shared with the base model) and cross (new); no star. `--train-images` for training, 200
   held-out images (another random stream) for scoring.
3. Two runs on it for the same steps, scored with VOC07 mAP@0.5 on the held-out images every
   `--eval-every` steps: `ssd-rt-train --preset finetune --init BASE` (transferred base, extras,
   box regression and the shared classes' rows), and training from scratch with the preset that
   trains this network from scratch (`shapes-demo`: AdamW 2e-3).

Prints mAP at each evaluation side by side and the steps each needs to reach 0.8. Exits 1 unless
fine-tuning is clearly ahead (at least 0.1 mAP at the last evaluation, or reaching 0.8 first).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import torch

from ssd_rt.data.synthetic import SceneObject, layout_scene, render_scene, voc_xml
from ssd_rt.machine import describe_cpu
from trainer.presets import resolve
from trainer.train import Trainer

BATCH = 16
TARGET = 0.8
NEW_LOOK_CLASSES = ("ellipse", "rectangle", "triangle", "cross")
NEW_LOOK_HUES = (150, 90, 15, 60)  # OpenCV hue: magenta, cyan, orange, green (was red/green/...)
CROSS_LABEL = 5  # synthetic.UNIT_POLYGONS index of the cross


def striped_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Saturated stripes or checks in two random colours, with grain: nothing like the base's."""
    colours = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    period = int(rng.integers(8, 40))
    yy, xx = np.mgrid[0:height, 0:width]
    if rng.random() < 0.5:
        pattern = ((xx + yy * rng.uniform(-1, 1)) // period) % 2
    else:
        pattern = ((xx // period) + (yy // period)) % 2
    frame = colours[pattern.astype(np.int64)]
    return frame + rng.normal(0, 8, size=frame.shape).astype(np.float32)


def new_look_scene(seed: int, split: int, index: int, size: int = 300):
    rng = np.random.default_rng([seed, 100 + split, index])
    background = striped_background(rng, size, size)
    objects = []
    for obj in layout_scene(rng, size, size, max_objects=5):
        label = CROSS_LABEL if obj.label == 4 else obj.label  # star -> cross
        hue = (NEW_LOOK_HUES[min(label, 4) - 1] + rng.integers(-6, 7)) % 180
        hsv = np.array([[[hue, rng.integers(170, 256), rng.integers(150, 256)]]], np.uint8)
        colour = tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])
        objects.append(SceneObject(label, obj.box_xyxy, colour))
    frame = render_scene(rng, objects, background)
    # VOC names index by label - 1: the cross (label 5) is the 4th class of this set.
    named = [SceneObject(min(o.label, 4), o.box_xyxy, o.colour_bgr) for o in objects]
    return frame, named


def write_new_look(root: Path, split: str, count: int, seed: int) -> None:
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        frame, objects = new_look_scene(seed, {"trainval": 0, "test": 1}[split], i)
        name = f"{split}_{i:05d}"
        cv2.imwrite(str(root / "JPEGImages" / f"{name}.jpg"), frame)
        (root / "Annotations" / f"{name}.xml").write_text(
            voc_xml(f"{name}.jpg", 300, 300, objects, NEW_LOOK_CLASSES)
        )
        names.append(name)
    (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(names) + "\n")


def train(name: str, preset: str, values: dict, out: Path) -> tuple[list[tuple[int, float]], float]:
    settings = resolve(preset, {"batch": BATCH, "workers": 1, "log_every": 50, **values})
    out.mkdir(parents=True)
    trainer = Trainer(settings, out, log=lambda m: print(f"  [{name}] {m}", flush=True))
    started = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["mAP_voc07"]) for r in rows if "mAP_voc07" in r], seconds


def steps_to(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((step for step, m in curve if m >= target), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-steps", type=int, default=300)
    parser.add_argument("--steps", type=int, default=200, help="steps of each run on the new set")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--train-images", type=int, default=300, help="the small custom set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    per_step = BATCH / 32  # presets count steps at batch 32
    print(describe_cpu())
    print(f"slim SSD300 (width 0.125), batch {BATCH}, {torch.get_num_threads()} CPU threads")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_run = tmp / "base"
        base = {"data": "synthetic:2000", "steps_at_32": args.base_steps * per_step,
                "eval_every": args.base_steps, "eval_images": 200}  # fmt: skip
        train("base", "shapes-demo", base, base_run)
        data = tmp / "new-look"
        write_new_look(data, "trainval", args.train_images, args.seed)
        write_new_look(data, "test", 200, args.seed)
        common = {"data": f"voc:{data}", "steps_at_32": args.steps * per_step,
                  "eval_every": args.eval_every, "eval_images": 200, "save_every": args.steps,
                  "seed": args.seed}  # fmt: skip
        init = {**common, "init": str(base_run / "best.pt")}
        tuned, tuned_s = train("finetune", "finetune", init, tmp / "finetune")
        fresh = {**common, "warmup_at_32": 50 * per_step}
        scratch, scratch_s = train("scratch", "shapes-demo", fresh, tmp / "scratch")

    print(f"\n{'step':>6} {'fine-tuned mAP':>15} {'from scratch mAP':>17}")
    for (step, a), (_, b) in zip(tuned, scratch):
        print(f"{step:>6} {a:>15.4f} {b:>17.4f}")
    reach = {n: steps_to(c, TARGET) for n, c in (("fine-tuned", tuned), ("from scratch", scratch))}
    for name, step in reach.items():
        print(f"{name}: reaches mAP {TARGET} at step {step if step else f'> {args.steps}'}")
    print(f"wall time: fine-tuned {tuned_s:.0f} s, from scratch {scratch_s:.0f} s "
          f"(scored on 200 held-out images; {args.train_images} training images)")  # fmt: skip
    last_gap = tuned[-1][1] - scratch[-1][1]
    a, b = reach["fine-tuned"], reach["from scratch"]
    first = a is not None and (b is None or a < b)
    print(f"fine-tuned - from scratch at step {tuned[-1][0]}: {last_gap:+.4f} mAP")
    return 0 if (last_gap >= 0.1 or first) and not math.isnan(last_gap) else 1


if __name__ == "__main__":
    sys.exit(main())
