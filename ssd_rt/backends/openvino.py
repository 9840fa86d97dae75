"""OpenVINO backend: an exported .onnx file (FP32, FP16 or INT8 QDQ) on the CPU with the latency
hint, or on an Intel GPU where OpenVINO finds one. Needs the `openvino` extra.

OpenVINO reads the ONNX file itself (no conversion step, no second file); the ssd-rt metadata
comes from the same file through `model_format.read_onnx_info`. On the CPU, inference precision
is pinned to f32: OpenVINO would otherwise run FP32 models in bf16 on CPUs that have it, and
its results would no longer match ONNX Runtime's within 1e-4. An INT8 QDQ model runs its
quantized convolutions in INT8 either way (what the Q/DQ pairs say).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ssd_rt.backends.base import Backend, BackendUnavailable
from ssd_rt.errors import ConfigError, WeightsError
from ssd_rt.model_format import INPUT_NAME, OUTPUT_NAMES, read_onnx_info


def openvino_devices() -> list[str]:
    """OpenVINO's devices here ("CPU", "GPU", "GPU.1", ...); [] without the package."""
    try:
        import openvino as ov
    except ImportError:
        return []
    return list(ov.Core().available_devices)


class OpenVinoBackend(Backend):
    name = "openvino"

    def __init__(self, path: str | Path, *, target: str = "CPU", threads: int | None = None
                 ) -> None:  # fmt: skip
        try:
            import openvino as ov
        except ImportError:
            raise BackendUnavailable("OpenVINO is not installed: pip install 'ssd-rt[openvino]'"
                                     ) from None  # fmt: skip
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"ONNX file not found: {path}")
        info = read_onnx_info(path)
        core = ov.Core()
        if target not in core.available_devices:
            raise BackendUnavailable(f"OpenVINO has no {target} device here (it has "
                                     f"{', '.join(core.available_devices)})")  # fmt: skip
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if target == "CPU":
            config["INFERENCE_PRECISION_HINT"] = "f32"
            if threads is not None:
                if threads < 1:
                    raise ConfigError(f"threads must be a positive integer, got {threads}")
                config["INFERENCE_NUM_THREADS"] = threads
        try:
            model = core.read_model(str(path))
            compiled = core.compile_model(model, target, config)
        except RuntimeError as err:  # OpenVINO raises RuntimeError with a multi-line report
            first = str(err).strip().splitlines()[0] if str(err).strip() else "failed"
            raise WeightsError(f"{path} cannot be compiled by OpenVINO: {first}") from None
        names = ([i.get_any_name() for i in compiled.inputs],
                 [o.get_any_name() for o in compiled.outputs])  # fmt: skip
        if names != ([INPUT_NAME], list(OUTPUT_NAMES)):
            raise WeightsError(f"{path}: inputs/outputs {names} are not ssd-rt's")
        super().__init__(info, torch.device("cpu"))
        self.target = target
        self.request = compiled.create_infer_request()

    def describe(self) -> str:
        return f"openvino on {self.target} ({self.info.precision})"

    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The request's output tensors are OpenVINO's own memory, overwritten by the next
        call: they are copied into torch tensors (a few MB at batch 8, well under 1 ms)."""
        self.check_images(images)
        x = np.ascontiguousarray(images.detach().to("cpu", torch.float32).numpy())
        self.request.infer({INPUT_NAME: x})
        loc, logits = (torch.from_numpy(self.request.get_tensor(name).data.copy())
                       for name in OUTPUT_NAMES)  # fmt: skip
        return loc, logits

    def close(self) -> None:
        self.request = None
