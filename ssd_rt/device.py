"""Devices: which torch device a `--device` text means, waiting for GPU work, and whether
TensorRT can run. Used by every layer that touches a device (backends, export, training,
benchmarks), so it lives beside them rather than inside any one of them."""

from __future__ import annotations

import torch

from ssd_rt.errors import ConfigError


def resolve_device(name: str | torch.device) -> torch.device:
    """ "auto" -> cuda when available else cpu; "cuda" without a GPU is a ConfigError.

    A CUDA device always comes back with its index ("cuda" -> cuda:<current>): tensors report
    theirs (cuda:0 != cuda), and torch.cuda.set_device / torch.cuda.device refuse none.
    """
    text = str(name)
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(text)
    except RuntimeError:
        raise ConfigError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"unsupported device {text!r}; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {text!r} was asked for but no CUDA device is available")
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if device.index is None:
            return torch.device("cuda", torch.cuda.current_device())
        if device.index >= count:
            raise ConfigError(
                f"device {text!r} was asked for but this machine has {count} CUDA device(s): "
                f"cuda:0..cuda:{count - 1}"
            )
    return device


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock reading covers it; no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tensorrt_unavailable_reason(device: torch.device) -> str | None:
    """None when TensorRT can run on `device`, else why not (one phrase)."""
    if device.type != "cuda":
        return "TensorRT needs a CUDA device"
    try:
        import tensorrt  # noqa: F401
    except Exception as err:  # ImportError, or native libraries missing
        return f"TensorRT is not importable ({type(err).__name__}: {err})"
    return None
