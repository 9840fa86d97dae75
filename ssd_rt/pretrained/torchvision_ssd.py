"""torchvision's `ssd300_vgg16` state dict -> an ssd-rt SSD300, exactly (decision 45).

torchvision's SSD300 is the paper's network with plain VGG16, the Caffe COCO default-box sizes
(clipped), Caffe-style mean subtraction and a 91-way classifier indexed by COCO category id, 10
of whose outputs are "N/A" placeholders for ids COCO never used. What maps where:

    backbone.features.0..21        -> features.0..21       conv1_1 .. conv4_3
    backbone.scale_weight          -> l2norm.weight        ParseNet scale of conv4_3
    backbone.extra.0.{1,3,5}       -> features.{24,26,28}  conv5_1 .. conv5_3
    backbone.extra.0.7.{1,3}       -> fc.{0,2}             conv6 (atrous), conv7
    backbone.extra.{1..4}.{0,2}    -> extras.{0..3}.{0,2}  conv8 .. conv11
    head.regression_head.*.{i}     -> loc_heads.{i}        same [A*4, C, 3, 3] layout
    head.classification_head.*.{i} -> conf_heads.{i}       rows reordered per anchor:
                                      [background, the 80 classes, the 10 placeholders]

The placeholders stay in the conv (same parameters as torchvision) and the network folds them
into background by log-sum-exp (`SSDConfig.folded_logits`), so every class score is the 91-way
softmax's. The pixel preprocessing differs on purpose: ssd-rt resizes with antialiasing before
normalizing (decision 8), torchvision normalizes then resizes bilinearly without it; given the
same normalized 300x300 batch both networks agree to float rounding (tests/test_torchvision_coco).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ssd_rt.config import TORCHVISION_COCO_PRIORS, Normalization, SSDConfig
from ssd_rt.errors import WeightsError

PLACEHOLDER = "N/A"  # torchvision's name for the COCO ids without a category
# torchvision's ssd300_vgg16 defaults: mean of 0-255 pixels scaled to 0-1, std 1/255 (Caffe).
TORCHVISION_SSD_NORMALIZATION = Normalization(
    mean_rgb=(0.48235, 0.45882, 0.40784), std_rgb=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0)
)
FEATURE_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)  # conv1_1 .. conv4_3 in VGG16 `features`
CONV5_FROM_EXTRA = {1: 24, 3: 26, 5: 28}  # index in backbone.extra.0 -> index in our features


def category_layout(categories: Sequence[str]) -> tuple[tuple[str, ...], list[int], list[int]]:
    """torchvision's category list (index = COCO id, 0 = background) ->
    (class names, COCO id of each class, classifier row order [background, classes, N/A])."""
    if not categories or categories[0] != "__background__":
        raise WeightsError("torchvision categories must start with '__background__'")
    real = [i for i, name in enumerate(categories) if i > 0 and name != PLACEHOLDER]
    placeholders = [i for i, name in enumerate(categories) if i > 0 and name == PLACEHOLDER]
    names = tuple(categories[i] for i in real)
    return names, real, [0, *real, *placeholders]


def coco_config(num_logits: int, num_real: int) -> SSDConfig:
    return SSDConfig(
        num_classes=num_real + 1,
        width=1.0,
        norm="none",
        priors=TORCHVISION_COCO_PRIORS,
        normalization=TORCHVISION_SSD_NORMALIZATION,
        folded_logits=num_logits - num_real - 1,
    )


def key_map() -> dict[str, str]:
    """torchvision parameter name -> ssd-rt parameter name (weights and biases)."""
    names: dict[str, str] = {"backbone.scale_weight": "l2norm.weight"}

    def conv(theirs: str, ours: str) -> None:
        for kind in ("weight", "bias"):
            names[f"{theirs}.{kind}"] = f"{ours}.{kind}"

    for i in FEATURE_CONVS:
        conv(f"backbone.features.{i}", f"features.{i}")
    for j, i in CONV5_FROM_EXTRA.items():
        conv(f"backbone.extra.0.{j}", f"features.{i}")
    conv("backbone.extra.0.7.1", "fc.0")
    conv("backbone.extra.0.7.3", "fc.2")
    for k in range(1, 5):
        for m in (0, 2):
            conv(f"backbone.extra.{k}.{m}", f"extras.{k - 1}.{m}")
    for i in range(6):
        conv(f"head.regression_head.module_list.{i}", f"loc_heads.{i}")
        conv(f"head.classification_head.module_list.{i}", f"conf_heads.{i}")
    return names


def _reorder_rows(tensor: torch.Tensor, order: list[int]) -> torch.Tensor:
    """Classifier rows are anchor-major ([A * K, ...], row a*K + k): reorder k per anchor."""
    k = len(order)
    per_anchor = tensor.reshape(-1, k, *tensor.shape[1:])
    return per_anchor[:, order].reshape(tensor.shape)


def convert_state_dict(
    state: Mapping[str, torch.Tensor], categories: Sequence[str]
) -> tuple[SSDConfig, tuple[str, ...], dict[str, torch.Tensor]]:
    """torchvision ssd300_vgg16 state dict -> (config, class names, ssd-rt state dict).

    Every torchvision tensor is used exactly once; any missing, extra or misshapen one is a
    WeightsError naming it.
    """
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise WeightsError("not a state_dict (a dict of tensors)")
    names, _, order = category_layout(categories)
    mapping = key_map()
    missing = sorted(set(mapping) - set(state))
    extra = sorted(set(state) - set(mapping))
    if missing or extra:
        what = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise WeightsError(f"not a torchvision ssd300_vgg16 state_dict: {what}")
    num_logits = state["head.classification_head.module_list.0.bias"].shape[0] // 4
    if num_logits != len(categories):
        raise WeightsError(
            f"the classifier has {num_logits} outputs per box but there are "
            f"{len(categories)} categories"
        )
    converted = {}
    for theirs, ours in mapping.items():
        value = state[theirs]
        if theirs.startswith("head.classification_head"):
            value = _reorder_rows(value, order)
        converted[ours] = value.detach().to(torch.float32).clone()
    return coco_config(num_logits, len(names)), names, converted


def build_model(
    state: Mapping[str, torch.Tensor], categories: Sequence[str]
) -> tuple[torch.nn.Module, SSDConfig, tuple[str, ...]]:
    """An ssd-rt SSD300 (eval mode, CPU) holding torchvision's weights."""
    from ssd_rt.model import SSD300

    config, names, converted = convert_state_dict(state, categories)
    model = SSD300(config)
    ours = model.state_dict()
    for key, value in converted.items():
        if ours[key].shape != value.shape:
            raise WeightsError(
                f"{key}: torchvision's tensor has shape {tuple(value.shape)}, "
                f"ssd-rt's SSD300 needs {tuple(ours[key].shape)}"
            )
    model.load_state_dict(converted)  # strict: every parameter of ours is set
    return model.eval(), config, names
