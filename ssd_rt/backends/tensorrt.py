"""TensorRT backend: a serialized engine run with the named-tensor API (TensorRT 10 and 11).

- The sidecar JSON is checked against the running TensorRT and GPU before deserializing; on a
  mismatch, or when deserialization fails, the engine is rebuilt from the ONNX file beside it
  (one log line). With no ONNX beside it, that is an error naming what differs.
- I/O buffers are torch CUDA tensors (`set_tensor_address`), work is enqueued with
  `execute_async_v3` on the backend's own torch CUDA stream: no pycuda, one CUDA context shared
  with preprocessing and NMS.
- An execution context belongs to the thread that created it: each thread that calls `infer`
  gets its own, created on its first call.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ssd_rt.backends.base import Backend
from ssd_rt.errors import WeightsError
from ssd_rt.export.tensorrt import build_engine  # an engine (re)build is the exporter's job
from ssd_rt.files import sha256_of
from ssd_rt.model_format import (
    INPUT_NAME,
    OUTPUT_NAMES,
    mismatch,
    read_onnx_info,
    read_sidecar,
    runtime_identity,
    sidecar_info,
)

if TYPE_CHECKING:
    import tensorrt as trt

log = logging.getLogger("ssd_rt")


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, engine_path: str | Path, device: torch.device) -> None:
        import tensorrt as trt

        engine_path = Path(engine_path)
        if not engine_path.is_file():
            raise WeightsError(f"engine not found: {engine_path}")
        sidecar = read_sidecar(engine_path)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)  # the logger must outlive the runtime
        reason = mismatch(sidecar, runtime_identity(device))
        engine = None
        if reason is None:
            engine = self._deserialize(engine_path, device)
            if engine is None:
                reason = "an engine TensorRT could not deserialize"
        if engine is None:
            onnx_path = engine_path.with_name(
                sidecar.get("onnx_file") or engine_path.stem + ".onnx"
            )
            if not onnx_path.is_file():
                raise WeightsError(
                    f"{engine_path.name} was built for {reason}, and there is no "
                    f"{onnx_path.name} beside it to rebuild from"
                )
            log.warning("rebuilding %s: it was built for %s", engine_path.name, reason)
            build_engine(
                onnx_path,
                engine_path,
                device=device,
                max_batch=sidecar["input_shape_max"][0],
                opt_batch=sidecar["input_shape_opt"][0],
                fp16=sidecar.get("precision") == "fp16",
            )
            sidecar = read_sidecar(engine_path)
            engine = self._deserialize(engine_path, device)
            if engine is None:
                raise WeightsError(f"TensorRT could not deserialize the rebuilt {engine_path.name}")
        check_engine_io(engine, engine_path)
        self.engine = engine
        self.engine_path = engine_path
        self.rebuilt = reason is not None
        info = sidecar_info(sidecar, str(engine_path))
        _, _, max_shape = engine.get_tensor_profile_shape(INPUT_NAME, 0)
        super().__init__(info, device, max_batch=int(max_shape[0]))
        self.stream = torch.cuda.Stream(device)
        self._local = threading.local()

    @classmethod
    def from_onnx(
        cls, onnx_path: Path, device: torch.device, *, max_batch: int = 8
    ) -> TensorRTBackend:
        """Engine beside the ONNX file (same name, .engine), built when missing or stale."""
        engine_path = onnx_path.with_suffix(".engine")
        if engine_is_stale(engine_path, onnx_path):
            info = read_onnx_info(onnx_path)
            log.warning(
                "building TensorRT engine %s from %s (once)", engine_path.name, onnx_path.name
            )
            build_engine(
                onnx_path,
                engine_path,
                device=device,
                max_batch=max_batch,
                fp16=info.precision == "fp16",
            )
        return cls(engine_path, device)

    def _deserialize(self, engine_path: Path, device: torch.device) -> trt.ICudaEngine | None:
        with torch.cuda.device(device):  # an engine lives on the device current when it loads
            return self._runtime.deserialize_cuda_engine(engine_path.read_bytes())

    def _context(self) -> trt.IExecutionContext:
        context = getattr(self._local, "context", None)
        if context is None:
            with torch.cuda.device(self.device):
                context = self.engine.create_execution_context()
            if context is None:
                raise RuntimeError("TensorRT could not create an execution context (GPU memory?)")
            self._local.context = context
        return context

    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_images(images)
        context = self._context()
        x = images.to(self.device, torch.float32, non_blocking=True).contiguous()
        loc, logits = self.empty_outputs(x.shape[0])
        # check_images kept the batch within the profile, so a False here is a broken engine.
        if not context.set_input_shape(INPUT_NAME, tuple(x.shape)):
            raise RuntimeError(f"TensorRT refused input shape {tuple(x.shape)}")
        for name, tensor in ((INPUT_NAME, x), (OUTPUT_NAMES[0], loc), (OUTPUT_NAMES[1], logits)):
            if not context.set_tensor_address(name, tensor.data_ptr()):
                raise RuntimeError(f"TensorRT refused the address of tensor {name!r}")
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)  # x was produced on the caller's stream
        if not context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        for tensor in (x, loc, logits):
            tensor.record_stream(self.stream)  # not freed or reused before the engine is done
        current.wait_stream(self.stream)
        return loc, logits

    def close(self) -> None:
        self._local = threading.local()
        self.engine = None


def engine_is_stale(engine_path: Path, onnx_path: Path) -> bool:
    """Whether the engine beside an ONNX file must be (re)built: it is missing, its sidecar is
    missing or unreadable, or the sidecar's sha256 is not the ONNX file's (edited, re-exported;
    by content, not by date: a copy keeps an engine valid, a touch does not make it stale)."""
    if not engine_path.is_file():
        return True
    try:
        sidecar = read_sidecar(engine_path)
    except WeightsError:
        return True
    return sidecar.get("onnx_sha256") != sha256_of(onnx_path)


def check_engine_io(engine: trt.ICudaEngine, engine_path: Path) -> None:
    """The engine has ssd-rt's named float32 I/O: one input `images`, outputs `loc`, `logits`."""
    import tensorrt as trt

    io = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        io[name] = (engine.get_tensor_mode(name), engine.get_tensor_dtype(name))
    expected = {INPUT_NAME: trt.TensorIOMode.INPUT}
    expected.update({name: trt.TensorIOMode.OUTPUT for name in OUTPUT_NAMES})
    if set(io) != set(expected) or any(io[n][0] != mode for n, mode in expected.items()):
        raise WeightsError(
            f"{engine_path.name} is not an ssd-rt engine: its tensors are {sorted(io)}, "
            f"expected input {INPUT_NAME!r} and outputs {', '.join(map(repr, OUTPUT_NAMES))}"
        )
    wrong = [name for name, (_, dtype) in io.items() if dtype != trt.DataType.FLOAT]
    if wrong:
        raise WeightsError(
            f"{engine_path.name}: tensors {wrong} are not float32; ssd-rt engines keep float32 "
            "inputs and outputs (rebuild it with ssd-rt-export)"
        )
