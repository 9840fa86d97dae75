"""Start a run from another model's weights (`ssd-rt-train --init coco|PATH`).

Everything but the classifier transfers as it is (VGG base, L2Norm scale, conv6/7, extras, the
box regression heads, BatchNorm statistics): those layers do not depend on the class list. The
classifier's rows transfer per anchor for background and for every class the new data shares with
the source model by name (case, spaces and underscores ignored, and VOC's six names that COCO
spells differently); classes the source does not know keep their fresh Xavier rows, and the
source's other classes (and torchvision's folded "N/A" placeholders) are left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ssd_rt.checkpoint import Checkpoint
from ssd_rt.config import SSDConfig
from ssd_rt.errors import ConfigError

# VOC name -> COCO name, for the classes the two data sets spell differently.
ALIASES = {"aeroplane": "airplane", "motorbike": "motorcycle", "sofa": "couch", "tvmonitor": "tv",
           "diningtable": "dining table", "pottedplant": "potted plant"}  # fmt: skip


def _key(name: str) -> str:
    name = ALIASES.get(name.lower(), name.lower())
    return name.replace(" ", "").replace("_", "").replace("-", "")


@dataclass(frozen=True)
class Transfer:
    shared: tuple[str, ...]  # classes whose classifier rows came from the source
    new: tuple[str, ...]  # classes that start from fresh rows

    def describe(self, source: str) -> str:
        shared = ", ".join(self.shared) or "none"
        new = ", ".join(self.new) or "none"
        return (f"initialized from {source}: base, extras and box regression transferred; "
                f"classes from it: {shared}; new classes: {new}")  # fmt: skip


def finetune_config(source: SSDConfig, num_classes: int) -> SSDConfig:
    """The source model's network (width, norm, priors, normalization) with a new class count."""
    return SSDConfig(num_classes=num_classes, input_size=source.input_size, width=source.width,
                     norm=source.norm, priors=source.priors, variances=source.variances,
                     normalization=source.normalization)  # fmt: skip


def source_rows(source_names: Sequence[str], class_names: Sequence[str]) -> list[int | None]:
    """For each new label (0 = background), the source label whose rows it takes, or None."""
    row_of = {_key(n): i for i, n in enumerate(source_names, start=1)}
    return [0, *(row_of.get(_key(n)) for n in class_names)]


def transfer_weights(
    model: torch.nn.Module, source: Checkpoint, class_names: Sequence[str]
) -> Transfer:
    """Copy `source`'s weights into `model` (built with `finetune_config`) in place."""
    ours = model.state_dict()
    rows = source_rows(source.class_names, class_names)
    k_old, k_new = source.config.num_logits, len(class_names) + 1
    for key, value in ours.items():
        theirs = source.state_dict.get(key)
        if theirs is None:
            raise ConfigError(f"the --init model has no {key}; is it an ssd-rt SSD300?")
        if key.startswith("conf_heads."):
            old = theirs.reshape(-1, k_old, *theirs.shape[1:])  # [anchors, classes, ...]
            new = value.reshape(-1, k_new, *value.shape[1:]).clone()
            for k, o in enumerate(rows):
                if o is not None:
                    new[:, k] = old[:, o]
            theirs = new.reshape(value.shape)
        elif theirs.shape != value.shape:
            raise ConfigError(
                f"the --init model's {key} has shape {tuple(theirs.shape)}, "
                f"this network needs {tuple(value.shape)}"
            )
        ours[key] = theirs.to(value.dtype)
    model.load_state_dict(ours)
    shared = tuple(n for n, o in zip(class_names, rows[1:]) if o is not None)
    new = tuple(n for n, o in zip(class_names, rows[1:]) if o is None)
    return Transfer(shared, new)
