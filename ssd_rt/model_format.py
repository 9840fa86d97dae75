"""The model-file format, in one place: what ssd-rt writes into and reads out of its files.

- file names: which suffix is which kind of model, the FP16 graph an engine is built from;
- the network's tensors: the input and output names every runtime binds;
- the config codec (SSDConfig <-> plain JSON values) and class-name checks, shared by
  checkpoints, ONNX metadata and engine sidecars;
- `ModelInfo` <-> ONNX `metadata_props`, so an ONNX file alone can run;
- the engine sidecar `<engine>.json`: its schema, reading it, and whether it fits this machine.

Writers (checkpoint.py, export/) and readers (backends/) both come here, so a runtime never
reaches into the exporter to learn how a file is laid out.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssd_rt.config import Normalization, PriorSpec, SSDConfig
from ssd_rt.errors import ConfigError, WeightsError

if TYPE_CHECKING:
    import torch

# -- file names --

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
ONNX_SUFFIXES = (".onnx",)
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")
FP16_ONNX_SUFFIX = "_fp16.onnx"  # the FP16 graph an engine is built from; never run by itself


def model_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    if suffix in ONNX_SUFFIXES:
        return "onnx"
    if suffix in ENGINE_SUFFIXES:
        return "engine"
    raise WeightsError(
        f"{path}: unknown model file type {suffix!r}; expected a checkpoint "
        f"({', '.join(CHECKPOINT_SUFFIXES)}), an ONNX file (.onnx) or a TensorRT engine "
        f"({', '.join(ENGINE_SUFFIXES)})"
    )


def fp16_onnx_path(onnx_path: Path) -> Path:
    """NAME.onnx -> NAME_fp16.onnx (the graph a strongly typed FP16 engine is built from)."""
    return onnx_path.with_name(onnx_path.name[: -len(".onnx")] + FP16_ONNX_SUFFIX)


def is_runnable_name(path: Path) -> bool:
    """False for files that are part of a model but not one to run (NAME_fp16.onnx)."""
    return not path.name.endswith(FP16_ONNX_SUFFIX)


# -- the network's tensors --

INPUT_NAME = "images"  # [B, 3, S, S] float32, normalized
OUTPUT_NAMES = ("loc", "logits")  # [B, P, 4] and [B, P, C] float32

# -- the config codec --

CHECKPOINT_FORMAT = "ssd-rt-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1


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


# -- ONNX metadata --

ONNX_FORMAT = "ssd-rt-onnx/1"
PREFIX = "ssd_rt."
PRECISIONS = ("fp32", "fp16", "int8")  # int8: a QDQ graph (export/int8.py)


@dataclass(frozen=True)
class ModelInfo:
    config: SSDConfig
    class_names: tuple[str, ...]  # without background; label k is class_names[k - 1]
    precision: str = "fp32"

    @property
    def input_size(self) -> int:
        return self.config.input_size

    def to_metadata(self, version: str) -> dict[str, str]:
        """ONNX metadata_props: one readable JSON value per key."""
        config = config_to_dict(self.config)
        return {
            f"{PREFIX}format": ONNX_FORMAT,
            f"{PREFIX}version": version,
            f"{PREFIX}precision": self.precision,
            f"{PREFIX}class_names": json.dumps(list(self.class_names)),
            f"{PREFIX}input_size": str(self.config.input_size),
            f"{PREFIX}prior_spec": json.dumps(config["priors"]),
            f"{PREFIX}normalization": json.dumps(config["normalization"]),
            f"{PREFIX}config": json.dumps(config),
        }

    @classmethod
    def from_metadata(cls, props: dict[str, str], source: str) -> ModelInfo:
        """Inverse of `to_metadata`; a model without it is not an ssd-rt model (WeightsError)."""
        if props.get(f"{PREFIX}format") != ONNX_FORMAT:
            raise WeightsError(
                f"{source} is not an ssd-rt model (no {PREFIX}format metadata); "
                f"export it with ssd-rt-export"
            )
        try:
            config = config_from_dict(json.loads(props[f"{PREFIX}config"]))
            names = check_class_names(json.loads(props[f"{PREFIX}class_names"]), config.num_classes)
            precision = props.get(f"{PREFIX}precision", "fp32")
        except (KeyError, ValueError, ConfigError) as err:
            raise WeightsError(f"{source}: ssd-rt metadata is malformed: {err}") from None
        if precision not in PRECISIONS:
            raise WeightsError(f"{source}: unknown precision {precision!r} in metadata")
        return cls(config, names, precision)


def read_onnx_info(path: str | Path) -> ModelInfo:
    """ModelInfo from an ONNX file's metadata, without loading its weights into a runtime."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"ONNX file not found: {path}")
    try:
        proto = onnx.load_model(str(path), load_external_data=False)
    except Exception as err:  # protobuf DecodeError and friends
        raise WeightsError(f"{path} is not a readable ONNX file: {type(err).__name__}") from None
    props = {p.key: p.value for p in proto.metadata_props}
    return ModelInfo.from_metadata(props, str(path))


