"""A checkpoint -> the files `ssd-rt` runs: NAME.onnx, and where TensorRT and a GPU exist,
NAME_fp16.onnx and the FP16 engine NAME.engine (+ its sidecar) built from it.

One sequence for the trainer's end-of-run export and the COCO model's first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

FP16_ONNX_SUFFIX = "_fp16.onnx"  # the FP16 graph an engine is built from; never run by itself


def export_runnable(
    checkpoint: Path, onnx_path: Path, log: Callable[[str], None] = print
) -> list[Path]:
    """Write `onnx_path` (FP32) from `checkpoint` and, where TensorRT can run, the FP16 engine
    beside it. Returns the files written; says in one line why no engine was built."""
    import ssd_rt
    from ssd_rt.backends.base import resolve_device, tensorrt_unavailable_reason
    from ssd_rt.checkpoint import load_model
    from ssd_rt.export.onnx import export_onnx
    from ssd_rt.model_info import ModelInfo

    model, ckpt = load_model(checkpoint)
    export_onnx(model, ModelInfo(ckpt.config, ckpt.class_names, "fp32"), onnx_path,
                version=ssd_rt.__version__)  # fmt: skip
    written = [onnx_path]
    reason = tensorrt_unavailable_reason(resolve_device("auto"))
    if reason is not None:
        log(f"no TensorRT engine: {reason}")
        return written
    # The FP16 engine builds from the FP16 graph (the strongly typed path of TensorRT 10 and 11).
    from ssd_rt.export.tensorrt import build_engine, sidecar_path

    stem = onnx_path.name[: -len(".onnx")]
    fp16_onnx = onnx_path.with_name(stem + FP16_ONNX_SUFFIX)
    export_onnx(model, ModelInfo(ckpt.config, ckpt.class_names, "fp16"), fp16_onnx,
                version=ssd_rt.__version__)  # fmt: skip
    engine = onnx_path.with_suffix(".engine")
    build_engine(fp16_onnx, engine, device=resolve_device("cuda"), fp16=True)
    return [*written, fp16_onnx, engine, sidecar_path(engine)]
