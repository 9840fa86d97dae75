"""ONNX Runtime backend: an exported .onnx file on the CPU (threads configurable) or on the CUDA
execution provider where onnxruntime-gpu provides it. Needs the `onnx` extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ssd_rt.backends.base import Backend, BackendUnavailable
from ssd_rt.errors import ConfigError, WeightsError
from ssd_rt.model_format import INPUT_NAME, OUTPUT_NAMES, ModelInfo


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(
        self, path: str | Path, device: torch.device, *, threads: int | None = None
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailable(
                "ONNX Runtime is not installed: pip install 'ssd-rt[onnx]'"
            ) from None
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"ONNX file not found: {path}")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailable(
                    "this ONNX Runtime has no CUDA execution provider (install onnxruntime-gpu, "
                    "or run with --device cpu)"
                )
            providers = [("CUDAExecutionProvider", {"device_id": device.index or 0}), *providers]
        options = ort.SessionOptions()
        if threads is not None:
            if threads < 1:
                raise ConfigError(f"threads must be a positive integer, got {threads}")
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as err:  # ORT raises its own Fail / InvalidGraph / InvalidProtobuf
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise WeightsError(f"{path} is not a loadable ONNX model: {first}") from None
        meta = session.get_modelmeta().custom_metadata_map
        info = ModelInfo.from_metadata(meta, str(path))
        names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
        if names != ([INPUT_NAME], list(OUTPUT_NAMES)):
            raise WeightsError(f"{path}: inputs/outputs {names} are not ssd-rt's")
        # The outputs are written into buffers sized from the metadata: they must agree.
        priors, classes = info.config.priors.num_priors, info.config.num_classes
        shapes = [list(o.shape[1:]) for o in session.get_outputs()]
        if shapes != [[priors, 4], [priors, classes]]:
            raise WeightsError(
                f"{path}: outputs {shapes} (after the batch) do not match its metadata, "
                f"which describes {priors} priors and {classes} classes"
            )
        super().__init__(info, device)
        self.session = session

    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Runs with an IO binding onto torch tensors on the backend's device: ONNX Runtime reads
        the input and writes the outputs in place, so the CUDA provider needs no host round trip
        and the CPU one no numpy copies. The same code runs on both."""
        self.check_images(images)
        x = images.detach().to(self.device, torch.float32).contiguous()
        loc, logits = self.empty_outputs(x.shape[0])
        binding = self.session.io_binding()
        where = (self.device.type, self.device.index or 0)
        binding.bind_input(INPUT_NAME, *where, np.float32, tuple(x.shape), x.data_ptr())
        for name, out in zip(OUTPUT_NAMES, (loc, logits), strict=True):
            binding.bind_output(name, *where, np.float32, tuple(out.shape), out.data_ptr())
        if self.device.type == "cuda":
            # ONNX Runtime enqueues on its own stream: x must be complete before it reads it.
            torch.cuda.current_stream(self.device).synchronize()
        self.session.run_with_iobinding(binding)  # returns once the outputs are written
        return loc, logits

    def close(self) -> None:
        self.session = None
