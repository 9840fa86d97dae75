"""SSD300 with a VGG16 or VGG16-BN base (Liu et al. 2016, fig. 2).

    conv1_1 .. conv4_3 -> L2Norm (learned scale, init 20)          -> source 1: 38x38, 512 ch
    pool4, conv5_x, pool5 3x3/1, conv6 (atrous, dilation 6), conv7  -> source 2: 19x19, 1024 ch
    conv8_2, conv9_2 (stride 2), conv10_2, conv11_2 (valid 3x3)     -> sources 3-6: 10, 5, 3, 1
    3x3 loc and conf heads on every source

`forward` returns the raw heads only, `loc [B, 8732, 4]` and `logits [B, 8732, C]`: loss and
post-processing are separate callables, so the same graph trains, exports and runs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ssd_rt.config import SSDConfig
from ssd_rt.errors import ShapeError, WeightsError

# VGG16 "D" configuration; "M" is a 2x2/2 max-pool. torchvision's `features` uses the same order,
# so our `features` indices match torchvision's and its state_dict loads by name.
VGG16_LAYERS = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)
CONV4_3_INDEX = 9  # conv4_3 is the 10th conv of VGG16_LAYERS' convs
EXTRA_CHANNELS = ((256, 512), (128, 256), (128, 256), (128, 256))  # (1x1, 3x3) of conv8 .. conv11
EXTRA_STRIDES = (2, 2, 1, 1)  # conv8_2, conv9_2 halve; conv10_2, conv11_2 are valid 3x3 (5->3->1)
L2NORM_INIT_SCALE = 20.0  # ParseNet scale for conv4_3, as in the paper


def _scaled(channels: int, width: float) -> int:
    """Channels after the width multiplier; at least 8 so slim models still train."""
    return max(8, round(channels * width))


class L2Norm(nn.Module):
    """Channel-wise L2 normalization with a learned per-channel scale (ParseNet, conv4_3).

    Computed in float32 whatever the input dtype: the sum of squares of conv4_3 activations
    overflows FP16 (max 65504). eps bounds the sum inside the sqrt so an all-zero pixel gives 0,
    not NaN.
    """

    def __init__(self, channels: int, scale: float = L2NORM_INIT_SCALE, eps: float = 1e-10) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), scale))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        # max(sum, eps) rather than sum + eps: the ONNX optimizer folds "+ 1e-10" away as a
        # no-op, and an all-black frame then gives 0/0 = NaN in the exported graph.
        norm = torch.sqrt(x32.pow(2).sum(dim=1, keepdim=True).clamp_min(self.eps))
        out = x32 / norm * self.weight.float().view(1, -1, 1, 1)
        return out.to(x.dtype)


def fold_logits(logits: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[B, P, C + F] -> [B, P, C]: the F trailing placeholder logits join the background's.

    Background becomes logsumexp(background, placeholders), so softmax over the C outputs gives
    every real class exactly the probability it has in the softmax over all C + F (the
    placeholders' mass moves to background, which post-processing drops). No-op when F = 0.
    """
    if logits.shape[-1] == num_classes:
        return logits
    background = torch.logsumexp(
        torch.cat([logits[..., :1], logits[..., num_classes:]], dim=-1), dim=-1, keepdim=True
    )
    return torch.cat([background, logits[..., 1:num_classes]], dim=-1)


def _conv_block(c_in: int, c_out: int, batch_norm: bool, **conv_kwargs) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, bias=not batch_norm, **conv_kwargs)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return layers


