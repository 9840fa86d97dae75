"""The one checkpoint -> ONNX -> engine sequence, shared by `ssd-rt-export`, the trainer's
end-of-run export and the COCO model's first use.

    write_onnx(model, checkpoint, path, "fp32" | "fp16")      # the network + its metadata
    build_engine_files(onnx_path, engine_path, options)      # engine + sidecar; [engine, json]
    export_runnable(checkpoint_path, NAME.onnx)              # what `ssd-rt` runs, see below

`export_runnable` writes NAME.onnx (FP32) and, where TensorRT and a GPU exist, NAME_fp16.onnx
and the FP16 engine NAME.engine (+ its sidecar) built from it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ssd_rt.model_format import fp16_onnx_path, sidecar_path

if TYPE_CHECKING:
    import torch

    from ssd_rt.checkpoint import Checkpoint


@dataclass(frozen=True)
class EngineOptions:
    device: torch.device | None = None  # None: the current CUDA device
    max_batch: int = 8
    opt_batch: int | None = None  # None: 4, or max_batch when smaller
    workspace_gib: float = 2.0


def write_onnx(model: torch.nn.Module, checkpoint: Checkpoint, path: Path, precision: str) -> Path:
    """`model` as ONNX at `precision` ("fp32" or "fp16" graph), with the checkpoint's metadata."""
    import ssd_rt
    from ssd_rt.export.onnx import export_onnx
    from ssd_rt.model_format import ModelInfo

    info = ModelInfo(checkpoint.config, checkpoint.class_names, precision)
    return export_onnx(model, info, path, version=ssd_rt.__version__)


@contextlib.contextmanager
def onnx_of(source: Path, scratch: Path) -> Iterator[Path]:
    """`source` as an ONNX file for the `with` block: itself when it is one, else the FP32
    graph of the checkpoint, written to `scratch` and removed after."""
    from ssd_rt.model_format import model_kind

    if model_kind(source) == "onnx":
        yield source
        return
    from ssd_rt.checkpoint import load_model

    model, checkpoint = load_model(source)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield write_onnx(model, checkpoint, scratch, "fp32")
    finally:
        scratch.unlink(missing_ok=True)


def build_engine_files(
    onnx_path: Path, engine_path: Path, options: EngineOptions, *, fp16: bool = True
) -> list[Path]:
    """Build the TensorRT engine and its sidecar; returns both paths."""
    from ssd_rt.device import resolve_device
    from ssd_rt.export.tensorrt import build_engine

    device = options.device if options.device is not None else resolve_device("cuda")
    build_engine(onnx_path, engine_path, device=device, max_batch=options.max_batch,
                 opt_batch=options.opt_batch, fp16=fp16,
                 workspace_gib=options.workspace_gib)  # fmt: skip
    return [engine_path, sidecar_path(engine_path)]


def export_runnable(
    checkpoint: Path, onnx_path: Path, log: Callable[[str], None] = print
) -> list[Path]:
    """Write `onnx_path` (FP32) from `checkpoint` and, where TensorRT can run, the FP16 engine
    beside it. Returns the files written; says in one line why no engine was built."""
    from ssd_rt.checkpoint import load_model
    from ssd_rt.device import resolve_device, tensorrt_unavailable_reason

    model, ckpt = load_model(checkpoint)
    written = [write_onnx(model, ckpt, onnx_path, "fp32")]
    reason = tensorrt_unavailable_reason(resolve_device("auto"))
    if reason is not None:
        log(f"no TensorRT engine: {reason}")
        return written
    # The FP16 engine builds from the FP16 graph (the strongly typed path of TensorRT 10 and 11).
    fp16_onnx = write_onnx(model, ckpt, fp16_onnx_path(onnx_path), "fp16")
    engine = onnx_path.with_suffix(".engine")
    return [*written, fp16_onnx, *build_engine_files(fp16_onnx, engine, EngineOptions())]
