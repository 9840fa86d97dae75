"""FP32 ONNX -> INT8 QDQ ONNX by post-training static quantization (ONNX Runtime's quantizer).

    quantize_onnx(fp32_onnx, out_onnx, calibration_batches, float_parts=FLOAT_PARTS)

One file for every INT8 runtime: QuantizeLinear/DequantizeLinear pairs around each quantized
convolution and pooling, symmetric INT8 activations and per-channel symmetric INT8 weights,
which is what ONNX Runtime and OpenVINO run as INT8 and what TensorRT 10 and 11 build as an
explicitly quantized (strongly typed) INT8 engine (TensorRT wants zero points of 0).

Kept in float, by measurement on the demo model and a full-width model (docs/benchmarks.md,
tests/test_int8.py): L2Norm (its Pow/ReduceSum/Sqrt/Div/Mul are never in the quantized op
types: a sum of squares in 8 bits loses the small activations), and by default the first
convolution (it sees the normalized image, whose range is fixed and whose cost is 3 input
channels) and the prediction heads (their outputs are loc and logits: the box offsets and the
scores the user sees). The heads are the ones that matter: a full-width model's logits reach
several hundred, and with its heads in INT8 it lost 30 mAP points. Which parts were kept is
written into the model's metadata.

Calibration uses MinMax ranges over the batches given (a few hundred images: more moves the
ranges little and costs a forward pass each). Not hand-written: ONNX Runtime's quantizer
inserts the pairs, computes the ranges and folds the weights.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ssd_rt.errors import SSDRTError
from ssd_rt.files import atomic_write_bytes
from ssd_rt.model_format import INPUT_NAME, PREFIX, ModelInfo, read_onnx_info

FLOAT_PARTS = ("first", "heads")  # the default: measured, see the module docstring
PARTS = ("first", "heads")
QUANTIZED_OPS = ["Conv", "MaxPool", "Relu"]  # L2Norm's ops and the head reshapes stay float
FLOAT_PARTS_KEY = f"{PREFIX}int8_float_parts"


class QuantizationError(SSDRTError):
    """The model could not be quantized (no calibration images, a missing package, a failure)."""


def float_nodes(model, parts: Iterable[str]) -> list[str]:
    """Names of the nodes in `parts`: "first" (the convolution reading the images), "heads"
    (the convolutions whose outputs are reshaped into loc and logits)."""
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    names = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        if "first" in parts and INPUT_NAME in node.input:
            names.append(node.name)
        readers = consumers.get(node.output[0], [])
        if "heads" in parts and any(r.op_type == "Transpose" for r in readers):
            names.append(node.name)
    return names


def quantize_onnx(
    fp32_onnx: Path,
    out_path: Path,
    batches: Iterable[np.ndarray],
    *,
    float_parts: tuple[str, ...] = FLOAT_PARTS,
    version: str,
) -> Path:
    """Write the INT8 QDQ model of `fp32_onnx` to `out_path` (atomically). `batches` are
    preprocessed float32 [B, 3, S, S] images, the calibration set."""
    try:
        import onnx
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
    except ImportError:
        raise QuantizationError("INT8 export needs the onnx extra: pip install 'ssd-rt[onnx]'"
                                ) from None  # fmt: skip
    info = read_onnx_info(fp32_onnx)
    if info.precision != "fp32":
        raise QuantizationError(f"{fp32_onnx} is {info.precision}; INT8 starts from FP32")
    unknown = set(float_parts) - set(PARTS)
    if unknown:
        raise QuantizationError(f"unknown float parts {sorted(unknown)}; choose from {PARTS}")
    model = onnx.load(str(fp32_onnx))
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        raise QuantizationError("no calibration images: the calibration data set is empty")
    counted = _Counted(itertools.chain([first], batches))

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict | None:
            batch = next(counted, None)
            return None if batch is None else {INPUT_NAME: batch}

    with _quiet_root_logger(), tempfile.TemporaryDirectory(prefix="ssd-rt-int8-") as tmp:
        raw = Path(tmp) / "int8.onnx"
        quantize_static(str(fp32_onnx), str(raw), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=QUANTIZED_OPS,
                        nodes_to_exclude=float_nodes(model, float_parts),
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"ActivationSymmetric": True,  # zero points 0 (TensorRT)
                                       "WeightSymmetric": True})  # fmt: skip
        quantized = onnx.load(str(raw))
    metadata = ModelInfo(info.config, info.class_names, "int8").to_metadata(version)
    metadata[FLOAT_PARTS_KEY] = ",".join(float_parts) or "none"
    metadata[f"{PREFIX}int8_calibration_images"] = str(counted.images)
    onnx.helper.set_model_props(quantized, metadata)
    quantized.producer_name, quantized.producer_version = "ssd-rt", version
    data = quantized.SerializeToString()
    atomic_write_bytes(out_path, lambda f: f.write(data))
    return out_path


@contextlib.contextmanager
def _quiet_root_logger():
    """ONNX Runtime's quantizer logs hints ("consider pre-processing") on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def calibration_batches(dataset, info: ModelInfo, count: int, batch: int = 8
                        ) -> Iterator[np.ndarray]:  # fmt: skip
    """The first `count` images of `dataset`, preprocessed as for inference, in batches."""
    import torch

    from ssd_rt.preprocess import normalize_uint8, resize_uint8

    count = min(count, len(dataset))
    for start in range(0, count, batch):
        images = [resize_uint8(dataset[i].image, info.input_size)
                  for i in range(start, min(start + batch, count))]  # fmt: skip
        yield normalize_uint8(torch.stack(images), info.config.normalization).numpy()


class _Counted(Iterator[np.ndarray]):
    """The calibration batches, counting the images that went through."""

    def __init__(self, batches: Iterable[np.ndarray]) -> None:
        self._it = iter(batches)
        self.images = 0

    def __next__(self) -> np.ndarray:
        batch = np.ascontiguousarray(next(self._it), dtype=np.float32)
        self.images += batch.shape[0]
        return batch
