"""The backend interface and `load_backend`, which picks one by file and availability.

    backend.infer(images [B, 3, 300, 300] float32) -> loc [B, P, 4], logits [B, P, C]

Outputs are float32 on `backend.device`, so one `postprocess` serves every backend.
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path

import torch

from ssd_rt.device import resolve_device, tensorrt_unavailable_reason
from ssd_rt.errors import ConfigError, ShapeError, SSDRTError, WeightsError
from ssd_rt.model_format import (
    CHECKPOINT_SUFFIXES,
    ONNX_SUFFIXES,
    ModelInfo,
    model_kind,
    read_onnx_info,
)

log = logging.getLogger("ssd_rt")

BACKENDS = ("auto", "tensorrt", "onnxruntime", "openvino", "torch", "triton")


class BackendUnavailable(SSDRTError):
    """A backend that cannot run here: its package, a GPU, or its execution provider is missing."""


class Backend(abc.ABC):
    """One loaded model that turns normalized images into raw SSD heads."""

    name: str = "backend"

    def __init__(self, info: ModelInfo, device: torch.device, max_batch: int | None = None) -> None:
        self.info = info
        self.device = device
        self.max_batch = max_batch  # None: any batch

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    @property
    def input_size(self) -> int:
        return self.info.input_size

    def describe(self) -> str:
        return f"{self.name} on {self.device} ({self.info.precision})"

    def check_images(self, images: torch.Tensor) -> None:
        size = self.input_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ShapeError(f"images must be [B, 3, {size}, {size}], got {tuple(images.shape)}")
        if self.max_batch is not None and images.shape[0] > self.max_batch:
            raise ShapeError(
                f"batch {images.shape[0]} is larger than this {self.name} model allows "
                f"(max {self.max_batch}); rebuild the engine with a larger --max-batch"
            )

    def empty_outputs(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """float32 (loc [B, P, 4], logits [B, P, C]) on self.device, for a runtime that writes
        its outputs into buffers it is given (TensorRT, ONNX Runtime's IO binding)."""
        priors, classes = self.info.config.priors.num_priors, self.info.config.num_classes
        loc = torch.empty((batch, priors, 4), dtype=torch.float32, device=self.device)
        logits = torch.empty((batch, priors, classes), dtype=torch.float32, device=self.device)
        return loc, logits

    @abc.abstractmethod
    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images [B, 3, S, S] -> (loc [B, P, 4], logits [B, P, C]), float32 on self.device."""

    def close(self) -> None:  # noqa: B027 (optional hook; most backends free on GC)
        """Release what the backend holds (engines, sessions, CUDA graphs)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sibling(path: Path, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def load_backend(
    path: str | Path,
    backend: str = "auto",
    device: str | torch.device = "auto",
    *,
    threads: int | None = None,
    max_batch: int = 8,
    precision: str | None = None,
) -> Backend:
    """Open the model at `path` with `backend` ("auto" picks by file and availability).

    auto: an engine runs on TensorRT; an ONNX file on TensorRT where TensorRT and a GPU exist
    (the engine is built beside it once), else on the CPU: OpenVINO for an INT8 model or where
    OpenVINO has an Intel GPU, ONNX Runtime otherwise; a checkpoint on PyTorch. When the
    chosen backend cannot run, it falls back TensorRT -> ONNX Runtime -> PyTorch through sibling
    files of the same name, and logs one line saying what runs and why. `precision` applies to
    the torch backend (fp32, fp16 on CUDA, bf16); exported models carry their own.
    """
    from ssd_rt.triton.url import is_triton_url, parse_triton_url

    if is_triton_url(path):  # a model on a Triton server: pre- and post-processing stay here
        if backend not in ("auto", "triton"):
            raise ConfigError(f"a triton:// model runs on its server, not --backend {backend}")
        from ssd_rt.backends.triton import TritonBackend

        return TritonBackend(parse_triton_url(path))
    path = Path(path)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "triton":
        raise ConfigError("--backend triton runs served models: --model triton://HOST:PORT/NAME")
    if not path.exists():
        raise WeightsError(f"model not found: {path}")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder; give a model file (.onnx, .engine, .pt)")
    kind = model_kind(path)
    if backend == "openvino":
        onnx_path = path if kind == "onnx" else _sibling(path, ONNX_SUFFIXES)
        if onnx_path is None:
            raise ConfigError(f"the openvino backend runs .onnx files; no ONNX for {path.name}")
        return _open_openvino(onnx_path, _openvino_target(str(device)), threads)
    dev = resolve_device(device)

    if backend == "torch":
        if kind != "checkpoint":
            raise ConfigError(f"the torch backend runs checkpoints (.pt), not {path.name}")
        return _open_torch(path, dev, precision)
    if backend == "onnxruntime":
        onnx_path = path if kind == "onnx" else _sibling(path, ONNX_SUFFIXES)
        if onnx_path is None:
            raise ConfigError(f"the onnxruntime backend runs .onnx files; no ONNX for {path.name}")
        return _open_onnxruntime(onnx_path, dev, threads)
    if backend == "tensorrt":
        reason = tensorrt_unavailable_reason(dev)
        if reason:
            raise BackendUnavailable(f"--backend tensorrt cannot run: {reason}")
        if kind == "checkpoint":
            raise ConfigError("the tensorrt backend runs engines or ONNX files; export first")
        return _open_tensorrt(path, kind, dev, max_batch)

    # auto
    if kind == "checkpoint":
        return _open_torch(path, dev)
    reason = tensorrt_unavailable_reason(dev)
    if reason is None:
        return _open_tensorrt(path, kind, dev, max_batch)
    onnx_path = path if kind == "onnx" else _sibling(path, ONNX_SUFFIXES)
    if onnx_path is not None:
        try:
            opened = _open_onnx_on_cpu(onnx_path, dev, threads)
        except BackendUnavailable as err:
            checkpoint = _sibling(path, CHECKPOINT_SUFFIXES)
            if checkpoint is None:
                raise
            log.warning("%s; running PyTorch on %s", err, checkpoint.name)
            return _open_torch(checkpoint, dev)
        if kind == "engine":
            log.warning("%s; running ONNX Runtime on %s instead", reason, onnx_path.name)
        return opened
    checkpoint = _sibling(path, CHECKPOINT_SUFFIXES)
    if checkpoint is not None:
        log.warning(
            "%s and no ONNX beside %s; running PyTorch on %s", reason, path.name, checkpoint.name
        )
        return _open_torch(checkpoint, dev)
    raise BackendUnavailable(f"cannot run {path.name}: {reason}, and no .onnx or .pt beside it")


def _open_onnx_on_cpu(path: Path, device: torch.device, threads: int | None) -> Backend:
    """auto without TensorRT: OpenVINO for an INT8 model on the CPU (0.28x torchvision's time
    against ONNX Runtime's 0.32x) and wherever it has an Intel GPU; ONNX Runtime otherwise
    (the two are within 3% in FP32, docs/benchmarks.md); either one when the other is not
    installed."""
    from ssd_rt.backends.openvino import openvino_devices

    devices = openvino_devices()  # one OpenVINO Core query per load, not one per helper
    target = _openvino_auto_target(devices)
    cpu = device.type == "cpu"
    prefer_openvino = cpu and ("GPU" in devices or (bool(devices) and _is_int8(path)))

    def openvino() -> Backend:
        return _open_openvino(path, target, threads)

    def onnxruntime() -> Backend:
        return _open_onnxruntime(path, device, threads)

    first, second = (openvino, onnxruntime) if prefer_openvino else (onnxruntime, openvino)
    try:
        return first()
    except BackendUnavailable as err:
        if not cpu:
            raise
        log.warning("%s; trying %s", err, "ONNX Runtime" if prefer_openvino else "OpenVINO")
        return second()


def _is_int8(path: Path) -> bool:
    """An INT8 QDQ model; a file that cannot be read is left to the backend to report."""
    try:
        return read_onnx_info(path).precision == "int8"
    except SSDRTError:
        return False


def _openvino_target(device: str) -> str:
    """ssd-rt's --device for OpenVINO: cpu -> CPU, gpu (Intel) -> GPU, auto -> GPU if any."""
    from ssd_rt.backends.openvino import openvino_devices

    name = device.lower()
    if name == "cpu":
        return "CPU"
    if name in ("gpu", "intel-gpu"):
        return "GPU"
    if name == "auto":
        return _openvino_auto_target(openvino_devices())
    raise ConfigError(f"the openvino backend runs on cpu or an Intel gpu, not {device!r}")


def _openvino_auto_target(devices: list[str]) -> str:
    """--device auto on OpenVINO: an Intel GPU where OpenVINO lists one, else the CPU."""
    return "GPU" if "GPU" in devices else "CPU"


def _open_openvino(path: Path, target: str, threads: int | None) -> Backend:
    from ssd_rt.backends.openvino import OpenVinoBackend

    return OpenVinoBackend(path, target=target, threads=threads)


def _open_torch(path: Path, device: torch.device, precision: str | None = None) -> Backend:
    from ssd_rt.backends.torch import TorchBackend

    return TorchBackend.from_checkpoint(path, device, precision=precision)


def _open_onnxruntime(path: Path, device: torch.device, threads: int | None) -> Backend:
    from ssd_rt.backends.onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(path, device, threads=threads)


def _open_tensorrt(path: Path, kind: str, device: torch.device, max_batch: int) -> Backend:
    from ssd_rt.backends.tensorrt import TensorRTBackend

    if kind == "engine":
        return TensorRTBackend(path, device)
    return TensorRTBackend.from_onnx(path, device, max_batch=max_batch)
