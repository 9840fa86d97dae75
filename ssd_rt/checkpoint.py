"""Checkpoints: the model's weights plus everything needed to rebuild and run it.

A checkpoint is data, never code: it is loaded with `torch.load(weights_only=True)`, and holds
only tensors and plain values (dicts, lists, strings, numbers); its schema (format name and
version, the config codec) is in `model_format`. Writes are atomic (`files.atomic_write_bytes`).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ssd_rt.config import SSDConfig
from ssd_rt.errors import ConfigError, WeightsError
from ssd_rt.files import atomic_write_bytes
from ssd_rt.model_format import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_FORMAT_VERSION,
    check_class_names,
    config_from_dict,
    config_to_dict,
)


@dataclass(frozen=True)
class Checkpoint:
    config: SSDConfig
    class_names: tuple[str, ...]
    state_dict: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)  # trainer state: optimizer, step, ...


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    config: SSDConfig,
    class_names: list[str] | tuple[str, ...],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write model weights, config and class names (plus `extra`) atomically to `path`."""
    names = check_class_names(class_names, config.num_classes)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "config": config_to_dict(config),
        "class_names": list(names),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    # Serialized in memory first: torch.save turns a full disk into a RuntimeError about zip
    # positions; a plain write of the bytes gives the OSError that names the file.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(Path(path), lambda f: f.write(buffer.getbuffer()))


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; anything else is a WeightsError."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # zip, pickle and torch errors all mean "not a checkpoint"
        raise WeightsError(f"cannot read checkpoint {path}: {_why_unreadable(err)}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise WeightsError(f"{path} is not an ssd-rt checkpoint")
    if payload.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise WeightsError(
            f"{path} has checkpoint format version {payload.get('format_version')}, "
            f"this ssd-rt reads version {CHECKPOINT_FORMAT_VERSION}"
        )
    try:
        config = config_from_dict(payload["config"])
        names = check_class_names(payload["class_names"], config.num_classes)
    except (ConfigError, KeyError) as err:
        raise WeightsError(f"{path}: {err}") from None
    return Checkpoint(config, names, payload["model"], payload.get("extra", {}))


def _why_unreadable(err: Exception) -> str:
    """torch.load's failure in the user's words (its own messages run to many lines)."""
    text = str(err)
    if isinstance(err, pickle.UnpicklingError) or "Weights only load failed" in text:
        return ("it holds Python objects, not only tensors, so it is not an ssd-rt checkpoint "
                "(such a file is never unpickled: it could run code)")  # fmt: skip
    if isinstance(err, (EOFError, zipfile.BadZipFile)) or any(
        key in text for key in ("PytorchStreamReader", "zip archive", "central directory")
    ):
        return "the file is truncated or damaged (not a complete PyTorch file)"
    return f"not a PyTorch file ({type(err).__name__})"


def load_model(path: str | Path) -> tuple[torch.nn.Module, Checkpoint]:
    """SSD300 with the checkpoint's weights, in eval mode on the CPU, and the checkpoint."""
    from ssd_rt.model import SSD300  # model imports config only; keeps this module light

    checkpoint = load_checkpoint(path)
    model = SSD300(checkpoint.config)
    try:
        model.load_state_dict(checkpoint.state_dict)
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise WeightsError(f"{path}: weights do not fit its own config: {first}") from None
    return model.eval(), checkpoint
