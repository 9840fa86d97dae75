"""ssd-rt: real-time SSD300 object detection for video.

`import ssd_rt` needs only torch, torchvision, numpy and OpenCV: TensorRT, ONNX Runtime and PyQt6
are imported where they are used.
"""

from ssd_rt.config import (
    COCO_PRIORS,
    VOC_PRIORS,
    Normalization,
    PostprocessConfig,
    PriorSpec,
    SSDConfig,
    prior_preset,
)
from ssd_rt.detections import Detections
from ssd_rt.errors import ConfigError, ShapeError, SSDRTError

__version__ = "0.1.0"

__all__ = [
    "COCO_PRIORS",
    "VOC_PRIORS",
    "ConfigError",
    "Detections",
    "Normalization",
    "PostprocessConfig",
    "PriorSpec",
    "SSDConfig",
    "SSDRTError",
    "ShapeError",
    "__version__",
    "prior_preset",
]
