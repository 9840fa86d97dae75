"""Frozen configuration of the SSD300 network, its default boxes and its post-processing.

Values are validated on construction, so a bad value fails where it is written, with its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ssd_rt.errors import ConfigError

# SSD300 geometry of the Caffe VOC model (Liu et al. 2016; models/VGGNet/VOC0712/SSD_300x300).
SSD300_FEATURE_MAPS = (38, 19, 10, 5, 3, 1)  # conv4_3, fc7, conv8_2, conv9_2, conv10_2, conv11_2
SSD300_STEPS = (8, 16, 32, 64, 100, 300)  # pixels between prior centres
VOC_MIN_SIZES = (30, 60, 111, 162, 213, 264)  # pixels
VOC_MAX_SIZES = (60, 111, 162, 213, 264, 315)  # pixels
COCO_MIN_SIZES = (21, 45, 99, 153, 207, 261)  # pixels, SSD300 COCO model
COCO_MAX_SIZES = (45, 99, 153, 207, 261, 315)  # pixels
SSD300_ASPECT_RATIOS = ((2,), (2, 3), (2, 3), (2, 3), (2,), (2,))  # each also used as 1/r
VARIANCES = (0.1, 0.2)  # centre, size; the "variance" of the Caffe PriorBox layer
NORMS = ("bn", "none")


@dataclass(frozen=True)
class PriorSpec:
    """Where the default boxes sit: one entry per source feature map, sizes in input pixels.

    Per location the boxes are [s, sqrt(s*s_next), then r, 1/r for each aspect ratio r], the order
    of the Caffe PriorBox layer, so each map has 2 + 2*len(ratios) boxes per location.
    """

    feature_maps: tuple[int, ...] = SSD300_FEATURE_MAPS
    steps: tuple[float, ...] = SSD300_STEPS
    min_sizes: tuple[float, ...] = VOC_MIN_SIZES
    max_sizes: tuple[float, ...] = VOC_MAX_SIZES
    aspect_ratios: tuple[tuple[float, ...], ...] = SSD300_ASPECT_RATIOS
    image_size: int = 300
    # Clamp each box's width and height to at most the image (torchvision's DefaultBoxGenerator
    # clip=True, which its COCO SSD300 was trained with); the Caffe models do not clip.
    clip: bool = False

    def __post_init__(self) -> None:
        n = len(self.feature_maps)
        lengths = {
            "steps": len(self.steps),
            "min_sizes": len(self.min_sizes),
            "max_sizes": len(self.max_sizes),
            "aspect_ratios": len(self.aspect_ratios),
        }
        for name, length in lengths.items():
            if length != n:
                raise ConfigError(
                    f"prior spec: {name} has {length} entries but there are {n} feature maps"
                )
        if any(int(f) != f or f < 1 for f in self.feature_maps):
            raise ConfigError(
                f"prior spec: feature map sizes must be positive integers, got {self.feature_maps}"
            )
        for name in ("steps", "min_sizes", "max_sizes"):
            values = getattr(self, name)
            if any(not (v > 0 and math.isfinite(v)) for v in values):
                raise ConfigError(f"prior spec: {name} must be positive, got {values}")
        for lo, hi in zip(self.min_sizes, self.max_sizes):
            if hi < lo:
                raise ConfigError(f"prior spec: max size {hi} is below min size {lo}")
        for ratios in self.aspect_ratios:
            if any(not (r > 0 and math.isfinite(r)) for r in ratios):
                raise ConfigError(f"prior spec: aspect ratios must be positive, got {ratios}")
        if self.image_size < 1:
            raise ConfigError(f"prior spec: image size must be positive, got {self.image_size}")

    @property
    def boxes_per_location(self) -> tuple[int, ...]:
        """Default boxes at each location of each map: (4, 6, 6, 6, 4, 4) for SSD300."""
        return tuple(2 + 2 * len(ratios) for ratios in self.aspect_ratios)

    @property
    def num_priors(self) -> int:
        """Total default boxes: 8732 for SSD300."""
        return sum(f * f * k for f, k in zip(self.feature_maps, self.boxes_per_location))


VOC_PRIORS = PriorSpec()
COCO_PRIORS = PriorSpec(min_sizes=COCO_MIN_SIZES, max_sizes=COCO_MAX_SIZES)
# torchvision's ssd300_vgg16: DefaultBoxGenerator(scales 0.07, 0.15, ... 1.05, steps 8 ... 300)
# gives exactly the Caffe COCO sizes (scale k x 300 = min size k, scale k+1 x 300 = max size k),
# with its default clip=True.
TORCHVISION_COCO_PRIORS = PriorSpec(min_sizes=COCO_MIN_SIZES, max_sizes=COCO_MAX_SIZES, clip=True)
PRIOR_PRESETS = {"voc": VOC_PRIORS, "coco": COCO_PRIORS}


def prior_preset(name: str) -> PriorSpec:
    """The prior spec called `name` ("voc" or "coco")."""
    try:
        return PRIOR_PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown prior preset {name!r}; choose one of {', '.join(PRIOR_PRESETS)}"
        ) from None


@dataclass(frozen=True)
class Normalization:
    """How RGB pixels in [0, 1] are normalized before the network: (x - mean) / std per channel.

    ImageNet statistics, as torchvision's VGG and SSD use, so local ImageNet weights fit.
    """

    mean_rgb: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std_rgb: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self) -> None:
        if len(self.mean_rgb) != 3 or len(self.std_rgb) != 3:
            raise ConfigError("normalization: mean and std need 3 values (R, G, B)")
        if any(not (s > 0) for s in self.std_rgb):
            raise ConfigError(f"normalization: std must be positive, got {self.std_rgb}")


@dataclass(frozen=True)
class SSDConfig:
    """The network: classes (background is class 0), input size, width, norm and priors."""

    num_classes: int  # including background
    input_size: int = 300
    width: float = 1.0  # channel multiplier; 1.0 is the paper's network
    norm: str = "bn"  # "bn": VGG16-BN, trains from scratch; "none": the paper's plain VGG16
    priors: PriorSpec = VOC_PRIORS
    variances: tuple[float, float] = VARIANCES
    normalization: Normalization = field(default_factory=Normalization)
    # Classifier outputs after the classes that are never a class but take part in the softmax:
    # torchvision's COCO model has 91 outputs, 10 of them "N/A" placeholders for unused COCO
    # ids. The network folds them into the background logit (log-sum-exp), so its output keeps
    # num_classes columns and every class score equals the 91-way softmax's (decision 45).
    folded_logits: int = 0

    @property
    def num_logits(self) -> int:
        """Rows of the classifier conv per box: the classes plus the folded placeholders."""
        return self.num_classes + self.folded_logits

    def __post_init__(self) -> None:
        if int(self.folded_logits) != self.folded_logits or self.folded_logits < 0:
            raise ConfigError(f"folded_logits must be 0 or more, got {self.folded_logits}")
        if int(self.num_classes) != self.num_classes or self.num_classes < 2:
            raise ConfigError(
                f"num_classes must be an integer >= 2 (background + at least one class), "
                f"got {self.num_classes}"
            )
        if self.input_size != 300:
            raise ConfigError(f"SSD300 takes 300x300 inputs, got input_size={self.input_size}")
        if not (self.width > 0 and math.isfinite(self.width)):
            raise ConfigError(f"width must be a positive number, got {self.width}")
        if self.norm not in NORMS:
            raise ConfigError(f"unknown norm {self.norm!r}; choose one of {', '.join(NORMS)}")
        if not isinstance(self.priors, PriorSpec):
            raise ConfigError(f"priors must be a PriorSpec, got {type(self.priors).__name__}")
        if self.priors.image_size != self.input_size:
            raise ConfigError(
                f"prior spec is for {self.priors.image_size}px inputs but input_size is "
                f"{self.input_size}"
            )
        if tuple(self.priors.feature_maps) != SSD300_FEATURE_MAPS:
            raise ConfigError(
                f"prior spec has feature maps {tuple(self.priors.feature_maps)} but SSD300 "
                f"produces {SSD300_FEATURE_MAPS}"
            )
        if len(self.variances) != 2 or any(not (v > 0) for v in self.variances):
            raise ConfigError(f"variances must be two positive numbers, got {self.variances}")


@dataclass(frozen=True)
class PostprocessConfig:
    """Detection thresholds: what `postprocess` keeps and how hard NMS suppresses."""

    score_thresh: float = 0.01  # paper's evaluation setting; live video uses ~0.4
    iou_thresh: float = 0.45  # NMS overlap, as in the paper
    topk_per_class: int = 400  # candidates per class before NMS
    max_det: int = 200  # detections per image after NMS

    def __post_init__(self) -> None:
        if not (0.0 <= self.score_thresh < 1.0):
            raise ConfigError(f"score threshold must be in [0, 1), got {self.score_thresh}")
        if not (0.0 < self.iou_thresh <= 1.0):
            raise ConfigError(f"IoU threshold must be in (0, 1], got {self.iou_thresh}")
        if int(self.topk_per_class) != self.topk_per_class or self.topk_per_class < 1:
            raise ConfigError(
                f"topk_per_class must be a positive integer, got {self.topk_per_class}"
            )
        if int(self.max_det) != self.max_det or self.max_det < 1:
            raise ConfigError(f"max_det must be a positive integer, got {self.max_det}")
