"""`ssd-rt-bench`: per-backend latency and throughput against torchvision's SSD300 in one run.

    ssd-rt-bench --backends torch,onnxruntime[,tensorrt] [--model CKPT.pt] [--batches 1 8]
    ssd-rt-bench --backends onnxruntime,triton --model CKPT.pt --triton triton://HOST:PORT/NAME

For each backend and batch: preprocess (a 1280x720 BGR frame per image), infer and postprocess
medians, end-to-end latency (median, p90) over warm runs, and images/s. The baseline is
torchvision's `ssd300_vgg16` (eager, same classes, same frames, its own transform and
postprocess), and every row prints its ratio to it. Without --model a random full-width model
is timed (weights do not change the arithmetic).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import ssd_rt
from ssd_rt.backends.base import Backend, load_backend
from ssd_rt.checkpoint import load_model, save_checkpoint
from ssd_rt.cli.common import OneLineParser, comma_separated, command_entry, finite_float
from ssd_rt.config import SSDConfig
from ssd_rt.data.synthetic import random_scene
from ssd_rt.device import resolve_device, synchronize
from ssd_rt.errors import ConfigError
from ssd_rt.machine import describe_cpu
from ssd_rt.model import SSD300
from ssd_rt.postprocess import postprocess
from ssd_rt.preprocess import preprocess
from ssd_rt.pretrained import add_weights_option
from ssd_rt.priors import default_boxes

BACKEND_NAMES = ("torch", "torch-bf16", "onnxruntime", "onnxruntime-int8", "openvino",
                 "openvino-int8", "tensorrt", "triton")  # fmt: skip
CALIBRATION = "synthetic:64"  # INT8 rows without --model: calibrated on generated scenes


@dataclass
class Row:
    name: str
    batch: int
    pre_ms: float
    infer_ms: float
    post_ms: float
    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]

    @property
    def images_per_s(self) -> float:
        return self.batch * 1000.0 / self.median


def time_backend(backend: Backend, frames: list, runs: int, warmup: int) -> Row:
    device = backend.device
    priors = default_boxes(backend.info.config.priors).to(device)
    norm = backend.info.config.normalization
    pre, inf, post, total = [], [], [], []
    for i in range(warmup + runs):
        synchronize(device)
        t0 = time.perf_counter()
        images, sizes = preprocess(frames, device=device, normalization=norm)
        synchronize(device)
        t1 = time.perf_counter()
        loc, logits = backend.infer(images)
        synchronize(device)
        t2 = time.perf_counter()
        dets = postprocess(loc, logits, priors, score_thresh=0.4)
        _ = [d.to_pixels(*s) for d, s in zip(dets, sizes)]
        synchronize(device)
        t3 = time.perf_counter()
        if i >= warmup:
            pre.append((t1 - t0) * 1e3)
            inf.append((t2 - t1) * 1e3)
            post.append((t3 - t2) * 1e3)
            total.append((t3 - t0) * 1e3)
    med = statistics.median
    return Row(backend.describe(), len(frames), med(pre), med(inf), med(post), total)


def time_torchvision(
    num_classes: int, device: torch.device, frames: list, runs: int, warmup: int,
    amp_dtype: torch.dtype | None = None,
) -> Row:
    """torchvision's ssd300_vgg16 as users run it: list of RGB float images in [0, 1] -> boxes.
    `amp_dtype`: under that autocast, the like-for-like baseline of a reduced-precision row."""
    from torchvision.models.detection import ssd300_vgg16

    model = (
        ssd300_vgg16(weights=None, weights_backbone=None, num_classes=num_classes).eval().to(device)
    )
    model.score_thresh = 0.4
    pre, total = [], []
    with torch.inference_mode():
        for i in range(warmup + runs):
            synchronize(device)
            t0 = time.perf_counter()
            tensors = [
                torch.from_numpy(f[:, :, ::-1].copy()).to(device).permute(2, 0, 1).float() / 255
                for f in frames
            ]
            synchronize(device)
            t1 = time.perf_counter()
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                model(tensors)  # its transform (resize, normalize), network and postprocess
            synchronize(device)
            t2 = time.perf_counter()
            if i >= warmup:
                pre.append((t1 - t0) * 1e3)
                total.append((t2 - t0) * 1e3)
    rest = statistics.median(total) - statistics.median(pre)
    name = "torchvision ssd300_vgg16 (eager" + (", bf16 autocast)" if amp_dtype else ")")
    return Row(name, len(frames), statistics.median(pre), rest, 0.0, total)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="ssd-rt-bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends", default="torch,onnxruntime", help="comma list of " + ", ".join(BACKEND_NAMES)
    )
    parser.add_argument(
        "--model", help="checkpoint (.pt) or coco; default: random full-width SSD300"
    )
    add_weights_option(parser)
    parser.add_argument(
        "--width", type=finite_float, default=1.0, help="width of the random model (1.0)"
    )
    parser.add_argument("--triton", help="the triton row's model: triton://HOST:PORT/NAME (serve "
                        "the same model as --model to compare like for like)")  # fmt: skip
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per batch (10)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="CPU threads for torch and ONNX Runtime")
    parser.add_argument("--no-baseline", action="store_true", help="skip torchvision's SSD300")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = comma_separated(args.backends)
    unknown = [n for n in names if n not in BACKEND_NAMES]
    if unknown or not names:
        raise ConfigError(f"unknown backend(s) {unknown}; choose from {', '.join(BACKEND_NAMES)}")
    if ("triton" in names) != (args.triton is not None):
        raise ConfigError("the triton row and --triton triton://HOST:PORT/NAME go together")
    if any(b < 1 for b in args.batches) or args.runs < 1 or args.warmup < 0:
        raise ConfigError("--batches and --runs must be positive integers, --warmup >= 0")
    device = resolve_device(args.device)
    print(describe_cpu())  # CPU figures only compare between machines with the same sets
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="ssd-rt-bench-") as tmp:
        checkpoint = None
        if args.model is not None:
            from ssd_rt.pretrained import resolve_model

            checkpoint = resolve_model(args.model, args.weights, "checkpoint")
        if checkpoint is None:
            config = SSDConfig(num_classes=21, width=args.width)
            checkpoint = Path(tmp) / "model.pt"
            classes = [f"class{i}" for i in range(1, 21)]
            save_checkpoint(checkpoint, SSD300(config), config, classes)
        model, ckpt = load_model(checkpoint)
        paths = model_files(names, checkpoint, model, ckpt, Path(tmp))
        paths["triton"] = args.triton

        cfg = ckpt.config
        print(
            f"SSD300 width {cfg.width} norm {cfg.norm}, {cfg.num_classes} classes; "
            f"device {device}; "
            f"{torch.get_num_threads()} CPU threads; frames 1280x720; "
            f"median of {args.runs} warm runs"
        )
        header = (
            f"{'backend':<38} {'batch':>5} {'pre ms':>8} {'infer ms':>9} {'post ms':>8} "
            f"{'median ms':>10} {'p90 ms':>8} {'img/s':>7} {'vs tv':>7}"
        )
        if cfg.width != 1.0:
            print(f"note: the model has width {cfg.width}; torchvision's SSD300 is full width")
        print(header)
        for batch in args.batches:
            frames = [random_scene(i, 720, 1280) for i in range(batch)]
            baseline = baseline_bf16 = None
            if not args.no_baseline:
                baseline = time_torchvision(cfg.num_logits, device, frames, args.runs, args.warmup)
                _print_row(baseline, baseline)
                if "torch-bf16" in names:  # bf16 is compared with torchvision in bf16 too
                    baseline_bf16 = time_torchvision(cfg.num_logits, device, frames, args.runs,
                                                     args.warmup, torch.bfloat16)  # fmt: skip
                    _print_row(baseline_bf16, baseline)
            for name in names:
                backend = load_backend(
                    paths[name],
                    name.removesuffix("-bf16").removesuffix("-int8"),
                    device,
                    threads=args.threads,
                    max_batch=max(args.batches),
                    precision="bf16" if name == "torch-bf16" else None,
                )
                try:
                    row = time_backend(backend, frames, args.runs, args.warmup)
                    _print_row(row, baseline)
                    if name == "torch-bf16" and baseline_bf16 is not None:
                        like = row.median / baseline_bf16.median
                        print(f"{'':<38} like for like (torchvision bf16 autocast): {like:.2f}x")
                finally:
                    backend.close()
        print("vs tv = median end-to-end time / torchvision ssd300_vgg16's (lower is faster)")
    return 0


def model_files(names: list[str], checkpoint: Path, model, ckpt, tmp: Path) -> dict[str, Path]:
    """The file each backend row runs: the checkpoint, its ONNX (beside it, or exported: FP16
    when TensorRT is timed), and an INT8 QDQ ONNX calibrated on generated scenes."""
    from ssd_rt.model_format import ModelInfo

    paths = {"torch": checkpoint, "torch-bf16": checkpoint}
    if set(names) - set(paths) - {"triton"}:
        onnx_path = checkpoint.with_suffix(".onnx")
        if not onnx_path.is_file():
            from ssd_rt.export.onnx import export_onnx

            onnx_path = tmp / "model.onnx"
            precision = "fp16" if "tensorrt" in names else "fp32"
            export_onnx(model, ModelInfo(ckpt.config, ckpt.class_names, precision), onnx_path,
                        version=ssd_rt.__version__)  # fmt: skip
        paths["onnxruntime"] = paths["openvino"] = paths["tensorrt"] = onnx_path
    if any(name.endswith("-int8") for name in names):
        from ssd_rt.data.spec import open_dataset
        from ssd_rt.export.int8 import calibration_batches, quantize_onnx
        from ssd_rt.export.onnx import export_onnx
        from ssd_rt.model_format import read_onnx_info

        fp32, int8 = paths.get("onnxruntime"), tmp / "model_int8.onnx"
        info = ModelInfo(ckpt.config, ckpt.class_names, "fp32")
        if fp32 is None or read_onnx_info(fp32).precision != "fp32":  # else the one just written
            fp32 = tmp / "model_fp32.onnx"
            export_onnx(model, info, fp32, version=ssd_rt.__version__)
        scenes = open_dataset(CALIBRATION, "train")
        quantize_onnx(fp32, int8, calibration_batches(scenes, info, len(scenes)),
                      version=ssd_rt.__version__)  # fmt: skip
        paths["onnxruntime-int8"] = paths["openvino-int8"] = int8
    return paths


def _print_row(row: Row, baseline: Row | None) -> None:
    ratio = f"{row.median / baseline.median:6.2f}x" if baseline else "      -"
    print(
        f"{row.name:<38} {row.batch:>5} {row.pre_ms:>8.2f} {row.infer_ms:>9.2f} "
        f"{row.post_ms:>8.2f} "
        f"{row.median:>10.2f} {row.p90:>8.2f} {row.images_per_s:>7.1f} {ratio:>7}"
    )


def entry() -> None:
    command_entry("ssd-rt-bench", main)


if __name__ == "__main__":
    entry()
