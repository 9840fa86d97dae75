"""`ssd-rt-export`: checkpoint -> ONNX, and optionally -> TensorRT engine (on a GPU machine).

    ssd-rt-export CHECKPOINT --onnx OUT.onnx [--engine OUT.engine] [--fp16] [--max-batch N]
    ssd-rt-export CHECKPOINT --onnx OUT_int8.onnx --int8 --calib-data SPEC [--calib-images N]
    ssd-rt-export MODEL --triton-repo DIR [--name NAME] [--max-batch N] [--instances K]
                  [--platform onnxruntime|tensorrt|python]

--int8 writes an INT8 QDQ ONNX (post-training static quantization, calibrated on the first N
images of the training split of any --data spec), which ONNX Runtime, OpenVINO and TensorRT
(--engine: an explicitly quantized INT8 engine) all run. --triton-repo writes DIR/NAME for
Triton Inference Server (ssd_rt/triton/repository.py); clients use --model triton://HOST/NAME.

Existing outputs are never replaced unless --overwrite is given; everything that can be checked
(the checkpoint, TensorRT and a GPU for --engine, the numbers) is checked before anything is
written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ssd_rt.checkpoint import load_model
from ssd_rt.cli.common import OneLineParser, command_entry, finite_float
from ssd_rt.device import resolve_device, tensorrt_unavailable_reason
from ssd_rt.errors import ConfigError, SSDRTError
from ssd_rt.files import check_output_path
from ssd_rt.pretrained import add_weights_option


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(
        prog="ssd-rt-export", description="Export an ssd-rt checkpoint to ONNX and TensorRT."
    )
    parser.add_argument(
        "checkpoint", help="checkpoint written by ssd-rt-train (.pt), or coco (torchvision's); "
        "with --int8 also an FP32 .onnx"
    )
    add_weights_option(parser)
    parser.add_argument("--onnx", type=Path, help="ONNX file to write")
    parser.add_argument("--triton-repo", type=Path,
                        help="write a Triton model repository entry DIR/NAME instead")  # fmt: skip
    parser.add_argument("--name", default="ssd", help="the model's name in --triton-repo (ssd)")
    parser.add_argument("--instances", type=int, default=1,
                        help="Triton instances of the model (1)")  # fmt: skip
    parser.add_argument("--platform", default="onnxruntime",
                        help="Triton platform: onnxruntime, tensorrt or python (onnxruntime)")
    parser.add_argument(
        "--engine", type=Path, help="TensorRT engine to build (needs TensorRT + GPU)"
    )
    parser.add_argument("--fp16", action="store_true", help="FP16 graph (float32 I/O, L2Norm FP32)")
    parser.add_argument("--int8", action="store_true", help="INT8 QDQ graph (needs --calib-data)")
    parser.add_argument("--calib-data", help="calibration images: a --data spec (its train split)")
    parser.add_argument("--calib-images", type=int, default=300,
                        help="calibration images used (300)")  # fmt: skip
    parser.add_argument("--max-batch", type=int, default=8, help="engine profile max batch (8)")
    parser.add_argument("--opt-batch", type=int, help="batch the engine is tuned for (default 4)")
    parser.add_argument(
        "--workspace-gib", type=finite_float, default=2.0, help="builder workspace (2)"
    )
    parser.add_argument("--device", default="cuda", help="GPU that builds the engine (cuda)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.triton_repo is not None:
        return export_triton(args)
    if args.onnx is None:
        raise ConfigError("--onnx OUT.onnx (or --triton-repo DIR) is required")
    if args.max_batch < 1:
        raise ConfigError(f"--max-batch must be a positive integer, got {args.max_batch}")
    if args.opt_batch is not None and not 1 <= args.opt_batch <= args.max_batch:
        raise ConfigError(f"--opt-batch must be within 1..{args.max_batch}, got {args.opt_batch}")
    if not args.workspace_gib > 0:
        raise ConfigError(f"--workspace-gib must be positive, got {args.workspace_gib}")
    if args.int8 and args.fp16:
        raise ConfigError("--int8 and --fp16 exclude each other")
    if args.int8 and not args.calib_data:
        raise ConfigError("--int8 needs calibration images: --calib-data SPEC (a --data spec)")
    if args.calib_data and not args.int8:
        raise ConfigError("--calib-data is for --int8")
    if args.calib_images < 1:
        raise ConfigError(f"--calib-images must be a positive integer, got {args.calib_images}")
    if args.onnx.suffix.lower() != ".onnx":
        raise ConfigError(f"--onnx must name a .onnx file, got {args.onnx}")
    check_output_path(args.onnx, "--onnx", overwrite=args.overwrite)
    device = None
    if args.engine is not None:
        check_output_path(args.engine, "--engine", overwrite=args.overwrite)
        device = resolve_device(args.device)
        reason = tensorrt_unavailable_reason(device)
        if reason:
            raise SSDRTError(
                f"cannot build {args.engine}: {reason}; export ONNX here and build on a GPU machine"
            )

    from ssd_rt.export.bundle import EngineOptions, build_engine_files, write_onnx
    from ssd_rt.pretrained import resolve_model

    source = resolve_model(args.checkpoint, args.weights, "run" if args.int8 else "checkpoint")
    if args.int8:
        calibrated = write_int8_onnx(source, args.onnx, args.calib_data, args.calib_images)
        print(f"wrote {args.onnx} (int8 QDQ, calibrated on {calibrated} images, dynamic batch)")
    else:
        model, checkpoint = load_model(source)
        precision = "fp16" if args.fp16 else "fp32"
        write_onnx(model, checkpoint, args.onnx, precision)
        classes = len(checkpoint.class_names)
        print(f"wrote {args.onnx} ({precision}, {classes} classes, dynamic batch)")

    if args.engine is not None:
        options = EngineOptions(device, args.max_batch, args.opt_batch, args.workspace_gib)
        engine, sidecar = build_engine_files(args.onnx, args.engine, options,
                                             fp16=args.fp16)  # fmt: skip
        print(f"wrote {engine} and {sidecar.name} (batch 1..{args.max_batch})")
    return 0


def export_triton(args: argparse.Namespace) -> int:
    """MODEL (a checkpoint, an ONNX file of any precision, demo or coco) as repo/NAME."""
    import ssd_rt
    from ssd_rt.export.bundle import onnx_of
    from ssd_rt.model_format import model_kind
    from ssd_rt.pretrained import resolve_model
    from ssd_rt.triton.repository import RepositoryOptions, write_repository

    if args.onnx is not None or args.engine is not None or args.int8:
        raise ConfigError("--triton-repo takes a model as it is: export --onnx/--int8 first, "
                          "then pass that .onnx as MODEL")  # fmt: skip
    options = RepositoryOptions(args.name, args.platform, args.max_batch, args.instances)
    options.check()
    source = Path(resolve_model(args.checkpoint, args.weights, "run"))
    if model_kind(source) not in ("onnx", "checkpoint"):
        raise ConfigError(f"--triton-repo takes a checkpoint or an .onnx file, not {source.name}")
    with onnx_of(source, args.triton_repo / f".{args.name}.fp32.onnx") as onnx_path:
        entry = write_repository(onnx_path, args.triton_repo, options,
                                 version=ssd_rt.__version__, overwrite=args.overwrite)  # fmt: skip
    print(f"wrote {entry} ({args.platform}, max batch {args.max_batch}, {args.instances} "
          f"instance{'s' if args.instances > 1 else ''})")  # fmt: skip
    return 0


def write_int8_onnx(source: Path, out: Path, calib_data: str, calib_images: int) -> int:
    """The INT8 QDQ ONNX at `out` from a checkpoint or an FP32 ONNX file, calibrated on the
    training split of `calib_data`; returns how many images calibrated it. A checkpoint's FP32
    graph goes through a temporary file beside `out`, removed after (export/bundle.onnx_of)."""
    import ssd_rt
    from ssd_rt.data.spec import TRAIN_SPLITS, open_dataset, parse_data_spec
    from ssd_rt.export.bundle import onnx_of
    from ssd_rt.export.int8 import calibration_batches, quantize_onnx
    from ssd_rt.model_format import read_onnx_info

    spec = parse_data_spec(calib_data)
    with onnx_of(source, out.with_name(f".{out.stem}.fp32.onnx")) as fp32:
        info = read_onnx_info(fp32)
        dataset = open_dataset(spec, TRAIN_SPLITS[spec.kind], classes=info.class_names)
        quantize_onnx(fp32, out, calibration_batches(dataset, info, calib_images),
                      version=ssd_rt.__version__)  # fmt: skip
    return min(calib_images, len(dataset))


def entry() -> None:
    command_entry("ssd-rt-export", main)


if __name__ == "__main__":
    entry()
