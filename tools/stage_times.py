"""Per-stage timing of one SSD300 of any width on a generated frame (random weights).

    python tools/stage_times.py [--width 1.0] [--device auto|cpu|cuda] [--runs 10]

Runs the inference path the video pipeline runs per frame: preprocess (BGR uint8 frame ->
normalized 300x300), the network, and postprocess (decode, NMS) back to frame pixels, and prints
the median of each stage. The weights are random (any width, any device, no model file needed),
so the boxes are meaningless; the shapes and the timings are real. The demo itself (moving
shapes and the model shipped for them) is `ssd-rt --source demo` (`make demo`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from ssd_rt.cli.common import positive_int, run_command
from ssd_rt.config import PostprocessConfig, SSDConfig
from ssd_rt.data.synthetic import random_scene
from ssd_rt.device import resolve_device, synchronize
from ssd_rt.errors import ConfigError
from ssd_rt.model import SSD300
from ssd_rt.postprocess import postprocess
from ssd_rt.preprocess import preprocess
from ssd_rt.priors import default_boxes

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tools/stage_times.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0 = paper)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--runs", type=positive_int, default=10, help="timed runs (default: 10)")
    parser.add_argument("--frame", default="720x1280", help="generated frame HEIGHTxWIDTH")
    parser.add_argument("--conf", type=float, default=0.4, help="score threshold to print")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def parse_frame_size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--frame must be HEIGHTxWIDTH, e.g. 720x1280; got {text!r}") from None
    if not (16 <= height <= 8192 and 16 <= width <= 8192):
        raise ConfigError(f"--frame sides must be 16..8192 pixels, got {height}x{width}")
    return height, width


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    height, width = parse_frame_size(args.frame)
    thresholds = PostprocessConfig(score_thresh=args.conf)
    config = SSDConfig(num_classes=len(VOC_CLASSES) + 1, width=args.width)

    torch.manual_seed(args.seed)
    model = SSD300(config).eval().to(device)
    priors = default_boxes(config.priors).to(device)
    frame = random_scene(args.seed, height, width)
    params = sum(p.numel() for p in model.parameters())
    print(f"SSD300 width {config.width} norm {config.norm}: {params:,} parameters on {device}")
    print(f"frame {width}x{height} BGR uint8, {config.priors.num_priors} default boxes")

    stages: dict[str, list[float]] = {"preprocess": [], "network": [], "postprocess": []}
    with torch.inference_mode():
        for run in range(args.runs + 1):  # run 0 warms up and is not counted
            synchronize(device)
            t0 = time.perf_counter()
            images, sizes = preprocess(frame, device=device, normalization=config.normalization)
            synchronize(device)
            t1 = time.perf_counter()
            loc, logits = model(images)
            synchronize(device)
            t2 = time.perf_counter()
            detections = postprocess(
                loc,
                logits,
                priors,
                score_thresh=thresholds.score_thresh,
                iou_thresh=thresholds.iou_thresh,
                topk_per_class=thresholds.topk_per_class,
                max_det=thresholds.max_det,
            )[0].to_pixels(*sizes[0])
            synchronize(device)
            t3 = time.perf_counter()
            if run:
                stages["preprocess"].append((t1 - t0) * 1e3)
                stages["network"].append((t2 - t1) * 1e3)
                stages["postprocess"].append((t3 - t2) * 1e3)

    print("random weights: detections are not meaningful until a trained model ships")
    print(f"{len(detections)} detections above score {thresholds.score_thresh}; the first 5:")
    for box, score, label in list(zip(detections.boxes_xyxy, detections.scores, detections.labels))[
        :5
    ]:
        x1, y1, x2, y2 = (round(v) for v in box.tolist())
        print(f"  {VOC_CLASSES[int(label) - 1]:<12} {score:.3f}  [{x1}, {y1}, {x2}, {y2}] px")
    total = 0.0
    print(f"median over {args.runs} runs:")
    for stage, samples in stages.items():
        ms = statistics.median(samples)
        total += ms
        print(f"  {stage:<12} {ms:8.2f} ms")
    print(f"  {'total':<12} {total:8.2f} ms  ({1000 / total:.1f} frames/s)")
    return 0


def entry() -> None:
    sys.exit(run_command("ssd-rt-demo", main))


if __name__ == "__main__":
    entry()
