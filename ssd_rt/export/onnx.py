"""Checkpoint -> ONNX: the network up to its raw heads, dynamic batch, ssd-rt metadata.

    images [B, 3, 300, 300] float32 -> loc [B, 8732, 4] float32, logits [B, 8732, C] float32

Exported with the torch.export-based exporter (`dynamo=True`, the default since PyTorch 2.9;
the TorchScript exporter is deprecated): static 8732, a symbolic batch, BatchNorm folded into
the convolutions. The FP16 variant keeps float32 I/O and computes L2Norm in float32 (the sum of
squares overflows FP16), the graph a strongly typed TensorRT 11 build needs.
Needs the `onnx` extra (onnx, onnxscript); imported only by the export command and tests.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from ssd_rt.errors import SSDRTError
from ssd_rt.files import atomic_write_bytes
from ssd_rt.model_format import INPUT_NAME, OUTPUT_NAMES, ModelInfo

OPSET = 18  # parsed by TensorRT 10.0+ (and 11); Reduce ops take axes as inputs from 18
MAX_EXPORT_BATCH = 1024  # upper bound of the symbolic batch; engines pick their own profile


class ExportError(SSDRTError):
    """The model could not be exported (a missing package, or the exporter failed)."""


class _Float16Graph(nn.Module):
    """float32 in, FP16 network, float32 out. L2Norm casts itself to float32 inside."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.half()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loc, logits = self.model(images.half())
        return loc.float(), logits.float()


def export_onnx(
    model: nn.Module,
    info: ModelInfo,
    path: str | Path,
    *,
    version: str,
) -> Path:
    """Write `model` (SSD300, any device) as ONNX to `path` atomically; returns the path.

    `info.precision` "fp16" writes the FP16 graph. The source model is not modified.
    """
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx extra: pip install 'ssd-rt[onnx]'") from None

    import copy

    net = copy.deepcopy(model).float().eval().cpu()
    if info.precision == "fp16":
        net = _Float16Graph(net)
    example = torch.zeros(2, 3, info.input_size, info.input_size)  # batch 2: 1 would specialize
    batch = torch.export.Dim("batch", min=1, max=MAX_EXPORT_BATCH)
    for name in ("onnxscript", "onnx_ir"):  # optimizer progress lines are not for users
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                net,
                (example,),
                dynamo=True,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=({0: batch},),
                external_data=False,
                verbose=False,
            )
        except ImportError as err:
            raise ExportError(f"ONNX export needs {err.name}: pip install 'ssd-rt[onnx]'") from None
    proto = program.model_proto
    onnx.helper.set_model_props(proto, info.to_metadata(version))
    proto.producer_name = "ssd-rt"
    proto.producer_version = version
    onnx.checker.check_model(proto, full_check=True)
    buffer = io.BytesIO()
    onnx.save_model(proto, buffer)
    path = Path(path)
    atomic_write_bytes(path, lambda f: f.write(buffer.getvalue()))
    return path