# -- the engine sidecar --

SIDECAR_FORMAT = "ssd-rt-engine/1"


def sidecar_path(engine_path: Path) -> Path:
    return engine_path.with_name(engine_path.name + ".json")


def runtime_identity(device: torch.device) -> dict[str, str]:
    """What an engine is tied to: the TensorRT version and the GPU (name, compute capability)."""
    import tensorrt as trt
    import torch

    major, minor = torch.cuda.get_device_capability(device)
    return {
        "tensorrt_version": trt.__version__,
        "gpu_name": torch.cuda.get_device_name(device),
        "compute_capability": f"{major}.{minor}",
    }


def make_sidecar(
    info: ModelInfo,
    identity: dict[str, str],
    *,
    precision: str,
    opt_batch: int,
    max_batch: int,
    onnx_path: Path,
    onnx_sha256: str,
    engine_sha256: str,
) -> dict[str, Any]:
    """What `<engine>.json` holds: the runtime it was built for, its shapes, and the model."""
    size = info.input_size
    return {
        "format": SIDECAR_FORMAT,
        **identity,
        "precision": precision,
        "input_name": INPUT_NAME,
        "output_names": list(OUTPUT_NAMES),
        "input_shape_min": [1, 3, size, size],
        "input_shape_opt": [opt_batch, 3, size, size],
        "input_shape_max": [max_batch, 3, size, size],
        "num_priors": info.config.priors.num_priors,
        "class_names": list(info.class_names),
        "model_config": config_to_dict(info.config),
        "onnx_file": onnx_path.name,
        "onnx_sha256": onnx_sha256,
        "engine_sha256": engine_sha256,
    }


def sidecar_info(sidecar: dict[str, Any], source: str) -> ModelInfo:
    """The ModelInfo an engine's sidecar records (config, class names, precision)."""
    try:
        config = config_from_dict(sidecar["model_config"])
        names = check_class_names(sidecar["class_names"], config.num_classes)
    except (KeyError, ConfigError) as err:
        raise WeightsError(f"{source}: engine sidecar is malformed: {err}") from None
    return ModelInfo(config, names, sidecar.get("precision", "fp32"))


def read_sidecar(engine_path: Path) -> dict[str, Any]:
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise WeightsError(
            f"{engine_path} has no sidecar {path.name}; rebuild it with ssd-rt-export"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path} is not readable JSON: {err}") from None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise WeightsError(f"{path} is not an ssd-rt engine sidecar")
    return data


def mismatch(sidecar: dict[str, Any], current: dict[str, str]) -> str | None:
    """None when the engine fits this machine, else what differs, in words."""
    for key, label in (
        ("tensorrt_version", "TensorRT"),
        ("gpu_name", "GPU"),
        ("compute_capability", "compute capability"),
    ):
        if sidecar.get(key) != current[key]:
            return f"{label} {sidecar.get(key)} (this machine: {current[key]})"
    return None
