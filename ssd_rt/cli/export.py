"""`ssd-rt-export`: checkpoint -> ONNX, and optionally -> TensorRT engine (on a GPU machine).

    ssd-rt-export CHECKPOINT --onnx OUT.onnx [--engine OUT.engine] [--fp16] [--max-batch N]

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
        "checkpoint", help="checkpoint written by ssd-rt-train (.pt), or coco (torchvision's)"
    )
    add_weights_option(parser)
    parser.add_argument("--onnx", type=Path, required=True, help="ONNX file to write")
    parser.add_argument(
        "--engine", type=Path, help="TensorRT engine to build (needs TensorRT + GPU)"
    )
    parser.add_argument("--fp16", action="store_true", help="FP16 graph (float32 I/O, L2Norm FP32)")
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
    if args.max_batch < 1:
        raise ConfigError(f"--max-batch must be a positive integer, got {args.max_batch}")
    if args.opt_batch is not None and not 1 <= args.opt_batch <= args.max_batch:
        raise ConfigError(f"--opt-batch must be within 1..{args.max_batch}, got {args.opt_batch}")
    if not args.workspace_gib > 0:
        raise ConfigError(f"--workspace-gib must be positive, got {args.workspace_gib}")
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

    model, checkpoint = load_model(resolve_model(args.checkpoint, args.weights, "checkpoint"))
    precision = "fp16" if args.fp16 else "fp32"
    write_onnx(model, checkpoint, args.onnx, precision)
    classes = len(checkpoint.class_names)
    print(f"wrote {args.onnx} ({precision}, {classes} classes, dynamic batch)")

    if args.engine is not None:
        options = EngineOptions(device, args.max_batch, args.opt_batch, args.workspace_gib)
        engine, sidecar = build_engine_files(args.onnx, args.engine, options, fp16=args.fp16)
        print(f"wrote {engine} and {sidecar.name} (batch 1..{args.max_batch})")
    return 0


def entry() -> None:
    command_entry("ssd-rt-export", main)


if __name__ == "__main__":
    entry()
