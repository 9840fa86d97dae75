"""What a runnable model carries besides its weights: config, class names, precision, origin.

Every backend exposes one, so the pipeline can preprocess (normalization, input size) and
postprocess (priors, variances, class names) without knowing where the model came from.
The ONNX metadata written by the exporter holds exactly this, so an ONNX file alone can run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ssd_rt.checkpoint import check_class_names, config_from_dict, config_to_dict
from ssd_rt.config import SSDConfig
from ssd_rt.errors import ConfigError, WeightsError

ONNX_FORMAT = "ssd-rt-onnx/1"
PREFIX = "ssd_rt."
PRECISIONS = ("fp32", "fp16")


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
