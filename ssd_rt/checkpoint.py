"""Checkpoints: the model's weights plus everything needed to rebuild and run it.

A checkpoint is data, never code: it is loaded with `torch.load(weights_only=True)`, and holds
only tensors and plain values (dicts, lists, strings, numbers). Writes go to a temporary file in
the same folder and are renamed over the target (`os.replace` is atomic), so a crash at any
moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ssd_rt.config import Normalization, PriorSpec, SSDConfig
from ssd_rt.errors import ConfigError, WeightsError

FORMAT = "ssd-rt-checkpoint"
FORMAT_VERSION = 1


def config_to_dict(config: SSDConfig) -> dict[str, Any]:
    """SSDConfig as plain JSON-able values (tuples become lists)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def config_from_dict(data: dict[str, Any]) -> SSDConfig:
    """The inverse of `config_to_dict`; a wrong or incomplete dict is a ConfigError."""
    try:
        priors = data["priors"]
        spec = PriorSpec(
            feature_maps=tuple(priors["feature_maps"]),
            steps=tuple(priors["steps"]),
            min_sizes=tuple(priors["min_sizes"]),
            max_sizes=tuple(priors["max_sizes"]),
            aspect_ratios=tuple(tuple(r) for r in priors["aspect_ratios"]),
            image_size=int(priors["image_size"]),
            clip=bool(priors.get("clip", False)),  # absent in files written before it existed
        )
        norm = data["normalization"]
        return SSDConfig(
            num_classes=int(data["num_classes"]),
            input_size=int(data["input_size"]),
            width=float(data["width"]),
            norm=str(data["norm"]),
            priors=spec,
            variances=tuple(float(v) for v in data["variances"]),
            normalization=Normalization(tuple(norm["mean_rgb"]), tuple(norm["std_rgb"])),
            folded_logits=int(data.get("folded_logits", 0)),
        )
    except ConfigError:
        raise  # already names the bad value
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"model configuration is incomplete or malformed: {err!r}") from None


def check_class_names(
    class_names: list[str] | tuple[str, ...], num_classes: int
) -> tuple[str, ...]:
    names = tuple(str(n) for n in class_names)
    if len(names) != num_classes - 1:
        raise ConfigError(
            f"{len(names)} class names for a model with {num_classes - 1} classes (plus background)"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"class names must be unique, got {list(names)}")
    return names


@dataclass(frozen=True)
class Checkpoint:
    config: SSDConfig
    class_names: tuple[str, ...]
    state_dict: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)  # trainer state: optimizer, step, ...


def _umask() -> int:
    """The process umask, read without changing it (os.umask sets it, racing other threads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (ONNX staleness, converted weights' source)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call `write(file)` on a temporary file beside `path`, fsync it, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a new file of the user's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config_to_dict(config),
        "class_names": list(names),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    atomic_write_bytes(Path(path), lambda f: torch.save(payload, f))


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; anything else is a WeightsError."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # zip, pickle and torch errors all mean "not a checkpoint"
        raise WeightsError(f"cannot read checkpoint {path}: {type(err).__name__}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an ssd-rt checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise WeightsError(
            f"{path} has checkpoint format version {payload.get('format_version')}, "
            f"this ssd-rt reads version {FORMAT_VERSION}"
        )
    try:
        config = config_from_dict(payload["config"])
        names = check_class_names(payload["class_names"], config.num_classes)
    except (ConfigError, KeyError) as err:
        raise WeightsError(f"{path}: {err}") from None
    return Checkpoint(config, names, payload["model"], payload.get("extra", {}))


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