def _vgg16_features(width: float, batch_norm: bool) -> tuple[nn.Sequential, int]:
    """VGG16(-BN) `features` with SSD's changes; returns it and the index just past conv4_3's ReLU.

    Changes from classification VGG16, neither of which adds parameters: pool3 rounds up
    (75 -> 38, so conv4_3 is 38x38) and pool5 is 3x3 stride 1 (keeps 19x19 for the atrous conv6).
    """
    layers: list[nn.Module] = []
    c_in, n_conv, n_pool, split = 3, 0, 0, -1
    for v in VGG16_LAYERS:
        if v == "M":
            n_pool += 1
            if n_pool == 3:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            elif n_pool == 5:
                layers.append(nn.MaxPool2d(3, 1, padding=1))
            else:
                layers.append(nn.MaxPool2d(2, 2))
            continue
        c_out = _scaled(v, width)
        # torchvision's VGG-BN convs keep their bias; keep it too so its state_dict loads.
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
        if n_conv == CONV4_3_INDEX:
            split = len(layers)
        c_in, n_conv = c_out, n_conv + 1
    return nn.Sequential(*layers), split


class SSD300(nn.Module):
    """SSD300 network: normalized images [B, 3, 300, 300] -> (loc [B, P, 4], logits [B, P, C])."""

    def __init__(self, config: SSDConfig) -> None:
        super().__init__()
        self.config = config
        width, bn = config.width, config.norm == "bn"
        self.features, self._conv4_3_end = _vgg16_features(width, bn)
        c4, c5 = _scaled(512, width), _scaled(512, width)
        self.l2norm = L2Norm(c4)

        c6 = _scaled(1024, width)
        # fc6 -> conv6 (3x3, dilation 6) and fc7 -> conv7 (1x1), as in the paper's atrous VGG.
        self.fc = nn.Sequential(
            *_conv_block(c5, c6, bn, kernel_size=3, padding=6, dilation=6),
            *_conv_block(c6, c6, bn, kernel_size=1),
        )

        source_channels = [c4, c6]
        extras = []
        c_in = c6
        for (c_mid, c_out), stride in zip(EXTRA_CHANNELS, EXTRA_STRIDES):
            c_mid, c_out = _scaled(c_mid, width), _scaled(c_out, width)
            padding = 1 if stride == 2 else 0
            extras.append(
                nn.Sequential(
                    *_conv_block(c_in, c_mid, bn, kernel_size=1),
                    *_conv_block(c_mid, c_out, bn, kernel_size=3, stride=stride, padding=padding),
                )
            )
            source_channels.append(c_out)
            c_in = c_out
        self.extras = nn.ModuleList(extras)

        k = config.priors.boxes_per_location
        self.num_classes = config.num_classes
        self.num_logits = config.num_logits  # conv rows per box; > num_classes when folding
        self.loc_heads = nn.ModuleList(
            nn.Conv2d(c, n * 4, kernel_size=3, padding=1) for c, n in zip(source_channels, k)
        )
        self.conf_heads = nn.ModuleList(
            nn.Conv2d(c, n * config.num_logits, kernel_size=3, padding=1)
            for c, n in zip(source_channels, k)
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # The VGG base as torchvision initializes VGG (He, fan_out); layers SSD adds get Xavier,
        # as in the paper's Caffe model.
        for m in self.features.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        new_layers = [self.fc, self.extras, self.loc_heads, self.conf_heads]
        for module in new_layers:
            for m in module.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images: normalized float [B, 3, 300, 300] -> loc [B, P, 4], logits [B, P, C]."""
        if images.ndim != 4 or images.shape[1:] != (3, 300, 300):
            raise ShapeError(f"SSD300 takes images [B, 3, 300, 300], got {tuple(images.shape)}")
        x = self.features[: self._conv4_3_end](images)
        sources = [self.l2norm(x)]
        x = self.features[self._conv4_3_end :](x)
        x = self.fc(x)
        sources.append(x)
        for extra in self.extras:
            x = extra(x)
            sources.append(x)

        batch = images.shape[0]
        locs, logits = [], []
        for source, loc_head, conf_head in zip(sources, self.loc_heads, self.conf_heads):
            # [B, K*4, H, W] -> [B, H, W, K*4] -> [B, H*W*K, 4]: row, column, box order = priors'.
            locs.append(loc_head(source).permute(0, 2, 3, 1).reshape(batch, -1, 4))
            logits.append(
                conf_head(source).permute(0, 2, 3, 1).reshape(batch, -1, self.num_logits)
            )
        return torch.cat(locs, dim=1), fold_logits(torch.cat(logits, dim=1), self.num_classes)

    def load_backbone_weights(self, path: str | Path) -> None:
        """Load a local torchvision VGG16 (norm "none") or VGG16-BN (norm "bn") ImageNet state_dict.

        The conv layers load by name; fc6/fc7 are decimated into conv6/conv7 as in the paper
        (every 4th filter, every 3rd tap of fc6's 7x7). Only for width 1.0.
        """
        load_vgg16_backbone(self, path)


def _decimate(tensor: torch.Tensor, steps: tuple[int | None, ...]) -> torch.Tensor:
    """Keep every steps[d]-th index along each dimension d (None keeps all)."""
    for dim, step in enumerate(steps):
        if step is not None:
            index = torch.arange(0, tensor.shape[dim], step, device=tensor.device)
            tensor = tensor.index_select(dim, index)
    return tensor


def load_vgg16_backbone(model: SSD300, path: str | Path) -> None:
    """See `SSD300.load_backbone_weights`. Raises WeightsError with one line on any mismatch."""
    path = Path(path)
    if model.config.width != 1.0:
        raise WeightsError(
            f"ImageNet VGG16 weights fit only width 1.0, this model has width {model.config.width}"
        )
    if not path.is_file():
        raise WeightsError(f"backbone weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # data, never code
    except Exception as err:  # pickle, zip and torch errors all mean "not a weights file"
        raise WeightsError(
            f"cannot read backbone weights {path}: {type(err).__name__}: {err}"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} is not a state_dict (a dict of tensors)")

    ours = model.features.state_dict()
    theirs = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    kind = "VGG16-BN" if model.config.norm == "bn" else "VGG16"
    if set(theirs) != set(ours):
        missing = sorted(set(ours) - set(theirs))[:3]
        raise WeightsError(
            f"{path} is not a torchvision {kind} state_dict (norm={model.config.norm!r}); "
            f"missing e.g. {['features.' + k for k in missing]}"
        )
    for key, value in theirs.items():
        if value.shape != ours[key].shape:
            raise WeightsError(
                f"{path}: features.{key} has shape {tuple(value.shape)}, "
                f"{kind} needs {tuple(ours[key].shape)}"
            )
    for key in (
        "classifier.0.weight",
        "classifier.0.bias",
        "classifier.3.weight",
        "classifier.3.bias",
    ):
        if key not in state:
            raise WeightsError(f"{path} has no {key}: fc6/fc7 cannot be converted to conv6/conv7")
    fc6_w = state["classifier.0.weight"]
    fc7_w = state["classifier.3.weight"]
    if tuple(fc6_w.shape) != (4096, 512 * 7 * 7) or tuple(fc7_w.shape) != (4096, 4096):
        raise WeightsError(
            f"{path}: classifier shapes {tuple(fc6_w.shape)}, {tuple(fc7_w.shape)} are not VGG16's"
        )

    # fc6 [4096, 25088] -> [4096, 512, 7, 7] -> conv6 [1024, 512, 3, 3];
    # fc7 [4096, 4096] -> conv7 [1024, 1024, 1, 1].
    conv6_w = _decimate(fc6_w.view(4096, 512, 7, 7), (4, None, 3, 3))
    conv6_b = _decimate(state["classifier.0.bias"], (4,))
    conv7_w = _decimate(fc7_w.view(4096, 4096, 1, 1), (4, 4, None, None))
    conv7_b = _decimate(state["classifier.3.bias"], (4,))

    with torch.no_grad():
        model.features.load_state_dict(theirs)
        conv6, conv7 = [m for m in model.fc if isinstance(m, nn.Conv2d)]
        conv6.weight.copy_(conv6_w)
        conv7.weight.copy_(conv7_w)
        # With BN after conv6/conv7 the convs have no bias (BN's shift replaces it).
        if conv6.bias is not None:
            conv6.bias.copy_(conv6_b)
            conv7.bias.copy_(conv7_b)
